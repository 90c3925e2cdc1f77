//! `rewind aggregates`, `rewind state` and `rewind snapshots`: the time-travel commands.

use std::io::Write;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::{read_topic, Table};
use crate::cli::Output;
use crate::config::{Config, Connection};
use crate::engine::pool::Pool;
use crate::kafka::Cluster;
use crate::model::diff::{self, diff};
use crate::model::position::format_time;
use crate::model::projection::Projection;
use crate::model::snapshot::{SnapshotRules, StoredSnapshot};
use crate::model::stream::{resolve, AggregateIndex};
use crate::model::Position;

pub fn aggregates(
    conn: &Connection,
    config: &Config,
    topic: &str,
    limit: Option<usize>,
    window: &crate::model::Selection,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = Cluster::connect(conn)?;
    let info = cluster.topic(topic)?;
    if let Some(crate::model::Position::Index(_)) = window.from {
        bail!("--from N (skip N events) has no order to count in for aggregates: use --from P/O or --from TIME");
    }
    // `--from P/O` reads partition P from offset O; a time window filters records.
    let ranges = window.ranges(&info.partitions)?;
    let rules = config.rules_for(topic);
    // Counts do not depend on order: all partitions are read at once, and records are
    // indexed on other cores by their key and the paths the rules name, without a full
    // decode.
    let workers =
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1));
    // About ten events per aggregate is common; the table grows if there are more.
    let expected = (info.count().max(0) as usize / 10).min(1 << 20);
    let states = (0..workers)
        .map(|_| AggregateIndex::with_capacity(expected))
        .collect();
    let disk = config.index_dir.as_ref().and_then(|root| {
        let fingerprint = crate::store::fingerprint(config, topic);
        // Topic ids are the TUI's (asked in the background); here the last records
        // are what tells a topic made again.
        crate::store::TopicIndex::open(root, &cluster.id(), topic, &fingerprint, None)
            .map_err(|e| {
                eprintln!(
                    "rewind: working without an on-disk index: {} cannot be written ({e})",
                    root.display()
                )
            })
            .ok()
    });
    if let Some(mut disk) = disk.filter(|d| d.writable()) {
        let reference = config.compensations_for(topic).reference;
        let how = ReadWith {
            rules: &rules,
            reference: reference.as_ref(),
            window,
        };
        let index = indexed_aggregates(&cluster, &mut disk, &info, ranges, &how)?;
        return print_aggregates(index, limit, output, out);
    }
    let mut progress =
        crate::engine::progress::Progress::new(topic, ranges.iter().map(|r| r.end - r.start).sum());
    let mut parts = cluster.scanner()?.index_parallel(
        topic,
        &ranges,
        states,
        &|index: &mut AggregateIndex, raw| {
            if !window.in_window(raw.timestamp) {
                return;
            }
            let (aggregate, event_type) = crate::model::index::aggregate_and_type(raw, &rules);
            let coord = crate::model::Coord {
                partition: raw.partition,
                offset: raw.offset,
            };
            index.add_parts(&aggregate, &event_type, coord, raw.timestamp);
        },
        &mut || {
            progress.tick();
            std::ops::ControlFlow::Continue(())
        },
    )?;
    drop(progress);
    let mut index = parts.pop().unwrap_or_default();
    for part in parts {
        index.merge(part);
    }
    print_aggregates(index, limit, output, out)
}

/// `aggregates` with the on-disk index: the entries it holds are counted as they are,
/// and only the records past them are read, indexed on other cores and appended to it.
fn indexed_aggregates(
    cluster: &Cluster,
    disk: &mut crate::store::TopicIndex,
    info: &crate::kafka::TopicInfo,
    mut ranges: Vec<crate::model::select::PartitionRange>,
    how: &ReadWith<'_>,
) -> Result<AggregateIndex> {
    let ReadWith {
        rules,
        reference,
        window,
    } = how;
    use crate::model::index::{EventIndex, IndexPart, PartitionParts};
    use std::collections::HashMap;
    let topic = info.name.as_str();
    let scanner = cluster.scanner()?;
    let (reused, checked) = scanner.reuse_index(disk, info, &mut ranges);
    let mut index = AggregateIndex::default();
    let mut held = EventIndex::default();
    for (&p, range) in &reused {
        let view = disk.view(p).expect("held").slice(range.start, range.len());
        held.append(IndexPart::of_mapped(view, disk.new_strings()));
    }
    held.each_aggregate_from(0, |aggregate, kind, at, time| {
        if window.in_window(time) {
            index.add_parts(held.string(aggregate), held.string(kind), at, time);
        }
    });
    let ends: HashMap<i32, i64> = ranges.iter().map(|r| (r.partition, r.end)).collect();
    let mut progress =
        crate::engine::progress::Progress::new(topic, ranges.iter().map(|r| r.end - r.start).sum());
    let workers =
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1));
    type Batch = (PartitionParts, AggregateIndex);
    let index_batch = |each: &mut crate::kafka::EachRecord<'_>| -> Batch {
        let mut indexed = PartitionParts::default();
        let mut counts = AggregateIndex::default();
        each(&mut |raw| {
            let part = indexed.push(raw, rules, *reference);
            if let Some((aggregate, event_type)) = part.last_aggregate_and_type() {
                if window.in_window(raw.timestamp) {
                    let coord = crate::model::Coord {
                        partition: raw.partition,
                        offset: raw.offset,
                    };
                    counts.add_parts(aggregate, event_type, coord, raw.timestamp);
                }
            }
        });
        (indexed, counts)
    };
    let mut read = 0u64;
    let on = crate::kafka::OnRead {
        read: &mut |_| {
            read += 1;
            progress.tick();
            std::ops::ControlFlow::Continue(())
        },
        // Batches come back in read order: each partition's entries are appended in
        // offset order.
        merge: &mut |(PartitionParts { parts, lasts }, counts): Batch| {
            for (p, part) in parts {
                let last = lasts.get(&p).copied();
                disk.append(p, &part, last.map_or(i64::MIN, |(o, _)| o + 1), last);
            }
            index.merge(counts);
            std::ops::ControlFlow::Continue(())
        },
        due: &|| false,
    };
    let todo: Vec<_> = ranges.iter().copied().filter(|r| r.end > r.start).collect();
    // Nothing here breaks off: it is read to the end, or fails.
    let _ = scanner.index_ordered(topic, &todo, workers, &index_batch, on)?;
    for (p, end) in ends {
        disk.read_to(p, end);
    }
    tracing::info!(
        topic,
        from_index = held.len(),
        checked,
        read,
        "aggregates: entries from the on-disk index, records read to check it and past it"
    );
    Ok(index)
}

/// How `aggregates` reads records: the topic's rules, its compensation reference (the
/// on-disk index holds it, for the TUI), and the window counted.
struct ReadWith<'a> {
    rules: &'a crate::model::TopicRules,
    reference: Option<&'a crate::model::Extractor>,
    window: &'a crate::model::Selection,
}

/// Prints what `aggregates` counted, sorted by id.
fn print_aggregates(
    index: AggregateIndex,
    limit: Option<usize>,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let all = index.summaries();
    let shown = &all[..limit.unwrap_or(all.len()).min(all.len())];
    match output {
        Output::Json => writeln!(
            out,
            "{}",
            super::json_text(&shown.iter().map(|a| a.to_json()).collect::<Vec<_>>(), true)
        )?,
        Output::Table | Output::Csv => {
            let mut table = Table::new(&["AGGREGATE", ">EVENTS", "FIRST", "LAST", "LAST TYPE"]);
            for a in shown {
                let at = |(c, t): &(crate::model::Coord, Option<i64>)| {
                    format!("{c} {}", t.map(format_time).unwrap_or_default())
                };
                table.row(vec![
                    a.aggregate.clone(),
                    a.count.to_string(),
                    at(&a.first),
                    at(&a.last),
                    a.last_type.clone(),
                ]);
            }
            table.print(out)?;
        }
    }
    Ok(())
}

/// What `rewind state` was asked for.
pub struct StateArgs<'a> {
    pub topic: &'a str,
    pub aggregate: &'a str,
    pub at: Option<Position>,
    pub diff: bool,
    pub from_snapshot: bool,
}

pub fn state(
    conn: &Connection,
    config: &Config,
    args: StateArgs<'_>,
    out: &mut dyn Write,
) -> Result<()> {
    let StateArgs {
        topic,
        aggregate,
        at,
        diff: show_diff,
        from_snapshot,
    } = args;
    let reducers = crate::isolation::reducers_for(config, topic)?;
    let pool = Pool::new(conn);
    let client = pool.client()?;
    let cluster = &client.cluster;
    let (events, read) = crate::engine::aggregate::stream(&client, config, topic, aggregate)?;
    let index = match at {
        Some(position) => resolve(&events, position)
            .with_context(|| format!("--at {position} in aggregate `{aggregate}`"))?,
        None => events.len() - 1,
    };
    let mut projection = Projection::new(reducers, &events);
    if from_snapshot {
        let (stored, _) = aggregate_snapshots(cluster, conn, config, topic, aggregate)?;
        projection.set_snapshots(
            stored
                .into_iter()
                .filter_map(|s| Some((s.version?, s.state))),
        );
        projection.set_from_snapshot(true);
    }
    let basis = projection.basis(index);
    let e = &events[index];
    let errors: Vec<Value> = projection
        .errors_through(index)
        .into_iter()
        .map(|(i, message)| json!({"index": i, "partition": events[i].partition, "offset": events[i].offset, "message": message}))
        .collect();
    let mut result = json!({
        "aggregate": aggregate, "index": index, "partition": e.partition, "offset": e.offset,
        "timestamp": e.timestamp, "type": e.event_type,
    });
    if show_diff {
        result["changes"] = diff::to_json(&projection.changes_at(index));
    } else {
        result["state"] = projection.state_after(index);
    }
    result["errors"] = Value::Array(errors);
    result["replayed_from"] = json!({"snapshot_version": basis.snapshot, "events": basis.events});
    result["read"] = read.to_json();
    writeln!(out, "{}", super::json_text(&result, true))?;
    Ok(())
}

/// The snapshot rules of a topic, or an error saying how to configure them.
fn snapshot_rules(config: &Config, topic: &str) -> Result<SnapshotRules> {
    config
        .topic(topic)
        .map(|t| t.snapshot_rules())
        .transpose()?
        .flatten()
        .with_context(|| {
            format!("topic `{topic}` has no `snapshots = {{ topic = … }}` (or `{{ database = …, query = … }}`) in the config")
        })
}

/// Where a topic's snapshots are kept, for messages.
fn snapshots_where(config: &Config, topic: &str) -> String {
    let s = config.topic(topic).and_then(|t| t.snapshots.as_ref());
    match s.map(|s| (&s.topic, &s.database)) {
        Some((Some(t), _)) => t.clone(),
        Some((None, Some(db))) => format!("database {db}"),
        _ => "its snapshots".into(),
    }
}

/// An aggregate's stored snapshots: from the database its topic's `snapshots` names, or
/// else from the snapshot topic; and whether they came from a database.
fn aggregate_snapshots(
    cluster: &Cluster,
    conn: &Connection,
    config: &Config,
    topic: &str,
    aggregate: &str,
) -> Result<(Vec<StoredSnapshot>, bool)> {
    if let Some(rows) = crate::engine::drift::database_snapshots(config, conn, topic, aggregate)? {
        return Ok((rows, true));
    }
    let rules = snapshot_rules(config, topic)?;
    Ok((stored_snapshots(cluster, config, &rules, aggregate)?, false))
}

/// An aggregate's stored snapshots, in the snapshot topic's order.
fn stored_snapshots(
    cluster: &Cluster,
    config: &Config,
    rules: &SnapshotRules,
    aggregate: &str,
) -> Result<Vec<StoredSnapshot>> {
    let mut stored = Vec::new();
    read_topic(cluster, config, &rules.topic, &mut |record| {
        if record.aggregate == aggregate {
            stored.push(rules.read(&record))
        }
    })?;
    Ok(stored)
}

pub fn snapshots(
    conn: &Connection,
    config: &Config,
    topic: &str,
    aggregate: &str,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let reducers = crate::isolation::reducers_for(config, topic)?;
    let pool = Pool::new(conn);
    let client = pool.client()?;
    let cluster = &client.cluster;
    let (events, _) = crate::engine::aggregate::stream(&client, config, topic, aggregate)?;
    let (stored, from_db) = aggregate_snapshots(cluster, conn, config, topic, aggregate)?;
    let mut projection = Projection::new(reducers, &events);
    let mut results = Vec::new();
    for s in &stored {
        let mut result = match from_db {
            // A database row has no place in a topic: its row number instead.
            true => json!({"aggregate": aggregate, "version": s.version,
                           "partition": null, "offset": null, "row": s.coord.offset}),
            false => json!({"aggregate": aggregate, "version": s.version,
                            "partition": s.coord.partition, "offset": s.coord.offset}),
        };
        match s.version {
            Some(v) if v <= events.len() => {
                let replayed = match v {
                    0 => Value::Null,
                    v => projection.state_after(v - 1),
                };
                let changes = diff(&s.state, &replayed);
                result["matches"] = json!(changes.is_empty());
                result["changes"] = diff::to_json(&changes);
            }
            _ => {
                result["matches"] = json!(false);
                result["changes"] = json!([]);
                result["error"] = json!(format!(
                    "the snapshot's version is not between 0 and the stream's {} events",
                    events.len()
                ));
            }
        }
        results.push(result);
    }
    match output {
        Output::Json => writeln!(out, "{}", super::json_text(&results, true))?,
        Output::Table | Output::Csv => {
            let mut table = Table::new(&[">VERSION", "AT", "MATCHES", "DIVERGENCES"]);
            for r in &results {
                let paths: Vec<String> = r["changes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        format!(
                            "{} {}",
                            c["op"].as_str().unwrap_or(""),
                            c["path"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                table.row(vec![
                    r["version"].to_string(),
                    match r.get("row") {
                        Some(row) => format!("row {row}"),
                        None => format!("{}/{}", r["partition"], r["offset"]),
                    },
                    if r["matches"] == json!(true) {
                        "yes".into()
                    } else {
                        "NO".into()
                    },
                    r.get("error")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| paths.join(", ")),
                ]);
            }
            if results.is_empty() {
                writeln!(
                    out,
                    "no snapshots of `{aggregate}` in {}",
                    snapshots_where(config, topic)
                )?;
            }
            table.print(out)?;
        }
    }
    Ok(())
}
