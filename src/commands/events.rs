//! `rewind events`: JSON lines, in partition then offset order.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::Result;

use crate::cli::EventsArgs;
use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::select::Verdict;
use crate::model::stream::Links;
use crate::model::Selection;

pub fn run(
    conn: &Connection,
    config: &Config,
    args: &EventsArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = Cluster::connect(conn)?;
    let topic = cluster.topic(&args.topic)?;
    let selection = Selection {
        aggregate: args.aggregate.clone(),
        partition: args.partition,
        from: args.from,
        since: args.since,
        until: args.until,
        limit: args.limit,
    };
    let ranges = selection.ranges(&topic.partitions)?;
    let rules = config.rules_for(&args.topic);
    let compensations = config.compensations_for(&args.topic);
    // Links need the whole topic: a first pass finds duplicates and compensations.
    let links = if rules.event_id.is_some() || !compensations.compensations.is_empty() {
        let mut all = Vec::new();
        super::read_topic(&cluster, config, &args.topic, &mut |e| all.push(e))?;
        Some(Links::build(&all, &compensations))
    } else {
        None
    };
    let scanner = cluster.scanner()?;
    let mut selector = selection.selector();
    let mut write_error = None;
    // One partition at a time so that the output is in partition/offset order.
    for range in ranges {
        scanner.scan(
            &args.topic,
            &[range],
            &rules,
            &mut |event| match selector.offer(&event) {
                Verdict::Skip => ControlFlow::Continue(()),
                Verdict::Done => ControlFlow::Break(()),
                Verdict::Emit => match writeln!(out, "{}", {
                    let mut line = event.to_json();
                    if let Some(links) = &links {
                        links.annotate(event.coord(), &mut line);
                    }
                    line
                }) {
                    Ok(()) if selector.is_done() => ControlFlow::Break(()),
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        write_error = Some(e);
                        ControlFlow::Break(())
                    }
                },
            },
        )?;
        if let Some(e) = write_error.take() {
            // A closed pipe (`| head`) is a normal way to stop reading.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(e.into());
        }
        if selector.is_done() {
            break;
        }
    }
    out.flush()?;
    Ok(())
}
