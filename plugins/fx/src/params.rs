//! Effect parameters as show files and the panel write them, applied to an effect's `Reflect`
//! struct field by field.

use std::collections::BTreeMap;

use bevy::prelude::*;
use bevy::reflect::ReflectMut;
use serde::{Deserialize, Serialize};

/// One parameter value: `true`, `2.5`, `"red"` or `(1.0, 0.8, 0.2)` (a colour or a vector).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A switch.
    Bool(bool),
    /// Any number field (integers too).
    Number(f64),
    /// Three numbers: an sRGB colour or a vector.
    Triple((f32, f32, f32)),
    /// A string.
    Text(String),
}

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Number(v)
    }
}

impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Text(v.to_string())
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Number(n) => write!(f, "{n}"),
            ParamValue::Triple((a, b, c)) => write!(f, "({a}, {b}, {c})"),
            ParamValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// Parameters by name.
pub type EffectParams = BTreeMap<String, ParamValue>;

/// Sets `target`'s fields from `params`; every name must be a field of a settable type.
pub fn apply(target: &mut dyn Reflect, params: &EffectParams) -> Result<(), String> {
    let ReflectMut::Struct(fields) = target.reflect_mut() else {
        return Err("its parameters are not a struct".into());
    };
    let names: Vec<String> = (0..fields.field_len())
        .filter_map(|i| fields.name_at(i).map(str::to_string))
        .collect();
    for (name, value) in params {
        let field = fields.field_mut(name).ok_or_else(|| {
            format!(
                "no parameter \"{name}\" (it has: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })?;
        set(field, value).map_err(|e| format!("parameter \"{name}\": {e}"))?;
    }
    Ok(())
}

fn set(field: &mut dyn PartialReflect, value: &ParamValue) -> Result<(), String> {
    let wrong = |wanted: &str| Err(format!("expected {wanted}, found {value}"));
    let number = |v: &ParamValue| match v {
        ParamValue::Number(n) if n.is_finite() => Some(*n),
        _ => None,
    };
    if let Some(f) = field.try_downcast_mut::<f32>() {
        return number(value)
            .map(|n| *f = n as f32)
            .ok_or(())
            .or(wrong("a number"));
    }
    if let Some(f) = field.try_downcast_mut::<f64>() {
        return number(value)
            .map(|n| *f = n)
            .ok_or(())
            .or(wrong("a number"));
    }
    if let Some(f) = field.try_downcast_mut::<u32>() {
        return match number(value) {
            Some(n) if n >= 0.0 && n <= u32::MAX as f64 && n.fract() == 0.0 => {
                *f = n as u32;
                Ok(())
            }
            _ => wrong("a whole number ≥ 0"),
        };
    }
    if let Some(f) = field.try_downcast_mut::<usize>() {
        return match number(value) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 => {
                *f = n as usize;
                Ok(())
            }
            _ => wrong("a whole number ≥ 0"),
        };
    }
    if let Some(f) = field.try_downcast_mut::<i32>() {
        return match number(value) {
            Some(n) if n.fract() == 0.0 && n.abs() <= i32::MAX as f64 => {
                *f = n as i32;
                Ok(())
            }
            _ => wrong("a whole number"),
        };
    }
    if let Some(f) = field.try_downcast_mut::<bool>() {
        return match value {
            ParamValue::Bool(b) => {
                *f = *b;
                Ok(())
            }
            _ => wrong("true or false"),
        };
    }
    if let Some(f) = field.try_downcast_mut::<String>() {
        return match value {
            ParamValue::Text(s) => {
                *f = s.clone();
                Ok(())
            }
            _ => wrong("a string"),
        };
    }
    if let Some(f) = field.try_downcast_mut::<Vec3>() {
        return match value {
            ParamValue::Triple((x, y, z)) => {
                *f = Vec3::new(*x, *y, *z);
                Ok(())
            }
            _ => wrong("(x, y, z)"),
        };
    }
    if let Some(f) = field.try_downcast_mut::<Color>() {
        return match value {
            ParamValue::Triple((r, g, b))
                if [r, g, b].iter().all(|c| c.is_finite() && **c >= 0.0) =>
            {
                *f = Color::srgb(*r, *g, *b);
                Ok(())
            }
            _ => wrong("an sRGB colour (r, g, b)"),
        };
    }
    Err("this parameter cannot be set from a show file".into())
}

/// The settable fields of `source` as parameters (the defaults an editor starts from).
pub fn to_params(source: &dyn Reflect) -> EffectParams {
    let mut out = EffectParams::new();
    let bevy::reflect::ReflectRef::Struct(fields) = source.reflect_ref() else {
        return out;
    };
    for i in 0..fields.field_len() {
        let (Some(name), Some(field)) = (fields.name_at(i), fields.field_at(i)) else {
            continue;
        };
        let value = if let Some(v) = field.try_downcast_ref::<f32>() {
            ParamValue::Number(*v as f64)
        } else if let Some(v) = field.try_downcast_ref::<f64>() {
            ParamValue::Number(*v)
        } else if let Some(v) = field.try_downcast_ref::<u32>() {
            ParamValue::Number(*v as f64)
        } else if let Some(v) = field.try_downcast_ref::<usize>() {
            ParamValue::Number(*v as f64)
        } else if let Some(v) = field.try_downcast_ref::<i32>() {
            ParamValue::Number(*v as f64)
        } else if let Some(v) = field.try_downcast_ref::<bool>() {
            ParamValue::Bool(*v)
        } else if let Some(v) = field.try_downcast_ref::<String>() {
            ParamValue::Text(v.clone())
        } else if let Some(v) = field.try_downcast_ref::<Vec3>() {
            ParamValue::Triple((v.x, v.y, v.z))
        } else if let Some(v) = field.try_downcast_ref::<Color>() {
            let c = v.to_srgba();
            ParamValue::Triple((c.red, c.green, c.blue))
        } else {
            continue;
        };
        out.insert(name.to_string(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Reflect, Default, Debug, PartialEq)]
    struct Params {
        count: u32,
        speed: f32,
        loud: bool,
        label: String,
        tint: Color,
        at: Vec3,
    }

    #[test]
    fn parameters_set_fields_by_name_and_type_and_round_trip() {
        let mut p = Params::default();
        let params = EffectParams::from([
            ("count".into(), 12.0.into()),
            ("speed".into(), 2.5.into()),
            ("loud".into(), true.into()),
            ("label".into(), "red mask".into()),
            ("tint".into(), ParamValue::Triple((1.0, 0.5, 0.0))),
            ("at".into(), ParamValue::Triple((0.0, 1.0, 2.0))),
        ]);
        apply(&mut p, &params).unwrap();
        assert_eq!(p.count, 12);
        assert_eq!(p.speed, 2.5);
        assert!(p.loud);
        assert_eq!(p.label, "red mask");
        assert_eq!(p.at, Vec3::new(0.0, 1.0, 2.0));
        let back = to_params(&p);
        assert_eq!(back["count"], ParamValue::Number(12.0));
        assert_eq!(back["tint"], ParamValue::Triple((1.0, 0.5, 0.0)));
        assert_eq!(back.len(), 6);
    }

    #[test]
    fn unknown_names_and_wrong_types_are_refused_with_the_reason() {
        let mut p = Params::default();
        let e = apply(&mut p, &EffectParams::from([("cuont".into(), 1.0.into())])).unwrap_err();
        assert!(
            e.contains("no parameter \"cuont\"") && e.contains("count"),
            "{e}"
        );
        let e = apply(&mut p, &EffectParams::from([("count".into(), 1.5.into())])).unwrap_err();
        assert!(e.contains("whole number"), "{e}");
        let e = apply(&mut p, &EffectParams::from([("loud".into(), "yes".into())])).unwrap_err();
        assert!(e.contains("true or false"), "{e}");
        let e = apply(
            &mut p,
            &EffectParams::from([("speed".into(), "fast".into())]),
        )
        .unwrap_err();
        assert!(e.contains("\"speed\"") && e.contains("a number"), "{e}");
    }

    #[test]
    fn show_file_syntax_reads_every_kind_of_value() {
        let params: EffectParams =
            ron::from_str(r#"{"n": 3.0, "on": true, "c": (1.0, 0.2, 0.2), "s": "gold"}"#).unwrap();
        assert_eq!(params["n"], ParamValue::Number(3.0));
        assert_eq!(params["on"], ParamValue::Bool(true));
        assert_eq!(params["c"], ParamValue::Triple((1.0, 0.2, 0.2)));
        assert_eq!(params["s"], ParamValue::Text("gold".into()));
    }
}
