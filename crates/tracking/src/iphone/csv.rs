//! Live Link Face's recorded takes (`<take>_iPhone.csv`): a header
//! `Timecode,BlendShapeCount,EyeBlinkLeft,…,TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,
//! LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll`, then a row per captured
//! frame. The timecode is `HH:MM:SS:FF.fff` (frame and its fraction); rotations are radians.
//! Columns are found by name, so takes with fewer columns (or Ling Stage's own `face.csv`,
//! which adds visemes) read too; unknown columns are skipped.

use std::path::{Path, PathBuf};

use super::frame::{FaceFrame, arkit_index};

/// A face take: frames and the time of each, from the first.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceTake {
    /// Where it was read from.
    pub path: PathBuf,
    /// Seconds from the take's first frame, ascending.
    pub times: Vec<f64>,
    /// One face per time.
    pub frames: Vec<FaceFrame>,
    /// The timecode's frame rate the times were computed with.
    pub fps: f64,
}

/// Why a take cannot be read: the file, the line and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum FaceTakeError {
    /// The file cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line that is not what a Live Link Face CSV holds.
    #[error("{}:{line}: {what}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

/// The rates timecodes count frames at; a take's is the smallest above its largest frame number.
const RATES: [f64; 6] = [24.0, 25.0, 30.0, 48.0, 50.0, 60.0];

/// `HH:MM:SS:FF[.fff]` (or `;` before the frames) as (seconds, frames).
fn timecode(text: &str) -> Option<(f64, f64)> {
    let mut parts = text.trim().split([':', ';']);
    let mut field = || {
        parts
            .next()?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let (h, m, s, f) = (field()?, field()?, field()?, field()?);
    if parts.next().is_some() || m >= 60.0 || s >= 61.0 {
        return None;
    }
    Some((h * 3600.0 + m * 60.0 + s, f))
}

impl FaceTake {
    /// Reads a take file.
    pub fn load(path: &Path) -> Result<FaceTake, FaceTakeError> {
        let text = std::fs::read_to_string(path).map_err(|source| FaceTakeError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Reads a take from its text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<FaceTake, FaceTakeError> {
        let err = |line: usize, what: String| FaceTakeError::Format {
            path: path.to_owned(),
            line,
            what,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(err(1, "the file is empty (a Live Link Face CSV starts with a `Timecode,BlendShapeCount,…` header)".into()));
        };
        let columns: Vec<&str> = header
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(str::trim)
            .collect();
        if columns.first() != Some(&"Timecode") {
            return Err(err(
                1,
                format!(
                    "the header starts with {:?}, not `Timecode` (is this a Live Link Face CSV?)",
                    columns.first().unwrap_or(&"")
                ),
            ));
        }
        enum Column {
            Weight(usize),
            Head(usize),
            Eye(usize, usize),
            Skip,
        }
        let kinds: Vec<Column> = columns
            .iter()
            .map(|c| match *c {
                "HeadYaw" => Column::Head(0),
                "HeadPitch" => Column::Head(1),
                "HeadRoll" => Column::Head(2),
                "LeftEyeYaw" => Column::Eye(0, 0),
                "LeftEyePitch" => Column::Eye(0, 1),
                "RightEyeYaw" => Column::Eye(1, 0),
                "RightEyePitch" => Column::Eye(1, 1),
                name => arkit_index(name).map_or(Column::Skip, Column::Weight),
            })
            .collect();
        if !kinds
            .iter()
            .any(|k| matches!(k, Column::Weight(_) | Column::Head(_)))
        {
            return Err(err(
                1,
                "no ARKit blend shape or head column in the header".into(),
            ));
        }
        let mut stamps = Vec::new();
        let mut frames = Vec::new();
        for (i, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != columns.len() {
                return Err(err(
                    i + 1,
                    format!(
                        "{} values where the header names {} columns (cut off?)",
                        cells.len(),
                        columns.len()
                    ),
                ));
            }
            let stamp = timecode(cells[0]).ok_or_else(|| {
                err(
                    i + 1,
                    format!("{:?} is not a timecode (HH:MM:SS:FF.fff)", cells[0]),
                )
            })?;
            let mut frame = FaceFrame::default();
            for (k, (kind, cell)) in kinds.iter().zip(&cells).enumerate() {
                if matches!(kind, Column::Skip) {
                    continue;
                }
                let v: f32 = cell
                    .parse()
                    .ok()
                    // Rotations are radians: one that overflows in degrees is no angle.
                    .filter(|v: &f32| v.is_finite() && v.to_degrees().is_finite())
                    .ok_or_else(|| {
                        err(i + 1, format!("{}: {cell:?} is not a number", columns[k]))
                    })?;
                match *kind {
                    Column::Weight(w) => frame.set(w, v),
                    Column::Head(a) => frame.head.get_or_insert([0.0; 3])[a] = v.to_degrees(),
                    Column::Eye(e, a) => {
                        frame.eyes.get_or_insert([[0.0; 2]; 2])[e][a] = v.to_degrees()
                    }
                    Column::Skip => {}
                }
            }
            stamps.push(stamp);
            frames.push(frame);
        }
        if frames.is_empty() {
            return Err(err(2, "no frames after the header".into()));
        }
        // The timecode's rate is not in the file: when the take crosses a second, it is the
        // smallest common rate above the largest frame number seen; within one second it
        // cannot be told, and 30 (60 above frame 29) is taken.
        let largest = stamps.iter().map(|s| s.1.floor()).fold(0.0, f64::max);
        let crosses = stamps.windows(2).any(|w| w[1].0 != w[0].0);
        let fps = match RATES.iter().copied().find(|r| *r > largest) {
            Some(r) if crosses => r,
            Some(_) if largest < 30.0 => 30.0,
            Some(_) => 60.0,
            None => {
                return Err(err(
                    2,
                    format!(
                        "frame number {largest} in a timecode, more than any frame rate counts"
                    ),
                ));
            }
        };
        let first = stamps[0].0 + stamps[0].1 / fps;
        let mut times = Vec::with_capacity(stamps.len());
        for (i, (s, f)) in stamps.iter().enumerate() {
            let mut t = s + f / fps - first;
            // A take recorded across midnight.
            if t < 0.0 && stamps[0].0 >= 23.0 * 3600.0 && *s < 3600.0 {
                t += 24.0 * 3600.0;
            }
            if let Some(prev) = times.last().copied().filter(|p| t < *p) {
                return Err(err(
                    i + 2,
                    format!("the timecode goes back ({t:.3} s after {prev:.3} s)"),
                ));
            }
            times.push(t);
        }
        Ok(FaceTake {
            path: path.to_owned(),
            times,
            frames,
            fps,
        })
    }

    /// Seconds from the first frame to the last.
    pub fn duration(&self) -> f64 {
        self.times.last().copied().unwrap_or(0.0)
    }

    /// The face at `t` seconds into the take (the frame shown then), or `None` before its
    /// start or after its end.
    pub fn at(&self, t: f64) -> Option<&FaceFrame> {
        if t < 0.0 || t > self.duration() + 1.0 / self.fps {
            return None;
        }
        let i = self.times.partition_point(|x| *x <= t);
        self.frames.get(i.saturating_sub(1))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ling_core::signals::ARKIT_NAMES;

    /// A take with Live Link Face's header: the ARKit columns capitalised, then head and eyes.
    pub(crate) fn llf_take(rows: &[(&str, f32, f32)]) -> String {
        let mut header = vec!["Timecode".to_string(), "BlendShapeCount".to_string()];
        header.extend(
            ARKIT_NAMES
                .iter()
                .map(|n| n[..1].to_ascii_uppercase() + &n[1..]),
        );
        for c in [
            "HeadYaw",
            "HeadPitch",
            "HeadRoll",
            "LeftEyeYaw",
            "LeftEyePitch",
            "LeftEyeRoll",
            "RightEyeYaw",
            "RightEyePitch",
            "RightEyeRoll",
        ] {
            header.push(c.into());
        }
        let mut text = header.join(",") + "\n";
        for (tc, jaw, yaw) in rows {
            let mut cells = vec![tc.to_string(), "61".into()];
            for (i, _) in ARKIT_NAMES.iter().enumerate() {
                cells.push(if i == 17 { jaw.to_string() } else { "0".into() });
            }
            cells.push(yaw.to_string());
            cells.extend(std::iter::repeat_n("0".to_string(), 8));
            text += &(cells.join(",") + "\n");
        }
        text
    }

    #[test]
    fn reads_a_take_with_its_times_head_and_weights() {
        let text = llf_take(&[
            ("17:45:08:58.480", 0.1, 0.0),
            ("17:45:08:59.480", 0.2, 0.1),
            ("17:45:09:00.480", 0.3, 0.2),
            ("17:45:09:01.480", 0.4, 0.3),
        ]);
        let take = FaceTake::parse(&text, Path::new("t_iPhone.csv")).unwrap();
        assert_eq!(take.fps, 60.0);
        assert_eq!(take.frames.len(), 4);
        assert!(
            (take.times[1] - 1.0 / 60.0).abs() < 1e-9,
            "{:?}",
            take.times
        );
        assert!(
            (take.times[3] - 3.0 / 60.0).abs() < 1e-9,
            "across the second"
        );
        assert_eq!(take.frames[2].weights[17], Some(0.3));
        let yaw = take.frames[3].head.unwrap()[0];
        assert!((yaw - 0.3f32.to_degrees()).abs() < 1e-4);
        assert_eq!(take.at(0.02).unwrap().weights[17], Some(0.2));
        assert!(take.at(-0.1).is_none() && take.at(1.0).is_none());
    }

    #[test]
    fn bad_takes_name_the_file_and_line() {
        let path = Path::new("cut.csv");
        let message = |text: &str| FaceTake::parse(text, path).unwrap_err().to_string();
        assert!(message("").starts_with("cut.csv:1: the file is empty"));
        assert!(
            message("Frame,Value\n1,2\n").contains("cut.csv:1: the header starts with \"Frame\"")
        );
        let good = llf_take(&[("00:00:01:00.000", 0.5, 0.0), ("00:00:01:01.000", 0.5, 0.0)]);
        // The last row cut off.
        let cut = &good[..good.len() - 20];
        assert!(message(cut).starts_with("cut.csv:3:"), "{}", message(cut));
        let bad_time = good.replace("00:00:01:01.000", "yesterday");
        assert!(message(&bad_time).contains("cut.csv:3: \"yesterday\" is not a timecode"));
        let bad_value = good.replacen(",0.5,", ",zero,", 1);
        assert!(
            message(&bad_value).contains("cut.csv:2: JawOpen: \"zero\" is not a number"),
            "{}",
            message(&bad_value)
        );
        let back = llf_take(&[("00:00:02:00.000", 0.5, 0.0), ("00:00:01:00.000", 0.5, 0.0)]);
        assert!(message(&back).contains("goes back"));
        assert!(message("Timecode,BlendShapeCount\n").contains("no ARKit"));
        // Every prefix of a good take reads or is refused, never a panic.
        for n in 0..good.len() {
            if good.is_char_boundary(n) {
                let _ = FaceTake::parse(&good[..n], path);
            }
        }
    }
}
