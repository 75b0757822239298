//! The cue list as an operator runs it, QLab's way: a cue on standby, GO fires it (after its
//! pre-wait) and puts the next GO cue on standby, back, jump to any cue, panic; a cue that
//! auto-continues starts the next at once, one that auto-follows starts it when its own
//! duration is over. Cues with a time (`at`) keep firing on the show clock
//! ([`super::fire_due_cues`]); GO steps through the cues without one, and fires a timed cue
//! early when the operator puts it on standby.
//!
//! The cue list is edited live through [`DirectorCommand::EditCues`] with undo and redo, and
//! written back with [`DirectorCommand::SaveShow`]; [`DirectorCommand::LoadShow`] swaps the
//! show, or keeps the running one and says why not.

use bevy::prelude::*;

use super::{ActiveShow, Cue, CueEdit, DirectorCommand, Follow, ShowClock, ShowFile};

/// Changes kept for undo.
const UNDO_DEPTH: usize = 100;

/// Where the operator's cue list stands.
#[derive(Resource, Debug, Default)]
pub struct CueRunner {
    /// Index (into the show's `cues`) of the cue on standby: the one GO fires.
    pub standby: Option<usize>,
    /// Cues started and counting down to firing: pre-waits and follows.
    pub waiting: Vec<Waiting>,
    /// The cue that fired last.
    pub last_fired: Option<usize>,
    /// The cue list has changes not yet saved.
    pub unsaved: bool,
    /// What the last save or load said: the file written, or why it failed.
    pub file_status: Option<Result<String, String>>,
    undo: Vec<Vec<Cue>>,
    redo: Vec<Vec<Cue>>,
    /// Cue-list commands taken from the message queue, handled in order.
    inbox: Vec<DirectorCommand>,
    /// The show the standby was set for (a new show resets it).
    primed: bool,
}

/// A cue counting down to firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    /// The cue (index into the show's `cues`).
    pub index: usize,
    /// Seconds left.
    pub left: f64,
    /// Seconds it waits in all (for the console's progress bar).
    pub total: f64,
}

impl CueRunner {
    /// Whether there is something to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}

/// The cue a number names: the cue whose `number` it is, or else the cue at that position
/// (from 1) in the list.
pub fn find_cue(cues: &[Cue], number: &str) -> Option<usize> {
    let number = number.trim();
    cues.iter().position(|c| c.number == number).or_else(|| {
        number
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=cues.len()).contains(n))
            .map(|n| n - 1)
    })
}

/// The number the console and the remote show for the cue at `index`.
pub fn cue_number(cues: &[Cue], index: usize) -> String {
    match cues.get(index) {
        Some(cue) if !cue.number.is_empty() => cue.number.clone(),
        _ => (index + 1).to_string(),
    }
}

/// The first cue after `index` that waits for GO.
fn next_go(cues: &[Cue], index: Option<usize>) -> Option<usize> {
    let from = index.map_or(0, |i| i + 1);
    (from..cues.len()).find(|&i| cues[i].at.is_none())
}

/// The last cue before `index` that waits for GO.
fn previous_go(cues: &[Cue], index: Option<usize>) -> Option<usize> {
    let to = index.unwrap_or(cues.len());
    (0..to).rev().find(|&i| cues[i].at.is_none())
}

/// Takes the operator's cue-list commands off the message queue.
pub(super) fn collect_cue_commands(
    mut commands: MessageReader<DirectorCommand>,
    mut runner: ResMut<CueRunner>,
) {
    for command in commands.read() {
        if matches!(
            command,
            DirectorCommand::Go
                | DirectorCommand::Back
                | DirectorCommand::Standby(_)
                | DirectorCommand::FireCue(_)
                | DirectorCommand::Panic
                | DirectorCommand::EditCues(_)
                | DirectorCommand::SaveShow
                | DirectorCommand::LoadShow(_)
                | DirectorCommand::ResetStage
        ) {
            runner.inbox.push(command.clone());
        }
    }
}

/// Handles the cue-list commands, counts the waits down and fires the cues whose time came.
pub(super) fn run_cue_list(
    time: Res<Time>,
    show: Option<ResMut<ActiveShow>>,
    mut clock: ResMut<ShowClock>,
    mut runner: ResMut<CueRunner>,
    mut out: MessageWriter<DirectorCommand>,
) {
    let Some(mut show) = show else { return };
    if !runner.primed || show.is_changed() && runner.standby.is_none() {
        runner.primed = true;
        runner.standby = next_go(&show.0.cues, None);
    }
    for command in std::mem::take(&mut runner.inbox) {
        match command {
            DirectorCommand::Go => {
                if let Some(index) = runner.standby {
                    start(&mut runner, &show.0.cues, index);
                }
            }
            DirectorCommand::Back => {
                runner.standby = previous_go(&show.0.cues, runner.standby);
            }
            DirectorCommand::Standby(number) => match find_cue(&show.0.cues, &number) {
                Some(index) => runner.standby = Some(index),
                None => warn!("no cue {number} in the cue list"),
            },
            DirectorCommand::FireCue(number) => match find_cue(&show.0.cues, &number) {
                Some(index) => start(&mut runner, &show.0.cues, index),
                None => warn!("no cue {number} in the cue list"),
            },
            DirectorCommand::Panic => runner.waiting.clear(),
            // A stage reset (seek, loop) cancels what was counting down, not the standby.
            DirectorCommand::ResetStage => runner.waiting.clear(),
            DirectorCommand::EditCues(edit) => edit_cues(&mut runner, &mut show.0, edit),
            DirectorCommand::SaveShow => {
                runner.file_status = Some(match show.0.save() {
                    Ok(path) => {
                        runner.unsaved = false;
                        info!("show saved to {}", path.display());
                        Ok(format!("saved {}", path.display()))
                    }
                    Err(e) => {
                        warn!("{e}");
                        Err(e.to_string())
                    }
                });
            }
            DirectorCommand::LoadShow(path) => match ShowFile::load(&path) {
                Ok(new) => {
                    info!("show loaded from {}", path.display());
                    if new.performer != show.0.performer {
                        out.write(DirectorCommand::SwitchPerformer(new.performer.clone()));
                    }
                    if new.motion != show.0.motion {
                        out.write(DirectorCommand::PlayMotion {
                            motion: new.motion.clone(),
                            crossfade: 0.5,
                        });
                    }
                    clock.duration = new.duration;
                    clock.time = clock.time.min(new.duration);
                    *runner = CueRunner {
                        file_status: Some(Ok(format!("loaded {}", path.display()))),
                        ..default()
                    };
                    show.0 = new;
                }
                Err(e) => {
                    warn!("{e}; the running show goes on");
                    runner.file_status = Some(Err(e.to_string()));
                }
            },
            _ => {}
        }
    }
    // Count the waits down; fire what is due, in the order it was started.
    let dt = time.delta_secs_f64();
    let mut due = Vec::new();
    runner.waiting.retain_mut(|w| {
        w.left -= dt;
        if w.left <= 0.0 {
            due.push(w.index);
            false
        } else {
            true
        }
    });
    for index in due {
        fire(&mut runner, &show.0.cues, index, &mut out);
    }
}

/// GO on `index`: it waits its pre-wait (or fires now), and standby moves past it and the
/// cues it chains to.
fn start(runner: &mut CueRunner, cues: &[Cue], index: usize) {
    let Some(cue) = cues.get(index) else { return };
    runner.waiting.push(Waiting {
        index,
        left: cue.pre_wait,
        total: cue.pre_wait,
    });
    let mut last = index;
    while cues[last].follow != Follow::Manual {
        match next_go(cues, Some(last)) {
            Some(next) => last = next,
            None => break,
        }
    }
    runner.standby = next_go(cues, Some(last));
}

/// A cue's command goes out; its follow starts the next GO cue.
fn fire(
    runner: &mut CueRunner,
    cues: &[Cue],
    index: usize,
    out: &mut MessageWriter<DirectorCommand>,
) {
    let Some(cue) = cues.get(index) else { return };
    out.write(cue.command.clone());
    runner.last_fired = Some(index);
    let Some(next) = next_go(cues, Some(index)) else {
        return;
    };
    let wait = match cue.follow {
        Follow::Manual => return,
        Follow::AutoContinue => cues[next].pre_wait,
        Follow::AutoFollow => cue.duration + cues[next].pre_wait,
    };
    runner.waiting.push(Waiting {
        index: next,
        left: wait,
        total: wait,
    });
}

/// One change to the cue list, kept for undo; the standby follows the cue it was on.
fn edit_cues(runner: &mut CueRunner, show: &mut ShowFile, edit: CueEdit) {
    let cues = &mut show.cues;
    let before = cues.clone();
    let standby = runner.standby;
    match edit {
        CueEdit::Undo => {
            if let Some(previous) = runner.undo.pop() {
                runner.redo.push(std::mem::replace(cues, previous));
            }
        }
        CueEdit::Redo => {
            if let Some(next) = runner.redo.pop() {
                runner.undo.push(std::mem::replace(cues, next));
            }
        }
        CueEdit::Insert { index, cue } => {
            if let Err(why) = check_cue(&cue, show.duration) {
                return warn!("cue not added: {why}");
            }
            let index = index.min(cues.len());
            cues.insert(index, *cue);
            runner.standby = standby.map(|s| if s >= index { s + 1 } else { s });
        }
        CueEdit::Replace { index, cue } => {
            if let Err(why) = check_cue(&cue, show.duration) {
                return warn!("cue {} not changed: {why}", index + 1);
            }
            match cues.get_mut(index) {
                Some(slot) => *slot = *cue,
                None => return warn!("no cue at position {}", index + 1),
            }
        }
        CueEdit::Delete(index) => {
            if index >= cues.len() {
                return warn!("no cue at position {}", index + 1);
            }
            cues.remove(index);
            runner.standby = match standby {
                Some(s) if s > index => Some(s - 1),
                Some(s) if s == index => (index..cues.len()).find(|&i| cues[i].at.is_none()),
                other => other,
            };
        }
        CueEdit::Move { from, to } => {
            if from >= cues.len() || to >= cues.len() {
                return warn!("cannot move cue {} to {}", from + 1, to + 1);
            }
            let cue = cues.remove(from);
            cues.insert(to, cue);
            runner.standby = standby.map(|s| {
                if s == from {
                    to
                } else {
                    let s = if s > from { s - 1 } else { s };
                    if s >= to { s + 1 } else { s }
                }
            });
        }
    }
    if *cues != before {
        if !matches!(runner.undo.last(), Some(last) if *last == before)
            && runner.redo.last() != Some(&before)
        {
            runner.undo.push(before);
            if runner.undo.len() > UNDO_DEPTH {
                runner.undo.remove(0);
            }
            runner.redo.clear();
        }
        runner.unsaved = true;
        runner.waiting.clear();
    }
    let len = cues.len();
    runner.standby = runner.standby.filter(|&s| s < len);
}

/// What the show file checks for a cue, for one edited live.
fn check_cue(cue: &Cue, duration: f64) -> Result<(), String> {
    if let Some(at) = cue.at {
        if !(at.is_finite() && (0.0..=duration).contains(&at)) {
            return Err(format!("time {at} is outside the show (0 to {duration} s)"));
        }
    }
    for (field, value) in [("pre-wait", cue.pre_wait), ("duration", cue.duration)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(format!(
                "{field} must be zero or more seconds (got {value})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bevy::time::TimeUpdateStrategy;

    use super::*;
    use crate::show::{ClockMode, insert_show};

    /// A marker command: which cue fired shows in the speed it sets.
    fn mark(n: f64) -> DirectorCommand {
        DirectorCommand::MotionSpeed(n)
    }

    fn go_cue(number: &str, n: f64) -> Cue {
        Cue {
            number: number.into(),
            name: format!("cue {number}"),
            ..Cue::manual(mark(n))
        }
    }

    /// Fired marker commands, with the frame they came on.
    #[derive(Resource, Default)]
    struct Fired(Vec<(u32, f64)>);

    #[derive(Resource, Default)]
    struct Frame(u32);

    fn record(
        mut commands: MessageReader<DirectorCommand>,
        mut fired: ResMut<Fired>,
        mut frame: ResMut<Frame>,
    ) {
        frame.0 += 1;
        for c in commands.read() {
            if let DirectorCommand::MotionSpeed(n) = c {
                fired.0.push((frame.0, *n));
            }
        }
    }

    /// The cue list: a timed cue, then GO cues 10 (auto-continue into 20, which waits 0.5 s),
    /// 20 (auto-follow: 30 starts 1 s after it), 30, 40, 50; frames are 0.1 s.
    fn app() -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(crate::show::plugin)
            .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
                100,
            )))
            .init_resource::<Fired>()
            .init_resource::<Frame>()
            .add_systems(Last, record);
        let show = ShowFile {
            duration: 600.0,
            cues: vec![
                Cue::timed(0.0, DirectorCommand::ResetPhysics),
                Cue {
                    follow: Follow::AutoContinue,
                    ..go_cue("10", 1.0)
                },
                Cue {
                    pre_wait: 0.5,
                    follow: Follow::AutoFollow,
                    duration: 1.0,
                    ..go_cue("20", 2.0)
                },
                go_cue("30", 3.0),
                go_cue("40", 4.0),
                go_cue("50", 5.0),
            ],
            ..default()
        };
        insert_show(&mut app, show, ClockMode::Realtime, false);
        app.update();
        app
    }

    fn run(app: &mut App, frames: usize) {
        for _ in 0..frames {
            app.update();
        }
    }

    fn send(app: &mut App, command: DirectorCommand) {
        app.world_mut().write_message(command);
        app.update();
    }

    fn standby(app: &App) -> Option<usize> {
        app.world().resource::<CueRunner>().standby
    }

    fn fired(app: &App) -> Vec<f64> {
        app.world()
            .resource::<Fired>()
            .0
            .iter()
            .map(|f| f.1)
            .collect()
    }

    #[test]
    fn go_runs_a_chain_with_its_waits_and_moves_standby_past_it() {
        let mut app = app();
        assert_eq!(standby(&app), Some(1), "the first GO cue stands by");
        send(&mut app, DirectorCommand::Go);
        // GO fires 10 at once; 10 continues into 20 after 20's pre-wait; 20 follows into 30
        // after its duration; the chain ends at 30 (manual), so 40 stands by.
        assert_eq!(standby(&app), Some(4));
        run(&mut app, 30);
        let fired_at = app.world().resource::<Fired>().0.clone();
        let frame_of = |n: f64| fired_at.iter().find(|f| f.1 == n).map(|f| f.0);
        assert_eq!(fired(&app), vec![1.0, 2.0, 3.0], "{fired_at:?}");
        let (a, b, c) = (
            frame_of(1.0).unwrap(),
            frame_of(2.0).unwrap(),
            frame_of(3.0).unwrap(),
        );
        assert!(
            (4..=6).contains(&(b - a)),
            "20 waits its 0.5 s pre-wait: {fired_at:?}"
        );
        assert!(
            (9..=11).contains(&(c - b)),
            "30 follows 20's 1 s duration: {fired_at:?}"
        );
        // Nothing more without GO.
        run(&mut app, 20);
        assert_eq!(fired(&app).len(), 3);
        send(&mut app, DirectorCommand::Go);
        run(&mut app, 1);
        assert_eq!(fired(&app), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(standby(&app), Some(5));
    }

    #[test]
    fn back_jump_fire_and_panic() {
        let mut app = app();
        send(&mut app, DirectorCommand::Back);
        assert_eq!(standby(&app), None, "nothing before the first cue");
        send(&mut app, DirectorCommand::Standby("40".into()));
        assert_eq!(standby(&app), Some(4));
        send(&mut app, DirectorCommand::Back);
        assert_eq!(standby(&app), Some(3));
        // By position when no cue has that number: the 6th cue is 50.
        send(&mut app, DirectorCommand::Standby("6".into()));
        assert_eq!(standby(&app), Some(5));
        send(&mut app, DirectorCommand::Standby("99".into()));
        assert_eq!(standby(&app), Some(5), "an unknown cue changes nothing");
        send(&mut app, DirectorCommand::FireCue("30".into()));
        run(&mut app, 1);
        assert_eq!(fired(&app), vec![3.0]);
        assert_eq!(standby(&app), Some(4), "the cue after the one fired");
        // Panic cancels a pending pre-wait.
        send(&mut app, DirectorCommand::Standby("20".into()));
        send(&mut app, DirectorCommand::Go);
        send(&mut app, DirectorCommand::Panic);
        run(&mut app, 30);
        assert_eq!(fired(&app), vec![3.0], "20's pre-wait was cancelled");
    }

    #[test]
    fn edits_keep_the_standby_on_its_cue_and_undo_redo() {
        let mut app = app();
        send(&mut app, DirectorCommand::Standby("30".into()));
        let cues = |app: &App| -> Vec<String> {
            let show = app.world().resource::<ActiveShow>();
            (0..show.0.cues.len())
                .map(|i| cue_number(&show.0.cues, i))
                .collect()
        };
        let original = cues(&app);
        send(
            &mut app,
            DirectorCommand::EditCues(CueEdit::Insert {
                index: 1,
                cue: Box::new(go_cue("5", 0.5)),
            }),
        );
        assert_eq!(cues(&app)[1], "5");
        assert_eq!(standby(&app), Some(4), "30 moved down one");
        send(
            &mut app,
            DirectorCommand::EditCues(CueEdit::Move { from: 4, to: 1 }),
        );
        assert_eq!(cues(&app)[1], "30");
        assert_eq!(standby(&app), Some(1), "standby moved with 30");
        send(&mut app, DirectorCommand::EditCues(CueEdit::Delete(2)));
        assert!(!cues(&app).contains(&"5".to_string()));
        assert!(app.world().resource::<CueRunner>().unsaved);
        // A cue outside the show is refused.
        send(
            &mut app,
            DirectorCommand::EditCues(CueEdit::Replace {
                index: 0,
                cue: Box::new(Cue::timed(900.0, mark(9.0))),
            }),
        );
        assert_eq!(cues(&app)[0], "1");
        let edited = cues(&app);
        for _ in 0..3 {
            send(&mut app, DirectorCommand::EditCues(CueEdit::Undo));
        }
        assert_eq!(cues(&app), original, "three undos restore the list");
        for _ in 0..3 {
            send(&mut app, DirectorCommand::EditCues(CueEdit::Redo));
        }
        assert_eq!(cues(&app), edited, "three redos bring the edits back");
        send(&mut app, DirectorCommand::EditCues(CueEdit::Redo));
        assert_eq!(cues(&app), edited, "nothing more to redo");
    }

    #[test]
    fn timed_cues_still_fire_on_the_clock() {
        let mut app = app();
        {
            let mut show = app.world_mut().resource_mut::<ActiveShow>();
            show.0.cues.push(Cue::timed(1.0, mark(7.0)));
        }
        run(&mut app, 15);
        assert_eq!(fired(&app), vec![7.0], "the timed cue fired by itself");
        assert_eq!(standby(&app), Some(1), "and left the standby alone");
    }

    #[test]
    fn a_broken_show_keeps_the_running_one_and_a_good_one_replaces_it() {
        let mut app = app();
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("broken.ron");
        std::fs::write(
            &broken,
            "(\n    name: \"broken\",\n    duration: \"long\",\n)\n",
        )
        .unwrap();
        send(&mut app, DirectorCommand::LoadShow(broken.clone()));
        let show = app.world().resource::<ActiveShow>();
        assert_eq!(show.0.cues.len(), 6, "the running show goes on");
        let status = app.world().resource::<CueRunner>().file_status.clone();
        let why = status.unwrap().unwrap_err();
        assert!(
            why.contains("broken.ron:3") && why.contains("`duration`"),
            "names the file, line and field: {why}"
        );
        assert_eq!(standby(&app), Some(1), "the standby is kept");

        let good = dir.path().join("good.ron");
        std::fs::write(
            &good,
            "(name: \"good\", duration: 30.0, cues: [(number: \"A\", command: Go)])\n",
        )
        .unwrap();
        send(&mut app, DirectorCommand::LoadShow(good));
        let show = app.world().resource::<ActiveShow>();
        assert_eq!(show.0.name, "good");
        assert_eq!(app.world().resource::<ShowClock>().duration, 30.0);
        app.update();
        assert_eq!(
            standby(&app),
            Some(0),
            "the new show's first GO cue stands by"
        );
    }

    #[test]
    fn a_show_edited_by_commands_saves_and_reloads_equal() {
        let mut app = app();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edited.ron");
        std::fs::write(&path, "// kept\n(name: \"edited\", duration: 600.0)\n").unwrap();
        send(&mut app, DirectorCommand::LoadShow(path.clone()));
        app.update();
        let edits = [
            CueEdit::Insert {
                index: 0,
                cue: Box::new(go_cue("1", 1.0)),
            },
            CueEdit::Insert {
                index: 1,
                cue: Box::new(Cue {
                    pre_wait: 1.5,
                    follow: Follow::AutoFollow,
                    duration: 2.0,
                    ..go_cue("2", 2.0)
                }),
            },
            CueEdit::Insert {
                index: 2,
                cue: Box::new(Cue::timed(3.0, mark(3.0))),
            },
            CueEdit::Move { from: 2, to: 0 },
            CueEdit::Replace {
                index: 1,
                cue: Box::new(Cue {
                    name: "renamed".into(),
                    ..go_cue("1", 1.0)
                }),
            },
        ];
        for edit in edits {
            send(&mut app, DirectorCommand::EditCues(edit));
        }
        assert!(app.world().resource::<CueRunner>().unsaved);
        send(&mut app, DirectorCommand::SaveShow);
        let runner = app.world().resource::<CueRunner>();
        assert!(!runner.unsaved, "{:?}", runner.file_status);
        let edited = app.world().resource::<ActiveShow>().0.cues.clone();
        assert_eq!(edited.len(), 3);
        let reloaded = ShowFile::load(&path).unwrap();
        assert_eq!(reloaded.cues, edited, "the saved show reads back equal");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("// kept")
        );
    }
}
