//! How the stage looks: the camera shots (built-in and the show's named ones) and the light
//! looks that director commands and show files name. The stage crate moves cameras and fades lights to them.

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

/// A camera position a show names (its `shots`): where the eye is, the point it looks at
/// (both in stage metres), and the vertical field of view in degrees. Unlike the built-in
/// [`CameraShot`]s it does not follow the performer. In RON:
/// `(eye: (3.0, 1.6, 4.0), look: (0.0, 1.3, 0.0), fov: 30.0)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Reflect)]
#[serde(deny_unknown_fields)]
pub struct FixedShot {
    /// Eye position.
    pub eye: (f32, f32, f32),
    /// Look-at point.
    pub look: (f32, f32, f32),
    /// Vertical field of view in degrees.
    pub fov: f32,
}

impl FixedShot {
    /// Narrowest and widest field of view a shot may have, in degrees.
    pub const FOV_RANGE: (f32, f32) = (5.0, 120.0);

    /// Eye, look-at point and vertical field of view in radians (as [`CameraShot::framing`]).
    pub fn framing(&self) -> (Vec3, Vec3, f32) {
        (
            Vec3::from(self.eye),
            Vec3::from(self.look),
            self.fov.to_radians(),
        )
    }

    /// The shot of a framing (fov in radians), rounded to millimetres and hundredths of a
    /// degree so it reads well in a show file.
    pub fn from_framing((eye, look, fov): (Vec3, Vec3, f32)) -> Self {
        let mm = |v: Vec3| {
            let r = |x: f32| (x * 1000.0).round() / 1000.0;
            (r(v.x), r(v.y), r(v.z))
        };
        Self {
            eye: mm(eye),
            look: mm(look),
            fov: (fov.to_degrees() * 100.0).round() / 100.0,
        }
    }

    /// Checks the numbers; the message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let (eye, look, _) = self.framing();
        if !(eye.is_finite() && look.is_finite()) {
            return Err("eye and look must be finite numbers".into());
        }
        if eye.distance(look) < 0.01 {
            return Err("eye and look must be at least 1 cm apart".into());
        }
        if (look - eye).normalize().cross(Vec3::Y).length() < 1e-3 {
            return Err("the camera cannot look straight up or down".into());
        }
        let (lo, hi) = Self::FOV_RANGE;
        if !(self.fov.is_finite() && (lo..=hi).contains(&self.fov)) {
            return Err(format!(
                "fov = {} must be between {lo} and {hi} degrees",
                self.fov
            ));
        }
        Ok(())
    }
}

/// A shot by name: one of the three built-in [`CameraShot`]s or a named [`FixedShot`] of the
/// show's `shots`. In show files and commands it is a string: `"wide"`, `"medium"`,
/// `"closeup"` (any case; `"mid"`, `"close-up"` and `"close"` too) or the name of a show shot.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ShotRef {
    /// A built-in shot (it follows the performer).
    Builtin(CameraShot),
    /// A key of the show's `shots`.
    Named(String),
}

impl ShotRef {
    /// The built-in shot a name stands for, if it is one (case and `-`, `_`, spaces ignored).
    pub fn builtin(name: &str) -> Option<CameraShot> {
        let key: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "wide" => Some(CameraShot::Wide),
            "medium" | "mid" => Some(CameraShot::Medium),
            "closeup" | "close" => Some(CameraShot::CloseUp),
            _ => None,
        }
    }

    /// The reference a name stands for: a built-in shot's name, else a show shot's.
    pub fn parse(name: &str) -> Self {
        match Self::builtin(name) {
            Some(shot) => ShotRef::Builtin(shot),
            None => ShotRef::Named(name.to_string()),
        }
    }

    /// The name shown on the console's buttons (a built-in shot's label, a show shot's key).
    pub fn label(&self) -> &str {
        match self {
            ShotRef::Builtin(shot) => shot.label(),
            ShotRef::Named(name) => name,
        }
    }
}

impl Default for ShotRef {
    fn default() -> Self {
        ShotRef::Builtin(CameraShot::Wide)
    }
}

impl From<CameraShot> for ShotRef {
    fn from(shot: CameraShot) -> Self {
        ShotRef::Builtin(shot)
    }
}

impl From<String> for ShotRef {
    fn from(name: String) -> Self {
        Self::parse(&name)
    }
}

impl From<&str> for ShotRef {
    fn from(name: &str) -> Self {
        Self::parse(name)
    }
}

impl From<ShotRef> for String {
    fn from(shot: ShotRef) -> Self {
        match shot {
            ShotRef::Builtin(CameraShot::Wide) => "wide".into(),
            ShotRef::Builtin(CameraShot::Medium) => "medium".into(),
            ShotRef::Builtin(CameraShot::CloseUp) => "closeup".into(),
            ShotRef::Named(name) => name,
        }
    }
}

/// As written in show files: `"side"`, `"closeup"` (so a command's debug text reads like RON).
impl std::fmt::Debug for ShotRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from(self.clone()))
    }
}

impl std::fmt::Display for ShotRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct DebugPreview(#[allow(dead_code)] ShotRef);

    #[test]
    fn shot_refs_read_built_in_names_in_any_spelling_and_keep_others() {
        for (name, shot) in [
            ("wide", CameraShot::Wide),
            ("Wide", CameraShot::Wide),
            ("mid", CameraShot::Medium),
            ("Close-up", CameraShot::CloseUp),
            ("closeup", CameraShot::CloseUp),
        ] {
            assert_eq!(ShotRef::parse(name), ShotRef::Builtin(shot), "{name}");
        }
        assert_eq!(ShotRef::parse("side"), ShotRef::Named("side".into()));
        let back: ShotRef =
            ron::from_str(&ron::to_string(&ShotRef::from(CameraShot::CloseUp)).unwrap()).unwrap();
        assert_eq!(back, ShotRef::Builtin(CameraShot::CloseUp));
        assert_eq!(ron::to_string(&ShotRef::parse("side")).unwrap(), "\"side\"");
        assert_eq!(
            format!("{:?}", DebugPreview(ShotRef::parse("side"))),
            "DebugPreview(\"side\")"
        );
    }

    #[test]
    fn fixed_shots_round_their_framing_and_check_it() {
        let shot = FixedShot::from_framing((
            Vec3::new(1.23456, 1.5, 4.0),
            Vec3::new(0.0, 1.2, 0.0),
            30.004f32.to_radians(),
        ));
        assert_eq!(shot.eye, (1.235, 1.5, 4.0));
        assert_eq!(shot.fov, 30.0);
        assert!(shot.check().is_ok());
        let (eye, look, fov) = shot.framing();
        assert_eq!(
            (eye, look),
            (Vec3::new(1.235, 1.5, 4.0), Vec3::new(0.0, 1.2, 0.0))
        );
        assert!((fov - 30f32.to_radians()).abs() < 1e-6);
        let bad = |s: FixedShot| s.check().unwrap_err();
        assert!(bad(FixedShot { fov: 200.0, ..shot }).contains("fov"));
        assert!(
            bad(FixedShot {
                look: shot.eye,
                ..shot
            })
            .contains("apart")
        );
        assert!(
            bad(FixedShot {
                look: (1.235, 0.0, 4.0),
                ..shot
            })
            .contains("straight")
        );
    }
}
