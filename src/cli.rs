//! The command line (SPEC.md, "Command line").

use clap::{Parser, Subcommand, ValueEnum};

use crate::model::Position;

/// A terminal time-travel debugger for event-driven systems on Kafka.
#[derive(Debug, Parser)]
#[command(name = "rewind", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Bootstrap servers, e.g. 127.0.0.1:9092.
    #[arg(short, long, env = "REWIND_BROKERS", global = true)]
    pub brokers: Option<String>,
    /// Any librdkafka property (repeatable), e.g. -X security.protocol=SASL_SSL.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property, global = true)]
    pub properties: Vec<(String, String)>,
    /// A cluster profile from the config file.
    #[arg(short, long, global = true)]
    pub profile: Option<String>,
    /// The config file (default: ./rewind.toml, else $XDG_CONFIG_HOME/rewind/config.toml).
    #[arg(short, long, global = true)]
    pub config: Option<std::path::PathBuf>,
    /// Refuse every write (offset commits, produced events).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Output format for commands that print data.
    #[arg(short, long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
}

/// How commands print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// The commands; without one, the TUI opens.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start an embedded broker seeded with a sample order-fulfilment domain and open the TUI on it.
    Demo {
        /// Serve the demo broker without the TUI: prints bootstrap=HOST:PORT, runs until interrupted.
        #[arg(long)]
        serve: bool,
    },
    /// List topics with partitions, watermarks and event counts.
    Topics,
    /// Print a topic's events as JSON lines.
    Events(EventsArgs),
    /// List a topic's aggregate ids with event counts, first and last events.
    Aggregates {
        topic: String,
        /// Print at most N aggregates.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Print an aggregate's state after an event (default: the last), folded by the topic's reducers.
    State {
        topic: String,
        #[arg(long)]
        aggregate: String,
        /// The event: an index N, P/O or an RFC 3339 time (the last event at or before it).
        #[arg(long)]
        at: Option<Position>,
        /// Print what that event changed instead of the state.
        #[arg(long)]
        diff: bool,
        /// Start from the latest stored snapshot at or before the event instead of the first event.
        #[arg(long)]
        from_snapshot: bool,
    },
    /// Compare an aggregate's stored snapshots with the state replayed from its events.
    Snapshots {
        topic: String,
        #[arg(long)]
        aggregate: String,
    },
}

/// Arguments of `rewind events`.
#[derive(Debug, Clone, clap::Args)]
pub struct EventsArgs {
    /// The topic to read.
    pub topic: String,
    /// Only the events of this aggregate id.
    #[arg(long)]
    pub aggregate: Option<String>,
    /// Only this partition.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Start here: an index N (skip N events), P/O (partition P from offset O) or an RFC 3339 time.
    #[arg(long)]
    pub from: Option<Position>,
    /// Print at most N events.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only events at or after this RFC 3339 time.
    #[arg(long, value_parser = parse_time_arg)]
    pub since: Option<i64>,
    /// Only events at or before this RFC 3339 time.
    #[arg(long, value_parser = parse_time_arg)]
    pub until: Option<i64>,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE (e.g. -X security.protocol=SSL)"
        )),
    }
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    crate::model::position::parse_time(s)
        .ok_or_else(|| format!("`{s}` is not an RFC 3339 time (e.g. 2026-11-26T10:00:00Z)"))
}
