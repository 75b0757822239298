//! The console's languages: English and Simplified Chinese (简体中文).
//!
//! The English text is the key: panel code writes `tr("Show clock")` and gets `"演出时钟"` when
//! the console is in Chinese, the English otherwise (and for any text the table does not know,
//! such as effect names from plugins, file names, or a string not yet translated). The language
//! is process-wide (an atomic), because the panel's section functions are plain functions
//! without world access; [`set_language`] switches it at run time and the next frame is drawn
//! in the new language.
//!
//! Text with values in it is a template with `{}` holes, translated whole and then filled in
//! order with [`trf!`](crate::i18n::trf) (`trf!("{} sent", n)`), so a translation can put the
//! words around the value in its own order. A translation may also name the holes by position,
//! `{0}`, `{1}`, to reorder the values. Format precision goes in the argument:
//! `trf!("retrying in {} s", format!("{:.0}", secs))`.
//!
//! Code outside this file can give its own pair without touching the table with [`tr_with`]
//! (`tr_with("Go", "执行")`).
//!
//! Chinese needs a CJK font: until the console has loaded one ([`set_cjk_available`]), the
//! effective [`language`] stays English, so the panel never draws boxes instead of characters.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Language {
    /// English (the default, and the key of every translation).
    #[default]
    English,
    /// Simplified Chinese, 简体中文.
    Chinese,
}

impl Language {
    /// Both languages, in the order the switch shows them.
    pub const ALL: [Language; 2] = [Language::Chinese, Language::English];

    /// The short code used on the command line and in logs: `en` or `zh`.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Chinese => "zh",
        }
    }

    /// The language's own name, as its speakers write it: `English`, `中文`.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Chinese => "中文",
        }
    }

    /// Reads a language code: `en`, `english`, `zh`, `zh-cn`, `cn`, `chinese`, `中文`
    /// (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, String> {
        match code.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "en" | "en-us" | "en-gb" | "english" => Ok(Language::English),
            "zh" | "zh-cn" | "zh-hans" | "cn" | "chinese" | "中文" | "简体中文" => {
                Ok(Language::Chinese)
            }
            other => Err(format!("unknown language `{other}` (expected en or zh)")),
        }
    }
}

impl std::str::FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::parse(s)
    }
}

impl Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The language the operator chose (0 English, 1 Chinese).
static CHOSEN: AtomicU8 = AtomicU8::new(0);
/// Whether the console has a font that draws Chinese.
static CJK_AVAILABLE: AtomicBool = AtomicBool::new(false);

/// Chooses the console's language; takes effect on the next frame (in Chinese only once a CJK
/// font is loaded, see [`set_cjk_available`]).
pub fn set_language(language: Language) {
    CHOSEN.store(
        match language {
            Language::English => 0,
            Language::Chinese => 1,
        },
        Ordering::Relaxed,
    );
}

/// The language the operator chose, whether or not it can be shown.
pub fn chosen_language() -> Language {
    match CHOSEN.load(Ordering::Relaxed) {
        1 => Language::Chinese,
        _ => Language::English,
    }
}

/// The language the console is drawn in: the chosen one, except English while no CJK font is
/// loaded.
pub fn language() -> Language {
    match chosen_language() {
        Language::Chinese if cjk_available() => Language::Chinese,
        _ => Language::English,
    }
}

/// Tells the translations whether Chinese can be drawn (the console sets it once its CJK font
/// is installed in egui).
pub fn set_cjk_available(available: bool) {
    CJK_AVAILABLE.store(available, Ordering::Relaxed);
}

/// Whether a CJK font is loaded, so Chinese can be shown.
pub fn cjk_available() -> bool {
    CJK_AVAILABLE.load(Ordering::Relaxed)
}

/// The console text `english` in the current [`language`]: its Chinese when the console is in
/// Chinese and the table has it, `english` itself otherwise.
pub fn tr<'a>(english: &'a str) -> &'a str {
    translate(language(), english)
}

/// `english` or `chinese`, whichever the current [`language`] is: a translation given at the
/// call site instead of in the table.
pub fn tr_with(english: &'static str, chinese: &'static str) -> &'static str {
    match language() {
        Language::English => english,
        Language::Chinese => chinese,
    }
}

/// The text `english` in `language` (the table's Chinese, or `english` when it has none).
pub fn translate<'a>(language: Language, english: &'a str) -> &'a str {
    match language {
        Language::English => english,
        Language::Chinese => chinese(english).unwrap_or(english),
    }
}

/// The table's Chinese for `english`, if it has one.
pub fn chinese(english: &str) -> Option<&'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| ZH.iter().copied().collect())
        .get(english)
        .copied()
}

/// Fills a template's holes: each `{}` takes the next argument, `{0}`…`{9}` the argument of that
/// number; `{{` and `}}` are literal braces. Holes without an argument stay as they are.
pub fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16 * args.len());
    let mut next = 0;
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if template[i..].starts_with("{{") => {
                out.push('{');
                chars.next();
            }
            '}' if template[i..].starts_with("}}") => {
                out.push('}');
                chars.next();
            }
            '{' => {
                let rest = &template[i + 1..];
                let Some(end) = rest.find('}') else {
                    out.push(c);
                    continue;
                };
                let inside = &rest[..end];
                let index = if inside.is_empty() {
                    let n = next;
                    next += 1;
                    Some(n)
                } else {
                    inside.parse::<usize>().ok()
                };
                match index.and_then(|n| args.get(n)) {
                    Some(arg) => {
                        use std::fmt::Write;
                        let _ = write!(out, "{arg}");
                        for _ in 0..=end {
                            chars.next();
                        }
                    }
                    None => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Translates a template and fills its `{}` holes with the arguments (anything `Display`):
/// `trf!("{} sent", frames)`. See the [module docs](crate::i18n).
#[allow(unused_macros)]
macro_rules! trf {
    ($template:expr $(, $arg:expr)* $(,)?) => {
        $crate::i18n::fill(
            $crate::i18n::tr($template),
            &[$(&$arg as &dyn ::std::fmt::Display),*],
        )
    };
}
#[allow(unused_imports)]
pub(crate) use trf;

/// English → 简体中文, the console's text. Keys are exactly the English the code passes to
/// [`tr`]; templates keep their `{}` holes.
static ZH: &[(&str, &str)] = &[
    // Header and the language switch.
    ("Ling Stage — Director", "灵·舞台 — 导演台"),
    ("Language", "语言"),
    (
        "Chinese needs fonts-noto-cjk",
        "中文需要 fonts-noto-cjk 字体",
    ),
    // Program monitor.
    ("ON AIR", "直播中"),
    ("PROGRAM", "节目"),
    // Show clock.
    ("Show clock", "演出时钟"),
    ("Pause", "暂停"),
    ("Play", "播放"),
    ("Restart", "从头开始"),
    ("seek", "定位"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_the_key_and_the_fallback() {
        assert_eq!(translate(Language::English, "Show clock"), "Show clock");
        assert_eq!(translate(Language::Chinese, "Show clock"), "演出时钟");
        assert_eq!(translate(Language::Chinese, "petal-rain"), "petal-rain");
    }

    #[test]
    fn templates_fill_in_order_and_by_number() {
        assert_eq!(fill("{} sent", &[&12]), "12 sent");
        assert_eq!(fill("{} / {}", &[&"a", &"b"]), "a / b");
        assert_eq!(fill("{1} then {0}", &[&"a", &"b"]), "b then a");
        assert_eq!(fill("{{x}} {}", &[&1]), "{x} 1");
        assert_eq!(fill("{} {}", &[&1]), "1 {}");
        assert_eq!(fill("已发送 {} 帧", &[&3]), "已发送 3 帧");
    }

    #[test]
    fn languages_parse_from_codes() {
        assert_eq!(Language::parse("zh").unwrap(), Language::Chinese);
        assert_eq!(Language::parse("zh_CN").unwrap(), Language::Chinese);
        assert_eq!(Language::parse("EN").unwrap(), Language::English);
        assert!(Language::parse("fr").is_err());
    }

    #[test]
    fn every_translation_keeps_the_holes() {
        for (en, zh) in ZH {
            let holes = |s: &str| s.matches("{}").count();
            assert_eq!(holes(en), holes(zh), "{en} → {zh}");
        }
        let mut seen = std::collections::HashSet::new();
        for (en, _) in ZH {
            assert!(seen.insert(en), "`{en}` is in the table twice");
        }
    }
}
