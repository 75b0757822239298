//! Shots like a vision mixer in a headless show (every simulation system, no rendering): a
//! named shot put on preview and taken with an auto transition moves the program camera to
//! its framing over the transition's duration, and the old program comes back on preview; a
//! shot saved from the preview is written with the show and read back.

use bevy::prelude::*;
use ling_stage::looks::{CameraShot, FixedShot, ShotRef};
use ling_stage::show::{ActiveShow, DirectorCommand, ShowFile};
use ling_stage::stage::{AdjustPreview, Bus, CameraDirector, StageCamera};

const FRAME: f64 = 1.0 / 30.0;

const SHOW: &str = r#"(
    name: "shots",
    duration: 60.0,
    motion: Idle,
    shots: {
        "side": (eye: (3.5, 1.7, 4.5), look: (0.0, 1.3, 0.0), fov: 28.0),
    },
    cues: [
        (number: "1", command: Preview("side")),
    ],
)
"#;

fn app(path: &std::path::Path) -> App {
    std::fs::write(path, SHOW).unwrap();
    let mut app = crate::support::headless_show(ShowFile::load(path).unwrap(), FRAME);
    app.update();
    // The program camera's picture is 16:9, as the renderer would size it.
    let mut q = app
        .world_mut()
        .query_filtered::<&mut Projection, With<StageCamera>>();
    for mut projection in q.iter_mut(app.world_mut()) {
        if let Projection::Perspective(p) = &mut *projection {
            p.aspect_ratio = 16.0 / 9.0;
        }
    }
    for _ in 0..5 {
        app.update();
    }
    app
}

fn send(app: &mut App, command: DirectorCommand) {
    app.world_mut().write_message(command);
    app.update();
}

/// Where the program camera is and looks.
fn program_camera(app: &mut App) -> (Vec3, Vec3) {
    let mut q = app
        .world_mut()
        .query_filtered::<&Transform, With<StageCamera>>();
    let t = *q.single(app.world()).unwrap();
    (t.translation, t.translation + t.forward() * 1.0)
}

#[test]
fn preview_and_take_with_a_transition_moves_the_program_camera_to_the_named_shot() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(&dir.path().join("shots.ron"));
    let side = app.world().resource::<ActiveShow>().0.shots["side"];
    let (side_eye, side_look, _) = side.framing();
    let (wide_eye, ..) = CameraShot::Wide.framing(Vec3::ZERO);
    let (eye, _) = program_camera(&mut app);
    assert!(eye.distance(wide_eye) < 1e-3, "the show opens wide: {eye}");

    // GO on cue 1 puts the side shot on preview; program stays wide.
    send(&mut app, DirectorCommand::Go);
    app.update();
    let cameras = app.world().resource::<CameraDirector>();
    assert_eq!(cameras.preview, Bus::named("side", side));
    assert_eq!(cameras.program.shot, ShotRef::Builtin(CameraShot::Wide));
    assert_eq!(cameras.preview_framing, side.framing());

    // AUTO with 1.5 s: the camera travels there over 1.5 s, and no sooner.
    send(&mut app, DirectorCommand::Take { transition: 1.5 });
    let start = program_camera(&mut app).0;
    let total = start.distance(side_eye);
    let mut travelled = Vec::new();
    for _ in 0..(1.5 / FRAME).round() as usize - 3 {
        app.update();
        travelled.push(1.0 - program_camera(&mut app).0.distance(side_eye) / total);
    }
    let halfway = travelled[travelled.len() / 2];
    assert!(
        (0.3..0.7).contains(&halfway),
        "halfway through the transition the camera is halfway: {halfway:.2}"
    );
    assert!(
        travelled.windows(2).all(|w| w[1] >= w[0] - 1e-4),
        "it moves steadily towards the shot"
    );
    assert!(*travelled.last().unwrap() < 0.999, "not there before 1.5 s");
    for _ in 0..6 {
        app.update();
    }
    let (eye, look_dir) = program_camera(&mut app);
    assert!(eye.distance(side_eye) < 1e-3, "on the side shot: {eye}");
    let expected = eye + (side_look - side_eye).normalize();
    assert!(look_dir.distance(expected) < 1e-3, "looking where it says");

    // The old program is on preview; CUT brings it back at once.
    let cameras = app.world().resource::<CameraDirector>();
    assert_eq!(cameras.program, Bus::named("side", side));
    assert_eq!(cameras.preview, Bus::builtin(CameraShot::Wide));
    send(&mut app, DirectorCommand::Take { transition: 0.0 });
    app.update();
    assert!(program_camera(&mut app).0.distance(wide_eye) < 1e-3);
}

#[test]
fn a_shot_saved_from_the_moved_preview_is_written_with_the_show() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shots.ron");
    let mut app = app(&path);
    // The operator moves the preview camera, then saves it as "high" (rounded to millimetres
    // and hundredths of a degree).
    let moved = FixedShot {
        eye: (0.50012, 4.99991, 8.0004),
        look: (0.0, 1.0, 0.0),
        fov: 35.00013,
    };
    let high = FixedShot {
        eye: (0.5, 5.0, 8.0),
        look: (0.0, 1.0, 0.0),
        fov: 35.0,
    };
    app.world_mut().write_message(AdjustPreview(moved));
    app.update();
    assert!(app.world().resource::<CameraDirector>().preview.adjusted);
    let framing = app.world().resource::<CameraDirector>().preview_framing;
    send(
        &mut app,
        DirectorCommand::SaveShot {
            name: "high".into(),
            shot: FixedShot::from_framing(framing),
        },
    );
    assert_eq!(
        app.world().resource::<CameraDirector>().preview,
        Bus::named("high", high)
    );
    assert!(
        app.world()
            .resource::<ling_stage::show::CueRunner>()
            .unsaved
    );
    send(&mut app, DirectorCommand::SaveShow);
    let back = ShowFile::load(&path).unwrap();
    assert_eq!(back.shots["high"], high);
    assert_eq!(
        back.shots["side"],
        app.world().resource::<ActiveShow>().0.shots["side"]
    );
    assert_eq!(back.cues, app.world().resource::<ActiveShow>().0.cues);

    // Reloaded, the saved shot is there to cut to.
    send(&mut app, DirectorCommand::LoadShow(path.clone()));
    send(
        &mut app,
        DirectorCommand::CutToShot {
            name: "high".into(),
            blend: 0.0,
        },
    );
    app.update();
    assert!(program_camera(&mut app).0.distance(Vec3::from(high.eye)) < 1e-3);
}
