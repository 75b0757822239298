#![warn(missing_docs)]
//! Test helpers shared by every Ling Stage crate (a dev-dependency only).
//!
//! Some tests need a tool (ffmpeg, espeak-ng, Xvfb, python-osc, ONNX Runtime) or the shared
//! test data (`../shared/data`). On a developer's machine without them such a test prints a
//! visible `SKIPPED` line and passes. Under CI (`CI` set, as `.ci/run` runs), set-up has
//! installed every tool and the data is beside the clone, so a missing one is a failure: CI
//! proves every test ran.

use std::fmt::Display;
use std::path::{Path, PathBuf};

/// Whether this run is CI's: `CI` is set to anything but `""`, `0` or `false`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Skips the rest of a test for `reason` (the caller returns right after): prints
/// `SKIPPED <reason>`, or fails the test under CI.
#[track_caller]
pub fn skip(reason: impl Display) {
    if under_ci() {
        panic!("SKIPPED under CI, where this must run: {reason}");
    }
    println!("SKIPPED {reason}");
}

/// The repository's root (the folder with the workspace's `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Makes the repository's root the working directory of this test process (once), so code
/// that resolves paths as a user running from a checkout would (`assets/models`,
/// `../shared/data/models`) finds them. Cargo runs a crate's tests in the crate's own folder.
pub fn run_from_repo_root() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_current_dir(repo_root()).expect("the repository root exists");
    });
}

/// A path inside the shared test data (`../shared/data` beside the repository), if it exists.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = repo_root().join("../shared/data").join(relative);
    path.exists().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repo_root_holds_the_workspace() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(repo_root().join("crates/testkit").is_dir());
    }
}

/// The largest UDP payload (65 507 bytes) of OSC nested as deep as it goes, addressed to
/// `address`: bundles in bundles around one message without arguments, and one message whose
/// type tags open and close arrays (`,[[[…]]]`). For the listeners' nesting-bound tests.
pub fn deepest_osc_packets(address: &str) -> [Vec<u8>; 2] {
    let padded = |mut bytes: Vec<u8>| {
        bytes.push(0);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    };
    let name = padded(address.as_bytes().to_vec());
    let mut bundle = name.clone();
    bundle.extend(padded(b",".to_vec()));
    // Each level: "#bundle\0", a time tag, and the inner element's size.
    for _ in 0..65_507 / 20 - 1 {
        let mut outer = b"#bundle\0\0\0\0\0\0\0\0\x01".to_vec();
        outer.extend_from_slice(&(bundle.len() as u32).to_be_bytes());
        outer.extend_from_slice(&bundle);
        bundle = outer;
    }
    let levels = (65_507 - 64) / 2;
    let mut tags = b",".to_vec();
    tags.extend(std::iter::repeat_n(b'[', levels));
    tags.extend(std::iter::repeat_n(b']', levels));
    let mut array = name;
    array.extend(padded(tags));
    [bundle, array]
}
