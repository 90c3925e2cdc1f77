//! Consumer groups: their state and members, asked of each group's coordinator by name
//! (the admin API in `admin.rs`); committed offsets; writing offsets; and looking up
//! offsets by time. Committed offsets are read by a consumer carrying the group id that
//! never joins the group.

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::admin::{Description, GroupAdmin};
use super::wire::{self, ListedGroup};
use super::{client_config, Cluster, ClusterError};
use crate::model::group::{
    groups_to_describe, settle, CoordinatorAnswer, Group, GroupOffset, GroupState, GroupStatus,
    GroupType, Listed, Listing, Member,
};
use crate::model::TopicInfo;

/// How an answer refused by the ACLs begins (a group's state is then unknown, never Dead
/// or Empty).
pub(super) const NOT_AUTHORIZED: &str = "not authorized";

/// What the typed listing gave: the groups the brokers that answered listed, and why it
/// is incomplete, when a broker did not answer or could not be asked.
#[derive(Default)]
struct TypedListing {
    groups: Vec<ListedGroup>,
    incomplete: Option<String>,
}

/// How a group's offsets were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePath {
    /// The admin API's AlterConsumerGroupOffsets, as kafka-consumer-groups.sh writes them:
    /// a coordinator refuses it for a group with members.
    AlterConsumerGroupOffsets,
    /// A commit by a client carrying the group id that never joins: for brokers without
    /// the admin API (librdkafka's mock cluster).
    NonMemberCommit,
}

impl WritePath {
    /// How the plan's output names it.
    pub fn label(self) -> &'static str {
        match self {
            WritePath::AlterConsumerGroupOffsets => "AlterConsumerGroupOffsets",
            WritePath::NonMemberCommit => {
                "non-member commit (the broker has no AlterConsumerGroupOffsets)"
            }
        }
    }
}

impl Cluster {
    fn admin(&self) -> GroupAdmin<'_> {
        GroupAdmin::new(&self.consumer, self.conn.timeout())
    }

    /// Whether the connection is plain TCP (no TLS, no SASL): only then can rewind send
    /// the requests librdkafka lacks (`wire`).
    pub(super) fn plaintext(&self) -> bool {
        self.conn
            .properties
            .iter()
            .find(|(k, _)| k == "security.protocol")
            .is_none_or(|(_, v)| v.eq_ignore_ascii_case("plaintext"))
    }

    /// Every group the brokers coordinate with its type (ListGroups v5, sent to each
    /// broker): what the brokers that answered listed, and why the listing is not
    /// complete, when it is not.
    fn listed_with_types(&self) -> TypedListing {
        if !self.plaintext() {
            return TypedListing {
                groups: vec![],
                incomplete: Some("group types are asked only on PLAINTEXT listeners".into()),
            };
        }
        let metadata = match self.consumer.fetch_metadata(None, self.conn.timeout()) {
            Ok(m) => m,
            Err(e) => {
                return TypedListing {
                    groups: vec![],
                    incomplete: Some(format!("no metadata: {e}")),
                }
            }
        };
        let mut listing = TypedListing::default();
        let mut failed = Vec::new();
        for b in metadata.brokers() {
            let address = format!("{}:{}", b.host(), b.port());
            match wire::Broker::connect(&address, self.conn.timeout())
                .and_then(|mut broker| broker.list_groups())
            {
                Ok(listed) => listing.groups.extend(listed),
                // A broker older than ListGroups v5 (Kafka 3.8) has no share or streams
                // groups: what librdkafka describes there is all there is.
                Err(wire::WireError::Unsupported { .. }) => {}
                Err(e) => failed.push(format!("ListGroups to {address}: {e}")),
            }
        }
        if metadata.brokers().is_empty() {
            failed.push("the metadata named no broker".into());
        }
        if !failed.is_empty() {
            listing.incomplete = Some(failed.join("; "));
        }
        listing
    }

    /// Each group's coordinator asked about it by name, with its type, settled with the
    /// typed listing (`model::group::settle`). Share groups, which librdkafka describes
    /// as `Dead` classic groups, are described by the API that answers for them
    /// (ShareGroupDescribe); streams groups take their coordinator's listed state.
    fn describe(&self, names: &[String], listing: &TypedListing) -> Vec<(Description, GroupType)> {
        let complete = match &listing.incomplete {
            None => Listing::Complete,
            Some(why) => Listing::Incomplete(why),
        };
        let mut out = Vec::new();
        for mut d in self.describe_consumer_groups(names) {
            let l = listing.groups.iter().find(|l| l.group == d.group);
            let typed = l.map(|l| Listed {
                group_type: &l.group_type,
                protocol_type: &l.protocol_type,
                state: &l.state,
            });
            let answer = std::mem::replace(&mut d.answer, CoordinatorAnswer::NotFound);
            let (answer, kind) = settle(
                answer,
                d.consumer_protocol,
                d.members.len(),
                typed,
                complete,
            );
            d.answer = answer;
            match (kind, l) {
                (GroupType::Share, Some(l)) => describe_share_group(&mut d, l, self.conn.timeout()),
                (GroupType::Streams, Some(l)) => {
                    d.answer = CoordinatorAnswer::State(Some(l.state.clone()));
                    d.members.clear();
                }
                _ => {}
            }
            out.push((d, kind));
        }
        out
    }

    /// Classic and consumer groups, described through librdkafka. A request that fails
    /// as a whole leaves every group unknown, with the reason.
    fn describe_consumer_groups(&self, names: &[String]) -> Vec<Description> {
        let mut described = describe_with(&self.admin(), names);
        // librdkafka asks ConsumerGroupDescribe (KIP-848) first and falls back to the
        // classic DescribeGroups only when the coordinator says the group is not of the
        // new protocol, as Kafka does. Tansu 0.6.0 answers it for a classic group with
        // the state but no members: an active group without members is then asked again
        // the classic way, for its members. The state stays active if either says so.
        let inconsistent: Vec<String> = described
            .iter()
            .filter(|d| {
                d.consumer_protocol
                    && d.members.is_empty()
                    && GroupState::from_answer(d.answer.clone()).is_active()
            })
            .map(|d| d.group.clone())
            .collect();
        if inconsistent.is_empty() {
            return described;
        }
        // A client that does not ask ApiVersions and takes the broker for a 0.9 one
        // sends DescribeGroups straight away (best effort: no SASL handshake there).
        let classic: BaseConsumer = match client_config(&self.conn)
            .set("api.version.request", "false")
            .set("broker.version.fallback", "0.9.0")
            .create()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(error = %e, "no classic client for group members");
                return described;
            }
        };
        let again = describe_with(
            &GroupAdmin::new(&classic, self.conn.timeout()),
            &inconsistent,
        );
        for d in described.iter_mut() {
            let Some(c) = again
                .iter()
                .find(|c| c.group == d.group && !c.members.is_empty())
            else {
                continue;
            };
            d.members = c.members.clone();
            if GroupState::from_answer(c.answer.clone()).is_active() {
                d.answer = c.answer.clone();
            }
        }
        described
    }

    /// The group's state and kind as its coordinator reports them right now.
    pub fn group_state(&self, group: &str) -> GroupStatus {
        let listed = self.listed_with_types();
        let (d, kind) = self.describe(&[group.to_owned()], &listed).remove(0);
        GroupStatus {
            state: GroupState::from_answer(d.answer),
            kind,
        }
    }

    /// Groups with state, members and committed offsets on any topic: the one named by
    /// `only`, else those the brokers list and the `configured` ones, each described by
    /// name. Also says why the listing is incomplete, when it is.
    pub fn groups(
        &self,
        only: Option<&str>,
        configured: &[String],
    ) -> Result<(Vec<Group>, Option<String>), ClusterError> {
        let (listed, listing_gap) = match only {
            Some(_) => (vec![], None),
            None => match self.admin().list() {
                Ok(l) if l.errors.is_empty() => (l.groups, None),
                Ok(l) => (
                    l.groups,
                    Some(format!(
                        "some brokers did not list their groups: {}",
                        l.errors.join("; ")
                    )),
                ),
                Err(e) => (vec![], Some(format!("the broker cannot list groups: {e}"))),
            },
        };
        let typed = self.listed_with_types();
        if let Some(why) = &typed.incomplete {
            tracing::info!(why, "groups listed without all their types");
        }
        let mut listed = listed;
        if only.is_none() {
            listed.extend(typed.groups.iter().map(|l| l.group.clone()));
        }
        let names = groups_to_describe(&listed, configured, only);
        let described = self.describe(&names, &typed);
        let topics = self.topics()?;
        let groups = described
            .into_iter()
            .map(|(d, kind)| {
                // A group this principal may not describe: its offsets cannot be read
                // either (OffsetFetch needs the same ACL).
                let refused = matches!(&d.answer, CoordinatorAnswer::Failed(why) if why.starts_with(NOT_AUTHORIZED));
                let offsets = match refused {
                    true => vec![],
                    false => self
                        .committed(&d.group, &topics)?
                        .into_iter()
                        .filter(|o| o.committed.is_some())
                        .collect(),
                };
                Ok(Group {
                    name: d.group,
                    state: GroupState::from_answer(d.answer),
                    kind,
                    protocol: d.protocol,
                    members: d.members,
                    offsets,
                })
            })
            .collect::<Result<_, ClusterError>>()?;
        Ok((groups, listing_gap))
    }

    /// Reads, for each offset behind its high watermark, the timestamps of the record at
    /// the committed offset and of the newest record: two records per partition, not
    /// the topic (`GroupOffset::lag_ms`).
    pub fn read_lag_times(&self, offsets: &mut [GroupOffset]) -> Result<(), ClusterError> {
        use crate::model::group::LagTimes;
        use crate::model::select::PartitionRange;
        let mut topics: Vec<String> = offsets
            .iter()
            .filter(|o| o.committed.is_some_and(|c| c < o.high))
            .map(|o| o.topic.clone())
            .collect();
        topics.sort();
        topics.dedup();
        let scanner = self.scanner()?;
        for topic in topics {
            let behind: Vec<usize> = (0..offsets.len())
                .filter(|&i| {
                    let o = &offsets[i];
                    o.topic == topic && o.committed.is_some_and(|c| c < o.high)
                })
                .collect();
            // The first record at or after each point (a few offsets on, for control
            // records), one pass per point: a partition is assigned at one offset.
            let first_after = |start: &dyn Fn(&GroupOffset) -> i64| -> Result<std::collections::HashMap<i32, i64>, ClusterError> {
                let ranges: Vec<PartitionRange> = behind
                    .iter()
                    .map(|&i| {
                        let o = &offsets[i];
                        let from = start(o).max(0);
                        PartitionRange { partition: o.partition, start: from, end: (from + 16).min(o.high) }
                    })
                    .collect();
                let mut found = std::collections::HashMap::new();
                let _ = scanner.scan_unordered(&topic, &ranges, &mut |r| {
                    if let Some(ts) = r.timestamp {
                        found.entry(r.partition).or_insert(ts);
                    }
                    std::ops::ControlFlow::Continue(())
                })?;
                Ok(found)
            };
            let committed = first_after(&|o| o.committed.unwrap_or(o.high))?;
            let newest = first_after(&|o| o.high - 1)?;
            for &i in &behind {
                let p = offsets[i].partition;
                offsets[i].times = Some(LagTimes {
                    committed: committed.get(&p).copied(),
                    newest: newest.get(&p).copied(),
                });
            }
        }
        Ok(())
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
        let answer = self.patiently(&consumer, |t| {
            consumer.committed_offsets(request.clone(), t)
        })?;
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
                    times: None,
                });
            }
        }
        Ok(offsets)
    }

    /// Writes a group's offsets on a topic: through AlterConsumerGroupOffsets, or where
    /// the broker lacks it, as a commit from a client that never joins the group.
    pub fn write_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<WritePath, ClusterError> {
        match self.admin().alter_offsets(group, topic, offsets) {
            Ok(partitions) => {
                let refused: Vec<String> = partitions
                    .iter()
                    .filter_map(|(p, e)| e.as_ref().map(|e| format!("partition {p}: {e}")))
                    .collect();
                match refused.is_empty() {
                    true => Ok(WritePath::AlterConsumerGroupOffsets),
                    false => Err(ClusterError::Refused {
                        group: group.to_owned(),
                        why: refused.join(", "),
                    }),
                }
            }
            Err(e) if e.unsupported() => {
                tracing::info!(group, error = %e, "no AlterConsumerGroupOffsets: committing as a non-member");
                self.commit(group, topic, offsets)
                    .map(|()| WritePath::NonMemberCommit)
            }
            Err(e) => Err(ClusterError::Refused {
                group: group.to_owned(),
                why: e.to_string(),
            }),
        }
    }

    /// Commits offsets for a group without joining it (accepted only while it is
    /// empty on a real broker).
    fn commit(&self, group: &str, topic: &str, offsets: &[(i32, i64)]) -> Result<(), ClusterError> {
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

    fn group_consumer(&self, group: &str) -> Result<BaseConsumer<super::Watch>, ClusterError> {
        client_config(&self.conn)
            .set("group.id", group)
            .create_with_context(super::Watch::default())
            .map_err(ClusterError::Client)
    }
}

/// One description per name, in order: what the coordinator said, or why it could not.
fn describe_with(admin: &GroupAdmin<'_>, names: &[String]) -> Vec<Description> {
    let failed = |name: &String, why: String| Description {
        group: name.clone(),
        answer: CoordinatorAnswer::Failed(why),
        members: vec![],
        consumer_protocol: false,
        protocol: None,
    };
    if names.is_empty() {
        return vec![];
    }
    match admin.describe(names) {
        Ok(found) => names
            .iter()
            .map(|name| {
                found
                    .iter()
                    .find(|d| &d.group == name)
                    .cloned()
                    .unwrap_or_else(|| {
                        failed(name, "its coordinator did not answer about it".into())
                    })
            })
            .collect(),
        Err(e) => names
            .iter()
            .map(|name| failed(name, format!("the broker cannot describe groups: {e}")))
            .collect(),
    }
}

/// A share group as its coordinator (the broker that listed it) describes it; where it
/// cannot be asked, the state that listing gave.
fn describe_share_group(d: &mut Description, listed: &ListedGroup, timeout: std::time::Duration) {
    d.members.clear();
    d.answer = CoordinatorAnswer::State(Some(listed.state.clone()));
    let answer = wire::Broker::connect(&listed.broker, timeout)
        .and_then(|mut b| b.describe_share_groups(std::slice::from_ref(&d.group)));
    let share = match answer {
        Ok(mut found) if !found.is_empty() => found.remove(0),
        Ok(_) => return,
        Err(e) => {
            tracing::info!(group = d.group, error = %e, "ShareGroupDescribe failed; the listing's state is shown");
            return;
        }
    };
    d.answer = match share.error {
        0 => CoordinatorAnswer::State(Some(share.state)),
        69 => CoordinatorAnswer::NotFound,
        code => CoordinatorAnswer::Failed(format!("ShareGroupDescribe answered error {code}")),
    };
    d.protocol = Some(share.assignor).filter(|a| !a.is_empty());
    d.members = share
        .members
        .into_iter()
        .map(|m| Member {
            id: m.id,
            client_id: m.client_id,
            host: m.host,
            assignment: m.assignment,
        })
        .collect();
}
