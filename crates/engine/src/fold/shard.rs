//! A shard: the aggregates one core folds, each aggregate's events of a batch in one
//! run per fold, its states kept by the folds between batches.

use std::collections::HashMap;
use std::rc::Rc;

use jaq_json::Val;
use serde_json::Value;

use super::{Done, LabEvent, Last, Seen, Select, Spec};
use crate::model::lab::{Finding, Idempotence};
use crate::model::reducer::{
    from_val, new_stream_id, parse_val, to_val, Fold, Folded, ResidentRun, Step,
};

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
pub(super) struct Shard<'s> {
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

impl<'s> Shard<'s> {
    pub(super) fn new(folds: Vec<Rc<dyn Fold>>, specs: &'s [Spec], since: Option<i64>) -> Self {
        Shard {
            folds,
            specs,
            aggregates: HashMap::new(),
            since,
            taken: vec![0; specs.len()],
            twice: Idempotence::default(),
        }
    }

    /// Folds one batch (events of several aggregates, each aggregate's in order): one
    /// round trip per fold, onto the states the folds keep.
    pub(super) fn fold(&mut self, batch: Vec<LabEvent>) {
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
    pub(super) fn finish(
        self,
        findings_only: bool,
    ) -> (Vec<(String, Done)>, Vec<usize>, Idempotence) {
        let aggregates = self
            .aggregates
            .into_iter()
            .map(|(id, agg)| {
                let states = match findings_only {
                    true => vec![],
                    false => agg
                        .saved
                        .iter()
                        .map(|(text, _)| serde_json::from_str(text).unwrap_or(Value::Null))
                        .collect(),
                };
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
