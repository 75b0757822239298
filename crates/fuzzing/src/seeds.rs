//! Seed inputs made by the project's own code: a BVH and a VRM animation exported from the
//! demo's motion, VMC
//! packets from our VMC sender, the demo show, a take, small GLB avatars, WAV files, camera
//! frames, remote-control packets and iPhone face capture. The fuzzer starts from these (with the test data in
//! `../shared/data` when it is there), and the corpus replay runs them too.

use std::io::Cursor;

use bevy::math::{EulerRot, Quat};
use std::path::Path;

use ling_core::prelude::{DirectorCommand, ExpressionWeights, HumanBone, HumanoidPose, ShowFile};
use ling_core::show::Cue;
use ling_mocap::MotionPlayer;
use ling_mocap::take::TakeInfo;
use ling_mocap::vmc::VmcSender;
use ling_performer::avatar::glb;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};

/// The demo show, as shipped.
const DEMO_SHOW: &str = include_str!("../../../scenes/demo.ron");

/// One seed: its target, a file name, its bytes.
pub struct Seed {
    /// The target it feeds.
    pub target: &'static str,
    /// A file name for it in the fuzzer's input folder.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every seed, for every target.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push(Seed {
            target,
            name: name.to_string(),
            bytes,
        })
    };
    let demo = ShowFile::parse(DEMO_SHOW, Path::new("scenes/demo.ron")).ok();
    let player = demo.as_ref().and_then(|s| MotionPlayer::for_show(s).ok());

    // BVH: the demo's motion on the humanoid skeleton, and a small hand-written one with
    // every channel order.
    if let Some(player) = &player {
        add(
            "bvh",
            "demo-5-frames.bvh",
            player.export_bvh(10, 0.5).write().into_bytes(),
        );
    }
    add("bvh", "small.bvh", SMALL_BVH.as_bytes().to_vec());
    // VRM animation: the demo's motion, face and gaze, three frames.
    if let Some(player) = &player {
        add("vrma", "demo-3-frames.vrma", player.export_vrma(10, 0.3));
    }

    // VMC: our sender's frames, and one bundle of odd messages.
    let mut pose = HumanoidPose::default();
    pose.set(HumanBone::Head, bevy_quat(0.1, 0.2, 0.0));
    let mut face = ExpressionWeights::default();
    face.set("jawOpen", 0.6);
    face.set("eyeBlinkLeft", 1.0);
    let root = (Default::default(), Default::default());
    add(
        "vmc",
        "sender.osc",
        VmcSender::encode(&pose, root, &face, 1.5),
    );
    add(
        "vmc",
        "odd-bundle.osc",
        bundle(vec![
            msg("/VMC/Ext/Blend/Val", vec![s("A"), OscType::Float(2.0)]),
            msg("/VMC/Ext/Blend/Apply", vec![]),
            msg("/VMC/Ext/T", vec![OscType::Double(3.0)]),
            msg("/VMC/Ext/OK", vec![OscType::Int(1)]),
            msg(
                "/VMC/Ext/Root/Pos",
                vec![
                    s("root"),
                    f(0.0),
                    f(0.0),
                    f(0.0),
                    f(0.0),
                    f(0.0),
                    f(0.0),
                    f(1.0),
                ],
            ),
        ]),
    );

    // Shows: the demo as written, and as saving would write it whole.
    add("show", "demo.ron", DEMO_SHOW.as_bytes().to_vec());
    if let Some(text) = demo.as_ref().and_then(|d| {
        let mut whole = d.clone();
        whole.duration += 1.0;
        whole.to_text().ok()
    }) {
        add("show", "demo-rewritten.ron", text.into_bytes());
    }

    // A take: its four files joined by 0xFF.
    if let Some(player) = &player {
        let info = TakeInfo {
            name: "take-1".into(),
            show: "scenes/demo.ron".into(),
            fps: 30,
            frames: 3,
            duration: 0.1,
            started_unix: 1_700_000_000,
            complete: false,
        };
        let info = ron::to_string(&info).unwrap_or_default();
        let body = player.export_bvh(30, 0.1).write();
        let face = "Timecode,BlendShapeCount,EyeBlinkLeft,JawOpen,VisemeAA\n\
                    00:00:00:00.000,3,0.5,0.2,0.1\n00:00:00:01.000,3,1.0,0.0,0.4\n";
        let cue = ron::to_string(&Cue::timed(0.05, DirectorCommand::Pause)).unwrap_or_default();
        let commands = format!("{cue}\n");
        let parts = [
            info.as_bytes(),
            body.as_bytes(),
            face.as_bytes(),
            commands.as_bytes(),
        ];
        add("take", "take.bin", join_ff(&parts));
    }

    // Avatars: a VRM 0 and a VRM 1 GLB, and a .gltf JSON.
    add("avatar", "vrm0.vrm", glb(&vrm_json(false), &[0u8; 36]));
    add("avatar", "vrm1.vrm", glb(&vrm_json(true), &[0u8; 36]));
    // A .gltf carries its buffer as a data URI: 36 zero bytes.
    let embedded = format!(
        r#""buffers":[{{"byteLength":36,"uri":"data:application/octet-stream;base64,{}"}}]"#,
        "A".repeat(48)
    );
    let gltf = vrm_json(true).replace(r#""buffers":[{"byteLength":36}]"#, &embedded);
    add("avatar", "plain.gltf", gltf.into_bytes());

    // WAV: 16-bit mono, float stereo, 8-bit.
    for (name, spec) in [
        ("mono16.wav", (1, 16, hound::SampleFormat::Int)),
        ("stereo-float.wav", (2, 32, hound::SampleFormat::Float)),
        ("mono8.wav", (1, 8, hound::SampleFormat::Int)),
    ] {
        add("wav", name, wav(spec.0, spec.1, spec.2));
    }

    // Camera frames: 4×2 in every format (format byte, width, height, data).
    for (pick, len) in [(1u8, 16usize), (2, 12), (3, 24), (4, 24), (5, 8)] {
        let mut frame = vec![pick, 4, 0, 2, 0];
        frame.extend((0..len).map(|i| (i * 37 % 256) as u8));
        add("camera", &format!("format-{pick}.frame"), frame);
    }
    let img = image::RgbImage::from_fn(4, 2, |x, y| image::Rgb([x as u8 * 60, y as u8 * 120, 30]));
    let mut jpeg = Vec::new();
    if image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .is_ok()
    {
        let mut frame = vec![0u8, 4, 0, 2, 0];
        frame.extend(jpeg);
        add("camera", "format-0.frame", frame);
    }

    // Remote control: a message for each kind of command, and a bundle.
    let remote = [
        msg("/ling/go", vec![]),
        msg("/ling/cue", vec![s("3")]),
        msg("/ling/cue/2.5", vec![]),
        msg("/ling/seek", vec![f(4.5)]),
        msg("/ling/shot/wide", vec![]),
        msg("/ling/preview", vec![s("side")]),
        msg("/ling/take", vec![]),
        msg("/ling/effect/petal_rain", vec![OscType::Int(1)]),
        msg("/ling/light/house", vec![f(0.5)]),
        msg("/ling/emote/fun", vec![]),
        msg("/ling/backdrop", vec![s("green")]),
        msg("/ling/load", vec![s("scenes/demo.ron")]),
        msg("/ling/mic", vec![OscType::Bool(true)]),
    ];
    for (i, m) in remote.iter().enumerate() {
        let name = m.addr.trim_start_matches('/').replace('/', "-");
        add(
            "remote",
            &format!("{i:02}-{name}.osc"),
            encode(&OscPacket::Message(m.clone())),
        );
    }
    add(
        "remote",
        "bundle.osc",
        bundle(remote.into_iter().take(4).collect()),
    );

    // iPhone face capture: a frame of each app's, as the published formats lay them out
    // (the first byte picks the reader), and a Live Link Face CSV take.
    for (pick, name, bytes) in iphone_frames() {
        let mut input = vec![pick];
        input.extend(bytes);
        add("iphone", name, input);
    }
    out
}

/// A frame of each iPhone app's (jaw 0.6, blink 0.8, head turned) and a CSV take, with the
/// byte that picks its reader in the iphone target.
fn iphone_frames() -> Vec<(u8, &'static str, Vec<u8>)> {
    use ling_core::signals::ARKIT_NAMES;
    let weight = |n: &str| -> f32 {
        match n {
            "jawOpen" => 0.6,
            "eyeBlinkRight" => 0.8,
            _ => 0.0,
        }
    };
    let ifm: Vec<String> = ARKIT_NAMES
        .iter()
        .map(|n| {
            let short = n
                .strip_suffix("Left")
                .map(|s| format!("{s}_L"))
                .or_else(|| n.strip_suffix("Right").map(|s| format!("{s}_R")))
                .unwrap_or_else(|| n.to_string());
            format!("{short}-{}", (weight(n) * 100.0) as i32)
        })
        .collect();
    let ifm =
        ifm.join("|") + "|=head#-10,-20,5,0.01,-0.02,0.3|rightEye#1.5,-2,0|leftEye#1.5,-2.5,0|";
    let mut llf = vec![6u8];
    for s in ["3A1F0C2E-phone", "iPhoneFace"] {
        llf.extend((s.len() as u32).to_be_bytes());
        llf.extend(s.as_bytes());
    }
    llf.extend(42i32.to_be_bytes());
    llf.extend(0.0f32.to_be_bytes());
    llf.extend(60i32.to_be_bytes());
    llf.extend(1i32.to_be_bytes());
    llf.push(61);
    for i in 0..61 {
        let v = match i {
            i if i < 52 => weight(ARKIT_NAMES[i]),
            52 => 0.35,
            53 => 0.17,
            _ => 0.0,
        };
        llf.extend(v.to_be_bytes());
    }
    let shapes: Vec<String> = ARKIT_NAMES
        .iter()
        .map(|n| {
            format!(
                r#"{{"k":"{}{}","v":{}}}"#,
                n[..1].to_ascii_uppercase(),
                &n[1..],
                weight(n)
            )
        })
        .collect();
    let vts = format!(
        r#"{{"Timestamp":1700000000000,"Hotkey":-1,"FaceFound":true,"Rotation":{{"x":10,"y":20,"z":355}},"Position":{{"x":0.1,"y":-0.2,"z":-30}},"EyeLeft":{{"x":-2,"y":3,"z":0}},"EyeRight":{{"x":-2,"y":2.5,"z":0}},"BlendShapes":[{}]}}"#,
        shapes.join(",")
    );
    let mut csv = String::from("Timecode,BlendShapeCount");
    for n in ARKIT_NAMES {
        csv += &format!(",{}{}", n[..1].to_ascii_uppercase(), &n[1..]);
    }
    csv += ",HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll\n";
    for frame in [58, 59, 0, 1] {
        let second = if frame > 10 { 8 } else { 9 };
        csv += &format!("17:45:{second:02}:{frame:02}.480,61");
        for n in ARKIT_NAMES {
            csv += &format!(",{}", weight(n));
        }
        csv += ",0.35,0.17,0,0,0,0,0,0,0\n";
    }
    vec![
        (0, "ifacialmocap.txt", ifm.into_bytes()),
        (1, "livelinkface.bin", llf),
        (2, "vtubestudio.json", vts.into_bytes()),
        (3, "livelinkface-take.csv", csv.into_bytes()),
    ]
}

/// Parts joined by single 0xFF bytes, as the take target splits them.
fn join_ff(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0xFF);
        }
        out.extend_from_slice(p);
    }
    out
}

fn bevy_quat(x: f32, y: f32, z: f32) -> Quat {
    Quat::from_euler(EulerRot::YXZ, y, x, z)
}

fn s(text: &str) -> OscType {
    OscType::String(text.into())
}

fn f(v: f32) -> OscType {
    OscType::Float(v)
}

fn msg(addr: &str, args: Vec<OscType>) -> OscMessage {
    OscMessage {
        addr: addr.into(),
        args,
    }
}

fn encode(packet: &OscPacket) -> Vec<u8> {
    rosc::encoder::encode(packet).unwrap_or_default()
}

fn bundle(messages: Vec<OscMessage>) -> Vec<u8> {
    encode(&OscPacket::Bundle(OscBundle {
        timetag: OscTime::from((0, 1)),
        content: messages.into_iter().map(OscPacket::Message).collect(),
    }))
}

fn wav(channels: u16, bits: u16, format: hound::SampleFormat) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 16_000,
        bits_per_sample: bits,
        sample_format: format,
    };
    let mut bytes = Vec::new();
    if let Ok(mut w) = hound::WavWriter::new(Cursor::new(&mut bytes), spec) {
        for i in 0..64 * channels as i32 {
            let v = ((i as f32) * 0.3).sin();
            let _ = match (format, bits) {
                (hound::SampleFormat::Float, _) => w.write_sample(v),
                (_, 8) => w.write_sample((v * 100.0) as i8),
                _ => w.write_sample((v * 20_000.0) as i16),
            };
        }
        let _ = w.finalize();
    }
    bytes
}

const SMALL_BVH: &str = "HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    JOINT Head
    {
      OFFSET 0 20 0
      CHANNELS 3 Yrotation Zrotation Xrotation
      End Site
      {
        OFFSET 0 5 0
      }
    }
  }
  JOINT LeftUpLeg
  {
    OFFSET 5 -5 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.033333
0 90 0 0 0 0 10 0 0 0 5 0 1 2 3
1 91 0 5 0 0 12 0 0 0 6 0 2 3 4
";

/// The humanoid bones an avatar must map, as VRM names them.
const BONES: [&str; 17] = [
    "hips",
    "spine",
    "chest",
    "neck",
    "head",
    "leftUpperLeg",
    "leftLowerLeg",
    "leftFoot",
    "rightUpperLeg",
    "rightLowerLeg",
    "rightFoot",
    "leftUpperArm",
    "leftLowerArm",
    "leftHand",
    "rightUpperArm",
    "rightLowerArm",
    "rightHand",
];

/// A small glTF JSON with one node per humanoid bone and a 3-point mesh with one morph
/// target, and the VRM 0 or VRM 1 extension mapping them.
fn vrm_json(vrm1: bool) -> String {
    let nodes: Vec<String> = BONES
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let child = if i + 1 < BONES.len() && i < 4 {
                format!(r#","children":[{}]"#, i + 1)
            } else {
                String::new()
            };
            format!(r#"{{"name":"{b}","translation":[0,{}.1,0]{child}}}"#, i % 3)
        })
        .collect();
    let ext = if vrm1 {
        let bones: Vec<String> = BONES
            .iter()
            .enumerate()
            .map(|(i, b)| format!(r#""{b}":{{"node":{i}}}"#))
            .collect();
        format!(
            r#""extensionsUsed":["VRMC_vrm"],"extensions":{{"VRMC_vrm":{{"specVersion":"1.0","meta":{{"name":"seed","authors":["ling"],"licenseUrl":"https://vrm.dev/licenses/1.0/"}},"humanoid":{{"humanBones":{{{}}}}},"expressions":{{"preset":{{"aa":{{"morphTargetBinds":[{{"node":4,"index":0,"weight":1.0}}],"isBinary":false}}}},"custom":{{"smirk":{{}}}}}},"lookAt":{{"type":"bone","offsetFromHeadBone":[0,0.06,0]}}}}}}"#,
            bones.join(",")
        )
    } else {
        let bones: Vec<String> = BONES
            .iter()
            .enumerate()
            .map(|(i, b)| format!(r#"{{"bone":"{b}","node":{i}}}"#))
            .collect();
        format!(
            r#""extensionsUsed":["VRM"],"extensions":{{"VRM":{{"meta":{{"title":"seed","author":"ling","licenseName":"CC0"}},"humanoid":{{"humanBones":[{}]}},"blendShapeMaster":{{"blendShapeGroups":[{{"name":"A","presetName":"a","binds":[{{"mesh":0,"index":0,"weight":100}}]}}]}},"firstPerson":{{"lookAtTypeName":"Bone"}}}}}}"#,
            bones.join(",")
        )
    };
    format!(
        r#"{{"asset":{{"version":"2.0"}},"buffers":[{{"byteLength":36}}],"bufferViews":[{{"buffer":0,"byteOffset":0,"byteLength":36}}],"accessors":[{{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3"}}],"nodes":[{}],"meshes":[{{"primitives":[{{"attributes":{{"POSITION":0}},"targets":[{{"POSITION":0}}]}}],"extras":{{"targetNames":["A"]}}}}],{ext}}}"#,
        nodes.join(",")
    )
}
