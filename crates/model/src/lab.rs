//! The replay lab's bookkeeping: what `check` finds in each aggregate (how many events
//! break an invariant or fail their reducer, and the first such event with the state
//! after it), and what `replay --with` finds (the state before and after a change of
//! logic). Pure: the folding itself is a `Fold`.

use serde_json::{json, Value};

use super::diff::{self, diff};
use super::reducer::Folded;

/// The first flagged event of an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct First {
    pub index: usize,
    pub partition: i32,
    pub offset: i64,
    pub event_type: String,
    /// The first invariant it breaks, or `None` when it is a reducer error.
    pub invariant: Option<String>,
    pub error: Option<String>,
    pub state: Value,
}

/// One aggregate's findings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Finding {
    pub aggregate: String,
    pub events: usize,
    /// Events after which an invariant is broken.
    pub violations: usize,
    /// Events whose upcaster or reducer failed (or whose payload was not decoded).
    pub errors: usize,
    pub first: Option<First>,
}

impl Finding {
    pub fn flagged(&self) -> bool {
        self.first.is_some()
    }

    /// Counts what a folded run of `events` (this aggregate's, indexed from `start`)
    /// found. Returns the position in the run of the first flagged event when it is
    /// this aggregate's first: its state is then to be set with `set_first_state`.
    /// `events` are (partition, offset, type) of each event of the run.
    pub fn count(
        &mut self,
        start: usize,
        events: &[(i32, i64, &str)],
        folded: &Folded,
    ) -> Option<usize> {
        self.events = start + events.len();
        let mut errors: Vec<(usize, &str)> = folded
            .errors
            .iter()
            .map(|(i, e)| (*i, e.as_str()))
            .collect();
        errors.sort_by_key(|(i, _)| *i);
        errors.dedup_by_key(|(i, _)| *i);
        self.errors += errors.len();
        self.violations += folded.violations.len();
        if self.first.is_some() {
            return None;
        }
        let first_error = errors.first().copied();
        let first_violation = folded.violations.iter().min_by_key(|(i, _)| *i);
        let (index, invariant, error) = match (first_error, first_violation) {
            (None, None) => return None,
            (Some((i, e)), Some((j, _))) if i <= *j => (i, None, Some(e.to_owned())),
            (Some((i, e)), None) => (i, None, Some(e.to_owned())),
            (_, Some((j, names))) => (*j, names.first().cloned(), None),
        };
        let (partition, offset, event_type) = events[index - start];
        self.first = Some(First {
            index,
            partition,
            offset,
            event_type: event_type.to_owned(),
            invariant,
            error,
            state: Value::Null,
        });
        Some(index - start)
    }

    /// The state after the first flagged event.
    pub fn set_first_state(&mut self, state: Value) {
        if let Some(first) = &mut self.first {
            first.state = state;
        }
    }

    /// `check`'s JSON line for a flagged aggregate.
    pub fn to_json(&self) -> Value {
        let first = self.first.as_ref().map(|f| {
            let mut v = json!({
                "index": f.index, "partition": f.partition, "offset": f.offset,
                "type": f.event_type, "state": f.state,
            });
            match (&f.invariant, &f.error) {
                (Some(name), _) => v["invariant"] = json!(name),
                (None, Some(e)) => v["error"] = json!(e),
                (None, None) => {}
            }
            v
        });
        json!({
            "aggregate": self.aggregate, "events": self.events,
            "violations": self.violations, "errors": self.errors, "first": first,
        })
    }
}

/// What `check` found over a topic.
#[derive(Debug, Clone, Default)]
pub struct CheckSummary {
    pub aggregates: usize,
    pub events: usize,
    /// Flagged aggregates, by aggregate id.
    pub results: Vec<Finding>,
}

impl CheckSummary {
    pub fn add(&mut self, finding: Finding) {
        self.aggregates += 1;
        self.events += finding.events;
        if finding.flagged() {
            self.results.push(finding);
        }
    }

    pub fn violating(&self) -> usize {
        self.results.iter().filter(|f| f.violations > 0).count()
    }

    pub fn with_errors(&self) -> usize {
        self.results.iter().filter(|f| f.errors > 0).count()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "aggregates": self.aggregates, "events": self.events,
            "violating": self.violating(), "with_errors": self.with_errors(),
            "results": self.results.iter().map(Finding::to_json).collect::<Vec<_>>(),
        })
    }
}

/// One aggregate whose state differs between the current logic and a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub aggregate: String,
    pub before: Value,
    pub after: Value,
}

impl Changed {
    /// The aggregate, if the two states differ.
    pub fn compare(aggregate: &str, before: Value, after: Value) -> Option<Changed> {
        (before != after).then(|| Changed {
            aggregate: aggregate.to_owned(),
            before,
            after,
        })
    }

    /// `replay`'s JSON line.
    pub fn to_json(&self) -> Value {
        json!({
            "aggregate": self.aggregate, "before": self.before, "after": self.after,
            "changes": diff::to_json(&diff(&self.before, &self.after)),
        })
    }
}

/// An event whose second application changes the state it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TwiceExample {
    pub aggregate: String,
    pub partition: i32,
    pub offset: i64,
    /// The state after the event once, and after it twice.
    pub once: Value,
    pub twice: Value,
}

/// One event type under `check --idempotence`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypeTally {
    pub events: usize,
    /// Events of the type whose second application changed the state.
    pub not_idempotent: usize,
    /// The earliest of them (partition, then offset).
    pub first: Option<TwiceExample>,
}

/// What `check --idempotence` found, by event type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Idempotence {
    pub types: std::collections::BTreeMap<String, TypeTally>,
}

impl Idempotence {
    /// Counts a folded run of one aggregate's `events` ((partition, offset, type) of
    /// each, the first at index `start`) and what its second applications changed
    /// (`Folded::twice`, by event index, as serde values).
    pub fn count(
        &mut self,
        aggregate: &str,
        start: usize,
        events: &[(i32, i64, &str)],
        twice: Vec<(usize, Option<(Value, Value)>)>,
    ) {
        for (_, _, t) in events {
            match self.types.get_mut(*t) {
                Some(tally) => tally.events += 1,
                None => {
                    let tally = TypeTally {
                        events: 1,
                        ..TypeTally::default()
                    };
                    self.types.insert((*t).to_owned(), tally);
                }
            }
        }
        for (index, example) in twice {
            let Some(&(partition, offset, t)) =
                index.checked_sub(start).and_then(|j| events.get(j))
            else {
                continue;
            };
            let tally = self.types.get_mut(t).expect("counted above");
            tally.not_idempotent += 1;
            if let Some((once, twice)) = example {
                let example = TwiceExample {
                    aggregate: aggregate.to_owned(),
                    partition,
                    offset,
                    once,
                    twice,
                };
                tally.keep_earliest(example);
            }
        }
    }

    /// Adds another tally (of other aggregates).
    pub fn merge(&mut self, other: Idempotence) {
        for (t, tally) in other.types {
            let mine = self.types.entry(t).or_default();
            mine.events += tally.events;
            mine.not_idempotent += tally.not_idempotent;
            if let Some(first) = tally.first {
                mine.keep_earliest(first);
            }
        }
    }

    /// The types that are not idempotent, as `check --idempotence` prints them.
    pub fn results(&self) -> Vec<Value> {
        self.types
            .iter()
            .filter(|(_, t)| t.not_idempotent > 0)
            .map(|(name, t)| {
                let first = t.first.as_ref().map(|f| {
                    json!({"aggregate": f.aggregate, "partition": f.partition,
                        "offset": f.offset, "once": f.once, "twice": f.twice})
                });
                json!({"type": name, "events": t.events, "not_idempotent": t.not_idempotent,
                    "first": first})
            })
            .collect()
    }
}

impl TypeTally {
    fn keep_earliest(&mut self, example: TwiceExample) {
        let earlier =
            |a: &TwiceExample| (a.partition, a.offset) < (example.partition, example.offset);
        if !self.first.as_ref().is_some_and(earlier) {
            self.first = Some(example);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawRecord;
    use crate::Event;
    use crate::TopicRules;

    fn event(offset: i64) -> Event {
        let raw = RawRecord {
            topic: "t",
            offset,
            value: Some(br#"{"type":"T"}"#),
            ..Default::default()
        };
        Event::decode(&raw, &TopicRules::default())
    }

    #[test]
    fn idempotence_counts_by_type_and_keeps_the_earliest_example() {
        let mut a = Idempotence::default();
        let events = [(1, 5, "Deposited"), (1, 6, "Renamed"), (1, 7, "Deposited")];
        let example = Some((json!({"balance": 10}), json!({"balance": 20})));
        a.count("acc-2", 0, &events, vec![(0, example.clone()), (2, None)]);
        let mut b = Idempotence::default();
        b.count("acc-1", 3, &[(0, 9, "Deposited")], vec![(3, example)]);
        a.merge(b);
        let results = a.results();
        assert_eq!(results.len(), 1, "Renamed is idempotent: {results:?}");
        assert_eq!(results[0]["type"], "Deposited");
        assert_eq!(
            (
                results[0]["events"].clone(),
                results[0]["not_idempotent"].clone()
            ),
            (json!(3), json!(3))
        );
        // Partition 0 comes before partition 1.
        assert_eq!(results[0]["first"]["aggregate"], "acc-1");
        assert_eq!(results[0]["first"]["twice"], json!({"balance": 20}));
    }

    #[test]
    fn the_first_flag_is_the_earliest_of_errors_and_violations_across_runs() {
        let events: Vec<Event> = (0..6).map(event).collect();
        let refs: Vec<(i32, i64, &str)> = events
            .iter()
            .map(|e| (e.partition, e.offset, e.event_type.as_str()))
            .collect();
        let mut finding = Finding::default();
        let clean = Folded::default();
        assert_eq!(finding.count(0, &refs[..2], &clean), None);
        let flagged = Folded {
            errors: vec![(4, "boom".into())],
            violations: vec![(3, vec!["positive".into()]), (4, vec!["positive".into()])],
            ..Folded::default()
        };
        assert_eq!(finding.count(2, &refs[2..], &flagged), Some(1));
        finding.set_first_state(json!({"n": -1}));
        assert_eq!(
            (finding.events, finding.violations, finding.errors),
            (6, 2, 1)
        );
        let first = finding.first.as_ref().unwrap();
        assert_eq!((first.index, first.offset), (3, 3));
        assert_eq!(first.invariant.as_deref(), Some("positive"));
        // A later run counts but does not move the first.
        assert_eq!(finding.count(6, &[], &flagged), None);
        assert_eq!(finding.to_json()["first"]["state"], json!({"n": -1}));
    }
}
