//! Offline rendering: the show through the normal render pipeline on a fixed step, frame by
//! frame, to PNG files and then (with ffmpeg) to a video: H.264 (`.mp4`, `.mov`, `.mkv`) or VP9
//! (`.webm`), or with a transparent background ProRes 4444 (`.mov`) or VP9 with alpha (`.webm`).
//!
//! A keyed render ([`RenderOptions::backdrop`]) clears the stage camera to transparent and
//! hides the set as asked; the read-back picture (premultiplied by coverage) is then written
//! either with straight alpha ([`BackdropFill::Transparent`]) or laid over an exact key colour
//! ([`BackdropFill::Key`]).
//!
//! The loop is driven from here rather than by a runner: set the clock to frame `i / fps`,
//! request a screenshot of the stage camera's image, update the app, wait for the GPU. The
//! frame time is fixed (`TimeUpdateStrategy::ManualDuration`) and held at zero while pipelines
//! compile, so the same show renders the same frames however long warm-up takes.
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
use bevy::render::renderer::RenderDevice;
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
use ling_set::keying::{Backdrop, BackdropFill, key_over, unpremultiply};
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
    /// The MP4, if ffmpeg encoded one.
    pub video: Option<PathBuf>,
    /// The PNG frames, if kept (asked for, or no ffmpeg).
    pub frames_dir: Option<PathBuf>,
    /// Why there is no video, if there is none.
    pub note: Option<String>,
}

impl RenderReport {
    /// Frames rendered per second of wall time.
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.render_seconds.max(1e-9)
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
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = show.name.clone();

    let motion = MotionPlayer::for_show(&show)?;
    let track = ling_audio::AudioTrack::for_show(&show)?;
    let audio_path = track.as_ref().map(|t| t.path.clone());
    let mut app = build_app(show, width, height, options.quality, options.backdrop)?;
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

    // PNG encoding happens on a writer thread so the render loop never waits on the disk.
    // The read-back picture is premultiplied by coverage (see `ling_set::keying`): keyed frames
    // are finished here, off the render loop.
    let (tx, rx) = crossbeam_channel::bounded::<(u32, image::RgbaImage)>(8);
    let written = Arc::new(AtomicUsize::new(0));
    let fill = options.backdrop.fill;
    let writer = {
        let dir = dir.clone();
        let written = written.clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            for (i, mut frame) in rx {
                let path = frame_path(&dir, i);
                // Written under a hidden name, then renamed: a frame file is whole or absent.
                let part = dir.join(format!(".frame_{i:05}.png.part"));
                let frame = match fill {
                    BackdropFill::Stage => {
                        image::DynamicImage::ImageRgba8(frame).into_rgb8().into()
                    }
                    BackdropFill::Transparent => {
                        unpremultiply(&mut frame);
                        image::DynamicImage::ImageRgba8(frame)
                    }
                    BackdropFill::Key(key) => {
                        key_over(&mut frame, key);
                        image::DynamicImage::ImageRgba8(frame).into_rgb8().into()
                    }
                };
                frame
                    .save_with_format(&part, image::ImageFormat::Png)
                    .with_context(|| format!("cannot write frame {}", part.display()))?;
                std::fs::rename(&part, &path)
                    .with_context(|| format!("cannot write frame {}", path.display()))?;
                written.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })
    };

    let bar = progress_bar(frames as u64, options.progress, &name);
    let started = Instant::now();
    for i in 0..frames {
        {
            let mut clock = app.world_mut().resource_mut::<ShowClock>();
            clock.time = options.start + i as f64 / fps as f64;
            clock.playing = true;
        }
        let tx = tx.clone();
        app.world_mut()
            .spawn(Screenshot::image(target.clone()))
            .observe(move |captured: On<ScreenshotCaptured>| {
                match captured.image.clone().try_into_dynamic() {
                    Ok(img) => {
                        let _ = tx.send((i, img.into_rgba8()));
                    }
                    Err(e) => error!("frame {i}: cannot read back the rendered image: {e}"),
                }
            });
        update_and_wait(&mut app)?;
        bar.set_position(written.load(Ordering::SeqCst) as u64);
    }
    let mut drain = 0;
    while written.load(Ordering::SeqCst) < frames as usize && drain < MAX_DRAIN_FRAMES {
        update_and_wait(&mut app)?;
        bar.set_position(written.load(Ordering::SeqCst) as u64);
        drain += 1;
        if drain > 2 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(tx);
    drop(app);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the frame writer thread panicked"))??;
    let render_seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let done = written.load(Ordering::SeqCst) as u32;
    if done != frames {
        bail!(
            "only {done} of {frames} frames came back from the GPU; frames so far are in {}",
            dir.display()
        );
    }

    let mut report = RenderReport {
        frames,
        warmup_frames: warmup,
        render_seconds,
        video: None,
        frames_dir: Some(dir.clone()),
        note: None,
    };
    let Some(format) = format else {
        report.note = Some(format!(
            "{} is not a video file name (.mp4/.mov/.mkv/.webm): PNG frames only",
            options.out.display()
        ));
        return Ok(report);
    };
    match encode_as(
        &dir,
        fps,
        &options.out,
        audio_path.as_deref().map(|p| (p, options.start)),
        format,
        options.video_kbps,
    ) {
        Ok(()) => {
            report.video = Some(options.out.clone());
            if !options.keep_frames {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
                report.frames_dir = None;
            }
        }
        Err(e) => report.note = Some(format!("no video: {e}; the PNG frames are kept")),
    }
    Ok(report)
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
) -> anyhow::Result<App> {
    let mut app = App::new();
    register_avatar_source(&mut app, &show)?;
    app.add_plugins(headless_render_plugins());
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

/// Encodes `dir/frame_%05d.png` to `out` with ffmpeg in `format`, at `kbps` (or constant
/// quality), with the show's audio from `audio.1` seconds in (AAC; Opus in WebM). ffmpeg
/// writes [`partial_path`]`(out)`, renamed to `out` when it succeeds and removed when it fails;
/// it is killed if this process dies.
pub fn encode_as(
    dir: &Path,
    fps: u32,
    out: &Path,
    audio: Option<(&Path, f64)>,
    format: VideoFormat,
    kbps: Option<u32>,
) -> anyhow::Result<()> {
    let version = Command::new("ffmpeg").arg("-version").output();
    if !matches!(&version, Ok(o) if o.status.success()) {
        bail!("ffmpeg is not installed (apt-get install ffmpeg)");
    }
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
    let partial = partial_path(out);
    let mut command = Command::new("ffmpeg");
    // An encoder whose render died has nothing to finish: its partial file is discarded.
    #[cfg(unix)]
    ling_broadcast::session::end_with_parent(&mut command, libc::SIGKILL);
    let output = command
        .args(["-y", "-hide_banner", "-loglevel", "error", "-framerate"])
        .arg(fps.to_string())
        .arg("-i")
        .arg(dir.join("frame_%05d.png"))
        .args(match audio {
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
        })
        .args(codec)
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
