#![warn(missing_docs)]
//! 变脸 (bian lian, face-changing): a silk sleeve sweeps across the performer's face and, as it
//! covers her face, a new painted mask is on it.
//!
//! The sweep is a white silk streak travelling across in front of the face over
//! `sweep_seconds`; the mask swaps in at the middle of the sweep, when the silk hides the face,
//! and stays for `hold_seconds`. The mask is a painted shell over the front of the head, with a
//! texture generated for each colour scheme (red: loyalty, black: integrity, gold: the
//! divine, blue: valour, white: cunning).

use bevy::asset::RenderAssetUsages;
use bevy::image::Image;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use ling_stage_fx::prelude::*;

/// 变脸: a silk sweep crosses the performer's face and a painted mask swaps in mid-sweep, then follows the head.
#[derive(Component, Reflect, Clone, Debug)]
pub struct FaceChange {
    /// The mask's scheme: "red", "black", "gold", "blue" or "white".
    pub mask: String,
    /// Seconds the sleeve takes to cross the face.
    pub sweep_seconds: f32,
    /// Seconds the mask stays on after the sweep.
    pub hold_seconds: f32,
    /// Centre of the face from the head joint, in the head's frame, metres.
    pub face_offset: Vec3,
    /// Size of the mask against Ling's face (1.0).
    pub scale: f32,
}

impl Default for FaceChange {
    fn default() -> Self {
        Self {
            mask: "red".into(),
            sweep_seconds: 0.5,
            hold_seconds: 3.0,
            face_offset: Vec3::new(0.0, 0.1, 0.0),
            scale: 1.0,
        }
    }
}

impl StageEffect for FaceChange {
    const NAME: &'static str = "face_change";
    // The panel's font has no CJK glyphs, so the description spells 变脸 in pinyin.
    const DESCRIPTION: &'static str =
        "Bian lian (face-changing): a sleeve sweeps across the face and a painted mask is on it.";
    fn lifetime(&self) -> Option<f32> {
        Some(self.sweep_seconds + self.hold_seconds)
    }
}

impl FaceChange {
    /// Seconds after firing at which the mask is on: the sleeve is in front of the face.
    pub fn swap_time(&self) -> f32 {
        0.5 * self.sweep_seconds
    }
}

/// Registers [`FaceChange`] as the stage effect `face_change`.
pub struct FaceChangePlugin;

impl Plugin for FaceChangePlugin {
    fn build(&self, app: &mut App) {
        app.register_stage_effect::<FaceChange>()
            .add_systems(Update, (dress, perform).chain().in_set(FxSystems::Animate));
    }
}

/// The painted mask.
#[derive(Component)]
pub struct Mask;

/// The silk streak of the sweeping sleeve.
#[derive(Component)]
pub struct Sweep;

/// The colours of a mask scheme: base, markings, eye surrounds.
fn scheme(name: &str) -> [[u8; 3]; 3] {
    match name {
        "black" => [[25, 22, 24], [245, 245, 240], [250, 250, 250]],
        "gold" => [[222, 170, 40], [120, 20, 20], [20, 20, 20]],
        "blue" => [[40, 80, 190], [240, 240, 240], [20, 20, 30]],
        "white" => [[245, 242, 235], [30, 30, 30], [60, 60, 60]],
        _ => [[200, 30, 35], [20, 20, 20], [250, 250, 250]],
    }
}

/// A painted opera mask, `size` × `size` texels: u across the face (0 = her right), v down.
fn mask_texture(name: &str, size: u32) -> Image {
    let [base, mark, eye] = scheme(name);
    let mut data = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let u = x as f32 / (size - 1) as f32 * 2.0 - 1.0; // -1..1 across
            let v = y as f32 / (size - 1) as f32; // 0 top .. 1 chin
            // Eye surrounds: two tilted almond patches.
            let eye_d =
                ((u.abs() - 0.38) / 0.24).powi(2) + ((v - 0.45 + 0.1 * u.abs()) / 0.1).powi(2);
            // Brows: sweeping arcs above the eyes.
            let brow = (v - (0.3 - 0.12 * (u.abs() - 0.2).powi(2) * 4.0)).abs() < 0.035
                && u.abs() > 0.12
                && u.abs() < 0.8;
            // A mark up the forehead and down the nose.
            let centre = u.abs() < 0.06 && (v < 0.3 || (0.5..0.62).contains(&v));
            // Mouth.
            let mouth = ((u / 0.3).powi(2) + ((v - 0.8) / 0.04).powi(2)) < 1.0;
            let c = if eye_d < 1.0 {
                if eye_d < 0.25 { [15, 15, 15] } else { eye }
            } else if brow || centre || mouth {
                mark
            } else {
                base
            };
            data.extend_from_slice(&[c[0], c[1], c[2], 255]);
        }
    }
    Image::new(
        Extent3d {
            width: size,
            height: size,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        data,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    )
}

/// The front of an ellipsoid with radii `r`, facing +Z: the mask's shell.
fn shell(r: Vec3) -> Mesh {
    let (cols, rows) = (24usize, 20usize);
    let mut positions = Vec::new();
    let mut normals = Vec::new();
    let mut uvs = Vec::new();
    for j in 0..=rows {
        let v = j as f32 / rows as f32;
        let lat = (0.55 - 1.15 * v) * std::f32::consts::FRAC_PI_2;
        for i in 0..=cols {
            let u = i as f32 / cols as f32;
            let lon = (u - 0.5) * 1.7;
            let dir = Vec3::new(lat.cos() * lon.sin(), lat.sin(), lat.cos() * lon.cos());
            positions.push((dir * r).to_array());
            normals.push((dir / r).normalize().to_array());
            uvs.push([u, v]);
        }
    }
    ling_stage_fx::grid_mesh(rows + 1, cols + 1, positions, normals, uvs)
}

fn dress(
    mut commands: Commands,
    fired: Query<(Entity, &FaceChange), Added<FaceChange>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut images: ResMut<Assets<Image>>,
) {
    for (entity, change) in &fired {
        let texture = images.add(mask_texture(&change.mask, 128));
        commands.entity(entity).with_children(|parent| {
            parent.spawn((
                Mask,
                Mesh3d(meshes.add(shell(Vec3::new(0.086, 0.112, 0.096)))),
                MeshMaterial3d(materials.add(StandardMaterial {
                    base_color_texture: Some(texture),
                    perceptual_roughness: 0.35,
                    ..default()
                })),
                Transform::default(),
                Visibility::Hidden,
            ));
            parent.spawn((
                Sweep,
                Mesh3d(meshes.add(Rectangle::new(0.34, 0.42))),
                MeshMaterial3d(materials.add(StandardMaterial {
                    base_color: Color::srgb(0.97, 0.97, 1.0),
                    double_sided: true,
                    cull_mode: None,
                    perceptual_roughness: 0.5,
                    ..default()
                })),
                Transform::default(),
                Visibility::Hidden,
            ));
        });
    }
}

fn perform(
    time: Res<StageTime>,
    anchors: Res<StageAnchors>,
    changes: Query<(&EffectInstance, &FaceChange, &Children)>,
    mut masks: Query<(&mut Transform, &mut Visibility), (With<Mask>, Without<Sweep>)>,
    mut sweeps: Query<(&mut Transform, &mut Visibility), (With<Sweep>, Without<Mask>)>,
) {
    for (instance, change, children) in &changes {
        let age = instance.age(&time);
        let head = anchors.head.unwrap_or(Transform::from_xyz(0.0, 1.53, 0.0));
        let face = head.mul_transform(
            Transform::from_translation(change.face_offset).with_scale(Vec3::splat(change.scale)),
        );
        // The silk crosses from her left to her right, a hand's breadth in front of the face,
        // turning as a sleeve does when it is flung.
        let s = (age / change.sweep_seconds.max(1e-3)).clamp(0.0, 1.0);
        let sweeping = age < change.sweep_seconds;
        let across = 0.45 * (1.0 - 2.0 * s);
        let sweep = face.mul_transform(
            Transform::from_xyz(across, 0.0, 0.16)
                .with_rotation(Quat::from_rotation_z(0.6 * (1.0 - 2.0 * s))),
        );
        for child in children.iter() {
            if let Ok((mut transform, mut visibility)) = masks.get_mut(child) {
                *transform = face;
                *visibility = if age >= change.swap_time() {
                    Visibility::Visible
                } else {
                    Visibility::Hidden
                };
            }
            if let Ok((mut transform, mut visibility)) = sweeps.get_mut(child) {
                *transform = sweep;
                *visibility = if sweeping {
                    Visibility::Visible
                } else {
                    Visibility::Hidden
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_stage_fx::testing::Harness;

    fn shown<C: Component>(stage: &mut Harness) -> Option<Transform> {
        let world = stage.world();
        world
            .query_filtered::<(&Transform, &Visibility), With<C>>()
            .iter(world)
            .find(|(_, v)| **v != Visibility::Hidden)
            .map(|(t, _)| *t)
    }

    #[test]
    fn the_mask_swaps_in_while_the_sleeve_covers_the_face() {
        let mut stage = Harness::with(FaceChangePlugin);
        stage
            .fire(
                "face_change",
                &[("mask", "gold".into()), ("sweep_seconds", 0.6.into())],
            )
            .unwrap();
        let face = Harness::typical_stage().head.unwrap().translation + Vec3::new(0.0, 0.1, 0.0);
        stage.advance(0.1);
        assert!(
            shown::<Mask>(&mut stage).is_none(),
            "the old face before the swap"
        );
        let sweep = shown::<Sweep>(&mut stage).expect("the sleeve is sweeping");
        assert!(sweep.translation.x > face.x + 0.15, "coming from her left");
        // At the swap the silk is right in front of the face.
        stage.advance(0.2);
        let sweep = shown::<Sweep>(&mut stage).expect("still sweeping");
        assert!(
            (sweep.translation.x - face.x).abs() < 0.05 && sweep.translation.z > face.z + 0.1,
            "covering the face at the swap: {:?}",
            sweep.translation
        );
        let mask = shown::<Mask>(&mut stage).expect("the new mask is on");
        assert!(mask.translation.distance(face) < 1e-4, "on the face");
        stage.advance(0.4);
        assert!(
            shown::<Sweep>(&mut stage).is_none(),
            "the sleeve has passed"
        );
        assert!(shown::<Mask>(&mut stage).is_some(), "the mask stays");
        stage.advance(3.0);
        assert_eq!(stage.count::<Mask>(), 0, "and goes with the effect");
    }

    #[test]
    fn the_mask_follows_the_head_and_each_scheme_is_painted_differently() {
        let mut stage = Harness::with(FaceChangePlugin);
        stage.fire("face_change", &[]).unwrap();
        stage.advance(0.5);
        stage.anchors_mut().head =
            Some(Transform::from_xyz(1.0, 1.5, 0.5).with_rotation(Quat::from_rotation_y(0.5)));
        stage.advance(0.1);
        let mask = shown::<Mask>(&mut stage).unwrap();
        let expected = Transform::from_xyz(1.0, 1.5, 0.5)
            .with_rotation(Quat::from_rotation_y(0.5))
            .transform_point(Vec3::new(0.0, 0.1, 0.0));
        assert!(mask.translation.distance(expected) < 1e-4);
        assert!(mask.rotation.angle_between(Quat::from_rotation_y(0.5)) < 1e-4);
        let red = mask_texture("red", 32);
        let black = mask_texture("black", 32);
        assert_ne!(red.data, black.data);
    }
}
