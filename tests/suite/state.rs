//! Time travel on a domain and config the project has never seen (a bank ledger),
//! against the mock cluster: state at positions, diffs, aggregates, links, snapshots.

use crate::common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[topics]]
name = "ledger"
aggregate = ".acct"
type = "header:kind"
event_id = ".id"
compensations = { WithdrawalReversed = "Withdrawn" }
compensation_ref = ".reverses"
snapshots = { topic = "ledger-snap", state = ".snap.state", version = ".snap.v" }
[topics.reducers]
Opened = "{owner: $event.owner, balance: 0, ops: 0}"
Deposited = ".balance += $event.amount | .ops += 1"
Withdrawn = ".balance -= $event.amount | .ops += 1"
WithdrawalReversed = ".balance += $event.amount | .ops += 1"
Broken = "error(\"unsupported\")"

[[topics]]
name = "ledger-snap"
aggregate = ".acct"
"#;

struct Ev {
    acct: String,
    kind: &'static str,
    id: String,
    amount: i64,
    reverses: Option<String>,
    ts: i64,
}

/// Accounts a0..a5; account a1 gets a duplicate, a2 a reversal, a3 a broken event.
fn ledger() -> Vec<Ev> {
    let mut out = Vec::new();
    let mut ts = 1_780_000_000_000;
    for round in 0..12 {
        for a in 0..6 {
            ts += 1000;
            let (kind, amount) = match round {
                0 => ("Opened", 0),
                r if r % 3 == 0 => ("Withdrawn", 5 + a),
                _ => ("Deposited", 10 * (round + a)),
            };
            out.push(Ev {
                acct: format!("a{a}"),
                kind,
                id: format!("e-{round}-{a}"),
                amount,
                reverses: None,
                ts,
            });
        }
    }
    let dup = Ev {
        acct: "a1".into(),
        kind: "Deposited",
        id: "e-1-1".into(),
        amount: 20,
        reverses: None,
        ts: ts + 1000,
    };
    let rev = Ev {
        acct: "a2".into(),
        kind: "WithdrawalReversed",
        id: "r-1".into(),
        amount: 7,
        reverses: Some("e-3-2".into()),
        ts: ts + 2000,
    };
    let broken = Ev {
        acct: "a3".into(),
        kind: "Broken",
        id: "b-1".into(),
        amount: 0,
        reverses: None,
        ts: ts + 3000,
    };
    out.extend([dup, rev, broken]);
    out
}

/// One event applied to a state, as the config's reducers do (in plain Rust).
fn apply(state: &mut Value, e: &Ev) {
    let mut add = |delta: i64| {
        state["balance"] = json!(state["balance"].as_i64().unwrap() + delta);
        state["ops"] = json!(state["ops"].as_i64().unwrap() + 1);
    };
    match e.kind {
        "Opened" => {
            *state = json!({"owner": format!("owner of {}", e.acct), "balance": 0, "ops": 0})
        }
        "Deposited" | "WithdrawalReversed" => add(e.amount),
        "Withdrawn" => add(-e.amount),
        _ => {}
    }
}

/// An independent fold of an account's events through `upto`.
fn fold(events: &[&Ev], upto: usize) -> Value {
    let mut state = Value::Null;
    for e in &events[..=upto] {
        apply(&mut state, e);
    }
    state
}

struct Setup {
    cluster: Mock,
    dir: tempfile::TempDir,
    events: Vec<Ev>,
}

fn setup() -> Setup {
    let cluster = mock(&[("ledger", 2), ("ledger-snap", 1)]);
    let events = ledger();
    let partition = |acct: &str| (acct[1..].parse::<i32>().unwrap()) % 2;
    let mut records: Vec<Rec> = events
        .iter()
        .map(|e| {
            let mut v = json!({"id": e.id, "acct": e.acct, "amount": e.amount, "owner": format!("owner of {}", e.acct)});
            if let Some(r) = &e.reverses {
                v["reverses"] = json!(r);
            }
            let mut rec = Rec::new("ledger", partition(&e.acct), &format!("k-{}", e.id), &v.to_string()).at(e.ts);
            rec.headers = vec![("kind".into(), e.kind.as_bytes().to_vec())];
            rec
        })
        .collect();
    // Snapshots of a4: v6 right, v9 with a wrong balance.
    let a4: Vec<&Ev> = events.iter().filter(|e| e.acct == "a4").collect();
    let mut wrong = fold(&a4, 8);
    wrong["balance"] = json!(1);
    for (v, state) in [(6, fold(&a4, 5)), (9, wrong)] {
        records.push(Rec::new(
            "ledger-snap",
            0,
            "a4",
            &json!({"acct": "a4", "snap": {"v": v, "state": state}}).to_string(),
        ));
    }
    produce(&cluster.bootstrap_servers(), &records);
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), CONFIG).unwrap();
    Setup {
        cluster,
        dir,
        events,
    }
}

impl Setup {
    fn run(&self, args: &[&str]) -> Value {
        let b = self.cluster.bootstrap_servers();
        let mut full = vec!["-b", b.as_str()];
        full.extend_from_slice(args);
        serde_json::from_str(&stdout(&rewind_in(self.dir.path(), &full))).unwrap()
    }
    fn account(&self, acct: &str) -> Vec<&Ev> {
        self.events.iter().filter(|e| e.acct == acct).collect()
    }
}

#[test]
fn state_equals_an_independent_fold_at_index_coordinate_and_time() {
    let s = setup();
    let a5 = s.account("a5");
    for index in [0, 3, 7, 11] {
        let got = s.run(&[
            "state",
            "ledger",
            "--aggregate",
            "a5",
            "--at",
            &index.to_string(),
        ]);
        assert_eq!(got["state"], fold(&a5, index), "index {index}");
        assert_eq!(got["index"], index);
        assert_eq!(got["errors"], json!([]));
    }
    // a5 lives in partition 1; its events are every third record there: offsets 2, 5, 8, …
    let got = s.run(&["state", "ledger", "--aggregate", "a5", "--at", "1/8"]);
    assert_eq!(
        (got["index"].clone(), got["state"].clone()),
        (json!(2), fold(&a5, 2))
    );
    // Between events 4 and 5 in time: the state after event 4.
    let t = chrono::DateTime::from_timestamp_millis(a5[4].ts + 500)
        .unwrap()
        .to_rfc3339();
    let got = s.run(&["state", "ledger", "--aggregate", "a5", "--at", &t]);
    assert_eq!(
        (got["index"].clone(), got["state"].clone()),
        (json!(4), fold(&a5, 4))
    );
    let last = s.run(&["state", "ledger", "--aggregate", "a5"]);
    assert_eq!(last["state"], fold(&a5, a5.len() - 1));
}

#[test]
fn diff_shows_the_change_made_by_one_event() {
    let s = setup();
    let got = s.run(&[
        "state",
        "ledger",
        "--aggregate",
        "a0",
        "--at",
        "3",
        "--diff",
    ]);
    let a0 = s.account("a0");
    let (before, after) = (fold(&a0, 2), fold(&a0, 3));
    assert_eq!(got["type"], "Withdrawn");
    assert_eq!(
        got["changes"],
        json!([
            {"path": "/balance", "op": "replace", "before": before["balance"], "after": after["balance"]},
            {"path": "/ops", "op": "replace", "before": 2, "after": 3}
        ])
    );
}

#[test]
fn broken_reducer_marks_its_event_and_the_fold_goes_on() {
    let s = setup();
    let got = s.run(&["state", "ledger", "--aggregate", "a3"]);
    let a3 = s.account("a3");
    assert_eq!(got["state"], fold(&a3, a3.len() - 1));
    let errors = got["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["index"], a3.len() - 1);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("unsupported"));
}

#[test]
fn aggregates_and_links() {
    let s = setup();
    let aggs = s.run(&["aggregates", "ledger", "-o", "json"]);
    let counts: Vec<(String, i64)> = aggs
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["aggregate"].as_str().unwrap().into(),
                a["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("a0", 12),
            ("a1", 13),
            ("a2", 13),
            ("a3", 13),
            ("a4", 12),
            ("a5", 12)
        ]
        .map(|(a, c)| (a.to_string(), c))
    );
    assert_eq!(aggs[2]["last_type"], "WithdrawalReversed");

    let b = s.cluster.bootstrap_servers();
    let lines = json_lines(&rewind_in(s.dir.path(), &["-b", &b, "events", "ledger"]));
    let find = |id: &str| {
        lines
            .iter()
            .find(|l| l["value"]["id"] == id && l.get("duplicate_of").is_none())
            .unwrap()
            .clone()
    };
    let coord = |l: &Value| json!({"partition": l["partition"], "offset": l["offset"]});
    let dup = lines
        .iter()
        .find(|l| l.get("duplicate_of").is_some())
        .expect("a duplicate");
    assert_eq!(dup["value"]["id"], "e-1-1");
    assert_eq!(dup["duplicate_of"], coord(&find("e-1-1")));
    let (rev, reversed) = (find("r-1"), find("e-3-2"));
    assert_eq!(rev["reverses"], coord(&reversed));
    assert_eq!(reversed["reversed_by"], coord(&rev));
    assert_eq!(
        lines.iter().filter(|l| l.get("reverses").is_some()).count(),
        1
    );
}

#[test]
fn snapshot_divergences_name_their_paths() {
    let s = setup();
    let got = s.run(&["snapshots", "ledger", "--aggregate", "a4", "-o", "json"]);
    let a4 = s.account("a4");
    assert_eq!(got[0]["version"], 6);
    assert_eq!(got[0]["matches"], true);
    assert_eq!(got[1]["version"], 9);
    assert_eq!(got[1]["matches"], false);
    assert_eq!(
        got[1]["changes"],
        json!([{"path": "/balance", "op": "replace", "before": 1, "after": fold(&a4, 8)["balance"]}])
    );
}

#[test]
fn state_can_start_from_the_latest_snapshot() {
    let s = setup();
    let a4 = s.account("a4");
    let got = s.run(&[
        "state",
        "ledger",
        "--aggregate",
        "a4",
        "--at",
        "10",
        "--from-snapshot",
    ]);
    assert_eq!(
        got["replayed_from"],
        json!({"snapshot_version": 9, "events": 2})
    );
    // Snapshot v9 carries a wrong balance of 1; events 9 and 10 are folded onto it.
    let mut expected = fold(&a4, 8);
    expected["balance"] = json!(1);
    apply(&mut expected, a4[9]);
    apply(&mut expected, a4[10]);
    assert_eq!(got["state"], expected);
    let early = s.run(&[
        "state",
        "ledger",
        "--aggregate",
        "a4",
        "--at",
        "7",
        "--from-snapshot",
    ]);
    assert_eq!(
        early["replayed_from"],
        json!({"snapshot_version": 6, "events": 2})
    );
    assert_eq!(early["state"], fold(&a4, 7), "snapshot v6 is right");
    let replay = s.run(&["state", "ledger", "--aggregate", "a4", "--at", "10"]);
    assert_eq!(
        replay["replayed_from"],
        json!({"snapshot_version": null, "events": 11})
    );
    assert_eq!(replay["state"], fold(&a4, 10));
}
