//! Procedural textures for the set: embroidery, carving and brocade drawn by code, so the
//! project ships no image files and every pattern is reproducible.

use bevy::asset::RenderAssetUsages;
use bevy::image::Image;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

use crate::cjk::{self, CjkFont, Coverage};

type Rgb = [f32; 3];

const CRIMSON: Rgb = [0.48, 0.03, 0.05];
const DEEP_RED: Rgb = [0.32, 0.02, 0.03];
const GOLD: Rgb = [0.93, 0.70, 0.25];
const PALE_GOLD: Rgb = [1.0, 0.86, 0.5];
const PEONY: Rgb = [0.95, 0.55, 0.62];
const PEONY_DARK: Rgb = [0.78, 0.18, 0.32];
const JADE: Rgb = [0.12, 0.45, 0.38];
const KINGFISHER: Rgb = [0.08, 0.28, 0.55];
const CREAM: Rgb = [0.95, 0.9, 0.78];

/// An RGB float canvas with a few drawing primitives in pixel units.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<Rgb>,
}

impl Canvas {
    fn new(w: usize, h: usize, base: Rgb) -> Self {
        Self {
            w,
            h,
            px: vec![base; w * h],
        }
    }

    /// Applies `f(x, y, current) -> Option<new>` over a bounding box.
    fn paint(
        &mut self,
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        f: impl Fn(f32, f32, Rgb) -> Option<Rgb>,
    ) {
        let xa = x0.floor().max(0.0) as usize;
        let ya = y0.floor().max(0.0) as usize;
        let xb = (x1.ceil().max(0.0) as usize).min(self.w);
        let yb = (y1.ceil().max(0.0) as usize).min(self.h);
        for y in ya..yb {
            for x in xa..xb {
                let i = y * self.w + x;
                if let Some(c) = f(x as f32 + 0.5, y as f32 + 0.5, self.px[i]) {
                    self.px[i] = c;
                }
            }
        }
    }

    fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: Rgb) {
        self.paint(x0, y0, x1, y1, |_, _, _| Some(c));
    }

    /// A rectangular frame `t` pixels thick, inset `inset` from the edges.
    fn frame(&mut self, inset: f32, t: f32, c: Rgb) {
        let (w, h) = (self.w as f32, self.h as f32);
        self.rect(inset, inset, w - inset, inset + t, c);
        self.rect(inset, h - inset - t, w - inset, h - inset, c);
        self.rect(inset, inset, inset + t, h - inset, c);
        self.rect(w - inset - t, inset, w - inset, h - inset, c);
    }

    fn ring(&mut self, cx: f32, cy: f32, r: f32, t: f32, c: Rgb) {
        self.paint(cx - r - t, cy - r - t, cx + r + t, cy + r + t, |x, y, _| {
            let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
            ((d - r).abs() <= t / 2.0).then_some(c)
        });
    }

    fn disc(&mut self, cx: f32, cy: f32, r: f32, c: Rgb) {
        self.paint(cx - r, cy - r, cx + r, cy + r, |x, y, _| {
            ((x - cx).powi(2) + (y - cy).powi(2) <= r * r).then_some(c)
        });
    }

    /// A peony: layered petal rings with gold outlines and a golden heart.
    fn peony(&mut self, cx: f32, cy: f32, r: f32) {
        let layers = [
            (1.0, 7.0, 0.0, PEONY_DARK),
            (0.78, 6.0, 0.4, PEONY),
            (0.52, 5.0, 0.9, CREAM),
        ];
        for (scale, petals, turn, colour) in layers {
            let rr = r * scale;
            self.paint(cx - rr, cy - rr, cx + rr, cy + rr, |x, y, _| {
                let (dx, dy) = (x - cx, y - cy);
                let d = (dx * dx + dy * dy).sqrt();
                let a = dy.atan2(dx) + turn;
                let edge = rr * (0.72 + 0.28 * (a * petals).cos().abs().powf(0.6));
                if d <= edge {
                    let outline = edge - d < 1.6;
                    let vein = ((a * petals * 2.0).sin().abs() < 0.08) && d > rr * 0.3;
                    Some(if outline || vein {
                        GOLD
                    } else {
                        shade(colour, 0.75 + 0.25 * d / edge)
                    })
                } else {
                    None
                }
            });
        }
        self.disc(cx, cy, r * 0.16, GOLD);
        for k in 0..10 {
            let a = k as f32 * std::f32::consts::TAU / 10.0;
            self.disc(
                cx + a.cos() * r * 0.22,
                cy + a.sin() * r * 0.22,
                r * 0.04,
                PALE_GOLD,
            );
        }
    }

    /// An auspicious cloud (祥云): a spiral scroll in gold line.
    fn cloud(&mut self, cx: f32, cy: f32, r: f32, mirror: bool) {
        let t = (r * 0.12).max(1.5);
        let s = if mirror { -1.0 } else { 1.0 };
        self.paint(
            cx - 2.2 * r,
            cy - 1.3 * r,
            cx + 2.2 * r,
            cy + 1.3 * r,
            |x, y, _| {
                let mut hit = false;
                for (ox, rr) in [(-0.9f32, 0.55f32), (0.0, 0.8), (0.9, 0.55)] {
                    let (dx, dy) = ((x - cx) * s - ox * r, y - cy);
                    let d = (dx * dx + dy * dy).sqrt();
                    let a = dy.atan2(dx);
                    // An Archimedean spiral r = k (a + 2πn): near one of its turns?
                    let k = rr * r / (2.5 * std::f32::consts::TAU);
                    let turns = (d / k - a) / std::f32::consts::TAU;
                    let off = (turns - turns.round()).abs() * std::f32::consts::TAU * k;
                    if d < rr * r && off < t / 2.0 {
                        hit = true;
                    }
                }
                hit.then_some(GOLD)
            },
        );
    }

    /// A key-fret (回纹) band along the top and bottom and sides, `b` pixels wide.
    fn fret_border(&mut self, b: f32, line: Rgb) {
        let (w, h) = (self.w as f32, self.h as f32);
        let cell = b;
        self.paint(0.0, 0.0, w, h, |x, y, _| {
            let (dx, dy) = (x.min(w - x), y.min(h - y));
            let d = dx.min(dy);
            if d > b {
                return None;
            }
            let along = if dx < dy { y } else { x };
            let u = (along % cell) / cell;
            let v = d / b;
            let on = v < 0.12
                || v > 0.88
                || (u < 0.14 && v < 0.75)
                || (u > 0.5 && u < 0.64 && v > 0.25)
                || (v > 0.38 && v < 0.5 && u > 0.14 && u < 0.64);
            Some(if on { line } else { DEEP_RED })
        });
    }

    /// Fine silk-thread noise so flat colours read as fabric.
    fn weave(&mut self, amount: f32) {
        for y in 0..self.h {
            for x in 0..self.w {
                let n = hash(x as u32, y as u32);
                let thread = if (x + y) % 2 == 0 { 1.0 } else { 0.94 };
                let k = thread * (1.0 + (n - 0.5) * amount);
                let p = &mut self.px[y * self.w + x];
                *p = [p[0] * k, p[1] * k, p[2] * k];
            }
        }
    }

    fn into_image(self) -> Image {
        let mut data = Vec::with_capacity(self.w * self.h * 4);
        for [r, g, b] in self.px {
            for c in [r, g, b] {
                // Colours are authored as sRGB values and stored as such.
                data.push((c.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
            data.push(255);
        }
        Image::new(
            Extent3d {
                width: self.w as u32,
                height: self.h as u32,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            data,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::RENDER_WORLD,
        )
    }
}

fn shade(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// A cheap deterministic hash to 0..1.
fn hash(x: u32, y: u32) -> f32 {
    let mut h = x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263);
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    (h ^ (h >> 16)) as f32 / u32::MAX as f32
}

/// The embroidered back curtain: crimson satin, key-fret border, a great peony medallion among
/// clouds, and smaller roundels.
pub fn back_curtain() -> Image {
    let (w, h) = (1024usize, 880usize);
    let mut c = Canvas::new(w, h, CRIMSON);
    let (wf, hf) = (w as f32, h as f32);
    c.fret_border(44.0, GOLD);
    c.frame(52.0, 5.0, PALE_GOLD);
    let (cx, cy) = (wf / 2.0, hf * 0.46);
    c.disc(cx, cy, 230.0, DEEP_RED);
    c.ring(cx, cy, 230.0, 8.0, GOLD);
    c.ring(cx, cy, 212.0, 3.0, PALE_GOLD);
    c.peony(cx, cy, 150.0);
    for k in 0..12 {
        let a = k as f32 * std::f32::consts::TAU / 12.0;
        c.disc(cx + a.cos() * 196.0, cy + a.sin() * 196.0, 9.0, JADE);
        c.ring(cx + a.cos() * 196.0, cy + a.sin() * 196.0, 9.0, 2.0, GOLD);
    }
    for (x, y) in [(0.17, 0.2), (0.83, 0.2), (0.17, 0.78), (0.83, 0.78)] {
        c.ring(wf * x, hf * y, 70.0, 4.0, GOLD);
        c.peony(wf * x, hf * y, 52.0);
    }
    for (x, y, r, m) in [
        (0.33, 0.12, 34.0, false),
        (0.67, 0.12, 34.0, true),
        (0.3, 0.86, 30.0, true),
        (0.7, 0.86, 30.0, false),
        (0.12, 0.49, 26.0, false),
        (0.88, 0.49, 26.0, true),
    ] {
        c.cloud(wf * x, hf * y, r, m);
    }
    c.weave(0.12);
    c.into_image()
}

/// The door curtains (门帘): kingfisher-blue brocade with a gold border and a roundel.
pub fn door_curtain() -> Image {
    let mut c = Canvas::new(256, 512, KINGFISHER);
    c.fret_border(18.0, GOLD);
    c.ring(128.0, 230.0, 70.0, 5.0, GOLD);
    c.peony(128.0, 230.0, 52.0);
    c.cloud(128.0, 410.0, 26.0, false);
    c.cloud(128.0, 90.0, 22.0, true);
    c.weave(0.15);
    c.into_image()
}

/// The plaques over the doors: black lacquer with a gold frame and a gold seal (the plaques
/// when no CJK font is installed).
pub fn plaque() -> Image {
    let mut c = Canvas::new(256, 108, [0.05, 0.04, 0.04]);
    c.frame(4.0, 8.0, GOLD);
    c.frame(16.0, 2.0, PALE_GOLD);
    for x in [86.0f32, 170.0] {
        c.ring(x, 54.0, 24.0, 5.0, GOLD);
        c.rect(x - 12.0, 42.0, x + 12.0, 66.0, GOLD);
        c.rect(x - 7.0, 47.0, x + 7.0, 61.0, [0.05, 0.04, 0.04]);
    }
    c.into_image()
}

/// A door plaque lettered with `text` (出将, 入相) in `font`: a black lacquer board with a gold
/// frame, a red lacquer field inside a pale gold line, and the characters in gilt, lit from
/// above with a carved shadow. `None` when the font cannot draw the text.
pub fn lettered_plaque(font: &CjkFont, text: &str) -> Option<Image> {
    let (w, h) = (512usize, 216usize);
    let lacquer = [0.05, 0.04, 0.04];
    let mut c = Canvas::new(w, h, lacquer);
    let (wf, hf) = (w as f32, h as f32);
    // The red field, darker towards its edges like polished lacquer.
    let field = PLAQUE_FIELD;
    c.paint(field, field, wf - field, hf - field, |x, y, _| {
        let u = (x / wf - 0.5) * 2.0;
        let v = (y / hf - 0.5) * 2.0;
        Some(shade(DEEP_RED, 1.15 - 0.3 * (u * u * 0.5 + v * v)))
    });
    c.frame(6.0, 14.0, GOLD);
    c.frame(field - 4.0, 3.0, PALE_GOLD);
    // The characters: as big as the field allows, clear of the line round it.
    let (room_w, room_h) = (wf - 2.0 * field - 28.0, hf - 2.0 * field - 10.0);
    let mut px = room_h * 1.1;
    let lettering = loop {
        let text = cjk::rasterise(font, text, px, px * 0.2)?;
        let (x0, y0, x1, y1) = ink_bounds(&text)?;
        let (iw, ih) = ((x1 - x0) as f32, (y1 - y0) as f32);
        if (iw <= room_w && ih <= room_h) || px < 16.0 {
            break (text, x0, y0, iw, ih);
        }
        px *= (room_w / iw).min(room_h / ih).min(0.97);
    };
    let (text, x0, y0, iw, ih) = lettering;
    // Where the ink's top-left lands on the plaque.
    let ox = ((wf - iw) / 2.0).round() as isize - x0 as isize;
    let oy = ((hf - ih) / 2.0).round() as isize - y0 as isize;
    let top = oy + y0 as isize;
    let shadow = (3isize, 4isize);
    c.paint(0.0, 0.0, wf, hf, |x, y, p| {
        let (x, y) = (x as isize, y as isize);
        let ink = text.at(x - ox, y - oy);
        let cast = text.at(x - ox - shadow.0, y - oy - shadow.1);
        if ink <= 0.0 && cast <= 0.0 {
            return None;
        }
        // The carved shadow first, then the gilt over it: pale at the top of the strokes,
        // deeper gold below, brighter on the strokes' upper-left edges.
        let p = mix(p, shade(p, 0.35), cast * 0.8);
        let t = ((y - top) as f32 / ih.max(1.0)).clamp(0.0, 1.0);
        let gilt = mix(PALE_GOLD, shade(GOLD, 0.9), t);
        let edge = (ink - text.at(x - ox - 1, y - oy - 1)).max(0.0);
        let gilt = mix(gilt, [1.0, 0.95, 0.75], edge * 0.6);
        Some(mix(p, gilt, ink))
    });
    Some(c.into_image())
}

/// How far the red field of a lettered plaque is inset from its edges, in pixels.
const PLAQUE_FIELD: f32 = 28.0;

/// The pixel box holding ink (coverage > 0.25) as `(x0, y0, x1, y1)`, `None` for blank text.
fn ink_bounds(text: &Coverage) -> Option<(usize, usize, usize, usize)> {
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for y in 0..text.height {
        for x in 0..text.width {
            if text.values[y * text.width + x] > 0.25 {
                let b = bounds.get_or_insert((x, y, x + 1, y + 1));
                *b = (b.0.min(x), b.1.min(y), b.2.max(x + 1), b.3.max(y + 1));
            }
        }
    }
    bounds
}

/// `a` towards `b` by `t` (0..=1).
fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Table and chair covers (桌围, 椅帔): red satin with a peony and cloud border.
pub fn table_cloth() -> Image {
    let mut c = Canvas::new(384, 256, CRIMSON);
    c.fret_border(20.0, GOLD);
    c.peony(192.0, 128.0, 60.0);
    c.cloud(80.0, 128.0, 24.0, false);
    c.cloud(304.0, 128.0, 24.0, true);
    c.weave(0.12);
    c.into_image()
}

/// The carved and gilded proscenium header: gold scrollwork over red lacquer.
pub fn carving() -> Image {
    let (w, h) = (2048usize, 192usize);
    let mut c = Canvas::new(w, h, DEEP_RED);
    c.frame(0.0, 14.0, GOLD);
    c.frame(22.0, 4.0, PALE_GOLD);
    let mut x = 110.0;
    let mut flip = false;
    while x < w as f32 - 100.0 {
        c.cloud(x, 96.0, 34.0, flip);
        flip = !flip;
        x += 160.0;
    }
    c.ring(w as f32 / 2.0, 96.0, 70.0, 8.0, GOLD);
    c.disc(w as f32 / 2.0, 96.0, 64.0, DEEP_RED);
    c.peony(w as f32 / 2.0, 96.0, 56.0);
    c.into_image()
}

/// The valance under the header: red silk with gold fringe and hanging points.
pub fn valance() -> Image {
    let (w, h) = (1024usize, 96usize);
    let mut c = Canvas::new(w, h, CRIMSON);
    c.rect(0.0, 0.0, w as f32, 10.0, GOLD);
    c.paint(0.0, 60.0, w as f32, h as f32, |x, y, _| {
        let scallop = 60.0 + 18.0 * ((x / 64.0 * std::f32::consts::PI).sin().abs());
        if y > scallop + 10.0 {
            Some(if (x as u32 / 3) % 2 == 0 {
                GOLD
            } else {
                PALE_GOLD
            })
        } else if y > scallop {
            Some(GOLD)
        } else {
            None
        }
    });
    let mut x = 32.0;
    while x < w as f32 {
        c.disc(x, 40.0, 10.0, JADE);
        c.ring(x, 40.0, 10.0, 2.5, GOLD);
        x += 64.0;
    }
    c.weave(0.1);
    c.into_image()
}

/// Lantern silk: red panels glowing brighter at the centre, dark ribs between the six faces,
/// gold bands top and bottom, and a gold roundel on each face.
pub fn lantern_silk() -> Image {
    let (w, h) = (384usize, 128usize);
    let mut c = Canvas::new(w, h, [1.0, 0.2, 0.06]);
    let face = w as f32 / 6.0;
    c.paint(0.0, 0.0, w as f32, h as f32, |x, y, p| {
        let u = (x % face) / face - 0.5;
        let v = y / h as f32 - 0.5;
        let glow = 1.0 - 1.2 * (u * u + v * v);
        Some(shade(p, glow.clamp(0.35, 1.0)))
    });
    for k in 0..6 {
        let x = k as f32 * face;
        c.rect(x - 2.0, 0.0, x + 2.0, h as f32, [0.25, 0.05, 0.02]);
        c.ring(x + face / 2.0, h as f32 / 2.0, 16.0, 3.0, GOLD);
    }
    c.rect(0.0, 0.0, w as f32, 8.0, GOLD);
    c.rect(0.0, h as f32 - 8.0, w as f32, h as f32, GOLD);
    c.into_image()
}

/// The stage carpet: red with a double gold border and a lattice of small medallions.
pub fn carpet() -> Image {
    let (w, h) = (1024usize, 800usize);
    let mut c = Canvas::new(w, h, [0.5, 0.04, 0.05]);
    c.frame(18.0, 14.0, GOLD);
    c.frame(44.0, 5.0, GOLD);
    let step = 128.0;
    let mut y = 120.0;
    while y < h as f32 - 80.0 {
        let mut x = 120.0;
        while x < w as f32 - 80.0 {
            c.ring(x, y, 18.0, 3.0, [0.75, 0.5, 0.2]);
            c.disc(x, y, 5.0, [0.75, 0.5, 0.2]);
            x += step;
        }
        y += step;
    }
    c.weave(0.2);
    c.into_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textures_have_pattern_not_a_flat_colour() {
        for image in [back_curtain(), carving(), carpet()] {
            let data = image.data.as_ref().unwrap();
            let distinct: std::collections::BTreeSet<[u8; 3]> =
                data.chunks(4).map(|p| [p[0], p[1], p[2]]).collect();
            assert!(distinct.len() > 100, "only {} colours", distinct.len());
            let gold = data
                .chunks(4)
                .filter(|p| p[0] > 180 && p[1] > 120 && p[2] < 120)
                .count();
            assert!(gold * 50 > data.len() / 4, "gold embroidery covers > 2%");
        }
    }

    /// Gilt pixels in the plaque's red field (inside the frame), and the whole field's pixels.
    fn gilt_in_field(image: &Image) -> (Vec<bool>, usize) {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let data = image.data.as_ref().unwrap();
        let inset = PLAQUE_FIELD as usize + 4;
        let mut gilt = Vec::new();
        for y in inset..h - inset {
            for x in inset..w - inset {
                let p = &data[(y * w + x) * 4..][..3];
                gilt.push(p[0] > 180 && p[1] > 120 && p[2] < 170);
            }
        }
        let n = gilt.len();
        (gilt, n)
    }

    #[test]
    fn door_plaques_carry_their_characters_in_gold() {
        let Some(font) = cjk::find(cjk::CjkFace::SerifBold) else {
            return ling_testkit::skip(format!("no Noto CJK font ({})", cjk::PACKAGE));
        };
        let enter = lettered_plaque(&font, "出将").expect("出将 drawn");
        let exit = lettered_plaque(&font, "入相").expect("入相 drawn");
        let (a, n) = gilt_in_field(&enter);
        let (b, _) = gilt_in_field(&exit);
        let ink = |g: &[bool]| g.iter().filter(|&&g| g).count() as f32 / n as f32;
        // Two characters fill a good part of the field, but not all of it.
        for (text, g) in [("出将", &a), ("入相", &b)] {
            assert!(
                (0.08..0.6).contains(&ink(g)),
                "{text}: {:.1}% of the field gilt",
                ink(g) * 100.0
            );
        }
        let differ = a.iter().zip(&b).filter(|(a, b)| a != b).count();
        assert!(
            differ * 20 > n,
            "the plaques differ in {differ} of {n} pixels"
        );
        // The seal-only plaque has no gilt in its field beyond the two seals.
        let (seals, _) = gilt_in_field(&plaque());
        assert!(ink(&seals) < ink(&a));
        // Both halves of the field hold a character.
        let (w, inset) = (enter.width() as usize, PLAQUE_FIELD as usize + 4);
        let row = w - 2 * inset;
        for g in [&a, &b] {
            let left = g
                .iter()
                .enumerate()
                .filter(|(i, g)| **g && i % row < row / 2)
                .count();
            let right = g
                .iter()
                .enumerate()
                .filter(|(i, g)| **g && i % row >= row / 2)
                .count();
            assert!(
                left > n / 50 && right > n / 50,
                "left {left}, right {right}"
            );
        }
    }
}
