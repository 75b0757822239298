//! The opera stage: the set, its lights and its cameras.
//!
//! The set is a traditional Peking-opera stage built from code (no downloaded assets): a raised
//! square stage with a red carpet, a gilded proscenium, the embroidered back curtain between the
//! two doors, "one table, two chairs", and hanging palace lanterns. Lighting is a small rig (warm
//! key, follow spot, rim lights, curtain wash, lantern glow) driven by named [`LightLook`]s that
//! light cues fade between. One stage camera frames the performer in one of three
//! [`CameraShot`]s and cuts or blends between them on `CutTo` commands.
//!
//! The logic (which look, which shot, fades, framing) runs in any app; the visible set, lights
//! and camera are spawned only where rendering is present, so headless tests exercise the same
//! state machine the renderer shows.

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppSystems;
use crate::performer::{HumanoidPose, Performer, stage_position};
use crate::show::{ActiveShow, DirectorCommand};

mod set;
mod textures;

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
    pub const ALL: [CameraShot; 3] = [CameraShot::Wide, CameraShot::Medium, CameraShot::CloseUp];

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
    pub key_color: (f32, f32, f32),
    /// Follow spot on the performer.
    pub spot: f32,
    /// Back rim lights that outline the performer.
    pub rim: f32,
    /// Coloured wash on the back curtain.
    pub wash: f32,
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

/// The lighting state: the current look and the fade in progress.
#[derive(Resource, Debug, Clone)]
pub struct StageLighting {
    pub current: LightLook,
    from: LightLook,
    to: LightLook,
    fade: f32,
    elapsed: f32,
    /// Name of the last cue taken.
    pub cue: Option<String>,
}

impl Default for StageLighting {
    fn default() -> Self {
        let look = LightLook::preshow();
        Self {
            current: look,
            from: look,
            to: look,
            fade: 0.0,
            elapsed: 0.0,
            cue: None,
        }
    }
}

impl StageLighting {
    /// Starts a fade to `to` over `fade` seconds (0 = at once).
    pub fn go(&mut self, name: &str, to: LightLook, fade: f32) {
        self.from = self.current;
        self.to = to;
        self.fade = fade.max(0.0);
        self.elapsed = 0.0;
        self.cue = Some(name.to_string());
        if self.fade == 0.0 {
            self.current = to;
        }
    }

    /// Advances the fade by `dt` seconds (smoothstep easing).
    pub fn advance(&mut self, dt: f32) {
        if self.fade <= 0.0 {
            self.current = self.to;
            return;
        }
        self.elapsed = (self.elapsed + dt).min(self.fade);
        let t = self.elapsed / self.fade;
        let eased = t * t * (3.0 - 2.0 * t);
        self.current = self.from.lerp(&self.to, eased);
    }
}

/// Which shot the stage camera shows, and the blend in progress.
#[derive(Resource, Debug, Clone)]
pub struct CameraDirector {
    pub shot: CameraShot,
    blend_from: Option<(Vec3, Vec3, f32)>,
    blend: f32,
    elapsed: f32,
    /// Smoothed performer position the shots follow.
    follow: Option<Vec3>,
    /// The framing computed this frame: eye, look-at, fov.
    pub framing: (Vec3, Vec3, f32),
}

impl Default for CameraDirector {
    fn default() -> Self {
        Self {
            shot: CameraShot::Wide,
            blend_from: None,
            blend: 0.0,
            elapsed: 0.0,
            follow: None,
            framing: CameraShot::Wide.framing(Vec3::ZERO),
        }
    }
}

impl CameraDirector {
    pub fn cut(&mut self, shot: CameraShot, blend: f32) {
        self.blend_from = (blend > 0.0).then_some(self.framing);
        self.blend = blend;
        self.elapsed = 0.0;
        self.shot = shot;
        if blend <= 0.0 {
            // A cut re-frames at once on where the performer is now.
            self.follow = None;
        }
    }

    /// The smoothed performer position the shots follow.
    pub fn followed(&self) -> Vec3 {
        self.follow.unwrap_or(Vec3::ZERO)
    }

    /// Updates the framing for a performer at `performer` after `dt` seconds.
    pub fn update(&mut self, performer: Vec3, dt: f32) {
        let follow = match self.follow {
            Some(prev) => prev.lerp(performer, 1.0 - (-dt * 3.0).exp()),
            None => performer,
        };
        self.follow = Some(follow);
        let target = self.shot.framing(follow);
        self.framing = match self.blend_from {
            Some(from) if self.blend > 0.0 => {
                self.elapsed = (self.elapsed + dt).min(self.blend);
                let t = self.elapsed / self.blend;
                let t = t * t * (3.0 - 2.0 * t);
                if t >= 1.0 {
                    self.blend_from = None;
                }
                (
                    from.0.lerp(target.0, t),
                    from.1.lerp(target.1, t),
                    from.2 + (target.2 - from.2) * t,
                )
            }
            _ => target,
        };
    }
}

/// Where the stage camera renders: the primary window (live) or an image (offline render).
#[derive(Resource, Debug, Clone, Default)]
pub enum StageOutput {
    #[default]
    Window,
    Image(Handle<Image>),
}

/// Render quality settings of the stage camera.
#[derive(Resource, Debug, Clone, Copy)]
pub struct StageQuality {
    /// MSAA samples: 1 (off), 2, 4 or 8. Off renders about 30% faster on software renderers.
    pub msaa_samples: u32,
}

impl Default for StageQuality {
    fn default() -> Self {
        Self { msaa_samples: 4 }
    }
}

/// Marks the stage camera.
#[derive(Component, Debug)]
pub struct StageCamera;

pub fn plugin(app: &mut App) {
    app.init_resource::<StageLighting>()
        .init_resource::<CameraDirector>()
        .init_resource::<StageOutput>()
        .init_resource::<StageQuality>()
        .add_systems(Startup, set::spawn_opera_stage)
        .add_systems(
            Update,
            (
                apply_stage_commands,
                advance_light_fades,
                frame_performer,
                set::apply_light_look.run_if(resource_changed::<StageLighting>),
                set::react_to_audio,
                set::aim_stage_camera,
                set::aim_follow_lights,
                set::publish_anchors,
            )
                .chain()
                .in_set(AppSystems::Stage)
                .before(crate::effects::FxSystems::Control),
        );
}

fn apply_stage_commands(
    mut commands: MessageReader<DirectorCommand>,
    show: Option<Res<ActiveShow>>,
    mut lighting: ResMut<StageLighting>,
    mut cameras: ResMut<CameraDirector>,
) {
    for command in commands.read() {
        match command {
            DirectorCommand::CutTo { shot, blend } => cameras.cut(*shot, *blend),
            DirectorCommand::ResetStage => {
                *lighting = StageLighting::default();
                cameras.cut(CameraShot::Wide, 0.0);
            }
            DirectorCommand::LightCue { name, fade } => {
                match show.as_ref().and_then(|s| s.0.lights.get(name)) {
                    Some(look) => lighting.go(name, *look, *fade),
                    None => warn!("light cue \"{name}\" is not defined by the show; ignored"),
                }
            }
            _ => {}
        }
    }
}

fn advance_light_fades(time: Res<Time>, mut lighting: ResMut<StageLighting>) {
    lighting.advance(time.delta_secs());
}

fn frame_performer(
    time: Res<Time>,
    performers: Query<(&Transform, &HumanoidPose), With<Performer>>,
    mut cameras: ResMut<CameraDirector>,
) {
    let at = performers
        .iter()
        .next()
        .map(|(root, pose)| stage_position(root, pose))
        .unwrap_or(Vec3::ZERO);
    cameras.update(at, time.delta_secs());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_fade_reaches_its_target_smoothly() {
        let mut lighting = StageLighting::default();
        let to = LightLook {
            key: 1.0,
            spot: 2.0,
            ..default()
        };
        lighting.go("full", to, 1.0);
        lighting.advance(0.5);
        let mid = lighting.current.key;
        assert!(mid > 0.3 && mid < 0.9, "halfway through a fade: {mid}");
        lighting.advance(0.6);
        assert_eq!(lighting.current, to);
        assert_eq!(lighting.cue.as_deref(), Some("full"));
    }

    #[test]
    fn bad_levels_are_reported_by_name() {
        let look = LightLook {
            rim: -1.0,
            ..default()
        };
        assert!(look.check().unwrap_err().contains("rim"));
        let look = LightLook {
            wash_color: (2.0, 0.0, 0.0),
            ..default()
        };
        assert!(look.check().unwrap_err().contains("wash_color"));
    }

    #[test]
    fn camera_cut_is_instant_and_blend_is_gradual() {
        let mut cam = CameraDirector::default();
        let performer = Vec3::new(1.0, 0.0, 0.5);
        cam.update(performer, 1.0 / 30.0);
        cam.cut(CameraShot::CloseUp, 0.0);
        cam.update(performer, 1.0 / 30.0);
        assert_eq!(cam.framing, CameraShot::CloseUp.framing(performer));

        cam.cut(CameraShot::Wide, 1.0);
        cam.update(performer, 0.5);
        let wide = CameraShot::Wide.framing(performer);
        let close = CameraShot::CloseUp.framing(performer);
        let d = cam.framing.0.distance(wide.0);
        assert!(d > 0.1 && d < close.0.distance(wide.0));
        cam.update(performer, 0.6);
        assert_eq!(cam.framing, wide);
    }
}
