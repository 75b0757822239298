#![warn(missing_docs)]
//! Lantern fireworks: every palace lantern bursts into a shower of golden sparks that fly out,
//! arc down under gravity and fade.
//!
//! Spark `k` of a lantern leaves along a direction spread evenly over the sphere (a Fibonacci
//! lattice, jittered deterministically); its position and glow are functions of the
//! instance's age, so renders repeat exactly.

use bevy::prelude::*;
use ling_stage_fx::prelude::*;
use ling_stage_fx::scatter;

/// Sparks burst from every palace lantern, fly out and fade, like fireworks.
#[derive(Component, Reflect, Clone, Debug)]
pub struct LanternBurst {
    /// Seconds from the burst until the last spark has faded.
    pub seconds: f32,
    /// Sparks per lantern.
    pub sparks: u32,
    /// Speed the sparks leave at, metres per second.
    pub speed: f32,
    /// Downward pull on the sparks, metres per second squared.
    pub gravity: f32,
    /// Colour of the sparks.
    pub color: Color,
    /// Glow at the burst (multiplies the colour; above 1 blooms).
    pub brightness: f32,
}

impl Default for LanternBurst {
    fn default() -> Self {
        Self {
            seconds: 1.8,
            sparks: 48,
            speed: 2.2,
            gravity: 2.0,
            color: Color::srgb(1.0, 0.75, 0.3),
            brightness: 12.0,
        }
    }
}

impl StageEffect for LanternBurst {
    const NAME: &'static str = "lantern_burst";
    const DESCRIPTION: &'static str = "Every palace lantern bursts into golden sparks.";
    fn lifetime(&self) -> Option<f32> {
        Some(self.seconds)
    }
}

/// Registers [`LanternBurst`] as the stage effect `lantern_burst`.
pub struct LanternBurstPlugin;

impl Plugin for LanternBurstPlugin {
    fn build(&self, app: &mut App) {
        app.register_stage_effect::<LanternBurst>()
            .add_systems(Update, (burst, fly).chain().in_set(FxSystems::Animate));
    }
}

/// One spark: where it left from and which way.
#[derive(Component, Debug)]
pub struct Spark {
    /// The lantern it left from.
    pub origin: Vec3,
    /// Unit direction it flies in.
    pub direction: Vec3,
}

/// The burst's shared glowing material (dimmed as the sparks fade).
#[derive(Component)]
struct Glow(Handle<StandardMaterial>);

/// Direction `k` of `n`, spread evenly over the sphere.
fn direction(k: u32, n: u32) -> Vec3 {
    let golden = std::f32::consts::PI * (3.0 - 5.0f32.sqrt());
    let y = 1.0 - 2.0 * (k as f32 + 0.5) / n.max(1) as f32;
    let r = (1.0 - y * y).max(0.0).sqrt();
    let a = golden * k as f32 + 0.3 * scatter(11, k as u64);
    // Favour the upper half: fireworks go up and out.
    Vec3::new(r * a.cos(), 0.35 + 0.65 * y, r * a.sin()).normalize()
}

fn burst(
    mut commands: Commands,
    anchors: Res<StageAnchors>,
    fired: Query<(Entity, &LanternBurst), Added<LanternBurst>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    for (entity, burst) in &fired {
        let mesh = meshes.add(Sphere::new(0.03));
        let material = materials.add(StandardMaterial {
            base_color: burst.color,
            emissive: burst.color.to_linear() * burst.brightness,
            unlit: true,
            ..default()
        });
        commands.entity(entity).insert(Glow(material.clone()));
        for (i, lantern) in anchors.lanterns.iter().enumerate() {
            for k in 0..burst.sparks {
                let speed = 0.7 + 0.6 * scatter(i as u64, k as u64);
                commands.entity(entity).with_child((
                    Spark {
                        origin: *lantern,
                        direction: direction(k, burst.sparks) * speed,
                    },
                    Mesh3d(mesh.clone()),
                    MeshMaterial3d(material.clone()),
                    Transform::from_translation(*lantern),
                ));
            }
        }
    }
}

fn fly(
    time: Res<StageTime>,
    bursts: Query<(&EffectInstance, &LanternBurst, &Glow, &Children)>,
    mut sparks: Query<(&Spark, &mut Transform)>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    for (instance, burst, glow, children) in &bursts {
        let age = instance.age(&time).max(0.0);
        let life = (1.0 - age / burst.seconds.max(1e-3)).clamp(0.0, 1.0);
        // Air slows the sparks: distance grows as (1 - e^(-kt)) / k.
        let drag = 1.8;
        let reach = burst.speed * (1.0 - (-drag * age).exp()) / drag;
        for child in children.iter() {
            if let Ok((spark, mut transform)) = sparks.get_mut(child) {
                transform.translation = spark.origin + spark.direction * reach
                    - Vec3::Y * (0.5 * burst.gravity * age * age);
                transform.scale = Vec3::splat(0.3 + 0.7 * life);
            }
        }
        if let Some(mut material) = materials.get_mut(&glow.0) {
            material.emissive = burst.color.to_linear() * (burst.brightness * life * life);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_stage_fx::testing::Harness;

    #[test]
    fn every_lantern_bursts_sparks_that_fly_out_fall_and_go() {
        let mut stage = Harness::with(LanternBurstPlugin);
        stage
            .fire("lantern_burst", &[("sparks", 20.0.into())])
            .unwrap();
        let lanterns = Harness::typical_stage().lanterns;
        assert_eq!(stage.count::<Spark>(), 20 * lanterns.len());
        let near = |stage: &mut Harness| {
            let sparks = stage.positions::<Spark>();
            sparks
                .iter()
                .map(|s| {
                    lanterns
                        .iter()
                        .map(|l| l.distance(*s))
                        .fold(f32::INFINITY, f32::min)
                })
                .fold(0.0f32, f32::max)
        };
        assert!(near(&mut stage) < 0.01, "they start at the lanterns");
        stage.advance(0.6);
        let spread = near(&mut stage);
        assert!(
            spread > 0.3 && spread < 2.2 * 0.6 * 1.3 + 0.5,
            "flying out, no faster than they left: {spread} m"
        );
        let world = stage.world();
        let mut sparks = world.query::<(&Spark, &Transform)>();
        let upward = sparks
            .iter(world)
            .filter(|(s, t)| t.translation.y > s.origin.y)
            .count();
        assert!(upward > 0, "fireworks go up");
        stage.advance(1.3);
        assert_eq!(stage.count::<Spark>(), 0, "faded and gone");
    }

    #[test]
    fn a_stage_without_lanterns_bursts_nothing_and_a_seek_back_clears_it() {
        let mut stage = Harness::with(LanternBurstPlugin);
        stage.advance(1.0);
        stage.fire("lantern_burst", &[]).unwrap();
        assert!(stage.count::<Spark>() > 0);
        stage.seek(0.5);
        assert_eq!(stage.count::<Spark>(), 0, "before the burst, no sparks");
        stage.anchors_mut().lanterns.clear();
        stage.fire("lantern_burst", &[]).unwrap();
        assert_eq!(stage.count::<Spark>(), 0);
    }
}
