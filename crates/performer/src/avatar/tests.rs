//! Reading real avatar files (the shared samples; skipped where they are missing) and refusing
//! broken ones.

use std::path::{Path, PathBuf};

use ling_core::signals::{HumanBone, REQUIRED_BONES};

use super::*;

fn shared(name: &str) -> Option<PathBuf> {
    let p = ling_testkit::repo_root()
        .join("../shared/data/avatars")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        ling_testkit::skip(format!("{} not found", p.display()));
        None
    }
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

#[test]
fn expression_map_sidecar_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let Some(src) = Some(ling_testkit::repo_root().join("../shared/data/avatars/cool_loops.vrm"))
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

fn lengths(bytes: &[u8]) -> Result<(), String> {
    let json = json::gltf_json(bytes)?;
    json::check_lengths(bytes, &json)
}

/// One VEC3 float accessor of `count` over a view of `view` bytes in a buffer of `buffer`.
fn layout(buffer: usize, view: usize, count: usize) -> String {
    format!(
        r#"{{"asset":{{"version":"2.0"}},"buffers":[{{"byteLength":{buffer}}}],
        "bufferViews":[{{"buffer":0,"byteLength":{view}}}],
        "accessors":[{{"bufferView":0,"componentType":5126,"type":"VEC3","count":{count}}}]}}"#
    )
}

#[test]
fn declared_lengths_are_checked_against_the_data() {
    let ok = glb(&layout(24, 24, 2), &[0; 24]);
    assert_eq!(lengths(&ok), Ok(()));
    // Cut short anywhere: the header's total no longer matches.
    for cut in [4, 24, ok.len() - 40] {
        let short = &ok[..ok.len() - cut];
        let why = lengths(short).unwrap_err();
        assert!(
            why.contains("cut short") || why.contains("JSON"),
            "{cut}: {why}"
        );
    }
    let why = lengths(&ok[..ok.len() - 4]).unwrap_err();
    assert!(why.contains(&format!("cut short by 4 bytes")), "{why}");
    // Consistent files that promise more than they hold.
    let why = lengths(&glb(&layout(24, 24, 3), &[0; 24])).unwrap_err();
    assert!(why.contains("accessor 0 needs 36 bytes"), "{why}");
    let why = lengths(&glb(&layout(24, 32, 2), &[0; 24])).unwrap_err();
    assert!(
        why.contains("buffer view 0") && why.contains("runs past"),
        "{why}"
    );
    let why = lengths(&glb(&layout(48, 24, 2), &[0; 24])).unwrap_err();
    assert!(why.contains("buffer 0 declares 48 bytes"), "{why}");
}

#[test]
fn a_shared_avatar_cut_short_is_refused_naming_the_file() {
    let Some(path) = shared("cool_loops.vrm") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    assert!(AvatarFile::parse(&bytes, &path).is_ok());
    for keep in [bytes.len() / 3, bytes.len() - 1] {
        let err = AvatarFile::parse(&bytes[..keep], &path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cool_loops.vrm") && err.contains("cut short"),
            "{keep} bytes: {err}"
        );
    }
}
