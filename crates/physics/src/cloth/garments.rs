//! The cloth pieces the stage knows: Ling's water sleeves and back flags, and the set's door
//! curtains.

use bevy::prelude::*;

use ling_core::signals::HumanBone;

use super::spec::{ClothAnchor, ClothGroup, ClothSpec};

/// A water sleeve (水袖): a silk tube from the cuff at the left hand (`side` > 0) or the right
/// (`side` < 0), following `ling_performer::builtin::sleeve_path`, widening towards its mouth.
pub fn ling_sleeve(side: f32) -> ClothSpec {
    let hand = if side > 0.0 {
        HumanBone::LeftHand
    } else {
        HumanBone::RightHand
    };
    let (rows, cols) = (10, 8);
    let path = ling_performer::builtin::sleeve_path(side, rows - 1);
    // The cuff rings the wrist joint itself, so a bent wrist cannot fold it into the forearm.
    let cuff = path[0];
    let mut points = Vec::with_capacity(rows * cols);
    for (r, p) in path.iter().enumerate() {
        let t = r as f32 / (rows - 1) as f32;
        let tangent = (path[(r + 1).min(rows - 1)] - path[r.saturating_sub(1)]).normalize();
        let side_axis = tangent.cross(Vec3::Z).normalize_or(Vec3::Y);
        let up_axis = tangent.cross(side_axis);
        let radius = 0.07 + 0.045 * t;
        for c in 0..cols {
            let a = c as f32 / cols as f32 * std::f32::consts::TAU;
            points.push(*p - cuff + (side_axis * a.cos() + up_axis * a.sin()) * radius);
        }
    }
    ClothSpec {
        name: format!("{} water sleeve", if side > 0.0 { "left" } else { "right" }),
        group: ClothGroup::Sleeves,
        anchor: ClothAnchor::Bone(hand),
        rows,
        cols,
        wrap: true,
        points,
        pinned_rows: 1,
        pinned_first_col: false,
        particle_radius: 0.015,
        mass: 0.15,
    }
}

/// The four back flags (靠旗) of a general's armour: silk pennants on poles rising from the
/// upper back in a fan, two a side, in the upper chest's rest frame. Each flag is sewn to its
/// pole along one edge (row 0, pinned), held out along its top edge by a stick (column 0,
/// pinned), and tapers from the top of the pole down; its lower edge flies free.
pub(crate) fn ling_back_flags() -> Vec<ClothSpec> {
    let (rows, cols) = (5, 7);
    let chest = HumanBone::UpperChest.rest_position();
    let mut flags = Vec::new();
    for (side, lean) in [(1.0f32, 14.0f32), (1.0, 34.0), (-1.0, 14.0), (-1.0, 34.0)] {
        let (base, pole, out) = flag_pole(side, lean);
        let mut points = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                // Along the pole from its top (c = 0) down to where the flag ends.
                let s = 0.85 - 0.55 * c as f32 / (cols - 1) as f32;
                let width = 0.32 - 0.22 * c as f32 / (cols - 1) as f32;
                let at = base + pole * s + out * (width * r as f32 / (rows - 1) as f32);
                points.push(at - chest);
            }
        }
        flags.push(ClothSpec {
            name: format!(
                "{} {} back flag",
                if side > 0.0 { "left" } else { "right" },
                if lean > 20.0 { "outer" } else { "inner" }
            ),
            group: ClothGroup::Flags,
            anchor: ClothAnchor::Bone(HumanBone::UpperChest),
            rows,
            cols,
            wrap: false,
            points,
            pinned_rows: 1,
            pinned_first_col: true,
            particle_radius: 0.012,
            mass: 0.05,
        });
    }
    flags
}

/// A back flag's pole in the rest pose: its foot behind the shoulders, its direction (up,
/// leaning out by `lean` degrees and a little back) and the flag's outward direction.
fn flag_pole(side: f32, lean: f32) -> (Vec3, Vec3, Vec3) {
    let chest = HumanBone::UpperChest.rest_position();
    let base = chest + Vec3::new(side * 0.05, 0.06, -0.17);
    let a = lean.to_radians();
    let pole = Vec3::new(side * a.sin(), a.cos(), -0.25).normalize();
    let sideways = Vec3::X * side;
    let out = (sideways - pole * sideways.dot(pole)).normalize();
    (base, pole, out)
}

/// A door curtain (门帘) `width` × `height`, hanging from its rail with `folds` soft folds,
/// in the frame of the set piece (centre of the curtain, facing +Z). Sizes are in metres; the
/// folds swing `depth` either side of the plane.
pub fn door_curtain(width: f32, height: f32, folds: f32, depth: f32) -> ClothSpec {
    let (rows, cols) = (12, 14);
    let mut points = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        let y = height * 0.5 - height * r as f32 / (rows - 1) as f32;
        for c in 0..cols {
            let u = c as f32 / (cols - 1) as f32;
            let z = depth * (u * folds * std::f32::consts::TAU).sin();
            points.push(Vec3::new((u - 0.5) * width, y, z));
        }
    }
    ClothSpec {
        name: "door curtain".into(),
        group: ClothGroup::Curtains,
        anchor: ClothAnchor::Set,
        rows,
        cols,
        wrap: false,
        points,
        pinned_rows: 1,
        pinned_first_col: false,
        particle_radius: 0.03,
        mass: 1.5,
    }
}
