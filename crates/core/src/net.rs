//! Network listeners (the VMC receiver, the OSC remote): loopback unless the user asks for
//! more, and packets no deeper than [`MAX_OSC_NESTING`].
//!
//! A listener bound to a loopback address (`127.0.0.1`, `::1`) is reachable only from this
//! machine. Any other address (`0.0.0.0`, a LAN address) lets other machines send to it, so it
//! needs the user's explicit consent (`--allow-network` on the command line), and when it is
//! given the listener says in the log where it listens.

use std::net::SocketAddr;

/// A listener asked to bind beyond this machine without the user's consent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what}: {addr} is not a loopback address, so other machines could send to it; \
     add --allow-network to listen on the network, or use 127.0.0.1"
)]
pub struct NetworkBindRefused {
    /// What wanted to listen ("VMC", "remote").
    pub what: String,
    /// The address it was asked to bind.
    pub addr: SocketAddr,
}

/// Whether `addr` is reachable only from this machine. IPv4 addresses mapped into IPv6
/// (`::ffff:127.0.0.1`) count as the IPv4 address.
pub fn is_local_only(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// Checks a listener's address before it binds: loopback is always fine; anything else only
/// with `allow_network` (the user's `--allow-network`), and then it is logged as a warning
/// naming the address, so a show reachable from the network never goes unnoticed.
pub fn check_listen(
    what: &str,
    addr: SocketAddr,
    allow_network: bool,
) -> Result<(), NetworkBindRefused> {
    if is_local_only(addr) {
        return Ok(());
    }
    if !allow_network {
        return Err(NetworkBindRefused {
            what: what.into(),
            addr,
        });
    }
    bevy::log::warn!(
        "{what}: listening on {addr}, reachable from the network (--allow-network); \
         anyone who can reach this machine can send to it"
    );
    Ok(())
}

/// The deepest nesting a listener accepts in an OSC packet: bundles inside bundles, and
/// arrays inside arrays. Real senders (VMC apps, TouchOSC, Companion) nest one bundle deep.
pub const MAX_OSC_NESTING: usize = 8;

/// Whether an OSC packet nests bundles, and arrays in its messages' type tags, no deeper than
/// `max` levels. The OSC decoder (rosc) builds and drops nested packets recursively, so one
/// 64 KiB datagram of nested bundles or `[[[…]]]` type tags overflows the receiving thread's
/// stack and aborts the show; listeners refuse such packets before decoding them. A packet
/// that is not well-formed OSC passes here (the decoder then refuses it).
pub fn osc_nesting_within(bytes: &[u8], max: usize) -> bool {
    nesting_within(bytes, 0, max)
}

fn nesting_within(bytes: &[u8], depth: usize, max: usize) -> bool {
    if let Some(rest) = bytes.strip_prefix(b"#bundle\0") {
        if depth >= max {
            return false;
        }
        // The time tag, then elements: a big-endian size and that many bytes.
        let mut rest = rest.get(8..).unwrap_or_default();
        while let Some((size, tail)) = rest.split_first_chunk::<4>() {
            let size = u32::from_be_bytes(*size) as usize;
            let Some(element) = tail.get(..size) else {
                return true;
            };
            if !nesting_within(element, depth + 1, max) {
                return false;
            }
            rest = &tail[size..];
        }
        return true;
    }
    // A message: its address (NUL-terminated, padded to 4 bytes), then its type tags.
    let Some(end) = bytes.iter().position(|&b| b == 0) else {
        return true;
    };
    let tags = bytes.get((end + 4) & !3..).unwrap_or_default();
    let mut open = 0usize;
    for &tag in tags.iter().take_while(|&&b| b != 0) {
        match tag {
            b'[' => {
                open += 1;
                if open > max {
                    return false;
                }
            }
            b']' => open = open.saturating_sub(1),
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/a` with the type tags `tags` (no arguments: the scan reads only the tags).
    fn message(tags: &str) -> Vec<u8> {
        let mut bytes = b"/a\0\0".to_vec();
        bytes.extend_from_slice(tags.as_bytes());
        bytes.push(0);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    }

    fn bundle(inner: &[u8]) -> Vec<u8> {
        let mut bytes = b"#bundle\0".to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        bytes.extend_from_slice(&(inner.len() as u32).to_be_bytes());
        bytes.extend_from_slice(inner);
        bytes
    }

    #[test]
    fn nesting_is_bounded_for_bundles_and_arrays() {
        assert!(osc_nesting_within(&message(",fff"), 2));
        assert!(osc_nesting_within(&message(",[[f]]"), 2));
        assert!(!osc_nesting_within(&message(",[[[f]]]"), 2));
        // Arrays side by side are not nested.
        assert!(osc_nesting_within(&message(",[f][f][f][f]"), 1));
        let mut packet = message(",f");
        for levels in 1..=4 {
            packet = bundle(&packet);
            assert_eq!(
                osc_nesting_within(&packet, 3),
                levels <= 3,
                "{levels} bundles"
            );
        }
        // A bundle of two elements, the second too deep.
        let mut two = bundle(&message(",f"));
        let deep = bundle(&bundle(&message(",f")));
        two.extend_from_slice(&(deep.len() as u32).to_be_bytes());
        two.extend_from_slice(&deep);
        assert!(osc_nesting_within(&two, 3));
        assert!(!osc_nesting_within(&two, 2));
        // Not OSC, or cut short: left to the decoder.
        let cut = bundle(b"");
        for junk in [
            &b""[..],
            b"hello",
            b"#bundle\0\0\0",
            b"/a\0\0,[[[",
            &cut[..18],
        ] {
            assert!(osc_nesting_within(junk, 8), "{junk:?}");
        }
    }

    #[test]
    fn loopback_is_always_allowed_and_other_addresses_need_consent() {
        for ok in [
            "127.0.0.1:9000",
            "127.1.2.3:1",
            "[::1]:9000",
            "[::ffff:127.0.0.1]:9000",
        ] {
            let addr: SocketAddr = ok.parse().unwrap();
            assert!(is_local_only(addr), "{ok}");
            assert_eq!(check_listen("remote", addr, false), Ok(()), "{ok}");
        }
        for public in [
            "0.0.0.0:9000",
            "192.168.1.20:39539",
            "[::]:9000",
            "[::ffff:10.0.0.1]:9000",
        ] {
            let addr: SocketAddr = public.parse().unwrap();
            assert!(!is_local_only(addr), "{public}");
            let refused = check_listen("VMC", addr, false).unwrap_err();
            let message = refused.to_string();
            assert!(
                message.starts_with(&format!("VMC: {addr} is not a loopback address"))
                    && message.contains("--allow-network"),
                "{message}"
            );
            assert_eq!(check_listen("VMC", addr, true), Ok(()), "{public}");
        }
    }
}
