//! Going on air: `broadcast` to real ffmpeg receivers on loopback (RTMP, SRT, UDP), an output
//! that stalls and dies while the show goes on, the virtual camera check, and the program
//! window under Xvfb.

use crate::support::{Broadcasting, bin, has_ffmpeg, number_after};

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on TCP `port` (read from /proc, so the one-shot ffmpeg
/// listener is not spent on a probe connection).
fn wait_listening(port: u16) {
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        if table
            .lines()
            .any(|l| l.contains(&needle) && l.split_whitespace().nth(3) == Some("0A"))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port} after 10 s");
}

/// A receiver: ffmpeg reading `input` and copying it into `out`.
fn receiver(input_args: &[&str], out: &Path) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(input_args)
        .args(["-c", "copy"])
        .arg(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("start the ffmpeg receiver")
}

fn wait_for(child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// What ffprobe says of a received stream.
struct Probe {
    video: Option<(u32, u32, f64)>,
    audio: bool,
    duration: f64,
}

fn probe(file: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("stream=codec_type,width,height,avg_frame_rate,r_frame_rate:format=duration")
        .args(["-of", "json"])
        .arg(file)
        .output()
        .expect("run ffprobe");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ffprobe {}: {e}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let rate = |s: &serde_json::Value, key: &str| -> f64 {
        let text = s[key].as_str().unwrap_or("0/1");
        let (n, d) = text.split_once('/').unwrap_or((text, "1"));
        n.parse::<f64>().unwrap_or(0.0) / d.parse::<f64>().unwrap_or(1.0).max(1e-9)
    };
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .map(|s| {
            (
                s["width"].as_u64().unwrap_or(0) as u32,
                s["height"].as_u64().unwrap_or(0) as u32,
                rate(s, "r_frame_rate"),
            )
        });
    Probe {
        video,
        audio: streams.iter().any(|s| s["codec_type"] == "audio"),
        duration: json["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0.0),
    }
}

/// Mean loudness of a file's sound in dB (ffmpeg's volumedetect).
fn mean_volume_db(file: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(file)
        .args(["-map", "0:a", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg volumedetect");
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or(-91.0)
}

/// The demo show with a 440 Hz tone as its sound track, in `dir`.
fn show_with_tone(dir: &Path) -> PathBuf {
    let wav = dir.join("tone.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..48000 * 12 {
        let t = i as f32 / 48000.0;
        writer
            .write_sample(((t * 440.0 * std::f32::consts::TAU).sin() * 0.3 * 32767.0) as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron"))
            .unwrap();
    let show = demo.replacen(
        "    performer: BuiltIn,",
        "    performer: BuiltIn,\n    audio: Some(\"tone.wav\"),",
        1,
    );
    assert_ne!(show, demo, "the demo show changed: update this test");
    let path = dir.join("tone_show.ron");
    std::fs::write(&path, show).unwrap();
    path
}

/// The broadcast command at a small size, quick on the software renderer.
fn broadcast(show: &Path, out: &str, seconds: f64) -> Command {
    let mut cmd = bin();
    cmd.arg("broadcast")
        .arg(show)
        .args(["--out", out])
        .args(["--seconds", &seconds.to_string()])
        .args([
            "--width", "320", "--height", "180", "--fps", "30", "--msaa", "1", "--quiet",
        ]);
    cmd
}

fn output_of(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run ling-stage broadcast");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn broadcast_sends_picture_and_sound_to_an_rtmp_listener() {
    if !has_ffmpeg() {
        ling_testkit::skip("broadcast over RTMP: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let show = show_with_tone(dir.path());
    let port = free_tcp_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/ling");
    let received = dir.path().join("received.flv");
    let mut listener = receiver(&["-listen", "1", "-i", &url], &received);
    wait_listening(port);
    let (ok, text) = output_of(&mut broadcast(&show, &url, 5.0));
    wait_for(&mut listener, Duration::from_secs(20));
    assert!(ok, "broadcast failed:\n{text}");
    let p = probe(&received);
    let (w, h, fps) = p
        .video
        .unwrap_or_else(|| panic!("no video received:\n{text}"));
    assert_eq!((w, h), (320, 180), "{text}");
    assert!((fps - 30.0).abs() < 0.01, "30 fps: {fps}");
    assert!(p.audio, "an audio stream was received");
    assert!(
        (4.3..=5.8).contains(&p.duration),
        "about 5 s received: {:.2} s\n{text}",
        p.duration
    );
    // The tone arrived, not silence: a 0.3-amplitude sine is about -13.5 dB.
    let volume = mean_volume_db(&received);
    assert!(volume > -20.0, "the show's sound was sent: {volume} dB");
    assert_eq!(
        number_after(&text, "repeated, "),
        0.0,
        "nothing dropped with a receiver that keeps up:\n{text}"
    );
}

#[test]
fn broadcast_sends_mpeg_ts_over_srt_and_udp() {
    if !has_ffmpeg() {
        ling_testkit::skip("broadcast over SRT/UDP: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let show = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron");
    // SRT: the receiver listens, the broadcast calls.
    let port = free_udp_port();
    let srt = dir.path().join("srt.ts");
    let mut listener = receiver(
        &["-i", &format!("srt://127.0.0.1:{port}?mode=listener")],
        &srt,
    );
    std::thread::sleep(Duration::from_millis(500));
    let (ok, text) = output_of(&mut broadcast(
        &show,
        &format!("srt://127.0.0.1:{port}?mode=caller"),
        3.0,
    ));
    wait_for(&mut listener, Duration::from_secs(15));
    assert!(ok, "SRT broadcast failed:\n{text}");
    let p = probe(&srt);
    assert_eq!(p.video.map(|v| (v.0, v.1)), Some((320, 180)), "{text}");
    assert!(
        p.audio && p.duration > 2.0,
        "SRT: {:.2} s, audio {}",
        p.duration,
        p.audio
    );

    // UDP: MPEG-TS datagrams to a receiver that stops after 2 s of stream.
    let port = free_udp_port();
    let udp = dir.path().join("udp.ts");
    // A 1 s stream analysis (the default 5 s would outlast the 4 s broadcast: nothing written).
    let mut listener = receiver(
        &[
            "-analyzeduration",
            "1000000",
            "-i",
            &format!("udp://127.0.0.1:{port}"),
            "-t",
            "2",
        ],
        &udp,
    );
    std::thread::sleep(Duration::from_millis(500));
    let (ok, text) = output_of(&mut broadcast(
        &show,
        &format!("udp://127.0.0.1:{port}"),
        4.0,
    ));
    wait_for(&mut listener, Duration::from_secs(15));
    assert!(ok, "UDP broadcast failed:\n{text}");
    let p = probe(&udp);
    assert_eq!(p.video.map(|v| (v.0, v.1)), Some((320, 180)), "{text}");
    assert!(p.duration > 1.5, "UDP: {:.2} s received", p.duration);
}

/// The receiver freezes (SIGSTOP) and then dies: the show clock keeps wall time, frames are
/// dropped and counted, and the output is retried.
#[test]
fn a_stalled_and_dead_output_never_stalls_the_show() {
    if !has_ffmpeg() {
        ling_testkit::skip("stalled output: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let show = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron");
    let port = free_tcp_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/ling");
    let received = dir.path().join("stalled.flv");
    let mut listener = receiver(&["-listen", "1", "-i", &url], &received);
    wait_listening(port);
    let broadcasting = Broadcasting::spawn(&mut broadcast(&show, &url, 10.0))
        .wait_on_air(Duration::from_secs(120));
    // Two seconds on air, then the receiver freezes for four, then dies.
    std::thread::sleep(Duration::from_secs(2));
    let pid = listener.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let _ = listener.kill();
    let _ = listener.wait();
    let (ok, text) = broadcasting.finish();
    assert!(ok, "{text}");
    let wall = number_after(&text, "broadcast: ");
    let clock = number_after(&text, "show clock ");
    assert!(
        (clock - wall).abs() < 0.3,
        "the show clock kept wall time: {clock} s of show in {wall} s\n{text}"
    );
    // A software renderer takes a few hundred ms a frame; a show waiting on the frozen
    // receiver would have one frame as long as the freeze (4 s).
    let longest = number_after(&text, "longest frame ");
    assert!(
        longest < 2000.0,
        "no frame waited on the output: {longest} ms\n{text}"
    );
    let dropped = number_after(&text, "repeated, ");
    assert!(
        dropped > 0.0,
        "frames were dropped while the receiver was frozen:\n{text}"
    );
    let attempts = number_after(&text, "dropped, ");
    assert!(attempts >= 2.0, "the dead output was retried:\n{text}");
    assert!(
        text.contains("last error:"),
        "ffmpeg's reason is reported:\n{text}"
    );
}

/// `--mic` on a machine without one: said plainly, and the broadcast goes on.
#[test]
fn a_missing_microphone_is_reported_and_the_broadcast_goes_on() {
    if !has_ffmpeg() {
        ling_testkit::skip("broadcast --mic: ffmpeg/ffprobe not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let show = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron");
    let file = dir.path().join("mic.mkv");
    let mut cmd = broadcast(&show, file.to_str().unwrap(), 4.0);
    cmd.args(["--mic", "Ling's Mic"]);
    let (ok, text) = output_of(&mut cmd);
    assert!(ok, "{text}");
    assert!(!text.contains("panicked"), "{text}");
    let sound = text
        .lines()
        .find(|l| l.starts_with("sound: "))
        .unwrap_or_else(|| panic!("no sound line:\n{text}"));
    if ling_audio::list_devices().inputs.is_empty() {
        assert!(
            sound.contains("no microphone") && sound.contains("Ling's Mic"),
            "{sound}"
        );
    }
    let p = probe(&file);
    assert_eq!(p.video.map(|v| (v.0, v.1)), Some((320, 180)), "{text}");
    // Under load ffmpeg takes a while to start; what matters is that the show went on air.
    assert!(p.duration > 0.5, "{:.2} s written\n{text}", p.duration);
}

#[test]
fn a_missing_virtual_camera_is_named_with_how_to_load_it() {
    let (ok, text) = output_of(&mut broadcast(
        Path::new("scenes/demo.ron"),
        "v4l2:/dev/video97",
        1.0,
    ));
    assert!(!ok, "no such device here:\n{text}");
    assert!(text.contains("/dev/video97"), "{text}");
    assert!(text.contains("v4l2loopback"), "says what to load:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
}

/// The program window under Xvfb: the picture alone, no panel; the console beside it has the
/// panel and the program monitor.
#[test]
fn the_program_window_shows_the_picture_and_no_panel() {
    if Command::new("xvfb-run").arg("--help").output().is_err() {
        ling_testkit::skip("program window: xvfb-run is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("program.png");
    let console = dir.path().join("console.png");
    let out = Command::new("xvfb-run")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-a", "-s", "-screen 0 2600x1000x24"])
        // The console reads its settings from here, never the user's.
        .env("LING_STAGE_CONFIG_DIR", dir.path())
        .arg(env!("CARGO_BIN_EXE_ling-stage"))
        .args(["live", "--screenshot-program"])
        .arg(&program)
        .arg("--screenshot")
        .arg(&console)
        .args(["--screenshot-at", "12", "--quit-after", "13", "--msaa", "1"])
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "live failed:\n{text}");
    let img = image::open(&program).unwrap().to_rgb8();
    assert_eq!(
        img.dimensions(),
        (1280, 720),
        "the program window is the picture's size"
    );
    // Where the console has its panel (the right 300 px) the program has stage: lit and red,
    // not neutral grey chrome.
    let mean = |x0: u32, x1: u32, y0: u32, y1: u32| {
        let mut sum = [0f64; 3];
        let mut n = 0.0;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = img.get_pixel(x, y);
                for c in 0..3 {
                    sum[c] += p[c] as f64;
                }
                n += 1.0;
            }
        }
        sum.map(|s| s / n)
    };
    let right = mean(1000, 1280, 0, 720);
    assert!(
        right[0] > right[2] + 10.0,
        "the right of the program is stage (red set), not a panel: {right:?}"
    );
    let whole = mean(0, 1280, 0, 720);
    assert!(whole[0] > 30.0, "the program is lit: {whole:?}");
    // No egui text in the program: the panel's white text would make many near-white pixels
    // at the right edge, where the set is dark red and gold.
    let bright = (1000..1280)
        .flat_map(|x| (0..720).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = img.get_pixel(x, y);
            p[0] > 200 && p[1] > 200 && p[2] > 200
        })
        .count();
    assert!(
        bright < 200,
        "no panel text in the program: {bright} white pixels"
    );
    let console = image::open(&console).unwrap().to_rgb8();
    let panel_text = (console.width() - 280..console.width())
        .flat_map(|x| (0..console.height()).map(move |y| (x, y)))
        .filter(|&(x, y)| console.get_pixel(x, y)[0] > 150)
        .count();
    assert!(
        panel_text > 500,
        "the console shows the panel: {panel_text} bright pixels"
    );
}
