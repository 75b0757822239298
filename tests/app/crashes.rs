//! Faults that cut a show's writing short (#16): the disk filling up while a take records,
//! `kill -9` during `render`, `kill -9` during a broadcast that records a copy. What was
//! written before stays whole and readable, nothing half-written carries a final name, no
//! encoder lingers, and the show (or the next run) goes on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use ling_stage::mocap::take::{Recording, RecordingStatus, Take};
use ling_stage::show::{ClockMode, DirectorCommand, ShowClock, ShowFile, insert_show};

use crate::support::{Broadcasting, bin, has_ffmpeg, root};

/// A small tmpfs mounted on a temporary folder, unmounted when dropped: a disk that fills up
/// in seconds.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a `kib` KiB tmpfs, or says why it cannot (mounting needs root).
    fn mount(kib: u32) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { path, _dir: dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process of a failed test): detach it now, freed when let go.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// The single take folder under `takes`.
fn only_take(takes: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(takes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| Take::is_take(p))
        .collect();
    assert_eq!(found.len(), 1, "one take in {}: {found:?}", takes.display());
    found.into_iter().next().unwrap()
}

/// The number of frames an error message says the take keeps ("keeps N frames").
fn frames_kept(message: &str) -> usize {
    message
        .split("keeps ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no \"keeps N frames\" in {message:?}"))
}

#[test]
fn a_full_disk_stops_the_take_not_the_show() {
    let disk = match SmallDisk::mount(512) {
        Ok(disk) => disk,
        Err(why) => {
            println!("SKIPPED a take on a full disk: {why}");
            return;
        }
    };
    let show_path = root().join("scenes/demo.ron");
    let show = ShowFile::load(&show_path).unwrap();
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        TransformPlugin,
        ling_stage::LingStagePlugins,
    ));
    insert_show(&mut app, show, ClockMode::Realtime, true);
    app.finish();
    app.cleanup();
    {
        let mut recording = app.world_mut().resource_mut::<Recording>();
        recording.takes_dir = disk.path.clone();
        recording.show_path = show_path;
    }
    app.world_mut()
        .write_message(DirectorCommand::StartRecording);

    // About 110 KB a second of body and face: 512 KiB fill within seconds.
    let started = Instant::now();
    let error = loop {
        app.update();
        let status = app.world().resource::<RecordingStatus>();
        if let Some(e) = &status.last_error {
            break e.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the take never reported the full disk ({:?})",
            status.recording
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    println!(
        "recording stopped after {:.1} s: {error}",
        started.elapsed().as_secs_f64()
    );
    let take = only_take(&disk.path);
    assert!(
        error.contains(&take.display().to_string()) && error.contains("the disk is full"),
        "the error names the take and says the disk is full: {error}"
    );
    assert!(
        app.world().resource::<Recording>().recorder.is_none(),
        "the recording stopped"
    );
    assert_eq!(
        app.world()
            .resource::<RecordingStatus>()
            .last_take
            .as_deref(),
        Some(take.as_path())
    );

    // The show performs on: its clock runs and nothing asked the app to exit.
    let clock_at_error = app.world().resource::<ShowClock>().time;
    let resumed = Instant::now();
    while app.world().resource::<ShowClock>().time < clock_at_error + 0.5 {
        app.update();
        assert!(
            resumed.elapsed() < Duration::from_secs(60),
            "the show clock stopped after the recording failed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let exits = app.world().resource::<Messages<AppExit>>();
    assert!(exits.is_empty(), "the app was asked to exit");

    // The take keeps everything up to its last checkpoint, and reads back whole.
    let loaded = Take::load(&take).unwrap();
    let kept = frames_kept(&error);
    assert!(kept > 0, "{error}");
    assert_eq!(
        loaded.poses.len(),
        kept,
        "body.bvh holds the frames the error counts"
    );
    assert!(
        loaded.faces.len() >= kept,
        "face.csv has a face for every kept frame"
    );
    assert!(!loaded.info.complete);
    println!(
        "take kept {} frames ({:.2} s) on a 512 KiB disk",
        loaded.poses.len(),
        loaded.info.duration
    );
}

#[test]
fn record_on_a_full_disk_ends_with_the_error_and_keeps_the_take() {
    let disk = match SmallDisk::mount(384) {
        Ok(disk) => disk,
        Err(why) => {
            println!("SKIPPED record on a full disk: {why}");
            return;
        }
    };
    let mut child = bin()
        .args(["record", "scenes/demo.ron", "--seconds", "300", "--takes"])
        .arg(&disk.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, text) = wait_with_limit(&mut child, Duration::from_secs(120));
    println!("{}", last_lines(&text, 3));
    let take = only_take(&disk.path);
    assert!(!status, "recording was all `record` did: it fails:\n{text}");
    assert!(
        text.contains(&format!("error: take {}", take.display()))
            && text.contains("the disk is full"),
        "the error names the take and the full disk:\n{text}"
    );
    let loaded = Take::load(&take).unwrap();
    let error_line = text
        .lines()
        .find(|l| l.contains("the disk is full"))
        .unwrap();
    assert!(!loaded.poses.is_empty());
    assert_eq!(loaded.poses.len(), frames_kept(error_line));
}

#[test]
fn a_take_started_on_a_full_disk_says_the_disk_is_full() {
    let disk = match SmallDisk::mount(64) {
        Ok(disk) => disk,
        Err(why) => {
            println!("SKIPPED a take started on a full disk: {why}");
            return;
        }
    };
    // Fill the disk to the last byte.
    let filler = disk.path.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    use std::io::Write;
    while file.write_all(&block).is_ok() {}
    drop(file);
    let takes = disk.path.join("takes");
    let mut child = bin()
        .args(["record", "scenes/demo.ron", "--seconds", "30", "--takes"])
        .arg(&takes)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (ok, text) = wait_with_limit(&mut child, Duration::from_secs(120));
    println!("{}", last_lines(&text, 1));
    assert!(!ok, "no take could start:\n{text}");
    assert!(
        text.contains(&format!("error: take {}", takes.display()))
            && text.contains("the disk is full"),
        "the error names the take and the full disk:\n{text}"
    );
}

/// Waits for `child` (killing it after `limit`): whether it succeeded, and its output.
fn wait_with_limit(child: &mut Child, limit: Duration) -> (bool, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    use std::io::Read;
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut text);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    let status = status.unwrap_or_else(|| panic!("still running after {limit:?}:\n{text}"));
    (status.success(), text)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A small, quick render of the demo to `out`.
fn render(out: &Path, frames: u32) -> Command {
    let mut cmd = bin();
    cmd.args(["render", "scenes/demo.ron", "--out"])
        .arg(out)
        .args(["--frames", &frames.to_string()])
        .args([
            "--width",
            "160",
            "--height",
            "90",
            "--quality",
            "draft",
            "--quiet",
        ]);
    cmd
}

/// The frame files (`frame_NNNNN.png`) in a frames folder.
fn frame_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("frame_") && n.ends_with(".png"))
        })
        .collect();
    files.sort();
    files
}

/// Whether `path` is a whole PNG: the signature first, the `IEND` chunk last.
fn whole_png(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        && bytes.len() > 12
        && &bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND"
}

/// Frames and duration of a video's first video stream, counted by decoding it.
fn video_frames(file: &Path) -> (u64, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames:format=duration",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    (
        value("nb_read_frames=").unwrap_or(0.0) as u64,
        value("duration=").unwrap_or(0.0),
    )
}

/// Decodes all of `file`: ffmpeg's error lines (empty when it decodes cleanly).
fn decode_errors(file: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let mut errors = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() && errors.is_empty() {
        errors = format!("ffmpeg exited with {}", out.status);
    }
    errors
}

#[test]
fn a_render_killed_mid_frames_leaves_the_old_video_and_reruns_cleanly() {
    if !has_ffmpeg() {
        ling_testkit::skip("render killed mid-way: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("show.mp4");
    let frames_dir = dir.path().join("show_frames");
    // What an earlier render left under the name: it must survive a killed render.
    std::fs::write(&out, b"the previous, complete render").unwrap();
    let mut child = render(&out, 45)
        .arg("--keep-frames")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while frame_files(&frames_dir).len() < 3 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the render ended before it was killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no frames came"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let written = frame_files(&frames_dir);
    println!("killed after {} frames", written.len());
    assert!(written.len() < 45, "killed before the end");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"the previous, complete render",
        "the output name still holds the previous video"
    );
    for frame in &written {
        assert!(whole_png(frame), "{} is cut off", frame.display());
    }

    let rerun = render(&out, 45).arg("--keep-frames").output().unwrap();
    let text = String::from_utf8_lossy(&rerun.stdout).to_string()
        + &String::from_utf8_lossy(&rerun.stderr);
    assert!(rerun.status.success(), "the rerun failed:\n{text}");
    let (frames, seconds) = video_frames(&out);
    println!("rerun: {frames} frames, {seconds:.3} s");
    assert_eq!(frames, 45);
    assert!(
        (seconds - 1.5).abs() < 0.05,
        "45 frames at 30 fps: {seconds}"
    );
    assert_eq!(decode_errors(&out), "");
    let kept = frame_files(&frames_dir);
    assert_eq!(kept.len(), 45);
    assert!(kept.iter().all(|f| whole_png(f)));
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .chain(std::fs::read_dir(&frames_dir).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("part"))
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
}

/// Whether process `pid` still runs (a zombie nobody reaped counts as ended).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Waits up to `limit` for `pid` to end.
fn ends_within(pid: u32, limit: Duration) -> bool {
    let started = Instant::now();
    while alive(pid) {
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn a_render_killed_while_encoding_takes_its_encoder_along() {
    if !has_ffmpeg() {
        ling_testkit::skip("render killed while encoding: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("show.mp4");
    std::fs::write(&out, b"the previous, complete render").unwrap();
    // An encoder that writes half a video and then hangs: the render is killed while it
    // encodes.
    let bin_dir = dir.path().join("fake-bin");
    std::fs::create_dir(&bin_dir).unwrap();
    let pid_file = dir.path().join("encoder.pid");
    let fake = bin_dir.join("ffmpeg");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n\
             case \"$*\" in *-version*|*-encoders*) exit 0;; esac\n\
             for a; do last=\"$a\"; done\n\
             printf 'half a video' > \"$last\"\n\
             echo $$ > '{}'\n\
             exec sleep 600\n",
            pid_file.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = render(&out, 6)
        .env("PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let encoder: u32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the render ended before it encoded"
        );
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no encoding began"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap(); // SIGKILL while ffmpeg writes
    child.wait().unwrap();
    assert!(
        ends_within(encoder, Duration::from_secs(20)),
        "the encoder (pid {encoder}) outlived the killed render"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"the previous, complete render",
        "the half-written video never took the output's name"
    );
    let partial = ling_stage::render::partial_path(&out);
    assert_eq!(std::fs::read(&partial).unwrap(), b"half a video");
    println!(
        "killed while encoding: encoder ended, {} untouched, partial in {}",
        out.display(),
        partial.display()
    );

    let rerun = render(&out, 6).output().unwrap();
    assert!(
        rerun.status.success(),
        "the rerun failed:\n{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert!(!partial.exists(), "the rerun cleared the partial video");
    assert_eq!(video_frames(&out).0, 6);
    assert_eq!(decode_errors(&out), "");
}

/// The pids of the processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) && alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

/// How a test ends the broadcast.
#[derive(Clone, Copy, PartialEq)]
enum Kill {
    /// `kill -9` of ling-stage alone: its ffmpegs see their input end.
    Show,
    /// `kill -9` of its whole process group: ling-stage and its ffmpegs at once.
    ShowAndEncoders,
}

/// Broadcasts the demo to a copy in each of `names` (in a temporary folder), kills it as
/// `kill` says after a few seconds on air, and waits for every ffmpeg to be gone. Returns the
/// folder and the copies.
fn broadcast_and_kill(names: &[&str], kill: Kill) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = names.iter().map(|n| dir.path().join(n)).collect();
    let mut cmd = bin();
    cmd.args(["broadcast", "scenes/demo.ron", "--loop"]);
    for file in &files {
        cmd.arg("--out").arg(file);
    }
    cmd.args([
        "--width", "160", "--height", "90", "--fps", "15", "--msaa", "1", "--quiet",
    ]);
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    let mut broadcasting = Broadcasting::spawn(&mut cmd).wait_on_air(Duration::from_secs(180));
    let ling = broadcasting.child.id();
    let encoders_of = || -> Vec<u32> {
        processes_mentioning(&dir.path().display().to_string())
            .into_iter()
            .filter(|&pid| pid != ling)
            .collect()
    };
    let started = Instant::now();
    let mut encoders = encoders_of();
    while encoders.len() < files.len() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
        encoders = encoders_of();
    }
    assert_eq!(
        encoders.len(),
        files.len(),
        "one ffmpeg per copy: {encoders:?}"
    );
    // A few seconds on air, so each copy holds a keyframe or two (a fragment written: more
    // than the file's header), however slowly a busy machine encodes.
    std::thread::sleep(Duration::from_secs(5));
    let size = |f: &PathBuf| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
    let started = Instant::now();
    while files.iter().any(|f| size(f) < 16 * 1024) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the copies never grew: {:?}",
            files.iter().map(size).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    match kill {
        Kill::Show => broadcasting.child.kill().unwrap(), // SIGKILL
        Kill::ShowAndEncoders => {
            // SAFETY: kill(2) with a process group id and a signal; no memory is involved.
            let done = unsafe { libc::kill(-(ling as libc::pid_t), libc::SIGKILL) };
            assert_eq!(done, 0, "kill -9 of the process group");
        }
    }
    let _ = broadcasting.child.wait();
    for pid in &encoders {
        assert!(
            ends_within(*pid, Duration::from_secs(30)),
            "ffmpeg {pid} lingers after the show was killed"
        );
    }
    (dir, files)
}

#[test]
fn a_broadcast_killed_leaves_its_recorded_copies_playable() {
    if !has_ffmpeg() {
        ling_testkit::skip("broadcast killed: ffmpeg/ffprobe not installed");
        return;
    }
    let (_dir, files) = broadcast_and_kill(&["copy.mp4", "copy.mkv", "copy.mov"], Kill::Show);
    for file in &files {
        let errors = decode_errors(file);
        let (frames, seconds) = video_frames(file);
        println!(
            "{}: {frames} frames, {seconds:.2} s, decode errors: {errors:?}",
            file.file_name().unwrap().to_string_lossy(),
        );
        assert_eq!(errors, "", "{} decodes cleanly", file.display());
        assert!(frames > 0, "{} holds frames", file.display());
    }
}

#[test]
fn recorded_copies_survive_their_encoders_being_killed_too() {
    if !has_ffmpeg() {
        ling_testkit::skip("broadcast and encoders killed: ffmpeg/ffprobe not installed");
        return;
    }
    let names = ["copy.mp4", "copy.mkv", "copy.mov", "copy.ts"];
    let (_dir, files) = broadcast_and_kill(&names, Kill::ShowAndEncoders);
    for file in &files {
        // The last packet may be cut off mid-write: what comes before it plays.
        let (frames, seconds) = video_frames(file);
        println!(
            "{}: {frames} frames, {seconds:.2} s, {} bytes, decode errors: {:?}",
            file.file_name().unwrap().to_string_lossy(),
            std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
            decode_errors(file)
        );
        assert!(frames > 0, "{} keeps its frames", file.display());
    }
}
