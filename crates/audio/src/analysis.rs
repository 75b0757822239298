//! Audio analysis for lip sync and a stage that listens: loudness, onsets and tempo, and vowel
//! visemes A/I/U/E/O from formants. Plain functions over samples, so the same analysis runs on a
//! file offline (deterministically) and on a microphone's buffers live.
//!
//! Every 10 ms: RMS and peak level in dBFS; spectral flux for onsets (peaks above a running
//! median, refined to the first loud sample so a click is placed to the millisecond); and, on
//! voiced frames, the first two formants from an LPC envelope, matched against vowel templates
//! to give viseme weights scaled by loudness (silence closes the mouth).

use std::path::{Path, PathBuf};

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use serde::Serialize;

use ling_core::signals::Viseme;

/// Mono samples in -1..1 at `rate` Hz.
#[derive(Debug, Clone)]
pub struct AudioClip {
    /// Sample rate in Hz.
    pub rate: u32,
    /// The samples, mono, in -1..1.
    pub samples: Vec<f32>,
}

/// Why an audio file could not be read; names the file.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or decoded.
    #[error("cannot read audio file {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl AudioClip {
    /// Reads an audio file: WAV, FLAC, Ogg Vorbis or MP3 (by its extension), mixed down to
    /// mono.
    pub fn load(path: &Path) -> Result<Self, AudioError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("flac" | "ogg" | "oga" | "mp3" | "wav" | "wave") => {
                let bytes = std::fs::read(path).map_err(|e| AudioError::Read {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
                Self::decode(bytes, path)
            }
            _ => Err(AudioError::Read {
                path: path.to_owned(),
                message: "unknown audio format (use .wav, .flac, .ogg or .mp3)".into(),
            }),
        }
    }

    /// Decodes a whole audio file held in memory, by `path`'s extension (WAV, FLAC, Ogg Vorbis
    /// or MP3); `path` names the file in errors. What [`AudioClip::load`] runs, and what the
    /// fuzzer calls.
    pub fn decode(bytes: Vec<u8>, path: &Path) -> Result<Self, AudioError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("wav" | "wave") => Self::decode_wav(std::io::Cursor::new(bytes), path),
            _ => Self::decode_compressed(bytes, path),
        }
    }

    /// Decodes FLAC, Ogg Vorbis or MP3 with symphonia.
    fn decode_compressed(bytes: Vec<u8>, path: &Path) -> Result<Self, AudioError> {
        use symphonia::core::audio::SampleBuffer;
        use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
        use symphonia::core::errors::Error;
        use symphonia::core::formats::FormatOptions;
        use symphonia::core::io::MediaSourceStream;
        use symphonia::core::meta::MetadataOptions;
        use symphonia::core::probe::Hint;

        let err = |message: String| AudioError::Read {
            path: path.to_owned(),
            message,
        };
        let stream =
            MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(
                &hint,
                stream,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| err(format!("not a readable audio stream ({e})")))?;
        let mut format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| err("no audio track".into()))?;
        let track_id = track.id;
        let declared = track.codec_params.n_frames;
        let mut rate = track.codec_params.sample_rate.unwrap_or(0);
        let mut decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| err(format!("unsupported codec ({e})")))?;
        let mut samples = Vec::new();
        loop {
            let packet = match format.next_packet() {
                Ok(p) => p,
                Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(Error::ResetRequired) => break,
                Err(e) => return Err(err(e.to_string())),
            };
            if packet.track_id() != track_id {
                continue;
            }
            let decoded = match decoder.decode(&packet) {
                Ok(d) => d,
                // A damaged packet: skip it, as players do.
                Err(Error::DecodeError(_)) => continue,
                Err(e) => return Err(err(e.to_string())),
            };
            let spec = *decoded.spec();
            rate = spec.rate;
            let channels = spec.channels.count().max(1);
            let mut buffer = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
            buffer.copy_interleaved_ref(decoded);
            samples.extend(
                buffer
                    .samples()
                    .chunks(channels)
                    .map(|c| c.iter().sum::<f32>() / channels as f32),
            );
        }
        if rate == 0 || samples.is_empty() {
            return Err(err("no audio samples in the file".into()));
        }
        // A file cut short (a download or copy that stopped) decodes up to the cut. The
        // header's length allows for an encoder's padding (an MP3 frame, a Vorbis block).
        if let Some(declared) = declared {
            let got = samples.len() as u64;
            if got + 4_608 + declared / 100 < declared {
                return Err(err(format!(
                    "cut short: the header declares {declared} samples, the file holds {got} ({} missing)",
                    declared - got
                )));
            }
        }
        Ok(Self { rate, samples })
    }

    /// Reads a WAV file (8–32-bit integer or float, any channel count, mixed down to mono).
    pub fn load_wav(path: &Path) -> Result<Self, AudioError> {
        let file = std::fs::File::open(path).map_err(|e| AudioError::Read {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::decode_wav(std::io::BufReader::new(file), path)
    }

    /// Decodes WAV from a reader. A file cut short (fewer samples than its header declares)
    /// is refused saying how many are missing.
    fn decode_wav(source: impl std::io::Read, path: &Path) -> Result<Self, AudioError> {
        let err = |message: String| AudioError::Read {
            path: path.to_owned(),
            message,
        };
        let reader = hound::WavReader::new(source).map_err(|e| err(e.to_string()))?;
        let spec = reader.spec();
        let declared = reader.len() as usize;
        let channels = spec.channels.max(1) as usize;
        let mut interleaved: Vec<f32> = Vec::new();
        let mut push = |s: Result<f32, hound::Error>| match s {
            Ok(v) => {
                interleaved.push(v);
                Ok(())
            }
            // hound says "Failed to read enough bytes" (or an EOF) when the data stops early.
            Err(hound::Error::FormatError(_) | hound::Error::IoError(_))
                if interleaved.len() < declared =>
            {
                Err(err(format!(
                    "cut short: the header declares {declared} samples, the file holds {} ({} missing)",
                    interleaved.len(),
                    declared - interleaved.len()
                )))
            }
            Err(e) => Err(err(e.to_string())),
        };
        match spec.sample_format {
            hound::SampleFormat::Float => {
                for s in reader.into_samples::<f32>() {
                    push(s)?;
                }
            }
            hound::SampleFormat::Int => {
                let bits = spec.bits_per_sample.clamp(1, 32);
                let scale = 1.0 / (1u64 << (bits - 1)) as f32;
                for s in reader.into_samples::<i32>() {
                    push(s.map(|v| v as f32 * scale))?;
                }
            }
        }
        let samples = interleaved
            .chunks(channels)
            .map(|c| c.iter().sum::<f32>() / channels as f32)
            .collect();
        Ok(Self {
            rate: spec.sample_rate,
            samples,
        })
    }

    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / self.rate.max(1) as f64
    }
}

/// What one 10 ms frame sounds like.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// Start of the frame, in seconds from the start of the clip.
    pub time: f64,
    /// RMS level over the 30 ms window, in dBFS.
    pub rms_dbfs: f32,
    /// Peak level over the window, in dBFS.
    pub peak_dbfs: f32,
    /// The strongest viseme's name, if any (`None` when silent or unvoiced).
    pub viseme: Option<&'static str>,
    /// The strongest viseme's weight (0 when silent or unvoiced).
    pub weight: f32,
    /// Weights of aa, ih, ou, ee, oh.
    pub visemes: [f32; 5],
    /// The first two formants (F1, F2) in Hz, on voiced frames.
    pub formants: Option<(f32, f32)>,
}

/// A whole clip analysed: one [`Frame`] per hop, the onsets and the tempo.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// Seconds between frames (0.01).
    pub hop_seconds: f64,
    /// One frame per hop, from the start of the clip.
    pub frames: Vec<Frame>,
    /// Onset times in seconds.
    pub onsets: Vec<f64>,
    /// Tempo in beats per minute (60–200), when there are at least four onsets.
    pub tempo_bpm: Option<f32>,
}

impl Analysis {
    /// The frame at time `t` (held at the ends).
    pub(crate) fn at(&self, t: f64) -> Option<&Frame> {
        if self.frames.is_empty() {
            return None;
        }
        let i = ((t / self.hop_seconds).floor().max(0.0) as usize).min(self.frames.len() - 1);
        self.frames.get(i)
    }
}

const HOP: f64 = 0.010;
const WINDOW: f64 = 0.030;

fn dbfs(x: f32) -> f32 {
    20.0 * x.max(1e-6).log10()
}

/// Vowel formant templates (F1, F2 in Hz; Peterson & Barney's adult averages for /ɑ i u ɛ ɔ/).
const TEMPLATES: [(Viseme, f32, f32); 5] = [
    (Viseme::Aa, 730.0, 1090.0),
    (Viseme::Ih, 270.0, 2290.0),
    (Viseme::Ou, 300.0, 870.0),
    (Viseme::Ee, 530.0, 1840.0),
    (Viseme::Oh, 570.0, 840.0),
];

/// Analyses a whole clip: levels and visemes every 10 ms, onsets and tempo.
pub fn analyze(clip: &AudioClip) -> Analysis {
    let rate = clip.rate.max(1) as f64;
    let hop = (rate * HOP).round() as usize;
    let win = (rate * WINDOW).round() as usize;
    let n_frames = clip.samples.len().div_ceil(hop.max(1));
    let fft_len = win.next_power_of_two();
    let fft = FftPlanner::<f32>::new().plan_fft_forward(fft_len);
    let hann: Vec<f32> = (0..win)
        .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / win as f32).cos())
        .collect();
    let frame_at = |i: usize| -> Vec<f32> {
        let start = i * hop;
        (0..win)
            .map(|k| clip.samples.get(start + k).copied().unwrap_or(0.0))
            .collect()
    };

    // Levels and spectral flux.
    let mut levels = Vec::with_capacity(n_frames);
    let mut flux = Vec::with_capacity(n_frames);
    let mut prev: Vec<f32> = vec![0.0; fft_len / 2];
    let mut buf = vec![Complex::new(0.0f32, 0.0); fft_len];
    for i in 0..n_frames {
        let x = frame_at(i);
        let rms = (x.iter().map(|v| v * v).sum::<f32>() / win as f32).sqrt();
        let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        levels.push((rms, peak));
        buf.iter_mut().for_each(|c| *c = Complex::new(0.0, 0.0));
        for (k, v) in x.iter().enumerate() {
            buf[k] = Complex::new(v * hann[k], 0.0);
        }
        fft.process(&mut buf);
        let mag: Vec<f32> = buf[..fft_len / 2]
            .iter()
            .map(|c| (1.0 + 100.0 * c.norm()).ln())
            .collect();
        flux.push(
            mag.iter()
                .zip(&prev)
                .map(|(m, p)| (m - p).max(0.0))
                .sum::<f32>(),
        );
        prev = mag;
    }

    // Onsets: flux peaks above a running median, at least 50 ms apart, placed on the first
    // sample that reaches half the frame's peak.
    let mut onsets = Vec::new();
    let mut last = f64::NEG_INFINITY;
    for i in 1..flux.len().saturating_sub(1) {
        let lo = i.saturating_sub(10);
        let hi = (i + 10).min(flux.len());
        let mut around: Vec<f32> = flux[lo..hi].to_vec();
        around.sort_by(f32::total_cmp);
        let median = around[around.len() / 2];
        let mean = flux.iter().sum::<f32>() / flux.len() as f32;
        let threshold = median * 1.5 + mean * 0.5 + 1e-3;
        if flux[i] > threshold && flux[i] >= flux[i - 1] && flux[i] > flux[i + 1] {
            let x = frame_at(i);
            let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            let first = x.iter().position(|v| v.abs() >= peak * 0.5).unwrap_or(0);
            let t = (i * hop + first) as f64 / rate;
            if t - last >= 0.05 {
                onsets.push(t);
                last = t;
            }
        }
    }

    // Tempo from the autocorrelation of the flux over 60–200 BPM.
    let tempo_bpm = (onsets.len() >= 4).then(|| {
        let mean = flux.iter().sum::<f32>() / flux.len().max(1) as f32;
        let centred: Vec<f32> = flux.iter().map(|f| f - mean).collect();
        let (min_lag, max_lag) = ((0.3 / HOP) as usize, (1.0 / HOP) as usize);
        let best = (min_lag..=max_lag.min(centred.len().saturating_sub(1)))
            .max_by(|a, b| {
                let ac = |lag: usize| {
                    centred
                        .iter()
                        .zip(&centred[lag..])
                        .map(|(x, y)| x * y)
                        .sum::<f32>()
                };
                ac(*a).total_cmp(&ac(*b))
            })
            .unwrap_or(min_lag);
        (60.0 / (best as f64 * HOP)) as f32
    });

    // Visemes from formants on voiced frames.
    let loudest = levels.iter().fold(0f32, |m, l| m.max(l.0));
    let gate = dbfs(loudest) - 30.0;
    let decim = ((rate / 11_025.0).round() as usize).max(1);
    let lpc_rate = rate as f32 / decim as f32;
    let frames = levels
        .iter()
        .enumerate()
        .map(|(i, &(rms, peak))| {
            let level = dbfs(rms);
            let mut frame = Frame {
                time: i as f64 * HOP,
                rms_dbfs: level,
                peak_dbfs: dbfs(peak),
                viseme: None,
                weight: 0.0,
                visemes: [0.0; 5],
                formants: None,
            };
            if level < gate.max(-50.0) {
                return frame;
            }
            let x = frame_at(i);
            let reduced: Vec<f32> = x
                .chunks(decim)
                .map(|c| c.iter().sum::<f32>() / c.len() as f32)
                .collect();
            let Some((f1, f2)) = formants(&reduced, lpc_rate) else {
                return frame;
            };
            frame.formants = Some((f1, f2));
            let mut weights = [0f32; 5];
            for (k, (_, t1, t2)) in TEMPLATES.iter().enumerate() {
                let d1 = (f1 / t1).log2() / 0.45;
                let d2 = (f2 / t2).log2() / 0.35;
                weights[k] = (-(d1 * d1 + d2 * d2)).exp();
            }
            let sum: f32 = weights.iter().sum();
            let open = ((level - gate) / 20.0).clamp(0.0, 1.0);
            if sum > 1e-6 {
                for w in &mut weights {
                    *w = *w / sum * open;
                }
            }
            let (best, w) = weights
                .iter()
                .enumerate()
                .fold((0, 0f32), |b, (k, w)| if *w > b.1 { (k, *w) } else { b });
            frame.visemes = weights;
            frame.viseme = (w > 0.0).then(|| TEMPLATES[best].0.name());
            frame.weight = w;
            frame
        })
        .collect();
    Analysis {
        hop_seconds: HOP,
        frames,
        onsets,
        tempo_bpm,
    }
}

/// The first two formants (Hz) of a frame from its LPC envelope, if it has two clear peaks.
fn formants(x: &[f32], rate: f32) -> Option<(f32, f32)> {
    let n = x.len();
    if n < 32 {
        return None;
    }
    // Pre-emphasis and a Hamming window.
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let e = x[i] as f64 - if i > 0 { 0.97 * x[i - 1] as f64 } else { 0.0 };
            e * (0.54 - 0.46 * (std::f64::consts::TAU * i as f64 / (n - 1) as f64).cos())
        })
        .collect();
    let order = ((rate / 1000.0) as usize + 2).min(n - 1);
    let r: Vec<f64> = (0..=order)
        .map(|lag| (lag..n).map(|i| y[i] * y[i - lag]).sum())
        .collect();
    if r[0] <= 1e-12 {
        return None;
    }
    // Levinson-Durbin.
    let mut a = vec![0.0f64; order + 1];
    a[0] = 1.0;
    let mut err = r[0];
    for i in 1..=order {
        let acc: f64 = (1..i).map(|j| a[j] * r[i - j]).sum::<f64>() + r[i];
        let k = -acc / err;
        let prev = a.clone();
        for j in 1..i {
            a[j] = prev[j] + k * prev[i - j];
        }
        a[i] = k;
        err *= 1.0 - k * k;
        if err <= 0.0 {
            return None;
        }
    }
    // Envelope on a 10 Hz grid up to 4 kHz; its peaks above 200 Hz are the formants.
    let env: Vec<(f32, f64)> = (20..=400)
        .map(|step| {
            let f = step as f64 * 10.0;
            let w = std::f64::consts::TAU * f / rate as f64;
            let (mut re, mut im) = (0.0, 0.0);
            for (k, ak) in a.iter().enumerate() {
                re += ak * (w * k as f64).cos();
                im -= ak * (w * k as f64).sin();
            }
            (f as f32, 1.0 / (re * re + im * im).max(1e-12))
        })
        .collect();
    let peaks: Vec<f32> = (1..env.len() - 1)
        .filter(|&i| env[i].1 > env[i - 1].1 && env[i].1 >= env[i + 1].1)
        .map(|i| env[i].0)
        .collect();
    match peaks.as_slice() {
        [f1, f2, ..] => Some((*f1, *f2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_wav_cut_short_is_refused_saying_what_is_missing() {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = Vec::new();
        let mut w = hound::WavWriter::new(std::io::Cursor::new(&mut bytes), spec).unwrap();
        for i in 0..2_000 {
            w.write_sample((i % 100) as i16 * 100).unwrap();
        }
        w.finalize().unwrap();
        let path = std::path::Path::new("voice.wav");
        let whole = super::AudioClip::decode(bytes.clone(), path).unwrap();
        assert_eq!(whole.samples.len(), 1_000);
        // Cut 1 000 bytes off: 500 of the 2 000 interleaved samples are gone.
        let cut = bytes[..bytes.len() - 1_000].to_vec();
        let e = super::AudioClip::decode(cut, path).unwrap_err().to_string();
        assert!(e.contains("voice.wav"), "{e}");
        assert!(e.contains("cut short") && e.contains("500 missing"), "{e}");
    }

    #[test]
    fn a_flac_cut_short_is_refused_saying_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let flac = dir.path().join("tone.flac");
        let made = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg("sine=frequency=440:duration=2:sample_rate=16000")
            .arg(&flac)
            .status();
        if !made.is_ok_and(|s| s.success()) {
            println!("SKIPPED: ffmpeg cannot make a FLAC file here");
            return;
        }
        let bytes = std::fs::read(&flac).unwrap();
        let whole = super::AudioClip::decode(bytes.clone(), &flac).unwrap();
        assert!(
            (whole.duration() - 2.0).abs() < 0.01,
            "{}",
            whole.duration()
        );
        let cut = bytes[..bytes.len() / 2].to_vec();
        let e = super::AudioClip::decode(cut, &flac)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tone.flac") && e.contains("cut short"), "{e}");
        assert!(e.contains("declares 32000 samples"), "{e}");
    }

    use super::*;

    fn clip(rate: u32, seconds: f64, f: impl Fn(f64) -> f32) -> AudioClip {
        let n = (rate as f64 * seconds) as usize;
        AudioClip {
            rate,
            samples: (0..n).map(|i| f(i as f64 / rate as f64)).collect(),
        }
    }

    #[test]
    fn silence_keeps_the_mouth_closed() {
        let a = analyze(&clip(16_000, 1.0, |_| 0.0));
        assert!(
            a.frames
                .iter()
                .all(|f| f.weight == 0.0 && f.viseme.is_none())
        );
        assert!(a.onsets.is_empty());
        assert!(a.frames[0].rms_dbfs <= -100.0);
    }

    #[test]
    fn clicks_are_placed_within_ten_milliseconds_and_give_the_tempo() {
        // A click every 0.5 s (120 BPM) starting at 0.25 s, over low noise.
        let clicks: Vec<f64> = (0..12).map(|k| 0.25 + 0.5 * k as f64).collect();
        let c = clip(44_100, 6.2, |t| {
            let noise = ((t * 12_345.678).sin() * 43_758.545).fract() as f32 * 0.002;
            let click = clicks.iter().any(|&k| t >= k && t < k + 0.002);
            if click { 0.9 } else { noise }
        });
        let a = analyze(&c);
        assert_eq!(a.onsets.len(), clicks.len(), "{:?}", a.onsets);
        for (got, want) in a.onsets.iter().zip(&clicks) {
            assert!(
                (got - want).abs() <= 0.010,
                "click at {want} found at {got}"
            );
        }
        let bpm = a.tempo_bpm.unwrap();
        assert!((bpm - 120.0).abs() < 3.0, "tempo {bpm}");
    }

    #[test]
    fn level_of_a_full_scale_sine_is_minus_three_dbfs() {
        let a = analyze(&clip(48_000, 0.5, |t| {
            (t * 440.0 * std::f64::consts::TAU).sin() as f32
        }));
        let mid = &a.frames[20];
        assert!((mid.rms_dbfs + 3.01).abs() < 0.1, "{}", mid.rms_dbfs);
        assert!(mid.peak_dbfs.abs() < 0.1);
    }
}
