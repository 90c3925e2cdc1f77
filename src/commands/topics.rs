//! `rewind topics`.

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use super::Table;
use crate::cli::Output;
use crate::config::Connection;
use crate::kafka::Cluster;

/// `index` is where the on-disk indexes are (none with `--no-cache`): the records of
/// a topic one covers are known.
pub fn run(
    conn: &Connection,
    index: Option<&std::path::Path>,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = Cluster::connect(conn)?;
    let mut topics = cluster.topics_with_settings()?;
    if let Some(root) = index {
        cluster.count_records(root, &mut topics);
    }
    match output {
        Output::Json => {
            let json: Vec<Value> = topics.iter().map(|t| t.to_json()).collect();
            writeln!(out, "{}", super::json_text(&json, true))?;
        }
        Output::Table | Output::Csv => {
            let mut table = Table::new(&[
                "TOPIC",
                ">PARTITIONS",
                ">LOW",
                ">HIGH",
                ">OFFSETS",
                ">RECORDS",
                "CLEANUP",
                ">RETENTION",
            ]);
            for t in &topics {
                table.row(vec![
                    t.name.clone(),
                    t.partitions.len().to_string(),
                    t.low().to_string(),
                    t.high().to_string(),
                    t.count().to_string(),
                    t.records.map_or("-".into(), |r| r.to_string()),
                    t.settings.cleanup_label().to_owned(),
                    t.settings.retention_label(),
                ]);
            }
            table.print(out)?;
        }
    }
    Ok(())
}
