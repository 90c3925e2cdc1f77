//! `rewind groups`.

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
    let (groups, listing_gap) = Cluster::connect(conn)?.groups(only, &conn.groups)?;
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
        ">MEMBERS",
        "TOPIC",
        ">PARTITION",
        ">COMMITTED",
        ">HIGH",
        ">LAG",
    ]);
    for g in &groups {
        let head = vec![
            g.name.clone(),
            g.state.name().to_owned(),
            g.members.len().to_string(),
        ];
        if g.offsets.is_empty() {
            table.row(
                [
                    head.clone(),
                    vec!["-".into(), "".into(), "".into(), "".into(), "".into()],
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
