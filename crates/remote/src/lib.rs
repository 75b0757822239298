#![warn(missing_docs)]
//! Remote control of the live show over OSC (UDP): TouchOSC, Bitfocus Companion (a Stream
//! Deck), QLab's network cues or a script send the same [`DirectorCommand`]s the director's
//! panel does, and get the show's state back.
//!
//! The server listens on [`RemoteSettings::listen`], by default `127.0.0.1:9000`
//! ([`DEFAULT_PORT`]): loopback, so only programs on this machine can drive the show until the
//! operator binds it elsewhere (`--remote 0.0.0.0:9000`). Whatever it is bound to, packets
//! from an address that is neither loopback nor listed in [`RemoteSettings::allow`] are
//! dropped unread (not answered, not applied) and counted in [`RemoteStatus`].
//!
//! # Addresses
//!
//! Numbers may be ints or floats (TouchOSC sends floats). A *button* takes no argument or one
//! value: non-zero on press fires, `0` on release is ignored (so a TouchOSC or Stream Deck
//! button fires once). A *switch* takes one value: non-zero (or `T`, `"on"`) is on, `0` off.
//! Bundles are unpacked, nested ones too.
//!
//! | Address | Arguments | Command |
//! |---|---|---|
//! | `/ling/go` | button | [`DirectorCommand::Go`] |
//! | `/ling/back` | button | [`DirectorCommand::Back`] |
//! | `/ling/panic` | button | [`DirectorCommand::Panic`] |
//! | `/ling/cue` | number (int, float or text) | [`DirectorCommand::FireCue`] |
//! | `/ling/cue/N` | button | fire cue `N` |
//! | `/ling/standby` | number | [`DirectorCommand::Standby`] |
//! | `/ling/standby/N` | button | put cue `N` on standby |
//! | `/ling/shot` | `wide`, `medium` or `closeup`, blend seconds (optional) | [`DirectorCommand::CutTo`] |
//! | `/ling/shot/NAME` | button | cut to the shot |
//! | `/ling/light` | look name, fade seconds (optional, 0 cuts) | [`DirectorCommand::LightCue`] |
//! | `/ling/light/NAME` | button | cut to the look |
//! | `/ling/effect` | effect name, then parameter pairs (name, value: number, text, bool, colour) | [`DirectorCommand::TriggerEffect`] |
//! | `/ling/effect/NAME` | button | fire the effect with its defaults |
//! | `/ling/effect/stop` | effect name | [`DirectorCommand::StopEffect`] |
//! | `/ling/effect/stop/NAME` | button | stop the effect |
//! | `/ling/emote` | name, hold seconds (optional; none or 0 keeps it until cleared), weight 0..1 (optional) | [`DirectorCommand::Emote`] |
//! | `/ling/emote/NAME` | button | the emote, kept until cleared |
//! | `/ling/emotes/clear` | button | [`DirectorCommand::ClearEmotes`] (0.3 s fade) |
//! | `/ling/gesture` | clip name, speed (optional) | [`DirectorCommand::Gesture`] |
//! | `/ling/gesture/NAME` | button | the gesture |
//! | `/ling/play`, `/ling/pause` | button | [`DirectorCommand::Play`], [`DirectorCommand::Pause`] |
//! | `/ling/seek` | seconds | [`DirectorCommand::Seek`] |
//! | `/ling/onair` | switch | [`DirectorCommand::OnAir`] |
//! | `/ling/mic` | switch | [`DirectorCommand::MicOnAir`] |
//! | `/ling/record` | switch | [`DirectorCommand::StartRecording`] / [`DirectorCommand::StopRecording`] |
//! | `/ling/backdrop` | fill (`stage`, `transparent`, `green`, `blue`, `magenta`, `#rrggbb`), set (optional: `full`, `floor`, `performer`) | [`DirectorCommand::Backdrop`] |
//! | `/ling/save` | button | [`DirectorCommand::SaveShow`] |
//! | `/ling/load` | a show file's path (relative to where the app was started) | [`DirectorCommand::LoadShow`] |
//! | `/ling/ping` | none | nothing: asks for the state |
//!
//! An unknown address, wrong arguments, a cue, look or effect the show does not have: the
//! message is refused and counted as malformed, with the reason kept for the console
//! ([`RemoteStatus::last_malformed`]). The rest of the packet still applies.
//!
//! # State back
//!
//! Every client that sent a valid message in the last 60 seconds (and, with
//! [`RemoteSettings::feedback_port`], that port on the client's host, as TouchOSC expects) gets
//! the show's state, from the server's port: on change (at most 4 times a second), everything
//! when it first speaks, and everything every 2 seconds.
//!
//! | Address | Arguments |
//! |---|---|
//! | `/ling/state/standby` | the standby cue's number and name (two strings; both empty when none) |
//! | `/ling/state/onair` | int 1 on air, 0 off |
//! | `/ling/state/level` | float: the sound's level in dBFS (−120 when nothing is heard) |
//! | `/ling/state/clock` | float: show time in seconds |
//! | `/ling/state/playing` | int 1 playing, 0 paused |

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use ling_core::AppSystems;
use ling_core::show::{ActiveShow, CueRunner, DirectorCommand, ShowClock, cue_number};
use ling_stage_fx::EffectRegistry;
use rosc::{OscMessage, OscPacket, OscType};

pub mod address;
mod server;

pub use address::command_for;
pub use server::admits;

/// The port the server listens on when none is given: 9000, clear of VMC's 39539/39540.
pub const DEFAULT_PORT: u16 = 9000;

/// The default listening address: loopback, [`DEFAULT_PORT`].
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT);

/// Clients silent this long get no more state.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// The state is sent at most this often.
const STATE_INTERVAL: Duration = Duration::from_millis(250);
/// Everything is sent again this often, changed or not (UDP loses packets).
const STATE_REFRESH: Duration = Duration::from_secs(2);
/// The level sent when nothing is heard.
const SILENCE_DBFS: f32 = -120.0;

/// Where the remote control listens, who may use it, and where the state goes back. Insert it
/// to start the server; without it [`plugin`] does nothing.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct RemoteSettings {
    /// Address and UDP port to listen on ([`DEFAULT_LISTEN`] by default: loopback only).
    pub listen: SocketAddr,
    /// Addresses besides loopback allowed to control the show; packets from any other are
    /// dropped and counted.
    pub allow: Vec<IpAddr>,
    /// Also send the state to this port on each client's host (TouchOSC listens on a port of
    /// its own); without it the state goes only to the port the client sent from.
    pub feedback_port: Option<u16>,
    /// Whether `listen` may be an address other than loopback (the user's `--allow-network`);
    /// without it such an address is refused ([`ling_core::net::check_listen`]).
    pub allow_network: bool,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            allow: Vec::new(),
            feedback_port: None,
            allow_network: false,
        }
    }
}

/// How the remote control goes, for the console and the broadcast's report.
#[derive(Resource, Debug, Clone, Default)]
pub struct RemoteStatus {
    /// The address the server is bound to, once listening.
    pub listening: Option<SocketAddr>,
    /// Why it could not listen, if it could not.
    pub error: Option<String>,
    /// Addresses besides loopback allowed to control the show.
    pub allow: Vec<IpAddr>,
    /// Commands applied (sent to the show).
    pub applied: u64,
    /// The last command applied: its address and who sent it.
    pub last_applied: Option<String>,
    /// Packets that were not OSC and messages refused (unknown address, wrong arguments, a
    /// cue, look or effect the show does not have).
    pub malformed: u64,
    /// Why the last one was refused, and who sent it.
    pub last_malformed: Option<String>,
    /// Packets dropped unread because their sender is neither loopback nor allowed.
    pub dropped: u64,
    /// The last such sender.
    pub last_dropped: Option<SocketAddr>,
    /// Clients that sent a valid message in the last minute (they get the state).
    pub clients: Vec<SocketAddr>,
}

impl RemoteStatus {
    /// One line: `N applied, M malformed, K dropped` (with the listening address, if any).
    pub fn summary(&self) -> String {
        let counts = format!(
            "{} applied, {} malformed, {} dropped",
            self.applied, self.malformed, self.dropped
        );
        match (self.listening, &self.error) {
            (Some(addr), _) => {
                format!("{counts} (OSC on {addr}, {} client(s))", self.clients.len())
            }
            (None, Some(error)) => format!("{counts} (not listening: {error})"),
            (None, None) => counts,
        }
    }
}

/// The running server and what the state sender remembers.
#[derive(Resource)]
struct Remote {
    server: server::Server,
    feedback_port: Option<u16>,
    /// Clients by address: when each last sent a valid message, and whether it has had the
    /// whole state yet.
    clients: HashMap<SocketAddr, (Instant, bool)>,
    /// The state as last sent.
    sent: Option<State>,
    last_send: Option<Instant>,
    last_refresh: Option<Instant>,
    /// Refusals counted by the app (cues, looks, effects the show does not have).
    refused: u64,
}

/// The remote control: starts the OSC server when [`RemoteSettings`] is present, applies what
/// it receives before the show clock runs (so a command takes effect the frame it is
/// drained), sends the state back, and keeps [`RemoteStatus`].
pub fn plugin(app: &mut App) {
    app.init_resource::<RemoteStatus>()
        .add_systems(Startup, start_remote)
        .add_systems(
            Update,
            apply_remote
                .before(AppSystems::Clock)
                .run_if(resource_exists::<Remote>),
        )
        .add_systems(
            Update,
            send_state
                .after(AppSystems::Capture)
                .run_if(resource_exists::<Remote>),
        );
}

fn start_remote(
    mut commands: Commands,
    settings: Option<Res<RemoteSettings>>,
    mut status: ResMut<RemoteStatus>,
) {
    let Some(settings) = settings else { return };
    status.allow = settings.allow.clone();
    if let Err(refused) =
        ling_core::net::check_listen("remote", settings.listen, settings.allow_network)
    {
        let message = refused.to_string();
        error!("{message}; the show goes on without remote control");
        status.error = Some(message);
        return;
    }
    match server::Server::start(settings.listen, settings.allow.clone()) {
        Ok(server) => {
            let addr = server.addr;
            info!("remote: OSC on {addr}");
            if !addr.ip().is_loopback() {
                if settings.allow.is_empty() {
                    warn!(
                        "remote: listening on {addr} but no --remote-allow: only this machine can control the show"
                    );
                } else {
                    info!(
                        "remote: allowed besides loopback: {}",
                        settings
                            .allow
                            .iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            status.listening = Some(addr);
            commands.insert_resource(Remote {
                server,
                feedback_port: settings.feedback_port,
                clients: HashMap::new(),
                sent: None,
                last_send: None,
                last_refresh: None,
                refused: 0,
            });
        }
        Err(e) => {
            let message = format!(
                "cannot listen for OSC on {}: {e} (is another app using the port?)",
                settings.listen
            );
            error!("{message}; the show goes on without remote control");
            status.error = Some(message);
        }
    }
}

/// Drains what arrived: each command checked against the show, then sent to it.
fn apply_remote(
    mut remote: ResMut<Remote>,
    mut status: ResMut<RemoteStatus>,
    show: Option<Res<ActiveShow>>,
    effects: Option<Res<EffectRegistry>>,
    mut out: MessageWriter<DirectorCommand>,
) {
    let now = Instant::now();
    let remote = &mut *remote;
    while let Ok(inbound) = remote.server.inbox.try_recv() {
        remote
            .clients
            .entry(inbound.from)
            .and_modify(|(seen, _)| *seen = now)
            .or_insert((now, false));
        for (address, command) in inbound.commands {
            let Some(command) = command else { continue };
            match address::check_against_show(&command, show.as_deref(), effects.as_deref()) {
                Ok(()) => {
                    status.applied += 1;
                    status.last_applied = Some(format!("{address} from {}", inbound.from));
                    out.write(command);
                }
                Err(reason) => {
                    remote.refused += 1;
                    remote
                        .server
                        .counters
                        .refuse(inbound.from, format!("{address}: {reason}"));
                }
            }
        }
    }
    remote
        .clients
        .retain(|_, (seen, _)| now.saturating_duration_since(*seen) < CLIENT_TIMEOUT);
    let counters = &remote.server.counters;
    status.malformed = counters.malformed.load(Ordering::Relaxed);
    status.dropped = counters.dropped.load(Ordering::Relaxed);
    if let Ok(last) = counters.last_malformed.lock() {
        status.last_malformed.clone_from(&last);
    }
    if let Ok(last) = counters.last_dropped.lock() {
        status.last_dropped = *last;
    }
    status.clients = remote.clients.keys().copied().collect();
    status.clients.sort();
}

/// The show's state as the remote reports it.
#[derive(Debug, Clone, PartialEq)]
struct State {
    standby: (String, String),
    on_air: bool,
    /// dBFS, rounded to 0.5 dB so a meter's flicker is not a change; `None`: no sound.
    level: Option<f32>,
    /// Show time, rounded to 10 ms.
    clock: f32,
    playing: bool,
}

impl State {
    /// The messages for the parts of the state that differ from `before` (all without it).
    fn messages(&self, before: Option<&State>) -> Vec<OscMessage> {
        let changed = |f: &dyn Fn(&State) -> bool| before.is_none_or(|b| !f(b));
        let msg = |addr: &str, args: Vec<OscType>| OscMessage {
            addr: addr.into(),
            args,
        };
        let mut out = Vec::new();
        if changed(&|b| b.standby == self.standby) {
            out.push(msg(
                "/ling/state/standby",
                vec![
                    OscType::String(self.standby.0.clone()),
                    OscType::String(self.standby.1.clone()),
                ],
            ));
        }
        if changed(&|b| b.on_air == self.on_air) {
            out.push(msg(
                "/ling/state/onair",
                vec![OscType::Int(self.on_air as i32)],
            ));
        }
        if let Some(level) = self.level {
            if changed(&|b| b.level == self.level) {
                out.push(msg("/ling/state/level", vec![OscType::Float(level)]));
            }
        }
        if changed(&|b| b.clock == self.clock) {
            out.push(msg("/ling/state/clock", vec![OscType::Float(self.clock)]));
        }
        if changed(&|b| b.playing == self.playing) {
            out.push(msg(
                "/ling/state/playing",
                vec![OscType::Int(self.playing as i32)],
            ));
        }
        out
    }
}

fn current_state(
    clock: &ShowClock,
    show: Option<&ActiveShow>,
    runner: Option<&CueRunner>,
    on_air: bool,
    level: Option<Option<f32>>,
) -> State {
    let standby = match (show, runner.and_then(|r| r.standby)) {
        (Some(show), Some(i)) if i < show.0.cues.len() => {
            (cue_number(&show.0.cues, i), show.0.cues[i].name.clone())
        }
        _ => (String::new(), String::new()),
    };
    State {
        standby,
        on_air,
        level: level.map(|l| match l {
            Some(db) if db.is_finite() => (db.max(SILENCE_DBFS) * 2.0).round() / 2.0,
            _ => SILENCE_DBFS,
        }),
        clock: ((clock.time * 100.0).round() / 100.0) as f32,
        playing: clock.playing,
    }
}

/// Sends the state to the clients: what changed, at most every [`STATE_INTERVAL`]; all of it
/// to new clients and every [`STATE_REFRESH`].
fn send_state(
    mut remote: ResMut<Remote>,
    clock: Res<ShowClock>,
    show: Option<Res<ActiveShow>>,
    runner: Option<Res<CueRunner>>,
    broadcast: Option<Res<ling_broadcast::BroadcastStatus>>,
    level: Option<Res<ling_audio::AudioLevel>>,
) {
    let now = Instant::now();
    if remote.clients.is_empty()
        || remote
            .last_send
            .is_some_and(|t| now.saturating_duration_since(t) < STATE_INTERVAL)
    {
        return;
    }
    let state = current_state(
        &clock,
        show.as_deref(),
        runner.as_deref(),
        broadcast.is_some_and(|b| b.on_air),
        level.map(|l| l.dbfs),
    );
    let refresh = remote
        .last_refresh
        .is_none_or(|t| now.saturating_duration_since(t) >= STATE_REFRESH);
    let remote = &mut *remote;
    let changes = if refresh {
        remote.last_refresh = Some(now);
        state.messages(None)
    } else {
        state.messages(remote.sent.as_ref())
    };
    let everything = state.messages(None);
    let feedback_port = remote.feedback_port;
    let own = remote.server.addr;
    let mut sent_any = false;
    for (addr, (_, greeted)) in remote.clients.iter_mut() {
        let messages = if *greeted { &changes } else { &everything };
        *greeted = true;
        if messages.is_empty() {
            continue;
        }
        let mut targets = vec![*addr];
        if let Some(port) = feedback_port {
            let feedback = SocketAddr::new(addr.ip(), port);
            // Never to the server itself (a feedback port equal to the listening port).
            if feedback != *addr && !is_self(feedback, own) {
                targets.push(feedback);
            }
        }
        for to in targets {
            for m in messages {
                remote.server.send(to, &OscPacket::Message(m.clone()));
            }
        }
        sent_any = true;
    }
    if sent_any {
        remote.last_send = Some(now);
    }
    remote.sent = Some(state);
}

/// Whether `to` may be the server's own socket (`own`): the same port on the same address, or
/// on loopback.
fn is_self(to: SocketAddr, own: SocketAddr) -> bool {
    to.port() == own.port() && (to.ip() == own.ip() || to.ip().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    use ling_core::show::{ClockMode, Cue, ShowFile, insert_show};

    fn app_with_remote(feedback_port: Option<u16>) -> (App, SocketAddr) {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, plugin));
        let mut show = ShowFile {
            duration: 30.0,
            ..default()
        };
        show.cues = vec![Cue {
            number: "1".into(),
            name: "Her entrance".into(),
            ..Cue::manual(DirectorCommand::Play)
        }];
        insert_show(&mut app, show, ClockMode::Realtime, false);
        app.insert_resource(RemoteSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            allow: vec![],
            feedback_port,
            allow_network: false,
        });
        app.update();
        let addr = app
            .world()
            .resource::<RemoteStatus>()
            .listening
            .expect("listening");
        (app, addr)
    }

    fn send(socket: &UdpSocket, to: SocketAddr, addr: &str, args: Vec<OscType>) {
        let packet = OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        });
        socket
            .send_to(&rosc::encoder::encode(&packet).unwrap(), to)
            .unwrap();
    }

    /// Runs frames until `done` holds (or 5 s pass).
    fn update_until(app: &mut App, done: impl Fn(&World) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            app.update();
            if done(app.world()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Everything `socket` receives within `wait`, decoded.
    fn received(socket: &UdpSocket, wait: Duration) -> Vec<OscMessage> {
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok((len, _)) = socket.recv_from(&mut buf) {
                if let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..len]) {
                    out.push(m);
                }
            }
        }
        out
    }

    #[test]
    fn commands_drive_the_show_and_the_state_comes_back() {
        let (mut app, server) = app_with_remote(None);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        send(&client, server, "/ling/pause", vec![OscType::Float(1.0)]);
        assert!(update_until(&mut app, |w| !w
            .resource::<ShowClock>()
            .playing));
        send(&client, server, "/ling/seek", vec![OscType::Float(5.0)]);
        assert!(update_until(&mut app, |w| w.resource::<ShowClock>().time == 5.0));
        // The release of a button, an unknown cue and an unknown address do nothing.
        send(&client, server, "/ling/play", vec![OscType::Float(0.0)]);
        send(&client, server, "/ling/cue", vec![OscType::Int(9)]);
        send(&client, server, "/ling/dance", vec![]);
        assert!(update_until(&mut app, |w| w
            .resource::<RemoteStatus>()
            .malformed
            == 2));
        let status = app.world().resource::<RemoteStatus>().clone();
        assert_eq!(status.applied, 2, "{status:?}");
        assert_eq!(status.clients, vec![client.local_addr().unwrap()]);
        // Refused by the receiving thread (unknown address) or by the app (no such cue).
        let reason = status.last_malformed.clone().unwrap_or_default();
        assert!(
            reason.contains("/ling/dance") || reason.contains("no cue 9"),
            "{status:?}"
        );
        assert!(!app.world().resource::<ShowClock>().playing);
        // The state came back to the sending port: paused at 5 s, cue 1 on standby.
        let mut state = received(&client, Duration::from_millis(600));
        for _ in 0..5 {
            app.update();
            state.extend(received(&client, Duration::from_millis(100)));
        }
        let last = |addr: &str| {
            state
                .iter()
                .rev()
                .find(|m| m.addr == addr)
                .unwrap_or_else(|| panic!("no {addr} in {state:?}"))
                .args
                .clone()
        };
        assert_eq!(last("/ling/state/clock"), vec![OscType::Float(5.0)]);
        assert_eq!(last("/ling/state/playing"), vec![OscType::Int(0)]);
        assert_eq!(last("/ling/state/onair"), vec![OscType::Int(0)]);
        assert_eq!(
            last("/ling/state/standby"),
            vec![
                OscType::String("1".into()),
                OscType::String("Her entrance".into())
            ]
        );
        assert!(
            state.iter().all(|m| m.addr != "/ling/state/level"),
            "no sound, no level"
        );
    }

    #[test]
    fn the_state_also_goes_to_the_feedback_port() {
        let feedback = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (mut app, server) = app_with_remote(Some(feedback.local_addr().unwrap().port()));
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        send(&client, server, "/ling/ping", vec![]);
        assert!(update_until(&mut app, |w| !w
            .resource::<RemoteStatus>()
            .clients
            .is_empty()));
        app.update();
        let got = received(&feedback, Duration::from_millis(500));
        assert!(
            got.iter().any(|m| m.addr == "/ling/state/playing"),
            "{got:?}"
        );
        assert_eq!(app.world().resource::<RemoteStatus>().applied, 0);
    }

    #[test]
    fn the_state_never_goes_to_the_server_itself() {
        let own: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        assert!(is_self("127.0.0.1:9000".parse().unwrap(), own));
        assert!(is_self("0.0.0.0:9000".parse().unwrap(), own));
        assert!(!is_self("127.0.0.1:9001".parse().unwrap(), own));
        assert!(!is_self("192.168.1.20:9000".parse().unwrap(), own));
        let own: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert!(is_self("127.0.0.1:9000".parse().unwrap(), own));
    }

    #[test]
    fn only_changes_are_sent_between_refreshes() {
        let state = State {
            standby: ("2".into(), "Bow".into()),
            on_air: true,
            level: Some(-20.0),
            clock: 1.0,
            playing: true,
        };
        assert_eq!(state.messages(None).len(), 5);
        let later = State {
            clock: 1.25,
            ..state.clone()
        };
        let changes = later.messages(Some(&state));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].addr, "/ling/state/clock");
        assert!(state.messages(Some(&state)).is_empty());
    }

    #[test]
    fn a_port_in_use_is_reported_and_the_show_goes_on() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, plugin));
        app.insert_resource(RemoteSettings {
            listen: taken.local_addr().unwrap(),
            ..default()
        });
        app.update();
        app.update();
        let status = app.world().resource::<RemoteStatus>();
        assert!(status.listening.is_none());
        assert!(status.error.as_deref().unwrap().contains("cannot listen"));
        assert!(status.summary().contains("not listening"));
    }

    #[test]
    fn a_network_address_needs_allow_network() {
        let start = |allow_network: bool| {
            let mut app = App::new();
            app.add_plugins((MinimalPlugins, ling_core::plugin, plugin));
            app.insert_resource(RemoteSettings {
                listen: "0.0.0.0:0".parse().unwrap(),
                allow_network,
                ..default()
            });
            app.update();
            app.world().resource::<RemoteStatus>().clone()
        };
        let refused = start(false);
        assert!(refused.listening.is_none());
        let error = refused.error.clone().expect("an error says why");
        assert!(
            error.contains("0.0.0.0:0") && error.contains("--allow-network"),
            "{error}"
        );
        let allowed = start(true);
        assert!(
            allowed.listening.is_some_and(|a| a.ip().is_unspecified()),
            "{:?}",
            allowed.listening
        );
        assert!(allowed.error.is_none(), "{:?}", allowed.error);
    }
}
