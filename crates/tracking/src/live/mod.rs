//! Tracking on stage: a thread reads frames (a webcam, or a video or image file standing in for
//! it), runs the face and hand pipelines and sends what it found; the ECS only drains the
//! newest result in the ingest phase, filters each signal (One Euro), measures it from the
//! calibrated rest and drives the performer's expressions, head, gaze, wrist and fingers. The
//! mouth is shared with lip sync by a configurable blend.
//!
//! A source that fails (a camera unplugged, a file gone) is reported as unhealthy and opened
//! again every second until it comes back; the performer holds her last pose meanwhile.
//!
//! The parts, in the order a frame passes through them:
//! - `worker`: the tracking thread, its newest-frame channel and its reconnects;
//! - `filter`: the One Euro filters, one per signal;
//! - `calibration`: the captured rests (neutral face, hands at rest) and the commands that
//!   capture them;
//! - `held`: results filtered, measured from the rest, held between frames and eased out;
//! - `pose`: tracked wrist angles and finger bends as bone rotations;
//! - this module: the settings, the plugin and the systems that tie them to the ECS.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use crossbeam_channel::{Receiver, unbounded};

use super::TrackingStatus;
use super::camera::CameraRequest;
use super::source::{FrameSource, SourceError};
use ling_core::settings::TrackingTuning;
use ling_core::show::DirectorCommand;
use ling_core::signals::{ExpressionWeights, HumanoidPose, Performer};

mod calibration;
mod filter;
mod held;
mod pose;
mod worker;

use calibration::{HandRest, Neutral, tracking_commands};
use filter::Filters;
use held::{Held, update_held, wear_held};
use worker::{Newest, Report, Tracked, run_tracking};

pub use worker::Preview;

/// Where tracking frames come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackingInput {
    /// A video, an image or a folder of images played as the camera, looping.
    File(PathBuf),
    /// A webcam.
    Camera(CameraRequest),
}

impl TrackingInput {
    /// What the source is, for status lines: "camera file PATH" or the camera's label.
    pub(crate) fn label(&self) -> String {
        match self {
            TrackingInput::File(p) => format!("camera file {}", p.display()),
            TrackingInput::Camera(c) => c.label(),
        }
    }

    fn open(&self) -> Result<FrameSource, SourceError> {
        match self {
            TrackingInput::File(p) => FrameSource::open(p),
            TrackingInput::Camera(c) => FrameSource::open_camera(c),
        }
    }
}

/// Where frames come from, chosen on the command line (`live --camera-file FILE`,
/// `live --camera [DEVICE]`), and how results are tuned.
#[derive(Resource, Debug, Clone, Default)]
pub struct TrackingSettings {
    /// The source; none means tracking does not start.
    pub input: Option<TrackingInput>,
    /// The filters' cutoff and speed, the presence a result needs, and how much of the mouth
    /// the camera drives; the panel and cues change it with `DirectorCommand::TuneTracking`.
    pub tuning: TrackingTuning,
}

impl TrackingSettings {
    /// Tracking from `input` with the default tuning.
    pub fn with_input(input: TrackingInput) -> Self {
        Self {
            input: Some(input),
            tuning: TrackingTuning::default(),
        }
    }
}

/// The running tracking thread (dropped: it stops).
#[derive(Resource)]
pub(crate) struct TrackingSource {
    /// Health reports, and the newest tracked frame (the thread keeps only the newest).
    reports: Receiver<Report>,
    frames: Receiver<Box<Tracked>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    filters: Filters,
    /// Rest values subtracted from what is tracked.
    neutral: Option<Neutral>,
    hand_rest: [Option<HandRest>; 2],
    /// The last raw (filtered, uncalibrated) values, what a calibration captures.
    last_face: Option<Neutral>,
    last_hand: [Option<HandRest>; 2],
    /// The first frame number and time of the current fps window.
    window: Option<(u64, Instant)>,
    held: Held,
}

impl Drop for TrackingSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Let it finish its frame, so ONNX Runtime is not torn down under it at exit; a
        // camera that stopped delivering frames would hold it forever, so give up after 2 s.
        if let Some(thread) = self.thread.take() {
            let until = Instant::now() + Duration::from_secs(2);
            while !thread.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                warn!("the tracking source did not stop within 2 s; leaving it behind");
            }
        }
    }
}

/// Starts the tracking thread when [`TrackingSettings`] name a source, takes calibration and
/// tuning commands in the ingest phase and puts the tracked signals on the performer in the
/// blend phase, after lip sync.
pub(crate) fn plugin(app: &mut App) {
    app.add_message::<DirectorCommand>()
        .add_systems(Startup, start_tracking)
        .add_systems(
            Update,
            (
                tracking_commands.in_set(ling_core::AppSystems::Ingest),
                apply_tracking
                    .in_set(ling_core::AppSystems::Blend)
                    .after(ling_core::LipSync)
                    .before(ling_core::Reactions),
            ),
        );
}

fn start_tracking(
    mut commands: Commands,
    settings: Option<Res<TrackingSettings>>,
    mut status: ResMut<TrackingStatus>,
) {
    let Some(input) = settings.as_ref().and_then(|s| s.input.clone()) else {
        return;
    };
    let (tx, reports) = unbounded();
    let (frames, newest) = Newest::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    status.source = Some(input.label());
    status.summary = format!("{}: starting", input.label());
    let spawned = std::thread::Builder::new()
        .name("tracking".into())
        .spawn(move || run_tracking(input, tx, frames, stopped));
    let thread = match spawned {
        Ok(t) => t,
        Err(e) => {
            status.summary = format!("tracking could not start: {e}");
            return;
        }
    };
    let mut filters = Filters::default();
    if let Some(s) = &settings {
        filters.tune(&s.tuning);
    }
    commands.insert_resource(TrackingSource {
        reports,
        frames: newest,
        stop,
        thread: Some(thread),
        filters,
        neutral: None,
        hand_rest: [None; 2],
        last_face: None,
        last_hand: [None; 2],
        window: None,
        held: Held::default(),
    });
}

/// Drains the tracking thread's reports; a new result updates the held signals (filtered and
/// calibrated); every frame the held signals drive the performer over the motion's pose.
fn apply_tracking(
    source: Option<ResMut<TrackingSource>>,
    settings: Option<Res<TrackingSettings>>,
    mut status: ResMut<TrackingStatus>,
    mut performers: Query<(&mut ExpressionWeights, &mut HumanoidPose), With<Performer>>,
) {
    let (Some(mut source), Some(settings)) = (source, settings) else {
        return;
    };
    let label = status.source.clone().unwrap_or_default();
    while let Ok(report) = source.reports.try_recv() {
        match report {
            Report::Started { models } => status.models = models,
            Report::Connected { what } => {
                status.healthy = true;
                status.summary = format!("{what}: connected");
            }
            Report::Lost(e) => {
                let what = if status.healthy {
                    "lost"
                } else {
                    "unavailable"
                };
                status.healthy = false;
                status.summary = format!("{label} {what}: {e}; trying again every second");
            }
            Report::Fatal(e) => {
                status.healthy = false;
                status.summary = format!("tracking stopped: {e}");
            }
        }
    }
    if let Ok(tracked) = source.frames.try_recv() {
        update_held(&mut source, &tracked, &settings.tuning, &mut status, &label);
    }
    wear_held(
        &source.held,
        &settings.tuning,
        Instant::now(),
        &mut performers,
    );
}

#[cfg(test)]
mod tests {
    use super::worker::PREVIEW_WIDTH;
    use super::*;
    use crate::face::FaceTracker;
    use ling_core::settings::Calibrate;

    fn astronaut() -> Option<std::path::PathBuf> {
        let still = ling_testkit::repo_root().join("../shared/data/images/astronaut.png");
        if !still.exists() {
            ling_testkit::skip("tracking app test: ../shared/data not found");
            return None;
        }
        ling_testkit::run_from_repo_root();
        if let Err(e) = FaceTracker::new() {
            ling_testkit::skip(format!("tracking app test: {e}"));
            return None;
        }
        Some(still)
    }

    /// A performer with no skeleton of her own, for the tracked signals to land on.
    pub(super) fn spawn_performer(world: &mut World) -> Entity {
        world
            .spawn((
                Performer {
                    name: "test".into(),
                    bones: Vec::new(),
                },
                ExpressionWeights::default(),
                HumanoidPose::default(),
            ))
            .id()
    }

    /// A headless app tracking `input`, with one performer; returns it and the performer.
    fn tracking_app(input: TrackingInput) -> (App, Entity) {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::configure_phases, crate::plugin))
            .insert_resource(TrackingSettings::with_input(input));
        let performer = spawn_performer(app.world_mut());
        (app, performer)
    }

    /// Runs the app until `done` holds or 20 s pass; returns whether it held.
    fn run_until(app: &mut App, mut done: impl FnMut(&mut App) -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            app.update();
            if done(app) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn smile(app: &App, performer: Entity) -> f32 {
        let w = app.world().get::<ExpressionWeights>(performer).unwrap();
        w.get("mouthSmileLeft").unwrap_or(0.0)
    }

    /// A video of the smiling astronaut played as the camera makes the performer smile; taken
    /// as her neutral face, the same smile reads as no smile; cleared, it is back.
    #[test]
    fn a_video_as_the_camera_drives_the_performers_smile_and_calibration_zeroes_it() {
        let Some(still) = astronaut() else { return };
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("astronaut.mp4");
        let made = std::process::Command::new("ffmpeg")
            .args(["-y", "-loglevel", "error", "-loop", "1", "-i"])
            .arg(&still)
            .args(["-t", "1", "-r", "10", "-pix_fmt", "yuv420p"])
            .arg(&video)
            .output();
        if !made.is_ok_and(|o| o.status.success()) {
            ling_testkit::skip("camera-file tracking test: ffmpeg cannot make the video");
            return;
        }
        let (mut app, performer) = tracking_app(TrackingInput::File(video));
        assert!(
            run_until(&mut app, |app| smile(app, performer) > 0.5),
            "the performer smiles: {}",
            smile(&app, performer)
        );
        let status = app.world().resource::<TrackingStatus>().clone();
        assert!(status.summary.contains("face"), "{}", status.summary);
        assert!(status.healthy && !status.models.is_empty());
        assert!(
            status.inference_ms > 0.5,
            "inference timed: {}",
            status.inference_ms
        );
        let preview = status.preview.expect("a preview");
        assert_eq!(preview.width, PREVIEW_WIDTH);
        assert!(preview.face.len() >= 468, "landmarks on the preview");
        // The face's landmarks lie inside the preview picture.
        assert!(preview.face.iter().all(|p| p[0] >= 0.0
            && p[0] <= preview.width as f32
            && p[1] >= 0.0
            && p[1] <= preview.height as f32));

        app.world_mut()
            .write_message(DirectorCommand::CalibrateTracking(Calibrate::NeutralFace));
        assert!(
            run_until(&mut app, |app| smile(app, performer) < 0.15),
            "her smile is her neutral face now: {}",
            smile(&app, performer)
        );
        let status = app.world().resource::<TrackingStatus>();
        assert!(status.face_calibrated, "{}", status.calibration);
        app.world_mut()
            .write_message(DirectorCommand::CalibrateTracking(Calibrate::Clear));
        assert!(
            run_until(&mut app, |app| smile(app, performer) > 0.5),
            "cleared, she smiles again: {}",
            smile(&app, performer)
        );
    }

    /// A source that fails shows as lost and is opened again until it comes back; the
    /// performer holds her face meanwhile.
    #[test]
    fn a_source_that_goes_away_is_reported_and_reconnected() {
        let Some(still) = astronaut() else { return };
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("frames");
        std::fs::create_dir(&folder).unwrap();
        std::fs::copy(&still, folder.join("0001.png")).unwrap();
        let (mut app, performer) = tracking_app(TrackingInput::File(folder.clone()));
        assert!(run_until(&mut app, |app| smile(app, performer) > 0.5));
        // "Unplug": the folder goes.
        std::fs::remove_dir_all(&folder).unwrap();
        assert!(
            run_until(&mut app, |app| !app
                .world()
                .resource::<TrackingStatus>()
                .healthy),
            "the loss is reported"
        );
        let status = app.world().resource::<TrackingStatus>().summary.clone();
        assert!(
            status.contains("lost") && status.contains("frames"),
            "{status}"
        );
        assert!(smile(&app, performer) > 0.5, "she holds her last face");
        // "Replug".
        std::fs::create_dir(&folder).unwrap();
        std::fs::copy(&still, folder.join("0001.png")).unwrap();
        assert!(
            run_until(&mut app, |app| {
                let s = app.world().resource::<TrackingStatus>();
                s.healthy && s.summary.contains("face")
            }),
            "back: {}",
            app.world().resource::<TrackingStatus>().summary
        );
    }
}
