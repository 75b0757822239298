//! VRM Animation (`.vrma`): binary glTF with the `VRMC_vrm_animation` extension, read into the
//! same retargeted clip as a BVH capture, and written from the performer's motion.
//!
//! The extension maps humanoid bones to glTF nodes, expressions to nodes whose translation's x
//! is the weight, and the gaze to a node whose rotation turns +Z to where the eyes look; the
//! motion is the file's first glTF animation (rotation and translation channels; linear, step
//! and cubic-spline samplers). The humanoid's nodes are baked into a BVH skeleton in their rest
//! pose (the "VRM T-pose", whatever rotations its nodes carry), sampled at the keys' rate (30 to
//! 120 fps), so the clip goes through the same retargeting as a capture. Expressions become
//! canonical signals (visemes, blinks, `happy` → smiles, `sad` → frowns, `angry` → lowered
//! brows, `surprised` → raised brows and wide eyes, custom expressions named like an ARKit
//! blendshape); the gaze becomes the ARKit eye-look weights (±30° across, ±25° up and down).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bevy::prelude::*;
use serde_json::{Value, json};

use crate::bvh::{Bvh, Channel, Joint, euler_for_channels};
use crate::clip::ClipSample;
use crate::retarget::{BoneMap, Convention};
use ling_core::signals::{ExpressionWeights, HumanBone};

/// A `.vrma` file that could not be read: the file and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("VRM animation {path}: {message}")]
pub struct VrmaError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// A VRM animation as the stage plays it.
#[derive(Debug, Clone)]
pub struct Vrma {
    /// The humanoid's nodes as a BVH skeleton (joints named by their VRM bone, other nodes
    /// `node<index>`), in metres, with the motion sampled at a fixed rate.
    pub bvh: Bvh,
    /// Every humanoid bone the file maps (VRM naming).
    pub map: BoneMap,
    /// The face per frame, when the file animates expressions or the gaze (else empty).
    pub faces: Vec<ExpressionWeights>,
    /// The expressions the file animates, and whether each reaches a canonical signal.
    pub expressions: Vec<(String, bool)>,
    /// Whether the file animates the gaze.
    pub look_at: bool,
    /// How many animations the file has (the first plays) and the channels of the first.
    pub animations: (usize, usize),
}

impl Vrma {
    /// The animation on the humanoid: its rotations as VRM's normalized bones carry them (the
    /// file's rest pose is the VRM T-pose, as ours), root motion scaled by leg length.
    pub fn clip(&self) -> Result<crate::HumanoidClip, crate::retarget::RetargetError> {
        crate::retarget::retarget_with(&self.bvh, &self.map, false)
    }
}

/// Reads a `.vrma` file; errors name it.
pub fn load(path: &Path) -> Result<Vrma, VrmaError> {
    let err = |message: String| VrmaError {
        path: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    parse(&bytes).map_err(err)
}

/// Whether `path` names a VRM animation (by its extension).
pub fn is_vrma(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("vrma"))
}

const JSON_CHUNK: u32 = 0x4E4F_534A;
const BIN_CHUNK: u32 = 0x004E_4942;
/// Most values sampled from one file (frames × channels), as for BVH.
const MAX_VALUES: u64 = 50_000_000;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The JSON and binary chunks of a GLB.
fn glb(bytes: &[u8]) -> Result<(Value, &[u8]), String> {
    if bytes.len() < 12 || &bytes[..4] != b"glTF" {
        return Err("not a binary glTF file (a .vrma is GLB)".into());
    }
    let version = u32_at(bytes, 4);
    if version != 2 {
        return Err(format!("GLB version {version} (only glTF 2.0 is read)"));
    }
    let total = u32_at(bytes, 8) as usize;
    if total > bytes.len() {
        return Err(format!(
            "the GLB header says {total} bytes but the file has {}: it is cut short",
            bytes.len()
        ));
    }
    let (mut json, mut bin) = (None, None);
    let mut at = 12;
    while at + 8 <= total {
        let (len, kind) = (u32_at(bytes, at) as usize, u32_at(bytes, at + 4));
        let start = at + 8;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= total)
            .ok_or_else(|| format!("a GLB chunk of {len} bytes at byte {at} runs past the end"))?;
        match kind {
            JSON_CHUNK if json.is_none() => {
                json = Some(
                    serde_json::from_slice::<Value>(&bytes[start..end])
                        .map_err(|e| format!("glTF JSON: {e}"))?,
                )
            }
            BIN_CHUNK if bin.is_none() => bin = Some(&bytes[start..end]),
            _ => {}
        }
        at = end;
    }
    let json = json.ok_or("the GLB has no JSON chunk")?;
    Ok((json, bin.unwrap_or(&[])))
}

fn index(v: &Value, what: &str) -> Result<usize, String> {
    v.as_u64()
        .map(|i| i as usize)
        .ok_or_else(|| format!("{what} is not an index"))
}

fn floats(v: &Value, n: usize, what: &str) -> Result<Option<Vec<f32>>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let out: Option<Vec<f32>> = v.as_array().filter(|a| a.len() == n).and_then(|a| {
        a.iter()
            .map(|x| x.as_f64().map(|f| f as f32).filter(|f| f.is_finite()))
            .collect()
    });
    out.map(Some)
        .ok_or_else(|| format!("{what} is not {n} finite numbers"))
}

/// The values of accessor `i`: `count × components` floats, normalized integers scaled to
/// −1..1 or 0..1.
fn accessor(gltf: &Value, bin: &[u8], i: usize) -> Result<(Vec<f32>, usize), String> {
    let what = format!("accessor {i}");
    let acc = &gltf["accessors"][i];
    if !acc.is_object() {
        return Err(format!("{what} does not exist"));
    }
    let count = acc["count"]
        .as_u64()
        .ok_or(format!("{what} has no count"))?;
    let components = match acc["type"].as_str() {
        Some("SCALAR") => 1u64,
        Some("VEC2") => 2,
        Some("VEC3") => 3,
        Some("VEC4") => 4,
        other => return Err(format!("{what} has type {other:?}, not SCALAR or VECn")),
    };
    let kind = acc["componentType"].as_u64().unwrap_or(0);
    let size: u64 = match kind {
        5126 => 4,
        5120 | 5121 => 1,
        5122 | 5123 => 2,
        _ => return Err(format!("{what} has component type {kind}")),
    };
    let view_index = index(&acc["bufferView"], &format!("{what}'s bufferView"))?;
    let view = &gltf["bufferViews"][view_index];
    if index(&view["buffer"], "a bufferView's buffer")? != 0
        || gltf["buffers"][0]["uri"].is_string()
    {
        return Err(format!(
            "{what} is not in the GLB's binary chunk (external buffers are not read)"
        ));
    }
    let view_offset = view["byteOffset"].as_u64().unwrap_or(0);
    let view_len = view["byteLength"]
        .as_u64()
        .ok_or(format!("bufferView {view_index} has no byteLength"))?;
    let element = size * components;
    let stride = view["byteStride"].as_u64().unwrap_or(element);
    let offset = acc["byteOffset"].as_u64().unwrap_or(0);
    let fits = view_offset
        .checked_add(view_len)
        .is_some_and(|end| end <= bin.len() as u64)
        && stride >= element
        && (count == 0
            || stride
                .checked_mul(count - 1)
                .and_then(|s| s.checked_add(offset + element))
                .is_some_and(|end| end <= view_len));
    if !fits {
        return Err(format!(
            "{what} ({count} × {element} bytes) runs past its bufferView or the binary chunk \
             ({} bytes)",
            bin.len()
        ));
    }
    let mut out = Vec::with_capacity((count * components) as usize);
    for e in 0..count {
        let base = (view_offset + offset + e * stride) as usize;
        for c in 0..components as usize {
            let at = base + c * size as usize;
            let b = &bin[at..at + size as usize];
            out.push(match kind {
                5126 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                5120 => (b[0] as i8 as f32 / 127.0).max(-1.0),
                5121 => b[0] as f32 / 255.0,
                5122 => (i16::from_le_bytes([b[0], b[1]]) as f32 / 32767.0).max(-1.0),
                _ => u16::from_le_bytes([b[0], b[1]]) as f32 / 65535.0,
            });
        }
    }
    if out.iter().any(|v| !v.is_finite()) {
        return Err(format!("{what} holds a value that is not a finite number"));
    }
    Ok((out, components as usize))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Interpolation {
    Linear,
    Step,
    Cubic,
}

/// One animated property of one node.
#[derive(Debug, Clone)]
struct Track {
    times: Vec<f32>,
    /// One value per key (cubic splines: in-tangent, value, out-tangent per key).
    values: Vec<Vec4>,
    interpolation: Interpolation,
    rotation: bool,
}

impl Track {
    fn value(&self, key: usize) -> Vec4 {
        match self.interpolation {
            Interpolation::Cubic => self.values[key * 3 + 1],
            _ => self.values[key],
        }
    }

    fn sample(&self, t: f32) -> Vec4 {
        let n = self.times.len();
        let last = n - 1;
        if t <= self.times[0] {
            return self.fix(self.value(0));
        }
        if t >= self.times[last] {
            return self.fix(self.value(last));
        }
        let i = self.times.partition_point(|k| *k <= t) - 1;
        let (t0, t1) = (self.times[i], self.times[i + 1]);
        let dt = (t1 - t0).max(1e-9);
        let s = (t - t0) / dt;
        let (a, b) = (self.value(i), self.value(i + 1));
        let v = match self.interpolation {
            Interpolation::Step => a,
            Interpolation::Linear if self.rotation => {
                let (qa, qb) = (
                    Quat::from_vec4(a).normalize(),
                    Quat::from_vec4(b).normalize(),
                );
                return Vec4::from(qa.slerp(qb, s));
            }
            Interpolation::Linear => a.lerp(b, s),
            Interpolation::Cubic => {
                let (out_a, in_b) = (self.values[i * 3 + 2], self.values[(i + 1) * 3]);
                let (s2, s3) = (s * s, s * s * s);
                a * (2.0 * s3 - 3.0 * s2 + 1.0)
                    + out_a * dt * (s3 - 2.0 * s2 + s)
                    + b * (-2.0 * s3 + 3.0 * s2)
                    + in_b * dt * (s3 - s2)
            }
        };
        self.fix(v)
    }

    fn fix(&self, v: Vec4) -> Vec4 {
        if self.rotation {
            // A zero quaternion has no direction: no turn.
            let q = Quat::from_vec4(v).normalize();
            Vec4::from(if q.is_finite() { q } else { Quat::IDENTITY })
        } else {
            v
        }
    }
}

/// A node's rest transform.
fn node_rest(node: &Value, i: usize) -> Result<Transform, String> {
    let what = |p: &str| format!("node {i}'s {p}");
    if let Some(m) = floats(&node["matrix"], 16, &what("matrix"))? {
        let m = Mat4::from_cols_slice(&m);
        let (scale, rotation, translation) = m.to_scale_rotation_translation();
        if !(scale.is_finite() && rotation.is_finite() && translation.is_finite()) {
            return Err(what("matrix is not a rotation, translation and scale"));
        }
        return Ok(Transform {
            translation,
            rotation: rotation.normalize(),
            scale,
        });
    }
    let t = floats(&node["translation"], 3, &what("translation"))?
        .map(|v| Vec3::from_slice(&v))
        .unwrap_or(Vec3::ZERO);
    let r = floats(&node["rotation"], 4, &what("rotation"))?
        .map(|v| Quat::from_slice(&v).normalize())
        .unwrap_or(Quat::IDENTITY);
    if !r.is_finite() {
        return Err(what("rotation is zero"));
    }
    let s = floats(&node["scale"], 3, &what("scale"))?
        .map(|v| Vec3::from_slice(&v))
        .unwrap_or(Vec3::ONE);
    Ok(Transform {
        translation: t,
        rotation: r,
        scale: s,
    })
}

/// Parses a `.vrma` file's bytes.
pub fn parse(bytes: &[u8]) -> Result<Vrma, String> {
    let (gltf, bin) = glb(bytes)?;
    let ext = &gltf["extensions"]["VRMC_vrm_animation"];
    if !ext.is_object() {
        return Err("no VRMC_vrm_animation extension: not a VRM animation".into());
    }
    let nodes = gltf["nodes"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let node_count = nodes.len();
    let node_ref = |v: &Value, what: &str| -> Result<usize, String> {
        let i = index(v, what)?;
        if i >= node_count {
            return Err(format!(
                "{what} is node {i}, but the file has {node_count} nodes"
            ));
        }
        Ok(i)
    };

    // Humanoid bones → nodes.
    let mut bone_node: BTreeMap<HumanBone, usize> = BTreeMap::new();
    if let Some(bones) = ext["humanoid"]["humanBones"].as_object() {
        for (name, b) in bones {
            // Names this stage does not know are skipped (newer versions may add bones).
            if let Some(bone) = HumanBone::from_name(name) {
                bone_node.insert(
                    bone,
                    node_ref(&b["node"], &format!("humanoid bone {name}"))?,
                );
            }
        }
    }
    let hips = *bone_node
        .get(&HumanBone::Hips)
        .ok_or("the humanoid has no hips bone")?;

    // The node tree: parents, rest transforms and world rest transforms.
    let mut parent: Vec<Option<usize>> = vec![None; node_count];
    for (i, node) in nodes.iter().enumerate() {
        for c in node["children"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let c = node_ref(c, &format!("a child of node {i}"))?;
            if parent[c].is_some() || c == i {
                return Err(format!("node {c} has more than one parent"));
            }
            parent[c] = Some(i);
        }
    }
    let rest: Vec<Transform> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| node_rest(n, i))
        .collect::<Result<_, _>>()?;
    // Ancestors first: the path from the top of hips' tree down.
    let mut top = hips;
    let mut above = Vec::new();
    while let Some(p) = parent[top] {
        if above.len() > node_count {
            return Err("the node hierarchy has a cycle".into());
        }
        above.push(p);
        top = p;
    }
    above.reverse();
    // The hips' tree: every node that is a humanoid bone or leads to one, parents first.
    let humanoid: Vec<bool> = (0..node_count)
        .map(|n| bone_node.values().any(|b| *b == n))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for (c, p) in parent.iter().enumerate() {
        if let Some(p) = p {
            children[*p].push(c);
        }
    }
    let mut leads = humanoid.clone();
    let mut order = Vec::new();
    let mut stack = vec![top];
    while let Some(n) = stack.pop() {
        if order.len() > node_count {
            return Err("the node hierarchy has a cycle".into());
        }
        order.push(n);
        stack.extend(children[n].iter().rev());
    }
    for &n in order.iter().rev() {
        if leads[n]
            && let Some(p) = parent[n]
        {
            leads[p] = true;
        }
    }
    let joints: Vec<usize> = order.into_iter().filter(|n| leads[*n]).collect();
    // The chain above the joints' root (its transforms place the skeleton).
    let chain: Vec<usize> = above
        .iter()
        .copied()
        .chain(joints.iter().copied())
        .collect();

    // The first animation's channels.
    let animations = gltf["animations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let animation = animations.first().ok_or("the file has no animation")?;
    let samplers = animation["samplers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let channels = animation["channels"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut tracks: BTreeMap<(usize, bool), Track> = BTreeMap::new();
    for (c, channel) in channels.iter().enumerate() {
        let what = format!("animation channel {c}");
        let path = channel["target"]["path"].as_str().unwrap_or("");
        let rotation = match path {
            "rotation" => true,
            "translation" => false,
            _ => continue, // scale and morph weights do not drive a humanoid
        };
        let Some(node) = channel["target"]["node"].as_u64() else {
            continue;
        };
        let node = node_ref(&json!(node), &what)?;
        let sampler_index = index(&channel["sampler"], &format!("{what}'s sampler"))?;
        let sampler = samplers.get(sampler_index).ok_or(format!(
            "{what} uses sampler {sampler_index}, which does not exist"
        ))?;
        let interpolation = match sampler["interpolation"].as_str().unwrap_or("LINEAR") {
            "LINEAR" => Interpolation::Linear,
            "STEP" => Interpolation::Step,
            "CUBICSPLINE" => Interpolation::Cubic,
            other => return Err(format!("{what}: unknown interpolation {other}")),
        };
        let (times, _) = accessor(&gltf, bin, index(&sampler["input"], "a sampler's input")?)?;
        let (raw, width) = accessor(&gltf, bin, index(&sampler["output"], "a sampler's output")?)?;
        let want = if rotation { 4 } else { 3 };
        if width != want {
            return Err(format!("{what}: {path} values have {width} components"));
        }
        let values: Vec<Vec4> = raw
            .chunks_exact(width)
            .map(|v| {
                if rotation {
                    Vec4::from_slice(v)
                } else {
                    Vec3::from_slice(v).extend(0.0)
                }
            })
            .collect();
        let per_key = if interpolation == Interpolation::Cubic {
            3
        } else {
            1
        };
        if times.is_empty() || values.len() != times.len() * per_key {
            return Err(format!(
                "{what}: {} keys but {} values",
                times.len(),
                values.len()
            ));
        }
        if times.windows(2).any(|w| w[1] < w[0]) {
            return Err(format!("{what}: key times go backwards"));
        }
        tracks.insert(
            (node, rotation),
            Track {
                times,
                values,
                interpolation,
                rotation,
            },
        );
    }

    // Expressions and the gaze.
    let mut expressions: Vec<(String, usize, bool)> = Vec::new();
    for group in ["preset", "custom"] {
        if let Some(map) = ext["expressions"][group].as_object() {
            for (name, e) in map {
                let node = node_ref(&e["node"], &format!("expression {name}"))?;
                let mut probe = ExpressionWeights::default();
                let carried = set_expression(&mut probe, name, 1.0);
                expressions.push((name.clone(), node, carried));
            }
        }
    }
    let look_node = match &ext["lookAt"]["node"] {
        Value::Null => None,
        v => Some(node_ref(v, "lookAt")?),
    };

    // The sampling rate: the keys' own spacing (evenly spaced keys: their mean step), kept
    // between 30 and 120 fps.
    let spacing = tracks
        .values()
        .filter(|t| t.times.len() >= 2)
        .map(|t| {
            let n = t.times.len();
            let mean = (t.times[n - 1] - t.times[0]) as f64 / (n - 1) as f64;
            let even = t
                .times
                .windows(2)
                .all(|w| ((w[1] - w[0]) as f64 - mean).abs() <= 0.05 * mean);
            if even {
                mean
            } else {
                t.times
                    .windows(2)
                    .map(|w| (w[1] - w[0]) as f64)
                    .filter(|d| *d > 1e-4)
                    .fold(f64::MAX, f64::min)
            }
        })
        .filter(|d| *d > 1e-4)
        .fold(f64::MAX, f64::min);
    let frame_time = if spacing == f64::MAX {
        1.0 / 30.0
    } else {
        spacing.clamp(1.0 / 120.0, 1.0 / 30.0)
    };
    let duration = tracks
        .values()
        .map(|t| t.times[t.times.len() - 1])
        .fold(0.0f32, f32::max) as f64;
    let frames = ((duration / frame_time).round() as u64).saturating_add(1);
    if frames.saturating_mul(joints.len() as u64 * 6 + 3) > MAX_VALUES {
        return Err(format!(
            "{duration:.1} s at {:.0} fps over {} joints is too long",
            1.0 / frame_time,
            joints.len()
        ));
    }
    let frames = frames as usize;

    // World transforms of the chain for a frame (`None`: the rest pose).
    let world = |t: Option<f32>| -> BTreeMap<usize, (Mat4, Quat)> {
        let mut out: BTreeMap<usize, (Mat4, Quat)> = BTreeMap::new();
        for &n in &chain {
            let mut local = rest[n];
            if let Some(t) = t {
                if let Some(track) = tracks.get(&(n, true)) {
                    local.rotation = Quat::from_vec4(track.sample(t));
                }
                if let Some(track) = tracks.get(&(n, false)) {
                    local.translation = track.sample(t).truncate();
                }
            }
            let (pm, pr) = parent[n]
                .and_then(|p| out.get(&p).copied())
                .unwrap_or((Mat4::IDENTITY, Quat::IDENTITY));
            out.insert(
                n,
                (pm * local.to_matrix(), (pr * local.rotation).normalize()),
            );
        }
        out
    };
    let rest_world = world(None);
    let rest_pos = |n: usize| rest_world[&n].0.w_axis.truncate();
    let joint_of: BTreeMap<usize, usize> =
        joints.iter().enumerate().map(|(k, n)| (*n, k)).collect();
    let name_of = |n: usize| -> String {
        bone_node
            .iter()
            .find(|(_, node)| **node == n)
            .map(|(b, _)| b.name().to_string())
            .unwrap_or_else(|| format!("node{n}"))
    };
    const ROTATION: [Channel; 3] = [Channel::Zrotation, Channel::Xrotation, Channel::Yrotation];
    let moves = |n: usize| n == joints[0] || tracks.contains_key(&(n, false));
    let mut bvh_joints = Vec::with_capacity(joints.len());
    let mut first_channel = 0;
    for &n in &joints {
        let p = parent[n].and_then(|p| joint_of.get(&p).copied());
        let channels: Vec<Channel> = if moves(n) {
            [Channel::Xposition, Channel::Yposition, Channel::Zposition]
                .into_iter()
                .chain(ROTATION)
                .collect()
        } else {
            ROTATION.to_vec()
        };
        bvh_joints.push(Joint {
            name: name_of(n),
            parent: p,
            offset: match p {
                Some(_) => rest_pos(n) - rest_pos(parent[n].expect("has a parent")),
                None => rest_pos(n),
            },
            channels: channels.clone(),
            first_channel,
            end_site: None,
        });
        first_channel += channels.len();
    }
    let mut values = Vec::with_capacity(frames * first_channel);
    let mut faces = Vec::new();
    let animated_face = look_node.is_some_and(|n| tracks.contains_key(&(n, true)))
        || expressions
            .iter()
            .any(|(_, n, _)| tracks.contains_key(&(*n, false)));
    for f in 0..frames {
        let t = (f as f64 * frame_time) as f32;
        let w = world(Some(t));
        // The BVH frame of a joint: its world rotation relative to its world rest rotation.
        let g = |n: usize| (w[&n].1 * rest_world[&n].1.inverse()).normalize();
        for &n in &joints {
            let parent_g = parent[n]
                .filter(|p| joint_of.contains_key(p))
                .map(g)
                .unwrap_or(Quat::IDENTITY);
            if moves(n) {
                let at = w[&n].0.w_axis.truncate();
                let local = match parent[n].filter(|p| joint_of.contains_key(p)) {
                    Some(p) => parent_g.inverse() * (at - w[&p].0.w_axis.truncate()),
                    None => at,
                };
                values.extend_from_slice(&local.to_array());
            }
            let local = (parent_g.inverse() * g(n)).normalize();
            values.extend_from_slice(&euler_for_channels(local, ROTATION).expect("supported"));
        }
        if animated_face {
            let mut face = ExpressionWeights::default();
            for (name, node, _) in &expressions {
                if let Some(track) = tracks.get(&(*node, false)) {
                    set_expression(&mut face, name, track.sample(t).x.clamp(0.0, 1.0));
                }
            }
            if let Some(track) = look_node.and_then(|n| tracks.get(&(n, true))) {
                set_gaze(&mut face, Quat::from_vec4(track.sample(t)) * Vec3::Z);
            }
            faces.push(face);
        }
    }
    if values.iter().any(|v| !v.is_finite()) || bvh_joints.iter().any(|j| !j.offset.is_finite()) {
        return Err(
            "the nodes' transforms overflow (values too large to place the skeleton)".into(),
        );
    }
    let bvh = Bvh {
        joints: bvh_joints,
        frame_time,
        frame_count: frames,
        values,
    };
    let map = BoneMap {
        convention: Convention::Vrm,
        bones: bone_node
            .keys()
            .filter(|b| joint_of.contains_key(&bone_node[b]))
            .map(|b| (*b, b.name().to_string()))
            .collect(),
        inferred: Default::default(),
    };
    Ok(Vrma {
        bvh,
        map,
        faces,
        expressions: expressions.into_iter().map(|(n, _, c)| (n, c)).collect(),
        look_at: look_node.is_some(),
        animations: (animations.len(), channels.len()),
    })
}

/// Sets the canonical signals a VRM expression stands for (taking the larger where two
/// expressions drive one signal); false if it stands for none.
fn set_expression(face: &mut ExpressionWeights, name: &str, w: f32) -> bool {
    let names: &[&str] = match name {
        "aa" | "ih" | "ou" | "ee" | "oh" => &[name],
        "blink" => &["eyeBlinkLeft", "eyeBlinkRight"],
        "blinkLeft" => &["eyeBlinkLeft"],
        "blinkRight" => &["eyeBlinkRight"],
        "happy" => &["mouthSmileLeft", "mouthSmileRight"],
        "sad" => &["mouthFrownLeft", "mouthFrownRight"],
        "angry" => &["browDownLeft", "browDownRight"],
        "surprised" => &["browInnerUp", "eyeWideLeft", "eyeWideRight"],
        _ => {
            let Some(arkit) = ling_core::signals::ARKIT_NAMES
                .iter()
                .find(|n| n.eq_ignore_ascii_case(name))
            else {
                return false;
            };
            let old = face.get(arkit).unwrap_or(0.0);
            face.set(arkit, old.max(w));
            return true;
        }
    };
    for n in names {
        let old = face.get(n).unwrap_or(0.0);
        face.set(n, old.max(w));
    }
    true
}

/// ARKit's eye-look range: degrees across and up or down at weight 1.
const GAZE_ACROSS: f32 = 30.0;
const GAZE_UP_DOWN: f32 = 25.0;

/// The eye-look weights for a gaze direction in model space (+Z ahead, +X the performer's left).
fn set_gaze(face: &mut ExpressionWeights, dir: Vec3) {
    let dir = dir.normalize_or(Vec3::Z);
    let yaw = dir.x.atan2(dir.z).to_degrees() / GAZE_ACROSS;
    let pitch = dir.y.clamp(-1.0, 1.0).asin().to_degrees() / GAZE_UP_DOWN;
    face.set("eyeLookOutLeft", yaw.max(0.0));
    face.set("eyeLookInRight", yaw.max(0.0));
    face.set("eyeLookInLeft", (-yaw).max(0.0));
    face.set("eyeLookOutRight", (-yaw).max(0.0));
    face.set("eyeLookUpLeft", pitch.max(0.0));
    face.set("eyeLookUpRight", pitch.max(0.0));
    face.set("eyeLookDownLeft", (-pitch).max(0.0));
    face.set("eyeLookDownRight", (-pitch).max(0.0));
}

/// The gaze direction the ARKit eye-look weights give.
fn gaze(face: &ExpressionWeights) -> Vec3 {
    let g = |n: &str| face.get(n).unwrap_or(0.0);
    let yaw = ((g("eyeLookOutLeft") + g("eyeLookInRight")) / 2.0
        - (g("eyeLookInLeft") + g("eyeLookOutRight")) / 2.0)
        * GAZE_ACROSS;
    let pitch = ((g("eyeLookUpLeft") + g("eyeLookUpRight")) / 2.0
        - (g("eyeLookDownLeft") + g("eyeLookDownRight")) / 2.0)
        * GAZE_UP_DOWN;
    let (yaw, pitch) = (yaw.to_radians(), pitch.to_radians());
    Vec3::new(
        yaw.sin() * pitch.cos(),
        pitch.sin(),
        yaw.cos() * pitch.cos(),
    )
}

/// The VRM expressions written, with the weight each takes from the canonical signals.
fn expression_weights(face: &ExpressionWeights) -> [(&'static str, f32); 12] {
    let g = |n: &str| face.get(n).unwrap_or(0.0);
    [
        ("aa", g("aa")),
        ("ih", g("ih")),
        ("ou", g("ou")),
        ("ee", g("ee")),
        ("oh", g("oh")),
        ("blinkLeft", g("eyeBlinkLeft")),
        ("blinkRight", g("eyeBlinkRight")),
        ("happy", (g("mouthSmileLeft") + g("mouthSmileRight")) / 2.0),
        ("sad", (g("mouthFrownLeft") + g("mouthFrownRight")) / 2.0),
        ("angry", (g("browDownLeft") + g("browDownRight")) / 2.0),
        (
            "surprised",
            g("browInnerUp").min((g("eyeWideLeft") + g("eyeWideRight")) / 2.0),
        ),
        ("relaxed", 0.0),
    ]
}

/// Writes samples taken every `frame_time` seconds as a `.vrma` (GLB): the humanoid in its rest
/// T-pose (VRM names, metres; no eye bones, which VRM animations leave to the gaze), one
/// rotation channel per bone and the hips' translation (the stage root applied), the
/// expressions as node translations and the gaze as a node rotation. `twist` gives every node
/// a rest rotation (compensated in its translation and motion) to test readers.
pub(crate) fn write(samples: &[ClipSample], frame_time: f64, twist: bool) -> Vec<u8> {
    let bones: Vec<HumanBone> = HumanBone::ALL
        .iter()
        .copied()
        .filter(|b| !matches!(b, HumanBone::LeftEye | HumanBone::RightEye))
        .collect();
    let node_of = |b: HumanBone| bones.iter().position(|x| *x == b).expect("written");
    // Local rest rotations: identity, or a fixed twist per bone.
    let rest_local: Vec<Quat> = bones
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if twist {
                Quat::from_euler(EulerRot::YXZ, 0.3 * i as f32, 0.7 - 0.1 * i as f32, 0.2)
            } else {
                Quat::IDENTITY
            }
        })
        .collect();
    let mut rest_world = vec![Quat::IDENTITY; bones.len()];
    for (i, b) in bones.iter().enumerate() {
        let p = b
            .parent()
            .map(|p| rest_world[node_of(p)])
            .unwrap_or(Quat::IDENTITY);
        rest_world[i] = p * rest_local[i];
    }
    let expressions = expression_weights(&ExpressionWeights::default()).map(|(n, _)| n);
    let first_expression = bones.len();
    let look_node = first_expression + expressions.len();

    let mut nodes: Vec<Value> = Vec::new();
    for (i, b) in bones.iter().enumerate() {
        let parent_rest = b
            .parent()
            .map(|p| rest_world[node_of(p)])
            .unwrap_or(Quat::IDENTITY);
        let t = parent_rest.inverse() * b.rest_local_translation();
        let children: Vec<usize> = bones
            .iter()
            .enumerate()
            .filter(|(_, c)| c.parent() == Some(*b))
            .map(|(k, _)| k)
            .collect();
        let mut node = json!({
            "name": b.name(),
            "translation": t.to_array(),
            "rotation": rest_local[i].to_array(),
        });
        if !children.is_empty() {
            node["children"] = json!(children);
        }
        nodes.push(node);
    }
    for name in expressions {
        nodes.push(json!({ "name": format!("expression {name}") }));
    }
    nodes.push(json!({ "name": "lookAt" }));

    // Binary data: times, then one output per channel.
    let mut bin: Vec<u8> = Vec::new();
    let mut views: Vec<Value> = Vec::new();
    let mut accessors: Vec<Value> = Vec::new();
    let mut push = |data: &[f32], kind: &str, min_max: bool| -> usize {
        let offset = bin.len();
        for v in data {
            bin.extend_from_slice(&v.to_le_bytes());
        }
        views.push(json!({ "buffer": 0, "byteOffset": offset, "byteLength": data.len() * 4 }));
        let width = match kind {
            "SCALAR" => 1,
            "VEC3" => 3,
            _ => 4,
        };
        let mut acc = json!({
            "bufferView": views.len() - 1,
            "componentType": 5126,
            "count": data.len() / width,
            "type": kind,
        });
        if min_max {
            let lo = data.iter().copied().fold(f32::MAX, f32::min);
            let hi = data.iter().copied().fold(f32::MIN, f32::max);
            acc["min"] = json!([lo]);
            acc["max"] = json!([hi]);
        }
        accessors.push(acc);
        accessors.len() - 1
    };
    let times: Vec<f32> = (0..samples.len())
        .map(|i| (i as f64 * frame_time) as f32)
        .collect();
    let input = push(&times, "SCALAR", true);
    let mut samplers: Vec<Value> = Vec::new();
    let mut channels: Vec<Value> = Vec::new();
    let mut channel = |node: usize, path: &str, output: usize| {
        samplers.push(json!({ "input": input, "output": output, "interpolation": "LINEAR" }));
        channels.push(json!({
            "sampler": samplers.len() - 1,
            "target": { "node": node, "path": path },
        }));
    };
    // Per frame, the normalized world rotations (FK of the pose), then the nodes' locals.
    let mut rotations: Vec<Vec<f32>> = vec![Vec::new(); bones.len()];
    let mut hips: Vec<f32> = Vec::new();
    let mut weights: Vec<Vec<f32>> = vec![Vec::new(); expressions.len()];
    let mut look: Vec<f32> = Vec::new();
    for s in samples {
        let mut normal = vec![Quat::IDENTITY; bones.len()];
        for (i, b) in bones.iter().enumerate() {
            let mut q = s.pose.rotation(*b);
            if *b == HumanBone::Hips {
                q = s.root.rotation * q;
            }
            let p = b
                .parent()
                .map(|p| normal[node_of(p)])
                .unwrap_or(Quat::IDENTITY);
            normal[i] = (p * q).normalize();
        }
        for (i, b) in bones.iter().enumerate() {
            let (pn, pr) = b
                .parent()
                .map(|p| (normal[node_of(p)], rest_world[node_of(p)]))
                .unwrap_or((Quat::IDENTITY, Quat::IDENTITY));
            // glTF world = normalized world × rest world; local = parent world⁻¹ × world.
            let local = ((pn * pr).inverse() * normal[i] * rest_world[i]).normalize();
            rotations[i].extend_from_slice(&local.to_array());
        }
        hips.extend_from_slice(&s.root.transform_point(s.pose.hips).to_array());
        for (k, (_, w)) in expression_weights(&s.expressions).iter().enumerate() {
            weights[k].push(*w);
        }
        let dir = gaze(&s.expressions);
        look.extend_from_slice(&Quat::from_rotation_arc(Vec3::Z, dir).to_array());
    }
    for (i, r) in rotations.iter().enumerate() {
        let out = push(r, "VEC4", false);
        channel(i, "rotation", out);
    }
    let out = push(&hips, "VEC3", false);
    channel(node_of(HumanBone::Hips), "translation", out);
    for (k, w) in weights.iter().enumerate() {
        let xyz: Vec<f32> = w.iter().flat_map(|x| [*x, 0.0, 0.0]).collect();
        let out = push(&xyz, "VEC3", false);
        channel(first_expression + k, "translation", out);
    }
    let out = push(&look, "VEC4", false);
    channel(look_node, "rotation", out);

    let human_bones: serde_json::Map<String, Value> = bones
        .iter()
        .enumerate()
        .map(|(i, b)| (b.name().to_string(), json!({ "node": i })))
        .collect();
    let preset: serde_json::Map<String, Value> = expressions
        .iter()
        .enumerate()
        .map(|(k, n)| (n.to_string(), json!({ "node": first_expression + k })))
        .collect();
    let mut scene_nodes = vec![node_of(HumanBone::Hips)];
    scene_nodes.extend(first_expression..=look_node);
    let doc = json!({
        "asset": { "version": "2.0", "generator": "Ling Stage" },
        "extensionsUsed": ["VRMC_vrm_animation"],
        "extensions": { "VRMC_vrm_animation": {
            "specVersion": "1.0",
            "humanoid": { "humanBones": human_bones },
            "expressions": { "preset": preset },
            "lookAt": { "node": look_node, "offsetFromHeadBone": [0.0, 0.06, 0.0] },
        }},
        "scene": 0,
        "scenes": [{ "nodes": scene_nodes }],
        "nodes": nodes,
        "buffers": [{ "byteLength": bin.len() }],
        "bufferViews": views,
        "accessors": accessors,
        "animations": [{ "channels": channels, "samplers": samplers }],
    });
    pack_glb(&serde_json::to_vec(&doc).expect("JSON"), &bin)
}

/// Packs JSON and binary chunks into a GLB, each padded to four bytes.
fn pack_glb(json: &[u8], bin: &[u8]) -> Vec<u8> {
    let pad = |n: usize| (4 - n % 4) % 4;
    let (jp, bp) = (pad(json.len()), pad(bin.len()));
    let total = 12 + 8 + json.len() + jp + 8 + bin.len() + bp;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&((json.len() + jp) as u32).to_le_bytes());
    out.extend_from_slice(&JSON_CHUNK.to_le_bytes());
    out.extend_from_slice(json);
    out.extend(std::iter::repeat_n(b' ', jp));
    out.extend_from_slice(&((bin.len() + bp) as u32).to_le_bytes());
    out.extend_from_slice(&BIN_CHUNK.to_le_bytes());
    out.extend_from_slice(bin);
    out.extend(std::iter::repeat_n(0u8, bp));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retarget::HumanoidClip;

    /// The samples of a keyframed or captured clip every `frame_time` seconds.
    fn demo_samples(frames: usize, frame_time: f64) -> Vec<ClipSample> {
        let clip = crate::demo::demo_clip();
        (0..frames)
            .map(|i| clip.sample((i as f64 * frame_time) as f32))
            .collect()
    }

    fn angle(a: Quat, b: Quat) -> f32 {
        a.angle_between(b)
    }

    /// The largest bone-rotation difference (radians) between written samples and the clip
    /// read back, hips taken in the world (stage root applied), eyes left out (VRM animations
    /// leave them to the gaze), and the largest hips-motion difference (metres).
    fn compare(samples: &[ClipSample], clip: &HumanoidClip) -> (f32, f32) {
        assert_eq!(clip.poses.len(), samples.len());
        let (mut rot, mut pos) = (0.0f32, 0.0f32);
        let hips0 = samples[0].root.transform_point(samples[0].pose.hips);
        for (s, p) in samples.iter().zip(&clip.poses) {
            for &b in HumanBone::ALL {
                if matches!(b, HumanBone::LeftEye | HumanBone::RightEye) {
                    continue;
                }
                let mut want = s.pose.rotation(b);
                if b == HumanBone::Hips {
                    want = s.root.rotation * want;
                }
                rot = rot.max(angle(want, p.rotation(b)));
            }
            let moved = s.root.transform_point(s.pose.hips) - hips0;
            let read = p.hips - clip.poses[0].hips;
            pos = pos.max((moved - read).length());
        }
        (rot, pos)
    }

    #[test]
    fn a_written_animation_reads_back_with_body_face_and_gaze() {
        let frame_time = 1.0 / 30.0;
        let samples = demo_samples(200, frame_time);
        for twist in [false, true] {
            let bytes = write(&samples, frame_time, twist);
            let anim = parse(&bytes).unwrap();
            assert_eq!(anim.bvh.frame_count, samples.len());
            assert!((anim.bvh.fps() - 30.0).abs() < 1e-6);
            assert_eq!(
                anim.map.bones.len(),
                HumanBone::COUNT - 2,
                "all but the eyes"
            );
            assert!(anim.look_at);
            assert_eq!(anim.animations, (1, 53 + 1 + 12 + 1));
            assert!(anim.expressions.contains(&("happy".to_string(), true)));
            assert!(anim.expressions.contains(&("relaxed".to_string(), false)));
            let clip = anim.clip().unwrap();
            let (rot, pos) = compare(&samples, &clip);
            println!(
                "demo clip → .vrma ({} bytes, rest twisted: {twist}) → clip: bones within {rot:.2e} rad, hips within {pos:.2e} m",
                bytes.len()
            );
            assert!(rot < 2e-3, "bones differ by {rot} rad (twist {twist})");
            assert!(pos < 1e-3, "hips differ by {pos} m (twist {twist})");
            assert_eq!(anim.faces.len(), samples.len());
            let mut blinked = false;
            for (s, f) in samples.iter().zip(&anim.faces) {
                for v in [
                    "aa",
                    "ih",
                    "ou",
                    "ee",
                    "oh",
                    "eyeBlinkLeft",
                    "eyeBlinkRight",
                ] {
                    let (a, b) = (s.expressions.get(v).unwrap(), f.get(v).unwrap());
                    assert!((a - b).abs() < 1e-5, "{v}: {a} vs {b}");
                }
                blinked |= f.get("eyeBlinkLeft").unwrap() > 0.5;
                let (a, b) = (gaze(&s.expressions), gaze(f));
                assert!(a.angle_between(b) < 1e-3, "gaze {a} vs {b}");
            }
            assert!(blinked, "the demo blinks");
        }
    }

    #[test]
    fn cmu_clips_go_through_vrma_and_back() {
        let path = ling_testkit::repo_root().join("../shared/data/mocap/cmu_131_02.bvh");
        if !path.exists() {
            ling_testkit::skip(format!(
                "cmu_clips_go_through_vrma_and_back: {} not found",
                path.display()
            ));
            return;
        }
        let clip = crate::load_capture(&path, None).unwrap();
        let samples: Vec<ClipSample> = clip
            .poses
            .iter()
            .map(|pose| ClipSample {
                pose: pose.clone(),
                root: Transform::IDENTITY,
                expressions: ExpressionWeights::default(),
            })
            .collect();
        let bytes = write(&samples, clip.frame_time, true);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cmu.vrma");
        std::fs::write(&file, &bytes).unwrap();
        let back = crate::load_capture(&file, None).unwrap();
        assert!(
            (back.frame_time - clip.frame_time).abs() < 1e-6,
            "120 fps kept"
        );
        let (rot, pos) = compare(&samples, &back);
        println!(
            "{} → {} ({} frames, {} bytes) → clip: bones within {rot:.2e} rad, hips within {pos:.2e} m",
            path.display(),
            file.display(),
            back.poses.len(),
            bytes.len()
        );
        assert!(rot < 2e-3 && pos < 1e-3, "{rot} rad, {pos} m");
    }

    #[test]
    fn a_show_plays_a_vrma_with_its_face() {
        let frame_time = 1.0 / 30.0;
        let samples = demo_samples(360, frame_time);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.vrma");
        std::fs::write(&file, write(&samples, frame_time, false)).unwrap();
        let show = ling_core::show::ShowFile {
            motion: ling_core::show::MotionSpec::Bvh {
                path: file.clone(),
                speed: 1.0,
                looping: false,
                bone_map: None,
            },
            ..Default::default()
        };
        let player = crate::MotionPlayer::for_show(&show).unwrap();
        assert!(player.source.label().contains("demo.vrma"));
        assert!((player.source.duration() - 12.0).abs() < 1e-6);
        let mut spoke = false;
        for f in (0..360).step_by(7) {
            let t = f as f64 * frame_time;
            let played = player.sample(t);
            let want = &samples[f].expressions;
            for v in ["aa", "oh", "eyeBlinkLeft"] {
                let (a, b) = (want.get(v).unwrap(), played.expressions.get(v).unwrap());
                assert!((a - b).abs() < 1e-4, "{v} at frame {f}: {a} vs {b}");
            }
            spoke |= played.expressions.get("aa").unwrap() > 0.1;
            let arm = samples[f].pose.rotation(HumanBone::LeftLowerArm);
            assert!(angle(arm, played.pose.rotation(HumanBone::LeftLowerArm)) < 2e-3);
        }
        assert!(spoke, "the demo sings");
    }

    #[test]
    fn broken_files_are_refused_with_what_is_wrong_never_a_panic() {
        let bytes = write(&demo_samples(10, 0.1), 0.1, false);
        for cut in (0..bytes.len()).step_by(97) {
            assert!(parse(&bytes[..cut]).is_err(), "a {cut}-byte prefix parsed");
        }
        let err = parse(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(err.contains("cut short"), "{err}");
        let err = parse(b"HIERARCHY\nROOT Hips").unwrap_err();
        assert!(err.contains("not a binary glTF"), "{err}");

        let (json, bin) = glb(&bytes).unwrap();
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut j = json.clone();
            f(&mut j);
            parse(&pack_glb(&serde_json::to_vec(&j).unwrap(), bin))
        };
        let err = edit(&|j| j["extensions"] = json!({})).unwrap_err();
        assert!(err.contains("no VRMC_vrm_animation"), "{err}");
        let err = edit(&|j| j["accessors"][3]["count"] = json!(1_000_000)).unwrap_err();
        assert!(
            err.contains("accessor 3") && err.contains("runs past"),
            "{err}"
        );
        let err = edit(&|j| {
            j["extensions"]["VRMC_vrm_animation"]["humanoid"]["humanBones"]["spine"]["node"] =
                json!(999)
        })
        .unwrap_err();
        assert!(err.contains("humanoid bone spine is node 999"), "{err}");
        let err = edit(&|j| j["animations"] = json!([])).unwrap_err();
        assert!(err.contains("no animation"), "{err}");
        let err = edit(&|j| j["nodes"][1]["children"] = json!([0])).unwrap_err();
        assert!(
            err.contains("cycle") || err.contains("more than one parent"),
            "{err}"
        );
    }

    #[test]
    fn rotations_transfer_as_normalized_bones_whatever_the_rest_proportions() {
        // Another rig's T-pose: the thumb sits elsewhere on the hand and the neck leans. The
        // rotations still arrive as written (no turning of the hand or neck to match ours).
        let samples = demo_samples(30, 1.0 / 30.0);
        let bytes = write(&samples, 1.0 / 30.0, false);
        let (mut json, bin) = glb(&bytes).unwrap();
        let bone_node = |b: HumanBone| {
            json["extensions"]["VRMC_vrm_animation"]["humanoid"]["humanBones"][b.name()]["node"]
                .as_u64()
                .unwrap() as usize
        };
        let (thumb, head) = (
            bone_node(HumanBone::LeftThumbMetacarpal),
            bone_node(HumanBone::Head),
        );
        json["nodes"][thumb]["translation"] = json!([0.01, -0.02, 0.04]);
        json["nodes"][head]["translation"] = json!([0.0, 0.1, 0.04]);
        let anim = parse(&pack_glb(&serde_json::to_vec(&json).unwrap(), bin)).unwrap();
        let (rot, _) = compare(&samples, &anim.clip().unwrap());
        assert!(rot < 2e-3, "rotations moved by {rot} rad");
    }

    #[test]
    fn every_field_set_to_odd_values_is_refused_or_read_never_a_panic() {
        let bytes = write(&demo_samples(3, 0.1), 0.1, true);
        let (json, bin) = glb(&bytes).unwrap();
        fn paths(v: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
            out.push(at.clone());
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        at.push(json!(k));
                        paths(x, at, out);
                        at.pop();
                    }
                }
                // The first few items of an array stand for the rest.
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate().take(3) {
                        at.push(json!(i));
                        paths(x, at, out);
                        at.pop();
                    }
                }
                _ => {}
            }
        }
        let mut all = Vec::new();
        paths(&json, &mut Vec::new(), &mut all);
        let odd = [
            json!(null),
            json!(-1),
            json!(4_000_000_000u64),
            json!(1e30),
            json!("x"),
            json!([]),
        ];
        let (mut read, mut refused) = (0, 0);
        for path in &all {
            for value in &odd {
                let mut j = json.clone();
                let mut at = &mut j;
                for key in path {
                    at = match key {
                        Value::String(k) => &mut at[k.as_str()],
                        _ => &mut at[key.as_u64().unwrap() as usize],
                    };
                }
                *at = value.clone();
                match parse(&pack_glb(&serde_json::to_vec(&j).unwrap(), bin)) {
                    Ok(anim) => {
                        read += 1;
                        if let Ok(clip) = anim.clip() {
                            for pose in &clip.poses {
                                assert!(
                                    pose.hips.is_finite()
                                        && pose.rotations.iter().all(|q| q.is_finite()),
                                    "{path:?} = {value}: a pose that is not finite"
                                );
                            }
                        }
                        assert!(
                            anim.faces
                                .iter()
                                .all(|f| f.arkit.iter().all(|w| w.is_finite()))
                        );
                    }
                    Err(_) => refused += 1,
                }
            }
        }
        println!(
            "{} fields × {} odd values: {read} read, {refused} refused",
            all.len(),
            odd.len()
        );
        assert!(refused > 0 && read > 0);
    }

    #[test]
    fn step_samplers_hold_each_key() {
        let bytes = write(&demo_samples(4, 0.5), 0.5, false);
        let (json, bin) = glb(&bytes).unwrap();
        let mut step = json.clone();
        for s in step["animations"][0]["samplers"].as_array_mut().unwrap() {
            s["interpolation"] = json!("STEP");
        }
        let anim = parse(&pack_glb(&serde_json::to_vec(&step).unwrap(), bin)).unwrap();
        // Keys every 0.5 s are sampled at 30 fps; STEP holds each key until the next.
        assert_eq!(anim.bvh.frame_count, 46);
        let clip = anim.clip().unwrap();
        let arm = |f: usize| clip.poses[f].rotation(HumanBone::LeftUpperArm);
        assert!(angle(arm(1), arm(14)) < 1e-4, "held between keys");
        assert!(angle(arm(14), arm(15)) > 1e-3, "jumps at the key");
    }

    #[test]
    fn cubic_splines_follow_the_hermite_curve() {
        // Two keys one second apart, zero tangents: an ease from 0 to 1.
        let track = Track {
            times: vec![0.0, 1.0],
            values: [
                Vec4::ZERO,
                Vec4::ZERO,
                Vec4::ZERO,
                Vec4::ZERO,
                Vec4::X,
                Vec4::ZERO,
            ]
            .to_vec(),
            interpolation: Interpolation::Cubic,
            rotation: false,
        };
        assert!((track.sample(0.5).x - 0.5).abs() < 1e-6);
        assert!((track.sample(0.25).x - 0.15625).abs() < 1e-6);
        assert_eq!(track.sample(2.0).x, 1.0);
        let linear = Track {
            interpolation: Interpolation::Linear,
            values: vec![Vec4::ZERO, Vec4::X],
            ..track
        };
        assert!((linear.sample(0.25).x - 0.25).abs() < 1e-6);
    }
}
