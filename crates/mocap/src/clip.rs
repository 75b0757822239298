//! Keyframed motion: per-bone rotation tracks, a hips track and a stage-root track, sampled
//! with Catmull-Rom interpolation so authored poses flow into each other.

use bevy::prelude::*;

use ling_core::signals::{ExpressionWeights, HumanBone, HumanoidPose};

/// Keys of one channel: (time in seconds, value).
#[derive(Debug, Clone, Default)]
pub(crate) struct Track {
    /// In authoring order until [`Track::sort`]ed.
    pub(crate) keys: Vec<(f32, Vec3)>,
}

impl Track {
    /// Adds a key; chains, so a track reads as its list of keys.
    pub(crate) fn key(&mut self, t: f32, v: Vec3) -> &mut Self {
        self.keys.push((t, v));
        self
    }

    /// Catmull-Rom through the keys; holds the first and last values outside them.
    pub(crate) fn sample(&self, t: f32) -> Vec3 {
        let keys = &self.keys;
        match keys.len() {
            0 => return Vec3::ZERO,
            1 => return keys[0].1,
            _ => {}
        }
        if t <= keys[0].0 {
            return keys[0].1;
        }
        let last = keys.len() - 1;
        if t >= keys[last].0 {
            return keys[last].1;
        }
        let i = keys.partition_point(|k| k.0 <= t) - 1;
        let (t1, p1) = keys[i];
        let (t2, p2) = keys[i + 1];
        let p0 = if i > 0 { keys[i - 1].1 } else { p1 };
        let p3 = if i + 2 <= last { keys[i + 2].1 } else { p2 };
        let s = (t - t1) / (t2 - t1).max(1e-6);
        // Uniform Catmull-Rom; flat (p0 == p1) at held keys, so holds do not overshoot much.
        let s2 = s * s;
        let s3 = s2 * s;
        0.5 * ((2.0 * p1)
            + (-p0 + p2) * s
            + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * s2
            + (-p0 + 3.0 * p1 - 3.0 * p2 + p3) * s3)
    }

    /// Keys must be in time order; sorts them (stable, so equal times keep authoring order).
    pub(crate) fn sort(&mut self) {
        self.keys.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
}

/// A whole performance: bone rotations as Euler angles in degrees (X pitch, Y yaw, Z roll,
/// applied Y·X·Z), the hips offset from rest (metres), the stage root (x, z position and yaw
/// in degrees), and expression tracks by canonical name.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyframeClip {
    /// Length in seconds.
    pub(crate) duration: f32,
    pub(crate) bones: Vec<(HumanBone, Track)>,
    pub(crate) hips_offset: Track,
    pub(crate) root: Track,
    pub(crate) expressions: Vec<(&'static str, Track)>,
}

/// What a clip says at one instant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClipSample {
    /// The body on the humanoid skeleton.
    pub(crate) pose: HumanoidPose,
    /// Where the performer stands on stage and which way she faces.
    pub(crate) root: Transform,
    /// The face.
    pub(crate) expressions: ExpressionWeights,
}

/// A rotation from Euler angles in degrees (X pitch, Y yaw, Z roll), applied Y·X·Z.
pub(crate) fn euler_deg(v: Vec3) -> Quat {
    Quat::from_euler(
        EulerRot::YXZ,
        v.y.to_radians(),
        v.x.to_radians(),
        v.z.to_radians(),
    )
}

impl KeyframeClip {
    /// The rotation track of `bone`, added empty if the clip has none yet.
    pub(crate) fn bone(&mut self, bone: HumanBone) -> &mut Track {
        if let Some(i) = self.bones.iter().position(|(b, _)| *b == bone) {
            return &mut self.bones[i].1;
        }
        self.bones.push((bone, Track::default()));
        &mut self.bones.last_mut().expect("just pushed").1
    }

    /// The track of expression `name` (weight in x), added empty if the clip has none yet.
    pub(crate) fn expression(&mut self, name: &'static str) -> &mut Track {
        if let Some(i) = self.expressions.iter().position(|(n, _)| *n == name) {
            return &mut self.expressions[i].1;
        }
        self.expressions.push((name, Track::default()));
        &mut self.expressions.last_mut().expect("just pushed").1
    }

    /// Sorts every track's keys by time.
    pub(crate) fn sort(&mut self) {
        for (_, t) in &mut self.bones {
            t.sort();
        }
        for (_, t) in &mut self.expressions {
            t.sort();
        }
        self.hips_offset.sort();
        self.root.sort();
    }

    /// The clip at `t` seconds.
    pub(crate) fn sample(&self, t: f32) -> ClipSample {
        let mut pose = HumanoidPose::default();
        for (bone, track) in &self.bones {
            pose.set(*bone, euler_deg(track.sample(t)));
        }
        pose.hips += self.hips_offset.sample(t);
        let r = self.root.sample(t);
        let root = Transform::from_xyz(r.x, 0.0, r.y)
            .with_rotation(Quat::from_rotation_y(r.z.to_radians()));
        let mut expressions = ExpressionWeights::default();
        for (name, track) in &self.expressions {
            expressions.set(name, track.sample(t).x);
        }
        ClipSample {
            pose,
            root,
            expressions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_passes_through_keys_and_holds_outside() {
        let mut tr = Track::default();
        tr.key(0.0, Vec3::ZERO)
            .key(1.0, Vec3::X)
            .key(2.0, Vec3::ZERO);
        assert_eq!(tr.sample(-1.0), Vec3::ZERO);
        assert!((tr.sample(1.0) - Vec3::X).length() < 1e-6);
        assert_eq!(tr.sample(5.0), Vec3::ZERO);
        let mid = tr.sample(0.5).x;
        assert!(mid > 0.3 && mid < 0.7, "{mid}");
    }

    #[test]
    fn euler_convention_matches_the_skeleton() {
        // +X pitch tips the head forward (towards +Z, the audience).
        let fwd = euler_deg(Vec3::new(30.0, 0.0, 0.0)) * Vec3::Y;
        assert!(fwd.z > 0.4);
        // +Y yaw turns the face (+Z) towards the performer's left (+X).
        let face = euler_deg(Vec3::new(0.0, 90.0, 0.0)) * Vec3::Z;
        assert!(face.x > 0.99);
    }
}
