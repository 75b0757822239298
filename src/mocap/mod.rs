//! Motion sources that drive the performer's body.
//!
//! For now: keyframed clips authored in code ([`clip`]), including the built-in demo
//! performance ([`demo`]), played on the show clock. BVH and the VMC protocol come next and
//! write the same canonical signals.

use bevy::prelude::*;

use crate::AppSystems;
use crate::performer::{ExpressionWeights, HumanoidPose, Performer};
use crate::show::{ActiveShow, MotionSpec, ShowClock};

pub mod bvh;
pub mod clip;
pub mod demo;
pub mod retarget;

pub use clip::{ClipSample, KeyframeClip, Track};

/// The clip playing on the performer, and whether it loops with its own length.
#[derive(Resource, Debug, Clone)]
pub struct MotionPlayer {
    pub clip: KeyframeClip,
    pub looping: bool,
}

impl MotionPlayer {
    pub fn for_spec(spec: MotionSpec) -> Self {
        match spec {
            MotionSpec::BuiltInDemo => Self {
                clip: demo::demo_clip(),
                looping: false,
            },
            MotionSpec::Idle => Self {
                clip: demo::idle_clip(),
                looping: true,
            },
        }
    }

    /// The clip's state at show time `t`.
    pub fn sample(&self, t: f64) -> ClipSample {
        let d = self.clip.duration as f64;
        let t = if self.looping && d > 0.0 {
            t.rem_euclid(d)
        } else {
            t.min(d)
        };
        self.clip.sample(t as f32)
    }
}

pub fn plugin(app: &mut App) {
    app.add_systems(Startup, load_show_motion)
        .add_systems(Update, play_motion.in_set(AppSystems::Ingest));
}

fn load_show_motion(
    mut commands: Commands,
    show: Option<Res<ActiveShow>>,
    player: Option<Res<MotionPlayer>>,
) {
    if player.is_none() {
        let spec = show.map(|s| s.0.motion).unwrap_or(MotionSpec::Idle);
        commands.insert_resource(MotionPlayer::for_spec(spec));
    }
}

/// Samples the clip at the show clock and writes the performer's canonical signals.
fn play_motion(
    clock: Res<ShowClock>,
    player: Option<Res<MotionPlayer>>,
    mut performers: Query<
        (&mut Transform, &mut HumanoidPose, &mut ExpressionWeights),
        With<Performer>,
    >,
) {
    let Some(player) = player else { return };
    let sample = player.sample(clock.time);
    for (mut root, mut pose, mut expressions) in &mut performers {
        root.set_if_neq(sample.root);
        pose.set_if_neq(sample.pose.clone());
        expressions.set_if_neq(sample.expressions.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::performer::HumanBone;

    #[test]
    fn demo_is_a_moving_performance_not_a_statue() {
        let player = MotionPlayer::for_spec(MotionSpec::BuiltInDemo);
        assert!(player.clip.duration >= 10.0);
        let start = player.sample(0.0);
        let walk_end = player.sample(4.8);
        // The entrance crosses the stage from the door to centre and turns to the house.
        assert!(start.root.translation.distance(walk_end.root.translation) > 3.0);
        let facing = walk_end.root.rotation * Vec3::Z;
        assert!(
            facing.z > 0.95,
            "faces the audience after the entrance: {facing:?}"
        );
        // The gesture raises the right hand above the head.
        let gesture = player.sample(6.3).pose.model_transforms();
        let hand = gesture[HumanBone::RightHand.index()].translation;
        let head = gesture[HumanBone::Head.index()].translation;
        assert!(hand.y > head.y, "hand {hand:?} above head {head:?}");
        // The turn goes all the way round.
        let mid_turn = player.sample(7.45).root.rotation * Vec3::Z;
        assert!(
            mid_turn.z < 0.0,
            "back to the house half way through the turn"
        );
        // The bow bends the spine forward: the head drops and moves towards the house.
        let bow = player.sample(9.7).pose.model_transforms();
        let bow_head = bow[HumanBone::Head.index()].translation;
        let stand_head =
            player.sample(4.8).pose.model_transforms()[HumanBone::Head.index()].translation;
        assert!(stand_head.y - bow_head.y > 0.08, "bow lowers the head");
        assert!(
            bow_head.z - stand_head.z > 0.1,
            "bow leans towards the house"
        );
        // Eyes blink and the mouth sings.
        let blinks = (0..1200)
            .filter(|i| {
                player
                    .sample(*i as f64 * 0.01)
                    .expressions
                    .get("eyeBlinkLeft")
                    .unwrap()
                    > 0.8
            })
            .count();
        assert!(blinks >= 5, "blinking: {blinks} samples with eyes shut");
        let sung: f32 = (470..650)
            .map(|i| {
                player
                    .sample(i as f64 * 0.01)
                    .expressions
                    .visemes
                    .iter()
                    .sum::<f32>()
            })
            .sum();
        assert!(sung > 20.0, "mouth moves while singing: {sung}");
    }

    #[test]
    fn demo_feet_stay_near_the_floor() {
        let player = MotionPlayer::for_spec(MotionSpec::BuiltInDemo);
        for i in 0..=120 {
            let t = i as f64 * 0.1;
            let fk = player.sample(t).pose.model_transforms();
            let lowest = [HumanBone::LeftFoot, HumanBone::RightFoot]
                .iter()
                .map(|b| fk[b.index()].translation.y)
                .fold(f32::MAX, f32::min);
            // The foot joint sits 9 cm above the sole at rest.
            assert!(
                (lowest - 0.09).abs() < 0.07,
                "t={t}: lowest foot joint at {lowest}"
            );
        }
    }

    #[test]
    fn clip_drives_the_performer_from_the_show_clock() {
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            TransformPlugin,
            crate::configure_phases,
            crate::show::plugin,
            crate::performer::plugin,
            plugin,
        ));
        app.insert_resource(MotionPlayer::for_spec(MotionSpec::BuiltInDemo));
        app.insert_resource(ShowClock {
            time: 2.0,
            playing: false,
            duration: 12.0,
            looping: false,
            mode: crate::show::ClockMode::External,
        });
        app.update();
        let world = app.world_mut();
        let (root, pose) = world
            .query_filtered::<(&Transform, &HumanoidPose), With<Performer>>()
            .single(world)
            .unwrap();
        let expected = MotionPlayer::for_spec(MotionSpec::BuiltInDemo).sample(2.0);
        assert_eq!(*root, expected.root);
        assert_eq!(*pose, expected.pose);
    }
}
