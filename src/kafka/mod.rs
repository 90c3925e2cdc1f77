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

/// A connection to one cluster for metadata and scans.
pub struct Cluster {
    pub(crate) conn: Connection,
    consumer: BaseConsumer,
}

impl Cluster {
    /// Creates the client; nothing is sent until the first request.
    pub fn connect(conn: &Connection) -> Result<Cluster, ClusterError> {
        let consumer = client_config(conn).create().map_err(ClusterError::Client)?;
        Ok(Cluster {
            conn: conn.clone(),
            consumer,
        })
    }

    fn unreachable(&self, source: rdkafka::error::KafkaError) -> ClusterError {
        ClusterError::Unreachable {
            brokers: self.conn.brokers.clone(),
            cause: source,
        }
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
        let metadata = self
            .consumer
            .fetch_metadata(None, self.conn.timeout())
            .map_err(|e| self.unreachable(e))?;
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

    /// `records` of each topic its on-disk index under `root` covers (`store::
    /// records_held`); the ids of topics whose index holds one are asked first, in one
    /// request, so that an index of a topic since made again counts nothing. Not on a
    /// compacted topic: an index keeps the entries of records compacted away since.
    pub fn count_records(&self, root: &std::path::Path, topics: &mut [TopicInfo]) {
        let compacted = |t: &TopicInfo| {
            t.settings
                .cleanup_policy
                .as_deref()
                .is_some_and(|p| p.contains("compact"))
        };
        let cluster = self.id();
        let with_ids: Vec<String> = topics
            .iter()
            .filter(|t| {
                !compacted(t) && crate::store::indexed_id(root, &cluster, &t.name).is_some()
            })
            .map(|t| t.name.clone())
            .collect();
        let ids = match with_ids.is_empty() {
            true => Default::default(),
            false => self.topic_ids(&with_ids),
        };
        for t in topics.iter_mut().filter(|t| !compacted(t)) {
            let asked = crate::store::Asked {
                cluster: &cluster,
                topic: &t.name,
                topic_id: ids.get(&t.name).map(String::as_str),
                partitions: &t.partitions,
            };
            t.records = crate::store::records_held(root, &asked);
        }
    }

    /// One topic with watermarks; an error when it does not exist.
    pub fn topic(&self, name: &str) -> Result<TopicInfo, ClusterError> {
        let metadata = self
            .consumer
            .fetch_metadata(Some(name), self.conn.timeout())
            .map_err(|e| self.unreachable(e))?;
        let topic = metadata
            .topics()
            .iter()
            .find(|t| t.name() == name)
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
