//! What several app tests need: the binary, the repository, ffmpeg, python-osc scripts and
//! numbers read off the binary's report lines.

use std::path::PathBuf;
use std::process::Command;

/// The `ling-stage` binary, run from the repository root.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ling-stage"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether ffmpeg and ffprobe run.
pub fn has_ffmpeg() -> bool {
    let ok = |tool: &str| {
        Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ok("ffmpeg") && ok("ffprobe")
}

/// `scripts/SCRIPT` under a python3 that can import python-osc (installed by
/// scripts/setup.sh into the cache), or why not.
pub fn python_osc_script(script: &str) -> Result<Command, String> {
    let cache = std::env::var_os("LING_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ling-stage")
        });
    let path = cache.join("python");
    let ok = Command::new("python3")
        .env("PYTHONPATH", &path)
        .args(["-c", "import pythonosc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Err(format!(
            "python-osc is not importable from {} (run scripts/setup.sh)",
            path.display()
        ));
    }
    let mut cmd = Command::new("python3");
    cmd.env("PYTHONPATH", path)
        .arg(root().join("scripts").join(script));
    Ok(cmd)
}

/// The number printed after `key` in `text` (e.g. "show clock 5.00 s").
pub fn number_after(text: &str, key: &str) -> f64 {
    text.split(key)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no number after {key:?} in:\n{text}"))
}

/// The whole show without rendering (every simulation system), its clock held at the start
/// (`ClockMode::External`) and Bevy's time stepping `frame` seconds an update.
pub fn headless_show(show: ling_stage::show::ShowFile, frame: f64) -> bevy::prelude::App {
    use bevy::prelude::*;
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        TransformPlugin,
        ling_stage::LingStagePlugins,
    ));
    ling_stage::show::insert_show(&mut app, show, ling_stage::show::ClockMode::External, false);
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
        std::time::Duration::from_secs_f64(frame),
    ));
    app.finish();
    app.cleanup();
    app
}

/// A broadcast spawned with its output piped, and its log (stderr) read as it comes, so a test
/// can act once it is on air (after a warm-up that takes as long as a busy machine needs).
pub struct Broadcasting {
    /// The running `ling-stage broadcast`.
    pub child: std::process::Child,
    on_air: std::sync::mpsc::Receiver<()>,
    log: std::thread::JoinHandle<String>,
}

impl Broadcasting {
    /// Spawns `cmd` (a `broadcast` command line) and starts reading its log.
    pub fn spawn(cmd: &mut Command) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the broadcast");
        let stderr = child.stderr.take().expect("piped stderr");
        let (on_air_tx, on_air) = std::sync::mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("on air:") {
                    let _ = on_air_tx.send(());
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        Self { child, on_air, log }
    }

    /// Waits until an output went on air; panics with the whole output if it never does.
    pub fn wait_on_air(self, limit: std::time::Duration) -> Self {
        if self.on_air.recv_timeout(limit).is_ok() {
            return self;
        }
        let mut this = self;
        let _ = this.child.kill();
        panic!("the broadcast never went on air:\n{}", this.finish().1);
    }

    /// Waits for the end: whether it succeeded, and its stdout followed by its log.
    pub fn finish(self) -> (bool, String) {
        let out = self
            .child
            .wait_with_output()
            .expect("wait for the broadcast");
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            self.log.join().unwrap_or_default()
        );
        (out.status.success(), text)
    }
}
