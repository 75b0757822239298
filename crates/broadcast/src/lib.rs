#![warn(missing_docs)]
//! Program output: the stage picture and its sound, sent live through ffmpeg.
//!
//! - [`preset`]: sizes and bitrates for landscape, vertical and square outputs.
//! - [`target`]: output URLs (`rtmp://`, `rtmps://`, `srt://`, `udp://`, a file,
//!   `v4l2:/dev/videoN`) and the ffmpeg command line for each.
//! - [`session`]: one running output. Frames and audio are handed over without ever blocking
//!   the show; a writer thread paces them to ffmpeg at the output frame rate, and a failed
//!   output is retried with backoff.
//!
//! The [`plugin`] connects them to the stage. The stage camera renders into the *program
//! image* ([`ling_set::StageOutput::Image`]); at the output frame rate the plugin asks the
//! renderer for an asynchronous copy of it (Bevy's `Readback`, no wait on the GPU), and when
//! the pixels arrive a frame or two later they go to every output together with the show's
//! sound for the same stretch of show time, so picture and sound stay in step by construction.
//! A slow encoder or a stalled network drops frames inside its session (counted in
//! [`BroadcastStatus`]); the show clock, tracking and physics never wait for it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};

use ling_audio::MicFeed;
use ling_audio::analysis::AudioClip;
use ling_core::AppSystems;
use ling_core::show::{DirectorCommand, ShowClock};
use ling_set::StageOutput;
use ling_set::keying::{Backdrop, BackdropFill};

pub mod preset;
pub mod session;
pub mod target;

use session::{Background, BroadcastStats, Broadcaster, Frame, LinkState};
use target::{OutputTarget, StreamSettings};

/// Creates the program image: the picture the stage camera renders into, `width`×`height`,
/// readable by outputs (copy source) and showable by windows (texture binding).
pub fn program_image(images: &mut Assets<Image>, width: u32, height: u32) -> Handle<Image> {
    let mut image = Image::new_uninit(
        Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    image.texture_descriptor.usage |=
        TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC | TextureUsages::TEXTURE_BINDING;
    images.add(image)
}

/// Points the stage camera at a new program image of `width`×`height` with the given
/// quality and backdrop: what every runner (live, render, broadcast) does before adding
/// the stage. Returns the image.
pub fn insert_program(
    app: &mut App,
    (width, height): (u32, u32),
    quality: ling_set::QualityRequest,
    backdrop: Backdrop,
) -> Handle<Image> {
    let image = {
        let mut images = app.world_mut().resource_mut::<Assets<Image>>();
        program_image(&mut images, width, height)
    };
    app.insert_resource(StageOutput::Image(image.clone()))
        .insert_resource(quality)
        .insert_resource(backdrop);
    image
}

/// One configured output: where, and how it is encoded.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// The stream URL, file or virtual camera.
    pub target: OutputTarget,
    /// Size, frame rate, bitrates, keyframe interval.
    pub settings: StreamSettings,
}

/// The outputs of this run: configured by the runner, started when the program goes on air.
#[derive(Resource, Default)]
pub struct ProgramOutputs {
    /// Every output the program goes to when on air.
    pub specs: Vec<OutputSpec>,
    /// Start them as soon as the show starts (`--out` on the command line).
    pub on_air_at_start: bool,
    /// Keep the microphone off the outputs (it still drives her mouth).
    pub mic_muted: bool,
    running: Vec<Broadcaster>,
    /// Sample rate the running outputs take their sound at.
    sound_rate: Option<u32>,
}

impl ProgramOutputs {
    /// Outputs for `specs`, off air until a [`DirectorCommand::OnAir`].
    pub fn off_air(specs: Vec<OutputSpec>) -> Self {
        Self { specs, ..default() }
    }

    /// Outputs for `specs`, on air from the start.
    pub fn on_air(specs: Vec<OutputSpec>) -> Self {
        Self {
            specs,
            on_air_at_start: true,
            ..default()
        }
    }

    /// Whether any output is running (connected or retrying).
    pub fn is_on_air(&self) -> bool {
        !self.running.is_empty()
    }

    /// Starts every output; `audio_rate` is the show sound's sample rate (the outputs take
    /// the samples as they are).
    fn start(&mut self, backdrop: &Backdrop, audio_rate: Option<u32>) {
        if self.is_on_air() {
            return;
        }
        self.sound_rate = None;
        for spec in &self.specs {
            let mut settings = spec.settings.clone();
            if settings.audio_rate.is_some() {
                if let Some(rate) = audio_rate {
                    settings.audio_rate = Some(rate);
                }
                self.sound_rate = self.sound_rate.or(settings.audio_rate);
            }
            info!("on air: {}", spec.target.label());
            self.running.push(Broadcaster::start(
                spec.target.clone(),
                settings,
                background_for(&spec.target, backdrop),
            ));
        }
    }

    /// Lets the running outputs follow a backdrop changed on air.
    fn follow(&self, backdrop: &Backdrop) {
        for (spec, broadcaster) in self.specs.iter().zip(&self.running) {
            broadcaster.set_background(background_for(&spec.target, backdrop));
        }
    }

    /// Stops every output (files are finished and kept) and returns their final statistics.
    pub fn stop(&mut self) -> Vec<BroadcastStats> {
        self.running
            .drain(..)
            .map(|b| {
                let stats = b.stop();
                info!(
                    "off air: {} ({} frames sent, {} dropped)",
                    stats.target, stats.frames_sent, stats.frames_dropped
                );
                stats
            })
            .collect()
    }

    /// The highest frame rate among the outputs (frames are read back at this rate).
    fn fps(&self) -> u32 {
        self.specs
            .iter()
            .map(|s| s.settings.fps)
            .max()
            .unwrap_or(30)
    }
}

/// How an output fills the picture's transparent pixels for a backdrop.
fn background_for(target: &OutputTarget, backdrop: &Backdrop) -> Background {
    match backdrop.fill {
        // A target without alpha gets the transparent picture over black.
        BackdropFill::Transparent if !target.carries_alpha() => Background::Key([0, 0, 0]),
        fill => Background::for_fill(fill),
    }
}

fn follow_backdrop(outputs: Res<ProgramOutputs>, backdrop: Res<Backdrop>) {
    outputs.follow(&backdrop);
}

/// What the console shows of the outputs, refreshed every frame.
#[derive(Resource, Debug, Clone, Default)]
pub struct BroadcastStatus {
    /// Whether the program is on air (any output started).
    pub on_air: bool,
    /// Each output's statistics, in the order they were configured.
    pub outputs: Vec<BroadcastStats>,
    /// Outputs configured (shown even while off air).
    pub configured: Vec<String>,
    /// Frames read back from the renderer and handed to the outputs.
    pub frames_read: u64,
    /// Mean cost on the main thread of handing a read-back frame over (unpadding and
    /// sharing the pixels), in milliseconds.
    pub handoff_ms: f32,
    /// The program picture's size in pixels.
    pub size: UVec2,
    /// The microphone: `None` when none is listened to, else whether it goes to the outputs.
    pub mic_on_air: Option<bool>,
}

impl BroadcastStatus {
    /// A short line for the console: on air or off, and each output's state.
    pub fn summary(&self) -> String {
        if !self.on_air {
            return "off air".into();
        }
        let live = self
            .outputs
            .iter()
            .filter(|o| o.state == LinkState::OnAir)
            .count();
        format!("ON AIR — {live} of {} outputs live", self.outputs.len())
    }
}

/// The show's sound for the outputs: the audio track as samples (mono).
#[derive(Resource, Debug, Clone)]
pub struct ProgramAudio(pub Arc<AudioClip>);

impl ProgramAudio {
    /// Decodes the show's track for the outputs; the error names the file.
    pub fn for_track(
        track: &ling_audio::AudioTrack,
    ) -> Result<Self, ling_audio::analysis::AudioError> {
        AudioClip::load(&track.path).map(|clip| Self(Arc::new(clip)))
    }
}

/// Frames asked of the renderer and not yet arrived: the show time each was asked at.
#[derive(Resource, Debug, Default)]
struct Readbacks {
    pending: VecDeque<f64>,
    next_due: Option<Instant>,
    /// Show time of the last frame whose sound was sent.
    last_time: Option<f64>,
    handoff_total: f64,
}

/// Marks the entity that carries the program's `Readback`.
#[derive(Component)]
struct ProgramReadback;

/// The outputs: read the program image back at the output rate, send it and the show's sound
/// to every running output, keep [`BroadcastStatus`] current, and obey
/// [`DirectorCommand::OnAir`].
pub fn plugin(app: &mut App) {
    app.init_resource::<ProgramOutputs>()
        .init_resource::<BroadcastStatus>()
        .init_resource::<Readbacks>()
        .init_resource::<Backdrop>()
        .add_systems(Startup, start_at_startup)
        .add_systems(
            Update,
            (
                apply_on_air,
                follow_backdrop.run_if(resource_changed::<Backdrop>),
                request_frames,
                publish_status,
            )
                .chain()
                .after(AppSystems::Stage),
        )
        .add_systems(Last, stop_on_exit)
        .add_observer(send_frame);
}

fn start_at_startup(
    mut outputs: ResMut<ProgramOutputs>,
    backdrop: Res<Backdrop>,
    audio: Option<Res<ProgramAudio>>,
) {
    if outputs.on_air_at_start {
        outputs.start(&backdrop, audio.map(|a| a.0.rate));
    }
}

fn apply_on_air(
    mut commands: MessageReader<DirectorCommand>,
    mut outputs: ResMut<ProgramOutputs>,
    backdrop: Res<Backdrop>,
    audio: Option<Res<ProgramAudio>>,
) {
    for command in commands.read() {
        match command {
            DirectorCommand::OnAir(true) if outputs.specs.is_empty() => {
                warn!("no outputs configured: start with --out URL to go on air");
            }
            DirectorCommand::OnAir(true) => {
                outputs.start(&backdrop, audio.as_ref().map(|a| a.0.rate))
            }
            DirectorCommand::OnAir(false) => {
                outputs.stop();
            }
            DirectorCommand::MicOnAir(on) => outputs.mic_muted = !on,
            _ => {}
        }
    }
}

/// Puts a `Readback` of the program image on the frames due at the output rate, and takes it
/// off the others (a `Readback` left on would copy every frame).
fn request_frames(
    mut commands: Commands,
    outputs: Res<ProgramOutputs>,
    output: Res<StageOutput>,
    clock: Res<ShowClock>,
    mut readbacks: ResMut<Readbacks>,
    carrier: Query<(Entity, Has<Readback>), With<ProgramReadback>>,
    mic: Option<Res<MicFeed>>,
) {
    let StageOutput::Image(image) = &*output else {
        return;
    };
    let carrier = carrier.single().ok();
    let now = Instant::now();
    let period = std::time::Duration::from_secs_f64(1.0 / outputs.fps().max(1) as f64);
    let due = outputs.is_on_air() && readbacks.next_due.is_none_or(|t| now >= t);
    if due {
        // Deadlines advance by the period; after a stall they restart from now instead of
        // asking for a burst of frames.
        let next = readbacks.next_due.map_or(now, |t| t + period);
        readbacks.next_due = Some(if next + period < now {
            now + period
        } else {
            next + period
        });
        readbacks.pending.push_back(clock.time);
        match carrier {
            Some((entity, false)) => {
                commands
                    .entity(entity)
                    .insert(Readback::texture(image.clone()));
            }
            Some((_, true)) => {}
            None => {
                commands.spawn((ProgramReadback, Readback::texture(image.clone())));
            }
        }
    } else if let Some((entity, true)) = carrier {
        commands.entity(entity).remove::<Readback>();
    }
    if !outputs.is_on_air() {
        if let Some(mic) = &mic {
            mic.0.clear();
        }
        readbacks.pending.clear();
        readbacks.next_due = None;
        readbacks.last_time = None;
    }
}

/// The longest forward step of show time between two sent frames that still counts as
/// playback (its sound is sent); longer steps are seeks. A software renderer at a few frames
/// per second must not lose its sound.
const MAX_SOUND_STEP: f64 = 2.0;

/// Rows of a read-back texture are padded to 256 bytes; the outputs want them packed.
fn unpad(data: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    let row = width as usize * 4;
    let padded = row.div_ceil(256) * 256;
    if data.len() == row * height as usize {
        return Some(data.to_vec());
    }
    if data.len() < padded * (height as usize - 1) + row {
        return None;
    }
    let mut packed = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        packed.extend_from_slice(&data[y * padded..y * padded + row]);
    }
    Some(packed)
}

/// The show's sound between two show times, as mono samples (silence outside the track).
fn sound_between(clip: &AudioClip, from: f64, to: f64) -> Vec<f32> {
    let rate = clip.rate as f64;
    let start = (from * rate).round().max(0.0) as usize;
    let end = (to * rate).round().max(0.0) as usize;
    (start..end)
        .map(|i| clip.samples.get(i).copied().unwrap_or(0.0))
        .collect()
}

/// The show's track and the voice together: sample by sample over the longer of the two,
/// clipped to full scale.
fn mix(mut track: Vec<f32>, voice: &[f32]) -> Vec<f32> {
    if track.len() < voice.len() {
        track.resize(voice.len(), 0.0);
    }
    for (t, v) in track.iter_mut().zip(voice) {
        *t = (*t + v).clamp(-1.0, 1.0);
    }
    track
}

fn send_frame(
    done: On<ReadbackComplete>,
    carriers: Query<(), With<ProgramReadback>>,
    outputs: Res<ProgramOutputs>,
    output: Res<StageOutput>,
    images: Res<Assets<Image>>,
    audio: Option<Res<ProgramAudio>>,
    mic: Option<Res<MicFeed>>,
    mut readbacks: ResMut<Readbacks>,
    mut status: ResMut<BroadcastStatus>,
) {
    if !carriers.contains(done.entity) {
        return;
    }
    let Some(time) = readbacks.pending.pop_front() else {
        return;
    };
    let StageOutput::Image(handle) = &*output else {
        return;
    };
    let Some(size) = images.get(handle).map(|i| i.size()) else {
        return;
    };
    let started = Instant::now();
    let Some(pixels) = unpad(&done.data, size.x, size.y) else {
        warn!(
            "a read-back frame has {} bytes, too few for {}×{}; skipped",
            done.data.len(),
            size.x,
            size.y
        );
        return;
    };
    let frame = Frame {
        rgba: Arc::new(pixels),
        width: size.x,
        height: size.y,
    };
    // The sound of the show time this frame covers: from the last frame's time to this one's.
    // A jump (seek, loop, pause) sends nothing; the outputs fill the gap with silence.
    let track = match (&audio, readbacks.last_time) {
        (Some(audio), Some(last)) if time > last && time - last < MAX_SOUND_STEP => {
            sound_between(&audio.0, last, time)
        }
        _ => Vec::new(),
    };
    // The microphone as heard up to now: the frame just read back shows the mouth it drove.
    let voice = match (&mic, outputs.sound_rate) {
        (Some(mic), Some(rate)) => {
            let voice = mic.0.take(rate);
            if outputs.mic_muted { Vec::new() } else { voice }
        }
        _ => Vec::new(),
    };
    let sound = mix(track, &voice);
    readbacks.last_time = Some(time);
    for broadcaster in &outputs.running {
        if !sound.is_empty() {
            broadcaster.push_audio(&sound);
        }
        broadcaster.push_frame(frame.clone());
    }
    readbacks.handoff_total += started.elapsed().as_secs_f64();
    status.frames_read += 1;
    status.handoff_ms = (readbacks.handoff_total * 1000.0 / status.frames_read as f64) as f32;
}

fn publish_status(
    outputs: Res<ProgramOutputs>,
    output: Res<StageOutput>,
    images: Res<Assets<Image>>,
    mic: Option<Res<MicFeed>>,
    mut status: ResMut<BroadcastStatus>,
) {
    let status = status.bypass_change_detection();
    status.on_air = outputs.is_on_air();
    status.mic_on_air = mic.map(|_| !outputs.mic_muted);
    status.outputs = outputs.running.iter().map(|b| b.stats()).collect();
    if status.configured.len() != outputs.specs.len() {
        status.configured = outputs.specs.iter().map(|s| s.target.label()).collect();
    }
    if let StageOutput::Image(handle) = &*output {
        if let Some(image) = images.get(handle) {
            status.size = image.size();
        }
    }
}

fn stop_on_exit(exit: MessageReader<AppExit>, mut outputs: ResMut<ProgramOutputs>) {
    if !exit.is_empty() && outputs.is_on_air() {
        outputs.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_rows_are_packed() {
        // 3 pixels wide: 12 bytes a row, padded to 256.
        let mut data = vec![0u8; 256 + 12];
        data[..12].copy_from_slice(&[1; 12]);
        data[256..].copy_from_slice(&[2; 12]);
        let packed = unpad(&data, 3, 2).unwrap();
        assert_eq!(packed.len(), 24);
        assert!(packed[..12].iter().all(|&b| b == 1));
        assert!(packed[12..].iter().all(|&b| b == 2));
        assert!(unpad(&data[..100], 3, 2).is_none());
    }

    #[test]
    fn track_and_voice_mix_over_the_longer_and_clip() {
        assert_eq!(mix(vec![0.25, 0.5], &[0.5]), vec![0.75, 0.5]);
        assert_eq!(mix(vec![0.1], &[0.2, 0.3]), vec![0.1 + 0.2, 0.3]);
        assert_eq!(mix(vec![0.9, -0.9], &[0.5, -0.5]), vec![1.0, -1.0]);
        assert_eq!(mix(Vec::new(), &[]), Vec::<f32>::new());
    }

    #[test]
    fn sound_follows_show_time() {
        let clip = AudioClip {
            rate: 100,
            samples: (0..100).map(|i| i as f32).collect(),
        };
        let s = sound_between(&clip, 0.5, 0.6);
        assert_eq!(s.len(), 10);
        assert_eq!(s[0], 50.0);
        // Past the end of the track: silence.
        assert!(sound_between(&clip, 0.95, 1.05).ends_with(&[0.0; 5]));
    }
}
