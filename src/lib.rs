//! Ling Stage: a virtual idol on an opera stage.
//!
//! Everything is a signal on a clock. Sources (mocap clips, VMC, cameras, microphones) write
//! canonical signals (a humanoid pose, expression weights); the performer module solves them onto
//! an avatar; the stage renders the result; the director issues [`show::DirectorCommand`]
//! messages that the panel, hotkeys and the show file's cue list all share. Live and offline are
//! the same program with a different clock ([`show::ClockMode`]).
//!
//! Each concern is one Bevy plugin in its own module; [`LingStagePlugins`] assembles them. The
//! frame is split into the phases of [`AppSystems`], configured once here.

use bevy::app::PluginGroupBuilder;
use bevy::prelude::*;

pub mod audio;
pub mod background;
pub mod director;
pub mod doctor;
pub mod effects;
pub mod mocap;
pub mod performer;
pub mod physics;
pub mod show;
pub mod stage;
pub mod tracking;

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

/// Configures the frame phases. Added by [`LingStagePlugins`]; exposed for tests that add
/// single module plugins to a bare `App`.
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
    );
}

/// All of Ling Stage's simulation plugins, without windowing or rendering choices (those are
/// made by [`show::live`] and [`show::render`]). The director panel is added only by the live
/// runner, since it needs a window.
pub struct LingStagePlugins;

impl PluginGroup for LingStagePlugins {
    fn build(self) -> PluginGroupBuilder {
        PluginGroupBuilder::start::<Self>()
            .add(configure_phases)
            .add(show::plugin)
            .add(mocap::plugin)
            .add(performer::plugin)
            .add(tracking::plugin)
            .add(audio::plugin)
            .add(physics::plugin)
            .add(stage::plugin)
            .add(effects::plugin)
    }
}

/// The types most users of the library need.
pub mod prelude {
    pub use crate::effects::{
        EffectInstance, EffectParams, EffectRegistry, FxSystems, ParamValue, RegisterStageEffect,
        StageAnchors, StageEffect, StageTime,
    };
    pub use crate::performer::{ExpressionWeights, HumanBone, HumanoidPose, Performer};
    pub use crate::show::{ClockMode, DirectorCommand, ShowClock, ShowFile};
    pub use crate::stage::{CameraShot, LightLook};
    pub use crate::{AppSystems, LingStagePlugins};
}
