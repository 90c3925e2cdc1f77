//! Faults on Apache Kafka: a member that joins between the plan and the commit, a topic
//! deleted and made again under the same name, and records deleted below an index.

use std::time::{Duration, Instant};

use crate::common::*;
use kafka_rewind::kafka::rewind::{execute, make_plan, ExecuteOptions, PlanRequest};
use kafka_rewind::model::plan::Scope;
use serde_json::json;

fn records(topic: &str, partitions: i32, range: std::ops::Range<i32>, tag: &str) -> Vec<Rec> {
    range
        .map(|i| {
            Rec::new(
                topic,
                i % partitions,
                &format!("acct-{}", i % 3),
                &json!({"type": tag, "n": i}).to_string(),
            )
        })
        .collect()
}

#[test]
fn a_member_that_joins_after_the_plan_is_refused_and_nothing_is_committed() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = unique("late");
    kafka.create_topic(&topic, 2, &[]);
    produce(b, &records(&topic, 2, 0..10, "A"));
    let group = unique("late-joiner");
    commit(b, &group, &topic, &[(0, 5), (1, 5)]);
    let conn = kafka_rewind::config::Connection {
        brokers: b.to_owned(),
        ..Default::default()
    };
    let pool = kafka_rewind::engine::pool::Pool::new(&conn);
    let client = pool.client().unwrap();
    let cluster = &client.cluster;
    let request = PlanRequest {
        group: group.clone(),
        topic: topic.clone(),
        scope: Scope::Earliest,
        now_ms: chrono::Utc::now().timestamp_millis(),
        retention_warn_ms: 3_600_000,
        aggregate: None,
        known: None,
    };
    let plan = make_plan(&client, &Default::default(), &request).unwrap();
    assert_eq!(cluster.group_state(&group).state.name(), "Empty");
    // Planned while Empty; a consumer starts before the commit.
    let member = GroupMember::join(b, &group, &topic, false);
    let dir = sandbox();
    let options = ExecuteOptions {
        allow_unknown_state: true,
        planned_active: Some(false),
        undo_file: Some(dir.path().join("undo.csv")),
    };
    let refused = execute(cluster, &plan, &options).unwrap_err().to_string();
    assert!(
        refused.starts_with("the group became active since the plan was made")
            && refused.contains(&format!("group {group} is Stable"))
            && refused.contains("nothing was changed"),
        "{refused}"
    );
    assert_eq!(committed_by_client(b, &group, &topic, 2), [5, 5]);
    member.leave();
}

/// Waits until the worker has the topic's id from DescribeTopics.
fn topic_id(d: &Driver, topic: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(id) = d.worker.topic_id(topic) {
            return id;
        }
        assert!(Instant::now() < deadline, "no topic id for {topic}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_topic_made_again_under_its_name_is_read_anew_by_its_new_id() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = unique("again");
    kafka.create_topic(&topic, 2, &[]);
    // The same records both times, timestamps included: the last-record check cannot
    // tell the two topics apart, only the topic id can.
    let same = || -> Vec<Rec> {
        records(&topic, 2, 0..10, "A")
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.at(1_795_687_200_000 + i as i64))
            .collect()
    };
    produce(b, &same());
    let dir = tempfile::tempdir().unwrap();
    let mut d = Driver::with_index(b, Some(dir.path()));
    let old_id = topic_id(&d, &topic);
    assert_eq!(d.load(&topic).len(), 10);
    // A mark on the old topic, as the user makes it: `m` on its fourth event.
    d.wait("the topic's id", |a| a.topics.ids.contains_key(&topic));
    for _ in 0..3 {
        d.act(kafka_rewind::app::Action::MoveDown);
    }
    d.act(kafka_rewind::app::Action::Mark);
    let marks = d.app.marks.clone();
    assert_eq!(marks.len(), 1, "{}", d.app.status);
    assert_eq!(marks[0].topic_id.as_deref(), Some(old_id.as_str()));
    drop(d);

    // Deleted and made again.
    delete_topic(b, &topic);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match std::panic::catch_unwind(|| kafka.create_topic(&topic, 2, &[])) {
            Ok(()) => break,
            Err(_) => {
                assert!(Instant::now() < deadline, "{topic} could not be made again");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    produce(b, &same());
    let mut d = Driver::with_index(b, Some(dir.path()));
    d.app.marks = marks;
    let new_id = topic_id(&d, &topic);
    assert_ne!(new_id, old_id);
    assert_eq!(d.load(&topic).len(), 10);
    assert_eq!(
        d.worker.records_loaded(),
        10,
        "read anew, not from the old index"
    );
    // The old topic's mark says its topic was made again, and is neither opened nor
    // rewound to.
    d.wait("the topic's id", |a| a.topics.ids.contains_key(&topic));
    let why = d.app.mark_gone(&d.app.marks[0]).expect("the mark is gone");
    assert!(
        why.contains(&format!(
            "{topic} was deleted and made again since the mark"
        )) && why.contains(&new_id)
            && why.contains(&old_id),
        "{why}"
    );
    d.act(kafka_rewind::app::Action::ShowMarks);
    d.act(kafka_rewind::app::Action::Rewind);
    assert!(d.app.overlay.is_none(), "no rewind dialog");
    assert!(
        d.app.status.starts_with("no rewind to this mark"),
        "{}",
        d.app.status
    );
}

#[test]
fn records_deleted_below_the_index_are_dropped_on_reopen() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = unique("trimmed");
    kafka.create_topic(&topic, 2, &[]);
    produce(b, &records(&topic, 2, 0..20, "A"));
    let dir = tempfile::tempdir().unwrap();
    let mut d = Driver::with_index(b, Some(dir.path()));
    assert_eq!(d.load(&topic).len(), 20);
    drop(d);
    let offsets = dir.path().join("delete.json");
    std::fs::write(
        &offsets,
        format!(r#"{{"version":1,"partitions":[{{"topic":"{topic}","partition":0,"offset":4}}]}}"#),
    )
    .unwrap();
    let deleted = kafka.tool(
        "org.apache.kafka.tools.DeleteRecordsCommand",
        &["--offset-json-file", offsets.to_str().unwrap()],
    );
    assert!(deleted.status.success(), "{deleted:?}");
    let mut d = Driver::with_index(b, Some(dir.path()));
    let events = d.load(&topic);
    let partition0: Vec<i64> = events.iter().filter(|e| e.0 == 0).map(|e| e.1).collect();
    assert_eq!(partition0, (4..10).collect::<Vec<i64>>());
    assert_eq!(events.len(), 16);
    // The index's prefix was dropped: only the two checks were read.
    assert_eq!(d.worker.records_loaded(), 2);
    // acct-0's stream lost its events at 0/0 and 0/3: it opens on what is left and
    // says so.
    d.command("agg acct-0");
    d.wait("the stream", |a| a.stream().is_some_and(|s| s.ready));
    let stream = d.app.stream().unwrap();
    let mut coords: Vec<String> = stream
        .indices
        .iter()
        .map(|&i| d.app.topic.events.index.get(i).coord().to_string())
        .collect();
    coords.sort();
    assert_eq!(
        coords,
        ["0/6", "0/9", "1/1", "1/4", "1/7"].map(String::from)
    );
    assert!(
        d.app.status.starts_with("the log now starts at 0/4 (retention or DeleteRecords): events of acct-0 before it, if it had any, are gone"),
        "{}",
        d.app.status
    );
}

/// The broker is killed with SIGKILL during the TUI's first load of a 500,000-event
/// topic and started again on its ports and data: the load goes on where it was, every
/// event once and in order, and the status says the broker was lost and is back. Then
/// `aggregates` in the same situation: the exact counts, or one line.
#[test]
fn a_broker_killed_mid_load_comes_back_and_the_load_goes_on() {
    const EVENTS: i32 = 500_000;
    let mut kafka = Kafka::start(&[]);
    let b = kafka.bootstrap.clone();
    let topic = "restarted";
    kafka.create_topic(topic, 8, &[]);
    produce(&b, &records(topic, 8, 0..EVENTS, "A"));

    let mut d = Driver::with_index(&b, None);
    d.command(&format!("topic {topic}"));
    d.wait("the load to start", |a| a.topic.events.read > 0);
    kafka.kill();
    assert!(
        d.worker.records_loaded() < EVENTS as u64,
        "the load ended before the broker was killed"
    );
    d.wait("the loss to be said", |a| a.disconnected.is_some());
    let why = d.app.disconnected.clone().unwrap();
    assert!(
        why.contains("brokers are down") && why.contains(&b),
        "{why}"
    );
    kafka.restart();
    d.wait("the load", |a| a.topic.events.done);
    assert_eq!(d.app.topic.events.error, None);
    let back = &d.app.status;
    // Said as the brokers being down, or, when the node took longer to come back than
    // a read waits for records (a loaded machine), as the read that stalled.
    assert!(
        (back.starts_with("the broker was lost and is back (")
            && back.contains(&format!(
                " brokers are down at {b}); the load goes on where it was"
            )))
            || (back.starts_with(&format!(
                "the broker answers again (after: reading {topic} stalled"
            )) && back.ends_with("the load goes on where it was")),
        "{back}"
    );
    assert_eq!(d.app.disconnected, None);
    // Every event once, and each partition's in offset order.
    let mut next = [0i64; 8];
    for e in d.app.topic.events.index.iter() {
        let at = e.coord();
        assert_eq!(at.offset, next[at.partition as usize], "at {at}");
        next[at.partition as usize] += 1;
    }
    assert_eq!(next.iter().sum::<i64>(), EVENTS as i64);
    assert_eq!(next, [EVENTS as i64 / 8; 8]);
    drop(d);

    // `aggregates`, the broker killed as it reads and started again.
    let dir = sandbox();
    let reading = rewind_command(dir.path())
        .args(["-b", &b, "--no-cache", "aggregates", topic, "-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    kafka.kill();
    std::thread::sleep(Duration::from_secs(1));
    kafka.restart();
    let out = reading.wait_with_output().unwrap();
    let expected = (0..3)
        .map(|k| {
            let count = (0..EVENTS).filter(|i| i % 3 == k).count() as i64;
            (format!("acct-{k}"), count)
        })
        .collect();
    // Apache Kafka keeps its data: the records are never gone.
    assert_exact_or_one_line(&out, &expected, false);
}
