//! The printing commands: each resolves the cluster, reads, prints to stdout, exits.

pub mod cache;
mod compensate;
mod events;
mod groups;
pub mod lab;
mod produce;
mod reset;
pub(crate) mod state;
pub mod story;
mod table;
mod topics;

use std::io::Write;

use anyhow::Result;

use crate::cli::{Cli, CliCommand};
use crate::config::Config;

pub use table::Table;

/// Runs a printing command (not `demo` and not the TUI).
pub fn run(cli: &Cli, config: &Config, out: &mut dyn Write) -> Result<()> {
    let asked = config.connection(&cli.global.asked())?;
    // Only `events` shows uncommitted records; everything else folds or counts, and
    // reads what a read_committed consumer sees.
    let conn = match &cli.command {
        Some(CliCommand::Events { .. }) => asked,
        _ => asked.committed(),
    };
    let output = cli.global.output;
    if output == crate::cli::Output::Csv && !matches!(cli.command, Some(CliCommand::Reset(_))) {
        anyhow::bail!("-o csv is only for `rewind reset` (kafka-consumer-groups' export format); use -o table or -o json");
    }
    match &cli.command {
        Some(CliCommand::Groups {
            group: Some(group),
            watch: true,
            tick_ms,
        }) => groups::watch(
            &conn,
            group,
            std::time::Duration::from_millis(*tick_ms),
            None,
            out,
        ),
        Some(CliCommand::Groups { group, .. }) => groups::run(&conn, group.as_deref(), output, out),
        Some(CliCommand::Reset(args)) => reset::run(&conn, config, args, output, out),
        Some(CliCommand::Compensate {
            topic,
            event,
            execute,
        }) => compensate::run(&conn, config, topic, *event, *execute, output, out),
        Some(CliCommand::Produce {
            topic,
            from_file,
            rate,
            keep_partitions,
            execute,
            skip_bad,
        }) => {
            let ask = produce::Ask {
                topic,
                file: from_file,
                rate: *rate,
                keep_partitions: *keep_partitions,
                execute: *execute,
                skip_bad: *skip_bad,
            };
            produce::run(&conn, config, &ask, output, out)
        }
        Some(CliCommand::Story { name, id }) => story::run(&conn, config, name, id, out),
        Some(CliCommand::Topics) => {
            topics::run(&conn, config.index_dir.as_deref(), cli.global.output, out)
        }
        Some(CliCommand::Events(args)) => events::run(&conn, config, args, out),
        Some(CliCommand::Aggregates {
            topic,
            limit,
            from,
            since,
            until,
            last,
        }) => {
            let window = crate::model::Selection {
                from: *from,
                since: *since,
                until: *until,
                last: *last,
                ..Default::default()
            };
            state::aggregates(
                &conn,
                config,
                topic,
                *limit,
                &window,
                cli.global.output,
                out,
            )
        }
        Some(CliCommand::State {
            topic,
            aggregate,
            at,
            diff,
            from_snapshot,
        }) => {
            let args = state::StateArgs {
                topic,
                aggregate,
                at: *at,
                diff: *diff,
                from_snapshot: *from_snapshot,
            };
            state::state(&conn, config, args, out)
        }
        Some(CliCommand::Snapshots { topic, aggregate }) => {
            state::snapshots(&conn, config, topic, aggregate, cli.global.output, out)
        }
        Some(CliCommand::Check {
            scope,
            fail,
            idempotence: true,
        }) => lab::idempotence(&conn, config, &scope.scope(), *fail, output, out),
        Some(CliCommand::Check { scope, fail, .. }) => {
            lab::check(&conn, config, &scope.scope(), *fail, output, out)
        }
        Some(CliCommand::Drift {
            topic,
            group,
            aggregate,
            fail,
        }) => {
            let scope = crate::engine::fold::Scope {
                topic,
                aggregate: aggregate.as_deref(),
                progress: true,
                ..Default::default()
            };
            lab::drift(&conn, config, &scope, group.as_deref(), *fail, output, out)
        }
        Some(CliCommand::States {
            topic,
            at,
            group,
            aggregate,
            partition,
        }) => {
            let scope = crate::engine::fold::Scope {
                topic,
                aggregate: aggregate.as_deref(),
                partitions: partition.clone(),
                progress: true,
                ..Default::default()
            };
            let moment = match (at, group) {
                (_, Some(g)) => lab::Moment::Group(g),
                (Some(t), None) => lab::Moment::At(*t),
                (None, None) => lab::Moment::End,
            };
            lab::states(&conn, config, &scope, moment, output, out)
        }
        Some(CliCommand::Replay { scope, with, at }) => {
            let mut lab_scope = scope.scope();
            lab_scope.until = at.or(lab_scope.until);
            lab::replay(&conn, config, &lab_scope, with, output, out)
        }
        Some(
            CliCommand::Demo { .. }
            | CliCommand::Completions { .. }
            | CliCommand::Man
            | CliCommand::Cache { .. },
        )
        | None => {
            unreachable!("demo, completions, man and the TUI are not printing commands")
        }
    }
}

/// JSON text for output: compact (one line) or pretty. Besides what JSON itself escapes
/// (C0 controls), DEL and the C1 controls (U+0080–U+009F, which some terminals obey
/// as escape sequences) are written as `\u00XX`: they can only occur inside strings.
pub fn json_text(value: &impl serde::Serialize, pretty: bool) -> String {
    let text = match pretty {
        true => serde_json::to_string_pretty(value),
        false => serde_json::to_string(value),
    }
    .expect("JSON values serialize");
    if !text.chars().any(|c| ('\u{7f}'..='\u{9f}').contains(&c)) {
        return text;
    }
    text.chars()
        .map(|c| match c {
            '\u{7f}'..='\u{9f}' => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Reads a whole topic in partition then offset order, decoding with its configured rules.
pub fn read_topic(
    cluster: &crate::kafka::Cluster,
    config: &Config,
    topic: &str,
    sink: &mut dyn FnMut(crate::model::Event),
) -> Result<()> {
    let info = cluster.topic(topic)?;
    // The sink never breaks off, so the flow is always Continue.
    let _ = cluster.read_all(&info, &config.rules_for(topic), &mut |e| {
        sink(e);
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(())
}
