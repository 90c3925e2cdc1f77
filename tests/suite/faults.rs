//! Broker faults: an unreachable broker fails every command with one clear line within
//! the (configurable) timeout; in the TUI a broker lost mid-load shows "disconnected",
//! keeps what was loaded, and the load resumes where it stopped when the broker is back;
//! injected request errors do not lose events.

use std::time::{Duration, Instant};

use crate::common::*;
use kafka_rewind::app::Action;
use kafka_rewind::config::{Config, Connection};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

#[test]
fn every_command_fails_fast_with_one_line_naming_the_broker() {
    let broker = format!("127.0.0.1:{}", free_port());
    let commands: [&[&str]; 7] = [
        &["topics"],
        &["events", "t"],
        &["aggregates", "t"],
        &["state", "t", "--aggregate", "a"],
        &["groups", "--group", "g"],
        &["reset", "--group", "g", "--topic", "t", "--to-earliest"],
        &["compensate", "t", "--event", "0/0"],
    ];
    for args in commands {
        let started = Instant::now();
        let out = rewind(&[&["-b", &broker, "--timeout", "1500"][..], args].concat());
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("cannot reach the brokers at {broker}")) && err.contains("check"),
            "{args:?}: {err}"
        );
        // A sanity bound, far above the 1.5 s timeout: the command did not hang.
        assert!(took < Duration::from_secs(15), "{args:?} took {took:?}");
    }
}

#[test]
fn injected_request_errors_do_not_lose_events() {
    let cluster = mock(&[("t", 2)]);
    let b = cluster.bootstrap_servers();
    let records: Vec<Rec> = (0..200)
        .map(|i| Rec::new("t", i % 2, "k", &format!("{{\"n\":{i}}}")))
        .collect();
    produce(&b, &records);
    cluster.request_errors(
        RDKafkaApiKey::Fetch,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        ],
    );
    let lines = json_lines(&rewind(&["-b", &b, "events", "t"]));
    assert_eq!(lines.len(), 200);
}

#[test]
fn a_broker_lost_mid_load_shows_disconnected_keeps_what_is_loaded_and_resumes() {
    let cluster = mock(&[("big", 1), ("small", 1)]);
    let b = cluster.bootstrap_servers();
    let records: Vec<Rec> = (0..400)
        .map(|i| {
            Rec::new(
                "big",
                0,
                &format!("k{}", i % 7),
                &format!("{{\"type\":\"T\",\"n\":{i}}}"),
            )
        })
        .chain((0..5).map(|i| Rec::new("small", 0, "s", &format!("{{\"n\":{i}}}"))))
        .collect();
    // One record per batch, so that small fetches return few records.
    produce_with(&b, &records, &[("batch.num.messages", "1")]);
    // Small fetches with a slow broker: the load takes a while, so the broker can go
    // away in the middle of it.
    let conn = Connection {
        brokers: b.clone(),
        properties: vec![("max.partition.fetch.bytes".into(), "1024".into())],
        timeout: Some(Duration::from_millis(1500)),
        ..Connection::default()
    };
    cluster
        .broker_round_trip_time(1, Duration::from_millis(5))
        .unwrap();
    // With an on-disk index: what is read before and after the broker's absence is
    // written there and read in place.
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        index_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let mut d = Driver::start(conn, config);
    d.wait("topics", |a| a.topics.all.len() == 2);
    d.act(Action::Open); // "big", the first topic
    d.wait("the first events", |a| a.topic.events.len() > 50);
    assert!(
        !d.app.topic.events.done,
        "the load finished before the broker could be taken down"
    );
    cluster.broker_down(1).unwrap();
    d.wait("disconnected", |a| a.disconnected.is_some());
    let loaded = d.app.topic.events.len();
    assert!(!d.app.topic.events.done && d.app.topic.events.error.is_none());
    // What is loaded stays usable: open a stream and step through it.
    d.act(Action::Open);
    d.act(Action::StepForward);
    assert!(d.app.stream().is_some(), "{}", d.app.status);
    d.act(Action::Back);
    cluster.broker_up(1).unwrap();
    d.wait("the load to finish", |a| a.topic.events.done);
    assert!(
        d.app.topic.events.error.is_none(),
        "{:?}",
        d.app.topic.events.error
    );
    let offsets: Vec<i64> = d
        .app
        .topic
        .events
        .index
        .iter()
        .map(|e| e.coord().offset)
        .collect();
    assert_eq!(
        offsets,
        (0..400).collect::<Vec<_>>(),
        "every event once, in order"
    );
    assert_eq!(d.app.topic.events.index.mapped(), 400);
    d.wait("connected", |a| a.disconnected.is_none());
    assert!(loaded > 50);

    // A topics refresh that fails keeps the list and says why.
    cluster.broker_down(1).unwrap();
    d.act(Action::Back);
    d.act(Action::Refresh);
    d.wait("the refresh to fail", |a| !a.topics.loading);
    assert_eq!(d.app.topics.all.len(), 2);
    assert!(d.app.topics.error.is_none());
    assert!(
        d.app
            .disconnected
            .as_deref()
            .unwrap_or_default()
            .contains("cannot reach"),
        "{:?}",
        d.app.disconnected
    );
    cluster.broker_up(1).unwrap();
    d.act(Action::Refresh);
    d.wait("the refresh", |a| {
        !a.topics.loading && a.disconnected.is_none()
    });
}
