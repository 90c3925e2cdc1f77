//! `rewind groups`.

use crate::model::group::duration_label;
use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use super::Table;
use crate::cli::Output;
use crate::config::Connection;
use crate::kafka::Cluster;

pub fn run(
    conn: &Connection,
    only: Option<&str>,
    output: Output,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = Cluster::connect(conn)?;
    let (mut groups, listing_gap) = cluster.groups(only, &conn.groups)?;
    for g in &mut groups {
        cluster.read_lag_times(&mut g.offsets)?;
    }
    if let Some(gap) = &listing_gap {
        // The groups shown are still described by name; only the listing is partial.
        tracing::info!(gap, "group listing incomplete");
    }
    if output == Output::Json {
        let json: Vec<Value> = groups.iter().map(|g| g.to_json()).collect();
        writeln!(out, "{}", super::json_text(&json, true))?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "GROUP",
        "STATE",
        "TYPE",
        ">MEMBERS",
        "TOPIC",
        ">PARTITION",
        ">COMMITTED",
        ">HIGH",
        ">LAG",
        ">BEHIND",
    ]);
    for g in &groups {
        let head = vec![
            g.name.clone(),
            g.state.name().to_owned(),
            g.kind.name().to_owned(),
            g.members.len().to_string(),
        ];
        if g.offsets.is_empty() {
            table.row(
                [
                    head.clone(),
                    vec![
                        "-".into(),
                        "".into(),
                        "".into(),
                        "".into(),
                        "".into(),
                        "".into(),
                    ],
                ]
                .concat(),
            );
        }
        for o in &g.offsets {
            let show = |v: Option<i64>| v.map_or("-".to_owned(), |v| v.to_string());
            table.row(
                [
                    head.clone(),
                    vec![
                        o.topic.clone(),
                        o.partition.to_string(),
                        show(o.committed),
                        o.high.to_string(),
                        show(o.lag()),
                        o.lag_ms().map_or("-".to_owned(), duration_label),
                    ],
                ]
                .concat(),
            );
        }
    }
    table.print(out)?;
    if let Some(why) = groups.iter().find_map(|g| match &g.state {
        crate::model::group::GroupState::Unknown(why) => Some(why),
        _ => None,
    }) {
        writeln!(
            out,
            "\nstate unknown: {why}; a reset of such a group needs --allow-unknown-state"
        )?;
    }
    if let Some(gap) = &listing_gap {
        writeln!(
            out,
            "\nthe listing may be incomplete ({gap}); name a group with --group or in the profile's groups = [...] to describe it"
        )?;
    }
    if groups.is_empty() {
        writeln!(
            out,
            "no consumer groups{}",
            match only {
                Some(_) => String::new(),
                None =>
                    " (name one with --group, or list them in the profile's groups = [...])".into(),
            }
        )?;
    }
    Ok(())
}

/// `groups --group G --watch`: a line per tick with the group's lag in events and in
/// time, its consumption rate and the time to catch up at it, until it has caught up.
/// A group that goes away (no offsets any more) is said, and the watch ends with an
/// error.
pub fn watch(
    conn: &Connection,
    group: &str,
    tick: std::time::Duration,
    replay: Option<&[(String, i32, i64)]>,
    out: &mut dyn Write,
) -> Result<()> {
    let cluster = Cluster::connect(conn)?;
    let mut before: Option<(std::time::Instant, i64)> = None;
    loop {
        let (groups, _) = cluster.groups(Some(group), &conn.groups)?;
        let Some(mut g) = groups.into_iter().find(|g| g.name == group) else {
            anyhow::bail!("group {group} is gone: its coordinator no longer knows it");
        };
        if g.offsets.is_empty() {
            anyhow::bail!(
                "group {group} has no committed offsets (any more): nothing to watch (state {})",
                g.state.name()
            );
        }
        cluster.read_lag_times(&mut g.offsets)?;
        let now = std::time::Instant::now();
        let (lag, consumed) = (g.lag(), g.consumed());
        let (rate, eta) = match before {
            Some((at, was)) => {
                crate::model::group::catch_up(was, consumed, (now - at).as_secs_f64(), lag)
            }
            None => (0.0, None),
        };
        let eta = match (lag, eta) {
            (0, _) => "caught up".to_owned(),
            (_, Some(s)) => format!("caught up in {}", duration_label((s * 1000.0) as i64)),
            (_, None) if before.is_none() => "rate after the next tick".to_owned(),
            (_, None) => "not moving".to_owned(),
        };
        // After a reset: the events re-processed since, of the plan's (target → end).
        let replayed = replay.map(|targets| {
            let (done, total) = g.replayed(targets);
            format!("re-processed {done} of {total}, ")
        });
        writeln!(
            out,
            "{} {group} {}: {}lag {lag} event(s), {} behind, {rate:.1} events/s, {eta}",
            chrono::Utc::now().format("%H:%M:%S"),
            g.state.name(),
            replayed.unwrap_or_default(),
            g.lag_ms().map_or("-".to_owned(), duration_label),
        )?;
        out.flush()?;
        if lag == 0 {
            return Ok(());
        }
        before = Some((now, consumed));
        std::thread::sleep(tick);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lag_in_time_reads_short() {
        let cases = [
            (0, "0s"),
            (850, "850ms"),
            (5_000, "5s"),
            (725_000, "12m 5s"),
            (11_520_000, "3h 12m"),
            (183_600_000, "2d 3h"),
        ];
        for (ms, text) in cases {
            assert_eq!(super::duration_label(ms), text);
        }
    }
}
