//! Cloth: water sleeves, door curtains and banners as particle grids in rapier.
//!
//! Each cloth is a grid of small dynamic balls in a rapier world of its own
//! ([`CostumeWorld`]), linked along rows and columns by rope joints (silk does not stretch but
//! folds freely) and two apart by soft springs (how much it resists bending), added as forces
//! before each rapier step: as rapier spring joints they cost a third of the step. Pinned particles
//! are kinematic and follow a bone of the performer (a sleeve's cuff) or stay where the set
//! hangs them (a curtain's rail). The performer's body is a set of kinematic capsules moved
//! with the animated skeleton every step, so silk slides over arms, torso and robe instead of
//! passing through them. The mesh is rebuilt from the particle positions every frame, normals
//! included.
//!
//! The world steps in the fixed 60 Hz schedule with a fixed time step and a fixed insertion
//! order, so the same take gives the same cloth every time. Each piece has a rapier world of
//! its own with its own copy of the body's colliders, so the pieces step in parallel on up to
//! [`CostumeWorld::threads`] threads (`LING_CLOTH_THREADS`, by default the machine's cores)
//! and the cloth is the same, bit for bit, whatever the count.
//!
//! The parts, by file:
//!
//! - `spec` — how a cloth is built ([`ClothSpec`]): its particle grid, what it hangs from
//!   ([`ClothAnchor`]) and the settings group it belongs to ([`ClothGroup`]);
//! - `body` — the performer's body as capsules ([`BodyCapsule`], [`ling_body`]) and her bones
//!   in the world ([`world_bones`]);
//! - `world` — the rapier world ([`CostumeWorld`]): particles, rope joints, bending forces,
//!   body colliders and stepping;
//! - `garments` — the pieces it builds: the water sleeves ([`ling_sleeve`]), the back flags and
//!   the set's door curtains ([`door_curtain`]);
//! - `mesh` — the surfaces drawn from the particles;
//! - `plugin` — the ECS side: cloth put on performers and on set pieces ([`ClothPanel`]),
//!   stepped in the fixed schedule and redrawn every frame.

mod body;
mod garments;
mod mesh;
mod plugin;
mod spec;
mod world;

#[cfg(test)]
mod tests;

pub use body::{BodyCapsule, ling_body, world_bones};
pub use garments::{door_curtain, ling_sleeve};
pub use plugin::ClothPanel;
pub use spec::{ClothAnchor, ClothGroup, ClothSpec};
pub use world::{CostumeWorld, THREADS_ENV};

pub(crate) use plugin::plugin;
