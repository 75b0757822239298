//! Avatars on stage: a VRM or glTF humanoid loaded through Bevy's glTF loader, driven by the
//! same canonical signals as the built-in performer.
//!
//! The file is described by [`AvatarFile`] (humanoid map, expressions); the meshes come from
//! `bevy_gltf` (materials fall back to standard PBR from the file's base colours and textures —
//! MToon shading is not reproduced yet). When the scene has spawned, its humanoid nodes are
//! found by name and a rig is bound: for every bone, the rotation turning the canonical rest
//! direction onto the avatar's rest direction, so any rest pose (T-pose, A-pose, rolled bones)
//! follows the canonical pose as bone directions. Expression weights drive the avatar's own
//! expression binds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bevy::asset::io::AssetSourceBuilder;
use bevy::gltf::GltfAssetLabel;
use bevy::mesh::morph::MorphWeights;
use bevy::prelude::*;
use bevy::world_serialization::WorldAssetRoot;

use super::avatar::{AvatarError, AvatarFile, LookAtKind, Override, RangeMap};
use ling_core::AppSystems;
use ling_core::show::{ActiveShow, PerformerSpec};
use ling_core::signals::{
    ExpressionWeights, HumanBone, HumanoidPose, Performer, leg_length, rest_alignment,
};

/// Asset source the avatar files are read from (a cache copy with a `.glb` name, since Bevy
/// picks its glTF loader by extension and VRM files end in `.vrm`).
const SOURCE: &str = "avatar";

/// The cache folder avatar files are staged in.
fn staging_dir() -> PathBuf {
    ling_core::cache_dir().join("avatars")
}

/// Copies the show's avatar (if any) to the staging folder and registers the asset source.
/// Must run before `DefaultPlugins` (asset sources are fixed when the asset plugin builds).
pub fn register_avatar_source(
    app: &mut App,
    show: &ling_core::show::ShowFile,
) -> Result<(), AvatarError> {
    let dir = staging_dir();
    std::fs::create_dir_all(&dir).map_err(|source| AvatarError::Io {
        path: dir.clone(),
        source,
    })?;
    if let PerformerSpec::Avatar { path } = &show.performer {
        app.insert_resource(PendingAvatar(Some(stage_avatar(&show.resolve(path))?)));
    }
    app.register_asset_source(
        SOURCE,
        AssetSourceBuilder::platform_default(&dir.to_string_lossy(), None),
    );
    Ok(())
}

/// Reads an avatar file and copies it where the asset source finds it.
pub fn stage_avatar(src: &Path) -> Result<AvatarFile, AvatarError> {
    let file = AvatarFile::load(src)?;
    let dir = staging_dir();
    std::fs::create_dir_all(&dir).map_err(|source| AvatarError::Io {
        path: dir.clone(),
        source,
    })?;
    std::fs::copy(src, dir.join(staged_name(src))).map_err(|source| AvatarError::Io {
        path: src.to_owned(),
        source,
    })?;
    Ok(file)
}

/// Spawns a performer for a staged avatar; its rig is bound once the scene has spawned.
pub fn spawn_avatar(commands: &mut Commands, assets: &AssetServer, file: AvatarFile) -> Entity {
    let scene_path = format!("{SOURCE}://{}", staged_name(&file.path));
    let root = commands
        .spawn((
            Name::new(file.meta.title.clone()),
            Transform::default(),
            Visibility::default(),
            HumanoidPose::default(),
            ExpressionWeights::default(),
            Performer {
                name: file.meta.title.clone(),
                bones: Vec::new(),
            },
        ))
        .id();
    let scene = commands
        .spawn((
            WorldAssetRoot(assets.load(GltfAssetLabel::Scene(0).from_asset(scene_path))),
            ChildOf(root),
        ))
        .id();
    commands.entity(root).insert(AvatarLoading { file, scene });
    root
}

fn staged_name(src: &Path) -> String {
    let stem = src
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "avatar".into());
    format!("{stem}.glb")
}

/// The avatar description waiting to be spawned (inserted by [`register_avatar_source`]).
#[derive(Resource, Default)]
pub struct PendingAvatar(pub Option<AvatarFile>);

/// An avatar whose scene has not finished spawning yet.
#[derive(Component)]
pub struct AvatarLoading {
    file: AvatarFile,
    scene: Entity,
}

/// A bound avatar rig.
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
    pub file: AvatarFile,
}

impl AvatarRig {
    /// The rig of the built-in performer: her own skeleton (rest = identity rotations, so no
    /// alignment) and her morph targets, whose weights live on `morph_entity`.
    pub fn builtin(bones: &[Entity], morph_entity: Entity) -> Self {
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

pub fn plugin(app: &mut App) {
    app.init_resource::<PendingAvatar>()
        .add_systems(Startup, spawn_avatar_performer)
        .add_systems(
            Update,
            (
                bind_avatar_rig.in_set(AppSystems::Ingest),
                (apply_avatar_pose, apply_avatar_expressions).in_set(AppSystems::Solve),
            ),
        );
}

fn spawn_avatar_performer(
    mut commands: Commands,
    show: Option<Res<ActiveShow>>,
    mut pending: ResMut<PendingAvatar>,
    assets: Option<Res<AssetServer>>,
) {
    let Some(show) = show else { return };
    let PerformerSpec::Avatar { path } = &show.0.performer else {
        return;
    };
    let Some(file) = pending.0.take() else {
        error!(
            "avatar {} was not staged before the app started; no performer",
            path.display()
        );
        return;
    };
    let Some(assets) = assets else { return };
    spawn_avatar(&mut commands, &assets, file);
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

/// Waits for the avatar's scene, then finds its humanoid nodes and binds the rig.
fn bind_avatar_rig(
    mut commands: Commands,
    loading: Query<(Entity, &AvatarLoading)>,
    children: Query<&Children>,
    names: Query<&Name>,
    transforms: Query<&Transform>,
    parents: Query<&ChildOf>,
    morphs: Query<(), With<MorphWeights>>,
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
        commands
            .entity(root)
            .remove::<AvatarLoading>()
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

/// Names of the nodes that carry each glTF mesh (from the file's JSON).
fn mesh_node_names(file: &AvatarFile) -> HashMap<usize, Vec<String>> {
    let mut out: HashMap<usize, Vec<String>> = HashMap::new();
    for (mesh, name) in &file.mesh_nodes {
        out.entry(*mesh).or_default().push(name.clone());
    }
    out
}

/// Poses the avatar's humanoid nodes from the canonical pose.
fn apply_avatar_pose(
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

/// Expression weights for an avatar: the default map, with the avatar's own overrides
/// (`<file>.expressions.ron`) replacing the entries they name.
pub fn avatar_expression_weights(
    e: &ExpressionWeights,
    overrides: &std::collections::BTreeMap<String, Vec<(String, f32)>>,
) -> Vec<(String, f32)> {
    let mut out: Vec<(String, f32)> = expression_weights(e)
        .into_iter()
        .filter(|(name, _)| !overrides.contains_key(*name))
        .map(|(n, w)| (n.to_string(), w))
        .collect();
    for (name, signals) in overrides {
        let w: f32 = signals
            .iter()
            .map(|(s, k)| e.get(s).unwrap_or(0.0) * k)
            .sum();
        out.push((name.clone(), w.clamp(0.0, 1.0)));
    }
    out
}

/// The default map: the avatar expression a canonical signal drives, and how strongly.
pub fn expression_weights(e: &ExpressionWeights) -> Vec<(&'static str, f32)> {
    let g = |n: &str| e.get(n).unwrap_or(0.0);
    let blink_l = g("eyeBlinkLeft");
    let blink_r = g("eyeBlinkRight");
    vec![
        ("aa", g("aa").max(g("jawOpen") * 0.7)),
        ("jawOpen", g("jawOpen")),
        ("ih", g("ih")),
        ("ou", g("ou").max(g("mouthPucker"))),
        ("ee", g("ee")),
        ("oh", g("oh").max(g("mouthFunnel"))),
        ("blink", blink_l.min(blink_r)),
        ("blinkLeft", blink_l - blink_l.min(blink_r)),
        ("blinkRight", blink_r - blink_l.min(blink_r)),
        ("happy", (g("mouthSmileLeft") + g("mouthSmileRight")) / 2.0),
        ("sad", (g("mouthFrownLeft") + g("mouthFrownRight")) / 2.0),
        ("angry", (g("browDownLeft") + g("browDownRight")) / 2.0),
        (
            "surprised",
            g("browInnerUp").min((g("eyeWideLeft") + g("eyeWideRight")) / 2.0 + 0.5),
        ),
    ]
}

/// The weight of each of the avatar's expressions for these canonical signals: the expression
/// map (default and per-avatar), gaze as look expressions for expression-type look-at, blinks
/// routed to one-eyed blinks where the avatar has no `blink`, binary expressions snapped, and
/// VRM's override rules (an expression that blocks or blends blinks, look-at or mouth shapes
/// turns them down while it shows).
pub fn resolve_expressions(file: &AvatarFile, e: &ExpressionWeights) -> HashMap<String, f32> {
    let mut w: HashMap<String, f32> = avatar_expression_weights(e, &file.expression_map)
        .into_iter()
        .collect();
    if file
        .look_at
        .as_ref()
        .is_some_and(|l| l.kind == LookAtKind::Expression)
    {
        let look = file.look_at.as_ref().expect("checked");
        let (yaw, pitch) = gaze_from_arkit(e);
        let map = |angle: f32, range: &RangeMap| {
            (angle.abs().min(range.input_max) / range.input_max.max(1e-3) * range.output_scale)
                .clamp(0.0, 1.0)
        };
        w.insert(
            "lookLeft".into(),
            if yaw > 0.0 {
                map(yaw, &look.horizontal_outer)
            } else {
                0.0
            },
        );
        w.insert(
            "lookRight".into(),
            if yaw < 0.0 {
                map(yaw, &look.horizontal_outer)
            } else {
                0.0
            },
        );
        w.insert(
            "lookUp".into(),
            if pitch > 0.0 {
                map(pitch, &look.vertical_up)
            } else {
                0.0
            },
        );
        w.insert(
            "lookDown".into(),
            if pitch < 0.0 {
                map(pitch, &look.vertical_down)
            } else {
                0.0
            },
        );
    }
    if file.expression("blink").is_none() {
        let blink = w.remove("blink").unwrap_or(0.0);
        for side in ["blinkLeft", "blinkRight"] {
            *w.entry(side.into()).or_default() += blink;
        }
    }
    for (name, weight) in w.iter_mut() {
        if file.expression(name).is_some_and(|x| x.is_binary) {
            *weight = if *weight > 0.5 { 1.0 } else { 0.0 };
        }
    }
    let group = |kind: usize| -> &'static [&'static str] {
        match kind {
            0 => &["blink", "blinkLeft", "blinkRight"],
            1 => &["lookUp", "lookDown", "lookLeft", "lookRight"],
            _ => &["aa", "ih", "ou", "ee", "oh"],
        }
    };
    let mut factors = [1.0f32; 3];
    for x in &file.expressions {
        let weight = w.get(&x.name).copied().unwrap_or(0.0);
        if weight <= 0.0 {
            continue;
        }
        for (k, rule) in [x.override_blink, x.override_look_at, x.override_mouth]
            .into_iter()
            .enumerate()
        {
            let f = match rule {
                Override::None => 1.0,
                Override::Block => 0.0,
                Override::Blend => 1.0 - weight,
            };
            factors[k] = factors[k].min(f);
        }
    }
    for (k, f) in factors.iter().enumerate() {
        for name in group(k) {
            if let Some(v) = w.get_mut(*name) {
                *v *= f;
            }
        }
    }
    w
}

/// Gaze from ARKit eye blendshapes, in degrees: yaw towards the performer's left, pitch up.
pub fn gaze_from_arkit(e: &ExpressionWeights) -> (f32, f32) {
    let g = |n: &str| e.get(n).unwrap_or(0.0);
    let left = (g("eyeLookOutLeft") + g("eyeLookInRight")) / 2.0;
    let right = (g("eyeLookInLeft") + g("eyeLookOutRight")) / 2.0;
    let up = (g("eyeLookUpLeft") + g("eyeLookUpRight")) / 2.0;
    let down = (g("eyeLookDownLeft") + g("eyeLookDownRight")) / 2.0;
    // ARKit's full range is roughly ±30° across and ±25° up and down.
    ((left - right) * 30.0, (up - down) * 25.0)
}

fn apply_avatar_expressions(
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

/// True while an avatar is still loading (offline renders wait for it).
pub fn avatar_loading(world: &mut World) -> bool {
    world.query::<&AvatarLoading>().iter(world).next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_signals_map_to_vrm_expressions() {
        let mut e = ExpressionWeights::default();
        e.set("aa", 0.8);
        e.set("eyeBlinkLeft", 1.0);
        e.set("eyeBlinkRight", 0.6);
        e.set("mouthSmileLeft", 1.0);
        let w: HashMap<_, _> = expression_weights(&e).into_iter().collect();
        assert_eq!(w["aa"], 0.8);
        assert_eq!(w["blink"], 0.6);
        assert!((w["blinkLeft"] - 0.4).abs() < 1e-6);
        assert_eq!(w["blinkRight"], 0.0);
        assert_eq!(w["happy"], 0.5);
    }

    #[test]
    fn vrm_override_rules_turn_down_blinks_and_mouth() {
        let Some(path) = Some(
            ling_testkit::repo_root()
                .join("../shared/data/avatars/VRMC_vrm_expressions_isBinary_Overrides.vrm"),
        )
        .filter(|p| p.exists()) else {
            ling_testkit::skip("vrm_override_rules_turn_down_blinks_and_mouth: sample not found");
            return;
        };
        let file = AvatarFile::load(&path).unwrap();
        let mut e = ExpressionWeights::default();
        e.set("eyeBlinkLeft", 1.0);
        e.set("eyeBlinkRight", 1.0);
        let w = resolve_expressions(&file, &e);
        assert_eq!(w["blink"], 1.0, "blinks when nothing overrides");
        // happy is binary and blends blinks out: at full happy, no blink.
        e.set("mouthSmileLeft", 0.8);
        e.set("mouthSmileRight", 0.8);
        let w = resolve_expressions(&file, &e);
        assert_eq!(w["happy"], 1.0, "binary expressions snap");
        assert_eq!(w["blink"], 0.0, "overrideBlink: blend at weight 1");
        // Expression-type look-at: gaze to the left shows lookLeft.
        e.set("eyeLookOutLeft", 1.0);
        e.set("eyeLookInRight", 1.0);
        let w = resolve_expressions(&file, &e);
        assert!(
            w["lookLeft"] > 0.3 && w["lookRight"] == 0.0,
            "{:?}",
            (w["lookLeft"], w["lookRight"])
        );
    }

    #[test]
    fn per_avatar_overrides_replace_default_entries() {
        let mut e = ExpressionWeights::default();
        e.set("mouthSmileLeft", 1.0);
        e.set("jawOpen", 0.5);
        let overrides = std::collections::BTreeMap::from([
            (
                "happy".to_string(),
                vec![("mouthSmileLeft".to_string(), 0.3)],
            ),
            ("Shout".to_string(), vec![("jawOpen".to_string(), 2.0)]),
        ]);
        let w: HashMap<_, _> = avatar_expression_weights(&e, &overrides)
            .into_iter()
            .collect();
        assert!((w["happy"] - 0.3).abs() < 1e-6);
        assert_eq!(w["Shout"], 1.0, "clamped");
        assert_eq!(w["aa"], 0.35, "defaults stay for the rest");
    }

    #[test]
    fn expression_map_sidecar_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let Some(src) =
            Some(ling_testkit::repo_root().join("../shared/data/avatars/cool_loops.vrm"))
                .filter(|p| p.exists())
        else {
            ling_testkit::skip("expression_map_sidecar_is_checked: cool_loops.vrm not found");
            return;
        };
        let avatar = dir.path().join("idol.vrm");
        std::fs::copy(&src, &avatar).unwrap();
        let sidecar = AvatarFile::expression_map_path(&avatar);
        std::fs::write(
            &sidecar,
            "{ \"happy\": [(\"mouthSmileLeft\", 0.5), (\"mouthSmileRight\", 0.5)] }",
        )
        .unwrap();
        let file = AvatarFile::load(&avatar).unwrap();
        assert_eq!(file.expression_map["happy"].len(), 2);
        std::fs::write(&sidecar, "{ \"happy\": [(\"smile\", 1.0)] }").unwrap();
        let err = AvatarFile::load(&avatar).unwrap_err().to_string();
        assert!(
            err.contains("idol.vrm.expressions.ron") && err.contains("\"smile\""),
            "{err}"
        );
    }
}
