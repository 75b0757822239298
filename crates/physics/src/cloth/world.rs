//! The rapier world the cloth lives in: particles and rope joints, bending springs and air
//! drag as forces, the performer's body as kinematic colliders, and the fixed step.

use bevy::prelude::*;
use bevy_rapier3d::rapier::prelude as rp;

use ling_core::settings::GroupSettings;

use super::body::BodyCapsule;
use super::spec::{ClothAnchor, ClothGroup, ClothSpec};

/// One cloth in the world.
struct ClothBodies {
    spec: ClothSpec,
    /// World frame of a set cloth's points.
    placement: Transform,
    particles: Vec<rp::RigidBodyHandle>,
    /// The bending springs between particles two apart, with their rest lengths: forces we
    /// add before each rapier step (rope joints alone keep the silk from stretching).
    bends: Vec<(usize, usize, f32)>,
    /// Spring stiffness and damping, per second squared and per second (acceleration of the
    /// pair per metre and per metre a second), from the group's settings.
    bend: (f32, f32),
    group: ClothGroup,
}

/// Collision groups: cloth touches the body and the floor, never itself (silk on silk is
/// left out: it costs a lot and only matters for folds we do not see).
const CLOTH: rp::Group = rp::Group::GROUP_1;
const BODY: rp::Group = rp::Group::GROUP_2;
const FLOOR: rp::Group = rp::Group::GROUP_3;

/// Rapier steps per physics step. Measured (`bench --only cloth`, 2 000 particles): a rapier
/// step costs ~1.2 ms plus ~1 ms per solver iteration; one substep or one iteration halves
/// that but lets the silk stretch past 5 % and sink 2 cm into a fast limb (the cloth tests),
/// so it is two of each.
const SUBSTEPS: usize = 2;
const SOLVER_ITERATIONS: usize = 2;

/// The rapier world the costume's cloth lives in, with the performer's body capsules. Its
/// default steps 1/60 s at a time. Cloths are addressed by the index
/// [`add_cloth`](Self::add_cloth) returns.
pub struct CostumeWorld {
    world: rp::PhysicsWorld,
    capsules: Vec<(BodyCapsule, rp::RigidBodyHandle)>,
    /// An avatar's own collider spheres and capsules (its VRM collider groups): kinematic
    /// bodies with their radius and half length, and where the next step takes them.
    avatar_colliders: Vec<(rp::RigidBodyHandle, f32, f32, rp::Pose)>,
    cloths: Vec<Option<ClothBodies>>,
}

impl Default for CostumeWorld {
    fn default() -> Self {
        Self::new(1.0 / 60.0)
    }
}

impl CostumeWorld {
    /// An empty world stepping `dt` seconds at a time, with the stage floor at y = 0.
    pub(crate) fn new(dt: f32) -> Self {
        let mut world = rp::PhysicsWorld::new();
        world.integration_parameters.dt = dt / SUBSTEPS as f32;
        world.integration_parameters.num_solver_iterations = SOLVER_ITERATIONS;
        let floor = world.insert_body(
            rp::RigidBodyBuilder::fixed()
                .translation(Vec3::new(0.0, -0.5, 0.0))
                .build(),
        );
        world.insert_collider(
            rp::ColliderBuilder::cuboid(20.0, 0.5, 20.0)
                .collision_groups(groups(FLOOR, CLOTH))
                .friction(0.6)
                .build(),
            Some(floor),
        );
        Self {
            world,
            capsules: Vec::new(),
            avatar_colliders: Vec::new(),
            cloths: Vec::new(),
        }
    }

    /// Gives the world a body to collide with, placed by the bones' world transforms. Any
    /// previous body is removed.
    pub fn set_body(&mut self, capsules: &[BodyCapsule], bones: &[Transform]) {
        for (_, handle) in self.capsules.drain(..) {
            self.world.remove_body(handle);
        }
        for capsule in capsules {
            let (pose, half) = capsule_pose(capsule, bones);
            let handle = self.world.insert_body(
                rp::RigidBodyBuilder::kinematic_position_based()
                    .pose(pose)
                    // Contacts are predicted along the limb's motion, so a fast leg meets
                    // the silk in the step it arrives instead of the one after.
                    .soft_ccd_prediction(0.1),
            );
            self.world.insert_collider(
                rp::ColliderBuilder::capsule_y(half, capsule.radius)
                    .collision_groups(groups(BODY, CLOTH))
                    .friction(0.3)
                    .build(),
                Some(handle),
            );
            self.capsules.push((*capsule, handle));
        }
    }

    /// Where an avatar's own colliders are for the next step: world segments (a sphere's ends
    /// coincide) with their radius. The first call, or one with other shapes, makes them.
    pub(crate) fn set_avatar_colliders(&mut self, segments: &[(Vec3, Vec3, f32)]) {
        let pose_of = |(a, b, _): &(Vec3, Vec3, f32)| {
            let axis = *b - *a;
            let rotation = Quat::from_rotation_arc(Vec3::Y, axis.normalize_or(Vec3::Y));
            (
                rp::Pose::from_parts((*a + *b) * 0.5, rotation),
                axis.length() * 0.5,
            )
        };
        let same_shapes = self.avatar_colliders.len() == segments.len()
            && self
                .avatar_colliders
                .iter()
                .zip(segments)
                .all(|((_, r, h, _), s)| (r - s.2).abs() < 1e-4 && (h - pose_of(s).1).abs() < 1e-3);
        if !same_shapes {
            for (handle, ..) in self.avatar_colliders.drain(..) {
                self.world.remove_body(handle);
            }
            for segment in segments {
                let (pose, half) = pose_of(segment);
                let handle = self.world.insert_body(
                    rp::RigidBodyBuilder::kinematic_position_based()
                        .pose(pose)
                        .soft_ccd_prediction(0.1),
                );
                let shape = if half > 1e-4 {
                    rp::ColliderBuilder::capsule_y(half, segment.2)
                } else {
                    rp::ColliderBuilder::ball(segment.2)
                };
                self.world.insert_collider(
                    shape
                        .collision_groups(groups(BODY, CLOTH))
                        .friction(0.3)
                        .build(),
                    Some(handle),
                );
                self.avatar_colliders.push((handle, segment.2, half, pose));
            }
            return;
        }
        for (collider, segment) in self.avatar_colliders.iter_mut().zip(segments) {
            collider.3 = pose_of(segment).0;
        }
    }

    /// Adds a cloth at rest around `anchor` (the bone's world transform for a bone cloth, the
    /// set piece's for a set cloth). Returns its index.
    pub fn add_cloth(&mut self, spec: ClothSpec, anchor: Transform) -> usize {
        let n = spec.rows * spec.cols;
        assert_eq!(
            spec.points.len(),
            n,
            "{}: points must be rows × cols",
            spec.name
        );
        let mass = spec.mass / n as f32;
        let mut particles = Vec::with_capacity(n);
        for (i, p) in spec.points.iter().enumerate() {
            let at = anchor.transform_point(*p);
            let handle = if spec.is_pinned(i) {
                self.world.insert_body(
                    rp::RigidBodyBuilder::kinematic_position_based()
                        .translation(at)
                        .build(),
                )
            } else {
                let handle = self.world.insert_body(
                    rp::RigidBodyBuilder::dynamic()
                        .translation(at)
                        .linear_damping(0.5)
                        .angular_damping(5.0)
                        .soft_ccd_prediction(0.05)
                        .can_sleep(false)
                        .build(),
                );
                self.world.insert_collider(
                    rp::ColliderBuilder::ball(spec.particle_radius)
                        .mass(mass)
                        .friction(0.3)
                        .collision_groups(groups(CLOTH, BODY | FLOOR))
                        .build(),
                    Some(handle),
                );
                handle
            };
            particles.push(handle);
        }
        for (i, j, length) in spec.links(1) {
            self.world.insert_impulse_joint(
                particles[i],
                particles[j],
                rp::RopeJointBuilder::new(length).build(),
            );
        }
        self.cloths.push(Some(ClothBodies {
            group: spec.group,
            placement: anchor,
            bends: spec.links(2),
            bend: (0.0, 0.0),
            spec,
            particles,
        }));
        self.cloths.len() - 1
    }

    /// Takes a cloth out of the world (its performer left the stage).
    pub(crate) fn remove_cloth(&mut self, cloth: usize) {
        if let Some(c) = self.cloths.get_mut(cloth).and_then(Option::take) {
            for handle in c.particles {
                self.world.remove_body(handle);
            }
        }
    }

    fn live(&self) -> impl Iterator<Item = &ClothBodies> {
        self.cloths.iter().flatten()
    }

    /// Indices of the cloths still in the world, in the order they were added.
    pub(crate) fn cloth_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.cloths
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| i)
    }

    fn cloth(&self, cloth: usize) -> &ClothBodies {
        self.cloths[cloth]
            .as_ref()
            .expect("cloth index of a removed cloth")
    }

    /// How many cloths are in the world.
    pub(crate) fn cloth_count(&self) -> usize {
        self.live().count()
    }

    /// How many particles all the cloths have together, pinned ones included.
    pub fn particle_count(&self) -> usize {
        self.live().map(|c| c.particles.len()).sum()
    }

    /// How `cloth` was built.
    pub(crate) fn spec(&self, cloth: usize) -> &ClothSpec {
        &self.cloth(cloth).spec
    }

    /// Applies group settings to every cloth of `group`.
    pub fn configure(&mut self, group: ClothGroup, settings: GroupSettings) {
        let bend = settings.stiffness.clamp(0.0, 100.0);
        // `drag` is the share of velocity the air takes per second.
        let damping = -(1.0 - settings.drag.clamp(0.0, 0.99)).ln();
        for cloth in self.cloths.iter().flatten().filter(|c| c.group == group) {
            for (i, &handle) in cloth.particles.iter().enumerate() {
                if cloth.spec.is_pinned(i) {
                    continue;
                }
                if let Some(body) = self.world.bodies.get_mut(handle) {
                    body.set_linear_damping(damping);
                    body.set_gravity_scale(settings.gravity, false);
                }
            }
        }
        for cloth in self
            .cloths
            .iter_mut()
            .flatten()
            .filter(|c| c.group == group)
        {
            cloth.bend = (bend * 40.0, bend.sqrt() * 2.0);
        }
    }

    /// Bending springs and air drag as forces on the free particles, from where they are now.
    fn apply_forces(&mut self, wind: Vec3) {
        let bodies = &mut self.world.bodies;
        for cloth in self.cloths.iter().flatten() {
            for &handle in &cloth.particles {
                if let Some(body) = bodies.get_mut(handle) {
                    if body.is_dynamic() {
                        // Air drag towards the wind's velocity: silk flies downwind and settles.
                        body.reset_forces(false);
                        let force = (wind - body.linvel()) * (body.mass() * 0.8);
                        body.add_force(force, false);
                    }
                }
            }
            let (k, c) = cloth.bend;
            if k <= 0.0 && c <= 0.0 {
                continue;
            }
            for &(i, j, rest) in &cloth.bends {
                let (a, b) = (cloth.particles[i], cloth.particles[j]);
                let (Some(ba), Some(bb)) = (bodies.get(a), bodies.get(b)) else {
                    continue;
                };
                let d = bb.translation() - ba.translation();
                let length = d.length();
                if length < 1e-6 {
                    continue;
                }
                let dir = d / length;
                let closing = (bb.linvel() - ba.linvel()).dot(dir);
                // The pair's reduced mass: a kinematic end counts as infinitely heavy.
                let (ma, mb) = (ba.mass(), bb.mass());
                let mass = match (ba.is_dynamic(), bb.is_dynamic()) {
                    (true, true) => ma * mb / (ma + mb).max(1e-9),
                    (true, false) => ma,
                    (false, true) => mb,
                    (false, false) => continue,
                };
                let force = dir * (mass * (k * (length - rest) + c * closing));
                if let Some(body) = bodies.get_mut(a) {
                    body.add_force(force, false);
                }
                if let Some(body) = bodies.get_mut(b) {
                    body.add_force(-force, false);
                }
            }
        }
    }

    /// One step: capsules and pinned edges move to where `bones` (world transforms by bone)
    /// put them, `wind` (m/s, the air's velocity) pushes the silk, then rapier steps.
    pub fn step(&mut self, bones: &[Transform], wind: Vec3) {
        // Where the kinematic bodies are now and where the bones want them.
        let targets = self
            .capsules
            .iter()
            .map(|(capsule, handle)| (*handle, capsule_pose(capsule, bones).0))
            .chain(self.avatar_colliders.iter().map(|(h, _, _, to)| (*h, *to)));
        let capsule_moves: Vec<(rp::RigidBodyHandle, rp::Pose, rp::Pose)> = targets
            .filter_map(|(handle, to)| {
                Some((handle, *self.world.bodies.get(handle)?.position(), to))
            })
            .collect();
        let mut pin_moves = Vec::new();
        for cloth in self.cloths.iter().flatten() {
            let anchor = anchor_transform(cloth, bones);
            for (i, &handle) in cloth.particles.iter().enumerate() {
                if !cloth.spec.is_pinned(i) {
                    continue;
                }
                if let Some(body) = self.world.bodies.get(handle) {
                    let to = anchor.transform_point(cloth.spec.points[i]);
                    pin_moves.push((handle, body.translation(), to));
                }
            }
        }
        // Substeps: a limb that moves several centimetres in a frame sweeps through the silk
        // in smaller steps, so contacts catch it.
        for k in 1..=SUBSTEPS {
            let f = k as f32 / SUBSTEPS as f32;
            for (handle, from, to) in &capsule_moves {
                if let Some(body) = self.world.bodies.get_mut(*handle) {
                    body.set_next_kinematic_position(rp::Pose::from_parts(
                        from.translation.lerp(to.translation, f),
                        from.rotation.slerp(to.rotation, f),
                    ));
                }
            }
            for (handle, from, to) in &pin_moves {
                if let Some(body) = self.world.bodies.get_mut(*handle) {
                    body.set_next_kinematic_translation(from.lerp(*to, f));
                }
            }
            self.apply_forces(wind);
            self.world.step();
        }
    }

    /// Puts every cloth back at rest around its anchor, still (after a seek or a teleport).
    pub(crate) fn reset(&mut self, bones: &[Transform]) {
        for (capsule, handle) in &self.capsules {
            let (pose, _) = capsule_pose(capsule, bones);
            if let Some(body) = self.world.bodies.get_mut(*handle) {
                body.set_position(pose, true);
            }
        }
        for cloth in self.cloths.iter().flatten() {
            let anchor = anchor_transform(cloth, bones);
            for (i, &handle) in cloth.particles.iter().enumerate() {
                if let Some(body) = self.world.bodies.get_mut(handle) {
                    body.set_translation(anchor.transform_point(cloth.spec.points[i]), true);
                    body.set_linvel(Vec3::ZERO, true);
                    body.set_angvel(Vec3::ZERO, true);
                }
            }
        }
    }

    /// Where the pinned edge of `cloth` is now, compared with where its anchor wants it: a
    /// large jump means the performer was teleported.
    pub(crate) fn anchor_jump(&self, cloth: usize, bones: &[Transform]) -> f32 {
        let c = self.cloth(cloth);
        let anchor = anchor_transform(c, bones);
        self.world
            .bodies
            .get(c.particles[0])
            .map(|b| {
                b.translation()
                    .distance(anchor.transform_point(c.spec.points[0]))
            })
            .unwrap_or(0.0)
    }

    /// The particles of `cloth`, in the world, row-major.
    pub(crate) fn positions(&self, cloth: usize) -> Vec<Vec3> {
        self.cloth(cloth)
            .particles
            .iter()
            .map(|h| {
                self.world
                    .bodies
                    .get(*h)
                    .map(|b| b.translation())
                    .unwrap_or(Vec3::ZERO)
            })
            .collect()
    }
}

/// Measurements the tests make.
#[cfg(test)]
impl CostumeWorld {
    /// Kinetic energy of all free particles, joules.
    pub(crate) fn energy(&self) -> f32 {
        self.live()
            .flat_map(|c| &c.particles)
            .filter_map(|h| self.world.bodies.get(*h))
            .filter(|b| b.is_dynamic())
            .map(|b| 0.5 * b.mass() * b.linvel().length_squared())
            .sum()
    }

    /// How deep the deepest free particle's ball reaches into a body capsule, metres (zero or
    /// less: nothing inside). The row next to the pinned edge is left out: it is held a few
    /// centimetres from the bone and goes wherever the bone goes.
    pub(crate) fn deepest_penetration(&self, bones: &[Transform]) -> f32 {
        self.deepest_penetration_at(bones).0
    }

    /// The deepest penetration, with the capsule and the cloth particle (cloth, index).
    pub(crate) fn deepest_penetration_at(
        &self,
        bones: &[Transform],
    ) -> (f32, usize, (usize, usize)) {
        let mut deepest = (f32::NEG_INFINITY, 0, (0, 0));
        for (k, cloth) in self.cloths.iter().enumerate() {
            let Some(cloth) = cloth else { continue };
            let radius = cloth.spec.particle_radius;
            for (i, p) in self.positions_iter(cloth).enumerate() {
                // The pinned edge and the row sewn to it go where the bone takes them (a
                // cuff on a wrist that rests against the hip is pressed into it).
                if i / cloth.spec.cols <= cloth.spec.pinned_rows || cloth.spec.is_pinned(i) {
                    continue;
                }
                for (c, (capsule, _)) in self.capsules.iter().enumerate() {
                    let d = capsule.penetration(bones, p, radius);
                    if d > deepest.0 {
                        deepest = (d, c, (k, i));
                    }
                }
            }
        }
        deepest
    }

    fn positions_iter<'a>(&'a self, cloth: &'a ClothBodies) -> impl Iterator<Item = Vec3> + 'a {
        cloth.particles.iter().map(|h| {
            self.world
                .bodies
                .get(*h)
                .map(|b| b.translation())
                .unwrap_or(Vec3::ZERO)
        })
    }
}

fn groups(memberships: rp::Group, filter: rp::Group) -> rp::InteractionGroups {
    rp::InteractionGroups::new(memberships, filter, rp::InteractionTestMode::And)
}

fn anchor_transform(cloth: &ClothBodies, bones: &[Transform]) -> Transform {
    match cloth.spec.anchor {
        ClothAnchor::Bone(bone) => bones[bone.index()],
        ClothAnchor::Set => cloth.placement,
    }
}

/// A capsule's pose (centre, Y axis along the segment) and half height.
fn capsule_pose(capsule: &BodyCapsule, bones: &[Transform]) -> (rp::Pose, f32) {
    let (a, b) = capsule.segment(bones);
    let axis = b - a;
    let rotation = Quat::from_rotation_arc(Vec3::Y, axis.normalize_or(Vec3::Y));
    (
        rp::Pose::from_parts((a + b) * 0.5, rotation),
        axis.length() * 0.5,
    )
}
