//! Sound devices through cpal: playing the show's track in step with the show clock, and
//! listening to a microphone for live lip sync. Each stream lives on its own thread (cpal
//! streams are not `Send` everywhere); the ECS only exchanges atomics and channels with it. A
//! machine without devices gets a clear message and the show goes on.
//!
//! A microphone is kept open by a [`Microphone`] supervisor: a stream whose error callback
//! reports the device gone (unplugged), or that stops delivering sound, is closed and opened
//! again every second or few until it comes back; its [`MicHealth`] says open, lost (why) or
//! reopened. It opens streams through a [`MicOpener`] — cpal's ([`CpalMic`]) in the show, a
//! stand-in device in tests.
//!
//! The streams are started by the crate's plugin; [`MicAnalyzer`], the live mouth from a
//! stream of samples, is public too, and `ling-stage bench` feeds it directly to time it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::Resource;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::analysis::{AudioClip, analyze};

/// Where the show clock is, for the playback thread.
#[derive(Debug, Default)]
pub(crate) struct Playhead {
    seconds: AtomicU64,
    playing: AtomicBool,
}

impl Playhead {
    /// Moves the playhead to `seconds` of show time, playing or paused.
    pub(crate) fn set(&self, seconds: f64, playing: bool) {
        self.seconds.store(seconds.to_bits(), Ordering::Relaxed);
        self.playing.store(playing, Ordering::Relaxed);
    }

    fn get(&self) -> (f64, bool) {
        (
            f64::from_bits(self.seconds.load(Ordering::Relaxed)),
            self.playing.load(Ordering::Relaxed),
        )
    }
}

/// A running stream; dropping it stops the stream's thread.
pub(crate) struct StreamHandle {
    stop: crossbeam_channel::Sender<()>,
    /// The device and its sample rate, for the status line.
    pub(crate) description: String,
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

/// Runs `build` on a thread that keeps the stream it returns alive until stopped; reports the
/// build's result back.
fn stream_thread(
    name: &str,
    build: impl FnOnce() -> Result<(cpal::Stream, String), String> + Send + 'static,
) -> Result<StreamHandle, String> {
    let (result_tx, result_rx) = crossbeam_channel::bounded(1);
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || match build() {
            Ok((stream, description)) => {
                if let Err(e) = stream.play() {
                    let _ = result_tx.send(Err(format!("cannot start the stream: {e}")));
                    return;
                }
                let _ = result_tx.send(Ok(description));
                let _ = stop_rx.recv();
                drop(stream);
            }
            Err(e) => {
                let _ = result_tx.send(Err(e));
            }
        })
        .map_err(|e| e.to_string())?;
    let description = result_rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .map_err(|_| "the audio device did not answer".to_string())??;
    Ok(StreamHandle {
        stop: stop_tx,
        description,
    })
}

/// Plays `clip` on the default output device, following `playhead` (resyncing when they drift
/// more than 50 ms apart, silent while paused).
pub(crate) fn start_playback(
    clip: Arc<AudioClip>,
    playhead: Arc<Playhead>,
) -> Result<StreamHandle, String> {
    stream_thread("audio-playback", move || {
        let host = cpal::default_host();
        let device = host
            .default_output_device()
            .ok_or("no audio output device")?;
        let config = device
            .default_output_config()
            .map_err(|e| format!("the default output device cannot be opened ({e})"))?;
        let rate = config.sample_rate() as f64;
        let channels = config.channels().max(1) as usize;
        let name = device
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_default();
        let mut position = 0.0f64;
        let stream = device
            .build_output_stream::<f32, _, _>(
                config.config(),
                move |out: &mut [f32], _| {
                    let (target, playing) = playhead.get();
                    if !playing {
                        out.fill(0.0);
                        return;
                    }
                    if (position - target).abs() > 0.05 {
                        position = target;
                    }
                    for frame in out.chunks_mut(channels) {
                        let s = position * clip.rate as f64;
                        let i = s.floor() as usize;
                        let f = (s - i as f64) as f32;
                        let a = clip.samples.get(i).copied().unwrap_or(0.0);
                        let b = clip.samples.get(i + 1).copied().unwrap_or(0.0);
                        frame.fill(a + (b - a) * f);
                        position += 1.0 / rate;
                    }
                },
                |e| eprintln!("audio playback: {e}"),
                None,
            )
            .map_err(|e| format!("cannot open an output stream on {name}: {e}"))?;
        Ok((stream, format!("{name} at {rate} Hz")))
    })
}

/// The latest mouth shape heard on the microphone: viseme weights and level (dBFS).
#[derive(Debug, Default, Clone, Copy)]
pub struct Heard {
    /// Weights of aa, ih, ou, ee, oh.
    pub visemes: [f32; 5],
    /// RMS level in dBFS.
    pub level_dbfs: f32,
}

/// The live mouth from a stream of mono samples: every 10 ms of new sound it analyses the
/// last 60 ms and reports the viseme weights of the newest complete 10 ms frame. Runs on the
/// capture thread; `ling-stage bench` times it and measures its latency.
pub struct MicAnalyzer {
    rate: u32,
    window: usize,
    buffer: Vec<f32>,
}

impl MicAnalyzer {
    /// An analyser for mono samples at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let window = (rate as usize * 60) / 1000;
        Self {
            rate,
            window,
            buffer: Vec::with_capacity(window * 2),
        }
    }

    /// Takes the next samples; returns what is heard when a new analysis is done.
    pub fn push(&mut self, samples: &[f32]) -> Option<Heard> {
        self.buffer.extend_from_slice(samples);
        if self.buffer.len() < self.window {
            return None;
        }
        let clip = AudioClip {
            rate: self.rate,
            samples: self.buffer[self.buffer.len() - self.window..].to_vec(),
        };
        // Keep all but the oldest 10 ms, so the next analysis comes 10 ms of sound later.
        let hop = (self.rate as usize / 100).max(1);
        let drop = self.buffer.len() - (self.window - hop);
        self.buffer.drain(..drop);
        let a = analyze(&clip);
        a.frames.iter().rev().nth(2).map(|last| Heard {
            visemes: last.visemes,
            level_dbfs: last.rms_dbfs,
        })
    }
}

/// What the microphone hears, as mono samples, for whoever sends it on (the program outputs
/// of `ling-broadcast`). Holds at most [`MicSound::HOLD_SECONDS`]: the oldest sound goes when
/// nobody takes it.
#[derive(Debug, Default)]
pub struct MicSound {
    samples: Mutex<VecDeque<f32>>,
    rate: AtomicU32,
}

impl MicSound {
    /// Seconds of sound kept for a taker that falls behind.
    pub const HOLD_SECONDS: u32 = 2;

    /// Adds mono samples captured at `rate` Hz.
    pub fn push(&self, rate: u32, mono: &[f32]) {
        self.rate.store(rate, Ordering::Relaxed);
        let hold = (Self::HOLD_SECONDS * rate.max(1)) as usize;
        let Ok(mut ring) = self.samples.lock() else {
            return;
        };
        ring.extend(mono.iter().copied());
        let over = ring.len().saturating_sub(hold);
        ring.drain(..over);
    }

    /// Takes everything heard since the last take, resampled to `rate` Hz (linear
    /// interpolation: a voice, not a master).
    pub fn take(&self, rate: u32) -> Vec<f32> {
        let from = self.rate.load(Ordering::Relaxed);
        let Ok(mut ring) = self.samples.lock() else {
            return Vec::new();
        };
        let heard: Vec<f32> = ring.drain(..).collect();
        drop(ring);
        resample(&heard, from, rate)
    }

    /// Forgets what was heard (the program went off air).
    pub fn clear(&self) {
        if let Ok(mut ring) = self.samples.lock() {
            ring.clear();
        }
    }
}

/// `samples` at `from` Hz as `to` Hz, by linear interpolation.
fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || from == 0 || to == 0 || samples.is_empty() {
        return samples.to_vec();
    }
    let step = from as f64 / to as f64;
    let count = (samples.len() as f64 / step).floor() as usize;
    (0..count)
        .map(|i| {
            let x = i as f64 * step;
            let j = x.floor() as usize;
            let t = (x - j as f64) as f32;
            let a = samples[j.min(samples.len() - 1)];
            let b = samples[(j + 1).min(samples.len() - 1)];
            a + (b - a) * t
        })
        .collect()
}

/// How a [`Microphone`] watches its stream and opens it again.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct MicSupervision {
    /// The wait before the first attempt to open a microphone that is gone; it doubles after
    /// every failed attempt up to [`MicSupervision::retry_max`], and starts over once it opens.
    pub retry: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// An open stream that delivers no sound for this long is taken as gone (backends that stop
    /// without calling the error callback).
    pub stall: Duration,
}

impl Default for MicSupervision {
    fn default() -> Self {
        Self {
            retry: Duration::from_secs(1),
            retry_max: Duration::from_secs(4),
            stall: Duration::from_secs(5),
        }
    }
}

/// Whether the microphone is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MicState {
    /// The first attempt to open it has not finished.
    #[default]
    Opening,
    /// A stream is open and delivering sound.
    Open,
    /// No stream: it could not be opened, or it was lost; it is opened again by itself.
    Lost,
}

/// What the microphone is doing, for the console and the logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MicHealth {
    /// Open, lost or still opening.
    pub state: MicState,
    /// The device and its sample rate, as last opened.
    pub device: Option<String>,
    /// Why it is not open (the open's error, or what ended the stream).
    pub error: Option<String>,
    /// How many times a stream was opened (more than one: it was reopened).
    pub opened: u32,
    /// How many times an open stream was lost.
    pub lost: u32,
    /// The wait before the next attempt to open it, while it is lost.
    pub retry_in: Option<Duration>,
    /// Samples heard so far, over every stream.
    pub samples: u64,
}

impl MicHealth {
    /// One line for the console: "microphone NAME at RATE Hz", "…, reopened (lost N times)",
    /// "microphone lost (why); trying again in N s" or "no microphone (why); …".
    pub fn summary(&self) -> String {
        let device = self.device.as_deref().unwrap_or("(unnamed)");
        let why = self.error.as_deref().unwrap_or("no reason given");
        let retry = self
            .retry_in
            .map(|d| format!("; trying again in {} s", d.as_secs_f32().ceil() as u32))
            .unwrap_or_default();
        match self.state {
            MicState::Opening => "microphone: opening".into(),
            MicState::Open if self.opened > 1 => format!(
                "microphone {device}, reopened (lost {} time{})",
                self.lost,
                if self.lost == 1 { "" } else { "s" }
            ),
            MicState::Open => format!("microphone {device}"),
            MicState::Lost if self.opened > 0 => {
                format!("microphone {device} lost ({why}){retry}")
            }
            MicState::Lost => format!("no microphone ({why}){retry}"),
        }
    }
}

/// What one opening of a microphone feeds: its samples go to the mouth and the program
/// outputs ([`MicLink::input`], for the stream's data callback), and its error callback reports
/// the device gone ([`MicLink::lost`]). Each opening gets its own link, so a late call from a
/// stream that was already replaced changes nothing.
#[derive(Clone)]
pub struct MicLink {
    heard: Arc<Mutex<Heard>>,
    sound: Arc<MicSound>,
    total: Arc<AtomicU64>,
    delivered: Arc<AtomicU64>,
    lost: Arc<Mutex<Option<String>>>,
}

impl MicLink {
    fn new(heard: Arc<Mutex<Heard>>, sound: Arc<MicSound>, total: Arc<AtomicU64>) -> Self {
        Self {
            heard,
            sound,
            total,
            delivered: Arc::default(),
            lost: Arc::default(),
        }
    }

    /// The data callback's end for a stream of interleaved `channels` at `rate` Hz.
    pub fn input(&self, rate: u32, channels: u16) -> MicInput {
        MicInput {
            link: self.clone(),
            rate,
            channels: channels.max(1) as usize,
            analyzer: MicAnalyzer::new(rate),
            mono: Vec::new(),
        }
    }

    /// The stream's error callback: the device is gone, for `why`. The supervisor closes the
    /// stream and opens the microphone again.
    pub fn lost(&self, why: impl Into<String>) {
        if let Ok(mut lost) = self.lost.lock() {
            lost.get_or_insert_with(|| why.into());
        }
    }

    fn take_lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    fn is_lost(&self) -> bool {
        self.lost.lock().map(|l| l.is_some()).unwrap_or(true)
    }
}

/// A stream's samples on their way to the mouth and the outputs (see [`MicLink::input`]).
pub struct MicInput {
    link: MicLink,
    rate: u32,
    channels: usize,
    analyzer: MicAnalyzer,
    mono: Vec<f32>,
}

impl MicInput {
    /// Takes interleaved samples from the stream; ignored once the stream was reported lost.
    pub fn push(&mut self, data: &[f32]) {
        if self.link.is_lost() {
            return;
        }
        let channels = self.channels;
        self.mono.clear();
        self.mono.extend(
            data.chunks(channels)
                .map(|c| c.iter().sum::<f32>() / channels as f32),
        );
        self.link.sound.push(self.rate, &self.mono);
        let count = self.mono.len() as u64;
        self.link.delivered.fetch_add(count, Ordering::Relaxed);
        self.link.total.fetch_add(count, Ordering::Relaxed);
        if let (Some(now), Ok(mut h)) = (self.analyzer.push(&self.mono), self.link.heard.lock()) {
            *h = now;
        }
    }
}

/// An open microphone stream: the device's description ("NAME at RATE Hz") and whatever keeps
/// the stream running (dropped, on the supervisor's thread, it closes).
pub struct OpenMic {
    /// The device and its sample rate.
    pub description: String,
    /// The stream (a `cpal::Stream`, or a test's stand-in).
    pub stream: Box<dyn std::any::Any>,
}

/// Opens a microphone stream feeding a [`MicLink`]: the sound card's ([`CpalMic`]), or a
/// stand-in a test drives. Called on the supervisor's thread, again after every loss.
pub trait MicOpener: Send + 'static {
    /// Opens the stream, or says why it cannot.
    fn open(&mut self, link: &MicLink) -> Result<OpenMic, String>;
}

impl MicOpener for Box<dyn MicOpener> {
    fn open(&mut self, link: &MicLink) -> Result<OpenMic, String> {
        (**self).open(link)
    }
}

impl<F: FnMut(&MicLink) -> Result<OpenMic, String> + Send + 'static> MicOpener for F {
    fn open(&mut self, link: &MicLink) -> Result<OpenMic, String> {
        self(link)
    }
}

/// A microphone through cpal: by name, or the default input device.
#[derive(Debug, Clone, Default)]
pub struct CpalMic {
    /// The device's name; none is the default input.
    pub name: Option<String>,
}

impl MicOpener for CpalMic {
    fn open(&mut self, link: &MicLink) -> Result<OpenMic, String> {
        let host = cpal::default_host();
        let device = match &self.name {
            Some(n) => host
                .input_devices()
                .map_err(|e| format!("cannot list microphones to find \"{n}\": {e}"))?
                .find(|d| d.description().map(|x| x.name() == n).unwrap_or(false))
                .ok_or_else(|| format!("no microphone named \"{n}\""))?,
            None => host.default_input_device().ok_or("no microphone")?,
        };
        let config = device
            .default_input_config()
            .map_err(|e| format!("the microphone cannot be opened ({e})"))?;
        let rate = config.sample_rate();
        let label = device
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_default();
        let mut input = link.input(rate, config.channels());
        let errors = link.clone();
        let stream = device
            .build_input_stream::<f32, _, _>(
                config.config(),
                move |data: &[f32], _| input.push(data),
                move |e: cpal::Error| match e.kind() {
                    // Glitches: the stream goes on.
                    cpal::ErrorKind::Xrun
                    | cpal::ErrorKind::DeviceChanged
                    | cpal::ErrorKind::RealtimeDenied => {}
                    _ => errors.lost(e.to_string()),
                },
                None,
            )
            .map_err(|e| format!("cannot open an input stream on {label}: {e}"))?;
        stream
            .play()
            .map_err(|e| format!("cannot start the stream on {label}: {e}"))?;
        Ok(OpenMic {
            description: format!("{label} at {rate} Hz"),
            stream: Box::new(stream),
        })
    }
}

/// A microphone kept open: a supervisor thread opens it, watches the stream (its error
/// callback, and sound that stops coming) and, when it is lost, closes it and opens it again
/// (waits of [`MicSupervision`]) until it comes back. What it hears goes to the mouth
/// ([`Microphone::heard`]) and to a [`MicSound`] for the outputs; [`Microphone::health`] says
/// open, lost or reopened. Dropping it stops the thread and closes the stream.
pub struct Microphone {
    health: Arc<Mutex<MicHealth>>,
    heard: Arc<Mutex<Heard>>,
    total: Arc<AtomicU64>,
    stop: Option<crossbeam_channel::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Microphone {
    /// Starts the supervisor with `opener`, and waits (up to 5 s) for its first attempt, so the
    /// first status says whether the microphone opened.
    pub fn start(
        opener: impl MicOpener,
        sound: Arc<MicSound>,
        supervision: MicSupervision,
    ) -> Result<Self, String> {
        let health = Arc::new(Mutex::new(MicHealth::default()));
        let heard = Arc::new(Mutex::new(Heard::default()));
        let total = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        let (first_tx, first) = crossbeam_channel::bounded::<()>(1);
        let supervisor = Supervisor {
            health: health.clone(),
            heard: heard.clone(),
            total: total.clone(),
            sound,
            supervision,
            stopped,
            first: Some(first_tx),
        };
        let thread = std::thread::Builder::new()
            .name("audio-microphone".into())
            .spawn(move || supervisor.run(opener))
            .map_err(|e| format!("cannot start the microphone thread: {e}"))?;
        let _ = first.recv_timeout(Duration::from_secs(5));
        Ok(Self {
            health,
            heard,
            total,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Open, lost or reopened, and why.
    pub fn health(&self) -> MicHealth {
        let mut h = self.health.lock().map(|h| h.clone()).unwrap_or_default();
        h.samples = self.total.load(Ordering::Relaxed);
        h
    }

    /// The latest mouth shape heard, while a stream is open.
    pub fn heard(&self) -> Option<Heard> {
        let open = self.health.lock().is_ok_and(|h| h.state == MicState::Open);
        open.then(|| self.heard.lock().ok().map(|h| *h)).flatten()
    }
}

impl Drop for Microphone {
    fn drop(&mut self) {
        drop(self.stop.take());
        // The thread wakes within its watch step; an open call stuck in a driver is left behind.
        if let Some(thread) = self.thread.take() {
            let until = std::time::Instant::now() + Duration::from_secs(1);
            while !thread.is_finished() && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

/// How often the supervisor looks at an open stream.
const WATCH_STEP: Duration = Duration::from_millis(50);

struct Supervisor {
    health: Arc<Mutex<MicHealth>>,
    heard: Arc<Mutex<Heard>>,
    total: Arc<AtomicU64>,
    sound: Arc<MicSound>,
    supervision: MicSupervision,
    stopped: crossbeam_channel::Receiver<()>,
    first: Option<crossbeam_channel::Sender<()>>,
}

impl Supervisor {
    fn update(&self, change: impl FnOnce(&mut MicHealth)) {
        if let Ok(mut h) = self.health.lock() {
            change(&mut h);
        }
    }

    /// Waits `d`; false when the microphone is being dropped.
    fn wait(&self, d: Duration) -> bool {
        matches!(
            self.stopped.recv_timeout(d),
            Err(crossbeam_channel::RecvTimeoutError::Timeout)
        )
    }

    fn run(mut self, mut opener: impl MicOpener) {
        let mut delay = self.supervision.retry;
        let mut last_error: Option<String> = None;
        loop {
            let link = MicLink::new(self.heard.clone(), self.sound.clone(), self.total.clone());
            match opener.open(&link) {
                Ok(open) => {
                    let mut reopened = false;
                    self.update(|h| {
                        h.state = MicState::Open;
                        h.device = Some(open.description.clone());
                        h.error = None;
                        h.retry_in = None;
                        h.opened += 1;
                        reopened = h.opened > 1;
                    });
                    if reopened {
                        bevy::log::info!("microphone {} reopened", open.description);
                    }
                    self.first.take();
                    delay = self.supervision.retry;
                    last_error = None;
                    let Some(why) = self.watch(&link) else {
                        return;
                    };
                    drop(open);
                    if let Ok(mut h) = self.heard.lock() {
                        *h = Heard::default();
                    }
                    self.update(|h| {
                        h.state = MicState::Lost;
                        h.error = Some(why.clone());
                        h.lost += 1;
                        h.retry_in = Some(delay);
                    });
                    bevy::log::warn!(
                        "microphone lost ({why}); opening it again in {} s, the show goes on",
                        delay.as_secs_f32()
                    );
                }
                Err(why) => {
                    self.update(|h| {
                        h.state = MicState::Lost;
                        h.error = Some(why.clone());
                        h.retry_in = Some(delay);
                    });
                    if last_error.as_ref() != Some(&why) {
                        bevy::log::warn!("microphone: {why}; trying again while the show goes on");
                        last_error = Some(why);
                    }
                    self.first.take();
                }
            }
            if !self.wait(delay) {
                return;
            }
            delay = (delay * 2).min(self.supervision.retry_max.max(self.supervision.retry));
        }
    }

    /// Watches an open stream until it is lost (returns why) or the microphone is dropped
    /// (returns `None`).
    fn watch(&self, link: &MicLink) -> Option<String> {
        let mut seen = link.delivered.load(Ordering::Relaxed);
        let mut since = std::time::Instant::now();
        loop {
            if !self.wait(WATCH_STEP) {
                return None;
            }
            if let Some(why) = link.take_lost() {
                return Some(why);
            }
            let now = link.delivered.load(Ordering::Relaxed);
            if now != seen {
                seen = now;
                since = std::time::Instant::now();
            } else if since.elapsed() >= self.supervision.stall {
                link.lost("no sound from it");
                return Some(format!(
                    "no sound from it for {} s",
                    self.supervision.stall.as_secs_f32()
                ));
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn mic_sound_is_taken_once_resampled_and_bounded() {
        let mic = MicSound::default();
        // 0.5 s of a 440 Hz tone at 44.1 kHz, taken at 48 kHz.
        let tone: Vec<f32> = (0..22_050)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 44_100.0).sin())
            .collect();
        mic.push(44_100, &tone);
        let taken = mic.take(48_000);
        assert!((taken.len() as i64 - 24_000).abs() <= 1, "{}", taken.len());
        // Same tone: sample k at 48 kHz is the sine at k / 48000 s.
        for k in [100usize, 5_000, 20_000] {
            let want = (k as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin();
            assert!(
                (taken[k] - want).abs() < 0.01,
                "{k}: {} vs {want}",
                taken[k]
            );
        }
        assert!(mic.take(48_000).is_empty(), "taken once");
        // Nobody takes: only the newest two seconds stay.
        mic.push(48_000, &vec![0.5; 48_000 * 3]);
        assert_eq!(mic.take(48_000).len(), 48_000 * 2);
        mic.push(48_000, &[0.5; 100]);
        mic.clear();
        assert!(mic.take(48_000).is_empty());
    }

    #[test]
    fn devices_either_open_or_say_why_without_panicking() {
        let clip = Arc::new(AudioClip {
            rate: 16_000,
            samples: vec![0.0; 16_000],
        });
        match start_playback(clip, Arc::new(Playhead::default())) {
            Ok(h) => assert!(!h.description.is_empty()),
            Err(e) => assert!(!e.is_empty() && !e.contains("panicked"), "{e}"),
        }
        let link = MicLink::new(Arc::default(), Arc::default(), Arc::default());
        let mut missing = CpalMic {
            name: Some("no such microphone".into()),
        };
        match missing.open(&link) {
            Ok(_) => panic!("a microphone that does not exist cannot open"),
            Err(e) => assert!(
                e.contains("no such microphone")
                    || e.contains("cannot list")
                    || e.contains("no microphone"),
                "{e}"
            ),
        }
    }

    /// A stand-in sound card for the microphone's supervisor: while plugged in, each opening
    /// starts a thread delivering 5 ms stereo blocks of a constant, 0.1 × the opening's number,
    /// so a test tells streams apart. Unplugged, the running stream calls its error callback
    /// (`MicLink::lost`) as cpal's does, and opening fails. `mute` stops the sound with no error.
    #[derive(Clone, Default)]
    pub(crate) struct FakeCard {
        pub(crate) plugged: Arc<AtomicBool>,
        pub(crate) mute: Arc<AtomicBool>,
        pub(crate) opens: Arc<AtomicU32>,
    }

    /// The stand-in's stream: dropped, its thread stops.
    struct FakeStream(Arc<AtomicBool>);

    impl Drop for FakeStream {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    impl FakeCard {
        pub(crate) fn plugged_in() -> Self {
            let card = Self::default();
            card.plugged.store(true, Ordering::Relaxed);
            card
        }

        pub(crate) fn opener(&self) -> impl MicOpener {
            let card = self.clone();
            move |link: &MicLink| -> Result<OpenMic, String> {
                if !card.plugged.load(Ordering::Relaxed) {
                    return Err("Fake Card: the device is not available".into());
                }
                let n = card.opens.fetch_add(1, Ordering::Relaxed) + 1;
                let stop = Arc::new(AtomicBool::new(false));
                let (card, stopped, errors) = (card.clone(), stop.clone(), link.clone());
                let mut input = link.input(48_000, 2);
                std::thread::spawn(move || {
                    while !stopped.load(Ordering::Relaxed) {
                        if !card.plugged.load(Ordering::Relaxed) {
                            errors.lost("The requested audio device is not available. It may have been disconnected.");
                            return;
                        }
                        if !card.mute.load(Ordering::Relaxed) {
                            input.push(&[n as f32 * 0.1; 480]);
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                });
                Ok(OpenMic {
                    description: format!("Fake Card #{n} at 48000 Hz"),
                    stream: Box::new(FakeStream(stop)),
                })
            }
        }
    }

    pub(crate) const FAST: MicSupervision = MicSupervision {
        retry: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        stall: Duration::from_millis(1500),
    };

    /// Polls `f` for up to 20 s.
    fn within(mut f: impl FnMut() -> bool) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn an_unplugged_microphone_is_reported_lost_and_reopened_when_it_comes_back() {
        let card = FakeCard::plugged_in();
        let sound = Arc::new(MicSound::default());
        let mic = Microphone::start(card.opener(), sound.clone(), FAST).unwrap();
        assert!(
            within(|| mic.health().samples > 4_800),
            "{:?}",
            mic.health()
        );
        let h = mic.health();
        assert_eq!((h.state, h.opened, h.lost), (MicState::Open, 1, 0));
        assert_eq!(h.summary(), "microphone Fake Card #1 at 48000 Hz");
        let first = sound.take(48_000);
        assert!(!first.is_empty() && first.iter().all(|s| (s - 0.1).abs() < 1e-6));
        assert!(mic.heard().is_some());

        // Unplugged: the error callback fires, the stream is closed, opening fails for now.
        card.plugged.store(false, Ordering::Relaxed);
        assert!(
            within(|| mic.health().state == MicState::Lost),
            "{:?}",
            mic.health()
        );
        let h = mic.health();
        assert_eq!(h.lost, 1);
        let line = h.summary();
        println!("unplugged: {line}");
        assert!(
            line.contains("lost") && line.contains("disconnected") && line.contains("trying again"),
            "{line}"
        );
        assert!(mic.heard().is_none(), "no mouth from a lost microphone");
        sound.clear();
        let before = mic.health().samples;
        std::thread::sleep(Duration::from_millis(400)); // several failed attempts
        assert_eq!(mic.health().samples, before, "no samples while unplugged");
        assert!(sound.take(48_000).is_empty());
        assert_eq!(card.opens.load(Ordering::Relaxed), 1);
        assert_eq!(mic.health().state, MicState::Lost);

        // Plugged back: a new stream is opened and its sound flows.
        card.plugged.store(true, Ordering::Relaxed);
        assert!(
            within(|| {
                let h = mic.health();
                h.state == MicState::Open && h.samples > before + 4_800
            }),
            "{:?}",
            mic.health()
        );
        let h = mic.health();
        println!("replugged: {}", h.summary());
        assert_eq!((h.opened, h.lost), (2, 1));
        assert_eq!(card.opens.load(Ordering::Relaxed), 2);
        assert!(h.summary().contains("reopened"), "{}", h.summary());
        let second = sound.take(48_000);
        assert!(
            !second.is_empty() && second.iter().all(|s| (s - 0.2).abs() < 1e-6),
            "the sound comes from the new stream"
        );
        assert!(mic.heard().is_some());
    }

    #[test]
    fn a_microphone_that_falls_silent_is_closed_and_reopened() {
        let card = FakeCard::plugged_in();
        let mic = Microphone::start(card.opener(), Arc::default(), FAST).unwrap();
        assert!(within(|| mic.health().samples > 0));
        // The stream stops delivering without an error (a backend that stalls).
        card.mute.store(true, Ordering::Relaxed);
        assert!(within(|| mic.health().lost == 1), "{:?}", mic.health());
        let line = mic.health().summary();
        assert!(line.contains("no sound from it"), "{line}");
        card.mute.store(false, Ordering::Relaxed);
        assert!(
            within(|| {
                let h = mic.health();
                h.state == MicState::Open && h.opened == 2
            }),
            "{:?}",
            mic.health()
        );
        // Never-opened devices say "no microphone" and are tried again too.
        let absent = FakeCard::default();
        let mic = Microphone::start(absent.opener(), Arc::default(), FAST).unwrap();
        let h = mic.health();
        assert_eq!(h.state, MicState::Lost);
        assert!(
            h.summary().starts_with("no microphone (Fake Card"),
            "{}",
            h.summary()
        );
        absent.plugged.store(true, Ordering::Relaxed);
        assert!(within(|| mic.health().state == MicState::Open));
        assert_eq!(
            mic.health().summary(),
            "microphone Fake Card #1 at 48000 Hz"
        );
    }
}
