//! Sound devices through cpal: playing the show's track in step with the show clock, and
//! listening to a microphone for live lip sync. Each stream lives on its own thread (cpal
//! streams are not `Send` everywhere); the ECS only exchanges atomics and channels with it. A
//! machine without devices gets a clear message and the show goes on.
//!
//! The streams are started by the crate's plugin; what is public is [`MicAnalyzer`], the live
//! mouth from a stream of samples, which `ling-stage bench` feeds directly to time it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

/// Listens to a microphone (by name, or the default) and keeps `heard` up to date with the
/// visemes of the last 60 ms, analysed on the capture thread; the sound itself goes to
/// `sound` for the program outputs.
pub(crate) fn start_microphone(
    name: Option<String>,
    heard: Arc<Mutex<Heard>>,
    sound: Arc<MicSound>,
) -> Result<StreamHandle, String> {
    stream_thread("audio-microphone", move || {
        let host = cpal::default_host();
        let device = match &name {
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
        let channels = config.channels().max(1) as usize;
        let label = device
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_default();
        let mut analyzer = MicAnalyzer::new(rate);
        let mut mono: Vec<f32> = Vec::new();
        let stream = device
            .build_input_stream::<f32, _, _>(
                config.config(),
                move |data: &[f32], _| {
                    mono.clear();
                    mono.extend(
                        data.chunks(channels)
                            .map(|c| c.iter().sum::<f32>() / channels as f32),
                    );
                    sound.push(rate, &mono);
                    if let (Some(now), Ok(mut h)) = (analyzer.push(&mono), heard.lock()) {
                        *h = now;
                    }
                },
                |e| eprintln!("microphone: {e}"),
                None,
            )
            .map_err(|e| format!("cannot open an input stream on {label}: {e}"))?;
        Ok((stream, format!("{label} at {rate} Hz")))
    })
}

#[cfg(test)]
mod tests {
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
        match start_microphone(
            Some("no such microphone".into()),
            Arc::new(Mutex::new(Heard::default())),
            Arc::new(MicSound::default()),
        ) {
            Ok(_) => panic!("a microphone that does not exist cannot open"),
            Err(e) => assert!(
                e.contains("no such microphone")
                    || e.contains("cannot list")
                    || e.contains("no microphone"),
                "{e}"
            ),
        }
    }
}
