//! One output: an ffmpeg process fed with frames and sound, its statistics and its retries.
//!
//! A [`Broadcaster`] owns one supervisor thread. The show hands it frames
//! ([`Broadcaster::push_frame`]) and sound ([`Broadcaster::push_audio`]); neither ever waits
//! for ffmpeg: a frame replaces the one still pending (the replaced one counts as dropped) and
//! sound goes into a ring of about a second that forgets its oldest samples when full.
//!
//! For each connection the supervisor starts ffmpeg with [`ffmpeg_args`] and four threads:
//! - the **video writer** ticks at the output frame rate on the wall clock (tick *k* is due at
//!   *start + k / fps*). Each tick it writes the pending frame to ffmpeg's standard input, or
//!   the last one again when none came (a *repeat*). After a stall longer than a tick it skips
//!   the ticks it missed rather than bursting to catch up;
//! - the **audio writer** writes mono `f32` samples to ffmpeg's descriptor 3 on the same
//!   clock, exactly `rate / fps` samples per frame written (from the ring, padded with
//!   silence), so sound and picture keep the same length in the output; sound for skipped
//!   ticks is dropped with them. It is a thread of its own because ffmpeg reads its inputs in
//!   separate threads: one writer blocked on the picture could starve the sound and deadlock;
//! - a **progress reader** parses ffmpeg's `-progress` report (bitrate, output time: the
//!   encoder's lag behind what was sent). The first report means data flows: the link is
//!   [`LinkState::OnAir`];
//! - an **error reader** keeps ffmpeg's last error line: what the console shows.
//!
//! When ffmpeg exits or a write fails, the link is [`LinkState::Retrying`]: after 1 s, 2 s,
//! 4 s… (at most 15 s; back to 1 s after a connection that went on air) a new ffmpeg starts.
//! A file target never loses an earlier attempt's recording: the first attempt writes the file
//! asked for (replacing an old one, as `render` does), a retry writes `name-2.ext` (the first
//! free name; nothing is overwritten after the first attempt).
//!
//! ffmpeg never outlives the show. When ling-stage dies, even by `kill -9`, ffmpeg's inputs
//! close: a file's ffmpeg reads the end of its picture and sound, writes the file's end (its
//! last fragment, its index) and exits, so a recorded copy stays playable; file containers are
//! written to survive even ffmpeg being killed too (fragmented MP4 and MOV, Matroska, MPEG-TS,
//! each packet flushed). A stream's ffmpeg may be blocked on a stalled network, where the end
//! of its input would go unnoticed: it is started with [`end_with_parent`] and `SIGKILL`.
//! (Not `SIGTERM` for files: Linux sends the parent-death signal once for every thread of the
//! dying process the child is handed on to, and ffmpeg exits at once, without finishing its
//! file, on its fourth signal.)

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::target::{OutputTarget, StreamSettings, TargetKind, ffmpeg_args};

/// How long [`Broadcaster::stop`] waits for ffmpeg to finish the file or stream.
pub const STOP_WAIT: Duration = Duration::from_secs(10);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// The first wait after a failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// How long ffmpeg may live on after one of our writes to it failed.
const FAILED_WRITE_GRACE: Duration = Duration::from_secs(2);
/// How often the supervisor looks at its child and its flags.
const POLL: Duration = Duration::from_millis(20);
/// Seconds of sound an output holds before dropping the oldest.
const AUDIO_RING_SECONDS: usize = 3;

/// One picture for the outputs.
#[derive(Clone)]
pub struct Frame {
    /// Tightly packed RGBA8 rows, sRGB-encoded, colours premultiplied by alpha (alpha is 255
    /// everywhere in a normal stage picture). Shared: every output gets the same pixels.
    pub rgba: Arc<Vec<u8>>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Frame({}×{}, {} bytes)",
            self.width,
            self.height,
            self.rgba.len()
        )
    }
}

/// What happens to the picture's alpha before ffmpeg gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// Sent as is (an opaque stage picture).
    Opaque,
    /// Laid over this sRGB colour ([`ling_set::keying::key_over`]): opaque, exactly the key
    /// where the picture is transparent (chroma key in the receiving software).
    Key([u8; 3]),
    /// Straight alpha kept ([`ling_set::keying::unpremultiply`]), for `.mov` (ProRes 4444)
    /// and `.webm` (VP9) files; ffmpeg is asked to keep it.
    Alpha,
}

/// The state of an output's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkState {
    /// ffmpeg started; no progress report yet (waiting for the first frame, connecting).
    Starting,
    /// ffmpeg reports progress: the output receives the program.
    OnAir,
    /// The last attempt failed; the next one starts after [`BroadcastStats::retry_in`].
    Retrying,
    /// Stopped (or never started).
    #[default]
    Stopped,
}

/// What an output did: for the console and for the end-of-show report.
#[derive(Debug, Clone, Default)]
pub struct BroadcastStats {
    /// The link's state.
    pub state: LinkState,
    /// The target's [`label`](OutputTarget::label) (stream keys masked).
    pub target: String,
    /// Time since the current connection went on air (zero when not on air).
    pub uptime: Duration,
    /// Frames written to ffmpeg, new and repeated, over all connections.
    pub frames_sent: u64,
    /// Of [`frames_sent`](Self::frames_sent), the ticks that repeated the previous frame
    /// because no new one had come (the renderer was slower than the output).
    pub frames_repeated: u64,
    /// Frames handed over that were never sent: replaced by a newer one before their tick
    /// (ffmpeg or the network too slow), handed over while not connected, or of the wrong size.
    pub frames_dropped: u64,
    /// Ticks of the output clock that passed while ffmpeg was not taking frames (starting,
    /// or an encoder or network slower than real time): the stream is that much shorter
    /// than the time on air.
    pub ticks_missed: u64,
    /// Frames written in the last second.
    pub fps_sent: f32,
    /// How far ffmpeg's output time is behind the frames written to it.
    pub encoder_lag: Duration,
    /// The output's bitrate (kbit/s) between the last two progress reports (ffmpeg's average
    /// since the start when nothing was written between them: file muxers buffer).
    pub bitrate_kbps: f32,
    /// ffmpeg processes started (or tried) so far.
    pub attempts: u32,
    /// While retrying: the time left before the next attempt.
    pub retry_in: Option<Duration>,
    /// Why the last attempt failed: ffmpeg's own error line, with secrets masked.
    pub last_error: Option<String>,
    /// For file targets: the file being written (or last written).
    pub output_file: Option<PathBuf>,
}

/// One running output: the program sent to one target through ffmpeg, retried when it fails.
pub struct Broadcaster {
    shared: Arc<Shared>,
    supervisor: Option<JoinHandle<()>>,
}

impl fmt::Debug for Broadcaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcaster")
            .field("target", &self.shared.label)
            .finish_non_exhaustive()
    }
}

/// What the show and the output's threads share.
struct Shared {
    program: String,
    target: OutputTarget,
    label: String,
    settings: StreamSettings,
    background: Mutex<Background>,
    /// Stop requested.
    stop: AtomicBool,
    /// How long a stop waits for ffmpeg, in milliseconds.
    stop_wait_ms: AtomicU64,
    /// A live ffmpeg accepts frames (starting or on air).
    connected: AtomicBool,
    pending: Mutex<Option<Frame>>,
    audio: Mutex<VecDeque<f32>>,
    audio_capacity: usize,
    /// The largest recent hand-over of sound, in samples (decays): how bursty the sound comes.
    /// A slow renderer hands over a long stretch with each frame; the writer buffers that much.
    audio_burst: AtomicUsize,
    frames_sent: AtomicU64,
    frames_repeated: AtomicU64,
    ticks_missed: AtomicU64,
    frames_dropped: AtomicU64,
    /// When recent frames were written (the last ~2 s), for `fps_sent`.
    sends: Mutex<VecDeque<Instant>>,
    /// The last frame written, ready for ffmpeg (repeated on later ticks and connections).
    last_frame: Mutex<Option<Arc<Vec<u8>>>>,
    status: Mutex<Status>,
    /// The running ffmpeg's process id.
    child_pid: Mutex<Option<u32>>,
}

#[derive(Default)]
struct Status {
    state: LinkState,
    attempts: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    output_file: Option<PathBuf>,
    on_air_since: Option<Instant>,
    bitrate_kbps: f32,
    encoder_lag: Duration,
}

/// Locks a mutex, ignoring poisoning (a panicked writer thread must not take the show down).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Broadcaster {
    /// Starts sending to `target`. Never blocks and never fails: a missing ffmpeg or a
    /// refused connection shows in [`stats`](Self::stats) (`last_error`) and is retried.
    pub fn start(target: OutputTarget, settings: StreamSettings, background: Background) -> Self {
        Self::start_with_program("ffmpeg", target, settings, background)
    }

    /// [`start`](Self::start) with another ffmpeg executable (a path or a name on `PATH`).
    pub fn start_with_program(
        program: &str,
        target: OutputTarget,
        settings: StreamSettings,
        background: Background,
    ) -> Self {
        let audio_capacity = settings
            .audio_input(&target)
            .map_or(0, |rate| AUDIO_RING_SECONDS * rate.max(1) as usize);
        let shared = Arc::new(Shared {
            program: program.into(),
            label: target.label(),
            target,
            settings,
            background: Mutex::new(background),
            stop: AtomicBool::new(false),
            stop_wait_ms: AtomicU64::new(STOP_WAIT.as_millis() as u64),
            connected: AtomicBool::new(false),
            pending: Mutex::new(None),
            audio: Mutex::new(VecDeque::with_capacity(audio_capacity)),
            audio_capacity,
            audio_burst: AtomicUsize::new(0),
            frames_sent: AtomicU64::new(0),
            frames_repeated: AtomicU64::new(0),
            ticks_missed: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            sends: Mutex::new(VecDeque::new()),
            last_frame: Mutex::new(None),
            status: Mutex::new(Status {
                state: LinkState::Starting,
                ..Status::default()
            }),
            child_pid: Mutex::new(None),
        });
        let for_thread = shared.clone();
        let supervisor = std::thread::Builder::new()
            .name(format!("broadcast {}", shared.label))
            .spawn(move || supervise(for_thread));
        let supervisor = match supervisor {
            Ok(handle) => Some(handle),
            Err(e) => {
                let mut status = lock(&shared.status);
                status.state = LinkState::Stopped;
                status.last_error = Some(format!("could not start the output's thread: {e}"));
                None
            }
        };
        Self { shared, supervisor }
    }

    /// Hands a frame over. Never blocks: it replaces the pending frame (which then counts as
    /// dropped); while no ffmpeg is running (retrying) the frame is dropped.
    pub fn push_frame(&self, frame: Frame) {
        let shared = &self.shared;
        if !shared.connected.load(Ordering::Acquire) {
            shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let replaced = lock(&shared.pending).replace(frame);
        if replaced.is_some() {
            shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
        }
        // The replaced frame's pixels are freed here, outside the lock.
        drop(replaced);
    }

    /// Changes what fills the transparent pixels of the next frames (the operator switched
    /// the backdrop on air). Whether the stream carries alpha is settled when ffmpeg starts.
    pub fn set_background(&self, background: Background) {
        *lock(&self.shared.background) = background;
    }

    /// Hands mono sound over, at [`StreamSettings::audio_rate`]. Never blocks: the samples go
    /// into a ring of a few seconds that drops its oldest samples when full. Ignored while no
    /// ffmpeg is running, and by outputs without sound input.
    pub fn push_audio(&self, mono: &[f32]) {
        let shared = &self.shared;
        if shared.audio_capacity == 0 || !shared.connected.load(Ordering::Acquire) {
            return;
        }
        push_ring(&mut lock(&shared.audio), mono, shared.audio_capacity);
        let burst = shared.audio_burst.load(Ordering::Relaxed);
        shared
            .audio_burst
            .store(mono.len().max(burst - burst / 16), Ordering::Relaxed);
    }

    /// The output's statistics now.
    pub fn stats(&self) -> BroadcastStats {
        let shared = &self.shared;
        let now = Instant::now();
        let fps_sent = {
            let sends = lock(&shared.sends);
            sends
                .iter()
                .rev()
                .take_while(|t| now.saturating_duration_since(**t) <= Duration::from_secs(1))
                .count() as f32
        };
        let status = lock(&shared.status);
        BroadcastStats {
            state: status.state,
            target: shared.label.clone(),
            uptime: status
                .on_air_since
                .filter(|_| status.state == LinkState::OnAir)
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(t)),
            frames_sent: shared.frames_sent.load(Ordering::Relaxed),
            frames_repeated: shared.frames_repeated.load(Ordering::Relaxed),
            frames_dropped: shared.frames_dropped.load(Ordering::Relaxed),
            ticks_missed: shared.ticks_missed.load(Ordering::Relaxed),
            fps_sent,
            encoder_lag: status.encoder_lag,
            bitrate_kbps: status.bitrate_kbps,
            attempts: status.attempts,
            retry_in: status
                .retry_at
                .filter(|_| status.state == LinkState::Retrying)
                .map(|t| t.saturating_duration_since(now)),
            last_error: status.last_error.clone(),
            output_file: status.output_file.clone(),
        }
    }

    /// Stops: closes ffmpeg's inputs, waits up to [`STOP_WAIT`] for it to finish the file or
    /// stream, then kills it. Returns the final statistics.
    pub fn stop(self) -> BroadcastStats {
        self.stop_within(STOP_WAIT)
    }

    /// [`stop`](Self::stop), waiting at most `wait` for ffmpeg before killing it.
    pub fn stop_within(mut self, wait: Duration) -> BroadcastStats {
        self.shared
            .stop_wait_ms
            .store(wait.as_millis() as u64, Ordering::Relaxed);
        self.shared.stop.store(true, Ordering::Release);
        if let Some(handle) = self.supervisor.take() {
            let _ = handle.join();
        }
        self.stats()
    }
}

impl Drop for Broadcaster {
    /// Stops without waiting: the supervisor closes ffmpeg's inputs and lets it finish (up to
    /// [`STOP_WAIT`], then kills it) on its own thread.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
    }
}

/// Appends `samples` to `ring`, keeping at most `capacity` (the newest).
fn push_ring(ring: &mut VecDeque<f32>, samples: &[f32], capacity: usize) {
    let samples = &samples[samples.len().saturating_sub(capacity)..];
    let overflow = (ring.len() + samples.len()).saturating_sub(capacity);
    ring.drain(..overflow.min(ring.len()));
    ring.extend(samples.iter().copied());
}

/// The file a retry writes: `name-N.ext` from N = `from` on (1 is `base` itself), always a
/// name that does not exist yet. Returns the path and its index.
fn free_file(base: &Path, from: u32) -> (PathBuf, u32) {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = base
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut index = from.max(1);
    loop {
        let path = if index == 1 {
            base.to_path_buf()
        } else {
            base.with_file_name(format!("{stem}-{index}{ext}"))
        };
        // symlink_metadata: a dangling link is taken too.
        if std::fs::symlink_metadata(&path).is_err() {
            return (path, index);
        }
        index += 1;
    }
}

/// How one connection ended.
enum Ended {
    Stopped,
    Failed { error: String, was_on_air: bool },
}

/// One output's life: attempts, backoff, stop.
fn supervise(shared: Arc<Shared>) {
    let mut backoff = FIRST_BACKOFF;
    let mut file_index = 0;
    while !shared.stop.load(Ordering::Acquire) {
        let (target, file) = if shared.target.kind == TargetKind::File {
            // The first attempt writes the file asked for (replacing an old one, as `render`
            // does); a retry never writes over what this run recorded: it takes a new name.
            let base = Path::new(&shared.target.url);
            let (path, index) = if file_index == 0 {
                (base.to_path_buf(), 1)
            } else {
                free_file(base, file_index + 1)
            };
            file_index = index;
            (shared.target.with_file(&path), Some(path))
        } else {
            (shared.target.clone(), None)
        };
        {
            let mut status = lock(&shared.status);
            status.attempts += 1;
            status.state = LinkState::Starting;
            status.retry_at = None;
            status.on_air_since = None;
            status.output_file = file.clone().or(status.output_file.take());
        }
        match connect(&shared, &target) {
            Ended::Stopped => break,
            Ended::Failed { error, was_on_air } => {
                if file.as_ref().is_some_and(|f| f.exists()) {
                    file_index += 1;
                }
                if was_on_air {
                    backoff = FIRST_BACKOFF;
                }
                let retry_at = Instant::now() + backoff;
                {
                    let mut status = lock(&shared.status);
                    status.state = LinkState::Retrying;
                    status.last_error = Some(error);
                    status.on_air_since = None;
                    status.retry_at = Some(retry_at);
                    status.bitrate_kbps = 0.0;
                }
                while Instant::now() < retry_at && !shared.stop.load(Ordering::Acquire) {
                    std::thread::sleep(
                        POLL.min(retry_at.saturating_duration_since(Instant::now())),
                    );
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    let mut status = lock(&shared.status);
    status.state = LinkState::Stopped;
    status.retry_at = None;
    status.on_air_since = None;
    status.bitrate_kbps = 0.0;
}

/// What one connection's threads share.
#[derive(Default)]
struct Link {
    /// Writers stop (stop requested, or the connection failed).
    done: AtomicBool,
    /// A writer's error.
    failure: Mutex<Option<String>>,
    /// Frames written (or being written) to this ffmpeg.
    frames: AtomicU64,
    /// Ticks skipped after the first frame (their sound is dropped too).
    skipped: AtomicU64,
    /// ffmpeg reported progress.
    on_air: AtomicBool,
    /// ffmpeg's last non-empty error line.
    last_error_line: Mutex<Option<String>>,
}

impl Link {
    fn fail(&self, error: String) {
        lock(&self.failure).get_or_insert(error);
        self.done.store(true, Ordering::Release);
    }
}

/// Runs one ffmpeg until it exits, a write fails or a stop is requested.
fn connect(shared: &Arc<Shared>, target: &OutputTarget) -> Ended {
    let settings = &shared.settings;
    let audio_rate = settings.audio_input(target);
    let alpha = *lock(&shared.background) == Background::Alpha && target.carries_alpha();
    let mut command = Command::new(&shared.program);
    command
        .args(ffmpeg_args(target, settings, alpha))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let audio_pipe = match audio_rate.map(|_| std::io::pipe()).transpose() {
        Ok(pipe) => pipe,
        Err(e) => {
            return Ended::Failed {
                error: format!("could not make the sound pipe for ffmpeg: {e}"),
                was_on_air: false,
            };
        }
    };
    if let Some((reader, _)) = &audio_pipe {
        let fd = reader.as_raw_fd();
        // SAFETY: the closure runs in the forked child before exec, where only
        // async-signal-safe functions may be called; it calls only `dup2` and `fcntl` (both
        // async-signal-safe), allocates nothing and touches no lock. `fd` is the read end of
        // the sound pipe, open in the child because the parent keeps it open until `spawn`
        // returns. std has already moved the stdio pipes onto 0, 1 and 2, so descriptor 3 is
        // free to take; descriptors std opens are close-on-exec, so whatever was on 3 is
        // meant to be closed anyway.
        unsafe {
            command.pre_exec(move || {
                if fd == 3 {
                    // dup2 onto itself would keep close-on-exec: clear it instead.
                    if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(fd, 3) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // Killed, the show takes a stream's encoder with it. A file's finishes on the end of its
    // input, which comes when this process dies.
    if target.kind != TargetKind::File {
        end_with_parent(&mut command, libc::SIGKILL);
    }
    // Stale sound from before this connection would put the sound late.
    lock(&shared.audio).clear();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ended::Failed {
                error: format!(
                    "ffmpeg is not installed (\"{}\" was not found; on Debian or Ubuntu: sudo \
                     apt-get install ffmpeg)",
                    shared.program
                ),
                was_on_air: false,
            };
        }
        Err(e) => {
            return Ended::Failed {
                error: format!("could not start ffmpeg (\"{}\"): {e}", shared.program),
                was_on_air: false,
            };
        }
    };
    // Only the child reads the sound: our copy of the read end would keep writes from
    // failing when ffmpeg dies.
    let audio_writer = audio_pipe.map(|(reader, writer)| {
        drop(reader);
        writer
    });
    *lock(&shared.child_pid) = Some(child.id());
    let link = Arc::new(Link::default());
    shared.connected.store(true, Ordering::Release);

    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    let mut spawn = |name: &str, work: Box<dyn FnOnce() + Send>| match std::thread::Builder::new()
        .name(format!("{name} {}", shared.label))
        .spawn(work)
    {
        Ok(handle) => threads.push(handle),
        Err(e) => link.fail(format!("could not start the output's {name} thread: {e}")),
    };
    if let Some(stdin) = child.stdin.take() {
        let (s, l) = (shared.clone(), link.clone());
        spawn("video", Box::new(move || write_video(&s, &l, stdin)));
    }
    if let (Some(pipe), Some(rate)) = (audio_writer, audio_rate) {
        let (s, l) = (shared.clone(), link.clone());
        spawn("audio", Box::new(move || write_audio(&s, &l, pipe, rate)));
    }
    if let Some(stdout) = child.stdout.take() {
        let (s, l) = (shared.clone(), link.clone());
        spawn("progress", Box::new(move || read_progress(&s, &l, stdout)));
    }
    if let Some(stderr) = child.stderr.take() {
        let (s, l) = (shared.clone(), link.clone());
        spawn("errors", Box::new(move || read_errors(&s, &l, stderr)));
    }

    let exit = watch(shared, &link, &mut child);
    shared.connected.store(false, Ordering::Release);
    link.done.store(true, Ordering::Release);
    for handle in threads {
        let _ = handle.join();
    }
    *lock(&shared.child_pid) = None;
    let dropped = lock(&shared.pending).take();
    if dropped.is_some() {
        shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
    }
    if shared.stop.load(Ordering::Acquire) {
        return Ended::Stopped;
    }
    let error = lock(&link.last_error_line)
        .take()
        .or_else(|| lock(&link.failure).take())
        .unwrap_or_else(|| match exit.and_then(|s| s.code()) {
            Some(code) => format!("ffmpeg exited with status {code}"),
            None => "ffmpeg was killed".into(),
        });
    Ended::Failed {
        error,
        was_on_air: link.on_air.load(Ordering::Acquire),
    }
}

/// Makes the process `command` starts receive `signal` when the thread that starts it ends,
/// which includes this whole process being killed (`kill -9`, the out-of-memory killer): an
/// encoder never lingers after the show that fed it. Linux's `PR_SET_PDEATHSIG` ties the child
/// to the starting *thread*, so start the command from a thread that outlives it (one that
/// waits for it). Elsewhere this does nothing. The signal may come more than once (once for
/// every thread of the dying process the child is handed on to): ffmpeg takes a fourth
/// `SIGTERM` or `SIGINT` as a hard exit, so `SIGKILL` is the honest choice for it.
pub fn end_with_parent(command: &mut Command, signal: i32) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs in the forked child before exec, where only
        // async-signal-safe calls are allowed: `prctl` and `getppid` are system calls that
        // allocate nothing and take no lock, and the error is built from a raw errno without
        // allocating.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died between fork and prctl: nobody would signal, so do not start.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (command, signal);
}

/// Waits for the child to exit; on a stop or a failed write, ends it (closing its inputs
/// first, killing it when it does not finish in time).
fn watch(shared: &Shared, link: &Link, child: &mut Child) -> Option<ExitStatus> {
    let mut stop_since: Option<Instant> = None;
    let mut failed_since: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => break,
        }
        let now = Instant::now();
        if stop_since.is_none() && shared.stop.load(Ordering::Acquire) {
            // The writers see this, close ffmpeg's inputs and ffmpeg finishes.
            link.done.store(true, Ordering::Release);
            stop_since = Some(now);
        }
        if failed_since.is_none() && lock(&link.failure).is_some() {
            failed_since = Some(now);
        }
        let stop_wait = Duration::from_millis(shared.stop_wait_ms.load(Ordering::Relaxed));
        if stop_since.is_some_and(|t| now - t >= stop_wait)
            || failed_since.is_some_and(|t| now - t >= FAILED_WRITE_GRACE)
        {
            break;
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    child.wait().ok()
}

/// Sleeps until `deadline`, waking early when `done` is set. Returns whether to go on.
fn sleep_until(deadline: Instant, done: &AtomicBool) -> bool {
    loop {
        if done.load(Ordering::Acquire) {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

impl Background {
    /// The background for a backdrop fill: the stage as is, a key colour, or straight alpha
    /// (for an output that keeps transparency).
    pub fn for_fill(fill: ling_set::keying::BackdropFill) -> Self {
        use ling_set::keying::BackdropFill;
        match fill {
            BackdropFill::Stage => Self::Opaque,
            BackdropFill::Key(key) => Self::Key(key),
            BackdropFill::Transparent => Self::Alpha,
        }
    }

    /// Finishes read-back pixels (tightly packed RGBA8, premultiplied by coverage) for this
    /// background, in place: nothing for [`Opaque`](Self::Opaque), laid over the key colour,
    /// or unpremultiplied to straight alpha.
    pub fn apply(self, rgba: &mut [u8]) {
        match self {
            Self::Opaque => {}
            Self::Key(key) => ling_set::keying::key_over(rgba, key),
            Self::Alpha => ling_set::keying::unpremultiply(rgba),
        }
    }
}

/// The picture as ffmpeg gets it, per [`Background`].
fn prepare(frame: Frame, background: Background) -> Arc<Vec<u8>> {
    if background == Background::Opaque {
        return frame.rgba;
    }
    let mut pixels = Arc::unwrap_or_clone(frame.rgba);
    background.apply(&mut pixels);
    Arc::new(pixels)
}

/// The video writer: one frame per tick of the output clock to ffmpeg's standard input.
fn write_video(shared: &Shared, link: &Link, mut stdin: std::process::ChildStdin) {
    let settings = &shared.settings;
    let fps = settings.fps.max(1) as f64;
    let expected_len = settings.width as usize * settings.height as usize * 4;
    let start = Instant::now();
    let due = |tick: u64| start + Duration::from_secs_f64(tick as f64 / fps);
    let mut tick: u64 = 0;
    let mut last = lock(&shared.last_frame).clone();
    while sleep_until(due(tick), &link.done) {
        let fresh = lock(&shared.pending).take();
        let (pixels, repeated) = match fresh {
            Some(frame)
                if frame.rgba.len() == expected_len
                    && (frame.width, frame.height) == (settings.width, settings.height) =>
            {
                let background = *lock(&shared.background);
                let pixels = prepare(frame, background);
                *lock(&shared.last_frame) = Some(pixels.clone());
                (pixels, false)
            }
            other => {
                if let Some(frame) = other {
                    shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
                    lock(&shared.status).last_error = Some(format!(
                        "a {}×{} frame ({} bytes) was dropped: this output is {}×{}",
                        frame.width,
                        frame.height,
                        frame.rgba.len(),
                        settings.width,
                        settings.height
                    ));
                }
                match &last {
                    Some(pixels) => (pixels.clone(), true),
                    None => {
                        // Nothing to send before the first frame ever.
                        tick += 1;
                        continue;
                    }
                }
            }
        };
        link.frames.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = stdin.write_all(&pixels) {
            link.fail(format!("could not send the picture to ffmpeg: {e}"));
            break;
        }
        shared.frames_sent.fetch_add(1, Ordering::Relaxed);
        if repeated {
            shared.frames_repeated.fetch_add(1, Ordering::Relaxed);
        }
        {
            let now = Instant::now();
            let mut sends = lock(&shared.sends);
            sends.push_back(now);
            while sends
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > Duration::from_secs(2))
            {
                sends.pop_front();
            }
        }
        last = Some(pixels);
        tick += 1;
        // More than a tick behind (ffmpeg or the network stalled the write): skip the missed
        // ticks instead of bursting frames to catch up.
        let now_tick = (start.elapsed().as_secs_f64() * fps).floor() as u64;
        if now_tick > tick {
            link.skipped.fetch_add(now_tick - tick, Ordering::AcqRel);
            shared
                .ticks_missed
                .fetch_add(now_tick - tick, Ordering::Relaxed);
            tick = now_tick;
        }
    }
    // Dropping stdin closes ffmpeg's picture input.
}

/// The sound writer: `rate / fps` samples per frame written, on the same clock, to
/// ffmpeg's descriptor 3.
///
/// Sound arrives with the frames, in stretches as long as the time between two rendered
/// frames: 33 ms on a GPU, a few hundred on a software renderer. The writer is a jitter
/// buffer sized by those stretches: it starts (and restarts after running dry) once it holds
/// half a stretch more than it needs, so the next stretch arrives before the sound runs out,
/// and it drops sound only when more than two stretches pile up (keeps sound on picture).
fn write_audio(shared: &Shared, link: &Link, mut pipe: std::io::PipeWriter, rate: u32) {
    let fps = shared.settings.fps.max(1) as u64;
    let rate = rate as u64;
    let period = Duration::from_secs_f64(1.0 / fps as f64);
    // Half a tick after the video's tick, to see the frame it just wrote.
    let start = Instant::now() + period / 2;
    let due = |tick: u64| start + Duration::from_secs_f64(tick as f64 / fps as f64);
    let min_slack = (3 * rate / fps).max(rate / 10) as usize;
    let mut tick: u64 = 0;
    let mut written: u64 = 0;
    let mut skipped_seen: u64 = 0;
    let mut playing = false;
    let mut bytes: Vec<u8> = Vec::new();
    while sleep_until(due(tick), &link.done) {
        tick = tick.max((start.elapsed().as_secs_f64() * fps as f64).floor() as u64) + 1;
        let frames = link.frames.load(Ordering::Acquire);
        let skipped = link.skipped.load(Ordering::Acquire);
        let target = frames * rate / fps;
        let need = target.saturating_sub(written) as usize;
        let skip = ((skipped - skipped_seen) * rate / fps) as usize;
        skipped_seen = skipped;
        if need == 0 && skip == 0 {
            continue;
        }
        bytes.clear();
        {
            let burst = shared.audio_burst.load(Ordering::Relaxed);
            let mut ring = lock(&shared.audio);
            let drop_now = skip.min(ring.len());
            ring.drain(..drop_now);
            let surplus = ring.len().saturating_sub(need + min_slack.max(2 * burst));
            ring.drain(..surplus);
            playing = playing || ring.len() >= need + burst / 2;
            if playing {
                let take = need.min(ring.len());
                // Ran dry: fill with silence and wait to hold enough again.
                playing = take == need;
                for sample in ring.drain(..take) {
                    bytes.extend_from_slice(&sample.to_le_bytes());
                }
            }
        }
        // Underrun: silence.
        bytes.resize(need * 4, 0);
        if let Err(e) = pipe.write_all(&bytes) {
            link.fail(format!("could not send the sound to ffmpeg: {e}"));
            break;
        }
        written += need as u64;
    }
    // Dropping the pipe closes ffmpeg's sound input.
}

/// Reads ffmpeg's `-progress` report: on air, bitrate, encoder lag.
fn read_progress(shared: &Shared, link: &Link, stdout: impl Read) {
    let fps = shared.settings.fps.max(1) as f64;
    let mut out_time_us: Option<i64> = None;
    let mut total_size: Option<u64> = None;
    let mut reported_kbps: Option<f32> = None;
    let mut previous: Option<(u64, i64)> = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "out_time_us" => out_time_us = value.parse().ok(),
            "total_size" => total_size = value.parse().ok(),
            "bitrate" => {
                reported_kbps = value.trim_end_matches("kbits/s").trim().parse().ok();
            }
            "progress" => {
                let now = Instant::now();
                let first = !link.on_air.swap(true, Ordering::AcqRel);
                let mut status = lock(&shared.status);
                if first && status.state == LinkState::Starting {
                    status.state = LinkState::OnAir;
                    status.on_air_since = Some(now);
                }
                if let (Some(size), Some(time)) = (total_size, out_time_us) {
                    let measured = previous.and_then(|(s, t)| {
                        (time > t && size >= s).then(|| {
                            ((size - s) as f64 * 8.0 / ((time - t) as f64 / 1e6) / 1000.0) as f32
                        })
                    });
                    if let Some(kbps) = measured.filter(|k| *k > 0.0).or(reported_kbps) {
                        status.bitrate_kbps = kbps;
                    }
                    previous = Some((size, time));
                } else if let Some(kbps) = reported_kbps {
                    status.bitrate_kbps = kbps;
                }
                if let Some(time) = out_time_us {
                    let sent = link.frames.load(Ordering::Acquire) as f64 / fps;
                    status.encoder_lag =
                        Duration::from_secs_f64((sent - time as f64 / 1e6).max(0.0));
                }
            }
            _ => {}
        }
    }
}

/// Keeps ffmpeg's last non-empty error line, with the target's secrets masked.
fn read_errors(shared: &Shared, link: &Link, stderr: impl Read) {
    let mut reader = BufReader::new(stderr);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&buffer);
        let line = text.trim();
        if !line.is_empty() {
            *lock(&link.last_error_line) = Some(mask_secrets(line, &shared.target, &shared.label));
        }
    }
}

/// Replaces the target's URL in an ffmpeg line by its label (stream keys never reach the
/// console).
fn mask_secrets(line: &str, target: &OutputTarget, label: &str) -> String {
    if target.is_stream() && !target.url.is_empty() {
        line.replace(&target.url, label)
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::process::Output;

    const W: u32 = 320;
    const H: u32 = 180;
    const FPS: u32 = 30;
    const RATE: u32 = 48_000;

    fn has_ffmpeg() -> bool {
        let ok = |tool: &str| {
            Command::new(tool)
                .arg("-version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        ok("ffmpeg") && ok("ffprobe")
    }

    fn free_udp_port() -> u16 {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// A picture with a colour bar that moves with `n`.
    fn bar_frame(n: u64) -> Frame {
        let mut rgba = vec![0u8; (W * H * 4) as usize];
        let bar = (n as u32 * 4) % W;
        for y in 0..H {
            for x in 0..W {
                let i = ((y * W + x) * 4) as usize;
                let on = x >= bar && x < bar + 32;
                let colour = if on {
                    [255, 200, 0, 255]
                } else {
                    [20, 40, (y * 255 / H) as u8, 255]
                };
                rgba[i..i + 4].copy_from_slice(&colour);
            }
        }
        Frame {
            rgba: Arc::new(rgba),
            width: W,
            height: H,
        }
    }

    /// 440 Hz at 0.3 for frame `n` (`RATE / FPS` samples).
    fn tone(n: u64) -> Vec<f32> {
        let per = (RATE / FPS) as u64;
        (n * per..(n + 1) * per)
            .map(|i| 0.3 * (i as f32 * 440.0 * std::f32::consts::TAU / RATE as f32).sin())
            .collect()
    }

    /// Hands frames (and the tone, with `sound`) over at the output rate for `seconds`, like
    /// the show does. Returns how long each `push_frame` took, sorted.
    fn drive(
        b: &Broadcaster,
        seconds: f64,
        sound: bool,
        frame: impl Fn(u64) -> Frame,
    ) -> Vec<Duration> {
        let start = Instant::now();
        let mut pushes = Vec::new();
        let count = (seconds * FPS as f64) as u64;
        for n in 0..count {
            let due = start + Duration::from_secs_f64(n as f64 / FPS as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if sound {
                b.push_audio(&tone(n));
            }
            let f = frame(n);
            let t = Instant::now();
            b.push_frame(f);
            pushes.push(t.elapsed());
        }
        pushes.sort();
        pushes
    }

    /// Asserts that handing frames over never waited: the typical push is far under a
    /// millisecond, and even the slowest (this machine is shared: a push can be preempted)
    /// is shorter than one frame period, where a blocked write would take seconds.
    fn assert_never_blocked(pushes: &[Duration]) {
        let median = pushes[pushes.len() / 2];
        let longest = *pushes.last().unwrap();
        assert!(
            median < Duration::from_millis(1),
            "median push_frame {median:?}"
        );
        assert!(
            longest < Duration::from_millis(1000 / FPS as u64),
            "slowest push_frame {longest:?}"
        );
    }

    fn wait_for(b: &Broadcaster, limit: Duration, what: impl Fn(&BroadcastStats) -> bool) -> bool {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if what(&b.stats()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// ffprobe's streams and format, as `key=value` lines.
    fn probe(file: &Path) -> String {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_type,codec_name,width,height,r_frame_rate",
            ])
            .args([
                "-show_entries",
                "format=duration",
                "-of",
                "default=noprint_wrappers=1",
            ])
            .arg(file)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn duration_of(probe: &str) -> f64 {
        probe
            .lines()
            .find_map(|l| l.strip_prefix("duration="))
            .and_then(|d| d.parse().ok())
            .unwrap_or(0.0)
    }

    fn settings(target: &OutputTarget, audio: Option<u32>) -> StreamSettings {
        let mut s = StreamSettings::for_target(target, W, H, FPS);
        s.audio_rate = audio;
        s
    }

    #[test]
    fn ring_keeps_the_newest_second() {
        let mut ring = VecDeque::new();
        push_ring(&mut ring, &[1.0, 2.0, 3.0], 4);
        push_ring(&mut ring, &[4.0, 5.0], 4);
        assert_eq!(
            ring.iter().copied().collect::<Vec<_>>(),
            [2.0, 3.0, 4.0, 5.0]
        );
        push_ring(&mut ring, &[6.0, 7.0, 8.0, 9.0, 10.0], 4);
        assert_eq!(
            ring.iter().copied().collect::<Vec<_>>(),
            [7.0, 8.0, 9.0, 10.0]
        );
    }

    #[test]
    fn retries_write_new_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("show.mkv");
        assert_eq!(free_file(&base, 1), (base.clone(), 1));
        std::fs::write(&base, b"take 1").unwrap();
        let (second, index) = free_file(&base, 1);
        assert_eq!(
            (second.file_name().unwrap().to_str().unwrap(), index),
            ("show-2.mkv", 2)
        );
        std::fs::write(dir.path().join("show-3.mkv"), b"someone's").unwrap();
        assert_eq!(free_file(&base, 3).0, dir.path().join("show-4.mkv"));
    }

    #[test]
    fn secrets_are_masked_in_ffmpeg_lines() {
        let t = OutputTarget::parse("rtmp://live.twitch.tv/app/live_abc123").unwrap();
        let line = mask_secrets(
            "rtmp://live.twitch.tv/app/live_abc123: I/O error",
            &t,
            &t.label(),
        );
        assert_eq!(line, "rtmp://live.twitch.tv/app/••••: I/O error");
    }

    #[test]
    fn missing_ffmpeg_is_reported_and_retried() {
        let target = OutputTarget::parse("udp://127.0.0.1:9").unwrap();
        let b = Broadcaster::start_with_program(
            "ling-stage-no-such-ffmpeg",
            target.clone(),
            settings(&target, None),
            Background::Opaque,
        );
        assert!(
            wait_for(&b, Duration::from_secs(5), |s| s.attempts >= 2),
            "{:?}",
            b.stats()
        );
        let stats = b.stats();
        assert!(
            stats
                .last_error
                .as_deref()
                .unwrap()
                .contains("ffmpeg is not installed")
        );
        b.push_frame(bar_frame(0));
        let stats = b.stop();
        assert_eq!(stats.state, LinkState::Stopped);
        assert_eq!(stats.frames_sent, 0);
    }

    #[test]
    fn session_records_picture_and_tone_to_mkv() {
        if !has_ffmpeg() {
            return ling_testkit::skip("ffmpeg and ffprobe are not installed");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("take.mkv");
        let target = OutputTarget::parse(file.to_str().unwrap()).unwrap();
        let b = Broadcaster::start(
            target.clone(),
            settings(&target, Some(RATE)),
            Background::Opaque,
        );
        let pushes = drive(&b, 3.0, true, bar_frame);
        let live = b.stats();
        let stats = b.stop();
        assert_eq!(live.state, LinkState::OnAir, "{live:?}");
        assert!(
            live.uptime > Duration::from_secs(1) && live.bitrate_kbps > 0.0,
            "{live:?}"
        );
        assert!(live.fps_sent > 20.0, "{live:?}");
        assert_never_blocked(&pushes);
        assert_eq!(stats.attempts, 1, "{stats:?}");
        assert_eq!(stats.output_file.as_deref(), Some(file.as_path()));
        assert!(
            stats.frames_sent >= 80 && stats.frames_sent <= 95,
            "{stats:?}"
        );

        let p = probe(&file);
        assert!(
            p.contains("codec_type=video") && p.contains("codec_name=h264"),
            "{p}"
        );
        assert!(
            p.contains(&format!("width={W}")) && p.contains(&format!("height={H}")),
            "{p}"
        );
        assert!(p.contains("r_frame_rate=30/1"), "{p}");
        assert!(
            p.contains("codec_type=audio") && p.contains("codec_name=aac"),
            "{p}"
        );
        let d = duration_of(&p);
        assert!((2.5..3.7).contains(&d), "duration {d}\n{p}");

        // The tone arrived, not silence: a 0.3 sine is about -13.5 dB.
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostats", "-i"])
            .arg(&file)
            .args(["-map", "0:a", "-af", "volumedetect", "-f", "null", "-"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        let mean: f64 = text
            .lines()
            .find_map(|l| l.split("mean_volume:").nth(1))
            .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
            .unwrap_or(-99.0);
        assert!(mean > -20.0, "mean volume {mean} dB\n{text}");
    }

    /// A software renderer hands a frame over every 300 ms with 300 ms of sound: the sound
    /// plays on without gaps once the jitter buffer holds enough.
    #[test]
    fn sound_in_long_stretches_plays_without_gaps() {
        if !has_ffmpeg() {
            return ling_testkit::skip("ffmpeg and ffprobe are not installed");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("slow.mkv");
        let target = OutputTarget::parse(file.to_str().unwrap()).unwrap();
        let b = Broadcaster::start(
            target.clone(),
            settings(&target, Some(RATE)),
            Background::Opaque,
        );
        let start = Instant::now();
        for n in 0..14u64 {
            let due = start + Duration::from_millis(300 * n);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            // Nine frames' worth of tone per hand-over.
            let sound: Vec<f32> = (9 * n..9 * (n + 1)).flat_map(tone).collect();
            b.push_audio(&sound);
            b.push_frame(bar_frame(n));
        }
        let stats = b.stop();
        assert_eq!(stats.attempts, 1, "{stats:?}");
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostats", "-i"])
            .arg(&file)
            .args([
                "-map",
                "0:a",
                "-af",
                "silencedetect=noise=-40dB:d=0.04",
                "-f",
                "null",
                "-",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        // Silence is allowed while the buffer first fills (under a second), never after.
        let late_silences: Vec<f64> = text
            .lines()
            .filter_map(|l| l.split("silence_start:").nth(1))
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .filter(|t| *t > 1.0)
            .collect();
        assert!(
            late_silences.is_empty(),
            "gaps in the sound at {late_silences:?} s\n{text}"
        );
        assert!(text.contains("Audio:"), "{text}");
    }

    #[test]
    fn session_streams_mpegts_over_udp() {
        if !has_ffmpeg() {
            return ling_testkit::skip("ffmpeg and ffprobe are not installed");
        }
        let dir = tempfile::tempdir().unwrap();
        let received = dir.path().join("received.ts");
        let port = free_udp_port();
        let mut receiver = Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-analyzeduration",
                "1000000",
                "-i",
            ])
            .arg(format!(
                "udp://127.0.0.1:{port}?overrun_nonfatal=1&fifo_size=50000000"
            ))
            .args(["-t", "2", "-c", "copy"])
            .arg(&received)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let target = OutputTarget::parse(&format!("udp://127.0.0.1:{port}?pkt_size=1316")).unwrap();
        // No sound handed over: the stream carries a silent track.
        let b = Broadcaster::start(target.clone(), settings(&target, None), Background::Opaque);
        drive(&b, 4.0, false, bar_frame);
        let stats = b.stop_within(Duration::from_secs(3));
        let until = Instant::now() + Duration::from_secs(5);
        while receiver.try_wait().unwrap().is_none() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = receiver.kill();
        let Output { stderr, .. } = receiver.wait_with_output().unwrap();
        let p = probe(&received);
        assert!(
            p.contains("codec_name=h264") && p.contains(&format!("width={W}")),
            "{p}\nreceiver: {}\n{stats:?}",
            String::from_utf8_lossy(&stderr)
        );
        assert!(
            p.contains("codec_type=audio") && p.contains("codec_name=aac"),
            "{p}"
        );
        let d = duration_of(&p);
        assert!((1.5..2.5).contains(&d), "duration {d}\n{p}");
        assert_eq!(stats.attempts, 1, "{stats:?}");
        assert!(stats.last_error.is_none(), "{stats:?}");
    }

    #[test]
    fn keyed_session_fills_transparent_pixels_with_the_key() {
        if !has_ffmpeg() {
            return ling_testkit::skip("ffmpeg and ffprobe are not installed");
        }
        const KEY: [u8; 3] = [0, 177, 64];
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keyed.mkv");
        let target = OutputTarget::parse(file.to_str().unwrap()).unwrap();
        // Transparent (premultiplied: black, alpha 0) with an opaque red square in the middle.
        let frame = {
            let mut rgba = vec![0u8; (W * H * 4) as usize];
            for y in 60..120 {
                for x in 130..190 {
                    let i = ((y * W + x) * 4) as usize;
                    rgba[i..i + 4].copy_from_slice(&[220, 30, 30, 255]);
                }
            }
            Frame {
                rgba: Arc::new(rgba),
                width: W,
                height: H,
            }
        };
        let b = Broadcaster::start(
            target.clone(),
            settings(&target, None),
            Background::Key(KEY),
        );
        drive(&b, 1.0, false, |_| frame.clone());
        b.stop();
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&file)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .output()
            .unwrap();
        assert_eq!(
            out.stdout.len(),
            (W * H * 3) as usize,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let px = |x: u32, y: u32| {
            let i = ((y * W + x) * 3) as usize;
            [out.stdout[i], out.stdout[i + 1], out.stdout[i + 2]]
        };
        // H.264 in 4:2:0 is lossy: flat areas come back within a few levels.
        let near = |a: [u8; 3], b: [u8; 3]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| (*x as i32 - y as i32).abs() <= 8)
        };
        for (x, y) in [(5, 5), (300, 20), (20, 170), (310, 170), (100, 90)] {
            assert!(
                near(px(x, y), KEY),
                "({x}, {y}) is {:?}, not the key {KEY:?}",
                px(x, y)
            );
        }
        assert!(
            near(px(160, 90), [220, 30, 30]),
            "centre is {:?}",
            px(160, 90)
        );
    }

    #[test]
    fn dead_target_is_retried_without_blocking_the_show() {
        if !has_ffmpeg() {
            return ling_testkit::skip("ffmpeg is not installed");
        }
        let target = OutputTarget::parse("rtmp://127.0.0.1:1/x").unwrap();
        let b = Broadcaster::start(
            target.clone(),
            settings(&target, Some(RATE)),
            Background::Opaque,
        );
        let start = Instant::now();
        let mut pushes = Vec::new();
        let mut saw_retrying = None;
        let mut n = 0;
        while start.elapsed() < Duration::from_secs(8) {
            b.push_audio(&tone(n));
            let t = Instant::now();
            b.push_frame(bar_frame(n));
            pushes.push(t.elapsed());
            n += 1;
            let s = b.stats();
            if s.state == LinkState::Retrying && saw_retrying.is_none() {
                saw_retrying = Some(s.clone());
            }
            if s.attempts >= 2 && saw_retrying.is_some() && pushes.len() >= 100 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1000 / FPS as u64));
        }
        let stats = b.stop_within(Duration::from_secs(2));
        pushes.sort();
        assert!(pushes.len() >= 100, "{} pushes", pushes.len());
        assert_never_blocked(&pushes);
        let retrying = saw_retrying.expect("the link was never retrying");
        let error = retrying.last_error.as_deref().unwrap_or("");
        assert!(
            error.contains("127.0.0.1:1") || error.contains("Connection refused"),
            "{retrying:?}"
        );
        assert!(
            retrying.retry_in.is_some_and(|t| t <= MAX_BACKOFF),
            "{retrying:?}"
        );
        assert!(stats.attempts >= 2, "{stats:?}");
        assert!(stats.frames_dropped > 0, "{stats:?}");
        assert_eq!(stats.state, LinkState::Stopped);
    }

    #[test]
    fn stalled_ffmpeg_never_blocks_the_show() {
        if !has_ffmpeg() {
            return ling_testkit::skip("ffmpeg is not installed");
        }
        let dir = tempfile::tempdir().unwrap();
        let target = OutputTarget::parse(dir.path().join("stall.mkv").to_str().unwrap()).unwrap();
        let b = Broadcaster::start(
            target.clone(),
            settings(&target, Some(RATE)),
            Background::Opaque,
        );
        drive(&b, 1.0, true, bar_frame);
        assert!(wait_for(&b, Duration::from_secs(3), |s| s.state == LinkState::OnAir));
        // Freeze the encoder: its standard input fills and our writer blocks on it.
        let pid = lock(&b.shared.child_pid).expect("ffmpeg runs");
        // SAFETY: plain kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
        let before = b.stats();
        let pushes = drive(&b, 2.0, true, |n| bar_frame(n + 30));
        let after = b.stats();
        let stats = b.stop_within(Duration::from_millis(500));
        assert_never_blocked(&pushes);
        assert!(
            after.frames_dropped >= before.frames_dropped + 50,
            "before {before:?}\nafter {after:?}"
        );
        assert!(after.frames_sent <= before.frames_sent + 2, "{after:?}");
        assert!(after.fps_sent < 5.0, "{after:?}");
        assert_eq!(stats.state, LinkState::Stopped);
    }
}
