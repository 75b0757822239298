//! What the performer wears: each new result filtered, measured from the calibrated rest and
//! held until the next one (the stage usually runs faster than the camera); every frame the
//! held signals drive her expressions, head, wrists and fingers over the motion's own pose,
//! and ease out when results stop coming.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use ling_core::settings::TrackingTuning;
use ling_core::signals::{ExpressionWeights, HumanBone, HumanoidPose, Performer};

use super::TrackingSource;
use super::calibration::{HandRest, Neutral, from_neutral};
use super::pose::{pose_fingers, pose_wrist, side};
use super::worker::Tracked;
use crate::TrackingStatus;

/// The tracked signals the performer wears, held between results (the stage usually runs
/// faster than the camera) and eased out when results stop coming.
#[derive(Debug, Clone, Default)]
pub(super) struct Held {
    /// Calibrated expression weights and head turn (degrees), and when they were tracked.
    face: Option<(Vec<(&'static str, f32)>, [f32; 3], Instant)>,
    /// Per hand ([`side`]): finger bends, the wrist turn (once a rest is captured), when.
    hands: [Option<([[f32; 3]; 5], Option<[f32; 3]>, Instant)>; 2],
    /// When the last result was tracked, for the One Euro filters' time step.
    last: Option<Instant>,
}

/// Tracked signals hold fully this long after their frame, then ease out to the motion's own
/// pose over [`EASE_OUT`].
const HOLD: Duration = Duration::from_millis(500);
const EASE_OUT: Duration = Duration::from_secs(1);

/// How much a signal tracked at `at` still drives the performer.
fn hold_weight(at: Instant, now: Instant) -> f32 {
    let age = now.saturating_duration_since(at);
    if age <= HOLD {
        1.0
    } else {
        1.0 - ((age - HOLD).as_secs_f32() / EASE_OUT.as_secs_f32()).min(1.0)
    }
}

/// Takes a new result into the held signals.
pub(super) fn update_held(
    source: &mut TrackingSource,
    tracked: &Tracked,
    tuning: &TrackingTuning,
    status: &mut TrackingStatus,
    label: &str,
) {
    // Frames the thread tracked a second (the stage may apply fewer when it runs slower),
    // over the last couple of seconds.
    match source.window {
        Some((first, since)) if since.elapsed().as_secs_f32() > 2.0 => {
            status.fps = tracked.sequence.saturating_sub(first) as f32
                / tracked
                    .captured
                    .duration_since(since)
                    .as_secs_f32()
                    .max(1e-3);
            source.window = Some((tracked.sequence, tracked.captured));
        }
        Some(_) => {}
        None => source.window = Some((tracked.sequence, tracked.captured)),
    }
    status.healthy = true;
    status.capture_ms = tracked.capture_ms;
    status.inference_ms = tracked.inference_ms;
    status.solve_ms = tracked.solve_ms;
    status.age_ms = tracked.captured.elapsed().as_secs_f32() * 1000.0;
    status.preview = Some(tracked.preview.clone());
    status.preview_serial += 1;
    // The filters step by the time between tracked frames, not between stage frames.
    let dt = source
        .held
        .last
        .map(|last| {
            tracked
                .captured
                .saturating_duration_since(last)
                .as_secs_f32()
        })
        .unwrap_or(1.0 / 30.0)
        .clamp(1.0 / 240.0, 0.5);
    source.held.last = Some(tracked.captured);

    // A hand out of view this frame is not captured by a calibration made now.
    source.last_hand = [None; 2];
    for hand in tracked
        .hands
        .iter()
        .filter(|h| h.presence >= tuning.min_presence)
    {
        let k = side(hand.right > 0.5);
        let mut raw = HandRest::default();
        for (f, row) in hand.curls.iter().enumerate() {
            for (j, angle) in row.iter().enumerate() {
                raw.bends[f][j] = source.filters.fingers[k][f][j].filter(*angle, dt);
            }
        }
        let w = [hand.wrist.yaw, hand.wrist.pitch, hand.wrist.roll];
        for (i, a) in w.iter().enumerate() {
            raw.wrist[i] = source.filters.wrist[k][i].filter(*a, dt);
        }
        source.last_hand[k] = Some(raw);
        let rest = source.hand_rest[k].unwrap_or_default();
        let mut bends = raw.bends;
        for (f, row) in bends.iter_mut().enumerate() {
            for (j, b) in row.iter_mut().enumerate() {
                *b -= rest.bends[f][j];
            }
        }
        // The wrist only turns from a captured rest: without one, the camera's view of the
        // palm says nothing about how it sits on the forearm.
        let wrist = source.hand_rest[k].map(|rest| [0, 1, 2].map(|i| raw.wrist[i] - rest.wrist[i]));
        source.held.hands[k] = Some((bends, wrist, tracked.captured));
    }
    let Some(face) = tracked
        .face
        .as_ref()
        .filter(|f| f.presence >= tuning.min_presence)
    else {
        status.summary = format!("{label}: {:.0} fps, no face in view", status.fps);
        return;
    };
    status.summary = format!(
        "{label}: {:.0} fps, face{} (presence {:.2}, {})",
        status.fps,
        match tracked.hands.len() {
            0 => "",
            1 => " and a hand",
            _ => " and both hands",
        },
        face.presence,
        face.solver
    );
    let mut raw = Neutral {
        weights: Vec::with_capacity(face.expressions.len()),
        landmarks: face
            .landmarks
            .iter()
            .map(|p| Vec3::from_array(*p))
            .collect(),
    };
    for (name, weight) in &face.expressions {
        raw.weights
            .push((*name, source.filters.weight(name, *weight, dt, tuning)));
    }
    let neutral = source.neutral.as_ref();
    let weights: Vec<(&'static str, f32)> = raw
        .weights
        .iter()
        .map(|(name, w)| {
            let n = neutral
                .and_then(|n| n.weights.iter().find(|(m, _)| m == name))
                .map(|(_, v)| *v)
                .unwrap_or(0.0);
            (*name, from_neutral(*w, n))
        })
        .collect();
    // Head turns: fitted with every landmark against the neutral face once there is one,
    // else read off the mesh's own axes.
    let head = match neutral.filter(|n| n.landmarks.len() == raw.landmarks.len()) {
        Some(n) => {
            let angles = crate::face::fit_pose(&n.landmarks, &raw.landmarks).angles();
            [0, 1, 2].map(|i| source.filters.fitted_head[i].filter(angles[i], dt))
        }
        None => {
            let angles = [face.head.yaw, face.head.pitch, face.head.roll];
            [0, 1, 2].map(|i| source.filters.head[i].filter(angles[i], dt))
        }
    };
    source.last_face = Some(raw);
    source.held.face = Some((weights, head, tracked.captured));
}

/// Puts the held signals on the performers, each as strong as its age allows.
pub(super) fn wear_held(
    held: &Held,
    tuning: &TrackingTuning,
    now: Instant,
    performers: &mut Query<(&mut ExpressionWeights, &mut HumanoidPose), With<Performer>>,
) {
    for (k, hand) in held.hands.iter().enumerate() {
        let Some((bends, wrist, at)) = hand else {
            continue;
        };
        let w = hold_weight(*at, now);
        if w <= 0.0 {
            continue;
        }
        let model_right = k == 1;
        for (_, mut pose) in performers.iter_mut() {
            let motion = pose.clone();
            pose_fingers(&mut pose, model_right, bends);
            if let Some(turn) = wrist {
                pose_wrist(&mut pose, model_right, *turn);
            }
            if w < 1.0 {
                for (now, before) in pose.rotations.iter_mut().zip(&motion.rotations) {
                    *now = before.slerp(*now, w);
                }
            }
        }
    }
    let Some((weights, head, at)) = &held.face else {
        return;
    };
    let w = hold_weight(*at, now);
    if w <= 0.0 {
        return;
    }
    let mouth = tuning.mouth_from_camera.clamp(0.0, 1.0) * w;
    for (mut expressions, mut pose) in performers.iter_mut() {
        for (name, weight) in weights {
            let is_mouth = name.starts_with("mouth") || name.starts_with("jaw");
            let share = if is_mouth { mouth } else { w };
            // The motion's (or the voice's) own value gives way to the camera's by `share`.
            let own = expressions.get(name).unwrap_or(0.0);
            expressions.set(name, own * (1.0 - share) + weight * share);
            if is_mouth && *name == "jawOpen" {
                for v in expressions.visemes.iter_mut() {
                    *v *= 1.0 - mouth;
                }
            }
        }
        let turn = Quat::from_euler(
            EulerRot::YXZ,
            head[0].to_radians(),
            -head[1].to_radians(),
            -head[2].to_radians(),
        );
        let i = HumanBone::Head.index();
        pose.rotations[i] = pose.rotations[i] * Quat::IDENTITY.slerp(turn, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::spawn_performer;

    /// Between results the performer keeps the tracked face; when results stop it eases back
    /// to the motion's own over a second.
    #[test]
    fn held_signals_hold_then_ease_out() {
        use bevy::ecs::system::RunSystemOnce;
        let now = Instant::now();
        assert_eq!(hold_weight(now, now + Duration::from_millis(400)), 1.0);
        assert!((hold_weight(now, now + Duration::from_millis(1000)) - 0.5).abs() < 1e-3);
        assert_eq!(hold_weight(now, now + Duration::from_secs(3)), 0.0);
        let wear = |age: Duration| {
            let mut world = World::new();
            let performer = spawn_performer(&mut world);
            let mut bends = [[0.0; 3]; 5];
            bends[1] = [60.0, 0.0, 0.0];
            let held = Held {
                face: Some((vec![("eyeBlinkLeft", 1.0)], [30.0, 0.0, 0.0], now)),
                hands: [None, Some((bends, None, now))],
                last: Some(now),
            };
            world
                .run_system_once(
                    move |mut performers: Query<
                        (&mut ExpressionWeights, &mut HumanoidPose),
                        With<Performer>,
                    >| {
                        wear_held(
                            &held,
                            &TrackingTuning::default(),
                            now + age,
                            &mut performers,
                        );
                    },
                )
                .unwrap();
            let blink = world
                .get::<ExpressionWeights>(performer)
                .unwrap()
                .get("eyeBlinkLeft")
                .unwrap_or(0.0);
            let pose = world.get::<HumanoidPose>(performer).unwrap();
            let head = pose.rotations[HumanBone::Head.index()]
                .to_axis_angle()
                .1
                .to_degrees();
            let index = pose.rotations[HumanBone::from_name("leftIndexProximal").unwrap().index()]
                .to_axis_angle()
                .1
                .to_degrees();
            (blink, head, index)
        };
        let (blink, head, index) = wear(Duration::from_millis(100));
        assert!(
            (blink - 1.0).abs() < 1e-4 && (head - 30.0).abs() < 0.01 && (index - 60.0).abs() < 0.01
        );
        let (blink, head, index) = wear(Duration::from_millis(1000));
        assert!((blink - 0.5).abs() < 1e-3, "half way out: {blink}");
        assert!(
            (head - 15.0).abs() < 0.1 && (index - 30.0).abs() < 0.1,
            "{head} {index}"
        );
        let (blink, head, index) = wear(Duration::from_secs(5));
        assert!(
            blink == 0.0 && head.abs() < 1e-3 && index.abs() < 1e-3,
            "gone back to the motion"
        );
    }
}
