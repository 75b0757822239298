//! Where frames come from: a webcam (nokhwa), or files as a camera substitute: one image, a
//! folder of images (in name order), or a video decoded by an `ffmpeg` subprocess into raw
//! RGB frames.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::vision::Frame;

/// Why a source gave no frame.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file or folder could not be opened or read.
    #[error("{path}: {message}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong, and what to do when there is something to do.
        message: String,
    },
    /// The webcam could not be opened or stopped delivering frames; why.
    #[error("{0}")]
    Camera(String),
}

fn err(path: &Path, message: impl Into<String>) -> SourceError {
    SourceError::Read {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Where frames come from.
pub enum FrameSource {
    /// One image or a folder of them, read one a frame in name order.
    Images {
        /// The image files, sorted.
        files: Vec<PathBuf>,
        /// The index of the next one to read.
        next: usize,
    },
    /// A video decoded by an `ffmpeg` subprocess into raw RGB frames on its standard output.
    Video {
        /// The video file.
        path: PathBuf,
        /// The decoder, killed when the source is dropped.
        ffmpeg: Child,
        /// Frame width in pixels, as `ffprobe` reads it.
        width: u32,
        /// Frame height in pixels.
        height: u32,
        /// Frames a second (30 when the file does not say).
        fps: f64,
    },
    /// A webcam, streaming.
    Camera(Box<super::camera::Webcam>),
}

const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

impl FrameSource {
    /// Opens a webcam (see [`super::camera::CameraRequest`]).
    pub(crate) fn open_camera(request: &super::camera::CameraRequest) -> Result<Self, SourceError> {
        super::camera::Webcam::open(request)
            .map(|c| FrameSource::Camera(Box::new(c)))
            .map_err(SourceError::Camera)
    }

    /// Whether frames arrive in real time (a camera), rather than as fast as they are read.
    pub(crate) fn is_live(&self) -> bool {
        matches!(self, FrameSource::Camera(_))
    }

    /// Opens a file as a camera: an image, a folder of images or a video (which needs
    /// `ffprobe` and `ffmpeg` on the `PATH`).
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| err(path, e.to_string()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| is_image(p))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(err(path, "no images (.png, .jpg) in this folder"));
            }
            return Ok(FrameSource::Images { files, next: 0 });
        }
        if !path.is_file() {
            return Err(err(path, "no such file or folder"));
        }
        if is_image(path) {
            return Ok(FrameSource::Images {
                files: vec![path.to_owned()],
                next: 0,
            });
        }
        Self::open_video(path)
    }

    fn open_video(path: &Path) -> Result<Self, SourceError> {
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .args(["stream=width,height,avg_frame_rate", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .map_err(|e| {
                err(
                    path,
                    format!("cannot run ffprobe to read the video ({e}); install ffmpeg"),
                )
            })?;
        let text = String::from_utf8_lossy(&probe.stdout);
        let fields: Vec<&str> = text.trim().split(',').collect();
        let (Some(w), Some(h)) = (
            fields.first().and_then(|w| w.parse::<u32>().ok()),
            fields.get(1).and_then(|h| h.parse::<u32>().ok()),
        ) else {
            return Err(err(path, "not a video ffmpeg can read"));
        };
        let fps = fields
            .get(2)
            .and_then(|r| {
                let (n, d) = r.split_once('/')?;
                Some(n.parse::<f64>().ok()? / d.parse::<f64>().ok()?.max(1e-9))
            })
            .unwrap_or(30.0);
        let ffmpeg = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(path, format!("cannot run ffmpeg ({e})")))?;
        Ok(FrameSource::Video {
            path: path.to_owned(),
            ffmpeg,
            width: w,
            height: h,
            fps,
        })
    }

    /// Frame rate of a video (None for images).
    pub fn fps(&self) -> Option<f64> {
        match self {
            FrameSource::Video { fps, .. } => Some(*fps),
            FrameSource::Camera(c) => Some(c.format.frame_rate() as f64),
            FrameSource::Images { .. } => None,
        }
    }

    /// The next frame and its name, or None at the end.
    pub fn next_frame(&mut self) -> Result<Option<(String, Frame)>, SourceError> {
        match self {
            FrameSource::Camera(c) => c
                .next_frame()
                .map(|f| Some((String::new(), f)))
                .map_err(SourceError::Camera),
            FrameSource::Images { files, next } => {
                let Some(path) = files.get(*next) else {
                    return Ok(None);
                };
                *next += 1;
                let img = crate::camera::guarded_decode(|| image::open(path))
                    .map_err(|e| err(path, format!("cannot read the image ({e})")))?
                    .to_rgb8();
                Ok(Some((path.display().to_string(), Frame::from_image(&img))))
            }
            FrameSource::Video {
                path,
                ffmpeg,
                width,
                height,
                ..
            } => {
                let mut rgb = vec![0u8; (*width * *height * 3) as usize];
                let stdout = ffmpeg.stdout.as_mut().expect("piped");
                let mut filled = 0;
                while filled < rgb.len() {
                    match stdout.read(&mut rgb[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) => return Err(err(path, e.to_string())),
                    }
                }
                if filled < rgb.len() {
                    return Ok(None);
                }
                Ok(Some((
                    String::new(),
                    Frame {
                        width: *width,
                        height: *height,
                        rgb,
                    },
                )))
            }
        }
    }
}

impl Drop for FrameSource {
    fn drop(&mut self) {
        if let FrameSource::Video { ffmpeg, .. } = self {
            let _ = ffmpeg.kill();
            let _ = ffmpeg.wait();
        }
    }
}
