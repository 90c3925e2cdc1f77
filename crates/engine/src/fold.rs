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
use std::sync::{mpsc, Arc};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::config::Config;
use crate::model::lab::{Finding, Idempotence};
use crate::model::reducer::Logic;
use crate::model::Event;
use crate::pool::Pool;

mod shard;
use shard::Shard;

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
    /// Only what the fold finds is wanted (`check`, `]`): no aggregate's final state is
    /// made (`Done::states` stays empty), which saves parsing and holding them all.
    pub findings_only: bool,
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
    pub(super) fn takes(&self, e: &Seen<'_>) -> bool {
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

/// Folds every aggregate in `scope` with each of `logics`; returns the shards'
/// aggregates.
pub fn fold_topic(
    pool: &Pool,
    config: &Config,
    scope: &Scope<'_>,
    logics: &[Logic],
) -> Result<Vec<(String, Done)>> {
    let specs: Vec<Spec> = logics.iter().cloned().map(Spec::from).collect();
    Ok(fold_pass(pool, config, scope, &specs)?.aggregates)
}

/// One pass over the topic in `scope`, folding every aggregate with each of `specs`.
pub fn fold_pass(pool: &Pool, config: &Config, scope: &Scope<'_>, specs: &[Spec]) -> Result<Pass> {
    let client = pool.client()?;
    let info = client.cluster.topic(scope.topic)?;
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
        crate::isolation::fold_for(config, &spec.logic)?;
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
                    .map(|s| crate::isolation::fold_for(config, &s.logic))
                    .collect::<Result<Vec<_>>>()?;
                let mut shard = Shard::new(folds, specs, scope.since);
                for batch in rx {
                    // A cancelled fold folds no more of what was read.
                    if scope.cancel.is_some_and(|c| c()) {
                        break;
                    }
                    shard.fold(batch);
                }
                // Values as serde JSON: jaq's are not Send.
                Ok(shard.finish(scope.findings_only))
            }));
        }
        let mut buffers: Vec<Vec<LabEvent>> = (0..shards).map(|_| Vec::new()).collect();
        let keep = specs.iter().any(|s| s.logic.uses_meta());
        let mut progress = super::progress::Progress::new(scope.topic, total);
        if !scope.progress {
            progress = progress.off();
        }
        let mut read_so_far: i64 = 0;
        let mut events = 0;
        let mut counted = 0;
        let mut counted_aggregates = std::collections::HashSet::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut last_at: HashMap<String, usize> = HashMap::new();
        let mut cancelled = false;
        let read = client.scan(|scanner| {
            scanner.scan(scope.topic, &ranges, &rules, &mut |e| {
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
            })
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
    pool: &Pool,
    config: &Config,
    topic: &str,
    logic: &Logic,
) -> Result<Vec<(String, usize)>> {
    let scope = Scope {
        topic,
        findings_only: true,
        ..Scope::default()
    };
    let done = fold_topic(pool, config, &scope, std::slice::from_ref(logic))?;
    Ok(done
        .into_iter()
        .filter_map(|(id, d)| Some((id, d.finding.first?.index)))
        .collect())
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
