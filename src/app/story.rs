//! The Story screen (`:story NAME ID`): one business id across the topics of a
//! `[[stories]]` entry, merged in time order, with the state of every topic at the cursor.

use serde_json::Value;

use super::{Action, App, Command, Screen, Status};
use crate::model::diff::Change;
use crate::model::story::{merge_order, positions};
use crate::model::Event;

pub use crate::model::story::Strand;

/// The Story screen: one id across a story's topics (or one aggregate read from its
/// topic), loading, failed or read.
pub struct StoryView {
    pub name: String,
    pub id: String,
    /// The `Command::LoadStory` this view waits for.
    pub request: super::StoryId,
    pub read: StoryRead,
    pub diff: bool,
    /// The screen to go back to.
    pub back: Screen,
    /// `:agg ID` of an aggregate not in the loaded events: read from its topic (its
    /// key's partition where it can), one strand.
    pub lazy: bool,
}

/// What a story view holds.
pub enum StoryRead {
    Loading,
    /// Why the topics could not be read or folded.
    Failed(String),
    Read(Timeline),
}

/// A story once read: its topics' events merged in time order, with a cursor.
pub struct Timeline {
    pub strands: Vec<Strand>,
    /// The timeline: (strand, index in it), in time order.
    pub order: Vec<(usize, usize)>,
    /// Per step of the timeline, each strand's last event so far.
    pub at: Vec<Vec<Option<usize>>>,
    pub cursor: usize,
    /// Per strand: the state at the cursor, and what the cursor's event changed in it
    /// (only in the cursor's strand).
    pub states: Vec<(Value, Vec<Change>)>,
}

impl std::fmt::Debug for StoryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let events = self.timeline().map(|t| t.order.len());
        f.debug_struct("StoryView")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("events", &events)
            .finish_non_exhaustive()
    }
}

impl StoryView {
    /// The timeline, once read.
    pub fn timeline(&self) -> Option<&Timeline> {
        match &self.read {
            StoryRead::Read(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the read is over (read or failed).
    pub fn answered(&self) -> bool {
        !matches!(self.read, StoryRead::Loading)
    }

    /// The strands, once read.
    pub fn strands(&self) -> &[Strand] {
        self.timeline().map_or(&[], |t| &t.strands)
    }
}

impl Timeline {
    /// The strands merged in time order, the cursor on the first event.
    fn new(strands: Vec<Strand>) -> Timeline {
        let times: Vec<Vec<Option<i64>>> = strands
            .iter()
            .map(|s| s.events.iter().map(|e| e.timestamp).collect())
            .collect();
        let order = merge_order(&times);
        let at = positions(&order, strands.len());
        let mut timeline = Timeline {
            strands,
            order,
            at,
            cursor: 0,
            states: vec![],
        };
        timeline.refresh();
        timeline
    }

    /// The event at timeline step `i`, with its strand.
    pub fn event(&self, i: usize) -> Option<(&Strand, usize, &Event)> {
        let &(s, j) = self.order.get(i)?;
        let strand = &self.strands[s];
        Some((strand, j, &strand.events[j]))
    }

    /// Whether the fold marks the event at timeline step `i` (a reducer error or a
    /// broken invariant).
    pub fn flagged(&self, i: usize) -> bool {
        self.event(i)
            .is_some_and(|(strand, j, _)| strand.projection.flagged(j))
    }

    /// Folds each strand to the cursor and keeps its state (and the cursor strand's
    /// changes).
    fn refresh(&mut self) {
        let Some(at) = self.at.get(self.cursor) else {
            return;
        };
        let here = self.order[self.cursor].0;
        self.states = self
            .strands
            .iter_mut()
            .zip(at)
            .enumerate()
            .map(|(s, (strand, at))| match *at {
                None => (Value::Null, vec![]),
                Some(j) if s == here => strand.projection.state_and_changes(j),
                Some(j) => (strand.projection.state_after(j), vec![]),
            })
            .collect();
    }
}

impl App {
    /// `:story NAME ID`: asks the worker for the story's events; the screen shows it
    /// loading.
    pub(super) fn open_story(&mut self, arg: &str) -> Vec<Command> {
        let Some((name, id)) = arg.split_once(' ').map(|(n, i)| (n.trim(), i.trim())) else {
            self.status =
                Status::warning("usage: :story NAME ID (a [[stories]] entry of the config)");
            return vec![];
        };
        if let Err(e) = self.config.story(name) {
            self.status = Status::error(format!("{e:#}"));
            return vec![];
        }
        self.show_story_loading(name, id, false);
        self.status.clear();
        vec![Command::LoadStory {
            request: self.requests.story,
            name: name.to_owned(),
            id: id.to_owned(),
        }]
    }

    /// Shows a story (or a lazily read aggregate) loading, under a new request number;
    /// Esc goes back to the screen before (before the first, from a story).
    fn show_story_loading(&mut self, name: &str, id: &str, lazy: bool) {
        let request = self.requests.story.advance();
        let back = match std::mem::replace(&mut self.screen, Screen::Topics) {
            Screen::Story(view) => view.back,
            other => other,
        };
        self.screen = Screen::Story(Box::new(StoryView {
            name: name.to_owned(),
            id: id.to_owned(),
            request,
            read: StoryRead::Loading,
            diff: false,
            back,
            lazy,
        }));
    }

    /// `:agg ID` on the open topic: the loaded events' stream if they hold it, else the
    /// aggregate read from the topic (its key's partition where the id is the key, as
    /// `state` reads it), shown as a one-topic story.
    pub(super) fn open_aggregate(&mut self, id: &str) -> Vec<Command> {
        let topic = self.topic.events.topic.clone();
        let loaded = !self.topic.events.index.of_aggregate(id).is_empty();
        if loaded || topic.is_empty() {
            self.open_stream(id, None);
            return vec![];
        }
        self.show_story_loading(&topic, id, true);
        self.status = Status::info(format!(
            "{id} is not in the loaded events of {topic}: reading it from the topic"
        ));
        vec![Command::LoadAggregate {
            request: self.requests.story,
            topic,
            id: id.to_owned(),
        }]
    }

    /// The story's events from the worker: each topic folded by its own reducers.
    pub(super) fn receive_story(
        &mut self,
        request: super::StoryId,
        result: Result<Vec<(String, Vec<Event>)>, super::WorkerError>,
    ) {
        let Screen::Story(view) = &mut self.screen else {
            return;
        };
        if view.request != request {
            return;
        }
        let strands = result.map_err(String::from).and_then(|read| {
            read.into_iter()
                .map(|(topic, events)| {
                    let fold = crate::isolation::reducers_for(&self.config, &topic)
                        .map_err(|e| format!("{e:#}"))?;
                    Ok(Strand::new(topic, events, fold))
                })
                .collect::<Result<Vec<_>, String>>()
        });
        view.read = match strands {
            Ok(strands) => StoryRead::Read(Timeline::new(strands)),
            Err(why) => StoryRead::Failed(why),
        };
    }

    /// Keys on the Story screen; `None`: not the story's to handle.
    pub(super) fn update_story(&mut self, action: &Action) -> Option<Vec<Command>> {
        let Screen::Story(view) = &mut self.screen else {
            return None;
        };
        if matches!(action, Action::Back) {
            let Screen::Story(view) = std::mem::replace(&mut self.screen, Screen::Topics) else {
                unreachable!()
            };
            self.screen = view.back;
            return Some(vec![]);
        }
        if matches!(action, Action::Refresh) {
            if view.lazy {
                let (topic, id) = (view.name.clone(), view.id.clone());
                view.request = self.requests.story.advance();
                view.read = StoryRead::Loading;
                return Some(vec![Command::LoadAggregate {
                    request: view.request,
                    topic,
                    id,
                }]);
            }
            let arg = format!("{} {}", view.name, view.id);
            return Some(self.open_story(&arg));
        }
        // Marks and rewinds work from here as from a stream (the mark is the cursor's).
        if matches!(action, Action::Mark | Action::Rewind | Action::ShowMarks) {
            return None;
        }
        let page = self.page;
        let StoryRead::Read(timeline) = &mut view.read else {
            return match action {
                Action::Quit | Action::ToggleHelp | Action::StartCommand => None,
                _ => Some(vec![]),
            };
        };
        let Some(last) = timeline.order.len().checked_sub(1) else {
            return match action {
                Action::Quit | Action::ToggleHelp | Action::StartCommand => None,
                _ => Some(vec![]),
            };
        };
        let cursor = timeline.cursor;
        if let Some(to) = super::stepped(action, cursor, last, page) {
            timeline.cursor = to;
            timeline.refresh();
            return Some(vec![]);
        }
        timeline.cursor = match action {
            Action::ToggleDiff => {
                view.diff = !view.diff;
                cursor
            }
            Action::NextFlag | Action::PrevFlag => {
                // Fold every strand to its end, so every flag is known.
                for s in timeline.strands.iter_mut() {
                    if let Some(end) = s.events.len().checked_sub(1) {
                        s.projection.errors_through(end);
                    }
                }
                let found = match action {
                    Action::NextFlag => (cursor + 1..=last).find(|&i| timeline.flagged(i)),
                    _ => (0..cursor).rev().find(|&i| timeline.flagged(i)),
                };
                match found {
                    Some(i) => i,
                    None => {
                        self.status = Status::info("no more flagged events in this story");
                        cursor
                    }
                }
            }
            Action::Quit | Action::ToggleHelp | Action::StartCommand => return None,
            _ => return Some(vec![]),
        };
        timeline.refresh();
        Some(vec![])
    }
}
