//! The outcome of a rewind and the read model at a moment: folds of the whole topic
//! that stop at a group's committed offsets, start at a rewind's targets, or stop at a
//! time (what `rewind states`, every reset plan and the TUI's Rewind dialog ask).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;

use super::fold::{fold_pass, Last, Scope, Select, Spec};
use crate::config::Config;
use crate::model::outcome::{Cause, Outcome};
use crate::model::reducer::Logic;
use crate::pool::Pool;

/// A group's committed offsets on a topic, by partition (partitions without a commit
/// are left out: nothing of them is processed).
pub fn committed(pool: &Pool, group: &str, topic: &str) -> Result<HashMap<i32, i64>> {
    let client = pool.client()?;
    let info = client.cluster.topic(topic)?;
    let offsets = client
        .cluster
        .committed(group, std::slice::from_ref(&info))?;
    Ok(offsets
        .into_iter()
        .filter_map(|o| Some((o.partition, o.committed?)))
        .collect())
}

/// One aggregate's state in the read model at a moment.
pub struct AggregateState {
    pub aggregate: String,
    pub state: serde_json::Value,
    /// Its last event in range.
    pub last: Last,
}

/// Every aggregate's state after its last event at or before `t`, every event before
/// it folded (as `state --at TIME`); aggregates with no event then are left out. Also
/// the number of events folded. The topic is read twice: to find those events, then
/// to fold.
pub fn states_at(
    pool: &Pool,
    config: &Config,
    scope: &Scope<'_>,
    t: i64,
) -> Result<(Vec<AggregateState>, usize)> {
    let find = Scope {
        last_at: Some(t),
        ..scope.clone()
    };
    let found = fold_pass(pool, config, &find, &[])?;
    let ends = Arc::new(found.ends);
    let fold = Scope {
        ends: Some(ends),
        ..scope.clone()
    };
    states(pool, config, &fold, Select::UpTo(Arc::new(found.last_at)))
}

/// Every aggregate's state after its last event that `select` takes, folded with the
/// topic's reducers; aggregates with no event in range are left out. Also the number
/// of events folded.
pub fn states(
    pool: &Pool,
    config: &Config,
    scope: &Scope<'_>,
    select: Select,
) -> Result<(Vec<AggregateState>, usize)> {
    let spec = Spec {
        select,
        ..Spec::from(config.logic_for(scope.topic))
    };
    let pass = fold_pass(pool, config, scope, &[spec])?;
    let mut states: Vec<AggregateState> = pass
        .aggregates
        .into_iter()
        .filter_map(|(aggregate, mut done)| {
            Some(AggregateState {
                aggregate,
                last: done.last[0]?,
                state: done.states.swap_remove(0),
            })
        })
        .collect();
    states.sort_by(|a, b| a.aggregate.cmp(&b.aggregate));
    Ok((states, pass.taken[0]))
}

/// What the outcome of a rewind is asked for.
pub struct Asked<'a> {
    pub topic: &'a str,
    /// The group's committed offsets (partitions without a commit left out).
    pub committed: HashMap<i32, i64>,
    /// The plan's target on every partition.
    pub targets: HashMap<i32, i64>,
    /// The consumer after the rewind (`--with`); `None`: the current reducers.
    pub candidate: Option<Logic>,
    /// Progress on stderr when it is a terminal.
    pub progress: bool,
    pub cancel: Option<&'a (dyn Fn() -> bool + Sync)>,
    /// Told (pass, records read, records to read): pass 1 folds the whole topic, pass 2
    /// what comes again.
    pub on_progress: Option<&'a (dyn Fn(usize, i64, i64) + Sync)>,
}

impl<'a> Asked<'a> {
    /// The outcome of `plan` (its group's committed offsets and its targets), with the
    /// consumer after it modelled by `candidate` (`None`: the current reducers).
    pub fn of(plan: &'a crate::model::plan::Plan, candidate: Option<Logic>) -> Asked<'a> {
        Asked {
            topic: &plan.topic,
            committed: plan
                .partitions
                .iter()
                .filter_map(|p| Some((p.partition, p.current?)))
                .collect(),
            targets: plan
                .partitions
                .iter()
                .map(|p| (p.partition, p.target))
                .collect(),
            candidate,
            progress: false,
            cancel: None,
            on_progress: None,
        }
    }
}

/// The outcome of a rewind: what the read model holds once the consumer has caught up
/// after it, against what the events say (`model::outcome`).
///
/// Pass 1 reads the whole topic once for both folds of the start: the current reducers
/// on the events below the committed offsets (what the read model holds now) and the
/// candidate on every event (what it should hold); one fold without a candidate
/// (`Spec::prefix_of`). Pass 2 reads from the targets to the end and folds what comes
/// again onto what the read model holds now.
pub fn outcome(pool: &Pool, config: &Config, asked: &Asked<'_>) -> Result<Outcome> {
    let current = config.logic_for(asked.topic);
    let candidate = asked.candidate.clone().unwrap_or_else(|| current.clone());
    let committed = Arc::new(asked.committed.clone());
    let targets = Arc::new(asked.targets.clone());
    let tell = |pass: usize| {
        move |done: i64, total: i64| {
            if let Some(tell) = asked.on_progress {
                tell(pass, done, total)
            }
        }
    };
    let (first, second) = (tell(1), tell(2));
    let scope = Scope {
        topic: asked.topic,
        progress: asked.progress,
        cancel: asked.cancel,
        on_progress: Some(&first),
        ..Scope::default()
    };
    // Both passes read to where the partitions end now: what arrives meanwhile is
    // neither in `correct` nor in what comes again.
    let ranges = pool.client()?.cluster.topic(asked.topic)?.ranges();
    let ends: Arc<HashMap<i32, i64>> =
        Arc::new(ranges.iter().map(|r| (r.partition, r.end)).collect());
    let scope = Scope {
        ends: Some(ends.clone()),
        ..scope
    };
    // Without a candidate, what the group processed is (for an aggregate in one
    // partition) a prefix of its events, all of them for a group that has caught up:
    // folded once, its state taken where the prefix ends.
    let same_logic = asked.candidate.is_none();
    let now = Spec {
        select: Select::Below(committed),
        ..Spec::from(current)
    };
    let specs = match same_logic {
        true => vec![
            Spec::from(candidate.clone()),
            Spec {
                prefix_of: Some(0),
                ..now
            },
        ],
        false => vec![now, Spec::from(candidate.clone())],
    };
    let mut start = fold_pass(pool, config, &scope, &specs)?;
    // As [now, correct].
    if same_logic {
        for (_, done) in &mut start.aggregates {
            done.states.swap(0, 1);
        }
    }
    let seeds: HashMap<String, String> = start
        .aggregates
        .iter()
        .map(|(id, done)| (id.clone(), done.states[0].to_string()))
        .collect();
    let again = Spec {
        select: Select::From(targets.clone()),
        seeds: Some(Arc::new(seeds)),
        ..Spec::from(candidate)
    };
    let scope = Scope {
        starts: Some(targets.clone()),
        on_progress: Some(&second),
        count: Some(Select::Within {
            from: targets,
            below: Arc::new(asked.committed.clone()),
        }),
        ..scope
    };
    let replayed = fold_pass(pool, config, &scope, &[again])?;
    let mut after: HashMap<String, serde_json::Value> = replayed
        .aggregates
        .into_iter()
        .map(|(id, mut done)| (id, done.states.swap_remove(0)))
        .collect();
    let mut outcome = Outcome::new(
        Cause::of(&asked.committed, &asked.targets),
        asked.candidate.is_some(),
    );
    (outcome.redelivered, outcome.aggregates) = replayed.counted;
    for (id, mut done) in start.aggregates {
        let correct = done.states.swap_remove(1);
        let now = done.states.swap_remove(0);
        outcome.add(&id, after.remove(&id).unwrap_or(now), correct);
    }
    Ok(outcome)
}
