//! The console's emotes and gestures, two collapsible sections: a button per named emote (a pulse of a couple of
//! seconds; shift-click, or with "hold" on, kept until cleared), a button that clears them, and
//! a button per built-in gesture. Every button sends the same [`DirectorCommand`] a cue, a
//! hotkey or the remote would.

use bevy::prelude::*;
use bevy_egui::egui;

use crate::console::section;
use crate::i18n::tr;
use ling_core::show::{DirectorCommand, EmoteSpec, GestureSpec};
use ling_mocap::emote::EMOTES;
use ling_mocap::gesture::GESTURES;

/// Seconds a clicked emote stays at full strength.
const PULSE_HOLD: f32 = 2.0;

/// Fade of the console's gestures and of "clear", in seconds.
const FADE: f32 = 0.3;

/// The button text of an emote or gesture.
fn label(name: &str) -> &'static str {
    match name {
        "joy" => "Joy",
        "anger" => "Anger",
        "sorrow" => "Sorrow",
        "surprise" => "Surprise",
        "fun" => "Fun",
        "wave" => "Wave",
        "bow" => "Bow",
        "nod" => "Nod",
        "clap" => "Clap",
        _ => "?",
    }
}

/// The command an emote button sends: a pulse, or kept until cleared.
pub(crate) fn emote_command(name: &str, keep: bool) -> DirectorCommand {
    DirectorCommand::Emote(if keep {
        EmoteSpec {
            hold: None,
            ..EmoteSpec::pulse(name, 0.0)
        }
    } else {
        EmoteSpec::pulse(name, PULSE_HOLD)
    })
}

/// The emote and gesture buttons, as two collapsible sections.
pub(crate) fn emotes(ui: &mut egui::Ui, out: &mut MessageWriter<DirectorCommand>) {
    section(ui, "emotes", tr("Emotes"), true, |ui| {
        let hold_id = egui::Id::new("ling emotes hold");
        let mut hold = ui.data_mut(|d| d.get_persisted::<bool>(hold_id).unwrap_or(false));
        ui.horizontal_wrapped(|ui| {
            for name in EMOTES {
                let clicked = ui
                    .button(tr(label(name)))
                    .on_hover_text(tr(
                        "Click: her face for 2 s. Shift-click (or hold on): kept until cleared.",
                    ))
                    .clicked();
                if clicked {
                    let keep = hold || ui.input(|i| i.modifiers.shift);
                    out.write(emote_command(name, keep));
                }
            }
        });
        ui.horizontal(|ui| {
            ui.checkbox(&mut hold, tr("hold"))
                .on_hover_text(tr("Emotes stay until cleared"));
            if ui.button(tr("clear")).clicked() {
                out.write(DirectorCommand::ClearEmotes { fade: FADE });
            }
        });
        ui.data_mut(|d| d.insert_persisted(hold_id, hold));
    });
    section(ui, "gestures", tr("Gestures"), true, |ui| {
        ui.horizontal_wrapped(|ui| {
            for name in GESTURES {
                if ui.button(tr(label(name))).clicked() {
                    out.write(DirectorCommand::Gesture(GestureSpec {
                        clip: name.into(),
                        fade: FADE,
                        speed: 1.0,
                    }));
                }
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_send_pulses_or_held_emotes() {
        let DirectorCommand::Emote(pulse) = emote_command("joy", false) else {
            panic!()
        };
        assert_eq!(pulse.hold, Some(PULSE_HOLD));
        assert!(pulse.blend.is_empty() && pulse.weight == 1.0);
        let DirectorCommand::Emote(kept) = emote_command("anger", true) else {
            panic!()
        };
        assert_eq!((kept.name.as_str(), kept.hold), ("anger", None));
        for name in EMOTES.iter().chain(&GESTURES) {
            assert_ne!(label(name), "?", "{name} has a label");
        }
    }
}
