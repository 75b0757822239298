//! VRM spring bones on loaded avatars: hair, skirts, ribbons and tails that the avatar's
//! author rigged with `VRMC_springBone` (VRM 1.0) or `secondaryAnimation` (VRM 0.x).
//!
//! Each spring joint's tail follows the VRM update: it keeps part of its velocity (1 − drag),
//! is pulled towards its rest direction in its parent's current frame (stiffness), falls along
//! the joint's gravity direction (gravity power), is held at its bone length from the joint,
//! and is pushed out of the avatar's collider spheres and capsules by its hit radius. The
//! joint's node is then turned so its child points at the tail: the skinned mesh follows.
//! Joints are stepped root to tip in the fixed 60 Hz schedule, so renders repeat exactly.

use bevy::prelude::*;

use ling_core::show::DirectorCommand;
use ling_performer::avatar::{AvatarFile, AvatarKind, ColliderShape};
use ling_performer::avatar_scene::AvatarRig;

/// VRM 0.x gives a chain's last bone a virtual tail this long, along its own direction.
const VIRTUAL_TAIL: f32 = 0.07;

/// One simulated joint: the node it turns and its tail's state (world space).
#[derive(Debug, Clone)]
pub(crate) struct SpringJointState {
    pub(crate) node: Entity,
    /// Rest local rotation of the node.
    rest_rotation: Quat,
    /// The tail's rest offset in the node's local frame (its child's translation).
    local_tail: Vec3,
    stiffness: f32,
    gravity_power: f32,
    gravity_dir: Vec3,
    drag: f32,
    hit_radius: f32,
    pub(crate) tail: Vec3,
    previous_tail: Vec3,
}

/// A chain of joints, each the parent of the next.
#[derive(Debug, Clone)]
pub(crate) struct SpringBoneChain {
    /// The name its author gave it ("ponytail"), seen when the chains are debug-printed.
    #[allow(dead_code)]
    pub(crate) name: String,
    pub(crate) joints: Vec<SpringJointState>,
    /// Indices into [`SpringBones::colliders`].
    colliders: Vec<usize>,
}

/// A collider on a node of the avatar (offsets in the node's frame).
#[derive(Debug, Clone)]
pub(crate) struct SpringCollider {
    pub(crate) node: Entity,
    pub(crate) shape: ColliderShape,
}

/// An avatar's spring bones, on the avatar's root entity.
#[derive(Component, Debug, Clone, Default)]
pub(crate) struct SpringBones {
    pub(crate) chains: Vec<SpringBoneChain>,
    pub(crate) colliders: Vec<SpringCollider>,
    /// Set when the chains must go back to rest (a seek, a teleport, a reset command).
    reset: bool,
}

/// How to read an entity's local transform and its parent (from whatever queries a system
/// has).
pub(crate) struct Hierarchy<'a> {
    pub(crate) transform: &'a dyn Fn(Entity) -> Option<Transform>,
    pub(crate) parent: &'a dyn Fn(Entity) -> Option<Entity>,
}

impl Hierarchy<'_> {
    /// An entity's world transform, by walking up its parents (the one propagated last frame
    /// would be a step behind the pose just solved).
    pub(crate) fn world_of(&self, entity: Entity) -> GlobalTransform {
        let mut chain = vec![entity];
        let mut at = entity;
        while let Some(p) = (self.parent)(at) {
            at = p;
            chain.push(at);
        }
        let mut world = GlobalTransform::IDENTITY;
        for e in chain.iter().rev() {
            if let Some(t) = (self.transform)(*e) {
                world = world.mul_transform(t);
            }
        }
        world
    }
}

/// [`Hierarchy`] over a system's transform and parent queries.
macro_rules! hierarchy {
    ($transforms:expr, $parents:expr) => {
        $crate::springs::Hierarchy {
            transform: &|e| $transforms.get(e).ok().map(|t| *t),
            parent: &|e| $parents.get(e).ok().map(|p| p.parent()),
        }
    };
}
pub(crate) use hierarchy;

impl SpringBones {
    /// Builds the avatar's chains from its file, finding nodes by name under `root`.
    pub(crate) fn build(
        file: &AvatarFile,
        node_entity: impl Fn(usize) -> Option<Entity>,
        transforms: &Query<&mut Transform>,
        parents: &Query<&ChildOf>,
        children: &Query<&Children>,
    ) -> Self {
        let mut out = SpringBones::default();
        // Collider groups → collider indices, resolving nodes once.
        let mut collider_index = vec![None; file.spring.colliders.len()];
        for (i, c) in file.spring.colliders.iter().enumerate() {
            if let Some(node) = node_entity(c.node) {
                collider_index[i] = Some(out.colliders.len());
                out.colliders.push(SpringCollider {
                    node,
                    shape: c.shape.clone(),
                });
            }
        }
        for chain in &file.spring.chains {
            let nodes: Vec<Option<Entity>> =
                chain.joints.iter().map(|j| node_entity(j.node)).collect();
            // VRM 1.0 lists the tail as the last joint; VRM 0.x simulates every bone and
            // gives the last one a virtual tail.
            let simulated = match file.kind {
                AvatarKind::Vrm1 => chain.joints.len().saturating_sub(1),
                _ => chain.joints.len(),
            };
            let mut joints = Vec::new();
            for (k, spec) in chain.joints.iter().take(simulated).enumerate() {
                let Some(node) = nodes[k] else { break };
                let Ok(rest) = transforms.get(node) else {
                    break;
                };
                let local_tail = match nodes.get(k + 1).copied().flatten() {
                    Some(child) => match transforms.get(child) {
                        Ok(t) => t.translation,
                        Err(_) => break,
                    },
                    None => {
                        // No next joint: the node's own first child, else a virtual tail.
                        let child = children
                            .get(node)
                            .ok()
                            .and_then(|c| c.first().copied())
                            .and_then(|c| transforms.get(c).ok())
                            .map(|t| t.translation);
                        child.unwrap_or_else(|| {
                            rest.rotation.inverse()
                                * rest.translation.normalize_or(Vec3::Y)
                                * VIRTUAL_TAIL
                        })
                    }
                };
                if local_tail.length_squared() < 1e-10 {
                    break;
                }
                let tail = hierarchy!(transforms, parents)
                    .world_of(node)
                    .transform_point(local_tail);
                joints.push(SpringJointState {
                    node,
                    rest_rotation: rest.rotation,
                    local_tail,
                    stiffness: spec.stiffness,
                    gravity_power: spec.gravity_power,
                    gravity_dir: spec.gravity_dir.normalize_or(Vec3::NEG_Y),
                    drag: spec.drag.clamp(0.0, 1.0),
                    hit_radius: spec.hit_radius,
                    tail,
                    previous_tail: tail,
                });
            }
            if joints.is_empty() {
                continue;
            }
            let colliders = chain
                .collider_groups
                .iter()
                .filter_map(|g| file.spring.collider_groups.get(*g))
                .flatten()
                .filter_map(|c| collider_index.get(*c).copied().flatten())
                .collect();
            out.chains.push(SpringBoneChain {
                name: chain.name.clone(),
                joints,
                colliders,
            });
        }
        out
    }

    pub(crate) fn joint_count(&self) -> usize {
        self.chains.iter().map(|c| c.joints.len()).sum()
    }

    /// One step of `dt` seconds: every chain, root to tip; the nodes' rotations are written.
    pub(crate) fn step(
        &mut self,
        dt: f32,
        transforms: &mut Query<&mut Transform>,
        parents: &Query<&ChildOf>,
    ) {
        // Colliders in the world, from the pose before this step's spring rotations (the
        // body they sit on is not part of any chain).
        let colliders = self.collider_segments(&hierarchy!(transforms, parents));
        let reset = std::mem::take(&mut self.reset);
        for chain in &mut self.chains {
            for joint in &mut chain.joints {
                let Some(parent) = parents.get(joint.node).ok().map(|p| p.parent()) else {
                    continue;
                };
                let parent_world = hierarchy!(transforms, parents).world_of(parent);
                let Ok(local) = transforms.get(joint.node).map(|t| *t) else {
                    continue;
                };
                let (scale, parent_rotation, _) = parent_world.to_scale_rotation_translation();
                let head = parent_world.transform_point(local.translation);
                let rest_world = parent_rotation * joint.rest_rotation;
                let rest_axis = rest_world * joint.local_tail;
                let length = (rest_axis * scale.x.abs()).length();
                let axis = rest_axis.normalize_or(Vec3::Y);
                if reset {
                    joint.tail = head + axis * length;
                    joint.previous_tail = joint.tail;
                }
                let inertia = (joint.tail - joint.previous_tail) * (1.0 - joint.drag);
                let stiffness = axis * (joint.stiffness * dt);
                let gravity = joint.gravity_dir * (joint.gravity_power * dt);
                let mut next = joint.tail + inertia + stiffness + gravity;
                next = head + (next - head).normalize_or(axis) * length;
                // Push out of the colliders, then back to the bone length; a few rounds settle
                // the two constraints together.
                for _ in 0..3 {
                    for &c in &chain.colliders {
                        let (a, b, radius) = colliders[c];
                        let ab = b - a;
                        let t =
                            ((next - a).dot(ab) / ab.length_squared().max(1e-12)).clamp(0.0, 1.0);
                        let nearest = a + ab * t;
                        let reach = radius + joint.hit_radius;
                        let d = next - nearest;
                        if d.length_squared() < reach * reach {
                            next = nearest + d.normalize_or(Vec3::Y) * reach;
                            next = head + (next - head).normalize_or(axis) * length;
                        }
                    }
                }
                joint.previous_tail = joint.tail;
                joint.tail = next;
                // Turn the node so its tail points at the simulated one.
                let turn = Quat::from_rotation_arc(axis, (next - head).normalize_or(axis));
                let world_rotation = turn * rest_world;
                if let Ok(mut t) = transforms.get_mut(joint.node) {
                    t.rotation = (parent_rotation.inverse() * world_rotation).normalize();
                }
            }
        }
    }

    /// The avatar's colliders in the world as segments (a sphere's ends coincide) with their
    /// radius.
    pub(crate) fn collider_segments(&self, nodes: &Hierarchy) -> Vec<(Vec3, Vec3, f32)> {
        self.colliders
            .iter()
            .map(|c| {
                let world = nodes.world_of(c.node);
                let scale = world.to_scale_rotation_translation().0.x.abs();
                match c.shape {
                    ColliderShape::Sphere { offset, radius } => {
                        let p = world.transform_point(offset);
                        (p, p, radius * scale)
                    }
                    ColliderShape::Capsule {
                        offset,
                        tail,
                        radius,
                    } => (
                        world.transform_point(offset),
                        world.transform_point(tail),
                        radius * scale,
                    ),
                }
            })
            .collect()
    }

    /// The chains go back to rest on the next step.
    pub(crate) fn reset(&mut self) {
        self.reset = true;
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        (attach_spring_bones, reset_spring_bones_on_command).chain(),
    )
    .add_systems(FixedUpdate, step_spring_bones);
}

/// Gives an avatar its spring bones once its rig is bound.
fn attach_spring_bones(
    mut commands: Commands,
    rigs: Query<(Entity, &AvatarRig), Added<AvatarRig>>,
    children: Query<&Children>,
    names: Query<&Name>,
    transforms: Query<&mut Transform>,
    parents: Query<&ChildOf>,
) {
    for (root, rig) in &rigs {
        let file = &rig.file;
        if file.spring.chains.is_empty() {
            continue;
        }
        let mut by_name = std::collections::HashMap::new();
        for e in children.iter_descendants(root) {
            if let Ok(n) = names.get(e) {
                by_name.entry(n.as_str().to_string()).or_insert(e);
            }
        }
        let node_entity = |i: usize| {
            file.node_names
                .get(i)
                .and_then(|name| by_name.get(name))
                .copied()
        };
        let springs = SpringBones::build(file, node_entity, &transforms, &parents, &children);
        info!(
            "{}: {} spring chains, {} joints, {} colliders",
            file.path.display(),
            springs.chains.len(),
            springs.joint_count(),
            springs.colliders.len()
        );
        commands.entity(root).insert(springs);
    }
}

fn reset_spring_bones_on_command(
    mut commands: MessageReader<DirectorCommand>,
    mut springs: Query<&mut SpringBones>,
) {
    let reset = commands.read().any(|c| {
        matches!(
            c,
            DirectorCommand::ResetPhysics | DirectorCommand::ResetStage | DirectorCommand::Seek(_)
        )
    });
    if reset {
        for mut s in &mut springs {
            s.reset();
        }
    }
}

fn step_spring_bones(
    time: Res<Time>,
    mut springs: Query<&mut SpringBones>,
    mut transforms: Query<&mut Transform>,
    parents: Query<&ChildOf>,
) {
    let dt = time.delta_secs();
    if dt <= 0.0 {
        return;
    }
    for mut s in &mut springs {
        s.step(dt, &mut transforms, &parents);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::ecs::system::RunSystemOnce;
    use ling_performer::avatar::{Collider, SpringChain, SpringData, SpringJoint};

    /// An avatar file with one chain of `n` joints (nodes 1..=n under node 0), VRM 1.0 style
    /// (the last joint is the tail), and an optional sphere collider on node 0.
    fn file(n: usize, stiffness: f32, gravity: f32, collider: Option<(Vec3, f32)>) -> AvatarFile {
        let mut f = AvatarFile::builtin();
        f.kind = AvatarKind::Vrm1;
        f.node_names = (0..=n).map(|i| format!("node{i}")).collect();
        let joint = |node| SpringJoint {
            node,
            stiffness,
            gravity_power: gravity,
            gravity_dir: Vec3::NEG_Y,
            drag: 0.4,
            hit_radius: 0.02,
        };
        f.spring = SpringData {
            chains: vec![SpringChain {
                name: "ponytail".into(),
                joints: (1..=n).map(joint).collect(),
                collider_groups: if collider.is_some() { vec![0] } else { vec![] },
            }],
            colliders: collider
                .map(|(offset, radius)| {
                    vec![Collider {
                        node: 0,
                        shape: ColliderShape::Sphere { offset, radius },
                    }]
                })
                .unwrap_or_default(),
            collider_groups: if collider.is_some() {
                vec![vec![0]]
            } else {
                vec![]
            },
        };
        f
    }

    /// A world with node0 at (0, 1.5, 0) and a horizontal chain of `n` nodes 0.1 m apart
    /// along +Z under it; returns the node entities.
    fn world(n: usize) -> (World, Vec<Entity>) {
        let mut world = World::new();
        let mut nodes = vec![
            world
                .spawn((Name::new("node0"), Transform::from_xyz(0.0, 1.5, 0.0)))
                .id(),
        ];
        for i in 1..=n {
            let offset = if i == 1 { Vec3::ZERO } else { Vec3::Z * 0.1 };
            let e = world
                .spawn((
                    Name::new(format!("node{i}")),
                    Transform::from_translation(offset),
                    ChildOf(nodes[i - 1]),
                ))
                .id();
            nodes.push(e);
        }
        (world, nodes)
    }

    fn simulate(file: &AvatarFile, n: usize, steps: usize) -> (World, Vec<Entity>, SpringBones) {
        let (mut world, nodes) = world(n);
        let found = nodes.clone();
        let file = file.clone();
        let mut springs = world
            .run_system_once(
                move |transforms: Query<&mut Transform>,
                      parents: Query<&ChildOf>,
                      children: Query<&Children>| {
                    SpringBones::build(
                        &file,
                        |i| found.get(i).copied(),
                        &transforms,
                        &parents,
                        &children,
                    )
                },
            )
            .unwrap();
        for _ in 0..steps {
            springs = world
                .run_system_once(
                    move |mut transforms: Query<&mut Transform>, parents: Query<&ChildOf>| {
                        let mut s = springs.clone();
                        s.step(1.0 / 60.0, &mut transforms, &parents);
                        s
                    },
                )
                .unwrap();
        }
        (world, nodes, springs)
    }

    fn tip(world: &mut World, nodes: &[Entity]) -> Vec3 {
        let last = *nodes.last().unwrap();
        world
            .run_system_once(
                move |transforms: Query<&mut Transform>, parents: Query<&ChildOf>| {
                    hierarchy!(transforms, parents).world_of(last).translation()
                },
            )
            .unwrap()
    }

    #[test]
    fn a_soft_chain_falls_to_hang_below_its_root_and_keeps_its_length() {
        let f = file(5, 0.0, 1.0, None);
        let (mut world, nodes, springs) = simulate(&f, 5, 600);
        assert_eq!(
            springs.joint_count(),
            4,
            "VRM 1.0: the last joint is the tail"
        );
        let tip = tip(&mut world, &nodes);
        // Four 0.1 m bones hanging straight down from (0, 1.5, 0).
        assert!(
            (tip - Vec3::new(0.0, 1.1, 0.0)).length() < 0.02,
            "tip at {tip}"
        );
    }

    #[test]
    fn a_stiff_chain_holds_its_rest_shape_against_gravity() {
        let f = file(5, 4.0, 0.05, None);
        let (mut world, nodes, _) = simulate(&f, 5, 600);
        let tip = tip(&mut world, &nodes);
        assert!(tip.z > 0.3 && tip.y > 1.35, "held out along +Z: {tip}");
    }

    #[test]
    fn colliders_keep_the_chain_out() {
        // A ball just off the line the chain would hang along: it drapes over it.
        let ball = (Vec3::new(0.0, -0.25, 0.05), 0.1);
        let f = file(5, 0.0, 1.0, Some(ball));
        let (mut world, nodes, springs) = simulate(&f, 5, 600);
        let centre = Vec3::new(0.0, 1.5, 0.0) + ball.0;
        for joint in &springs.chains[0].joints {
            let d = joint.tail.distance(centre);
            assert!(d > ball.1 + 0.02 - 0.003, "a tail inside the ball: {d}");
        }
        let tip = tip(&mut world, &nodes);
        assert!(tip.z > 0.08, "draped over the far side of the ball: {tip}");
    }

    #[test]
    fn the_same_motion_gives_the_same_chain() {
        let f = file(5, 1.0, 0.5, None);
        let a = simulate(&f, 5, 120).2;
        let b = simulate(&f, 5, 120).2;
        for (x, y) in a.chains[0].joints.iter().zip(&b.chains[0].joints) {
            assert_eq!(x.tail, y.tail);
        }
    }
}
