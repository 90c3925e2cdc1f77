//! The on-disk index, through the real worker on librdkafka's mock cluster: a reopen
//! reads only the records past the index (counted), retention moving the low
//! watermark, a recreated topic, a corrupt file, a directory that cannot be written,
//! and `rewind cache [clear]`. Every index is compared with a load that keeps none.

use std::path::{Path, PathBuf};

use crate::common::{mock, produce, Driver, Rec};
use kafka_rewind::config::Connection;

type Seen = Vec<(i32, i64, String, String, String)>;

fn records(topic: &str, partitions: i32, range: std::ops::Range<i64>, tag: &str) -> Vec<Rec> {
    range
        .map(|i| {
            Rec::new(
                topic,
                (i % partitions as i64) as i32,
                &format!("k{}", i % 7),
                &format!(r#"{{"type":"{tag}{}","n":{i}}}"#, i % 3),
            )
        })
        .collect()
}

fn driver(brokers: &str, index_dir: Option<&Path>) -> Driver {
    Driver::with_index(brokers, index_dir)
}

/// What a load that keeps no index sees.
fn plain(brokers: &str, topic: &str) -> Seen {
    driver(brokers, None).load(topic)
}

/// The one topic directory under `root` (cluster/topic).
fn topic_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|clusters| {
            clusters
                .flat_map(|c| std::fs::read_dir(c.unwrap().path()).unwrap())
                .map(|t| t.unwrap().path())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

#[test]
fn a_reopen_reads_only_the_records_past_the_index() {
    let cluster = mock(&[("t", 3)]);
    let b = cluster.bootstrap_servers();
    produce(&b, &records("t", 3, 0..30, "A"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    let mut d = driver(&b, Some(&root));
    let first = d.load("t");
    assert_eq!(first, plain(&b, "t"));
    // Even the first load's entries are read in place from the index it wrote.
    assert_eq!(d.app.topic.events.index.mapped(), 30);
    let read = d.worker.records_loaded();
    assert_eq!(read, 30);
    assert_eq!(topic_dirs(&root).len(), 1);

    assert_eq!(
        d.app.topic.events.read, 30,
        "the progress counts what was read"
    );
    // Nothing new: the index is used whole; the only records read are the three that
    // each partition's index ends with (checked to be the same records).
    assert_eq!(d.load("t"), first);
    assert_eq!(
        d.app.topic.events.read, 30,
        "the progress counts what the index held"
    );
    assert_eq!(d.app.topic.events.index.mapped(), 30);
    assert_eq!(d.worker.records_loaded() - read, 3);

    // Six more: those six are read (and the three checks), the rest comes from disk,
    // in the same order as a load without an index.
    produce(&b, &records("t", 3, 30..36, "A"));
    let read = d.worker.records_loaded();
    let grown = d.load("t");
    assert_eq!(d.worker.records_loaded() - read, 3 + 6);
    assert_eq!(grown, plain(&b, "t"));
    assert_eq!(d.app.topic.events.index.mapped(), 36);

    // Another process (a new worker) opens it from disk too, reading only the checks.
    let mut other = driver(&b, Some(&root));
    assert_eq!(other.load("t"), grown);
    assert_eq!(other.app.topic.events.index.mapped(), 36);
    assert_eq!(other.worker.records_loaded(), 3);

    // A window inside the index is served from it.
    other.command("topic t --last 2");
    other.wait("the window", |a| a.topic.events.done);
    assert_eq!(other.app.topic.events.len(), 6);
    assert_eq!(other.app.topic.events.index.mapped(), 6);
}

#[test]
fn retention_moving_the_low_watermark_drops_the_indexs_prefix() {
    // The mock keeps at most 5 MB per partition: 10 KB values past that move the low
    // watermark, as retention does.
    let cluster = mock(&[("r", 1)]);
    let b = cluster.bootstrap_servers();
    let big = |range: std::ops::Range<i64>| -> Vec<Rec> {
        range
            .map(|i| {
                let pad = "x".repeat(10_000);
                Rec::new(
                    "r",
                    0,
                    &format!("k{}", i % 5),
                    &format!(r#"{{"type":"T","n":{i},"pad":"{pad}"}}"#),
                )
            })
            .collect()
    };
    produce(&b, &big(0..300));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    let mut d = driver(&b, Some(&root));
    let first = d.load("r");
    assert_eq!(first.first().map(|e| e.1), Some(0));
    produce(&b, &big(300..700));
    let low = kafka_rewind::kafka::Cluster::connect(&Connection {
        brokers: b.clone(),
        ..Default::default()
    })
    .unwrap()
    .topic("r")
    .unwrap()
    .partitions[0]
        .low;
    assert!(
        low > 0 && low < 300,
        "the low watermark moved into the index: {low}"
    );
    let read = d.worker.records_loaded();
    let after = d.load("r");
    assert_eq!(after, plain(&b, "r"));
    assert_eq!(after.first().map(|e| e.1), Some(low));
    assert_eq!(d.app.topic.events.index.mapped(), after.len());
    // The check and the new records.
    assert_eq!(d.worker.records_loaded() - read, 1 + 400);
}

#[test]
fn a_recreated_topic_and_a_corrupt_file_are_read_anew() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    // The first cluster's index of t.
    let a = mock(&[("t", 3)]);
    produce(&a.bootstrap_servers(), &records("t", 3, 0..30, "A"));
    driver(&a.bootstrap_servers(), Some(&root)).load("t");
    let made = topic_dirs(&root);
    assert_eq!(made.len(), 1);
    // Another cluster's t, as a recreated t looks: the same name and as many records,
    // other contents. Its index is replaced by the first one's.
    let b = mock(&[("t", 3)]);
    let bb = b.bootstrap_servers();
    produce(&bb, &records("t", 3, 0..30, "B"));
    let mut d = driver(&bb, Some(&root));
    d.load("t");
    let theirs = topic_dirs(&root)
        .into_iter()
        .find(|x| !made.contains(x))
        .unwrap();
    for f in std::fs::read_dir(&made[0]).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, theirs.join(f.file_name().unwrap())).unwrap();
    }
    let expected = plain(&bb, "t");
    assert!(expected.iter().all(|e| e.3.starts_with('B')));
    // The three checks find other records: every partition is read anew (30), and
    // nothing of the other index is used.
    let mut d = driver(&bb, Some(&root));
    assert_eq!(d.load("t"), expected);
    assert_eq!(d.worker.records_loaded(), 3 + 30);
    // ... and the index is made anew from what was read.
    assert_eq!(d.load("t"), expected);
    assert_eq!(d.worker.records_loaded(), 3 + 30 + 3);

    // A corrupt partition file: that partition is read anew (10), the others are used
    // (their two checks).
    drop(d);
    std::fs::write(theirs.join("1.idx"), vec![0xAB; 200]).unwrap();
    let mut d = driver(&bb, Some(&root));
    assert_eq!(d.load("t"), expected);
    assert_eq!(d.worker.records_loaded(), 2 + 10);
    // A corrupt meta: all of it.
    drop(d);
    std::fs::write(theirs.join("meta.json"), b"{\"format\":1,").unwrap();
    let mut d = driver(&bb, Some(&root));
    assert_eq!(d.load("t"), expected);
    assert_eq!(d.worker.records_loaded(), 30);
}

#[test]
fn without_a_writable_directory_it_works_and_says_so() {
    let cluster = mock(&[("t", 3)]);
    let b = cluster.bootstrap_servers();
    produce(&b, &records("t", 3, 0..12, "A"));
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be made under a file (whoever runs the tests).
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let mut d = driver(&b, Some(&file.join("index")));
    d.command("topic t");
    d.wait("the load", |a| a.topic.events.done);
    assert_eq!(d.app.topic.events.len(), 12);
    assert!(
        d.app
            .status
            .starts_with("working without an on-disk index: "),
        "{}",
        d.app.status
    );
}

#[test]
fn the_cache_command_lists_and_clears_indexes() {
    let cluster = mock(&[("t", 3), ("u", 1)]);
    let b = cluster.bootstrap_servers();
    produce(&b, &records("t", 3, 0..30, "A"));
    produce(&b, &records("u", 1, 0..5, "A"));
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("cache/rewind/index");
    let mut d = driver(&b, Some(&root));
    d.load("t");
    d.load("u");
    drop(d);
    let cache = |args: &[&str]| {
        let out = crate::common::rewind_command(home.path())
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let listed: serde_json::Value = serde_json::from_str(&cache(&["-o", "json", "cache"])).unwrap();
    let rows: Vec<(String, u64, u64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["topic"].as_str().unwrap().to_owned(),
                l["partitions"].as_u64().unwrap(),
                l["entries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("t".into(), 3, 30), ("u".into(), 1, 5)]);
    assert!(listed[0]["bytes"].as_u64().unwrap() >= 30 * 44);
    let table = cache(&["cache"]);
    assert!(table.contains("2 topic index(es)"), "{table}");
    let cleared = cache(&["cache", "clear", "t"]);
    assert!(cleared.contains("removed 1 topic index(es)"), "{cleared}");
    let left: serde_json::Value = serde_json::from_str(&cache(&["-o", "json", "cache"])).unwrap();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["topic"], "u");
    cache(&["cache", "clear"]);
    let none: serde_json::Value = serde_json::from_str(&cache(&["-o", "json", "cache"])).unwrap();
    assert!(none.as_array().unwrap().is_empty());
}

#[test]
fn aggregates_keeps_the_same_index_and_reads_only_what_is_new() {
    let cluster = mock(&[("t", 3)]);
    let b = cluster.bootstrap_servers();
    let at = |i: i64| 1_795_000_000_000 + i * 1000;
    let timed = |range: std::ops::Range<i64>| -> Vec<Rec> {
        records("t", 3, range.clone(), "A")
            .into_iter()
            .zip(range)
            .map(|(r, i)| r.at(at(i)))
            .collect()
    };
    produce(&b, &timed(0..30));
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> String {
        let out = crate::common::rewind_command(home.path())
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .args(["-b", &b, "-o", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let logged = || {
        let log = std::fs::read_to_string(home.path().join("state/rewind/rewind.log")).unwrap();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("aggregates: entries from"));
        line.unwrap_or_default().to_owned()
    };
    let counted = run(&["--no-cache", "aggregates", "t"]);
    assert_eq!(run(&["aggregates", "t"]), counted);
    assert!(
        logged().contains("from_index=0 checked=0 read=30"),
        "{}",
        logged()
    );
    // Again: from the index, reading only the three checks.
    assert_eq!(run(&["aggregates", "t"]), counted);
    assert!(
        logged().contains("from_index=30 checked=3 read=0"),
        "{}",
        logged()
    );
    // Six more: those are read.
    produce(&b, &timed(30..36));
    assert_eq!(
        run(&["aggregates", "t"]),
        run(&["--no-cache", "aggregates", "t"])
    );
    assert!(
        logged().contains("from_index=30 checked=3 read=6"),
        "{}",
        logged()
    );
    // A time window counts what is in it, from the index too.
    let since = chrono::DateTime::from_timestamp_millis(at(20))
        .unwrap()
        .to_rfc3339();
    assert_eq!(
        run(&["aggregates", "t", "--since", &since]),
        run(&["--no-cache", "aggregates", "t", "--since", &since])
    );
    // The TUI opens on what the command wrote: it reads only the checks.
    let root = home.path().join("cache/rewind/index");
    let mut d = driver(&b, Some(&root));
    assert_eq!(d.load("t"), plain(&b, "t"));
    assert_eq!(d.worker.records_loaded(), 3);
}
