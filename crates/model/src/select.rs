//! Which events a scan prints: partition, start position, time window, aggregate, limit.

use super::event::Event;
use super::position::Position;
use super::topic::PartitionInfo;

/// What the user asked to see (the options of `rewind events`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub aggregate: Option<String>,
    pub partition: Option<i32>,
    pub from: Option<Position>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: Option<usize>,
    /// The newest N events of each partition.
    pub last: Option<i64>,
}

/// A window of a topic: `--since`, `--until`, `--last N` (the newest N events of each
/// partition, as kcat's `-o -N`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub last: Option<i64>,
}

impl Window {
    pub fn is_whole(&self) -> bool {
        *self == Window::default()
    }

    /// The offsets to read: each partition's, or its last N.
    pub fn ranges(&self, partitions: &[PartitionInfo]) -> Vec<PartitionRange> {
        partitions
            .iter()
            .map(|p| PartitionRange {
                partition: p.partition,
                start: match self.last {
                    Some(n) => (p.high - n.max(0)).max(p.low),
                    None => p.low,
                },
                end: p.high,
            })
            .filter(|r| r.end > r.start)
            .collect()
    }

    /// Whether an event at this time is in the window (a record without a time is
    /// kept).
    pub fn admits(&self, timestamp: Option<i64>) -> bool {
        let Some(t) = timestamp else { return true };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// The window a topic of `total` events opens on when it holds more than `limit`:
    /// the newest `limit` of them, split over its partitions.
    pub fn newest(total: i64, limit: u64, partitions: usize) -> Option<Window> {
        (total > 0 && total as u64 > limit && partitions > 0).then(|| Window {
            last: Some((limit / partitions as u64).max(1) as i64),
            ..Window::default()
        })
    }

    /// Parses `--since T --until T --last N` (the words after `:topic NAME`).
    pub fn parse(words: &[&str]) -> Result<Window, String> {
        let mut window = Window::default();
        let mut words = words.iter();
        while let Some(flag) = words.next() {
            let value = words
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?;
            let time = || {
                super::position::parse_time(value)
                    .ok_or_else(|| format!("{flag} {value}: not an RFC 3339 time"))
            };
            match *flag {
                "--since" => window.since = Some(time()?),
                "--until" => window.until = Some(time()?),
                "--last" => {
                    window.last = Some(
                        value
                            .parse::<i64>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| format!("--last {value}: not a count of events"))?,
                    )
                }
                other => {
                    return Err(format!(
                        "unknown option {other}: --since T, --until T or --last N"
                    ))
                }
            }
        }
        Ok(window)
    }

    /// How the window reads: "the last 1000 events of each partition, since …".
    pub fn label(&self) -> String {
        let mut parts = vec![];
        if let Some(n) = self.last {
            parts.push(format!("the last {n} events of each partition"));
        }
        if let Some(t) = self.since {
            parts.push(format!("since {}", super::position::format_time(t)));
        }
        if let Some(t) = self.until {
            parts.push(format!("until {}", super::position::format_time(t)));
        }
        parts.join(", ")
    }
}

/// A partition's offsets to read, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRange {
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

/// Why a selection cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectionError {
    #[error("partition {partition} does not exist (the topic has partitions 0..{count})")]
    NoPartition { partition: i32, count: usize },
    #[error("--partition {partition} and --from {from} name different partitions")]
    Conflict { partition: i32, from: Position },
}

/// What to do with one offered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Emit,
    Skip,
    /// The limit is reached: stop reading.
    Done,
}

impl Selection {
    /// The offset ranges to read, one per partition that can hold selected events, in
    /// partition order. Offsets below the low watermark are clamped to it.
    pub fn ranges(
        &self,
        partitions: &[PartitionInfo],
    ) -> Result<Vec<PartitionRange>, SelectionError> {
        let mut only = self.partition;
        let mut from_offset = None;
        if let Some(Position::Coordinate { partition, offset }) = self.from {
            if let Some(p) = only.filter(|&p| p != partition) {
                return Err(SelectionError::Conflict {
                    partition: p,
                    from: self.from.unwrap(),
                });
            }
            only = Some(partition);
            from_offset = Some(offset);
        }
        if let Some(p) = only {
            if !partitions.iter().any(|info| info.partition == p) {
                return Err(SelectionError::NoPartition {
                    partition: p,
                    count: partitions.len(),
                });
            }
        }
        Ok(partitions
            .iter()
            .filter(|info| only.is_none_or(|p| p == info.partition))
            .map(|info| {
                let newest = self.last.map_or(info.low, |n| info.high - n.max(0));
                PartitionRange {
                    partition: info.partition,
                    start: from_offset
                        .unwrap_or(info.low)
                        .max(newest)
                        .clamp(info.low, info.high),
                    end: info.high,
                }
            })
            .filter(|r| r.end > r.start)
            .collect())
    }

    /// Starts deciding, event by event, what to print.
    pub fn selector(&self) -> Selector<'_> {
        Selector {
            selection: self,
            matched: 0,
            emitted: 0,
        }
    }

    /// Whether an event is selected (aggregate and time window).
    pub fn matches(&self, event: &Event) -> bool {
        self.aggregate
            .as_ref()
            .is_none_or(|a| *a == event.aggregate)
            && self.in_window(event.timestamp)
    }

    /// Whether a timestamp is in the window of `--since`/`--from TIME` and `--until`
    /// (a record without one counts as earliest).
    pub fn in_window(&self, timestamp: Option<i64>) -> bool {
        let after = self
            .since
            .into_iter()
            .chain(match self.from {
                Some(Position::Time(t)) => Some(t),
                _ => None,
            })
            .max();
        let ts = timestamp.unwrap_or(i64::MIN);
        after.is_none_or(|t| ts >= t) && self.until.is_none_or(|t| ts <= t)
    }
}

/// The ranges to read to get these records: per partition, runs of offsets no more
/// than `max_gap` apart become one range (reading a few unwanted records is cheaper
/// than a fetch per record).
pub fn runs(coords: &[super::Coord], max_gap: i64) -> Vec<PartitionRange> {
    let mut sorted = coords.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut ranges: Vec<PartitionRange> = Vec::new();
    for c in sorted {
        match ranges.last_mut() {
            Some(r) if r.partition == c.partition && c.offset - r.end <= max_gap => {
                r.end = c.offset + 1
            }
            _ => ranges.push(PartitionRange {
                partition: c.partition,
                start: c.offset,
                end: c.offset + 1,
            }),
        }
    }
    ranges
}

/// Applies a selection to events in stream order.
pub struct Selector<'a> {
    selection: &'a Selection,
    matched: usize,
    emitted: usize,
}

impl Selector<'_> {
    /// Whether to print this event, skip it, or stop.
    pub fn offer(&mut self, event: &Event) -> Verdict {
        if self.selection.limit.is_some_and(|l| self.emitted >= l) {
            return Verdict::Done;
        }
        if !self.selection.matches(event) {
            return Verdict::Skip;
        }
        self.matched += 1;
        if let Some(Position::Index(skip)) = self.selection.from {
            if self.matched <= skip {
                return Verdict::Skip;
            }
        }
        self.emitted += 1;
        Verdict::Emit
    }

    /// Whether the limit has been reached.
    pub fn is_done(&self) -> bool {
        self.selection.limit.is_some_and(|l| self.emitted >= l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reads_the_newest_events_of_each_partition_in_its_time() {
        let parts = [
            PartitionInfo {
                partition: 0,
                low: 0,
                high: 10,
            },
            PartitionInfo {
                partition: 1,
                low: 5,
                high: 7,
            },
            PartitionInfo {
                partition: 2,
                low: 3,
                high: 3,
            },
        ];
        let w = Window::parse(&["--last", "4", "--since", "2026-11-26T10:00:00Z"]).unwrap();
        let got: Vec<(i32, i64, i64)> = w
            .ranges(&parts)
            .iter()
            .map(|r| (r.partition, r.start, r.end))
            .collect();
        assert_eq!(
            got,
            [(0, 6, 10), (1, 5, 7)],
            "clamped to the low watermark; empty partitions left out"
        );
        assert!(
            w.admits(Some(1_795_687_200_000))
                && !w.admits(Some(1_795_687_199_999))
                && w.admits(None)
        );
        assert_eq!(
            w.label(),
            "the last 4 events of each partition, since 2026-11-26T10:00:00.000Z"
        );
        assert!(Window::parse(&["--last", "0"])
            .unwrap_err()
            .contains("not a count"));
        assert!(Window::parse(&["--since"])
            .unwrap_err()
            .contains("needs a value"));
        assert!(Window::parse(&["--nope", "1"])
            .unwrap_err()
            .contains("unknown option"));
        // A big topic opens on its newest `limit` events.
        assert_eq!(
            Window::newest(12_000_000, 5_000_000, 4).unwrap().last,
            Some(1_250_000)
        );
        assert_eq!(Window::newest(100, 5_000_000, 4), None);
        // `--last` on a selection, with `--from P/O` after it.
        let s = Selection {
            last: Some(3),
            ..Selection::default()
        };
        let got: Vec<(i32, i64)> = s
            .ranges(&parts)
            .unwrap()
            .iter()
            .map(|r| (r.partition, r.start))
            .collect();
        assert_eq!(got, [(0, 7), (1, 5)]);
    }

    #[test]
    fn records_close_together_are_read_in_one_range() {
        let at = |partition, offset| crate::Coord { partition, offset };
        let got = runs(
            &[
                at(1, 50),
                at(0, 7),
                at(0, 3),
                at(0, 3),
                at(0, 100),
                at(1, 52),
            ],
            10,
        );
        let got: Vec<(i32, i64, i64)> = got.iter().map(|r| (r.partition, r.start, r.end)).collect();
        assert_eq!(got, [(0, 3, 8), (0, 100, 101), (1, 50, 53)]);
    }
    use crate::event::{Payload, RawRecord};
    use crate::TopicRules;

    fn parts() -> Vec<PartitionInfo> {
        vec![
            PartitionInfo {
                partition: 0,
                low: 0,
                high: 10,
            },
            PartitionInfo {
                partition: 1,
                low: 5,
                high: 5,
            },
            PartitionInfo {
                partition: 2,
                low: 3,
                high: 8,
            },
        ]
    }

    fn event(key: &str, ts: i64) -> Event {
        let raw = RawRecord {
            topic: "t",
            key: Some(key.as_bytes()),
            timestamp: Some(ts),
            ..Default::default()
        };
        Event::decode(&raw, &TopicRules::default())
    }

    #[test]
    fn ranges_skip_empty_partitions_and_clamp() {
        let all = Selection::default().ranges(&parts()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[1],
            PartitionRange {
                partition: 2,
                start: 3,
                end: 8
            }
        );
        let from = Selection {
            from: Some("2/1".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(
            from.ranges(&parts()).unwrap(),
            vec![PartitionRange {
                partition: 2,
                start: 3,
                end: 8
            }]
        );
        let past_end = Selection {
            from: Some("0/99".parse().unwrap()),
            ..Default::default()
        };
        assert!(past_end.ranges(&parts()).unwrap().is_empty());
        let missing = Selection {
            partition: Some(7),
            ..Default::default()
        };
        assert!(matches!(
            missing.ranges(&parts()),
            Err(SelectionError::NoPartition { partition: 7, .. })
        ));
        let conflict = Selection {
            partition: Some(0),
            from: Some("2/1".parse().unwrap()),
            ..Default::default()
        };
        assert!(conflict.ranges(&parts()).is_err());
    }

    #[test]
    fn selector_applies_aggregate_time_index_and_limit() {
        let selection = Selection {
            aggregate: Some("a".into()),
            from: Some(Position::Index(1)),
            since: Some(20),
            limit: Some(2),
            ..Default::default()
        };
        let events = [
            event("a", 10),
            event("a", 20),
            event("b", 30),
            event("a", 40),
            event("a", 50),
            event("a", 60),
        ];
        let mut selector = selection.selector();
        let verdicts: Vec<_> = events.iter().map(|e| selector.offer(e)).collect();
        use Verdict::*;
        assert_eq!(verdicts, vec![Skip, Skip, Skip, Emit, Emit, Done]);
        assert!(selector.is_done());
        assert_eq!(events[0].value, Payload::Null);
    }
}
