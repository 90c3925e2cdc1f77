//! Consumer groups: listing and describing, committed offsets, commits, and looking up
//! offsets by time. Committed offsets are read and written by a consumer carrying the
//! group id that never joins the group (rdkafka's admin client has no offset calls).

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::{client_config, Cluster, ClusterError};
use crate::model::group::{parse_assignment, Group, GroupOffset, GroupState, Member};
use crate::model::TopicInfo;

/// A group as the broker describes it, before offsets are read.
struct Described {
    name: String,
    state: GroupState,
    members: Vec<Member>,
}

impl Cluster {
    /// Groups the broker lists (all, or the one named), described; `Err` with the reason
    /// when it cannot list or describe groups (librdkafka's mock cluster).
    fn describe(&self, only: Option<&str>) -> Result<Vec<Described>, String> {
        let list = self
            .consumer
            .fetch_group_list(only, self.conn.timeout())
            .map_err(|e| format!("the broker cannot list groups: {e}"))?;
        Ok(list
            .groups()
            .iter()
            .filter(|g| g.protocol_type() == "consumer" || g.protocol_type().is_empty())
            .map(|g| {
                let state = match g.state() {
                    "" => GroupState::Unknown("the broker gave no state".into()),
                    s => GroupState::Known(s.to_owned()),
                };
                let members = g
                    .members()
                    .iter()
                    .map(|m| Member {
                        id: m.id().to_owned(),
                        client_id: m.client_id().to_owned(),
                        host: m.client_host().to_owned(),
                        assignment: m
                            .assignment()
                            .and_then(parse_assignment)
                            .unwrap_or_default(),
                    })
                    .collect();
                Described {
                    name: g.name().to_owned(),
                    state,
                    members,
                }
            })
            .collect())
    }

    /// The group's state as the broker reports it right now.
    pub fn group_state(&self, group: &str) -> GroupState {
        match self.describe(Some(group)) {
            Ok(groups) => groups
                .into_iter()
                .find(|g| g.name == group)
                .map(|g| g.state)
                // A group the broker does not know has no consumers and no offsets.
                .unwrap_or(GroupState::Known("Dead".into())),
            Err(why) => GroupState::Unknown(why),
        }
    }

    /// Groups with state, members and committed offsets on any topic. `only` restricts
    /// to one group; `configured` are groups to show even when the broker cannot list
    /// groups (their state is then unknown).
    pub fn groups(
        &self,
        only: Option<&str>,
        configured: &[String],
    ) -> Result<Vec<Group>, ClusterError> {
        let (mut described, unknown_why) = match self.describe(only) {
            Ok(d) => (d, None),
            Err(why) => (vec![], Some(why)),
        };
        let wanted: Vec<&str> = match only {
            Some(g) => vec![g],
            None => configured.iter().map(String::as_str).collect(),
        };
        for name in wanted {
            if !described.iter().any(|d| d.name == name) {
                let state = match &unknown_why {
                    Some(why) => GroupState::Unknown(why.clone()),
                    None => GroupState::Known("Dead".into()),
                };
                described.push(Described {
                    name: name.to_owned(),
                    state,
                    members: vec![],
                });
            }
        }
        described.sort_by(|a, b| a.name.cmp(&b.name));
        let topics = self.topics()?;
        described
            .into_iter()
            .map(|d| {
                let offsets = self
                    .committed(&d.name, &topics)?
                    .into_iter()
                    .filter(|o| o.committed.is_some())
                    .collect();
                Ok(Group {
                    name: d.name,
                    state: d.state,
                    members: d.members,
                    offsets,
                })
            })
            .collect()
    }

    /// The group's committed offset on every partition of these topics.
    pub fn committed(
        &self,
        group: &str,
        topics: &[TopicInfo],
    ) -> Result<Vec<GroupOffset>, ClusterError> {
        let mut request = TopicPartitionList::new();
        for t in topics {
            for p in &t.partitions {
                request.add_partition(&t.name, p.partition);
            }
        }
        let consumer = self.group_consumer(group)?;
        let answer = consumer
            .committed_offsets(request, self.conn.timeout())
            .map_err(|e| self.unreachable(e))?;
        let mut offsets = Vec::new();
        for t in topics {
            for p in &t.partitions {
                let committed =
                    answer
                        .find_partition(&t.name, p.partition)
                        .and_then(|e| match e.offset() {
                            Offset::Offset(o) => Some(o),
                            _ => None,
                        });
                offsets.push(GroupOffset {
                    topic: t.name.clone(),
                    partition: p.partition,
                    committed,
                    high: p.high,
                });
            }
        }
        Ok(offsets)
    }

    /// Commits offsets for a group without joining it (accepted only while it is
    /// empty on a real broker).
    pub fn commit(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<(), ClusterError> {
        let mut list = TopicPartitionList::new();
        for (partition, offset) in offsets {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(ClusterError::Client)?;
        }
        self.group_consumer(group)?
            .commit(&list, CommitMode::Sync)
            .map_err(|cause| ClusterError::Commit {
                group: group.to_owned(),
                cause,
            })
    }

    /// The broker's answer to "the first offset at or after `t`" in each partition:
    /// `Some(offset)` (the log end when it says none), `None` when it gave no usable answer.
    pub fn offsets_for_time(
        &self,
        topic: &str,
        partitions: &[(i32, i64)],
        t: i64,
    ) -> Result<Vec<Option<i64>>, ClusterError> {
        let mut request = TopicPartitionList::new();
        for (partition, _) in partitions {
            request
                .add_partition_offset(topic, *partition, Offset::Offset(t))
                .map_err(ClusterError::Client)?;
        }
        let answer = self
            .consumer
            .offsets_for_times(request, self.conn.timeout())
            .map_err(|e| self.unreachable(e))?;
        Ok(partitions
            .iter()
            .map(|(partition, high)| {
                let e = answer.find_partition(topic, *partition)?;
                match e.offset() {
                    Offset::Offset(o) => Some(o),
                    Offset::End => Some(*high),
                    _ => None,
                }
            })
            .collect())
    }

    fn group_consumer(&self, group: &str) -> Result<BaseConsumer, ClusterError> {
        client_config(&self.conn)
            .set("group.id", group)
            .create()
            .map_err(ClusterError::Client)
    }
}
