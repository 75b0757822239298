//! The address table: an OSC message to the [`DirectorCommand`] it asks for.
//!
//! Everything here is pure (no sockets, no app), so every address is unit-tested. What needs
//! the running show (does cue 12 exist, is `sunset` one of its looks, is `petal_rain` a
//! registered effect) is checked by [`check_against_show`] just before a command is applied.

use std::collections::BTreeMap;

use ling_core::looks::{CameraShot, ShotRef};
use ling_core::show::{ActiveShow, DirectorCommand, EmoteSpec, GestureSpec, ShowFile, find_cue};
use ling_stage_fx::{EffectParams, EffectRegistry, ParamValue};
use rosc::{OscMessage, OscType};

/// The prefix every address of the table starts with.
pub const PREFIX: &str = "/ling/";

/// The default fade (seconds) of an emote or a gesture fired remotely, as in show files.
const FADE: f32 = 0.3;

/// The command an OSC message asks for.
///
/// `Ok(None)` is a valid message that asks for nothing: a button's release (`/ling/go 0.0`),
/// or `/ling/ping` (a client asking for the state without doing anything). `Err` says briefly
/// what is wrong (unknown address, wrong arguments), for the console.
pub fn command_for(message: &OscMessage) -> Result<Option<DirectorCommand>, String> {
    let address = message.addr.as_str();
    let path = address
        .strip_prefix(PREFIX)
        .map(|p| p.trim_end_matches('/'))
        .ok_or_else(|| format!("unknown address {address}"))?;
    let args = Args {
        address,
        args: &message.args,
    };
    // The button forms carry the name in the address (`/ling/cue/12`, `/ling/shot/wide`) and
    // at most a button value: 1.0 on press fires, 0.0 on release is ignored.
    if let Some((head, name)) = path.split_once('/') {
        let button = |command: DirectorCommand| -> Result<Option<DirectorCommand>, String> {
            Ok(args.pressed()?.then_some(command))
        };
        if name.is_empty() {
            return Err(format!("{address}: a name is missing after {head}/"));
        }
        return match head {
            "cue" => button(DirectorCommand::FireCue(name.into())),
            "standby" => button(DirectorCommand::Standby(name.into())),
            "shot" => button(DirectorCommand::CutTo {
                shot: shot(name).map_err(|e| format!("{address}: {e}"))?,
                blend: 0.0,
            }),
            "light" => button(DirectorCommand::LightCue {
                name: name.into(),
                fade: 0.0,
            }),
            "emote" => button(DirectorCommand::Emote(emote(name, None, 1.0))),
            "gesture" => button(DirectorCommand::Gesture(gesture(name, 1.0))),
            "effect" => match name.strip_prefix("stop/") {
                Some(effect) if !effect.is_empty() => button(DirectorCommand::StopEffect {
                    name: effect.into(),
                }),
                _ if name == "stop" => args.exactly(1).and_then(|_| {
                    Ok(Some(DirectorCommand::StopEffect {
                        name: args.text(0)?,
                    }))
                }),
                _ => button(DirectorCommand::TriggerEffect {
                    name: name.into(),
                    params: EffectParams::new(),
                }),
            },
            "emotes" if name == "clear" => button(DirectorCommand::ClearEmotes { fade: FADE }),
            "preview" => button(DirectorCommand::Preview(ShotRef::from(name))),
            _ => Err(format!("unknown address {address}")),
        };
    }
    let button = |command: DirectorCommand| -> Result<Option<DirectorCommand>, String> {
        Ok(args.pressed()?.then_some(command))
    };
    match path {
        "go" => button(DirectorCommand::Go),
        "back" => button(DirectorCommand::Back),
        "panic" => button(DirectorCommand::Panic),
        "play" => button(DirectorCommand::Play),
        "pause" => button(DirectorCommand::Pause),
        "save" => button(DirectorCommand::SaveShow),
        "load" => {
            args.exactly(1)?;
            Ok(Some(DirectorCommand::LoadShow(args.text(0)?.into())))
        }
        "ping" => Ok(None),
        "preview" => {
            args.exactly(1)?;
            Ok(Some(DirectorCommand::Preview(ShotRef::from(
                args.text(0)?.as_str(),
            ))))
        }
        // A button: the preview cut to program.
        "take" => button(DirectorCommand::Take { transition: 0.0 }),
        // An auto transition of the given seconds (1 s without one); 0 is a button's release.
        "auto" => {
            args.between(0, 1)?;
            let seconds = args.seconds_or(0, 1.0)?;
            Ok((seconds > 0.0).then_some(DirectorCommand::Take {
                transition: seconds,
            }))
        }
        "cue" => {
            args.exactly(1)?;
            Ok(Some(DirectorCommand::FireCue(args.cue_number(0)?)))
        }
        "standby" => {
            args.exactly(1)?;
            Ok(Some(DirectorCommand::Standby(args.cue_number(0)?)))
        }
        "shot" => {
            args.between(1, 2)?;
            let name = args.text(0)?;
            Ok(Some(DirectorCommand::CutTo {
                shot: shot(&name).map_err(|e| format!("{address}: {e}"))?,
                blend: args.seconds_or(1, 0.0)?,
            }))
        }
        "light" => {
            args.between(1, 2)?;
            Ok(Some(DirectorCommand::LightCue {
                name: args.text(0)?,
                fade: args.seconds_or(1, 0.0)?,
            }))
        }
        "effect" => {
            if args.args.is_empty() {
                return Err(format!("{address}: the effect's name is missing"));
            }
            let name = args.text(0)?;
            let rest = &args.args[1..];
            if rest.len() % 2 != 0 {
                return Err(format!(
                    "{address}: parameters come in pairs (name value), got {} argument(s) after the effect's name",
                    rest.len()
                ));
            }
            let mut params = BTreeMap::new();
            for (i, pair) in rest.chunks(2).enumerate() {
                let key = args.text(1 + 2 * i)?;
                let value = param_value(&pair[1])
                    .ok_or_else(|| format!("{address}: parameter \"{key}\": {:?} is not a number, text, bool or colour", pair[1]))?;
                params.insert(key, value);
            }
            Ok(Some(DirectorCommand::TriggerEffect { name, params }))
        }
        "emote" => {
            args.between(1, 3)?;
            let name = args.text(0)?;
            let hold = args.seconds_or(1, 0.0)?;
            let weight = match args.args.get(2) {
                Some(_) => args.number(2)?,
                None => 1.0,
            };
            if !(0.0..=1.0).contains(&weight) {
                return Err(format!("{address}: weight {weight} is not within 0..1"));
            }
            Ok(Some(DirectorCommand::Emote(emote(
                &name,
                (hold > 0.0).then_some(hold),
                weight as f32,
            ))))
        }
        "emotes" => Err(format!(
            "unknown address {address} (did you mean /ling/emotes/clear?)"
        )),
        "gesture" => {
            args.between(1, 2)?;
            let speed = match args.args.get(1) {
                Some(_) => args.number(1)?,
                None => 1.0,
            };
            if speed <= 0.0 {
                return Err(format!("{address}: speed {speed} must be above 0"));
            }
            Ok(Some(DirectorCommand::Gesture(gesture(
                &args.text(0)?,
                speed as f32,
            ))))
        }
        "seek" => {
            args.exactly(1)?;
            let t = args.number(0)?;
            if t < 0.0 {
                return Err(format!("{address}: {t} s is before the show's start"));
            }
            Ok(Some(DirectorCommand::Seek(t)))
        }
        "onair" => {
            args.exactly(1)?;
            Ok(Some(DirectorCommand::OnAir(args.flag(0)?)))
        }
        "mic" => {
            args.exactly(1)?;
            Ok(Some(DirectorCommand::MicOnAir(args.flag(0)?)))
        }
        "record" => {
            args.exactly(1)?;
            Ok(Some(if args.flag(0)? {
                DirectorCommand::StartRecording
            } else {
                DirectorCommand::StopRecording
            }))
        }
        "backdrop" => {
            args.between(1, 2)?;
            let fill = args.text(0)?;
            ling_set::keying::BackdropFill::parse(&fill).map_err(|e| format!("{address}: {e}"))?;
            let set = match args.args.get(1) {
                Some(_) => {
                    let set = args.text(1)?;
                    ling_set::keying::SetVisibility::parse(&set)
                        .map_err(|e| format!("{address}: {e}"))?;
                    Some(set)
                }
                None => None,
            };
            Ok(Some(DirectorCommand::Backdrop { fill, set }))
        }
        _ => Err(format!("unknown address {address}")),
    }
}

/// Checks a command against the running show before it is applied: the cue a number names,
/// the light look, the effect and its parameters, and that the files it names (a show to
/// load, a gesture's BVH) stay inside the show's folder. `Err` says what is wrong.
pub fn check_against_show(
    command: &DirectorCommand,
    show: Option<&ActiveShow>,
    effects: Option<&EffectRegistry>,
) -> Result<(), String> {
    match command {
        DirectorCommand::FireCue(number) | DirectorCommand::Standby(number) => match show {
            Some(show) if find_cue(&show.0.cues, number).is_none() => Err(format!(
                "no cue {number} (the show has {} cue(s))",
                show.0.cues.len()
            )),
            _ => Ok(()),
        },
        DirectorCommand::LightCue { name, .. } => match show {
            Some(show) if !show.0.lights.contains_key(name) => Err(format!(
                "no light look \"{name}\" (the show has: {})",
                show.0.lights.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
            _ => Ok(()),
        },
        DirectorCommand::TriggerEffect { name, params } => {
            effects.map_or(Ok(()), |registry| registry.check(name, params))
        }
        DirectorCommand::StopEffect { name } => match effects {
            Some(registry) if registry.get(name).is_none() => {
                Err(format!("no effect named \"{name}\""))
            }
            _ => Ok(()),
        },
        // Files stay inside the running show's folder (without a show, the current folder)
        // unless the user allowed otherwise.
        DirectorCommand::LoadShow(_) | DirectorCommand::Gesture(_) => {
            let none = ShowFile::default();
            show.map_or(&none, |s| &s.0)
                .check_command_paths(command)
                .map_err(|e| e.to_string())
        }
        _ => Ok(()),
    }
}

/// A camera shot by name: `wide`, `medium`, `closeup` (also `close-up`, `close`), any case.
pub fn shot(name: &str) -> Result<CameraShot, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "wide" => Ok(CameraShot::Wide),
        "medium" | "mid" => Ok(CameraShot::Medium),
        "closeup" | "close-up" | "close_up" | "close" => Ok(CameraShot::CloseUp),
        _ => Err(format!(
            "no shot \"{name}\" (expected wide, medium or closeup)"
        )),
    }
}

fn emote(name: &str, hold: Option<f32>, weight: f32) -> EmoteSpec {
    EmoteSpec {
        weight,
        hold,
        ..EmoteSpec::pulse(name, 0.0)
    }
}

fn gesture(clip: &str, speed: f32) -> GestureSpec {
    GestureSpec {
        clip: clip.into(),
        fade: FADE,
        speed,
    }
}

/// An effect parameter's value from an OSC argument: numbers (int or float), text, bools
/// (`T`/`F`), and colours (`r`, or an array of three numbers) as triples.
fn param_value(arg: &OscType) -> Option<ParamValue> {
    Some(match arg {
        OscType::Bool(b) => ParamValue::Bool(*b),
        OscType::String(s) => ParamValue::Text(s.clone()),
        OscType::Color(c) => ParamValue::Triple((
            c.red as f32 / 255.0,
            c.green as f32 / 255.0,
            c.blue as f32 / 255.0,
        )),
        OscType::Array(a) => match a.content.as_slice() {
            [x, y, z] => {
                ParamValue::Triple((number(x)? as f32, number(y)? as f32, number(z)? as f32))
            }
            _ => return None,
        },
        other => ParamValue::Number(number(other)?),
    })
}

/// A finite number from an int or a float (of any width).
fn number(arg: &OscType) -> Option<f64> {
    let n = match arg {
        OscType::Int(i) => *i as f64,
        OscType::Long(i) => *i as f64,
        OscType::Float(f) => *f as f64,
        OscType::Double(d) => *d,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// A message's arguments, read with errors that name the address.
struct Args<'a> {
    address: &'a str,
    args: &'a [OscType],
}

impl Args<'_> {
    fn exactly(&self, n: usize) -> Result<(), String> {
        self.between(n, n)
    }

    fn between(&self, min: usize, max: usize) -> Result<(), String> {
        let len = self.args.len();
        if (min..=max).contains(&len) {
            Ok(())
        } else if min == max {
            Err(format!(
                "{}: expected {min} argument(s), got {len}",
                self.address
            ))
        } else {
            Err(format!(
                "{}: expected {min} to {max} arguments, got {len}",
                self.address
            ))
        }
    }

    fn number(&self, i: usize) -> Result<f64, String> {
        let arg = &self.args[i];
        number(arg).ok_or_else(|| format!("{}: expected a number, got {arg:?}", self.address))
    }

    /// Seconds (≥ 0) at `i`, or `default` when absent.
    fn seconds_or(&self, i: usize, default: f32) -> Result<f32, String> {
        if i >= self.args.len() {
            return Ok(default);
        }
        let s = self.number(i)?;
        if s < 0.0 {
            return Err(format!("{}: {s} s is negative", self.address));
        }
        Ok(s as f32)
    }

    fn text(&self, i: usize) -> Result<String, String> {
        match &self.args[i] {
            OscType::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            OscType::String(_) => Err(format!("{}: a name is empty", self.address)),
            arg => Err(format!("{}: expected a name, got {arg:?}", self.address)),
        }
    }

    /// A cue number: text ("2.5"), an int (12) or a float (12.0 is "12", 2.5 is "2.5").
    fn cue_number(&self, i: usize) -> Result<String, String> {
        match &self.args[i] {
            OscType::String(_) => self.text(i),
            arg => {
                let n = number(arg).ok_or_else(|| {
                    format!("{}: expected a cue number, got {arg:?}", self.address)
                })?;
                Ok(if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{}", n as i64)
                } else {
                    // Floats arrive as f32: 2.5 and 0.1 print as typed.
                    format!("{}", n as f32)
                })
            }
        }
    }

    /// On or off: a number (non-zero is on), a bool, or `on`/`off`, `true`/`false`, `1`/`0`.
    fn flag(&self, i: usize) -> Result<bool, String> {
        match &self.args[i] {
            OscType::Bool(b) => Ok(*b),
            OscType::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "on" | "true" | "yes" => Ok(true),
                "0" | "off" | "false" | "no" => Ok(false),
                _ => Err(format!("{}: expected 0 or 1, got \"{s}\"", self.address)),
            },
            arg => number(arg)
                .map(|n| n != 0.0)
                .ok_or_else(|| format!("{}: expected 0 or 1, got {arg:?}", self.address)),
        }
    }

    /// A button: no argument, or one value that is non-zero on press and zero on release.
    fn pressed(&self) -> Result<bool, String> {
        match self.args {
            [] => Ok(true),
            [_] => self.flag(0).map_err(|_| {
                format!(
                    "{}: expects no argument or a button value (1 press, 0 release), got {:?}",
                    self.address, self.args[0]
                )
            }),
            _ => Err(format!(
                "{}: expects no argument or a button value, got {} arguments",
                self.address,
                self.args.len()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_core::show::{Cue, ShowFile};

    fn msg(addr: &str, args: Vec<OscType>) -> OscMessage {
        OscMessage {
            addr: addr.into(),
            args,
        }
    }

    fn cmd(addr: &str, args: Vec<OscType>) -> DirectorCommand {
        match command_for(&msg(addr, args.clone())) {
            Ok(Some(c)) => c,
            other => panic!("{addr} {args:?}: {other:?}"),
        }
    }

    fn err(addr: &str, args: Vec<OscType>) -> String {
        match command_for(&msg(addr, args.clone())) {
            Err(e) => e,
            other => panic!("{addr} {args:?} should be refused: {other:?}"),
        }
    }

    fn s(text: &str) -> OscType {
        OscType::String(text.into())
    }

    #[test]
    fn buttons_fire_on_press_and_ignore_the_release() {
        for (addr, expected) in [
            ("/ling/go", DirectorCommand::Go),
            ("/ling/back", DirectorCommand::Back),
            ("/ling/panic", DirectorCommand::Panic),
            ("/ling/play", DirectorCommand::Play),
            ("/ling/pause", DirectorCommand::Pause),
            ("/ling/save", DirectorCommand::SaveShow),
            (
                "/ling/emotes/clear",
                DirectorCommand::ClearEmotes { fade: 0.3 },
            ),
            ("/ling/take", DirectorCommand::Take { transition: 0.0 }),
            (
                "/ling/preview/side",
                DirectorCommand::Preview(ShotRef::Named("side".into())),
            ),
        ] {
            assert_eq!(cmd(addr, vec![]), expected, "{addr}");
            assert_eq!(cmd(addr, vec![OscType::Float(1.0)]), expected, "{addr}");
            assert_eq!(cmd(addr, vec![OscType::Int(1)]), expected, "{addr}");
            assert_eq!(cmd(addr, vec![OscType::Bool(true)]), expected, "{addr}");
            // TouchOSC and Companion send 0 when the button is let go: not a second GO.
            assert_eq!(command_for(&msg(addr, vec![OscType::Float(0.0)])), Ok(None));
            assert_eq!(command_for(&msg(addr, vec![OscType::Int(0)])), Ok(None));
            assert_eq!(
                command_for(&msg(addr, vec![OscType::Bool(false)])),
                Ok(None)
            );
            assert!(err(addr, vec![s("now")]).contains("button value"));
            assert!(err(addr, vec![OscType::Int(1), OscType::Int(1)]).contains("2 arguments"));
        }
        assert_eq!(command_for(&msg("/ling/ping", vec![])), Ok(None));
    }

    #[test]
    fn preview_and_auto_take() {
        assert_eq!(
            cmd("/ling/preview", vec![s("CloseUp")]),
            DirectorCommand::Preview(ShotRef::Builtin(CameraShot::CloseUp))
        );
        assert_eq!(
            cmd("/ling/preview", vec![s("balcony")]),
            DirectorCommand::Preview(ShotRef::Named("balcony".into()))
        );
        assert_eq!(
            cmd("/ling/auto", vec![]),
            DirectorCommand::Take { transition: 1.0 }
        );
        assert_eq!(
            cmd("/ling/auto", vec![OscType::Float(2.5)]),
            DirectorCommand::Take { transition: 2.5 }
        );
        // A button's release is not a cut.
        assert_eq!(
            command_for(&msg("/ling/auto", vec![OscType::Float(0.0)])),
            Ok(None)
        );
        assert!(err("/ling/auto", vec![OscType::Float(-1.0)]).contains("negative"));
        assert!(err("/ling/preview", vec![]).contains("expected 1 argument"));
    }

    #[test]
    fn cues_by_number_from_text_ints_and_floats() {
        let fire = |n: &str| DirectorCommand::FireCue(n.into());
        assert_eq!(cmd("/ling/cue", vec![OscType::Int(12)]), fire("12"));
        assert_eq!(cmd("/ling/cue", vec![OscType::Float(12.0)]), fire("12"));
        assert_eq!(cmd("/ling/cue", vec![OscType::Float(2.5)]), fire("2.5"));
        assert_eq!(cmd("/ling/cue", vec![OscType::Double(0.1)]), fire("0.1"));
        assert_eq!(cmd("/ling/cue", vec![s(" 3a ")]), fire("3a"));
        assert_eq!(
            cmd("/ling/standby", vec![OscType::Long(4)]),
            DirectorCommand::Standby("4".into())
        );
        // The button form: the number in the address, the value is the button.
        assert_eq!(cmd("/ling/cue/7", vec![OscType::Float(1.0)]), fire("7"));
        assert_eq!(
            command_for(&msg("/ling/cue/7", vec![OscType::Float(0.0)])),
            Ok(None)
        );
        assert_eq!(
            cmd("/ling/standby/2.5", vec![]),
            DirectorCommand::Standby("2.5".into())
        );
        assert!(err("/ling/cue", vec![]).contains("expected 1 argument"));
        assert!(err("/ling/cue", vec![s("")]).contains("empty"));
        assert!(err("/ling/cue", vec![OscType::Float(f32::NAN)]).contains("cue number"));
        assert!(err("/ling/cue/", vec![]).contains("expected 1 argument"));
    }

    #[test]
    fn shots_lights_and_backdrops() {
        assert_eq!(
            cmd("/ling/shot", vec![s("closeup")]),
            DirectorCommand::CutTo {
                shot: CameraShot::CloseUp,
                blend: 0.0
            }
        );
        assert_eq!(
            cmd("/ling/shot", vec![s("Medium"), OscType::Float(1.5)]),
            DirectorCommand::CutTo {
                shot: CameraShot::Medium,
                blend: 1.5
            }
        );
        assert_eq!(
            cmd("/ling/shot/wide", vec![OscType::Float(1.0)]),
            DirectorCommand::CutTo {
                shot: CameraShot::Wide,
                blend: 0.0
            }
        );
        assert!(err("/ling/shot", vec![s("drone")]).contains("no shot \"drone\""));
        assert!(err("/ling/shot", vec![s("wide"), OscType::Float(-1.0)]).contains("negative"));
        assert!(err("/ling/shot", vec![OscType::Int(2)]).contains("expected a name"));

        assert_eq!(
            cmd("/ling/light", vec![s("sunset"), OscType::Int(2)]),
            DirectorCommand::LightCue {
                name: "sunset".into(),
                fade: 2.0
            }
        );
        assert_eq!(
            cmd("/ling/light/house", vec![]),
            DirectorCommand::LightCue {
                name: "house".into(),
                fade: 0.0
            }
        );

        assert_eq!(
            cmd("/ling/backdrop", vec![s("green"), s("floor")]),
            DirectorCommand::Backdrop {
                fill: "green".into(),
                set: Some("floor".into())
            }
        );
        assert_eq!(
            cmd("/ling/backdrop", vec![s("#102030")]),
            DirectorCommand::Backdrop {
                fill: "#102030".into(),
                set: None
            }
        );
        assert!(!err("/ling/backdrop", vec![s("plaid")]).is_empty());
        assert!(err("/ling/backdrop", vec![s("green"), s("roof")]).contains("roof"));
    }

    #[test]
    fn effects_with_parameters_of_every_type() {
        let fired = cmd(
            "/ling/effect",
            vec![
                s("lantern_burst"),
                s("seconds"),
                OscType::Float(3.0),
                s("count"),
                OscType::Int(40),
                s("label"),
                s("red"),
                s("loop"),
                OscType::Bool(true),
                s("tint"),
                OscType::Color(rosc::OscColor {
                    red: 255,
                    green: 0,
                    blue: 0,
                    alpha: 255,
                }),
            ],
        );
        let DirectorCommand::TriggerEffect { name, params } = fired else {
            panic!("{fired:?}")
        };
        assert_eq!(name, "lantern_burst");
        assert_eq!(params["seconds"], ParamValue::Number(3.0));
        assert_eq!(params["count"], ParamValue::Number(40.0));
        assert_eq!(params["label"], ParamValue::Text("red".into()));
        assert_eq!(params["loop"], ParamValue::Bool(true));
        assert_eq!(params["tint"], ParamValue::Triple((1.0, 0.0, 0.0)));
        assert_eq!(
            cmd("/ling/effect", vec![s("petal_rain")]),
            DirectorCommand::TriggerEffect {
                name: "petal_rain".into(),
                params: EffectParams::new()
            }
        );
        assert_eq!(
            cmd("/ling/effect/petal_rain", vec![OscType::Float(1.0)]),
            DirectorCommand::TriggerEffect {
                name: "petal_rain".into(),
                params: EffectParams::new()
            }
        );
        assert!(err("/ling/effect", vec![s("x"), s("seconds")]).contains("pairs"));
        assert!(
            err(
                "/ling/effect",
                vec![s("x"), OscType::Int(1), OscType::Int(2)]
            )
            .contains("expected a name")
        );
        assert!(err("/ling/effect", vec![s("x"), s("a"), OscType::Nil]).contains("\"a\""));
        assert!(err("/ling/effect", vec![]).contains("missing"));

        let stop = DirectorCommand::StopEffect {
            name: "petal_rain".into(),
        };
        assert_eq!(cmd("/ling/effect/stop", vec![s("petal_rain")]), stop);
        assert_eq!(cmd("/ling/effect/stop/petal_rain", vec![]), stop);
        assert!(err("/ling/effect/stop", vec![]).contains("expected 1 argument"));
    }

    #[test]
    fn emotes_and_gestures() {
        let DirectorCommand::Emote(kept) = cmd("/ling/emote", vec![s("joy")]) else {
            panic!()
        };
        assert_eq!(
            (kept.name.as_str(), kept.hold, kept.weight),
            ("joy", None, 1.0)
        );
        let DirectorCommand::Emote(pulse) = cmd(
            "/ling/emote",
            vec![s("surprise"), OscType::Float(2.0), OscType::Float(0.5)],
        ) else {
            panic!()
        };
        assert_eq!(
            pulse,
            EmoteSpec {
                weight: 0.5,
                ..EmoteSpec::pulse("surprise", 2.0)
            }
        );
        assert!(
            err(
                "/ling/emote",
                vec![s("joy"), OscType::Int(1), OscType::Int(3)]
            )
            .contains("weight")
        );
        assert!(matches!(
            cmd("/ling/emote/fun", vec![]),
            DirectorCommand::Emote(EmoteSpec { ref name, hold: None, .. }) if name == "fun"
        ));
        assert_eq!(
            cmd("/ling/gesture", vec![s("wave")]),
            DirectorCommand::Gesture(GestureSpec {
                clip: "wave".into(),
                fade: 0.3,
                speed: 1.0
            })
        );
        assert_eq!(
            cmd("/ling/gesture", vec![s("bow"), OscType::Float(0.5)]),
            DirectorCommand::Gesture(GestureSpec {
                clip: "bow".into(),
                fade: 0.3,
                speed: 0.5
            })
        );
        assert!(err("/ling/gesture", vec![s("bow"), OscType::Int(0)]).contains("speed"));
        assert!(err("/ling/emotes", vec![]).contains("/ling/emotes/clear"));
    }

    #[test]
    fn transport_and_switches() {
        assert_eq!(
            cmd("/ling/seek", vec![OscType::Float(5.0)]),
            DirectorCommand::Seek(5.0)
        );
        assert_eq!(
            cmd("/ling/seek", vec![OscType::Int(7)]),
            DirectorCommand::Seek(7.0)
        );
        assert!(err("/ling/seek", vec![OscType::Float(-1.0)]).contains("before"));
        assert!(err("/ling/seek", vec![s("5")]).contains("expected a number"));
        assert!(err("/ling/seek", vec![OscType::Double(f64::INFINITY)]).contains("number"));
        assert_eq!(
            cmd("/ling/load", vec![s("scenes/demo.ron")]),
            DirectorCommand::LoadShow("scenes/demo.ron".into())
        );
        assert!(err("/ling/load", vec![]).contains("expected 1 argument"));

        for (addr, on, off) in [
            (
                "/ling/onair",
                DirectorCommand::OnAir(true),
                DirectorCommand::OnAir(false),
            ),
            (
                "/ling/mic",
                DirectorCommand::MicOnAir(true),
                DirectorCommand::MicOnAir(false),
            ),
            (
                "/ling/record",
                DirectorCommand::StartRecording,
                DirectorCommand::StopRecording,
            ),
        ] {
            // A switch's 0 is meaningful (off), unlike a button's release.
            assert_eq!(cmd(addr, vec![OscType::Int(1)]), on);
            assert_eq!(cmd(addr, vec![OscType::Float(1.0)]), on);
            assert_eq!(cmd(addr, vec![OscType::Bool(true)]), on);
            assert_eq!(cmd(addr, vec![s("on")]), on);
            assert_eq!(cmd(addr, vec![OscType::Int(0)]), off);
            assert_eq!(cmd(addr, vec![OscType::Float(0.0)]), off);
            assert_eq!(cmd(addr, vec![s("off")]), off);
            assert!(err(addr, vec![]).contains("expected 1 argument"));
            assert!(err(addr, vec![s("maybe")]).contains("0 or 1"));
        }
    }

    #[test]
    fn unknown_addresses_are_refused_with_a_reason() {
        assert_eq!(err("/ling/dance", vec![]), "unknown address /ling/dance");
        assert_eq!(err("/vmc/go", vec![]), "unknown address /vmc/go");
        assert_eq!(err("/ling/go/now", vec![]), "unknown address /ling/go/now");
        assert!(err("/ling/shot/drone", vec![]).contains("no shot"));
        // A trailing slash is forgiven.
        assert_eq!(cmd("/ling/go/", vec![]), DirectorCommand::Go);
    }

    #[test]
    fn commands_are_checked_against_the_running_show() {
        let mut show = ShowFile::default();
        show.cues = vec![
            Cue {
                number: "10".into(),
                ..Cue::timed(1.0, DirectorCommand::Go)
            },
            Cue::timed(2.0, DirectorCommand::Go),
        ];
        show.lights.insert("sunset".into(), Default::default());
        let show = ActiveShow(show);
        let check = |c: DirectorCommand| check_against_show(&c, Some(&show), None);
        assert_eq!(check(DirectorCommand::FireCue("10".into())), Ok(()));
        assert_eq!(check(DirectorCommand::Standby("2".into())), Ok(()));
        assert!(
            check(DirectorCommand::FireCue("3".into()))
                .unwrap_err()
                .contains("no cue 3")
        );
        assert_eq!(
            check(DirectorCommand::LightCue {
                name: "sunset".into(),
                fade: 0.0
            }),
            Ok(())
        );
        assert!(
            check(DirectorCommand::LightCue {
                name: "noon".into(),
                fade: 0.0
            })
            .unwrap_err()
            .contains("sunset")
        );
        let effects = EffectRegistry::default();
        assert!(
            check_against_show(
                &DirectorCommand::TriggerEffect {
                    name: "petal_rain".into(),
                    params: EffectParams::new()
                },
                None,
                Some(&effects)
            )
            .unwrap_err()
            .contains("no effect")
        );
        assert_eq!(check(DirectorCommand::Go), Ok(()));
    }

    #[test]
    fn files_a_remote_names_stay_inside_the_show_folder() {
        let dir = std::env::temp_dir().join(format!("ling-remote-paths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("show.ron"), "(name: \"s\", duration: 4.0)").unwrap();
        std::fs::write(dir.join("shrug.bvh"), "x").unwrap();
        let show = ActiveShow(ShowFile::load(&dir.join("show.ron")).unwrap());
        let check = |address: &str, arg: &str| {
            let command = cmd(address, vec![s(arg)]);
            check_against_show(&command, Some(&show), None)
        };
        assert_eq!(check("/ling/gesture", "shrug.bvh"), Ok(()));
        assert_eq!(check("/ling/gesture", "wave"), Ok(()));
        let inside = dir.join("show.ron").display().to_string();
        assert_eq!(check("/ling/load", &inside), Ok(()));
        for (address, arg) in [
            ("/ling/gesture", "../../etc/passwd.bvh"),
            ("/ling/gesture", "/etc/x.bvh"),
            ("/ling/load", "/etc/passwd"),
            ("/ling/load", "../../../../../../etc/passwd"),
        ] {
            let err = check(address, arg).unwrap_err();
            assert!(
                err.contains(&format!("\"{arg}\"")) && err.contains("--allow-paths-outside-show"),
                "{address} {arg}: {err}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
