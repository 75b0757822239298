//! Keying: the stage picture without its background, for compositing.
//!
//! With a [`Backdrop`] other than [`BackdropFill::Stage`], the stage camera clears to
//! transparent and renders without bloom, so the rendered image carries coverage in its alpha
//! channel: 0 where nothing was drawn, 1 on the performer, in between on anti-aliased edges.
//! The colours come out premultiplied by that coverage (MSAA resolves average the transparent
//! clear into edge pixels). A key colour is then laid under the picture on the CPU
//! ([`key_over`]), after tonemapping, so the background is exactly the key colour: no bloom
//! glow and no tone curve touches it.

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
    /// The whole set: proscenium, curtains, lanterns, floor. Only the sky behind is keyed.
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
            _ => Err(format!(
                "set \"{text}\": expected full, floor or performer"
            )),
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

/// Lays `key` under a premultiplied RGBA8 picture, in place: the result is opaque, exactly
/// `key` where the picture is transparent, the picture where it is opaque, and blended on edges.
pub fn key_over(rgba: &mut [u8], key: [u8; 3]) {
    for px in rgba.chunks_exact_mut(4) {
        let a = px[3] as u32;
        if a == 255 {
            continue;
        }
        let under = 255 - a;
        for c in 0..3 {
            let v = px[c] as u32 + (key[c] as u32 * under + 127) / 255;
            px[c] = v.min(255) as u8;
        }
        px[3] = 255;
    }
}

/// Turns a premultiplied RGBA8 picture into straight alpha (what PNG and video codecs store),
/// in place. Fully transparent pixels become transparent black.
pub fn unpremultiply(rgba: &mut [u8]) {
    for px in rgba.chunks_exact_mut(4) {
        let a = px[3] as u32;
        match a {
            255 => {}
            0 => px[..3].fill(0),
            _ => {
                for c in 0..3 {
                    px[c] = ((px[c] as u32 * 255 + a / 2) / a).min(255) as u8;
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
        let mut px = vec![0, 0, 0, 0, 200, 10, 20, 255, 100, 0, 0, 128];
        key_over(&mut px, [0, 177, 64]);
        assert_eq!(&px[0..4], &[0, 177, 64, 255]);
        assert_eq!(&px[4..8], &[200, 10, 20, 255]);
        // Half coverage: half the picture (already premultiplied) plus half the key.
        assert_eq!(px[8], 100);
        assert!((px[9] as i32 - 88).abs() <= 1, "{}", px[9]);
        assert_eq!(px[11], 255);
    }

    #[test]
    fn unpremultiply_restores_straight_colour() {
        let mut px = vec![50, 25, 0, 128, 9, 9, 9, 0];
        unpremultiply(&mut px);
        assert!((px[0] as i32 - 100).abs() <= 1);
        assert_eq!(&px[4..8], &[0, 0, 0, 0]);
    }

    #[test]
    fn backgrounds_parse_by_name_and_hex() {
        assert_eq!(BackdropFill::parse("green").unwrap(), BackdropFill::Key([0, 177, 64]));
        assert_eq!(BackdropFill::parse("#FF0010").unwrap(), BackdropFill::Key([255, 0, 16]));
        assert_eq!(BackdropFill::parse("transparent").unwrap(), BackdropFill::Transparent);
        assert!(BackdropFill::parse("#12").unwrap_err().contains("#12"));
        assert_eq!(SetVisibility::parse("performer").unwrap(), SetVisibility::PerformerOnly);
    }
}
