//! iPhone face capture: receivers for the apps iPhone VTubers use — iFacialMocap (text over
//! UDP), Live Link Face (Unreal's binary LiveLink packet) and VTube Studio's tracking for
//! third-party PC clients (JSON over UDP, on request) — and Live Link Face's recorded CSV
//! takes. Each gives ARKit's 52 blend shapes, which are the performer's expression weights as
//! they are, and the head's and eyes' turn, which become her head and gaze.
//!
//! A receiver thread reads one datagram at a time (at most [`frame::MAX_PACKET`] bytes),
//! parses it and keeps the newest good frame; malformed ones are counted and dropped. In the ingest
//! phase the newest frame becomes the held face; in the blend phase (after lip sync, like
//! webcam tracking) the held face drives the performer, holds for 0.5 s when frames stop, then
//! eases back to the show's own face over a second. [`IphoneStatus`] says how it goes, for the
//! panel. A receiver listens on loopback unless the user allows the network
//! (`--allow-network`), which a phone on Wi-Fi needs.
//!
//! The parsers are plain functions over bytes ([`ifacialmocap::parse`], [`livelink::parse`],
//! [`vtubestudio::parse`], [`csv::FaceTake::parse`]).
//!
//! Axes: the head's yaw is towards the performer's left, pitch up, roll as webcam tracking's.
//! The apps do not document their rotation signs; the readers follow what public receivers
//! assume (iFacialMocap's `-ry, -rx, rz` is VTube Studio's `y, x, z`; Live Link's yaw, pitch
//! and roll as they are, in radians), unverified against a phone.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use ling_core::show::ShowClock;
use ling_core::signals::{ExpressionWeights, HumanBone, HumanoidPose, Performer};

pub mod csv;
pub mod frame;
pub mod ifacialmocap;
pub mod livelink;
mod receiver;
pub mod vtubestudio;

pub use csv::FaceTake;
pub use frame::{FaceFrame, PacketError};
pub use receiver::parse;

use receiver::FaceReceiver;

/// Signals hold fully this long after the last frame, then ease out over [`EASE_OUT`] (as
/// webcam tracking does).
const HOLD: Duration = Duration::from_millis(500);
const EASE_OUT: Duration = Duration::from_secs(1);

/// The phone app a receiver speaks with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IphoneProtocol {
    /// iFacialMocap: text over UDP, port 49983.
    IFacialMocap,
    /// Epic's Live Link Face: Unreal's LiveLink packet over UDP, port 11111.
    LiveLinkFace,
    /// VTube Studio's iPhone app, "3rd Party PC Clients": JSON over UDP on request.
    VTubeStudio,
}

impl IphoneProtocol {
    /// The app's name.
    pub fn label(self) -> &'static str {
        match self {
            IphoneProtocol::IFacialMocap => "iFacialMocap",
            IphoneProtocol::LiveLinkFace => "Live Link Face",
            IphoneProtocol::VTubeStudio => "VTube Studio",
        }
    }

    /// Where the receiver listens unless told: loopback, on the app's port.
    pub fn default_listen(self) -> SocketAddr {
        let port = match self {
            IphoneProtocol::IFacialMocap => ifacialmocap::PORT,
            IphoneProtocol::LiveLinkFace => livelink::PORT,
            IphoneProtocol::VTubeStudio => vtubestudio::PORT,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// The phone's port, for a phone address given without one.
    fn phone_port(self) -> u16 {
        match self {
            IphoneProtocol::VTubeStudio => vtubestudio::PHONE_PORT,
            _ => ifacialmocap::PORT,
        }
    }
}

/// What `--iphone` asks for: `ifacialmocap[=PHONE]`, `livelinkface` or
/// `vtubestudio=PHONE`, PHONE an IP address with or without a port.
#[derive(Debug, Clone, PartialEq)]
pub struct IphoneRequest {
    /// The app.
    pub protocol: IphoneProtocol,
    /// Where the handshake (iFacialMocap) or the request (VTube Studio) goes.
    pub phone: Option<SocketAddr>,
}

impl FromStr for IphoneRequest {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, phone) = match s.split_once('=') {
            Some((n, p)) => (n, Some(p)),
            None => (s, None),
        };
        let protocol = match name
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "ifacialmocap" | "ifm" => IphoneProtocol::IFacialMocap,
            "livelinkface" | "livelink" | "llf" => IphoneProtocol::LiveLinkFace,
            "vtubestudio" | "vts" => IphoneProtocol::VTubeStudio,
            _ => {
                return Err(format!(
                    "{name:?} is not an iPhone app this stage receives: ifacialmocap, livelinkface or vtubestudio"
                ));
            }
        };
        let phone = phone
            .map(|p| {
                p.parse::<SocketAddr>()
                    .or_else(|_| {
                        p.parse::<std::net::IpAddr>()
                            .map(|ip| SocketAddr::new(ip, protocol.phone_port()))
                    })
                    .map_err(|_| {
                        format!(
                            "{p:?} is not the phone's address (an IP like 192.168.1.20, or IP:PORT)"
                        )
                    })
            })
            .transpose()?;
        match (protocol, phone) {
            (IphoneProtocol::VTubeStudio, None) => Err(
                "vtubestudio needs the phone's address to ask it for data: vtubestudio=192.168.1.20 (shown in the app's settings)".into(),
            ),
            (IphoneProtocol::LiveLinkFace, Some(_)) => Err(
                "Live Link Face sends to the address set in the app; give --iphone livelinkface without a phone address".into(),
            ),
            _ => Ok(IphoneRequest { protocol, phone }),
        }
    }
}

/// iPhone face capture asked for on the command line or by a test.
#[derive(Resource, Debug, Clone, Default)]
pub struct IphoneSettings {
    /// The receiver, if any.
    pub request: Option<IphoneRequest>,
    /// Where to listen; the protocol's port on loopback when not given.
    pub listen: Option<SocketAddr>,
    /// Whether `listen` may be beyond loopback (the user's `--allow-network`).
    pub allow_network: bool,
    /// A Live Link Face CSV take to play as the face on the show clock.
    pub face_csv: Option<PathBuf>,
}

/// How iPhone face capture goes, for the panel and tests.
#[derive(Resource, Debug, Clone, Default)]
pub struct IphoneStatus {
    /// The app received from, once a receiver runs.
    pub protocol: Option<IphoneProtocol>,
    /// The address the receiver is bound to.
    pub listening: Option<SocketAddr>,
    /// Where the handshake or request goes.
    pub phone: Option<SocketAddr>,
    /// Why the receiver (or the face take) could not start.
    pub error: Option<String>,
    /// Why the handshake or request cannot reach the phone, while it cannot.
    pub phone_error: Option<String>,
    /// Packets received per second, over the last second or so.
    pub packets_per_second: f32,
    /// Time since the last packet.
    pub last_packet_age: Option<Duration>,
    /// Who sent the last packet.
    pub sender: Option<SocketAddr>,
    /// Good frames so far.
    pub frames: u64,
    /// Malformed packets dropped so far, and the last one's sender and reason.
    pub malformed: u64,
    /// The last malformed packet: its sender and what was wrong.
    pub last_malformed: Option<String>,
    /// Frames a newer one replaced before the stage took them (the stage ran slower than
    /// the phone).
    pub superseded: u64,
    /// Whether the phone sees a face (in the last frame).
    pub face_found: bool,
    /// How much the phone drives the performer now (0..=1).
    pub weight: f32,
    /// The face take played, if any: its file, frames and length.
    pub take: Option<String>,
}

#[derive(Resource)]
struct IphoneInput {
    receiver: FaceReceiver,
    /// The newest face and when it arrived.
    held: Option<(FaceFrame, Instant)>,
    rate_window: (Instant, u64),
}

#[derive(Resource)]
struct FaceTakePlayer(FaceTake);

/// Starts what [`IphoneSettings`] asks for and puts the face on the performer.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<IphoneStatus>()
        .add_systems(Startup, start_iphone)
        .add_systems(
            Update,
            (
                drain_iphone
                    .in_set(ling_core::AppSystems::Ingest)
                    .run_if(resource_exists::<IphoneInput>),
                (
                    play_face_take.run_if(resource_exists::<FaceTakePlayer>),
                    wear_iphone,
                )
                    .chain()
                    .in_set(ling_core::AppSystems::Blend)
                    .after(ling_core::LipSync)
                    .before(ling_core::Reactions),
            ),
        );
}

fn start_iphone(
    mut commands: Commands,
    settings: Option<Res<IphoneSettings>>,
    mut status: ResMut<IphoneStatus>,
) {
    let Some(settings) = settings else { return };
    if let Some(path) = &settings.face_csv {
        match FaceTake::load(path) {
            Ok(take) => {
                let line = format!(
                    "{}: {} frames, {:.1} s",
                    path.display(),
                    take.frames.len(),
                    take.duration()
                );
                info!("face take {line}");
                status.take = Some(line);
                commands.insert_resource(FaceTakePlayer(take));
            }
            Err(e) => {
                error!("face take: {e}; the show goes on without it");
                status.error = Some(e.to_string());
            }
        }
    }
    let Some(request) = &settings.request else {
        return;
    };
    let label = request.protocol.label();
    let listen = settings
        .listen
        .unwrap_or_else(|| request.protocol.default_listen());
    status.protocol = Some(request.protocol);
    status.phone = request.phone;
    let started = match ling_core::net::check_listen(label, listen, settings.allow_network) {
        Ok(()) => FaceReceiver::start(request.protocol, listen, request.phone).map_err(|e| {
            format!("cannot listen for {label} on {listen}: {e} (is another app using the port?)")
        }),
        Err(refused) => Err(refused.to_string()),
    };
    match started {
        Ok(receiver) => {
            info!(
                "{label}: listening on {}{}",
                receiver.addr,
                request
                    .phone
                    .map(|p| format!(", asking the phone at {p}"))
                    .unwrap_or_default()
            );
            status.listening = Some(receiver.addr);
            commands.insert_resource(IphoneInput {
                receiver,
                held: None,
                rate_window: (Instant::now(), 0),
            });
        }
        Err(message) => {
            error!("{message}; the show goes on without iPhone face capture");
            status.error = Some(message);
        }
    }
}

/// Takes the newest frame the receiver queued and brings the status up to date.
fn drain_iphone(mut input: ResMut<IphoneInput>, mut status: ResMut<IphoneStatus>) {
    let now = Instant::now();
    let newest = input.receiver.newest.lock().ok().and_then(|mut n| n.take());
    if let Some((frame, at)) = newest {
        status.face_found = frame.face_found;
        // A frame without a face is not a face to hold: the last one holds, then eases out.
        if frame.face_found && !frame.is_empty() {
            input.held = Some((frame, at));
        }
    }
    let stats = input.receiver.stats.clone();
    let packets = stats.packets.load(Ordering::Relaxed);
    let (since, count) = input.rate_window;
    let window = now.saturating_duration_since(since).as_secs_f32();
    if window >= 1.0 {
        status.packets_per_second = (packets - count) as f32 / window;
        input.rate_window = (now, packets);
    }
    status.frames = stats.frames.load(Ordering::Relaxed);
    status.malformed = stats.malformed.load(Ordering::Relaxed);
    status.superseded = stats.superseded.load(Ordering::Relaxed);
    status.sender = stats.last_sender.lock().ok().and_then(|s| *s);
    status.last_packet_age = stats
        .last_packet
        .lock()
        .ok()
        .and_then(|t| *t)
        .map(|t| now.saturating_duration_since(t));
    status.last_malformed = stats.last_malformed.lock().ok().and_then(|m| m.clone());
    status.phone_error = stats.send_error.lock().ok().and_then(|m| m.clone());
    status.weight = input
        .held
        .as_ref()
        .map_or(0.0, |(_, at)| hold_weight(*at, now));
}

/// How much a face received at `at` still drives the performer at `now`.
fn hold_weight(at: Instant, now: Instant) -> f32 {
    let age = now.saturating_duration_since(at);
    if age <= HOLD {
        1.0
    } else {
        1.0 - ((age - HOLD).as_secs_f32() / EASE_OUT.as_secs_f32()).min(1.0)
    }
}

fn wear(
    face: &FaceFrame,
    share: f32,
    performers: &mut Query<(&mut ExpressionWeights, &mut HumanoidPose), With<Performer>>,
) {
    let turn = face.head_turn();
    for (mut expressions, mut pose) in performers.iter_mut() {
        face.wear_weights(&mut expressions, share);
        if let Some(turn) = turn {
            let i = HumanBone::Head.index();
            pose.rotations[i] *= Quat::IDENTITY.slerp(turn, share);
        }
    }
}

/// Plays the face take on the show clock: the face of the moment, fully, while it lasts.
fn play_face_take(
    take: Res<FaceTakePlayer>,
    clock: Res<ShowClock>,
    mut performers: Query<(&mut ExpressionWeights, &mut HumanoidPose), With<Performer>>,
) {
    if let Some(face) = take.0.at(clock.time) {
        wear(face, 1.0, &mut performers);
    }
}

/// Puts the held phone face on the performers, as strong as its age allows.
fn wear_iphone(
    input: Option<Res<IphoneInput>>,
    mut performers: Query<(&mut ExpressionWeights, &mut HumanoidPose), With<Performer>>,
) {
    let Some((face, at)) = input.as_ref().and_then(|i| i.held.as_ref()) else {
        return;
    };
    let w = hold_weight(*at, Instant::now());
    if w > 0.0 {
        wear(face, w, &mut performers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_an_app_and_its_phone() {
        let r: IphoneRequest = "ifacialmocap".parse().unwrap();
        assert_eq!((r.protocol, r.phone), (IphoneProtocol::IFacialMocap, None));
        let r: IphoneRequest = "iFacialMocap=192.168.1.20".parse().unwrap();
        assert_eq!(r.phone, Some("192.168.1.20:49983".parse().unwrap()));
        let r: IphoneRequest = "vtubestudio=10.0.0.5".parse().unwrap();
        assert_eq!(r.phone, Some("10.0.0.5:21412".parse().unwrap()));
        let r: IphoneRequest = "vts=10.0.0.5:30000".parse().unwrap();
        assert_eq!(r.phone, Some("10.0.0.5:30000".parse().unwrap()));
        let r: IphoneRequest = "live-link-face".parse().unwrap();
        assert_eq!(r.protocol, IphoneProtocol::LiveLinkFace);
        for (bad, says) in [
            ("facecap", "not an iPhone app"),
            ("vtubestudio", "needs the phone's address"),
            ("ifacialmocap=phone", "not the phone's address"),
            ("livelinkface=10.0.0.5", "without a phone address"),
        ] {
            let e = bad.parse::<IphoneRequest>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    /// A headless app with the plugin and one performer.
    fn app(settings: IphoneSettings) -> (App, Entity) {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, plugin))
            .insert_resource(settings)
            // The show's motion, which writes her pose afresh every frame.
            .add_systems(
                Update,
                (|mut poses: Query<&mut HumanoidPose>| {
                    for mut p in &mut poses {
                        *p = HumanoidPose::default();
                    }
                })
                .in_set(ling_core::AppSystems::Ingest),
            );
        let performer = app
            .world_mut()
            .spawn((
                Performer {
                    name: "test".into(),
                    bones: Vec::new(),
                },
                ExpressionWeights::default(),
                HumanoidPose::default(),
            ))
            .id();
        app.update();
        (app, performer)
    }

    fn send_until(
        app: &mut App,
        to: SocketAddr,
        packet: &[u8],
        mut done: impl FnMut(&App) -> bool,
    ) -> bool {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            socket.send_to(packet, to).unwrap();
            std::thread::sleep(Duration::from_millis(15));
            app.update();
            if done(app) {
                return true;
            }
        }
        false
    }

    /// Frames drive the face and head; malformed packets are counted, not worn; when frames
    /// stop the face holds, then eases back to the show's own.
    #[test]
    fn live_link_frames_drive_the_face_then_hold_and_ease_out() {
        let (mut app, performer) = app(IphoneSettings {
            request: Some("livelinkface".parse().unwrap()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..default()
        });
        let addr = app.world().resource::<IphoneStatus>().listening.unwrap();
        let jaw = |app: &App| {
            app.world()
                .get::<ExpressionWeights>(performer)
                .unwrap()
                .arkit[17]
        };
        let mut packet = vec![6u8, 0, 0, 0, 0, 0, 0, 0, 0];
        packet.extend([0; 16]);
        packet.push(61);
        for i in 0..61 {
            let v: f32 = match i {
                17 => 0.75,
                52 => 20f32.to_radians(),
                _ => 0.0,
            };
            packet.extend(v.to_be_bytes());
        }
        assert!(send_until(&mut app, addr, &packet, |app| jaw(app) > 0.74));
        let head = app
            .world()
            .get::<HumanoidPose>(performer)
            .unwrap()
            .rotations[HumanBone::Head.index()];
        let (yaw, _, _) = head.to_euler(EulerRot::YXZ);
        assert!(
            (yaw.to_degrees() - 20.0).abs() < 0.5,
            "{}",
            yaw.to_degrees()
        );
        // Garbage is counted and changes nothing.
        assert!(send_until(&mut app, addr, b"not a face", |app| {
            app.world().resource::<IphoneStatus>().malformed >= 3
        }));
        let status = app.world().resource::<IphoneStatus>().clone();
        assert!(status.frames > 0 && status.sender.is_some(), "{status:?}");
        assert!(status.last_malformed.unwrap().contains("packet version"));
        assert!(jaw(&app) > 0.74, "held while packets are bad");
        // Nothing more: held, then eased out. (Nothing else writes the face in this app, so
        // easing out leaves the last value; the weight says how much the phone drives.)
        let stop = Instant::now();
        while stop.elapsed() < Duration::from_millis(1800) {
            std::thread::sleep(Duration::from_millis(20));
            app.update();
            let w = app.world().resource::<IphoneStatus>().weight;
            if stop.elapsed() < Duration::from_millis(400) {
                assert_eq!(w, 1.0, "holds");
            }
        }
        assert_eq!(app.world().resource::<IphoneStatus>().weight, 0.0);
    }

    /// VTube Studio's request goes to the phone and is renewed every second; a phone the
    /// loopback receiver cannot reach is reported with what to do.
    #[test]
    fn the_vtube_studio_request_is_renewed_and_an_unreachable_phone_is_reported() {
        let phone = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        phone
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let (mut app, _) = app(IphoneSettings {
            request: Some(
                format!("vtubestudio={}", phone.local_addr().unwrap())
                    .parse()
                    .unwrap(),
            ),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..default()
        });
        let listening = app.world().resource::<IphoneStatus>().listening.unwrap();
        let start = Instant::now();
        let mut requests = Vec::new();
        let mut buf = [0u8; 1024];
        while start.elapsed() < Duration::from_millis(2600) {
            app.update();
            if let Ok((n, from)) = phone.recv_from(&mut buf) {
                assert_eq!(from, listening, "asked from the receiving socket");
                requests.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        assert!((3..=4).contains(&requests.len()), "{requests:?}");
        assert!(requests[0].contains(&format!("\"ports\":[{}]", listening.port())));

        drop(app);
        let (mut app, _) = self::tests::app(IphoneSettings {
            request: Some("vtubestudio=192.0.2.7".parse().unwrap()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..default()
        });
        let start = Instant::now();
        while app.world().resource::<IphoneStatus>().phone_error.is_none()
            && start.elapsed() < Duration::from_secs(3)
        {
            std::thread::sleep(Duration::from_millis(20));
            app.update();
        }
        let error = app.world().resource::<IphoneStatus>().phone_error.clone();
        let error = error.expect("the unreachable phone is reported");
        assert!(
            error.contains("192.0.2.7:21412") && error.contains("--allow-network"),
            "{error}"
        );
    }

    /// A stage slower than the phone wears the newest frame, not the oldest waiting.
    #[test]
    fn a_slow_stage_wears_the_newest_frame() {
        let (mut app, performer) = app(IphoneSettings {
            request: Some("livelinkface".parse().unwrap()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..default()
        });
        let addr = app.world().resource::<IphoneStatus>().listening.unwrap();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // 50 at once: more could overflow the socket's receive buffer.
        for i in 1..=50 {
            let mut packet = vec![6u8, 0, 0, 0, 0, 0, 0, 0, 0];
            packet.extend([0; 16]);
            packet.push(52);
            for k in 0..52 {
                let v: f32 = if k == 17 { i as f32 / 50.0 } else { 0.0 };
                packet.extend(v.to_be_bytes());
            }
            socket.send_to(&packet, addr).unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
        app.update();
        let jaw = app
            .world()
            .get::<ExpressionWeights>(performer)
            .unwrap()
            .arkit[17];
        assert_eq!(jaw, 1.0, "the last frame sent");
        let status = app.world().resource::<IphoneStatus>();
        assert_eq!(status.frames, 50);
        assert_eq!(status.superseded, 49);
    }

    #[test]
    fn a_network_address_is_refused_without_allow_network() {
        let start = |allow_network: bool| {
            let (app, _) = app(IphoneSettings {
                request: Some("ifacialmocap".parse().unwrap()),
                listen: Some("0.0.0.0:0".parse().unwrap()),
                allow_network,
                ..default()
            });
            app.world().resource::<IphoneStatus>().clone()
        };
        let refused = start(false);
        assert_eq!(refused.listening, None);
        let error = refused.error.expect("an error says why");
        assert!(
            error.contains("0.0.0.0:0") && error.contains("--allow-network"),
            "{error}"
        );
        let allowed = start(true);
        assert!(allowed.listening.is_some_and(|a| a.ip().is_unspecified()));
    }

    #[test]
    fn a_face_take_plays_on_the_show_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("take_iPhone.csv");
        std::fs::write(
            &path,
            csv::tests::llf_take(&[
                ("00:00:10:00.000", 0.2, 0.0),
                ("00:00:10:29.000", 0.8, 0.5),
                ("00:00:11:00.000", 0.9, 0.5),
            ]),
        )
        .unwrap();
        let (mut app, performer) = app(IphoneSettings {
            face_csv: Some(path),
            ..default()
        });
        let status = app.world().resource::<IphoneStatus>().clone();
        assert!(status.take.unwrap().contains("3 frames, 1.0 s"));
        app.world_mut().resource_mut::<ShowClock>().time = 0.98;
        app.world_mut().resource_mut::<ShowClock>().playing = false;
        app.update();
        let e = app.world().get::<ExpressionWeights>(performer).unwrap();
        assert_eq!(e.arkit[17], 0.8);
    }
}
