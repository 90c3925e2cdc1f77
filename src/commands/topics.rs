//! `rewind topics`.

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use super::Table;
use crate::cli::Output;
use crate::config::Connection;
use crate::kafka::Cluster;

pub fn run(conn: &Connection, output: Output, out: &mut dyn Write) -> Result<()> {
    let topics = Cluster::connect(conn)?.topics_with_settings()?;
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
                ">EVENTS",
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
                    t.settings.cleanup_label().to_owned(),
                    t.settings.retention_label(),
                ]);
            }
            table.print(out)?;
        }
    }
    Ok(())
}
