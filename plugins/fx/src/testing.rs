//! A headless stage for testing an effect: no window, no renderer; a show clock you advance by
//! hand and stage anchors you choose.
//!
//! ```
//! use bevy::prelude::*;
//! use ling_stage_fx::testing::Harness;
//!
//! let mut stage = Harness::new();
//! stage.advance(1.0);
//! assert_eq!(stage.time(), 1.0);
//! assert!(stage.fire("nothing", &[]).is_err(), "unknown effects are refused");
//! ```

use bevy::prelude::*;

use crate::{
    EffectCommand, EffectInstance, EffectParams, EffectRegistry, FxPlugin, ParamValue,
    StageAnchors, StageTime,
};

/// Frames per second [`Harness::advance`] steps at.
pub const FPS: f64 = 30.0;

/// A Bevy app with the effect runtime, a clock and a typical stage: the follow spot above the
/// centre of the stage, six lanterns, a performer standing at the centre.
pub struct Harness {
    /// The app, for anything the harness does not wrap.
    pub app: App,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A harness with the typical stage, at show time 0.
    pub fn new() -> Self {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, FxPlugin));
        app.insert_resource(Self::typical_stage());
        app.finish();
        app.cleanup();
        Self { app }
    }

    /// With an effect plugin added.
    pub fn with(plugin: impl Plugin) -> Self {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, FxPlugin, plugin));
        app.insert_resource(Self::typical_stage());
        app.finish();
        app.cleanup();
        Self { app }
    }

    /// The anchors of Ling Stage's opera stage with the performer at its centre.
    pub fn typical_stage() -> StageAnchors {
        StageAnchors {
            follow_spot: Some((Vec3::new(0.0, 6.5, 5.0), Vec3::ZERO)),
            follow_spot_angle: 0.25,
            lanterns: [-3.0f32, -1.0, 1.0, 3.0, -2.0, 2.0]
                .iter()
                .enumerate()
                .map(|(i, x)| Vec3::new(*x, 3.6 + 0.2 * (i / 4) as f32, -1.5))
                .collect(),
            head: Some(Transform::from_xyz(0.0, 1.55, 0.0)),
            hands: [
                Some(Vec3::new(0.45, 1.1, 0.1)),
                Some(Vec3::new(-0.45, 1.1, 0.1)),
            ],
        }
    }

    /// The stage anchors, to move the performer or the spot.
    pub fn anchors_mut(&mut self) -> Mut<'_, StageAnchors> {
        self.app.world_mut().resource_mut::<StageAnchors>()
    }

    /// Show time now.
    pub fn time(&self) -> f64 {
        self.app.world().resource::<StageTime>().now
    }

    /// Fires `name` with `params` and runs one frame; the error is the registry's.
    pub fn fire(&mut self, name: &str, params: &[(&str, ParamValue)]) -> Result<(), String> {
        let params: EffectParams = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.app
            .world()
            .resource::<EffectRegistry>()
            .check(name, &params)?;
        self.app.world_mut().write_message(EffectCommand::Fire {
            name: name.to_string(),
            params,
        });
        self.app.update();
        Ok(())
    }

    /// Stops every instance of the effect `name` (takes effect on the next frame).
    pub fn stop(&mut self, name: &str) {
        self.app.world_mut().write_message(EffectCommand::Stop {
            name: name.to_string(),
        });
        self.app.update();
    }

    /// Moves the show clock on by `seconds`, one frame at a time.
    pub fn advance(&mut self, seconds: f64) {
        let frames = (seconds * FPS).round() as u32;
        let start = self.time();
        for k in 1..=frames {
            // From the start each time, so the clock does not drift by rounding.
            self.app.world_mut().resource_mut::<StageTime>().now = start + k as f64 / FPS;
            self.app.update();
        }
    }

    /// Jumps the show clock to `t` (as a seek does) and runs one frame.
    pub fn seek(&mut self, t: f64) {
        self.app.world_mut().resource_mut::<StageTime>().now = t;
        self.app.update();
    }

    /// How many entities have component `C`.
    pub fn count<C: Component>(&mut self) -> usize {
        let world = self.app.world_mut();
        world.query::<&C>().iter(world).count()
    }

    /// Running instances of the effect named `name`.
    pub fn running(&mut self, name: &str) -> usize {
        let world = self.app.world_mut();
        world
            .query::<&EffectInstance>()
            .iter(world)
            .filter(|i| i.name == name)
            .count()
    }

    /// World positions of every entity with component `C` (children of an instance are
    /// placed relative to it).
    pub fn positions<C: Component>(&mut self) -> Vec<Vec3> {
        let world = self.app.world_mut();
        let mut out = Vec::new();
        let mut query = world.query::<(Entity, &C)>();
        let entities: Vec<Entity> = query.iter(world).map(|(e, _)| e).collect();
        for entity in entities {
            let mut transform = world.get::<Transform>(entity).copied().unwrap_or_default();
            let mut at = entity;
            while let Some(parent) = world.get::<ChildOf>(at).map(|c| c.parent()) {
                if let Some(t) = world.get::<Transform>(parent) {
                    transform = t.mul_transform(transform);
                }
                at = parent;
            }
            out.push(transform.translation);
        }
        out
    }

    /// The app's world.
    pub fn world(&mut self) -> &mut World {
        self.app.world_mut()
    }
}
