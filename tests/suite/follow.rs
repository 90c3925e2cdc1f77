//! `rewind events --follow`: the events there are, then new ones as they arrive.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;
use serde_json::Value;

#[test]
fn follow_prints_new_events_as_they_arrive() {
    let cluster = mock(&[("t", 2)]);
    let b = cluster.bootstrap_servers();
    let record = |p: i32, n: i32| {
        Rec::new(
            "t",
            p,
            &format!("k{n}"),
            &format!("{{\"type\":\"T\",\"n\":{n}}}"),
        )
    };
    produce(&b, &[record(0, 0), record(1, 1), record(0, 2)]);
    let dir = sandbox();
    let mut child = rewind_command(dir.path())
        .args(["-b", &b, "events", "t", "--follow", "--limit", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a line from --follow");
        serde_json::from_str(&line).unwrap()
    };
    let existing: Vec<i64> = (0..3)
        .map(|_| next()["value"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(existing, [0, 2, 1], "partition then offset order");
    produce(&b, &[record(1, 3)]);
    assert_eq!(next()["value"]["n"], 3);
    produce(&b, &[record(0, 4), record(0, 5)]);
    assert_eq!(next()["value"]["n"], 4);
    // --limit 5 reached: it exits by itself.
    let status = child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn f_in_the_tui_appends_new_events_and_the_stream_follows() {
    use kafka_rewind::app::Action;
    use kafka_rewind::config::{Config, Connection};

    let cluster = mock(&[("t", 2)]);
    let b = cluster.bootstrap_servers();
    let record = |n: i32| {
        Rec::new(
            "t",
            1,
            "acct-1",
            &format!("{{\"type\":\"Deposited\",\"data\":{{\"n\":{n}}}}}"),
        )
    };
    produce(&b, &[record(0), record(1)]);
    let conn = Connection {
        brokers: b.clone(),
        ..Connection::default()
    };
    let mut d = Driver::start(conn, Config::default());
    d.wait("topics", |a| !a.topics.all.is_empty());
    d.act(Action::Open);
    d.wait("the topic", |a| a.topic.events.done);
    d.act(Action::Open);
    d.wait("the stream", |a| a.stream().is_some());
    d.act(Action::Last);
    assert_eq!(d.app.stream().unwrap().state, serde_json::json!({"n": 1}));
    d.act(Action::Follow);
    assert!(d.app.topic.following);
    std::thread::sleep(Duration::from_millis(300)); // the tail is assigned
    produce(&b, &[record(2), record(3)]);
    d.wait("the new events", |a| a.topic.events.len() == 4);
    let view = d.app.stream().unwrap();
    assert_eq!(
        view.indices.len(),
        4,
        "the open stream took the new events in"
    );
    assert_eq!(
        view.cursor, 3,
        "the cursor was on the last event and follows"
    );
    assert_eq!(view.state["n"], 3);
    d.act(Action::Follow);
    assert!(!d.app.topic.following);
}
