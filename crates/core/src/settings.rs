//! Settings that director commands and show files carry for the costume physics and the face
//! and hand tracking. They live here, below both, so the command vocabulary needs neither crate.

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

/// Which costume group a chain belongs to (groups share settings in the panel and show file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChainGroup {
    /// The two pheasant-feather plumes (翎子) on the headdress.
    Plumes,
}

/// Tunable behaviour of one group of chains.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSettings {
    /// Pull back towards the rest shape (chains: per second; cloth: resistance to bending).
    pub stiffness: f32,
    /// Share of velocity the air takes (0..=1).
    pub drag: f32,
    /// Gravity as a multiple of g (chains: metres per second per step).
    pub gravity: f32,
}

/// Wind over the stage, with gusts: a push along `direction` of `strength` (metres per second
/// per step, like gravity), varying by ±`gusts` × strength over a few seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Wind {
    /// Push in metres per second per step (0 = calm).
    pub strength: f32,
    /// Direction the wind blows towards (normalised when used).
    pub direction: (f32, f32, f32),
    /// How much gusts vary the strength (0 = steady, 1 = from calm to double).
    pub gusts: f32,
}

impl Default for Wind {
    fn default() -> Self {
        Self {
            strength: 0.0,
            direction: (1.0, 0.0, 0.3),
            gusts: 0.5,
        }
    }
}

impl Wind {
    /// The wind's push at show time `t` (deterministic, so renders repeat).
    pub fn at(&self, t: f64) -> Vec3 {
        let (x, y, z) = self.direction;
        let dir = Vec3::new(x, y, z).normalize_or_zero();
        let t = t as f32;
        let gust = 1.0 + self.gusts * (0.6 * (t * 1.3).sin() + 0.4 * (t * 3.1 + 1.0).sin());
        dir * self.strength * gust.max(0.0)
    }
}

/// Costume physics settings: per group, and the wind. Show files may set them
/// (`physics: (plumes: (...), sleeves: (...), wind: (...))`); the panel edits them live.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhysicsSettings {
    /// The plume chains.
    pub plumes: GroupSettings,
    /// The water sleeves (cloth, simulated by `ling-physics`).
    pub sleeves: GroupSettings,
    /// The door curtains (cloth).
    pub curtains: GroupSettings,
    /// The back flags (靠旗, cloth).
    pub flags: GroupSettings,
    /// Wind over the stage, pushing every group.
    pub wind: Wind,
}

/// Stiff feathers that arch up and spring back.
pub const PLUMES: GroupSettings = GroupSettings {
    stiffness: 9.0,
    drag: 0.25,
    gravity: 0.1,
};

/// Light silk that hangs and flies (cloth: stiffness resists bending, drag is the share of
/// velocity the air takes per second, gravity a multiple of g).
pub const SLEEVES: GroupSettings = GroupSettings {
    stiffness: 0.6,
    drag: 0.25,
    gravity: 1.0,
};

/// Heavy embroidered curtains that sway and settle.
pub const CURTAINS: GroupSettings = GroupSettings {
    stiffness: 3.0,
    drag: 0.5,
    gravity: 1.0,
};

/// Stiff silk on a pole that flutters and springs back.
pub const FLAGS: GroupSettings = GroupSettings {
    stiffness: 8.0,
    drag: 0.35,
    gravity: 0.6,
};

impl Default for PhysicsSettings {
    fn default() -> Self {
        Self {
            plumes: PLUMES,
            sleeves: SLEEVES,
            curtains: CURTAINS,
            flags: FLAGS,
            wind: Wind::default(),
        }
    }
}

impl PhysicsSettings {
    /// The settings of a chain group.
    pub fn group(&self, group: ChainGroup) -> GroupSettings {
        match group {
            ChainGroup::Plumes => self.plumes,
        }
    }

    /// Checks the values; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        for (name, g) in [
            ("plumes", self.plumes),
            ("sleeves", self.sleeves),
            ("curtains", self.curtains),
            ("flags", self.flags),
        ] {
            if !(g.stiffness.is_finite() && (0.0..=100.0).contains(&g.stiffness)) {
                return Err(format!(
                    "{name}.stiffness = {} must be between 0 and 100",
                    g.stiffness
                ));
            }
            if !(g.drag.is_finite() && (0.0..=1.0).contains(&g.drag)) {
                return Err(format!("{name}.drag = {} must be between 0 and 1", g.drag));
            }
            if !(g.gravity.is_finite() && (-10.0..=10.0).contains(&g.gravity)) {
                return Err(format!(
                    "{name}.gravity = {} must be between -10 and 10",
                    g.gravity
                ));
            }
        }
        if !(self.wind.strength.is_finite() && (0.0..=10.0).contains(&self.wind.strength)) {
            return Err(format!(
                "wind.strength = {} must be between 0 and 10",
                self.wind.strength
            ));
        }
        Ok(())
    }
}

/// How tracked signals are filtered and shared, set from the panel or a show's cues
/// (`TuneTracking((beta: 0.8))`; fields left out take their defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackingTuning {
    /// How much of the mouth the camera drives when lip sync also does (0 = voice only,
    /// 1 = camera only).
    pub mouth_from_camera: f32,
    /// One Euro filter: minimum cutoff (Hz; lower is smoother when still) and speed
    /// coefficient (higher follows fast moves more closely).
    pub min_cutoff: f32,
    /// One Euro speed coefficient.
    pub beta: f32,
    /// Results whose face or hand presence is below this are not applied (the performer
    /// holds her last pose).
    pub min_presence: f32,
}

impl Default for TrackingTuning {
    fn default() -> Self {
        Self {
            mouth_from_camera: 0.7,
            min_cutoff: 1.5,
            beta: 0.3,
            min_presence: 0.7,
        }
    }
}

/// What a calibration captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Calibrate {
    /// The face as it is now is neutral: its expression weights and head angles become zero.
    NeutralFace,
    /// The hand as it is now is at rest: its finger bends and wrist turn become zero.
    HandRest,
    /// Forget both.
    Clear,
}

impl Calibrate {
    /// What the calibration did, for the panel and the log.
    pub fn label(&self) -> &'static str {
        match self {
            Calibrate::NeutralFace => "neutral face captured",
            Calibrate::HandRest => "hand rest pose captured",
            Calibrate::Clear => "calibration cleared",
        }
    }
}
