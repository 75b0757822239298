//! The show: its clock, its file, the director's commands and the cue list.
//!
//! A show runs on a [`ShowClock`]. Live, the clock follows wall time; offline, the renderer sets
//! it frame by frame ([`ClockMode::External`]) so the same show always renders the same frames.
//! Everything the operator can do is a [`DirectorCommand`] message: the panel, the show file's
//! cue list and (later) hotkeys and remote control all send the same messages.
//!
//! Cues fire when the clock crosses their time. When the clock jumps backwards (seek, loop,
//! restart) every cue up to the new time is replayed instantly, so the stage is always in the
//! state the cue list describes for that moment.

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppSystems;
use crate::background::LoadPolicy;
use crate::looks::{CameraShot, FixedShot, ShotRef};
use crate::settings::{Calibrate, PhysicsSettings, TrackingTuning};

mod cuelist;
mod file;
pub mod paths;

pub use cuelist::{CueRunner, Waiting, cue_number, find_cue};

pub use file::{
    Cue, Follow, MotionSpec, OnsetEffect, PerformerSpec, ShowError, ShowFile, StageSpec,
    check_shot_name,
};

/// Where the clock's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Advances with the frame's time delta while playing (live show).
    Realtime,
    /// Set from outside, frame by frame (offline render, tests).
    External,
}

/// The show clock, in seconds from the start of the show.
#[derive(Resource, Debug, Clone)]
pub struct ShowClock {
    /// Seconds from the start of the show.
    pub time: f64,
    /// Whether the clock advances.
    pub playing: bool,
    /// Length of the show in seconds.
    pub duration: f64,
    /// Start again at 0 when the end is reached (live); otherwise hold at the end.
    pub looping: bool,
    /// Who moves the clock.
    pub mode: ClockMode,
}

impl Default for ShowClock {
    fn default() -> Self {
        Self {
            time: 0.0,
            playing: true,
            duration: 12.0,
            looping: false,
            mode: ClockMode::Realtime,
        }
    }
}

impl ShowClock {
    /// Fraction of the show done, 0..=1.
    pub fn progress(&self) -> f64 {
        if self.duration > 0.0 {
            (self.time / self.duration).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Advances by `dt` seconds if playing, looping or holding at the end.
    pub fn advance(&mut self, dt: f64) {
        if !self.playing {
            return;
        }
        self.time += dt;
        if self.time >= self.duration {
            if self.looping && self.duration > 0.0 {
                self.time %= self.duration;
            } else {
                self.time = self.duration;
                self.playing = false;
            }
        }
    }
}

/// Everything an operator (or a cue) can ask of the show.
#[derive(Message, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DirectorCommand {
    /// Start (or resume) the show; at its end, from the beginning.
    Play,
    /// Hold the show where it is.
    Pause,
    /// Play when paused, pause when playing.
    TogglePlay,
    /// Jump to a time in seconds.
    Seek(f64),
    /// Cut (or blend, if `blend` > 0 seconds) to a camera shot.
    CutTo {
        /// The shot to show.
        shot: CameraShot,
        /// Seconds of blend; 0 cuts.
        #[serde(default)]
        blend: f32,
    },
    /// Cut (or blend, if `blend` > 0 seconds) the program to a shot by name: a built-in one
    /// (`"wide"`, `"medium"`, `"closeup"`) or one of the show's `shots`. The preview stays.
    CutToShot {
        /// The shot to show.
        name: ShotRef,
        /// Seconds of blend; 0 cuts.
        #[serde(default)]
        blend: f32,
    },
    /// Select the shot on the preview bus: the one the next [`DirectorCommand::Take`] puts on
    /// program.
    Preview(ShotRef),
    /// Put the preview on program, as a vision mixer does: `transition` 0 cuts, more moves
    /// the camera there over that many seconds (an auto transition); the old program becomes
    /// the preview.
    Take {
        /// Seconds of the auto transition; 0 cuts.
        #[serde(default)]
        transition: f32,
    },
    /// Add a named camera shot to the show's `shots` (or replace the one of that name), such
    /// as the preview's framing after the operator moved it; saved with the show.
    SaveShot {
        /// Its name (not one of the built-in shots' names).
        name: String,
        /// Where the camera is and looks.
        shot: FixedShot,
    },
    /// Remove a named shot from the show's `shots`.
    DeleteShot(String),
    /// Fade the stage lights to a named look from the show file over `fade` seconds.
    LightCue {
        /// A key of the show file's `lights`.
        name: String,
        /// Seconds of fade; 0 cuts.
        #[serde(default)]
        fade: f32,
    },
    /// Return cameras and lights to their state before any cue (the wide shot, preshow light).
    ResetStage,
    /// Switch the performer to another motion, crossfading over `crossfade` seconds. Paths
    /// are relative to the show file.
    PlayMotion {
        /// The new motion.
        motion: MotionSpec,
        /// Seconds the old motion fades out over.
        #[serde(default)]
        crossfade: f32,
    },
    /// Replace the performer: the built-in Ling, an avatar file, or nobody. The motion goes on.
    SwitchPerformer(PerformerSpec),
    /// Playback speed of the current motion (1.0 = as recorded).
    MotionSpeed(f64),
    /// Whether the current motion loops.
    MotionLoop(bool),
    /// Costume physics settings (per group, and the wind).
    SetPhysics(PhysicsSettings),
    /// Put every costume chain back at rest.
    ResetPhysics,
    /// Start recording a take (body, face, commands) into the takes folder.
    StartRecording,
    /// Stop recording; the take is closed and kept.
    StopRecording,
    /// Fire a stage effect by name, with parameters (unset ones keep their defaults).
    TriggerEffect {
        /// The effect's registered name.
        name: String,
        /// Its parameters.
        #[serde(default)]
        params: ling_stage_fx::EffectParams,
    },
    /// Stop every running instance of a stage effect.
    StopEffect {
        /// The effect's registered name.
        name: String,
    },
    /// Take what the camera sees now as the performer's rest: her neutral face (expressions
    /// and head are measured from it), her hand's rest pose, or clear both.
    CalibrateTracking(Calibrate),
    /// Tracking filters (One Euro), confidence gate and the camera's share of the mouth.
    TuneTracking(TrackingTuning),
    /// Put the program on air (start every configured stream, file and virtual camera
    /// output) or take it off air (stop them; files are closed and kept).
    OnAir(bool),
    /// Send the microphone to the outputs (`true`) or keep it off them; it drives her mouth
    /// either way.
    MicOnAir(bool),
    /// What fills the picture's background: `stage`, `transparent`, `green`, `blue`,
    /// `magenta` or `#rrggbb`; and which set pieces stay behind a keyed picture: `full`,
    /// `floor` or `performer` (unchanged when absent). Outputs on air follow at once (a
    /// transparent picture keeps its alpha only in outputs started transparent).
    Backdrop {
        /// The fill, by name or hex colour.
        fill: String,
        /// The set pieces that stay, by name.
        #[serde(default)]
        set: Option<String>,
    },
    /// Fire the cue on standby (after its pre-wait) and put the next GO cue on standby.
    Go,
    /// Put the previous GO cue on standby (nothing already done is undone).
    Back,
    /// Put a cue on standby, by its number (or its position from 1 when it has none).
    Standby(String),
    /// Fire a cue now, by number, and put the GO cue after it on standby.
    FireCue(String),
    /// Stop: pending cues cancelled, every effect off, emotes cleared, the lights to a safe
    /// look (the show's `house` look, or the default).
    Panic,
    /// Put an expression on her face: a named emote or a custom blend, faded in, held, and
    /// faded out (or kept until cleared).
    Emote(EmoteSpec),
    /// Fade every emote out.
    ClearEmotes {
        /// Fade-out in seconds.
        #[serde(default = "default_fade")]
        fade: f32,
    },
    /// Play a short gesture over the running motion (upper body), faded in and out.
    Gesture(GestureSpec),
    /// Change the cue list (add, delete, move, replace a cue; undo, redo).
    EditCues(CueEdit),
    /// Write the running show back to its file (the previous file kept as a backup).
    SaveShow,
    /// Load another show file (or the same one again); a file that fails to load leaves the
    /// running show as it is and says why.
    LoadShow(std::path::PathBuf),
}

fn default_fade() -> f32 {
    0.3
}

fn one() -> f32 {
    1.0
}

/// A face the director puts on her: a named emote (`joy`, `anger`, `sorrow`, `surprise`,
/// `fun`) or any name with a custom `blend` of ARKit shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmoteSpec {
    /// The emote's name.
    pub name: String,
    /// ARKit shape weights (0..1) of a custom emote; empty for a named one.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub blend: std::collections::BTreeMap<String, f32>,
    /// Strength at full, 0..1.
    #[serde(default = "one")]
    pub weight: f32,
    /// Fade-in in seconds.
    #[serde(default = "default_fade")]
    pub fade_in: f32,
    /// Seconds at full strength before fading out; none: kept until cleared or replaced.
    #[serde(default)]
    pub hold: Option<f32>,
    /// Fade-out in seconds.
    #[serde(default = "default_fade")]
    pub fade_out: f32,
}

impl EmoteSpec {
    /// The named emote at full strength, pulsed: faded in, held `hold` seconds, faded out.
    pub fn pulse(name: &str, hold: f32) -> Self {
        Self {
            name: name.into(),
            blend: Default::default(),
            weight: 1.0,
            fade_in: default_fade(),
            hold: Some(hold),
            fade_out: default_fade(),
        }
    }
}

/// A gesture played over the running motion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GestureSpec {
    /// A built-in gesture (`wave`, `bow`, `nod`, `clap`) or a BVH file relative to the show.
    pub clip: String,
    /// Fade in and out, in seconds.
    #[serde(default = "default_fade")]
    pub fade: f32,
    /// Playback speed (1 = as recorded).
    #[serde(default = "one")]
    pub speed: f32,
}

/// A change to the cue list. Positions are 0-based indices into the show's `cues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CueEdit {
    /// Insert `cue` at `index` (the end if past it).
    Insert {
        /// Where.
        index: usize,
        /// The new cue.
        cue: Box<Cue>,
    },
    /// Replace the cue at `index`.
    Replace {
        /// Which.
        index: usize,
        /// Its new content.
        cue: Box<Cue>,
    },
    /// Delete the cue at `index`.
    Delete(usize),
    /// Move the cue at `from` to `to`.
    Move {
        /// From.
        from: usize,
        /// To (its index after the move).
        to: usize,
    },
    /// Undo the last change.
    Undo,
    /// Redo the last undone change.
    Redo,
}

impl DirectorCommand {
    /// The same command taking effect at once (used when cues are replayed after a seek).
    pub fn instant(&self) -> Self {
        match self {
            DirectorCommand::CutTo { shot, .. } => DirectorCommand::CutTo {
                shot: *shot,
                blend: 0.0,
            },
            DirectorCommand::LightCue { name, .. } => DirectorCommand::LightCue {
                name: name.clone(),
                fade: 0.0,
            },
            DirectorCommand::CutToShot { name, .. } => DirectorCommand::CutToShot {
                name: name.clone(),
                blend: 0.0,
            },
            DirectorCommand::Take { .. } => DirectorCommand::Take { transition: 0.0 },
            // A held emote replayed after a jump is simply there.
            DirectorCommand::Emote(spec) => DirectorCommand::Emote(EmoteSpec {
                fade_in: 0.0,
                ..spec.clone()
            }),
            other => other.clone(),
        }
    }

    /// Commands that belong to the operator's moment, not to the show's story: a replayed take
    /// leaves them out (what they caused was recorded as it happened).
    pub fn is_operator_only(&self) -> bool {
        matches!(
            self,
            DirectorCommand::ResetStage
                | DirectorCommand::Go
                | DirectorCommand::Back
                | DirectorCommand::Standby(_)
                | DirectorCommand::FireCue(_)
                | DirectorCommand::EditCues(_)
                | DirectorCommand::SaveShow
                | DirectorCommand::LoadShow(_)
                | DirectorCommand::OnAir(_)
                | DirectorCommand::MicOnAir(_)
                | DirectorCommand::SaveShot { .. }
                | DirectorCommand::DeleteShot(_)
        )
    }

    /// Commands that drive the clock itself are not replayed when cues are re-applied.
    fn is_transport(&self) -> bool {
        matches!(
            self,
            DirectorCommand::Play
                | DirectorCommand::Pause
                | DirectorCommand::TogglePlay
                | DirectorCommand::Seek(_)
                | DirectorCommand::StartRecording
                | DirectorCommand::StopRecording
                // Effects are moments: a seek does not fire them again.
                | DirectorCommand::TriggerEffect { .. }
                | DirectorCommand::StopEffect { .. }
                // Loading an avatar is not repeated on every seek.
                | DirectorCommand::SwitchPerformer(_)
                // Calibration captures a moment of the live camera.
                | DirectorCommand::CalibrateTracking(_)
                // Going on air is the operator's, never undone by a seek.
                | DirectorCommand::OnAir(_)
                | DirectorCommand::MicOnAir(_)
                // The cue list and the show file are the operator's.
                | DirectorCommand::Go
                | DirectorCommand::Back
                | DirectorCommand::Standby(_)
                | DirectorCommand::FireCue(_)
                | DirectorCommand::Panic
                | DirectorCommand::EditCues(_)
                | DirectorCommand::SaveShow
                | DirectorCommand::LoadShow(_)
                | DirectorCommand::SaveShot { .. }
                | DirectorCommand::DeleteShot(_)
                // A gesture is a moment.
                | DirectorCommand::Gesture(_)
        ) || matches!(self, DirectorCommand::Emote(e) if e.hold.is_some())
    }
}

/// The loaded show, shared by every module that reads its settings.
#[derive(Resource, Debug, Clone)]
pub struct ActiveShow(pub ShowFile);

/// Where the cue list stands: the clock time it last saw.
#[derive(Resource, Debug, Default)]
pub struct CueCursor {
    last_time: Option<f64>,
}

/// A log of the commands that took effect, newest last (shown in the panel, kept short).
#[derive(Resource, Debug, Default)]
pub struct CommandLog {
    /// Show time and command, oldest first.
    pub entries: Vec<(f64, DirectorCommand)>,
}

const COMMAND_LOG_LEN: usize = 64;

/// A clock step longer than this (seconds) is a jump, not playback: cues are replayed instantly.
const MAX_CUE_STEP: f64 = 0.5;

/// The show clock, the cue list and the command log.
pub fn plugin(app: &mut App) {
    app.add_message::<DirectorCommand>()
        .init_resource::<ShowClock>()
        .init_resource::<CueCursor>()
        .init_resource::<CueRunner>()
        .init_resource::<CommandLog>()
        .add_systems(
            Update,
            (
                apply_transport_commands,
                tick_clock,
                fire_due_cues,
                cuelist::collect_cue_commands,
                cuelist::run_cue_list,
            )
                .chain()
                .in_set(AppSystems::Clock),
        )
        .add_systems(Update, log_commands.in_set(AppSystems::Capture));
}

/// Loads a show into an app: the show resource and a clock sized to it. An external clock
/// (offline render, tests) also makes loads block ([`LoadPolicy::Wait`]), so the frame that asks
/// for an avatar or a clip gets it; a realtime clock loads in the background.
pub fn insert_show(app: &mut App, show: ShowFile, mode: ClockMode, looping: bool) {
    app.insert_resource(match mode {
        ClockMode::Realtime => LoadPolicy::Background,
        ClockMode::External => LoadPolicy::Wait,
    });
    app.insert_resource(ShowClock {
        time: 0.0,
        playing: true,
        duration: show.duration,
        looping,
        mode,
    });
    app.insert_resource(ActiveShow(show));
}

fn apply_transport_commands(
    mut commands: MessageReader<DirectorCommand>,
    mut clock: ResMut<ShowClock>,
) {
    for command in commands.read() {
        match command {
            DirectorCommand::Play => {
                if clock.time >= clock.duration {
                    clock.time = 0.0;
                }
                clock.playing = true;
            }
            DirectorCommand::Pause => clock.playing = false,
            DirectorCommand::TogglePlay => {
                let playing = !clock.playing;
                if playing && clock.time >= clock.duration {
                    clock.time = 0.0;
                }
                clock.playing = playing;
            }
            DirectorCommand::Seek(t) => clock.time = t.clamp(0.0, clock.duration),
            _ => {}
        }
    }
}

fn tick_clock(time: Res<Time>, mut clock: ResMut<ShowClock>) {
    if clock.mode == ClockMode::Realtime {
        clock.advance(time.delta_secs_f64());
    }
}

fn fire_due_cues(
    show: Option<Res<ActiveShow>>,
    clock: Res<ShowClock>,
    mut cursor: ResMut<CueCursor>,
    mut out: MessageWriter<DirectorCommand>,
) {
    let Some(show) = show else { return };
    let now = clock.time;
    match cursor.last_time {
        Some(last) if now >= last && now - last <= MAX_CUE_STEP => {
            for cue in show
                .0
                .cues
                .iter()
                .filter(|c| c.at.is_some_and(|at| at > last && at <= now))
            {
                out.write(cue.command.clone());
            }
        }
        _ => {
            // First frame, or the clock jumped (seek, loop, restart): reset the stage and replay
            // the cue list up to now, instantly.
            out.write(DirectorCommand::ResetStage);
            for cue in show
                .0
                .cues
                .iter()
                .filter(|c| c.at.is_some_and(|at| at <= now) && !c.command.is_transport())
            {
                out.write(cue.command.instant());
            }
        }
    }
    cursor.last_time = Some(now);
}

fn log_commands(
    mut commands: MessageReader<DirectorCommand>,
    clock: Res<ShowClock>,
    mut log: ResMut<CommandLog>,
) {
    for command in commands.read() {
        log.entries.push((clock.time, command.clone()));
    }
    let excess = log.entries.len().saturating_sub(COMMAND_LOG_LEN);
    log.entries.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_holds_at_the_end_unless_looping() {
        let mut clock = ShowClock {
            duration: 2.0,
            ..default()
        };
        clock.advance(1.5);
        assert!((clock.time - 1.5).abs() < 1e-12);
        clock.advance(1.0);
        assert_eq!(clock.time, 2.0);
        assert!(!clock.playing);

        clock.looping = true;
        clock.playing = true;
        clock.time = 1.5;
        clock.advance(1.0);
        assert!((clock.time - 0.5).abs() < 1e-12);
        assert!(clock.playing);
    }

    /// The show plugin in a bare app, on an externally driven clock.
    fn transport_app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, crate::configure_phases, plugin));
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
            std::time::Duration::from_millis(100),
        ));
        let show = ShowFile {
            duration: 10.0,
            ..default()
        };
        insert_show(&mut app, show, ClockMode::External, false);
        app
    }

    #[test]
    fn transport_commands_drive_a_realtime_clock() {
        let mut app = transport_app();
        app.world_mut().resource_mut::<ShowClock>().mode = ClockMode::Realtime;
        app.update();
        app.update();
        let t = app.world().resource::<ShowClock>().time;
        assert!(t > 0.05, "the clock runs: {t}");
        app.world_mut().write_message(DirectorCommand::Pause);
        app.update();
        let paused = app.world().resource::<ShowClock>().time;
        app.update();
        app.update();
        assert_eq!(app.world().resource::<ShowClock>().time, paused);
        app.world_mut().write_message(DirectorCommand::Seek(7.5));
        app.update();
        assert_eq!(app.world().resource::<ShowClock>().time, 7.5);
        app.world_mut().write_message(DirectorCommand::TogglePlay);
        app.update();
        app.update();
        assert!(app.world().resource::<ShowClock>().time > 7.5);
    }

    #[test]
    fn paused_clock_does_not_move() {
        let mut clock = ShowClock {
            playing: false,
            ..default()
        };
        clock.advance(1.0);
        assert_eq!(clock.time, 0.0);
    }
}
