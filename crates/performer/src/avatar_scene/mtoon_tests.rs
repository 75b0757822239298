//! MToon rendered: a sphere lit from the side on Bevy's headless renderer (Mesa's lavapipe on
//! machines without a GPU), read back and measured — the shade step, the outline around the
//! silhouette, the same frame every time — beside the PBR material it replaces.
//! `LING_MTOON_PNG_DIR=/tmp` also writes the frames as PNG to look at.

use bevy::app::PluginsState;
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::render::RenderPlugin;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_resource::{
    Extent3d, PipelineCache, TextureDimension, TextureFormat, TextureUsages,
};
use bevy::render::view::Msaa;
use bevy::render::{RenderApp, renderer::RenderDevice};
use bevy::time::TimeUpdateStrategy;
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;

use super::mtoon::{self, MToonMaterial, mtoon_materials};
use crate::avatar::{MToon, OutlineWidthMode};

const SIZE: u32 = 128;
const BACKGROUND: f32 = 0.5;

enum Look {
    Pbr,
    Toon(MToon),
}

/// The toon sphere: white lit, blue-grey shade, a hard step (toony 1), and a near-black
/// outline 2% of the picture high (or 5 cm in world mode).
fn toon(outline: OutlineWidthMode) -> MToon {
    MToon {
        lit_color: Vec4::new(0.8, 0.8, 0.8, 1.0),
        shade_color: Vec3::new(0.15, 0.15, 0.3),
        shading_toony: 1.0,
        shading_shift: 0.0,
        gi_equalization: 0.0,
        rim_color: Vec3::ZERO,
        outline_mode: outline,
        outline_width: match outline {
            OutlineWidthMode::World => 0.05,
            _ => 0.02,
        },
        outline_color: Vec3::splat(0.003),
        outline_lighting_mix: 0.0,
        ..MToon::default()
    }
}

/// Renders the sphere with `look` and returns the picture (RGBA8, sRGB), or `None` (said) when
/// this machine has no renderer.
fn render(look: &Look) -> Option<Vec<u8>> {
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: None,
                exit_condition: ExitCondition::DontExit,
                ..default()
            })
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            })
            .disable::<WinitPlugin>()
            .disable::<bevy::render::pipelined_rendering::PipelinedRenderingPlugin>()
            .disable::<bevy::log::LogPlugin>(),
    )
    .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
        1.0 / 30.0,
    )));
    mtoon::plugin(&mut app);
    while app.plugins_state() == PluginsState::Adding {
        std::thread::yield_now();
    }
    app.finish();
    app.cleanup();
    if app.world().get_resource::<RenderDevice>().is_none() {
        ling_testkit::skip("no render device (install mesa-vulkan-drivers)");
        return None;
    }
    let world = app.world_mut();
    let mut image = Image::new_fill(
        Extent3d {
            width: SIZE,
            height: SIZE,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    image.texture_descriptor.usage |=
        TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC | TextureUsages::TEXTURE_BINDING;
    let target = world.resource_mut::<Assets<Image>>().add(image);
    let sphere = world
        .resource_mut::<Assets<Mesh>>()
        .add(Sphere::new(1.0).mesh().uv(96, 48));
    let base = StandardMaterial {
        base_color: Color::linear_rgb(0.8, 0.8, 0.8),
        perceptual_roughness: 1.0,
        reflectance: 0.0,
        ..default()
    };
    match look {
        Look::Pbr => {
            let material = world.resource_mut::<Assets<StandardMaterial>>().add(base);
            world.spawn((Mesh3d(sphere), MeshMaterial3d(material)));
        }
        Look::Toon(params) => {
            let (surface, outline) = mtoon_materials(params, &base, false, |_| None);
            let mut toon = world.resource_mut::<Assets<MToonMaterial>>();
            let surface = toon.add(surface);
            let outline = outline.map(|o| toon.add(o));
            let body = world
                .spawn((Mesh3d(sphere.clone()), MeshMaterial3d(surface)))
                .id();
            if let Some(outline) = outline {
                world.spawn((Mesh3d(sphere), MeshMaterial3d(outline), ChildOf(body)));
            }
        }
    }
    // Lit from the right (+X), a little from the front: the terminator runs down the middle.
    world.spawn((
        DirectionalLight {
            illuminance: 2500.0,
            ..default()
        },
        Transform::from_xyz(1.0, 0.0, 0.25).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    world.insert_resource(GlobalAmbientLight {
        brightness: 0.0,
        ..default()
    });
    world.spawn((
        Camera3d::default(),
        Camera {
            clear_color: ClearColorConfig::Custom(Color::linear_rgb(
                BACKGROUND, BACKGROUND, BACKGROUND,
            )),
            ..default()
        },
        RenderTarget::Image(target.clone().into()),
        Msaa::Off,
        Tonemapping::None,
        Transform::from_xyz(0.0, 0.0, 4.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    let mut idle = 0;
    for _ in 0..60 {
        app.update();
        let waiting = app
            .sub_app(RenderApp)
            .world()
            .resource::<PipelineCache>()
            .waiting_pipelines()
            .count();
        idle = if waiting == 0 { idle + 1 } else { 0 };
        if idle >= 3 {
            break;
        }
    }
    let frame: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let sink = frame.clone();
    app.world_mut()
        .spawn(Readback::texture(target))
        .observe(move |event: On<ReadbackComplete>| {
            *sink.lock().unwrap() = Some(event.data.clone());
        });
    for _ in 0..10 {
        app.update();
        if frame.lock().unwrap().is_some() {
            break;
        }
    }
    let pixels = frame.lock().unwrap().take().expect("a frame read back");
    assert_eq!(pixels.len(), (SIZE * SIZE * 4) as usize);
    Some(pixels)
}

fn save(name: &str, pixels: &[u8]) {
    if let Ok(dir) = std::env::var("LING_MTOON_PNG_DIR") {
        let image = Image::new(
            Extent3d {
                width: SIZE,
                height: SIZE,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            pixels.to_vec(),
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::default(),
        );
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        image
            .try_into_dynamic()
            .unwrap()
            .to_rgba8()
            .save(&path)
            .unwrap();
    }
}

/// Luma (0–255) of the pixel at (x, y).
fn luma(pixels: &[u8], x: u32, y: u32) -> f32 {
    let i = ((y * SIZE + x) * 4) as usize;
    0.2126 * pixels[i] as f32 + 0.7152 * pixels[i + 1] as f32 + 0.0722 * pixels[i + 2] as f32
}

/// The lumas along the middle row across the sphere (inside its silhouette, clear of the
/// outline and the limb).
fn middle_row(pixels: &[u8]) -> Vec<f32> {
    let radius = silhouette_radius();
    let c = SIZE as f32 / 2.0;
    let x0 = (c - radius * 0.85) as u32;
    let x1 = (c + radius * 0.85) as u32;
    (x0..=x1).map(|x| luma(pixels, x, SIZE / 2)).collect()
}

/// The sphere's radius on the picture in pixels (camera 4 m away, 45° vertical field).
fn silhouette_radius() -> f32 {
    let d: f32 = 4.0;
    let half_angle = (1.0 / d).asin();
    let half_fov = std::f32::consts::FRAC_PI_8;
    half_angle.tan() / half_fov.tan() * SIZE as f32 / 2.0
}

/// How many neighbouring steps along the row change luma by more than 3 and less than the
/// jump between the bands: the intermediate values of a ramp.
fn ramp_steps(row: &[f32]) -> usize {
    row.windows(2).filter(|w| (w[1] - w[0]).abs() > 3.0).count()
}

/// Distinct luma levels along the row, in bins of 8.
fn levels(row: &[f32]) -> usize {
    let mut bins: Vec<i32> = row.iter().map(|l| (*l / 8.0) as i32).collect();
    bins.sort();
    bins.dedup();
    bins.len()
}

#[test]
fn mtoon_sphere_shows_the_shade_step_and_an_outline_beside_pbr() {
    let Some(toon_frame) = render(&Look::Toon(toon(OutlineWidthMode::Screen))) else {
        return;
    };
    let pbr_frame = render(&Look::Pbr).unwrap();
    save("mtoon_sphere", &toon_frame);
    save("pbr_sphere", &pbr_frame);

    // The shade step: two bands with (almost) nothing between them, where PBR ramps.
    let toon_row = middle_row(&toon_frame);
    let pbr_row = middle_row(&pbr_frame);
    let (dark, light) = toon_row
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), l| (lo.min(*l), hi.max(*l)));
    assert!(light - dark > 80.0, "lit {light} vs shade {dark}");
    let near = |l: &f32, band: f32| (l - band).abs() < 6.0;
    let in_bands = toon_row
        .iter()
        .filter(|l| near(l, dark) || near(l, light))
        .count();
    let between = toon_row.len() - in_bands;
    assert!(
        between <= 2,
        "toon row has {between} of {} values between its bands: {toon_row:?}",
        toon_row.len()
    );
    let shaded = toon_row.iter().filter(|l| near(l, dark)).count();
    let lit = toon_row.iter().filter(|l| near(l, light)).count();
    assert!(
        shaded > toon_row.len() / 4 && lit > toon_row.len() / 4,
        "both bands wide: {shaded} shaded, {lit} lit of {}",
        toon_row.len()
    );
    assert!(
        ramp_steps(&pbr_row) > 3 * ramp_steps(&toon_row).max(1)
            && levels(&pbr_row) > 2 * levels(&toon_row),
        "PBR ramps smoothly ({} steps, {} levels) where the toon steps ({} steps, {} levels)",
        ramp_steps(&pbr_row),
        levels(&pbr_row),
        ramp_steps(&toon_row),
        levels(&toon_row)
    );

    // The outline: just outside the sphere's silhouette (left, right, top, bottom) the toon
    // frame is the near-black outline where the PBR frame shows the grey background.
    let background = luma(&pbr_frame, 2, 2);
    assert!(background > 150.0, "grey background: {background}");
    let c = SIZE as f32 / 2.0;
    let r = silhouette_radius();
    let outside = [
        ((c - r - 1.0) as u32, SIZE / 2),
        ((c + r + 1.0) as u32, SIZE / 2),
        (SIZE / 2, (c - r - 1.0) as u32),
        (SIZE / 2, (c + r + 1.0) as u32),
    ];
    for (x, y) in outside {
        let toon = luma(&toon_frame, x, y);
        let pbr = luma(&pbr_frame, x, y);
        assert!(toon < 30.0, "outline at ({x},{y}): {toon}");
        assert!(
            (pbr - background).abs() < 2.0,
            "no outline in PBR at ({x},{y}): {pbr}"
        );
    }
    // … and it is a rim, not a halo: a few pixels further out the background shows again.
    let far = luma(&toon_frame, (c + r + 8.0) as u32, SIZE / 2);
    assert!(
        (far - background).abs() < 2.0,
        "background beyond the outline: {far}"
    );
}

#[test]
fn mtoon_world_outline_and_frames_repeat_exactly() {
    let params = toon(OutlineWidthMode::World);
    let Some(first) = render(&Look::Toon(params.clone())) else {
        return;
    };
    let second = render(&Look::Toon(params)).unwrap();
    save("mtoon_sphere_world_outline", &first);
    let differing = first.iter().zip(&second).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing, 0,
        "two renders of the same scene differ in {differing} bytes"
    );
    // 5 cm at 4 m is about 2 px on this picture: the pixel just outside the silhouette.
    let c = SIZE as f32 / 2.0;
    let r = silhouette_radius();
    let edge = luma(&first, (c + r + 1.0) as u32, SIZE / 2);
    assert!(edge < 30.0, "world outline at the right edge: {edge}");
}
