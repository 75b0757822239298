//! The OSC server's threads: one receives (gate, decode, address table) and hands commands to
//! the app over a channel; one sends the state back from a queue. The app only drains and
//! queues, so nothing a client does (or fails to do) can hold a frame up.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bevy::log::{debug, warn};
use ling_core::show::DirectorCommand;
use rosc::{OscMessage, OscPacket};

use crate::address::command_for;

/// Packets (with their commands) waiting for the app before new ones are dropped.
const QUEUE: usize = 256;
/// State packets waiting to be sent before new ones are dropped.
const OUT_QUEUE: usize = 1024;
/// More messages than this in one packet (bundles nested or not) is malformed.
const MAX_MESSAGES_PER_PACKET: usize = 256;
/// Refusals logged, and distinct dropped senders logged (each once); later ones are only
/// counted.
const MAX_LOGGED_REFUSALS: usize = 16;

/// Whether a packet from `peer` may control the show: it comes from this machine (loopback),
/// or its address is one of `allow`. IPv4 addresses mapped into IPv6 (`::ffff:a.b.c.d`, as a
/// dual-stack socket reports them) count as the IPv4 address.
pub fn admits(peer: IpAddr, allow: &[IpAddr]) -> bool {
    let peer = peer.to_canonical();
    peer.is_loopback() || allow.iter().any(|a| a.to_canonical() == peer)
}

/// What the receiving thread counted (the app adds the commands it refused).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Packets from addresses neither loopback nor allowed: dropped unread.
    pub dropped: AtomicU64,
    /// The last such sender.
    pub last_dropped: Mutex<Option<SocketAddr>>,
    /// Packets that were not OSC, and messages that were refused.
    pub malformed: AtomicU64,
    /// Why the last one was refused, and who sent it.
    pub last_malformed: Mutex<Option<String>>,
    /// Packets queue-dropped because the app had not drained the previous ones.
    pub overflow: AtomicU64,
}

impl Counters {
    /// Counts a refusal and keeps its reason; the first few are logged.
    pub(crate) fn refuse(&self, from: SocketAddr, reason: String) {
        let n = self.malformed.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= MAX_LOGGED_REFUSALS as u64 {
            warn!("remote: refused from {from}: {reason}");
        } else if n == MAX_LOGGED_REFUSALS as u64 + 1 {
            warn!("remote: more refusals are counted, not logged");
        } else {
            debug!("remote: refused from {from}: {reason}");
        }
        if let Ok(mut last) = self.last_malformed.lock() {
            *last = Some(format!("{reason} (from {from})"));
        }
    }
}

/// One packet's worth of valid messages from one client.
#[derive(Debug)]
pub(crate) struct Inbound {
    /// Who sent it (the state goes back there).
    pub from: SocketAddr,
    /// Each valid message's address and the command it asks for (none for a release or a
    /// ping), in the packet's order.
    pub commands: Vec<(String, Option<DirectorCommand>)>,
}

/// A running server. Dropping it stops both threads.
pub(crate) struct Server {
    /// The address it listens on (with the port the system chose, if bound to port 0).
    pub addr: SocketAddr,
    /// Valid packets, oldest first.
    pub inbox: crossbeam_channel::Receiver<Inbound>,
    /// Encoded packets to send, and where.
    outbox: Option<crossbeam_channel::Sender<(SocketAddr, Vec<u8>)>>,
    /// What the receiving thread counted.
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and starts the threads. Packets from addresses that [`admits`] refuses
    /// are dropped before they are decoded.
    pub fn start(addr: SocketAddr, allow: Vec<IpAddr>) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let addr = socket.local_addr()?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let sending = socket.try_clone()?;
        let (tx, inbox) = crossbeam_channel::bounded(QUEUE);
        let (outbox, queued) = crossbeam_channel::bounded::<(SocketAddr, Vec<u8>)>(OUT_QUEUE);
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let receiver = {
            let counters = counters.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("osc-remote {addr}"))
                .spawn(move || receive_loop(socket, allow, tx, counters, stop))?
        };
        // The sender ends when the outbox is dropped.
        let sender = std::thread::Builder::new()
            .name(format!("osc-remote-send {addr}"))
            .spawn(move || {
                for (to, bytes) in queued {
                    if let Err(e) = sending.send_to(&bytes, to) {
                        debug!("remote: state to {to} not sent: {e}");
                    }
                }
            })?;
        Ok(Self {
            addr,
            inbox,
            outbox: Some(outbox),
            counters,
            stop,
            threads: vec![receiver, sender],
        })
    }

    /// Queues a packet for `to`; never waits (a full queue drops it).
    pub fn send(&self, to: SocketAddr, packet: &OscPacket) {
        let Some(outbox) = &self.outbox else { return };
        match rosc::encoder::encode(packet) {
            Ok(bytes) => {
                let _ = outbox.try_send((to, bytes));
            }
            Err(e) => debug!("remote: state not encoded: {e}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.outbox = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn receive_loop(
    socket: UdpSocket,
    allow: Vec<IpAddr>,
    tx: crossbeam_channel::Sender<Inbound>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut logged: HashSet<IpAddr> = HashSet::new();
    while !stop.load(Ordering::SeqCst) {
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(x) => x,
            // Timeouts let the thread see `stop`; other errors (an ICMP error reported on
            // the socket) are the network's, not a reason to stop listening.
            Err(_) => continue,
        };
        if !admits(from.ip(), &allow) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = counters.last_dropped.lock() {
                *last = Some(from);
            }
            if logged.len() < MAX_LOGGED_REFUSALS && logged.insert(from.ip()) {
                warn!(
                    "remote: packets from {} are dropped: not loopback and not in --remote-allow",
                    from.ip()
                );
            }
            continue;
        }
        // Nested too deep, the decoder would overflow this thread's stack: refused unread.
        if !ling_core::net::osc_nesting_within(&buf[..len], ling_core::net::MAX_OSC_NESTING) {
            counters.refuse(
                from,
                format!(
                    "OSC packet nested deeper than {} levels ({len} bytes)",
                    ling_core::net::MAX_OSC_NESTING
                ),
            );
            continue;
        }
        // A bundle cut short decodes up to the cut with bytes left over: refused whole.
        let packet = match rosc::decoder::decode_udp(&buf[..len]) {
            Ok((rest, p)) if rest.is_empty() => p,
            Ok(_) => {
                counters.refuse(from, format!("truncated OSC packet ({len} bytes)"));
                continue;
            }
            Err(e) => {
                counters.refuse(from, format!("not an OSC packet ({len} bytes): {e}"));
                continue;
            }
        };
        let mut messages = Vec::new();
        flatten(packet, &mut messages);
        if messages.len() > MAX_MESSAGES_PER_PACKET {
            counters.refuse(
                from,
                format!("more than {MAX_MESSAGES_PER_PACKET} messages in one packet"),
            );
            continue;
        }
        let mut commands = Vec::new();
        for m in messages {
            match command_for(&m) {
                Ok(command) => commands.push((m.addr, command)),
                Err(reason) => counters.refuse(from, reason),
            }
        }
        if commands.is_empty() {
            continue;
        }
        if let Err(crossbeam_channel::TrySendError::Full(_)) =
            tx.try_send(Inbound { from, commands })
        {
            counters.overflow.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A packet's messages in order, bundles unpacked (nested ones too).
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

#[cfg(test)]
mod tests {
    use super::*;
    use rosc::{OscBundle, OscTime, OscType};

    #[test]
    fn only_loopback_and_allowed_addresses_are_admitted() {
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        let other: IpAddr = "192.168.1.21".parse().unwrap();
        assert!(admits("127.0.0.1".parse().unwrap(), &[]));
        assert!(admits("127.3.2.1".parse().unwrap(), &[]));
        assert!(admits("::1".parse().unwrap(), &[]));
        assert!(!admits(lan, &[]));
        assert!(admits(lan, &[lan]));
        assert!(!admits(other, &[lan]));
        // A dual-stack socket sees IPv4 peers as mapped IPv6 addresses.
        assert!(admits("::ffff:192.168.1.20".parse().unwrap(), &[lan]));
        assert!(admits("::ffff:127.0.0.1".parse().unwrap(), &[]));
        assert!(!admits("::ffff:192.168.1.21".parse().unwrap(), &[lan]));
        assert!(!admits("0.0.0.0".parse().unwrap(), &[]));
    }

    fn encode(packet: OscPacket) -> Vec<u8> {
        rosc::encoder::encode(&packet).unwrap()
    }

    fn message(addr: &str, args: Vec<OscType>) -> OscPacket {
        OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        })
    }

    #[test]
    fn bundles_are_unpacked_and_bad_messages_counted() {
        let server = Server::start("127.0.0.1:0".parse().unwrap(), vec![]).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let bundle = OscPacket::Bundle(OscBundle {
            timetag: OscTime::from((0, 1)),
            content: vec![
                message("/ling/pause", vec![]),
                OscPacket::Bundle(OscBundle {
                    timetag: OscTime::from((0, 1)),
                    content: vec![
                        message("/ling/seek", vec![OscType::Float(5.0)]),
                        message("/ling/nope", vec![]),
                    ],
                }),
                message("/ling/go", vec![OscType::Float(0.0)]),
            ],
        });
        client.send_to(&encode(bundle), server.addr).unwrap();
        let inbound = server.inbox.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(inbound.from, client.local_addr().unwrap());
        assert_eq!(
            inbound.commands,
            vec![
                ("/ling/pause".into(), Some(DirectorCommand::Pause)),
                ("/ling/seek".into(), Some(DirectorCommand::Seek(5.0))),
                ("/ling/go".into(), None),
            ]
        );
        assert_eq!(server.counters.malformed.load(Ordering::Relaxed), 1);
        // Garbage and a truncated packet: counted, nothing handed on, the thread goes on.
        client.send_to(b"hello", server.addr).unwrap();
        let mut cut = encode(message("/ling/seek", vec![OscType::Float(5.0)]));
        cut.truncate(cut.len() - 2);
        client.send_to(&cut, server.addr).unwrap();
        client
            .send_to(&encode(message("/ling/play", vec![])), server.addr)
            .unwrap();
        let inbound = server.inbox.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            inbound.commands,
            vec![("/ling/play".into(), Some(DirectorCommand::Play))]
        );
        assert_eq!(server.counters.malformed.load(Ordering::Relaxed), 3);
        let last = server
            .counters
            .last_malformed
            .lock()
            .unwrap()
            .clone()
            .unwrap();
        assert!(last.contains("OSC packet"), "{last}");
        assert_eq!(server.counters.dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_deepest_packets_that_fit_in_a_datagram_are_refused_and_the_server_goes_on() {
        let server = Server::start("127.0.0.1:0".parse().unwrap(), vec![]).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        for packet in ling_testkit::deepest_osc_packets("/ling/play") {
            assert!(packet.len() <= 65_507, "{}", packet.len());
            client.send_to(&packet, server.addr).unwrap();
        }
        client
            .send_to(&encode(message("/ling/pause", vec![])), server.addr)
            .unwrap();
        let inbound = server.inbox.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            inbound.commands,
            vec![("/ling/pause".into(), Some(DirectorCommand::Pause))]
        );
        assert_eq!(server.counters.malformed.load(Ordering::Relaxed), 2);
    }
}
