//! Consumer groups as rewind shows them: state, members, offsets and lag; and the rule
//! for when a group's offsets may be changed (SPEC.md, "Writes and safety").

use serde_json::{json, Value};

/// What the broker says about a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupState {
    /// The broker's state name: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead…
    Known(String),
    /// The broker cannot list or describe groups; the reason says why.
    Unknown(String),
}

impl GroupState {
    /// The state's name (`unknown` when the broker cannot tell).
    pub fn name(&self) -> &str {
        match self {
            GroupState::Known(s) => s,
            GroupState::Unknown(_) => "unknown",
        }
    }

    /// Whether offsets may be committed: only for a group no consumer is in (Empty or
    /// Dead), or an unknown one when the user allowed it.
    pub fn check_inactive(&self, group: &str, allow_unknown: bool) -> Result<(), String> {
        match self {
            GroupState::Known(s) if s.eq_ignore_ascii_case("Empty") || s.eq_ignore_ascii_case("Dead") => Ok(()),
            GroupState::Known(s) => Err(format!(
                "group {group} is {s}: its consumers are running. Stop them (the group must be Empty) and try again; nothing was changed"
            )),
            GroupState::Unknown(_) if allow_unknown => Ok(()),
            GroupState::Unknown(why) => Err(format!(
                "the state of group {group} is unknown ({why}); make sure none of its consumers is running and pass --allow-unknown-state; nothing was changed"
            )),
        }
    }
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub client_id: String,
    pub host: String,
    /// Its assigned partitions, by topic, when the consumer protocol says so.
    pub assignment: Vec<(String, Vec<i32>)>,
}

/// One partition's committed offset and lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    pub topic: String,
    pub partition: i32,
    pub committed: Option<i64>,
    pub high: i64,
}

impl GroupOffset {
    /// Events the group has not consumed yet.
    pub fn lag(&self) -> Option<i64> {
        self.committed.map(|c| (self.high - c).max(0))
    }
}

/// A group with its offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub state: GroupState,
    pub members: Vec<Member>,
    pub offsets: Vec<GroupOffset>,
}

impl Group {
    /// The `rewind groups -o json` shape (SPEC.md).
    pub fn to_json(&self) -> Value {
        json!({
            "group": self.name,
            "state": self.state.name(),
            "members": self.members.iter().map(|m| json!({
                "id": m.id, "client_id": m.client_id, "host": m.host,
                "assignment": m.assignment.iter().map(|(t, p)| json!({"topic": t, "partitions": p})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "partitions": self.offsets.iter().map(|o| json!({
                "topic": o.topic, "partition": o.partition, "committed": o.committed,
                "high": o.high, "lag": o.lag(),
            })).collect::<Vec<_>>(),
        })
    }

    /// Total lag over the partitions with a committed offset.
    pub fn lag(&self) -> i64 {
        self.offsets.iter().filter_map(GroupOffset::lag).sum()
    }

    /// The topics it has offsets on.
    pub fn topics(&self) -> Vec<&str> {
        let mut topics: Vec<&str> = self.offsets.iter().map(|o| o.topic.as_str()).collect();
        topics.dedup();
        topics
    }
}

/// Decodes a member's assignment in the Kafka consumer protocol (version, then topics
/// with their partitions); `None` for anything else (connect workers, bad bytes).
pub fn parse_assignment(bytes: &[u8]) -> Option<Vec<(String, Vec<i32>)>> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let slice = bytes.get(at..at + n)?;
        at += n;
        Some(slice)
    };
    let _version = i16::from_be_bytes(take(2)?.try_into().ok()?);
    let topics = i32::from_be_bytes(take(4)?.try_into().ok()?);
    let mut out = Vec::new();
    for _ in 0..topics.max(0) {
        let len = i16::from_be_bytes(take(2)?.try_into().ok()?);
        let name = String::from_utf8(take(len.max(0) as usize)?.to_vec()).ok()?;
        let count = i32::from_be_bytes(take(4)?.try_into().ok()?);
        let mut partitions = Vec::new();
        for _ in 0..count.max(0) {
            partitions.push(i32::from_be_bytes(take(4)?.try_into().ok()?));
        }
        out.push((name, partitions));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_or_dead_groups_may_be_reset_and_unknown_only_when_allowed() {
        let known = |s: &str| GroupState::Known(s.into());
        assert!(known("Empty").check_inactive("g", false).is_ok());
        assert!(known("Dead").check_inactive("g", false).is_ok());
        for active in ["Stable", "PreparingRebalance", "CompletingRebalance"] {
            let err = known(active).check_inactive("g", true).unwrap_err();
            assert!(err.contains(&format!("group g is {active}")), "{err}");
        }
        let unknown = GroupState::Unknown("the broker cannot list groups".into());
        assert!(unknown
            .check_inactive("g", false)
            .unwrap_err()
            .contains("--allow-unknown-state"));
        assert!(unknown.check_inactive("g", true).is_ok());
        assert_eq!(unknown.name(), "unknown");
    }

    #[test]
    fn consumer_protocol_assignments_decode_and_garbage_does_not() {
        let mut bytes = vec![0, 1, 0, 0, 0, 1, 0, 6];
        bytes.extend(b"orders");
        bytes.extend([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
        bytes.extend([0, 0, 0, 0]); // user data
        assert_eq!(
            parse_assignment(&bytes),
            Some(vec![("orders".into(), vec![0, 2])])
        );
        assert_eq!(parse_assignment(&bytes[..10]), None);
        assert_eq!(parse_assignment(&[]), None);
    }

    #[test]
    fn lag_counts_what_the_group_has_not_consumed() {
        let offset = |committed| GroupOffset {
            topic: "t".into(),
            partition: 0,
            committed,
            high: 10,
        };
        assert_eq!(offset(Some(4)).lag(), Some(6));
        assert_eq!(offset(None).lag(), None);
        assert_eq!(offset(Some(12)).lag(), Some(0));
    }
}
