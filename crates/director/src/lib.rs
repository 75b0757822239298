#![warn(missing_docs)]
//! The director panel: the live operator's console (egui).
//!
//! The panel reads state (clock, stage lighting, camera, the sources' `*Status` resources,
//! frame timing) through view structs and sends [`DirectorCommand`] messages; it owns no show
//! logic. Each section of the panel is one function in `sections`. It docks on the right of the window and
//! the stage camera's viewport shrinks to the area left of it, so the panel never covers the
//! stage.

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, Viewport};
use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::window::PrimaryWindow;
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, PrimaryEguiContext, egui,
};

use ling_audio::{AudioLevel, AudioStatus};
use ling_core::settings::PhysicsSettings;
use ling_core::show::{ActiveShow, CommandLog, DirectorCommand, ShowClock};
use ling_core::signals::{HumanoidPose, Performer};
use ling_mocap::MotionStatus;
use ling_mocap::take::RecordingStatus;
use ling_mocap::vmc_source::VmcHealth;
use ling_performer::PerformerStatus;
use ling_set::{CameraDirector, StageCamera, StageLighting};
use ling_stage_fx::{EffectInstance, EffectParams, EffectRegistry, EffectStatus};
use ling_tracking::TrackingStatus;
use ling_tracking::live::TrackingSettings;

mod sections;

/// Panel settings the operator changes while directing.
#[derive(Resource, Debug, Clone)]
pub(crate) struct PanelState {
    /// Fade time for light cues fired from the panel (seconds).
    pub light_fade: f32,
    /// Blend time for camera changes fired from the panel (0 = cut).
    pub camera_blend: f32,
    /// Width the panel took last frame, in logical pixels.
    width: f32,
    /// The BVH file typed into the motion field.
    motion_path: String,
    /// The avatar file typed into the performer field.
    avatar_path: String,
    /// Effect parameters as edited in the panel, by effect name (the registry's defaults until
    /// the operator changes them).
    effect_params: std::collections::BTreeMap<String, EffectParams>,
}

impl Default for PanelState {
    fn default() -> Self {
        Self {
            light_fade: 1.5,
            camera_blend: 0.0,
            width: 0.0,
            motion_path: String::new(),
            avatar_path: String::new(),
            effect_params: Default::default(),
        }
    }
}

/// The director panel: egui on its own camera over the stage, docked on the right.
pub fn plugin(app: &mut App) {
    if !app.is_plugin_added::<FrameTimeDiagnosticsPlugin>() {
        app.add_plugins(FrameTimeDiagnosticsPlugin::default());
    }
    app.init_resource::<PanelState>()
        .add_systems(Startup, spawn_panel_camera)
        .add_systems(EguiPrimaryContextPass, draw_panel)
        .add_systems(PostUpdate, fit_stage_viewport);
}

/// egui draws through its own camera on top of the stage, so the stage camera keeps its HDR,
/// bloom and tonemapping settings to itself.
fn spawn_panel_camera(mut commands: Commands, mut settings: ResMut<EguiGlobalSettings>) {
    settings.auto_create_primary_context = false;
    commands.spawn((
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Camera {
            order: 1,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
}

/// Width of the docked panel in logical pixels.
const PANEL_WIDTH: f32 = 300.0;

/// What the panel shows of the show and the stage: the clock, the show file, the log, the
/// light cue and the camera shot.
#[derive(SystemParam)]
struct ShowView<'w> {
    clock: Res<'w, ShowClock>,
    show: Option<Res<'w, ActiveShow>>,
    log: Res<'w, CommandLog>,
    lighting: Res<'w, StageLighting>,
    cameras: Res<'w, CameraDirector>,
    physics: Res<'w, PhysicsSettings>,
    diagnostics: Res<'w, DiagnosticsStore>,
}

/// What the panel shows of the sources and the performer, all from their status resources.
#[derive(SystemParam)]
struct SourcesView<'w, 's> {
    motion: Res<'w, MotionStatus>,
    recording: Res<'w, RecordingStatus>,
    performer: Res<'w, PerformerStatus>,
    vmc: Res<'w, VmcHealth>,
    tracking: Res<'w, TrackingStatus>,
    tracking_settings: Option<Res<'w, TrackingSettings>>,
    audio: Res<'w, AudioStatus>,
    audio_level: Res<'w, AudioLevel>,
    performers: Query<
        'w,
        's,
        (
            &'static Performer,
            &'static Transform,
            &'static HumanoidPose,
        ),
    >,
}

/// What the panel shows of the stage effects.
#[derive(SystemParam)]
struct EffectsView<'w, 's> {
    registry: Option<Res<'w, EffectRegistry>>,
    status: Option<Res<'w, EffectStatus>>,
    running: Query<'w, 's, &'static EffectInstance>,
}

/// Draws the panel: one section after another, each reading its view and sending commands.
fn draw_panel(
    mut contexts: EguiContexts,
    mut panel: ResMut<PanelState>,
    view: ShowView,
    sources: SourcesView,
    effects: EffectsView,
    mut preview: Local<Option<(egui::TextureHandle, u64)>>,
    mut out: MessageWriter<DirectorCommand>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let mut background = egui::Ui::new(
        ctx.clone(),
        "stage".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let panel = &mut *panel;
    let out = &mut out;
    let response = egui::Panel::right("director")
        .resizable(false)
        .exact_size(PANEL_WIDTH)
        .show(&mut background, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Ling Stage — Director");
                if let Some(show) = &view.show {
                    ui.label(egui::RichText::new(&show.0.name).italics());
                }
                ui.separator();
                sections::clock(ui, &view.clock, out);
                ui.separator();
                sections::camera(ui, &view.cameras, panel, out);
                ui.separator();
                sections::lights(ui, &view.lighting, view.show.as_deref(), panel, out);
                ui.separator();
                sections::recording(ui, &sources.recording, out);
                ui.separator();
                sections::performer(ui, &sources.performer, panel, out);
                ui.separator();
                if let (Some(settings), Some(_)) =
                    (&sources.tracking_settings, &sources.tracking.source)
                {
                    sections::tracking(ui, &sources.tracking, settings, &mut preview, out);
                    ui.separator();
                }
                sections::physics(ui, &view.physics, out);
                ui.separator();
                if let (Some(registry), Some(status)) = (&effects.registry, &effects.status) {
                    sections::effects(
                        ui,
                        registry,
                        status,
                        &effects.running,
                        &mut panel.effect_params,
                        out,
                    );
                    ui.separator();
                }
                sections::sources(ui, &sources, panel, out);
                ui.separator();
                sections::performance(ui, &view.diagnostics);
                ui.separator();
                sections::recent_commands(ui, &view.log);
            });
        });
    panel.width = response.response.rect.width();
    Ok(())
}

/// Keeps the stage camera's viewport to the window area left of the panel.
fn fit_stage_viewport(
    panel: Res<PanelState>,
    window: Single<&Window, With<PrimaryWindow>>,
    mut camera: Single<&mut Camera, With<StageCamera>>,
) {
    let scale = window.scale_factor();
    let width = window.physical_width();
    let height = window.physical_height();
    let panel_px = ((panel.width * scale) as u32).min(width.saturating_sub(1));
    let size = UVec2::new(width - panel_px, height);
    if size.x == 0 || size.y == 0 {
        return;
    }
    let viewport = Viewport {
        physical_position: UVec2::ZERO,
        physical_size: size,
        ..default()
    };
    if camera.viewport.as_ref().map(|v| v.physical_size) != Some(size) {
        camera.viewport = Some(viewport);
    }
}

/// What an app needs to add the panel.
pub mod prelude {
    pub use crate::plugin as director_plugin;
}
