//! The avatar's expressions: VRM 1.0 `expressions`, VRM 0.x blend-shape groups (renamed to VRM
//! 1.0 names), or, for plain glTF, one expression per named morph target.

use serde_json::Value;

use super::json::{f32_of, text};

/// One morph target moved by an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct MorphBind {
    /// The glTF mesh the target belongs to.
    pub mesh: usize,
    /// The morph target's index within that mesh.
    pub index: usize,
    /// The target's weight at full expression, 0..1 (VRM 0.x's 0..100 is rescaled).
    pub weight: f32,
}

/// What an expression does to a group of other expressions (blinks, look-at or mouth shapes)
/// while it shows: VRM 1.0's `overrideBlink`, `overrideLookAt` and `overrideMouth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Override {
    /// Leaves them alone.
    #[default]
    None,
    /// Turns them off whenever this expression shows at all.
    Block,
    /// Turns them down by this expression's weight (off at full weight).
    Blend,
}

/// One of the avatar's expressions: the morph targets it moves and how it combines with others.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    /// VRM 1.0 name (`aa`, `happy`, `blinkLeft`, ... or the custom name).
    pub name: String,
    /// Whether the name is one of VRM's presets.
    pub preset: bool,
    /// The morph targets it moves.
    pub binds: Vec<MorphBind>,
    /// Material colour / texture transform binds (counted; not applied to the materials yet).
    pub material_binds: usize,
    /// Whether its weight snaps to 0 or 1 (above 0.5 shows it fully).
    pub is_binary: bool,
    /// What it does to blinks while it shows.
    pub override_blink: Override,
    /// What it does to look expressions while it shows.
    pub override_look_at: Override,
    /// What it does to the mouth shapes (`aa` ... `oh`) while it shows.
    pub override_mouth: Override,
}

impl Expression {
    /// An expression of this name moving one morph target fully, with no override rules.
    fn single(name: String, preset: bool, mesh: usize, index: usize) -> Self {
        Expression {
            name,
            preset,
            binds: vec![MorphBind {
                mesh,
                index,
                weight: 1.0,
            }],
            material_binds: 0,
            is_binary: false,
            override_blink: Override::None,
            override_look_at: Override::None,
            override_mouth: Override::None,
        }
    }
}

fn override_of(v: &Value) -> Override {
    match v.as_str() {
        Some("block") => Override::Block,
        Some("blend") => Override::Blend,
        _ => Override::None,
    }
}

/// VRM 1.0 `expressions` (`preset` then `custom`). Binds name nodes; they are kept by the mesh
/// the node carries.
pub(super) fn vrm1(expressions: &Value, nodes: &[Value]) -> Vec<Expression> {
    let mesh_of_node = |i: usize| {
        nodes
            .get(i)
            .and_then(|n| n["mesh"].as_u64())
            .map(|m| m as usize)
    };
    let mut out = Vec::new();
    for (group, preset) in [("preset", true), ("custom", false)] {
        if let Some(exprs) = expressions[group].as_object() {
            for (name, e) in exprs {
                let binds = e["morphTargetBinds"]
                    .as_array()
                    .map(|bs| {
                        bs.iter()
                            .filter_map(|b| {
                                let node = b["node"].as_u64()? as usize;
                                Some(MorphBind {
                                    mesh: mesh_of_node(node)?,
                                    index: b["index"].as_u64()? as usize,
                                    weight: f32_of(&b["weight"], 1.0),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let count = |k: &str| e[k].as_array().map(Vec::len).unwrap_or(0);
                out.push(Expression {
                    name: name.clone(),
                    preset,
                    binds,
                    material_binds: count("materialColorBinds") + count("textureTransformBinds"),
                    is_binary: e["isBinary"].as_bool().unwrap_or(false),
                    override_blink: override_of(&e["overrideBlink"]),
                    override_look_at: override_of(&e["overrideLookAt"]),
                    override_mouth: override_of(&e["overrideMouth"]),
                });
            }
        }
    }
    out
}

/// VRM 0.x preset names to VRM 1.0 expression names.
fn vrm0_preset(preset: &str) -> Option<&'static str> {
    Some(match preset {
        "a" => "aa",
        "i" => "ih",
        "u" => "ou",
        "e" => "ee",
        "o" => "oh",
        "joy" => "happy",
        "angry" => "angry",
        "sorrow" => "sad",
        "fun" => "relaxed",
        "surprised" => "surprised",
        "blink" => "blink",
        "blink_l" => "blinkLeft",
        "blink_r" => "blinkRight",
        "lookup" => "lookUp",
        "lookdown" => "lookDown",
        "lookleft" => "lookLeft",
        "lookright" => "lookRight",
        "neutral" => "neutral",
        _ => return None,
    })
}

/// VRM 0.x `blendShapeMaster.blendShapeGroups`; presets take their VRM 1.0 names. VRM 0.x has
/// no override rules.
pub(super) fn vrm0(blend_shape_master: &Value) -> Vec<Expression> {
    let mut out = Vec::new();
    for g in blend_shape_master["blendShapeGroups"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let preset_name = g["presetName"]
            .as_str()
            .unwrap_or("unknown")
            .to_ascii_lowercase();
        let (name, preset) = match vrm0_preset(&preset_name) {
            Some(n) => (n.to_string(), true),
            None => (text(&g["name"]), false),
        };
        let binds = g["binds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| {
                Some(MorphBind {
                    mesh: b["mesh"].as_u64()? as usize,
                    index: b["index"].as_u64()? as usize,
                    // VRM 0.x weights are 0..100.
                    weight: f32_of(&b["weight"], 100.0) / 100.0,
                })
            })
            .collect();
        out.push(Expression {
            name,
            preset,
            binds,
            material_binds: g["materialValues"].as_array().map(Vec::len).unwrap_or(0),
            is_binary: g["isBinary"].as_bool().unwrap_or(false),
            override_blink: Override::None,
            override_look_at: Override::None,
            override_mouth: Override::None,
        });
    }
    out
}

/// Plain glTF: morph targets named in `extras.targetNames` (per mesh) become custom expressions
/// of the same name; a name used by several meshes moves all of them.
pub(super) fn from_morph_targets(morph_targets: &[Vec<String>]) -> Vec<Expression> {
    let mut out: Vec<Expression> = Vec::new();
    for (mesh, names) in morph_targets.iter().enumerate() {
        for (index, name) in names.iter().enumerate() {
            match out.iter_mut().find(|e| &e.name == name) {
                Some(e) => e.binds.push(MorphBind {
                    mesh,
                    index,
                    weight: 1.0,
                }),
                None => out.push(Expression::single(name.clone(), false, mesh, index)),
            }
        }
    }
    out
}

/// The built-in performer's expressions: one preset per morph target of her single mesh, of the
/// same name.
pub(super) fn builtin(morph_targets: &[&str]) -> Vec<Expression> {
    morph_targets
        .iter()
        .enumerate()
        .map(|(index, name)| Expression::single(name.to_string(), true, 0, index))
        .collect()
}
