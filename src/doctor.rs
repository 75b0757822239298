//! `ling-stage doctor`: one line per subsystem saying whether it is ready and, if not, what to
//! do. Every probe catches its own failures, so a machine without a GPU, display, camera or
//! sound card gets a report, never a panic.

use std::process::Command;

use ling_audio as audio;
use ling_tracking as tracking;

/// How ready a subsystem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Ready.
    Ok,
    /// Works, with a caveat (e.g. software rendering).
    Warn,
    /// Not there; the show runs without it.
    Missing,
}

/// One subsystem checked.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked (display, GPU, ONNX Runtime, ...).
    pub subsystem: &'static str,
    /// How ready it is.
    pub status: Status,
    /// What was found, or what to do about it.
    pub detail: String,
}

impl Check {
    fn new(subsystem: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            subsystem,
            status,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.status {
            Status::Ok => "OK     ",
            Status::Warn => "OK*    ",
            Status::Missing => "MISSING",
        };
        write!(f, "{tag} {:<14} {}", self.subsystem, self.detail)
    }
}

/// Is there a display to open a window on?
pub fn display_available() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

fn check_display() -> Check {
    if let Some(d) = std::env::var_os("DISPLAY").filter(|d| !d.is_empty()) {
        Check::new(
            "display",
            Status::Ok,
            format!("X11 display {}", d.to_string_lossy()),
        )
    } else if let Some(d) = std::env::var_os("WAYLAND_DISPLAY").filter(|d| !d.is_empty()) {
        Check::new(
            "display",
            Status::Warn,
            format!(
                "Wayland display {} (this build opens windows through X11: XWayland must be running)",
                d.to_string_lossy()
            ),
        )
    } else {
        Check::new(
            "display",
            Status::Missing,
            "no DISPLAY or WAYLAND_DISPLAY: `live` needs one (try `xvfb-run -a ling-stage live`); `render` works without",
        )
    }
}

/// Asks wgpu which adapter Bevy would render with (in a child process, so a driver crash
/// cannot take the report down).
fn check_render_adapter() -> Check {
    let exe = std::env::current_exe().ok();
    let output = exe.and_then(|exe| Command::new(exe).arg("probe-adapter").output().ok());
    match output {
        Some(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let software =
                text.contains("Cpu") || text.contains("llvmpipe") || text.contains("lavapipe");
            if software {
                Check::new(
                    "render",
                    Status::Warn,
                    format!(
                        "{text} — software rendering: offline renders are slow, live is low fps"
                    ),
                )
            } else {
                Check::new("render", Status::Ok, text)
            }
        }
        Some(out) => Check::new(
            "render",
            Status::Missing,
            format!(
                "no usable GPU adapter ({}); install Mesa's Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .last()
                    .unwrap_or("probe failed")
                    .trim()
            ),
        ),
        None => Check::new("render", Status::Missing, "could not run the adapter probe"),
    }
}

fn check_audio() -> Vec<Check> {
    let devices = audio::list_devices();
    let describe = |kind: &'static str,
                    list: &[String],
                    default: &Option<String>,
                    error: &Option<String>,
                    without: &str| {
        match (list.is_empty(), error) {
            (true, _) => Check::new(
                kind,
                Status::Missing,
                format!(
                    "no device ({} host); the show runs without {without}",
                    devices.host
                ),
            ),
            (false, Some(e)) => Check::new(
                kind,
                Status::Missing,
                format!(
                    "default device {} cannot be opened ({e}); the show runs without {without}",
                    default.as_deref().unwrap_or("(none)")
                ),
            ),
            (false, None) => Check::new(
                kind,
                Status::Ok,
                format!(
                    "{} device(s), default {} ({} host)",
                    list.len(),
                    default.as_deref().unwrap_or("none"),
                    devices.host
                ),
            ),
        }
    };
    vec![
        describe(
            "audio in",
            &devices.inputs,
            &devices.default_input,
            &devices.input_error,
            "microphone lip sync",
        ),
        describe(
            "audio out",
            &devices.outputs,
            &devices.default_output,
            &devices.output_error,
            "sound",
        ),
    ]
}

fn check_cameras() -> Check {
    match tracking::list_cameras() {
        Ok(cams) if !cams.is_empty() => Check::new(
            "cameras",
            Status::Ok,
            format!(
                "{}; `live --camera [INDEX|NAME]` tracks face and hands from one",
                cams.join(", ")
            ),
        ),
        Ok(_) => Check::new(
            "cameras",
            Status::Missing,
            "no camera found; face and hand tracking can play a video as the camera (`live --camera-file FILE`)",
        ),
        Err(e) => Check::new(
            "cameras",
            Status::Missing,
            format!("{e}; tracking can play a video as the camera (`live --camera-file FILE`)"),
        ),
    }
}

fn check_onnxruntime() -> Check {
    match tracking::find_onnxruntime() {
        Ok(path) => match tracking::load_onnxruntime(&path) {
            Ok(info) => {
                let version = info
                    .split(',')
                    .find(|s| s.contains("git-branch"))
                    .map(|s| s.trim().to_string())
                    .unwrap_or(info);
                Check::new(
                    "onnxruntime",
                    Status::Ok,
                    format!("{} ({version})", path.display()),
                )
            }
            Err(e) => Check::new("onnxruntime", Status::Missing, format!("cannot load {e}")),
        },
        Err(e) => Check::new("onnxruntime", Status::Missing, e),
    }
}

fn check_models() -> Check {
    let found: Vec<_> = tracking::MODEL_FILES
        .iter()
        .filter_map(|m| tracking::find_model(m))
        .collect();
    let dirs: Vec<String> = tracking::model_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    if found.len() == tracking::MODEL_FILES.len() {
        let dir = found[0]
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let optional: Vec<&str> = tracking::OPTIONAL_MODEL_FILES
            .iter()
            .copied()
            .filter(|m| tracking::find_model(m).is_none())
            .collect();
        let extra = if optional.is_empty() {
            "; 478-point mesh and blendshape model too (gaze, ARKit weights from the model)"
                .to_string()
        } else {
            format!(
                "; without {} the face uses the 468-point mesh and the geometric solver (`bash scripts/models.sh --convert` makes them)",
                optional.join(", ")
            )
        };
        Check::new(
            "models",
            Status::Ok,
            format!("{} tracking models in {dir}{extra}", found.len()),
        )
    } else {
        let missing: Vec<&str> = tracking::MODEL_FILES
            .iter()
            .copied()
            .filter(|m| tracking::find_model(m).is_none())
            .collect();
        Check::new(
            "models",
            Status::Missing,
            format!(
                "{} not found in {} (set ${} to a folder of ONNX models); tracking is off without them",
                missing.join(", "),
                dirs.join(", "),
                tracking::MODELS_ENV
            ),
        )
    }
}

fn check_ffmpeg() -> Check {
    match Command::new("ffmpeg").arg("-version").output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let first = text.lines().next().unwrap_or("ffmpeg").to_string();
            let encoders = Command::new("ffmpeg")
                .args(["-hide_banner", "-encoders"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("libx264"))
                .unwrap_or(false);
            if encoders {
                Check::new("ffmpeg", Status::Ok, format!("{first} (H.264 via libx264)"))
            } else {
                Check::new(
                    "ffmpeg",
                    Status::Warn,
                    format!("{first} without libx264: renders fall back to mpeg4"),
                )
            }
        }
        _ => Check::new(
            "ffmpeg",
            Status::Missing,
            "ffmpeg not found: `render` keeps PNG frames instead of a video (apt-get install ffmpeg)",
        ),
    }
}

/// Virtual cameras: v4l2loopback devices `--out v4l2:/dev/videoN` can write to.
fn check_virtual_camera() -> Check {
    const HOW: &str = "sudo apt-get install v4l2loopback-dkms && sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=\"Ling Stage\" exclusive_caps=1, then --out v4l2:/dev/video10";
    let devices: Vec<String> = std::fs::read_dir("/sys/devices/virtual/video4linux")
        .map(|entries| {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("video"))
                .collect();
            names.sort();
            names
        })
        .unwrap_or_default();
    if !devices.is_empty() {
        let listed: Vec<String> = devices
            .iter()
            .map(|d| {
                let device = format!("/dev/{d}");
                match ling_broadcast::target::check_v4l2(std::path::Path::new(&device)) {
                    Ok(card) => format!("{device} (\"{card}\")"),
                    Err(why) => format!("{device} ({why})"),
                }
            })
            .collect();
        return Check::new(
            "virtual cam",
            Status::Ok,
            format!("v4l2loopback: {}; use --out v4l2:DEVICE", listed.join(", ")),
        );
    }
    let loaded = std::path::Path::new("/sys/module/v4l2loopback").exists();
    let installed = Command::new("modinfo")
        .arg("v4l2loopback")
        .output()
        .is_ok_and(|o| o.status.success());
    let detail = match (loaded, installed) {
        (true, _) => {
            format!("the v4l2loopback module is loaded but made no device; reload it: {HOW}")
        }
        (false, true) => format!("the v4l2loopback module is installed but not loaded: {HOW}"),
        (false, false) => format!(
            "no v4l2loopback module (OBS, Zoom and browsers take a virtual camera from it): {HOW}"
        ),
    };
    Check::new("virtual cam", Status::Missing, detail)
}

/// Runs every check.
pub fn run() -> Vec<Check> {
    let mut checks = vec![check_render_adapter(), check_display()];
    checks.extend(check_audio());
    checks.push(check_cameras());
    checks.push(check_onnxruntime());
    checks.push(check_models());
    checks.push(check_ffmpeg());
    checks.push(check_virtual_camera());
    checks
}
