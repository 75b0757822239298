//! Emotes: expressions the director puts on her face live (a hotkey, a cue, the remote, a chat
//! bot), layered over whatever drives the face.
//!
//! An emote is a blend of ARKit shapes — a named preset ([`EMOTES`]) or a custom `blend` —
//! with an envelope: faded in, held `hold` seconds and faded out (a pulse), or held until
//! cleared or replaced. Several emotes overlap: a new emote of the same name replaces the old
//! one (starting from where it was, so nothing pops), different names blend, newest on top.
//!
//! The layer runs in [`Reactions`](ling_core::Reactions), after the motion, lip sync and
//! tracking have written the frame's [`ExpressionWeights`]: each shape an emote sets is drawn
//! from what the sources wrote towards the emote's value by the emote's level, so it wins for
//! its shapes while everything else — blinks, the visemes that keep the mouth talking — goes
//! on underneath. Only ARKit shapes are layered; visemes are never touched. When a source does
//! not rewrite a shape every frame (a paused take, no motion at all), the layer remembers what
//! it found there and puts it back when the emote ends.
//!
//! Emotes are live reactions: their envelopes run on Bevy's [`Time`], not the show clock.

use bevy::prelude::*;

use ling_core::show::{DirectorCommand, EmoteSpec};
use ling_core::signals::{ARKIT_NAMES, ExpressionWeights, Performer};

/// The named emotes, in the console's order.
pub const EMOTES: [&str; 5] = ["joy", "anger", "sorrow", "surprise", "fun"];

/// Fade-out of every emote on [`DirectorCommand::Panic`], in seconds.
pub(crate) const PANIC_FADE: f32 = 0.25;

/// The ARKit shapes of a named emote and their weights at full strength, or `None` for a
/// name that is not one of [`EMOTES`].
///
/// They are chosen to read on any face: VRM avatars show them through their `happy`, `angry`,
/// `sad` and `surprised` expressions (the performer's expression map turns smiles, lowered
/// brows, frowns and raised brows with wide eyes into those), the built-in performer through
/// her morph targets of the same names.
pub fn preset(name: &str) -> Option<&'static [(&'static str, f32)]> {
    Some(match name {
        "joy" => &[
            ("mouthSmileLeft", 1.0),
            ("mouthSmileRight", 1.0),
            ("cheekSquintLeft", 0.7),
            ("cheekSquintRight", 0.7),
            ("eyeSquintLeft", 0.5),
            ("eyeSquintRight", 0.5),
            ("mouthDimpleLeft", 0.3),
            ("mouthDimpleRight", 0.3),
        ],
        "anger" => &[
            ("browDownLeft", 1.0),
            ("browDownRight", 1.0),
            ("noseSneerLeft", 0.7),
            ("noseSneerRight", 0.7),
            ("eyeSquintLeft", 0.4),
            ("eyeSquintRight", 0.4),
            ("mouthPressLeft", 0.6),
            ("mouthPressRight", 0.6),
            ("mouthSmileLeft", 0.0),
            ("mouthSmileRight", 0.0),
        ],
        "sorrow" => &[
            ("browInnerUp", 1.0),
            ("browDownLeft", 0.0),
            ("browDownRight", 0.0),
            ("mouthFrownLeft", 0.9),
            ("mouthFrownRight", 0.9),
            ("mouthShrugLower", 0.3),
            ("eyeLookDownLeft", 0.25),
            ("eyeLookDownRight", 0.25),
            ("mouthSmileLeft", 0.0),
            ("mouthSmileRight", 0.0),
        ],
        "surprise" => &[
            ("browInnerUp", 1.0),
            ("browOuterUpLeft", 1.0),
            ("browOuterUpRight", 1.0),
            ("eyeWideLeft", 1.0),
            ("eyeWideRight", 1.0),
            ("jawOpen", 0.45),
            ("browDownLeft", 0.0),
            ("browDownRight", 0.0),
        ],
        "fun" => &[
            ("mouthSmileLeft", 0.8),
            ("mouthSmileRight", 0.8),
            ("jawOpen", 0.3),
            ("cheekSquintLeft", 0.5),
            ("cheekSquintRight", 0.5),
            ("eyeSquintLeft", 0.6),
            ("eyeSquintRight", 0.6),
        ],
        _ => return None,
    })
}

/// The shapes an emote sets, as (index into [`ARKIT_NAMES`], weight); why not, naming the known
/// emotes or the shape that is not an ARKit name.
pub fn shapes_of(spec: &EmoteSpec) -> Result<Vec<(usize, f32)>, String> {
    let index = |name: &str| ARKIT_NAMES.iter().position(|n| *n == name);
    if spec.blend.is_empty() {
        let Some(preset) = preset(&spec.name) else {
            return Err(format!(
                "unknown emote \"{}\": the named emotes are {}; any other name needs a `blend` \
                 of ARKit shapes",
                spec.name,
                EMOTES.join(", ")
            ));
        };
        return Ok(preset
            .iter()
            .map(|(n, w)| (index(n).expect("presets use ARKit names"), *w))
            .collect());
    }
    spec.blend
        .iter()
        .map(|(n, w)| match index(n) {
            Some(i) if w.is_finite() => Ok((i, w.clamp(0.0, 1.0))),
            Some(_) => Err(format!(
                "emote \"{}\": the weight of \"{n}\" is not a number",
                spec.name
            )),
            None => Err(format!(
                "emote \"{}\": \"{n}\" is not an ARKit blendshape name (mouthSmileLeft, \
                 browInnerUp, eyeWideLeft, ...)",
                spec.name
            )),
        })
        .collect()
}

/// A fade in, an optional hold and a fade out, on seconds of [`Time`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope {
    /// When the fade in began.
    start: f32,
    /// The level it fades in from (a replaced emote's level, so nothing pops).
    from: f32,
    fade_in: f32,
    /// Seconds at full level after the fade in; `None`: until released.
    hold: Option<f32>,
    fade_out: f32,
    /// Released at this time from this level (cleared, replaced or stopped early).
    released: Option<(f32, f32)>,
}

fn smooth(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

impl Envelope {
    /// An envelope starting now.
    pub(crate) fn new(now: f32, from: f32, fade_in: f32, hold: Option<f32>, fade_out: f32) -> Self {
        let secs = |s: f32| if s.is_finite() { s.max(0.0) } else { 0.0 };
        Envelope {
            start: now,
            from: from.clamp(0.0, 1.0),
            fade_in: secs(fade_in),
            hold: hold.map(secs),
            fade_out: secs(fade_out),
            released: None,
        }
    }

    /// The level at `now`, 0..=1.
    pub(crate) fn level(&self, now: f32) -> f32 {
        let fade = |t: f32, length: f32| {
            if length <= 0.0 {
                if t >= 0.0 { 1.0 } else { 0.0 }
            } else {
                smooth(t / length)
            }
        };
        if let Some((at, from)) = self.released {
            return from * (1.0 - fade(now - at, self.fade_out));
        }
        let t = now - self.start;
        let up = self.from + (1.0 - self.from) * fade(t, self.fade_in);
        match self.hold {
            Some(hold) if t >= self.fade_in + hold => {
                up * (1.0 - fade(t - self.fade_in - hold, self.fade_out))
            }
            _ => up,
        }
    }

    /// Whether it has faded out for good by `now`.
    pub(crate) fn finished(&self, now: f32) -> bool {
        let end = match (self.released, self.hold) {
            (Some((at, _)), _) => at + self.fade_out,
            (None, Some(hold)) => self.start + self.fade_in + hold + self.fade_out,
            (None, None) => return false,
        };
        now >= end
    }

    /// Fades out from wherever it is, over `fade` seconds.
    pub(crate) fn release(&mut self, now: f32, fade: f32) {
        if self.finished(now) {
            return;
        }
        let level = self.level(now);
        self.fade_out = if fade.is_finite() { fade.max(0.0) } else { 0.0 };
        self.released = Some((now, level));
    }
}

/// One emote on her face.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveEmote {
    /// Its name.
    pub name: String,
    /// The shapes it sets: (index into [`ARKIT_NAMES`], weight at full level).
    shapes: Vec<(usize, f32)>,
    /// Strength at full level.
    weight: f32,
    envelope: Envelope,
}

impl ActiveEmote {
    /// Its level now (0..=1), before its weight.
    pub fn level(&self, now: f32) -> f32 {
        self.envelope.level(now)
    }
}

/// The emotes on her face, oldest first, and the last emote refused.
#[derive(Resource, Debug, Clone, Default)]
pub struct Emotes {
    /// The emotes showing or fading, oldest first (the newest is layered on top).
    pub active: Vec<ActiveEmote>,
    /// Why the last emote asked for was refused, for the console.
    pub refused: Option<String>,
}

impl Emotes {
    /// Starts an emote at `now`; an emote of the same name is replaced. A refused emote is
    /// logged and changes nothing.
    pub fn start(&mut self, spec: &EmoteSpec, now: f32) {
        let shapes = match shapes_of(spec) {
            Ok(shapes) => shapes,
            Err(why) => {
                warn!("{why}");
                self.refused = Some(why);
                return;
            }
        };
        self.refused = None;
        let from = match self.active.iter().position(|e| e.name == spec.name) {
            Some(i) => self.active.remove(i).level(now),
            None => 0.0,
        };
        self.active.push(ActiveEmote {
            name: spec.name.clone(),
            shapes,
            weight: if spec.weight.is_finite() {
                spec.weight.clamp(0.0, 1.0)
            } else {
                1.0
            },
            envelope: Envelope::new(now, from, spec.fade_in, spec.hold, spec.fade_out),
        });
    }

    /// Fades every emote out over `fade` seconds.
    pub fn clear(&mut self, now: f32, fade: f32) {
        for e in &mut self.active {
            e.envelope.release(now, fade);
        }
    }

    /// Each shape's value at `now` over `base` (ARKit weights the sources wrote), and which
    /// shapes the emotes set.
    fn layer(&self, base: &[f32; 52], now: f32) -> ([f32; 52], [bool; 52]) {
        let mut out = *base;
        let mut set = [false; 52];
        for e in &self.active {
            let a = (e.level(now) * e.weight).clamp(0.0, 1.0);
            for &(i, target) in &e.shapes {
                out[i] += (target - out[i]) * a;
                set[i] = true;
            }
        }
        (out, set)
    }
}

/// What the layer found and wrote on a performer last frame, to tell a source's fresh value
/// from its own output.
#[derive(Component, Debug, Clone)]
pub(crate) struct EmoteTrace {
    /// What the sources had written, per ARKit shape.
    base: [f32; 52],
    /// What the layer wrote, per ARKit shape (none where it left the shape alone).
    written: [Option<f32>; 52],
}

/// Starts, replaces and clears emotes on the director's commands.
pub(crate) fn emote_commands(
    mut commands: MessageReader<DirectorCommand>,
    time: Res<Time>,
    mut emotes: ResMut<Emotes>,
) {
    let now = time.elapsed_secs();
    for command in commands.read() {
        match command {
            DirectorCommand::Emote(spec) => emotes.start(spec, now),
            DirectorCommand::ClearEmotes { fade } => emotes.clear(now, *fade),
            DirectorCommand::Panic => emotes.clear(now, PANIC_FADE),
            // The clock jumped: the stage goes back to before any cue (no emote), and the cue
            // list replayed after it puts back the emotes held at the new time.
            DirectorCommand::ResetStage => emotes.active.clear(),
            _ => {}
        }
    }
}

/// Layers the emotes over every performer's expression weights.
pub(crate) fn apply_emotes(
    mut commands: Commands,
    time: Res<Time>,
    mut emotes: ResMut<Emotes>,
    mut performers: Query<
        (Entity, &mut ExpressionWeights, Option<&mut EmoteTrace>),
        With<Performer>,
    >,
) {
    let now = time.elapsed_secs();
    if emotes.active.iter().any(|e| e.envelope.finished(now)) {
        emotes.active.retain(|e| !e.envelope.finished(now));
    }
    for (entity, mut weights, trace) in &mut performers {
        if emotes.active.is_empty() && trace.is_none() {
            continue;
        }
        // What the sources wrote: a shape still holding the layer's own output was not
        // rewritten this frame, so its source value is the one found before.
        let mut base = weights.arkit;
        if let Some(trace) = &trace {
            for (i, b) in base.iter_mut().enumerate() {
                if trace.written[i] == Some(weights.arkit[i]) {
                    *b = trace.base[i];
                }
            }
        }
        let (out, set) = emotes.layer(&base, now);
        if weights.arkit != out {
            weights.arkit = out;
        }
        if emotes.active.is_empty() {
            // Everything is back to what the sources wrote.
            commands.entity(entity).remove::<EmoteTrace>();
            continue;
        }
        let written = std::array::from_fn(|i| set[i].then_some(out[i]));
        match trace {
            Some(mut trace) => {
                trace.base = base;
                trace.written = written;
            }
            None => {
                commands.entity(entity).insert(EmoteTrace { base, written });
            }
        }
    }
}

/// Emotes in the app: the [`Emotes`] resource, their commands and their layer.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Emotes>().add_systems(
        Update,
        (emote_commands, apply_emotes)
            .chain()
            .in_set(ling_core::Reactions),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_fades_in_holds_and_fades_out() {
        let e = Envelope::new(1.0, 0.0, 0.2, Some(0.5), 0.2);
        assert_eq!(e.level(1.0), 0.0);
        assert!((e.level(1.1) - 0.5).abs() < 1e-4);
        assert_eq!(e.level(1.2), 1.0);
        assert_eq!(e.level(1.6), 1.0);
        assert!((e.level(1.8) - 0.5).abs() < 1e-4);
        assert_eq!(e.level(1.9), 0.0);
        assert!(!e.finished(1.85));
        assert!(e.finished(1.901));
        let mut held = Envelope::new(0.0, 0.4, 0.0, None, 0.3);
        assert_eq!(held.level(0.0), 1.0);
        assert!(!held.finished(100.0));
        held.release(100.0, 1.0);
        assert!((held.level(100.5) - 0.5).abs() < 1e-4);
        assert!(held.finished(101.0));
    }

    #[test]
    fn presets_and_blends_name_arkit_shapes() {
        for name in EMOTES {
            let shapes = shapes_of(&EmoteSpec::pulse(name, 1.0)).unwrap();
            assert!(shapes.iter().any(|(_, w)| *w > 0.5), "{name}");
        }
        let err = shapes_of(&EmoteSpec::pulse("smirk", 1.0)).unwrap_err();
        assert!(err.contains("smirk") && err.contains("joy, anger"), "{err}");
        let mut spec = EmoteSpec::pulse("smirk", 1.0);
        spec.blend.insert("mouthSmileLeft".into(), 0.8);
        assert_eq!(shapes_of(&spec).unwrap(), vec![(23, 0.8)]);
        spec.blend.insert("aa".into(), 1.0);
        let err = shapes_of(&spec).unwrap_err();
        assert!(err.contains("\"aa\""), "visemes are not layered: {err}");
    }

    use ling_core::AppSystems;
    use std::time::Duration;

    const STEP: f32 = 0.05;

    /// A source that writes a small smile and an open "aa" every frame, like a clip with lip
    /// sync on it.
    fn talking_source(mut performers: Query<&mut ExpressionWeights, With<Performer>>) {
        for mut w in &mut performers {
            w.set("mouthSmileLeft", 0.2);
            w.set("mouthSmileRight", 0.2);
            w.set("aa", 0.6);
        }
    }

    fn app(with_source: bool) -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, plugin));
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
            Duration::from_secs_f32(STEP),
        ));
        if with_source {
            app.add_systems(
                Update,
                talking_source
                    .in_set(AppSystems::Blend)
                    .before(ling_core::Reactions),
            );
        }
        crate::spawn_test_performer(&mut app);
        app.update();
        app.update();
        app
    }

    fn face(app: &mut App) -> ExpressionWeights {
        let world = app.world_mut();
        world
            .query_filtered::<&ExpressionWeights, With<Performer>>()
            .single(world)
            .unwrap()
            .clone()
    }

    fn send(app: &mut App, command: DirectorCommand) {
        app.world_mut().write_message(command);
    }

    /// Runs `seconds` of frames.
    fn run(app: &mut App, seconds: f32) {
        for _ in 0..(seconds / STEP).round() as usize {
            app.update();
        }
    }

    fn near(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn a_pulse_rises_holds_and_falls_back_while_the_mouth_keeps_talking() {
        let mut app = app(true);
        assert_eq!(face(&mut app).get("mouthSmileLeft"), Some(0.2));
        send(
            &mut app,
            DirectorCommand::Emote(EmoteSpec {
                fade_in: 0.2,
                hold: Some(0.5),
                fade_out: 0.2,
                ..EmoteSpec::pulse("joy", 0.5)
            }),
        );
        // Frame k runs k steps after the frame that took the command.
        let mut trace = Vec::new();
        for k in 0..24 {
            app.update();
            let w = face(&mut app);
            trace.push((k as f32 * STEP, w.get("mouthSmileLeft").unwrap(), w));
        }
        for (t, smile, w) in &trace {
            assert_eq!(w.get("mouthSmileRight").unwrap(), *smile, "both sides");
            assert_eq!(w.get("aa"), Some(0.6), "t={t}: the visemes are left alone");
            let expected = match *t {
                t if t < 0.01 => Some(0.2),
                t if t > 0.01 && t < 0.19 => None,
                t if t < 0.71 => Some(1.0),
                t if (t - 0.8).abs() < 0.01 => Some(0.6),
                t if t > 0.89 => Some(0.2),
                _ => None,
            };
            match expected {
                Some(e) => assert!(near(*smile, e), "t={t}: smile {smile}, expected {e}"),
                None => assert!(*smile > 0.2 && *smile < 1.0, "t={t}: fading, {smile}"),
            }
        }
        let at = |t: f32| {
            trace
                .iter()
                .find(|x| (x.0 - t).abs() < 0.01)
                .map(|x| x.2.clone())
                .unwrap()
        };
        assert!(at(0.1).get("mouthSmileLeft") < at(0.15).get("mouthSmileLeft"));
        assert!(near(at(0.4).get("cheekSquintLeft").unwrap(), 0.7));
        assert!(near(at(0.4).get("eyeSquintRight").unwrap(), 0.5));
        assert_eq!(at(1.0).get("cheekSquintLeft"), Some(0.0), "gone again");
        assert!(app.world().resource::<Emotes>().active.is_empty());
    }

    #[test]
    fn the_same_name_replaces_a_held_emote_and_other_names_blend() {
        let mut app = app(true);
        let held = |name: &str| EmoteSpec {
            hold: None,
            fade_in: 0.1,
            ..EmoteSpec::pulse(name, 0.0)
        };
        send(&mut app, DirectorCommand::Emote(held("joy")));
        run(&mut app, 2.0);
        assert!(
            near(face(&mut app).get("mouthSmileLeft").unwrap(), 1.0),
            "held"
        );
        send(&mut app, DirectorCommand::Emote(held("surprise")));
        run(&mut app, 0.5);
        let w = face(&mut app);
        assert!(near(w.get("browOuterUpLeft").unwrap(), 1.0));
        assert!(near(w.get("eyeWideRight").unwrap(), 1.0));
        assert!(
            near(w.get("mouthSmileLeft").unwrap(), 1.0),
            "joy blends with surprise"
        );
        // A half-strength joy pulse replaces the held joy: after it, no smile but the source's.
        send(
            &mut app,
            DirectorCommand::Emote(EmoteSpec {
                weight: 0.5,
                fade_in: 0.1,
                fade_out: 0.1,
                ..EmoteSpec::pulse("joy", 0.5)
            }),
        );
        run(&mut app, 0.4);
        assert!(
            near(face(&mut app).get("mouthSmileLeft").unwrap(), 0.6),
            "0.2 + (1 - 0.2) / 2"
        );
        run(&mut app, 0.5);
        let w = face(&mut app);
        assert!(
            near(w.get("mouthSmileLeft").unwrap(), 0.2),
            "the held joy went with it"
        );
        assert!(
            near(w.get("eyeWideLeft").unwrap(), 1.0),
            "surprise is still held"
        );
        let names: Vec<String> = app
            .world()
            .resource::<Emotes>()
            .active
            .iter()
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(names, ["surprise"]);
    }

    #[test]
    fn clear_and_panic_fade_every_emote_out() {
        let mut app = app(true);
        for name in ["joy", "anger"] {
            send(
                &mut app,
                DirectorCommand::Emote(EmoteSpec {
                    hold: None,
                    ..EmoteSpec::pulse(name, 0.0)
                }),
            );
        }
        run(&mut app, 0.5);
        let w = face(&mut app);
        assert!(
            near(w.get("browDownLeft").unwrap(), 1.0)
                && near(w.get("mouthPressLeft").unwrap(), 0.6)
        );
        send(&mut app, DirectorCommand::ClearEmotes { fade: 0.2 });
        app.update();
        app.update();
        let w = face(&mut app);
        assert!(
            w.get("browDownLeft").unwrap() < 1.0 && w.get("browDownLeft").unwrap() > 0.0,
            "fading"
        );
        run(&mut app, 0.3);
        let w = face(&mut app);
        assert_eq!(w.get("browDownLeft"), Some(0.0));
        assert_eq!(w.get("mouthSmileLeft"), Some(0.2));
        assert!(app.world().resource::<Emotes>().active.is_empty());

        send(
            &mut app,
            DirectorCommand::Emote(EmoteSpec {
                hold: None,
                ..EmoteSpec::pulse("sorrow", 0.0)
            }),
        );
        run(&mut app, 0.5);
        assert!(near(face(&mut app).get("mouthFrownLeft").unwrap(), 0.9));
        send(&mut app, DirectorCommand::Panic);
        run(&mut app, 0.4);
        assert_eq!(face(&mut app).get("mouthFrownLeft"), Some(0.0));
        assert!(app.world().resource::<Emotes>().active.is_empty());
    }

    #[test]
    fn custom_blends_play_and_unknown_names_are_refused() {
        let mut app = app(true);
        let mut spec = EmoteSpec {
            hold: None,
            fade_in: 0.0,
            ..EmoteSpec::pulse("smirk", 0.0)
        };
        spec.blend.insert("mouthSmileLeft".into(), 0.9);
        spec.blend.insert("browOuterUpRight".into(), 0.6);
        send(&mut app, DirectorCommand::Emote(spec));
        app.update();
        let w = face(&mut app);
        assert!(near(w.get("mouthSmileLeft").unwrap(), 0.9));
        assert!(near(w.get("browOuterUpRight").unwrap(), 0.6));
        assert_eq!(w.get("mouthSmileRight"), Some(0.2), "a one-sided smirk");

        send(
            &mut app,
            DirectorCommand::Emote(EmoteSpec::pulse("grumpy", 1.0)),
        );
        app.update();
        let emotes = app.world().resource::<Emotes>();
        let why = emotes.refused.clone().expect("refused");
        assert!(
            why.contains("grumpy") && why.contains("joy, anger, sorrow, surprise, fun"),
            "{why}"
        );
        assert_eq!(emotes.active.len(), 1, "only the smirk");
    }

    #[test]
    fn held_emote_cues_follow_seeks() {
        use ling_core::show::{ClockMode, Cue, ShowClock, ShowFile, insert_show};
        let mut app = app(true);
        let cue = |at: f64, spec: EmoteSpec| Cue::timed(at, DirectorCommand::Emote(spec));
        let show = ShowFile {
            duration: 10.0,
            cues: vec![
                cue(
                    1.0,
                    EmoteSpec {
                        hold: None,
                        ..EmoteSpec::pulse("anger", 0.0)
                    },
                ),
                cue(2.0, EmoteSpec::pulse("joy", 1.0)),
            ],
            ..Default::default()
        };
        insert_show(&mut app, show, ClockMode::External, false);
        let seek = |app: &mut App, t: f64| {
            app.world_mut().resource_mut::<ShowClock>().time = t;
            app.update();
            face(app)
        };
        let w = seek(&mut app, 5.0);
        assert!(
            near(w.get("browDownLeft").unwrap(), 1.0),
            "the held anger is there at once after the jump"
        );
        assert!(
            near(w.get("mouthSmileLeft").unwrap(), 0.0),
            "the joy pulse is a moment, not replayed (anger presses the smile down)"
        );
        let w = seek(&mut app, 0.5);
        assert_eq!(w.get("browDownLeft"), Some(0.0), "before the cue: no anger");
        assert_eq!(w.get("mouthSmileLeft"), Some(0.2));
    }

    #[test]
    fn a_face_nobody_rewrites_gets_its_own_values_back() {
        let mut app = app(false);
        {
            let world = app.world_mut();
            let mut w = world
                .query_filtered::<&mut ExpressionWeights, With<Performer>>()
                .single_mut(world)
                .unwrap();
            w.set("browInnerUp", 0.3);
        }
        send(
            &mut app,
            DirectorCommand::Emote(EmoteSpec {
                fade_in: 0.1,
                fade_out: 0.1,
                ..EmoteSpec::pulse("surprise", 0.3)
            }),
        );
        run(&mut app, 0.3);
        assert!(near(face(&mut app).get("browInnerUp").unwrap(), 1.0));
        run(&mut app, 0.5);
        let w = face(&mut app);
        assert_eq!(
            w.get("browInnerUp"),
            Some(0.3),
            "put back, not stuck at the emote"
        );
        assert_eq!(w.get("eyeWideLeft"), Some(0.0));
    }
}
