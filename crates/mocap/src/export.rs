//! Writing the performer's motion as BVH over the humanoid skeleton, so Blender, Maya and other
//! VTuber tools can read what she did.
//!
//! The skeleton is the canonical humanoid with VRM bone names, in centimetres, hips with six
//! channels and every other joint with three (`Zrotation Xrotation Yrotation`).

use bevy::prelude::*;

use super::bvh::{Bvh, Channel, Joint, euler_for_channels};
use super::clip::ClipSample;
use ling_core::signals::HumanBone;

/// BVH units per metre.
pub(crate) const UNITS_PER_METRE: f32 = 100.0;

const ROTATION: [Channel; 3] = [Channel::Zrotation, Channel::Xrotation, Channel::Yrotation];

/// The humanoid skeleton as BVH joints (no motion yet).
pub(crate) fn humanoid_joints() -> Vec<Joint> {
    let mut joints = Vec::with_capacity(HumanBone::COUNT);
    let mut first = 0;
    for &bone in HumanBone::ALL {
        let channels: Vec<Channel> = if bone == HumanBone::Hips {
            vec![Channel::Xposition, Channel::Yposition, Channel::Zposition]
                .into_iter()
                .chain(ROTATION)
                .collect()
        } else {
            ROTATION.to_vec()
        };
        let has_child = HumanBone::ALL.iter().any(|c| c.parent() == Some(bone));
        let end_site = (!has_child).then(|| {
            let dir = bone.rest_local_translation().normalize_or(Vec3::Y);
            dir * 0.03 * UNITS_PER_METRE
        });
        joints.push(Joint {
            name: bone.name().to_string(),
            parent: bone.parent().map(|p| p.index()),
            offset: if bone == HumanBone::Hips {
                Vec3::ZERO
            } else {
                bone.rest_local_translation() * UNITS_PER_METRE
            },
            first_channel: first,
            end_site,
            channels: channels.clone(),
        });
        first += channels.len();
    }
    joints
}

/// Builds a BVH from samples taken every `frame_time` seconds. The hips carry the stage
/// position and facing (the performer's root), so the file moves through the world as she did.
pub(crate) fn to_bvh(samples: &[ClipSample], frame_time: f64) -> Bvh {
    let joints = humanoid_joints();
    let mut values = Vec::with_capacity(samples.len() * (HumanBone::COUNT * 3 + 3));
    for sample in samples {
        let hips_world = sample.root.transform_point(sample.pose.hips) * UNITS_PER_METRE;
        values.extend_from_slice(&hips_world.to_array());
        for &bone in HumanBone::ALL {
            let mut q = sample.pose.rotation(bone);
            if bone == HumanBone::Hips {
                q = sample.root.rotation * q;
            }
            let e = euler_for_channels(q.normalize(), ROTATION).expect("a supported order");
            values.extend_from_slice(&e);
        }
    }
    Bvh {
        joints,
        frame_time,
        frame_count: samples.len(),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bvh;
    use crate::retarget::{BoneMap, Convention, retarget};
    use crate::{CENTRE_STAGE, demo};

    /// Rotation angle between two unit quaternions, precise for small angles.
    pub(crate) fn angle(a: Quat, b: Quat) -> f32 {
        let d = a.inverse() * b;
        let d = if d.w < 0.0 { -d } else { d };
        2.0 * d.xyz().length().atan2(d.w)
    }

    #[test]
    fn exported_demo_reimports_as_the_same_pose() {
        let clip = demo::demo_clip();
        let samples: Vec<ClipSample> = (0..120).map(|i| clip.sample(i as f32 / 10.0)).collect();
        let text = to_bvh(&samples, 0.1).write();
        let parsed = bvh::parse(&text).unwrap();
        assert_eq!(parsed.joints.len(), HumanBone::COUNT);
        let names: Vec<&str> = parsed.joints.iter().map(|j| j.name.as_str()).collect();
        let map = BoneMap::detect(&names).unwrap();
        assert_eq!(map.convention, Convention::Vrm);
        let back = retarget(&parsed, &map).unwrap();
        let mut worst = 0f32;
        for (s, p) in samples.iter().zip(&back.poses) {
            for &bone in HumanBone::ALL {
                let mut original = s.pose.rotation(bone);
                if bone == HumanBone::Hips {
                    original = s.root.rotation * original;
                }
                worst = worst.max(angle(original, p.rotation(bone)));
            }
        }
        assert!(worst < 1e-4, "worst bone rotation error {worst} rad");
    }

    #[test]
    fn cmu_round_trip_import_export_import() {
        let path = ling_testkit::repo_root().join("../shared/data/mocap/cmu_131_02.bvh");
        if !path.exists() {
            ling_testkit::skip(format!(
                "cmu_round_trip_import_export_import: {} not found",
                path.display()
            ));
            return;
        }
        let first = crate::load_capture(&path, None).unwrap();
        let samples: Vec<ClipSample> = first
            .poses
            .iter()
            .map(|pose| ClipSample {
                pose: pose.clone(),
                root: Transform::from_translation(CENTRE_STAGE),
                expressions: default(),
            })
            .collect();
        let parsed = bvh::parse(&to_bvh(&samples, first.frame_time).write()).unwrap();
        let names: Vec<&str> = parsed.joints.iter().map(|j| j.name.as_str()).collect();
        let second = retarget(&parsed, &BoneMap::detect(&names).unwrap()).unwrap();
        assert_eq!(second.poses.len(), first.poses.len());
        let mut worst = 0f32;
        for (a, b) in first.poses.iter().zip(&second.poses) {
            for &bone in HumanBone::ALL {
                worst = worst.max(angle(a.rotation(bone), b.rotation(bone)));
            }
            assert!(
                a.hips.distance(b.hips) < 1e-3,
                "hips {:?} vs {:?}",
                a.hips,
                b.hips
            );
        }
        assert!(worst < 1e-4, "worst bone rotation error {worst} rad");
    }
}
