//! The per-avatar expression map: a `<file>.expressions.ron` sidecar next to the avatar that
//! says which canonical signals drive which of its expressions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ling_core::signals::ExpressionWeights;

use super::{AvatarError, AvatarFile};

impl AvatarFile {
    /// The sidecar file that overrides this avatar's expression map.
    pub(crate) fn expression_map_path(path: &Path) -> PathBuf {
        let mut name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".expressions.ron");
        path.with_file_name(name)
    }

    /// Reads `<file>.expressions.ron` if present: `{ "happy": [("mouthSmileLeft", 0.5), ...] }`.
    /// Unknown canonical names are refused with the file and the name.
    pub(super) fn load_expression_map(
        path: &Path,
    ) -> Result<BTreeMap<String, Vec<(String, f32)>>, AvatarError> {
        let map_path = Self::expression_map_path(path);
        let Ok(text) = std::fs::read_to_string(&map_path) else {
            return Ok(BTreeMap::new());
        };
        let err = |message: String| AvatarError::Format {
            path: map_path.clone(),
            message,
        };
        let map: BTreeMap<String, Vec<(String, f32)>> = ron::from_str(&text)
            .map_err(|e| err(format!("line {}: {}", e.span.start.line, e.code)))?;
        let probe = ExpressionWeights::default();
        for (expression, signals) in &map {
            for (signal, _) in signals {
                if probe.get(signal).is_none() {
                    return Err(err(format!(
                        "\"{expression}\" uses \"{signal}\", which is not an ARKit blendshape or viseme name"
                    )));
                }
            }
        }
        Ok(map)
    }
}
