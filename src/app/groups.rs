//! The Groups screen: the groups described by their coordinators, with offsets and lag.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Action, App, Command, Overlay, Screen};
use crate::model::group::{Group, LagHistory, LagSample};

/// How often the open Groups screen looks at the groups again.
pub const GROUP_SAMPLE: Duration = Duration::from_secs(3);

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
    /// A group named by `:group G`, described by name at every look.
    pub also: Option<String>,
    /// Each group's lag over the looks taken while the screen was open.
    pub history: HashMap<String, LagHistory>,
    /// When the groups were last asked for, and whether that answer is awaited.
    pub asked: Option<Instant>,
    pub sampling: bool,
}

impl GroupsView {
    /// Adds a look at every group to its history.
    pub fn record(&mut self, at: Instant) {
        for g in &self.groups {
            self.history
                .entry(g.name.clone())
                .or_default()
                .push(LagSample {
                    at,
                    lag: g.lag(),
                    consumed: g.consumed(),
                });
        }
    }
}

impl App {
    pub(super) fn receive_groups(&mut self, groups: Result<Vec<Group>, super::WorkerError>) {
        if let Some(Overlay::Rewind(dialog)) = &mut self.overlay {
            dialog.groups = Some(groups.clone().map_err(String::from));
        }
        self.groups.loading = false;
        let sampled = std::mem::take(&mut self.groups.sampling);
        match groups {
            Ok(g) => {
                self.groups.selected = match self.groups.focus.take() {
                    Some(name) => g.iter().position(|x| x.name == name).unwrap_or(0),
                    None => self.groups.selected.min(g.len().saturating_sub(1)),
                };
                self.groups.groups = g;
                self.groups.error = None;
                if sampled || matches!(self.screen, Screen::Groups) {
                    self.groups.record(Instant::now());
                }
            }
            Err(e) => self.groups.error = Some(e.into()),
        }
    }

    /// Opens the Groups screen (optionally on one group) and loads the groups.
    pub(super) fn open_groups(&mut self, group: Option<&str>) -> Vec<Command> {
        if !matches!(self.screen, Screen::Groups) {
            self.groups.back = Some(std::mem::replace(&mut self.screen, Screen::Groups));
        }
        self.groups.loading = true;
        self.groups.focus = group.map(str::to_owned);
        if group.is_some() {
            self.groups.also = group.map(str::to_owned);
        }
        self.groups.asked = Some(Instant::now());
        vec![Command::LoadGroups {
            also: self.groups.also.clone(),
        }]
    }

    /// While the Groups screen is open, looks at the groups again every
    /// `GROUP_SAMPLE` (the lag sparkline, rate and time to catch up).
    #[must_use]
    pub fn sample_groups(&mut self, now: Instant) -> Vec<Command> {
        let due = self
            .groups
            .asked
            .is_none_or(|t| now.duration_since(t) >= GROUP_SAMPLE);
        if !matches!(self.screen, Screen::Groups)
            || self.overlay.is_some()
            || self.groups.loading
            || self.groups.sampling
            || !due
        {
            return vec![];
        }
        self.groups.sampling = true;
        self.groups.asked = Some(now);
        vec![Command::LoadGroups {
            also: self.groups.also.clone(),
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
