//! VMC in the show: the receiver as a motion source that overrides the clip while a sender is
//! streaming, and the sender that streams the performer out.
//!
//! While frames arrive the performer follows them (blending in over 0.3 s); when they stop she
//! holds the last pose for 0.5 s, then eases back to the show's own motion over 1 s; when they
//! return she blends back in.
//!
//! [`VmcSettings`] says where to listen and send; [`VmcHealth`] reports how it goes.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bevy::prelude::*;

use super::clip::ClipSample;
use super::vmc::{VmcFrame, VmcReceiver, VmcSender};
use super::{CENTRE_STAGE, blend};
use ling_core::AppSystems;
use ling_core::signals::{ExpressionWeights, HumanoidPose, Performer};

/// Seconds to blend from the show's motion to VMC when frames start arriving.
const BLEND_IN: f32 = 0.3;
/// Seconds the last VMC pose is held after frames stop.
const HOLD: f32 = 0.5;
/// Seconds to ease back to the show's motion after the hold.
const EASE_OUT: f32 = 1.0;

/// Where to listen for and send VMC; set by the live runner from the command line.
#[derive(Resource, Debug, Clone, Default)]
pub struct VmcSettings {
    /// Address to receive VMC on, if any.
    pub listen: Option<SocketAddr>,
    /// Address to stream the performer to, if any.
    pub send: Option<SocketAddr>,
    /// Whether `listen` may be an address other than loopback (the user's `--allow-network`);
    /// without it such an address is refused ([`ling_core::net::check_listen`]).
    pub allow_network: bool,
}

/// The state of VMC input and output, for the panel and benchmarks.
#[derive(Resource, Debug, Clone, Default)]
pub struct VmcHealth {
    /// The address the receiver is bound to, once listening.
    pub listening: Option<SocketAddr>,
    /// Where the performer is streamed to, once sending.
    pub sending: Option<SocketAddr>,
    /// Why listening or sending failed, if it did (the last failure).
    pub error: Option<String>,
    /// Packets received per second, over the last second or so.
    pub packets_per_second: f32,
    /// Time since the last packet arrived.
    pub last_packet_age: Option<Duration>,
    /// Who sent the last packet.
    pub sender: Option<SocketAddr>,
    /// Malformed packets and messages dropped so far.
    pub malformed: u64,
    /// Complete frames received so far.
    pub frames: u64,
    /// Frames dropped because the queue to the stage was full (a flood, or a stalled frame).
    pub dropped: u64,
    /// Frames waiting in the queue at the last drain (at most 256).
    pub queued: usize,
    /// How much the VMC pose drives the performer now (0..=1).
    pub weight: f32,
    /// From the last frame's arrival on the socket to its pose being applied.
    pub last_latency: Option<Duration>,
}

#[derive(Resource)]
struct VmcInput {
    receiver: VmcReceiver,
    pose: HumanoidPose,
    root: Transform,
    expressions: ExpressionWeights,
    last_frame: Option<Instant>,
    weight: f32,
    rate_window: (Instant, u64),
}

#[derive(Resource)]
struct VmcOutput(VmcSender);

/// VMC in the app: starts what [`VmcSettings`] asks for, blends the received pose over the
/// show's motion, streams the performer out, and keeps [`VmcHealth`].
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<VmcHealth>()
        .add_systems(Startup, start_vmc)
        .add_systems(
            Update,
            apply_vmc
                .in_set(AppSystems::Blend)
                .before(ling_core::Reactions)
                .run_if(resource_exists::<VmcInput>),
        )
        .add_systems(
            Update,
            send_vmc
                .in_set(AppSystems::Capture)
                .run_if(resource_exists::<VmcOutput>),
        );
}

fn start_vmc(
    mut commands: Commands,
    settings: Option<Res<VmcSettings>>,
    mut health: ResMut<VmcHealth>,
) {
    let Some(settings) = settings else { return };
    if let Some(addr) = settings.listen {
        let started = match ling_core::net::check_listen("VMC", addr, settings.allow_network) {
            Ok(()) => VmcReceiver::start(addr).map_err(|e| {
                format!("cannot listen for VMC on {addr}: {e} (is another app using the port?)")
            }),
            Err(refused) => Err(refused.to_string()),
        };
        match started {
            Ok(receiver) => {
                info!("VMC: listening on {}", receiver.addr);
                health.listening = Some(receiver.addr);
                commands.insert_resource(VmcInput {
                    receiver,
                    pose: HumanoidPose::default(),
                    root: Transform::from_translation(CENTRE_STAGE),
                    expressions: ExpressionWeights::default(),
                    last_frame: None,
                    weight: 0.0,
                    rate_window: (Instant::now(), 0),
                });
            }
            Err(message) => {
                error!("{message}; the show goes on without VMC input");
                health.error = Some(message);
            }
        }
    }
    if let Some(target) = settings.send {
        match VmcSender::new(target) {
            Ok(sender) => {
                info!("VMC: sending to {target}");
                health.sending = Some(target);
                commands.insert_resource(VmcOutput(sender));
            }
            Err(e) => {
                let message = format!("cannot send VMC to {target}: {e}");
                error!("{message}");
                health.error = Some(message);
            }
        }
    }
}

fn take_frame(input: &mut VmcInput, frame: &VmcFrame) {
    frame.apply_to(&mut input.pose);
    if let Some((p, q)) = frame.root {
        input.root = Transform::from_translation(CENTRE_STAGE + p).with_rotation(q);
    }
    if !frame.blends.is_empty() {
        frame.apply_blends(&mut input.expressions);
    }
}

/// Drains what arrived and blends the VMC pose over what the show's motion wrote.
fn apply_vmc(
    time: Res<Time<Real>>,
    mut input: ResMut<VmcInput>,
    mut health: ResMut<VmcHealth>,
    mut performers: Query<
        (&mut Transform, &mut HumanoidPose, &mut ExpressionWeights),
        With<Performer>,
    >,
) {
    let now = Instant::now();
    let mut latest: Option<Instant> = None;
    // What is queued now, not what keeps arriving while it is drained: a flood cannot hold
    // the frame here.
    let queued = input.receiver.frames.len();
    health.queued = queued;
    for _ in 0..queued {
        let Ok(frame) = input.receiver.frames.try_recv() else {
            break;
        };
        take_frame(&mut input, &frame);
        latest = frame.received_at.or(latest);
    }
    if let Some(at) = latest {
        input.last_frame = Some(at);
        health.last_latency = Some(now.saturating_duration_since(at));
    }
    let dt = time.delta_secs();
    let age = input
        .last_frame
        .map(|t| now.saturating_duration_since(t).as_secs_f32());
    let target_weight = match age {
        Some(a) if a <= HOLD => 1.0,
        _ => 0.0,
    };
    let rate = if target_weight > input.weight {
        1.0 / BLEND_IN
    } else {
        1.0 / EASE_OUT
    };
    input.weight = if target_weight > input.weight {
        (input.weight + rate * dt).min(1.0)
    } else {
        (input.weight - rate * dt).max(0.0)
    };
    let w = input.weight * input.weight * (3.0 - 2.0 * input.weight);

    let stats = input.receiver.stats.clone();
    let packets = stats.packets.load(Ordering::Relaxed);
    let (since, count) = input.rate_window;
    let window = now.saturating_duration_since(since).as_secs_f32();
    if window >= 1.0 {
        health.packets_per_second = (packets - count) as f32 / window;
        input.rate_window = (now, packets);
    }
    health.malformed = stats.malformed.load(Ordering::Relaxed);
    health.frames = stats.frames.load(Ordering::Relaxed);
    health.dropped = stats.dropped.load(Ordering::Relaxed);
    health.sender = stats.last_sender.lock().ok().and_then(|s| *s);
    health.last_packet_age = stats
        .last_packet
        .lock()
        .ok()
        .and_then(|t| *t)
        .map(|t| now.saturating_duration_since(t));
    health.weight = w;

    if w <= 0.0 {
        return;
    }
    let vmc = ClipSample {
        pose: input.pose.clone(),
        root: input.root,
        expressions: input.expressions.clone(),
    };
    for (mut root, mut pose, mut expressions) in &mut performers {
        let show = ClipSample {
            pose: pose.clone(),
            root: *root,
            expressions: expressions.clone(),
        };
        let mixed = blend(&show, &vmc, w);
        *root = mixed.root;
        *pose = mixed.pose;
        *expressions = mixed.expressions;
    }
}

fn send_vmc(
    output: Res<VmcOutput>,
    mut health: ResMut<VmcHealth>,
    performers: Query<(&Transform, &HumanoidPose, &ExpressionWeights), With<Performer>>,
) {
    for (root, pose, expressions) in &performers {
        if let Err(e) = output.0.send(
            pose,
            (root.translation - CENTRE_STAGE, root.rotation),
            expressions,
        ) {
            let message = format!("VMC send to {} failed: {e}", output.0.target());
            if health.error.as_deref() != Some(message.as_str()) {
                warn!("{message}");
                health.error = Some(message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_core::signals::HumanBone;

    #[test]
    fn vmc_takes_over_holds_then_eases_back_to_the_show() {
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            TransformPlugin,
            ling_core::plugin,
            crate::plugin,
        ));
        crate::spawn_test_performer(&mut app);
        app.insert_resource(VmcSettings {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..default()
        });
        app.update();
        let addr = app
            .world()
            .resource::<VmcHealth>()
            .listening
            .expect("listening");
        let sender = VmcSender::new(addr).unwrap();
        let mut raised = HumanoidPose::default();
        raised.set(HumanBone::RightUpperArm, Quat::from_rotation_z(-1.2));
        let arm = |app: &mut App| {
            let world = app.world_mut();
            let pose = world
                .query_filtered::<&HumanoidPose, With<Performer>>()
                .single(world)
                .unwrap();
            pose.rotation(HumanBone::RightUpperArm)
        };
        // Stream for about half a second: the arm follows the sender.
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(600) {
            sender
                .send(
                    &raised,
                    (Vec3::ZERO, Quat::IDENTITY),
                    &ExpressionWeights::default(),
                )
                .unwrap();
            std::thread::sleep(Duration::from_millis(16));
            app.update();
        }
        assert!(
            arm(&mut app)
                .dot(raised.rotation(HumanBone::RightUpperArm))
                .abs()
                > 0.999,
            "VMC drives the arm"
        );
        let health = app.world().resource::<VmcHealth>().clone();
        assert!(health.frames > 10 && health.weight > 0.99, "{health:?}");
        assert!(
            health.last_latency.unwrap() < Duration::from_millis(50),
            "{health:?}"
        );

        // Sender stops: held for HOLD, then eased back to the idle clip.
        let stop = Instant::now();
        while stop.elapsed() < Duration::from_millis(300) {
            std::thread::sleep(Duration::from_millis(16));
            app.update();
        }
        assert!(
            arm(&mut app)
                .dot(raised.rotation(HumanBone::RightUpperArm))
                .abs()
                > 0.999,
            "holds the last pose"
        );
        while stop.elapsed() < Duration::from_millis(2000) {
            std::thread::sleep(Duration::from_millis(16));
            app.update();
        }
        assert_eq!(app.world().resource::<VmcHealth>().weight, 0.0);
        let idle = crate::MotionPlayer::new(
            crate::MotionSource::Keyframes(crate::demo::idle_clip()),
            true,
            1.0,
        );
        let expected = idle.sample(0.0).pose.rotation(HumanBone::RightUpperArm);
        assert!(
            arm(&mut app).dot(expected).abs() > 0.999,
            "back to the show's motion"
        );
    }

    #[test]
    fn a_network_address_is_refused_without_allow_network() {
        let start = |allow_network: bool| {
            let mut app = App::new();
            app.add_plugins((MinimalPlugins, ling_core::plugin, crate::plugin));
            app.insert_resource(VmcSettings {
                listen: Some("0.0.0.0:0".parse().unwrap()),
                send: None,
                allow_network,
            });
            app.update();
            app.world().resource::<VmcHealth>().clone()
        };
        let refused = start(false);
        assert_eq!(refused.listening, None);
        let error = refused.error.expect("an error says why");
        assert!(
            error.contains("0.0.0.0:0") && error.contains("--allow-network"),
            "{error}"
        );
        let allowed = start(true);
        assert!(
            allowed.listening.is_some_and(|a| a.ip().is_unspecified()),
            "{allowed:?}"
        );
        assert_eq!(allowed.error, None);
    }

    #[test]
    fn the_deepest_packets_a_datagram_holds_are_malformed_not_a_crash() {
        // On a thread with the receiver's stack (the default 2 MiB), as the receiver runs it.
        let malformed = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let stats = crate::vmc::VmcStats::default();
                let mut pending = VmcFrame::default();
                for packet in ling_testkit::deepest_osc_packets("/VMC/Ext/OK") {
                    assert!(packet.len() <= 65_507);
                    assert!(!crate::vmc::read_packet(&packet, &mut pending, &stats));
                }
                stats.malformed.load(Ordering::Relaxed)
            })
            .unwrap()
            .join()
            .expect("the decoding thread survives");
        assert_eq!(malformed, 2);
    }
}
