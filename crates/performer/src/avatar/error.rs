//! Why an avatar file could not be read.

use std::path::PathBuf;

/// Why an avatar file (or its expression-map sidecar) could not be read. Every variant names
/// the file, so the message can be shown as it is.
#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    /// The file could not be read from disk (or the staging folder could not be written).
    #[error("cannot read avatar {path}: {source}")]
    Io {
        /// The file or folder that failed.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes are not glTF 2.0 (GLB or JSON), or the expression-map sidecar is malformed or
    /// names a signal that does not exist.
    #[error("{path} is not a glTF/GLB/VRM file: {message}")]
    Format {
        /// The file that failed.
        path: PathBuf,
        /// What is wrong with it, e.g. a truncated GLB header or the JSON error.
        message: String,
    },
    /// The file is glTF, but a bone the solver needs (`REQUIRED_BONES`: hips, spine, head,
    /// arms, legs) is missing.
    #[error("{path} is not a humanoid: {message}")]
    NotHumanoid {
        /// The file that failed.
        path: PathBuf,
        /// The missing bones and how many were mapped.
        message: String,
    },
}
