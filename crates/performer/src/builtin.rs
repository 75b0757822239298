//! Ling, the built-in performer: a stylised Peking-opera heroine built entirely by code.
//!
//! The body is one skinned mesh over the canonical humanoid skeleton ([`HumanBone`]) with
//! vertex colours for the costume: a kingfisher-teal robe with a red and gold cloud collar, a jade
//! hoop belt, long white water sleeves, thick-soled boots, an opera face (white base, rouged
//! eyes, upswept brows), and a gilded headdress with red pompoms and two long pheasant-feather
//! plumes. Face morph targets cover blinks, jaw, the five vowels, a smile, and anger (brows down
//! and drawn in, lids lowered, lips pressed), sorrow (brows up in the middle, corners down) and
//! surprise (brows and lids raised, lips rounded) for the VRM-named expressions emotes drive.

use bevy::asset::RenderAssetUsages;
use bevy::mesh::morph::MorphAttributes;
use bevy::mesh::{Indices, PrimitiveTopology, VertexAttributeValues};
use bevy::prelude::*;

use ling_core::signals::HumanBone;

/// Morph targets of the built-in face, in mesh order, named as VRM expressions.
pub(crate) const MORPH_TARGETS: [&str; 12] = [
    "blinkLeft",
    "blinkRight",
    "jawOpen",
    "aa",
    "ih",
    "ou",
    "ee",
    "oh",
    "happy",
    "angry",
    "sad",
    "surprised",
];

type Rgba = [f32; 4];

const ROBE: Rgba = [0.03, 0.3, 0.4, 1.0];
const ROBE_DARK: Rgba = [0.02, 0.2, 0.28, 1.0];
const COLLAR: Rgba = [0.7, 0.04, 0.08, 1.0];
const GOLD: Rgba = [0.95, 0.7, 0.22, 1.0];
const KINGFISHER: Rgba = [0.06, 0.3, 0.6, 1.0];
const JADE: Rgba = [0.62, 0.85, 0.72, 1.0];
const SILK: Rgba = [0.97, 0.97, 1.0, 1.0];
const SKIN: Rgba = [0.98, 0.9, 0.86, 1.0];
const ROUGE: Rgba = [0.92, 0.38, 0.44, 1.0];
const LIPS: Rgba = [0.82, 0.04, 0.08, 1.0];
const MOUTH: Rgba = [0.18, 0.02, 0.03, 1.0];
const INK: Rgba = [0.03, 0.02, 0.03, 1.0];
const POMPOM: Rgba = [0.9, 0.06, 0.1, 1.0];
const FEATHER: Rgba = [0.55, 0.36, 0.16, 1.0];
const FEATHER_BAND: Rgba = [0.16, 0.1, 0.05, 1.0];
const BOOT: Rgba = [0.05, 0.05, 0.06, 1.0];
const SOLE: Rgba = [0.95, 0.95, 0.92, 1.0];
const TROUSERS: Rgba = [0.12, 0.08, 0.2, 1.0];

/// Joint indices and weights of one vertex.
#[derive(Clone, Copy, Debug)]
struct Skin {
    joints: [u16; 4],
    weights: [f32; 4],
}

fn rigid(bone: HumanBone) -> Skin {
    Skin {
        joints: [bone as u16, 0, 0, 0],
        weights: [1.0, 0.0, 0.0, 0.0],
    }
}

/// `a` blended towards `b` by `t` (0 = all `a`).
fn blend(a: HumanBone, b: HumanBone, t: f32) -> Skin {
    let t = t.clamp(0.0, 1.0);
    Skin {
        joints: [a as u16, b as u16, 0, 0],
        weights: [1.0 - t, t, 0.0, 0.0],
    }
}

/// Piecewise-linear skinning along a chain of (bone, coordinate) stations.
fn chain(stations: &[(HumanBone, f32)], s: f32) -> Skin {
    let (first, last) = (stations[0], stations[stations.len() - 1]);
    if s <= first.1 {
        return rigid(first.0);
    }
    for pair in stations.windows(2) {
        let ((a, sa), (b, sb)) = (pair[0], pair[1]);
        if s <= sb {
            return blend(a, b, (s - sa) / (sb - sa));
        }
    }
    rigid(last.0)
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn mix(a: Rgba, b: Rgba, t: f32) -> Rgba {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
        1.0,
    ]
}

/// Collects the parts of the avatar into one skinned mesh.
#[derive(Default)]
struct Builder {
    positions: Vec<Vec3>,
    normals: Vec<Vec3>,
    colors: Vec<Rgba>,
    skins: Vec<Skin>,
    indices: Vec<u32>,
}

/// An ellipsoid's vertices, kept to build face morph targets from the same parameterisation.
struct EllipsoidPart {
    range: std::ops::Range<usize>,
    /// Each vertex on the unit sphere.
    unit: Vec<Vec3>,
}

impl Builder {
    /// Sweeps an elliptical cross-section along `path`. `radii[i]` is (side, up) radius at
    /// `path[i]`; `up` orients the ellipse's second axis. Returns the vertex range.
    fn sweep(
        &mut self,
        path: &[Vec3],
        radii: &[(f32, f32)],
        up: Vec3,
        segments: usize,
        color: impl Fn(f32, f32, Vec3) -> Rgba,
        skin: impl Fn(f32, Vec3) -> Skin,
    ) -> std::ops::Range<usize> {
        let start = self.positions.len();
        let n = path.len();
        let mut length = vec![0.0f32; n];
        for i in 1..n {
            length[i] = length[i - 1] + path[i].distance(path[i - 1]);
        }
        let total = length[n - 1].max(1e-6);
        let mut side_prev: Option<Vec3> = None;
        for i in 0..n {
            let tangent =
                (path[(i + 1).min(n - 1)] - path[i.saturating_sub(1)]).normalize_or(Vec3::Y);
            // Parallel transport of the side vector keeps the sweep from twisting.
            let seed = side_prev.unwrap_or_else(|| up.cross(tangent));
            let side =
                (seed - tangent * seed.dot(tangent)).normalize_or(tangent.any_orthonormal_vector());
            side_prev = Some(side);
            let bi = tangent.cross(side);
            let (rs, ru) = radii[i];
            let t = length[i] / total;
            for k in 0..segments {
                let a = k as f32 / segments as f32 * std::f32::consts::TAU;
                let (s, c) = a.sin_cos();
                let p = path[i] + side * (c * rs) + bi * (s * ru);
                let normal = (side * (c * ru) + bi * (s * rs)).normalize_or(side);
                self.positions.push(p);
                self.normals.push(normal);
                self.colors.push(color(t, a, p));
                self.skins.push(skin(t, p));
            }
        }
        for i in 0..n - 1 {
            for k in 0..segments {
                let a = (start + i * segments + k) as u32;
                let b = (start + i * segments + (k + 1) % segments) as u32;
                let c = a + segments as u32;
                let d = b + segments as u32;
                self.indices.extend_from_slice(&[a, b, c, b, d, c]);
            }
        }
        start..self.positions.len()
    }

    /// An ellipsoid with semi-axes `radii` around `center`.
    fn ellipsoid(
        &mut self,
        center: Vec3,
        radii: Vec3,
        rings: usize,
        segments: usize,
        color: impl Fn(Vec3) -> Rgba,
        skin: impl Fn(Vec3) -> Skin,
    ) -> EllipsoidPart {
        let start = self.positions.len();
        let mut unit = Vec::new();
        for i in 0..=rings {
            let polar = i as f32 / rings as f32 * std::f32::consts::PI;
            let (sp, cp) = polar.sin_cos();
            for k in 0..segments {
                let a = k as f32 / segments as f32 * std::f32::consts::TAU;
                let u = Vec3::new(sp * a.cos(), -cp, sp * a.sin());
                let p = center + u * radii;
                unit.push(u);
                self.positions.push(p);
                self.normals.push((u / radii).normalize_or(Vec3::Y));
                self.colors.push(color(p));
                self.skins.push(skin(p));
            }
        }
        for i in 0..rings {
            for k in 0..segments {
                let a = (start + i * segments + k) as u32;
                let b = (start + i * segments + (k + 1) % segments) as u32;
                let c = a + segments as u32;
                let d = b + segments as u32;
                // Rings run bottom to top; wind so faces point outwards.
                self.indices.extend_from_slice(&[a, c, b, b, c, d]);
            }
        }
        EllipsoidPart {
            range: start..self.positions.len(),
            unit,
        }
    }

    /// A ring (torus-like sweep) around `center` in the plane with normal `axis`.
    fn hoop(
        &mut self,
        center: Vec3,
        axis: Vec3,
        radius: Vec2,
        thickness: f32,
        color: impl Fn(f32, f32, Vec3) -> Rgba,
        skin: impl Fn(f32, Vec3) -> Skin,
    ) {
        let axis = axis.normalize();
        let u = axis.any_orthonormal_vector();
        let v = axis.cross(u);
        let path: Vec<Vec3> = (0..=48)
            .map(|i| {
                let a = i as f32 / 48.0 * std::f32::consts::TAU;
                center + u * (a.cos() * radius.x) + v * (a.sin() * radius.y)
            })
            .collect();
        let radii = vec![(thickness, thickness); path.len()];
        self.sweep(&path, &radii, axis, 8, color, skin);
    }
}

fn bezier(p: [Vec3; 4], n: usize) -> Vec<Vec3> {
    (0..=n)
        .map(|i| {
            let t = i as f32 / n as f32;
            let u = 1.0 - t;
            p[0] * (u * u * u)
                + p[1] * (3.0 * u * u * t)
                + p[2] * (3.0 * u * t * t)
                + p[3] * (t * t * t)
        })
        .collect()
}

/// Geometry of the face features, shared by the base mesh and the morph targets.
struct MouthShape {
    center: Vec3,
    lips: Vec3,
    inner: Vec3,
    corner_lift: f32,
}

const MOUTH_CENTER: Vec3 = Vec3::new(0.0, 1.567, 0.082);

fn mouth_shape(target: Option<&str>) -> MouthShape {
    let (lx, ly, ix, iy, dy, lift) = match target {
        None => (0.02, 0.0055, 0.015, 0.0005, 0.0, 0.0),
        Some("aa") => (0.021, 0.017, 0.016, 0.012, -0.004, 0.0),
        Some("ih") => (0.026, 0.008, 0.021, 0.004, 0.0, 0.002),
        Some("ou") => (0.012, 0.011, 0.007, 0.006, 0.0, 0.0),
        Some("ee") => (0.024, 0.011, 0.019, 0.007, -0.001, 0.001),
        Some("oh") => (0.016, 0.015, 0.011, 0.01, -0.003, 0.0),
        Some("jawOpen") => (0.02, 0.014, 0.015, 0.01, -0.006, 0.0),
        Some("happy") => (0.025, 0.0065, 0.019, 0.0008, 0.001, 0.007),
        Some("angry") => (0.018, 0.0042, 0.013, 0.0002, 0.0, -0.003),
        Some("sad") => (0.019, 0.005, 0.014, 0.0004, -0.001, -0.008),
        Some("surprised") => (0.016, 0.009, 0.011, 0.005, -0.002, 0.0),
        Some(_) => (0.02, 0.0055, 0.015, 0.0005, 0.0, 0.0),
    };
    MouthShape {
        center: MOUTH_CENTER + Vec3::new(0.0, dy, 0.0),
        lips: Vec3::new(lx, ly, 0.006),
        inner: Vec3::new(ix, iy, 0.004),
        corner_lift: lift,
    }
}

/// Radii of the eyes (dark almonds under the lids).
const EYE_RADII: Vec3 = Vec3::new(0.018, 0.0085, 0.008);

/// An upper lid's centre and radii, and its slant (metres the outer end rises over the inner),
/// for the emotion morph targets: lowered and slanted down to the nose when angry, slanted the
/// other way when sad, lifted off the eye when surprised.
fn emotion_lid(side: f32, target: &str) -> Option<(Vec3, Vec3, f32)> {
    let eye = HumanBone::LeftEye.rest_position() * Vec3::new(side, 1.0, 1.0);
    Some(match target {
        "angry" => (
            eye + Vec3::new(0.0, 0.0075, 0.0135),
            Vec3::new(0.019, 0.005, 0.0065),
            0.004,
        ),
        "sad" => (
            eye + Vec3::new(0.0, 0.0095, 0.0133),
            Vec3::new(0.019, 0.004, 0.0062),
            -0.004,
        ),
        "surprised" => (
            eye + Vec3::new(0.0, 0.0145, 0.012),
            Vec3::new(0.019, 0.002, 0.0055),
            0.0,
        ),
        _ => return None,
    })
}

/// How far an emotion moves a brow point: `t` runs from the brow's inner end (0) to its outer
/// end (1); `side` is +1 on her left.
fn brow_offset(target: &str, t: f32, side: f32) -> Vec3 {
    let inner = 1.0 - t;
    match target {
        "angry" => Vec3::new(
            -0.003 * side * inner,
            -0.0075 * inner + 0.003 * t,
            0.002 * inner,
        ),
        "sad" => Vec3::new(-0.0015 * side * inner, 0.008 * inner - 0.003 * t, 0.0),
        "surprised" => Vec3::new(0.0, 0.009 + 0.003 * (1.0 - (2.0 * t - 1.0).powi(2)), 0.0),
        _ => Vec3::ZERO,
    }
}

fn eyelid(side: f32, closed: bool) -> (Vec3, Vec3) {
    let eye = HumanBone::LeftEye.rest_position() * Vec3::new(side, 1.0, 1.0);
    if closed {
        (
            eye + Vec3::new(0.0, 0.0, 0.014),
            Vec3::new(0.019, 0.0115, 0.007),
        )
    } else {
        (
            eye + Vec3::new(0.0, 0.011, 0.013),
            Vec3::new(0.019, 0.0025, 0.006),
        )
    }
}

/// Centre of the head ellipsoid and the height of the headdress band and crown top.
fn head_geometry() -> (Vec3, f32, f32) {
    let head_c = HumanBone::Head.rest_position() + Vec3::new(0.0, 0.1, 0.0);
    let band_y = head_c.y + 0.066;
    (head_c, band_y, band_y + 6.0 * 0.016)
}

/// Where a plume leaves the crown (`side` +1 = left).
fn plume_base(side: f32) -> Vec3 {
    let (head_c, _, crown_top) = head_geometry();
    Vec3::new(0.03 * side, crown_top, head_c.z - 0.04)
}

/// A plume's rest curve in model space, `n + 1` points from the crown to the tip.
pub fn plume_path(side: f32, n: usize) -> Vec<Vec3> {
    let base = plume_base(side);
    bezier(
        [
            base,
            base + Vec3::new(0.08 * side, 0.55, -0.22),
            base + Vec3::new(0.5 * side, 0.95, -0.05),
            base + Vec3::new(0.95 * side, 0.72, 0.25),
        ],
        n,
    )
}

/// A water sleeve's rest curve in model space (`side` +1 = left), `n + 1` points from the
/// wrist past the hand.
pub fn sleeve_path(side: f32, n: usize) -> Vec<Vec3> {
    let hand = if side > 0.0 {
        HumanBone::LeftHand
    } else {
        HumanBone::RightHand
    };
    let w = hand.rest_position();
    let sx = |x: f32| x * side;
    bezier(
        [
            w - Vec3::new(sx(0.05), 0.0, 0.0),
            w + Vec3::new(sx(0.2), 0.0, 0.0),
            w + Vec3::new(sx(0.4), -0.05, 0.0),
            w + Vec3::new(sx(0.58), -0.16, 0.0),
        ],
        n,
    )
}

/// The built-in avatar's mesh: positions, normals, vertex colours, joints, weights, indices
/// and the face morph targets ([`MORPH_TARGETS`]). Without `with_plumes` the plumes and water
/// sleeves are left out (costume physics simulates and draws them).
pub(crate) fn build_mesh(with_plumes: bool) -> Mesh {
    use HumanBone as B;
    let mut m = Builder::default();

    // --- Head: an opera face (white base, rouge around the eyes) with black hair behind.
    let (head_c, band_y, crown_top) = head_geometry();
    m.ellipsoid(
        head_c,
        Vec3::new(0.08, 0.105, 0.09),
        24,
        36,
        |p| {
            let rel = p - head_c;
            if rel.y > 0.055 - rel.z * 0.4 || rel.z < -0.02 {
                return INK;
            }
            let eye_y = B::LeftEye.rest_position().y;
            let d = Vec2::new(rel.x.abs() - 0.03, (p.y - eye_y) * 0.8).length();
            let rouge = smoothstep(0.055, 0.012, d) * smoothstep(-0.01, 0.05, rel.z);
            mix(SKIN, ROUGE, rouge)
        },
        |_| rigid(B::Head),
    );
    // Eyes, brows and eyelids.
    let mut brows = Vec::new();
    let mut eyes = Vec::new();
    for side in [1.0f32, -1.0] {
        let bone = if side > 0.0 { B::LeftEye } else { B::RightEye };
        let eye = bone.rest_position();
        let eye_part = m.ellipsoid(
            eye + Vec3::new(0.0, 0.0, 0.009),
            EYE_RADII,
            8,
            16,
            |_| INK,
            |_| rigid(B::Head),
        );
        eyes.push(eye_part);
        let brow_path = bezier(
            [
                eye + Vec3::new(-0.014 * side, 0.018, 0.011),
                eye + Vec3::new(0.0, 0.024, 0.01),
                eye + Vec3::new(0.016 * side, 0.03, 0.006),
                eye + Vec3::new(0.03 * side, 0.042, -0.004),
            ],
            8,
        );
        let radii: Vec<(f32, f32)> = (0..brow_path.len())
            .map(|i| {
                let t = i as f32 / (brow_path.len() - 1) as f32;
                let r = 0.0035 * (1.0 - t * 0.7);
                (r, r * 0.6)
            })
            .collect();
        let brow = m.sweep(
            &brow_path,
            &radii,
            Vec3::Z,
            6,
            |_, _, _| INK,
            |_, _| rigid(B::Head),
        );
        brows.push((brow, side));
    }
    let mut lids = Vec::new();
    for side in [1.0f32, -1.0] {
        let (c, r) = eyelid(side, false);
        lids.push(m.ellipsoid(c, r, 6, 16, |_| ROUGE, |_| rigid(B::Head)));
    }
    // Mouth: a dark inner mouth in front of red lips, both shaped by the morph targets.
    let rest = mouth_shape(None);
    let lips = m.ellipsoid(rest.center, rest.lips, 8, 20, |_| LIPS, |_| rigid(B::Head));
    let inner = m.ellipsoid(
        rest.center + Vec3::new(0.0, 0.0, 0.003),
        rest.inner,
        8,
        20,
        |_| MOUTH,
        |_| rigid(B::Head),
    );

    // --- Headdress: gold band, crown with kingfisher inlay and pompoms, two pheasant plumes,
    // and side tassels.
    m.hoop(
        Vec3::new(0.0, band_y, head_c.z - 0.004),
        Vec3::new(0.0, 1.0, -0.15),
        Vec2::new(0.068, 0.077),
        0.012,
        |t, _, _| {
            if (t * 24.0).fract() < 0.5 {
                GOLD
            } else {
                KINGFISHER
            }
        },
        |_, _| rigid(B::Head),
    );
    let crown: Vec<Vec3> = (0..=6)
        .map(|i| Vec3::new(0.0, band_y + i as f32 * 0.016, head_c.z - 0.01))
        .collect();
    let crown_r: Vec<(f32, f32)> = (0..=6)
        .map(|i| {
            let r = 0.07 - i as f32 * 0.006;
            (r, r * 1.05)
        })
        .collect();
    m.sweep(
        &crown,
        &crown_r,
        Vec3::Z,
        28,
        |t, a, _| {
            if ((a * 6.0).sin() > 0.55) && t > 0.2 {
                KINGFISHER
            } else {
                GOLD
            }
        },
        |_, _| rigid(B::Head),
    );
    m.ellipsoid(
        Vec3::new(0.0, crown_top + 0.03, head_c.z - 0.02),
        Vec3::splat(0.032),
        10,
        16,
        |_| POMPOM,
        |_| rigid(B::Head),
    );
    for k in -2..=2 {
        let a = k as f32 * 0.45;
        let p = Vec3::new(
            0.07 * a.sin(),
            band_y + 0.022,
            head_c.z - 0.01 + 0.078 * a.cos(),
        );
        m.ellipsoid(p, Vec3::splat(0.017), 8, 12, |_| POMPOM, |_| rigid(B::Head));
    }
    for side in [1.0f32, -1.0] {
        // 翎子: long pheasant tail feathers rising from the crown and arching outwards. With
        // costume physics they are simulated chains drawn elsewhere.
        if with_plumes {
            let path = plume_path(side, 40);
            let radii: Vec<(f32, f32)> = (0..path.len())
                .map(|i| {
                    let t = i as f32 / (path.len() - 1) as f32;
                    let r = 0.011 * (1.0 - t) + 0.0025;
                    (r, r)
                })
                .collect();
            m.sweep(
                &path,
                &radii,
                Vec3::Z,
                6,
                |t, _, _| {
                    if (t * 26.0).fract() < 0.28 {
                        FEATHER_BAND
                    } else {
                        mix(FEATHER, GOLD, t * 0.4)
                    }
                },
                |_, _| rigid(B::Head),
            );
        }
        // Tassels hanging at the temples.
        let top = Vec3::new(0.075 * side, band_y - 0.01, head_c.z + 0.01);
        let path = [
            top,
            top + Vec3::new(0.02 * side, -0.18, -0.01),
            top + Vec3::new(0.025 * side, -0.3, -0.02),
        ];
        m.sweep(
            &path,
            &[(0.006, 0.006); 3],
            Vec3::Z,
            6,
            |t, _, _| mix(POMPOM, GOLD, t),
            |_, _| rigid(B::Head),
        );
        m.ellipsoid(
            top + Vec3::new(0.025 * side, -0.31, -0.02),
            Vec3::splat(0.014),
            6,
            10,
            |_| POMPOM,
            |_| rigid(B::Head),
        );
    }

    // --- Neck and torso: teal robe, gold placket, a red-and-gold cloud collar.
    let neck = [
        B::UpperChest.rest_position() + Vec3::new(0.0, 0.1, 0.0),
        B::Neck.rest_position(),
        B::Head.rest_position() + Vec3::new(0.0, 0.04, 0.0),
    ];
    m.sweep(
        &neck,
        &[(0.041, 0.039); 3],
        Vec3::Z,
        16,
        |_, _, _| SKIN,
        |_, p| {
            chain(
                &[(B::UpperChest, 1.42), (B::Neck, 1.47), (B::Head, 1.55)],
                p.y,
            )
        },
    );
    let torso_stations: [(f32, f32, f32); 8] = [
        (0.9, 0.17, 0.12),
        (1.0, 0.15, 0.11),
        (1.1, 0.145, 0.105),
        (1.2, 0.16, 0.11),
        (1.3, 0.18, 0.115),
        (1.38, 0.175, 0.105),
        (1.43, 0.12, 0.08),
        (1.47, 0.06, 0.055),
    ];
    let torso_path: Vec<Vec3> = torso_stations
        .iter()
        .map(|s| Vec3::new(0.0, s.0, 0.0))
        .collect();
    let torso_r: Vec<(f32, f32)> = torso_stations.iter().map(|s| (s.1, s.2)).collect();
    let torso_skin = |_: f32, p: Vec3| {
        chain(
            &[
                (B::Hips, 0.95),
                (B::Spine, 1.05),
                (B::Chest, 1.18),
                (B::UpperChest, 1.3),
                (B::Neck, 1.46),
            ],
            p.y,
        )
    };
    m.sweep(
        &torso_path,
        &torso_r,
        -Vec3::Z,
        32,
        |_, a, p| {
            if p.y > 1.3 {
                // Cloud collar (云肩): scalloped red lobes edged and embroidered with gold.
                let lobe = (a * 8.0).cos() * 0.03 + 1.3;
                if p.y > lobe + 0.012 {
                    if (a * 16.0).sin() > 0.75 {
                        GOLD
                    } else {
                        COLLAR
                    }
                } else if p.y > lobe {
                    GOLD
                } else {
                    ROBE
                }
            } else if p.x.abs() < 0.018 && p.z > 0.0 {
                GOLD
            } else if ((p.y * 60.0).sin() * (a * 10.0).sin()) > 0.8 {
                mix(ROBE, GOLD, 0.6)
            } else {
                ROBE
            }
        },
        torso_skin,
    );
    // Jade hoop belt (玉带), standing away from the waist, lower at the front.
    m.hoop(
        Vec3::new(0.0, 1.0, 0.01),
        Vec3::new(0.0, 1.0, 0.25),
        Vec2::new(0.24, 0.2),
        0.018,
        |t, _, _| {
            if (t * 16.0).fract() < 0.25 {
                GOLD
            } else {
                JADE
            }
        },
        |_, p| chain(&[(B::Hips, 0.95), (B::Spine, 1.05)], p.y),
    );

    // --- The robe's skirt: flaring to the ankles, hem of sea waves (海水江崖) in blue and gold.
    let skirt: Vec<(f32, f32, f32)> = (0..=10)
        .map(|i| {
            let t = i as f32 / 10.0;
            (0.98 - t * 0.84, 0.17 + t * 0.2, 0.125 + t * 0.17)
        })
        .collect();
    let skirt_path: Vec<Vec3> = skirt.iter().map(|s| Vec3::new(0.0, s.0, 0.01)).collect();
    let skirt_r: Vec<(f32, f32)> = skirt.iter().map(|s| (s.1, s.2)).collect();
    m.sweep(
        &skirt_path,
        &skirt_r,
        Vec3::Z,
        40,
        |_, a, p| {
            let hem = 0.14 + 0.1;
            if p.y < hem {
                let wave = ((a * 14.0).sin() * 0.012 + (p.y - 0.14) * 1.0) * 40.0;
                if p.y < 0.155 {
                    GOLD
                } else if wave.sin() > 0.3 {
                    KINGFISHER
                } else if wave.sin() > -0.2 {
                    SILK
                } else {
                    GOLD
                }
            } else if p.x.abs() < 0.02 && p.z > 0.0 {
                GOLD
            } else if (a * 20.0).sin() > 0.85 {
                ROBE_DARK
            } else {
                ROBE
            }
        },
        |t, p| {
            // The skirt follows the hips, and each side follows its leg towards the hem so the
            // walk moves the cloth.
            let leg = if p.x >= 0.0 {
                B::LeftUpperLeg
            } else {
                B::RightUpperLeg
            };
            let w = 0.55 * smoothstep(0.1, 1.0, t) * (p.x.abs() / 0.3).min(1.0);
            blend(B::Hips, leg, w)
        },
    );

    // --- Legs (trousers under the robe) and thick-soled opera boots.
    for side in [1.0f32, -1.0] {
        let (up, low, foot) = if side > 0.0 {
            (B::LeftUpperLeg, B::LeftLowerLeg, B::LeftFoot)
        } else {
            (B::RightUpperLeg, B::RightLowerLeg, B::RightFoot)
        };
        let path = [
            up.rest_position(),
            low.rest_position(),
            foot.rest_position() + Vec3::new(0.0, 0.06, 0.0),
        ];
        m.sweep(
            &path,
            &[(0.075, 0.075), (0.058, 0.058), (0.05, 0.05)],
            Vec3::Z,
            14,
            |_, _, p| {
                if p.y < 0.36 { BOOT } else { TROUSERS }
            },
            |_, p| {
                // Stations run down the leg, so the coordinate is -y.
                chain(
                    &[(up, -0.56), (low, -0.46), (low, -0.16), (foot, -0.1)],
                    -p.y,
                )
            },
        );
        let f = foot.rest_position();
        m.ellipsoid(
            f + Vec3::new(0.0, -0.01, 0.05),
            Vec3::new(0.05, 0.045, 0.115),
            10,
            16,
            |_| BOOT,
            |_| rigid(foot),
        );
        m.ellipsoid(
            f + Vec3::new(0.0, -0.06, 0.05),
            Vec3::new(0.056, 0.03, 0.125),
            8,
            16,
            |_| SOLE,
            |_| rigid(foot),
        );
    }

    // --- Arms: robe sleeves, shoulder caps, and the long white water sleeves (水袖).
    for side in [1.0f32, -1.0] {
        let (sh, up, low, hand) = if side > 0.0 {
            (
                B::LeftShoulder,
                B::LeftUpperArm,
                B::LeftLowerArm,
                B::LeftHand,
            )
        } else {
            (
                B::RightShoulder,
                B::RightUpperArm,
                B::RightLowerArm,
                B::RightHand,
            )
        };
        let sx = |x: f32| x * side;
        let arm = [
            up.rest_position(),
            low.rest_position(),
            hand.rest_position() - Vec3::new(sx(0.04), 0.0, 0.0),
        ];
        m.sweep(
            &arm,
            &[(0.07, 0.07), (0.062, 0.062), (0.058, 0.058)],
            Vec3::Y,
            16,
            |_, _, _| ROBE,
            |_, p| {
                chain(
                    &[(up, 0.37), (low, 0.47), (low, 0.62), (hand, 0.68)],
                    p.x.abs(),
                )
            },
        );
        m.ellipsoid(
            sh.rest_position() + Vec3::new(sx(0.12), 0.0, 0.0),
            Vec3::new(0.09, 0.075, 0.08),
            10,
            16,
            |_| ROBE,
            |_| blend(B::UpperChest, up, 0.6),
        );
        // The water sleeve starts at the wrist and drapes on past the hand. With costume
        // physics it is a simulated chain drawn elsewhere.
        let w = hand.rest_position();
        if with_plumes {
            let path = sleeve_path(side, 12);
            let radii: Vec<(f32, f32)> = (0..path.len())
                .map(|i| {
                    let t = i as f32 / (path.len() - 1) as f32;
                    (0.066 + 0.04 * t, 0.066 + 0.05 * t)
                })
                .collect();
            m.sweep(
                &path,
                &radii,
                Vec3::Y,
                20,
                |t, _, _| {
                    if t > 0.96 {
                        [0.75, 0.85, 0.98, 1.0]
                    } else {
                        SILK
                    }
                },
                |t, _| blend(low, hand, 0.5 + t * 2.0),
            );
        }
        // Hand and fingers (orchid-finger gestures read at the sleeve's mouth).
        m.ellipsoid(
            w + Vec3::new(sx(0.045), 0.0, 0.0),
            Vec3::new(0.045, 0.017, 0.038),
            8,
            12,
            |_| SKIN,
            |_| rigid(hand),
        );
    }
    for &bone in HumanBone::ALL {
        let name = bone.name();
        let is_finger = ["Thumb", "Index", "Middle", "Ring", "Little"]
            .iter()
            .any(|f| name.contains(f));
        if !is_finger {
            continue;
        }
        let a = bone.rest_position();
        let child = HumanBone::ALL.iter().find(|c| c.parent() == Some(bone));
        let b = match child {
            Some(c) => c.rest_position(),
            None => {
                a + (a - bone.parent().map(|p| p.rest_position()).unwrap_or(a))
                    .normalize_or(Vec3::X)
                    * 0.022
            }
        };
        m.sweep(
            &[a, b],
            &[(0.0075, 0.0065), (0.0065, 0.0055)],
            Vec3::Y,
            8,
            |_, _, _| SKIN,
            |_, _| rigid(bone),
        );
    }

    // --- Assemble, with morph targets.
    let vertex_count = m.positions.len();
    let mut targets = Vec::with_capacity(MORPH_TARGETS.len() * vertex_count);
    for name in MORPH_TARGETS {
        let mut delta = vec![Vec3::ZERO; vertex_count];
        match name {
            "blinkLeft" | "blinkRight" => {
                let (part, side) = if name == "blinkLeft" {
                    (&lids[0], 1.0)
                } else {
                    (&lids[1], -1.0)
                };
                let (c0, r0) = eyelid(side, false);
                let (c1, r1) = eyelid(side, true);
                for (v, u) in part.range.clone().zip(&part.unit) {
                    delta[v] = (c1 + *u * r1) - (c0 + *u * r0);
                }
            }
            _ => {
                // Emotions also move the brows and lids.
                for (range, side) in &brows {
                    for v in range.clone() {
                        let p = m.positions[v];
                        let t = ((p.x * side - 0.019) / 0.044).clamp(0.0, 1.0);
                        delta[v] = brow_offset(name, t, *side);
                    }
                }
                // Surprise opens the eyes wide (the lids are lifted off them too).
                if name == "surprised" {
                    for part in &eyes {
                        for (v, u) in part.range.clone().zip(&part.unit) {
                            delta[v] = *u * EYE_RADII * Vec3::new(0.08, 0.45, 0.1);
                        }
                    }
                }
                for (part, side) in [(&lids[0], 1.0f32), (&lids[1], -1.0)] {
                    let Some((c1, r1, slant)) = emotion_lid(side, name) else {
                        continue;
                    };
                    let (c0, r0) = eyelid(side, false);
                    for (v, u) in part.range.clone().zip(&part.unit) {
                        let tilt = Vec3::new(0.0, slant * 0.5 * u.x * side, 0.0);
                        delta[v] = (c1 + *u * r1 + tilt) - (c0 + *u * r0);
                    }
                }
                let shape = mouth_shape(Some(name));
                for (part, rest_r, new_r, dz) in [
                    (&lips, rest.lips, shape.lips, 0.0),
                    (&inner, rest.inner, shape.inner, 0.003),
                ] {
                    let offset = Vec3::new(0.0, 0.0, dz);
                    for (v, u) in part.range.clone().zip(&part.unit) {
                        let lift = Vec3::new(0.0, shape.corner_lift * u.x * u.x, 0.0);
                        let new = shape.center + offset + *u * new_r + lift;
                        let old = rest.center + offset + *u * rest_r;
                        delta[v] = new - old;
                    }
                }
            }
        }
        targets.extend(
            delta
                .into_iter()
                .map(|d| MorphAttributes::new(d, Vec3::ZERO, Vec3::ZERO)),
        );
    }

    let positions: Vec<[f32; 3]> = m.positions.iter().map(|p| p.to_array()).collect();
    let normals: Vec<[f32; 3]> = m.normals.iter().map(|n| n.to_array()).collect();
    let joints: Vec<[u16; 4]> = m.skins.iter().map(|s| s.joints).collect();
    let weights: Vec<[f32; 4]> = m.skins.iter().map(|s| s.weights).collect();
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
    .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, m.colors)
    .with_inserted_attribute(
        Mesh::ATTRIBUTE_JOINT_INDEX,
        VertexAttributeValues::Uint16x4(joints),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_JOINT_WEIGHT, weights)
    .with_inserted_indices(Indices::U32(m.indices))
    .with_morph_targets(targets)
    .with_morph_target_names(MORPH_TARGETS.iter().map(|s| s.to_string()).collect())
}

/// Inverse bind matrices for the built-in skeleton, in [`HumanBone::ALL`] order.
pub(crate) fn inverse_bindposes() -> Vec<Mat4> {
    HumanBone::ALL
        .iter()
        .map(|b| Mat4::from_translation(-b.rest_position()))
        .collect()
}
