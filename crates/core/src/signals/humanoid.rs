//! The canonical humanoid: the VRM 1.0 humanoid bone set, its hierarchy and the built-in rest
//! pose (a T-pose, facing +Z, left hand towards +X, metres, feet on y = 0).

use bevy::prelude::*;

macro_rules! human_bones {
    ($($variant:ident = $name:literal, parent $parent:ident, at ($x:expr, $y:expr, $z:expr);)*) => {
        /// A bone of the VRM humanoid (VRM 1.0 names). The discriminant is the bone's index in
        /// [`HumanBone::ALL`], in pose arrays and in the built-in avatar's joint list.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Reflect)]
        #[allow(missing_docs, reason = "each variant is the VRM bone its name says")]
        pub enum HumanBone { $($variant),* }

        impl HumanBone {
            /// Every bone, parents before their children.
            pub const ALL: &'static [HumanBone] = &[$(HumanBone::$variant),*];
            /// How many bones the humanoid has (55, as VRM 1.0 defines).
            pub const COUNT: usize = Self::ALL.len();

            /// The VRM 1.0 humanoid name, e.g. `leftUpperArm`.
            pub fn name(self) -> &'static str {
                match self { $(HumanBone::$variant => $name),* }
            }

            /// The parent bone; `None` only for the hips.
            pub fn parent(self) -> Option<HumanBone> {
                let parent = match self { $(HumanBone::$variant => HumanBone::$parent),* };
                (parent != self).then_some(parent)
            }

            /// Where the built-in performer has this joint in her rest pose (model space).
            pub fn rest_position(self) -> Vec3 {
                match self { $(HumanBone::$variant => Vec3::new($x, $y, $z)),* }
            }
        }
    };
}

// Right-side joints mirror the left ones in x; fingers point along the arm in the T-pose.
human_bones! {
    Hips = "hips", parent Hips, at (0.0, 0.95, 0.0);
    Spine = "spine", parent Hips, at (0.0, 1.04, 0.0);
    Chest = "chest", parent Spine, at (0.0, 1.17, 0.0);
    UpperChest = "upperChest", parent Chest, at (0.0, 1.29, 0.0);
    Neck = "neck", parent UpperChest, at (0.0, 1.43, 0.0);
    Head = "head", parent Neck, at (0.0, 1.53, 0.01);
    LeftEye = "leftEye", parent Head, at (0.033, 1.645, 0.085);
    RightEye = "rightEye", parent Head, at (-0.033, 1.645, 0.085);
    Jaw = "jaw", parent Head, at (0.0, 1.575, 0.03);
    LeftUpperLeg = "leftUpperLeg", parent Hips, at (0.09, 0.9, 0.0);
    LeftLowerLeg = "leftLowerLeg", parent LeftUpperLeg, at (0.09, 0.5, 0.0);
    LeftFoot = "leftFoot", parent LeftLowerLeg, at (0.09, 0.09, -0.01);
    LeftToes = "leftToes", parent LeftFoot, at (0.09, 0.03, 0.12);
    RightUpperLeg = "rightUpperLeg", parent Hips, at (-0.09, 0.9, 0.0);
    RightLowerLeg = "rightLowerLeg", parent RightUpperLeg, at (-0.09, 0.5, 0.0);
    RightFoot = "rightFoot", parent RightLowerLeg, at (-0.09, 0.09, -0.01);
    RightToes = "rightToes", parent RightFoot, at (-0.09, 0.03, 0.12);
    LeftShoulder = "leftShoulder", parent UpperChest, at (0.03, 1.38, 0.0);
    LeftUpperArm = "leftUpperArm", parent LeftShoulder, at (0.15, 1.39, 0.0);
    LeftLowerArm = "leftLowerArm", parent LeftUpperArm, at (0.42, 1.39, 0.0);
    LeftHand = "leftHand", parent LeftLowerArm, at (0.67, 1.39, 0.0);
    RightShoulder = "rightShoulder", parent UpperChest, at (-0.03, 1.38, 0.0);
    RightUpperArm = "rightUpperArm", parent RightShoulder, at (-0.15, 1.39, 0.0);
    RightLowerArm = "rightLowerArm", parent RightUpperArm, at (-0.42, 1.39, 0.0);
    RightHand = "rightHand", parent RightLowerArm, at (-0.67, 1.39, 0.0);
    LeftThumbMetacarpal = "leftThumbMetacarpal", parent LeftHand, at (0.69, 1.38, 0.025);
    LeftThumbProximal = "leftThumbProximal", parent LeftThumbMetacarpal, at (0.72, 1.375, 0.05);
    LeftThumbDistal = "leftThumbDistal", parent LeftThumbProximal, at (0.75, 1.372, 0.066);
    LeftIndexProximal = "leftIndexProximal", parent LeftHand, at (0.76, 1.39, 0.027);
    LeftIndexIntermediate = "leftIndexIntermediate", parent LeftIndexProximal, at (0.80, 1.39, 0.027);
    LeftIndexDistal = "leftIndexDistal", parent LeftIndexIntermediate, at (0.825, 1.39, 0.027);
    LeftMiddleProximal = "leftMiddleProximal", parent LeftHand, at (0.765, 1.39, 0.008);
    LeftMiddleIntermediate = "leftMiddleIntermediate", parent LeftMiddleProximal, at (0.81, 1.39, 0.008);
    LeftMiddleDistal = "leftMiddleDistal", parent LeftMiddleIntermediate, at (0.838, 1.39, 0.008);
    LeftRingProximal = "leftRingProximal", parent LeftHand, at (0.76, 1.39, -0.011);
    LeftRingIntermediate = "leftRingIntermediate", parent LeftRingProximal, at (0.8, 1.39, -0.011);
    LeftRingDistal = "leftRingDistal", parent LeftRingIntermediate, at (0.825, 1.39, -0.011);
    LeftLittleProximal = "leftLittleProximal", parent LeftHand, at (0.75, 1.39, -0.029);
    LeftLittleIntermediate = "leftLittleIntermediate", parent LeftLittleProximal, at (0.78, 1.39, -0.029);
    LeftLittleDistal = "leftLittleDistal", parent LeftLittleIntermediate, at (0.8, 1.39, -0.029);
    RightThumbMetacarpal = "rightThumbMetacarpal", parent RightHand, at (-0.69, 1.38, 0.025);
    RightThumbProximal = "rightThumbProximal", parent RightThumbMetacarpal, at (-0.72, 1.375, 0.05);
    RightThumbDistal = "rightThumbDistal", parent RightThumbProximal, at (-0.75, 1.372, 0.066);
    RightIndexProximal = "rightIndexProximal", parent RightHand, at (-0.76, 1.39, 0.027);
    RightIndexIntermediate = "rightIndexIntermediate", parent RightIndexProximal, at (-0.80, 1.39, 0.027);
    RightIndexDistal = "rightIndexDistal", parent RightIndexIntermediate, at (-0.825, 1.39, 0.027);
    RightMiddleProximal = "rightMiddleProximal", parent RightHand, at (-0.765, 1.39, 0.008);
    RightMiddleIntermediate = "rightMiddleIntermediate", parent RightMiddleProximal, at (-0.81, 1.39, 0.008);
    RightMiddleDistal = "rightMiddleDistal", parent RightMiddleIntermediate, at (-0.838, 1.39, 0.008);
    RightRingProximal = "rightRingProximal", parent RightHand, at (-0.76, 1.39, -0.011);
    RightRingIntermediate = "rightRingIntermediate", parent RightRingProximal, at (-0.8, 1.39, -0.011);
    RightRingDistal = "rightRingDistal", parent RightRingIntermediate, at (-0.825, 1.39, -0.011);
    RightLittleProximal = "rightLittleProximal", parent RightHand, at (-0.75, 1.39, -0.029);
    RightLittleIntermediate = "rightLittleIntermediate", parent RightLittleProximal, at (-0.78, 1.39, -0.029);
    RightLittleDistal = "rightLittleDistal", parent RightLittleIntermediate, at (-0.8, 1.39, -0.029);
}

/// The bones VRM requires every humanoid to have.
pub const REQUIRED_BONES: [HumanBone; 15] = [
    HumanBone::Hips,
    HumanBone::Spine,
    HumanBone::Head,
    HumanBone::LeftUpperLeg,
    HumanBone::LeftLowerLeg,
    HumanBone::LeftFoot,
    HumanBone::RightUpperLeg,
    HumanBone::RightLowerLeg,
    HumanBone::RightFoot,
    HumanBone::LeftUpperArm,
    HumanBone::LeftLowerArm,
    HumanBone::LeftHand,
    HumanBone::RightUpperArm,
    HumanBone::RightLowerArm,
    HumanBone::RightHand,
];

impl HumanBone {
    /// The bone's position in [`HumanBone::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The bone with this VRM name (`leftUpperArm`), if there is one.
    pub fn from_name(name: &str) -> Option<HumanBone> {
        Self::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// Rest translation relative to the parent joint (for the hips: relative to the model origin).
    pub fn rest_local_translation(self) -> Vec3 {
        match self.parent() {
            Some(parent) => self.rest_position() - parent.rest_position(),
            None => self.rest_position(),
        }
    }
}

/// Leg length (upper + lower leg) of a skeleton whose joint positions `rest` gives.
pub fn leg_length(rest: impl Fn(HumanBone) -> Option<Vec3>) -> Option<f32> {
    let hip = rest(HumanBone::LeftUpperLeg)?;
    let knee = rest(HumanBone::LeftLowerLeg)?;
    let ankle = rest(HumanBone::LeftFoot)?;
    Some(hip.distance(knee) + knee.distance(ankle))
}

/// For every bone, the rotation taking the canonical rest direction (bone → its first child
/// present in `rest`) onto the direction between the same joints in `rest`, another skeleton's
/// rest positions in the same facing. Bones without a child present inherit their parent's; the
/// hips keep the identity. Retargeting applies it so that rest-pose differences (T-pose and
/// A-pose, splayed legs) come out as the same bone directions.
pub fn rest_alignment(rest: impl Fn(HumanBone) -> Option<Vec3>) -> [Quat; HumanBone::COUNT] {
    let mut align = [Quat::IDENTITY; HumanBone::COUNT];
    for &bone in HumanBone::ALL {
        align[bone.index()] = bone
            .parent()
            .map(|p| align[p.index()])
            .unwrap_or(Quat::IDENTITY);
        if bone == HumanBone::Hips {
            continue;
        }
        let Some(from) = rest(bone) else { continue };
        let child = HumanBone::ALL
            .iter()
            .find(|c| c.parent() == Some(bone) && rest(**c).is_some());
        if let Some(&child) = child {
            let there = (rest(child).unwrap_or(from) - from).normalize_or_zero();
            let canonical = (child.rest_position() - bone.rest_position()).normalize_or_zero();
            if there != Vec3::ZERO && canonical != Vec3::ZERO {
                align[bone.index()] = Quat::from_rotation_arc(canonical, there);
            }
        }
    }
    align
}

/// A humanoid pose: local rotations of every bone relative to the rest pose, and the hips'
/// position in model space. This is the canonical body signal every motion source writes.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct HumanoidPose {
    /// Local rotation of each bone relative to its rest, in [`HumanBone::ALL`] order.
    pub rotations: [Quat; HumanBone::COUNT],
    /// The hips' position in model space (metres).
    pub hips: Vec3,
}

impl Default for HumanoidPose {
    fn default() -> Self {
        Self {
            rotations: [Quat::IDENTITY; HumanBone::COUNT],
            hips: HumanBone::Hips.rest_position(),
        }
    }
}

impl HumanoidPose {
    /// The local rotation of one bone.
    pub fn rotation(&self, bone: HumanBone) -> Quat {
        self.rotations[bone.index()]
    }

    /// Sets the local rotation of one bone.
    pub fn set(&mut self, bone: HumanBone, rotation: Quat) {
        self.rotations[bone.index()] = rotation;
    }

    /// Model-space transforms of every joint for this pose (forward kinematics).
    pub fn model_transforms(&self) -> [Transform; HumanBone::COUNT] {
        let mut out = [Transform::IDENTITY; HumanBone::COUNT];
        // ALL lists every parent before its children.
        for &bone in HumanBone::ALL {
            let local = Transform {
                translation: if bone == HumanBone::Hips {
                    self.hips
                } else {
                    bone.rest_local_translation()
                },
                rotation: self.rotation(bone),
                scale: Vec3::ONE,
            };
            out[bone.index()] = match bone.parent() {
                Some(parent) => out[parent.index()].mul_transform(local),
                None => local,
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bone_has_a_unique_vrm_name_and_parents_come_first() {
        assert_eq!(HumanBone::COUNT, 55, "VRM 1.0 defines 55 humanoid bones");
        let names: std::collections::BTreeSet<_> =
            HumanBone::ALL.iter().map(|b| b.name()).collect();
        assert_eq!(names.len(), HumanBone::COUNT);
        for (i, bone) in HumanBone::ALL.iter().enumerate() {
            assert_eq!(bone.index(), i);
            assert_eq!(HumanBone::from_name(bone.name()), Some(*bone));
            if let Some(parent) = bone.parent() {
                assert!(parent.index() < i, "{} before its parent", bone.name());
            }
        }
        assert_eq!(HumanBone::Hips.parent(), None);
    }

    #[test]
    fn rest_pose_is_symmetric_and_stands_on_the_floor() {
        for &bone in HumanBone::ALL {
            let name = bone.name();
            if let Some(rest) = name.strip_prefix("left") {
                let mirror = HumanBone::from_name(&format!("right{rest}")).unwrap();
                let (a, b) = (bone.rest_position(), mirror.rest_position());
                assert!((a - Vec3::new(-b.x, b.y, b.z)).length() < 1e-6, "{name}");
                assert!(a.x > 0.0, "left is +X: {name}");
            }
        }
        let fk = HumanoidPose::default().model_transforms();
        for &bone in HumanBone::ALL {
            assert!((fk[bone.index()].translation - bone.rest_position()).length() < 1e-5);
        }
    }

    #[test]
    fn forward_kinematics_follows_rotations() {
        let mut pose = HumanoidPose::default();
        // Lower the left arm to the side: rotate the upper arm -90° about Z.
        pose.set(
            HumanBone::LeftUpperArm,
            Quat::from_rotation_z(-std::f32::consts::FRAC_PI_2),
        );
        let fk = pose.model_transforms();
        let shoulder = HumanBone::LeftUpperArm.rest_position();
        let hand = fk[HumanBone::LeftHand.index()].translation;
        assert!((hand.x - shoulder.x).abs() < 1e-4);
        assert!((shoulder.y - hand.y - 0.52).abs() < 1e-4);
    }
}
