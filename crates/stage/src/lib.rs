#![warn(missing_docs)]
//! The opera stage: the set, its lights and its cameras.
//!
//! The set is a traditional Peking-opera stage built from code (no downloaded assets): a raised
//! square stage with a red carpet, a gilded proscenium, the embroidered back curtain between the
//! two doors, "one table, two chairs", and hanging palace lanterns. Lighting is a small rig (warm
//! key, follow spot, rim lights, curtain wash, lantern glow) driven by named [`LightLook`]s that
//! light cues fade between. One stage camera frames the performer in one of three
//! [`CameraShot`]s and cuts or blends between them on `CutTo` commands; the shots are composed
//! for 16:9 and [`reframe`]d for narrower pictures (9:16, 1:1) so the performer stays whole.
//! Shows name more shots ([`FixedShot`]s that stay put). The [`CameraDirector`] keeps two buses
//! as a vision mixer does: program (what the stage camera shows) and preview (the next shot,
//! which a `Take` puts on program, cut or moved there, swapping the two); a [`PreviewOutput`]
//! asks for a small preview camera, rendered a few times a second, that the operator moves
//! with [`AdjustPreview`].
//! The [`keying::Backdrop`] takes the background (and as much of the set as asked) out of the
//! picture for compositing.
//!
//! The logic (which look, which shot, fades, framing) runs in any app; the visible set, lights
//! and camera are spawned only where rendering is present, so headless tests exercise the same
//! state machine the renderer shows.

use bevy::prelude::*;

use ling_core::AppSystems;
use std::collections::BTreeMap;

use ling_core::looks::{CameraShot, FixedShot, LightLook, ShotRef};
use ling_core::show::{ActiveShow, DirectorCommand};
use ling_core::signals::{HumanoidPose, Performer, stage_position};

pub mod cjk;
pub mod effects;
pub mod keying;
mod set;
mod textures;

/// The lighting state: the current look and the fade in progress.
#[derive(Resource, Debug, Clone)]
pub struct StageLighting {
    /// The look on stage this frame.
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

/// What one bus of the vision mixer (program or preview) shows: a shot, and its framing when
/// that is fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bus {
    /// The shot selected (its button is lit).
    pub shot: ShotRef,
    /// A fixed framing: a named shot's, or where the operator moved the preview camera to;
    /// none: the built-in shot, following the performer.
    pub fixed: Option<FixedShot>,
    /// The operator moved the camera since the shot was selected (the framing is no longer
    /// the shot's).
    pub adjusted: bool,
}

impl Bus {
    /// A built-in shot, following the performer.
    pub fn builtin(shot: CameraShot) -> Self {
        Self {
            shot: ShotRef::Builtin(shot),
            fixed: None,
            adjusted: false,
        }
    }

    /// A named shot at its fixed framing.
    pub fn named(name: &str, shot: FixedShot) -> Self {
        Self {
            shot: ShotRef::Named(name.to_string()),
            fixed: Some(shot),
            adjusted: false,
        }
    }

    /// The bus for a shot reference: a built-in shot, or a named one of `shots` (none when
    /// `shots` has no such name).
    pub fn resolve(shot: &ShotRef, shots: &BTreeMap<String, FixedShot>) -> Option<Self> {
        match shot {
            ShotRef::Builtin(shot) => Some(Self::builtin(*shot)),
            ShotRef::Named(name) => shots.get(name).map(|fixed| Self::named(name, *fixed)),
        }
    }

    /// The framing for a performer at `performer` in a picture of `aspect`: the fixed one, or
    /// the built-in shot's, [`reframe`]d.
    pub fn framing(&self, performer: Vec3, aspect: f32) -> (Vec3, Vec3, f32) {
        match (&self.fixed, &self.shot) {
            (Some(fixed), _) => fixed.framing(),
            (None, ShotRef::Builtin(shot)) => {
                reframe(*shot, shot.framing(performer), performer, aspect)
            }
            // A name without a framing does not happen; hold the wide shot.
            (None, ShotRef::Named(_)) => CameraShot::Wide.framing(Vec3::ZERO),
        }
    }
}

/// Which shot the stage camera shows (program), which comes next (preview), and the blend in
/// progress.
#[derive(Resource, Debug, Clone)]
pub struct CameraDirector {
    /// The built-in shot last put on program (the blend towards it may still be running); a
    /// named shot on program leaves it as it was, see [`Self::program`].
    pub shot: CameraShot,
    /// The program bus: what the stage camera shows (or blends towards).
    pub program: Bus,
    /// The preview bus: what the next [`Self::take`] puts on program.
    pub preview: Bus,
    /// The preview's framing this frame (eye, look-at, vertical fov), for the preview camera.
    pub preview_framing: (Vec3, Vec3, f32),
    blend_from: Option<(Vec3, Vec3, f32)>,
    blend: f32,
    elapsed: f32,
    /// Smoothed performer position the shots follow.
    follow: Option<Vec3>,
    /// The framing computed this frame: eye, look-at, vertical fov (reframed for `aspect`).
    pub framing: (Vec3, Vec3, f32),
    /// Width over height of the picture the shots are framed for: the stage camera's aspect
    /// (read from its projection each frame), [`SHOT_ASPECT`] where there is no camera. Narrower
    /// pictures (9:16, 1:1) are reframed so the performer stays whole; see [`reframe`].
    pub aspect: f32,
}

/// The aspect (16:9) the shots of [`CameraShot::framing`] are composed for.
pub const SHOT_ASPECT: f32 = 16.0 / 9.0;

/// Half the width (metres) a shot must show around the performer: her arms and water sleeves
/// reach about 1.2 m either side of her (with a margin for the camera's follow lag); the
/// close-up needs her face and headdress.
fn half_width_needed(shot: CameraShot) -> f32 {
    match shot {
        CameraShot::CloseUp => 0.3,
        CameraShot::Medium | CameraShot::Wide => 1.4,
    }
}

/// Reframes `shot`'s 16:9 `framing` of a performer standing at `performer` for a picture of
/// `aspect` (width over height). The field of view is vertical, so a narrower picture at the
/// same fov loses its sides: where the shot would no longer hold the width the performer needs
/// (her sleeves for the wide and medium shots, her face for the close-up), the camera dollies
/// back along its line of sight, and where she is off to a side (the wide shot looks at the
/// centre of the stage) it pans with her, just enough to keep her whole. Pictures 16:9 or wider
/// keep the framing as composed.
pub fn reframe(
    shot: CameraShot,
    framing: (Vec3, Vec3, f32),
    performer: Vec3,
    aspect: f32,
) -> (Vec3, Vec3, f32) {
    let (mut eye, mut look, fov) = framing;
    if !aspect.is_finite() || aspect <= 0.0 || aspect >= SHOT_ASPECT - 1e-3 {
        return framing;
    }
    let forward = (look - eye).normalize_or_zero();
    let right = forward.cross(Vec3::Y).normalize_or_zero();
    if right == Vec3::ZERO {
        return framing;
    }
    let half_width = half_width_needed(shot);
    let centre = performer
        + Vec3::Y
            * match shot {
                CameraShot::CloseUp => 1.65,
                CameraShot::Medium | CameraShot::Wide => 1.0,
            };
    // Horizontal half-extent per metre of depth.
    let spread = (fov * 0.5).tan() * aspect;
    let depth = (centre - eye).dot(forward);
    if depth * spread < half_width {
        eye -= forward * (half_width / spread - depth);
    }
    let depth = (centre - eye).dot(forward);
    let offset = (centre - eye).dot(right);
    let room = (depth * spread - half_width).max(0.0);
    if offset.abs() > room {
        let pan = right * (offset.signum() * (offset.abs() - room));
        eye += pan;
        look += pan;
    }
    (eye, look, fov)
}

impl Default for CameraDirector {
    fn default() -> Self {
        Self {
            shot: CameraShot::Wide,
            program: Bus::builtin(CameraShot::Wide),
            preview: Bus::builtin(CameraShot::Medium),
            preview_framing: CameraShot::Medium.framing(Vec3::ZERO),
            blend_from: None,
            blend: 0.0,
            elapsed: 0.0,
            follow: None,
            framing: CameraShot::Wide.framing(Vec3::ZERO),
            aspect: SHOT_ASPECT,
        }
    }
}

impl CameraDirector {
    /// Cuts to `shot`, or blends to it over `blend` seconds when `blend` > 0.
    pub fn cut(&mut self, shot: CameraShot, blend: f32) {
        self.cut_to(Bus::builtin(shot), blend);
    }

    /// Puts `bus` on program: a cut, or a blend over `blend` seconds when `blend` > 0.
    pub fn cut_to(&mut self, bus: Bus, blend: f32) {
        let blend = if blend.is_finite() { blend } else { 0.0 };
        self.blend_from = (blend > 0.0).then_some(self.framing);
        self.blend = blend;
        self.elapsed = 0.0;
        if let ShotRef::Builtin(shot) = bus.shot {
            self.shot = shot;
        }
        self.program = bus;
        if blend <= 0.0 {
            // A cut re-frames at once on where the performer is now.
            self.follow = None;
        }
    }

    /// Selects the shot on the preview bus.
    pub fn set_preview(&mut self, bus: Bus) {
        self.preview = bus;
    }

    /// Puts the preview on program (cut, or an auto transition of `transition` seconds) and
    /// the old program on preview, as a vision mixer's TAKE does. A preview the operator
    /// moved goes on program as framed.
    pub fn take(&mut self, transition: f32) {
        let old = self.program.clone();
        self.cut_to(self.preview.clone(), transition);
        self.preview = old;
    }

    /// Moves the preview camera to `shot` (the operator orbiting, dollying or panning it).
    pub fn adjust_preview(&mut self, shot: FixedShot) {
        self.preview.fixed = Some(shot);
        self.preview.adjusted = true;
    }

    /// Whether a blend or auto transition is running on program.
    pub fn in_transition(&self) -> bool {
        self.blend_from.is_some() && self.blend > 0.0
    }

    /// The smoothed performer position the shots follow.
    pub fn followed(&self) -> Vec3 {
        self.follow.unwrap_or(Vec3::ZERO)
    }

    /// Updates the framing for a performer at `performer` after `dt` seconds, reframed for
    /// [`Self::aspect`].
    pub fn update(&mut self, performer: Vec3, dt: f32) {
        let follow = match self.follow {
            Some(prev) => prev.lerp(performer, 1.0 - (-dt * 3.0).exp()),
            None => performer,
        };
        self.follow = Some(follow);
        self.preview_framing = self.preview.framing(follow, self.aspect);
        let target = self.program.framing(follow, self.aspect);
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
    /// The primary window.
    #[default]
    Window,
    /// An image the offline renderer reads back.
    Image(Handle<Image>),
}

/// Render quality settings of the stage camera: what a software renderer pays for and a
/// viewer sees. [`StageQuality::FINAL`] is the default; [`StageQuality::DRAFT`] keeps the
/// picture (lights, shadows, colours) and drops what costs most on a CPU renderer: bloom (its
/// mip chain is rendered at a fixed size whatever the picture's), MSAA and large shadow maps.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageQuality {
    /// MSAA samples: 1 (off), 2, 4 or 8. Off renders about 30% faster on software renderers.
    pub msaa_samples: u32,
    /// Glow around the lanterns and bright costume (taken off anyway when the picture is keyed).
    pub bloom: bool,
    /// Side of the key light's and the spot lights' shadow maps, in texels.
    pub shadow_map_size: usize,
}

impl StageQuality {
    /// Everything on: 4× MSAA, bloom, 2048-texel shadow maps.
    pub const FINAL: Self = Self {
        msaa_samples: 4,
        bloom: true,
        shadow_map_size: 2048,
    };
    /// For speed: no MSAA, no bloom, 1024-texel shadow maps. About twice the frames per
    /// second of [`FINAL`](Self::FINAL) on lavapipe.
    pub const DRAFT: Self = Self {
        msaa_samples: 1,
        bloom: false,
        shadow_map_size: 1024,
    };

    /// The preset named `draft` or `final`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "draft" => Some(Self::DRAFT),
            "final" => Some(Self::FINAL),
            _ => None,
        }
    }

    /// This quality with another MSAA sample count.
    pub fn with_msaa(self, msaa_samples: u32) -> Self {
        Self {
            msaa_samples,
            ..self
        }
    }
}

impl Default for StageQuality {
    fn default() -> Self {
        Self::FINAL
    }
}

/// The quality a runner asks for: a preset, or `None` to choose by the renderer at startup
/// ([`StageQuality::DRAFT`] on a software renderer such as lavapipe, [`StageQuality::FINAL`]
/// on a GPU), and an MSAA sample count that overrides the preset's.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualityRequest {
    /// The preset, or `None` for "by the renderer".
    pub preset: Option<StageQuality>,
    /// MSAA samples the user asked for, overriding the preset's.
    pub msaa_samples: Option<u32>,
}

impl QualityRequest {
    /// Exactly this quality.
    pub fn fixed(quality: StageQuality) -> Self {
        Self {
            preset: Some(quality),
            msaa_samples: None,
        }
    }
}

/// Whether the renderer runs on the CPU (lavapipe, llvmpipe, SwiftShader).
pub fn is_software_renderer(adapter: &bevy::render::renderer::RenderAdapterInfo) -> bool {
    // wgpu's `DeviceType` is not re-exported by Bevy; its `Debug` name is stable.
    format!("{:?}", adapter.device_type) == "Cpu"
}

fn choose_quality(
    request: Option<Res<QualityRequest>>,
    adapter: Option<Res<bevy::render::renderer::RenderAdapterInfo>>,
    mut quality: ResMut<StageQuality>,
) {
    let Some(request) = request else {
        return;
    };
    let software = adapter.as_deref().is_some_and(is_software_renderer);
    let preset = request.preset.unwrap_or(if software {
        StageQuality::DRAFT
    } else {
        StageQuality::FINAL
    });
    *quality = request.msaa_samples.map_or(preset, |m| preset.with_msaa(m));
    if request.preset.is_none() && software {
        info!(
            "software renderer: draft quality for real time (no bloom, MSAA {}, {}-texel shadows); --quality final overrides",
            quality.msaa_samples, quality.shadow_map_size
        );
    }
}

/// Sizes the shadow maps for the [`StageQuality`].
fn apply_shadow_quality(quality: Res<StageQuality>, mut commands: Commands) {
    commands.insert_resource(bevy::light::DirectionalLightShadowMap {
        size: quality.shadow_map_size,
    });
    commands.insert_resource(bevy::light::PointLightShadowMap {
        size: quality.shadow_map_size,
    });
}

/// Marks the stage camera.
#[derive(Component, Debug)]
pub struct StageCamera;

/// Marks the preview camera (see [`PreviewOutput`]).
#[derive(Component, Debug)]
pub struct PreviewCamera;

/// Asks for a preview camera: a second, small camera showing the preview bus, rendered into
/// `image` `rate` times a second (up to [`PreviewOutput::busy_rate`] times while its framing
/// changes) and never more than once in [`PreviewOutput::frame_gap`] program frames, so a
/// software renderer pays little for it. Inserted by the console.
#[derive(Resource, Debug, Clone)]
pub struct PreviewOutput {
    /// The picture the preview camera renders into.
    pub image: Handle<Image>,
    /// Renders a second while the preview stands still.
    pub rate: f32,
    /// Renders a second at most while the preview moves (the operator dragging it, a new shot).
    pub busy_rate: f32,
    /// Program frames from one preview render to the next, at least, while the preview stands
    /// still: where the program itself renders only a few frames a second, the preview takes
    /// one frame in this many rather than every one.
    pub frame_gap: u32,
    /// The same while the preview moves.
    pub busy_frame_gap: u32,
    /// Frames the preview camera rendered (for the console and tests).
    pub rendered: u64,
}

impl PreviewOutput {
    /// A preview into `image` at 4 renders a second (one program frame in 4 at most), 12 while
    /// it moves (one frame in 2 at most).
    pub fn new(image: Handle<Image>) -> Self {
        Self {
            image,
            rate: 4.0,
            busy_rate: 12.0,
            frame_gap: 4,
            busy_frame_gap: 2,
            rendered: 0,
        }
    }

    /// Whether the preview renders this frame, `since` seconds and `frames` program frames
    /// after its last render, `moved` if its framing changed since.
    pub fn due(&self, since: f32, frames: u32, moved: bool) -> bool {
        let interval = |rate: f32| {
            if rate > 0.0 {
                1.0 / rate
            } else {
                f32::INFINITY
            }
        };
        (since >= interval(self.rate) && frames >= self.frame_gap)
            || (moved && since >= interval(self.busy_rate) && frames >= self.busy_frame_gap)
    }
}

/// The operator moved the preview camera (orbit, dolly, pan from the console): the preview bus
/// takes this framing. Not a [`DirectorCommand`]: a drag sends one each frame, and what is kept
/// of it is the `SaveShot` or `Take` that follows.
#[derive(Message, Debug, Clone, Copy, PartialEq)]
pub struct AdjustPreview(pub FixedShot);

/// The stage: set, lights and camera where rendering is present, and the light and camera logic everywhere.
pub fn plugin(app: &mut App) {
    app.init_resource::<StageLighting>()
        .init_resource::<CameraDirector>()
        .init_resource::<StageOutput>()
        .init_resource::<StageQuality>()
        .init_resource::<keying::Backdrop>()
        .add_message::<AdjustPreview>()
        .add_systems(PreStartup, choose_quality)
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
                set::spawn_preview_camera,
                set::aim_preview_camera,
                keying::apply_backdrop,
                apply_shadow_quality.run_if(resource_changed::<StageQuality>),
                set::aim_follow_lights,
                set::publish_anchors,
            )
                .chain()
                .in_set(AppSystems::Stage)
                .before(ling_stage_fx::FxSystems::Control),
        );
}

fn apply_stage_commands(
    mut commands: MessageReader<DirectorCommand>,
    mut adjustments: MessageReader<AdjustPreview>,
    mut show: Option<ResMut<ActiveShow>>,
    mut runner: Option<ResMut<ling_core::show::CueRunner>>,
    mut lighting: ResMut<StageLighting>,
    mut cameras: ResMut<CameraDirector>,
    mut backdrop: ResMut<keying::Backdrop>,
) {
    let no_shots = BTreeMap::new();
    for AdjustPreview(shot) in adjustments.read() {
        if shot.check().is_ok() {
            cameras.adjust_preview(*shot);
        }
    }
    for command in commands.read() {
        let shots = show.as_ref().map_or(&no_shots, |s| &s.0.shots);
        let resolve = |shot: &ShotRef| {
            let bus = Bus::resolve(shot, shots);
            if bus.is_none() {
                warn!("shot \"{shot}\" is neither built in nor one of the show's shots; ignored");
            }
            bus
        };
        match command {
            DirectorCommand::CutToShot { name, blend } => {
                if let Some(bus) = resolve(name) {
                    cameras.cut_to(bus, *blend);
                }
            }
            DirectorCommand::Preview(shot) => {
                if let Some(bus) = resolve(shot) {
                    cameras.set_preview(bus);
                }
            }
            DirectorCommand::Take { transition } => cameras.take(*transition),
            DirectorCommand::SaveShot { name, shot } => {
                let Some(show) = show.as_mut() else {
                    warn!("no show to save the shot \"{name}\" in");
                    continue;
                };
                match ling_core::show::check_shot_name(name).and_then(|()| shot.check()) {
                    Ok(()) => {
                        show.0.shots.insert(name.clone(), *shot);
                        info!("shot \"{name}\" saved in the show");
                        // The preview it was framed on (as rounded for the file) becomes it.
                        let preview = cameras.preview.fixed;
                        if preview.map(|f| FixedShot::from_framing(f.framing())) == Some(*shot) {
                            cameras.set_preview(Bus::named(name, *shot));
                        }
                        if let Some(runner) = runner.as_mut() {
                            runner.unsaved = true;
                        }
                    }
                    Err(why) => warn!("shot \"{name}\" not saved: {why}"),
                }
            }
            DirectorCommand::DeleteShot(name) => {
                let Some(show) = show.as_mut() else { continue };
                let used = show.0.cues.iter().any(|c| match &c.command {
                    DirectorCommand::CutToShot { name: n, .. } | DirectorCommand::Preview(n) => {
                        *n == ShotRef::Named(name.clone())
                    }
                    _ => false,
                });
                if used {
                    warn!("shot \"{name}\" is used by the cue list; not deleted");
                } else if show.0.shots.remove(name).is_some() {
                    info!("shot \"{name}\" deleted from the show");
                    if let Some(runner) = runner.as_mut() {
                        runner.unsaved = true;
                    }
                }
            }
            _ => {}
        }
        match command {
            DirectorCommand::Backdrop { fill, set } => {
                let parsed = keying::BackdropFill::parse(fill).and_then(|fill| {
                    let set = set
                        .as_deref()
                        .map(keying::SetVisibility::parse)
                        .transpose()?;
                    Ok((fill, set))
                });
                match parsed {
                    Ok((fill, set)) => {
                        let set = set.unwrap_or(if fill.is_keyed() && !backdrop.fill.is_keyed() {
                            // Keying a plain stage: her alone, as on the command line.
                            keying::SetVisibility::PerformerOnly
                        } else {
                            backdrop.set
                        });
                        backdrop.set_if_neq(keying::Backdrop { fill, set });
                    }
                    Err(why) => warn!("{why}; the backdrop is unchanged"),
                }
            }
            DirectorCommand::CutTo { shot, blend } => cameras.cut(*shot, *blend),
            DirectorCommand::ResetStage => {
                *lighting = StageLighting::default();
                cameras.cut(CameraShot::Wide, 0.0);
                cameras.set_preview(Bus::builtin(CameraShot::Medium));
            }
            DirectorCommand::Panic => {
                // A safe look: the show's house lights, or the default, in half a second.
                let (name, look) = show
                    .as_ref()
                    .and_then(|s| s.0.lights.get("house").map(|l| ("house", *l)))
                    .unwrap_or(("safe", LightLook::default()));
                lighting.go(name, look, 0.5);
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
    projections: Query<&Projection, With<StageCamera>>,
    mut cameras: ResMut<CameraDirector>,
) {
    // Bevy keeps the projection's aspect to the render target's size.
    if let Some(Projection::Perspective(p)) = projections.iter().next() {
        if p.aspect_ratio.is_finite() && p.aspect_ratio > 0.0 && p.aspect_ratio != cameras.aspect {
            cameras.aspect = p.aspect_ratio;
        }
    }
    let at = performers
        .iter()
        .next()
        .map(|(root, pose)| stage_position(root, pose))
        .unwrap_or(Vec3::ZERO);
    cameras.update(at, time.delta_secs());
}

/// The stage's state and the runner's choices: lighting, camera, where it renders and how well.
pub mod prelude {
    pub use crate::keying::{Backdrop, BackdropFill, SetPiece, SetVisibility};
    pub use crate::plugin as stage_plugin;
    pub use crate::{
        AdjustPreview, Bus, CameraDirector, PreviewCamera, PreviewOutput, SHOT_ASPECT, StageCamera,
        StageLighting, StageOutput, StageQuality,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backdrop_commands_key_the_picture_and_keep_it_on_bad_names() {
        let mut app = App::new();
        app.add_message::<DirectorCommand>()
            .add_message::<AdjustPreview>()
            .init_resource::<StageLighting>()
            .init_resource::<CameraDirector>()
            .init_resource::<keying::Backdrop>()
            .add_systems(Update, apply_stage_commands);
        let send = |app: &mut App, fill: &str, set: Option<&str>| {
            app.world_mut().write_message(DirectorCommand::Backdrop {
                fill: fill.into(),
                set: set.map(String::from),
            });
            app.update();
            *app.world().resource::<keying::Backdrop>()
        };
        // Keying a plain stage leaves her alone, as on the command line.
        let b = send(&mut app, "green", None);
        assert_eq!(b.fill, keying::BackdropFill::Key([0, 177, 64]));
        assert_eq!(b.set, keying::SetVisibility::PerformerOnly);
        let b = send(&mut app, "#0047bb", Some("floor"));
        assert_eq!(b.fill, keying::BackdropFill::Key([0, 71, 187]));
        assert_eq!(b.set, keying::SetVisibility::Floor);
        // Another key keeps the set chosen.
        assert_eq!(
            send(&mut app, "magenta", None).set,
            keying::SetVisibility::Floor
        );
        // A bad name changes nothing.
        let before = send(&mut app, "transparent", None);
        assert_eq!(send(&mut app, "chartreuse", None), before);
        assert_eq!(send(&mut app, "stage", Some("everything")), before);
        assert_eq!(
            send(&mut app, "stage", None).fill,
            keying::BackdropFill::Stage
        );
    }

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

    #[test]
    fn shots_keep_their_framing_at_16_9_and_reframe_for_portrait() {
        let door = Vec3::new(3.45, 0.0, -3.0);
        for shot in [CameraShot::Wide, CameraShot::Medium, CameraShot::CloseUp] {
            let f = shot.framing(door);
            assert_eq!(reframe(shot, f, door, SHOT_ASPECT), f, "{shot:?} at 16:9");
            assert_eq!(
                reframe(shot, f, door, 21.0 / 9.0),
                f,
                "{shot:?} wider than 16:9"
            );
        }
        // The wide shot looks at the centre of the stage: in portrait it pans to her.
        let wide = CameraShot::Wide.framing(door);
        let (eye, look, fov) = reframe(CameraShot::Wide, wide, door, 9.0 / 16.0);
        assert_eq!(fov, wide.2);
        assert!(
            eye.x > 1.0 && (look.x - eye.x).abs() < 1e-4,
            "pans: {eye} {look}"
        );
        // The medium shot dollies back until her sleeves fit; the close-up stays on her face.
        let medium = CameraShot::Medium.framing(Vec3::ZERO);
        let (eye, look, _) = reframe(CameraShot::Medium, medium, Vec3::ZERO, 9.0 / 16.0);
        let half = (eye - look).length() * (medium.2 * 0.5).tan() * 9.0 / 16.0;
        assert!(half >= 1.39, "medium half-width at 9:16: {half} m");
        let close = CameraShot::CloseUp.framing(Vec3::ZERO);
        assert_eq!(
            reframe(CameraShot::CloseUp, close, Vec3::ZERO, 9.0 / 16.0),
            close
        );
    }

    const SIDE: FixedShot = FixedShot {
        eye: (3.0, 1.6, 4.0),
        look: (0.0, 1.3, 0.0),
        fov: 30.0,
    };

    #[test]
    fn named_shots_hold_their_framing_and_blend_to_and_from_built_in_ones() {
        let mut cam = CameraDirector::default();
        let performer = Vec3::new(1.0, 0.0, 0.5);
        cam.update(performer, 1.0 / 30.0);
        cam.cut_to(Bus::named("side", SIDE), 0.0);
        cam.update(performer, 1.0 / 30.0);
        assert_eq!(cam.framing, SIDE.framing());
        // A fixed shot stays put when she moves, and at any aspect.
        cam.aspect = 9.0 / 16.0;
        cam.update(performer + Vec3::X, 1.0);
        assert_eq!(cam.framing, SIDE.framing());
        assert_eq!(cam.shot, CameraShot::Wide, "the last built-in shot stays");
        cam.aspect = SHOT_ASPECT;

        cam.cut(CameraShot::CloseUp, 1.0);
        assert!(cam.in_transition());
        cam.update(performer, 0.5);
        let close = CameraShot::CloseUp.framing(cam.followed());
        let (from, to) = (SIDE.framing().0, close.0);
        let d = cam.framing.0.distance(to);
        assert!(
            d > 0.1 && d < from.distance(to),
            "halfway: {}",
            cam.framing.0
        );
        cam.update(performer, 0.6);
        assert!(!cam.in_transition());
        assert!(
            cam.framing
                .0
                .distance(CameraShot::CloseUp.framing(cam.followed()).0)
                < 1e-5
        );

        // And back to the named one, gradually, ending exactly on it.
        cam.cut_to(Bus::named("side", SIDE), 2.0);
        cam.update(performer, 1.0);
        assert!(cam.framing.0.distance(SIDE.framing().0) > 0.1);
        cam.update(performer, 1.1);
        assert_eq!(cam.framing, SIDE.framing());
        assert_eq!(cam.program.shot, ShotRef::Named("side".into()));
    }

    #[test]
    fn take_swaps_preview_and_program_and_moves_over_the_transition() {
        let mut cam = CameraDirector::default();
        let performer = Vec3::ZERO;
        cam.update(performer, 0.1);
        assert_eq!(cam.program, Bus::builtin(CameraShot::Wide));
        assert_eq!(cam.preview, Bus::builtin(CameraShot::Medium));
        cam.set_preview(Bus::named("side", SIDE));
        cam.update(performer, 0.1);
        assert_eq!(cam.preview_framing, SIDE.framing());
        assert_eq!(cam.framing, CameraShot::Wide.framing(performer));

        cam.take(0.0);
        cam.update(performer, 0.1);
        assert_eq!(cam.framing, SIDE.framing(), "a take of 0 s cuts");
        assert_eq!(cam.preview, Bus::builtin(CameraShot::Wide));
        assert_eq!(cam.preview_framing, CameraShot::Wide.framing(performer));

        cam.take(1.0);
        assert_eq!(cam.program, Bus::builtin(CameraShot::Wide));
        assert_eq!(cam.preview, Bus::named("side", SIDE));
        cam.update(performer, 0.5);
        let wide = CameraShot::Wide.framing(performer);
        assert!(cam.framing.0.distance(wide.0) > 0.1, "moving, not cut");
        cam.update(performer, 0.6);
        assert_eq!(cam.framing, wide);

        // A preview the operator moved goes on program as framed, not as its shot.
        let moved = FixedShot {
            eye: (-2.0, 2.0, 5.0),
            ..SIDE
        };
        cam.adjust_preview(moved);
        assert!(cam.preview.adjusted);
        cam.take(0.0);
        cam.update(performer, 0.1);
        assert_eq!(cam.framing, moved.framing());
        assert_eq!(cam.program.shot, ShotRef::Named("side".into()));
    }

    #[test]
    fn the_preview_renders_a_few_times_a_second_and_never_every_frame() {
        let preview = PreviewOutput::new(Handle::default());
        // A fast program (60 fps): 4 renders a second while still, 12 while moving.
        assert!(!preview.due(0.2, 12, false));
        assert!(preview.due(0.25, 15, false));
        assert!(!preview.due(0.05, 3, true));
        assert!(preview.due(0.09, 5, true));
        // A slow program (2 fps on a software renderer): one frame in four, in two moving.
        assert!(!preview.due(1.5, 3, false));
        assert!(preview.due(2.0, 4, false));
        assert!(!preview.due(0.5, 1, true));
        assert!(preview.due(1.0, 2, true));
    }

    #[test]
    fn shot_commands_resolve_names_save_shots_and_refuse_unknown_ones() {
        let mut app = cue_app();
        at(&mut app, 0.0);
        let send = |app: &mut App, command: DirectorCommand| {
            app.world_mut().write_message(command);
            app.update();
        };
        send(&mut app, DirectorCommand::Preview("balcony".into()));
        assert_eq!(
            app.world().resource::<CameraDirector>().preview,
            Bus::builtin(CameraShot::Medium),
            "an unknown shot changes nothing"
        );
        send(
            &mut app,
            DirectorCommand::SaveShot {
                name: "wide".into(),
                shot: SIDE,
            },
        );
        assert!(
            app.world().resource::<ActiveShow>().0.shots.is_empty(),
            "built-in names are taken"
        );
        app.world_mut().write_message(AdjustPreview(SIDE));
        app.update();
        assert!(app.world().resource::<CameraDirector>().preview.adjusted);
        send(
            &mut app,
            DirectorCommand::SaveShot {
                name: "side".into(),
                shot: SIDE,
            },
        );
        assert_eq!(app.world().resource::<ActiveShow>().0.shots["side"], SIDE);
        assert_eq!(
            app.world().resource::<CameraDirector>().preview,
            Bus::named("side", SIDE),
            "the preview it was taken from is now that shot"
        );
        send(
            &mut app,
            DirectorCommand::CutToShot {
                name: "side".into(),
                blend: 0.0,
            },
        );
        assert_eq!(
            app.world().resource::<CameraDirector>().framing,
            SIDE.framing()
        );
        send(&mut app, DirectorCommand::DeleteShot("side".into()));
        assert!(app.world().resource::<ActiveShow>().0.shots.is_empty());
    }

    /// The show and stage plugins in a bare app, on an externally driven clock.
    fn cue_app() -> App {
        let show = ling_core::show::ShowFile::parse(
            r#"(
                name: "cues",
                duration: 10.0,
                lights: { "dim": (key: 0.2), "bright": (key: 1.0, spot: 1.0) },
                cues: [
                    (at: 0.0, command: LightCue(name: "dim")),
                    (at: 2.0, command: CutTo(shot: CloseUp)),
                    (at: 4.0, command: LightCue(name: "bright", fade: 1.0)),
                ],
            )"#,
            std::path::Path::new("cues.ron"),
        )
        .unwrap();
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, plugin));
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
            std::time::Duration::from_millis(100),
        ));
        ling_core::show::insert_show(&mut app, show, ling_core::show::ClockMode::External, false);
        app
    }

    fn at(app: &mut App, t: f64) {
        app.world_mut()
            .resource_mut::<ling_core::show::ShowClock>()
            .time = t;
        app.update();
    }

    #[test]
    fn cues_fire_when_the_clock_crosses_them_and_replay_after_a_seek() {
        use ling_core::show::CommandLog;
        let mut app = cue_app();
        at(&mut app, 0.0);
        at(&mut app, 0.1);
        let lights = app.world().resource::<StageLighting>();
        assert_eq!(lights.cue.as_deref(), Some("dim"));
        assert_eq!(
            app.world().resource::<CameraDirector>().shot,
            CameraShot::Wide
        );

        for i in 2..=21 {
            at(&mut app, i as f64 * 0.1);
        }
        assert_eq!(
            app.world().resource::<CameraDirector>().shot,
            CameraShot::CloseUp
        );
        assert_eq!(
            app.world().resource::<StageLighting>().cue.as_deref(),
            Some("dim")
        );

        for i in 22..=45 {
            at(&mut app, i as f64 * 0.1);
        }
        let lights = app.world().resource::<StageLighting>();
        assert_eq!(lights.cue.as_deref(), Some("bright"));
        assert!(
            lights.current.key > 0.2 && lights.current.key < 1.0,
            "fading: {}",
            lights.current.key
        );

        // Jump back to 1 s: the cue list is replayed up to there, instantly.
        at(&mut app, 1.0);
        at(&mut app, 1.1);
        let lights = app.world().resource::<StageLighting>();
        assert_eq!(lights.cue.as_deref(), Some("dim"));
        assert_eq!(lights.current.key, 0.2);
        // The cut at 2 s has not happened yet at 1 s: the stage is back in its opening shot.
        assert_eq!(
            app.world().resource::<CameraDirector>().shot,
            CameraShot::Wide
        );
        let log = &app.world().resource::<CommandLog>().entries;
        assert!(
            log.iter()
                .filter(|(_, c)| matches!(c, DirectorCommand::LightCue { .. }))
                .count()
                >= 3
        );
    }
}
