//! iFacialMocap's UDP text format (ifacialmocap.com/for-developer): the receiver sends
//! [`HANDSHAKE`] to the phone's port 49983 and the phone streams, at 60 fps, one frame per
//! datagram:
//!
//! ```text
//! mouthSmile_R-0|eyeBlink_L-35|…|=head#rx,ry,rz,tx,ty,tz|rightEye#rx,ry,rz|leftEye#rx,ry,rz|
//! ```
//!
//! Blend shapes are ARKit's names with `_L`/`_R` for Left/Right, valued 0–100 (`&` instead of
//! `-` between name and value in its v2 format); the head and eyes are Euler angles in
//! degrees, the head followed by its position. Blocks are found by name, not place (the two
//! published samples order the eyes differently), and fields it does not know (a
//! `trackingStatus`, stray numbers) are skipped.

use super::frame::{FaceFrame, PacketError, arkit_index, finite};

/// What the receiver sends the phone to start the stream.
pub const HANDSHAKE: &str = "iFacialMocap_sahuasouryya9218sauhuiayeta91555dy3719";
/// The phone's port, and where it streams to.
pub const PORT: u16 = 49983;
/// More `|`-separated fields than a frame has (52 blend shapes, 3 transforms) by far.
const MAX_FIELDS: usize = 256;

fn numbers<const N: usize>(text: &str, what: &str) -> Result<[f32; N], PacketError> {
    let mut out = [0.0; N];
    let mut parts = text.split(',');
    for (i, v) in out.iter_mut().enumerate() {
        let part = parts
            .next()
            .ok_or_else(|| PacketError::Truncated(format!("{what} has {i} of its {N} numbers")))?;
        let value: f32 = part
            .trim()
            .parse()
            .map_err(|_| PacketError::Invalid(format!("{what}: {part:?} is not a number")))?;
        *v = finite(value, what)?;
    }
    Ok(out)
}

/// Reads one frame.
pub fn parse(packet: &[u8]) -> Result<FaceFrame, PacketError> {
    if packet.len() > super::frame::MAX_PACKET {
        return Err(PacketError::TooLarge(packet.len()));
    }
    let text = std::str::from_utf8(packet)
        .map_err(|e| PacketError::Invalid(format!("not UTF-8 text ({e})")))?;
    let mut frame = FaceFrame::default();
    for (n, field) in text
        .trim_end_matches(['\0', '\r', '\n'])
        .split('|')
        .enumerate()
    {
        if n >= MAX_FIELDS {
            return Err(PacketError::Invalid(format!(
                "more than {MAX_FIELDS} fields"
            )));
        }
        let field = field.trim();
        if let Some(v) = field
            .strip_prefix("=head#")
            .or_else(|| field.strip_prefix("head#"))
        {
            let [rx, ry, rz, ..] = numbers::<6>(v, "head")?;
            frame.head = Some([-ry, -rx, rz]);
        } else if let Some(v) = field.strip_prefix("leftEye#") {
            let [rx, ry, _] = numbers::<3>(v, "leftEye")?;
            frame.eyes.get_or_insert([[0.0; 2]; 2])[0] = [-ry, -rx];
        } else if let Some(v) = field.strip_prefix("rightEye#") {
            let [rx, ry, _] = numbers::<3>(v, "rightEye")?;
            frame.eyes.get_or_insert([[0.0; 2]; 2])[1] = [-ry, -rx];
        } else if let Some((name, value)) = field.split_once('&').or_else(|| field.split_once('-'))
        {
            // Only ARKit names are read; anything else is skipped whatever its value.
            let Some(i) = arkit_index(name.trim()) else {
                continue;
            };
            let value: f32 = value.trim().parse().map_err(|_| {
                PacketError::Invalid(format!("{}: {value:?} is not a number", name.trim()))
            })?;
            frame.set(i, finite(value, name.trim())? / 100.0);
        }
    }
    if frame.is_empty() {
        return Err(PacketError::Invalid(
            "no ARKit blend shape, head or eyes in it (is this an iFacialMocap frame?)".into(),
        ));
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(f: &FaceFrame, name: &str) -> Option<f32> {
        f.weights[arkit_index(name).unwrap()]
    }

    /// A frame as the developer page shows one (its blend shapes and transforms, including
    /// the stray fourth block after the eyes).
    #[test]
    fn reads_the_published_frame() {
        let text = "mouthSmile_R-0|eyeLookOut_L-0|mouthUpperUp_L-11|eyeWide_R-0|mouthClose-8|\
            jawOpen-72|eyeBlink_L-35|trackingStatus-1|\
            =head#-21.488958,-6.038993,-6.6019735,-0.030653415,-0.10287084,-0.6584072|\
            rightEye#6.0297494,2.4403017,0.25649446|leftEye#6.034903,-1.6660284,-0.17520553|\
            34903,-1.6660284,-0.17520553|";
        let f = parse(text.as_bytes()).unwrap();
        assert_eq!(weight(&f, "jawOpen"), Some(0.72));
        assert_eq!(weight(&f, "eyeBlinkLeft"), Some(0.35));
        assert_eq!(weight(&f, "mouthUpperUpLeft"), Some(0.11));
        assert_eq!(weight(&f, "mouthSmileRight"), Some(0.0));
        assert_eq!(weight(&f, "mouthSmileLeft"), None, "not sent is not zero");
        let [yaw, pitch, roll] = f.head.unwrap();
        assert_eq!((yaw, pitch, roll), (6.038993, 21.488958, -6.6019735));
        let eyes = f.eyes.unwrap();
        assert_eq!(eyes[0], [1.6660284, -6.034903]);
        assert_eq!(eyes[1], [-2.4403017, -6.0297494]);
        assert!(f.face_found);
    }

    #[test]
    fn reads_the_v2_separator_and_clamps_values() {
        let f = parse(b"jawOpen&50|eyeBlink_R&130|=head#0,10,0,0,0,0|").unwrap();
        assert_eq!(weight(&f, "jawOpen"), Some(0.5));
        assert_eq!(weight(&f, "eyeBlinkRight"), Some(1.0));
        assert_eq!(f.head, Some([-10.0, 0.0, 0.0]));
    }

    #[test]
    fn malformed_and_truncated_frames_are_errors() {
        for bad in [
            &b""[..],
            b"|||",
            b"hello",
            b"jawOpen-x|",
            b"jawOpen-NaN|",
            b"jawOpen-inf|",
            b"=head#1,2|",
            b"=head#1,2,3,4,5,oops|",
            b"leftEye#1,2|",
            b"\xff\xfe",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let many = "jawOpen-1|".repeat(MAX_FIELDS + 1);
        assert!(parse(many.as_bytes()).is_err());
        let huge = vec![b'a'; super::super::frame::MAX_PACKET + 1];
        assert_eq!(parse(&huge), Err(PacketError::TooLarge(huge.len())));
        // Every prefix of a good frame is a frame or an error, never a panic.
        let good = b"jawOpen-72|eyeBlink_L-35|=head#-21.4,-6.0,-6.6,0.0,-0.1,-0.6|leftEye#6,-1,0|";
        for n in 0..good.len() {
            let _ = parse(&good[..n]);
        }
    }
}
