//! `rewind --file`: the worker's answers from a dump instead of a cluster.

use super::{Command, Msg, Shared, WorkerError};

/// Which records of a dump's topic a window holds.
fn in_window<'a>(
    dump: &crate::model::dump::Dump,
    topic: &str,
    window: &'a crate::model::select::Window,
) -> impl Fn(&crate::model::dump::DumpRecord) -> bool + 'a {
    let info = dump.topic_infos().into_iter().find(|t| t.name == topic);
    let ranges = info
        .map(|t| window.ranges(&t.partitions))
        .unwrap_or_default();
    move |r| {
        let (p, o) = (r.partition.unwrap_or(0), r.offset.unwrap_or(0));
        ranges
            .iter()
            .any(|x| x.partition == p && (x.start..x.end).contains(&o))
            && window.admits(r.timestamp)
    }
}

impl Shared {
    /// `rewind --file`: answers from the dump; what needs a cluster says why it cannot.
    pub(super) fn serve_dump(&self, dump: &crate::model::dump::Dump, command: Command) {
        const OFFLINE: &str = "offline: rewind --file reads a dump, not a cluster, so";
        match command {
            // Files and one id's events are read before the dump is asked (`Shared::short`).
            Command::ReadConfig { .. }
            | Command::ReadCandidate { .. }
            | Command::DecodeKept { .. }
            | Command::LoadAggregate { .. }
            | Command::LoadStory { .. } => {}
            Command::LoadTopics => {
                self.send(Msg::Topics(Ok(dump.topic_infos())));
            }
            Command::LoadTopic {
                topic,
                generation,
                window,
            } => {
                let rules = self.config().rules_for(&topic);
                let events = dump.events(&topic, &rules, &in_window(dump, &topic, &window));
                self.send(Msg::TopicSize {
                    generation,
                    total: events.len() as i64,
                });
                for chunk in events.chunks(4096) {
                    self.send(Msg::Events {
                        generation,
                        events: chunk.to_vec(),
                    });
                }
                self.send(Msg::Loaded {
                    generation,
                    result: Ok(()),
                });
                let snapshots = self
                    .config()
                    .topic(&topic)
                    .and_then(|t| t.snapshot_rules().ok().flatten());
                if let Some(rules) = snapshots {
                    let record_rules = self.config().rules_for(&rules.topic);
                    let snapshots = dump
                        .events(&rules.topic, &record_rules, &|_| true)
                        .iter()
                        .map(|record| (record.aggregate.clone(), rules.read(record)))
                        .collect();
                    self.send(Msg::Snapshots {
                        generation,
                        snapshots,
                    });
                }
            }
            Command::Fetch {
                topic,
                generation,
                coords,
            } => {
                let wanted: std::collections::HashSet<_> = coords.into_iter().collect();
                let rules = self.config().rules_for(&topic);
                let events = dump.events(&topic, &rules, &|r| {
                    wanted.contains(&crate::model::Coord {
                        partition: r.partition.unwrap_or(0),
                        offset: r.offset.unwrap_or(0),
                    })
                });
                self.send(Msg::Fetched { generation, events });
            }
            Command::Search {
                topic,
                id,
                code,
                window,
                ..
            } => {
                let result = crate::model::search::Where::compile(&code)
                    .map_err(WorkerError::from)
                    .map(|search| {
                        let rules = self.config().rules_for(&topic);
                        let mut found = crate::model::search::Found::<()>::default();
                        let mut coords = vec![];
                        let events = dump.events(&topic, &rules, &in_window(dump, &topic, &window));
                        for e in &events {
                            match search.matches(e) {
                                Ok(true) => coords.push(e.coord()),
                                Ok(false) => {}
                                Err(why) => found.fail(e.coord(), why),
                            }
                        }
                        self.send(Msg::SearchFound {
                            id,
                            coords,
                            scanned: events.len() as i64,
                        });
                        (found.failed, found.first_failure)
                    });
                self.send(Msg::SearchDone { id, result });
            }
            Command::Drift { generation, .. } => {
                self.send(Msg::Drift {
                    generation,
                    result: Err(WorkerError::refused(format!(
"{OFFLINE} the topic is not folded whole here: run rewind drift against the cluster"))),
                });
            }
            Command::SaveMarks { path, text } => self.save_marks(&path, &text),
            Command::LoadGroups { .. } => {
                self.send(Msg::Groups(Err(WorkerError::refused(format!(
                    "{OFFLINE} there are no consumer groups to show or rewind"
                )))));
            }
            Command::PlanRewind { request, .. } => {
                self.send(Msg::Plan {
                    request,
                    result: Err(WorkerError::refused(format!(
                        "{OFFLINE} there is no group to rewind"
                    ))),
                });
            }
            Command::ExecuteRewind { .. } => {
                self.send(Msg::Rewound(Err(WorkerError::refused(format!(
                    "{OFFLINE} nothing was committed"
                )))));
            }
            Command::Produce(_) => {
                self.send(Msg::Produced(Err(WorkerError::refused(format!(
                    "{OFFLINE} nothing was produced"
                )))));
            }
            Command::CheckTopic { generation, .. } => {
                self.send(Msg::Checked {
                    generation,
                    result: Err(WorkerError::refused(format!(
"{OFFLINE} the topic-wide check needs the cluster (`rewind check` against it); ]/[ still walk this stream's flags"))),
                });
            }
            Command::WatchReplay { id, .. } => {
                self.send(Msg::ReplaySample {
                    id,
                    sample: Err(WorkerError::refused(format!(
                        "{OFFLINE} there is no group to watch"
                    ))),
                });
            }
            Command::Follow { generation, .. } => {
                self.send(Msg::Warning {
                    generation,
                    message: format!("{OFFLINE} there is nothing new to follow"),
                });
            }
            Command::StopFollow
            | Command::StopTopic
            | Command::StopWatch
            | Command::StopOutcome
            | Command::FoldOutcome { .. }
            | Command::ReadModelRow { .. }
            | Command::LoadDatabaseSnapshots { .. } => {}
        }
    }
}
