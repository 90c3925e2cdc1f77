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
