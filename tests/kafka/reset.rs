//! Every reset scope planned by rewind equals kafka-consumer-groups.sh's
//! `--reset-offsets --dry-run --export` for the same group on Apache Kafka.

use crate::common::*;
use serde_json::Value;

const GROUP_CMD: &str = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";

/// A topic of 4 partitions, the last one empty, and a group of commits only.
/// Partition p's offset i has the timestamp base + i min + p * 20 s (p < 3, i < 40).
struct Oracle {
    kafka: &'static Kafka,
    topic: String,
    group: String,
    dir: tempfile::TempDir,
    base: i64,
}

impl Oracle {
    fn new() -> Oracle {
        let kafka = Kafka::shared();
        let topic = unique("ledger");
        let group = unique("projector");
        kafka.create_topic(&topic, 4, &[]);
        let base = chrono::Utc::now().timestamp_millis() - 2 * 3_600_000;
        let mut records = Vec::new();
        for p in 0..3 {
            for i in 0..40i64 {
                let value = serde_json::json!({"type": "Posted", "id": format!("evt-{p}-{i}"), "amount": i});
                records.push(
                    Rec::new(
                        &topic,
                        p,
                        &format!("acct-{p}-{}", i % 3),
                        &value.to_string(),
                    )
                    .at(base + i * 60_000 + p as i64 * 20_000),
                );
            }
        }
        produce(&kafka.bootstrap, &records);
        commit(
            &kafka.bootstrap,
            &group,
            &topic,
            &[(0, 30), (1, 35), (2, 40), (3, 0)],
        );
        Oracle {
            kafka,
            topic,
            group,
            dir: sandbox(),
            base,
        }
    }

    /// rewind's plan: (partition, target), sorted.
    fn rewind(&self, scope: &[&str]) -> Vec<(i32, i64)> {
        let plan = self.plan(scope);
        assert_eq!(plan["executed"], false, "{plan}");
        rows(&plan)
    }

    fn plan(&self, scope: &[&str]) -> Value {
        let mut args = vec![
            "-b",
            &self.kafka.bootstrap,
            "-o",
            "json",
            "reset",
            "--group",
            &self.group,
            "--topic",
            &self.topic,
        ];
        args.extend_from_slice(scope);
        let out = rewind_in(self.dir.path(), &args);
        serde_json::from_str(&stdout(&out)).unwrap()
    }

    /// kafka-consumer-groups.sh's plan for the same scope: (partition, target), sorted.
    fn kafka(&self, scope: &[&str]) -> Vec<(i32, i64)> {
        let mut args = vec![
            "--group",
            &self.group,
            "--reset-offsets",
            "--dry-run",
            "--export",
        ];
        if !scope.contains(&"--from-file") {
            args.extend(["--topic", &self.topic]);
        }
        args.extend_from_slice(scope);
        let out = self.kafka.tool(GROUP_CMD, &args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kafka-consumer-groups {scope:?} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut rows: Vec<(i32, i64)> = text
            .lines()
            // It also says on stdout where it fell back ("Warn: Partition 3 … is empty").
            .filter(|l| l.starts_with(&format!("{},", self.topic)))
            .map(|l| {
                let cols: Vec<&str> = l.split(',').collect();
                assert_eq!(cols.len(), 3, "not topic,partition,offset: {l}");
                (cols[1].parse().unwrap(), cols[2].trim().parse().unwrap())
            })
            .collect();
        rows.sort();
        rows
    }

    /// Both plans for the scope, which must be equal; returns them.
    fn same(&self, scope: &[&str]) -> Vec<(i32, i64)> {
        let ours = self.rewind(scope);
        let theirs = self.kafka(scope);
        assert_eq!(
            ours, theirs,
            "{scope:?}: rewind (left) and kafka-consumer-groups (right)"
        );
        ours
    }

    fn time(&self, ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    }

    fn committed(&self) -> Vec<i64> {
        committed_by_client(&self.kafka.bootstrap, &self.group, &self.topic, 4)
    }
}

fn rows(plan: &Value) -> Vec<(i32, i64)> {
    let mut rows: Vec<(i32, i64)> = plan["partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("no partitions: {plan}"))
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().unwrap() as i32,
                p["target"].as_i64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn earliest_latest_and_offsets_in_range_above_and_below_match_kafka_consumer_groups() {
    let o = Oracle::new();
    assert_eq!(o.same(&["--to-earliest"]), [(0, 0), (1, 0), (2, 0), (3, 0)]);
    assert_eq!(
        o.same(&["--to-latest"]),
        [(0, 40), (1, 40), (2, 40), (3, 0)]
    );
    assert_eq!(
        o.same(&["--to-offset", "25"]),
        [(0, 25), (1, 25), (2, 25), (3, 0)]
    );
    assert_eq!(
        o.same(&["--to-offset", "99"]),
        [(0, 40), (1, 40), (2, 40), (3, 0)]
    );
    // Below the earliest once DeleteRecords moved the log start of partition 0.
    let offsets = o.dir.path().join("delete.json");
    std::fs::write(
        &offsets,
        format!(
            r#"{{"version":1,"partitions":[{{"topic":"{}","partition":0,"offset":10}}]}}"#,
            o.topic
        ),
    )
    .unwrap();
    let deleted = o.kafka.tool(
        "org.apache.kafka.tools.DeleteRecordsCommand",
        &["--offset-json-file", offsets.to_str().unwrap()],
    );
    assert!(deleted.status.success(), "{deleted:?}");
    assert_eq!(
        o.same(&["--to-offset", "3"]),
        [(0, 10), (1, 3), (2, 3), (3, 0)]
    );
    assert_eq!(
        o.same(&["--to-earliest"]),
        [(0, 10), (1, 0), (2, 0), (3, 0)]
    );
    assert_eq!(o.committed(), [30, 35, 40, 0], "dry runs moved nothing");
}

#[test]
fn shifts_both_ways_match_kafka_consumer_groups() {
    let o = Oracle::new();
    assert_eq!(
        o.same(&["--shift-by", "-32"]),
        [(0, 0), (1, 3), (2, 8), (3, 0)]
    );
    assert_eq!(
        o.same(&["--shift-by", "7"]),
        [(0, 37), (1, 40), (2, 40), (3, 0)]
    );
    assert_eq!(o.committed(), [30, 35, 40, 0]);
}

#[test]
fn times_inside_before_and_after_the_records_match_kafka_and_the_broker_is_believed() {
    let o = Oracle::new();
    // Inside: base + 15 min 10 s.
    let inside = o.time(o.base + 15 * 60_000 + 10_000);
    assert_eq!(
        o.same(&["--to-datetime", &inside]),
        [(0, 16), (1, 15), (2, 15), (3, 0)]
    );
    // On Apache Kafka the broker's look-up is right: rewind takes it, checked, and says
    // nothing is wrong with it.
    let plan = o.plan(&["--to-datetime", &inside]);
    for p in plan["partitions"].as_array().unwrap() {
        assert_eq!(p["time"]["source"], "broker", "{p}");
    }
    let warnings = plan["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .all(|w| !w.as_str().unwrap().contains("broker")),
        "{warnings:?}"
    );
    // Before the first record, and after the last.
    let before = o.time(o.base - 3_600_000);
    assert_eq!(
        o.same(&["--to-datetime", &before]),
        [(0, 0), (1, 0), (2, 0), (3, 0)]
    );
    let after = o.time(o.base + 3 * 3_600_000);
    assert_eq!(
        o.same(&["--to-datetime", &after]),
        [(0, 40), (1, 40), (2, 40), (3, 0)]
    );
    // By duration: back to half a second after partition 2's record at base + 19 min
    // 40 s. Each tool takes "now" later than this line, and whole seconds round the
    // duration down: both only move the time later, and the next record (partition 0's
    // at 20 min) is 19.5 s away, so that the two tools' own clocks cannot disagree.
    let back = (chrono::Utc::now().timestamp_millis() - (o.base + 19 * 60_000 + 40_500)) / 1000;
    let duration = format!("PT{}H{}M{}S", back / 3600, back % 3600 / 60, back % 60);
    assert_eq!(
        o.same(&["--by-duration", &duration]),
        [(0, 20), (1, 20), (2, 20), (3, 0)]
    );
    assert_eq!(o.committed(), [30, 35, 40, 0]);
}

#[test]
fn a_file_and_a_marked_event_match_kafka_consumer_groups() {
    let o = Oracle::new();
    let file = o.dir.path().join("offsets.csv");
    std::fs::write(&file, format!("{0},0,5\n{0},2,12\n", o.topic)).unwrap();
    let file = file.to_str().unwrap();
    assert_eq!(o.same(&["--from-file", file]), [(0, 5), (2, 12)]);
    // --to-event P/O has no kafka-consumer-groups scope: its partition goes to O and the
    // others where --to-datetime of the event's timestamp puts them.
    let event = o.rewind(&["--to-event", "2/10"]);
    let mut expected = o.kafka(&["--to-datetime", &o.time(o.base + 10 * 60_000 + 40_000)]);
    for row in expected.iter_mut() {
        if row.0 == 2 {
            row.1 = 10;
        }
    }
    assert_eq!(event, expected);
    assert_eq!(event, [(0, 11), (1, 11), (2, 10), (3, 0)]);
}

#[test]
fn execute_writes_through_alter_consumer_group_offsets_and_kafkas_tool_takes_the_undo_file() {
    let o = Oracle::new();
    let undo = o.dir.path().join("undo.csv");
    let plan = o.plan(&[
        "--to-offset",
        "12",
        "--execute",
        "--undo-file",
        undo.to_str().unwrap(),
    ]);
    assert_eq!(plan["executed"], true, "{plan}");
    assert_eq!(plan["written_with"], "AlterConsumerGroupOffsets", "{plan}");
    assert_eq!(plan["read_back"]["matches"], true, "{plan}");
    // Read back by a client of the test's own.
    assert_eq!(o.committed(), [12, 12, 12, 0]);
    // The undo file is what kafka-consumer-groups --from-file takes, and it restores.
    let restored = o.kafka.tool(
        GROUP_CMD,
        &[
            "--group",
            &o.group,
            "--reset-offsets",
            "--from-file",
            undo.to_str().unwrap(),
            "--execute",
        ],
    );
    assert!(restored.status.success(), "{restored:?}");
    assert_eq!(o.committed(), [30, 35, 40, 0]);
}
