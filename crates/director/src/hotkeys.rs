//! Hotkeys: GO on Space, panic on Escape, shots, emotes and cues on keys. The defaults are
//! overridden by the user's `hotkeys.ron` (in the console's config folder) and then by the
//! show's own `hotkeys`, each a map from a key (`"Space"`, `"F5"`, `"Ctrl+J"`, `"1"`) to the
//! [`DirectorCommand`] it sends. Keys never fire while the operator types in a field. F1
//! shows them all.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bevy::input::ButtonInput;
use bevy::input::keyboard::KeyCode;
use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiContexts, egui};

use ling_core::looks::{CameraShot, ShotRef};
use ling_core::show::{ActiveShow, CueEdit, DirectorCommand, EmoteSpec};

use crate::i18n::tr_with;

/// A key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Chord {
    /// Ctrl (or Cmd) held.
    pub ctrl: bool,
    /// Shift held.
    pub shift: bool,
    /// Alt held.
    pub alt: bool,
    /// The key.
    pub key: KeyCode,
}

/// The keys a chord can name, as written in files and shown in the help.
const KEYS: &[(&str, KeyCode)] = &[
    ("Space", KeyCode::Space),
    ("Escape", KeyCode::Escape),
    ("Enter", KeyCode::Enter),
    ("Backspace", KeyCode::Backspace),
    ("Tab", KeyCode::Tab),
    ("Up", KeyCode::ArrowUp),
    ("Down", KeyCode::ArrowDown),
    ("Left", KeyCode::ArrowLeft),
    ("Right", KeyCode::ArrowRight),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("F1", KeyCode::F1),
    ("F2", KeyCode::F2),
    ("F3", KeyCode::F3),
    ("F4", KeyCode::F4),
    ("F5", KeyCode::F5),
    ("F6", KeyCode::F6),
    ("F7", KeyCode::F7),
    ("F8", KeyCode::F8),
    ("F9", KeyCode::F9),
    ("F10", KeyCode::F10),
    ("F12", KeyCode::F12),
    ("0", KeyCode::Digit0),
    ("1", KeyCode::Digit1),
    ("2", KeyCode::Digit2),
    ("3", KeyCode::Digit3),
    ("4", KeyCode::Digit4),
    ("5", KeyCode::Digit5),
    ("6", KeyCode::Digit6),
    ("7", KeyCode::Digit7),
    ("8", KeyCode::Digit8),
    ("9", KeyCode::Digit9),
    ("A", KeyCode::KeyA),
    ("B", KeyCode::KeyB),
    ("C", KeyCode::KeyC),
    ("D", KeyCode::KeyD),
    ("E", KeyCode::KeyE),
    ("F", KeyCode::KeyF),
    ("G", KeyCode::KeyG),
    ("H", KeyCode::KeyH),
    ("I", KeyCode::KeyI),
    ("J", KeyCode::KeyJ),
    ("K", KeyCode::KeyK),
    ("L", KeyCode::KeyL),
    ("M", KeyCode::KeyM),
    ("N", KeyCode::KeyN),
    ("O", KeyCode::KeyO),
    ("P", KeyCode::KeyP),
    ("Q", KeyCode::KeyQ),
    ("R", KeyCode::KeyR),
    ("S", KeyCode::KeyS),
    ("T", KeyCode::KeyT),
    ("U", KeyCode::KeyU),
    ("V", KeyCode::KeyV),
    ("W", KeyCode::KeyW),
    ("X", KeyCode::KeyX),
    ("Y", KeyCode::KeyY),
    ("Z", KeyCode::KeyZ),
];

impl Chord {
    /// Reads `"Ctrl+Shift+S"`, `"Space"`, `"F5"`, `"1"` (case does not matter).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut chord = Chord {
            ctrl: false,
            shift: false,
            alt: false,
            key: KeyCode::Space,
        };
        let mut key = None;
        for part in text.split('+').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "ctrl" | "control" | "cmd" => chord.ctrl = true,
                "shift" => chord.shift = true,
                "alt" | "option" => chord.alt = true,
                "esc" => key = Some(KeyCode::Escape),
                lower => {
                    let found = KEYS
                        .iter()
                        .find(|(name, _)| name.to_ascii_lowercase() == lower)
                        .map(|(_, code)| *code);
                    match found {
                        Some(code) if key.is_none() => key = Some(code),
                        Some(_) => return Err(format!("\"{text}\": two keys in one hotkey")),
                        None => {
                            return Err(format!(
                                "\"{text}\": unknown key \"{part}\" (keys: letters, digits, F1–F12, Space, Escape, Enter, arrows, PageUp/PageDown...)"
                            ));
                        }
                    }
                }
            }
        }
        chord.key = key.ok_or_else(|| format!("\"{text}\": no key, only modifiers"))?;
        Ok(chord)
    }

    /// The chord as written in files and shown in the help.
    pub fn label(&self) -> String {
        let key = KEYS
            .iter()
            .find(|(_, code)| *code == self.key)
            .map_or("?", |(name, _)| name);
        let mut text = String::new();
        for (held, name) in [
            (self.ctrl, "Ctrl+"),
            (self.shift, "Shift+"),
            (self.alt, "Alt+"),
        ] {
            if held {
                text.push_str(name);
            }
        }
        text + key
    }

    fn pressed(&self, keys: &ButtonInput<KeyCode>) -> bool {
        let held = |a: KeyCode, b: KeyCode| keys.pressed(a) || keys.pressed(b);
        keys.just_pressed(self.key)
            && self.ctrl
                == held(KeyCode::ControlLeft, KeyCode::ControlRight)
                    | held(KeyCode::SuperLeft, KeyCode::SuperRight)
            && self.shift == held(KeyCode::ShiftLeft, KeyCode::ShiftRight)
            && self.alt == held(KeyCode::AltLeft, KeyCode::AltRight)
    }
}

/// The key that shows and hides the hotkey help (fixed, so it can always be found).
pub const HELP_KEY: KeyCode = KeyCode::F1;

/// The hotkeys in force: chord → command, in the order the help lists them.
#[derive(Resource, Debug, Clone)]
pub struct Hotkeys {
    /// Each chord and what it sends.
    pub bindings: Vec<(Chord, DirectorCommand)>,
    /// Problems met reading the user's or the show's hotkeys (shown in the help).
    pub problems: Vec<String>,
    /// The help overlay is open.
    pub help_open: bool,
}

impl Default for Hotkeys {
    fn default() -> Self {
        Self {
            bindings: default_bindings(),
            problems: Vec::new(),
            help_open: false,
        }
    }
}

/// Space GO, Escape panic, Up back, P play/pause, 1–3 cut to a shot, Ctrl+1–3 preview a shot,
/// Enter take (cut) and Shift+Enter take (1 s auto), J/K/L emotes, Ctrl+S save, Ctrl+Z /
/// Ctrl+Y undo and redo of cue edits.
pub fn default_bindings() -> Vec<(Chord, DirectorCommand)> {
    let key = |text: &str| Chord::parse(text).expect("a default hotkey parses");
    vec![
        (key("Space"), DirectorCommand::Go),
        (key("Escape"), DirectorCommand::Panic),
        (key("Up"), DirectorCommand::Back),
        (key("P"), DirectorCommand::TogglePlay),
        (
            key("1"),
            DirectorCommand::CutTo {
                shot: CameraShot::Wide,
                blend: 0.0,
            },
        ),
        (
            key("2"),
            DirectorCommand::CutTo {
                shot: CameraShot::Medium,
                blend: 0.0,
            },
        ),
        (
            key("3"),
            DirectorCommand::CutTo {
                shot: CameraShot::CloseUp,
                blend: 0.0,
            },
        ),
        (
            key("Ctrl+1"),
            DirectorCommand::Preview(ShotRef::Builtin(CameraShot::Wide)),
        ),
        (
            key("Ctrl+2"),
            DirectorCommand::Preview(ShotRef::Builtin(CameraShot::Medium)),
        ),
        (
            key("Ctrl+3"),
            DirectorCommand::Preview(ShotRef::Builtin(CameraShot::CloseUp)),
        ),
        (key("Enter"), DirectorCommand::Take { transition: 0.0 }),
        (
            key("Shift+Enter"),
            DirectorCommand::Take { transition: 1.0 },
        ),
        (
            key("J"),
            DirectorCommand::Emote(EmoteSpec::pulse("joy", 2.0)),
        ),
        (
            key("K"),
            DirectorCommand::Emote(EmoteSpec::pulse("surprise", 1.5)),
        ),
        (key("L"), DirectorCommand::ClearEmotes { fade: 0.3 }),
        (key("Ctrl+S"), DirectorCommand::SaveShow),
        (key("Ctrl+Z"), DirectorCommand::EditCues(CueEdit::Undo)),
        (key("Ctrl+Y"), DirectorCommand::EditCues(CueEdit::Redo)),
        (
            key("Ctrl+Shift+Z"),
            DirectorCommand::EditCues(CueEdit::Redo),
        ),
    ]
}

impl Hotkeys {
    /// The defaults with `overrides` laid over them (a chord bound again sends the new
    /// command); a key that does not parse is skipped and noted in [`Hotkeys::problems`],
    /// naming `origin`.
    pub fn with(mut self, overrides: &BTreeMap<String, DirectorCommand>, origin: &str) -> Self {
        for (text, command) in overrides {
            match Chord::parse(text) {
                Ok(chord) => {
                    self.bindings.retain(|(c, _)| *c != chord);
                    self.bindings.push((chord, command.clone()));
                }
                Err(why) => self.problems.push(format!("{origin}: {why}")),
            }
        }
        self
    }

    /// The commands the keys pressed this frame send; none while the operator is typing
    /// (`typing`: a text field has the keyboard).
    pub fn commands(&self, keys: &ButtonInput<KeyCode>, typing: bool) -> Vec<DirectorCommand> {
        if typing {
            return Vec::new();
        }
        self.bindings
            .iter()
            .filter(|(chord, _)| chord.pressed(keys))
            .map(|(_, command)| command.clone())
            .collect()
    }
}

/// The user's hotkey file: `hotkeys.ron` in the [config folder](crate::console::config_dir).
pub fn user_hotkeys_path() -> Option<PathBuf> {
    Some(crate::console::config_dir()?.join("hotkeys.ron"))
}

/// The hotkeys for a show: the defaults, then the user's file, then the show's own.
pub fn hotkeys_for(show: Option<&ling_core::show::ShowFile>) -> Hotkeys {
    let mut hotkeys = Hotkeys::default();
    if let Some(path) = user_hotkeys_path().filter(|p| p.exists()) {
        let origin = path.display().to_string();
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                ron::from_str::<BTreeMap<String, DirectorCommand>>(&text).map_err(|e| e.to_string())
            }) {
            Ok(map) => hotkeys = hotkeys.with(&map, &origin),
            Err(why) => hotkeys.problems.push(format!("{origin}: {why}")),
        }
    }
    if let Some(show) = show {
        hotkeys = hotkeys.with(&show.hotkeys, &show.name);
    }
    for problem in &hotkeys.problems {
        warn!("hotkeys: {problem}");
    }
    hotkeys
}

/// Rebuilds the hotkeys when the show changes (loaded or reloaded).
pub(crate) fn follow_show(show: Option<Res<ActiveShow>>, mut hotkeys: ResMut<Hotkeys>) {
    let Some(show) = show.filter(|s| s.is_changed()) else {
        return;
    };
    let open = hotkeys.help_open;
    *hotkeys = hotkeys_for(Some(&show.0));
    hotkeys.help_open = open;
}

/// Sends what the pressed keys are bound to, unless a text field has the keyboard; F1 toggles
/// the help.
pub(crate) fn dispatch(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    wants: Option<Res<EguiWantsInput>>,
    mut hotkeys: ResMut<Hotkeys>,
    mut out: MessageWriter<DirectorCommand>,
) {
    let Some(keys) = keys else { return };
    let typing = wants.is_some_and(|w| w.wants_keyboard_input());
    if !typing && keys.just_pressed(HELP_KEY) {
        hotkeys.help_open = !hotkeys.help_open;
    }
    for command in hotkeys.commands(&keys, typing) {
        out.write(command);
    }
}

/// The help overlay: every hotkey and what it does.
pub(crate) fn draw_help(mut contexts: EguiContexts, mut hotkeys: ResMut<Hotkeys>) -> Result {
    if !hotkeys.help_open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = true;
    egui::Window::new(tr_with("Hotkeys", "快捷键"))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            egui::Grid::new("hotkeys").striped(true).show(ui, |ui| {
                ui.label(egui::RichText::new("F1").monospace().strong());
                ui.label(tr_with("this help", "本帮助"));
                ui.end_row();
                for (chord, command) in &hotkeys.bindings {
                    ui.label(egui::RichText::new(chord.label()).monospace().strong());
                    ui.label(crate::sections::describe(command));
                    ui.end_row();
                }
            });
            for problem in &hotkeys.problems {
                ui.label(
                    egui::RichText::new(problem)
                        .small()
                        .color(egui::Color32::from_rgb(230, 120, 60)),
                );
            }
            ui.label(
                egui::RichText::new(tr_with(
                    "Keys do nothing while you type in a field. Change them in the show (hotkeys: {\"F5\": FireCue(\"3\")}) or in hotkeys.ron in the config folder.",
                    "在输入框中打字时快捷键不起作用。可在演出文件（hotkeys: {\"F5\": FireCue(\"3\")}）或配置目录的 hotkeys.ron 中修改。",
                ))
                .small()
                .weak(),
            );
        });
    hotkeys.help_open = open;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_print_back() {
        for text in [
            "Space",
            "Ctrl+S",
            "Ctrl+Shift+Z",
            "F5",
            "1",
            "J",
            "Alt+Left",
        ] {
            assert_eq!(Chord::parse(text).unwrap().label(), text);
        }
        assert_eq!(
            Chord::parse("ctrl+s").unwrap(),
            Chord::parse("Ctrl+S").unwrap()
        );
        assert!(Chord::parse("Ctrl+").unwrap_err().contains("no key"));
        assert!(Chord::parse("Hyper+Q").unwrap_err().contains("Hyper"));
        assert!(Chord::parse("A+B").unwrap_err().contains("two keys"));
    }

    fn press(keys: &[KeyCode]) -> ButtonInput<KeyCode> {
        let mut input = ButtonInput::default();
        for k in keys {
            input.press(*k);
        }
        input
    }

    #[test]
    fn keys_send_their_commands_and_nothing_while_typing() {
        let hotkeys = Hotkeys::default();
        assert_eq!(
            hotkeys.commands(&press(&[KeyCode::Space]), false),
            vec![DirectorCommand::Go]
        );
        assert_eq!(
            hotkeys.commands(&press(&[KeyCode::Escape]), false),
            vec![DirectorCommand::Panic]
        );
        assert!(
            hotkeys.commands(&press(&[KeyCode::Space]), true).is_empty(),
            "typing a space in a field is not GO"
        );
        // Ctrl+S saves; S alone does nothing; Ctrl+Shift+Z is redo, not undo.
        assert_eq!(
            hotkeys.commands(&press(&[KeyCode::ControlLeft, KeyCode::KeyS]), false),
            vec![DirectorCommand::SaveShow]
        );
        assert!(hotkeys.commands(&press(&[KeyCode::KeyS]), false).is_empty());
        assert_eq!(
            hotkeys.commands(
                &press(&[KeyCode::ControlLeft, KeyCode::ShiftLeft, KeyCode::KeyZ]),
                false
            ),
            vec![DirectorCommand::EditCues(CueEdit::Redo)]
        );
        // A key held from the last frame does not fire again.
        let mut held = press(&[KeyCode::Space]);
        held.clear();
        assert!(hotkeys.commands(&held, false).is_empty());
    }

    #[test]
    fn a_show_rebinds_keys_and_bad_keys_are_reported() {
        let overrides = BTreeMap::from([
            ("F5".to_string(), DirectorCommand::FireCue("3".into())),
            ("Space".to_string(), DirectorCommand::TogglePlay),
            ("Hyper+Q".to_string(), DirectorCommand::Go),
        ]);
        let hotkeys = Hotkeys::default().with(&overrides, "test.ron");
        assert_eq!(
            hotkeys.commands(&press(&[KeyCode::F5]), false),
            vec![DirectorCommand::FireCue("3".into())]
        );
        assert_eq!(
            hotkeys.commands(&press(&[KeyCode::Space]), false),
            vec![DirectorCommand::TogglePlay],
            "the show's binding replaces the default, once"
        );
        assert_eq!(hotkeys.problems.len(), 1);
        assert!(hotkeys.problems[0].contains("test.ron") && hotkeys.problems[0].contains("Hyper"));
    }
}
