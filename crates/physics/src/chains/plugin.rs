//! The ECS side: plumes put on the performer, stepped in the fixed schedule against her body
//! and the wind, redrawn every frame; and the physics settings from the show and the director.

use bevy::prelude::*;

use ling_core::settings::{ChainGroup, PhysicsSettings};
use ling_core::show::{ActiveShow, DirectorCommand, ShowClock};
use ling_core::signals::{HumanBone, HumanoidPose, Performer};
use ling_performer::SimulatedCostume;

use super::mesh::{catmull, tube};
use super::plumes::{body_spheres, ling_plumes};
use super::state::ChainState;

/// A chain on a performer, with its state.
#[derive(Component, Debug, Clone)]
struct Chain {
    group: ChainGroup,
    performer: Entity,
    bone: HumanBone,
    state: ChainState,
    radius: (f32, f32),
}

/// Ling's plumes on her head, stepped in the fixed schedule and redrawn every frame; and the
/// physics settings, loaded from the show and changed by director commands.
pub(crate) fn plugin(app: &mut App) {
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
