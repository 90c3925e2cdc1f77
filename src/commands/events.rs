//! `rewind events`: JSON lines, in partition then offset order.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::Result;

use crate::cli::EventsArgs;
use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::select::Verdict;
use crate::model::stream::Links;
use crate::model::{Event, Selection};

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
    let mut selector = selection.selector();
    let mut write_error = None;
    let mut print = |event: &Event, links: Option<&Links>| match selector.offer(event) {
        Verdict::Skip => ControlFlow::Continue(()),
        Verdict::Done => ControlFlow::Break(()),
        Verdict::Emit => {
            let mut line = event.to_json();
            if let Some(links) = links {
                links.annotate(event.coord(), &mut line);
            }
            match writeln!(out, "{}", super::json_text(&line, false)) {
                Ok(()) if selector.is_done() => ControlFlow::Break(()),
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        }
    };
    if rules.event_id.is_some() || !compensations.compensations.is_empty() {
        // Links need the whole topic: read it once, link, then print from memory.
        let mut all = Vec::new();
        let _ = cluster.read_all(&topic, &rules, &mut |e| {
            all.push(e);
            ControlFlow::Continue(())
        })?;
        let links = Links::build(&all, &compensations);
        let in_ranges = |e: &&Event| {
            ranges
                .iter()
                .any(|r| r.partition == e.partition && (r.start..r.end).contains(&e.offset))
        };
        for event in all.iter().filter(in_ranges) {
            if print(event, Some(&links)).is_break() {
                break;
            }
        }
    } else {
        // Breaking off (limit reached, pipe closed) is handled by `print`.
        let _ = cluster
            .scanner()?
            .scan(&args.topic, &ranges, &rules, &mut |e| print(&e, None))?;
    }
    if let Some(e) = write_error {
        // A closed pipe (`| head`) is a normal way to stop reading.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(());
        }
        return Err(e.into());
    }
    out.flush()?;
    Ok(())
}
