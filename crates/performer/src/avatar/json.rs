//! Reading values out of a glTF file's JSON: the JSON chunk of a GLB, and numbers, vectors and
//! text with the defaults the VRM specifications give for missing values.

use bevy::math::Vec3;
use serde_json::Value;

use super::NodeRef;

/// The JSON of a GLB (binary glTF) or `.gltf` file.
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
