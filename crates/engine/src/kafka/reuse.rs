//! Which part of a topic's on-disk index a read can use: the decision is the model's
//! (`model::reuse`); this reads the records it needs checked.

use std::collections::HashMap;
use std::ops::{ControlFlow, Range};

use super::{Scanner, TopicInfo};
use crate::model::reuse::{record_check, reuse, Reuse};
use crate::model::select::PartitionRange;
use crate::store::TopicIndex;

impl Scanner {
    /// Decides, per partition, what of the on-disk index a read of `next` uses,
    /// checking that the record each partition's index ends with is still there (one
    /// fetch for all): returns where those entries are in each partition's view (and
    /// how many records were read to check), and moves each range in `next` past them.
    /// Partitions that cannot be used start over in the index.
    pub fn reuse_index(
        &self,
        disk: &mut TopicIndex,
        info: &TopicInfo,
        next: &mut [PartitionRange],
    ) -> (HashMap<i32, Range<usize>>, u64) {
        let topic = info.name.as_str();
        let partitions: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
        disk.keep_partitions(&partitions);
        let checks: Vec<PartitionRange> = info
            .partitions
            .iter()
            .filter_map(|p| {
                let (offset, _) = disk.held(p.partition)?.last?;
                (p.low..p.high).contains(&offset).then_some(PartitionRange {
                    partition: p.partition,
                    start: offset,
                    end: offset + 1,
                })
            })
            .collect();
        let mut seen: HashMap<i32, (i64, u32)> = HashMap::new();
        let read = self.scan_unordered(topic, &checks, &mut |raw| {
            let check = record_check(raw.timestamp, raw.key, raw.value);
            seen.insert(raw.partition, (raw.offset, check));
            ControlFlow::Continue(())
        });
        if let Err(e) = read {
            tracing::warn!(
                topic,
                "the index's last records could not be read again: {e}"
            );
        }
        let mut reused = HashMap::new();
        for range in next.iter_mut() {
            let p = range.partition;
            let Some(now) = info.partitions.iter().find(|x| x.partition == p) else {
                continue;
            };
            let decision = match disk.held(p) {
                None => Reuse::Anew { why: None },
                Some(held) => {
                    let seen = seen
                        .get(&p)
                        .filter(|(o, _)| Some(*o) == held.last.map(|l| l.0))
                        .map(|(_, c)| *c);
                    reuse(&held, now.low, now.high, range.start..range.end, seen)
                }
            };
            match decision {
                Reuse::Anew { why } => {
                    if let Some(why) = why {
                        tracing::warn!(topic, partition = p, "index read anew: {why}");
                    }
                    disk.start_anew(p, range.start);
                }
                Reuse::Continue {
                    keep,
                    drop_below,
                    read_from,
                } => {
                    disk.drop_below(p, drop_below);
                    let Some(all) = disk.view(p) else { continue };
                    let kept = all.within(keep);
                    let from = kept.from - all.from;
                    reused.insert(p, from..from + kept.len);
                    range.start = read_from.max(range.start);
                }
            }
        }
        disk.commit();
        (reused, seen.len() as u64)
    }
}
