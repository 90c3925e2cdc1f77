//! Transactions on Apache Kafka, the only broker here that writes their markers: reads
//! are read_committed, so records of aborted and open transactions are never events,
//! in any command, and no fold includes them.

use std::time::Duration;

use crate::common::*;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[topics]]
name = "TOPIC"
[topics.reducers]
Opened = "{balance: $event.amount}"
Deposited = ".balance += $event.amount"
Withdrawn = ".balance -= $event.amount"
"#;

/// A transactional producer of the test's own.
fn transactional(bootstrap: &str, id: &str) -> BaseProducer {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", id)
        // The open transaction must stay open for the whole test (the default would
        // abort it after a minute).
        .set("transaction.timeout.ms", "600000")
        .set("log_level", "3")
        .create()
        .expect("transactional producer");
    producer
        .init_transactions(Duration::from_secs(30))
        .expect("init_transactions");
    producer
}

fn send(producer: &BaseProducer, topic: &str, kind: &str, amount: i64) {
    let value = json!({"type": kind, "amount": amount}).to_string();
    producer
        .send(
            BaseRecord::to(topic)
                .partition(0)
                .key("acct-1")
                .payload(&value),
        )
        .expect("send");
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Committed, aborted, committed again, and one transaction left open (the producer is
/// returned: the transaction stays open while it lives). Offsets: 0-1 data, 2 commit
/// marker, 3-4 aborted, 5 abort marker, 6 data, 7 commit marker, 8 open.
fn ledger(kafka: &Kafka, topic: &str) -> BaseProducer {
    kafka.create_topic(topic, 1, &[]);
    let p = transactional(&kafka.bootstrap, &unique("tx"));
    let t = Duration::from_secs(30);
    p.begin_transaction().unwrap();
    send(&p, topic, "Opened", 100);
    send(&p, topic, "Deposited", 50);
    p.commit_transaction(t).unwrap();
    p.begin_transaction().unwrap();
    send(&p, topic, "Withdrawn", 999);
    send(&p, topic, "Withdrawn", 999);
    p.abort_transaction(t).unwrap();
    p.begin_transaction().unwrap();
    send(&p, topic, "Deposited", 25);
    p.commit_transaction(t).unwrap();
    let open = transactional(&kafka.bootstrap, &unique("tx-open"));
    open.begin_transaction().unwrap();
    send(&open, topic, "Withdrawn", 5);
    open
}

#[test]
fn only_committed_records_are_events_and_folded() {
    let kafka = Kafka::shared();
    let topic = unique("tx");
    let open = ledger(kafka, &topic);
    let dir = sandbox();
    std::fs::write(
        dir.path().join("rewind.toml"),
        CONFIG.replace("TOPIC", &topic),
    )
    .unwrap();
    let b = kafka.bootstrap.as_str();
    let run = |args: &[&str]| rewind_in(dir.path(), &[&["-b", b][..], args].concat());

    let events = json_lines(&run(&["events", &topic]));
    let seen: Vec<(i64, &str)> = events
        .iter()
        .map(|e| (e["offset"].as_i64().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [(0, "Opened"), (1, "Deposited"), (6, "Deposited")]);

    let state: Value =
        serde_json::from_str(&stdout(&run(&["state", &topic, "--aggregate", "acct-1"]))).unwrap();
    assert_eq!(state["state"], json!({"balance": 175}), "{state}");
    assert_eq!(
        (state["index"].clone(), state["offset"].clone()),
        (json!(2), json!(6))
    );

    let aggregates: Value =
        serde_json::from_str(&stdout(&run(&["-o", "json", "aggregates", &topic]))).unwrap();
    assert_eq!(aggregates[0]["count"], 3, "{aggregates}");
    assert_eq!(aggregates[0]["last"]["offset"], 6, "{aggregates}");

    // Uncommitted, `events` shows every data record and marks the aborted and the open
    // ones exactly as written; what folds still reads committed records.
    let all = json_lines(&run(&["--isolation", "uncommitted", "events", &topic]));
    let marked: Vec<(i64, &str, Value)> = all
        .iter()
        .map(|e| {
            (
                e["offset"].as_i64().unwrap(),
                e["type"].as_str().unwrap(),
                e["transaction"].clone(),
            )
        })
        .collect();
    assert_eq!(
        marked,
        [
            (0, "Opened", Value::Null),
            (1, "Deposited", Value::Null),
            (3, "Withdrawn", json!("aborted")),
            (4, "Withdrawn", json!("aborted")),
            (6, "Deposited", Value::Null),
            (8, "Withdrawn", json!("open")),
        ]
    );
    let state: Value = serde_json::from_str(&stdout(&run(&[
        "--isolation",
        "uncommitted",
        "state",
        &topic,
        "--aggregate",
        "acct-1",
    ])))
    .unwrap();
    assert_eq!(
        state["state"],
        json!({"balance": 175}),
        "never folded: {state}"
    );
    let refused = run(&[
        "--isolation",
        "uncommitted",
        "events",
        &topic,
        "--where",
        ".amount > 0",
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("marks aborted and open records only on a plain read"),
        "{refused:?}"
    );
    // The newest records past the last stable offset alone: all open, and the read
    // ends (a committed read there would wait for records that never come).
    let last = json_lines(&run(&[
        "--isolation",
        "uncommitted",
        "events",
        &topic,
        "--from",
        "0/8",
    ]));
    let last: Vec<Value> = last.iter().map(|e| e["transaction"].clone()).collect();
    assert_eq!(last, [json!("open")]);
    // -X cannot make the folds read uncommitted.
    let state: Value = serde_json::from_str(&stdout(&run(&[
        "-X",
        "isolation.level=read_uncommitted",
        "state",
        &topic,
        "--aggregate",
        "acct-1",
    ])))
    .unwrap();
    assert_eq!(state["state"], json!({"balance": 175}), "{state}");

    // A plan counts records, not offsets: from offset 7 back to the start are 7 offsets
    // and 3 records (the rest are two markers and two aborted records).
    let group = unique("tx-reader");
    commit(b, &group, &topic, &[(0, 7)]);
    let plan: Value = reset_json(dir.path(), b, &group, &topic, &["--to-earliest"]);
    let p = &plan["partitions"][0];
    assert_eq!(
        (p["delta"].clone(), p["records"].clone()),
        (json!(-7), json!(-3)),
        "{plan}"
    );
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains(
            "7 offsets, 3 records: the rest are transaction markers, aborted or compacted away"
        ),
        "{warnings}"
    );
    let table = stdout(&run(&[
        "reset",
        "--group",
        &group,
        "--topic",
        &topic,
        "--to-earliest",
    ]));
    assert!(table.contains("7 offsets, 3 records"), "{table}");

    // The TUI's load: the same three.
    let mut d = Driver::with_index(b, None);
    let loaded: Vec<(i64, String)> = d.load(&topic).into_iter().map(|e| (e.1, e.3)).collect();
    assert_eq!(
        loaded,
        [
            (0, "Opened".into()),
            (1, "Deposited".into()),
            (6, "Deposited".into())
        ]
    );
    drop(d);

    // `topics` counts records where an on-disk index covers the topic (the TUI's load
    // makes one): 3, beside the offsets a read_committed consumer sees (up to the
    // last stable offset, 8, while the transaction is open; 10 once it aborted).
    let cache = dir.path().join("cache");
    let topic_json = || -> Value {
        let out = rewind_command(dir.path())
            .env("XDG_CACHE_HOME", &cache)
            .args(["-b", b, "-o", "json", "topics"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let all: Value = serde_json::from_slice(&out.stdout).unwrap();
        let found = all
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == topic.as_str());
        found.cloned().unwrap()
    };
    assert_eq!(topic_json()["records"], Value::Null, "no index yet");
    let index_dir = cache.join("rewind").join("index");
    let mut counted = vec![];
    for abort in [false, true] {
        if abort {
            open.abort_transaction(Duration::from_secs(30)).unwrap();
        }
        let mut d = Driver::with_index(b, Some(&index_dir));
        assert_eq!(d.load(&topic).len(), 3);
        drop(d);
        let t = topic_json();
        counted.push((t["count"].clone(), t["records"].clone()));
    }
    assert_eq!(counted, [(json!(8), json!(3)), (json!(10), json!(3))]);
}

/// The TUI with `--isolation uncommitted`: its timeline shows every data record and
/// marks the aborted (✗) and the open (⋯) ones exactly as the test wrote them; the
/// stream shows them and folds only the committed ones.
#[test]
fn the_tui_read_uncommitted_marks_aborted_and_open_records_and_folds_neither() {
    use kafka_rewind::app::Action;
    use kafka_rewind::model::event::Transaction;
    let kafka = Kafka::shared();
    let topic = unique("tx-tui");
    let _open = ledger(kafka, &topic);
    let dir = sandbox();
    let path = dir.path().join("rewind.toml");
    std::fs::write(&path, CONFIG.replace("TOPIC", &topic)).unwrap();
    let config = kafka_rewind::config::Config::load(Some(&path)).unwrap();
    let conn = kafka_rewind::config::Connection {
        brokers: kafka.bootstrap.clone(),
        isolation: kafka_rewind::config::ReadIsolation::Uncommitted,
        ..Default::default()
    };
    let mut d = Driver::start(conn, config);
    d.wait("the topics", |a| !a.topics.all.is_empty());
    let loaded: Vec<(i64, String, Option<Transaction>)> = d
        .load(&topic)
        .into_iter()
        .map(|e| {
            let at = kafka_rewind::model::Coord {
                partition: e.0,
                offset: e.1,
            };
            (e.1, e.3, d.app.topic.events.index.transaction(at))
        })
        .collect();
    let aborted = Some(Transaction::Aborted);
    assert_eq!(
        loaded,
        [
            (0, "Opened".into(), None),
            (1, "Deposited".into(), None),
            (3, "Withdrawn".into(), aborted),
            (4, "Withdrawn".into(), aborted),
            (6, "Deposited".into(), None),
            (8, "Withdrawn".into(), Some(Transaction::Open)),
        ]
    );
    let screen = d.screen(120, 20);
    assert!(
        screen.contains("2 aborted ✗, 1 open ⋯: not folded"),
        "{screen}"
    );
    assert!(screen.contains("✗ Withdrawn"), "{screen}");
    assert!(screen.contains("⋯ Withdrawn"), "{screen}");
    // The stream of acct-1 shows all six; its state at the end folds the three
    // committed ones.
    d.act(Action::Open);
    d.wait("the stream", |a| a.stream().is_some_and(|s| s.ready));
    assert_eq!(d.app.stream().unwrap().indices.len(), 6);
    d.act(Action::Last);
    d.wait("the last state", |a| {
        a.stream()
            .is_some_and(|s| s.state == json!({"balance": 175}))
    });
    let screen = d.screen(140, 24);
    assert!(screen.contains("⋯"), "{screen}");
}
