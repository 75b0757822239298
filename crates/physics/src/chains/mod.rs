//! Chains: plumes, tassels, hair strands — spring-bone chains rooted on a bone of the
//! performer, with VRM spring-bone semantics (the reference for how they should feel).
//!
//! Each step, every joint's tail keeps part of its velocity (1 − drag), is pulled back towards
//! its rest direction relative to the segment before it (stiffness), is pushed by gravity, is
//! held at its segment length from the joint before it, and is pushed out of the performer's
//! body spheres. The update is a plain function over positions ([`ChainState::step`]), run in
//! the fixed 60 Hz schedule, so it is deterministic and testable on its own; rapier keeps the
//! stage's colliders for contacts.

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;

use ling_core::settings::{ChainGroup, PLUMES, PhysicsSettings};
use ling_core::show::{ActiveShow, DirectorCommand, ShowClock};
use ling_core::signals::{HumanBone, HumanoidPose, Performer};
use ling_performer::SimulatedCostume;

/// How to build a chain.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    pub name: String,
    pub group: ChainGroup,
    /// The bone the chain hangs from; `points` are in that bone's rest (model) space, offset
    /// from the bone's joint, the first point being the chain's root.
    pub bone: HumanBone,
    pub points: Vec<Vec3>,
    /// Tube radius at the root and at the tip (for drawing).
    pub radius: (f32, f32),
    /// Pull back towards the rest bend, per second (VRM `stiffness`).
    pub stiffness: f32,
    /// Fraction of velocity lost per step (VRM `dragForce`, 0..1).
    pub drag: f32,
    /// Gravity (VRM `gravityPower`, metres per second per step) and its direction.
    pub gravity: f32,
    pub colors: [Color; 2],
}

/// The simulated state of one chain, in world space.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainState {
    /// Rest points in the root bone's frame (relative to the bone's joint).
    pub rest: Vec<Vec3>,
    pub current: Vec<Vec3>,
    pub previous: Vec<Vec3>,
    pub stiffness: f32,
    pub drag: f32,
    pub gravity: f32,
    /// The chain's own radius at the root and the tip: it stays this far out of body spheres.
    pub thickness: (f32, f32),
}

/// A body sphere the chain stays out of (world space).
#[derive(Debug, Clone, Copy)]
pub struct Sphere {
    pub center: Vec3,
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
    pub fn reset(&mut self, bone: Transform) {
        self.current = self.rest.iter().map(|p| bone.transform_point(*p)).collect();
        self.previous = self.current.clone();
    }

    /// One step of `dt` seconds with the root bone at `bone`, staying out of `spheres`.
    pub fn step(&mut self, bone: Transform, dt: f32, spheres: &[Sphere]) {
        self.step_in_wind(bone, dt, spheres, Vec3::ZERO);
    }

    /// One step with a wind push (metres per second per step) as well as gravity.
    pub fn step_in_wind(&mut self, bone: Transform, dt: f32, spheres: &[Sphere], wind: Vec3) {
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
    pub fn energy(&self, dt: f32) -> f32 {
        self.current
            .iter()
            .zip(&self.previous)
            .map(|(c, p)| 0.5 * ((*c - *p) / dt).length_squared())
            .sum()
    }
}

/// A chain on a performer, with its state.
#[derive(Component, Debug, Clone)]
pub struct Chain {
    pub name: String,
    pub group: ChainGroup,
    pub performer: Entity,
    pub bone: HumanBone,
    pub state: ChainState,
    pub radius: (f32, f32),
}

/// The pheasant plumes (翎子) of Ling's headdress, matching `performer::builtin`'s shape.
pub fn ling_plumes() -> Vec<ChainSpec> {
    let head = HumanBone::Head.rest_position();
    [1.0f32, -1.0]
        .into_iter()
        .map(|side| ChainSpec {
            name: format!("{} plume", if side > 0.0 { "left" } else { "right" }),
            group: ChainGroup::Plumes,
            bone: HumanBone::Head,
            points: ling_performer::builtin::plume_path(side, 12)
                .into_iter()
                .map(|p| p - head)
                .collect(),
            radius: (0.011, 0.0025),
            stiffness: PLUMES.stiffness,
            drag: PLUMES.drag,
            gravity: PLUMES.gravity,
            colors: [Color::srgb(0.55, 0.36, 0.16), Color::srgb(0.16, 0.1, 0.05)],
        })
        .collect()
}

/// Spheres on the performer's body that her chains stay out of: head and shoulders for the
/// plumes, torso, hips and the robe's skirt for the sleeves.
fn body_spheres(root: &Transform, fk: &[Transform]) -> Vec<Sphere> {
    [
        (HumanBone::Head, Vec3::new(0.0, 0.1, 0.0), 0.12),
        (HumanBone::UpperChest, Vec3::new(0.0, 0.05, 0.0), 0.17),
        (HumanBone::Chest, Vec3::ZERO, 0.17),
        (HumanBone::Hips, Vec3::ZERO, 0.2),
        (HumanBone::LeftUpperArm, Vec3::ZERO, 0.09),
        (HumanBone::RightUpperArm, Vec3::ZERO, 0.09),
        (HumanBone::LeftUpperLeg, Vec3::new(0.0, -0.25, 0.0), 0.2),
        (HumanBone::RightUpperLeg, Vec3::new(0.0, -0.25, 0.0), 0.2),
        (HumanBone::LeftLowerLeg, Vec3::new(0.0, -0.2, 0.0), 0.24),
        (HumanBone::RightLowerLeg, Vec3::new(0.0, -0.2, 0.0), 0.24),
    ]
    .iter()
    .map(|(b, offset, radius)| Sphere {
        center: root.transform_point(fk[b.index()].transform_point(*offset)),
        radius: *radius,
    })
    .collect()
}

pub fn plugin(app: &mut App) {
    app.insert_resource(SimulatedCostume)
        .init_resource::<PhysicsSettings>()
        .add_message::<DirectorCommand>()
        .add_systems(Startup, load_show_physics)
        .add_systems(
            Update,
            (apply_physics_commands, attach_ling_plumes, draw_chains),
        )
        .add_systems(FixedUpdate, step_chains);
}

fn load_show_physics(show: Option<Res<ActiveShow>>, mut settings: ResMut<PhysicsSettings>) {
    if let Some(show) = show {
        *settings = show.0.physics;
    }
}

/// Settings changes and resets from the panel or cues.
fn apply_physics_commands(
    mut commands: MessageReader<DirectorCommand>,
    mut settings: ResMut<PhysicsSettings>,
    mut chains: Query<&mut Chain>,
    performers: Query<(&Transform, &HumanoidPose)>,
) {
    for command in commands.read() {
        match command {
            DirectorCommand::SetPhysics(new) => match new.check() {
                Ok(()) => *settings = *new,
                Err(e) => warn!("physics settings refused: {e}"),
            },
            DirectorCommand::ResetPhysics => {
                for mut chain in &mut chains {
                    if let Ok((root, pose)) = performers.get(chain.performer) {
                        let bone = bone_world(root, pose, chain.bone);
                        chain.state.reset(bone);
                    }
                }
            }
            _ => {}
        }
    }
}

fn bone_world(root: &Transform, pose: &HumanoidPose, bone: HumanBone) -> Transform {
    root.mul_transform(pose.model_transforms()[bone.index()])
}

/// A root that moves further than this in one step has been teleported (a seek, a cut in the
/// motion, a new performer): the chain is reset to rest around it instead of whipping.
const TELEPORT_DISTANCE: f32 = 0.25;

fn step_chains(
    time: Res<Time>,
    settings: Res<PhysicsSettings>,
    clock: Option<Res<ShowClock>>,
    mut chains: Query<&mut Chain>,
    performers: Query<(&Transform, &HumanoidPose)>,
) {
    let dt = time.delta_secs();
    if dt <= 0.0 {
        return;
    }
    let wind = settings.wind.at(clock.map(|c| c.time).unwrap_or(0.0));
    for mut chain in &mut chains {
        let group = settings.group(chain.group);
        chain.state.stiffness = group.stiffness;
        chain.state.drag = group.drag;
        chain.state.gravity = group.gravity;
        let Ok((root, pose)) = performers.get(chain.performer) else {
            continue;
        };
        let fk = pose.model_transforms();
        let bone = root.mul_transform(fk[chain.bone.index()]);
        let spheres = body_spheres(root, &fk);
        let state = &mut chain.state;
        if state.current[0].distance(bone.transform_point(state.rest[0])) > TELEPORT_DISTANCE {
            state.reset(bone);
        } else {
            state.step_in_wind(bone, dt, &spheres, wind);
        }
    }
}

/// Gives Ling her plumes when she appears.
fn attach_ling_plumes(
    mut commands: Commands,
    added: Query<(Entity, &Transform, &HumanoidPose, &Performer), Added<Performer>>,
    mut meshes: Option<ResMut<Assets<Mesh>>>,
    mut materials: Option<ResMut<Assets<StandardMaterial>>>,
) {
    for (entity, root, pose, performer) in &added {
        if performer.bones.is_empty() {
            continue; // avatars bring their own spring bones
        }
        for spec in ling_plumes() {
            let bone = bone_world(root, pose, spec.bone);
            let chain = Chain {
                name: spec.name.clone(),
                group: spec.group,
                performer: entity,
                bone: spec.bone,
                state: ChainState::new(&spec, bone),
                radius: spec.radius,
            };
            let mut e = commands.spawn((Name::new(spec.name.clone()), ChildOf(entity)));
            if let (Some(meshes), Some(materials)) = (meshes.as_mut(), materials.as_mut()) {
                let mesh = meshes.add(tube(&chain.state.current, spec.radius, &spec.colors));
                e.insert((
                    Mesh3d(mesh.clone()),
                    MeshMaterial3d(materials.add(StandardMaterial {
                        base_color: Color::WHITE,
                        perceptual_roughness: 0.6,
                        double_sided: true,
                        cull_mode: None,
                        ..default()
                    })),
                    ChainMesh(mesh, spec.colors),
                    bevy::camera::visibility::NoFrustumCulling,
                ));
            }
            // Drawn in world space: the mesh entity sits at the origin, undoing its parent.
            e.insert((
                chain,
                Transform::default(),
                Visibility::default(),
                WorldSpaceMesh,
            ));
        }
    }
}

#[derive(Component)]
struct ChainMesh(Handle<Mesh>, [Color; 2]);

/// The chain mesh holds world positions; its transform cancels the performer's.
#[derive(Component)]
struct WorldSpaceMesh;

fn draw_chains(
    mut chains: Query<(&Chain, &ChainMesh, &mut Transform), With<WorldSpaceMesh>>,
    performers: Query<&Transform, Without<WorldSpaceMesh>>,
    meshes: Option<ResMut<Assets<Mesh>>>,
) {
    let Some(mut meshes) = meshes else { return };
    for (chain, draw, mut transform) in &mut chains {
        if let Ok(root) = performers.get(chain.performer) {
            let inverse = Transform::from_matrix(root.to_matrix().inverse());
            transform.set_if_neq(inverse);
        }
        let smooth = catmull(&chain.state.current, 3);
        if let Some(mut mesh) = meshes.get_mut(&draw.0) {
            *mesh = tube(&smooth, chain.radius, &draw.1);
        }
    }
}

fn catmull(points: &[Vec3], per_segment: usize) -> Vec<Vec3> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ling_core::settings::{GroupSettings, Wind};

    const DT: f32 = 1.0 / 60.0;

    fn rope(links: usize, stiffness: f32) -> ChainSpec {
        ChainSpec {
            name: "rope".into(),
            group: ChainGroup::Plumes,
            bone: HumanBone::Head,
            // Straight out sideways, 5 cm segments.
            points: (0..=links)
                .map(|i| Vec3::new(0.05 * i as f32, 0.3, 0.0))
                .collect(),
            radius: (0.01, 0.01),
            stiffness,
            drag: 0.05,
            gravity: 1.0,
            colors: [Color::WHITE; 2],
        }
    }

    #[test]
    fn a_limp_chain_settles_hanging_straight_down() {
        let mut chain = ChainState::new(&rope(12, 0.0), Transform::IDENTITY);
        for _ in 0..1800 {
            chain.step(Transform::IDENTITY, DT, &[]);
        }
        let root = chain.current[0];
        for (i, p) in chain.current.iter().enumerate().skip(1) {
            assert!(
                Vec2::new(p.x - root.x, p.z - root.z).length() < 0.01,
                "joint {i} hangs under the root: {p:?}"
            );
            assert!(
                (root.y - p.y - 0.05 * i as f32).abs() < 0.01,
                "joint {i} at {} m",
                root.y - p.y
            );
        }
        assert!(chain.energy(DT) < 1e-4, "at rest: {}", chain.energy(DT));
    }

    #[test]
    fn a_stiff_chain_keeps_its_rest_bend() {
        let spec = ling_plumes().remove(0);
        let mut chain = ChainState::new(&spec, Transform::IDENTITY);
        let rest = chain.current.clone();
        for _ in 0..600 {
            chain.step(Transform::IDENTITY, DT, &[]);
        }
        let tip = chain.current.last().unwrap();
        let sag = rest.last().unwrap().y - tip.y;
        assert!(
            sag < 0.2,
            "the plume stands up under gravity (tip sags {sag} m)"
        );
        assert!(sag > 0.0, "but gravity shows");
    }

    #[test]
    fn energy_stays_bounded_under_a_shaking_root_and_runs_repeat_exactly() {
        let run = || {
            let mut chains = vec![
                ChainState::new(&rope(10, 2.0), Transform::IDENTITY),
                ChainState::new(&rope(10, 0.0), Transform::IDENTITY),
                ChainState::new(&ling_plumes()[0], Transform::IDENTITY),
            ];
            let mut max_energy = [0f32; 2];
            for step in 0..10_000 {
                let t = step as f32 * DT;
                let bone =
                    Transform::from_xyz(0.1 * (t * 12.566).sin(), 0.0, 0.05 * (t * 7.0).cos())
                        .with_rotation(Quat::from_rotation_y(0.8 * (t * 3.0).sin()));
                for c in &mut chains {
                    c.step(
                        bone,
                        DT,
                        &[Sphere {
                            center: Vec3::new(0.0, -0.2, 0.0),
                            radius: 0.15,
                        }],
                    );
                }
                let energy: f32 = chains.iter().map(|c| c.energy(DT)).sum();
                assert!(energy.is_finite(), "no explosion at step {step}");
                for c in &chains {
                    for (a, b) in c.current.iter().zip(&c.previous) {
                        assert!(
                            a.distance(*b) / DT < 30.0,
                            "a joint shot off at step {step}"
                        );
                    }
                }
                let half = usize::from(step >= 5_000);
                max_energy[half] = max_energy[half].max(energy);
            }
            (max_energy, chains)
        };
        let (energy, first) = run();
        assert!(energy[1] <= 1.5 * energy[0] + 1e-3, "no growth: {energy:?}");
        let (_, second) = run();
        assert_eq!(first, second, "the same input gives identical results");
    }

    #[test]
    fn wind_pushes_a_limp_chain_downwind_and_gusts_repeat() {
        let wind = Wind {
            strength: 2.0,
            direction: (1.0, 0.0, 0.0),
            gusts: 0.5,
        };
        assert_eq!(wind.at(3.7), wind.at(3.7));
        assert!(wind.at(0.0).x > 0.0 && wind.at(0.0).y == 0.0);
        let mut chain = ChainState::new(&rope(8, 0.0), Transform::IDENTITY);
        for step in 0..1200 {
            chain.step_in_wind(
                Transform::IDENTITY,
                DT,
                &[],
                wind.at(step as f64 * DT as f64),
            );
        }
        let tip = *chain.current.last().unwrap();
        assert!(tip.x - chain.current[0].x > 0.15, "blown downwind: {tip:?}");
        assert!(PhysicsSettings::default().check().is_ok());
        let bad = PhysicsSettings {
            sleeves: GroupSettings {
                drag: 2.0,
                ..PhysicsSettings::default().sleeves
            },
            ..default()
        };
        assert!(bad.check().unwrap_err().contains("sleeves.drag"));
    }

    #[test]
    fn chains_stay_out_of_body_spheres() {
        let mut chain = ChainState::new(&rope(12, 0.0), Transform::IDENTITY);
        let sphere = Sphere {
            center: Vec3::new(0.2, 0.1, 0.0),
            radius: 0.15,
        };
        let mut deepest = 0f32;
        for _ in 0..1200 {
            chain.step(Transform::IDENTITY, DT, &[sphere]);
            for p in &chain.current[1..] {
                deepest = deepest.max(sphere.radius + 0.01 - p.distance(sphere.center));
            }
        }
        assert!(
            deepest < 0.005,
            "the chain's surface stays out of the sphere: {deepest} m"
        );
    }
}
