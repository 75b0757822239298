//! MToon material parameters, read from a VRM 1.0 material's `VRMC_materials_mtoon` extension or
//! a VRM 0.x `VRM.materialProperties` entry with shader `VRM/MToon`, into one description in
//! the terms of the VRMC_materials_mtoon-1.0 specification ([`MToon`]). The renderer
//! (`avatar_scene::mtoon`) turns it into a toon material; this is plain data, quick to test.
//!
//! VRM 0.x values are ported the way the reference implementations (UniVRM's migration,
//! three-vrm's v0 compatibility) do: colours from gamma to linear, shade shift and toony
//! remapped onto the 1.0 step, outline width from centimetres to metres, the UV scroll's Y
//! flipped (Unity's V runs up) and the rotation from turns to radians per second.

use bevy::math::{Vec3, Vec4};
use serde_json::Value;

use super::json::f32_of;

/// How an outline's width is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutlineWidthMode {
    /// No outline.
    #[default]
    None,
    /// `width` in metres, along the vertex normal in world space.
    World,
    /// `width` as a fraction of the screen height.
    Screen,
}

/// How a material's alpha is used.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MToonAlpha {
    /// Alpha ignored.
    #[default]
    Opaque,
    /// Cut out below the cutoff.
    Mask(f32),
    /// Blended; `z_write` for the spec's `transparentWithZWrite`.
    Blend {
        /// Whether the blended surface still writes depth.
        z_write: bool,
    },
}

/// A texture of the file (glTF texture index) and the UV set it is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextureRef {
    /// Index into the glTF `textures` array.
    pub index: usize,
    /// The `TEXCOORD_n` set.
    pub tex_coord: u32,
}

/// One MToon material, in the terms of VRMC_materials_mtoon-1.0 (colours linear).
#[derive(Debug, Clone, PartialEq)]
pub struct MToon {
    /// The material's name.
    pub name: String,
    /// Lit colour (`baseColorFactor` / `_Color`), RGBA.
    pub lit_color: Vec4,
    /// Lit colour texture (`baseColorTexture` / `_MainTex`).
    pub lit_texture: Option<TextureRef>,
    /// `shadeColorFactor` / `_ShadeColor`.
    pub shade_color: Vec3,
    /// `shadeMultiplyTexture` / `_ShadeTexture`.
    pub shade_texture: Option<TextureRef>,
    /// `shadingShiftFactor` (from `_ShadeShift`, `_ShadeToony`).
    pub shading_shift: f32,
    /// `shadingShiftTexture` and its `scale`.
    pub shading_shift_texture: Option<(TextureRef, f32)>,
    /// `shadingToonyFactor` (from `_ShadeToony`, `_ShadeShift`).
    pub shading_toony: f32,
    /// `giEqualizationFactor` (1 − `_IndirectLightIntensity`).
    pub gi_equalization: f32,
    /// `emissiveFactor` / `_EmissionColor`.
    pub emissive: Vec3,
    /// `emissiveTexture` / `_EmissionMap`.
    pub emissive_texture: Option<TextureRef>,
    /// `matcapFactor` (white when `_SphereAdd` is set).
    pub matcap_color: Vec3,
    /// `matcapTexture` / `_SphereAdd`.
    pub matcap_texture: Option<TextureRef>,
    /// `parametricRimColorFactor` / `_RimColor`.
    pub rim_color: Vec3,
    /// `parametricRimFresnelPowerFactor` / `_RimFresnelPower`.
    pub rim_fresnel_power: f32,
    /// `parametricRimLiftFactor` / `_RimLift`.
    pub rim_lift: f32,
    /// `rimLightingMixFactor` / `_RimLightingMix`.
    pub rim_lighting_mix: f32,
    /// `rimMultiplyTexture` / `_RimTexture`.
    pub rim_texture: Option<TextureRef>,
    /// `outlineWidthMode` / `_OutlineWidthMode`.
    pub outline_mode: OutlineWidthMode,
    /// `outlineWidthFactor` (metres, or a fraction of the screen height).
    pub outline_width: f32,
    /// `outlineWidthMultiplyTexture` / `_OutlineWidthTexture`: its G channel (0.x read R; the
    /// same in the usual grey masks).
    pub outline_width_texture: Option<TextureRef>,
    /// `outlineColorFactor` / `_OutlineColor`.
    pub outline_color: Vec3,
    /// `outlineLightingMixFactor` (`_OutlineLightingMix` when `_OutlineColorMode` is mixed).
    pub outline_lighting_mix: f32,
    /// `uvAnimationMaskTexture` / `_UvAnimMaskTexture`.
    pub uv_mask_texture: Option<TextureRef>,
    /// UV scroll speed (UV units per second), X and Y.
    pub uv_scroll: [f32; 2],
    /// UV rotation speed (radians per second, about the UV centre).
    pub uv_rotation: f32,
    /// Alpha mode and cutoff.
    pub alpha: MToonAlpha,
    /// Both faces drawn (no culling).
    pub double_sided: bool,
    /// Front faces culled (VRM 0.x `_CullMode` = 1), for inside-out shells.
    pub cull_front: bool,
    /// `renderQueueOffsetNumber` (−9..9 for blended materials; 0 otherwise).
    pub render_queue_offset: i32,
}

impl Default for MToon {
    /// The specification's defaults.
    fn default() -> Self {
        MToon {
            name: String::new(),
            lit_color: Vec4::ONE,
            lit_texture: None,
            shade_color: Vec3::ZERO,
            shade_texture: None,
            shading_shift: 0.0,
            shading_shift_texture: None,
            shading_toony: 0.9,
            gi_equalization: 0.9,
            emissive: Vec3::ZERO,
            emissive_texture: None,
            matcap_color: Vec3::ONE,
            matcap_texture: None,
            rim_color: Vec3::ZERO,
            rim_fresnel_power: 5.0,
            rim_lift: 0.0,
            rim_lighting_mix: 1.0,
            rim_texture: None,
            outline_mode: OutlineWidthMode::None,
            outline_width: 0.0,
            outline_width_texture: None,
            outline_color: Vec3::ZERO,
            outline_lighting_mix: 1.0,
            uv_mask_texture: None,
            uv_scroll: [0.0, 0.0],
            uv_rotation: 0.0,
            alpha: MToonAlpha::Opaque,
            double_sided: false,
            cull_front: false,
            render_queue_offset: 0,
        }
    }
}

impl MToon {
    /// Whether the material draws an outline.
    pub fn has_outline(&self) -> bool {
        self.outline_mode != OutlineWidthMode::None && self.outline_width > 0.0
    }
}

/// sRGB (gamma) to linear, per channel.
fn gamma_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn finite(v: &Value) -> Option<f32> {
    v.as_f64().map(|x| x as f32).filter(|x| x.is_finite())
}

fn vec3_of(v: &Value, default: Vec3) -> Vec3 {
    match v.as_array() {
        Some(a) if a.len() >= 3 => {
            let c = |i: usize| finite(&a[i]).unwrap_or(default[i]);
            Vec3::new(c(0), c(1), c(2))
        }
        _ => default,
    }
}

fn vec4_of(v: &Value, default: Vec4) -> Vec4 {
    match v.as_array() {
        Some(a) if a.len() >= 4 => {
            let c = |i: usize| finite(&a[i]).unwrap_or(default[i]);
            Vec4::new(c(0), c(1), c(2), c(3))
        }
        _ => default,
    }
}

/// A glTF `textureInfo` (`{"index": n, "texCoord": m}`), if it names a texture the file has.
fn texture_info(v: &Value, textures: usize) -> Option<TextureRef> {
    let index = v["index"].as_u64()? as usize;
    (index < textures).then_some(TextureRef {
        index,
        tex_coord: v["texCoord"].as_u64().unwrap_or(0).min(1) as u32,
    })
}

/// The MToon parameters of every material of a glTF JSON, by material index (`None` for
/// materials that are not MToon). VRM 1.0's extension wins over VRM 0.x properties.
pub(super) fn read(json: &Value) -> Vec<Option<MToon>> {
    let materials = json["materials"].as_array().cloned().unwrap_or_default();
    let textures = json["textures"].as_array().map(Vec::len).unwrap_or(0);
    let v0 = json["extensions"]["VRM"]["materialProperties"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    materials
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let ext = &m["extensions"]["VRMC_materials_mtoon"];
            if ext.is_object() {
                Some(vrm1(m, ext, textures))
            } else {
                v0.get(i)
                    .filter(|p| p["shader"].as_str() == Some("VRM/MToon"))
                    .map(|p| vrm0(p, textures))
            }
        })
        .collect()
}

/// A VRM 1.0 material: the core glTF material and its `VRMC_materials_mtoon` extension.
fn vrm1(m: &Value, ext: &Value, textures: usize) -> MToon {
    let d = MToon::default();
    let tex = |key: &str| texture_info(&ext[key], textures);
    let pbr = &m["pbrMetallicRoughness"];
    let emissive_strength = f32_of(
        &m["extensions"]["KHR_materials_emissive_strength"]["emissiveStrength"],
        1.0,
    );
    let alpha = match m["alphaMode"].as_str() {
        Some("MASK") => MToonAlpha::Mask(f32_of(&m["alphaCutoff"], 0.5)),
        Some("BLEND") => MToonAlpha::Blend {
            z_write: ext["transparentWithZWrite"].as_bool().unwrap_or(false),
        },
        _ => MToonAlpha::Opaque,
    };
    let blended = matches!(alpha, MToonAlpha::Blend { .. });
    MToon {
        name: m["name"].as_str().unwrap_or_default().to_string(),
        lit_color: vec4_of(&pbr["baseColorFactor"], d.lit_color),
        lit_texture: texture_info(&pbr["baseColorTexture"], textures),
        shade_color: vec3_of(&ext["shadeColorFactor"], d.shade_color),
        shade_texture: tex("shadeMultiplyTexture"),
        shading_shift: f32_of(&ext["shadingShiftFactor"], d.shading_shift),
        shading_shift_texture: tex("shadingShiftTexture")
            .map(|t| (t, f32_of(&ext["shadingShiftTexture"]["scale"], 1.0))),
        shading_toony: f32_of(&ext["shadingToonyFactor"], d.shading_toony).clamp(0.0, 1.0),
        gi_equalization: f32_of(&ext["giEqualizationFactor"], d.gi_equalization).clamp(0.0, 1.0),
        emissive: vec3_of(&m["emissiveFactor"], Vec3::ZERO) * emissive_strength,
        emissive_texture: texture_info(&m["emissiveTexture"], textures),
        matcap_color: vec3_of(&ext["matcapFactor"], d.matcap_color),
        matcap_texture: tex("matcapTexture"),
        rim_color: vec3_of(&ext["parametricRimColorFactor"], d.rim_color),
        rim_fresnel_power: f32_of(&ext["parametricRimFresnelPowerFactor"], d.rim_fresnel_power)
            .max(0.0),
        rim_lift: f32_of(&ext["parametricRimLiftFactor"], d.rim_lift),
        rim_lighting_mix: f32_of(&ext["rimLightingMixFactor"], d.rim_lighting_mix).clamp(0.0, 1.0),
        rim_texture: tex("rimMultiplyTexture"),
        outline_mode: match ext["outlineWidthMode"].as_str() {
            Some("worldCoordinates") => OutlineWidthMode::World,
            Some("screenCoordinates") => OutlineWidthMode::Screen,
            _ => OutlineWidthMode::None,
        },
        outline_width: f32_of(&ext["outlineWidthFactor"], 0.0).max(0.0),
        outline_width_texture: tex("outlineWidthMultiplyTexture"),
        outline_color: vec3_of(&ext["outlineColorFactor"], d.outline_color),
        outline_lighting_mix: f32_of(&ext["outlineLightingMixFactor"], d.outline_lighting_mix)
            .clamp(0.0, 1.0),
        uv_mask_texture: tex("uvAnimationMaskTexture"),
        uv_scroll: [
            f32_of(&ext["uvAnimationScrollXSpeedFactor"], 0.0),
            f32_of(&ext["uvAnimationScrollYSpeedFactor"], 0.0),
        ],
        uv_rotation: f32_of(&ext["uvAnimationRotationSpeedFactor"], 0.0),
        alpha,
        double_sided: m["doubleSided"].as_bool().unwrap_or(false),
        cull_front: false,
        render_queue_offset: if blended {
            (f32_of(&ext["renderQueueOffsetNumber"], 0.0) as i32).clamp(-9, 9)
        } else {
            0
        },
    }
}

/// A VRM 0.x `materialProperties` entry of shader `VRM/MToon`.
fn vrm0(p: &Value, textures: usize) -> MToon {
    let float = |key: &str, default: f32| f32_of(&p["floatProperties"][key], default);
    let color = |key: &str, default: Vec4| {
        let c = vec4_of(&p["vectorProperties"][key], default);
        Vec4::new(
            gamma_to_linear(c.x),
            gamma_to_linear(c.y),
            gamma_to_linear(c.z),
            c.w,
        )
    };
    let tex = |key: &str| {
        let index = p["textureProperties"][key].as_u64()? as usize;
        (index < textures).then_some(TextureRef {
            index,
            tex_coord: 0,
        })
    };
    let keyword = |key: &str| p["keywordMap"][key].as_bool().unwrap_or(false);
    // _BlendMode: 0 opaque, 1 cutout, 2 transparent, 3 transparent with z-write; the keywords
    // say the same for files without it.
    let blend_mode = match p["floatProperties"]["_BlendMode"].as_f64() {
        Some(m) => m as i32,
        None if keyword("_ALPHABLEND_ON") => 2 + (float("_ZWrite", 0.0) == 1.0) as i32,
        None if keyword("_ALPHATEST_ON") => 1,
        None => 0,
    };
    let alpha = match blend_mode {
        1 => MToonAlpha::Mask(float("_Cutoff", 0.5)),
        2 => MToonAlpha::Blend { z_write: false },
        3 => MToonAlpha::Blend { z_write: true },
        _ => MToonAlpha::Opaque,
    };
    let render_queue_offset = match (alpha, p["renderQueue"].as_i64()) {
        (MToonAlpha::Blend { z_write }, Some(q)) if q >= 0 => {
            let base = if z_write { 2501 } else { 3000 };
            (q - base).clamp(-9, 9) as i32
        }
        _ => 0,
    };
    // MToon 0.x's step runs from shift to shift + (1 − toony) over N·L in [-1, 1]; 1.0 spells
    // the same step with a toony factor over the lit side and a shift of its own.
    let shift0 = float("_ShadeShift", 0.0);
    let toony0 = float("_ShadeToony", 0.9);
    let shading_toony = (toony0 + (1.0 - toony0) * (0.5 + 0.5 * shift0)).clamp(0.0, 1.0);
    let shading_shift = -shift0 - (1.0 - shading_toony);
    let gi = float("_IndirectLightIntensity", 0.1);
    let lit = color("_Color", Vec4::ONE);
    let cull = float("_CullMode", 2.0) as i32;
    let matcap_texture = tex("_SphereAdd");
    MToon {
        name: p["name"].as_str().unwrap_or_default().to_string(),
        lit_color: lit,
        lit_texture: tex("_MainTex"),
        shade_color: color("_ShadeColor", Vec4::new(0.97, 0.81, 0.86, 1.0)).truncate(),
        shade_texture: tex("_ShadeTexture"),
        shading_shift,
        shading_shift_texture: None,
        shading_toony,
        gi_equalization: (1.0 - gi).clamp(0.0, 1.0),
        emissive: color("_EmissionColor", Vec4::new(0.0, 0.0, 0.0, 1.0)).truncate(),
        emissive_texture: tex("_EmissionMap"),
        matcap_color: if matcap_texture.is_some() {
            Vec3::ONE
        } else {
            Vec3::ZERO
        },
        matcap_texture,
        rim_color: color("_RimColor", Vec4::new(0.0, 0.0, 0.0, 1.0)).truncate(),
        rim_fresnel_power: float("_RimFresnelPower", 1.0).max(0.0),
        rim_lift: float("_RimLift", 0.0),
        rim_lighting_mix: float("_RimLightingMix", 0.0).clamp(0.0, 1.0),
        rim_texture: tex("_RimTexture"),
        outline_mode: match float("_OutlineWidthMode", 0.0) as i32 {
            1 => OutlineWidthMode::World,
            2 => OutlineWidthMode::Screen,
            _ => OutlineWidthMode::None,
        },
        outline_width: (0.01 * float("_OutlineWidth", 0.0)).max(0.0),
        outline_width_texture: tex("_OutlineWidthTexture"),
        outline_color: color("_OutlineColor", Vec4::new(0.0, 0.0, 0.0, 1.0)).truncate(),
        outline_lighting_mix: if float("_OutlineColorMode", 0.0) as i32 == 1 {
            float("_OutlineLightingMix", 1.0).clamp(0.0, 1.0)
        } else {
            0.0
        },
        uv_mask_texture: tex("_UvAnimMaskTexture"),
        uv_scroll: [float("_UvAnimScrollX", 0.0), 0.0 - float("_UvAnimScrollY", 0.0)],
        uv_rotation: float("_UvAnimRotation", 0.0) * std::f32::consts::TAU,
        alpha,
        double_sided: cull == 0,
        cull_front: cull == 1,
        render_queue_offset,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;
    use crate::avatar::AvatarFile;

    fn shared(name: &str) -> Option<PathBuf> {
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

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn vrm1_uv_animation_sample_reads_scroll_and_rotation() {
        let Some(path) = shared("VRMC_materials_mtoon_UV_Animation_Test.vrm") else {
            return;
        };
        let a = AvatarFile::load(&path).unwrap();
        let m: Vec<&MToon> = a.materials.iter().map(|m| m.as_ref().unwrap()).collect();
        assert_eq!(m.len(), 3);
        let names: Vec<&str> = m.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["ScrollX", "ScrollY", "ScrollRot"]);
        assert_eq!(m[0].uv_scroll, [1.0, 0.0]);
        assert_eq!(m[1].uv_scroll, [0.0, 1.0]);
        assert_eq!((m[2].uv_scroll, m[2].uv_rotation), ([0.0, 0.0], 1.0));
        assert_eq!((m[0].uv_rotation, m[1].uv_rotation), (0.0, 0.0));
        for (i, m) in m.iter().enumerate() {
            assert_eq!(m.shade_color, Vec3::ONE, "{}", m.name);
            assert_eq!(m.shade_texture.map(|t| t.index), Some(i));
            assert_eq!(m.lit_texture.map(|t| t.index), Some(i));
            assert_eq!(m.lit_color, Vec4::ONE);
            assert!(m.double_sided);
            assert_eq!(m.alpha, MToonAlpha::Opaque);
            // What the file leaves out takes the specification's defaults.
            assert_eq!((m.shading_toony, m.gi_equalization), (0.9, 0.9));
            assert_eq!((m.rim_fresnel_power, m.rim_lighting_mix), (5.0, 1.0));
            assert!(!m.has_outline());
        }
    }

    #[test]
    fn vrm0_avatar_reads_mtoon_properties_ported_to_1_0() {
        let Some(path) = shared("cool_loops.vrm") else {
            return;
        };
        let a = AvatarFile::load(&path).unwrap();
        assert_eq!(a.materials.len(), 1);
        let m = a.materials[0].as_ref().expect("material 0 is VRM/MToon");
        assert_eq!(m.name, "106");
        assert_eq!(m.lit_color, Vec4::ONE);
        assert_eq!(m.lit_texture.map(|t| t.index), Some(0));
        assert_eq!(m.shade_texture.map(|t| t.index), Some(0));
        // _ShadeColor (0.97, 0.81, 0.86) in gamma space, read as linear.
        assert!(close(m.shade_color.x, 0.9331), "{}", m.shade_color);
        assert!(close(m.shade_color.y, 0.6209), "{}", m.shade_color);
        assert!(close(m.shade_color.z, 0.7106), "{}", m.shade_color);
        // _ShadeToony 0.9, _ShadeShift 0 → toony 0.95, shift −0.05.
        assert!(close(m.shading_toony, 0.95), "{}", m.shading_toony);
        assert!(close(m.shading_shift, -0.05), "{}", m.shading_shift);
        assert!(close(m.gi_equalization, 0.9));
        assert_eq!(m.outline_mode, OutlineWidthMode::None);
        assert!(close(m.outline_width, 0.005));
        assert_eq!(m.outline_lighting_mix, 0.0, "_OutlineColorMode 0 is fixed");
        assert_eq!((m.rim_fresnel_power, m.rim_lighting_mix), (1.0, 0.0));
        assert_eq!(m.matcap_color, Vec3::ZERO, "no _SphereAdd");
        assert_eq!(m.alpha, MToonAlpha::Opaque);
        assert!(!m.double_sided && !m.cull_front);
    }

    #[test]
    fn vrm1_file_without_mtoon_has_no_mtoon_materials() {
        let Some(path) = shared("VRMC_vrm_expressions_isBinary_Overrides.vrm") else {
            return;
        };
        let a = AvatarFile::load(&path).unwrap();
        assert_eq!(a.materials.len(), 4);
        assert!(a.materials.iter().all(Option::is_none));
    }

    #[test]
    fn vrm1_extension_reads_every_parameter() {
        let doc = json!({
            "textures": [{}, {}, {}, {}, {}, {}, {}, {}],
            "materials": [{
                "name": "Skin", "alphaMode": "BLEND", "doubleSided": false,
                "pbrMetallicRoughness": { "baseColorFactor": [0.5, 0.6, 0.7, 0.8],
                                          "baseColorTexture": { "index": 1, "texCoord": 1 } },
                "emissiveFactor": [0.1, 0.2, 0.3], "emissiveTexture": { "index": 6 },
                "extensions": {
                    "KHR_materials_emissive_strength": { "emissiveStrength": 2.0 },
                    "VRMC_materials_mtoon": {
                        "specVersion": "1.0", "transparentWithZWrite": true,
                        "renderQueueOffsetNumber": 3,
                        "shadeColorFactor": [0.1, 0.1, 0.2], "shadeMultiplyTexture": { "index": 2 },
                        "shadingShiftFactor": -0.2,
                        "shadingShiftTexture": { "index": 3, "scale": 0.5 },
                        "shadingToonyFactor": 0.95, "giEqualizationFactor": 0.4,
                        "matcapFactor": [0.5, 0.5, 0.5], "matcapTexture": { "index": 7 },
                        "parametricRimColorFactor": [0.3, 0.2, 0.1],
                        "parametricRimFresnelPowerFactor": 4, "parametricRimLiftFactor": 0.2,
                        "rimLightingMixFactor": 0.25, "rimMultiplyTexture": { "index": 4 },
                        "outlineWidthMode": "screenCoordinates", "outlineWidthFactor": 0.004,
                        "outlineWidthMultiplyTexture": { "index": 5 },
                        "outlineColorFactor": [0.05, 0.0, 0.1], "outlineLightingMixFactor": 0.75,
                        "uvAnimationMaskTexture": { "index": 0 },
                        "uvAnimationScrollXSpeedFactor": 0.5, "uvAnimationScrollYSpeedFactor": -0.25,
                        "uvAnimationRotationSpeedFactor": 2.0
                    }
                }
            }, { "name": "plain" }]
        });
        let ms = read(&doc);
        assert_eq!(ms.len(), 2);
        assert!(
            ms[1].is_none(),
            "a material without the extension stays PBR"
        );
        let m = ms[0].as_ref().unwrap();
        let t = |index| {
            Some(TextureRef {
                index,
                tex_coord: 0,
            })
        };
        assert_eq!(m.lit_color, Vec4::new(0.5, 0.6, 0.7, 0.8));
        assert_eq!(
            m.lit_texture,
            Some(TextureRef {
                index: 1,
                tex_coord: 1
            })
        );
        assert_eq!(m.alpha, MToonAlpha::Blend { z_write: true });
        assert_eq!(m.render_queue_offset, 3);
        assert_eq!(
            (m.shade_color, m.shade_texture),
            (Vec3::new(0.1, 0.1, 0.2), t(2))
        );
        assert_eq!(m.shading_shift, -0.2);
        assert_eq!(m.shading_shift_texture, Some((t(3).unwrap(), 0.5)));
        assert_eq!((m.shading_toony, m.gi_equalization), (0.95, 0.4));
        assert!(m.emissive.abs_diff_eq(Vec3::new(0.2, 0.4, 0.6), 1e-6));
        assert_eq!(m.emissive_texture, t(6));
        assert_eq!((m.matcap_color, m.matcap_texture), (Vec3::splat(0.5), t(7)));
        assert_eq!(m.rim_color, Vec3::new(0.3, 0.2, 0.1));
        assert_eq!(
            (m.rim_fresnel_power, m.rim_lift, m.rim_lighting_mix),
            (4.0, 0.2, 0.25)
        );
        assert_eq!(m.rim_texture, t(4));
        assert_eq!(m.outline_mode, OutlineWidthMode::Screen);
        assert_eq!((m.outline_width, m.outline_width_texture), (0.004, t(5)));
        assert_eq!(m.outline_color, Vec3::new(0.05, 0.0, 0.1));
        assert_eq!(m.outline_lighting_mix, 0.75);
        assert_eq!(m.uv_mask_texture, t(0));
        assert_eq!((m.uv_scroll, m.uv_rotation), ([0.5, -0.25], 2.0));
        assert!(!m.double_sided);
        assert!(m.has_outline());
    }

    #[test]
    fn vrm0_properties_port_blend_cull_outline_and_uv_animation() {
        let doc = json!({
            "textures": [{}, {}],
            "materials": [{ "name": "Hair" }, { "name": "Eye" }, { "name": "Lens" }],
            "extensions": { "VRM": { "materialProperties": [
                { "name": "Hair", "shader": "VRM/MToon", "renderQueue": 3002,
                  "floatProperties": { "_BlendMode": 2, "_CullMode": 0, "_ShadeToony": 1.0,
                      "_ShadeShift": -0.5, "_OutlineWidthMode": 2, "_OutlineWidth": 0.3,
                      "_OutlineColorMode": 1, "_OutlineLightingMix": 0.6,
                      "_UvAnimScrollX": 0.25, "_UvAnimScrollY": 0.5, "_UvAnimRotation": 0.5,
                      "_IndirectLightIntensity": 0.3 },
                  "vectorProperties": { "_Color": [0.5, 0.5, 0.5, 0.5],
                      "_OutlineColor": [1.0, 0.0, 0.0, 1.0], "_RimColor": [0.2, 0.2, 0.2, 1] },
                  "textureProperties": { "_SphereAdd": 1, "_ShadeTexture": 9 } },
                { "name": "Eye", "shader": "VRM/UnlitTexture" },
                { "name": "Lens", "shader": "VRM/MToon",
                  "floatProperties": { "_BlendMode": 1, "_Cutoff": 0.3, "_CullMode": 1,
                      "_OutlineWidthMode": 1, "_OutlineWidth": 0.2 },
                  "vectorProperties": { "_Color": "red" } }
            ] } }
        });
        let ms = read(&doc);
        assert!(ms[1].is_none(), "other VRM 0.x shaders stay PBR");
        let hair = ms[0].as_ref().unwrap();
        assert_eq!(hair.alpha, MToonAlpha::Blend { z_write: false });
        assert_eq!(hair.render_queue_offset, 2);
        assert!(hair.double_sided && !hair.cull_front);
        assert!(close(hair.lit_color.x, 0.2140) && close(hair.lit_color.w, 0.5));
        assert_eq!((hair.shading_toony, hair.shading_shift), (1.0, 0.5));
        assert!(close(hair.gi_equalization, 0.7));
        assert_eq!(hair.outline_mode, OutlineWidthMode::Screen);
        assert!(close(hair.outline_width, 0.003));
        assert_eq!(hair.outline_color, Vec3::new(1.0, 0.0, 0.0));
        assert!(close(hair.outline_lighting_mix, 0.6));
        assert_eq!(hair.uv_scroll, [0.25, -0.5], "Unity's V runs up");
        assert!(
            close(hair.uv_rotation, std::f32::consts::PI),
            "half a turn a second"
        );
        assert_eq!(hair.matcap_texture.map(|t| t.index), Some(1));
        assert_eq!(hair.matcap_color, Vec3::ONE);
        assert_eq!(hair.shade_texture, None, "texture 9 does not exist");
        assert!(close(hair.rim_color.x, 0.0331));
        let lens = ms[2].as_ref().unwrap();
        assert_eq!(lens.alpha, MToonAlpha::Mask(0.3));
        assert!(lens.cull_front && !lens.double_sided);
        assert_eq!(lens.outline_mode, OutlineWidthMode::World);
        assert!(close(lens.outline_width, 0.002));
        assert_eq!(
            lens.lit_color,
            Vec4::ONE,
            "a colour that is not a list keeps the default"
        );
        assert_eq!(lens.render_queue_offset, 0);
    }

    #[test]
    fn missing_or_odd_material_json_reads_without_panicking() {
        assert!(read(&json!({})).is_empty());
        let ms = read(&json!({ "materials": [
            { "extensions": { "VRMC_materials_mtoon": { "shadingToonyFactor": 7,
                "outlineWidthFactor": -1, "outlineWidthMode": 3, "shadeColorFactor": [1] } } }
        ] }));
        let m = ms[0].as_ref().unwrap();
        assert_eq!(m.shading_toony, 1.0);
        assert_eq!(m.shade_color, Vec3::ZERO);
        assert!(!m.has_outline());
    }
}
