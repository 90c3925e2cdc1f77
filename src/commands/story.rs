//! `rewind story NAME ID`: one business id across the story's topics, as one timeline.

use std::io::Write;

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::story::{merge_order, positions, Strand};
use crate::model::Event;

/// Reads each topic of the story for `id`, in the order the story folds them: only the
/// key's partition where the id is the record key (as `state` does). Per topic: its
/// events. No events anywhere is an error.
pub fn read_events(
    cluster: &Cluster,
    config: &Config,
    name: &str,
    id: &str,
    progress: bool,
) -> Result<Vec<(String, Vec<Event>)>> {
    let story = config.story(name)?;
    let mut strands = Vec::new();
    for (topic, path) in &story.topics {
        let config = config.with_aggregate(topic, path);
        let (events, _) = super::state::read_aggregate(cluster, &config, topic, id, progress)?;
        strands.push((topic.clone(), crate::model::story::fold_order(events)));
    }
    if strands.iter().all(|(_, events)| events.is_empty()) {
        let topics: Vec<&str> = strands.iter().map(|(t, ..)| t.as_str()).collect();
        bail!(
            "story {name}: `{id}` has no events in {}",
            topics.join(", ")
        );
    }
    Ok(strands)
}

/// The story's topics read and folded, each by its own reducers.
pub fn read(cluster: &Cluster, config: &Config, name: &str, id: &str) -> Result<Vec<Strand>> {
    read_events(cluster, config, name, id, true)?
        .into_iter()
        .map(|(topic, events)| {
            let fold = config.reducers_for(&topic)?;
            Ok(Strand::new(topic, events, fold))
        })
        .collect()
}

pub fn run(
    conn: &Connection,
    config: &Config,
    name: &str,
    id: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = Cluster::connect(conn)?;
    let mut strands = read(&cluster, config, name, id)?;
    for s in strands.iter().filter(|s| s.events.is_empty()) {
        eprintln!("story {name}: `{id}` has no events in {}", s.topic);
    }
    let times: Vec<Vec<Option<i64>>> = strands
        .iter()
        .map(|s| s.events.iter().map(|e| e.timestamp).collect())
        .collect();
    let order = merge_order(&times);
    for (&(s, i), at) in order.iter().zip(positions(&order, strands.len())) {
        let mut line = strands[s].events[i].to_json();
        let mut states = Map::new();
        for (k, strand) in strands.iter_mut().enumerate() {
            let state = match at[k] {
                Some(j) => strand.projection.state_after(j),
                None => Value::Null,
            };
            states.insert(strand.topic.clone(), state);
        }
        line["story"] = json!(name);
        line["index"] = json!(i);
        if let Some(e) = strands[s].projection.error_at(i) {
            line["error"] = json!(e);
        }
        line["states"] = Value::Object(states);
        writeln!(out, "{line}")?;
    }
    Ok(())
}
