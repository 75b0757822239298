//! Takes: what the performer did, recorded to a folder in open formats, and played back.
//!
//! A take folder holds
//! - `body.bvh`: the body on the humanoid skeleton (VRM bone names, centimetres), which Blender
//!   and other tools import;
//! - `face.csv`: expression weights per frame, Live Link Face style (`Timecode`,
//!   `BlendShapeCount`, the 52 ARKit names), plus the five visemes;
//! - `commands.ron`: the director's commands with their times, one RON value per line;
//! - `take.ron`: metadata (show, frame rate, frames, duration, whether it was closed cleanly).
//!
//! Recording never blocks a frame: the ECS sends rows to a writer thread, which makes a
//! checkpoint every second — rows appended and flushed, then the BVH frame count (a fixed-width
//! field) updated in place. A recording that ends abruptly (kill -9, power cut) keeps
//! everything up to its last checkpoint.
//!
//! A write that fails (the disk fills up, the volume goes away) stops the recording, not the
//! show: the body is cut back to its last checkpoint, so the take stays readable, and the error
//! names the take, says what happened ("the disk is full") and how much the take keeps. The
//! app notices the writer stopped ([`Recording::last_error`], logged) and performs on.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bvh::{self, Bvh};
use crate::clip::ClipSample;
use crate::export::{UNITS_PER_METRE, humanoid_joints, to_bvh};
use ling_core::AppSystems;
use ling_core::show::{Cue, DirectorCommand, MotionSpec, ShowError, ShowFile};
use ling_core::signals::{
    ARKIT_NAMES, ExpressionWeights, HumanBone, HumanoidPose, Performer, Viseme,
};

/// Take metadata (`take.ron`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakeInfo {
    /// The take's name (`take-<unix seconds>` when recorded from the app).
    pub name: String,
    /// The show file the take was recorded in (its lights and set are used on replay).
    pub show: PathBuf,
    /// Frames per second of the body and face.
    pub fps: u32,
    /// Frames recorded (as of the last checkpoint, while recording).
    pub frames: usize,
    /// Length in seconds (`frames / fps`).
    pub duration: f64,
    /// Seconds since the Unix epoch when recording started.
    pub started_unix: u64,
    /// False until the recording was stopped cleanly.
    pub complete: bool,
}

/// Why a take could not be recorded or read; names the file.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// A file or folder could not be created, written or read.
    #[error("take {path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file of the take is not in the expected format.
    #[error("take {path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> TakeError {
    TakeError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// A file or folder that could not be written, saying so plainly when the disk is full.
fn write_err(path: &Path, e: std::io::Error) -> TakeError {
    if is_disk_full(&e) {
        io_err(path, format!("the disk is full ({e})"))
    } else {
        io_err(path, e)
    }
}

/// Whether `e` says the disk (or the user's quota) is full.
fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

enum Event {
    Frame { row: Vec<f32>, face: Vec<f32> },
    Command { at: f64, command: DirectorCommand },
    Stop,
}

/// Records a take on a writer thread. Dropping it stops the recording cleanly.
pub struct TakeRecorder {
    /// The take folder.
    pub dir: PathBuf,
    /// Frames per second recorded.
    pub(crate) fps: u32,
    tx: crossbeam_channel::Sender<Event>,
    thread: Option<std::thread::JoinHandle<Result<TakeInfo, TakeError>>>,
    frames_sent: usize,
}

/// The face CSV's header: Live Link Face's first columns and the ARKit names (capitalised as
/// Live Link writes them), then our visemes.
pub(crate) fn face_header() -> String {
    let mut cols = vec!["Timecode".to_string(), "BlendShapeCount".to_string()];
    cols.extend(
        ARKIT_NAMES
            .iter()
            .map(|n| n[..1].to_ascii_uppercase() + &n[1..]),
    );
    cols.extend(
        Viseme::ALL
            .iter()
            .map(|v| format!("Viseme{}", v.name().to_ascii_uppercase())),
    );
    cols.join(",")
}

fn timecode(frame: usize, fps: u32) -> String {
    let fps = fps as usize;
    let secs = frame / fps;
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        frame % fps
    )
}

/// Width of the BVH frame-count field, so it can be rewritten in place.
const COUNT_WIDTH: usize = 10;
const CHECKPOINT: Duration = Duration::from_secs(1);

impl TakeRecorder {
    /// Creates the take folder and starts the writer thread.
    pub(crate) fn start(dir: &Path, name: &str, show: &Path, fps: u32) -> Result<Self, TakeError> {
        std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
        if dir.join("take.ron").exists() {
            return Err(io_err(dir, "already holds a take; choose another folder"));
        }
        let info = TakeInfo {
            name: name.to_string(),
            // Absolute, so the take replays from anywhere.
            show: show.canonicalize().unwrap_or_else(|_| show.to_owned()),
            fps,
            frames: 0,
            duration: 0.0,
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            complete: false,
        };
        let skeleton = Bvh {
            joints: humanoid_joints(),
            frame_time: 1.0 / fps as f64,
            frame_count: 0,
            values: Vec::new(),
        };
        let header = skeleton.write().replace(
            "Frames: 0\n",
            &format!("Frames: {:0width$}\n", 0, width = COUNT_WIDTH),
        );
        let count_at = header.find("Frames: ").expect("header has a frame count") as u64 + 8;
        let body_len = header.len() as u64;
        let body_path = dir.join("body.bvh");
        let mut body = File::create(&body_path).map_err(|e| write_err(&body_path, e))?;
        body.write_all(header.as_bytes())
            .map_err(|e| write_err(&body_path, e))?;
        let face_path = dir.join("face.csv");
        let mut face =
            BufWriter::new(File::create(&face_path).map_err(|e| write_err(&face_path, e))?);
        writeln!(face, "{}", face_header()).map_err(|e| write_err(&face_path, e))?;
        let commands_path = dir.join("commands.ron");
        let commands =
            BufWriter::new(File::create(&commands_path).map_err(|e| write_err(&commands_path, e))?);
        write_info(dir, &info)?;

        let (tx, rx) = crossbeam_channel::unbounded();
        let dir_owned = dir.to_owned();
        let thread = std::thread::Builder::new()
            .name("take-writer".into())
            .spawn(move || {
                let mut w = Writer {
                    dir: dir_owned,
                    info,
                    skeleton,
                    order: Vec::new(),
                    body,
                    body_len,
                    count_at,
                    face,
                    commands,
                    rows: String::new(),
                    pending: 0,
                };
                w.order = w.skeleton.depth_first();
                w.run(rx)
            })
            .map_err(|e| io_err(dir, e))?;
        Ok(Self {
            dir: dir.to_owned(),
            fps,
            tx,
            thread: Some(thread),
            frames_sent: 0,
        })
    }

    /// Records one frame of the performer.
    pub(crate) fn frame(
        &mut self,
        root: &Transform,
        pose: &HumanoidPose,
        expressions: &ExpressionWeights,
    ) {
        let sample = ClipSample {
            pose: pose.clone(),
            root: *root,
            expressions: expressions.clone(),
        };
        let row = to_bvh(std::slice::from_ref(&sample), 1.0).values;
        let mut face = expressions.arkit.to_vec();
        face.extend_from_slice(&expressions.visemes);
        let _ = self.tx.send(Event::Frame { row, face });
        self.frames_sent += 1;
    }

    /// Records a director command at take time `at` (transport commands are not recorded).
    pub(crate) fn command(&self, at: f64, command: &DirectorCommand) {
        if !matches!(
            command,
            DirectorCommand::Play
                | DirectorCommand::Pause
                | DirectorCommand::TogglePlay
                | DirectorCommand::Seek(_)
        ) {
            let _ = self.tx.send(Event::Command {
                at,
                command: command.clone(),
            });
        }
    }

    /// Frames sent to the writer so far.
    pub(crate) fn frames(&self) -> usize {
        self.frames_sent
    }

    /// Whether the writer stopped by itself because a write failed (a full disk);
    /// [`stop`](Self::stop) then returns why and what the take keeps.
    pub fn writer_stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops cleanly: the last rows are written and the take marked complete.
    pub fn stop(mut self) -> Result<TakeInfo, TakeError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<TakeInfo, TakeError> {
        let _ = self.tx.send(Event::Stop);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io_err(&self.dir, "the take writer panicked"))?,
            None => Err(io_err(&self.dir, "already stopped")),
        }
    }
}

impl Drop for TakeRecorder {
    fn drop(&mut self) {
        if self.thread.is_some() {
            if let Err(e) = self.finish() {
                error!("{e}");
            }
        }
    }
}

struct Writer {
    dir: PathBuf,
    info: TakeInfo,
    skeleton: Bvh,
    order: Vec<usize>,
    body: File,
    /// Length of `body.bvh` at the last checkpoint: a failed write is cut back to it.
    body_len: u64,
    count_at: u64,
    face: BufWriter<File>,
    commands: BufWriter<File>,
    rows: String,
    pending: usize,
}

/// A write that failed: the file and the error.
type WriteFailure = (PathBuf, std::io::Error);

impl Writer {
    fn run(mut self, rx: crossbeam_channel::Receiver<Event>) -> Result<TakeInfo, TakeError> {
        match self.record(rx) {
            Ok(()) => Ok(self.info),
            Err((path, e)) => Err(self.stopped(&path, &e)),
        }
    }

    fn record(&mut self, rx: crossbeam_channel::Receiver<Event>) -> Result<(), WriteFailure> {
        let mut last = Instant::now();
        loop {
            let event = rx.recv_timeout(Duration::from_millis(100));
            match event {
                Ok(Event::Frame { row, face }) => {
                    self.skeleton.write_row(&self.order, &row, &mut self.rows);
                    let frame = self.info.frames + self.pending;
                    let mut line =
                        format!("{},{}", timecode(frame, self.info.fps), ARKIT_NAMES.len());
                    for v in face {
                        line.push_str(&format!(",{v:.4}"));
                    }
                    writeln!(self.face, "{line}").map_err(|e| (self.dir.join("face.csv"), e))?;
                    self.pending += 1;
                }
                Ok(Event::Command { at, command }) => {
                    let path = self.dir.join("commands.ron");
                    let cue = Cue::timed(at, command);
                    let text = ron::to_string(&cue)
                        .map_err(|e| (path.clone(), std::io::Error::other(e)))?;
                    writeln!(self.commands, "{text}").map_err(|e| (path, e))?;
                }
                Ok(Event::Stop) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    self.info.complete = true;
                    return self.checkpoint();
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            }
            if last.elapsed() >= CHECKPOINT {
                self.checkpoint()?;
                last = Instant::now();
            }
        }
    }

    /// Makes everything so far durable: rows, then the frame count, then the metadata. The
    /// frame count only moves once the rows it counts are on disk.
    fn checkpoint(&mut self) -> Result<(), WriteFailure> {
        let body_path = self.dir.join("body.bvh");
        let err = |e: std::io::Error| (body_path.clone(), e);
        self.body.seek(SeekFrom::End(0)).map_err(err)?;
        self.body.write_all(self.rows.as_bytes()).map_err(err)?;
        self.body.sync_data().map_err(err)?;
        let frames = self.info.frames + self.pending;
        self.body
            .seek(SeekFrom::Start(self.count_at))
            .map_err(err)?;
        self.body
            .write_all(format!("{frames:0width$}", width = COUNT_WIDTH).as_bytes())
            .map_err(err)?;
        self.body.sync_data().map_err(err)?;
        self.body_len += self.rows.len() as u64;
        self.rows.clear();
        self.info.frames = frames;
        self.pending = 0;
        self.info.duration = self.info.frames as f64 / self.info.fps as f64;
        self.face
            .flush()
            .map_err(|e| (self.dir.join("face.csv"), e))?;
        self.commands
            .flush()
            .map_err(|e| (self.dir.join("commands.ron"), e))?;
        write_info_io(&self.dir, &self.info)
    }

    /// After a failed write: cuts the body back to its last checkpoint (shrinking a file needs
    /// no space, so this works on a full disk), so the take reads back whole up to there, and
    /// says what happened and what the take keeps.
    fn stopped(&mut self, path: &Path, e: &std::io::Error) -> TakeError {
        let _ = self.body.set_len(self.body_len);
        let _ = self.body.sync_data();
        let _ = std::fs::remove_file(self.dir.join("take.ron.tmp"));
        let what = if is_disk_full(e) {
            format!("the disk is full ({e})")
        } else {
            format!("cannot write ({e})")
        };
        io_err(
            path,
            format!(
                "{what}; recording stopped, the take keeps {} frames ({:.1} s), up to its last \
                 checkpoint",
                self.info.frames, self.info.duration
            ),
        )
    }
}

/// Writes `take.ron` atomically (temp file, then rename).
fn write_info(dir: &Path, info: &TakeInfo) -> Result<(), TakeError> {
    write_info_io(dir, info).map_err(|(path, e)| write_err(&path, e))
}

fn write_info_io(dir: &Path, info: &TakeInfo) -> Result<(), WriteFailure> {
    let path = dir.join("take.ron");
    let tmp = dir.join("take.ron.tmp");
    let text = ron::ser::to_string_pretty(info, ron::ser::PrettyConfig::default())
        .map_err(|e| (path.clone(), std::io::Error::other(e)))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| (tmp.clone(), e))?;
    f.write_all(text.as_bytes()).map_err(|e| (tmp.clone(), e))?;
    f.sync_data().map_err(|e| (tmp.clone(), e))?;
    std::fs::rename(&tmp, &path).map_err(|e| (path, e))
}

/// A take read back: body poses with the stage root folded into the hips, faces, commands.
#[derive(Debug, Clone)]
pub struct Take {
    /// The take folder.
    pub dir: PathBuf,
    /// Its metadata, with `frames` and `duration` counted from the body actually read.
    pub info: TakeInfo,
    /// One pose per frame; the hips carry the stage position and facing.
    pub poses: Vec<HumanoidPose>,
    /// One face per frame (fewer if `face.csv` was cut off).
    pub faces: Vec<ExpressionWeights>,
    /// The director's commands, with their take times.
    pub commands: Vec<Cue>,
}

/// Reads `face.csv`: a header naming the columns (frame, time, then one expression each), one
/// row a frame. Reading stops at a row cut off by a crash.
fn parse_faces(text: &str) -> Vec<ExpressionWeights> {
    let mut faces = Vec::new();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() != header.len() {
            break; // a line cut off by a crash
        }
        let mut e = ExpressionWeights::default();
        for (name, value) in header.iter().zip(&cols).skip(2) {
            let v: f32 = value.parse().unwrap_or(0.0);
            if let Some(viseme) = name.strip_prefix("Viseme") {
                e.set(&viseme.to_ascii_lowercase(), v);
            } else {
                // Columns are written capitalised (`EyeBlinkLeft`); signals start lower-case.
                let mut chars = name.chars();
                let lower: String = chars
                    .next()
                    .map(|c| c.to_ascii_lowercase())
                    .into_iter()
                    .chain(chars)
                    .collect();
                e.set(&lower, v);
            }
        }
        faces.push(e);
    }
    faces
}

impl Take {
    /// Whether `dir` is a take folder (holds a `take.ron`).
    pub fn is_take(dir: &Path) -> bool {
        dir.is_dir() && dir.join("take.ron").is_file()
    }

    /// Loads a take, including one whose recording was cut off (up to its last checkpoint).
    pub fn load(dir: &Path) -> Result<Take, TakeError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))
        };
        let info = read("take.ron")?;
        let body = read("body.bvh")?;
        // The face and the commands are optional: a take without a camera has no face.
        let face = read("face.csv").ok();
        let commands = read("commands.ron").ok();
        Self::parse(dir, &info, &body, face.as_deref(), commands.as_deref())
    }

    /// A take from the text of its files (`take.ron`, `body.bvh`, and `face.csv` and
    /// `commands.ron` when present); `dir` names the files in errors. A body, face or command
    /// list cut off by a crash is read up to the cut.
    pub fn parse(
        dir: &Path,
        info: &str,
        body: &str,
        face: Option<&str>,
        commands: Option<&str>,
    ) -> Result<Take, TakeError> {
        let fmt = |path: PathBuf, message: String| TakeError::Format { path, message };
        let info_path = dir.join("take.ron");
        let info: TakeInfo =
            ron::from_str(info).map_err(|e| fmt(info_path.clone(), e.to_string()))?;
        let body_path = dir.join("body.bvh");
        let body =
            bvh::parse_recovering(body).map_err(|e| fmt(body_path.clone(), e.to_string()))?;
        let mut poses = Vec::with_capacity(body.frame_count);
        let index: Vec<Option<usize>> = HumanBone::ALL
            .iter()
            .map(|b| body.joint_index(b.name()))
            .collect();
        for f in 0..body.frame_count {
            let mut pose = HumanoidPose::default();
            for (&bone, j) in HumanBone::ALL.iter().zip(&index) {
                if let Some(j) = j {
                    let (t, r) = body.local(f, *j);
                    pose.set(bone, r);
                    if bone == HumanBone::Hips {
                        pose.hips = t / UNITS_PER_METRE;
                    }
                }
            }
            poses.push(pose);
        }
        let faces = face.map(parse_faces).unwrap_or_default();
        let commands_path = dir.join("commands.ron");
        let mut cues = Vec::new();
        if let Some(text) = commands {
            let last = text.lines().count();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match ron::from_str::<Cue>(line) {
                    Ok(cue) => cues.push(cue),
                    Err(e) if i + 1 == last => {
                        warn!(
                            "{}:{}: ignoring a command cut off mid-line: {e}",
                            commands_path.display(),
                            i + 1
                        )
                    }
                    Err(e) => {
                        return Err(fmt(commands_path.clone(), format!("line {}: {e}", i + 1)));
                    }
                }
            }
        }
        let mut info = info;
        info.frames = poses.len();
        info.duration = poses.len() as f64 / info.fps as f64;
        Ok(Take {
            dir: dir.to_owned(),
            info,
            poses,
            faces,
            commands: cues,
        })
    }

    /// A show that replays this take: the recorded show's stage and lights, the take's motion,
    /// and the recorded commands as its cue list.
    pub fn as_show(&self) -> Result<ShowFile, ShowError> {
        let mut show = ShowFile::load(&self.info.show)?;
        show.duration = self.info.duration.max(1.0 / self.info.fps as f64);
        show.motion = MotionSpec::Take {
            path: self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone()),
        };
        show.cues = self
            .commands
            .iter()
            .filter(|c| c.at.is_some_and(|at| at <= show.duration) && !c.command.is_operator_only())
            .cloned()
            .collect();
        Ok(show)
    }
}

/// Recording state in the app: the recorder, if recording, and where takes go.
#[derive(Resource, Default)]
pub struct Recording {
    /// The take being recorded, if any.
    pub recorder: Option<TakeRecorder>,
    /// Folder new takes are created in.
    pub takes_dir: PathBuf,
    /// The show file being performed (stored in each take).
    pub show_path: PathBuf,
    /// Seconds since recording started.
    clock: f64,
    /// Why the last start or stop failed.
    pub last_error: Option<String>,
    /// The last take closed.
    pub last_take: Option<PathBuf>,
}

/// Frames per second of recorded takes.
pub(crate) const TAKE_FPS: u32 = 60;

/// What the recorder is doing, for the panel.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct RecordingStatus {
    /// The take being recorded: its folder and how much it holds.
    pub recording: Option<RecordingProgress>,
    /// The last take closed.
    pub last_take: Option<PathBuf>,
    /// Why the last start or stop failed.
    pub last_error: Option<String>,
}

/// How far a take being recorded has come.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingProgress {
    /// The take folder.
    pub dir: PathBuf,
    /// Frames recorded.
    pub frames: usize,
    /// Seconds recorded.
    pub seconds: f64,
}

/// Recording takes: `StartRecording` and `StopRecording` commands, a frame of the performer at
/// [`TAKE_FPS`] and every other command into the take, and the [`RecordingStatus`].
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Recording>()
        .init_resource::<RecordingStatus>()
        .add_systems(
            Update,
            (
                handle_record_commands,
                end_failed_take.run_if(take_writer_stopped),
                record_frame,
                publish_recording_status,
            )
                .chain()
                .in_set(AppSystems::Capture),
        );
}

/// Publishes the recorder's state into [`RecordingStatus`], cloning paths only when they change
/// (it runs every frame).
fn publish_recording_status(recording: Res<Recording>, mut status: ResMut<RecordingStatus>) {
    match (recording.recorder.as_ref(), status.recording.as_mut()) {
        (Some(r), Some(shown)) if shown.dir == r.dir => {
            if shown.frames != r.frames() {
                shown.frames = r.frames();
                shown.seconds = r.frames() as f64 / r.fps as f64;
            }
        }
        (Some(r), _) => {
            status.recording = Some(RecordingProgress {
                dir: r.dir.clone(),
                frames: r.frames(),
                seconds: r.frames() as f64 / r.fps as f64,
            });
        }
        (None, Some(_)) => status.recording = None,
        (None, None) => {}
    }
    if status.last_take != recording.last_take {
        status.last_take = recording.last_take.clone();
    }
    if status.last_error != recording.last_error {
        status.last_error = recording.last_error.clone();
    }
}

fn handle_record_commands(
    mut commands: MessageReader<DirectorCommand>,
    mut recording: ResMut<Recording>,
) {
    for command in commands.read() {
        match command {
            DirectorCommand::StartRecording if recording.recorder.is_none() => {
                let name = format!(
                    "take-{}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                );
                let dir = recording.takes_dir.join(&name);
                let show = recording.show_path.clone();
                match TakeRecorder::start(&dir, &name, &show, TAKE_FPS) {
                    Ok(r) => {
                        info!("recording take to {}", dir.display());
                        recording.recorder = Some(r);
                        recording.clock = 0.0;
                        recording.last_error = None;
                    }
                    Err(e) => {
                        error!("{e}");
                        recording.last_error = Some(e.to_string());
                    }
                }
            }
            DirectorCommand::StopRecording => {
                if let Some(r) = recording.recorder.take() {
                    let dir = r.dir.clone();
                    match r.stop() {
                        Ok(info) => info!(
                            "take saved: {} ({} frames, {:.1} s)",
                            dir.display(),
                            info.frames,
                            info.duration
                        ),
                        Err(e) => {
                            error!("{e}");
                            recording.last_error = Some(e.to_string());
                        }
                    }
                    recording.last_take = Some(dir);
                }
            }
            other => {
                let at = recording.clock;
                if let Some(r) = &recording.recorder {
                    r.command(at, other);
                }
            }
        }
    }
}

fn take_writer_stopped(recording: Res<Recording>) -> bool {
    recording
        .recorder
        .as_ref()
        .is_some_and(TakeRecorder::writer_stopped)
}

/// A take whose writer stopped on a failed write (a full disk) ends here: the error, naming
/// the take and what it keeps, goes to the log and the panel, and the show performs on.
fn end_failed_take(mut recording: ResMut<Recording>) {
    let Some(recorder) = recording.recorder.take() else {
        return;
    };
    let dir = recorder.dir.clone();
    let message = match recorder.stop() {
        Err(e) => e.to_string(),
        Ok(info) => format!(
            "take {}: the writer stopped early; the take keeps {} frames ({:.1} s)",
            dir.display(),
            info.frames,
            info.duration
        ),
    };
    error!("{message}");
    recording.last_error = Some(message);
    recording.last_take = Some(dir);
}

/// Samples the performer at the take's fixed rate, whatever the frame rate.
fn record_frame(
    time: Res<Time<Real>>,
    mut recording: ResMut<Recording>,
    performers: Query<(&Transform, &HumanoidPose, &ExpressionWeights), With<Performer>>,
) {
    let Some((root, pose, expressions)) = performers.iter().next() else {
        return;
    };
    let recording = &mut *recording;
    let Some(recorder) = recording.recorder.as_mut() else {
        return;
    };
    let due = (recording.clock * recorder.fps as f64).floor() as usize + 1;
    for _ in recorder.frames()..due {
        recorder.frame(root, pose, expressions);
    }
    recording.clock += time.delta_secs_f64();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_take_round_trips_through_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let take_dir = dir.path().join("t1");
        let show = ling_testkit::repo_root().join("scenes/demo.ron");
        let mut rec = TakeRecorder::start(&take_dir, "t1", &show, 30).unwrap();
        let clip = crate::demo::demo_clip();
        for i in 0..90 {
            let s = clip.sample(i as f32 / 30.0);
            rec.frame(&s.root, &s.pose, &s.expressions);
        }
        rec.command(
            1.5,
            &DirectorCommand::CutTo {
                shot: ling_core::looks::CameraShot::CloseUp,
                blend: 0.0,
            },
        );
        rec.command(1.6, &DirectorCommand::Pause);
        let info = rec.stop().unwrap();
        assert_eq!(info.frames, 90);
        assert!(info.complete);

        let take = Take::load(&take_dir).unwrap();
        assert_eq!(take.poses.len(), 90);
        assert_eq!(take.faces.len(), 90);
        assert_eq!(
            take.commands.len(),
            1,
            "transport commands are not recorded"
        );
        let s = clip.sample(2.0);
        let back = &take.poses[60];
        let world_hips = s.root.rotation * s.pose.rotation(HumanBone::Hips);
        assert!(back.rotation(HumanBone::Hips).dot(world_hips).abs() > 0.99999);
        assert!(
            back.rotation(HumanBone::LeftUpperArm)
                .dot(s.pose.rotation(HumanBone::LeftUpperArm))
                .abs()
                > 0.99999
        );
        assert!(back.hips.distance(s.root.transform_point(s.pose.hips)) < 1e-4);
        assert!(
            (take.faces[60].get("mouthSmileLeft").unwrap()
                - s.expressions.get("mouthSmileLeft").unwrap())
            .abs()
                < 1e-3
        );
        let header = std::fs::read_to_string(take_dir.join("face.csv")).unwrap();
        assert!(header.starts_with("Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft"));
        let show = take.as_show().unwrap();
        assert!((show.duration - 3.0).abs() < 1e-9);
        assert_eq!(show.cues.len(), 1);
    }
}
