//! Stored snapshots: where they live and how a snapshot record reads.

use serde_json::Value;

use super::event::{Coord, Event};
use super::Extractor;

/// How to read a topic's snapshots (`snapshots = { topic, state, version }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRules {
    /// The topic that holds them; their aggregate id comes from that topic's own rules.
    pub topic: String,
    pub state: Extractor,
    pub version: Extractor,
}

/// One snapshot record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSnapshot {
    pub coord: Coord,
    /// How many of the aggregate's events it includes; `None` when the record has none.
    pub version: Option<usize>,
    pub state: Value,
}

impl SnapshotRules {
    /// Reads a snapshot record (a missing state is `null`).
    pub fn read(&self, record: &Event) -> StoredSnapshot {
        StoredSnapshot {
            coord: record.coord(),
            version: self
                .version
                .value(record)
                .and_then(Value::as_u64)
                .map(|v| v as usize),
            state: self.state.value(record).cloned().unwrap_or(Value::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawRecord;
    use crate::TopicRules;
    use serde_json::json;

    #[test]
    fn reads_version_and_state() {
        let rules = SnapshotRules {
            topic: "s".into(),
            state: Extractor::parse(".snap.state").unwrap(),
            version: Extractor::parse(".snap.v").unwrap(),
        };
        let raw = RawRecord {
            topic: "s",
            offset: 4,
            value: Some(br#"{"snap": {"v": 10, "state": {"a": 1}}}"#),
            ..Default::default()
        };
        let s = rules.read(&Event::decode(&raw, &TopicRules::default()));
        assert_eq!(
            (s.version, s.state, s.coord.offset),
            (Some(10), json!({"a": 1}), 4)
        );
        let raw = RawRecord {
            topic: "s",
            value: Some(b"garbage"),
            ..Default::default()
        };
        let s = rules.read(&Event::decode(&raw, &TopicRules::default()));
        assert_eq!((s.version, s.state), (None, Value::Null));
    }
}
