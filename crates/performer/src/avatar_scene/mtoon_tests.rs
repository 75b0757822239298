//! MToon rendered: a sphere lit from the side on Bevy's headless renderer (Mesa's lavapipe on
//! machines without a GPU), read back and measured — the shade step, the outline around the
//! silhouette, the same frame every time — beside the PBR material it replaces.
//! `LING_MTOON_PNG_DIR=/tmp` also writes the frames as PNG to look at.

use bevy::app::PluginsState;
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::image::{ImageAddressMode, ImageSampler, ImageSamplerDescriptor};
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
    /// Toon with a lit texture of two texels, black | white, repeating.
    ToonStriped(MToon),
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

/// An app with Bevy's renderer and no window, `setup` run before the default plugins.
fn headless_app(setup: impl FnOnce(&mut App)) -> App {
    let mut app = App::new();
    setup(&mut app);
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
    app
}

/// Makes the app's plugins ready; `false` (said) when there is no render device.
fn ready(app: &mut App) -> bool {
    while app.plugins_state() == PluginsState::Adding {
        std::thread::yield_now();
    }
    app.finish();
    app.cleanup();
    if app.world().get_resource::<RenderDevice>().is_none() {
        ling_testkit::skip("no render device (install mesa-vulkan-drivers)");
        return false;
    }
    true
}

/// Renders the sphere with `look` and returns the picture (RGBA8, sRGB), or `None` (said) when
/// this machine has no renderer.
fn render(look: &Look) -> Option<Vec<u8>> {
    render_at(look, None, &[0]).map(|mut frames| frames.remove(0))
}

/// Renders the sphere with `look` once per entry of `steps`, each after that many more
/// frames of 1/30 s (the time held still while the picture is read back); with `show_time`,
/// a show clock stands at that time.
fn render_at(look: &Look, show_time: Option<f64>, steps: &[u32]) -> Option<Vec<Vec<u8>>> {
    let mut app = headless_app(|_| {});
    if let Some(time) = show_time {
        app.insert_resource(ling_core::show::ShowClock {
            time,
            playing: false,
            ..default()
        });
    }
    mtoon::plugin(&mut app);
    if !ready(&mut app) {
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
        Look::Toon(params) | Look::ToonStriped(params) => {
            let mut base = base;
            if let Look::ToonStriped(_) = look {
                let mut stripes = Image::new(
                    Extent3d {
                        width: 2,
                        height: 1,
                        depth_or_array_layers: 1,
                    },
                    TextureDimension::D2,
                    vec![0, 0, 0, 255, 255, 255, 255, 255],
                    TextureFormat::Rgba8UnormSrgb,
                    RenderAssetUsages::default(),
                );
                stripes.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
                    address_mode_u: ImageAddressMode::Repeat,
                    address_mode_v: ImageAddressMode::Repeat,
                    ..ImageSamplerDescriptor::nearest()
                });
                base.base_color_texture = Some(world.resource_mut::<Assets<Image>>().add(stripes));
            }
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
    let mut frames = Vec::new();
    for &n in steps {
        set_step(&mut app, 1.0 / 30.0);
        for _ in 0..n {
            app.update();
        }
        // Time stands still while the picture comes back (a read-back lags a frame or two).
        set_step(&mut app, 0.0);
        for _ in 0..3 {
            app.update();
        }
        frame.lock().unwrap().take();
        for _ in 0..10 {
            app.update();
            if frame.lock().unwrap().is_some() {
                break;
            }
        }
        let pixels = frame.lock().unwrap().take().expect("a frame read back");
        assert_eq!(pixels.len(), (SIZE * SIZE * 4) as usize);
        frames.push(pixels);
    }
    Some(frames)
}

fn set_step(app: &mut App, seconds: f64) {
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
        seconds,
    )));
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

/// How many pixels differ in luma by more than 16 between two pictures.
fn changed(a: &[u8], b: &[u8]) -> usize {
    (0..SIZE * SIZE)
        .filter(|i| {
            let (x, y) = (i % SIZE, i / SIZE);
            (luma(a, x, y) - luma(b, x, y)).abs() > 16.0
        })
        .count()
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
    println!(
        "middle row, {} px: toon {} ramp steps, {} levels of 8; PBR {} ramp steps, {} levels",
        toon_row.len(),
        ramp_steps(&toon_row),
        levels(&toon_row),
        ramp_steps(&pbr_row),
        levels(&pbr_row)
    );
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

fn shared(name: &str) -> Option<std::path::PathBuf> {
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

/// `src` with its JSON changed by `edit`, written to `dst` (the binary chunk kept).
fn patched_vrm(
    src: &std::path::Path,
    dst: &std::path::Path,
    edit: impl FnOnce(&mut serde_json::Value),
) {
    let bytes = std::fs::read(src).unwrap();
    let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut json: serde_json::Value = serde_json::from_slice(&bytes[20..20 + len]).unwrap();
    let bin_len = u32::from_le_bytes(bytes[20 + len..24 + len].try_into().unwrap()) as usize;
    let bin = &bytes[28 + len..28 + len + bin_len];
    edit(&mut json);
    std::fs::write(dst, crate::avatar::glb(&json.to_string(), bin)).unwrap();
}

/// Puts the avatar at `path` on a headless stage and waits until its rig is bound and its
/// materials are settled; `None` (said) without a renderer.
fn avatar_on_stage(path: &std::path::Path) -> Option<App> {
    let mut app = headless_app(|app| {
        super::register_avatar_source(app, &ling_core::show::ShowFile::default()).unwrap();
    });
    app.add_plugins((ling_core::plugin, crate::plugin));
    app.insert_resource(ling_core::background::LoadPolicy::Background);
    if !ready(&mut app) {
        return None;
    }
    app.update();
    app.world_mut()
        .write_message(ling_core::show::DirectorCommand::SwitchPerformer(
            ling_core::show::PerformerSpec::Avatar {
                path: path.to_owned(),
            },
        ));
    let start = std::time::Instant::now();
    loop {
        app.update();
        std::thread::sleep(Duration::from_millis(2));
        let status = app.world().resource::<crate::PerformerStatus>().clone();
        assert_eq!(status.error, None, "{}", path.display());
        let world = app.world_mut();
        let bound = world
            .query_filtered::<(), With<super::AvatarRig>>()
            .iter(world)
            .count();
        if bound == 1 && status.loading.is_none() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{} never came on stage",
            path.display()
        );
    }
    for _ in 0..3 {
        app.update();
    }
    Some(app)
}

/// The toon materials on the stage's meshes, and how many meshes still have PBR.
fn materials_on_stage(app: &mut App) -> (Vec<MToonMaterial>, usize) {
    let world = app.world_mut();
    let toon: Vec<Handle<MToonMaterial>> = world
        .query_filtered::<&MeshMaterial3d<MToonMaterial>, Without<mtoon::MToonOutline>>()
        .iter(world)
        .map(|m| m.0.clone())
        .collect();
    let pbr = world
        .query::<&MeshMaterial3d<StandardMaterial>>()
        .iter(world)
        .count();
    let assets = world.resource::<Assets<MToonMaterial>>();
    (
        toon.iter()
            .map(|h| assets.get(h).unwrap().clone())
            .collect(),
        pbr,
    )
}

#[test]
fn vrm_avatars_on_stage_get_mtoon_materials_with_their_parameters() {
    let Some(path) = shared("VRMC_materials_mtoon_UV_Animation_Test.vrm") else {
        return;
    };
    let Some(mut app) = avatar_on_stage(&path) else {
        return;
    };
    let (toon, pbr) = materials_on_stage(&mut app);
    assert_eq!(pbr, 0, "every material of the file is MToon");
    let mut scrolls: Vec<(f32, f32, f32)> = toon
        .iter()
        .map(|m| {
            let u = &m.extension.uniform;
            (u.uv_scroll_x, u.uv_scroll_y, u.uv_rotation)
        })
        .collect();
    scrolls.sort_by(|a, b| a.partial_cmp(b).unwrap());
    scrolls.dedup();
    assert_eq!(
        scrolls,
        [(0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)],
        "ScrollRot, ScrollY and ScrollX"
    );
    for m in &toon {
        assert!(!m.base.unlit, "KHR_materials_unlit gives way to MToon");
        assert!(m.base.base_color_texture.is_some());
        assert!(
            m.extension.shade_texture.is_some(),
            "shadeMultiplyTexture resolved"
        );
        assert_eq!(m.base.cull_mode, None, "double-sided");
    }
}

#[test]
fn vrm0_skinned_avatar_gets_mtoon_and_a_skinned_outline_hull() {
    let Some(src) = shared("cool_loops.vrm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cool_loops_outlined.vrm");
    patched_vrm(&src, &path, |json| {
        let p = &mut json["extensions"]["VRM"]["materialProperties"][0]["floatProperties"];
        p["_OutlineWidthMode"] = 1.into();
        p["_OutlineWidth"] = 0.3.into();
    });
    let Some(mut app) = avatar_on_stage(&path) else {
        return;
    };
    let (toon, pbr) = materials_on_stage(&mut app);
    assert_eq!(pbr, 0, "the avatar's one material is MToon");
    assert!(!toon.is_empty());
    for m in &toon {
        let u = &m.extension.uniform;
        assert!((u.shading_toony - 0.95).abs() < 1e-4, "{}", u.shading_toony);
        assert_eq!(u.outline_mode, 1);
        assert!((u.outline_width - 0.003).abs() < 1e-6);
        assert!(!m.extension.outline);
        assert_eq!(
            m.base.cull_mode,
            Some(bevy::render::render_resource::Face::Back)
        );
    }
    let world = app.world_mut();
    let meshes: Vec<(Entity, bool)> = world
        .query_filtered::<(Entity, Has<bevy::mesh::skinning::SkinnedMesh>), (
            With<MeshMaterial3d<MToonMaterial>>,
            Without<mtoon::MToonOutline>,
        )>()
        .iter(world)
        .collect();
    assert!(meshes.iter().any(|(_, skinned)| *skinned), "a skinned mesh");
    for (mesh, skinned) in meshes {
        let hulls: Vec<Entity> = world
            .query_filtered::<(Entity, &ChildOf), With<mtoon::MToonOutline>>()
            .iter(world)
            .filter(|(_, parent)| parent.parent() == mesh)
            .map(|(e, _)| e)
            .collect();
        assert_eq!(hulls.len(), 1, "one outline hull per mesh");
        let hull = world.entity(hulls[0]);
        assert_eq!(
            hull.contains::<bevy::mesh::skinning::SkinnedMesh>(),
            skinned
        );
        let material = hull
            .get::<MeshMaterial3d<MToonMaterial>>()
            .unwrap()
            .0
            .clone();
        let material = world
            .resource::<Assets<MToonMaterial>>()
            .get(&material)
            .unwrap();
        assert!(material.extension.outline);
        assert_eq!(
            material.base.cull_mode,
            Some(bevy::render::render_resource::Face::Front),
            "the hull shows its inside"
        );
    }
    assert_eq!(
        world.resource::<Assets<MToonMaterial>>().len(),
        2,
        "surface and hull"
    );
    // The avatar leaves: its toon materials and hulls go with it.
    world.write_message(ling_core::show::DirectorCommand::SwitchPerformer(
        ling_core::show::PerformerSpec::None,
    ));
    for _ in 0..10 {
        app.update();
    }
    let world = app.world_mut();
    let hulls = world
        .query_filtered::<(), With<mtoon::MToonOutline>>()
        .iter(world)
        .count();
    assert_eq!(hulls, 0);
    assert_eq!(world.resource::<Assets<MToonMaterial>>().len(), 0);
}

#[test]
fn mtoon_uv_scroll_moves_the_texture_with_time() {
    // One UV a second: half a second later the stripes have swapped, a second later they are
    // back where they were.
    let params = MToon {
        uv_scroll: [1.0, 0.0],
        ..toon(OutlineWidthMode::None)
    };
    let Some(frames) = render_at(&Look::ToonStriped(params), None, &[0, 15, 15]) else {
        return;
    };
    save("mtoon_scroll_0s", &frames[0]);
    save("mtoon_scroll_half_s", &frames[1]);
    let sphere_pixels = (std::f32::consts::PI * silhouette_radius().powi(2)) as usize;
    let half = changed(&frames[0], &frames[1]);
    let whole = changed(&frames[0], &frames[2]);
    println!(
        "UV scroll: {half} pixels changed after 0.5 s, {whole} after 1 s (sphere {sphere_pixels})"
    );
    assert!(
        half > sphere_pixels / 3,
        "the stripes moved: {half} of {sphere_pixels}"
    );
    assert!(
        whole < sphere_pixels / 50,
        "a whole period later: {whole} changed"
    );
}

#[test]
fn mtoon_outline_lighting_mix_lights_the_outline_like_the_surface() {
    // A white outline fully mixed with the lighting: where the silhouette faces the light
    // (right) it takes the lit colour, where it faces away (left) the shade colour.
    let params = MToon {
        outline_color: Vec3::ONE,
        outline_lighting_mix: 1.0,
        ..toon(OutlineWidthMode::Screen)
    };
    let Some(frame) = render(&Look::Toon(params)) else {
        return;
    };
    save("mtoon_lit_outline", &frame);
    let c = SIZE as f32 / 2.0;
    let r = silhouette_radius();
    let right = luma(&frame, (c + r + 1.0) as u32, SIZE / 2);
    let left = luma(&frame, (c - r - 1.0) as u32, SIZE / 2);
    let lit = luma(&frame, (c + r * 0.5) as u32, SIZE / 2);
    let shade = luma(&frame, (c - r * 0.5) as u32, SIZE / 2);
    println!("outline right {right} (lit {lit}), left {left} (shade {shade})");
    assert!(
        (right - lit).abs() < 12.0,
        "lit side: outline {right}, surface {lit}"
    );
    assert!(
        (left - shade).abs() < 12.0,
        "shade side: outline {left}, surface {shade}"
    );
    assert!(right > left + 60.0);
}

#[test]
fn mtoon_uv_animation_follows_the_show_clock() {
    // With a show, the scroll follows the show's time: half a second of Bevy's time on a
    // paused show changes nothing; the show half a second further swaps the stripes.
    let params = MToon {
        uv_scroll: [1.0, 0.0],
        ..toon(OutlineWidthMode::None)
    };
    let look = Look::ToonStriped(params);
    let Some(early) = render_at(&look, Some(0.25), &[0, 15]) else {
        return;
    };
    let late = render_at(&look, Some(0.75), &[0]).unwrap();
    let sphere_pixels = (std::f32::consts::PI * silhouette_radius().powi(2)) as usize;
    let held = changed(&early[0], &early[1]);
    let moved = changed(&early[0], &late[0]);
    println!("show clock: {held} pixels changed while it stood, {moved} half a second later");
    assert_eq!(held, 0, "the paused show holds the scroll");
    assert!(moved > sphere_pixels / 3, "{moved} of {sphere_pixels}");
}
