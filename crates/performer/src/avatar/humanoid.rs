//! The humanoid bone map: which glTF node drives each [`HumanBone`], as VRM 1.0 and 0.x state
//! it, or guessed from joint names for plain glTF (see `bone_names`).

use std::collections::BTreeMap;

use serde_json::Value;

use ling_core::signals::HumanBone;

use super::bone_names::infer_humanoid;
use super::json::node_ref;

/// A node of the glTF scene graph, by index and name.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRef {
    /// Index into the file's `nodes` array.
    pub index: usize,
    /// The node's name (empty if it has none); the spawned scene's entities are found by it.
    pub name: String,
}

/// VRM 1.0 `humanoid.humanBones`: an object keyed by bone name.
pub(super) fn vrm1(humanoid: &Value, nodes: &[Value]) -> BTreeMap<HumanBone, NodeRef> {
    let mut map = BTreeMap::new();
    if let Some(bones) = humanoid["humanBones"].as_object() {
        for (name, b) in bones {
            if let (Some(bone), Some(i)) = (HumanBone::from_name(name), b["node"].as_u64()) {
                map.insert(bone, node_ref(nodes, i as usize));
            }
        }
    }
    map
}

/// VRM 0.x `humanoid.humanBones`: a list of `{ "bone": name, "node": index }`.
pub(super) fn vrm0(humanoid: &Value, nodes: &[Value]) -> BTreeMap<HumanBone, NodeRef> {
    let mut map = BTreeMap::new();
    for b in humanoid["humanBones"].as_array().into_iter().flatten() {
        if let (Some(bone), Some(i)) = (b["bone"].as_str().and_then(vrm0_bone), b["node"].as_u64())
        {
            map.insert(bone, node_ref(nodes, i as usize));
        }
    }
    map
}

/// VRM 0.x names for VRM 1.0 bones that were renamed (the thumb).
fn vrm0_bone(name: &str) -> Option<HumanBone> {
    let renamed = name
        .replace("ThumbProximal", "ThumbMetacarpal")
        .replace("ThumbIntermediate", "ThumbProximal");
    HumanBone::from_name(&renamed)
}

/// Plain glTF: the humanoid inferred from the skin joints' names (every node's, if the file
/// has no skin).
pub(super) fn from_joint_names(json: &Value, nodes: &[Value]) -> BTreeMap<HumanBone, NodeRef> {
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
    infer_humanoid(
        &candidates
            .iter()
            .map(|&i| node_ref(nodes, i))
            .collect::<Vec<_>>(),
    )
}
