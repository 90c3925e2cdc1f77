//! `rewind produce TOPIC --from-file FILE` on librdkafka's mock cluster: rewind's own
//! dumps and kcat's `-J` output read back, the dry run, read-only, malformed lines and a
//! produce that fails mid-way.

use crate::common::{json_lines, mock, produce, rewind_in, sandbox, stdout, Rec};
use serde_json::Value;

/// Records with every kind of payload: JSON, text, bytes, a tombstone, no key, and
/// repeated headers.
fn records(topic: &str) -> Vec<Rec> {
    let mut recs = vec![];
    for i in 0..12 {
        let mut r = Rec::new(
            topic,
            i % 3,
            &format!("order-{}", i % 4),
            &format!(
                r#"{{"type":"OrderCreated","orderId":"order-{}","n":{i}}}"#,
                i % 4
            ),
        )
        .at(1_795_687_200_000 + i64::from(i) * 1000);
        r.headers = vec![("trace".into(), format!("t-{i}").into_bytes())];
        recs.push(r);
    }
    let mut text = Rec::new(topic, 0, "order-1", "plain text, not JSON");
    text.headers = vec![("h".into(), b"1".to_vec()), ("h".into(), b"2".to_vec())];
    recs.push(text);
    let mut bytes = Rec::new(topic, 1, "order-2", "");
    bytes.value = Some(vec![0xff, 0x00, 0x01, 0x80]);
    recs.push(bytes);
    let mut tomb = Rec::new(topic, 2, "order-3", "");
    tomb.value = None;
    recs.push(tomb);
    let mut keyless = Rec::new(topic, 1, "", r#"{"type":"Ping"}"#);
    keyless.key = None;
    recs.push(keyless);
    recs
}

/// An event line without where it is (topic, offset) and without the replay header: what
/// must survive the trip.
fn content(line: &Value) -> Value {
    let mut line = line.clone();
    let map = line.as_object_mut().unwrap();
    for gone in ["topic", "offset", "timestamp"] {
        map.remove(gone);
    }
    map["headers"]
        .as_object_mut()
        .unwrap()
        .remove("rewind-replayed-from");
    line
}

#[test]
fn an_export_is_produced_back_equal_with_the_replay_header_after_a_dry_run() {
    let cluster = mock(&[("src", 3), ("dst", 3)]);
    let b = cluster.bootstrap_servers();
    produce(&b, &records("src"));
    let dir = sandbox();
    let exported = stdout(&rewind_in(dir.path(), &["-b", &b, "events", "src"]));
    std::fs::write(dir.path().join("dump.jsonl"), &exported).unwrap();
    let source: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(source.len(), 16);

    // The dry run counts per partition and writes nothing.
    let dry = stdout(&rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "produce",
            "dst",
            "--from-file",
            "dump.jsonl",
            "--keep-partitions",
        ],
    ));
    assert!(
        dry.starts_with(
            "Dry run: 16 events from dump.jsonl to dst (3 partitions), each to its own partition"
        ),
        "{dry}"
    );
    assert!(dry.contains("Nothing was produced"), "{dry}");
    assert!(dry.contains("first  src/0/0"), "{dry}");
    let per: Vec<usize> = (0..3)
        .map(|p| source.iter().filter(|l| l["partition"] == p).count())
        .collect();
    for (p, n) in per.iter().enumerate() {
        assert!(
            dry.contains(&format!("\n{p:<9}  {n:<6}")),
            "partition {p}: {n}\n{dry}"
        );
    }
    let none = stdout(&rewind_in(dir.path(), &["-b", &b, "events", "dst"]));
    assert_eq!(none, "", "a dry run produces nothing");

    // Executed: every record, in order, with the header naming its source.
    let done: Value = serde_json::from_str(&stdout(&rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "-o",
            "json",
            "produce",
            "dst",
            "--from-file",
            "dump.jsonl",
            "--keep-partitions",
            "--execute",
        ],
    )))
    .unwrap();
    assert_eq!(done["executed"], true);
    assert_eq!(done["written"], 16);
    assert_eq!(done["partitions"][0]["events"], per[0]);
    let copied = json_lines(&rewind_in(dir.path(), &["-b", &b, "events", "dst"]));
    assert_eq!(copied.len(), 16);
    for (from, to) in source.iter().zip(&copied) {
        assert_eq!(content(to), content(from));
        assert_eq!(to["offset"], from["offset"], "same partitions, same order");
        let header = format!("src/{}/{}", from["partition"], from["offset"]);
        assert_eq!(to["headers"]["rewind-replayed-from"], header.as_str());
    }
}

#[test]
fn a_kcat_dump_made_by_kcat_is_produced_back_placed_by_key() {
    let cluster = mock(&[("src", 3), ("dst", 4)]);
    let b = cluster.bootstrap_servers();
    produce(&b, &records("src")[..13]); // JSON and text payloads: what kcat -J keeps
    let dir = sandbox();
    let kcat = std::process::Command::new("kcat")
        .args([
            "-C",
            "-b",
            &b,
            "-t",
            "src",
            "-e",
            "-o",
            "beginning",
            "-q",
            "-J",
        ])
        .output()
        .expect("kcat is installed (scripts/test installs it)");
    assert!(
        kcat.status.success(),
        "{}",
        String::from_utf8_lossy(&kcat.stderr)
    );
    std::fs::write(dir.path().join("kcat.jsonl"), &kcat.stdout).unwrap();
    assert_eq!(String::from_utf8_lossy(&kcat.stdout).lines().count(), 13);
    let out = stdout(&rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "produce",
            "dst",
            "--from-file",
            "kcat.jsonl",
            "--execute",
        ],
    ));
    assert!(
        out.starts_with(
            "Produced 13 events from kcat.jsonl to dst (4 partitions), placed by key (murmur2)"
        ),
        "{out}"
    );
    let source = json_lines(&rewind_in(dir.path(), &["-b", &b, "events", "src"]));
    let copied = json_lines(&rewind_in(dir.path(), &["-b", &b, "events", "dst"]));
    assert_eq!(copied.len(), 13);
    for to in &copied {
        let header = to["headers"]["rewind-replayed-from"].as_str().unwrap();
        let from = source
            .iter()
            .find(|f| format!("src/{}/{}", f["partition"], f["offset"]) == header)
            .unwrap_or_else(|| panic!("{header} is not a source record"));
        assert_eq!(
            (
                &to["key"],
                &to["value"],
                &to["headers"]["trace"],
                &to["headers"]["h"]
            ),
            (
                &from["key"],
                &from["value"],
                &from["headers"]["trace"],
                &from["headers"]["h"]
            )
        );
        // Placed where a Java producer would put the key.
        let key = to["key"].as_str().unwrap();
        let want = kafka_rewind::model::partitioner::Partitioner::Murmur2
            .partition(key.as_bytes(), 4)
            .unwrap();
        assert_eq!(to["partition"], want);
    }
}

#[test]
fn read_only_malformed_lines_and_a_failure_midway_leave_what_they_say() {
    let cluster = mock(&[("src", 3), ("dst", 1)]);
    let b = cluster.bootstrap_servers();
    produce(&b, &records("src")[..4]);
    let dir = sandbox();
    let exported = stdout(&rewind_in(dir.path(), &["-b", &b, "events", "src"]));
    std::fs::write(dir.path().join("dump.jsonl"), &exported).unwrap();
    let count = |dir: &std::path::Path| {
        stdout(&rewind_in(dir, &["-b", &b, "events", "dst"]))
            .lines()
            .count()
    };

    // Read-only: refused, nothing written.
    let out = rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "--read-only",
            "produce",
            "dst",
            "--from-file",
            "dump.jsonl",
            "--execute",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to produce to dst: rewind is read-only here"),
        "{err}"
    );
    assert_eq!(count(dir.path()), 0);

    // A malformed line: named by its number, nothing produced; --skip-bad produces the
    // others.
    let mut lines: Vec<&str> = exported.lines().collect();
    lines.insert(2, r#"{"topic":"src","value":"#);
    std::fs::write(dir.path().join("bad.jsonl"), lines.join("\n")).unwrap();
    let out = rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "produce",
            "dst",
            "--from-file",
            "bad.jsonl",
            "--execute",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 line(s) cannot be produced (line 3: not a JSON object"),
        "{err}"
    );
    assert!(err.contains("nothing was produced"), "{err}");
    assert_eq!(count(dir.path()), 0);
    let out = stdout(&rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "produce",
            "dst",
            "--from-file",
            "bad.jsonl",
            "--execute",
            "--skip-bad",
        ],
    ));
    assert!(
        out.contains("skipped 1 line(s) that cannot be produced:\n  line 3:"),
        "{out}"
    );
    assert_eq!(count(dir.path()), 4, "{out}");

    // A record the producer refuses (larger than message.max.bytes) stops it: what was
    // written before it is said, with the last offset, and the exit is non-zero.
    let mut big: Vec<String> = exported.lines().map(str::to_owned).collect();
    let huge = format!(
        r#"{{"topic":"src","partition":0,"offset":99,"key":"k","headers":{{}},"value":"{}"}}"#,
        "x".repeat(2_000_000)
    );
    big.insert(2, huge);
    std::fs::write(dir.path().join("big.jsonl"), big.join("\n")).unwrap();
    let out = rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "produce",
            "dst",
            "--from-file",
            "big.jsonl",
            "--execute",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("producing to dst failed")
            && err.contains("stopped after 2 records were written (the last at dst/0/5)"),
        "{err}"
    );
    assert_eq!(
        count(dir.path()),
        6,
        "the 4 before and the 2 before the failure"
    );
}
