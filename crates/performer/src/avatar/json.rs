//! Reading values out of a glTF file's JSON: the JSON chunk of a GLB, and numbers, vectors and
//! text with the defaults the VRM specifications give for missing values.

use bevy::math::Vec3;
use serde_json::Value;

use super::NodeRef;

/// The JSON of a GLB (binary glTF) or `.gltf` file.
/// Packs a glTF JSON text and a binary chunk into a GLB (each chunk padded to 4 bytes), as
/// exporters write VRM files; for tests and the fuzzer's seeds.
pub fn glb(json: &str, bin: &[u8]) -> Vec<u8> {
    let mut json = json.as_bytes().to_vec();
    json.resize(json.len().next_multiple_of(4), b' ');
    let mut bin = bin.to_vec();
    bin.resize(bin.len().next_multiple_of(4), 0);
    let total = 12 + 8 + json.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    out
}

pub(super) fn gltf_json(bytes: &[u8]) -> Result<Value, String> {
    let json_bytes = if bytes.starts_with(b"glTF") {
        if bytes.len() < 20 {
            return Err("GLB header is truncated".into());
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(4);
        if version != 2 {
            return Err(format!(
                "GLB version {version} (only glTF 2.0 is supported)"
            ));
        }
        let chunk_len = word(12) as usize;
        if &bytes[16..20] != b"JSON" {
            return Err("the first GLB chunk is not JSON".into());
        }
        bytes.get(20..20 + chunk_len).ok_or_else(|| {
            format!(
                "GLB JSON chunk of {chunk_len} bytes is cut short (file is {} bytes)",
                bytes.len()
            )
        })?
    } else {
        bytes
    };
    serde_json::from_slice(json_bytes).map_err(|e| format!("glTF JSON: {e}"))
}

/// Checks what a file declares about its own lengths, so a file cut short (or patched wrong) is
/// refused here, naming what is missing, instead of failing later or loading half a mesh:
/// the GLB header's total length against the file, each chunk against the file, the binary
/// buffer against its chunk, every buffer view against its buffer and every accessor against
/// its buffer view.
pub(super) fn check_lengths(bytes: &[u8], json: &Value) -> Result<(), String> {
    let mut bin_len: Option<u64> = None;
    if bytes.starts_with(b"glTF") {
        let word = |at: usize| -> Option<u64> {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
        };
        let declared = word(8).unwrap_or(0);
        let actual = bytes.len() as u64;
        if declared != actual {
            return Err(if declared > actual {
                format!(
                    "the GLB header says {declared} bytes but the file has {actual}: it is cut short by {} bytes",
                    declared - actual
                )
            } else {
                format!("the GLB header says {declared} bytes but the file has {actual}")
            });
        }
        // Chunks after the JSON: each an 8-byte header and its data, 4-byte aligned.
        let mut at = 20 + word(12).unwrap_or(0);
        while at < actual {
            let (Some(len), Some(kind)) = (
                word(at as usize),
                bytes.get(at as usize + 4..at as usize + 8),
            ) else {
                return Err(format!("a GLB chunk header at byte {at} is cut short"));
            };
            let end = at + 8 + len;
            if end > actual {
                return Err(format!(
                    "the GLB chunk at byte {at} declares {len} bytes but only {} are left",
                    actual - at - 8
                ));
            }
            if kind == b"BIN\0" && bin_len.is_none() {
                bin_len = Some(len);
            }
            at = end.next_multiple_of(4);
        }
    }
    let array = |key: &str| json[key].as_array().cloned().unwrap_or_default();
    let uint = |v: &Value, key: &str| v[key].as_u64();
    let buffers = array("buffers");
    let mut buffer_lens = Vec::with_capacity(buffers.len());
    for (i, buffer) in buffers.iter().enumerate() {
        let len =
            uint(buffer, "byteLength").ok_or_else(|| format!("buffer {i} has no byteLength"))?;
        if buffer.get("uri").is_none() {
            // The GLB's own binary chunk (padding to 4 bytes allowed).
            let chunk = bin_len.ok_or_else(|| {
                format!("buffer {i} ({len} bytes) has no uri and the file has no binary chunk")
            })?;
            if len > chunk {
                return Err(format!(
                    "buffer {i} declares {len} bytes but the binary chunk holds {chunk}"
                ));
            }
        }
        buffer_lens.push(len);
    }
    let views = array("bufferViews");
    let mut view_lens = Vec::with_capacity(views.len());
    for (i, view) in views.iter().enumerate() {
        let buffer = uint(view, "buffer").unwrap_or(u64::MAX) as usize;
        let Some(&buffer_len) = buffer_lens.get(buffer) else {
            return Err(format!(
                "buffer view {i} points at buffer {buffer}, which does not exist"
            ));
        };
        let offset = uint(view, "byteOffset").unwrap_or(0);
        let len = uint(view, "byteLength").unwrap_or(0);
        if offset.saturating_add(len) > buffer_len {
            return Err(format!(
                "buffer view {i} ({len} bytes at {offset}) runs past the end of buffer {buffer} ({buffer_len} bytes)"
            ));
        }
        view_lens.push((len, uint(view, "byteStride")));
    }
    for (i, accessor) in array("accessors").iter().enumerate() {
        let Some(view) = uint(accessor, "bufferView") else {
            continue; // all zeros (or sparse): no data to check
        };
        let Some(&(view_len, stride)) = view_lens.get(view as usize) else {
            return Err(format!(
                "accessor {i} points at buffer view {view}, which does not exist"
            ));
        };
        let component = match uint(accessor, "componentType") {
            Some(5120 | 5121) => 1,
            Some(5122 | 5123) => 2,
            Some(5125 | 5126) => 4,
            other => return Err(format!("accessor {i} has component type {other:?}")),
        };
        let components = match accessor["type"].as_str() {
            Some("SCALAR") => 1,
            Some("VEC2") => 2,
            Some("VEC3") => 3,
            Some("VEC4" | "MAT2") => 4,
            Some("MAT3") => 9,
            Some("MAT4") => 16,
            other => return Err(format!("accessor {i} has type {other:?}")),
        };
        let element = component * components;
        let count = uint(accessor, "count").unwrap_or(0);
        if count == 0 {
            continue;
        }
        let offset = uint(accessor, "byteOffset").unwrap_or(0);
        let stride = stride.unwrap_or(element).max(element);
        let needed = offset + (count - 1) * stride + element;
        if needed > view_len {
            return Err(format!(
                "accessor {i} needs {needed} bytes of buffer view {view}, which has {view_len}"
            ));
        }
    }
    Ok(())
}

pub(super) fn f32_of(v: &Value, default: f32) -> f32 {
    v.as_f64().map(|f| f as f32).unwrap_or(default)
}

/// A vector stored as `{ "x": .., "y": .., "z": .. }` (VRM 0.x).
pub(super) fn vec3_xyz(v: &Value) -> Vec3 {
    Vec3::new(
        f32_of(&v["x"], 0.0),
        f32_of(&v["y"], 0.0),
        f32_of(&v["z"], 0.0),
    )
}

/// A vector stored as `[x, y, z]` (glTF, VRM 1.0).
pub(super) fn vec3_arr(v: &Value, default: Vec3) -> Vec3 {
    match v.as_array() {
        Some(a) if a.len() == 3 => {
            Vec3::new(f32_of(&a[0], 0.0), f32_of(&a[1], 0.0), f32_of(&a[2], 0.0))
        }
        _ => default,
    }
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A list of indices (`[0, 2, 3]`); entries that are not indices are skipped.
pub(super) fn indices(v: &Value) -> Vec<usize> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i.as_u64().map(|i| i as usize))
        .collect()
}

/// Node `i` of the glTF `nodes` array, by index and name (empty if it has none).
pub(super) fn node_ref(nodes: &[Value], i: usize) -> NodeRef {
    NodeRef {
        index: i,
        name: nodes.get(i).map(|n| text(&n["name"])).unwrap_or_default(),
    }
}
