//! Chinese type: finding the Noto CJK fonts installed on the machine (Debian's
//! `fonts-noto-cjk`, installed by `scripts/setup.sh`) and rasterising text with them.
//!
//! The console draws its Chinese with the Simplified Chinese face of Noto Sans CJK; the door
//! plaques (出将 / 入相) are cut from Noto Serif CJK SC Bold. Noto CJK ships as font
//! collections (`.ttc`) holding one face per region (JP, KR, SC, TC, HK, and their Mono
//! twins); [`find`] reads the collection's names and picks the SC face, so the characters take
//! their mainland forms.
//!
//! The search: `$LING_CJK_FONT` when set (a font file, or `none` to behave as if no CJK font
//! were installed), then the usual font directories, then `fc-match`. Nothing found is not an
//! error: the callers fall back (the console stays in English, the plaques keep their seals).

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// Which of the Noto CJK faces to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CjkFace {
    /// Noto Sans CJK SC Regular: screen text (the console).
    Sans,
    /// Noto Serif CJK SC Bold: carved and gilded lettering (the plaques); falls back to the
    /// sans faces when the serif is not installed.
    SerifBold,
}

impl CjkFace {
    /// The family names to accept, best first.
    fn families(self) -> &'static [&'static str] {
        match self {
            CjkFace::Sans => &["Noto Sans CJK SC", "Noto Sans SC"],
            CjkFace::SerifBold => &[
                "Noto Serif CJK SC",
                "Noto Serif SC",
                "Noto Sans CJK SC",
                "Noto Sans SC",
            ],
        }
    }

    /// Font files that hold the faces, best first (Debian, Fedora and Arch names, collections
    /// and single-face files).
    fn files(self) -> &'static [&'static str] {
        const SANS: [&str; 6] = [
            "NotoSansCJK-Regular.ttc",
            "NotoSansCJKsc-Regular.otf",
            "NotoSansSC-Regular.otf",
            "NotoSansCJK-Medium.ttc",
            "NotoSansCJK-Bold.ttc",
            "NotoSansCJKsc-Bold.otf",
        ];
        match self {
            CjkFace::Sans => &SANS,
            CjkFace::SerifBold => &[
                "NotoSerifCJK-Bold.ttc",
                "NotoSerifCJKsc-Bold.otf",
                "NotoSerifSC-Bold.otf",
                "NotoSerifCJK-Regular.ttc",
                "NotoSerifCJKsc-Regular.otf",
                "NotoSansCJK-Bold.ttc",
                "NotoSansCJKsc-Bold.otf",
                "NotoSansCJK-Regular.ttc",
                "NotoSansCJKsc-Regular.otf",
                "NotoSansSC-Regular.otf",
            ],
        }
    }
}

/// A CJK font found on the machine: the file, the face in it, and its bytes.
#[derive(Clone)]
pub struct CjkFont {
    /// The font file.
    pub path: PathBuf,
    /// The face's index in the file (a collection holds several).
    pub index: u32,
    /// The face's family name, as the font names it (`Noto Sans CJK SC`).
    pub family: String,
    /// The whole file.
    pub data: Vec<u8>,
}

impl CjkFont {
    /// The characters of `text` this face has no glyph for (none: it draws all of `text`).
    pub fn missing(&self, text: &str) -> String {
        let Ok(face) = ttf_parser::Face::parse(&self.data, self.index) else {
            return text.to_string();
        };
        text.chars()
            .filter(|&c| !c.is_whitespace() && face.glyph_index(c).is_none())
            .collect()
    }
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont")
            .field("path", &self.path)
            .field("index", &self.index)
            .field("family", &self.family)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// The Debian package that provides the fonts, for messages.
pub const PACKAGE: &str = "fonts-noto-cjk";

/// Characters a face must draw to be used (the plaques' and a few of the console's).
const PROBE: &str = "出将入相灯光机位直播中";

/// Finds the `face` font, or `None` when no Noto CJK font is installed (or `$LING_CJK_FONT` is
/// `none`).
pub fn find(face: CjkFace) -> Option<CjkFont> {
    if let Some(value) = std::env::var_os("LING_CJK_FONT") {
        if value.is_empty() || value == "none" {
            return None;
        }
        return load(Path::new(&value), face);
    }
    for name in face.files() {
        for dir in font_dirs() {
            if let Some(path) = find_file(&dir, name, 4)
                && let Some(font) = load(&path, face)
            {
                return Some(font);
            }
        }
    }
    for family in face.families() {
        if let Some(path) = fc_match(family)
            && let Some(font) = load(&path, face)
        {
            return Some(font);
        }
    }
    None
}

/// Reads `path` and picks its face for `face`: the first of the wanted families the file
/// holds, else any face that draws the probe characters and is not monospaced.
pub fn load(path: &Path, face: CjkFace) -> Option<CjkFont> {
    let data = std::fs::read(path).ok()?;
    let count = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
    let mut faces = Vec::new();
    for index in 0..count {
        let Ok(parsed) = ttf_parser::Face::parse(&data, index) else {
            continue;
        };
        if !PROBE.chars().all(|c| parsed.glyph_index(c).is_some()) {
            continue;
        }
        faces.push((index, family_name(&parsed).unwrap_or_default()));
    }
    let (index, family) = face
        .families()
        .iter()
        .find_map(|wanted| faces.iter().find(|(_, family)| family == wanted))
        .or_else(|| faces.iter().find(|(_, family)| !family.contains("Mono")))?
        .clone();
    Some(CjkFont {
        path: path.to_path_buf(),
        index,
        family,
        data,
    })
}

/// The face's family name in English (the typographic family when it has one).
fn family_name(face: &ttf_parser::Face) -> Option<String> {
    let names = face.names();
    let english = |id: u16| {
        names
            .into_iter()
            .filter(|n| n.name_id == id && n.is_unicode())
            .find(|n| n.language() == ttf_parser::Language::English_UnitedStates)
            .or_else(|| {
                names
                    .into_iter()
                    .find(|n| n.name_id == id && n.is_unicode())
            })
            .and_then(|n| n.to_string())
    };
    english(ttf_parser::name_id::TYPOGRAPHIC_FAMILY)
        .or_else(|| english(ttf_parser::name_id::FAMILY))
}

/// Where fonts are installed.
fn font_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(data) = std::env::var_os("XDG_DATA_HOME") {
        dirs.push(PathBuf::from(data).join("fonts"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        dirs.push(home.join(".local/share/fonts"));
        dirs.push(home.join(".fonts"));
    }
    dirs.push("/usr/share/fonts/opentype/noto".into());
    dirs.push("/usr/share/fonts".into());
    dirs.push("/usr/local/share/fonts".into());
    dirs
}

/// `name` in `dir` or its subdirectories, down to `depth` levels.
fn find_file(dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
    let direct = dir.join(name);
    if direct.is_file() {
        return Some(direct);
    }
    if depth == 0 {
        return None;
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    subdirs
        .iter()
        .find_map(|sub| find_file(sub, name, depth - 1))
}

/// Asks fontconfig for `family`; only a file whose name says CJK or SC counts (fc-match
/// answers with its best substitute, DejaVu, when the family is missing).
fn fc_match(family: &str) -> Option<PathBuf> {
    let out = std::process::Command::new("fc-match")
        .args(["-f", "%{file}", family])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    (out.status.success() && (name.contains("cjk") || name.contains("sc-"))).then_some(path)
}

/// Text rasterised to coverage: `width × height` values from 0 (paper) to 1 (ink), row by row.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// One value per pixel, 0..=1.
    pub values: Vec<f32>,
}

impl Coverage {
    /// The coverage at `(x, y)`, 0 outside.
    pub fn at(&self, x: isize, y: isize) -> f32 {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return 0.0;
        }
        self.values[y as usize * self.width + x as usize]
    }
}

/// Rasterises one line of `text` with `font` at `px` pixels per em, characters `spacing`
/// pixels apart (beyond their advances). The box is the line's advance wide and ascent to
/// descent tall.
pub fn rasterise(font: &CjkFont, text: &str, px: f32, spacing: f32) -> Option<Coverage> {
    let face = FontRef::try_from_slice_and_index(&font.data, font.index).ok()?;
    let scaled = face.as_scaled(PxScale::from(px));
    let chars: Vec<char> = text.chars().collect();
    let advance: f32 = chars
        .iter()
        .map(|&c| scaled.h_advance(face.glyph_id(c)))
        .sum::<f32>()
        + spacing * chars.len().saturating_sub(1) as f32;
    let (width, height) = (
        advance.ceil().max(1.0) as usize,
        (scaled.ascent() - scaled.descent()).ceil().max(1.0) as usize,
    );
    let mut values = vec![0.0f32; width * height];
    let mut x = 0.0;
    for c in chars {
        let id = face.glyph_id(c);
        let glyph = id.with_scale_and_position(px, ab_glyph::point(x, scaled.ascent()));
        x += scaled.h_advance(id) + spacing;
        let Some(outlined) = face.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, v| {
            let (px_, py_) = (
                bounds.min.x as isize + gx as isize,
                bounds.min.y as isize + gy as isize,
            );
            if px_ >= 0 && py_ >= 0 && (px_ as usize) < width && (py_ as usize) < height {
                let i = py_ as usize * width + px_ as usize;
                values[i] = (values[i] + v).min(1.0);
            }
        });
    }
    Some(Coverage {
        width,
        height,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simplified_chinese_face_is_picked_from_the_collection() {
        let Some(font) = find(CjkFace::Sans) else {
            return ling_testkit::skip(&format!("no Noto CJK font ({PACKAGE})"));
        };
        assert_eq!(font.family, "Noto Sans CJK SC", "{font:?}");
        assert_eq!(font.missing("出将入相·×…，（）：；"), "");
        assert_eq!(font.missing("出\u{E000}"), "\u{E000}");
        let text = rasterise(&font, "出将", 64.0, 0.0).unwrap();
        let ink: f32 = text.values.iter().sum();
        assert!(ink > 64.0 * 64.0 * 0.1, "{ink}");
    }
}
