//! The subcommands that read a file and print what they found (`track`, `audio analyze`,
//! `avatar inspect`, `mocap inspect`, `mocap export`): the library does the work, these print.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ling_stage::load_show;
use ling_stage::mocap::MotionPlayer;

/// `track FILE`: the face and hands found in each frame of a video, image or folder.
pub(crate) fn track(file: &Path, json: bool) -> anyhow::Result<()> {
    use ling_stage::tracking::{face::FaceTracker, hand::HandTracker, source::FrameSource};
    let mut source = FrameSource::open(file)?;
    let mut faces = FaceTracker::new()?;
    let mut hands = HandTracker::new()?;
    let mut index = 0usize;
    while let Some((name, frame)) = source.next_frame()? {
        // Images are unrelated stills: each is searched from scratch. Video frames track.
        if source.fps().is_none() {
            faces.lose();
            hands.lose();
        }
        let started = std::time::Instant::now();
        let face = faces.track(&frame)?;
        let face_ms = started.elapsed().as_secs_f64() * 1000.0;
        let started = std::time::Instant::now();
        let found = hands.track_all(&frame)?;
        let hand_ms = started.elapsed().as_secs_f64() * 1000.0;
        let time = source.fps().map(|fps| index as f64 / fps);
        if json {
            let line = serde_json::json!({
                "frame": index,
                "time": time,
                "file": if name.is_empty() { None } else { Some(&name) },
                "width": frame.width,
                "height": frame.height,
                "face": face,
                "hands": found,
                "ms": { "face": face_ms, "hand": hand_ms },
            });
            println!("{line}");
        } else {
            let label = if name.is_empty() {
                format!("frame {index}")
            } else {
                name.clone()
            };
            println!("{label} ({}×{}):", frame.width, frame.height);
            match &face {
                Some(f) => {
                    let top: Vec<String> = {
                        let mut e = f.expressions.clone();
                        e.sort_by(|a, b| b.1.total_cmp(&a.1));
                        e.iter()
                            .take(4)
                            .map(|(n, w)| format!("{n} {w:.2}"))
                            .collect()
                    };
                    println!(
                        "  face at ({:.0}, {:.0}) {:.0}×{:.0} px{}, presence {:.2}; head yaw {:+.0}° pitch {:+.0}° roll {:+.0}°; {}{} ({})",
                        f.center[0],
                        f.center[1],
                        f.size[0],
                        f.size[1],
                        f.detection_score
                            .map(|s| format!(" (detected, score {s:.2})"))
                            .unwrap_or_else(|| " (tracked)".into()),
                        f.presence,
                        f.head.yaw,
                        f.head.pitch,
                        f.head.roll,
                        f.gaze
                            .map(|g| format!("gaze yaw {:+.0}° pitch {:+.0}°; ", g.yaw, g.pitch))
                            .unwrap_or_default(),
                        top.join(", "),
                        f.solver
                    );
                }
                None => println!("  no face"),
            }
            if found.is_empty() {
                println!("  no hand");
            }
            for h in &found {
                println!(
                    "  {} hand, presence {:.2}, wrist at ({:.0}, {:.0}) turned yaw {:+.0}° pitch {:+.0}° roll {:+.0}°, index finger curls {:.0}° {:.0}° {:.0}°",
                    if h.right > 0.5 { "right" } else { "left" },
                    h.presence,
                    h.landmarks[0][0],
                    h.landmarks[0][1],
                    h.wrist.yaw,
                    h.wrist.pitch,
                    h.wrist.roll,
                    h.curls[1][0],
                    h.curls[1][1],
                    h.curls[1][2]
                );
            }
            println!("  {face_ms:.1} ms face, {hand_ms:.1} ms hand");
        }
        index += 1;
    }
    if index == 0 {
        anyhow::bail!("{}: no frames", file.display());
    }
    Ok(())
}

/// `audio analyze FILE`: level, viseme, onsets and tempo.
pub(crate) fn analyze_audio(file: &Path, json: bool) -> anyhow::Result<()> {
    use ling_stage::audio::analysis::{AudioClip, analyze};
    let clip = AudioClip::load(file)?;
    let started = std::time::Instant::now();
    let a = analyze(&clip);
    let took = started.elapsed();
    if json {
        println!("{}", serde_json::to_string(&a)?);
        return Ok(());
    }
    println!(
        "{}: {:.2} s at {} Hz, analysed in {:.1} ms",
        file.display(),
        clip.duration(),
        clip.rate,
        took.as_secs_f64() * 1000.0
    );
    println!("{:>8} {:>8} {:>8}  viseme", "time s", "dBFS", "peak");
    for f in &a.frames {
        println!(
            "{:>8.2} {:>8.1} {:>8.1}  {}",
            f.time,
            f.rms_dbfs,
            f.peak_dbfs,
            f.viseme
                .map(|v| format!("{v} {:.2}", f.weight))
                .unwrap_or_else(|| "-".into())
        );
    }
    let onsets: Vec<String> = a.onsets.iter().map(|t| format!("{t:.3}")).collect();
    println!("onsets ({}): {}", onsets.len(), onsets.join(" "));
    match a.tempo_bpm {
        Some(bpm) => println!("tempo: {bpm:.1} BPM"),
        None => println!("tempo: not enough onsets"),
    }
    Ok(())
}

/// `avatar inspect FILE`: what Ling Stage reads from an avatar file.
pub(crate) fn inspect_avatar(file: &Path) -> anyhow::Result<()> {
    use ling_stage::performer::avatar::{AvatarFile, ColliderShape};
    let started = std::time::Instant::now();
    let a = AvatarFile::load(file)?;
    let took = started.elapsed();
    println!(
        "{} ({:?}, read in {:.1} ms)",
        file.display(),
        a.kind,
        took.as_secs_f64() * 1000.0
    );
    println!(
        "meta: \"{}\" {} by {} — licence: {}",
        a.meta.title,
        a.meta.version,
        a.meta.authors.join(", "),
        if a.meta.license.is_empty() {
            "(none stated)"
        } else {
            &a.meta.license
        }
    );
    for (k, v) in &a.meta.fields {
        if !v.is_empty() {
            println!("  {k}: {v}");
        }
    }
    println!(
        "humanoid: {} of {} bones ({} nodes, {} skinned meshes)",
        a.humanoid.len(),
        ling_stage::signals::HumanBone::COUNT,
        a.node_count,
        a.skinned_meshes
    );
    for (bone, node) in &a.humanoid {
        println!("  {:<24} node {:>3} {}", bone.name(), node.index, node.name);
    }
    println!("expressions: {}", a.expressions.len());
    for e in &a.expressions {
        let binds: Vec<String> = e
            .binds
            .iter()
            .map(|b| format!("mesh {} target {} x{:.2}", b.mesh, b.index, b.weight))
            .collect();
        let mut flags = Vec::new();
        if e.is_binary {
            flags.push("binary".to_string());
        }
        for (what, o) in [
            ("blink", e.override_blink),
            ("lookAt", e.override_look_at),
            ("mouth", e.override_mouth),
        ] {
            if o != ling_stage::performer::avatar::Override::None {
                flags.push(format!("override {what} {o:?}"));
            }
        }
        if e.material_binds > 0 {
            flags.push(format!("{} material binds", e.material_binds));
        }
        println!(
            "  {:<14}{} {}{}",
            e.name,
            if e.preset { " (preset)" } else { "" },
            if binds.is_empty() {
                "no morph binds".into()
            } else {
                binds.join(", ")
            },
            if flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", flags.join(", "))
            }
        );
    }
    if let Some(l) = &a.look_at {
        println!(
            "lookAt: {:?}, offset from head {:?}, horizontal outer {:.0}° → {:.2}",
            l.kind,
            l.offset_from_head.to_array(),
            l.horizontal_outer.input_max,
            l.horizontal_outer.output_scale
        );
    }
    let toon = a.materials.iter().flatten().count();
    println!(
        "materials: {} ({toon} MToon, {} PBR)",
        a.materials.len(),
        a.materials.len() - toon
    );
    for m in a.materials.iter().flatten() {
        println!(
            "  {:<14} MToon: shade {:.3?}, toony {:.2}, shift {:.2}, rim {:.3?}^{:.1}, outline {:?} {:.4}, \
             UV scroll {:.2?}/s rotation {:.2} rad/s, {:?}{}",
            m.name,
            m.shade_color.to_array(),
            m.shading_toony,
            m.shading_shift,
            m.rim_color.to_array(),
            m.rim_fresnel_power,
            m.outline_mode,
            m.outline_width,
            m.uv_scroll,
            m.uv_rotation,
            m.alpha,
            if m.double_sided { ", double-sided" } else { "" }
        );
    }
    println!(
        "spring chains: {}, colliders: {} in {} groups",
        a.spring.chains.len(),
        a.spring.colliders.len(),
        a.spring.collider_groups.len()
    );
    for c in &a.spring.chains {
        let j = c.joints.first();
        println!(
            "  {} — {} joints, stiffness {:.2}, gravity {:.2}, drag {:.2}, hit radius {:.3}, collider groups {:?}",
            c.name,
            c.joints.len(),
            j.map(|j| j.stiffness).unwrap_or(0.0),
            j.map(|j| j.gravity_power).unwrap_or(0.0),
            j.map(|j| j.drag).unwrap_or(0.0),
            j.map(|j| j.hit_radius).unwrap_or(0.0),
            c.collider_groups
        );
    }
    for c in &a.spring.colliders {
        match &c.shape {
            ColliderShape::Sphere { offset, radius } => println!(
                "  collider on node {}: sphere r {radius:.3} at {:?}",
                c.node,
                offset.to_array()
            ),
            ColliderShape::Capsule {
                offset,
                tail,
                radius,
            } => println!(
                "  collider on node {}: capsule r {radius:.3} {:?}→{:?}",
                c.node,
                offset.to_array(),
                tail.to_array()
            ),
        }
    }
    Ok(())
}

/// `mocap inspect FILE`: a BVH file's skeleton, frames and humanoid mapping (as RON to edit).
pub(crate) fn inspect_bvh(file: &Path) -> anyhow::Result<()> {
    if ling_stage::mocap::vrma::is_vrma(file) {
        return inspect_vrma(file);
    }
    let bvh = ling_stage::mocap::bvh::load(file)?;
    println!("{}", file.display());
    println!(
        "{} joints, {} channels, {} frames at {:.3} fps ({:.6} s per frame), {:.2} s",
        bvh.joints.len(),
        bvh.channel_count(),
        bvh.frame_count,
        bvh.fps(),
        bvh.frame_time,
        bvh.duration()
    );
    let mut depth = vec![0usize; bvh.joints.len()];
    for (i, joint) in bvh.joints.iter().enumerate() {
        depth[i] = joint.parent.map(|p| depth[p] + 1).unwrap_or(0);
        let channels: Vec<&str> = joint.channels.iter().map(|c| c.name()).collect();
        println!(
            "  {}{:<24} offset ({:>8.3} {:>8.3} {:>8.3})  {}",
            "  ".repeat(depth[i]),
            joint.name,
            joint.offset.x,
            joint.offset.y,
            joint.offset.z,
            channels.join(" ")
        );
    }
    match ling_stage::mocap::BoneMap::for_bvh(&bvh) {
        Ok(map) => {
            println!(
                "humanoid: {:?} naming, {} of {} humanoid bones mapped, {} inferred from the shape{}",
                map.convention,
                map.bones.len(),
                ling_stage::signals::HumanBone::COUNT,
                map.inferred.len(),
                if map.inferred.is_empty() || map.inferred.len() == map.bones.len() {
                    String::new()
                } else {
                    let names: Vec<&str> = map.inferred.iter().map(|b| b.name()).collect();
                    format!(" ({})", names.join(", "))
                }
            );
            print!("{}", map.to_ron());
        }
        Err(e) => println!("humanoid: {e}"),
    }
    Ok(())
}

/// `mocap inspect FILE.vrma`: a VRM animation's humanoid, expressions, gaze and motion.
fn inspect_vrma(file: &Path) -> anyhow::Result<()> {
    let anim = ling_stage::mocap::vrma::load(file)?;
    println!("{}", file.display());
    println!(
        "VRM animation: {} animation(s), the first plays ({} channels); {} frames at {:.3} fps, {:.2} s",
        anim.animations.0,
        anim.animations.1,
        anim.bvh.frame_count,
        anim.bvh.fps(),
        anim.bvh.duration()
    );
    let bones: Vec<&str> = anim.map.bones.keys().map(|b| b.name()).collect();
    println!(
        "humanoid: {} of {} humanoid bones mapped: {}",
        bones.len(),
        ling_stage::signals::HumanBone::COUNT,
        bones.join(", ")
    );
    let expressions: Vec<String> = anim
        .expressions
        .iter()
        .map(|(n, carried)| {
            if *carried {
                n.clone()
            } else {
                format!("{n} (no canonical signal)")
            }
        })
        .collect();
    println!(
        "expressions: {}",
        if expressions.is_empty() {
            "none".to_string()
        } else {
            expressions.join(", ")
        }
    );
    println!("gaze: {}", if anim.look_at { "animated" } else { "none" });
    Ok(())
}

/// `mocap export SHOW --out FILE`: the show's motion sampled to BVH (or a VRM animation when
/// FILE ends in `.vrma`).
pub(crate) fn export_bvh(
    show: &Path,
    motion: Option<PathBuf>,
    out: &Path,
    fps: u32,
    seconds: Option<f64>,
) -> anyhow::Result<()> {
    anyhow::ensure!(fps > 0, "--fps must be positive");
    let show = load_show(show, motion)?;
    let player = MotionPlayer::for_show(&show)?;
    let seconds = seconds.unwrap_or(show.duration);
    let bvh = player.export_bvh(fps, seconds);
    let frames = bvh.frame_count;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let bytes = if ling_stage::mocap::vrma::is_vrma(out) {
        player.export_vrma(fps, seconds)
    } else {
        bvh.write().into_bytes()
    };
    std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} frames ({:.2} s at {fps} fps) to {}",
        frames,
        frames as f64 / fps as f64,
        out.display()
    );
    Ok(())
}
