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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: Vec<PartitionInfo>,
    /// How long its records stay, where the broker says (DescribeConfigs).
    pub settings: TopicSettings,
    /// The records it holds, where they are known (its on-disk index covers it):
    /// offsets are not records on a topic with transactions.
    pub records: Option<u64>,
}

/// A topic id (KIP-516) as Kafka writes it (`Uuid.toString`, what kafka-topics.sh
/// prints): its 16 bytes, most significant first, in URL-safe base64 without padding.
pub fn topic_id_text(most: i64, least: i64) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&most.to_be_bytes());
    bytes[8..].copy_from_slice(&least.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether two written topic ids are the same id, whichever base64 alphabet wrote them
/// (indexes made before ids were written as Kafka writes them hold the standard one).
pub fn same_topic_id(a: &str, b: &str) -> bool {
    let canonical = |s: &str| -> String {
        s.trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect()
    };
    canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn topic_ids_are_written_as_kafka_writes_them_and_compare_across_alphabets() {
        // kafka-topics.sh printed BaLe3p_8Syyfx2JRTEQZPw for these bits; librdkafka's
        // base64str gives BaLe3p/8Syyfx2JRTEQZPw.
        let most = i64::from_be_bytes([0x05, 0xa2, 0xde, 0xde, 0x9f, 0xfc, 0x4b, 0x2c]);
        let least = i64::from_be_bytes([0x9f, 0xc7, 0x62, 0x51, 0x4c, 0x44, 0x19, 0x3f]);
        assert_eq!(super::topic_id_text(most, least), "BaLe3p_8Syyfx2JRTEQZPw");
        assert!(super::same_topic_id(
            "BaLe3p/8Syyfx2JRTEQZPw",
            "BaLe3p_8Syyfx2JRTEQZPw"
        ));
        assert!(super::same_topic_id("AAAA+A==", "AAAA-A"));
        assert!(!super::same_topic_id(
            "BaLe3p_8Syyfx2JRTEQZPw",
            "BaLe3p_8Syyfx2JRTEQZPQ"
        ));
    }
}

/// What a topic's configuration says of how long its records stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicSettings {
    /// `delete`, `compact` or `compact,delete`; `None` where the broker would not say
    /// (no DescribeConfigs, not authorized, timed out).
    pub cleanup_policy: Option<String>,
    /// How long records are kept, in ms; `-1` forever.
    pub retention_ms: Option<i64>,
}

impl TopicSettings {
    /// The cleanup policy, short, for a table: `delete`, `compact`, `both`, `-`.
    pub fn cleanup_label(&self) -> &str {
        match self.cleanup_policy.as_deref() {
            None => "-",
            Some(p) if p.contains("compact") && p.contains("delete") => "both",
            Some(p) => p,
        }
    }

    /// The retention, short: `7d 0h`, `forever`, `-`.
    pub fn retention_label(&self) -> String {
        match self.retention_ms {
            None => "-".into(),
            Some(ms) if ms < 0 => "forever".into(),
            Some(ms) => super::group::duration_label(ms),
        }
    }
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
            "records": self.records,
            "cleanup_policy": self.settings.cleanup_policy,
            "retention_ms": self.settings.retention_ms,
            "watermarks": self.partitions.iter().map(|p| json!({
                "partition": p.partition, "low": p.low, "high": p.high
            })).collect::<Vec<_>>(),
        })
    }
}
