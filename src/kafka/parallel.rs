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

    fn each(&self, topic: &str, f: &mut impl FnMut(&RawRecord<'_>)) {
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

impl Scanner {
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
