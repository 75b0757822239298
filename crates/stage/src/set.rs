//! Spawning the opera set, its light rig and the stage camera, and keeping them in step with
//! [`StageLighting`] and [`CameraDirector`].

use bevy::camera::{Exposure, RenderTarget, ShadowLodOrigin};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::light::{CascadeShadowConfigBuilder, GlobalAmbientLight};
use bevy::post_process::bloom::Bloom;
use bevy::prelude::*;
use bevy::render::view::Msaa;

use super::keying::SetPiece;
use super::textures;
use super::{
    CameraDirector, PreviewCamera, PreviewOutput, StageCamera, StageLighting, StageOutput,
    StageQuality,
};
use ling_core::signals::Performer;

#[derive(Component)]
pub(super) struct KeyLight;
#[derive(Component)]
pub(super) struct FollowSpot;
#[derive(Component)]
pub(super) struct RimLight;
#[derive(Component)]
pub(super) struct WashLight;
#[derive(Component)]
pub(super) struct LanternLight;

/// The lanterns' silk, whose glow follows the light look.
#[derive(Resource)]
pub(super) struct LanternSilk(Handle<StandardMaterial>);

// Physical scale of the rig at level 1.0, for the camera's indoor exposure.
const KEY_LUX: f32 = 70.0;
const SPOT_LUMENS: f32 = 900_000.0;
const RIM_LUMENS: f32 = 260_000.0;
const WASH_LUMENS: f32 = 260_000.0;
const LANTERN_LUMENS: f32 = 9_000.0;
const AMBIENT_BRIGHTNESS: f32 = 60.0;

/// Stage dimensions (metres). The stage floor is at y = 0, the audience at +Z.
const STAGE_HALF_WIDTH: f32 = 4.6;
const STAGE_FRONT: f32 = 3.4;
const STAGE_BACK: f32 = -3.4;
const STAGE_HEIGHT: f32 = 1.0;
const PROSCENIUM_HALF_WIDTH: f32 = 5.0;
const PROSCENIUM_TOP: f32 = 6.2;

struct Palette {
    lacquer: Handle<StandardMaterial>,
    gold: Handle<StandardMaterial>,
    dark_wood: Handle<StandardMaterial>,
    black: Handle<StandardMaterial>,
    velvet: Handle<StandardMaterial>,
    tassel: Handle<StandardMaterial>,
}

fn block(
    commands: &mut Commands,
    meshes: &mut Assets<Mesh>,
    size: Vec3,
    at: Vec3,
    material: &Handle<StandardMaterial>,
    piece: SetPiece,
) {
    commands.spawn((
        Mesh3d(meshes.add(Cuboid::from_size(size))),
        MeshMaterial3d(material.clone()),
        Transform::from_translation(at),
        piece,
    ));
}

/// A board whose front (+z) face shows its texture upright, as a sign reads (a [`Cuboid`]'s
/// front face has the texture's top row at its bottom edge).
fn board(size: Vec3) -> Mesh {
    let mut mesh = Mesh::from(Cuboid::from_size(size));
    if let Some(bevy::mesh::VertexAttributeValues::Float32x2(uvs)) =
        mesh.attribute_mut(Mesh::ATTRIBUTE_UV_0)
    {
        // The front face is the first four vertices.
        for uv in uvs.iter_mut().take(4) {
            uv[1] = 1.0 - uv[1];
        }
    }
    mesh
}

/// The door plaques' materials, stage right's (出将, on the audience's left, −x) then stage
/// left's (入相): lettered in Noto Serif CJK SC when it is installed, else the seal plaques
/// (logged once).
fn door_plaques(
    materials: &mut Assets<StandardMaterial>,
    images: &mut Assets<Image>,
) -> [Handle<StandardMaterial>; 2] {
    static MISSING: std::sync::Once = std::sync::Once::new();
    let font = crate::cjk::find(crate::cjk::CjkFace::SerifBold);
    let lettered = |text: &str| {
        font.as_ref()
            .and_then(|font| textures::lettered_plaque(font, text))
    };
    match (lettered("出将"), lettered("入相")) {
        (Some(enter), Some(exit)) => {
            [enter, exit].map(|image| materials.add(textured(images, image, 0.45)))
        }
        _ => {
            MISSING.call_once(|| {
                warn!(
                    "no Noto CJK font (install {}): the door plaques show seals, not 出将 / 入相",
                    crate::cjk::PACKAGE
                )
            });
            let seal = materials.add(textured(images, textures::plaque(), 0.5));
            [seal.clone(), seal]
        }
    }
}

fn textured(images: &mut Assets<Image>, image: Image, roughness: f32) -> StandardMaterial {
    StandardMaterial {
        base_color_texture: Some(images.add(image)),
        perceptual_roughness: roughness,
        ..default()
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn spawn_opera_stage(
    mut commands: Commands,
    meshes: Option<ResMut<Assets<Mesh>>>,
    materials: Option<ResMut<Assets<StandardMaterial>>>,
    images: Option<ResMut<Assets<Image>>>,
    output: Res<StageOutput>,
    quality: Res<StageQuality>,
) {
    // Headless apps (tests, benchmarks) run the stage logic without a visible set.
    let (Some(mut meshes), Some(mut materials), Some(mut images)) = (meshes, materials, images)
    else {
        return;
    };
    let meshes = &mut *meshes;
    let materials = &mut *materials;
    let images = &mut *images;

    let p = Palette {
        lacquer: materials.add(StandardMaterial {
            base_color: Color::srgb(0.42, 0.03, 0.03),
            perceptual_roughness: 0.35,
            ..default()
        }),
        gold: materials.add(StandardMaterial {
            base_color: Color::srgb(0.95, 0.72, 0.28),
            metallic: 0.85,
            perceptual_roughness: 0.35,
            ..default()
        }),
        dark_wood: materials.add(StandardMaterial {
            base_color: Color::srgb(0.16, 0.07, 0.035),
            perceptual_roughness: 0.7,
            ..default()
        }),
        black: materials.add(StandardMaterial {
            base_color: Color::srgb(0.02, 0.02, 0.025),
            perceptual_roughness: 0.95,
            ..default()
        }),
        velvet: materials.add(StandardMaterial {
            base_color: Color::srgb(0.5, 0.02, 0.04),
            perceptual_roughness: 0.85,
            ..default()
        }),
        tassel: materials.add(StandardMaterial {
            base_color: Color::srgb(0.75, 0.05, 0.05),
            perceptual_roughness: 0.8,
            ..default()
        }),
    };
    // The house: a dark floor and a black box around the stage.
    block(
        &mut commands,
        meshes,
        Vec3::new(40.0, 0.1, 40.0),
        Vec3::new(0.0, -STAGE_HEIGHT - 0.05, 8.0),
        &p.black,
        SetPiece::House,
    );
    block(
        &mut commands,
        meshes,
        Vec3::new(24.0, 12.0, 0.2),
        Vec3::new(0.0, 5.0, STAGE_BACK - 0.4),
        &p.black,
        SetPiece::House,
    );

    // The raised stage, its gilded lip, and the red carpet.
    block(
        &mut commands,
        meshes,
        Vec3::new(
            2.0 * STAGE_HALF_WIDTH,
            STAGE_HEIGHT,
            STAGE_FRONT - STAGE_BACK,
        ),
        Vec3::new(0.0, -STAGE_HEIGHT / 2.0, (STAGE_FRONT + STAGE_BACK) / 2.0),
        &p.lacquer,
        SetPiece::StageFloor,
    );
    block(
        &mut commands,
        meshes,
        Vec3::new(2.0 * STAGE_HALF_WIDTH + 0.02, 0.1, 0.06),
        Vec3::new(0.0, -0.07, STAGE_FRONT + 0.01),
        &p.gold,
        SetPiece::StageFloor,
    );
    let carpet = materials.add(textured(images, textures::carpet(), 0.92));
    block(
        &mut commands,
        meshes,
        Vec3::new(7.6, 0.02, 6.0),
        Vec3::new(0.0, 0.01, 0.1),
        &carpet,
        SetPiece::StageFloor,
    );

    // The embroidered back curtain (守旧) between the two doors.
    let back_curtain = materials.add(textured(images, textures::back_curtain(), 0.75));
    commands.spawn((
        Mesh3d(meshes.add(folded_panel(5.6, 4.8, 0.035, 9.0, 48))),
        MeshMaterial3d(back_curtain),
        SetPiece::Scenery,
        Transform::from_xyz(0.0, 2.4, STAGE_BACK + 0.1),
    ));
    block(
        &mut commands,
        meshes,
        Vec3::new(5.8, 0.14, 0.14),
        Vec3::new(0.0, 4.86, STAGE_BACK + 0.1),
        &p.gold,
        SetPiece::Scenery,
    );

    // The two doors, 出将 (enter, stage right) and 入相 (exit, stage left), with their door
    // curtains, gilded frames and plaques, and dark panels out to the wings.
    let door_curtain = materials.add(textured(images, textures::door_curtain(), 0.8));
    let plaques = door_plaques(materials, images);
    for (side, plaque) in [-1.0f32, 1.0].into_iter().zip(plaques) {
        let x = side * 3.45;
        // Hangs as cloth when costume physics runs.
        commands.spawn((
            Mesh3d(meshes.add(folded_panel(1.1, 2.5, 0.03, 5.0, 24))),
            MeshMaterial3d(door_curtain.clone()),
            SetPiece::Scenery,
            Transform::from_xyz(x, 1.25, STAGE_BACK + 0.12),
            ling_physics::cloth::ClothPanel {
                width: 1.1,
                height: 2.5,
                folds: 5.0,
                depth: 0.03,
            },
        ));
        for dx in [-0.6f32, 0.6] {
            block(
                &mut commands,
                meshes,
                Vec3::new(0.1, 2.7, 0.12),
                Vec3::new(x + dx, 1.35, STAGE_BACK + 0.12),
                &p.gold,
                SetPiece::Scenery,
            );
        }
        block(
            &mut commands,
            meshes,
            Vec3::new(1.3, 0.12, 0.14),
            Vec3::new(x, 2.7, STAGE_BACK + 0.12),
            &p.gold,
            SetPiece::Scenery,
        );
        commands.spawn((
            Mesh3d(meshes.add(board(Vec3::new(1.0, 0.42, 0.06)))),
            MeshMaterial3d(plaque),
            Transform::from_xyz(x, 3.1, STAGE_BACK + 0.14),
            SetPiece::Scenery,
        ));
        block(
            &mut commands,
            meshes,
            Vec3::new(1.0, 4.9, 0.1),
            Vec3::new(side * 4.55, 2.45, STAGE_BACK + 0.05),
            &p.lacquer,
            SetPiece::Scenery,
        );
        // Black masking legs in the wings.
        block(
            &mut commands,
            meshes,
            Vec3::new(0.1, 6.0, 1.4),
            Vec3::new(side * 4.5, 3.0, 0.0),
            &p.black,
            SetPiece::Scenery,
        );
    }

    // One table, two chairs (一桌二椅), draped in embroidered covers.
    let table_cloth = materials.add(textured(images, textures::table_cloth(), 0.8));
    block(
        &mut commands,
        meshes,
        Vec3::new(1.3, 0.06, 0.7),
        Vec3::new(0.0, 0.84, -2.0),
        &p.dark_wood,
        SetPiece::Scenery,
    );
    block(
        &mut commands,
        meshes,
        Vec3::new(1.26, 0.8, 0.66),
        Vec3::new(0.0, 0.41, -2.0),
        &table_cloth,
        SetPiece::Scenery,
    );
    for side in [-1.0f32, 1.0] {
        let x = side * 1.15;
        block(
            &mut commands,
            meshes,
            Vec3::new(0.55, 0.05, 0.5),
            Vec3::new(x, 0.5, -1.75),
            &p.dark_wood,
            SetPiece::Scenery,
        );
        block(
            &mut commands,
            meshes,
            Vec3::new(0.5, 0.46, 0.46),
            Vec3::new(x, 0.24, -1.75),
            &table_cloth,
            SetPiece::Scenery,
        );
        block(
            &mut commands,
            meshes,
            Vec3::new(0.55, 0.75, 0.06),
            Vec3::new(x, 0.9, -2.0),
            &table_cloth,
            SetPiece::Scenery,
        );
        block(
            &mut commands,
            meshes,
            Vec3::new(0.6, 0.06, 0.08),
            Vec3::new(x, 1.29, -2.0),
            &p.dark_wood,
            SetPiece::Scenery,
        );
    }

    // The proscenium: red lacquer pillars with gilded bases and capitals, a carved and gilded
    // header with its plaque, a valance, and the red velvet house curtain gathered to the sides.
    let carving = materials.add(textured(images, textures::carving(), 0.4));
    for side in [-1.0f32, 1.0] {
        let x = side * PROSCENIUM_HALF_WIDTH;
        block(
            &mut commands,
            meshes,
            Vec3::new(0.5, PROSCENIUM_TOP + STAGE_HEIGHT, 0.5),
            Vec3::new(x, (PROSCENIUM_TOP - STAGE_HEIGHT) / 2.0, STAGE_FRONT + 0.3),
            &p.lacquer,
            SetPiece::Scenery,
        );
        for (y, h) in [(-STAGE_HEIGHT + 0.2, 0.4), (PROSCENIUM_TOP - 1.0, 0.3)] {
            block(
                &mut commands,
                meshes,
                Vec3::new(0.62, h, 0.62),
                Vec3::new(x, y, STAGE_FRONT + 0.3),
                &p.gold,
                SetPiece::Scenery,
            );
        }
        commands.spawn((
            Mesh3d(meshes.add(folded_panel(1.0, 5.6, 0.09, 7.0, 40))),
            MeshMaterial3d(p.velvet.clone()),
            SetPiece::Scenery,
            Transform::from_xyz(side * 4.2, 2.8, STAGE_FRONT - 0.05),
        ));
    }
    commands.spawn((
        Mesh3d(meshes.add(Cuboid::new(2.0 * PROSCENIUM_HALF_WIDTH + 0.8, 1.0, 0.5))),
        MeshMaterial3d(carving),
        SetPiece::Scenery,
        Transform::from_xyz(0.0, PROSCENIUM_TOP - 0.35, STAGE_FRONT + 0.3),
    ));
    let valance = materials.add(textured(images, textures::valance(), 0.8));
    commands.spawn((
        Mesh3d(meshes.add(folded_panel(
            2.0 * PROSCENIUM_HALF_WIDTH - 0.5,
            0.6,
            0.03,
            14.0,
            96,
        ))),
        MeshMaterial3d(valance),
        SetPiece::Scenery,
        Transform::from_xyz(0.0, PROSCENIUM_TOP - 1.15, STAGE_FRONT),
    ));
    for i in 0..11 {
        let x = (i as f32 - 5.0) * 0.95;
        commands.spawn((
            Mesh3d(meshes.add(Cylinder::new(0.12, 0.06))),
            MeshMaterial3d(p.gold.clone()),
            SetPiece::Scenery,
            Transform::from_xyz(x, PROSCENIUM_TOP + 0.2, STAGE_FRONT + 0.58)
                .with_rotation(Quat::from_rotation_x(std::f32::consts::FRAC_PI_2)),
        ));
    }

    // Palace lanterns (宫灯): hexagonal red silk between gilded caps, with tassels and a cord.
    // The silk glows by itself and is not lit by the rig (the wash and key pass through the
    // lanterns' height): unlit, with an HDR colour that the bloom spreads.
    let silk = materials.add(StandardMaterial {
        base_color: lantern_glow(1.0),
        base_color_texture: Some(images.add(textures::lantern_silk())),
        unlit: true,
        ..default()
    });
    commands.insert_resource(LanternSilk(silk.clone()));
    let body = meshes.add(Cylinder::new(0.26, 0.46).mesh().resolution(6));
    let cap = meshes.add(Cylinder::new(0.3, 0.06).mesh().resolution(6));
    let cord = meshes.add(Cylinder::new(0.008, 3.0));
    let tassel = meshes.add(Cylinder::new(0.015, 0.42));
    for (x, y, z) in [
        (-2.7f32, 3.9f32, 1.6f32),
        (2.7, 3.9, 1.6),
        (-2.2, 4.3, -1.6),
        (2.2, 4.3, -1.6),
    ] {
        commands
            .spawn((Transform::from_xyz(x, y, z), Visibility::default()))
            .with_children(|lantern| {
                lantern.spawn((
                    Mesh3d(body.clone()),
                    MeshMaterial3d(silk.clone()),
                    SetPiece::Scenery,
                ));
                for dy in [-0.26f32, 0.26] {
                    lantern.spawn((
                        Mesh3d(cap.clone()),
                        SetPiece::Scenery,
                        MeshMaterial3d(p.gold.clone()),
                        Transform::from_xyz(0.0, dy, 0.0),
                    ));
                }
                lantern.spawn((
                    Mesh3d(cord.clone()),
                    SetPiece::Scenery,
                    MeshMaterial3d(p.black.clone()),
                    Transform::from_xyz(0.0, 1.78, 0.0),
                ));
                for k in 0..6 {
                    let a = k as f32 * std::f32::consts::TAU / 6.0;
                    lantern.spawn((
                        Mesh3d(tassel.clone()),
                        SetPiece::Scenery,
                        MeshMaterial3d(p.tassel.clone()),
                        Transform::from_xyz(0.27 * a.cos(), -0.5, 0.27 * a.sin()),
                    ));
                }
                lantern.spawn((
                    LanternLight,
                    PointLight {
                        color: Color::srgb(1.0, 0.55, 0.3),
                        intensity: LANTERN_LUMENS,
                        range: 7.0,
                        // A point source: the silk is lit from inside, not blasted by an area light.
                        radius: 0.0,
                        ..default()
                    },
                ));
            });
    }

    // The light rig.
    commands.spawn((
        KeyLight,
        DirectionalLight {
            illuminance: KEY_LUX,
            shadow_maps_enabled: true,
            ..default()
        },
        Transform::from_xyz(3.0, 7.0, 9.0).looking_at(Vec3::new(0.0, 1.0, 0.0), Vec3::Y),
        // The stage is small: one shadow cascade covering it is sharp enough and a quarter of
        // the default cost, which matters on software renderers.
        CascadeShadowConfigBuilder {
            num_cascades: 1,
            minimum_distance: 0.1,
            maximum_distance: 24.0,
            first_cascade_far_bound: 24.0,
            ..default()
        }
        .build(),
    ));
    commands.spawn((
        FollowSpot,
        SpotLight {
            color: Color::srgb(1.0, 0.95, 0.86),
            intensity: SPOT_LUMENS,
            range: 30.0,
            radius: 0.1,
            shadow_maps_enabled: true,
            inner_angle: 0.09,
            outer_angle: 0.15,
            ..default()
        },
        Transform::from_xyz(0.0, 8.0, 9.0).looking_at(Vec3::new(0.0, 1.0, 0.0), Vec3::Y),
    ));
    for (x, color) in [
        (-3.2f32, Color::srgb(0.65, 0.78, 1.0)),
        (3.2, Color::srgb(1.0, 0.8, 0.55)),
    ] {
        commands.spawn((
            RimLight,
            SpotLight {
                color,
                intensity: RIM_LUMENS,
                range: 20.0,
                inner_angle: 0.25,
                outer_angle: 0.4,
                ..default()
            },
            Transform::from_xyz(x, 6.0, -2.6).looking_at(Vec3::new(0.0, 1.2, 0.0), Vec3::Y),
        ));
    }
    for x in [-3.5f32, 3.5] {
        commands.spawn((
            WashLight,
            SpotLight {
                intensity: WASH_LUMENS,
                range: 25.0,
                inner_angle: 0.35,
                outer_angle: 0.65,
                ..default()
            },
            Transform::from_xyz(x, 6.5, 1.5)
                .looking_at(Vec3::new(-x * 0.2, 2.2, STAGE_BACK), Vec3::Y),
        ));
    }

    // The stage camera: HDR with bloom for the lanterns, filmic tonemapping, indoor exposure.
    // A keyed backdrop (`keying::apply_backdrop`) clears it to transparent and takes the bloom
    // off; tonemapping and the output blit keep alpha.
    let (eye, look, fov) = super::CameraShot::Wide.framing(Vec3::ZERO);
    let mut camera = commands.spawn((
        StageCamera,
        Camera3d::default(),
        Camera {
            clear_color: ClearColorConfig::Custom(super::keying::HOUSE_CLEAR),
            ..default()
        },
        Projection::Perspective(PerspectiveProjection { fov, ..default() }),
        Tonemapping::TonyMcMapface,
        Bloom::NATURAL,
        Exposure::INDOOR,
        match quality.msaa_samples {
            1 => Msaa::Off,
            2 => Msaa::Sample2,
            8 => Msaa::Sample8,
            _ => Msaa::Sample4,
        },
        Transform::from_translation(eye).looking_at(look, Vec3::Y),
    ));
    if let StageOutput::Image(image) = &*output {
        camera.insert((RenderTarget::Image(image.clone().into()), ShadowLodOrigin));
    }
}

/// A vertical curtain-like panel of `width` × `height` centred on the origin in the XY plane,
/// facing +Z, with `folds` sinusoidal folds of `depth` metres.
fn folded_panel(width: f32, height: f32, depth: f32, folds: f32, columns: usize) -> Mesh {
    let mut positions = Vec::new();
    let mut normals = Vec::new();
    let mut uvs = Vec::new();
    for row in 0..2 {
        let v = row as f32;
        for col in 0..=columns {
            let u = col as f32 / columns as f32;
            let phase = u * folds * std::f32::consts::TAU;
            let x = (u - 0.5) * width;
            let z = depth * phase.sin();
            let dz_dx = depth * phase.cos() * folds * std::f32::consts::TAU / width;
            positions.push([x, (0.5 - v) * height, z]);
            normals.push(Vec3::new(-dz_dx, 0.0, 1.0).normalize().to_array());
            uvs.push([u, v]);
        }
    }
    ling_stage_fx::grid_mesh(2, columns + 1, positions, normals, uvs)
}

/// The tint of the lantern silk at a glow level (the texture carries the colour): dim red when
/// low, bloom-bright when full (values above 1 are HDR).
fn lantern_glow(level: f32) -> Color {
    let k = 0.2 + 0.9 * level;
    Color::LinearRgba(LinearRgba::rgb(k, k, k))
}

fn srgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::srgb(r, g, b)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn apply_light_look(
    lighting: Res<StageLighting>,
    silk: Option<Res<LanternSilk>>,
    mut materials: Option<ResMut<Assets<StandardMaterial>>>,
    mut ambient: Option<ResMut<GlobalAmbientLight>>,
    mut key: Query<&mut DirectionalLight, With<KeyLight>>,
    mut spots: Query<(
        &mut SpotLight,
        Has<FollowSpot>,
        Has<RimLight>,
        Has<WashLight>,
    )>,
    mut lanterns: Query<&mut PointLight, With<LanternLight>>,
) {
    let look = lighting.current;
    for mut light in &mut key {
        light.illuminance = KEY_LUX * look.key;
        light.color = srgb(look.key_color);
    }
    for (mut light, follow, rim, wash) in &mut spots {
        if follow {
            light.intensity = SPOT_LUMENS * look.spot;
        } else if rim {
            light.intensity = RIM_LUMENS * look.rim;
        } else if wash {
            light.intensity = WASH_LUMENS * look.wash;
            light.color = srgb(look.wash_color);
        }
    }
    set_lantern_level(
        look.lanterns,
        &mut lanterns,
        silk.as_deref(),
        materials.as_deref_mut(),
    );
    if let Some(ambient) = ambient.as_mut() {
        ambient.brightness = AMBIENT_BRIGHTNESS * look.ambient;
        ambient.color = Color::srgb(1.0, 0.9, 0.8);
    }
}

/// The stage listens to the show's track: on each onset the lanterns flare
/// (`lantern_pulse`) and the rim lights and curtain wash hit (`beat_lights`), fading over
/// 0.2 s. Driven by the show clock, so offline renders repeat exactly.
#[allow(clippy::too_many_arguments)]
pub(super) fn react_to_audio(
    lighting: Res<StageLighting>,
    track: Option<Res<ling_audio::AudioTrack>>,
    show: Option<Res<ling_core::show::ActiveShow>>,
    clock: Res<ling_core::show::ShowClock>,
    silk: Option<Res<LanternSilk>>,
    mut materials: Option<ResMut<Assets<StandardMaterial>>>,
    mut lanterns: Query<&mut PointLight, With<LanternLight>>,
    mut spots: Query<(&mut SpotLight, Has<RimLight>, Has<WashLight>)>,
) {
    let (Some(track), Some(show)) = (track, show) else {
        return;
    };
    let (lantern_pulse, beat_lights) = (show.0.lantern_pulse, show.0.beat_lights);
    if lantern_pulse <= 0.0 && beat_lights <= 0.0 {
        return;
    }
    let hit = track
        .since_onset(clock.time)
        .map(|dt| (-(dt as f32) / 0.2).exp())
        .unwrap_or(0.0);
    let look = lighting.current;
    if lantern_pulse > 0.0 {
        set_lantern_level(
            look.lanterns + hit * lantern_pulse,
            &mut lanterns,
            silk.as_deref(),
            materials.as_deref_mut(),
        );
    }
    if beat_lights > 0.0 {
        let boost = 1.0 + hit * beat_lights;
        for (mut light, rim, wash) in &mut spots {
            if rim {
                light.intensity = RIM_LUMENS * look.rim * boost;
            } else if wash {
                light.intensity = WASH_LUMENS * look.wash * boost;
            }
        }
    }
}

/// Sets the lanterns' light and the glow of their silk.
fn set_lantern_level(
    level: f32,
    lanterns: &mut Query<&mut PointLight, With<LanternLight>>,
    silk: Option<&LanternSilk>,
    materials: Option<&mut Assets<StandardMaterial>>,
) {
    for mut light in lanterns.iter_mut() {
        light.intensity = LANTERN_LUMENS * level;
    }
    if let (Some(silk), Some(materials)) = (silk, materials) {
        if let Some(mut material) = materials.get_mut(&silk.0) {
            material.base_color = lantern_glow(level);
        }
    }
}

pub(super) fn aim_stage_camera(
    cameras: Res<CameraDirector>,
    mut camera: Query<(&mut Transform, &mut Projection), With<StageCamera>>,
) {
    let (eye, look, fov) = cameras.framing;
    for (mut transform, mut projection) in &mut camera {
        *transform = Transform::from_translation(eye).looking_at(look, Vec3::Y);
        if let Projection::Perspective(p) = &mut *projection {
            p.fov = fov;
        }
    }
}

/// Spawns the preview camera once a [`PreviewOutput`] asks for one: the stage camera's look
/// (tonemapping, exposure) without its costly parts (no bloom, no MSAA), rendering before it.
pub(super) fn spawn_preview_camera(
    mut commands: Commands,
    output: Option<Res<PreviewOutput>>,
    existing: Query<(), With<PreviewCamera>>,
    cameras: Res<CameraDirector>,
) {
    let Some(output) = output else { return };
    if !existing.is_empty() {
        return;
    }
    let (eye, look, fov) = cameras.preview_framing;
    commands.spawn((
        PreviewCamera,
        Camera3d::default(),
        Camera {
            order: -1,
            clear_color: ClearColorConfig::Custom(super::keying::HOUSE_CLEAR),
            ..default()
        },
        RenderTarget::Image(output.image.clone().into()),
        Projection::Perspective(PerspectiveProjection { fov, ..default() }),
        Tonemapping::TonyMcMapface,
        Exposure::INDOOR,
        Msaa::Off,
        Transform::from_translation(eye).looking_at(look, Vec3::Y),
    ));
}

/// Aims the preview camera at the preview bus's framing and lets it render only when
/// [`PreviewOutput::due`] (a few times a second, one program frame in a few). In the frames
/// between, the camera is inactive and its image keeps the last picture. Real time, so a
/// paused or slowed show clock does not starve it.
pub(super) fn aim_preview_camera(
    time: Res<Time<Real>>,
    cameras: Res<CameraDirector>,
    output: Option<ResMut<PreviewOutput>>,
    mut camera: Query<(&mut Camera, &mut Transform, &mut Projection), With<PreviewCamera>>,
    mut since: Local<(f32, u32)>,
    mut shown: Local<Option<(Vec3, Vec3, f32)>>,
) {
    let Some(mut output) = output else { return };
    let Ok((mut camera, mut transform, mut projection)) = camera.single_mut() else {
        return;
    };
    since.0 += time.delta_secs();
    since.1 = since.1.saturating_add(1);
    let framing = cameras.preview_framing;
    let moved = shown.is_none_or(|(eye, look, fov)| {
        eye.distance(framing.0) > 1e-3 || look.distance(framing.1) > 1e-3 || fov != framing.2
    });
    let due = shown.is_none() || output.due(since.0, since.1, moved);
    if due {
        *since = (0.0, 0);
        *shown = Some(framing);
        let (eye, look, fov) = framing;
        *transform = Transform::from_translation(eye).looking_at(look, Vec3::Y);
        if let Projection::Perspective(p) = &mut *projection {
            p.fov = fov;
        }
        output.rendered += 1;
    }
    if camera.is_active != due {
        camera.is_active = due;
    }
}

pub(super) fn aim_follow_lights(
    cameras: Res<CameraDirector>,
    performers: Query<(), With<Performer>>,
    mut spots: Query<&mut Transform, (With<SpotLight>, Or<(With<FollowSpot>, With<RimLight>)>)>,
) {
    if performers.is_empty() {
        return;
    }
    // The spots follow the same smoothed position the cameras frame.
    let target = cameras.followed() + Vec3::new(0.0, 1.2, 0.0);
    for mut transform in &mut spots {
        let eye = transform.translation;
        *transform = Transform::from_translation(eye).looking_at(target, Vec3::Y);
    }
}

/// Tells stage effects where the follow spot, the lanterns and the performer are this frame.
pub(super) fn publish_anchors(
    spot: Query<(&Transform, &SpotLight), With<FollowSpot>>,
    lanterns: Query<&GlobalTransform, With<LanternLight>>,
    performers: Query<(&Transform, &ling_core::signals::HumanoidPose), With<Performer>>,
    anchors: Option<ResMut<ling_stage_fx::StageAnchors>>,
) {
    use ling_core::signals::HumanBone;
    let Some(mut anchors) = anchors else { return };
    let performer = performers.iter().next();
    let feet = performer
        .map(|(root, pose)| ling_core::signals::stage_position(root, pose))
        .unwrap_or(Vec3::ZERO);
    if let Some((transform, light)) = spot.iter().next() {
        anchors.follow_spot = Some((transform.translation, feet));
        anchors.follow_spot_angle = light.outer_angle;
    }
    anchors.lanterns = lanterns.iter().map(|t| t.translation()).collect();
    match performer {
        Some((root, pose)) => {
            let bones = pose.model_transforms();
            let world = |b: HumanBone| root.mul_transform(bones[b.index()]);
            anchors.head = Some(world(HumanBone::Head));
            anchors.hands = [
                Some(world(HumanBone::LeftHand).translation),
                Some(world(HumanBone::RightHand).translation),
            ];
        }
        None => {
            anchors.head = None;
            anchors.hands = [None, None];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_audio::{AudioTrack, analysis::Analysis};
    use ling_core::looks::LightLook;
    use ling_core::show::{ActiveShow, ShowClock, ShowFile};

    #[test]
    fn rim_lights_hit_on_onsets_and_fade_back_to_the_look() {
        let mut lighting = StageLighting::default();
        lighting.current = LightLook {
            rim: 1.0,
            wash: 0.5,
            ..default()
        };
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(lighting)
            .insert_resource(ShowClock::default())
            .insert_resource(ActiveShow(ShowFile {
                beat_lights: 2.0,
                ..default()
            }))
            .insert_resource(AudioTrack {
                path: "beat.wav".into(),
                analysis: Analysis {
                    hop_seconds: 0.01,
                    frames: Vec::new(),
                    onsets: vec![1.0, 3.0],
                    tempo_bpm: None,
                },
                duration: 4.0,
            })
            .add_systems(Update, react_to_audio);
        let rim = app.world_mut().spawn((SpotLight::default(), RimLight)).id();
        let wash = app
            .world_mut()
            .spawn((SpotLight::default(), WashLight))
            .id();
        let look = app.world().resource::<StageLighting>().current;
        let at = |app: &mut App, t: f64| {
            app.world_mut().resource_mut::<ShowClock>().time = t;
            app.update();
            let w = app.world();
            (
                w.get::<SpotLight>(rim).unwrap().intensity / (RIM_LUMENS * look.rim),
                w.get::<SpotLight>(wash).unwrap().intensity / (WASH_LUMENS * look.wash),
            )
        };
        let (r, w) = at(&mut app, 1.0);
        assert!(
            (r - 3.0).abs() < 1e-3 && (w - 3.0).abs() < 1e-3,
            "hit: {r} {w}"
        );
        let (r, _) = at(&mut app, 1.2);
        assert!(r > 1.5 && r < 2.0, "fading 0.2 s later: {r}");
        let (r, _) = at(&mut app, 2.5);
        assert!(
            (r - 1.0).abs() < 0.01,
            "back to the look between beats: {r}"
        );
        let (r, _) = at(&mut app, 3.0);
        assert!((r - 3.0).abs() < 1e-3, "the next onset hits again: {r}");
    }
}
