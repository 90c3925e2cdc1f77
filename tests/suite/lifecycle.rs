//! The TUI's lifecycle with the real worker against the mock cluster: work the user
//! left behind is stopped, results find what asked for them, and a failed read is said
//! and not waited for.

use std::time::Duration;

use crate::common::*;
use kafka_rewind::app::{Action, Command, Msg};
use kafka_rewind::config::{Config, Connection};

fn records(topic: &str, n: usize) -> Vec<Rec> {
    (0..n)
        .map(|i| {
            Rec::new(
                topic,
                0,
                &format!("k{}", i % 10),
                &format!("{{\"type\":\"T\",\"n\":{i}}}"),
            )
        })
        .collect()
}

/// Payloads are not kept: every event shown is read again.
fn uncached() -> Config {
    Config::parse(
        "[limits]\npayload_cache_mb = 0\n",
        std::path::Path::new("rewind.toml"),
    )
    .unwrap()
}

/// The TUI on topic `t` of `cluster` (40 records), loaded, with no payload kept.
fn opened(cluster: &Mock, timeout: Option<Duration>) -> Driver {
    produce(&cluster.bootstrap_servers(), &records("t", 40));
    let conn = Connection {
        brokers: cluster.bootstrap_servers(),
        timeout,
        ..Connection::default()
    };
    let mut d = Driver::start(conn, uncached());
    d.wait("topics", |a| !a.topics.all.is_empty());
    d.act(Action::Open);
    d.wait("the topic", |a| a.topic.events.done);
    d
}

#[test]
fn a_search_fetches_the_match_it_moves_to() {
    let cluster = mock(&[("t", 1)]);
    let mut d = opened(&cluster, None);
    d.act(Action::StartFilter);
    for c in "k7".chars() {
        d.act(Action::Type(c));
    }
    let commands = d.app.update(Action::Submit);
    assert!(
        commands.iter().any(|c| matches!(c, Command::Fetch { .. })),
        "the match's payload is asked for: {commands:?}"
    );
    for command in commands {
        d.worker.submit(command);
    }
    d.wait("the match's payload", |a| {
        a.topic
            .events
            .current()
            .is_some_and(|e| e.key.label() == "k7")
    });
}

#[test]
fn a_failed_read_is_said_and_not_waited_for() {
    let cluster = mock(&[("t", 1)]);
    let mut d = opened(&cluster, Some(Duration::from_millis(800)));
    cluster.broker_down(1).unwrap();
    d.act(Action::Last);
    d.act(Action::Open); // the stream of the last event: its payloads must be read
    let asked = d.sent.len();
    d.messages_until("the failed read", |m| matches!(m, Msg::FetchFailed { .. }));
    // What failed is remembered as unreadable, with the reason the pane shows.
    assert!(!d.app.topic.events.unreadable.is_empty());
    assert!(d
        .app
        .topic
        .events
        .unreadable
        .values()
        .all(|why| why.contains("not read again")));
    assert!(d.app.status.contains("not read again"), "{}", d.app.status);
    assert!(d.app.stream().is_none());
    // Not asked again by itself; R reloads and reads it once the broker is back.
    assert!(d.sent[asked..]
        .iter()
        .all(|c| !matches!(c, Command::Fetch { .. })));
    cluster.broker_up(1).unwrap();
    d.act(Action::Refresh);
    d.wait("the topic again", |a| a.topic.events.done);
    d.act(Action::Last);
    d.wait("the last event", |a| a.topic.events.current().is_some());
}

#[test]
fn leaving_the_events_screen_stops_the_load_and_the_follow() {
    let cluster = mock(&[("big", 1), ("small", 1)]);
    let b = cluster.bootstrap_servers();
    // One record per batch and small fetches on a slow broker: a load that takes a while.
    produce_with(&b, &records("big", 400), &[("batch.num.messages", "1")]);
    produce(&b, &records("small", 5));
    cluster
        .broker_round_trip_time(1, Duration::from_millis(5))
        .unwrap();
    let conn = Connection {
        brokers: b.clone(),
        properties: vec![("max.partition.fetch.bytes".into(), "1024".into())],
        ..Connection::default()
    };
    let mut d = Driver::start(conn, Config::default());
    d.wait("topics", |a| a.topics.all.len() == 2);
    d.act(Action::Open); // "big"
    d.wait("the first events", |a| a.topic.events.len() > 20);
    assert!(
        !d.app.topic.events.done,
        "the load finished too soon to be stopped"
    );
    let generation = d.worker.loading();
    d.act(Action::Back);
    assert_eq!(d.worker.loading(), 0, "the worker was told");
    let after = d.messages_until(
        "the load to end",
        |m| matches!(m, Msg::Loaded { generation: g, .. } if *g == generation),
    );
    let delivered: usize = after
        .iter()
        .map(|m| match m {
            Msg::Events { events, .. } => events.len(),
            _ => 0,
        })
        .sum();
    assert!(
        delivered + 20 < 400,
        "the load went on after Esc: {delivered} more events"
    );

    // A follow stops too.
    d.act(Action::MoveDown);
    d.act(Action::Open); // "small"
    d.wait("small", |a| {
        a.topic.events.done && a.topic.events.topic == "small"
    });
    d.act(Action::Follow);
    assert!(d.app.topic.following);
    assert_ne!(d.worker.following(), 0);
    d.act(Action::Back);
    assert!(!d.app.topic.following);
    assert_eq!(d.worker.following(), 0);
}

#[test]
fn one_client_serves_the_topics_the_load_and_every_fetch() {
    let cluster = mock(&[("t", 1)]);
    let mut d = opened(&cluster, None);
    // No payload is kept: each step reads its event again.
    for _ in 0..25 {
        d.act(Action::MoveDown);
        d.wait("the event", |a| a.topic.events.current().is_some());
    }
    // The cluster client and the scan consumers it lends: the load's, and at most one
    // more for a fetch that ran while the load still held the first.
    assert!(
        d.worker.clients_made() <= 3,
        "{} clients for one load and 25 fetches",
        d.worker.clients_made()
    );
}

#[test]
fn a_config_read_again_is_the_one_the_worker_loads_with() {
    let cluster = mock(&[("t", 1)]);
    let events: Vec<Rec> = (0..6)
        .map(|i| {
            let value = format!(r#"{{"type":"T","a":"a-{}","b":"b-{}"}}"#, i % 2, i % 3);
            Rec::new("t", 0, "k", &value)
        })
        .collect();
    produce(&cluster.bootstrap_servers(), &events);
    let dir = sandbox();
    let path = dir.path().join("rewind.toml");
    let entry =
        |aggregate: &str| format!("[[topics]]\nname = \"t\"\naggregate = \"{aggregate}\"\n");
    std::fs::write(&path, entry(".a")).unwrap();
    let conn = Connection {
        brokers: cluster.bootstrap_servers(),
        ..Connection::default()
    };
    let mut d = Driver::start(conn, Config::load(Some(&path)).unwrap());
    d.wait("topics", |a| !a.topics.all.is_empty());
    d.act(Action::Open);
    d.wait("the topic", |a| a.topic.events.done);
    let aggregates = |d: &Driver| {
        let mut ids: Vec<String> = d
            .app
            .topic
            .events
            .index
            .iter()
            .map(|e| e.aggregate().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    assert_eq!(aggregates(&d), ["a-0", "a-1"]);
    // The file is read by the worker, which indexes the topic by it from then on.
    std::fs::write(&path, entry(".b")).unwrap();
    d.command("reload");
    assert!(
        d.sent
            .iter()
            .any(|c| matches!(c, Command::ReadConfig { path: p } if *p == path)),
        "{:?}",
        d.sent
    );
    d.wait("the config", |a| a.status.starts_with("reloaded"));
    d.act(Action::Refresh);
    d.wait("the topic again", |a| a.topic.events.done);
    assert_eq!(aggregates(&d), ["b-0", "b-1", "b-2"]);
}
