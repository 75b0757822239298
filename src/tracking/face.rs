//! The face pipeline: BlazeFace detection (only when the face is lost), a square crop around
//! the face, the 468-point face mesh, then head pose and ARKit expression weights from the mesh.

use bevy::math::{Mat3, Quat, Vec2, Vec3};
use serde::Serialize;

use super::engine::{EngineError, Model};
use super::vision::{self, Frame, Layout, Roi};

pub const DETECTOR: &str = "face_detection_short_range.onnx";
pub const MESH: &str = "face_landmark.onnx";

/// What the face pipeline finds in one frame, in image pixels.
#[derive(Debug, Clone, Serialize)]
pub struct Face {
    /// Detection score, when this frame ran the detector.
    pub detection_score: Option<f32>,
    /// The face box: centre and size (from the detector, or the landmarks when tracking).
    pub center: [f32; 2],
    pub size: [f32; 2],
    /// Probability the crop holds a face (the mesh model's own check).
    pub presence: f32,
    /// 468 points (x, y in pixels; z in pixels, negative towards the camera).
    pub landmarks: Vec<[f32; 3]>,
    pub head: HeadPose,
    /// ARKit blend shape weights by name, 0–1.
    pub expressions: Vec<(&'static str, f32)>,
}

/// Head rotation (degrees; yaw to the subject's left, pitch up, roll clockwise on screen) and
/// position (the face centre in pixels, with its scale as the eye-corner distance in pixels).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    pub position: [f32; 3],
    pub scale: f32,
}

/// Face detection and mesh, with the ROI carried from frame to frame.
pub struct FaceTracker {
    detector: Model,
    mesh: Model,
    mesh_layout: Layout,
    anchors: Vec<Vec2>,
    roi: Option<Roi>,
}

/// Crop side as a multiple of the face box (the reference pipeline's 1.5).
const CROP_SCALE: f32 = 1.5;

impl FaceTracker {
    pub fn new() -> Result<Self, EngineError> {
        let mesh = Model::find(MESH)?;
        let mesh_layout = if mesh.input_shape.get(1) == Some(&3) {
            Layout::Nchw
        } else {
            Layout::Nhwc
        };
        Ok(Self {
            detector: Model::find(DETECTOR)?,
            mesh,
            mesh_layout,
            anchors: vision::anchors(128, &[(8, 2), (16, 6)]),
            roi: None,
        })
    }

    /// Forgets the face (the next frame runs the detector).
    pub fn lose(&mut self) {
        self.roi = None;
    }

    /// Detects the most likely face: centre and size in pixels, score.
    pub fn detect(&mut self, frame: &Frame) -> Result<Option<(Vec2, Vec2, f32)>, EngineError> {
        // Letterbox to a square by padding right and bottom.
        let side = frame.width.max(frame.height) as f32;
        let roi = Roi {
            center: Vec2::splat(side / 2.0),
            size: side,
            rotation: 0.0,
        };
        let input = vision::crop_tensor(frame, &roi, 128, Layout::Nchw, (-1.0, 1.0));
        let out = self.detector.run(&input, &[1, 3, 128, 128])?;
        let (regressors, logits) = if out[0].len() > out[1].len() {
            (&out[0], &out[1])
        } else {
            (&out[1], &out[0])
        };
        let found = vision::decode(regressors, logits, &self.anchors, 16, 6, 128.0, 0.5);
        Ok(vision::weighted_nms(found, 0.3)
            .into_iter()
            .next()
            .map(|d| (d.center * side, d.size * side, d.score)))
    }

    /// The mesh in the crop `roi`: 468 points in image pixels, and the presence probability.
    pub fn mesh(&mut self, frame: &Frame, roi: &Roi) -> Result<(Vec<Vec3>, f32), EngineError> {
        let shape: &[usize] = match self.mesh_layout {
            Layout::Nchw => &[1, 3, 192, 192],
            Layout::Nhwc => &[1, 192, 192, 3],
        };
        let input = vision::crop_tensor(frame, roi, 192, self.mesh_layout, (0.0, 1.0));
        let out = self.mesh.run(&input, shape)?;
        let points = out
            .iter()
            .find(|o| o.len() == 468 * 3)
            .ok_or_else(|| EngineError::Model {
                path: self.mesh.path.clone(),
                message: "no 468 × 3 landmark output".into(),
            })?;
        let presence = out
            .iter()
            .find(|o| o.len() == 1)
            .map(|o| vision::sigmoid(o[0]))
            .unwrap_or(1.0);
        let scale = roi.size / 192.0;
        let landmarks = points
            .chunks(3)
            .map(|p| {
                let at = roi.to_image(Vec2::new(p[0], p[1]), 192.0);
                Vec3::new(at.x, at.y, p[2] * scale)
            })
            .collect();
        Ok((landmarks, presence))
    }

    /// One frame: track from the last landmarks, or detect when the face was lost.
    pub fn track(&mut self, frame: &Frame) -> Result<Option<Face>, EngineError> {
        let mut detection = None;
        let roi = match self.roi {
            Some(roi) => roi,
            None => {
                let Some((center, size, score)) = self.detect(frame)? else {
                    return Ok(None);
                };
                detection = Some((center, size, score));
                Roi {
                    center,
                    size: size.max_element() * CROP_SCALE,
                    rotation: 0.0,
                }
            }
        };
        let (landmarks, presence) = self.mesh(frame, &roi)?;
        if presence < 0.5 {
            self.roi = None;
            if detection.is_none() {
                // The face moved out of the old crop: look for it again this frame.
                return self.track(frame);
            }
            return Ok(None);
        }
        let (lo, hi) = bounds(&landmarks);
        let box_size = hi - lo;
        self.roi = Some(Roi {
            center: (lo + hi) / 2.0,
            size: box_size.max_element() * CROP_SCALE,
            rotation: 0.0,
        });
        let (center, size) = match detection {
            Some((c, s, _)) => (c, s),
            None => ((lo + hi) / 2.0, box_size),
        };
        Ok(Some(Face {
            detection_score: detection.map(|d| d.2),
            center: center.to_array(),
            size: size.to_array(),
            presence,
            head: head_pose(&landmarks),
            expressions: expressions(&landmarks),
            landmarks: landmarks.iter().map(|p| p.to_array()).collect(),
        }))
    }
}

fn bounds(points: &[Vec3]) -> (Vec2, Vec2) {
    let lo = points
        .iter()
        .fold(Vec2::splat(f32::MAX), |m, p| m.min(p.truncate()));
    let hi = points
        .iter()
        .fold(Vec2::splat(f32::MIN), |m, p| m.max(p.truncate()));
    (lo, hi)
}

// Face mesh indices (MediaPipe's 468-point topology). "Right" is the subject's right.
const EYE_R_OUTER: usize = 33;
const EYE_R_INNER: usize = 133;
const EYE_R_TOP: usize = 159;
const EYE_R_BOTTOM: usize = 145;
const EYE_L_OUTER: usize = 263;
const EYE_L_INNER: usize = 362;
const EYE_L_TOP: usize = 386;
const EYE_L_BOTTOM: usize = 374;
const BROW_R: usize = 105;
const BROW_L: usize = 334;
const MOUTH_R: usize = 61;
const MOUTH_L: usize = 291;
const LIP_TOP: usize = 13;
const LIP_BOTTOM: usize = 14;
const FOREHEAD: usize = 10;
const CHIN: usize = 152;
const NOSE_TIP: usize = 1;

/// Head pose from the mesh's own frame: x along the eye line, y from chin to forehead (the
/// mesh's z gives depth), so yaw, pitch and roll need no camera model.
pub fn head_pose(p: &[Vec3]) -> HeadPose {
    // Image axes are x right, y down, z away from the camera; make a right-handed frame with
    // y up and z towards the camera.
    let flip = |v: Vec3| Vec3::new(v.x, -v.y, -v.z);
    let x = flip(p[EYE_L_OUTER] - p[EYE_R_OUTER]).normalize_or_zero();
    let up = flip(p[FOREHEAD] - p[CHIN]);
    let z = x.cross(up).normalize_or_zero();
    let y = z.cross(x);
    let rotation = Quat::from_mat3(&Mat3::from_cols(x, y, z));
    let (yaw, pitch, roll) = rotation.to_euler(bevy::math::EulerRot::YXZ);
    let scale = p[EYE_R_OUTER]
        .truncate()
        .distance(p[EYE_L_OUTER].truncate());
    HeadPose {
        yaw: yaw.to_degrees(),
        pitch: pitch.to_degrees(),
        roll: -roll.to_degrees(),
        position: p[NOSE_TIP].to_array(),
        scale,
    }
}

/// ARKit weights from the mesh geometry: eye openness, brows, jaw, smile and mouth shape,
/// each normalised by the distance between the outer eye corners so the face's size and
/// distance from the camera do not matter.
pub fn expressions(p: &[Vec3]) -> Vec<(&'static str, f32)> {
    let d2 = |a: usize, b: usize| p[a].truncate().distance(p[b].truncate());
    let eyes = d2(EYE_R_OUTER, EYE_L_OUTER).max(1e-3);
    let ramp = |x: f32, from: f32, to: f32| ((x - from) / (to - from)).clamp(0.0, 1.0);
    // Eye openness: lid gap over eye width, about 0.3 open and under 0.1 closed.
    let open_r = d2(EYE_R_TOP, EYE_R_BOTTOM) / d2(EYE_R_OUTER, EYE_R_INNER).max(1e-3);
    let open_l = d2(EYE_L_TOP, EYE_L_BOTTOM) / d2(EYE_L_OUTER, EYE_L_INNER).max(1e-3);
    // Mouth: corner lift above the lips' centre, width, opening.
    let centre_y = (p[LIP_TOP].y + p[LIP_BOTTOM].y) / 2.0;
    let lift_r = (centre_y - p[MOUTH_R].y) / eyes;
    let lift_l = (centre_y - p[MOUTH_L].y) / eyes;
    let width = d2(MOUTH_R, MOUTH_L) / eyes;
    let opening = d2(LIP_TOP, LIP_BOTTOM) / eyes;
    let smile = |lift: f32| 0.5 * ramp(lift, -0.01, 0.07) + 0.5 * ramp(width, 0.58, 0.7);
    // Brows: height above the upper lid.
    let brow_r = (p[EYE_R_TOP].y - p[BROW_R].y) / eyes;
    let brow_l = (p[EYE_L_TOP].y - p[BROW_L].y) / eyes;
    let jaw = ramp(opening, 0.04, 0.45);
    vec![
        ("eyeBlinkRight", 1.0 - ramp(open_r, 0.1, 0.28)),
        ("eyeBlinkLeft", 1.0 - ramp(open_l, 0.1, 0.28)),
        ("eyeWideRight", ramp(open_r, 0.38, 0.5)),
        ("eyeWideLeft", ramp(open_l, 0.38, 0.5)),
        ("browInnerUp", ramp((brow_r + brow_l) / 2.0, 0.2, 0.3)),
        ("browDownRight", 1.0 - ramp(brow_r, 0.1, 0.16)),
        ("browDownLeft", 1.0 - ramp(brow_l, 0.1, 0.16)),
        ("jawOpen", jaw),
        ("mouthSmileRight", smile(lift_r)),
        ("mouthSmileLeft", smile(lift_l)),
        ("mouthFrownRight", ramp(-lift_r, 0.02, 0.08)),
        ("mouthFrownLeft", ramp(-lift_l, 0.02, 0.08)),
        ("mouthStretchRight", ramp(width, 0.7, 0.85)),
        ("mouthStretchLeft", ramp(width, 0.7, 0.85)),
        // A round, narrow, open mouth.
        (
            "mouthFunnel",
            ramp(opening / width.max(1e-3), 0.5, 0.9) * (1.0 - ramp(width, 0.5, 0.6)),
        ),
        ("mouthPucker", 1.0 - ramp(width, 0.42, 0.52)),
        ("mouthClose", 1.0 - ramp(opening, 0.01, 0.05)),
    ]
}
