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
//!
//! This file stages avatar files for the asset server and spawns them; `rig` binds and solves
//! the [`AvatarRig`]; `expressions` turns canonical expression weights into the avatar's.

use std::path::{Path, PathBuf};

use bevy::asset::io::AssetSourceBuilder;
use bevy::gltf::GltfAssetLabel;
use bevy::prelude::*;
use bevy::world_serialization::WorldAssetRoot;

use crate::avatar::{AvatarError, AvatarFile};
use ling_core::AppSystems;
use ling_core::show::{ActiveShow, PerformerSpec};
use ling_core::signals::{ExpressionWeights, HumanoidPose, Performer};

mod expressions;
mod rig;

pub use rig::AvatarRig;
use rig::{apply_avatar_expressions, apply_avatar_pose, bind_avatar_rig};

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
pub(crate) fn stage_avatar(src: &Path) -> Result<AvatarFile, AvatarError> {
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
pub(crate) fn spawn_avatar(
    commands: &mut Commands,
    assets: &AssetServer,
    file: AvatarFile,
) -> Entity {
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
pub(crate) struct PendingAvatar(pub(crate) Option<AvatarFile>);

/// An avatar whose scene has not finished spawning yet.
#[derive(Component)]
pub(crate) struct AvatarLoading {
    file: AvatarFile,
    scene: Entity,
}

/// Spawns the show's avatar at startup (staged by [`register_avatar_source`]), binds avatar rigs
/// once their scenes spawn, and solves every rig (pose and expressions) each frame.
pub(crate) fn plugin(app: &mut App) {
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

/// Spawns the show's avatar, staged before the app started, when the show names one.
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

/// True while an avatar is still loading (offline renders wait for it).
pub fn avatar_loading(world: &mut World) -> bool {
    world.query::<&AvatarLoading>().iter(world).next().is_some()
}
