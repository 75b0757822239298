//! The vision mixer: shots on two buses as on a production switcher (the preview row lit
//! green, the program row red), CUT and AUTO with the transition's duration, the preview
//! monitor (a small second camera, rendered a few times a second) that the operator orbits,
//! dollies and pans with the mouse, and "Save as shot", which adds the preview's framing to
//! the show's `shots`.
//!
//! It takes a column on the left of the program monitor. Everything it does is a
//! [`DirectorCommand`] (`Preview`, `CutToShot`, `Take`, `SaveShot`, `DeleteShot`), except
//! moving the preview camera, which is an [`AdjustPreview`] message each frame of a drag.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, EguiTextureHandle, egui};

use ling_core::looks::{CameraShot, FixedShot, ShotRef};
use ling_core::show::{ActiveShow, DirectorCommand, check_shot_name};
use ling_set::{AdjustPreview, CameraDirector, PreviewOutput, StageOutput};

use crate::i18n::{tr, tr_with};

/// Size of the preview picture in pixels: small, so a software renderer barely notices it.
pub(crate) const PREVIEW_SIZE: (u32, u32) = (384, 216);

const PROGRAM_RED: egui::Color32 = egui::Color32::from_rgb(190, 30, 30);
const PREVIEW_GREEN: egui::Color32 = egui::Color32::from_rgb(30, 140, 60);

/// The preview picture as an egui texture, once registered.
#[derive(Resource, Default)]
pub(crate) struct PreviewTexture(Option<egui::TextureId>);

/// The mixer's own settings between frames.
#[derive(Debug)]
pub(crate) struct MixerState {
    /// Seconds of the AUTO transition.
    transition: f32,
    /// The name typed for "Save as shot".
    name: String,
}

impl Default for MixerState {
    fn default() -> Self {
        Self {
            transition: 1.0,
            name: String::new(),
        }
    }
}

/// What the mixer reads and where it sends the preview camera's moves.
#[derive(SystemParam)]
pub(crate) struct ShotsView<'w, 's> {
    cameras: Res<'w, CameraDirector>,
    show: Option<Res<'w, ActiveShow>>,
    preview: Option<Res<'w, PreviewOutput>>,
    texture: Res<'w, PreviewTexture>,
    adjust: MessageWriter<'w, AdjustPreview>,
    state: Local<'s, MixerState>,
}

/// The preview picture and its camera, where the console shows a program image.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<PreviewTexture>()
        .add_systems(Startup, create_preview)
        .add_systems(EguiPrimaryContextPass, register_preview);
}

fn create_preview(
    mut commands: Commands,
    output: Res<StageOutput>,
    images: Option<ResMut<Assets<Image>>>,
) {
    let (StageOutput::Image(_), Some(mut images)) = (&*output, images) else {
        return;
    };
    let image = ling_broadcast::program_image(&mut images, PREVIEW_SIZE.0, PREVIEW_SIZE.1);
    commands.insert_resource(PreviewOutput::new(image));
}

fn register_preview(
    mut contexts: EguiContexts,
    output: Option<Res<PreviewOutput>>,
    mut texture: ResMut<PreviewTexture>,
) {
    if let (Some(output), None) = (output, texture.0) {
        texture.0 = Some(contexts.add_image(EguiTextureHandle::Weak(output.image.id())));
    }
}

/// Draws the mixer in a column on the left of `area` (the program monitor's space) and returns
/// what is left for the program monitor. Without a preview picture it takes nothing.
pub(crate) fn mixer(
    ctx: &egui::Context,
    area: egui::Rect,
    view: &mut ShotsView,
    out: &mut MessageWriter<DirectorCommand>,
) -> egui::Rect {
    let Some(texture) = view.texture.0.filter(|_| view.preview.is_some()) else {
        return area;
    };
    let width = (area.width() * 0.34).clamp(220.0, 400.0);
    if area.width() < width + 200.0 || area.height() < 200.0 {
        return area;
    }
    let column = egui::Rect::from_min_max(area.min, egui::pos2(area.min.x + width, area.max.y));
    let mut ui = egui::Ui::new(
        ctx.clone(),
        "vision mixer".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(column.shrink2(egui::vec2(8.0, 8.0))),
    );
    ui.spacing_mut().item_spacing = egui::vec2(4.0, 4.0);
    preview_monitor(&mut ui, texture, view);
    egui::ScrollArea::vertical()
        .id_salt("vision mixer buttons")
        .auto_shrink([false, true])
        .show(&mut ui, |ui| buses(ui, view, out));
    egui::Rect::from_min_max(egui::pos2(column.max.x, area.min.y), area.max)
}

/// The shots a bus offers: the built-in ones, then the show's.
fn shot_list(show: Option<&ActiveShow>) -> Vec<ShotRef> {
    let mut shots: Vec<ShotRef> = CameraShot::ALL.into_iter().map(ShotRef::from).collect();
    if let Some(show) = show {
        shots.extend(show.0.shots.keys().cloned().map(ShotRef::Named));
    }
    shots
}

fn shot_label(shot: &ShotRef) -> &str {
    match shot {
        ShotRef::Builtin(shot) => tr(shot.label()),
        ShotRef::Named(name) => name,
    }
}

/// The preview picture with its tally; the mouse moves its camera.
fn preview_monitor(ui: &mut egui::Ui, texture: egui::TextureId, view: &mut ShotsView) {
    let width = ui.available_width();
    let size = egui::vec2(width, width * PREVIEW_SIZE.1 as f32 / PREVIEW_SIZE.0 as f32);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::BLACK);
    painter.image(
        texture,
        rect,
        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
        egui::Color32::WHITE,
    );
    let preview = &view.cameras.preview;
    let mut name = format!(
        "{} · {}",
        tr_with("PREVIEW", "预监"),
        shot_label(&preview.shot)
    );
    if preview.adjusted {
        name.push_str(" *");
    }
    // The body font: its glyphs are in egui's atlas from the first frame.
    let font = egui::TextStyle::Body.resolve(ui.style());
    let galley = painter.layout_no_wrap(name, font, egui::Color32::WHITE);
    let tally = egui::Rect::from_min_size(
        rect.min + egui::vec2(6.0, 6.0),
        galley.size() + egui::vec2(12.0, 6.0),
    );
    painter.rect_filled(tally, 3.0, PREVIEW_GREEN);
    painter.galley(
        tally.min + egui::vec2(6.0, 3.0),
        galley,
        egui::Color32::WHITE,
    );
    painter.rect_stroke(
        rect,
        0.0,
        egui::Stroke::new(2.0, PREVIEW_GREEN),
        egui::StrokeKind::Inside,
    );

    let (scroll, zoom, shift) =
        ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta(), i.modifiers.shift));
    let hovered = response.hovered();
    let mut framing = view.cameras.preview_framing;
    let mut moved = false;
    let drag = response.drag_delta();
    if drag != egui::Vec2::ZERO {
        let pan = response.dragged_by(egui::PointerButton::Secondary)
            || response.dragged_by(egui::PointerButton::Middle)
            || shift;
        framing = if pan {
            pan_camera(framing, drag, rect.height())
        } else {
            orbit(framing, drag)
        };
        moved = true;
    }
    if hovered && scroll != 0.0 {
        framing = dolly(framing, scroll);
        moved = true;
    }
    if hovered && zoom != 1.0 {
        let (lo, hi) = FixedShot::FOV_RANGE;
        framing.2 = (framing.2 / zoom).clamp(lo.to_radians(), hi.to_radians());
        moved = true;
    }
    if moved {
        let (eye, look, fov) = framing;
        view.adjust.write(AdjustPreview(FixedShot {
            eye: eye.into(),
            look: look.into(),
            fov: fov.to_degrees(),
        }));
    }
    response.on_hover_text(tr_with(
        "Drag: orbit · right-drag or Shift+drag: pan · wheel: dolly · Ctrl+wheel: zoom",
        "拖动：环绕 · 右键或 Shift 拖动：平移 · 滚轮：推拉 · Ctrl+滚轮：变焦",
    ));
}

/// Turns the camera around the point it looks at, as if the mouse turned the stage: `drag` in
/// points (right swings the camera left, down raises it, short of straight overhead or under).
pub(crate) fn orbit((eye, look, fov): (Vec3, Vec3, f32), drag: egui::Vec2) -> (Vec3, Vec3, f32) {
    let offset = eye - look;
    let r = offset.length().max(0.01);
    let yaw = offset.x.atan2(offset.z) - drag.x * 0.01;
    let pitch = ((offset.y / r).clamp(-1.0, 1.0).asin() + drag.y * 0.01).clamp(-1.45, 1.45);
    let offset = r * Vec3::new(
        pitch.cos() * yaw.sin(),
        pitch.sin(),
        pitch.cos() * yaw.cos(),
    );
    (look + offset, look, fov)
}

/// Moves the camera towards the point it looks at (wheel up) or away from it.
pub(crate) fn dolly((eye, look, fov): (Vec3, Vec3, f32), scroll: f32) -> (Vec3, Vec3, f32) {
    let offset = eye - look;
    let r = (offset.length() * (-scroll * 0.003).exp()).clamp(0.3, 40.0);
    (look + offset.normalize_or(Vec3::Z) * r, look, fov)
}

/// Slides the camera and its look-at point sideways and up or down so the picture follows the
/// mouse: `drag` in points on a monitor `height` points high.
pub(crate) fn pan_camera(
    (eye, look, fov): (Vec3, Vec3, f32),
    drag: egui::Vec2,
    height: f32,
) -> (Vec3, Vec3, f32) {
    let forward = (look - eye).normalize_or(Vec3::NEG_Z);
    let right = forward.cross(Vec3::Y).normalize_or(Vec3::X);
    let up = right.cross(forward);
    let metres_per_point = 2.0 * (look - eye).length() * (fov * 0.5).tan() / height.max(1.0);
    let shift = (-drag.x * right + drag.y * up) * metres_per_point;
    (eye + shift, look + shift, fov)
}

/// The preview and program rows, CUT and AUTO, and "Save as shot".
fn buses(ui: &mut egui::Ui, view: &mut ShotsView, out: &mut MessageWriter<DirectorCommand>) {
    let shots = shot_list(view.show.as_deref());
    let cameras = &*view.cameras;
    let row = |ui: &mut egui::Ui,
               label: &str,
               colour: egui::Color32,
               body: &mut dyn FnMut(&mut egui::Ui)| {
        ui.horizontal_wrapped(|ui| {
            ui.add_sized(
                egui::vec2(34.0, 20.0),
                egui::Label::new(egui::RichText::new(label).strong().color(colour)),
            );
            body(ui);
        });
    };
    row(ui, tr_with("PVW", "预监"), PREVIEW_GREEN, &mut |ui| {
        for shot in &shots {
            let lit = cameras.preview.shot == *shot;
            let button = ui.add(bus_button(shot, lit, PREVIEW_GREEN));
            if button.clicked() {
                out.write(DirectorCommand::Preview(shot.clone()));
            }
            if let ShotRef::Named(name) = shot {
                button.context_menu(|ui| {
                    if ui.button(tr_with("Delete shot", "删除镜头")).clicked() {
                        out.write(DirectorCommand::DeleteShot(name.clone()));
                        ui.close();
                    }
                });
            }
        }
    });
    row(ui, tr_with("PGM", "节目"), PROGRAM_RED, &mut |ui| {
        for shot in &shots {
            let lit = cameras.program.shot == *shot;
            if ui.add(bus_button(shot, lit, PROGRAM_RED)).clicked() {
                out.write(DirectorCommand::CutToShot {
                    name: shot.clone(),
                    blend: 0.0,
                });
            }
        }
    });
    let state = &mut *view.state;
    ui.horizontal(|ui| {
        if ui
            .add(
                egui::Button::new(egui::RichText::new(tr_with("CUT", "切")).strong())
                    .min_size(egui::vec2(52.0, 26.0)),
            )
            .on_hover_text(tr_with(
                "Preview to program at once; program to preview",
                "预监立即切到节目，节目回到预监",
            ))
            .clicked()
        {
            out.write(DirectorCommand::Take { transition: 0.0 });
        }
        let auto = egui::Button::new(egui::RichText::new(tr_with("AUTO", "自动")).strong())
            .min_size(egui::vec2(52.0, 26.0));
        let auto = if cameras.in_transition() {
            auto.fill(PROGRAM_RED)
        } else {
            auto
        };
        if ui
            .add(auto)
            .on_hover_text(tr_with(
                "Move the camera from program to preview over the duration",
                "在设定时长内把镜头从节目移到预监",
            ))
            .clicked()
        {
            out.write(DirectorCommand::Take {
                transition: state.transition,
            });
        }
        ui.add(
            egui::DragValue::new(&mut state.transition)
                .range(0.1..=10.0)
                .speed(0.05)
                .fixed_decimals(1)
                .suffix(" s"),
        )
        .on_hover_text(tr_with("AUTO transition duration", "自动转场时长"));
    });
    let Some(show) = view.show.as_deref() else {
        return;
    };
    ui.horizontal(|ui| {
        let name = state.name.trim().to_string();
        let check = check_shot_name(&name);
        let field = ui.add(
            egui::TextEdit::singleline(&mut state.name)
                .hint_text(tr_with("shot name", "镜头名"))
                .desired_width((ui.available_width() - 110.0).max(60.0)),
        );
        let replaces = show.0.shots.contains_key(&name);
        let label = if replaces {
            tr_with("Replace shot", "替换镜头")
        } else {
            tr_with("Save as shot", "存为镜头")
        };
        let button = ui.add_enabled(check.is_ok(), egui::Button::new(label));
        let button = match &check {
            Err(why) if !name.is_empty() => button.on_disabled_hover_text(why.as_str()),
            _ => button.on_hover_text(tr_with(
                "Add the preview's framing to the show's shots (Save show writes it)",
                "把预监画面加入本场镜头（保存演出时写入文件）",
            )),
        };
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if check.is_ok() && (button.clicked() || enter) {
            out.write(DirectorCommand::SaveShot {
                name,
                shot: FixedShot::from_framing(view.cameras.preview_framing),
            });
            state.name.clear();
        }
    });
}

fn bus_button(shot: &ShotRef, lit: bool, colour: egui::Color32) -> egui::Button<'static> {
    let text = egui::RichText::new(shot_label(shot).to_string());
    let text = if lit {
        text.color(egui::Color32::WHITE).strong()
    } else {
        text
    };
    let button = egui::Button::new(text).min_size(egui::vec2(0.0, 20.0));
    if lit { button.fill(colour) } else { button }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide() -> (Vec3, Vec3, f32) {
        CameraShot::Wide.framing(Vec3::ZERO)
    }

    #[test]
    fn orbit_keeps_the_distance_and_the_point_looked_at() {
        let (eye, look, fov) = wide();
        let (e, l, f) = orbit((eye, look, fov), egui::vec2(120.0, 40.0));
        assert_eq!((l, f), (look, fov));
        assert!((e.distance(look) - eye.distance(look)).abs() < 1e-4);
        assert!(
            e.x < -1.0,
            "the stage turns with the mouse: dragging right swings the camera to stage left: {e}"
        );
        assert!(e.y > eye.y, "and dragging down brings the camera up: {e}");
        // Never over the top.
        let (e, ..) = orbit((eye, look, fov), egui::vec2(0.0, 10_000.0));
        assert!((e - look).normalize().y < 0.999);
    }

    #[test]
    fn dolly_and_pan_move_the_camera_as_the_mouse_says() {
        let (eye, look, fov) = wide();
        let (e, l, _) = dolly((eye, look, fov), 100.0);
        assert_eq!(l, look);
        assert!(e.distance(look) < eye.distance(look), "wheel up moves in");
        let (e, ..) = dolly((eye, look, fov), -100.0);
        assert!(e.distance(look) > eye.distance(look));
        let (e, l, f) = pan_camera((eye, look, fov), egui::vec2(-50.0, 0.0), 200.0);
        assert_eq!(f, fov);
        assert!(
            (e - eye).distance(l - look) < 1e-5,
            "eye and look move together"
        );
        assert!(
            e.x > eye.x && (e.y - eye.y).abs() < 1e-5,
            "drag left pans right: {e}"
        );
    }
}
