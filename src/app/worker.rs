//! Runs `Command`s off the UI thread and reports back with `Msg`s.

use std::ops::ControlFlow;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Command, Msg, Rewound};
use crate::config::{Config, Connection};
use crate::kafka::rewind::{execute, make_plan, ExecuteOptions};
use crate::kafka::Cluster;
use crate::kafka::ClusterError;
use crate::model::snapshot::StoredSnapshot;

/// Events are sent to the UI in batches at most this often.
const BATCH_EVERY: Duration = Duration::from_millis(50);

/// How long to wait before trying an unreachable broker again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Executes commands on background threads; each command gets its own thread so a
/// slow topic load never delays a metadata refresh.
pub struct Worker {
    conn: Connection,
    config: std::sync::Arc<Config>,
    tx: Sender<Msg>,
    /// The generation of the topic the UI wants now: loads of older ones stop retrying.
    latest: Arc<AtomicU64>,
    /// The generation being followed (0: none).
    following: Arc<AtomicU64>,
}

impl Worker {
    pub fn new(conn: Connection, config: Config, tx: Sender<Msg>) -> Worker {
        Worker {
            conn,
            config: std::sync::Arc::new(config),
            tx,
            latest: Arc::new(AtomicU64::new(0)),
            following: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The generation of the topic being loaded (0: none wanted any more).
    pub fn loading(&self) -> u64 {
        self.latest.load(Ordering::Relaxed)
    }

    /// The generation of the topic being followed (0: none).
    pub fn following(&self) -> u64 {
        self.following.load(Ordering::Relaxed)
    }

    /// Starts a command in the background.
    pub fn spawn(&self, command: Command) {
        let (conn, config, tx) = (self.conn.clone(), self.config.clone(), self.tx.clone());
        if let Command::LoadTopic { generation, .. } = &command {
            self.latest.store(*generation, Ordering::Relaxed);
        }
        let latest = self.latest.clone();
        match &command {
            Command::Follow { generation, .. } => {
                self.following.store(*generation, Ordering::Relaxed)
            }
            Command::LoadTopic { .. } => self.following.store(0, Ordering::Relaxed),
            // Nothing to run: the load and the follow see the flags and stop.
            Command::StopFollow => return self.following.store(0, Ordering::Relaxed),
            Command::StopTopic => {
                self.following.store(0, Ordering::Relaxed);
                return self.latest.store(0, Ordering::Relaxed);
            }
            _ => {}
        }
        let following = self.following.clone();
        std::thread::spawn(move || match command {
            Command::LoadTopics => {
                let result = Cluster::connect(&conn)
                    .and_then(|c| c.topics())
                    .map_err(|e| e.to_string());
                let _ = tx.send(Msg::Topics(result));
            }
            Command::LoadTopic { topic, generation } => {
                let result = load_topic(&conn, &config, &topic, generation, &tx, &latest);
                let loaded = result.is_ok();
                let _ = tx.send(Msg::Loaded {
                    generation,
                    result: result.map_err(|e| format!("{e:#}")),
                });
                if loaded {
                    let msg = match load_snapshots(&conn, &config, &topic) {
                        Ok(Some(snapshots)) => Msg::Snapshots {
                            generation,
                            snapshots,
                        },
                        Ok(None) => return,
                        Err(e) => Msg::Warning {
                            generation,
                            message: format!("snapshots of {topic} not loaded: {e:#}"),
                        },
                    };
                    let _ = tx.send(msg);
                }
            }
            Command::SaveMarks { path, text } => {
                let saved = path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&path, text));
                if let Err(e) = saved {
                    tracing::warn!(path = %path.display(), error = %e, "marks not saved");
                    let _ = tx.send(Msg::Status(format!(
                        "marks not saved to {}: {e}",
                        path.display()
                    )));
                }
            }
            Command::LoadGroups { also } => {
                let wanted: Vec<String> = conn.groups.iter().cloned().chain(also).collect();
                let groups = Cluster::connect(&conn)
                    .and_then(|c| c.groups(None, &wanted))
                    .map(|(groups, _)| groups)
                    .map_err(|e| e.to_string());
                let _ = tx.send(Msg::Groups(groups));
            }
            Command::PlanRewind(request) => {
                let plan = Cluster::connect(&conn)
                    .map_err(anyhow::Error::from)
                    .and_then(|c| {
                        let plan = make_plan(&c, &config.rules_for(&request.topic), &request)?;
                        Ok((plan, c.group_state(&request.group)))
                    })
                    .map_err(|e| format!("{e:#}"));
                let _ = tx.send(Msg::Plan(plan));
            }
            Command::ExecuteRewind {
                plan,
                allow_unknown,
            } => {
                let options = ExecuteOptions {
                    allow_unknown_state: allow_unknown,
                    undo_file: None,
                };
                let result = Cluster::connect(&conn)
                    .map_err(anyhow::Error::from)
                    .and_then(|c| execute(&c, &plan, &options))
                    .map(|e| Rewound {
                        group: plan.group.clone(),
                        allow_unknown,
                        topic: plan.topic.clone(),
                        undo_file: e.undo_file,
                        mismatches: e.mismatches,
                        written_with: e.written_with,
                    })
                    .map_err(|e| format!("{e:#}"));
                let _ = tx.send(Msg::Rewound(result));
            }
            Command::StopFollow | Command::StopTopic => {}
            Command::Fetch {
                topic,
                generation,
                coords,
            } => {
                let fetched = Cluster::connect(&conn).and_then(|c| {
                    let wanted: std::collections::HashSet<_> = coords.iter().copied().collect();
                    let mut events = Vec::new();
                    // Runs of nearby records in one range each, not a fetch per record.
                    let ranges = crate::model::select::runs(&coords, 64);
                    let _ = c.scanner()?.scan(
                        &topic,
                        &ranges,
                        &config.rules_for(&topic),
                        &mut |e| {
                            if wanted.contains(&e.coord()) {
                                events.push(e);
                            }
                            ControlFlow::Continue(())
                        },
                    )?;
                    Ok(events)
                });
                let msg = match fetched {
                    Ok(events) => Msg::Fetched { generation, events },
                    Err(e) => Msg::FetchFailed {
                        generation,
                        coords,
                        message: format!(
                            "events of {topic} not read again: {e}; R reloads the topic"
                        ),
                    },
                };
                let _ = tx.send(msg);
            }
            Command::Follow {
                topic,
                generation,
                starts,
            } => {
                // New events go to the UI in batches, at most every BATCH_EVERY; a batch
                // still waiting is sent between polls, when the stream is quiet.
                let pending = std::cell::RefCell::new((Vec::new(), Instant::now()));
                let flush = |force: bool| -> bool {
                    let mut pending = pending.borrow_mut();
                    if pending.0.is_empty() || (!force && pending.1.elapsed() < BATCH_EVERY) {
                        return true;
                    }
                    pending.1 = Instant::now();
                    let events = std::mem::take(&mut pending.0);
                    tx.send(Msg::Events { generation, events }).is_ok()
                };
                let wanted = || flush(true) && following.load(Ordering::Relaxed) == generation;
                let followed = Cluster::connect(&conn).and_then(|c| {
                    let info = c.topic(&topic)?;
                    let starts: Vec<(i32, i64)> = info
                        .partitions
                        .iter()
                        .map(|p| {
                            (
                                p.partition,
                                starts.get(&p.partition).copied().unwrap_or(p.low),
                            )
                        })
                        .collect();
                    c.scanner()?.follow(
                        &topic,
                        &starts,
                        &config.rules_for(&topic),
                        &mut |event| {
                            pending.borrow_mut().0.push(event);
                            match flush(false) {
                                true => ControlFlow::Continue(()),
                                false => ControlFlow::Break(()),
                            }
                        },
                        &wanted,
                    )
                });
                if let Err(e) = followed {
                    let _ = tx.send(Msg::Warning {
                        generation,
                        message: format!("stopped following {topic}: {e}"),
                    });
                }
            }
            Command::Produce(draft) => {
                let result = Cluster::connect(&conn)
                    .map_err(anyhow::Error::from)
                    .and_then(|c| c.produce(&draft))
                    .map_err(|e| format!("{e:#}"));
                let _ = tx.send(Msg::Produced(result));
            }
        });
    }
}

fn load_topic(
    conn: &Connection,
    config: &Config,
    topic: &str,
    generation: u64,
    tx: &Sender<Msg>,
    latest: &AtomicU64,
) -> anyhow::Result<()> {
    // Stop retrying once the user has moved on to another topic.
    let wanted = || latest.load(Ordering::Relaxed) == generation;
    let cluster = Cluster::connect(conn)?;
    let mut disconnected = false;
    let info = loop {
        match cluster.topic(topic) {
            Ok(info) => break info,
            Err(e @ ClusterError::Unreachable { .. }) if wanted() => {
                disconnected = true;
                if tx.send(Msg::Connection(Some(e.to_string()))).is_err() {
                    return Ok(());
                }
                std::thread::sleep(RETRY_EVERY);
            }
            Err(e) => return Err(e.into()),
        }
    };
    if disconnected {
        let _ = tx.send(Msg::Connection(None));
    }
    let _ = tx.send(Msg::TopicSize {
        generation,
        total: info.count(),
    });
    let rules = config.rules_for(topic);
    // Where each partition's reading stands, so a scan that stalls resumes there.
    let mut next = info.ranges();
    let mut batch = Vec::new();
    let mut last_send = Instant::now();
    loop {
        // A fresh consumer per attempt: it finds the partition leaders anew.
        let scanner = cluster.scanner()?;
        let mut watch = |trouble: Option<String>| {
            let _ = tx.send(Msg::Connection(trouble));
        };
        let ranges = next.clone();
        let scanned = scanner.scan_watching(
            topic,
            &ranges,
            &rules,
            &mut |event| {
                if let Some(range) = next.iter_mut().find(|r| r.partition == event.partition) {
                    range.start = event.offset + 1;
                }
                batch.push(event);
                if last_send.elapsed() >= BATCH_EVERY {
                    last_send = Instant::now();
                    let events = std::mem::take(&mut batch);
                    if tx.send(Msg::Events { generation, events }).is_err() || !wanted() {
                        return ControlFlow::Break(()); // the UI is gone, or elsewhere
                    }
                }
                ControlFlow::Continue(())
            },
            &mut watch,
        );
        match scanned {
            Ok(ControlFlow::Break(())) => return Ok(()),
            Ok(ControlFlow::Continue(())) => break,
            Err(e @ (ClusterError::Stalled { .. } | ClusterError::Unreachable { .. }))
                if wanted() =>
            {
                // What arrived stays; the rest is read when the broker is back.
                let events = std::mem::take(&mut batch);
                let _ = tx.send(Msg::Events { generation, events });
                if tx.send(Msg::Connection(Some(e.to_string()))).is_err() {
                    return Ok(());
                }
                std::thread::sleep(RETRY_EVERY);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let _ = tx.send(Msg::Events {
        generation,
        events: batch,
    });
    let _ = tx.send(Msg::Connection(None));
    Ok(())
}

/// Reads the topic's snapshot topic, if it has one: each snapshot with its aggregate.
fn load_snapshots(
    conn: &Connection,
    config: &Config,
    topic: &str,
) -> anyhow::Result<Option<Vec<(String, StoredSnapshot)>>> {
    let Some(rules) = config
        .topic(topic)
        .map(|t| t.snapshot_rules())
        .transpose()?
        .flatten()
    else {
        return Ok(None);
    };
    let cluster = Cluster::connect(conn)?;
    let info = cluster.topic(&rules.topic)?;
    let mut snapshots = Vec::new();
    let _ = cluster.read_all(&info, &config.rules_for(&rules.topic), &mut |record| {
        snapshots.push((record.aggregate.clone(), rules.read(&record)));
        ControlFlow::Continue(())
    })?;
    Ok(Some(snapshots))
}
