//! Webcams through nokhwa: listing, picking one by index or name, negotiating a format
//! (MJPEG or YUYV, the resolution and frame rate closest to what was asked), and decoding its
//! frames to RGB. Format choice and decoding are plain functions, tested without a camera.

/// A camera frame's pixel format, as nokhwa names it.
pub use nokhwa::utils::FrameFormat;
use nokhwa::utils::{ApiBackend, CameraFormat, CameraIndex, RequestedFormat, RequestedFormatType};

use super::vision::Frame;

/// Which camera to open and what to ask of it (`live --camera [DEVICE] --camera-mode WxH@FPS`).
#[derive(Debug, Clone, PartialEq)]
pub struct CameraRequest {
    /// An index (`0`) or part of a camera's name (`"C920"`); None: the first camera.
    pub device: Option<String>,
    /// Frame width asked for, pixels (the closest mode the camera offers is taken).
    pub width: u32,
    /// Frame height asked for, pixels.
    pub height: u32,
    /// Frames a second asked for.
    pub fps: u32,
}

impl Default for CameraRequest {
    fn default() -> Self {
        Self {
            device: None,
            width: 640,
            height: 480,
            fps: 30,
        }
    }
}

impl CameraRequest {
    /// Parses a mode such as `1280x720@30` (the frame rate is optional).
    pub fn with_mode(mut self, mode: &str) -> Result<Self, String> {
        let bad = || format!("camera mode {mode:?}: expected WIDTHxHEIGHT or WIDTHxHEIGHT@FPS");
        let (size, fps) = match mode.split_once('@') {
            Some((size, fps)) => (size, Some(fps)),
            None => (mode, None),
        };
        let (w, h) = size.split_once(['x', 'X']).ok_or_else(bad)?;
        self.width = w.trim().parse().map_err(|_| bad())?;
        self.height = h.trim().parse().map_err(|_| bad())?;
        if let Some(fps) = fps {
            self.fps = fps.trim().parse().map_err(|_| bad())?;
        }
        if self.width == 0 || self.height == 0 || self.fps == 0 {
            return Err(bad());
        }
        Ok(self)
    }

    /// A short name for status lines: "camera 0", "camera \"C920\"".
    pub(crate) fn label(&self) -> String {
        match &self.device {
            None => "camera (first found)".into(),
            Some(d) if d.parse::<u32>().is_ok() => format!("camera {d}"),
            Some(d) => format!("camera {d:?}"),
        }
    }
}

/// The pixel formats we decode, in order of preference at the same size and rate (MJPEG
/// carries more frames per second over USB 2).
const DECODED: [FrameFormat; 5] = [
    FrameFormat::MJPEG,
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::RAWRGB,
    FrameFormat::GRAY,
];

/// Picks the mode closest to the request: the smallest size difference first, then a frame
/// rate at least as high as asked (else the highest), then MJPEG over YUYV.
pub(crate) fn choose_format(
    formats: &[CameraFormat],
    want: &CameraRequest,
) -> Option<CameraFormat> {
    let size_cost = |f: &CameraFormat| {
        let dw = f.width() as i64 - want.width as i64;
        let dh = f.height() as i64 - want.height as i64;
        dw.abs() + dh.abs()
    };
    let rate_cost = |f: &CameraFormat| {
        if f.frame_rate() >= want.fps {
            (f.frame_rate() - want.fps) as i64
        } else {
            // Too slow is worse than any faster mode.
            1_000 + (want.fps - f.frame_rate()) as i64
        }
    };
    let format_cost = |f: &CameraFormat| DECODED.iter().position(|d| *d == f.format());
    formats
        .iter()
        .filter(|f| format_cost(f).is_some())
        .min_by_key(|f| (size_cost(f), rate_cost(f), format_cost(f)))
        .copied()
}

/// Runs an image decoder, turning a panic inside it into an error: the JPEG decoder
/// (zune-jpeg 0.5) asserts on some malformed progressive frames (found by fuzzing, kept in
/// `fuzz/regressions/camera`), and a camera's bad frame must not stop tracking.
pub(crate) fn guarded_decode(
    decode: impl FnOnce() -> image::ImageResult<image::DynamicImage>,
) -> Result<image::DynamicImage, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)) {
        Ok(Ok(img)) => Ok(img),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the decoder failed on it (malformed data)".into()),
    }
}

/// Decodes one camera frame to RGB.
pub fn decode(format: FrameFormat, width: u32, height: u32, data: &[u8]) -> Result<Frame, String> {
    // The size comes from the camera's driver: a frame larger than 16384×16384, or a YUV
    // frame of odd size (its colour samples cover 2×1 or 2×2 pixels), is not one we can read.
    const MAX_SIDE: u32 = 16_384;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!(
            "{format} frame {width}×{height}: the size must be 1 to {MAX_SIDE} pixels a side"
        ));
    }
    let odd = match format {
        FrameFormat::YUYV => width % 2 != 0,
        FrameFormat::NV12 => width % 2 != 0 || height % 2 != 0,
        _ => false,
    };
    if odd {
        return Err(format!(
            "{format} frame {width}×{height}: a YUV frame's width (and for NV12 its height) must be even"
        ));
    }
    let pixels = width as usize * height as usize;
    let need = |bytes: usize| {
        if data.len() < bytes {
            Err(format!(
                "{format} frame {width}×{height} is {} bytes, expected {bytes}",
                data.len()
            ))
        } else {
            Ok(())
        }
    };
    let rgb = match format {
        FrameFormat::MJPEG => {
            // A JPEG whose header claims a picture far larger than the camera's mode would take
            // seconds to decode (found by fuzzing): read its size first.
            use image::ImageDecoder;
            let (w, h) = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(data))
                .map_err(|e| format!("MJPEG frame does not decode: {e}"))?
                .dimensions();
            if w as u64 * h as u64 > 4 * pixels as u64 {
                return Err(format!(
                    "MJPEG frame says it is {w}×{h}, far larger than the camera's {width}×{height}"
                ));
            }
            let img = guarded_decode(|| {
                image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
            })
            .map_err(|e| format!("MJPEG frame does not decode: {e}"))?
            .to_rgb8();
            return Ok(Frame::from_image(&img));
        }
        FrameFormat::YUYV => {
            need(pixels * 2)?;
            let mut rgb = Vec::with_capacity(pixels * 3);
            for q in data[..pixels * 2].chunks_exact(4) {
                let (y0, u, y1, v) = (q[0], q[1], q[2], q[3]);
                rgb.extend(yuv_to_rgb(y0, u, v));
                rgb.extend(yuv_to_rgb(y1, u, v));
            }
            rgb
        }
        FrameFormat::NV12 => {
            need(pixels * 3 / 2)?;
            let (luma, chroma) = data.split_at(pixels);
            let mut rgb = Vec::with_capacity(pixels * 3);
            for y in 0..height as usize {
                for x in 0..width as usize {
                    let c = (y / 2) * width as usize + (x / 2) * 2;
                    rgb.extend(yuv_to_rgb(
                        luma[y * width as usize + x],
                        chroma[c],
                        chroma[c + 1],
                    ));
                }
            }
            rgb
        }
        FrameFormat::RAWRGB => {
            need(pixels * 3)?;
            data[..pixels * 3].to_vec()
        }
        FrameFormat::RAWBGR => {
            need(pixels * 3)?;
            data[..pixels * 3]
                .chunks_exact(3)
                .flat_map(|p| [p[2], p[1], p[0]])
                .collect()
        }
        FrameFormat::GRAY => {
            need(pixels)?;
            data[..pixels].iter().flat_map(|&g| [g, g, g]).collect()
        }
    };
    Ok(Frame { width, height, rgb })
}

/// BT.601 limited-range YUV to RGB, as webcams send it.
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (y as f32 - 16.0) * 1.164;
    let d = u as f32 - 128.0;
    let e = v as f32 - 128.0;
    let px = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [
        px(c + 1.596 * e),
        px(c - 0.392 * d - 0.813 * e),
        px(c + 2.017 * d),
    ]
}

/// The cameras the system offers, as (index, name), or why none can be listed.
pub(crate) fn cameras() -> Result<Vec<(CameraIndex, String)>, String> {
    let backend = nokhwa::native_api_backend().ok_or("no camera backend for this platform")?;
    let found = nokhwa::query(backend).map_err(|e| format!("cannot list cameras: {e}"))?;
    Ok(found
        .iter()
        .map(|c| (c.index().clone(), c.human_name()))
        .collect())
}

/// Finds the requested camera among `found`: by index, or the first whose name contains the
/// text (case-insensitive).
pub(crate) fn pick<'a>(
    found: &'a [(CameraIndex, String)],
    device: Option<&str>,
) -> Result<&'a (CameraIndex, String), String> {
    let names = || {
        if found.is_empty() {
            "no cameras are connected".to_string()
        } else {
            let list: Vec<String> = found.iter().map(|(i, n)| format!("{i}: {n}")).collect();
            format!("cameras: {}", list.join(", "))
        }
    };
    match device {
        None => found.first().ok_or_else(names),
        Some(d) => {
            if let Ok(index) = d.parse::<u32>() {
                if let Some(c) = found.iter().find(|(i, _)| i.as_index().ok() == Some(index)) {
                    return Ok(c);
                }
            }
            let lower = d.to_lowercase();
            found
                .iter()
                .find(|(_, n)| n.to_lowercase().contains(&lower))
                .ok_or_else(|| format!("no camera {d:?} ({})", names()))
        }
    }
}

/// An open webcam, streaming (what a [`FrameSource::Camera`](crate::source::FrameSource::Camera)
/// reads).
pub struct Webcam {
    camera: nokhwa::Camera,
    /// The camera's name as the system gives it.
    pub(crate) name: String,
    /// The mode it streams in: size, frame rate and pixel format.
    pub(crate) format: CameraFormat,
}

impl Webcam {
    /// Opens the requested camera in the mode closest to the request.
    pub(crate) fn open(request: &CameraRequest) -> Result<Self, String> {
        let found = cameras()?;
        let (index, name) = pick(&found, request.device.as_deref())?.clone();
        let what = |e: nokhwa::NokhwaError| format!("{name} ({index}): {e}");
        let mut camera = nokhwa::Camera::with_backend(
            index.clone(),
            RequestedFormat::with_formats(RequestedFormatType::None, &DECODED),
            nokhwa::native_api_backend().unwrap_or(ApiBackend::Auto),
        )
        .map_err(what)?;
        let modes = camera.compatible_camera_formats().map_err(what)?;
        let format = choose_format(&modes, request).ok_or_else(|| {
            format!("{name} ({index}): none of its modes is MJPEG, YUYV, NV12, RGB or grey")
        })?;
        camera
            .set_camera_requset(RequestedFormat::with_formats(
                RequestedFormatType::Exact(format),
                &DECODED,
            ))
            .map_err(what)?;
        camera.open_stream().map_err(what)?;
        let format = camera.camera_format();
        Ok(Self {
            camera,
            name,
            format,
        })
    }

    /// The next frame (blocks until the camera delivers one).
    pub(crate) fn next_frame(&mut self) -> Result<Frame, String> {
        let buffer = self
            .camera
            .frame()
            .map_err(|e| format!("{}: {e}", self.name))?;
        let r = buffer.resolution();
        decode(
            buffer.source_frame_format(),
            r.width(),
            r.height(),
            buffer.buffer(),
        )
        .map_err(|e| format!("{}: {e}", self.name))
    }
}

impl Drop for Webcam {
    fn drop(&mut self) {
        let _ = self.camera.stop_stream();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(w: u32, h: u32, format: FrameFormat, fps: u32) -> CameraFormat {
        CameraFormat::new_from(w, h, format, fps)
    }

    #[test]
    fn the_closest_mode_wins_and_mjpeg_breaks_ties() {
        let modes = [
            mode(1920, 1080, FrameFormat::MJPEG, 30),
            mode(640, 480, FrameFormat::YUYV, 30),
            mode(640, 480, FrameFormat::MJPEG, 30),
            mode(640, 480, FrameFormat::MJPEG, 15),
            mode(320, 240, FrameFormat::YUYV, 60),
        ];
        let want = CameraRequest::default();
        assert_eq!(
            choose_format(&modes, &want),
            Some(mode(640, 480, FrameFormat::MJPEG, 30))
        );
        // Too slow loses to fast enough at the same size.
        let want = CameraRequest::default().with_mode("640x480@25").unwrap();
        assert_eq!(choose_format(&modes, &want).unwrap().frame_rate(), 30);
        // Asked for 720p, which it does not have: 640×480 is nearer than 1080p.
        let want = CameraRequest::default().with_mode("1280x720").unwrap();
        assert_eq!(choose_format(&modes, &want).unwrap().height(), 480);
        let want = CameraRequest::default().with_mode("1600x1000").unwrap();
        assert_eq!(choose_format(&modes, &want).unwrap().height(), 1080);
        // Only undecodable modes: nothing.
        assert_eq!(
            choose_format(&[mode(640, 480, FrameFormat::RAWBGR, 30)], &want),
            None
        );
    }

    #[test]
    fn camera_modes_parse_and_bad_ones_say_what_is_expected() {
        let r = CameraRequest::default().with_mode("1280x720@60").unwrap();
        assert_eq!((r.width, r.height, r.fps), (1280, 720, 60));
        let e = CameraRequest::default().with_mode("720p").unwrap_err();
        assert!(e.contains("WIDTHxHEIGHT"), "{e}");
        assert!(CameraRequest::default().with_mode("0x0").is_err());
    }

    #[test]
    fn yuyv_and_mjpeg_frames_decode_to_the_same_picture() {
        // A 4×2 picture: white, black, mid grey, and a red pixel, in YUYV.
        let yuyv = [
            235, 128, 16, 128, // white, black
            126, 128, 126, 128, // grey, grey
            81, 90, 81, 240, // red, red
            16, 128, 235, 128, // black, white
        ];
        let f = decode(FrameFormat::YUYV, 4, 2, &yuyv).unwrap();
        assert_eq!(f.rgb.len(), 4 * 2 * 3);
        assert_eq!(&f.rgb[0..3], &[255, 255, 255]);
        assert_eq!(&f.rgb[3..6], &[0, 0, 0]);
        let red = &f.rgb[12..15];
        assert!(red[0] > 240 && red[1] < 15 && red[2] < 15, "{red:?}");
        // MJPEG: a JPEG of a known picture comes back close to it.
        let mut img = image::RgbImage::new(16, 16);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb([if x < 8 { 250 } else { 10 }, 120, 40]);
        }
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&img)
            .unwrap();
        let f = decode(FrameFormat::MJPEG, 16, 16, &jpeg).unwrap();
        assert_eq!((f.width, f.height), (16, 16));
        assert!(
            f.rgb[0] > 230 && f.rgb[15 * 3] < 40,
            "left bright, right dark"
        );
        // A short or corrupt frame is an error, not a panic.
        assert!(decode(FrameFormat::YUYV, 4, 2, &yuyv[..10]).is_err());
        assert!(decode(FrameFormat::MJPEG, 16, 16, &jpeg[..20]).is_err());
    }

    #[test]
    fn cameras_are_picked_by_index_or_name() {
        let found = vec![
            (CameraIndex::Index(0), "Integrated Camera".to_string()),
            (CameraIndex::Index(2), "Logitech C920".to_string()),
        ];
        assert_eq!(pick(&found, None).unwrap().1, "Integrated Camera");
        assert_eq!(pick(&found, Some("2")).unwrap().1, "Logitech C920");
        assert_eq!(pick(&found, Some("c920")).unwrap().1, "Logitech C920");
        let e = pick(&found, Some("Brio")).unwrap_err();
        assert!(e.contains("Brio") && e.contains("Logitech C920"), "{e}");
        assert!(pick(&[], None).unwrap_err().contains("no cameras"));
    }
}
