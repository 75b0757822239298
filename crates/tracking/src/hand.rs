//! The hand pipeline: up to two hands, each tracked from its last landmarks in a crop turned to
//! the hand; palm detection runs when no hand is tracked, and every few frames while only one
//! is, to find the other. Each hand gives 21 landmarks with presence and handedness, finger
//! joint angles and the palm's turn.

use bevy::math::{EulerRot, Mat3, Quat, Vec2, Vec3};
use serde::Serialize;

use super::engine::{EngineError, Model};
use super::vision::{self, Frame, Layout, Roi};

/// The palm detector model file (MediaPipe's full palm detection, 192 px input).
pub const PALM: &str = "palm_detection_full.onnx";
/// The hand landmark model file (MediaPipe's full hand landmarks: 21 points from a 224 px crop).
pub const LANDMARKS: &str = "hand_landmark_full.onnx";

/// What the hand pipeline finds in one frame, in image pixels.
#[derive(Debug, Clone, Serialize)]
pub struct Hand {
    /// Palm detection score, when this frame ran the detector.
    pub palm_score: Option<f32>,
    /// The crop the landmarks came from: centre, side, rotation (radians).
    pub crop: ([f32; 2], f32, f32),
    /// Probability the crop holds a hand (the landmark model's own check), 0–1.
    pub presence: f32,
    /// Probability that this is a right hand.
    pub right: f32,
    /// 21 points: wrist, then thumb, index, middle, ring and little finger, 4 each (x, y in
    /// pixels, z relative depth in pixels).
    pub landmarks: Vec<[f32; 3]>,
    /// Bend of each finger joint in degrees (thumb, index, middle, ring, little × 3 joints).
    pub curls: [[f32; 3]; 5],
    /// How the palm is turned to the camera.
    pub wrist: WristPose,
}

/// The palm's orientation in the camera's frame, degrees, zero for a hand held up with its
/// fingers pointing up and its palm to the camera: yaw turns the palm towards the image's
/// right, pitch tips the fingers towards the camera, roll leans them clockwise on screen.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct WristPose {
    /// Turn of the palm towards the image's right, degrees.
    pub yaw: f32,
    /// Tip of the fingers towards the camera, degrees.
    pub pitch: f32,
    /// Lean of the fingers clockwise on screen, degrees.
    pub roll: f32,
    /// The same as a quaternion (x, y, z, w), camera frame: x right, y up, z to the camera.
    pub rotation: [f32; 4],
}

/// Palm detection and hand landmarks, with each hand's crop carried from frame to frame.
pub struct HandTracker {
    palm: Model,
    landmarks: Model,
    layout: Layout,
    anchors: Vec<Vec2>,
    /// The crops of the hands being tracked (at most [`MAX_HANDS`]).
    rois: Vec<Roi>,
    /// Frames since palm detection last ran.
    since_detection: u32,
}

/// Hands tracked at once.
pub(crate) const MAX_HANDS: usize = 2;
/// While fewer than [`MAX_HANDS`] are tracked, palm detection runs every this many frames.
const SEARCH_EVERY: u32 = 6;

/// Palm box to hand crop, as MediaPipe does: 2.6 × the palm, shifted half a palm towards the
/// fingers.
const PALM_TO_HAND: f32 = 2.6;

impl HandTracker {
    /// Loads the palm and landmark models from the model folders.
    pub fn new() -> Result<Self, EngineError> {
        let landmarks = Model::find(LANDMARKS)?;
        let layout = if landmarks.input_shape.get(1) == Some(&3) {
            Layout::Nchw
        } else {
            Layout::Nhwc
        };
        Ok(Self {
            palm: Model::find(PALM)?,
            landmarks,
            layout,
            anchors: vision::anchors(192, &[(8, 2), (16, 6)]),
            rois: Vec::new(),
            since_detection: 0,
        })
    }

    /// Time spent inside ONNX Runtime so far (both models).
    pub fn inference_time(&self) -> std::time::Duration {
        self.palm.busy + self.landmarks.busy
    }

    /// Forgets the hands (the next frame runs the palm detector).
    pub fn lose(&mut self) {
        self.rois.clear();
    }

    /// The most likely palm: centre, size (pixels), score and its 7 keypoints.
    #[cfg(test)]
    pub(crate) fn detect(
        &mut self,
        frame: &Frame,
    ) -> Result<Option<vision::Detection>, EngineError> {
        Ok(self.detect_all(frame)?.into_iter().next())
    }

    /// Every palm found, most likely first: centre, size (pixels), score and 7 keypoints.
    pub(crate) fn detect_all(
        &mut self,
        frame: &Frame,
    ) -> Result<Vec<vision::Detection>, EngineError> {
        let side = frame.width.max(frame.height) as f32;
        let roi = Roi {
            center: Vec2::splat(side / 2.0),
            size: side,
            rotation: 0.0,
        };
        let input = vision::crop_tensor(frame, &roi, 192, Layout::Nhwc, (0.0, 1.0));
        let out = self.palm.run(&input, &[1, 192, 192, 3])?;
        let (regressors, logits) = if out[0].len() > out[1].len() {
            (&out[0], &out[1])
        } else {
            (&out[1], &out[0])
        };
        let found = vision::decode(regressors, logits, &self.anchors, 18, 7, 192.0, 0.5);
        Ok(vision::weighted_nms(found, 0.3)
            .into_iter()
            .map(|mut d| {
                d.center *= side;
                d.size *= side;
                for k in &mut d.keypoints {
                    *k *= side;
                }
                d
            })
            .collect())
    }

    /// Landmarks in `roi`: 21 points in image pixels, presence and right-hand probability.
    pub(crate) fn landmarks(
        &mut self,
        frame: &Frame,
        roi: &Roi,
    ) -> Result<(Vec<Vec3>, f32, f32), EngineError> {
        let shape: &[usize] = match self.layout {
            Layout::Nchw => &[1, 3, 224, 224],
            Layout::Nhwc => &[1, 224, 224, 3],
        };
        let input = vision::crop_tensor(frame, roi, 224, self.layout, (0.0, 1.0));
        let out = self.landmarks.run(&input, shape)?;
        let points = out
            .iter()
            .find(|o| o.len() == 63)
            .ok_or_else(|| EngineError::Model {
                path: self.landmarks.path.clone(),
                message: "no 21 × 3 landmark output".into(),
            })?;
        // Presence and handedness come out as probabilities already.
        let mut scalars = out
            .iter()
            .filter(|o| o.len() == 1)
            .map(|o| o[0].clamp(0.0, 1.0));
        let presence = scalars.next().unwrap_or(1.0);
        let right = scalars.next().unwrap_or(0.5);
        let scale = roi.size / 224.0;
        let landmarks = points
            .chunks(3)
            .map(|p| {
                let at = roi.to_image(Vec2::new(p[0], p[1]), 224.0);
                Vec3::new(at.x, at.y, p[2] * scale)
            })
            .collect();
        Ok((landmarks, presence, right))
    }

    /// One frame: the most present hand (see [`HandTracker::track_all`]).
    pub fn track(&mut self, frame: &Frame) -> Result<Option<Hand>, EngineError> {
        Ok(self
            .track_all(frame)?
            .into_iter()
            .max_by(|a, b| a.presence.total_cmp(&b.presence)))
    }

    /// One frame: every hand tracked from its last landmarks, then palm detection if fewer
    /// than two (`MAX_HANDS`) are tracked (at once when none is, every few frames when one is).
    pub fn track_all(&mut self, frame: &Frame) -> Result<Vec<Hand>, EngineError> {
        let mut hands = Vec::new();
        for roi in std::mem::take(&mut self.rois) {
            if let Some(hand) = self.hand_in(frame, roi, None)? {
                hands.push(hand);
            }
        }
        self.since_detection += 1;
        let search =
            hands.len() < MAX_HANDS && (hands.is_empty() || self.since_detection >= SEARCH_EVERY);
        if search {
            self.since_detection = 0;
            for palm in self.detect_all(frame)? {
                if hands.len() >= MAX_HANDS {
                    break;
                }
                // A palm inside a hand already tracked is that hand.
                if hands.iter().any(|h| covers(h, palm.center)) {
                    continue;
                }
                let roi = roi_from_palm(&palm);
                if let Some(hand) = self.hand_in(frame, roi, Some(palm.score))? {
                    // Two palms of one hand (a fist can look like two) give one hand.
                    if !hands.iter().any(|h| covers(h, hand.wrist_point())) {
                        hands.push(hand);
                    }
                }
            }
        }
        self.rois = hands
            .iter()
            .map(|h| roi_from_landmarks(&h.points()))
            .collect();
        Ok(hands)
    }

    /// The hand in `roi`, if the landmark model finds one there. A crop from a palm detection
    /// is refined once: the palm's keypoints only roughly give the hand's direction, so the
    /// landmarks are found again in the crop around them, as the next video frame would.
    fn hand_in(
        &mut self,
        frame: &Frame,
        roi: Roi,
        palm_score: Option<f32>,
    ) -> Result<Option<Hand>, EngineError> {
        let (mut landmarks, mut presence, mut right) = self.landmarks(frame, &roi)?;
        let mut roi = roi;
        if palm_score.is_some() && presence >= 0.5 {
            roi = roi_from_landmarks(&landmarks);
            (landmarks, presence, right) = self.landmarks(frame, &roi)?;
        }
        if presence < 0.5 {
            return Ok(None);
        }
        Ok(Some(Hand {
            palm_score,
            crop: (roi.center.to_array(), roi.size, roi.rotation),
            presence,
            right,
            curls: curls(&landmarks),
            wrist: wrist_pose(&landmarks, right > 0.5),
            landmarks: landmarks.iter().map(|p| p.to_array()).collect(),
        }))
    }
}

impl Hand {
    fn points(&self) -> Vec<Vec3> {
        self.landmarks
            .iter()
            .map(|p| Vec3::from_array(*p))
            .collect()
    }

    fn wrist_point(&self) -> Vec2 {
        Vec2::new(self.landmarks[0][0], self.landmarks[0][1])
    }
}

/// Whether `p` lies inside the box around `hand`'s landmarks.
fn covers(hand: &Hand, p: Vec2) -> bool {
    let (mut lo, mut hi) = (Vec2::splat(f32::MAX), Vec2::splat(f32::MIN));
    for q in &hand.landmarks {
        lo = lo.min(Vec2::new(q[0], q[1]));
        hi = hi.max(Vec2::new(q[0], q[1]));
    }
    p.cmpge(lo).all() && p.cmple(hi).all()
}

/// Rotation that turns the wrist → middle-finger direction to point up the crop.
fn upright(wrist: Vec2, middle: Vec2) -> f32 {
    let a = std::f32::consts::FRAC_PI_2 - (-(middle.y - wrist.y)).atan2(middle.x - wrist.x);
    // Into -π..π.
    a - std::f32::consts::TAU * ((a + std::f32::consts::PI) / std::f32::consts::TAU).floor()
}

/// The hand's crop from a palm detection in image pixels: turned so the fingers point up,
/// [`PALM_TO_HAND`] × the palm, shifted half a palm towards the fingers.
pub(crate) fn roi_from_palm(palm: &vision::Detection) -> Roi {
    let rotation = upright(palm.keypoints[0], palm.keypoints[2]);
    let side = palm.size.max_element();
    let (s, c) = rotation.sin_cos();
    // Half a palm towards the fingers ("up" in the turned crop).
    let shift = Vec2::new(0.0, -0.5 * side);
    let shift = Vec2::new(shift.x * c - shift.y * s, shift.x * s + shift.y * c);
    Roi {
        center: palm.center + shift,
        size: side * PALM_TO_HAND,
        rotation,
    }
}

/// The next frame's crop from this frame's landmarks: turned to the hand, 1.3 × its extent.
pub(crate) fn roi_from_landmarks(points: &[Vec3]) -> Roi {
    let rotation = upright(points[0].truncate(), points[9].truncate());
    Roi::around(points.iter().map(|p| p.truncate()), rotation, 1.3)
}

/// Bend at each finger joint, degrees: 0 straight, up to ~100 fully curled.
pub(crate) fn curls(p: &[Vec3]) -> [[f32; 3]; 5] {
    let mut out = [[0.0; 3]; 5];
    for (f, row) in out.iter_mut().enumerate() {
        let base = 1 + 4 * f;
        let chain = [0, base, base + 1, base + 2, base + 3];
        for (j, angle) in row.iter_mut().enumerate() {
            let a = p[chain[j + 1]] - p[chain[j]];
            let b = p[chain[j + 2]] - p[chain[j + 1]];
            *angle = a.angle_between(b).to_degrees();
        }
    }
    out
}

/// The palm's orientation from the wrist and the index, middle and little finger bases. The
/// model's handedness assumes a mirrored (selfie) picture, so a hand it calls right shows its
/// thumb on the image's right when the palm faces the camera.
pub(crate) fn wrist_pose(p: &[Vec3], model_right: bool) -> WristPose {
    // Image axes are x right, y down, z away: turn them into x right, y up, z to the camera.
    let flip = |v: Vec3| Vec3::new(v.x, -v.y, -v.z);
    let up = flip(p[9] - p[0]).normalize_or(Vec3::Y);
    let thumb_side = flip(p[5] - p[17]);
    let across = if model_right { thumb_side } else { -thumb_side };
    let x = (across - up * across.dot(up)).normalize_or(Vec3::X);
    let z = x.cross(up);
    let rotation = Quat::from_mat3(&Mat3::from_cols(x, up, z));
    let (yaw, pitch, roll) = rotation.to_euler(EulerRot::YXZ);
    WristPose {
        yaw: yaw.to_degrees(),
        pitch: pitch.to_degrees(),
        roll: -roll.to_degrees(),
        rotation: rotation.to_array(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat hand in the image plane: wrist at the bottom, fingers up, the thumb side on the
    /// right (as the model's "right" hand shows with its palm to the camera).
    fn flat_hand() -> Vec<Vec3> {
        let mut p = vec![Vec3::ZERO; 21];
        p[0] = Vec3::new(100.0, 200.0, 0.0);
        for (f, x) in [
            (1usize, 140.0f32),
            (2, 120.0),
            (3, 100.0),
            (4, 80.0),
            (5, 60.0),
        ] {
            // finger f: bases at y = 120, tips towards y = 40 (the thumb is finger 1 here).
            for j in 0..4 {
                p[1 + 4 * (f - 1) + j] = Vec3::new(x, 120.0 - 25.0 * j as f32, 0.0);
            }
        }
        p
    }

    #[test]
    fn a_flat_hand_held_up_has_no_turn_and_straight_fingers() {
        let p = flat_hand();
        let w = wrist_pose(&p, true);
        assert!(
            w.yaw.abs() < 0.5 && w.pitch.abs() < 0.5 && w.roll.abs() < 0.5,
            "{w:?}"
        );
        // Straight fingers bend only where they leave the palm.
        let c = curls(&p);
        assert!(c[2][1] < 0.5 && c[2][2] < 0.5, "{c:?}");
    }

    #[test]
    fn a_hand_leaning_clockwise_rolls_and_a_turned_palm_yaws() {
        // Turn the picture of the hand 30° clockwise on screen about the wrist.
        let a = 30f32.to_radians();
        let p: Vec<Vec3> = flat_hand()
            .iter()
            .map(|q| {
                let d = *q - Vec3::new(100.0, 200.0, 0.0);
                Vec3::new(100.0, 200.0, 0.0)
                    + Vec3::new(
                        d.x * a.cos() - d.y * a.sin(),
                        d.x * a.sin() + d.y * a.cos(),
                        0.0,
                    )
            })
            .collect();
        let w = wrist_pose(&p, true);
        assert!((w.roll - 30.0).abs() < 1.0, "{w:?}");
        // The thumb side coming towards the camera turns the palm to the image's left... or
        // right: depth on the thumb side (nearer: z negative) turns it the other way than on
        // the little finger's side.
        let mut near = flat_hand();
        for (i, q) in near.iter_mut().enumerate() {
            if i > 0 {
                q.z = -(q.x - 100.0); // the thumb side (x > 100) nearer the camera
            }
        }
        let turned = wrist_pose(&near, true);
        let mut far = flat_hand();
        for (i, q) in far.iter_mut().enumerate() {
            if i > 0 {
                q.z = q.x - 100.0;
            }
        }
        let other = wrist_pose(&far, true);
        assert!(turned.yaw.abs() > 20.0 && other.yaw.abs() > 20.0);
        assert!(
            turned.yaw.signum() != other.yaw.signum(),
            "{turned:?} {other:?}"
        );
    }
}
