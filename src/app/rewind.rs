//! Marks, the Groups screen, and the two dialogs that write to the cluster: Rewind (a
//! group to a marked event) and Compensate (produce the compensating event). Both show
//! what will happen and act only after the user types the name they act on.

use std::path::PathBuf;

use super::{Action, App, Command, Screen};
use crate::kafka::rewind::{Known, PlanRequest};
use crate::model::compensate::Draft;
use crate::model::group::{Group, GroupState};
use crate::model::mark::{self, Mark};
use crate::model::plan::{Plan, Scope};
use crate::model::{Coord, Event};

/// A window over the screen that takes the keys until it closes.
#[derive(Debug)]
pub enum Overlay {
    /// The keys (`?`); `?`, Esc or q closes it.
    Help,
    /// The marks list; Enter jumps, `r` rewinds to the mark, `x` deletes it.
    Marks {
        selected: usize,
    },
    Rewind(Box<RewindDialog>),
    Compensate(Box<CompensateDialog>),
}

/// The Rewind dialog: pick a group, see the plan, type the group's name, see the result.
#[derive(Debug)]
pub struct RewindDialog {
    pub target: Mark,
    /// The groups to choose from, once loaded.
    pub groups: Option<Result<Vec<Group>, String>>,
    pub selected: usize,
    pub step: RewindStep,
}

#[derive(Debug)]
pub enum RewindStep {
    PickGroup,
    Planning {
        group: String,
        /// The number of the plan asked for: only its answer is shown.
        request: u64,
    },
    Plan {
        plan: Box<Plan>,
        state: GroupState,
        typed: String,
        allow_unknown: bool,
    },
    Executing {
        group: String,
    },
    Done(Rewound),
    /// Planning or writing failed (a failed write leaves the offsets as they were):
    /// Esc goes back to the groups.
    Failed(String),
}

/// What an executed rewind did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewound {
    pub group: String,
    /// The rewind was allowed on a group of unknown state (so is its undo).
    pub allow_unknown: bool,
    pub topic: String,
    pub undo_file: PathBuf,
    /// (partition, target, read back) where they differ.
    pub mismatches: Vec<(i32, i64, Option<i64>)>,
    /// How the offsets were written.
    pub written_with: crate::kafka::WritePath,
}

/// The Compensate dialog: the drafted event, then the topic's name typed to produce it.
#[derive(Debug)]
pub struct CompensateDialog {
    pub draft: Draft,
    pub reversed_by: Option<Coord>,
    pub typed: String,
    /// `None` until produced (or failed).
    pub result: Option<Result<Coord, String>>,
    pub producing: bool,
}

/// The Groups screen.
#[derive(Debug, Default)]
pub struct GroupsView {
    pub groups: Vec<Group>,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
    /// Where Esc goes back to.
    pub back: Option<Screen>,
    /// The group to select once loaded (`:group G`).
    pub focus: Option<String>,
}

impl RewindDialog {
    /// The groups listed for choosing: those with offsets on the marked topic first.
    pub fn choices(&self) -> Vec<&Group> {
        let Some(Ok(groups)) = &self.groups else {
            return vec![];
        };
        let on_topic = |g: &&Group| g.offsets.iter().any(|o| o.topic == self.target.topic);
        let mut list: Vec<&Group> = groups.iter().filter(on_topic).collect();
        list.extend(groups.iter().filter(|g| !on_topic(g)));
        list
    }

    /// Why the plan on screen cannot be executed, if it cannot.
    pub fn blocked(&self, read_only: bool) -> Option<String> {
        let RewindStep::Plan {
            plan,
            state,
            allow_unknown,
            ..
        } = &self.step
        else {
            return None;
        };
        if read_only {
            return Some("read-only: rewind will not commit offsets here".into());
        }
        match state {
            GroupState::Unknown(_) if *allow_unknown => None,
            GroupState::Unknown(_) => Some(format!(
                "the state of {} is unknown (this broker cannot describe groups): stop its consumers, then press Tab to allow the rewind",
                plan.group
            )),
            state => state.check_inactive(&plan.group, false).err(),
        }
    }
}

impl App {
    /// Where the cursor is in the topic's index, on the Events or Stream screen.
    pub fn current_index(&self) -> Option<usize> {
        match self.screen {
            Screen::Stream(_) => self.stream().and_then(|s| s.indices.get(s.cursor).copied()),
            Screen::Events => {
                (self.events.selected < self.events.len()).then_some(self.events.selected)
            }
            _ => None,
        }
    }

    /// The event under the cursor, when its payload is in memory.
    pub fn current_event(&self) -> Option<std::rc::Rc<Event>> {
        self.events.event(self.current_index()?).cloned()
    }

    /// A mark for the event under the cursor (from the index: no payload needed).
    pub(super) fn current_mark(&self) -> Option<Mark> {
        let e = self.events.index.get(self.current_index()?);
        Some(Mark::at(&self.events.topic, &e))
    }

    /// Whether the event at this coordinate of the open topic is marked.
    pub fn is_marked(&self, at: Coord) -> bool {
        self.marks
            .iter()
            .any(|m| m.topic == self.events.topic && m.coord() == at)
    }

    /// Whether keys are being typed as text (the input line or a confirmation).
    pub fn typing(&self) -> bool {
        self.input.is_some()
            || match &self.overlay {
                Some(Overlay::Rewind(d)) => matches!(d.step, RewindStep::Plan { .. }),
                Some(Overlay::Compensate(d)) => d.result.is_none() && !d.producing,
                _ => false,
            }
    }

    fn save_marks(&self) -> Vec<Command> {
        match &self.marks_file {
            Some(path) => vec![Command::SaveMarks {
                path: path.clone(),
                text: mark::to_text(&self.marks),
            }],
            None => vec![],
        }
    }

    pub(super) fn toggle_mark(&mut self) -> Vec<Command> {
        let Some(m) = self.current_mark() else {
            self.status = "no event here to mark".into();
            return vec![];
        };
        let label = format!("{} {} {}", m.coord(), m.event_type, m.aggregate);
        self.status = match mark::toggle(&mut self.marks, m) {
            true => format!("marked {label} (' lists marks, r rewinds a group to it)"),
            false => format!("unmarked {label}"),
        };
        self.save_marks()
    }

    /// Opens the Rewind dialog for a marked event and asks for the groups.
    pub(super) fn start_rewind(&mut self, target: Mark) -> Vec<Command> {
        self.status.clear();
        self.overlay = Some(Overlay::Rewind(Box::new(RewindDialog {
            target,
            groups: None,
            selected: 0,
            step: RewindStep::PickGroup,
        })));
        vec![Command::LoadGroups { also: None }]
    }

    /// Opens the Compensate dialog for the event under the cursor.
    pub(super) fn start_compensate(&mut self) -> Vec<Command> {
        let Some(event) = self.current_event() else {
            self.status = match self.current_index() {
                Some(_) => {
                    "the event is being loaded from the topic; press c again in a moment".into()
                }
                None => "no event here to compensate".into(),
            };
            self.want_current();
            return vec![];
        };
        let drafted = self
            .config
            .templates_for(&event.topic)
            .map_err(|e| format!("{e:#}"))
            .and_then(|t| t.draft(&event, &self.config.rules_for(&event.topic).payloads));
        match drafted {
            Ok(draft) => {
                self.status.clear();
                let reversed_by = self
                    .links()
                    .and_then(|l| l.reversed_by.get(&event.coord()).copied());
                self.overlay = Some(Overlay::Compensate(Box::new(CompensateDialog {
                    draft,
                    reversed_by,
                    typed: String::new(),
                    result: None,
                    producing: false,
                })));
            }
            Err(e) => self.status = e,
        }
        vec![]
    }

    /// What rewind's own index (the loaded topic) knows for a plan to `target`.
    fn known_for(&self, target: &Mark) -> Option<Known> {
        if self.events.topic != target.topic || !self.events.done || self.events.error.is_some() {
            return None;
        }
        let t = target.timestamp?;
        // The first offset at or after `t` in each partition, from the index.
        let records = self.events.index.iter().map(|e| (e.coord(), e.timestamp()));
        let times = crate::model::plan::offsets_for_time(records, t);
        let topic = &self.events.topic;
        Some(Known {
            event_time: Some(t),
            times,
            aggregate_events: self
                .events
                .index
                .iter()
                .filter(|e| e.aggregate() == target.aggregate)
                .map(|e| Event::skeleton(topic, &e))
                .collect(),
        })
    }

    /// Keys while an overlay is open.
    pub(super) fn update_overlay(&mut self, action: Action) -> Vec<Command> {
        let Some(overlay) = self.overlay.take() else {
            return vec![];
        };
        match overlay {
            Overlay::Help => {
                let closes = matches!(
                    action,
                    Action::ToggleHelp | Action::Back | Action::Quit | Action::Cancel
                );
                if !closes {
                    self.overlay = Some(Overlay::Help);
                }
                vec![]
            }
            Overlay::Marks { selected } => self.update_marks(selected, action),
            Overlay::Rewind(dialog) => self.update_rewind(dialog, action),
            Overlay::Compensate(dialog) => self.update_compensate(dialog, action),
        }
    }

    fn update_marks(&mut self, selected: usize, action: Action) -> Vec<Command> {
        let last = self.marks.len().saturating_sub(1);
        let selected = match action {
            Action::Back | Action::ShowMarks | Action::Quit | Action::Cancel => return vec![],
            Action::MoveDown => (selected + 1).min(last),
            Action::MoveUp => selected.saturating_sub(1),
            Action::First => 0,
            Action::Last => last,
            Action::Delete if !self.marks.is_empty() => {
                let m = self.marks.remove(selected.min(last));
                self.status = format!("unmarked {} {}", m.coord(), m.event_type);
                self.overlay = Some(Overlay::Marks {
                    selected: selected.min(self.marks.len().saturating_sub(1)),
                });
                return self.save_marks();
            }
            Action::Rewind => match self.marks.get(selected).cloned() {
                Some(m) => return self.start_rewind(m),
                None => selected,
            },
            Action::Open | Action::StepForward => match self.marks.get(selected).cloned() {
                Some(m) => return self.jump_to(m),
                None => selected,
            },
            _ => selected,
        };
        self.overlay = Some(Overlay::Marks { selected });
        vec![]
    }

    /// Opens the marked event in its aggregate's stream, loading its topic if needed.
    fn jump_to(&mut self, m: Mark) -> Vec<Command> {
        if self.events.topic == m.topic && self.events.done {
            self.show_coord(&m.topic, m.coord());
            return vec![];
        }
        let commands = self.open_topic(&m.topic);
        self.pending_jump = Some(m.coord());
        commands
    }

    /// Opens the stream at a coordinate of the loaded topic.
    pub(super) fn show_coord(&mut self, topic: &str, at: Coord) {
        let found = self.events.index.iter().position(|e| e.coord() == at);
        match found {
            Some(i) => {
                let aggregate = self.events.index.get(i).aggregate().to_owned();
                self.events.selected = i;
                self.open_stream(&aggregate, Some(i));
            }
            None => self.status = format!("{topic} {at} is no longer in the topic"),
        }
    }

    fn update_rewind(&mut self, mut dialog: Box<RewindDialog>, action: Action) -> Vec<Command> {
        let mut commands = vec![];
        match (&mut dialog.step, action) {
            (RewindStep::Plan { typed, .. }, Action::Type(c)) => typed.push(c),
            (RewindStep::Plan { typed, .. }, Action::Erase) => {
                typed.pop();
            }
            (RewindStep::Plan { allow_unknown, .. }, Action::NextPane) => {
                *allow_unknown = !*allow_unknown
            }
            (RewindStep::Plan { .. }, Action::Submit) => {
                let blocked = dialog.blocked(self.read_only);
                let RewindStep::Plan {
                    plan,
                    typed,
                    allow_unknown,
                    ..
                } = &mut dialog.step
                else {
                    unreachable!()
                };
                if let Some(why) = blocked {
                    self.status = why;
                } else if *typed != plan.group {
                    self.status = format!("type the group's name, {}, to confirm", plan.group);
                } else {
                    let group = plan.group.clone();
                    self.status.clear();
                    commands.push(Command::ExecuteRewind {
                        plan: plan.clone(),
                        allow_unknown: *allow_unknown,
                    });
                    dialog.step = RewindStep::Executing { group };
                }
            }
            (RewindStep::Plan { .. }, Action::Cancel) => {
                dialog.step = RewindStep::PickGroup;
            }
            (RewindStep::PickGroup, Action::MoveDown) => {
                dialog.selected =
                    (dialog.selected + 1).min(dialog.choices().len().saturating_sub(1));
            }
            (RewindStep::PickGroup, Action::MoveUp) => {
                dialog.selected = dialog.selected.saturating_sub(1)
            }
            (RewindStep::PickGroup, Action::Open | Action::StepForward) => {
                if let Some(group) = dialog
                    .choices()
                    .get(dialog.selected)
                    .map(|g| g.name.clone())
                {
                    let request = PlanRequest {
                        group: group.clone(),
                        topic: dialog.target.topic.clone(),
                        scope: Scope::Event(dialog.target.coord()),
                        now_ms: chrono::Utc::now().timestamp_millis(),
                        aggregate: Some(dialog.target.aggregate.clone()),
                        known: self.known_for(&dialog.target),
                    };
                    self.request += 1;
                    commands.push(Command::PlanRewind {
                        request: self.request,
                        ask: Box::new(request),
                    });
                    dialog.step = RewindStep::Planning {
                        group,
                        request: self.request,
                    };
                }
            }
            (RewindStep::Executing { .. }, _) => {}
            (
                RewindStep::Failed(_) | RewindStep::Planning { .. },
                Action::Back | Action::Cancel | Action::StepBack,
            ) => {
                dialog.step = RewindStep::PickGroup;
            }
            (_, Action::Back | Action::Cancel | Action::Quit) => return commands,
            _ => {}
        }
        self.overlay = Some(Overlay::Rewind(dialog));
        commands
    }

    fn update_compensate(
        &mut self,
        mut dialog: Box<CompensateDialog>,
        action: Action,
    ) -> Vec<Command> {
        let mut commands = vec![];
        let confirming = dialog.result.is_none() && !dialog.producing;
        match action {
            Action::Type(c) if confirming => dialog.typed.push(c),
            Action::Erase if confirming => {
                dialog.typed.pop();
            }
            Action::Submit if confirming => {
                if self.read_only {
                    self.status = "read-only: rewind will not produce events here".into();
                } else if let Some(by) = dialog.reversed_by {
                    self.status =
                        format!("already reversed by {by}: producing this would reverse it twice");
                } else if dialog.typed != dialog.draft.topic {
                    self.status =
                        format!("type the topic's name, {}, to produce", dialog.draft.topic);
                } else {
                    dialog.producing = true;
                    self.status.clear();
                    commands.push(Command::Produce(Box::new(dialog.draft.clone())));
                }
            }
            Action::Cancel | Action::Back | Action::Quit if !dialog.producing => return commands,
            _ => {}
        }
        self.overlay = Some(Overlay::Compensate(dialog));
        commands
    }

    pub(super) fn receive_groups(&mut self, groups: Result<Vec<Group>, String>) {
        if let Some(Overlay::Rewind(dialog)) = &mut self.overlay {
            dialog.groups = Some(groups.clone());
        }
        self.groups.loading = false;
        match groups {
            Ok(g) => {
                self.groups.selected = match self.groups.focus.take() {
                    Some(name) => g.iter().position(|x| x.name == name).unwrap_or(0),
                    None => self.groups.selected.min(g.len().saturating_sub(1)),
                };
                self.groups.groups = g;
                self.groups.error = None;
            }
            Err(e) => self.groups.error = Some(e),
        }
    }

    pub(super) fn receive_plan(&mut self, request: u64, plan: Result<(Plan, GroupState), String>) {
        let Some(Overlay::Rewind(dialog)) = &mut self.overlay else {
            return;
        };
        if !matches!(dialog.step, RewindStep::Planning { request: r, .. } if r == request) {
            return;
        }
        dialog.step = match plan {
            Ok((plan, state)) => {
                // The listing the dialog opened with may be stale: show what the
                // coordinator said with the plan.
                if let Some(Ok(groups)) = &mut dialog.groups {
                    if let Some(g) = groups.iter_mut().find(|g| g.name == plan.group) {
                        g.state = state.clone();
                    }
                }
                RewindStep::Plan {
                    plan: Box::new(plan),
                    state,
                    typed: String::new(),
                    allow_unknown: false,
                }
            }
            Err(e) => RewindStep::Failed(e),
        };
    }

    pub(super) fn receive_rewound(&mut self, result: Result<Rewound, String>) {
        match &mut self.overlay {
            Some(Overlay::Rewind(dialog)) => {
                dialog.step = match result {
                    Ok(done) => RewindStep::Done(done),
                    Err(e) => RewindStep::Failed(e),
                }
            }
            _ => {
                self.status = match result {
                    Ok(r) => format!("rewound {}; undo file {}", r.group, r.undo_file.display()),
                    Err(e) => e,
                }
            }
        }
    }

    pub(super) fn receive_produced(&mut self, result: Result<Coord, String>) {
        match &mut self.overlay {
            Some(Overlay::Compensate(dialog)) => {
                dialog.producing = false;
                dialog.result = Some(result);
            }
            _ => {
                self.status = match result {
                    Ok(at) => format!("compensating event produced at {at}"),
                    Err(e) => e,
                }
            }
        }
    }

    /// Opens the Groups screen (optionally on one group) and loads the groups.
    pub(super) fn open_groups(&mut self, group: Option<&str>) -> Vec<Command> {
        if !matches!(self.screen, Screen::Groups) {
            self.groups.back = Some(std::mem::replace(&mut self.screen, Screen::Groups));
        }
        self.groups.loading = true;
        self.groups.focus = group.map(str::to_owned);
        vec![Command::LoadGroups {
            also: group.map(str::to_owned),
        }]
    }

    pub(super) fn update_groups(&mut self, action: &Action) -> Option<Vec<Command>> {
        let last = self.groups.groups.len().saturating_sub(1);
        let selected = self.groups.selected;
        self.groups.selected = match action {
            Action::MoveDown => (selected + 1).min(last),
            Action::MoveUp => selected.saturating_sub(1),
            Action::First => 0,
            Action::Last => last,
            Action::Refresh => return Some(self.open_groups(None)),
            Action::Back | Action::StepBack => {
                self.screen = self.groups.back.take().unwrap_or(Screen::Topics);
                return Some(vec![]);
            }
            _ => return None,
        };
        Some(vec![])
    }
}
