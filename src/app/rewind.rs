//! The Rewind dialog: pick a group, see the plan and the group's state as its
//! coordinator gives it, type the group's name, see the result.

use std::path::PathBuf;

use super::{Action, App, Command, Overlay, Status};
use crate::kafka::rewind::{Known, PlanRequest};
use crate::model::group::{Group, GroupState, GroupStatus};
use crate::model::mark::Mark;
use crate::model::plan::{Plan, Scope};
use crate::model::Event;

/// The Rewind dialog: pick a group, see the plan, type the group's name, see the result.
#[derive(Debug)]
pub struct RewindDialog {
    pub target: Mark,
    /// The groups to choose from, once loaded.
    pub groups: Option<Result<Vec<Group>, String>>,
    pub selected: usize,
    pub step: RewindStep,
    /// The consumer after the rewind, for the plan's outcome: the `:compare` file's
    /// logic when the dialog opens, or one loaded in the dialog (Tab); `None`: the
    /// current reducers.
    pub candidate: Option<(String, crate::model::reducer::Logic)>,
}

/// Where the outcome of the plan on screen is.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeView {
    /// Being folded: pass 1 (the whole topic) or 2 (what comes again), records read of
    /// those to read.
    Folding {
        pass: usize,
        done: i64,
        total: i64,
    },
    Known(Box<crate::model::outcome::Outcome>),
    Failed(String),
}

/// A candidate's logic next to the current one, for the Rewind dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub file: String,
    pub current: crate::model::reducer::Logic,
    pub with: crate::model::reducer::Logic,
}

#[derive(Debug)]
pub enum RewindStep {
    PickGroup,
    /// Typing the path of a candidate logic file (`error`: why the last one did not
    /// load); empty clears the candidate.
    Candidate {
        typed: String,
        error: Option<String>,
    },
    Planning {
        group: String,
        /// The number of the plan asked for: only its answer is shown.
        request: super::PlanId,
    },
    Plan {
        plan: Box<Plan>,
        status: GroupStatus,
        typed: String,
        allow_unknown: bool,
        /// What the read model will hold after the rewind.
        outcome: OutcomeView,
    },
    Executing {
        group: String,
        /// (topic, partition, target) of the plan being committed, for the watch after.
        targets: Vec<(String, i32, i64)>,
    },
    /// Committed: what was done, and the group replaying, sampled
    /// (`Command::WatchReplay`, by id).
    Done {
        rewound: Rewound,
        watch: (super::WatchId, crate::model::group::ReplayWatch),
    },
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
            status,
            allow_unknown,
            ..
        } = &self.step
        else {
            return None;
        };
        if read_only {
            return Some("read-only: rewind will not commit offsets here".into());
        }
        if let Some(why) = status.kind.reset_refusal(&plan.group) {
            return Some(why);
        }
        match &status.state {
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
    /// Opens the Rewind dialog for a marked event and asks for the groups.
    pub(super) fn start_rewind(&mut self, target: Mark) -> Vec<Command> {
        if let Some(why) = self.mark_made_again(&target) {
            self.status = Status::warning(format!("no rewind to this mark: {why}"));
            return vec![];
        }
        self.status.clear();
        self.overlay = Some(Overlay::Rewind(Box::new(RewindDialog {
            target,
            groups: None,
            selected: 0,
            step: RewindStep::PickGroup,
            candidate: self
                .topic
                .compare
                .as_ref()
                .map(|(file, _, logic)| (file.clone(), logic.clone())),
        })));
        vec![Command::LoadGroups { also: None }]
    }

    /// What rewind's own index (the loaded topic) knows for a plan to `target`.
    pub(super) fn known_for(&self, target: &Mark) -> Option<Known> {
        // Only a whole topic knows where every time falls (a window does not).
        if self.topic.events.topic != target.topic
            || !self.topic.events.done
            || self.topic.events.error.is_some()
            || !self.topic.events.window.is_whole()
        {
            return None;
        }
        let t = target.timestamp?;
        // The first offset at or after `t` in each partition, from the index.
        let records = self
            .topic
            .events
            .index
            .iter()
            .map(|e| (e.coord(), e.timestamp()));
        let times = crate::model::plan::offsets_for_time(records, t);
        let topic = &self.topic.events.topic;
        Some(Known {
            event_time: Some(t),
            times,
            aggregate_events: self
                .topic
                .events
                .index
                .iter()
                .filter(|e| e.aggregate() == target.aggregate)
                .map(|e| Event::skeleton(topic, &e))
                .collect(),
        })
    }

    pub(super) fn update_rewind(
        &mut self,
        mut dialog: Box<RewindDialog>,
        action: Action,
    ) -> Vec<Command> {
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
                    self.status = Status::warning(why);
                } else if *typed != plan.group {
                    self.status = Status::warning(format!(
                        "type the group's name, {}, to confirm",
                        plan.group
                    ));
                } else {
                    let group = plan.group.clone();
                    self.status.clear();
                    let targets = plan
                        .partitions
                        .iter()
                        .map(|p| (plan.topic.clone(), p.partition, p.target))
                        .collect();
                    commands.push(Command::StopOutcome);
                    commands.push(Command::ExecuteRewind {
                        plan: plan.clone(),
                        allow_unknown: *allow_unknown,
                    });
                    dialog.step = RewindStep::Executing { group, targets };
                }
            }
            (RewindStep::Plan { .. }, Action::Cancel) => {
                commands.push(Command::StopOutcome);
                dialog.step = RewindStep::PickGroup;
            }
            (RewindStep::PickGroup, Action::NextPane) => {
                dialog.step = RewindStep::Candidate {
                    typed: dialog
                        .candidate
                        .as_ref()
                        .map(|(file, _)| file.clone())
                        .unwrap_or_default(),
                    error: None,
                };
            }
            (RewindStep::Candidate { typed, .. }, Action::Type(c)) => typed.push(c),
            (RewindStep::Candidate { typed, .. }, Action::Erase) => {
                typed.pop();
            }
            (RewindStep::Candidate { .. }, Action::Cancel) => {
                dialog.step = RewindStep::PickGroup;
            }
            (RewindStep::Candidate { typed, error }, Action::Submit) => {
                let file = typed.trim().to_owned();
                if file.is_empty() {
                    dialog.candidate = None;
                    dialog.step = RewindStep::PickGroup;
                } else {
                    *error = None;
                    commands.push(Command::ReadCandidate {
                        file,
                        topic: dialog.target.topic.clone(),
                        purpose: super::CandidateUse::Rewind {
                            at: dialog.target.coord(),
                        },
                    });
                }
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
                        retention_warn_ms: self.config.retention_warn_ms(),
                        aggregate: Some(dialog.target.aggregate.clone()),
                        known: self.known_for(&dialog.target),
                    };
                    let planned = self.requests.plan.advance();
                    commands.push(Command::PlanRewind {
                        request: planned,
                        ask: Box::new(request),
                    });
                    dialog.step = RewindStep::Planning {
                        group,
                        request: planned,
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
            (_, Action::Back | Action::Cancel | Action::Quit) => {
                match dialog.step {
                    RewindStep::Done { .. } => commands.push(Command::StopWatch),
                    RewindStep::Plan { .. } => commands.push(Command::StopOutcome),
                    _ => {}
                }
                return commands;
            }
            _ => {}
        }
        self.overlay = Some(Overlay::Rewind(dialog));
        commands
    }

    /// The Rewind dialog's candidate file read: kept for the plans' outcomes, or why
    /// it did not load, if the dialog still asks for that file.
    pub(super) fn receive_rewind_candidate(
        &mut self,
        file: String,
        at: crate::model::Coord,
        result: Result<crate::model::reducer::Logic, super::WorkerError>,
    ) {
        let Some(Overlay::Rewind(dialog)) = &mut self.overlay else {
            return;
        };
        if dialog.target.coord() != at {
            return;
        }
        let RewindStep::Candidate { typed, error } = &mut dialog.step else {
            return;
        };
        if typed.trim() != file {
            return;
        }
        match result {
            Ok(logic) => {
                dialog.candidate = Some((file, logic));
                dialog.step = RewindStep::PickGroup;
            }
            Err(e) => *error = Some(e.message),
        }
    }

    pub(super) fn receive_plan(
        &mut self,
        request: super::PlanId,
        plan: Result<(Plan, GroupStatus), super::WorkerError>,
    ) {
        let Some(Overlay::Rewind(dialog)) = &mut self.overlay else {
            return;
        };
        if !matches!(dialog.step, RewindStep::Planning { request: r, .. } if r == request) {
            return;
        }
        dialog.step = match plan {
            Ok((plan, status)) => {
                // What the read model will hold after it: folded in the background.
                let candidate = dialog.candidate.as_ref().map(|(file, logic)| {
                    Box::new(Candidate {
                        file: file.clone(),
                        current: self.config.logic_for(&plan.topic),
                        with: logic.clone(),
                    })
                });
                self.outbox.push(Command::FoldOutcome {
                    request,
                    plan: Box::new(plan.clone()),
                    candidate,
                });
                // The listing the dialog opened with may be stale: show what the
                // coordinator said with the plan.
                if let Some(Ok(groups)) = &mut dialog.groups {
                    if let Some(g) = groups.iter_mut().find(|g| g.name == plan.group) {
                        g.state = status.state.clone();
                        g.kind = status.kind;
                    }
                }
                RewindStep::Plan {
                    plan: Box::new(plan),
                    status,
                    typed: String::new(),
                    allow_unknown: false,
                    outcome: OutcomeView::Folding {
                        pass: 1,
                        done: 0,
                        total: 0,
                    },
                }
            }
            Err(e) => RewindStep::Failed(e.into()),
        };
    }

    /// News of the outcome of the plan of `request`, if that plan is on screen.
    pub(super) fn receive_outcome(&mut self, request: super::PlanId, view: OutcomeView) {
        if request != self.requests.plan {
            return;
        }
        if let Some(Overlay::Rewind(dialog)) = &mut self.overlay {
            if let RewindStep::Plan { outcome, .. } = &mut dialog.step {
                // A late progress report never hides the answer.
                if !matches!(outcome, OutcomeView::Known(_) | OutcomeView::Failed(_)) {
                    *outcome = view;
                }
            }
        }
    }

    pub(super) fn receive_replay_sample(
        &mut self,
        id: super::WatchId,
        sample: Result<crate::model::group::ReplaySample, super::WorkerError>,
    ) {
        let Some(Overlay::Rewind(dialog)) = &mut self.overlay else {
            return;
        };
        let RewindStep::Done {
            watch: (watching, watch),
            ..
        } = &mut dialog.step
        else {
            return;
        };
        if *watching != id {
            return;
        }
        match sample {
            Ok(s) => watch.samples.push(s),
            Err(e) => watch.stopped = Some(e.into()),
        }
    }

    pub(super) fn receive_rewound(&mut self, result: Result<Rewound, super::WorkerError>) {
        match &mut self.overlay {
            Some(Overlay::Rewind(dialog)) => {
                let targets = match &mut dialog.step {
                    RewindStep::Executing { targets, .. } => std::mem::take(targets),
                    _ => vec![],
                };
                dialog.step = match result {
                    Ok(rewound) => {
                        // Follow the replay the commit started.
                        let id = self.requests.watch.advance();
                        self.outbox.push(Command::WatchReplay {
                            id,
                            group: rewound.group.clone(),
                            targets,
                        });
                        RewindStep::Done {
                            rewound,
                            watch: (id, Default::default()),
                        }
                    }
                    Err(e) => RewindStep::Failed(e.into()),
                }
            }
            _ => {
                self.status = match result {
                    Ok(r) => Status::info(format!(
                        "rewound {}; undo file {}",
                        r.group,
                        r.undo_file.display()
                    )),
                    Err(e) => e.status(),
                }
            }
        }
    }
}
