//! Output presets: picture size, frame rate and bitrate for the places a show goes.

use std::fmt;

/// A named output format. The camera shots reframe for its aspect (see `ling_set`), so a
/// vertical preset keeps the performer whole rather than cropping a landscape picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// 16:9 1920×1080 at 30 fps: YouTube, Twitch, Bilibili live, a landscape video.
    Landscape,
    /// 9:16 1080×1920 at 30 fps: Douyin / TikTok.
    Douyin,
    /// 9:16 1080×1920 at 30 fps: YouTube Shorts, Instagram Reels.
    Shorts,
    /// 1:1 1080×1080 at 30 fps: square posts.
    Square,
}

impl Preset {
    /// Every preset, in the order `--help` lists them.
    pub const ALL: [Preset; 4] = [Self::Landscape, Self::Douyin, Self::Shorts, Self::Square];

    /// Parses a preset by name (`landscape`, `douyin`/`tiktok`, `shorts`/`reels`, `square`).
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "landscape" | "16:9" => Ok(Self::Landscape),
            "douyin" | "tiktok" | "9:16" => Ok(Self::Douyin),
            "shorts" | "reels" => Ok(Self::Shorts),
            "square" | "1:1" => Ok(Self::Square),
            _ => Err(format!(
                "unknown preset \"{name}\": expected landscape, douyin, shorts or square"
            )),
        }
    }

    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Landscape => "landscape",
            Self::Douyin => "douyin",
            Self::Shorts => "shorts",
            Self::Square => "square",
        }
    }

    /// Picture size in pixels (width, height).
    pub fn size(self) -> (u32, u32) {
        match self {
            Self::Landscape => (1920, 1080),
            Self::Douyin | Self::Shorts => (1080, 1920),
            Self::Square => (1080, 1080),
        }
    }

    /// Frames per second.
    pub fn fps(self) -> u32 {
        30
    }

    /// Video bitrate in kbit/s (the platforms' recommendations for the size at 30 fps).
    pub fn video_kbps(self) -> u32 {
        match self {
            Self::Landscape => 6000,
            Self::Douyin | Self::Shorts => 6000,
            Self::Square => 4500,
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, h) = self.size();
        write!(f, "{} ({w}×{h} at {} fps)", self.name(), self.fps())
    }
}

/// The video bitrate (kbit/s) a picture of `width`×`height` at `fps` gets when no preset or
/// option says otherwise: about 0.1 bit per pixel per frame, within what platforms accept.
pub fn default_video_kbps(width: u32, height: u32, fps: u32) -> u32 {
    let bits = width as f64 * height as f64 * fps as f64 * 0.1;
    ((bits / 1000.0).round() as u32).clamp(1000, 12000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_have_their_aspect() {
        assert_eq!(Preset::parse("Douyin").unwrap(), Preset::Douyin);
        assert_eq!(Preset::parse("tiktok").unwrap().size(), (1080, 1920));
        assert_eq!(Preset::parse("square").unwrap().size(), (1080, 1080));
        assert!(Preset::parse("cinema").unwrap_err().contains("cinema"));
        assert_eq!(default_video_kbps(1280, 720, 30), 2765);
    }
}
