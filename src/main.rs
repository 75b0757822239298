//! `ling-stage`: the command line. A thin layer over the library: parse, load, run, report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ling_stage::doctor::{self, Status};
use ling_stage::show::ShowFile;
use ling_stage::show::live::{self, LiveOptions};
use ling_stage::show::render::{self, RenderOptions};

mod bench;

/// Ling Stage: a virtual idol on an opera stage, live or rendered offline.
#[derive(Parser, Debug)]
#[command(name = "ling-stage", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand, Debug)]
enum Commands {
    /// Open the live stage with the director panel (needs a display).
    Live {
        /// Show file (RON); the built-in demo show if omitted.
        show: Option<PathBuf>,
        /// Play the show once instead of looping.
        #[arg(long)]
        once: bool,
        /// Save a PNG of the window (stage and panel) after SECONDS of wall time.
        #[arg(long, value_name = "FILE")]
        screenshot: Option<PathBuf>,
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
        screenshot_at: f64,
        /// Close the window after SECONDS of wall time.
        #[arg(long, value_name = "SECONDS")]
        quit_after: Option<f64>,
    },
    /// Render a show offline to an MP4 (or PNG frames) through the normal render pipeline.
    Render {
        /// Show file (RON).
        show: PathBuf,
        /// Output video (.mp4); PNG frames are written next to it while rendering.
        #[arg(long, short)]
        out: PathBuf,
        /// Seconds of show to render (default: the whole show).
        #[arg(long, conflicts_with = "frames")]
        seconds: Option<f64>,
        /// Number of frames to render.
        #[arg(long)]
        frames: Option<u32>,
        /// Show time to start at, in seconds.
        #[arg(long, default_value_t = 0.0)]
        start: f64,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        /// Keep the PNG frames after encoding.
        #[arg(long)]
        keep_frames: bool,
        /// Anti-aliasing samples: 1 (off, ~30% faster on software renderers), 2, 4 or 8.
        #[arg(long, default_value_t = 4)]
        msaa: u32,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Check the render adapter, display, audio, cameras, ONNX Runtime, models and ffmpeg.
    Doctor,
    /// Measure the CPU cost of a headless show frame and the offline render speed.
    Bench {
        /// Headless frames to time.
        #[arg(long, default_value_t = 600)]
        frames: u32,
        /// Frames to render for the render-speed measurement (0 to skip).
        #[arg(long, default_value_t = 24)]
        render_frames: u32,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
    },
    /// Print the render adapter wgpu picks (used by `doctor` in a child process).
    #[command(hide = true)]
    ProbeAdapter,
}

fn demo_show_path() -> PathBuf {
    let local = PathBuf::from("scenes/demo.ron");
    if local.is_file() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron")
    }
}

fn load_show(path: &Path) -> anyhow::Result<ShowFile> {
    Ok(ShowFile::load(path)?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Commands::Live {
            show,
            once,
            screenshot,
            screenshot_at,
            quit_after,
        } => {
            let path = show.unwrap_or_else(demo_show_path);
            let show = load_show(&path)?;
            live::run(
                show,
                LiveOptions {
                    screenshot: screenshot.map(|p| (p, screenshot_at)),
                    quit_after,
                    looping: !once,
                },
            )?;
        }
        Commands::Render {
            show,
            out,
            seconds,
            frames,
            start,
            width,
            height,
            fps,
            keep_frames,
            msaa,
            quiet,
        } => {
            let file = load_show(&show)?;
            let frames = frames.or(seconds.map(|s| (s * fps as f64).round() as u32));
            let options = RenderOptions {
                out: out.clone(),
                width,
                height,
                fps,
                frames,
                start,
                keep_frames,
                progress: !quiet,
                msaa_samples: msaa,
            };
            let report = render::render(file, &options)
                .with_context(|| format!("rendering {} to {}", show.display(), out.display()))?;
            println!(
                "rendered {} frames at {}×{} in {:.1} s ({:.2} frames/s, {} warm-up frames)",
                report.frames,
                width,
                height,
                report.render_seconds,
                report.fps(),
                report.warmup_frames
            );
            if let Some(video) = &report.video {
                println!("video: {}", video.display());
            }
            if let Some(dir) = &report.frames_dir {
                println!("frames: {}", dir.display());
            }
            if let Some(note) = &report.note {
                println!("note: {note}");
            }
        }
        Commands::Doctor => {
            let checks = doctor::run();
            for check in &checks {
                println!("{check}");
            }
            let missing = checks
                .iter()
                .filter(|c| c.status == Status::Missing)
                .count();
            println!(
                "{} of {} subsystems ready{}",
                checks.len() - missing,
                checks.len(),
                if missing > 0 {
                    " (the show runs without the missing ones)"
                } else {
                    ""
                }
            );
        }
        Commands::Bench {
            frames,
            render_frames,
            width,
            height,
        } => bench::run(&demo_show_path(), frames, render_frames, width, height)?,
        Commands::ProbeAdapter => bench::probe_adapter()?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
