//! Face and hand tracking inputs: cameras (nokhwa), ONNX Runtime and its models.
//!
//! This module finds what tracking needs and reports it clearly when something is missing:
//! the ONNX Runtime library (loaded at run time with `ort`'s `load-dynamic`), the model files
//! and the cameras. The face and hand pipelines build on these.

use std::path::{Path, PathBuf};

use bevy::prelude::*;

/// Environment variable naming the ONNX Runtime shared library to load.
pub const ORT_LIB_ENV: &str = "ORT_DYLIB_PATH";
/// Environment variable naming a folder of ONNX models (searched first).
pub const MODELS_ENV: &str = "LING_MODELS";
/// The models the face and hand pipelines use, by file name.
pub const MODEL_FILES: [&str; 4] = [
    "face_detection_short_range.onnx",
    "face_landmark.onnx",
    "palm_detection_lite.onnx",
    "hand_landmark_full.onnx",
];

/// Where the project's set-up script installs its downloads.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("LING_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ling-stage")))
        .unwrap_or_else(|| PathBuf::from(".cache/ling-stage"))
}

/// Finds the ONNX Runtime library: `$ORT_DYLIB_PATH`, then the set-up script's copy of the
/// PyPI `onnxruntime` wheel (`<cache>/onnxruntime/onnxruntime/capi/libonnxruntime.so.*`).
pub fn find_onnxruntime() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(ORT_LIB_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "${ORT_LIB_ENV} names {} but there is no such file",
                path.display()
            ))
        };
    }
    let capi = cache_dir().join("onnxruntime/onnxruntime/capi");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&capi)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        format!(
            "no ONNX Runtime library in {} and ${ORT_LIB_ENV} is not set; run `bash scripts/setup.sh`",
            capi.display()
        )
    })
}

/// Loads ONNX Runtime from `path` and returns its build information.
pub fn load_onnxruntime(path: &Path) -> Result<String, String> {
    ort::init_from(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(ort::info().to_string())
}

/// Model folders in search order: `$LING_MODELS`, `assets/models/`, `../shared/data/models/`.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(MODELS_ENV) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("assets/models"));
    dirs.push(PathBuf::from("../shared/data/models"));
    dirs
}

/// Finds a model file by name in [`model_dirs`].
pub fn find_model(name: &str) -> Option<PathBuf> {
    model_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Names of the cameras the system offers, or why none can be listed.
pub fn list_cameras() -> Result<Vec<String>, String> {
    let backend = nokhwa::native_api_backend().ok_or("no camera backend for this platform")?;
    let cameras = nokhwa::query(backend).map_err(|e| format!("cannot list cameras: {e}"))?;
    Ok(cameras
        .iter()
        .map(|c| format!("{} ({})", c.human_name(), c.index()))
        .collect())
}

/// What tracking is doing, for the panel.
#[derive(Resource, Debug, Clone, Default)]
pub struct TrackingStatus {
    pub summary: String,
}

pub fn plugin(app: &mut App) {
    app.insert_resource(TrackingStatus {
        summary: "no camera source in this show".into(),
    });
}
