//! Gestures: short clips played over the running motion on the upper body — a wave, a bow, a
//! nod, a clap, or a BVH file — faded in and out, so the director can make her react live.
//!
//! A gesture moves only the bones it animates, and never the hips or the legs: whatever plays
//! (the show's motion, a take, VMC, tracking) keeps her standing and walking underneath. The
//! built-in gestures ([`GESTURES`]) are keyframed here, in code: arms are placed by two-bone IK
//! from where the wrist should be, with the forearm turned so the palm faces where it should
//! (the audience for a wave, the other hand for a clap). A BVH file (relative to the show) is
//! read and retargeted like a show's motion; its upper-body bones are played.
//!
//! The layer runs in [`Reactions`](ling_core::Reactions) after the sources have written the
//! frame's [`HumanoidPose`]: each bone a gesture moves is turned from the sources' rotation
//! towards the gesture's by the gesture's level (its fade in and out). A new gesture fades the
//! running one out while it fades in. Gestures run on Bevy's [`Time`], not the show clock.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bevy::prelude::*;

use crate::clip::euler_deg;
use crate::demo;
use crate::emote::{Envelope, PANIC_FADE};
use ling_core::background::{Background, LoadPolicy};
use ling_core::show::{ActiveShow, DirectorCommand, GestureSpec};
use ling_core::signals::{HumanBone as B, HumanoidPose, Performer};

/// The built-in gestures, in the console's order.
pub const GESTURES: [&str; 4] = ["wave", "bow", "nod", "clap"];

/// Whether a gesture may move this bone: everything but the hips and the legs.
pub fn upper_body(bone: B) -> bool {
    !matches!(
        bone,
        B::Hips
            | B::LeftUpperLeg
            | B::LeftLowerLeg
            | B::LeftFoot
            | B::LeftToes
            | B::RightUpperLeg
            | B::RightLowerLeg
            | B::RightFoot
            | B::RightToes
    )
}

/// Local rotations of some bones over time.
#[derive(Debug, Clone)]
pub(crate) struct GestureClip {
    /// Length in seconds.
    pub(crate) duration: f32,
    /// The bones it moves.
    pub(crate) bones: Vec<B>,
    /// (time, one rotation per bone of `bones`), in time order.
    keys: Vec<(f32, Vec<Quat>)>,
    /// Ease in and out of every key (authored keys); otherwise straight between frames
    /// (captures).
    eased: bool,
}

impl GestureClip {
    /// The rotations of its bones at `t` seconds (held at the ends).
    pub(crate) fn sample(&self, t: f32) -> Vec<Quat> {
        let keys = &self.keys;
        let Some(first) = keys.first() else {
            return Vec::new();
        };
        if t <= first.0 || keys.len() == 1 {
            return first.1.clone();
        }
        let last = keys.len() - 1;
        if t >= keys[last].0 {
            return keys[last].1.clone();
        }
        let i = keys.partition_point(|k| k.0 <= t) - 1;
        let (t0, a) = &keys[i];
        let (t1, b) = &keys[i + 1];
        let mut s = ((t - t0) / (t1 - t0).max(1e-6)).clamp(0.0, 1.0);
        if self.eased {
            s = s * s * (3.0 - 2.0 * s);
        }
        a.iter().zip(b).map(|(a, b)| a.slerp(*b, s)).collect()
    }

    /// A clip from keyed poses; a bone missing from a key keeps its value from the key before
    /// (or, before its first key, its first value).
    fn from_keys(keys: Vec<(f32, BTreeMap<B, Quat>)>) -> Self {
        let bones: Vec<B> = keys
            .iter()
            .flat_map(|(_, pose)| pose.keys().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let first = |b: B| {
            keys.iter()
                .find_map(|(_, pose)| pose.get(&b).copied())
                .unwrap_or(Quat::IDENTITY)
        };
        let mut current: Vec<Quat> = bones.iter().map(|b| first(*b)).collect();
        let mut out = Vec::with_capacity(keys.len());
        for (t, pose) in &keys {
            for (i, b) in bones.iter().enumerate() {
                if let Some(q) = pose.get(b) {
                    current[i] = q.normalize();
                }
            }
            out.push((*t, current.clone()));
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        GestureClip {
            duration: out.last().map(|k| k.0).unwrap_or(0.0),
            bones,
            keys: out,
            eased: true,
        }
    }

    /// The upper-body bones `bones` of a retargeted capture, frame by frame.
    fn from_capture(clip: &crate::HumanoidClip, bones: impl IntoIterator<Item = B>) -> Self {
        let bones: Vec<B> = bones.into_iter().filter(|b| upper_body(*b)).collect();
        let keys = clip
            .poses
            .iter()
            .enumerate()
            .map(|(i, pose)| {
                (
                    (i as f64 * clip.frame_time) as f32,
                    bones.iter().map(|b| pose.rotation(*b)).collect(),
                )
            })
            .collect();
        GestureClip {
            duration: clip.duration() as f32,
            bones,
            keys,
            eased: false,
        }
    }
}

type KeyPose = BTreeMap<B, Quat>;

/// An Euler pose (degrees, as the demo authors them) as rotations.
fn quats(pose: &demo::Pose) -> KeyPose {
    pose.iter().map(|(b, e)| (*b, euler_deg(*e))).collect()
}

/// Both arms at ease (hanging, a little forward), as in the demo.
fn arms_at_ease() -> KeyPose {
    quats(&demo::at_ease())
        .into_iter()
        .filter(|(b, _)| {
            matches!(
                b,
                B::LeftUpperArm
                    | B::LeftLowerArm
                    | B::LeftHand
                    | B::RightUpperArm
                    | B::RightLowerArm
                    | B::RightHand
            )
        })
        .collect()
}

/// One arm of a body standing at rest: the upper arm, forearm and hand rotations that put the
/// wrist at `wrist` (model space), the elbow out towards `pole`, and the palm facing `palm`;
/// the hand flapped by `flap` degrees about the palm's normal (a wave's flap).
fn arm(left: bool, wrist: Vec3, pole: Vec3, palm: Vec3, flap: f32) -> KeyPose {
    let (upper, lower, hand) = if left {
        (B::LeftUpperArm, B::LeftLowerArm, B::LeftHand)
    } else {
        (B::RightUpperArm, B::RightLowerArm, B::RightHand)
    };
    let shoulder = upper.rest_position();
    let a = shoulder.distance(lower.rest_position());
    let b = lower.rest_position().distance(hand.rest_position());
    let to = wrist - shoulder;
    let dist = to.length().clamp(0.05, (a + b) * 0.999);
    let dir = to.normalize_or(Vec3::NEG_Y);
    let cos = ((a * a + dist * dist - b * b) / (2.0 * a * dist)).clamp(-1.0, 1.0);
    let bend = (pole - dir * pole.dot(dir)).normalize_or(Vec3::NEG_Y);
    let elbow = shoulder + a * (cos * dir + (1.0 - cos * cos).sqrt() * bend);
    let du = (elbow - shoulder) / a;
    let dl = (shoulder + dir * dist - elbow).normalize();
    let rest = if left { Vec3::X } else { Vec3::NEG_X };
    let gu = Quat::from_rotation_arc(rest, du);
    let swung = Quat::from_rotation_arc(du, dl) * gu;
    // Turn the forearm about its own axis until the palm (down in the rest pose) faces `palm`.
    let now = swung * Vec3::NEG_Y;
    let flat = |v: Vec3| (v - dl * v.dot(dl)).normalize_or_zero();
    let (p, q) = (flat(now), flat(palm));
    let twist = if p == Vec3::ZERO || q == Vec3::ZERO {
        0.0
    } else {
        p.cross(q).dot(dl).atan2(p.dot(q))
    };
    let gl = Quat::from_axis_angle(dl, twist) * swung;
    // The wrist bends the rest of the way (up to 60°), so the palm faces `palm` even where the
    // forearm cannot turn it there.
    let turn = Quat::from_rotation_arc(gl * Vec3::NEG_Y, palm.normalize_or(Vec3::NEG_Y));
    let (_, angle) = turn.to_axis_angle();
    let limit = 60f32.to_radians();
    let turn = if angle > limit {
        Quat::IDENTITY.slerp(turn, limit / angle)
    } else {
        turn
    };
    let wrist = (gl.inverse() * turn * gl).normalize();
    KeyPose::from([
        (upper, gu),
        (lower, (gu.inverse() * gl).normalize()),
        (hand, wrist * Quat::from_rotation_y(flap.to_radians())),
    ])
}

fn merge(mut a: KeyPose, b: KeyPose) -> KeyPose {
    a.extend(b);
    a
}

/// A right-handed wave: the hand comes up beside the head, waves three times, and goes down.
fn wave() -> GestureClip {
    let at_ease: KeyPose = arms_at_ease()
        .into_iter()
        .filter(|(b, _)| matches!(b, B::RightUpperArm | B::RightLowerArm | B::RightHand))
        .collect();
    let open_hand = quats(&demo::fingers(false, [4.0, 6.0, 8.0, 10.0, 12.0]));
    let relaxed_hand = quats(&demo::fingers(false, [10.0, 20.0, 25.0, 30.0, 35.0]));
    let up = |x: f32, flap: f32| {
        merge(
            arm(
                false,
                Vec3::new(x, 1.62, 0.13),
                Vec3::new(-1.0, -0.7, -0.2),
                Vec3::Z,
                flap,
            ),
            open_hand.clone(),
        )
    };
    let mut keys = vec![(0.0, merge(at_ease.clone(), relaxed_hand.clone()))];
    keys.push((0.5, up(-0.36, 0.0)));
    let mut t = 0.5;
    for i in 0..6 {
        t += 0.22;
        let out = i % 2 == 0;
        keys.push((
            t,
            up(
                if out { -0.45 } else { -0.3 },
                if out { -12.0 } else { 14.0 },
            ),
        ));
    }
    keys.push((t + 0.25, up(-0.37, 0.0)));
    keys.push((t + 0.85, merge(at_ease, relaxed_hand)));
    GestureClip::from_keys(keys)
}

/// A bow from the waist: the back bends, the head drops, the arms hang; held, then up again.
fn bow() -> GestureClip {
    let spine = |k: f32| {
        quats(&demo::Pose::from([
            (B::Spine, Vec3::new(12.0 * k, 0.0, 0.0)),
            (B::Chest, Vec3::new(14.0 * k, 0.0, 0.0)),
            (B::UpperChest, Vec3::new(10.0 * k, 0.0, 0.0)),
            (B::Neck, Vec3::new(5.0 * k, 0.0, 0.0)),
            (B::Head, Vec3::new(10.0 * k, 0.0, 0.0)),
        ]))
    };
    // Hanging arms drift forward as she goes down.
    let arms = |k: f32| {
        let mut pose = demo::at_ease();
        for (bone, yaw) in [(B::LeftUpperArm, -1.0), (B::RightUpperArm, 1.0)] {
            if let Some(e) = pose.get_mut(&bone) {
                e.y += yaw * 14.0 * k;
                e.z *= 1.0 + 0.1 * k;
            }
        }
        merge(
            quats(&pose)
                .into_iter()
                .filter(|(b, _)| arms_at_ease().contains_key(b))
                .collect(),
            KeyPose::new(),
        )
    };
    let pose = |k: f32| merge(spine(k), arms(k));
    GestureClip::from_keys(vec![
        (0.0, pose(0.0)),
        (0.3, pose(0.35)),
        (0.8, pose(1.0)),
        (1.6, pose(1.0)),
        (2.3, pose(0.0)),
        (2.5, pose(0.0)),
    ])
}

/// Two nods of the head.
fn nod() -> GestureClip {
    let head = |neck: f32, head: f32| {
        quats(&demo::Pose::from([
            (B::Neck, Vec3::new(neck, 0.0, 0.0)),
            (B::Head, Vec3::new(head, 0.0, 0.0)),
        ]))
    };
    GestureClip::from_keys(vec![
        (0.0, head(0.0, 0.0)),
        (0.3, head(5.0, 15.0)),
        (0.6, head(0.0, -2.0)),
        (0.9, head(4.0, 12.0)),
        (1.25, head(0.0, 0.0)),
        (1.5, head(0.0, 0.0)),
    ])
}

/// Hands up in front of the chest, four claps, hands down.
fn clap() -> GestureClip {
    let hands = |x: f32| {
        merge(
            arm(
                true,
                Vec3::new(x, 1.2, 0.3),
                Vec3::new(1.0, -1.0, -0.2),
                Vec3::NEG_X,
                0.0,
            ),
            arm(
                false,
                Vec3::new(-x, 1.2, 0.3),
                Vec3::new(-1.0, -1.0, -0.2),
                Vec3::X,
                0.0,
            ),
        )
    };
    let mut keys = vec![(0.0, arms_at_ease()), (0.45, hands(0.15))];
    let mut t = 0.45;
    for _ in 0..4 {
        keys.push((t + 0.14, hands(0.035)));
        keys.push((t + 0.32, hands(0.15)));
        t += 0.32;
    }
    keys.push((t + 0.6, arms_at_ease()));
    GestureClip::from_keys(keys)
}

/// A built-in gesture by name.
pub(crate) fn builtin(name: &str) -> Option<GestureClip> {
    Some(match name {
        "wave" => wave(),
        "bow" => bow(),
        "nod" => nod(),
        "clap" => clap(),
        _ => return None,
    })
}

/// Reads a BVH (or `.vrma`) gesture: parsed, matched to the humanoid and cut to its upper-body
/// bones.
pub(crate) fn load_bvh(path: &Path) -> Result<GestureClip, String> {
    let (clip, map) = if crate::vrma::is_vrma(path) {
        let anim = crate::vrma::load(path).map_err(|e| e.to_string())?;
        let clip = anim
            .clip()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        (clip, anim.map)
    } else {
        let bvh = crate::bvh::load(path).map_err(|e| e.to_string())?;
        let map = crate::BoneMap::for_bvh(&bvh).map_err(|e| format!("{}: {e}", path.display()))?;
        let clip = crate::retarget::retarget(&bvh, &map)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        (clip, map)
    };
    let gesture = GestureClip::from_capture(&clip, map.bones.keys().copied());
    if gesture.bones.is_empty() || gesture.duration <= 0.0 {
        return Err(format!(
            "{}: no upper-body motion to play as a gesture",
            path.display()
        ));
    }
    Ok(gesture)
}

/// One gesture playing.
#[derive(Debug, Clone)]
pub struct ActiveGesture {
    /// The built-in gesture's name or the file's path.
    pub name: String,
    clip: Arc<GestureClip>,
    start: f32,
    speed: f32,
    envelope: Envelope,
}

/// The gestures playing (a new one fades the old one out), and the last gesture refused.
#[derive(Resource, Debug, Clone, Default)]
pub struct Gestures {
    /// Playing or fading out, oldest first.
    pub active: Vec<ActiveGesture>,
    /// Why the last gesture asked for could not play, for the console.
    pub refused: Option<String>,
}

impl Gestures {
    /// Plays `clip` from `now`, fading the gestures playing out over its fade.
    fn play(&mut self, name: String, clip: GestureClip, fade: f32, speed: f32, now: f32) {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        let length = clip.duration / speed;
        let fade = if fade.is_finite() { fade.max(0.0) } else { 0.0 }.min(length / 2.0);
        for g in &mut self.active {
            g.envelope.release(now, fade);
        }
        self.refused = None;
        self.active.push(ActiveGesture {
            name,
            clip: Arc::new(clip),
            start: now,
            speed,
            envelope: Envelope::new(now, 0.0, fade, Some(length - 2.0 * fade), fade),
        });
    }

    fn refuse(&mut self, why: String) {
        warn!("{why}; the show goes on");
        self.refused = Some(why);
    }
}

/// What the layer found and wrote on a performer last frame, per bone.
#[derive(Component, Debug, Clone)]
pub(crate) struct GestureTrace {
    base: [Quat; B::COUNT],
    written: [Option<Quat>; B::COUNT],
}

/// A BVH gesture being read: its name, fade, speed and the load.
type GestureLoad = (String, f32, f32, Background<Result<GestureClip, String>>);

/// Starts gestures on the director's commands (BVH files are read off the frame thread live),
/// and stops them on `Panic`.
pub(crate) fn gesture_commands(
    mut commands: MessageReader<DirectorCommand>,
    time: Res<Time>,
    show: Option<Res<ActiveShow>>,
    policy: Option<Res<LoadPolicy>>,
    mut gestures: ResMut<Gestures>,
    mut pending: Local<Vec<GestureLoad>>,
) {
    let now = time.elapsed_secs();
    let policy = policy.map(|p| *p).unwrap_or_default();
    for command in commands.read() {
        match command {
            DirectorCommand::Gesture(GestureSpec { clip, fade, speed }) => {
                if let Some(built_in) = builtin(clip) {
                    gestures.play(clip.clone(), built_in, *fade, *speed, now);
                    continue;
                }
                let lower = clip.to_ascii_lowercase();
                if !lower.ends_with(".bvh") && !lower.ends_with(".vrma") {
                    gestures.refuse(format!(
                        "unknown gesture \"{clip}\": the built-in gestures are {}; anything \
                         else must be a .bvh or .vrma file relative to the show",
                        GESTURES.join(", ")
                    ));
                    continue;
                }
                let path = match &show {
                    Some(show) => show.0.resolve(Path::new(clip)),
                    None => clip.into(),
                };
                let load = Background::start("gesture-load", policy, move || load_bvh(&path));
                pending.push((clip.clone(), *fade, *speed, load));
            }
            DirectorCommand::Panic => {
                pending.clear();
                for g in &mut gestures.active {
                    g.envelope.release(now, PANIC_FADE);
                }
            }
            _ => {}
        }
    }
    let mut i = 0;
    while i < pending.len() {
        match pending[i].3.poll() {
            Some(result) => {
                let (name, fade, speed, _) = pending.remove(i);
                match result {
                    Ok(clip) => gestures.play(name, clip, fade, speed, now),
                    Err(e) => gestures.refuse(format!("gesture \"{name}\" cannot play: {e}")),
                }
            }
            None => i += 1,
        }
    }
}

/// Layers the gestures over every performer's pose.
pub(crate) fn apply_gestures(
    mut commands: Commands,
    time: Res<Time>,
    mut gestures: ResMut<Gestures>,
    mut performers: Query<(Entity, &mut HumanoidPose, Option<&mut GestureTrace>), With<Performer>>,
) {
    let now = time.elapsed_secs();
    if gestures.active.iter().any(|g| g.envelope.finished(now)) {
        gestures.active.retain(|g| !g.envelope.finished(now));
    }
    for (entity, mut pose, trace) in &mut performers {
        if gestures.active.is_empty() && trace.is_none() {
            continue;
        }
        let mut base = pose.rotations;
        if let Some(trace) = &trace {
            for (i, b) in base.iter_mut().enumerate() {
                if trace.written[i] == Some(pose.rotations[i]) {
                    *b = trace.base[i];
                }
            }
        }
        let mut out = base;
        let mut set = [false; B::COUNT];
        for g in &gestures.active {
            let level = g.envelope.level(now);
            let t = ((now - g.start) * g.speed).clamp(0.0, g.clip.duration);
            for (bone, q) in g.clip.bones.iter().zip(g.clip.sample(t)) {
                let i = bone.index();
                out[i] = out[i].slerp(q, level).normalize();
                set[i] = true;
            }
        }
        if pose.rotations != out {
            pose.rotations = out;
        }
        if gestures.active.is_empty() {
            commands.entity(entity).remove::<GestureTrace>();
            continue;
        }
        let written = std::array::from_fn(|i| set[i].then_some(out[i]));
        match trace {
            Some(mut trace) => {
                trace.base = base;
                trace.written = written;
            }
            None => {
                commands
                    .entity(entity)
                    .insert(GestureTrace { base, written });
            }
        }
    }
}

/// Gestures in the app: the [`Gestures`] resource, their commands and their layer.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Gestures>().add_systems(
        Update,
        (gesture_commands, apply_gestures)
            .chain()
            .in_set(ling_core::Reactions),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_gestures_are_short_upper_body_clips_that_start_and_end_at_ease() {
        for name in GESTURES {
            let clip = builtin(name).unwrap();
            assert!(
                (1.4..=3.2).contains(&clip.duration),
                "{name}: {} s",
                clip.duration
            );
            assert!(clip.bones.iter().all(|b| upper_body(*b)), "{name}");
            let start = clip.sample(0.0);
            let end = clip.sample(clip.duration);
            for (a, b) in start.iter().zip(&end) {
                assert!(a.angle_between(*b) < 1e-3, "{name} ends where it starts");
            }
        }
    }

    fn wrist(pose: &KeyPose, bone: B) -> (Vec3, Quat) {
        let mut p = HumanoidPose::default();
        for (b, q) in pose {
            p.set(*b, *q);
        }
        let fk = p.model_transforms();
        (fk[bone.index()].translation, fk[bone.index()].rotation)
    }

    #[test]
    fn arm_ik_reaches_the_wrist_target_with_the_palm_facing_the_way_asked() {
        let target = Vec3::new(-0.36, 1.62, 0.13);
        let pose = arm(false, target, Vec3::new(-1.0, -0.7, -0.2), Vec3::Z, 0.0);
        let (at, rotation) = wrist(&pose, B::RightHand);
        assert!(at.distance(target) < 1e-3, "{at:?}");
        let palm = rotation * Vec3::NEG_Y;
        assert!(palm.z > 0.9, "the palm faces the house: {palm:?}");
        // Clapping hands meet in front of the chest, palm to palm.
        let clip = clap();
        let together = clip
            .keys
            .iter()
            .map(|(_, q)| {
                let pose: KeyPose = clip.bones.iter().copied().zip(q.iter().copied()).collect();
                let (l, lr) = wrist(&pose, B::LeftHand);
                let (r, rr) = wrist(&pose, B::RightHand);
                (l.distance(r), (lr * Vec3::NEG_Y).x, (rr * Vec3::NEG_Y).x)
            })
            .fold((f32::MAX, 0.0, 0.0), |a, b| if b.0 < a.0 { b } else { a });
        assert!(together.0 < 0.09, "hands meet: {together:?}");
        assert!(
            together.1 < -0.8 && together.2 > 0.8,
            "palms face each other: {together:?}"
        );
    }

    use crate::MotionPlayer;
    use ling_core::show::ShowClock;
    use std::time::Duration;

    const STEP: f32 = 0.05;

    /// The idle motion playing on a bare performer, frames 50 ms apart.
    fn app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, crate::plugin));
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
            Duration::from_secs_f32(STEP),
        ));
        app.insert_resource(LoadPolicy::Wait);
        crate::spawn_test_performer(&mut app);
        app.update();
        app.update();
        app
    }

    /// The performer's pose and what the running motion alone gives at this frame.
    fn poses(app: &mut App) -> (HumanoidPose, HumanoidPose) {
        let time = app.world().resource::<ShowClock>().time;
        let base = app.world().resource::<MotionPlayer>().sample(time).pose;
        let world = app.world_mut();
        let pose = world
            .query_filtered::<&HumanoidPose, With<Performer>>()
            .single(world)
            .unwrap()
            .clone();
        (pose, base)
    }

    const LEGS: [B; 9] = [
        B::Hips,
        B::LeftUpperLeg,
        B::LeftLowerLeg,
        B::LeftFoot,
        B::LeftToes,
        B::RightUpperLeg,
        B::RightLowerLeg,
        B::RightFoot,
        B::RightToes,
    ];

    #[test]
    fn a_wave_moves_the_right_arm_over_the_running_motion_and_gives_it_back() {
        let mut app = app();
        app.world_mut()
            .write_message(DirectorCommand::Gesture(GestureSpec {
                clip: "wave".into(),
                fade: 0.3,
                speed: 1.0,
            }));
        let length = builtin("wave").unwrap().duration;
        let mut moved = 0.0f32;
        let mut hand_up = false;
        let frames = (length / STEP).ceil() as usize + 4;
        for k in 0..frames {
            app.update();
            let (pose, base) = poses(&mut app);
            for bone in LEGS {
                assert_eq!(
                    pose.rotation(bone),
                    base.rotation(bone),
                    "{bone:?} left to the motion"
                );
            }
            assert_eq!(pose.hips, base.hips);
            assert_eq!(
                pose.rotation(B::LeftUpperArm),
                base.rotation(B::LeftUpperArm),
                "the other arm too"
            );
            let angle = pose
                .rotation(B::RightUpperArm)
                .angle_between(base.rotation(B::RightUpperArm));
            moved = moved.max(angle);
            let fk = pose.model_transforms();
            if fk[B::RightHand.index()].translation.y > fk[B::Head.index()].translation.y {
                hand_up = true;
            }
            if k == 0 {
                assert!(angle < 1e-3, "starts from the motion's pose");
            }
        }
        assert!(moved > 1.0, "the upper arm swings up: {moved} rad");
        assert!(hand_up, "the hand waves above the head");
        let (pose, base) = poses(&mut app);
        assert_eq!(pose, base, "the motion's pose again once the wave is over");
        assert!(app.world().resource::<Gestures>().active.is_empty());
    }

    #[test]
    fn panic_stops_a_gesture_and_bad_files_are_refused() {
        let mut app = app();
        app.world_mut()
            .write_message(DirectorCommand::Gesture(GestureSpec {
                clip: "bow".into(),
                fade: 0.3,
                speed: 1.0,
            }));
        for _ in 0..12 {
            app.update();
        }
        let (pose, base) = poses(&mut app);
        assert!(
            pose.rotation(B::Chest)
                .angle_between(base.rotation(B::Chest))
                > 0.1,
            "bowing"
        );
        app.world_mut().write_message(DirectorCommand::Panic);
        for _ in 0..8 {
            app.update();
        }
        let (pose, base) = poses(&mut app);
        assert_eq!(pose, base, "stopped");

        for (clip, says) in [
            ("shrug", "wave, bow, nod, clap"),
            ("no/such/gesture.bvh", "no/such/gesture.bvh"),
        ] {
            app.world_mut()
                .write_message(DirectorCommand::Gesture(GestureSpec {
                    clip: clip.into(),
                    fade: 0.3,
                    speed: 1.0,
                }));
            app.update();
            let why = app
                .world()
                .resource::<Gestures>()
                .refused
                .clone()
                .expect("refused");
            assert!(why.contains(says), "{why}");
            assert!(app.world().resource::<Gestures>().active.is_empty());
        }
        let corrupt = tempfile::Builder::new().suffix(".bvh").tempfile().unwrap();
        std::fs::write(corrupt.path(), "HIERARCHY\nROOT Hips {\n garbage").unwrap();
        app.world_mut()
            .write_message(DirectorCommand::Gesture(GestureSpec {
                clip: corrupt.path().display().to_string(),
                fade: 0.3,
                speed: 1.0,
            }));
        app.update();
        let why = app
            .world()
            .resource::<Gestures>()
            .refused
            .clone()
            .expect("refused");
        assert!(why.contains(&corrupt.path().display().to_string()), "{why}");
    }

    #[test]
    fn a_bvh_gesture_plays_its_upper_body() {
        let clip = ling_testkit::repo_root().join("../shared/data/mocap/cmu_131_01.bvh");
        if !clip.exists() {
            ling_testkit::skip(format!(
                "a_bvh_gesture_plays_its_upper_body: {} not found",
                clip.display()
            ));
            return;
        }
        let gesture = load_bvh(&clip).unwrap();
        assert!(gesture.bones.contains(&B::RightUpperArm) && gesture.bones.contains(&B::Head));
        assert!(!gesture.bones.iter().any(|b| LEGS.contains(b)));
        let mut app = app();
        app.world_mut()
            .write_message(DirectorCommand::Gesture(GestureSpec {
                clip: clip.display().to_string(),
                fade: 0.2,
                speed: 1.0,
            }));
        for _ in 0..10 {
            app.update();
        }
        let (pose, base) = poses(&mut app);
        for bone in LEGS {
            assert_eq!(pose.rotation(bone), base.rotation(bone));
        }
        assert_ne!(
            pose.rotation(B::Head),
            base.rotation(B::Head),
            "the capture moves the head"
        );
    }

    #[test]
    fn a_vrma_gesture_plays_its_upper_body() {
        let demo = crate::demo::demo_clip();
        let samples: Vec<_> = (0..60)
            .map(|i| demo.sample(3.0 + i as f32 / 30.0))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("move.vrma");
        std::fs::write(&clip, crate::vrma::write(&samples, 1.0 / 30.0, false)).unwrap();
        let gesture = load_bvh(&clip).unwrap();
        assert!(gesture.bones.contains(&B::RightUpperArm) && gesture.bones.contains(&B::Head));
        assert!(!gesture.bones.iter().any(|b| LEGS.contains(b)));
        assert!(
            (gesture.duration - 2.0).abs() < 1e-3,
            "{}",
            gesture.duration
        );
        let mut app = app();
        app.world_mut()
            .write_message(DirectorCommand::Gesture(GestureSpec {
                clip: clip.display().to_string(),
                fade: 0.2,
                speed: 1.0,
            }));
        for _ in 0..10 {
            app.update();
        }
        let (pose, base) = poses(&mut app);
        for bone in LEGS {
            assert_eq!(pose.rotation(bone), base.rotation(bone));
        }
        assert_ne!(
            pose.rotation(B::RightUpperArm),
            base.rotation(B::RightUpperArm)
        );
    }
}
