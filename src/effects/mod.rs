//! Stage effects: the registry that built-in and third-party effects will share.

use bevy::prelude::*;

/// A registered effect, as the panel lists it.
#[derive(Debug, Clone)]
pub struct EffectInfo {
    pub name: String,
    pub description: String,
}

/// All effects registered with the app.
#[derive(Resource, Debug, Clone, Default)]
pub struct EffectRegistry {
    pub effects: Vec<EffectInfo>,
}

pub fn plugin(app: &mut App) {
    app.init_resource::<EffectRegistry>();
}
