use super::*;
use serde_json::json;

fn reducers(pairs: &[(&str, &str)]) -> Reducers {
    Reducers::compile(
        &pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
    .unwrap()
}

fn run(r: &Reducers, kind: &str, state: Value, event: Value) -> Result<Value, String> {
    let meta = json!({"type": kind, "offset": 7});
    r.apply(kind, &to_val(&state), &to_val(&event), &to_val(&meta))
        .map(|v| from_val(&v))
}

#[test]
fn typed_fallback_and_default_reducers() {
    let r = reducers(&[
        ("Created", "$event.data"),
        ("Shipped", ".status = \"shipped\" | .at = $meta.offset"),
    ]);
    assert_eq!(
        run(&r, "Created", Value::Null, json!({"data": {"a": 1}})),
        Ok(json!({"a": 1}))
    );
    assert_eq!(
        run(&r, "Shipped", json!({"a": 1}), json!({})),
        Ok(json!({"a": 1, "status": "shipped", "at": 7}))
    );
    // The default: a recursive merge of .data (or the event) into the state.
    assert_eq!(
        run(
            &r,
            "Other",
            json!({"a": {"x": 1}}),
            json!({"data": {"a": {"y": 2}}})
        ),
        Ok(json!({"a": {"x": 1, "y": 2}}))
    );
    assert_eq!(
        run(&r, "Other", Value::Null, json!({"b": 1})),
        Ok(json!({"b": 1}))
    );
    let r = reducers(&[("*", ". + ($event.data // {})")]);
    assert_eq!(
        run(&r, "Any", Value::Null, json!({"data": {"n": 1}})),
        Ok(json!({"n": 1}))
    );
}

#[test]
fn two_runs_of_one_key_in_one_call_follow_each_other() {
    let r = reducers(&[("Add", "(. // {}) | .n = ((.n // 0) + $event.n)")]);
    let event = to_val(&json!({"n": 2}));
    let meta = Val::Null;
    let step = |index| Step {
        stream: 1,
        index,
        event_type: "Add",
        event: &event,
        meta: &meta,
        text: None,
        undecodable: None,
    };
    let run = |steps| ResidentRun {
        key: 7,
        steps,
        flag_state: false,
        flag_from: 0,
        saved: "null",
        seed: false,
        twice: false,
    };
    let answers = r.fold_resident(vec![run(vec![step(0)]), run(vec![step(1), step(2)])]);
    assert_eq!(answers[0].state_text.as_deref(), Some(r#"{"n":2}"#));
    assert_eq!(answers[1].state_text.as_deref(), Some(r#"{"n":6}"#));
}

#[test]
fn failures_are_reported_not_fatal() {
    let r = reducers(&[
        ("Err", "error(\"boom\")"),
        ("None", "empty"),
        ("Two", "1, 2"),
        ("Bad", "$event.data.x"),
    ]);
    assert!(run(&r, "Err", json!({}), json!({}))
        .unwrap_err()
        .contains("boom"));
    assert!(run(&r, "None", json!({}), json!({}))
        .unwrap_err()
        .contains("no output"));
    assert!(run(&r, "Two", json!({}), json!({}))
        .unwrap_err()
        .contains("more than one"));
    assert!(run(&r, "Bad", json!({}), json!("a string")).is_err());
}

fn ledger() -> Reducers {
    let programs = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    Reducers::compile_logic(&Logic {
        reducers: programs(&[(
            "Deposited",
            "(. // {}) | .balance = ((.balance // 0) + $event.amount.value)",
        )]),
        upcasters: programs(&[
            ("Deposited@1", "{type, v: 2, amount: .amt}"),
            (
                "Deposited@2",
                ".v = 3 | .amount = {value: .amount, currency: \"EUR\"}",
            ),
            ("Fee@1", ".v = 1"),
            ("Odd@1", "error(\"no\")"),
        ]),
        invariants: programs(&[
            ("positive", ".balance > 0"),
            ("fails", "if .balance > 10 then error(\"x\") else true end"),
            ("not a boolean", "if .balance > 20 then 1 else true end"),
        ]),
        version: Some(".v".into()),
    })
    .unwrap()
}

fn step(r: &Reducers, kind: &str, state: Value, event: Value) -> Outcome {
    let meta = json!({"type": kind});
    r.step(&to_val(&state), kind, &to_val(&event), &to_val(&meta))
}

#[test]
fn upcasters_chain_while_one_matches_and_reducers_see_the_result() {
    let r = ledger();
    let out = step(
        &r,
        "Deposited",
        Value::Null,
        json!({"type": "Deposited", "v": 1, "amt": 5}),
    );
    assert_eq!(out.error, None);
    assert_eq!(from_val(&out.state), json!({"balance": 5}));
    assert_eq!(
        out.upcast.map(|v| from_val(&v)),
        Some(json!({"type": "Deposited", "v": 3, "amount": {"value": 5, "currency": "EUR"}}))
    );
    // v3 needs none; a missing version is v1.
    let out = step(
        &r,
        "Deposited",
        json!({"balance": 5}),
        json!({"v": 3, "amount": {"value": 1}}),
    );
    assert_eq!(
        (out.upcast, from_val(&out.state)),
        (None, json!({"balance": 6}))
    );
    let out = step(
        &r,
        "Deposited",
        Value::Null,
        json!({"type": "Deposited", "amt": 2}),
    );
    assert_eq!(from_val(&out.state), json!({"balance": 2}));
}

#[test]
fn a_non_increasing_or_failing_upcaster_marks_the_event_and_leaves_the_state() {
    let r = ledger();
    let out = step(&r, "Fee", json!({"balance": 3}), json!({"v": 1}));
    assert!(
        out.error
            .as_deref()
            .unwrap()
            .contains("`Fee@1` gave version 1, not greater than 1"),
        "{out:?}"
    );
    assert_eq!(from_val(&out.state), json!({"balance": 3}));
    let out = step(&r, "Odd", json!({"balance": 3}), json!({"v": 1}));
    assert!(
        out.error.as_deref().unwrap().contains("upcaster `Odd@1`"),
        "{out:?}"
    );
}

#[test]
fn invariants_pass_only_on_true() {
    let r = ledger();
    let broken = |balance: i64| {
        let event = json!({"v": 3, "amount": {"value": balance}});
        step(&r, "Deposited", Value::Null, event).violations
    };
    assert_eq!(broken(5), Vec::<String>::new());
    assert_eq!(broken(-1), ["positive"]);
    assert_eq!(broken(15), ["fails"]);
    assert_eq!(broken(25), ["fails", "not a boolean"]);
}

#[test]
fn compile_errors_name_the_event_type() {
    let err = Reducers::compile(&[("OrderShipped".to_string(), ".status = ".to_string())].into())
        .unwrap_err();
    assert_eq!(err.event_type, "OrderShipped");
    let err = Reducers::compile(&[("X".to_string(), "$nope".to_string())].into()).unwrap_err();
    assert_eq!(err.event_type, "X");
}
