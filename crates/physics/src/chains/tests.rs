//! Chain tests: chains that must hang, hold their bend, stay out of spheres, stay bounded
//! and repeat exactly.

use bevy::prelude::*;

use ling_core::settings::{ChainGroup, GroupSettings, PhysicsSettings, Wind};
use ling_core::signals::HumanBone;

use super::plumes::ling_plumes;
use super::state::{ChainSpec, ChainState, Sphere};

const DT: f32 = 1.0 / 60.0;

fn rope(links: usize, stiffness: f32) -> ChainSpec {
    ChainSpec {
        name: "rope".into(),
        group: ChainGroup::Plumes,
        bone: HumanBone::Head,
        // Straight out sideways, 5 cm segments.
        points: (0..=links)
            .map(|i| Vec3::new(0.05 * i as f32, 0.3, 0.0))
            .collect(),
        radius: (0.01, 0.01),
        stiffness,
        drag: 0.05,
        gravity: 1.0,
        colors: [Color::WHITE; 2],
    }
}

#[test]
fn a_limp_chain_settles_hanging_straight_down() {
    let mut chain = ChainState::new(&rope(12, 0.0), Transform::IDENTITY);
    for _ in 0..1800 {
        chain.step(Transform::IDENTITY, DT, &[]);
    }
    let root = chain.current[0];
    for (i, p) in chain.current.iter().enumerate().skip(1) {
        assert!(
            Vec2::new(p.x - root.x, p.z - root.z).length() < 0.01,
            "joint {i} hangs under the root: {p:?}"
        );
        assert!(
            (root.y - p.y - 0.05 * i as f32).abs() < 0.01,
            "joint {i} at {} m",
            root.y - p.y
        );
    }
    assert!(chain.energy(DT) < 1e-4, "at rest: {}", chain.energy(DT));
}

#[test]
fn a_stiff_chain_keeps_its_rest_bend() {
    let spec = ling_plumes().remove(0);
    let mut chain = ChainState::new(&spec, Transform::IDENTITY);
    let rest = chain.current.clone();
    for _ in 0..600 {
        chain.step(Transform::IDENTITY, DT, &[]);
    }
    let tip = chain.current.last().unwrap();
    let sag = rest.last().unwrap().y - tip.y;
    assert!(
        sag < 0.2,
        "the plume stands up under gravity (tip sags {sag} m)"
    );
    assert!(sag > 0.0, "but gravity shows");
}

#[test]
fn energy_stays_bounded_under_a_shaking_root_and_runs_repeat_exactly() {
    let run = || {
        let mut chains = vec![
            ChainState::new(&rope(10, 2.0), Transform::IDENTITY),
            ChainState::new(&rope(10, 0.0), Transform::IDENTITY),
            ChainState::new(&ling_plumes()[0], Transform::IDENTITY),
        ];
        let mut max_energy = [0f32; 2];
        for step in 0..10_000 {
            let t = step as f32 * DT;
            let bone = Transform::from_xyz(0.1 * (t * 12.566).sin(), 0.0, 0.05 * (t * 7.0).cos())
                .with_rotation(Quat::from_rotation_y(0.8 * (t * 3.0).sin()));
            for c in &mut chains {
                c.step(
                    bone,
                    DT,
                    &[Sphere {
                        center: Vec3::new(0.0, -0.2, 0.0),
                        radius: 0.15,
                    }],
                );
            }
            let energy: f32 = chains.iter().map(|c| c.energy(DT)).sum();
            assert!(energy.is_finite(), "no explosion at step {step}");
            for c in &chains {
                for (a, b) in c.current.iter().zip(&c.previous) {
                    assert!(
                        a.distance(*b) / DT < 30.0,
                        "a joint shot off at step {step}"
                    );
                }
            }
            let half = usize::from(step >= 5_000);
            max_energy[half] = max_energy[half].max(energy);
        }
        (max_energy, chains)
    };
    let (energy, first) = run();
    assert!(energy[1] <= 1.5 * energy[0] + 1e-3, "no growth: {energy:?}");
    let (_, second) = run();
    assert_eq!(first, second, "the same input gives identical results");
}

#[test]
fn wind_pushes_a_limp_chain_downwind_and_gusts_repeat() {
    let wind = Wind {
        strength: 2.0,
        direction: (1.0, 0.0, 0.0),
        gusts: 0.5,
    };
    assert_eq!(wind.at(3.7), wind.at(3.7));
    assert!(wind.at(0.0).x > 0.0 && wind.at(0.0).y == 0.0);
    let mut chain = ChainState::new(&rope(8, 0.0), Transform::IDENTITY);
    for step in 0..1200 {
        chain.step_in_wind(
            Transform::IDENTITY,
            DT,
            &[],
            wind.at(step as f64 * DT as f64),
        );
    }
    let tip = *chain.current.last().unwrap();
    assert!(tip.x - chain.current[0].x > 0.15, "blown downwind: {tip:?}");
    assert!(PhysicsSettings::default().check().is_ok());
    let bad = PhysicsSettings {
        sleeves: GroupSettings {
            drag: 2.0,
            ..PhysicsSettings::default().sleeves
        },
        ..default()
    };
    assert!(bad.check().unwrap_err().contains("sleeves.drag"));
}

#[test]
fn chains_stay_out_of_body_spheres() {
    let mut chain = ChainState::new(&rope(12, 0.0), Transform::IDENTITY);
    let sphere = Sphere {
        center: Vec3::new(0.2, 0.1, 0.0),
        radius: 0.15,
    };
    let mut deepest = 0f32;
    for _ in 0..1200 {
        chain.step(Transform::IDENTITY, DT, &[sphere]);
        for p in &chain.current[1..] {
            deepest = deepest.max(sphere.radius + 0.01 - p.distance(sphere.center));
        }
    }
    assert!(
        deepest < 0.005,
        "the chain's surface stays out of the sphere: {deepest} m"
    );
}
