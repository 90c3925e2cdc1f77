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
    // The topic's check folded with the worker's own client and a scan consumer from
    // its pool: the load's, lent again (and at most one more made meanwhile).
    assert!(
        d.worker.clients_made() <= 3,
        "{} clients for a load, a stream and a check",
        d.worker.clients_made()
    );
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

mod drift;
mod outcome;
