//! The cue list: the console's bottom strip, where an operator runs the show QLab's way —
//! GO, back, panic, the standby cue highlighted, cues waiting their pre-wait counting down —
//! and edits it live: add, duplicate, delete, drag to reorder, change any field, undo and redo,
//! save to the show file. Every action is a [`DirectorCommand`] (the cue runner in
//! `ling_core::show` does the work), so hotkeys and the remote do exactly the same.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui;

use ling_core::looks::{CameraShot, ShotRef};
use ling_core::show::{
    ActiveShow, Cue, CueEdit, CueRunner, DirectorCommand, EmoteSpec, Follow, ShowClock, cue_number,
};
use ling_stage_fx::{EffectParams, EffectRegistry};

use crate::i18n::tr_with;

/// Height of the cue list strip in logical pixels.
pub(crate) const CUE_LIST_HEIGHT: f32 = 236.0;

/// What the cue list reads.
#[derive(SystemParam)]
pub(crate) struct CueView<'w> {
    show: Option<Res<'w, ActiveShow>>,
    runner: Res<'w, CueRunner>,
    clock: Res<'w, ShowClock>,
    registry: Option<Res<'w, EffectRegistry>>,
    remote: Option<Res<'w, ling_remote::RemoteStatus>>,
}

/// The operator's edits in progress (a field being typed is sent when it loses focus).
#[derive(Default)]
pub(crate) struct CueListState {
    /// Row being edited: its index, number and name as typed.
    typing: Option<(usize, String, String)>,
    /// The show file typed into "Open".
    open_path: String,
}

/// Draws the cue list into `ui`.
pub(crate) fn cue_list(
    ui: &mut egui::Ui,
    view: &CueView,
    state: &mut CueListState,
    out: &mut MessageWriter<DirectorCommand>,
) {
    let Some(show) = &view.show else {
        ui.label(tr_with("No show loaded.", "未载入演出。"));
        return;
    };
    let cues = &show.0.cues;
    let runner = &*view.runner;
    toolbar(ui, cues, runner, view, &mut state.open_path, out);
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("cue list")
                .striped(true)
                .num_columns(9)
                .spacing([10.0, 3.0])
                .show(ui, |ui| {
                    header(ui);
                    for index in 0..cues.len() {
                        row(ui, cues, index, runner, view.clock.time, state, out);
                        ui.end_row();
                    }
                });
            if cues.is_empty() {
                ui.label(
                    egui::RichText::new(tr_with(
                        "The show has no cues yet: add one with \"+ Cue\".",
                        "演出还没有提示：用“+ 提示”添加。",
                    ))
                    .weak(),
                );
            }
        });
}

/// GO, back, panic, the standby cue, undo and redo, adding and saving.
fn toolbar(
    ui: &mut egui::Ui,
    cues: &[Cue],
    runner: &CueRunner,
    view: &CueView,
    open_path: &mut String,
    out: &mut MessageWriter<DirectorCommand>,
) {
    ui.horizontal(|ui| {
        let go = egui::Button::new(
            egui::RichText::new("GO")
                .size(22.0)
                .strong()
                .color(egui::Color32::WHITE),
        )
        .fill(egui::Color32::from_rgb(30, 130, 60))
        .min_size(egui::vec2(84.0, 40.0));
        if ui
            .add_enabled(runner.standby.is_some(), go)
            .on_hover_text(tr_with(
                "Fire the standby cue (Space)",
                "执行待命提示（空格键）",
            ))
            .clicked()
        {
            out.write(DirectorCommand::Go);
        }
        ui.vertical(|ui| {
            let standby = match runner.standby {
                Some(i) => format!("{}  {}", cue_number(cues, i), cue_title(&cues[i])),
                None => tr_with("— end of the list —", "— 列表结束 —").to_string(),
            };
            ui.label(
                egui::RichText::new(format!("{} {standby}", tr_with("Standby:", "待命：")))
                    .strong()
                    .color(egui::Color32::from_rgb(240, 200, 80)),
            );
            ui.horizontal(|ui| {
                if ui
                    .button(tr_with("◀ Back", "◀ 上一条"))
                    .on_hover_text(tr_with("Standby the previous cue", "待命上一条提示"))
                    .clicked()
                {
                    out.write(DirectorCommand::Back);
                }
                let panic = egui::Button::new(
                    egui::RichText::new(tr_with("PANIC", "紧急停止")).color(egui::Color32::WHITE),
                )
                .fill(egui::Color32::from_rgb(170, 30, 30));
                if ui
                    .add(panic)
                    .on_hover_text(tr_with(
                        "Cancel waiting cues, stop every effect, clear emotes, lights to the house look (Esc)",
                        "取消等待的提示、停止所有特效、清除表情、灯光回到场灯（Esc）",
                    ))
                    .clicked()
                {
                    out.write(DirectorCommand::Panic);
                }
            });
        });
        ui.separator();
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(runner.can_undo(), egui::Button::new(tr_with("Undo", "撤销")))
                    .on_hover_text("Ctrl+Z")
                    .clicked()
                {
                    out.write(DirectorCommand::EditCues(CueEdit::Undo));
                }
                if ui
                    .add_enabled(runner.can_redo(), egui::Button::new(tr_with("Redo", "重做")))
                    .on_hover_text("Ctrl+Y")
                    .clicked()
                {
                    out.write(DirectorCommand::EditCues(CueEdit::Redo));
                }
                add_menu(ui, cues, runner, view, out);
                let save = if runner.unsaved {
                    tr_with("Save*", "保存*")
                } else {
                    tr_with("Save", "保存")
                };
                if ui
                    .button(save)
                    .on_hover_text(tr_with(
                        "Write the show back to its file (the old one kept as .bak) — Ctrl+S",
                        "把演出写回文件（旧文件保留为 .bak）— Ctrl+S",
                    ))
                    .clicked()
                {
                    out.write(DirectorCommand::SaveShow);
                }
                ui.menu_button(tr_with("Open…", "打开…"), |ui| {
                    if open_path.is_empty() {
                        if let Some(show) = &view.show {
                            *open_path = show.0.path().display().to_string();
                        }
                    }
                    ui.label(tr_with("Show file", "演出文件"));
                    let field = ui.add(
                        egui::TextEdit::singleline(open_path)
                            .desired_width(320.0)
                            .hint_text("scenes/show.ron"),
                    );
                    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui
                        .button(tr_with("Load (the running show stays if it fails)", "载入（失败时保留当前演出）"))
                        .clicked()
                        || enter)
                        && !open_path.trim().is_empty()
                    {
                        out.write(DirectorCommand::LoadShow(open_path.trim().into()));
                        ui.close();
                    }
                });
            });
            if let Some(remote) = &view.remote {
                remote_line(ui, remote);
            }
            match &runner.file_status {
                Some(Ok(text)) => {
                    ui.label(egui::RichText::new(text).small().weak());
                }
                Some(Err(text)) => {
                    ui.label(
                        egui::RichText::new(text)
                            .small()
                            .color(egui::Color32::from_rgb(230, 120, 60)),
                    );
                }
                None => {}
            }
        });
    });
}

/// "+ Cue": a new cue after the selected one, from what the show has (shots, light looks,
/// effects, emotes).
fn add_menu(
    ui: &mut egui::Ui,
    cues: &[Cue],
    runner: &CueRunner,
    view: &CueView,
    out: &mut MessageWriter<DirectorCommand>,
) {
    let at = runner.standby.unwrap_or(cues.len());
    let mut add = |command: DirectorCommand| {
        out.write(DirectorCommand::EditCues(CueEdit::Insert {
            index: at,
            cue: Box::new(Cue::manual(command)),
        }));
    };
    ui.menu_button(tr_with("+ Cue", "+ 提示"), |ui| {
        ui.label(
            egui::RichText::new(tr_with(
                "Inserted before the standby cue",
                "插入在待命提示之前",
            ))
            .small()
            .weak(),
        );
        ui.menu_button(tr_with("Camera", "机位"), |ui| {
            for shot in CameraShot::ALL {
                if ui.button(shot.label()).clicked() {
                    add(DirectorCommand::CutTo { shot, blend: 0.0 });
                }
            }
            if let Some(show) = &view.show {
                for name in show.0.shots.keys() {
                    if ui.button(name).clicked() {
                        add(DirectorCommand::CutToShot {
                            name: ShotRef::Named(name.clone()),
                            blend: 0.0,
                        });
                    }
                }
            }
            ui.separator();
            if ui
                .button(tr_with("Take the preview (cut)", "切换预监（硬切）"))
                .clicked()
            {
                add(DirectorCommand::Take { transition: 0.0 });
            }
            if ui
                .button(tr_with(
                    "Take the preview (1 s auto)",
                    "切换预监（自动 1 秒）",
                ))
                .clicked()
            {
                add(DirectorCommand::Take { transition: 1.0 });
            }
        });
        if let Some(show) = &view.show {
            ui.menu_button(tr_with("Lights", "灯光"), |ui| {
                for name in show.0.lights.keys() {
                    if ui.button(name).clicked() {
                        add(DirectorCommand::LightCue {
                            name: name.clone(),
                            fade: 1.0,
                        });
                    }
                }
            });
        }
        if let Some(registry) = &view.registry {
            ui.menu_button(tr_with("Effect", "特效"), |ui| {
                for entry in registry.iter() {
                    if ui
                        .button(entry.name)
                        .on_hover_text(entry.description)
                        .clicked()
                    {
                        add(DirectorCommand::TriggerEffect {
                            name: entry.name.to_string(),
                            params: EffectParams::default(),
                        });
                    }
                }
            });
        }
        ui.menu_button(tr_with("Emote", "表情"), |ui| {
            for name in ["joy", "anger", "sorrow", "surprise", "fun"] {
                if ui.button(name).clicked() {
                    add(DirectorCommand::Emote(EmoteSpec::pulse(name, 2.0)));
                }
            }
        });
        if ui.button(tr_with("Pause the show", "暂停演出")).clicked() {
            add(DirectorCommand::Pause);
        }
        if ui.button(tr_with("Play the show", "继续演出")).clicked() {
            add(DirectorCommand::Play);
        }
    });
}

fn header(ui: &mut egui::Ui) {
    for title in [
        "",
        tr_with("#", "号"),
        tr_with("Name", "名称"),
        tr_with("Action", "动作"),
        tr_with("At", "时间点"),
        tr_with("Pre-wait", "预等待"),
        tr_with("Duration", "时长"),
        tr_with("Follow", "接续"),
        "",
    ] {
        ui.label(egui::RichText::new(title).small().strong());
    }
    ui.end_row();
}

/// One cue: its state, its fields (edited in place) and its buttons; dragged by its handle.
#[allow(clippy::too_many_arguments)]
fn row(
    ui: &mut egui::Ui,
    cues: &[Cue],
    index: usize,
    runner: &CueRunner,
    now: f64,
    state: &mut CueListState,
    out: &mut MessageWriter<DirectorCommand>,
) {
    let cue = &cues[index];
    let replace = |out: &mut MessageWriter<DirectorCommand>, cue: Cue| {
        out.write(DirectorCommand::EditCues(CueEdit::Replace {
            index,
            cue: Box::new(cue),
        }));
    };
    // State: standby, waiting (with its countdown), fired last, timed and past.
    let waiting = runner.waiting.iter().find(|w| w.index == index);
    let handle = ui
        .horizontal(|ui| {
            let handle = ui.dnd_drag_source(egui::Id::new(("cue", index)), index, |ui| {
                ui.label(egui::RichText::new("☰").weak())
                    .on_hover_text(tr_with("Drag to reorder", "拖动以调整顺序"));
            });
            if let Some(w) = waiting {
                ui.add(
                    egui::ProgressBar::new(1.0 - (w.left / w.total.max(1e-6)) as f32)
                        .desired_width(34.0)
                        .text(format!("{:.1}", w.left.max(0.0))),
                );
            } else if runner.standby == Some(index) {
                ui.label(
                    egui::RichText::new("▶")
                        .strong()
                        .color(egui::Color32::from_rgb(240, 200, 80)),
                );
            } else if runner.last_fired == Some(index) || cue.at.is_some_and(|at| at <= now) {
                ui.label(egui::RichText::new("✔").weak());
            }
            handle.response
        })
        .inner;
    if let Some(from) = handle.dnd_release_payload::<usize>() {
        if *from != index {
            out.write(DirectorCommand::EditCues(CueEdit::Move {
                from: *from,
                to: index,
            }));
        }
    }
    // Number and name: typed into a buffer, sent when the field is left.
    let (mut number, mut name) = match &state.typing {
        Some((i, number, name)) if *i == index => (number.clone(), name.clone()),
        _ => (cue.number.clone(), cue.name.clone()),
    };
    let number_field = ui.add(
        egui::TextEdit::singleline(&mut number)
            .desired_width(34.0)
            .hint_text(cue_number(cues, index)),
    );
    let name_field = ui.add(
        egui::TextEdit::singleline(&mut name)
            .desired_width(120.0)
            .hint_text(tr_with("name", "名称")),
    );
    if number_field.has_focus() || name_field.has_focus() {
        state.typing = Some((index, number.clone(), name.clone()));
    } else if state.typing.as_ref().is_some_and(|t| t.0 == index) {
        state.typing = None;
    }
    if (number_field.lost_focus() || name_field.lost_focus())
        && (number != cue.number || name != cue.name)
    {
        replace(
            out,
            Cue {
                number: number.trim().to_string(),
                name: name.trim().to_string(),
                ..cue.clone()
            },
        );
    }
    let action = ui
        .allocate_ui_with_layout(
            egui::vec2(200.0, 18.0),
            egui::Layout::left_to_right(egui::Align::Center),
            |ui| {
                ui.set_min_width(200.0);
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(crate::sections::describe(&cue.command)).small(),
                    )
                    .truncate()
                    .sense(egui::Sense::click()),
                )
            },
        )
        .inner
        .on_hover_text(tr_with(
            "Click: standby this cue · double-click: fire it now",
            "单击：待命此提示 · 双击：立即执行",
        ));
    if action.double_clicked() {
        out.write(DirectorCommand::FireCue((index + 1).to_string()));
    } else if action.clicked() {
        out.write(DirectorCommand::Standby((index + 1).to_string()));
    }
    // Time on the show clock (timed cues) or "GO".
    match cue.at {
        Some(at) => {
            let mut at = at;
            if ui
                .add(
                    egui::DragValue::new(&mut at)
                        .speed(0.05)
                        .range(0.0..=f64::MAX)
                        .suffix(" s"),
                )
                .changed()
            {
                replace(
                    out,
                    Cue {
                        at: Some(at),
                        ..cue.clone()
                    },
                );
            }
        }
        None => {
            ui.label(egui::RichText::new("GO").small().weak());
        }
    }
    if let Some(pre_wait) = seconds_field(ui, cue.pre_wait) {
        replace(
            out,
            Cue {
                pre_wait,
                ..cue.clone()
            },
        );
    }
    if let Some(duration) = seconds_field(ui, cue.duration) {
        replace(
            out,
            Cue {
                duration,
                ..cue.clone()
            },
        );
    }
    let mut follow = cue.follow;
    egui::ComboBox::from_id_salt(("follow", index))
        .width(96.0)
        .selected_text(follow_label(follow))
        .show_ui(ui, |ui| {
            for mode in Follow::ALL {
                ui.selectable_value(&mut follow, mode, follow_label(mode));
            }
        });
    if follow != cue.follow {
        replace(
            out,
            Cue {
                follow,
                ..cue.clone()
            },
        );
    }
    ui.horizontal(|ui| {
        if ui
            .small_button(tr_with("copy", "复制"))
            .on_hover_text(tr_with("Duplicate this cue", "复制此提示"))
            .clicked()
        {
            out.write(DirectorCommand::EditCues(CueEdit::Insert {
                index: index + 1,
                cue: Box::new(Cue {
                    number: String::new(),
                    ..cue.clone()
                }),
            }));
        }
        if ui
            .small_button("🗑")
            .on_hover_text(tr_with("Delete", "删除"))
            .clicked()
        {
            out.write(DirectorCommand::EditCues(CueEdit::Delete(index)));
        }
        if cue.at.is_some()
            && ui
                .small_button("⏵")
                .on_hover_text(tr_with("Make it a GO cue", "改为 GO 提示"))
                .clicked()
        {
            replace(
                out,
                Cue {
                    at: None,
                    ..cue.clone()
                },
            );
        }
    });
}

/// The remote control's health: where it listens, what it applied, refused and dropped.
fn remote_line(ui: &mut egui::Ui, remote: &ling_remote::RemoteStatus) {
    let text = match (&remote.listening, &remote.error) {
        (_, Some(error)) => {
            ui.label(
                egui::RichText::new(format!("{} {error}", tr_with("OSC remote:", "OSC 遥控：")))
                    .small()
                    .color(egui::Color32::from_rgb(230, 120, 60)),
            );
            return;
        }
        (Some(addr), None) => format!(
            "{} {addr} · {} {} · {} {} · {} {} · {} {}",
            tr_with("OSC remote", "OSC 遥控"),
            remote.applied,
            tr_with("applied", "已执行"),
            remote.malformed,
            tr_with("refused", "已拒绝"),
            remote.dropped,
            tr_with("dropped", "已丢弃"),
            remote.clients.len(),
            tr_with("clients", "客户端"),
        ),
        (None, None) => return,
    };
    let hover = [&remote.last_applied, &remote.last_malformed]
        .into_iter()
        .flatten()
        .cloned()
        .chain(
            remote
                .last_dropped
                .map(|a| format!("{} {a}", tr_with("dropped from", "丢弃自"))),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let label = ui.label(egui::RichText::new(text).small().weak());
    if !hover.is_empty() {
        label.on_hover_text(hover);
    }
}

/// A pre-wait or duration dragged in place: the new value when the operator changed it.
fn seconds_field(ui: &mut egui::Ui, seconds: f64) -> Option<f64> {
    let mut value = seconds;
    ui.add(
        egui::DragValue::new(&mut value)
            .speed(0.05)
            .range(0.0..=600.0)
            .suffix(" s"),
    )
    .changed()
    .then_some(value)
}

fn follow_label(follow: Follow) -> &'static str {
    match follow {
        Follow::Manual => tr_with("manual", "手动"),
        Follow::AutoContinue => tr_with("auto-continue", "自动继续"),
        Follow::AutoFollow => tr_with("auto-follow", "自动跟随"),
    }
}

/// A cue's title: its name, or what it does.
fn cue_title(cue: &Cue) -> String {
    if cue.name.is_empty() {
        crate::sections::describe(&cue.command)
    } else {
        cue.name.clone()
    }
}
