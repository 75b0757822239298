//! Remote control over OSC, end to end: a headless broadcast with `--remote`, driven by an
//! independent peer (python-osc, `scripts/remote_client.py`) that reads the state it sends back,
//! and a sender that is neither loopback nor allowed, whose packets do nothing.

use crate::support::{Broadcasting, bin, has_ffmpeg, number_after, python_osc_script};

use std::net::{IpAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

/// An IPv4 address of this machine that is not loopback (the first `hostname -I` lists).
fn non_loopback_address() -> Option<IpAddr> {
    let out = Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|a| a.is_ipv4() && !a.is_loopback())
        // Only if a socket can actually be bound to it.
        .filter(|a| UdpSocket::bind((*a, 0)).is_ok())
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One received state message.
#[derive(Debug)]
struct State {
    addr: String,
    args: Vec<serde_json::Value>,
}

/// Sends `messages` to the show from `bind`, then prints what comes back for `listen` seconds.
fn exchange(port: u16, bind: IpAddr, messages: &[&str], listen: f64) -> Vec<State> {
    let mut cmd = python_osc_script("remote_client.py").expect("checked before");
    let out = cmd
        .arg(bind.to_string())
        .arg(port.to_string())
        .args(["--bind", &bind.to_string()])
        .args(["--listen", &listen.to_string()])
        .args(messages)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "remote_client.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            State {
                addr: v["addr"].as_str().unwrap_or_default().to_string(),
                args: v["args"].as_array().cloned().unwrap_or_default(),
            }
        })
        .collect()
}

fn last<'a>(states: &'a [State], addr: &str) -> Option<&'a [serde_json::Value]> {
    states
        .iter()
        .rev()
        .find(|s| s.addr == addr)
        .map(|s| s.args.as_slice())
}

#[test]
fn osc_pauses_and_seeks_a_broadcast_and_reads_its_state_while_strangers_are_dropped() {
    if !has_ffmpeg() {
        ling_testkit::skip("remote control: ffmpeg not installed");
        return;
    }
    if let Err(why) = python_osc_script("remote_client.py") {
        ling_testkit::skip(format!("remote control: {why}"));
        return;
    }
    let stranger = non_loopback_address();
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    // With a non-loopback address to send from, listen on every address with an allow list
    // that leaves it out (TEST-NET-2 only); without one, loopback as by default.
    let listen = if stranger.is_some() {
        format!("0.0.0.0:{port}")
    } else {
        format!("127.0.0.1:{port}")
    };
    let broadcasting = Broadcasting::spawn(
        bin()
            .args(["broadcast", "scenes/demo.ron", "--out"])
            .arg(dir.path().join("x.mkv"))
            .args(["--seconds", "12", "--width", "320", "--height", "180"])
            .args(["--msaa", "1", "--quiet", "--remote", &listen])
            .args(["--remote-allow", "198.51.100.7", "--allow-network"]),
    )
    .wait_on_air(Duration::from_secs(120));
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();

    // A stranger's pause: dropped unread, nothing comes back.
    if let Some(stranger) = stranger {
        let back = exchange(port, stranger, &["/ling/pause"], 2.0);
        assert!(back.is_empty(), "a stranger got the state: {back:?}");
    }
    // From this machine: the state comes back, and the show still plays.
    let back = exchange(port, loopback, &["/ling/ping"], 1.5);
    assert_eq!(
        last(&back, "/ling/state/playing"),
        Some(&[1.into()][..]),
        "the stranger's pause was not applied: {back:?}"
    );
    assert_eq!(last(&back, "/ling/state/onair"), Some(&[1.into()][..]));
    assert!(last(&back, "/ling/state/clock").is_some(), "{back:?}");
    // Pause (the button's release ignored), seek to 5 s, and an unknown address.
    let back = exchange(
        port,
        loopback,
        &[
            "/ling/pause 1.0",
            "/ling/pause 0.0",
            "/ling/seek 5.0",
            "/ling/dance",
        ],
        3.0,
    );
    assert_eq!(
        last(&back, "/ling/state/playing"),
        Some(&[0.into()][..]),
        "{back:?}"
    );
    let clock = last(&back, "/ling/state/clock")
        .and_then(|a| a.first())
        .and_then(|v| v.as_f64());
    assert_eq!(clock, Some(5.0), "{back:?}");

    let (ok, text) = broadcasting.finish();
    assert!(ok, "{text}");
    // Paused at 5 s until the end: 12 s on air, yet at most 5 s of show played (less the
    // show time of the first on-air frame).
    let show_clock = number_after(&text, "show clock ");
    assert!(
        (3.0..=5.05).contains(&show_clock),
        "the show stayed paused at 5 s: {show_clock} s of show played\n{text}"
    );
    assert_eq!(number_after(&text, "remote: "), 2.0, "applied\n{text}");
    assert_eq!(number_after(&text, "applied, "), 1.0, "malformed\n{text}");
    match stranger {
        Some(stranger) => {
            assert_eq!(number_after(&text, "malformed, "), 1.0, "dropped\n{text}");
            assert!(
                text.contains(&format!("packets from {stranger} are dropped")),
                "the drop is logged:\n{text}"
            );
        }
        None => ling_testkit::skip(
            "remote control: no non-loopback address to send from, the allow list was not tried",
        ),
    }
}
