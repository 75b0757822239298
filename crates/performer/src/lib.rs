#![warn(missing_docs)]
//! The performer: the avatar the canonical signals drive.
//!
//! Motion sources write a [`HumanoidPose`] and [`ExpressionWeights`] (`ling_core::signals`) on
//! the performer entity;
//! this crate's solver (the only code that touches the avatar) turns them into bone transforms
//! and morph weights. Every performer is solved the same way, through an
//! [`avatar_scene::AvatarRig`]: VRM and glTF avatars loaded from files, and the built-in
//! performer, Ling, a skinned, vertex-coloured mesh over the VRM humanoid skeleton with face
//! morph targets, whose rig is her own skeleton.
//!
//! Modules:
//! - [`avatar`] reads avatar files (glTF, VRM 0.x and 1.0) into an [`avatar::AvatarFile`]:
//!   humanoid bone map, expressions, look-at, spring bones, licence. Plain data, no Bevy world.
//! - [`avatar_scene`] puts an avatar file on stage: stages it for Bevy's glTF loader, binds its
//!   rig when the scene spawns, and solves pose and expressions every frame.
//! - [`builtin`] builds Ling's mesh in code, and gives the rest curves of her plumes and water
//!   sleeves to the costume physics.
//! - [`prelude`] re-exports the types most users need.
//!
//! This root holds the [`plugin`], the performer switch driven by
//! [`DirectorCommand::SwitchPerformer`] (files are read off the frame thread) and its
//! [`PerformerStatus`] for the panel.
//!
//! Entity layout: the performer root carries [`Performer`], the signals and her place on stage
//! (`Transform`); the bone entities form the skeleton below it; the mesh entity is a child of
//! the root and is skinned to the bones.

use bevy::camera::visibility::NoFrustumCulling;
use bevy::mesh::morph::{MeshMorphWeights, MorphWeights};
use bevy::mesh::skinning::{SkinnedMesh, SkinnedMeshInverseBindposes};
use bevy::prelude::*;

use ling_core::AppSystems;
use ling_core::background::{Background, LoadPolicy};
use ling_core::show::{ActiveShow, DirectorCommand, PerformerSpec};
use ling_core::signals::{ExpressionWeights, HumanBone, HumanoidPose, Performer};

pub mod avatar;
pub mod avatar_scene;
pub mod builtin;
#[cfg(test)]
mod switch_memory_tests;

/// The types most users of the performer need: avatar descriptions and their errors, the rig
/// on every performer, the switch's status, and the marker for simulated costumes.
pub mod prelude {
    pub use crate::avatar::{AvatarError, AvatarFile, AvatarKind};
    pub use crate::avatar_scene::AvatarRig;
    pub use crate::{PerformerStatus, SimulatedCostume};
}

/// Present when another plugin simulates Ling's plumes and water sleeves (`ling-physics` inserts
/// it): her rigid mesh then leaves them out, and the simulation attaches its own when she is
/// spawned.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct SimulatedCostume;

/// Marks a skeleton joint with its humanoid bone.
#[derive(Component, Debug, Clone, Copy)]
pub struct Bone(pub HumanBone);

/// What the performer switch last reported, for the panel.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct PerformerStatus {
    /// Why the last switch failed; cleared by the next switch that goes through.
    pub error: Option<String>,
    /// The avatar file being read, while it loads.
    pub loading: Option<String>,
    /// One line per avatar on stage crediting it: title, version, authors and licence.
    pub credits: Vec<String>,
}

/// One line crediting an avatar: "title version by authors — licence".
pub(crate) fn credit_line(meta: &avatar::AvatarMeta) -> String {
    let authors = if meta.authors.is_empty() {
        "unknown".to_string()
    } else {
        meta.authors.join(", ")
    };
    let license = if meta.license.is_empty() {
        "no licence stated"
    } else {
        &meta.license
    };
    format!("{} {} by {authors} — {license}", meta.title, meta.version)
}

/// Publishes the credits of the avatars on stage into [`PerformerStatus`].
/// Only when a rig comes or goes, so the panel's credits cost nothing on other frames.
fn publish_credits(
    rigs: Query<&avatar_scene::AvatarRig>,
    added: Query<(), Added<avatar_scene::AvatarRig>>,
    mut removed: RemovedComponents<avatar_scene::AvatarRig>,
    mut status: ResMut<PerformerStatus>,
) {
    let gone = removed.read().count() > 0;
    if added.is_empty() && !gone {
        return;
    }
    status.credits = rigs.iter().map(|rig| credit_line(&rig.file.meta)).collect();
}

/// An avatar file being read for a performer switch.
type AvatarLoad = Background<Result<avatar_scene::StagedAvatar, avatar::AvatarError>>;

/// Swaps the performer when asked. Avatar files are read off the frame thread (live); a file
/// that cannot be read (missing, cut short, not an avatar) is reported naming it and the
/// current performer stays. A new avatar comes on stage only once its scene has loaded and
/// its rig is bound (`avatar_scene`); until then the current performer goes on.
#[allow(clippy::too_many_arguments)]
fn switch_performer(
    mut commands: Commands,
    mut messages: MessageReader<DirectorCommand>,
    show: Option<Res<ActiveShow>>,
    policy: Option<Res<LoadPolicy>>,
    performers: Query<Entity, With<Performer>>,
    incoming: Query<(Entity, &avatar_scene::AvatarLoading)>,
    assets: Option<Res<AssetServer>>,
    mut meshes: Option<ResMut<Assets<Mesh>>>,
    mut materials: Option<ResMut<Assets<StandardMaterial>>>,
    mut bindposes: Option<ResMut<Assets<SkinnedMeshInverseBindposes>>>,
    mut status: ResMut<PerformerStatus>,
    costume: Option<Res<SimulatedCostume>>,
    mut pending: Local<Option<AvatarLoad>>,
) {
    let policy = policy.map(|p| *p).unwrap_or_default();
    let mut ready: Option<PerformerSpec> = None;
    for message in messages.read() {
        let DirectorCommand::SwitchPerformer(spec) = message else {
            continue;
        };
        match spec {
            PerformerSpec::Avatar { path } => {
                let path = show
                    .as_ref()
                    .map(|s| s.0.resolve(path))
                    .unwrap_or_else(|| path.clone());
                status.loading = Some(path.display().to_string());
                status.error = None; // the last switch's error is old news
                *pending = Some(Background::start("avatar-load", policy, move || {
                    avatar_scene::stage_avatar(&path)
                }));
            }
            other => {
                // A later switch replaces one still loading.
                *pending = None;
                status.loading = None;
                ready = Some(other.clone());
            }
        }
    }
    let loaded = pending.as_ref().and_then(|p| p.poll());
    if loaded.is_some() {
        *pending = None;
        status.loading = None;
    }
    let avatar = match loaded {
        Some(Ok(staged)) => Some(staged),
        Some(Err(e)) => {
            error!("{e}; the current performer stays");
            status.error = Some(e.to_string());
            None
        }
        None => None,
    };
    if let Some(staged) = avatar {
        // The newest avatar asked for is the one that comes on; one still loading is dropped.
        for (e, loading) in &incoming {
            loading.cancel(&mut commands, e);
        }
        match &assets {
            Some(assets) => {
                status.error = None;
                status.loading = Some(staged.file.path.display().to_string());
                avatar_scene::spawn_avatar(&mut commands, assets, staged);
            }
            None => {
                status.error = Some(format!(
                    "{}: avatars need the renderer (no asset server here)",
                    staged.file.path.display()
                ));
            }
        }
        return;
    }
    let Some(spec) = ready else {
        return;
    };
    for e in &performers {
        commands.entity(e).despawn();
    }
    for (e, loading) in &incoming {
        loading.cancel(&mut commands, e);
    }
    status.error = None;
    if spec == PerformerSpec::BuiltIn {
        spawn_ling(
            &mut commands,
            meshes.as_deref_mut(),
            materials.as_deref_mut(),
            bindposes.as_deref_mut(),
            costume.is_none(),
        );
    }
}

/// The performer: switches performers on [`DirectorCommand::SwitchPerformer`], publishes
/// [`PerformerStatus`], solves avatars (`avatar_scene`) and spawns Ling at startup unless the
/// show names another performer.
pub fn plugin(app: &mut App) {
    app.add_message::<DirectorCommand>()
        .init_resource::<PerformerStatus>()
        .add_systems(Update, switch_performer.in_set(AppSystems::Clock))
        .add_systems(Update, publish_credits.in_set(AppSystems::Capture))
        .add_plugins(avatar_scene::plugin)
        .add_systems(Startup, spawn_builtin_performer);
}

/// Spawns Ling: the skeleton always, the skinned mesh when rendering is present.
fn spawn_builtin_performer(
    mut commands: Commands,
    show: Option<Res<ActiveShow>>,
    mut meshes: Option<ResMut<Assets<Mesh>>>,
    mut materials: Option<ResMut<Assets<StandardMaterial>>>,
    mut bindposes: Option<ResMut<Assets<SkinnedMeshInverseBindposes>>>,
    costume: Option<Res<SimulatedCostume>>,
) {
    if show.is_some_and(|s| s.0.performer != PerformerSpec::BuiltIn) {
        return;
    }
    spawn_ling(
        &mut commands,
        meshes.as_deref_mut(),
        materials.as_deref_mut(),
        bindposes.as_deref_mut(),
        costume.is_none(),
    );
}

/// Spawns Ling; the skinned mesh only when the render assets exist.
pub(crate) fn spawn_ling(
    commands: &mut Commands,
    meshes: Option<&mut Assets<Mesh>>,
    materials: Option<&mut Assets<StandardMaterial>>,
    bindposes: Option<&mut Assets<SkinnedMeshInverseBindposes>>,
    rigid_plumes: bool,
) -> Entity {
    let root = commands
        .spawn((
            Name::new("Ling"),
            Transform::default(),
            Visibility::default(),
            HumanoidPose::default(),
            ExpressionWeights::default(),
        ))
        .id();
    let mut bones = Vec::with_capacity(HumanBone::COUNT);
    for &bone in HumanBone::ALL {
        let parent = bone.parent().map(|p| bones[p.index()]).unwrap_or(root);
        let id = commands
            .spawn((
                Name::new(bone.name()),
                Bone(bone),
                Transform::from_translation(bone.rest_local_translation()),
                Visibility::default(),
                ChildOf(parent),
            ))
            .id();
        bones.push(id);
    }
    commands.entity(root).insert((
        Performer {
            name: "Ling".into(),
            bones: bones.clone(),
        },
        // Ling is solved like any avatar: her rig is her own skeleton, her expressions her
        // morph targets (on the root entity, once the mesh exists).
        avatar_scene::AvatarRig::builtin(&bones, root),
    ));

    let (Some(meshes), Some(materials), Some(bindposes)) = (meshes, materials, bindposes) else {
        return root;
    };
    let mesh = meshes.add(builtin::build_mesh(rigid_plumes));
    let weights = MorphWeights::new(vec![0.0; builtin::MORPH_TARGETS.len()], Some(mesh.clone()))
        .expect("the built-in avatar has fewer morph targets than Bevy's limit");
    commands.entity(root).insert(weights);
    commands.spawn((
        Name::new("Ling body"),
        Mesh3d(mesh),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: Color::WHITE,
            perceptual_roughness: 0.55,
            reflectance: 0.4,
            double_sided: true,
            cull_mode: None,
            ..default()
        })),
        SkinnedMesh {
            inverse_bindposes: bindposes.add(builtin::inverse_bindposes()),
            joints: bones,
        },
        MeshMorphWeights::Reference(root),
        NoFrustumCulling,
        ChildOf(root),
    ));
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_core::signals::REQUIRED_BONES;

    #[test]
    fn builtin_mesh_is_skinned_to_the_skeleton_with_face_morphs() {
        use bevy::mesh::VertexAttributeValues;
        let mesh = builtin::build_mesh(true);
        let n = mesh.count_vertices();
        assert!(
            n > 5_000,
            "a detailed figure, not a placeholder: {n} vertices"
        );
        let Some(VertexAttributeValues::Uint16x4(joints)) =
            mesh.attribute(Mesh::ATTRIBUTE_JOINT_INDEX)
        else {
            panic!("joint indices missing");
        };
        let Some(VertexAttributeValues::Float32x4(weights)) =
            mesh.attribute(Mesh::ATTRIBUTE_JOINT_WEIGHT)
        else {
            panic!("joint weights missing");
        };
        let mut used = std::collections::BTreeSet::new();
        for (j, w) in joints.iter().zip(weights) {
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            for k in 0..4 {
                assert!((j[k] as usize) < HumanBone::COUNT);
                if w[k] > 0.0 {
                    used.insert(j[k]);
                }
            }
        }
        for bone in [
            HumanBone::Head,
            HumanBone::LeftHand,
            HumanBone::RightFoot,
            HumanBone::Hips,
        ] {
            assert!(
                used.contains(&(bone as u16)),
                "{} moves geometry",
                bone.name()
            );
        }
        let targets = mesh.morph_targets().expect("morph targets");
        assert_eq!(targets.len(), n * builtin::MORPH_TARGETS.len());
        for (i, name) in builtin::MORPH_TARGETS.iter().enumerate() {
            let moved = targets[i * n..(i + 1) * n]
                .iter()
                .filter(|a| a.position.length() > 1e-4)
                .count();
            assert!(moved > 20, "morph {name} moves {moved} vertices");
        }
        assert_eq!(builtin::inverse_bindposes().len(), HumanBone::COUNT);
    }

    #[test]
    fn switching_performers_keeps_the_stage_on_bad_files() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, TransformPlugin, ling_core::plugin, plugin));
        app.update();
        let count = |app: &mut App| {
            let world = app.world_mut();
            world.query::<&Performer>().iter(world).count()
        };
        assert_eq!(count(&mut app), 1);
        app.world_mut()
            .write_message(DirectorCommand::SwitchPerformer(PerformerSpec::Avatar {
                path: "missing/avatar.vrm".into(),
            }));
        app.update();
        // Live, the file is read off the frame thread: wait for the verdict.
        for _ in 0..500 {
            if app.world().resource::<PerformerStatus>().error.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            app.update();
        }
        assert_eq!(count(&mut app), 1, "a bad file leaves Ling on stage");
        let err = app
            .world()
            .resource::<PerformerStatus>()
            .error
            .clone()
            .unwrap();
        assert!(err.contains("missing/avatar.vrm"), "{err}");
        app.world_mut()
            .write_message(DirectorCommand::SwitchPerformer(PerformerSpec::None));
        app.update();
        assert_eq!(count(&mut app), 0, "an empty stage");
        app.world_mut()
            .write_message(DirectorCommand::SwitchPerformer(PerformerSpec::BuiltIn));
        app.update();
        assert_eq!(count(&mut app), 1, "Ling is back");
        assert!(app.world().resource::<PerformerStatus>().error.is_none());
    }

    /// Switching to an avatar file deleted or cut short before it is read, or whose staged copy
    /// vanishes before the asset server loads it: each time the error names the file, the
    /// current performer stays on stage and the frames go on; a later switch to a good file
    /// brings that avatar on (loaded through Bevy's glTF loader, its rig bound) and Ling goes.
    #[test]
    fn an_avatar_deleted_or_cut_short_while_switched_to_leaves_the_performer_on_stage() {
        use std::time::{Duration, Instant};
        let good = ling_testkit::repo_root()
            .join("../shared/data/avatars/VRMC_vrm_expressions_isBinary_Overrides.vrm");
        if !good.exists() {
            ling_testkit::skip(format!(
                "avatar switch faults: {} not found",
                good.display()
            ));
            return;
        }
        let bytes = std::fs::read(&good).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::new();
        avatar_scene::register_avatar_source(&mut app, &ling_core::show::ShowFile::default())
            .unwrap();
        app.add_plugins((
            MinimalPlugins,
            TransformPlugin,
            AssetPlugin::default(),
            bevy::image::ImagePlugin::default(),
            bevy::world_serialization::WorldSerializationPlugin,
            bevy::mesh::MeshPlugin,
            bevy::gltf::GltfPlugin::default(),
            ling_core::plugin,
            plugin,
        ));
        app.insert_resource(LoadPolicy::Background);
        app.finish();
        app.cleanup();
        app.update();
        let performers = |app: &mut App| {
            let world = app.world_mut();
            world
                .query::<&Performer>()
                .iter(world)
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(performers(&mut app), ["Ling"]);
        let frames = std::cell::Cell::new(0u32);
        let switch = |app: &mut App, path: &std::path::Path| -> Option<String> {
            app.world_mut()
                .write_message(DirectorCommand::SwitchPerformer(PerformerSpec::Avatar {
                    path: path.to_owned(),
                }));
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                app.update();
                frames.set(frames.get() + 1);
                let status = app.world().resource::<PerformerStatus>().clone();
                if let Some(e) = status.error {
                    return Some(e);
                }
                if status.loading.is_none() && performers(app) != ["Ling"] {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            panic!("the switch to {} never ended", path.display());
        };

        // Deleted before it is read.
        let gone = dir.path().join("gone.vrm");
        std::fs::write(&gone, &bytes).unwrap();
        std::fs::remove_file(&gone).unwrap();
        let e = switch(&mut app, &gone).expect("an error");
        println!("deleted: {e}");
        assert!(e.contains("gone.vrm"), "{e}");
        assert_eq!(performers(&mut app), ["Ling"], "Ling stays on stage");

        // Cut short (half of it) before it is read.
        let cut = dir.path().join("cut.vrm");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = switch(&mut app, &cut).expect("an error");
        println!("cut short: {e}");
        assert!(e.contains("cut.vrm") && e.contains("short"), "{e}");
        assert_eq!(performers(&mut app), ["Ling"]);

        // Read, checked and staged; the staged copy vanishes before the asset server loads
        // it (no frame runs between the two).
        let staged = dir.path().join("staged.vrm");
        std::fs::write(&staged, &bytes).unwrap();
        app.world_mut()
            .write_message(DirectorCommand::SwitchPerformer(PerformerSpec::Avatar {
                path: staged.clone(),
            }));
        app.update(); // the switch starts reading it
        let prefix = format!("staged-{}-", std::process::id());
        let start = Instant::now();
        let mut wiped = false;
        while !wiped && start.elapsed() < Duration::from_secs(10) {
            for entry in std::fs::read_dir(avatar_scene::staging_dir())
                .unwrap()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with(&prefix) && name.ends_with(".glb") {
                    std::fs::remove_file(entry.path()).unwrap();
                    wiped = true;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(wiped, "the copy was staged");
        let start = Instant::now();
        let e = loop {
            app.update();
            frames.set(frames.get() + 1);
            if let Some(e) = app.world().resource::<PerformerStatus>().error.clone() {
                break e;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no verdict");
            std::thread::sleep(Duration::from_millis(5));
        };
        println!("staged copy gone: {e}");
        assert!(
            e.contains("staged.vrm") && e.contains("could not be loaded"),
            "{e}"
        );
        assert_eq!(performers(&mut app), ["Ling"]);
        assert!(app.world().resource::<PerformerStatus>().loading.is_none());

        // A good file afterwards comes on stage.
        assert_eq!(switch(&mut app, &good), None);
        let on_stage = performers(&mut app);
        println!("good file: {on_stage:?} after {} frames", frames.get());
        assert_eq!(on_stage.len(), 1);
        assert_ne!(on_stage, ["Ling"]);
        let world = app.world_mut();
        assert_eq!(
            world
                .query_filtered::<(), (With<Performer>, With<avatar_scene::AvatarRig>)>()
                .iter(world)
                .count(),
            1,
            "its rig is bound"
        );
    }

    #[test]
    fn headless_performer_has_a_complete_skeleton_that_follows_the_pose() {
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            TransformPlugin,
            ling_core::configure_phases,
            plugin,
        ));
        app.update();
        let world = app.world_mut();
        let mut q = world.query::<(Entity, &Performer)>();
        let (root, performer) = q.single(world).unwrap();
        let bones = performer.bones.clone();
        assert_eq!(bones.len(), HumanBone::COUNT);
        for (&e, &bone) in bones.iter().zip(HumanBone::ALL) {
            assert_eq!(world.get::<Bone>(e).unwrap().0, bone);
            let parent = world.get::<ChildOf>(e).unwrap().parent();
            let expected = bone.parent().map(|p| bones[p.index()]).unwrap_or(root);
            assert_eq!(parent, expected, "{}", bone.name());
        }
        for bone in REQUIRED_BONES {
            assert!(world.get::<Bone>(bones[bone.index()]).is_some());
        }

        let mut pose = HumanoidPose::default();
        pose.set(HumanBone::LeftUpperArm, Quat::from_rotation_z(-1.2));
        pose.hips += Vec3::new(0.0, -0.1, 0.0);
        world.entity_mut(root).insert(pose.clone());
        app.update();
        let world = app.world();
        let hand = world
            .get::<GlobalTransform>(bones[HumanBone::LeftHand.index()])
            .unwrap();
        let expected = pose.model_transforms()[HumanBone::LeftHand.index()].translation;
        assert!(
            hand.translation().distance(expected) < 1e-4,
            "{:?} vs {expected:?}",
            hand.translation()
        );
    }
}
