//! `rewind events`: JSON lines, in partition then offset order.

use std::io::Write;
use std::ops::ControlFlow;

use anyhow::Result;

use crate::cli::EventsArgs;
use crate::config::{Config, Connection};
use crate::kafka::Cluster;
use crate::model::search::{Found, Where};
use crate::model::select::Verdict;
use crate::model::stream::Links;
use crate::model::{Event, Selection, TopicInfo};

pub fn run(
    conn: &Connection,
    config: &Config,
    args: &EventsArgs,
    out: &mut dyn Write,
) -> Result<()> {
    if conn.isolation == crate::config::ReadIsolation::Uncommitted
        && (args.follow
            || args.where_.is_some()
            || matches!(args.from, Some(crate::model::Position::Index(_))))
    {
        anyhow::bail!("--isolation uncommitted marks aborted and open records only on a plain read, and a stream index counts committed events: drop --follow, --where and --from INDEX, or read committed records");
    }
    let search = args
        .where_
        .as_deref()
        .map(Where::compile)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--where: {e}"))?;
    let cluster = Cluster::connect(conn)?;
    let topic = cluster.topic(&args.topic)?;
    let selection = Selection {
        aggregate: args.aggregate.clone(),
        partition: args.partition,
        from: args.from,
        since: args.since,
        until: args.until,
        limit: args.limit,
        last: args.last,
    };
    // An aggregate keyed by its id lives in one partition: read only that one, unless
    // it turns out to be empty there (producers that place keys otherwise).
    let keyed = match (&args.aggregate, args.partition) {
        (Some(aggregate), None) => {
            config.key_partition(&args.topic, aggregate, topic.partitions.len())
        }
        _ => None,
    };
    if let Some(p) = keyed {
        let only = Selection {
            partition: Some(p),
            ..selection.clone()
        };
        let one = TopicInfo {
            name: topic.name.clone(),
            partitions: topic
                .partitions
                .iter()
                .filter(|q| q.partition == p)
                .copied()
                .collect(),
            settings: topic.settings.clone(),
            records: None,
        };
        let printed = emit(&cluster, config, &one, &only, search.as_ref(), out)?;
        if printed > 0 {
            return follow(&cluster, config, args, &one, &only, printed, out);
        }
        tracing::info!(topic = %topic.name, partition = p, "aggregate not in its key's partition: reading the whole topic");
    }
    let printed = emit(&cluster, config, &topic, &selection, search.as_ref(), out)?;
    follow(&cluster, config, args, &topic, &selection, printed, out)
}

/// With `--follow`: prints the selected events that arrive after the watermarks read
/// at the start, until interrupted or the limit is reached.
fn follow(
    cluster: &Cluster,
    config: &Config,
    args: &EventsArgs,
    topic: &TopicInfo,
    selection: &Selection,
    printed: usize,
    out: &mut dyn Write,
) -> Result<()> {
    if !args.follow || selection.limit.is_some_and(|l| printed >= l) {
        return Ok(());
    }
    let starts: Vec<(i32, i64)> = topic
        .partitions
        .iter()
        .filter(|p| selection.partition.is_none_or(|only| only == p.partition))
        .map(|p| (p.partition, p.high))
        .collect();
    let left = selection.limit.map(|l| l - printed);
    let mut count = 0;
    let mut write_error = None;
    cluster.scanner()?.follow(
        &topic.name,
        &starts,
        &config.rules_for(&topic.name),
        &mut |e| {
            if !selection.matches(&e) {
                return ControlFlow::Continue(());
            }
            count += 1;
            if let Err(err) = writeln!(out, "{}", super::json_text(&e.to_json(), false))
                .and_then(|()| out.flush())
            {
                write_error = Some(err);
                return ControlFlow::Break(());
            }
            match left.is_some_and(|l| count >= l) {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            }
        },
        &|| true,
    )?;
    match write_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Prints the selected events of `topic` (whose partitions may be a subset); says how
/// many were printed.
fn emit(
    cluster: &Cluster,
    config: &Config,
    topic: &TopicInfo,
    selection: &Selection,
    search: Option<&Where>,
    out: &mut dyn Write,
) -> Result<usize> {
    if let Some(search) = search {
        return emit_where(cluster, config, topic, selection, search, out);
    }
    let ranges = selection.ranges(&topic.partitions)?;
    let rules = config.rules_for(&topic.name);
    let compensations = config.compensations_for(&topic.name);
    let mut selector = selection.selector();
    let mut write_error = None;
    let mut printed = 0;
    let upcasts = Upcasts::new(config, &topic.name)?;
    let mut print = |event: &Event, links: Option<&Links>| match selector.offer(event) {
        Verdict::Skip => ControlFlow::Continue(()),
        Verdict::Done => ControlFlow::Break(()),
        Verdict::Emit => {
            let mut line = event.to_json();
            if let Some(links) = links {
                links.annotate(event.coord(), &mut line);
            }
            if let Some(upcasts) = &upcasts {
                upcasts.annotate(event, &mut line);
            }
            printed += 1;
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
        // Links need the whole topic (or the aggregate's partition): read it once,
        // link, then print from memory.
        let mut all = Vec::new();
        let _ = cluster.read_all(topic, &rules, &mut |e| {
            all.push(e);
            ControlFlow::Continue(())
        })?;
        // Records of aborted and open transactions (read uncommitted) never happened:
        // nothing is a duplicate of them or reversed by them.
        let happened: Vec<Event> = all
            .iter()
            .filter(|e| e.transaction.is_none())
            .cloned()
            .collect();
        let links = Links::build(&happened, &compensations);
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
            .scan(&topic.name, &ranges, &rules, &mut |e| print(&e, None))?;
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    Ok(printed)
}

/// `--where`: every record in range read at once and tested on every core (plain JSON
/// values straight from their bytes), then the matches printed in partition then offset
/// order through the selection (`--from N`, `--limit` count matches). Failures of the
/// predicate are counted and said on stderr.
fn emit_where(
    cluster: &Cluster,
    config: &Config,
    topic: &TopicInfo,
    selection: &Selection,
    search: &Where,
    out: &mut dyn Write,
) -> Result<usize> {
    let ranges = selection.ranges(&topic.partitions)?;
    let rules = config.rules_for(&topic.name);
    let code = search.source();
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut progress = crate::engine::progress::Progress::new(
        &topic.name,
        ranges.iter().map(|r| r.end - r.start).sum(),
    );
    let parts = cluster.scanner()?.index_parallel(
        &topic.name,
        &ranges,
        (0..workers).map(|_| Found::<Event>::default()).collect(),
        &|found: &mut Found<Event>, raw| {
            if !selection.in_window(raw.timestamp) {
                return;
            }
            if let Some(a) = &selection.aggregate {
                if crate::model::index::aggregate_and_type(raw, &rules).0 != a.as_str() {
                    return;
                }
            }
            let at = crate::model::Coord {
                partition: raw.partition,
                offset: raw.offset,
            };
            // Compiled on this thread already (`run` checked it compiles).
            let Some((verdict, event)) = crate::model::search::test_raw(code, raw, &rules) else {
                return;
            };
            match verdict {
                Ok(true) => {
                    let event = event.unwrap_or_else(|| Event::decode(raw, &rules));
                    found.matches.push((at, event));
                }
                Ok(false) => {}
                Err(why) => found.fail(at, why),
            }
        },
        &mut || {
            progress.tick();
            ControlFlow::Continue(())
        },
    )?;
    drop(progress);
    let mut found = Found::default();
    for part in parts {
        found.merge(part);
    }
    found.matches.sort_by_key(|(at, _)| *at);
    let upcasts = Upcasts::new(config, &topic.name)?;
    let mut selector = selection.selector();
    let mut printed = 0;
    for (_, event) in &found.matches {
        match selector.offer(event) {
            Verdict::Skip => continue,
            Verdict::Done => break,
            Verdict::Emit => {}
        }
        let mut line = event.to_json();
        if let Some(upcasts) = &upcasts {
            upcasts.annotate(event, &mut line);
        }
        printed += 1;
        writeln!(out, "{}", super::json_text(&line, false))?;
        if selector.is_done() {
            break;
        }
    }
    out.flush()?;
    if let Some((at, why)) = &found.first_failure {
        eprintln!(
            "--where failed on {} event(s) of {} (counted as no match); the first at {at}: {why}",
            found.failed, topic.name
        );
    }
    Ok(printed)
}

/// The topic's upcasters, for the `"upcast"` of each event line they apply to. They
/// run where reducers run (isolated, under the same budget), an event at a time.
struct Upcasts {
    fold: std::rc::Rc<dyn crate::model::reducer::Fold>,
    /// The event types some upcaster is for.
    types: std::collections::HashSet<String>,
}

impl Upcasts {
    fn new(config: &Config, topic: &str) -> Result<Option<Upcasts>> {
        let logic = config.logic_for(topic);
        if logic.upcasters.is_empty() {
            return Ok(None);
        }
        let types = logic
            .upcasters
            .keys()
            .filter_map(|k| k.rsplit_once('@').map(|(t, _)| t.to_owned()))
            .collect();
        Ok(Some(Upcasts {
            fold: crate::isolation::fold_for(config, &logic)?,
            types,
        }))
    }

    /// Adds `"upcast": VALUE` where an upcaster applied, `"upcast_error"` where the
    /// chain failed.
    fn annotate(&self, event: &Event, line: &mut serde_json::Value) {
        use crate::model::reducer::{from_val, new_stream_id, to_val, Step};
        if !self.types.contains(&event.event_type) || event.decode_error.is_some() {
            return;
        }
        let (value, meta) = (to_val(&event.value.to_json()), to_val(&event.meta(0)));
        let stream = new_stream_id();
        let step = Step {
            stream,
            index: 0,
            event_type: &event.event_type,
            event: &value,
            meta: &meta,
            text: None,
            undecodable: None,
        };
        let folded = self.fold.fold(jaq_json::Val::Null, &[step]);
        self.fold.forget(stream);
        if let Some((_, v)) = folded.upcasts.first() {
            line["upcast"] = from_val(v);
        } else if let Some((_, e)) = folded
            .errors
            .iter()
            .find(|(_, e)| e.starts_with("upcaster"))
        {
            line["upcast_error"] = serde_json::json!(e);
        }
    }
}
