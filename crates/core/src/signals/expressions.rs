//! Canonical expression signals: the 52 ARKit blendshape weights (the names Live Link Face
//! and MediaPipe use) plus the five vowel visemes A/I/U/E/O that lip sync produces.

use bevy::prelude::*;

/// ARKit's 52 blendshape names, in Apple's order.
pub const ARKIT_NAMES: [&str; 52] = [
    "eyeBlinkLeft",
    "eyeLookDownLeft",
    "eyeLookInLeft",
    "eyeLookOutLeft",
    "eyeLookUpLeft",
    "eyeSquintLeft",
    "eyeWideLeft",
    "eyeBlinkRight",
    "eyeLookDownRight",
    "eyeLookInRight",
    "eyeLookOutRight",
    "eyeLookUpRight",
    "eyeSquintRight",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawRight",
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthLeft",
    "mouthRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
];

/// The vowel visemes, as VRM names them (aa, ih, ou, ee, oh = A, I, U, E, O).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Reflect)]
pub enum Viseme {
    /// Open "a", as in "father".
    Aa,
    /// Spread "i", as in "see".
    Ih,
    /// Rounded "u", as in "blue".
    Ou,
    /// Half-open "e", as in "bed".
    Ee,
    /// Rounded "o", as in "go".
    Oh,
}

impl Viseme {
    /// The five visemes in VRM order.
    pub const ALL: [Viseme; 5] = [Viseme::Aa, Viseme::Ih, Viseme::Ou, Viseme::Ee, Viseme::Oh];

    /// The VRM expression name (`aa`, `ih`, `ou`, `ee`, `oh`).
    pub fn name(self) -> &'static str {
        match self {
            Viseme::Aa => "aa",
            Viseme::Ih => "ih",
            Viseme::Ou => "ou",
            Viseme::Ee => "ee",
            Viseme::Oh => "oh",
        }
    }
}

/// Expression weights (0..=1) of one performer, independent of any avatar.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct ExpressionWeights {
    /// The 52 ARKit blendshapes, in [`ARKIT_NAMES`] order.
    pub arkit: [f32; 52],
    /// The visemes, in [`Viseme::ALL`] order.
    pub visemes: [f32; 5],
}

impl Default for ExpressionWeights {
    fn default() -> Self {
        Self {
            arkit: [0.0; 52],
            visemes: [0.0; 5],
        }
    }
}

impl ExpressionWeights {
    /// The weight of an ARKit blendshape or a viseme by name; `None` for an unknown name.
    pub fn get(&self, name: &str) -> Option<f32> {
        if let Some(i) = ARKIT_NAMES.iter().position(|n| *n == name) {
            return Some(self.arkit[i]);
        }
        Viseme::ALL
            .iter()
            .position(|v| v.name() == name)
            .map(|i| self.visemes[i])
    }

    /// Sets a weight by name (clamped to 0..=1); returns false for an unknown name.
    pub fn set(&mut self, name: &str, weight: f32) -> bool {
        let weight = weight.clamp(0.0, 1.0);
        if let Some(i) = ARKIT_NAMES.iter().position(|n| *n == name) {
            self.arkit[i] = weight;
            return true;
        }
        match Viseme::ALL.iter().position(|v| v.name() == name) {
            Some(i) => {
                self.visemes[i] = weight;
                true
            }
            None => false,
        }
    }

    /// The weight of one viseme.
    pub fn viseme(&self, v: Viseme) -> f32 {
        self.visemes[v as usize]
    }

    /// Sets one viseme's weight.
    pub fn set_viseme(&mut self, v: Viseme, weight: f32) {
        self.visemes[v as usize] = weight.clamp(0.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        let mut w = ExpressionWeights::default();
        assert!(w.set("jawOpen", 0.7));
        assert!(w.set("oh", 2.0));
        assert_eq!(w.get("jawOpen"), Some(0.7));
        assert_eq!(w.viseme(Viseme::Oh), 1.0, "clamped");
        assert!(!w.set("mouthSmile", 1.0));
        assert_eq!(w.get("nope"), None);
        let unique: std::collections::BTreeSet<_> = ARKIT_NAMES.iter().collect();
        assert_eq!(unique.len(), 52);
    }
}
