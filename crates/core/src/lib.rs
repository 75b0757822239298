#![warn(missing_docs)]
//! The bottom of Ling Stage: the vocabulary every other crate speaks.
//!
//! Everything is a signal on a clock. This crate holds the clock ([`show::ShowClock`]) and the
//! phases of a frame ([`AppSystems`]), the director's commands ([`show::DirectorCommand`]) and
//! the show files that script them ([`show::ShowFile`]), the canonical signals sources write and
//! the performer's solver reads ([`signals`]), the payloads commands carry ([`looks`],
//! [`settings`]), the load policy ([`background`]) and the check every network listener makes
//! before it binds ([`net`]). It depends on no other Ling Stage crate
//! except the effect-plugin API (`ling-stage-fx`), whose parameter type commands carry.
//!
//! The crates above it follow the data flow: sources (`ling-mocap`, `ling-tracking`,
//! `ling-audio`) → the performer's solve (`ling-performer`) → costume physics (`ling-physics`)
//! → the stage (`ling-set`) → the director's console (`ling-director`) → the app (`ling-stage`:
//! the command line and the live, render, record and bench runners).

use std::path::PathBuf;

use bevy::prelude::*;

pub mod background;
pub mod looks;
pub mod net;
pub mod settings;
pub mod show;
pub mod signals;

/// The phases of one frame, in order. Modules put their systems into a phase instead of
/// relying on registration order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppSystems {
    /// Advance the show clock and fire due cues.
    Clock,
    /// Drain sources (clip players, network receivers, trackers) into canonical signals.
    Ingest,
    /// Combine signals from several sources (priority, crossfade, smoothing).
    Blend,
    /// Solve canonical signals onto the avatar: bones, morph weights, gaze.
    Solve,
    /// Costume and hair physics.
    Physics,
    /// Stage reacts: cameras, lights, effects.
    Stage,
    /// Record and capture what the frame produced.
    Capture,
}

/// The systems that drive the mouth from sound, inside [`AppSystems::Blend`]. Camera tracking
/// runs after them and takes its share of the mouth.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LipSync;

/// The director's live reactions, last inside [`AppSystems::Blend`]: emotes and gestures are
/// layered over what the motion, lip sync, tracking and VMC wrote, so they win for the shapes
/// and bones they set. Sources that blend into the signals run before this set.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reactions;

/// Configures the frame phases. Added by [`plugin`]; exposed for tests that add single
/// plugins to a bare `App`.
pub fn configure_phases(app: &mut App) {
    app.configure_sets(
        Update,
        (
            AppSystems::Clock,
            AppSystems::Ingest,
            AppSystems::Blend,
            AppSystems::Solve,
            AppSystems::Physics,
            AppSystems::Stage,
            AppSystems::Capture,
        )
            .chain(),
    )
    .configure_sets(Update, Reactions.in_set(AppSystems::Blend).after(LipSync));
}

/// The core of a show: the frame phases, the show clock, the cue list and the command log.
pub fn plugin(app: &mut App) {
    app.add_plugins((configure_phases, show::plugin));
}

/// Where the project's set-up script installs its downloads (`$LING_CACHE`, else
/// `~/.cache/ling-stage`).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("LING_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ling-stage")))
        .unwrap_or_else(|| PathBuf::from(".cache/ling-stage"))
}

/// The types most crates above this one need.
pub mod prelude {
    pub use crate::background::{Background, LoadPolicy};
    pub use crate::looks::{CameraShot, FixedShot, LightLook, ShotRef};
    pub use crate::settings::{Calibrate, PhysicsSettings, TrackingTuning};
    pub use crate::show::{
        ActiveShow, ClockMode, CommandLog, DirectorCommand, ShowClock, ShowFile, insert_show,
    };
    pub use crate::signals::{ExpressionWeights, HumanBone, HumanoidPose, Performer, Viseme};
    pub use crate::{AppSystems, LipSync, Reactions};
}
