//! Every aggregate of a topic folded, on every core (what `rewind check`, `replay
//! --with`, `states`, a plan's outcome and the TUI's `]` and Rewind dialog ask). One
//! thread reads the topic in partition then offset order (the order `state` folds in)
//! and deals the events, in batches, to one shard per core by aggregate; each shard
//! folds its aggregates with its own isolated reducer workers, a batch's aggregates in
//! one round trip per worker. A pass folds with several specs at once: each takes its
//! own events (a group's processed ones, a rewind's re-delivered ones, those up to a
//! time) and may start from given states.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::{mpsc, Arc};

use anyhow::{Context, Result};
use jaq_json::Val;
use serde_json::Value;

use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::lab::{Finding, Idempotence};
use crate::model::reducer::{
    from_val, new_stream_id, parse_val, to_val, Fold, Folded, Logic, ResidentRun, Step,
};
use crate::model::Event;

/// An event as a shard needs it, compact: its value already JSON text (a decoded
/// `Event` is several times larger, and many are in flight).
struct LabEvent {
    aggregate: String,
    event_type: String,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    decode_error: Option<String>,
    value: String,
    /// The whole event, for `$meta`, only when a program reads it.
    full: Option<Box<Event>>,
}

impl LabEvent {
    fn new(e: Event, keep: bool) -> LabEvent {
        let value = e.value.to_json().to_string();
        LabEvent {
            aggregate: e.aggregate.clone(),
            event_type: e.event_type.clone(),
            partition: e.partition,
            offset: e.offset,
            timestamp: e.timestamp,
            decode_error: e.decode_error.clone(),
            value,
            full: keep.then(|| Box::new(e)),
        }
    }
}

/// Events sent to a shard at a time.
const BATCH: usize = 16384;

/// Which events of the topic are folded.
#[derive(Clone, Default)]
pub struct Scope<'a> {
    pub topic: &'a str,
    pub aggregate: Option<&'a str>,
    /// Flags of events before this time are not counted (the fold still starts at the
    /// first event, so states are right).
    pub since: Option<i64>,
    /// Events after this time are not folded.
    pub until: Option<i64>,
    pub partitions: Option<Vec<i32>>,
    /// Show progress on stderr when it is a terminal (not from the TUI).
    pub progress: bool,
    /// Read each partition from this offset on (a partition not listed: from its start).
    pub starts: Option<Arc<HashMap<i32, i64>>>,
    /// Read each partition up to this offset (a partition not listed: to its end now):
    /// a second pass reads no further than the first.
    pub ends: Option<Arc<HashMap<i32, i64>>>,
    /// Asked as the topic is read: `true` stops the fold (it fails with `Cancelled`).
    pub cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    /// Told (records read, records to read) as the topic is read.
    pub on_progress: Option<&'a (dyn Fn(i64, i64) + Sync)>,
    /// Count the events this takes, and the aggregates they belong to (`Pass::counted`);
    /// a selection by partition, offset or time (the reader knows no indexes).
    pub count: Option<Select>,
    /// Find, by aggregate, the index of its last event at or before this time
    /// (`Pass::last_at`).
    pub last_at: Option<i64>,
}

/// A fold stopped because its caller no longer wanted it (`Scope::cancel`).
#[derive(Debug, thiserror::Error)]
#[error("the fold was cancelled")]
pub struct Cancelled;

/// Which of an aggregate's events a fold takes.
#[derive(Debug, Clone, Default)]
pub enum Select {
    #[default]
    All,
    /// Those below these offsets (a group's committed offsets: what its consumer has
    /// processed); none of a partition not listed.
    Below(Arc<HashMap<i32, i64>>),
    /// Those at or after these offsets (a rewind's targets: what comes again); none of
    /// a partition not listed.
    From(Arc<HashMap<i32, i64>>),
    /// Those at or after `from` and below `below` (what a rewind delivers again).
    Within {
        from: Arc<HashMap<i32, i64>>,
        below: Arc<HashMap<i32, i64>>,
    },
    /// By aggregate, its events up to this index (none of an aggregate not listed).
    UpTo(Arc<HashMap<String, usize>>),
}

/// One event as a selection sees it.
pub struct Seen<'e> {
    pub aggregate: &'e str,
    /// Its index among its aggregate's events.
    pub index: usize,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
}

impl Select {
    fn takes(&self, e: &Seen<'_>) -> bool {
        let below = |at: &HashMap<i32, i64>| at.get(&e.partition).is_some_and(|c| e.offset < *c);
        let from = |at: &HashMap<i32, i64>| at.get(&e.partition).is_some_and(|t| e.offset >= *t);
        match self {
            Select::All => true,
            Select::Below(at) => below(at),
            Select::From(at) => from(at),
            Select::Within { from: f, below: b } => from(f) && below(b),
            Select::UpTo(last) => last.get(e.aggregate).is_some_and(|l| e.index <= *l),
        }
    }
}

/// One fold of a pass over the topic: a logic, the events it takes, and the states it
/// starts from.
#[derive(Debug, Clone)]
pub struct Spec {
    pub logic: Logic,
    pub select: Select,
    /// By aggregate, the state (JSON text) its fold starts from (default `null`).
    pub seeds: Option<Arc<HashMap<String, String>>>,
    /// Fold each event a second time onto the state it produced (`check --idempotence`).
    pub twice: bool,
    /// The index of an earlier spec with the same logic that takes every event: while
    /// what this one takes of an aggregate is a prefix of its events (a group's
    /// processed events, when the aggregate lives in one partition), its state is that
    /// spec's after the prefix, and it is not folded twice.
    pub prefix_of: Option<usize>,
}

impl From<Logic> for Spec {
    fn from(logic: Logic) -> Spec {
        Spec {
            logic,
            select: Select::All,
            seeds: None,
            twice: false,
            prefix_of: None,
        }
    }
}

/// How a batch's events of one aggregate split for a spec folded as a prefix of
/// another (`Spec::prefix_of`).
struct Share {
    /// How many of the batch's events, from the first, the prefix spec takes.
    taken: usize,
    /// Whether it takes any after those (then it is folded on its own from there).
    more: bool,
    /// The base spec's state before the batch.
    before: String,
}

/// The last event a fold took of an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Last {
    /// Its index in the aggregate's events (as `state` counts them).
    pub index: usize,
    pub partition: i32,
    pub offset: i64,
}

/// What a pass over the topic gave.
pub struct Pass {
    pub aggregates: Vec<(String, Done)>,
    /// Events read (in scope).
    pub events: usize,
    /// Per spec: the events it folded.
    pub taken: Vec<usize>,
    /// What the specs with `twice` found, by event type.
    pub twice: Idempotence,
    /// The events `Scope::count` takes, and how many aggregates they belong to.
    pub counted: (usize, usize),
    /// Where each partition's read ended.
    pub ends: HashMap<i32, i64>,
    /// With `Scope::last_at`: by aggregate, the index of its last event at or before it.
    pub last_at: HashMap<String, usize>,
}

/// One aggregate once folded: its final state under each spec, the last event each
/// took, and what check found.
pub struct Done {
    pub states: Vec<Value>,
    pub last: Vec<Option<Last>>,
    pub finding: Finding,
}

/// One aggregate as a shard holds it; its states are kept by the folds, under `key`.
struct Aggregate {
    key: u64,
    /// Events folded so far.
    count: usize,
    /// The index of its first event at or after `--since`: flags count from there.
    since_index: Option<usize>,
    /// Per logic: the state after its last run as the fold said it (JSON text), and the
    /// fold's `restarts` then (a restart since means seeding the fold with it).
    saved: Vec<(String, u64)>,
    /// Per spec: the last event it took.
    last: Vec<Option<Last>>,
    /// Per spec: whether its state is still its base spec's (`Spec::prefix_of`).
    sharing: Vec<bool>,
    finding: Finding,
}

/// What a shard folds with: one fold per spec.
struct Shard<'s> {
    folds: Vec<Rc<dyn Fold>>,
    specs: &'s [Spec],
    aggregates: HashMap<String, Aggregate>,
    since: Option<i64>,
    taken: Vec<usize>,
    twice: Idempotence,
}

/// What a step is made of: the values, or their JSON text for an isolated fold.
enum Input {
    Values(Val, Val),
    Text(String, String),
}

impl Shard<'_> {
    /// Folds one batch (events of several aggregates, each aggregate's in order): one
    /// round trip per fold, onto the states the folds keep.
    fn fold(&mut self, batch: Vec<LabEvent>) {
        let mut groups: Vec<(String, Vec<LabEvent>)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for e in batch {
            let i = *at.entry(e.aggregate.clone()).or_insert_with(|| {
                groups.push((e.aggregate.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(e);
        }
        let specs = self.specs;
        for (id, events) in &groups {
            let agg = self
                .aggregates
                .entry(id.clone())
                .or_insert_with(|| Aggregate {
                    key: new_stream_id(),
                    count: 0,
                    since_index: None,
                    // A seed is sent with the first run (its `restarts` never matches).
                    saved: specs
                        .iter()
                        .map(|s| match s.seeds.as_ref().and_then(|m| m.get(id)) {
                            Some(seed) => (seed.clone(), u64::MAX),
                            None => ("null".to_owned(), 0),
                        })
                        .collect(),
                    last: vec![None; specs.len()],
                    sharing: specs.iter().map(|s| shares_with_base(s, specs)).collect(),
                    finding: Finding {
                        aggregate: id.clone(),
                        ..Finding::default()
                    },
                });
            if agg.since_index.is_none() {
                let since = self.since;
                let found = events.iter().position(|e| match since {
                    None => true,
                    Some(s) => e.timestamp.is_some_and(|t| t >= s),
                });
                agg.since_index = found.map(|j| agg.count + j);
            }
        }
        let text = self.folds.iter().all(|f| f.takes_text());
        let starts: Vec<usize> = groups
            .iter()
            .map(|(id, _)| self.aggregates[id].count)
            .collect();
        // Each event's value and `$meta` as the fold reads them.
        let inputs: Vec<Vec<Input>> = groups
            .iter()
            .zip(&starts)
            .map(|((_, events), &start)| {
                events
                    .iter()
                    .enumerate()
                    .map(|(j, e)| {
                        let meta = match &e.full {
                            Some(full) => full.meta(start + j),
                            None => Value::Null,
                        };
                        match text {
                            true => Input::Text(e.value.clone(), meta.to_string()),
                            false => Input::Values(
                                parse_val(&e.value).unwrap_or_default(),
                                to_val(&meta),
                            ),
                        }
                    })
                    .collect()
            })
            .collect();
        // One stream per aggregate of the batch (the workers key events by stream).
        let streams: Vec<u64> = groups.iter().map(|_| new_stream_id()).collect();
        let placeholder = Val::Null;
        let steps_of = |g: usize, select: &Select| -> Vec<Step<'_>> {
            let (_, events) = &groups[g];
            events
                .iter()
                .enumerate()
                .filter(|(j, e)| {
                    select.takes(&Seen {
                        aggregate: &groups[g].0,
                        index: starts[g] + j,
                        partition: e.partition,
                        offset: e.offset,
                        timestamp: e.timestamp,
                    })
                })
                .map(|(j, e)| {
                    let (event, meta, text) = match &inputs[g][j] {
                        Input::Values(v, m) => (v, m, None),
                        Input::Text(v, m) => {
                            (&placeholder, &placeholder, Some((v.as_str(), m.as_str())))
                        }
                    };
                    Step {
                        stream: streams[g],
                        index: starts[g] + j,
                        event_type: &e.event_type,
                        event,
                        meta,
                        text,
                        undecodable: e.decode_error.as_deref(),
                    }
                })
                .collect()
        };
        // A spec folded as a prefix of another: how each aggregate still sharing splits.
        let prefix = specs
            .iter()
            .position(|s| s.prefix_of.is_some())
            .map(|p| (p, specs[p].prefix_of.expect("found above")));
        let shares: Vec<Option<Share>> = groups
            .iter()
            .enumerate()
            .map(|(g, (id, events))| {
                let (p, base) = prefix?;
                let agg = &self.aggregates[id];
                if !agg.sharing[p] {
                    return None;
                }
                let takes: Vec<bool> = events
                    .iter()
                    .enumerate()
                    .map(|(j, e)| {
                        specs[p].select.takes(&Seen {
                            aggregate: id,
                            index: starts[g] + j,
                            partition: e.partition,
                            offset: e.offset,
                            timestamp: e.timestamp,
                        })
                    })
                    .collect();
                let taken = takes.iter().take_while(|t| **t).count();
                Some(Share {
                    taken,
                    more: takes[taken..].iter().any(|t| *t),
                    // Only needed where the prefix ends in this batch.
                    before: match taken < events.len() {
                        true => agg.saved[base].0.clone(),
                        false => String::new(),
                    },
                })
            })
            .collect();
        // The base spec's state after a prefix it was split at, by group.
        let mut after_prefix: HashMap<usize, String> = HashMap::new();
        // The groups whose base run was split in two.
        let mut split: std::collections::HashSet<usize> = Default::default();
        let mut answers: Vec<Vec<Folded>> = Vec::with_capacity(self.folds.len());
        for (k, fold) in self.folds.iter().enumerate() {
            let spec = &specs[k];
            // (group, run); a base run split at a prefix is two runs of one key.
            let mut runs: Vec<(usize, ResidentRun<'_>)> = Vec::new();
            for (g, (id, _)) in groups.iter().enumerate() {
                let agg = &self.aggregates[id];
                let share = shares[g].as_ref();
                if prefix.is_some_and(|(p, _)| p == k) && share.is_some() {
                    continue; // its base folds it
                }
                let (saved, synced) = &agg.saved[k];
                let run = ResidentRun {
                    key: agg.key,
                    steps: steps_of(g, &spec.select),
                    // The first spec is the one checked.
                    flag_state: k == 0 && !agg.finding.flagged(),
                    flag_from: agg.since_index.unwrap_or(usize::MAX),
                    saved,
                    seed: *synced != fold.restarts(),
                    twice: spec.twice,
                };
                match share {
                    Some(s)
                        if prefix.is_some_and(|(_, b)| b == k)
                            && s.taken > 0
                            && s.taken < run.steps.len() =>
                    {
                        let mut first = run.clone();
                        first.steps.truncate(s.taken);
                        let mut rest = run;
                        rest.steps.drain(..s.taken);
                        rest.seed = false; // it goes on from the first
                        split.insert(g);
                        runs.push((g, first));
                        runs.push((g, rest));
                    }
                    _ => runs.push((g, run)),
                }
            }
            let mut lasts = Vec::new();
            for (g, run) in &runs {
                self.taken[k] += run.steps.len();
                if let Some(step) = run.steps.last() {
                    let e = &groups[*g].1[step.index - starts[*g]];
                    let last = Last {
                        index: step.index,
                        partition: e.partition,
                        offset: e.offset,
                    };
                    lasts.push((*g, last));
                }
            }
            // Runs that take nothing are not sent (their states stay as kept).
            runs.retain(|(_, r)| !r.steps.is_empty());
            let sent: Vec<usize> = runs.iter().map(|(g, _)| *g).collect();
            // Nothing to fold (a prefix spec while it shares): no round trip, and no
            // worker started for it.
            let answered = match runs.is_empty() {
                true => vec![],
                false => fold.fold_resident(runs.into_iter().map(|(_, r)| r).collect()),
            };
            let mut all: Vec<Folded> = (0..groups.len()).map(|_| Folded::default()).collect();
            for (g, mut folded) in sent.into_iter().zip(answered) {
                let earlier = std::mem::take(&mut all[g]);
                if split.contains(&g) && earlier.state_text.is_some() {
                    // The second of a split run: the first's findings come first.
                    after_prefix.insert(g, earlier.state_text.clone().unwrap_or_default());
                    let mut merged = earlier;
                    merged.errors.append(&mut folded.errors);
                    merged.violations.append(&mut folded.violations);
                    merged.upcasts.append(&mut folded.upcasts);
                    merged.twice.append(&mut folded.twice);
                    merged.flag_state = merged.flag_state.or(folded.flag_state);
                    merged.state_text = folded.state_text;
                    folded = merged;
                }
                all[g] = folded;
            }
            answers.push(all);
            for (g, last) in lasts {
                self.aggregates
                    .get_mut(&groups[g].0)
                    .expect("added above")
                    .last[k] = Some(last);
            }
        }
        for (g, (id, events)) in groups.iter().enumerate() {
            let agg = self.aggregates.get_mut(id).expect("added above");
            let folded = &mut answers[0][g];
            let from = agg.since_index.unwrap_or(usize::MAX);
            folded.errors.retain(|(i, _)| *i >= from);
            folded.violations.retain(|(i, _)| *i >= from);
            let refs: Vec<(i32, i64, &str)> = events
                .iter()
                .map(|e| (e.partition, e.offset, e.event_type.as_str()))
                .collect();
            if agg.finding.count(agg.count, &refs, folded).is_some() {
                let state = folded.flag_state.take().unwrap_or_default();
                agg.finding.set_first_state(from_val(&state));
            }
            for (k, fold) in self.folds.iter().enumerate() {
                if let Some(text) = answers[k][g].state_text.take() {
                    agg.saved[k] = (text, fold.restarts());
                }
                if specs[k].twice {
                    let twice = std::mem::take(&mut answers[k][g].twice)
                        .into_iter()
                        .map(|(i, e)| (i, e.map(|(a, b)| (from_val(&a), from_val(&b)))))
                        .collect();
                    self.twice.count(id, agg.count, &refs, twice);
                }
            }
            agg.count += events.len();
        }
        if let Some((p, base)) = prefix {
            // The prefix spec's states, from the base's: the whole batch, the part
            // before the split, or (split before its first event) the state before it.
            let mut more: Vec<(usize, usize)> = Vec::new();
            for (g, share) in shares.into_iter().enumerate() {
                let Some(share) = share else { continue };
                let agg = self.aggregates.get_mut(&groups[g].0).expect("added above");
                let len = groups[g].1.len();
                self.taken[p] += share.taken;
                // Seeded on its own fold's first run (which never saw this key).
                agg.saved[p] = match share.taken {
                    t if t == len => (agg.saved[base].0.clone(), u64::MAX),
                    0 => (share.before, u64::MAX),
                    _ => (
                        after_prefix
                            .remove(&g)
                            .expect("a split run's first part answered"),
                        u64::MAX,
                    ),
                };
                if share.taken > 0 {
                    let e = &groups[g].1[share.taken - 1];
                    agg.last[p] = Some(Last {
                        index: starts[g] + share.taken - 1,
                        partition: e.partition,
                        offset: e.offset,
                    });
                }
                if share.taken < len {
                    agg.sharing[p] = false;
                    if share.more {
                        more.push((g, share.taken));
                    }
                }
            }
            // What it takes after the split (an aggregate across partitions), on its own.
            if !more.is_empty() {
                let fold = &self.folds[p];
                let runs: Vec<ResidentRun<'_>> = more
                    .iter()
                    .map(|&(g, taken)| {
                        let agg = &self.aggregates[&groups[g].0];
                        let mut steps = steps_of(g, &specs[p].select);
                        steps.retain(|s| s.index >= starts[g] + taken);
                        ResidentRun {
                            key: agg.key,
                            steps,
                            flag_state: false,
                            flag_from: usize::MAX,
                            saved: &agg.saved[p].0,
                            seed: true,
                            twice: specs[p].twice,
                        }
                    })
                    .collect();
                let lasts: Vec<Option<Last>> = runs
                    .iter()
                    .zip(&more)
                    .map(|(r, &(g, _))| {
                        let step = r.steps.last()?;
                        let e = &groups[g].1[step.index - starts[g]];
                        Some(Last {
                            index: step.index,
                            partition: e.partition,
                            offset: e.offset,
                        })
                    })
                    .collect();
                let counts: Vec<usize> = runs.iter().map(|r| r.steps.len()).collect();
                let answered = fold.fold_resident(runs);
                let restarts = fold.restarts();
                for ((((g, _), folded), last), n) in
                    more.iter().zip(answered).zip(lasts).zip(counts)
                {
                    let agg = self.aggregates.get_mut(&groups[*g].0).expect("added above");
                    if let Some(text) = folded.state_text {
                        agg.saved[p] = (text, restarts);
                    }
                    if last.is_some() {
                        agg.last[p] = last;
                    }
                    self.taken[p] += n;
                }
            }
        }
        drop(inputs);
        // Folded events are never folded again: the workers can let them go.
        for fold in &self.folds {
            for stream in &streams {
                fold.forget(*stream);
            }
        }
    }

    /// The aggregates with their final states under each spec (what the folds said
    /// after each aggregate's last run), the events each spec took and what `twice`
    /// found.
    fn finish(self) -> (Vec<(String, Done)>, Vec<usize>, Idempotence) {
        let aggregates = self
            .aggregates
            .into_iter()
            .map(|(id, agg)| {
                let states = agg
                    .saved
                    .iter()
                    .map(|(text, _)| serde_json::from_str(text).unwrap_or(Value::Null))
                    .collect();
                (
                    id,
                    Done {
                        states,
                        last: agg.last,
                        finding: agg.finding,
                    },
                )
            })
            .collect();
        (aggregates, self.taken, self.twice)
    }
}

/// Folds every aggregate in `scope` with each of `logics`; returns the shards'
/// aggregates.
pub fn fold_topic(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    logics: &[Logic],
) -> Result<Vec<(String, Done)>> {
    let specs: Vec<Spec> = logics.iter().cloned().map(Spec::from).collect();
    Ok(fold_pass(conn, config, scope, &specs)?.aggregates)
}

/// One pass over the topic in `scope`, folding every aggregate with each of `specs`.
pub fn fold_pass(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    specs: &[Spec],
) -> Result<Pass> {
    let cluster = Cluster::connect(conn)?;
    let info = cluster.topic(scope.topic)?;
    let mut ranges = info.ranges();
    if let Some(ends) = &scope.ends {
        for r in &mut ranges {
            if let Some(e) = ends.get(&r.partition) {
                r.end = (*e).clamp(r.start, r.end);
            }
        }
    }
    if let Some(starts) = &scope.starts {
        for r in &mut ranges {
            if let Some(s) = starts.get(&r.partition) {
                r.start = (*s).clamp(r.start, r.end);
            }
        }
    }
    let read_to: HashMap<i32, i64> = ranges.iter().map(|r| (r.partition, r.end)).collect();
    if let Some(wanted) = &scope.partitions {
        for p in wanted {
            anyhow::ensure!(
                ranges.iter().any(|r| r.partition == *p),
                "{} has no partition {p} (it has {})",
                scope.topic,
                ranges.len()
            );
        }
        ranges.retain(|r| wanted.contains(&r.partition));
    }
    // Each logic must compile and its fold start before the topic is read.
    for spec in specs {
        config.fold_for(&spec.logic)?;
    }
    let shards = std::thread::available_parallelism().map_or(2, usize::from);
    let rules = config.rules_for(scope.topic);
    let total = ranges.iter().map(|r| r.end - r.start).sum();
    type Finished = (Vec<(String, Done)>, Vec<usize>, Idempotence);
    std::thread::scope(|threads| -> Result<Pass> {
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        for _ in 0..shards {
            let (tx, rx) = mpsc::sync_channel::<Vec<LabEvent>>(1);
            senders.push(tx);
            workers.push(threads.spawn(move || -> Result<Finished> {
                let folds = specs
                    .iter()
                    .map(|s| config.fold_for(&s.logic))
                    .collect::<Result<Vec<_>>>()?;
                let mut shard = Shard {
                    folds,
                    specs,
                    aggregates: HashMap::new(),
                    since: scope.since,
                    taken: vec![0; specs.len()],
                    twice: Idempotence::default(),
                };
                for batch in rx {
                    // A cancelled fold folds no more of what was read.
                    if scope.cancel.is_some_and(|c| c()) {
                        break;
                    }
                    shard.fold(batch);
                }
                // Values as serde JSON: jaq's are not Send.
                Ok(shard.finish())
            }));
        }
        let mut buffers: Vec<Vec<LabEvent>> = (0..shards).map(|_| Vec::new()).collect();
        let keep = specs.iter().any(|s| s.logic.uses_meta());
        let mut progress = super::progress::Progress::new(scope.topic, total);
        if !scope.progress {
            progress = progress.off();
        }
        let scanner = cluster.scanner()?;
        let mut read_so_far: i64 = 0;
        let mut events = 0;
        let mut counted = 0;
        let mut counted_aggregates = std::collections::HashSet::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut last_at: HashMap<String, usize> = HashMap::new();
        let mut cancelled = false;
        let read = scanner.scan(scope.topic, &ranges, &rules, &mut |e| {
            progress.tick();
            read_so_far += 1;
            if read_so_far % 4096 == 1 {
                if let Some(tell) = scope.on_progress {
                    tell(read_so_far, total);
                }
                if scope.cancel.is_some_and(|c| c()) {
                    cancelled = true;
                    return ControlFlow::Break(());
                }
            }
            if scope.aggregate.is_some_and(|a| a != e.aggregate)
                || scope
                    .until
                    .is_some_and(|u| e.timestamp.is_some_and(|t| t > u))
            {
                return ControlFlow::Continue(());
            }
            events += 1;
            if let Some(t) = scope.last_at {
                let n = seen.entry(e.aggregate.clone()).or_insert(0);
                if e.timestamp.is_some_and(|ts| ts <= t) {
                    last_at.insert(e.aggregate.clone(), *n);
                }
                *n += 1;
            }
            if specs.is_empty() {
                return ControlFlow::Continue(());
            }
            if let Some(count) = &scope.count {
                let at = Seen {
                    aggregate: &e.aggregate,
                    index: 0,
                    partition: e.partition,
                    offset: e.offset,
                    timestamp: e.timestamp,
                };
                if count.takes(&at) {
                    counted += 1;
                    if !counted_aggregates.contains(&e.aggregate) {
                        counted_aggregates.insert(e.aggregate.clone());
                    }
                }
            }
            let shard = shard_of(&e.aggregate, shards);
            buffers[shard].push(LabEvent::new(e, keep));
            if buffers[shard].len() >= BATCH {
                let batch = std::mem::take(&mut buffers[shard]);
                if senders[shard].send(batch).is_err() {
                    return ControlFlow::Break(()); // the shard failed: its error is below
                }
            }
            ControlFlow::Continue(())
        });
        if !cancelled {
            for (tx, batch) in senders.iter().zip(buffers) {
                let _ = tx.send(batch);
            }
        }
        drop(senders);
        drop(progress);
        let mut pass = Pass {
            aggregates: Vec::new(),
            events,
            taken: vec![0; specs.len()],
            twice: Idempotence::default(),
            counted: (counted, counted_aggregates.len()),
            ends: read_to,
            last_at,
        };
        for worker in workers {
            let (aggregates, taken, twice) = worker.join().expect("a shard panicked")?;
            pass.aggregates.extend(aggregates);
            for (all, t) in pass.taken.iter_mut().zip(taken) {
                *all += t;
            }
            pass.twice.merge(twice);
        }
        if cancelled {
            return Err(Cancelled.into());
        }
        let _ = read?;
        Ok(pass)
    })
}

/// Each flagged aggregate of a topic with the index of its first flagged event, folded
/// with `logic` (the TUI's `]` past a stream's last flag).
pub fn first_flags(
    conn: &Connection,
    config: &Config,
    topic: &str,
    logic: &Logic,
) -> Result<Vec<(String, usize)>> {
    let scope = Scope {
        topic,
        ..Scope::default()
    };
    let done = fold_topic(conn, config, &scope, std::slice::from_ref(logic))?;
    Ok(done
        .into_iter()
        .filter_map(|(id, d)| Some((id, d.finding.first?.index)))
        .collect())
}

/// Whether `spec` may share its base's fold (`Spec::prefix_of`): the base takes every
/// event with the same logic, from no seeds, and neither probes twice; the base is an
/// earlier spec and the checked one (spec 0) is never folded as a prefix.
fn shares_with_base(spec: &Spec, specs: &[Spec]) -> bool {
    let Some(b) = spec.prefix_of else {
        return false;
    };
    let me = specs
        .iter()
        .position(|s| std::ptr::eq(s, spec))
        .unwrap_or(0);
    let only_one = specs.iter().filter(|s| s.prefix_of.is_some()).count() == 1;
    specs.get(b).is_some_and(|base| {
        b < me
            && only_one
            && matches!(base.select, Select::All)
            && base.seeds.is_none()
            && !base.twice
            && base.logic == spec.logic
            && spec.seeds.is_none()
            && !spec.twice
    })
}

/// The shard of an aggregate: the same one for all its events.
fn shard_of(aggregate: &str, shards: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    aggregate.hash(&mut h);
    (h.finish() % shards as u64) as usize
}

/// The logic of `topic` with a candidate file's entry for it in place of the current
/// reducers, upcasters and invariants.
pub fn candidate(config: &Config, file: &std::path::Path, topic: &str) -> Result<Logic> {
    anyhow::ensure!(
        file.exists(),
        "--with {}: no such file (a rewind.toml with the candidate's [[topics]] entry for {topic})",
        file.display()
    );
    let other = Config::load(Some(file)).with_context(|| format!("--with {}", file.display()))?;
    let entry = other.topic(topic).with_context(|| {
        format!(
            "--with {}: it has no [[topics]] entry for {topic} (name = \"{topic}\" or a glob that matches it)",
            file.display()
        )
    })?;
    Ok(Logic {
        version: config.logic_for(topic).version,
        ..entry.logic()
    })
}
