#![warn(missing_docs)]
//! The director panel: the live operator's console (egui).
//!
//! The panel reads state (clock, stage lighting, camera, the sources' `*Status` resources,
//! the outputs' [`BroadcastStatus`], frame timing) through view structs and sends
//! [`DirectorCommand`] messages; it owns no show logic. Each section of the panel is one
//! function in `sections`. It docks on the right of the console window; the area left of it is
//! the program monitor, which shows the program picture (the image the stage camera renders
//! into and the outputs send). The [`program`] window shows the same picture alone, for
//! capture or projection.

use bevy::camera::visibility::RenderLayers;
use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, EguiTextureHandle,
    PrimaryEguiContext, egui,
};

use ling_audio::{AudioLevel, AudioStatus};
use ling_broadcast::BroadcastStatus;
use ling_core::settings::PhysicsSettings;
use ling_core::show::{ActiveShow, CommandLog, DirectorCommand, ShowClock};
use ling_core::signals::{HumanoidPose, Performer};
use ling_mocap::MotionStatus;
use ling_mocap::take::RecordingStatus;
use ling_mocap::vmc_source::VmcHealth;
use ling_performer::PerformerStatus;
use ling_set::keying::Backdrop;
use ling_set::{CameraDirector, StageLighting, StageOutput};
use ling_stage_fx::{EffectInstance, EffectParams, EffectRegistry, EffectStatus};
use ling_tracking::TrackingStatus;
use ling_tracking::iphone::IphoneStatus;
use ling_tracking::live::TrackingSettings;

pub mod console;
mod cues;
mod emotes;
pub mod hotkeys;
pub mod i18n;
pub mod program;
mod sections;
mod shots;

pub use program::{ConsoleLayout, ProgramWindow};

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
    app.add_plugins(console::plugin)
        .add_systems(EguiPrimaryContextPass, console::remember.after(draw_panel));
    app.init_resource::<PanelState>()
        .init_resource::<BroadcastStatus>()
        .init_resource::<Backdrop>()
        .add_plugins(program::plugin)
        .add_plugins(shots::plugin)
        .add_systems(Startup, spawn_panel_camera)
        .init_resource::<hotkeys::Hotkeys>()
        .add_systems(
            Update,
            (hotkeys::follow_show, hotkeys::dispatch)
                .chain()
                .before(ling_core::AppSystems::Clock),
        )
        .add_systems(
            EguiPrimaryContextPass,
            (draw_panel, hotkeys::draw_help).chain(),
        );
}

/// The console window is drawn by egui alone: the stage camera renders into the program image,
/// which the console shows as its monitor.
fn spawn_panel_camera(mut commands: Commands, mut settings: ResMut<EguiGlobalSettings>) {
    settings.auto_create_primary_context = false;
    commands.spawn((
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Camera {
            order: 1,
            clear_color: ClearColorConfig::Custom(Color::srgb(0.06, 0.06, 0.07)),
            ..default()
        },
    ));
}

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
    broadcast: Res<'w, BroadcastStatus>,
    output: Res<'w, StageOutput>,
    backdrop: Res<'w, Backdrop>,
}

/// What the panel shows of the sources and the performer, all from their status resources.
#[derive(SystemParam)]
struct SourcesView<'w, 's> {
    motion: Res<'w, MotionStatus>,
    recording: Res<'w, RecordingStatus>,
    performer: Res<'w, PerformerStatus>,
    vmc: Res<'w, VmcHealth>,
    tracking: Res<'w, TrackingStatus>,
    iphone: Res<'w, IphoneStatus>,
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
    mut shots_view: shots::ShotsView,
    cue_view: cues::CueView,
    mut cue_state: Local<cues::CueListState>,
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
        .resizable(true)
        .default_size(console::panel_width())
        .size_range(console::PANEL_WIDTH_RANGE.0..=console::PANEL_WIDTH_RANGE.1)
        .show(&mut background, |ui| {
            let scroll = egui::ScrollArea::vertical().auto_shrink([false, false]);
            scroll.show(ui, |ui| {
                console::header(ui);
                if let Some(show) = &view.show {
                    ui.label(egui::RichText::new(&show.0.name).italics());
                }
                ui.separator();
                sections::on_air(ui, &view.broadcast, &view.backdrop, out);
                ui.separator();
                sections::clock(ui, &view.clock, out);
                ui.separator();
                sections::camera(ui, &view.cameras, panel, out);
                ui.separator();
                sections::lights(ui, &view.lighting, view.show.as_deref(), panel, out);
                ui.separator();
                emotes::emotes(ui, out);
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
    console::set_panel_width(panel.width);
    // The cue list: a strip along the bottom, left of the panel.
    let ctx = contexts.ctx_mut()?;
    let mut strip = ctx.viewport_rect();
    strip.max.x -= panel.width;
    strip.min.y = (strip.max.y - cues::CUE_LIST_HEIGHT).max(strip.min.y);
    ctx.layer_painter(egui::LayerId::background()).rect_filled(
        strip,
        0.0,
        egui::Color32::from_rgb(22, 22, 26),
    );
    let mut cue_ui = egui::Ui::new(
        ctx.clone(),
        "cue list".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(strip.shrink(6.0)),
    );
    cues::cue_list(&mut cue_ui, &cue_view, &mut cue_state, out);
    // The program monitor: the rest of the window.
    if let StageOutput::Image(image) = &*view.output {
        let texture = contexts.add_image(EguiTextureHandle::Weak(image.id()));
        let ctx = contexts.ctx_mut()?;
        let mut area = ctx.viewport_rect();
        area.max.x -= panel.width;
        area.max.y = strip.min.y;
        let area = shots::mixer(ctx, area, &mut shots_view, out);
        program_monitor(ctx, area, texture, &view);
    }
    Ok(())
}

/// Draws the program picture fitted into `area` of the console, with its on-air tally.
fn program_monitor(
    ctx: &egui::Context,
    area: egui::Rect,
    texture: egui::TextureId,
    view: &ShowView,
) {
    let painter = ctx.layer_painter(egui::LayerId::background());
    let size = view.broadcast.size.max(UVec2::ONE);
    let rect = program::fit(area.shrink(8.0), size);
    painter.rect_filled(rect, 0.0, program::backdrop_colour(&view.backdrop));
    painter.image(
        texture,
        rect,
        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
        egui::Color32::WHITE,
    );
    let (tally, colour) = if view.broadcast.on_air {
        (i18n::tr("ON AIR"), egui::Color32::from_rgb(210, 30, 30))
    } else {
        (i18n::tr("PROGRAM"), egui::Color32::from_gray(90))
    };
    let label = egui::Rect::from_min_size(rect.min + egui::vec2(8.0, 8.0), egui::vec2(84.0, 22.0));
    painter.rect_filled(label, 3.0, colour);
    painter.text(
        label.center(),
        egui::Align2::CENTER_CENTER,
        tally,
        egui::FontId::proportional(13.0),
        egui::Color32::WHITE,
    );
}

/// What an app needs to add the panel.
pub mod prelude {
    pub use crate::plugin as director_plugin;
}
