//! Runs `Command`s off the UI thread and reports back with `Msg`s.
//!
//! One worker thread takes the commands in order and owns one cluster client (made on
//! the first command that needs it) with a pool of scan consumers it lends out. Short
//! requests (metadata, payload fetches, groups, plans, writes) run on the worker thread
//! itself; a topic load and a follow run as jobs on threads of their own with the same
//! client, so they never hold up a fetch. A job stops when the UI no longer wants it:
//! the generation it carries is no longer the one `latest` or `following` holds.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::{Command, Msg, Rewound, WorkerError};
use crate::config::{Config, Connection};
use crate::engine::pool::{Client, Pool};
use crate::kafka::rewind::{execute, make_plan, ExecuteOptions};
use crate::kafka::ClusterError;

mod folds;
mod load;
mod offline;
mod search;

/// Events are sent to the UI in batches at most this often.
const BATCH_EVERY: Duration = Duration::from_millis(50);

/// Progress of a fold is sent to the UI at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How often a replay after a commit is sampled.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// How long to wait before trying an unreachable broker again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// The UI's handle on the worker thread.
pub struct Worker {
    queue: Sender<Command>,
    shared: Arc<Shared>,
}

/// What the worker thread and its jobs share.
struct Shared {
    /// The cluster client and its scan consumers, made on first use; its connection
    /// reads committed records (what folds, counts, plans and follows). With
    /// `--isolation uncommitted` the topic's load and the payloads it shows read every
    /// record, and mark those of aborted and open transactions (never folded).
    pool: Pool,
    /// The config in use: replaced whole when the app reads it again (`:reload`).
    config: std::sync::RwLock<Arc<Config>>,
    tx: Sender<Msg>,
    /// The generation of the topic the UI wants now (0: none): loads and fetches of
    /// other generations stop.
    latest: AtomicU64,
    /// The generation being followed (0: none).
    following: AtomicU64,
    /// The plan whose outcome is wanted (0: none): its fold stops when this moves on.
    outcome: AtomicU64,
    /// The replay being watched (0: none).
    watching: AtomicU64,
    /// The `/?JQ` search wanted (0: none).
    searching: AtomicU64,
    /// Whether the UI was told that indexes cannot be kept on disk.
    index_warned: std::sync::atomic::AtomicBool,
    /// Records read from the cluster by topic loads so far (with the index's checks).
    loaded: AtomicU64,
    /// `rewind --file`: a dump instead of a cluster (read-only, no groups).
    offline: Option<Arc<crate::model::dump::Dump>>,
}

impl Worker {
    pub fn new(conn: Connection, config: Config, tx: Sender<Msg>) -> Worker {
        Worker::start(conn, config, tx, None)
    }

    /// A worker that serves a dump (`rewind --file`): topics, events, snapshots and
    /// stories from the file; groups, plans and writes are refused with the reason.
    pub fn offline(dump: Arc<crate::model::dump::Dump>, config: Config, tx: Sender<Msg>) -> Worker {
        let conn = Connection {
            read_only: true,
            ..Connection::default()
        };
        Worker::start(conn, config, tx, Some(dump))
    }

    fn start(
        conn: Connection,
        config: Config,
        tx: Sender<Msg>,
        offline: Option<Arc<crate::model::dump::Dump>>,
    ) -> Worker {
        // The status line says when the brokers are lost and when they are back.
        let link = tx.clone();
        let pool = Pool::new(&conn).watching_link(Arc::new(move |trouble| {
            let _ = link.send(Msg::Connection(trouble));
        }));
        let shared = Arc::new(Shared {
            pool,
            config: std::sync::RwLock::new(Arc::new(config)),
            tx,
            latest: AtomicU64::new(0),
            following: AtomicU64::new(0),
            outcome: AtomicU64::new(0),
            watching: AtomicU64::new(0),
            searching: AtomicU64::new(0),
            index_warned: Default::default(),
            loaded: AtomicU64::new(0),
            offline,
        });
        let (queue, commands) = std::sync::mpsc::channel();
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("rewind-worker".into())
            .spawn(move || run(&worker, commands))
            .expect("the worker thread starts");
        Worker { queue, shared }
    }

    /// The generation of the topic being loaded (0: none wanted any more).
    pub fn loading(&self) -> u64 {
        self.shared.latest.load(Ordering::Relaxed)
    }

    /// The generation of the topic being followed (0: none).
    pub fn following(&self) -> u64 {
        self.shared.following.load(Ordering::Relaxed)
    }

    /// How many records topic loads have read from the cluster so far (the on-disk
    /// index's checks included; payloads fetched to be shown are not).
    pub fn records_loaded(&self) -> u64 {
        self.shared.loaded.load(Ordering::Relaxed)
    }

    /// A topic's id, once the cluster has given it (asked when the topics are listed,
    /// with an on-disk index to keep).
    pub fn topic_id(&self, topic: &str) -> Option<String> {
        self.shared.pool.made_client()?.topic_id(topic)
    }

    /// How many librdkafka clients the worker has made so far.
    pub fn clients_made(&self) -> usize {
        self.shared.pool.made()
    }

    /// Hands a command to the worker. What it supersedes is cancelled here, before the
    /// command is queued: a load or follow of another generation stops at its next
    /// batch or poll.
    pub fn submit(&self, command: Command) {
        let shared = &self.shared;
        match &command {
            Command::LoadTopic { generation, .. } => {
                shared.latest.store(*generation, Ordering::Relaxed);
                shared.following.store(0, Ordering::Relaxed);
            }
            Command::Follow { generation, .. } => {
                shared.following.store(*generation, Ordering::Relaxed)
            }
            Command::WatchReplay { id, .. } => shared.watching.store(id.0, Ordering::Relaxed),
            Command::PlanRewind { request, .. } | Command::FoldOutcome { request, .. } => {
                shared.outcome.store(request.0, Ordering::Relaxed)
            }
            Command::StopOutcome => return shared.outcome.store(0, Ordering::Relaxed),
            Command::Search { id, .. } => shared.searching.store(id.0, Ordering::Relaxed),
            // Nothing to run: the load, the follow and the watch see the flags and stop.
            Command::StopFollow => return shared.following.store(0, Ordering::Relaxed),
            Command::StopWatch => return shared.watching.store(0, Ordering::Relaxed),
            Command::StopTopic => {
                shared.following.store(0, Ordering::Relaxed);
                return shared.latest.store(0, Ordering::Relaxed);
            }
            _ => {}
        }
        // The worker thread only ends when this handle is dropped.
        let _ = self.queue.send(command);
    }
}

/// The worker thread: runs short commands in order and starts jobs for long ones.
fn run(shared: &Arc<Shared>, commands: Receiver<Command>) {
    for command in commands {
        match command {
            Command::LoadTopic { .. }
            | Command::Follow { .. }
            | Command::CheckTopic { .. }
            | Command::FoldOutcome { .. }
            | Command::Drift { .. }
            // A database that does not answer holds up none of the short commands.
            | Command::ReadModelRow { .. }
            | Command::LoadDatabaseSnapshots { .. }
            | Command::Search { .. }
            | Command::WatchReplay { .. } => {
                let job = shared.clone();
                std::thread::spawn(move || job.long(command));
            }
            Command::LoadTopics => {
                shared.short(Command::LoadTopics);
                // The Topics screen shows the groups that read the selected topic:
                // listed on a thread of their own, so that the short commands behind
                // do not wait for every group's coordinator. A dump has no groups.
                if shared.offline.is_none() {
                    let job = shared.clone();
                    std::thread::spawn(move || job.short(Command::LoadGroups { also: None }));
                }
            }
            command => shared.short(command),
        }
    }
}

/// The answer to a command that reads a file (`:reload`'s config, a candidate logic
/// file) or decodes kept bytes, made with `config`, the one in use; `None` for any
/// other command. The worker answers with it online and offline, and the UI tests in
/// its place.
pub fn read_file(config: &Config, command: &Command) -> Option<Msg> {
    Some(match command {
        Command::ReadConfig { path } => Msg::ConfigRead {
            path: path.clone(),
            result: Config::load(Some(path))
                .map(|mut read| {
                    // What the command line set stays: the on-disk index's place and
                    // the Schema Registry attached.
                    read.index_dir = config.index_dir.clone();
                    read.registry = config.registry.clone();
                    read.register_secrets();
                    Box::new(read)
                })
                .map_err(|e| WorkerError::of(&e)),
        },
        Command::DecodeKept {
            topic,
            generation,
            records,
        } => {
            let rules = config.rules_for(topic);
            Msg::Fetched {
                generation: *generation,
                events: records
                    .iter()
                    .map(|r| crate::model::Event::decode(&r.raw(topic), &rules))
                    .collect(),
            }
        }
        Command::ReadCandidate {
            file,
            topic,
            purpose,
        } => Msg::CandidateRead {
            file: file.clone(),
            purpose: *purpose,
            result: crate::engine::fold::candidate(config, Path::new(file), topic)
                .map_err(|e| WorkerError::of(&e)),
        },
        _ => return None,
    })
}

impl Shared {
    /// The cluster client, made on first use.
    fn client(&self) -> Result<Arc<Client>, ClusterError> {
        self.pool.client()
    }

    /// `read` against the dump offline, else against the cluster's client.
    fn read_source<T>(
        &self,
        read: impl FnOnce(&dyn crate::engine::source::Source, &Config) -> anyhow::Result<T>,
    ) -> Result<T, WorkerError> {
        let config = self.config();
        let result = match &self.offline {
            Some(dump) => read(&**dump, &config),
            None => self
                .client()
                .map_err(anyhow::Error::from)
                .and_then(|c| read(&*c, &config)),
        };
        result.map_err(|e| WorkerError::of(&e))
    }

    fn send_story(
        &self,
        request: super::StoryId,
        result: Result<Vec<(String, Vec<crate::model::Event>)>, WorkerError>,
    ) {
        self.send(Msg::Story { request, result });
    }

    /// The config in use now.
    fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn send(&self, msg: Msg) -> bool {
        self.tx.send(msg).is_ok()
    }

    fn short(&self, command: Command) {
        // Files, online or not.
        if let Some(msg) = read_file(&self.config(), &command) {
            if let Msg::ConfigRead {
                result: Ok(config), ..
            } = &msg
            {
                // The worker works with it from the next command on.
                *self.config.write().unwrap_or_else(PoisonError::into_inner) =
                    Arc::new((**config).clone());
            }
            self.send(msg);
            return;
        }
        // Events of one id, from the cluster or the dump alike.
        let command = match command {
            Command::LoadAggregate { request, topic, id } => {
                let result = self.read_source(|source, config| {
                    let events = source.aggregate(config, &topic, &id, false)?;
                    anyhow::ensure!(
                        !events.is_empty(),
                        "aggregate `{id}` has no events in {topic}"
                    );
                    Ok(vec![(topic.clone(), events)])
                });
                return self.send_story(request, result);
            }
            Command::LoadStory { request, name, id } => {
                let result = self.read_source(|source, config| {
                    crate::engine::story::read_events(source, config, &name, &id, false)
                });
                return self.send_story(request, result);
            }
            command => command,
        };
        if let Some(dump) = &self.offline {
            return self.serve_dump(dump, command);
        }
        match command {
            // Read above.
            Command::ReadConfig { .. }
            | Command::ReadCandidate { .. }
            | Command::DecodeKept { .. } => {}
            Command::LoadTopics => {
                let result = self.client().and_then(|c| {
                    let mut topics = c.cluster.topics_with_settings()?;
                    // Counted with the ids known so far; again once they arrive.
                    if let Some(root) = &self.config().index_dir {
                        let ids = c
                            .topic_ids
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .clone();
                        let cluster = c.id.get_or_init(|| c.cluster.id());
                        crate::kafka::records_from_indexes(root, cluster, &mut topics, &ids);
                    }
                    self.describe_topics(&c, &topics);
                    Ok(topics)
                });
                self.send(Msg::Topics(result.map_err(|e| WorkerError::cluster(&e))));
            }
            Command::SaveMarks { path, text } => self.save_marks(&path, &text),
            Command::LoadAggregate { .. } | Command::LoadStory { .. } => {} // read above
            Command::LoadGroups { also } => {
                let wanted: Vec<String> = self
                    .pool
                    .conn()
                    .groups
                    .iter()
                    .cloned()
                    .chain(also)
                    .collect();
                let groups = self
                    .client()
                    .and_then(|c| c.cluster.groups(None, &wanted))
                    .map(|(groups, _)| groups)
                    .map_err(|e| WorkerError::cluster(&e));
                self.send(Msg::Groups(groups));
            }
            Command::PlanRewind { request, ask } => {
                let result = self
                    .client()
                    .map_err(anyhow::Error::from)
                    .and_then(|c| {
                        let rules = self.config().rules_for(&ask.topic);
                        // Asked first: a share group has no offsets to shift, and the
                        // refusal says what it is rather than why the plan failed.
                        let status = c.cluster.group_state(&ask.group);
                        let plan = make_plan(&c, &rules, &ask).map_err(|e| {
                            match status.kind.reset_refusal(&ask.group) {
                                Some(why) => anyhow::anyhow!("{why} ({e})"),
                                None => e,
                            }
                        })?;
                        Ok((plan, status))
                    })
                    .map_err(|e| WorkerError::of(&e));
                self.send(Msg::Plan { request, result });
            }
            Command::ExecuteRewind {
                plan,
                allow_unknown,
            } => {
                let options = ExecuteOptions {
                    allow_unknown_state: allow_unknown,
                    // The dialog confirms no plan for a group with consumers.
                    planned_active: Some(false),
                    undo_file: None,
                };
                let result = self
                    .client()
                    .map_err(anyhow::Error::from)
                    .and_then(|c| execute(&c.cluster, &plan, &options))
                    .map(|e| Rewound {
                        group: plan.group.clone(),
                        allow_unknown,
                        topic: plan.topic.clone(),
                        undo_file: e.undo_file,
                        mismatches: e.mismatches,
                        written_with: e.written_with,
                    })
                    .map_err(|e| WorkerError::of(&e));
                self.send(Msg::Rewound(result));
            }
            Command::Produce(draft) => {
                let result = self
                    .client()
                    .map_err(anyhow::Error::from)
                    .and_then(|c| c.cluster.produce(&draft))
                    .map_err(|e| WorkerError::of(&e));
                self.send(Msg::Produced(result));
            }
            Command::Fetch {
                topic,
                generation,
                coords,
            } => self.fetch(&topic, generation, coords),
            // Handled in `submit` (flags) and `run` (jobs).
            Command::StopFollow
            | Command::StopTopic
            | Command::LoadTopic { .. }
            | Command::Follow { .. }
            | Command::CheckTopic { .. }
            | Command::FoldOutcome { .. }
            | Command::Drift { .. }
            | Command::Search { .. }
            | Command::WatchReplay { .. }
            | Command::StopWatch
            | Command::StopOutcome
            | Command::ReadModelRow { .. }
            | Command::LoadDatabaseSnapshots { .. } => {}
        }
    }

    fn save_marks(&self, path: &std::path::Path, text: &str) {
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            // Whole or not at all: a marks file cut short would not parse.
            .and_then(|()| crate::store::replace(path, text.as_bytes()));
        if let Err(e) = saved {
            tracing::warn!(path = %path.display(), error = %e, "marks not saved");
            self.send(Msg::Status(format!(
                "marks not saved to {}: {e}",
                path.display()
            )));
        }
    }

    /// Reads payloads again; skipped when their topic is no longer the one shown.
    fn fetch(&self, topic: &str, generation: u64, coords: Vec<crate::model::Coord>) {
        let wanted = || self.latest.load(Ordering::Relaxed) == generation;
        if !wanted() {
            return;
        }
        let fetched = self.client().and_then(|c| {
            let wanted_coords: std::collections::HashSet<_> = coords.iter().copied().collect();
            let mut events = Vec::new();
            // Runs of nearby records in one range each, not a fetch per record.
            let ranges = crate::model::select::runs(&coords, 64);
            let rules = self.config().rules_for(topic);
            // Read raw: the index the UI holds already marks the records of aborted and
            // open transactions (read uncommitted), which a decoding scan would read a
            // second time, committed, to tell.
            let _ = c.scan_shown(|scanner| {
                let sink = &mut |raw: &crate::model::event::RawRecord<'_>| {
                    let at = crate::model::Coord {
                        partition: raw.partition,
                        offset: raw.offset,
                    };
                    if wanted_coords.contains(&at) {
                        events.push(crate::model::Event::decode(raw, &rules));
                    }
                    match wanted() {
                        true => ControlFlow::Continue(()),
                        false => ControlFlow::Break(()),
                    }
                };
                scanner.scan_watching_raw(topic, &ranges, sink, &mut |_| {})
            })?;
            Ok(events)
        });
        let msg = match fetched {
            Ok(events) => Msg::Fetched { generation, events },
            Err(e) => Msg::FetchFailed {
                generation,
                coords,
                message: format!("events of {topic} not read again: {e}; R reloads the topic"),
            },
        };
        self.send(msg);
    }

    /// A job on its own thread: a topic load (then its snapshots) or a follow.
    fn long(&self, command: Command) {
        // A database is read the same way beside a cluster or a dump.
        let command = match command {
            Command::ReadModelRow {
                generation,
                topic,
                aggregate,
            } => return self.read_model_row(generation, &topic, aggregate),
            Command::LoadDatabaseSnapshots {
                generation,
                topic,
                aggregate,
            } => return self.database_snapshots(generation, &topic, aggregate),
            other => other,
        };
        if let Some(dump) = &self.offline {
            return self.serve_dump(dump, command);
        }
        match command {
            Command::FoldOutcome {
                request,
                plan,
                candidate,
            } => self.fold_outcome(request, &plan, candidate.map(|c| c.with)),
            Command::Drift { generation, topic } => self.drift(generation, &topic),
            Command::LoadTopic {
                topic,
                generation,
                window,
            } => {
                let result = self.load_topic(&topic, generation, &window);
                let loaded = result.is_ok();
                self.send(Msg::Loaded {
                    generation,
                    result: result.map_err(|e| WorkerError::of(&e)),
                });
                if !loaded {
                    return;
                }
                let msg = match self.load_snapshots(&topic) {
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
                self.send(msg);
            }
            Command::Follow {
                topic,
                generation,
                starts,
            } => {
                if let Err(e) = self.follow(&topic, generation, &starts) {
                    self.send(Msg::Warning {
                        generation,
                        message: format!("stopped following {topic}: {e}"),
                    });
                }
            }
            Command::CheckTopic {
                topic,
                generation,
                logic,
            } => {
                let result =
                    crate::engine::fold::first_flags(&self.pool, &self.config(), &topic, &logic)
                        .map_err(|e| WorkerError::of(&e));
                self.send(Msg::Checked { generation, result });
            }
            Command::WatchReplay { id, group, targets } => self.watch_replay(id, &group, &targets),
            Command::Search {
                topic,
                generation,
                id,
                code,
                window,
            } => {
                let result = self
                    .search(&topic, generation, id, &code, &window)
                    .map_err(|e| WorkerError::of(&e));
                self.send(Msg::SearchDone { id, result });
            }
            command => self.short(command),
        }
    }

    /// Samples a group replaying after a commit every `WATCH_EVERY` until it has caught
    /// up, the watch is stopped, or the group cannot be read (said, and the end).
    fn watch_replay(&self, id: super::WatchId, group: &str, targets: &[(String, i32, i64)]) {
        let wanted = || self.watching.load(Ordering::Relaxed) == id.0;
        while wanted() {
            let sample = self
                .client()
                .map_err(|e| WorkerError::cluster(&e))
                .and_then(|c| {
                    let (groups, _) = c
                        .cluster
                        .groups(Some(group), &self.pool.conn().groups)
                        .map_err(|e| WorkerError::cluster(&e))?;
                    let mut g = groups
                        .into_iter()
                        .find(|g| g.name == group && !g.offsets.is_empty())
                        .ok_or_else(|| {
                            format!("group {group} is gone: no committed offsets any more")
                        })?;
                    c.cluster
                        .read_lag_times(&mut g.offsets)
                        .map_err(|e| WorkerError::cluster(&e))?;
                    let (done, total) = g.replayed(targets);
                    Ok(crate::model::group::ReplaySample {
                        at: Instant::now(),
                        done,
                        total,
                        lag: g.lag(),
                        lag_ms: g.lag_ms(),
                    })
                });
            let end = sample.as_ref().map_or(true, |s| s.lag == 0);
            if !self.send(Msg::ReplaySample { id, sample }) || end {
                return;
            }
            let until = Instant::now() + WATCH_EVERY;
            while wanted() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    fn follow(
        &self,
        topic: &str,
        generation: u64,
        starts: &std::collections::BTreeMap<i32, i64>,
    ) -> Result<(), ClusterError> {
        // New events go to the UI in batches, at most every BATCH_EVERY; a batch still
        // waiting is sent between polls, when the stream is quiet.
        let pending = std::cell::RefCell::new((Vec::new(), Instant::now()));
        let flush = |force: bool| -> bool {
            let mut pending = pending.borrow_mut();
            if pending.0.is_empty() || (!force && pending.1.elapsed() < BATCH_EVERY) {
                return true;
            }
            pending.1 = Instant::now();
            let events = std::mem::take(&mut pending.0);
            self.send(Msg::Events { generation, events })
        };
        let wanted = || flush(true) && self.following.load(Ordering::Relaxed) == generation;
        let client = self.client()?;
        let info = client.cluster.topic(topic)?;
        let starts: Vec<(i32, i64)> = info
            .partitions
            .iter()
            .map(|p| {
                let start = starts.get(&p.partition).copied().unwrap_or(p.low);
                (p.partition, start)
            })
            .collect();
        let rules = self.config().rules_for(topic);
        client.scan(|scanner| {
            scanner.follow(
                topic,
                &starts,
                &rules,
                &mut |event| {
                    pending.borrow_mut().0.push(event);
                    match flush(false) {
                        true => ControlFlow::Continue(()),
                        false => ControlFlow::Break(()),
                    }
                },
                &wanted,
            )
        })
    }
}
