//! Marks: events the user marked (kept per cluster), the cursor they are taken from, and
//! the marks list.

use super::{Action, App, Command, Overlay, Screen, Status};
use crate::model::mark::{self, Mark};
use crate::model::{Coord, Event};

impl App {
    /// Where the cursor is in the topic's index, on the Events or Stream screen.
    pub fn current_index(&self) -> Option<usize> {
        match self.screen {
            Screen::Stream(_) => self.stream().and_then(|s| s.indices.get(s.cursor).copied()),
            Screen::Events => (self.topic.events.selected < self.topic.events.len())
                .then_some(self.topic.events.selected),
            _ => None,
        }
    }

    /// The event under the cursor, when its payload is in memory.
    pub fn current_event(&self) -> Option<std::rc::Rc<Event>> {
        self.topic.events.event(self.current_index()?).cloned()
    }

    /// A mark for the event under the cursor (from the index: no payload needed).
    pub(super) fn current_mark(&self) -> Option<Mark> {
        if let Screen::Story(view) = &self.screen {
            let timeline = view.timeline()?;
            let (strand, _, e) = timeline.event(timeline.cursor)?;
            return Some(Mark {
                topic: strand.topic.clone(),
                partition: e.partition,
                offset: e.offset,
                timestamp: e.timestamp,
                aggregate: e.aggregate.clone(),
                event_type: e.event_type.clone(),
                topic_id: self.topics.ids.get(&strand.topic).cloned(),
            });
        }
        let e = self.topic.events.index.get(self.current_index()?);
        Some(Mark {
            topic_id: self.topics.ids.get(&self.topic.events.topic).cloned(),
            ..Mark::at(&self.topic.events.topic, &e)
        })
    }

    /// Why a mark no longer points at its event: its topic was deleted and made again
    /// under its name (another topic id), so its offset is another event's now.
    pub fn mark_made_again(&self, m: &Mark) -> Option<String> {
        let now = self.topics.ids.get(&m.topic).map(String::as_str);
        m.made_again(now).then(|| {
            format!(
                "{} was deleted and made again since the mark (topic id {}, the mark's {}): \
                 {} holds another record now",
                m.topic,
                now.unwrap_or_default(),
                m.topic_id.as_deref().unwrap_or_default(),
                m.coord()
            )
        })
    }

    /// Whether the event at this coordinate of the open topic is marked.
    pub fn is_marked(&self, at: Coord) -> bool {
        let id = self
            .topics
            .ids
            .get(&self.topic.events.topic)
            .map(String::as_str);
        self.marks
            .iter()
            .any(|m| m.topic == self.topic.events.topic && m.coord() == at && !m.made_again(id))
    }

    /// Why a mark's event is gone from its topic, as far as the topics listed say: the
    /// topic was deleted, or the partition's log now starts past the event (retention,
    /// DeleteRecords). `None` while it is there, or nothing is known.
    pub fn mark_gone(&self, m: &Mark) -> Option<String> {
        if let Some(why) = self.mark_made_again(m) {
            return Some(why);
        }
        if self.topics.all.is_empty() || self.topics.loading {
            return None;
        }
        let Some(topic) = self.topics.all.iter().find(|t| t.name == m.topic) else {
            return Some(format!("{} is no longer listed", m.topic));
        };
        let partition = topic.partitions.iter().find(|p| p.partition == m.partition);
        match partition {
            None => Some(format!("{} has no partition {}", m.topic, m.partition)),
            Some(p) if m.offset < p.low => Some(format!(
                "partition {} now starts at offset {} (retention or DeleteRecords)",
                p.partition, p.low
            )),
            Some(_) => None,
        }
    }

    pub(super) fn save_marks(&self) -> Vec<Command> {
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
            self.status = Status::warning("no event here to mark");
            return vec![];
        };
        let label = format!("{} {} {}", m.coord(), m.event_type, m.aggregate);
        self.status = Status::info(match mark::toggle(&mut self.marks, m) {
            true => format!("marked {label} (' lists marks, r rewinds a group to it)"),
            false => format!("unmarked {label}"),
        });
        self.save_marks()
    }

    pub(super) fn update_marks(&mut self, selected: usize, action: Action) -> Vec<Command> {
        let last = self.marks.len().saturating_sub(1);
        let selected = match action {
            Action::Back | Action::ShowMarks | Action::Quit | Action::Cancel => return vec![],
            Action::MoveDown => (selected + 1).min(last),
            Action::MoveUp => selected.saturating_sub(1),
            Action::First => 0,
            Action::Last => last,
            Action::Delete if !self.marks.is_empty() => {
                let m = self.marks.remove(selected.min(last));
                self.status = Status::info(format!("unmarked {} {}", m.coord(), m.event_type));
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
        if let Some(why) = self.marks.get(selected).and_then(|m| self.mark_gone(m)) {
            self.status = Status::warning(format!("this mark's event is gone: {why}"));
        }
        self.overlay = Some(Overlay::Marks { selected });
        vec![]
    }

    /// Opens the marked event in its aggregate's stream, loading its topic if needed.
    pub(super) fn jump_to(&mut self, m: Mark) -> Vec<Command> {
        if let Some(why) = self.mark_made_again(&m) {
            self.status = Status::warning(format!("not opened: {why}"));
            return vec![];
        }
        if self.topic.events.topic == m.topic && self.topic.events.done {
            self.show_coord(&m.topic, m.coord());
            return vec![];
        }
        let commands = self.open_topic(&m.topic);
        self.pending_jump = Some(m.coord());
        commands
    }

    /// Opens the stream at a coordinate of the loaded topic.
    pub(super) fn show_coord(&mut self, topic: &str, at: Coord) {
        let found = self.topic.events.index.iter().position(|e| e.coord() == at);
        match found {
            Some(i) => {
                let aggregate = self.topic.events.index.get(i).aggregate().to_owned();
                self.topic.events.selected = i;
                self.open_stream(&aggregate, Some(i));
            }
            None => {
                self.status = Status::warning(format!("{topic} {at} is no longer in the topic"))
            }
        }
    }
}
