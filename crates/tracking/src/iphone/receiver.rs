//! The receiving thread: one UDP socket, one datagram at a time into a bounded buffer; each
//! is parsed by the protocol's reader, and the newest good frame waits for the stage in one
//! slot (a stage slower than the phone's 60 fps wears the newest face, never a queue of old
//! ones). Malformed packets are counted (with the last reason) and dropped. For protocols that
//! ask the phone first, the thread sends the handshake or request from the same socket, so
//! the phone answers to it.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::frame::{FaceFrame, MAX_PACKET, PacketError};
use super::{IphoneProtocol, ifacialmocap, livelink, vtubestudio};

/// How often a VTube Studio request is renewed (each asks for 5 s).
const RENEW: Duration = Duration::from_secs(1);
/// How long without packets before iFacialMocap's handshake is sent again.
const HANDSHAKE_AGAIN: Duration = Duration::from_secs(2);

/// What the thread counts, for the status.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub packets: AtomicU64,
    pub frames: AtomicU64,
    pub malformed: AtomicU64,
    /// Frames a newer one replaced before the stage took them.
    pub superseded: AtomicU64,
    pub last_sender: Mutex<Option<SocketAddr>>,
    pub last_packet: Mutex<Option<Instant>>,
    /// The last malformed packet's sender and reason.
    pub last_malformed: Mutex<Option<String>>,
    /// Why the last handshake or request could not be sent, cleared when one is.
    pub send_error: Mutex<Option<String>>,
}

/// A running receiver (dropped: the thread stops within a tenth of a second).
pub(crate) struct FaceReceiver {
    pub addr: SocketAddr,
    /// The newest good frame and when it arrived, until the stage takes it.
    pub newest: Arc<Mutex<Option<(FaceFrame, Instant)>>>,
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FaceReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Parses one datagram with the protocol's reader.
pub fn parse(protocol: IphoneProtocol, packet: &[u8]) -> Result<FaceFrame, PacketError> {
    match protocol {
        IphoneProtocol::IFacialMocap => ifacialmocap::parse(packet),
        IphoneProtocol::LiveLinkFace => livelink::parse(packet).map(|(_, f)| f),
        IphoneProtocol::VTubeStudio => vtubestudio::parse(packet),
    }
}

impl FaceReceiver {
    /// Binds `listen` and starts the thread; `phone` is where the handshake or request goes.
    pub fn start(
        protocol: IphoneProtocol,
        listen: SocketAddr,
        phone: Option<SocketAddr>,
    ) -> std::io::Result<FaceReceiver> {
        let socket = UdpSocket::bind(listen)?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let addr = socket.local_addr()?;
        let newest = Arc::new(Mutex::new(None));
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stats, stop, tx) = (stats.clone(), stop.clone(), newest.clone());
            std::thread::Builder::new()
                .name(format!("{} receiver", protocol.label()))
                .spawn(move || run(protocol, socket, phone, tx, &stats, &stop))?
        };
        Ok(FaceReceiver {
            addr,
            newest,
            stats,
            stop,
            thread: Some(thread),
        })
    }
}

fn ask_phone(protocol: IphoneProtocol, socket: &UdpSocket, phone: SocketAddr, stats: &Stats) {
    let message = match protocol {
        IphoneProtocol::IFacialMocap => ifacialmocap::HANDSHAKE.to_string(),
        IphoneProtocol::VTubeStudio => {
            vtubestudio::request(socket.local_addr().map(|a| a.port()).unwrap_or(0))
        }
        IphoneProtocol::LiveLinkFace => return,
    };
    let error = socket.send_to(message.as_bytes(), phone).err().map(|e| {
        let local = socket.local_addr().ok();
        // A loopback socket cannot send beyond this machine: say what to do.
        let hint = match local {
            Some(l) if l.ip().is_loopback() && !phone.ip().is_loopback() => format!(
                "; the receiver listens on {l}, which only this machine reaches: give \
                 --iphone-listen 0.0.0.0:{} --allow-network",
                l.port()
            ),
            _ => String::new(),
        };
        format!(
            "cannot reach the phone at {phone} from {}: {e}{hint}",
            local.map_or("?".into(), |a| a.to_string())
        )
    });
    if let Ok(mut slot) = stats.send_error.lock() {
        *slot = error;
    }
}

fn run(
    protocol: IphoneProtocol,
    socket: UdpSocket,
    phone: Option<SocketAddr>,
    newest: Arc<Mutex<Option<(FaceFrame, Instant)>>>,
    stats: &Stats,
    stop: &AtomicBool,
) {
    // One byte more than a packet may hold tells an oversized datagram from a full one.
    let mut buf = vec![0u8; MAX_PACKET + 1];
    let mut asked: Option<Instant> = None;
    let mut last_packet: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        if let Some(phone) = phone {
            let now = Instant::now();
            let due = match protocol {
                IphoneProtocol::VTubeStudio => asked.is_none_or(|t| now - t >= RENEW),
                _ => {
                    asked.is_none_or(|t| now - t >= HANDSHAKE_AGAIN)
                        && last_packet.is_none_or(|t| now - t >= HANDSHAKE_AGAIN)
                }
            };
            if due {
                ask_phone(protocol, &socket, phone, stats);
                asked = Some(now);
            }
        }
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            // Timeouts (and the errors an unreachable phone's ICMP reply leaves on the
            // socket) just go round again.
            Err(_) => continue,
        };
        let now = Instant::now();
        last_packet = Some(now);
        stats.packets.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = stats.last_sender.lock() {
            *s = Some(from);
        }
        if let Ok(mut t) = stats.last_packet.lock() {
            *t = Some(now);
        }
        let parsed = if n > MAX_PACKET {
            Err(PacketError::TooLarge(n))
        } else {
            parse(protocol, &buf[..n])
        };
        match parsed {
            Ok(frame) => {
                stats.frames.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut slot) = newest.lock()
                    && slot.replace((frame, now)).is_some()
                {
                    stats.superseded.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut m) = stats.last_malformed.lock() {
                    *m = Some(format!("{from}: {e}"));
                }
            }
        }
    }
}
