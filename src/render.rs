//! Offline rendering: the show through the normal render pipeline on a fixed step, frame by
//! frame, to a video through ffmpeg: H.264 (`.mp4`, `.mov`, `.mkv`) or VP9 (`.webm`), or with
//! a transparent background ProRes 4444 (`.mov`) or VP9 with alpha (`.webm`); or to PNG
//! frames (`--keep-frames`, a name that is not a video's, or no ffmpeg).
//!
//! A keyed render ([`RenderOptions::backdrop`]) clears the stage camera to transparent and
//! hides the set as asked; the read-back picture (premultiplied by coverage) is then written
//! either with straight alpha ([`BackdropFill::Transparent`]) or laid over an exact key colour
//! ([`BackdropFill::Key`]).
//!
//! The loop is driven from here rather than by a runner: set the clock to frame `i / fps`,
//! request a screenshot of the stage camera's image, update the app, and wait for the GPU to
//! finish the *previous* frame: the read-back of frame N overlaps the rendering of frame N+1.
//! The frame time is fixed (`TimeUpdateStrategy::ManualDuration`) and held at zero while
//! pipelines compile, so the same show renders the same frames however long warm-up takes.
//! Read-back pixels go through a bounded channel to an encoder thread, which writes them raw
//! (RGBA) to ffmpeg's standard input — no PNG encoded or decoded per frame — and, with
//! `--keep-frames`, as PNG files too.
//!
//! Nothing half-written ever carries a final name: each PNG frame is written under a hidden
//! temporary name and renamed, and the video is encoded to a hidden partial file beside the
//! output ([`partial_path`]) and renamed over the output once ffmpeg has finished. A render
//! that is killed (`kill -9`, a power cut) leaves the previous output, if any, untouched, and
//! its encoder dies with it; the next render of the same output removes the leftovers and
//! starts over.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{PipelineCache, PollType};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::render::{RenderApp, RenderPlugin};
use bevy::time::TimeUpdateStrategy;
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;

use crate::LingStagePlugins;
use ling_broadcast::preset::Preset;
use ling_core::show::{ClockMode, ShowClock, ShowFile, insert_show};
use ling_mocap::MotionPlayer;
use ling_performer::avatar_scene::{avatar_loading, register_avatar_source};
use ling_set::keying::{Backdrop, BackdropFill};
use ling_set::{QualityRequest, StageOutput, StageQuality};

/// What to render and where.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The video file (`.mp4`, `.mov`, `.mkv`, `.webm`; see [`video_format`]); the PNG frames
    /// go in a folder beside it. Any other name writes the PNG frames only.
    pub out: PathBuf,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second of show time.
    pub fps: u32,
    /// Number of frames; by default the whole show.
    pub frames: Option<u32>,
    /// Show time of the first frame (seconds).
    pub start: f64,
    /// Keep the PNG frames after encoding.
    pub keep_frames: bool,
    /// Show a progress bar on the terminal.
    pub progress: bool,
    /// Picture quality: final by default, draft for speed, MSAA overridden.
    pub quality: QualityRequest,
    /// What fills the background and which set pieces show. Keyed backdrops write RGBA PNG
    /// frames with straight alpha ([`BackdropFill::Transparent`]) or opaque frames over an
    /// exact key colour ([`BackdropFill::Key`]).
    pub backdrop: Backdrop,
    /// Video bitrate (kbit/s), as a platform asks for; `None` encodes at constant quality.
    /// ProRes ignores it (its rate follows from the profile).
    pub video_kbps: Option<u32>,
    /// Read every frame back and drop it: no video, no PNG files (benchmarks: the render
    /// without its encode path).
    pub discard: bool,
    /// Record each render pass's time on the GPU (Bevy's `RenderDiagnosticsPlugin`, timestamp
    /// queries) into [`RenderReport::passes`].
    pub pass_timings: bool,
}

impl RenderOptions {
    /// Takes a preset's picture size, frame rate and bitrate.
    pub fn with_preset(mut self, preset: Preset) -> Self {
        (self.width, self.height) = preset.size();
        self.fps = preset.fps();
        self.video_kbps = Some(preset.video_kbps());
        self
    }
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            out: PathBuf::from("out/show.mp4"),
            width: 1280,
            height: 720,
            fps: 30,
            frames: None,
            start: 0.0,
            keep_frames: false,
            progress: true,
            quality: QualityRequest::fixed(StageQuality::FINAL),
            backdrop: Backdrop::default(),
            video_kbps: None,
            discard: false,
            pass_timings: false,
        }
    }
}

/// How the PNG frames become a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoFormat {
    /// H.264, yuv420p (`.mp4`, `.mov`, `.mkv`): plays everywhere, no alpha.
    H264,
    /// VP9, yuv420p (`.webm`), no alpha.
    Vp9,
    /// ProRes 4444 with a 10-bit alpha channel, yuva444p10le (`.mov`): for editors.
    ProRes4444,
    /// VP9 with alpha, yuva420p (`.webm`): for browsers and OBS.
    Vp9Alpha,
}

/// The video format for `out`: `None` when `out` is not a video file name (PNG frames only).
/// With `alpha`, `.mov` is ProRes 4444 and `.webm` VP9 with alpha; other containers are an
/// error, since H.264 cannot carry alpha.
pub fn video_format(out: &Path, alpha: bool) -> anyhow::Result<Option<VideoFormat>> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    Ok(match (ext.as_deref(), alpha) {
        (Some("mp4" | "mov" | "mkv"), false) => Some(VideoFormat::H264),
        (Some("webm"), false) => Some(VideoFormat::Vp9),
        (Some("mov"), true) => Some(VideoFormat::ProRes4444),
        (Some("webm"), true) => Some(VideoFormat::Vp9Alpha),
        (Some(ext @ ("mp4" | "mkv")), true) => bail!(
            "a .{ext} video cannot keep a transparent background (its H.264 has no alpha \
             channel): write .mov (ProRes 4444) or .webm (VP9 with alpha) instead, or use \
             --background COLOR for a key colour"
        ),
        _ => None,
    })
}

/// What a render produced.
#[derive(Debug, Clone)]
pub struct RenderReport {
    /// Frames rendered.
    pub frames: u32,
    /// Frames rendered before the first kept one, while assets and pipelines loaded.
    pub warmup_frames: u32,
    /// Wall time of the frame loop (after warm-up).
    pub render_seconds: f64,
    /// CPU time this process spent in the frame loop, all threads (on a software renderer,
    /// the rendering itself): steadier than wall time on a busy machine.
    pub cpu_seconds: f64,
    /// The MP4, if ffmpeg encoded one.
    pub video: Option<PathBuf>,
    /// The PNG frames, if kept (asked for, or no ffmpeg).
    pub frames_dir: Option<PathBuf>,
    /// Why there is no video, if there is none.
    pub note: Option<String>,
    /// Where the time of the frames went.
    pub timings: FrameTimings,
    /// With [`RenderOptions::pass_timings`]: each render pass's mean time over the last
    /// frames (milliseconds, on the GPU where the renderer reports it, else on the CPU), the
    /// costliest first.
    pub passes: Vec<(String, f64)>,
}

impl RenderReport {
    /// Frames rendered per second of wall time.
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.render_seconds.max(1e-9)
    }

    /// CPU milliseconds this process spent per frame.
    pub fn cpu_ms_per_frame(&self) -> f64 {
        1000.0 * self.cpu_seconds / f64::from(self.frames.max(1))
    }
}

/// Folder the PNG frames of `out` are written to.
pub fn frames_dir_for(out: &Path) -> PathBuf {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("render");
    out.with_file_name(format!("{stem}_frames"))
}

/// The name a video is encoded under until it is complete: hidden, beside `out`, with the
/// same extension (so ffmpeg picks the same container): `out/show.mp4` is encoded as
/// `out/.show.partial.mp4`, then renamed to `out/show.mp4`.
pub fn partial_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("render");
    match out.extension().and_then(|e| e.to_str()) {
        Some(ext) => out.with_file_name(format!(".{stem}.partial.{ext}")),
        None => out.with_file_name(format!(".{stem}.partial")),
    }
}

/// Path of frame `i` in a frames folder.
pub fn frame_path(dir: &Path, i: u32) -> PathBuf {
    dir.join(format!("frame_{i:05}.png"))
}

const MIN_WARMUP_FRAMES: u32 = 8;
const AVATAR_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_WARMUP_FRAMES: u32 = 200;
/// Screenshots arrive a frame or two after they are requested.
const MAX_DRAIN_FRAMES: u32 = 60;

/// Renders `show` offline. Errors name what failed (GPU, disk, ffmpeg).
pub fn render(show: ShowFile, options: &RenderOptions) -> anyhow::Result<RenderReport> {
    let RenderOptions {
        width, height, fps, ..
    } = *options;
    if width == 0 || height == 0 || fps == 0 {
        bail!("width, height and fps must be positive (got {width}×{height} at {fps} fps)");
    }
    let frames = options.frames.unwrap_or_else(|| {
        (((show.duration - options.start).max(0.0)) * fps as f64).round() as u32
    });
    if frames == 0 {
        bail!(
            "nothing to render: 0 frames (show lasts {} s)",
            show.duration
        );
    }
    let alpha = options.backdrop.fill == BackdropFill::Transparent;
    // Before any frame renders: a render that cannot be encoded as asked fails at once.
    let format = video_format(&options.out, alpha)?;
    let dir = frames_dir_for(&options.out);
    // A render of the same output that was killed left a partial video (and some frames,
    // cleared below): this render starts over.
    let partial = partial_path(&options.out);
    if partial.exists() {
        std::fs::remove_file(&partial)
            .with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let name = show.name.clone();

    let motion = MotionPlayer::for_show(&show)?;
    let track = ling_audio::AudioTrack::for_show(&show)?;
    let audio_path = track.as_ref().map(|t| t.path.clone());
    let mut app = build_app(
        show,
        width,
        height,
        options.quality,
        options.backdrop,
        options.pass_timings,
    )?;
    app.insert_resource(motion);
    if let Some(track) = track {
        app.insert_resource(track);
    }
    let target = match app.world().resource::<StageOutput>() {
        StageOutput::Image(handle) => handle.clone(),
        StageOutput::Window => unreachable!("build_app renders to an image"),
    };

    // A render that starts mid-show first plays the seconds before its start without drawing
    // them, so costume physics arrives in motion, not at rest.
    let preroll_from = (options.start - PREROLL_SECONDS).max(0.0);

    // Warm up with time frozen until the avatar (if any) has loaded and every render pipeline
    // is compiled.
    let warmup_started = Instant::now();
    let mut warmup = 0;
    let mut idle_frames = 0;
    while warmup < MAX_WARMUP_FRAMES {
        {
            let mut clock = app.world_mut().resource_mut::<ShowClock>();
            clock.time = preroll_from;
            clock.playing = false;
        }
        update_and_wait(&mut app)?;
        warmup += 1;
        let (pending, loading) = stage_loading(&mut app);
        idle_frames = if pending == 0 && !loading {
            idle_frames + 1
        } else {
            0
        };
        if warmup >= MIN_WARMUP_FRAMES && idle_frames >= 3 {
            break;
        }
        if loading {
            if warmup_started.elapsed() > AVATAR_TIMEOUT {
                bail!(
                    "the avatar did not load within {} s",
                    AVATAR_TIMEOUT.as_secs()
                );
            }
            // Loading runs on the asset threads; give them the CPU.
            std::thread::sleep(Duration::from_millis(20));
            warmup = warmup.min(MIN_WARMUP_FRAMES);
        }
    }
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
        1.0 / fps as f64,
    )));
    let preroll_frames = ((options.start - preroll_from) * fps as f64).round() as u32;
    if preroll_frames > 0 {
        set_cameras_active(&mut app, false);
        for i in 0..preroll_frames {
            {
                let mut clock = app.world_mut().resource_mut::<ShowClock>();
                clock.time = preroll_from + i as f64 / fps as f64;
                clock.playing = true;
            }
            app.update();
        }
        set_cameras_active(&mut app, true);
    }

    // Where the frames go: raw pixels to ffmpeg through a pipe, PNG files (kept, or when
    // there is no video to make), or both.
    let mut note = None;
    let video = match format {
        _ if options.discard => None,
        None => {
            note = Some(format!(
                "{} is not a video file name (.mp4/.mov/.mkv/.webm): PNG frames only",
                options.out.display()
            ));
            None
        }
        Some(format) => match ffmpeg_installed().and_then(|()| {
            let audio = audio_path.as_deref().map(|p| (p, options.start));
            output_args(&options.out, audio, format, options.video_kbps)
        }) {
            Ok(tail) => {
                let mut args = base_args();
                args.extend(ling_broadcast::target::raw_video_input(width, height, fps));
                args.extend(tail);
                Some(VideoJob {
                    args,
                    partial: partial.clone(),
                    out: options.out.clone(),
                })
            }
            Err(e) => {
                let why = format!("no video: {e}; PNG frames are written instead");
                warn!("{why}");
                note = Some(why);
                None
            }
        },
    };
    let png_dir =
        (!options.discard && (options.keep_frames || video.is_none())).then(|| dir.clone());
    if let Some(dir) = &png_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let encoder = Encoder::start(EncoderJob {
        width,
        height,
        fill: options.backdrop.fill,
        video,
        png_dir: png_dir.clone(),
        discard: options.discard,
    })?;

    let bar = progress_bar(frames as u64, options.progress, &name);
    let start = options.start;
    let run = run_frames(app, &target, frames, encoder, &bar, |app, i| {
        let mut clock = app.world_mut().resource_mut::<ShowClock>();
        clock.time = start + i as f64 / fps as f64;
        clock.playing = true;
    });
    bar.finish_and_clear();
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(match &png_dir {
                Some(dir) => e.context(format!("frames so far are in {}", dir.display())),
                None => e,
            });
        }
    };
    let encoded = run.video_written;
    if !encoded && png_dir.is_none() && !options.discard {
        bail!("no video was written and no frames kept");
    }
    Ok(RenderReport {
        frames,
        warmup_frames: warmup,
        render_seconds: run.wall.as_secs_f64(),
        cpu_seconds: run.cpu_seconds,
        video: encoded.then(|| options.out.clone()),
        frames_dir: png_dir,
        note,
        timings: run.timings,
        passes: run.passes,
    })
}

/// Per-frame costs of a render, summed over its frames: what `bench --only render` prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameTimings {
    /// The main app's update: the show's simulation (motion, physics, lights, camera).
    pub simulation: Duration,
    /// Extracting to the render world, preparing and recording the frame and submitting it to
    /// the GPU queue (on a software renderer this includes the vertex work and binning).
    pub submission: Duration,
    /// Waiting for the GPU to finish the previous frame (one frame is left in flight).
    pub readback_wait: Duration,
    /// Time the encoder thread spent on frames (finishing alpha, writing to ffmpeg, PNG files,
    /// and ffmpeg's last flush); it runs beside the render loop.
    pub encode: Duration,
}

impl FrameTimings {
    /// Mean milliseconds per frame of `d` over `frames` frames.
    pub fn per_frame_ms(d: Duration, frames: u32) -> f64 {
        d.as_secs_f64() * 1000.0 / frames.max(1) as f64
    }
}

/// What the encoder thread does with the frames.
pub(crate) struct EncoderJob {
    pub width: u32,
    pub height: u32,
    pub fill: BackdropFill,
    /// ffmpeg's arguments and the video's names, when a video is made.
    pub video: Option<VideoJob>,
    /// Where PNG frames are written, when they are.
    pub png_dir: Option<PathBuf>,
    /// Drop every frame (benchmarks: the render without its encode path).
    pub discard: bool,
}

/// An ffmpeg that reads raw frames on its standard input and writes `partial`, renamed to
/// `out` when it finishes.
pub(crate) struct VideoJob {
    pub args: Vec<String>,
    pub partial: PathBuf,
    pub out: PathBuf,
}

/// The encoder thread: read-back frames in, through a bounded channel, to ffmpeg's standard
/// input and/or PNG files, in frame order.
pub(crate) struct Encoder {
    tx: crossbeam_channel::Sender<(u32, Vec<u8>)>,
    handle: std::thread::JoinHandle<anyhow::Result<EncoderDone>>,
    written: Arc<AtomicUsize>,
}

struct EncoderDone {
    busy: Duration,
    video_written: bool,
}

/// Frames waiting for the encoder: the render loop waits when it is this far ahead.
const ENCODER_QUEUE: usize = 4;

impl Encoder {
    /// Starts the thread (and ffmpeg, from that thread, which waits for it: ffmpeg is tied to
    /// its starting thread by [`ling_broadcast::session::end_with_parent`]).
    pub(crate) fn start(job: EncoderJob) -> anyhow::Result<Self> {
        let (tx, rx) = crossbeam_channel::bounded::<(u32, Vec<u8>)>(ENCODER_QUEUE);
        let written = Arc::new(AtomicUsize::new(0));
        let counter = written.clone();
        let handle = std::thread::Builder::new()
            .name("render encoder".into())
            .spawn(move || encode_frames(job, rx, &counter))
            .context("cannot start the encoder thread")?;
        Ok(Self {
            tx,
            handle,
            written,
        })
    }
}

fn encode_frames(
    job: EncoderJob,
    rx: crossbeam_channel::Receiver<(u32, Vec<u8>)>,
    written: &AtomicUsize,
) -> anyhow::Result<EncoderDone> {
    use std::io::{Read, Write};
    let mut busy = Duration::ZERO;
    let mut ffmpeg = match &job.video {
        Some(video) => {
            let mut command = Command::new("ffmpeg");
            // A render that dies takes its encoder along; the partial file stays unnamed.
            #[cfg(unix)]
            ling_broadcast::session::end_with_parent(&mut command, libc::SIGKILL);
            let mut child = command
                .args(&video.args)
                .arg(&video.partial)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .context("cannot run ffmpeg")?;
            let stdin = child.stdin.take();
            let errors = child.stderr.take().map(|mut err| {
                std::thread::spawn(move || {
                    let mut text = String::new();
                    let _ = err.read_to_string(&mut text);
                    text
                })
            });
            Some((child, stdin, errors))
        }
        None => None,
    };
    let background = ling_broadcast::session::Background::for_fill(job.fill);
    let expected = job.width as usize * job.height as usize * 4;
    let mut next = 0u32;
    let mut waiting = std::collections::BTreeMap::new();
    let mut pipe_error = None;
    for (i, pixels) in rx {
        let started = Instant::now();
        waiting.insert(i, pixels);
        // Frames can come back out of order; ffmpeg takes them in order.
        while let Some(mut pixels) = waiting.remove(&next) {
            let i = next;
            next += 1;
            if job.discard {
                written.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            if pixels.len() != expected {
                bail!(
                    "frame {i} came back with {} bytes, not the {expected} of {}×{}",
                    pixels.len(),
                    job.width,
                    job.height
                );
            }
            background.apply(&mut pixels);
            if let Some((_, stdin @ Some(_), _)) = &mut ffmpeg {
                if let Err(e) = stdin.as_mut().map_or(Ok(()), |s| s.write_all(&pixels)) {
                    // ffmpeg stopped reading: its own error says why (below).
                    pipe_error = Some(e);
                    *stdin = None;
                }
            }
            if let Some(dir) = &job.png_dir {
                write_png(dir, i, pixels, job.width, job.height, job.fill)?;
            }
            written.fetch_add(1, Ordering::SeqCst);
            if pipe_error.is_some() {
                break;
            }
        }
        busy += started.elapsed();
        if pipe_error.is_some() {
            break;
        }
    }
    let started = Instant::now();
    let mut video_written = false;
    if let (Some((mut child, stdin, errors)), Some(video)) = (ffmpeg.take(), &job.video) {
        // Closing the picture input lets ffmpeg finish the file.
        drop(stdin);
        let status = child.wait().context("cannot wait for ffmpeg")?;
        let errors = errors
            .and_then(|e| e.join().ok())
            .unwrap_or_default()
            .trim()
            .to_string();
        if !status.success() || pipe_error.is_some() {
            let _ = std::fs::remove_file(&video.partial);
            let why = if !errors.is_empty() {
                errors
            } else if let Some(e) = pipe_error {
                format!("it stopped reading frames ({e})")
            } else {
                format!("it exited with {status}")
            };
            bail!("ffmpeg failed to encode {}: {why}", video.out.display());
        }
        std::fs::rename(&video.partial, &video.out).with_context(|| {
            format!(
                "cannot rename the finished video {} to {}",
                video.partial.display(),
                video.out.display()
            )
        })?;
        video_written = true;
    }
    busy += started.elapsed();
    Ok(EncoderDone {
        busy,
        video_written,
    })
}

/// Writes frame `i` under a hidden name and renames it: a frame file is whole or absent.
/// Opaque and keyed frames are RGB, transparent ones RGBA with straight alpha.
fn write_png(
    dir: &Path,
    i: u32,
    rgba: Vec<u8>,
    width: u32,
    height: u32,
    fill: BackdropFill,
) -> anyhow::Result<()> {
    let path = frame_path(dir, i);
    let part = dir.join(format!(".frame_{i:05}.png.part"));
    let frame = image::RgbaImage::from_raw(width, height, rgba)
        .ok_or_else(|| anyhow::anyhow!("frame {i} is not {width}×{height}"))?;
    let frame = match fill {
        BackdropFill::Transparent => image::DynamicImage::ImageRgba8(frame),
        _ => image::DynamicImage::ImageRgba8(frame).into_rgb8().into(),
    };
    frame
        .save_with_format(&part, image::ImageFormat::Png)
        .with_context(|| format!("cannot write frame {}", part.display()))?;
    std::fs::rename(&part, &path)
        .with_context(|| format!("cannot write frame {}", path.display()))?;
    Ok(())
}

/// CPU time this process has used, user and system, seconds (from `/proc/self/stat`, in
/// clock ticks of 1/100 s: fine summed over many steps); zero where that cannot be read.
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at field 3, the state;
    // utime and stime are fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// What [`run_frames`] measured.
pub(crate) struct FrameRun {
    /// Wall time from the first frame to the encoder's end.
    pub wall: Duration,
    /// CPU time of this process (all its threads: the software renderer's, the encoder's)
    /// over the same span, seconds.
    pub cpu_seconds: f64,
    pub timings: FrameTimings,
    pub video_written: bool,
    pub passes: Vec<(String, f64)>,
}

/// Renders `frames` frames of `app` (its camera drawing into `target`), calling `before_frame`
/// before each (to set the clock), and hands each read-back picture to `encoder`. The read-back
/// of frame N overlaps the rendering of frame N+1: after submitting a frame the loop waits
/// only for the one before it. Frame `i` is always the picture of the `i`-th update, however
/// the GPU's work overlaps, so a render is as deterministic as its app.
pub(crate) fn run_frames(
    mut app: App,
    target: &Handle<Image>,
    frames: u32,
    encoder: Encoder,
    bar: &indicatif::ProgressBar,
    mut before_frame: impl FnMut(&mut App, u32),
) -> anyhow::Result<FrameRun> {
    let Encoder {
        tx,
        handle,
        written,
    } = encoder;
    let device = app.world().resource::<RenderDevice>().clone();
    let queue = app
        .sub_app(RenderApp)
        .world()
        .resource::<RenderQueue>()
        .clone();
    let mut timings = FrameTimings::default();
    let started = Instant::now();
    let cpu_started = process_cpu_seconds();
    let mut in_flight = None;
    let wait = |submission_index| {
        device
            .wgpu_device()
            .poll(PollType::Wait {
                submission_index,
                timeout: None,
            })
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("GPU did not finish the frame: {e}"))
    };
    for i in 0..frames {
        before_frame(&mut app, i);
        let tx = tx.clone();
        app.world_mut()
            .spawn(Screenshot::image(target.clone()))
            .observe(move |captured: On<ScreenshotCaptured>| {
                match &captured.image.data {
                    // Blocks while the encoder is ENCODER_QUEUE frames behind.
                    Some(data) => {
                        let _ = tx.send((i, data.clone()));
                    }
                    None => error!("frame {i}: the read-back picture has no pixels"),
                }
            });
        timed_update(&mut app, &mut timings);
        // A marker after the frame's work: waiting for it waits for this frame only.
        let marker = queue.submit([device
            .wgpu_device()
            .create_command_encoder(&default())
            .finish()]);
        if let Some(previous) = in_flight.replace(marker) {
            let waited = Instant::now();
            wait(Some(previous))?;
            timings.readback_wait += waited.elapsed();
        }
        bar.set_position(written.load(Ordering::SeqCst) as u64);
        if handle.is_finished() {
            break;
        }
    }
    // The last frames: wait for the GPU, then update (cameras off: nothing more is drawn)
    // until their pictures have reached the encoder.
    let waited = Instant::now();
    wait(None)?;
    timings.readback_wait += waited.elapsed();
    set_cameras_active(&mut app, false);
    let mut drain = 0;
    while written.load(Ordering::SeqCst) < frames as usize
        && drain < MAX_DRAIN_FRAMES
        && !handle.is_finished()
    {
        update_and_wait(&mut app)?;
        bar.set_position(written.load(Ordering::SeqCst) as u64);
        drain += 1;
        if drain > 2 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(tx);
    let passes = pass_times(&app);
    // The observers hold senders too: the encoder's input ends with the app.
    drop(app);
    let done = handle
        .join()
        .map_err(|_| anyhow::anyhow!("the encoder thread panicked"))??;
    timings.encode = done.busy;
    let got = written.load(Ordering::SeqCst) as u32;
    if got != frames {
        bail!("only {got} of {frames} frames came back from the GPU");
    }
    Ok(FrameRun {
        wall: started.elapsed(),
        cpu_seconds: process_cpu_seconds() - cpu_started,
        timings,
        video_written: done.video_written,
        passes,
    })
}

/// The render passes' mean times from Bevy's render diagnostics (empty without them): GPU
/// time where the renderer has timestamp queries, else CPU time; costliest first.
fn pass_times(app: &App) -> Vec<(String, f64)> {
    let Some(store) = app
        .world()
        .get_resource::<bevy::diagnostic::DiagnosticsStore>()
    else {
        return Vec::new();
    };
    let mut gpu = Vec::new();
    let mut cpu = Vec::new();
    for d in store.iter() {
        let path = d.path().as_str();
        let Some(pass) = path.strip_prefix("render/") else {
            continue;
        };
        let Some(mean) = d.average() else { continue };
        if let Some(name) = pass.strip_suffix("/elapsed_gpu") {
            gpu.push((name.to_string(), mean));
        } else if let Some(name) = pass.strip_suffix("/elapsed_cpu") {
            cpu.push((name.to_string(), mean));
        }
    }
    let mut passes = if gpu.is_empty() { cpu } else { gpu };
    passes.sort_by(|a, b| b.1.total_cmp(&a.1));
    passes
}

/// One app update, timed: the main schedule (simulation), then extraction and the render
/// world's schedule (submission), as [`App::update`] runs them.
fn timed_update(app: &mut App, timings: &mut FrameTimings) {
    let sub_apps = app.sub_apps_mut();
    let started = Instant::now();
    sub_apps.main.run_default_schedule();
    let simulated = Instant::now();
    for sub_app in sub_apps.sub_apps.values_mut() {
        sub_app.extract(sub_apps.main.world_mut());
        sub_app.update();
    }
    sub_apps.main.world_mut().clear_trackers();
    timings.simulation += simulated - started;
    timings.submission += simulated.elapsed();
}

/// Bevy's default plugins for rendering without a window, driven frame by frame: no winit, no
/// pipelined rendering (frames finish in order), pipelines compiled before they are used.
pub fn headless_render_plugins() -> bevy::app::PluginGroupBuilder {
    DefaultPlugins
        .set(WindowPlugin {
            primary_window: None,
            exit_condition: ExitCondition::DontExit,
            ..default()
        })
        .set(RenderPlugin {
            synchronous_pipeline_compilation: true,
            ..default()
        })
        .set(LogPlugin {
            filter: "wgpu=error,naga=warn,bevy_render=warn,bevy_ecs=warn,offset_allocator=warn"
                .into(),
            ..default()
        })
        .disable::<WinitPlugin>()
        .disable::<PipelinedRenderingPlugin>()
}

fn build_app(
    show: ShowFile,
    width: u32,
    height: u32,
    quality: QualityRequest,
    backdrop: Backdrop,
    pass_timings: bool,
) -> anyhow::Result<App> {
    let mut app = App::new();
    register_avatar_source(&mut app, &show)?;
    app.add_plugins(headless_render_plugins());
    if pass_timings {
        app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
    }
    ling_broadcast::insert_program(&mut app, (width, height), quality, backdrop);
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::ZERO));
    app.add_plugins(LingStagePlugins);
    crate::check_show_effects(&app, &show)?;
    insert_show(&mut app, show, ClockMode::External, false);
    app.finish();
    app.cleanup();
    if app.world().get_resource::<RenderDevice>().is_none() {
        bail!(
            "no render device: install Mesa's Vulkan driver (apt-get install mesa-vulkan-drivers)"
        );
    }
    Ok(app)
}

/// Renders `frames` frames of a bare Bevy scene — one lit mesh (a turning cube, one
/// directional light without shadows) and a camera with `quality`'s MSAA — at
/// `width`×`height` through the same loop, read-back and encoder thread as a show, dropping
/// the pictures: the yardstick `bench --only render` measures the show against. With
/// `fill_frame`, a lit wall of the same material fills the view behind the cube, so every
/// pixel is shaded as in a stage picture.
pub fn render_bare_scene(
    width: u32,
    height: u32,
    frames: u32,
    quality: StageQuality,
    pass_timings: bool,
    fill_frame: bool,
) -> anyhow::Result<RenderReport> {
    use bevy::camera::RenderTarget;
    use bevy::render::view::Msaa;
    let mut app = App::new();
    app.add_plugins(headless_render_plugins());
    if pass_timings {
        app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
    }
    let image = {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        ling_broadcast::program_image(&mut images, width, height)
    };
    app.finish();
    app.cleanup();
    if app.world().get_resource::<RenderDevice>().is_none() {
        bail!(
            "no render device: install Mesa's Vulkan driver (apt-get install mesa-vulkan-drivers)"
        );
    }
    let world = app.world_mut();
    let mesh = world.resource_mut::<Assets<Mesh>>().add(Cuboid::default());
    let material = world
        .resource_mut::<Assets<StandardMaterial>>()
        .add(StandardMaterial::default());
    let cube = world
        .spawn((
            Mesh3d(mesh),
            MeshMaterial3d(material.clone()),
            Transform::default(),
        ))
        .id();
    if fill_frame {
        // A lit wall behind the cube, larger than the view: every pixel is shaded once.
        let wall = world
            .resource_mut::<Assets<Mesh>>()
            .add(Plane3d::new(Vec3::Z, Vec2::splat(40.0)));
        world.spawn((
            Mesh3d(wall),
            MeshMaterial3d(material),
            Transform::from_xyz(0.0, 0.0, -3.0),
        ));
    }
    world.spawn((
        DirectionalLight::default(),
        Transform::from_xyz(3.0, 7.0, 9.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    world.spawn((
        Camera3d::default(),
        RenderTarget::Image(image.clone().into()),
        match quality.msaa_samples {
            1 => Msaa::Off,
            2 => Msaa::Sample2,
            8 => Msaa::Sample8,
            _ => Msaa::Sample4,
        },
        Transform::from_xyz(0.0, 1.5, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    let mut warmup = 0;
    let mut idle = 0;
    while warmup < MAX_WARMUP_FRAMES && (warmup < MIN_WARMUP_FRAMES || idle < 3) {
        update_and_wait(&mut app)?;
        warmup += 1;
        idle = if stage_loading_pipelines(&app) == 0 {
            idle + 1
        } else {
            0
        };
    }
    let encoder = Encoder::start(EncoderJob {
        width,
        height,
        fill: BackdropFill::Stage,
        video: None,
        png_dir: None,
        discard: true,
    })?;
    let run = run_frames(
        app,
        &image,
        frames,
        encoder,
        &indicatif::ProgressBar::hidden(),
        |app, i| {
            if let Some(mut t) = app.world_mut().get_mut::<Transform>(cube) {
                *t = Transform::from_rotation(Quat::from_rotation_y(i as f32 * 0.05));
            }
        },
    )?;
    Ok(RenderReport {
        frames,
        warmup_frames: warmup,
        render_seconds: run.wall.as_secs_f64(),
        cpu_seconds: run.cpu_seconds,
        video: None,
        frames_dir: None,
        note: None,
        timings: run.timings,
        passes: run.passes,
    })
}

fn stage_loading_pipelines(app: &App) -> usize {
    app.sub_app(RenderApp)
        .world()
        .resource::<PipelineCache>()
        .waiting_pipelines()
        .count()
}

/// Resident memory of this process in bytes (Linux), for load measurements.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Loads `avatar` into a headless render app on the empty stage: how long until its rig is
/// bound, and how much resident memory that added (meshes, textures, GPU-side copies on a
/// software renderer).
pub fn measure_avatar_load(avatar: &Path) -> anyhow::Result<(Duration, i64)> {
    let empty = ShowFile {
        performer: ling_core::show::PerformerSpec::None,
        ..default()
    };
    let mut app = build_app(
        empty,
        64,
        64,
        QualityRequest::fixed(StageQuality::DRAFT),
        Backdrop::default(),
        false,
    )?;
    for _ in 0..MIN_WARMUP_FRAMES {
        update_and_wait(&mut app)?;
    }
    let before = resident_bytes().unwrap_or(0) as i64;
    let started = Instant::now();
    app.world_mut()
        .write_message(ling_core::show::DirectorCommand::SwitchPerformer(
            ling_core::show::PerformerSpec::Avatar {
                path: avatar.to_owned(),
            },
        ));
    update_and_wait(&mut app)?;
    while avatar_loading(app.world_mut()) {
        if started.elapsed() > AVATAR_TIMEOUT {
            bail!(
                "{} did not load within {} s",
                avatar.display(),
                AVATAR_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
        update_and_wait(&mut app)?;
    }
    let took = started.elapsed();
    update_and_wait(&mut app)?;
    let after = resident_bytes().unwrap_or(0) as i64;
    Ok((took, after - before))
}

/// What the stage still waits for: render pipelines compiling, and whether the avatar is
/// loading.
pub(crate) fn stage_loading(app: &mut App) -> (usize, bool) {
    let pending = app
        .sub_app(RenderApp)
        .world()
        .resource::<PipelineCache>()
        .waiting_pipelines()
        .count();
    (pending, avatar_loading(app.world_mut()))
}

/// Runs one frame and waits for the GPU to finish it (a software renderer only makes progress
/// when polled).
pub(crate) fn update_and_wait(app: &mut App) -> anyhow::Result<()> {
    app.update();
    app.world()
        .resource::<RenderDevice>()
        .wgpu_device()
        .poll(PollType::Wait {
            submission_index: None,
            timeout: None,
        })
        .map_err(|e| anyhow::anyhow!("GPU did not finish the frame: {e}"))?;
    Ok(())
}

fn progress_bar(len: u64, visible: bool, name: &str) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:32}] {pos}/{len} frames  {per_sec}  {elapsed_precise} elapsed, {eta_precise} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("rendering \"{name}\""));
    bar
}

/// Encodes `dir/frame_%05d.png` to `out` with ffmpeg (H.264, yuv420p for players everywhere),
/// with the show's audio from `audio.1` seconds in, so sound and picture stay in sync.
pub fn encode(dir: &Path, fps: u32, out: &Path, audio: Option<(&Path, f64)>) -> anyhow::Result<()> {
    encode_as(dir, fps, out, audio, VideoFormat::H264, None)
}

fn has_encoder(name: &str) -> bool {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(name))
        })
        .unwrap_or(false)
}

/// Whether ffmpeg runs here; the error says how to install it.
fn ffmpeg_installed() -> anyhow::Result<()> {
    let version = Command::new("ffmpeg").arg("-version").output();
    if !matches!(&version, Ok(o) if o.status.success()) {
        bail!("ffmpeg is not installed (apt-get install ffmpeg)");
    }
    Ok(())
}

/// ffmpeg's arguments before its inputs: overwrite the partial file, errors only.
fn base_args() -> Vec<String> {
    ["-y", "-hide_banner", "-loglevel", "error"]
        .iter()
        .map(|a| a.to_string())
        .collect()
}

/// ffmpeg's arguments after the picture input, up to (not including) the output file: the
/// show's audio from `audio.1` seconds in (AAC; Opus in WebM) padded to the picture's length,
/// and the video codec for `format` at `kbps` (or constant quality). Fails when this ffmpeg
/// lacks the encoder `format` needs.
fn output_args(
    out: &Path,
    audio: Option<(&Path, f64)>,
    format: VideoFormat,
    kbps: Option<u32>,
) -> anyhow::Result<Vec<String>> {
    let rate = |kbps: u32| -> Vec<String> {
        vec![
            "-b:v".into(),
            format!("{kbps}k"),
            "-maxrate".into(),
            format!("{kbps}k"),
            "-bufsize".into(),
            format!("{}k", kbps * 2),
        ]
    };
    let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<String>>();
    let mut codec: Vec<String> = match format {
        VideoFormat::H264 if has_encoder("libx264") => {
            let mut a = args(&["-c:v", "libx264", "-preset", "medium"]);
            a.extend(kbps.map_or_else(|| args(&["-crf", "18"]), rate));
            a.extend(args(&["-pix_fmt", "yuv420p"]));
            a
        }
        VideoFormat::H264 => {
            let mut a = args(&["-c:v", "mpeg4"]);
            a.extend(kbps.map_or_else(|| args(&["-q:v", "3"]), rate));
            a.extend(args(&["-pix_fmt", "yuv420p"]));
            a
        }
        VideoFormat::Vp9 | VideoFormat::Vp9Alpha => {
            if !has_encoder("libvpx-vp9") {
                bail!(
                    "this ffmpeg has no VP9 encoder (libvpx-vp9) for {}",
                    out.display()
                );
            }
            let pix = if format == VideoFormat::Vp9Alpha {
                "yuva420p"
            } else {
                "yuv420p"
            };
            let mut a = args(&["-c:v", "libvpx-vp9", "-pix_fmt", pix, "-crf", "30"]);
            // Constrained quality at the preset's bitrate, else constant quality.
            let bitrate = kbps.map_or_else(|| "0".to_string(), |k| format!("{k}k"));
            a.extend(args(&["-b:v", bitrate.as_str()]));
            a.extend(args(&["-row-mt", "1"]));
            a
        }
        VideoFormat::ProRes4444 => {
            if !has_encoder("prores_ks") {
                bail!(
                    "this ffmpeg has no ProRes encoder (prores_ks) for {}",
                    out.display()
                );
            }
            args(&[
                "-c:v",
                "prores_ks",
                "-profile:v",
                "4444",
                "-pix_fmt",
                "yuva444p10le",
                "-vendor",
                "apl0",
            ])
        }
    };
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if matches!(ext.as_deref(), Some("mp4" | "mov")) {
        codec.extend(args(&["-movflags", "+faststart"]));
    }
    let audio_codec = if ext.as_deref() == Some("webm") {
        ["libopus", "160k"]
    } else {
        ["aac", "192k"]
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut all = match audio {
        Some((path, start)) => vec![
            "-ss".to_string(),
            format!("{start:.6}"),
            "-i".to_string(),
            path.display().to_string(),
            "-map".into(),
            "0:v".into(),
            "-map".into(),
            "1:a".into(),
            "-c:a".into(),
            audio_codec[0].into(),
            "-b:a".into(),
            audio_codec[1].into(),
            // Pad the audio with silence so the video keeps every frame.
            "-af".into(),
            "apad".into(),
            "-shortest".into(),
        ],
        None => Vec::new(),
    };
    all.extend(codec);
    Ok(all)
}

/// Encodes `dir/frame_%05d.png` to `out` with ffmpeg in `format`, at `kbps` (or constant
/// quality), with the show's audio from `audio.1` seconds in (AAC; Opus in WebM). ffmpeg
/// writes [`partial_path`]`(out)`, renamed to `out` when it succeeds and removed when it fails;
/// it is killed if this process dies. (A render pipes its frames to ffmpeg instead, with the
/// same codec and audio arguments.)
pub fn encode_as(
    dir: &Path,
    fps: u32,
    out: &Path,
    audio: Option<(&Path, f64)>,
    format: VideoFormat,
    kbps: Option<u32>,
) -> anyhow::Result<()> {
    ffmpeg_installed()?;
    let tail = output_args(out, audio, format, kbps)?;
    let partial = partial_path(out);
    let mut command = Command::new("ffmpeg");
    // An encoder whose render died has nothing to finish: its partial file is discarded.
    #[cfg(unix)]
    ling_broadcast::session::end_with_parent(&mut command, libc::SIGKILL);
    let output = command
        .args(base_args())
        .arg("-framerate")
        .arg(fps.to_string())
        .arg("-i")
        .arg(dir.join("frame_%05d.png"))
        .args(tail)
        .arg(&partial)
        .output()
        .context("cannot run ffmpeg")?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "ffmpeg failed to encode {}: {}",
            out.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::rename(&partial, out).with_context(|| {
        format!(
            "cannot rename the finished video {} to {}",
            partial.display(),
            out.display()
        )
    })
}

/// Seconds a mid-show render plays before its start without drawing.
const PREROLL_SECONDS: f64 = 2.0;

fn set_cameras_active(app: &mut App, active: bool) {
    let world = app.world_mut();
    let mut cameras = world.query::<&mut Camera>();
    for mut camera in cameras.iter_mut(world) {
        camera.is_active = active;
    }
}
