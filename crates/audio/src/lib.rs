#![warn(missing_docs)]
//! What the show hears: its audio track and a microphone, analysed for lip sync and for a stage
//! that reacts to the music.
//!
//! - [`analysis`] reads audio files (WAV, FLAC, Ogg Vorbis, MP3) and analyses samples every
//!   10 ms: level, onsets, tempo and vowel visemes. Plain functions, so a file analysed offline
//!   gives the same result every time.
//! - [`devices`] runs sound devices through cpal: the track played in step with the show clock,
//!   and a microphone analysed live by a [`devices::MicAnalyzer`].
//!
//! The crate root holds the ECS side: the show's [`AudioTrack`], analysed once when the show
//! loads; the [`plugin`] that drives the performer's mouth from it (or from the microphone, as
//! [`AudioSettings`] asks) and publishes [`AudioLevel`] and [`AudioStatus`] for the panel; and
//! [`list_devices`] for `ling-stage doctor`.

use bevy::prelude::*;
use cpal::traits::{DeviceTrait, HostTrait};

pub mod analysis;
pub mod devices;

/// The types most users of the crate need: reading and analysing a file, the show's analysed
/// track, the live sound settings, and what the panel shows.
pub mod prelude {
    pub use crate::analysis::{Analysis, AudioClip, AudioError, analyze};
    pub use crate::{
        AudioLevel, AudioSettings, AudioStatus, AudioTrack, MicFeed, MicOpenerOverride,
    };
}

/// The audio devices the default host offers.
#[derive(Debug, Clone, Default)]
pub struct AudioDevices {
    /// The cpal host (ALSA, CoreAudio, WASAPI, ...).
    pub host: String,
    /// Names of the input devices (microphones, line ins).
    pub inputs: Vec<String>,
    /// Names of the output devices.
    pub outputs: Vec<String>,
    /// Name of the default input device, if there is one.
    pub default_input: Option<String>,
    /// Name of the default output device, if there is one.
    pub default_output: Option<String>,
    /// Why the default input cannot be used, if it cannot (listed but unusable).
    pub input_error: Option<String>,
    /// Why the default output cannot be used, if it cannot.
    pub output_error: Option<String>,
}

/// Lists audio devices. Never panics: a machine without sound hardware gets empty lists.
pub fn list_devices() -> AudioDevices {
    let host = cpal::default_host();
    let name = |d: &cpal::Device| {
        d.description()
            .map(|desc| desc.name().to_string())
            .unwrap_or_else(|_| "(unnamed device)".to_string())
    };
    AudioDevices {
        host: format!("{:?}", host.id()),
        inputs: host
            .input_devices()
            .map(|ds| ds.map(|d| name(&d)).collect())
            .unwrap_or_default(),
        outputs: host
            .output_devices()
            .map(|ds| ds.map(|d| name(&d)).collect())
            .unwrap_or_default(),
        default_input: host.default_input_device().map(|d| name(&d)),
        default_output: host.default_output_device().map(|d| name(&d)),
        // ALSA lists a "default" device even on machines without sound hardware: asking for
        // its configuration is what tells whether it can really be opened.
        input_error: host
            .default_input_device()
            .and_then(|d| d.default_input_config().err())
            .map(|e| e.to_string()),
        output_error: host
            .default_output_device()
            .and_then(|d| d.default_output_config().err())
            .map(|e| e.to_string()),
    }
}

/// The show's audio track, analysed once when the show loads (so offline renders are
/// deterministic).
#[derive(Resource, Debug, Clone)]
pub struct AudioTrack {
    /// The audio file, resolved against the show file's folder.
    pub path: std::path::PathBuf,
    /// Its analysis: levels, onsets, tempo and visemes.
    pub analysis: analysis::Analysis,
    /// Its length in seconds.
    pub duration: f64,
}

impl AudioTrack {
    /// Loads and analyses the show's audio, if it has any.
    pub fn for_show(
        show: &ling_core::show::ShowFile,
    ) -> Result<Option<Self>, analysis::AudioError> {
        let Some(path) = &show.audio else {
            return Ok(None);
        };
        let path = show.resolve(path);
        let clip = analysis::AudioClip::load(&path)?;
        Ok(Some(Self {
            analysis: analysis::analyze(&clip),
            duration: clip.duration(),
            path,
        }))
    }

    /// Seconds since the last onset at show time `t`, if any.
    pub fn since_onset(&self, t: f64) -> Option<f64> {
        let i = self.analysis.onsets.partition_point(|o| *o <= t);
        (i > 0).then(|| t - self.analysis.onsets[i - 1])
    }
}

/// The level of what the show hears now (track or microphone), for the panel's meter.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct AudioLevel {
    /// RMS level in dBFS (0 is full scale); `None` when nothing is heard (no track, or past its
    /// end).
    pub dbfs: Option<f32>,
}

/// Writes the audio's visemes into each performer's mouth, blended by the show's `lip_sync`.
fn drive_lip_sync(
    track: Option<Res<AudioTrack>>,
    show: Option<Res<ling_core::show::ActiveShow>>,
    clock: Res<ling_core::show::ShowClock>,
    mut level: ResMut<AudioLevel>,
    mut performers: Query<
        &mut ling_core::signals::ExpressionWeights,
        With<ling_core::signals::Performer>,
    >,
) {
    level.dbfs = track
        .as_ref()
        .filter(|t| clock.time <= t.duration)
        .and_then(|t| t.analysis.at(clock.time))
        .map(|f| f.rms_dbfs);
    let (Some(track), Some(show)) = (track, show) else {
        return;
    };
    let blend = show.0.lip_sync.clamp(0.0, 1.0);
    if blend <= 0.0 {
        return;
    }
    let Some(frame) = track
        .analysis
        .at(clock.time)
        .filter(|_| clock.time <= track.duration)
    else {
        return;
    };
    for mut e in &mut performers {
        for (slot, w) in e.visemes.iter_mut().zip(frame.visemes) {
            *slot += (w - *slot) * blend;
        }
    }
}

/// What the audio side is doing, for the panel.
#[derive(Resource, Debug, Clone, Default)]
pub struct AudioStatus {
    /// One line: the track (name, length, onsets, tempo) and the live devices in use, or why
    /// they are not; the microphone's part follows it as it is lost and reopened.
    pub summary: String,
    /// The microphone, when one was asked for: open, lost (why) or reopened.
    pub microphone: Option<devices::MicHealth>,
}

/// Audio in the app: lip sync and the level meter from the show's [`AudioTrack`] (a resource
/// the runner inserts), and, when [`AudioSettings`] asks, playback and a microphone.
pub fn plugin(app: &mut App) {
    app.insert_resource(AudioStatus {
        summary: "no audio source in this show".into(),
        microphone: None,
    })
    .init_resource::<AudioLevel>()
    .add_systems(Startup, (describe_track, start_audio_io).chain())
    .add_systems(
        Update,
        (drive_lip_sync, sync_audio_io, report_microphone)
            .chain()
            .in_set(ling_core::AppSystems::Blend)
            .in_set(ling_core::LipSync),
    );
}

/// Live sound: the show's track played on the output device, and a microphone for lip sync.
#[derive(Resource, Debug, Clone, Default)]
pub struct AudioSettings {
    /// Play the show's track (live).
    pub playback: bool,
    /// Listen to a microphone: `Some(None)` is the default one.
    pub microphone: Option<Option<String>>,
}

/// The microphone's sound for the program outputs: present whenever [`AudioSettings`] asks
/// for a microphone (empty while none could be opened).
#[derive(Resource, Debug, Clone, Default)]
pub struct MicFeed(pub std::sync::Arc<devices::MicSound>);

/// A microphone to open instead of the sound card's (cpal): a test's stand-in device, or
/// another capture backend. Taken when the audio starts, if [`AudioSettings`] asks for a
/// microphone; [`devices::MicSupervision`] (a resource, optional) sets how it is watched.
#[derive(Resource)]
pub struct MicOpenerOverride(pub std::sync::Mutex<Option<Box<dyn devices::MicOpener>>>);

impl MicOpenerOverride {
    /// Opens microphones with `opener`.
    pub fn new(opener: impl devices::MicOpener) -> Self {
        Self(std::sync::Mutex::new(Some(Box::new(opener))))
    }
}

/// Streams that are running, kept alive by this non-send resource.
struct AudioIo {
    playhead: std::sync::Arc<devices::Playhead>,
    _playback: Option<devices::StreamHandle>,
    microphone: Option<devices::Microphone>,
    /// The status line without the microphone's part.
    summary: String,
}

fn start_audio_io(world: &mut World) {
    let Some(settings) = world.get_resource::<AudioSettings>().cloned() else {
        return;
    };
    let mut notes = Vec::new();
    let playhead = std::sync::Arc::new(devices::Playhead::default());
    let mut playback = None;
    if settings.playback {
        if let Some(track) = world.get_resource::<AudioTrack>() {
            match analysis::AudioClip::load(&track.path)
                .map_err(|e| e.to_string())
                .and_then(|clip| {
                    devices::start_playback(std::sync::Arc::new(clip), playhead.clone())
                }) {
                Ok(h) => {
                    notes.push(format!("playing on {}", h.description));
                    playback = Some(h);
                }
                Err(e) => {
                    warn!("audio playback: {e}; the show goes on silently");
                    notes.push(format!("silent ({e})"));
                }
            }
        }
    }
    let mut summary = world
        .get_resource::<AudioStatus>()
        .map(|s| s.summary.clone())
        .unwrap_or_default();
    if !notes.is_empty() {
        summary = format!("{summary}; {}", notes.join("; "));
    }
    let mut microphone = None;
    if let Some(name) = settings.microphone {
        let feed = MicFeed::default();
        world.insert_resource(feed.clone());
        let supervision = world
            .get_resource::<devices::MicSupervision>()
            .copied()
            .unwrap_or_default();
        let opener = world
            .remove_resource::<MicOpenerOverride>()
            .and_then(|o| o.0.into_inner().ok().flatten());
        let started = match opener {
            Some(opener) => devices::Microphone::start(opener, feed.0, supervision),
            None => devices::Microphone::start(devices::CpalMic { name }, feed.0, supervision),
        };
        match started {
            Ok(mic) => microphone = Some(mic),
            Err(e) => {
                warn!("microphone: {e}; the show goes on without live lip sync");
                summary = format!("{summary}; no microphone ({e})");
            }
        }
    }
    if let Some(mut status) = world.get_resource_mut::<AudioStatus>() {
        status.summary = summary.clone();
    }
    world.insert_non_send(AudioIo {
        playhead,
        _playback: playback,
        microphone,
        summary,
    });
}

/// Keeps playback on the show clock and feeds what the microphone hears to the mouth.
fn sync_audio_io(
    io: Option<NonSend<AudioIo>>,
    clock: Res<ling_core::show::ShowClock>,
    mut level: ResMut<AudioLevel>,
    mut performers: Query<
        &mut ling_core::signals::ExpressionWeights,
        With<ling_core::signals::Performer>,
    >,
) {
    let Some(io) = io else { return };
    io.playhead.set(clock.time, clock.playing);
    let Some(heard) = io.microphone.as_ref().and_then(|m| m.heard()) else {
        return;
    };
    level.dbfs = Some(heard.level_dbfs);
    for mut e in &mut performers {
        e.visemes = heard.visemes;
    }
}

/// Puts the microphone's state (open, lost, reopened) in [`AudioStatus`] when it changes.
fn report_microphone(io: Option<NonSend<AudioIo>>, mut status: ResMut<AudioStatus>) {
    let Some(mic) = io.as_ref().and_then(|io| io.microphone.as_ref()) else {
        return;
    };
    let health = mic.health();
    let changed = status.microphone.as_ref().is_none_or(|old| {
        old.state != health.state
            || old.opened != health.opened
            || old.lost != health.lost
            || old.error != health.error
            || old.retry_in != health.retry_in
    });
    if changed {
        let summary = io
            .as_ref()
            .map(|io| io.summary.as_str())
            .unwrap_or_default();
        status.summary = format!("{summary}; {}", health.summary());
    }
    status.microphone = Some(health);
}

fn describe_track(track: Option<Res<AudioTrack>>, mut status: ResMut<AudioStatus>) {
    if let Some(t) = track {
        status.summary = format!(
            "{} ({:.1} s, {} onsets{})",
            t.path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            t.duration,
            t.analysis.onsets.len(),
            t.analysis
                .tempo_bpm
                .map(|b| format!(", {b:.0} BPM"))
                .unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ling_core::signals::{ExpressionWeights, Performer, Viseme};

    #[test]
    fn lip_sync_drives_the_mouth_from_the_track_at_the_show_time() {
        let mut frames = Vec::new();
        for i in 0..200 {
            let mut visemes = [0.0; 5];
            if i >= 100 {
                visemes[Viseme::Oh as usize] = 0.8; // "oh" from 1 s on
            }
            frames.push(analysis::Frame {
                time: i as f64 * 0.01,
                rms_dbfs: -20.0,
                peak_dbfs: -10.0,
                viseme: (i >= 100).then_some("oh"),
                weight: if i >= 100 { 0.8 } else { 0.0 },
                visemes,
                formants: None,
            });
        }
        let track = AudioTrack {
            path: "voice.wav".into(),
            analysis: analysis::Analysis {
                hop_seconds: 0.01,
                frames,
                onsets: vec![1.0],
                tempo_bpm: None,
            },
            duration: 2.0,
        };
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, plugin));
        ling_core::show::insert_show(
            &mut app,
            ling_core::show::ShowFile::default(),
            ling_core::show::ClockMode::External,
            false,
        );
        app.insert_resource(track);
        let performer = app
            .world_mut()
            .spawn((
                Performer {
                    name: "test".into(),
                    bones: Vec::new(),
                },
                ExpressionWeights::default(),
            ))
            .id();
        let oh = |app: &mut App, t: f64| {
            app.world_mut()
                .resource_mut::<ling_core::show::ShowClock>()
                .time = t;
            app.update();
            app.world()
                .get::<ExpressionWeights>(performer)
                .unwrap()
                .viseme(Viseme::Oh)
        };
        assert_eq!(oh(&mut app, 0.5), 0.0, "silent before the vowel");
        assert!((oh(&mut app, 1.5) - 0.8).abs() < 1e-6, "the mouth says oh");
        assert_eq!(track_since(&app, 1.25), Some(0.25));
    }

    /// In the running app: the microphone unplugged mid-show is said lost in the status line,
    /// its level and sound stop; plugged back, it is reopened by itself and its sound flows
    /// to the outputs again; the show's frames go on throughout.
    #[test]
    fn the_show_reopens_a_microphone_unplugged_mid_show() {
        use devices::tests::{FAST, FakeCard};
        use std::sync::atomic::Ordering;
        let card = FakeCard::plugged_in();
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, ling_core::plugin, plugin));
        ling_core::show::insert_show(
            &mut app,
            ling_core::show::ShowFile::default(),
            ling_core::show::ClockMode::External,
            false,
        );
        app.insert_resource(AudioSettings {
            playback: false,
            microphone: Some(None),
        })
        .insert_resource(MicOpenerOverride::new(card.opener()))
        .insert_resource(FAST);
        let mut frames = 0u32;
        let mut run_until = |app: &mut App, what: &str, done: &dyn Fn(&App) -> bool| {
            let start = std::time::Instant::now();
            while start.elapsed() < std::time::Duration::from_secs(20) {
                app.update();
                frames += 1;
                if done(app) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            panic!("{what}: {}", app.world().resource::<AudioStatus>().summary);
        };
        let status = |app: &App| app.world().resource::<AudioStatus>().clone();
        let level = |app: &App| app.world().resource::<AudioLevel>().dbfs;
        run_until(&mut app, "the microphone is heard", &|app| {
            level(app).is_some()
        });
        assert!(
            status(&app)
                .summary
                .ends_with("microphone Fake Card #1 at 48000 Hz")
        );
        let feed = app.world().resource::<MicFeed>().clone();
        assert!(!feed.0.take(48_000).is_empty());

        card.plugged.store(false, Ordering::Relaxed);
        run_until(&mut app, "the loss is reported", &|app| {
            status(app).summary.contains("lost")
        });
        let lost = status(&app);
        println!("console: {}", lost.summary);
        assert!(
            lost.summary.contains("disconnected") && lost.summary.contains("trying again"),
            "{}",
            lost.summary
        );
        assert_eq!(
            lost.microphone.as_ref().unwrap().state,
            devices::MicState::Lost
        );
        app.update();
        assert_eq!(level(&app), None, "no level from a lost microphone");
        feed.0.clear();
        let before = status(&app).microphone.unwrap().samples;
        for _ in 0..20 {
            app.update();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(status(&app).microphone.unwrap().samples, before);
        assert!(feed.0.take(48_000).is_empty(), "no sound while unplugged");

        card.plugged.store(true, Ordering::Relaxed);
        run_until(&mut app, "reopened", &|app| {
            status(app).summary.contains("reopened") && level(app).is_some()
        });
        println!("console: {}", status(&app).summary);
        let again = feed.0.take(48_000);
        assert!(!again.is_empty() && again.iter().all(|s| (s - 0.2).abs() < 1e-6));
        assert_eq!(card.opens.load(Ordering::Relaxed), 2);
        println!("{frames} frames ran through the loss and the reopening");
    }

    fn track_since(app: &App, t: f64) -> Option<f64> {
        app.world()
            .resource::<AudioTrack>()
            .since_onset(t)
            .map(|d| (d * 1000.0).round() / 1000.0)
    }
}
