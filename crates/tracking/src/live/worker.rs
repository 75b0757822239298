//! The tracking thread: loads the models once, reads frames from the source, runs the face and
//! hand pipelines on each and sends the result through a one-slot channel that always holds
//! the newest. A source that fails is reported and opened again every second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::TrackingInput;
use crate::face::{Face, FaceTracker};
use crate::hand::{Hand, HandTracker};
use crate::source::FrameSource;
use crate::vision::Frame;

/// A small copy of the frame with the landmarks found in it, for the panel's preview.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Width in pixels: 240, or the frame's own width when it is narrower.
    pub width: u32,
    /// Height in pixels, keeping the frame's aspect.
    pub height: u32,
    /// The pixels, row by row from the top, 3 bytes (R, G, B) each.
    pub rgb: Vec<u8>,
    /// Face landmarks (with irises), x and y in preview pixels; empty without a face.
    pub face: Vec<[f32; 2]>,
    /// Landmarks of every hand found (21 each), x and y in preview pixels.
    pub hand: Vec<[f32; 2]>,
}

/// Width of the preview image.
pub(super) const PREVIEW_WIDTH: u32 = 240;

impl Preview {
    /// The preview of `frame`, scaled to [`PREVIEW_WIDTH`], with what was found in it.
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
pub(super) struct Tracked {
    pub(super) face: Option<Face>,
    /// Up to two hands.
    pub(super) hands: Vec<Hand>,
    /// Waiting for and decoding the frame.
    pub(super) capture_ms: f32,
    /// Inside ONNX Runtime.
    pub(super) inference_ms: f32,
    /// Everything else: crops, decoding the models' outputs, head pose, expressions.
    pub(super) solve_ms: f32,
    /// When the frame arrived, and its number since tracking started.
    pub(super) captured: Instant,
    pub(super) sequence: u64,
    pub(super) preview: Arc<Preview>,
}

/// What the tracking thread reports about itself (frames go their own way).
#[derive(Debug, Clone)]
pub(super) enum Report {
    /// The models are loaded and the source is being opened.
    Started { models: String },
    /// The source opened (again).
    Connected { what: String },
    /// The source failed; it is opened again every second.
    Lost(String),
    /// Tracking cannot run at all (no ONNX Runtime, no face model).
    Fatal(String),
}

/// The tracking thread's side of a one-slot channel: a new frame replaces one the stage has
/// not taken yet, so the stage always gets the newest and never a queue of old ones.
pub(super) struct Newest {
    tx: Sender<Box<Tracked>>,
    rx: Receiver<Box<Tracked>>,
}

impl Newest {
    pub(super) fn channel() -> (Self, Receiver<Box<Tracked>>) {
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
pub(super) fn run_tracking(
    input: TrackingInput,
    tx: Sender<Report>,
    frames: Newest,
    stop: Arc<AtomicBool>,
) {
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
        let what = match &source {
            FrameSource::Camera(c) => format!("{} {}", c.name, c.format),
            _ => input.label(),
        };
        // Connected once a frame is read: a file put back half-written, or with no frames,
        // opens and gives nothing.
        let mut read = 0u64;
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
                Ok(None) if read > 0 => break, // the end of a file: play it again
                Ok(None) => {
                    let _ = tx.send(Report::Lost("no frame could be read from it".into()));
                    connected = false;
                    wait(&stop);
                    break;
                }
                Err(e) => {
                    let _ = tx.send(Report::Lost(e.to_string()));
                    connected = false;
                    wait(&stop);
                    break;
                }
            };
            read += 1;
            if !connected {
                let _ = tx.send(Report::Connected { what: what.clone() });
                connected = true;
            }
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
