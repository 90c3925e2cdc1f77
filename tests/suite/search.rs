//! `rewind events TOPIC --where JQ` on librdkafka's mock cluster, against a plain scan
//! filtered in the test.

use crate::common::{json_lines, mock, produce, rewind, Rec};
use serde_json::Value;

#[test]
fn where_finds_exactly_what_a_plain_scan_finds() {
    let cluster = mock(&[("pay", 3)]);
    let b = cluster.bootstrap_servers();
    let mut recs = vec![];
    for i in 0..600i64 {
        let amount = (i * 7919) % 2000;
        let mut r = Rec::new(
            "pay",
            (i % 3) as i32,
            &format!("acct-{}", i % 17),
            &format!(r#"{{"type":"Paid","data":{{"amount":{amount}}},"n":{i}}}"#),
        );
        r.headers = vec![("tenant".into(), format!("t{}", i % 2).into_bytes())];
        recs.push(r);
    }
    // Payloads the predicate fails on (a string has no .data), and a tombstone.
    recs.push(Rec::new("pay", 0, "acct-1", "plain text"));
    let mut bytes = Rec::new("pay", 1, "acct-2", "");
    bytes.value = Some(vec![0xff, 0xfe]);
    recs.push(bytes);
    let mut tomb = Rec::new("pay", 2, "acct-3", "");
    tomb.value = None;
    recs.push(tomb);
    produce(&b, &recs);

    let all = json_lines(&rewind(&["-b", &b, "events", "pay"]));
    assert_eq!(all.len(), 603);
    let amount = |l: &Value| l["value"]["data"]["amount"].as_i64();
    let plain: Vec<&Value> = all
        .iter()
        .filter(|l| amount(l).is_some_and(|a| a > 1500))
        .collect();
    let out = rewind(&["-b", &b, "events", "pay", "--where", ".data.amount > 1500"]);
    let found = json_lines(&out);
    assert!(!plain.is_empty());
    assert_eq!(
        found.iter().collect::<Vec<_>>(),
        plain,
        "the same lines, in the same order"
    );
    // The string's failure is counted and said; the bytes ({"base64"}) and the
    // tombstone (null .data is null) are plain no-matches.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--where failed on 1 event(s) of pay (counted as no match); the first at 0/"),
        "{err}"
    );

    // $meta, and --limit counting matches.
    let meta = json_lines(&rewind(&[
        "-b",
        &b,
        "events",
        "pay",
        "--where",
        r#"$meta.headers.tenant == "t1" and $meta.key == "acct-5""#,
    ]));
    let plain_meta: Vec<&Value> = all
        .iter()
        .filter(|l| l["headers"]["tenant"] == "t1" && l["key"] == "acct-5")
        .collect();
    assert!(!plain_meta.is_empty());
    assert_eq!(meta.iter().collect::<Vec<_>>(), plain_meta);
    let limited = json_lines(&rewind(&[
        "-b",
        &b,
        "events",
        "pay",
        "--where",
        ".data.amount > 1500",
        "--limit",
        "3",
    ]));
    assert_eq!(limited.iter().collect::<Vec<_>>(), plain[..3].to_vec());

    // A predicate that does not compile: one line, exit 1.
    let bad = rewind(&["-b", &b, "events", "pay", "--where", ".data.amount >"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--where: cannot parse"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn the_tuis_content_search_finds_what_a_plain_scan_finds_and_n_walks_them() {
    use kafka_rewind::app::{Action, Msg};
    let cluster = mock(&[("pay", 3)]);
    let b = cluster.bootstrap_servers();
    let mut recs: Vec<Rec> = (0..300i64)
        .map(|i| {
            Rec::new(
                "pay",
                (i % 3) as i32,
                &format!("acct-{}", i % 7),
                &format!(r#"{{"data":{{"amount":{}}}}}"#, (i * 37) % 1000),
            )
        })
        .collect();
    recs.push(Rec::new("pay", 1, "acct-1", "not json"));
    produce(&b, &recs);
    let all = json_lines(&rewind(&["-b", &b, "events", "pay"]));
    let want: std::collections::BTreeSet<(i64, i64)> = all
        .iter()
        .filter(|l| {
            l["value"]["data"]["amount"]
                .as_i64()
                .is_some_and(|a| a >= 900)
        })
        .map(|l| {
            (
                l["partition"].as_i64().unwrap(),
                l["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(!want.is_empty());

    let conn = kafka_rewind::config::Connection {
        brokers: b.clone(),
        ..Default::default()
    };
    let mut d = crate::common::Driver::start(conn, kafka_rewind::config::Config::default());
    d.wait("the topics", |a| !a.topics.all.is_empty());
    d.act(Action::Open);
    d.wait("the events", |a| a.topic.events.done);
    // A predicate that does not compile: one line, nothing runs.
    d.act(Action::StartFilter);
    for c in "?.data.amount >".chars() {
        d.act(Action::Type(c));
    }
    d.act(Action::Submit);
    assert!(
        d.app.status.starts_with("?.data.amount >: cannot parse"),
        "{}",
        d.app.status
    );
    assert!(d.app.topic.events.content.is_none());
    // The search: matches stream in; when done, exactly the plain scan's.
    d.act(Action::StartFilter);
    for c in "?.data.amount >= 900".chars() {
        d.act(Action::Type(c));
    }
    d.act(Action::Submit);
    d.messages_until("the search's end", |m| matches!(m, Msg::SearchDone { .. }));
    let content = d.app.topic.events.content.as_ref().unwrap();
    let got: std::collections::BTreeSet<(i64, i64)> = content
        .found
        .iter()
        .map(|c| (i64::from(c.partition), c.offset))
        .collect();
    assert_eq!(got, want);
    assert!(
        d.app.status.contains(&format!(
            "{} matches; the predicate failed on 1 event(s)",
            want.len()
        )),
        "{}",
        d.app.status
    );
    // The cursor is on a match; n walks them all and comes round.
    let at = |d: &crate::common::Driver| {
        let c = d
            .app
            .topic
            .events
            .index
            .get(d.app.topic.events.selected)
            .coord();
        (i64::from(c.partition), c.offset)
    };
    assert!(want.contains(&at(&d)));
    // Matches arrive in any order; once done, the cursor is on the first in order.
    let first_in_order = d
        .app
        .topic
        .events
        .index
        .iter()
        .position(|e| want.contains(&(i64::from(e.coord().partition), e.coord().offset)))
        .unwrap();
    assert_eq!(d.app.topic.events.selected, first_in_order);
    let first = at(&d);
    let mut seen = std::collections::BTreeSet::from([first]);
    for _ in 0..want.len() - 1 {
        d.act(Action::NextMatch);
        assert!(want.contains(&at(&d)));
        seen.insert(at(&d));
    }
    assert_eq!(seen, want, "n visits every match once");
    d.act(Action::NextMatch);
    assert_eq!(at(&d), first, "and comes round");
}
