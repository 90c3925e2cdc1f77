//! `rewind reset`: a rewind plan, printed; applied only with `--execute`.

use std::io::Write;

use anyhow::{Context, Result};

use super::Table;
use crate::cli::{Output, ResetArgs};
use crate::config::{Config, Connection};
use crate::engine::pool::Pool;
use crate::kafka::rewind::{self, ExecuteOptions, PlanRequest};
use crate::model::group::{GroupState, GroupStatus};
use crate::model::outcome::Outcome;
use crate::model::plan::{self, Plan, Scope, TimeSource};
use crate::model::position::format_time;

/// Wrong aggregates the table lists (after ↔ correct).
const SHOWN: usize = 5;

/// The scope the flags ask for.
pub fn scope(args: &ResetArgs) -> Result<Scope> {
    Ok(if args.to_earliest {
        Scope::Earliest
    } else if args.to_latest {
        Scope::Latest
    } else if let Some(o) = args.to_offset {
        Scope::Offset(o)
    } else if let Some(n) = args.shift_by {
        Scope::ShiftBy(n)
    } else if let Some(t) = args.to_datetime {
        Scope::DateTime(t)
    } else if let Some((ms, text)) = &args.by_duration {
        Scope::Duration {
            ms: *ms,
            text: text.clone(),
        }
    } else if let Some(at) = args.to_event {
        Scope::Event(at)
    } else if let Some(path) = &args.from_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the reset file {}", path.display()))?;
        let rows = plan::parse_reset_file(&text)
            .map_err(|e| anyhow::anyhow!("reset file {}: {e}", path.display()))?;
        Scope::File {
            path: path.display().to_string(),
            rows,
        }
    } else {
        unreachable!("clap requires exactly one scope")
    })
}

pub fn run(
    conn: &Connection,
    config: &Config,
    args: &ResetArgs,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let scope = scope(args)?;
    if args.execute && conn.read_only {
        anyhow::bail!(
            "refusing to commit offsets for group {}: rewind is read-only here (--read-only or the profile's read_only = true); nothing was changed",
            args.group
        );
    }
    // A candidate that does not load fails before anything is asked.
    let candidate = match &args.with {
        Some(file) => Some(crate::engine::fold::candidate(config, file, &args.topic)?),
        None => None,
    };
    let pool = Pool::new(conn);
    let client = pool.client()?;
    let cluster = &client.cluster;
    let request = PlanRequest {
        group: args.group.clone(),
        topic: args.topic.clone(),
        scope,
        now_ms: chrono::Utc::now().timestamp_millis(),
        retention_warn_ms: config.retention_warn_ms(),
        aggregate: args.aggregate.clone(),
        known: None,
    };
    // Asked of the group's coordinator; `execute` asks again, twice.
    let status = cluster.group_state(&args.group);
    let plan = match rewind::make_plan(&client, &config.rules_for(&args.topic), &request) {
        Ok(plan) => plan,
        // A share group has no committed offsets to shift: say what it is instead.
        Err(e) => match status.kind.reset_refusal(&args.group) {
            Some(why) => anyhow::bail!("{why} ({e})"),
            None => return Err(e),
        },
    };
    let command = plan.command_for(status.kind, &conn.brokers, &conn.properties);
    // What the read model will hold: asked before anything is committed.
    let outcome = match args.no_outcome || output == Output::Csv {
        true => None,
        false => Some(
            plan_outcome(&pool, config, &plan, candidate.clone()).map_err(|e| format!("{e:#}")),
        ),
    };
    let execution = match args.execute {
        false => None,
        true => {
            let options = ExecuteOptions {
                allow_unknown_state: args.allow_unknown_state,
                planned_active: Some(status.state.is_active()),
                undo_file: args.undo_file.clone(),
            };
            match rewind::execute(cluster, &plan, &options) {
                Ok(done) => Some(done),
                Err(refused) => {
                    // The plan that was not applied, then why (on stderr, by main).
                    if output == Output::Table {
                        print_table(&plan, &status, &command, outcome.as_ref(), out)?;
                    }
                    return Err(refused);
                }
            }
        }
    };
    let undo = execution
        .as_ref()
        .map(|e| e.undo_file.display().to_string());
    match output {
        Output::Csv => write!(out, "{}", plan.targets_csv())?,
        Output::Json => {
            let mut json = plan.to_json(execution.is_some(), undo.as_deref(), &command);
            json["state"] = status.state.name().into();
            json["type"] = status.kind.name().into();
            if let Some(e) = &execution {
                json["written_with"] = e.written_with.label().into();
            }
            match &outcome {
                Some(Ok(o)) => {
                    json["outcome"] = o.to_json();
                    json["advice"] = o.advice().into();
                }
                Some(Err(why)) => json["outcome_error"] = why.as_str().into(),
                None => {}
            }
            if let Some(e) = &execution {
                json["read_back"] = serde_json::json!({
                    "matches": e.mismatches.is_empty(),
                    "mismatches": e.mismatches.iter().map(|(p, want, got)| serde_json::json!({"partition": p, "target": want, "committed": got})).collect::<Vec<_>>(),
                });
            }
            writeln!(out, "{}", super::json_text(&json, true))?;
        }
        Output::Table => print_table(&plan, &status, &command, outcome.as_ref(), out)?,
    }
    match &execution {
        // Like kafka-consumer-groups.sh, a plan for a group with running consumers is
        // refused, dry run or not; it is still shown, to prepare the rewind.
        None => {
            if let Some(why) = status.refused(&plan.group) {
                return Err(anyhow::anyhow!(why));
            }
            if output == Output::Table {
                writeln!(
                    out,
                    "\nDry run: nothing was changed. Add --execute to commit this plan."
                )?;
            }
        }
        Some(e) => {
            let mut err = std::io::stderr();
            if e.mismatches.is_empty() {
                writeln!(err, "committed; the offsets read back match the plan.")?;
            } else {
                for (p, want, got) in &e.mismatches {
                    writeln!(
                        err,
                        "partition {p}: committed {want}, but reads back {}",
                        got.map_or("nothing".into(), |g| g.to_string())
                    )?;
                }
            }
            let undo = crate::model::plan::undo_command(
                &plan.group,
                &plan.topic,
                &e.undo_file,
                args.allow_unknown_state,
            );
            writeln!(err, "written with {}", e.written_with.label())?;
            writeln!(err, "undo: {undo}")?;
            if !e.mismatches.is_empty() {
                anyhow::bail!(
                    "the offsets read back differ from the plan in {} partition(s)",
                    e.mismatches.len()
                );
            }
            if args.watch {
                let targets: Vec<(String, i32, i64)> = plan
                    .partitions
                    .iter()
                    .map(|p| (plan.topic.clone(), p.partition, p.target))
                    .collect();
                let tick = std::time::Duration::from_millis(args.tick_ms);
                return super::groups::watch(conn, &plan.group, tick, Some(&targets), out);
            }
        }
    }
    Ok(())
}

/// The outcome of `plan`: what the group's read model holds once it has caught up
/// after the rewind, modelled by the topic's reducers (or `candidate`'s).
pub fn plan_outcome(
    pool: &Pool,
    config: &Config,
    plan: &Plan,
    candidate: Option<crate::model::reducer::Logic>,
) -> Result<Outcome> {
    let asked = crate::engine::outcome::Asked {
        progress: true,
        ..crate::engine::outcome::Asked::of(plan, candidate)
    };
    crate::engine::outcome::outcome(pool, config, &asked)
}

fn print_table(
    plan: &Plan,
    status: &GroupStatus,
    command: &str,
    outcome: Option<&Result<Outcome, String>>,
    out: &mut dyn Write,
) -> Result<()> {
    let time = plan
        .time
        .map(|t| format!(" ({})", format_time(t)))
        .unwrap_or_default();
    writeln!(
        out,
        "Rewind group {} on {}: {}{time}",
        plan.group,
        plan.topic,
        plan.scope_label()
    )?;
    writeln!(
        out,
        "Group state: {}{}",
        match &status.state {
            GroupState::Unknown(why) => format!("unknown — {why}"),
            s if s.is_active() => format!("{} (its coordinator's answer) — consumers are running: this plan cannot be executed", s.name()),
            s => format!("{} (its coordinator's answer)", s.name()),
        },
        match status.kind.reset_refusal(&plan.group) {
            None => String::new(),
            Some(_) => format!(" — a {} group: rewind does not reset it", status.kind.name()),
        }
    )?;
    let mut table = Table::new(&[
        ">PARTITION",
        ">CURRENT",
        ">TARGET",
        "EFFECT",
        "TIME FROM",
        "FIRST EVENT",
    ]);
    for p in &plan.partitions {
        let source = match p.time.map(|t| t.source) {
            None => String::new(),
            Some(TimeSource::Index) => "index".into(),
            Some(TimeSource::Broker) => "broker (checked)".into(),
            Some(TimeSource::Search { .. }) => "records (broker wrong)".into(),
        };
        let first = match &p.first_event {
            Some(e) => format!(
                "{}/{} {} {} {}",
                e.partition,
                e.offset,
                e.timestamp.map(format_time).unwrap_or_default(),
                e.event_type,
                e.aggregate
            ),
            None => "- (log end: only new events)".into(),
        };
        table.row(vec![
            p.partition.to_string(),
            p.current.map_or("-".into(), |c| c.to_string()),
            p.target.to_string(),
            p.effect().to_string(),
            source,
            first,
        ]);
    }
    table.print(out)?;
    if let Some(impact) = &plan.impact {
        writeln!(
            out,
            "\nAggregate {}: {} event(s) delivered again",
            impact.aggregate,
            impact.redelivered.len()
        )?;
        for e in &impact.redelivered {
            writeln!(
                out,
                "  {} {} {}",
                e.coord,
                e.event_type,
                e.event_id.as_deref().unwrap_or("")
            )?;
        }
    }
    match outcome {
        None => {}
        Some(Err(why)) => writeln!(out, "\nOutcome: not known — {why}")?,
        Some(Ok(o)) => {
            writeln!(out, "\n{}", o.line())?;
            for w in o.results.values().take(SHOWN) {
                let changes: Vec<String> = w
                    .changes
                    .iter()
                    .map(|c| {
                        let v = |v: &Option<serde_json::Value>| {
                            v.as_ref().map_or("absent".into(), |v| v.to_string())
                        };
                        format!("{} {} ↔ {}", c.path, v(&c.before), v(&c.after))
                    })
                    .collect();
                writeln!(out, "  {}  {}", w.aggregate, changes.join(", "))?;
            }
            if o.wrong > SHOWN {
                writeln!(
                    out,
                    "  … and {} more (-o json lists {})",
                    o.wrong - SHOWN,
                    o.results.len()
                )?;
            }
            if o.wrong > 0 {
                writeln!(
                    out,
                    "Advice: rebuild — reset the read model and rewind the group to earliest, or make the reducers idempotent (rewind check {} --idempotence; reset … --with FILE to try a fix)",
                    plan.topic
                )?;
            }
        }
    }
    let warnings = plan.warnings();
    if !warnings.is_empty() {
        writeln!(out, "\nWarnings:")?;
        for w in warnings {
            writeln!(out, "  ! {w}")?;
        }
    }
    writeln!(out, "\nEquivalent: {command}")?;
    Ok(())
}
