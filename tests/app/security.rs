//! Security as a user meets it: listeners stay on this machine unless `--allow-network` says
//! otherwise, and a show cannot make the stage read files outside its folder unless
//! `--allow-paths-outside-show` says so.

use std::process::Command;

use crate::support::{bin, root};

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run ling-stage");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn listening_beyond_loopback_needs_allow_network() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mkv");
    let show = root().join("scenes/demo.ron");
    // Refused before anything starts, naming the option and the address.
    let (ok, text) = run(bin()
        .arg("broadcast")
        .arg(&show)
        .arg("--out")
        .arg(&out)
        .args(["--remote", "0.0.0.0:0"]));
    assert!(!ok, "{text}");
    assert!(
        text.contains("--remote: 0.0.0.0:0 is not a loopback address")
            && text.contains("--allow-network"),
        "{text}"
    );
    let (ok, text) = run(bin()
        .arg("broadcast")
        .arg(&show)
        .arg("--out")
        .arg(&out)
        .args(["--vmc", "[::]:0"]));
    assert!(!ok, "{text}");
    assert!(
        text.contains("--vmc: [::]:0 is not a loopback address"),
        "{text}"
    );
    let (ok, text) = run(bin()
        .arg("record")
        .arg(&show)
        .arg("--takes")
        .arg(dir.path())
        .args(["--seconds", "1", "--vmc", "192.0.2.1:39539"]));
    assert!(!ok, "{text}");
    assert!(
        text.contains("--vmc: 192.0.2.1:39539 is not a loopback address"),
        "{text}"
    );
    assert!(!out.exists(), "nothing was started");
}

#[test]
fn a_show_naming_a_file_outside_its_folder_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("show");
    std::fs::create_dir_all(&folder).unwrap();
    // A real BVH beside the show's folder, not in it.
    let outside = dir.path().join("outside.bvh");
    let (ok, text) = run(bin()
        .args(["mocap", "export"])
        .arg(root().join("scenes/demo.ron"))
        .arg("--out")
        .arg(&outside)
        .args(["--seconds", "1"]));
    assert!(ok, "{text}");
    let show = folder.join("show.ron");
    std::fs::write(
        &show,
        "(\n    name: \"escape\",\n    duration: 2.0,\n    motion: Bvh(path: \"../outside.bvh\"),\n)\n",
    )
    .unwrap();
    let export = |allow: bool| {
        let mut cmd = bin();
        cmd.args(["mocap", "export"])
            .arg(&show)
            .arg("--out")
            .arg(dir.path().join("back.bvh"))
            .args(["--seconds", "1"]);
        if allow {
            cmd.arg("--allow-paths-outside-show");
        }
        run(&mut cmd)
    };
    let (ok, text) = export(false);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "{}:4: the path \"../outside.bvh\" leaves the show's folder",
            show.display()
        )) && text.contains("--allow-paths-outside-show"),
        "{text}"
    );
    let (ok, text) = export(true);
    assert!(ok, "{text}");
    assert!(dir.path().join("back.bvh").is_file());
}
