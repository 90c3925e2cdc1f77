//! The outcome of a rewind, `states` and `check --idempotence` on accounts whose
//! deposits add (`balance += amount`) and touches count (`ops += 1`), neither
//! idempotent, and whose status is set (idempotent). The oracle is a plain fold here.

use super::*;

const CONFIG: &str = r#"
[[topics]]
name = "accounts"
type = ".type"
event_id = ".id"
[topics.reducers]
Deposited = "(. // {}) | .balance = ((.balance // 0) + $event.amount) | .seen = ((.seen // []) + [$event.id])"
Touched = "(. // {}) | .ops = ((.ops // 0) + 1)"
StatusSet = "(. // {}) | .status = $event.status"
"#;

/// The fixed consumer: a deposit it has seen (by event id) leaves the account.
const CANDIDATE: &str = r#"
[[topics]]
name = "accounts"
[topics.reducers]
Deposited = "(. // {}) | if ((.seen // []) | map(select(. == $event.id)) | length) > 0 then . else .balance = ((.balance // 0) + $event.amount) | .seen = ((.seen // []) + [$event.id]) end"
Touched = "(. // {}) | .ops = ((.ops // 0) + 1)"
StatusSet = "(. // {}) | .status = $event.status"
"#;

const BASE: i64 = 1_795_000_000_000;

/// One event as produced: partition, offset, account, value, timestamp.
#[derive(Debug, Clone)]
struct Produced {
    partition: i32,
    offset: i64,
    account: String,
    value: Value,
    timestamp: i64,
}

/// 240 events over 12 accounts; account k lives in partition k % 3.
fn events() -> Vec<Produced> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut next = [0i64; 3];
    (0..240)
            .map(|i| {
                let k = rng.below(12) as i32;
                let partition = k % 3;
                let value = match rng.below(4) {
                    0 | 1 => json!({"type": "Deposited", "id": format!("e-{i}"), "amount": rng.below(90) + 1}),
                    2 => json!({"type": "Touched", "id": format!("e-{i}")}),
                    _ => {
                        let status = ["open", "frozen", "closed"][rng.below(3) as usize];
                        json!({"type": "StatusSet", "id": format!("e-{i}"), "status": status})
                    }
                };
                let offset = next[partition as usize];
                next[partition as usize] += 1;
                Produced {
                    partition,
                    offset,
                    account: format!("acc-{k:02}"),
                    value,
                    timestamp: BASE + i * 1000,
                }
            })
            .collect()
}

/// The oracle's reducers: the current ones, or the candidate's.
fn apply(state: &Value, e: &Value, candidate: bool) -> Value {
    let mut s = match state {
        Value::Null => json!({}),
        s => s.clone(),
    };
    match e["type"].as_str().unwrap() {
        "Deposited" => {
            let seen = s["seen"].as_array().cloned().unwrap_or_default();
            if candidate && seen.contains(&e["id"]) {
                return s;
            }
            let balance = s["balance"].as_i64().unwrap_or(0) + e["amount"].as_i64().unwrap();
            s["balance"] = json!(balance);
            let mut seen = seen;
            seen.push(e["id"].clone());
            s["seen"] = json!(seen);
        }
        "Touched" => s["ops"] = json!(s["ops"].as_i64().unwrap_or(0) + 1),
        _ => s["status"] = e["status"].clone(),
    }
    s
}

/// Folds `events` (in partition then offset order) onto `start`, by account.
fn fold<'a>(
    start: &BTreeMap<String, Value>,
    events: impl Iterator<Item = &'a Produced>,
    candidate: bool,
) -> BTreeMap<String, Value> {
    let mut states = start.clone();
    let mut sorted: Vec<&Produced> = events.collect();
    sorted.sort_by_key(|e| (e.partition, e.offset));
    for e in sorted {
        let s = states.entry(e.account.clone()).or_insert(Value::Null);
        *s = apply(s, &e.value, candidate);
    }
    states
}

fn setup() -> (Mock, tempfile::TempDir, Vec<Produced>) {
    let cluster = mock(&[("accounts", 3)]);
    let events = events();
    let records: Vec<Rec> = events
        .iter()
        .map(|e| {
            Rec::new("accounts", e.partition, &e.account, &e.value.to_string()).at(e.timestamp)
        })
        .collect();
    produce(&cluster.bootstrap_servers(), &records);
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("fixed.toml"), CANDIDATE).unwrap();
    (cluster, dir, events)
}

/// The oracle's outcome of a rewind from `committed` to `targets`:
/// (redelivered, aggregates they touch, account → (after, correct) where they differ).
#[allow(clippy::type_complexity)]
fn oracle(
    events: &[Produced],
    committed: &BTreeMap<i32, i64>,
    targets: &BTreeMap<i32, i64>,
    candidate: bool,
) -> (usize, usize, BTreeMap<String, (Value, Value)>) {
    let processed = |e: &&Produced| committed.get(&e.partition).is_some_and(|c| e.offset < *c);
    let again = |e: &&Produced| targets.get(&e.partition).is_some_and(|t| e.offset >= *t);
    let now = fold(&BTreeMap::new(), events.iter().filter(processed), false);
    let after = fold(&now, events.iter().filter(again), candidate);
    let correct = fold(&BTreeMap::new(), events.iter(), candidate);
    let redelivered: Vec<&Produced> = events.iter().filter(processed).filter(again).collect();
    let touched: std::collections::BTreeSet<&str> =
        redelivered.iter().map(|e| e.account.as_str()).collect();
    let wrong = correct
        .iter()
        .filter_map(|(id, c)| {
            let a = after.get(id).cloned().unwrap_or(Value::Null);
            (a != *c).then(|| (id.clone(), (a, c.clone())))
        })
        .collect();
    (redelivered.len(), touched.len(), wrong)
}

fn ends(events: &[Produced]) -> BTreeMap<i32, i64> {
    let mut ends = BTreeMap::new();
    for e in events {
        let end = ends.entry(e.partition).or_insert(0);
        *end = (*end).max(e.offset + 1);
    }
    ends
}

#[test]
fn every_plan_says_what_the_read_model_will_hold_as_a_plain_fold_does() {
    let (cluster, dir, mut events) = setup();
    let b = cluster.bootstrap_servers();
    // One account whose producer spread it over two partitions: what the group has
    // processed of it is not a prefix of its events (in partition, offset order).
    let mut next = ends(&events);
    let spread: Vec<Produced> = (0..6)
        .map(|i| {
            let partition = i % 2;
            let offset = next[&partition];
            next.insert(partition, offset + 1);
            let value = match i % 3 {
                0 => json!({"type": "Deposited", "id": format!("m-{i}"), "amount": 10 + i}),
                1 => json!({"type": "Touched", "id": format!("m-{i}")}),
                _ => json!({"type": "StatusSet", "id": format!("m-{i}"), "status": "open"}),
            };
            Produced {
                partition,
                offset,
                account: "acc-spread".into(),
                value,
                timestamp: BASE + 10_000_000 + i64::from(i) * 1000,
            }
        })
        .collect();
    let records: Vec<Rec> = spread
        .iter()
        .map(|e| {
            Rec::new("accounts", e.partition, &e.account, &e.value.to_string()).at(e.timestamp)
        })
        .collect();
    produce(&b, &records);
    events.extend(spread);
    let end = ends(&events);
    // The group has processed most of partitions 0 and 1, nothing of partition 2.
    let committed: BTreeMap<i32, i64> = [(0, end[&0] - 9), (1, end[&1] - 2)].into();
    let commits: Vec<(i32, i64)> = committed.iter().map(|(p, o)| (*p, *o)).collect();
    commit(&b, "billing", "accounts", &commits);
    let before = committed_by_client(&b, "billing", "accounts", 3);
    let targets: Vec<BTreeMap<i32, i64>> = vec![
        [(0, 0), (1, 0), (2, 0)].into(),
        [(0, committed[&0] - 12), (1, committed[&1]), (2, 3)].into(),
        // Partition 0 skips ahead, partition 1 goes back a little.
        [(0, committed[&0] + 4), (1, committed[&1] - 5), (2, 0)].into(),
        // Nothing moves back: the candidate alone decides.
        [(0, committed[&0]), (1, committed[&1]), (2, 0)].into(),
    ];
    let mut rebuilds = 0;
    let mut safe = 0;
    for (n, target) in targets.iter().enumerate() {
        let csv: String = target
            .iter()
            .map(|(p, o)| format!("accounts,{p},{o}\n"))
            .collect();
        let file = dir.path().join(format!("targets-{n}.csv"));
        std::fs::write(&file, csv).unwrap();
        for candidate in [false, true] {
            let mut scope = vec!["--from-file", file.to_str().unwrap()];
            if candidate {
                scope.extend(["--with", "fixed.toml"]);
            }
            let plan = reset_json(dir.path(), &b, "billing", "accounts", &scope);
            let (redelivered, aggregates, wrong) = oracle(&events, &committed, target, candidate);
            let outcome = &plan["outcome"];
            let what = format!("targets {target:?}, candidate {candidate}: {plan:#}");
            assert_eq!(outcome["redelivered"], redelivered, "{what}");
            assert_eq!(outcome["aggregates"], aggregates, "{what}");
            assert_eq!(outcome["wrong"], wrong.len(), "{what}");
            let results = outcome["results"].as_array().unwrap();
            assert_eq!(results.len(), wrong.len(), "{what}");
            for r in results {
                let (after, correct) = &wrong[r["aggregate"].as_str().unwrap()];
                assert_eq!((&r["after"], &r["correct"]), (after, correct), "{what}");
                assert!(!r["changes"].as_array().unwrap().is_empty(), "{what}");
            }
            let advice = if wrong.is_empty() { "safe" } else { "rebuild" };
            assert_eq!(plan["advice"], advice, "{what}");
            match advice {
                "safe" => safe += 1,
                _ => rebuilds += 1,
            }
        }
    }
    assert!(
        rebuilds >= 3 && safe >= 1,
        "rebuilds {rebuilds}, safe {safe}"
    );
    // The table says it in a line, with the first wrong aggregate.
    let out = rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "reset",
            "--group",
            "billing",
            "--topic",
            "accounts",
            "--to-earliest",
        ],
    );
    let table = stdout(&out);
    let (_, _, wrong) = oracle(&events, &committed, &targets[0], false);
    let first = wrong.keys().next().unwrap();
    assert!(
            table.contains(&format!("After the rewind {} of 13 aggregate(s) are wrong: re-delivered events are applied twice — {first} ", wrong.len())),
            "{table}"
        );
    assert!(table.contains("Advice: rebuild"), "{table}");
    // Dry runs all: nothing was committed (read back by a separate client).
    assert_eq!(committed_by_client(&b, "billing", "accounts", 3), before);
}

#[test]
fn states_at_a_time_and_at_a_groups_offsets_are_a_plain_fold() {
    let (cluster, dir, events) = setup();
    let b = cluster.bootstrap_servers();
    let end = ends(&events);
    let committed: BTreeMap<i32, i64> = [(0, end[&0] / 2), (1, 1)].into();
    let commits: Vec<(i32, i64)> = committed.iter().map(|(p, o)| (*p, *o)).collect();
    commit(&b, "billing", "accounts", &commits);
    let check = |args: &[&str], taken: &dyn Fn(&Produced) -> bool| {
        let mut all = vec!["-b", &b, "-o", "json", "states", "accounts"];
        all.extend_from_slice(args);
        let out = rewind_in(dir.path(), &all);
        let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let expected = fold(&BTreeMap::new(), events.iter().filter(|e| taken(e)), false);
        let results = json["results"].as_array().unwrap();
        assert_eq!(json["aggregates"], expected.len(), "{args:?}: {json:#}");
        assert_eq!(
            json["events"],
            events.iter().filter(|e| taken(e)).count(),
            "{args:?}"
        );
        for r in results {
            let id = r["aggregate"].as_str().unwrap();
            assert_eq!(r["state"], expected[id], "{args:?} {id}");
            // Its last event in range, and its index among the account's events.
            let mine: Vec<&Produced> = events.iter().filter(|e| e.account == id).collect();
            let last = mine.iter().rposition(|e| taken(e)).unwrap();
            assert_eq!(
                (&r["index"], &r["partition"], &r["offset"]),
                (
                    &json!(last),
                    &json!(mine[last].partition),
                    &json!(mine[last].offset)
                ),
                "{args:?} {id}"
            );
        }
    };
    check(&["--group", "billing"], &|e| {
        committed.get(&e.partition).is_some_and(|c| e.offset < *c)
    });
    let at = BASE + 100 * 1000;
    let time = chrono::DateTime::from_timestamp_millis(at)
        .unwrap()
        .to_rfc3339();
    check(&["--at", &time], &|e| e.timestamp <= at);
    check(&[], &|_| true);
    // Odd timestamps: acc-04 gets an event stamped in the future, then one stamped
    // at the start. Its state at T is after the latter, with every event before it
    // folded (the future one too), as `state --at` has it.
    let p = 4 % 3;
    let odd = [
        json!({"type": "Touched", "id": "late-1"}),
        json!({"type": "Deposited", "id": "early-1", "amount": 7}),
    ];
    produce(
        &b,
        &[
            Rec::new("accounts", p, "acc-04", &odd[0].to_string()).at(BASE + 10_000_000),
            Rec::new("accounts", p, "acc-04", &odd[1].to_string()).at(BASE),
        ],
    );
    let out = rewind_in(
        dir.path(),
        &[
            "-b",
            &b,
            "states",
            "accounts",
            "--aggregate",
            "acc-04",
            "--at",
            &time,
        ],
    );
    let line = &json_lines(&out)[0];
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e.account == "acc-04")
        .map(|e| &e.value)
        .chain(odd.iter())
        .collect();
    let mut expected = Value::Null;
    for v in &mine {
        expected = apply(&expected, v, false);
    }
    assert_eq!(line["state"], expected);
    assert_eq!(line["index"], mine.len() - 1);
    // Lines by default, one an aggregate, with only this aggregate when asked.
    let out = rewind_in(
        dir.path(),
        &["-b", &b, "states", "accounts", "--aggregate", "acc-04"],
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["aggregate"], "acc-04");
}

#[test]
fn an_outcome_no_longer_wanted_stops_and_says_so() {
    use kafka_rewind::engine::outcome::{outcome, Asked};
    let (cluster, _dir, _) = setup();
    let conn = kafka_rewind::config::Connection {
        brokers: cluster.bootstrap_servers(),
        ..Default::default()
    };
    let config =
        kafka_rewind::config::Config::parse(CONFIG, std::path::Path::new("rewind.toml")).unwrap();
    let asked = |cancel: &'static (dyn Fn() -> bool + Sync)| Asked {
        topic: "accounts",
        committed: [(0, 3)].into(),
        targets: [(0, 0), (1, 0), (2, 0)].into(),
        candidate: None,
        progress: false,
        cancel: Some(cancel),
        on_progress: None,
    };
    let pool = kafka_rewind::engine::pool::Pool::new(&conn);
    let err = outcome(&pool, &config, &asked(&|| true)).unwrap_err();
    assert!(err.is::<kafka_rewind::engine::fold::Cancelled>(), "{err:#}");
    let done = outcome(&pool, &config, &asked(&|| false)).unwrap();
    assert_eq!(done.total, 12);
    // Both outcomes (three passes and two reads of the ends) took their clients from
    // the pool: the cluster's and one scan consumer, lent to each pass in turn.
    assert_eq!(pool.made(), 2);
}

#[test]
fn check_idempotence_names_exactly_the_types_that_are_not() {
    let (cluster, dir, events) = setup();
    let b = cluster.bootstrap_servers();
    let out = rewind_in(
        dir.path(),
        &["-b", &b, "check", "accounts", "--idempotence"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Deposited", "Touched"], "{lines:?}");
    let mut sorted: Vec<&Produced> = events.iter().collect();
    sorted.sort_by_key(|e| (e.partition, e.offset));
    for line in &lines {
        let t = line["type"].as_str().unwrap();
        let of_type = events.iter().filter(|e| e.value["type"] == t).count();
        assert_eq!(
            (&line["events"], &line["not_idempotent"]),
            (&json!(of_type), &json!(of_type))
        );
        // The counter-example: the earliest such event, once and twice, as folded.
        let first = sorted.iter().find(|e| e.value["type"] == t).unwrap();
        let before = fold(
            &BTreeMap::new(),
            sorted
                .iter()
                .copied()
                .filter(|e| e.account == first.account && e.offset < first.offset),
            false,
        );
        let start = before.get(&first.account).cloned().unwrap_or(Value::Null);
        let once = apply(&start, &first.value, false);
        let twice = apply(&once, &first.value, false);
        let f = &line["first"];
        assert_eq!(
            (&f["aggregate"], &f["partition"], &f["offset"]),
            (
                &json!(first.account),
                &json!(first.partition),
                &json!(first.offset)
            )
        );
        assert_eq!((&f["once"], &f["twice"]), (&once, &twice), "{t}");
    }
    // --fail: exit 3 with the summary.
    let out = rewind_in(
        dir.path(),
        &["-b", &b, "check", "accounts", "--idempotence", "--fail"],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 not idempotent (Deposited, Touched)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With the candidate's reducers as the config, Deposited is idempotent.
    std::fs::copy(
        dir.path().join("fixed.toml"),
        dir.path().join("rewind.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rewind.toml"),
        CANDIDATE.replace(
            "name = \"accounts\"",
            "name = \"accounts\"\ntype = \".type\"",
        ),
    )
    .unwrap();
    let out = rewind_in(
        dir.path(),
        &["-b", &b, "check", "accounts", "--idempotence"],
    );
    let types: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["Touched"]);
}
