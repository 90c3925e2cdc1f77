//! `rewind story NAME ID` on librdkafka's mock cluster: one order across two topics with
//! different id paths, against a plain merge and fold in the test.

use crate::common::{json_lines, mock, produce, rewind_in, sandbox, Rec};
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[topics]]
name = "orders"
type = ".type"
[topics.reducers]
OrderCreated = "{status: \"created\", total: $event.total}"
OrderPaid = ".status = \"paid\""
OrderShipped = ".status = \"shipped\""

[[topics]]
name = "payments"
type = ".kind"
[topics.reducers]
Authorized = "{amount: $event.data.amount, captured: 0}"
Captured = ".captured = (.captured + $event.data.amount)"

[[stories]]
name = "order"
[stories.topics]
orders = "key"
payments = ".data.orderId"
"#;

const T0: i64 = 1_795_687_200_000;

#[test]
fn a_story_merges_two_topics_in_time_order_with_a_state_per_topic() {
    let cluster = mock(&[("orders", 4), ("payments", 3)]);
    let b = cluster.bootstrap_servers();
    // Orders are keyed by order id (in the partition murmur2 gives them); payments by
    // payment id, with the order id inside.
    let order = |id: &str, kind: &str, t: i64, total: i64| {
        let p = kafka_rewind::model::partitioner::Partitioner::Murmur2
            .partition(id.as_bytes(), 4)
            .unwrap();
        Rec::new(
            "orders",
            p,
            id,
            &format!(r#"{{"type":"{kind}","orderId":"{id}","total":{total}}}"#),
        )
        .at(T0 + t)
    };
    let payment = |pid: &str, order: &str, kind: &str, t: i64, amount: i64, p: i32| {
        Rec::new(
            "payments",
            p,
            pid,
            &format!(r#"{{"kind":"{kind}","data":{{"orderId":"{order}","amount":{amount}}}}}"#),
        )
        .at(T0 + t)
    };
    produce(
        &b,
        &[
            order("o-1", "OrderCreated", 0, 30),
            order("o-2", "OrderCreated", 1, 99),
            payment("pay-1", "o-1", "Authorized", 2, 30, 2),
            payment("pay-9", "o-2", "Authorized", 3, 99, 0),
            order("o-1", "OrderPaid", 4, 30),
            payment("pay-1", "o-1", "Captured", 5, 10, 2),
            payment("pay-2", "o-1", "Captured", 6, 20, 1), // another partition
            order("o-1", "OrderShipped", 7, 30),
        ],
    );
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), CONFIG).unwrap();
    let lines = json_lines(&rewind_in(dir.path(), &["-b", &b, "story", "order", "o-1"]));

    // The plain merge: every record of o-1 from both topics, in time order, each
    // topic folded by hand.
    let all = [
        ("orders", 0, "OrderCreated"),
        ("payments", 2, "Authorized"),
        ("orders", 4, "OrderPaid"),
        ("payments", 5, "Captured"),
        ("payments", 6, "Captured"),
        ("orders", 7, "OrderShipped"),
    ];
    let (mut orders, mut payments) = (Value::Null, Value::Null);
    assert_eq!(lines.len(), all.len(), "{lines:#?}");
    for (line, (topic, t, kind)) in lines.iter().zip(all) {
        match (topic, kind) {
            ("orders", "OrderCreated") => orders = json!({"status": "created", "total": 30}),
            ("orders", "OrderPaid") => orders["status"] = json!("paid"),
            ("orders", _) => orders["status"] = json!("shipped"),
            ("payments", "Authorized") => payments = json!({"amount": 30, "captured": 0}),
            (_, _) => {
                let amount = line["value"]["data"]["amount"].as_i64().unwrap();
                let before = payments["captured"].as_i64().unwrap();
                payments["captured"] = json!(before + amount);
            }
        }
        assert_eq!(
            (
                line["topic"].as_str().unwrap(),
                line["timestamp"].as_i64().unwrap(),
                line["type"].as_str().unwrap()
            ),
            (topic, T0 + t, kind)
        );
        assert_eq!(line["story"], "order");
        assert_eq!(
            line["states"],
            json!({"orders": orders, "payments": payments}),
            "{line}"
        );
    }
    assert_eq!(lines[4]["states"]["payments"]["captured"], 30);

    // The TUI's `:story order o-1`, through the real worker: the same timeline, and at
    // each step the same state per topic.
    {
        use kafka_rewind::app::{Action, Screen};
        let config =
            kafka_rewind::config::Config::parse(CONFIG, std::path::Path::new("rewind.toml"))
                .unwrap();
        let conn = kafka_rewind::config::Connection {
            brokers: b.clone(),
            ..Default::default()
        };
        let mut d = crate::common::Driver::start(conn, config);
        d.act(Action::StartCommand);
        for c in "story order o-1".chars() {
            d.act(Action::Type(c));
        }
        d.act(Action::Submit);
        d.wait(
            "the story",
            |a| matches!(&a.screen, Screen::Story(v) if v.answered()),
        );
        for (step, line) in lines.iter().enumerate() {
            let Screen::Story(story) = &d.app.screen else {
                panic!("left the story")
            };
            let view = story.timeline().expect("read");
            assert_eq!(view.cursor, step);
            let (strand, _, e) = view.event(step).unwrap();
            assert_eq!(
                (strand.topic.as_str(), e.offset),
                (
                    line["topic"].as_str().unwrap(),
                    line["offset"].as_i64().unwrap()
                )
            );
            let states: Vec<&Value> = view.states.iter().map(|(s, _)| s).collect();
            assert_eq!(
                states,
                vec![&line["states"]["orders"], &line["states"]["payments"]]
            );
            d.act(Action::StepForward);
        }
        d.act(Action::Back);
        assert!(matches!(d.app.screen, Screen::Topics));
    }

    // The orders topic, keyed by the id, is read in the key's partition only.
    let config =
        kafka_rewind::config::Config::parse(CONFIG, std::path::Path::new("rewind.toml")).unwrap();
    assert!(config
        .with_aggregate("orders", "key")
        .key_partition("orders", "o-1", 4)
        .is_some());
    assert!(config
        .with_aggregate("payments", ".data.orderId")
        .key_partition("payments", "o-1", 3)
        .is_none());

    // An unknown story, an id with no events, a bad path: one clear line each.
    let out = rewind_in(dir.path(), &["-b", &b, "story", "refund", "o-1"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no story `refund`: the config has order")
    );
    let out = rewind_in(dir.path(), &["-b", &b, "story", "order", "o-404"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("story order: `o-404` has no events in orders, payments"));
    std::fs::write(
        dir.path().join("rewind.toml"),
        CONFIG.replace(".data.orderId", "data"),
    )
    .unwrap();
    let out = rewind_in(dir.path(), &["-b", &b, "story", "order", "o-1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stories[0] (order): topic payments"), "{err}");
}
