//! The command line against real brokers: librdkafka's mock cluster in this process,
//! and `rewind demo --serve` as a separate process.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::*;
use serde_json::{json, Value};

/// A topic layout the project has never seen: uneven partitions, one empty.
fn inventory() -> (Mock, Vec<Rec>) {
    let cluster = mock(&[("inventory.v3", 4), ("audit", 1), ("empty-topic", 2)]);
    let mut records = Vec::new();
    for (partition, count) in [(0, 7), (1, 0), (2, 13), (3, 2)] {
        for i in 0..count {
            let value =
                json!({"sku": format!("S{partition}-{i}"), "kind": "StockAdjusted", "delta": i});
            records.push(
                Rec::new(
                    "inventory.v3",
                    partition,
                    &format!("S{partition}-{}", i % 3),
                    &value.to_string(),
                )
                .at(1_700_000_000_000 + i * 60_000),
            );
        }
    }
    for i in 0..5 {
        records.push(Rec::new("audit", 0, "u", &format!("login {i}")));
    }
    produce(&cluster.bootstrap_servers(), &records);
    (cluster, records)
}

#[test]
fn topics_json_has_partitions_watermarks_and_counts() {
    let (cluster, _) = inventory();
    let out = rewind(&["-b", &cluster.bootstrap_servers(), "topics", "-o", "json"]);
    let topics: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let by_name = |n: &str| topic_entry(&topics, n).clone();
    let inv = by_name("inventory.v3");
    assert_eq!(
        (
            inv["partitions"].clone(),
            inv["low"].clone(),
            inv["high"].clone(),
            inv["count"].clone()
        ),
        (json!(4), json!(0), json!(22), json!(22))
    );
    assert_eq!(
        inv["watermarks"][2],
        json!({"partition": 2, "low": 0, "high": 13})
    );
    assert_eq!(by_name("audit")["count"], 5);
    assert_eq!(inv["records"], Value::Null, "no index counts them yet");
    assert_eq!(by_name("empty-topic")["count"], 0);
    assert_eq!(by_name("empty-topic")["partitions"], 2);

    let table = stdout(&rewind(&["-b", &cluster.bootstrap_servers(), "topics"]));
    let line = table
        .lines()
        .find(|l| l.starts_with("inventory.v3"))
        .expect("row");
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        // RECORDS unknown (no index yet); CLEANUP and RETENTION unknown: the mock has
        // no DescribeConfigs.
        ["inventory.v3", "4", "0", "22", "22", "-", "-", "-"]
    );
    // Once an on-disk index covers the topic (`aggregates` makes one), its records are
    // counted.
    let dir = sandbox();
    let b = cluster.bootstrap_servers();
    assert!(
        rewind_in(dir.path(), &["-b", &b, "aggregates", "inventory.v3"])
            .status
            .success()
    );
    let indexed: Value = serde_json::from_str(&stdout(&rewind_in(
        dir.path(),
        &["-b", &b, "-o", "json", "topics"],
    )))
    .unwrap();
    assert_eq!(topic_entry(&indexed, "inventory.v3")["records"], 22);
    assert_eq!(topic_entry(&indexed, "audit")["records"], Value::Null);
    assert_eq!(
        (
            by_name("audit")["cleanup_policy"].clone(),
            by_name("audit")["retention_ms"].clone()
        ),
        (Value::Null, Value::Null)
    );
}

#[test]
fn events_limit_prints_complete_lines_in_partition_order() {
    let (cluster, _) = inventory();
    let out = rewind(&[
        "-b",
        &cluster.bootstrap_servers(),
        "events",
        "inventory.v3",
        "--limit",
        "9",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 9);
    for line in &lines {
        for field in [
            "topic",
            "partition",
            "offset",
            "timestamp",
            "key",
            "headers",
            "type",
            "aggregate",
            "value",
        ] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
    let coords: Vec<(i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l["partition"].as_i64().unwrap(),
                l["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        coords[..8],
        [
            (0, 0),
            (0, 1),
            (0, 2),
            (0, 3),
            (0, 4),
            (0, 5),
            (0, 6),
            (2, 0)
        ]
    );
    assert_eq!(lines[0]["value"]["sku"], "S0-0");
    assert_eq!(
        lines[0]["aggregate"], "S0-0",
        "the aggregate id defaults to the key"
    );
    assert_eq!(lines[0]["type"], "-", "no .type and no type header");
    assert_eq!(lines[1]["timestamp"], 1_700_000_060_000i64);

    let all = json_lines(&rewind(&[
        "-b",
        &cluster.bootstrap_servers(),
        "events",
        "inventory.v3",
    ]));
    assert_eq!(all.len(), 22);
}

#[test]
fn events_filters_by_partition_position_aggregate_and_time() {
    let (cluster, _) = inventory();
    let b = cluster.bootstrap_servers();
    let coords = |args: &[&str]| -> Vec<(i64, i64)> {
        let mut full = vec!["-b", &b, "events", "inventory.v3"];
        full.extend_from_slice(args);
        json_lines(&rewind(&full))
            .iter()
            .map(|l| {
                (
                    l["partition"].as_i64().unwrap(),
                    l["offset"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(coords(&["--partition", "3"]), [(3, 0), (3, 1)]);
    assert_eq!(coords(&["--from", "2/11"]), [(2, 11), (2, 12)]);
    assert_eq!(
        coords(&["--from", "20"]),
        [(3, 0), (3, 1)],
        "index 20 skips 20 events"
    );
    assert_eq!(
        coords(&["--aggregate", "S2-1", "--limit", "3"]),
        [(2, 1), (2, 4), (2, 7)]
    );
    // 1_700_000_000_000 + 10 min .. + 11 min: offsets 10 and 11 of partition 2.
    assert_eq!(
        coords(&[
            "--since",
            "2023-11-14T22:23:20Z",
            "--until",
            "2023-11-14T22:24:20Z"
        ]),
        [(2, 10), (2, 11)]
    );
    assert_eq!(
        coords(&["--from", "2023-11-14T22:24:20Z"]),
        [(2, 11), (2, 12)]
    );
}

#[test]
fn text_binary_tombstone_and_headers_are_never_dropped() {
    let cluster = mock(&[("mixed", 1)]);
    let mut binary = Rec::new("mixed", 0, "bin", "");
    binary.value = Some(vec![0xff, 0x00, 0xfe, 0x41]);
    let mut tombstone = Rec::new("mixed", 0, "gone", "");
    tombstone.value = None;
    let mut keyless = Rec::new("mixed", 0, "", r#"{"type":"Pinged"}"#);
    keyless.key = None;
    keyless.headers = vec![
        ("trace".into(), b"t-1".to_vec()),
        ("type".into(), b"Ignored".to_vec()),
    ];
    let mut header_type = Rec::new("mixed", 0, "h", "[1,2]");
    header_type.headers = vec![("type".into(), b"FromHeader".to_vec())];
    produce(
        &cluster.bootstrap_servers(),
        &[
            Rec::new("mixed", 0, "txt", "plain text, not JSON"),
            binary,
            tombstone,
            keyless,
            header_type,
            Rec::new("mixed", 0, "empty", ""),
        ],
    );
    let lines = json_lines(&rewind(&[
        "-b",
        &cluster.bootstrap_servers(),
        "events",
        "mixed",
    ]));
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["value"], "plain text, not JSON");
    assert_eq!(lines[1]["value"], json!({"base64": "/wD+QQ=="}));
    assert_eq!(lines[2]["value"], Value::Null);
    assert_eq!(lines[2]["key"], "gone");
    assert_eq!(lines[3]["key"], Value::Null);
    assert_eq!(lines[3]["aggregate"], "-");
    assert_eq!(lines[3]["type"], "Pinged", ".type wins over the header");
    assert_eq!(
        lines[3]["headers"],
        json!({"trace": "t-1", "type": "Ignored"})
    );
    assert_eq!(lines[4]["type"], "FromHeader");
    assert_eq!(lines[4]["value"], json!([1, 2]));
    assert_eq!(lines[5]["value"], "");
}

#[test]
fn config_rules_set_aggregate_and_type() {
    let cluster = mock(&[("orders", 2)]);
    produce(
        &cluster.bootstrap_servers(),
        &[
            Rec::new("orders", 0, "k1", r#"{"orderId":"o-9","kind":"Created"}"#),
            Rec::new("orders", 1, "k2", r#"{"orderId":"o-9","kind":"Paid"}"#),
            Rec::new("orders", 1, "k3", r#"{"orderId":"o-1","kind":"Created"}"#),
        ],
    );
    let dir = sandbox();
    std::fs::write(
        dir.path().join("rewind.toml"),
        "[[topics]]\nname = \"ord*\"\naggregate = \".orderId\"\ntype = \".kind\"\n",
    )
    .unwrap();
    let lines = json_lines(&rewind_in(
        dir.path(),
        &[
            "-b",
            &cluster.bootstrap_servers(),
            "events",
            "orders",
            "--aggregate",
            "o-9",
        ],
    ));
    let got: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["aggregate"].as_str().unwrap(),
                l["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("o-9", "Created"), ("o-9", "Paid")]);
}

fn failure(out: &std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    err
}

#[test]
fn mistakes_fail_with_one_clear_line() {
    let (cluster, _) = inventory();
    let b = cluster.bootstrap_servers();
    assert!(failure(&rewind(&["-b", &b, "events", "nope"])).contains("topic `nope` does not exist"));
    assert!(
        failure(&rewind(&["-b", &b, "events", "audit", "--partition", "3"]))
            .contains("partition 3 does not exist")
    );
    assert!(failure(&rewind(&["topics"])).contains("no brokers given"));
    let dir = sandbox();
    std::fs::write(
        dir.path().join("rewind.toml"),
        "[profiles.x]\nbrokers = 3\n",
    )
    .unwrap();
    let err = failure(&rewind_in(dir.path(), &["topics"]));
    assert!(
        err.contains("rewind.toml line 2") && err.contains("brokers"),
        "{err}"
    );
}

#[test]
fn unreachable_broker_fails_instead_of_hanging() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = failure(&rewind(&["-b", &format!("127.0.0.1:{port}"), "topics"]));
    assert!(
        err.contains(&format!("cannot reach the brokers at 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn demo_serve_serves_the_sample_domain_to_other_clients() {
    let dir = sandbox();
    let mut child = rewind_command(dir.path())
        .args(["demo", "--serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let bootstrap = first
        .trim()
        .strip_prefix("bootstrap=")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .to_owned();

    let topics: Value = serde_json::from_str(&stdout(&rewind(&[
        "-b", &bootstrap, "topics", "-o", "json",
    ])))
    .unwrap();
    let names: Vec<&str> = topics
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["orders", "orders-snapshots", "payments", "shipments"]
    );
    let total: i64 = topics
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_i64().unwrap())
        .sum();
    assert!(total >= 5000, "{total}");

    let config = asset("demo/rewind.toml");
    let lines = json_lines(&rewind(&[
        "-b",
        &bootstrap,
        "-c",
        config.to_str().unwrap(),
        "events",
        "orders",
        "--limit",
        "3",
    ]));
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["type"], "OrderCreated");
    assert_eq!(lines[0]["aggregate"], lines[0]["value"]["orderId"]);
    assert_eq!(lines[0]["value"]["schemaVersion"], 1);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn groups_say_how_far_behind_in_time() {
    let cluster = mock(&[("t", 2)]);
    let b = cluster.bootstrap_servers();
    let base = 1_795_000_000_000i64;
    // Partition 0 a record a minute; partition 1 the same, a second later.
    let records: Vec<Rec> = (0..10)
        .flat_map(|i| {
            [0, 1].map(|p| Rec::new("t", p, "k", "{}").at(base + i * 60_000 + i64::from(p) * 1_000))
        })
        .collect();
    produce(&b, &records);
    commit(&b, "g", "t", &[(0, 4), (1, 10)]);
    let out = rewind(&["-b", &b, "-o", "json", "groups", "--group", "g"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let groups: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let partitions = groups[0]["partitions"].as_array().unwrap();
    let lag_ms = |p: i64| {
        partitions
            .iter()
            .find(|q| q["topic"] == "t" && q["partition"] == p)
            .map(|q| q["lag_ms"].clone())
            .unwrap()
    };
    // The newest record (offset 9) minus the record at the commit (offset 4): 5 minutes.
    assert_eq!(lag_ms(0), serde_json::json!(300_000));
    assert_eq!(lag_ms(1), serde_json::json!(0), "caught up");
    // The table says it short.
    let out = rewind(&["-b", &b, "groups", "--group", "g"]);
    let table = stdout(&out);
    assert!(
        table.contains("BEHIND") && table.contains("5m 0s"),
        "{table}"
    );
}

#[test]
fn completions_parse_and_the_manual_renders() {
    let out = rewind(&["completions", "bash"]);
    assert!(out.status.success());
    let script = stdout(&out);
    assert!(
        script.contains("check") && script.contains("replay"),
        "every command completes"
    );
    let dir = sandbox();
    let file = dir.path().join("rewind.bash");
    std::fs::write(&file, &script).unwrap();
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = rewind(&["completions", shell]);
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let out = rewind(&["man"]);
    let page = stdout(&out);
    assert!(
        page.contains(".TH rewind 1") && page.contains("completions"),
        "{page}"
    );
}

/// Topic `t` on the mock: 10 records a second apart in each of 2 partitions, and
/// group `g` committed at `at` on both.
fn watched(at: i64) -> Mock {
    let cluster = mock(&[("t", 2)]);
    let b = cluster.bootstrap_servers();
    let records: Vec<Rec> = (0..10)
        .flat_map(|i| [0, 1].map(|p| Rec::new("t", p, "k", "{}").at(1_795_000_000_000 + i * 1_000)))
        .collect();
    produce(&b, &records);
    commit(&b, "g", "t", &[(0, at), (1, at)]);
    cluster
}

/// Runs `rewind ARGS` and hands back the child and a reader of its stdout's lines that
/// waits for the first line containing a text.
fn watching(args: &[&str]) -> (std::process::Child, impl FnMut(&str) -> String) {
    let dir = sandbox();
    let mut child = rewind_command(dir.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let until = move |what: &str| {
        let _dir = &dir;
        loop {
            let line = lines.next().expect("a line").expect("text");
            if line.contains(what) {
                break line;
            }
        }
    };
    (child, until)
}

#[test]
fn a_watch_ticks_while_the_group_consumes_and_ends_when_it_has_caught_up() {
    let cluster = watched(0);
    let b = cluster.bootstrap_servers();
    let (mut child, mut until) = watching(&[
        "-b",
        &b,
        "groups",
        "--group",
        "g",
        "--watch",
        "--tick-ms",
        "200",
    ]);
    let first = until("g ");
    assert!(
        first.contains("lag 20 event(s)") && first.contains("9s behind"),
        "{first}"
    );
    // The consumer (this test) commits half, then the rest.
    commit(&b, "g", "t", &[(0, 5), (1, 5)]);
    let moving = until("lag 10 event(s)");
    assert!(moving.contains("caught up in"), "{moving}");
    commit(&b, "g", "t", &[(0, 10), (1, 10)]);
    let last = until("lag 0");
    assert!(last.ends_with("caught up"), "{last}");
    assert!(
        child.wait().unwrap().success(),
        "the watch ends when caught up"
    );

    // A group with nothing committed: said, and a failure.
    let out = rewind(&["-b", &b, "groups", "--group", "nobody", "--watch"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("nobody"),
        "{stderr}"
    );
}

#[test]
fn reset_execute_watch_follows_the_replay_it_started() {
    let cluster = watched(10);
    let b = cluster.bootstrap_servers();
    let (mut child, mut until) = watching(&[
        "-b",
        &b,
        "reset",
        "--group",
        "g",
        "--topic",
        "t",
        "--to-offset",
        "4",
        "--execute",
        "--allow-unknown-state",
        "--watch",
        "--tick-ms",
        "200",
    ]);
    let first = until("re-processed");
    assert!(
        first.contains("re-processed 0 of 12, lag 12 event(s)"),
        "{first}"
    );
    commit(&b, "g", "t", &[(0, 7), (1, 7)]);
    let half = until("re-processed 6 of 12");
    assert!(half.contains("caught up in"), "{half}");
    commit(&b, "g", "t", &[(0, 10), (1, 10)]);
    let last = until("re-processed 12 of 12");
    assert!(last.ends_with("caught up"), "{last}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_demos_stand_in_service_replays_a_rewound_group_until_it_has_caught_up() {
    // The demo broker and its stand-in services, in this process.
    let demo = kafka_rewind::demo::DemoCluster::start(1_795_687_200_000).unwrap();
    let _services = demo.start_services();
    let b = demo.bootstrap();
    let dir = sandbox();
    let mut child = rewind_command(dir.path())
        .args([
            "-b",
            &b,
            "reset",
            "--group",
            "order-projector",
            "--topic",
            "orders",
            "--shift-by",
            "-20",
            "--execute",
            "--allow-unknown-state",
            "--watch",
            "--tick-ms",
            "500",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read in a thread, so that a watch that never ends fails the test instead of
    // hanging it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut text);
        let _ = tx.send(text);
    });
    let Ok(text) = rx.recv_timeout(std::time::Duration::from_secs(90)) else {
        let _ = child.kill();
        panic!("the group did not catch up within 90 s");
    };
    assert!(child.wait().unwrap().success());
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("re-processed"))
        .collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains("re-processed 0 of 60")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("events/s") && !l.contains("re-processed 0 ")),
        "progress is seen: {text}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("re-processed 60 of 60") && l.ends_with("caught up")),
        "{text}"
    );
}

#[test]
fn the_demos_read_model_drifts_where_planted_and_a_rewind_leaves_what_its_outcome_said() {
    let demo = kafka_rewind::demo::DemoCluster::start(1_795_687_200_000).unwrap();
    let b = demo.bootstrap();
    let dir = sandbox();
    let mut config = kafka_rewind::demo::demo_config().unwrap();
    let file = dir.path().join("orders.db");
    let read_model =
        kafka_rewind::demo::write_read_model(&demo.connection(), &config, &file).unwrap();
    config.databases.get_mut("demo").unwrap().url = format!("sqlite:{}", file.display());
    let projector = kafka_rewind::demo::services::Projector {
        group: "order-projector".into(),
        db: rusqlite::Connection::open(&file).unwrap(),
        reducers: kafka_rewind::model::reducer::Reducers::compile_logic(
            &config.logic_for("orders"),
        )
        .unwrap(),
        rules: config.rules_for("orders"),
    };
    let _services = demo.start_services_with(Some(projector));
    let toml = kafka_rewind::demo::DEMO_CONFIG.replace(
        "${REWIND_DEMO_DB:-orders-read-model.db}",
        &file.display().to_string(),
    );
    std::fs::write(dir.path().join("rewind.toml"), toml).unwrap();
    std::fs::write(
        dir.path().join("shipments.proto"),
        kafka_rewind::demo::DEMO_PROTO,
    )
    .unwrap();
    let drifted = || -> Vec<String> {
        let out = rewind_in(dir.path(), &["-b", &b, "-o", "json", "drift", "orders"]);
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["aggregate"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut planted = vec![
        read_model.lost_update.clone(),
        read_model.missed_cancel.clone(),
    ];
    planted.sort();
    assert_eq!(drifted(), planted);
    // The outcome of a rewind of the projector, then the rewind and its replay.
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "-b",
            &b,
            "-o",
            "json",
            "reset",
            "--group",
            "order-projector",
            "--topic",
            "orders",
            "--to-event",
            "1/588",
            "--allow-unknown-state",
        ];
        args.extend_from_slice(extra);
        let out = rewind_in(dir.path(), &args);
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let outcome = plan(&[])["outcome"].clone();
    let wrong: Vec<String> = outcome["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["aggregate"].as_str().unwrap().to_owned())
        .collect();
    assert!(!wrong.is_empty(), "{outcome:#}");
    let executed = plan(&["--execute"]);
    assert_eq!(executed["executed"], true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let group = group_json(&b, "order-projector");
        let lag: i64 = group["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["lag"].as_i64().unwrap_or(0))
            .sum();
        if lag == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the projector did not catch up: {group:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // What the replay left: the orders the outcome named, each as `after` said, and
    // the planted drift its events did not touch again.
    let out = rewind_in(dir.path(), &["-b", &b, "-o", "json", "drift", "orders"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for r in outcome["results"].as_array().unwrap() {
        let id = r["aggregate"].as_str().unwrap();
        let row = json["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["aggregate"] == id);
        let row = row.unwrap_or_else(|| panic!("{id} is not drifted: {json:#}"));
        let mut read = row["read_model"].clone();
        read.as_object_mut().unwrap().remove("updated_at");
        assert_eq!(read, r["after"], "{id}");
        assert_eq!(row["folded"], r["correct"], "{id}");
    }
    let now = drifted();
    for id in &now {
        assert!(
            wrong.contains(id) || planted.contains(id),
            "{id} drifted unexpectedly: {now:?}"
        );
    }
}
