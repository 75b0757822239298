//! Canonical signals, independent of any avatar: a humanoid pose (local rotations of the VRM
//! humanoid bone set and the hips' translation), expression weights (the 52 ARKit blendshapes
//! and the five visemes) and the [`Performer`] they are written on. Sources write them; only
//! the performer's solver (`ling-performer`) puts them on an avatar.

use bevy::prelude::*;

mod expressions;
mod humanoid;

pub use expressions::{ARKIT_NAMES, ExpressionWeights, Viseme};
pub use humanoid::{HumanBone, HumanoidPose, REQUIRED_BONES, leg_length, rest_alignment};

/// A performer on stage. `bones[i]` is the entity of `HumanBone::ALL[i]`.
#[derive(Component, Debug)]
pub struct Performer {
    /// Shown in the panel.
    pub name: String,
    /// The skeleton's joints, by bone; empty for avatars, whose rig maps bones to their own nodes.
    pub bones: Vec<Entity>,
}

/// Where a performer stands on the stage floor: under her hips, wherever the motion took them.
pub fn stage_position(root: &Transform, pose: &HumanoidPose) -> Vec3 {
    root.transform_point(Vec3::new(pose.hips.x, 0.0, pose.hips.z))
}
