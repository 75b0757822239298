//! Cloth tests: sheets and sleeves that must hang, drape and stay out of the body, and repeat
//! exactly.

use bevy::prelude::*;

use ling_core::settings::{GroupSettings, PhysicsSettings};
use ling_core::signals::{HumanBone, HumanoidPose};

use super::body::{ling_body, world_bones};
use super::garments::{ling_back_flags, ling_sleeve};
use super::mesh::cloth_mesh;
use super::spec::{ClothAnchor, ClothGroup, ClothSpec};
use super::world::CostumeWorld;

fn rest_bones() -> Vec<Transform> {
    HumanoidPose::default().model_transforms().to_vec()
}

fn sheet(rows: usize, cols: usize) -> ClothSpec {
    let mut points = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            // Held out flat and level: it must fall and hang.
            points.push(Vec3::new(0.05 * c as f32, 2.0, 0.05 * r as f32));
        }
    }
    ClothSpec {
        name: "sheet".into(),
        group: ClothGroup::Curtains,
        anchor: ClothAnchor::Set,
        rows,
        cols,
        wrap: false,
        points,
        pinned_rows: 1,
        pinned_first_col: false,
        particle_radius: 0.01,
        mass: 0.2,
    }
}

/// An 8 × 6 sheet (see [`sheet`]) of light curtain silk in a world of its own.
fn hanging_sheet() -> (CostumeWorld, usize) {
    let mut world = CostumeWorld::default();
    let cloth = world.add_cloth(sheet(8, 6), Transform::IDENTITY);
    world.configure(
        ClothGroup::Curtains,
        GroupSettings {
            stiffness: 0.5,
            drag: 0.3,
            gravity: 1.0,
        },
    );
    (world, cloth)
}

#[test]
fn a_sheet_pinned_by_one_edge_falls_and_hangs_straight_down() {
    let (mut world, cloth) = hanging_sheet();
    for _ in 0..900 {
        world.step(&[], Vec3::ZERO);
    }
    let p = world.positions(cloth);
    for c in 0..6 {
        let top = p[c];
        let bottom = p[7 * 6 + c];
        assert!(
            (top.y - bottom.y) > 0.9 * 0.35,
            "column {c} hangs down: {top:?} → {bottom:?}"
        );
        assert!(
            (bottom.z - top.z).abs() < 0.05,
            "and straight under its pin: {top:?} → {bottom:?}"
        );
    }
    // Rope links do not stretch: every row is within 5 % of its rest spacing.
    for r in 1..8 {
        let d = p[r * 6].distance(p[(r - 1) * 6]);
        assert!(d < 0.05 * 1.05, "row {r} stretched to {d}");
    }
    assert!(world.energy() < 1e-3, "at rest: {} J", world.energy());
}

#[test]
fn sleeves_hang_outside_the_body_at_rest_and_the_mesh_has_normals() {
    let bones = rest_bones();
    let mut world = CostumeWorld::default();
    world.set_body(&ling_body(), &bones);
    let left = world.add_cloth(ling_sleeve(1.0), bones[HumanBone::LeftHand.index()]);
    world.add_cloth(ling_sleeve(-1.0), bones[HumanBone::RightHand.index()]);
    for _ in 0..300 {
        world.step(&bones, Vec3::ZERO);
    }
    assert!(world.deepest_penetration(&bones) < 0.01);
    let p = world.positions(left);
    let spec = world.spec(left).clone();
    let mouth = p[(spec.rows - 1) * spec.cols];
    assert!(
        mouth.y < bones[HumanBone::LeftHand.index()].translation.y - 0.2,
        "the sleeve falls from the cuff: {mouth:?}"
    );
    let mesh = cloth_mesh(&spec, &p, &Transform::IDENTITY);
    let normals = mesh.attribute(Mesh::ATTRIBUTE_NORMAL).unwrap();
    assert_eq!(normals.len(), spec.rows * (spec.cols + 1));
}

/// An avatar's own collider (a VRM collider sphere) holds the cloth up like the body's
/// capsules do.
#[test]
fn cloth_drapes_over_an_avatars_own_collider() {
    let drop_sheet = |collider: bool| {
        let (mut world, cloth) = hanging_sheet();
        // A ball just behind where the sheet would hang: it is pushed out of the way.
        let ball = (Vec3::new(0.125, 1.8, 0.05), 0.08);
        for _ in 0..600 {
            if collider {
                world.set_avatar_colliders(&[(ball.0, ball.0, ball.1)]);
            }
            world.step(&[], Vec3::ZERO);
        }
        let p = world.positions(cloth);
        let inside = p
            .iter()
            .map(|q| (ball.1 + 0.01) - q.distance(ball.0))
            .fold(f32::MIN, f32::max);
        (p, inside)
    };
    let (free, _) = drop_sheet(false);
    let (draped, deepest) = drop_sheet(true);
    println!("deepest into the ball {:.1} mm", deepest * 1000.0);
    assert!(deepest < 0.01, "no particle inside the ball: {deepest}");
    // Without the ball the sheet hangs straight down; with it, it drapes over the ball
    // (it falls from the ball's side) and its hem hangs out beyond it.
    let corner = 7 * 6 + 2;
    assert!(
        draped[corner].z > free[corner].z + 0.1,
        "{} vs {}",
        draped[corner],
        free[corner]
    );
}

#[test]
fn back_flags_settle_on_their_poles_clear_of_the_body() {
    let bones = rest_bones();
    let mut world = CostumeWorld::default();
    world.set_body(&ling_body(), &bones);
    let flags: Vec<usize> = ling_back_flags()
        .into_iter()
        .map(|spec| world.add_cloth(spec, bones[HumanBone::UpperChest.index()]))
        .collect();
    world.configure(ClothGroup::Flags, PhysicsSettings::default().flags);
    for _ in 0..600 {
        world.step(&bones, Vec3::ZERO);
    }
    println!(
        "back flags at rest: energy {:.2e} J, deepest into the body {:.1} mm",
        world.energy(),
        world.deepest_penetration(&bones) * 1000.0
    );
    assert!(world.energy() < 1e-3, "at rest: {} J", world.energy());
    assert!(world.deepest_penetration(&bones) < 0.01);
    for &flag in &flags {
        let spec = world.spec(flag).clone();
        let p = world.positions(flag);
        // The lower outer corner flies free but the flag stays spread: it does not
        // collapse onto its pole.
        let corner = p[spec.rows * spec.cols - 1];
        let rest = bones[HumanBone::UpperChest.index()]
            .transform_point(spec.points[spec.rows * spec.cols - 1]);
        let from_pole = (0..spec.cols)
            .map(|c| corner.distance(p[c]))
            .fold(f32::MAX, f32::min);
        println!(
            "{}: lower outer corner {:.2} m from the pole, {:.2} m from where it was sewn",
            spec.name,
            from_pole,
            corner.distance(rest)
        );
        assert!(from_pole > 0.05, "{} collapses onto its pole", spec.name);
        // Flags stand above the shoulders, behind the head.
        assert!(
            p.iter().all(|q| q.y > 1.3),
            "{} falls below the shoulders",
            spec.name
        );
    }
}

/// Runs both sleeves on the built-in body through `clip` at 60 Hz; returns the deepest
/// penetration of any sleeve particle into a body capsule at each step, and the final
/// particle positions.
fn sleeves_through(
    clip: &ling_mocap::retarget::HumanoidClip,
    seconds: f64,
) -> (Vec<(f32, f32)>, Vec<Vec3>) {
    let root = Transform::IDENTITY;
    let bones = world_bones(&root, &clip.sample(0.0));
    let mut world = CostumeWorld::default();
    world.set_body(&ling_body(), &bones);
    for side in [1.0, -1.0] {
        let spec = ling_sleeve(side);
        let ClothAnchor::Bone(bone) = spec.anchor else {
            unreachable!()
        };
        world.add_cloth(spec, bones[bone.index()]);
    }
    world.configure(ClothGroup::Sleeves, PhysicsSettings::default().sleeves);
    let steps = (seconds.min(clip.duration()) * 60.0) as usize;
    let mut depths = Vec::with_capacity(steps);
    for step in 0..steps {
        let bones = world_bones(&root, &clip.sample(step as f64 / 60.0));
        world.step(&bones, Vec3::ZERO);
        let (depth, capsule, _) = world.deepest_penetration_at(&bones);
        // As a share of the way from the capsule's surface to its bone.
        let reach = ling_body()[capsule].radius + 0.015;
        depths.push((depth, depth / reach));
    }
    let mut end = world.positions(0);
    end.extend(world.positions(1));
    (depths, end)
}

#[test]
fn sleeves_stay_outside_the_body_under_cmu_motion_and_repeat_exactly() {
    let dir = ling_testkit::repo_root().join("../shared/data/mocap");
    if !dir.exists() {
        ling_testkit::skip(format!(
            "sleeves under CMU motion: {} not found",
            dir.display()
        ));
        return;
    }
    for name in ["cmu_131_01.bvh", "cmu_131_02.bvh", "cmu_131_03.bvh"] {
        let clip = ling_mocap::load_capture(&dir.join(name), None).unwrap();
        let (depths, end) = sleeves_through(&clip, 20.0);
        // The first quarter second settles the sleeves from their rest shape, which the
        // clip's first pose may put inside a leg.
        let settled: Vec<f32> = depths[15..].iter().map(|d| d.0).collect();
        let crossing = depths[15..].iter().map(|d| d.1).fold(0.0, f32::max);
        let n = settled.len();
        let mut sorted = settled.clone();
        sorted.sort_by(f32::total_cmp);
        let (p95, max) = (sorted[n * 95 / 100], sorted[n - 1]);
        let inside = settled.iter().filter(|d| **d > 0.01).count();
        println!(
            "{name}: {n} steps, deepest sleeve penetration into the body: p95 {:.1} mm, max {:.1} mm ({:.0} % of the way to a bone), {inside} steps deeper than 10 mm",
            p95 * 1000.0,
            max * 1000.0,
            crossing * 100.0
        );
        assert!(
            end.iter().all(|p| p.is_finite() && p.length() < 20.0),
            "{name}: no explosion"
        );
        assert!(
            p95 < 0.01,
            "{name}: the silk stays on the surface (p95 {p95} m)"
        );
        // A particle as deep as its capsule's radius would have crossed the bone, passing
        // through the limb.
        assert!(
            crossing < 0.6,
            "{name}: and never passes through a limb (reached {:.0} % of the way to a bone)",
            crossing * 100.0
        );
    }
    let clip = ling_mocap::load_capture(&dir.join("cmu_131_02.bvh"), None).unwrap();
    assert_eq!(
        sleeves_through(&clip, 4.0),
        sleeves_through(&clip, 4.0),
        "the same motion gives the same cloth"
    );
}

/// Every piece the stage knows (both sleeves, the four back flags, two door curtains) on a
/// performer turning on the spot in a gusting breeze, stepped on `threads` threads; returns
/// every particle position after `steps` steps, as bits.
fn costume_on_threads(threads: usize, steps: usize) -> Vec<[u32; 3]> {
    let pose = HumanoidPose::default();
    let bones_at = |turn: f32| {
        world_bones(
            &Transform::from_rotation(Quat::from_rotation_y(turn)),
            &pose,
        )
    };
    let bones = bones_at(0.0);
    let mut world = CostumeWorld::default();
    world.set_threads(threads);
    world.set_body(&ling_body(), &bones);
    let mut specs = vec![ling_sleeve(1.0), ling_sleeve(-1.0)];
    specs.extend(ling_back_flags());
    for spec in specs {
        let ClothAnchor::Bone(bone) = spec.anchor else {
            unreachable!("the costume hangs from bones")
        };
        world.add_cloth(spec, bones[bone.index()]);
    }
    for x in [-1.0, 1.0] {
        world.add_cloth(
            super::garments::door_curtain(1.1, 2.5, 5.0, 0.03),
            Transform::from_xyz(x, 1.3, -1.0),
        );
    }
    let settings = PhysicsSettings::default();
    world.configure(ClothGroup::Sleeves, settings.sleeves);
    world.configure(ClothGroup::Curtains, settings.curtains);
    world.configure(ClothGroup::Flags, settings.flags);
    for step in 0..steps {
        let bones = bones_at(1.2 * (step as f32 * 0.05).sin());
        let wind = Vec3::new(1.5 * (step as f32 * 0.1).sin(), 0.0, 0.5);
        world.step(&bones, wind);
    }
    world
        .all_positions()
        .iter()
        .map(|p| p.to_array().map(f32::to_bits))
        .collect()
}

/// The pieces step in worlds of their own, shared among threads: how many threads (and
/// which piece lands on which) must not change a single bit of the cloth.
#[test]
fn cloth_is_bit_identical_whatever_the_thread_count() {
    let one = costume_on_threads(1, 120);
    let two = costume_on_threads(2, 120);
    let again = costume_on_threads(2, 120);
    let three = costume_on_threads(3, 120);
    assert_eq!(one.len(), 2 * 80 + 4 * 35 + 2 * 168);
    // The cloth moved: a test of nothing would pass as well.
    let rest = costume_on_threads(1, 0);
    let moved = one.iter().zip(&rest).filter(|(a, b)| a != b).count();
    assert!(moved > one.len() / 2, "only {moved} particles moved");
    let differ = |a: &[[u32; 3]], b: &[[u32; 3]]| a.iter().zip(b).filter(|(x, y)| x != y).count();
    assert_eq!(differ(&one, &two), 0, "1 thread vs 2 threads");
    assert_eq!(differ(&two, &again), 0, "2 threads, run twice");
    assert_eq!(differ(&one, &three), 0, "1 thread vs 3 threads");
}

/// The thread count starts from `LING_CLOTH_THREADS` or the machine, and a count of zero
/// means one.
#[test]
fn cloth_thread_count_is_a_setting() {
    let mut world = CostumeWorld::default();
    assert!(world.threads() >= 1);
    world.set_threads(0);
    assert_eq!(world.threads(), 1);
    world.set_threads(2);
    assert_eq!(world.threads(), 2);
}

#[test]
fn a_cloth_that_left_frees_its_slot_for_the_next() {
    // Performers come and go all show long: their cloth must not pile up in the world.
    let mut world = CostumeWorld::default();
    let first = world.add_cloth(sheet(4, 4), Transform::IDENTITY);
    let second = world.add_cloth(sheet(4, 4), Transform::IDENTITY);
    for _ in 0..50 {
        world.remove_cloth(first);
        let again = world.add_cloth(sheet(4, 4), Transform::IDENTITY);
        assert_eq!(again, first, "the emptied slot is used again");
        world.step(&[], Vec3::ZERO);
    }
    assert_eq!(world.slots(), 2);
    assert_eq!(world.particle_count(), 2 * 16);
    assert_eq!(world.positions(second).len(), 16);
}
