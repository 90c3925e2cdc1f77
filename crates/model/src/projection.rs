//! Folding an aggregate's events into state, with checkpoints so that the state after
//! any event is a short fold away, the what-if skip of single events, and stored
//! snapshots: replay can start from the latest one instead of the first event, and each
//! can be checked against full replay.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use jaq_json::Val;
use serde_json::Value;

use super::diff::{diff, Change};
use super::event::Event;
use super::reducer::{from_val, to_val, Fold, Step};

/// A checkpoint is kept after every this many events.
pub const CHECKPOINT_EVERY: usize = 32;

/// One event as the fold sees it.
struct FoldInput {
    event_type: String,
    event: Val,
    meta: Val,
    /// Why the payload could not be decoded: the event is marked with it and folds as
    /// if it were not there (its value is bytes, no reducer can mean anything by it).
    undecodable: Option<String>,
    /// Of an aborted or open transaction (read uncommitted): it never happened, and
    /// folds as if it were not there (marked as such, not as an error).
    never: Option<super::event::Transaction>,
}

/// The projection of one aggregate stream.
pub struct Projection {
    reducers: Rc<dyn Fold>,
    /// This stream's id for the fold (see `Step`).
    stream: u64,
    inputs: Vec<FoldInput>,
    skipped: BTreeSet<usize>,
    /// `checkpoints[k]` is the state after the first `(k + 1) * CHECKPOINT_EVERY` events.
    checkpoints: Vec<Val>,
    /// Reducer errors by event index, for every index folded so far.
    errors: BTreeMap<usize, String>,
    /// Broken invariants by event index, for every index folded so far.
    violations: BTreeMap<usize, Vec<String>>,
    /// Values after their upcasters by event index, where one applied.
    upcasts: BTreeMap<usize, Val>,
    /// The last state computed: (events folded, state), for cheap forward steps.
    last: Option<(usize, Val)>,
    /// Stored snapshots: version (how many events they include) → state.
    snapshots: BTreeMap<usize, Val>,
    /// Whether states start from the latest usable snapshot instead of the first event.
    from_snapshot: bool,
}

/// Where a state was rebuilt from: a snapshot's version (or none: the first event) and
/// how many events were folded on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Basis {
    pub snapshot: Option<usize>,
    pub events: usize,
}

impl Projection {
    /// A projection of `events` (one aggregate, in stream order).
    pub fn new<'e>(
        reducers: Rc<dyn Fold>,
        events: impl IntoIterator<Item = &'e Event>,
    ) -> Projection {
        let inputs = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| FoldInput {
                event_type: e.event_type.clone(),
                event: to_val(&e.value.to_json()),
                meta: to_val(&e.meta(i)),
                undecodable: e
                    .decode_error
                    .as_ref()
                    .map(|why| format!("payload not decoded: {why}")),
                never: e.transaction,
            })
            .collect();
        Projection {
            reducers,
            stream: super::reducer::new_stream_id(),
            inputs,
            skipped: BTreeSet::new(),
            checkpoints: Vec::new(),
            errors: BTreeMap::new(),
            violations: BTreeMap::new(),
            upcasts: BTreeMap::new(),
            last: None,
            snapshots: BTreeMap::new(),
            from_snapshot: false,
        }
    }

    /// Sets the aggregate's stored snapshots as (version, state); versions past the
    /// stream's end are kept out (they cannot be replayed onto).
    pub fn set_snapshots(&mut self, snapshots: impl IntoIterator<Item = (usize, Value)>) {
        let len = self.inputs.len();
        self.snapshots = snapshots
            .into_iter()
            .filter(|(v, _)| (1..=len).contains(v))
            .map(|(v, s)| (v, to_val(&s)))
            .collect();
        self.last = None;
    }

    /// Rebuilds states from the latest snapshot at or before them (`true`) or from the
    /// first event (`false`, the default).
    pub fn set_from_snapshot(&mut self, on: bool) {
        self.from_snapshot = on;
        self.last = None;
    }

    /// Whether states start from snapshots.
    pub fn from_snapshot(&self) -> bool {
        self.from_snapshot
    }

    /// Whether any snapshot is stored.
    pub fn has_snapshots(&self) -> bool {
        !self.snapshots.is_empty()
    }

    /// The snapshot a state after `n` events starts from: the latest at or before it,
    /// unless an event it includes is skipped (then only replay can answer the what-if).
    fn snapshot_base(&self, n: usize) -> Option<usize> {
        // No snapshot holds fewer than one event (and `1..=0` is no range).
        if !self.from_snapshot || n == 0 {
            return None;
        }
        let (&v, _) = self.snapshots.range(1..=n).next_back()?;
        self.skipped.range(..v).next().is_none().then_some(v)
    }

    /// Where the state after the event at `index` is rebuilt from.
    pub fn basis(&self, index: usize) -> Basis {
        let n = (index + 1).min(self.inputs.len());
        let snapshot = self.snapshot_base(n);
        Basis {
            snapshot,
            events: n - snapshot.unwrap_or(0),
        }
    }

    /// Each stored snapshot against the state replayed from the first event to its
    /// version: (version, changes from snapshot to replay; empty when they match).
    pub fn snapshot_divergences(&mut self) -> Vec<(usize, Vec<Change>)> {
        let from_snapshot = self.from_snapshot;
        self.set_from_snapshot(false);
        let snapshots: Vec<(usize, Value)> = self
            .snapshots
            .iter()
            .map(|(v, s)| (*v, from_val(s)))
            .collect();
        let result = snapshots
            .into_iter()
            .map(|(v, stored)| (v, diff(&stored, &self.state_after(v - 1))))
            .collect();
        self.set_from_snapshot(from_snapshot);
        result
    }

    /// Folds events `from..to` onto `state`, recording reducer errors.
    fn fold(&mut self, state: Val, from: usize, to: usize) -> Val {
        let steps: Vec<Step<'_>> = (from..to)
            .filter(|i| {
                let input = &self.inputs[*i];
                !self.skipped.contains(i) && input.undecodable.is_none() && input.never.is_none()
            })
            .map(|i| Step {
                stream: self.stream,
                index: i,
                event_type: &self.inputs[i].event_type,
                event: &self.inputs[i].event,
                meta: &self.inputs[i].meta,
                text: None,
                undecodable: None,
            })
            .collect();
        let folded = self.reducers.fold(state, &steps);
        for i in from..to {
            self.errors.remove(&i);
            self.violations.remove(&i);
            self.upcasts.remove(&i);
            if let Some(why) = &self.inputs[i].undecodable {
                self.errors.insert(i, why.clone());
            }
        }
        self.errors.extend(folded.errors);
        self.violations.extend(folded.violations);
        self.upcasts.extend(folded.upcasts);
        folded.state
    }

    /// The state after the first `n` events (`n = 0`: `null`).
    fn state_after_count(&mut self, n: usize) -> Val {
        let n = n.min(self.inputs.len());
        if let Some(v) = self.snapshot_base(n) {
            let (done, base) = match &self.last {
                Some((done, state)) if (v..=n).contains(done) => (*done, state.clone()),
                _ => (v, self.snapshots[&v].clone()),
            };
            return self.remember(n, done, base);
        }
        if let Some((done, state)) = &self.last {
            if *done <= n && n - *done < CHECKPOINT_EVERY {
                let (done, state) = (*done, state.clone());
                return self.remember(n, done, state);
            }
        }
        let wanted = n / CHECKPOINT_EVERY;
        while self.checkpoints.len() < wanted {
            let k = self.checkpoints.len();
            let base = if k == 0 {
                Val::Null
            } else {
                self.checkpoints[k - 1].clone()
            };
            let next = self.fold(base, k * CHECKPOINT_EVERY, (k + 1) * CHECKPOINT_EVERY);
            self.checkpoints.push(next);
        }
        let (done, base) = match wanted {
            0 => (0, Val::Null),
            k => (k * CHECKPOINT_EVERY, self.checkpoints[k - 1].clone()),
        };
        self.remember(n, done, base)
    }

    fn remember(&mut self, n: usize, done: usize, base: Val) -> Val {
        let state = self.fold(base, done, n);
        self.last = Some((n, state.clone()));
        state
    }

    /// Builds checkpoints toward the state after the first `upto` events, folding about
    /// `budget` events at most; says whether they are all built (then any state up to
    /// there is at most `CHECKPOINT_EVERY` events of folding away). Lets a caller fold a
    /// long stream a slice at a time.
    pub fn prepare(&mut self, upto: usize, budget: usize) -> bool {
        let wanted = upto.min(self.inputs.len()) / CHECKPOINT_EVERY;
        let mut folded = 0;
        while self.checkpoints.len() < wanted {
            if folded >= budget {
                return false;
            }
            let k = self.checkpoints.len();
            let base = match k {
                0 => Val::Null,
                k => self.checkpoints[k - 1].clone(),
            };
            let next = self.fold(base, k * CHECKPOINT_EVERY, (k + 1) * CHECKPOINT_EVERY);
            self.checkpoints.push(next);
            folded += CHECKPOINT_EVERY;
        }
        true
    }

    /// How many events the checkpoints cover so far.
    pub fn folded(&self) -> usize {
        self.checkpoints.len() * CHECKPOINT_EVERY
    }

    /// How many events the stream has.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The state after the event at `index` (as JSON).
    pub fn state_after(&mut self, index: usize) -> Value {
        from_val(&self.state_after_count(index + 1))
    }

    /// The state before the event at `index`.
    pub fn state_before(&mut self, index: usize) -> Value {
        from_val(&self.state_after_count(index))
    }

    /// What the event at `index` changed.
    pub fn changes_at(&mut self, index: usize) -> Vec<Change> {
        self.state_and_changes(index).1
    }

    /// The state after the event at `index` and what that event changed.
    pub fn state_and_changes(&mut self, index: usize) -> (Value, Vec<Change>) {
        let before = self.state_before(index);
        let after = self.state_after(index);
        let changes = diff(&before, &after);
        (after, changes)
    }

    /// Reducer errors for events up to and including `index`, folding as needed.
    pub fn errors_through(&mut self, index: usize) -> Vec<(usize, String)> {
        self.state_after_count(index + 1);
        self.errors
            .range(..=index)
            .map(|(i, e)| (*i, e.clone()))
            .collect()
    }

    /// The reducer error of one event, if it has been folded and failed.
    pub fn error_at(&self, index: usize) -> Option<&str> {
        self.errors.get(&index).map(String::as_str)
    }

    /// The invariants the state after the event at `index` breaks, once folded.
    pub fn violations_at(&self, index: usize) -> &[String] {
        self.violations.get(&index).map_or(&[], Vec::as_slice)
    }

    /// The event's value after its upcasters, once folded, where one applied.
    pub fn upcast_at(&self, index: usize) -> Option<Value> {
        self.upcasts.get(&index).map(from_val)
    }

    /// Whether the event at `index` is flagged: a reducer error or a broken invariant.
    pub fn flagged(&self, index: usize) -> bool {
        self.errors.contains_key(&index) || self.violations.contains_key(&index)
    }

    /// The flagged events folded so far, in order.
    pub fn flags(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self
            .errors
            .keys()
            .chain(self.violations.keys())
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Skips or unskips an event (what-if): the fold goes on as if it were not there.
    /// A skip before a snapshot makes states after it come from replay again.
    pub fn toggle_skip(&mut self, index: usize) {
        if !self.skipped.remove(&index) {
            self.skipped.insert(index);
        }
        self.checkpoints.truncate(index / CHECKPOINT_EVERY);
        self.errors.retain(|&i, _| i < index);
        self.violations.retain(|&i, _| i < index);
        self.upcasts.retain(|&i, _| i < index);
        self.last = None;
    }

    /// Whether an event is skipped.
    pub fn is_skipped(&self, index: usize) -> bool {
        self.skipped.contains(&index)
    }
}

impl Drop for Projection {
    fn drop(&mut self) {
        self.reducers.forget(self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawRecord;
    use crate::reducer::Reducers;
    use crate::TopicRules;
    use serde_json::json;

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let value = if i == 5 {
                    "{broken".to_owned()
                } else {
                    json!({"type": "Add", "n": i}).to_string()
                };
                let raw = RawRecord {
                    topic: "t",
                    offset: i as i64,
                    key: Some(b"a"),
                    value: Some(value.as_bytes()),
                    ..Default::default()
                };
                Event::decode(&raw, &TopicRules::default())
            })
            .collect()
    }

    fn reducers() -> Reducers {
        Reducers::compile(
            &[(
                "Add".to_string(),
                "(. // {}) | .sum += $event.n | .count += 1 | .last = $meta.index".to_string(),
            )]
            .into(),
        )
        .unwrap()
    }

    /// An independent fold: sum and count of every event but the broken one and the skipped.
    fn expected(upto: usize, skipped: &[usize]) -> Value {
        let kept: Vec<usize> = (0..=upto)
            .filter(|i| *i != 5 && !skipped.contains(i))
            .collect();
        if kept.is_empty() {
            return Value::Null;
        }
        json!({"sum": kept.iter().sum::<usize>(), "count": kept.len(), "last": kept.last()})
    }

    #[test]
    fn any_position_equals_an_independent_fold() {
        let reducers = reducers();
        let events = events(200);
        let mut p = Projection::new(Rc::new(reducers), &events);
        for i in [199, 0, 31, 32, 33, 64, 100, 99, 98, 150, 4, 5, 6] {
            assert_eq!(p.state_after(i), expected(i, &[]), "index {i}");
        }
    }

    #[test]
    fn from_snapshots_the_first_event_has_nothing_before_it() {
        let events = events(10);
        let mut p = Projection::new(Rc::new(reducers()), &events);
        p.set_snapshots([(3, expected(2, &[]))]);
        p.set_from_snapshot(true);
        // The state before the first event, and its changes, with a snapshot on.
        assert_eq!(p.state_and_changes(0).0, expected(0, &[]));
        assert_eq!(p.basis(0).snapshot, None);
        assert_eq!(p.basis(3).snapshot, Some(3));
    }

    #[test]
    fn broken_events_are_marked_and_the_fold_goes_on() {
        let reducers = reducers();
        let events = events(10);
        let mut p = Projection::new(Rc::new(reducers), &events);
        let errors = p.errors_through(9);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 5);
        assert!(p.changes_at(5).is_empty());
        assert_eq!(p.state_after(9), expected(9, &[]));
        assert!(p.errors_through(4).is_empty());
    }

    #[test]
    fn undecodable_events_are_marked_with_the_reason_and_the_fold_goes_on() {
        let mut events = events(10);
        events[3].decode_error = Some("schema id 999: not found".into());
        let mut p = Projection::new(Rc::new(reducers()), &events);
        assert_eq!(p.state_after(9), expected(9, &[3]));
        let errors = p.errors_through(9);
        assert_eq!(errors.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [3, 5]);
        assert!(errors[0].1.contains("schema id 999"), "{errors:?}");
        assert!(p.changes_at(3).is_empty());
    }

    #[test]
    fn skip_refolds_as_if_the_event_were_not_there() {
        let reducers = reducers();
        let events = events(100);
        let mut p = Projection::new(Rc::new(reducers), &events);
        assert_eq!(p.state_after(99), expected(99, &[]));
        p.toggle_skip(40);
        assert!(p.is_skipped(40));
        assert_eq!(p.state_after(99), expected(99, &[40]));
        assert_eq!(p.state_after(39), expected(39, &[]));
        assert!(p.changes_at(40).is_empty());
        p.toggle_skip(40);
        assert_eq!(p.state_after(99), expected(99, &[]));
    }

    #[test]
    fn replay_from_a_snapshot_and_check_snapshots() {
        let reducers = Rc::new(reducers());
        let events = events(100);
        let mut p = Projection::new(reducers, &events);
        // v40 is right, v70 is off by one in `sum`; v500 is past the end.
        let mut wrong = expected(69, &[]);
        wrong["sum"] = json!(wrong["sum"].as_u64().unwrap() + 1);
        p.set_snapshots([
            (40, expected(39, &[])),
            (70, wrong.clone()),
            (500, json!({})),
        ]);
        assert_eq!(p.state_after(80), expected(80, &[]), "replay by default");
        p.set_from_snapshot(true);
        assert_eq!(
            p.basis(80),
            Basis {
                snapshot: Some(70),
                events: 11
            }
        );
        assert_eq!(
            p.basis(50),
            Basis {
                snapshot: Some(40),
                events: 11
            }
        );
        assert_eq!(
            p.basis(10),
            Basis {
                snapshot: None,
                events: 11
            }
        );
        let mut from_v70 = expected(80, &[]);
        from_v70["sum"] = json!(from_v70["sum"].as_u64().unwrap() + 1);
        assert_eq!(
            p.state_after(80),
            from_v70,
            "the snapshot's error carries on"
        );
        assert_eq!(p.state_after(50), expected(50, &[]));
        assert_eq!(
            p.state_after(69),
            wrong,
            "the state after event 69 is snapshot v70"
        );
        let divergences = p.snapshot_divergences();
        assert_eq!(divergences.len(), 2);
        assert!(divergences[0].1.is_empty());
        assert_eq!(divergences[1].1[0].path, "/sum");
        assert!(p.from_snapshot(), "checking snapshots keeps the mode");
        p.toggle_skip(3);
        assert_eq!(
            p.basis(80).snapshot,
            None,
            "a skip before the snapshot needs replay"
        );
        assert_eq!(p.state_after(80), expected(80, &[3]));
    }

    #[test]
    fn diff_shows_what_one_event_changed() {
        let reducers = reducers();
        let events = events(3);
        let mut p = Projection::new(Rc::new(reducers), &events);
        let paths: Vec<String> = p.changes_at(2).into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["/sum", "/count", "/last"]);
        assert_eq!(p.changes_at(0)[0].path, "");
    }
}
