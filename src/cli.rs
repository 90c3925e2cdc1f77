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
    pub command: Option<CliCommand>,
    /// Open a dump in the TUI instead of a cluster, offline and read-only: rewind's
    /// event lines (`rewind events TOPIC > dump.jsonl`) or kcat -J lines.
    #[arg(long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
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
    /// How long a broker request may take before the broker counts as unreachable, in ms
    /// (default 10000).
    #[arg(long, value_name = "MS", global = true)]
    pub timeout: Option<u64>,
    /// A Confluent-compatible Schema Registry for framed Avro, Protobuf and JSON Schema
    /// payloads (credentials: the profile's [schema_registry]).
    #[arg(
        long,
        env = "REWIND_SCHEMA_REGISTRY",
        value_name = "URL",
        global = true
    )]
    pub schema_registry: Option<String>,
    /// Which records are read: `committed` (read_committed, the default: records of
    /// aborted and open transactions are never events) or `uncommitted` (`rewind events`
    /// shows every data record and marks those of aborted and open transactions; what
    /// folds still reads committed records only).
    #[arg(long, global = true, value_parser = isolation_values())]
    pub isolation: Option<ReadIsolation>,
    /// Keep no index on disk: read every topic whole, write nothing under
    /// $XDG_CACHE_HOME/rewind/index.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Output format for commands that print data.
    #[arg(short, long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
}

pub use crate::config::ReadIsolation;

/// `--isolation`'s values, as the config names them.
fn isolation_values() -> impl clap::builder::TypedValueParser<Value = ReadIsolation> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("committed")
            .help("read_committed: records of aborted and open transactions are skipped"),
        PossibleValue::new("uncommitted")
            .help("read_uncommitted: every data record (control records never)"),
    ])
    .map(|s| match s.as_str() {
        "uncommitted" => ReadIsolation::Uncommitted,
        _ => ReadIsolation::Committed,
    })
}

impl GlobalArgs {
    /// What these flags ask of the connection, for the config to resolve.
    pub fn asked(&self) -> crate::config::Asked {
        crate::config::Asked {
            brokers: self.brokers.clone(),
            properties: self.properties.clone(),
            profile: self.profile.clone(),
            read_only: self.read_only,
            timeout: self.timeout,
            schema_registry: self.schema_registry.clone(),
            isolation: self.isolation,
        }
    }
}

/// How commands print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    /// kafka-consumer-groups' `topic,partition,offset` export (reset only).
    Csv,
}

/// The commands; without one, the TUI opens.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Print a shell completion script: `rewind completions bash > /etc/bash_completion.d/rewind`.
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff): `rewind man | man -l -`.
    Man,
    /// Start an embedded broker seeded with a sample order-fulfilment domain and open the TUI on it.
    Demo {
        /// Serve the demo broker without the TUI: prints bootstrap=HOST:PORT, runs until interrupted.
        #[arg(long)]
        serve: bool,
    },
    /// List topics with partitions, watermarks and event counts.
    Topics,
    /// The on-disk indexes of topics (per cluster and topic, with sizes), under
    /// $XDG_CACHE_HOME/rewind/index; `rewind cache clear [TOPIC]` removes them.
    Cache {
        #[command(subcommand)]
        action: Option<CacheAction>,
    },
    /// Print a topic's events as JSON lines.
    Events(EventsArgs),
    /// List a topic's aggregate ids with event counts, first and last events.
    Aggregates {
        topic: String,
        /// Print at most N aggregates.
        #[arg(long)]
        limit: Option<usize>,
        /// Start here: P/O (partition P from offset O) or an RFC 3339 time.
        #[arg(long)]
        from: Option<Position>,
        /// Count only events at or after this RFC 3339 time.
        #[arg(long, value_parser = parse_time_arg)]
        since: Option<i64>,
        /// Count only events at or before this RFC 3339 time.
        #[arg(long, value_parser = parse_time_arg)]
        until: Option<i64>,
        /// Count only the newest N events of each partition.
        #[arg(long, value_name = "N")]
        last: Option<i64>,
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
    /// Consumer groups: state, members, committed offset, high watermark and lag per partition.
    Groups {
        /// Only this group (shown even when the broker cannot list groups).
        #[arg(long)]
        group: Option<String>,
        /// Follow the group: a line per tick with its lag, rate and time to catch up,
        /// until it has caught up (or Ctrl-C).
        #[arg(long, requires = "group")]
        watch: bool,
        /// Milliseconds between ticks of --watch.
        #[arg(long, default_value_t = 2000, hide = true)]
        tick_ms: u64,
    },
    /// Plan a rewind of a group's committed offsets on a topic; apply it with --execute.
    Reset(ResetArgs),
    /// Fold every aggregate of a topic and report those where an invariant breaks or a
    /// reducer fails: a JSON line each (the first such event and the state after it).
    Check {
        #[command(flatten)]
        scope: LabScope,
        /// Exit with status 3 when anything was found.
        #[arg(long)]
        fail: bool,
        /// Fold every event a second time onto the state it produced and print the
        /// event types whose reducer is not idempotent, with a counter-example.
        #[arg(long)]
        idempotence: bool,
    },
    /// The whole read model at a moment: every aggregate's state after its last event
    /// at or before --at, or below a group's committed offsets (what its consumer has
    /// processed), a JSON line each.
    States {
        topic: String,
        /// The moment: an RFC 3339 time (default: the end).
        #[arg(long, value_name = "TIME", value_parser = parse_time_arg, conflicts_with = "group")]
        at: Option<i64>,
        /// The moment the group's consumer is at: its committed offsets (a partition
        /// without a commit counts as not processed).
        #[arg(long)]
        group: Option<String>,
        /// Only this aggregate.
        #[arg(long)]
        aggregate: Option<String>,
        /// Only these partitions.
        #[arg(long, value_name = "P[,P…]", value_delimiter = ',')]
        partition: Option<Vec<i32>>,
    },
    /// Compare every aggregate's read model in the database (the topic's `read_model`)
    /// with the state its events fold to: a JSON line per aggregate that differs or is
    /// missing.
    Drift {
        topic: String,
        /// Fold at the group's committed offsets (what its consumer has processed).
        #[arg(long)]
        group: Option<String>,
        /// Only this aggregate.
        #[arg(long)]
        aggregate: Option<String>,
        /// Exit with status 3 when anything differs.
        #[arg(long)]
        fail: bool,
    },
    /// Fold every aggregate with the current config and with a candidate (FILE's entry
    /// for the topic: reducers, upcasters, invariants) and print those whose state differs.
    Replay {
        #[command(flatten)]
        scope: LabScope,
        /// The candidate: a rewind.toml with a [[topics]] entry for the topic.
        #[arg(long, value_name = "FILE")]
        with: std::path::PathBuf,
        /// Stop both folds at this RFC 3339 time (default: the end).
        #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
        at: Option<i64>,
    },
    /// Draft the compensating event for an event from the topic's compensation_templates;
    /// produce it with --execute.
    Compensate {
        topic: String,
        /// The event to compensate, as P/O.
        #[arg(long, value_parser = parse_coord)]
        event: crate::model::Coord,
        /// Produce the drafted event.
        #[arg(long)]
        execute: bool,
    },
    /// One business id across the topics of a [[stories]] entry: the merged timeline in
    /// time order as event lines, each with `states` (every topic's state after it,
    /// folded by that topic's reducers).
    Story {
        /// The story's name in the config.
        name: String,
        /// The business id (an order id, …).
        id: String,
    },
    /// Replay a dump (rewind's event lines, or kcat -J lines) into a topic, on this or
    /// another cluster: a dry run unless --execute. Each record gets the header
    /// rewind-replayed-from: TOPIC/P/O.
    Produce {
        topic: String,
        /// The dump: `rewind events TOPIC > dump.jsonl`, or `kcat -C -J …` output.
        #[arg(long, value_name = "FILE")]
        from_file: std::path::PathBuf,
        /// At most N events per second.
        #[arg(long, value_name = "N")]
        rate: Option<u32>,
        /// Each record to the partition it was read from (default: placed by key, with
        /// the topic's partitioner).
        #[arg(long)]
        keep_partitions: bool,
        /// Produce (default: a dry run that counts per partition).
        #[arg(long)]
        execute: bool,
        /// Produce the good lines when some cannot be read (default: nothing is
        /// produced).
        #[arg(long)]
        skip_bad: bool,
    },
}

/// `rewind cache clear`.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Remove every topic's index, or one topic's (on every cluster).
    Clear { topic: Option<String> },
}

/// What `check` and `replay` fold.
#[derive(Debug, Clone, clap::Args)]
pub struct LabScope {
    pub topic: String,
    /// Only this aggregate.
    #[arg(long)]
    pub aggregate: Option<String>,
    /// Only these partitions (where aggregates are keyed by the record key each
    /// partition is self-contained: split a big topic across machines by partition).
    #[arg(long, value_name = "P[,P…]", value_delimiter = ',')]
    pub partition: Option<Vec<i32>>,
    /// Count only flags of events at or after this RFC 3339 time (folds still start at
    /// the first event).
    #[arg(long, value_parser = parse_time_arg)]
    pub since: Option<i64>,
    /// Fold only events at or before this RFC 3339 time.
    #[arg(long, value_parser = parse_time_arg)]
    pub until: Option<i64>,
}

impl LabScope {
    pub fn scope(&self) -> crate::engine::fold::Scope<'_> {
        crate::engine::fold::Scope {
            topic: &self.topic,
            aggregate: self.aggregate.as_deref(),
            since: self.since,
            until: self.until,
            partitions: self.partition.clone(),
            progress: true,
            ..Default::default()
        }
    }
}

/// Arguments of `rewind reset` (kafka-consumer-groups.sh --reset-offsets semantics).
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).multiple(false)))]
pub struct ResetArgs {
    /// The consumer group.
    #[arg(long)]
    pub group: String,
    /// The topic whose offsets move.
    #[arg(long)]
    pub topic: String,
    /// Every partition to its log start.
    #[arg(long, group = "scope")]
    pub to_earliest: bool,
    /// Every partition to its log end.
    #[arg(long, group = "scope")]
    pub to_latest: bool,
    /// Every partition to this offset (clamped to the log).
    #[arg(long, group = "scope", value_name = "N", allow_hyphen_values = true)]
    pub to_offset: Option<i64>,
    /// Every partition by N from its committed offset (negative: back).
    #[arg(long, group = "scope", value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Every partition to its first event at or after this time (RFC 3339; no zone = UTC).
    #[arg(long, group = "scope", value_name = "TIME", value_parser = parse_datetime_arg)]
    pub to_datetime: Option<i64>,
    /// Every partition to its first event at or after now minus this ISO 8601 duration (e.g. PT15M).
    #[arg(long, group = "scope", value_name = "DURATION", value_parser = parse_duration_arg)]
    pub by_duration: Option<(i64, String)>,
    /// The event's partition to its offset; the others to their first event at or after its time.
    #[arg(long, group = "scope", value_name = "P/O", value_parser = parse_coord)]
    pub to_event: Option<crate::model::Coord>,
    /// Offsets from a kafka-consumer-groups CSV (topic,partition,offset), e.g. an undo file.
    #[arg(long, group = "scope", value_name = "CSV")]
    pub from_file: Option<std::path::PathBuf>,
    /// Commit the plan (without it nothing is changed).
    #[arg(long)]
    pub execute: bool,
    /// After committing, follow the group's replay: a line per tick with the events
    /// re-processed so far of the plan's, rate and time to catch up, until caught up.
    #[arg(long, requires = "execute")]
    pub watch: bool,
    /// Milliseconds between ticks of --watch.
    #[arg(long, default_value_t = 2000, hide = true)]
    pub tick_ms: u64,
    /// Where to save the current offsets before committing (default: the state directory).
    #[arg(long, value_name = "FILE")]
    pub undo_file: Option<std::path::PathBuf>,
    /// Execute even when the broker cannot tell whether the group is active.
    #[arg(long)]
    pub allow_unknown_state: bool,
    /// List which events of this aggregate the group will receive again (default with
    /// --to-event: the event's aggregate).
    #[arg(long)]
    pub aggregate: Option<String>,
    /// The consumer after the rewind, for the outcome: a rewind.toml whose [[topics]]
    /// entry for the topic holds the fixed reducers (default: the current ones).
    #[arg(long, value_name = "FILE")]
    pub with: Option<std::path::PathBuf>,
    /// Leave out the outcome (what the read model holds after the rewind), which folds
    /// the whole topic.
    #[arg(long, conflicts_with = "with")]
    pub no_outcome: bool,
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
    /// Only the newest N events of each partition (kcat's -o -N).
    #[arg(long, value_name = "N")]
    pub last: Option<i64>,
    /// Keep printing new events as they arrive (until interrupted).
    #[arg(long, short)]
    pub follow: bool,
    /// Only events whose value matches this jq predicate (`.` is the value, `$meta`
    /// its coordinates, key and headers), e.g. '.data.amount > 1000'. Read on every
    /// core; an event the predicate fails on counts as no match (the count is said).
    #[arg(long = "where", value_name = "JQ")]
    pub where_: Option<String>,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE (e.g. -X security.protocol=SSL)"
        )),
    }
}

fn parse_coord(s: &str) -> Result<crate::model::Coord, String> {
    match s.parse::<Position>() {
        Ok(Position::Coordinate { partition, offset }) => {
            Ok(crate::model::Coord { partition, offset })
        }
        _ => Err(format!("`{s}` is not P/O (partition/offset, e.g. 1/233)")),
    }
}

fn parse_datetime_arg(s: &str) -> Result<i64, String> {
    crate::model::position::parse_time(s)
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp_millis())
        })
        .ok_or_else(|| format!("`{s}` is not a time (e.g. 2026-11-26T10:00:00Z)"))
}

fn parse_duration_arg(s: &str) -> Result<(i64, String), String> {
    crate::model::plan::parse_duration(s).map(|ms| (ms, s.trim().to_owned()))
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    crate::model::position::parse_time(s)
        .ok_or_else(|| format!("`{s}` is not an RFC 3339 time (e.g. 2026-11-26T10:00:00Z)"))
}
