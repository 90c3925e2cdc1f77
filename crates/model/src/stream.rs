//! Aggregate streams: which events belong to which aggregate, positions in a stream,
//! and the links between events (duplicates, compensations).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::event::{Coord, Event};
use super::position::Position;

/// Per-aggregate totals for `rewind aggregates`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateSummary {
    pub aggregate: String,
    pub count: usize,
    pub first: (Coord, Option<i64>),
    pub last: (Coord, Option<i64>),
    pub last_type: String,
}

impl AggregateSummary {
    /// The SPEC.md shape.
    pub fn to_json(&self) -> Value {
        let at = |(c, t): &(Coord, Option<i64>)| json!({"partition": c.partition, "offset": c.offset, "timestamp": t});
        json!({"aggregate": self.aggregate, "count": self.count, "first": at(&self.first),
               "last": at(&self.last), "last_type": self.last_type})
    }
}

/// Counts events per aggregate, whatever the order they come in. Types are interned,
/// and an aggregate costs one 64-byte table entry (id pointer and counts) plus its id.
#[derive(Debug, Default)]
pub struct AggregateIndex {
    by_id: rustc_hash::FxHashMap<Box<str>, Slot>,
    types: Vec<String>,
    type_ids: HashMap<String, u32>,
}

/// One aggregate's totals, packed: times are `i64::MIN` when absent, which orders
/// absent times first as `Option` does.
#[derive(Debug, Clone, Copy)]
struct Slot {
    first_time: i64,
    first_offset: i64,
    last_time: i64,
    last_offset: i64,
    first_partition: i32,
    last_partition: i32,
    count: u32,
    last_type: u32,
}

impl Slot {
    /// `count` events of one aggregate, of which the first and last are given.
    fn of(kind: u32, first: (Coord, Option<i64>), last: (Coord, Option<i64>), count: u32) -> Slot {
        let key = |(c, t): (Coord, Option<i64>)| (t.unwrap_or(i64::MIN), c.partition, c.offset);
        let (first_time, first_partition, first_offset) = key(first);
        let (last_time, last_partition, last_offset) = key(last);
        Slot {
            first_time,
            first_offset,
            last_time,
            last_offset,
            first_partition,
            last_partition,
            count,
            last_type: kind,
        }
    }

    /// Adds other events of the same aggregate.
    fn absorb(&mut self, other: Slot) {
        self.count += other.count;
        // The last event is the latest in time; coordinates break ties.
        if (other.last_time, other.last_partition, other.last_offset)
            >= (self.last_time, self.last_partition, self.last_offset)
        {
            (self.last_time, self.last_partition, self.last_offset) =
                (other.last_time, other.last_partition, other.last_offset);
            self.last_type = other.last_type;
        }
        if (other.first_time, other.first_partition, other.first_offset)
            < (self.first_time, self.first_partition, self.first_offset)
        {
            (self.first_time, self.first_partition, self.first_offset) =
                (other.first_time, other.first_partition, other.first_offset);
        }
    }

    fn first(&self) -> (Coord, Option<i64>) {
        let c = Coord {
            partition: self.first_partition,
            offset: self.first_offset,
        };
        (c, (self.first_time != i64::MIN).then_some(self.first_time))
    }

    fn last(&self) -> (Coord, Option<i64>) {
        let c = Coord {
            partition: self.last_partition,
            offset: self.last_offset,
        };
        (c, (self.last_time != i64::MIN).then_some(self.last_time))
    }
}

impl AggregateIndex {
    /// An index expecting about this many aggregates.
    pub fn with_capacity(aggregates: usize) -> AggregateIndex {
        AggregateIndex {
            by_id: rustc_hash::FxHashMap::with_capacity_and_hasher(aggregates, Default::default()),
            ..AggregateIndex::default()
        }
    }

    /// Adds `count` events of an aggregate, of which the first and last are given.
    fn add_span(
        &mut self,
        aggregate: &str,
        kind: u32,
        first: (Coord, Option<i64>),
        last: (Coord, Option<i64>),
        count: u32,
    ) {
        let span = Slot::of(kind, first, last, count);
        match self.by_id.get_mut(aggregate) {
            Some(slot) => slot.absorb(span),
            None => {
                self.by_id.insert(aggregate.into(), span);
            }
        }
    }

    fn type_id(&mut self, event_type: &str) -> u32 {
        // Types are few: a look along the list beats hashing.
        let known = match self.types.len() {
            0..=16 => self
                .types
                .iter()
                .position(|t| t == event_type)
                .map(|i| i as u32),
            _ => self.type_ids.get(event_type).copied(),
        };
        known.unwrap_or_else(|| {
            let id = self.types.len() as u32;
            self.types.push(event_type.to_owned());
            self.type_ids.insert(event_type.to_owned(), id);
            id
        })
    }

    /// Adds one event by its aggregate id, type, coordinates and time.
    pub fn add_parts(
        &mut self,
        aggregate: &str,
        event_type: &str,
        coord: Coord,
        timestamp: Option<i64>,
    ) {
        let kind = self.type_id(event_type);
        self.add_span(aggregate, kind, (coord, timestamp), (coord, timestamp), 1);
    }

    /// Adds what another index counted (of other events).
    pub fn merge(&mut self, other: AggregateIndex) {
        for (id, slot) in other.by_id {
            let kind = self.type_id(&other.types[slot.last_type as usize]);
            self.add_span(&id, kind, slot.first(), slot.last(), slot.count);
        }
    }

    /// The aggregates sorted by id.
    pub fn summaries(&self) -> Vec<AggregateSummary> {
        let mut all: Vec<AggregateSummary> = self
            .by_id
            .iter()
            .map(|(id, s)| AggregateSummary {
                aggregate: id.to_string(),
                count: s.count as usize,
                first: s.first(),
                last: s.last(),
                last_type: self.types[s.last_type as usize].clone(),
            })
            .collect();
        all.sort_by(|a, b| a.aggregate.cmp(&b.aggregate));
        all
    }
}

/// The aggregates of a topic's loaded events, for the Stream screen's list. They are
/// counted by interned id (no id is hashed or copied) and kept in id order as events
/// arrive, so that a topic with millions of aggregates lists them in about a second
/// and a followed one merges in only its new ones. Rows are made for what is shown.
#[derive(Debug, Default)]
pub struct AggregateList {
    slots: Vec<Slot>,
    /// The aggregate (interned id) of each slot.
    ids: Vec<u32>,
    /// Interned id → its slot (`NO_SLOT` for strings that are no aggregate).
    slot_of: Vec<u32>,
    /// Slots in the order of their aggregates' ids.
    sorted: Vec<u32>,
    /// How many of the index's events are counted.
    counted: usize,
}

const NO_SLOT: u32 = u32::MAX;

/// One aggregate as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow<'a> {
    pub aggregate: &'a str,
    pub count: usize,
    pub last_type: &'a str,
}

impl AggregateList {
    /// Counts the events the index gained since the last call; says whether any.
    /// An index that shrank (a topic opened anew) is counted from the start.
    pub fn refresh(&mut self, index: &super::index::EventIndex) -> bool {
        if index.len() < self.counted {
            *self = AggregateList::default();
        }
        if index.len() == self.counted {
            return false;
        }
        let before = self.slots.len() as u32;
        let AggregateList {
            slots,
            ids,
            slot_of,
            ..
        } = self;
        slot_of.resize(index.strings(), NO_SLOT);
        index.each_aggregate_from(self.counted, |aggregate, kind, at, time| {
            let span = Slot::of(kind, (at, time), (at, time), 1);
            match &mut slot_of[aggregate as usize] {
                slot @ &mut NO_SLOT => {
                    *slot = slots.len() as u32;
                    slots.push(span);
                    ids.push(aggregate);
                }
                slot => slots[*slot as usize].absorb(span),
            }
        });
        self.counted = index.len();
        let name = |slot: u32| index.string(self.ids[slot as usize]);
        // Sorted by their first 16 bytes as a number (which orders as the bytes do),
        // then by the whole id: most comparisons are one of integers.
        let prefix = |s: &str| {
            let mut b = [0u8; 16];
            let n = s.len().min(16);
            b[..n].copy_from_slice(&s.as_bytes()[..n]);
            u128::from_be_bytes(b)
        };
        let mut keyed: Vec<(u128, u32)> = (before..self.slots.len() as u32)
            .map(|slot| (prefix(name(slot)), slot))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| name(a.1).cmp(name(b.1))));
        let new: Vec<u32> = keyed.into_iter().map(|(_, slot)| slot).collect();
        self.sorted = match self.sorted.is_empty() {
            true => new,
            false => {
                // Both are in order: merge them.
                let old = std::mem::take(&mut self.sorted);
                let mut merged = Vec::with_capacity(old.len() + new.len());
                let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
                while let (Some(&x), Some(&y)) = (a.peek(), b.peek()) {
                    merged.push(
                        match name(x) <= name(y) {
                            true => a.next(),
                            false => b.next(),
                        }
                        .expect("peeked"),
                    );
                }
                merged.extend(a.chain(b));
                merged
            }
        };
        true
    }

    /// How many aggregates there are.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The `i`th aggregate in id order.
    pub fn row<'a>(&self, i: usize, index: &'a super::index::EventIndex) -> AggregateRow<'a> {
        let slot = self.sorted[i] as usize;
        let s = &self.slots[slot];
        AggregateRow {
            aggregate: index.string(self.ids[slot]),
            count: s.count as usize,
            last_type: index.string(s.last_type),
        }
    }

    /// Where an aggregate is in id order.
    pub fn find(&self, aggregate: &str, index: &super::index::EventIndex) -> Option<usize> {
        let name = |i: usize| index.string(self.ids[self.sorted[i] as usize]);
        let at = self
            .sorted
            .partition_point(|&s| index.string(self.ids[s as usize]) < aggregate);
        (at < self.len() && name(at) == aggregate).then_some(at)
    }

    /// Where the aggregates whose id contains `needle` are, in id order, ignoring case.
    pub fn matching(&self, needle: &str, index: &super::index::EventIndex) -> Vec<u32> {
        let needle = needle.to_lowercase();
        (0..self.len() as u32)
            .filter(|&i| {
                let id = index.string(self.ids[self.sorted[i as usize] as usize]);
                id.to_lowercase().contains(&needle)
            })
            .collect()
    }
}

/// Why a position does not name an event of the stream.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PositionError {
    #[error("the stream has no events")]
    Empty,
    #[error("index {index} is past the last event (the stream has {len}: 0..{})", len.saturating_sub(1))]
    PastEnd { index: usize, len: usize },
    #[error("{0} is not an event of this aggregate")]
    NotInStream(Coord),
    #[error("{0} is before the aggregate's first event")]
    BeforeFirst(String),
}

/// Resolves a position to an index into `stream` (SPEC.md: a time is the last event at
/// or before it).
pub fn resolve<E: Borrow<Event>>(stream: &[E], position: Position) -> Result<usize, PositionError> {
    if stream.is_empty() {
        return Err(PositionError::Empty);
    }
    match position {
        Position::Index(index) if index < stream.len() => Ok(index),
        Position::Index(index) => Err(PositionError::PastEnd {
            index,
            len: stream.len(),
        }),
        Position::Coordinate { partition, offset } => {
            let coord = Coord { partition, offset };
            stream
                .iter()
                .position(|e| e.borrow().coord() == coord)
                .ok_or(PositionError::NotInStream(coord))
        }
        Position::Time(t) => stream
            .iter()
            .rposition(|e| e.borrow().timestamp.is_some_and(|ts| ts <= t))
            .ok_or_else(|| PositionError::BeforeFirst(position.to_string())),
    }
}

/// The links of a topic's events.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Links {
    /// An event whose id was seen before → the first event with that id.
    pub duplicate_of: HashMap<Coord, Coord>,
    /// A compensating event → the event it reverses.
    pub reverses: HashMap<Coord, Coord>,
    /// An event → the compensating event that reverses it.
    pub reversed_by: HashMap<Coord, Coord>,
}

/// What linking needs of an event: a decoded event, or an entry of the compact index.
pub trait Linked {
    fn coord(&self) -> Coord;
    fn event_id(&self) -> Option<&str>;
    fn event_type(&self) -> &str;
    fn aggregate(&self) -> &str;
    /// In a reversing event: the id of the event it reverses, by the topic's rules.
    fn reference(&self, rules: &CompensationRules) -> Option<String>;
}

impl Linked for &Event {
    fn coord(&self) -> Coord {
        Event::coord(self)
    }
    fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn aggregate(&self) -> &str {
        &self.aggregate
    }
    fn reference(&self, rules: &CompensationRules) -> Option<String> {
        rules.reference.as_ref().and_then(|r| r.extract(self, None))
    }
}

impl Linked for super::index::Indexed<'_> {
    fn coord(&self) -> Coord {
        super::index::Indexed::coord(self)
    }
    fn event_id(&self) -> Option<&str> {
        super::index::Indexed::event_id(self)
    }
    fn event_type(&self) -> &str {
        super::index::Indexed::event_type(self)
    }
    fn aggregate(&self) -> &str {
        super::index::Indexed::aggregate(self)
    }
    /// Found when the event was indexed.
    fn reference(&self, _: &CompensationRules) -> Option<String> {
        super::index::Indexed::reference(self).map(str::to_owned)
    }
}

/// How compensations pair up: reverser type → reversed type, and (optionally) the
/// reversed event's id as found in the reverser.
#[derive(Debug, Clone, Default)]
pub struct CompensationRules {
    pub compensations: BTreeMap<String, String>,
    pub reference: Option<super::Extractor>,
}

/// Links found so far, and what linking the events that come next (in stream order)
/// needs: a topic's links grow with it instead of being found again.
#[derive(Debug, Default, Clone)]
pub struct Linker {
    pub links: Links,
    first_by_id: HashMap<String, Coord>,
    /// Events that a compensation may still reverse, by aggregate and type.
    open: HashMap<(String, String), Vec<Coord>>,
}

impl Linker {
    /// Links one more event. Without a reference, a reverser pairs with the latest
    /// not-yet-reversed event of the reversed type in the same aggregate.
    pub fn add<L: Linked>(&mut self, e: L, rules: &CompensationRules) {
        let coord = e.coord();
        if let Some(id) = e.event_id() {
            match self.first_by_id.get(id) {
                Some(&first) => {
                    self.links.duplicate_of.insert(coord, first);
                    return; // a re-sent event neither reverses nor is reversed again
                }
                None => {
                    self.first_by_id.insert(id.to_owned(), coord);
                }
            }
        }
        let aggregate = e.aggregate().to_owned();
        if let Some(reversed_type) = rules.compensations.get(e.event_type()) {
            let slot = (aggregate.clone(), reversed_type.clone());
            let target = match e.reference(rules) {
                Some(reference) => self
                    .first_by_id
                    .get(reference.as_str())
                    .copied()
                    .filter(|c| !self.links.reversed_by.contains_key(c)),
                None => self.open.get_mut(&slot).and_then(|v| v.pop()),
            };
            if let Some(target) = target {
                self.links.reverses.insert(coord, target);
                self.links.reversed_by.insert(target, coord);
                if let Some(v) = self.open.get_mut(&slot) {
                    v.retain(|c| *c != target);
                }
            }
        }
        self.open
            .entry((aggregate, e.event_type().to_owned()))
            .or_default()
            .push(coord);
    }
}

impl Links {
    /// Finds duplicates (by event id) and compensations over events in stream order.
    pub fn build<L: Linked>(
        events: impl IntoIterator<Item = L>,
        rules: &CompensationRules,
    ) -> Links {
        let mut linker = Linker::default();
        for e in events {
            linker.add(e, rules);
        }
        linker.links
    }

    /// Adds `duplicate_of`, `reverses` and `reversed_by` to an event line where they apply.
    pub fn annotate(&self, coord: Coord, line: &mut Value) {
        if let Some(c) = self.duplicate_of.get(&coord) {
            line["duplicate_of"] = c.to_json();
        }
        if let Some(c) = self.reverses.get(&coord) {
            line["reverses"] = c.to_json();
        }
        if let Some(c) = self.reversed_by.get(&coord) {
            line["reversed_by"] = c.to_json();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_merged_from_parts_equals_one_built_whole() {
        let event = |p: i32, o: i64, agg: &str, kind: &str, ts: Option<i64>| {
            (
                agg.to_owned(),
                kind.to_owned(),
                Coord {
                    partition: p,
                    offset: o,
                },
                ts,
            )
        };
        let events = [
            event(0, 0, "a", "Created", Some(10)),
            event(1, 0, "a", "Paid", Some(30)),
            event(0, 1, "b", "Created", Some(20)),
            event(0, 2, "a", "Shipped", Some(40)),
            event(1, 1, "b", "Cancelled", None),
            event(1, 2, "c", "Created", Some(5)),
        ];
        let mut whole = AggregateIndex::default();
        let (mut left, mut right) = (AggregateIndex::default(), AggregateIndex::default());
        for (i, (agg, kind, coord, ts)) in events.iter().enumerate() {
            whole.add_parts(agg, kind, *coord, *ts);
            let part = if i % 2 == 0 { &mut left } else { &mut right };
            part.add_parts(agg, kind, *coord, *ts);
        }
        left.merge(right);
        assert_eq!(left.summaries(), whole.summaries());
        let a = &whole.summaries()[0];
        assert_eq!(
            (a.count, a.last_type.as_str(), a.first.1, a.last.1),
            (3, "Shipped", Some(10), Some(40))
        );
    }
    use crate::event::RawRecord;
    use crate::{Extractor, TopicRules};

    fn ev(offset: i64, agg: &str, kind: &str, id: &str, reverses: Option<&str>, ts: i64) -> Event {
        let mut value = json!({"type": kind, "id": id, "agg": agg});
        if let Some(r) = reverses {
            value["ref"] = json!(r);
        }
        let bytes = value.to_string();
        let rules = TopicRules {
            aggregate: Extractor::parse(".agg").unwrap(),
            event_id: Some(Extractor::parse(".id").unwrap()),
            ..TopicRules::default()
        };
        let raw = RawRecord {
            topic: "t",
            offset,
            timestamp: Some(ts),
            value: Some(bytes.as_bytes()),
            ..Default::default()
        };
        Event::decode(&raw, &rules)
    }

    fn c(offset: i64) -> Coord {
        Coord {
            partition: 0,
            offset,
        }
    }

    #[test]
    fn duplicates_and_compensations_by_latest_unreversed() {
        let events = vec![
            ev(0, "a", "Shipped", "e0", None, 0),
            ev(1, "a", "Shipped", "e1", None, 1),
            ev(2, "a", "Shipped", "e1", None, 2),
            ev(3, "a", "Reversed", "e3", None, 3),
            ev(4, "a", "Reversed", "e4", None, 4),
            ev(5, "a", "Reversed", "e5", None, 5),
            ev(6, "b", "Shipped", "e6", None, 6),
        ];
        let rules = CompensationRules {
            compensations: [("Reversed".into(), "Shipped".into())].into(),
            reference: None,
        };
        let links = Links::build(&events, &rules);
        assert_eq!(links.duplicate_of, [(c(2), c(1))].into());
        assert_eq!(links.reverses, [(c(3), c(1)), (c(4), c(0))].into());
        assert_eq!(links.reversed_by.get(&c(1)), Some(&c(3)));
        assert!(
            !links.reverses.contains_key(&c(5)),
            "nothing left to reverse in aggregate a"
        );
    }

    #[test]
    fn compensations_by_reference() {
        let events = vec![
            ev(0, "a", "Shipped", "e0", None, 0),
            ev(1, "a", "Shipped", "e1", None, 1),
            ev(2, "a", "Reversed", "e2", Some("e0"), 2),
        ];
        let rules = CompensationRules {
            compensations: [("Reversed".into(), "Shipped".into())].into(),
            reference: Some(Extractor::parse(".ref").unwrap()),
        };
        let links = Links::build(&events, &rules);
        assert_eq!(links.reverses, [(c(2), c(0))].into());
        let mut line = json!({});
        links.annotate(c(0), &mut line);
        assert_eq!(line, json!({"reversed_by": {"partition": 0, "offset": 2}}));
    }

    #[test]
    fn positions_resolve_by_index_coordinate_and_time() {
        let events: Vec<Event> = (0..4)
            .map(|i| ev(i * 10, "a", "X", &format!("e{i}"), None, 1000 * i))
            .collect();
        assert_eq!(resolve(&events, Position::Index(3)), Ok(3));
        assert!(matches!(
            resolve(&events, Position::Index(4)),
            Err(PositionError::PastEnd { .. })
        ));
        assert_eq!(resolve(&events, "0/20".parse().unwrap()), Ok(2));
        assert!(resolve(&events, "0/21".parse().unwrap()).is_err());
        assert_eq!(resolve(&events, Position::Time(2500)), Ok(2));
        assert_eq!(resolve(&events, Position::Time(3000)), Ok(3));
        assert!(resolve(&events, Position::Time(-1)).is_err());
        assert_eq!(
            resolve::<Event>(&[], Position::Index(0)),
            Err(PositionError::Empty)
        );
    }

    #[test]
    fn aggregate_summaries() {
        let mut index = AggregateIndex::default();
        for e in [
            ev(0, "b", "Created", "1", None, 5),
            ev(1, "a", "Created", "2", None, 6),
            ev(2, "b", "Paid", "3", None, 7),
        ] {
            index.add_parts(&e.aggregate, &e.event_type, e.coord(), e.timestamp);
        }
        let all = index.summaries();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[1].to_json(),
            json!({"aggregate": "b", "count": 2,
            "first": {"partition": 0, "offset": 0, "timestamp": 5},
            "last": {"partition": 0, "offset": 2, "timestamp": 7}, "last_type": "Paid"})
        );
    }
}
