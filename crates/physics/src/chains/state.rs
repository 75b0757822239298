//! The chain itself: how it is built, and its state stepped as a plain function over positions.

use bevy::prelude::*;

use ling_core::settings::ChainGroup;
use ling_core::signals::HumanBone;

/// How to build a chain: its joints at rest on a bone, its VRM spring parameters, and how it
/// is drawn. [`ling_plumes`](super::ling_plumes) makes Ling's; [`ChainState::new`] puts one in the world.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// What the chain is, for entity names ("left plume").
    pub(crate) name: String,
    /// The settings group the chain follows.
    pub(crate) group: ChainGroup,
    /// The bone the chain hangs from.
    pub(crate) bone: HumanBone,
    /// The joints in the bone's rest (model) space, offset from the bone's joint, metres; the
    /// first point is the chain's root.
    pub points: Vec<Vec3>,
    /// Tube radius at the root and at the tip (for drawing).
    pub(crate) radius: (f32, f32),
    /// Pull back towards the rest bend, per second (VRM `stiffness`).
    pub(crate) stiffness: f32,
    /// Fraction of velocity lost per step (VRM `dragForce`, 0..1).
    pub(crate) drag: f32,
    /// Gravity (VRM `gravityPower`, metres per second per step) and its direction.
    pub(crate) gravity: f32,
    /// The tube's two colours, light and dark, alternating in feather bands.
    pub(crate) colors: [Color; 2],
}

/// The simulated state of one chain, in world space, stepped with [`ChainState::step`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChainState {
    /// Rest points in the root bone's frame (relative to the bone's joint).
    pub(crate) rest: Vec<Vec3>,
    /// Where the joints are now, world space.
    pub(crate) current: Vec<Vec3>,
    /// Where the joints were a step ago (their velocity is the difference).
    pub(crate) previous: Vec<Vec3>,
    /// As in [`ChainSpec`], set from the group's settings every step.
    pub(crate) stiffness: f32,
    pub(crate) drag: f32,
    pub(crate) gravity: f32,
    /// The chain's own radius at the root and the tip: it stays this far out of body spheres.
    pub(crate) thickness: (f32, f32),
}

/// A body sphere the chain stays out of (world space).
#[derive(Debug, Clone, Copy)]
pub struct Sphere {
    /// Centre, world space.
    pub center: Vec3,
    /// Radius, metres.
    pub radius: f32,
}

impl ChainState {
    /// A chain at rest around a bone placed at `bone`.
    pub fn new(spec: &ChainSpec, bone: Transform) -> Self {
        let world: Vec<Vec3> = spec
            .points
            .iter()
            .map(|p| bone.transform_point(*p))
            .collect();
        Self {
            rest: spec.points.clone(),
            current: world.clone(),
            previous: world,
            stiffness: spec.stiffness,
            drag: spec.drag,
            gravity: spec.gravity,
            thickness: spec.radius,
        }
    }

    /// Puts the chain back at rest around `bone` (after a teleport or a seek).
    pub(crate) fn reset(&mut self, bone: Transform) {
        self.current = self.rest.iter().map(|p| bone.transform_point(*p)).collect();
        self.previous = self.current.clone();
    }

    /// One step of `dt` seconds with the root bone at `bone`, staying out of `spheres`.
    pub fn step(&mut self, bone: Transform, dt: f32, spheres: &[Sphere]) {
        self.step_in_wind(bone, dt, spheres, Vec3::ZERO);
    }

    /// One step with a wind push (metres per second per step) as well as gravity.
    pub(crate) fn step_in_wind(
        &mut self,
        bone: Transform,
        dt: f32,
        spheres: &[Sphere],
        wind: Vec3,
    ) {
        let n = self.rest.len();
        let root = bone.transform_point(self.rest[0]);
        self.previous[0] = self.current[0];
        self.current[0] = root;
        // The frame of the segment before each joint: starts as the bone's rotation and turns
        // with the chain, so the rest bend is kept relative to the previous segment.
        let mut frame = bone.rotation;
        for i in 1..n {
            let rest_dir = (self.rest[i] - self.rest[i - 1]).normalize_or_zero();
            let length = self.rest[i].distance(self.rest[i - 1]);
            let head = self.current[i - 1];
            let tail = self.current[i];
            let inertia = (tail - self.previous[i]) * (1.0 - self.drag);
            let target_dir = frame * rest_dir;
            let stiffness = target_dir * (self.stiffness * dt);
            let gravity = (Vec3::NEG_Y * self.gravity + wind) * dt;
            let mut next = tail + inertia + stiffness + gravity;
            next = head + (next - head).normalize_or(target_dir) * length;
            let t = i as f32 / (n - 1).max(1) as f32;
            let thickness = self.thickness.0 + (self.thickness.1 - self.thickness.0) * t;
            // Push out of the spheres, then back to the segment length; a few rounds settle
            // the two constraints together.
            for _ in 0..3 {
                for s in spheres {
                    let d = next - s.center;
                    let reach = s.radius + thickness;
                    if d.length_squared() < reach * reach {
                        next = s.center + d.normalize_or(Vec3::Y) * reach;
                        next = head + (next - head).normalize_or(target_dir) * length;
                    }
                }
            }
            self.previous[i] = tail;
            self.current[i] = next;
            // Turn the frame by how this segment turned away from its rest direction.
            let now_dir = (next - head).normalize_or(target_dir);
            frame = Quat::from_rotation_arc(target_dir, now_dir) * frame;
        }
    }

    /// Kinetic energy per unit mass of the chain's joints, from the last step (m²/s²).
    #[cfg(test)]
    pub(crate) fn energy(&self, dt: f32) -> f32 {
        self.current
            .iter()
            .zip(&self.previous)
            .map(|(c, p)| 0.5 * ((*c - *p) / dt).length_squared())
            .sum()
    }
}
