//! The live show: a window with the stage and the director panel, on wall-clock time.

use std::path::PathBuf;

use anyhow::bail;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::{PresentMode, WindowResolution};
use bevy_egui::EguiPlugin;

use super::{ClockMode, ShowFile, insert_show};
use crate::LingStagePlugins;
use crate::doctor::display_available;

#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Save a screenshot of the whole window (stage and panel) at this wall-clock time.
    pub screenshot: Option<(PathBuf, f64)>,
    /// Close the window after this many wall-clock seconds.
    pub quit_after: Option<f64>,
    /// Loop the show (default for live).
    pub looping: bool,
}

#[derive(Resource, Clone)]
struct Automation(LiveOptions);

pub fn run(show: ShowFile, options: LiveOptions) -> anyhow::Result<()> {
    if !display_available() {
        bail!(
            "no display: the live stage needs a window (DISPLAY is not set). Run it under a desktop session, \
             or `xvfb-run -a ling-stage live`, or render offline with `ling-stage render`"
        );
    }
    let title = format!("Ling Stage — {}", show.name);
    let mut app = App::new();
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
    .add_plugins(crate::director::plugin)
    .insert_resource(Automation(options.clone()))
    .add_systems(Update, automate);
    insert_show(&mut app, show, ClockMode::Realtime, options.looping);
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
    if let Some((path, at)) = automation.0.screenshot.clone() {
        if now >= at {
            commands
                .spawn(Screenshot::primary_window())
                .observe(save_to_disk(path.clone()));
            automation.0.screenshot = None;
            info!("screenshot requested: {}", path.display());
        }
    }
    if let Some(quit) = automation.0.quit_after {
        if now >= quit {
            exit.write(AppExit::Success);
        }
    }
}
