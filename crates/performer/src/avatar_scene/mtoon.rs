//! MToon on stage: a VRM's toon materials ([`MToon`], read with the file) replace the PBR
//! materials Bevy's glTF loader gives its meshes, and materials with an outline get a second,
//! inverted hull drawn around the mesh.
//!
//! [`MToonMaterial`] is Bevy's `StandardMaterial` (lit colour and texture, alpha, culling,
//! normal map, emission) extended with MToon's parameters and a shader of its own
//! (`mtoon.wgsl`, embedded in the binary): per light a step between the shade and the lit
//! colour over N·L with shadows, GI equalisation, rim (parametric and matcap), UV scroll and
//! rotation (on the show clock). The outline is a child entity drawing the same (skinned, morphed) mesh with the
//! same material in outline mode: front faces culled and vertices pushed out along their
//! normals, in metres or as a fraction of the picture's height. Plain glTF files keep PBR.

use std::collections::HashMap;

use bevy::asset::{AssetPath, embedded_asset, embedded_path};
use bevy::camera::visibility::NoFrustumCulling;
use bevy::light::{NotShadowCaster, NotShadowReceiver};
use bevy::material::OpaqueRendererMethod;
use bevy::mesh::MeshVertexBufferLayoutRef;
use bevy::mesh::morph::MeshMorphWeights;
use bevy::mesh::skinning::SkinnedMesh;
use bevy::pbr::{
    ExtendedMaterial, MaterialExtension, MaterialExtensionKey, MaterialExtensionPipeline,
};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, Face, RenderPipelineDescriptor, ShaderType, SpecializedMeshPipelineError,
};
use bevy::shader::ShaderRef;

use crate::avatar::{MToon, MToonAlpha, OutlineWidthMode, TextureRef};
use ling_core::show::ShowClock;

/// A toon material: `StandardMaterial` with MToon's parameters and shader.
pub type MToonMaterial = ExtendedMaterial<StandardMaterial, MToonExtension>;

/// MToon's numbers as the shader reads them (see `mtoon.wgsl`).
#[derive(Clone, Copy, Debug, Default, ShaderType, Reflect)]
pub struct MToonUniform {
    /// Shade colour (rgb).
    pub shade_color: Vec4,
    /// Matcap colour (rgb); black without a matcap texture.
    pub matcap_color: Vec4,
    /// Parametric rim colour (rgb).
    pub rim_color: Vec4,
    /// Outline colour (rgb).
    pub outline_color: Vec4,
    /// Shading shift.
    pub shading_shift: f32,
    /// Scale of the shading shift texture's red channel (0 without the texture).
    pub shading_shift_texture_scale: f32,
    /// Shading toony (0 smooth … 1 a hard step).
    pub shading_toony: f32,
    /// GI equalisation.
    pub gi_equalization: f32,
    /// Rim fresnel power.
    pub rim_fresnel_power: f32,
    /// Rim lift.
    pub rim_lift: f32,
    /// How much the rim follows the light.
    pub rim_lighting_mix: f32,
    /// Outline width (metres, or a fraction of the picture's height).
    pub outline_width: f32,
    /// How much the outline colour follows the lit surface.
    pub outline_lighting_mix: f32,
    /// UV scroll per second, U.
    pub uv_scroll_x: f32,
    /// UV scroll per second, V.
    pub uv_scroll_y: f32,
    /// UV rotation, radians per second.
    pub uv_rotation: f32,
    /// 0 none, 1 world, 2 screen.
    pub outline_mode: u32,
    /// The UV animation's clock in seconds: the show's time (set each frame by `advance_uv_animation`).
    pub time: f32,
    _pad1: u32,
    _pad2: u32,
}

/// MToon's part of [`MToonMaterial`]: its numbers, its textures (a missing texture reads
/// white), and whether this is the outline pass.
#[derive(Asset, AsBindGroup, Reflect, Debug, Clone, Default)]
#[bind_group_data(MToonKey)]
pub struct MToonExtension {
    /// The numbers.
    #[uniform(100)]
    pub uniform: MToonUniform,
    /// Shade multiply texture.
    #[texture(101)]
    #[sampler(102)]
    pub shade_texture: Option<Handle<Image>>,
    /// Shading shift texture (red channel).
    #[texture(103)]
    #[sampler(104)]
    pub shading_shift_texture: Option<Handle<Image>>,
    /// Matcap texture.
    #[texture(105)]
    #[sampler(106)]
    pub matcap_texture: Option<Handle<Image>>,
    /// Rim multiply texture.
    #[texture(107)]
    #[sampler(108)]
    pub rim_texture: Option<Handle<Image>>,
    /// UV animation mask (blue channel).
    #[texture(109)]
    #[sampler(110)]
    pub uv_mask_texture: Option<Handle<Image>>,
    /// Outline width multiply texture (green channel).
    #[texture(111)]
    #[sampler(112)]
    pub outline_width_texture: Option<Handle<Image>>,
    /// Draws the outline hull instead of the surface.
    pub outline: bool,
    /// A blended material that still writes depth (`transparentWithZWrite`).
    pub z_write: bool,
}

/// The pipeline variants of [`MToonExtension`].
#[repr(C)]
#[derive(Eq, PartialEq, Hash, Copy, Clone)]
pub struct MToonKey {
    outline: bool,
    z_write: bool,
}

impl From<&MToonExtension> for MToonKey {
    fn from(m: &MToonExtension) -> Self {
        MToonKey {
            outline: m.outline,
            z_write: m.z_write,
        }
    }
}

fn shader() -> ShaderRef {
    ShaderRef::Path(AssetPath::from_path_buf(embedded_path!("mtoon.wgsl")).with_source("embedded"))
}

impl MaterialExtension for MToonExtension {
    fn vertex_shader() -> ShaderRef {
        shader()
    }

    fn fragment_shader() -> ShaderRef {
        shader()
    }

    fn specialize(
        _pipeline: &MaterialExtensionPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        _layout: &MeshVertexBufferLayoutRef,
        key: MaterialExtensionKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        if key.bind_group_data.outline {
            descriptor.vertex.shader_defs.push("MTOON_OUTLINE".into());
            if let Some(fragment) = descriptor.fragment.as_mut() {
                fragment.shader_defs.push("MTOON_OUTLINE".into());
            }
        }
        if key.bind_group_data.z_write
            && let Some(depth) = descriptor.depth_stencil.as_mut()
        {
            depth.depth_write_enabled = Some(true);
        }
        Ok(())
    }
}

impl MToonExtension {
    /// The extension for `m`, with its textures resolved by `texture`.
    pub fn new(m: &MToon, texture: impl Fn(Option<TextureRef>) -> Option<Handle<Image>>) -> Self {
        let shading_shift_texture = m.shading_shift_texture.and_then(|(t, _)| texture(Some(t)));
        let matcap_texture = texture(m.matcap_texture);
        MToonExtension {
            uniform: MToonUniform {
                shade_color: m.shade_color.extend(1.0),
                matcap_color: if matcap_texture.is_some() {
                    m.matcap_color.extend(1.0)
                } else {
                    Vec4::ZERO
                },
                rim_color: m.rim_color.extend(1.0),
                outline_color: m.outline_color.extend(1.0),
                shading_shift: m.shading_shift,
                shading_shift_texture_scale: match (&shading_shift_texture, m.shading_shift_texture)
                {
                    (Some(_), Some((_, scale))) => scale,
                    _ => 0.0,
                },
                shading_toony: m.shading_toony,
                gi_equalization: m.gi_equalization,
                rim_fresnel_power: m.rim_fresnel_power,
                rim_lift: m.rim_lift,
                rim_lighting_mix: m.rim_lighting_mix,
                outline_width: m.outline_width,
                outline_lighting_mix: m.outline_lighting_mix,
                uv_scroll_x: m.uv_scroll[0],
                uv_scroll_y: m.uv_scroll[1],
                uv_rotation: m.uv_rotation,
                outline_mode: match m.outline_mode {
                    OutlineWidthMode::None => 0,
                    OutlineWidthMode::World => 1,
                    OutlineWidthMode::Screen => 2,
                },
                ..default()
            },
            shade_texture: texture(m.shade_texture),
            shading_shift_texture,
            matcap_texture,
            rim_texture: texture(m.rim_texture),
            uv_mask_texture: texture(m.uv_mask_texture),
            outline_width_texture: texture(m.outline_width_texture),
            outline: false,
            z_write: matches!(m.alpha, MToonAlpha::Blend { z_write: true }),
        }
    }
}

/// The surface and (when it has one) outline materials for `m`, on top of the PBR material
/// the glTF loader made for it (`base`; `inverted` for a mirrored node's copy).
pub fn mtoon_materials(
    m: &MToon,
    base: &StandardMaterial,
    inverted: bool,
    texture: impl Fn(Option<TextureRef>) -> Option<Handle<Image>>,
) -> (MToonMaterial, Option<MToonMaterial>) {
    let flip = |face: Face| match (face, inverted) {
        (Face::Back, true) => Face::Front,
        (Face::Front, true) => Face::Back,
        (face, false) => face,
    };
    let mut surface = base.clone();
    surface.base_color = Color::LinearRgba(LinearRgba::from_vec4(m.lit_color));
    if surface.base_color_texture.is_none() {
        surface.base_color_texture = texture(m.lit_texture);
    }
    surface.emissive = LinearRgba::from_vec3(m.emissive);
    if surface.emissive_texture.is_none() {
        surface.emissive_texture = texture(m.emissive_texture);
    }
    surface.unlit = false;
    surface.metallic = 0.0;
    surface.opaque_render_method = OpaqueRendererMethod::Forward;
    surface.alpha_mode = match m.alpha {
        MToonAlpha::Opaque => AlphaMode::Opaque,
        MToonAlpha::Mask(cutoff) => AlphaMode::Mask(cutoff),
        MToonAlpha::Blend { .. } => AlphaMode::Blend,
    };
    // The render queue offset orders blended materials: Bevy sorts them by view depth plus
    // this bias (a step of 1 m puts one before the other within an avatar).
    surface.depth_bias = m.render_queue_offset as f32;
    surface.double_sided = m.double_sided;
    surface.cull_mode = if m.double_sided {
        None
    } else if m.cull_front {
        Some(flip(Face::Front))
    } else {
        Some(flip(Face::Back))
    };
    let extension = MToonExtension::new(m, &texture);
    let outline = m.has_outline().then(|| {
        let mut base = surface.clone();
        base.double_sided = false;
        base.cull_mode = Some(flip(Face::Front));
        ExtendedMaterial {
            base,
            extension: MToonExtension {
                outline: true,
                ..extension.clone()
            },
        }
    });
    (
        ExtendedMaterial {
            base: surface,
            extension,
        },
        outline,
    )
}

/// On an avatar's root: its MToon parameters by glTF material index, and the materials made
/// from them so far (by label: index and whether mirrored), shared by the meshes using them.
#[derive(Component)]
pub(crate) struct AvatarMaterials {
    mtoon: Vec<Option<MToon>>,
    made: HashMap<(usize, bool), (Handle<MToonMaterial>, Option<Handle<MToonMaterial>>)>,
}

impl AvatarMaterials {
    pub(crate) fn new(mtoon: Vec<Option<MToon>>) -> Option<Self> {
        mtoon.iter().any(Option::is_some).then(|| AvatarMaterials {
            mtoon,
            made: HashMap::new(),
        })
    }
}

/// A mesh's outline hull (a child of the mesh it outlines).
#[derive(Component)]
pub struct MToonOutline;

/// The glTF material index of a loader-made material label (`Material3/std`,
/// `Material3 (inverted)/std`) and whether it is the mirrored copy.
fn material_index(label: &str) -> Option<(usize, bool)> {
    let name = label.strip_suffix("/std")?.strip_prefix("Material")?;
    match name.strip_suffix(" (inverted)") {
        Some(n) => Some((n.parse().ok()?, true)),
        None => Some((name.parse().ok()?, false)),
    }
}

/// Gives the meshes of avatars with MToon materials their toon material (and outline hull)
/// as their scene spawns.
fn apply_mtoon_materials(
    mut commands: Commands,
    added: Query<
        (
            Entity,
            &MeshMaterial3d<StandardMaterial>,
            &Mesh3d,
            Option<&SkinnedMesh>,
            Option<&MeshMorphWeights>,
        ),
        Added<MeshMaterial3d<StandardMaterial>>,
    >,
    parents: Query<&ChildOf>,
    mut avatars: Query<&mut AvatarMaterials>,
    standard: Res<Assets<StandardMaterial>>,
    mut toon: ResMut<Assets<MToonMaterial>>,
    assets: Res<AssetServer>,
) {
    for (entity, material, mesh, skin, morph) in &added {
        let Some(avatar) = parents
            .iter_ancestors(entity)
            .find(|e| avatars.contains(*e))
        else {
            continue;
        };
        let Ok(mut avatar) = avatars.get_mut(avatar) else {
            continue;
        };
        let Some(path) = material.0.path() else {
            continue;
        };
        let Some((index, inverted)) = path.label().and_then(material_index) else {
            continue;
        };
        let Some(Some(params)) = avatar.mtoon.get(index) else {
            continue;
        };
        let (surface, outline) = match avatar.made.get(&(index, inverted)) {
            Some(made) => made.clone(),
            None => {
                let Some(base) = standard.get(&material.0) else {
                    continue;
                };
                let texture = |t: Option<TextureRef>| {
                    let label = format!("Texture{}", t?.index);
                    assets.get_handle::<Image>(path.clone().with_label(label))
                };
                let (surface, outline) = mtoon_materials(params, base, inverted, texture);
                let made = (toon.add(surface), outline.map(|o| toon.add(o)));
                avatar.made.insert((index, inverted), made.clone());
                made
            }
        };
        commands
            .entity(entity)
            .remove::<MeshMaterial3d<StandardMaterial>>()
            .insert(MeshMaterial3d(surface));
        if let Some(outline) = outline {
            let mut hull = commands.spawn((
                MToonOutline,
                Mesh3d(mesh.0.clone()),
                MeshMaterial3d(outline),
                Transform::default(),
                NotShadowCaster,
                NotShadowReceiver,
                NoFrustumCulling,
                ChildOf(entity),
            ));
            if let Some(skin) = skin {
                hull.insert(skin.clone());
            }
            if let Some(morph) = morph {
                hull.insert(morph.clone());
            }
        }
    }
}

/// Keeps the UV animation of animated toon materials on the show clock (Bevy's own where
/// there is no show), so a render started mid-show scrolls from where the show is, a paused
/// show holds still and the same moment always looks the same. Only animated materials are
/// touched, and only when the time moved.
fn advance_uv_animation(
    clock: Option<Res<ShowClock>>,
    time: Res<Time>,
    mut toon: ResMut<Assets<MToonMaterial>>,
) {
    let now = clock.map_or(time.elapsed_secs_wrapped(), |c| c.time as f32);
    let animated: Vec<AssetId<MToonMaterial>> = toon
        .iter()
        .filter(|(_, m)| {
            let u = &m.extension.uniform;
            (u.uv_scroll_x != 0.0 || u.uv_scroll_y != 0.0 || u.uv_rotation != 0.0) && u.time != now
        })
        .map(|(id, _)| id)
        .collect();
    for id in animated {
        if let Some(mut m) = toon.get_mut(id) {
            m.extension.uniform.time = now;
        }
    }
}

/// Registers the toon material and its shader where there is a renderer (headless tests
/// without one keep the avatars' PBR materials).
pub(super) fn plugin(app: &mut App) {
    if !app.is_plugin_added::<bevy::pbr::PbrPlugin>() {
        return;
    }
    embedded_asset!(app, "mtoon.wgsl");
    app.add_plugins(MaterialPlugin::<MToonMaterial>::default())
        .add_systems(PostUpdate, (apply_mtoon_materials, advance_uv_animation));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_material_labels_give_the_gltf_index() {
        assert_eq!(material_index("Material0/std"), Some((0, false)));
        assert_eq!(
            material_index("Material12 (inverted)/std"),
            Some((12, true))
        );
        assert_eq!(material_index("DefaultMaterial/std"), None);
        assert_eq!(material_index("Material3"), None);
    }
}
