//! Rewind plans: where a consumer group's committed offsets go for a scope, with the
//! semantics and clamping of `kafka-consumer-groups.sh --reset-offsets`; what the group
//! will receive again; how each time was resolved to an offset. Pure: offsets, times and
//! events come in as data, so the Kafka side only reads and commits.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::position::format_time;
use super::{Coord, Event};

mod text;
use text::csv_rows;
pub use text::{parse_duration, parse_reset_file, undo_command};

/// Which offsets a reset moves to (SPEC.md, `rewind reset` SCOPE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Earliest,
    Latest,
    Offset(i64),
    ShiftBy(i64),
    /// Milliseconds since the epoch.
    DateTime(i64),
    /// Milliseconds back from now.
    Duration {
        ms: i64,
        text: String,
    },
    /// The event's partition goes to its offset; the others to the first offset at or
    /// after its timestamp.
    Event(Coord),
    /// kafka-consumer-groups' `topic,partition,offset` rows, and where they came from.
    File {
        path: String,
        rows: Vec<FileRow>,
    },
}

/// One `topic,partition,offset` row of a reset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("partition {partition} has no committed offset for this group, so there is nothing to shift (use --to-offset or --to-datetime)")]
    NothingToShift { partition: i32 },
    #[error("partition {partition} does not exist in {topic} (it has {count})")]
    NoSuchPartition {
        topic: String,
        partition: i32,
        count: usize,
    },
    #[error("the reset file names topic `{found}` on line {line}, but the plan is for `{topic}`")]
    OtherTopic {
        topic: String,
        found: String,
        line: usize,
    },
    #[error("the reset file names no partition of `{0}`")]
    EmptyFile(String),
    #[error("no time was resolved for partition {0}")]
    MissingTime(i32),
}

/// One partition as the cluster sees it: watermarks and the group's committed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPartition {
    pub partition: i32,
    pub low: i64,
    pub high: i64,
    pub committed: Option<i64>,
}

/// How the offset for a time was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// From rewind's own index of the topic.
    Index,
    /// The broker's ListOffsets answer, checked against the records around it.
    Broker,
    /// The broker's answer (`None`: it gave none) disagreed with the records, so the
    /// records were searched instead.
    Search { broker: Option<i64> },
}

/// The first offset at or after a time in one partition (the log end when none is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOffset {
    pub offset: i64,
    pub source: TimeSource,
}

impl TimeOffset {
    fn to_json(self) -> Value {
        match self.source {
            TimeSource::Index => json!({"offset": self.offset, "source": "index"}),
            TimeSource::Broker => json!({"offset": self.offset, "source": "broker"}),
            TimeSource::Search { broker } => {
                json!({"offset": self.offset, "source": "search", "broker_answer": broker})
            }
        }
    }
}

/// One partition of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionPlan {
    pub partition: i32,
    pub low: i64,
    pub high: i64,
    /// The group's committed offset now.
    pub current: Option<i64>,
    /// Where the scope asked to go, before clamping to the log.
    pub requested: i64,
    /// Where the committed offset goes.
    pub target: i64,
    /// How a time was resolved for this partition, when the scope is a time.
    pub time: Option<TimeOffset>,
    /// The record at the target (the first one the group will receive).
    pub first_event: Option<Event>,
    /// Records between the committed offset and the target, signed like `delta`
    /// (negative: received again), once counted. Offsets are not records: transaction
    /// markers, aborted records and compacted ones take offsets and are never delivered.
    pub records: Option<i64>,
    /// When the record at the target may be deleted by retention within the
    /// warning window: in how many ms (0: any moment now).
    pub expires_in_ms: Option<i64>,
}

/// What a partition's change does to the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The group receives this many events again.
    Replays(i64),
    /// The group skips this many events.
    Skips(i64),
    Unchanged,
    /// The group has committed nothing here, so what it would have read is unknown.
    FirstCommit,
}

impl PartitionPlan {
    /// `target - current`: negative when events are delivered again.
    pub fn delta(&self) -> Option<i64> {
        self.current.map(|c| self.target - c)
    }

    /// What the group receives again or skips: records where they were counted
    /// (offsets are not records: markers, aborted and compacted records take offsets),
    /// else offsets.
    pub fn effect(&self) -> Effect {
        match (self.delta(), self.records) {
            (None, _) => Effect::FirstCommit,
            (Some(0), _) => Effect::Unchanged,
            (Some(d), records) if d < 0 => Effect::Replays(records.map_or(-d, |r| -r)),
            (Some(d), records) => Effect::Skips(records.unwrap_or(d)),
        }
    }

    pub fn clamped(&self) -> bool {
        self.requested != self.target
    }

    /// The offsets between the committed offset and the target, `[from, to)`, where
    /// the records to count lie (none without a commit, or when they are equal).
    pub fn moved_range(&self) -> Option<(i64, i64)> {
        let current = self.current?;
        let (from, to) = (current.min(self.target), current.max(self.target));
        let (from, to) = (from.max(self.low), to.min(self.high));
        (to > from).then_some((from, to))
    }

    /// `expires_in_ms` from the topic's retention: a record goes no sooner than its
    /// timestamp plus `retention.ms` (the broker deletes whole segments, once their
    /// newest record is that old), so this is when it may go; set only within `warn_ms`.
    pub fn set_expiry(
        &mut self,
        settings: &super::topic::TopicSettings,
        now_ms: i64,
        warn_ms: i64,
    ) {
        let deletes = settings
            .cleanup_policy
            .as_deref()
            .is_some_and(|p| p.contains("delete"));
        let (Some(retention), Some(ts)) = (
            settings.retention_ms.filter(|r| *r >= 0 && deletes),
            self.first_event.as_ref().and_then(|e| e.timestamp),
        ) else {
            self.expires_in_ms = None;
            return;
        };
        let left = ts.saturating_add(retention).saturating_sub(now_ms);
        self.expires_in_ms = (left <= warn_ms).then_some(left.max(0));
    }

    /// `records` from a count of the records in `moved_range`.
    pub fn set_records(&mut self, counted: i64) {
        self.records = self.delta().map(|d| match d < 0 {
            true => -counted,
            false => counted,
        });
    }
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Replays(n) => write!(f, "replays {n}"),
            Effect::Skips(n) => write!(f, "skips {n}"),
            Effect::Unchanged => write!(f, "unchanged"),
            Effect::FirstCommit => write!(f, "first commit"),
        }
    }
}

/// A count with thousands separated: `1,204`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    match n < 0 {
        true => format!("-{out}"),
        false => out,
    }
}

/// The time a scope resolves against, if any: `event_time` is the marked event's.
pub fn scope_time(scope: &Scope, now_ms: i64, event_time: Option<i64>) -> Option<i64> {
    match scope {
        Scope::DateTime(t) => Some(*t),
        Scope::Duration { ms, .. } => Some(now_ms - ms),
        Scope::Event(_) => event_time,
        _ => None,
    }
}

/// Which partitions need a time resolved for this scope.
pub fn partitions_needing_time(scope: &Scope, partitions: &[GroupPartition]) -> Vec<i32> {
    match scope {
        Scope::DateTime(_) | Scope::Duration { .. } => {
            partitions.iter().map(|p| p.partition).collect()
        }
        Scope::Event(at) => partitions
            .iter()
            .map(|p| p.partition)
            .filter(|&p| p != at.partition)
            .collect(),
        _ => vec![],
    }
}

/// Per-partition targets for a scope, clamped to `[low, high]` like
/// kafka-consumer-groups. `times` holds the resolved offsets for time scopes.
pub fn targets(
    topic: &str,
    scope: &Scope,
    partitions: &[GroupPartition],
    times: &BTreeMap<i32, TimeOffset>,
) -> Result<Vec<PartitionPlan>, PlanError> {
    let check = |partition: i32| {
        if partitions.iter().any(|p| p.partition == partition) {
            Ok(())
        } else {
            Err(PlanError::NoSuchPartition {
                topic: topic.to_owned(),
                partition,
                count: partitions.len(),
            })
        }
    };
    let mut from_file: HashMap<i32, i64> = HashMap::new();
    match scope {
        Scope::Event(at) => check(at.partition)?,
        Scope::File { rows, .. } => {
            for (line, row) in rows.iter().enumerate() {
                if row.topic != topic {
                    return Err(PlanError::OtherTopic {
                        topic: topic.to_owned(),
                        found: row.topic.clone(),
                        line: line + 1,
                    });
                }
                check(row.partition)?;
                from_file.insert(row.partition, row.offset);
            }
            if from_file.is_empty() {
                return Err(PlanError::EmptyFile(topic.to_owned()));
            }
        }
        _ => {}
    }
    let mut plans = Vec::new();
    for p in partitions {
        let time = times.get(&p.partition).copied();
        let requested = match scope {
            Scope::Earliest => p.low,
            Scope::Latest => p.high,
            Scope::Offset(o) => *o,
            Scope::ShiftBy(n) => match p.committed {
                Some(c) => c.saturating_add(*n),
                None => {
                    return Err(PlanError::NothingToShift {
                        partition: p.partition,
                    })
                }
            },
            Scope::Event(at) if at.partition == p.partition => at.offset,
            Scope::DateTime(_) | Scope::Duration { .. } | Scope::Event(_) => {
                time.ok_or(PlanError::MissingTime(p.partition))?.offset
            }
            Scope::File { .. } => match from_file.get(&p.partition) {
                Some(o) => *o,
                None => continue,
            },
        };
        plans.push(PartitionPlan {
            partition: p.partition,
            low: p.low,
            high: p.high,
            current: p.committed,
            requested,
            target: requested.clamp(p.low, p.high.max(p.low)),
            time,
            first_event: None,
            records: None,
            expires_in_ms: None,
        });
    }
    Ok(plans)
}

/// Per partition of `records` (coordinates and times, in offset order within each
/// partition), the first offset whose timestamp is at or after `t`; `None` for a
/// partition where there is none.
pub fn offsets_for_time(
    records: impl IntoIterator<Item = (Coord, Option<i64>)>,
    t: i64,
) -> BTreeMap<i32, Option<i64>> {
    let mut found: BTreeMap<i32, Option<i64>> = BTreeMap::new();
    for (at, ts) in records {
        let first = found.entry(at.partition).or_insert(None);
        if first.is_none() && ts.is_some_and(|ts| ts >= t) {
            *first = Some(at.offset);
        }
    }
    found
}

/// The first offset in `events` (one partition, offset order) whose timestamp is at or
/// after `t`; `high` when there is none.
pub fn offset_for_time<'a>(events: impl IntoIterator<Item = &'a Event>, t: i64, high: i64) -> i64 {
    offsets_for_time(events.into_iter().map(|e| (e.coord(), e.timestamp)), t)
        .into_values()
        .next()
        .flatten()
        .unwrap_or(high)
}

/// Whether a broker's answer for "the first offset at or after `t`" agrees with the
/// records around it: `before` is the timestamp of the record just before the answer,
/// `at` the timestamp of the record at it (`None` where there is no record).
pub fn answer_agrees(
    t: i64,
    answer: i64,
    p: &GroupPartition,
    before: Option<i64>,
    at: Option<i64>,
) -> bool {
    if answer < p.low || answer > p.high {
        return false;
    }
    let at_ok = answer == p.high || at.is_some_and(|ts| ts >= t);
    let before_ok = answer == p.low || before.is_none_or(|ts| ts < t);
    at_ok && before_ok
}

/// Binary search of a partition's records for the first offset whose timestamp is at or
/// after `t` (the log end when none is), assuming timestamps grow with offsets as they
/// do with producer or log-append times. `probe(o)` reads the first record at or after
/// `o`: its offset and timestamp, or `None` past the end.
pub fn search_time<E>(
    low: i64,
    high: i64,
    t: i64,
    mut probe: impl FnMut(i64) -> Result<Option<(i64, i64)>, E>,
) -> Result<i64, E> {
    let (mut lo, mut hi) = (low, high);
    let mut found = high;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match probe(mid)? {
            Some((offset, ts)) if ts >= t => {
                hi = mid;
                found = offset;
            }
            Some((offset, _)) => lo = offset + 1,
            None => hi = mid,
        }
    }
    Ok(if lo >= high { high } else { found })
}

/// An event of the plan's aggregate, as listed in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub coord: Coord,
    pub event_type: String,
    pub event_id: Option<String>,
}

impl EventRef {
    fn of(e: &Event) -> EventRef {
        EventRef {
            coord: e.coord(),
            event_type: e.event_type.clone(),
            event_id: e.event_id.clone(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"partition": self.coord.partition, "offset": self.coord.offset,
               "type": self.event_type, "event_id": self.event_id})
    }
}

/// What a plan means for one aggregate (the marked event's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Impact {
    pub aggregate: String,
    /// Its events the group has already consumed and will receive again.
    pub redelivered: Vec<EventRef>,
    /// Event ids that occur more than once in what the group will receive from the
    /// targets on: the group sees each of them twice.
    pub repeated: Vec<(String, Vec<Coord>)>,
}

/// The impact of a plan on one aggregate, given that aggregate's events.
pub fn impact<'a>(
    plans: &[PartitionPlan],
    aggregate: &str,
    events: impl IntoIterator<Item = &'a Event>,
) -> Impact {
    let by_partition: HashMap<i32, &PartitionPlan> =
        plans.iter().map(|p| (p.partition, p)).collect();
    let mut impact = Impact {
        aggregate: aggregate.to_owned(),
        ..Impact::default()
    };
    let mut ids: BTreeMap<&str, Vec<Coord>> = BTreeMap::new();
    for e in events.into_iter().filter(|e| e.aggregate == aggregate) {
        let Some(p) = by_partition.get(&e.partition) else {
            continue;
        };
        if e.offset < p.target {
            continue;
        }
        if p.current.is_some_and(|c| e.offset < c) {
            impact.redelivered.push(EventRef::of(e));
        }
        if let Some(id) = &e.event_id {
            ids.entry(id).or_default().push(e.coord());
        }
    }
    impact.repeated = ids
        .into_iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(id, at)| (id.to_owned(), at))
        .collect();
    impact
}

/// A rewind plan for one group and topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub group: String,
    pub topic: String,
    pub scope: Scope,
    /// The time the scope resolved against, if any.
    pub time: Option<i64>,
    pub partitions: Vec<PartitionPlan>,
    pub impact: Option<Impact>,
}

impl Plan {
    /// Warnings a careful user wants before executing, one line each.
    /// Where the offsets moved and the records delivered differ: how many of each, and
    /// why ("1204 offsets, 1180 records: …").
    pub fn records_note(&self) -> Option<String> {
        // The offsets the records were counted in (a commit outside the log moves over
        // offsets that are not there at all).
        let (mut offsets, mut records) = (0i64, 0i64);
        for p in &self.partitions {
            if let (Some((from, to)), Some(r)) = (p.moved_range(), p.records) {
                offsets += to - from;
                records += r.abs();
            }
        }
        (offsets != records).then(|| {
            format!(
                "{} offsets, {} records: the rest are transaction markers, aborted or compacted away",
                grouped(offsets),
                grouped(records)
            )
        })
    }

    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for p in &self.partitions {
            if p.clamped() && p.requested > p.high {
                warnings.push(format!(
                    "partition {}: {} is past the log end; clamped to {}",
                    p.partition, p.requested, p.target
                ));
            } else if p.clamped() && p.requested < 0 {
                warnings.push(format!(
                    "partition {}: {} is before the log start; clamped to {}",
                    p.partition, p.requested, p.target
                ));
            } else if p.clamped() {
                warnings.push(format!(
                    "partition {}: offset {} is gone (deleted by retention, compaction of the log's start or DeleteRecords: the log starts at {}); clamped to {}",
                    p.partition, p.requested, p.low, p.target
                ));
            }
            if let Some(ms) = p.expires_in_ms {
                warnings.push(format!(
                    "partition {}: the event at the target, offset {}, may be deleted by retention as soon as {} from now: a rewind that waits may find it gone",
                    p.partition,
                    p.target,
                    super::group::duration_label(ms)
                ));
            }
            if let Some(TimeOffset {
                offset,
                source: TimeSource::Search { broker },
            }) = p.time
            {
                let said = broker.map_or("no offset".to_owned(), |b| format!("offset {b}"));
                warnings.push(format!(
                    "partition {}: the broker's time look-up answered {said}, which the records around it contradict; offset {offset} was found by searching the records",
                    p.partition
                ));
            }
            if p.current.is_none() {
                warnings.push(format!(
                    "partition {}: the group has no committed offset here; the undo file cannot restore that",
                    p.partition
                ));
            }
        }
        if let Some(note) = self.records_note() {
            warnings.push(note);
        }
        if let Some(impact) = &self.impact {
            if !impact.redelivered.is_empty() {
                warnings.push(format!(
                    "{} event(s) of {} already processed by the group will be delivered again: its consumers must be idempotent",
                    impact.redelivered.len(),
                    impact.aggregate
                ));
            }
            for (id, at) in &impact.repeated {
                let at: Vec<String> = at.iter().map(Coord::to_string).collect();
                warnings.push(format!(
                    "event id {id} occurs at {}: the group will see it {} times",
                    at.join(", "),
                    at.len()
                ));
            }
        }
        warnings
    }

    /// The `rewind reset -o json` shape (SPEC.md), with more detail.
    pub fn to_json(&self, executed: bool, undo_file: Option<&str>, command: &str) -> Value {
        let partitions: Vec<Value> = self
            .partitions
            .iter()
            .map(|p| {
                json!({
                    "partition": p.partition,
                    "current": p.current,
                    "target": p.target,
                    "delta": p.delta(),
                    "records": p.records,
                    "expires_in_ms": p.expires_in_ms,
                    "requested": p.requested,
                    "low": p.low,
                    "high": p.high,
                    "effect": p.effect().to_string(),
                    "time": p.time.map(TimeOffset::to_json),
                    "first_event": p.first_event.as_ref().map(brief),
                })
            })
            .collect();
        let impact = self.impact.as_ref().map(|i| {
            json!({
                "aggregate": i.aggregate,
                "redelivered": i.redelivered.iter().map(EventRef::to_json).collect::<Vec<_>>(),
                "repeated_ids": i.repeated.iter().map(|(id, at)| json!({
                    "event_id": id,
                    "at": at.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        });
        json!({
            "group": self.group,
            "topic": self.topic,
            "scope": self.scope_label(),
            "time": self.time.map(format_time),
            "executed": executed,
            "partitions": partitions,
            "aggregate": impact,
            "warnings": self.warnings(),
            "command": command,
            "undo_file": undo_file,
        })
    }

    /// The targets as kafka-consumer-groups' export CSV (`topic,partition,offset`).
    pub fn targets_csv(&self) -> String {
        csv_rows(
            &self.topic,
            self.partitions.iter().map(|p| (p.partition, p.target)),
        )
    }

    /// The current offsets as an undo file: feeding it to `--from-file` restores them.
    /// Partitions without a committed offset have no row.
    pub fn undo_csv(&self) -> String {
        csv_rows(
            &self.topic,
            self.partitions
                .iter()
                .filter_map(|p| p.current.map(|c| (p.partition, c))),
        )
    }

    /// The scope as the flag that asked for it.
    pub fn scope_label(&self) -> String {
        match &self.scope {
            Scope::Earliest => "--to-earliest".into(),
            Scope::Latest => "--to-latest".into(),
            Scope::Offset(o) => format!("--to-offset {o}"),
            Scope::ShiftBy(n) => format!("--shift-by {n}"),
            Scope::DateTime(t) => format!("--to-datetime {}", format_time(*t)),
            Scope::Duration { text, .. } => format!("--by-duration {text}"),
            Scope::Event(c) => format!("--to-event {c}"),
            Scope::File { path, .. } => format!("--from-file {path}"),
        }
    }

    /// The equivalent `kafka-consumer-groups.sh` command. Per-partition targets that it
    /// cannot express with one flag (a marked event, a time the broker answers wrongly)
    /// become `--from-file` with this plan's CSV. Properties are never inlined: they go
    /// in a `--command-config` file, described with secrets redacted.
    pub fn equivalent_command(&self, brokers: &str, properties: &[(String, String)]) -> String {
        self.command_of(false, brokers, properties)
    }

    /// The command that does this plan for a group of this kind: for a share group
    /// `kafka-share-groups.sh`, which has no `--shift-by` or `--by-duration` (those
    /// become `--from-file` with this plan's CSV); else kafka-consumer-groups.sh's.
    pub fn command_for(
        &self,
        kind: super::group::GroupType,
        brokers: &str,
        properties: &[(String, String)],
    ) -> String {
        let share = kind == super::group::GroupType::Share;
        self.command_of(share, brokers, properties)
    }

    fn command_of(&self, share: bool, brokers: &str, properties: &[(String, String)]) -> String {
        let tool = match share {
            true => "kafka-share-groups.sh",
            false => "kafka-consumer-groups.sh",
        };
        let broker_time_wrong = self.partitions.iter().any(|p| {
            matches!(
                p.time,
                Some(TimeOffset {
                    source: TimeSource::Search { .. },
                    ..
                })
            )
        });
        let scope = match &self.scope {
            Scope::Event(_) => "--from-file rewind-plan.csv".to_owned(),
            Scope::DateTime(_) | Scope::Duration { .. } if broker_time_wrong => {
                "--from-file rewind-plan.csv".to_owned()
            }
            Scope::ShiftBy(_) | Scope::Duration { .. } if share => {
                "--from-file rewind-plan.csv".to_owned()
            }
            Scope::DateTime(t) => format!("--to-datetime {}", format_time(*t)),
            _ => self.scope_label(),
        };
        let mut command = format!(
            "{tool} --bootstrap-server {brokers} --group {} --topic {} --reset-offsets {scope} --execute",
            self.group, self.topic
        );
        if !properties.is_empty() {
            let shown = super::secrets::show_properties(properties.iter().map(|(k, v)| (k, v)));
            command.push_str(&format!(
                " --command-config client.properties  # client.properties: {}",
                shown.join(", ")
            ));
        }
        if scope.starts_with("--from-file rewind-plan") {
            command.push_str(&format!(
                "  # rewind-plan.csv: rewind reset --group {} --topic {} {} -o csv",
                self.group,
                self.topic,
                self.scope_label()
            ));
        }
        command
    }
}

/// The short form of an event in plans: coordinates, time, type, aggregate, key.
pub fn brief(e: &Event) -> Value {
    json!({
        "partition": e.partition, "offset": e.offset, "timestamp": e.timestamp,
        "type": e.event_type, "aggregate": e.aggregate, "key": e.key.to_json(),
    })
}

#[cfg(test)]
mod tests;
