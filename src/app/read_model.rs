//! A topic's read model in the TUI: `v` shows the open aggregate's row beside its fold,
//! `:drift` lists the aggregates whose row differs from what their events say.

use serde_json::Value;

use super::{App, Command, Screen, Status};
use crate::model::diff::Change;

/// The aggregate's row in the read model (`v`), against the state at the cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadModelView {
    /// The database's name in `[databases]`.
    pub database: String,
    /// JSON Pointers left out of the comparison.
    pub ignore: Vec<String>,
    /// `None` while it is read; then the row, or `None` inside when there is none.
    pub row: Option<Result<Option<Value>, String>>,
    /// From the state at the cursor to the row (ignored pointers left out).
    pub changes: Vec<Change>,
}

impl ReadModelView {
    /// Compares the row with `state`.
    pub(super) fn compare(&mut self, state: &Value) {
        use crate::model::drift::without;
        self.changes = match &self.row {
            Some(Ok(Some(row))) => {
                crate::model::diff::diff(&without(state, &self.ignore), &without(row, &self.ignore))
            }
            _ => vec![],
        };
    }
}

impl App {
    /// `:drift`: the aggregates whose read model differs from their fold, checked in the
    /// background; `:drift` again lists all.
    pub(super) fn start_drift(&mut self) -> Vec<Command> {
        if !matches!(self.screen, Screen::Stream(_)) && self.topic.events.topic.is_empty() {
            self.status =
                Status::warning(":drift compares a topic's read model: open a topic first");
            return vec![];
        }
        if self.topic.aggregates.drift.take().is_some() {
            self.filter_aggregates(self.topic.aggregates.filter.clone(), false);
            self.status = Status::info("drift: every aggregate listed again");
            return vec![];
        }
        let topic = self.topic.events.topic.clone();
        if !self.has_read_model(&topic) {
            return vec![];
        }
        self.status = Status::info(format!("drift: folding {topic}…"));
        vec![Command::Drift {
            generation: self.generation,
            topic,
        }]
    }

    /// `:drift`'s answer: only the aggregates that differ are listed.
    pub(super) fn receive_drift(&mut self, result: Result<Vec<String>, super::WorkerError>) {
        match result {
            Ok(ids) => {
                let n = ids.len();
                // The list counts what has loaded (from the events it may not have yet).
                self.topic.aggregates.refresh(&self.topic.events.index);
                self.topic.aggregates.drift = Some(ids.into_iter().collect());
                // From the events, the list is shown with the first that differs open.
                let open = !matches!(self.screen, Screen::Stream(_));
                self.filter_aggregates(self.topic.aggregates.filter.clone(), open);
                self.status = match n {
                    0 => Status::info("drift: every aggregate matches its read model"),
                    n => Status::warning(format!(
                        "drift: {n} aggregate(s) differ from the read model or have no row (v on one shows it; :drift again lists all)"
                    )),
                };
            }
            Err(e) => self.status = Status::new(e.status().severity, format!("drift: {e}")),
        }
    }

    /// Whether `topic` has a read model; if not, the status says how to give it one.
    pub(super) fn has_read_model(&mut self, topic: &str) -> bool {
        let has = self
            .config
            .topic(topic)
            .is_some_and(|t| t.read_model.is_some());
        if !has {
            self.status = Status::warning(format!(
                "{topic} has no read model: give its [[topics]] entry read_model = {{ database = …, query = … }}"
            ));
        }
        has
    }

    /// The open stream shows its row in the topic's read model: asked of the worker.
    pub(super) fn show_read_model(&mut self) -> Option<Command> {
        let topic = self.topic.events.topic.clone();
        let rm = self
            .config
            .topic(&topic)
            .and_then(|t| t.read_model.clone())?;
        let Screen::Stream(view) = &mut self.screen else {
            return None;
        };
        view.read_model = Some(ReadModelView {
            database: rm.database,
            ignore: rm.ignore,
            row: None,
            changes: vec![],
        });
        Some(Command::ReadModelRow {
            generation: self.generation,
            topic,
            aggregate: view.aggregate.clone(),
        })
    }

    /// The open stream's row in the read model, if it is still the one asked about.
    pub(super) fn receive_read_model_row(
        &mut self,
        aggregate: &str,
        result: Result<Option<Value>, super::WorkerError>,
    ) {
        let Screen::Stream(view) = &mut self.screen else {
            return;
        };
        if view.aggregate != aggregate {
            return;
        }
        if let Some(r) = &mut view.read_model {
            r.row = Some(result.map_err(String::from));
            let state = view.state.clone();
            r.compare(&state);
        }
    }
}
