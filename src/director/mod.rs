//! The director panel: the live operator's console (egui).
//!
//! The panel reads state (clock, stage lighting, camera, sources, frame timing) and sends
//! [`DirectorCommand`] messages; it owns no show logic. It docks on the right of the window and
//! the stage camera's viewport shrinks to the area left of it, so the panel never covers the
//! stage.

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, Viewport};
use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::window::PrimaryWindow;
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, PrimaryEguiContext, egui,
};

use crate::audio::AudioStatus;
use crate::effects::{EffectInstance, EffectParams, EffectRegistry, EffectStatus, ParamValue};
use crate::mocap::vmc_source::VmcHealth;
use crate::mocap::{MotionPlayer, MotionStatus};
use crate::performer::PerformerStatus;
use crate::performer::avatar_scene::AvatarRig;
use crate::performer::{HumanoidPose, Performer, stage_position};
use crate::physics::PhysicsSettings;
use crate::show::take::Recording;
use crate::show::{ActiveShow, CommandLog, DirectorCommand, MotionSpec, PerformerSpec, ShowClock};
use crate::stage::{CameraDirector, CameraShot, StageCamera, StageLighting};
use crate::tracking::TrackingStatus;
use crate::tracking::live::{Calibrate, TrackingSettings};

/// Panel settings the operator changes while directing.
#[derive(Resource, Debug, Clone)]
pub struct PanelState {
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

fn fmt_time(t: f64) -> String {
    let m = (t / 60.0).floor();
    format!("{:02}:{:05.2}", m as u32, t - m * 60.0)
}

#[allow(clippy::too_many_arguments)]
fn draw_panel(
    mut contexts: EguiContexts,
    mut panel: ResMut<PanelState>,
    clock: Res<ShowClock>,
    show: Option<Res<ActiveShow>>,
    lighting: Res<StageLighting>,
    cameras: Res<CameraDirector>,
    (log, diagnostics): (Res<CommandLog>, Res<DiagnosticsStore>),
    (motion, motion_status): (Option<Res<MotionPlayer>>, Res<MotionStatus>),
    (tracking, tracking_settings): (Res<TrackingStatus>, Option<Res<TrackingSettings>>),
    (vmc, mut preview): (Res<VmcHealth>, Local<Option<(egui::TextureHandle, u64)>>),
    (recording, physics): (Res<Recording>, Res<PhysicsSettings>),
    (avatars, performer_status): (Query<(Entity, &AvatarRig)>, Res<PerformerStatus>),
    (audio, audio_level): (Res<AudioStatus>, Res<crate::audio::AudioLevel>),
    performers: Query<(&Performer, &Transform, &HumanoidPose)>,
    effects: (
        Option<Res<EffectRegistry>>,
        Option<Res<EffectStatus>>,
        Query<&EffectInstance>,
    ),
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
    let response = egui::Panel::right("director")
        .resizable(false)
        .exact_size(PANEL_WIDTH)
        .show(&mut background, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.heading("Ling Stage — Director");
                if let Some(show) = &show {
                    ui.label(egui::RichText::new(&show.0.name).italics());
                }
                ui.separator();

                // Show clock.
                ui.strong("Show clock");
                ui.label(
                    egui::RichText::new(format!(
                        "{} / {}",
                        fmt_time(clock.time),
                        fmt_time(clock.duration)
                    ))
                    .monospace()
                    .size(20.0),
                );
                ui.add(egui::ProgressBar::new(clock.progress() as f32));
                ui.horizontal(|ui| {
                    let label = if clock.playing { "Pause" } else { "Play" };
                    if ui.button(label).clicked() {
                        out.write(DirectorCommand::TogglePlay);
                    }
                    if ui.button("Restart").clicked() {
                        out.write(DirectorCommand::Seek(0.0));
                        out.write(DirectorCommand::Play);
                    }
                });
                let mut t = clock.time;
                let seek = ui.add(
                    egui::Slider::new(&mut t, 0.0..=clock.duration)
                        .text("seek")
                        .show_value(false),
                );
                if seek.changed() {
                    out.write(DirectorCommand::Seek(t));
                }
                ui.separator();

                // Cameras.
                ui.strong("Camera");
                ui.horizontal(|ui| {
                    for shot in CameraShot::ALL {
                        let selected = cameras.shot == shot;
                        if ui.selectable_label(selected, shot.label()).clicked() {
                            out.write(DirectorCommand::CutTo {
                                shot,
                                blend: panel.camera_blend,
                            });
                        }
                    }
                });
                ui.add(egui::Slider::new(&mut panel.camera_blend, 0.0..=3.0).text("blend s"));
                ui.separator();

                // Lights.
                ui.strong("Light cues");
                ui.label(format!(
                    "Current: {}",
                    lighting.cue.as_deref().unwrap_or("preshow")
                ));
                if let Some(show) = &show {
                    ui.horizontal_wrapped(|ui| {
                        for name in show.0.lights.keys() {
                            let selected = lighting.cue.as_deref() == Some(name.as_str());
                            if ui.selectable_label(selected, name).clicked() {
                                out.write(DirectorCommand::LightCue {
                                    name: name.clone(),
                                    fade: panel.light_fade,
                                });
                            }
                        }
                    });
                }
                ui.add(egui::Slider::new(&mut panel.light_fade, 0.0..=5.0).text("fade s"));
                ui.separator();

                // Sources and performer.
                ui.strong("Recording");
                match &recording.recorder {
                    Some(r) => {
                        ui.label(
                            egui::RichText::new(format!(
                                "REC {:.1} s, {} frames",
                                r.frames() as f32 / r.fps as f32,
                                r.frames()
                            ))
                            .color(egui::Color32::from_rgb(230, 60, 60))
                            .strong(),
                        );
                        ui.label(egui::RichText::new(r.dir.display().to_string()).small());
                        if ui.button("Stop recording").clicked() {
                            out.write(DirectorCommand::StopRecording);
                        }
                    }
                    None => {
                        if ui.button("Record take").clicked() {
                            out.write(DirectorCommand::StartRecording);
                        }
                        if let Some(last) = &recording.last_take {
                            ui.label(
                                egui::RichText::new(format!("last: {}", last.display())).small(),
                            );
                        }
                    }
                }
                if let Some(e) = &recording.last_error {
                    ui.label(
                        egui::RichText::new(e)
                            .color(egui::Color32::from_rgb(230, 120, 60))
                            .small(),
                    );
                }
                ui.separator();

                ui.strong("Performer");
                ui.horizontal(|ui| {
                    if ui
                        .button("Ling")
                        .on_hover_text("the built-in performer")
                        .clicked()
                    {
                        out.write(DirectorCommand::SwitchPerformer(PerformerSpec::BuiltIn));
                    }
                    ui.add(
                        egui::TextEdit::singleline(&mut panel.avatar_path)
                            .hint_text("avatar.vrm")
                            .desired_width(150.0),
                    );
                    if ui.button("Load").clicked() && !panel.avatar_path.trim().is_empty() {
                        out.write(DirectorCommand::SwitchPerformer(PerformerSpec::Avatar {
                            path: panel.avatar_path.trim().into(),
                        }));
                    }
                });
                for (_, rig) in &avatars {
                    let m = &rig.file.meta;
                    ui.label(
                        egui::RichText::new(format!(
                            "{} {} by {} — {}",
                            m.title,
                            m.version,
                            if m.authors.is_empty() {
                                "unknown".to_string()
                            } else {
                                m.authors.join(", ")
                            },
                            if m.license.is_empty() {
                                "no licence stated"
                            } else {
                                &m.license
                            }
                        ))
                        .small(),
                    );
                }
                if let Some(path) = &performer_status.loading {
                    ui.label(egui::RichText::new(format!("loading {path}...")).small());
                }
                if let Some(e) = &performer_status.error {
                    ui.label(
                        egui::RichText::new(e)
                            .color(egui::Color32::from_rgb(230, 120, 60))
                            .small(),
                    );
                }
                ui.separator();

                if let (Some(settings), Some(_)) = (&tracking_settings, &tracking.source) {
                    tracking_section(ui, &tracking, settings, &mut preview, &mut out);
                    ui.separator();
                }

                egui::CollapsingHeader::new("Costume physics")
                    .default_open(false)
                    .show(ui, |ui| {
                        let mut edited = *physics;
                        for (label, group) in [
                            ("Plumes", &mut edited.plumes),
                            ("Water sleeves", &mut edited.sleeves),
                            ("Door curtains", &mut edited.curtains),
                            ("Back flags", &mut edited.flags),
                        ] {
                            ui.label(label);
                            ui.add(
                                egui::Slider::new(&mut group.stiffness, 0.0..=20.0)
                                    .text("stiffness"),
                            );
                            ui.add(egui::Slider::new(&mut group.drag, 0.0..=1.0).text("drag"));
                            ui.add(
                                egui::Slider::new(&mut group.gravity, 0.0..=2.0).text("gravity"),
                            );
                        }
                        ui.add(
                            egui::Slider::new(&mut edited.wind.strength, 0.0..=3.0).text("wind"),
                        );
                        ui.add(egui::Slider::new(&mut edited.wind.gusts, 0.0..=1.0).text("gusts"));
                        if edited != *physics {
                            out.write(DirectorCommand::SetPhysics(edited));
                        }
                        if ui.button("Reset costume").clicked() {
                            out.write(DirectorCommand::ResetPhysics);
                        }
                    });
                ui.separator();

                if let (Some(registry), Some(status)) = (&effects.0, &effects.1) {
                    effects_section(
                        ui,
                        registry,
                        status,
                        &effects.2,
                        &mut panel.effect_params,
                        &mut out,
                    );
                    ui.separator();
                }

                ui.strong("Sources");
                for (performer, root, pose) in &performers {
                    let p = stage_position(root, pose);
                    ui.label(format!("{} at ({:+.2}, {:+.2})", performer.name, p.x, p.z));
                }
                let motion_text = match &motion {
                    Some(m) => format!(
                        "Motion: {}, {:.1} s{}{}",
                        m.source.label(),
                        m.source.duration(),
                        if m.speed != 1.0 {
                            format!(", ×{:.2}", m.speed)
                        } else {
                            String::new()
                        },
                        if m.looping { ", looping" } else { "" }
                    ),
                    None => "Motion: none".to_string(),
                };
                ui.label(motion_text);
                if let Some(m) = &motion {
                    let mut speed = m.speed;
                    if ui
                        .add(egui::Slider::new(&mut speed, 0.25..=2.0).text("speed"))
                        .changed()
                    {
                        out.write(DirectorCommand::MotionSpeed(speed));
                    }
                    let mut looping = m.looping;
                    if ui.checkbox(&mut looping, "loop motion").changed() {
                        out.write(DirectorCommand::MotionLoop(looping));
                    }
                }
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut panel.motion_path)
                            .hint_text("clip.bvh")
                            .desired_width(190.0),
                    );
                    if ui.button("Play").clicked() && !panel.motion_path.trim().is_empty() {
                        out.write(DirectorCommand::PlayMotion {
                            motion: MotionSpec::Bvh {
                                path: panel.motion_path.trim().into(),
                                speed: 1.0,
                                looping: true,
                                bone_map: None,
                            },
                            crossfade: 0.5,
                        });
                    }
                });
                if let Some(what) = &motion_status.loading {
                    ui.label(egui::RichText::new(format!("loading {what}...")).small());
                }
                if let Some(e) = &motion_status.error {
                    ui.label(
                        egui::RichText::new(e)
                            .color(egui::Color32::from_rgb(230, 120, 60))
                            .small(),
                    );
                }
                ui.label(vmc_status(&vmc));
                if tracking.source.is_none() {
                    ui.label(format!("Tracking: {}", tracking.summary));
                }
                ui.label(format!("Audio: {}", audio.summary));
                if let Some(db) = audio_level.dbfs {
                    // A meter from -60 to 0 dBFS.
                    ui.add(
                        egui::ProgressBar::new(((db + 60.0) / 60.0).clamp(0.0, 1.0))
                            .text(format!("{db:.0} dBFS")),
                    );
                }
                ui.separator();

                // Timing.
                ui.strong("Performance");
                let fps = diagnostics
                    .get(&FrameTimeDiagnosticsPlugin::FPS)
                    .and_then(|d| d.smoothed());
                let frame = diagnostics
                    .get(&FrameTimeDiagnosticsPlugin::FRAME_TIME)
                    .and_then(|d| d.smoothed());
                ui.label(
                    egui::RichText::new(format!(
                        "{:>5.1} fps   {:>6.1} ms/frame",
                        fps.unwrap_or(0.0),
                        frame.unwrap_or(0.0)
                    ))
                    .monospace(),
                );
                ui.separator();

                egui::CollapsingHeader::new("Recent commands")
                    .default_open(false)
                    .show(ui, |ui| {
                        for (t, command) in log.entries.iter().rev().take(8) {
                            ui.label(
                                egui::RichText::new(format!(
                                    "{} {}",
                                    fmt_time(*t),
                                    describe(command)
                                ))
                                .small(),
                            );
                        }
                    });
            });
        });
    panel.width = response.response.rect.width();
    Ok(())
}

/// The tracking source: health, a preview of the camera with the landmarks drawn over it,
/// per-stage latency, calibration buttons and the filter settings.
fn tracking_section(
    ui: &mut egui::Ui,
    status: &TrackingStatus,
    settings: &TrackingSettings,
    preview: &mut Option<(egui::TextureHandle, u64)>,
    out: &mut MessageWriter<DirectorCommand>,
) {
    egui::CollapsingHeader::new("Face & hand tracking")
        .default_open(true)
        .show(ui, |ui| {
            let colour = if status.healthy {
                egui::Color32::from_rgb(120, 200, 120)
            } else {
                egui::Color32::from_rgb(230, 120, 60)
            };
            ui.label(egui::RichText::new(&status.summary).color(colour).small());
            if !status.models.is_empty() {
                ui.label(egui::RichText::new(&status.models).small());
            }
            if let Some(frame) = &status.preview {
                let image = egui::ColorImage::from_rgb(
                    [frame.width as usize, frame.height as usize],
                    &frame.rgb,
                );
                match preview {
                    Some((texture, serial)) if *serial != status.preview_serial => {
                        // Same size: update the pixels in place (a new texture every frame
                        // would not be ready to draw in the frame it is made).
                        if texture.size() == image.size {
                            texture.set_partial([0, 0], image, egui::TextureOptions::LINEAR);
                        } else {
                            texture.set(image, egui::TextureOptions::LINEAR);
                        }
                        *serial = status.preview_serial;
                    }
                    Some(_) => {}
                    None => {
                        let texture = ui.ctx().load_texture(
                            "tracking preview",
                            image,
                            egui::TextureOptions::LINEAR,
                        );
                        *preview = Some((texture, status.preview_serial));
                    }
                }
                if let Some((texture, _)) = preview.as_ref() {
                    // At most 150 px tall, so the controls below stay in view.
                    let width = ui
                        .available_width()
                        .min(frame.width as f32)
                        .min(150.0 * frame.width as f32 / frame.height.max(1) as f32);
                    let scale = width / frame.width as f32;
                    let size = egui::vec2(width, frame.height as f32 * scale);
                    let response = ui.image((texture.id(), size));
                    let origin = response.rect.min;
                    let painter = ui.painter_at(response.rect);
                    let at = |p: &[f32; 2]| origin + egui::vec2(p[0] * scale, p[1] * scale);
                    for p in &frame.face {
                        painter.circle_filled(at(p), 0.8, egui::Color32::from_rgb(80, 230, 255));
                    }
                    for p in &frame.hand {
                        painter.circle_filled(at(p), 1.8, egui::Color32::from_rgb(255, 200, 60));
                    }
                }
            }
            if status.preview.is_some() {
                ui.label(
                    egui::RichText::new(format!(
                        "{:.0} fps  capture {:.1}  inference {:.1}  solve {:.1}  age {:.0} ms",
                        status.fps,
                        status.capture_ms,
                        status.inference_ms,
                        status.solve_ms,
                        status.age_ms
                    ))
                    .small()
                    .monospace(),
                );
            }
            ui.horizontal(|ui| {
                if ui.button("Neutral face").clicked() {
                    out.write(DirectorCommand::CalibrateTracking(Calibrate::NeutralFace));
                }
                if ui.button("Hand rest").clicked() {
                    out.write(DirectorCommand::CalibrateTracking(Calibrate::HandRest));
                }
                if ui.button("Clear").clicked() {
                    out.write(DirectorCommand::CalibrateTracking(Calibrate::Clear));
                }
            });
            let calibrated = match (status.face_calibrated, status.hand_calibrated) {
                (true, true) => "calibrated: face and hands",
                (true, false) => "calibrated: face",
                (false, true) => "calibrated: hands",
                (false, false) => "not calibrated",
            };
            let note = if status.calibration.is_empty() {
                calibrated.to_string()
            } else {
                format!("{}; {calibrated}", status.calibration)
            };
            ui.label(egui::RichText::new(note).small());
            let mut tuning = settings.tuning;
            ui.add(
                egui::Slider::new(&mut tuning.min_cutoff, 0.05..=5.0)
                    .logarithmic(true)
                    .text("cutoff Hz"),
            );
            ui.add(egui::Slider::new(&mut tuning.beta, 0.0..=2.0).text("speed"))
                .on_hover_text(
                    "One Euro speed coefficient: higher follows fast moves more closely",
                );
            ui.add(egui::Slider::new(&mut tuning.min_presence, 0.0..=1.0).text("confidence"))
                .on_hover_text("results below this presence are not applied");
            ui.add(egui::Slider::new(&mut tuning.mouth_from_camera, 0.0..=1.0).text("mouth cam"));
            if tuning != settings.tuning {
                out.write(DirectorCommand::TuneTracking(tuning));
            }
        });
}

/// Lists the registered stage effects; each opens to its description, an editor for its
/// parameters (read from the effect's `Reflect` fields) and Fire / Stop buttons.
fn effects_section(
    ui: &mut egui::Ui,
    registry: &EffectRegistry,
    status: &EffectStatus,
    running: &Query<&EffectInstance>,
    edits: &mut std::collections::BTreeMap<String, EffectParams>,
    out: &mut MessageWriter<DirectorCommand>,
) {
    egui::CollapsingHeader::new("Effects")
        .default_open(true)
        .show(ui, |ui| {
            for entry in registry.iter() {
                let live = running.iter().filter(|i| i.name == entry.name).count();
                let title = if live > 0 {
                    format!("{} ({live} running)", entry.name)
                } else {
                    entry.name.to_string()
                };
                egui::CollapsingHeader::new(title)
                    .id_salt(entry.name)
                    .show(ui, |ui| {
                        ui.label(egui::RichText::new(entry.description).small());
                        let params = edits
                            .entry(entry.name.to_string())
                            .or_insert_with(|| entry.defaults.clone());
                        for (name, value) in params.iter_mut() {
                            param_editor(ui, name, value);
                        }
                        ui.horizontal(|ui| {
                            if ui.button("Fire").clicked() {
                                out.write(DirectorCommand::TriggerEffect {
                                    name: entry.name.to_string(),
                                    params: params.clone(),
                                });
                            }
                            if ui.button("Stop").clicked() {
                                out.write(DirectorCommand::StopEffect {
                                    name: entry.name.to_string(),
                                });
                            }
                            if ui.button("Defaults").clicked() {
                                *params = entry.defaults.clone();
                            }
                        });
                    });
            }
            if let Some(e) = &status.last_error {
                ui.label(
                    egui::RichText::new(e)
                        .color(egui::Color32::from_rgb(230, 120, 60))
                        .small(),
                );
            }
        });
}

/// One parameter: a number, a switch, a text, or three numbers (a colour picker when the name
/// says colour).
fn param_editor(ui: &mut egui::Ui, name: &str, value: &mut ParamValue) {
    ui.horizontal(|ui| {
        ui.label(name);
        match value {
            ParamValue::Number(n) => {
                let speed = (n.abs() * 0.01).max(0.01);
                ui.add(egui::DragValue::new(n).speed(speed));
            }
            ParamValue::Bool(b) => {
                ui.checkbox(b, "");
            }
            ParamValue::Text(t) => {
                ui.add(egui::TextEdit::singleline(t).desired_width(120.0));
            }
            ParamValue::Triple((a, b, c)) => {
                if name.contains("color") || name.contains("colour") {
                    let mut rgb = [*a, *b, *c];
                    if ui.color_edit_button_rgb(&mut rgb).changed() {
                        (*a, *b, *c) = (rgb[0], rgb[1], rgb[2]);
                    }
                } else {
                    for v in [a, b, c] {
                        ui.add(egui::DragValue::new(v).speed(0.01));
                    }
                }
            }
        }
    });
}

fn vmc_status(vmc: &VmcHealth) -> String {
    let mut parts = Vec::new();
    match (vmc.listening, &vmc.error) {
        (Some(addr), _) => {
            let age = vmc
                .last_packet_age
                .map(|a| format!("last {:.1} s ago", a.as_secs_f32()))
                .unwrap_or_else(|| "nothing yet".into());
            let from = vmc.sender.map(|s| format!(" from {s}")).unwrap_or_default();
            parts.push(format!(
                "VMC in {addr}: {:.0} pkt/s{from}, {age}, drives {:.0}%",
                vmc.packets_per_second,
                vmc.weight * 100.0
            ));
            if vmc.malformed > 0 {
                parts.push(format!("{} malformed dropped", vmc.malformed));
            }
        }
        (None, Some(e)) => parts.push(format!("VMC: {e}")),
        (None, None) => parts.push("VMC in: off (--vmc)".into()),
    }
    if let Some(to) = vmc.sending {
        parts.push(format!("VMC out to {to}"));
    }
    parts.join("; ")
}

fn describe(command: &DirectorCommand) -> String {
    match command {
        DirectorCommand::CutTo { shot, blend } if *blend > 0.0 => {
            format!("camera: {} ({blend:.1} s blend)", shot.label())
        }
        DirectorCommand::CutTo { shot, .. } => format!("camera: {}", shot.label()),
        DirectorCommand::LightCue { name, fade } => format!("lights: {name} ({fade:.1} s fade)"),
        DirectorCommand::ResetStage => "stage reset".to_string(),
        DirectorCommand::StartRecording => "recording started".to_string(),
        DirectorCommand::PlayMotion { crossfade, .. } => {
            format!("motion changed ({crossfade:.1} s crossfade)")
        }
        DirectorCommand::MotionSpeed(s) => format!("motion speed x{s:.2}"),
        DirectorCommand::SwitchPerformer(p) => format!("performer: {p:?}"),
        DirectorCommand::SetPhysics(_) => "costume physics settings".to_string(),
        DirectorCommand::ResetPhysics => "costume physics reset".to_string(),
        DirectorCommand::MotionLoop(l) => format!("motion loop {}", if *l { "on" } else { "off" }),
        DirectorCommand::StopRecording => "recording stopped".to_string(),
        DirectorCommand::TriggerEffect { name, .. } => format!("effect: {name}"),
        DirectorCommand::StopEffect { name } => format!("effect stopped: {name}"),
        DirectorCommand::CalibrateTracking(c) => format!("tracking: {}", c.label()),
        DirectorCommand::TuneTracking(_) => "tracking filters".to_string(),
        other => format!("{other:?}"),
    }
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
