//! Ling's chains: her two pheasant-feather plumes, and the spheres on her body they stay out of.

use bevy::prelude::*;

use ling_core::settings::{ChainGroup, PLUMES};
use ling_core::signals::HumanBone;

use super::state::{ChainSpec, Sphere};

/// The pheasant plumes (翎子) of Ling's headdress, matching `performer::builtin`'s shape.
pub fn ling_plumes() -> Vec<ChainSpec> {
    let head = HumanBone::Head.rest_position();
    [1.0f32, -1.0]
        .into_iter()
        .map(|side| ChainSpec {
            name: format!("{} plume", if side > 0.0 { "left" } else { "right" }),
            group: ChainGroup::Plumes,
            bone: HumanBone::Head,
            points: ling_performer::builtin::plume_path(side, 12)
                .into_iter()
                .map(|p| p - head)
                .collect(),
            radius: (0.011, 0.0025),
            stiffness: PLUMES.stiffness,
            drag: PLUMES.drag,
            gravity: PLUMES.gravity,
            colors: [Color::srgb(0.55, 0.36, 0.16), Color::srgb(0.16, 0.1, 0.05)],
        })
        .collect()
}

/// Spheres on the performer's body that her chains stay out of: head and shoulders for the
/// plumes, torso, hips and the robe's skirt for the sleeves.
pub(super) fn body_spheres(root: &Transform, fk: &[Transform]) -> Vec<Sphere> {
    [
        (HumanBone::Head, Vec3::new(0.0, 0.1, 0.0), 0.12),
        (HumanBone::UpperChest, Vec3::new(0.0, 0.05, 0.0), 0.17),
        (HumanBone::Chest, Vec3::ZERO, 0.17),
        (HumanBone::Hips, Vec3::ZERO, 0.2),
        (HumanBone::LeftUpperArm, Vec3::ZERO, 0.09),
        (HumanBone::RightUpperArm, Vec3::ZERO, 0.09),
        (HumanBone::LeftUpperLeg, Vec3::new(0.0, -0.25, 0.0), 0.2),
        (HumanBone::RightUpperLeg, Vec3::new(0.0, -0.25, 0.0), 0.2),
        (HumanBone::LeftLowerLeg, Vec3::new(0.0, -0.2, 0.0), 0.24),
        (HumanBone::RightLowerLeg, Vec3::new(0.0, -0.2, 0.0), 0.24),
    ]
    .iter()
    .map(|(b, offset, radius)| Sphere {
        center: root.transform_point(fk[b.index()].transform_point(*offset)),
        radius: *radius,
    })
    .collect()
}
