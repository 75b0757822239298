//! Where the program goes: stream URLs, files and virtual cameras, and the ffmpeg command for each.
//!
//! An [`OutputTarget`] is parsed from what the user typed (`--out`): `rtmp://` and `rtmps://`
//! (Twitch, YouTube, Bilibili…), `srt://`, `udp://` (MPEG-TS), `v4l2:/dev/videoN` (a
//! v4l2loopback virtual camera for OBS, Zoom or a browser), or a file whose extension picks
//! the container and codecs. [`StreamSettings`] hold the picture size, frame rate, bitrates
//! and keyframe interval, with per-target defaults ([`StreamSettings::for_target`]).
//!
//! [`ffmpeg_args`] turns both into one ffmpeg command line. ffmpeg reads the picture as raw
//! RGBA frames on its standard input and, when there is sound, mono `f32` samples on file
//! descriptor 3; network targets without sound get a silent stereo track, because the
//! platforms expect one. The command prints machine-readable progress on standard output
//! (`-progress pipe:1`) and only errors on standard error, so the last line there is the
//! reason an output failed.

use std::fmt;
use std::path::{Path, PathBuf};

/// The file extensions a file target may have, in the order error messages list them.
pub const FILE_EXTENSIONS: [&str; 6] = ["mp4", "mov", "mkv", "webm", "ts", "flv"];

/// What replaces a secret (stream key, SRT passphrase) in [`OutputTarget::label`].
const MASK: &str = "••••";

/// What kind of place an output goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// An RTMP or RTMPS ingest (FLV over TCP, H.264 + AAC).
    Rtmp,
    /// An SRT caller or listener (MPEG-TS, H.264 + AAC).
    Srt,
    /// UDP unicast or multicast (MPEG-TS, H.264 + AAC).
    Udp,
    /// A file; its extension picks the container and codecs.
    File,
    /// A v4l2loopback virtual camera (raw YUV 4:2:0, no sound).
    V4l2,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rtmp => "RTMP",
            Self::Srt => "SRT",
            Self::Udp => "UDP",
            Self::File => "file",
            Self::V4l2 => "virtual camera",
        })
    }
}

/// Why an output could not be configured. Each error names the target it is about.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// The text is neither a stream URL we know nor a file with a known extension.
    #[error(
        "\"{text}\" is not an output: expected rtmp://, rtmps://, srt://, udp://, \
         v4l2:/dev/videoN, or a file ending in .mp4, .mov, .mkv, .webm, .ts or .flv"
    )]
    Unrecognised {
        /// What was given.
        text: String,
    },
    /// A URL with a scheme ffmpeg outputs are not made for here.
    #[error(
        "\"{text}\": {scheme}:// outputs are not supported; use rtmp://, rtmps://, srt://, \
         udp://, v4l2:/dev/videoN or a file (.mp4, .mov, .mkv, .webm, .ts, .flv)"
    )]
    UnsupportedScheme {
        /// What was given.
        text: String,
        /// Its scheme, lower case.
        scheme: String,
    },
    /// A file whose extension names no container we write.
    #[error(
        "\"{text}\": a file output must end in .mp4, .mov, .mkv, .webm, .ts or .flv \
         (got {})",
        if extension.is_empty() { "no extension".to_string() } else { format!(".{extension}") }
    )]
    UnknownExtension {
        /// What was given.
        text: String,
        /// Its extension, or empty when it has none.
        extension: String,
    },
    /// `v4l2:` without a device path.
    #[error("\"{text}\": a virtual camera output names its device, like v4l2:/dev/video10")]
    MissingDevice {
        /// What was given.
        text: String,
    },
    /// A URL without a host, like `rtmp://` alone.
    #[error("\"{text}\": the URL has no host")]
    MissingHost {
        /// What was given.
        text: String,
    },
}

/// One place the program goes: a stream URL, a file or a virtual camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget {
    /// What kind of place it is.
    pub kind: TargetKind,
    /// The URL as given; for [`TargetKind::File`] the file's path; for [`TargetKind::V4l2`]
    /// the device's path (`/dev/videoN`).
    pub url: String,
}

impl OutputTarget {
    /// Parses what the user typed: `rtmp://` or `rtmps://` → [`TargetKind::Rtmp`], `srt://`
    /// → [`TargetKind::Srt`], `udp://` → [`TargetKind::Udp`], `v4l2:/dev/videoN` →
    /// [`TargetKind::V4l2`], anything else a file path whose extension is one of
    /// [`FILE_EXTENSIONS`] (any case).
    ///
    /// ```
    /// use ling_broadcast::target::{OutputTarget, TargetKind};
    /// let t = OutputTarget::parse("rtmp://live.twitch.tv/app/live_abc123").unwrap();
    /// assert_eq!(t.kind, TargetKind::Rtmp);
    /// assert_eq!(t.label(), "rtmp://live.twitch.tv/app/••••");
    /// assert!(OutputTarget::parse("show.avi").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, BroadcastError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(BroadcastError::Unrecognised { text: text.into() });
        }
        let lower = trimmed.to_ascii_lowercase();
        if let Some(device) = lower.strip_prefix("v4l2:").map(|_| &trimmed[5..]) {
            // Accept v4l2:/dev/video10 and v4l2:///dev/video10.
            let device = device
                .strip_prefix("//")
                .filter(|d| d.starts_with('/'))
                .unwrap_or(device);
            if device.is_empty() {
                return Err(BroadcastError::MissingDevice { text: text.into() });
            }
            return Ok(Self {
                kind: TargetKind::V4l2,
                url: device.into(),
            });
        }
        if let Some((scheme, rest)) = lower.split_once("://") {
            let kind = match scheme {
                "rtmp" | "rtmps" => TargetKind::Rtmp,
                "srt" => TargetKind::Srt,
                "udp" => TargetKind::Udp,
                _ if scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                    && !scheme.is_empty() =>
                {
                    return Err(BroadcastError::UnsupportedScheme {
                        text: text.into(),
                        scheme: scheme.into(),
                    });
                }
                _ => return Err(BroadcastError::Unrecognised { text: text.into() }),
            };
            if rest.split(['/', '?']).next().is_none_or(str::is_empty) {
                return Err(BroadcastError::MissingHost { text: text.into() });
            }
            return Ok(Self {
                kind,
                url: trimmed.into(),
            });
        }
        let extension = Path::new(trimmed)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !FILE_EXTENSIONS.contains(&extension.as_str()) {
            return Err(BroadcastError::UnknownExtension {
                text: text.into(),
                extension,
            });
        }
        Ok(Self {
            kind: TargetKind::File,
            url: trimmed.into(),
        })
    }

    /// A file target's extension, lower case (`None` for streams and cameras).
    pub fn extension(&self) -> Option<String> {
        (self.kind == TargetKind::File).then(|| {
            Path::new(&self.url)
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default()
        })
    }

    /// The target for the console and logs, with its secrets masked: an RTMP stream key (the
    /// last path segment after the application, and any query), an SRT `passphrase` and
    /// `streamid`, and a password in the URL's user information.
    ///
    /// `rtmp://live.twitch.tv/app/live_abc123` → `rtmp://live.twitch.tv/app/••••`;
    /// `srt://host:9000?streamid=abc&latency=200` → `srt://host:9000?streamid=••••&latency=200`.
    pub fn label(&self) -> String {
        match self.kind {
            TargetKind::File => self.url.clone(),
            TargetKind::V4l2 => format!("v4l2:{}", self.url),
            TargetKind::Rtmp | TargetKind::Srt | TargetKind::Udp => mask_url(self.kind, &self.url),
        }
    }

    /// Whether the target keeps transparency: `.mov` files (ProRes 4444) and `.webm` files
    /// (VP9 with alpha).
    pub fn carries_alpha(&self) -> bool {
        matches!(self.extension().as_deref(), Some("mov" | "webm"))
    }

    /// Whether the target carries sound (everything but a virtual camera).
    pub fn carries_audio(&self) -> bool {
        self.kind != TargetKind::V4l2
    }

    /// Whether the target is a network stream (RTMP, SRT or UDP).
    pub fn is_stream(&self) -> bool {
        matches!(
            self.kind,
            TargetKind::Rtmp | TargetKind::Srt | TargetKind::Udp
        )
    }

    /// The same target writing to another file (for a retry that must keep an earlier
    /// attempt's recording). Streams and cameras are returned unchanged.
    pub fn with_file(&self, path: &Path) -> Self {
        match self.kind {
            TargetKind::File => Self {
                kind: TargetKind::File,
                url: path.display().to_string(),
            },
            _ => self.clone(),
        }
    }
}

impl fmt::Display for OutputTarget {
    /// Shows the [`label`](OutputTarget::label): secrets never reach a log by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Masks the secrets of a stream URL (see [`OutputTarget::label`]).
fn mask_url(kind: TargetKind, url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    // user:password@host → user:••••@host
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:{MASK}@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}://{authority}");
    if let Some(path) = path {
        out.push('/');
        let segments: Vec<&str> = path.split('/').collect();
        let masked: Vec<&str> = if kind == TargetKind::Rtmp && segments.len() >= 2 {
            // app[/instance]/KEY: the key is the last segment.
            let last = segments.len() - 1;
            segments
                .iter()
                .enumerate()
                .map(|(i, s)| if i == last && !s.is_empty() { MASK } else { s })
                .collect()
        } else {
            segments
        };
        out.push_str(&masked.join("/"));
    }
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let secret = match kind {
                    // Anything in an RTMP query may be a key or a token.
                    TargetKind::Rtmp => !value.is_empty(),
                    _ => matches!(
                        key.to_ascii_lowercase().as_str(),
                        "passphrase" | "streamid" | "password" | "key" | "token"
                    ),
                };
                if secret {
                    format!("{key}={MASK}")
                } else {
                    pair.to_string()
                }
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// How a target is encoded: picture size and rate, bitrates, keyframe interval, sound.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSettings {
    /// Picture width in pixels (the frames handed over must have this size).
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Frames per second sent to ffmpeg (the writer ticks at this rate on the wall clock).
    pub fps: u32,
    /// Video bitrate in kbit/s (H.264 and VP9; ProRes and the virtual camera ignore it).
    pub video_kbps: u32,
    /// Seconds between keyframes (platforms want 2 s).
    pub keyframe_seconds: f32,
    /// Sound bitrate in kbit/s (AAC or Opus).
    pub audio_kbps: u32,
    /// The sample rate of the mono sound handed over (`Broadcaster::push_audio`), or `None`
    /// when no sound is handed over: network targets then carry a silent track (platforms
    /// want one), files and cameras none.
    pub audio_rate: Option<u32>,
}

impl StreamSettings {
    /// Defaults for `target` at `width`×`height` and `fps`: the bitrate of
    /// [`crate::preset::default_video_kbps`], a keyframe every 2 s, 160 kbit/s sound, and
    /// sound input at 48 kHz for targets that carry sound (set [`audio_rate`] to the rate of
    /// the samples you hand over, or `None` if there are none).
    ///
    /// [`audio_rate`]: StreamSettings::audio_rate
    pub fn for_target(target: &OutputTarget, width: u32, height: u32, fps: u32) -> Self {
        Self {
            width,
            height,
            fps,
            video_kbps: crate::preset::default_video_kbps(width, height, fps),
            keyframe_seconds: 2.0,
            audio_kbps: 160,
            audio_rate: target.carries_audio().then_some(48_000),
        }
    }

    /// Frames between keyframes (at least 1).
    pub fn keyframe_interval(&self) -> u32 {
        ((self.fps as f32 * self.keyframe_seconds).round() as u32).max(1)
    }

    /// The rate of the sound ffmpeg reads on descriptor 3 for `target`: `None` when the
    /// target carries no sound or none is handed over.
    pub fn audio_input(&self, target: &OutputTarget) -> Option<u32> {
        self.audio_rate.filter(|_| target.carries_audio())
    }
}

/// ffmpeg's input arguments for raw RGBA8 frames of `width`×`height` at `fps` on its standard
/// input: what every runner that pipes pictures to ffmpeg (broadcast outputs, offline render)
/// gives it. Raw inputs need no probing (their parameters are given): without `-probesize`
/// and `-analyzeduration` ffmpeg would wait for seconds of picture before starting.
pub fn raw_video_input(width: u32, height: u32, fps: u32) -> Vec<String> {
    let size = format!("{width}x{height}");
    let fps = fps.max(1).to_string();
    [
        "-probesize",
        "32",
        "-analyzeduration",
        "0",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgba",
        "-s",
        &size,
        "-framerate",
        &fps,
        "-i",
        "pipe:0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The ffmpeg arguments (without the program name) that encode raw RGBA frames from standard
/// input (and mono `f32` sound from descriptor 3 when [`StreamSettings::audio_input`] is some)
/// to `target`. `alpha` asks `.mov` and `.webm` files to keep transparency (the frames must
/// then carry straight, not premultiplied, alpha); other targets ignore it.
///
/// File targets are never overwritten (`-n`): the session picks a free name first.
pub fn ffmpeg_args(target: &OutputTarget, settings: &StreamSettings, alpha: bool) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    push(&[
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
    ]);
    if target.kind == TargetKind::File {
        // The session picks the name: the file asked for first, fresh names for retries.
        push(&["-y"]);
    }
    args.extend(raw_video_input(
        settings.width,
        settings.height,
        settings.fps,
    ));
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));

    let audio_in = settings.audio_input(target);
    let silent = audio_in.is_none() && target.is_stream();
    if let Some(rate) = audio_in {
        let rate = rate.to_string();
        push(&["-probesize", "32", "-analyzeduration", "0"]);
        push(&["-f", "f32le", "-ar", &rate, "-ac", "1", "-i", "pipe:3"]);
    } else if silent {
        push(&["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]);
    }
    let has_audio = audio_in.is_some() || silent;
    push(&["-map", "0:v"]);
    if has_audio {
        push(&["-map", "1:a"]);
    }
    if silent {
        // The silent track never ends: stop with the picture.
        push(&["-shortest"]);
    }
    if target.kind == TargetKind::File {
        // Each packet goes to the file as it is muxed, not held in a buffer: a recording cut
        // off (ffmpeg killed with the show) keeps everything but its last moments.
        push(&["-flush_packets", "1"]);
    }

    let extension = target.extension();
    let ext = extension.as_deref().unwrap_or("");
    let gop = settings.keyframe_interval().to_string();
    let kbps = settings.video_kbps.max(1);
    let (b, bufsize) = (format!("{kbps}k"), format!("{}k", kbps * 2));
    let even = settings.width % 2 != 0 || settings.height % 2 != 0;
    let pad = |args: &mut Vec<String>| {
        // 4:2:0 needs even sizes: pad an odd edge by one pixel.
        if even {
            args.extend(["-vf".into(), "pad=ceil(iw/2)*2:ceil(ih/2)*2".into()]);
        }
    };
    let h264 = |args: &mut Vec<String>| {
        pad(args);
        args.extend(
            [
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-tune",
                "zerolatency",
                "-pix_fmt",
                "yuv420p",
                "-b:v",
                b.as_str(),
                "-maxrate",
                b.as_str(),
                "-bufsize",
                bufsize.as_str(),
                "-g",
                gop.as_str(),
                "-keyint_min",
                gop.as_str(),
                "-sc_threshold",
                "0",
            ]
            .map(String::from),
        );
    };
    let audio_kbps = format!("{}k", settings.audio_kbps.max(8));
    let aac = |args: &mut Vec<String>| {
        args.extend(
            [
                "-c:a",
                "aac",
                "-b:a",
                audio_kbps.as_str(),
                "-ar",
                "48000",
                "-ac",
                "2",
            ]
            .map(String::from),
        );
    };

    match target.kind {
        TargetKind::V4l2 => {
            pad(&mut args);
            push_all(&mut args, &["-an", "-f", "v4l2", "-pix_fmt", "yuv420p"]);
        }
        TargetKind::Rtmp | TargetKind::Srt | TargetKind::Udp => {
            h264(&mut args);
            aac(&mut args);
            let format = if target.kind == TargetKind::Rtmp {
                "flv"
            } else {
                "mpegts"
            };
            push_all(&mut args, &["-f", format]);
        }
        TargetKind::File => match ext {
            "mov" if alpha => {
                push_all(
                    &mut args,
                    &[
                        "-c:v",
                        "prores_ks",
                        "-profile:v",
                        "4444",
                        "-pix_fmt",
                        "yuva444p10le",
                    ],
                );
                if has_audio {
                    aac(&mut args);
                } else {
                    push_all(&mut args, &["-an"]);
                }
                // Fragmented, a second a fragment (every ProRes frame is a keyframe), so a
                // recording cut off by a crash plays up to its last fragment.
                push_all(
                    &mut args,
                    &[
                        "-movflags",
                        "+empty_moov+default_base_moof",
                        "-frag_duration",
                        "1000000",
                        "-f",
                        "mov",
                    ],
                );
            }
            "webm" => {
                pad(&mut args);
                let pix = if alpha { "yuva420p" } else { "yuv420p" };
                push_all(
                    &mut args,
                    &[
                        "-c:v",
                        "libvpx-vp9",
                        "-deadline",
                        "realtime",
                        "-cpu-used",
                        "8",
                        "-row-mt",
                        "1",
                        "-pix_fmt",
                        pix,
                        "-b:v",
                        &b,
                        "-maxrate",
                        &b,
                        "-bufsize",
                        &bufsize,
                        "-g",
                        &gop,
                        "-keyint_min",
                        &gop,
                    ],
                );
                if alpha {
                    push_all(&mut args, &["-auto-alt-ref", "0"]);
                }
                if has_audio {
                    push_all(
                        &mut args,
                        &[
                            "-c:a",
                            "libopus",
                            "-b:a",
                            &audio_kbps,
                            "-ar",
                            "48000",
                            "-ac",
                            "2",
                        ],
                    );
                } else {
                    push_all(&mut args, &["-an"]);
                }
                push_all(&mut args, &["-f", "webm"]);
            }
            _ => {
                h264(&mut args);
                if has_audio {
                    aac(&mut args);
                } else {
                    push_all(&mut args, &["-an"]);
                }
                match ext {
                    "mp4" => push_all(
                        &mut args,
                        &[
                            "-movflags",
                            "+frag_keyframe+empty_moov+default_base_moof",
                            "-f",
                            "mp4",
                        ],
                    ),
                    // Fragmented like MP4: a crash keeps what was recorded.
                    "mov" => push_all(
                        &mut args,
                        &[
                            "-movflags",
                            "+frag_keyframe+empty_moov+default_base_moof",
                            "-f",
                            "mov",
                        ],
                    ),
                    "mkv" => push_all(&mut args, &["-f", "matroska"]),
                    "ts" => push_all(&mut args, &["-f", "mpegts"]),
                    _ => push_all(&mut args, &["-f", "flv"]),
                }
            }
        },
    }
    args.push(target.url.clone());
    args
}

fn push_all(args: &mut Vec<String>, items: &[&str]) {
    args.extend(items.iter().map(|s| s.to_string()));
}

/// Checks that `device` is a v4l2loopback virtual camera. `Ok` carries its card name (what
/// OBS or a browser lists it as); `Err` says what is missing: the device, the v4l2loopback
/// module (and how to load it), or that the device is a real camera.
pub fn check_v4l2(device: &Path) -> Result<String, String> {
    check_v4l2_in(Path::new("/sys"), device)
}

/// How to get a v4l2loopback device.
const LOAD_V4L2LOOPBACK: &str = "sudo apt-get install v4l2loopback-dkms && sudo modprobe \
     v4l2loopback devices=1 video_nr=10 card_label=\"Ling Stage\" exclusive_caps=1";

/// [`check_v4l2`] against a sysfs mounted at `sys` (tests use a made-up one).
fn check_v4l2_in(sys: &Path, device: &Path) -> Result<String, String> {
    let loaded = sys.join("module/v4l2loopback").exists();
    let name = device
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !device.exists() {
        return Err(if loaded {
            format!(
                "no such device {}: the v4l2loopback module is loaded but made other devices \
                 (reload it with video_nr={}: sudo modprobe -r v4l2loopback && {LOAD_V4L2LOOPBACK})",
                device.display(),
                name.trim_start_matches("video")
            )
        } else {
            format!(
                "no such device {}: the v4l2loopback module is not loaded (load it with: \
                 {LOAD_V4L2LOOPBACK})",
                device.display()
            )
        });
    }
    let card = std::fs::read_to_string(sys.join("class/video4linux").join(&name).join("name"))
        .map(|s| s.trim().to_string())
        .ok();
    let virtual_device: PathBuf = sys.join("devices/virtual/video4linux").join(&name);
    if !virtual_device.exists() {
        let what = card.map(|c| format!(" (\"{c}\")")).unwrap_or_default();
        return Err(if loaded {
            format!(
                "{} is a real camera{what}, not a v4l2loopback device; use the loopback's \
                 device instead",
                device.display()
            )
        } else {
            format!(
                "{} is a real camera{what}, not a v4l2loopback device, and the v4l2loopback \
                 module is not loaded (load it with: {LOAD_V4L2LOOPBACK})",
                device.display()
            )
        });
    }
    if !loaded {
        return Err(format!(
            "{} is a virtual video device but not v4l2loopback's (the v4l2loopback module is \
             not loaded; load it with: {LOAD_V4L2LOOPBACK})",
            device.display()
        ));
    }
    Ok(card.unwrap_or_else(|| name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args_of(url: &str, fps: u32, audio: Option<u32>, alpha: bool) -> String {
        let target = OutputTarget::parse(url).unwrap();
        let mut settings = StreamSettings::for_target(&target, 640, 360, fps);
        settings.audio_rate = audio;
        ffmpeg_args(&target, &settings, alpha).join(" ")
    }

    #[test]
    fn targets_parse_by_scheme_and_extension() {
        let kind = |t: &str| OutputTarget::parse(t).unwrap().kind;
        assert_eq!(kind("rtmp://a.rtmp.youtube.com/live2/k"), TargetKind::Rtmp);
        assert_eq!(kind("RTMPS://x.example/app/k"), TargetKind::Rtmp);
        assert_eq!(kind("srt://127.0.0.1:9000?mode=caller"), TargetKind::Srt);
        assert_eq!(kind("udp://239.0.0.1:1234"), TargetKind::Udp);
        assert_eq!(kind("show.MP4"), TargetKind::File);
        for ext in FILE_EXTENSIONS {
            assert_eq!(kind(&format!("/tmp/a b/show.{ext}")), TargetKind::File);
        }
        let cam = OutputTarget::parse("v4l2:/dev/video10").unwrap();
        assert_eq!(
            (cam.kind, cam.url.as_str()),
            (TargetKind::V4l2, "/dev/video10")
        );
        assert_eq!(
            OutputTarget::parse("v4l2:///dev/video3").unwrap().url,
            "/dev/video3"
        );

        let err = OutputTarget::parse("show.avi").unwrap_err().to_string();
        assert!(
            err.contains("show.avi") && err.contains(".webm") && err.contains(".flv"),
            "{err}"
        );
        assert!(err.contains(".avi"), "{err}");
        let err = OutputTarget::parse("show").unwrap_err().to_string();
        assert!(
            err.contains("\"show\"") && err.contains("no extension"),
            "{err}"
        );
        let err = OutputTarget::parse("http://x/y.mp4")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("http://x/y.mp4") && err.contains("rtmp://"),
            "{err}"
        );
        assert!(
            OutputTarget::parse("v4l2:")
                .unwrap_err()
                .to_string()
                .contains("v4l2:")
        );
        assert!(
            OutputTarget::parse("rtmp://")
                .unwrap_err()
                .to_string()
                .contains("no host")
        );
        assert!(OutputTarget::parse("  ").is_err());
    }

    #[test]
    fn labels_mask_stream_keys_and_passphrases() {
        let label = |t: &str| OutputTarget::parse(t).unwrap().label();
        assert_eq!(
            label("rtmp://live.twitch.tv/app/live_abc123"),
            "rtmp://live.twitch.tv/app/••••"
        );
        assert_eq!(
            label("rtmps://a.rtmps.youtube.com:443/live2/abcd-efgh"),
            "rtmps://a.rtmps.youtube.com:443/live2/••••"
        );
        assert_eq!(label("rtmp://host/live"), "rtmp://host/live");
        assert_eq!(
            label("rtmp://host/live/key?auth=s3cret"),
            "rtmp://host/live/••••?auth=••••"
        );
        assert_eq!(
            label("srt://host:9000?streamid=#!::r=live,m=publish&latency=200&passphrase=hunter22"),
            "srt://host:9000?streamid=••••&latency=200&passphrase=••••"
        );
        assert_eq!(
            label("udp://127.0.0.1:5000?pkt_size=1316"),
            "udp://127.0.0.1:5000?pkt_size=1316"
        );
        assert_eq!(
            label("rtmp://me:pw@host/app/k"),
            "rtmp://me:••••@host/app/••••"
        );
        assert_eq!(label("v4l2:/dev/video10"), "v4l2:/dev/video10");
        assert_eq!(label("out/show.mkv"), "out/show.mkv");
        let twitch = OutputTarget::parse("rtmp://live.twitch.tv/app/live_abc123").unwrap();
        assert!(!format!("{twitch}").contains("abc123"));
    }

    #[test]
    fn alpha_and_audio_by_target() {
        let t = |s: &str| OutputTarget::parse(s).unwrap();
        assert!(t("a.mov").carries_alpha() && t("a.WEBM").carries_alpha());
        assert!(!t("a.mp4").carries_alpha() && !t("rtmp://h/a/k").carries_alpha());
        assert!(t("a.mkv").carries_audio() && t("udp://h:1").carries_audio());
        assert!(!t("v4l2:/dev/video10").carries_audio());
        let s = StreamSettings::for_target(&t("v4l2:/dev/video10"), 1280, 720, 30);
        assert_eq!(s.audio_rate, None);
        let s = StreamSettings::for_target(&t("rtmp://h/a/k"), 1280, 720, 30);
        assert_eq!(
            (s.video_kbps, s.keyframe_seconds, s.audio_kbps),
            (2765, 2.0, 160)
        );
        assert_eq!(s.keyframe_interval(), 60);
    }

    #[test]
    fn rtmp_args_are_flv_h264_with_two_second_keyframes() {
        let args = args_of("rtmp://live.twitch.tv/app/k", 30, Some(48000), false);
        for part in [
            "-f rawvideo -pix_fmt rgba -s 640x360 -framerate 30 -i pipe:0",
            "-f f32le -ar 48000 -ac 1 -i pipe:3",
            "-map 0:v -map 1:a",
            "-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p",
            "-g 60 -keyint_min 60 -sc_threshold 0",
            "-c:a aac -b:a 160k -ar 48000 -ac 2",
            "-f flv rtmp://live.twitch.tv/app/k",
            "-progress pipe:1",
        ] {
            assert!(args.contains(part), "missing {part:?} in {args}");
        }
        let kbps = crate::preset::default_video_kbps(640, 360, 30);
        assert!(args.contains(&format!(
            "-b:v {kbps}k -maxrate {kbps}k -bufsize {}k",
            2 * kbps
        )));
        assert!(!args.contains("-shortest") && !args.contains(" -n "));
        // No sound handed over: a silent track that ends with the picture.
        let silent = args_of("srt://127.0.0.1:9000", 25, None, false);
        assert!(
            silent.contains("-f lavfi -i anullsrc=r=48000:cl=stereo"),
            "{silent}"
        );
        assert!(silent.contains("-map 0:v -map 1:a") && silent.contains("-shortest"));
        assert!(
            silent.contains("-g 50") && silent.contains("-f mpegts srt://"),
            "{silent}"
        );
        assert!(args_of("udp://127.0.0.1:5000", 30, None, false).contains("-f mpegts udp://"));
    }

    #[test]
    fn file_args_by_extension() {
        let mp4 = args_of("rec.mp4", 30, Some(44100), false);
        assert!(
            mp4.contains("-movflags +frag_keyframe+empty_moov+default_base_moof -f mp4 rec.mp4")
        );
        assert!(mp4.contains("-f f32le -ar 44100 -ac 1 -i pipe:3") && mp4.contains("-c:a aac"));
        assert!(mp4.contains("-flush_packets 1"), "{mp4}");
        assert!(
            mp4.contains(" -y "),
            "the session names the file (fresh names for retries): {mp4}"
        );

        let mov = args_of("key.mov", 30, Some(48000), true);
        assert!(
            mov.contains("-c:v prores_ks -profile:v 4444 -pix_fmt yuva444p10le"),
            "{mov}"
        );
        assert!(
            mov.ends_with(
                "-movflags +empty_moov+default_base_moof -frag_duration 1000000 -f mov key.mov"
            ),
            "a crash keeps what was recorded: {mov}"
        );
        let opaque_mov = args_of("key.mov", 30, Some(48000), false);
        assert!(opaque_mov.contains("libx264") && !opaque_mov.contains("prores"));
        assert!(
            opaque_mov
                .ends_with("-movflags +frag_keyframe+empty_moov+default_base_moof -f mov key.mov"),
            "{opaque_mov}"
        );

        let webm = args_of("key.webm", 30, None, true);
        assert!(
            webm.contains("-c:v libvpx-vp9 -deadline realtime -cpu-used 8"),
            "{webm}"
        );
        assert!(
            webm.contains("-pix_fmt yuva420p") && webm.contains("-an"),
            "{webm}"
        );
        assert!(!webm.contains("anullsrc") && !webm.contains("-map 1:a"));
        let webm_sound = args_of("key.webm", 30, Some(48000), true);
        assert!(webm_sound.contains("-c:a libopus"), "{webm_sound}");

        let mkv = args_of("a.mkv", 30, None, false);
        assert!(
            mkv.contains("libx264") && mkv.contains("-an") && mkv.ends_with("-f matroska a.mkv")
        );
        assert!(args_of("a.ts", 30, None, false).ends_with("-f mpegts a.ts"));
        assert!(args_of("a.flv", 30, None, false).ends_with("-f flv a.flv"));
    }

    #[test]
    fn v4l2_args_have_no_sound() {
        let cam = args_of("v4l2:/dev/video10", 30, Some(48000), false);
        assert!(
            cam.ends_with("-an -f v4l2 -pix_fmt yuv420p /dev/video10"),
            "{cam}"
        );
        assert!(!cam.contains("pipe:3") && !cam.contains("anullsrc") && !cam.contains("1:a"));
    }

    #[test]
    fn odd_sizes_are_padded_for_yuv420() {
        let target = OutputTarget::parse("a.mkv").unwrap();
        let settings = StreamSettings::for_target(&target, 641, 361, 30);
        let args = ffmpeg_args(&target, &settings, false).join(" ");
        assert!(args.contains("-vf pad=ceil(iw/2)*2:ceil(ih/2)*2"), "{args}");
    }

    #[test]
    fn v4l2_check_says_what_is_missing() {
        let sys = tempfile::tempdir().unwrap();
        let dev = tempfile::tempdir().unwrap();
        let missing = dev.path().join("video10");
        let err = check_v4l2_in(sys.path(), &missing).unwrap_err();
        assert!(
            err.contains("no such device") && err.contains("not loaded"),
            "{err}"
        );
        assert!(
            err.contains("sudo modprobe v4l2loopback devices=1 video_nr=10"),
            "{err}"
        );

        // A real camera: in /sys/class but not virtual.
        let cam = dev.path().join("video0");
        std::fs::write(&cam, "").unwrap();
        std::fs::create_dir_all(sys.path().join("class/video4linux/video0")).unwrap();
        std::fs::write(
            sys.path().join("class/video4linux/video0/name"),
            "Integrated Camera\n",
        )
        .unwrap();
        let err = check_v4l2_in(sys.path(), &cam).unwrap_err();
        assert!(
            err.contains("real camera") && err.contains("Integrated Camera"),
            "{err}"
        );

        // The loopback.
        std::fs::create_dir_all(sys.path().join("module/v4l2loopback")).unwrap();
        let loop_dev = dev.path().join("video10");
        std::fs::write(&loop_dev, "").unwrap();
        std::fs::create_dir_all(sys.path().join("class/video4linux/video10")).unwrap();
        std::fs::create_dir_all(sys.path().join("devices/virtual/video4linux/video10")).unwrap();
        std::fs::write(
            sys.path().join("class/video4linux/video10/name"),
            "Ling Stage\n",
        )
        .unwrap();
        assert_eq!(check_v4l2_in(sys.path(), &loop_dev).unwrap(), "Ling Stage");
        let err = check_v4l2_in(sys.path(), &cam).unwrap_err();
        assert!(
            err.contains("real camera") && !err.contains("not loaded"),
            "{err}"
        );
        let err = check_v4l2_in(sys.path(), &dev.path().join("video11")).unwrap_err();
        assert!(
            err.contains("no such device") && err.contains("video_nr=11"),
            "{err}"
        );

        // On this machine: whatever it has, the answer names the device.
        match check_v4l2(Path::new("/dev/video10")) {
            Ok(card) => assert!(!card.is_empty()),
            Err(why) => assert!(why.contains("/dev/video10"), "{why}"),
        }
    }
}
