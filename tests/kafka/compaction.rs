//! Compaction on Apache Kafka: once the cleaner has run, events are the survivors,
//! positions and plans skip the gaps (records, not offsets), and a tombstoned key's
//! state is null.

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

#[test]
fn a_compacted_topic_reads_as_its_survivors_and_a_tombstone_ends_its_aggregate() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = unique("changelog");
    kafka.create_topic(
        &topic,
        1,
        &[
            ("cleanup.policy", "compact"),
            ("segment.ms", "100"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ],
    );
    let put =
        |key: &str, n: i64| Rec::new(&topic, 0, key, &json!({"type": "Set", "n": n}).to_string());
    let mut tombstone = Rec::new(&topic, 0, "k3", "");
    tombstone.value = None;
    // Offsets: k1 0-2, k2 3, k3 4 and its tombstone 5.
    produce(
        b,
        &[
            put("k1", 1),
            put("k1", 2),
            put("k1", 3),
            put("k2", 1),
            put("k3", 1),
            tombstone,
        ],
    );
    let group = unique("projector");
    // A later record rolls the segment, so that the cleaner may clean the first one.
    std::thread::sleep(Duration::from_millis(300));
    produce(b, &[put("k4", 1)]);
    commit(b, &group, &topic, &[(0, 7)]);
    let dir = sandbox();
    let run = |args: &[&str]| rewind_in(dir.path(), &[&["-b", b][..], args].concat());
    let deadline = Instant::now() + Duration::from_secs(90);
    let events = loop {
        let events = json_lines(&run(&["events", &topic]));
        if events.len() == 4 {
            break events;
        }
        assert!(Instant::now() < deadline, "never compacted: {events:?}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let seen: Vec<(i64, &str)> = events
        .iter()
        .map(|e| (e["offset"].as_i64().unwrap(), e["key"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [(2, "k1"), (3, "k2"), (5, "k3"), (6, "k4")]);

    let state = |key: &str| -> Value {
        serde_json::from_str(&stdout(&run(&["state", &topic, "--aggregate", key]))).unwrap()
    };
    assert_eq!(state("k3")["state"], Value::Null, "the tombstone ends k3");
    let k1 = state("k1");
    assert_eq!(
        (k1["state"]["n"].clone(), k1["index"].clone()),
        (json!(3), json!(0)),
        "{k1}"
    );

    let aggregates: Value =
        serde_json::from_str(&stdout(&run(&["-o", "json", "aggregates", &topic]))).unwrap();
    assert!(
        aggregates
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["count"] == 1),
        "{aggregates}"
    );

    let plan: Value = reset_json(dir.path(), b, &group, &topic, &["--to-earliest"]);
    let p = &plan["partitions"][0];
    assert_eq!(
        (p["delta"].clone(), p["records"].clone()),
        (json!(-7), json!(-4)),
        "{plan}"
    );

    // The TUI: the same four, positions over the survivors.
    let mut d = Driver::with_index(b, None);
    let loaded: Vec<i64> = d.load(&topic).into_iter().map(|e| e.1).collect();
    assert_eq!(loaded, [2, 3, 5, 6]);
}
