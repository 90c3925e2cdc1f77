//! The printing commands: each resolves the cluster, reads, prints to stdout, exits.

mod events;
mod state;
mod table;
mod topics;

use std::io::Write;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::Config;

pub use table::Table;

/// Runs a printing command (not `demo` and not the TUI).
pub fn run(cli: &Cli, config: &Config, out: &mut dyn Write) -> Result<()> {
    let conn = config.connection(&cli.global)?;
    match &cli.command {
        Some(Command::Topics) => topics::run(&conn, cli.global.output, out),
        Some(Command::Events(args)) => events::run(&conn, config, args, out),
        Some(Command::Aggregates { topic, limit }) => {
            state::aggregates(&conn, config, topic, *limit, cli.global.output, out)
        }
        Some(Command::State {
            topic,
            aggregate,
            at,
            diff,
        }) => state::state(&conn, config, topic, aggregate, *at, *diff, out),
        Some(Command::Snapshots { topic, aggregate }) => {
            state::snapshots(&conn, config, topic, aggregate, cli.global.output, out)
        }
        Some(Command::Demo { .. }) | None => {
            unreachable!("demo and the TUI are not printing commands")
        }
    }
}

/// Reads a whole topic, partition by partition, decoding with its configured rules.
pub fn read_topic(
    cluster: &crate::kafka::Cluster,
    config: &Config,
    topic: &str,
    sink: &mut dyn FnMut(crate::model::Event),
) -> Result<()> {
    let info = cluster.topic(topic)?;
    let rules = config.rules_for(topic);
    let scanner = cluster.scanner()?;
    for range in crate::model::Selection::default().ranges(&info.partitions)? {
        scanner.scan(topic, &[range], &rules, &mut |e| {
            sink(e);
            std::ops::ControlFlow::Continue(())
        })?;
    }
    Ok(())
}
