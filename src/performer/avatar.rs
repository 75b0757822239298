//! Avatar files: VRM 0.x (`VRM` extension), VRM 1.0 (`VRMC_vrm`, `VRMC_springBone`) and plain
//! glTF/GLB humanoids, read into one description — humanoid bone map, expressions with their
//! morph-target binds and override rules, look-at, spring-bone chains and colliders (kept as
//! data for the physics module), and the licence metadata a VTuber must be shown.
//!
//! The reader works on the file's glTF JSON (GLB or `.gltf`), so it is a plain function over
//! bytes: quick to test and fuzz, and independent of how the renderer loads meshes. For plain
//! glTF the humanoid map is inferred from joint names (Mixamo, VRM, Unity and CMU namings, and
//! the common `UpperArmL` / `upperarm_l` / `LeftUpperArm` patterns).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bevy::math::Vec3;
use serde_json::Value;

use super::humanoid::{HumanBone, REQUIRED_BONES};
use crate::mocap::BoneMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvatarKind {
    Vrm0,
    Vrm1,
    /// A glTF humanoid without VRM data; the bone map was inferred from names.
    Gltf,
}

/// A node of the glTF scene graph, by index and name.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRef {
    pub index: usize,
    pub name: String,
}

/// One morph target moved by an expression: (mesh, morph target index, weight 0..1).
#[derive(Debug, Clone, PartialEq)]
pub struct MorphBind {
    pub mesh: usize,
    pub index: usize,
    pub weight: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Override {
    #[default]
    None,
    Block,
    Blend,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// VRM 1.0 name (`aa`, `happy`, `blinkLeft`, ... or the custom name).
    pub name: String,
    /// Whether the name is one of VRM's presets.
    pub preset: bool,
    pub binds: Vec<MorphBind>,
    /// Material colour / texture transform binds (counted; applied with the MToon material).
    pub material_binds: usize,
    pub is_binary: bool,
    pub override_blink: Override,
    pub override_look_at: Override,
    pub override_mouth: Override,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LookAtKind {
    Bone,
    Expression,
}

/// A range map: input angle (degrees) up to `input_max` maps linearly to `output_scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeMap {
    pub input_max: f32,
    pub output_scale: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LookAt {
    pub kind: LookAtKind,
    pub offset_from_head: Vec3,
    pub horizontal_inner: RangeMap,
    pub horizontal_outer: RangeMap,
    pub vertical_down: RangeMap,
    pub vertical_up: RangeMap,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpringJoint {
    pub node: usize,
    pub stiffness: f32,
    pub gravity_power: f32,
    pub gravity_dir: Vec3,
    pub drag: f32,
    pub hit_radius: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpringChain {
    pub name: String,
    pub joints: Vec<SpringJoint>,
    pub collider_groups: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColliderShape {
    Sphere {
        offset: Vec3,
        radius: f32,
    },
    Capsule {
        offset: Vec3,
        tail: Vec3,
        radius: f32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collider {
    pub node: usize,
    pub shape: ColliderShape,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpringData {
    pub chains: Vec<SpringChain>,
    pub colliders: Vec<Collider>,
    /// Each group lists indices into `colliders`.
    pub collider_groups: Vec<Vec<usize>>,
}

/// Who made the avatar and what its licence allows, as the file states it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AvatarMeta {
    pub title: String,
    pub version: String,
    pub authors: Vec<String>,
    pub license: String,
    /// Every other field, in file order, as `(key, value)`.
    pub fields: Vec<(String, String)>,
}

/// Everything Ling Stage reads from an avatar file besides its meshes.
#[derive(Debug, Clone, PartialEq)]
pub struct AvatarFile {
    pub path: PathBuf,
    pub kind: AvatarKind,
    pub meta: AvatarMeta,
    pub humanoid: BTreeMap<HumanBone, NodeRef>,
    pub expressions: Vec<Expression>,
    pub look_at: Option<LookAt>,
    pub spring: SpringData,
    /// Morph target names per mesh (from `extras.targetNames`), where the file names them.
    pub morph_targets: Vec<Vec<String>>,
    pub node_count: usize,
    pub skinned_meshes: usize,
    /// (glTF mesh index, name of a node that carries it).
    pub mesh_nodes: Vec<(usize, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    #[error("cannot read avatar {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a glTF/GLB/VRM file: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path} is not a humanoid: {message}")]
    NotHumanoid { path: PathBuf, message: String },
}

/// The JSON of a GLB (binary glTF) or `.gltf` file.
fn gltf_json(bytes: &[u8]) -> Result<Value, String> {
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

fn f32_of(v: &Value, default: f32) -> f32 {
    v.as_f64().map(|f| f as f32).unwrap_or(default)
}

fn vec3_xyz(v: &Value) -> Vec3 {
    Vec3::new(
        f32_of(&v["x"], 0.0),
        f32_of(&v["y"], 0.0),
        f32_of(&v["z"], 0.0),
    )
}

fn vec3_arr(v: &Value, default: Vec3) -> Vec3 {
    match v.as_array() {
        Some(a) if a.len() == 3 => {
            Vec3::new(f32_of(&a[0], 0.0), f32_of(&a[1], 0.0), f32_of(&a[2], 0.0))
        }
        _ => default,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// VRM 0.x names for VRM 1.0 bones that were renamed (the thumb).
fn vrm0_bone(name: &str) -> Option<HumanBone> {
    let renamed = name
        .replace("ThumbProximal", "ThumbMetacarpal")
        .replace("ThumbIntermediate", "ThumbProximal");
    HumanBone::from_name(&renamed)
}

/// VRM 0.x preset names to VRM 1.0 expression names.
fn vrm0_preset(preset: &str) -> Option<&'static str> {
    Some(match preset {
        "a" => "aa",
        "i" => "ih",
        "u" => "ou",
        "e" => "ee",
        "o" => "oh",
        "joy" => "happy",
        "angry" => "angry",
        "sorrow" => "sad",
        "fun" => "relaxed",
        "surprised" => "surprised",
        "blink" => "blink",
        "blink_l" => "blinkLeft",
        "blink_r" => "blinkRight",
        "lookup" => "lookUp",
        "lookdown" => "lookDown",
        "lookleft" => "lookLeft",
        "lookright" => "lookRight",
        "neutral" => "neutral",
        _ => return None,
    })
}

fn override_of(v: &Value) -> Override {
    match v.as_str() {
        Some("block") => Override::Block,
        Some("blend") => Override::Blend,
        _ => Override::None,
    }
}

impl AvatarFile {
    /// Reads an avatar file.
    pub fn load(path: &Path) -> Result<Self, AvatarError> {
        let bytes = std::fs::read(path).map_err(|source| AvatarError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&bytes, path)
    }

    /// Reads an avatar from bytes; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, AvatarError> {
        let json = gltf_json(bytes).map_err(|message| AvatarError::Format {
            path: path.to_owned(),
            message,
        })?;
        let nodes = json["nodes"].as_array().cloned().unwrap_or_default();
        let node = |i: usize| NodeRef {
            index: i,
            name: nodes.get(i).map(|n| text(&n["name"])).unwrap_or_default(),
        };
        // Mesh of each node, for VRM 1.0 binds that name nodes.
        let mesh_of_node = |i: usize| {
            nodes
                .get(i)
                .and_then(|n| n["mesh"].as_u64())
                .map(|m| m as usize)
        };
        let morph_targets: Vec<Vec<String>> = json["meshes"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        m["extras"]["targetNames"]
                            .as_array()
                            .map(|a| a.iter().map(text).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let skinned_meshes = nodes
            .iter()
            .filter(|n| !n["skin"].is_null() && !n["mesh"].is_null())
            .count();
        let ext = &json["extensions"];
        let mut avatar = AvatarFile {
            path: path.to_owned(),
            kind: AvatarKind::Gltf,
            meta: AvatarMeta::default(),
            humanoid: BTreeMap::new(),
            expressions: Vec::new(),
            look_at: None,
            spring: SpringData::default(),
            morph_targets,
            node_count: nodes.len(),
            skinned_meshes,
            mesh_nodes: nodes
                .iter()
                .filter_map(|n| Some((n["mesh"].as_u64()? as usize, text(&n["name"]))))
                .collect(),
        };

        if ext["VRMC_vrm"].is_object() {
            let vrm = &ext["VRMC_vrm"];
            avatar.kind = AvatarKind::Vrm1;
            if let Some(bones) = vrm["humanoid"]["humanBones"].as_object() {
                for (name, b) in bones {
                    if let (Some(bone), Some(i)) = (HumanBone::from_name(name), b["node"].as_u64())
                    {
                        avatar.humanoid.insert(bone, node(i as usize));
                    }
                }
            }
            let meta = &vrm["meta"];
            avatar.meta.title = text(&meta["name"]);
            avatar.meta.version = text(&meta["version"]);
            avatar.meta.authors = meta["authors"]
                .as_array()
                .map(|a| a.iter().map(text).collect())
                .unwrap_or_default();
            avatar.meta.license = text(&meta["licenseUrl"]);
            avatar.meta.fields = meta
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| {
                            !["name", "version", "authors", "licenseUrl"].contains(&k.as_str())
                        })
                        .map(|(k, v)| (k.clone(), text(v)))
                        .collect()
                })
                .unwrap_or_default();
            for (group, preset) in [("preset", true), ("custom", false)] {
                if let Some(exprs) = vrm["expressions"][group].as_object() {
                    for (name, e) in exprs {
                        let binds = e["morphTargetBinds"]
                            .as_array()
                            .map(|bs| {
                                bs.iter()
                                    .filter_map(|b| {
                                        let node = b["node"].as_u64()? as usize;
                                        Some(MorphBind {
                                            mesh: mesh_of_node(node)?,
                                            index: b["index"].as_u64()? as usize,
                                            weight: f32_of(&b["weight"], 1.0),
                                        })
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        let count = |k: &str| e[k].as_array().map(Vec::len).unwrap_or(0);
                        avatar.expressions.push(Expression {
                            name: name.clone(),
                            preset,
                            binds,
                            material_binds: count("materialColorBinds")
                                + count("textureTransformBinds"),
                            is_binary: e["isBinary"].as_bool().unwrap_or(false),
                            override_blink: override_of(&e["overrideBlink"]),
                            override_look_at: override_of(&e["overrideLookAt"]),
                            override_mouth: override_of(&e["overrideMouth"]),
                        });
                    }
                }
            }
            let la = &vrm["lookAt"];
            if la.is_object() {
                let range = |v: &Value| RangeMap {
                    input_max: f32_of(&v["inputMaxValue"], 90.0),
                    output_scale: f32_of(&v["outputScale"], 10.0),
                };
                avatar.look_at = Some(LookAt {
                    kind: if la["type"].as_str() == Some("expression") {
                        LookAtKind::Expression
                    } else {
                        LookAtKind::Bone
                    },
                    offset_from_head: vec3_arr(&la["offsetFromHeadBone"], Vec3::ZERO),
                    horizontal_inner: range(&la["rangeMapHorizontalInner"]),
                    horizontal_outer: range(&la["rangeMapHorizontalOuter"]),
                    vertical_down: range(&la["rangeMapVerticalDown"]),
                    vertical_up: range(&la["rangeMapVerticalUp"]),
                });
            }
            let sb = &ext["VRMC_springBone"];
            if sb.is_object() {
                for c in sb["colliders"].as_array().into_iter().flatten() {
                    let Some(node) = c["node"].as_u64() else {
                        continue;
                    };
                    let shape = &c["shape"];
                    let shape = if shape["capsule"].is_object() {
                        let s = &shape["capsule"];
                        ColliderShape::Capsule {
                            offset: vec3_arr(&s["offset"], Vec3::ZERO),
                            tail: vec3_arr(&s["tail"], Vec3::ZERO),
                            radius: f32_of(&s["radius"], 0.0),
                        }
                    } else {
                        let s = &shape["sphere"];
                        ColliderShape::Sphere {
                            offset: vec3_arr(&s["offset"], Vec3::ZERO),
                            radius: f32_of(&s["radius"], 0.0),
                        }
                    };
                    avatar.spring.colliders.push(Collider {
                        node: node as usize,
                        shape,
                    });
                }
                for g in sb["colliderGroups"].as_array().into_iter().flatten() {
                    avatar.spring.collider_groups.push(
                        g["colliders"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|i| i.as_u64().map(|i| i as usize))
                            .collect(),
                    );
                }
                for (k, s) in sb["springs"].as_array().into_iter().flatten().enumerate() {
                    let joints = s["joints"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|j| {
                            Some(SpringJoint {
                                node: j["node"].as_u64()? as usize,
                                stiffness: f32_of(&j["stiffness"], 1.0),
                                gravity_power: f32_of(&j["gravityPower"], 0.0),
                                gravity_dir: vec3_arr(&j["gravityDir"], Vec3::NEG_Y),
                                drag: f32_of(&j["dragForce"], 0.5),
                                hit_radius: f32_of(&j["hitRadius"], 0.0),
                            })
                        })
                        .collect();
                    avatar.spring.chains.push(SpringChain {
                        name: s["name"]
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("spring {k}")),
                        joints,
                        collider_groups: s["colliderGroups"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|i| i.as_u64().map(|i| i as usize))
                            .collect(),
                    });
                }
            }
        } else if ext["VRM"].is_object() {
            let vrm = &ext["VRM"];
            avatar.kind = AvatarKind::Vrm0;
            for b in vrm["humanoid"]["humanBones"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let (Some(bone), Some(i)) =
                    (b["bone"].as_str().and_then(vrm0_bone), b["node"].as_u64())
                {
                    avatar.humanoid.insert(bone, node(i as usize));
                }
            }
            let meta = &vrm["meta"];
            avatar.meta.title = text(&meta["title"]);
            avatar.meta.version = text(&meta["version"]);
            avatar.meta.authors = vec![text(&meta["author"])]
                .into_iter()
                .filter(|a| !a.is_empty())
                .collect();
            avatar.meta.license = text(&meta["licenseName"]);
            avatar.meta.fields = meta
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| {
                            !["title", "version", "author", "licenseName", "texture"]
                                .contains(&k.as_str())
                        })
                        .map(|(k, v)| (k.clone(), text(v)))
                        .collect()
                })
                .unwrap_or_default();
            for g in vrm["blendShapeMaster"]["blendShapeGroups"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let preset_name = g["presetName"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_ascii_lowercase();
                let (name, preset) = match vrm0_preset(&preset_name) {
                    Some(n) => (n.to_string(), true),
                    None => (text(&g["name"]), false),
                };
                let binds = g["binds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| {
                        Some(MorphBind {
                            mesh: b["mesh"].as_u64()? as usize,
                            index: b["index"].as_u64()? as usize,
                            // VRM 0.x weights are 0..100.
                            weight: f32_of(&b["weight"], 100.0) / 100.0,
                        })
                    })
                    .collect();
                avatar.expressions.push(Expression {
                    name,
                    preset,
                    binds,
                    material_binds: g["materialValues"].as_array().map(Vec::len).unwrap_or(0),
                    is_binary: g["isBinary"].as_bool().unwrap_or(false),
                    override_blink: Override::None,
                    override_look_at: Override::None,
                    override_mouth: Override::None,
                });
            }
            let fp = &vrm["firstPerson"];
            if fp.is_object() {
                let range = |v: &Value| RangeMap {
                    input_max: f32_of(&v["xRange"], 90.0),
                    output_scale: f32_of(&v["yRange"], 10.0),
                };
                avatar.look_at = Some(LookAt {
                    kind: if fp["lookAtTypeName"].as_str() == Some("BlendShape") {
                        LookAtKind::Expression
                    } else {
                        LookAtKind::Bone
                    },
                    offset_from_head: vec3_xyz(&fp["firstPersonBoneOffset"]),
                    horizontal_inner: range(&fp["lookAtHorizontalInner"]),
                    horizontal_outer: range(&fp["lookAtHorizontalOuter"]),
                    vertical_down: range(&fp["lookAtVerticalDown"]),
                    vertical_up: range(&fp["lookAtVerticalUp"]),
                });
            }
            let sa = &vrm["secondaryAnimation"];
            for g in sa["colliderGroups"].as_array().into_iter().flatten() {
                let node = g["node"].as_u64().unwrap_or(0) as usize;
                let mut group = Vec::new();
                for c in g["colliders"].as_array().into_iter().flatten() {
                    group.push(avatar.spring.colliders.len());
                    avatar.spring.colliders.push(Collider {
                        node,
                        shape: ColliderShape::Sphere {
                            offset: vec3_xyz(&c["offset"]),
                            radius: f32_of(&c["radius"], 0.0),
                        },
                    });
                }
                avatar.spring.collider_groups.push(group);
            }
            for (k, g) in sa["boneGroups"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                // VRM 0.x lists chain roots; each root's descendants form the chain.
                let joint = |node: usize| SpringJoint {
                    node,
                    // Sic: the VRM 0.x key is spelt "stiffiness".
                    stiffness: f32_of(&g["stiffiness"], 1.0),
                    gravity_power: f32_of(&g["gravityPower"], 0.0),
                    gravity_dir: vec3_xyz(&g["gravityDir"]),
                    drag: f32_of(&g["dragForce"], 0.4),
                    hit_radius: f32_of(&g["hitRadius"], 0.02),
                };
                for root in g["bones"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b.as_u64())
                {
                    let mut chain = vec![joint(root as usize)];
                    let mut at = root as usize;
                    while let Some(child) = nodes
                        .get(at)
                        .and_then(|n| n["children"].as_array())
                        .and_then(|c| c.first())
                        .and_then(|c| c.as_u64())
                    {
                        at = child as usize;
                        chain.push(joint(at));
                        if chain.len() > 256 {
                            break;
                        }
                    }
                    avatar.spring.chains.push(SpringChain {
                        name: format!(
                            "{} ({})",
                            if text(&g["comment"]).is_empty() {
                                format!("group {k}")
                            } else {
                                text(&g["comment"])
                            },
                            node(root as usize).name
                        ),
                        joints: chain,
                        collider_groups: g["colliderGroups"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|i| i.as_u64().map(|i| i as usize))
                            .collect(),
                    });
                }
            }
        } else {
            // Plain glTF: infer the humanoid from the skin joints' names.
            let joints: Vec<usize> = json["skins"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| {
                    s["joints"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|j| j.as_u64().map(|j| j as usize))
                })
                .collect();
            let candidates: Vec<usize> = if joints.is_empty() {
                (0..nodes.len()).collect()
            } else {
                joints
            };
            avatar.humanoid =
                infer_humanoid(&candidates.iter().map(|&i| node(i)).collect::<Vec<_>>());
            avatar.meta.title = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            // glTF morph targets named in extras become custom expressions of the same name.
            for (mesh, names) in avatar.morph_targets.iter().enumerate() {
                for (index, name) in names.iter().enumerate() {
                    match avatar.expressions.iter_mut().find(|e| &e.name == name) {
                        Some(e) => e.binds.push(MorphBind {
                            mesh,
                            index,
                            weight: 1.0,
                        }),
                        None => avatar.expressions.push(Expression {
                            name: name.clone(),
                            preset: false,
                            binds: vec![MorphBind {
                                mesh,
                                index,
                                weight: 1.0,
                            }],
                            material_binds: 0,
                            is_binary: false,
                            override_blink: Override::None,
                            override_look_at: Override::None,
                            override_mouth: Override::None,
                        }),
                    }
                }
            }
        }

        let missing: Vec<&str> = REQUIRED_BONES
            .iter()
            .filter(|b| !avatar.humanoid.contains_key(b))
            .map(|b| b.name())
            .collect();
        if !missing.is_empty() {
            return Err(AvatarError::NotHumanoid {
                path: path.to_owned(),
                message: format!(
                    "no {} found ({} of {} humanoid bones mapped){}",
                    missing.join(", "),
                    avatar.humanoid.len(),
                    HumanBone::COUNT,
                    if avatar.kind == AvatarKind::Gltf {
                        "; the joint names follow no known convention"
                    } else {
                        ""
                    }
                ),
            });
        }
        Ok(avatar)
    }

    pub fn expression(&self, name: &str) -> Option<&Expression> {
        self.expressions.iter().find(|e| e.name == name)
    }
}

/// Side of a joint name and its base: `UpperArmL`, `upperarm_l`, `LeftUpperArm`, `Arm.L`.
fn side_and_base(name: &str) -> (Option<bool>, String) {
    let lower = name.to_ascii_lowercase();
    let alnum = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    for (prefix, left) in [("left", true), ("right", false)] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return (Some(left), alnum(rest));
        }
    }
    for (suffix, left) in [
        ("_l", true),
        ("_r", false),
        (".l", true),
        (".r", false),
        ("-l", true),
        ("-r", false),
    ] {
        if let Some(rest) = lower.strip_suffix(suffix) {
            return (Some(left), alnum(rest));
        }
    }
    // `UpperArmL`: a capital L/R after a lower-case letter or digit.
    let chars: Vec<char> = name.chars().collect();
    if chars.len() >= 2 {
        let (last, before) = (chars[chars.len() - 1], chars[chars.len() - 2]);
        if (last == 'L' || last == 'R') && (before.is_ascii_lowercase() || before.is_ascii_digit())
        {
            return (Some(last == 'L'), alnum(&lower[..lower.len() - 1]));
        }
    }
    (None, alnum(&lower))
}

/// Infers a humanoid map from joint names: the known namings first (Mixamo, VRM, Unity, CMU),
/// then side-suffixed keywords; whichever maps more bones wins.
pub fn infer_humanoid(joints: &[NodeRef]) -> BTreeMap<HumanBone, NodeRef> {
    use HumanBone::*;
    let by_name = |n: &str| joints.iter().find(|j| j.name == n).cloned();
    let names: Vec<&str> = joints.iter().map(|j| j.name.as_str()).collect();
    let known: BTreeMap<HumanBone, NodeRef> = BoneMap::detect(&names)
        .map(|m| {
            m.bones
                .into_iter()
                .filter_map(|(b, n)| by_name(&n).map(|r| (b, r)))
                .collect()
        })
        .unwrap_or_default();

    let central: [(HumanBone, &[&str]); 6] = [
        (Hips, &["hips", "pelvis", "hip"]),
        (Spine, &["spine", "abdomen", "spine01", "spine1"]),
        (Chest, &["chest", "torso", "spine02", "spine2"]),
        (UpperChest, &["upperchest", "spine03", "spine3"]),
        (Neck, &["neck"]),
        (Head, &["head"]),
    ];
    let sided: [((HumanBone, HumanBone), &[&str]); 8] = [
        (
            (LeftShoulder, RightShoulder),
            &["shoulder", "clavicle", "collar"],
        ),
        ((LeftUpperArm, RightUpperArm), &["upperarm", "arm"]),
        (
            (LeftLowerArm, RightLowerArm),
            &["lowerarm", "forearm", "elbow"],
        ),
        ((LeftHand, RightHand), &["hand", "wrist", "palm"]),
        (
            (LeftUpperLeg, RightUpperLeg),
            &["upperleg", "upleg", "thigh"],
        ),
        (
            (LeftLowerLeg, RightLowerLeg),
            &["lowerleg", "leg", "calf", "shin", "knee"],
        ),
        ((LeftFoot, RightFoot), &["foot", "ankle"]),
        ((LeftToes, RightToes), &["toes", "toe", "toebase", "ball"]),
    ];
    let parsed: Vec<(Option<bool>, String, String)> = joints
        .iter()
        .map(|j| {
            let (side, base) = side_and_base(&j.name);
            let stripped = base
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string();
            (side, base, stripped)
        })
        .collect();
    let find = |side: Option<bool>, keys: &[&str]| -> Option<NodeRef> {
        // Exact base names first, then with trailing digits dropped (`Torso_1`, `Palm2L`).
        for exact in [true, false] {
            for key in keys {
                for (j, (s, base, stripped)) in joints.iter().zip(&parsed) {
                    let b = if exact { base } else { stripped };
                    if *s == side && b == key {
                        return Some(j.clone());
                    }
                }
            }
        }
        None
    };
    let mut generic = BTreeMap::new();
    for (bone, keys) in central {
        if let Some(j) = find(None, keys) {
            generic.insert(bone, j);
        }
    }
    for ((left, right), keys) in sided {
        if let Some(j) = find(Some(true), keys) {
            generic.insert(left, j);
        }
        if let Some(j) = find(Some(false), keys) {
            generic.insert(right, j);
        }
    }
    if generic.len() > known.len() {
        generic
    } else {
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(name: &str) -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/avatars")
            .join(name);
        if p.exists() {
            Some(p)
        } else {
            println!("SKIPPED: {} not found", p.display());
            None
        }
    }

    #[test]
    fn side_suffixes_are_recognised() {
        assert_eq!(side_and_base("UpperArmL"), (Some(true), "upperarm".into()));
        assert_eq!(side_and_base("thigh_r"), (Some(false), "thigh".into()));
        assert_eq!(side_and_base("LeftForeArm"), (Some(true), "forearm".into()));
        assert_eq!(side_and_base("Hips"), (None, "hips".into()));
        assert_eq!(side_and_base("Torso_1"), (None, "torso1".into()));
    }

    #[test]
    fn vrm0_avatar_reads_humanoid_expressions_and_meta() {
        let Some(path) = shared("cool_loops.vrm") else {
            return;
        };
        let a = AvatarFile::load(&path).unwrap();
        assert_eq!(a.kind, AvatarKind::Vrm0);
        assert!(a.humanoid.len() >= 50, "{} bones", a.humanoid.len());
        for bone in REQUIRED_BONES {
            assert!(a.humanoid.contains_key(&bone), "{}", bone.name());
        }
        for name in ["aa", "ih", "ou", "ee", "oh", "blink"] {
            let e = a.expression(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(e.binds.len(), 1, "{name}");
            assert!(
                (e.binds[0].weight - 1.0).abs() < 1e-6,
                "VRM 0.x weights are 0..100"
            );
        }
        assert_eq!(a.expression("aa").unwrap().binds[0].index, 15);
        assert_eq!(a.meta.title, "Cool_loops");
        assert_eq!(a.meta.authors, vec!["Polygonal Mind".to_string()]);
        assert!(
            a.meta
                .fields
                .iter()
                .any(|(k, v)| k == "commercialUssageName" && v == "Allow")
        );
        assert_eq!(a.look_at.as_ref().unwrap().kind, LookAtKind::Bone);
        assert_eq!(a.skinned_meshes, 1);
    }

    #[test]
    fn vrm1_avatars_read_expressions_with_override_rules() {
        let Some(path) = shared("VRMC_vrm_expressions_isBinary_Overrides.vrm") else {
            return;
        };
        let a = AvatarFile::load(&path).unwrap();
        assert_eq!(a.kind, AvatarKind::Vrm1);
        for bone in REQUIRED_BONES {
            assert!(a.humanoid.contains_key(&bone), "{}", bone.name());
        }
        let happy = a.expression("happy").unwrap();
        assert!(happy.is_binary && happy.preset);
        assert_eq!(happy.override_blink, Override::Blend);
        assert_eq!(happy.material_binds, 2);
        assert_eq!(a.look_at.as_ref().unwrap().kind, LookAtKind::Expression);
        assert!((a.look_at.as_ref().unwrap().offset_from_head.y - 0.06).abs() < 1e-6);
        assert!(a.meta.authors.contains(&"pixiv Inc.".to_string()));

        let Some(path) = shared("VRMC_materials_mtoon_UV_Animation_Test.vrm") else {
            return;
        };
        let b = AvatarFile::load(&path).unwrap();
        assert_eq!(b.kind, AvatarKind::Vrm1);
        assert!(b.humanoid.len() >= 15);
    }

    #[test]
    fn plain_gltf_humanoid_is_inferred_from_joint_names() {
        let Some(path) = shared("RobotExpressive.glb") else {
            return;
        };
        let a = AvatarFile::load(&path).unwrap();
        assert_eq!(a.kind, AvatarKind::Gltf);
        let name = |b: HumanBone| a.humanoid[&b].name.clone();
        assert_eq!(name(HumanBone::Hips), "Hips");
        assert_eq!(name(HumanBone::LeftUpperArm), "UpperArmL");
        assert_eq!(name(HumanBone::RightLowerLeg), "LowerLegR");
        assert_eq!(name(HumanBone::Chest), "Torso_1");
        assert_eq!(name(HumanBone::LeftFoot), "FootL");
        for e in ["Angry", "Surprised", "Sad"] {
            assert_eq!(
                a.expression(e).unwrap().binds.len(),
                3,
                "{e} moves the three head meshes"
            );
        }
    }

    #[test]
    fn corrupt_and_non_humanoid_files_are_refused_clearly() {
        let p = Path::new("broken.vrm");
        let err = AvatarFile::parse(b"glTF\x02\x00\x00\x00", p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("broken.vrm") && err.contains("truncated"),
            "{err}"
        );
        let err = AvatarFile::parse(b"PK\x03\x04 a zip", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a glTF"), "{err}");
        let box_gltf = br#"{"asset":{"version":"2.0"},"nodes":[{"name":"Cube","mesh":0}],"meshes":[{"primitives":[]}]}"#;
        let err = AvatarFile::parse(box_gltf, Path::new("box.gltf"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("box.gltf is not a humanoid") && err.contains("hips"),
            "{err}"
        );
        if let Some(path) = shared("cool_loops.vrm") {
            let bytes = std::fs::read(path).unwrap();
            let err = AvatarFile::parse(&bytes[..bytes.len().min(5000)], p)
                .unwrap_err()
                .to_string();
            assert!(err.contains("cut short"), "{err}");
        }
    }
}
