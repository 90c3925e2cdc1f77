//! Group safety on Apache Kafka, for members of both protocols (the classic one and
//! KIP-848's consumer protocol), each held by a process of its own; share groups listed
//! as such and their resets refused with the command that does them.

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

const PARTITIONS: i32 = 4;

/// A topic of 4 partitions of 5 records each, on the shared broker.
fn ledger(kafka: &Kafka) -> String {
    let topic = unique("ledger");
    kafka.create_topic(&topic, PARTITIONS, &[]);
    let records: Vec<Rec> = (0..20)
        .map(|i| {
            Rec::new(
                &topic,
                i % PARTITIONS,
                &format!("acct-{i}"),
                &json!({"type": "Posted", "n": i}).to_string(),
            )
        })
        .collect();
    produce(&kafka.bootstrap, &records);
    topic
}

fn group(bootstrap: &str, name: &str) -> Value {
    group_json(bootstrap, name)
}

fn reset(
    bootstrap: &str,
    topic: &str,
    name: &str,
    scope: &[&str],
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["-b", bootstrap, "reset", "--group", name, "--topic", topic];
    args.extend_from_slice(scope);
    args.extend_from_slice(extra);
    rewind(&args)
}

/// Every way of asking to move an active group is refused with its state named, and the
/// offsets read back by another client are unchanged.
fn assert_refused(bootstrap: &str, topic: &str, name: &str, state: &str, before: &[i64]) {
    for extra in [
        &[][..],
        &["--execute"][..],
        &["--execute", "--allow-unknown-state"][..],
        &["-o", "json", "--execute"][..],
    ] {
        let out = reset(bootstrap, topic, name, &["--to-offset", "3"], extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} was not refused: {err}");
        assert!(
            err.contains(&format!("group {name} is {state}"))
                && err.contains("nothing was changed"),
            "{extra:?}: {err}"
        );
    }
    assert_eq!(
        committed_by_client(bootstrap, name, topic, PARTITIONS),
        before
    );
}

fn wait_for_state(bootstrap: &str, name: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let g = group(bootstrap, name);
        if g["state"] == state {
            return g;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never became {state}: {g}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn assert_reset_goes_through(bootstrap: &str, topic: &str, name: &str) {
    assert_reset_goes_through_from(bootstrap, topic, name, "Empty");
}

fn assert_reset_goes_through_from(bootstrap: &str, topic: &str, name: &str, state: &str) {
    let out = reset(
        bootstrap,
        topic,
        name,
        &["--to-offset", "3"],
        &["-o", "json", "--execute"],
    );
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(plan["executed"], true, "{plan}");
    assert_eq!(plan["state"], state, "{plan}");
    assert_eq!(plan["written_with"], "AlterConsumerGroupOffsets", "{plan}");
    assert_eq!(
        committed_by_client(bootstrap, name, topic, PARTITIONS),
        [3; PARTITIONS as usize]
    );
}

/// A live member without commits, one with commits, each refused until it leaves; then
/// a group of commits only.
fn members_hold_their_group(protocol: &str) {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = ledger(kafka);

    let live = unique("live");
    let member = GroupMember::join_with(b, &live, &topic, false, protocol);
    let g = group(b, &live);
    assert_eq!(
        (g["state"].clone(), g["type"].clone()),
        (json!("Stable"), json!(protocol)),
        "{g}"
    );
    assert_eq!(g["members"].as_array().unwrap().len(), 1, "{g}");
    assert!(
        g["members"][0]["client_id"]
            .as_str()
            .unwrap()
            .starts_with("live-"),
        "{g}"
    );
    // Listed too, with its type.
    let all = groups_json(b, &[]);
    let listed = all
        .iter()
        .find(|x| x["group"] == live.as_str())
        .expect("listed");
    assert_eq!(listed["type"], protocol, "{listed}");
    assert_refused(b, &topic, &live, "Stable", &[-1; PARTITIONS as usize]);
    member.leave();
    wait_for_state(b, &live, "Empty");
    assert_reset_goes_through(b, &topic, &live);

    let held = unique("held");
    let member = GroupMember::join_with(b, &held, &topic, true, protocol);
    let g = group(b, &held);
    assert_eq!(g["state"], "Stable", "{g}");
    assert_eq!(
        committed_by_client(b, &held, &topic, PARTITIONS),
        [5; PARTITIONS as usize]
    );
    let out = reset(b, &topic, &held, &["--to-offset", "3"], &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Group state: Stable"), "{table}");
    assert_refused(b, &topic, &held, "Stable", &[5; PARTITIONS as usize]);
    member.leave();
    let g = wait_for_state(b, &held, "Empty");
    assert_eq!(g["type"], protocol, "an Empty group keeps its type: {g}");
    assert_reset_goes_through(b, &topic, &held);
}

#[test]
fn classic_members_hold_their_group_until_they_leave() {
    members_hold_their_group("classic");
}

#[test]
fn consumer_protocol_members_hold_their_group_until_they_leave() {
    members_hold_their_group("consumer");
}

#[test]
fn a_group_of_commits_only_is_empty_and_one_that_does_not_exist_is_dead() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = ledger(kafka);
    let ghost = unique("ghost");
    commit(b, &ghost, &topic, &[(0, 1), (1, 1), (2, 1), (3, 1)]);
    let g = group(b, &ghost);
    assert_eq!(
        (g["state"].clone(), g["type"].clone(), g["members"].clone()),
        (json!("Empty"), json!("classic"), json!([])),
        "{g}"
    );
    assert!(groups_json(b, &[])
        .iter()
        .any(|g| g["group"] == ghost.as_str()));
    assert_reset_goes_through(b, &topic, &ghost);

    let none = unique("nobody");
    let g = group(b, &none);
    assert_eq!(
        (g["state"].clone(), g["type"].clone()),
        (json!("Dead"), json!("unknown")),
        "{g}"
    );
    // Apache Kafka creates a group that AlterConsumerGroupOffsets names: a classic one.
    assert_reset_goes_through_from(b, &topic, &none, "Dead");
    let g = group(b, &none);
    assert_eq!(
        (g["state"].clone(), g["type"].clone()),
        (json!("Empty"), json!("classic")),
        "{g}"
    );
}

/// Kafka's console share consumer, in a process of its own, until dropped.
struct ShareConsumer(std::process::Child);

impl ShareConsumer {
    fn join(kafka: &Kafka, group: &str, topic: &str) -> ShareConsumer {
        let child = std::process::Command::new(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka"),
        )
        .args([
            "tool",
            "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
            "--bootstrap-server",
            &kafka.bootstrap,
            "--topic",
            topic,
            "--group",
            group,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the console share consumer");
        ShareConsumer(child)
    }
}

impl Drop for ShareConsumer {
    /// SIGTERM: the JVM closes the consumer, which leaves the group at once (a kill
    /// would leave it until its session times out, 45 s).
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

#[test]
fn a_share_group_is_listed_as_share_and_its_reset_is_refused_with_kafka_share_groups() {
    let kafka = Kafka::shared();
    let b = kafka.bootstrap.as_str();
    let topic = ledger(kafka);
    let queue = unique("queue");
    let consumer = ShareConsumer::join(kafka, &queue, &topic);
    let g = wait_for_state(b, &queue, "Stable");
    assert_eq!(g["type"], "share", "{g}");
    assert_eq!(g["members"].as_array().unwrap().len(), 1, "{g}");
    let all = groups_json(b, &[]);
    let listed = all
        .iter()
        .find(|x| x["group"] == queue.as_str())
        .expect("listed");
    assert_eq!(listed["type"], "share", "{listed}");

    let check_refused = |extra: &[&str]| {
        let out = reset(b, &topic, &queue, &["--to-earliest"], extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} was not refused");
        assert!(
            err.contains(&format!("group {queue} is a share group"))
                && err.contains("nothing was changed"),
            "{extra:?}: {err}"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = check_refused(&[]);
    assert!(
        table.contains(&format!(
            "kafka-share-groups.sh --bootstrap-server {b} --group {queue} --topic {topic} --reset-offsets --to-earliest --execute"
        )),
        "{table}"
    );
    check_refused(&["--execute", "--allow-unknown-state"]);
    let json: Value = serde_json::from_str(&check_refused(&["-o", "json"])).unwrap();
    assert_eq!(
        (json["type"].clone(), json["executed"].clone()),
        (json!("share"), json!(false))
    );
    // A shift, which kafka-share-groups.sh has not, is refused as a share group too.
    let out = reset(b, &topic, &queue, &["--shift-by", "-1"], &["--execute"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a share group"));

    drop(consumer);
    let g = wait_for_state(b, &queue, "Empty");
    assert_eq!(g["type"], "share", "{g}");
    check_refused(&["--execute"]);
    // Nothing became a consumer group of that name.
    assert_eq!(
        committed_by_client(b, &queue, &topic, PARTITIONS),
        [-1; PARTITIONS as usize]
    );
}
