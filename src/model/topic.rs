//! Topics and their partitions' watermarks.

use serde_json::{json, Value};

/// One partition's watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    pub low: i64,
    pub high: i64,
}

/// A topic with its partitions' watermarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    /// Sum of the partitions' low watermarks (saturating: a dump may hold any offsets).
    pub fn low(&self) -> i64 {
        self.partitions
            .iter()
            .fold(0i64, |sum, p| sum.saturating_add(p.low))
    }
    /// Sum of the partitions' high watermarks (saturating).
    pub fn high(&self) -> i64 {
        self.partitions
            .iter()
            .fold(0i64, |sum, p| sum.saturating_add(p.high))
    }
    /// Events currently held: high minus low of each partition, summed (saturating).
    pub fn count(&self) -> i64 {
        self.partitions.iter().fold(0i64, |sum, p| {
            sum.saturating_add(p.high.saturating_sub(p.low).max(0))
        })
    }
    /// Every partition from its low to its high watermark: the whole topic to read.
    pub fn ranges(&self) -> Vec<super::select::PartitionRange> {
        self.partitions
            .iter()
            .map(|p| super::select::PartitionRange {
                partition: p.partition,
                start: p.low,
                end: p.high,
            })
            .collect()
    }

    /// The `rewind topics -o json` shape, with per-partition watermarks added.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "partitions": self.partitions.len(),
            "low": self.low(),
            "high": self.high(),
            "count": self.count(),
            "watermarks": self.partitions.iter().map(|p| json!({
                "partition": p.partition, "low": p.low, "high": p.high
            })).collect::<Vec<_>>(),
        })
    }
}
