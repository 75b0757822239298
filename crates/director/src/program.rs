//! The program window: the picture the audience sees and nothing else, for OBS to capture or
//! a projector to show. No panel, no cursor, its own size, fullscreen on a chosen monitor.
//!
//! The stage camera renders into the program image ([`ling_set::StageOutput::Image`]); this
//! window draws that image fitted to its size (letterboxed, never stretched) on its own egui
//! context, so what OBS captures is exactly what the outputs send. F11 toggles fullscreen.

use bevy::camera::RenderTarget;
use bevy::camera::visibility::RenderLayers;
use bevy::ecs::schedule::ScheduleLabel;
use bevy::input::ButtonState;
use bevy::input::keyboard::KeyboardInput;
use bevy::prelude::*;
use bevy::window::{CursorOptions, MonitorSelection, WindowMode, WindowRef, WindowResolution};
use bevy_egui::{EguiContext, EguiSchedule, EguiTextureHandle, EguiUserTextures, egui};

use ling_set::StageOutput;
use ling_set::keying::{Backdrop, BackdropFill};

/// How the live stage lays out its windows.
#[derive(Resource, Debug, Clone, Default)]
pub struct ConsoleLayout {
    /// A separate program window beside the console (the default); `false` docks the picture
    /// in the console window, for small screens.
    pub program_window: bool,
    /// Open the program window fullscreen on this monitor (0 = the first).
    pub fullscreen: Option<usize>,
    /// Title of the program window.
    pub title: String,
}

/// The program window's entity, once it exists.
#[derive(Resource, Debug, Clone, Copy)]
pub struct ProgramWindow(pub Entity);

/// The egui pass of the program window.
#[derive(ScheduleLabel, Clone, Debug, PartialEq, Eq, Hash)]
struct ProgramPass;

/// Marks the program window's camera.
#[derive(Component)]
struct ProgramCamera;

/// Opens the program window when the layout asks for one.
pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<ConsoleLayout>()
        .add_systems(Startup, spawn_program_window)
        .add_systems(ProgramPass, draw_program)
        .add_systems(Update, toggle_fullscreen);
}

/// The program window's size: the picture's, scaled down to fit 1280×720 (a 1080×1920 short
/// opens at 405×720).
fn window_size(picture: UVec2) -> (u32, u32) {
    let scale = (1280.0 / picture.x as f32)
        .min(720.0 / picture.y as f32)
        .min(1.0);
    (
        ((picture.x as f32 * scale).round() as u32).max(1),
        ((picture.y as f32 * scale).round() as u32).max(1),
    )
}

fn spawn_program_window(
    mut commands: Commands,
    layout: Res<ConsoleLayout>,
    output: Res<StageOutput>,
    images: Res<Assets<Image>>,
) {
    if !layout.program_window {
        return;
    }
    let StageOutput::Image(image) = &*output else {
        warn!("the stage renders straight to the window: no program window");
        return;
    };
    let size = images
        .get(image)
        .map(|i| i.size())
        .unwrap_or(UVec2::new(1280, 720));
    let (width, height) = window_size(size);
    let window = commands
        .spawn((
            Window {
                title: layout.title.clone(),
                resolution: WindowResolution::new(width, height),
                mode: match layout.fullscreen {
                    Some(monitor) => {
                        WindowMode::BorderlessFullscreen(MonitorSelection::Index(monitor))
                    }
                    None => WindowMode::Windowed,
                },
                ..default()
            },
            CursorOptions {
                visible: false,
                ..default()
            },
        ))
        .id();
    commands.spawn((
        ProgramCamera,
        Camera2d,
        Camera {
            clear_color: ClearColorConfig::Custom(Color::BLACK),
            ..default()
        },
        RenderLayers::none(),
        RenderTarget::Window(WindowRef::Entity(window)),
        EguiSchedule::new(ProgramPass),
    ));
    commands.insert_resource(ProgramWindow(window));
}

/// The rectangle a picture of `picture` size takes when fitted, centred, into `area`.
pub(crate) fn fit(area: egui::Rect, picture: UVec2) -> egui::Rect {
    let aspect = picture.x as f32 / picture.y.max(1) as f32;
    let mut size = area.size();
    if size.x / size.y.max(1.0) > aspect {
        size.x = size.y * aspect;
    } else {
        size.y = size.x / aspect;
    }
    egui::Rect::from_center_size(area.center(), size)
}

/// The colour behind the picture: the key colour when keyed, black otherwise.
pub(crate) fn backdrop_colour(backdrop: &Backdrop) -> egui::Color32 {
    match backdrop.fill {
        BackdropFill::Key([r, g, b]) => egui::Color32::from_rgb(r, g, b),
        _ => egui::Color32::BLACK,
    }
}

fn draw_program(
    mut context: Single<&mut EguiContext, With<ProgramCamera>>,
    mut textures: ResMut<EguiUserTextures>,
    output: Res<StageOutput>,
    images: Res<Assets<Image>>,
    backdrop: Res<Backdrop>,
) {
    let StageOutput::Image(image) = &*output else {
        return;
    };
    let size = images.get(image).map(|i| i.size()).unwrap_or(UVec2::ONE);
    let texture = textures.add_image(EguiTextureHandle::Weak(image.id()));
    let ctx = context.get_mut();
    let area = ctx.viewport_rect();
    let painter = ctx.layer_painter(egui::LayerId::background());
    painter.rect_filled(area, 0.0, backdrop_colour(&backdrop));
    painter.image(
        texture,
        fit(area, size),
        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
        egui::Color32::WHITE,
    );
}

/// F11 in the program window toggles fullscreen (on the monitor it is on).
fn toggle_fullscreen(
    mut keys: MessageReader<KeyboardInput>,
    program: Option<Res<ProgramWindow>>,
    mut windows: Query<&mut Window>,
) {
    let Some(program) = program else {
        keys.clear();
        return;
    };
    for key in keys.read() {
        if key.key_code != KeyCode::F11 || key.state != ButtonState::Pressed {
            continue;
        }
        if let Ok(mut window) = windows.get_mut(program.0) {
            window.mode = match window.mode {
                WindowMode::Windowed => WindowMode::BorderlessFullscreen(MonitorSelection::Current),
                _ => WindowMode::Windowed,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_fit_without_stretching() {
        let area = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1000.0, 1000.0));
        let r = fit(area, UVec2::new(1080, 1920));
        assert!((r.width() / r.height() - 0.5625).abs() < 1e-3);
        assert_eq!(r.height(), 1000.0);
        assert_eq!(r.center(), area.center());
        assert_eq!(window_size(UVec2::new(1080, 1920)), (405, 720));
        assert_eq!(window_size(UVec2::new(640, 360)), (640, 360));
    }
}
