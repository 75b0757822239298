//! How the stage looks: the camera shots and the light looks that director commands and show
//! files name. The stage crate moves cameras and fades lights to them.

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

/// The three camera shots of the stage camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Reflect)]
pub enum CameraShot {
    /// The whole proscenium, as seen from the stalls.
    Wide,
    /// The performer from the knees up, following her across the stage.
    Medium,
    /// Head and headdress.
    CloseUp,
}

impl CameraShot {
    /// Every shot, in the order the panel lists them.
    pub const ALL: [CameraShot; 3] = [CameraShot::Wide, CameraShot::Medium, CameraShot::CloseUp];

    /// The shot's name in the panel and logs.
    pub fn label(self) -> &'static str {
        match self {
            CameraShot::Wide => "Wide",
            CameraShot::Medium => "Medium",
            CameraShot::CloseUp => "Close-up",
        }
    }

    /// Eye position, look-at point and vertical field of view (radians) for this shot of a
    /// performer standing at `performer` (stage floor position).
    pub fn framing(self, performer: Vec3) -> (Vec3, Vec3, f32) {
        match self {
            CameraShot::Wide => (
                Vec3::new(0.0, 2.3, 10.8),
                Vec3::new(0.0, 2.2, 0.0),
                40f32.to_radians(),
            ),
            CameraShot::Medium => (
                performer + Vec3::new(0.8, 1.55, 5.2),
                performer + Vec3::new(0.0, 1.2, 0.0),
                30f32.to_radians(),
            ),
            CameraShot::CloseUp => (
                performer + Vec3::new(0.35, 1.75, 2.4),
                performer + Vec3::new(0.0, 1.72, 0.0),
                26f32.to_radians(),
            ),
        }
    }
}

/// One lighting state of the stage. Levels are relative (1.0 = full, up to 4.0 for effects);
/// colours are sRGB triples in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Reflect)]
#[serde(default, deny_unknown_fields)]
pub struct LightLook {
    /// Warm key light from the front.
    pub key: f32,
    /// Colour of the key light (sRGB).
    pub key_color: (f32, f32, f32),
    /// Follow spot on the performer.
    pub spot: f32,
    /// Back rim lights that outline the performer.
    pub rim: f32,
    /// Coloured wash on the back curtain.
    pub wash: f32,
    /// Colour of the curtain wash (sRGB).
    pub wash_color: (f32, f32, f32),
    /// Glow of the palace lanterns.
    pub lanterns: f32,
    /// Overall fill.
    pub ambient: f32,
}

impl Default for LightLook {
    fn default() -> Self {
        Self {
            key: 0.0,
            key_color: (1.0, 0.86, 0.7),
            spot: 0.0,
            rim: 0.0,
            wash: 0.0,
            wash_color: (1.0, 0.45, 0.3),
            lanterns: 0.0,
            ambient: 0.0,
        }
    }
}

const MAX_LEVEL: f32 = 4.0;

impl LightLook {
    /// The look of a stage before any cue: lanterns lit, house dim.
    pub fn preshow() -> Self {
        Self {
            key: 0.25,
            lanterns: 0.6,
            ambient: 0.3,
            wash: 0.3,
            ..default()
        }
    }

    /// Checks levels and colours; the message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let levels = [
            ("key", self.key),
            ("spot", self.spot),
            ("rim", self.rim),
            ("wash", self.wash),
            ("lanterns", self.lanterns),
            ("ambient", self.ambient),
        ];
        for (name, level) in levels {
            if !(level.is_finite() && (0.0..=MAX_LEVEL).contains(&level)) {
                return Err(format!(
                    "{name} = {level} must be between 0 and {MAX_LEVEL}"
                ));
            }
        }
        for (name, (r, g, b)) in [
            ("key_color", self.key_color),
            ("wash_color", self.wash_color),
        ] {
            if ![r, g, b]
                .iter()
                .all(|c| c.is_finite() && (0.0..=1.0).contains(c))
            {
                return Err(format!(
                    "{name} = ({r}, {g}, {b}) must be three numbers in 0..1"
                ));
            }
        }
        Ok(())
    }

    /// The look a fraction `t` (0..=1) of the way from this one to `to`.
    pub fn lerp(&self, to: &LightLook, t: f32) -> LightLook {
        let l = |a: f32, b: f32| a + (b - a) * t;
        let c = |a: (f32, f32, f32), b: (f32, f32, f32)| (l(a.0, b.0), l(a.1, b.1), l(a.2, b.2));
        LightLook {
            key: l(self.key, to.key),
            key_color: c(self.key_color, to.key_color),
            spot: l(self.spot, to.spot),
            rim: l(self.rim, to.rim),
            wash: l(self.wash, to.wash),
            wash_color: c(self.wash_color, to.wash_color),
            lanterns: l(self.lanterns, to.lanterns),
            ambient: l(self.ambient, to.ambient),
        }
    }
}
