//! Guessing the humanoid bone map of a plain glTF file from its joint names: the namings
//! `ling_mocap` knows (Mixamo, VRM, Unity, CMU), then side-marked keywords (`UpperArmL`,
//! `upperarm_l`, `LeftUpperArm`, `Arm.L`).

use std::collections::BTreeMap;

use ling_core::signals::HumanBone;
use ling_mocap::BoneMap;

use super::NodeRef;

/// Side of a joint name and its base: `UpperArmL`, `upperarm_l`, `LeftUpperArm`, `Arm.L`.
fn side_and_base(name: &str) -> (Option<bool>, String) {
    let lower = name.to_ascii_lowercase();
    let alnum = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    for (prefix, left) in [("left", true), ("right", false)] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return (Some(left), alnum(rest));
        }
    }
    for (suffix, left) in [
        ("_l", true),
        ("_r", false),
        (".l", true),
        (".r", false),
        ("-l", true),
        ("-r", false),
    ] {
        if let Some(rest) = lower.strip_suffix(suffix) {
            return (Some(left), alnum(rest));
        }
    }
    // `UpperArmL`: a capital L/R after a lower-case letter or digit.
    let chars: Vec<char> = name.chars().collect();
    if chars.len() >= 2 {
        let (last, before) = (chars[chars.len() - 1], chars[chars.len() - 2]);
        if (last == 'L' || last == 'R') && (before.is_ascii_lowercase() || before.is_ascii_digit())
        {
            return (Some(last == 'L'), alnum(&lower[..lower.len() - 1]));
        }
    }
    (None, alnum(&lower))
}

/// Infers a humanoid map from joint names: the known namings first (Mixamo, VRM, Unity, CMU),
/// then side-suffixed keywords; whichever maps more bones wins.
pub(super) fn infer_humanoid(joints: &[NodeRef]) -> BTreeMap<HumanBone, NodeRef> {
    use HumanBone::*;
    let by_name = |n: &str| joints.iter().find(|j| j.name == n).cloned();
    let names: Vec<&str> = joints.iter().map(|j| j.name.as_str()).collect();
    let known: BTreeMap<HumanBone, NodeRef> = BoneMap::detect(&names)
        .map(|m| {
            m.bones
                .into_iter()
                .filter_map(|(b, n)| by_name(&n).map(|r| (b, r)))
                .collect()
        })
        .unwrap_or_default();

    let central: [(HumanBone, &[&str]); 6] = [
        (Hips, &["hips", "pelvis", "hip"]),
        (Spine, &["spine", "abdomen", "spine01", "spine1"]),
        (Chest, &["chest", "torso", "spine02", "spine2"]),
        (UpperChest, &["upperchest", "spine03", "spine3"]),
        (Neck, &["neck"]),
        (Head, &["head"]),
    ];
    let sided: [((HumanBone, HumanBone), &[&str]); 8] = [
        (
            (LeftShoulder, RightShoulder),
            &["shoulder", "clavicle", "collar"],
        ),
        ((LeftUpperArm, RightUpperArm), &["upperarm", "arm"]),
        (
            (LeftLowerArm, RightLowerArm),
            &["lowerarm", "forearm", "elbow"],
        ),
        ((LeftHand, RightHand), &["hand", "wrist", "palm"]),
        (
            (LeftUpperLeg, RightUpperLeg),
            &["upperleg", "upleg", "thigh"],
        ),
        (
            (LeftLowerLeg, RightLowerLeg),
            &["lowerleg", "leg", "calf", "shin", "knee"],
        ),
        ((LeftFoot, RightFoot), &["foot", "ankle"]),
        ((LeftToes, RightToes), &["toes", "toe", "toebase", "ball"]),
    ];
    let parsed: Vec<(Option<bool>, String, String)> = joints
        .iter()
        .map(|j| {
            let (side, base) = side_and_base(&j.name);
            let stripped = base
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string();
            (side, base, stripped)
        })
        .collect();
    let find = |side: Option<bool>, keys: &[&str]| -> Option<NodeRef> {
        // Exact base names first, then with trailing digits dropped (`Torso_1`, `Palm2L`).
        for exact in [true, false] {
            for key in keys {
                for (j, (s, base, stripped)) in joints.iter().zip(&parsed) {
                    let b = if exact { base } else { stripped };
                    if *s == side && b == key {
                        return Some(j.clone());
                    }
                }
            }
        }
        None
    };
    let mut generic = BTreeMap::new();
    for (bone, keys) in central {
        if let Some(j) = find(None, keys) {
            generic.insert(bone, j);
        }
    }
    for ((left, right), keys) in sided {
        if let Some(j) = find(Some(true), keys) {
            generic.insert(left, j);
        }
        if let Some(j) = find(Some(false), keys) {
            generic.insert(right, j);
        }
    }
    if generic.len() > known.len() {
        generic
    } else {
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_suffixes_are_recognised() {
        assert_eq!(side_and_base("UpperArmL"), (Some(true), "upperarm".into()));
        assert_eq!(side_and_base("thigh_r"), (Some(false), "thigh".into()));
        assert_eq!(side_and_base("LeftForeArm"), (Some(true), "forearm".into()));
        assert_eq!(side_and_base("Hips"), (None, "hips".into()));
        assert_eq!(side_and_base("Torso_1"), (None, "torso1".into()));
    }
}
