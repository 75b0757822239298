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
//! order, so the same take gives the same cloth every time.

use bevy::prelude::*;
use bevy_rapier3d::rapier::prelude as rp;
use serde::{Deserialize, Serialize};

use ling_core::settings::{GroupSettings, PhysicsSettings};
use ling_core::show::{DirectorCommand, ShowClock};
use ling_core::signals::{HumanBone, HumanoidPose, Performer};

/// A pinned edge that moves further than this in one step has been teleported (a seek, a cut
/// in the motion): the cloth is put back at rest instead of whipping across the stage.
const TELEPORT_DISTANCE: f32 = 0.25;

/// Which group a cloth belongs to (groups share settings in the panel and show file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClothGroup {
    Sleeves,
    Curtains,
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

/// How to build a cloth.
#[derive(Debug, Clone)]
pub struct ClothSpec {
    pub name: String,
    pub group: ClothGroup,
    pub anchor: ClothAnchor,
    /// Grid size: `rows` along the hanging direction (row 0 is the pinned edge), `cols`
    /// across it.
    pub rows: usize,
    pub cols: usize,
    /// Whether the last column joins the first (a sleeve is a tube).
    pub wrap: bool,
    /// `rows × cols` rest positions, row-major, in the anchor's frame.
    pub points: Vec<Vec3>,
    /// How many rows from the top are pinned to the anchor.
    pub pinned_rows: usize,
    /// Whether the first column is pinned too (a flag's top edge, stiffened by a stick).
    pub pinned_first_col: bool,
    /// Radius of each particle's collision ball (the cloth's thickness for contacts).
    pub particle_radius: f32,
    /// Mass of the whole cloth, kilograms.
    pub mass: f32,
}

impl ClothSpec {
    pub fn index(&self, row: usize, col: usize) -> usize {
        row * self.cols + col
    }

    /// Whether particle `i` (row-major) is pinned to the anchor.
    pub fn is_pinned(&self, i: usize) -> bool {
        i / self.cols < self.pinned_rows || (self.pinned_first_col && i % self.cols == 0)
    }

    /// Neighbour pairs at `step` rows or columns apart, with their rest lengths.
    fn links(&self, step: usize) -> Vec<(usize, usize, f32)> {
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

/// A capsule on the performer's body, from one bone's joint (plus an offset in its frame) to
/// another's.
#[derive(Debug, Clone, Copy)]
pub struct BodyCapsule {
    pub from: (HumanBone, Vec3),
    pub to: (HumanBone, Vec3),
    pub radius: f32,
}

impl BodyCapsule {
    /// End points in the world, given the bones' world transforms (indexed by bone).
    pub fn segment(&self, bones: &[Transform]) -> (Vec3, Vec3) {
        (
            bones[self.from.0.index()].transform_point(self.from.1),
            bones[self.to.0.index()].transform_point(self.to.1),
        )
    }

    /// How deep a ball of `radius` at `p` reaches into the capsule (negative: clear of it).
    pub fn penetration(&self, bones: &[Transform], p: Vec3, radius: f32) -> f32 {
        let (a, b) = self.segment(bones);
        let ab = b - a;
        let t = ((p - a).dot(ab) / ab.length_squared().max(1e-12)).clamp(0.0, 1.0);
        self.radius + radius - p.distance(a + ab * t)
    }
}

/// The built-in performer's body as capsules: torso, robe, head, arms and legs.
pub fn ling_body() -> Vec<BodyCapsule> {
    use HumanBone as B;
    let cap = |from: B, to: B, radius: f32| BodyCapsule {
        from: (from, Vec3::ZERO),
        to: (to, Vec3::ZERO),
        radius,
    };
    let mut body = vec![
        cap(B::Hips, B::UpperChest, 0.15),
        cap(B::UpperChest, B::Neck, 0.12),
        BodyCapsule {
            from: (B::Head, Vec3::new(0.0, 0.04, 0.0)),
            to: (B::Head, Vec3::new(0.0, 0.14, 0.0)),
            radius: 0.1,
        },
    ];
    for (upper_arm, lower_arm, hand, upper_leg, lower_leg, foot) in [
        (
            B::LeftUpperArm,
            B::LeftLowerArm,
            B::LeftHand,
            B::LeftUpperLeg,
            B::LeftLowerLeg,
            B::LeftFoot,
        ),
        (
            B::RightUpperArm,
            B::RightLowerArm,
            B::RightHand,
            B::RightUpperLeg,
            B::RightLowerLeg,
            B::RightFoot,
        ),
    ] {
        body.push(cap(upper_arm, lower_arm, 0.05));
        body.push(cap(lower_arm, hand, 0.04));
        // The robe's skirt around each leg.
        body.push(cap(upper_leg, lower_leg, 0.12));
        body.push(cap(lower_leg, foot, 0.13));
    }
    body
}

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

/// The rapier world the costume's cloth lives in, with the performer's body capsules.
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
    pub fn new(dt: f32) -> Self {
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
    pub fn set_avatar_colliders(&mut self, segments: &[(Vec3, Vec3, f32)]) {
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
    pub fn remove_cloth(&mut self, cloth: usize) {
        if let Some(c) = self.cloths.get_mut(cloth).and_then(Option::take) {
            for handle in c.particles {
                self.world.remove_body(handle);
            }
        }
    }

    fn live(&self) -> impl Iterator<Item = &ClothBodies> {
        self.cloths.iter().flatten()
    }

    fn cloth(&self, cloth: usize) -> &ClothBodies {
        self.cloths[cloth]
            .as_ref()
            .expect("cloth index of a removed cloth")
    }

    pub fn cloth_count(&self) -> usize {
        self.live().count()
    }

    pub fn particle_count(&self) -> usize {
        self.live().map(|c| c.particles.len()).sum()
    }

    pub fn spec(&self, cloth: usize) -> &ClothSpec {
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
    pub fn reset(&mut self, bones: &[Transform]) {
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
    pub fn anchor_jump(&self, cloth: usize, bones: &[Transform]) -> f32 {
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
    pub fn positions(&self, cloth: usize) -> Vec<Vec3> {
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

    /// Kinetic energy of all free particles, joules.
    pub fn energy(&self) -> f32 {
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
    pub fn deepest_penetration(&self, bones: &[Transform]) -> f32 {
        self.deepest_penetration_at(bones).0
    }

    /// The deepest penetration, with the capsule and the cloth particle (cloth, index).
    pub fn deepest_penetration_at(&self, bones: &[Transform]) -> (f32, usize, (usize, usize)) {
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

/// A water sleeve (水袖): a silk tube from the cuff at `hand`, following
/// `performer::builtin::sleeve_path`, widening towards its mouth.
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
pub fn ling_back_flags() -> Vec<ClothSpec> {
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
/// in the frame of the set piece (centre of the curtain, facing +Z).
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

/// The cloth's surface through `points` (row-major `rows × cols`), with smooth normals from
/// the grid and UVs across (u) and down (v), in the frame `to_local` maps the world into (the
/// inverse of the drawing entity's transform).
pub fn cloth_mesh(spec: &ClothSpec, points: &[Vec3], to_local: &Transform) -> Mesh {
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

// --- In the app -------------------------------------------------------------------------

/// The costume's cloth world, stepped in the fixed schedule.
#[derive(Resource, Default)]
pub struct CostumeCloth {
    pub world: CostumeWorld,
    /// The performer whose body the cloth collides with (the one on stage).
    pub performer: Option<Entity>,
}

/// A drawn cloth: its mesh is rebuilt from the particles every frame, in the frame of the
/// entity's `to_local` transform.
#[derive(Component)]
pub struct ClothPiece {
    pub cloth: usize,
    /// None in a headless app (no meshes to draw).
    mesh: Option<Handle<Mesh>>,
    /// The performer a sleeve belongs to (none for set pieces).
    owner: Option<Entity>,
    to_local: Transform,
}

/// Put on a set piece that hangs as cloth while costume physics runs: the stage's door
/// curtains. Its mesh is replaced by the simulated one.
#[derive(Component, Debug, Clone, Copy)]
pub struct ClothPanel {
    pub width: f32,
    pub height: f32,
    pub folds: f32,
    pub depth: f32,
}

pub fn plugin(app: &mut App) {
    app.init_resource::<CostumeCloth>()
        .add_systems(
            Update,
            (
                attach_set_cloth,
                attach_sleeves,
                drop_departed_cloth,
                configure_cloth,
                reset_cloth_on_command,
                draw_cloth,
            )
                .chain(),
        )
        .add_systems(FixedUpdate, step_cloth);
}

/// World transforms of every bone of a performer.
pub fn world_bones(root: &Transform, pose: &HumanoidPose) -> Vec<Transform> {
    pose.model_transforms()
        .iter()
        .map(|t| root.mul_transform(*t))
        .collect()
}

fn attach_set_cloth(
    mut commands: Commands,
    mut cloth: ResMut<CostumeCloth>,
    panels: Query<(Entity, &ClothPanel, &Transform), Added<ClothPanel>>,
    mut meshes: Option<ResMut<Assets<Mesh>>>,
) {
    for (entity, panel, placement) in &panels {
        let spec = door_curtain(panel.width, panel.height, panel.folds, panel.depth);
        let index = cloth.world.add_cloth(spec.clone(), *placement);
        let to_local = Transform::from_matrix(placement.to_matrix().inverse());
        let mesh = meshes
            .as_mut()
            .map(|m| m.add(cloth_mesh(&spec, &cloth.world.positions(index), &to_local)));
        let mut e = commands.entity(entity);
        e.insert(ClothPiece {
            cloth: index,
            mesh: mesh.clone(),
            owner: None,
            to_local,
        });
        if let Some(mesh) = mesh {
            e.insert((Mesh3d(mesh), bevy::camera::visibility::NoFrustumCulling));
        }
    }
}

/// Gives the built-in performer her water sleeves and back flags, and any performer a body for
/// the cloth to collide with.
fn attach_sleeves(
    mut commands: Commands,
    mut cloth: ResMut<CostumeCloth>,
    added: Query<(Entity, &Transform, &HumanoidPose, &Performer), Added<Performer>>,
    mut meshes: Option<ResMut<Assets<Mesh>>>,
    mut materials: Option<ResMut<Assets<StandardMaterial>>>,
) {
    for (entity, root, pose, performer) in &added {
        let bones = world_bones(root, pose);
        cloth.world.set_body(&ling_body(), &bones);
        cloth.performer = Some(entity);
        if performer.bones.is_empty() {
            continue; // avatars wear their own costume
        }
        let mut silk = |colour: Color, roughness: f32| {
            materials.as_mut().map(|m| {
                m.add(StandardMaterial {
                    base_color: colour,
                    perceptual_roughness: roughness,
                    double_sided: true,
                    cull_mode: None,
                    ..default()
                })
            })
        };
        let (white, teal) = (
            silk(Color::srgb(0.97, 0.97, 1.0), 0.45),
            silk(Color::srgb(0.1, 0.5, 0.45), 0.5),
        );
        // The tube's vertex colours (gold bands) tint a plain material.
        let gilt = materials.as_mut().map(|m| {
            m.add(StandardMaterial {
                perceptual_roughness: 0.35,
                metallic: 0.6,
                ..default()
            })
        });
        let mut worn = Worn {
            commands: &mut commands,
            cloth: &mut cloth,
            meshes: meshes.as_deref_mut(),
            bones: &bones,
            owner: entity,
        };
        for side in [1.0f32, -1.0] {
            worn.put_on(ling_sleeve(side), white.clone());
        }
        for spec in ling_back_flags() {
            let (piece, index) = worn.put_on(spec, teal.clone());
            let spec = worn.cloth.world.spec(index).clone();
            let points = worn.cloth.world.positions(index);
            if let (Some(meshes), Some(gilt)) = (worn.meshes.as_mut(), gilt.clone()) {
                let mesh = meshes.add(pole_mesh(&spec, &points));
                worn.commands.entity(piece).with_child((
                    FlagPole(mesh.clone()),
                    Mesh3d(mesh),
                    MeshMaterial3d(gilt),
                    bevy::camera::visibility::NoFrustumCulling,
                ));
            }
        }
    }
}

/// What putting cloth on a performer needs.
struct Worn<'a, 'w, 's> {
    commands: &'a mut Commands<'w, 's>,
    cloth: &'a mut CostumeCloth,
    meshes: Option<&'a mut Assets<Mesh>>,
    bones: &'a [Transform],
    owner: Entity,
}

impl Worn<'_, '_, '_> {
    /// Adds a cloth hanging from a bone of the performer, drawn in world coordinates by an
    /// entity at the origin (with `material`, in a window); returns that entity and the cloth.
    fn put_on(
        &mut self,
        spec: ClothSpec,
        material: Option<Handle<StandardMaterial>>,
    ) -> (Entity, usize) {
        let at = match spec.anchor {
            ClothAnchor::Bone(bone) => self.bones[bone.index()],
            ClothAnchor::Set => Transform::IDENTITY,
        };
        let index = self.cloth.world.add_cloth(spec.clone(), at);
        let mesh = self.meshes.as_mut().map(|m| {
            m.add(cloth_mesh(
                &spec,
                &self.cloth.world.positions(index),
                &Transform::IDENTITY,
            ))
        });
        let mut e = self.commands.spawn((
            Name::new(spec.name),
            Transform::IDENTITY,
            Visibility::default(),
            ClothPiece {
                cloth: index,
                mesh: mesh.clone(),
                owner: Some(self.owner),
                to_local: Transform::IDENTITY,
            },
        ));
        if let (Some(mesh), Some(material)) = (mesh, material) {
            e.insert((
                Mesh3d(mesh),
                MeshMaterial3d(material),
                bevy::camera::visibility::NoFrustumCulling,
            ));
        }
        (e.id(), index)
    }
}

/// The pole a back flag is sewn to, drawn through its pinned edge and on down to its foot.
#[derive(Component)]
struct FlagPole(Handle<Mesh>);

/// A back flag's pole: a thin gilded tube from its foot (the pinned edge carried on down, as
/// [`ling_back_flags`] lays it out) to its top, with a knob.
fn pole_mesh(spec: &ClothSpec, points: &[Vec3]) -> Mesh {
    let top = points[0];
    let low = points[spec.cols - 1];
    // The flag covers the pole from 0.85 down to 0.30 of its length.
    let foot = low + (low - top) * (0.30 / 0.55);
    let tip = top + (top - low).normalize_or(Vec3::Y) * 0.04;
    super::chains::tube(
        &[foot, low, top, tip],
        (0.008, 0.006),
        &[Color::srgb(0.95, 0.78, 0.3), Color::srgb(0.6, 0.4, 0.1)],
    )
}

/// Removes the sleeves of a performer who left the stage.
fn drop_departed_cloth(
    mut commands: Commands,
    mut cloth: ResMut<CostumeCloth>,
    pieces: Query<(Entity, &ClothPiece)>,
    performers: Query<(), With<Performer>>,
) {
    for (entity, piece) in &pieces {
        if piece.owner.is_some_and(|owner| !performers.contains(owner)) {
            cloth.world.remove_cloth(piece.cloth);
            commands.entity(entity).despawn();
        }
    }
    if cloth.performer.is_some_and(|p| !performers.contains(p)) {
        cloth.performer = None;
        cloth.world.set_body(&[], &[]);
    }
}

fn configure_cloth(settings: Res<PhysicsSettings>, mut cloth: ResMut<CostumeCloth>) {
    if settings.is_changed() || cloth.is_added() {
        cloth.world.configure(ClothGroup::Sleeves, settings.sleeves);
        cloth
            .world
            .configure(ClothGroup::Curtains, settings.curtains);
        cloth.world.configure(ClothGroup::Flags, settings.flags);
    }
}

/// Seeks, stage resets and the panel's reset put the cloth back at rest.
fn reset_cloth_on_command(
    mut commands: MessageReader<DirectorCommand>,
    mut cloth: ResMut<CostumeCloth>,
    performers: Query<(&Transform, &HumanoidPose)>,
) {
    let reset = commands.read().any(|c| {
        matches!(
            c,
            DirectorCommand::ResetPhysics | DirectorCommand::ResetStage | DirectorCommand::Seek(_)
        )
    });
    if reset {
        let bones = current_bones(&cloth, &performers);
        cloth.world.reset(&bones);
    }
}

fn current_bones(
    cloth: &CostumeCloth,
    performers: &Query<(&Transform, &HumanoidPose)>,
) -> Vec<Transform> {
    cloth
        .performer
        .and_then(|p| performers.get(p).ok())
        .map(|(root, pose)| world_bones(root, pose))
        .unwrap_or_else(|| vec![Transform::IDENTITY; HumanBone::COUNT])
}

fn step_cloth(
    settings: Res<PhysicsSettings>,
    clock: Option<Res<ShowClock>>,
    mut cloth: ResMut<CostumeCloth>,
    performers: Query<(&Transform, &HumanoidPose)>,
    (springs, transforms, parents): (
        Query<&super::springs::SpringBones>,
        Query<&Transform>,
        Query<&ChildOf>,
    ),
) {
    if cloth.world.cloth_count() == 0 {
        return;
    }
    let bones = current_bones(&cloth, &performers);
    // An avatar's own colliders (VRM collider groups) join the body the cloth meets.
    let own = cloth
        .performer
        .and_then(|p| springs.get(p).ok())
        .map(|s| s.collider_segments(&super::springs::hierarchy!(transforms, parents)))
        .unwrap_or_default();
    cloth.world.set_avatar_colliders(&own);
    let teleported = (0..cloth.world.cloths.len())
        .filter(|&i| cloth.world.cloths[i].is_some())
        .any(|i| cloth.world.anchor_jump(i, &bones) > TELEPORT_DISTANCE);
    if teleported {
        cloth.world.reset(&bones);
    }
    let wind = settings.wind.at(clock.map(|c| c.time).unwrap_or(0.0));
    cloth.world.step(&bones, wind);
}

fn draw_cloth(
    cloth: Res<CostumeCloth>,
    pieces: Query<(&ClothPiece, Option<&Children>)>,
    poles: Query<&FlagPole>,
    meshes: Option<ResMut<Assets<Mesh>>>,
) {
    let Some(mut meshes) = meshes else { return };
    for (piece, children) in &pieces {
        let spec = cloth.world.spec(piece.cloth);
        let points = cloth.world.positions(piece.cloth);
        if let Some(mut mesh) = piece.mesh.as_ref().and_then(|h| meshes.get_mut(h)) {
            *mesh = cloth_mesh(spec, &points, &piece.to_local);
        }
        for pole in children
            .into_iter()
            .flatten()
            .filter_map(|c| poles.get(*c).ok())
        {
            if let Some(mut mesh) = meshes.get_mut(&pole.0) {
                *mesh = pole_mesh(spec, &points);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest_bones() -> Vec<Transform> {
        HumanoidPose::default().model_transforms().to_vec()
    }

    fn sheet(rows: usize, cols: usize) -> ClothSpec {
        let mut points = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                // Held out flat and level: it must fall and hang.
                points.push(Vec3::new(0.05 * c as f32, 2.0, 0.05 * r as f32));
            }
        }
        ClothSpec {
            name: "sheet".into(),
            group: ClothGroup::Curtains,
            anchor: ClothAnchor::Set,
            rows,
            cols,
            wrap: false,
            points,
            pinned_rows: 1,
            pinned_first_col: false,
            particle_radius: 0.01,
            mass: 0.2,
        }
    }

    /// An 8 × 6 sheet (see [`sheet`]) of light curtain silk in a world of its own.
    fn hanging_sheet() -> (CostumeWorld, usize) {
        let mut world = CostumeWorld::default();
        let cloth = world.add_cloth(sheet(8, 6), Transform::IDENTITY);
        world.configure(
            ClothGroup::Curtains,
            GroupSettings {
                stiffness: 0.5,
                drag: 0.3,
                gravity: 1.0,
            },
        );
        (world, cloth)
    }

    #[test]
    fn a_sheet_pinned_by_one_edge_falls_and_hangs_straight_down() {
        let (mut world, cloth) = hanging_sheet();
        for _ in 0..900 {
            world.step(&[], Vec3::ZERO);
        }
        let p = world.positions(cloth);
        for c in 0..6 {
            let top = p[c];
            let bottom = p[7 * 6 + c];
            assert!(
                (top.y - bottom.y) > 0.9 * 0.35,
                "column {c} hangs down: {top:?} → {bottom:?}"
            );
            assert!(
                (bottom.z - top.z).abs() < 0.05,
                "and straight under its pin: {top:?} → {bottom:?}"
            );
        }
        // Rope links do not stretch: every row is within 5 % of its rest spacing.
        for r in 1..8 {
            let d = p[r * 6].distance(p[(r - 1) * 6]);
            assert!(d < 0.05 * 1.05, "row {r} stretched to {d}");
        }
        assert!(world.energy() < 1e-3, "at rest: {} J", world.energy());
    }

    #[test]
    fn sleeves_hang_outside_the_body_at_rest_and_the_mesh_has_normals() {
        let bones = rest_bones();
        let mut world = CostumeWorld::default();
        world.set_body(&ling_body(), &bones);
        let left = world.add_cloth(ling_sleeve(1.0), bones[HumanBone::LeftHand.index()]);
        world.add_cloth(ling_sleeve(-1.0), bones[HumanBone::RightHand.index()]);
        for _ in 0..300 {
            world.step(&bones, Vec3::ZERO);
        }
        assert!(world.deepest_penetration(&bones) < 0.01);
        let p = world.positions(left);
        let spec = world.spec(left).clone();
        let mouth = p[(spec.rows - 1) * spec.cols];
        assert!(
            mouth.y < bones[HumanBone::LeftHand.index()].translation.y - 0.2,
            "the sleeve falls from the cuff: {mouth:?}"
        );
        let mesh = cloth_mesh(&spec, &p, &Transform::IDENTITY);
        let normals = mesh.attribute(Mesh::ATTRIBUTE_NORMAL).unwrap();
        assert_eq!(normals.len(), spec.rows * (spec.cols + 1));
    }

    /// An avatar's own collider (a VRM collider sphere) holds the cloth up like the body's
    /// capsules do.
    #[test]
    fn cloth_drapes_over_an_avatars_own_collider() {
        let drop_sheet = |collider: bool| {
            let (mut world, cloth) = hanging_sheet();
            // A ball just behind where the sheet would hang: it is pushed out of the way.
            let ball = (Vec3::new(0.125, 1.8, 0.05), 0.08);
            for _ in 0..600 {
                if collider {
                    world.set_avatar_colliders(&[(ball.0, ball.0, ball.1)]);
                }
                world.step(&[], Vec3::ZERO);
            }
            let p = world.positions(cloth);
            let inside = p
                .iter()
                .map(|q| (ball.1 + 0.01) - q.distance(ball.0))
                .fold(f32::MIN, f32::max);
            (p, inside)
        };
        let (free, _) = drop_sheet(false);
        let (draped, deepest) = drop_sheet(true);
        println!("deepest into the ball {:.1} mm", deepest * 1000.0);
        assert!(deepest < 0.01, "no particle inside the ball: {deepest}");
        // Without the ball the sheet hangs straight down; with it, it drapes over the ball
        // (it falls from the ball's side) and its hem hangs out beyond it.
        let corner = 7 * 6 + 2;
        assert!(
            draped[corner].z > free[corner].z + 0.1,
            "{} vs {}",
            draped[corner],
            free[corner]
        );
    }

    #[test]
    fn back_flags_settle_on_their_poles_clear_of_the_body() {
        let bones = rest_bones();
        let mut world = CostumeWorld::default();
        world.set_body(&ling_body(), &bones);
        let flags: Vec<usize> = ling_back_flags()
            .into_iter()
            .map(|spec| world.add_cloth(spec, bones[HumanBone::UpperChest.index()]))
            .collect();
        world.configure(ClothGroup::Flags, PhysicsSettings::default().flags);
        for _ in 0..600 {
            world.step(&bones, Vec3::ZERO);
        }
        println!(
            "back flags at rest: energy {:.2e} J, deepest into the body {:.1} mm",
            world.energy(),
            world.deepest_penetration(&bones) * 1000.0
        );
        assert!(world.energy() < 1e-3, "at rest: {} J", world.energy());
        assert!(world.deepest_penetration(&bones) < 0.01);
        for &flag in &flags {
            let spec = world.spec(flag).clone();
            let p = world.positions(flag);
            // The lower outer corner flies free but the flag stays spread: it does not
            // collapse onto its pole.
            let corner = p[spec.rows * spec.cols - 1];
            let rest = bones[HumanBone::UpperChest.index()]
                .transform_point(spec.points[spec.rows * spec.cols - 1]);
            let from_pole = (0..spec.cols)
                .map(|c| corner.distance(p[c]))
                .fold(f32::MAX, f32::min);
            println!(
                "{}: lower outer corner {:.2} m from the pole, {:.2} m from where it was sewn",
                spec.name,
                from_pole,
                corner.distance(rest)
            );
            assert!(from_pole > 0.05, "{} collapses onto its pole", spec.name);
            // Flags stand above the shoulders, behind the head.
            assert!(
                p.iter().all(|q| q.y > 1.3),
                "{} falls below the shoulders",
                spec.name
            );
        }
    }

    /// Runs both sleeves on the built-in body through `clip` at 60 Hz; returns the deepest
    /// penetration of any sleeve particle into a body capsule at each step, and the final
    /// particle positions.
    fn sleeves_through(
        clip: &ling_mocap::retarget::HumanoidClip,
        seconds: f64,
    ) -> (Vec<(f32, f32)>, Vec<Vec3>) {
        let root = Transform::IDENTITY;
        let bones = world_bones(&root, &clip.sample(0.0));
        let mut world = CostumeWorld::default();
        world.set_body(&ling_body(), &bones);
        for side in [1.0, -1.0] {
            let spec = ling_sleeve(side);
            let ClothAnchor::Bone(bone) = spec.anchor else {
                unreachable!()
            };
            world.add_cloth(spec, bones[bone.index()]);
        }
        world.configure(ClothGroup::Sleeves, PhysicsSettings::default().sleeves);
        let steps = (seconds.min(clip.duration()) * 60.0) as usize;
        let mut depths = Vec::with_capacity(steps);
        for step in 0..steps {
            let bones = world_bones(&root, &clip.sample(step as f64 / 60.0));
            world.step(&bones, Vec3::ZERO);
            let (depth, capsule, _) = world.deepest_penetration_at(&bones);
            // As a share of the way from the capsule's surface to its bone.
            let reach = ling_body()[capsule].radius + 0.015;
            depths.push((depth, depth / reach));
        }
        let mut end = world.positions(0);
        end.extend(world.positions(1));
        (depths, end)
    }

    #[test]
    fn sleeves_stay_outside_the_body_under_cmu_motion_and_repeat_exactly() {
        let dir = ling_testkit::repo_root().join("../shared/data/mocap");
        if !dir.exists() {
            ling_testkit::skip(format!(
                "sleeves under CMU motion: {} not found",
                dir.display()
            ));
            return;
        }
        for name in ["cmu_131_01.bvh", "cmu_131_02.bvh", "cmu_131_03.bvh"] {
            let clip = ling_mocap::load_capture(&dir.join(name), None).unwrap();
            let (depths, end) = sleeves_through(&clip, 20.0);
            // The first quarter second settles the sleeves from their rest shape, which the
            // clip's first pose may put inside a leg.
            let settled: Vec<f32> = depths[15..].iter().map(|d| d.0).collect();
            let crossing = depths[15..].iter().map(|d| d.1).fold(0.0, f32::max);
            let n = settled.len();
            let mut sorted = settled.clone();
            sorted.sort_by(f32::total_cmp);
            let (p95, max) = (sorted[n * 95 / 100], sorted[n - 1]);
            let inside = settled.iter().filter(|d| **d > 0.01).count();
            println!(
                "{name}: {n} steps, deepest sleeve penetration into the body: p95 {:.1} mm, max {:.1} mm ({:.0} % of the way to a bone), {inside} steps deeper than 10 mm",
                p95 * 1000.0,
                max * 1000.0,
                crossing * 100.0
            );
            assert!(
                end.iter().all(|p| p.is_finite() && p.length() < 20.0),
                "{name}: no explosion"
            );
            assert!(
                p95 < 0.01,
                "{name}: the silk stays on the surface (p95 {p95} m)"
            );
            // A particle as deep as its capsule's radius would have crossed the bone, passing
            // through the limb.
            assert!(
                crossing < 0.6,
                "{name}: and never passes through a limb (reached {:.0} % of the way to a bone)",
                crossing * 100.0
            );
        }
        let clip = ling_mocap::load_capture(&dir.join("cmu_131_02.bvh"), None).unwrap();
        assert_eq!(
            sleeves_through(&clip, 4.0),
            sleeves_through(&clip, 4.0),
            "the same motion gives the same cloth"
        );
    }
}
