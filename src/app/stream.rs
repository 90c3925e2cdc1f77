//! The Stream screen's state: the aggregate list, the open aggregate's timeline and its
//! projection (state, changes, snapshots), and the keys that drive them.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::read_model::ReadModelView;
use super::{Action, App, Command, Direction, Screen, Status};
use crate::model::diff::Change;
use crate::model::index::EventIndex;
use crate::model::projection::{Basis, Projection};
use crate::model::snapshot::StoredSnapshot;
use crate::model::stream::{resolve, AggregateList, AggregateRow};
use crate::model::Event;

/// What a tick did: whether there was work (draw again, come back soon), and the
/// commands it made.
#[derive(Debug, Default)]
pub struct Tick {
    pub busy: bool,
    pub commands: Vec<Command>,
}

/// The aggregates of the loaded topic, with the `/` filter.
#[derive(Debug, Default)]
pub struct AggregatesView {
    list: AggregateList,
    pub filter: String,
    /// With a filter: the positions in `list` of the aggregates it lets through.
    matches: Option<Vec<u32>>,
    /// `:drift`: only these aggregates (those whose read model differs).
    pub drift: Option<std::collections::HashSet<String>>,
    /// Index into the aggregates listed (`row`).
    pub selected: usize,
    /// Whether keys move in this list (else in the timeline).
    pub focused: bool,
}

impl AggregatesView {
    /// How many aggregates are listed (those whose id contains the filter).
    pub fn len(&self) -> usize {
        match &self.matches {
            Some(m) => m.len(),
            None => self.list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th aggregate listed.
    pub fn row<'a>(&self, i: usize, index: &'a EventIndex) -> Option<AggregateRow<'a>> {
        let at = match &self.matches {
            Some(m) => *m.get(i)? as usize,
            None => i,
        };
        (at < self.list.len()).then(|| self.list.row(at, index))
    }

    /// The id of the `i`th aggregate listed.
    fn id(&self, i: usize, index: &EventIndex) -> Option<String> {
        self.row(i, index).map(|r| r.aggregate.to_owned())
    }

    /// Where an aggregate is listed.
    fn position(&self, aggregate: &str, index: &EventIndex) -> Option<usize> {
        let at = self.list.find(aggregate, index)?;
        match &self.matches {
            Some(m) => m.binary_search(&(at as u32)).ok(),
            None => Some(at),
        }
    }

    /// Counts the events loaded since the last time (all of them at first, then the
    /// followed ones), and filters again when aggregates were added.
    pub(super) fn refresh(&mut self, index: &EventIndex) {
        if self.list.refresh(index) && (!self.filter.is_empty() || self.drift.is_some()) {
            self.matches = self.matching(index);
        }
    }

    fn set_filter(&mut self, filter: String, index: &EventIndex) {
        self.filter = filter;
        self.matches = self.matching(index);
    }

    /// The positions the `/` filter and `:drift` let through (`None`: all).
    fn matching(&self, index: &EventIndex) -> Option<Vec<u32>> {
        if self.filter.is_empty() && self.drift.is_none() {
            return None;
        }
        let mut m = self.list.matching(&self.filter, index);
        if let Some(drift) = &self.drift {
            m.retain(|&i| drift.contains(self.list.row(i as usize, index).aggregate));
        }
        Some(m)
    }

    fn select(&mut self, aggregate: &str, index: &EventIndex) {
        if let Some(i) = self.position(aggregate, index) {
            self.selected = i;
        }
    }
}

/// One aggregate's stream: indices into the loaded events, the cursor and the fold.
pub struct StreamView {
    pub aggregate: String,
    pub indices: Vec<usize>,
    pub cursor: usize,
    pub diff: bool,
    pub projection: Projection,
    /// The state after the cursor, what the cursor's event changed, and where the
    /// state was rebuilt from.
    pub state: Value,
    pub changes: Vec<Change>,
    pub basis: Basis,
    /// Stored snapshots by version, each with its divergences from replay.
    pub snapshot_checks: BTreeMap<usize, Vec<Change>>,
    /// Whether `state` is the state at the cursor; while a long stream is being folded
    /// (a slice per frame, so keys keep working) it is not.
    pub ready: bool,
    /// Snapshots to check once the whole stream is folded.
    pending_snapshots: Option<Vec<StoredSnapshot>>,
    /// The event pane shows the event as stored rather than as upcast.
    pub raw: bool,
    /// `:compare FILE`: the same stream folded with the candidate's logic.
    pub compare: Option<Compare>,
    /// `v`: the aggregate's row in the topic's read model, beside the fold.
    pub read_model: Option<ReadModelView>,
    /// A `]` (forward) or `[` (back) waiting for the stream to be folded to its end, a slice per
    /// frame, so that keys keep working meanwhile.
    seek: Option<Direction>,
}

/// The stream folded with a candidate's logic (`:compare FILE`), at the cursor.
pub struct Compare {
    /// The candidate file, as typed.
    pub file: String,
    pub projection: Projection,
    /// The candidate's state after the cursor's event.
    pub state: Value,
    /// From the current state to the candidate's, at the cursor.
    pub changes: Vec<Change>,
}

impl std::fmt::Debug for StreamView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamView")
            .field("aggregate", &self.aggregate)
            .field("cursor", &self.cursor)
            .field("events", &self.indices.len())
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

/// Events folded at most per step of a long stream's first fold (one frame's work).
pub const FOLD_SLICE: usize = 512;

impl StreamView {
    /// Recomputes the state and changes at the cursor (from the nearest checkpoint or
    /// snapshot).
    pub fn refresh(&mut self) {
        self.ready = self.projection.prepare(self.cursor + 1, FOLD_SLICE);
        if let Some(c) = &mut self.compare {
            self.ready &= c.projection.prepare(self.cursor + 1, FOLD_SLICE);
        }
        if self.ready {
            (self.state, self.changes) = self.projection.state_and_changes(self.cursor);
            self.basis = self.projection.basis(self.cursor);
            if let Some(c) = &mut self.compare {
                c.state = c.projection.state_after(self.cursor);
                c.changes = crate::model::diff::diff(&self.state, &c.state);
            }
            if let Some(r) = &mut self.read_model {
                r.compare(&self.state);
            }
        }
    }

    /// Folds the whole stream (so every flag is known) and finds the flagged event after
    /// (or before) the cursor.
    pub fn find_flag(&mut self, direction: Direction) -> Option<usize> {
        let last = self.projection.len().checked_sub(1)?;
        self.projection.errors_through(last);
        let flags = self.projection.flags();
        match direction {
            Direction::Forward => flags.into_iter().find(|&i| i > self.cursor),
            Direction::Back => flags.into_iter().rev().find(|&i| i < self.cursor),
        }
    }

    /// Folds one more slice of a long stream; says whether there was work to do.
    pub fn advance(&mut self) -> bool {
        if !self.ready {
            self.refresh();
            return true;
        }
        if self.pending_snapshots.is_some() {
            if self.projection.prepare(self.projection.len(), FOLD_SLICE) {
                let stored = self.pending_snapshots.take().unwrap_or_default();
                self.set_snapshots(&stored);
            }
            return true;
        }
        false
    }

    /// Hands the aggregate's stored snapshots to the projection and checks each.
    fn set_snapshots(&mut self, snapshots: &[StoredSnapshot]) {
        // Checking each snapshot against replay folds the whole stream: for a long one,
        // that waits until the slices have got there.
        if !self.projection.prepare(self.projection.len(), 0) {
            self.pending_snapshots = Some(snapshots.to_vec());
            self.refresh();
            return;
        }
        self.projection.set_snapshots(
            snapshots
                .iter()
                .filter_map(|s| Some((s.version?, s.state.clone()))),
        );
        self.snapshot_checks = self.projection.snapshot_divergences().into_iter().collect();
        self.refresh();
    }

    /// The snapshot stored right after the event at `index`, with its divergences.
    pub fn snapshot_after(&self, index: usize) -> Option<(usize, &[Change])> {
        self.snapshot_checks
            .get(&(index + 1))
            .map(|c| (index + 1, c.as_slice()))
    }
}

impl App {
    /// Opens an aggregate's stream from the loaded events, at `at` (an index into the
    /// topic's events) or at its last event. Payloads not in memory are fetched first:
    /// the stream opens when they arrive.
    pub(super) fn open_stream(&mut self, aggregate: &str, at: Option<usize>) {
        let indices = self.topic.events.index.of_aggregate(aggregate);
        if indices.is_empty() {
            self.status = Status::warning(format!(
                "no events of aggregate `{aggregate}` in {} (loaded so far)",
                self.topic.events.topic
            ));
            return;
        }
        let mut events = Vec::with_capacity(indices.len());
        let mut missing = Vec::new();
        for &i in &indices {
            let at = self.topic.events.index.get(i).coord();
            let found = self
                .topic
                .events
                .cache
                .get(at)
                .or_else(|| self.topic.arrived.get(&at).cloned())
                .or_else(|| self.decode_kept(at));
            match found {
                Some(e) => events.push(e),
                None => missing.push(at),
            }
        }
        if !missing.is_empty() {
            self.status = Status::info(format!(
                "loading {} of the {} events of {aggregate} from the topic…",
                missing.len(),
                indices.len()
            ));
            self.topic.pending_stream = Some((aggregate.to_owned(), at));
            self.fetch(missing);
            return;
        }
        let reducers = match &self.topic.reducers {
            Some(r) => r.clone(),
            None => match crate::isolation::reducers_for(&self.config, &self.topic.events.topic) {
                Ok(r) => self.topic.reducers.insert(r).clone(),
                Err(e) => {
                    self.status = Status::error(format!("{e:#}"));
                    return;
                }
            },
        };
        let projection = Projection::new(reducers, events.iter().map(|e| &**e));
        let compare = self.topic.compare.as_ref().map(|(file, fold, _)| Compare {
            file: file.clone(),
            projection: Projection::new(fold.clone(), events.iter().map(|e| &**e)),
            state: Value::Null,
            changes: vec![],
        });
        let cursor = at
            .and_then(|a| indices.iter().position(|&i| i == a))
            .unwrap_or(indices.len() - 1);
        let mut view = StreamView {
            aggregate: aggregate.to_owned(),
            indices,
            cursor,
            diff: false,
            projection,
            state: Value::Null,
            changes: vec![],
            basis: Basis {
                snapshot: None,
                events: 0,
            },
            snapshot_checks: BTreeMap::new(),
            ready: false,
            pending_snapshots: None,
            raw: false,
            seek: None,
            compare,
            read_model: None,
        };
        match self.topic.snapshots.get(aggregate) {
            Some(stored) => view.set_snapshots(stored),
            None => view.refresh(),
        }
        // Snapshots in a database are read per aggregate, as its stream opens.
        let in_database = self
            .config
            .topic(&self.topic.events.topic)
            .and_then(|t| t.snapshots.as_ref())
            .is_some_and(|s| s.database.is_some());
        if in_database && !self.topic.snapshots.contains_key(aggregate) {
            self.outbox.push(Command::LoadDatabaseSnapshots {
                generation: self.generation,
                topic: self.topic.events.topic.clone(),
                aggregate: aggregate.to_owned(),
            });
        }
        self.screen = Screen::Stream(Box::new(view));
        // With `v` on, the next aggregate shows its row too.
        if self.read_model_on {
            if let Some(ask) = self.show_read_model() {
                self.outbox.push(ask);
            }
        }
        self.topic.aggregates.refresh(&self.topic.events.index);
        self.topic
            .aggregates
            .select(aggregate, &self.topic.events.index);
        self.status = Status::warning(self.stream_start_gone(aggregate).unwrap_or_default());
    }

    /// Says that a stream may have lost its first events: a partition it has events in
    /// now starts past offset 0 (retention or DeleteRecords), so what it held before is
    /// gone and its state is folded from what is left.
    fn stream_start_gone(&self, aggregate: &str) -> Option<String> {
        let topic = self
            .topics
            .all
            .iter()
            .find(|t| t.name == self.topic.events.topic)?;
        let mut firsts: BTreeMap<i32, i64> = BTreeMap::new();
        for i in self.topic.events.index.of_aggregate(aggregate) {
            let at = self.topic.events.index.get(i).coord();
            firsts.entry(at.partition).or_insert(at.offset);
        }
        let trimmed: Vec<String> = firsts
            .iter()
            .filter_map(|(&partition, &first)| {
                let p = topic.partitions.iter().find(|p| p.partition == partition)?;
                (p.low > 0 && first >= p.low).then(|| format!("{partition}/{}", p.low))
            })
            .collect();
        if trimmed.is_empty() {
            return None;
        }
        Some(format!(
            "the log now starts at {} (retention or DeleteRecords): events of {} before it, \
             if it had any, are gone; its state is folded from what is left",
            trimmed.join(", "),
            aggregate
        ))
    }

    /// One aggregate's snapshots from a database: kept, and checked if its stream is open.
    pub(super) fn receive_aggregate_snapshots(
        &mut self,
        aggregate: String,
        stored: Vec<StoredSnapshot>,
    ) {
        if let Screen::Stream(view) = &mut self.screen {
            if view.aggregate == aggregate {
                view.set_snapshots(&stored);
            }
        }
        self.topic.snapshots.insert(aggregate, stored);
    }

    /// Stores the topic's snapshots by aggregate and checks the open stream's.
    pub(super) fn receive_snapshots(&mut self, snapshots: Vec<(String, StoredSnapshot)>) {
        let mut by_aggregate: HashMap<String, Vec<StoredSnapshot>> = HashMap::new();
        for (aggregate, snapshot) in snapshots {
            by_aggregate.entry(aggregate).or_default().push(snapshot);
        }
        self.topic.snapshots = by_aggregate;
        if let Screen::Stream(view) = &mut self.screen {
            if let Some(stored) = self.topic.snapshots.get(&view.aggregate) {
                view.set_snapshots(stored);
            }
        }
    }

    pub(super) fn goto(&mut self, arg: &str) {
        let Screen::Stream(view) = &mut self.screen else {
            self.status = Status::warning("open an aggregate first (:agg ID)");
            return;
        };
        let topic = &self.topic.events.topic;
        let stream: Vec<Event> = view
            .indices
            .iter()
            .map(|&i| Event::skeleton(topic, &self.topic.events.index.get(i)))
            .collect();
        let resolved = arg
            .parse()
            .map_err(|e: crate::model::position::PositionParseError| e.to_string())
            .and_then(|p| resolve(&stream, p).map_err(|e| e.to_string()));
        match resolved {
            Ok(i) => {
                view.cursor = i;
                view.refresh();
            }
            Err(e) => self.status = Status::error(e),
        }
    }

    /// Keys of the Stream screen; `None` lets the common handling run.
    pub(super) fn update_stream(&mut self, action: &Action) -> Option<Vec<Command>> {
        // `v` is about the state pane, whichever list has the keys.
        if self.topic.aggregates.focused && *action != Action::ToggleReadModel {
            return self.update_aggregate_list(action);
        }
        let Screen::Stream(view) = &mut self.screen else {
            return None;
        };
        let last = view.indices.len() - 1;
        let cursor = view.cursor;
        if let Some(to) = super::stepped(action, cursor, last, self.page) {
            view.cursor = to;
            view.refresh();
            return Some(vec![]);
        }
        view.cursor = match action {
            Action::ToggleSkip => {
                view.projection.toggle_skip(cursor);
                cursor
            }
            Action::ToggleDiff => {
                view.diff = !view.diff;
                cursor
            }
            Action::ToggleReadModel => {
                if view.read_model.take().is_some() {
                    self.read_model_on = false;
                    return Some(vec![]);
                }
                if !self.has_read_model(&self.topic.events.topic.clone()) {
                    return Some(vec![]);
                }
                self.read_model_on = true;
                return Some(self.show_read_model().into_iter().collect());
            }
            Action::ToggleSnapshotStart => {
                if !view.projection.has_snapshots() {
                    self.status =
                        Status::warning(format!("no stored snapshots of `{}`", view.aggregate));
                    return Some(vec![]);
                }
                let on = !view.projection.from_snapshot();
                view.projection.set_from_snapshot(on);
                cursor
            }
            Action::NextPane => {
                self.topic.aggregates.focused = true;
                return Some(vec![]);
            }
            Action::Back => {
                self.leave_stream();
                return Some(vec![]);
            }
            _ => return None,
        };
        view.refresh();
        Some(vec![])
    }

    fn update_aggregate_list(&mut self, action: &Action) -> Option<Vec<Command>> {
        let len = self.topic.aggregates.len();
        let last = len.saturating_sub(1);
        let selected = self.topic.aggregates.selected;
        self.topic.aggregates.selected = match action {
            Action::MoveDown => (selected + 1).min(last),
            Action::MoveUp => selected.saturating_sub(1),
            Action::PageDown => (selected + self.page).min(last),
            Action::PageUp => selected.saturating_sub(self.page),
            Action::First => 0,
            Action::Last => last,
            Action::Open | Action::NextPane | Action::StepForward => {
                self.topic.aggregates.focused = false;
                return Some(vec![]);
            }
            Action::Back | Action::StepBack => {
                self.leave_stream();
                return Some(vec![]);
            }
            _ => return None,
        };
        let id = self
            .topic
            .aggregates
            .id(self.topic.aggregates.selected, &self.topic.events.index);
        if let Some(id) = id.filter(|id| self.stream().is_none_or(|s| s.aggregate != *id)) {
            self.open_stream(&id, None);
        }
        Some(vec![])
    }

    /// Does one slice of pending work (a long stream's first fold, a groups sample
    /// due): says whether there was any, so that the caller draws again and comes
    /// back soon, and what it asks of the worker.
    #[must_use]
    pub fn tick(&mut self) -> Tick {
        let busy = self.tick_inner();
        Tick {
            busy,
            commands: self.commands_with(vec![]),
        }
    }

    fn tick_inner(&mut self) -> bool {
        let sampled = self.sample_groups(std::time::Instant::now());
        self.outbox.extend(sampled);
        let Screen::Stream(view) = &mut self.screen else {
            return false;
        };
        let Some(direction) = view.seek else {
            return view.advance();
        };
        if view.projection.prepare(view.projection.len(), FOLD_SLICE) {
            view.seek = None;
            let commands = self.jump_flag(direction);
            self.outbox.extend(commands);
        }
        true
    }

    /// `f`: starts or stops following the open topic's new events.
    pub(super) fn toggle_follow(&mut self) -> Vec<Command> {
        if !self.topic.events.done || self.topic.events.topic.is_empty() {
            self.status =
                Status::warning("open a topic and let it load, then f follows its new events");
            return vec![];
        }
        self.topic.following = !self.topic.following;
        if !self.topic.following {
            self.status = Status::info("stopped following");
            return vec![Command::StopFollow];
        }
        let mut starts = BTreeMap::new();
        for e in self.topic.events.index.iter() {
            let next = starts.entry(e.coord().partition).or_insert(0);
            *next = (*next).max(e.coord().offset + 1);
        }
        self.status = Status::info(format!(
            "following {}: new events appear as they arrive (f stops)",
            self.topic.events.topic
        ));
        vec![Command::Follow {
            topic: self.topic.events.topic.clone(),
            generation: self.generation,
            starts,
        }]
    }

    /// New events of the followed topic: appended; the open stream takes them in, and a
    /// cursor that was on the last event moves to the newest.
    pub(super) fn receive_followed(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let touches = self
            .stream()
            .map(|s| {
                (
                    s.aggregate.clone(),
                    s.cursor + 1 == s.indices.len(),
                    s.indices.get(s.cursor).copied(),
                )
            })
            .filter(|(aggregate, _, _)| events.iter().any(|e| &e.aggregate == aggregate));
        let at_end = self.topic.events.selected + 1 >= self.topic.events.len();
        let reference = self
            .config
            .compensations_for(&self.topic.events.topic)
            .reference;
        self.topic.events.ingest(events, reference.as_ref());
        if at_end && matches!(self.screen, Screen::Events) {
            self.topic.events.selected = self.topic.events.len() - 1;
        }
        self.link_events();
        self.topic.aggregates.refresh(&self.topic.events.index);
        if let Some((aggregate, was_at_end, at)) = touches {
            let focused = self.topic.aggregates.focused;
            self.open_stream(&aggregate, if was_at_end { None } else { at });
            self.topic.aggregates.focused = focused;
        }
    }

    /// Back to the topic's events, at the event the timeline was on.
    fn leave_stream(&mut self) {
        self.topic.aggregates.focused = false;
        if let Some(&i) = self.stream().and_then(|view| view.indices.get(view.cursor)) {
            self.topic.events.selected = i;
        }
        self.screen = Screen::Events;
    }

    /// Applies the aggregate filter typed on the Stream screen; `done` (Enter) also
    /// opens the first match unless the open aggregate still matches.
    pub(super) fn filter_aggregates(&mut self, filter: String, done: bool) {
        let index = &self.topic.events.index;
        self.topic.aggregates.set_filter(filter, index);
        self.topic.aggregates.selected = 0;
        self.topic.aggregates.focused = true;
        let open = self.stream().map(|s| s.aggregate.clone());
        let here = open
            .as_deref()
            .and_then(|o| self.topic.aggregates.position(o, index));
        if let Some(here) = here {
            self.topic.aggregates.selected = here;
        }
        let first = self.topic.aggregates.id(0, index);
        let open_still_listed = here.is_some();
        if let (true, false, Some(first)) = (done, open_still_listed, first) {
            self.open_stream(&first, None);
        }
    }

    /// `]` / `[`: the next (previous) flagged event of the stream; past the last one,
    /// the next (previous) aggregate with a flag, at its first, once the topic is
    /// checked (the worker folds every aggregate; asked once per topic).
    pub(super) fn jump_flag(&mut self, direction: Direction) -> Vec<Command> {
        let Screen::Stream(view) = &mut self.screen else {
            self.status = Status::warning("] and [ step between flagged events of a stream: open one first (Enter on an event)");
            return vec![];
        };
        // Every flag is known once the stream is folded to its end: a long one is
        // folded a slice per frame first (`tick`), not here on the key press.
        if !view.projection.prepare(view.projection.len(), 0) {
            view.seek = Some(direction);
            self.status = Status::info(format!("folding {} to find its flags…", view.aggregate));
            return vec![];
        }
        if let Some(i) = view.find_flag(direction) {
            view.cursor = i;
            view.refresh();
            self.status.clear();
            return vec![];
        }
        if self.topic.flags.is_some() {
            self.jump_across(direction);
            return vec![];
        }
        self.topic.pending_flag = Some(direction);
        self.status = Status::info(format!(
            "no more flags in {}: checking every aggregate of {}…",
            view.aggregate, self.topic.events.topic
        ));
        vec![Command::CheckTopic {
            topic: self.topic.events.topic.clone(),
            generation: self.generation,
            logic: Box::new(self.config.logic_for(&self.topic.events.topic)),
        }]
    }

    pub(super) fn receive_checked(
        &mut self,
        result: Result<Vec<(String, usize)>, super::WorkerError>,
    ) {
        match result {
            Ok(flags) => {
                self.topic.flags = Some(flags);
                if let Some(direction) = self.topic.pending_flag.take() {
                    self.jump_across(direction);
                }
            }
            Err(e) => {
                self.topic.pending_flag = None;
                let topic = &self.topic.events.topic;
                self.status =
                    Status::new(e.status().severity, format!("checking {topic} failed: {e}"));
            }
        }
    }

    /// Opens the next (previous) aggregate in the list that has a flag, at its first.
    fn jump_across(&mut self, direction: Direction) {
        let flags: HashMap<&str, usize> = self
            .topic
            .flags
            .iter()
            .flatten()
            .map(|(a, i)| (a.as_str(), *i))
            .collect();
        let open = self
            .stream()
            .map(|s| s.aggregate.clone())
            .unwrap_or_default();
        let index = &self.topic.events.index;
        let listed = self.topic.aggregates.len();
        let here = self.topic.aggregates.position(&open, index).unwrap_or(0);
        let flagged = |i: &usize| {
            let row = self.topic.aggregates.row(*i, index);
            row.is_some_and(|r| flags.contains_key(r.aggregate))
        };
        let next = match direction {
            Direction::Forward => (here + 1..listed).find(flagged),
            Direction::Back => (0..here).rev().find(flagged),
        };
        let Some(next) = next.and_then(|i| self.topic.aggregates.id(i, index)) else {
            self.status = Status::info(format!(
                "no flagged event {} this one: {} of {} aggregates of {} have flags",
                match direction {
                    Direction::Forward => "after",
                    Direction::Back => "before",
                },
                flags.len(),
                listed,
                self.topic.events.topic
            ));
            return;
        };
        // The topic index of the aggregate's first flagged event.
        let first = flags[next.as_str()];
        let at = self
            .topic
            .events
            .index
            .iter()
            .enumerate()
            .filter(|(_, e)| e.aggregate() == next)
            .nth(first)
            .map(|(i, _)| i);
        self.open_stream(&next, at);
    }

    /// Opens the open stream again at its cursor (after its logic changed).
    pub(super) fn reopen_stream(&mut self) {
        let Some((aggregate, at)) = self
            .stream()
            .map(|s| (s.aggregate.clone(), s.indices.get(s.cursor).copied()))
        else {
            return;
        };
        let focused = self.topic.aggregates.focused;
        self.open_stream(&aggregate, at);
        self.topic.aggregates.focused = focused;
    }
}
