//! `bench --only render`: what the offline render costs, against a bare Bevy scene of the same
//! size, measured in one run (this machine is noisy: only ratios within a run compare).

use ling_stage::render::{self, FrameTimings, RenderOptions, RenderReport};
use ling_stage::show::{PerformerSpec, ShowFile};
use ling_stage::stage::{QualityRequest, StageQuality};

/// Renders `frames` frames at `width`×`height` in draft quality of (a) a bare Bevy scene with
/// one lit mesh, (a′) the same with a lit wall filling the frame, (b) the show's set without
/// the performer, (c) the full show — each read back and dropped — then (c) again encoded to
/// H.264 through ffmpeg; prints frames per second and CPU time per frame, the ratios to (a)
/// and (a′), the encode path's cost, and where a frame of (c) goes.
pub fn run(show: &ShowFile, frames: u32, (width, height): (u32, u32)) -> anyhow::Result<()> {
    let quality = StageQuality::DRAFT;
    let dir = tempfile::tempdir()?;
    let options = |show_out: &str, discard: bool| RenderOptions {
        out: dir.path().join(show_out),
        width,
        height,
        fps: 30,
        frames: Some(frames),
        start: 2.0,
        keep_frames: false,
        progress: false,
        quality: QualityRequest::fixed(quality),
        discard,
        // Where a frame's GPU time goes, in the runs that only read back.
        pass_timings: discard,
        ..RenderOptions::default()
    };
    let bare = render::render_bare_scene(width, height, frames, quality, true, false)?;
    let filled = render::render_bare_scene(width, height, frames, quality, true, true)?;
    let set_only = ShowFile {
        performer: PerformerSpec::None,
        ..show.clone()
    };
    let set = render::render(set_only, &options("set.mp4", true))?;
    let full = render::render(show.clone(), &options("show.mp4", true))?;
    let encoded = render::render(show.clone(), &options("show.mp4", false))?;
    let size = format!("{width}×{height} draft, {frames} frames");
    // Wall time swings with whatever else the machine runs; the CPU time this process spends
    // per frame (the software renderer's threads included) does much less.
    let row = |what: &str, r: &RenderReport| {
        println!(
            "| offline render {size}: {what} | {:.2} frames/s ({:.0} ms/frame), {:.2}× the bare scene; CPU {:.0} ms/frame, {:.2}× the bare scene's, {:.2}× the filled frame's |",
            r.fps(),
            1000.0 / r.fps(),
            r.fps() / bare.fps(),
            r.cpu_ms_per_frame(),
            bare.cpu_ms_per_frame() / r.cpu_ms_per_frame().max(1e-9),
            filled.cpu_ms_per_frame() / r.cpu_ms_per_frame().max(1e-9),
        );
    };
    row(
        "(a) bare Bevy scene (one lit cube, a camera), read back",
        &bare,
    );
    row(
        "(a′) the same with a lit wall filling the frame behind the cube, read back",
        &filled,
    );
    row("(b) the opera set without the performer, read back", &set);
    row("(c) the full show, read back", &full);
    row(
        "(c) the full show, encoded (H.264 through the pipe)",
        &encoded,
    );
    println!(
        "| encode path cost (encoded / read back only, full show) | {:+.1} % wall time per frame |",
        (full.fps() / encoded.fps() - 1.0) * 100.0
    );
    let t = &encoded.timings;
    let ms = |d| FrameTimings::per_frame_ms(d, encoded.frames);
    println!(
        "| full show frame, encoded: simulation / render submission / readback wait / encode (encoder thread, beside the loop) | {:.1} / {:.1} / {:.1} / {:.1} ms (wall {:.0} ms) |",
        ms(t.simulation),
        ms(t.submission),
        ms(t.readback_wait),
        ms(t.encode),
        1000.0 / encoded.fps()
    );
    for (what, r) in [
        ("bare scene", &bare),
        ("filled frame", &filled),
        ("set only", &set),
        ("full show", &full),
    ] {
        let t = &r.timings;
        let ms = |d| FrameTimings::per_frame_ms(d, r.frames);
        println!(
            "| {what} frame, read back: simulation / render submission / readback wait | {:.1} / {:.1} / {:.1} ms |",
            ms(t.simulation),
            ms(t.submission),
            ms(t.readback_wait)
        );
        if !r.passes.is_empty() {
            let top: Vec<String> = r
                .passes
                .iter()
                .take(8)
                .map(|(pass, ms)| format!("{pass} {ms:.1}"))
                .collect();
            println!(
                "| {what} frame, read back: costliest render passes (Bevy render diagnostics, ms) | {} |",
                top.join(", ")
            );
        }
    }
    Ok(())
}
