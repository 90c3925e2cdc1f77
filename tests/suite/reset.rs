//! `rewind groups` and `rewind reset` against librdkafka's mock cluster: every scope,
//! clamping, dry runs, refusals, execution with an undo file, and time look-ups that
//! stay right although the mock answers every one of them with the log end.

use crate::common::*;
use serde_json::Value;

const TOPIC: &str = "ledger";
const GROUP: &str = "ledger-projector";

struct Fixture {
    _cluster: Mock,
    bootstrap: String,
    dir: tempfile::TempDir,
    /// Timestamp of offset 0 in partition 0; partition p, offset i is at
    /// base + i minutes + p * 20 s.
    base: i64,
}

impl Fixture {
    fn new() -> Fixture {
        let cluster = mock(&[(TOPIC, 3)]);
        let bootstrap = cluster.bootstrap_servers();
        let base = chrono::Utc::now().timestamp_millis() - 2 * 3_600_000;
        let mut records = Vec::new();
        for p in 0..3 {
            for i in 0..40i64 {
                let account = format!("acct-{p}-{}", i % 3);
                // 1/13 repeats 1/10's event id: the same event delivered twice.
                let id = if (p, i) == (1, 13) {
                    "evt-1-10".to_owned()
                } else {
                    format!("evt-{p}-{i}")
                };
                let value =
                    serde_json::json!({"type": "Posted", "id": id, "amount": i}).to_string();
                records.push(
                    Rec::new(TOPIC, p, &account, &value).at(base + i * 60_000 + p as i64 * 20_000),
                );
            }
        }
        produce(&bootstrap, &records);
        commit(&bootstrap, GROUP, TOPIC, &[(0, 30), (1, 35), (2, 40)]);
        let dir = sandbox();
        std::fs::write(
            dir.path().join("rewind.toml"),
            format!("[profiles.default]\ngroups = [\"{GROUP}\"]\n\n[[topics]]\nname = \"{TOPIC}\"\nevent_id = \".id\"\n"),
        )
        .unwrap();
        Fixture {
            _cluster: cluster,
            bootstrap,
            dir,
            base,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["-b", &self.bootstrap];
        all.extend_from_slice(args);
        rewind_in(self.dir.path(), &all)
    }

    fn plan(&self, scope: &[&str]) -> Value {
        let mut args = vec!["-o", "json", "reset", "--group", GROUP, "--topic", TOPIC];
        args.extend_from_slice(scope);
        serde_json::from_str(&stdout(&self.run(&args))).unwrap()
    }

    fn targets(&self, scope: &[&str]) -> Vec<i64> {
        let plan = self.plan(scope);
        assert_eq!(plan["executed"], false);
        column(&plan, "target")
    }

    fn committed(&self) -> Vec<Option<i64>> {
        let out = self.run(&["-o", "json", "groups", "--group", GROUP]);
        let groups: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let group = &groups[0];
        assert_eq!(group["group"], GROUP);
        (0..3)
            .map(|p| {
                group["partitions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|q| q["topic"] == TOPIC && q["partition"] == p)
                    .and_then(|q| q["committed"].as_i64())
            })
            .collect()
    }
}

fn column(plan: &Value, name: &str) -> Vec<i64> {
    plan["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[name].as_i64().unwrap_or(-1))
        .collect()
}

fn time_sources(plan: &Value) -> Vec<String> {
    plan["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["time"]["source"].as_str().unwrap_or("-").to_owned())
        .collect()
}

#[test]
fn every_scope_plans_like_kafka_consumer_groups_and_a_dry_run_changes_nothing() {
    let f = Fixture::new();
    assert_eq!(f.committed(), [Some(30), Some(35), Some(40)]);
    assert_eq!(f.targets(&["--to-earliest"]), [0, 0, 0]);
    assert_eq!(f.targets(&["--to-latest"]), [40, 40, 40]);
    assert_eq!(f.targets(&["--to-offset", "38"]), [38, 38, 38]);
    // Clamped to the log's bounds, as kafka-consumer-groups does.
    let beyond = f.plan(&["--to-offset", "99"]);
    assert_eq!(column(&beyond, "target"), [40, 40, 40]);
    assert_eq!(column(&beyond, "requested"), [99, 99, 99]);
    assert!(beyond["warnings"][0]
        .as_str()
        .unwrap()
        .contains("clamped to 40"));
    assert_eq!(f.targets(&["--to-offset", "-5"]), [0, 0, 0]);
    // --shift-by moves from each committed offset, then clamps.
    let back = f.plan(&["--shift-by", "-32"]);
    assert_eq!(column(&back, "target"), [0, 3, 8]);
    assert_eq!(column(&back, "delta"), [-30, -32, -32]);
    assert_eq!(f.targets(&["--shift-by", "7"]), [37, 40, 40]);
    // Partition p's offset i is at base + i min + p * 20 s.
    let at = chrono::DateTime::from_timestamp_millis(f.base + 15 * 60_000 + 10_000).unwrap();
    let datetime = f.plan(&["--to-datetime", &at.to_rfc3339()]);
    assert_eq!(column(&datetime, "target"), [16, 15, 15]);
    // now - 1h40m15s = base + 19m45s.
    assert_eq!(f.targets(&["--by-duration", "PT1H40M15S"]), [20, 20, 20]);
    std::fs::write(f.dir.path().join("some.csv"), "ledger,1,5\n").unwrap();
    let file = f.plan(&["--from-file", "some.csv"]);
    assert_eq!(column(&file, "partition"), [1]);
    assert_eq!(column(&file, "target"), [5]);
    // The first event at each target is shown.
    let first = &datetime["partitions"][0]["first_event"];
    assert_eq!(
        (first["partition"].as_i64(), first["offset"].as_i64()),
        (Some(0), Some(16))
    );
    assert_eq!(first["aggregate"], "acct-0-1");
    // After all those plans, nothing moved.
    assert_eq!(f.committed(), [Some(30), Some(35), Some(40)]);
}

#[test]
fn to_event_lands_every_partition_on_the_first_event_at_or_after_the_mark_although_the_broker_answers_wrongly(
) {
    let f = Fixture::new();
    // 1/10 is at base + 10 min + 20 s.
    let plan = f.plan(&["--to-event", "1/10"]);
    assert_eq!(column(&plan, "target"), [11, 10, 10]);
    // The mock answers every time look-up with the log end; the records contradict it,
    // so the plan says it searched them instead.
    assert_eq!(time_sources(&plan), ["search", "-", "search"]);
    assert_eq!(plan["partitions"][0]["time"]["broker_answer"], 40);
    assert!(plan["warnings"]
        .to_string()
        .contains("the broker's time look-up answered offset 40"));
    // The marked aggregate's already-consumed events come again, and the id that
    // occurs twice is named.
    let aggregate = &plan["aggregate"];
    assert_eq!(aggregate["aggregate"], "acct-1-1");
    let again: Vec<i64> = aggregate["redelivered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(again, [10, 13, 16, 19, 22, 25, 28, 31, 34]);
    assert_eq!(aggregate["repeated_ids"][0]["event_id"], "evt-1-10");
    // kafka-consumer-groups cannot say this with one flag: the command takes the plan as a file.
    assert!(plan["command"]
        .as_str()
        .unwrap()
        .contains("--from-file rewind-plan.csv"));
    let csv = stdout(&f.run(&[
        "-o",
        "csv",
        "reset",
        "--group",
        GROUP,
        "--topic",
        TOPIC,
        "--to-event",
        "1/10",
    ]));
    assert_eq!(csv, "ledger,0,11\nledger,1,10\nledger,2,10\n");
    let missing = f.run(&[
        "reset",
        "--group",
        GROUP,
        "--topic",
        TOPIC,
        "--to-event",
        "1/99",
    ]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no event at 1/99"));
}

#[test]
fn execute_is_refused_for_unknown_state_and_read_only_and_the_undo_file_restores() {
    let f = Fixture::new();
    let scope = [
        "reset",
        "--group",
        GROUP,
        "--topic",
        TOPIC,
        "--to-earliest",
        "--execute",
    ];
    // The mock cannot describe groups: unknown state is refused without the allowance.
    let refused = f.run(&scope);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("state of group ledger-projector is unknown")
            && err.contains("--allow-unknown-state"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let shown = String::from_utf8_lossy(&refused.stdout);
    assert!(
        shown.contains("Rewind group ledger-projector on ledger: --to-earliest"),
        "the refused plan is shown: {shown}"
    );
    let read_only = f.run(&[&["--read-only"][..], &scope, &["--allow-unknown-state"]].concat());
    assert!(String::from_utf8_lossy(&read_only.stderr).contains("read-only"));
    assert_eq!(f.committed(), [Some(30), Some(35), Some(40)]);

    let undo = f.dir.path().join("undo.csv");
    let undo_arg = undo.to_str().unwrap();
    let out = f.run(
        &[
            &["-o", "json"][..],
            &scope,
            &["--allow-unknown-state", "--undo-file", undo_arg],
        ]
        .concat(),
    );
    let executed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(executed["executed"], true);
    assert_eq!(executed["undo_file"], undo_arg);
    assert_eq!(executed["read_back"]["matches"], true);
    assert_eq!(f.committed(), [Some(0), Some(0), Some(0)]);
    assert_eq!(
        std::fs::read_to_string(&undo).unwrap(),
        "ledger,0,30\nledger,1,35\nledger,2,40\n"
    );

    let restore = f.run(&[
        "reset",
        "--group",
        GROUP,
        "--topic",
        TOPIC,
        "--from-file",
        undo_arg,
        "--execute",
        "--allow-unknown-state",
    ]);
    stdout(&restore);
    assert!(String::from_utf8_lossy(&restore.stderr).contains("undo: rewind reset"));
    assert_eq!(f.committed(), [Some(30), Some(35), Some(40)]);

    // Without --undo-file, the undo file goes to the state directory.
    let out = f.run(&[&["-o", "json"][..], &scope, &["--allow-unknown-state"]].concat());
    let executed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let path = executed["undo_file"].as_str().unwrap();
    assert!(
        path.starts_with(f.dir.path().join("state/rewind/undo").to_str().unwrap()),
        "{path}"
    );
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "ledger,0,30\nledger,1,35\nledger,2,40\n"
    );
}

#[test]
fn groups_lists_configured_groups_with_lag_where_the_broker_cannot_list_them() {
    let f = Fixture::new();
    let table = stdout(&f.run(&["groups"]));
    let row = table
        .lines()
        .find(|l| l.contains(" 1 "))
        .unwrap_or_default()
        .to_owned();
    assert!(table.contains("ledger-projector  unknown"), "{table}");
    assert!(
        row.split_whitespace().eq([
            "ledger-projector",
            "unknown",
            // TYPE: the mock cluster can say nothing of it.
            "unknown",
            "0",
            "ledger",
            "1",
            "35",
            "40",
            "5",
            // BEHIND: the records at offsets 35 and 39 are four minutes apart.
            "4m",
            "0s"
        ]),
        "{table}"
    );
    let bad = f.run(&["-o", "csv", "groups"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("-o csv is only for `rewind reset`"));
}
