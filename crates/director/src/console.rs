//! The console's chrome and memory: its language, its CJK font, the sections' collapsed state
//! and the panel's width, remembered between runs in the user's config file.
//!
//! The file is `console.ron` in `$LING_STAGE_CONFIG_DIR` (tests point it at a temporary
//! folder), else `$XDG_CONFIG_HOME/ling-stage`, else `~/.config/ling-stage`. It is read when the
//! console starts and written when the operator changes something it holds (the language,
//! a section opened or closed, the panel resized, once the mouse is let go). A file that cannot
//! be read is reported in the log and ignored; the console starts with its defaults and writes
//! the file afresh at the next change.
//!
//! Every panel section is a collapsing header made with `section`, under a stable id (not its
//! title, which changes with the language), so the console opens as the operator left it.
//!
//! Chinese needs the Noto CJK font ([`ling_set::cjk`]): it is added to egui's proportional and
//! monospace families as a fallback after the defaults, once, on the console's first frame. The
//! console switches to Chinese only after egui confirms the font draws every character of the
//! Chinese table; without it the console stays in English and the language switch says what to
//! install.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use serde::{Deserialize, Serialize};

use crate::i18n::{self, Language, tr};
use ling_set::cjk::{self, CjkFace};

/// The environment variable naming the folder that holds `console.ron` (before the XDG one).
pub const CONFIG_DIR_ENV: &str = "LING_STAGE_CONFIG_DIR";

/// The config file's name in its folder.
pub const CONFIG_FILE: &str = "console.ron";

/// The panel's width when nothing is remembered, in logical pixels.
pub const DEFAULT_PANEL_WIDTH: f32 = 300.0;

/// The narrowest and widest the panel may be dragged, in logical pixels.
pub const PANEL_WIDTH_RANGE: (f32, f32) = (260.0, 640.0);

/// What the console remembers between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsoleSettings {
    /// The language the operator last chose.
    pub language: Language,
    /// The panel's width in logical pixels.
    pub panel_width: f32,
    /// Open (`true`) or collapsed (`false`), by section id; sections not listed take their
    /// defaults.
    pub sections: BTreeMap<String, bool>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            language: Language::English,
            panel_width: DEFAULT_PANEL_WIDTH,
            sections: BTreeMap::new(),
        }
    }
}

impl ConsoleSettings {
    /// Reads the settings from `path`: `Ok(None)` when there is no file yet, an error (to log)
    /// when the file cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Option<Self>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut settings: Self =
            ron::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))?;
        if !settings.panel_width.is_finite() {
            settings.panel_width = DEFAULT_PANEL_WIDTH;
        }
        settings.panel_width = settings
            .panel_width
            .clamp(PANEL_WIDTH_RANGE.0, PANEL_WIDTH_RANGE.1);
        Ok(Some(settings))
    }

    /// Writes the settings to `path` (creating its folder), through a temporary file so a
    /// crash never leaves half a file.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(std::io::Error::other)?;
        let tmp = path.with_extension("ron.tmp");
        std::fs::write(
            &tmp,
            format!(
                "// Ling Stage console: language and layout, written by the console.\n{text}\n"
            ),
        )?;
        std::fs::rename(&tmp, path)
    }
}

/// The user's Ling Stage config folder: `$LING_STAGE_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/ling-stage`, else `~/.config/ling-stage`; `None` when there is no home to
/// put it in. The console's settings and the user's hotkeys live there.
pub fn config_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    Some(if let Some(dir) = var(CONFIG_DIR_ENV) {
        PathBuf::from(dir)
    } else if let Some(xdg) = var("XDG_CONFIG_HOME") {
        PathBuf::from(xdg).join("ling-stage")
    } else {
        PathBuf::from(var("HOME")?).join(".config/ling-stage")
    })
}

/// Where the console's settings live: `console.ron` in the [`config_dir`].
pub fn config_path() -> Option<PathBuf> {
    Some(config_dir()?.join(CONFIG_FILE))
}

/// What the command line asks of the console for this run (set before the app starts).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConsoleStartup {
    /// The language for this run, over the remembered one (not remembered itself).
    pub language: Option<Language>,
    /// The console window's size in pixels.
    pub size: Option<(u32, u32)>,
}

static STARTUP: Mutex<ConsoleStartup> = Mutex::new(ConsoleStartup {
    language: None,
    size: None,
});

/// Sets what the command line asks of the console (`live --lang zh --console-size 1920x1080`);
/// call before the app runs.
pub fn set_startup(startup: ConsoleStartup) {
    *STARTUP.lock().unwrap_or_else(|e| e.into_inner()) = startup;
}

/// Reads a window size written `WIDTHxHEIGHT` (`1920x1080`, also with `×`).
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("`{text}`: expected WIDTHxHEIGHT, e.g. 1920x1080"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u32>()
            .ok()
            .filter(|v| (200..=8192).contains(v))
            .ok_or_else(|| format!("`{text}`: sizes are 200 to 8192 pixels"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// The sections' open state this run, by id (panel sections are plain functions, so it lives
/// beside the language rather than in the world).
static SECTIONS: Mutex<BTreeMap<String, bool>> = Mutex::new(BTreeMap::new());

fn sections() -> std::sync::MutexGuard<'static, BTreeMap<String, bool>> {
    SECTIONS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The panel's width this run, in logical pixels (as `f32` bits).
static PANEL_WIDTH: AtomicU32 = AtomicU32::new(DEFAULT_PANEL_WIDTH.to_bits());

/// The panel's width to open at (the remembered one), in logical pixels.
pub(crate) fn panel_width() -> f32 {
    f32::from_bits(PANEL_WIDTH.load(Ordering::Relaxed))
}

/// Records the width the panel took this frame (remembered once the mouse is let go).
pub(crate) fn set_panel_width(width: f32) {
    if width.is_finite() && width > 0.0 {
        PANEL_WIDTH.store(width.to_bits(), Ordering::Relaxed);
    }
}

/// A collapsible panel section: `title` (already translated) over `body`, open or collapsed as
/// the operator left it (remembered under `id`, `default_open` the first time). Returns what
/// the body returned, `None` while collapsed.
pub(crate) fn section<R>(
    ui: &mut egui::Ui,
    id: &str,
    title: &str,
    default_open: bool,
    body: impl FnOnce(&mut egui::Ui) -> R,
) -> Option<R> {
    let open = sections().get(id).copied().unwrap_or(default_open);
    let response = egui::CollapsingHeader::new(egui::RichText::new(title).strong())
        .id_salt(("console section", id))
        .open(Some(open))
        .show(ui, body);
    if response.header_response.clicked() {
        sections().insert(id.to_string(), !open);
    }
    response.body_returned
}

/// The console's state between frames.
#[derive(Resource, Debug)]
pub(crate) struct Console {
    /// The config file (`None`: nowhere to remember).
    path: Option<PathBuf>,
    /// What the file holds (or would hold): compared with the console each frame.
    saved: ConsoleSettings,
    /// The language this run started in (the remembered one or `--lang`); the file's language
    /// changes only when the operator switches.
    started_in: Language,
    /// Where the CJK font stands.
    font: FontState,
    /// The file could not be written (said once).
    write_failed: bool,
    /// The operator is dragging the panel's edge (its width is remembered when let go; a width
    /// that changes by itself, as content or the window grows, is not).
    resizing: bool,
}

/// Loading the CJK font into egui.
#[derive(Debug, Clone, PartialEq)]
enum FontState {
    /// Not tried yet.
    Pending,
    /// Added to egui (described, with the Chinese console's characters the face itself
    /// lacks); checked on the next frame, when egui has rebuilt its fonts.
    Added(String, String),
    /// Draws the whole Chinese console.
    Ready,
    /// No CJK font (or it lacks characters): English only.
    Missing(String),
}

/// Reads the remembered settings, sizes the window and loads the CJK font.
pub(crate) fn plugin(app: &mut App) {
    let startup = *STARTUP.lock().unwrap_or_else(|e| e.into_inner());
    let path = config_path();
    let remembered = match path.as_deref().map(ConsoleSettings::load) {
        Some(Ok(Some(settings))) => {
            info!(
                "console settings from {}",
                path.as_deref().unwrap_or(Path::new("")).display()
            );
            settings
        }
        Some(Ok(None)) | None => ConsoleSettings::default(),
        Some(Err(e)) => {
            warn!("console settings ignored, starting with the defaults: {e}");
            ConsoleSettings::default()
        }
    };
    let language = startup.language.unwrap_or(remembered.language);
    i18n::set_language(language);
    *sections() = remembered.sections.clone();
    PANEL_WIDTH.store(remembered.panel_width.to_bits(), Ordering::Relaxed);
    app.insert_resource(Console {
        path,
        started_in: language,
        saved: remembered,
        font: FontState::Pending,
        write_failed: false,
        resizing: false,
    })
    .add_systems(Startup, size_window)
    .add_systems(EguiPrimaryContextPass, load_font);
}

/// Gives the console window the size asked for on the command line.
fn size_window(mut windows: Query<&mut Window, With<PrimaryWindow>>) {
    let Some((w, h)) = STARTUP.lock().unwrap_or_else(|e| e.into_inner()).size else {
        return;
    };
    if let Ok(mut window) = windows.single_mut() {
        window.resolution.set(w as f32, h as f32);
        info!("console window {w}×{h}");
    }
}

/// Every character the Chinese console uses.
fn chinese_characters() -> String {
    let mut chars: Vec<char> = i18n::chinese_texts()
        .flat_map(|s| s.chars())
        .filter(|c| !c.is_ascii())
        .collect();
    chars.sort_unstable();
    chars.dedup();
    chars.into_iter().collect()
}

/// A CJK unified ideograph (the characters only a CJK font draws).
fn is_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// Adds the Noto CJK font to egui on the first frame, and on the next checks that egui draws
/// every character of the Chinese console with it before allowing Chinese.
fn load_font(mut contexts: EguiContexts, mut console: ResMut<Console>) -> Result {
    match console.font.clone() {
        FontState::Pending => {
            let ctx = contexts.ctx_mut()?;
            console.font = match cjk::find(CjkFace::Sans) {
                Some(font) => {
                    let lacks = font.missing(&chinese_characters());
                    let what = format!(
                        "{} ({}, face {})",
                        font.family,
                        font.path.display(),
                        font.index
                    );
                    let mut data = egui::FontData::from_owned(font.data);
                    data.index = font.index;
                    ctx.add_font(egui::epaint::text::FontInsert::new(
                        "noto-cjk-sc",
                        data,
                        [egui::FontFamily::Proportional, egui::FontFamily::Monospace]
                            .into_iter()
                            .map(|family| egui::epaint::text::InsertFontFamily {
                                family,
                                priority: egui::epaint::text::FontPriority::Lowest,
                            })
                            .collect(),
                    ));
                    FontState::Added(what, lacks)
                }
                None => {
                    FontState::Missing(format!("no Noto CJK font found (install {})", cjk::PACKAGE))
                }
            };
        }
        FontState::Added(what, lacks) => {
            // egui says whether some face in its fallback chain draws a character, but answers
            // no for those the replacement glyph's own face draws (Latin punctuation such as
            // `×`): a character is drawn when egui finds it or the CJK face, which is in every
            // chain now, has it. Every CJK ideograph must be egui's: proof the font is in.
            let ctx = contexts.ctx_mut()?;
            let wanted = chinese_characters();
            let missing: String = ctx.fonts_mut(|fonts| {
                wanted
                    .chars()
                    .filter(|&c| {
                        [
                            egui::FontId::proportional(14.0),
                            egui::FontId::monospace(14.0),
                        ]
                        .iter()
                        .any(|id| !fonts.has_glyph(id, c) && (is_ideograph(c) || lacks.contains(c)))
                    })
                    .collect()
            });
            console.font = if missing.is_empty() {
                info!(
                    "console font: {what} draws all {} characters of the Chinese console",
                    wanted.chars().count()
                );
                i18n::set_cjk_available(true);
                FontState::Ready
            } else {
                FontState::Missing(format!("{what} lacks {missing}"))
            };
        }
        FontState::Ready | FontState::Missing(_) => return Ok(()),
    }
    if let FontState::Missing(why) = &console.font {
        warn!("the console stays in English: {why}");
        FONT_MISSING.store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// Set once loading the CJK font has failed (not while it is still loading).
static FONT_MISSING: AtomicBool = AtomicBool::new(false);

/// The language switch for the panel's header, added right to left: 中文 / English. Without
/// a CJK font the Chinese choice reads `Chinese`, greyed out, and says what to install.
fn language_switch(ui: &mut egui::Ui) {
    let shown = i18n::language();
    {
        // Added right to left by the header.
        for language in Language::ALL.into_iter().rev() {
            let available = language == Language::English || i18n::cjk_available();
            // A language's own name only once its script can be drawn (no boxes, not even
            // for the frame before the font is in).
            let name = if available {
                language.native_name()
            } else {
                "Chinese"
            };
            let selected = shown == language;
            let response = ui.add_enabled(available, egui::Button::selectable(selected, name));
            let response = if available {
                response.on_hover_text(tr("Language"))
            } else {
                response.on_disabled_hover_text(tr("Chinese needs fonts-noto-cjk"))
            };
            if response.clicked() && i18n::chosen_language() != language {
                i18n::set_language(language);
            }
        }
    }
}

/// The panel's header: the title, wrapping if it must, and the language switch on the right.
pub(crate) fn header(ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
            language_switch(ui);
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Min), |ui| {
                ui.add(
                    egui::Label::new(egui::RichText::new(tr("Ling Stage — Director")).heading())
                        .wrap(),
                );
            });
        });
    });
    font_notice(ui);
}

/// Under the header, when Chinese was asked for and no CJK font could be loaded: what to
/// install.
fn font_notice(ui: &mut egui::Ui) {
    if FONT_MISSING.load(Ordering::Relaxed) && i18n::chosen_language() == Language::Chinese {
        ui.add(
            egui::Label::new(
                egui::RichText::new(tr("Chinese needs fonts-noto-cjk"))
                    .small()
                    .color(egui::Color32::from_rgb(230, 120, 60)),
            )
            .wrap(),
        );
    }
}

/// The settings as the console stands now.
fn current(console: &Console) -> ConsoleSettings {
    let chosen = i18n::chosen_language();
    ConsoleSettings {
        // `--lang` is for this run: the file keeps its language until the operator switches.
        language: if chosen == console.started_in {
            console.saved.language
        } else {
            chosen
        },
        panel_width: if console.resizing {
            panel_width().round()
        } else {
            console.saved.panel_width
        },
        sections: sections().clone(),
    }
}

/// Writes the settings when the operator changed something (the panel's width once the mouse
/// is let go). Runs after the panel is drawn.
pub(crate) fn remember(mut contexts: EguiContexts, mut console: ResMut<Console>) -> Result {
    let pointer_down = contexts.ctx_mut()?.input(|i| i.pointer.any_down());
    if pointer_down && (panel_width() - console.saved.panel_width).abs() >= 1.0 {
        console.resizing = true;
    }
    if console.resizing && pointer_down {
        return Ok(());
    }
    let now = current(&console);
    console.resizing = false;
    if now == console.saved {
        return Ok(());
    }
    if let Some(path) = console.path.clone() {
        match now.save(&path) {
            Ok(()) => debug!("console settings written to {}", path.display()),
            Err(e) if !console.write_failed => {
                warn!(
                    "cannot remember the console's settings in {}: {e}",
                    path.display()
                );
                console.write_failed = true;
            }
            Err(_) => {}
        }
    }
    console.saved = now;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_a_broken_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(CONFIG_FILE);
        assert_eq!(ConsoleSettings::load(&path).unwrap(), None);
        let mut settings = ConsoleSettings {
            language: Language::Chinese,
            panel_width: 420.0,
            ..default()
        };
        settings.sections.insert("physics".into(), true);
        settings.sections.insert("clock".into(), false);
        settings.save(&path).unwrap();
        assert_eq!(ConsoleSettings::load(&path).unwrap(), Some(settings));
        std::fs::write(&path, "(language: Klingon, panel_width: ").unwrap();
        let e = ConsoleSettings::load(&path).unwrap_err();
        assert!(e.contains("console.ron"), "{e}");
        // Missing fields take their defaults; widths are kept sane.
        std::fs::write(&path, "(panel_width: 5000)").unwrap();
        let s = ConsoleSettings::load(&path).unwrap().unwrap();
        assert_eq!(s.language, Language::English);
        assert_eq!(s.panel_width, PANEL_WIDTH_RANGE.1);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1920x1080").unwrap(), (1920, 1080));
        assert_eq!(parse_size("1280×720").unwrap(), (1280, 720));
        assert!(parse_size("1280").is_err());
        assert!(parse_size("10x10").is_err());
    }
}
