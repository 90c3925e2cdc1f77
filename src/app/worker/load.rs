//! A topic's load: its records indexed (in memory or in the on-disk index that later
//! loads reuse), sent to the UI in batches, with its snapshots and its topics' ids.

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use super::{Client, Msg, Shared, BATCH_EVERY, RETRY_EVERY};
use crate::kafka::ClusterError;
use crate::model::index::{IndexPart, PartitionParts};
use crate::model::snapshot::StoredSnapshot;

/// What a load has indexed of a partition, waiting to be sent to the UI.
enum Pending {
    /// Entries in the on-disk index (where they are in the partition's view), and the
    /// records' bytes kept.
    Disk(std::ops::Range<usize>, Vec<crate::model::dump::DumpRecord>),
    /// Entries in memory: without an on-disk index, or when it could not be written.
    Heap(IndexPart),
}

/// Partitions a topic load reads at once when those that wait are on disk: all of a
/// topic of 32 partitions, and for more, the head partition completes early enough to
/// show events while the rest is read.
const READ_AT_ONCE_ON_DISK: usize = 32;

/// Partitions a topic load reads at once when those that wait are held in memory (no
/// on-disk index).
const READ_AT_ONCE: usize = 8;

impl Shared {
    pub(super) fn load_topic(
        &self,
        topic: &str,
        generation: u64,
        window: &crate::model::select::Window,
    ) -> anyhow::Result<()> {
        // Stop retrying once the user has moved on to another topic.
        let wanted = || self.latest.load(Ordering::Relaxed) == generation;
        let client = self.client()?;
        let mut disconnected = false;
        let info = loop {
            match client.cluster.topic(topic) {
                Ok(info) => break info,
                Err(e @ ClusterError::Unreachable { .. }) if wanted() => {
                    disconnected = true;
                    if !self.send(Msg::Connection(Some(e.to_string()))) {
                        return Ok(());
                    }
                    std::thread::sleep(RETRY_EVERY);
                }
                Err(e) => return Err(e.into()),
            }
        };
        if disconnected {
            self.send(Msg::Connection(None));
        }
        // Read uncommitted, the load goes to the log's end, past the last stable offset.
        let mut info = info;
        if self.pool.uncommitted() {
            client.scan_shown(|s| s.high_watermarks(topic, &mut info.partitions))?;
        }
        // Where each partition's reading stands, so a scan that stalls resumes there.
        let mut next = window.ranges(&info.partitions);
        self.send(Msg::TopicSize {
            generation,
            total: next.iter().map(|r| r.end - r.start).sum(),
        });
        // One config for the whole load, though `:reload` may swap the worker's.
        let config = self.config();
        let rules = config.rules_for(topic);
        // Records are indexed raw (no full decode); payloads are read when shown.
        let reference = config.compensations_for(topic).reference;
        // The first records' bytes go along, up to a sixteenth of the payload cache's
        // budget, so that what is shown first (or while the broker is away) needs no
        // read.
        let budget = config
            .limits
            .payload_cache_mb
            .map_or(crate::model::cache::DEFAULT_BUDGET, |mb| mb << 20)
            / 16;
        let mut kept = 0;
        // All partitions are read at once (their fetches overlap), and the index is
        // sent in partition then offset order, as before: the partition at the head
        // goes as it is read, the others wait (indexed) until it is complete.
        let order: Vec<i32> = next.iter().map(|r| r.partition).collect();
        let ends: std::collections::HashMap<i32, i64> =
            next.iter().map(|r| (r.partition, r.end)).collect();
        let mut parts: std::collections::HashMap<i32, IndexPart> = Default::default();
        let mut complete: std::collections::HashSet<i32> = Default::default();
        // The on-disk index: what it holds is sent first (read in place), and only the
        // records past it are read.
        // The on-disk index holds committed records only: a load that reads them all
        // (`--isolation uncommitted`) does without it.
        let mut disk = match self.pool.uncommitted() {
            true => None,
            false => self.open_index(&config, &client, topic, generation),
        };
        // Reading uncommitted: which records a committed read returns, to mark the
        // others (aborted, open) as they are indexed.
        let views = match self.pool.uncommitted() {
            true => client.scan_shown(|scanner| scanner.committed_views(topic, &next))?,
            false => None,
        };
        // What is indexed, per partition, on its way to the UI.
        let mut queues: std::collections::HashMap<i32, Vec<Pending>> = Default::default();
        if let Some(disk) = disk.as_mut() {
            let reused = self.reuse_index(disk, &client, &info, &mut next);
            for (p, range) in reused {
                queues.insert(p, vec![Pending::Disk(range, vec![])]);
            }
            complete.extend(
                next.iter()
                    .filter(|r| r.start >= r.end)
                    .map(|r| r.partition),
            );
        }
        let timed = window.since.is_some() || window.until.is_some();
        // Partitions that wait for the head one wait on disk when there is an index:
        // then all are read at once (their fetches overlap), else a few at a time.
        let at_once = match disk.as_ref().is_some_and(|d| d.writable()) {
            true => READ_AT_ONCE_ON_DISK,
            false => READ_AT_ONCE,
        };
        // Found in the index, then read: the progress the UI shows.
        let found: i64 = queues
            .values()
            .flatten()
            .map(|p| match p {
                Pending::Disk(range, _) => range.len() as i64,
                Pending::Heap(part) => part.len() as i64,
            })
            .sum();
        let read_before = self.loaded.load(Ordering::Relaxed);
        // The last record read of each partition, and its check.
        let mut lasts: std::collections::HashMap<i32, (i64, u32)> = Default::default();
        let mut head = 0;
        let last_send = std::cell::Cell::new(Instant::now());
        let mut flush = |parts: &mut std::collections::HashMap<i32, IndexPart>,
                         complete: &std::collections::HashSet<i32>,
                         lasts: &std::collections::HashMap<i32, (i64, u32)>,
                         head: &mut usize|
         -> bool {
            // Every partition's new entries go to the on-disk index now (they wait in
            // memory only without one, or when it cannot be written).
            for (p, mut part) in parts.drain() {
                let queue = queues.entry(p).or_default();
                let last = lasts.get(&p).copied();
                let end = last.map_or(i64::MIN, |(o, _)| o + 1);
                match disk.as_mut().and_then(|d| d.append(p, &part, end, last)) {
                    Some(range) => {
                        let kept = std::mem::take(&mut part.kept);
                        match queue.last_mut() {
                            Some(Pending::Disk(r, k)) if r.end == range.start => {
                                r.end = range.end;
                                k.extend(kept);
                            }
                            _ => queue.push(Pending::Disk(range, kept)),
                        }
                    }
                    None => queue.push(Pending::Heap(part)),
                }
            }
            let read = found + (self.loaded.load(Ordering::Relaxed) - read_before) as i64;
            if !self.send(Msg::LoadProgress { generation, read }) {
                return false;
            }
            // Sent in partition then offset order: the partition at the head as it is
            // read, the others once it is complete.
            while let Some(&p) = order.get(*head) {
                for pending in queues.remove(&p).unwrap_or_default() {
                    let mut part = match pending {
                        Pending::Heap(part) => part,
                        Pending::Disk(range, kept) => {
                            let disk = disk.as_mut().expect("written to the index");
                            let view = disk.view(p).expect("written to the index");
                            let view = view.slice(range.start, range.len());
                            let mut part = match timed {
                                true => IndexPart::from_mapped(&view, disk.table(), |_| true),
                                false => IndexPart::of_mapped(view, disk.new_strings()),
                            };
                            part.kept = kept;
                            part
                        }
                    };
                    if timed {
                        part.retain_times(|t| window.admits(t));
                    }
                    if !self.send(Msg::Indexed { generation, part }) {
                        return false;
                    }
                }
                if !complete.contains(&p) {
                    break;
                }
                if let Some(disk) = disk.as_mut() {
                    disk.read_to(p, ends[&p]);
                }
                *head += 1;
            }
            true
        };
        // Records are indexed on other cores as they are read (this thread polls the
        // client); what they index comes back in the order it was read.
        let workers =
            std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1));
        let index = |each: &mut crate::kafka::EachRecord<'_>| {
            let mut out = PartitionParts::default();
            each(&mut |raw| {
                out.push(raw, &rules, reference.as_ref());
                let view = views.as_ref().and_then(|v| v.get(&raw.partition));
                if let Some(t) = view.and_then(|v| v.mark(raw.offset)) {
                    out.mark(raw, t);
                }
            });
            out
        };
        // The bytes kept of records read and not yet indexed.
        let kept_records: std::cell::RefCell<
            std::collections::HashMap<i32, Vec<crate::model::dump::DumpRecord>>,
        > = Default::default();
        loop {
            // `at_once` partitions at a time, in order.
            let ranges: Vec<_> = next
                .iter()
                .copied()
                .filter(|r| r.end > r.start)
                .take(at_once)
                .collect();
            if ranges.is_empty() {
                break;
            }
            let scanned = client.scan_shown(|scanner| {
                let read = &mut |raw: &crate::model::event::RawRecord<'_>| {
                    if let Some(range) = next.iter_mut().find(|r| r.partition == raw.partition) {
                        range.start = raw.offset + 1;
                    }
                    self.loaded.fetch_add(1, Ordering::Relaxed);
                    if window.admits(raw.timestamp) && kept + raw.size() <= budget {
                        kept += raw.size() + 64;
                        kept_records
                            .borrow_mut()
                            .entry(raw.partition)
                            .or_default()
                            .push(crate::model::dump::DumpRecord::from_raw(raw));
                    }
                    ControlFlow::Continue(())
                };
                let merge = &mut |indexed: PartitionParts| {
                    for (p, mut part) in indexed.parts {
                        // The bytes kept go with the first entries of their partition.
                        if let Some(k) = kept_records.borrow_mut().remove(&p) {
                            part.kept = k;
                        }
                        parts.entry(p).or_default().absorb(part);
                    }
                    for (p, last) in indexed.lasts {
                        lasts.insert(p, last);
                        if ends.get(&p).is_some_and(|&end| last.0 + 1 >= end) {
                            complete.insert(p);
                        }
                    }
                    if last_send.get().elapsed() >= BATCH_EVERY {
                        last_send.set(Instant::now());
                        if !flush(&mut parts, &complete, &lasts, &mut head) || !wanted() {
                            return ControlFlow::Break(()); // the UI is gone, or elsewhere
                        }
                    }
                    ControlFlow::Continue(())
                };
                let due = || last_send.get().elapsed() >= BATCH_EVERY;
                let on = crate::kafka::OnRead {
                    read,
                    merge,
                    due: &due,
                };
                scanner.index_ordered(topic, &ranges, workers, &index, on)
            });
            match scanned {
                Ok(ControlFlow::Break(())) => return Ok(()),
                Ok(ControlFlow::Continue(())) => {
                    // Read to their ends (a log may end in records never delivered).
                    for r in &ranges {
                        complete.insert(r.partition);
                        if let Some(x) = next.iter_mut().find(|x| x.partition == r.partition) {
                            x.start = x.end;
                        }
                    }
                    if !flush(&mut parts, &complete, &lasts, &mut head) {
                        return Ok(());
                    }
                }
                Err(e @ (ClusterError::Stalled { .. } | ClusterError::Unreachable { .. }))
                    if wanted() =>
                {
                    // What arrived stays; the rest is read when the broker is back.
                    flush(&mut parts, &complete, &lasts, &mut head);
                    if !self.send(Msg::Connection(Some(e.to_string()))) {
                        return Ok(());
                    }
                    std::thread::sleep(RETRY_EVERY);
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Read to the end: every partition is complete.
        complete.extend(order.iter().copied());
        flush(&mut parts, &complete, &lasts, &mut head);
        self.send(Msg::Connection(None));
        Ok(())
    }

    /// Asks the topics' ids on a thread of its own (`Msg::TopicIds`: a mark made on a
    /// topic since made again is told by them), for the on-disk indexes (an index of a
    /// topic since made again is discarded), then counts the records of indexes made
    /// for those ids (`Msg::TopicRecords`). A load does not wait for them: a broker may
    /// answer late or never (librdkafka's mock cluster never does), and then the
    /// index's last records are what tells a topic made again.
    pub(super) fn describe_topics(&self, client: &Arc<Client>, topics: &[crate::kafka::TopicInfo]) {
        let root = self.config().index_dir.clone();
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        let mut topics = topics.to_vec();
        let client = client.clone();
        let tx = self.tx.clone();
        let asked = std::thread::Builder::new()
            .name("rewind-topic-ids".into())
            .spawn(move || {
                let found = client.cluster.topic_ids(&names);
                tracing::debug!(topics = names.len(), ids = found.len(), "topic ids");
                if found.is_empty() {
                    return;
                }
                let ids = {
                    let mut ids = client
                        .topic_ids
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    ids.extend(found.clone());
                    ids.clone()
                };
                let _ = tx.send(Msg::TopicIds(found));
                let Some(root) = root else { return };
                // The records of indexes made for these ids can be counted now.
                let before: Vec<Option<u64>> = topics.iter().map(|t| t.records).collect();
                let cluster = client.id.get_or_init(|| client.cluster.id());
                crate::kafka::records_from_indexes(&root, cluster, &mut topics, &ids);
                let changed: Vec<_> = topics
                    .into_iter()
                    .zip(before)
                    .filter(|(t, b)| t.records != *b)
                    .map(|(t, _)| t)
                    .collect();
                if !changed.is_empty() {
                    let _ = tx.send(Msg::TopicRecords(changed));
                }
            });
        if let Err(e) = asked {
            tracing::warn!("topic ids not asked: {e}");
        }
    }

    /// The topic's on-disk index, unless there is none to keep (`--no-cache`); a
    /// directory that cannot be written means working without one, said once.
    pub(super) fn open_index(
        &self,
        config: &crate::config::Config,
        client: &Client,
        topic: &str,
        generation: u64,
    ) -> Option<crate::store::TopicIndex> {
        let root = config.index_dir.as_ref()?;
        let cluster = client.id.get_or_init(|| client.cluster.id());
        let fingerprint = crate::store::fingerprint(config, topic);
        let topic_id = client.topic_id(topic);
        match crate::store::TopicIndex::open(
            root,
            cluster,
            topic,
            &fingerprint,
            topic_id.as_deref(),
        ) {
            Ok(index) => Some(index),
            Err(e) => {
                tracing::warn!(dir = %root.display(), "no on-disk index: {e}");
                if !self.index_warned.swap(true, Ordering::Relaxed) {
                    self.send(Msg::Warning {
                        generation,
                        message: format!(
                            "working without an on-disk index: {} cannot be written ({e})",
                            root.display()
                        ),
                    });
                }
                None
            }
        }
    }

    /// What of the on-disk index the load uses (`Scanner::reuse_index`), counting the
    /// records it reads to check the index.
    pub(super) fn reuse_index(
        &self,
        disk: &mut crate::store::TopicIndex,
        client: &Client,
        info: &crate::kafka::TopicInfo,
        next: &mut [crate::model::select::PartitionRange],
    ) -> std::collections::HashMap<i32, std::ops::Range<usize>> {
        let reused = client.scan(|scanner| {
            let (reused, read) = scanner.reuse_index(disk, info, next);
            self.loaded.fetch_add(read, Ordering::Relaxed);
            Ok(reused)
        });
        reused.unwrap_or_default()
    }

    /// Reads the topic's snapshot topic, if it has one: each snapshot with its aggregate.
    pub(super) fn load_snapshots(
        &self,
        topic: &str,
    ) -> anyhow::Result<Option<Vec<(String, StoredSnapshot)>>> {
        let Some(rules) = self
            .config()
            .topic(topic)
            .map(|t| t.snapshot_rules())
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        let client = self.client()?;
        let info = client.cluster.topic(&rules.topic)?;
        let record_rules = self.config().rules_for(&rules.topic);
        let mut snapshots = Vec::new();
        let _ = client.scan(|scanner| {
            scanner.scan(&info.name, &info.ranges(), &record_rules, &mut |record| {
                snapshots.push((record.aggregate.clone(), rules.read(&record)));
                ControlFlow::Continue(())
            })
        })?;
        Ok(Some(snapshots))
    }
}
