//! Binding an avatar's scene to the canonical humanoid and solving it: the rest-pose alignment
//! found when the scene spawns, then bone rotations from the [`HumanoidPose`] and morph weights
//! from the [`ExpressionWeights`] every frame.

use std::collections::HashMap;

use bevy::mesh::morph::MorphWeights;
use bevy::prelude::*;

use super::AvatarLoading;
use super::expressions::{gaze_from_arkit, resolve_expressions};
use crate::avatar::{AvatarFile, LookAtKind, RangeMap};
use ling_core::signals::{
    ExpressionWeights, HumanBone, HumanoidPose, Performer, leg_length, rest_alignment,
};

/// A bound avatar rig, on the performer root: how each humanoid bone maps onto the avatar's
/// nodes and rest pose, and which morph weights each expression moves. The built-in performer
/// has one too, over her own skeleton.
#[derive(Component)]
pub struct AvatarRig {
    /// Per humanoid bone: the node entity driving it, if the avatar has the bone.
    bones: Vec<Option<Entity>>,
    /// Rest local rotation and translation of each mapped node.
    rest_local: Vec<(Quat, Vec3)>,
    /// Rest rotation (in the avatar's space) of each mapped node.
    rest_global: Vec<Quat>,
    /// Canonical rest direction → avatar rest direction, per bone.
    align: Vec<Quat>,
    /// Rest rotation of each mapped bone's actual parent node, in the avatar's space.
    parent_rest_global: Vec<Quat>,
    /// The nearest mapped humanoid ancestor of each bone.
    mapped_parent: Vec<Option<usize>>,
    /// Metres of avatar per metre of canonical humanoid (leg length ratio).
    scale: f32,
    /// Expression name → binds as (node entity, morph index, weight).
    expressions: HashMap<String, Vec<(Entity, usize, f32)>>,
    /// The description of the avatar this rig drives.
    pub file: AvatarFile,
}

impl AvatarRig {
    /// The rig of the built-in performer: her own skeleton (rest = identity rotations, so no
    /// alignment) and her morph targets, whose weights live on `morph_entity`.
    pub(crate) fn builtin(bones: &[Entity], morph_entity: Entity) -> Self {
        let file = AvatarFile::builtin();
        let n = HumanBone::COUNT;
        let expressions = file
            .expressions
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    e.binds
                        .iter()
                        .map(|b| (morph_entity, b.index, b.weight))
                        .collect(),
                )
            })
            .collect();
        AvatarRig {
            bones: bones.iter().map(|e| Some(*e)).collect(),
            rest_local: HumanBone::ALL
                .iter()
                .map(|b| (Quat::IDENTITY, b.rest_local_translation()))
                .collect(),
            rest_global: vec![Quat::IDENTITY; n],
            align: vec![Quat::IDENTITY; n],
            parent_rest_global: vec![Quat::IDENTITY; n],
            mapped_parent: HumanBone::ALL
                .iter()
                .map(|b| b.parent().map(|p| p.index()))
                .collect(),
            scale: 1.0,
            expressions,
            file,
        }
    }
}

/// Rest transform of `e` relative to `root`, from local transforms (global ones are not
/// computed yet on the frame the scene appears).
fn rest_in_root(
    e: Entity,
    root: Entity,
    transforms: &Query<&Transform>,
    parents: &Query<&ChildOf>,
) -> Transform {
    let mut chain = Vec::new();
    let mut at = e;
    while at != root {
        if let Ok(t) = transforms.get(at) {
            chain.push(*t);
        }
        match parents.get(at) {
            Ok(p) => at = p.parent(),
            Err(_) => break,
        }
    }
    chain
        .iter()
        .rev()
        .fold(Transform::IDENTITY, |acc, t| acc.mul_transform(*t))
}

/// Waits for the avatar's scene, then finds its humanoid nodes and binds the rig; the avatar
/// then becomes the performer, shown, and the performers before it leave the stage.
#[allow(clippy::too_many_arguments)]
pub(super) fn bind_avatar_rig(
    mut commands: Commands,
    loading: Query<(Entity, &AvatarLoading)>,
    children: Query<&Children>,
    names: Query<&Name>,
    transforms: Query<&Transform>,
    parents: Query<&ChildOf>,
    morphs: Query<(), With<MorphWeights>>,
    performers: Query<Entity, With<Performer>>,
    mut status: ResMut<crate::PerformerStatus>,
) {
    for (root, pending) in &loading {
        // Every node entity under the scene, by name.
        let mut by_name: HashMap<String, Entity> = HashMap::new();
        for e in children.iter_descendants(pending.scene) {
            if let Ok(n) = names.get(e) {
                by_name.entry(n.as_str().to_string()).or_insert(e);
            }
        }
        let file = &pending.file;
        let Some(hips) = file
            .humanoid
            .get(&HumanBone::Hips)
            .and_then(|n| by_name.get(&n.name))
        else {
            continue; // not spawned yet
        };
        let _ = hips;
        let n = HumanBone::COUNT;
        let mut bones = vec![None; n];
        for (bone, node) in &file.humanoid {
            bones[bone.index()] = by_name.get(&node.name).copied();
        }
        let rest: Vec<Option<Transform>> = bones
            .iter()
            .map(|b| b.map(|e| rest_in_root(e, root, &transforms, &parents)))
            .collect();
        let pos = |b: HumanBone| rest[b.index()].map(|t| t.translation);
        // Facing: the avatar's left hand must be on +X like the canonical humanoid's; VRM 0.x
        // and many glTF files face -Z, so turn them round.
        let facing_back = match (pos(HumanBone::LeftUpperArm), pos(HumanBone::RightUpperArm)) {
            (Some(l), Some(r)) => l.x < r.x,
            _ => false,
        };
        let turn = if facing_back {
            Quat::from_rotation_y(std::f32::consts::PI)
        } else {
            Quat::IDENTITY
        };
        if facing_back {
            commands
                .entity(pending.scene)
                .insert(Transform::from_rotation(turn));
        }
        let world_pos = |b: HumanBone| pos(b).map(|p| turn * p);
        let scale = match (
            leg_length(&world_pos),
            leg_length(|b| Some(b.rest_position())),
        ) {
            (Some(avatar), Some(canonical)) if avatar > 1e-4 => avatar / canonical,
            _ => 1.0,
        };
        let align = rest_alignment(&world_pos).to_vec();
        // The nearest mapped humanoid ancestor of each bone.
        let mapped_parent: Vec<Option<usize>> = HumanBone::ALL
            .iter()
            .map(|bone| {
                let mut p = bone.parent();
                while let Some(pb) = p {
                    if bones[pb.index()].is_some() {
                        break;
                    }
                    p = pb.parent();
                }
                p.map(|pb| pb.index())
            })
            .collect();
        let rest_local: Vec<(Quat, Vec3)> = bones
            .iter()
            .map(|b| {
                b.and_then(|e| transforms.get(e).ok())
                    .map(|t| (t.rotation, t.translation))
                    .unwrap_or((Quat::IDENTITY, Vec3::ZERO))
            })
            .collect();
        let rest_global: Vec<Quat> = rest
            .iter()
            .map(|t| turn * t.map(|t| t.rotation).unwrap_or(Quat::IDENTITY))
            .collect();
        let parent_rest_global: Vec<Quat> = bones
            .iter()
            .map(|b| {
                b.and_then(|e| parents.get(e).ok())
                    .map(|p| turn * rest_in_root(p.parent(), root, &transforms, &parents).rotation)
                    .unwrap_or(turn)
            })
            .collect();
        // Expression binds: glTF mesh index → the node entity carrying its morph weights.
        let mut expressions = HashMap::new();
        let mesh_nodes = mesh_node_names(file);
        for e in &file.expressions {
            let binds: Vec<(Entity, usize, f32)> = e
                .binds
                .iter()
                .flat_map(|b| {
                    mesh_nodes
                        .get(&b.mesh)
                        .into_iter()
                        .flatten()
                        .filter_map(|name| by_name.get(name).copied())
                        .filter(|ent| morphs.contains(*ent))
                        .map(move |ent| (ent, b.index, b.weight))
                })
                .collect();
            if !binds.is_empty() {
                expressions.insert(e.name.clone(), binds);
            }
        }
        info!(
            "avatar {}: {} humanoid bones bound, {} expressions with morph binds, scale {:.2}{}",
            file.meta.title,
            bones.iter().filter(|b| b.is_some()).count(),
            expressions.len(),
            scale,
            if facing_back {
                ", turned to face the house"
            } else {
                ""
            }
        );
        alias_emotions(&mut expressions);
        for old in &performers {
            commands.entity(old).despawn();
        }
        // Removing the loading marker removes the staged copy too.
        status.loading = None;
        commands
            .entity(root)
            .remove::<AvatarLoading>()
            .insert((
                Performer {
                    name: file.meta.title.clone(),
                    bones: Vec::new(),
                },
                Visibility::Inherited,
            ))
            .insert(AvatarRig {
                bones,
                rest_local,
                rest_global,
                align,
                parent_rest_global,
                mapped_parent,
                scale,
                expressions,
                file: pending.file.clone(),
            });
    }
}

/// The VRM emotion presets, and other names avatars give them (VRM 0.x's, any case).
const EMOTION_NAMES: [(&str, &[&str]); 5] = [
    ("happy", &["happy", "joy"]),
    ("angry", &["angry", "anger"]),
    ("sad", &["sad", "sorrow"]),
    ("surprised", &["surprised", "surprise"]),
    ("relaxed", &["relaxed", "fun"]),
];

/// Lets a plain glTF's own emotion morphs (`Angry`, `Sad`, `Surprised`, `Joy`...) answer to the
/// VRM preset names the expression map drives, when the avatar has no preset of that name.
fn alias_emotions<T: Clone>(expressions: &mut HashMap<String, T>) {
    for (preset, names) in EMOTION_NAMES {
        if expressions.contains_key(preset) {
            continue;
        }
        let mut keys: Vec<&String> = expressions.keys().collect();
        keys.sort();
        let found = keys
            .into_iter()
            .find(|k| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .cloned();
        if let Some(binds) = found.and_then(|k| expressions.get(&k).cloned()) {
            expressions.insert(preset.to_string(), binds);
        }
    }
}

/// Names of the nodes that carry each glTF mesh (from the file's JSON).
fn mesh_node_names(file: &AvatarFile) -> HashMap<usize, Vec<String>> {
    let mut out: HashMap<usize, Vec<String>> = HashMap::new();
    for (mesh, name) in &file.mesh_nodes {
        out.entry(*mesh).or_default().push(name.clone());
    }
    out
}

/// Poses the avatar's humanoid nodes from the canonical pose.
pub(super) fn apply_avatar_pose(
    performers: Query<
        (&HumanoidPose, &ExpressionWeights, &AvatarRig),
        Or<(
            Changed<HumanoidPose>,
            Changed<ExpressionWeights>,
            Added<AvatarRig>,
        )>,
    >,
    mut transforms: Query<&mut Transform, Without<AvatarRig>>,
) {
    for (pose, expressions, rig) in &performers {
        let mut pose = pose.clone();
        if let Some(look) = rig
            .file
            .look_at
            .as_ref()
            .filter(|l| l.kind == LookAtKind::Bone)
        {
            // Bone-type look-at: the eyes turn by the avatar's range maps.
            let (yaw, pitch) = gaze_from_arkit(expressions);
            let map = |angle: f32, range: &RangeMap| {
                angle.signum() * angle.abs().min(range.input_max) / range.input_max.max(1e-3)
                    * range.output_scale
            };
            let yaw = map(yaw, &look.horizontal_outer).to_radians();
            let pitch = if pitch >= 0.0 {
                map(pitch, &look.vertical_up)
            } else {
                map(pitch, &look.vertical_down)
            }
            .to_radians();
            let eye = Quat::from_rotation_y(yaw) * Quat::from_rotation_x(-pitch);
            for bone in [HumanBone::LeftEye, HumanBone::RightEye] {
                pose.set(bone, pose.rotation(bone) * eye);
            }
        }
        let fk = pose.model_transforms();
        // World rotation each mapped bone should take: the canonical bone's rotation from rest,
        // applied to the avatar's rest, through the direction alignment.
        let target: Vec<Quat> = HumanBone::ALL
            .iter()
            .map(|b| {
                let i = b.index();
                let delta = fk[i].rotation * rig.align[i].inverse();
                (delta * rig.rest_global[i]).normalize()
            })
            .collect();
        for &bone in HumanBone::ALL {
            let i = bone.index();
            let Some(e) = rig.bones[i] else { continue };
            let Ok(mut t) = transforms.get_mut(e) else {
                continue;
            };
            // The node's real parent keeps its rest pose relative to the nearest mapped
            // ancestor, which has moved by that ancestor's delta.
            let parent_now = match rig.mapped_parent[i] {
                Some(p) => target[p] * rig.rest_global[p].inverse() * rig.parent_rest_global[i],
                None => rig.parent_rest_global[i],
            };
            t.rotation = (parent_now.inverse() * target[i]).normalize();
            if bone == HumanBone::Hips {
                let offset = (pose.hips - HumanBone::Hips.rest_position()) * rig.scale;
                let local_offset = rig.parent_rest_global[i].inverse() * offset;
                t.translation = rig.rest_local[i].1 + local_offset;
            }
        }
    }
}

/// Sets the avatar's morph weights from its resolved expressions.
pub(super) fn apply_avatar_expressions(
    performers: Query<
        (&ExpressionWeights, &AvatarRig),
        Or<(Changed<ExpressionWeights>, Added<AvatarRig>)>,
    >,
    mut morphs: Query<&mut MorphWeights>,
) {
    for (expressions, rig) in &performers {
        let mut totals: HashMap<(Entity, usize), f32> = HashMap::new();
        for (name, w) in resolve_expressions(&rig.file, expressions) {
            for (e, index, weight) in rig.expressions.get(&name).into_iter().flatten() {
                *totals.entry((*e, *index)).or_default() += w * weight;
            }
        }
        for ((e, index), w) in totals {
            if let Ok(mut m) = morphs.get_mut(e) {
                if let Some(slot) = m.weights_mut().get_mut(index) {
                    *slot = w.clamp(0.0, 1.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gltf_avatars_own_emotion_morphs_answer_to_the_vrm_presets() {
        let mut x: HashMap<String, u8> = HashMap::from([
            ("Angry".to_string(), 1),
            ("Surprised".to_string(), 2),
            ("Sad".to_string(), 3),
            ("Joy".to_string(), 4),
            ("aa".to_string(), 5),
        ]);
        alias_emotions(&mut x);
        assert_eq!(
            (x["angry"], x["surprised"], x["sad"], x["happy"]),
            (1, 2, 3, 4)
        );
        assert!(!x.contains_key("relaxed"));
        let mut vrm = HashMap::from([("sad".to_string(), 1), ("Sorrow".to_string(), 2)]);
        alias_emotions(&mut vrm);
        assert_eq!(vrm["sad"], 1, "the avatar's own preset wins");
    }
}
