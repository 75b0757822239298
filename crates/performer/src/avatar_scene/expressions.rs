//! From canonical expression weights (ARKit blendshapes and visemes) to the weights of an
//! avatar's own expressions: the default map, per-avatar overrides, look expressions, blink
//! routing, binary snapping and VRM override rules.

use std::collections::HashMap;

use crate::avatar::{AvatarFile, LookAtKind, Override, RangeMap};
use ling_core::signals::ExpressionWeights;

/// Expression weights for an avatar: the default map, with the avatar's own overrides
/// (`<file>.expressions.ron`) replacing the entries they name.
pub(crate) fn avatar_expression_weights(
    e: &ExpressionWeights,
    overrides: &std::collections::BTreeMap<String, Vec<(String, f32)>>,
) -> Vec<(String, f32)> {
    let mut out: Vec<(String, f32)> = expression_weights(e)
        .into_iter()
        .filter(|(name, _)| !overrides.contains_key(*name))
        .map(|(n, w)| (n.to_string(), w))
        .collect();
    for (name, signals) in overrides {
        let w: f32 = signals
            .iter()
            .map(|(s, k)| e.get(s).unwrap_or(0.0) * k)
            .sum();
        out.push((name.clone(), w.clamp(0.0, 1.0)));
    }
    out
}

/// The default map: the avatar expression a canonical signal drives, and how strongly.
pub(crate) fn expression_weights(e: &ExpressionWeights) -> Vec<(&'static str, f32)> {
    let g = |n: &str| e.get(n).unwrap_or(0.0);
    let blink_l = g("eyeBlinkLeft");
    let blink_r = g("eyeBlinkRight");
    vec![
        ("aa", g("aa").max(g("jawOpen") * 0.7)),
        ("jawOpen", g("jawOpen")),
        ("ih", g("ih")),
        ("ou", g("ou").max(g("mouthPucker"))),
        ("ee", g("ee")),
        ("oh", g("oh").max(g("mouthFunnel"))),
        ("blink", blink_l.min(blink_r)),
        ("blinkLeft", blink_l - blink_l.min(blink_r)),
        ("blinkRight", blink_r - blink_l.min(blink_r)),
        ("happy", (g("mouthSmileLeft") + g("mouthSmileRight")) / 2.0),
        ("sad", (g("mouthFrownLeft") + g("mouthFrownRight")) / 2.0),
        ("angry", (g("browDownLeft") + g("browDownRight")) / 2.0),
        // Raised brows read as surprise only with the outer brows or wide eyes: the inner brow
        // alone is sorrow.
        (
            "surprised",
            g("browInnerUp").min(
                ((g("eyeWideLeft") + g("eyeWideRight")) / 2.0)
                    .max((g("browOuterUpLeft") + g("browOuterUpRight")) / 2.0),
            ),
        ),
    ]
}

/// The weight of each of the avatar's expressions for these canonical signals: the expression
/// map (default and per-avatar), gaze as look expressions for expression-type look-at, blinks
/// routed to one-eyed blinks where the avatar has no `blink`, binary expressions snapped, and
/// VRM's override rules (an expression that blocks or blends blinks, look-at or mouth shapes
/// turns them down while it shows).
pub(crate) fn resolve_expressions(
    file: &AvatarFile,
    e: &ExpressionWeights,
) -> HashMap<String, f32> {
    let mut w: HashMap<String, f32> = avatar_expression_weights(e, &file.expression_map)
        .into_iter()
        .collect();
    if file
        .look_at
        .as_ref()
        .is_some_and(|l| l.kind == LookAtKind::Expression)
    {
        let look = file.look_at.as_ref().expect("checked");
        let (yaw, pitch) = gaze_from_arkit(e);
        let map = |angle: f32, range: &RangeMap| {
            (angle.abs().min(range.input_max) / range.input_max.max(1e-3) * range.output_scale)
                .clamp(0.0, 1.0)
        };
        w.insert(
            "lookLeft".into(),
            if yaw > 0.0 {
                map(yaw, &look.horizontal_outer)
            } else {
                0.0
            },
        );
        w.insert(
            "lookRight".into(),
            if yaw < 0.0 {
                map(yaw, &look.horizontal_outer)
            } else {
                0.0
            },
        );
        w.insert(
            "lookUp".into(),
            if pitch > 0.0 {
                map(pitch, &look.vertical_up)
            } else {
                0.0
            },
        );
        w.insert(
            "lookDown".into(),
            if pitch < 0.0 {
                map(pitch, &look.vertical_down)
            } else {
                0.0
            },
        );
    }
    if file.expression("blink").is_none() {
        let blink = w.remove("blink").unwrap_or(0.0);
        for side in ["blinkLeft", "blinkRight"] {
            *w.entry(side.into()).or_default() += blink;
        }
    }
    for (name, weight) in w.iter_mut() {
        if file.expression(name).is_some_and(|x| x.is_binary) {
            *weight = if *weight > 0.5 { 1.0 } else { 0.0 };
        }
    }
    let group = |kind: usize| -> &'static [&'static str] {
        match kind {
            0 => &["blink", "blinkLeft", "blinkRight"],
            1 => &["lookUp", "lookDown", "lookLeft", "lookRight"],
            _ => &["aa", "ih", "ou", "ee", "oh"],
        }
    };
    let mut factors = [1.0f32; 3];
    for x in &file.expressions {
        let weight = w.get(&x.name).copied().unwrap_or(0.0);
        if weight <= 0.0 {
            continue;
        }
        for (k, rule) in [x.override_blink, x.override_look_at, x.override_mouth]
            .into_iter()
            .enumerate()
        {
            let f = match rule {
                Override::None => 1.0,
                Override::Block => 0.0,
                Override::Blend => 1.0 - weight,
            };
            factors[k] = factors[k].min(f);
        }
    }
    for (k, f) in factors.iter().enumerate() {
        for name in group(k) {
            if let Some(v) = w.get_mut(*name) {
                *v *= f;
            }
        }
    }
    w
}

/// Gaze from ARKit eye blendshapes, in degrees: yaw towards the performer's left, pitch up.
pub(crate) fn gaze_from_arkit(e: &ExpressionWeights) -> (f32, f32) {
    let g = |n: &str| e.get(n).unwrap_or(0.0);
    let left = (g("eyeLookOutLeft") + g("eyeLookInRight")) / 2.0;
    let right = (g("eyeLookInLeft") + g("eyeLookOutRight")) / 2.0;
    let up = (g("eyeLookUpLeft") + g("eyeLookUpRight")) / 2.0;
    let down = (g("eyeLookDownLeft") + g("eyeLookDownRight")) / 2.0;
    // ARKit's full range is roughly ±30° across and ±25° up and down.
    ((left - right) * 30.0, (up - down) * 25.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_signals_map_to_vrm_expressions() {
        let mut e = ExpressionWeights::default();
        e.set("aa", 0.8);
        e.set("eyeBlinkLeft", 1.0);
        e.set("eyeBlinkRight", 0.6);
        e.set("mouthSmileLeft", 1.0);
        let w: HashMap<_, _> = expression_weights(&e).into_iter().collect();
        assert_eq!(w["aa"], 0.8);
        assert_eq!(w["blink"], 0.6);
        assert!((w["blinkLeft"] - 0.4).abs() < 1e-6);
        assert_eq!(w["blinkRight"], 0.0);
        assert_eq!(w["happy"], 0.5);
    }

    #[test]
    fn sorrow_is_not_surprise() {
        let mut e = ExpressionWeights::default();
        e.set("browInnerUp", 1.0);
        e.set("mouthFrownLeft", 0.9);
        e.set("mouthFrownRight", 0.9);
        let w: HashMap<_, _> = expression_weights(&e).into_iter().collect();
        assert_eq!(w["surprised"], 0.0);
        assert!((w["sad"] - 0.9).abs() < 1e-6);
        e.set("browOuterUpLeft", 1.0);
        e.set("browOuterUpRight", 1.0);
        let w: HashMap<_, _> = expression_weights(&e).into_iter().collect();
        assert_eq!(w["surprised"], 1.0);
    }

    #[test]
    fn vrm_override_rules_turn_down_blinks_and_mouth() {
        let Some(path) = Some(
            ling_testkit::repo_root()
                .join("../shared/data/avatars/VRMC_vrm_expressions_isBinary_Overrides.vrm"),
        )
        .filter(|p| p.exists()) else {
            ling_testkit::skip("vrm_override_rules_turn_down_blinks_and_mouth: sample not found");
            return;
        };
        let file = AvatarFile::load(&path).unwrap();
        let mut e = ExpressionWeights::default();
        e.set("eyeBlinkLeft", 1.0);
        e.set("eyeBlinkRight", 1.0);
        let w = resolve_expressions(&file, &e);
        assert_eq!(w["blink"], 1.0, "blinks when nothing overrides");
        // happy is binary and blends blinks out: at full happy, no blink.
        e.set("mouthSmileLeft", 0.8);
        e.set("mouthSmileRight", 0.8);
        let w = resolve_expressions(&file, &e);
        assert_eq!(w["happy"], 1.0, "binary expressions snap");
        assert_eq!(w["blink"], 0.0, "overrideBlink: blend at weight 1");
        // Expression-type look-at: gaze to the left shows lookLeft.
        e.set("eyeLookOutLeft", 1.0);
        e.set("eyeLookInRight", 1.0);
        let w = resolve_expressions(&file, &e);
        assert!(
            w["lookLeft"] > 0.3 && w["lookRight"] == 0.0,
            "{:?}",
            (w["lookLeft"], w["lookRight"])
        );
    }

    #[test]
    fn per_avatar_overrides_replace_default_entries() {
        let mut e = ExpressionWeights::default();
        e.set("mouthSmileLeft", 1.0);
        e.set("jawOpen", 0.5);
        let overrides = std::collections::BTreeMap::from([
            (
                "happy".to_string(),
                vec![("mouthSmileLeft".to_string(), 0.3)],
            ),
            ("Shout".to_string(), vec![("jawOpen".to_string(), 2.0)]),
        ]);
        let w: HashMap<_, _> = avatar_expression_weights(&e, &overrides)
            .into_iter()
            .collect();
        assert!((w["happy"] - 0.3).abs() < 1e-6);
        assert_eq!(w["Shout"], 1.0, "clamped");
        assert_eq!(w["aa"], 0.35, "defaults stay for the rest");
    }
}
