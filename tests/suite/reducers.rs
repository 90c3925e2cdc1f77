//! Runaway reducers against the real binary: stack overflows, endless loops, slow and
//! memory-hungry programs are stopped and reported on their event, and the fold goes on.

use crate::common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[limits]
reducer_ms = 400

[[topics]]
name = "t"
[topics.reducers]
Inc = "(. // {n: 0}) | .n += 1"
Overflow = "def f: 1 + f; f"
Loop = "def f: f; f"
Slow = "last(range(1e9))"
Hungry = "[range(1e9)] | length"
Broken = "error(\"no\")"
"#;

#[test]
fn runaway_reducers_are_stopped_and_marked_and_the_fold_goes_on() {
    let cluster = mock(&[("t", 1)]);
    let b = cluster.bootstrap_servers();
    let kinds = [
        "Inc", "Overflow", "Inc", "Loop", "Inc", "Slow", "Hungry", "Broken", "Inc",
    ];
    let records: Vec<Rec> = kinds
        .iter()
        .map(|k| Rec::new("t", 0, "a", &json!({"type": k}).to_string()))
        .collect();
    produce(&b, &records);
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), CONFIG).unwrap();
    let started = std::time::Instant::now();
    let out = rewind_in(dir.path(), &["-b", &b, "state", "t", "--aggregate", "a"]);
    let elapsed = started.elapsed();
    let state: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(state["state"], json!({"n": 4}), "{state}");
    let errors: Vec<(i64, String)> = state["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_i64().unwrap(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let at: Vec<i64> = errors.iter().map(|e| e.0).collect();
    assert_eq!(at, [1, 3, 5, 6, 7], "{errors:?}");
    assert!(
        errors[0].1.contains("crashed") && errors[0].1.contains("overflow"),
        "{errors:?}"
    );
    assert!(errors[1].1.contains("ran longer than 400 ms"), "{errors:?}");
    assert!(errors[2].1.contains("ran longer than 400 ms"), "{errors:?}");
    assert!(
        errors[3].1.contains("crashed") || errors[3].1.contains("longer"),
        "{errors:?}"
    );
    assert!(errors[4].1.contains("no"), "{errors:?}");
    // Not a timing assertion: a sanity bound far above the budgets, against hangs.
    assert!(elapsed.as_secs() < 60, "{elapsed:?}");
}
