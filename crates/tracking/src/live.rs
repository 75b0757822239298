//! Tracking on stage: a thread reads frames (a webcam, or a video or image file standing in for
//! it), runs the face and hand pipelines and sends what it found; the ECS only drains the
//! newest result in the ingest phase, filters each signal (One Euro), measures it from the
//! calibrated rest and drives the performer's expressions, head, gaze, wrist and fingers. The
//! mouth is shared with lip sync by a configurable blend.
//!
//! A source that fails (a camera unplugged, a file gone) is reported as unhealthy and opened
//! again every second until it comes back; the performer holds her last pose meanwhile.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, unbounded};

use super::TrackingStatus;
use super::camera::CameraRequest;
use super::face::{Face, FaceTracker};
use super::hand::{Hand, HandTracker};
use super::source::{FrameSource, SourceError};
use super::vision::Frame;
use ling_core::settings::{Calibrate, TrackingTuning};
use ling_core::show::DirectorCommand;
use ling_core::signals::{ExpressionWeights, HumanBone, HumanoidPose, Performer};

/// Where tracking frames come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackingInput {
    /// A video, an image or a folder of images played as the camera, looping.
    File(PathBuf),
    /// A webcam.
    Camera(CameraRequest),
}

impl TrackingInput {
    pub fn label(&self) -> String {
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
    pub input: Option<TrackingInput>,
    pub tuning: TrackingTuning,
}

impl TrackingSettings {
    pub fn with_file(path: PathBuf) -> Self {
        Self::with_input(TrackingInput::File(path))
    }

    pub fn with_input(input: TrackingInput) -> Self {
        Self {
            input: Some(input),
            tuning: TrackingTuning::default(),
        }
    }
}

/// A small copy of the frame with the landmarks found in it, for the panel's preview.
#[derive(Debug, Clone)]
pub struct Preview {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    /// Face landmarks (with irises) and hand landmarks, in preview pixels.
    pub face: Vec<[f32; 2]>,
    pub hand: Vec<[f32; 2]>,
}

/// Width of the preview image.
const PREVIEW_WIDTH: u32 = 240;

impl Preview {
    fn of(frame: &Frame, face: Option<&Face>, hands: &[Hand]) -> Self {
        let width = PREVIEW_WIDTH.min(frame.width.max(1));
        let scale = frame.width as f32 / width as f32;
        let height = ((frame.height as f32 / scale).round() as u32).max(1);
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            let sy = ((y as f32 + 0.5) * scale) as u32;
            for x in 0..width {
                let sx = ((x as f32 + 0.5) * scale) as u32;
                let i = ((sy.min(frame.height - 1) * frame.width + sx.min(frame.width - 1)) * 3)
                    as usize;
                rgb.extend_from_slice(&frame.rgb[i..i + 3]);
            }
        }
        let to_preview = |p: &[f32; 3]| [p[0] / scale, p[1] / scale];
        Self {
            width,
            height,
            rgb,
            face: face
                .map(|f| f.landmarks.iter().chain(&f.iris).map(to_preview).collect())
                .unwrap_or_default(),
            hand: hands
                .iter()
                .flat_map(|h| h.landmarks.iter().map(to_preview))
                .collect(),
        }
    }
}

/// One result from the tracking thread, with how long its stages took.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub face: Option<Face>,
    /// Up to two hands.
    pub hands: Vec<Hand>,
    /// Waiting for and decoding the frame.
    pub capture_ms: f32,
    /// Inside ONNX Runtime.
    pub inference_ms: f32,
    /// Everything else: crops, decoding the models' outputs, head pose, expressions.
    pub solve_ms: f32,
    /// When the frame arrived, and its number since tracking started.
    pub captured: Instant,
    pub sequence: u64,
    pub preview: Arc<Preview>,
}

/// What the tracking thread reports about itself (frames go their own way).
#[derive(Debug, Clone)]
pub enum Report {
    /// The models are loaded and the source is being opened.
    Started { models: String },
    /// The source opened (again).
    Connected { what: String },
    /// The source failed; it is opened again every second.
    Lost(String),
    /// Tracking cannot run at all (no ONNX Runtime, no face model).
    Fatal(String),
}

/// The running tracking thread (dropped: it stops).
#[derive(Resource)]
pub struct TrackingSource {
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

/// A face as a calibration captures it: expression weights by name and the mesh.
#[derive(Debug, Clone, Default)]
struct Neutral {
    weights: Vec<(&'static str, f32)>,
    /// The face mesh (pixels): head turns are fitted against it once it is the neutral face.
    landmarks: Vec<Vec3>,
}

/// A hand at rest: finger bends and wrist angles.
#[derive(Debug, Clone, Copy, Default)]
struct HandRest {
    bends: [[f32; 3]; 5],
    wrist: [f32; 3],
}

/// One Euro filter per signal.
#[derive(Debug, Clone, Default)]
struct Filters {
    weights: Vec<(&'static str, OneEuro)>,
    head: [OneEuro; 3],
    /// The head angles fitted against the neutral face.
    fitted_head: [OneEuro; 3],
    /// Per hand (indexed by [`side`]): 5 fingers × 3 joints, and the wrist's 3 angles.
    fingers: [[[OneEuro; 3]; 5]; 2],
    wrist: [[OneEuro; 3]; 2],
}

impl Filters {
    fn tune(&mut self, t: &TrackingTuning) {
        let all = self
            .weights
            .iter_mut()
            .map(|(_, f)| f)
            .chain(self.head.iter_mut())
            .chain(self.fitted_head.iter_mut())
            .chain(self.fingers.iter_mut().flatten().flatten())
            .chain(self.wrist.iter_mut().flatten());
        for f in all {
            f.min_cutoff = t.min_cutoff;
            f.beta = t.beta;
        }
    }

    fn weight(&mut self, name: &'static str, x: f32, dt: f32, t: &TrackingTuning) -> f32 {
        let index = match self.weights.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.weights
                    .push((name, OneEuro::new(t.min_cutoff, t.beta)));
                self.weights.len() - 1
            }
        };
        self.weights[index].1.filter(x, dt)
    }
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

/// The One Euro filter (Casiez et al. 2012): smooth when still, responsive when moving.
#[derive(Debug, Clone, Copy)]
pub struct OneEuro {
    pub min_cutoff: f32,
    pub beta: f32,
    pub d_cutoff: f32,
    last: Option<(f32, f32)>,
}

impl Default for OneEuro {
    fn default() -> Self {
        let t = TrackingTuning::default();
        Self::new(t.min_cutoff, t.beta)
    }
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
        let tau = 1.0 / (std::f32::consts::TAU * cutoff.max(1e-3));
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
    app.add_message::<DirectorCommand>()
        .add_systems(Startup, start_tracking)
        .add_systems(
            Update,
            (
                tracking_commands.in_set(ling_core::AppSystems::Ingest),
                apply_tracking
                    .in_set(ling_core::AppSystems::Blend)
                    .after(ling_core::LipSync),
            ),
        );
}

/// The tracking thread's side of a one-slot channel: a new frame replaces one the stage has
/// not taken yet, so the stage always gets the newest and never a queue of old ones.
struct Newest {
    tx: Sender<Box<Tracked>>,
    rx: Receiver<Box<Tracked>>,
}

impl Newest {
    fn channel() -> (Self, Receiver<Box<Tracked>>) {
        let (tx, rx) = bounded(1);
        (Self { tx, rx: rx.clone() }, rx)
    }

    fn send(&self, mut frame: Box<Tracked>) {
        loop {
            match self.tx.try_send(frame) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    // The stage has not taken the last one: it is stale now.
                    let _ = self.rx.try_recv();
                    frame = back;
                }
            }
        }
    }
}

/// How long a failed source waits before it is opened again.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// The tracking thread: models once, then frames from the source, opened again whenever it
/// fails, until `stop`.
fn run_tracking(input: TrackingInput, tx: Sender<Report>, frames: Newest, stop: Arc<AtomicBool>) {
    let mut faces = match FaceTracker::new() {
        Ok(t) => t,
        Err(e) => {
            let _ = tx.send(Report::Fatal(e.to_string()));
            return;
        }
    };
    // Hands are optional: without their models the face still drives the performer.
    let mut hands = HandTracker::new().ok();
    let models = format!(
        "{}; hands {}",
        faces.describe(),
        if hands.is_some() {
            "palm + 21 landmarks"
        } else {
            "off (no hand models)"
        }
    );
    let _ = tx.send(Report::Started { models });
    let wait = |stop: &AtomicBool| {
        let until = Instant::now() + RECONNECT_EVERY;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut connected = false;
    let mut sequence = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut source = match input.open() {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Report::Lost(e.to_string()));
                connected = false;
                wait(&stop);
                continue;
            }
        };
        if !connected {
            let what = match &source {
                FrameSource::Camera(c) => format!("{} {}", c.name, c.format),
                _ => input.label(),
            };
            let _ = tx.send(Report::Connected { what });
            connected = true;
        }
        // Files play at their own frame rate (stills at 10 a second); cameras set the pace.
        let period = if source.is_live() {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(1.0 / source.fps().unwrap_or(10.0))
        };
        faces.lose();
        if let Some(h) = hands.as_mut() {
            h.lose();
        }
        loop {
            let started = Instant::now();
            let frame = match source.next_frame() {
                Ok(Some((_, frame))) => frame,
                Ok(None) => break, // the end of a file: play it again
                Err(e) => {
                    let _ = tx.send(Report::Lost(e.to_string()));
                    connected = false;
                    wait(&stop);
                    break;
                }
            };
            let captured = Instant::now();
            let inference_before = faces.inference_time()
                + hands
                    .as_ref()
                    .map(|h| h.inference_time())
                    .unwrap_or_default();
            let result = faces.track(&frame).and_then(|face| {
                let found = match hands.as_mut() {
                    Some(h) => h.track_all(&frame)?,
                    None => Vec::new(),
                };
                Ok((face, found))
            });
            let (face, found) = match result {
                Ok(found) => found,
                Err(e) => {
                    let _ = tx.send(Report::Fatal(e.to_string()));
                    return;
                }
            };
            let inference = faces.inference_time()
                + hands
                    .as_ref()
                    .map(|h| h.inference_time())
                    .unwrap_or_default()
                - inference_before;
            let busy = captured.elapsed();
            let tracked = Tracked {
                preview: Arc::new(Preview::of(&frame, face.as_ref(), &found)),
                face,
                hands: found,
                capture_ms: (captured - started).as_secs_f32() * 1000.0,
                inference_ms: inference.as_secs_f32() * 1000.0,
                solve_ms: busy.saturating_sub(inference).as_secs_f32() * 1000.0,
                captured,
                sequence,
            };
            sequence += 1;
            frames.send(Box::new(tracked));
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(period.saturating_sub(started.elapsed()));
        }
    }
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

/// Calibration and tuning commands from the panel and cues.
fn tracking_commands(
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

/// A weight measured from its neutral value: what was neutral becomes 0, full stays 1.
fn from_neutral(weight: f32, neutral: f32) -> f32 {
    if neutral >= 0.95 {
        return weight;
    }
    ((weight - neutral) / (1.0 - neutral)).clamp(0.0, 1.0)
}

/// The tracked signals the performer wears, held between results (the stage usually runs
/// faster than the camera) and eased out when results stop coming.
#[derive(Debug, Clone, Default)]
struct Held {
    /// Calibrated expression weights and head turn (degrees), and when they were tracked.
    face: Option<(Vec<(&'static str, f32)>, [f32; 3], Instant)>,
    /// Per hand ([`side`]): finger bends, the wrist turn (once a rest is captured), when.
    hands: [Option<([[f32; 3]; 5], Option<[f32; 3]>, Instant)>; 2],
    /// When the last result was tracked, for the One Euro filters' time step.
    last: Option<Instant>,
}

/// Tracked signals hold fully this long after their frame, then ease out to the motion's own
/// pose over [`EASE_OUT`].
const HOLD: Duration = Duration::from_millis(500);
const EASE_OUT: Duration = Duration::from_secs(1);

/// How much a signal tracked at `at` still drives the performer.
fn hold_weight(at: Instant, now: Instant) -> f32 {
    let age = now.saturating_duration_since(at);
    if age <= HOLD {
        1.0
    } else {
        1.0 - ((age - HOLD).as_secs_f32() / EASE_OUT.as_secs_f32()).min(1.0)
    }
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

/// Takes a new result into the held signals.
fn update_held(
    source: &mut TrackingSource,
    tracked: &Tracked,
    tuning: &TrackingTuning,
    status: &mut TrackingStatus,
    label: &str,
) {
    // Frames the thread tracked a second (the stage may apply fewer when it runs slower),
    // over the last couple of seconds.
    match source.window {
        Some((first, since)) if since.elapsed().as_secs_f32() > 2.0 => {
            status.fps = tracked.sequence.saturating_sub(first) as f32
                / tracked
                    .captured
                    .duration_since(since)
                    .as_secs_f32()
                    .max(1e-3);
            source.window = Some((tracked.sequence, tracked.captured));
        }
        Some(_) => {}
        None => source.window = Some((tracked.sequence, tracked.captured)),
    }
    status.healthy = true;
    status.capture_ms = tracked.capture_ms;
    status.inference_ms = tracked.inference_ms;
    status.solve_ms = tracked.solve_ms;
    status.age_ms = tracked.captured.elapsed().as_secs_f32() * 1000.0;
    status.preview = Some(tracked.preview.clone());
    status.preview_serial += 1;
    // The filters step by the time between tracked frames, not between stage frames.
    let dt = source
        .held
        .last
        .map(|last| {
            tracked
                .captured
                .saturating_duration_since(last)
                .as_secs_f32()
        })
        .unwrap_or(1.0 / 30.0)
        .clamp(1.0 / 240.0, 0.5);
    source.held.last = Some(tracked.captured);

    // A hand out of view this frame is not captured by a calibration made now.
    source.last_hand = [None; 2];
    for hand in tracked
        .hands
        .iter()
        .filter(|h| h.presence >= tuning.min_presence)
    {
        let k = side(hand.right > 0.5);
        let mut raw = HandRest::default();
        for (f, row) in hand.curls.iter().enumerate() {
            for (j, angle) in row.iter().enumerate() {
                raw.bends[f][j] = source.filters.fingers[k][f][j].filter(*angle, dt);
            }
        }
        let w = [hand.wrist.yaw, hand.wrist.pitch, hand.wrist.roll];
        for (i, a) in w.iter().enumerate() {
            raw.wrist[i] = source.filters.wrist[k][i].filter(*a, dt);
        }
        source.last_hand[k] = Some(raw);
        let rest = source.hand_rest[k].unwrap_or_default();
        let mut bends = raw.bends;
        for (f, row) in bends.iter_mut().enumerate() {
            for (j, b) in row.iter_mut().enumerate() {
                *b -= rest.bends[f][j];
            }
        }
        // The wrist only turns from a captured rest: without one, the camera's view of the
        // palm says nothing about how it sits on the forearm.
        let wrist = source.hand_rest[k].map(|rest| [0, 1, 2].map(|i| raw.wrist[i] - rest.wrist[i]));
        source.held.hands[k] = Some((bends, wrist, tracked.captured));
    }
    let Some(face) = tracked
        .face
        .as_ref()
        .filter(|f| f.presence >= tuning.min_presence)
    else {
        status.summary = format!("{label}: {:.0} fps, no face in view", status.fps);
        return;
    };
    status.summary = format!(
        "{label}: {:.0} fps, face{} (presence {:.2}, {})",
        status.fps,
        match tracked.hands.len() {
            0 => "",
            1 => " and a hand",
            _ => " and both hands",
        },
        face.presence,
        face.solver
    );
    let mut raw = Neutral {
        weights: Vec::with_capacity(face.expressions.len()),
        landmarks: face
            .landmarks
            .iter()
            .map(|p| Vec3::from_array(*p))
            .collect(),
    };
    for (name, weight) in &face.expressions {
        raw.weights
            .push((*name, source.filters.weight(name, *weight, dt, tuning)));
    }
    let neutral = source.neutral.as_ref();
    let weights: Vec<(&'static str, f32)> = raw
        .weights
        .iter()
        .map(|(name, w)| {
            let n = neutral
                .and_then(|n| n.weights.iter().find(|(m, _)| m == name))
                .map(|(_, v)| *v)
                .unwrap_or(0.0);
            (*name, from_neutral(*w, n))
        })
        .collect();
    // Head turns: fitted with every landmark against the neutral face once there is one,
    // else read off the mesh's own axes.
    let head = match neutral.filter(|n| n.landmarks.len() == raw.landmarks.len()) {
        Some(n) => {
            let angles = super::face::fit_pose(&n.landmarks, &raw.landmarks).angles();
            [0, 1, 2].map(|i| source.filters.fitted_head[i].filter(angles[i], dt))
        }
        None => {
            let angles = [face.head.yaw, face.head.pitch, face.head.roll];
            [0, 1, 2].map(|i| source.filters.head[i].filter(angles[i], dt))
        }
    };
    source.last_face = Some(raw);
    source.held.face = Some((weights, head, tracked.captured));
}

/// Puts the held signals on the performers, each as strong as its age allows.
fn wear_held(
    held: &Held,
    tuning: &TrackingTuning,
    now: Instant,
    performers: &mut Query<(&mut ExpressionWeights, &mut HumanoidPose), With<Performer>>,
) {
    for (k, hand) in held.hands.iter().enumerate() {
        let Some((bends, wrist, at)) = hand else {
            continue;
        };
        let w = hold_weight(*at, now);
        if w <= 0.0 {
            continue;
        }
        let model_right = k == 1;
        for (_, mut pose) in performers.iter_mut() {
            let motion = pose.clone();
            pose_fingers(&mut pose, model_right, bends);
            if let Some(turn) = wrist {
                pose_wrist(&mut pose, model_right, *turn);
            }
            if w < 1.0 {
                for (now, before) in pose.rotations.iter_mut().zip(&motion.rotations) {
                    *now = before.slerp(*now, w);
                }
            }
        }
    }
    let Some((weights, head, at)) = &held.face else {
        return;
    };
    let w = hold_weight(*at, now);
    if w <= 0.0 {
        return;
    }
    let mouth = tuning.mouth_from_camera.clamp(0.0, 1.0) * w;
    for (mut expressions, mut pose) in performers.iter_mut() {
        for (name, weight) in weights {
            let is_mouth = name.starts_with("mouth") || name.starts_with("jaw");
            let share = if is_mouth { mouth } else { w };
            // The motion's (or the voice's) own value gives way to the camera's by `share`.
            let own = expressions.get(name).unwrap_or(0.0);
            expressions.set(name, own * (1.0 - share) + weight * share);
            if is_mouth && *name == "jawOpen" {
                for v in expressions.visemes.iter_mut() {
                    *v *= 1.0 - mouth;
                }
            }
        }
        let turn = Quat::from_euler(
            EulerRot::YXZ,
            head[0].to_radians(),
            -head[1].to_radians(),
            -head[2].to_radians(),
        );
        let i = HumanBone::Head.index();
        pose.rotations[i] = pose.rotations[i] * Quat::IDENTITY.slerp(turn, w);
    }
}

/// Which of a hand's filters and rest poses: the hand the model calls left (0) or right (1).
fn side(model_right: bool) -> usize {
    model_right as usize
}

/// Turns the performer's hand from its rest by the tracked wrist angles (degrees: yaw, pitch,
/// roll as [`super::hand::WristPose`] has them), mirrored like the fingers and held to what a
/// wrist can do.
pub fn pose_wrist(pose: &mut HumanoidPose, model_right: bool, angles: [f32; 3]) {
    let (bone, sign) = if model_right {
        (HumanBone::LeftHand, -1.0)
    } else {
        (HumanBone::RightHand, 1.0)
    };
    // The hand lies along the arm (X), palm down: tipping the fingers to the camera is a bend
    // (about Z), turning the palm is a twist of the forearm (about X), leaning is deviation
    // (about Y).
    let bend = angles[1].clamp(-70.0, 70.0).to_radians();
    let twist = angles[0].clamp(-80.0, 80.0).to_radians();
    let lean = angles[2].clamp(-30.0, 30.0).to_radians();
    let i = bone.index();
    pose.rotations[i] = pose.rotations[i]
        * Quat::from_rotation_x(sign * twist)
        * Quat::from_rotation_y(sign * lean)
        * Quat::from_rotation_z(sign * bend);
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
    fn spawn_performer(world: &mut World) -> Entity {
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

    /// Between results the performer keeps the tracked face; when results stop it eases back
    /// to the motion's own over a second.
    #[test]
    fn held_signals_hold_then_ease_out() {
        use bevy::ecs::system::RunSystemOnce;
        let now = Instant::now();
        assert_eq!(hold_weight(now, now + Duration::from_millis(400)), 1.0);
        assert!((hold_weight(now, now + Duration::from_millis(1000)) - 0.5).abs() < 1e-3);
        assert_eq!(hold_weight(now, now + Duration::from_secs(3)), 0.0);
        let wear = |age: Duration| {
            let mut world = World::new();
            let performer = spawn_performer(&mut world);
            let mut bends = [[0.0; 3]; 5];
            bends[1] = [60.0, 0.0, 0.0];
            let held = Held {
                face: Some((vec![("eyeBlinkLeft", 1.0)], [30.0, 0.0, 0.0], now)),
                hands: [None, Some((bends, None, now))],
                last: Some(now),
            };
            world
                .run_system_once(
                    move |mut performers: Query<
                        (&mut ExpressionWeights, &mut HumanoidPose),
                        With<Performer>,
                    >| {
                        wear_held(
                            &held,
                            &TrackingTuning::default(),
                            now + age,
                            &mut performers,
                        );
                    },
                )
                .unwrap();
            let blink = world
                .get::<ExpressionWeights>(performer)
                .unwrap()
                .get("eyeBlinkLeft")
                .unwrap_or(0.0);
            let pose = world.get::<HumanoidPose>(performer).unwrap();
            let head = pose.rotations[HumanBone::Head.index()]
                .to_axis_angle()
                .1
                .to_degrees();
            let index = pose.rotations[HumanBone::from_name("leftIndexProximal").unwrap().index()]
                .to_axis_angle()
                .1
                .to_degrees();
            (blink, head, index)
        };
        let (blink, head, index) = wear(Duration::from_millis(100));
        assert!(
            (blink - 1.0).abs() < 1e-4 && (head - 30.0).abs() < 0.01 && (index - 60.0).abs() < 0.01
        );
        let (blink, head, index) = wear(Duration::from_millis(1000));
        assert!((blink - 0.5).abs() < 1e-3, "half way out: {blink}");
        assert!(
            (head - 15.0).abs() < 0.1 && (index - 30.0).abs() < 0.1,
            "{head} {index}"
        );
        let (blink, head, index) = wear(Duration::from_secs(5));
        assert!(
            blink == 0.0 && head.abs() < 1e-3 && index.abs() < 1e-3,
            "gone back to the motion"
        );
    }

    #[test]
    fn weights_are_measured_from_the_neutral_face() {
        assert_eq!(from_neutral(0.3, 0.3), 0.0);
        assert_eq!(from_neutral(1.0, 0.3), 1.0);
        assert!((from_neutral(0.65, 0.3) - 0.5).abs() < 1e-6);
        assert_eq!(from_neutral(0.1, 0.3), 0.0, "below neutral is none");
        // A neutral that is already full says nothing: the weight passes.
        assert_eq!(from_neutral(0.4, 0.99), 0.4);
    }

    #[test]
    fn a_wrist_turn_bends_the_mirrored_hand_within_reach() {
        let mut pose = HumanoidPose::default();
        pose_wrist(&mut pose, true, [0.0, 200.0, 0.0]);
        let (_, angle) = pose.rotations[HumanBone::LeftHand.index()].to_axis_angle();
        assert!((angle.to_degrees() - 70.0).abs() < 0.01, "held to 70°");
        assert_eq!(pose.rotations[HumanBone::RightHand.index()], Quat::IDENTITY);
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
