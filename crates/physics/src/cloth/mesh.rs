//! Meshes drawn from the particles: the cloth's surface, and a back flag's pole.

use bevy::prelude::*;

use super::spec::ClothSpec;

/// The cloth's surface through `points` (row-major `rows × cols`), with smooth normals from
/// the grid and UVs across (u) and down (v), in the frame `to_local` maps the world into (the
/// inverse of the drawing entity's transform).
pub(crate) fn cloth_mesh(spec: &ClothSpec, points: &[Vec3], to_local: &Transform) -> Mesh {
    let (rows, cols) = (spec.rows, spec.cols);
    // A tube repeats its first column at the end so its texture and normals close the seam.
    let out_cols = if spec.wrap { cols + 1 } else { cols };
    let at = |r: usize, c: usize| points[r * cols + c % cols];
    let mut positions = Vec::with_capacity(rows * out_cols);
    let mut normals = Vec::with_capacity(rows * out_cols);
    let mut uvs = Vec::with_capacity(rows * out_cols);
    for r in 0..rows {
        for c in 0..out_cols {
            let down = at((r + 1).min(rows - 1), c) - at(r.saturating_sub(1), c);
            let across = if spec.wrap {
                at(r, c + 1) - at(r, c + cols - 1)
            } else {
                at(r, (c + 1).min(cols - 1)) - at(r, c.saturating_sub(1))
            };
            positions.push(to_local.transform_point(at(r, c)).to_array());
            normals.push(
                (to_local.rotation * across.cross(down))
                    .normalize_or(Vec3::Z)
                    .to_array(),
            );
            uvs.push([
                c as f32 / (out_cols - 1) as f32,
                r as f32 / (rows - 1) as f32,
            ]);
        }
    }
    ling_stage_fx::grid_mesh(rows, out_cols, positions, normals, uvs)
}

/// A back flag's pole: a thin gilded tube from its foot (the pinned edge carried on down, as
/// [`ling_back_flags`](super::garments::ling_back_flags) lays it out) to its top, with a knob.
pub(crate) fn pole_mesh(spec: &ClothSpec, points: &[Vec3]) -> Mesh {
    let top = points[0];
    let low = points[spec.cols - 1];
    // The flag covers the pole from 0.85 down to 0.30 of its length.
    let foot = low + (low - top) * (0.30 / 0.55);
    let tip = top + (top - low).normalize_or(Vec3::Y) * 0.04;
    crate::chains::tube(
        &[foot, low, top, tip],
        (0.008, 0.006),
        &[Color::srgb(0.95, 0.78, 0.3), Color::srgb(0.6, 0.4, 0.1)],
    )
}
