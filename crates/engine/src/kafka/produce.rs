//! Producing one event (a drafted compensating event) and waiting for the broker's ack.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::{client_config, Cluster, ClusterError};
use crate::model::compensate::Draft;
use crate::model::Coord;

impl Cluster {
    /// Produces the draft to its partition and returns where it landed. Refused when the
    /// connection is read-only.
    pub fn produce(&self, draft: &Draft) -> anyhow::Result<Coord> {
        if self.conn.read_only {
            anyhow::bail!(
                "refusing to produce to {}: rewind is read-only here (--read-only or the profile's read_only = true); nothing was written",
                draft.topic
            );
        }
        let producer: FutureProducer = client_config(&self.conn)
            .set("acks", "all")
            .set("message.timeout.ms", "15000")
            .create()
            .map_err(ClusterError::Client)?;
        let mut headers = OwnedHeaders::new_with_capacity(draft.headers.len());
        for (key, value) in &draft.headers {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_str()),
            });
        }
        let value = &draft.value_bytes;
        let key = &draft.key_bytes;
        let mut record = FutureRecord::to(&draft.topic)
            .partition(draft.partition)
            .payload(value)
            .headers(headers);
        if let Some(key) = &key {
            record = record.key(key);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let delivery = runtime
            .block_on(producer.send(record, Duration::from_secs(15)))
            .map_err(|(e, _)| {
                anyhow::anyhow!(
                    "producing to {}/{} failed: {e}; nothing was written",
                    draft.topic,
                    draft.partition
                )
            })?;
        Ok(Coord {
            partition: delivery.partition,
            offset: delivery.offset,
        })
    }
}

/// One record to produce, placed.
pub struct Outgoing<'a> {
    pub partition: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(String, Option<Vec<u8>>)],
}

/// What a bulk produce did: records acknowledged, and the last one's coordinate per
/// partition (first, last).
#[derive(Debug, Default)]
pub struct Written {
    pub count: usize,
    pub per_partition: std::collections::BTreeMap<i32, (Coord, Coord)>,
    pub last: Option<Coord>,
}

impl Written {
    fn ack(&mut self, at: Coord) {
        self.count += 1;
        self.last = Some(at);
        self.per_partition
            .entry(at.partition)
            .and_modify(|(_, last)| *last = at)
            .or_insert((at, at));
    }
}

/// Produces records in order to one topic (idempotent, acks=all, so a partition's
/// order is kept). Records are handed over by `next` until it returns `None`; the first
/// failed delivery stops it: nothing more is sent, and the error says how many were
/// written and the last offset.
pub struct BulkProducer {
    producer: FutureProducer,
    runtime: tokio::runtime::Runtime,
    topic: String,
    in_flight: std::collections::VecDeque<rdkafka::producer::DeliveryFuture>,
    pub written: Written,
}

/// Deliveries awaited at most at once.
const IN_FLIGHT: usize = 10_000;

impl BulkProducer {
    pub fn new(cluster: &Cluster, topic: &str) -> anyhow::Result<BulkProducer> {
        if cluster.conn.read_only {
            anyhow::bail!(
                "refusing to produce to {topic}: rewind is read-only here (--read-only or the profile's read_only = true); nothing was written"
            );
        }
        let producer: FutureProducer = client_config(&cluster.conn)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "5")
            .create()
            .map_err(ClusterError::Client)?;
        Ok(BulkProducer {
            producer,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            topic: topic.to_owned(),
            in_flight: Default::default(),
            written: Written::default(),
        })
    }

    /// Queues one record; waits for the oldest deliveries when many are in flight.
    pub fn send(&mut self, record: &Outgoing<'_>) -> anyhow::Result<()> {
        if self.in_flight.len() >= IN_FLIGHT {
            self.settle(IN_FLIGHT / 2)?;
        }
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in record.headers {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let topic = self.topic.clone();
        let mut out: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic)
            .partition(record.partition)
            .headers(headers);
        if let Some(v) = record.value {
            out = out.payload(v);
        }
        if let Some(k) = record.key {
            out = out.key(k);
        }
        loop {
            match self.producer.send_result(out) {
                Ok(delivery) => {
                    self.in_flight.push_back(delivery);
                    return Ok(());
                }
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    back,
                )) => {
                    out = back;
                    if self.in_flight.is_empty() {
                        std::thread::sleep(Duration::from_millis(10));
                    } else {
                        self.settle(self.in_flight.len() / 2)?;
                    }
                }
                Err((e, _)) => return Err(self.failed(e.to_string())),
            }
        }
    }

    /// Waits until at most `keep` deliveries are in flight.
    fn settle(&mut self, keep: usize) -> anyhow::Result<()> {
        while self.in_flight.len() > keep {
            let delivery = self.in_flight.pop_front().expect("in flight");
            match self.runtime.block_on(delivery) {
                Ok(Ok(d)) => self.written.ack(Coord {
                    partition: d.partition,
                    offset: d.offset,
                }),
                Ok(Err((e, _))) => return Err(self.failed(e.to_string())),
                Err(_) => return Err(self.failed("the producer went away".into())),
            }
        }
        Ok(())
    }

    /// Waits for every delivery.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        self.settle(0)
    }

    /// Stops at a failure: what is still in flight is awaited (it may land), and the
    /// error says how far it got.
    fn failed(&mut self, why: String) -> anyhow::Error {
        for delivery in std::mem::take(&mut self.in_flight) {
            if let Ok(Ok(d)) = self.runtime.block_on(delivery) {
                self.written.ack(Coord {
                    partition: d.partition,
                    offset: d.offset,
                });
            }
        }
        let last = match self.written.last {
            Some(at) => format!("the last at {}/{at}", self.topic),
            None => "none".into(),
        };
        anyhow::anyhow!(
            "producing to {} failed: {why}; stopped after {} records were written ({last})",
            self.topic,
            self.written.count
        )
    }
}
