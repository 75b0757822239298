//! The credits and licence an avatar file states (VRM `meta`).

use serde_json::Value;

use super::json::text;

/// Who made the avatar and what its licence allows, as the file states it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AvatarMeta {
    /// The avatar's name (for a plain glTF file, the file name without extension).
    pub title: String,
    /// The avatar's version, as the file writes it.
    pub version: String,
    /// Its authors; empty when the file names none.
    pub authors: Vec<String>,
    /// The licence: its name (VRM 0.x) or URL (VRM 1.0); empty when the file states none.
    pub license: String,
    /// Every other field, in file order, as `(key, value)`.
    pub fields: Vec<(String, String)>,
}

/// VRM 1.0 `VRMC_vrm.meta`.
pub(super) fn vrm1(meta: &Value) -> AvatarMeta {
    AvatarMeta {
        title: text(&meta["name"]),
        version: text(&meta["version"]),
        authors: meta["authors"]
            .as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default(),
        license: text(&meta["licenseUrl"]),
        fields: other_fields(meta, &["name", "version", "authors", "licenseUrl"]),
    }
}

/// VRM 0.x `VRM.meta` (one author; the thumbnail `texture` is not a credit).
pub(super) fn vrm0(meta: &Value) -> AvatarMeta {
    AvatarMeta {
        title: text(&meta["title"]),
        version: text(&meta["version"]),
        authors: vec![text(&meta["author"])]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect(),
        license: text(&meta["licenseName"]),
        fields: other_fields(
            meta,
            &["title", "version", "author", "licenseName", "texture"],
        ),
    }
}

/// The fields of `meta` not in `skip`, in file order, as text.
fn other_fields(meta: &Value, skip: &[&str]) -> Vec<(String, String)> {
    meta.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), text(v)))
                .collect()
        })
        .unwrap_or_default()
}
