//! The rapier world the cloth lives in: particles and rope joints, bending springs and air
//! drag as forces, the performer's body as kinematic colliders, and the fixed step.

use bevy::prelude::*;
use bevy_rapier3d::rapier::prelude as rp;

use ling_core::settings::GroupSettings;

use super::body::BodyCapsule;
use super::spec::{ClothAnchor, ClothGroup, ClothSpec};

/// One cloth in its own rapier world, with its own copy of the performer's body and the
/// floor: cloth never touches other cloth, so the pieces are independent and can step on
/// different threads, each giving the same result whichever thread steps it.
struct Piece {
    world: rp::PhysicsWorld,
    /// The body capsules in this world, in [`CostumeWorld::capsules`] order.
    capsules: Vec<rp::RigidBodyHandle>,
    /// The avatar's own colliders in this world, in [`CostumeWorld::avatar_colliders`] order.
    avatar_colliders: Vec<rp::RigidBodyHandle>,
    cloth: ClothBodies,
}

/// The cloth of one piece.
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

/// An avatar collider (a VRM collider sphere or capsule): its radius and half length, where
/// it is now and where the next step takes it.
#[derive(Clone, Copy)]
struct AvatarCollider {
    radius: f32,
    half: f32,
    at: rp::Pose,
    to: rp::Pose,
}

/// Collision groups: cloth touches the body and the floor, never itself (silk on silk is
/// left out: it costs a lot and only matters for folds we do not see).
const CLOTH: rp::Group = rp::Group::GROUP_1;
const BODY: rp::Group = rp::Group::GROUP_2;
const FLOOR: rp::Group = rp::Group::GROUP_3;

/// Rapier steps per physics step, and solver iterations per rapier step. Measured (`bench
/// --only cloth`, 2 000 particles): a rapier step costs ~1.2 ms plus ~1 ms per solver
/// iteration; one substep or one iteration halves that but lets the silk stretch past 5 % and
/// sink 2 cm into a fast limb (the cloth tests). With two iterations a sleeve can get caught
/// inside a leg through cmu_131_03 (p95 depth ~42 mm when the performer stands 10 µm to one
/// side, 7 mm only at exactly the origin); three keep it at 7–10 mm. More substeps do not
/// help (3 or 4 with two iterations: ~42 mm).
const SUBSTEPS: usize = 2;
const SOLVER_ITERATIONS: usize = 3;

/// The environment variable that sets how many threads step the cloth (see
/// [`CostumeWorld::set_threads`]).
pub const THREADS_ENV: &str = "LING_CLOTH_THREADS";

/// The costume's cloth with the performer's body capsules. Each cloth piece lives in a rapier
/// world of its own with its own copy of the body, and the pieces step in parallel on up to
/// [`threads`](Self::threads) threads; the result does not depend on how many. Its default
/// steps 1/60 s at a time. Cloths are addressed by the index [`add_cloth`](Self::add_cloth)
/// returns.
pub struct CostumeWorld {
    dt: f32,
    /// Rapier steps per physics step.
    substeps: usize,
    /// The body capsules, their half lengths (set with the body), and where they are now.
    capsules: Vec<(BodyCapsule, f32, rp::Pose)>,
    /// An avatar's own collider spheres and capsules (its VRM collider groups).
    avatar_colliders: Vec<AvatarCollider>,
    pieces: Vec<Option<Piece>>,
    /// Most threads a step uses (at least one).
    threads: usize,
}

impl Default for CostumeWorld {
    fn default() -> Self {
        Self::new(1.0 / 60.0)
    }
}

/// The thread count a new world starts with: `LING_CLOTH_THREADS` if it is a positive
/// number, otherwise the machine's available parallelism.
fn default_threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl CostumeWorld {
    /// An empty world stepping `dt` seconds at a time, with the stage floor at y = 0.
    pub(crate) fn new(dt: f32) -> Self {
        Self {
            dt,
            substeps: SUBSTEPS,
            capsules: Vec::new(),
            avatar_colliders: Vec::new(),
            pieces: Vec::new(),
            threads: default_threads(),
        }
    }

    /// Most threads a step uses: the pieces are shared among them (never more threads than
    /// pieces). Starts at `LING_CLOTH_THREADS`, or the machine's available parallelism.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Sets the most threads a step uses (zero counts as one). The cloth moves the same,
    /// bit for bit, whatever the count.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Gives the world a body to collide with, placed by the bones' world transforms. Any
    /// previous body is removed.
    pub fn set_body(&mut self, capsules: &[BodyCapsule], bones: &[Transform]) {
        self.capsules = capsules
            .iter()
            .map(|c| {
                let (pose, half) = capsule_pose(c, bones);
                (*c, half, pose)
            })
            .collect();
        for piece in self.pieces.iter_mut().flatten() {
            for handle in piece.capsules.drain(..) {
                piece.world.remove_body(handle);
            }
            piece.capsules = self
                .capsules
                .iter()
                .map(|(capsule, half, pose)| {
                    insert_capsule(&mut piece.world, capsule, *half, *pose)
                })
                .collect();
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
            && self.avatar_colliders.iter().zip(segments).all(|(c, s)| {
                (c.radius - s.2).abs() < 1e-4 && (c.half - pose_of(s).1).abs() < 1e-3
            });
        if !same_shapes {
            self.avatar_colliders = segments
                .iter()
                .map(|s| {
                    let (pose, half) = pose_of(s);
                    AvatarCollider {
                        radius: s.2,
                        half,
                        at: pose,
                        to: pose,
                    }
                })
                .collect();
            for piece in self.pieces.iter_mut().flatten() {
                for handle in piece.avatar_colliders.drain(..) {
                    piece.world.remove_body(handle);
                }
                piece.avatar_colliders = self
                    .avatar_colliders
                    .iter()
                    .map(|c| insert_avatar_collider(&mut piece.world, c))
                    .collect();
            }
            return;
        }
        for (collider, segment) in self.avatar_colliders.iter_mut().zip(segments) {
            collider.to = pose_of(segment).0;
        }
    }

    /// Adds a cloth at rest around `anchor` (the bone's world transform for a bone cloth, the
    /// set piece's for a set cloth), in a world of its own with the body where it is now.
    /// Returns its index.
    pub fn add_cloth(&mut self, spec: ClothSpec, anchor: Transform) -> usize {
        let n = spec.rows * spec.cols;
        assert_eq!(
            spec.points.len(),
            n,
            "{}: points must be rows × cols",
            spec.name
        );
        let mut world = rp::PhysicsWorld::new();
        world.integration_parameters.dt = self.dt / self.substeps as f32;
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
        let capsules = self
            .capsules
            .iter()
            .map(|(capsule, half, pose)| insert_capsule(&mut world, capsule, *half, *pose))
            .collect();
        let avatar_colliders = self
            .avatar_colliders
            .iter()
            .map(|c| insert_avatar_collider(&mut world, c))
            .collect();
        let mass = spec.mass / n as f32;
        let mut particles = Vec::with_capacity(n);
        for (i, p) in spec.points.iter().enumerate() {
            let at = anchor.transform_point(*p);
            let handle = if spec.is_pinned(i) {
                world.insert_body(
                    rp::RigidBodyBuilder::kinematic_position_based()
                        .translation(at)
                        .build(),
                )
            } else {
                let handle = world.insert_body(
                    rp::RigidBodyBuilder::dynamic()
                        .translation(at)
                        .linear_damping(0.5)
                        .angular_damping(5.0)
                        .soft_ccd_prediction(0.05)
                        .can_sleep(false)
                        .build(),
                );
                world.insert_collider(
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
            world.insert_impulse_joint(
                particles[i],
                particles[j],
                rp::RopeJointBuilder::new(length).build(),
            );
        }
        let piece = Some(Piece {
            world,
            capsules,
            avatar_colliders,
            cloth: ClothBodies {
                group: spec.group,
                placement: anchor,
                bends: spec.links(2),
                bend: (0.0, 0.0),
                spec,
                particles,
            },
        });
        // A slot emptied by a performer who left is used again, so performers coming and
        // going do not grow the list.
        match self.pieces.iter().position(Option::is_none) {
            Some(free) => {
                self.pieces[free] = piece;
                free
            }
            None => {
                self.pieces.push(piece);
                self.pieces.len() - 1
            }
        }
    }

    /// Slots for pieces, taken or free (for tests: the list must not grow as performers
    /// come and go).
    #[cfg(test)]
    pub(crate) fn slots(&self) -> usize {
        self.pieces.len()
    }

    /// Takes a cloth out of the world (its performer left the stage).
    pub(crate) fn remove_cloth(&mut self, cloth: usize) {
        if let Some(piece) = self.pieces.get_mut(cloth) {
            *piece = None;
        }
    }

    fn live(&self) -> impl Iterator<Item = &Piece> {
        self.pieces.iter().flatten()
    }

    /// Indices of the cloths still in the world, in the order they were added.
    pub(crate) fn cloth_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.pieces
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| i)
    }

    fn piece(&self, cloth: usize) -> &Piece {
        self.pieces[cloth]
            .as_ref()
            .expect("cloth index of a removed cloth")
    }

    /// How many cloths are in the world.
    pub(crate) fn cloth_count(&self) -> usize {
        self.live().count()
    }

    /// How many particles all the cloths have together, pinned ones included.
    pub fn particle_count(&self) -> usize {
        self.live().map(|p| p.cloth.particles.len()).sum()
    }

    /// How `cloth` was built.
    pub(crate) fn spec(&self, cloth: usize) -> &ClothSpec {
        &self.piece(cloth).cloth.spec
    }

    /// Applies group settings to every cloth of `group`.
    pub fn configure(&mut self, group: ClothGroup, settings: GroupSettings) {
        let bend = settings.stiffness.clamp(0.0, 100.0);
        // `drag` is the share of velocity the air takes per second.
        let damping = -(1.0 - settings.drag.clamp(0.0, 0.99)).ln();
        for piece in self
            .pieces
            .iter_mut()
            .flatten()
            .filter(|p| p.cloth.group == group)
        {
            let cloth = &mut piece.cloth;
            for (i, &handle) in cloth.particles.iter().enumerate() {
                if cloth.spec.is_pinned(i) {
                    continue;
                }
                if let Some(body) = piece.world.bodies.get_mut(handle) {
                    body.set_linear_damping(damping);
                    body.set_gravity_scale(settings.gravity, false);
                }
            }
            cloth.bend = (bend * 40.0, bend.sqrt() * 2.0);
        }
    }

    /// One step: capsules and pinned edges move to where `bones` (world transforms by bone)
    /// put them, `wind` (m/s, the air's velocity) pushes the silk, then each piece's rapier
    /// world steps, the pieces shared among up to [`threads`](Self::threads) threads.
    pub fn step(&mut self, bones: &[Transform], wind: Vec3) {
        // Where the body's kinematic colliders are now and where the bones want them, in
        // the order every piece holds them: capsules, then the avatar's own colliders.
        let moves: Vec<(rp::Pose, rp::Pose)> = self
            .capsules
            .iter()
            .map(|(capsule, _, at)| (*at, capsule_pose(capsule, bones).0))
            .chain(self.avatar_colliders.iter().map(|c| (c.at, c.to)))
            .collect();
        let mut live: Vec<&mut Piece> = self.pieces.iter_mut().flatten().collect();
        let threads = self.threads.min(live.len()).max(1);
        let substeps = self.substeps;
        if threads == 1 {
            for piece in live {
                piece.step(&moves, bones, wind, substeps);
            }
        } else {
            // Share the pieces out by particle count, heaviest first, to the least loaded
            // thread. The result does not depend on the sharing: each piece is a world of
            // its own.
            live.sort_by_key(|p| std::cmp::Reverse(p.cloth.particles.len()));
            let mut shares: Vec<(usize, Vec<&mut Piece>)> =
                (0..threads).map(|_| (0, Vec::new())).collect();
            for piece in live {
                let lightest = shares
                    .iter_mut()
                    .min_by_key(|(load, _)| *load)
                    .expect("at least one thread");
                lightest.0 += piece.cloth.particles.len();
                lightest.1.push(piece);
            }
            let moves = &moves;
            std::thread::scope(|scope| {
                let mut shares = shares.into_iter().map(|(_, pieces)| pieces);
                let own = shares.next().unwrap_or_default();
                for share in shares {
                    scope.spawn(move || {
                        for piece in share {
                            piece.step(moves, bones, wind, substeps);
                        }
                    });
                }
                for piece in own {
                    piece.step(moves, bones, wind, substeps);
                }
            });
        }
        for ((_, _, at), (_, to)) in self.capsules.iter_mut().zip(&moves) {
            *at = *to;
        }
        for c in &mut self.avatar_colliders {
            c.at = c.to;
        }
    }

    /// Puts every cloth back at rest around its anchor, still (after a seek or a teleport).
    pub(crate) fn reset(&mut self, bones: &[Transform]) {
        for (capsule, _, at) in &mut self.capsules {
            *at = capsule_pose(capsule, bones).0;
        }
        for piece in self.pieces.iter_mut().flatten() {
            for ((_, _, pose), handle) in self.capsules.iter().zip(&piece.capsules) {
                if let Some(body) = piece.world.bodies.get_mut(*handle) {
                    body.set_position(*pose, true);
                }
            }
            let cloth = &piece.cloth;
            let anchor = anchor_transform(cloth, bones);
            for (i, &handle) in cloth.particles.iter().enumerate() {
                if let Some(body) = piece.world.bodies.get_mut(handle) {
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
        let piece = self.piece(cloth);
        let c = &piece.cloth;
        let anchor = anchor_transform(c, bones);
        piece
            .world
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
        self.piece(cloth).positions().collect()
    }

    /// Every particle of every cloth, in the world: the cloths in the order they were added,
    /// each row-major.
    pub fn all_positions(&self) -> Vec<Vec3> {
        self.live().flat_map(Piece::positions).collect()
    }
}

impl Piece {
    /// One physics step of this piece: the body's colliders follow `moves` (from, to; in
    /// capsule then avatar-collider order), the pinned edge follows its anchor in `bones`,
    /// in substeps.
    fn step(
        &mut self,
        moves: &[(rp::Pose, rp::Pose)],
        bones: &[Transform],
        wind: Vec3,
        substeps: usize,
    ) {
        let cloth = &self.cloth;
        let anchor = anchor_transform(cloth, bones);
        let mut pin_moves = Vec::new();
        for (i, &handle) in cloth.particles.iter().enumerate() {
            if !cloth.spec.is_pinned(i) {
                continue;
            }
            if let Some(body) = self.world.bodies.get(handle) {
                let to = anchor.transform_point(cloth.spec.points[i]);
                pin_moves.push((handle, body.translation(), to));
            }
        }
        let kinematic: Vec<rp::RigidBodyHandle> = self
            .capsules
            .iter()
            .chain(&self.avatar_colliders)
            .copied()
            .collect();
        // Substeps: a limb that moves several centimetres in a frame sweeps through the silk
        // in smaller steps, so contacts catch it.
        for k in 1..=substeps {
            let f = k as f32 / substeps as f32;
            for (handle, (from, to)) in kinematic.iter().zip(moves) {
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

    /// Bending springs and air drag as forces on the free particles, from where they are now.
    fn apply_forces(&mut self, wind: Vec3) {
        let bodies = &mut self.world.bodies;
        let cloth = &self.cloth;
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
            return;
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

    /// The particles, in the world, row-major.
    fn positions(&self) -> impl Iterator<Item = Vec3> + '_ {
        self.cloth.particles.iter().map(|h| {
            self.world
                .bodies
                .get(*h)
                .map(|b| b.translation())
                .unwrap_or(Vec3::ZERO)
        })
    }
}

/// Puts a body capsule of half length `half` into a piece's world as a kinematic body at
/// `pose`.
fn insert_capsule(
    world: &mut rp::PhysicsWorld,
    capsule: &BodyCapsule,
    half: f32,
    pose: rp::Pose,
) -> rp::RigidBodyHandle {
    insert_kinematic(
        world,
        pose,
        rp::ColliderBuilder::capsule_y(half, capsule.radius),
    )
}

/// Puts an avatar collider into a piece's world as a kinematic body where it is now.
fn insert_avatar_collider(world: &mut rp::PhysicsWorld, c: &AvatarCollider) -> rp::RigidBodyHandle {
    let shape = if c.half > 1e-4 {
        rp::ColliderBuilder::capsule_y(c.half, c.radius)
    } else {
        rp::ColliderBuilder::ball(c.radius)
    };
    insert_kinematic(world, c.at, shape)
}

fn insert_kinematic(
    world: &mut rp::PhysicsWorld,
    pose: rp::Pose,
    shape: rp::ColliderBuilder,
) -> rp::RigidBodyHandle {
    let handle = world.insert_body(
        rp::RigidBodyBuilder::kinematic_position_based()
            .pose(pose)
            // Contacts are predicted along the limb's motion, so a fast leg meets the silk
            // in the step it arrives instead of the one after.
            .soft_ccd_prediction(0.1),
    );
    world.insert_collider(
        shape
            .collision_groups(groups(BODY, CLOTH))
            .friction(0.3)
            .build(),
        Some(handle),
    );
    handle
}

/// Measurements the tests make.
#[cfg(test)]
impl CostumeWorld {
    /// Kinetic energy of all free particles, joules.
    pub(crate) fn energy(&self) -> f32 {
        self.live()
            .flat_map(|p| p.cloth.particles.iter().map(|h| p.world.bodies.get(*h)))
            .flatten()
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
        for (k, piece) in self.pieces.iter().enumerate() {
            let Some(piece) = piece else { continue };
            let spec = &piece.cloth.spec;
            let radius = spec.particle_radius;
            for (i, p) in piece.positions().enumerate() {
                // The pinned edge and the row sewn to it go where the bone takes them (a
                // cuff on a wrist that rests against the hip is pressed into it).
                if i / spec.cols <= spec.pinned_rows || spec.is_pinned(i) {
                    continue;
                }
                for (c, (capsule, ..)) in self.capsules.iter().enumerate() {
                    let d = capsule.penetration(bones, p, radius);
                    if d > deepest.0 {
                        deepest = (d, c, (k, i));
                    }
                }
            }
        }
        deepest
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
