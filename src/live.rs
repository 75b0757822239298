//! The live show on wall-clock time: the console window (director panel and program monitor)
//! and the program window (the picture alone, for capture, projection or fullscreen), or both
//! docked in one window. The stage renders into the program image, which both windows show
//! and the outputs (`--out`) send.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy::window::{ExitCondition, PresentMode, WindowResolution};
use bevy_egui::EguiPlugin;

use crate::LingStagePlugins;
use crate::doctor::display_available;
use ling_broadcast::{OutputSpec, ProgramAudio, ProgramOutputs};
use ling_core::show::{ClockMode, DirectorCommand, ShowFile, insert_show};
use ling_director::{ConsoleLayout, ProgramWindow};
use ling_mocap::MotionPlayer;
use ling_mocap::take::Recording;
use ling_mocap::vmc_source::VmcSettings;
use ling_performer::avatar_scene::register_avatar_source;
use ling_set::keying::Backdrop;

/// How a live show runs: automation for tests, VMC, recording, microphone and tracking.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Save a screenshot of the console window (panel and program monitor) at this
    /// wall-clock time.
    pub screenshot: Option<(PathBuf, f64)>,
    /// Save a screenshot of the program window at this wall-clock time.
    pub program_screenshot: Option<(PathBuf, f64)>,
    /// Close the window after this many wall-clock seconds.
    pub quit_after: Option<f64>,
    /// Loop the show (default for live).
    pub looping: bool,
    /// VMC input and output addresses.
    pub vmc: VmcSettings,
    /// Start recording a take as soon as the show starts.
    pub record_now: bool,
    /// Folder new takes go in.
    pub takes_dir: PathBuf,
    /// The show file (stored in takes).
    pub show_path: PathBuf,
    /// Listen to a microphone for lip sync: `Some(None)` is the default device.
    pub microphone: Option<Option<String>>,
    /// Face and hand tracking from a webcam or a video/image file played as the camera.
    pub tracking: Option<ling_tracking::live::TrackingInput>,
    /// iPhone face capture (and a Live Link Face CSV take played as the face).
    pub iphone: ling_tracking::iphone::IphoneSettings,
    /// The program picture's size in pixels.
    pub program_size: (u32, u32),
    /// Picture quality (by default draft on a software renderer, final on a GPU).
    pub quality: ling_set::QualityRequest,
    /// A separate program window (`false`: the picture docked in the console).
    pub program_window: bool,
    /// Open the program window fullscreen on this monitor.
    pub fullscreen: Option<usize>,
    /// Background and set pieces (keying).
    pub backdrop: Backdrop,
    /// Outputs; on air from the start when there are any.
    pub outputs: Vec<OutputSpec>,
    /// Remote control over OSC, if asked for.
    pub remote: Option<ling_remote::RemoteSettings>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            screenshot: None,
            program_screenshot: None,
            quit_after: None,
            looping: true,
            vmc: VmcSettings::default(),
            record_now: false,
            takes_dir: PathBuf::from("takes"),
            show_path: PathBuf::new(),
            microphone: None,
            tracking: None,
            iphone: default(),
            program_size: (1280, 720),
            quality: default(),
            program_window: true,
            fullscreen: None,
            backdrop: Backdrop::default(),
            outputs: Vec::new(),
            remote: None,
        }
    }
}

/// Scripted screenshot and exit, for tests and documentation.
#[derive(Resource, Clone)]
struct Automation {
    options: LiveOptions,
    /// Set by the screenshot observers once the PNGs are written.
    saved: Arc<AtomicBool>,
    program_saved: Arc<AtomicBool>,
}

/// How long past `quit_after` to wait for a requested screenshot before giving up.
const SCREENSHOT_GRACE_SECONDS: f64 = 60.0;

/// Opens the live window and runs `show` until the window closes (or `quit_after`). Says so, without panicking, when there is no display.
pub fn run(show: ShowFile, options: LiveOptions) -> anyhow::Result<()> {
    if !display_available() {
        bail!(
            "no display: the live stage needs a window (DISPLAY is not set). Run it under a desktop session, \
             or `xvfb-run -a ling-stage live`, or render offline with `ling-stage render`"
        );
    }
    let motion = MotionPlayer::for_show(&show)?;
    let track = ling_audio::AudioTrack::for_show(&show)?;
    let title = format!("Ling Stage — {} — console", show.name);
    let audio = track.as_ref().and_then(|track| {
        ProgramAudio::for_track(track)
            .map_err(|e| warn!("the outputs will be silent: {e}"))
            .ok()
    });
    let mut app = App::new();
    register_avatar_source(&mut app, &show)?;
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title,
                    resolution: WindowResolution::new(1280, 720),
                    present_mode: PresentMode::AutoVsync,
                    ..default()
                }),
                // Closing the console ends the show; the program window alone does not.
                exit_condition: ExitCondition::OnPrimaryClosed,
                ..default()
            })
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            }),
    )
    .set_error_handler(bevy::ecs::error::warn);
    ling_broadcast::insert_program(
        &mut app,
        options.program_size,
        options.quality,
        options.backdrop,
    );
    app.insert_resource(ConsoleLayout {
        program_window: options.program_window,
        fullscreen: options.fullscreen,
        title: format!("Ling Stage — {} — program", show.name),
    })
    .insert_resource(if options.outputs.is_empty() {
        ProgramOutputs::default()
    } else {
        ProgramOutputs::on_air(options.outputs.clone())
    });
    if let Some(audio) = audio {
        app.insert_resource(audio);
    }
    app.add_plugins(EguiPlugin::default())
        .add_plugins(LingStagePlugins)
        .add_plugins(ling_broadcast::plugin)
        .add_plugins(ling_director::plugin)
        .add_plugins(ling_remote::plugin)
        .insert_resource(motion)
        .insert_resource(options.vmc.clone())
        .insert_resource(options.iphone.clone())
        .insert_resource(Automation {
            options: options.clone(),
            saved: Arc::new(AtomicBool::new(options.screenshot.is_none())),
            program_saved: Arc::new(AtomicBool::new(options.program_screenshot.is_none())),
        })
        .add_systems(Update, automate)
        .add_systems(Last, report_frame_rate);
    let camera_mouth = show.camera_mouth;
    crate::check_show_effects(&app, &show)?;
    insert_show(&mut app, show, ClockMode::Realtime, options.looping);
    if let Some(track) = track {
        app.insert_resource(track);
    }
    if let Some(remote) = &options.remote {
        app.insert_resource(remote.clone());
    }
    if let Some(input) = &options.tracking {
        let mut tracking = ling_tracking::live::TrackingSettings::with_input(input.clone());
        tracking.tuning.mouth_from_camera = camera_mouth;
        app.insert_resource(tracking);
    }
    app.insert_resource(ling_audio::AudioSettings {
        playback: true,
        microphone: options.microphone.clone(),
    });
    {
        let mut recording = app.world_mut().resource_mut::<Recording>();
        recording.takes_dir = options.takes_dir.clone();
        recording.show_path = options.show_path.clone();
    }
    if options.record_now {
        app.add_systems(Startup, |mut out: MessageWriter<DirectorCommand>| {
            out.write(DirectorCommand::StartRecording);
        });
    }
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => bail!("the live stage stopped with error code {code}"),
    }
}

/// When the console closes: how many frames it drew and at what rate (the console and the
/// program are drawn in the same frames), so an operator can tell how the machine kept up.
fn report_frame_rate(
    exit: MessageReader<AppExit>,
    frames: Res<bevy::diagnostic::FrameCount>,
    time: Res<Time<Real>>,
    mut said: Local<bool>,
) {
    if exit.is_empty() || *said {
        return;
    }
    *said = true;
    let seconds = time.elapsed_secs_f64().max(1e-6);
    info!(
        "live: {} frames in {seconds:.1} s ({:.1} frames/s)",
        frames.0,
        frames.0 as f64 / seconds
    );
}

/// Asks for a screenshot of `shot` that raises `saved` once written to `path`.
fn request_screenshot(
    commands: &mut Commands,
    shot: Screenshot,
    path: PathBuf,
    saved: Arc<AtomicBool>,
) {
    let mut save = save_to_disk(path.clone());
    commands
        .spawn(shot)
        .observe(move |captured: On<ScreenshotCaptured>| {
            save(captured);
            saved.store(true, Ordering::SeqCst);
        });
    info!("screenshot requested: {}", path.display());
}

fn automate(
    mut commands: Commands,
    time: Res<Time<Real>>,
    mut automation: ResMut<Automation>,
    program: Option<Res<ProgramWindow>>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = time.elapsed_secs_f64();
    if let Some((path, at)) = automation.options.screenshot.clone() {
        if now >= at {
            let saved = automation.saved.clone();
            request_screenshot(&mut commands, Screenshot::primary_window(), path, saved);
            automation.options.screenshot = None;
        }
    }
    if let Some((path, at)) = automation.options.program_screenshot.clone() {
        if now >= at {
            let saved = automation.program_saved.clone();
            match &program {
                Some(window) => {
                    request_screenshot(&mut commands, Screenshot::window(window.0), path, saved)
                }
                None => {
                    warn!("no program window to screenshot (docked layout)");
                    saved.store(true, Ordering::SeqCst);
                }
            }
            automation.options.program_screenshot = None;
        }
    }
    if let Some(quit) = automation.options.quit_after {
        let saved = automation.saved.load(Ordering::SeqCst)
            && automation.program_saved.load(Ordering::SeqCst);
        if now >= quit && (saved || now >= quit + SCREENSHOT_GRACE_SECONDS) {
            if !saved {
                warn!("quitting without the requested screenshot: it never arrived");
            }
            exit.write(AppExit::Success);
        }
    }
}
