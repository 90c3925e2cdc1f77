//! Kafka I/O: metadata, watermarks and scans. Thin: decoding and logic live in `model`.

mod admin;
mod batch;
mod groups;
mod parallel;
pub mod produce;
mod reuse;
pub mod rewind;
mod scan;
mod settings;
mod topic_id;
mod wire;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::config::Connection;
pub use crate::model::topic::{PartitionInfo, TopicInfo};
use crate::model::{Event, TopicRules};
use std::ops::ControlFlow;

pub use groups::WritePath;
pub use parallel::{EachRecord, OnRead};
pub use scan::Scanner;

/// What went wrong talking to the cluster; every message says what to check.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach the brokers at {brokers} ({cause}): check -b / REWIND_BROKERS, that the cluster is up, and -X security settings for TLS/SASL")]
    Unreachable {
        brokers: String,
        cause: rdkafka::error::KafkaError,
    },
    #[error("authentication with the brokers at {brokers} failed: {reason}; check -X sasl.mechanisms, sasl.username and sasl.password (or the profile's properties)")]
    Authentication { brokers: String, reason: String },
    #[error("TLS with the brokers at {brokers} failed: {reason}; check -X ssl.ca.location: the certificate authority that signed the broker's certificate")]
    Certificate { brokers: String, reason: String },
    #[error("not authorized: {reason} (the brokers at {brokers} refused this principal; an ACL must allow it)")]
    NotAuthorized { brokers: String, reason: String },
    #[error("topic `{0}` does not exist on this cluster: `rewind topics` lists the topics")]
    TopicNotFound(String),
    #[error("cannot create a Kafka client: {0} (check the -X properties)")]
    Client(rdkafka::error::KafkaError),
    #[error("reading {topic} stalled: no record arrived for {seconds}s while {missing} partition(s) still had events to read ({detail}); check that the brokers at {brokers} are up")]
    Stalled {
        brokers: String,
        topic: String,
        seconds: u64,
        missing: usize,
        detail: String,
    },
    #[error("reading {topic} cannot go on: {detail}; the brokers at {brokers} answer but no longer hold the records being read (a broker back without its data, or the topic deleted or truncated)")]
    RecordsGone {
        brokers: String,
        topic: String,
        detail: String,
    },
    #[error("committing offsets for group {group} failed: {cause}")]
    Commit {
        group: String,
        cause: rdkafka::error::KafkaError,
    },
    #[error("the broker refused the offsets for group {group}: {why}")]
    Refused { group: String, why: String },
    #[error("reading {topic} failed: {cause}")]
    Read {
        topic: String,
        cause: rdkafka::error::KafkaError,
    },
}

/// The librdkafka configuration for a connection: bootstrap servers, the user's
/// properties, and defaults that suit a read-mostly debugging tool.
pub fn client_config(conn: &Connection) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &conn.brokers)
        .set("client.id", "rewind")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("allow.auto.create.topics", "false")
        // A broker that comes back is noticed within a second.
        .set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "1000")
        .set("log_level", "3");
    for (key, value) in &conn.properties {
        config.set(key, value);
    }
    // Records of aborted and open transactions are never events (SPEC: reads are
    // read_committed) unless `--isolation uncommitted` asked for them: said here once for
    // every consumer rewind makes, after the user's properties (folds must not read what
    // `-X isolation.level` would let in); producers ignore it.
    config.set("isolation.level", conn.isolation.level());
    config
}

/// `records` of each topic its on-disk index under `root` (of cluster `cluster`)
/// covers, with the topic ids the cluster gave (`ids`): an index made for another id
/// counts nothing. Not on a compacted topic: an index keeps the entries of records
/// compacted away since. No request is made.
pub fn records_from_indexes(
    root: &std::path::Path,
    cluster: &str,
    topics: &mut [TopicInfo],
    ids: &std::collections::HashMap<String, String>,
) {
    for t in topics.iter_mut() {
        let compacted = t
            .settings
            .cleanup_policy
            .as_deref()
            .is_some_and(|p| p.contains("compact"));
        let asked = crate::store::Asked {
            cluster,
            topic: &t.name,
            topic_id: ids.get(&t.name).map(String::as_str),
            partitions: &t.partitions,
        };
        t.records = match compacted {
            true => None,
            false => crate::store::records_held(root, &asked),
        };
    }
}

/// The cluster client's context: keeps what librdkafka last reported of a broker that
/// would not talk (a failed authentication, a TLS handshake), so that a request that
/// fails can say why in one line, and need not wait out its timeout.
#[derive(Default)]
pub struct Watch {
    trouble: std::sync::Mutex<Option<Trouble>>,
}

/// What stops every request to a broker until the settings change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Trouble {
    Authentication(String),
    Certificate(String),
    /// A request refused by the ACLs (a group's coordinator, say), retried by
    /// librdkafka until its timeout.
    Authorization(String),
}

impl Trouble {
    /// The trouble in a librdkafka error report, if it is one of those (librdkafka's
    /// reports name the broker and never carry a password).
    fn of(reason: &str) -> Option<Trouble> {
        // Its log lines start with the thread's name: `[thrd:sasl_ssl://host:9093/1]: `.
        let reason = match reason.trim().split_once("]: ") {
            Some((thread, rest)) if thread.starts_with("[thrd:") => rest,
            _ => reason.trim(),
        };
        let reason = reason.to_owned();
        if reason.contains("SASL authentication error") || reason.contains("Authentication failed")
        {
            return Some(Trouble::Authentication(reason));
        }
        if reason.contains("SSL handshake failed") || reason.contains("certificate verify failed") {
            return Some(Trouble::Certificate(reason));
        }
        let lower = reason.to_ascii_lowercase();
        if lower.contains("authorization failed") || lower.contains("not authorized") {
            return Some(Trouble::Authorization(reason));
        }
        None
    }
}

impl Trouble {
    fn into_error(self, brokers: String) -> ClusterError {
        match self {
            Trouble::Authentication(reason) => ClusterError::Authentication { brokers, reason },
            Trouble::Certificate(reason) => ClusterError::Certificate { brokers, reason },
            Trouble::Authorization(reason) => ClusterError::NotAuthorized { brokers, reason },
        }
    }
}

impl Watch {
    fn saw(&self, reason: &str) {
        if let Some(t) = Trouble::of(reason) {
            *self.lock() = Some(t);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Trouble>> {
        self.trouble.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The trouble seen, as the error to report.
    fn refusal(&self, brokers: &str) -> Option<ClusterError> {
        self.lock()
            .clone()
            .map(|t| t.into_error(brokers.to_owned()))
    }
}

impl rdkafka::ClientContext for Watch {
    // librdkafka reports a broker that fails the handshake in its log and as an error
    // event, both delivered when the client is polled.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(?level, fac, message, "librdkafka");
        use rdkafka::config::RDKafkaLogLevel as L;
        if matches!(level, L::Emerg | L::Alert | L::Critical | L::Error) {
            self.saw(message);
        }
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "librdkafka");
        self.saw(reason);
    }
}

impl rdkafka::consumer::ConsumerContext for Watch {}

/// A connection to one cluster for metadata and scans.
pub struct Cluster {
    pub(crate) conn: Connection,
    consumer: BaseConsumer<Watch>,
}

impl Cluster {
    /// Creates the client; nothing is sent until the first request.
    pub fn connect(conn: &Connection) -> Result<Cluster, ClusterError> {
        let consumer = client_config(conn)
            .create_with_context(Watch::default())
            .map_err(ClusterError::Client)?;
        Ok(Cluster {
            conn: conn.clone(),
            consumer,
        })
    }

    /// A failed request as the error to report: what the client's context saw the
    /// broker refuse, else the brokers unreachable.
    fn unreachable(&self, source: rdkafka::error::KafkaError) -> ClusterError {
        self.failed(&self.consumer, source)
    }

    fn failed(
        &self,
        consumer: &BaseConsumer<Watch>,
        source: rdkafka::error::KafkaError,
    ) -> ClusterError {
        let brokers = &self.conn.brokers;
        consumer
            .context()
            .refusal(brokers)
            .unwrap_or_else(|| ClusterError::Unreachable {
                brokers: brokers.clone(),
                cause: source,
            })
    }

    /// Runs `ask` (a blocking librdkafka request given a timeout) in short slices of
    /// the request timeout on `consumer`, serving its queue between them: a request the
    /// broker refuses (credentials, certificate, ACLs), which librdkafka would retry
    /// until the timeout, fails at once with what the broker said.
    fn patiently<T>(
        &self,
        consumer: &BaseConsumer<Watch>,
        ask: impl Fn(std::time::Duration) -> rdkafka::error::KafkaResult<T>,
    ) -> Result<T, ClusterError> {
        let watch = consumer.context();
        // A refusal by the ACLs is of one request: an earlier one's says nothing of this
        // one (credentials and certificates are of the connection, and stay refused).
        {
            let mut trouble = watch.lock();
            if matches!(*trouble, Some(Trouble::Authorization(_))) {
                *trouble = None;
            }
        }
        let deadline = std::time::Instant::now() + self.conn.timeout();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let slice = left.min(std::time::Duration::from_millis(250));
            match ask(slice) {
                Ok(answer) => {
                    // Answered: whatever was refused before is no longer.
                    *watch.lock() = None;
                    return Ok(answer);
                }
                Err(e) => {
                    // librdkafka's logs and error events wait on the client's queue
                    // (rust-rdkafka routes them there): served here, they reach Watch.
                    // These consumers are never assigned, so no record is taken.
                    let _ = consumer.poll(std::time::Duration::ZERO);
                    if watch.lock().is_some() || left <= slice {
                        return Err(self.failed(consumer, e));
                    }
                }
            }
        }
    }

    /// The cluster's metadata (of one topic, or all), asked in short slices of the
    /// request timeout: a broker that refused the client's credentials or certificate
    /// is said at once, not after the timeout.
    fn metadata(&self, topic: Option<&str>) -> Result<rdkafka::metadata::Metadata, ClusterError> {
        self.patiently(&self.consumer, |t| self.consumer.fetch_metadata(topic, t))
    }

    /// The cluster's id (a name for its on-disk indexes); where the broker gives none,
    /// one made from the bootstrap servers.
    pub fn id(&self) -> String {
        use rdkafka::consumer::Consumer;
        self.consumer
            .client()
            .fetch_cluster_id(self.conn.timeout())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| {
                format!(
                    "brokers-{:08x}",
                    crc32fast::hash(self.conn.brokers.as_bytes())
                )
            })
    }

    /// Every topic (internal `__` topics left out) with watermarks, sorted by name.
    pub fn topics(&self) -> Result<Vec<TopicInfo>, ClusterError> {
        let metadata = self.metadata(None)?;
        let mut names: Vec<(String, usize)> = metadata
            .topics()
            .iter()
            .filter(|t| !t.name().starts_with("__") && t.error().is_none())
            .map(|t| (t.name().to_owned(), t.partitions().len()))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|(name, count)| self.watermarks(&name, count))
            .collect()
    }

    /// `topics`, with how long each topic keeps its records (DescribeConfigs): for the
    /// listings people read, not for the group look-ups that only need partitions.
    pub fn topics_with_settings(&self) -> Result<Vec<TopicInfo>, ClusterError> {
        let mut topics = self.topics()?;
        let settings = self.settings(topics.iter().map(|t| t.name.as_str()));
        for (t, s) in topics.iter_mut().zip(settings) {
            t.settings = s;
        }
        Ok(topics)
    }

    /// `records_from_indexes`, the ids of topics whose index holds one asked first, in
    /// one request.
    pub fn count_records(&self, root: &std::path::Path, topics: &mut [TopicInfo]) {
        let cluster = self.id();
        let with_ids: Vec<String> = topics
            .iter()
            .filter(|t| crate::store::indexed_id(root, &cluster, &t.name).is_some())
            .map(|t| t.name.clone())
            .collect();
        let ids = match with_ids.is_empty() {
            true => Default::default(),
            false => self.topic_ids(&with_ids),
        };
        records_from_indexes(root, &cluster, topics, &ids);
    }

    /// One topic with watermarks; an error when it does not exist.
    pub fn topic(&self, name: &str) -> Result<TopicInfo, ClusterError> {
        let metadata = self.metadata(Some(name))?;
        let found = metadata.topics().iter().find(|t| t.name() == name);
        if let Some(code) = found.and_then(|t| t.error()) {
            let code = rdkafka::types::RDKafkaErrorCode::from(code);
            if code == rdkafka::types::RDKafkaErrorCode::TopicAuthorizationFailed {
                return Err(ClusterError::NotAuthorized {
                    brokers: self.conn.brokers.clone(),
                    reason: format!("topic `{name}` may not be described or read by this principal (TopicAuthorizationFailed)"),
                });
            }
        }
        let topic = found
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .ok_or_else(|| ClusterError::TopicNotFound(name.to_owned()))?;
        self.watermarks(name, topic.partitions().len())
    }

    fn watermarks(&self, name: &str, count: usize) -> Result<TopicInfo, ClusterError> {
        let partitions = (0..count as i32)
            .map(|partition| {
                let (low, high) = self
                    .consumer
                    .fetch_watermarks(name, partition, self.conn.timeout())
                    .map_err(|e| self.unreachable(e))?;
                Ok(PartitionInfo {
                    partition,
                    low,
                    high,
                })
            })
            .collect::<Result<_, ClusterError>>()?;
        Ok(TopicInfo {
            name: name.to_owned(),
            partitions,
            settings: Default::default(),
            records: None,
        })
    }

    /// Reads all of a topic's events in partition then offset order, until `sink` breaks.
    pub fn read_all(
        &self,
        info: &TopicInfo,
        rules: &TopicRules,
        sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ClusterError> {
        self.scanner()?
            .scan(&info.name, &info.ranges(), rules, sink)
    }

    /// A scanner that reads ranges of this cluster's topics.
    pub fn scanner(&self) -> Result<Scanner, ClusterError> {
        Scanner::new(&self.conn)
    }
}
