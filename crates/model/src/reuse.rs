//! What of a partition's on-disk index a load can use, given the partition's
//! watermarks now: the decision, without the I/O (`store` holds the files).

use std::ops::Range;

/// What the on-disk index holds of one partition: entries for the records in
/// `start..end` (every record read there), and a check of the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub start: i64,
    pub end: i64,
    /// The last record's offset and `record_check`, when any record was indexed.
    pub last: Option<(i64, u32)>,
}

/// What a load does with one partition's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reuse {
    /// Nothing held is used: the partition is read as asked and its index starts over
    /// there. `why` says what was wrong with the index (for the log), if anything.
    Anew { why: Option<String> },
    /// The held entries with offsets in `keep` are used; those below `drop_below` are
    /// gone from the log and leave the index; the rest is read from `read_from` on and
    /// continues the index.
    Continue {
        keep: Range<i64>,
        drop_below: i64,
        read_from: i64,
    },
}

/// The record a partition's index ends with must still be the same record: a check
/// over its time, key and value.
pub fn record_check(timestamp: Option<i64>, key: Option<&[u8]>, value: Option<&[u8]>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&timestamp.unwrap_or(i64::MIN).to_le_bytes());
    for part in [key, value] {
        match part {
            Some(b) => {
                h.update(&(b.len() as u64).to_le_bytes());
                h.update(b);
            }
            None => h.update(&u64::MAX.to_le_bytes()),
        }
    }
    h.finalize()
}

/// Decides for one partition whose log now spans `low..high`, of which the load wants
/// `wanted`. `seen` is the check of the record now at the index's last offset (`None`:
/// not read, or no record there).
pub fn reuse(held: &Held, low: i64, high: i64, wanted: Range<i64>, seen: Option<u32>) -> Reuse {
    let anew = |why: String| Reuse::Anew { why: Some(why) };
    let Some((last, check)) = held.last else {
        return Reuse::Anew { why: None };
    };
    if high < held.end {
        return anew(format!(
            "the partition now ends at offset {high}, before the index's end ({}): the topic was recreated or truncated",
            held.end
        ));
    }
    if last < low {
        return anew(format!(
            "retention removed every indexed record (the log starts at offset {low})"
        ));
    }
    match seen {
        Some(seen) if seen == check => {}
        Some(_) => {
            return anew(format!(
                "the record at offset {last} is not the one indexed: the topic was recreated"
            ))
        }
        None => {
            return anew(format!(
                "the record at offset {last} could not be read again (recreated or compacted)"
            ))
        }
    }
    let start = held.start.max(low);
    // A window from before the index, or after its end, is read anew.
    if wanted.start < start || wanted.start > held.end {
        return Reuse::Anew { why: None };
    }
    Reuse::Continue {
        keep: wanted.start..wanted.end.min(held.end),
        drop_below: start,
        read_from: held.end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELD: Held = Held {
        start: 0,
        end: 100,
        last: Some((99, 7)),
    };

    #[test]
    fn a_partition_that_only_grew_is_read_from_where_the_index_ends() {
        assert_eq!(
            reuse(&HELD, 0, 150, 0..150, Some(7)),
            Reuse::Continue {
                keep: 0..100,
                drop_below: 0,
                read_from: 100
            }
        );
        // Nothing new: nothing to read.
        assert_eq!(
            reuse(&HELD, 0, 100, 0..100, Some(7)),
            Reuse::Continue {
                keep: 0..100,
                drop_below: 0,
                read_from: 100
            }
        );
        // A window that starts inside the index uses the part of it in the window.
        assert_eq!(
            reuse(&HELD, 0, 150, 60..150, Some(7)),
            Reuse::Continue {
                keep: 60..100,
                drop_below: 0,
                read_from: 100
            }
        );
    }

    #[test]
    fn retention_drops_the_prefix_and_a_log_past_the_index_starts_over() {
        assert_eq!(
            reuse(&HELD, 40, 150, 40..150, Some(7)),
            Reuse::Continue {
                keep: 40..100,
                drop_below: 40,
                read_from: 100
            }
        );
        let Reuse::Anew { why: Some(why) } = reuse(&HELD, 120, 150, 120..150, None) else {
            panic!("anew")
        };
        assert!(
            why.starts_with("retention removed every indexed record"),
            "{why}"
        );
    }

    #[test]
    fn a_recreated_topic_is_read_anew() {
        for (high, seen, says) in [
            (50, Some(7), "now ends at offset 50"),
            (150, Some(8), "is not the one indexed"),
            (150, None, "could not be read again"),
        ] {
            let Reuse::Anew { why: Some(why) } = reuse(&HELD, 0, high, 0..high, seen) else {
                panic!("anew")
            };
            assert!(why.contains(says), "{why}");
        }
    }

    #[test]
    fn windows_outside_the_index_and_empty_indexes_start_over_quietly() {
        let later = Held { start: 50, ..HELD };
        assert_eq!(
            reuse(&later, 0, 150, 0..150, Some(7)),
            Reuse::Anew { why: None }
        );
        assert_eq!(
            reuse(&HELD, 0, 300, 200..300, Some(7)),
            Reuse::Anew { why: None }
        );
        let empty = Held { last: None, ..HELD };
        assert_eq!(
            reuse(&empty, 0, 150, 0..150, None),
            Reuse::Anew { why: None }
        );
    }

    #[test]
    fn the_check_tells_records_apart() {
        let a = record_check(Some(1), Some(b"k"), Some(b"v"));
        assert_eq!(a, record_check(Some(1), Some(b"k"), Some(b"v")));
        for other in [
            record_check(Some(2), Some(b"k"), Some(b"v")),
            record_check(Some(1), None, Some(b"kv")),
            record_check(Some(1), Some(b"kv"), None),
            record_check(None, Some(b"k"), Some(b"v")),
        ] {
            assert_ne!(a, other);
        }
    }
}
