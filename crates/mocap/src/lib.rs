#![warn(missing_docs)]
//! Motion sources that drive the performer's body.
//!
//! A [`MotionPlayer`] plays one source on the show clock — a keyframed clip authored in code
//! (the built-in demo and idle), a motion-capture clip read from BVH ([`bvh`]) and retargeted
//! onto the humanoid ([`retarget`]), or a recorded take ([`take`]) — with speed and looping, and
//! crossfades when the source changes. It writes the canonical signals (pose, stage position,
//! expressions); the performer crate solves them onto the avatar.
//!
//! - [`bvh`]: BVH files parsed and written.
//! - [`retarget`]: a BVH skeleton matched to the humanoid by joint names, or inferred from its
//!   shape when no naming fits ([`BoneMap`]), and its frames turned into humanoid poses
//!   ([`HumanoidClip`]).
//! - [`take`]: takes, what the performer did recorded to a folder (body as BVH, face as CSV,
//!   the director's commands) and read back for replay; the [`take::Recording`] resource.
//! - [`vmc`]: the VMC protocol (OSC over UDP), a receiver and a sender.
//! - [`vmc_source`]: VMC in the show, a live pose that overrides the clip while it streams, and
//!   the performer streamed out; set up by [`vmc_source::VmcSettings`].
//! - [`emote`] and [`gesture`]: the director's live reactions layered over whatever drives
//!   her — expressions faded in, held and out, and short upper-body clips (wave, bow, nod,
//!   clap or a BVH file).
//!
//! The [`plugin`] loads the show's motion, applies the director's motion commands, plays it,
//! and adds VMC, take recording, emotes and gestures; [`MotionStatus`] tells the panel what
//! plays.

use std::path::Path;

use bevy::prelude::*;

use ling_core::AppSystems;
use ling_core::background::LoadPolicy;
use ling_core::show::{ActiveShow, DirectorCommand, MotionSpec, ShowClock, ShowFile};
use ling_core::signals::{ExpressionWeights, HumanBone, HumanoidPose, Performer};

pub mod bvh;
mod clip;
mod demo;
pub mod emote;
mod export;
pub mod gesture;
mod infer;
pub mod retarget;
pub mod take;
pub mod vmc;
pub mod vmc_source;
pub mod vrma;

use clip::{ClipSample, KeyframeClip};
pub use retarget::{BoneMap, HumanoidClip};

/// The types most users of the crate need: the player and its status, captures and their bone
/// maps, takes and recording, and the VMC settings and health.
pub mod prelude {
    pub use crate::emote::{EMOTES, Emotes};
    pub use crate::gesture::{GESTURES, Gestures};
    pub use crate::retarget::{BoneMap, HumanoidClip};
    pub use crate::take::{Recording, RecordingStatus, Take};
    pub use crate::vmc_source::{VmcHealth, VmcSettings};
    pub use crate::{MotionError, MotionPlayer, MotionStatus};
}

/// Where the performer stands when a clip does not place her (captured clips move the hips
/// relative to this spot): centre stage, facing the house.
pub(crate) const CENTRE_STAGE: Vec3 = Vec3::new(0.0, 0.0, 0.35);

/// A source of motion.
#[derive(Debug, Clone)]
pub(crate) enum MotionSource {
    /// A clip authored in code (the built-in demo and idle).
    Keyframes(KeyframeClip),
    /// A retargeted capture; `name` is the file it came from. `root` places the clip on stage
    /// (captures move the hips relative to it); `faces` holds a face per frame, if recorded.
    Capture {
        name: String,
        clip: HumanoidClip,
        root: Transform,
        faces: Vec<ExpressionWeights>,
    },
}

impl MotionSource {
    /// Length in seconds.
    fn duration(&self) -> f64 {
        match self {
            MotionSource::Keyframes(k) => k.duration as f64,
            MotionSource::Capture { clip, .. } => clip.duration(),
        }
    }

    /// What it is, for the panel.
    fn label(&self) -> String {
        match self {
            MotionSource::Keyframes(_) => "keyframed clip".to_string(),
            MotionSource::Capture { name, .. } => format!("capture {name}"),
        }
    }

    /// The source at clip time `t` (seconds).
    fn sample(&self, t: f64) -> ClipSample {
        match self {
            MotionSource::Keyframes(k) => k.sample(t as f32),
            MotionSource::Capture {
                clip, root, faces, ..
            } => {
                let expressions = if faces.is_empty() {
                    let mut e = ExpressionWeights::default();
                    let blink = demo::blink(t as f32);
                    e.set("eyeBlinkLeft", blink);
                    e.set("eyeBlinkRight", blink);
                    e
                } else {
                    let i = ((t / clip.frame_time).round() as usize).min(faces.len() - 1);
                    faces[i].clone()
                };
                ClipSample {
                    pose: clip.sample(t),
                    root: *root,
                    expressions,
                }
            }
        }
    }
}

/// Why a show's motion could not be loaded; names the file.
#[derive(Debug, thiserror::Error)]
pub enum MotionError {
    /// The BVH file could not be read or parsed.
    #[error(transparent)]
    Bvh(#[from] bvh::BvhError),
    /// The take could not be read.
    #[error(transparent)]
    Take(#[from] crate::take::TakeError),
    /// The VRM animation could not be read.
    #[error(transparent)]
    Vrma(#[from] vrma::VrmaError),
    /// The capture's skeleton could not be matched to the humanoid, or its bone map read.
    #[error("{path}: {source}")]
    Retarget {
        /// The BVH file.
        path: String,
        /// Why it could not be retargeted.
        source: retarget::RetargetError,
    },
}

/// Plays a motion source on the show clock.
#[derive(Resource, Debug, Clone)]
pub struct MotionPlayer {
    /// What plays.
    pub(crate) source: MotionSource,
    /// Start again at the end (otherwise hold the last frame).
    pub(crate) looping: bool,
    /// Playback rate (1.0 = as authored or recorded).
    pub(crate) speed: f64,
    /// Show time at which the current source started.
    pub(crate) started_at: f64,
    /// The previous source, faded out over `crossfade` seconds after `started_at`.
    previous: Option<(Box<MotionPlayer>, f64)>,
}

impl MotionPlayer {
    /// A player for `source`, starting at show time 0.
    pub(crate) fn new(source: MotionSource, looping: bool, speed: f64) -> Self {
        Self {
            source,
            looping,
            speed,
            started_at: 0.0,
            previous: None,
        }
    }

    /// The player for a show's motion: built-in clips, or a BVH file loaded and retargeted.
    pub fn for_show(show: &ShowFile) -> Result<Self, MotionError> {
        Ok(match &show.motion {
            MotionSpec::BuiltInDemo => {
                Self::new(MotionSource::Keyframes(demo::demo_clip()), false, 1.0)
            }
            MotionSpec::Idle => Self::new(MotionSource::Keyframes(demo::idle_clip()), true, 1.0),
            MotionSpec::Bvh {
                path,
                speed,
                looping,
                bone_map,
            } => {
                let path = show.resolve(path);
                let map = bone_map.as_ref().map(|m| show.resolve(m));
                let (clip, faces) = load_motion(&path, map.as_deref())?;
                Self::new(
                    MotionSource::Capture {
                        name: path.display().to_string(),
                        clip,
                        root: Transform::from_translation(CENTRE_STAGE),
                        faces,
                    },
                    *looping,
                    *speed,
                )
            }
            MotionSpec::Take { path } => {
                let path = show.resolve(path);
                let take = crate::take::Take::load(&path)?;
                let clip = HumanoidClip {
                    frame_time: 1.0 / take.info.fps as f64,
                    poses: take.poses,
                    convention: retarget::Convention::Vrm,
                };
                Self::new(
                    MotionSource::Capture {
                        name: path.display().to_string(),
                        clip,
                        root: Transform::IDENTITY,
                        faces: take.faces,
                    },
                    false,
                    1.0,
                )
            }
        })
    }

    /// Switches to `source` at show time `now`, crossfading from what plays now over
    /// `crossfade` seconds.
    pub(crate) fn switch_to(&mut self, source: MotionSource, now: f64, crossfade: f64) {
        let mut old = self.clone();
        old.previous = None;
        self.source = source;
        self.started_at = now;
        self.previous = (crossfade > 0.0).then(|| (Box::new(old), crossfade));
    }

    /// Clip time for show time `t`: speed, looping or holding at the end.
    fn clip_time(&self, t: f64) -> f64 {
        let d = self.source.duration();
        let local = ((t - self.started_at) * self.speed).max(0.0);
        if self.looping && d > 0.0 {
            local.rem_euclid(d)
        } else {
            local.min(d)
        }
    }

    /// The motion sampled at `fps` for `seconds` (at least one frame) as a BVH on the humanoid
    /// skeleton, which Blender and other tools import.
    pub fn export_bvh(&self, fps: u32, seconds: f64) -> bvh::Bvh {
        let fps = fps.max(1);
        let frames = (seconds * fps as f64).round().max(1.0) as usize;
        let samples: Vec<_> = (0..frames)
            .map(|i| self.sample(i as f64 / fps as f64))
            .collect();
        export::to_bvh(&samples, 1.0 / fps as f64)
    }

    /// The motion sampled at `fps` for `seconds` (at least one frame) as a VRM animation
    /// (`.vrma` bytes): body, expressions and gaze.
    pub fn export_vrma(&self, fps: u32, seconds: f64) -> Vec<u8> {
        let fps = fps.max(1);
        let frames = (seconds * fps as f64).round().max(1.0) as usize;
        let samples: Vec<_> = (0..frames)
            .map(|i| self.sample(i as f64 / fps as f64))
            .collect();
        vrma::write(&samples, 1.0 / fps as f64, false)
    }

    /// What the performer does at show time `t`.
    pub(crate) fn sample(&self, t: f64) -> ClipSample {
        let current = self.source.sample(self.clip_time(t));
        match &self.previous {
            Some((old, fade)) if t - self.started_at < *fade => {
                let w = (((t - self.started_at) / fade).clamp(0.0, 1.0)) as f32;
                let w = w * w * (3.0 - 2.0 * w);
                blend(&old.sample(t), &current, w)
            }
            _ => current,
        }
    }
}

/// `a` blended towards `b` by `w` (0 = all `a`).
pub(crate) fn blend(a: &ClipSample, b: &ClipSample, w: f32) -> ClipSample {
    let mut pose = a.pose.clone();
    for i in 0..HumanBone::COUNT {
        pose.rotations[i] = a.pose.rotations[i].slerp(b.pose.rotations[i], w);
    }
    pose.hips = a.pose.hips.lerp(b.pose.hips, w);
    let mut expressions = a.expressions.clone();
    for (x, y) in expressions.arkit.iter_mut().zip(&b.expressions.arkit) {
        *x += (y - *x) * w;
    }
    for (x, y) in expressions.visemes.iter_mut().zip(&b.expressions.visemes) {
        *x += (y - *x) * w;
    }
    ClipSample {
        pose,
        root: Transform {
            translation: a.root.translation.lerp(b.root.translation, w),
            rotation: a.root.rotation.slerp(b.root.rotation, w),
            scale: Vec3::ONE,
        },
        expressions,
    }
}

/// Loads a BVH file and retargets it onto the humanoid (by name or shape, or with a custom map),
/// or a VRM animation (`.vrma`, by its own humanoid map).
pub fn load_capture(path: &Path, bone_map: Option<&Path>) -> Result<HumanoidClip, MotionError> {
    load_motion(path, bone_map).map(|(clip, _)| clip)
}

/// A capture file's clip and, for a VRM animation that animates the face, a face per frame.
pub(crate) fn load_motion(
    path: &Path,
    bone_map: Option<&Path>,
) -> Result<(HumanoidClip, Vec<ExpressionWeights>), MotionError> {
    let retarget_err = |source| MotionError::Retarget {
        path: path.display().to_string(),
        source,
    };
    if vrma::is_vrma(path) {
        let anim = vrma::load(path)?;
        let clip = anim.clip().map_err(retarget_err)?;
        return Ok((clip, anim.faces));
    }
    let bvh = bvh::load(path)?;
    let map = match bone_map {
        Some(m) => BoneMap::load_custom(m).map_err(retarget_err)?,
        None => BoneMap::for_bvh(&bvh).map_err(retarget_err)?,
    };
    Ok((
        retarget::retarget(&bvh, &map).map_err(retarget_err)?,
        Vec::new(),
    ))
}

/// Motion in the app: the show's motion loaded at startup (unless the runner inserted a
/// [`MotionPlayer`]), `PlayMotion`, `MotionSpeed` and `MotionLoop` commands, playback onto the
/// performer, [`MotionStatus`], VMC and take recording, and the emote and gesture layers.
pub fn plugin(app: &mut App) {
    app.add_plugins((
        vmc_source::plugin,
        take::plugin,
        emote::plugin,
        gesture::plugin,
    ))
    .add_message::<DirectorCommand>()
    .init_resource::<MotionStatus>()
    .add_systems(Startup, load_show_motion)
    .add_systems(
        Update,
        (apply_motion_commands, play_motion, publish_motion_status)
            .chain()
            .in_set(AppSystems::Ingest),
    );
}

/// A motion being loaded for `PlayMotion`, with the crossfade to use when it arrives.
type MotionLoad = (
    ling_core::background::Background<Result<MotionPlayer, MotionError>>,
    f32,
);

/// Motion changes from the panel or the cue list. Files are read off the frame thread (live)
/// and crossfaded in when ready; a file that cannot be loaded is reported and the current motion
/// keeps playing.
fn apply_motion_commands(
    mut commands: MessageReader<DirectorCommand>,
    clock: Res<ShowClock>,
    policy: Option<Res<LoadPolicy>>,
    show: Option<Res<ActiveShow>>,
    player: Option<ResMut<MotionPlayer>>,
    mut status: ResMut<MotionStatus>,
    mut pending: Local<Option<MotionLoad>>,
) {
    let Some(mut player) = player else { return };
    let policy = policy.map(|p| *p).unwrap_or_default();
    for command in commands.read() {
        match command {
            DirectorCommand::PlayMotion { motion, crossfade } => {
                let mut spec_show = show.as_ref().map(|s| s.0.clone()).unwrap_or_default();
                spec_show.motion = motion.clone();
                status.loading = Some(format!("{motion:?}"));
                let load =
                    ling_core::background::Background::start("motion-load", policy, move || {
                        MotionPlayer::for_show(&spec_show)
                    });
                *pending = Some((load, *crossfade));
            }
            DirectorCommand::MotionSpeed(speed) if speed.is_finite() && *speed > 0.0 => {
                // Keep the clip where it is while the rate changes.
                let local = (clock.time - player.started_at) * player.speed;
                player.started_at = clock.time - local / speed;
                player.speed = *speed;
            }
            DirectorCommand::MotionLoop(looping) => player.looping = *looping,
            _ => {}
        }
    }
    let Some(result) = pending.as_ref().and_then(|(load, _)| load.poll()) else {
        return;
    };
    let crossfade = pending.take().map(|(_, c)| c).unwrap_or(0.0);
    status.loading = None;
    match result {
        Ok(next) => {
            let (looping, speed) = (next.looping, next.speed);
            player.switch_to(next.source, clock.time, crossfade as f64);
            player.looping = looping;
            player.speed = speed;
            status.error = None;
        }
        Err(e) => {
            error!("{e}; the current motion keeps playing");
            status.error = Some(e.to_string());
        }
    }
}

/// What the motion player is doing, for the panel: the motion playing, one loading, the last
/// error.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct MotionStatus {
    /// The motion playing, if there is a player.
    pub playing: Option<MotionInfo>,
    /// Why the last motion asked for could not be loaded.
    pub error: Option<String>,
    /// The motion being loaded, while it loads.
    pub loading: Option<String>,
}

/// The motion a player plays.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionInfo {
    /// What it is (the clip's file name, or the built-in clip's name).
    pub label: String,
    /// Its length in seconds.
    pub duration: f64,
    /// Playback speed (1.0 = as recorded).
    pub speed: f64,
    /// Whether it starts again at the end.
    pub looping: bool,
}

/// Publishes what the player plays into [`MotionStatus`].
fn publish_motion_status(player: Option<Res<MotionPlayer>>, mut status: ResMut<MotionStatus>) {
    let playing = player.map(|m| MotionInfo {
        label: m.source.label(),
        duration: m.source.duration(),
        speed: m.speed,
        looping: m.looping,
    });
    if status.playing != playing {
        status.playing = playing;
    }
}

/// Runners load the motion before starting (so a bad file stops them with a clear error);
/// apps that did not get a player load it here, falling back to idle on error.
fn load_show_motion(
    mut commands: Commands,
    show: Option<Res<ActiveShow>>,
    player: Option<Res<MotionPlayer>>,
) {
    if player.is_some() {
        return;
    }
    let player = match show.map(|s| MotionPlayer::for_show(&s.0)) {
        Some(Ok(player)) => player,
        Some(Err(e)) => {
            error!("{e}; the performer stands idle instead");
            MotionPlayer::new(MotionSource::Keyframes(demo::idle_clip()), true, 1.0)
        }
        None => MotionPlayer::new(MotionSource::Keyframes(demo::idle_clip()), true, 1.0),
    };
    commands.insert_resource(player);
}

/// Samples the motion at the show clock and writes the performer's canonical signals.
fn play_motion(
    clock: Res<ShowClock>,
    player: Option<Res<MotionPlayer>>,
    mut performers: Query<
        (&mut Transform, &mut HumanoidPose, &mut ExpressionWeights),
        With<Performer>,
    >,
) {
    let Some(player) = player else { return };
    let sample = player.sample(clock.time);
    for (mut root, mut pose, mut expressions) in &mut performers {
        root.set_if_neq(sample.root);
        pose.set_if_neq(sample.pose.clone());
        expressions.set_if_neq(sample.expressions.clone());
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn demo_player() -> MotionPlayer {
        MotionPlayer::new(MotionSource::Keyframes(demo::demo_clip()), false, 1.0)
    }

    #[test]
    fn demo_is_a_moving_performance_not_a_statue() {
        let player = demo_player();
        assert!(player.source.duration() >= 10.0);
        let start = player.sample(0.0);
        let walk_end = player.sample(4.8);
        // The entrance crosses the stage from the door to centre and turns to the house.
        assert!(start.root.translation.distance(walk_end.root.translation) > 3.0);
        let facing = walk_end.root.rotation * Vec3::Z;
        assert!(
            facing.z > 0.95,
            "faces the audience after the entrance: {facing:?}"
        );
        // The gesture raises the right hand above the head.
        let gesture = player.sample(6.3).pose.model_transforms();
        let hand = gesture[HumanBone::RightHand.index()].translation;
        let head = gesture[HumanBone::Head.index()].translation;
        assert!(hand.y > head.y, "hand {hand:?} above head {head:?}");
        // The turn goes all the way round.
        let mid_turn = player.sample(7.45).root.rotation * Vec3::Z;
        assert!(
            mid_turn.z < 0.0,
            "back to the house half way through the turn"
        );
        // The bow bends the spine forward: the head drops and moves towards the house.
        let bow = player.sample(9.7).pose.model_transforms();
        let bow_head = bow[HumanBone::Head.index()].translation;
        let stand_head =
            player.sample(4.8).pose.model_transforms()[HumanBone::Head.index()].translation;
        assert!(stand_head.y - bow_head.y > 0.08, "bow lowers the head");
        assert!(
            bow_head.z - stand_head.z > 0.1,
            "bow leans towards the house"
        );
        // Eyes blink and the mouth sings.
        let blinks = (0..1200)
            .filter(|i| {
                player
                    .sample(*i as f64 * 0.01)
                    .expressions
                    .get("eyeBlinkLeft")
                    .unwrap()
                    > 0.8
            })
            .count();
        assert!(blinks >= 5, "blinking: {blinks} samples with eyes shut");
        let sung: f32 = (470..650)
            .map(|i| {
                player
                    .sample(i as f64 * 0.01)
                    .expressions
                    .visemes
                    .iter()
                    .sum::<f32>()
            })
            .sum();
        assert!(sung > 20.0, "mouth moves while singing: {sung}");
    }

    #[test]
    fn demo_feet_stay_near_the_floor() {
        let player = demo_player();
        for i in 0..=120 {
            let t = i as f64 * 0.1;
            let fk = player.sample(t).pose.model_transforms();
            let lowest = [HumanBone::LeftFoot, HumanBone::RightFoot]
                .iter()
                .map(|b| fk[b.index()].translation.y)
                .fold(f32::MAX, f32::min);
            // The foot joint sits 9 cm above the sole at rest.
            assert!(
                (lowest - 0.09).abs() < 0.07,
                "t={t}: lowest foot joint at {lowest}"
            );
        }
    }

    #[test]
    fn clip_drives_the_performer_from_the_show_clock() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, TransformPlugin, ling_core::plugin, plugin));
        crate::spawn_test_performer(&mut app);
        app.insert_resource(demo_player());
        app.insert_resource(ShowClock {
            time: 2.0,
            playing: false,
            duration: 12.0,
            looping: false,
            mode: ling_core::show::ClockMode::External,
        });
        app.update();
        let world = app.world_mut();
        let (root, pose) = world
            .query_filtered::<(&Transform, &HumanoidPose), With<Performer>>()
            .single(world)
            .unwrap();
        let expected = demo_player().sample(2.0);
        assert_eq!(*root, expected.root);
        assert_eq!(*pose, expected.pose);
    }
}

#[cfg(test)]
mod player_tests {
    use super::*;

    fn capture(frames: usize, angle: f32) -> MotionSource {
        let mut pose = HumanoidPose::default();
        pose.set(HumanBone::Head, Quat::from_rotation_y(angle));
        MotionSource::Capture {
            name: "test".into(),
            clip: HumanoidClip {
                frame_time: 0.1,
                poses: vec![pose; frames],
                convention: retarget::Convention::Vrm,
            },
            root: Transform::from_translation(CENTRE_STAGE),
            faces: Vec::new(),
        }
    }

    #[test]
    fn speed_and_looping_map_show_time_to_clip_time() {
        let mut p = MotionPlayer::new(capture(20, 0.0), true, 2.0);
        assert!((p.clip_time(0.5) - 1.0).abs() < 1e-9);
        assert!(
            (p.clip_time(1.5) - 1.0).abs() < 1e-9,
            "2 s clip at double speed loops each second"
        );
        p.looping = false;
        assert!((p.clip_time(5.0) - 2.0).abs() < 1e-9, "holds the end");
    }

    #[test]
    fn motion_commands_switch_clips_change_speed_and_survive_bad_files() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, crate::plugin));
        let show = ShowFile {
            base_dir: ling_testkit::repo_root().join("scenes"),
            ..default()
        };
        ling_core::show::insert_show(&mut app, show, ling_core::show::ClockMode::External, true);
        app.update();
        app.world_mut().resource_mut::<ShowClock>().time = 2.0;
        app.world_mut()
            .write_message(DirectorCommand::MotionSpeed(2.0));
        app.update();
        let player = app.world().resource::<MotionPlayer>().clone();
        assert_eq!(player.speed, 2.0);
        assert!(
            (player.clip_time(2.0) - 2.0).abs() < 1e-9,
            "the clip does not jump when the speed changes"
        );

        app.world_mut().write_message(DirectorCommand::PlayMotion {
            motion: MotionSpec::Bvh {
                path: "no/such.bvh".into(),
                speed: 1.0,
                looping: true,
                bone_map: None,
            },
            crossfade: 0.5,
        });
        app.update();
        let err = app
            .world()
            .resource::<MotionStatus>()
            .error
            .clone()
            .expect("reported");
        assert!(err.contains("no/such.bvh"), "{err}");
        assert!(
            matches!(
                app.world().resource::<MotionPlayer>().source,
                MotionSource::Keyframes(_)
            ),
            "still playing"
        );

        let clip = ling_testkit::repo_root().join("../shared/data/mocap/cmu_131_01.bvh");
        if !clip.exists() {
            ling_testkit::skip(format!(
                "the BVH part of motion_commands_...: {} not found",
                clip.display()
            ));
            return;
        }
        app.world_mut().write_message(DirectorCommand::PlayMotion {
            motion: MotionSpec::Bvh {
                path: clip,
                speed: 1.0,
                looping: true,
                bone_map: None,
            },
            crossfade: 0.5,
        });
        app.update();
        let player = app.world().resource::<MotionPlayer>().clone();
        assert!(matches!(player.source, MotionSource::Capture { .. }));
        assert_eq!(player.started_at, 2.0);
        assert!(player.previous.is_some(), "crossfading from the idle clip");
        assert!(app.world().resource::<MotionStatus>().error.is_none());
    }

    #[test]
    fn switching_sources_crossfades() {
        let mut p = MotionPlayer::new(capture(50, 0.0), true, 1.0);
        p.switch_to(capture(50, 1.0), 2.0, 1.0);
        let head = |t: f64| {
            let (_, angle) = p.sample(t).pose.rotation(HumanBone::Head).to_axis_angle();
            angle
        };
        assert!(head(2.0) < 0.01, "starts from the old pose");
        let mid = head(2.5);
        assert!(mid > 0.3 && mid < 0.7, "half way: {mid}");
        assert!((head(3.5) - 1.0).abs() < 1e-4, "ends on the new pose");
    }
}

/// A bare performer for headless tests: the signals motion sources write, no avatar.
#[cfg(test)]
pub(crate) fn spawn_test_performer(app: &mut App) -> Entity {
    app.world_mut()
        .spawn((
            Name::new("test performer"),
            Transform::default(),
            HumanoidPose::default(),
            ExpressionWeights::default(),
            Performer {
                name: "test".into(),
                bones: Vec::new(),
            },
        ))
        .id()
}
