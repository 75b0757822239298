//! `ling-stage bench`: the numbers the README's performance section reports.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;
use ling_stage::LingStagePlugins;
use ling_stage::render;
use ling_stage::show::{ClockMode, ShowClock, ShowFile, insert_show};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// CPU time of whole frames of the headless show (all simulation systems, no rendering).
fn headless_frame_times(show: &ShowFile, frames: u32) -> Vec<f64> {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, TransformPlugin, LingStagePlugins));
    insert_show(&mut app, show.clone(), ClockMode::External, false);
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
        Duration::from_secs_f64(1.0 / 60.0),
    ));
    app.finish();
    app.cleanup();
    app.update();
    let mut times = Vec::with_capacity(frames as usize);
    for i in 0..frames {
        let t = (i as f64 / 60.0) % show.duration;
        app.world_mut().resource_mut::<ShowClock>().time = t;
        let start = Instant::now();
        app.update();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times
}

/// The benchmark's sections, by the name `bench --only` takes.
pub const SECTIONS: [&str; 11] = [
    "frame",
    "avatars",
    "chains",
    "cloth",
    "audio",
    "mic",
    "tracking",
    "bvh",
    "vmc",
    "render",
    "broadcast",
];

pub fn run(
    show_path: &Path,
    frames: u32,
    render_frames: u32,
    (width, height): (u32, u32),
    broadcast_seconds: f64,
    only: &[String],
) -> anyhow::Result<()> {
    if let Some(unknown) = only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
        anyhow::bail!(
            "no benchmark section {unknown:?}; the sections are {}",
            SECTIONS.join(", ")
        );
    }
    let wanted = |section: &str| only.is_empty() || only.iter().any(|s| s == section);
    let show = ShowFile::load(show_path)?;
    println!(
        "Ling Stage benchmark — {} ({})",
        show.name,
        show_path.display()
    );
    println!();
    println!("| measurement | value |");
    println!("| --- | --- |");
    if wanted("frame") {
        let times = headless_frame_times(&show, frames.max(1));
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "| headless show frame, CPU (mean of {}) | {:.3} ms |",
            times.len(),
            mean
        );
        println!(
            "| headless show frame, CPU (p50 / p95 / max) | {:.3} / {:.3} / {:.3} ms |",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 1.0)
        );
    }
    let sections: [(&str, fn()); 8] = [
        ("avatars", avatar_loading),
        ("chains", chain_steps),
        ("cloth", cloth_steps),
        ("audio", audio_analysis),
        ("mic", mic_latency),
        ("tracking", tracking_costs),
        ("bvh", bvh_parsing),
        ("vmc", vmc_throughput),
    ];
    for (name, section) in sections {
        if wanted(name) {
            section();
            if name == "vmc" {
                vmc_latency();
            }
        }
    }
    if wanted("render") && render_frames > 0 {
        crate::bench_render::run(&show, render_frames, (width, height))?;
    }
    if wanted("broadcast") && broadcast_seconds > 0.0 {
        broadcast_cost(&show, (width, height), broadcast_seconds)?;
    }
    Ok(())
}

/// The broadcast path's cost: the same real-time headless show, `seconds` off air and
/// `seconds` on air to an H.264 file, at the bench size and 30 fps. Reports the mean frame
/// time of each and their ratio, the main thread's hand-off cost per frame, and what the
/// output sent, repeated and dropped.
fn broadcast_cost(
    show: &ShowFile,
    (width, height): (u32, u32),
    seconds: f64,
) -> anyhow::Result<()> {
    use ling_broadcast::target::{OutputTarget, StreamSettings};
    use ling_stage::broadcast::{self, BroadcastOptions};
    let dir = tempfile::tempdir()?;
    let target = OutputTarget::parse(&dir.path().join("bench.mkv").display().to_string())?;
    let settings = StreamSettings::for_target(&target, width, height, 30);
    let options = |on_air: bool| BroadcastOptions {
        outputs: vec![ling_broadcast::OutputSpec {
            target: target.clone(),
            settings: settings.clone(),
        }],
        width,
        height,
        fps: 30,
        // What a user gets: draft on a software renderer, final on a GPU.
        quality: ling_stage::stage::QualityRequest::default(),
        microphone: None,
        backdrop: default(),
        seconds: Some(seconds),
        looping: true,
        progress: false,
        on_air,
        remote: None,
        vmc: default(),
        tracking: None,
        iphone: default(),
        stats_every: None,
    };
    let off = broadcast::run(show.clone(), options(false))?;
    let on = broadcast::run(show.clone(), options(true))?;
    let frame_ms =
        |r: &broadcast::BroadcastReport| r.wall_seconds * 1000.0 / r.frames_rendered.max(1) as f64;
    let (off_ms, on_ms) = (frame_ms(&off), frame_ms(&on));
    println!(
        "| real-time headless frame {width}×{height}, off air / on air ({seconds:.0} s each) | {off_ms:.1} / {on_ms:.1} ms ({:.1} / {:.1} fps) |",
        1000.0 / off_ms,
        1000.0 / on_ms
    );
    println!(
        "| broadcast path cost (on-air frame time / off-air frame time) | {:.3} (+{:.1} %) |",
        on_ms / off_ms,
        (on_ms / off_ms - 1.0) * 100.0
    );
    println!(
        "| broadcast hand-off on the main thread (unpad + share + audio) | {:.2} ms/frame |",
        on.handoff_ms
    );
    for o in &on.outputs {
        println!(
            "| broadcast to {} over {:.0} s at 30 fps | {} sent ({:.1} fps), {} repeated (renderer slower than 30 fps), {} dropped, {} ticks missed (encoder slower than real time) |",
            o.target,
            on.wall_seconds,
            o.frames_sent,
            o.frames_sent as f64 / on.wall_seconds.max(1e-9),
            o.frames_repeated,
            o.frames_dropped,
            o.ticks_missed
        );
    }
    Ok(())
}

/// Load time and memory of each sample avatar.
fn avatar_loading() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/avatars");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        println!("| avatar load | SKIPPED: {} not found |", dir.display());
        return;
    }
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let started = Instant::now();
        let parsed = ling_stage::performer::avatar::AvatarFile::load(&f);
        let parse_ms = started.elapsed().as_secs_f64() * 1000.0;
        if let Err(e) = parsed {
            println!("| avatar {name} | {e} |");
            continue;
        }
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        // Each load in its own child process, so memory figures do not mix.
        let exe = std::env::current_exe().expect("own path");
        let out = std::process::Command::new(exe)
            .arg("probe-avatar")
            .arg(&f)
            .output();
        let measured = out
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "load failed".into());
        println!(
            "| avatar {name} ({:.1} MB): read / on stage | {parse_ms:.1} ms / {measured} |",
            size as f64 / 1e6
        );
    }
}

/// Spring-bone chain step time against the number of simulated joints.
fn chain_steps() {
    use ling_stage::physics::{ChainState, Sphere};
    for joints in [500usize, 2_000, 8_000] {
        let spec = ling_stage::physics::chains::ling_plumes().remove(0);
        let per_chain = spec.points.len() - 1;
        let mut chains: Vec<ChainState> = (0..joints.div_ceil(per_chain))
            .map(|i| ChainState::new(&spec, Transform::from_xyz(i as f32 * 0.01, 0.0, 0.0)))
            .collect();
        let spheres = [Sphere {
            center: Vec3::new(0.0, 1.6, 0.0),
            radius: 0.12,
        }; 4];
        let steps = 200;
        let start = Instant::now();
        for step in 0..steps {
            let bone = Transform::from_rotation(Quat::from_rotation_y((step as f32 * 0.05).sin()));
            for c in &mut chains {
                c.step(bone, 1.0 / 60.0, &spheres);
            }
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / steps as f64;
        println!("| chain step, {joints} joints (4 body spheres), one core | {ms:.3} ms |");
    }
}

/// Rapier cloth step time against the number of particles, on one thread and on two: the
/// built-in performer's two water sleeves (160 particles) turning on the spot, plus door
/// curtains (168 particles each) hung 1.5 m apart across the stage. The two worlds are built
/// alike and stepped in turn, so both see the same machine load, and their cloth is compared
/// bit for bit.
fn cloth_steps() {
    use ling_stage::physics::cloth::{self, ClothAnchor, ClothGroup, CostumeWorld};
    use ling_stage::settings::PhysicsSettings;
    let pose = ling_stage::signals::HumanoidPose::default();
    let bones_at = |turn: f32| {
        cloth::world_bones(
            &Transform::from_rotation(Quat::from_rotation_y(turn)),
            &pose,
        )
    };
    let build = |particles: usize, threads: usize| {
        let bones = bones_at(0.0);
        let mut world = CostumeWorld::default();
        world.set_threads(threads);
        world.set_body(&cloth::ling_body(), &bones);
        for side in [1.0, -1.0] {
            let spec = cloth::ling_sleeve(side);
            let ClothAnchor::Bone(bone) = spec.anchor else {
                unreachable!("sleeves hang from a hand")
            };
            world.add_cloth(spec, bones[bone.index()]);
        }
        let mut k = 0;
        while world.particle_count() < particles {
            let (col, row) = ((k % 10) as f32, (k / 10) as f32);
            let at = Transform::from_xyz(-7.0 + 1.5 * col, 1.3, 2.0 + 1.5 * row);
            world.add_cloth(cloth::door_curtain(1.1, 2.5, 5.0, 0.03), at);
            k += 1;
        }
        let settings = PhysicsSettings::default();
        world.configure(ClothGroup::Sleeves, settings.sleeves);
        world.configure(ClothGroup::Curtains, settings.curtains);
        (world, k + 2)
    };
    for particles in [500usize, 2_000, 8_000] {
        let (mut one, pieces) = build(particles, 1);
        let (mut two, _) = build(particles, 2);
        let steps = 120;
        let (mut t1, mut t2) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
        // CPU seconds the process spent in the timed steps of each world.
        let mut cpu = [0.0f64; 2];
        for step in 0..steps {
            let bones = bones_at(1.2 * (step as f32 * 0.05).sin());
            let wind = Vec3::new(1.5 * (step as f32 * 0.1).sin(), 0.0, 0.5);
            for (k, (world, times)) in [(&mut one, &mut t1), (&mut two, &mut t2)]
                .into_iter()
                .enumerate()
            {
                let (start, cpu_start) = (Instant::now(), render::process_cpu_seconds());
                world.step(&bones, wind);
                times.push(start.elapsed().as_secs_f64() * 1000.0);
                if step >= 20 {
                    cpu[k] += render::process_cpu_seconds() - cpu_start;
                }
            }
        }
        let cpu_ms = cpu.map(|s| s * 1000.0 / (steps - 20) as f64);
        let same = one.all_positions() == two.all_positions();
        // The first steps settle the cloth from its rest shape; time the rest.
        let settled = |times: &mut Vec<f64>| {
            let s = &mut times[20..];
            s.sort_by(f64::total_cmp);
            (percentile(s, 0.5), percentile(s, 0.95))
        };
        let ((p50_1, p95_1), (p50_2, p95_2)) = (settled(&mut t1), settled(&mut t2));
        let what = format!(
            "rapier cloth step, {} particles in {pieces} pieces (2 sleeves on a turning body + curtains in a breeze)",
            one.particle_count()
        );
        println!(
            "| {what}, 1 thread: wall (p50 / p95); CPU (mean) | {p50_1:.2} / {p95_1:.2} ms; {:.2} ms |",
            cpu_ms[0]
        );
        println!(
            "| {what}, 2 threads: wall (p50 / p95); CPU (mean) | {p50_2:.2} / {p95_2:.2} ms; {:.2} ms |",
            cpu_ms[1]
        );
        println!(
            "| {what}, 2 threads ÷ 1 thread, same run (p50 / p95); cloth bit-identical | {:.2} / {:.2}; {} |",
            p50_2 / p50_1,
            p95_2 / p95_1,
            if same { "yes" } else { "NO" }
        );
    }
}

/// Audio analysis cost per second of audio, on the shared LibriVox speech.
fn audio_analysis() {
    use ling_stage::audio::analysis::{AudioClip, analyze};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/audio/sense_and_sensibility_01_austen_64kb-0920.wav");
    let Ok(clip) = AudioClip::load(&path) else {
        println!("| audio analysis | SKIPPED: {} not found |", path.display());
        return;
    };
    let start = Instant::now();
    let a = analyze(&clip);
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    println!(
        "| audio analysis (level, onsets, tempo, visemes), {:.1} s of 16 kHz speech | {:.2} ms per second of audio ({} frames, {} onsets) |",
        clip.duration(),
        ms / clip.duration(),
        a.frames.len(),
        a.onsets.len()
    );
}

/// Live lip sync latency: silence then a sustained vowel (espeak-ng), fed to the microphone
/// analyser in 10 ms callbacks as a sound card would; how long after the vowel starts the mouth
/// opens, and what each callback costs.
fn mic_latency() {
    use ling_stage::audio::analysis::AudioClip;
    use ling_stage::audio::devices::MicAnalyzer;
    let Ok(dir) = tempfile::tempdir() else { return };
    let wav = dir.path().join("a.wav");
    let made = std::process::Command::new("espeak-ng")
        .args(["-v", "es", "-s", "60", "-w"])
        .arg(&wav)
        .arg("aaaa")
        .output()
        .is_ok_and(|o| o.status.success());
    let Ok(vowel) = AudioClip::load(&wav)
        .map_err(|_| ())
        .and_then(|c| made.then_some(c).ok_or(()))
    else {
        println!("| microphone lip sync latency | SKIPPED: espeak-ng is not installed |");
        return;
    };
    let rate = vowel.rate;
    let mut samples = vec![0.0f32; rate as usize / 2];
    samples.extend(&vowel.samples);
    let onset = samples.iter().position(|s| s.abs() > 0.03).unwrap_or(0) as f64 / rate as f64;
    let chunk = rate as usize / 100;
    let mut analyzer = MicAnalyzer::new(rate);
    let mut opened = None;
    let mut cost = Vec::new();
    for (i, c) in samples.chunks(chunk).enumerate() {
        let start = Instant::now();
        let heard = analyzer.push(c);
        cost.push(start.elapsed().as_secs_f64() * 1000.0);
        let end = ((i + 1) * chunk) as f64 / rate as f64;
        if opened.is_none()
            && end > onset
            && heard.is_some_and(|h| h.visemes.iter().cloned().fold(0.0, f32::max) > 0.2)
        {
            opened = Some(end - onset);
        }
    }
    cost.sort_by(f64::total_cmp);
    match opened {
        Some(latency) => println!(
            "| microphone lip sync: vowel start → mouth open (10 ms callbacks, {rate} Hz); compute per callback (p50 / max) | {:.0} ms of audio; {:.3} / {:.3} ms |",
            latency * 1000.0,
            percentile(&cost, 0.5),
            percentile(&cost, 1.0)
        ),
        None => println!("| microphone lip sync latency | the vowel never opened the mouth |"),
    }
}

/// Face and hand pipelines per frame against their models' raw inference time on the same
/// tensors (the pipeline's overhead is cropping, decoding and solving).
fn tracking_costs() {
    use ling_stage::tracking::engine::Model;
    use ling_stage::tracking::vision::{Frame, Layout, Roi, crop_tensor};
    use ling_stage::tracking::{face, hand};
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/images");
    let load = |name: &str| {
        image::open(data.join(name))
            .ok()
            .map(|i| Frame::from_image(&i.to_rgb8()))
    };
    let (Some(astronaut), Some(palm)) = (load("astronaut.png"), load("hand.png")) else {
        println!("| tracking | SKIPPED: ../shared/data/images not found |");
        return;
    };
    let (mut faces, mut hands) = match (face::FaceTracker::new(), hand::HandTracker::new()) {
        (Ok(f), Ok(h)) => (f, h),
        (Err(e), _) | (_, Err(e)) => {
            println!("| tracking | SKIPPED: {e} |");
            return;
        }
    };
    let runs = 30;
    let time = |f: &mut dyn FnMut()| {
        f(); // warm up
        let start = Instant::now();
        for _ in 0..runs {
            f();
        }
        start.elapsed().as_secs_f64() * 1000.0 / runs as f64
    };
    // Each pipeline against the inference it ran (the models' own time inside it): the
    // overhead is cropping, decoding, head pose and expression solving.
    let with_inference = |run: &mut dyn FnMut() -> std::time::Duration| {
        let before = run();
        let mut inference = std::time::Duration::ZERO;
        let total = time(&mut || inference = run());
        let per_run = (inference - before).as_secs_f64() * 1000.0 / (runs + 1) as f64;
        (total, per_run)
    };
    let overhead = |what: &str, (pipeline, inference): (f64, f64)| {
        println!(
            "| {what}: pipeline / its inference, one thread | {pipeline:.2} / {inference:.2} ms ({:+.0} % overhead) |",
            (pipeline / inference - 1.0) * 100.0
        );
    };
    for mesh in [face::MeshModel::V1, face::MeshModel::V2] {
        let Ok(mut tracker) = face::FaceTracker::with_mesh(mesh) else {
            continue;
        };
        let name = tracker.describe();
        overhead(
            &format!("face ({name}), a new face"),
            with_inference(&mut || {
                tracker.lose();
                tracker.track(&astronaut).unwrap();
                tracker.inference_time()
            }),
        );
        overhead(
            &format!("face ({name}), tracking"),
            with_inference(&mut || {
                tracker.track(&astronaut).unwrap();
                tracker.inference_time()
            }),
        );
    }
    overhead(
        "hand, palm + landmarks (a new hand)",
        with_inference(&mut || {
            hands.lose();
            hands.track(&palm).unwrap();
            hands.inference_time()
        }),
    );
    // The default tracker (the best models found), for the comparison with Python below.
    let detect_face = time(&mut || {
        faces.lose();
        faces.track(&astronaut).unwrap();
    });
    let track_face = time(&mut || {
        faces.track(&astronaut).unwrap();
    });
    let detect_hand = time(&mut || {
        hands.lose();
        hands.track(&palm).unwrap();
    });
    // Raw inference: the same models on tensors made once.
    let whole = |f: &Frame| Roi {
        center: bevy::math::Vec2::splat(f.width.max(f.height) as f32 / 2.0),
        size: f.width.max(f.height) as f32,
        rotation: 0.0,
    };
    let mut detector = Model::find(face::DETECTOR).unwrap();
    let mut mesh = Model::find(face::MESH).unwrap();
    let mut palm_model = Model::find(hand::PALM).unwrap();
    let mut landmarks = Model::find(hand::LANDMARKS).unwrap();
    let face_in = crop_tensor(
        &astronaut,
        &whole(&astronaut),
        128,
        Layout::Nchw,
        (-1.0, 1.0),
    );
    let mesh_in = crop_tensor(
        &astronaut,
        &whole(&astronaut),
        192,
        Layout::Nhwc,
        (0.0, 1.0),
    );
    let palm_in = crop_tensor(&palm, &whole(&palm), 192, Layout::Nhwc, (0.0, 1.0));
    let hand_in = crop_tensor(&palm, &whole(&palm), 224, Layout::Nhwc, (0.0, 1.0));
    let raw_detector = time(&mut || {
        detector.run(&face_in, &[1, 3, 128, 128]).unwrap();
    });
    let raw_mesh = time(&mut || {
        mesh.run(&mesh_in, &[1, 192, 192, 3]).unwrap();
    });
    let raw_palm = time(&mut || {
        palm_model.run(&palm_in, &[1, 192, 192, 3]).unwrap();
    });
    let raw_hand = time(&mut || {
        landmarks.run(&hand_in, &[1, 224, 224, 3]).unwrap();
    });
    println!(
        "| raw inference on a prepared tensor: face detector / 468-point mesh / palm / hand landmarks | {raw_detector:.2} / {raw_mesh:.2} / {raw_palm:.2} / {raw_hand:.2} ms |"
    );
    // The Python peer (scripts/bench_tracking.py): the same pipelines in Python with ONNX
    // Runtime and numpy, on the same images and models, one intra-op thread, timed the same
    // way. It runs the face mesh this tracker runs (the 478-point one gives irises).
    let face_mesh = match faces.mesh_model() {
        face::MeshModel::V1 => "v1",
        face::MeshModel::V2 => "v2",
    };
    let peer = || -> Result<serde_json::Value, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cache = ling_core::cache_dir();
        let mut paths = vec![cache.join("onnxruntime"), cache.join("python-bench")];
        if let Some(old) = std::env::var_os("PYTHONPATH") {
            paths.extend(std::env::split_paths(&old));
        }
        let pythonpath = std::env::join_paths(paths).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("python3")
            .arg(root.join("scripts/bench_tracking.py"))
            .arg("--json")
            .arg("--runs")
            .arg(runs.to_string())
            .arg("--face-mesh")
            .arg(face_mesh)
            .current_dir(root)
            .env("PYTHONPATH", pythonpath)
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message")
                .trim()
                .to_string();
            return Err(format!("{last} ({})", out.status));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("unreadable output from scripts/bench_tracking.py: {e}"))
    };
    let py = match peer() {
        Ok(py) => py,
        Err(why) => {
            println!(
                "| tracking: Rust / Python | SKIPPED: {} |",
                why.replace('|', "/")
            );
            return;
        }
    };
    println!(
        "| tracking, Python peer (scripts/bench_tracking.py): versions, face models | Python {}, ONNX Runtime {}, numpy {}; {} |",
        py["python"].as_str().unwrap_or("?"),
        py["onnxruntime"].as_str().unwrap_or("?"),
        py["numpy"].as_str().unwrap_or("?"),
        py["face_models"].as_str().unwrap_or("?")
    );
    let compare = |what: &str, rust: f64, key: &str| match py[key].as_f64() {
        Some(python) => println!(
            "| {what}: Rust / Python, one thread | {rust:.2} / {python:.2} ms (Python ×{:.2}) |",
            python / rust
        ),
        None => println!("| {what}: Rust / Python | SKIPPED: the Python peer gave no {key} |"),
    };
    compare(
        "face, detection + mesh (a new face)",
        detect_face,
        "face_new",
    );
    compare("face, mesh only (tracking)", track_face, "face_track");
    compare(
        "hand, palm + landmarks (a new hand)",
        detect_hand,
        "hand_new",
    );
    compare(
        "raw inference, face detector",
        raw_detector,
        "raw_face_detector",
    );
    compare("raw inference, face mesh", raw_mesh, "raw_face_mesh");
    compare("raw inference, palm detector", raw_palm, "raw_palm");
    compare(
        "raw inference, hand landmarks",
        raw_hand,
        "raw_hand_landmarks",
    );
    let px = |key: &str| {
        py["check"][key]
            .as_f64()
            .map(|v| format!("{v:.2} px"))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "| tracking, Python peer vs ../shared/data/reference/ (mean landmark error on the reference crops): face 468 / hand 21 | {} / {} |",
        px("face_mesh_ref_crop_err_px"),
        px("hand_ref_crop_err_px")
    );
}

/// BVH parse throughput: ours against the `bvh_anim` crate on the same files.
fn bvh_parsing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mocap");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "bvh"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        println!("| BVH parse | SKIPPED: {} not found |", dir.display());
        return;
    }
    let texts: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let rounds = 10;
    let time = |f: &dyn Fn(&str) -> bool| -> Option<f64> {
        let start = Instant::now();
        for _ in 0..rounds {
            for t in &texts {
                if !f(t) {
                    return None;
                }
            }
        }
        Some((bytes * rounds) as f64 / 1e6 / start.elapsed().as_secs_f64())
    };
    let ours = time(&|t| ling_stage::mocap::bvh::parse(t).is_ok());
    let theirs = time(&|t| bvh_anim::from_str(t).is_ok());
    let show = |v: Option<f64>| {
        v.map(|v| format!("{v:.1} MB/s"))
            .unwrap_or_else(|| "failed to parse".into())
    };
    println!(
        "| BVH parse, {} CMU files ({:.2} MB) × {rounds}: ours / bvh_anim 0.4 | {} / {} |",
        texts.len(),
        bytes as f64 / 1e6,
        show(ours),
        show(theirs)
    );
}

/// VMC frames (one bundle: 55 bones, ~60 blend shapes) received per second on loopback.
fn vmc_throughput() {
    use ling_stage::mocap::vmc::{VmcReceiver, VmcSender};
    use ling_stage::signals::{ExpressionWeights, HumanoidPose};
    use std::sync::atomic::Ordering;
    let Ok(rx) = VmcReceiver::start("127.0.0.1:0".parse().expect("valid")) else {
        println!("| VMC receive | SKIPPED: cannot bind loopback |");
        return;
    };
    let bytes = VmcSender::encode(
        &HumanoidPose::default(),
        (Vec3::ZERO, Quat::IDENTITY),
        &ExpressionWeights::default(),
        0.0,
    );
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("loopback");
    for rate in [1_000u32, 5_000, 20_000] {
        let before = rx.stats.frames.load(Ordering::Relaxed);
        let dropped_before = rx.stats.dropped.load(Ordering::Relaxed);
        let drain = rx.frames.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let consumer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    while drain.try_recv().is_ok() {}
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        let seconds = 1.0;
        let total = (rate as f64 * seconds) as u64;
        let start = Instant::now();
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            while Instant::now() < due {
                std::hint::spin_loop();
            }
            let _ = sock.send_to(&bytes, rx.addr);
        }
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        let _ = consumer.join();
        let got = rx.stats.frames.load(Ordering::Relaxed) - before;
        let dropped = rx.stats.dropped.load(Ordering::Relaxed) - dropped_before;
        println!(
            "| VMC receive at {rate} frames/s ({} B each) | {got} of {total} received, {dropped} dropped by the queue |",
            bytes.len()
        );
    }
}

/// Time from a VMC packet's arrival to its pose being applied, in a 60 fps headless show.
fn vmc_latency() {
    use bevy::app::ScheduleRunnerPlugin;
    use ling_stage::mocap::vmc::VmcSender;
    use ling_stage::mocap::vmc_source::{VmcHealth, VmcSettings};
    use ling_stage::signals::{ExpressionWeights, HumanoidPose};
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_once()),
        TransformPlugin,
        LingStagePlugins,
    ));
    app.insert_resource(VmcSettings {
        listen: Some("127.0.0.1:0".parse().expect("valid")),
        ..default()
    });
    app.finish();
    app.cleanup();
    app.update();
    let Some(addr) = app.world().resource::<VmcHealth>().listening else {
        println!("| VMC latency | SKIPPED: cannot bind loopback |");
        return;
    };
    let sender = VmcSender::new(addr).expect("loopback");
    let frame = Duration::from_secs_f64(1.0 / 60.0);
    let mut latencies = Vec::new();
    let start = Instant::now();
    for i in 0..240u32 {
        let tick = start + frame * i;
        // Packets arrive at arbitrary moments within a frame.
        let send_at = tick + Duration::from_micros((i as u64 * 7_919) % 16_000);
        while Instant::now() < send_at {
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = sender.send(
            &HumanoidPose::default(),
            (Vec3::ZERO, Quat::IDENTITY),
            &ExpressionWeights::default(),
        );
        let next = start + frame * (i + 1);
        while Instant::now() < next {
            std::thread::sleep(Duration::from_micros(200));
        }
        app.update();
        if let Some(l) = app.world().resource::<VmcHealth>().last_latency {
            latencies.push(l.as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    if latencies.is_empty() {
        println!("| VMC latency | no frames arrived |");
        return;
    }
    let mean = latencies.iter().sum::<f64>() / latencies.len() as f64;
    println!(
        "| VMC packet arrival → pose applied, 60 fps frames (mean / p95 / max) | {mean:.2} / {:.2} / {:.2} ms (one frame = 16.7 ms) |",
        percentile(&latencies, 0.95),
        percentile(&latencies, 1.0)
    );
}

/// Loads one avatar and prints "N ms, +M MB" (used by `bench` in a child process).
pub fn probe_avatar(path: &Path) -> anyhow::Result<()> {
    let (took, bytes) = render::measure_avatar_load(path)?;
    println!(
        "{:.0} ms, {:+.1} MB resident",
        took.as_secs_f64() * 1000.0,
        bytes as f64 / 1e6
    );
    Ok(())
}

/// Prints the adapter Bevy's renderer picks on this machine.
pub fn probe_adapter() -> anyhow::Result<()> {
    let mut app = App::new();
    app.add_plugins(render::headless_render_plugins().disable::<bevy::log::LogPlugin>());
    app.finish();
    let info = app
        .world()
        .get_resource::<RenderAdapterInfo>()
        .ok_or_else(|| anyhow::anyhow!("no render adapter"))?;
    println!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
    Ok(())
}
