//! Keying: the stage picture without its background, for compositing.
//!
//! With a [`Backdrop`] other than [`BackdropFill::Stage`], the stage camera clears to
//! transparent and renders without bloom, so the rendered image carries coverage in its alpha
//! channel: 0 where nothing was drawn, 1 on the performer, in between on anti-aliased edges.
//! The colours come out premultiplied by that coverage in linear light (MSAA resolves average
//! the transparent clear into edge pixels before tonemapping; the sRGB target then encodes
//! them). A key colour is then laid under the picture on the CPU ([`key_over`]), after
//! tonemapping, so the background is exactly the key colour: no bloom glow and no tone curve
//! touches it. Set pieces are marked [`SetPiece`] and hidden per [`SetVisibility`]; the lights
//! stay, so the performer is lit the same with or without her set.

use bevy::post_process::bloom::Bloom;
use bevy::prelude::*;

/// What fills the picture behind the performer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackdropFill {
    /// The stage as lit (the normal show).
    #[default]
    Stage,
    /// Transparent: alpha 0 behind the performer (PNG, ProRes 4444, VP9 with alpha).
    Transparent,
    /// A solid key colour (sRGB bytes) for chroma keying.
    Key([u8; 3]),
}

impl BackdropFill {
    /// Parses `stage`, `transparent`/`alpha`, `green`, `blue`, `magenta`, or a hex colour
    /// (`#00b140`, `00b140`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        Ok(match t.as_str() {
            "stage" => Self::Stage,
            "transparent" | "alpha" | "none" => Self::Transparent,
            "green" => Self::Key([0, 177, 64]),
            "blue" => Self::Key([0, 71, 187]),
            "magenta" => Self::Key([255, 0, 255]),
            _ => {
                let hex = t.trim_start_matches('#');
                let bad = || {
                    format!(
                        "background \"{text}\": expected stage, transparent, green, blue, magenta or a hex colour like #00b140"
                    )
                };
                if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
                Self::Key([byte(0)?, byte(2)?, byte(4)?])
            }
        })
    }

    /// Whether the stage camera renders with a transparent background.
    pub fn is_keyed(self) -> bool {
        self != Self::Stage
    }
}

/// How much of the set stays visible when the background is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetVisibility {
    /// The whole set: proscenium, curtains, lanterns, floor. Only the dark house around the
    /// stage is keyed.
    #[default]
    Full,
    /// The performer and the stage floor she stands on (with her shadow).
    Floor,
    /// The performer alone.
    PerformerOnly,
}

impl SetVisibility {
    /// Parses `full`, `floor` or `performer`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" | "stage" => Ok(Self::Full),
            "floor" | "shadow" => Ok(Self::Floor),
            "performer" | "none" => Ok(Self::PerformerOnly),
            _ => Err(format!("set \"{text}\": expected full, floor or performer")),
        }
    }
}

/// The backdrop of the program picture: what fills the background and which set pieces show.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backdrop {
    /// What fills the background.
    pub fill: BackdropFill,
    /// Which parts of the set are drawn.
    pub set: SetVisibility,
}

/// Which part of the set a set entity is, for hiding it when the background is keyed.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetPiece {
    /// The house: the black box and floor around the stage. Hidden whenever the background
    /// is keyed (it is the "sky" that the key replaces).
    House,
    /// The stage floor the performer stands on (the raised stage, its lip and the carpet): kept
    /// by [`SetVisibility::Full`] and [`SetVisibility::Floor`].
    StageFloor,
    /// Everything else on stage (curtains, doors, table and chairs, proscenium, lantern
    /// bodies): kept by [`SetVisibility::Full`] only.
    Scenery,
}

impl SetPiece {
    /// Whether this piece is drawn under `backdrop`. Lights are never set pieces: the
    /// performer stays lit whatever is hidden.
    pub fn visible(self, backdrop: &Backdrop) -> bool {
        if !backdrop.fill.is_keyed() {
            return true;
        }
        match self {
            Self::House => false,
            Self::StageFloor => backdrop.set != SetVisibility::PerformerOnly,
            Self::Scenery => backdrop.set == SetVisibility::Full,
        }
    }
}

/// The stage camera's clear colour when the stage is not keyed (the dark of the house).
pub(crate) const HOUSE_CLEAR: Color = Color::srgb(0.01, 0.01, 0.012);

/// Applies the [`Backdrop`] to the stage camera (transparent clear and no bloom when keyed)
/// and to the set pieces (hidden per [`SetVisibility`]). Runs when the backdrop changes and
/// when the camera or set pieces appear.
pub(crate) fn apply_backdrop(
    mut commands: Commands,
    backdrop: Res<Backdrop>,
    quality: Res<crate::StageQuality>,
    mut cameras: Query<(Entity, &mut Camera, Has<Bloom>), With<crate::StageCamera>>,
    new_cameras: Query<(), Added<crate::StageCamera>>,
    new_pieces: Query<(), Added<SetPiece>>,
    mut pieces: Query<(&SetPiece, &mut Visibility)>,
) {
    if !backdrop.is_changed()
        && !quality.is_changed()
        && new_cameras.is_empty()
        && new_pieces.is_empty()
    {
        return;
    }
    let keyed = backdrop.fill.is_keyed();
    let bloom = quality.bloom && !keyed;
    for (entity, mut camera, has_bloom) in &mut cameras {
        camera.clear_color =
            ClearColorConfig::Custom(if keyed { Color::NONE } else { HOUSE_CLEAR });
        // Glow spreads colour into pixels whose alpha stays 0: it cannot be keyed.
        if !bloom && has_bloom {
            commands.entity(entity).remove::<Bloom>();
        } else if bloom && !has_bloom {
            commands.entity(entity).insert(Bloom::NATURAL);
        }
    }
    for (piece, mut visibility) in &mut pieces {
        let want = if piece.visible(&backdrop) {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        visibility.set_if_neq(want);
    }
}

// The rendered image is an sRGB texture holding the tonemapped picture, premultiplied in linear
// light (MSAA resolves and blending happen in linear HDR before encoding). Keying arithmetic
// therefore decodes to linear light, works there, and encodes back.

fn srgb_to_linear_table() -> &'static [f32; 256] {
    static TABLE: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [0.0; 256];
        for (i, v) in table.iter_mut().enumerate() {
            let c = i as f32 / 255.0;
            *v = if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            };
        }
        table
    })
}

fn linear_to_srgb(v: f32) -> u8 {
    let v = v.clamp(0.0, 1.0);
    let c = if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    };
    (c * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

/// Lays `key` under a premultiplied RGBA8 picture (sRGB-encoded, premultiplied in linear
/// light, as the stage camera renders it), in place: the result is opaque, exactly `key` where
/// the picture is transparent, the picture where it is opaque, and blended in linear light on
/// anti-aliased edges.
pub fn key_over(rgba: &mut [u8], key: [u8; 3]) {
    let lut = srgb_to_linear_table();
    let key_linear = key.map(|k| lut[k as usize]);
    for px in rgba.chunks_exact_mut(4) {
        let a = px[3];
        if a == 255 {
            continue;
        }
        if a == 0 {
            // No coverage. The colour of such pixels is not always 0: the tonemapper's deband
            // dither adds a little noise to every pixel, covered or not.
            px[..3].copy_from_slice(&key);
        } else {
            let under = 1.0 - a as f32 / 255.0;
            for c in 0..3 {
                px[c] = linear_to_srgb(lut[px[c] as usize] + key_linear[c] * under);
            }
        }
        px[3] = 255;
    }
}

/// Turns a premultiplied RGBA8 picture (sRGB-encoded, premultiplied in linear light) into
/// straight alpha (what PNG and video codecs store), in place. Fully transparent pixels become
/// transparent black.
pub fn unpremultiply(rgba: &mut [u8]) {
    let lut = srgb_to_linear_table();
    for px in rgba.chunks_exact_mut(4) {
        match px[3] {
            255 => {}
            0 => px[..3].fill(0),
            a => {
                let a = a as f32 / 255.0;
                for c in 0..3 {
                    px[c] = linear_to_srgb(lut[px[c] as usize] / a);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_fills_transparent_pixels_exactly_and_keeps_opaque_ones() {
        let mut px = vec![0, 0, 0, 0, 200, 10, 20, 255, 100, 0, 0, 128, 1, 0, 2, 0];
        key_over(&mut px, [0, 177, 64]);
        assert_eq!(&px[0..4], &[0, 177, 64, 255]);
        assert_eq!(
            &px[12..16],
            &[0, 177, 64, 255],
            "dither noise without coverage"
        );
        assert_eq!(&px[4..8], &[200, 10, 20, 255]);
        // Half coverage: the picture (already premultiplied) plus half the key, in linear light.
        assert_eq!(px[8], 100);
        let half_key = linear_to_srgb(srgb_to_linear_table()[177] * (1.0 - 128.0 / 255.0));
        assert!((px[9] as i32 - half_key as i32).abs() <= 1, "{}", px[9]);
        assert!(
            px[9] > 88,
            "a linear blend is brighter than a byte blend: {}",
            px[9]
        );
        assert_eq!(px[11], 255);
    }

    #[test]
    fn unpremultiply_restores_straight_colour() {
        // A straight sRGB 188 (linear 0.5) at half coverage renders as linear 0.25: sRGB 137.
        let mut px = vec![137, 0, 255, 128, 9, 9, 9, 0, 10, 20, 30, 255];
        unpremultiply(&mut px);
        assert!((px[0] as i32 - 188).abs() <= 1, "{}", px[0]);
        assert_eq!(px[1], 0);
        assert_eq!(px[2], 255);
        assert_eq!(px[3], 128);
        assert_eq!(&px[4..8], &[0, 0, 0, 0]);
        assert_eq!(&px[8..12], &[10, 20, 30, 255]);
    }

    #[test]
    fn srgb_bytes_survive_a_trip_through_linear_light() {
        let lut = srgb_to_linear_table();
        for b in 0..=255u8 {
            assert_eq!(linear_to_srgb(lut[b as usize]), b);
        }
    }

    #[test]
    fn set_pieces_hide_only_when_keyed() {
        let keyed = |set| Backdrop {
            fill: BackdropFill::Transparent,
            set,
        };
        let stage = Backdrop {
            fill: BackdropFill::Stage,
            set: SetVisibility::PerformerOnly,
        };
        for piece in [SetPiece::House, SetPiece::StageFloor, SetPiece::Scenery] {
            assert!(piece.visible(&stage), "{piece:?} shows on the plain stage");
            assert!(!piece.visible(&keyed(SetVisibility::PerformerOnly)));
        }
        assert!(!SetPiece::House.visible(&keyed(SetVisibility::Full)));
        assert!(SetPiece::Scenery.visible(&keyed(SetVisibility::Full)));
        assert!(SetPiece::StageFloor.visible(&keyed(SetVisibility::Floor)));
        assert!(!SetPiece::Scenery.visible(&keyed(SetVisibility::Floor)));
    }

    #[test]
    fn backgrounds_parse_by_name_and_hex() {
        assert_eq!(
            BackdropFill::parse("green").unwrap(),
            BackdropFill::Key([0, 177, 64])
        );
        assert_eq!(
            BackdropFill::parse("#FF0010").unwrap(),
            BackdropFill::Key([255, 0, 16])
        );
        assert_eq!(
            BackdropFill::parse("transparent").unwrap(),
            BackdropFill::Transparent
        );
        assert!(BackdropFill::parse("#12").unwrap_err().contains("#12"));
        assert_eq!(
            SetVisibility::parse("performer").unwrap(),
            SetVisibility::PerformerOnly
        );
    }
}
