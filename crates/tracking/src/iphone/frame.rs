//! One face as an iPhone app sends it, whatever the protocol: the ARKit weights it carried,
//! the head's turn and the eyes' turn, and whether the phone saw a face.

use bevy::prelude::*;
use ling_core::signals::{ARKIT_NAMES, ExpressionWeights};

/// The largest datagram a receiver reads: an iFacialMocap frame is about 1.5 KB, a VTube
/// Studio frame about 3 KB, a Live Link Face frame at most 774 bytes. Anything longer is
/// counted as malformed without being parsed.
pub const MAX_PACKET: usize = 16 * 1024;

/// Why a packet was dropped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PacketError {
    /// Longer than [`MAX_PACKET`].
    #[error("{0} bytes, more than the {MAX_PACKET} a face packet may hold")]
    TooLarge(usize),
    /// Ends before a field it announces.
    #[error("truncated: {0}")]
    Truncated(String),
    /// Not the protocol's format, or a value that cannot be (not a number, not finite).
    #[error("{0}")]
    Invalid(String),
}

/// The gaze the eye-look weights stand for at full weight, degrees: ARKit's range is about
/// ±30° across and ±25° up and down (as the performer's solver reads them back).
const GAZE_ACROSS: f32 = 30.0;
const GAZE_UP_DOWN: f32 = 25.0;

/// One face from a phone.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceFrame {
    /// The ARKit weights (0..=1) in [`ARKIT_NAMES`] order; `None` where the packet had none.
    pub weights: [Option<f32>; 52],
    /// The head's turn in degrees: yaw towards the performer's left, pitch up, roll.
    pub head: Option<[f32; 3]>,
    /// Each eye's turn in degrees, left eye then right: yaw towards the performer's left,
    /// pitch up.
    pub eyes: Option<[[f32; 2]; 2]>,
    /// Whether the phone saw a face (VTube Studio says; the others send only when it does).
    pub face_found: bool,
}

impl Default for FaceFrame {
    fn default() -> Self {
        Self {
            weights: [None; 52],
            head: None,
            eyes: None,
            face_found: true,
        }
    }
}

/// The index in [`ARKIT_NAMES`] of a blend shape as any of the phone apps spell it:
/// `eyeBlinkLeft` (ARKit, Live Link), `EyeBlinkLeft` (VTube Studio, Live Link's CSV) or
/// `eyeBlink_L` (iFacialMocap).
pub fn arkit_index(name: &str) -> Option<usize> {
    let (stem, side) = if let Some(stem) = name.strip_suffix("_L") {
        (stem, "Left")
    } else if let Some(stem) = name.strip_suffix("_R") {
        (stem, "Right")
    } else {
        (name, "")
    };
    ARKIT_NAMES.iter().position(|n| {
        n.len() == stem.len() + side.len()
            && n[..stem.len()].eq_ignore_ascii_case(stem)
            && n[stem.len()..].eq_ignore_ascii_case(side)
    })
}

/// A finite number, or an error naming what it was.
pub(crate) fn finite(value: f32, what: &str) -> Result<f32, PacketError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(PacketError::Invalid(format!("{what} is {value}")))
    }
}

/// An angle in degrees brought into -180..=180 (Unity sends 350 for -10).
pub(crate) fn wrap_degrees(angle: f32) -> f32 {
    let a = angle.rem_euclid(360.0);
    if a > 180.0 { a - 360.0 } else { a }
}

impl FaceFrame {
    /// Sets one ARKit weight, clamped to 0..=1.
    pub(crate) fn set(&mut self, index: usize, weight: f32) {
        self.weights[index] = Some(weight.clamp(0.0, 1.0));
    }

    /// Whether the frame carries anything to wear.
    pub fn is_empty(&self) -> bool {
        self.weights.iter().all(Option::is_none) && self.head.is_none() && self.eyes.is_none()
    }

    /// The weights to wear: those the packet carried and, when it carried no eye-look weight
    /// but the eyes' turn, eye-look weights for that turn (the performer's gaze is read from
    /// them).
    pub fn wearable_weights(&self) -> [Option<f32>; 52] {
        let mut weights = self.weights;
        let looks = |side: &str| {
            ["Down", "In", "Out", "Up"].map(|d| arkit_index(&format!("eyeLook{d}{side}")))
        };
        let (left, right) = (looks("Left"), looks("Right"));
        let has_look = left
            .iter()
            .chain(&right)
            .flatten()
            .any(|&i| weights[i].is_some());
        if let (false, Some(eyes)) = (has_look, self.eyes) {
            for (k, look) in [left, right].iter().enumerate() {
                let [yaw, pitch] = eyes[k];
                // Towards her left the left eye looks out and the right eye in.
                let (out, inward) = if k == 0 { (yaw, -yaw) } else { (-yaw, yaw) };
                let values = [
                    -pitch / GAZE_UP_DOWN,
                    inward / GAZE_ACROSS,
                    out / GAZE_ACROSS,
                    pitch / GAZE_UP_DOWN,
                ];
                for (i, v) in look.iter().zip(values) {
                    if let Some(i) = i {
                        weights[*i] = Some(v.clamp(0.0, 1.0));
                    }
                }
            }
        }
        weights
    }

    /// The head's turn as a rotation of the head bone (the same axes as webcam tracking).
    pub fn head_turn(&self) -> Option<Quat> {
        self.head.map(|[yaw, pitch, roll]| {
            Quat::from_euler(
                EulerRot::YXZ,
                yaw.to_radians(),
                -pitch.to_radians(),
                -roll.to_radians(),
            )
        })
    }

    /// Puts the weights on `expressions`, each given way to by `share` (0..=1).
    pub fn wear_weights(&self, expressions: &mut ExpressionWeights, share: f32) {
        let weights = self.wearable_weights();
        for (i, w) in weights.iter().enumerate() {
            if let Some(w) = w {
                let own = expressions.arkit[i];
                expressions.arkit[i] = own * (1.0 - share) + w * share;
            }
        }
        // The phone's mouth is the mouth: the voice's visemes give way to it.
        if weights.iter().any(Option::is_some) {
            for v in expressions.visemes.iter_mut() {
                *v *= 1.0 - share;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_blend_shape_finds_it() {
        let blink = ARKIT_NAMES.iter().position(|n| *n == "eyeBlinkLeft");
        assert_eq!(arkit_index("eyeBlinkLeft"), blink);
        assert_eq!(arkit_index("EyeBlinkLeft"), blink);
        assert_eq!(arkit_index("eyeBlink_L"), blink);
        assert_eq!(arkit_index("mouthSmile_R"), arkit_index("mouthSmileRight"));
        assert_eq!(arkit_index("jawOpen"), Some(17));
        assert_eq!(arkit_index("tongueOut"), Some(51));
        for unknown in [
            "",
            "_L",
            "eyeBlink",
            "trackingStatus",
            "eyeBlink_X",
            "jawOpen_L",
        ] {
            assert_eq!(arkit_index(unknown), None, "{unknown}");
        }
        // Every ARKit name, in each app's spelling.
        for (i, n) in ARKIT_NAMES.iter().enumerate() {
            let pascal = n[..1].to_ascii_uppercase() + &n[1..];
            assert_eq!(arkit_index(&pascal), Some(i));
            let ifm = n
                .strip_suffix("Left")
                .map(|s| format!("{s}_L"))
                .or_else(|| n.strip_suffix("Right").map(|s| format!("{s}_R")))
                .unwrap_or_else(|| n.to_string());
            assert_eq!(arkit_index(&ifm), Some(i), "{ifm}");
        }
    }

    #[test]
    fn eye_turns_become_eye_look_weights_only_when_the_packet_has_none() {
        let mut f = FaceFrame {
            eyes: Some([[15.0, -12.5]; 2]),
            ..default()
        };
        let w = f.wearable_weights();
        let get = |w: &[Option<f32>; 52], n: &str| w[arkit_index(n).unwrap()];
        // Looking to her left and down.
        assert_eq!(get(&w, "eyeLookOutLeft"), Some(0.5));
        assert_eq!(get(&w, "eyeLookInRight"), Some(0.5));
        assert_eq!(get(&w, "eyeLookInLeft"), Some(0.0));
        assert_eq!(get(&w, "eyeLookDownLeft"), Some(0.5));
        assert_eq!(get(&w, "eyeLookUpRight"), Some(0.0));
        f.set(arkit_index("eyeLookUpLeft").unwrap(), 0.25);
        let w = f.wearable_weights();
        assert_eq!(
            get(&w, "eyeLookOutLeft"),
            None,
            "the packet's own gaze wins"
        );
        assert_eq!(get(&w, "eyeLookUpLeft"), Some(0.25));
    }

    #[test]
    fn weights_give_way_by_their_share_and_the_head_turns_like_tracking() {
        let mut f = FaceFrame::default();
        f.set(17, 0.8);
        let mut e = ExpressionWeights::default();
        e.arkit[17] = 0.2;
        e.visemes[0] = 1.0;
        f.wear_weights(&mut e, 0.5);
        assert!((e.arkit[17] - 0.5).abs() < 1e-6);
        assert!((e.visemes[0] - 0.5).abs() < 1e-6);
        f.head = Some([30.0, 0.0, 0.0]);
        let turned = f.head_turn().unwrap() * Vec3::Z;
        assert!(
            turned.x > 0.49 && turned.x < 0.51,
            "yaw to her left (+X): {turned}"
        );
        assert_eq!(wrap_degrees(350.0), -10.0);
        assert_eq!(wrap_degrees(-190.0), 170.0);
    }
}
