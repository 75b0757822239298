//! The face pipeline: BlazeFace detection (only when the face is lost), a square crop around
//! the face turned to its eye line, the face mesh, then head pose, gaze and ARKit expression
//! weights.
//!
//! Two mesh models are understood: MediaPipe's original 468-point `face_landmark.onnx` (192 px
//! crop) and the v2 `face_landmarks_detector.onnx` (256 px crop) whose 478 points add the two
//! irises. With v2 the eyes' gaze comes from the irises, and when `face_blendshapes.onnx` is
//! there too the 52 ARKit weights come from MediaPipe's blendshape model; otherwise a
//! geometric solver reads them off the mesh.
//!
//! This module runs the models; `geometry` turns the mesh into head pose, gaze and weights.

use bevy::math::{Vec2, Vec3};
use serde::Serialize;

use super::engine::{EngineError, Model};
use super::vision::{self, Frame, Layout, Roi};

mod geometry;

pub(crate) use geometry::fit_pose;
use geometry::{EYE_L_OUTER, EYE_R_OUTER, expressions, eye_look, gaze, head_pose};

/// The face detector model file (BlazeFace short range, 128 px input).
pub const DETECTOR: &str = "face_detection_short_range.onnx";
/// The 468-point face mesh model file (192 px crop).
pub const MESH: &str = "face_landmark.onnx";
/// The 478-point face mesh model file, irises included (256 px crop).
pub(crate) const MESH_V2: &str = "face_landmarks_detector.onnx";
/// MediaPipe's blendshape model file: 52 ARKit weights from 146 of the 478 landmarks.
pub(crate) const BLENDSHAPES: &str = "face_blendshapes.onnx";

/// The 146 of the 478 landmarks the blendshape model reads (MediaPipe's
/// `kLandmarksSubsetIdxs`, face_blendshapes_graph.cc).
const BLENDSHAPE_SUBSET: [usize; 146] = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
];

/// The blendshape model's outputs, in order (`kBlendshapeNames`; the first is not an ARKit
/// shape).
pub(crate) const BLENDSHAPE_NAMES: [&str; 52] = [
    "_neutral",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
];

/// Which face mesh model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MeshModel {
    /// `face_landmark.onnx`: 468 points from a 192 px crop.
    V1,
    /// `face_landmarks_detector.onnx`: 478 points (468 + two irises) from a 256 px crop.
    V2,
}

impl MeshModel {
    fn file(self) -> &'static str {
        match self {
            MeshModel::V1 => MESH,
            MeshModel::V2 => MESH_V2,
        }
    }

    fn input(self) -> usize {
        match self {
            MeshModel::V1 => 192,
            MeshModel::V2 => 256,
        }
    }
}

/// What the face pipeline finds in one frame, in image pixels.
#[derive(Debug, Clone, Serialize)]
pub struct Face {
    /// Detection score, when this frame ran the detector.
    pub detection_score: Option<f32>,
    /// The face box: centre and size (from the detector, or the landmarks when tracking).
    pub center: [f32; 2],
    /// The face box's width and height in pixels.
    pub size: [f32; 2],
    /// Probability the crop holds a face (the mesh model's own check).
    pub presence: f32,
    /// 468 points (x, y in pixels; z in pixels, negative towards the camera).
    pub landmarks: Vec<[f32; 3]>,
    /// The two irises (centre, then four points on the rim, for the subject's right eye then
    /// her left), in pixels; empty with the 468-point mesh.
    pub iris: Vec<[f32; 3]>,
    /// Where the head is turned and where it is, read off the mesh.
    pub head: HeadPose,
    /// Where the eyes look, when the irises were found.
    pub gaze: Option<Gaze>,
    /// ARKit blend shape weights by name, 0–1.
    pub expressions: Vec<(&'static str, f32)>,
    /// What made the weights: "blendshape model" or "geometric".
    pub solver: &'static str,
}

/// Eye direction relative to the head, degrees: yaw towards the subject's left, pitch up.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Gaze {
    /// Degrees towards the subject's left.
    pub yaw: f32,
    /// Degrees up.
    pub pitch: f32,
}

/// Head rotation (degrees; yaw to the subject's left, pitch up, roll clockwise on screen) and
/// position (the face centre in pixels, with its scale as the eye-corner distance in pixels).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct HeadPose {
    /// Degrees towards the subject's left.
    pub yaw: f32,
    /// Degrees up.
    pub pitch: f32,
    /// Degrees clockwise on screen.
    pub roll: f32,
    /// The nose tip, in pixels (z as the mesh gives it, negative towards the camera).
    pub position: [f32; 3],
    /// The distance between the outer eye corners, pixels: larger is nearer.
    pub scale: f32,
}

/// Face detection and mesh, with the ROI carried from frame to frame.
pub struct FaceTracker {
    detector: Model,
    mesh: Model,
    mesh_model: MeshModel,
    mesh_layout: Layout,
    blendshapes: Option<Model>,
    anchors: Vec<Vec2>,
    roi: Option<Roi>,
}

/// Crop side as a multiple of the face box (the reference pipeline's 1.5).
const CROP_SCALE: f32 = 1.5;

impl FaceTracker {
    /// The best models found: the 478-point mesh and the blendshape model when present, the
    /// 468-point mesh and the geometric solver otherwise.
    pub fn new() -> Result<Self, EngineError> {
        if super::find_model(MESH_V2).is_some() {
            Self::with_mesh(MeshModel::V2)
        } else {
            Self::with_mesh(MeshModel::V1)
        }
    }

    /// A tracker with the given mesh model (the blendshape model joins the v2 mesh when it is
    /// there: it needs the irises).
    pub fn with_mesh(mesh_model: MeshModel) -> Result<Self, EngineError> {
        let mesh = Model::find(mesh_model.file())?;
        let mesh_layout = if mesh.input_shape.get(1) == Some(&3) {
            Layout::Nchw
        } else {
            Layout::Nhwc
        };
        let blendshapes = match mesh_model {
            MeshModel::V2 if super::find_model(BLENDSHAPES).is_some() => {
                Some(Model::find(BLENDSHAPES)?)
            }
            _ => None,
        };
        Ok(Self {
            detector: Model::find(DETECTOR)?,
            mesh,
            mesh_model,
            mesh_layout,
            blendshapes,
            anchors: vision::anchors(128, &[(8, 2), (16, 6)]),
            roi: None,
        })
    }

    /// The mesh model this tracker runs.
    pub fn mesh_model(&self) -> MeshModel {
        self.mesh_model
    }

    /// The models this tracker runs, for status lines.
    pub fn describe(&self) -> String {
        format!(
            "BlazeFace + {} mesh, {}",
            match self.mesh_model {
                MeshModel::V1 => "468-point",
                MeshModel::V2 => "478-point (irises)",
            },
            if self.blendshapes.is_some() {
                "blendshape model"
            } else {
                "geometric solver"
            }
        )
    }

    /// Time spent inside ONNX Runtime so far (all models).
    pub fn inference_time(&self) -> std::time::Duration {
        self.detector.busy
            + self.mesh.busy
            + self
                .blendshapes
                .as_ref()
                .map(|m| m.busy)
                .unwrap_or_default()
    }

    /// Forgets the face (the next frame runs the detector).
    pub fn lose(&mut self) {
        self.roi = None;
    }

    /// Detects the most likely face: centre and size in pixels, score.
    pub(crate) fn detect(
        &mut self,
        frame: &Frame,
    ) -> Result<Option<(Vec2, Vec2, f32)>, EngineError> {
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

    /// The mesh in the crop `roi`: 468 points (478 with the v2 mesh) in image pixels, and the
    /// presence probability.
    pub(crate) fn mesh(
        &mut self,
        frame: &Frame,
        roi: &Roi,
    ) -> Result<(Vec<Vec3>, f32), EngineError> {
        let n = self.mesh_model.input();
        let shape: &[usize] = match self.mesh_layout {
            Layout::Nchw => &[1, 3, n, n],
            Layout::Nhwc => &[1, n, n, 3],
        };
        let count = match self.mesh_model {
            MeshModel::V1 => 468,
            MeshModel::V2 => 478,
        };
        let input = vision::crop_tensor(frame, roi, n, self.mesh_layout, (0.0, 1.0));
        let out = self.mesh.run(&input, shape)?;
        let points =
            out.iter()
                .find(|o| o.len() == count * 3)
                .ok_or_else(|| EngineError::Model {
                    path: self.mesh.path.clone(),
                    message: format!("no {count} × 3 landmark output"),
                })?;
        // The face-present logit is the first single value the model gives.
        let presence = out
            .iter()
            .find(|o| o.len() == 1)
            .map(|o| vision::sigmoid(o[0]))
            .unwrap_or(1.0);
        let scale = roi.size / n as f32;
        let landmarks = points
            .chunks(3)
            .map(|p| {
                let at = roi.to_image(Vec2::new(p[0], p[1]), n as f32);
                Vec3::new(at.x, at.y, p[2] * scale)
            })
            .collect();
        Ok((landmarks, presence))
    }

    /// The 52 ARKit weights from MediaPipe's blendshape model, given 478 landmarks and the
    /// crop they came from (the model reads the points in the crop's pixels).
    fn model_weights(
        &mut self,
        landmarks: &[Vec3],
        roi: &Roi,
    ) -> Result<Option<Vec<(&'static str, f32)>>, EngineError> {
        let Some(model) = self.blendshapes.as_mut() else {
            return Ok(None);
        };
        let n = self.mesh_model.input() as f32;
        let mut input = Vec::with_capacity(146 * 2);
        for &i in &BLENDSHAPE_SUBSET {
            let p = roi.to_crop(landmarks[i].truncate(), n);
            input.extend([p.x, p.y]);
        }
        let out = model.run(&input, &[1, 146, 2])?;
        let scores = out
            .iter()
            .find(|o| o.len() == 52)
            .ok_or_else(|| EngineError::Model {
                path: model.path.clone(),
                message: "no 52 blendshape output".into(),
            })?;
        Ok(Some(
            BLENDSHAPE_NAMES
                .iter()
                .zip(scores)
                .skip(1)
                .map(|(name, w)| (*name, w.clamp(0.0, 1.0)))
                .collect(),
        ))
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
        // The next crop is turned to the eye line, so a tilted head reaches the model upright.
        let rotation = eye_line_rotation(landmarks[EYE_R_OUTER], landmarks[EYE_L_OUTER]);
        self.roi = Some(Roi::around(
            landmarks[..468].iter().map(|p| p.truncate()),
            rotation,
            CROP_SCALE,
        ));
        let (lo, hi) = bounds(&landmarks[..468]);
        let (center, size) = match detection {
            Some((c, s, _)) => (c, s),
            None => ((lo + hi) / 2.0, hi - lo),
        };
        let iris = &landmarks[468.min(landmarks.len())..];
        let (expressions, solver) = match self.model_weights(&landmarks, &roi)? {
            Some(weights) => (weights, "blendshape model"),
            None => {
                let mut weights = expressions(&landmarks);
                if let Some(look) = eye_look(&landmarks) {
                    weights.extend(look);
                }
                (weights, "geometric")
            }
        };
        Ok(Some(Face {
            detection_score: detection.map(|d| d.2),
            center: center.to_array(),
            size: size.to_array(),
            presence,
            head: head_pose(&landmarks),
            gaze: gaze(&landmarks),
            expressions,
            solver,
            iris: iris.iter().map(|p| p.to_array()).collect(),
            landmarks: landmarks[..468].iter().map(|p| p.to_array()).collect(),
        }))
    }
}

/// MediaPipe's crop rotation from the two outer eye corners (subject's right, then left):
/// zero when they are level.
fn eye_line_rotation(right: Vec3, left: Vec3) -> f32 {
    let d = left.truncate() - right.truncate();
    (d.y).atan2(d.x)
}

/// The smallest and largest x and y of `points`.
fn bounds(points: &[Vec3]) -> (Vec2, Vec2) {
    let lo = points
        .iter()
        .fold(Vec2::splat(f32::MAX), |m, p| m.min(p.truncate()));
    let hi = points
        .iter()
        .fold(Vec2::splat(f32::MIN), |m, p| m.max(p.truncate()));
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_follows_a_tilted_eye_line() {
        let level = eye_line_rotation(Vec3::new(0.0, 0.0, 0.0), Vec3::new(10.0, 0.0, 0.0));
        assert!(level.abs() < 1e-6);
        // Her left eye (image right) lower in the picture: the head rolls clockwise on screen,
        // and so does the crop.
        let tilted = eye_line_rotation(Vec3::new(0.0, 0.0, 0.0), Vec3::new(10.0, 10.0, 0.0));
        assert!((tilted - std::f32::consts::FRAC_PI_4).abs() < 1e-5);
        let roi = Roi {
            center: Vec2::new(50.0, 50.0),
            size: 40.0,
            rotation: tilted,
        };
        let p = Vec2::new(61.0, 47.0);
        assert!(roi.to_image(roi.to_crop(p, 256.0), 256.0).distance(p) < 1e-3);
    }
}
