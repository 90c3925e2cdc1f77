//! One aggregate's events read from its topic: only its key's partition where the id
//! is the record key.

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::config::Config;
use crate::pool::Client;

/// What reading an aggregate's stream took: the partitions read, records and bytes.
pub struct Read {
    pub partitions: Vec<i32>,
    pub records: u64,
    pub bytes: u64,
}

impl Read {
    pub fn to_json(&self) -> Value {
        json!({"partitions": self.partitions, "records": self.records, "bytes": self.bytes})
    }
}

/// Reads one aggregate's events, in partition then offset order. When the aggregate id
/// is the record key, only the partition the topic's partitioner puts it in is read;
/// if that finds nothing (producers that place keys otherwise), the whole topic is.
pub fn stream(
    client: &Client,
    config: &Config,
    topic: &str,
    aggregate: &str,
) -> Result<(Vec<crate::model::Event>, Read)> {
    let (events, read) = read_aggregate(client, config, topic, aggregate, true)?;
    if events.is_empty() {
        bail!("aggregate `{aggregate}` has no events in {topic}: `rewind aggregates {topic}` lists the ids");
    }
    Ok((events, read))
}

/// `stream`, where no events is an answer; `show_progress`: on stderr when it is a terminal
/// (never from the TUI).
pub fn read_aggregate(
    client: &Client,
    config: &Config,
    topic: &str,
    aggregate: &str,
    show_progress: bool,
) -> Result<(Vec<crate::model::Event>, Read)> {
    let info = client.cluster.topic(topic)?;
    let rules = config.rules_for(topic);
    let mut events = Vec::new();
    let read = std::cell::Cell::new((0, 0));
    let scan = |partitions: Vec<i32>, events: &mut Vec<crate::model::Event>| -> Result<Vec<i32>> {
        let mut ranges = info.ranges();
        ranges.retain(|r| partitions.contains(&r.partition));
        let total = ranges.iter().map(|r| r.end - r.start).sum();
        let mut progress = super::progress::Progress::new(topic, total);
        if !show_progress {
            progress = progress.off();
        }
        let _ = client.scan(|scanner| {
            // A pooled scanner counts all it ever read: this scan's share is added.
            let before = scanner.read();
            let scanned = scanner.scan(topic, &ranges, &rules, &mut |e| {
                progress.tick();
                if e.aggregate == aggregate {
                    events.push(e);
                }
                std::ops::ControlFlow::Continue(())
            });
            let after = scanner.read();
            let (records, bytes) = read.get();
            read.set((records + after.0 - before.0, bytes + after.1 - before.1));
            scanned
        })?;
        Ok(partitions)
    };
    let all: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
    let mut partitions = match config.key_partition(topic, aggregate, all.len()) {
        Some(p) => scan(vec![p], &mut events)?,
        None => scan(all.clone(), &mut events)?,
    };
    if events.is_empty() && partitions.len() < all.len() {
        tracing::info!(
            topic,
            aggregate,
            "not in its key's partition: reading the whole topic"
        );
        let rest: Vec<i32> = all
            .into_iter()
            .filter(|p| !partitions.contains(p))
            .collect();
        partitions.extend(scan(rest, &mut events)?);
    }
    let (records, bytes) = read.get();
    partitions.sort();
    Ok((
        events,
        Read {
            partitions,
            records,
            bytes,
        },
    ))
}
