//! `rewind cache`: the on-disk indexes (per cluster and topic, with sizes), and
//! `rewind cache clear [TOPIC]`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::Table;
use crate::cli::Output;
use crate::store::{self, Listed};

/// Lists the indexes under `root`, or clears them (all, or one topic's).
pub fn run(
    root: Option<&Path>,
    clear: Option<Option<&str>>,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let root = root.context("no cache directory: neither XDG_CACHE_HOME nor HOME is set")?;
    let (listed, verb) = match clear {
        None => (store::list(root), "holds"),
        Some(topic) => (store::clear(root, topic), "removed"),
    };
    let listed = listed.with_context(|| format!("reading {}", root.display()))?;
    match output {
        Output::Json => {
            let json = serde_json::to_value(&listed)?;
            writeln!(out, "{}", super::json_text(&json, true))?;
        }
        Output::Table | Output::Csv => {
            let mut table = Table::new(&["CLUSTER", "TOPIC", ">PARTITIONS", ">EVENTS", ">SIZE"]);
            for l in &listed {
                table.row(vec![
                    l.cluster.clone(),
                    l.topic.clone(),
                    l.partitions.to_string(),
                    l.entries.to_string(),
                    size(l.bytes),
                ]);
            }
            if !listed.is_empty() {
                table.print(out)?;
            }
            let total: u64 = listed.iter().map(|l: &Listed| l.bytes).sum();
            writeln!(
                out,
                "{} {verb} {} topic index(es), {}",
                root.display(),
                listed.len(),
                size(total)
            )?;
        }
    }
    Ok(())
}

/// Bytes as people read them: 512 B, 1.5 MB.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1 << 10 => format!("{b} B"),
        b if b < 1 << 20 => format!("{:.1} KB", b as f64 / 1024.0),
        b if b < 1 << 30 => format!("{:.1} MB", b as f64 / 1048576.0),
        b => format!("{:.2} GB", b as f64 / 1073741824.0),
    }
}
