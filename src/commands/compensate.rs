//! `rewind compensate`: drafts the compensating event for an event and, only with
//! `--execute`, produces it.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::{bail, Result};
use serde_json::json;

use crate::cli::Output;
use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::compensate::Draft;
use crate::model::select::PartitionRange;
use crate::model::stream::Links;
use crate::model::{Coord, Event};

/// Reads the event at `at`, drafts its compensation and finds whether a later event in
/// its partition already reverses it.
pub fn draft(
    cluster: &Cluster,
    config: &Config,
    topic: &str,
    at: Coord,
) -> Result<(Event, Draft, Option<Coord>)> {
    let info = cluster.topic(topic)?;
    let Some(p) = info.partitions.iter().find(|p| p.partition == at.partition) else {
        bail!(
            "partition {} does not exist in {topic} (it has {})",
            at.partition,
            info.partitions.len()
        );
    };
    let rules = config.rules_for(topic);
    let scanner = cluster.scanner()?;
    let event = match scanner.first_at(topic, at.partition, at.offset, p.high, &rules)? {
        Some(e) if e.offset == at.offset => e,
        _ => bail!(
            "there is no event at {at} in {topic} (partition {} holds offsets {}..{})",
            at.partition,
            p.low,
            p.high
        ),
    };
    let draft = config
        .templates_for(topic)?
        .draft(&event, &rules.payloads)
        .map_err(anyhow::Error::msg)?;
    let compensations = config.compensations_for(topic);
    let mut reversed_by = None;
    if !compensations.compensations.is_empty() {
        let mut later = vec![event.clone()];
        let range = PartitionRange {
            partition: at.partition,
            start: at.offset + 1,
            end: p.high,
        };
        let _ = scanner.scan(topic, &[range], &rules, &mut |e| {
            if e.aggregate == event.aggregate {
                later.push(e);
            }
            ControlFlow::Continue(())
        })?;
        reversed_by = Links::build(&later, &compensations)
            .reversed_by
            .get(&at)
            .copied();
    }
    Ok((event, draft, reversed_by))
}

pub fn run(
    conn: &Connection,
    config: &Config,
    topic: &str,
    at: Coord,
    execute: bool,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    if execute && conn.read_only {
        bail!("refusing to produce to {topic}: rewind is read-only here (--read-only or the profile's read_only = true); nothing was written");
    }
    let cluster = Cluster::connect(conn)?;
    let (event, draft, reversed_by) = self::draft(&cluster, config, topic, at)?;
    if let (true, Some(by)) = (execute, reversed_by) {
        bail!(
            "{at} ({}) is already reversed by {by}; nothing was written",
            event.event_type
        );
    }
    let produced = match execute {
        true => Some(cluster.produce(&draft)?),
        false => None,
    };
    let mut json = draft.to_json();
    json["already_reversed_by"] = json!(reversed_by.map(Coord::to_json));
    json["produced"] = json!(produced.map(Coord::to_json));
    match output {
        Output::Json => writeln!(out, "{}", super::json_text(&json, true))?,
        Output::Table | Output::Csv => {
            writeln!(
                out,
                "Compensating {at} {} ({}):",
                event.event_type, event.aggregate
            )?;
            writeln!(
                out,
                "  topic     {}  partition {} (the compensated event's)",
                draft.topic, draft.partition
            )?;
            writeln!(out, "  key       {}", draft.key.label())?;
            for (k, v) in &draft.headers {
                writeln!(out, "  header    {k}: {v}")?;
            }
            writeln!(
                out,
                "  value     {}",
                serde_json::to_string_pretty(&draft.value)?.replace('\n', "\n            ")
            )?;
            if let Some(by) = reversed_by {
                writeln!(
                    out,
                    "\n  ! already reversed by {by}: producing this would reverse it twice"
                )?;
            }
            match produced {
                Some(c) => writeln!(out, "\nProduced at {c}.")?,
                None => writeln!(
                    out,
                    "\nDraft only: nothing was written. Add --execute to produce it."
                )?,
            }
        }
    }
    Ok(())
}
