//! Chains: plumes, tassels, hair strands — spring-bone chains rooted on a bone of the
//! performer, with VRM spring-bone semantics (the reference for how they should feel).
//!
//! Each step, every joint's tail keeps part of its velocity (1 − drag), is pulled back towards
//! its rest direction relative to the segment before it (stiffness), is pushed by gravity, is
//! held at its segment length from the joint before it, and is pushed out of the performer's
//! body spheres. The update is a plain function over positions ([`ChainState::step`]), run in
//! the fixed 60 Hz schedule, so it is deterministic and testable on its own; rapier keeps the
//! stage's colliders for contacts.
//!
//! The parts, by file:
//!
//! - `state` — the chain: how it is built ([`ChainSpec`]), its state and step
//!   ([`ChainState`]), and the spheres it stays out of ([`Sphere`]);
//! - `plumes` — Ling's plumes ([`ling_plumes`]) and the spheres on her body;
//! - `mesh` — the tapered tube a chain is drawn as (the cloth's flag poles use it too);
//! - `plugin` — the ECS side: plumes put on the performer, stepped and redrawn, and the
//!   physics settings from the show and the director.

mod mesh;
mod plugin;
mod plumes;
mod state;

#[cfg(test)]
mod tests;

pub use plumes::ling_plumes;
pub use state::{ChainSpec, ChainState, Sphere};

pub(crate) use mesh::tube;
pub(crate) use plugin::plugin;
