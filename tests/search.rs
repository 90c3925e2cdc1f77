//! `rewind events TOPIC --where JQ` on librdkafka's mock cluster, against a plain scan
//! filtered in the test.

mod common;

use common::{json_lines, mock, produce, rewind, Rec};
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
