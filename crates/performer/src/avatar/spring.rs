//! Spring bones and their colliders (VRM 1.0 `VRMC_springBone`, VRM 0.x `secondaryAnimation`),
//! kept as data: `ling-physics` simulates them.

use bevy::math::Vec3;
use serde_json::Value;

use super::json::{f32_of, indices, node_ref, text, vec3_arr, vec3_xyz};

/// One joint of a spring chain and its settings, as the file gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct SpringJoint {
    /// The glTF node of the joint.
    pub node: usize,
    /// How strongly the joint swings back to its rest direction.
    pub stiffness: f32,
    /// How strongly it falls along `gravity_dir`.
    pub gravity_power: f32,
    /// The direction it falls in, in model space (usually down).
    pub gravity_dir: Vec3,
    /// The fraction of its motion lost each step, 0..1.
    pub drag: f32,
    /// Radius of the joint's collision sphere, in metres.
    pub hit_radius: f32,
}

/// A chain of joints that swing together: a lock of hair, a ribbon, a skirt panel.
#[derive(Debug, Clone, PartialEq)]
pub struct SpringChain {
    /// Its name: the file's, or made up from its index (VRM 1.0) or its group's comment and root
    /// node (VRM 0.x).
    pub name: String,
    /// Its joints, from the root outwards.
    pub joints: Vec<SpringJoint>,
    /// The collider groups it collides with (indices into [`SpringData::collider_groups`]).
    pub collider_groups: Vec<usize>,
}

/// The shape of a collider, in the space of the node it follows.
#[derive(Debug, Clone, PartialEq)]
pub enum ColliderShape {
    /// A sphere.
    Sphere {
        /// Its centre, in metres from the node.
        offset: Vec3,
        /// Its radius, in metres.
        radius: f32,
    },
    /// A capsule: a sphere swept from `offset` to `tail`.
    Capsule {
        /// The centre of one end, in metres from the node.
        offset: Vec3,
        /// The centre of the other end, in metres from the node.
        tail: Vec3,
        /// Its radius, in metres.
        radius: f32,
    },
}

/// A collider the spring joints are kept out of.
#[derive(Debug, Clone, PartialEq)]
pub struct Collider {
    /// The glTF node it follows.
    pub node: usize,
    /// Its shape.
    pub shape: ColliderShape,
}

/// The avatar's spring chains and colliders; empty when the file has none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpringData {
    /// Every spring chain.
    pub chains: Vec<SpringChain>,
    /// Every collider.
    pub colliders: Vec<Collider>,
    /// Each group lists indices into `colliders`.
    pub collider_groups: Vec<Vec<usize>>,
}

/// VRM 1.0 `VRMC_springBone`: colliders, collider groups and springs, each joint listed.
pub(super) fn vrm1(sb: &Value) -> SpringData {
    let mut spring = SpringData::default();
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
        spring.colliders.push(Collider {
            node: node as usize,
            shape,
        });
    }
    for g in sb["colliderGroups"].as_array().into_iter().flatten() {
        spring.collider_groups.push(indices(&g["colliders"]));
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
        spring.chains.push(SpringChain {
            name: s["name"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("spring {k}")),
            joints,
            collider_groups: indices(&s["colliderGroups"]),
        });
    }
    spring
}

/// VRM 0.x `secondaryAnimation`: sphere colliders grouped per node, and bone groups whose
/// listed roots each start a chain down the first children.
pub(super) fn vrm0(sa: &Value, nodes: &[Value]) -> SpringData {
    let mut spring = SpringData::default();
    for g in sa["colliderGroups"].as_array().into_iter().flatten() {
        let node = g["node"].as_u64().unwrap_or(0) as usize;
        let mut group = Vec::new();
        for c in g["colliders"].as_array().into_iter().flatten() {
            group.push(spring.colliders.len());
            spring.colliders.push(Collider {
                node,
                shape: ColliderShape::Sphere {
                    offset: vec3_xyz(&c["offset"]),
                    radius: f32_of(&c["radius"], 0.0),
                },
            });
        }
        spring.collider_groups.push(group);
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
            spring.chains.push(SpringChain {
                name: format!(
                    "{} ({})",
                    if text(&g["comment"]).is_empty() {
                        format!("group {k}")
                    } else {
                        text(&g["comment"])
                    },
                    node_ref(nodes, root as usize).name
                ),
                joints: chain,
                collider_groups: indices(&g["colliderGroups"]),
            });
        }
    }
    spring
}
