//! The live show: a window with the stage and the director panel, on wall-clock time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy::window::{PresentMode, WindowResolution};
use bevy_egui::EguiPlugin;

use crate::LingStagePlugins;
use crate::doctor::display_available;
use ling_core::show::{ClockMode, DirectorCommand, ShowFile, insert_show};
use ling_mocap::MotionPlayer;
use ling_mocap::take::Recording;
use ling_mocap::vmc_source::VmcSettings;
use ling_performer::avatar_scene::register_avatar_source;

/// How a live show runs: automation for tests, VMC, recording, microphone and tracking.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Save a screenshot of the whole window (stage and panel) at this wall-clock time.
    pub screenshot: Option<(PathBuf, f64)>,
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
}

/// Scripted screenshot and exit, for tests and documentation.
#[derive(Resource, Clone)]
struct Automation {
    options: LiveOptions,
    /// Set by the screenshot observer once the PNG is written.
    saved: Arc<AtomicBool>,
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
    let title = format!("Ling Stage — {}", show.name);
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
                ..default()
            })
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            }),
    )
    .set_error_handler(bevy::ecs::error::warn)
    .add_plugins(EguiPlugin::default())
    .add_plugins(LingStagePlugins)
    .add_plugins(ling_director::plugin)
    .insert_resource(motion)
    .insert_resource(options.vmc.clone())
    .insert_resource(Automation {
        options: options.clone(),
        saved: Arc::new(AtomicBool::new(options.screenshot.is_none())),
    })
    .add_systems(Update, automate);
    let camera_mouth = show.camera_mouth;
    crate::check_show_effects(&app, &show)?;
    insert_show(&mut app, show, ClockMode::Realtime, options.looping);
    if let Some(track) = track {
        app.insert_resource(track);
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

fn automate(
    mut commands: Commands,
    time: Res<Time<Real>>,
    mut automation: ResMut<Automation>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = time.elapsed_secs_f64();
    if let Some((path, at)) = automation.options.screenshot.clone() {
        if now >= at {
            let saved = automation.saved.clone();
            let mut save = save_to_disk(path.clone());
            commands.spawn(Screenshot::primary_window()).observe(
                move |captured: On<ScreenshotCaptured>| {
                    save(captured);
                    saved.store(true, Ordering::SeqCst);
                },
            );
            automation.options.screenshot = None;
            info!("screenshot requested: {}", path.display());
        }
    }
    if let Some(quit) = automation.options.quit_after {
        let saved = automation.saved.load(Ordering::SeqCst);
        if now >= quit && (saved || now >= quit + SCREENSHOT_GRACE_SECONDS) {
            if !saved {
                warn!("quitting without the requested screenshot: it never arrived");
            }
            exit.write(AppExit::Success);
        }
    }
}
