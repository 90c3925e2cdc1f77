//! Stand-ins for the demo's consuming services: each demo group's offsets are watched,
//! and when someone moves them (a rewind), the "service" is taken to have been
//! restarted on them: after a pause it re-processes from there at a steady pace,
//! committing as it goes, until it has caught up with the end of the topic. That is
//! what the Rewind dialog's watch (and `reset --execute --watch`) then follows.
//! The stand-ins never join their groups; they commit as tools do. The order
//! projector's also applies each event it re-processes to its read model (`Projector`),
//! with the demo's reducers, as the real service would: what a rewind does to the read
//! model is then there to see (`:drift`, `v`, `rewind drift`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::Connection;

/// Events re-processed per second by a stand-in service.
pub const RATE: i64 = 25;
/// How long moved offsets stay as they were before the service "restarts" (the rewind
/// reads its commit back meanwhile).
const SETTLE: Duration = Duration::from_secs(3);
const TICK: Duration = Duration::from_millis(500);

/// Moves each partition's committed offset toward its high watermark, `budget` events
/// in all, in partition order.
pub fn advance(partitions: &[(i64, i64)], mut budget: i64) -> Vec<i64> {
    partitions
        .iter()
        .map(|&(committed, high)| {
            let step = (high - committed).clamp(0, budget);
            budget -= step;
            committed + step
        })
        .collect()
}

/// One demo group, as its stand-in sees it.
struct Service {
    group: String,
    topic: String,
    consumer: BaseConsumer,
    /// The offsets the stand-in last saw or wrote.
    known: Vec<i64>,
    /// When the offsets were seen moved by someone else (replaying from then on, after
    /// `SETTLE`).
    moved: Option<Instant>,
    /// What it writes as it processes, if it keeps a read model.
    projector: Option<Projector>,
}

/// A service's read model in SQLite: each event processed is folded onto its
/// aggregate's row by the topic's reducers.
pub struct Projector {
    pub group: String,
    pub db: rusqlite::Connection,
    pub reducers: crate::model::reducer::Reducers,
    pub rules: crate::model::TopicRules,
}

impl Projector {
    /// Reads `topic`'s records [from, to) of partition `p` and applies each to its row;
    /// returns the offset after the last one applied (what the service may commit).
    fn apply(&self, reader: &BaseConsumer, topic: &str, p: i32, from: i64, to: i64) -> i64 {
        use rdkafka::message::{Headers, Message};
        let mut list = TopicPartitionList::new();
        if list
            .add_partition_offset(topic, p, Offset::Offset(from))
            .is_err()
            || reader.assign(&list).is_err()
        {
            return from;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut at = from;
        while at < to && Instant::now() < deadline {
            let Some(Ok(m)) = reader.poll(Duration::from_millis(200)) else {
                continue;
            };
            at = m.offset() + 1;
            if m.offset() >= to {
                break;
            }
            let headers: Vec<(&str, Option<&[u8]>)> = m
                .headers()
                .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            let raw = crate::model::event::RawRecord {
                topic,
                partition: p,
                offset: m.offset(),
                timestamp: m.timestamp().to_millis(),
                key: m.key(),
                headers,
                value: m.payload(),
            };
            let e = crate::model::Event::decode(&raw, &self.rules);
            if e.decode_error.is_some() {
                continue;
            }
            let row: Option<String> = self
                .db
                .query_row(
                    "select doc from orders where id = ?1",
                    [&e.aggregate],
                    |r| r.get(0),
                )
                .ok();
            let state = row
                .and_then(|r| crate::model::reducer::parse_val(&r))
                .unwrap_or_default();
            let value = crate::model::reducer::to_val(&e.value.to_json());
            let meta = crate::model::reducer::to_val(&e.meta(0));
            let next = self.reducers.step(&state, &e.event_type, &value, &meta);
            let written = self.db.execute(
                "insert into orders (id, doc, updated_at) values (?1, ?2, ?3)
                 on conflict(id) do update set doc = excluded.doc, updated_at = excluded.updated_at",
                (&e.aggregate, next.state.to_string(), chrono::Utc::now().to_rfc3339()),
            );
            if written.is_err() {
                // Not applied: it comes again next tick (nothing after it is committed).
                at = m.offset();
                break;
            }
        }
        let _ = reader.unassign();
        at.min(to)
    }
}

impl Service {
    fn committed(&self, partitions: i32) -> Option<Vec<i64>> {
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition(&self.topic, p);
        }
        let got = self
            .consumer
            .committed_offsets(list, Duration::from_secs(2))
            .ok()?;
        (0..partitions)
            .map(|p| match got.find_partition(&self.topic, p)?.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    fn tick(&mut self, partitions: i32, every: Duration) {
        let Some(now) = self.committed(partitions) else {
            return;
        };
        if now != self.known {
            self.known = now;
            self.moved = Some(Instant::now());
            return;
        }
        if self.moved.is_none_or(|t| t.elapsed() < SETTLE) {
            return;
        }
        let highs: Option<Vec<(i64, i64)>> = (0..partitions)
            .map(|p| {
                let (_, high) = self
                    .consumer
                    .fetch_watermarks(&self.topic, p, Duration::from_secs(2))
                    .ok()?;
                Some((self.known[p as usize], high))
            })
            .collect();
        let Some(highs) = highs else { return };
        let budget = (RATE as f64 * every.as_secs_f64()).round() as i64;
        let next = advance(&highs, budget.max(1));
        if next == self.known {
            self.moved = None; // caught up
            return;
        }
        // Processed, then committed, as a consumer does.
        let mut next = next;
        if let Some(projector) = &self.projector {
            for (p, (from, to)) in self.known.iter().zip(next.iter_mut()).enumerate() {
                if *to > *from {
                    // Only what was applied is committed: the rest comes next tick.
                    *to = projector.apply(&self.consumer, &self.topic, p as i32, *from, *to);
                }
            }
        }
        let mut list = TopicPartitionList::new();
        for (p, o) in next.iter().enumerate() {
            let _ = list.add_partition_offset(&self.topic, p as i32, Offset::Offset(*o));
        }
        if self.consumer.commit(&list, CommitMode::Sync).is_ok() {
            self.known = next;
        }
    }
}

/// The running stand-ins; dropping this stops them.
pub struct Services(Arc<AtomicBool>);

impl Drop for Services {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Starts the stand-ins for `groups` ((group, topic, partitions)); the one of
/// `projector`'s group writes its read model.
pub fn start(
    conn: &Connection,
    groups: Vec<(String, String, i32)>,
    projector: Option<Projector>,
) -> Services {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let conn = conn.clone();
    std::thread::Builder::new()
        .name("demo-services".into())
        .spawn(move || {
            let mut projector = projector;
            let mut services: Vec<(Service, i32)> = groups
                .into_iter()
                .filter_map(|(group, topic, partitions)| {
                    let consumer: BaseConsumer = crate::kafka::client_config(&conn)
                        .set("group.id", &group)
                        .create()
                        .ok()?;
                    let mine = projector.as_ref().is_some_and(|p| p.group == group);
                    let mut s = Service {
                        group,
                        topic,
                        consumer,
                        known: vec![],
                        moved: None,
                        projector: if mine { projector.take() } else { None },
                    };
                    s.known = s.committed(partitions)?;
                    Some((s, partitions))
                })
                .collect();
            while !flag.load(Ordering::Relaxed) {
                for (s, partitions) in &mut services {
                    s.tick(*partitions, TICK);
                    tracing::trace!(group = %s.group, offsets = ?s.known, "demo service");
                }
                std::thread::sleep(TICK);
            }
        })
        .expect("the demo services start");
    Services(stop)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_service_advances_toward_the_end_within_its_budget() {
        assert_eq!(
            super::advance(&[(5, 10), (0, 3), (7, 7)], 6),
            vec![10, 1, 7]
        );
        assert_eq!(super::advance(&[(5, 10), (0, 3)], 100), vec![10, 3]);
        assert_eq!(super::advance(&[(12, 10)], 5), vec![12], "never backwards");
    }
}
