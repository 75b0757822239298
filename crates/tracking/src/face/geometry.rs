//! What the face mesh says by its geometry alone: head pose from the mesh's own axes, a rigid
//! fit against a reference mesh (the neutral face), ARKit weights measured off the mesh, and
//! gaze and eye-look weights from the irises.

use bevy::math::{Mat3, Quat, Vec2, Vec3};

use super::{Gaze, HeadPose};

// Face mesh indices (MediaPipe's 468-point topology). "Right" is the subject's right.
pub(super) const EYE_R_OUTER: usize = 33;
const EYE_R_INNER: usize = 133;
const EYE_R_TOP: usize = 159;
const EYE_R_BOTTOM: usize = 145;
pub(super) const EYE_L_OUTER: usize = 263;
const EYE_L_INNER: usize = 362;
const EYE_L_TOP: usize = 386;
const EYE_L_BOTTOM: usize = 374;
const BROW_R: usize = 105;
const BROW_L: usize = 334;
const MOUTH_R: usize = 61;
const MOUTH_L: usize = 291;
const LIP_TOP: usize = 13;
const LIP_BOTTOM: usize = 14;
const FOREHEAD: usize = 10;
const CHIN: usize = 152;
const NOSE_TIP: usize = 1;

/// Head pose from the mesh's own frame: x along the eye line, y from chin to forehead (the
/// mesh's z gives depth), so yaw, pitch and roll need no camera model.
pub(crate) fn head_pose(p: &[Vec3]) -> HeadPose {
    // Image axes are x right, y down, z away from the camera; make a right-handed frame with
    // y up and z towards the camera.
    let flip = |v: Vec3| Vec3::new(v.x, -v.y, -v.z);
    let x = flip(p[EYE_L_OUTER] - p[EYE_R_OUTER]).normalize_or_zero();
    let up = flip(p[FOREHEAD] - p[CHIN]);
    let z = x.cross(up).normalize_or_zero();
    let y = z.cross(x);
    let rotation = Quat::from_mat3(&Mat3::from_cols(x, y, z));
    let (yaw, pitch, roll) = rotation.to_euler(bevy::math::EulerRot::YXZ);
    let scale = p[EYE_R_OUTER]
        .truncate()
        .distance(p[EYE_L_OUTER].truncate());
    HeadPose {
        yaw: yaw.to_degrees(),
        pitch: pitch.to_degrees(),
        roll: -roll.to_degrees(),
        position: p[NOSE_TIP].to_array(),
        scale,
    }
}

/// A rigid fit of one point set onto another: `current ≈ scale · rotation · (reference −
/// its centroid) + centroid of current`, in the frame [`head_pose`] uses (x right, y up, z to
/// the camera).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RigidFit {
    /// The turn from the reference to the current points.
    pub(crate) rotation: Quat,
    /// Movement of the centroid, in the points' units (pixels for landmarks).
    pub(crate) translation: Vec3,
    /// Size of the current points over the reference's: above 1 is nearer the camera.
    pub(crate) scale: f32,
}

impl RigidFit {
    /// The rotation as head angles, degrees, as [`HeadPose`] reports them.
    pub(crate) fn angles(&self) -> [f32; 3] {
        let (yaw, pitch, roll) = self.rotation.to_euler(bevy::math::EulerRot::YXZ);
        [yaw.to_degrees(), pitch.to_degrees(), -roll.to_degrees()]
    }
}

/// Least-squares rotation, translation and scale taking `reference` onto `current` (image
/// points, matched by index), by Horn's closed form: the rotation is the quaternion with the
/// largest eigenvalue of the 4 × 4 matrix built from the points' cross-covariance. Every
/// landmark votes, so the pose is steadier than from a few points.
pub(crate) fn fit_pose(reference: &[Vec3], current: &[Vec3]) -> RigidFit {
    let n = reference.len().min(current.len()).max(1) as f32;
    let flip = |v: &Vec3| Vec3::new(v.x, -v.y, -v.z);
    let ca = reference.iter().map(flip).sum::<Vec3>() / n;
    let cb = current.iter().map(flip).sum::<Vec3>() / n;
    let mut m = [[0.0f64; 3]; 3];
    let (mut sa, mut sb) = (0.0f64, 0.0f64);
    for (a, b) in reference.iter().zip(current) {
        let a = (flip(a) - ca).to_array();
        let b = (flip(b) - cb).to_array();
        for i in 0..3 {
            sa += (a[i] * a[i]) as f64;
            sb += (b[i] * b[i]) as f64;
            for j in 0..3 {
                m[i][j] += (a[i] * b[j]) as f64;
            }
        }
    }
    let [[sxx, sxy, sxz], [syx, syy, syz], [szx, szy, szz]] = m;
    let k = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let q = largest_eigenvector(k);
    let rotation = Quat::from_xyzw(q[1] as f32, q[2] as f32, q[3] as f32, q[0] as f32).normalize();
    RigidFit {
        rotation,
        translation: cb - ca,
        scale: if sa > 0.0 {
            (sb / sa).sqrt() as f32
        } else {
            1.0
        },
    }
}

/// The eigenvector of a symmetric 4 × 4 matrix with the largest eigenvalue (cyclic Jacobi).
fn largest_eigenvector(mut a: [[f64; 4]; 4]) -> [f64; 4] {
    let mut v = [[0.0f64; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _ in 0..50 {
        let off: f64 = (0..4)
            .flat_map(|i| (0..4).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-18 {
            break;
        }
        for p in 0..3 {
            for q in p + 1..4 {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..4 {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..4 {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    let best = (0..4)
        .max_by(|&i, &j| a[i][i].total_cmp(&a[j][j]))
        .unwrap_or(0);
    [v[0][best], v[1][best], v[2][best], v[3][best]]
}

/// ARKit weights from the mesh geometry: eye openness, brows, jaw, smile and mouth shape,
/// each normalised by the distance between the outer eye corners so the face's size and
/// distance from the camera do not matter.
pub(crate) fn expressions(p: &[Vec3]) -> Vec<(&'static str, f32)> {
    let d2 = |a: usize, b: usize| p[a].truncate().distance(p[b].truncate());
    let eyes = d2(EYE_R_OUTER, EYE_L_OUTER).max(1e-3);
    let ramp = |x: f32, from: f32, to: f32| ((x - from) / (to - from)).clamp(0.0, 1.0);
    // Eye openness: lid gap over eye width, about 0.3 open and under 0.1 closed.
    let open_r = d2(EYE_R_TOP, EYE_R_BOTTOM) / d2(EYE_R_OUTER, EYE_R_INNER).max(1e-3);
    let open_l = d2(EYE_L_TOP, EYE_L_BOTTOM) / d2(EYE_L_OUTER, EYE_L_INNER).max(1e-3);
    // Mouth: corner lift above the lips' centre, width, opening.
    let centre_y = (p[LIP_TOP].y + p[LIP_BOTTOM].y) / 2.0;
    let lift_r = (centre_y - p[MOUTH_R].y) / eyes;
    let lift_l = (centre_y - p[MOUTH_L].y) / eyes;
    let width = d2(MOUTH_R, MOUTH_L) / eyes;
    let opening = d2(LIP_TOP, LIP_BOTTOM) / eyes;
    let smile = |lift: f32| 0.5 * ramp(lift, -0.01, 0.07) + 0.5 * ramp(width, 0.58, 0.7);
    // Brows: height above the upper lid.
    let brow_r = (p[EYE_R_TOP].y - p[BROW_R].y) / eyes;
    let brow_l = (p[EYE_L_TOP].y - p[BROW_L].y) / eyes;
    let jaw = ramp(opening, 0.04, 0.45);
    vec![
        ("eyeBlinkRight", 1.0 - ramp(open_r, 0.1, 0.28)),
        ("eyeBlinkLeft", 1.0 - ramp(open_l, 0.1, 0.28)),
        ("eyeWideRight", ramp(open_r, 0.38, 0.5)),
        ("eyeWideLeft", ramp(open_l, 0.38, 0.5)),
        ("browInnerUp", ramp((brow_r + brow_l) / 2.0, 0.2, 0.3)),
        ("browDownRight", 1.0 - ramp(brow_r, 0.1, 0.16)),
        ("browDownLeft", 1.0 - ramp(brow_l, 0.1, 0.16)),
        ("jawOpen", jaw),
        ("mouthSmileRight", smile(lift_r)),
        ("mouthSmileLeft", smile(lift_l)),
        ("mouthFrownRight", ramp(-lift_r, 0.02, 0.08)),
        ("mouthFrownLeft", ramp(-lift_l, 0.02, 0.08)),
        ("mouthStretchRight", ramp(width, 0.7, 0.85)),
        ("mouthStretchLeft", ramp(width, 0.7, 0.85)),
        // A round, narrow, open mouth.
        (
            "mouthFunnel",
            ramp(opening / width.max(1e-3), 0.5, 0.9) * (1.0 - ramp(width, 0.5, 0.6)),
        ),
        ("mouthPucker", 1.0 - ramp(width, 0.42, 0.52)),
        ("mouthClose", 1.0 - ramp(opening, 0.01, 0.05)),
    ]
}

/// Each iris centre's offset from the middle of its eye (subject's right eye, then left), in
/// half eye widths: x towards the subject's left, y up. None without iris points.
fn iris_offsets(p: &[Vec3]) -> Option<[Vec2; 2]> {
    if p.len() < 478 {
        return None;
    }
    let across = (p[EYE_L_OUTER] - p[EYE_R_OUTER])
        .truncate()
        .normalize_or_zero();
    // Image y is down: "up" on the face is the eye line turned a quarter anticlockwise.
    let up = Vec2::new(across.y, -across.x);
    let eye = |outer: usize, inner: usize| {
        let centre = (p[outer] + p[inner]).truncate() / 2.0;
        let half = p[outer].truncate().distance(p[inner].truncate()) / 2.0;
        (centre, half.max(1e-3))
    };
    let eyes = [eye(EYE_R_OUTER, EYE_R_INNER), eye(EYE_L_OUTER, EYE_L_INNER)];
    // The two iris groups (468–472, 473–477), each given to the eye it sits in.
    let irises = [p[468].truncate(), p[473].truncate()];
    let first_is_right = irises[0].distance(eyes[0].0) <= irises[0].distance(eyes[1].0);
    let (right, left) = if first_is_right {
        (irises[0], irises[1])
    } else {
        (irises[1], irises[0])
    };
    let offset = |iris: Vec2, (centre, half): (Vec2, f32)| {
        let d = iris - centre;
        Vec2::new(d.dot(across), d.dot(up)) / half
    };
    Some([offset(right, eyes[0]), offset(left, eyes[1])])
}

/// An iris offset (in half eye widths) as an eye rotation in degrees: the eyeball's radius is
/// about 0.8 of half the eye's width.
fn offset_angle(x: f32) -> f32 {
    (x / 0.8).clamp(-1.0, 1.0).asin().to_degrees()
}

/// Where the eyes look (both eyes averaged), from the irises.
pub(crate) fn gaze(p: &[Vec3]) -> Option<Gaze> {
    let [r, l] = iris_offsets(p)?;
    let mean = (r + l) / 2.0;
    Some(Gaze {
        yaw: offset_angle(mean.x),
        pitch: offset_angle(mean.y),
    })
}

/// ARKit eye-look weights from the irises, each eye on its own: full weight at 30° across and
/// 25° up or down (ARKit's range).
pub(crate) fn eye_look(p: &[Vec3]) -> Option<Vec<(&'static str, f32)>> {
    let [r, l] = iris_offsets(p)?;
    let across = |x: f32| (offset_angle(x) / 30.0).clamp(-1.0, 1.0);
    let vertical = |y: f32| (offset_angle(y) / 25.0).clamp(-1.0, 1.0);
    let (rx, lx) = (across(r.x), across(l.x));
    let (ry, ly) = (vertical(r.y), vertical(l.y));
    Some(vec![
        // Towards the subject's left: her left eye looks out, her right eye in.
        ("eyeLookOutLeft", lx.max(0.0)),
        ("eyeLookInLeft", (-lx).max(0.0)),
        ("eyeLookInRight", rx.max(0.0)),
        ("eyeLookOutRight", (-rx).max(0.0)),
        ("eyeLookUpLeft", ly.max(0.0)),
        ("eyeLookDownLeft", (-ly).max(0.0)),
        ("eyeLookUpRight", ry.max(0.0)),
        ("eyeLookDownRight", (-ry).max(0.0)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A level face, 100 px between the outer eye corners, with 478 points: eyes at y = 100,
    /// irises where `iris_shift` (pixels, x right y down) puts them from each eye's middle.
    fn face_points(iris_shift: Vec2) -> Vec<Vec3> {
        let mut p = vec![Vec3::ZERO; 478];
        p[EYE_R_OUTER] = Vec3::new(100.0, 100.0, 0.0);
        p[EYE_R_INNER] = Vec3::new(140.0, 100.0, 0.0);
        p[EYE_L_INNER] = Vec3::new(160.0, 100.0, 0.0);
        p[EYE_L_OUTER] = Vec3::new(200.0, 100.0, 0.0);
        p[468] = Vec3::new(120.0 + iris_shift.x, 100.0 + iris_shift.y, 0.0);
        p[473] = Vec3::new(180.0 + iris_shift.x, 100.0 + iris_shift.y, 0.0);
        p
    }

    fn weight(w: &[(&str, f32)], name: &str) -> f32 {
        w.iter().find(|(n, _)| *n == name).unwrap().1
    }

    #[test]
    fn centred_irises_look_ahead() {
        let p = face_points(Vec2::ZERO);
        let g = gaze(&p).unwrap();
        assert!(g.yaw.abs() < 0.01 && g.pitch.abs() < 0.01, "{g:?}");
        assert!(eye_look(&p).unwrap().iter().all(|(_, w)| *w < 1e-4));
        assert!(gaze(&p[..468]).is_none(), "no irises, no gaze");
    }

    #[test]
    fn irises_towards_image_right_look_to_the_subjects_left() {
        // The camera sees the subject face on: her left is the image's right.
        let p = face_points(Vec2::new(6.0, 0.0));
        let g = gaze(&p).unwrap();
        assert!(g.yaw > 15.0 && g.yaw < 30.0, "{g:?}");
        let w = eye_look(&p).unwrap();
        assert!(weight(&w, "eyeLookOutLeft") > 0.5 && weight(&w, "eyeLookInRight") > 0.5);
        assert_eq!(weight(&w, "eyeLookInLeft"), 0.0);
        assert_eq!(weight(&w, "eyeLookOutRight"), 0.0);
        // Image y is down: irises raised in the picture look up.
        let up = face_points(Vec2::new(0.0, -5.0));
        assert!(gaze(&up).unwrap().pitch > 10.0);
        let w = eye_look(&up).unwrap();
        assert!(weight(&w, "eyeLookUpLeft") > 0.4 && weight(&w, "eyeLookDownRight") == 0.0);
    }

    #[test]
    fn iris_groups_are_given_to_the_eye_they_sit_in() {
        // Whichever order the model lists the irises in, each eye gets its own.
        let mut p = face_points(Vec2::new(6.0, 0.0));
        p.swap(468, 473);
        assert!(gaze(&p).unwrap().yaw > 15.0);
    }

    #[test]
    fn a_rigid_fit_recovers_a_known_turn_move_and_scale() {
        // A lumpy cloud of points in image space, then turned, scaled and moved.
        let reference: Vec<Vec3> = (0..60)
            .map(|i| {
                let t = i as f32;
                Vec3::new(
                    200.0 + 40.0 * (t * 0.7).sin(),
                    150.0 + 55.0 * (t * 1.3).cos(),
                    20.0 * (t * 0.4).sin(),
                )
            })
            .collect();
        let turn = Quat::from_euler(
            bevy::math::EulerRot::YXZ,
            25f32.to_radians(),
            -10f32.to_radians(),
            5f32.to_radians(),
        );
        let flip = |v: Vec3| Vec3::new(v.x, -v.y, -v.z);
        let centre = reference.iter().map(|p| flip(*p)).sum::<Vec3>() / 60.0;
        let current: Vec<Vec3> = reference
            .iter()
            .map(|p| flip(turn * (flip(*p) - centre) * 1.2 + centre + Vec3::new(30.0, -8.0, 0.0)))
            .collect();
        let fit = fit_pose(&reference, &current);
        assert!(
            fit.rotation.angle_between(turn) < 1e-3,
            "{:?}",
            fit.rotation
        );
        assert!((fit.scale - 1.2).abs() < 1e-4);
        assert!((fit.translation - Vec3::new(30.0, -8.0, 0.0)).length() < 1e-3);
        let [yaw, pitch, roll] = fit.angles();
        assert!(
            (yaw - 25.0).abs() < 0.05 && (pitch + 10.0).abs() < 0.05,
            "{yaw} {pitch}"
        );
        assert!((roll + 5.0).abs() < 0.05, "{roll}");
        // A face fitted to itself has not turned.
        let same = fit_pose(&reference, &reference);
        assert!(same.rotation.angle_between(Quat::IDENTITY) < 1e-4);
    }
}
