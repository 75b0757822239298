//! The ECS side: the cloth world as a resource, cloth put on performers and set pieces,
//! stepped in the fixed schedule and redrawn every frame.

use bevy::prelude::*;

use ling_core::settings::PhysicsSettings;
use ling_core::show::{DirectorCommand, ShowClock};
use ling_core::signals::{HumanBone, HumanoidPose, Performer};

use super::body::{ling_body, world_bones};
use super::garments::{door_curtain, ling_back_flags, ling_sleeve};
use super::mesh::{cloth_mesh, pole_mesh};
use super::spec::{ClothAnchor, ClothGroup, ClothSpec};
use super::world::CostumeWorld;

/// A pinned edge that moves further than this in one step has been teleported (a seek, a cut
/// in the motion): the cloth is put back at rest instead of whipping across the stage.
const TELEPORT_DISTANCE: f32 = 0.25;

/// The costume's cloth world, stepped in the fixed schedule.
#[derive(Resource, Default)]
struct CostumeCloth {
    /// The cloth, the body it meets, and the rapier world they live in.
    world: CostumeWorld,
    /// The performer whose body the cloth collides with (the one on stage).
    performer: Option<Entity>,
}

/// A drawn cloth: its mesh is rebuilt from the particles every frame, in the frame of the
/// entity's `to_local` transform.
#[derive(Component)]
struct ClothPiece {
    /// The cloth's index in the [`CostumeWorld`].
    cloth: usize,
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
    /// Width along the rail, metres.
    pub width: f32,
    /// Height from the rail down, metres.
    pub height: f32,
    /// How many soft folds it hangs in across its width.
    pub folds: f32,
    /// How far the folds swing either side of the curtain's plane, metres.
    pub depth: f32,
}

/// Cloth on performers and set pieces, stepped in the fixed schedule and redrawn every frame.
pub(crate) fn plugin(app: &mut App) {
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
        Query<&crate::springs::SpringBones>,
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
        .map(|s| s.collider_segments(&crate::springs::hierarchy!(transforms, parents)))
        .unwrap_or_default();
    cloth.world.set_avatar_colliders(&own);
    let teleported = cloth
        .world
        .cloth_indices()
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
