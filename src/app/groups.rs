//! The Groups screen: the groups described by their coordinators, with offsets and lag.

use super::{Action, App, Command, Overlay, Screen};
use crate::model::group::Group;

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

impl App {
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
