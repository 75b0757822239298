//! VTube Studio's iPhone tracking for third-party PC clients (the "3rd Party PC Clients"
//! switch in the phone app; DenchiSoft/VTubeStudioBlendshapeUDPReceiverTest): the receiver
//! sends [`request`] to the phone's port 21412 and renews it every second; for the `time` it
//! asks (0.5–10 s) the phone sends JSON to the requester's address, on each listed port:
//!
//! ```json
//! {"Timestamp":1700000000000,"Hotkey":-1,"FaceFound":true,
//!  "Rotation":{"x":…,"y":…,"z":…},"Position":{…},"EyeLeft":{…},"EyeRight":{…},
//!  "BlendShapes":[{"k":"EyeBlinkLeft","v":0.1},…]}
//! ```
//!
//! Blend shapes are ARKit's (capitalised) at 0..1; rotations are Unity Euler angles in degrees
//! (x pitch, y yaw, z roll; 0–360 or ±180). Unknown fields are skipped (the app may add some).

use serde::Deserialize;

use super::frame::{FaceFrame, PacketError, arkit_index, finite, wrap_degrees};

/// The phone's port.
pub const PHONE_PORT: u16 = 21412;
/// Where the receiver listens by default (the phone sends wherever the request says).
pub const PORT: u16 = 21413;
/// How long each request asks the phone to send for, seconds.
pub const REQUEST_SECONDS: f32 = 5.0;
/// More entries than ARKit has by far.
const MAX_BLEND_SHAPES: usize = 128;

/// The request that makes the phone send to `port` on the requester's address.
pub fn request(port: u16) -> String {
    serde_json::json!({
        "messageType": "iOSTrackingDataRequest",
        "time": REQUEST_SECONDS,
        "sentBy": "LingStage",
        "ports": [port],
    })
    .to_string()
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Vector {
    #[serde(default)]
    x: f32,
    #[serde(default)]
    y: f32,
    #[serde(default)]
    z: f32,
}

#[derive(Deserialize)]
struct Entry {
    k: String,
    v: f32,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    #[serde(default = "yes")]
    face_found: bool,
    rotation: Option<Vector>,
    eye_left: Option<Vector>,
    eye_right: Option<Vector>,
    #[serde(default)]
    blend_shapes: Vec<Entry>,
}

fn yes() -> bool {
    true
}

/// Reads one packet.
pub fn parse(packet: &[u8]) -> Result<FaceFrame, PacketError> {
    if packet.len() > super::frame::MAX_PACKET {
        return Err(PacketError::TooLarge(packet.len()));
    }
    let payload: Payload = serde_json::from_slice(packet).map_err(|e| {
        if e.is_eof() {
            PacketError::Truncated(format!("the JSON ends early ({e})"))
        } else {
            PacketError::Invalid(format!("not VTube Studio tracking JSON ({e})"))
        }
    })?;
    if payload.blend_shapes.len() > MAX_BLEND_SHAPES {
        return Err(PacketError::Invalid(format!(
            "{} blend shapes (at most {MAX_BLEND_SHAPES})",
            payload.blend_shapes.len()
        )));
    }
    let mut frame = FaceFrame {
        face_found: payload.face_found,
        ..Default::default()
    };
    for Entry { k, v } in &payload.blend_shapes {
        if let Some(i) = arkit_index(k) {
            frame.set(i, finite(*v, k)?);
        }
    }
    let angles = |v: Vector, what: &str| -> Result<[f32; 3], PacketError> {
        Ok([
            wrap_degrees(finite(v.y, what)?),
            wrap_degrees(finite(v.x, what)?),
            wrap_degrees(finite(v.z, what)?),
        ])
    };
    if let Some(r) = payload.rotation {
        frame.head = Some(angles(r, "Rotation")?);
    }
    if let (Some(l), Some(r)) = (payload.eye_left, payload.eye_right) {
        let [ly, lp, _] = angles(l, "EyeLeft")?;
        let [ry, rp, _] = angles(r, "EyeRight")?;
        frame.eyes = Some([[ly, lp], [ry, rp]]);
    }
    if frame.is_empty() && frame.face_found {
        return Err(PacketError::Invalid(
            "no blend shapes, rotation or eyes in it (is this VTube Studio's tracking data?)"
                .into(),
        ));
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_says_what_the_phone_expects() {
        let r: serde_json::Value = serde_json::from_str(&request(21413)).unwrap();
        assert_eq!(r["messageType"], "iOSTrackingDataRequest");
        assert_eq!(r["ports"], serde_json::json!([21413]));
        let time = r["time"].as_f64().unwrap();
        assert!((0.5..=10.0).contains(&time));
        let by = r["sentBy"].as_str().unwrap();
        assert!((1..=32).contains(&by.len()));
    }

    #[test]
    fn reads_the_published_payload() {
        let json = br#"{"Timestamp":1700000000123,"Hotkey":-1,"FaceFound":true,
            "Rotation":{"x":350.0,"y":20.0,"z":-5.0},"Position":{"x":0.1,"y":0.2,"z":-30.0},
            "EyeLeft":{"x":2.0,"y":4.0,"z":0.0},"EyeRight":{"x":2.0,"y":3.0,"z":0.0},
            "BlendShapes":[{"k":"JawOpen","v":0.6},{"k":"EyeBlinkLeft","v":0.9},
                           {"k":"MouthSmileRight","v":1.4},{"k":"SomethingNew","v":0.5}],
            "AddedLater":{"a":[1,2,3]}}"#;
        let f = parse(json).unwrap();
        assert_eq!(f.weights[17], Some(0.6));
        assert_eq!(f.weights[0], Some(0.9));
        assert_eq!(
            f.weights[arkit_index("mouthSmileRight").unwrap()],
            Some(1.0)
        );
        assert_eq!(f.head, Some([20.0, -10.0, -5.0]));
        assert_eq!(f.eyes, Some([[4.0, 2.0], [3.0, 2.0]]));
        assert!(f.face_found);
        let lost = parse(br#"{"FaceFound":false,"BlendShapes":[]}"#).unwrap();
        assert!(!lost.face_found);
    }

    #[test]
    fn malformed_and_truncated_packets_are_errors() {
        let good = br#"{"FaceFound":true,"Rotation":{"x":1,"y":2,"z":3},"BlendShapes":[{"k":"JawOpen","v":0.5}]}"#;
        assert!(parse(good).is_ok());
        for n in 0..good.len() {
            assert!(parse(&good[..n]).is_err(), "{n} bytes");
        }
        for bad in [
            &br#"{}"#[..],
            br#"[1,2,3]"#,
            br#"{"BlendShapes":[{"k":"JawOpen"}]}"#,
            br#"{"BlendShapes":[{"k":"JawOpen","v":"0.5"}]}"#,
            br#"{"BlendShapes":{"k":"JawOpen","v":0.5}}"#,
            br#"{"Rotation":{"x":1e999}}"#,
            b"\xff\xfe",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let many = format!(
            r#"{{"BlendShapes":[{}]}}"#,
            vec![r#"{"k":"JawOpen","v":0.5}"#; MAX_BLEND_SHAPES + 1].join(",")
        );
        assert!(parse(many.as_bytes()).is_err());
        let deep = "[".repeat(10_000);
        assert!(parse(deep.as_bytes()).is_err(), "deep nesting is refused");
    }
}
