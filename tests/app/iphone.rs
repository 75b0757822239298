//! iPhone face capture against a stand-in phone: `scripts/iphone_sender.py` (Python's standard
//! library, written from the apps' published formats) plays iFacialMocap, VTube Studio and
//! Live Link Face, and writes a Live Link Face CSV take; a headless app receives them and
//! the performer wears the face.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use ling_stage::signals::{ExpressionWeights, HumanBone, HumanoidPose, Performer};
use ling_stage::tracking::iphone::{IphoneSettings, IphoneStatus};

use crate::support::root;

fn sender(args: &[&str]) -> Option<Command> {
    if Command::new("python3").arg("--version").output().is_err() {
        ling_testkit::skip("iPhone sender tests: python3 not found");
        return None;
    }
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("scripts/iphone_sender.py")).args(args);
    Some(cmd)
}

/// Starts a stand-in phone that waits to be asked; returns it and its port.
fn phone(app: &str) -> Option<(Child, u16)> {
    let mut child = sender(&[app, "--frames", "240", "--garbage", "3"])?
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("phone ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the phone says where it listens: {line:?}"));
    Some((child, port))
}

fn app(settings: IphoneSettings) -> (App, Entity) {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        ling_core::plugin,
        ling_stage::tracking::plugin,
    ))
    .insert_resource(settings)
    // The show's motion, which writes her pose and face afresh every frame.
    .add_systems(
        Update,
        (|mut performers: Query<(&mut ExpressionWeights, &mut HumanoidPose)>| {
            for (mut e, mut p) in &mut performers {
                *e = ExpressionWeights::default();
                *p = HumanoidPose::default();
            }
        })
        .in_set(ling_stage::AppSystems::Ingest),
    );
    let performer = app
        .world_mut()
        .spawn((
            Performer {
                name: "test".into(),
                bones: Vec::new(),
            },
            ExpressionWeights::default(),
            HumanoidPose::default(),
        ))
        .id();
    app.update();
    (app, performer)
}

/// Runs the app until the performer wears the sender's face (jaw 0.6, smile 0.4, right blink
/// 0.8, head yaw 20° to her left, pitch 10° up, roll -5°) or 10 s pass; checks it and the
/// status.
fn wears_the_phones_face(app: &mut App, performer: Entity, what: &str) {
    let face = |app: &App| {
        let e = app.world().get::<ExpressionWeights>(performer).unwrap();
        let head = app
            .world()
            .get::<HumanoidPose>(performer)
            .unwrap()
            .rotations[HumanBone::Head.index()];
        (
            [
                e.get("jawOpen").unwrap(),
                e.get("mouthSmileLeft").unwrap(),
                e.get("eyeBlinkRight").unwrap(),
            ],
            head,
        )
    };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        app.update();
        std::thread::sleep(Duration::from_millis(10));
        if face(app).0[0] > 0.5 && app.world().resource::<IphoneStatus>().malformed >= 3 {
            break;
        }
    }
    let (weights, head) = face(app);
    let status = app.world().resource::<IphoneStatus>().clone();
    for (got, want) in weights.iter().zip([0.6, 0.4, 0.8]) {
        assert!(
            (got - want).abs() < 1e-3,
            "{what}: {weights:?} ({status:?})"
        );
    }
    // The head bone turned as webcam tracking turns it: yaw about Y, pitch about -X.
    let expected = Quat::from_euler(
        EulerRot::YXZ,
        20f32.to_radians(),
        -(10f32.to_radians()),
        5f32.to_radians(),
    );
    let off = head.angle_between(expected).to_degrees();
    assert!(off < 0.1, "{what}: the head is {off}° from the phone's");
    assert_eq!(
        status.malformed, 3,
        "{what}: the garbage is counted: {status:?}"
    );
    assert!(status.last_malformed.is_some() && status.frames > 0);
    assert!(status.sender.is_some_and(|s| s.ip().is_loopback()));
    assert!(status.weight > 0.99 && status.face_found, "{status:?}");
}

#[test]
fn ifacialmocap_frames_from_a_stand_in_phone_land_on_the_performer() {
    let Some((mut child, port)) = phone("ifacialmocap") else {
        return;
    };
    let (mut app, performer) = app(IphoneSettings {
        request: Some(format!("ifacialmocap=127.0.0.1:{port}").parse().unwrap()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..default()
    });
    wears_the_phones_face(&mut app, performer, "iFacialMocap");
    assert!(child.wait().unwrap().success());
}

#[test]
fn vtube_studio_frames_asked_for_from_a_stand_in_phone_land_on_the_performer() {
    let Some((mut child, port)) = phone("vtubestudio") else {
        return;
    };
    let (mut app, performer) = app(IphoneSettings {
        request: Some(format!("vtubestudio=127.0.0.1:{port}").parse().unwrap()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..default()
    });
    wears_the_phones_face(&mut app, performer, "VTube Studio");
    assert!(child.wait().unwrap().success());
}

#[test]
fn live_link_face_packets_from_a_stand_in_phone_land_on_the_performer() {
    let (mut app, performer) = app(IphoneSettings {
        request: Some("livelinkface".parse().unwrap()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..default()
    });
    let addr: SocketAddr = app.world().resource::<IphoneStatus>().listening.unwrap();
    let Some(mut cmd) = sender(&[
        "livelinkface",
        "127.0.0.1",
        &addr.port().to_string(),
        "--frames",
        "240",
        "--garbage",
        "3",
    ]) else {
        return;
    };
    let mut child = cmd.stdout(Stdio::null()).spawn().unwrap();
    wears_the_phones_face(&mut app, performer, "Live Link Face");
    assert!(child.wait().unwrap().success());
}

/// A Live Link Face CSV take played by `record --face-csv`: the recorded take's face is the
/// CSV's.
#[test]
fn record_plays_a_live_link_face_csv_take_as_her_face() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("take_iPhone.csv");
    let Some(mut cmd) = sender(&["csv", csv.to_str().unwrap(), "--frames", "600"]) else {
        return;
    };
    assert!(cmd.status().unwrap().success());
    let takes = dir.path().join("takes");
    let out = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
        .current_dir(root())
        .args(["record", "scenes/demo.ron", "--seconds", "2", "--face-csv"])
        .arg(&csv)
        .arg("--takes")
        .arg(&takes)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let take = std::fs::read_dir(&takes)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let face = std::fs::read_to_string(take.join("face.csv")).unwrap();
    let mut lines = face.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (jaw, smile) = (column("JawOpen"), column("MouthSmileLeft"));
    let rows: Vec<Vec<f32>> = lines
        .map(|l| l.split(',').skip(2).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert!(rows.len() > 30, "{} frames recorded", rows.len());
    for row in &rows[5..] {
        assert!((row[jaw - 2] - 0.6).abs() < 1e-3 && (row[smile - 2] - 0.4).abs() < 1e-3);
    }
    // A take that is not a CSV is refused with its name, before the show starts.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "Frame,Jaw\n1,2\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
        .current_dir(root())
        .args(["record", "scenes/demo.ron", "--seconds", "1", "--face-csv"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("bad.csv:1:"),
        "{stderr}"
    );
}

/// `--iphone-listen` beyond loopback is refused without --allow-network, naming the flag.
#[test]
fn an_iphone_listener_on_the_network_needs_allow_network() {
    let out = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
        .current_dir(root())
        .args([
            "record",
            "scenes/demo.ron",
            "--seconds",
            "1",
            "--iphone",
            "livelinkface",
            "--iphone-listen",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("--iphone-listen: 0.0.0.0:0 is not a loopback address")
            && stderr.contains("--allow-network"),
        "{stderr}"
    );
}

/// `record --iphone livelinkface` end to end: the stand-in phone streams while the show
/// records, and the take's face is the phone's.
#[test]
fn record_takes_the_face_from_live_link_face() {
    // python3 is there (the sender is run once the show listens).
    if sender(&[]).is_none() {
        return;
    }
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let takes = dir.path().join("takes");
    let record = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
        .current_dir(root())
        .args([
            "record",
            "scenes/demo.ron",
            "--seconds",
            "4",
            "--iphone",
            "livelinkface",
        ])
        .args(["--iphone-listen", &format!("127.0.0.1:{port}"), "--takes"])
        .arg(&takes)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let streamed = sender(&[
        "livelinkface",
        "127.0.0.1",
        &port.to_string(),
        "--frames",
        "400",
    ])
    .unwrap()
    .stdout(Stdio::null())
    .status()
    .unwrap();
    assert!(streamed.success());
    let out = record.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let take = std::fs::read_dir(&takes)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let face = std::fs::read_to_string(take.join("face.csv")).unwrap();
    let mut lines = face.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let jaw = header.iter().position(|c| *c == "JawOpen").unwrap();
    let phone_rows = lines
        .filter(|l| {
            let v: f32 = l.split(',').nth(jaw).unwrap().parse().unwrap();
            (v - 0.6).abs() < 1e-3
        })
        .count();
    assert!(
        phone_rows > 60,
        "{phone_rows} recorded frames wear the phone's jaw"
    );
}
