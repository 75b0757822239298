//! Chain meshes: a smooth curve through the joints, drawn as a tapered, banded tube.

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;

pub(super) fn catmull(points: &[Vec3], per_segment: usize) -> Vec<Vec3> {
    let n = points.len();
    let mut out = Vec::with_capacity(n * per_segment);
    for i in 0..n - 1 {
        let p0 = points[i.saturating_sub(1)];
        let (p1, p2) = (points[i], points[i + 1]);
        let p3 = points[(i + 2).min(n - 1)];
        for k in 0..per_segment {
            let t = k as f32 / per_segment as f32;
            let (t2, t3) = (t * t, t * t * t);
            out.push(
                0.5 * ((2.0 * p1)
                    + (-p0 + p2) * t
                    + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * t2
                    + (-p0 + 3.0 * p1 - 3.0 * p2 + p3) * t3),
            );
        }
    }
    out.push(points[n - 1]);
    out
}

/// A tapered tube through `points` with feather bands between two colours.
pub(crate) fn tube(points: &[Vec3], radius: (f32, f32), colors: &[Color; 2]) -> Mesh {
    // Thin feathers need few sides; a wide silk sleeve needs a round mouth.
    let segments = if radius.0.max(radius.1) > 0.03 {
        18usize
    } else {
        6
    };
    let n = points.len();
    let mut positions = Vec::with_capacity(n * segments);
    let mut normals = Vec::with_capacity(n * segments);
    let mut vertex_colors = Vec::with_capacity(n * segments);
    let (light, dark) = (
        colors[0].to_linear().to_f32_array(),
        colors[1].to_linear().to_f32_array(),
    );
    let mut side_prev: Option<Vec3> = None;
    for i in 0..n {
        let t = i as f32 / (n - 1).max(1) as f32;
        let tangent =
            (points[(i + 1).min(n - 1)] - points[i.saturating_sub(1)]).normalize_or(Vec3::Y);
        let seed = side_prev.unwrap_or_else(|| tangent.any_orthonormal_vector());
        let side =
            (seed - tangent * seed.dot(tangent)).normalize_or(tangent.any_orthonormal_vector());
        side_prev = Some(side);
        let bi = tangent.cross(side);
        let r = radius.0 + (radius.1 - radius.0) * t;
        let band = (t * 26.0).fract() < 0.28;
        for k in 0..segments {
            let a = k as f32 / segments as f32 * std::f32::consts::TAU;
            let dir = side * a.cos() + bi * a.sin();
            positions.push((points[i] + dir * r).to_array());
            normals.push(dir.to_array());
            vertex_colors.push(if band { dark } else { light });
        }
    }
    let mut indices = Vec::with_capacity(n.saturating_sub(1) * segments * 6);
    for i in 0..n.saturating_sub(1) {
        for k in 0..segments {
            let a = (i * segments + k) as u32;
            let b = (i * segments + (k + 1) % segments) as u32;
            let s = segments as u32;
            indices.extend_from_slice(&[a, b, a + s, b, b + s, a + s]);
        }
    }
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
    .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, vertex_colors)
    .with_inserted_indices(Indices::U32(indices))
}
