//! `rewind aggregates`, `rewind state` and `rewind snapshots`: the time-travel commands.

use std::io::Write;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::{read_topic, Table};
use crate::cli::Output;
use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::diff::{self, diff};
use crate::model::position::format_time;
use crate::model::projection::Projection;
use crate::model::stream::{resolve, AggregateIndex};
use crate::model::{Extractor, Position};

pub fn aggregates(
    conn: &Connection,
    config: &Config,
    topic: &str,
    limit: Option<usize>,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = Cluster::connect(conn)?;
    let mut index = AggregateIndex::default();
    read_topic(&cluster, config, topic, &mut |e| index.add(&e))?;
    let all = index.summaries();
    let shown = &all[..limit.unwrap_or(all.len()).min(all.len())];
    match output {
        Output::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&shown.iter().map(|a| a.to_json()).collect::<Vec<_>>())?
        )?,
        Output::Table => {
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

/// Reads one aggregate's events, in partition then offset order.
fn stream(
    cluster: &Cluster,
    config: &Config,
    topic: &str,
    aggregate: &str,
) -> Result<Vec<crate::model::Event>> {
    let mut events = Vec::new();
    read_topic(cluster, config, topic, &mut |e| {
        if e.aggregate == aggregate {
            events.push(e)
        }
    })?;
    if events.is_empty() {
        bail!("aggregate `{aggregate}` has no events in {topic}: `rewind aggregates {topic}` lists the ids");
    }
    Ok(events)
}

pub fn state(
    conn: &Connection,
    config: &Config,
    topic: &str,
    aggregate: &str,
    at: Option<Position>,
    show_diff: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let reducers = std::rc::Rc::new(config.reducers_for(topic)?);
    let cluster = Cluster::connect(conn)?;
    let events = stream(&cluster, config, topic, aggregate)?;
    let index = match at {
        Some(position) => resolve(&events, position)
            .with_context(|| format!("--at {position} in aggregate `{aggregate}`"))?,
        None => events.len() - 1,
    };
    let mut projection = Projection::new(reducers.clone(), &events);
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
    writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?;
    Ok(())
}

pub fn snapshots(
    conn: &Connection,
    config: &Config,
    topic: &str,
    aggregate: &str,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let snapshot_config = config
        .topic(topic)
        .and_then(|t| t.snapshots.clone())
        .with_context(|| {
            format!("topic `{topic}` has no `snapshots = {{ topic = … }}` in the config")
        })?;
    let state_path = Extractor::parse(snapshot_config.state.as_deref().unwrap_or(".state"))?;
    let version_path = Extractor::parse(snapshot_config.version.as_deref().unwrap_or(".version"))?;
    let reducers = std::rc::Rc::new(config.reducers_for(topic)?);
    let cluster = Cluster::connect(conn)?;
    let events = stream(&cluster, config, topic, aggregate)?;
    let mut stored = Vec::new();
    read_topic(&cluster, config, &snapshot_config.topic, &mut |s| {
        if s.aggregate == aggregate {
            stored.push(s)
        }
    })?;
    let mut projection = Projection::new(reducers.clone(), &events);
    let mut results = Vec::new();
    for s in &stored {
        let version = version_path.value(s).and_then(Value::as_u64);
        let state = state_path.value(s).cloned().unwrap_or(Value::Null);
        let mut result = json!({"aggregate": aggregate, "version": version, "partition": s.partition, "offset": s.offset});
        match version {
            Some(v) if (v as usize) <= events.len() => {
                let replayed = match v {
                    0 => Value::Null,
                    v => projection.state_after(v as usize - 1),
                };
                let changes = diff(&state, &replayed);
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
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&results)?)?,
        Output::Table => {
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
                    format!("{}/{}", r["partition"], r["offset"]),
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
                    snapshot_config.topic
                )?;
            }
            table.print(out)?;
        }
    }
    Ok(())
}
