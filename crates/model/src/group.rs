//! Consumer groups as rewind shows them: state, members, offsets and lag; and the rule
//! for when a group's offsets may be changed (SPEC.md, "Writes and safety").

use serde_json::{json, Value};

/// What a group's coordinator says about it: whether a commit may go through is decided
/// by the variant, never by comparing names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupState {
    /// No consumer is in it.
    Inactive(Idle),
    /// Consumers are in it: the coordinator's name for the state (Stable,
    /// PreparingRebalance, CompletingRebalance, Assigning, Reconciling…).
    Active(String),
    /// The coordinator could not be asked, or did not answer; the reason says why.
    Unknown(String),
}

/// The two states of a group no consumer is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Known to the coordinator, with no member (it may hold commits).
    Empty,
    /// Unknown to the coordinator (never made, or gone).
    Dead,
}

/// What a group's coordinator answered when asked about that group by name
/// (DescribeGroups, through the admin API's DescribeConsumerGroups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorAnswer {
    /// The group's state as the coordinator names it (`None`: a state librdkafka does not
    /// know, e.g. from a newer broker).
    State(Option<String>),
    /// The coordinator knows no group of that id (GROUP_ID_NOT_FOUND).
    NotFound,
    /// The question failed (no such API, not authorized, timed out…): the reason.
    Failed(String),
}

/// A group as its coordinator's ListGroups v5 answer gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed<'a> {
    pub group_type: &'a str,
    pub protocol_type: &'a str,
    pub state: &'a str,
}

/// What the typed listing could say: every broker answered (a group it left out does
/// not exist), or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing<'a> {
    Complete,
    Incomplete(&'a str),
}

/// A group's state and type from its description (librdkafka's DescribeConsumerGroups:
/// `answer`, whether ConsumerGroupDescribe answered, how many members) and the typed
/// listing. librdkafka describes a share or streams group as a `Dead` classic group, so
/// a `Dead` group the listing does not name is only taken as absent when the listing is
/// complete; otherwise its state is unknown. librdkafka names only the classic states,
/// so a KIP-848 group that is Assigning or Reconciling comes back unnamed: the listing
/// names it, and a group with members is active whatever it is called.
pub fn settle(
    answer: CoordinatorAnswer,
    consumer_protocol: bool,
    members: usize,
    listed: Option<Listed<'_>>,
    listing: Listing<'_>,
) -> (CoordinatorAnswer, GroupType) {
    let dead = match &answer {
        CoordinatorAnswer::NotFound => true,
        CoordinatorAnswer::State(Some(s)) => {
            GroupState::named(s) == GroupState::Inactive(Idle::Dead)
        }
        _ => false,
    };
    let kind = match listed {
        Some(l) => GroupType::from_listing(l.group_type, l.protocol_type),
        None if dead || matches!(answer, CoordinatorAnswer::Failed(_)) => GroupType::Unknown,
        None if consumer_protocol => GroupType::Consumer,
        None => GroupType::Classic,
    };
    // A listing taken before the description may be stale: with members, an inactive
    // state from it is not believed.
    let inactive = |s: &str| !GroupState::named(s).is_active();
    let believable = |s: &str| !s.is_empty() && (members == 0 || !inactive(s));
    let answer = match (answer, listed, listing) {
        (CoordinatorAnswer::State(None), Some(l), _) if believable(l.state) => {
            CoordinatorAnswer::State(Some(l.state.to_owned()))
        }
        (CoordinatorAnswer::State(None), _, _) if members > 0 => CoordinatorAnswer::State(Some(
            format!("active ({members} member(s), in a state librdkafka does not name)"),
        )),
        (_, None, Listing::Incomplete(why)) if dead => CoordinatorAnswer::Failed(format!(
            "described as Dead, which is also how a share or streams group is described, and the typed listing could not tell ({why})"
        )),
        (answer, _, _) => answer,
    };
    (answer, kind)
}

impl GroupState {
    /// The state a coordinator's answer means. This is the only way a state is made from
    /// the broker: a listing (ListGroups) gives names to ask about, never states, because
    /// brokers leave groups out of listings (ACLs, a broker down, Tansu's groups without
    /// commits) and a group left out may still have running consumers.
    pub fn from_answer(answer: CoordinatorAnswer) -> GroupState {
        match answer {
            CoordinatorAnswer::State(Some(name)) => GroupState::named(&name),
            CoordinatorAnswer::State(None) => {
                GroupState::Unknown("the coordinator answered a state rewind does not know".into())
            }
            CoordinatorAnswer::NotFound => GroupState::Inactive(Idle::Dead),
            CoordinatorAnswer::Failed(why) => GroupState::Unknown(why),
        }
    }

    /// The state a coordinator named: Empty and Dead (in any case) are inactive, every
    /// other name is a state with consumers in it.
    pub fn named(name: &str) -> GroupState {
        if name.eq_ignore_ascii_case("Empty") {
            GroupState::Inactive(Idle::Empty)
        } else if name.eq_ignore_ascii_case("Dead") {
            GroupState::Inactive(Idle::Dead)
        } else {
            GroupState::Active(name.to_owned())
        }
    }

    /// Whether consumers are in the group.
    pub fn is_active(&self) -> bool {
        matches!(self, GroupState::Active(_))
    }

    /// Whether rewind may commit the group's offsets: no consumer is in it, or its state
    /// is unknown and the user allowed that.
    pub fn may_commit(&self, allow_unknown: bool) -> bool {
        match self {
            GroupState::Inactive(_) => true,
            GroupState::Active(_) => false,
            GroupState::Unknown(_) => allow_unknown,
        }
    }

    /// The state's name (`unknown` when the broker cannot tell).
    pub fn name(&self) -> &str {
        match self {
            GroupState::Inactive(Idle::Empty) => "Empty",
            GroupState::Inactive(Idle::Dead) => "Dead",
            GroupState::Active(s) => s,
            GroupState::Unknown(_) => "unknown",
        }
    }

    /// `may_commit`, with the reason when not.
    pub fn check_inactive(&self, group: &str, allow_unknown: bool) -> Result<(), String> {
        if self.may_commit(allow_unknown) {
            return Ok(());
        }
        match self {
            GroupState::Unknown(why) => Err(format!(
                "the state of group {group} is unknown ({why}); make sure none of its consumers is running and pass --allow-unknown-state; nothing was changed"
            )),
            state => Err(format!(
                "group {group} is {}: its consumers are running. Stop them (the group must be Empty) and try again; nothing was changed",
                state.name()
            )),
        }
    }
}

/// What kind of group it is: Kafka 4's group types (ListGroups' `GroupType`), with
/// Kafka Connect's classic groups told apart by their protocol type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupType {
    /// The classic consumer protocol (JoinGroup/SyncGroup), or a group of commits only.
    Classic,
    /// KIP-848's consumer protocol.
    Consumer,
    /// KIP-932's share groups: queues, whose offsets are not a consumer's positions.
    Share,
    /// KIP-1071's Kafka Streams groups.
    Streams,
    /// Kafka Connect's workers (a classic group of protocol type `connect`).
    Connect,
    /// Nothing said what it is (a group that does not exist, or a broker that cannot list
    /// groups with their types).
    #[default]
    Unknown,
    /// A type the listing names that rewind does not know (from a newer broker).
    Unrecognized,
}

impl GroupType {
    /// The name the JSON and the screens show.
    pub fn name(self) -> &'static str {
        match self {
            GroupType::Classic => "classic",
            GroupType::Consumer => "consumer",
            GroupType::Share => "share",
            GroupType::Streams => "streams",
            GroupType::Connect => "connect",
            GroupType::Unknown | GroupType::Unrecognized => "unknown",
        }
    }

    /// The type a ListGroups answer gives (`GroupType`, `ProtocolType`).
    pub fn from_listing(group_type: &str, protocol_type: &str) -> GroupType {
        match (group_type.to_ascii_lowercase().as_str(), protocol_type) {
            ("classic", "connect") => GroupType::Connect,
            ("classic", _) => GroupType::Classic,
            ("consumer", _) => GroupType::Consumer,
            ("share", _) => GroupType::Share,
            ("streams", _) => GroupType::Streams,
            ("", _) => GroupType::Unknown,
            _ => GroupType::Unrecognized,
        }
    }

    /// Why rewind does not move this kind of group's offsets (`None`: it may, as a
    /// classic or consumer group, or one that does not exist).
    pub fn reset_refusal(self, group: &str) -> Option<String> {
        let why = match self {
            GroupType::Classic | GroupType::Consumer | GroupType::Unknown => return None,
            GroupType::Share => "a share group (KIP-932): its offsets are the start of a queue, not a consumer's position, and are reset with kafka-share-groups.sh",
            GroupType::Streams => "a Kafka Streams group (KIP-1071): its offsets are reset with kafka-streams-groups.sh, which also resets the application's internal topics",
            GroupType::Connect => "a Kafka Connect group: it coordinates workers and has no consumer offsets",
            GroupType::Unrecognized => "of a type rewind does not know (a newer broker's): only classic and consumer groups are reset",
        };
        Some(format!("group {group} is {why}; nothing was changed"))
    }
}

/// A group's state and kind, asked of its coordinator right before a plan or a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus {
    pub state: GroupState,
    pub kind: GroupType,
}

impl GroupStatus {
    /// Whether rewind may commit this group's offsets: a classic or consumer group (or
    /// one that does not exist) that no consumer is in; an unknown state only when the
    /// user allowed it.
    pub fn check_resettable(&self, group: &str, allow_unknown: bool) -> Result<(), String> {
        match self.kind.reset_refusal(group) {
            Some(why) => Err(why),
            None => self.state.check_inactive(group, allow_unknown),
        }
    }

    /// Why a plan is refused whatever the user allows (an active group, or a kind rewind
    /// does not reset): like kafka-consumer-groups.sh, even a dry run.
    pub fn refused(&self, group: &str) -> Option<String> {
        match self.kind.reset_refusal(group) {
            Some(why) => Some(why),
            None if self.state.is_active() => self.state.check_inactive(group, false).err(),
            None => None,
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
    /// Timestamps of the record at the committed offset (the first at or after it) and
    /// of the newest record, once read (`Cluster::read_lag_times`).
    pub times: Option<LagTimes>,
}

/// The two timestamps lag in time is measured between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LagTimes {
    pub committed: Option<i64>,
    pub newest: Option<i64>,
}

impl GroupOffset {
    /// Events the group has not consumed yet.
    pub fn lag(&self) -> Option<i64> {
        self.committed.map(|c| (self.high - c).max(0))
    }

    /// How far behind in time: the newest record's timestamp minus that of the record
    /// at the committed offset (SPEC's `lag_ms`). 0 when caught up; `None` without a
    /// commit or where a timestamp is unknown.
    pub fn lag_ms(&self) -> Option<i64> {
        let committed = self.committed?;
        if committed >= self.high {
            return Some(0);
        }
        let times = self.times?;
        Some((times.newest? - times.committed?).max(0))
    }
}

/// How a group catches up between two samples: events consumed per second, and the
/// seconds left at that rate (`None` while it does not move).
pub fn catch_up(
    consumed_before: i64,
    consumed_now: i64,
    seconds: f64,
    lag: i64,
) -> (f64, Option<f64>) {
    let rate = match seconds > 0.0 {
        true => ((consumed_now - consumed_before).max(0) as f64) / seconds,
        false => 0.0,
    };
    let eta = (rate > 0.0).then(|| lag as f64 / rate);
    (rate, eta)
}

/// Lag in time, short: `0s`, `850ms`, `12m 5s`, `3h 12m`, `2d 3h`.
pub fn duration_label(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        0 if ms == 0 => "0s".into(),
        0 => format!("{ms}ms"),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// One look at a group's lag (the Groups screen samples while it is open).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagSample {
    pub at: std::time::Instant,
    pub lag: i64,
    /// Offsets committed, summed: what the group has consumed.
    pub consumed: i64,
}

/// A group's lag over the last samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LagHistory {
    pub samples: std::collections::VecDeque<LagSample>,
}

impl LagHistory {
    /// Samples kept (at one every few seconds, several minutes).
    pub const KEEP: usize = 120;
    /// Samples the rate is measured over.
    const WINDOW: usize = 5;

    pub fn push(&mut self, sample: LagSample) {
        if self.samples.len() == Self::KEEP {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// The lags, oldest first (for a sparkline).
    pub fn lags(&self) -> Vec<u64> {
        self.samples.iter().map(|s| s.lag.max(0) as u64).collect()
    }

    /// Events consumed per second over the last samples, and the seconds to catch up at
    /// that rate (`None` until two samples, or while the group does not move).
    pub fn rate(&self) -> Option<(f64, Option<f64>)> {
        let n = self.samples.len();
        if n < 2 {
            return None;
        }
        let first = self.samples[n.saturating_sub(Self::WINDOW)];
        let last = self.samples[n - 1];
        Some(catch_up(
            first.consumed,
            last.consumed,
            (last.at - first.at).as_secs_f64(),
            last.lag,
        ))
    }

    /// Whether the lag grew over the last samples (producers outpace the group).
    pub fn growing(&self) -> bool {
        let n = self.samples.len();
        n >= 2 && self.samples[n - 1].lag > self.samples[n.saturating_sub(Self::WINDOW)].lag
    }
}

/// One look at a group replaying after a reset.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySample {
    pub at: std::time::Instant,
    /// Events re-processed since the targets, of those from the targets to the end.
    pub done: i64,
    pub total: i64,
    pub lag: i64,
    pub lag_ms: Option<i64>,
}

/// The samples of a replay being watched (the Rewind dialog after a commit).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayWatch {
    pub samples: Vec<ReplaySample>,
    /// Why the watch stopped, if it did before the group caught up.
    pub stopped: Option<String>,
}

impl ReplayWatch {
    pub fn last(&self) -> Option<&ReplaySample> {
        self.samples.last()
    }

    /// Events per second and seconds left, from the last two samples.
    pub fn rate(&self) -> (f64, Option<f64>) {
        match self.samples.as_slice() {
            [.., a, b] => catch_up(a.done, b.done, (b.at - a.at).as_secs_f64(), b.lag),
            _ => (0.0, None),
        }
    }

    pub fn caught_up(&self) -> bool {
        self.last().is_some_and(|s| s.lag == 0)
    }
}

/// A group with its offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub state: GroupState,
    pub kind: GroupType,
    /// The protocol its members agreed on (the assignor: `range`, `uniform`…), where
    /// the coordinator says.
    pub protocol: Option<String>,
    pub members: Vec<Member>,
    pub offsets: Vec<GroupOffset>,
}

impl Group {
    /// The `rewind groups -o json` shape (SPEC.md).
    pub fn to_json(&self) -> Value {
        json!({
            "group": self.name,
            "state": self.state.name(),
            // Why the state is unknown (not authorized, a broker that cannot describe
            // groups…); null when the coordinator said it.
            "state_reason": match &self.state {
                GroupState::Unknown(why) => Some(why.as_str()),
                _ => None,
            },
            "type": self.kind.name(),
            "protocol": self.protocol,
            "members": self.members.iter().map(|m| json!({
                "id": m.id, "client_id": m.client_id, "host": m.host,
                "assignment": m.assignment.iter().map(|(t, p)| json!({"topic": t, "partitions": p})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "partitions": self.offsets.iter().map(|o| json!({
                "topic": o.topic, "partition": o.partition, "committed": o.committed,
                "high": o.high, "lag": o.lag(), "lag_ms": o.lag_ms(),
            })).collect::<Vec<_>>(),
        })
    }

    /// After a reset to `targets` (topic, partition, offset): the events re-processed
    /// since, and all those from the targets to the end.
    pub fn replayed(&self, targets: &[(String, i32, i64)]) -> (i64, i64) {
        let (mut done, mut total) = (0, 0);
        for (topic, partition, target) in targets {
            let o = self
                .offsets
                .iter()
                .find(|o| o.topic == *topic && o.partition == *partition);
            if let Some(o) = o {
                done += (o.committed.unwrap_or(*target) - target).max(0);
                total += (o.high - target).max(0);
            }
        }
        (done, total)
    }

    /// Events consumed so far: the committed offsets added up.
    pub fn consumed(&self) -> i64 {
        self.offsets.iter().filter_map(|o| o.committed).sum()
    }

    /// The furthest behind in time of its partitions.
    /// How far behind in time the group is: the most any partition is (`None` when a
    /// partition that is behind has no time known: the max would only be a floor).
    pub fn lag_ms(&self) -> Option<i64> {
        let mut committed = self.offsets.iter().filter(|o| o.lag().is_some()).peekable();
        committed.peek()?;
        committed
            .map(GroupOffset::lag_ms)
            .try_fold(0, |max, ms| Some(max.max(ms?)))
    }

    /// Total lag over the partitions with a committed offset.
    pub fn lag(&self) -> i64 {
        self.offsets.iter().filter_map(GroupOffset::lag).sum()
    }

    /// The group as it reads one topic: its offsets there (lag and lag in time of that
    /// topic alone); `None` when it neither has offsets there nor a member assigned it.
    pub fn on_topic(&self, topic: &str) -> Option<Group> {
        let offsets: Vec<GroupOffset> = self
            .offsets
            .iter()
            .filter(|o| o.topic == topic)
            .cloned()
            .collect();
        let assigned = self
            .members
            .iter()
            .any(|m| m.assignment.iter().any(|(t, _)| t == topic));
        (!offsets.is_empty() || assigned).then(|| Group {
            name: self.name.clone(),
            state: self.state.clone(),
            kind: self.kind,
            protocol: self.protocol.clone(),
            members: self.members.clone(),
            offsets,
        })
    }

    /// The topics it has offsets on.
    pub fn topics(&self) -> Vec<&str> {
        let mut topics: Vec<&str> = self.offsets.iter().map(|o| o.topic.as_str()).collect();
        topics.dedup();
        topics
    }
}

/// The groups `rewind groups` describes: the one asked for, else the union of what the
/// broker listed and the profile's `groups = [...]`; sorted, each once. Names only: each
/// is then described by name.
pub fn groups_to_describe(
    listed: &[String],
    configured: &[String],
    asked: Option<&str>,
) -> Vec<String> {
    let mut names: Vec<String> = match asked {
        Some(g) => vec![g.to_owned()],
        None => listed.iter().chain(configured).cloned().collect(),
    };
    names.sort();
    names.dedup();
    names
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
mod tests;
