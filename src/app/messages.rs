//! What flows through the TUI: the user's `Action`s, the `Command`s `update` returns
//! for the worker, the worker's `Msg`s back, and the request ids that pair them.

use super::Candidate;
use super::Rewound;
use crate::model::{Event, TopicInfo};

/// A user intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    MoveDown,
    MoveUp,
    PageDown,
    PageUp,
    First,
    Last,
    Open,
    Back,
    Quit,
    ToggleHelp,
    NextPane,
    StartFilter,
    StartCommand,
    NextMatch,
    PrevMatch,
    Refresh,
    /// Back in time (h, ←); on list screens: back.
    StepBack,
    /// Forward in time (l, →); on list screens: open.
    StepForward,
    ToggleSkip,
    ToggleDiff,
    /// Rebuild states from the latest stored snapshot instead of the first event.
    ToggleSnapshotStart,
    /// Mark (or unmark) the event under the cursor.
    Mark,
    /// The marks list.
    ShowMarks,
    /// Rewind a consumer group to the event under the cursor (or the selected mark).
    Rewind,
    /// Draft the compensating event for the event under the cursor.
    Compensate,
    /// Delete the selected mark.
    Delete,
    /// Follow new events of the open topic (live tail) on / off.
    Follow,
    /// Stream: the event pane shows the event as upcast ↔ as stored.
    ToggleUpcast,
    /// Stream: the next flagged event (broken invariant or reducer error), then the
    /// next aggregate with one.
    NextFlag,
    /// Stream: the previous flagged event, then the previous aggregate with one.
    PrevFlag,
    /// Stream: the state pane shows the read model's row (the topic's `read_model`)
    /// beside the fold ↔ the state.
    ToggleReadModel,
    /// Typing into the filter or command line.
    Type(char),
    Erase,
    Submit,
    Cancel,
}

/// Work for the worker thread. Commands compare by what they ask for (tests check
/// which were issued).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    LoadTopics,
    LoadTopic {
        topic: String,
        generation: u64,
        /// The part of the topic to load (`:topic NAME --last N`, or the newest window
        /// of a big topic).
        window: crate::model::select::Window,
    },
    /// Write the marks file.
    SaveMarks {
        path: std::path::PathBuf,
        text: String,
    },
    /// Describe the groups: those listed, the profile's, and `also` (`:group G`), which
    /// is described by name even where the broker's listing leaves it out.
    LoadGroups {
        also: Option<String>,
    },
    /// Make a plan; its `Msg::Plan` carries the same `request` number, so a plan asked
    /// by a dialog since closed is never shown in another.
    PlanRewind {
        request: PlanId,
        ask: Box<crate::kafka::rewind::PlanRequest>,
    },
    /// Fold the outcome of the plan of `request` (`Msg::Outcome`, with
    /// `Msg::OutcomeProgress` on the way) on a thread of its own, until `StopOutcome`
    /// or another plan. With a candidate (`:compare FILE`, or one chosen in the
    /// dialog), it models the consumer after the rewind.
    FoldOutcome {
        request: PlanId,
        plan: Box<crate::model::plan::Plan>,
        candidate: Option<Box<Candidate>>,
    },
    /// The plan's outcome is no longer wanted (the dialog closed or moved on).
    StopOutcome,
    /// Commit a plan the user confirmed.
    ExecuteRewind {
        plan: Box<crate::model::plan::Plan>,
        allow_unknown: bool,
    },
    /// Produce a compensating event the user confirmed.
    Produce(Box<crate::model::compensate::Draft>),
    /// Read new events of the topic from these offsets on (live tail), until stopped.
    Follow {
        topic: String,
        generation: u64,
        starts: std::collections::BTreeMap<i32, i64>,
    },
    StopFollow,
    /// The topic was left: stop loading and following it.
    StopTopic,
    /// Follow a group replaying after a commit, a sample every few seconds until it has
    /// caught up or `StopWatch`.
    WatchReplay {
        id: WatchId,
        group: String,
        /// (topic, partition, target) of the committed plan.
        targets: Vec<(String, i32, i64)>,
    },
    StopWatch,
    /// Fold every aggregate of the topic with this logic and report each one's first
    /// flagged event (`]` past the last flag of a stream).
    CheckTopic {
        topic: String,
        generation: u64,
        logic: Box<crate::model::reducer::Logic>,
    },
    /// Read an aggregate's row in the topic's read model (`v`); `Msg::ReadModelRow`
    /// answers.
    ReadModelRow {
        generation: u64,
        topic: String,
        aggregate: String,
    },
    /// Read an aggregate's snapshots from the database its topic's `snapshots` names
    /// (when the stream opens); `Msg::AggregateSnapshots` answers.
    LoadDatabaseSnapshots {
        generation: u64,
        topic: String,
        aggregate: String,
    },
    /// Compare every aggregate's read model with its fold (`:drift`), on a thread of
    /// its own, until the topic changes; `Msg::DriftProgress` and `Msg::Drift` answer.
    Drift {
        generation: u64,
        topic: String,
    },
    /// Read the config file again (`:reload`); the worker uses it from then on, and
    /// `Msg::ConfigRead` hands it to the app.
    ReadConfig {
        path: std::path::PathBuf,
    },
    /// Read a candidate logic file for a topic (`:compare FILE`, the Rewind dialog's
    /// Tab); `Msg::CandidateRead` answers.
    ReadCandidate {
        file: String,
        topic: String,
        purpose: CandidateUse,
    },
    /// Read one aggregate of a topic (`:agg ID` not in the loaded events); `Msg::Story`
    /// answers with `request`.
    LoadAggregate {
        request: StoryId,
        topic: String,
        id: String,
    },
    /// Search the loaded window of the topic with a jq predicate (`/?JQ`); answered by
    /// `Msg::SearchFound` (streaming) and `Msg::SearchDone`, with `id`.
    Search {
        topic: String,
        generation: u64,
        id: SearchId,
        code: String,
        window: crate::model::select::Window,
    },
    /// Read a story's events (`:story NAME ID`); `Msg::Story` answers with `request`.
    LoadStory {
        request: StoryId,
        name: String,
        id: String,
    },
    /// Read these events' payloads again (they are not kept in memory).
    Fetch {
        topic: String,
        generation: u64,
        coords: Vec<crate::model::Coord>,
    },
    /// Decode these kept records, whose schemas the registry does not hold yet (asking
    /// it is the worker's); `Msg::Fetched` answers, as for a fetch.
    DecodeKept {
        topic: String,
        generation: u64,
        records: Vec<crate::model::dump::DumpRecord>,
    },
}

/// Numbers of one kind of request: an answer carries the number of the request it
/// answers, and one kind's numbers never stand for another's.
macro_rules! request_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The number of a ", $what, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct $name(pub u64);

        impl $name {
            /// The number after this one, which this becomes.
            pub fn advance(&mut self) -> $name {
                self.0 += 1;
                *self
            }
        }
    };
}
request_id!(PlanId, "rewind plan (and its outcome)");
request_id!(SearchId, "content search (`/?JQ`)");
request_id!(StoryId, "story or aggregate read (`:story`, `:agg`)");
request_id!(WatchId, "replay watch");

/// The last request of each kind.
#[derive(Debug, Default)]
pub struct Requests {
    pub plan: PlanId,
    pub search: SearchId,
    pub story: StoryId,
    pub watch: WatchId,
}

/// Which way a search or a jump goes from the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Back,
}

impl Direction {
    /// `Forward` when `forward`, else `Back`.
    pub fn of(forward: bool) -> Direction {
        match forward {
            true => Direction::Forward,
            false => Direction::Back,
        }
    }
}

/// What the worker reports back.
#[derive(Debug, Clone)]
pub enum Msg {
    Topics(Result<Vec<TopicInfo>, WorkerError>),
    /// Topics' records counted from their on-disk indexes once the topics' ids arrived
    /// (an index of a topic made again counts nothing): each as it was listed, with its
    /// `records`; a topic listed since with other watermarks keeps its own.
    TopicRecords(Vec<TopicInfo>),
    /// The topics' ids, once the cluster gave them (DescribeTopics).
    TopicIds(std::collections::HashMap<String, String>),
    /// A topic's event count, known before its events arrive.
    TopicSize {
        generation: u64,
        total: i64,
    },
    /// How many of the topic's events a load has read (or found in the on-disk index)
    /// so far: more than are shown while partitions wait for the one before them.
    LoadProgress {
        generation: u64,
        read: i64,
    },
    Events {
        generation: u64,
        events: Vec<Event>,
    },
    /// A topic's records indexed as they load (payloads are read when shown).
    Indexed {
        generation: u64,
        part: crate::model::index::IndexPart,
    },
    Loaded {
        generation: u64,
        result: Result<(), WorkerError>,
    },
    /// Something went wrong that does not stop the topic from being used.
    Warning {
        generation: u64,
        message: String,
    },
    /// The topic's stored snapshots (from its snapshot topic), by aggregate.
    Snapshots {
        generation: u64,
        snapshots: Vec<(String, crate::model::snapshot::StoredSnapshot)>,
    },
    /// One aggregate's snapshots from a database.
    AggregateSnapshots {
        generation: u64,
        aggregate: String,
        result: Result<Vec<crate::model::snapshot::StoredSnapshot>, WorkerError>,
    },
    /// An aggregate's row in the read model (`None`: no row).
    ReadModelRow {
        generation: u64,
        aggregate: String,
        result: Result<Option<serde_json::Value>, WorkerError>,
    },
    /// How far `:drift` is: records read of those to read while `folding`, then
    /// aggregates compared with their rows.
    DriftProgress {
        generation: u64,
        folding: bool,
        done: usize,
        total: usize,
    },
    /// `:drift`'s answer: the aggregates whose read model differs or is missing.
    Drift {
        generation: u64,
        result: Result<Vec<String>, WorkerError>,
    },
    /// The config file read again, or why it could not be (the config in use stays).
    ConfigRead {
        path: std::path::PathBuf,
        result: Result<Box<crate::config::Config>, WorkerError>,
    },
    /// A candidate logic file read for `purpose`.
    CandidateRead {
        file: String,
        purpose: CandidateUse,
        result: Result<crate::model::reducer::Logic, WorkerError>,
    },
    /// Something to say whatever topic is open (a marks file not saved).
    Status(String),
    /// Payloads read again for `Command::Fetch`.
    Fetched {
        generation: u64,
        events: Vec<Event>,
    },
    /// A `Command::Fetch` failed: these payloads are not coming.
    FetchFailed {
        generation: u64,
        coords: Vec<crate::model::Coord>,
        message: String,
    },
    /// The broker is unreachable (`Some(why)`; the worker keeps retrying) or reachable again.
    Connection(Option<String>),
    Groups(Result<Vec<crate::model::group::Group>, WorkerError>),
    /// A plan and the group's state, asked of its coordinator when the plan was made.
    Plan {
        request: PlanId,
        result: Result<(crate::model::plan::Plan, crate::model::group::GroupStatus), WorkerError>,
    },
    /// How far the outcome of the plan of `request` is: pass 1 or 2, records read of
    /// those to read.
    OutcomeProgress {
        request: PlanId,
        pass: usize,
        done: i64,
        total: i64,
    },
    /// The outcome of the plan of `request`.
    Outcome {
        request: PlanId,
        result: Result<Box<crate::model::outcome::Outcome>, WorkerError>,
    },
    Rewound(Result<Rewound, WorkerError>),
    /// A look at the group a `WatchReplay` follows (an error ends the watch).
    ReplaySample {
        id: WatchId,
        sample: Result<crate::model::group::ReplaySample, WorkerError>,
    },
    /// Each flagged aggregate of the topic with the stream index of its first flag.
    Checked {
        generation: u64,
        result: Result<Vec<(String, usize)>, WorkerError>,
    },
    Produced(Result<crate::model::Coord, WorkerError>),
    /// Matches of the `/?JQ` search `id` so far, and how many records were read.
    SearchFound {
        id: SearchId,
        coords: Vec<crate::model::Coord>,
        scanned: i64,
    },
    /// The search `id` is over: events the predicate failed on, and the first.
    SearchDone {
        id: SearchId,
        result: Result<(usize, Option<(crate::model::Coord, String)>), WorkerError>,
    },
    /// A story's topics with their events for the id, in fold order.
    Story {
        request: StoryId,
        result: Result<Vec<(String, Vec<Event>)>, WorkerError>,
    },
}

/// Why the worker could not do what was asked: the words to show, and what kind of
/// failure it was, so the app can tell a wrong password from a broker that is down or
/// a write the cluster refused without reading the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerError {
    pub kind: ErrorKind,
    pub message: String,
}

/// What kind of failure a `WorkerError` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The brokers did not accept the credentials or the TLS handshake.
    Authentication,
    /// The brokers (or a database) could not be reached, or stopped answering.
    Unreachable,
    /// Reached and refused: an ACL, a read-only profile, an active group, a commit the
    /// broker turned down.
    Refused,
    /// Anything else: a bad argument, a topic that is not there, a decode, a fold.
    Other,
}

impl WorkerError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> WorkerError {
        WorkerError {
            kind,
            message: message.into(),
        }
    }

    /// What the user asked cannot be done here (offline, read-only, …).
    pub fn refused(message: impl Into<String>) -> WorkerError {
        WorkerError::new(ErrorKind::Refused, message)
    }

    /// A failure with its causes (`{e:#}`), sorted by the first Kafka error among them.
    pub fn of(e: &anyhow::Error) -> WorkerError {
        let kind = e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::kafka::ClusterError>())
            .map_or(ErrorKind::Other, ErrorKind::of);
        WorkerError::new(kind, format!("{e:#}"))
    }

    /// A Kafka failure, as it says itself.
    pub fn cluster(e: &crate::kafka::ClusterError) -> WorkerError {
        WorkerError::new(ErrorKind::of(e), e.to_string())
    }

    /// How much it matters on the status line: a refusal is a warning.
    pub fn status(&self) -> super::Status {
        match self.kind {
            ErrorKind::Refused => super::Status::warning(self.message.clone()),
            _ => super::Status::error(self.message.clone()),
        }
    }
}

impl ErrorKind {
    fn of(e: &crate::kafka::ClusterError) -> ErrorKind {
        use crate::kafka::ClusterError as E;
        match e {
            E::Authentication { .. } | E::Certificate { .. } => ErrorKind::Authentication,
            E::Unreachable { .. } | E::Stalled { .. } => ErrorKind::Unreachable,
            E::NotAuthorized { .. } | E::Refused { .. } => ErrorKind::Refused,
            // A read the broker turned down as it went.
            E::Read { cause, .. } => {
                use rdkafka::types::RDKafkaErrorCode as Code;
                match cause.rdkafka_error_code() {
                    Some(
                        Code::TopicAuthorizationFailed
                        | Code::GroupAuthorizationFailed
                        | Code::ClusterAuthorizationFailed,
                    ) => ErrorKind::Refused,
                    Some(Code::SaslAuthenticationFailed) => ErrorKind::Authentication,
                    _ => ErrorKind::Other,
                }
            }
            _ => ErrorKind::Other,
        }
    }
}

impl std::fmt::Display for WorkerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<WorkerError> for String {
    fn from(e: WorkerError) -> String {
        e.message
    }
}

/// A failure that is not Kafka's (a refusal or a message of the app's own).
impl From<String> for WorkerError {
    fn from(message: String) -> WorkerError {
        WorkerError::new(ErrorKind::Other, message)
    }
}

impl From<&str> for WorkerError {
    fn from(message: &str) -> WorkerError {
        WorkerError::new(ErrorKind::Other, message)
    }
}

/// What a candidate logic file is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateUse {
    /// `:compare FILE` on the topic of this load: the Stream screen folds with it too
    /// (`again`: read again after `:reload`, which the status line says instead).
    Compare { generation: u64, again: bool },
    /// The Rewind dialog's candidate (Tab), for the dialog on the mark at `at`: the
    /// plan's outcome is folded with it.
    Rewind { at: crate::model::Coord },
}
