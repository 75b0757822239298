//! The VMC protocol (Virtual Motion Capture; OSC over UDP), the VTuber standard for streaming
//! a performer's pose between applications.
//!
//! The [`VmcReceiver`] listens on its own thread (by default on `127.0.0.1:39539`, VMC's
//! performer port), decodes OSC packets and bundles with `rosc`, and hands complete frames —
//! humanoid bone rotations, hips and root placement, blend-shape weights — to the ECS over a
//! channel. Malformed packets (truncated, wrong argument types, unknown bones, absurd values)
//! are counted and dropped; nothing a sender does can stop the thread or the show.
//!
//! Unity (and therefore VMC) is left-handed with the character facing +Z and its right hand
//! towards +X; Ling Stage is right-handed with the performer facing +Z and her left hand
//! towards +X. Conversion mirrors X, once, on ingest and on send: positions `(-x, y, z)`,
//! rotations `(x, -y, -z, w)`.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::math::{Quat, Vec3};
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};

use super::retarget::unity_name;
use ling_core::signals::{ExpressionWeights, HumanBone, HumanoidPose, Viseme};

/// VMC's default port for the performer (receiving) side. Public as the port a caller
/// listens on when the user names none.
pub const DEFAULT_PORT: u16 = 39539;

/// A position from Unity's left-handed axes to Ling Stage's right-handed ones (and back: the
/// mirror is its own inverse).
pub(crate) fn convert_position(p: Vec3) -> Vec3 {
    Vec3::new(-p.x, p.y, p.z)
}

/// A rotation from Unity's left-handed axes to Ling Stage's right-handed ones (and back: the
/// mirror is its own inverse).
pub fn convert_rotation(q: Quat) -> Quat {
    Quat::from_xyzw(q.x, -q.y, -q.z, q.w)
}

/// Looks up a humanoid bone by its Unity HumanBodyBones name.
pub(crate) fn bone_from_unity(name: &str) -> Option<HumanBone> {
    static TABLE: std::sync::OnceLock<HashMap<String, HumanBone>> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| {
            HumanBone::ALL
                .iter()
                .map(|b| (unity_name(*b), *b))
                .collect()
        })
        .get(name)
        .copied()
}

/// One frame received from a VMC sender.
#[derive(Debug, Clone, Default)]
pub struct VmcFrame {
    /// Local bone rotations (converted), relative to the T-pose.
    pub bones: HashMap<HumanBone, Quat>,
    /// The hips' local position (converted), if sent.
    pub hips: Option<Vec3>,
    /// The avatar root's position and rotation (converted), if sent.
    pub root: Option<(Vec3, Quat)>,
    /// Blend-shape weights by the sender's names, applied together.
    pub blends: Vec<(String, f32)>,
    /// The sender's clock (`/VMC/Ext/T`), if sent.
    pub time: Option<f32>,
    /// When the packet that completed the frame arrived.
    pub received_at: Option<Instant>,
    /// The sender's address.
    pub from: Option<SocketAddr>,
}

impl VmcFrame {
    /// Writes this frame's bones into `pose` (bones not sent keep their value).
    pub fn apply_to(&self, pose: &mut HumanoidPose) {
        for (bone, q) in &self.bones {
            pose.set(*bone, *q);
        }
        if let Some(h) = self.hips {
            pose.hips = h;
        }
    }

    /// Maps blend-shape names onto canonical expressions: VRM 0.x presets (A, I, U, E, O,
    /// Blink, Blink_L, Blink_R, Joy), VRM 1.0 names (aa, ih, ou, ee, oh, blink, happy) and
    /// ARKit names (perfect sync), case-insensitively.
    pub fn apply_blends(&self, expressions: &mut ExpressionWeights) {
        for (name, w) in &self.blends {
            let lower = name.to_ascii_lowercase();
            let viseme = match lower.as_str() {
                "a" | "aa" => Some(Viseme::Aa),
                "i" | "ih" => Some(Viseme::Ih),
                "u" | "ou" => Some(Viseme::Ou),
                "e" | "ee" => Some(Viseme::Ee),
                "o" | "oh" => Some(Viseme::Oh),
                _ => None,
            };
            if let Some(v) = viseme {
                expressions.set_viseme(v, *w);
                continue;
            }
            let names: &[&str] = match lower.as_str() {
                "blink" => &["eyeBlinkLeft", "eyeBlinkRight"],
                "blink_l" | "blinkleft" => &["eyeBlinkLeft"],
                "blink_r" | "blinkright" => &["eyeBlinkRight"],
                "joy" | "happy" | "fun" => &["mouthSmileLeft", "mouthSmileRight"],
                _ => &[],
            };
            if !names.is_empty() {
                for n in names {
                    expressions.set(n, *w);
                }
                continue;
            }
            if let Some(arkit) = ling_core::signals::ARKIT_NAMES
                .iter()
                .find(|n| n.eq_ignore_ascii_case(name))
            {
                expressions.set(arkit, *w);
            }
        }
    }
}

/// Counters of what the receiver saw, for the panel and for tests.
#[derive(Debug, Default)]
pub struct VmcStats {
    /// UDP packets received.
    pub packets: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
    /// Complete frames decoded, including those the queue then dropped.
    pub frames: AtomicU64,
    /// Packets that were not OSC, or messages with the wrong arguments.
    pub malformed: AtomicU64,
    /// Bone messages naming no humanoid bone.
    pub unknown_bones: AtomicU64,
    /// Frames dropped because the ECS had not drained the previous ones (bounded queue).
    pub dropped: AtomicU64,
    /// Who sent the last packet.
    pub last_sender: Mutex<Option<SocketAddr>>,
    /// When the last packet arrived.
    pub last_packet: Mutex<Option<Instant>>,
}

/// A running receiver. Dropping it stops the thread.
pub struct VmcReceiver {
    /// The address it listens on (with the port the system chose, if bound to port 0).
    pub addr: SocketAddr,
    /// Complete frames, oldest first; at most 256 wait before new ones are dropped.
    pub frames: crossbeam_channel::Receiver<VmcFrame>,
    /// What the receiving thread saw.
    pub stats: Arc<VmcStats>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Frames queued between the network thread and the ECS before old ones are dropped.
const QUEUE: usize = 256;
/// A sender's frame count per packet is bounded: more messages than this in one packet is
/// treated as malformed (a real frame has ~60 bones and ~60 blend shapes).
const MAX_MESSAGES_PER_PACKET: usize = 2048;

impl VmcReceiver {
    /// Binds `addr` and starts the receiving thread.
    pub fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let addr = socket.local_addr()?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let stats = Arc::new(VmcStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stats = stats.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("vmc-receiver {addr}"))
                .spawn(move || receive_loop(socket, tx, stats, stop))?
        };
        Ok(Self {
            addr,
            frames: rx,
            stats,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for VmcReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn receive_loop(
    socket: UdpSocket,
    tx: crossbeam_channel::Sender<VmcFrame>,
    stats: Arc<VmcStats>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut pending = VmcFrame::default();
    while !stop.load(Ordering::SeqCst) {
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => continue,
        };
        let now = Instant::now();
        stats.packets.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(len as u64, Ordering::Relaxed);
        if let Ok(mut s) = stats.last_sender.lock() {
            *s = Some(from);
        }
        if let Ok(mut t) = stats.last_packet.lock() {
            *t = Some(now);
        }
        // A packet (usually one bundle) is one frame of a sender's stream.
        if read_packet(&buf[..len], &mut pending, &stats) {
            pending.received_at = Some(now);
            pending.from = Some(from);
            stats.frames.fetch_add(1, Ordering::Relaxed);
            let frame = std::mem::take(&mut pending);
            if let Err(crossbeam_channel::TrySendError::Full(_)) = tx.try_send(frame) {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Decodes one UDP packet into `pending`, the frame being assembled, counting what was wrong
/// with it in `stats`. Returns true when the packet completes a frame (it carried bones or
/// `/VMC/Ext/Blend/Apply`); the caller then takes `pending` away. A packet that is not OSC, is
/// cut short, nests bundles or arrays deeper than [`ling_core::net::MAX_OSC_NESTING`], or
/// carries more than 2 048 messages is counted as malformed and changes nothing.
/// This is what the receiving thread runs on every packet; the fuzzer calls it directly.
pub fn read_packet(bytes: &[u8], pending: &mut VmcFrame, stats: &VmcStats) -> bool {
    // Nested too deep, the decoder would overflow the receiving thread's stack.
    if !ling_core::net::osc_nesting_within(bytes, ling_core::net::MAX_OSC_NESTING) {
        stats.malformed.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    // A bundle whose last element is cut short decodes "successfully" up to the cut, with
    // bytes left over: that is a truncated packet, and it is dropped whole.
    let packet = match rosc::decoder::decode_udp(bytes) {
        Ok((rest, p)) if rest.is_empty() => p,
        _ => {
            stats.malformed.fetch_add(1, Ordering::Relaxed);
            return false;
        }
    };
    let mut messages = Vec::new();
    flatten(packet, &mut messages);
    if messages.len() > MAX_MESSAGES_PER_PACKET {
        stats.malformed.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    let mut complete = false;
    for m in &messages {
        match handle(m, pending, stats) {
            Handled::Body | Handled::Apply => complete = true,
            Handled::Other => {}
        }
    }
    complete
}

fn flatten(packet: OscPacket, out: &mut Vec<OscMessage>) {
    match packet {
        OscPacket::Message(m) => out.push(m),
        OscPacket::Bundle(b) => {
            for p in b.content {
                if out.len() > MAX_MESSAGES_PER_PACKET {
                    return;
                }
                flatten(p, out);
            }
        }
    }
}

enum Handled {
    Body,
    Apply,
    Other,
}

fn floats<const N: usize>(args: &[OscType]) -> Option<[f32; N]> {
    let mut out = [0.0; N];
    for (slot, arg) in out.iter_mut().zip(args) {
        *slot = match arg {
            OscType::Float(f) if f.is_finite() => *f,
            OscType::Double(d) if d.is_finite() => *d as f32,
            _ => return None,
        };
    }
    (args.len() >= N).then_some(out)
}

/// A transform from `s px py pz qx qy qz qw`, converted; `None` if malformed.
fn named_transform(args: &[OscType]) -> Option<(&str, Vec3, Quat)> {
    let OscType::String(name) = args.first()? else {
        return None;
    };
    let [px, py, pz, qx, qy, qz, qw] = floats::<7>(&args[1..])?;
    let q = Quat::from_xyzw(qx, qy, qz, qw);
    let len = q.length();
    if !(0.5..=2.0).contains(&len) || px.abs() > 1e4 || py.abs() > 1e4 || pz.abs() > 1e4 {
        return None;
    }
    Some((
        name,
        convert_position(Vec3::new(px, py, pz)),
        convert_rotation(q / len),
    ))
}

fn handle(m: &OscMessage, frame: &mut VmcFrame, stats: &VmcStats) -> Handled {
    let malformed = || {
        stats.malformed.fetch_add(1, Ordering::Relaxed);
        Handled::Other
    };
    match m.addr.as_str() {
        "/VMC/Ext/Bone/Pos" => match named_transform(&m.args) {
            Some((name, p, q)) => match bone_from_unity(name) {
                Some(bone) => {
                    frame.bones.insert(bone, q);
                    if bone == HumanBone::Hips {
                        frame.hips = Some(p);
                    }
                    Handled::Body
                }
                None => {
                    stats.unknown_bones.fetch_add(1, Ordering::Relaxed);
                    Handled::Other
                }
            },
            None => malformed(),
        },
        "/VMC/Ext/Root/Pos" => match named_transform(&m.args) {
            Some((_, p, q)) => {
                frame.root = Some((p, q));
                Handled::Body
            }
            None => malformed(),
        },
        "/VMC/Ext/Blend/Val" => match (m.args.first(), m.args.get(1)) {
            (Some(OscType::String(name)), Some(OscType::Float(v))) if v.is_finite() => {
                if frame.blends.len() < MAX_MESSAGES_PER_PACKET {
                    frame.blends.push((name.clone(), v.clamp(0.0, 1.0)));
                }
                Handled::Other
            }
            _ => malformed(),
        },
        "/VMC/Ext/Blend/Apply" => Handled::Apply,
        "/VMC/Ext/T" => match m.args.first() {
            Some(OscType::Float(t)) if t.is_finite() => {
                frame.time = Some(*t);
                Handled::Other
            }
            Some(OscType::Double(t)) if t.is_finite() => {
                frame.time = Some(*t as f32);
                Handled::Other
            }
            _ => malformed(),
        },
        "/VMC/Ext/OK" => Handled::Other,
        // Other VMC messages (devices, camera, settings) are not used; not an error.
        _ => Handled::Other,
    }
}

/// Streams poses as VMC to another application (a VTuber app, a recorder, a second stage).
pub struct VmcSender {
    socket: UdpSocket,
    target: SocketAddr,
    started: Instant,
}

impl VmcSender {
    /// A sender to `target`, on a non-blocking socket bound to any local port.
    pub fn new(target: SocketAddr) -> std::io::Result<Self> {
        let bind: SocketAddr = if target.is_ipv4() {
            "0.0.0.0:0".parse().expect("valid")
        } else {
            "[::]:0".parse().expect("valid")
        };
        let socket = UdpSocket::bind(bind)?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket,
            target,
            started: Instant::now(),
        })
    }

    /// Where it sends.
    pub(crate) fn target(&self) -> SocketAddr {
        self.target
    }

    /// One frame as one OSC bundle: root, every bone, blend shapes, apply, OK and time.
    pub fn encode(
        pose: &HumanoidPose,
        root: (Vec3, Quat),
        expressions: &ExpressionWeights,
        time: f32,
    ) -> Vec<u8> {
        let transform = |addr: &str, name: String, p: Vec3, q: Quat| {
            let p = convert_position(p);
            let q = convert_rotation(q);
            OscPacket::Message(OscMessage {
                addr: addr.to_string(),
                args: vec![
                    OscType::String(name),
                    OscType::Float(p.x),
                    OscType::Float(p.y),
                    OscType::Float(p.z),
                    OscType::Float(q.x),
                    OscType::Float(q.y),
                    OscType::Float(q.z),
                    OscType::Float(q.w),
                ],
            })
        };
        let mut content = vec![transform(
            "/VMC/Ext/Root/Pos",
            "root".into(),
            root.0,
            root.1,
        )];
        for &bone in HumanBone::ALL {
            let p = if bone == HumanBone::Hips {
                pose.hips
            } else {
                bone.rest_local_translation()
            };
            content.push(transform(
                "/VMC/Ext/Bone/Pos",
                unity_name(bone),
                p,
                pose.rotation(bone),
            ));
        }
        let mut blend = |name: &str, w: f32| {
            content.push(OscPacket::Message(OscMessage {
                addr: "/VMC/Ext/Blend/Val".into(),
                args: vec![OscType::String(name.into()), OscType::Float(w)],
            }));
        };
        for v in Viseme::ALL {
            blend(&v.name().to_ascii_uppercase()[..1], expressions.viseme(v));
        }
        let left = expressions.get("eyeBlinkLeft").unwrap_or(0.0);
        let right = expressions.get("eyeBlinkRight").unwrap_or(0.0);
        blend("Blink_L", left);
        blend("Blink_R", right);
        let smile = (expressions.get("mouthSmileLeft").unwrap_or(0.0)
            + expressions.get("mouthSmileRight").unwrap_or(0.0))
            / 2.0;
        blend("Joy", smile);
        for (name, w) in ling_core::signals::ARKIT_NAMES
            .iter()
            .zip(expressions.arkit)
        {
            blend(name, w);
        }
        let msg = |addr: &str, args: Vec<OscType>| {
            OscPacket::Message(OscMessage {
                addr: addr.into(),
                args,
            })
        };
        content.push(msg("/VMC/Ext/Blend/Apply", vec![]));
        content.push(msg("/VMC/Ext/OK", vec![OscType::Int(1)]));
        content.push(msg("/VMC/Ext/T", vec![OscType::Float(time)]));
        let bundle = OscPacket::Bundle(OscBundle {
            timetag: OscTime::from((0, 1)),
            content,
        });
        rosc::encoder::encode(&bundle).expect("VMC messages always encode")
    }

    /// Sends one frame; never blocks (a full socket buffer drops the frame).
    pub fn send(
        &self,
        pose: &HumanoidPose,
        root: (Vec3, Quat),
        expressions: &ExpressionWeights,
    ) -> std::io::Result<()> {
        let bytes = Self::encode(
            pose,
            root,
            expressions,
            self.started.elapsed().as_secs_f32(),
        );
        match self.socket.send_to(&bytes, self.target) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for(rx: &crossbeam_channel::Receiver<VmcFrame>) -> VmcFrame {
        rx.recv_timeout(Duration::from_secs(5))
            .expect("a frame arrives")
    }

    #[test]
    fn conversion_is_a_mirror_and_its_own_inverse() {
        let q = Quat::from_euler(bevy::math::EulerRot::YXZ, 0.3, -0.2, 0.9);
        assert!(convert_rotation(convert_rotation(q)).dot(q) > 0.999_999);
        // A Unity character raising its right arm (towards +X there) raises the arm on our -X.
        let unity_right_hand = Vec3::new(0.7, 1.4, 0.0);
        assert!(convert_position(unity_right_hand).x < 0.0);
        // Rotations act consistently: mirror(q) · mirror(v) = mirror(q · v).
        let v = Vec3::new(0.2, 0.5, -0.7);
        let lhs = convert_rotation(q) * convert_position(v);
        let rhs = convert_position(q * v);
        assert!(lhs.distance(rhs) < 1e-5);
    }

    #[test]
    fn sender_and_receiver_agree() {
        let rx = VmcReceiver::start("127.0.0.1:0".parse().unwrap()).unwrap();
        let tx = VmcSender::new(rx.addr).unwrap();
        let mut pose = HumanoidPose::default();
        pose.set(HumanBone::LeftUpperArm, Quat::from_rotation_z(-1.0));
        pose.set(HumanBone::Head, Quat::from_rotation_y(0.4));
        pose.hips = Vec3::new(0.1, 0.9, -0.05);
        let mut e = ExpressionWeights::default();
        e.set("eyeBlinkLeft", 1.0);
        e.set_viseme(Viseme::Oh, 0.6);
        tx.send(&pose, (Vec3::ZERO, Quat::IDENTITY), &e).unwrap();
        let frame = wait_for(&rx.frames);
        let mut got = HumanoidPose::default();
        frame.apply_to(&mut got);
        for &b in HumanBone::ALL {
            assert!(
                got.rotation(b).dot(pose.rotation(b)).abs() > 0.999_99,
                "{}",
                b.name()
            );
        }
        assert!(got.hips.distance(pose.hips) < 1e-6);
        let mut back = ExpressionWeights::default();
        frame.apply_blends(&mut back);
        assert_eq!(back.get("eyeBlinkLeft"), Some(1.0));
        assert!((back.viseme(Viseme::Oh) - 0.6).abs() < 1e-6);
        assert_eq!(rx.stats.malformed.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn malformed_packets_are_counted_and_dropped() {
        let rx = VmcReceiver::start("127.0.0.1:0".parse().unwrap()).unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let good = VmcSender::encode(
            &HumanoidPose::default(),
            (Vec3::ZERO, Quat::IDENTITY),
            &ExpressionWeights::default(),
            0.0,
        );
        let msg = |addr: &str, args: Vec<OscType>| {
            rosc::encoder::encode(&OscPacket::Message(OscMessage {
                addr: addr.into(),
                args,
            }))
            .unwrap()
        };
        let bad: Vec<Vec<u8>> = vec![
            good[..good.len() / 2].to_vec(),                 // truncated bundle
            b"not osc at all".to_vec(),                      // garbage
            vec![],                                          // empty datagram
            msg("/VMC/Ext/Bone/Pos", vec![OscType::Int(3)]), // wrong types
            msg(
                "/VMC/Ext/Bone/Pos",
                vec![OscType::String("Hips".into()), OscType::Float(0.0)],
            ), // too few
            msg(
                "/VMC/Ext/Bone/Pos",
                vec![
                    OscType::String("Hips".into()),
                    OscType::Float(f32::NAN),
                    OscType::Float(0.0),
                    OscType::Float(0.0),
                    OscType::Float(0.0),
                    OscType::Float(0.0),
                    OscType::Float(0.0),
                    OscType::Float(1.0),
                ],
            ),
            msg("/VMC/Ext/Blend/Val", vec![OscType::Int(1), OscType::Int(2)]),
        ];
        for b in &bad {
            sock.send_to(b, rx.addr).unwrap();
        }
        let unknown = msg(
            "/VMC/Ext/Bone/Pos",
            [
                vec![OscType::String("LeftTail".into())],
                vec![OscType::Float(0.0); 6],
                vec![OscType::Float(1.0)],
            ]
            .concat(),
        );
        sock.send_to(&unknown, rx.addr).unwrap();
        // A bundle claiming far more messages than any frame has.
        let huge = OscPacket::Bundle(OscBundle {
            timetag: OscTime::from((0, 1)),
            content: vec![
                OscPacket::Message(OscMessage {
                    addr: "/VMC/Ext/OK".into(),
                    args: vec![]
                });
                2500
            ],
        });
        sock.send_to(&rosc::encoder::encode(&huge).unwrap(), rx.addr)
            .unwrap();
        sock.send_to(&good, rx.addr).unwrap();
        let frame = wait_for(&rx.frames);
        assert_eq!(
            frame.bones.len(),
            HumanBone::COUNT,
            "the good frame still gets through"
        );
        let malformed = rx.stats.malformed.load(Ordering::Relaxed);
        assert!(malformed >= 7, "malformed counted: {malformed}");
        assert_eq!(rx.stats.unknown_bones.load(Ordering::Relaxed), 1);
        assert_eq!(
            rx.stats.packets.load(Ordering::Relaxed),
            bad.len() as u64 + 3
        );
    }
}
