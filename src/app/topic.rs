//! The open topic: its events, its aggregates and all the app has learnt of it, in one
//! value. Opening another topic replaces it whole, so nothing of the last one lingers.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::{AggregatesView, App, Command, Direction, Pane, Screen, SearchId, DEFAULT_OPEN_EVENTS};
use crate::model::reducer::{Fold, Logic};
use crate::model::snapshot::StoredSnapshot;
use crate::model::stream::Linker;
use crate::model::{Coord, Event};

#[derive(Default)]
pub struct OpenTopic {
    pub events: EventsView,
    pub aggregates: AggregatesView,
    /// Whether its new events are followed (`f`).
    pub following: bool,
    /// Duplicates and compensations, once it is fully loaded.
    pub(super) linker: Option<Linker>,
    /// How many of its events the linker has seen.
    pub(super) linked: usize,
    /// Stored snapshots, by aggregate, as its streams open.
    pub(super) snapshots: HashMap<String, Vec<StoredSnapshot>>,
    /// Its compiled reducers, compiled when its first stream opens.
    pub(super) reducers: Option<Rc<dyn Fold>>,
    /// Payloads asked of the worker and not arrived yet.
    pub(super) requested: HashSet<Coord>,
    /// Payloads that just arrived, kept until the stream waiting for them is open.
    pub(super) arrived: HashMap<Coord, Rc<Event>>,
    /// A stream to open once its payloads arrive: aggregate and position.
    pub(super) pending_stream: Option<(String, Option<usize>)>,
    /// The running `/?JQ` search's cursor: where it was when the search started, and
    /// where the search moved it (matches come in any order: once done, a cursor the
    /// user left there goes to the first match in order).
    pub(super) content_cursor: Option<(usize, Option<usize>)>,
    /// `:compare FILE`: the file, and the fold of its logic for this topic.
    pub(super) compare: Option<(String, Rc<dyn Fold>, Logic)>,
    /// The `:compare` file asked of the worker and not answered yet (`:compare` alone
    /// stops waiting for it).
    pub(super) compare_asked: Option<String>,
    /// Its flagged aggregates with their first flag, once checked.
    pub(super) flags: Option<Vec<(String, usize)>>,
    /// A `]` (forward) or `[` (back) waiting for its check.
    pub(super) pending_flag: Option<Direction>,
}

/// One topic's events, loading or loaded: every event in the compact index, payloads
/// (decoded events) in a bounded cache and fetched again when needed.
#[derive(Debug, Default)]
pub struct EventsView {
    pub topic: String,
    pub index: crate::model::index::EventIndex,
    pub cache: crate::model::cache::PayloadCache,
    pub selected: usize,
    /// Events the topic holds (from its watermarks), once known.
    pub total: Option<i64>,
    /// Events the load has read or found so far (some may wait to be shown).
    pub read: i64,
    pub done: bool,
    pub error: Option<super::WorkerError>,
    /// The `/` search over key, type and aggregate.
    pub search: String,
    /// Which pane has focus.
    pub pane: Pane,
    /// Events whose payload could not be read again, and why (not asked again until the
    /// topic is reloaded with R).
    pub unreadable: std::collections::HashMap<crate::model::Coord, String>,
    /// Scroll of the event pane.
    pub detail_scroll: u16,
    /// The part of the topic loaded.
    pub window: crate::model::select::Window,
    /// Says what the window leaves out and how to widen it.
    pub note: Option<String>,
    /// `/?JQ`: a search of the loaded events' contents, run by the worker.
    pub content: Option<ContentSearch>,
    /// Records' bytes kept from the load (within the payload budget): decoded when shown.
    pub kept: std::collections::HashMap<crate::model::Coord, crate::model::dump::DumpRecord>,
}

/// A `/?JQ` search: what it found so far, and how far it got.
#[derive(Debug, Default)]
pub struct ContentSearch {
    pub code: String,
    /// The `Command::Search` it waits for.
    pub id: SearchId,
    pub found: std::collections::HashSet<crate::model::Coord>,
    pub scanned: i64,
    pub total: i64,
    pub done: bool,
    /// Events the predicate failed on (no match), and the first.
    pub failed: usize,
    pub first_failure: Option<(crate::model::Coord, String)>,
}

impl ContentSearch {
    /// "12 matches so far (40% searched)" or "12 matches; the predicate failed on …".
    pub fn summary(&self) -> String {
        let n = self.found.len();
        let matches = format!(
            "?{}: {n} match{}",
            self.code,
            if n == 1 { "" } else { "es" }
        );
        if !self.done {
            let percent = (self.scanned * 100).checked_div(self.total).unwrap_or(0);
            return format!("{matches} so far ({percent}% searched)");
        }
        match &self.first_failure {
            Some((at, why)) => format!(
                "{matches}; the predicate failed on {} event(s), counted as no match (the first at {at}: {why})",
                self.failed
            ),
            None => format!("{matches} (n/N between them)"),
        }
    }
}

impl EventsView {
    /// How many events are indexed.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The decoded event at `i`, if its payload is cached.
    pub fn event(&self, i: usize) -> Option<&std::rc::Rc<Event>> {
        (i < self.index.len())
            .then(|| self.cache.peek(self.index.get(i).coord()))
            .flatten()
    }

    /// The event under the cursor, if its payload is cached.
    pub fn current(&self) -> Option<&std::rc::Rc<Event>> {
        self.event(self.selected)
    }

    /// Whether the event at `i` matches the `/` search (aggregate, type or key).
    pub fn matches(&self, i: usize) -> bool {
        if let Some(c) = &self.content {
            return c.found.contains(&self.index.get(i).coord());
        }
        let needle = self.search.to_lowercase();
        let e = self.index.get(i);
        !needle.is_empty()
            && [e.aggregate(), e.event_type(), e.key()]
                .iter()
                .any(|s| s.to_lowercase().contains(&needle))
    }

    pub(super) fn find(&self, direction: Direction) -> Option<usize> {
        let n = self.len();
        (1..=n)
            .map(|step| match direction {
                Direction::Forward => (self.selected + step) % n,
                Direction::Back => (self.selected + n - step % n) % n,
            })
            .find(|&i| self.matches(i))
    }

    /// Indexes and caches events that arrived.
    pub(super) fn ingest(
        &mut self,
        events: Vec<Event>,
        reference: Option<&crate::model::Extractor>,
    ) {
        for e in events {
            let found = reference.and_then(|r| r.extract(&e, None));
            self.index.push(&e, found.as_deref());
            self.cache.insert(std::rc::Rc::new(e));
        }
    }
}

impl App {
    pub(super) fn open_topic(&mut self, name: &str) -> Vec<Command> {
        self.open_topic_in(name, None)
    }

    /// Opens a topic on a window; `None`: the whole topic, or its newest
    /// `[limits] open_events` when it holds more (with a note saying so).
    pub(super) fn open_topic_in(
        &mut self,
        name: &str,
        window: Option<crate::model::select::Window>,
    ) -> Vec<Command> {
        use crate::model::select::Window;
        let info = self.topics.all.iter().find(|t| t.name == name);
        let limit = self
            .config
            .limits
            .open_events
            .unwrap_or(DEFAULT_OPEN_EVENTS);
        let newest = info.and_then(|t| Window::newest(t.count(), limit, t.partitions.len()));
        let (window, note) = match (window, newest) {
            (Some(w), _) => (w, None),
            (None, Some(w)) => (
                w,
                Some(format!(
                    "{name} holds {} events, more than [limits] open_events ({limit}): showing {}. Widen with :topic {name} --last N or --since TIME",
                    info.map_or(0, |t| t.count()),
                    w.label()
                )),
            ),
            (None, None) => (Window::default(), None),
        };
        let note =
            note.or_else(|| (!window.is_whole()).then(|| format!("showing {}", window.label())));
        self.generation += 1;
        self.screen = Screen::Events;
        let budget = self
            .config
            .limits
            .payload_cache_mb
            .map_or(crate::model::cache::DEFAULT_BUDGET, |mb| mb << 20);
        let total = info.map(|t| match window.last {
            Some(_) => window
                .ranges(&t.partitions)
                .iter()
                .map(|r| r.end - r.start)
                .sum(),
            None => t.count(),
        });
        // Everything of the topic open before goes with it.
        self.topic = OpenTopic {
            events: EventsView {
                topic: name.to_owned(),
                cache: crate::model::cache::PayloadCache::new(budget),
                total,
                window,
                note,
                ..EventsView::default()
            },
            ..OpenTopic::default()
        };
        self.status.clear();
        vec![Command::LoadTopic {
            topic: name.to_owned(),
            generation: self.generation,
            window,
        }]
    }

    /// Duplicates and compensations in the loaded topic, once it is fully loaded.
    pub fn links(&self) -> Option<&crate::model::stream::Links> {
        self.topic.linker.as_ref().map(|l| &l.links)
    }

    /// Links the events indexed since the last time (all of them once loaded; then
    /// the followed ones as they come).
    pub(super) fn link_events(&mut self) {
        let rules = self.config.rules_for(&self.topic.events.topic);
        let compensations = self.config.compensations_for(&self.topic.events.topic);
        if rules.event_id.is_none() && compensations.compensations.is_empty() {
            return;
        }
        let linker = self.topic.linker.get_or_insert_with(Default::default);
        let from = self.topic.linked;
        let index = &self.topic.events.index;
        // Records of aborted and open transactions never happened: they link to nothing.
        for e in index.iter().skip(from) {
            if index.transaction(e.coord()).is_none() {
                linker.add(e, &compensations);
            }
        }
        self.topic.linked = self.topic.events.len();
    }
}
