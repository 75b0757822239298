//! Fuzz targets: every parser a user or the network can hand bytes to, each as a
//! `fn(&[u8])` that must return, whatever the bytes, without panicking, hanging or running
//! out of memory.
//!
//! Two runners share these functions:
//! - the AFL++ harness in `fuzz/` (built with cargo-afl, run by `scripts/fuzz.sh`), which
//!   searches for inputs that crash;
//! - the corpus replay in this crate's tests, part of the normal test run, which feeds every
//!   input kept in `fuzz/corpus/TARGET/` (the fuzzer's minimised corpus and the seeds) and
//!   `fuzz/regressions/TARGET/` (inputs that once crashed) through the same functions.
//!
//! A target runs the whole path a real input takes, not just the first parse: a BVH is
//! retargeted onto the humanoid and sampled, a VMC packet is applied to a pose, a show that
//! parses is written back and read again.

pub mod seeds;

use std::path::Path;

use ling_core::prelude::{ExpressionWeights, HumanoidPose};
use ling_core::show::ShowFile;
use ling_mocap::take::Take;
use ling_mocap::vmc::{VmcFrame, VmcStats, read_packet};
use ling_mocap::{BoneMap, bvh, retarget};

/// One fuzz target.
pub struct Target {
    /// Its name: the folder under `fuzz/corpus/` and the argument of `ling-fuzz`.
    pub name: &'static str,
    /// What it reads, for the README's table and `scripts/fuzz.sh --list`.
    pub what: &'static str,
    /// Runs one input.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "bvh",
        what: "BVH motion files: parse, retarget onto the humanoid, sample, write back",
        run: bvh_file,
    },
    Target {
        name: "vrma",
        what: "VRM animations (.vrma): GLB container, accessors and samplers, retarget, sample",
        run: vrma_file,
    },
    Target {
        name: "vmc",
        what: "VMC packets (OSC over UDP): decode, assemble a frame, apply it to a pose",
        run: vmc_packet,
    },
    Target {
        name: "show",
        what: "show files (RON): parse and check, write back, read again",
        run: show_file,
    },
    Target {
        name: "take",
        what: "take folders: take.ron, body.bvh, face.csv, commands.ron (split by 0xFF bytes)",
        run: take_files,
    },
    Target {
        name: "avatar",
        what: "VRM/glTF avatars: GLB container and declared lengths, glTF JSON, VRM 0/1 extensions",
        run: avatar_file,
    },
    Target {
        name: "wav",
        what: "WAV audio (hound): header, sample formats, truncation",
        run: wav_file,
    },
    Target {
        name: "audio",
        what: "compressed audio (symphonia): FLAC, Ogg Vorbis, MP3; the first byte picks the hint",
        run: compressed_audio,
    },
    Target {
        name: "camera",
        what: "camera frames: MJPEG, YUYV, NV12, RGB, BGR, grey; the first 5 bytes give format and size",
        run: camera_frame,
    },
    Target {
        name: "remote",
        what: "OSC remote control of the console: decode, map every message to a director command",
        run: remote_packet,
    },
    Target {
        name: "iphone",
        what: "iPhone face capture: iFacialMocap text, Live Link packets, VTube Studio JSON, Live Link CSV takes; the first byte picks",
        run: iphone_packet,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn bvh_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = bvh::parse(text) else {
        return;
    };
    // What is written must read back: a take's body is written by this writer.
    let written = parsed.write();
    if let Err(e) = bvh::parse(&written) {
        panic!("a parsed BVH does not read back after writing: {e}\n{written}");
    }
    let Ok(map) = BoneMap::for_bvh(&parsed) else {
        return;
    };
    let Ok(clip) = retarget::retarget(&parsed, &map) else {
        return;
    };
    let end = clip.duration();
    for t in [0.0, end * 0.5, end, end + 1.0, -1.0] {
        let pose = clip.sample(t);
        let _ = pose.model_transforms();
    }
}

fn vmc_packet(data: &[u8]) {
    let stats = VmcStats::default();
    let mut pending = VmcFrame::default();
    // Packets arrive one after another on one socket: feed the input as one packet, then its
    // halves, so a frame assembled over several packets is exercised too.
    let (a, b) = data.split_at(data.len() / 2);
    for packet in [data, a, b] {
        if read_packet(packet, &mut pending, &stats) {
            let frame = std::mem::take(&mut pending);
            let mut pose = HumanoidPose::default();
            frame.apply_to(&mut pose);
            let _ = pose.model_transforms();
            let mut face = ExpressionWeights::default();
            frame.apply_blends(&mut face);
        }
    }
}

fn show_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz/show.ron");
    let Ok(show) = ShowFile::parse(text, path) else {
        return;
    };
    // Saving checks that its text reads back; here only that writing never panics.
    if let Ok(written) = show.to_text() {
        let _ = ShowFile::parse(&written, path);
    }
}

fn take_files(data: &[u8]) {
    // 0xFF never occurs in UTF-8 text, so it can separate the four files.
    let mut parts = data.split(|&b| b == 0xFF).map(std::str::from_utf8);
    let (Some(Ok(info)), Some(Ok(body))) = (parts.next(), parts.next()) else {
        return;
    };
    let face = parts.next().and_then(Result::ok);
    let commands = parts.next().and_then(Result::ok);
    if let Ok(take) = Take::parse(Path::new("fuzz/take"), info, body, face, commands) {
        for pose in take.poses.iter().take(4) {
            let _ = pose.model_transforms();
        }
    }
}

fn vrma_file(data: &[u8]) {
    let Ok(anim) = ling_mocap::vrma::parse(data) else {
        return;
    };
    let Ok(clip) = anim.clip() else {
        return;
    };
    let end = clip.duration();
    for t in [0.0, end * 0.5, end, end + 1.0, -1.0] {
        let _ = clip.sample(t).model_transforms();
    }
}

fn avatar_file(data: &[u8]) {
    let path = if data.starts_with(b"glTF") {
        Path::new("fuzz/avatar.vrm")
    } else {
        Path::new("fuzz/avatar.gltf")
    };
    let _ = ling_performer::avatar::AvatarFile::parse(data, path);
}

fn wav_file(data: &[u8]) {
    let _ = ling_audio::analysis::AudioClip::decode(data.to_vec(), Path::new("fuzz/audio.wav"));
}

fn compressed_audio(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = match pick % 3 {
        0 => "fuzz/audio.flac",
        1 => "fuzz/audio.ogg",
        _ => "fuzz/audio.mp3",
    };
    let _ = ling_audio::analysis::AudioClip::decode(rest.to_vec(), Path::new(name));
}

fn camera_frame(data: &[u8]) {
    use ling_tracking::camera::FrameFormat;
    let [pick, w0, w1, h0, h1, rest @ ..] = data else {
        return;
    };
    let format = match pick % 6 {
        0 => FrameFormat::MJPEG,
        1 => FrameFormat::YUYV,
        2 => FrameFormat::NV12,
        3 => FrameFormat::RAWRGB,
        4 => FrameFormat::RAWBGR,
        _ => FrameFormat::GRAY,
    };
    let width = u16::from_le_bytes([*w0, *w1]) as u32;
    let height = u16::from_le_bytes([*h0, *h1]) as u32;
    if let Ok(frame) = ling_tracking::camera::decode(format, width, height, rest) {
        assert_eq!(
            frame.rgb.len(),
            frame.width as usize * frame.height as usize * 3,
            "a decoded {format} frame's pixels do not match its size"
        );
    }
}

fn iphone_packet(data: &[u8]) {
    use ling_tracking::iphone::{FaceTake, IphoneProtocol, parse};
    let [pick, rest @ ..] = data else {
        return;
    };
    let protocol = match pick % 4 {
        0 => IphoneProtocol::IFacialMocap,
        1 => IphoneProtocol::LiveLinkFace,
        2 => IphoneProtocol::VTubeStudio,
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(take) = FaceTake::parse(text, Path::new("fuzz.csv")) {
                assert_eq!(take.times.len(), take.frames.len());
                assert!(take.times.windows(2).all(|w| w[0] <= w[1]), "times go back");
                let _ = take.at(take.duration() / 2.0);
            }
            return;
        }
    };
    if let Ok(face) = parse(protocol, rest) {
        let weights = face.wearable_weights();
        assert!(
            weights.iter().flatten().all(|w| (0.0..=1.0).contains(w)),
            "a weight outside 0..=1: {weights:?}"
        );
        let mut e = ExpressionWeights::default();
        face.wear_weights(&mut e, 0.5);
        if let Some(turn) = face.head_turn() {
            assert!(turn.is_finite() && turn.is_normalized(), "head turn {turn}");
        }
    }
}

fn remote_packet(data: &[u8]) {
    let Ok((_, packet)) = rosc::decoder::decode_udp(data) else {
        return;
    };
    let mut messages = Vec::new();
    flatten(packet, &mut messages);
    for m in &messages {
        let _ = ling_remote::command_for(m);
    }
}

/// A packet's messages, bundles opened, at most 4 096 of them.
fn flatten(packet: rosc::OscPacket, out: &mut Vec<rosc::OscMessage>) {
    match packet {
        rosc::OscPacket::Message(m) => out.push(m),
        rosc::OscPacket::Bundle(b) => {
            for p in b.content {
                if out.len() >= 4_096 {
                    return;
                }
                flatten(p, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Runs `input` through `target`, returning the panic's message if it panicked.
    fn survives(target: &Target, input: &[u8]) -> Result<(), String> {
        std::panic::catch_unwind(|| (target.run)(input)).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    }

    /// The files in `dir`, if it exists.
    fn files_in(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    #[test]
    fn every_target_has_seeds_and_they_survive() {
        let seeds = seeds::all();
        for t in TARGETS {
            let mine: Vec<_> = seeds.iter().filter(|s| s.target == t.name).collect();
            // compressed audio is seeded by scripts/fuzz.sh with ffmpeg-made files.
            if t.name != "audio" {
                assert!(!mine.is_empty(), "target {} has no seeds", t.name);
            }
            for s in mine {
                survives(t, &s.bytes).unwrap_or_else(|e| panic!("seed {}: {e}", s.name));
            }
        }
        for s in &seeds {
            assert!(
                target(&s.target).is_some(),
                "seed {} names no target",
                s.name
            );
        }
    }

    #[test]
    fn the_seeds_are_inputs_the_parsers_accept() {
        // Seeds a parser refuses would start the fuzzer in the error paths only.
        let seeds = seeds::all();
        let get = |name: &str| {
            &seeds
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no seed {name}"))
                .bytes
        };
        let text = |name: &str| String::from_utf8(get(name).clone()).expect("text seed");
        let anim = ling_mocap::vrma::parse(get("demo-3-frames.vrma")).expect("the vrma seed reads");
        // Keys every 0.1 s over 0.2 s are sampled at 30 fps at the least.
        assert_eq!((anim.bvh.frame_count, anim.faces.len()), (7, 7));
        for name in ["demo-5-frames.bvh", "small.bvh"] {
            let parsed = bvh::parse(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                parsed.frame_count >= 2,
                "{name}: {} frames",
                parsed.frame_count
            );
        }
        let demo = bvh::parse(&text("demo-5-frames.bvh")).expect("demo bvh");
        let names: Vec<&str> = demo.joints.iter().map(|j| j.name.as_str()).collect();
        let map = BoneMap::detect(&names).expect("the exported skeleton is a humanoid");
        assert_eq!(
            retarget::retarget(&demo, &map)
                .expect("retargets")
                .poses
                .len(),
            5
        );
        let stats = VmcStats::default();
        let mut frame = VmcFrame::default();
        assert!(read_packet(get("sender.osc"), &mut frame, &stats));
        assert!(frame.bones.len() > 20, "{} bones", frame.bones.len());
        assert_eq!(
            stats.malformed.load(std::sync::atomic::Ordering::Relaxed),
            0
        );
        for name in ["demo.ron", "demo-rewritten.ron"] {
            ShowFile::parse(&text(name), Path::new(name)).unwrap_or_else(|e| panic!("{e}"));
        }
        let take = get("take.bin");
        let parts: Vec<&str> = take
            .split(|&b| b == 0xFF)
            .map(|p| std::str::from_utf8(p).expect("utf-8 part"))
            .collect();
        let take = Take::parse(
            Path::new("t"),
            parts[0],
            parts[1],
            Some(parts[2]),
            Some(parts[3]),
        )
        .expect("the take seed reads");
        assert_eq!(
            (take.poses.len(), take.faces.len(), take.commands.len()),
            (3, 2, 1)
        );
        assert!(take.faces[1].get("eyeBlinkLeft") == Some(1.0));
        for name in ["vrm0.vrm", "vrm1.vrm", "plain.gltf"] {
            let avatar = ling_performer::avatar::AvatarFile::parse(get(name), Path::new(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(avatar.node_names.len(), 17, "{name}");
        }
        for name in ["mono16.wav", "stereo-float.wav", "mono8.wav"] {
            let clip = ling_audio::analysis::AudioClip::decode(get(name).clone(), Path::new(name))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(clip.samples.len(), 64, "{name}");
        }
        for pick in 0..6 {
            let frame = get(&format!("format-{pick}.frame"));
            let format = [
                ling_tracking::camera::FrameFormat::MJPEG,
                ling_tracking::camera::FrameFormat::YUYV,
                ling_tracking::camera::FrameFormat::NV12,
                ling_tracking::camera::FrameFormat::RAWRGB,
                ling_tracking::camera::FrameFormat::RAWBGR,
                ling_tracking::camera::FrameFormat::GRAY,
            ][pick];
            let decoded = ling_tracking::camera::decode(format, 4, 2, &frame[5..])
                .unwrap_or_else(|e| panic!("{format}: {e}"));
            assert_eq!(decoded.rgb.len(), 24);
        }
        let mut commands = 0;
        for s in seeds
            .iter()
            .filter(|s| s.target == "remote" && s.name != "bundle.osc")
        {
            let (_, packet) = rosc::decoder::decode_udp(&s.bytes).expect("osc");
            let rosc::OscPacket::Message(m) = packet else {
                panic!("{}: not a message", s.name)
            };
            if matches!(ling_remote::command_for(&m), Ok(Some(_))) {
                commands += 1;
            }
        }
        assert!(
            commands >= 10,
            "only {commands} remote seeds map to commands"
        );
    }

    #[test]
    fn the_kept_corpus_and_every_regression_replay() {
        let fuzz = ling_testkit::repo_root().join("fuzz");
        let mut ran = 0;
        let mut failed = Vec::new();
        for t in TARGETS {
            for kind in ["corpus", "regressions"] {
                for file in files_in(&fuzz.join(kind).join(t.name)) {
                    let bytes = std::fs::read(&file).expect("read corpus file");
                    if let Err(e) = survives(t, &bytes) {
                        failed.push(format!("{}: {e}", file.display()));
                    }
                    ran += 1;
                }
            }
        }
        println!(
            "replayed {ran} kept inputs through {} targets",
            TARGETS.len()
        );
        assert!(
            failed.is_empty(),
            "inputs that crash:\n{}",
            failed.join("\n")
        );
    }

    #[test]
    fn mjpeg_frames_claiming_a_huge_picture_are_refused_before_decoding() {
        // Found by fuzzing: each took 3–6 s to decode, stalling tracking.
        let dir = ling_testkit::repo_root().join("fuzz/regressions/camera");
        let hangs: Vec<PathBuf> = files_in(&dir)
            .into_iter()
            .filter(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("hang-"))
            })
            .collect();
        assert!(!hangs.is_empty(), "no hang inputs in {}", dir.display());
        for file in hangs {
            let bytes = std::fs::read(&file).expect("read");
            let e = ling_tracking::camera::decode(
                ling_tracking::camera::FrameFormat::MJPEG,
                4,
                2,
                &bytes[5..],
            )
            .expect_err("refused");
            assert!(e.contains("far larger"), "{}: {e}", file.display());
        }
    }

    #[test]
    fn progressive_mjpeg_frames_that_crash_the_jpeg_decoder_are_refused() {
        // Found by fuzzing (session 8): zune-jpeg asserts on these 4×2 progressive frames.
        let dir = ling_testkit::repo_root().join("fuzz/regressions/camera");
        let crashes: Vec<PathBuf> = files_in(&dir)
            .into_iter()
            .filter(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("crashes-"))
            })
            .collect();
        assert!(!crashes.is_empty(), "no crash inputs in {}", dir.display());
        for file in crashes {
            let bytes = std::fs::read(&file).expect("read");
            let e = ling_tracking::camera::decode(
                ling_tracking::camera::FrameFormat::MJPEG,
                4,
                2,
                &bytes[5..],
            )
            .expect_err("refused");
            assert!(e.contains("does not decode"), "{}: {e}", file.display());
        }
    }

    #[test]
    fn the_shared_test_data_replays() {
        let Some(data) = ling_testkit::shared_data("") else {
            ling_testkit::skip("../shared/data not found: the shared files are not replayed");
            return;
        };
        let mut ran = 0;
        for (folder, target_name) in [("mocap", "bvh"), ("avatars", "avatar"), ("audio", "wav")] {
            let t = target(target_name).expect("target");
            for file in files_in(&data.join(folder)) {
                let bytes = std::fs::read(&file).expect("read shared file");
                survives(t, &bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                // And cut short at a few places, as a crashed download would leave it.
                for cut in [
                    bytes.len() / 3,
                    bytes.len() / 2,
                    bytes.len().saturating_sub(7),
                ] {
                    survives(t, &bytes[..cut])
                        .unwrap_or_else(|e| panic!("{} cut at {cut}: {e}", file.display()));
                }
                ran += 1;
            }
        }
        assert!(ran >= 5, "only {ran} shared files found");
    }
}
