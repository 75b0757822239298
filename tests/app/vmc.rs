//! VMC interoperability with an independent peer: python-osc (PyPI) driven by
//! `scripts/vmc_client.py`, streaming a CMU clip to our receiver and reading our sender.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::{python_osc_script, root};
use bevy::math::{Quat, Vec3};
use ling_stage::mocap::vmc::{VmcReceiver, VmcSender, convert_rotation};
use ling_stage::mocap::{BoneMap, bvh, retarget};
use ling_stage::signals::{ExpressionWeights, HumanBone, HumanoidPose};

fn angle(a: Quat, b: Quat) -> f32 {
    let d = a.inverse() * b;
    let d = if d.w < 0.0 { -d } else { d };
    2.0 * d.xyz().length().atan2(d.w)
}

#[test]
fn python_osc_streams_a_cmu_clip_into_our_receiver() {
    let clip = root().join("../shared/data/mocap/cmu_131_03.bvh");
    if !clip.exists() {
        ling_testkit::skip(format!(
            "python_osc_streams_a_cmu_clip_into_our_receiver: {} not found",
            clip.display()
        ));
        return;
    }
    let mut py = match python_osc_script("vmc_client.py") {
        Ok(p) => p,
        Err(why) => {
            ling_testkit::skip(format!(
                "python_osc_streams_a_cmu_clip_into_our_receiver: {why}"
            ));
            return;
        }
    };
    // The clip as a humanoid BVH (what the peer reads), exported by the CLI.
    let dir = tempfile::tempdir().unwrap();
    let humanoid = dir.path().join("cmu.bvh");
    let out = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
        .current_dir(root())
        .args(["mocap", "export", "scenes/demo.ron", "--motion"])
        .arg(&clip)
        .arg("--out")
        .arg(&humanoid)
        .args(["--fps", "60", "--seconds", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = {
        let b = bvh::load(&humanoid).unwrap();
        let names: Vec<&str> = b.joints.iter().map(|j| j.name.as_str()).collect();
        retarget::retarget(&b, &BoneMap::detect(&names).unwrap()).unwrap()
    };

    let rx = VmcReceiver::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let sent = 180;
    let status = py
        .arg("send")
        .arg(&humanoid)
        .args([
            "127.0.0.1",
            &rx.addr.port().to_string(),
            "--fps",
            "120",
            "--frames",
            &sent.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let mut frames = Vec::new();
    while let Ok(f) = rx.frames.recv_timeout(Duration::from_millis(500)) {
        frames.push(f);
    }
    assert_eq!(
        frames.len(),
        sent,
        "every frame arrives, none dropped by us"
    );
    assert_eq!(rx.stats.malformed.load(Ordering::Relaxed), 0);
    assert_eq!(rx.stats.unknown_bones.load(Ordering::Relaxed), 0);
    assert_eq!(rx.stats.dropped.load(Ordering::Relaxed), 0);
    let mut worst = 0f32;
    for frame in &frames {
        let t = frame.time.expect("the peer sends /VMC/Ext/T");
        let index = (t as f64 / expected.frame_time).round() as usize;
        let mut pose = HumanoidPose::default();
        frame.apply_to(&mut pose);
        assert_eq!(frame.bones.len(), HumanBone::COUNT);
        for &bone in HumanBone::ALL {
            if bone == HumanBone::Hips {
                continue; // the export folds the stage facing into the hips; compared below
            }
            worst = worst.max(angle(
                pose.rotation(bone),
                expected.poses[index].rotation(bone),
            ));
        }
        let mut e = ExpressionWeights::default();
        frame.apply_blends(&mut e);
        assert_eq!(e.get("eyeBlinkLeft"), Some(1.0));
        assert_eq!(e.get("aa"), Some(0.5));
    }
    assert!(
        worst < 1e-3,
        "bone rotations match the clip within {worst} rad"
    );
}

#[test]
fn python_osc_reads_our_sender() {
    let mut py = match python_osc_script("vmc_client.py") {
        Ok(p) => p,
        Err(why) => {
            ling_testkit::skip(format!("python_osc_reads_our_sender: {why}"));
            return;
        }
    };
    let count = 30;
    let mut child = py
        .args(["listen", "0", &count.to_string(), "--timeout", "10"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let port = ready["ready"]
        .as_u64()
        .expect("the peer says which port it listens on");
    let sender = VmcSender::new(format!("127.0.0.1:{port}").parse().unwrap()).unwrap();
    let mut pose = HumanoidPose::default();
    let turn = Quat::from_rotation_y(0.5) * Quat::from_rotation_x(0.2);
    pose.set(HumanBone::Head, turn);
    pose.hips = Vec3::new(0.1, 0.93, 0.0);
    let mut e = ExpressionWeights::default();
    e.set("mouthSmileLeft", 0.8);
    e.set("mouthSmileRight", 0.8);
    for _ in 0..count + 5 {
        sender
            .send(&pose, (Vec3::ZERO, Quat::IDENTITY), &e)
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let summary: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    child.wait().unwrap();
    assert!(
        summary["frames"].as_u64().unwrap() >= count as u64,
        "{summary}"
    );
    let bones = summary["bones"].as_object().unwrap();
    assert_eq!(bones.len(), HumanBone::COUNT, "every bone, by Unity name");
    assert!(bones.contains_key("LeftThumbProximal") && bones.contains_key("RightLittleDistal"));
    let value = |bone: &str, i: usize| bones[bone][i].as_f64().unwrap() as f32;
    let unity = convert_rotation(turn);
    let got = Quat::from_xyzw(
        value("Head", 3),
        value("Head", 4),
        value("Head", 5),
        value("Head", 6),
    );
    assert!(
        angle(got, unity) < 1e-5,
        "Head arrives in Unity axes: {got:?} vs {unity:?}"
    );
    assert!(
        (value("Hips", 0) + 0.1).abs() < 1e-6 && (value("Hips", 1) - 0.93).abs() < 1e-6,
        "hips mirrored"
    );
    assert!(
        (summary["blends"]["Joy"].as_f64().unwrap() - 0.8).abs() < 1e-6,
        "{summary}"
    );
}
