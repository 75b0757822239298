//! Keying and short videos: renders with a transparent background or a key colour, their video
//! files, and the shots reframed for vertical and square pictures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use ling_stage::LingStagePlugins;
use ling_stage::looks::CameraShot;
use ling_stage::mocap::MotionPlayer;
use ling_stage::show::{ClockMode, ShowClock, ShowFile, insert_show};
use ling_stage::signals::{HumanBone, HumanoidPose, Performer};
use ling_stage::stage::{CameraDirector, StageCamera};

fn demo_show() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron")
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The demo on the headless stage (no GPU), with a stage camera whose picture has `aspect`,
/// stepped by hand at 30 fps.
fn headless_demo(aspect: f32) -> App {
    let show = ShowFile::load(&demo_show()).unwrap();
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, TransformPlugin, LingStagePlugins));
    app.insert_resource(MotionPlayer::for_show(&show).unwrap());
    insert_show(&mut app, show, ClockMode::External, false);
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
        1.0 / 30.0,
    )));
    app.finish();
    app.cleanup();
    // Startup spawns the stage camera (the stage has its assets even without a GPU).
    app.update();
    // What Bevy keeps on a rendering camera: the projection's aspect follows the target size.
    let world = app.world_mut();
    let mut cameras = world.query_filtered::<&mut Projection, With<StageCamera>>();
    let mut count = 0;
    for mut projection in cameras.iter_mut(world) {
        if let Projection::Perspective(p) = &mut *projection {
            p.aspect_ratio = aspect;
        }
        count += 1;
    }
    assert_eq!(count, 1, "one stage camera");
    app
}

fn step_to(app: &mut App, t: f64) {
    {
        let mut clock = app.world_mut().resource_mut::<ShowClock>();
        clock.time = t;
        clock.playing = true;
    }
    app.update();
}

/// Named points on the performer this frame, in world space.
struct Body {
    crown: Vec3,
    head: Vec3,
    feet: [Vec3; 2],
    hands: [Vec3; 2],
    sleeve_tips: [Vec3; 2],
    pelvis: Vec3,
    chest: Vec3,
}

fn body(app: &mut App) -> Body {
    let world = app.world_mut();
    let (root, pose) = world
        .query_filtered::<(&Transform, &HumanoidPose), With<Performer>>()
        .single(world)
        .expect("one performer");
    let bones = pose.model_transforms();
    let at = |b: HumanBone| root.mul_transform(bones[b.index()]);
    // Offsets from the bones in their rest frame: the headdress crown 0.26 m over the head
    // joint (`ling_performer::builtin`), the water sleeves' tips 0.58 m past the wrists.
    Body {
        crown: at(HumanBone::Head).transform_point(Vec3::new(0.0, 0.26, 0.0)),
        head: at(HumanBone::Head).translation,
        feet: [
            at(HumanBone::LeftFoot).translation,
            at(HumanBone::RightFoot).translation,
        ],
        hands: [
            at(HumanBone::LeftHand).translation,
            at(HumanBone::RightHand).translation,
        ],
        sleeve_tips: [
            at(HumanBone::LeftHand).transform_point(Vec3::new(0.58, -0.16, 0.0)),
            at(HumanBone::RightHand).transform_point(Vec3::new(-0.58, -0.16, 0.0)),
        ],
        pelvis: at(HumanBone::Hips).translation,
        chest: at(HumanBone::UpperChest).translation,
    }
}

/// Where the stage camera puts a world point: normalised device coordinates (x right and y up
/// in -1..1 inside the picture; z > 0 in front of the camera), as `Camera::world_to_ndc`
/// computes them from the camera's transform and projection.
fn ndc(app: &mut App) -> impl Fn(Vec3) -> Vec3 + use<> {
    let world = app.world_mut();
    let (transform, projection) = world
        .query_filtered::<(&Transform, &Projection), With<StageCamera>>()
        .single(world)
        .unwrap();
    let clip_from_world = projection.get_clip_from_view() * transform.to_matrix().inverse();
    move |p| clip_from_world.project_point3(p)
}

/// How far inside the picture a point is: the smallest distance to an edge in NDC units
/// (negative outside, 1 at the centre).
fn inside(p: Vec3) -> f32 {
    if p.z <= 0.0 || !p.is_finite() {
        return -1.0;
    }
    (1.0 - p.x.abs()).min(1.0 - p.y.abs())
}

/// Steps the whole demo with the camera's picture at `aspect` and checks, on every frame, that
/// the shot holds the performer: head, headdress, feet, hands and water sleeves in the wide
/// and medium shots (blends included), head and headdress in the close-up.
fn performer_stays_whole(aspect: f32) {
    let mut app = headless_demo(aspect);
    let mut worst: Vec<(CameraShot, f32, f64, &str)> = Vec::new();
    let mut seen = Vec::new();
    let frames = 12 * 30;
    for i in 0..=frames {
        let t = i as f64 / 30.0;
        step_to(&mut app, t);
        let shot = app.world().resource::<CameraDirector>().shot;
        if !seen.contains(&shot) {
            seen.push(shot);
        }
        let project = ndc(&mut app);
        let b = body(&mut app);
        let mut points = vec![("crown", b.crown), ("head", b.head)];
        if shot != CameraShot::CloseUp {
            points.extend([
                ("left foot", b.feet[0]),
                ("right foot", b.feet[1]),
                ("left hand", b.hands[0]),
                ("right hand", b.hands[1]),
                ("left sleeve", b.sleeve_tips[0]),
                ("right sleeve", b.sleeve_tips[1]),
            ]);
        }
        for (name, p) in points {
            let margin = inside(project(p));
            assert!(
                margin >= 0.0,
                "aspect {aspect:.3}, {t:.2} s, {shot:?}: the {name} is outside the picture \
                 (ndc {:?})",
                project(p)
            );
            match worst.iter_mut().find(|w| w.0 == shot) {
                Some(w) if margin < w.1 => *w = (shot, margin, t, name),
                Some(_) => {}
                None => worst.push((shot, margin, t, name)),
            }
        }
    }
    for shot in [CameraShot::Wide, CameraShot::Medium, CameraShot::CloseUp] {
        assert!(seen.contains(&shot), "the demo cuts to {shot:?}");
    }
    for (shot, margin, t, name) in worst {
        println!(
            "aspect {aspect:.3}: {shot:?} closest to an edge: the {name} at {t:.2} s, {margin:.3} \
             of the half-picture inside"
        );
    }
}

#[test]
fn vertical_and_square_shots_keep_the_performer_whole() {
    performer_stays_whole(9.0 / 16.0);
    performer_stays_whole(1.0);
    performer_stays_whole(16.0 / 9.0);
}

/// Where the pelvis and the chest are in a `width`×`height` picture of the demo at `t`, from
/// the headless stage stepped there at 30 fps (the renderer's step).
fn pelvis_and_chest_pixels(width: u32, height: u32, t: f64) -> [(u32, u32); 2] {
    let mut app = headless_demo(width as f32 / height as f32);
    let frames = (t * 30.0).round() as u32;
    for i in 0..=frames {
        step_to(&mut app, i as f64 / 30.0);
    }
    let project = ndc(&mut app);
    let b = body(&mut app);
    [b.pelvis, b.chest].map(|p| {
        let n = project(p);
        assert!(inside(n) > 0.0, "{n:?}");
        (
            ((n.x * 0.5 + 0.5) * width as f32) as u32,
            ((0.5 - n.y * 0.5) * height as f32) as u32,
        )
    })
}

fn render(args: &[&str]) {
    let run = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("render")
        .arg(demo_show())
        .args(args)
        .args(["--quiet"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "render {args:?}:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

fn ffprobe(file: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The first frame of `video` decoded to RGBA (with `decoder` forced when given).
fn decode_rgba(video: &Path, decoder: Option<&str>, png: &Path) -> image::RgbaImage {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-y", "-v", "error"]);
    if let Some(decoder) = decoder {
        cmd.args(["-c:v", decoder]);
    }
    let out = cmd
        .arg("-i")
        .arg(video)
        .args(["-frames:v", "1", "-pix_fmt", "rgba"])
        .arg(png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    image::open(png).unwrap().to_rgba8()
}

const W: u32 = 320;
const H: u32 = 180;
/// The medium shot, Ling at the centre of the stage.
const AT: f64 = 4.0;

#[test]
fn alpha_render_is_transparent_around_an_opaque_performer_in_mov_and_webm() {
    if !have("ffmpeg") || !have("ffprobe") {
        ling_testkit::skip("alpha render: ffmpeg/ffprobe is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mov = dir.path().join("alpha.mov");
    let (w, h) = (W.to_string(), H.to_string());
    // MSAA on, so the edges carry partial coverage.
    render(&[
        "--out",
        mov.to_str().unwrap(),
        "--alpha",
        "--start",
        &AT.to_string(),
        "--frames",
        "2",
        "--width",
        &w,
        "--height",
        &h,
        "--msaa",
        "4",
        "--keep-frames",
    ]);
    let frames = ling_stage::render::frames_dir_for(&mov);
    let png = image::open(ling_stage::render::frame_path(&frames, 0)).unwrap();
    assert_eq!(
        png.color(),
        image::ColorType::Rgba8,
        "alpha frames are RGBA"
    );
    let png = png.to_rgba8();
    let alpha = |(x, y): (u32, u32)| png.get_pixel(x, y)[3];
    for corner in [(0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1)] {
        assert_eq!(alpha(corner), 0, "transparent at the corner {corner:?}");
        assert_eq!(png.get_pixel(corner.0, corner.1).0, [0, 0, 0, 0]);
    }
    let [pelvis, chest] = pelvis_and_chest_pixels(W, H, AT);
    assert_eq!(alpha(pelvis), 255, "opaque at the pelvis {pelvis:?}");
    assert_eq!(alpha(chest), 255, "opaque at the chest {chest:?}");
    assert_eq!(alpha((chest.0, 2)), 0, "transparent above her head");
    let coverage: Vec<u8> = png.pixels().map(|p| p[3]).collect();
    let opaque = coverage.iter().filter(|&&a| a == 255).count();
    let edges = coverage.iter().filter(|&&a| a > 0 && a < 255).count();
    println!(
        "alpha frame {W}×{H}: {opaque} opaque, {edges} edge, {} transparent pixels; pelvis {pelvis:?}, chest {chest:?}",
        coverage.len() - opaque - edges
    );
    assert!(
        opaque > 500,
        "the performer is drawn: {opaque} opaque pixels"
    );
    assert!(edges > 20, "anti-aliased edges keep partial alpha: {edges}");
    assert!(
        opaque + edges < coverage.len() / 2,
        "the set is keyed out: {opaque} + {edges} of {}",
        coverage.len()
    );

    // ProRes 4444 with its alpha plane.
    // ffmpeg's ProRes decoder reports the 10-bit 4444 stream it was given as 12-bit.
    let info = ffprobe(&mov, "stream=codec_name,profile,pix_fmt");
    assert!(
        info.contains("codec_name=prores")
            && info.contains("profile=4444")
            && info.contains("pix_fmt=yuva444p"),
        "{info}"
    );
    let back = decode_rgba(&mov, None, &dir.path().join("mov.png"));
    assert!(back.get_pixel(0, 0)[3] < 4 && back.get_pixel(chest.0, chest.1)[3] > 250);

    // The same frames as VP9 with alpha in WebM.
    let webm = dir.path().join("alpha.webm");
    ling_stage::render::encode_as(
        &frames,
        30,
        &webm,
        None,
        ling_stage::render::VideoFormat::Vp9Alpha,
        None,
    )
    .unwrap();
    let tags = ffprobe(&webm, "stream=codec_name:stream_tags=alpha_mode");
    assert!(
        tags.contains("codec_name=vp9") && tags.contains("alpha_mode=1"),
        "{tags}"
    );
    let back = decode_rgba(&webm, Some("libvpx-vp9"), &dir.path().join("webm.png"));
    let (corner, at_chest) = (back.get_pixel(0, 0)[3], back.get_pixel(chest.0, chest.1)[3]);
    assert!(
        corner < 8 && at_chest > 247,
        "webm alpha: corner {corner}, chest {at_chest}"
    );
}

#[test]
fn keyed_render_is_exactly_the_key_colour_behind_her() {
    let dir = tempfile::tempdir().unwrap();
    // Not a video name: PNG frames only (no ffmpeg needed).
    let out = dir.path().join("keyed.png");
    let (w, h) = (W.to_string(), H.to_string());
    render(&[
        "--out",
        out.to_str().unwrap(),
        "--background",
        "green",
        "--start",
        &AT.to_string(),
        "--frames",
        "1",
        "--width",
        &w,
        "--height",
        &h,
        "--msaa",
        "1",
    ]);
    let png = image::open(ling_stage::render::frame_path(
        &ling_stage::render::frames_dir_for(&out),
        0,
    ))
    .unwrap();
    assert_eq!(
        png.color(),
        image::ColorType::Rgb8,
        "keyed frames are opaque RGB"
    );
    let png = png.to_rgb8();
    let key = [0, 177, 64];
    let [pelvis, chest] = pelvis_and_chest_pixels(W, H, AT);
    for p in [(0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1), (chest.0, 2)] {
        assert_eq!(png.get_pixel(p.0, p.1).0, key, "key colour at {p:?}");
    }
    for p in [pelvis, chest] {
        assert_ne!(png.get_pixel(p.0, p.1).0, key, "the performer at {p:?}");
    }
    let keyed = png.pixels().filter(|p| p.0 == key).count();
    println!(
        "keyed frame {W}×{H}: {keyed} of {} pixels exactly {key:?}",
        W * H
    );
    assert!(keyed > (W * H / 2) as usize, "{keyed}");
}

#[test]
fn alpha_in_mp4_and_set_without_a_key_are_refused_before_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ling-stage"))
            .arg("render")
            .arg(demo_show())
            .args(args)
            .output()
            .unwrap()
    };
    let mp4 = dir.path().join("x.mp4");
    let out = run(&["--alpha", "--out", mp4.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("alpha") && stderr.contains(".mov") && stderr.contains(".webm"),
        "{stderr}"
    );
    assert!(
        !ling_stage::render::frames_dir_for(&mp4).exists(),
        "nothing rendered"
    );
    let out = run(&["--set", "floor", "--out", mp4.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--alpha"),
        "{stderr}"
    );
    let out = run(&["--background", "chartreuse", "--out", mp4.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("chartreuse"),
        "{stderr}"
    );
}

#[test]
fn shorts_preset_renders_a_vertical_video_with_her_in_it() {
    if !have("ffmpeg") || !have("ffprobe") {
        ling_testkit::skip("shorts preset: ffmpeg/ffprobe is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("short.mp4");
    // The preset's 1080×1920 at a quarter of the size, for speed.
    render(&[
        "--out",
        out.to_str().unwrap(),
        "--preset",
        "shorts",
        "--width",
        "270",
        "--height",
        "480",
        "--start",
        &AT.to_string(),
        "--frames",
        "2",
        "--msaa",
        "1",
        "--background",
        "green",
        "--keep-frames",
    ]);
    let info = ffprobe(&out, "stream=width,height,r_frame_rate,pix_fmt");
    assert!(
        info.contains("width=270") && info.contains("height=480"),
        "{info}"
    );
    assert!(info.contains("r_frame_rate=30/1"), "{info}");
    let frame = image::open(ling_stage::render::frame_path(
        &ling_stage::render::frames_dir_for(&out),
        0,
    ))
    .unwrap()
    .to_rgb8();
    let key = [0u8, 177, 64];
    let [pelvis, chest] = pelvis_and_chest_pixels(270, 480, AT);
    assert_ne!(frame.get_pixel(pelvis.0, pelvis.1).0, key);
    assert_ne!(frame.get_pixel(chest.0, chest.1).0, key);
    // Her whole width is inside the picture: the left and right columns are all key colour.
    for x in [0, 269] {
        assert!(
            (0..480).all(|y| frame.get_pixel(x, y).0 == key),
            "column {x}"
        );
    }
}
