//! The files a show names stay inside the show's folder.
//!
//! A show file (or a remote command) names avatars, motions, takes, audio, gestures and other
//! shows. A show shared by someone else, or a remote on the network, must not make the stage
//! read files elsewhere on the machine: a path that is absolute and outside the show's folder,
//! that climbs out of it with `..`, or that leads out of it through a symbolic link is refused,
//! naming the path, unless the user allows it for the run (`--allow-paths-outside-show`, which
//! sets [`allow_paths_outside_show`]).

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the paths in shows and remote commands may leave the show's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathPolicy {
    /// Only files inside the show's folder (symbolic links followed): the default.
    #[default]
    InsideShowFolder,
    /// Any file the user can read (`--allow-paths-outside-show`).
    Anywhere,
}

static ANYWHERE: AtomicBool = AtomicBool::new(false);

/// Sets the policy of this process (the command line's `--allow-paths-outside-show`): shows
/// loaded afterwards, and remote commands, follow it.
pub fn allow_paths_outside_show(allow: bool) {
    ANYWHERE.store(allow, Ordering::SeqCst);
}

impl PathPolicy {
    /// The policy of this process: [`PathPolicy::InsideShowFolder`] unless
    /// [`allow_paths_outside_show`] said otherwise.
    pub fn current() -> Self {
        if ANYWHERE.load(Ordering::SeqCst) {
            Self::Anywhere
        } else {
            Self::InsideShowFolder
        }
    }
}

/// A path that leaves the show's folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the path \"{}\" leaves the show's folder {}: {why} (run with --allow-paths-outside-show to allow it)",
    path.display(),
    folder.display()
)]
pub struct PathOutsideShow {
    /// The path as the show or the command gave it.
    pub path: PathBuf,
    /// The show's folder.
    pub folder: PathBuf,
    /// How it leaves: an absolute path elsewhere, `..`, or a symbolic link (and where to).
    pub why: String,
}

/// Resolves `path` against `folder` (an absolute `path` stays as it is) and checks that it
/// stays inside `folder` under `policy`: lexically (no `..` above the folder, no absolute
/// path elsewhere) and on disk (the deepest part of it that exists, symbolic links followed,
/// is inside the folder's real location). Returns the resolved path.
pub fn confine(folder: &Path, path: &Path, policy: PathPolicy) -> Result<PathBuf, PathOutsideShow> {
    let base = absolute(folder);
    let joined = base.join(path);
    if policy == PathPolicy::Anywhere {
        return Ok(joined);
    }
    let refuse = |why: String| PathOutsideShow {
        path: path.to_path_buf(),
        folder: base.clone(),
        why,
    };
    let base = normalize(&base);
    if !normalize(&joined).starts_with(&base) {
        return Err(refuse(if path.is_absolute() {
            "it is an absolute path elsewhere".into()
        } else {
            "`..` climbs out of it".into()
        }));
    }
    // On disk: where the path really leads, following symbolic links as opening it would.
    let Ok(real_base) = base.canonicalize() else {
        // No folder on disk (a show made in code): nothing can be linked out of it.
        return Ok(joined);
    };
    for existing in joined.ancestors() {
        if let Ok(real) = existing.canonicalize() {
            let rest = joined.strip_prefix(existing).unwrap_or(Path::new(""));
            let real = normalize(&real.join(rest));
            if !real.starts_with(&real_base) {
                return Err(refuse(format!(
                    "a symbolic link leads to {}",
                    real.display()
                )));
            }
            break;
        }
    }
    Ok(joined)
}

/// `path` made absolute against the current folder (as it is, when that is unknown).
fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `path` with `.` and `..` worked out on the text alone (`..` at the root stays at the root).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(folder: &Path, path: &str) -> Result<PathBuf, String> {
        confine(folder, Path::new(path), PathPolicy::InsideShowFolder).map_err(|e| e.to_string())
    }

    #[test]
    fn paths_inside_the_folder_resolve_and_others_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let show = dir.path().join("show");
        std::fs::create_dir_all(show.join("moves")).unwrap();
        std::fs::write(show.join("moves/dance.bvh"), "x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();

        assert_eq!(
            inside(&show, "moves/dance.bvh").unwrap(),
            show.join("moves/dance.bvh")
        );
        assert!(inside(&show, "moves/../moves/./dance.bvh").is_ok());
        // Not there yet: still inside, the caller says it is missing.
        assert!(inside(&show, "takes/take-1").is_ok());
        // Absolute, but inside the folder.
        assert!(inside(&show, &show.join("moves/dance.bvh").display().to_string()).is_ok());

        let err = inside(&show, "../../etc/passwd").unwrap_err();
        assert!(
            err.contains("\"../../etc/passwd\"")
                && err.contains("`..` climbs out")
                && err.contains("--allow-paths-outside-show"),
            "{err}"
        );
        assert!(
            inside(&show, "moves/../../secret.txt")
                .unwrap_err()
                .contains("`..`")
        );
        let err = inside(&show, "/etc/passwd").unwrap_err();
        assert!(
            err.contains("\"/etc/passwd\"") && err.contains("absolute path elsewhere"),
            "{err}"
        );
        // Allowed by the user: anything goes.
        assert_eq!(
            confine(&show, Path::new("../secret.txt"), PathPolicy::Anywhere).unwrap(),
            show.join("../secret.txt")
        );
        assert!(confine(&show, Path::new("/etc/passwd"), PathPolicy::Anywhere).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_of_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let show = dir.path().join("show");
        std::fs::create_dir_all(show.join("inner")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();
        std::fs::write(show.join("inner/ok.bvh"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), show.join("link.bvh")).unwrap();
        std::os::unix::fs::symlink(dir.path(), show.join("up")).unwrap();
        std::os::unix::fs::symlink(show.join("inner"), show.join("alias")).unwrap();

        let err = inside(&show, "link.bvh").unwrap_err();
        assert!(
            err.contains("\"link.bvh\"") && err.contains("symbolic link leads to"),
            "{err}"
        );
        assert!(err.contains("secret.txt"), "names where it leads: {err}");
        // A linked folder, and a file that does not exist yet below it.
        assert!(inside(&show, "up/secret.txt").is_err());
        assert!(inside(&show, "up/new.bvh").is_err());
        // `..` after a link follows the link, as opening the file would: up/show/.. is the
        // folder above the show, though the text alone says show/up.
        let err = inside(&show, "up/show/../secret.txt").unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(inside(&show, "alias/../inner/ok.bvh").is_ok());
        // A link that stays inside is fine.
        assert!(inside(&show, "alias/ok.bvh").is_ok());
        assert!(confine(&show, Path::new("link.bvh"), PathPolicy::Anywhere).is_ok());
    }

    /// A show naming `line` in its body, written into a `show` folder with a BVH inside it.
    fn show_with(line: &str) -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("show");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("dance.bvh"), "x").unwrap();
        std::fs::write(dir.path().join("outside.bvh"), "x").unwrap();
        let text = format!("(\n    name: \"paths\",\n    duration: 10.0,\n{line}\n)\n");
        let path = folder.join("show.ron");
        std::fs::write(&path, &text).unwrap();
        (dir, path, text)
    }

    #[test]
    fn a_show_naming_files_outside_its_folder_is_refused_with_the_line() {
        use crate::show::ShowFile;
        let inside = [
            "    performer: Avatar(path: \"idol.vrm\"),",
            "    motion: Bvh(path: \"dance.bvh\"),",
            "    cues: [(at: 1.0, command: PlayMotion(motion: Bvh(path: \"dance.bvh\")))],",
        ];
        for line in inside {
            let (_dir, path, text) = show_with(line);
            ShowFile::parse_with(&text, &path, PathPolicy::InsideShowFolder)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
        }
        let outside = [
            (
                "    performer: Avatar(path: \"../../etc/passwd\"),",
                "../../etc/passwd",
            ),
            ("    motion: Bvh(path: \"/etc/passwd\"),", "/etc/passwd"),
            (
                "    motion: Take(path: \"../takes/take-1\"),",
                "../takes/take-1",
            ),
            (
                "    motion: Bvh(path: \"dance.bvh\", bone_map: Some(\"../map.ron\")),",
                "../map.ron",
            ),
            (
                "    audio: Some(\"../../../etc/passwd\"),",
                "../../../etc/passwd",
            ),
            (
                "    cues: [(at: 1.0, command: PlayMotion(motion: Bvh(path: \"../outside.bvh\")))],",
                "../outside.bvh",
            ),
            (
                "    cues: [(number: \"1\", command: SwitchPerformer(Avatar(path: \"/home/x.vrm\")))],",
                "/home/x.vrm",
            ),
            (
                "    cues: [(number: \"1\", command: Gesture((clip: \"../outside.bvh\")))],",
                "../outside.bvh",
            ),
            (
                "    cues: [(number: \"1\", command: Gesture((clip: \"../outside.vrma\")))],",
                "../outside.vrma",
            ),
            (
                "    hotkeys: { \"F9\": LoadShow(\"/etc/passwd\") },",
                "/etc/passwd",
            ),
        ];
        for (line, named) in outside {
            let (_dir, path, text) = show_with(line);
            let err = ShowFile::parse_with(&text, &path, PathPolicy::InsideShowFolder)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!(
                    "{}:4: the path \"{named}\" leaves the show's folder",
                    path.display()
                )) && err.contains("--allow-paths-outside-show"),
                "{line}: {err}"
            );
        }
        // The user allows it: the same shows load (files that exist).
        let (_dir, path, text) = show_with(
            "    cues: [(at: 1.0, command: PlayMotion(motion: Bvh(path: \"../outside.bvh\")))],",
        );
        assert!(ShowFile::parse_with(&text, &path, PathPolicy::Anywhere).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_show_reaching_out_through_a_symbolic_link_is_refused() {
        use crate::show::ShowFile;
        let (dir, path, text) = show_with("    motion: Bvh(path: \"linked.bvh\"),");
        std::os::unix::fs::symlink(
            dir.path().join("outside.bvh"),
            dir.path().join("show/linked.bvh"),
        )
        .unwrap();
        let err = ShowFile::parse_with(&text, &path, PathPolicy::InsideShowFolder)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"linked.bvh\"") && err.contains("symbolic link leads to"),
            "{err}"
        );
        assert!(ShowFile::parse_with(&text, &path, PathPolicy::Anywhere).is_ok());
    }
}
