//! Partition-aware aggregate lookup against records placed by the real client library:
//! rewind computes the partition a key was produced to (murmur2 like the Java clients,
//! CRC-32 like librdkafka's default) and reads only that partition.

use crate::common::*;
use kafka_rewind::model::partitioner::Partitioner;
use serde_json::{json, Value};

const PARTITIONS: i32 = 4;

/// 40 accounts with 5 events each, placed by librdkafka's `partitioner`.
fn seeded(topic: &str, partitioner: &str) -> (Mock, String) {
    let cluster = mock(&[(topic, PARTITIONS)]);
    let b = cluster.bootstrap_servers();
    let records: Vec<Rec> = (0..200)
        .map(|i| {
            let mut r = Rec::new(
                topic,
                0,
                &format!("acct-{}", i % 40),
                &json!({"type": "Posted", "n": i}).to_string(),
            );
            r.partition = None; // the producer's partitioner decides
            r
        })
        .collect();
    produce_with(&b, &records, &[("partitioner", partitioner)]);
    (cluster, b)
}

fn placement(b: &str, topic: &str) -> Vec<(String, i32)> {
    json_lines(&rewind(&["-b", b, "events", topic]))
        .iter()
        .map(|l| {
            (
                l["key"].as_str().unwrap().to_owned(),
                l["partition"].as_i64().unwrap() as i32,
            )
        })
        .collect()
}

#[test]
fn computed_partitions_match_where_librdkafka_put_the_keys() {
    for (producer, ours) in [
        ("murmur2_random", Partitioner::Murmur2),
        ("consistent_random", Partitioner::Crc32),
    ] {
        let (_cluster, b) = seeded("t", producer);
        let placed = placement(&b, "t");
        assert_eq!(placed.len(), 200);
        let used: std::collections::BTreeSet<i32> = placed.iter().map(|(_, p)| *p).collect();
        assert!(
            used.len() > 1,
            "{producer}: every key in one partition proves nothing"
        );
        for (key, partition) in placed {
            assert_eq!(
                ours.partition(key.as_bytes(), PARTITIONS as usize),
                Some(partition),
                "{producer}: {key}"
            );
        }
    }
}

fn state(b: &str, dir: &std::path::Path, aggregate: &str) -> Value {
    serde_json::from_str(&stdout(&rewind_in(
        dir,
        &["-b", b, "state", "t", "--aggregate", aggregate],
    )))
    .unwrap()
}

#[test]
fn a_lookup_by_key_reads_one_partition() {
    let (_cluster, b) = seeded("t", "murmur2_random");
    let placed = placement(&b, "t");
    // An account that CRC-32 would place elsewhere, for the fallback below.
    let n = (0..40)
        .find(|n| {
            let key = format!("acct-{n}");
            Partitioner::Murmur2.partition(key.as_bytes(), 4)
                != Partitioner::Crc32.partition(key.as_bytes(), 4)
        })
        .unwrap();
    let key = format!("acct-{n}");
    let home = Partitioner::Murmur2
        .partition(key.as_bytes(), PARTITIONS as usize)
        .unwrap();
    let in_home = placed.iter().filter(|(_, p)| *p == home).count() as u64;
    let dir = sandbox();

    // Default partitioner (murmur2): one partition read.
    let found = state(&b, dir.path(), &key);
    assert_eq!(found["read"]["partitions"], json!([home]));
    assert_eq!(found["read"]["records"], in_home);
    assert!(in_home < 200);
    assert!(found["read"]["bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        found["state"]["n"],
        160 + n,
        "the last of its events: i = 160 + n"
    );
    let lines = json_lines(&rewind_in(
        dir.path(),
        &["-b", &b, "events", "t", "--aggregate", &key],
    ));
    assert_eq!(lines.len(), 5);

    // `scan` reads everything, and finds the same state.
    std::fs::write(
        dir.path().join("rewind.toml"),
        "[[topics]]\nname = \"t\"\npartitioner = \"scan\"\n",
    )
    .unwrap();
    let scanned = state(&b, dir.path(), &key);
    assert_eq!(scanned["read"]["partitions"], json!([0, 1, 2, 3]));
    assert_eq!(scanned["read"]["records"], 200);
    assert_eq!(scanned["state"], found["state"]);

    // Keys placed by another partitioner than configured: found anyway, by reading
    // the rest of the topic.
    std::fs::write(
        dir.path().join("rewind.toml"),
        "[[topics]]\nname = \"t\"\npartitioner = \"crc32\"\n",
    )
    .unwrap();
    let fallback = state(&b, dir.path(), &key);
    assert_eq!(fallback["state"], found["state"]);
    assert_eq!(fallback["read"]["records"], 200);
    let lines = json_lines(&rewind_in(
        dir.path(),
        &["-b", &b, "events", "t", "--aggregate", &key],
    ));
    assert_eq!(lines.len(), 5);

    std::fs::write(
        dir.path().join("rewind.toml"),
        "[[topics]]\nname = \"t\"\npartitioner = \"round_robin\"\n",
    )
    .unwrap();
    let bad = rewind_in(dir.path(), &["-b", &b, "state", "t", "--aggregate", &key]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown partitioner `round_robin`"));
}

#[test]
fn aggregates_count_only_the_window_asked_for() {
    let cluster = mock(&[("w", 3)]);
    let b = cluster.bootstrap_servers();
    let base = 1_795_000_000_000i64;
    let records: Vec<Rec> = (0..30)
        .map(|i| {
            Rec::new(
                "w",
                i % 3,
                &format!("a{}", i % 2),
                &json!({"type": format!("T{i}")}).to_string(),
            )
            .at(base + i as i64 * 60_000)
        })
        .collect();
    produce(&b, &records);
    let at = |minutes: i64| {
        chrono::DateTime::from_timestamp_millis(base + minutes * 60_000)
            .unwrap()
            .to_rfc3339()
    };
    let all: Value = serde_json::from_str(&stdout(&rewind(&[
        "-b",
        &b,
        "-o",
        "json",
        "aggregates",
        "w",
    ])))
    .unwrap();
    assert_eq!(
        (all[0]["count"].clone(), all[1]["count"].clone()),
        (json!(15), json!(15))
    );
    assert_eq!(all[0]["last_type"], "T28");
    let window: Value = serde_json::from_str(&stdout(&rewind(&[
        "-b",
        &b,
        "-o",
        "json",
        "aggregates",
        "w",
        "--since",
        &at(10),
        "--until",
        &at(19),
    ])))
    .unwrap();
    // Minutes 10..=19: five events of each aggregate; a0's last is T18.
    assert_eq!(
        (window[0]["count"].clone(), window[1]["count"].clone()),
        (json!(5), json!(5))
    );
    assert_eq!(window[0]["last_type"], "T18");
    assert_eq!(window[0]["first"]["timestamp"], base + 10 * 60_000);
    // --from P/O: partition 1 from offset 5 (i = 16, 19, 22, 25, 28).
    let from: Value = serde_json::from_str(&stdout(&rewind(&[
        "-b",
        &b,
        "-o",
        "json",
        "aggregates",
        "w",
        "--from",
        "1/5",
    ])))
    .unwrap();
    let counts: Vec<(String, i64)> = from
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["aggregate"].as_str().unwrap().to_owned(),
                a["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts.iter().map(|c| c.1).sum::<i64>(), 5, "{counts:?}");
    let from_time: Value = serde_json::from_str(&stdout(&rewind(&[
        "-b",
        &b,
        "-o",
        "json",
        "aggregates",
        "w",
        "--from",
        &at(20),
    ])))
    .unwrap();
    assert_eq!(
        from_time
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["count"].as_i64().unwrap())
            .sum::<i64>(),
        10
    );
}
