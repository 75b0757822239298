//! Tracked hands as bone rotations: wrist angles and finger bends put on the performer's
//! humanoid pose, mirrored as the camera sees her.

use bevy::prelude::*;
use ling_core::signals::{HumanBone, HumanoidPose};

/// Which of a hand's filters and rest poses: the hand the model calls left (0) or right (1).
pub(super) fn side(model_right: bool) -> usize {
    model_right as usize
}

/// Turns the performer's hand from its rest by the tracked wrist angles (degrees: yaw, pitch,
/// roll as [`WristPose`](crate::hand::WristPose) has them), mirrored like the fingers and held to what a
/// wrist can do.
pub(super) fn pose_wrist(pose: &mut HumanoidPose, model_right: bool, angles: [f32; 3]) {
    let (bone, sign) = if model_right {
        (HumanBone::LeftHand, -1.0)
    } else {
        (HumanBone::RightHand, 1.0)
    };
    // The hand lies along the arm (X), palm down: tipping the fingers to the camera is a bend
    // (about Z), turning the palm is a twist of the forearm (about X), leaning is deviation
    // (about Y).
    let bend = angles[1].clamp(-70.0, 70.0).to_radians();
    let twist = angles[0].clamp(-80.0, 80.0).to_radians();
    let lean = angles[2].clamp(-30.0, 30.0).to_radians();
    let i = bone.index();
    pose.rotations[i] = pose.rotations[i]
        * Quat::from_rotation_x(sign * twist)
        * Quat::from_rotation_y(sign * lean)
        * Quat::from_rotation_z(sign * bend);
}

/// Bends the performer's fingers: `bends[finger][joint]` in degrees, thumb to little finger,
/// base to tip. The camera sees the performer as a mirror does, so a hand the model calls
/// right is her left.
pub(super) fn pose_fingers(pose: &mut HumanoidPose, model_right: bool, bends: &[[f32; 3]; 5]) {
    let (side, sign) = if model_right {
        ("left", -1.0)
    } else {
        ("right", 1.0)
    };
    let joints = [
        ["ThumbMetacarpal", "ThumbProximal", "ThumbDistal"],
        ["IndexProximal", "IndexIntermediate", "IndexDistal"],
        ["MiddleProximal", "MiddleIntermediate", "MiddleDistal"],
        ["RingProximal", "RingIntermediate", "RingDistal"],
        ["LittleProximal", "LittleIntermediate", "LittleDistal"],
    ];
    for (f, names) in joints.iter().enumerate() {
        for (j, name) in names.iter().enumerate() {
            let Some(bone) = HumanBone::from_name(&format!("{side}{name}")) else {
                continue;
            };
            // Fingers lie along the arm with the palm down: a bend turns the tip down
            // (about Z), as the keyframed demo's finger curls do. The thumb bends half as far
            // about its own axis.
            let amount = if f == 0 { 0.5 } else { 1.0 };
            pose.rotations[bone.index()] =
                Quat::from_rotation_z((sign * amount * bends[f][j]).to_radians());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrist_turn_bends_the_mirrored_hand_within_reach() {
        let mut pose = HumanoidPose::default();
        pose_wrist(&mut pose, true, [0.0, 200.0, 0.0]);
        let (_, angle) = pose.rotations[HumanBone::LeftHand.index()].to_axis_angle();
        assert!((angle.to_degrees() - 70.0).abs() < 0.01, "held to 70°");
        assert_eq!(pose.rotations[HumanBone::RightHand.index()], Quat::IDENTITY);
    }

    #[test]
    fn finger_bends_curl_the_mirrored_hand() {
        let mut pose = HumanoidPose::default();
        let mut bends = [[0.0; 3]; 5];
        bends[1] = [60.0, 45.0, 30.0];
        pose_fingers(&mut pose, true, &bends);
        let index = HumanBone::from_name("leftIndexProximal").unwrap();
        let (_, angle) = pose.rotations[index.index()].to_axis_angle();
        assert!((angle.to_degrees() - 60.0).abs() < 0.01);
        let untouched = HumanBone::from_name("rightIndexProximal").unwrap();
        assert_eq!(pose.rotations[untouched.index()], Quat::IDENTITY);
        // Curled tips go down, towards the palm, with the palm down.
        let fk = pose.model_transforms();
        let tip = fk[HumanBone::from_name("leftIndexDistal").unwrap().index()].translation;
        let base = fk[index.index()].translation;
        assert!(tip.y < base.y - 0.01, "{base} → {tip}");
    }
}
