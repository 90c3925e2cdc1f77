//! Everything else that touches a cluster, once on Apache Kafka as a new user would:
//! topics, events, aggregates, state, compensate and produce with --execute, follow,
//! story, groups with lag in time and --watch, and the TUI's load and reopen with the
//! topic id that Kafka's DescribeTopics gives (checked against kafka-topics.sh).

use std::io::BufRead;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

const T0: i64 = 1_795_687_200_000;

fn config(orders: &str, payments: &str) -> String {
    format!(
        r#"
[[topics]]
name = "{orders}"
event_id = ".id"
compensations = {{ OrderShipmentReversed = "OrderShipped" }}
compensation_ref = ".reverses"
[topics.reducers]
OrderCreated = "{{status: \"created\", total: $event.total}}"
OrderShipped = ".status = \"shipped\""
OrderShipmentReversed = ".status = \"created\""
[topics.compensation_templates]
OrderShipped = "{{type: \"OrderShipmentReversed\", id: (\"rev-\" + $event.id), orderId: $event.orderId, reverses: $event.id}}"

[[topics]]
name = "{payments}"
[topics.reducers]
Paid = "{{paid: $event.amount}}"

[[stories]]
name = "order"
[stories.topics]
{orders} = "key"
{payments} = ".orderId"
"#
    )
}

/// Orders keyed by id in the partition murmur2 gives them (as a Java producer does).
fn order(topic: &str, id: &str, kind: &str, n: i64, t: i64) -> Rec {
    let p = kafka_rewind::model::partitioner::Partitioner::Murmur2
        .partition(id.as_bytes(), 3)
        .unwrap();
    Rec::new(
        topic,
        p,
        id,
        &json!({"type": kind, "id": format!("{id}-{kind}"), "orderId": id, "total": 10 * n})
            .to_string(),
    )
    .at(T0 + t)
}

#[test]
fn the_commands_read_and_write_apache_kafka_as_they_do_the_other_brokers() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let orders = unique("orders");
    let payments = unique("payments");
    kafka.create_topic(&orders, 3, &[]);
    kafka.create_topic(&payments, 1, &[]);
    let mut records = vec![];
    for i in 0..6 {
        records.push(order(
            &orders,
            &format!("o-{i}"),
            "OrderCreated",
            i,
            i * 1000,
        ));
        records.push(order(
            &orders,
            &format!("o-{i}"),
            "OrderShipped",
            i,
            10_000 + i * 1000,
        ));
    }
    let mut tombstone = Rec::new(&orders, 0, "gone", "");
    tombstone.value = None;
    let mut binary = Rec::new(&orders, 0, "bin", "");
    binary.value = Some(vec![0x80, 0xff]);
    binary.headers = vec![("trace".into(), b"t-1".to_vec())];
    records.extend([tombstone, binary]);
    records.push(
        Rec::new(
            &payments,
            0,
            "pay-1",
            &json!({"type": "Paid", "orderId": "o-2", "amount": 20}).to_string(),
        )
        .at(T0 + 11_500),
    );
    produce(b, &records);
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), config(&orders, &payments)).unwrap();
    let run = |args: &[&str]| rewind_in(dir.path(), &[&["-b", b][..], args].concat());

    // DescribeConfigs: how long records stay, as each topic was made.
    let changelog = unique("changelog");
    kafka.create_topic(
        &changelog,
        1,
        &[("cleanup.policy", "compact"), ("retention.ms", "3600000")],
    );
    let topics: Value = serde_json::from_str(&stdout(&run(&["-o", "json", "topics"]))).unwrap();
    let t = topic_entry(&topics, &orders);
    assert_eq!(
        (t["partitions"].clone(), t["count"].clone()),
        (json!(3), json!(14)),
        "{t}"
    );
    assert_eq!(
        (t["cleanup_policy"].clone(), t["retention_ms"].clone()),
        (json!("delete"), json!(-1)),
        "{t}"
    );
    let c = topic_entry(&topics, &changelog);
    assert_eq!(
        (c["cleanup_policy"].clone(), c["retention_ms"].clone()),
        (json!("compact"), json!(3_600_000)),
        "{c}"
    );
    let table = stdout(&run(&["topics"]));
    let row = table.lines().find(|l| l.starts_with(&changelog)).unwrap();
    assert!(row.ends_with("compact      1h 0m"), "{row}");

    let events = json_lines(&run(&["events", &orders]));
    assert_eq!(events.len(), 14);
    let bin = events.iter().find(|e| e["key"] == "bin").unwrap();
    assert_eq!(bin["value"], json!({"base64": "gP8="}));
    assert_eq!(bin["headers"]["trace"], "t-1");
    assert!(events
        .iter()
        .any(|e| e["key"] == "gone" && e["value"].is_null()));

    let aggregates: Value =
        serde_json::from_str(&stdout(&run(&["-o", "json", "aggregates", &orders]))).unwrap();
    let o3 = aggregates
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["aggregate"] == "o-3")
        .unwrap();
    assert_eq!(
        (o3["count"].clone(), o3["last_type"].clone()),
        (json!(2), json!("OrderShipped"))
    );

    // state reads only the key's partition, and folds.
    let state: Value =
        serde_json::from_str(&stdout(&run(&["state", &orders, "--aggregate", "o-3"]))).unwrap();
    assert_eq!(
        state["state"],
        json!({"status": "shipped", "total": 30}),
        "{state}"
    );
    assert_eq!(
        state["read"]["partitions"].as_array().unwrap().len(),
        1,
        "{state}"
    );

    // compensate --execute produces the drafted event, linked to the original.
    let shipped = events
        .iter()
        .find(|e| e["aggregate"] == "o-3" && e["type"] == "OrderShipped")
        .unwrap();
    let coord = format!("{}/{}", shipped["partition"], shipped["offset"]);
    let produced: Value = serde_json::from_str(&stdout(&run(&[
        "-o",
        "json",
        "compensate",
        &orders,
        "--event",
        &coord,
        "--execute",
    ])))
    .unwrap();
    assert!(produced["produced"].is_object(), "{produced}");
    let state: Value =
        serde_json::from_str(&stdout(&run(&["state", &orders, "--aggregate", "o-3"]))).unwrap();
    assert_eq!(state["state"]["status"], "created", "{state}");
    let again = json_lines(&run(&["events", &orders, "--aggregate", "o-3"]));
    assert_eq!(again.len(), 3);
    assert_eq!(
        again[2]["headers"]["rewind-compensates"],
        format!("{orders}/{coord}")
    );
    assert_eq!(
        again[1]["reversed_by"]["offset"], again[2]["offset"],
        "{again:?}"
    );

    // produce: a dump replayed into another topic, with the header that says whence.
    let copy = unique("orders-copy");
    kafka.create_topic(&copy, 3, &[]);
    let dump = dir.path().join("dump.jsonl");
    std::fs::write(&dump, stdout(&run(&["events", &orders]))).unwrap();
    let out = run(&[
        "produce",
        &copy,
        "--from-file",
        dump.to_str().unwrap(),
        "--keep-partitions",
        "--execute",
    ]);
    stdout(&out);
    let copied = json_lines(&run(&["events", &copy]));
    assert_eq!(copied.len(), 15);
    let originals = json_lines(&run(&["events", &orders]));
    for (c, o) in copied.iter().zip(&originals) {
        assert_eq!(
            (&c["partition"], &c["key"], &c["value"]),
            (&o["partition"], &o["key"], &o["value"])
        );
        assert_eq!(
            c["headers"]["rewind-replayed-from"],
            format!("{orders}/{}/{}", o["partition"], o["offset"])
        );
    }

    // story: one order across both topics, in time order, a state per topic.
    let story = json_lines(&run(&["story", "order", "o-2"]));
    let kinds: Vec<&str> = story.iter().map(|l| l["type"].as_str().unwrap()).collect();
    // Paid at 11.5 s, between the order's creation (2 s) and shipment (12 s).
    assert_eq!(kinds, ["OrderCreated", "Paid", "OrderShipped"], "{story:?}");
    assert_eq!(story[1]["states"][&payments], json!({"paid": 20}));
    assert_eq!(story[1]["states"][&orders]["status"], "created");
    assert_eq!(story[2]["states"][&orders]["status"], "shipped");
}

#[test]
fn follow_prints_new_events_as_kafka_takes_them() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = unique("follow");
    kafka.create_topic(&topic, 2, &[]);
    produce(b, &[Rec::new(&topic, 0, "a", r#"{"type":"A","n":0}"#)]);
    let dir = sandbox();
    let mut child = rewind_command(dir.path())
        .args(["-b", b, "events", &topic, "--follow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Lines read on a thread of their own, so that a missing one fails the test after a
    // while rather than hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a line from events --follow within 30 s");
        serde_json::from_str(&line).unwrap()
    };
    let first = next();
    assert_eq!(first["value"]["n"], 0);
    produce(
        b,
        &[
            Rec::new(&topic, 1, "b", r#"{"type":"A","n":1}"#),
            Rec::new(&topic, 0, "a", r#"{"type":"A","n":2}"#),
        ],
    );
    let mut seen: Vec<i64> = (0..2)
        .map(|_| next()["value"]["n"].as_i64().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, [1, 2]);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn groups_show_lag_in_time_and_watch_follows_a_replay_until_caught_up() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = unique("lagging");
    kafka.create_topic(&topic, 1, &[]);
    let records: Vec<Rec> = (0..10)
        .map(|i| {
            Rec::new(&topic, 0, "k", &json!({"type": "A", "n": i}).to_string()).at(T0 + i * 60_000)
        })
        .collect();
    produce(b, &records);
    let group = unique("behind");
    commit(b, &group, &topic, &[(0, 4)]);
    let groups: Value = serde_json::from_str(&stdout(&rewind(&[
        "-b", b, "-o", "json", "groups", "--group", &group,
    ])))
    .unwrap();
    let p = &groups[0]["partitions"][0];
    assert_eq!(
        (p["lag"].clone(), p["lag_ms"].clone()),
        (json!(6), json!(5 * 60_000)),
        "{p}"
    );

    let dir = sandbox();
    let mut watch = rewind_command(dir.path())
        .args([
            "-b",
            b,
            "groups",
            "--group",
            &group,
            "--watch",
            "--tick-ms",
            "300",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A member reads the rest and commits: the watch sees the group catch up and ends.
    let member = GroupMember::join(b, &group, &topic, true);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = watch.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the watch never ended");
        std::thread::sleep(Duration::from_millis(100));
    };
    member.leave();
    let out = watch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("caught up"), "{text}");
}

/// Kafka's own word on a topic's id (`kafka-topics.sh --describe`).
fn kafka_topic_id(kafka: &Kafka, topic: &str) -> String {
    let out = kafka.tool(
        "org.apache.kafka.tools.TopicCommand",
        &["--describe", "--topic", topic],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .skip_while(|w| *w != "TopicId:")
        .nth(1)
        .unwrap_or_else(|| panic!("no TopicId in {text}"))
        .to_owned()
}

#[test]
fn the_tui_loads_and_reopens_on_its_index_which_keeps_the_topic_id_kafka_gives() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = unique("ix");
    kafka.create_topic(&topic, 2, &[]);
    let recs = |range: std::ops::Range<i32>| -> Vec<Rec> {
        range
            .map(|i| {
                Rec::new(
                    &topic,
                    i % 2,
                    &format!("acct-{}", i % 3),
                    &json!({"type": "A", "n": i}).to_string(),
                )
            })
            .collect()
    };
    produce(b, &recs(0..20));
    let dir = tempfile::tempdir().unwrap();
    let driver = || {
        let d = Driver::with_index(b, Some(dir.path()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while d.worker.topic_id(&topic).is_none() {
            assert!(Instant::now() < deadline, "no topic id from DescribeTopics");
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    };
    let mut d = driver();
    assert_eq!(
        d.worker.topic_id(&topic).unwrap(),
        kafka_topic_id(kafka, &topic)
    );
    let first = d.load(&topic);
    assert_eq!(first.len(), 20);
    assert_eq!(d.worker.records_loaded(), 20);
    drop(d);
    produce(b, &recs(20..24));
    let mut d = driver();
    let second = d.load(&topic);
    assert_eq!(second.len(), 24);
    assert_eq!(
        &second[..10],
        &first[..10],
        "partition 0 as it was, then its new ones"
    );
    // Two checks (one per partition) and the four new records.
    assert_eq!(d.worker.records_loaded(), 2 + 4);
    drop(d);
    let meta_path = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|cluster| cluster.unwrap().path().join(&topic).join("meta.json"))
        .find(|p| p.is_file())
        .unwrap();
    let meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    assert_eq!(meta["topic_id"], json!(kafka_topic_id(kafka, &topic)));
}
