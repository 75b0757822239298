//! `ling-stage`: the command line. A thin layer over the library: parse, load, run, report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ling_stage::doctor::{self, Status};
use ling_stage::live::{self, LiveOptions};
use ling_stage::load_show;
use ling_stage::mocap::MotionPlayer;
use ling_stage::mocap::vmc_source::VmcSettings;
use ling_stage::render::{self, RenderOptions};
use ling_stage::show::ShowFile;

mod bench;
mod bench_render;
mod report;

/// Ling Stage: a virtual idol on an opera stage, live or rendered offline.
#[derive(Parser, Debug)]
#[command(name = "ling-stage", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
    /// Let show files and remote commands name files outside the show's folder (absolute
    /// paths elsewhere, `..` above it, symbolic links out of it); by default they are refused.
    #[arg(long, global = true)]
    allow_paths_outside_show: bool,
}

#[derive(Subcommand, Debug)]
enum Commands {
    /// Open the live stage: the console (director panel and program monitor) and the program
    /// window (the picture alone, for OBS or a projector; F11 toggles fullscreen). Needs a
    /// display. With --out the program goes on air at once.
    Live {
        /// Show file (RON); the built-in demo show if omitted.
        show: Option<PathBuf>,
        /// Perform with this avatar (VRM 0.x/1.0 or glTF humanoid) instead of the show's performer.
        #[arg(long, value_name = "FILE.vrm")]
        avatar: Option<PathBuf>,
        /// Play this motion capture (BVH or .vrma) instead of the show's motion.
        #[arg(long, value_name = "FILE.bvh")]
        motion: Option<PathBuf>,
        /// Play the show once instead of looping.
        #[arg(long)]
        once: bool,
        /// Receive VMC (OSC/UDP) motion; ADDR defaults to 127.0.0.1:39539.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:39539")]
        vmc: Option<std::net::SocketAddr>,
        /// Stream the performer as VMC to ADDR (e.g. 127.0.0.1:39540).
        #[arg(long, value_name = "ADDR")]
        vmc_send: Option<std::net::SocketAddr>,
        /// Lip sync from a microphone (by name; the default one if no name is given).
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        mic: Option<String>,
        /// Face and hand tracking from a webcam: its index or part of its name (the first
        /// camera if none is given). `ling-stage doctor` lists them.
        #[arg(long, value_name = "DEVICE", num_args = 0..=1, default_missing_value = "", conflicts_with = "camera_file")]
        camera: Option<String>,
        /// The webcam mode to ask for: WIDTHxHEIGHT or WIDTHxHEIGHT@FPS (the closest it has).
        #[arg(long, value_name = "WxH@FPS", default_value = "640x480@30")]
        camera_mode: String,
        /// Face and hand tracking from a video, an image or a folder of images played as the
        /// camera.
        #[arg(long, value_name = "FILE")]
        camera_file: Option<PathBuf>,
        /// Start recording a take at once, into this folder (the panel can start one too).
        #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "takes")]
        record: Option<PathBuf>,
        /// Save a PNG of the console window (panel and program monitor) after SECONDS of wall
        /// time.
        #[arg(long, value_name = "FILE")]
        screenshot: Option<PathBuf>,
        /// Save a PNG of the program window after SECONDS of wall time.
        #[arg(long, value_name = "FILE")]
        screenshot_program: Option<PathBuf>,
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
        screenshot_at: f64,
        /// One window: the program docked in the console (for small screens).
        #[arg(long)]
        docked: bool,
        /// Open the program window fullscreen on monitor N (0 = the first).
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "0", conflicts_with = "docked")]
        fullscreen: Option<usize>,
        /// The console's language for this run, zh (简体中文) or en, over the one it remembers
        /// (the switch in the panel's header changes it and is remembered).
        #[arg(long, value_name = "zh|en")]
        lang: Option<ling_stage::director::i18n::Language>,
        /// The console window's size in pixels (default 1280x720).
        #[arg(long, value_name = "WxH", value_parser = ling_stage::director::console::parse_size)]
        console_size: Option<(u32, u32)>,
        #[command(flatten)]
        program: ProgramArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        iphone: IphoneArgs,
        /// Close the window after SECONDS of wall time.
        #[arg(long, value_name = "SECONDS")]
        quit_after: Option<f64>,
    },
    /// Render a show offline to a video (or PNG frames) through the normal render pipeline:
    /// a landscape show, a vertical short (--preset douyin), or the performer alone on a
    /// transparent background (--alpha) or a key colour (--background green) for compositing.
    Render {
        /// Show file (RON).
        show: PathBuf,
        /// Perform with this avatar (VRM 0.x/1.0 or glTF humanoid) instead of the show's performer.
        #[arg(long, value_name = "FILE.vrm")]
        avatar: Option<PathBuf>,
        /// Play this motion capture (BVH or .vrma) instead of the show's motion.
        #[arg(long, value_name = "FILE.bvh")]
        motion: Option<PathBuf>,
        /// Output video: .mp4, .mov or .mkv (H.264), .webm (VP9); with --alpha .mov (ProRes
        /// 4444) or .webm (VP9 with alpha). Frames go to ffmpeg raw, through a pipe; any other
        /// name (or no ffmpeg) writes PNG frames in a folder beside it instead.
        #[arg(long, short)]
        out: PathBuf,
        /// Seconds of show to render (default: the whole show).
        #[arg(long, conflicts_with = "frames")]
        seconds: Option<f64>,
        /// Number of frames to render.
        #[arg(long)]
        frames: Option<u32>,
        /// Show time to start at, in seconds.
        #[arg(long, default_value_t = 0.0)]
        start: f64,
        /// Picture size and rate for a platform: landscape (1920×1080), douyin or shorts
        /// (1080×1920), square (1080×1080), all 30 fps at the platform's bitrate. The shots
        /// reframe for the picture's aspect so the performer stays whole. --width, --height
        /// and --fps override it.
        #[arg(long, value_name = "PRESET", value_parser = ling_broadcast::preset::Preset::parse)]
        preset: Option<ling_broadcast::preset::Preset>,
        /// Picture width [default: 1280, or the preset's].
        #[arg(long)]
        width: Option<u32>,
        /// Picture height [default: 720, or the preset's].
        #[arg(long)]
        height: Option<u32>,
        /// Frames per second [default: 30, or the preset's].
        #[arg(long)]
        fps: Option<u32>,
        /// Transparent background: RGBA PNG frames (straight alpha) and a video that keeps the
        /// alpha (.mov: ProRes 4444, .webm: VP9 with alpha; .mp4 cannot). No bloom.
        #[arg(long, conflicts_with = "background")]
        alpha: bool,
        /// Lay the picture over a key colour for chroma keying: green (#00b140), blue
        /// (#0047bb), magenta or #rrggbb. The background is exactly that colour (no bloom).
        /// `transparent` is --alpha; `stage` the plain render.
        #[arg(long, value_name = "COLOR", value_parser = ling_stage::stage::keying::BackdropFill::parse)]
        background: Option<ling_stage::stage::keying::BackdropFill>,
        /// What stays of the set with --alpha or --background: performer (the default when
        /// keyed: her alone), floor (and the stage floor with her shadow), full (the whole set;
        /// only the house around it is keyed). A plain render always shows the full stage.
        #[arg(long, value_name = "full|floor|performer", value_parser = ling_stage::stage::keying::SetVisibility::parse)]
        set: Option<ling_stage::stage::keying::SetVisibility>,
        /// Also write every frame as PNG, in a folder beside the video.
        #[arg(long)]
        keep_frames: bool,
        /// Picture quality: final (4× MSAA, bloom, 2048-texel shadows) or draft (no MSAA, no
        /// bloom, 1024-texel shadows; about twice as fast on a software renderer).
        #[arg(long, value_name = "draft|final", default_value = "final", value_parser = parse_quality)]
        quality: ling_stage::stage::StageQuality,
        /// Anti-aliasing samples, overriding the quality's: 1 (off, ~30% faster on software
        /// renderers), 2, 4 or 8.
        #[arg(long)]
        msaa: Option<u32>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Send a show or a take live to streams, files and virtual cameras: headless, in real
    /// time, no window (works on a software renderer).
    Broadcast {
        /// Show file (RON) or take folder.
        show: PathBuf,
        /// Play this motion capture (BVH or .vrma) instead of the show's motion.
        #[arg(long, value_name = "FILE.bvh")]
        motion: Option<PathBuf>,
        /// Stop after SECONDS on air (default: when the show ends; with --loop, never).
        #[arg(long)]
        seconds: Option<f64>,
        /// Loop the show.
        #[arg(long = "loop")]
        looping: bool,
        /// No status lines.
        #[arg(long)]
        quiet: bool,
        /// Send a microphone (by name; the default one if no name is given) to the outputs,
        /// mixed with the show's track, and move her mouth with it.
        #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
        mic: Option<String>,
        /// Receive VMC (OSC/UDP) motion; ADDR defaults to 127.0.0.1:39539.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:39539")]
        vmc: Option<std::net::SocketAddr>,
        /// Face and hand tracking from a video, an image or a folder of images played as the
        /// camera.
        #[arg(long, value_name = "FILE")]
        camera_file: Option<PathBuf>,
        /// Print a `stats` line every SECONDS on air: frames, mean and longest frame time,
        /// output frames sent, repeated and dropped, VMC and remote counts, resident memory.
        #[arg(long, value_name = "SECONDS")]
        stats_every: Option<f64>,
        #[command(flatten)]
        program: ProgramArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        iphone: IphoneArgs,
    },
    /// Record a show (and any VMC input) as a take, headless and in real time.
    Record {
        /// Show file (RON).
        show: PathBuf,
        /// Folder the take folder is created in.
        #[arg(long, default_value = "takes")]
        takes: PathBuf,
        /// Stop after SECONDS (default: run until interrupted; the take keeps up to the last second).
        #[arg(long)]
        seconds: Option<f64>,
        /// Play this motion capture (BVH or .vrma) instead of the show's motion.
        #[arg(long, value_name = "FILE.bvh")]
        motion: Option<PathBuf>,
        /// Receive VMC (OSC/UDP) motion; ADDR defaults to 127.0.0.1:39539.
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:39539")]
        vmc: Option<std::net::SocketAddr>,
        /// Let --vmc and --iphone-listen listen on an address other than loopback (0.0.0.0, a
        /// LAN address), where other machines can reach them; without it such an address is
        /// refused.
        #[arg(long)]
        allow_network: bool,
        #[command(flatten)]
        iphone: IphoneArgs,
    },
    /// Check the render adapter, display, audio, cameras, ONNX Runtime, models and ffmpeg.
    Doctor,
    /// Measure the CPU cost of a headless show frame and the offline render speed.
    Bench {
        /// Headless frames to time.
        #[arg(long, default_value_t = 600)]
        frames: u32,
        /// Frames to render for the render-speed measurement (0 to skip).
        #[arg(long, default_value_t = 30)]
        render_frames: u32,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        /// Seconds of real-time headless show for the broadcast measurement, run twice (off
        /// air, then on air to a file); 0 skips it.
        #[arg(long, default_value_t = 60.0)]
        broadcast_seconds: f64,
        /// Only these sections (comma-separated): frame, avatars, chains, cloth, audio, mic,
        /// tracking, bvh, vmc, render, broadcast.
        #[arg(long, value_name = "SECTIONS", value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Motion capture files: inspect a BVH, export a show's motion as BVH.
    #[command(subcommand)]
    Mocap(MocapCommand),
    /// Audio files: analyse level, onsets, tempo and visemes.
    #[command(subcommand)]
    Audio(AudioCommand),
    /// Avatar files (VRM 0.x/1.0, glTF): inspect what Ling Stage reads from them.
    #[command(subcommand)]
    Avatar(AvatarCommand),
    /// Run face and hand tracking on an image, a folder of images or a video and print, per
    /// frame, the face box, its 468 landmarks, head pose and ARKit weights, and the hands'
    /// 21 landmarks with handedness (pixels).
    Track {
        file: PathBuf,
        /// One JSON object per frame (JSON Lines).
        #[arg(long)]
        json: bool,
    },
    /// Print the render adapter wgpu picks (used by `doctor` in a child process).
    #[command(hide = true)]
    ProbeAdapter,
    /// Load an avatar and print its load time and memory (used by `bench`).
    #[command(hide = true)]
    ProbeAvatar { file: PathBuf },
}

#[derive(Subcommand, Debug)]
enum MocapCommand {
    /// Print a BVH file's joints, channels, frame count, fps and duration, and how it maps
    /// onto the humanoid (as a RON bone map to edit); or a VRM animation's (.vrma) humanoid,
    /// expressions, gaze and motion.
    Inspect { file: PathBuf },
    /// Write the performer's motion in a show as BVH (humanoid skeleton, VRM bone names, cm),
    /// or as a VRM animation when the output ends in .vrma.
    Export {
        /// Show file (RON).
        show: PathBuf,
        #[arg(long, short)]
        out: PathBuf,
        /// Play this motion capture (BVH or .vrma) instead of the show's motion.
        #[arg(long, value_name = "FILE.bvh")]
        motion: Option<PathBuf>,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        /// Seconds to export (default: the whole show).
        #[arg(long)]
        seconds: Option<f64>,
    },
}

#[derive(Subcommand, Debug)]
enum AudioCommand {
    /// Print per 10 ms frame the level (dBFS), the viseme and its weight, then the onsets and
    /// the tempo.
    Analyze {
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Remote control over OSC: shared by `live` and `broadcast`.
#[derive(clap::Args, Debug, Clone)]
struct RemoteArgs {
    /// Take the director's commands over OSC (UDP) from TouchOSC, Companion or a script, and
    /// send the show's state back; ADDR defaults to 127.0.0.1:9000 (this machine only). Bind
    /// 0.0.0.0:9000 to listen on the network, with --remote-allow.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9000")]
    remote: Option<std::net::SocketAddr>,
    /// Addresses besides this machine allowed to control the show (comma-separated); packets
    /// from any other are dropped and counted.
    #[arg(
        long,
        value_name = "IP[,IP...]",
        value_delimiter = ',',
        requires = "remote"
    )]
    remote_allow: Vec<std::net::IpAddr>,
    /// Also send the state to this port on each client's host (TouchOSC's receive port).
    #[arg(long, value_name = "PORT", requires = "remote")]
    remote_feedback: Option<u16>,
    /// Let --remote and --vmc listen on an address other than loopback (0.0.0.0, a LAN
    /// address), where other machines can reach them; without it such an address is refused.
    #[arg(long)]
    allow_network: bool,
}

impl RemoteArgs {
    /// The remote's settings, once the listening addresses (the remote's and `vmc`) are
    /// checked: an address beyond loopback without --allow-network is an error here, before
    /// the show starts.
    fn settings(
        self,
        vmc: Option<std::net::SocketAddr>,
    ) -> anyhow::Result<Option<ling_remote::RemoteSettings>> {
        check_listen("--vmc", vmc, self.allow_network)?;
        check_listen("--remote", self.remote, self.allow_network)?;
        Ok(self.remote.map(|listen| ling_remote::RemoteSettings {
            listen,
            allow: self.remote_allow,
            feedback_port: self.remote_feedback,
            allow_network: self.allow_network,
        }))
    }
}

/// iPhone face capture: shared by `live`, `broadcast` and `record`.
#[derive(clap::Args, Debug, Clone)]
struct IphoneArgs {
    /// Face capture from an iPhone app: ifacialmocap[=PHONE] (iFacialMocap; with the phone's
    /// address the stage sends it the start handshake), livelinkface (Epic's Live Link Face:
    /// set this machine as its target) or vtubestudio=PHONE (VTube Studio with "3rd Party PC
    /// Clients" on: the stage asks the phone at PHONE, an IP or IP:PORT, for data). ARKit's 52
    /// blend shapes become her expressions, the head and eyes her head and gaze.
    #[arg(long, value_name = "APP[=PHONE]")]
    iphone: Option<ling_stage::tracking::iphone::IphoneRequest>,
    /// Where to receive the phone's packets [default: 127.0.0.1 on the app's port: 49983,
    /// 11111 or 21413]. A phone on Wi-Fi needs this machine's LAN address (or 0.0.0.0) and
    /// --allow-network.
    #[arg(long, value_name = "ADDR", requires = "iphone")]
    iphone_listen: Option<std::net::SocketAddr>,
    /// Play a Live Link Face CSV take (its `…_iPhone.csv`) as her face on the show clock.
    #[arg(long, value_name = "FILE.csv")]
    face_csv: Option<PathBuf>,
}

impl IphoneArgs {
    /// The settings, once the listening address is checked (beyond loopback only with
    /// --allow-network) and the face take reads.
    fn settings(
        self,
        allow_network: bool,
    ) -> anyhow::Result<ling_stage::tracking::iphone::IphoneSettings> {
        let listen = self
            .iphone_listen
            .or_else(|| self.iphone.as_ref().map(|r| r.protocol.default_listen()));
        check_listen("--iphone-listen", listen, allow_network)?;
        if let Some(path) = &self.face_csv {
            ling_stage::tracking::iphone::FaceTake::load(path)?;
        }
        Ok(ling_stage::tracking::iphone::IphoneSettings {
            request: self.iphone,
            listen: self.iphone_listen,
            allow_network,
            face_csv: self.face_csv,
        })
    }
}

/// Refuses a listening address beyond loopback unless --allow-network was given.
fn check_listen(
    what: &str,
    addr: Option<std::net::SocketAddr>,
    allow_network: bool,
) -> anyhow::Result<()> {
    match addr {
        Some(addr) if !allow_network && !ling_core::net::is_local_only(addr) => {
            Err(ling_core::net::NetworkBindRefused {
                what: what.into(),
                addr,
            }
            .into())
        }
        _ => Ok(()),
    }
}

/// The program picture and where it goes: shared by `live` and `broadcast`.
#[derive(clap::Args, Debug, Clone)]
struct ProgramArgs {
    /// Send the program to URL: rtmp://… or rtmps://… (Twitch, YouTube, Bilibili, Douyin push
    /// URLs), srt://HOST:PORT, udp://HOST:PORT (MPEG-TS), a file recorded while live (.mp4
    /// .mkv .ts .flv; .mov and .webm keep alpha), or v4l2:/dev/videoN (a v4l2loopback virtual
    /// camera). Repeat for several outputs.
    #[arg(long = "out", value_name = "URL")]
    outputs: Vec<String>,
    /// Size, frame rate and bitrate for a platform: landscape (1920×1080), douyin or shorts
    /// (1080×1920), square (1080×1080). The camera shots reframe for the aspect.
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,
    /// Program width in pixels (default 1280, or the preset's).
    #[arg(long)]
    width: Option<u32>,
    /// Program height in pixels (default 720, or the preset's).
    #[arg(long)]
    height: Option<u32>,
    /// Frames per second sent (default 30).
    #[arg(long)]
    fps: Option<u32>,
    /// Video bitrate in kbit/s (default: the preset's, or about 0.1 bit per pixel).
    #[arg(long, value_name = "KBPS")]
    bitrate: Option<u32>,
    /// Seconds between keyframes (streaming platforms want 2).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    keyframe: f32,
    /// What fills the background: stage, transparent, green, blue, magenta or a hex colour
    /// (#00b140). A key colour is exact in every frame (laid under the picture after bloom
    /// and tonemapping).
    #[arg(long, value_name = "COLOR", default_value = "stage")]
    background: String,
    /// With a keyed background, which set pieces stay: performer (default), floor (the floor
    /// she stands on, with her shadow) or full.
    #[arg(long, value_name = "PIECES")]
    set: Option<String>,
    /// Picture quality: final (4× MSAA, bloom, 2048-texel shadows) or draft (no MSAA, no
    /// bloom, 1024-texel shadows; about twice as fast on a software renderer). Default: draft
    /// on a software renderer (real time comes first), final on a GPU.
    #[arg(long, value_name = "draft|final", value_parser = parse_quality)]
    quality: Option<ling_stage::stage::StageQuality>,
    /// Anti-aliasing samples of the stage camera, overriding the quality's: 1 (off, fastest
    /// on software renderers), 2, 4 or 8.
    #[arg(long)]
    msaa: Option<u32>,
}

fn parse_quality(text: &str) -> Result<ling_stage::stage::StageQuality, String> {
    ling_stage::stage::StageQuality::named(text)
        .ok_or_else(|| format!("\"{text}\" is not a quality: draft or final"))
}

fn check_msaa(msaa: Option<u32>) -> anyhow::Result<()> {
    match msaa {
        Some(n) if ![1, 2, 4, 8].contains(&n) => {
            anyhow::bail!("--msaa must be 1, 2, 4 or 8 (got {n})")
        }
        _ => Ok(()),
    }
}

/// The program settings the command line asks for: picture size, frame rate, backdrop and
/// outputs. Bad URLs, devices and colours are refused here, naming what is wrong.
struct Program {
    size: (u32, u32),
    fps: u32,
    quality: ling_stage::stage::QualityRequest,
    backdrop: ling_stage::stage::keying::Backdrop,
    outputs: Vec<ling_broadcast::OutputSpec>,
}

impl ProgramArgs {
    fn resolve(&self) -> anyhow::Result<Program> {
        use ling_broadcast::preset::Preset;
        use ling_broadcast::target::{OutputTarget, StreamSettings, TargetKind};
        use ling_stage::stage::keying::{Backdrop, BackdropFill, SetVisibility};
        let preset = self
            .preset
            .as_deref()
            .map(Preset::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let (pw, ph) = preset.map_or((1280, 720), |p| p.size());
        let size = (self.width.unwrap_or(pw), self.height.unwrap_or(ph));
        let fps = self.fps.or(preset.map(|p| p.fps())).unwrap_or(30);
        if size.0 == 0 || size.1 == 0 || fps == 0 {
            anyhow::bail!("width, height and fps must be positive");
        }
        check_msaa(self.msaa)?;
        let fill = BackdropFill::parse(&self.background).map_err(anyhow::Error::msg)?;
        let set = match &self.set {
            Some(text) => SetVisibility::parse(text).map_err(anyhow::Error::msg)?,
            None if fill.is_keyed() => SetVisibility::PerformerOnly,
            None => SetVisibility::Full,
        };
        let mut outputs = Vec::new();
        for text in &self.outputs {
            let target = OutputTarget::parse(text)?;
            if target.kind == TargetKind::V4l2 {
                ling_broadcast::target::check_v4l2(Path::new(&target.url))
                    .map_err(|why| anyhow::anyhow!("{text}: {why}"))?;
            }
            let mut settings = StreamSettings::for_target(&target, size.0, size.1, fps);
            if let Some(kbps) = self
                .bitrate
                .or(preset.filter(|p| p.size() == size).map(|p| p.video_kbps()))
            {
                settings.video_kbps = kbps;
            }
            settings.keyframe_seconds = self.keyframe;
            outputs.push(ling_broadcast::OutputSpec { target, settings });
        }
        Ok(Program {
            size,
            fps,
            quality: ling_stage::stage::QualityRequest {
                preset: self.quality,
                msaa_samples: self.msaa,
            },
            backdrop: Backdrop { fill, set },
            outputs,
        })
    }
}

/// The tracking source the live options ask for.
fn tracking_input(
    camera: Option<String>,
    mode: &str,
    file: Option<PathBuf>,
) -> anyhow::Result<Option<ling_stage::tracking::live::TrackingInput>> {
    use ling_stage::tracking::{camera::CameraRequest, live::TrackingInput};
    if let Some(file) = file {
        return Ok(Some(TrackingInput::File(file)));
    }
    let Some(device) = camera else {
        return Ok(None);
    };
    let request = CameraRequest {
        device: (!device.is_empty()).then_some(device),
        ..CameraRequest::default()
    }
    .with_mode(mode)
    .map_err(anyhow::Error::msg)?;
    Ok(Some(TrackingInput::Camera(request)))
}

#[derive(Subcommand, Debug)]
enum AvatarCommand {
    /// Print an avatar's humanoid map, expressions, spring chains, colliders and meta.
    Inspect { file: PathBuf },
}

fn demo_show_path() -> PathBuf {
    let local = PathBuf::from("scenes/demo.ron");
    if local.is_file() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron")
    }
}

/// Replaces the show's performer with an avatar file.
fn with_avatar(mut show: ShowFile, avatar: Option<PathBuf>) -> ShowFile {
    if let Some(path) = avatar {
        let absolute = std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path);
        show.performer = ling_stage::show::PerformerSpec::Avatar { path: absolute };
    }
    show
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Commands::Live {
            show,
            avatar,
            motion,
            once,
            vmc,
            vmc_send,
            mic,
            camera,
            camera_mode,
            camera_file,
            record,
            screenshot,
            screenshot_program,
            screenshot_at,
            quit_after,
            docked,
            fullscreen,
            lang,
            console_size,
            program,
            remote,
            iphone,
        } => {
            let allow_network = remote.allow_network;
            let remote_settings = remote.settings(vmc)?;
            let iphone = iphone.settings(allow_network)?;
            let path = show.unwrap_or_else(demo_show_path);
            let show = with_avatar(load_show(&path, motion)?, avatar);
            let program = program.resolve()?;
            use ling_stage::director::console::{ConsoleStartup, set_startup};
            set_startup(ConsoleStartup {
                language: lang,
                size: console_size,
            });
            live::run(
                show,
                LiveOptions {
                    screenshot: screenshot.map(|p| (p, screenshot_at)),
                    program_screenshot: screenshot_program.map(|p| (p, screenshot_at)),
                    program_size: program.size,
                    quality: program.quality,
                    program_window: !docked,
                    fullscreen,
                    backdrop: program.backdrop,
                    outputs: program.outputs,
                    quit_after,
                    looping: !once,
                    vmc: VmcSettings {
                        listen: vmc,
                        send: vmc_send,
                        allow_network,
                    },
                    record_now: record.is_some(),
                    takes_dir: record.unwrap_or_else(|| PathBuf::from("takes")),
                    show_path: path.clone(),
                    microphone: mic.map(|m| (!m.is_empty()).then_some(m)),
                    tracking: tracking_input(camera, &camera_mode, camera_file)?,
                    iphone,
                    remote: remote_settings,
                },
            )?;
        }
        Commands::Render {
            show,
            avatar,
            motion,
            out,
            seconds,
            frames,
            start,
            preset,
            width,
            height,
            fps,
            alpha,
            background,
            set,
            keep_frames,
            quality,
            msaa,
            quiet,
        } => {
            check_msaa(msaa)?;
            use ling_stage::stage::keying::{Backdrop, BackdropFill, SetVisibility};
            let fill = match (alpha, background) {
                (true, _) => BackdropFill::Transparent,
                (false, background) => background.unwrap_or(BackdropFill::Stage),
            };
            if set.is_some() && !fill.is_keyed() {
                anyhow::bail!(
                    "--set chooses what stays of the set behind a keyed picture: add --alpha or --background COLOR"
                );
            }
            let mut options = RenderOptions::default();
            if let Some(preset) = preset {
                options = options.with_preset(preset);
            }
            options.width = width.unwrap_or(options.width);
            options.height = height.unwrap_or(options.height);
            options.fps = fps.unwrap_or(options.fps);
            let file = with_avatar(load_show(&show, motion)?, avatar);
            let frames = frames.or(seconds.map(|s| (s * options.fps as f64).round() as u32));
            let options = RenderOptions {
                out: out.clone(),
                frames,
                start,
                keep_frames,
                progress: !quiet,
                quality: ling_stage::stage::QualityRequest {
                    preset: Some(quality),
                    msaa_samples: msaa,
                },
                backdrop: Backdrop {
                    fill,
                    set: set.unwrap_or(SetVisibility::PerformerOnly),
                },
                ..options
            };
            let report = render::render(file, &options)
                .with_context(|| format!("rendering {} to {}", show.display(), out.display()))?;
            println!(
                "rendered {} frames at {}×{} in {:.1} s ({:.2} frames/s, {} warm-up frames)",
                report.frames,
                options.width,
                options.height,
                report.render_seconds,
                report.fps(),
                report.warmup_frames
            );
            if let Some(video) = &report.video {
                println!("video: {}", video.display());
            }
            if let Some(dir) = &report.frames_dir {
                println!("frames: {}", dir.display());
            }
            if let Some(note) = &report.note {
                println!("note: {note}");
            }
        }
        Commands::Broadcast {
            show,
            motion,
            seconds,
            looping,
            quiet,
            mic,
            vmc,
            camera_file,
            stats_every,
            program,
            remote,
            iphone,
        } => {
            let allow_network = remote.allow_network;
            let remote_settings = remote.settings(vmc)?;
            let iphone = iphone.settings(allow_network)?;
            let file = load_show(&show, motion)?;
            let program = program.resolve()?;
            let report = ling_stage::broadcast::run(
                file,
                ling_stage::broadcast::BroadcastOptions {
                    outputs: program.outputs,
                    width: program.size.0,
                    height: program.size.1,
                    fps: program.fps,
                    quality: program.quality,
                    backdrop: program.backdrop,
                    seconds,
                    looping,
                    progress: !quiet,
                    on_air: true,
                    microphone: mic.map(|m| (!m.is_empty()).then_some(m)),
                    remote: remote_settings,
                    vmc: VmcSettings {
                        listen: vmc,
                        send: None,
                        allow_network,
                    },
                    tracking: camera_file.map(ling_stage::tracking::live::TrackingInput::File),
                    iphone,
                    stats_every,
                },
            )
            .with_context(|| format!("broadcasting {}", show.display()))?;
            println!(
                "broadcast: {:.2} s on air, show clock {:.2} s, {} frames rendered, {} read back, longest frame {:.0} ms",
                report.wall_seconds,
                report.show_seconds,
                report.frames_rendered,
                report.frames_read,
                report.longest_frame.as_secs_f64() * 1000.0
            );
            for o in &report.outputs {
                println!(
                    "output {}: {} frames sent, {} repeated, {} dropped, {} attempt(s), {} ticks missed{}",
                    o.target,
                    o.frames_sent,
                    o.frames_repeated,
                    o.frames_dropped,
                    o.attempts,
                    o.ticks_missed,
                    o.last_error
                        .as_ref()
                        .map(|e| format!(", last error: {e}"))
                        .unwrap_or_default()
                );
            }
            if let Some(remote) = &report.remote {
                println!("remote: {}", remote.summary());
            }
        }
        Commands::Record {
            show,
            takes,
            seconds,
            motion,
            vmc,
            allow_network,
            iphone,
        } => {
            check_listen("--vmc", vmc, allow_network)?;
            let iphone = iphone.settings(allow_network)?;
            let mut file = load_show(&show, motion)?;
            // Takes hold canonical signals; headless, the built-in skeleton carries them.
            file.performer = ling_stage::show::PerformerSpec::BuiltIn;
            let player = MotionPlayer::for_show(&file)?;
            ling_stage::record::record_headless(
                file,
                &show,
                &takes,
                seconds,
                player,
                VmcSettings {
                    listen: vmc,
                    send: None,
                    allow_network,
                },
                iphone,
            )?;
        }
        Commands::Doctor => {
            let checks = doctor::run();
            for check in &checks {
                println!("{check}");
            }
            let missing = checks
                .iter()
                .filter(|c| c.status == Status::Missing)
                .count();
            println!(
                "{} of {} subsystems ready{}",
                checks.len() - missing,
                checks.len(),
                if missing > 0 {
                    " (the show runs without the missing ones)"
                } else {
                    ""
                }
            );
        }
        Commands::Bench {
            frames,
            render_frames,
            width,
            height,
            broadcast_seconds,
            only,
        } => bench::run(
            &demo_show_path(),
            frames,
            render_frames,
            (width, height),
            broadcast_seconds,
            &only,
        )?,
        Commands::Mocap(MocapCommand::Inspect { file }) => report::inspect_bvh(&file)?,
        Commands::Avatar(AvatarCommand::Inspect { file }) => report::inspect_avatar(&file)?,
        Commands::Audio(AudioCommand::Analyze { file, json }) => {
            report::analyze_audio(&file, json)?
        }
        Commands::Track { file, json } => report::track(&file, json)?,
        Commands::Mocap(MocapCommand::Export {
            show,
            out,
            motion,
            fps,
            seconds,
        }) => report::export_bvh(&show, motion, &out, fps, seconds)?,
        Commands::ProbeAdapter => bench::probe_adapter()?,
        Commands::ProbeAvatar { file } => bench::probe_avatar(&file)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Reports and listings behave like other command-line tools when piped into `head`: they
    // end quietly. Commands that feed ffmpeg keep SIGPIPE ignored: an encoder or stream that
    // dies must be an error the show survives (retried, reported), never the end of the show.
    let feeds_encoders = matches!(
        cli.command,
        Commands::Live { .. }
            | Commands::Render { .. }
            | Commands::Broadcast { .. }
            | Commands::Record { .. }
            | Commands::Bench { .. }
    );
    #[cfg(unix)]
    if !feeds_encoders {
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    ling_core::show::paths::allow_paths_outside_show(cli.allow_paths_outside_show);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
