#![warn(missing_docs)]
//! The stage-effect API of Ling Stage.
//!
//! A stage effect is a Bevy plugin that registers itself with one call,
//! [`RegisterStageEffect::register_stage_effect`], naming a parameter type: a `Reflect` +
//! `Default` struct that is also the component of each running instance. Show files, the
//! director panel and recordings fire effects by name with parameters ([`EffectParams`]);
//! this crate checks the names and the parameters against the registry, spawns an entity with
//! [`EffectInstance`] and the parameters when an effect fires, and despawns it (with its
//! children) when its lifetime is over, when it is stopped, or when the show jumps back before
//! it started. The effect's own systems animate what it spawned from the instance's age on the
//! show clock ([`StageTime`]), so offline renders repeat exactly.
//!
//! The host (Ling Stage) fills [`StageTime`] and [`StageAnchors`] (where the follow spot, the
//! lanterns and the performer's head and hands are) every frame and runs the [`FxSystems`]
//! sets in its stage phase. [`testing::Harness`] does the same for a plugin's own tests.
//!
//! ```
//! use bevy::prelude::*;
//! use ling_stage_fx::prelude::*;
//!
//! /// A flash of light on the follow spot's target.
//! #[derive(Component, Reflect, Clone)]
//! struct Flash {
//!     seconds: f32,
//!     brightness: f32,
//! }
//!
//! impl Default for Flash {
//!     fn default() -> Self {
//!         Self { seconds: 0.5, brightness: 4.0 }
//!     }
//! }
//!
//! impl StageEffect for Flash {
//!     const NAME: &'static str = "flash";
//!     const DESCRIPTION: &'static str = "A flash of light on the performer.";
//!     fn lifetime(&self) -> Option<f32> {
//!         Some(self.seconds)
//!     }
//! }
//!
//! let mut app = App::new();
//! app.add_plugins(FxPlugin).register_stage_effect::<Flash>();
//! let registry = app.world().resource::<EffectRegistry>();
//! assert!(registry.check("flash", &EffectParams::from([("brightness".into(), 2.0.into())])).is_ok());
//! assert!(registry.check("flash", &EffectParams::from([("brightnes".into(), 2.0.into())])).is_err());
//! ```

use bevy::prelude::*;

/// Effect parameters by name: read and written through `Reflect`.
pub mod params;
/// A headless stage for testing effects without the app.
pub mod testing;

pub use params::{EffectParams, ParamValue};

/// The names an effect author needs.
pub mod prelude {
    pub use crate::params::{EffectParams, ParamValue};
    pub use crate::{
        EffectCommand, EffectInstance, EffectRegistry, FxPlugin, FxSystems, RegisterStageEffect,
        StageAnchors, StageEffect, StageTime,
    };
}

/// An effect's parameters, which are also the component of each running instance.
///
/// Fields of type `f32`, `f64`, `u32`, `usize`, `i32`, `bool`, `String`, `Vec3` and `Color`
/// can be set from show files and the panel; others keep their defaults.
pub trait StageEffect: Component + Reflect + Default + Clone {
    /// The name show files and the panel use (snake_case by convention).
    const NAME: &'static str;
    /// One line for the panel and `ling-stage effects`.
    const DESCRIPTION: &'static str;
    /// Seconds the effect lives once fired with these parameters; `None`: until stopped.
    fn lifetime(&self) -> Option<f32>;
}

/// Show time in seconds, set by the host every frame (effects animate from it, never from the
/// wall clock).
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct StageTime {
    /// Seconds from the start of the show.
    pub now: f64,
}

/// Where things are on stage this frame, for effects to aim at. Filled by the host.
#[derive(Resource, Debug, Clone, Default)]
pub struct StageAnchors {
    /// The follow spot's position and the point it lights (the performer's feet).
    pub follow_spot: Option<(Vec3, Vec3)>,
    /// Half-angle of the follow spot's cone, radians.
    pub follow_spot_angle: f32,
    /// The palace lanterns' centres.
    pub lanterns: Vec<Vec3>,
    /// The performer's head: the joint, turned as the head is (+Z is where the face looks).
    pub head: Option<Transform>,
    /// The performer's wrists: left, right.
    pub hands: [Option<Vec3>; 2],
}

/// A running effect. Despawned (with its children) when its time is up, when it is stopped,
/// or when the show jumps back before it started.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct EffectInstance {
    /// The effect's [`StageEffect::NAME`].
    pub name: &'static str,
    /// Show time it was fired at.
    pub started_at: f64,
    /// Show time it ends at; `None`: when stopped.
    pub ends_at: Option<f64>,
}

impl EffectInstance {
    /// Seconds since it was fired.
    pub fn age(&self, time: &StageTime) -> f32 {
        (time.now - self.started_at) as f32
    }
}

/// Fire or stop effects (the host turns its director commands into these).
#[derive(Message, Debug, Clone, PartialEq)]
pub enum EffectCommand {
    /// Start an instance of an effect.
    Fire {
        /// The effect's registered name.
        name: String,
        /// Its parameters; unset ones keep their defaults.
        params: EffectParams,
    },
    /// Stop every running instance of an effect.
    Stop {
        /// The effect's registered name.
        name: String,
    },
    /// Stop every running effect (a stage reset).
    StopAll,
}

/// One registered effect.
pub struct EffectEntry {
    /// The name show files and the panel use.
    pub name: &'static str,
    /// One line for the panel.
    pub description: &'static str,
    /// Every settable parameter with its default value.
    pub defaults: EffectParams,
    check: fn(&EffectParams) -> Result<(), String>,
    spawn: fn(&mut Commands, &EffectParams, f64) -> Result<Entity, String>,
}

/// Every effect registered with the app, in registration order.
#[derive(Resource, Default)]
pub struct EffectRegistry {
    entries: Vec<EffectEntry>,
}

impl EffectRegistry {
    /// The effects, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &EffectEntry> {
        self.entries.iter()
    }

    /// The effect registered as `name`.
    pub fn get(&self, name: &str) -> Option<&EffectEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Whether `name` is registered and `params` fit it; the message says what is wrong.
    pub fn check(&self, name: &str, params: &EffectParams) -> Result<(), String> {
        let entry = self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.entries.iter().map(|e| e.name).collect();
            format!(
                "no effect named \"{name}\" (registered: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        })?;
        (entry.check)(params).map_err(|e| format!("effect \"{name}\": {e}"))
    }

    /// Spawns an instance of `name` with `params` at show time `now`.
    pub fn spawn(
        &self,
        commands: &mut Commands,
        name: &str,
        params: &EffectParams,
        now: f64,
    ) -> Result<Entity, String> {
        self.check(name, params)?;
        let entry = self.get(name).expect("checked above");
        (entry.spawn)(commands, params, now)
    }
}

fn check_params<E: StageEffect>(params: &EffectParams) -> Result<(), String> {
    let mut effect = E::default();
    params::apply(&mut effect, params)
}

fn spawn_effect<E: StageEffect>(
    commands: &mut Commands,
    params: &EffectParams,
    now: f64,
) -> Result<Entity, String> {
    let mut effect = E::default();
    params::apply(&mut effect, params)?;
    let instance = EffectInstance {
        name: E::NAME,
        started_at: now,
        ends_at: effect.lifetime().map(|s| now + s as f64),
    };
    Ok(commands
        .spawn((
            Name::new(format!("effect {}", E::NAME)),
            instance,
            effect,
            Transform::default(),
            Visibility::default(),
        ))
        .id())
}

/// Registering an effect: one call on the app.
pub trait RegisterStageEffect {
    /// Makes `E` known by [`StageEffect::NAME`] to show files, the panel and recordings.
    fn register_stage_effect<E: StageEffect>(&mut self) -> &mut Self;
}

impl RegisterStageEffect for App {
    fn register_stage_effect<E: StageEffect>(&mut self) -> &mut Self {
        let mut registry = self
            .world_mut()
            .get_resource_or_insert_with(EffectRegistry::default);
        assert!(
            registry.get(E::NAME).is_none(),
            "two stage effects are named \"{}\"",
            E::NAME
        );
        registry.entries.push(EffectEntry {
            name: E::NAME,
            description: E::DESCRIPTION,
            defaults: params::to_params(&E::default()),
            check: check_params::<E>,
            spawn: spawn_effect::<E>,
        });
        self
    }
}

/// The order of effect systems in a frame: commands first, then the effects animate.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FxSystems {
    /// Fire, stop and expire instances.
    Control,
    /// Effects spawn and move what they show (add your systems here).
    Animate,
}

/// Why the last effect command failed (the panel shows it).
#[derive(Resource, Debug, Clone, Default)]
pub struct EffectStatus {
    /// The error, until the next command succeeds.
    pub last_error: Option<String>,
}

/// The effect runtime: registry, commands, lifetimes. Add it once, before registering effects.
pub struct FxPlugin;

impl Plugin for FxPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<EffectRegistry>()
            .init_resource::<StageTime>()
            .init_resource::<StageAnchors>()
            .init_resource::<EffectStatus>()
            .add_message::<EffectCommand>()
            .configure_sets(Update, (FxSystems::Control, FxSystems::Animate).chain())
            .add_systems(
                Update,
                (run_effect_commands, expire_effects)
                    .chain()
                    .in_set(FxSystems::Control),
            );
    }

    fn finish(&self, app: &mut App) {
        // Effects spawn meshes and materials; a headless host (recording without a window)
        // may have no asset storage for them, so give it some.
        let world = app.world_mut();
        if !world.contains_resource::<Assets<Mesh>>() {
            world.insert_resource(Assets::<Mesh>::default());
        }
        if !world.contains_resource::<Assets<StandardMaterial>>() {
            world.insert_resource(Assets::<StandardMaterial>::default());
        }
        if !world.contains_resource::<Assets<Image>>() {
            world.insert_resource(Assets::<Image>::default());
        }
    }
}

fn run_effect_commands(
    mut commands: Commands,
    mut messages: MessageReader<EffectCommand>,
    registry: Res<EffectRegistry>,
    time: Res<StageTime>,
    mut status: ResMut<EffectStatus>,
    instances: Query<(Entity, &EffectInstance)>,
) {
    for message in messages.read() {
        match message {
            EffectCommand::Fire { name, params } => {
                if let Err(e) = registry.spawn(&mut commands, name, params, time.now) {
                    bevy::log::warn!("{e}");
                    status.last_error = Some(e);
                }
            }
            EffectCommand::Stop { name } => {
                for (entity, instance) in &instances {
                    if instance.name == name {
                        commands.entity(entity).despawn();
                    }
                }
            }
            EffectCommand::StopAll => {
                for (entity, _) in &instances {
                    commands.entity(entity).despawn();
                }
            }
        }
    }
}

fn expire_effects(
    mut commands: Commands,
    time: Res<StageTime>,
    instances: Query<(Entity, &EffectInstance)>,
) {
    for (entity, instance) in &instances {
        let over = instance.ends_at.is_some_and(|end| time.now >= end);
        if over || time.now < instance.started_at {
            commands.entity(entity).despawn();
        }
    }
}

/// A mesh over a grid of `rows × cols` vertices (row-major): two triangles between each four
/// neighbours. Cloth, curtains and masks are grids.
pub fn grid_mesh(
    rows: usize,
    cols: usize,
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    uvs: Vec<[f32; 2]>,
) -> Mesh {
    use bevy::asset::RenderAssetUsages;
    use bevy::mesh::{Indices, PrimitiveTopology};
    let mut indices = Vec::with_capacity(rows.saturating_sub(1) * cols.saturating_sub(1) * 6);
    let w = cols as u32;
    for r in 0..rows.saturating_sub(1) as u32 {
        for c in 0..cols.saturating_sub(1) as u32 {
            let a = r * w + c;
            indices.extend_from_slice(&[a, a + w, a + 1, a + 1, a + w, a + w + 1]);
        }
    }
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
    .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
    .with_inserted_indices(Indices::U32(indices))
}

/// A small deterministic hash of `(seed, index)` to `[0, 1)`: effects scatter particles with it
/// so every render of a show scatters them the same way.
pub fn scatter(seed: u64, index: u64) -> f32 {
    let mut x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 40) as f32 / (1u64 << 24) as f32
}
