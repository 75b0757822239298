//! Switching performers many times keeps nothing of the avatars that left: the asset counts
//! (meshes, materials, images, scenes, glTF documents, skins, clips) and the world's entities
//! return to where they were after the first round. Deterministic: counts, not memory or time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::mesh::skinning::SkinnedMeshInverseBindposes;
use bevy::prelude::*;

use crate::{PerformerStatus, avatar_scene, plugin};
use ling_core::background::LoadPolicy;
use ling_core::show::{DirectorCommand, PerformerSpec};
use ling_core::signals::Performer;

/// What is alive in the app: asset counts by type and the number of entities.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Census(Vec<(&'static str, usize)>);

fn census(app: &mut App) -> Census {
    fn count<A: Asset>(world: &World) -> usize {
        world.get_resource::<Assets<A>>().map_or(0, |a| a.len())
    }
    let world = app.world_mut();
    let entities = world.query::<Entity>().iter(world).count();
    let world = app.world();
    // The asset server's own records (paths and load states) of staged avatar copies.
    let server_records = format!("{:?}", world.resource::<AssetServer>())
        .matches("avatar://")
        .count();
    Census(vec![
        ("Mesh", count::<Mesh>(world)),
        ("StandardMaterial", count::<StandardMaterial>(world)),
        ("Image", count::<Image>(world)),
        (
            "WorldAsset (scene)",
            count::<bevy::world_serialization::WorldAsset>(world),
        ),
        ("Gltf", count::<bevy::gltf::Gltf>(world)),
        ("GltfMesh", count::<bevy::gltf::GltfMesh>(world)),
        ("GltfNode", count::<bevy::gltf::GltfNode>(world)),
        ("GltfPrimitive", count::<bevy::gltf::GltfPrimitive>(world)),
        ("GltfSkin", count::<bevy::gltf::GltfSkin>(world)),
        ("GltfMaterial", count::<bevy::gltf::GltfMaterial>(world)),
        (
            "SkinnedMeshInverseBindposes",
            count::<SkinnedMeshInverseBindposes>(world),
        ),
        ("AnimationClip", count::<AnimationClip>(world)),
        ("entities", entities),
        ("asset server records of avatar copies", server_records),
        ("staged copies on disk", staged_copies()),
    ])
}

/// Stems of this test's avatar copies (no other test stages files under these names).
const STEMS: [&str; 2] = ["switch-memory-a", "switch-memory-b"];

/// Copies of this test's avatars left in the staging folder by this process.
fn staged_copies() -> usize {
    let pid = format!("-{}-", std::process::id());
    std::fs::read_dir(avatar_scene::staging_dir())
        .map(|dir| {
            dir.flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    STEMS.iter().any(|s| name.starts_with(s)) && name.contains(&pid)
                })
                .count()
        })
        .unwrap_or(0)
}

fn performers(app: &mut App) -> Vec<String> {
    let world = app.world_mut();
    world
        .query::<&Performer>()
        .iter(world)
        .map(|p| p.name.clone())
        .collect()
}

fn loading(app: &mut App) -> usize {
    let world = app.world_mut();
    world
        .query::<&avatar_scene::AvatarLoading>()
        .iter(world)
        .count()
}

fn step(app: &mut App) {
    app.update();
    std::thread::sleep(Duration::from_millis(2));
}

/// Runs frames until `done`, failing (naming `what`) after a generous limit.
fn wait_for(app: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{what}: never happened; status {:?}",
            app.world().resource::<PerformerStatus>()
        );
        step(app);
    }
}

fn switch(app: &mut App, spec: PerformerSpec) {
    app.world_mut()
        .write_message(DirectorCommand::SwitchPerformer(spec));
}

/// Switches to `path` and waits until it is the only performer, its rig bound.
fn switch_to_avatar(app: &mut App, path: &Path) {
    switch(
        app,
        PerformerSpec::Avatar {
            path: path.to_owned(),
        },
    );
    step(app);
    wait_for(app, &format!("{} on stage", path.display()), |app| {
        let status = app.world().resource::<PerformerStatus>().clone();
        assert_eq!(status.error, None, "switching to {}", path.display());
        status.loading.is_none() && loading(app) == 0 && {
            let world = app.world_mut();
            world
                .query_filtered::<(), (With<Performer>, With<avatar_scene::AvatarRig>)>()
                .iter(world)
                .count()
                == 1
                && performers(app) != ["Ling"]
        }
    });
}

/// Lets dropped handles reach their asset stores (a few frames).
fn settle(app: &mut App) {
    for _ in 0..10 {
        step(app);
    }
}

/// One round (eight switches): avatar A, avatar B, A replaced by B while A's file is read,
/// A replaced by B while A's scene loads, Ling, nobody.
fn round(app: &mut App, a: &Path, b: &Path) {
    switch_to_avatar(app, a);
    switch_to_avatar(app, b);
    // Both in one frame: A's file is still being read when B replaces it.
    switch(app, PerformerSpec::Avatar { path: a.to_owned() });
    switch_to_avatar(app, b);
    // A comes in and is replaced by B before it is on stage.
    switch(app, PerformerSpec::Avatar { path: a.to_owned() });
    wait_for(app, "A loading", |app| loading(app) == 1);
    switch_to_avatar(app, b);
    switch(app, PerformerSpec::BuiltIn);
    wait_for(app, "Ling on stage", |app| performers(app) == ["Ling"]);
    switch(app, PerformerSpec::None);
    wait_for(app, "nobody on stage", |app| performers(app).is_empty());
    settle(app);
}

fn shared_avatar(name: &str) -> Option<PathBuf> {
    let path = ling_testkit::repo_root()
        .join("../shared/data/avatars")
        .join(name);
    path.exists().then_some(path)
}

/// Forty switches between two avatars (through Bevy's glTF loader), Ling and nobody:
/// after the first round, the asset stores and the world hold the same counts at the end of
/// every round — an avatar that leaves takes its meshes, materials, images, scene, glTF
/// document and skins with it, and no staged copy of its file stays on disk.
#[test]
fn switching_avatars_many_times_keeps_nothing_of_the_avatars_that_left() {
    let (Some(src_a), Some(src_b)) = (
        shared_avatar("VRMC_vrm_expressions_isBinary_Overrides.vrm"),
        shared_avatar("VRMC_materials_mtoon_UV_Animation_Test.vrm"),
    ) else {
        ling_testkit::skip("avatar switch memory: ../shared/data/avatars not found");
        return;
    };
    // Copies under names of their own, so the staged copies counted are this test's.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join(format!("{}.vrm", STEMS[0])),
        dir.path().join(format!("{}.vrm", STEMS[1])),
    );
    std::fs::copy(&src_a, &a).unwrap();
    std::fs::copy(&src_b, &b).unwrap();
    let mut app = App::new();
    avatar_scene::register_avatar_source(&mut app, &ling_core::show::ShowFile::default()).unwrap();
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
    app.init_asset::<StandardMaterial>()
        .init_asset::<AnimationClip>();
    app.insert_resource(LoadPolicy::Background);
    app.finish();
    app.cleanup();
    app.update();
    let start = census(&mut app);
    println!("at start: {start:?}");
    round(&mut app, &a, &b);
    let first = census(&mut app);
    println!("after round 1: {first:?}");
    assert_eq!(
        staged_copies(),
        0,
        "every staged copy is removed once loaded or dropped"
    );
    for n in 2..=5 {
        round(&mut app, &a, &b);
        let now = census(&mut app);
        println!("after round {n}: {now:?}");
        assert_eq!(
            now, first,
            "round {n} left more behind than the first round did"
        );
    }
}
