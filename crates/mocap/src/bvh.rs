//! BVH (Biovision Hierarchy) motion files: parsing and writing.
//!
//! The parser is a plain function over text — no ECS — so it can be fuzzed and benchmarked on
//! its own. It accepts what real exporters write: any joint count and hierarchy, 3 or 6 (or any)
//! channels per joint in any rotation order, tabs, spaces and CRLF, `End Site` blocks, and frame
//! times with or without a leading zero. Every error names the line and what was expected; a
//! truncated or corrupt file is an error, never a panic.
//!
//! Rotations follow the BVH convention: the channels listed `Zrotation Xrotation Yrotation` mean
//! the joint's local rotation is `Rz · Rx · Ry` (angles in degrees).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bevy::math::{EulerRot, Quat, Vec3};

/// One animated degree of freedom of a joint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Position along X.
    Xposition,
    /// Position along Y.
    Yposition,
    /// Position along Z.
    Zposition,
    /// Rotation about X, in degrees.
    Xrotation,
    /// Rotation about Y, in degrees.
    Yrotation,
    /// Rotation about Z, in degrees.
    Zrotation,
}

impl Channel {
    fn parse(token: &str) -> Option<Channel> {
        Some(match token.to_ascii_lowercase().as_str() {
            "xposition" => Channel::Xposition,
            "yposition" => Channel::Yposition,
            "zposition" => Channel::Zposition,
            "xrotation" => Channel::Xrotation,
            "yrotation" => Channel::Yrotation,
            "zrotation" => Channel::Zrotation,
            _ => return None,
        })
    }

    /// The channel's name as BVH writes it (`Xposition`, `Zrotation`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Channel::Xposition => "Xposition",
            Channel::Yposition => "Yposition",
            Channel::Zposition => "Zposition",
            Channel::Xrotation => "Xrotation",
            Channel::Yrotation => "Yrotation",
            Channel::Zrotation => "Zrotation",
        }
    }
}

/// One joint of the hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct Joint {
    /// The name the file gives it.
    pub name: String,
    /// Index of the parent joint in [`Bvh::joints`]; `None` for the root.
    pub parent: Option<usize>,
    /// Offset from the parent joint in the rest pose.
    pub offset: Vec3,
    /// Its animated channels, in the order the motion lists them.
    pub channels: Vec<Channel>,
    /// Index of this joint's first channel in a frame's values.
    pub first_channel: usize,
    /// The `End Site` offset, for joints that end a chain.
    pub end_site: Option<Vec3>,
}

/// A parsed BVH file: the hierarchy and the motion, frame-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Bvh {
    /// The joints, parents before children.
    pub joints: Vec<Joint>,
    /// Seconds per frame.
    pub frame_time: f64,
    /// Number of frames of motion.
    pub frame_count: usize,
    /// `frame_count × channel_count` values.
    pub values: Vec<f32>,
}

/// A parse error: the 1-based line and what was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// The 1-based line.
    pub line: usize,
    /// What was expected, and what was found.
    pub message: String,
}

/// A BVH error naming the file.
#[derive(Debug, thiserror::Error)]
pub enum BvhError {
    /// The file could not be read.
    #[error("cannot read BVH file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file is not valid BVH.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

struct Tokens<'a> {
    /// (line, token)
    items: Vec<(usize, &'a str)>,
    at: usize,
    last_line: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        let mut items = Vec::new();
        let mut last_line = 1;
        for (i, line) in text.lines().enumerate() {
            last_line = i + 1;
            for token in line.split_whitespace() {
                items.push((i + 1, token));
            }
        }
        Self {
            items,
            at: 0,
            last_line,
        }
    }

    fn line(&self) -> usize {
        self.items
            .get(self.at)
            .map(|(l, _)| *l)
            .unwrap_or(self.last_line)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line(),
            message: message.into(),
        })
    }

    fn next(&mut self, what: &str) -> Result<&'a str, ParseError> {
        match self.items.get(self.at) {
            Some((_, t)) => {
                self.at += 1;
                Ok(t)
            }
            None => self.err(format!("file ends where {what} was expected")),
        }
    }

    fn peek(&self) -> Option<&'a str> {
        self.items.get(self.at).map(|(_, t)| *t)
    }

    fn expect(&mut self, word: &str) -> Result<(), ParseError> {
        let line = self.line();
        let got = self.next(&format!("`{word}`"))?;
        if got.eq_ignore_ascii_case(word) {
            Ok(())
        } else {
            Err(ParseError {
                line,
                message: format!("expected `{word}`, found `{got}`"),
            })
        }
    }

    fn number(&mut self, what: &str) -> Result<f32, ParseError> {
        let line = self.line();
        let token = self.next(what)?;
        match token.parse::<f32>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(ParseError {
                line,
                message: format!("expected {what} (a number), found `{token}`"),
            }),
        }
    }

    fn vec3(&mut self, what: &str) -> Result<Vec3, ParseError> {
        Ok(Vec3::new(
            self.number(what)?,
            self.number(what)?,
            self.number(what)?,
        ))
    }
}

/// Largest channel count per joint and joint count accepted, so a corrupt header cannot make
/// the parser allocate without bound.
const MAX_CHANNELS_PER_JOINT: usize = 12;
const MAX_JOINTS: usize = 4096;
const MAX_VALUES: usize = 200_000_000;

/// Parses BVH text.
pub fn parse(text: &str) -> Result<Bvh, ParseError> {
    parse_with(text, false)
}

/// Parses BVH text that may end with a partly written frame after the declared ones (a take
/// recorded up to a crash): what follows the declared frames is ignored.
pub(crate) fn parse_recovering(text: &str) -> Result<Bvh, ParseError> {
    parse_with(text, true)
}

fn parse_with(text: &str, ignore_trailing: bool) -> Result<Bvh, ParseError> {
    let mut t = Tokens::new(text);
    t.expect("HIERARCHY")?;
    let mut joints: Vec<Joint> = Vec::new();
    let mut channel_count = 0usize;
    // Stack of open joints; `None` marks an open End Site block.
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut seen_root = false;
    loop {
        let line = t.line();
        let Some(word) = t.peek() else {
            return t.err("file ends inside the HIERARCHY section (missing `MOTION`)");
        };
        match word.to_ascii_uppercase().as_str() {
            "ROOT" | "JOINT" => {
                t.next("ROOT/JOINT")?;
                let is_root = word.eq_ignore_ascii_case("ROOT");
                if is_root && !stack.is_empty() {
                    return t.err("`ROOT` inside another joint");
                }
                if !is_root && stack.is_empty() {
                    return t.err("`JOINT` outside the root joint");
                }
                if is_root && seen_root {
                    return t.err("more than one `ROOT` (only one skeleton per file is supported)");
                }
                seen_root |= is_root;
                let name = t.next("a joint name")?.to_string();
                if joints.len() >= MAX_JOINTS {
                    return t.err(format!("more than {MAX_JOINTS} joints"));
                }
                let parent = match stack.last() {
                    Some(Some(p)) => Some(*p),
                    Some(None) => return t.err("a joint inside an `End Site` block"),
                    None => None,
                };
                t.expect("{")?;
                t.expect("OFFSET")?;
                let offset = t.vec3("an OFFSET value")?;
                t.expect("CHANNELS")?;
                let n_line = t.line();
                let n = t.number("the channel count")?;
                if n < 0.0 || n.fract() != 0.0 || n as usize > MAX_CHANNELS_PER_JOINT {
                    return Err(ParseError {
                        line: n_line,
                        message: format!(
                            "channel count {n} is not a whole number from 0 to {MAX_CHANNELS_PER_JOINT}"
                        ),
                    });
                }
                let mut channels = Vec::with_capacity(n as usize);
                for _ in 0..n as usize {
                    let c_line = t.line();
                    let token = t.next("a channel name")?;
                    let channel = Channel::parse(token).ok_or_else(|| ParseError {
                        line: c_line,
                        message: format!(
                            "unknown channel `{token}` (expected X/Y/Z position or rotation)"
                        ),
                    })?;
                    channels.push(channel);
                }
                joints.push(Joint {
                    name,
                    parent,
                    offset,
                    first_channel: channel_count,
                    channels,
                    end_site: None,
                });
                channel_count += n as usize;
                stack.push(Some(joints.len() - 1));
            }
            "END" => {
                t.next("End")?;
                t.expect("Site")?;
                let Some(Some(owner)) = stack.last().copied() else {
                    return t.err("`End Site` outside a joint");
                };
                t.expect("{")?;
                t.expect("OFFSET")?;
                let offset = t.vec3("an End Site OFFSET value")?;
                joints[owner].end_site = Some(offset);
                stack.push(None);
            }
            "}" => {
                t.next("}")?;
                if stack.pop().is_none() {
                    return Err(ParseError {
                        line,
                        message: "unmatched `}`".into(),
                    });
                }
            }
            "MOTION" => {
                if !stack.is_empty() {
                    return t.err(format!(
                        "`MOTION` before {} joint block(s) were closed",
                        stack.len()
                    ));
                }
                t.next("MOTION")?;
                break;
            }
            other => {
                return t.err(format!(
                    "expected `JOINT`, `End Site`, `}}` or `MOTION`, found `{other}`"
                ));
            }
        }
    }
    if joints.is_empty() {
        return t.err("no joints in the HIERARCHY section");
    }
    t.expect("Frames:")?;
    let f_line = t.line();
    let frames = t.number("the frame count")?;
    if frames < 0.0 || frames.fract() != 0.0 {
        return Err(ParseError {
            line: f_line,
            message: format!("frame count {frames} is not a whole number"),
        });
    }
    let frame_count = frames as usize;
    // "Frame Time:" is two tokens.
    t.expect("Frame")?;
    t.expect("Time:")?;
    let ft_line = t.line();
    let frame_time = t.number("the frame time")? as f64;
    if frame_time <= 0.0 {
        return Err(ParseError {
            line: ft_line,
            message: format!("frame time {frame_time} must be positive"),
        });
    }
    let total = frame_count
        .checked_mul(channel_count)
        .filter(|n| *n <= MAX_VALUES)
        .ok_or_else(|| ParseError {
            line: f_line,
            message: format!("{frame_count} frames × {channel_count} channels is too large"),
        })?;
    let mut values = Vec::with_capacity(total);
    for frame in 0..frame_count {
        for _ in 0..channel_count {
            if t.peek().is_none() {
                return t.err(format!(
                    "file ends in frame {} of {frame_count} (truncated: {} values of {total})",
                    frame + 1,
                    values.len()
                ));
            }
            values.push(t.number("a motion value")?);
        }
    }
    if let Some(extra) = t.peek().filter(|_| !ignore_trailing) {
        return t.err(format!(
            "unexpected `{extra}` after the last of {frame_count} frames"
        ));
    }
    Ok(Bvh {
        joints,
        frame_time,
        frame_count,
        values,
    })
}

/// Reads and parses a BVH file; errors name the file and line.
pub fn load(path: &Path) -> Result<Bvh, BvhError> {
    let bytes = std::fs::read(path).map_err(|source| BvhError::Io {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    parse(&text).map_err(|e| BvhError::Parse {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    })
}

impl Bvh {
    /// Channels per frame, over all joints.
    pub fn channel_count(&self) -> usize {
        self.joints.iter().map(|j| j.channels.len()).sum()
    }

    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.frame_count as f64 * self.frame_time
    }

    /// Frames per second.
    pub fn fps(&self) -> f64 {
        1.0 / self.frame_time
    }

    /// The values of `frame`, one per channel, in stored joint order.
    pub(crate) fn frame(&self, frame: usize) -> &[f32] {
        let n = self.channel_count();
        &self.values[frame * n..(frame + 1) * n]
    }

    /// Index of the joint called `name`, if any.
    pub(crate) fn joint_index(&self, name: &str) -> Option<usize> {
        self.joints.iter().position(|j| j.name == name)
    }

    /// Local translation and rotation of `joint` at `frame`: the rest offset plus any position
    /// channels, and the rotation channels composed in the order listed.
    pub(crate) fn local(&self, frame: usize, joint: usize) -> (Vec3, Quat) {
        let j = &self.joints[joint];
        let values = &self.frame(frame)[j.first_channel..j.first_channel + j.channels.len()];
        let mut translation = j.offset;
        let mut position_channels = false;
        let mut rotation = Quat::IDENTITY;
        for (channel, &v) in j.channels.iter().zip(values) {
            match channel {
                Channel::Xposition | Channel::Yposition | Channel::Zposition => {
                    if !position_channels {
                        // Position channels give the joint's position, replacing the offset.
                        translation = Vec3::ZERO;
                        position_channels = true;
                    }
                    match channel {
                        Channel::Xposition => translation.x = v,
                        Channel::Yposition => translation.y = v,
                        _ => translation.z = v,
                    }
                }
                Channel::Xrotation => rotation *= Quat::from_rotation_x(v.to_radians()),
                Channel::Yrotation => rotation *= Quat::from_rotation_y(v.to_radians()),
                Channel::Zrotation => rotation *= Quat::from_rotation_z(v.to_radians()),
            }
        }
        (translation, rotation)
    }

    /// Global (model-space) translation and rotation of every joint at `frame`.
    pub(crate) fn globals(&self, frame: usize) -> Vec<(Vec3, Quat)> {
        let mut out: Vec<(Vec3, Quat)> = Vec::with_capacity(self.joints.len());
        for (i, j) in self.joints.iter().enumerate() {
            let (t, r) = self.local(frame, i);
            out.push(match j.parent {
                Some(p) => {
                    let (pt, pr) = out[p];
                    (pt + pr * t, pr * r)
                }
                None => (t, r),
            });
        }
        out
    }

    /// Global rest positions (all rotations zero, offsets only).
    pub(crate) fn rest_positions(&self) -> Vec<Vec3> {
        let mut out: Vec<Vec3> = Vec::with_capacity(self.joints.len());
        for j in &self.joints {
            out.push(match j.parent {
                Some(p) => out[p] + j.offset,
                None => j.offset,
            });
        }
        out
    }

    /// Joint indices in depth-first order (children in index order), as BVH nests them.
    pub(crate) fn depth_first(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.joints.len());
        let mut stack: Vec<usize> = self
            .joints
            .iter()
            .enumerate()
            .filter(|(_, j)| j.parent.is_none())
            .map(|(i, _)| i)
            .rev()
            .collect();
        while let Some(i) = stack.pop() {
            order.push(i);
            let children = self
                .joints
                .iter()
                .enumerate()
                .filter(|(_, j)| j.parent == Some(i));
            stack.extend(
                children
                    .map(|(c, _)| c)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev(),
            );
        }
        order
    }

    /// Writes BVH text (tabs, LF, 6 decimals) that Blender and other tools import. Joints are
    /// written depth-first, whatever order they are stored in, with the motion columns to match.
    pub fn write(&self) -> String {
        let order = self.depth_first();
        let mut s = String::from("HIERARCHY\n");
        let mut depth_of = vec![0usize; self.joints.len()];
        let mut open: Vec<usize> = Vec::new();
        for &i in &order {
            let j = &self.joints[i];
            while let Some(&top) = open.last() {
                if Some(top) == j.parent {
                    break;
                }
                open.pop();
                close_joint(&mut s, &self.joints[top], depth_of[top]);
            }
            let depth = open.len();
            depth_of[i] = depth;
            let indent = "\t".repeat(depth);
            let kind = if j.parent.is_none() { "ROOT" } else { "JOINT" };
            let _ = writeln!(s, "{indent}{kind} {}", j.name);
            let _ = writeln!(s, "{indent}{{");
            let _ = writeln!(
                s,
                "{indent}\tOFFSET {:.6} {:.6} {:.6}",
                j.offset.x, j.offset.y, j.offset.z
            );
            let names: Vec<&str> = j.channels.iter().map(|c| c.name()).collect();
            let _ = writeln!(s, "{indent}\tCHANNELS {} {}", names.len(), names.join(" "));
            open.push(i);
        }
        while let Some(top) = open.pop() {
            close_joint(&mut s, &self.joints[top], depth_of[top]);
        }
        let _ = writeln!(
            s,
            "MOTION\nFrames: {}\nFrame Time: {:.7}",
            self.frame_count, self.frame_time
        );
        let n = self.channel_count();
        for f in 0..self.frame_count {
            self.write_row(&order, &self.values[f * n..(f + 1) * n], &mut s);
        }
        s
    }

    /// Appends one motion line for `row` (values in stored order) to `out`, with the columns
    /// in `order` (from [`Bvh::depth_first`]), as [`Bvh::write`] lays them out.
    pub(crate) fn write_row(&self, order: &[usize], row: &[f32], out: &mut String) {
        let mut first = true;
        for &i in order {
            let j = &self.joints[i];
            for v in &row[j.first_channel..j.first_channel + j.channels.len()] {
                if !first {
                    out.push(' ');
                }
                first = false;
                let _ = write!(out, "{v:.6}");
            }
        }
        out.push('\n');
    }
}

fn close_joint(s: &mut String, joint: &Joint, depth: usize) {
    let indent = "\t".repeat(depth);
    if let Some(end) = joint.end_site {
        let _ = writeln!(s, "{indent}\tEnd Site\n{indent}\t{{");
        let _ = writeln!(
            s,
            "{indent}\t\tOFFSET {:.6} {:.6} {:.6}",
            end.x, end.y, end.z
        );
        let _ = writeln!(s, "{indent}\t}}");
    }
    let _ = writeln!(s, "{indent}}}");
}

/// Euler angles (degrees) for `rotation` in the given rotation-channel order, such that
/// composing the channels as listed gives `rotation` back.
pub(crate) fn euler_for_channels(rotation: Quat, order: [Channel; 3]) -> Option<[f32; 3]> {
    use Channel::*;
    // glam's intrinsic orders: EulerRot::ZXY is Rz · Rx · Ry, as BVH lists it.
    let rot = match order {
        [Xrotation, Yrotation, Zrotation] => EulerRot::XYZ,
        [Xrotation, Zrotation, Yrotation] => EulerRot::XZY,
        [Yrotation, Xrotation, Zrotation] => EulerRot::YXZ,
        [Yrotation, Zrotation, Xrotation] => EulerRot::YZX,
        [Zrotation, Xrotation, Yrotation] => EulerRot::ZXY,
        [Zrotation, Yrotation, Xrotation] => EulerRot::ZYX,
        _ => return None,
    };
    let (a, b, c) = rotation.to_euler(rot);
    Some([a.to_degrees(), b.to_degrees(), c.to_degrees()])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "HIERARCHY\r\nROOT Hips\r\n{\r\n\tOFFSET 0 0 0\r\n\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\r\n\tJOINT Spine\r\n\t{\r\n\t\tOFFSET 0 10 0\r\n\t\tCHANNELS 3 Zrotation Xrotation Yrotation\r\n\t\tEnd Site\r\n\t\t{\r\n\t\t\tOFFSET 0 5 0\r\n\t\t}\r\n\t}\r\n}\r\nMOTION\r\nFrames: 2\r\nFrame Time: .0083333\r\n1 2 3 0 0 0 0 0 0\r\n1 2 3 90 0 0 0 45 0\r\n";

    #[test]
    fn parses_crlf_tabs_end_sites_and_leading_dot_frame_time() {
        let bvh = parse(SMALL).unwrap();
        assert_eq!(bvh.joints.len(), 2);
        assert_eq!(bvh.joints[1].parent, Some(0));
        assert_eq!(bvh.joints[1].end_site, Some(Vec3::new(0.0, 5.0, 0.0)));
        assert_eq!(bvh.frame_count, 2);
        assert!((bvh.fps() - 120.0).abs() < 0.01);
        let g = bvh.globals(1);
        // Hips rotated 90° about Z: the spine's +Y offset now points along -X.
        assert!(
            (g[1].0 - Vec3::new(1.0 - 10.0, 2.0, 3.0)).length() < 1e-4,
            "{:?}",
            g[1].0
        );
    }

    #[test]
    fn rotation_channels_compose_in_listed_order() {
        let text = SMALL.replace("1 2 3 90 0 0 0 45 0", "0 0 0 30 40 50 0 0 0");
        let bvh = parse(&text).unwrap();
        let (_, r) = bvh.local(1, 0);
        let expected = Quat::from_rotation_z(30f32.to_radians())
            * Quat::from_rotation_x(40f32.to_radians())
            * Quat::from_rotation_y(50f32.to_radians());
        assert!(r.dot(expected).abs() > 1.0 - 1e-6, "{r:?} vs {expected:?}");
        let e = euler_for_channels(
            r,
            [Channel::Zrotation, Channel::Xrotation, Channel::Yrotation],
        )
        .unwrap();
        assert!(
            (e[0] - 30.0).abs() < 1e-3 && (e[1] - 40.0).abs() < 1e-3 && (e[2] - 50.0).abs() < 1e-3,
            "{e:?}"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                SMALL.replace(
                    "Zrotation Xrotation Yrotation\r\n\t\tEnd",
                    "Zrotation Xrotation Wiggle\r\n\t\tEnd",
                ),
                9,
                "unknown channel",
            ),
            (
                SMALL.replace("1 2 3 90 0 0 0 45 0\r\n", "1 2 3 90 0\r\n"),
                20,
                "truncated",
            ),
            (
                SMALL.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"),
                8,
                "number",
            ),
            (SMALL.replace("MOTION", "MOTON"), 16, "expected"),
            (
                SMALL.replace("CHANNELS 3", "CHANNELS 99999999"),
                9,
                "channel count",
            ),
            (
                SMALL.replace("Frames: 2", "Frames: 99999999999"),
                17,
                "too large",
            ),
            (SMALL.replace("\t}\r\n}\r\n", "\t}\r\n"), 15, "closed"),
            (String::new(), 1, "HIERARCHY"),
        ];
        for (text, line, needle) in cases {
            let err = parse(&text).unwrap_err();
            assert_eq!(err.line, line, "{err} (wanted line {line})");
            assert!(err.message.contains(needle), "{err} (wanted `{needle}`)");
        }
    }

    #[test]
    fn every_prefix_of_a_file_is_an_error_not_a_panic() {
        for cut in 0..SMALL.len() - 2 {
            if SMALL.is_char_boundary(cut) {
                assert!(
                    parse(&SMALL[..cut]).is_err(),
                    "prefix of {cut} bytes parsed"
                );
            }
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let bvh = parse(SMALL).unwrap();
        let again = parse(&bvh.write()).unwrap();
        assert_eq!(again.joints, bvh.joints);
        assert_eq!(again.frame_count, bvh.frame_count);
        for (a, b) in again.values.iter().zip(&bvh.values) {
            assert!((a - b).abs() < 1e-5);
        }
    }
}
