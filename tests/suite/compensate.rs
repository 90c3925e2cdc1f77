//! `rewind compensate` against the mock cluster: a draft writes nothing, --execute
//! produces the drafted event linked to the original, and refusals write nothing.

use crate::common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[topics]]
name = "accounts"
event_id = ".id"
compensations = { DepositReversed = "Deposited" }
compensation_ref = ".reverses"
[topics.compensation_templates]
Deposited = "{type: \"DepositReversed\", id: (\"rev-\" + $event.id), reverses: $event.id, amount: (0 - .amount), at: $meta.offset}"
"#;

fn high(bootstrap: &str, dir: &std::path::Path) -> i64 {
    let topics: Value = serde_json::from_str(&stdout(&rewind_in(
        dir,
        &["-b", bootstrap, "-o", "json", "topics"],
    )))
    .unwrap();
    topic_entry(&topics, "accounts")["high"].as_i64().unwrap()
}

#[test]
fn a_compensating_event_is_drafted_then_produced_once_linked_to_the_original() {
    let cluster = mock(&[("accounts", 2)]);
    let b = cluster.bootstrap_servers();
    let records = [
        Rec::new(
            "accounts",
            1,
            "acct-7",
            &json!({"type": "Opened", "id": "e1"}).to_string(),
        ),
        Rec::new(
            "accounts",
            1,
            "acct-7",
            &json!({"type": "Deposited", "id": "e2", "amount": 50}).to_string(),
        ),
        Rec::new(
            "accounts",
            1,
            "acct-8",
            &json!({"type": "Deposited", "id": "e3", "amount": 9}).to_string(),
        ),
    ];
    produce(&b, &records);
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), CONFIG).unwrap();
    let run = |args: &[&str]| rewind_in(dir.path(), &[&["-b", b.as_str()][..], args].concat());

    let draft: Value = serde_json::from_str(&stdout(&run(&[
        "-o",
        "json",
        "compensate",
        "accounts",
        "--event",
        "1/1",
    ])))
    .unwrap();
    assert_eq!(
        draft["value"],
        json!({"type": "DepositReversed", "id": "rev-e2", "reverses": "e2", "amount": -50, "at": 1})
    );
    assert_eq!(
        (draft["partition"].clone(), draft["key"].clone()),
        (json!(1), json!("acct-7"))
    );
    assert_eq!(draft["headers"]["rewind-compensates"], "accounts/1/1");
    assert_eq!(draft["produced"], Value::Null);
    assert_eq!(high(&b, dir.path()), 3, "a draft writes nothing");

    // Read-only refuses before anything is written; so does an event without a template.
    let refused = run(&[
        "--read-only",
        "compensate",
        "accounts",
        "--event",
        "1/1",
        "--execute",
    ]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("read-only"));
    let no_template = run(&["compensate", "accounts", "--event", "1/0", "--execute"]);
    assert!(String::from_utf8_lossy(&no_template.stderr)
        .contains("no compensation template for `Opened`"));
    assert_eq!(high(&b, dir.path()), 3);

    let produced: Value = serde_json::from_str(&stdout(&run(&[
        "-o",
        "json",
        "compensate",
        "accounts",
        "--event",
        "1/1",
        "--execute",
    ])))
    .unwrap();
    assert_eq!(produced["produced"], json!({"partition": 1, "offset": 3}));
    let events = json_lines(&run(&["events", "accounts", "--aggregate", "acct-7"]));
    let last = events.last().unwrap();
    assert_eq!(
        (last["type"].clone(), last["offset"].clone()),
        (json!("DepositReversed"), json!(3))
    );
    assert_eq!(last["headers"]["rewind-compensates"], "accounts/1/1");
    assert_eq!(last["reverses"], json!({"partition": 1, "offset": 1}));
    assert_eq!(
        events[1]["reversed_by"],
        json!({"partition": 1, "offset": 3})
    );

    // Compensating it again would reverse it twice: refused, nothing written.
    let again = run(&["compensate", "accounts", "--event", "1/1", "--execute"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already reversed by 1/3"));
    assert_eq!(high(&b, dir.path()), 4);
}

#[test]
fn a_template_that_does_not_compile_is_a_config_error_naming_the_type() {
    let dir = sandbox();
    std::fs::write(
        dir.path().join("rewind.toml"),
        "[[topics]]\nname = \"a\"\n[topics.compensation_templates]\nDeposited = \"{type: \"\n",
    )
    .unwrap();
    let out = rewind_in(dir.path(), &["-b", "127.0.0.1:1", "topics"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("compensation template for `Deposited` does not compile"),
        "{err}"
    );
}
