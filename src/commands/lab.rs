//! `rewind check` and `rewind replay --with`: every aggregate of a topic folded, on
//! every core. One thread reads the topic in partition then offset order (the order
//! `state` folds in) and deals the events, in batches, to one shard per core by
//! aggregate; each shard folds its aggregates with its own isolated reducer workers, a
//! batch's aggregates in one round trip per worker.

use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::mpsc;

use anyhow::{Context, Result};
use jaq_json::Val;
use serde_json::Value;

use crate::cli::Output;
use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::lab::{Changed, CheckSummary, Finding};
use crate::model::reducer::{from_val, new_stream_id, to_val, Fold, Folded, Logic, Step};
use crate::model::Event;

/// Events sent to a shard at a time.
const BATCH: usize = 1024;

/// Which events of the topic are folded.
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    pub topic: &'a str,
    pub aggregate: Option<&'a str>,
    /// Flags of events before this time are not counted (the fold still starts at the
    /// first event, so states are right).
    pub since: Option<i64>,
    /// Events after this time are not folded.
    pub until: Option<i64>,
    pub partitions: Option<Vec<i32>>,
}

/// One aggregate once folded: its final state under each logic, and what check found.
struct Done {
    states: Vec<Value>,
    finding: Finding,
}

/// One aggregate as a shard holds it.
struct Aggregate {
    /// Events folded so far.
    count: usize,
    /// The state under each logic.
    states: Vec<Val>,
    finding: Finding,
}

/// What a shard folds with: one fold per logic.
struct Shard {
    folds: Vec<Rc<dyn Fold>>,
    aggregates: HashMap<String, Aggregate>,
    since: Option<i64>,
}

impl Shard {
    /// Folds one batch (events of several aggregates, each aggregate's in order).
    fn fold(&mut self, batch: Vec<Event>) {
        let mut groups: Vec<(String, Vec<Event>)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for e in batch {
            let i = *at.entry(e.aggregate.clone()).or_insert_with(|| {
                groups.push((e.aggregate.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(e);
        }
        let logics = self.folds.len();
        for (id, _) in &groups {
            self.aggregates
                .entry(id.clone())
                .or_insert_with(|| Aggregate {
                    count: 0,
                    states: vec![Val::Null; logics],
                    finding: Finding {
                        aggregate: id.clone(),
                        ..Finding::default()
                    },
                });
        }
        let starts: Vec<usize> = groups
            .iter()
            .map(|(id, _)| self.aggregates[id].count)
            .collect();
        // Each event's value and `$meta` as the fold reads them.
        let inputs: Vec<Vec<(Val, Val)>> = groups
            .iter()
            .zip(&starts)
            .map(|((_, events), &start)| {
                events
                    .iter()
                    .enumerate()
                    .map(|(j, e)| (to_val(&e.value.to_json()), to_val(&e.meta(start + j))))
                    .collect()
            })
            .collect();
        // One stream per aggregate of the batch (the workers key events by stream).
        let streams: Vec<u64> = groups.iter().map(|_| new_stream_id()).collect();
        let steps_of = |g: usize, upto: usize| -> Vec<Step<'_>> {
            let (_, events) = &groups[g];
            let start = starts[g];
            events[..upto]
                .iter()
                .enumerate()
                .filter(|(_, e)| e.decode_error.is_none())
                .map(|(j, e)| Step {
                    stream: streams[g],
                    index: start + j,
                    event_type: &e.event_type,
                    event: &inputs[g][j].0,
                    meta: &inputs[g][j].1,
                })
                .collect()
        };
        let mut answers: Vec<Vec<Folded>> = Vec::with_capacity(logics);
        for (k, fold) in self.folds.iter().enumerate() {
            let runs = groups
                .iter()
                .enumerate()
                .map(|(g, (id, events))| {
                    (
                        self.aggregates[id].states[k].clone(),
                        steps_of(g, events.len()),
                    )
                })
                .collect();
            answers.push(fold.fold_many(runs));
        }
        for (g, (id, events)) in groups.iter().enumerate() {
            let agg = self.aggregates.get_mut(id).expect("added above");
            let start = agg.count;
            // The first logic is the one checked.
            let folded = &mut answers[0][g];
            for (j, e) in events.iter().enumerate() {
                if let Some(why) = &e.decode_error {
                    folded
                        .errors
                        .push((start + j, format!("payload not decoded: {why}")));
                }
            }
            if let Some(since) = self.since {
                let before = |i: &usize| events[*i - start].timestamp.is_some_and(|t| t < since);
                folded.errors.retain(|(i, _)| !before(i));
                folded.violations.retain(|(i, _)| !before(i));
            }
            let refs: Vec<&Event> = events.iter().collect();
            if let Some(pos) = agg.finding.count(start, &refs, folded) {
                // The state after the first flagged event: its run folded again up to it.
                let prefix = steps_of(g, pos + 1);
                let state = self.folds[0].fold(agg.states[0].clone(), &prefix).state;
                agg.finding.set_first_state(from_val(&state));
            }
            for (k, answer) in answers.iter_mut().enumerate() {
                agg.states[k] = std::mem::take(&mut answer[g].state);
            }
            agg.count += events.len();
        }
        drop(inputs);
        // Folded events are never folded again: the workers can let them go.
        for fold in &self.folds {
            for stream in &streams {
                fold.forget(*stream);
            }
        }
    }
}

/// Folds every aggregate in `scope` with each of `logics`; returns the shards'
/// aggregates.
fn fold_topic(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    logics: &[Logic],
) -> Result<Vec<(String, Done)>> {
    let cluster = Cluster::connect(conn)?;
    let info = cluster.topic(scope.topic)?;
    let mut ranges = info.ranges();
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
    for logic in logics {
        config.fold_for(logic)?;
    }
    let shards = std::thread::available_parallelism().map_or(2, usize::from);
    let rules = config.rules_for(scope.topic);
    let total = ranges.iter().map(|r| r.end - r.start).sum();
    std::thread::scope(|threads| -> Result<Vec<(String, Done)>> {
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        for _ in 0..shards {
            let (tx, rx) = mpsc::sync_channel::<Vec<Event>>(4);
            senders.push(tx);
            workers.push(threads.spawn(move || -> Result<Vec<(String, Done)>> {
                let folds = logics
                    .iter()
                    .map(|l| config.fold_for(l))
                    .collect::<Result<Vec<_>>>()?;
                let mut shard = Shard {
                    folds,
                    aggregates: HashMap::new(),
                    since: scope.since,
                };
                for batch in rx {
                    shard.fold(batch);
                }
                // Values as serde JSON: jaq's are not Send.
                let done = shard.aggregates.into_iter().map(|(id, agg)| {
                    let states = agg.states.iter().map(from_val).collect();
                    (
                        id,
                        Done {
                            states,
                            finding: agg.finding,
                        },
                    )
                });
                Ok(done.collect())
            }));
        }
        let mut buffers: Vec<Vec<Event>> = vec![Vec::new(); shards];
        let mut progress = super::progress::Progress::new(scope.topic, total);
        let scanner = cluster.scanner()?;
        let read = scanner.scan(scope.topic, &ranges, &rules, &mut |e| {
            progress.tick();
            if scope.aggregate.is_some_and(|a| a != e.aggregate)
                || scope
                    .until
                    .is_some_and(|u| e.timestamp.is_some_and(|t| t > u))
            {
                return ControlFlow::Continue(());
            }
            let shard = shard_of(&e.aggregate, shards);
            buffers[shard].push(e);
            if buffers[shard].len() >= BATCH {
                let batch = std::mem::take(&mut buffers[shard]);
                if senders[shard].send(batch).is_err() {
                    return ControlFlow::Break(()); // the shard failed: its error is below
                }
            }
            ControlFlow::Continue(())
        });
        for (tx, batch) in senders.iter().zip(buffers) {
            let _ = tx.send(batch);
        }
        drop(senders);
        drop(progress);
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.join().expect("a shard panicked")?);
        }
        let _ = read?;
        Ok(all)
    })
}

/// The shard of an aggregate: the same one for all its events.
fn shard_of(aggregate: &str, shards: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    aggregate.hash(&mut h);
    (h.finish() % shards as u64) as usize
}

/// Said by `check --fail` when something was found: the process exits 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Found(pub String);

/// `rewind check`.
pub fn check(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    fail: bool,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let logic = config.logic_for(scope.topic);
    let mut summary = CheckSummary::default();
    let mut aggregates = fold_topic(conn, config, scope, &[logic])?;
    aggregates.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, agg) in aggregates {
        summary.add(agg.finding);
    }
    match output {
        Output::Json => writeln!(out, "{}", super::json_text(&summary.to_json(), true))?,
        _ => {
            for finding in &summary.results {
                writeln!(out, "{}", super::json_text(&finding.to_json(), false))?;
            }
        }
    }
    let line = format!(
        "checked {} aggregate(s), {} event(s) of {}: {} violate an invariant, {} with errors",
        summary.aggregates,
        summary.events,
        scope.topic,
        summary.violating(),
        summary.with_errors()
    );
    if fail && !summary.results.is_empty() {
        return Err(Found(line).into());
    }
    if output != Output::Json {
        eprintln!("{line}");
    }
    Ok(())
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

/// `rewind replay --with FILE`.
pub fn replay(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    with: &std::path::Path,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let logics = [
        config.logic_for(scope.topic),
        candidate(config, with, scope.topic)?,
    ];
    let mut aggregates = fold_topic(conn, config, scope, &logics)?;
    aggregates.sort_by(|a, b| a.0.cmp(&b.0));
    let total = aggregates.len();
    let changed: Vec<Changed> = aggregates
        .into_iter()
        .filter_map(|(id, agg)| {
            let [before, after]: [Value; 2] = agg.states.try_into().ok()?;
            Changed::compare(&id, before, after)
        })
        .collect();
    let results: Vec<Value> = changed.iter().map(Changed::to_json).collect();
    match output {
        Output::Json => {
            let summary = serde_json::json!({"aggregates": total, "changed": changed.len(), "results": results});
            writeln!(out, "{}", super::json_text(&summary, true))?;
        }
        _ => {
            for r in &results {
                writeln!(out, "{}", super::json_text(r, false))?;
            }
            eprintln!(
                "{} of {total} aggregate(s) of {} change with {}",
                changed.len(),
                scope.topic,
                with.display()
            );
        }
    }
    Ok(())
}
