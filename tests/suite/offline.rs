//! `rewind --file`: a dump made by `rewind events` opened in the TUI offline, with the
//! real worker serving it: topics, events, the stream with its fold and snapshots, a
//! story; groups and rewinds say why they are not there.

use crate::common::{mock, produce, rewind_in, sandbox, stdout, Driver, Rec};
use kafka_rewind::app::{Action, Screen};
use serde_json::json;

const CONFIG: &str = r#"
[[topics]]
name = "orders"
type = ".type"
snapshots = { topic = "orders-snap", state = ".snap.state", version = ".snap.v" }
[topics.reducers]
OrderCreated = "{status: \"created\", total: $event.total}"
OrderPaid = ".status = \"paid\""
OrderShipped = ".status = \"shipped\""

[[topics]]
name = "orders-snap"
aggregate = ".order"

[[stories]]
name = "order"
[stories.topics]
orders = "key"
"#;

const T0: i64 = 1_795_687_200_000;

#[test]
fn a_dump_opens_offline_with_streams_folds_and_snapshots() {
    let cluster = mock(&[("orders", 2), ("orders-snap", 1)]);
    let b = cluster.bootstrap_servers();
    let order = |id: &str, kind: &str, t: i64| {
        Rec::new(
            "orders",
            if id == "o-1" { 0 } else { 1 },
            id,
            &format!(r#"{{"type":"{kind}","orderId":"{id}","total":30}}"#),
        )
        .at(T0 + t * 61_000)
    };
    let snapshot =
        json!({"order": "o-1", "snap": {"v": 2, "state": {"status": "paid", "total": 30}}});
    produce(
        &b,
        &[
            order("o-1", "OrderCreated", 0),
            order("o-2", "OrderCreated", 1),
            order("o-1", "OrderPaid", 2),
            order("o-1", "OrderShipped", 3),
            Rec::new("orders-snap", 0, "o-1", &snapshot.to_string()).at(T0 + 200_000),
        ],
    );
    let dir = sandbox();
    std::fs::write(dir.path().join("rewind.toml"), CONFIG).unwrap();
    let mut dump = stdout(&rewind_in(dir.path(), &["-b", &b, "events", "orders"]));
    dump.push_str(&stdout(&rewind_in(
        dir.path(),
        &["-b", &b, "events", "orders-snap"],
    )));
    drop(cluster); // offline from here on

    let config =
        kafka_rewind::config::Config::parse(CONFIG, std::path::Path::new("rewind.toml")).unwrap();
    let mut d = Driver::offline(
        kafka_rewind::model::dump::Dump::parse(&dump),
        config,
        "dump.jsonl",
    );
    d.wait("the topics", |a| a.topics.all.len() == 2);
    d.command("topic orders");
    d.wait("the events", |a| {
        a.topic.events.done && a.topic.events.len() == 4
    });
    d.command("agg o-1");
    d.wait(
        "the snapshots and the fold",
        |a| matches!(&a.screen, Screen::Stream(v) if v.ready && v.projection.has_snapshots()),
    );
    d.act(Action::StepForward);
    d.act(Action::StepForward);
    let Screen::Stream(view) = &d.app.screen else {
        panic!("not in the stream")
    };
    assert_eq!(view.state, json!({"status": "shipped", "total": 30}));
    let text = d.screen(120, 30);
    assert!(text.contains("file dump.jsonl"), "{text}");
    insta::assert_snapshot!("offline_stream", text);

    // What needs a cluster says why.
    d.act(Action::Rewind);
    assert!(
        d.app
            .status
            .starts_with("offline (--file dump.jsonl): there are no consumer groups to rewind"),
        "{}",
        d.app.status
    );
    d.command("group");
    assert!(
        d.app
            .status
            .contains("there are no consumer groups to show"),
        "{}",
        d.app.status
    );
    assert!(matches!(d.app.screen, Screen::Stream(_)));

    // A story from the same file.
    d.command("story order o-1");
    d.wait(
        "the story",
        |a| matches!(&a.screen, Screen::Story(v) if v.answered()),
    );
    let Screen::Story(view) = &d.app.screen else {
        panic!()
    };
    use kafka_rewind::app::StoryRead;
    let timeline = match &view.read {
        StoryRead::Read(timeline) => timeline,
        StoryRead::Failed(why) => panic!("{why}"),
        StoryRead::Loading => panic!("still reading"),
    };
    assert_eq!(timeline.order.len(), 3);
}
