//! Group safety on Tansu 0.6.0: a group's state is what its coordinator says about it by
//! name, never what a listing leaves out. Members are held by a separate process
//! (`examples/group_member.rs`); offsets are read back by the test's own client.

use std::time::{Duration, Instant};

use crate::common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

const PARTITIONS: i32 = 4;

/// Tansu with topic `ledger`: 4 partitions of 5 records each.
fn ledger() -> Tansu {
    let tansu = Tansu::start();
    create_topic(&tansu.bootstrap, "ledger", PARTITIONS, &[]);
    let records: Vec<Rec> = (0..20)
        .map(|i| {
            Rec::new(
                "ledger",
                i % PARTITIONS,
                &format!("acct-{i}"),
                &json!({"type": "Posted", "n": i}).to_string(),
            )
        })
        .collect();
    // Tansu's memory storage counts a batch as one offset: one record per batch.
    produce_with(&tansu.bootstrap, &records, &[("batch.num.messages", "1")]);
    tansu
}

/// Group names in the broker's ListGroups answer.
fn listed(bootstrap: &str) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "3")
        .create()
        .unwrap();
    let list = consumer
        .fetch_group_list(None, Duration::from_secs(10))
        .unwrap();
    list.groups().iter().map(|g| g.name().to_owned()).collect()
}

fn group(bootstrap: &str, name: &str) -> Value {
    group_json(bootstrap, name)
}

fn reset(bootstrap: &str, name: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "-b",
        bootstrap,
        "reset",
        "--group",
        name,
        "--topic",
        "ledger",
        "--to-offset",
        "3",
    ];
    args.extend_from_slice(extra);
    rewind(&args)
}

/// Every way of asking to move an active group is refused with its state named, and the
/// offsets read back by another client are unchanged.
fn assert_refused(bootstrap: &str, name: &str, before: &[i64]) {
    for extra in [
        &[][..],
        &["--execute"][..],
        &["--execute", "--allow-unknown-state"][..],
        &["-o", "json", "--execute"][..],
    ] {
        let out = reset(bootstrap, name, extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} was not refused: {err}");
        assert!(
            err.contains(&format!("group {name} is Stable")) && err.contains("nothing was changed"),
            "{extra:?}: {err}"
        );
    }
    assert_eq!(
        committed_by_client(bootstrap, name, "ledger", PARTITIONS),
        before
    );
}

fn wait_until_empty(bootstrap: &str, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let g = group(bootstrap, name);
        if g["state"] == "Empty" {
            return;
        }
        assert!(Instant::now() < deadline, "{name} never became Empty: {g}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn assert_reset_goes_through(bootstrap: &str, name: &str) {
    let out = reset(bootstrap, name, &["-o", "json", "--execute"]);
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(plan["executed"], true, "{plan}");
    assert_eq!(plan["state"], "Empty", "{plan}");
    assert_eq!(plan["written_with"], "AlterConsumerGroupOffsets", "{plan}");
    assert_eq!(
        committed_by_client(bootstrap, name, "ledger", PARTITIONS),
        [3; PARTITIONS as usize]
    );
}

#[test]
fn a_member_without_commits_is_active_though_the_listing_leaves_it_out() {
    let tansu = ledger();
    let b = tansu.bootstrap.as_str();
    let member = GroupMember::join(b, "live", "ledger", false);

    // Tansu lists only groups with committed offsets: `live` is not in ListGroups…
    assert!(!listed(b).contains(&"live".to_owned()), "{:?}", listed(b));
    // …and that absence is never read as Dead: asked by name, its coordinator says Stable.
    let live = group(b, "live");
    assert_eq!(live["state"], "Stable", "{live}");
    assert!(!live["members"].as_array().unwrap().is_empty(), "{live}");
    assert!(
        live["members"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("live-member"),
        "{live}"
    );
    // A profile's groups are described by name too.
    let dir = sandbox();
    std::fs::write(
        dir.path().join("rewind.toml"),
        format!("[profiles.default]\nbrokers = \"{b}\"\ngroups = [\"live\"]\n"),
    )
    .unwrap();
    let all: Vec<Value> =
        serde_json::from_str(&stdout(&rewind_in(dir.path(), &["-o", "json", "groups"]))).unwrap();
    let configured = all
        .iter()
        .find(|g| g["group"] == "live")
        .expect("live listed");
    assert_eq!(configured["state"], "Stable", "{all:?}");

    assert_refused(b, "live", &[-1; PARTITIONS as usize]);

    member.leave();
    wait_until_empty(b, "live");
    assert_reset_goes_through(b, "live");
}

#[test]
fn a_member_with_commits_is_refused_and_a_group_of_commits_only_is_reset() {
    let tansu = ledger();
    let b = tansu.bootstrap.as_str();
    let member = GroupMember::join(b, "held", "ledger", true);
    let held = group(b, "held");
    assert_eq!(held["state"], "Stable", "{held}");
    assert_eq!(held["members"].as_array().unwrap().len(), 1, "{held}");
    assert_eq!(
        committed_by_client(b, "held", "ledger", PARTITIONS),
        [5; PARTITIONS as usize]
    );
    // The table says why, too.
    let out = reset(b, "held", &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("Group state: Stable"), "{table}");
    assert_refused(b, "held", &[5; PARTITIONS as usize]);
    member.leave();
    wait_until_empty(b, "held");
    assert_reset_goes_through(b, "held");

    // A group that exists only through commits made from outside it: Empty.
    commit(b, "ghost", "ledger", &[(0, 1), (1, 1), (2, 1), (3, 1)]);
    let ghost = group(b, "ghost");
    assert_eq!(
        (ghost["state"].clone(), ghost["members"].clone()),
        (json!("Empty"), json!([]))
    );
    assert!(groups_json(b, &[]).iter().any(|g| g["group"] == "ghost"));
    assert_reset_goes_through(b, "ghost");
}
