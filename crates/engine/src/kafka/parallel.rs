//! Indexing a topic on more than one core: the calling thread polls the client and
//! copies records into batches; worker threads index the batches into their own state,
//! which the caller merges.

use std::ops::{ControlFlow, Range};
use std::sync::mpsc;

use super::{ClusterError, Scanner};
use crate::model::event::RawRecord;
use crate::model::select::PartitionRange;

/// Records per batch handed to a worker.
const BATCH: usize = 4096;

/// Records copied out of the client into one buffer.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    records: Vec<Copied>,
    headers: Vec<(Range<usize>, Option<Range<usize>>)>,
}

struct Copied {
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    headers: Range<usize>,
}

impl Batch {
    fn put(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        start..self.data.len()
    }

    fn push(&mut self, raw: &RawRecord<'_>) {
        let key = raw.key.map(|k| self.put(k));
        let value = raw.value.map(|v| self.put(v));
        let first = self.headers.len();
        for (name, v) in &raw.headers {
            let name = self.put(name.as_bytes());
            let v = v.map(|v| self.put(v));
            self.headers.push((name, v));
        }
        self.records.push(Copied {
            partition: raw.partition,
            offset: raw.offset,
            timestamp: raw.timestamp,
            key,
            value,
            headers: first..self.headers.len(),
        });
    }

    fn each(&self, topic: &str, f: &mut (impl FnMut(&RawRecord<'_>) + ?Sized)) {
        let bytes = |r: &Range<usize>| &self.data[r.clone()];
        for c in &self.records {
            let headers = self.headers[c.headers.clone()]
                .iter()
                .map(|(n, v)| {
                    // Header names were copied from `&str`s.
                    let name = std::str::from_utf8(bytes(n)).unwrap_or_default();
                    (name, v.as_ref().map(bytes))
                })
                .collect();
            f(&RawRecord {
                topic,
                partition: c.partition,
                offset: c.offset,
                timestamp: c.timestamp,
                key: c.key.as_ref().map(bytes),
                headers,
                value: c.value.as_ref().map(bytes),
            });
        }
    }
}

/// Hands each record of a batch to the function given.
pub type EachRecord<'a> = dyn FnMut(&mut dyn FnMut(&RawRecord<'_>)) + 'a;

/// What `index_ordered` calls on the reading thread.
pub struct OnRead<'a, T> {
    /// Each record, as it is read.
    pub read: &'a mut dyn FnMut(&RawRecord<'_>) -> ControlFlow<()>,
    /// What each batch was indexed into, in the order the batches were read.
    pub merge: &'a mut dyn FnMut(T) -> ControlFlow<()>,
    /// Whether the reader waits for what was read (a batch that is not full goes).
    pub due: &'a dyn Fn() -> bool,
}

/// A batch that is not full goes at most this often (when the reader waits for it).
const PARTIAL_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Batches sent to the indexing threads and not yet merged, at most.
const IN_FLIGHT: usize = 4;

impl Scanner {
    /// Reads `ranges` (all partitions at once) as a pipeline: this thread polls the
    /// client, calls `read` on each record and copies it into a batch; `workers`
    /// threads `index` the batches; their results come back to `merge` on this thread
    /// in the order the batches were read (so in offset order within each partition).
    /// A batch goes when it is full, or when `due` says the reader waits for it.
    /// Breaking in `read` or `merge` stops reading; every batch read is merged before
    /// this returns, whatever the scan's outcome.
    pub fn index_ordered<T: Send>(
        &self,
        topic: &str,
        ranges: &[PartitionRange],
        workers: usize,
        index: &(impl Fn(&mut EachRecord<'_>) -> T + Sync),
        on: OnRead<'_, T>,
    ) -> Result<ControlFlow<()>, ClusterError> {
        let OnRead { read, merge, due } = on;
        std::thread::scope(|scope| {
            let (results_tx, results) = mpsc::channel::<(u64, T)>();
            let mut senders = Vec::new();
            for _ in 0..workers.max(1) {
                let (tx, rx) = mpsc::sync_channel::<(u64, Batch)>(IN_FLIGHT);
                senders.push(tx);
                let results_tx = results_tx.clone();
                scope.spawn(move || {
                    for (seq, batch) in rx {
                        let out = index(&mut |f| batch.each(topic, f));
                        if results_tx.send((seq, out)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(results_tx);
            let mut batch = Batch::default();
            let (mut sent, mut merged) = (0u64, 0u64);
            let mut waiting: std::collections::BTreeMap<u64, T> = Default::default();
            let mut stopped = false;
            // Merges what has come back, in order; `block` waits until all has.
            let mut take = |sent: u64, block: bool, stopped: &mut bool| {
                while merged < sent {
                    let next = match block {
                        true => results.recv().ok(),
                        false => results.try_recv().ok(),
                    };
                    let Some((seq, out)) = next else { return };
                    waiting.insert(seq, out);
                    while let Some(out) = waiting.remove(&merged) {
                        merged += 1;
                        if !*stopped && merge(out).is_break() {
                            *stopped = true;
                        }
                    }
                }
            };
            let send = |batch: Batch, sent: &mut u64| {
                // A worker only stops early if it panicked, which the scope reports.
                let _ = senders[(*sent % senders.len() as u64) as usize].send((*sent, batch));
                *sent += 1;
            };
            let mut count = 0u32;
            let mut last_sent = std::time::Instant::now();
            let scanned = self.scan_unordered(topic, ranges, &mut |raw| {
                read(raw)?;
                batch.push(raw);
                count += 1;
                // Every 16 records: what is done is merged, and a batch goes when full
                // or when the reader waits for it.
                if count.is_multiple_of(16) {
                    let full = batch.records.len() >= BATCH;
                    if full || (last_sent.elapsed() >= PARTIAL_EVERY && due()) {
                        last_sent = std::time::Instant::now();
                        send(std::mem::take(&mut batch), &mut sent);
                        // What is in flight stays bounded.
                        let bound = sent.saturating_sub(IN_FLIGHT as u64 * workers as u64);
                        take(bound, true, &mut stopped);
                    }
                    take(sent, false, &mut stopped);
                }
                match stopped {
                    true => ControlFlow::Break(()),
                    false => ControlFlow::Continue(()),
                }
            });
            if !batch.records.is_empty() {
                send(batch, &mut sent);
            }
            drop(senders);
            take(sent, true, &mut stopped);
            let scanned = scanned?;
            Ok(match stopped {
                true => ControlFlow::Break(()),
                false => scanned,
            })
        })
    }

    /// Reads `ranges` (all partitions at once) and indexes every record with `index`
    /// on worker threads, one state per worker; returns the states to merge. `read` is
    /// called on this thread for every record read (progress); breaking stops reading.
    pub fn index_parallel<T: Send>(
        &self,
        topic: &str,
        ranges: &[PartitionRange],
        states: Vec<T>,
        index: &(impl Fn(&mut T, &RawRecord<'_>) + Sync),
        read: &mut dyn FnMut() -> ControlFlow<()>,
    ) -> Result<Vec<T>, ClusterError> {
        std::thread::scope(|scope| {
            let mut senders = Vec::new();
            let mut workers = Vec::new();
            for mut state in states {
                let (tx, rx) = mpsc::sync_channel::<Batch>(4);
                senders.push(tx);
                workers.push(scope.spawn(move || {
                    for batch in rx {
                        batch.each(topic, &mut |raw| index(&mut state, raw));
                    }
                    state
                }));
            }
            let fresh = || Batch {
                data: Vec::with_capacity(BATCH * 128),
                records: Vec::with_capacity(BATCH),
                headers: Vec::new(),
            };
            let mut batch = fresh();
            let mut next = 0;
            let mut send = |batch: Batch| {
                // A worker only stops early if it panicked, which `join` reports.
                let _ = senders[next % senders.len()].send(batch);
                next += 1;
            };
            let scanned = self.scan_unordered(topic, ranges, &mut |raw| {
                read()?;
                batch.push(raw);
                if batch.records.len() >= BATCH {
                    send(std::mem::replace(&mut batch, fresh()));
                }
                ControlFlow::Continue(())
            });
            if !batch.records.is_empty() {
                send(batch);
            }
            drop(senders);
            let states: Vec<T> = workers
                .into_iter()
                .map(|w| w.join().expect("an indexing thread panicked"))
                .collect();
            scanned.map(|_| states)
        })
    }
}
