//! Retention on Apache Kafka: a plan to an offset retention deleted is clamped to the
//! log start and says the event is gone; a target due to be deleted soon says when.

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

#[test]
fn an_expired_target_is_clamped_and_gone_and_one_near_expiry_says_when() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let dir = sandbox();
    let now = chrono::Utc::now().timestamp_millis();

    // Kept two hours; the first record is 1 h 50 min old: due within the hour.
    let soon = unique("soon");
    kafka.create_topic(&soon, 1, &[("retention.ms", "7200000")]);
    // Records 1 h 50 min, 1 h 49 min and 10 min old.
    let recs: Vec<Rec> = [110, 109, 10]
        .iter()
        .enumerate()
        .map(|(i, minutes)| {
            Rec::new(&soon, 0, "k", &json!({"type": "A", "n": i}).to_string())
                .at(now - minutes * 60_000)
        })
        .collect();
    produce(b, &recs);
    let group = unique("reader");
    commit(b, &group, &soon, &[(0, 3)]);
    let p = reset_json(dir.path(), b, &group, &soon, &["--to-earliest"]);
    let ms = p["partitions"][0]["expires_in_ms"]
        .as_i64()
        .unwrap_or_else(|| panic!("{p}"));
    assert!((9 * 60_000..=10 * 60_000).contains(&ms), "{p}");
    assert!(
        p["warnings"]
            .to_string()
            .contains("may be deleted by retention as soon as"),
        "{p}"
    );
    // Its last record has 1 h 50 min left: no warning.
    let later = reset_json(dir.path(), b, &group, &soon, &["--to-offset", "2"]);
    assert_eq!(
        later["partitions"][0]["expires_in_ms"],
        Value::Null,
        "{later}"
    );

    // Kept one second, in segments of 100 ms: the old records go once a newer segment
    // exists (the suite's node checks retention every second).
    let gone = unique("gone");
    kafka.create_topic(&gone, 1, &[("retention.ms", "1000"), ("segment.ms", "100")]);
    let old: Vec<Rec> = (0..5)
        .map(|i| {
            Rec::new(&gone, 0, "k", &json!({"type": "A", "n": i}).to_string()).at(now - 60_000)
        })
        .collect();
    produce(b, &old);
    commit(b, &group, &gone, &[(0, 5)]);
    std::thread::sleep(Duration::from_millis(300));
    produce(b, &[Rec::new(&gone, 0, "k", r#"{"type":"A","n":5}"#)]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut low;
    loop {
        let topics: Value =
            serde_json::from_str(&stdout(&rewind(&["-b", b, "-o", "json", "topics"]))).unwrap();
        // Kafka rolls and deletes an expired active segment too, so the newer record
        // may go as well.
        low = topic_entry(&topics, &gone)["low"].as_i64().unwrap();
        if low >= 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention never deleted the old records: {topics}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let p = reset_json(dir.path(), b, &group, &gone, &["--to-offset", "2"]);
    // Retention may take the newest record too between the look and the plan: the plan's
    // own log start is what it clamps to.
    let start = p["partitions"][0]["low"].as_i64().unwrap();
    assert!(start >= low, "{p}");
    assert_eq!(p["partitions"][0]["target"], start, "{p}");
    assert!(
        p["warnings"]
            .to_string()
            .contains("partition 0: offset 2 is gone (deleted by retention"),
        "{p}"
    );
}
