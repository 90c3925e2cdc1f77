//! `rewind story NAME ID`: one business id across the story's topics, as one timeline.

use std::io::Write;

use anyhow::Result;
use serde_json::{json, Map, Value};

use crate::config::{Config, Connection};
use crate::engine::pool::Pool;
use crate::model::story::{merge_order, positions};

/// `rewind story NAME ID`: the story read (`engine::story`) and printed.
pub fn run(
    conn: &Connection,
    config: &Config,
    name: &str,
    id: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let pool = Pool::new(conn);
    let mut strands = crate::engine::story::read(&*pool.client()?, config, name, id)?;
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
