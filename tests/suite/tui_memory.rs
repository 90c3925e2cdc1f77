//! The TUI keeps every event in its compact index but only a bounded cache of payloads:
//! with the cache at its smallest, events shown are read again from the broker, and an
//! aggregate's stream still folds from all of its events.

use crate::common::*;
use kafka_rewind::app::Action;
use kafka_rewind::config::{Config, Connection};

#[test]
fn payloads_beyond_the_cache_are_read_again_when_shown() {
    let cluster = mock(&[("t", 2)]);
    let b = cluster.bootstrap_servers();
    let records: Vec<Rec> = (0..300)
        .map(|i| {
            Rec::new(
                "t",
                i % 2,
                &format!("acct-{}", i % 10),
                &format!("{{\"type\":\"Posted\",\"n\":{i}}}"),
            )
        })
        .collect();
    produce(&b, &records);
    let config = Config::parse(
        "[limits]\npayload_cache_mb = 0\n[[topics]]\nname = \"t\"\n[topics.reducers]\nPosted = \"(. // {count: 0}) | .count += 1 | .last = $event.n\"\n",
        std::path::Path::new("rewind.toml"),
    )
    .unwrap();
    let conn = Connection {
        brokers: b.clone(),
        ..Connection::default()
    };
    let mut d = Driver::start(conn, config);
    d.wait("topics", |a| !a.topics.all.is_empty());
    d.act(Action::Open);
    d.wait("the topic", |a| a.topic.events.done);
    // Every event is indexed; at most the newest payload is kept.
    assert_eq!(d.app.topic.events.len(), 300);
    assert!(
        d.app.topic.events.cache.len() <= 1,
        "{}",
        d.app.topic.events.cache.len()
    );
    // 48-byte entries (`model::index` checks the size), in a Vec that may hold up to
    // twice what it needs while it grows, and each distinct string once.
    let per_event = d.app.topic.events.index.bytes() as f64 / 300.0;
    assert!(
        per_event <= 2.0 * 48.0 + 2.0,
        "the index takes {per_event} bytes per event"
    );

    // The event under the cursor is read again.
    d.act(Action::MoveDown);
    let want = d.app.topic.events.index.get(1).coord();
    d.wait("the event's payload", |a| {
        a.topic.events.current().is_some_and(|e| e.coord() == want)
    });
    let value = d.app.topic.events.current().unwrap().value.to_json();
    assert_eq!(value["type"], "Posted");

    // The stream of the event under the cursor folds all 30 of its aggregate's events,
    // read again from the broker.
    let aggregate = d.app.topic.events.index.get(1).aggregate().to_owned();
    d.act(Action::Open);
    d.wait("the stream", |a| a.stream().is_some());
    let view = d.app.stream().unwrap();
    assert_eq!(view.indices.len(), 30, "{aggregate}");
    assert_eq!(view.aggregate, aggregate);
    d.act(Action::Last);
    assert_eq!(d.app.stream().unwrap().state["count"], 30);
}
