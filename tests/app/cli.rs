//! Whole-program tests: the `ling-stage` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::bin;

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run ling-stage");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stdout, stderr)
}

fn demo_show() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron")
}

#[test]
fn help_lists_the_subcommands() {
    let (out, stdout, _) = run(bin().arg("--help"));
    assert!(out.status.success());
    for sub in ["live", "render", "doctor", "bench"] {
        assert!(stdout.contains(sub), "--help mentions {sub}:\n{stdout}");
    }
    assert!(
        !stdout.contains("probe-adapter"),
        "internal probe stays hidden"
    );
}

#[test]
fn doctor_reports_every_subsystem_without_panicking() {
    let (out, stdout, stderr) = run(bin()
        .arg("doctor")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY"));
    assert!(
        out.status.success(),
        "doctor exits 0 on a bare machine:\n{stdout}\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for subsystem in [
        "render",
        "display",
        "audio in",
        "audio out",
        "cameras",
        "onnxruntime",
        "models",
        "ffmpeg",
    ] {
        let line = stdout
            .lines()
            .find(|l| {
                l.split_whitespace()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(" ")
                    .starts_with(subsystem)
            })
            .unwrap_or_else(|| panic!("no line for {subsystem}:\n{stdout}"));
        assert!(
            line.starts_with("OK") || line.starts_with("MISSING"),
            "{subsystem} has a clear status: {line}"
        );
    }
    let display = stdout.lines().find(|l| l.contains("display")).unwrap();
    assert!(
        display.starts_with("MISSING") && display.contains("render"),
        "{display}"
    );
    assert!(stdout.contains("subsystems ready"), "{stdout}");
}

#[test]
fn bad_show_file_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(demo_show()).unwrap();

    // (file, text to replace, its replacement, marker on the bad line, expected message)
    let cases = [
        (
            "bad.ron",
            "CutTo(shot: Medium)",
            "CutTo(shot: Balcony)",
            "Balcony",
            "Balcony",
        ),
        (
            "undefined.ron",
            "name: \"finale\", fade",
            "name: \"blackout\", fade",
            "blackout",
            "\"blackout\" is not defined",
        ),
    ];
    for (file, from, to, marker, message) in cases {
        let path = dir.path().join(file);
        let broken = text.replacen(from, to, 1);
        let line = broken.lines().position(|l| l.contains(marker)).unwrap() + 1;
        std::fs::write(&path, broken).unwrap();
        let (out, _, stderr) = run(bin()
            .args(["render"])
            .arg(&path)
            .args(["--out"])
            .arg(dir.path().join("x.mp4")));
        assert!(!out.status.success());
        assert!(
            stderr.contains(&format!("{file}:{line}:")),
            "names file and line {line}:\n{stderr}"
        );
        assert!(stderr.contains(message), "{stderr}");
    }

    let (out, _, stderr) = run(bin().args(["render", "no/such/show.ron", "--out", "x.mp4"]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("cannot read show file no/such/show.ron"),
        "{stderr}"
    );
}

#[test]
fn live_without_a_display_says_so_instead_of_panicking() {
    let (out, _, stderr) = run(bin()
        .arg("live")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY"));
    assert!(!out.status.success());
    assert!(stderr.contains("no display"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Loads an RGB PNG.
fn load(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

fn mean_luma(img: &image::RgbImage) -> f64 {
    img.pixels()
        .map(|p| 0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64)
        .sum::<f64>()
        / (img.width() * img.height()) as f64
}

fn differs(a: &image::Rgb<u8>, b: &image::Rgb<u8>) -> bool {
    (0..3).any(|c| (a[c] as i32 - b[c] as i32).abs() > 24)
}

fn render(show: &Path, out: &Path, start: f64, frames: u32) {
    let (status, stdout, stderr) = run(bin()
        .arg("render")
        .arg(show)
        .arg("--out")
        .arg(out)
        .args([
            "--width",
            "320",
            "--height",
            "180",
            "--fps",
            "30",
            "--quiet",
            "--keep-frames",
        ])
        .args([
            "--start",
            &start.to_string(),
            "--frames",
            &frames.to_string(),
        ]));
    assert!(
        status.status.success(),
        "render failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("rendered {frames} frames")),
        "{stdout}"
    );
}

/// Renders the demo on the software renderer: frames are lit, the performer stands in the
/// centre of the wide shot, and the show moves.
#[test]
fn render_shows_a_moving_performer_centre_stage() {
    let dir = tempfile::tempdir().unwrap();
    // The turn, in the medium shot: a second of frames.
    let out = dir.path().join("turn.mp4");
    render(&demo_show(), &out, 7.0, 31);
    let frames = dir.path().join("turn_frames");
    let first = load(&frames.join("frame_00000.png"));
    let later = load(&frames.join("frame_00030.png"));
    assert_eq!(first.dimensions(), (320, 180));
    assert!(
        mean_luma(&first) > 25.0,
        "frame is lit, not black: {}",
        mean_luma(&first)
    );
    let changed = first
        .pixels()
        .zip(later.pixels())
        .filter(|(a, b)| differs(a, b))
        .count();
    assert!(
        changed > 320 * 180 / 50,
        "frames a second apart differ: {changed} pixels"
    );
    if which_ffmpeg() {
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "the MP4 was encoded ({size} bytes)");
    }
    // Deterministic: rendering the start of the same stretch again gives the same pixels.
    render(&demo_show(), &dir.path().join("again.mp4"), 7.0, 2);
    for i in 0..2 {
        let name = format!("frame_{i:05}.png");
        let a = load(&frames.join(&name));
        let b = load(&dir.path().join("again_frames").join(&name));
        assert!(a == b, "frame {i} renders identically twice");
    }

    // The wide shot at 9.9 s (the bow), with and without the performer: what differs is her.
    render(&demo_show(), &dir.path().join("bow.mp4"), 9.9, 1);
    let first = load(&dir.path().join("bow_frames/frame_00000.png"));
    // The same moment on an empty stage: what differs is the performer.
    let empty = dir.path().join("empty.ron");
    let text = std::fs::read_to_string(demo_show())
        .unwrap()
        .replace("performer: BuiltIn", "performer: None");
    std::fs::write(&empty, text).unwrap();
    render(&empty, &dir.path().join("empty.mp4"), 9.9, 1);
    let stage = load(&dir.path().join("empty_frames/frame_00000.png"));
    let (w, h) = first.dimensions();
    let mut count = 0usize;
    let mut central = 0usize;
    let (mut sx, mut sy) = (0f64, 0f64);
    for (x, y, p) in first.enumerate_pixels() {
        if differs(p, stage.get_pixel(x, y)) {
            count += 1;
            sx += x as f64;
            sy += y as f64;
            if (w / 4..3 * w / 4).contains(&x) {
                central += 1;
            }
        }
    }
    assert!(
        count > (w * h) as usize / 200,
        "the performer is visible: {count} pixels"
    );
    let (cx, cy) = (sx / count as f64 / w as f64, sy / count as f64 / h as f64);
    assert!(
        (0.35..0.65).contains(&cx) && (0.3..0.85).contains(&cy),
        "performer centred: ({cx:.2}, {cy:.2})"
    );
    assert!(
        central as f64 > 0.8 * count as f64,
        "{central} of {count} changed pixels in the centre"
    );
}

fn which_ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Opens the live stage docked in one window on a virtual X display and screenshots the
/// program monitor with the panel beside it.
#[test]
fn live_window_shows_stage_and_director_panel() {
    let xvfb = Command::new("xvfb-run").arg("--help").output();
    if xvfb.is_err() {
        ling_testkit::skip("live_window_shows_stage_and_director_panel: xvfb-run is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("live.png");
    let (out, stdout, stderr) = run(Command::new("xvfb-run")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-a", "-s", "-screen 0 1280x720x24"])
        // The console reads its settings from here, never the user's.
        .env("LING_STAGE_CONFIG_DIR", dir.path())
        .arg(env!("CARGO_BIN_EXE_ling-stage"))
        .args(["live", "--docked", "--screenshot"])
        .arg(&shot)
        .args(["--screenshot-at", "12", "--quit-after", "13"]));
    assert!(out.status.success(), "live run failed:\n{stdout}\n{stderr}");
    let img = load(&shot);
    assert_eq!(img.dimensions(), (1280, 720));
    // The panel docks on the right (300 logical px): grey egui chrome. The program monitor is
    // left of it, the 16:9 picture fitted into 964×704 (rows 89..631): lit, and red-dominated
    // (curtain, carpet, lacquer).
    let region_mean = |x0: u32, x1: u32| {
        let mut sum = [0f64; 3];
        let mut n = 0f64;
        for y in 100..620 {
            for x in x0..x1 {
                let p = img.get_pixel(x, y);
                for c in 0..3 {
                    sum[c] += p[c] as f64;
                }
                n += 1.0;
            }
        }
        sum.map(|s| s / n)
    };
    let panel = region_mean(1000, 1280);
    let stage = region_mean(0, 960);
    let spread = |m: [f64; 3]| {
        m.iter().cloned().fold(f64::MIN, f64::max) - m.iter().cloned().fold(f64::MAX, f64::min)
    };
    assert!(spread(panel) < 12.0, "panel is neutral grey: {panel:?}");
    assert!(
        stage[0] > 40.0 && stage[0] > stage[2] + 15.0,
        "stage is lit and red: {stage:?}"
    );
    let text_pixels = (1000..1280)
        .flat_map(|x| (0..720).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y)[0] > 150)
        .count();
    assert!(
        text_pixels > 500,
        "panel shows text and widgets: {text_pixels} bright pixels"
    );
}

fn shared_mocap(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/mocap")
        .join(name);
    if path.exists() {
        Some(path)
    } else {
        ling_testkit::skip(format!("{} not found", path.display()));
        None
    }
}

#[test]
fn mocap_inspect_describes_a_cmu_clip_and_rejects_a_truncated_one() {
    let Some(clip) = shared_mocap("cmu_131_01.bvh") else {
        return;
    };
    let (out, stdout, stderr) = run(bin().args(["mocap", "inspect"]).arg(&clip));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("31 joints, 96 channels, 994 frames at 120.000 fps"),
        "{stdout}"
    );
    assert!(stdout.contains("8.28 s"), "{stdout}");
    assert!(
        stdout.contains("LeftKnee") && stdout.contains("Zrotation Yrotation Xrotation"),
        "{stdout}"
    );
    assert!(stdout.contains("CmuJoints naming"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&clip).unwrap();
    let cut = dir.path().join("cut.bvh");
    // Cut in the middle of the motion section: the last frame is incomplete.
    let motion_at = text.find("MOTION").unwrap();
    std::fs::write(&cut, &text[..motion_at + (text.len() - motion_at) / 2]).unwrap();
    let (out, _, stderr) = run(bin().args(["mocap", "inspect"]).arg(&cut));
    assert!(!out.status.success());
    assert!(
        stderr.contains("cut.bvh:") && stderr.contains("truncated"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A clip whose joints are renamed `j0, j1, ...`: `mocap inspect` infers the humanoid from the
/// shape and prints the map as RON; the show plays the clip with that map, and an edited map
/// that lacks a core bone is refused naming the map.
#[test]
fn mocap_inspect_infers_a_renamed_skeleton_and_its_ron_map_is_used_by_a_show() {
    let Some(clip) = shared_mocap("cmu_131_01.bvh") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut bvh = ling_stage::mocap::bvh::load(&clip).unwrap();
    for (i, j) in bvh.joints.iter_mut().enumerate() {
        j.name = format!("j{i}");
    }
    let anon = dir.path().join("anon.bvh");
    std::fs::write(&anon, bvh.write()).unwrap();
    let (out, stdout, stderr) = run(bin().args(["mocap", "inspect"]).arg(&anon));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("Inferred naming, 22 of 55 humanoid bones mapped, 22 inferred"),
        "{stdout}"
    );
    let ron = &stdout[stdout.find("// Humanoid bone map").expect("a RON map")..];
    // CMU's LeftHip (joint 2) is the left thigh, LeftCollar (joint 17) the left shoulder.
    assert!(ron.contains("\"leftUpperLeg\": \"j2\","), "{ron}");
    assert!(ron.contains("\"leftShoulder\": \"j17\","), "{ron}");
    std::fs::write(dir.path().join("map.ron"), ron).unwrap();
    let show = std::fs::read_to_string(demo_show()).unwrap().replace(
        "motion: BuiltInDemo",
        "motion: Bvh(path: \"anon.bvh\", bone_map: Some(\"map.ron\"))",
    );
    let show_path = dir.path().join("show.ron");
    std::fs::write(&show_path, show).unwrap();
    let export = dir.path().join("out.bvh");
    let (out, stdout, stderr) = run(bin()
        .args(["mocap", "export"])
        .arg(&show_path)
        .arg("--out")
        .arg(&export)
        .args(["--fps", "30", "--seconds", "1"]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("wrote 30 frames"), "{stdout}");

    let edited: String = ron
        .lines()
        .filter(|l| !l.contains("\"leftUpperLeg\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("map.ron"), edited).unwrap();
    let (out, _, stderr) = run(bin()
        .args(["mocap", "export"])
        .arg(&show_path)
        .arg("--out")
        .arg(&export));
    assert!(!out.status.success());
    assert!(
        stderr.contains("map.ron") && stderr.contains("lacks leftUpperLeg"),
        "{stderr}"
    );
}

/// `mocap export --out x.vrma` writes a VRM animation of the demo (body, face, gaze);
/// `mocap inspect` reads it, a show plays it as its motion, and a broken one is refused.
#[test]
fn mocap_export_writes_a_vrma_that_inspects_and_plays() {
    let dir = tempfile::tempdir().unwrap();
    let anim = dir.path().join("demo.vrma");
    let (out, stdout, stderr) = run(bin()
        .args(["mocap", "export"])
        .arg(demo_show())
        .arg("--out")
        .arg(&anim)
        .args(["--fps", "30", "--seconds", "4"]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("wrote 120 frames"), "{stdout}");
    let (out, stdout, stderr) = run(bin().args(["mocap", "inspect"]).arg(&anim));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("120 frames at 30.000 fps") && stdout.contains("53 of 55 humanoid bones"),
        "{stdout}"
    );
    assert!(
        stdout.contains("happy") && stdout.contains("relaxed (no canonical signal)"),
        "{stdout}"
    );
    assert!(stdout.contains("gaze: animated"), "{stdout}");

    let again = dir.path().join("again.bvh");
    let (out, stdout, stderr) = run(bin()
        .args(["mocap", "export"])
        .arg(demo_show())
        .arg("--motion")
        .arg(&anim)
        .arg("--out")
        .arg(&again)
        .args(["--fps", "30", "--seconds", "2"]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("wrote 60 frames"), "{stdout}");

    let bytes = std::fs::read(&anim).unwrap();
    let cut = dir.path().join("cut.vrma");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let (out, _, stderr) = run(bin().args(["mocap", "inspect"]).arg(&cut));
    assert!(!out.status.success());
    assert!(
        stderr.contains("cut.vrma") && stderr.contains("cut short"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn mocap_export_writes_bvh_that_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("take.bvh");
    let (out, stdout, stderr) = run(bin()
        .args(["mocap", "export"])
        .arg(demo_show())
        .arg("--out")
        .arg(&out_path)
        .args(["--fps", "30", "--seconds", "4"]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("wrote 120 frames"), "{stdout}");
    let (out, stdout, stderr) = run(bin().args(["mocap", "inspect"]).arg(&out_path));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("55 joints") && stdout.contains("120 frames at 30.000 fps"),
        "{stdout}"
    );
    assert!(stdout.contains("Vrm naming, 55 of 55"), "{stdout}");
}

/// A recording cut off with SIGKILL keeps everything up to its last one-second checkpoint, and
/// the take replays.
#[test]
fn killed_recording_keeps_the_take_up_to_the_last_second() {
    let dir = tempfile::tempdir().unwrap();
    let takes = dir.path().join("takes");
    let mut child = bin()
        .args(["record", "scenes/demo.ron", "--takes"])
        .arg(&takes)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for two seconds' checkpoints (on a loaded machine the headless show may run slower
    // than real time), then kill it.
    let first_take = || {
        std::fs::read_dir(&takes)
            .ok()?
            .next()?
            .ok()
            .map(|e| e.path())
    };
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let kept = first_take()
            .and_then(|dir| ling_stage::mocap::take::Take::load(&dir).ok())
            .map(|t| t.poses.len())
            .unwrap_or(0);
        if kept >= 120 {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(400));
    child.kill().unwrap(); // SIGKILL: no chance to close anything
    child.wait().unwrap();
    let take_dir = first_take().expect("a take folder");
    let take = ling_stage::mocap::take::Take::load(&take_dir).unwrap();
    assert!(
        !take.info.complete,
        "a killed recording is not marked complete"
    );
    assert!(
        take.poses.len() >= 120,
        "at least two seconds kept: {} frames",
        take.poses.len()
    );
    assert!(
        take.faces.len() >= take.poses.len(),
        "face rows for every body frame"
    );
    assert!(take.commands.iter().any(|c| matches!(
        c.command,
        ling_stage::show::DirectorCommand::LightCue { .. }
    )));
    // The body walks from the door: the hips moved.
    let first = take.poses.first().unwrap().hips;
    let last = take.poses.last().unwrap().hips;
    assert!(first.distance(last) > 0.5, "{first:?} -> {last:?}");

    // It replays through the normal renderer.
    let (out, stdout, stderr) = run(bin()
        .arg("render")
        .arg(&take_dir)
        .arg("--out")
        .arg(dir.path().join("replay.png"))
        .args([
            "--width", "160", "--height", "90", "--frames", "2", "--quiet",
        ]));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("rendered 2 frames"), "{stdout}");
}

/// A CMU clip plays on a VRM 0.x avatar through the normal renderer.
#[test]
fn cmu_clip_plays_on_a_vrm_avatar() {
    let avatar =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/avatars/cool_loops.vrm");
    let Some(clip) = shared_mocap("cmu_131_01.bvh") else {
        return;
    };
    if !avatar.exists() {
        ling_testkit::skip(format!(
            "cmu_clip_plays_on_a_vrm_avatar: {} not found",
            avatar.display()
        ));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let render_avatar = |name: &str, start: f64, frames: u32| {
        let mut cmd = bin();
        cmd.arg("render")
            .arg(demo_show())
            .arg("--motion")
            .arg(&clip)
            .arg("--avatar")
            .arg(&avatar);
        let (out, stdout, stderr) = run(cmd
            .arg("--out")
            .arg(dir.path().join(format!("{name}.png")))
            .args([
                "--width",
                "320",
                "--height",
                "180",
                "--quiet",
                "--keep-frames",
            ])
            .args([
                "--start",
                &start.to_string(),
                "--frames",
                &frames.to_string(),
            ]));
        assert!(out.status.success(), "{stdout}\n{stderr}");
        (0..frames)
            .map(|i| load(&dir.path().join(format!("{name}_frames/frame_{i:05}.png"))))
            .collect::<Vec<_>>()
    };
    // The wide shot (before the first cut at 3 s): kneeling at 1.5 s, moving by 2.5 s.
    let with = render_avatar("avatar", 1.5, 31);
    let empty_show = dir.path().join("empty.ron");
    std::fs::write(
        &empty_show,
        std::fs::read_to_string(demo_show())
            .unwrap()
            .replace("performer: BuiltIn", "performer: None"),
    )
    .unwrap();
    let (out, _, stderr) = run(bin()
        .arg("render")
        .arg(&empty_show)
        .arg("--out")
        .arg(dir.path().join("stage.png"))
        .args([
            "--width",
            "320",
            "--height",
            "180",
            "--quiet",
            "--keep-frames",
            "--start",
            "1.5",
            "--frames",
            "1",
        ]));
    assert!(out.status.success(), "{stderr}");
    let stage = load(&dir.path().join("stage_frames/frame_00000.png"));
    let avatar_pixels = with[0]
        .pixels()
        .zip(stage.pixels())
        .filter(|(a, b)| differs(a, b))
        .count();
    // She kneels behind the table in the wide shot at 1.5 s, in the dim opening light: about
    // 200 pixels of 320 × 180 differ from the empty stage with her MToon material lit by the
    // stage (a lit PBR material: 210; the unlit fallback MToon replaced glowed: 280).
    assert!(
        avatar_pixels > 150,
        "the avatar is visible on stage: {avatar_pixels} pixels"
    );
    let moved = with[0]
        .pixels()
        .zip(with[30].pixels())
        .filter(|(a, b)| differs(a, b))
        .count();
    assert!(
        moved > 100,
        "the avatar moves with the clip: {moved} pixels changed in a second"
    );
}

#[test]
fn avatar_inspect_lists_bones_expressions_and_meta_and_refuses_bad_files() {
    let avatar =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/avatars/cool_loops.vrm");
    if !avatar.exists() {
        ling_testkit::skip(format!(
            "avatar_inspect_...: {} not found",
            avatar.display()
        ));
        return;
    }
    let (out, stdout, stderr) = run(bin().args(["avatar", "inspect"]).arg(&avatar));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("(Vrm0"), "{stdout}");
    assert!(stdout.contains("humanoid: 50 of 55 bones"), "{stdout}");
    assert!(
        stdout.contains("aa             (preset) mesh 0 target 15"),
        "{stdout}"
    );
    assert!(stdout.contains("by Polygonal Mind"), "{stdout}");
    assert!(stdout.contains("spring chains:"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("half.vrm");
    let bytes = std::fs::read(&avatar).unwrap();
    std::fs::write(&bad, &bytes[..4000]).unwrap();
    let (out, _, stderr) = run(bin().args(["avatar", "inspect"]).arg(&bad));
    assert!(!out.status.success());
    assert!(
        stderr.contains("half.vrm") && stderr.contains("cut short"),
        "{stderr}"
    );
    let (out, _, stderr) = run(bin()
        .args(["render"])
        .arg(demo_show())
        .arg("--avatar")
        .arg(&bad)
        .args(["--out", "x.mp4"]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("half.vrm"),
        "render refuses a bad avatar clearly: {stderr}"
    );
}

/// `track` on a video made from the astronaut still: the face is detected on the first frame
/// and tracked from its landmarks after, staying where the still has it; a bad file is
/// reported by name.
#[test]
fn track_follows_a_face_through_a_video_and_prints_json() {
    let still = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/images/astronaut.png");
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/models");
    if !still.exists() || !models.exists() {
        ling_testkit::skip("track test: ../shared/data not found");
        return;
    }
    let ffmpeg = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ffmpeg {
        ling_testkit::skip("track test: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("astronaut.mp4");
    let made = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-loop", "1", "-i"])
        .arg(&still)
        .args(["-t", "0.5", "-r", "10", "-pix_fmt", "yuv420p"])
        .arg(&video)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (out, stdout, stderr) = run(bin().arg("track").arg(&video).arg("--json"));
    if stderr.contains("ONNX Runtime is not available") {
        ling_testkit::skip(format!("track test: {stderr}"));
        return;
    }
    assert!(out.status.success(), "{stderr}");
    let frames: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(frames.len(), 5, "{stdout}");
    for (i, f) in frames.iter().enumerate() {
        let face = &f["face"];
        assert_eq!(face["landmarks"].as_array().unwrap().len(), 468);
        let detected = !face["detection_score"].is_null();
        assert_eq!(
            detected,
            i == 0,
            "frame {i}: detected only when the face is new"
        );
        let x = face["center"][0].as_f64().unwrap();
        let y = face["center"][1].as_f64().unwrap();
        assert!(
            (x - 226.0).abs() < 8.0 && (y - 129.0).abs() < 12.0,
            "frame {i}: ({x}, {y})"
        );
        let smile = face["expressions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e[0] == "mouthSmileLeft")
            .unwrap()[1]
            .as_f64()
            .unwrap();
        assert!(smile > 0.7, "frame {i}: smile {smile}");
    }
    let (out, _, stderr) = run(bin().arg("track").arg(dir.path().join("missing.mp4")));
    assert!(!out.status.success());
    assert!(
        stderr.contains("missing.mp4") && stderr.contains("no such file"),
        "{stderr}"
    );
}

/// `cool_loops.vrm` with a ponytail rigged by VRM 0.x spring bones: four nodes under the head
/// (one bone group) and a sphere collider on the head, written as a new GLB.
fn ponytail_avatar(dir: &Path) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/avatars/cool_loops.vrm");
    let bytes = std::fs::read(&src).ok()?;
    let json_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut json: serde_json::Value = serde_json::from_slice(&bytes[20..20 + json_len]).unwrap();
    let nodes = json["nodes"].as_array_mut().unwrap();
    let head = nodes
        .iter()
        .position(|n| n["name"] == "mixamorig:Head")
        .unwrap();
    let base = nodes.len();
    for k in 0..4 {
        let mut node = serde_json::json!({
            "name": format!("ponytail{k}"),
            "translation": if k == 0 { [0.0, 0.0, -0.1] } else { [0.0, -0.08, -0.02] },
        });
        if k < 3 {
            node["children"] = serde_json::json!([base + k + 1]);
        }
        nodes.push(node);
    }
    nodes[head]["children"]
        .as_array_mut()
        .unwrap()
        .push(base.into());
    let sa = &mut json["extensions"]["VRM"]["secondaryAnimation"];
    sa["colliderGroups"] = serde_json::json!([{
        "node": head, "colliders": [{"offset": {"x": 0, "y": 0.08, "z": 0}, "radius": 0.1}]
    }]);
    sa["boneGroups"] = serde_json::json!([{
        "comment": "ponytail", "stiffiness": 0.5, "gravityPower": 1.0,
        "gravityDir": {"x": 0, "y": -1, "z": 0}, "dragForce": 0.4, "center": -1,
        "hitRadius": 0.02, "bones": [base], "colliderGroups": [0]
    }]);
    let mut chunk = serde_json::to_vec(&json).unwrap();
    while chunk.len() % 4 != 0 {
        chunk.push(b' ');
    }
    let rest = &bytes[20 + json_len..];
    let total = 12 + 8 + chunk.len() + rest.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&chunk);
    out.extend_from_slice(rest);
    let path = dir.join("ponytail.vrm");
    std::fs::write(&path, out).unwrap();
    Some(path)
}

/// An avatar's own spring bones are read, bound to its nodes on stage and simulated.
#[test]
fn an_avatars_spring_bones_are_bound_on_stage() {
    let dir = tempfile::tempdir().unwrap();
    let Some(avatar) = ponytail_avatar(dir.path()) else {
        ling_testkit::skip("an_avatars_spring_bones_are_bound_on_stage: cool_loops.vrm not found");
        return;
    };
    let (out, stdout, stderr) = run(bin().args(["avatar", "inspect"]).arg(&avatar));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("ponytail (ponytail0) — 4 joints"),
        "{stdout}"
    );
    let (out, stdout, stderr) = run(bin()
        .arg("render")
        .arg(demo_show())
        .arg("--avatar")
        .arg(&avatar)
        .arg("--out")
        .arg(dir.path().join("p.png"))
        .args([
            "--width", "160", "--height", "90", "--frames", "1", "--start", "1", "--quiet",
        ]));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("1 spring chains, 4 joints, 1 colliders"),
        "the chain is bound to the avatar's nodes: {stderr}"
    );
}
