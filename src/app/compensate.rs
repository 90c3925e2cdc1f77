//! The Compensate dialog: the drafted compensating event, produced once the user types
//! the topic's name.

use super::{Action, App, Command, Overlay, Status};
use crate::model::compensate::Draft;
use crate::model::Coord;

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

impl App {
    /// Opens the Compensate dialog for the event under the cursor.
    pub(super) fn start_compensate(&mut self) -> Vec<Command> {
        let Some(event) = self.current_event() else {
            self.status = Status::warning(match self.current_index() {
                Some(_) => "the event is being loaded from the topic; press c again in a moment",
                None => "no event here to compensate",
            });
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
            Err(e) => self.status = Status::error(e),
        }
        vec![]
    }

    pub(super) fn update_compensate(
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
                    self.status = Status::warning("read-only: rewind will not produce events here");
                } else if let Some(by) = dialog.reversed_by {
                    self.status = Status::warning(format!(
                        "already reversed by {by}: producing this would reverse it twice"
                    ));
                } else if dialog.typed != dialog.draft.topic {
                    self.status = Status::warning(format!(
                        "type the topic's name, {}, to produce",
                        dialog.draft.topic
                    ));
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

    pub(super) fn receive_produced(&mut self, result: Result<Coord, super::WorkerError>) {
        match &mut self.overlay {
            Some(Overlay::Compensate(dialog)) => {
                dialog.producing = false;
                dialog.result = Some(result.map_err(String::from));
            }
            _ => {
                self.status = match result {
                    Ok(at) => Status::info(format!("compensating event produced at {at}")),
                    Err(e) => e.status(),
                }
            }
        }
    }
}
