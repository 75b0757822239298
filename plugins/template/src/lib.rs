#![warn(missing_docs)]
//! The template for a new Ling Stage effect: copy this folder, rename the crate and the type,
//! and change what `show` spawns and `animate` moves. See `plugins/README.md`.
//!
//! This one lights a glowing orb above the performer's head that swells and fades.

use bevy::prelude::*;
use ling_stage_fx::prelude::*;

/// The effect's parameters: show files and the panel set these fields by name.
#[derive(Component, Reflect, Clone, Debug)]
pub struct GlowOrb {
    /// Seconds the orb lives.
    pub seconds: f32,
    /// Radius at its fullest, metres.
    pub radius: f32,
    /// Height above the head, metres.
    pub height: f32,
    /// Colour of the orb.
    pub color: Color,
    /// How bright its glow is (multiplies the colour; above 1 blooms).
    pub brightness: f32,
}

impl Default for GlowOrb {
    fn default() -> Self {
        Self {
            seconds: 2.0,
            radius: 0.12,
            height: 0.45,
            color: Color::srgb(1.0, 0.8, 0.4),
            brightness: 6.0,
        }
    }
}

impl StageEffect for GlowOrb {
    const NAME: &'static str = "glow_orb";
    const DESCRIPTION: &'static str = "A glowing orb swells and fades above the performer's head.";
    fn lifetime(&self) -> Option<f32> {
        Some(self.seconds)
    }
}

/// Registers [`GlowOrb`] as the stage effect `glow_orb`.
pub struct GlowOrbPlugin;

impl Plugin for GlowOrbPlugin {
    fn build(&self, app: &mut App) {
        app.register_stage_effect::<GlowOrb>()
            .add_systems(Update, (show, animate).chain().in_set(FxSystems::Animate));
    }
}

/// What the effect draws: a child of its instance, so it goes when the instance goes.
#[derive(Component)]
pub struct Orb;

fn show(
    mut commands: Commands,
    fired: Query<(Entity, &GlowOrb), Added<GlowOrb>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    for (entity, orb) in &fired {
        commands.entity(entity).with_child((
            Orb,
            Mesh3d(meshes.add(Sphere::new(1.0))),
            MeshMaterial3d(materials.add(StandardMaterial {
                base_color: orb.color,
                emissive: orb.color.to_linear() * orb.brightness,
                unlit: true,
                ..default()
            })),
            Transform::from_scale(Vec3::ZERO),
        ));
    }
}

/// Size and place from the instance's age on the show clock: the same show renders the same.
fn animate(
    time: Res<StageTime>,
    anchors: Res<StageAnchors>,
    instances: Query<(&EffectInstance, &GlowOrb, &Children)>,
    mut orbs: Query<&mut Transform, With<Orb>>,
) {
    for (instance, orb, children) in &instances {
        let t = (instance.age(&time) / orb.seconds.max(1e-3)).clamp(0.0, 1.0);
        let size = orb.radius * (std::f32::consts::PI * t).sin();
        let above = anchors
            .head
            .map(|h| h.translation)
            .unwrap_or(Vec3::new(0.0, 1.6, 0.0))
            + Vec3::Y * orb.height;
        for child in children.iter() {
            if let Ok(mut transform) = orbs.get_mut(child) {
                *transform = Transform::from_translation(above).with_scale(Vec3::splat(size));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_stage_fx::testing::Harness;

    #[test]
    fn the_orb_swells_over_the_head_then_goes() {
        let mut stage = Harness::with(GlowOrbPlugin);
        stage.fire("glow_orb", &[("seconds", 1.0.into())]).unwrap();
        assert_eq!(stage.count::<Orb>(), 1);
        stage.advance(0.5);
        let head = Harness::typical_stage().head.unwrap().translation;
        let at = stage.positions::<Orb>()[0];
        assert!(
            at.distance(head + Vec3::Y * 0.45) < 1e-4,
            "above the head: {at}"
        );
        let world = stage.world();
        let size = world
            .query_filtered::<&Transform, With<Orb>>()
            .single(world)
            .unwrap()
            .scale
            .x;
        assert!((size - 0.12).abs() < 0.01, "fullest half-way: {size}");
        stage.advance(0.6);
        assert_eq!(stage.count::<Orb>(), 0, "gone after its second");
        assert_eq!(stage.running("glow_orb"), 0);
        let e = stage
            .fire("glow_orb", &[("radius", "big".into())])
            .unwrap_err();
        assert!(e.contains("radius") && e.contains("number"), "{e}");
    }
}
