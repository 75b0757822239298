//! Calibration: what the performer's rest looks like to the camera (her neutral face, her
//! hands at rest), captured on command from the last result, and tracked values measured from
//! it.

use bevy::prelude::*;
use ling_core::settings::Calibrate;
use ling_core::show::DirectorCommand;

use super::{TrackingSettings, TrackingSource};
use crate::TrackingStatus;

/// A face as a calibration captures it: expression weights by name and the mesh.
#[derive(Debug, Clone, Default)]
pub(super) struct Neutral {
    /// Filtered expression weights, 0–1.
    pub(super) weights: Vec<(&'static str, f32)>,
    /// The face mesh (pixels): head turns are fitted against it once it is the neutral face.
    pub(super) landmarks: Vec<Vec3>,
}

/// A hand at rest: finger bends and wrist angles.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct HandRest {
    /// Filtered finger bends, degrees: thumb to little finger, base to tip.
    pub(super) bends: [[f32; 3]; 5],
    /// Filtered wrist angles, degrees: yaw, pitch, roll.
    pub(super) wrist: [f32; 3],
}

/// A weight measured from its neutral value: what was neutral becomes 0, full stays 1.
pub(super) fn from_neutral(weight: f32, neutral: f32) -> f32 {
    if neutral >= 0.95 {
        return weight;
    }
    ((weight - neutral) / (1.0 - neutral)).clamp(0.0, 1.0)
}

/// Calibration and tuning commands from the panel and cues.
pub(super) fn tracking_commands(
    mut commands: MessageReader<DirectorCommand>,
    settings: Option<ResMut<TrackingSettings>>,
    source: Option<ResMut<TrackingSource>>,
    mut status: ResMut<TrackingStatus>,
) {
    let (Some(mut settings), Some(mut source)) = (settings, source) else {
        commands.clear();
        return;
    };
    for command in commands.read() {
        match command {
            DirectorCommand::TuneTracking(t) => {
                settings.tuning = *t;
                source.filters.tune(t);
            }
            DirectorCommand::CalibrateTracking(c) => {
                let note = match c {
                    Calibrate::NeutralFace => match source.last_face.clone() {
                        Some(face) => {
                            source.neutral = Some(face);
                            c.label()
                        }
                        None => "no face in view to calibrate",
                    },
                    Calibrate::HandRest if source.last_hand.iter().any(Option::is_some) => {
                        // Each hand in view now is at rest; one out of view keeps its rest.
                        for i in 0..2 {
                            if let Some(hand) = source.last_hand[i] {
                                source.hand_rest[i] = Some(hand);
                            }
                        }
                        c.label()
                    }
                    Calibrate::HandRest => "no hand in view to calibrate",
                    Calibrate::Clear => {
                        source.neutral = None;
                        source.hand_rest = [None; 2];
                        c.label()
                    }
                };
                status.calibration = note.to_string();
                status.face_calibrated = source.neutral.is_some();
                status.hand_calibrated = source.hand_rest.iter().any(Option::is_some);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_measured_from_the_neutral_face() {
        assert_eq!(from_neutral(0.3, 0.3), 0.0);
        assert_eq!(from_neutral(1.0, 0.3), 1.0);
        assert!((from_neutral(0.65, 0.3) - 0.5).abs() < 1e-6);
        assert_eq!(from_neutral(0.1, 0.3), 0.0, "below neutral is none");
        // A neutral that is already full says nothing: the weight passes.
        assert_eq!(from_neutral(0.4, 0.99), 0.4);
    }
}
