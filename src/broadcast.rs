//! `ling-stage broadcast`: a show or a take played headless in real time and sent to streams,
//! files and virtual cameras, with no window (lavapipe or a GPU).
//!
//! The app is the live show without the console: the stage renders into the program image,
//! the outputs ([`ling_broadcast`]) read it back asynchronously and hand it to ffmpeg. Before
//! going on air the runner warms up with the clock held at the start (pipelines compiled, the
//! avatar loaded), so the first frame the audience sees is the show's first frame, not a
//! half-loaded stage.

use std::time::{Duration, Instant};

use anyhow::bail;
use bevy::prelude::*;
use bevy::render::renderer::RenderDevice;

use crate::LingStagePlugins;
use ling_broadcast::session::BroadcastStats;
use ling_broadcast::{BroadcastStatus, OutputSpec, ProgramAudio, ProgramOutputs};
use ling_core::show::{ClockMode, DirectorCommand, ShowClock, ShowFile, insert_show};
use ling_mocap::MotionPlayer;
use ling_mocap::vmc_source::{VmcHealth, VmcSettings};
use ling_performer::avatar_scene::register_avatar_source;
use ling_set::QualityRequest;
use ling_set::keying::Backdrop;

/// What to broadcast and how.
#[derive(Debug, Clone)]
pub struct BroadcastOptions {
    /// Where the program goes (one ffmpeg per output).
    pub outputs: Vec<OutputSpec>,
    /// Program picture size in pixels.
    pub width: u32,
    /// Program picture height in pixels.
    pub height: u32,
    /// Frame rate of the outputs.
    pub fps: u32,
    /// Picture quality (by default draft on a software renderer, final on a GPU).
    pub quality: QualityRequest,
    /// Background and set pieces (keying).
    pub backdrop: Backdrop,
    /// Stop after this many seconds on air (default: when the show ends, or never when looping).
    pub seconds: Option<f64>,
    /// Loop the show instead of ending with it.
    pub looping: bool,
    /// Print a status line every few seconds.
    pub progress: bool,
    /// Send a microphone to the outputs (and to her mouth): `Some(None)` is the default one.
    pub microphone: Option<Option<String>>,
    /// Go on air (`false` runs the same show with the outputs off, to measure their cost).
    pub on_air: bool,
    /// Remote control over OSC, if asked for.
    pub remote: Option<ling_remote::RemoteSettings>,
    /// VMC input (and output), as `live --vmc` takes it.
    pub vmc: VmcSettings,
    /// Face and hand tracking from a camera or a file played as one, as `live` takes it.
    pub tracking: Option<ling_tracking::live::TrackingInput>,
    /// iPhone face capture (and a face take), as `live` takes it.
    pub iphone: ling_tracking::iphone::IphoneSettings,
    /// Print a `stats` line (frames, frame time, output counts, resident memory) every this
    /// many seconds on air, for soak tests.
    pub stats_every: Option<f64>,
}

/// What a broadcast did.
#[derive(Debug, Clone, Default)]
pub struct BroadcastReport {
    /// Wall-clock seconds on air.
    pub wall_seconds: f64,
    /// Show-clock seconds played while on air (equal to the wall time when nothing stalled it).
    pub show_seconds: f64,
    /// Frames the renderer produced on air.
    pub frames_rendered: u64,
    /// Frames read back and handed to the outputs.
    pub frames_read: u64,
    /// Mean main-thread cost of handing a read-back frame to the outputs, in milliseconds.
    pub handoff_ms: f32,
    /// The longest wall time between two frames on air: what the show waited at most (the
    /// outputs never add to it).
    pub longest_frame: Duration,
    /// Each output's final statistics.
    pub outputs: Vec<BroadcastStats>,
    /// What the remote control did, if it was on.
    pub remote: Option<ling_remote::RemoteStatus>,
}

/// The longest frame the show clock follows in full: a slow software-rendered frame still
/// advances the show by its real length, so the broadcast stays on the wall clock.
const MAX_FRAME_SECONDS: f64 = 2.0;
const WARMUP_LIMIT: Duration = Duration::from_secs(180);

/// Broadcasts `show` until it ends, `seconds` pass, or the process is interrupted (Ctrl-C
/// stops cleanly: files are finished).
pub fn run(show: ShowFile, options: BroadcastOptions) -> anyhow::Result<BroadcastReport> {
    if options.outputs.is_empty() {
        bail!("nothing to broadcast to: give at least one --out URL");
    }
    let BroadcastOptions {
        width, height, fps, ..
    } = options;
    if width == 0 || height == 0 || fps == 0 {
        bail!("width, height and fps must be positive (got {width}×{height} at {fps} fps)");
    }
    let motion = MotionPlayer::for_show(&show)?;
    let track = ling_audio::AudioTrack::for_show(&show)?;
    let audio = track.as_ref().map(ProgramAudio::for_track).transpose()?;
    let mut app = App::new();
    register_avatar_source(&mut app, &show)?;
    app.add_plugins(crate::render::headless_render_plugins());
    ling_broadcast::insert_program(&mut app, (width, height), options.quality, options.backdrop);
    app.insert_resource(ProgramOutputs::off_air(options.outputs.clone()))
        .add_plugins(LingStagePlugins)
        .add_plugins(ling_broadcast::plugin)
        .add_plugins(ling_remote::plugin)
        .insert_resource(motion);
    if let Some(remote) = &options.remote {
        app.insert_resource(remote.clone());
    }
    app.insert_resource(options.vmc.clone())
        .insert_resource(options.iphone.clone());
    if let Some(input) = &options.tracking {
        let mut tracking = ling_tracking::live::TrackingSettings::with_input(input.clone());
        tracking.tuning.mouth_from_camera = show.camera_mouth;
        app.insert_resource(tracking);
    }
    if let Some(track) = track {
        app.insert_resource(track);
    }
    if let Some(audio) = audio {
        app.insert_resource(audio);
    }
    if options.microphone.is_some() {
        app.insert_resource(ling_audio::AudioSettings {
            playback: false,
            microphone: options.microphone.clone(),
        });
    }
    crate::check_show_effects(&app, &show)?;
    let show_duration = show.duration;
    insert_show(&mut app, show, ClockMode::Realtime, options.looping);
    app.world_mut()
        .resource_mut::<Time<Virtual>>()
        .set_max_delta(Duration::from_secs_f64(MAX_FRAME_SECONDS));
    app.finish();
    app.cleanup();
    if app.world().get_resource::<RenderDevice>().is_none() {
        bail!(
            "no render device: install Mesa's Vulkan driver (apt-get install mesa-vulkan-drivers)"
        );
    }

    warm_up(&mut app)?;
    if options.microphone.is_some() {
        // Whether the microphone opened, or why not (the show goes on with its track).
        if let Some(status) = app.world().get_resource::<ling_audio::AudioStatus>() {
            println!("sound: {}", status.summary);
        }
    }

    // On air: the clock from the top, the outputs started, a stop condition.
    let limit = options
        .seconds
        .or((!options.looping).then_some(show_duration));
    if options.on_air {
        app.world_mut().write_message(DirectorCommand::OnAir(true));
    }
    {
        let mut clock = app.world_mut().resource_mut::<ShowClock>();
        clock.time = 0.0;
        clock.playing = true;
    }
    app.insert_resource(OnAirSince {
        wall: Instant::now(),
        limit,
        progress: options.progress,
        last_print: Instant::now(),
        frames: 0,
        show_start: 0.0,
        last_frame: Instant::now(),
        longest_frame: Duration::ZERO,
        report: None,
    })
    .add_systems(Last, (count_and_stop, print_progress).chain());
    if let Some(every) = options.stats_every.filter(|s| s.is_finite() && *s > 0.0) {
        app.insert_resource(Stats::new(Duration::from_secs_f64(every)))
            .add_systems(Last, print_stats.after(count_and_stop));
    }
    if options.progress {
        println!(
            "on air: {} at {width}×{height} {fps} fps{}",
            options
                .outputs
                .iter()
                .map(|o| o.target.label())
                .collect::<Vec<_>>()
                .join(", "),
            match limit {
                Some(s) => format!(" for {s:.1} s"),
                None => " until interrupted (Ctrl-C)".into(),
            }
        );
    }
    // The frame loop: update, let the GPU finish (the software renderer only makes progress
    // when polled), then sleep to the next frame time. The readback itself stays
    // asynchronous: its pixels are handed over on a later frame.
    let period = Duration::from_secs_f64(1.0 / fps as f64);
    let exit = loop {
        let started = Instant::now();
        crate::render::update_and_wait(&mut app)?;
        if let Some(exit) = app.should_exit() {
            break exit;
        }
        if let Some(rest) = period.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    };
    let report = app
        .world_mut()
        .resource_mut::<OnAirSince>()
        .report
        .take()
        .unwrap_or_default();
    match exit {
        AppExit::Success => Ok(report),
        AppExit::Error(code) => bail!("the broadcast stopped with error code {code}"),
    }
}

/// Runs frames with the clock held at the start until every render pipeline is compiled and
/// the avatar (if any) has loaded.
fn warm_up(app: &mut App) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut idle = 0;
    let mut frames = 0;
    while idle < 3 || frames < 8 {
        {
            let mut clock = app.world_mut().resource_mut::<ShowClock>();
            clock.time = 0.0;
            clock.playing = false;
        }
        crate::render::update_and_wait(app)?;
        frames += 1;
        let (pending, loading) = crate::render::stage_loading(app);
        idle = if pending == 0 && !loading {
            idle + 1
        } else {
            0
        };
        if started.elapsed() > WARMUP_LIMIT {
            bail!(
                "the stage was not ready after {} s (pipelines compiling: {pending}, avatar loading: {loading})",
                WARMUP_LIMIT.as_secs()
            );
        }
        if loading {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// The on-air run: when it started, when it stops, and its report at the end.
#[derive(Resource)]
struct OnAirSince {
    wall: Instant,
    limit: Option<f64>,
    progress: bool,
    last_print: Instant,
    frames: u64,
    show_start: f64,
    last_frame: Instant,
    longest_frame: Duration,
    report: Option<BroadcastReport>,
}

fn count_and_stop(
    mut since: ResMut<OnAirSince>,
    clock: Res<ShowClock>,
    mut outputs: ResMut<ProgramOutputs>,
    status: Res<BroadcastStatus>,
    remote: Option<Res<ling_remote::RemoteSettings>>,
    remote_status: Res<ling_remote::RemoteStatus>,
    real: Res<Time<Real>>,
    mut exit: MessageWriter<AppExit>,
) {
    // Wall time at this frame's start, the instant the show clock was advanced to: comparing
    // with the time now would count this frame's own work as lag.
    let frame_start = real.last_update().unwrap_or_else(Instant::now);
    since.frames += 1;
    if since.frames == 1 {
        // The first on-air frame: the clocks start together here.
        since.wall = frame_start;
        since.show_start = clock.time;
        since.last_frame = Instant::now();
    }
    let gap = since.last_frame.elapsed();
    since.last_frame = Instant::now();
    since.longest_frame = since.longest_frame.max(gap);
    let wall = frame_start
        .saturating_duration_since(since.wall)
        .as_secs_f64();
    let Some(limit) = since.limit else { return };
    if wall < limit || since.report.is_some() {
        return;
    }
    let finals = outputs.stop();
    let report = BroadcastReport {
        wall_seconds: wall,
        show_seconds: clock.time - since.show_start,
        frames_rendered: since.frames,
        frames_read: status.frames_read,
        handoff_ms: status.handoff_ms,
        longest_frame: since.longest_frame,
        outputs: finals,
        remote: remote.map(|_| remote_status.clone()),
    };
    since.report = Some(report);
    exit.write(AppExit::Success);
}

fn print_progress(
    mut since: ResMut<OnAirSince>,
    status: Res<BroadcastStatus>,
    clock: Res<ShowClock>,
) {
    if !since.progress || since.last_print.elapsed() < Duration::from_secs(5) {
        return;
    }
    since.last_print = Instant::now();
    let wall = since.wall.elapsed().as_secs_f64();
    for o in &status.outputs {
        println!(
            "{:>6.1} s  show {:>6.1} s  {:?} {}: {:.1} fps sent, {} sent, {} dropped, lag {:.0} ms, {:.0} kbit/s{}",
            wall,
            clock.time,
            o.state,
            o.target,
            o.fps_sent,
            o.frames_sent,
            o.frames_dropped,
            o.encoder_lag.as_secs_f64() * 1000.0,
            o.bitrate_kbps,
            o.last_error
                .as_ref()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default()
        );
    }
}

/// Frame times gathered between two `stats` lines.
#[derive(Resource)]
struct Stats {
    every: Duration,
    started: Instant,
    last_print: Instant,
    last_frame: Option<Instant>,
    frames: u64,
    sum: Duration,
    max: Duration,
}

impl Stats {
    fn new(every: Duration) -> Self {
        Self {
            every,
            started: Instant::now(),
            last_print: Instant::now(),
            last_frame: None,
            frames: 0,
            sum: Duration::ZERO,
            max: Duration::ZERO,
        }
    }
}

/// Every `--stats-every` seconds one line of `key=value` pairs a soak script can parse: the
/// frames of the interval and their wall time (mean and max), what the outputs sent,
/// repeated and dropped so far, VMC and remote counts, tracking fps and resident memory.
fn print_stats(
    mut stats: ResMut<Stats>,
    status: Res<BroadcastStatus>,
    vmc: Option<Res<VmcHealth>>,
    remote: Res<ling_remote::RemoteStatus>,
    tracking: Option<Res<ling_tracking::TrackingStatus>>,
) {
    let now = Instant::now();
    if let Some(last) = stats.last_frame.replace(now) {
        let gap = now - last;
        stats.frames += 1;
        stats.sum += gap;
        stats.max = stats.max.max(gap);
    }
    if now - stats.last_print < stats.every {
        return;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = if stats.frames > 0 {
        ms(stats.sum) / stats.frames as f64
    } else {
        0.0
    };
    let sum = |f: fn(&BroadcastStats) -> u64| status.outputs.iter().map(f).sum::<u64>();
    let (vmc_frames, vmc_malformed) = vmc.map_or((0, 0), |v| (v.frames, v.malformed));
    println!(
        "stats t={:.1} frames={} mean_ms={mean:.1} max_ms={:.1} sent={} repeated={} dropped={} missed={} \
         vmc_frames={vmc_frames} vmc_malformed={vmc_malformed} remote_applied={} remote_malformed={} \
         tracking_fps={:.1} rss_kb={}",
        stats.started.elapsed().as_secs_f64(),
        stats.frames,
        ms(stats.max),
        sum(|o| o.frames_sent),
        sum(|o| o.frames_repeated),
        sum(|o| o.frames_dropped),
        sum(|o| o.ticks_missed),
        remote.applied,
        remote.malformed,
        tracking.map_or(0.0, |t| t.fps),
        resident_kb().unwrap_or(0),
    );
    stats.last_print = now;
    stats.frames = 0;
    stats.sum = Duration::ZERO;
    stats.max = Duration::ZERO;
}

/// This process's resident memory in kB (`VmRSS` in `/proc/self/status`), where there is one.
fn resident_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
