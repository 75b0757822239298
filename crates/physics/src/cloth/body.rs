//! The performer's body for the cloth to collide with: capsules between her bones.

use bevy::prelude::*;

use ling_core::signals::{HumanBone, HumanoidPose};

/// A capsule on the performer's body, from one bone's joint (plus an offset in its frame) to
/// another's.
#[derive(Debug, Clone, Copy)]
pub struct BodyCapsule {
    /// One end: a bone, and an offset from its joint in the bone's frame (metres).
    pub(crate) from: (HumanBone, Vec3),
    /// The other end, the same way.
    pub(crate) to: (HumanBone, Vec3),
    /// Radius, metres.
    pub(crate) radius: f32,
}

impl BodyCapsule {
    /// End points in the world, given the bones' world transforms (indexed by bone).
    pub(crate) fn segment(&self, bones: &[Transform]) -> (Vec3, Vec3) {
        (
            bones[self.from.0.index()].transform_point(self.from.1),
            bones[self.to.0.index()].transform_point(self.to.1),
        )
    }

    /// How deep a ball of `radius` at `p` reaches into the capsule (negative: clear of it).
    #[cfg(test)]
    pub(crate) fn penetration(&self, bones: &[Transform], p: Vec3, radius: f32) -> f32 {
        let (a, b) = self.segment(bones);
        let ab = b - a;
        let t = ((p - a).dot(ab) / ab.length_squared().max(1e-12)).clamp(0.0, 1.0);
        self.radius + radius - p.distance(a + ab * t)
    }
}

/// The built-in performer's body as capsules: torso, robe, head, arms and legs.
pub fn ling_body() -> Vec<BodyCapsule> {
    use HumanBone as B;
    let cap = |from: B, to: B, radius: f32| BodyCapsule {
        from: (from, Vec3::ZERO),
        to: (to, Vec3::ZERO),
        radius,
    };
    let mut body = vec![
        cap(B::Hips, B::UpperChest, 0.15),
        cap(B::UpperChest, B::Neck, 0.12),
        BodyCapsule {
            from: (B::Head, Vec3::new(0.0, 0.04, 0.0)),
            to: (B::Head, Vec3::new(0.0, 0.14, 0.0)),
            radius: 0.1,
        },
    ];
    for (upper_arm, lower_arm, hand, upper_leg, lower_leg, foot) in [
        (
            B::LeftUpperArm,
            B::LeftLowerArm,
            B::LeftHand,
            B::LeftUpperLeg,
            B::LeftLowerLeg,
            B::LeftFoot,
        ),
        (
            B::RightUpperArm,
            B::RightLowerArm,
            B::RightHand,
            B::RightUpperLeg,
            B::RightLowerLeg,
            B::RightFoot,
        ),
    ] {
        body.push(cap(upper_arm, lower_arm, 0.05));
        body.push(cap(lower_arm, hand, 0.04));
        // The robe's skirt around each leg.
        body.push(cap(upper_leg, lower_leg, 0.12));
        body.push(cap(lower_leg, foot, 0.13));
    }
    body
}

/// World transforms of every bone of a performer standing at `root` in `pose`, indexed by
/// [`HumanBone::index`]: what [`CostumeWorld::step`](super::CostumeWorld::step) and
/// [`CostumeWorld::set_body`](super::CostumeWorld::set_body) take as `bones`.
pub fn world_bones(root: &Transform, pose: &HumanoidPose) -> Vec<Transform> {
    pose.model_transforms()
        .iter()
        .map(|t| root.mul_transform(*t))
        .collect()
}
