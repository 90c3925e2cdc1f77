//! Making a rewind plan against the cluster, and executing it safely. The decisions are
//! the model's (`model::plan`, `model::group`); this reads what they need and commits.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{Cluster, ClusterError, Scanner, WritePath};
use crate::model::plan::{self, GroupPartition, Plan, Scope, TimeOffset, TimeSource};
use crate::model::select::PartitionRange;
use crate::model::{Event, TopicRules};
use crate::pool::Client;

/// What rewind already knows from its own index of the topic (the TUI's loaded events).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    /// The marked event's timestamp.
    pub event_time: Option<i64>,
    /// Per partition, the first offset at or after the scope's time, `None` when no
    /// loaded event is (then: the log end).
    pub times: BTreeMap<i32, Option<i64>>,
    /// The marked aggregate's events.
    pub aggregate_events: Vec<Event>,
}

/// What to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    pub group: String,
    pub topic: String,
    pub scope: Scope,
    pub now_ms: i64,
    /// Targets due to be deleted by retention within this many ms are said to be.
    pub retention_warn_ms: i64,
    /// The aggregate whose re-delivered events to list (default: the marked event's).
    pub aggregate: Option<String>,
    pub known: Option<Known>,
}

/// Reads offsets, resolves times and first events, and makes the plan, with the
/// client's cluster and a scan consumer it lends.
pub fn make_plan(client: &Client, rules: &TopicRules, req: &PlanRequest) -> Result<Plan> {
    client.lend(|scanner| {
        let plan = plan_with(&client.cluster, scanner, rules, req);
        // A Kafka error leaves the consumer out of the pool; a refusal does not.
        let kept = plan
            .as_ref()
            .map_or_else(|e| e.downcast_ref::<ClusterError>().is_none(), |_| true);
        (plan, kept)
    })?
}

fn plan_with(
    cluster: &Cluster,
    scanner: &Scanner,
    rules: &TopicRules,
    req: &PlanRequest,
) -> Result<Plan> {
    let info = cluster.topic(&req.topic)?;
    let committed = cluster.committed(&req.group, std::slice::from_ref(&info))?;
    let partitions: Vec<GroupPartition> = info
        .partitions
        .iter()
        .zip(&committed)
        .map(|(p, c)| GroupPartition {
            partition: p.partition,
            low: p.low,
            high: p.high,
            committed: c.committed,
        })
        .collect();
    let high_of = |partition: i32| {
        partitions
            .iter()
            .find(|p| p.partition == partition)
            .map(|p| p.high)
    };
    let mut marked: Option<Event> = None;
    if let Scope::Event(at) = &req.scope {
        let Some(high) = high_of(at.partition) else {
            bail!(
                "partition {} does not exist in {} (it has {})",
                at.partition,
                req.topic,
                partitions.len()
            );
        };
        let event = scanner.first_at(&req.topic, at.partition, at.offset, high, rules)?;
        match event {
            Some(e) if e.offset == at.offset => marked = Some(e),
            _ => bail!(
                "there is no event at {at} in {} (partition {} holds offsets {}..{}); `rewind events {} --partition {}` lists them",
                req.topic,
                at.partition,
                partitions.iter().find(|p| p.partition == at.partition).map_or(0, |p| p.low),
                high,
                req.topic,
                at.partition
            ),
        }
    }
    let event_time = req
        .known
        .as_ref()
        .and_then(|k| k.event_time)
        .or_else(|| marked.as_ref().and_then(|e| e.timestamp));
    if matches!(req.scope, Scope::Event(_)) && event_time.is_none() {
        bail!("the marked event has no timestamp, so the other partitions cannot be placed; use --to-offset per partition or --from-file");
    }
    let time = plan::scope_time(&req.scope, req.now_ms, event_time);
    let mut times = BTreeMap::new();
    if let Some(t) = time {
        let needed: Vec<&GroupPartition> = plan::partitions_needing_time(&req.scope, &partitions)
            .into_iter()
            .filter_map(|n| partitions.iter().find(|p| p.partition == n))
            .collect();
        match &req.known {
            Some(known) => {
                for p in needed {
                    let offset = known
                        .times
                        .get(&p.partition)
                        .copied()
                        .flatten()
                        .unwrap_or(p.high);
                    times.insert(
                        p.partition,
                        TimeOffset {
                            offset,
                            source: TimeSource::Index,
                        },
                    );
                }
            }
            None => {
                let asked: Vec<(i32, i64)> = needed.iter().map(|p| (p.partition, p.high)).collect();
                let answers = cluster.offsets_for_time(&req.topic, &asked, t)?;
                for (p, answer) in needed.into_iter().zip(answers) {
                    times.insert(
                        p.partition,
                        resolve_time(scanner, &req.topic, rules, p, t, answer)?,
                    );
                }
            }
        }
    }
    let mut partitions = plan::targets(&req.topic, &req.scope, &partitions, &times)?;
    for p in partitions.iter_mut().filter(|p| p.target < p.high) {
        p.first_event = scanner.first_at(&req.topic, p.partition, p.target, p.high, rules)?;
    }
    count_records(scanner, &req.topic, &mut partitions)?;
    let settings = cluster
        .settings(std::iter::once(req.topic.as_str()))
        .remove(0);
    for p in partitions.iter_mut() {
        p.set_expiry(&settings, req.now_ms, req.retention_warn_ms);
    }
    let aggregate = req
        .aggregate
        .clone()
        .or_else(|| marked.as_ref().map(|e| e.aggregate.clone()))
        .or_else(|| {
            req.known
                .as_ref()
                .and_then(|k| k.aggregate_events.first())
                .map(|e| e.aggregate.clone())
        });
    let impact = match aggregate {
        None => None,
        Some(aggregate) => Some(match &req.known {
            Some(known) => plan::impact(&partitions, &aggregate, &known.aggregate_events),
            None => {
                let ranges: Vec<PartitionRange> = partitions
                    .iter()
                    .map(|p| PartitionRange {
                        partition: p.partition,
                        start: p.target,
                        end: p.high,
                    })
                    .collect();
                let mut events = Vec::new();
                let _ = scanner.scan(&req.topic, &ranges, rules, &mut |e| {
                    if e.aggregate == aggregate {
                        events.push(e);
                    }
                    ControlFlow::Continue(())
                })?;
                plan::impact(&partitions, &aggregate, &events)
            }
        }),
    };
    Ok(Plan {
        group: req.group.clone(),
        topic: req.topic.clone(),
        scope: req.scope.clone(),
        time,
        partitions,
        impact,
    })
}

/// Counts the records each partition's change moves over (read_committed: what the group
/// will receive), all partitions read at once.
fn count_records(
    scanner: &Scanner,
    topic: &str,
    partitions: &mut [plan::PartitionPlan],
) -> Result<()> {
    let ranges: Vec<PartitionRange> = partitions
        .iter()
        .filter_map(|p| {
            let (start, end) = p.moved_range()?;
            Some(PartitionRange {
                partition: p.partition,
                start,
                end,
            })
        })
        .collect();
    let mut counted: BTreeMap<i32, i64> = BTreeMap::new();
    let _ = scanner.scan_unordered(topic, &ranges, &mut |r| {
        *counted.entry(r.partition).or_default() += 1;
        ControlFlow::Continue(())
    })?;
    for p in partitions.iter_mut() {
        if p.current.is_some() {
            p.set_records(counted.get(&p.partition).copied().unwrap_or(0));
        }
    }
    Ok(())
}

/// Takes the broker's answer for a time when the records around it agree, else searches
/// the records.
fn resolve_time(
    scanner: &Scanner,
    topic: &str,
    rules: &TopicRules,
    p: &GroupPartition,
    t: i64,
    answer: Option<i64>,
) -> Result<TimeOffset> {
    let probe = |offset: i64| -> Result<Option<(i64, i64)>> {
        if offset >= p.high {
            return Ok(None);
        }
        let e = scanner.first_at(topic, p.partition, offset.max(p.low), p.high, rules)?;
        Ok(e.map(|e| (e.offset, e.timestamp.unwrap_or(i64::MIN))))
    };
    if let Some(answer) = answer {
        let at = probe(answer)?
            .filter(|(o, _)| *o == answer)
            .map(|(_, ts)| ts);
        let before = match answer > p.low {
            true => probe(answer - 1)?
                .filter(|(o, _)| *o < answer)
                .map(|(_, ts)| ts),
            false => None,
        };
        if plan::answer_agrees(t, answer, p, before, at) {
            return Ok(TimeOffset {
                offset: answer,
                source: TimeSource::Broker,
            });
        }
    }
    let offset = plan::search_time(p.low, p.high, t, probe)?;
    tracing::info!(
        topic,
        partition = p.partition,
        t,
        ?answer,
        offset,
        "broker time look-up contradicted by records"
    );
    Ok(TimeOffset {
        offset,
        source: TimeSource::Search { broker: answer },
    })
}

/// How to execute.
#[derive(Debug, Clone, Default)]
pub struct ExecuteOptions {
    pub allow_unknown_state: bool,
    /// Whether the group had consumers when the plan was made, where that was asked: a
    /// group without any then that has some now became active since.
    pub planned_active: Option<bool>,
    /// Where to write the undo file (default: a timestamped file in the state directory).
    pub undo_file: Option<PathBuf>,
}

/// What an executed plan did.
#[derive(Debug, Clone)]
pub struct Execution {
    pub undo_file: PathBuf,
    /// Partitions whose offset read back is not the target: (partition, target, found).
    pub mismatches: Vec<(i32, i64, Option<i64>)>,
    /// How the offsets were written.
    pub written_with: WritePath,
}

/// The default undo file for a group and topic.
pub fn default_undo_file(group: &str, topic: &str, now_ms: i64) -> PathBuf {
    let stamp = chrono::DateTime::from_timestamp_millis(now_ms)
        .map(|t| t.format("%Y%m%dT%H%M%S%.3fZ").to_string())
        .unwrap_or_else(|| now_ms.to_string());
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    crate::logging::state_dir().join("undo").join(format!(
        "{}-{}-{stamp}.csv",
        safe(group),
        safe(topic)
    ))
}

/// A refusal to commit, saying that the group became active since the plan where it
/// had no consumers then.
fn became_active(
    status: &crate::model::group::GroupStatus,
    options: &ExecuteOptions,
    refusal: String,
) -> anyhow::Error {
    match options.planned_active == Some(false) && status.state.is_active() {
        true => anyhow::anyhow!("the group became active since the plan was made: {refusal}"),
        false => anyhow::Error::msg(refusal),
    }
}

/// Executes a plan: refuses when read-only or the group is active (checked twice, the
/// second time right before committing) or its offsets moved since the plan; writes the
/// undo file; commits; reads the offsets back. A refusal changes nothing.
pub fn execute(cluster: &Cluster, plan: &Plan, options: &ExecuteOptions) -> Result<Execution> {
    let group = &plan.group;
    if cluster.conn.read_only {
        bail!("refusing to commit offsets for group {group}: rewind is read-only here (--read-only or the profile's read_only = true); nothing was changed");
    }
    let status = cluster.group_state(group);
    status
        .check_resettable(group, options.allow_unknown_state)
        .map_err(|e| became_active(&status, options, e))?;
    let info = cluster.topic(&plan.topic)?;
    let now: Vec<Option<i64>> = cluster
        .committed(group, std::slice::from_ref(&info))?
        .into_iter()
        .map(|o| o.committed)
        .collect();
    for p in &plan.partitions {
        let found = info
            .partitions
            .iter()
            .position(|q| q.partition == p.partition)
            .and_then(|i| now[i]);
        if found != p.current {
            bail!(
                "group {group}'s offset on partition {} moved from {} to {} since the plan was made; make the plan again; nothing was changed",
                p.partition,
                show(p.current),
                show(found)
            );
        }
    }
    let undo_file = options.undo_file.clone().unwrap_or_else(|| {
        default_undo_file(group, &plan.topic, chrono::Utc::now().timestamp_millis())
    });
    write_undo(&undo_file, &plan.undo_csv())?;
    // Checked again immediately before committing: a consumer may have joined meanwhile.
    let status = cluster.group_state(group);
    status
        .check_resettable(group, options.allow_unknown_state)
        .map_err(|e| {
            anyhow::anyhow!(
                "{} (the undo file {} was written but not needed)",
                became_active(&status, options, e),
                undo_file.display()
            )
        })?;
    let offsets: Vec<(i32, i64)> = plan
        .partitions
        .iter()
        .map(|p| (p.partition, p.target))
        .collect();
    let committed = cluster.write_offsets(group, &plan.topic, &offsets);
    let back = cluster.committed(group, std::slice::from_ref(&info));
    let mismatches: Vec<(i32, i64, Option<i64>)> = match &back {
        Ok(back) => plan
            .partitions
            .iter()
            .filter_map(|p| {
                let found = back
                    .iter()
                    .find(|o| o.partition == p.partition)
                    .and_then(|o| o.committed);
                (found != Some(p.target)).then_some((p.partition, p.target, found))
            })
            .collect(),
        Err(_) => vec![],
    };
    let written_with = match committed {
        Ok(path) => path,
        Err(e) => {
            let detail: Vec<String> = mismatches
                .iter()
                .map(|(p, target, found)| {
                    format!("partition {p}: wanted {target}, now {}", show(*found))
                })
                .collect();
            bail!(
                "{e}. {}; to put back what changed: {}",
                if detail.is_empty() {
                    "No partition reads back changed".to_owned()
                } else {
                    detail.join(", ")
                },
                crate::model::plan::undo_command(
                    group,
                    &plan.topic,
                    &undo_file,
                    options.allow_unknown_state
                )
            );
        }
    };
    back.context("the commit succeeded but reading the offsets back failed")?;
    Ok(Execution {
        undo_file,
        mismatches,
        written_with,
    })
}

fn show(offset: Option<i64>) -> String {
    offset.map_or("none".to_owned(), |o| o.to_string())
}

fn write_undo(path: &Path, csv: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "cannot create {} for the undo file; nothing was changed",
                dir.display()
            )
        })?;
    }
    std::fs::write(path, csv).with_context(|| {
        format!(
            "cannot write the undo file {}; nothing was changed",
            path.display()
        )
    })
}
