//! Retargeting: from a source skeleton (a BVH file's joints) onto the canonical humanoid.
//!
//! Joints are matched by name for the common conventions — CMU (both the `LeftHip/LeftKnee`
//! and cgspeed's `LeftUpLeg/LeftLeg` namings), Mixamo (`mixamorig:` prefixes), Unity's
//! HumanBodyBones and VRM's own names — or, when no naming fits, inferred from the hierarchy's
//! shape and rest pose (see `infer`), or by a custom map in RON ([`BoneMap::to_ron`] writes one
//! to edit). Rest poses differ (T-pose
//! against A-pose, legs splayed or straight): each bone carries the rotation that turns the
//! humanoid's rest direction onto the source's rest direction, so a source pose is reproduced
//! as bone directions, not as raw angles. Root motion is scaled by the ratio of leg lengths,
//! and the clip is shifted so the feet meet the floor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bevy::prelude::*;

use super::bvh::Bvh;
use ling_core::signals::{HumanBone, HumanoidPose, leg_length, rest_alignment};

/// The naming conventions recognised automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// CMU mocap as `LeftHip`, `LeftKnee`, `LeftCollar`, `LeftShoulder` (upper arm), `LeftElbow`.
    CmuJoints,
    /// cgspeed's CMU conversion and Mixamo: `LeftUpLeg`, `LeftLeg`, `LeftArm`, `LeftForeArm`.
    Mixamo,
    /// Unity HumanBodyBones names: `LeftUpperArm`, `LeftLowerLeg`, ...
    Unity,
    /// VRM humanoid names: `leftUpperArm`, ...
    Vrm,
    /// A map supplied by the user.
    Custom,
    /// No naming matched: every bone was inferred from the skeleton's shape.
    Inferred,
}

type Table = &'static [(HumanBone, &'static [&'static str])];

const CMU_JOINTS: Table = {
    use HumanBone::*;
    &[
        (Hips, &["Hips"]),
        (Spine, &["lowerback"]),
        (Chest, &["Chest"]),
        (UpperChest, &["Chest2"]),
        (Neck, &["Neck", "lowerneck"]),
        (Head, &["Head"]),
        (LeftUpperLeg, &["LeftHip"]),
        (LeftLowerLeg, &["LeftKnee"]),
        (LeftFoot, &["LeftAnkle"]),
        (LeftToes, &["LeftToe"]),
        (RightUpperLeg, &["RightHip"]),
        (RightLowerLeg, &["RightKnee"]),
        (RightFoot, &["RightAnkle"]),
        (RightToes, &["RightToe"]),
        (LeftShoulder, &["LeftCollar"]),
        (LeftUpperArm, &["LeftShoulder"]),
        (LeftLowerArm, &["LeftElbow"]),
        (LeftHand, &["LeftWrist"]),
        (RightShoulder, &["RightCollar"]),
        (RightUpperArm, &["RightShoulder"]),
        (RightLowerArm, &["RightElbow"]),
        (RightHand, &["RightWrist"]),
    ]
};

const MIXAMO: Table = {
    use HumanBone::*;
    &[
        (Hips, &["Hips"]),
        (Spine, &["Spine", "LowerBack"]),
        (Chest, &["Spine1"]),
        (UpperChest, &["Spine2"]),
        (Neck, &["Neck"]),
        (Head, &["Head"]),
        (LeftUpperLeg, &["LeftUpLeg"]),
        (LeftLowerLeg, &["LeftLeg"]),
        (LeftFoot, &["LeftFoot"]),
        (LeftToes, &["LeftToeBase"]),
        (RightUpperLeg, &["RightUpLeg"]),
        (RightLowerLeg, &["RightLeg"]),
        (RightFoot, &["RightFoot"]),
        (RightToes, &["RightToeBase"]),
        (LeftShoulder, &["LeftShoulder"]),
        (LeftUpperArm, &["LeftArm"]),
        (LeftLowerArm, &["LeftForeArm"]),
        (LeftHand, &["LeftHand"]),
        (RightShoulder, &["RightShoulder"]),
        (RightUpperArm, &["RightArm"]),
        (RightLowerArm, &["RightForeArm"]),
        (RightHand, &["RightHand"]),
        (LeftThumbMetacarpal, &["LeftHandThumb1"]),
        (LeftThumbProximal, &["LeftHandThumb2"]),
        (LeftThumbDistal, &["LeftHandThumb3"]),
        (LeftIndexProximal, &["LeftHandIndex1"]),
        (LeftIndexIntermediate, &["LeftHandIndex2"]),
        (LeftIndexDistal, &["LeftHandIndex3"]),
        (LeftMiddleProximal, &["LeftHandMiddle1"]),
        (LeftMiddleIntermediate, &["LeftHandMiddle2"]),
        (LeftMiddleDistal, &["LeftHandMiddle3"]),
        (LeftRingProximal, &["LeftHandRing1"]),
        (LeftRingIntermediate, &["LeftHandRing2"]),
        (LeftRingDistal, &["LeftHandRing3"]),
        (LeftLittleProximal, &["LeftHandPinky1"]),
        (LeftLittleIntermediate, &["LeftHandPinky2"]),
        (LeftLittleDistal, &["LeftHandPinky3"]),
        (RightThumbMetacarpal, &["RightHandThumb1"]),
        (RightThumbProximal, &["RightHandThumb2"]),
        (RightThumbDistal, &["RightHandThumb3"]),
        (RightIndexProximal, &["RightHandIndex1"]),
        (RightIndexIntermediate, &["RightHandIndex2"]),
        (RightIndexDistal, &["RightHandIndex3"]),
        (RightMiddleProximal, &["RightHandMiddle1"]),
        (RightMiddleIntermediate, &["RightHandMiddle2"]),
        (RightMiddleDistal, &["RightHandMiddle3"]),
        (RightRingProximal, &["RightHandRing1"]),
        (RightRingIntermediate, &["RightHandRing2"]),
        (RightRingDistal, &["RightHandRing3"]),
        (RightLittleProximal, &["RightHandPinky1"]),
        (RightLittleIntermediate, &["RightHandPinky2"]),
        (RightLittleDistal, &["RightHandPinky3"]),
    ]
};

/// Unity's HumanBodyBones name for a humanoid bone (also the VMC protocol's bone names).
pub(crate) fn unity_name(bone: HumanBone) -> String {
    let vrm = bone.name();
    let name = vrm[..1].to_ascii_uppercase() + &vrm[1..];
    // Unity calls the thumb's first bone Proximal and shifts the rest by one.
    if name.contains("ThumbMetacarpal") {
        name.replace("ThumbMetacarpal", "ThumbProximal")
    } else if name.contains("ThumbProximal") {
        name.replace("ThumbProximal", "ThumbIntermediate")
    } else {
        name
    }
}

/// Strips namespace prefixes such as `mixamorig:` or `Armature|`.
fn bare(name: &str) -> &str {
    name.rsplit([':', '|']).next().unwrap_or(name)
}

/// The bones every map must have.
const CORE: [HumanBone; 11] = {
    use HumanBone::*;
    [
        Hips,
        Spine,
        Head,
        LeftUpperLeg,
        LeftLowerLeg,
        RightUpperLeg,
        RightLowerLeg,
        LeftUpperArm,
        LeftLowerArm,
        RightUpperArm,
        RightLowerArm,
    ]
};

/// Which source joint drives each humanoid bone.
#[derive(Debug, Clone, PartialEq)]
pub struct BoneMap {
    /// The naming convention that matched (or [`Convention::Custom`]).
    pub convention: Convention,
    /// The source joint's name for each mapped humanoid bone.
    pub bones: BTreeMap<HumanBone, String>,
    /// The bones found from the skeleton's shape rather than by name (all of them for
    /// [`Convention::Inferred`]).
    pub inferred: BTreeSet<HumanBone>,
}

/// Why a skeleton could not be put on the humanoid.
#[derive(Debug, thiserror::Error)]
pub enum RetargetError {
    /// No convention or map covers the humanoid's core bones, or the legs cannot be measured;
    /// says which joints the file has.
    #[error("cannot match the skeleton to a humanoid: {0}")]
    NoMatch(String),
    /// A custom bone map could not be read or lacks core bones.
    #[error("cannot read bone map {path}: {message}")]
    Map {
        /// The bone map file.
        path: String,
        /// What was wrong with it.
        message: String,
    },
}

impl BoneMap {
    /// Finds the convention that names the most of `joints`, requiring the humanoid's core
    /// (hips, spine, head, both legs and arms).
    pub fn detect(joints: &[&str]) -> Result<BoneMap, RetargetError> {
        let find = |candidates: &[&str]| -> Option<String> {
            joints
                .iter()
                .find(|j| candidates.contains(&bare(j)))
                .map(|j| j.to_string())
        };
        let mut best: Option<BoneMap> = None;
        let unity: Vec<(HumanBone, String)> = HumanBone::ALL
            .iter()
            .map(|b| (*b, unity_name(*b)))
            .collect();
        let vrm: Vec<(HumanBone, String)> = HumanBone::ALL
            .iter()
            .map(|b| (*b, b.name().to_string()))
            .collect();
        let mut tries: Vec<(Convention, BTreeMap<HumanBone, String>)> = Vec::new();
        for (convention, table) in [
            (Convention::CmuJoints, CMU_JOINTS),
            (Convention::Mixamo, MIXAMO),
        ] {
            let bones = table
                .iter()
                .filter_map(|(b, names)| find(names).map(|j| (*b, j)))
                .collect();
            tries.push((convention, bones));
        }
        for (convention, table) in [(Convention::Unity, &unity), (Convention::Vrm, &vrm)] {
            let bones = table
                .iter()
                .filter_map(|(b, name)| find(&[name.as_str()]).map(|j| (*b, j)))
                .collect();
            tries.push((convention, bones));
        }
        for (convention, bones) in tries {
            let map = BoneMap {
                convention,
                bones,
                inferred: BTreeSet::new(),
            };
            if map.missing_core().is_empty()
                && best
                    .as_ref()
                    .is_none_or(|b| map.bones.len() > b.bones.len())
            {
                best = Some(map);
            }
        }
        best.ok_or_else(|| {
            RetargetError::NoMatch(format!(
                "no known naming (CMU, Mixamo, Unity, VRM) covers hips, spine, head, arms and legs; \
                 joints are: {}; supply a bone map in RON",
                joints.join(", ")
            ))
        })
    }

    /// Reads a custom map in RON, VRM humanoid bone names to source joint names:
    /// `{ "hips": "pelvis", "leftUpperLeg": "thigh_l", ... }`. It must cover the core bones.
    pub(crate) fn load_custom(path: &Path) -> Result<BoneMap, RetargetError> {
        let err = |message: String| RetargetError::Map {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let map: BTreeMap<String, String> = ron::from_str(&text)
            .map_err(|e| err(format!("line {}: {}", e.span.start.line, e.code)))?;
        let mut bones = BTreeMap::new();
        for (key, joint) in map {
            let bone = HumanBone::from_name(&key)
                .ok_or_else(|| err(format!("`{key}` is not a VRM humanoid bone name")))?;
            bones.insert(bone, joint);
        }
        let out = BoneMap {
            convention: Convention::Custom,
            bones,
            inferred: BTreeSet::new(),
        };
        let missing = out.missing_core();
        if !missing.is_empty() {
            return Err(err(format!("the map lacks {}", missing.join(", "))));
        }
        Ok(out)
    }

    /// The map for a BVH skeleton: by joint names when a known naming covers the core bones
    /// (with bones the names miss, such as fingers, filled in from the shape when the shape
    /// agrees with the names on the core), otherwise inferred from the hierarchy and rest pose.
    /// A skeleton that is no humanoid is refused, saying what was missing.
    pub fn for_bvh(bvh: &Bvh) -> Result<BoneMap, RetargetError> {
        let names: Vec<&str> = bvh.joints.iter().map(|j| j.name.as_str()).collect();
        let shape = crate::infer::infer(&crate::infer::Skeleton::of_bvh(bvh));
        match (BoneMap::detect(&names), shape) {
            (Ok(mut map), Ok(shape)) => {
                if CORE.iter().all(|b| shape.get(b) == map.bones.get(b)) {
                    for (bone, joint) in shape {
                        if !map.bones.contains_key(&bone)
                            && !map.bones.values().any(|j| *j == joint)
                        {
                            map.bones.insert(bone, joint);
                            map.inferred.insert(bone);
                        }
                    }
                }
                Ok(map)
            }
            (Ok(map), Err(_)) => Ok(map),
            (Err(_), Ok(bones))
                if bones
                    .values()
                    .any(|j| names.iter().filter(|n| *n == j).count() > 1) =>
            {
                Err(RetargetError::NoMatch(
                    "its joint names repeat, so a map by name cannot tell the joints apart; give \
                     every joint its own name"
                        .into(),
                ))
            }
            (Err(_), Ok(bones)) => Ok(BoneMap {
                convention: Convention::Inferred,
                inferred: bones.keys().copied().collect(),
                bones,
            }),
            (Err(_), Err(why)) => Err(RetargetError::NoMatch(format!(
                "no known naming (CMU, Mixamo, Unity, VRM) matches its joint names, and its shape \
                 is not a humanoid's: {why}; supply a bone map in RON (`bone_map` in the show's \
                 motion)"
            ))),
        }
    }

    /// The map as RON that `BoneMap::load_custom` reads back (`bone_map` in a show's motion):
    /// one line per bone, marked where it was inferred from the shape.
    pub fn to_ron(&self) -> String {
        let mut out = String::from(
            "// Humanoid bone map: VRM bone name → joint name. Edit it and pass it back as\n\
             // `bone_map: Some(\"this.ron\")` in the show's Bvh motion.\n{\n",
        );
        for (bone, joint) in &self.bones {
            let note = if self.inferred.contains(bone) {
                " // inferred from the shape"
            } else {
                ""
            };
            out.push_str(&format!("    \"{}\": {:?},{note}\n", bone.name(), joint));
        }
        out.push_str("}\n");
        out
    }

    fn missing_core(&self) -> Vec<&'static str> {
        CORE.iter()
            .filter(|b| !self.bones.contains_key(b))
            .map(|b| b.name())
            .collect()
    }
}

/// A captured clip retargeted onto the humanoid: one pose per source frame.
#[derive(Debug, Clone)]
pub struct HumanoidClip {
    /// Seconds per frame.
    pub frame_time: f64,
    /// One humanoid pose per frame.
    pub poses: Vec<HumanoidPose>,
    /// The naming the source skeleton followed.
    pub convention: Convention,
}

impl HumanoidClip {
    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.poses.len() as f64 * self.frame_time
    }

    /// The pose at `t` seconds, interpolated between frames (held at the ends).
    pub fn sample(&self, t: f64) -> HumanoidPose {
        let n = self.poses.len();
        if n == 0 {
            return HumanoidPose::default();
        }
        let f = (t / self.frame_time).clamp(0.0, (n - 1) as f64);
        let i = f.floor() as usize;
        let j = (i + 1).min(n - 1);
        let s = (f - i as f64) as f32;
        let (a, b) = (&self.poses[i], &self.poses[j]);
        let mut out = a.clone();
        for k in 0..HumanBone::COUNT {
            out.rotations[k] = a.rotations[k].slerp(b.rotations[k], s);
        }
        out.hips = a.hips.lerp(b.hips, s);
        out
    }
}

/// Retargets every frame of `bvh` onto the humanoid with `map`.
pub fn retarget(bvh: &Bvh, map: &BoneMap) -> Result<HumanoidClip, RetargetError> {
    retarget_with(bvh, map, true)
}

/// Retargets with or without the rest alignment: a skeleton whose rest pose is already the
/// VRM T-pose (a VRM animation) transfers its rotations as they are, as VRM's normalized
/// bones do, so a hand or neck resting a few degrees off ours is not turned to match.
pub(crate) fn retarget_with(
    bvh: &Bvh,
    map: &BoneMap,
    align_rest: bool,
) -> Result<HumanoidClip, RetargetError> {
    let joint_of = |b: HumanBone| map.bones.get(&b).and_then(|n| bvh.joint_index(n));
    let src_rest = bvh.rest_positions();
    let scale = match (
        leg_length(|b| joint_of(b).map(|j| src_rest[j])),
        leg_length(|b| Some(b.rest_position())),
    ) {
        (Some(s), Some(t)) if s > 1e-6 => t / s,
        _ => {
            return Err(RetargetError::NoMatch(
                "cannot measure the source's leg length".into(),
            ));
        }
    };

    let align = if align_rest {
        rest_alignment(|b| joint_of(b).map(|j| src_rest[j]))
    } else {
        [Quat::IDENTITY; HumanBone::COUNT]
    };

    let hips = joint_of(HumanBone::Hips).expect("core bones are mapped");
    let first = bvh.globals(0).get(hips).map(|g| g.0).unwrap_or(Vec3::ZERO);
    let mut poses = Vec::with_capacity(bvh.frame_count);
    for f in 0..bvh.frame_count {
        let globals = bvh.globals(f);
        let mut world = [Quat::IDENTITY; HumanBone::COUNT];
        let mut pose = HumanoidPose::default();
        for &bone in HumanBone::ALL {
            let parent_world = bone
                .parent()
                .map(|p| world[p.index()])
                .unwrap_or(Quat::IDENTITY);
            world[bone.index()] = match joint_of(bone) {
                Some(j) => (globals[j].1 * align[bone.index()]).normalize(),
                None => parent_world,
            };
            pose.rotations[bone.index()] =
                (parent_world.inverse() * world[bone.index()]).normalize();
        }
        let p = globals[hips].0;
        pose.hips = Vec3::new(
            (p.x - first.x) * scale,
            p.y * scale,
            (p.z - first.z) * scale,
        );
        poses.push(pose);
    }
    let mut clip = HumanoidClip {
        frame_time: bvh.frame_time,
        poses,
        convention: map.convention,
    };
    ground(&mut clip);
    Ok(clip)
}

/// Lowest foot-joint height of a pose (model space).
pub(crate) fn lowest_foot(pose: &HumanoidPose) -> f32 {
    let fk = pose.model_transforms();
    [
        HumanBone::LeftFoot,
        HumanBone::RightFoot,
        HumanBone::LeftToes,
        HumanBone::RightToes,
    ]
    .iter()
    .map(|b| fk[b.index()].translation.y - rest_height(*b))
    .fold(f32::MAX, f32::min)
}

fn rest_height(bone: HumanBone) -> f32 {
    bone.rest_position().y
}

/// Shifts the clip vertically so that, in the typical frame, the supporting foot is at its
/// rest height: the median of per-frame lowest-foot offsets becomes zero.
fn ground(clip: &mut HumanoidClip) {
    let mut lows: Vec<f32> = clip.poses.iter().map(lowest_foot).collect();
    if lows.is_empty() {
        return;
    }
    lows.sort_by(f32::total_cmp);
    let median = lows[lows.len() / 2];
    for pose in &mut clip.poses {
        pose.hips.y -= median;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_names_follow_humanbodybones() {
        assert_eq!(unity_name(HumanBone::LeftUpperArm), "LeftUpperArm");
        assert_eq!(unity_name(HumanBone::Hips), "Hips");
        assert_eq!(
            unity_name(HumanBone::LeftThumbMetacarpal),
            "LeftThumbProximal"
        );
        assert_eq!(
            unity_name(HumanBone::LeftThumbProximal),
            "LeftThumbIntermediate"
        );
        assert_eq!(unity_name(HumanBone::LeftThumbDistal), "LeftThumbDistal");
    }

    #[test]
    fn conventions_are_told_apart() {
        let cmu = [
            "Hips",
            "lowerback",
            "Chest",
            "Head",
            "LeftHip",
            "LeftKnee",
            "LeftAnkle",
            "RightHip",
            "RightKnee",
            "RightAnkle",
            "LeftCollar",
            "LeftShoulder",
            "LeftElbow",
            "LeftWrist",
            "RightCollar",
            "RightShoulder",
            "RightElbow",
            "RightWrist",
        ];
        let map = BoneMap::detect(&cmu).unwrap();
        assert_eq!(map.convention, Convention::CmuJoints);
        assert_eq!(map.bones[&HumanBone::LeftUpperArm], "LeftShoulder");
        assert_eq!(map.bones[&HumanBone::LeftShoulder], "LeftCollar");

        let mixamo: Vec<String> = [
            "Hips",
            "Spine",
            "Spine1",
            "Neck",
            "Head",
            "LeftUpLeg",
            "LeftLeg",
            "LeftFoot",
            "RightUpLeg",
            "RightLeg",
            "RightFoot",
            "LeftShoulder",
            "LeftArm",
            "LeftForeArm",
            "LeftHand",
            "RightShoulder",
            "RightArm",
            "RightForeArm",
            "RightHand",
        ]
        .iter()
        .map(|n| format!("mixamorig:{n}"))
        .collect();
        let names: Vec<&str> = mixamo.iter().map(String::as_str).collect();
        let map = BoneMap::detect(&names).unwrap();
        assert_eq!(map.convention, Convention::Mixamo);
        assert_eq!(
            map.bones[&HumanBone::LeftShoulder],
            "mixamorig:LeftShoulder"
        );
        assert_eq!(map.bones[&HumanBone::LeftUpperArm], "mixamorig:LeftArm");

        let err = BoneMap::detect(&["root", "pelvis", "thigh_l"]).unwrap_err();
        assert!(err.to_string().contains("supply a bone map"), "{err}");
    }

    #[test]
    fn custom_maps_load_from_ron_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("map.ron");
        let pairs = [
            ("hips", "pelvis"),
            ("spine", "spine_01"),
            ("head", "head"),
            ("leftUpperLeg", "thigh_l"),
            ("leftLowerLeg", "calf_l"),
            ("rightUpperLeg", "thigh_r"),
            ("rightLowerLeg", "calf_r"),
            ("leftUpperArm", "upperarm_l"),
            ("leftLowerArm", "lowerarm_l"),
            ("rightUpperArm", "upperarm_r"),
            ("rightLowerArm", "lowerarm_r"),
        ];
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("    \"{k}\": \"{v}\","))
            .collect();
        std::fs::write(&good, format!("{{\n{}\n}}\n", body.join("\n"))).unwrap();
        let map = BoneMap::load_custom(&good).unwrap();
        assert_eq!(map.convention, Convention::Custom);
        assert_eq!(map.bones[&HumanBone::LeftUpperLeg], "thigh_l");

        let typo = dir.path().join("typo.ron");
        std::fs::write(&typo, "{ \"hip\": \"pelvis\" }").unwrap();
        let err = BoneMap::load_custom(&typo).unwrap_err().to_string();
        assert!(
            err.contains("typo.ron") && err.contains("`hip` is not a VRM humanoid bone name"),
            "{err}"
        );

        let short = dir.path().join("short.ron");
        std::fs::write(&short, "{ \"hips\": \"pelvis\" }").unwrap();
        let err = BoneMap::load_custom(&short).unwrap_err().to_string();
        assert!(
            err.contains("lacks") && err.contains("leftUpperArm"),
            "{err}"
        );

        let broken = dir.path().join("broken.ron");
        std::fs::write(&broken, "{\n \"hips\": pelvis\n}").unwrap();
        let err = BoneMap::load_custom(&broken).unwrap_err().to_string();
        assert!(
            err.contains("broken.ron") && err.contains("line 2"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod shared_data_tests {
    use super::*;
    use crate::bvh;

    fn shared_clips() -> Option<Vec<std::path::PathBuf>> {
        let dir = ling_testkit::repo_root().join("../shared/data/mocap");
        let mut clips: Vec<_> = std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "bvh"))
            .collect();
        clips.sort();
        (!clips.is_empty()).then_some(clips)
    }

    #[test]
    fn cmu_clips_retarget_with_feet_on_the_floor() {
        let Some(clips) = shared_clips() else {
            ling_testkit::skip(format!(
                "cmu_clips_retarget_with_feet_on_the_floor: ../shared/data/mocap not found"
            ));
            return;
        };
        for path in clips {
            let bvh = bvh::load(&path).unwrap();
            assert_eq!(bvh.joints.len(), 31, "{}", path.display());
            assert!((bvh.fps() - 120.0).abs() < 0.1);
            let names: Vec<&str> = bvh.joints.iter().map(|j| j.name.as_str()).collect();
            let map = BoneMap::detect(&names).unwrap();
            assert_eq!(map.convention, Convention::CmuJoints);
            let clip = retarget(&bvh, &map).unwrap();
            let lows: Vec<f32> = clip.poses.iter().map(lowest_foot).collect();
            let within = lows.iter().filter(|l| l.abs() < 0.04).count() as f32 / lows.len() as f32;
            let sink = lows.iter().cloned().fold(f32::MAX, f32::min);
            let hips: Vec<f32> = clip.poses.iter().map(|p| p.hips.y).collect();
            println!(
                "{}: {} frames, feet within 4 cm of the floor in {:.0}% of frames, deepest {:.3} m, hips {:.2}..{:.2}",
                path.display(),
                lows.len(),
                within * 100.0,
                sink,
                hips.iter().cloned().fold(f32::MAX, f32::min),
                hips.iter().cloned().fold(f32::MIN, f32::max)
            );
            assert!(
                within > 0.8,
                "{}: feet on the floor in {:.0}% of frames",
                path.display(),
                within * 100.0
            );
            assert!(
                sink > -0.06,
                "{}: a foot sinks {sink:.3} m into the floor",
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod inference_tests {
    use super::*;
    use crate::bvh;

    #[test]
    fn cmu_clips_with_renamed_joints_are_inferred_like_their_names() {
        let dir = ling_testkit::repo_root().join("../shared/data/mocap");
        let clips: Vec<_> = ["cmu_131_01.bvh", "cmu_131_02.bvh", "cmu_131_03.bvh"]
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.exists())
            .collect();
        if clips.is_empty() {
            ling_testkit::skip(format!(
                "cmu_clips_with_renamed_joints_are_inferred_like_their_names: {} not found",
                dir.display()
            ));
            return;
        }
        for path in clips {
            let bvh = bvh::load(&path).unwrap();
            let named = BoneMap::for_bvh(&bvh).unwrap();
            assert_eq!(named.convention, Convention::CmuJoints);
            assert!(named.inferred.is_empty(), "{:?}", named.inferred);
            let map =
                crate::infer::tests::assert_inferred_like_named(&bvh, &path.display().to_string());
            println!(
                "{}: {} bones inferred from the shape of j0..j{}, as the CMU names map them; poses equal over {} frames",
                path.display(),
                map.bones.len(),
                bvh.joints.len() - 1,
                bvh.frame_count
            );
        }
    }

    #[test]
    fn a_file_that_is_no_humanoid_is_refused_naming_the_file() {
        let joints: Vec<(&str, Option<usize>, Vec3, Option<Vec3>)> = vec![
            ("a", None, Vec3::ZERO, None),
            ("b", Some(0), Vec3::Y, None),
            ("c", Some(1), Vec3::Y, Some(Vec3::Y)),
        ];
        let bvh = crate::infer::tests::skeleton_bvh(&joints, 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snake.bvh");
        std::fs::write(&path, bvh.write()).unwrap();
        let err = crate::load_capture(&path, None).unwrap_err().to_string();
        assert!(
            err.contains("snake.bvh") && err.contains("no hips") && err.contains("bone map"),
            "{err}"
        );
    }
}
