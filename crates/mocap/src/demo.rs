//! The built-in demo performance, authored as keyframes: Ling enters through the stage-right
//! door with quick small opera steps, strikes a 亮相 pose with an orchid-finger gesture, turns
//! a full circle with her water sleeves flying, bows, and opens her arms to the house — blinking
//! and singing throughout.

use std::collections::BTreeMap;

use bevy::prelude::*;

use super::clip::KeyframeClip;
use ling_core::signals::HumanBone as B;

pub(crate) type Pose = BTreeMap<B, Vec3>;

fn v(x: f32, y: f32, z: f32) -> Vec3 {
    Vec3::new(x, y, z)
}

/// Upper body standing at ease: arms lowered and a little forward, elbows soft.
pub(crate) fn at_ease() -> Pose {
    Pose::from([
        (B::Spine, v(0.0, 0.0, 0.0)),
        (B::Chest, v(0.0, 0.0, 0.0)),
        (B::UpperChest, v(0.0, 0.0, 0.0)),
        (B::Neck, v(0.0, 0.0, 0.0)),
        (B::Head, v(0.0, 0.0, 0.0)),
        (B::LeftUpperArm, v(0.0, -18.0, -68.0)),
        (B::LeftLowerArm, v(0.0, -28.0, 0.0)),
        (B::LeftHand, v(0.0, 0.0, -10.0)),
        (B::RightUpperArm, v(0.0, 18.0, 68.0)),
        (B::RightLowerArm, v(0.0, 28.0, 0.0)),
        (B::RightHand, v(0.0, 0.0, 10.0)),
    ])
}

/// Legs standing straight.
fn stand() -> Pose {
    [
        B::LeftUpperLeg,
        B::LeftLowerLeg,
        B::LeftFoot,
        B::RightUpperLeg,
        B::RightLowerLeg,
        B::RightFoot,
    ]
    .into_iter()
    .map(|b| (b, Vec3::ZERO))
    .collect()
}

/// Finger curls for one hand: (thumb, index, middle, ring, little) in degrees per joint.
pub(crate) fn fingers(left: bool, curls: [f32; 5]) -> Pose {
    let names = ["Thumb", "Index", "Middle", "Ring", "Little"];
    let side = if left { "left" } else { "right" };
    let sign = if left { -1.0 } else { 1.0 };
    let mut pose = Pose::new();
    for (finger, curl) in names.iter().zip(curls) {
        for joint in ["Metacarpal", "Proximal", "Intermediate", "Distal"] {
            if let Some(bone) = B::from_name(&format!("{side}{finger}{joint}")) {
                // Fingers point along the arm with the palm down: curling turns tips down.
                pose.insert(bone, v(0.0, 0.0, sign * curl));
            }
        }
    }
    pose
}

fn with(mut base: Pose, overrides: &[(B, Vec3)]) -> Pose {
    for (b, e) in overrides {
        base.insert(*b, *e);
    }
    base
}

fn key(clip: &mut KeyframeClip, t: f32, pose: &Pose) {
    for (bone, euler) in pose {
        clip.bone(*bone).key(t, *euler);
    }
}

/// The demo performance (12 s).
pub(crate) fn demo_clip() -> KeyframeClip {
    let mut c = KeyframeClip {
        duration: 12.0,
        ..default()
    };

    // --- Stage path: out of the door, diagonally to centre, face the house; a full turn later.
    let door = (-3.3f32, -2.9f32);
    let centre = (0.0f32, 0.35f32);
    let heading = (centre.0 - door.0).atan2(centre.1 - door.1).to_degrees();
    let (walk_start, walk_end) = (0.6f32, 4.2f32);
    c.root
        .key(0.0, v(door.0, door.1, heading))
        .key(walk_start, v(door.0, door.1, heading));
    // Keys along the straight walk keep the spline from bowing the path.
    for i in 1..=6 {
        let s = i as f32 / 6.0;
        let eased = s * s * (3.0 - 2.0 * s) * 0.35 + s * 0.65;
        let t = walk_start + (walk_end - walk_start) * s;
        let x = door.0 + (centre.0 - door.0) * eased;
        let z = door.1 + (centre.1 - door.1) * eased;
        c.root.key(t, v(x, z, heading));
    }
    c.root
        .key(4.8, v(centre.0, centre.1, 0.0))
        .key(6.7, v(centre.0, centre.1, 0.0))
        .key(8.2, v(centre.0, centre.1, 360.0))
        .key(12.0, v(centre.0, centre.1, 360.0));

    // --- Legs: stand in the door, a walk cycle of quick small steps, then stand.
    key(&mut c, 0.0, &stand());
    key(&mut c, walk_start, &stand());
    let step = 0.34f32; // seconds per step; a cycle is two steps
    let mut t = walk_start + step / 2.0;
    let mut phase = 0usize;
    while t < walk_end - step / 2.0 {
        // Four keys per cycle: contact L, passing, contact R, passing.
        let (lu, ll, ru, rl, bob) = match phase % 4 {
            0 => (-18.0, 6.0, 12.0, 12.0, -0.012),
            1 => (-2.0, 8.0, -4.0, 38.0, 0.0),
            2 => (12.0, 12.0, -18.0, 6.0, -0.012),
            _ => (-4.0, 38.0, -2.0, 8.0, 0.0),
        };
        let sway = if phase % 4 < 2 { 3.0 } else { -3.0 };
        key(
            &mut c,
            t,
            &Pose::from([
                (B::LeftUpperLeg, v(lu, 0.0, 0.0)),
                (B::LeftLowerLeg, v(ll, 0.0, 0.0)),
                (B::LeftFoot, v(-(lu + ll) * 0.5, 0.0, 0.0)),
                (B::RightUpperLeg, v(ru, 0.0, 0.0)),
                (B::RightLowerLeg, v(rl, 0.0, 0.0)),
                (B::RightFoot, v(-(ru + rl) * 0.5, 0.0, 0.0)),
            ]),
        );
        c.hips_offset.key(t, v(0.0, bob - 0.01, 0.0));
        c.bone(B::Spine).key(t, v(2.0, sway, 0.0));
        t += step / 2.0;
        phase += 1;
    }
    key(&mut c, walk_end + 0.2, &stand());
    c.hips_offset
        .key(0.0, Vec3::ZERO)
        .key(walk_start, Vec3::ZERO)
        .key(walk_end + 0.2, Vec3::ZERO);

    // --- Upper body through the show.
    // Walking: arms carried in front, sleeves hanging.
    let carry = with(
        at_ease(),
        &[
            (B::LeftUpperArm, v(0.0, -38.0, -58.0)),
            (B::LeftLowerArm, v(0.0, -48.0, 0.0)),
            (B::RightUpperArm, v(0.0, 38.0, 58.0)),
            (B::RightLowerArm, v(0.0, 48.0, 0.0)),
            (B::Head, v(-3.0, 0.0, 0.0)),
        ],
    );
    let mut upper = at_ease();
    upper.remove(&B::Spine);
    key(&mut c, 0.0, &upper);
    let mut carry_upper = carry.clone();
    carry_upper.remove(&B::Spine);
    key(&mut c, walk_start + 0.3, &carry_upper);
    key(&mut c, walk_end - 0.2, &carry_upper);
    c.bone(B::Spine).key(0.0, Vec3::ZERO);
    c.bone(B::Spine).key(walk_end + 0.2, Vec3::ZERO);

    // 亮相: right hand raised in an orchid-finger gesture, left arm curved before the chest,
    // knees soft; the gaze follows the hand, then snaps to the house.
    let orchid_right = fingers(false, [25.0, 0.0, 40.0, 10.0, -5.0]);
    let open_right = fingers(false, [0.0; 5]);
    let open_left = fingers(true, [0.0; 5]);
    let soft_left = fingers(true, [15.0, 10.0, 20.0, 25.0, 30.0]);
    let pose_up = with(
        at_ease(),
        &[
            (B::Chest, v(0.0, -10.0, 0.0)),
            (B::LeftUpperArm, v(0.0, -62.0, -48.0)),
            (B::LeftLowerArm, v(0.0, -78.0, 0.0)),
            (B::LeftHand, v(0.0, 0.0, 20.0)),
            (B::RightUpperArm, v(0.0, 22.0, -38.0)),
            (B::RightLowerArm, v(0.0, 25.0, -45.0)),
            (B::RightHand, v(0.0, 0.0, -25.0)),
            (B::Head, v(-8.0, -28.0, 0.0)),
        ],
    );
    let pose_snap = with(pose_up.clone(), &[(B::Head, v(4.0, 0.0, 0.0))]);
    let knees = Pose::from([
        (B::LeftUpperLeg, v(-10.0, 0.0, 0.0)),
        (B::LeftLowerLeg, v(18.0, 0.0, 0.0)),
        (B::LeftFoot, v(-8.0, 0.0, 0.0)),
        (B::RightUpperLeg, v(-10.0, 0.0, 0.0)),
        (B::RightLowerLeg, v(18.0, 0.0, 0.0)),
        (B::RightFoot, v(-8.0, 0.0, 0.0)),
    ]);
    key(&mut c, 4.8, &with(at_ease(), &[]));
    key(&mut c, 4.8, &open_right);
    key(&mut c, 4.8, &open_left);
    key(&mut c, 5.5, &pose_up);
    key(&mut c, 5.5, &orchid_right);
    key(&mut c, 5.5, &soft_left);
    key(&mut c, 5.5, &knees);
    c.hips_offset.key(5.5, v(0.0, -0.03, 0.0));
    key(&mut c, 6.0, &pose_up);
    key(&mut c, 6.15, &pose_snap);
    key(&mut c, 6.6, &pose_snap);
    key(&mut c, 6.6, &orchid_right);
    key(&mut c, 6.6, &knees);
    c.hips_offset.key(6.6, v(0.0, -0.03, 0.0));

    // The turn: arms open wide so the sleeves fly out, then gather.
    let wide = with(
        at_ease(),
        &[
            (B::LeftUpperArm, v(0.0, -10.0, -18.0)),
            (B::LeftLowerArm, v(0.0, -10.0, 8.0)),
            (B::RightUpperArm, v(0.0, 10.0, 18.0)),
            (B::RightLowerArm, v(0.0, 10.0, -8.0)),
            (B::Head, v(-4.0, 0.0, 0.0)),
        ],
    );
    key(&mut c, 7.1, &wide);
    key(&mut c, 7.1, &open_right);
    key(&mut c, 7.1, &stand());
    c.hips_offset.key(7.1, Vec3::ZERO);
    key(&mut c, 7.9, &wide);
    key(&mut c, 8.5, &at_ease());

    // The bow: hands together before the waist, a deep bow from the spine, and up again.
    let hands_in = with(
        at_ease(),
        &[
            (B::LeftUpperArm, v(0.0, -45.0, -66.0)),
            (B::LeftLowerArm, v(0.0, -72.0, 0.0)),
            (B::RightUpperArm, v(0.0, 45.0, 66.0)),
            (B::RightLowerArm, v(0.0, 72.0, 0.0)),
        ],
    );
    let bowed = with(
        hands_in.clone(),
        &[
            (B::Spine, v(16.0, 0.0, 0.0)),
            (B::Chest, v(14.0, 0.0, 0.0)),
            (B::UpperChest, v(8.0, 0.0, 0.0)),
            (B::Neck, v(8.0, 0.0, 0.0)),
            (B::Head, v(12.0, 0.0, 0.0)),
        ],
    );
    key(&mut c, 8.9, &hands_in);
    key(&mut c, 9.5, &bowed);
    key(&mut c, 9.9, &bowed);
    c.hips_offset
        .key(8.9, Vec3::ZERO)
        .key(9.5, v(0.0, -0.02, -0.06))
        .key(9.9, v(0.0, -0.02, -0.06))
        .key(10.5, Vec3::ZERO);
    key(&mut c, 8.9, &knees);
    key(&mut c, 10.5, &stand());
    key(&mut c, 10.5, &hands_in);

    // Finale: arms open low to the house, head lifted.
    let finale = with(
        at_ease(),
        &[
            (B::LeftUpperArm, v(0.0, -28.0, -42.0)),
            (B::LeftLowerArm, v(0.0, -12.0, 0.0)),
            (B::RightUpperArm, v(0.0, 28.0, 42.0)),
            (B::RightLowerArm, v(0.0, 12.0, 0.0)),
            (B::Head, v(-6.0, 8.0, 0.0)),
            (B::Chest, v(-3.0, 0.0, 0.0)),
        ],
    );
    key(&mut c, 11.2, &finale);
    key(&mut c, 12.0, &finale);
    key(&mut c, 11.2, &open_left);
    key(&mut c, 12.0, &stand());

    // --- Face: blinks, singing, smiles.
    for tb in [1.4f32, 3.6, 5.2, 7.4, 9.2, 10.9] {
        for name in ["eyeBlinkLeft", "eyeBlinkRight"] {
            c.expression(name)
                .key(tb - 0.02, Vec3::ZERO)
                .key(tb + 0.06, Vec3::X)
                .key(tb + 0.15, Vec3::ZERO);
        }
    }
    let vowels = ["aa", "oh", "ee", "ih", "ou", "aa", "oh"];
    for (start, end) in [(4.7f32, 6.5f32), (10.5, 11.9)] {
        for name in vowels {
            c.expression(name).key(start - 0.05, Vec3::ZERO);
        }
        c.expression("jawOpen").key(start - 0.05, Vec3::ZERO);
        let mut s = start;
        let mut i = 0;
        while s + 0.28 < end {
            let vowel = vowels[i % vowels.len()];
            c.expression(vowel)
                .key(s, Vec3::ZERO)
                .key(s + 0.11, Vec3::X * 0.9)
                .key(s + 0.26, Vec3::ZERO);
            if matches!(vowel, "aa" | "oh") {
                c.expression("jawOpen")
                    .key(s, Vec3::ZERO)
                    .key(s + 0.11, Vec3::X * 0.35)
                    .key(s + 0.26, Vec3::ZERO);
            }
            s += 0.3;
            i += 1;
        }
    }
    for name in ["mouthSmileLeft", "mouthSmileRight"] {
        c.expression(name)
            .key(0.0, Vec3::X * 0.15)
            .key(6.0, Vec3::X * 0.15)
            .key(6.3, Vec3::X * 0.7)
            .key(8.0, Vec3::X * 0.4)
            .key(10.6, Vec3::X * 0.4)
            .key(11.2, Vec3::X * 1.0)
            .key(12.0, Vec3::X * 1.0);
    }

    c.sort();
    c
}

/// Standing at ease, breathing and blinking: a loopable 8 s clip.
pub(crate) fn idle_clip() -> KeyframeClip {
    let mut c = KeyframeClip {
        duration: 8.0,
        ..default()
    };
    for t in [0.0f32, 4.0, 8.0] {
        key(&mut c, t, &at_ease());
        key(&mut c, t, &stand());
    }
    for (t, breath) in [
        (0.0f32, 0.0f32),
        (2.0, 1.5),
        (4.0, 0.0),
        (6.0, 1.5),
        (8.0, 0.0),
    ] {
        c.bone(B::Chest).key(t, v(-breath, 0.0, 0.0));
    }
    for tb in [1.5f32, 5.2] {
        for name in ["eyeBlinkLeft", "eyeBlinkRight"] {
            c.expression(name)
                .key(tb - 0.02, Vec3::ZERO)
                .key(tb + 0.06, Vec3::X)
                .key(tb + 0.15, Vec3::ZERO);
        }
    }
    c.root.key(0.0, v(0.0, 0.35, 0.0));
    c.sort();
    c
}

/// A natural blink pattern for sources that carry no face: closed-eye weight at time `t`,
/// blinking every few seconds at irregular (but deterministic) intervals.
pub(crate) fn blink(t: f32) -> f32 {
    const PERIODS: [f32; 4] = [3.1, 4.3, 2.6, 3.7];
    let cycle: f32 = PERIODS.iter().sum();
    let mut local = t.rem_euclid(cycle);
    for p in PERIODS {
        if local < p {
            // Shut in 60 ms, open in 90 ms, at the end of each period.
            let to_end = p - local;
            return if to_end < 0.06 {
                1.0 - to_end / 0.06
            } else if local < 0.09 {
                1.0 - local / 0.09
            } else {
                0.0
            };
        }
        local -= p;
    }
    0.0
}
