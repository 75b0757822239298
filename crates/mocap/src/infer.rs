//! Inferring the humanoid from a skeleton's shape when its joint names follow no known naming.
//!
//! The hips are the first joint, going down from the root, that branches three ways or more;
//! among their branches the one reaching highest is the spine, and the two reaching lowest are
//! the legs. Up the spine, the first joint with a branch reaching out to each side is the upper
//! chest (the arms), and the branch above it is the neck, ending at the head (when the head
//! itself comes straight off that joint, as with shoulders on the neck, the joint is the neck). Along a limb, the
//! upper and lower bones are the two consecutive segments that are longest and most in line
//! (a collar bone bends away from the arm; a foot bends away from the shin); the joint before the
//! upper arm is the shoulder, the one after the foot the toes. Left is +X in the rest pose, as
//! BVH files (and the CMU clips) have it: a left hip at positive x. A hand whose joint splits into
//! exactly five chains has fingers: the thumb's chain starts nearest the wrist, the others are
//! index to little by their distance from the thumb. A skeleton whose spine does not rise from
//! its hips or whose legs do not go down (a single chain, a quadruped) is refused, saying what
//! is missing.

use std::collections::BTreeMap;

use bevy::prelude::*;

use ling_core::signals::HumanBone;

use crate::bvh::Bvh;

/// A skeleton as the inference reads it: names, parents (parents first) and rest positions.
pub(crate) struct Skeleton<'a> {
    names: Vec<&'a str>,
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    /// Global rest positions.
    rest: Vec<Vec3>,
    /// The `End Site` of each joint, in global rest coordinates, if it has one.
    ends: Vec<Option<Vec3>>,
}

impl<'a> Skeleton<'a> {
    /// The skeleton of a BVH file in its rest pose.
    pub(crate) fn of_bvh(bvh: &'a Bvh) -> Self {
        let rest = bvh.rest_positions();
        let parents: Vec<Option<usize>> = bvh.joints.iter().map(|j| j.parent).collect();
        let mut children = vec![Vec::new(); parents.len()];
        for (c, p) in parents.iter().enumerate() {
            if let Some(p) = p.filter(|p| *p < c) {
                children[p].push(c);
            }
        }
        Self {
            names: bvh.joints.iter().map(|j| j.name.as_str()).collect(),
            ends: bvh
                .joints
                .iter()
                .zip(&rest)
                .map(|(j, at)| j.end_site.map(|e| *at + e))
                .collect(),
            parents,
            children,
            rest,
        }
    }

    fn children(&self, joint: usize) -> Vec<usize> {
        self.children[joint].clone()
    }

    /// Every point of the subtree under `joint` (its joints and end sites), itself included.
    fn points(&self, joint: usize) -> Vec<Vec3> {
        let mut out = Vec::new();
        let mut stack = vec![joint];
        while let Some(j) = stack.pop() {
            out.push(self.rest[j]);
            out.extend(self.ends[j]);
            stack.extend(&self.children[j]);
        }
        out
    }

    /// The chain from `joint` down its main branch: at each fork, the child whose subtree
    /// reaches farthest from the fork.
    fn chain(&self, joint: usize) -> Vec<usize> {
        let mut out = vec![joint];
        let mut at = joint;
        loop {
            let from = self.rest[at];
            let reach = |c: usize| {
                self.points(c)
                    .iter()
                    .map(|p| p.distance(from))
                    .fold(0.0f32, f32::max)
            };
            let next = self
                .children(at)
                .into_iter()
                .max_by(|a, b| reach(*a).total_cmp(&reach(*b)));
            match next {
                Some(n) => {
                    out.push(n);
                    at = n;
                }
                None => return out,
            }
        }
    }
}

/// The humanoid inferred from `skeleton`'s shape: each mapped bone and its joint's name, or what
/// could not be found.
pub(crate) fn infer(skeleton: &Skeleton) -> Result<BTreeMap<HumanBone, String>, String> {
    use HumanBone::*;
    let n = skeleton.names.len();
    let top = |points: &[Vec3]| points.iter().map(|p| p.y).fold(f32::MIN, f32::max);
    let bottom = |points: &[Vec3]| points.iter().map(|p| p.y).fold(f32::MAX, f32::min);

    // Hips: down from the root to the first joint with three branches or more.
    let root = (0..n)
        .find(|&j| skeleton.parents[j].is_none())
        .ok_or("no root joint")?;
    let mut hips = root;
    while skeleton.children(hips).len() < 3 {
        match skeleton.children(hips).as_slice() {
            [only] => hips = *only,
            _ => {
                return Err(
                    "no hips: no joint branches into a spine and two legs (found a single chain \
                     or a two-way fork)"
                        .into(),
                );
            }
        }
    }
    let hip_at = skeleton.rest[hips];
    let mut branches: Vec<(usize, f32, f32)> = skeleton
        .children(hips)
        .into_iter()
        .map(|c| {
            let p = skeleton.points(c);
            (c, top(&p), bottom(&p))
        })
        .collect();
    branches.sort_by(|a, b| b.1.total_cmp(&a.1));
    let spine_root = branches[0].0;
    let mut legs: Vec<(usize, f32, f32)> = branches[1..].to_vec();
    legs.sort_by(|a, b| a.2.total_cmp(&b.2));
    let legs = &legs[..2];

    let mut map: BTreeMap<HumanBone, usize> = BTreeMap::new();
    map.insert(Hips, hips);

    // Legs: the two lowest branches, sided by where they end.
    let mut leg_length = 0.0f32;
    let mut sided_legs = Vec::new();
    for &(leg, _, low) in legs {
        let chain = skeleton.chain(leg);
        let Some(i) = limb_pair(skeleton, &chain) else {
            return Err(format!(
                "no leg: the branch from the hips at `{}` has no thigh and shin",
                skeleton.names[leg]
            ));
        };
        let foot = skeleton.rest[chain[i + 2]];
        let length = skeleton.rest[chain[i]].distance(skeleton.rest[chain[i + 1]])
            + skeleton.rest[chain[i + 1]].distance(foot);
        if hip_at.y - low < 0.5 * length || foot.y > hip_at.y - 0.5 * length {
            return Err(format!(
                "no legs: the branches from the hips (`{}`) do not go down",
                skeleton.names[hips]
            ));
        }
        leg_length = leg_length.max(length);
        sided_legs.push((foot.x - hip_at.x, chain, i));
    }
    let [left, right] = sides(sided_legs).ok_or_else(|| {
        "no left and right legs: both legs end on the same side of the hips".to_string()
    })?;
    for ((chain, i), bones) in [
        (left, [LeftUpperLeg, LeftLowerLeg, LeftFoot, LeftToes]),
        (right, [RightUpperLeg, RightLowerLeg, RightFoot, RightToes]),
    ] {
        for (k, bone) in bones.into_iter().enumerate() {
            if let Some(&j) = chain.get(i + k) {
                map.insert(bone, j);
            }
        }
    }

    // Spine: up from the hips to the joint where the arms branch off to the sides.
    let mut spine = vec![spine_root];
    let (upper_chest, neck_root, arms) = loop {
        let at = *spine.last().expect("not empty");
        let mut children: Vec<(usize, Vec<Vec3>)> = skeleton
            .children(at)
            .into_iter()
            .map(|c| (c, skeleton.points(c)))
            .collect();
        if children.is_empty() {
            return Err(format!(
                "no arms: the spine from the hips ends at `{}` without a branch to each side",
                skeleton.names[at]
            ));
        }
        children.sort_by(|a, b| top(&b.1).total_cmp(&top(&a.1)));
        let up = children[0].0;
        let side = |points: &[Vec3], sign: f32| {
            points
                .iter()
                .map(|p| (p.x - skeleton.rest[at].x) * sign)
                .fold(f32::MIN, f32::max)
        };
        let reach = 0.1 * leg_length;
        let left = children[1..]
            .iter()
            .filter(|(_, p)| side(p, 1.0) > reach)
            .max_by(|a, b| side(&a.1, 1.0).total_cmp(&side(&b.1, 1.0)));
        let right = children[1..]
            .iter()
            .filter(|(_, p)| side(p, -1.0) > reach)
            .max_by(|a, b| side(&a.1, -1.0).total_cmp(&side(&b.1, -1.0)));
        match (left, right) {
            (Some(l), Some(r)) if l.0 != r.0 => break (at, up, [l.0, r.0]),
            _ => spine.push(up),
        }
    };
    let head_chain = {
        let mut chain = vec![neck_root];
        loop {
            let children = skeleton.children(*chain.last().expect("not empty"));
            match children.as_slice() {
                [only] => chain.push(*only),
                _ => break,
            }
        }
        // A last joint with no end site, or one much shorter than the bone into it, only marks
        // the top of the head (Mixamo's `HeadTop_End`); the head bone itself is longer.
        if let [.., before, last] = chain[..]
            && chain.len() >= 3
        {
            let into = skeleton.rest[last].distance(skeleton.rest[before]);
            let beyond = skeleton.ends[last].map(|e| e.distance(skeleton.rest[last]));
            if beyond.is_none_or(|b| b < 0.5 * into) {
                chain.pop();
            }
        }
        chain
    };
    let head = *head_chain.last().expect("not empty");
    if skeleton.rest[head].y - hip_at.y < 0.5 * leg_length {
        return Err(format!(
            "no upright spine: the head (`{}`) is not above the hips (`{}`) — not a standing \
             humanoid",
            skeleton.names[head], skeleton.names[hips]
        ));
    }
    // Shoulders on the neck (as 3ds Max's Biped has them): the fork is the neck, the spine
    // ends below it.
    let mut spine = spine;
    let neck = match head_chain.len() {
        1 if spine.len() >= 2 => spine.pop(),
        1 => None,
        _ => Some(head_chain[0]),
    };
    let spine_bones: &[HumanBone] = match spine.len() {
        1 => &[Spine],
        2 => &[Spine, Chest],
        _ => &[Spine, Chest, UpperChest],
    };
    let spine_joints: Vec<usize> = match spine.len() {
        1 | 2 => spine.clone(),
        k => vec![spine[0], spine[k - 2], spine[k - 1]],
    };
    for (bone, j) in spine_bones.iter().zip(spine_joints) {
        map.insert(*bone, j);
    }
    if let Some(neck) = neck {
        map.insert(Neck, neck);
    }
    map.insert(Head, head);

    // Arms: shoulder, upper and lower arm, hand, and fingers when the hand splits five ways.
    let mut sided_arms = Vec::new();
    for arm in arms {
        let chain = skeleton.chain(arm);
        let Some(i) = limb_pair(skeleton, &chain) else {
            return Err(format!(
                "no arm: the branch from `{}` at `{}` has no upper and lower arm",
                skeleton.names[upper_chest], skeleton.names[arm]
            ));
        };
        sided_arms.push((skeleton.rest[chain[i + 2]].x - hip_at.x, chain, i));
    }
    let [left, right] = sides(sided_arms)
        .ok_or_else(|| "no left and right arms: both arms end on the same side".to_string())?;
    for ((chain, i), side) in [(left, "left"), (right, "right")] {
        let bone = |name: &str| {
            HumanBone::from_name(&format!("{side}{name}")).expect("a humanoid bone name")
        };
        if i >= 1 {
            map.insert(bone("Shoulder"), chain[i - 1]);
        }
        map.insert(bone("UpperArm"), chain[i]);
        map.insert(bone("LowerArm"), chain[i + 1]);
        map.insert(bone("Hand"), chain[i + 2]);
        for (finger, joints) in fingers(skeleton, chain[i + 2]) {
            let names: [&str; 3] = if finger == "Thumb" {
                ["Metacarpal", "Proximal", "Distal"]
            } else {
                ["Proximal", "Intermediate", "Distal"]
            };
            for (part, j) in names.iter().zip(joints) {
                map.insert(bone(&format!("{finger}{part}")), j);
            }
        }
    }

    Ok(map
        .into_iter()
        .map(|(b, j)| (b, skeleton.names[j].to_string()))
        .collect())
}

/// Where along `chain` the limb's two long bones start: the consecutive pair of segments that
/// is longest and most in line (length sum × cosine of the bend).
fn limb_pair(skeleton: &Skeleton, chain: &[usize]) -> Option<usize> {
    let p = |k: usize| skeleton.rest[chain[k]];
    (0..chain.len().saturating_sub(2))
        .map(|i| {
            let (a, b) = (p(i + 1) - p(i), p(i + 2) - p(i + 1));
            let bend = a.normalize_or_zero().dot(b.normalize_or_zero());
            (i, (a.length() + b.length()) * bend.max(0.0))
        })
        .filter(|(_, score)| *score > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Two limbs, `(x offset from the body's middle, chain, index)`, as `[left, right]`: left at +X.
fn sides(mut limbs: Vec<(f32, Vec<usize>, usize)>) -> Option<[(Vec<usize>, usize); 2]> {
    limbs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (r, l) = (limbs.pop()?, limbs.pop()?);
    (l.0 > 0.0 && r.0 < 0.0).then(|| [(l.1, l.2), (r.1, r.2)])
}

/// The five finger chains under `hand` (first three joints each), named thumb to little; none
/// unless the hand, or a single joint after it, splits into exactly five.
fn fingers(skeleton: &Skeleton, hand: usize) -> Vec<(&'static str, Vec<usize>)> {
    let mut at = hand;
    let mut roots = skeleton.children(at);
    while roots.len() == 1 {
        at = roots[0];
        roots = skeleton.children(at);
    }
    if roots.len() != 5 {
        return Vec::new();
    }
    let wrist = skeleton.rest[hand];
    let thumb = *roots
        .iter()
        .min_by(|a, b| {
            skeleton.rest[**a]
                .distance(wrist)
                .total_cmp(&skeleton.rest[**b].distance(wrist))
        })
        .expect("five");
    let thumb_at = skeleton.rest[thumb];
    let mut others: Vec<usize> = roots.into_iter().filter(|r| *r != thumb).collect();
    others.sort_by(|a, b| {
        skeleton.rest[*a]
            .distance(thumb_at)
            .total_cmp(&skeleton.rest[*b].distance(thumb_at))
    });
    std::iter::once(thumb)
        .chain(others)
        .zip(["Thumb", "Index", "Middle", "Ring", "Little"])
        .map(|(root, name)| {
            let mut chain = skeleton.chain(root);
            chain.truncate(3);
            (name, chain)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bvh::{Channel, Joint};
    use crate::retarget::{BoneMap, Convention, retarget};

    /// A BVH of `joints` (name, parent, offset, end site), with `frames` frames of rotations
    /// up to 25° on every joint and the root moving, deterministic.
    pub(crate) fn skeleton_bvh(
        joints: &[(&str, Option<usize>, Vec3, Option<Vec3>)],
        frames: usize,
    ) -> Bvh {
        use Channel::*;
        let mut out = Vec::new();
        let mut first = 0;
        for (name, parent, offset, end) in joints {
            let channels = if parent.is_none() {
                vec![
                    Xposition, Yposition, Zposition, Zrotation, Xrotation, Yrotation,
                ]
            } else {
                vec![Zrotation, Xrotation, Yrotation]
            };
            out.push(Joint {
                name: name.to_string(),
                parent: *parent,
                offset: *offset,
                first_channel: first,
                end_site: *end,
                channels: channels.clone(),
            });
            first += channels.len();
        }
        let mut values = Vec::with_capacity(frames * first);
        let mut seed = 0x2545_f491u32;
        for f in 0..frames {
            for (i, j) in out.iter().enumerate() {
                for c in &j.channels {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let r = (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
                    values.push(match (c, i) {
                        (Xposition, _) => f as f32 * 0.5,
                        (Yposition, _) => j.offset.y,
                        (Zposition, _) => r,
                        _ => r * 25.0,
                    });
                }
            }
        }
        Bvh {
            joints: out,
            frame_time: 1.0 / 30.0,
            frame_count: frames,
            values,
        }
    }

    /// The same skeleton and motion with every joint renamed `j0`, `j1`, ...
    pub(crate) fn renamed(bvh: &Bvh) -> Bvh {
        let mut out = bvh.clone();
        for (i, j) in out.joints.iter_mut().enumerate() {
            j.name = format!("j{i}");
        }
        out
    }

    /// Checks that `bvh` with its joints renamed infers the map the names give, bone for bone,
    /// and retargets to the same poses.
    pub(crate) fn assert_inferred_like_named(bvh: &Bvh, what: &str) -> BoneMap {
        let named = BoneMap::for_bvh(bvh).unwrap();
        assert_ne!(named.convention, Convention::Inferred, "{what}");
        let anon = renamed(bvh);
        let inferred = BoneMap::for_bvh(&anon).unwrap();
        assert_eq!(inferred.convention, Convention::Inferred, "{what}");
        assert_eq!(
            inferred.inferred.len(),
            inferred.bones.len(),
            "{what}: all inferred"
        );
        let index = |name: &str| bvh.joint_index(name).unwrap();
        let expected: BTreeMap<HumanBone, String> = named
            .bones
            .iter()
            .map(|(b, n)| (*b, format!("j{}", index(n))))
            .collect();
        for (bone, joint) in &expected {
            assert_eq!(
                inferred.bones.get(bone),
                Some(joint),
                "{what}: {} is {} by name",
                bone.name(),
                bvh.joints[index(&named.bones[bone])].name
            );
        }
        assert_eq!(inferred.bones, expected, "{what}: no extra bones");
        let (a, b) = (
            retarget(bvh, &named).unwrap(),
            retarget(&anon, &inferred).unwrap(),
        );
        assert_eq!(a.poses.len(), b.poses.len());
        for (pa, pb) in a.poses.iter().zip(&b.poses) {
            for (ra, rb) in pa.rotations.iter().zip(&pb.rotations) {
                assert!(ra.dot(*rb).abs() > 1.0 - 1e-6, "{what}: {ra} vs {rb}");
            }
            assert!((pa.hips - pb.hips).length() < 1e-5, "{what}");
        }
        inferred
    }

    /// A Mixamo-named T-pose skeleton in centimetres with five three-joint fingers per hand
    /// (and an end joint), toes and toe ends.
    pub(crate) fn mixamo_like() -> Vec<(String, Option<usize>, Vec3, Option<Vec3>)> {
        let mut j: Vec<(String, Option<usize>, Vec3, Option<Vec3>)> = Vec::new();
        let mut add = |name: &str, parent: Option<usize>, offset: Vec3, end: Option<Vec3>| {
            j.push((name.to_string(), parent, offset, end));
            j.len() - 1
        };
        let hips = add("Hips", None, Vec3::new(0.0, 95.0, 0.0), None);
        let spine = add("Spine", Some(hips), Vec3::new(0.0, 9.0, 1.0), None);
        let spine1 = add("Spine1", Some(spine), Vec3::new(0.0, 11.0, 0.0), None);
        let spine2 = add("Spine2", Some(spine1), Vec3::new(0.0, 12.0, 0.0), None);
        let neck = add("Neck", Some(spine2), Vec3::new(0.0, 14.0, 0.0), None);
        add(
            "Head",
            Some(neck),
            Vec3::new(0.0, 10.0, 1.0),
            Some(Vec3::new(0.0, 18.0, 0.0)),
        );
        for (side, s) in [("Left", 1.0f32), ("Right", -1.0)] {
            let up = add(
                &format!("{side}UpLeg"),
                Some(hips),
                Vec3::new(9.0 * s, -6.0, 0.0),
                None,
            );
            let leg = add(
                &format!("{side}Leg"),
                Some(up),
                Vec3::new(0.0, -41.0, 0.0),
                None,
            );
            let foot = add(
                &format!("{side}Foot"),
                Some(leg),
                Vec3::new(0.0, -40.0, -1.0),
                None,
            );
            let toe = add(
                &format!("{side}ToeBase"),
                Some(foot),
                Vec3::new(0.0, -6.0, 12.0),
                None,
            );
            add(
                &format!("{side}Toe_End"),
                Some(toe),
                Vec3::new(0.0, 0.0, 7.0),
                Some(Vec3::new(0.0, 0.0, 2.0)),
            );
            let shoulder = add(
                &format!("{side}Shoulder"),
                Some(spine2),
                Vec3::new(5.0 * s, 9.0, 0.0),
                None,
            );
            let arm = add(
                &format!("{side}Arm"),
                Some(shoulder),
                Vec3::new(12.0 * s, 0.0, 0.0),
                None,
            );
            let fore = add(
                &format!("{side}ForeArm"),
                Some(arm),
                Vec3::new(26.0 * s, 0.0, 0.0),
                None,
            );
            let hand = add(
                &format!("{side}Hand"),
                Some(fore),
                Vec3::new(25.0 * s, 0.0, 0.0),
                None,
            );
            for (finger, root) in [
                ("Thumb", Vec3::new(3.0, -0.5, 2.5)),
                ("Index", Vec3::new(9.5, 0.0, 2.5)),
                ("Middle", Vec3::new(9.7, 0.0, 0.3)),
                ("Ring", Vec3::new(9.2, 0.0, -1.8)),
                ("Pinky", Vec3::new(8.3, 0.0, -3.8)),
            ] {
                let mut at = add(
                    &format!("{side}Hand{finger}1"),
                    Some(hand),
                    root * Vec3::new(s, 1.0, 1.0),
                    None,
                );
                for k in 2..=4 {
                    at = add(
                        &format!("{side}Hand{finger}{k}"),
                        Some(at),
                        Vec3::new(3.0 * s, 0.0, 0.0),
                        (k == 4).then_some(Vec3::new(2.0 * s, 0.0, 0.0)),
                    );
                }
            }
        }
        j
    }

    fn build(j: &[(String, Option<usize>, Vec3, Option<Vec3>)], frames: usize) -> Bvh {
        let joints: Vec<(&str, Option<usize>, Vec3, Option<Vec3>)> = j
            .iter()
            .map(|(n, p, o, e)| (n.as_str(), *p, *o, *e))
            .collect();
        skeleton_bvh(&joints, frames)
    }

    #[test]
    fn a_renamed_skeleton_is_inferred_bone_for_bone_with_fingers() {
        let bvh = build(&mixamo_like(), 20);
        let map = assert_inferred_like_named(&bvh, "mixamo-like skeleton");
        // 6 trunk + 2 × (4 leg + 4 arm + 15 finger) bones.
        assert_eq!(map.bones.len(), 52);
        assert_eq!(map.bones[&HumanBone::LeftThumbMetacarpal], {
            let i = bvh.joint_index("LeftHandThumb1").unwrap();
            format!("j{i}")
        });
        assert_eq!(map.bones[&HumanBone::RightLittleDistal], {
            let i = bvh.joint_index("RightHandPinky3").unwrap();
            format!("j{i}")
        });
        // What `mocap inspect` prints reads back as a custom map with the same bones.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.ron");
        std::fs::write(&path, map.to_ron()).unwrap();
        assert!(map.to_ron().contains("\"leftHand\": \"j"));
        assert!(map.to_ron().contains("// inferred from the shape"));
        let back = BoneMap::load_custom(&path).unwrap();
        assert_eq!(back.bones, map.bones);
    }

    #[test]
    fn shoulders_on_the_neck_make_the_fork_the_neck() {
        // As 3ds Max's Biped: the clavicles hang from the neck, the head is its only other child.
        let mut j = mixamo_like();
        let index = |j: &[(String, Option<usize>, Vec3, Option<Vec3>)], n: &str| {
            j.iter().position(|x| x.0 == n).unwrap()
        };
        let (neck, head) = (index(&j, "Neck"), index(&j, "Head"));
        for side in ["LeftShoulder", "RightShoulder"] {
            let k = index(&j, side);
            j[k].1 = Some(neck);
            j[k].2.y -= 14.0;
        }
        let bvh = build(&j, 3);
        let map = BoneMap::for_bvh(&renamed(&bvh)).unwrap();
        let name = |i: usize| format!("j{i}");
        assert_eq!(map.bones[&HumanBone::Neck], name(neck));
        assert_eq!(map.bones[&HumanBone::Head], name(head));
        assert_eq!(map.bones[&HumanBone::Spine], name(index(&j, "Spine")));
        assert_eq!(map.bones[&HumanBone::Chest], name(index(&j, "Spine1")));
        assert_eq!(map.bones[&HumanBone::UpperChest], name(index(&j, "Spine2")));
        assert_eq!(
            map.bones[&HumanBone::LeftShoulder],
            name(index(&j, "LeftShoulder"))
        );
        assert_eq!(map.bones[&HumanBone::LeftHand], name(index(&j, "LeftHand")));
    }

    #[test]
    fn a_head_top_marker_is_not_the_head() {
        // Mixamo through Blender: `HeadTop_End` above the head, with a short end site.
        let mut j = mixamo_like();
        let head = j.iter().position(|x| x.0 == "Head").unwrap();
        j[head].3 = None;
        j.push((
            "HeadTop_End".into(),
            Some(head),
            Vec3::new(0.0, 18.0, 0.0),
            Some(Vec3::new(0.0, 2.0, 0.0)),
        ));
        let bvh = build(&j, 3);
        assert_inferred_like_named(&bvh, "skeleton with HeadTop_End");
    }

    #[test]
    fn fingers_the_names_miss_are_filled_in_from_the_shape() {
        let mut j = mixamo_like();
        for (name, ..) in &mut j {
            if name.contains("Hand") && name.len() > "RightHand".len() {
                *name = name.replace("Hand", "Digit");
            }
        }
        let bvh = build(&j, 2);
        let map = BoneMap::for_bvh(&bvh).unwrap();
        assert_eq!(map.convention, Convention::Mixamo);
        assert_eq!(map.bones[&HumanBone::LeftIndexProximal], "LeftDigitIndex1");
        assert!(map.inferred.contains(&HumanBone::LeftIndexProximal));
        assert!(!map.inferred.contains(&HumanBone::LeftHand));
        assert_eq!(map.inferred.len(), 30);
    }

    #[test]
    fn shapes_that_are_no_humanoid_are_refused_saying_what_is_missing() {
        let chain: Vec<(String, Option<usize>, Vec3, Option<Vec3>)> = (0..8)
            .map(|i| {
                (
                    format!("seg{i}"),
                    (i > 0).then(|| i - 1),
                    Vec3::new(0.0, 10.0, 0.0),
                    (i == 7).then_some(Vec3::Y),
                )
            })
            .collect();
        let err = BoneMap::for_bvh(&build(&chain, 1)).unwrap_err().to_string();
        assert!(
            err.contains("no hips") && err.contains("single chain"),
            "{err}"
        );

        // A dog: hind legs and a tail from the pelvis, the spine runs forward to the shoulders
        // (front legs down to each side) and the head is no higher than the pelvis.
        let mut d: Vec<(String, Option<usize>, Vec3, Option<Vec3>)> = Vec::new();
        let mut add = |n: &str, p: Option<usize>, o: Vec3, e: Option<Vec3>| {
            d.push((n.to_string(), p, o, e));
            d.len() - 1
        };
        let pelvis = add("a", None, Vec3::new(0.0, 50.0, 0.0), None);
        let tail = add("b", Some(pelvis), Vec3::new(0.0, 2.0, -5.0), None);
        add(
            "c",
            Some(tail),
            Vec3::new(0.0, -6.0, -20.0),
            Some(Vec3::Z * -5.0),
        );
        let back = add("d", Some(pelvis), Vec3::new(0.0, 2.0, 20.0), None);
        let shoulders = add("e", Some(back), Vec3::new(0.0, 0.0, 25.0), None);
        let neck = add("f", Some(shoulders), Vec3::new(0.0, 5.0, 10.0), None);
        add(
            "g",
            Some(neck),
            Vec3::new(0.0, 0.0, 10.0),
            Some(Vec3::Z * 8.0),
        );
        for (s, at) in [
            (1.0, pelvis),
            (-1.0, pelvis),
            (1.0, shoulders),
            (-1.0, shoulders),
        ] {
            let a = add("h", Some(at), Vec3::new(8.0 * s, -3.0, 0.0), None);
            let b = add("i", Some(a), Vec3::new(0.0, -22.0, 0.0), None);
            let c = add("k", Some(b), Vec3::new(0.0, -22.0, 0.0), None);
            add("l", Some(c), Vec3::new(0.0, -3.0, 5.0), Some(Vec3::Z * 2.0));
        }
        let err = BoneMap::for_bvh(&build(&d, 1)).unwrap_err().to_string();
        assert!(
            err.contains("no upright spine") && err.contains("supply a bone map"),
            "{err}"
        );

        // A humanoid whose joints share names cannot be mapped by name.
        let mut same = mixamo_like();
        for (name, ..) in &mut same {
            *name = "bone".into();
        }
        let err = BoneMap::for_bvh(&build(&same, 1)).unwrap_err().to_string();
        assert!(err.contains("joint names repeat"), "{err}");
    }
}
