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
