//! `App::apply`: a worker's `Msg` changes the state.

use super::*;

/// Said after the broker came back while a topic loads.
const LOAD_GOES_ON: &str = "; the load goes on where it was";

impl App {
    /// Applies a worker report; reports for a topic no longer shown are dropped.
    pub fn apply(&mut self, msg: Msg) -> Vec<Command> {
        self.apply_inner(msg);
        self.commands_with(vec![])
    }

    fn apply_inner(&mut self, msg: Msg) {
        match msg {
            Msg::Topics(Ok(topics)) => {
                self.disconnected = None;
                self.topics.all = topics;
                self.topics.loading = false;
                self.topics.error = None;
                let len = self.topics.visible().len();
                self.topics.selected = self.topics.selected.min(len.saturating_sub(1));
            }
            Msg::TopicIds(ids) => self.topics.ids.extend(ids),
            Msg::TopicRecords(counted) => {
                for c in counted {
                    let listed = self.topics.all.iter_mut().find(|t| t.name == c.name);
                    if let Some(t) = listed.filter(|t| t.partitions == c.partitions) {
                        t.records = c.records;
                    }
                }
            }
            // Topics already listed stay usable; the status bar says what happened.
            Msg::Topics(Err(e)) if !self.topics.all.is_empty() => {
                self.topics.loading = false;
                self.disconnected = Some(e.into());
            }
            Msg::Topics(Err(e)) => {
                self.topics.loading = false;
                self.topics.error = Some(e);
            }
            Msg::TopicSize { generation, total } if generation == self.generation => {
                self.topic.events.total = Some(total);
            }
            Msg::LoadProgress { generation, read } if generation == self.generation => {
                self.topic.events.read = read;
            }
            Msg::Events { generation, events }
                if generation == self.generation && self.topic.events.done =>
            {
                self.receive_followed(events)
            }
            Msg::Events { generation, events } if generation == self.generation => {
                let reference = self
                    .config
                    .compensations_for(&self.topic.events.topic)
                    .reference;
                self.topic.events.ingest(events, reference.as_ref());
            }
            Msg::Indexed {
                generation,
                mut part,
            } if generation == self.generation => {
                for r in std::mem::take(&mut part.kept) {
                    let at = crate::model::Coord {
                        partition: r.partition.unwrap_or(0),
                        offset: r.offset.unwrap_or(0),
                    };
                    self.topic.events.kept.insert(at, r);
                }
                self.topic.events.index.append(part);
            }
            Msg::Loaded { generation, result } if generation == self.generation => {
                self.topic.events.done = true;
                match result {
                    Ok(()) => self.link_events(),
                    Err(e) => {
                        // A load that failed does not go on.
                        if let Some(said) = self.status.strip_suffix(LOAD_GOES_ON) {
                            self.status = Status::new(self.status.severity, said);
                        }
                        self.topic.events.error = Some(e);
                    }
                }
                if let Some(at) = self.pending_jump.take() {
                    let topic = self.topic.events.topic.clone();
                    self.show_coord(&topic, at);
                }
            }
            Msg::Connection(None) if self.disconnected.is_some() => {
                let why = self.disconnected.take().unwrap_or_default();
                self.status = Status::info(match why.contains("brokers are down") {
                    true => format!("the broker was lost and is back ({why})"),
                    false => format!("the broker answers again (after: {why})"),
                });
                let loading = !self.topic.events.done && self.topic.events.error.is_none();
                if loading && !self.topic.events.topic.is_empty() {
                    self.status.push_str(LOAD_GOES_ON);
                }
            }
            // The first reason stays: a stall reported later says less than the loss.
            Msg::Connection(Some(_)) if self.disconnected.is_some() => {}
            Msg::Connection(trouble) => self.disconnected = trouble,
            Msg::Fetched { generation, events } if generation == self.generation => {
                for mut e in events {
                    e.transaction = self.topic.events.index.transaction(e.coord());
                    let e = std::rc::Rc::new(e);
                    self.topic.requested.remove(&e.coord());
                    self.topic.arrived.insert(e.coord(), e.clone());
                    self.topic.events.cache.insert(e);
                }
                if let Some((aggregate, at)) = self.topic.pending_stream.take() {
                    self.open_stream(&aggregate, at);
                }
                if self.topic.pending_stream.is_none() {
                    self.topic.arrived.clear();
                }
            }
            Msg::FetchFailed {
                generation,
                coords,
                message,
            } if generation == self.generation => {
                for at in coords {
                    self.topic.requested.remove(&at);
                    self.topic.events.unreadable.insert(at, message.clone());
                }
                if let Some((aggregate, _)) = self.topic.pending_stream.take() {
                    self.status = Status::error(format!("cannot open {aggregate}: {message}"));
                    self.topic.arrived.clear();
                } else {
                    self.status = Status::error(message);
                }
            }
            Msg::Groups(groups) => self.receive_groups(groups),
            Msg::Story { request, result } => self.receive_story(request, result),
            Msg::SearchFound {
                id,
                coords,
                scanned,
            } => {
                let Some(c) = self.topic.events.content.as_mut().filter(|c| c.id == id) else {
                    return;
                };
                c.found.extend(coords);
                c.scanned = scanned;
                self.status = Status::info(c.summary());
                let any = !c.found.is_empty();
                // The cursor goes to the first match once, unless it is on one already.
                let here = !self.topic.events.is_empty()
                    && self.topic.events.matches(self.topic.events.selected);
                if let Some((_, moved @ None)) = &mut self.topic.content_cursor {
                    if !here && any {
                        if let Some(i) = self.topic.events.find(Direction::Forward) {
                            self.topic.events.selected = i;
                            *moved = Some(i);
                        }
                    }
                }
            }
            Msg::SearchDone { id, result } => {
                if let Some(c) = self.topic.events.content.as_mut().filter(|c| c.id == id) {
                    c.done = true;
                    c.scanned = c.total;
                    match result {
                        Ok((failed, first)) => {
                            c.failed = failed;
                            c.first_failure = first;
                            self.status = Status::info(c.summary());
                        }
                        Err(e) => self.status = Status::error(format!("?{}: {e}", c.code)),
                    }
                    if let Some((origin, Some(moved))) = self.topic.content_cursor.take() {
                        if self.topic.events.selected == moved {
                            self.topic.events.selected = origin;
                            if !self.topic.events.matches(origin) {
                                if let Some(i) = self.topic.events.find(Direction::Forward) {
                                    self.topic.events.selected = i;
                                }
                            }
                        }
                    }
                }
            }
            Msg::Checked { generation, result } if generation == self.generation => {
                self.receive_checked(result)
            }
            Msg::Plan { request, result } => self.receive_plan(request, result),
            Msg::OutcomeProgress {
                request,
                pass,
                done,
                total,
            } => self.receive_outcome(request, OutcomeView::Folding { pass, done, total }),
            Msg::Outcome { request, result } => {
                let view = match result {
                    Ok(outcome) => OutcomeView::Known(outcome),
                    Err(why) => OutcomeView::Failed(why.into()),
                };
                self.receive_outcome(request, view)
            }
            Msg::Rewound(result) => self.receive_rewound(result),
            Msg::ReplaySample { id, sample } => self.receive_replay_sample(id, sample),
            Msg::Produced(result) => self.receive_produced(result),
            Msg::Snapshots {
                generation,
                snapshots,
            } if generation == self.generation => self.receive_snapshots(snapshots),
            Msg::AggregateSnapshots {
                generation,
                aggregate,
                result,
            } if generation == self.generation => match result {
                Ok(stored) => self.receive_aggregate_snapshots(aggregate, stored),
                Err(e) => self.status = e.status(),
            },
            Msg::ReadModelRow {
                generation,
                aggregate,
                result,
            } if generation == self.generation => self.receive_read_model_row(&aggregate, result),
            Msg::DriftProgress {
                generation,
                folding,
                done,
                total,
            } if generation == self.generation => {
                let topic = &self.topic.events.topic;
                self.status = Status::info(match folding {
                    true => format!("drift: folding {topic}, {done} of {total} records…"),
                    false => {
                        format!("drift: compared {done} of {total} aggregates with the read model…")
                    }
                })
            }
            Msg::Drift { generation, result } if generation == self.generation => {
                self.receive_drift(result)
            }
            Msg::ConfigRead { path, result } => {
                let commands = self.receive_config(&path, result);
                self.outbox.extend(commands);
            }
            Msg::CandidateRead {
                file,
                purpose: CandidateUse::Compare { generation, again },
                result,
            } if generation == self.generation => self.receive_compare(file, again, result),
            Msg::CandidateRead {
                file,
                purpose: CandidateUse::Rewind { at },
                result,
            } => self.receive_rewind_candidate(file, at, result),
            Msg::Warning {
                generation,
                message,
            } if generation == self.generation => self.status = Status::warning(message),
            Msg::Status(message) => self.status = Status::error(message),
            _ => {}
        }
    }
}
