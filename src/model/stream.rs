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

/// Counts events per aggregate, in the order of `events` (partition, then offset).
#[derive(Debug, Default)]
pub struct AggregateIndex {
    by_id: HashMap<String, AggregateSummary>,
}

impl AggregateIndex {
    /// Adds one event.
    pub fn add(&mut self, e: &Event) {
        let at = (e.coord(), e.timestamp);
        let entry = self
            .by_id
            .entry(e.aggregate.clone())
            .or_insert_with(|| AggregateSummary {
                aggregate: e.aggregate.clone(),
                count: 0,
                first: at,
                last: at,
                last_type: String::new(),
            });
        entry.count += 1;
        // The last event is the latest in time; offsets break ties within a partition.
        if (e.timestamp, e.coord()) >= (entry.last.1, entry.last.0) {
            entry.last = at;
            entry.last_type = e.event_type.clone();
        }
        if (e.timestamp, e.coord()) < (entry.first.1, entry.first.0) {
            entry.first = at;
        }
    }

    /// The aggregates sorted by id.
    pub fn summaries(&self) -> Vec<&AggregateSummary> {
        let mut all: Vec<_> = self.by_id.values().collect();
        all.sort_by(|a, b| a.aggregate.cmp(&b.aggregate));
        all
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

/// How compensations pair up: reverser type → reversed type, and (optionally) the
/// reversed event's id as found in the reverser.
#[derive(Debug, Clone, Default)]
pub struct CompensationRules {
    pub compensations: BTreeMap<String, String>,
    pub reference: Option<super::Extractor>,
}

impl Links {
    /// Finds duplicates (by event id) and compensations over events in stream order.
    /// Without a reference, a reverser pairs with the latest not-yet-reversed event of
    /// the reversed type in the same aggregate.
    pub fn build<'a>(
        events: impl IntoIterator<Item = &'a Event>,
        rules: &CompensationRules,
    ) -> Links {
        let mut links = Links::default();
        let mut first_by_id: HashMap<&str, Coord> = HashMap::new();
        let mut open: HashMap<(&str, &str), Vec<Coord>> = HashMap::new();
        for e in events {
            if let Some(id) = e.event_id.as_deref() {
                match first_by_id.get(id) {
                    Some(&first) => {
                        links.duplicate_of.insert(e.coord(), first);
                        continue; // a re-sent event neither reverses nor is reversed again
                    }
                    None => {
                        first_by_id.insert(id, e.coord());
                    }
                }
            }
            if let Some(reversed_type) = rules.compensations.get(&e.event_type) {
                let target = match rules.reference.as_ref().and_then(|r| r.extract(e, None)) {
                    Some(reference) => first_by_id
                        .get(reference.as_str())
                        .copied()
                        .filter(|c| !links.reversed_by.contains_key(c)),
                    None => open
                        .get_mut(&(e.aggregate.as_str(), reversed_type.as_str()))
                        .and_then(|v| v.pop()),
                };
                if let Some(target) = target {
                    links.reverses.insert(e.coord(), target);
                    links.reversed_by.insert(target, e.coord());
                    if let Some(v) = open.get_mut(&(e.aggregate.as_str(), reversed_type.as_str())) {
                        v.retain(|c| *c != target);
                    }
                }
            }
            open.entry((e.aggregate.as_str(), e.event_type.as_str()))
                .or_default()
                .push(e.coord());
        }
        links
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
    use crate::model::event::RawRecord;
    use crate::model::{Extractor, TopicRules};

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
            index.add(&e);
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
