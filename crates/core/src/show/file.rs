//! Show files: a human-readable RON description of one show (`scenes/*.ron`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DirectorCommand;
use super::paths::{PathOutsideShow, PathPolicy, confine};
use ling_stage_fx::{EffectParams, EffectRegistry};

use crate::looks::{FixedShot, LightLook, ShotRef};
use crate::settings::PhysicsSettings;

/// One show: what is on stage, who performs, how she moves, and the cue list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowFile {
    /// Shown in the panel and the render's progress line.
    pub name: String,
    /// Length of the show in seconds.
    pub duration: f64,
    /// Which stage set the show is on.
    #[serde(default)]
    pub stage: StageSpec,
    /// Who performs.
    #[serde(default)]
    pub performer: PerformerSpec,
    /// How she moves until a cue changes it.
    #[serde(default)]
    pub motion: MotionSpec,
    /// Named light looks that `LightCue` commands fade to.
    #[serde(default)]
    pub lights: BTreeMap<String, LightLook>,
    /// Named camera shots besides the three built-in ones, which `CutToShot`, `Preview` and
    /// `Take` reach by name: `"side": (eye: (3.0, 1.6, 4.0), look: (0.0, 1.3, 0.0), fov: 30.0)`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shots: BTreeMap<String, FixedShot>,
    /// Costume physics settings (stiffness, drag, gravity per group; wind).
    #[serde(default)]
    pub physics: PhysicsSettings,
    /// The show's voice or music track (WAV, FLAC, Ogg Vorbis or MP3), relative to the show
    /// file: drives lip sync and the audio-reactive stage, and is muxed into offline renders.
    #[serde(default)]
    pub audio: Option<PathBuf>,
    /// How much the audio's visemes drive the mouth (0 = not at all, 1 = fully).
    #[serde(default = "one_f32")]
    pub lip_sync: f32,
    /// How strongly the lanterns pulse on the audio's onsets (0 = not at all).
    #[serde(default)]
    pub lantern_pulse: f32,
    /// How hard the rim lights and curtain wash hit on the audio's onsets (0 = not at all).
    #[serde(default)]
    pub beat_lights: f32,
    /// Stage effects fired on the audio's onsets.
    #[serde(default)]
    pub onset_effects: Vec<OnsetEffect>,
    /// How much of the mouth camera tracking drives when lip sync also does (0 = the voice
    /// only, 1 = the camera only).
    #[serde(default = "camera_mouth")]
    pub camera_mouth: f32,
    /// The cue list: commands fired when the clock reaches `at` (seconds), or by GO.
    #[serde(default)]
    pub cues: Vec<Cue>,
    /// The console's hotkeys for this show, over the defaults: a key (`"Space"`, `"F5"`,
    /// `"Ctrl+J"`, `"1"`) and the command it sends (`"F5": FireCue("3")`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hotkeys: BTreeMap<String, DirectorCommand>,
    /// Folder relative paths in the show resolve against (the show file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this show was read from, kept to name lines in later checks.
    #[serde(skip)]
    pub source: ShowSource,
}

/// Where a show was read from: its path and text, so checks made after loading (such as
/// [`ShowFile::check_effects`], which needs the app's effect registry) can name the line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShowSource {
    path: PathBuf,
    text: String,
}

impl Default for ShowFile {
    /// An empty minute on the opera stage: the built-in performer standing idle, no cues.
    fn default() -> Self {
        Self {
            name: "untitled".into(),
            duration: 60.0,
            stage: StageSpec::default(),
            performer: PerformerSpec::default(),
            motion: MotionSpec::Idle,
            lights: BTreeMap::new(),
            shots: BTreeMap::new(),
            physics: PhysicsSettings::default(),
            audio: None,
            lip_sync: 1.0,
            lantern_pulse: 0.0,
            beat_lights: 0.0,
            onset_effects: Vec::new(),
            camera_mouth: camera_mouth(),
            cues: Vec::new(),
            hotkeys: BTreeMap::new(),
            base_dir: PathBuf::new(),
            source: ShowSource::default(),
        }
    }
}

/// The stage set a show is played on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StageSpec {
    /// The traditional Peking-opera stage built by the `stage` module.
    #[default]
    Opera,
}

/// Who performs: the built-in Ling, an avatar file, or nobody.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PerformerSpec {
    /// Ling, the performer built by the project's own code.
    #[default]
    BuiltIn,
    /// An empty stage (set and lights only).
    None,
    /// A VRM (0.x or 1.0) or glTF humanoid avatar, relative to the show file.
    Avatar {
        /// The avatar file.
        path: PathBuf,
    },
}

/// Where the performer's body motion comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum MotionSpec {
    /// The keyframed demo performance (entrance, gesture, turn, bow).
    #[default]
    BuiltInDemo,
    /// Stand in place, breathing and blinking.
    Idle,
    /// A motion-capture clip, retargeted onto the performer.
    Bvh {
        /// BVH or VRM animation (`.vrma`) file, relative to the show file.
        path: PathBuf,
        /// Playback speed (1.0 = as recorded).
        #[serde(default = "one")]
        speed: f64,
        /// Start again when the clip ends (otherwise hold the last frame).
        #[serde(default = "yes")]
        looping: bool,
        /// A custom bone map (RON, VRM bone names to joint names), relative to the show file
        /// (BVH only; `mocap inspect` prints the detected or inferred map to start from).
        #[serde(default)]
        bone_map: Option<PathBuf>,
    },
    /// A recorded take folder (body and face), relative to the show file.
    Take {
        /// The take folder.
        path: PathBuf,
    },
}

fn one() -> f64 {
    1.0
}

fn one_f32() -> f32 {
    1.0
}

fn yes() -> bool {
    true
}

fn camera_mouth() -> f32 {
    0.7
}

fn forever() -> f64 {
    f64::INFINITY
}

/// A stage effect the music fires: on each onset between `from` and `until` (show seconds),
/// at most once every `min_gap` seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnsetEffect {
    /// The effect's registered name.
    pub effect: String,
    /// Its parameters; unset ones keep their defaults.
    #[serde(default)]
    pub params: EffectParams,
    /// Fire at most once this many seconds.
    #[serde(default)]
    pub min_gap: f64,
    /// Show time (seconds) from which onsets fire the effect.
    #[serde(default)]
    pub from: f64,
    /// Show time (seconds) after which they no longer do.
    #[serde(default = "forever")]
    pub until: f64,
}

/// One entry of the cue list: a command fired when the clock reaches `at` (a timed cue), or
/// when the operator presses GO with the cue on standby (a cue without `at`). In RON:
/// `(at: 5.0, command: CutTo(shot: Wide))` or
/// `(number: "3", name: "Her bow", command: Emote((name: "joy")), follow: AutoContinue)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cue {
    /// The cue's number as the operator calls it ("1", "2.5"); empty: numbered by position.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub number: String,
    /// What the cue is, for the operator ("Her entrance").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Show time in seconds at which the cue fires by itself; none: it waits for GO.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "plain_option"
    )]
    pub at: Option<f64>,
    /// What to do.
    pub command: DirectorCommand,
    /// Seconds between GO and the command.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pre_wait: f64,
    /// How long the cue's action lasts (seconds; an auto-follow waits this long).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duration: f64,
    /// What happens after it fires.
    #[serde(default, skip_serializing_if = "Follow::is_manual")]
    pub follow: Follow,
}

impl Cue {
    /// A timed cue: `command` at `at` seconds of show time.
    pub fn timed(at: f64, command: DirectorCommand) -> Self {
        Self {
            at: Some(at),
            ..Self::manual(command)
        }
    }

    /// A cue that waits for GO.
    pub fn manual(command: DirectorCommand) -> Self {
        Self {
            number: String::new(),
            name: String::new(),
            at: None,
            command,
            pre_wait: 0.0,
            duration: 0.0,
            follow: Follow::Manual,
        }
    }
}

/// What the cue list does after a cue fires (QLab's continue modes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Follow {
    /// The next cue waits for GO.
    #[default]
    Manual,
    /// The next cue starts at once (after its own pre-wait).
    AutoContinue,
    /// The next cue starts when this one's `duration` is over.
    AutoFollow,
}

impl Follow {
    /// Every mode, in the order the console lists them.
    pub const ALL: [Follow; 3] = [Follow::Manual, Follow::AutoContinue, Follow::AutoFollow];

    fn is_manual(&self) -> bool {
        *self == Follow::Manual
    }

    /// The mode's name in the console.
    pub fn label(self) -> &'static str {
        match self {
            Follow::Manual => "manual",
            Follow::AutoContinue => "auto-continue",
            Follow::AutoFollow => "auto-follow",
        }
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// `at: 5.0` rather than `at: Some(5.0)`: a show file reads as a script.
mod plain_option {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_f64(*v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        f64::deserialize(d).map(Some)
    }
}

/// What went wrong loading a show file; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// The file could not be read.
    #[error("cannot read show file {path}: {source}")]
    Io {
        /// The show file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file is not valid show RON; `line` and `column` are 1-based.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The show file.
        path: PathBuf,
        /// Where the error is.
        line: usize,
        /// Where on the line.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The file parses but says something impossible (a cue outside the show, a light look that does not exist, an unknown effect...).
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The show file.
        path: PathBuf,
        /// The line that says it (1 when it cannot be found verbatim).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The show could not be written back.
    #[error("cannot write show file {path}: {message}")]
    Write {
        /// The show file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl ShowFile {
    /// The file the show was read from (empty for a show made in code).
    pub fn path(&self) -> &Path {
        &self.source.path
    }

    /// Writes the show back to the file it was read from and returns its path. When only the
    /// cue list changed, the new list replaces the old one in the file's text and everything
    /// else stays as written, comments included; otherwise the whole show is written anew
    /// (RON keeps no comments). The previous file is kept as `NAME.ron.bak`, and the new one
    /// is written beside it and renamed over, so a crash never leaves half a file.
    pub fn save(&self) -> Result<PathBuf, ShowError> {
        let path = self.source.path.clone();
        let fail = |message: String| ShowError::Write {
            path: path.clone(),
            message,
        };
        if path.as_os_str().is_empty() {
            return Err(fail("the show was not read from a file".into()));
        }
        let text = self.to_ron(&self.source.text).map_err(fail)?;
        // The text must read back as this show, or nothing is written.
        let back =
            Self::parse(&text, &path).map_err(|e| fail(format!("it would not read back: {e}")))?;
        if back.cues != self.cues || back.lights != self.lights || back.shots != self.shots {
            return Err(fail("it would not read back the same".into()));
        }
        if path.exists() {
            let mut backup = path.clone().into_os_string();
            backup.push(".bak");
            std::fs::copy(&path, &backup)
                .map_err(|e| fail(format!("cannot keep a backup: {e}")))?;
        }
        let mut partial = path.clone().into_os_string();
        partial.push(".saving");
        let partial = PathBuf::from(partial);
        std::fs::write(&partial, &text).map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&partial, &path).map_err(|e| fail(e.to_string()))?;
        Ok(path)
    }

    /// The text [`ShowFile::save`] would write: the file as read with the cue list replaced when
    /// that is all that changed, else the whole show.
    pub fn to_text(&self) -> Result<String, String> {
        self.to_ron(&self.source.text)
    }

    /// The show as RON text: `original` with the cue list replaced when that is all that
    /// changed, else the whole show.
    fn to_ron(&self, original: &str) -> Result<String, String> {
        let cues = cues_ron(&self.cues)?;
        let unchanged_but_cues = ron::Options::default()
            .from_str::<ShowFile>(original)
            .is_ok_and(|mut old| {
                old.cues = self.cues.clone();
                old.base_dir = self.base_dir.clone();
                old.source = self.source.clone();
                old == *self
            });
        if unchanged_but_cues {
            if let Some(span) = top_level_value(original, "cues") {
                return Ok(format!(
                    "{}{cues}{}",
                    &original[..span.start],
                    &original[span.end..]
                ));
            }
            if let Some(end) = original.rfind(')') {
                // No cue list yet: add one before the show's closing parenthesis.
                let head = original[..end].trim_end();
                let comma = if head.ends_with(',') || head.ends_with('(') {
                    ""
                } else {
                    ","
                };
                return Ok(format!(
                    "{head}{comma}\n    cues: {cues},\n{}",
                    &original[end..]
                ));
            }
        }
        let config = ron::ser::PrettyConfig::new()
            .indentor("    ")
            .compact_maps(false);
        let mut whole = ron::ser::to_string_pretty(self, config).map_err(|e| e.to_string())?;
        // The cue list one cue a line, as people write it.
        if let Some(span) = top_level_value(&whole, "cues") {
            whole.replace_range(span, &cues);
        }
        Ok(format!("{whole}\n"))
    }

    /// Reads and checks a show file.
    pub fn load(path: &Path) -> Result<Self, ShowError> {
        let text = std::fs::read_to_string(path).map_err(|source| ShowError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// A path named in the show, resolved against the show file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The file a path named in the show (or in a command to it) leads to, resolved against
    /// the show file's folder, if it stays inside that folder or the user allowed paths
    /// outside it ([`PathPolicy::current`]).
    pub fn confine(&self, path: &Path) -> Result<PathBuf, PathOutsideShow> {
        confine(&self.base_dir, path, PathPolicy::current())
    }

    /// Checks the files a command names against the show's folder (see [`ShowFile::confine`]):
    /// the motion of `PlayMotion`, the avatar of `SwitchPerformer`, a gesture's BVH, and the
    /// show `LoadShow` opens (a path relative to the current folder, as typed in the console).
    pub fn check_command_paths(&self, command: &DirectorCommand) -> Result<(), PathOutsideShow> {
        self.check_command_paths_with(command, PathPolicy::current())
    }

    fn check_command_paths_with(
        &self,
        command: &DirectorCommand,
        policy: PathPolicy,
    ) -> Result<(), PathOutsideShow> {
        let inside = |p: &Path| confine(&self.base_dir, p, policy).map(|_| ());
        match command {
            DirectorCommand::PlayMotion { motion, .. } => {
                motion_paths(motion).into_iter().try_for_each(|p| inside(p))
            }
            DirectorCommand::SwitchPerformer(PerformerSpec::Avatar { path }) => inside(path),
            DirectorCommand::Gesture(gesture)
                if [".bvh", ".vrma"]
                    .iter()
                    .any(|e| gesture.clip.to_ascii_lowercase().ends_with(e)) =>
            {
                inside(Path::new(&gesture.clip))
            }
            DirectorCommand::LoadShow(path) => {
                let from_here = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                confine(&self.base_dir, &from_here, policy)
                    .map(|_| ())
                    .map_err(|e| PathOutsideShow {
                        path: path.clone(),
                        ..e
                    })
            }
            _ => Ok(()),
        }
    }

    /// Checks every file the show names (performer, motion, audio, and the commands of its
    /// cues and hotkeys) against its folder under `policy`; the error names the line.
    fn check_paths(&self, text: &str, path: &Path, policy: PathPolicy) -> Result<(), ShowError> {
        let invalid = |e: PathOutsideShow| ShowError::Invalid {
            path: path.to_owned(),
            line: line_of(text, &e.path.display().to_string()),
            message: e.to_string(),
        };
        let inside = |p: &Path| {
            confine(&self.base_dir, p, policy)
                .map(|_| ())
                .map_err(invalid)
        };
        if let PerformerSpec::Avatar { path } = &self.performer {
            inside(path)?;
        }
        for p in motion_paths(&self.motion) {
            inside(p)?;
        }
        if let Some(audio) = &self.audio {
            inside(audio)?;
        }
        let commands = self
            .cues
            .iter()
            .map(|cue| &cue.command)
            .chain(self.hotkeys.values());
        for command in commands {
            self.check_command_paths_with(command, policy)
                .map_err(invalid)?;
        }
        Ok(())
    }

    /// Parses show text; `path` is only used to name the file in errors. The files it names
    /// must stay inside its folder unless the user allowed otherwise ([`PathPolicy::current`]).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ShowError> {
        Self::parse_with(text, path, PathPolicy::current())
    }

    /// Parses show text under an explicit [`PathPolicy`] for the files it names.
    pub fn parse_with(text: &str, path: &Path, policy: PathPolicy) -> Result<Self, ShowError> {
        let mut show: ShowFile =
            ron::Options::default()
                .from_str(text)
                .map_err(|e| ShowError::Syntax {
                    path: path.to_owned(),
                    line: e.span.start.line,
                    column: e.span.start.col,
                    message: match field_on_line(text, e.span.start.line) {
                        Some(field) => format!("{} (field `{field}`)", e.code),
                        None => e.code.to_string(),
                    },
                })?;
        show.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        show.source = ShowSource {
            path: path.to_owned(),
            text: text.to_owned(),
        };
        show.check_paths(text, path, policy)?;
        show.validate(text, path)?;
        Ok(show)
    }

    /// Checks the effects the show fires (its `TriggerEffect` cues and `onset_effects`) against
    /// the effects an app has registered: the stock ones and any third-party plugin. The error
    /// names the file and the line.
    pub fn check_effects(&self, registry: &EffectRegistry) -> Result<(), ShowError> {
        let ShowSource { path, text } = &self.source;
        for (i, onset) in self.onset_effects.iter().enumerate() {
            if let Err(message) = registry.check(&onset.effect, &onset.params) {
                return Err(ShowError::Invalid {
                    path: path.clone(),
                    line: line_of_nth(text, "effect:", i),
                    message: format!("onset_effects: {message}"),
                });
            }
        }
        let triggers = self.cues.iter().filter_map(|cue| match &cue.command {
            DirectorCommand::TriggerEffect { name, params } => Some((name, params)),
            _ => None,
        });
        for (i, (name, params)) in triggers.enumerate() {
            if let Err(message) = registry.check(name, params) {
                return Err(ShowError::Invalid {
                    path: path.clone(),
                    line: line_of_nth(text, "TriggerEffect", i),
                    message,
                });
            }
        }
        Ok(())
    }

    /// Checks what the grammar cannot: times inside the show, light cues that exist.
    fn validate(&self, text: &str, path: &Path) -> Result<(), ShowError> {
        let invalid = |needle: &str, message: String| ShowError::Invalid {
            path: path.to_owned(),
            line: line_of(text, needle),
            message,
        };
        if let MotionSpec::Bvh { speed, .. } = &self.motion {
            if !(speed.is_finite() && *speed > 0.0) {
                return Err(invalid(
                    "speed",
                    format!("motion speed must be a positive number, found {speed}"),
                ));
            }
        }
        if let Some(audio) = &self.audio {
            let resolved = self.resolve(audio);
            if !resolved.is_file() {
                return Err(invalid(
                    "audio",
                    format!("audio file {} does not exist", resolved.display()),
                ));
            }
        }
        for (name, v) in [
            ("lip_sync", self.lip_sync),
            ("lantern_pulse", self.lantern_pulse),
            ("beat_lights", self.beat_lights),
        ] {
            if !(v.is_finite() && (0.0..=4.0).contains(&v)) {
                return Err(invalid(
                    name,
                    format!("{name} = {v} must be between 0 and 4"),
                ));
            }
        }
        if !(self.camera_mouth.is_finite() && (0.0..=1.0).contains(&self.camera_mouth)) {
            return Err(invalid(
                "camera_mouth",
                format!(
                    "camera_mouth = {} must be between 0 and 1",
                    self.camera_mouth
                ),
            ));
        }
        if let Err(message) = self.physics.check() {
            return Err(invalid("physics", format!("physics: {message}")));
        }
        if !(self.duration.is_finite() && self.duration > 0.0) {
            return Err(invalid(
                "duration",
                format!(
                    "duration must be a positive number of seconds, found {}",
                    self.duration
                ),
            ));
        }
        for (name, look) in &self.lights {
            if let Err(message) = look.check() {
                return Err(invalid(
                    &format!("\"{name}\""),
                    format!("light look \"{name}\": {message}"),
                ));
            }
        }
        for (name, shot) in &self.shots {
            if let Err(message) = check_shot_name(name).and_then(|()| shot.check()) {
                return Err(invalid(
                    &format!("\"{name}\""),
                    format!("shot \"{name}\": {message}"),
                ));
            }
        }
        for cue in &self.cues {
            if let DirectorCommand::CutToShot {
                name: ShotRef::Named(name),
                ..
            }
            | DirectorCommand::Preview(ShotRef::Named(name)) = &cue.command
            {
                if !self.shots.contains_key(name) {
                    let known: Vec<&str> = self.shots.keys().map(String::as_str).collect();
                    return Err(invalid(
                        &format!("\"{name}\""),
                        format!(
                            "shot \"{name}\" is neither a built-in shot (wide, medium, closeup) nor defined in `shots` (defined: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
            }
            if let Some(at) = cue
                .at
                .filter(|at| !(at.is_finite() && *at >= 0.0 && *at <= self.duration))
            {
                return Err(invalid(
                    &format!("{at}"),
                    format!(
                        "cue time {at} is outside the show (0 to {} s)",
                        self.duration
                    ),
                ));
            }
            for (field, value) in [("pre_wait", cue.pre_wait), ("duration", cue.duration)] {
                if !(value.is_finite() && value >= 0.0) {
                    return Err(invalid(
                        &format!("{field}: {value}"),
                        format!("cue {field} must be zero or more seconds (got {value})"),
                    ));
                }
            }
            if let DirectorCommand::PlayMotion { motion, .. } = &cue.command {
                if let MotionSpec::Bvh { path: p, .. } | MotionSpec::Take { path: p } = motion {
                    let resolved = self.resolve(p);
                    let shown = p.display().to_string();
                    if !resolved.exists() {
                        return Err(invalid(
                            &shown,
                            format!("motion file {} does not exist", resolved.display()),
                        ));
                    }
                }
            }
            if let DirectorCommand::LightCue { name, .. } = &cue.command {
                if !self.lights.contains_key(name) {
                    let known: Vec<&str> = self.lights.keys().map(String::as_str).collect();
                    return Err(invalid(
                        &format!("name: \"{name}\""),
                        format!(
                            "light cue \"{name}\" is not defined in `lights` (defined: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The files a motion names: a BVH and its bone map, or a take's folder.
fn motion_paths(motion: &MotionSpec) -> Vec<&Path> {
    match motion {
        MotionSpec::Bvh { path, bone_map, .. } => std::iter::once(path.as_path())
            .chain(bone_map.as_deref())
            .collect(),
        MotionSpec::Take { path } => vec![path.as_path()],
        _ => Vec::new(),
    }
}

/// Whether `name` may name a show shot: not empty, not a built-in shot's name.
pub fn check_shot_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("a shot needs a name".into());
    }
    if let Some(shot) = ShotRef::builtin(name) {
        return Err(format!(
            "\"{name}\" is the built-in {} shot's name",
            shot.label()
        ));
    }
    Ok(())
}

/// 1-based line of the `n`-th (0-based) occurrence of `needle`, or 1 if there is none.
/// A cue list as RON, one cue a line: `[\n        (at: 0.4, command: ...),\n    ]`.
fn cues_ron(cues: &[Cue]) -> Result<String, String> {
    let config = ron::ser::PrettyConfig::new()
        .new_line(" ")
        .indentor("")
        .separator(" ")
        .compact_arrays(true)
        .compact_structs(true)
        .compact_maps(true);
    let mut out = String::from("[\n");
    for cue in cues {
        let line = ron::ser::to_string_pretty(cue, config.clone()).map_err(|e| e.to_string())?;
        out.push_str("        ");
        out.push_str(&line);
        out.push_str(",\n");
    }
    out.push_str("    ]");
    Ok(out)
}

/// Where the value of the show's own field `key` is in RON `text` (the outer struct's field,
/// not one nested deeper), skipping strings and comments.
fn top_level_value(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    let mut value_start: Option<usize> = None;
    let mut value_depth = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if let Some(start) = value_start {
                    if depth == value_depth + 1 && start == usize::MAX {
                        value_start = Some(i);
                    }
                }
            }
            b')' | b']' | b'}' => {
                if let Some(start) = value_start {
                    if depth == value_depth + 1 && start != usize::MAX {
                        return Some(start..i + 1);
                    }
                }
                depth -= 1;
            }
            _ if depth == 1
                && value_start.is_none()
                && text[i..].starts_with(key)
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let rest = text[i + key.len()..].trim_start();
                if rest.starts_with(':') {
                    // The value opens with the next bracket at this depth.
                    value_start = Some(usize::MAX);
                    value_depth = depth;
                    i += key.len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The field a RON line sets (`duration` in `    duration: "long",`), if it sets one.
fn field_on_line(text: &str, line: usize) -> Option<&str> {
    let content = text.lines().nth(line.checked_sub(1)?)?.trim_start();
    let (name, _) = content.split_once(':')?;
    let name = name.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

fn line_of_nth(text: &str, needle: &str, n: usize) -> usize {
    text.match_indices(needle)
        .nth(n)
        .map(|(at, _)| text[..at].matches('\n').count() + 1)
        .unwrap_or(1)
}

/// 1-based line of the first occurrence of `needle`, or 1 if it is not found verbatim.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map(|at| text[..at].matches('\n').count() + 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"(
    name: "test",
    duration: 4.0,
    lights: {
        "warm": (key: 1.0),
    },
    cues: [
        (at: 0.0, command: CutTo(shot: Wide)),
        (at: 1.0, command: LightCue(name: "warm", fade: 0.5)),
    ],
)"#;

    #[test]
    fn parses_a_minimal_show() {
        let show = ShowFile::parse(MINIMAL, Path::new("t.ron")).unwrap();
        assert_eq!(show.cues.len(), 2);
        assert_eq!(show.performer, PerformerSpec::BuiltIn);
        assert_eq!(show.lights["warm"].key, 1.0);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let bad = MINIMAL.replace("CutTo(shot: Wide)", "CutTo(shot: Balcony)");
        let err = ShowFile::parse(&bad, Path::new("scenes/bad.ron")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("scenes/bad.ron:8:"), "{text}");
        assert!(text.contains("Balcony"), "{text}");
    }

    #[test]
    fn unknown_light_cue_is_rejected_with_its_line() {
        let bad = MINIMAL.replace("name: \"warm\", fade", "name: \"blue\", fade");
        let err = ShowFile::parse(&bad, Path::new("s.ron")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("s.ron:9:"), "{text}");
        assert!(text.contains("\"blue\" is not defined"), "{text}");
    }

    #[test]
    fn physics_settings_are_checked_with_their_line() {
        let bad = MINIMAL.replace(
            "    lights: {",
            "    physics: (sleeves: (stiffness: 1.0, drag: 3.0, gravity: 1.0)),\n    lights: {",
        );
        let err = ShowFile::parse(&bad, Path::new("s.ron"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("s.ron:4:") && err.contains("sleeves.drag"),
            "{err}"
        );
    }

    #[test]
    fn cue_outside_the_show_is_rejected() {
        let bad = MINIMAL.replace("at: 1.0", "at: 9.5");
        let err = ShowFile::parse(&bad, Path::new("s.ron")).unwrap_err();
        assert!(err.to_string().contains("outside the show"), "{err}");
    }

    #[test]
    fn the_demo_show_loads() {
        let path = ling_testkit::repo_root().join("scenes/demo.ron");
        let show = ShowFile::load(&path).unwrap();
        assert!(show.duration >= 10.0);
        let cuts = show
            .cues
            .iter()
            .filter(|c| matches!(c.command, DirectorCommand::CutTo { .. }))
            .count();
        let looks: std::collections::BTreeSet<_> = show
            .cues
            .iter()
            .filter_map(|c| match &c.command {
                DirectorCommand::LightCue { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        assert!(cuts >= 3, "the demo cuts between its three shots");
        assert!(looks.len() >= 2, "the demo uses at least two light cues");
    }

    #[test]
    fn saving_keeps_comments_backs_up_and_reads_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("show.ron");
        let text = r#"// My show: the comments stay.
(
    name: "saved",
    duration: 10.0,
    lights: {
        // the house look
        "house": (key: 0.4),
    },
    cues: [
        (at: 1.0, command: LightCue(name: "house")),
    ],
    // after the cues
    lip_sync: 0.5,
)
"#;
        std::fs::write(&path, text).unwrap();
        let mut show = ShowFile::load(&path).unwrap();
        show.cues.push(Cue {
            number: "2".into(),
            name: "Her bow".into(),
            pre_wait: 0.5,
            follow: Follow::AutoContinue,
            ..Cue::manual(DirectorCommand::CutTo {
                shot: crate::looks::CameraShot::CloseUp,
                blend: 0.8,
            })
        });
        show.cues.push(Cue::timed(
            4.5,
            DirectorCommand::TriggerEffect {
                name: "petal_rain".into(),
                params: EffectParams::from([("density".into(), 60.0.into())]),
            },
        ));
        assert_eq!(show.save().unwrap(), path);
        let written = std::fs::read_to_string(&path).unwrap();
        for kept in [
            "// My show: the comments stay.",
            "// the house look",
            "// after the cues",
        ] {
            assert!(written.contains(kept), "{kept} lost:\n{written}");
        }
        assert!(written.contains("number: \"2\""), "{written}");
        assert_eq!(
            written.matches("\n        (").count(),
            3,
            "a cue a line:\n{written}"
        );
        let backup = dir.path().join("show.ron.bak");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), text);
        let back = ShowFile::load(&path).unwrap();
        assert_eq!(back.cues, show.cues);
        assert_eq!(back.lip_sync, 0.5);
        assert!(!dir.path().join("show.ron.saving").exists());

        // Anything else changed: the whole show is written, and still reads back.
        let mut show = back;
        show.lip_sync = 0.25;
        show.save().unwrap();
        let back = ShowFile::load(&path).unwrap();
        assert_eq!((back.lip_sync, back.cues.len()), (0.25, 3));
        assert_eq!(back.lights, show.lights);
    }

    #[test]
    fn named_shots_are_checked_and_cues_must_name_one_that_exists() {
        let with_shots = MINIMAL.replace(
            "    cues: [",
            "    shots: {\n        \"side\": (eye: (3.0, 1.6, 4.0), look: (0.0, 1.3, 0.0), fov: 30.0),\n    },\n    cues: [\n        (at: 2.0, command: Preview(\"side\")),\n        (at: 2.5, command: CutToShot(name: \"side\", blend: 1.0)),\n        (at: 3.0, command: CutToShot(name: \"closeup\")),\n        (at: 3.5, command: Take(transition: 0.5)),",
        );
        let show = ShowFile::parse(&with_shots, Path::new("s.ron")).unwrap();
        assert_eq!(show.shots["side"].fov, 30.0);
        assert_eq!(
            show.cues[0].command,
            DirectorCommand::Preview(ShotRef::Named("side".into()))
        );
        assert_eq!(
            show.cues[2].command,
            DirectorCommand::CutToShot {
                name: ShotRef::Builtin(crate::looks::CameraShot::CloseUp),
                blend: 0.0
            }
        );
        let unknown = with_shots.replace("Preview(\"side\")", "Preview(\"balcony\")");
        let err = ShowFile::parse(&unknown, Path::new("s.ron"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("s.ron:11:") && err.contains("\"balcony\"") && err.contains("side"),
            "{err}"
        );
        let bad_fov = with_shots.replace("fov: 30.0", "fov: 0.0");
        let err = ShowFile::parse(&bad_fov, Path::new("s.ron"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.ron:8:") && err.contains("fov"), "{err}");
        let builtin_name = with_shots.replace("\"side\": (", "\"Wide\": (");
        let err = ShowFile::parse(&builtin_name, Path::new("s.ron"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("built-in"), "{err}");
    }

    #[test]
    fn saved_shots_round_trip_through_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("show.ron");
        std::fs::write(&path, MINIMAL).unwrap();
        let mut show = ShowFile::load(&path).unwrap();
        assert!(show.shots.is_empty());
        let side = FixedShot::from_framing((
            bevy::math::Vec3::new(2.8134, 1.62, 4.1),
            bevy::math::Vec3::new(0.2, 1.25, 0.0),
            28.5f32.to_radians(),
        ));
        show.shots.insert("side".into(), side);
        show.shots.insert(
            "high".into(),
            FixedShot {
                eye: (0.0, 6.0, 7.0),
                look: (0.0, 1.0, 0.0),
                fov: 45.0,
            },
        );
        show.cues
            .push(Cue::manual(DirectorCommand::Preview(ShotRef::Named(
                "side".into(),
            ))));
        show.save().unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.contains("shots:"), "{written}");
        let back = ShowFile::load(&path).unwrap();
        assert_eq!(back.shots, show.shots);
        assert_eq!(back.shots["side"].eye, (2.813, 1.62, 4.1));
        assert_eq!(back.cues, show.cues);
        assert_eq!(back.lights, show.lights);

        // Only the cue list changed since: the shots stay as written.
        let mut show = back;
        show.cues.pop();
        show.save().unwrap();
        assert_eq!(ShowFile::load(&path).unwrap().shots, show.shots);

        // A show without shots writes none.
        show.shots.clear();
        show.cues.clear();
        show.save().unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(!written.contains("shots"), "{written}");
        assert!(ShowFile::load(&path).unwrap().shots.is_empty());
    }

    #[test]
    fn a_show_without_a_file_or_a_cue_list_saves_sensibly() {
        assert!(matches!(
            ShowFile::default().save(),
            Err(ShowError::Write { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bare.ron");
        std::fs::write(&path, "(name: \"bare\", duration: 3.0)\n").unwrap();
        let mut show = ShowFile::load(&path).unwrap();
        show.cues.push(Cue::manual(DirectorCommand::Go));
        show.save().unwrap();
        assert_eq!(ShowFile::load(&path).unwrap().cues, show.cues);
    }
}
