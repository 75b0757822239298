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
//! order with the crate's `trf!` macro (`trf!("{} sent", n)`), so a translation can put the
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

/// Every Chinese text in the table (to check a font draws them all).
pub fn chinese_texts() -> impl Iterator<Item = &'static str> {
    ZH.iter().map(|(_, zh)| *zh)
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
/// [`tr`]; templates keep their `{}` holes. Besides the panel's own text the table knows the
/// stock names that reach the panel from elsewhere: camera shots, the demo show's light cues,
/// the stock effects (names, descriptions, parameters), emotes and gestures, and the sources'
/// idle summaries.
static ZH: &[(&str, &str)] = &[
    // Header and the language switch.
    ("Ling Stage — Director", "Ling Stage · 导演台"),
    ("Language", "语言"),
    (
        "Chinese needs fonts-noto-cjk",
        "中文界面需要安装 fonts-noto-cjk 字体",
    ),
    // Program monitor tally.
    ("ON AIR", "直播中"),
    ("PROGRAM", "节目"),
    // Output.
    ("Output", "输出"),
    ("off air", "未直播"),
    ("Microphone to the outputs", "话筒送入输出"),
    (
        "Her voice goes out mixed with the show's track; muted, it still moves her mouth",
        "她的声音与演出音轨混合后送出；静音时仍驱动口型",
    ),
    (
        "no outputs: start with --out URL (rtmp://, srt://, udp://, a file, v4l2:/dev/videoN)",
        "没有输出：启动时加 --out 地址（rtmp://、srt://、udp://、文件或 v4l2:/dev/videoN）",
    ),
    ("Go on air", "开始直播"),
    ("Go off air", "停止直播"),
    ("live", "推流中"),
    ("connecting", "连接中"),
    ("retrying", "重试中"),
    ("stopped", "已停止"),
    (
        "up {}  {} fps  {} sent  {} dropped  lag {} ms  {} kbit/s",
        "运行 {}  {} fps  已发 {}  丢弃 {}  延迟 {} ms  {} kbit/s",
    ),
    (
        "attempt {} failed; retrying in {} s",
        "第 {} 次尝试失败，{} 秒后重试",
    ),
    ("Background", "背景"),
    ("Stage", "舞台"),
    ("Green key", "绿幕抠像"),
    ("Blue key", "蓝幕抠像"),
    ("Magenta key", "品红抠像"),
    ("Transparent", "透明"),
    ("Her alone", "仅演员"),
    ("With the floor", "连同台毯"),
    ("Whole set", "整堂布景"),
    // Show clock.
    ("Show clock", "演出时钟"),
    ("Pause", "暂停"),
    ("Play", "播放"),
    ("Restart", "从头开始"),
    ("seek", "定位"),
    // Camera.
    ("Camera", "机位"),
    ("Wide", "全景"),
    ("Medium", "中景"),
    ("Close-up", "特写"),
    ("blend s", "过渡(秒)"),
    // Lights, and the demo show's looks.
    ("Light cues", "灯光"),
    ("Current: {}", "当前：{}"),
    ("preshow", "开演前"),
    ("fade s", "渐变(秒)"),
    ("house", "场灯"),
    ("entrance", "上场"),
    ("liangxiang", "亮相"),
    ("turn", "转身"),
    ("finale", "终场"),
    // Emotes and gestures.
    ("Emotes", "表情"),
    ("Gestures", "身段"),
    ("hold", "保持"),
    ("clear", "清除"),
    ("Emotes stay until cleared", "表情一直保持，直到清除"),
    (
        "Click: her face for 2 s. Shift-click (or hold on): kept until cleared.",
        "单击：表情持续 2 秒。Shift+单击（或勾选保持）：保持到清除为止。",
    ),
    ("Joy", "喜"),
    ("Anger", "怒"),
    ("Sorrow", "哀"),
    ("Surprise", "惊"),
    ("Fun", "乐"),
    ("Wave", "挥手"),
    ("Bow", "鞠躬"),
    ("Nod", "点头"),
    ("Clap", "鼓掌"),
    // Recording.
    ("Recording", "录制"),
    ("REC {} s, {} frames", "录制中 {} 秒，{} 帧"),
    ("Stop recording", "停止录制"),
    ("Record take", "录制一条"),
    ("last: {}", "上一条：{}"),
    // Performer.
    ("Performer", "演员"),
    ("Ling", "灵"),
    ("the built-in performer", "内置演员"),
    ("Load", "载入"),
    ("loading {}...", "正在载入 {}…"),
    // Costume physics.
    ("Costume physics", "服装物理"),
    ("Plumes", "翎子"),
    ("Water sleeves", "水袖"),
    ("Door curtains", "门帘"),
    ("Back flags", "靠旗"),
    ("stiffness", "刚度"),
    ("drag", "阻尼"),
    ("gravity", "重力"),
    ("wind", "风力"),
    ("gusts", "阵风"),
    ("Reset costume", "服装复位"),
    // Sources.
    ("Sources", "信号源"),
    ("{} at ({}, {})", "{} 位于 ({}, {})"),
    ("Motion: {}, {} s", "动作：{}，{} 秒"),
    (", looping", "，循环"),
    ("Motion: none", "动作：无"),
    ("keyframed clip", "关键帧动作"),
    ("speed", "速度"),
    ("loop motion", "循环动作"),
    ("Tracking: {}", "追踪：{}"),
    ("Audio: {}", "音频：{}"),
    ("last {} s ago", "{} 秒前"),
    ("nothing yet", "尚无数据"),
    (" from {}", "，来自 {}"),
    (
        "VMC in {}: {} pkt/s{}, {}, drives {}%",
        "VMC 输入 {}：{} 包/秒{}，{}，驱动 {}%",
    ),
    ("{} malformed dropped", "丢弃 {} 个损坏的包"),
    ("VMC in: off (--vmc)", "VMC 输入：关闭（--vmc）"),
    (
        "{} in {}: {} pkt/s{}, {}, drives {}%",
        "{} 输入 {}：{} 包/秒{}，{}，驱动 {}%",
    ),
    ("the phone sees no face", "手机未检测到人脸"),
    ("iPhone: {}", "iPhone：{}"),
    ("face take {}", "面部录制 {}"),
    ("VMC out to {}", "VMC 输出至 {}"),
    ("; ", "；"),
    ("no audio source in this show", "本场演出没有音频源"),
    (
        "no camera (live --camera [DEVICE] for a webcam, --camera-file FILE plays a video)",
        "没有摄像头（live --camera [设备] 使用网络摄像头，--camera-file 文件 播放视频）",
    ),
    // Performance.
    ("Performance", "性能"),
    ("{} fps   {} ms/frame", "{} fps   {} 毫秒/帧"),
    // Face and hand tracking.
    ("Face & hand tracking", "面部与手部追踪"),
    ("Neutral face", "标定中性脸"),
    ("Hand rest", "标定手部静止"),
    ("Clear", "清除"),
    ("calibrated: face and hands", "已标定：面部和手部"),
    ("calibrated: face", "已标定：面部"),
    ("calibrated: hands", "已标定：手部"),
    ("not calibrated", "未标定"),
    ("neutral face captured", "已采集中性脸"),
    ("hand rest pose captured", "已采集手部静止姿态"),
    ("calibration cleared", "标定已清除"),
    (
        "{} fps  capture {}  inference {}  solve {}  age {} ms",
        "{} fps  采集 {}  推理 {}  解算 {}  延迟 {} ms",
    ),
    ("cutoff Hz", "截止频率 Hz"),
    ("confidence", "置信度"),
    ("mouth cam", "摄像头口型"),
    (
        "One Euro speed coefficient: higher follows fast moves more closely",
        "One Euro 滤波的速度系数：越高，越紧跟快速动作",
    ),
    (
        "results below this presence are not applied",
        "置信度低于此值的结果不予采用",
    ),
    // Effects, and the stock ones.
    ("Effects", "特效"),
    ("{} ({} running)", "{}（{} 个运行中）"),
    ("Fire", "触发"),
    ("Stop", "停止"),
    ("Defaults", "恢复默认"),
    ("petal_rain", "花瓣雨"),
    ("lantern_burst", "宫灯迸花"),
    ("face_change", "变脸"),
    ("glow_orb", "光球"),
    (
        "Petals drift down through the follow spot onto the performer.",
        "花瓣穿过追光，飘落在演员身上。",
    ),
    (
        "Every palace lantern bursts into golden sparks.",
        "每盏宫灯迸出金色火花。",
    ),
    (
        "Bian lian (face-changing): a sleeve sweeps across the face and a painted mask is on it.",
        "变脸：衣袖拂过面前，一张新脸谱已在脸上。",
    ),
    (
        "A glowing orb swells and fades above the performer's head.",
        "一团光球在演员头顶膨胀又消散。",
    ),
    ("seconds", "时长(秒)"),
    ("density", "密度"),
    ("fall_speed", "下落速度"),
    ("spread", "散布"),
    ("height", "高度"),
    ("color", "颜色"),
    ("sparks", "火花数"),
    ("brightness", "亮度"),
    ("origin", "起点"),
    ("direction", "方向"),
    ("mask", "脸谱"),
    ("sweep_seconds", "拂袖时长(秒)"),
    ("hold_seconds", "停留时长(秒)"),
    ("face_offset", "面部偏移"),
    ("scale", "缩放"),
    ("radius", "半径"),
    // The command log.
    ("Recent commands", "最近指令"),
    ("camera: {}", "机位：{}"),
    ("camera: {} ({} s blend)", "机位：{}（{} 秒过渡）"),
    ("lights: {} ({} s fade)", "灯光：{}（{} 秒渐变）"),
    ("stage reset", "舞台复位"),
    ("recording started", "开始录制"),
    ("recording stopped", "停止录制"),
    (
        "motion changed ({} s crossfade)",
        "切换动作（{} 秒交叉过渡）",
    ),
    ("motion speed x{}", "动作速度 ×{}"),
    ("performer: {}", "演员：{}"),
    ("costume physics settings", "服装物理设置"),
    ("costume physics reset", "服装复位"),
    ("motion loop {}", "动作循环：{}"),
    ("on", "开"),
    ("off", "关"),
    ("effect: {}", "特效：{}"),
    ("effect stopped: {}", "特效停止：{}"),
    ("tracking: {}", "追踪：{}"),
    ("tracking filters", "追踪滤波设置"),
    ("on air", "开始直播"),
    ("microphone on air", "话筒上线"),
    ("microphone muted", "话筒静音"),
    ("backdrop: {}", "背景：{}"),
    ("backdrop: {}, set {}", "背景：{}，布景：{}"),
    ("stage", "舞台"),
    ("green", "绿幕"),
    ("blue", "蓝幕"),
    ("magenta", "品红幕"),
    ("transparent", "透明"),
    ("performer", "仅演员"),
    ("floor", "连同台毯"),
    ("full", "整堂布景"),
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

    /// The literal texts a source file passes to `tr(...)` and `trf!(...)`.
    fn literal_keys(source: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for call in ["tr(", "trf!("] {
            for (at, _) in source.match_indices(call) {
                let before = source[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = source[at + call.len()..].trim_start();
                let Some(rest) = rest.strip_prefix('"') else {
                    continue;
                };
                let mut key = String::new();
                let mut chars = rest.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => key.extend(chars.next()),
                        '"' => break,
                        c => key.push(c),
                    }
                }
                keys.push(key);
            }
        }
        keys
    }

    #[test]
    fn every_console_text_has_its_chinese() {
        let sources = [
            ("lib.rs", include_str!("lib.rs")),
            ("sections.rs", include_str!("sections.rs")),
            ("console.rs", include_str!("console.rs")),
            ("program.rs", include_str!("program.rs")),
        ];
        let mut missing = Vec::new();
        let mut count = 0;
        for (file, source) in sources {
            for key in literal_keys(source) {
                count += 1;
                if chinese(&key).is_none() {
                    missing.push(format!("{file}: {key:?}"));
                }
            }
        }
        // Texts that reach `tr` through a variable.
        let mut indirect: Vec<&str> = vec![
            "Green key",
            "Blue key",
            "Magenta key",
            "Her alone",
            "With the floor",
            "Whole set",
            "Plumes",
            "Water sleeves",
            "Door curtains",
            "Back flags",
            "calibrated: face and hands",
            "calibrated: face",
            "calibrated: hands",
            "not calibrated",
        ];
        indirect.extend(ling_core::looks::CameraShot::ALL.map(|s| s.label()));
        use ling_core::settings::Calibrate;
        indirect.extend(
            [
                Calibrate::NeutralFace,
                Calibrate::HandRest,
                Calibrate::Clear,
            ]
            .map(|c| c.label()),
        );
        for key in indirect {
            if chinese(key).is_none() {
                missing.push(format!("(indirect): {key:?}"));
            }
        }
        assert!(count > 80, "only {count} texts found: is the scan broken?");
        assert!(
            missing.is_empty(),
            "no Chinese for:\n{}",
            missing.join("\n")
        );
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
