#![warn(missing_docs)]
//! Costume and hair physics with rapier: the part of Ling Stage that makes what the performer
//! wears move with her.
//!
//! Rapier steps in the fixed schedule at 60 Hz with a fixed time step, so a take simulates the
//! same way live and offline, and the same input gives the same result. The stage floor is a
//! static collider. [`plugin`] adds all of it to an app; it reads the performer's pose
//! (`ling_core::signals::HumanoidPose`) and the physics settings, and tells the performer
//! crate that the costume is simulated (`ling_performer::SimulatedCostume`).
//!
//! **Chains** ([`chains`]) — plumes, tassels, hair — are spring-bone chains with VRM
//! semantics (stiffness towards the rest bend, drag, gravity, body spheres), stepped in the
//! same fixed schedule; their root follows a bone of the performer. Ling's two pheasant-feather
//! plumes are chains, drawn as tapered tubes rebuilt every frame.
//!
//! **Spring bones** (the crate's `springs` module, not public) — an avatar's own hair, skirts
//! and ribbons, rigged by its author with VRM spring-bone data — follow the same VRM update on
//! the avatar's nodes, against the avatar's collider spheres and capsules.
//!
//! **Cloth** ([`cloth`]) — the water sleeves, the back flags and the door curtains — are
//! particle grids linked by rope joints and bending springs in a rapier world of their own,
//! pinned to a bone or a set piece, colliding with kinematic capsules that follow the
//! performer's body. A set piece hangs as cloth when it carries a [`cloth::ClothPanel`].
//!
//! The [`prelude`] has the types most users need.

use bevy::prelude::*;
use bevy_rapier3d::prelude::*;

pub mod chains;
pub mod cloth;
mod springs;

pub use chains::{ChainSpec, ChainState, Sphere};

/// The types most users of the crate need: cloth on set pieces and in a world of its own, and
/// spring-bone chains.
pub mod prelude {
    pub use crate::chains::{ChainSpec, ChainState, Sphere};
    pub use crate::cloth::{ClothAnchor, ClothGroup, ClothPanel, ClothSpec, CostumeWorld};
}

/// Physics steps per second.
const PHYSICS_HZ: f64 = 60.0;

/// Costume physics: rapier in the fixed 60 Hz schedule, the stage floor, chains, spring bones
/// and cloth.
pub fn plugin(app: &mut App) {
    app.insert_resource(Time::<Fixed>::from_hz(PHYSICS_HZ))
        .insert_resource(TimestepMode::Fixed {
            dt: (1.0 / PHYSICS_HZ) as f32,
            substeps: 2,
        })
        .add_plugins(RapierPhysicsPlugin::<NoUserData>::default().in_fixed_schedule())
        .add_plugins(chains::plugin)
        .add_plugins(cloth::plugin)
        .add_plugins(springs::plugin)
        .add_systems(Startup, spawn_stage_floor);
}

fn spawn_stage_floor(mut commands: Commands) {
    commands.spawn((
        Name::new("stage floor collider"),
        Collider::cuboid(4.6, 0.5, 3.4),
        Transform::from_xyz(0.0, -0.5, 0.0),
    ));
}
