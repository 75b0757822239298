//! Audio analysis on real synthetic speech: espeak-ng (Debian) vowels, through the CLI.

use std::path::Path;
use std::process::Command;

fn espeak(voice: &str, text: &str, out: &Path) -> bool {
    Command::new("espeak-ng")
        .args(["-v", voice, "-s", "50", "-w"])
        .arg(out)
        .arg(text)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn sustained_vowels_are_classified() {
    let dir = tempfile::tempdir().unwrap();
    if !espeak("es", "[[a]]", &dir.path().join("probe.wav")) {
        println!("SKIPPED sustained_vowels_are_classified: espeak-ng is not installed");
        return;
    }
    let mut total = 0usize;
    let mut right = 0usize;
    for (phoneme, viseme) in [
        ("a", "aa"),
        ("i", "ih"),
        ("u", "ou"),
        ("e", "ee"),
        ("o", "oh"),
    ] {
        let wav = dir.path().join(format!("{phoneme}.wav"));
        assert!(espeak("es", &format!("[[{phoneme}::::::]]"), &wav));
        let out = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
            .args(["audio", "analyze", "--json"])
            .arg(&wav)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let voiced: Vec<&str> = a["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["viseme"].as_str())
            .collect();
        assert!(
            voiced.len() > 30,
            "{phoneme}: {} voiced frames",
            voiced.len()
        );
        let hits = voiced.iter().filter(|v| **v == viseme).count();
        println!(
            "vowel {phoneme}: {hits} of {} voiced frames → {viseme}",
            voiced.len()
        );
        assert!(
            hits * 10 >= voiced.len() * 8,
            "{phoneme}: only {hits} of {} frames are {viseme}",
            voiced.len()
        );
        total += voiced.len();
        right += hits;
        // Quiet frames close the mouth.
        for f in a["frames"].as_array().unwrap() {
            if f["rms_dbfs"].as_f64().unwrap() < -60.0 {
                assert_eq!(f["weight"].as_f64().unwrap(), 0.0, "{f}");
            }
        }
    }
    println!(
        "vowel accuracy: {:.1}% of {total} frames",
        100.0 * right as f64 / total as f64
    );
}
