//! Tracking on stage: a thread reads frames (a video or image file standing in for the camera,
//! or a webcam), runs the face pipeline and sends what it found; the ECS only drains the latest
//! result in the ingest phase, filters each signal (One Euro) and drives the performer's
//! expressions and head. The mouth is shared with lip sync by a configurable blend.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use crossbeam_channel::{Receiver, bounded};

use super::TrackingStatus;
use super::face::{Face, FaceTracker};
use super::hand::{Hand, HandTracker};
use super::source::FrameSource;
use crate::performer::{ExpressionWeights, HumanBone, HumanoidPose, Performer};

/// Where frames come from, chosen on the command line (`live --camera-file FILE`).
#[derive(Resource, Debug, Clone, Default)]
pub struct TrackingSettings {
    /// A video, an image or a folder of images played as the camera, looping.
    pub camera_file: Option<PathBuf>,
    /// How much of the mouth the camera drives when lip sync also does (0 = voice only,
    /// 1 = camera only).
    pub mouth_from_camera: f32,
    /// One Euro filter: minimum cutoff (Hz) and speed coefficient.
    pub min_cutoff: f32,
    pub beta: f32,
}

impl TrackingSettings {
    pub fn with_file(path: PathBuf) -> Self {
        Self {
            camera_file: Some(path),
            mouth_from_camera: 0.7,
            min_cutoff: 1.5,
            beta: 0.3,
        }
    }
}

/// One result from the tracking thread, with how long its stages took.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub face: Option<Face>,
    pub hand: Option<Hand>,
    pub capture_ms: f32,
    pub inference_ms: f32,
}

/// The running tracking thread (dropped: it stops).
#[derive(Resource)]
pub struct TrackingSource {
    results: Receiver<Result<Tracked, String>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Per-signal filters, by ARKit name, and for the head angles.
    filters: Vec<(String, OneEuro)>,
    head: [OneEuro; 3],
    /// Finger joint bends: 5 fingers × 3 joints.
    fingers: [[OneEuro; 3]; 5],
    frames: u32,
    since: Instant,
}

impl Drop for TrackingSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Let it finish its frame, so ONNX Runtime is not torn down under it at exit.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The One Euro filter (Casiez et al. 2012): smooth when still, responsive when moving.
#[derive(Debug, Clone, Copy)]
pub struct OneEuro {
    pub min_cutoff: f32,
    pub beta: f32,
    pub d_cutoff: f32,
    last: Option<(f32, f32)>,
}

impl OneEuro {
    pub fn new(min_cutoff: f32, beta: f32) -> Self {
        Self {
            min_cutoff,
            beta,
            d_cutoff: 1.0,
            last: None,
        }
    }

    fn alpha(cutoff: f32, dt: f32) -> f32 {
        let tau = 1.0 / (std::f32::consts::TAU * cutoff);
        1.0 / (1.0 + tau / dt)
    }

    /// Filters `x` arriving `dt` seconds after the previous sample.
    pub fn filter(&mut self, x: f32, dt: f32) -> f32 {
        let Some((prev, prev_d)) = self.last else {
            self.last = Some((x, 0.0));
            return x;
        };
        let dt = dt.max(1e-4);
        let d = (x - prev) / dt;
        let d_hat = prev_d + Self::alpha(self.d_cutoff, dt) * (d - prev_d);
        let cutoff = self.min_cutoff + self.beta * d_hat.abs();
        let x_hat = prev + Self::alpha(cutoff, dt) * (x - prev);
        self.last = Some((x_hat, d_hat));
        x_hat
    }
}

pub fn plugin(app: &mut App) {
    app.add_systems(Startup, start_tracking).add_systems(
        Update,
        apply_tracking
            .in_set(crate::AppSystems::Blend)
            .after(crate::audio::LipSync),
    );
}

fn start_tracking(
    mut commands: Commands,
    settings: Option<Res<TrackingSettings>>,
    mut status: ResMut<TrackingStatus>,
) {
    let Some(path) = settings.as_ref().and_then(|s| s.camera_file.clone()) else {
        return;
    };
    let (tx, rx) = bounded(2);
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    status.summary = format!("camera file {}: starting", path.display());
    let spawned = std::thread::Builder::new()
        .name("tracking".into())
        .spawn(move || {
            let mut tracker = match FaceTracker::new() {
                Ok(t) => t,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            // Hands are optional: without their models the face still drives the performer.
            let mut hands = HandTracker::new().ok();
            while !stopped.load(Ordering::Relaxed) {
                let mut source = match FrameSource::open(&path) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let period = Duration::from_secs_f64(1.0 / source.fps().unwrap_or(10.0));
                loop {
                    let started = Instant::now();
                    let frame = match source.next_frame() {
                        Ok(Some((_, frame))) => frame,
                        Ok(None) => break, // the end: play the file again
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let captured = Instant::now();
                    let result = tracker.track(&frame).and_then(|face| {
                        let hand = match hands.as_mut() {
                            Some(h) => h.track(&frame)?,
                            None => None,
                        };
                        Ok(Tracked {
                            face,
                            hand,
                            capture_ms: (captured - started).as_secs_f32() * 1000.0,
                            inference_ms: captured.elapsed().as_secs_f32() * 1000.0,
                        })
                    });
                    // A full queue means the stage is behind: drop this result.
                    let _ = tx.try_send(result.map_err(|e| e.to_string()));
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(period.saturating_sub(started.elapsed()));
                }
            }
        });
    let thread = match spawned {
        Ok(t) => t,
        Err(e) => {
            status.summary = format!("tracking could not start: {e}");
            return;
        }
    };
    let settings = settings.map(|s| s.clone()).unwrap_or_default();
    commands.insert_resource(TrackingSource {
        results: rx,
        stop,
        thread: Some(thread),
        filters: Vec::new(),
        head: [OneEuro::new(settings.min_cutoff, settings.beta); 3],
        fingers: [[OneEuro::new(settings.min_cutoff, settings.beta); 3]; 5],
        frames: 0,
        since: Instant::now(),
    });
}

/// Drains the newest result and drives the performer with it, filtered.
fn apply_tracking(
    source: Option<ResMut<TrackingSource>>,
    settings: Option<Res<TrackingSettings>>,
    time: Res<Time>,
    mut status: ResMut<TrackingStatus>,
    mut performers: Query<(&mut ExpressionWeights, &mut HumanoidPose), With<Performer>>,
) {
    let (Some(mut source), Some(settings)) = (source, settings) else {
        return;
    };
    let mut latest = None;
    while let Ok(result) = source.results.try_recv() {
        source.frames += 1;
        latest = Some(result);
    }
    let Some(result) = latest else { return };
    let tracked = match result {
        Ok(t) => t,
        Err(e) => {
            status.summary = format!("tracking stopped: {e}");
            return;
        }
    };
    let fps = source.frames as f32 / source.since.elapsed().as_secs_f32().max(1e-3);
    let dt = time.delta_secs().max(1.0 / 120.0);
    if let Some(hand) = &tracked.hand {
        let mut bends = [[0.0f32; 3]; 5];
        for (f, row) in hand.curls.iter().enumerate() {
            for (j, angle) in row.iter().enumerate() {
                bends[f][j] = source.fingers[f][j].filter(*angle, dt);
            }
        }
        for (_, mut pose) in &mut performers {
            pose_fingers(&mut pose, hand.right > 0.5, &bends);
        }
    }
    let Some(face) = tracked.face else {
        status.summary = format!("tracking {fps:.0} fps: no face in view");
        return;
    };
    status.summary = format!(
        "tracking {fps:.0} fps: face (presence {:.2}); capture {:.1} ms, inference {:.1} ms",
        face.presence, tracked.capture_ms, tracked.inference_ms
    );
    let mouth = settings.mouth_from_camera.clamp(0.0, 1.0);
    let mut filtered = Vec::with_capacity(face.expressions.len());
    for (name, weight) in &face.expressions {
        let index = match source.filters.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                source.filters.push((
                    name.to_string(),
                    OneEuro::new(settings.min_cutoff, settings.beta),
                ));
                source.filters.len() - 1
            }
        };
        filtered.push((*name, source.filters[index].1.filter(*weight, dt)));
    }
    let head = [face.head.yaw, face.head.pitch, face.head.roll];
    let mut smooth = [0.0f32; 3];
    for (i, angle) in head.iter().enumerate() {
        smooth[i] = source.head[i].filter(*angle, dt);
    }
    for (mut weights, mut pose) in &mut performers {
        for (name, weight) in &filtered {
            let is_mouth = name.starts_with("mouth") || name.starts_with("jaw");
            if is_mouth {
                // Share the mouth with lip sync: the camera takes `mouth` of it.
                let voice = weights.get(name).unwrap_or(0.0);
                weights.set(name, voice * (1.0 - mouth) + weight * mouth);
                if *name == "jawOpen" {
                    for v in weights.visemes.iter_mut() {
                        *v *= 1.0 - mouth;
                    }
                }
            } else {
                weights.set(name, *weight);
            }
        }
        let turn = Quat::from_euler(
            EulerRot::YXZ,
            smooth[0].to_radians(),
            -smooth[1].to_radians(),
            -smooth[2].to_radians(),
        );
        let i = HumanBone::Head.index();
        pose.rotations[i] = pose.rotations[i] * turn;
    }
}

/// Bends the performer's fingers: `bends[finger][joint]` in degrees, thumb to little finger,
/// base to tip. The camera sees the performer as a mirror does, so a hand the model calls
/// right is her left.
pub fn pose_fingers(pose: &mut HumanoidPose, model_right: bool, bends: &[[f32; 3]; 5]) {
    let (side, sign) = if model_right {
        ("left", -1.0)
    } else {
        ("right", 1.0)
    };
    let joints = [
        ["ThumbMetacarpal", "ThumbProximal", "ThumbDistal"],
        ["IndexProximal", "IndexIntermediate", "IndexDistal"],
        ["MiddleProximal", "MiddleIntermediate", "MiddleDistal"],
        ["RingProximal", "RingIntermediate", "RingDistal"],
        ["LittleProximal", "LittleIntermediate", "LittleDistal"],
    ];
    for (f, names) in joints.iter().enumerate() {
        for (j, name) in names.iter().enumerate() {
            let Some(bone) = HumanBone::from_name(&format!("{side}{name}")) else {
                continue;
            };
            // Fingers lie along the arm with the palm down: a bend turns the tip down
            // (about Z), as the keyframed demo's finger curls do. The thumb bends half as far
            // about its own axis.
            let amount = if f == 0 { 0.5 } else { 1.0 };
            pose.rotations[bone.index()] =
                Quat::from_rotation_z((sign * amount * bends[f][j]).to_radians());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A video of the smiling astronaut played as the camera makes the performer smile.
    #[test]
    fn a_video_as_the_camera_drives_the_performers_smile() {
        let still = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/images/astronaut.png");
        if !still.exists() || FaceTracker::new().is_err() {
            println!("SKIPPED camera-file tracking test: ../shared/data or ONNX Runtime missing");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("astronaut.mp4");
        let made = std::process::Command::new("ffmpeg")
            .args(["-y", "-loglevel", "error", "-loop", "1", "-i"])
            .arg(&still)
            .args(["-t", "1", "-r", "10", "-pix_fmt", "yuv420p"])
            .arg(&video)
            .output();
        if !made.is_ok_and(|o| o.status.success()) {
            println!("SKIPPED camera-file tracking test: ffmpeg cannot make the video");
            return;
        }
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            crate::configure_phases,
            super::super::plugin,
        ))
        .insert_resource(TrackingSettings::with_file(video));
        let performer = app
            .world_mut()
            .spawn((
                Performer {
                    name: "test".into(),
                    bones: Vec::new(),
                },
                ExpressionWeights::default(),
                HumanoidPose::default(),
            ))
            .id();
        let started = Instant::now();
        let smile = loop {
            app.update();
            let w = app.world().get::<ExpressionWeights>(performer).unwrap();
            let smile = w.get("mouthSmileLeft").unwrap();
            if smile > 0.5 || started.elapsed() > Duration::from_secs(20) {
                break smile;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(smile > 0.5, "the performer smiles: {smile}");
        let status = &app.world().resource::<TrackingStatus>().summary;
        assert!(status.contains("face"), "{status}");
    }

    #[test]
    fn finger_bends_curl_the_mirrored_hand() {
        let mut pose = HumanoidPose::default();
        let mut bends = [[0.0; 3]; 5];
        bends[1] = [60.0, 45.0, 30.0];
        pose_fingers(&mut pose, true, &bends);
        let index = HumanBone::from_name("leftIndexProximal").unwrap();
        let (_, angle) = pose.rotations[index.index()].to_axis_angle();
        assert!((angle.to_degrees() - 60.0).abs() < 0.01);
        let untouched = HumanBone::from_name("rightIndexProximal").unwrap();
        assert_eq!(pose.rotations[untouched.index()], Quat::IDENTITY);
        // Curled tips go down, towards the palm, with the palm down.
        let fk = pose.model_transforms();
        let tip = fk[HumanBone::from_name("leftIndexDistal").unwrap().index()].translation;
        let base = fk[index.index()].translation;
        assert!(tip.y < base.y - 0.01, "{base} → {tip}");
    }

    #[test]
    fn one_euro_smooths_jitter_and_follows_a_step() {
        let mut f = OneEuro::new(1.0, 0.3);
        let dt = 1.0 / 30.0;
        // Jitter of ±0.05 around 0.5: the output moves much less.
        let mut spread = (f32::MAX, f32::MIN);
        for i in 0..120 {
            let x = 0.5 + if i % 2 == 0 { 0.05 } else { -0.05 };
            let y = f.filter(x, dt);
            if i > 30 {
                spread = (spread.0.min(y), spread.1.max(y));
            }
        }
        assert!(spread.1 - spread.0 < 0.03, "jitter smoothed: {spread:?}");
        // A step to 1.0 is followed within a third of a second.
        let mut y = 0.0;
        for _ in 0..10 {
            y = f.filter(1.0, dt);
        }
        assert!(y > 0.85, "follows the step: {y}");
    }
}
