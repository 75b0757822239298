//! Live Link Face's UDP packet (Unreal's Apple ARKit face LiveLink source), big-endian:
//!
//! | field | bytes |
//! | --- | --- |
//! | packet version (6) | u8 |
//! | device id | u32 length, then UTF-8 |
//! | subject name | u32 length, then UTF-8 |
//! | frame number, sub-frame, fps numerator, fps denominator | i32, f32, i32, i32 |
//! | blend shape count (61) | u8 |
//! | the values | count × f32 |
//!
//! The 61 values are ARKit's 52 in Apple's order, then head yaw, pitch and roll, then the
//! left and the right eye's yaw, pitch and roll, in radians. The phone streams to the address
//! set in the app (port 11111 by default).

use super::frame::{FaceFrame, PacketError};

/// Live Link's default port.
pub const PORT: u16 = 11111;
/// The values Live Link Face sends: ARKit 52, the head's 3 and the eyes' 6.
pub const VALUES: usize = 61;
/// Unreal keeps names under 256 characters.
const MAX_NAME: usize = 1024;

/// A cursor over the packet that reports what it ran out on.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], PacketError> {
        let slice = self
            .at
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.at..end))
            .ok_or_else(|| {
                PacketError::Truncated(format!(
                    "{} bytes end before the {what} at byte {}",
                    self.bytes.len(),
                    self.at
                ))
            })?;
        self.at += n;
        Ok(slice)
    }

    fn u32(&mut self, what: &str) -> Result<u32, PacketError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self, what: &str) -> Result<f32, PacketError> {
        Ok(f32::from_bits(self.u32(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, PacketError> {
        let len = self.u32(what)? as usize;
        if len > MAX_NAME {
            return Err(PacketError::Invalid(format!(
                "the {what} claims {len} bytes (at most {MAX_NAME})"
            )));
        }
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| PacketError::Invalid(format!("the {what} is not UTF-8")))
    }
}

/// What a Live Link packet says besides the face.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveLinkHeader {
    /// The phone's id.
    pub device: String,
    /// The subject name set in the app.
    pub subject: String,
    /// The frame number and the frame rate (numerator, denominator).
    pub frame: (i32, i32, i32),
}

/// Reads one packet.
pub fn parse(packet: &[u8]) -> Result<(LiveLinkHeader, FaceFrame), PacketError> {
    if packet.len() > super::frame::MAX_PACKET {
        return Err(PacketError::TooLarge(packet.len()));
    }
    let mut r = Reader {
        bytes: packet,
        at: 0,
    };
    let version = r.take(1, "packet version")?[0];
    if version != 6 {
        return Err(PacketError::Invalid(format!(
            "packet version {version}, not Live Link Face's 6"
        )));
    }
    let device = r.string("device id")?;
    let subject = r.string("subject name")?;
    let frame_number = r.u32("frame number")? as i32;
    let _sub_frame = r.f32("sub-frame")?;
    let numerator = r.u32("frame rate")? as i32;
    let denominator = r.u32("frame rate")? as i32;
    let count = r.take(1, "blend shape count")?[0] as usize;
    if count > VALUES {
        return Err(PacketError::Invalid(format!(
            "{count} values, more than Live Link Face's {VALUES}"
        )));
    }
    let mut values = [0.0f32; VALUES];
    for (i, v) in values.iter_mut().take(count).enumerate() {
        *v = r.f32("values")?;
        if !v.is_finite() {
            return Err(PacketError::Invalid(format!("value {i} is {v}")));
        }
    }
    let mut face = FaceFrame {
        // A packet without values is the phone saying it has no face.
        face_found: count > 0,
        ..Default::default()
    };
    for (i, v) in values.iter().take(count.min(52)).enumerate() {
        face.set(i, *v);
    }
    // Radians far beyond a turn overflow in degrees: refused like any other non-number.
    let deg = |i: usize| {
        let d = values[i].to_degrees();
        if d.is_finite() {
            Ok(d)
        } else {
            Err(PacketError::Invalid(format!(
                "value {i} is {} rad, no angle",
                values[i]
            )))
        }
    };
    if count >= 55 {
        face.head = Some([deg(52)?, deg(53)?, deg(54)?]);
    }
    if count >= 61 {
        face.eyes = Some([[deg(55)?, deg(56)?], [deg(58)?, deg(59)?]]);
    }
    Ok((
        LiveLinkHeader {
            device,
            subject,
            frame: (frame_number, numerator, denominator),
        },
        face,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet laid out as Unreal's source and the public receivers read it.
    fn packet(values: &[f32]) -> Vec<u8> {
        let mut p = vec![6u8];
        for s in ["3A1F0C2E-iPhone", "iPhoneFace"] {
            p.extend((s.len() as u32).to_be_bytes());
            p.extend(s.as_bytes());
        }
        p.extend(1234i32.to_be_bytes());
        p.extend(0.5f32.to_be_bytes());
        p.extend(60i32.to_be_bytes());
        p.extend(1i32.to_be_bytes());
        p.push(values.len() as u8);
        for v in values {
            p.extend(v.to_be_bytes());
        }
        p
    }

    #[test]
    fn reads_arkit_head_and_eyes() {
        let mut values = [0.0f32; VALUES];
        values[17] = 0.6; // jawOpen
        values[0] = 0.9; // eyeBlinkLeft
        values[52] = 20f32.to_radians(); // head yaw
        values[53] = -(10f32.to_radians());
        values[55] = 5f32.to_radians();
        values[59] = 3f32.to_radians();
        let (header, face) = parse(&packet(&values)).unwrap();
        assert_eq!(header.subject, "iPhoneFace");
        assert_eq!(header.frame, (1234, 60, 1));
        assert_eq!(face.weights[17], Some(0.6));
        assert_eq!(face.weights[0], Some(0.9));
        assert_eq!(face.weights[51], Some(0.0));
        let [yaw, pitch, roll] = face.head.unwrap();
        assert!((yaw - 20.0).abs() < 1e-4 && (pitch + 10.0).abs() < 1e-4 && roll == 0.0);
        let eyes = face.eyes.unwrap();
        assert!((eyes[0][0] - 5.0).abs() < 1e-4 && (eyes[1][1] - 3.0).abs() < 1e-4);
        assert!(face.face_found);
    }

    #[test]
    fn malformed_and_truncated_packets_are_errors() {
        let good = packet(&[0.5; VALUES]);
        assert!(parse(&good).is_ok());
        // Every cut short, never a panic.
        for n in 0..good.len() {
            assert!(parse(&good[..n]).is_err(), "{n} bytes");
        }
        let mut version = good.clone();
        version[0] = 5;
        assert!(parse(&version).is_err());
        // A name claiming 4 GB.
        let mut long = good.clone();
        long[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse(&long).is_err());
        let mut huge = [0.0; VALUES];
        huge[52] = 1e38;
        assert!(
            parse(&packet(&huge)).is_err(),
            "a yaw of 1e38 rad is no angle"
        );
        let mut nan = packet(&[0.5; VALUES]);
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_be_bytes());
        assert!(parse(&nan).is_err());
        let mut count = good.clone();
        let at = good.len() - VALUES * 4 - 1;
        count[at] = 200;
        assert!(parse(&count).is_err());
        // No values: the phone lost the face.
        let (_, empty) = parse(&packet(&[])).unwrap();
        assert!(!empty.face_found);
    }
}
