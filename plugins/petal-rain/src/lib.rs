#![warn(missing_docs)]
//! Petal rain: petals drift down through the follow spot's beam onto the performer.
//!
//! Petal `k` is released `k / density` seconds after the effect fires, at a place scattered
//! (deterministically, from `k`) across the beam, and falls along the beam's axis with a
//! flutter until it reaches the floor. Everything is a function of the instance's age, so a
//! render repeats exactly and a seek lands on the same petals.

use bevy::prelude::*;
use ling_stage_fx::prelude::*;
use ling_stage_fx::scatter;

/// Petals fall through the follow spot's beam onto the stage.
#[derive(Component, Reflect, Clone, Debug)]
pub struct PetalRain {
    /// Seconds petals keep coming (the last ones still have to fall).
    pub seconds: f32,
    /// Petals released per second.
    pub density: f32,
    /// Falling speed, metres per second.
    pub fall_speed: f32,
    /// How much of the beam's width they fill (0–1).
    pub spread: f32,
    /// Height they are released from, metres above the floor.
    pub height: f32,
    /// Colour of the petals.
    pub color: Color,
}

impl Default for PetalRain {
    fn default() -> Self {
        Self {
            seconds: 6.0,
            density: 50.0,
            fall_speed: 0.8,
            spread: 0.8,
            height: 2.8,
            color: Color::srgb(1.0, 0.55, 0.7),
        }
    }
}

impl StageEffect for PetalRain {
    const NAME: &'static str = "petal_rain";
    const DESCRIPTION: &'static str =
        "Petals drift down through the follow spot onto the performer.";
    fn lifetime(&self) -> Option<f32> {
        Some(self.seconds + self.height / self.fall_speed.max(0.05))
    }
}

/// Registers [`PetalRain`] as the stage effect `petal_rain`.
pub struct PetalRainPlugin;

impl Plugin for PetalRainPlugin {
    fn build(&self, app: &mut App) {
        app.register_stage_effect::<PetalRain>()
            .add_systems(Update, (prepare, rain).chain().in_set(FxSystems::Animate));
    }
}

/// One petal, the `k`-th of its shower.
#[derive(Component, Debug)]
pub struct Petal(pub u32);

/// The shower's shared mesh and material, and how many petals it has released.
#[derive(Component)]
struct Shower {
    mesh: Handle<Mesh>,
    material: Handle<StandardMaterial>,
    released: u32,
}

fn prepare(
    mut commands: Commands,
    fired: Query<(Entity, &PetalRain), Added<PetalRain>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    for (entity, rain) in &fired {
        commands.entity(entity).insert(Shower {
            mesh: meshes.add(Rectangle::new(0.06, 0.042)),
            material: materials.add(StandardMaterial {
                base_color: rain.color,
                emissive: rain.color.to_linear() * 0.6,
                double_sided: true,
                cull_mode: None,
                perceptual_roughness: 0.7,
                ..default()
            }),
            released: 0,
        });
    }
}

/// Where the beam's axis is at height `y`, and the beam's radius there.
fn beam_at(spot: Vec3, target: Vec3, angle: f32, y: f32) -> (Vec3, f32) {
    let s = ((y - target.y) / (spot.y - target.y).max(1e-3)).clamp(0.0, 1.0);
    let on_axis = target.lerp(spot, s);
    (on_axis, on_axis.distance(spot) * angle.tan())
}

/// Petal `k`'s position `fallen` seconds after its release.
fn petal_position(rain: &PetalRain, anchors: &StageAnchors, k: u32, fallen: f32) -> Vec3 {
    let (spot, target) = anchors
        .follow_spot
        .unwrap_or((Vec3::new(0.0, 6.5, 5.0), Vec3::ZERO));
    let angle = if anchors.follow_spot_angle > 0.0 {
        anchors.follow_spot_angle
    } else {
        0.25
    };
    let y = rain.height - rain.fall_speed * fallen;
    let (axis, radius) = beam_at(spot, target, angle, y);
    let seed = 0x5eed_u64;
    let r = scatter(seed, k as u64).sqrt() * rain.spread.clamp(0.0, 1.0);
    let a = scatter(seed + 1, k as u64) * std::f32::consts::TAU;
    let flutter = 0.06 * (2.1 * fallen + a).sin();
    let radial = Vec3::new(a.cos(), 0.0, a.sin()) * (r * radius * 0.85);
    Vec3::new(axis.x + flutter, y, axis.z) + radial
}

fn rain(
    mut commands: Commands,
    time: Res<StageTime>,
    anchors: Res<StageAnchors>,
    mut showers: Query<(Entity, &EffectInstance, &PetalRain, &mut Shower)>,
    mut petals: Query<(Entity, &Petal, &ChildOf, &mut Transform)>,
) {
    for (entity, instance, rain, mut shower) in &mut showers {
        let age = instance.age(&time);
        let due = ((age.min(rain.seconds) * rain.density).floor() as u32 + 1)
            .min((rain.seconds * rain.density) as u32);
        for k in shower.released..due {
            commands.entity(entity).with_child((
                Petal(k),
                Mesh3d(shower.mesh.clone()),
                MeshMaterial3d(shower.material.clone()),
                Transform::from_translation(petal_position(rain, &anchors, k, 0.0)),
            ));
        }
        shower.released = shower.released.max(due);
        for (petal_entity, petal, child_of, mut transform) in &mut petals {
            if child_of.parent() != entity {
                continue;
            }
            let fallen = age - petal.0 as f32 / rain.density;
            let at = petal_position(rain, &anchors, petal.0, fallen);
            if at.y <= 0.01 {
                commands.entity(petal_entity).despawn();
                continue;
            }
            let spin = scatter(7, petal.0 as u64) * 6.0;
            *transform = Transform::from_translation(at).with_rotation(Quat::from_euler(
                EulerRot::XYZ,
                spin + 2.7 * fallen,
                0.8 * spin,
                1.9 * fallen,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_stage_fx::testing::Harness;

    #[test]
    fn petals_fall_inside_the_follow_spot_and_all_land() {
        let mut stage = Harness::with(PetalRainPlugin);
        stage
            .fire(
                "petal_rain",
                &[("seconds", 2.0.into()), ("density", 30.0.into())],
            )
            .unwrap();
        stage.advance(1.5);
        let falling = stage.positions::<Petal>();
        assert!(falling.len() >= 40, "petals keep coming: {}", falling.len());
        let (spot, target) = Harness::typical_stage().follow_spot.unwrap();
        let axis = (target - spot).normalize();
        for p in &falling {
            let off_axis = (*p - spot).normalize().angle_between(axis);
            assert!(
                off_axis <= 0.25,
                "a petal at {p} is outside the beam ({off_axis} rad)"
            );
            assert!(p.y > 0.0 && p.y <= 2.8 + 1e-3);
        }
        // All released by 2 s; the last one lands 2.8 / 0.8 = 3.5 s later.
        stage.advance(2.0);
        assert!(stage.count::<Petal>() > 0, "still falling");
        stage.advance(3.6);
        assert_eq!(stage.count::<Petal>(), 0, "all landed");
        assert_eq!(stage.running("petal_rain"), 0, "and the effect is over");
    }

    #[test]
    fn the_same_shower_falls_the_same_way_and_a_stop_clears_it() {
        let run = || {
            let mut stage = Harness::with(PetalRainPlugin);
            stage.fire("petal_rain", &[]).unwrap();
            stage.advance(2.0);
            let mut p = stage.positions::<Petal>();
            p.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
            (p, stage)
        };
        let (first, mut stage) = run();
        let (second, _) = run();
        assert_eq!(first, second);
        stage.stop("petal_rain");
        assert_eq!(stage.count::<Petal>(), 0);
    }
}
