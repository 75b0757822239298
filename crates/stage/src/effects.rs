//! Stage effects on the show: the bridge between the show and the effect-plugin API (the
//! `ling-stage-fx` crate in `plugins/fx`).
//!
//! An effect registers itself with one call (`app.register_stage_effect::<MyEffect>()`); show
//! files fire it with a `TriggerEffect(name: "...", params: {...})` cue, checked by the runner
//! against the app's registry; the director panel lists, edits and fires it; recordings keep
//! the commands. This module feeds the effects the show clock and turns director commands into
//! effect commands; the stage module publishes where the follow spot, the lanterns and the
//! performer are ([`ling_stage_fx::StageAnchors`]).

use bevy::prelude::*;

use ling_stage_fx::{EffectCommand, FxPlugin, FxSystems, StageTime};

use ling_core::AppSystems;
use ling_core::show::{DirectorCommand, ShowClock};

/// Feeds the effects the show clock, turns director commands into effect commands, and fires
/// the show's `onset_effects` on the audio's onsets. The effects themselves are added by the
/// app (`ling-stage` adds the stock ones from `plugins/`).
pub fn plugin(app: &mut App) {
    app.add_plugins(FxPlugin)
        .add_message::<DirectorCommand>()
        .configure_sets(
            Update,
            (FxSystems::Control, FxSystems::Animate).in_set(AppSystems::Stage),
        )
        .init_resource::<OnsetCursor>()
        .add_systems(
            Update,
            (direct_effects, fire_on_onsets)
                .in_set(AppSystems::Stage)
                .before(FxSystems::Control),
        );
}

/// Keeps the effects on the show clock and passes the director's effect commands on. A jump
/// back in time or a stage reset stops whatever is running.
fn direct_effects(
    clock: Res<ShowClock>,
    mut time: ResMut<StageTime>,
    mut director: MessageReader<DirectorCommand>,
    mut effects: MessageWriter<EffectCommand>,
) {
    time.now = clock.time;
    for command in director.read() {
        match command {
            DirectorCommand::TriggerEffect { name, params } => {
                effects.write(EffectCommand::Fire {
                    name: name.clone(),
                    params: params.clone(),
                });
            }
            DirectorCommand::StopEffect { name } => {
                effects.write(EffectCommand::Stop { name: name.clone() });
            }
            DirectorCommand::ResetStage | DirectorCommand::Panic => {
                effects.write(EffectCommand::StopAll);
            }
            _ => {}
        }
    }
}

/// Where onset-fired effects stand: the show time last seen and when each last fired.
#[derive(Resource, Debug, Default)]
struct OnsetCursor {
    last_time: Option<f64>,
    fired: Vec<f64>,
}

/// Fires the show's `onset_effects` as the clock crosses the audio's onsets (a jump in the
/// clock fires nothing, so seeks do not set off a burst of them).
fn fire_on_onsets(
    clock: Res<ShowClock>,
    show: Option<Res<ling_core::show::ActiveShow>>,
    track: Option<Res<ling_audio::AudioTrack>>,
    mut cursor: ResMut<OnsetCursor>,
    mut effects: MessageWriter<EffectCommand>,
) {
    let now = clock.time;
    let last = cursor.last_time.replace(now);
    let (Some(show), Some(track), Some(last)) = (show, track, last) else {
        return;
    };
    let rules = &show.0.onset_effects;
    if rules.is_empty() || now < last || now - last > 0.5 {
        return;
    }
    cursor.fired.resize(rules.len(), f64::NEG_INFINITY);
    for onset in track
        .analysis
        .onsets
        .iter()
        .filter(|t| **t > last && **t <= now)
    {
        for (i, rule) in rules.iter().enumerate() {
            if *onset < rule.from || *onset > rule.until || onset - cursor.fired[i] < rule.min_gap {
                continue;
            }
            cursor.fired[i] = *onset;
            effects.write(EffectCommand::Fire {
                name: rule.effect.clone(),
                params: rule.params.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_stage_fx::{EffectInstance, EffectParams, EffectRegistry};

    /// A headless app playing the show `text` on an external clock, with the stock effects.
    fn show_app(text: &str) -> App {
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            ling_core::plugin,
            plugin,
            ling_fx_petal_rain::PetalRainPlugin,
            ling_fx_lantern_burst::LanternBurstPlugin,
        ));
        let show = ling_core::show::ShowFile::parse(text, std::path::Path::new("fx.ron")).unwrap();
        show.check_effects(app.world().resource::<EffectRegistry>())
            .unwrap();
        ling_core::show::insert_show(&mut app, show, ling_core::show::ClockMode::External, false);
        app
    }

    #[test]
    fn onsets_fire_effects_at_most_once_per_gap() {
        let mut app = show_app(
            r#"(name: "beats", duration: 10.0, onset_effects: [
                (effect: "lantern_burst", params: {"seconds": 0.2}, min_gap: 1.0, from: 1.0),
            ])"#,
        );
        app.insert_resource(ling_audio::AudioTrack {
            path: "beats.wav".into(),
            analysis: ling_audio::analysis::Analysis {
                hop_seconds: 0.01,
                frames: Vec::new(),
                // Before `from`, then two within the gap, then one after it.
                onsets: vec![0.5, 1.5, 2.0, 2.7],
                tempo_bpm: None,
            },
            duration: 10.0,
        });
        app.finish();
        let mut fired = Vec::new();
        for frame in 0..=30 {
            let t = frame as f64 * 0.1;
            app.world_mut().resource_mut::<ShowClock>().time = t;
            app.update();
            let world = app.world_mut();
            for i in world.query::<&EffectInstance>().iter(world) {
                if !fired.iter().any(|s: &f64| (s - i.started_at).abs() < 1e-9) {
                    fired.push(i.started_at);
                }
            }
        }
        let rounded: Vec<f64> = fired.iter().map(|t| (t * 10.0).round() / 10.0).collect();
        assert_eq!(
            rounded,
            [1.5, 2.7],
            "fired on onsets after `from`, one per second"
        );
        let bad = ling_core::show::ShowFile::parse(
            "(name: \"b\", duration: 5.0,\n onset_effects: [\n (effect: \"confetti\"),\n])",
            std::path::Path::new("b.ron"),
        )
        .unwrap()
        .check_effects(app.world().resource::<EffectRegistry>())
        .unwrap_err()
        .to_string();
        assert!(
            bad.starts_with("b.ron:3:") && bad.contains("confetti"),
            "{bad}"
        );
    }

    #[test]
    fn cues_fire_effects_on_the_show_clock_and_a_reset_stops_them() {
        let mut app = show_app(
            r#"(name: "fx", duration: 10.0, cues: [
                (at: 1.0, command: TriggerEffect(name: "lantern_burst", params: {"seconds": 3.0})),
            ])"#,
        );
        app.finish();
        let running = |app: &mut App| {
            let world = app.world_mut();
            world.query::<&EffectInstance>().iter(world).count()
        };
        // Plays the show on to `t` in 0.1 s frames.
        let at = |app: &mut App, t: f64| {
            loop {
                let now = app.world().resource::<ShowClock>().time;
                let next = (now + 0.1).min(t);
                app.world_mut().resource_mut::<ShowClock>().time = next;
                app.update();
                if next >= t {
                    break;
                }
            }
        };
        at(&mut app, 0.5);
        assert_eq!(running(&mut app), 0);
        at(&mut app, 1.1);
        assert_eq!(running(&mut app), 1, "fired by its cue");
        let instance = {
            let world = app.world_mut();
            world
                .query::<&EffectInstance>()
                .single(world)
                .unwrap()
                .clone()
        };
        assert!((instance.started_at - 1.1).abs() < 1e-6, "{instance:?}");
        assert_eq!(instance.ends_at, Some(instance.started_at + 3.0));
        at(&mut app, 4.2);
        assert_eq!(running(&mut app), 0, "over after its 3 s");
        app.world_mut()
            .write_message(DirectorCommand::TriggerEffect {
                name: "petal_rain".into(),
                params: EffectParams::new(),
            });
        at(&mut app, 4.3);
        assert_eq!(running(&mut app), 1, "fired from the panel");
        app.world_mut().write_message(DirectorCommand::ResetStage);
        at(&mut app, 4.4);
        assert_eq!(running(&mut app), 0, "a stage reset stops it");
    }
}
