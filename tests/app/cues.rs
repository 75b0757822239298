//! The demo's cue list run from GO in a headless show (every simulation system, no
//! rendering): each GO cue's effect on the stage, the pre-wait and follows, the standby
//! pointer, and panic.

use bevy::prelude::*;
use ling_stage::show::{CommandLog, CueRunner, DirectorCommand, ShowFile, cue_number};
use ling_stage::stage::{CameraDirector, StageLighting};
use ling_stage_fx::EffectInstance;

const FRAME: f64 = 1.0 / 30.0;

fn demo_app() -> App {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron");
    let mut app = crate::support::headless_show(ShowFile::load(&path).unwrap(), FRAME);
    // The timed cues at 0 s (house look, wide shot) play; the clock stays there.
    for _ in 0..5 {
        app.update();
    }
    app
}

fn seconds(app: &mut App, s: f64) {
    for _ in 0..(s / FRAME).round() as usize {
        app.update();
    }
}

fn go(app: &mut App) {
    app.world_mut().write_message(DirectorCommand::Go);
    app.update();
}

fn standby(app: &App) -> Option<String> {
    let runner = app.world().resource::<CueRunner>();
    let show = app.world().resource::<ling_stage::show::ActiveShow>();
    runner.standby.map(|i| cue_number(&show.0.cues, i))
}

fn smile(app: &mut App) -> f32 {
    let mut q = app
        .world_mut()
        .query::<&ling_stage::signals::ExpressionWeights>();
    q.iter(app.world())
        .map(|e| e.get("mouthSmileLeft").unwrap_or(0.0))
        .fold(0.0, f32::max)
}

fn issued(app: &App, wanted: impl Fn(&DirectorCommand) -> bool) -> usize {
    app.world()
        .resource::<CommandLog>()
        .entries
        .iter()
        .filter(|(_, c)| wanted(c))
        .count()
}

fn running_effects(app: &mut App) -> Vec<&'static str> {
    let mut q = app.world_mut().query::<&EffectInstance>();
    q.iter(app.world()).map(|e| e.name).collect()
}

#[test]
fn the_demo_runs_from_go_cue_by_cue() {
    let mut app = demo_app();
    assert_eq!(
        standby(&app).as_deref(),
        Some("1"),
        "the first GO cue stands by"
    );
    let rest = smile(&mut app);

    // 1 — her smile: a pulsed joy emote.
    go(&mut app);
    seconds(&mut app, 0.6);
    assert!(
        smile(&mut app) > rest + 0.3,
        "she smiles: {} from {rest}",
        smile(&mut app)
    );
    assert_eq!(standby(&app).as_deref(), Some("2"));

    // 2 — close on her, auto-continuing into 2.5 (a nod after a 0.5 s pre-wait); standby
    // moves past the chain to 3.
    go(&mut app);
    assert_eq!(
        app.world().resource::<CameraDirector>().shot.label(),
        "Close-up"
    );
    assert_eq!(standby(&app).as_deref(), Some("3"));
    let nods = |c: &DirectorCommand| matches!(c, DirectorCommand::Gesture(g) if g.clip == "nod");
    seconds(&mut app, 0.3);
    assert_eq!(issued(&app, nods), 0, "the nod waits its pre-wait");
    seconds(&mut app, 0.4);
    assert_eq!(issued(&app, nods), 1, "then it comes");

    // The smile's pulse (2 s hold) is over by now plus its fade.
    seconds(&mut app, 2.0);
    assert!(smile(&mut app) < rest + 0.05, "the pulse ended");

    // 3 — petals.
    go(&mut app);
    seconds(&mut app, 0.2);
    assert!(running_effects(&mut app).contains(&"petal_rain"));

    // 4 — her bow, auto-following into 5 (house lights) after its 2.5 s.
    go(&mut app);
    assert_eq!(standby(&app), None, "the end of the list");
    let lights = |app: &App| app.world().resource::<StageLighting>().cue.clone();
    let before = lights(&app);
    seconds(&mut app, 2.0);
    assert_eq!(lights(&app), before, "5 waits for 4's duration");
    seconds(&mut app, 0.7);
    assert_eq!(lights(&app).as_deref(), Some("house"));

    // Back puts 5 on standby again; standby on 3 and GO fires petals again; panic stops them.
    app.world_mut().write_message(DirectorCommand::Back);
    app.update();
    assert_eq!(standby(&app).as_deref(), Some("5"));
    app.world_mut()
        .write_message(DirectorCommand::Standby("3".into()));
    app.update();
    go(&mut app);
    seconds(&mut app, 0.2);
    assert!(running_effects(&mut app).contains(&"petal_rain"));
    app.world_mut().write_message(DirectorCommand::Panic);
    seconds(&mut app, 0.2);
    assert!(
        running_effects(&mut app).is_empty(),
        "panic stops every effect"
    );
}
