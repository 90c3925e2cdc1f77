//! The printing commands: each resolves the cluster, reads, prints to stdout, exits.

mod events;
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
        Some(Command::Demo { .. }) | None => {
            unreachable!("demo and the TUI are not printing commands")
        }
    }
}
