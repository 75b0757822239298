//! Audio inputs and outputs (cpal) and analysis (level, onsets, tempo, visemes; [`analysis`]).
//! Device discovery and file analysis now; capture, playback and lip sync build on them.

use bevy::prelude::*;
use cpal::traits::{DeviceTrait, HostTrait};

pub mod analysis;

/// The audio devices the default host offers.
#[derive(Debug, Clone, Default)]
pub struct AudioDevices {
    pub host: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub default_input: Option<String>,
    pub default_output: Option<String>,
    /// Why the default input cannot be used, if it cannot (listed but unusable).
    pub input_error: Option<String>,
    /// Why the default output cannot be used, if it cannot.
    pub output_error: Option<String>,
}

/// Lists audio devices. Never panics: a machine without sound hardware gets empty lists.
pub fn list_devices() -> AudioDevices {
    let host = cpal::default_host();
    let name = |d: &cpal::Device| {
        d.description()
            .map(|desc| desc.name().to_string())
            .unwrap_or_else(|_| "(unnamed device)".to_string())
    };
    AudioDevices {
        host: format!("{:?}", host.id()),
        inputs: host
            .input_devices()
            .map(|ds| ds.map(|d| name(&d)).collect())
            .unwrap_or_default(),
        outputs: host
            .output_devices()
            .map(|ds| ds.map(|d| name(&d)).collect())
            .unwrap_or_default(),
        default_input: host.default_input_device().map(|d| name(&d)),
        default_output: host.default_output_device().map(|d| name(&d)),
        // ALSA lists a "default" device even on machines without sound hardware: asking for
        // its configuration is what tells whether it can really be opened.
        input_error: host
            .default_input_device()
            .and_then(|d| d.default_input_config().err())
            .map(|e| e.to_string()),
        output_error: host
            .default_output_device()
            .and_then(|d| d.default_output_config().err())
            .map(|e| e.to_string()),
    }
}

/// What the audio side is doing, for the panel.
#[derive(Resource, Debug, Clone, Default)]
pub struct AudioStatus {
    pub summary: String,
}

pub fn plugin(app: &mut App) {
    app.insert_resource(AudioStatus {
        summary: "no audio source in this show".into(),
    });
}
