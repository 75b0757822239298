#![warn(missing_docs)]
//! Costume and hair physics with rapier.
//!
//! Rapier steps in the fixed schedule at 60 Hz with a fixed time step, so a take simulates the
//! same way live and offline, and the same input gives the same result. The stage floor is a
//! static collider.
//!
//! **Chains** ([`chains`]) — plumes, tassels, hair — are spring-bone chains with VRM
//! semantics (stiffness towards the rest bend, drag, gravity, body spheres), stepped in the
//! same fixed schedule; their root follows a bone of the performer. Ling's two pheasant-feather
//! plumes are chains, drawn as tapered tubes rebuilt every frame.
//!
//! **Spring bones** ([`springs`]) — an avatar's own hair, skirts and ribbons, rigged by its
//! author with VRM spring-bone data — follow the same VRM update on the avatar's nodes,
//! against the avatar's collider spheres and capsules.
//!
//! **Cloth** ([`cloth`]) — the water sleeves and the door curtains — are particle grids linked
//! by rope joints and bending springs in a rapier world of their own, pinned to a bone or a set
//! piece, colliding with kinematic capsules that follow the performer's body.

use bevy::prelude::*;
use bevy_rapier3d::prelude::*;

pub mod chains;
pub mod cloth;
pub mod springs;

pub use chains::{Chain, ChainSpec, ChainState, Sphere};

/// Physics steps per second.
pub const PHYSICS_HZ: f64 = 60.0;

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
