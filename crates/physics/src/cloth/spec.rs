//! How a cloth is built: its particle grid, what its pinned edge hangs from, and its group.

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use ling_core::signals::HumanBone;

/// Which group a cloth belongs to (groups share settings in the panel and show file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClothGroup {
    /// The performer's water sleeves.
    Sleeves,
    /// The set's door curtains.
    Curtains,
    /// The back flags on the performer's armour.
    Flags,
}

/// What a cloth's pinned edge hangs from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClothAnchor {
    /// A bone of the performer: points are in that bone's rest frame, relative to its joint.
    Bone(HumanBone),
    /// A set piece: points are in the world frame given when the cloth is added.
    Set,
}

/// How to build a cloth: a grid of particles at rest around its anchor, with the rows (and
/// perhaps the column) pinned to it. Made by [`ling_sleeve`](super::ling_sleeve),
/// [`door_curtain`](super::door_curtain) and the back flags; given to
/// [`CostumeWorld::add_cloth`](super::CostumeWorld::add_cloth).
#[derive(Debug, Clone)]
pub struct ClothSpec {
    /// What the cloth is, for logs and entity names ("left water sleeve").
    pub(crate) name: String,
    /// The settings group the cloth follows.
    pub(crate) group: ClothGroup,
    /// What the pinned edge hangs from, and so the frame of `points`.
    pub anchor: ClothAnchor,
    /// Grid size: `rows` along the hanging direction (row 0 is the pinned edge), `cols`
    /// across it.
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// Whether the last column joins the first (a sleeve is a tube).
    pub(crate) wrap: bool,
    /// `rows × cols` rest positions, row-major, in the anchor's frame.
    pub(crate) points: Vec<Vec3>,
    /// How many rows from the top are pinned to the anchor.
    pub(crate) pinned_rows: usize,
    /// Whether the first column is pinned too (a flag's top edge, stiffened by a stick).
    pub(crate) pinned_first_col: bool,
    /// Radius of each particle's collision ball (the cloth's thickness for contacts).
    pub(crate) particle_radius: f32,
    /// Mass of the whole cloth, kilograms.
    pub(crate) mass: f32,
}

impl ClothSpec {
    /// The row-major index of the particle at `row`, `col`.
    pub(crate) fn index(&self, row: usize, col: usize) -> usize {
        row * self.cols + col
    }

    /// Whether particle `i` (row-major) is pinned to the anchor.
    pub(crate) fn is_pinned(&self, i: usize) -> bool {
        i / self.cols < self.pinned_rows || (self.pinned_first_col && i % self.cols == 0)
    }

    /// Neighbour pairs at `step` rows or columns apart, with their rest lengths.
    pub(crate) fn links(&self, step: usize) -> Vec<(usize, usize, f32)> {
        let mut out = Vec::new();
        for r in 0..self.rows {
            for c in 0..self.cols {
                let i = self.index(r, c);
                let across = if c + step < self.cols {
                    Some(c + step)
                } else if self.wrap && self.cols > 2 * step {
                    Some((c + step) % self.cols)
                } else {
                    None
                };
                if let Some(c2) = across {
                    let j = self.index(r, c2);
                    out.push((i, j, self.points[i].distance(self.points[j])));
                }
                if r + step < self.rows {
                    let j = self.index(r + step, c);
                    out.push((i, j, self.points[i].distance(self.points[j])));
                }
            }
        }
        out
    }
}
