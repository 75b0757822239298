//! `ling-stage bench`: the numbers the README's performance section reports.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use ling_stage::LingStagePlugins;
use ling_stage::show::render::{self, RenderOptions};
use ling_stage::show::{ClockMode, ShowClock, ShowFile, insert_show};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// CPU time of whole frames of the headless show (all simulation systems, no rendering).
fn headless_frame_times(show: &ShowFile, frames: u32) -> Vec<f64> {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, TransformPlugin, LingStagePlugins));
    insert_show(&mut app, show.clone(), ClockMode::External, false);
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
        Duration::from_secs_f64(1.0 / 60.0),
    ));
    app.finish();
    app.cleanup();
    app.update();
    let mut times = Vec::with_capacity(frames as usize);
    for i in 0..frames {
        let t = (i as f64 / 60.0) % show.duration;
        app.world_mut().resource_mut::<ShowClock>().time = t;
        let start = Instant::now();
        app.update();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times
}

pub fn run(
    show_path: &Path,
    frames: u32,
    render_frames: u32,
    width: u32,
    height: u32,
) -> anyhow::Result<()> {
    let show = ShowFile::load(show_path)?;
    println!(
        "Ling Stage benchmark — {} ({})",
        show.name,
        show_path.display()
    );
    println!();
    println!("| measurement | value |");
    println!("| --- | --- |");
    let times = headless_frame_times(&show, frames.max(1));
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "| headless show frame, CPU (mean of {}) | {:.3} ms |",
        times.len(),
        mean
    );
    println!(
        "| headless show frame, CPU (p50 / p95 / max) | {:.3} / {:.3} / {:.3} ms |",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 1.0)
    );
    if render_frames > 0 {
        let dir = tempfile::tempdir()?;
        let options = RenderOptions {
            out: dir.path().join("bench.png"),
            width,
            height,
            fps: 30,
            frames: Some(render_frames),
            start: 2.0,
            keep_frames: true,
            progress: false,
            msaa_samples: 4,
        };
        let report = render::render(show, &options)?;
        println!(
            "| offline render {}×{} ({} frames, PNG written) | {:.2} frames/s ({:.0} ms/frame) |",
            width,
            height,
            report.frames,
            report.fps(),
            1000.0 / report.fps()
        );
    }
    Ok(())
}

/// Prints the adapter Bevy's renderer picks on this machine.
pub fn probe_adapter() -> anyhow::Result<()> {
    let mut app = App::new();
    app.add_plugins(
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
            .disable::<WinitPlugin>()
            .disable::<PipelinedRenderingPlugin>()
            .disable::<bevy::log::LogPlugin>(),
    );
    app.finish();
    let info = app
        .world()
        .get_resource::<RenderAdapterInfo>()
        .ok_or_else(|| anyhow::anyhow!("no render adapter"))?;
    println!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
    Ok(())
}
