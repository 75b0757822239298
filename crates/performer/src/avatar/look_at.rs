//! Look-at: how the avatar shows where it looks, by turning its eye bones or by look
//! expressions, and how far (range maps from gaze angle to output).

use bevy::math::Vec3;
use serde_json::Value;

use super::json::{f32_of, vec3_arr, vec3_xyz};

/// How the avatar shows its gaze.
#[derive(Debug, Clone, PartialEq)]
pub enum LookAtKind {
    /// By turning the eye bones.
    Bone,
    /// By the `lookUp`, `lookDown`, `lookLeft` and `lookRight` expressions.
    Expression,
}

/// A range map: input angle (degrees) up to `input_max` maps linearly to `output_scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeMap {
    /// The largest gaze angle, degrees; larger angles give the same output.
    pub input_max: f32,
    /// The output at `input_max`: degrees of eye turn for bone look-at, expression weight
    /// (0..1) for expression look-at.
    pub output_scale: f32,
}

/// The avatar's look-at settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LookAt {
    /// Eye bones or look expressions.
    pub kind: LookAtKind,
    /// Where the eyes look from, relative to the head bone, in metres.
    pub offset_from_head: Vec3,
    /// Horizontal gaze towards the nose.
    pub horizontal_inner: RangeMap,
    /// Horizontal gaze away from the nose.
    pub horizontal_outer: RangeMap,
    /// Gaze down.
    pub vertical_down: RangeMap,
    /// Gaze up.
    pub vertical_up: RangeMap,
}

/// Where a VRM version keeps its look-at settings.
struct LookAtKeys {
    kind: &'static str,
    /// The `kind` value that means expression-type look-at.
    expression: &'static str,
    /// Horizontal inner, horizontal outer, vertical down, vertical up.
    ranges: [&'static str; 4],
    input_max: &'static str,
    output_scale: &'static str,
}

const VRM1_LOOK_AT: LookAtKeys = LookAtKeys {
    kind: "type",
    expression: "expression",
    ranges: [
        "rangeMapHorizontalInner",
        "rangeMapHorizontalOuter",
        "rangeMapVerticalDown",
        "rangeMapVerticalUp",
    ],
    input_max: "inputMaxValue",
    output_scale: "outputScale",
};

/// VRM 0.x keeps look-at in `firstPerson`, with curve maps whose `xRange`/`yRange` are the
/// input and output ranges.
const VRM0_LOOK_AT: LookAtKeys = LookAtKeys {
    kind: "lookAtTypeName",
    expression: "BlendShape",
    ranges: [
        "lookAtHorizontalInner",
        "lookAtHorizontalOuter",
        "lookAtVerticalDown",
        "lookAtVerticalUp",
    ],
    input_max: "xRange",
    output_scale: "yRange",
};

fn read_look_at(v: &Value, keys: &LookAtKeys, offset_from_head: Vec3) -> LookAt {
    let range = |name: &str| RangeMap {
        input_max: f32_of(&v[name][keys.input_max], 90.0),
        output_scale: f32_of(&v[name][keys.output_scale], 10.0),
    };
    LookAt {
        kind: if v[keys.kind].as_str() == Some(keys.expression) {
            LookAtKind::Expression
        } else {
            LookAtKind::Bone
        },
        offset_from_head,
        horizontal_inner: range(keys.ranges[0]),
        horizontal_outer: range(keys.ranges[1]),
        vertical_down: range(keys.ranges[2]),
        vertical_up: range(keys.ranges[3]),
    }
}

/// VRM 1.0 `VRMC_vrm.lookAt`.
pub(super) fn vrm1(look_at: &Value) -> LookAt {
    let offset = vec3_arr(&look_at["offsetFromHeadBone"], Vec3::ZERO);
    read_look_at(look_at, &VRM1_LOOK_AT, offset)
}

/// VRM 0.x `VRM.firstPerson`.
pub(super) fn vrm0(first_person: &Value) -> LookAt {
    let offset = vec3_xyz(&first_person["firstPersonBoneOffset"]);
    read_look_at(first_person, &VRM0_LOOK_AT, offset)
}
