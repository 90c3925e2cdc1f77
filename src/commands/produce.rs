//! `rewind produce TOPIC --from-file FILE`: replays a dump (rewind's event lines or kcat
//! `-J` lines) into a topic. A dry run unless `--execute`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cli::Output;
use crate::config::{Config, Connection};
use crate::kafka::produce::{BulkProducer, Outgoing};
use crate::kafka::Cluster;
use crate::model::dump::{parse_line, DumpPlan, DumpRecord, Placement};

/// What `produce` was asked.
pub struct Ask<'a> {
    pub topic: &'a str,
    pub file: &'a Path,
    pub rate: Option<u32>,
    pub keep_partitions: bool,
    pub execute: bool,
    pub skip_bad: bool,
}

/// Reads the dump line by line: each good record with its line number and target
/// partition, or the line number and why it cannot be produced.
fn each_record(
    file: &Path,
    placement: &Placement,
    mut f: impl FnMut(usize, Result<(DumpRecord, i32), String>) -> Result<()>,
) -> Result<()> {
    let reader = std::fs::File::open(file)
        .with_context(|| format!("--from-file {}: cannot open it", file.display()))?;
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut number = 0;
    let mut good = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("--from-file {}: cannot read it", file.display()))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let record = std::str::from_utf8(&line)
            .map_err(|_| "not UTF-8 text".to_owned())
            .and_then(parse_line)
            .and_then(|r| match r {
                None => Ok(None),
                Some(r) => placement.partition(&r, good).map(|p| Some((r, p))),
            });
        match record {
            Ok(None) => {}
            Ok(Some(placed)) => {
                good += 1;
                f(number, Ok(placed))?
            }
            Err(why) => f(number, Err(why))?,
        }
    }
}

pub fn run(
    conn: &Connection,
    config: &Config,
    ask: &Ask<'_>,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let topic = ask.topic;
    if ask.execute && conn.read_only {
        bail!("refusing to produce to {topic}: rewind is read-only here (--read-only or the profile's read_only = true); nothing was written");
    }
    anyhow::ensure!(
        ask.file.is_file(),
        "--from-file {}: no such file (a dump: `rewind events TOPIC > dump.jsonl`, or kcat -J output)",
        ask.file.display()
    );
    let cluster = Cluster::connect(conn)?;
    let info = cluster.topic(topic)?;
    let placement = Placement {
        partitions: info.partitions.len(),
        keep: ask.keep_partitions,
        partitioner: config.partitioner_for(topic),
    };
    // First pass: every line read and placed, before anything is produced.
    let mut plan = DumpPlan::new(placement.partitions);
    each_record(ask.file, &placement, |number, record| {
        match record {
            Ok((r, p)) => plan.add(r, p),
            Err(why) => plan.bad.push((number, why)),
        }
        Ok(())
    })?;
    if !plan.bad.is_empty() && !ask.skip_bad {
        let shown: Vec<String> = plan
            .bad
            .iter()
            .take(5)
            .map(|(n, why)| format!("line {n}: {why}"))
            .collect();
        let more = match plan.bad.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        bail!(
            "{}: {} line(s) cannot be produced ({}{more}); nothing was produced (--skip-bad produces the others)",
            ask.file.display(),
            plan.bad.len(),
            shown.join("; ")
        );
    }
    let written = match ask.execute {
        false => None,
        true => Some(produce(&cluster, ask, &placement, plan.events)?),
    };
    let offsets: Vec<_> = written
        .iter()
        .flat_map(|w| w.per_partition.iter().map(|(p, (f, l))| (*p, *f, *l)))
        .collect();
    match output {
        Output::Json => {
            let mut json = plan.to_json(topic, ask.execute, &offsets);
            json["written"] = serde_json::json!(written.as_ref().map(|w| w.count));
            writeln!(out, "{}", super::json_text(&json, true))?;
        }
        Output::Table | Output::Csv => {
            let how = match ask.keep_partitions {
                true => "each to its own partition".to_owned(),
                false => format!("placed by key ({:?})", placement.partitioner).to_lowercase(),
            };
            let verb = match ask.execute {
                true => "Produced",
                false => "Dry run:",
            };
            writeln!(
                out,
                "{verb} {} events from {} to {topic} ({} partition{}), {how}, each with header {}",
                plan.events,
                ask.file.display(),
                placement.partitions,
                if placement.partitions == 1 { "" } else { "s" },
                crate::model::dump::REPLAYED_FROM
            )?;
            if !plan.bad.is_empty() {
                writeln!(
                    out,
                    "skipped {} line(s) that cannot be produced:",
                    plan.bad.len()
                )?;
                for (n, why) in plan.bad.iter().take(5) {
                    writeln!(out, "  line {n}: {why}")?;
                }
            }
            let mut table = super::table::Table::new(&["PARTITION", "EVENTS", "OFFSETS"]);
            for (p, n) in plan.per_partition.iter().enumerate() {
                let at = offsets.iter().find(|(q, ..)| *q == p as i32);
                table.row(vec![
                    p.to_string(),
                    n.to_string(),
                    at.map_or("-".into(), |(_, f, l)| {
                        format!("{}..{}", f.offset, l.offset)
                    }),
                ]);
            }
            table.print(out)?;
            if let Some(first) = &plan.first {
                writeln!(out, "first  {}", first.label())?;
            }
            if let Some(last) = plan.last() {
                writeln!(out, "last   {}", last.label())?;
            }
            if !ask.execute {
                writeln!(out, "Nothing was produced: add --execute to produce them.")?;
            }
        }
    }
    Ok(())
}

/// Second pass: produce every good record in order, at `rate` per second if asked.
fn produce(
    cluster: &Cluster,
    ask: &Ask<'_>,
    placement: &Placement,
    total: usize,
) -> Result<crate::kafka::produce::Written> {
    let mut producer = BulkProducer::new(cluster, ask.topic)?;
    let mut progress = crate::engine::progress::Progress::producing(ask.topic, total as i64);
    let start = Instant::now();
    let mut sent: u64 = 0;
    let result = each_record(ask.file, placement, |_, record| {
        let Ok((r, partition)) = record else {
            return Ok(()); // counted in the first pass
        };
        if let Some(rate) = ask.rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(sent as f64 / f64::from(rate));
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let headers = r.headers_to_produce();
        producer.send(&Outgoing {
            partition,
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            headers: &headers,
        })?;
        sent += 1;
        progress.tick();
        Ok(())
    })
    .and_then(|()| producer.finish());
    drop(progress);
    result.map(|()| producer.written)
}
