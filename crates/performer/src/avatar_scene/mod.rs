//! Avatars on stage: a VRM or glTF humanoid loaded through Bevy's glTF loader, driven by the
//! same canonical signals as the built-in performer.
//!
//! The file is described by [`AvatarFile`] (humanoid map, expressions); the meshes come from
//! `bevy_gltf`; VRM materials written for MToon get a toon material of ours (`mtoon`), other
//! materials keep Bevy's standard PBR from the file's base colours and textures. When the scene has spawned, its humanoid nodes are
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
use ling_core::signals::{ExpressionWeights, HumanoidPose};

mod expressions;
mod mtoon;
#[cfg(test)]
mod mtoon_tests;
mod rig;

pub use mtoon::{MToonExtension, MToonMaterial, MToonOutline, MToonUniform, mtoon_materials};
pub use rig::AvatarRig;
use rig::{apply_avatar_expressions, apply_avatar_pose, bind_avatar_rig};

/// Asset source the avatar files are read from (a cache copy with a `.glb` name, since Bevy
/// picks its glTF loader by extension and VRM files end in `.vrm`).
const SOURCE: &str = "avatar";

/// The cache folder avatar files are staged in.
pub(crate) fn staging_dir() -> PathBuf {
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

/// An avatar file read, checked and copied where the asset source finds it.
pub(crate) struct StagedAvatar {
    /// What the file describes.
    pub(crate) file: AvatarFile,
    /// The copy in the staging folder (unique to this staging), removed when this goes.
    asset: StagedCopy,
}

/// The name of a staged copy in the staging folder. The copy is removed when this is dropped:
/// once the scene has loaded (the loading marker goes), when the load fails or a newer switch
/// replaces it, and when the switch is replaced while the file is still being read (the
/// reading thread's result is then dropped unseen).
pub(crate) struct StagedCopy(String);

impl Drop for StagedCopy {
    fn drop(&mut self) {
        unstage(&self.0);
    }
}

/// Reads an avatar file and copies it where the asset source finds it: the bytes that were
/// checked are the ones written (a file cut short or deleted after the check cannot reach
/// the renderer), under a name of their own (a file changed under the same name is loaded
/// afresh, not taken from the asset server's cache). The copy goes once the scene is loaded.
pub(crate) fn stage_avatar(src: &Path) -> Result<StagedAvatar, AvatarError> {
    static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let (file, bytes) = AvatarFile::load_bytes(src)?;
    let dir = staging_dir();
    std::fs::create_dir_all(&dir).map_err(|source| AvatarError::Io {
        path: dir.clone(),
        source,
    })?;
    let stem = src
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "avatar".into());
    let n = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let asset = format!("{stem}-{}-{n}.glb", std::process::id());
    let part = dir.join(format!("{asset}.part"));
    std::fs::write(&part, &bytes)
        .and_then(|()| std::fs::rename(&part, dir.join(&asset)))
        .map_err(|source| AvatarError::Io {
            path: part.clone(),
            source,
        })?;
    Ok(StagedAvatar {
        file,
        asset: StagedCopy(asset),
    })
}

/// Removes a staged copy once the asset server is done with it (see [`StagedCopy`]).
fn unstage(asset: &str) {
    let _ = std::fs::remove_file(staging_dir().join(asset));
}

/// Spawns the root of an incoming avatar, hidden: it becomes the performer (and the
/// performers before it leave) once its scene has spawned and its rig is bound; if the asset
/// server cannot load it, it goes and the current performer stays.
pub(crate) fn spawn_avatar(
    commands: &mut Commands,
    assets: &AssetServer,
    staged: StagedAvatar,
) -> Entity {
    let StagedAvatar { file, asset } = staged;
    let scene_path = format!("{SOURCE}://{}", asset.0);
    let handle = assets.load(GltfAssetLabel::Scene(0).from_asset(scene_path));
    let root = commands
        .spawn((
            Name::new(file.meta.title.clone()),
            Transform::default(),
            Visibility::Hidden,
            HumanoidPose::default(),
            ExpressionWeights::default(),
        ))
        .id();
    if let Some(materials) = mtoon::AvatarMaterials::new(file.materials.clone()) {
        commands.entity(root).insert(materials);
    }
    let scene = commands
        .spawn((WorldAssetRoot(handle.clone()), ChildOf(root)))
        .id();
    commands.entity(root).insert(AvatarLoading {
        file,
        scene,
        _asset: asset,
        handle: handle.id().untyped(),
    });
    root
}

/// The avatar description waiting to be spawned (inserted by [`register_avatar_source`]).
#[derive(Resource, Default)]
pub(crate) struct PendingAvatar(pub(crate) Option<StagedAvatar>);

/// An avatar whose scene has not finished spawning yet.
#[derive(Component)]
pub(crate) struct AvatarLoading {
    file: AvatarFile,
    scene: Entity,
    /// The staged copy, removed with this marker (once loaded, failed or cancelled).
    _asset: StagedCopy,
    /// The scene asset, watched for a failed load.
    handle: bevy::asset::UntypedAssetId,
}

impl AvatarLoading {
    /// Leaves the stage unloaded (a newer switch replaced it): its root goes, with its copy.
    pub(crate) fn cancel(&self, commands: &mut Commands, root: Entity) {
        commands.entity(root).despawn();
    }
}

/// An avatar the asset server could not load goes (the current performer stays) and the
/// switch's status says why, naming the file.
fn watch_avatar_loads(
    mut commands: Commands,
    assets: Option<Res<AssetServer>>,
    loading: Query<(Entity, &AvatarLoading)>,
    mut status: ResMut<crate::PerformerStatus>,
) {
    let Some(assets) = assets else { return };
    for (root, pending) in &loading {
        if let bevy::asset::LoadState::Failed(e) = assets.load_state(pending.handle) {
            let message = format!(
                "{}: the avatar could not be loaded for the stage ({e})",
                pending.file.path.display()
            );
            error!("{message}; the current performer stays");
            status.error = Some(message);
            status.loading = None;
            commands.entity(root).despawn(); // and its staged copy with it
        }
    }
}

/// Spawns the show's avatar at startup (staged by [`register_avatar_source`]), binds avatar rigs
/// once their scenes spawn, and solves every rig (pose and expressions) each frame.
pub(crate) fn plugin(app: &mut App) {
    mtoon::plugin(app);
    app.init_resource::<PendingAvatar>()
        .add_systems(Startup, spawn_avatar_performer)
        .add_systems(
            Update,
            (
                (watch_avatar_loads, bind_avatar_rig)
                    .chain()
                    .in_set(AppSystems::Ingest),
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
