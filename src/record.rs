//! `ling-stage record`: a show run headless in real time, recorded as a take.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;
use ling_core::AppSystems;
use ling_core::show::{ClockMode, DirectorCommand, ShowFile, insert_show};
use ling_mocap::MotionPlayer;
use ling_mocap::take::Recording;
use ling_mocap::vmc_source::VmcSettings;

/// Runs a show headless in real time and records it (and any VMC input) as a take in
/// `takes_dir`: for capture sessions that need no picture. Stops after `seconds`, or when the
/// process is ended (the take then keeps everything up to its last checkpoint). A recording
/// that fails (the disk fills up) ends the command with that error, which names the take and
/// what it keeps: recording is all this command does.
pub fn record_headless(
    show: ShowFile,
    show_path: &Path,
    takes_dir: &Path,
    seconds: Option<f64>,
    motion: MotionPlayer,
    vmc: VmcSettings,
    iphone: ling_tracking::iphone::IphoneSettings,
) -> anyhow::Result<()> {
    use bevy::app::ScheduleRunnerPlugin;
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_secs_f64(
            1.0 / 60.0,
        ))),
        TransformPlugin,
        crate::LingStagePlugins,
    ));
    crate::check_show_effects(&app, &show)?;
    insert_show(&mut app, show, ClockMode::Realtime, true);
    app.insert_resource(motion)
        .insert_resource(vmc)
        .insert_resource(iphone);
    {
        let mut recording = app.world_mut().resource_mut::<Recording>();
        recording.takes_dir = takes_dir.to_owned();
        recording.show_path = show_path.to_owned();
    }
    app.add_systems(Startup, |mut out: MessageWriter<DirectorCommand>| {
        out.write(DirectorCommand::StartRecording);
    });
    app.insert_resource(StopAfter(seconds));
    let failure = Failure::default();
    app.insert_resource(failure.clone());
    app.add_systems(Update, stop_after.after(AppSystems::Capture));
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => match failure.0.lock().ok().and_then(|mut f| f.take()) {
            Some(message) => anyhow::bail!("{message}"),
            None => anyhow::bail!("recording stopped with error code {code}"),
        },
    }
}

#[derive(Resource)]
struct StopAfter(Option<f64>);

/// Why the recording failed, handed out of the app when it exits.
#[derive(Resource, Clone, Default)]
struct Failure(Arc<Mutex<Option<String>>>);

fn stop_after(
    time: Res<Time<Real>>,
    limit: Res<StopAfter>,
    mut recording: ResMut<Recording>,
    failure: Res<Failure>,
    mut exit: MessageWriter<AppExit>,
    mut announced: Local<bool>,
) {
    if let Some(r) = &recording.recorder {
        if !*announced {
            println!("recording take to {}", r.dir.display());
            *announced = true;
        }
    } else if let Some(e) = &recording.last_error {
        // The take could not start, or its writer stopped (a full disk).
        if let Ok(mut f) = failure.0.lock() {
            f.get_or_insert_with(|| e.clone());
        }
        exit.write(AppExit::error());
        return;
    }
    let Some(limit) = limit.0 else { return };
    if time.elapsed_secs_f64() >= limit {
        if let Some(r) = recording.recorder.take() {
            let dir = r.dir.clone();
            match r.stop() {
                Ok(info) => println!(
                    "take saved: {} ({} frames, {:.2} s)",
                    dir.display(),
                    info.frames,
                    info.duration
                ),
                Err(e) => eprintln!("error: {e}"),
            }
            recording.last_take = Some(dir);
        }
        exit.write(AppExit::Success);
    }
}
