//! The panel's sections, one function each: each reads what its view gives it and sends
//! [`DirectorCommand`]s.

use bevy::diagnostic::{DiagnosticsStore, FrameTimeDiagnosticsPlugin};
use bevy::prelude::*;
use bevy_egui::egui;

use ling_broadcast::BroadcastStatus;
use ling_broadcast::session::LinkState;
use ling_core::looks::CameraShot;
use ling_core::settings::{Calibrate, PhysicsSettings};
use ling_core::show::{
    ActiveShow, CommandLog, DirectorCommand, MotionSpec, PerformerSpec, ShowClock,
};
use ling_core::signals::stage_position;
use ling_mocap::take::RecordingStatus;
use ling_mocap::vmc_source::VmcHealth;
use ling_performer::PerformerStatus;
use ling_set::keying::{Backdrop, BackdropFill, SetVisibility};
use ling_set::{CameraDirector, StageLighting};
use ling_stage_fx::{EffectInstance, EffectParams, EffectRegistry, EffectStatus, ParamValue};
use ling_tracking::TrackingStatus;
use ling_tracking::iphone::IphoneStatus;
use ling_tracking::live::TrackingSettings;

use crate::console::section;
use crate::i18n::{tr, tr_with, trf};
use crate::{PanelState, SourcesView};

/// Errors and warnings in the panel.
const WARNING: egui::Color32 = egui::Color32::from_rgb(230, 120, 60);

fn fmt_time(t: f64) -> String {
    let m = (t / 60.0).floor();
    format!("{:02}:{:05.2}", m as u32, t - m * 60.0)
}

/// A small warning line, when there is something to warn of.
fn warning(ui: &mut egui::Ui, text: Option<&String>) {
    if let Some(text) = text {
        ui.add(egui::Label::new(egui::RichText::new(text).color(WARNING).small()).wrap());
    }
}

/// The show clock: time, progress, play/pause, restart and seek.
pub(crate) fn clock(
    ui: &mut egui::Ui,
    clock: &ShowClock,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "clock", tr("Show clock"), true, |ui| {
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
        ui.horizontal_wrapped(|ui| {
            let label = if clock.playing {
                tr("Pause")
            } else {
                tr("Play")
            };
            if ui.button(label).clicked() {
                out.write(DirectorCommand::TogglePlay);
            }
            if ui.button(tr("Restart")).clicked() {
                out.write(DirectorCommand::Seek(0.0));
                out.write(DirectorCommand::Play);
            }
        });
        let mut t = clock.time;
        let seek = ui.add(
            egui::Slider::new(&mut t, 0.0..=clock.duration)
                .text(tr("seek"))
                .show_value(false),
        );
        if seek.changed() {
            out.write(DirectorCommand::Seek(t));
        }
    });
}

/// The outputs: on air or off, and per output its state, uptime, frames sent and dropped,
/// encoder lag, bitrate, and ffmpeg's own error line when it failed.
pub(crate) fn on_air(
    ui: &mut egui::Ui,
    status: &BroadcastStatus,
    backdrop: &Backdrop,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "output", tr("Output"), true, |ui| {
        on_air_body(ui, status, backdrop, out)
    });
}

fn on_air_body(
    ui: &mut egui::Ui,
    status: &BroadcastStatus,
    backdrop: &Backdrop,
    out: &mut MessageWriter<DirectorCommand>,
) {
    ui.horizontal_wrapped(|ui| {
        let (text, fill) = if status.on_air {
            (tr("ON AIR"), egui::Color32::from_rgb(200, 30, 30))
        } else {
            (tr("off air"), egui::Color32::from_gray(60))
        };
        ui.label(
            egui::RichText::new(format!(" {text} "))
                .strong()
                .color(egui::Color32::WHITE)
                .background_color(fill),
        );
        ui.label(
            egui::RichText::new(format!("{}×{}", status.size.x, status.size.y))
                .small()
                .weak(),
        );
    });
    backdrop_picker(ui, backdrop, out);
    if let Some(on) = status.mic_on_air {
        let mut send = on;
        if ui
            .checkbox(&mut send, tr("Microphone to the outputs"))
            .on_hover_text(tr(
                "Her voice goes out mixed with the show's track; muted, it still moves her mouth",
            ))
            .changed()
        {
            out.write(DirectorCommand::MicOnAir(send));
        }
    }
    if status.configured.is_empty() {
        ui.add(
            egui::Label::new(
                egui::RichText::new(tr(
                    "no outputs: start with --out URL (rtmp://, srt://, udp://, a file, v4l2:/dev/videoN)",
                ))
                .small()
                .weak(),
            )
            .wrap(),
        );
        return;
    }
    let label = if status.on_air {
        tr("Go off air")
    } else {
        tr("Go on air")
    };
    if ui.button(label).clicked() {
        out.write(DirectorCommand::OnAir(!status.on_air));
    }
    if !status.on_air {
        for target in &status.configured {
            ui.add(egui::Label::new(egui::RichText::new(target).small().monospace()).truncate());
        }
        return;
    }
    for output in &status.outputs {
        let (state, colour) = match output.state {
            LinkState::OnAir => (tr("live"), egui::Color32::from_rgb(90, 200, 90)),
            LinkState::Starting => (tr("connecting"), egui::Color32::from_rgb(220, 200, 80)),
            LinkState::Retrying => (tr("retrying"), WARNING),
            LinkState::Stopped => (tr("stopped"), egui::Color32::GRAY),
        };
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(state).color(colour).strong());
            ui.add(
                egui::Label::new(egui::RichText::new(&output.target).small().monospace())
                    .truncate(),
            );
        });
        ui.add(
            egui::Label::new(
                egui::RichText::new(trf!(
                    "up {}  {} fps  {} sent  {} dropped  lag {} ms  {} kbit/s",
                    fmt_time(output.uptime.as_secs_f64()),
                    format!("{:.1}", output.fps_sent),
                    output.frames_sent,
                    output.frames_dropped,
                    format!("{:.0}", output.encoder_lag.as_secs_f64() * 1000.0),
                    format!("{:.0}", output.bitrate_kbps)
                ))
                .small()
                .monospace(),
            )
            .wrap(),
        );
        if let Some(retry) = output.retry_in {
            ui.label(
                egui::RichText::new(trf!(
                    "attempt {} failed; retrying in {} s",
                    output.attempts,
                    format!("{:.0}", retry.as_secs_f64().ceil())
                ))
                .small()
                .color(WARNING),
            );
        }
        warning(ui, output.last_error.as_ref());
    }
}

/// What fills the program's background (the stage, a key colour, transparency) and which
/// set pieces stay behind a keyed picture.
fn backdrop_picker(
    ui: &mut egui::Ui,
    backdrop: &Backdrop,
    out: &mut MessageWriter<DirectorCommand>,
) {
    const FILLS: [(&str, &str); 5] = [
        ("stage", "Stage"),
        ("green", "Green key"),
        ("blue", "Blue key"),
        ("magenta", "Magenta key"),
        ("transparent", "Transparent"),
    ];
    const SETS: [(SetVisibility, &str, &str); 3] = [
        (SetVisibility::PerformerOnly, "performer", "Her alone"),
        (SetVisibility::Floor, "floor", "With the floor"),
        (SetVisibility::Full, "full", "Whole set"),
    ];
    let current = match backdrop.fill {
        BackdropFill::Stage => tr("Stage").to_string(),
        BackdropFill::Transparent => tr("Transparent").to_string(),
        BackdropFill::Key(k) => FILLS
            .iter()
            .find(|(name, _)| BackdropFill::parse(name).ok() == Some(backdrop.fill))
            .map(|(_, label)| tr(label).to_string())
            .unwrap_or_else(|| format!("#{:02x}{:02x}{:02x}", k[0], k[1], k[2])),
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(tr("Background"));
        egui::ComboBox::from_id_salt("backdrop fill")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (name, label) in FILLS {
                    let selected = BackdropFill::parse(name).ok() == Some(backdrop.fill);
                    if ui.selectable_label(selected, tr(label)).clicked() && !selected {
                        out.write(DirectorCommand::Backdrop {
                            fill: name.into(),
                            set: None,
                        });
                    }
                }
            });
        if backdrop.fill.is_keyed() {
            let set_label = SETS
                .iter()
                .find(|(v, ..)| *v == backdrop.set)
                .map_or("", |(_, _, label)| tr(label));
            egui::ComboBox::from_id_salt("backdrop set")
                .selected_text(set_label)
                .show_ui(ui, |ui| {
                    for (visibility, name, label) in SETS {
                        let selected = visibility == backdrop.set;
                        if ui.selectable_label(selected, tr(label)).clicked() && !selected {
                            out.write(DirectorCommand::Backdrop {
                                fill: fill_name(backdrop.fill),
                                set: Some(name.into()),
                            });
                        }
                    }
                });
        }
    });
}

/// The name [`BackdropFill::parse`] reads back as `fill`.
fn fill_name(fill: BackdropFill) -> String {
    match fill {
        BackdropFill::Stage => "stage".into(),
        BackdropFill::Transparent => "transparent".into(),
        BackdropFill::Key(k) => format!("#{:02x}{:02x}{:02x}", k[0], k[1], k[2]),
    }
}

/// The camera shots, the current one selected, and the blend time for changes.
pub(crate) fn camera(
    ui: &mut egui::Ui,
    cameras: &CameraDirector,
    panel: &mut PanelState,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "camera", tr("Camera"), true, |ui| {
        ui.horizontal_wrapped(|ui| {
            for shot in CameraShot::ALL {
                let selected = cameras.shot == shot;
                if ui.selectable_label(selected, tr(shot.label())).clicked() {
                    out.write(DirectorCommand::CutTo {
                        shot,
                        blend: panel.camera_blend,
                    });
                }
            }
        });
        ui.add(egui::Slider::new(&mut panel.camera_blend, 0.0..=3.0).text(tr("blend s")));
    });
}

/// The show's light looks, the current cue selected, and the fade time for cues.
pub(crate) fn lights(
    ui: &mut egui::Ui,
    lighting: &StageLighting,
    show: Option<&ActiveShow>,
    panel: &mut PanelState,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "lights", tr("Light cues"), true, |ui| {
        ui.add(
            egui::Label::new(trf!(
                "Current: {}",
                lighting.cue.as_deref().map_or(tr("preshow"), tr)
            ))
            .truncate(),
        );
        if let Some(show) = show {
            ui.horizontal_wrapped(|ui| {
                for name in show.0.lights.keys() {
                    let selected = lighting.cue.as_deref() == Some(name.as_str());
                    if ui.selectable_label(selected, tr(name)).clicked() {
                        out.write(DirectorCommand::LightCue {
                            name: name.clone(),
                            fade: panel.light_fade,
                        });
                    }
                }
            });
        }
        ui.add(egui::Slider::new(&mut panel.light_fade, 0.0..=5.0).text(tr("fade s")));
    });
}

/// The take being recorded (or the button to start one) and the last take.
pub(crate) fn recording(
    ui: &mut egui::Ui,
    status: &RecordingStatus,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "recording", tr("Recording"), true, |ui| {
        match &status.recording {
            Some(take) => {
                ui.label(
                    egui::RichText::new(trf!(
                        "REC {} s, {} frames",
                        format!("{:.1}", take.seconds),
                        take.frames
                    ))
                    .color(egui::Color32::from_rgb(230, 60, 60))
                    .strong(),
                );
                ui.add(
                    egui::Label::new(egui::RichText::new(take.dir.display().to_string()).small())
                        .truncate(),
                );
                if ui.button(tr("Stop recording")).clicked() {
                    out.write(DirectorCommand::StopRecording);
                }
            }
            None => {
                if ui.button(tr("Record take")).clicked() {
                    out.write(DirectorCommand::StartRecording);
                }
                if let Some(last) = &status.last_take {
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(trf!("last: {}", last.display())).small(),
                        )
                        .truncate(),
                    );
                }
            }
        }
        warning(ui, status.last_error.as_ref());
    });
}

/// Who performs: Ling or an avatar file, the avatars' credits, loading and errors.
pub(crate) fn performer(
    ui: &mut egui::Ui,
    status: &PerformerStatus,
    panel: &mut PanelState,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "performer", tr("Performer"), true, |ui| {
        ui.horizontal(|ui| {
            if ui
                .button(tr("Ling"))
                .on_hover_text(tr("the built-in performer"))
                .clicked()
            {
                out.write(DirectorCommand::SwitchPerformer(PerformerSpec::BuiltIn));
            }
            // The button on the right, the field in what is left between.
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(tr("Load")).clicked() && !panel.avatar_path.trim().is_empty() {
                    out.write(DirectorCommand::SwitchPerformer(PerformerSpec::Avatar {
                        path: panel.avatar_path.trim().into(),
                    }));
                }
                ui.add(
                    egui::TextEdit::singleline(&mut panel.avatar_path)
                        .hint_text("avatar.vrm")
                        .desired_width(ui.available_width()),
                );
            });
        });
        for credit in &status.credits {
            ui.add(egui::Label::new(egui::RichText::new(credit).small()).wrap());
        }
        if let Some(path) = &status.loading {
            ui.add(
                egui::Label::new(egui::RichText::new(trf!("loading {}...", path)).small())
                    .truncate(),
            );
        }
        warning(ui, status.error.as_ref());
    });
}

/// Costume physics: stiffness, drag and gravity per group, the wind, and a reset.
pub(crate) fn physics(
    ui: &mut egui::Ui,
    physics: &PhysicsSettings,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "physics", tr("Costume physics"), false, |ui| {
        let mut edited = *physics;
        for (label, group) in [
            ("Plumes", &mut edited.plumes),
            ("Water sleeves", &mut edited.sleeves),
            ("Door curtains", &mut edited.curtains),
            ("Back flags", &mut edited.flags),
        ] {
            ui.label(tr(label));
            ui.add(egui::Slider::new(&mut group.stiffness, 0.0..=20.0).text(tr("stiffness")));
            ui.add(egui::Slider::new(&mut group.drag, 0.0..=1.0).text(tr("drag")));
            ui.add(egui::Slider::new(&mut group.gravity, 0.0..=2.0).text(tr("gravity")));
        }
        ui.add(egui::Slider::new(&mut edited.wind.strength, 0.0..=3.0).text(tr("wind")));
        ui.add(egui::Slider::new(&mut edited.wind.gusts, 0.0..=1.0).text(tr("gusts")));
        if edited != *physics {
            out.write(DirectorCommand::SetPhysics(edited));
        }
        if ui.button(tr("Reset costume")).clicked() {
            out.write(DirectorCommand::ResetPhysics);
        }
    });
}

/// The sources: where each performer stands, the motion (speed, loop, a clip to play), VMC,
/// tracking when it has no section of its own, and the audio level.
pub(crate) fn sources(
    ui: &mut egui::Ui,
    view: &SourcesView,
    panel: &mut PanelState,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "sources", tr("Sources"), true, |ui| {
        sources_body(ui, view, panel, out)
    });
}

fn sources_body(
    ui: &mut egui::Ui,
    view: &SourcesView,
    panel: &mut PanelState,
    out: &mut MessageWriter<DirectorCommand>,
) {
    for (performer, root, pose) in &view.performers {
        let p = stage_position(root, pose);
        ui.add(
            egui::Label::new(trf!(
                "{} at ({}, {})",
                performer.name,
                format!("{:+.2}", p.x),
                format!("{:+.2}", p.z)
            ))
            .truncate(),
        );
    }
    let motion = &view.motion;
    let motion_text = match &motion.playing {
        Some(m) => {
            let mut text = trf!(
                "Motion: {}, {} s",
                tr(&m.label),
                format!("{:.1}", m.duration)
            );
            if m.speed != 1.0 {
                text += &format!(", ×{:.2}", m.speed);
            }
            if m.looping {
                text += tr(", looping");
            }
            text
        }
        None => tr("Motion: none").to_string(),
    };
    ui.add(egui::Label::new(motion_text).wrap());
    if let Some(m) = &motion.playing {
        let mut speed = m.speed;
        if ui
            .add(egui::Slider::new(&mut speed, 0.25..=2.0).text(tr("speed")))
            .changed()
        {
            out.write(DirectorCommand::MotionSpeed(speed));
        }
        let mut looping = m.looping;
        if ui.checkbox(&mut looping, tr("loop motion")).changed() {
            out.write(DirectorCommand::MotionLoop(looping));
        }
    }
    ui.horizontal(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let play = ui.button(tr("Play"));
            ui.add(
                egui::TextEdit::singleline(&mut panel.motion_path)
                    .hint_text("clip.bvh")
                    .desired_width(ui.available_width()),
            );
            if play.clicked() && !panel.motion_path.trim().is_empty() {
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
    });
    if let Some(what) = &motion.loading {
        ui.add(
            egui::Label::new(egui::RichText::new(trf!("loading {}...", what)).small()).truncate(),
        );
    }
    warning(ui, motion.error.as_ref());
    ui.add(egui::Label::new(vmc_status(&view.vmc)).wrap());
    if let Some(line) = iphone_status(&view.iphone) {
        ui.add(egui::Label::new(line).wrap());
    }
    if view.tracking.source.is_none() {
        ui.add(egui::Label::new(trf!("Tracking: {}", tr(&view.tracking.summary))).wrap());
    }
    ui.add(egui::Label::new(trf!("Audio: {}", tr(&view.audio.summary))).wrap());
    if let Some(db) = view.audio_level.dbfs {
        // A meter from -60 to 0 dBFS.
        ui.add(
            egui::ProgressBar::new(((db + 60.0) / 60.0).clamp(0.0, 1.0))
                .text(format!("{db:.0} dBFS")),
        );
    }
}

/// Frames per second and milliseconds per frame.
pub(crate) fn performance(ui: &mut egui::Ui, diagnostics: &DiagnosticsStore) {
    section(ui, "performance", tr("Performance"), true, |ui| {
        let fps = diagnostics
            .get(&FrameTimeDiagnosticsPlugin::FPS)
            .and_then(|d| d.smoothed());
        let frame = diagnostics
            .get(&FrameTimeDiagnosticsPlugin::FRAME_TIME)
            .and_then(|d| d.smoothed());
        ui.label(
            egui::RichText::new(trf!(
                "{} fps   {} ms/frame",
                format!("{:>5.1}", fps.unwrap_or(0.0)),
                format!("{:>6.1}", frame.unwrap_or(0.0))
            ))
            .monospace(),
        );
    });
}

/// The last commands that took effect, newest first.
pub(crate) fn recent_commands(ui: &mut egui::Ui, log: &CommandLog) {
    section(ui, "log", tr("Recent commands"), false, |ui| {
        for (t, command) in log.entries.iter().rev().take(8) {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("{} {}", fmt_time(*t), describe(command))).small(),
                )
                .truncate(),
            );
        }
    });
}

/// The tracking source: health, a preview of the camera with the landmarks drawn over it,
/// per-stage latency, calibration buttons and the filter settings.
pub(crate) fn tracking(
    ui: &mut egui::Ui,
    status: &TrackingStatus,
    settings: &TrackingSettings,
    preview: &mut Option<(egui::TextureHandle, u64)>,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "tracking", tr("Face & hand tracking"), true, |ui| {
        let colour = if status.healthy {
            egui::Color32::from_rgb(120, 200, 120)
        } else {
            egui::Color32::from_rgb(230, 120, 60)
        };
        ui.add(
            egui::Label::new(
                egui::RichText::new(tr(&status.summary))
                    .color(colour)
                    .small(),
            )
            .wrap(),
        );
        if !status.models.is_empty() {
            ui.add(egui::Label::new(egui::RichText::new(&status.models).small()).wrap());
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
            ui.add(
                egui::Label::new(
                    egui::RichText::new(trf!(
                        "{} fps  capture {}  inference {}  solve {}  age {} ms",
                        format!("{:.0}", status.fps),
                        format!("{:.1}", status.capture_ms),
                        format!("{:.1}", status.inference_ms),
                        format!("{:.1}", status.solve_ms),
                        format!("{:.0}", status.age_ms)
                    ))
                    .small()
                    .monospace(),
                )
                .wrap(),
            );
        }
        ui.horizontal_wrapped(|ui| {
            if ui.button(tr("Neutral face")).clicked() {
                out.write(DirectorCommand::CalibrateTracking(Calibrate::NeutralFace));
            }
            if ui.button(tr("Hand rest")).clicked() {
                out.write(DirectorCommand::CalibrateTracking(Calibrate::HandRest));
            }
            if ui.button(tr("Clear")).clicked() {
                out.write(DirectorCommand::CalibrateTracking(Calibrate::Clear));
            }
        });
        let calibrated = tr(match (status.face_calibrated, status.hand_calibrated) {
            (true, true) => "calibrated: face and hands",
            (true, false) => "calibrated: face",
            (false, true) => "calibrated: hands",
            (false, false) => "not calibrated",
        });
        let note = if status.calibration.is_empty() {
            calibrated.to_string()
        } else {
            format!("{}; {calibrated}", tr(&status.calibration))
        };
        ui.add(egui::Label::new(egui::RichText::new(note).small()).wrap());
        let mut tuning = settings.tuning;
        ui.add(
            egui::Slider::new(&mut tuning.min_cutoff, 0.05..=5.0)
                .logarithmic(true)
                .text(tr("cutoff Hz")),
        );
        ui.add(egui::Slider::new(&mut tuning.beta, 0.0..=2.0).text(tr("speed")))
            .on_hover_text(tr(
                "One Euro speed coefficient: higher follows fast moves more closely",
            ));
        ui.add(egui::Slider::new(&mut tuning.min_presence, 0.0..=1.0).text(tr("confidence")))
            .on_hover_text(tr("results below this presence are not applied"));
        ui.add(egui::Slider::new(&mut tuning.mouth_from_camera, 0.0..=1.0).text(tr("mouth cam")));
        if tuning != settings.tuning {
            out.write(DirectorCommand::TuneTracking(tuning));
        }
    });
}

/// Lists the registered stage effects; each opens to its description, an editor for its
/// parameters (read from the effect's `Reflect` fields) and Fire / Stop buttons.
pub(crate) fn effects(
    ui: &mut egui::Ui,
    registry: &EffectRegistry,
    status: &EffectStatus,
    running: &Query<&EffectInstance>,
    edits: &mut std::collections::BTreeMap<String, EffectParams>,
    out: &mut MessageWriter<DirectorCommand>,
) {
    section(ui, "effects", tr("Effects"), true, |ui| {
        for entry in registry.iter() {
            let live = running.iter().filter(|i| i.name == entry.name).count();
            let title = if live > 0 {
                trf!("{} ({} running)", tr(entry.name), live)
            } else {
                tr(entry.name).to_string()
            };
            egui::CollapsingHeader::new(title)
                .id_salt(entry.name)
                .show(ui, |ui| {
                    ui.add(
                        egui::Label::new(egui::RichText::new(tr(entry.description)).small()).wrap(),
                    );
                    let params = edits
                        .entry(entry.name.to_string())
                        .or_insert_with(|| entry.defaults.clone());
                    for (name, value) in params.iter_mut() {
                        param_editor(ui, name, value);
                    }
                    ui.horizontal_wrapped(|ui| {
                        if ui.button(tr("Fire")).clicked() {
                            out.write(DirectorCommand::TriggerEffect {
                                name: entry.name.to_string(),
                                params: params.clone(),
                            });
                        }
                        if ui.button(tr("Stop")).clicked() {
                            out.write(DirectorCommand::StopEffect {
                                name: entry.name.to_string(),
                            });
                        }
                        if ui.button(tr("Defaults")).clicked() {
                            *params = entry.defaults.clone();
                        }
                    });
                });
        }
        if let Some(e) = &status.last_error {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(e)
                        .color(egui::Color32::from_rgb(230, 120, 60))
                        .small(),
                )
                .wrap(),
            );
        }
    });
}

/// One parameter: a number, a switch, a text, or three numbers (a colour picker when the name
/// says colour).
fn param_editor(ui: &mut egui::Ui, name: &str, value: &mut ParamValue) {
    ui.horizontal_wrapped(|ui| {
        ui.label(tr(name));
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

/// One line for the VMC receiver and sender.
fn vmc_status(vmc: &VmcHealth) -> String {
    let mut parts = Vec::new();
    match (vmc.listening, &vmc.error) {
        (Some(addr), _) => {
            let age = vmc
                .last_packet_age
                .map(|a| trf!("last {} s ago", format!("{:.1}", a.as_secs_f32())))
                .unwrap_or_else(|| tr("nothing yet").into());
            let from = vmc.sender.map(|s| trf!(" from {}", s)).unwrap_or_default();
            parts.push(trf!(
                "VMC in {}: {} pkt/s{}, {}, drives {}%",
                addr,
                format!("{:.0}", vmc.packets_per_second),
                from,
                age,
                format!("{:.0}", vmc.weight * 100.0)
            ));
            if vmc.malformed > 0 {
                parts.push(trf!("{} malformed dropped", vmc.malformed));
            }
        }
        (None, Some(e)) => parts.push(format!("VMC: {e}")),
        (None, None) => parts.push(tr("VMC in: off (--vmc)").into()),
    }
    if let Some(to) = vmc.sending {
        parts.push(trf!("VMC out to {}", to));
    }
    parts.join(tr("; "))
}

/// One line for iPhone face capture and the face take, when either was asked for.
fn iphone_status(iphone: &IphoneStatus) -> Option<String> {
    let mut parts = Vec::new();
    if let (Some(app), Some(addr)) = (iphone.protocol, iphone.listening) {
        let age = iphone
            .last_packet_age
            .map(|a| trf!("last {} s ago", format!("{:.1}", a.as_secs_f32())))
            .unwrap_or_else(|| tr("nothing yet").into());
        let from = iphone
            .sender
            .map(|s| trf!(" from {}", s))
            .unwrap_or_default();
        parts.push(trf!(
            "{} in {}: {} pkt/s{}, {}, drives {}%",
            app.label(),
            addr,
            format!("{:.0}", iphone.packets_per_second),
            from,
            age,
            format!("{:.0}", iphone.weight * 100.0)
        ));
        if iphone.last_packet_age.is_some() && !iphone.face_found {
            parts.push(tr("the phone sees no face").into());
        }
        if iphone.malformed > 0 {
            parts.push(trf!("{} malformed dropped", iphone.malformed));
        }
    }
    for error in [&iphone.error, &iphone.phone_error].into_iter().flatten() {
        parts.push(trf!("iPhone: {}", error));
    }
    if let Some(take) = &iphone.take {
        parts.push(trf!("face take {}", take));
    }
    (!parts.is_empty()).then(|| parts.join(tr("; ")))
}

/// One line for a command in the log.
pub(crate) fn describe(command: &DirectorCommand) -> String {
    let on_off = |on: bool| if on { tr("on") } else { tr("off") };
    match command {
        DirectorCommand::CutTo { shot, blend } if *blend > 0.0 => {
            trf!(
                "camera: {} ({} s blend)",
                tr(shot.label()),
                format!("{blend:.1}")
            )
        }
        DirectorCommand::CutTo { shot, .. } => trf!("camera: {}", tr(shot.label())),
        DirectorCommand::LightCue { name, fade } => {
            trf!("lights: {} ({} s fade)", tr(name), format!("{fade:.1}"))
        }
        DirectorCommand::ResetStage => tr("stage reset").to_string(),
        DirectorCommand::StartRecording => tr("recording started").to_string(),
        DirectorCommand::PlayMotion { crossfade, .. } => {
            trf!("motion changed ({} s crossfade)", format!("{crossfade:.1}"))
        }
        DirectorCommand::MotionSpeed(s) => trf!("motion speed x{}", format!("{s:.2}")),
        DirectorCommand::SwitchPerformer(p) => trf!("performer: {}", format!("{p:?}")),
        DirectorCommand::SetPhysics(_) => tr("costume physics settings").to_string(),
        DirectorCommand::ResetPhysics => tr("costume physics reset").to_string(),
        DirectorCommand::MotionLoop(l) => trf!("motion loop {}", on_off(*l)),
        DirectorCommand::StopRecording => tr("recording stopped").to_string(),
        DirectorCommand::TriggerEffect { name, .. } => trf!("effect: {}", tr(name)),
        DirectorCommand::StopEffect { name } => trf!("effect stopped: {}", tr(name)),
        DirectorCommand::CalibrateTracking(c) => trf!("tracking: {}", tr(c.label())),
        DirectorCommand::TuneTracking(_) => tr("tracking filters").to_string(),
        DirectorCommand::OnAir(true) => tr("on air").to_string(),
        DirectorCommand::OnAir(false) => tr("off air").to_string(),
        DirectorCommand::MicOnAir(on) => {
            if *on {
                tr("microphone on air").to_string()
            } else {
                tr("microphone muted").to_string()
            }
        }
        DirectorCommand::Backdrop { fill, set } => match set {
            Some(set) => trf!("backdrop: {}, set {}", tr(fill), tr(set)),
            None => trf!("backdrop: {}", tr(fill)),
        },
        DirectorCommand::Go => "GO".to_string(),
        DirectorCommand::Back => tr_with("back", "上一条").to_string(),
        DirectorCommand::Panic => tr_with("panic", "紧急停止").to_string(),
        DirectorCommand::Standby(n) => format!("{} {n}", tr_with("standby", "待命")),
        DirectorCommand::FireCue(n) => format!("{} {n}", tr_with("fire cue", "执行提示")),
        DirectorCommand::Emote(e) => {
            let hold = match e.hold {
                Some(h) => format!(" ({h:.1} s)"),
                None => format!(" ({})", tr_with("held", "保持")),
            };
            format!("{} {}{hold}", tr_with("emote:", "表情："), tr(&e.name))
        }
        DirectorCommand::ClearEmotes { .. } => tr_with("emotes cleared", "清除表情").to_string(),
        DirectorCommand::Gesture(g) => format!("{} {}", tr_with("gesture:", "身段："), tr(&g.clip)),
        DirectorCommand::CutToShot { name, blend } if *blend > 0.0 => format!(
            "{} {} ({blend:.1} s)",
            tr_with("camera:", "机位："),
            tr(name.label())
        ),
        DirectorCommand::CutToShot { name, .. } => {
            format!("{} {}", tr_with("camera:", "机位："), tr(name.label()))
        }
        DirectorCommand::Preview(shot) => {
            format!("{} {}", tr_with("preview:", "预监："), tr(shot.label()))
        }
        DirectorCommand::Take { transition } if *transition > 0.0 => {
            format!(
                "{} ({transition:.1} s)",
                tr_with("take, auto", "切换（自动）")
            )
        }
        DirectorCommand::Take { .. } => tr_with("take, cut", "切换（硬切）").to_string(),
        DirectorCommand::SaveShow => tr_with("show saved", "保存演出").to_string(),
        DirectorCommand::LoadShow(path) => {
            format!("{} {}", tr_with("load show", "载入演出"), path.display())
        }
        DirectorCommand::EditCues(_) => tr_with("cue list edited", "编辑提示列表").to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_iphone_line_shows_the_receivers_health() {
        assert_eq!(
            iphone_status(&IphoneStatus::default()),
            None,
            "nothing asked for"
        );
        let status = IphoneStatus {
            protocol: Some(ling_tracking::iphone::IphoneProtocol::LiveLinkFace),
            listening: Some("127.0.0.1:11111".parse().unwrap()),
            packets_per_second: 59.6,
            last_packet_age: Some(Duration::from_millis(250)),
            sender: Some("127.0.0.1:50123".parse().unwrap()),
            malformed: 7,
            weight: 1.0,
            face_found: true,
            phone_error: Some("cannot reach the phone".into()),
            ..default()
        };
        // The numbers and names read the same in either language.
        let line = iphone_status(&status).unwrap();
        for part in [
            "Live Link Face",
            "127.0.0.1:11111",
            "60",
            "127.0.0.1:50123",
            "0.2",
            "100",
            "7",
            "cannot reach the phone",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
}
