//! Read models and snapshots in a database, against what the events fold to: on
//! PostgreSQL (a real server, `scripts/postgres`) and SQLite. The oracle is a plain fold
//! here; the database is filled from it, with drift planted.

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
