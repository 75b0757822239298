#![warn(missing_docs)]
//! Ling Stage: a virtual idol on an opera stage — the app at the top of the crate graph.
//!
//! Everything is a signal on a clock. Sources (mocap clips, VMC, cameras, microphones) write
//! canonical signals (a humanoid pose, expression weights); the performer's solver puts them on
//! an avatar; costume physics follows her; the stage renders the result; the director issues
//! [`show::DirectorCommand`] messages that the panel, hotkeys and the show file's cue list all
//! share. Live and offline are the same program with a different clock ([`show::ClockMode`]).
//!
//! Each layer is a crate of its own in `crates/`, and no crate imports one above it:
//!
//! ```text
//! ling-stage-fx (effect-plugin API)
//!   └─ ling-core (clock, phases, commands, show files, signals)
//!        ├─ ling-mocap, ling-audio, ling-tracking (sources)
//!        ├─ ling-performer (avatars, solve)        ← ling-mocap
//!        ├─ ling-physics (costume physics)        ← ling-performer
//!        ├─ ling-set (the opera stage, effects)   ← ling-audio, ling-physics
//!        ├─ ling-director (the egui console)      ← all of the above
//!        └─ ling-stage (this crate: CLI, live, render, record, bench, doctor)
//! ```
//!
//! This crate assembles them into [`LingStagePlugins`], adds the stock effects from `plugins/`,
//! and holds the runners. It re-exports each layer under a short name (`ling_stage::mocap` is
//! `ling_mocap`) so a user of the library needs one dependency.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bevy::app::PluginGroupBuilder;
use bevy::prelude::*;
use ling_stage_fx::{EffectRegistry, FxPlugin};

pub mod broadcast;
pub mod doctor;
pub mod live;
pub mod record;
pub mod render;

pub use ling_audio as audio;
pub use ling_broadcast as output;
pub use ling_core::{AppSystems, background, looks, settings, show, signals};
pub use ling_director as director;
pub use ling_mocap as mocap;
pub use ling_performer as performer;
pub use ling_physics as physics;
pub use ling_remote as remote;
pub use ling_set as stage;
pub use ling_stage_fx as effects;
pub use ling_tracking as tracking;

/// All of Ling Stage's simulation plugins and the stock effects, without windowing or rendering
/// choices (those are made by [`live`] and [`render`]). The director panel is added only by
/// the live runner, since it needs a window.
pub struct LingStagePlugins;

impl PluginGroup for LingStagePlugins {
    fn build(self) -> PluginGroupBuilder {
        PluginGroupBuilder::start::<Self>()
            .add(ling_core::plugin)
            .add(ling_mocap::plugin)
            .add(ling_performer::plugin)
            .add(ling_tracking::plugin)
            .add(ling_audio::plugin)
            .add(ling_physics::plugin)
            .add(ling_set::plugin)
            .add(ling_set::effects::plugin)
            .add(builtin_effects)
    }
}

/// The effects the stock stage ships with, each a crate in `plugins/`.
pub fn builtin_effects(app: &mut App) {
    app.add_plugins((
        ling_fx_petal_rain::PetalRainPlugin,
        ling_fx_lantern_burst::LanternBurstPlugin,
        ling_fx_face_change::FaceChangePlugin,
    ));
}

/// The registry of the stock effects, for checking show files before an app exists.
pub fn catalog() -> &'static EffectRegistry {
    static CATALOG: OnceLock<EffectRegistry> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut app = App::new();
        app.add_plugins(FxPlugin);
        builtin_effects(&mut app);
        app.world_mut()
            .remove_resource::<EffectRegistry>()
            .unwrap_or_default()
    })
}

/// Loads a show file, or a take folder as the show that replays it; `motion` replaces its
/// motion with a BVH file (looping, at normal speed). Effect cues are checked by the runner
/// against the effects its app registered ([`show::ShowFile::check_effects`]).
pub fn load_show(path: &Path, motion: Option<PathBuf>) -> anyhow::Result<show::ShowFile> {
    let mut show = if ling_mocap::take::Take::is_take(path) {
        ling_mocap::take::Take::load(path)?.as_show()?
    } else {
        show::ShowFile::load(path)?
    };
    if let Some(bvh) = motion {
        let absolute = std::env::current_dir().map(|d| d.join(&bvh)).unwrap_or(bvh);
        show.motion = show::MotionSpec::Bvh {
            path: absolute,
            speed: 1.0,
            looping: true,
            bone_map: None,
        };
    }
    Ok(show)
}

/// Checks the effects `show` fires against those `app` registered (the stock ones and any
/// third-party plugin added to it); the error names the show file and the line.
pub fn check_show_effects(app: &App, show: &show::ShowFile) -> Result<(), show::ShowError> {
    match app.world().get_resource::<EffectRegistry>() {
        Some(registry) => show.check_effects(registry),
        None => show.check_effects(&EffectRegistry::default()),
    }
}

/// The types most users of the library need.
pub mod prelude {
    pub use crate::LingStagePlugins;
    pub use ling_core::prelude::*;
    pub use ling_stage_fx::prelude::*;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::{DirectorCommand, ShowFile};

    const MINIMAL: &str = r#"(
    name: "test",
    duration: 4.0,
    lights: {
        "warm": (key: 1.0),
    },
    cues: [
        (at: 0.0, command: CutTo(shot: Wide)),
        (at: 1.0, command: LightCue(name: "warm", fade: 0.5)),
    ],
)"#;

    fn parse(text: &str) -> Result<ShowFile, show::ShowError> {
        let show = ShowFile::parse(text, Path::new("s.ron"))?;
        show.check_effects(catalog())?;
        Ok(show)
    }

    #[test]
    fn effect_cues_are_checked_against_the_registry_with_their_line() {
        let show = |cues: &str| {
            MINIMAL.replace(
                "        (at: 1.0, command: LightCue(name: \"warm\", fade: 0.5)),",
                cues,
            )
        };
        let good = show(concat!(
            "        (at: 1.0, command: TriggerEffect(name: \"petal_rain\", params: {\"density\": 80.0})),\n",
            "        (at: 2.0, command: StopEffect(name: \"petal_rain\")),",
        ));
        let parsed = parse(&good).unwrap();
        assert!(matches!(
            &parsed.cues[1].command,
            DirectorCommand::TriggerEffect { name, params }
                if name == "petal_rain" && params["density"] == ling_stage_fx::ParamValue::Number(80.0)
        ));
        let unknown = show(concat!(
            "        (at: 1.0, command: TriggerEffect(name: \"petal_rain\")),\n",
            "        (at: 2.0, command: TriggerEffect(name: \"fireworks\")),",
        ));
        let err = parse(&unknown).unwrap_err().to_string();
        assert!(
            err.starts_with("s.ron:10:") && err.contains("no effect named \"fireworks\""),
            "{err}"
        );
        assert!(err.contains("lantern_burst"), "lists what exists: {err}");
        let bad_param = show(
            "        (at: 1.0, command: TriggerEffect(name: \"face_change\", params: {\"mask\": 3.0})),",
        );
        let err = parse(&bad_param).unwrap_err().to_string();
        assert!(
            err.starts_with("s.ron:9:") && err.contains("\"mask\"") && err.contains("a string"),
            "{err}"
        );
    }

    #[test]
    fn the_stock_effects_are_registered_with_their_parameters() {
        let names: Vec<&str> = catalog().iter().map(|e| e.name).collect();
        assert_eq!(names, ["petal_rain", "lantern_burst", "face_change"]);
        let petals = catalog().get("petal_rain").unwrap();
        assert!(petals.defaults.contains_key("density"));
        assert!(!petals.description.is_empty());
    }
}
