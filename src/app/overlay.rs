//! The window over the screen that takes the keys until it closes: help, the marks
//! list, and the two dialogs that write to the cluster.

use super::{Action, App, Command, CompensateDialog, RewindDialog, RewindStep};

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

impl App {
    /// Whether keys are being typed as text (the input line or a confirmation).
    pub fn typing(&self) -> bool {
        self.input.is_some()
            || match &self.overlay {
                Some(Overlay::Rewind(d)) => matches!(
                    d.step,
                    RewindStep::Plan { .. } | RewindStep::Candidate { .. }
                ),
                Some(Overlay::Compensate(d)) => d.result.is_none() && !d.producing,
                _ => false,
            }
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
}
