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
        ling_testkit::skip("sustained_vowels_are_classified: espeak-ng is not installed");
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

/// The show's audio is muxed into the render in sync: a click at 5.000 s of the show is at
/// 1.000 s of a render that starts at 4.0 s (frame 30 at 30 fps), i.e. on frame 150 of the show.
#[test]
fn render_muxes_the_show_audio_in_sync() {
    let ffmpeg = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ffmpeg {
        ling_testkit::skip("render_muxes_the_show_audio_in_sync: ffmpeg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("click.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..48_000 * 8 {
        let t = i as f64 / 48_000.0;
        let click = (5.0..5.002).contains(&t);
        w.write_sample(if click { 30_000i16 } else { 0 }).unwrap();
    }
    w.finalize().unwrap();
    let show = dir.path().join("click.ron");
    std::fs::write(
        &show,
        "(name: \"click\", duration: 8.0, motion: Idle, audio: Some(\"click.wav\"), lantern_pulse: 1.0)",
    )
    .unwrap();
    let out = dir.path().join("click.mp4");
    let run = Command::new(env!("CARGO_BIN_EXE_ling-stage"))
        .arg("render")
        .arg(&show)
        .arg("--out")
        .arg(&out)
        .args([
            "--width", "160", "--height", "90", "--fps", "30", "--start", "4.0", "--frames", "60",
            "--quiet", "--msaa", "1",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let back = dir.path().join("back.wav");
    let x = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-i"])
        .arg(&out)
        .args(["-vn", "-ac", "1", "-ar", "48000"])
        .arg(&back)
        .output()
        .unwrap();
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
    let clip = ling_stage::audio::analysis::AudioClip::load_wav(&back).unwrap();
    let a = ling_stage::audio::analysis::analyze(&clip);
    assert!(!a.onsets.is_empty(), "the click is in the video's audio");
    // AAC adds priming samples that ffmpeg trims; allow a few milliseconds.
    let t = a.onsets[0];
    assert!(
        (t - 1.0).abs() <= 0.010,
        "click at {t:.4} s of the render, expected 1.000 (frame 30)"
    );
    assert!(
        (clip.duration() - 2.0).abs() < 0.1,
        "audio as long as the 2 s of video: {}",
        clip.duration()
    );
}

#[test]
fn flac_ogg_and_mp3_tracks_decode_with_their_clicks_in_place() {
    let ffmpeg = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ffmpeg {
        ling_testkit::skip("flac_ogg_and_mp3_tracks_decode: ffmpeg is not installed");
        return;
    }
    use ling_stage::audio::analysis::{AudioClip, analyze};
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("clicks.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    let clicks = [0.5, 1.25, 2.0];
    for i in 0..44_100 * 3 {
        let t = i as f64 / 44_100.0;
        let on = clicks.iter().any(|c| (*c..*c + 0.003).contains(&t));
        let s = if on { 28_000i16 } else { 0 };
        w.write_sample(s).unwrap();
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    for (ext, codec) in [
        ("flac", "flac"),
        ("ogg", "libvorbis"),
        ("mp3", "libmp3lame"),
    ] {
        let file = dir.path().join(format!("clicks.{ext}"));
        let x = Command::new("ffmpeg")
            .args(["-y", "-loglevel", "error", "-i"])
            .arg(&wav)
            .args(["-c:a", codec])
            .arg(&file)
            .output()
            .unwrap();
        if !x.status.success() {
            ling_testkit::skip(format!(
                "the {ext} case: this ffmpeg cannot encode {codec}: {}",
                String::from_utf8_lossy(&x.stderr)
            ));
            continue;
        }
        let clip = AudioClip::load(&file).unwrap();
        assert_eq!(clip.rate, 44_100, "{ext}");
        // MP3 encoders pad the start and the end by a frame or two.
        assert!(
            (clip.duration() - 3.0).abs() < 0.06,
            "{ext}: {} s",
            clip.duration()
        );
        let onsets = analyze(&clip).onsets;
        let delay = if ext == "mp3" { 0.06 } else { 0.0 };
        for c in clicks {
            assert!(
                onsets.iter().any(|o| (o - c).abs() <= 0.010 + delay),
                "{ext}: a click at {c} s is found ({onsets:?})"
            );
        }
    }
    let bad = dir.path().join("noise.ogg");
    std::fs::write(&bad, b"this is not an ogg stream").unwrap();
    let e = AudioClip::load(&bad).unwrap_err().to_string();
    assert!(e.contains("noise.ogg"), "{e}");
    let e = AudioClip::load(&dir.path().join("song.aiff"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown audio format"), "{e}");
}
