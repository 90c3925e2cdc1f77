//! `/?JQ` in the worker: the topic's window read on every core, each record tested,
//! matches and progress sent as they come.

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Msg, Shared, BATCH_EVERY};

impl Shared {
    /// `/?JQ`: reads the topic's window on every core and tests each record, sending
    /// matches and progress as they come; stops when another search or topic is wanted.
    pub(super) fn search(
        &self,
        topic: &str,
        generation: u64,
        id: crate::app::SearchId,
        code: &str,
        window: &crate::model::select::Window,
    ) -> anyhow::Result<(usize, Option<(crate::model::Coord, String)>)> {
        use crate::model::search::Found;
        use std::sync::atomic::AtomicI64;
        let wanted = || {
            self.searching.load(Ordering::Relaxed) == id.0
                && self.latest.load(Ordering::Relaxed) == generation
        };
        let client = self.client()?;
        let info = client.cluster.topic(topic)?;
        let ranges = window.ranges(&info.partitions);
        let rules = self.config().rules_for(topic);
        let scanned = AtomicI64::new(0);
        // Per core: what it found, and matches not yet sent with when they were last.
        struct Part {
            found: Found<()>,
            pending: Vec<crate::model::Coord>,
            sent: Instant,
        }
        let flush = |part: &mut Part| {
            let coords = std::mem::take(&mut part.pending);
            part.sent = Instant::now();
            self.send(Msg::SearchFound {
                id,
                coords,
                scanned: scanned.load(Ordering::Relaxed),
            });
        };
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let mut last_progress = Instant::now();
        let parts = client.scan(|scanner| {
            scanner.index_parallel(
                topic,
                &ranges,
                (0..workers)
                    .map(|_| Part {
                        found: Found::default(),
                        pending: vec![],
                        sent: Instant::now(),
                    })
                    .collect(),
                &|part: &mut Part, raw| {
                    if !window.admits(raw.timestamp) {
                        return;
                    }
                    let at = crate::model::Coord {
                        partition: raw.partition,
                        offset: raw.offset,
                    };
                    let verdict = crate::model::search::test_raw(code, raw, &rules);
                    match verdict.map(|(v, _)| v) {
                        Some(Ok(true)) => part.pending.push(at),
                        Some(Ok(false)) | None => {}
                        Some(Err(why)) => part.found.fail(at, why),
                    }
                    if !part.pending.is_empty() && part.sent.elapsed() >= BATCH_EVERY {
                        flush(part);
                    }
                },
                &mut || {
                    let n = scanned.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 4096 == 0 {
                        if !wanted() {
                            return ControlFlow::Break(());
                        }
                        if last_progress.elapsed() >= Duration::from_millis(200) {
                            last_progress = Instant::now();
                            self.send(Msg::SearchFound {
                                id,
                                coords: vec![],
                                scanned: n,
                            });
                        }
                    }
                    ControlFlow::Continue(())
                },
            )
        })?;
        let mut found = Found::<()>::default();
        for mut part in parts {
            flush(&mut part);
            found.merge(part.found);
        }
        Ok((found.failed, found.first_failure))
    }
}
