//! `rewind check`, `check --idempotence`, `replay --with` and `states`: the folds of
//! `engine::fold` and `engine::outcome`, printed.

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use crate::cli::Output;
use crate::config::{Config, Connection};
use crate::engine::fold::{candidate, fold_pass, fold_topic, Scope, Select, Spec};
use crate::engine::pool::Pool;
use crate::model::lab::{Changed, CheckSummary};

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
    let pool = Pool::new(conn);
    let logic = config.logic_for(scope.topic);
    let mut summary = CheckSummary::default();
    let scope = &Scope {
        findings_only: true,
        ..scope.clone()
    };
    let mut aggregates = fold_topic(&pool, config, scope, &[logic])?;
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
    conclude(line, !summary.results.is_empty(), fail, output)
}

/// The summary line of a lab command: the error `--fail` exits 3 with when something
/// was found, else said on stderr (with `-o json`, the object says it).
fn conclude(line: String, found: bool, fail: bool, output: Output) -> Result<()> {
    if fail && found {
        return Err(Found(line).into());
    }
    if output != Output::Json {
        eprintln!("{line}");
    }
    Ok(())
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
    let pool = Pool::new(conn);
    let logics = [
        config.logic_for(scope.topic),
        candidate(config, with, scope.topic)?,
    ];
    let mut aggregates = fold_topic(&pool, config, scope, &logics)?;
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

/// `rewind check --idempotence`.
pub fn idempotence(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    fail: bool,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let pool = Pool::new(conn);
    let spec = Spec {
        twice: true,
        ..Spec::from(config.logic_for(scope.topic))
    };
    let pass = fold_pass(&pool, config, scope, &[spec])?;
    let results = pass.twice.results();
    let names: Vec<&str> = results.iter().filter_map(|r| r["type"].as_str()).collect();
    let line = format!(
        "folded {} event(s) of {} type(s) of {} twice: {} not idempotent{}",
        pass.taken[0],
        pass.twice.types.len(),
        scope.topic,
        results.len(),
        match names.is_empty() {
            true => String::new(),
            false => format!(" ({})", names.join(", ")),
        }
    );
    match output {
        Output::Json => {
            let json = serde_json::json!({"events": pass.taken[0], "types": pass.twice.types.len(),
                "not_idempotent": results.len(), "results": results});
            writeln!(out, "{}", super::json_text(&json, true))?;
        }
        _ => {
            for r in &results {
                writeln!(out, "{}", super::json_text(r, false))?;
            }
        }
    }
    conclude(line, !results.is_empty(), fail, output)
}

/// The moment `rewind states` folds to.
pub enum Moment<'a> {
    End,
    At(i64),
    /// What the group's consumer has processed.
    Group(&'a str),
}

/// `rewind states`.
pub fn states(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    moment: Moment<'_>,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let pool = Pool::new(conn);
    let (states, events) = match moment {
        Moment::End => crate::engine::outcome::states(&pool, config, scope, Select::All)?,
        Moment::At(t) => crate::engine::outcome::states_at(&pool, config, scope, t)?,
        Moment::Group(g) => {
            let committed = crate::engine::outcome::committed(&pool, g, scope.topic)?;
            let select = Select::Below(std::sync::Arc::new(committed));
            crate::engine::outcome::states(&pool, config, scope, select)?
        }
    };
    let lines = states.iter().map(|s| {
        serde_json::json!({"aggregate": s.aggregate, "state": s.state, "index": s.last.index,
            "partition": s.last.partition, "offset": s.last.offset})
    });
    match output {
        Output::Json => {
            let json = serde_json::json!({"aggregates": states.len(), "events": events,
                "results": lines.collect::<Vec<_>>()});
            writeln!(out, "{}", super::json_text(&json, true))?;
        }
        _ => {
            for line in lines {
                writeln!(out, "{}", super::json_text(&line, false))?;
            }
            eprintln!(
                "{} aggregate(s) of {} from {events} event(s)",
                states.len(),
                scope.topic
            );
        }
    }
    Ok(())
}

/// `rewind drift`.
pub fn drift(
    conn: &Connection,
    config: &Config,
    scope: &Scope<'_>,
    group: Option<&str>,
    fail: bool,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let pool = Pool::new(conn);
    let mut results = Vec::new();
    let mut printed = Ok(());
    let mut each = |d: &crate::model::drift::Drifted| match output {
        Output::Json => results.push(d.to_json()),
        _ => {
            if printed.is_ok() {
                printed = writeln!(out, "{}", super::json_text(&d.to_json(), false));
            }
        }
    };
    let summary = crate::engine::drift::drift(&pool, config, scope, group, &mut each, None)?;
    printed?;
    let line = format!(
        "{} aggregate(s) of {}{}: {} match their read model, {} differ, {} missing",
        summary.aggregates,
        scope.topic,
        group
            .map(|g| format!(" at {g}'s offsets"))
            .unwrap_or_default(),
        summary.matching,
        summary.differing,
        summary.missing
    );
    if output == Output::Json {
        let json = serde_json::json!({"aggregates": summary.aggregates, "matching": summary.matching,
            "differing": summary.differing, "missing": summary.missing, "results": results});
        writeln!(out, "{}", super::json_text(&json, true))?;
    }
    conclude(line, summary.differing + summary.missing > 0, fail, output)
}
