//! The replay lab on a ledger, against the mock cluster and the built binary: old
//! deposits are v1 with a renamed field, lifted by a chain of upcasters (v1 → v2 → v3);
//! an invariant says balances never go negative. A plain fold in this test is the
//! oracle for upcast states, for `check`'s first violations and counts, and for the
//! aggregates `replay --with` says a candidate reducer changes.

use std::collections::BTreeMap;

use crate::common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[topics]]
name = "ledger"
type = ".type"
version = ".v"

[topics.upcasters]
"Deposited@1" = "{type, v: 2, amount: .amt}"
"Deposited@2" = ".v = 3 | .amount = {value: .amount, currency: \"EUR\"}"
"Fee@1" = ".v = 1"

[topics.reducers]
Deposited = "(. // {}) | .balance = ((.balance // 0) + $event.amount.value) | .currency = $event.amount.currency"
Withdrawn = "(. // {}) | .balance = ((.balance // 0) - $event.amount.value)"
Fee = "(. // {}) | .balance = ((.balance // 0) - 1)"

[topics.invariants]
"balance never negative" = "(.balance // 0) >= 0"
"fails when rich" = "if (.balance // 0) > 900 then error(\"too rich to check\") else true end"
"#;

/// The candidate: withdrawals cost 1 more.
const CANDIDATE: &str = r#"
[[topics]]
name = "ledger"
[topics.upcasters]
"Deposited@1" = "{type, v: 2, amount: .amt}"
"Deposited@2" = ".v = 3 | .amount = {value: .amount, currency: \"EUR\"}"
[topics.reducers]
Deposited = "(. // {}) | .balance = ((.balance // 0) + $event.amount.value) | .currency = $event.amount.currency"
Withdrawn = "(. // {}) | .balance = ((.balance // 0) - $event.amount.value - 1)"
"#;

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The ledger: (account, value) in production order.
fn ledger() -> Vec<(String, Value)> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    (0..600)
        .map(|i| {
            let account = format!("acct-{:02}", rng.below(24));
            let amount = rng.below(300) as i64 + 1;
            let value = match rng.below(10) {
                0..=2 => json!({"type": "Deposited", "v": 1, "amt": amount}),
                3..=4 => json!({"type": "Deposited", "v": 2, "amount": amount}),
                5 => json!({"type": "Deposited", "v": 3, "amount": {"value": amount, "currency": "EUR"}}),
                6..=8 => json!({"type": "Withdrawn", "v": 3, "amount": {"value": amount}}),
                _ if i % 2 == 0 => json!({"type": "Fee", "v": 1}),
                _ => json!({"type": "Withdrawn", "v": 3, "amount": {"value": 1}}),
            };
            (account, value)
        })
        .collect()
}

/// The oracle's view of one account.
#[derive(Debug, Default)]
struct Account {
    events: usize,
    balance: i64,
    /// (index, kind) of the first flagged event: "negative", "rich" or "fee".
    first: Option<(usize, &'static str)>,
    violations: usize,
    errors: usize,
    withdrawals: usize,
    balance_with_candidate: i64,
}

/// A plain fold, written without jq: deposits of every version, withdrawals; a Fee's
/// upcaster is broken (it does not raise the version), so a Fee is an error that leaves
/// the balance as it was.
fn oracle(ledger: &[(String, Value)]) -> BTreeMap<String, Account> {
    let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
    for (account, value) in ledger {
        let a = accounts.entry(account.clone()).or_default();
        let index = a.events;
        a.events += 1;
        let error = match value["type"].as_str().unwrap() {
            "Deposited" => {
                let amount = match value["v"].as_i64().unwrap() {
                    1 => value["amt"].as_i64().unwrap(),
                    2 => value["amount"].as_i64().unwrap(),
                    _ => value["amount"]["value"].as_i64().unwrap(),
                };
                a.balance += amount;
                a.balance_with_candidate += amount;
                false
            }
            "Withdrawn" => {
                let amount = value["amount"]["value"].as_i64().unwrap();
                a.balance -= amount;
                a.balance_with_candidate -= amount + 1;
                a.withdrawals += 1;
                false
            }
            _ => true, // Fee: the chain stops with an error (the candidate has no Fee upcaster, and no Fee reducer: the default merges nothing numeric)
        };
        let broken: Vec<&'static str> = [(a.balance < 0, "negative"), (a.balance > 900, "rich")]
            .into_iter()
            .filter_map(|(hit, kind)| hit.then_some(kind))
            .collect();
        if error {
            a.errors += 1;
        }
        if !broken.is_empty() {
            a.violations += 1;
        }
        if a.first.is_none() {
            a.first = match (error, broken.first()) {
                (true, _) => Some((index, "fee")),
                (false, Some(kind)) => Some((index, kind)),
                (false, None) => None,
            };
        }
    }
    accounts
}

fn setup() -> (Mock, tempfile::TempDir) {
    let cluster = mock(&[("ledger", 3)]);
    let records: Vec<Rec> = ledger()
        .iter()
        .map(|(account, value)| Rec {
            topic: "ledger".into(),
            partition: None,
            key: Some(account.as_bytes().to_vec()),
            value: Some(value.to_string().into_bytes()),
            ..Rec::default()
        })
        .collect();
    produce(&cluster.bootstrap_servers(), &records);
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("candidate.toml"), CANDIDATE).unwrap();
    (cluster, dir)
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn upcast_states_and_checks_match_a_plain_fold() {
    let (cluster, dir) = setup();
    let b = cluster.bootstrap_servers();
    let oracle = oracle(&ledger());

    // Upcast states: every account's balance, with the deposits of all three versions.
    for (account, expected) in oracle.iter().take(6) {
        let out = rewind_in(
            dir.path(),
            &["-b", &b, "state", "ledger", "--aggregate", account],
        );
        let state: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            state["state"]["balance"],
            json!(expected.balance),
            "{account}"
        );
        let errors = state["errors"].as_array().unwrap();
        assert_eq!(errors.len(), expected.errors, "{account}: {errors:?}");
        assert!(errors
            .iter()
            .all(|e| e["message"].as_str().unwrap().contains("not greater")));
    }

    // Event lines carry what the upcasters made of them.
    let out = rewind_in(dir.path(), &["-b", &b, "events", "ledger"]);
    let events = lines(&out);
    assert_eq!(events.len(), 600);
    for e in &events {
        let v = &e["value"];
        let amount = v["amt"].as_i64().or(v["amount"].as_i64());
        match (v["type"].as_str().unwrap(), v["v"].as_i64().unwrap()) {
            ("Deposited", 1 | 2) => assert_eq!(
                e["upcast"],
                json!({"type": "Deposited", "v": 3, "amount": {"value": amount.unwrap(), "currency": "EUR"}}),
                "{e}"
            ),
            ("Fee", _) => assert!(
                e["upcast_error"].as_str().unwrap().contains("not greater"),
                "{e}"
            ),
            _ => assert!(e.get("upcast").is_none(), "{e}"),
        }
    }

    // check: the flagged accounts, each with its first flag and its counts.
    let out = rewind_in(dir.path(), &["-b", &b, "check", "ledger"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: BTreeMap<String, Value> = lines(&out)
        .into_iter()
        .map(|l| (l["aggregate"].as_str().unwrap().to_owned(), l))
        .collect();
    let flagged: Vec<&String> = oracle
        .iter()
        .filter(|(_, a)| a.first.is_some())
        .map(|(k, _)| k)
        .collect();
    assert!(
        flagged.len() > 3 && flagged.len() < oracle.len(),
        "the ledger flags some accounts: {}",
        flagged.len()
    );
    assert_eq!(found.keys().collect::<Vec<_>>(), flagged);
    for (account, line) in &found {
        let expected = &oracle[account];
        let (index, kind) = expected.first.unwrap();
        assert_eq!(line["first"]["index"], json!(index), "{account}: {line}");
        assert_eq!(line["violations"], json!(expected.violations), "{account}");
        assert_eq!(line["errors"], json!(expected.errors), "{account}");
        assert_eq!(line["events"], json!(expected.events), "{account}");
        match kind {
            "negative" => {
                assert_eq!(line["first"]["invariant"], "balance never negative");
                assert!(line["first"]["state"]["balance"].as_i64().unwrap() < 0);
            }
            "rich" => assert_eq!(line["first"]["invariant"], "fails when rich"),
            _ => assert!(line["first"]["error"].as_str().unwrap().contains("Fee@1")),
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "checked {} aggregate(s), 600 event(s)",
            oracle.len()
        )),
        "{stderr}"
    );

    // -o json: the summary; --fail: exit 3.
    let out = rewind_in(dir.path(), &["-b", &b, "-o", "json", "check", "ledger"]);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["aggregates"], json!(oracle.len()));
    assert_eq!(summary["events"], json!(600));
    assert_eq!(summary["results"].as_array().unwrap().len(), flagged.len());
    let violating = oracle.values().filter(|a| a.violations > 0).count();
    assert_eq!(summary["violating"], json!(violating));
    let out = rewind_in(dir.path(), &["-b", &b, "check", "ledger", "--fail"]);
    assert_eq!(out.status.code(), Some(3));
    // One aggregate, one partition.
    let account = flagged[0];
    let out = rewind_in(
        dir.path(),
        &["-b", &b, "check", "ledger", "--aggregate", account],
    );
    assert_eq!(lines(&out).len(), 1);
    assert_eq!(lines(&out)[0], found[account]);
}

#[test]
fn replay_with_a_candidate_names_exactly_the_aggregates_it_changes() {
    let (cluster, dir) = setup();
    let b = cluster.bootstrap_servers();
    let oracle = oracle(&ledger());
    let out = rewind_in(
        dir.path(),
        &["-b", &b, "replay", "ledger", "--with", "candidate.toml"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changed: BTreeMap<String, Value> = lines(&out)
        .into_iter()
        .map(|l| (l["aggregate"].as_str().unwrap().to_owned(), l))
        .collect();
    // Accounts with a withdrawal change; so do those with a Fee (the candidate has no
    // Fee upcaster or reducer: the default reducer folds it, the balance stays).
    let expected: Vec<&String> = oracle
        .iter()
        .filter(|(_, a)| a.withdrawals > 0 || a.errors > 0)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(changed.keys().collect::<Vec<_>>(), expected);
    for (account, line) in &changed {
        let a = &oracle[account];
        assert_eq!(line["before"]["balance"], json!(a.balance), "{account}");
        if a.errors == 0 {
            assert_eq!(
                line["after"]["balance"],
                json!(a.balance_with_candidate),
                "{account}"
            );
            assert!(line["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["path"] == "/balance"));
        }
    }

    // Bad input: one clear line each.
    for (file, says) in [("missing.toml", "no such file"), ("rewind.toml", "")] {
        let out = rewind_in(dir.path(), &["-b", &b, "replay", "ledger", "--with", file]);
        if says.is_empty() {
            assert!(out.status.success());
            assert!(stdout(&out).is_empty(), "the same config changes nothing");
        } else {
            assert!(!out.status.success());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(says), "{stderr}");
        }
    }
    std::fs::write(
        dir.path().join("other.toml"),
        "[[topics]]\nname = \"payments\"\n",
    )
    .unwrap();
    let out = rewind_in(
        dir.path(),
        &["-b", &b, "replay", "ledger", "--with", "other.toml"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("no [[topics]] entry for ledger"),
        "{stderr}"
    );
}

#[test]
fn upcasters_and_invariants_that_do_not_compile_are_config_errors_naming_them() {
    let cluster = mock(&[("ledger", 1)]);
    let b = cluster.bootstrap_servers();
    let dir = sandbox();
    for (table, name, code, says) in [
        (
            "upcasters",
            "Deposited@1",
            ".v = ",
            "upcaster for `Deposited@1`",
        ),
        ("upcasters", "Deposited", ".", "`Type@version`"),
        (
            "invariants",
            "positive",
            ".balance >",
            "invariant for `positive`",
        ),
    ] {
        let config =
            format!("[[topics]]\nname = \"ledger\"\n[topics.{table}]\n\"{name}\" = \"{code}\"\n");
        std::fs::write(dir.path().join("rewind.toml"), config).unwrap();
        let out = rewind_in(dir.path(), &["-b", &b, "check", "ledger"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(says), "{stderr}");
    }
}

#[test]
fn in_the_tui_bracket_walks_the_flags_across_aggregates_as_check_finds_them() {
    use kafka_rewind::app::Action;
    let (cluster, dir) = setup();
    let oracle = oracle(&ledger());
    let config = kafka_rewind::config::Config::load(Some(&dir.path().join("rewind.toml"))).unwrap();
    let conn = kafka_rewind::config::Connection {
        brokers: cluster.bootstrap_servers(),
        ..Default::default()
    };
    let mut d = Driver::start(conn, config);
    d.wait("topics", |a| !a.topics.all.is_empty());
    d.act(Action::Open);
    d.wait("the ledger", |a| a.topic.events.done);
    d.act(Action::Open); // the first event's account
    d.wait("the stream", |a| a.stream().is_some_and(|s| s.ready));
    // Walk forward: every landing is a flag of the oracle's, and past an account's last
    // flag the next flagged account opens at its first.
    let mut landings = Vec::new();
    for _ in 0..400 {
        let entered: std::collections::BTreeSet<&String> =
            landings.iter().map(|(a, _)| a).collect();
        if entered.len() >= 3 {
            break;
        }
        let before = d.app.stream().map(|s| (s.aggregate.clone(), s.cursor));
        d.act(Action::NextFlag);
        d.wait("the next flag", |a| {
            a.stream().map(|s| (s.aggregate.clone(), s.cursor)) != before
                || a.status.starts_with("no flagged event")
        });
        if d.app.status.starts_with("no flagged event") {
            break;
        }
        let s = d.app.stream().unwrap();
        landings.push((s.aggregate.clone(), s.cursor));
    }
    let aggregates = &d.app.topic.aggregates;
    let list: Vec<String> = (0..aggregates.len())
        .filter_map(|i| aggregates.row(i, &d.app.topic.events.index))
        .map(|a| a.aggregate.to_owned())
        .collect();
    assert!(landings.len() >= 3, "{landings:?}");
    let mut accounts_seen = Vec::new();
    for (account, index) in &landings {
        let first = oracle[account].first.map(|(i, _)| i);
        assert!(
            first.is_some_and(|f| *index >= f),
            "{account} #{index}: not flagged by the oracle"
        );
        if accounts_seen.last() != Some(account) {
            // Entering an account: at its first flag.
            assert_eq!(Some(*index), first, "{account}");
            if let Some(previous) = accounts_seen.last() {
                let from = list.iter().position(|a| a == previous).unwrap();
                let to = list.iter().position(|a| a == account).unwrap();
                assert!(to > from, "forward in the list");
                assert!(
                    list[from + 1..to].iter().all(|a| oracle[a].first.is_none()),
                    "no flagged account skipped"
                );
            }
            accounts_seen.push(account.clone());
        }
    }
    assert!(accounts_seen.len() >= 2, "{landings:?}");
}

#[test]
fn a_runaway_invariant_marks_its_events_and_every_other_aggregate_folds_as_before() {
    let (cluster, dir) = setup();
    let b = cluster.bootstrap_servers();
    let check = |dir: &std::path::Path| -> BTreeMap<String, Value> {
        let out = rewind_in(dir, &["-b", &b, "check", "ledger"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines(&out)
            .into_iter()
            .map(|l| (l["aggregate"].as_str().unwrap().to_owned(), l))
            .collect()
    };
    let before = check(dir.path());
    // An invariant that never returns on big withdrawals and deposits.
    let runaway = format!(
        "[limits]\nreducer_ms = 300\n{}\n\"loops on big amounts\" = \"if ($event.amount.value // 0) > 295 then (def f: f; f) else true end\"\n",
        CONFIG.trim_end()
    );
    std::fs::write(dir.path().join("rewind.toml"), runaway).unwrap();
    let after = check(dir.path());
    let big: std::collections::BTreeSet<String> = ledger()
        .iter()
        .filter(|(_, v)| {
            let amount = v["amt"]
                .as_i64()
                .or(v["amount"].as_i64())
                .or(v["amount"]["value"].as_i64());
            amount.is_some_and(|a| a > 295)
        })
        .map(|(a, _)| a.clone())
        .collect();
    assert!(!big.is_empty() && big.len() < 24, "{big:?}");
    for account in oracle(&ledger()).keys() {
        match big.contains(account) {
            // Stopped: its events are marked with what happened.
            true => {
                let line = &after[account];
                assert!(
                    line["errors"].as_u64()
                        > before
                            .get(account)
                            .and_then(|l| l["errors"].as_u64())
                            .or(Some(0)),
                    "{line}"
                );
            }
            // Untouched: exactly what check said without the runaway.
            false => assert_eq!(after.get(account), before.get(account), "{account}"),
        }
    }
}

/// The outcome of a rewind, `states` and `check --idempotence` on accounts whose
/// deposits add (`balance += amount`) and touches count (`ops += 1`), neither
/// idempotent, and whose status is set (idempotent). The oracle is a plain fold here.
mod outcome {
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
                let (redelivered, aggregates, wrong) =
                    oracle(&events, &committed, target, candidate);
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
            kafka_rewind::config::Config::parse(CONFIG, std::path::Path::new("rewind.toml"))
                .unwrap();
        let asked = |cancel: &'static (dyn Fn() -> bool + Sync)| Asked {
            topic: "accounts",
            committed: [(0, 3)].into(),
            targets: [(0, 0), (1, 0), (2, 0)].into(),
            candidate: None,
            progress: false,
            cancel: Some(cancel),
            on_progress: None,
        };
        let err = outcome(&conn, &config, &asked(&|| true)).unwrap_err();
        assert!(err.is::<kafka_rewind::engine::fold::Cancelled>(), "{err:#}");
        let done = outcome(&conn, &config, &asked(&|| false)).unwrap();
        assert_eq!(done.total, 12);
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
}

/// Read models and snapshots in a database, against what the events fold to: on
/// PostgreSQL (a real server, `scripts/postgres`) and SQLite. The oracle is a plain fold
/// here; the database is filled from it, with drift planted.
mod drift {
    use super::*;
    use std::time::{Duration, Instant};

    const REDUCERS: &str = r#"
[topics.reducers]
OrderCreated = "{id: $event.id, status: \"created\", total: $event.total, lines: $event.lines}"
StatusSet = ".status = $event.status"
"#;

    /// (partition, order, value) in production order. o-4's last event (its shipping)
    /// is the one the group has not processed.
    fn events() -> Vec<(i32, &'static str, Value)> {
        let created = |id: &str, total: i64| json!({"type": "OrderCreated", "id": id, "total": total, "lines": [{"sku": "A", "qty": total / 10}]});
        let status = |id: &str, s: &str| json!({"type": "StatusSet", "id": id, "status": s});
        vec![
            (0, "o-1", created("o-1", 10)),
            (1, "o-2", created("o-2", 20)),
            (0, "o-3", created("o-3", 30)),
            (1, "o-4", created("o-4", 40)),
            (0, "o-5", created("o-5", 50)),
            (1, "o-6", created("o-6", 60)),
            (0, "o-1", status("o-1", "paid")),
            (1, "o-2", status("o-2", "cancelled")),
            (0, "o-3", status("o-3", "paid")),
            (1, "o-4", status("o-4", "paid")),
            (0, "o-1", status("o-1", "shipped")),
            (1, "o-6", status("o-6", "paid")),
            (1, "o-4", status("o-4", "shipped")),
        ]
    }

    fn fold(events: &[&Value]) -> Value {
        let mut state = Value::Null;
        for e in events {
            match e["type"].as_str().unwrap() {
                "OrderCreated" => {
                    state = json!({"id": e["id"], "status": "created", "total": e["total"], "lines": e["lines"]})
                }
                _ => state["status"] = e["status"].clone(),
            }
        }
        state
    }

    /// Each order's state folded from all its events, or from those the group has
    /// processed (all but the last of partition 1).
    fn oracle(processed_only: bool) -> BTreeMap<String, Value> {
        let events = events();
        let last_of_1 = events.iter().rposition(|(p, _, _)| *p == 1).unwrap();
        let mut by: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for (i, (_, id, v)) in events.iter().enumerate() {
            if processed_only && i == last_of_1 {
                continue;
            }
            by.entry(id.to_string()).or_default().push(v);
        }
        by.into_iter().map(|(id, evs)| (id, fold(&evs))).collect()
    }

    /// The topic on the mock, the group `projector` at all but o-4's shipping.
    fn setup(name: &str) -> Mock {
        let cluster = mock(&[(name, 2)]);
        let records: Vec<Rec> = events()
            .iter()
            .map(|(p, id, v)| Rec::new(name, *p, id, &v.to_string()))
            .collect();
        produce(&cluster.bootstrap_servers(), &records);
        commit(
            &cluster.bootstrap_servers(),
            "projector",
            name,
            &[(0, 6), (1, 6)],
        );
        cluster
    }

    /// The rows the consumer wrote: its fold at the group's offsets, with a lost update
    /// (o-1 still paid), a missed cancellation (o-2 still created), o-3 missing, and an
    /// `updated_at` of its own on every row (ignored).
    fn rows() -> Vec<(String, Value)> {
        oracle(true)
            .into_iter()
            .filter(|(id, _)| id != "o-3")
            .map(|(id, mut state)| {
                match id.as_str() {
                    "o-1" => state["status"] = json!("paid"),
                    "o-2" => state["status"] = json!("created"),
                    _ => {}
                }
                state["updated_at"] = json!(format!("2026-12-01T10:00:0{}Z", id.len()));
                (id, state)
            })
            .collect()
    }

    fn config(topic: &str, database: &str, url: &str, query: &str, snapshots: &str) -> String {
        format!(
            "[databases.{database}]\nurl = \"{url}\"\n\n[[topics]]\nname = \"{topic}\"\ntype = \".type\"\naggregate = \".id\"\nread_model = {{ database = \"{database}\", query = \"{query}\", ignore = [\"/updated_at\"] }}\n{snapshots}{REDUCERS}"
        )
    }

    /// `drift` lists exactly the drifted and missing orders, with the right changes:
    /// with `--group`, o-4 (behind, not drifted) is right; without, it differs.
    fn assert_drift(dir: &std::path::Path, b: &str, topic: &str) {
        let run = |extra: &[&str]| {
            let mut args = vec!["-b", b, "-o", "json", "drift", topic];
            args.extend_from_slice(extra);
            let out = rewind_in(dir, &args);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_str::<Value>(&stdout(&out)).unwrap()
        };
        let at_group = run(&["--group", "projector"]);
        let ids = |j: &Value| -> Vec<String> {
            j["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["aggregate"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids(&at_group), ["o-1", "o-2", "o-3"], "{at_group:#}");
        assert_eq!(
            (
                &at_group["aggregates"],
                &at_group["matching"],
                &at_group["differing"],
                &at_group["missing"]
            ),
            (&json!(6), &json!(3), &json!(2), &json!(1))
        );
        let folded = oracle(true);
        for r in at_group["results"].as_array().unwrap() {
            let id = r["aggregate"].as_str().unwrap();
            assert_eq!(r["folded"], folded[id], "{id}");
            match id {
                "o-3" => {
                    assert_eq!(r["read_model"], Value::Null);
                    assert_eq!(r["changes"], json!([]));
                }
                _ => {
                    let want = if id == "o-1" {
                        ("shipped", "paid")
                    } else {
                        ("cancelled", "created")
                    };
                    assert_eq!(
                        r["changes"],
                        json!([{"path": "/status", "op": "replace", "before": want.0, "after": want.1}]),
                        "{id}"
                    );
                    assert!(r["read_model"]["updated_at"].is_string(), "the row as read");
                }
            }
        }
        let to_end = run(&[]);
        assert_eq!(ids(&to_end), ["o-1", "o-2", "o-3", "o-4"], "{to_end:#}");
        let o4 = &to_end["results"][3];
        assert_eq!(o4["folded"], oracle(false)["o-4"]);
        assert_eq!(o4["changes"][0]["after"], "paid");
        // Lines and a summary by default; --fail exits 3.
        let out = rewind_in(
            dir,
            &["-b", b, "drift", topic, "--group", "projector", "--fail"],
        );
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("6 aggregate(s) of "),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = rewind_in(
            dir,
            &["-b", b, "drift", topic, "--aggregate", "o-5", "--fail"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `rewind snapshots` on database rows: o-1's state at versions 1 and 2 (right) and
    /// 3 (wrong: a snapshotter that kept `paid`).
    fn assert_snapshots(dir: &std::path::Path, b: &str, topic: &str) {
        let out = rewind_in(
            dir,
            &[
                "-b",
                b,
                "-o",
                "json",
                "snapshots",
                topic,
                "--aggregate",
                "o-1",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let matches: Vec<(Value, Value)> = results
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["version"].clone(), r["matches"].clone()))
            .collect();
        assert_eq!(
            matches,
            [
                (json!(1), json!(true)),
                (json!(2), json!(true)),
                (json!(3), json!(false))
            ]
        );
        assert_eq!(results[2]["changes"][0]["path"], "/status");
        assert_eq!(results[2]["row"], 2);
    }

    /// o-1's snapshots as (state, version).
    fn o1_snapshots() -> Vec<(Value, i64)> {
        let events = events();
        let mine: Vec<&Value> = events
            .iter()
            .filter(|(_, id, _)| *id == "o-1")
            .map(|(_, _, v)| v)
            .collect();
        let mut wrong = fold(&mine);
        wrong["status"] = json!("paid");
        vec![(fold(&mine[..1]), 1), (fold(&mine[..2]), 2), (wrong, 3)]
    }

    #[test]
    fn drift_and_snapshots_on_postgresql() {
        let pg = Postgres::shared();
        let mut client = pg.client();
        let table = unique("orders_rm").replace('-', "_");
        let texts = format!("{table}_text");
        let snaps = format!("{table}_snap");
        client
            .batch_execute(&format!(
                "create table {table} (id text primary key, doc jsonb not null, note text);
                 create table {texts} (id text primary key, doc text not null);
                 create table {snaps} (aggregate_id text, state jsonb, version int);"
            ))
            .unwrap();
        for (id, doc) in rows() {
            client
                .execute(
                    &format!("insert into {table} values ($1, $2, 'x')"),
                    &[&id, &doc],
                )
                .unwrap();
            client
                .execute(
                    &format!("insert into {texts} values ($1, $2)"),
                    &[&id, &doc.to_string()],
                )
                .unwrap();
        }
        for (state, version) in o1_snapshots() {
            client
                .execute(
                    &format!("insert into {snaps} values ('o-1', $1, $2)"),
                    &[&state, &(version as i32)],
                )
                .unwrap();
        }
        let cluster = setup("pg-orders");
        let b = cluster.bootstrap_servers();
        let dir = sandbox();
        let snapshots = format!(
            "snapshots = {{ database = \"shop\", query = \"select state, version from {snaps} where aggregate_id = $1 order by version\" }}\n"
        );
        // jsonb, the row as a whole (to_jsonb of a subquery).
        let query = format!("select doc from {table} where id = $1");
        std::fs::write(
            dir.path().join("rewind.toml"),
            config("pg-orders", "shop", &pg.url, &query, &snapshots),
        )
        .unwrap();
        assert_drift(dir.path(), &b, "pg-orders");
        assert_snapshots(dir.path(), &b, "pg-orders");
        // A text column holding JSON.
        let query = format!("select doc from {texts} where id = $1");
        std::fs::write(
            dir.path().join("rewind.toml"),
            config("pg-orders", "shop", &pg.url, &query, ""),
        )
        .unwrap();
        assert_drift(dir.path(), &b, "pg-orders");

        // Bad input: one clear line each, and nothing written.
        let password = pg
            .url
            .split(':')
            .nth(2)
            .unwrap()
            .split('@')
            .next()
            .unwrap()
            .to_owned();
        let failing = |url: &str, query: &str| {
            std::fs::write(
                dir.path().join("rewind.toml"),
                config("pg-orders", "shop", url, query, ""),
            )
            .unwrap();
            let started = Instant::now();
            let out = rewind_in(
                dir.path(),
                &["-b", &b, "--timeout", "2000", "drift", "pg-orders"],
            );
            let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                !err.contains(&password),
                "the password is never shown: {err}"
            );
            (err, started.elapsed())
        };
        let (err, _) = failing(&pg.url, &format!("select doc fro {table} where id = $1"));
        assert!(
            err.contains("the read model of pg-orders")
                && err.contains("does not run")
                && err.contains("syntax error"),
            "{err}"
        );
        let (err, _) = failing(&pg.url, &format!("select 42 from {table} where id = $1"));
        assert!(err.contains("not JSON"), "{err}");
        let (err, _) = failing(&pg.url.replace(&password, "wrong-password"), &query);
        assert!(
            !err.contains("wrong-password"),
            "the configured password is not shown either: {err}"
        );
        assert!(
            err.contains("cannot connect to PostgreSQL")
                && err.contains("password authentication failed"),
            "{err}"
        );
        let closed = format!(
            "postgres://rewind:{password}@127.0.0.1:{}/rewind",
            free_port()
        );
        let (err, waited) = failing(&closed, &query);
        assert!(
            err.contains("cannot connect to PostgreSQL at 127.0.0.1:")
                && err.contains("within 2000 ms"),
            "{err}"
        );
        assert!(waited < Duration::from_secs(30), "bounded: {waited:?}");
        // A query that would write is refused by the read-only session.
        let (err, _) = failing(
            &pg.url,
            &format!("update {table} set note = 'written' where id = $1 returning doc"),
        );
        assert!(err.contains("read-only transaction"), "{err}");
        let written: i64 = client
            .query_one(
                &format!("select count(*) from {table} where note = 'written'"),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(written, 0);
        // Nor can a query make the session writable for the next aggregate's: the first
        // (o-1) turns the session's default off, the second (o-2) calls a function that
        // writes.
        client
            .batch_execute(&format!(
                "create function {table}_w(text) returns jsonb language sql as $$ update {table} set note = 'written' where id = $1 returning doc $$;"
            ))
            .unwrap();
        let sneaky = format!(
            "select case when $1 = 'o-1' then (select doc from {table} where id = $1 and set_config('default_transaction_read_only', 'off', false) = 'off') else {table}_w($1) end"
        );
        let (err, _) = failing(&pg.url, &sneaky);
        assert!(err.contains("read-only transaction"), "{err}");
        let written: i64 = client
            .query_one(
                &format!("select count(*) from {table} where note = 'written'"),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(written, 0);
        // TLS asked for: said so, before anything is sent.
        let (err, _) = failing(&format!("{}?sslmode=require", pg.url), &query);
        assert!(
            err.contains("sslmode=require") && err.contains("TLS"),
            "{err}"
        );
        // A query with no column: one line, not a crash.
        let (err, _) = failing(&pg.url, &format!("select from {table} where id = $1"));
        assert!(err.contains("gives 0 column(s)"), "{err}");
        // A password with an unescaped @ is refused before anything is asked, unshown.
        let (err, _) = failing(&pg.url.replace(&password, "hun@ter2"), &query);
        assert!(err.contains("%40") && !err.contains("ter2"), "{err}");
    }

    #[test]
    fn drift_and_snapshots_on_sqlite() {
        let dir = sandbox();
        let file = dir.path().join("shop.db");
        let db = rusqlite::Connection::open(&file).unwrap();
        db.execute_batch(
            "create table orders (id text primary key, doc text not null);
             create table snaps (aggregate_id text, state text, version integer);",
        )
        .unwrap();
        for (id, doc) in rows() {
            db.execute("insert into orders values (?1, ?2)", (&id, doc.to_string()))
                .unwrap();
        }
        for (state, version) in o1_snapshots() {
            db.execute(
                "insert into snaps values ('o-1', ?1, ?2)",
                (state.to_string(), version),
            )
            .unwrap();
        }
        drop(db);
        let cluster = setup("lite-orders");
        let b = cluster.bootstrap_servers();
        let snapshots = "snapshots = { database = \"shop\", query = \"select state, version from snaps where aggregate_id = $1 order by version\" }\n";
        // Relative to the config file's directory.
        std::fs::write(
            dir.path().join("rewind.toml"),
            config(
                "lite-orders",
                "shop",
                "sqlite:shop.db",
                "select doc from orders where id = $1",
                snapshots,
            ),
        )
        .unwrap();
        let before = std::fs::read(&file).unwrap();
        assert_drift(dir.path(), &b, "lite-orders");
        assert_snapshots(dir.path(), &b, "lite-orders");
        // json_object() builds the JSON in the query.
        std::fs::write(
            dir.path().join("rewind.toml"),
            config(
                "lite-orders",
                "shop",
                "sqlite:shop.db",
                "select json(doc) from orders where id = $1",
                "",
            ),
        )
        .unwrap();
        assert_drift(dir.path(), &b, "lite-orders");
        let failing = |url: &str, query: &str| {
            std::fs::write(
                dir.path().join("rewind.toml"),
                config("lite-orders", "shop", url, query, ""),
            )
            .unwrap();
            let out = rewind_in(dir.path(), &["-b", &b, "drift", "lite-orders"]);
            let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            err
        };
        let err = failing("sqlite:shop.db", "select doc from nowhere where id = $1");
        assert!(
            err.contains("does not run") && err.contains("no such table"),
            "{err}"
        );
        let err = failing("sqlite:shop.db", "select 42 from orders where id = $1");
        assert!(err.contains("not JSON"), "{err}");
        let err = failing(
            "sqlite:elsewhere.db",
            "select doc from orders where id = $1",
        );
        assert!(err.contains("no SQLite file at"), "{err}");
        let err = failing(
            "sqlite:shop.db",
            "update orders set doc = '{}' where id = $1 returning doc",
        );
        assert!(
            err.contains("readonly") || err.contains("read-only") || err.contains("read only"),
            "{err}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), before, "nothing written");
    }
}
