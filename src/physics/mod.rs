//! Costume and hair physics with rapier.
//!
//! Rapier runs in the fixed schedule (60 Hz) so a take simulates the same way live and
//! offline. The stage floor is a static collider; costume chains and cloth attach here.

use bevy::prelude::*;
use bevy_rapier3d::prelude::*;

/// Physics steps per second.
pub const PHYSICS_HZ: f64 = 60.0;

pub fn plugin(app: &mut App) {
    app.insert_resource(Time::<Fixed>::from_hz(PHYSICS_HZ))
        .add_plugins(RapierPhysicsPlugin::<NoUserData>::default().in_fixed_schedule())
        .add_systems(Startup, spawn_stage_floor);
}

fn spawn_stage_floor(mut commands: Commands) {
    commands.spawn((
        Name::new("stage floor collider"),
        Collider::cuboid(4.6, 0.5, 3.4),
        Transform::from_xyz(0.0, -0.5, 0.0),
    ));
}
