//! The replay lab's config in the TUI: `:reload` reads the config again and `:compare
//! FILE` folds the open stream with a candidate's logic too; the worker reads both
//! files (`Command::ReadConfig`, `Command::ReadCandidate`).

use super::{App, Command, Status};

impl App {
    /// `:reload`: the worker reads the config file again (`Msg::ConfigRead` answers).
    pub(super) fn reload_config(&mut self) -> Vec<Command> {
        let Some(path) = self.config.path.clone() else {
            self.status = Status::warning(
                "no config file to read again: rewind runs on its defaults (-c FILE)",
            );
            return vec![];
        };
        self.status = Status::info(format!("reading {}…", path.display()));
        vec![Command::ReadConfig { path }]
    }

    /// The config read again: the open topic's logic is compiled anew, a `:compare`
    /// file is read again, and the open stream is folded again where it was.
    pub(super) fn receive_config(
        &mut self,
        path: &std::path::Path,
        result: Result<Box<crate::config::Config>, super::WorkerError>,
    ) -> Vec<Command> {
        // The worker kept what the command line set (the registry, the index's place).
        let config = match result {
            Ok(c) => *c,
            Err(e) => {
                self.status = Status::error(format!("{e}; the config in use stays"));
                return vec![];
            }
        };
        self.config = config;
        self.topic.reducers = None;
        self.topic.flags = None;
        let compare = self.topic.compare.take().map(|(file, ..)| file);
        self.reopen_stream();
        self.status = Status::info(format!(
            "reloaded {} (R reads the open topic again with it)",
            path.display()
        ));
        compare.map_or_else(Vec::new, |file| self.read_compare(&file, true))
    }

    /// `:compare FILE` folds the open stream with FILE's logic for the topic too; the
    /// state pane shows current ↔ candidate at the cursor. `:compare` alone stops.
    /// The worker reads the file (`Msg::CandidateRead` answers).
    pub(super) fn set_compare(&mut self, file: &str) -> Vec<Command> {
        if file.is_empty() {
            self.topic.compare = None;
            self.topic.compare_asked = None;
            self.reopen_stream();
            // What reopening the stream has to say comes first.
            if self.status.is_empty() {
                self.status = Status::info("compare off");
            }
            return vec![];
        }
        self.read_compare(file, false)
    }

    fn read_compare(&mut self, file: &str, again: bool) -> Vec<Command> {
        self.topic.compare_asked = Some(file.to_owned());
        vec![Command::ReadCandidate {
            file: file.to_owned(),
            topic: self.topic.events.topic.clone(),
            purpose: super::CandidateUse::Compare {
                generation: self.generation,
                again,
            },
        }]
    }

    /// `:compare`'s file read: its logic compiled, and the open stream folded with it.
    pub(super) fn receive_compare(
        &mut self,
        file: String,
        again: bool,
        result: Result<crate::model::reducer::Logic, super::WorkerError>,
    ) {
        // Only the last file asked for, and not after `:compare` alone.
        if self.topic.compare_asked.as_deref() != Some(file.as_str()) {
            return;
        }
        self.topic.compare_asked = None;
        let fold =
            result.and_then(
                |logic| match crate::isolation::fold_for(&self.config, &logic) {
                    Ok(fold) => Ok((fold, logic)),
                    Err(e) => Err(super::WorkerError::of(&e)),
                },
            );
        match fold {
            Ok((fold, logic)) => {
                let said = match again {
                    // Read again after `:reload`, which the status line says.
                    true => std::mem::take(&mut self.status),
                    false => Status::info(format!(
                        "comparing with {file}: the state pane shows current ↔ {file}"
                    )),
                };
                self.topic.compare = Some((file, fold, logic));
                self.reopen_stream();
                // What reopening the stream has to say comes first.
                if self.status.is_empty() {
                    self.status = said;
                }
            }
            Err(e) => self.status = Status::error(e.message),
        }
    }
}
