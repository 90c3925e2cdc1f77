//! Snapshot tests of every screen, drawn by the real `ui::draw` into ratatui's
//! `TestBackend` at a fixed size, from app states driven through `update`/`apply`.

use kafka_rewind::app::{Action, App, Command, Msg, Severity};
use kafka_rewind::config::Config;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::group::{GroupState, GroupStatus};
use kafka_rewind::model::{Event, PartitionInfo, TopicInfo, TopicRules};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

mod lab;
mod rewind;
mod stream;

/// A classic group's status as its coordinator answers it.
fn classic(state: &str) -> GroupStatus {
    GroupStatus {
        state: GroupState::named(state),
        kind: kafka_rewind::model::group::GroupType::Classic,
    }
}

fn screen(app: &App) -> String {
    screen_sized(app, 110, 28)
}

/// The Stream screen has four panes: drawn at a common wide-terminal size.
fn wide(app: &App) -> String {
    screen_sized(app, 140, 30)
}

fn screen_sized(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| kafka_rewind::ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

/// The colour the status bar (the screen's last line) draws its first letter in.
fn status_colour(app: &App) -> ratatui::style::Color {
    let mut terminal = Terminal::new(TestBackend::new(110, 28)).unwrap();
    terminal.draw(|f| kafka_rewind::ui::draw(f, app)).unwrap();
    terminal.backend().buffer()[(0, 27)].fg
}

fn topic(name: &str, highs: &[i64]) -> TopicInfo {
    TopicInfo {
        name: name.into(),
        partitions: highs
            .iter()
            .enumerate()
            .map(|(i, &high)| PartitionInfo {
                partition: i as i32,
                low: 0,
                high,
            })
            .collect(),
        ..Default::default()
    }
}

fn app() -> App {
    let mut app = App::new("127.0.0.1:9092".into(), Config::default());
    let _ = app.start();
    let kept = |mut t: TopicInfo, policy: &str, retention_ms: i64| {
        t.settings = kafka_rewind::model::topic::TopicSettings {
            cleanup_policy: Some(policy.into()),
            retention_ms: Some(retention_ms),
        };
        t
    };
    // Its on-disk index counts its records: transaction markers take offsets too.
    let mut orders = kept(topic("orders", &[921, 790, 723]), "delete", 604_800_000);
    orders.records = Some(2_380);
    app.apply(Msg::Topics(Ok(vec![
        orders,
        kept(topic("orders-snapshots", &[351]), "compact", -1),
        kept(
            topic("payments", &[340, 322, 357]),
            "compact,delete",
            86_400_000,
        ),
        // A broker that refused DescribeConfigs for it.
        topic("shipments", &[800, 799]),
    ])));
    app
}

fn event(
    offset: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: Vec<(&'static str, Option<&'static [u8]>)>,
) -> Event {
    let raw = RawRecord {
        topic: "orders",
        partition: 0,
        offset,
        timestamp: Some(1_795_687_200_000 + offset * 61_000),
        key,
        headers,
        value,
    };
    Event::decode(&raw, &TopicRules::default())
}

fn events() -> Vec<Event> {
    vec![
        event(0, Some(b"order-1001"), Some(br#"{"eventId":"e-1","type":"OrderCreated","orderId":"order-1001","data":{"items":[{"sku":"KB-0042","qty":1}],"total":89.9}}"#), vec![("source", Some(b"order-service"))]),
        event(1, Some(b"order-1002"), Some(br#"{"eventId":"e-2","type":"OrderCreated","orderId":"order-1002","data":{"total":12.5}}"#), vec![]),
        event(2, Some(b"order-1001"), Some(br#"{"eventId":"e-3","type":"OrderPaid","orderId":"order-1001","data":{"amount":89.9}}"#), vec![]),
        event(3, Some(b"order-1001"), Some(b"{\"eventId\":\"e-4\",\"type\":\"OrderPacked\",\"data\":{\"wareh"), vec![]),
        event(4, Some(b"bin"), Some(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x41]), vec![]),
        event(5, Some(b"order-1002"), None, vec![]),
        event(6, Some(b"evil\x1b]0;pwned\x07"), Some(b"\x1b[2Jclear screen?"), vec![("x", Some(b"\x1b[31mred"))]),
    ]
}

/// Opens the selected topic and delivers `events()`; `finished` says whether the load
/// completes (else it is still in progress, `total` events expected).
fn load(app: &mut App, total: i64, finished: bool) {
    let _ = app.update(Action::Open);
    app.apply(Msg::TopicSize {
        generation: 1,
        total,
    });
    app.apply(Msg::Events {
        generation: 1,
        events: events(),
    });
    if finished {
        app.apply(Msg::Loaded {
            generation: 1,
            result: Ok(()),
        });
    }
}

fn opened(app: &mut App) {
    load(app, 7, true);
}

#[test]
fn topics_screen() {
    insta::assert_snapshot!(screen(&app()));
}

#[test]
fn topics_loading_and_error() {
    let mut app = App::new("10.0.0.1:9092".into(), Config::default());
    let _ = app.start();
    insta::assert_snapshot!("topics_loading", screen(&app));
    app.apply(Msg::Topics(Err(
        "cannot reach the brokers at 10.0.0.1:9092 (timed out): check -b / REWIND_BROKERS".into(),
    )));
    insta::assert_snapshot!("topics_error", screen(&app));
}

#[test]
fn topics_filter_typing() {
    let mut app = app();
    let _ = app.update(Action::StartFilter);
    for c in "order".chars() {
        let _ = app.update(Action::Type(c));
    }
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn events_loading_shows_progress() {
    let mut app = app();
    load(&mut app, 14, false);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn events_json_detail() {
    let mut app = app();
    opened(&mut app);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn events_malformed_binary_tombstone_and_escapes() {
    let mut app = app();
    opened(&mut app);
    let _ = app.update(Action::MoveDown);
    let _ = app.update(Action::MoveDown);
    let _ = app.update(Action::MoveDown);
    insta::assert_snapshot!("malformed", screen(&app));
    let _ = app.update(Action::MoveDown);
    insta::assert_snapshot!("binary", screen(&app));
    let _ = app.update(Action::MoveDown);
    insta::assert_snapshot!("tombstone", screen(&app));
    let _ = app.update(Action::Last);
    let drawn = screen(&app);
    assert!(
        !drawn.contains('\u{1b}') && !drawn.contains('\u{7}'),
        "control characters reached the screen"
    );
    insta::assert_snapshot!("escapes", drawn);
}

#[test]
fn help_overlay() {
    let mut app = app();
    let _ = app.update(Action::ToggleHelp);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn command_line() {
    let mut app = app();
    opened(&mut app);
    let _ = app.update(Action::StartCommand);
    for c in "topic payments".chars() {
        let _ = app.update(Action::Type(c));
    }
    insta::assert_snapshot!(screen(&app));
}

/// An app with this config, listing one topic `orders` with these high watermarks.
fn configured(config: &str, highs: &[i64]) -> App {
    let config = Config::parse(config, std::path::Path::new("rewind.toml")).unwrap();
    let mut app = App::new("127.0.0.1:9092".into(), config);
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![topic("orders", highs)])));
    app
}

fn stream_app() -> App {
    let mut app = configured(
        "[[topics]]\nname = \"orders\"\n[topics.reducers]\nOrderCreated = \"$event.data\"\nOrderPaid = \".status = \\\"paid\\\" | .paid = $event.data.amount\"\n",
        &[7],
    );
    opened(&mut app);
    let _ = app.update(Action::Open); // the first event's aggregate: order-1001
    app
}

fn order_event(offset: i64, order: &str, kind: &str, id: &str, data: &str) -> Event {
    let value =
        format!(r#"{{"eventId":"{id}","type":"{kind}","orderId":"{order}","data":{data}}}"#);
    let raw = RawRecord {
        topic: "orders",
        partition: 0,
        offset,
        timestamp: Some(1_795_687_200_000 + offset * 60_000),
        key: Some(order.as_bytes()),
        headers: vec![],
        value: Some(value.as_bytes()),
    };
    Event::decode(
        &raw,
        &Config::parse(LINKED, std::path::Path::new("r"))
            .unwrap()
            .rules_for("orders"),
    )
}

const LINKED: &str = r#"
[[topics]]
name = "orders"
event_id = ".eventId"
compensations = { OrderShipmentReversed = "OrderShipped" }
compensation_ref = ".data.reverses"
snapshots = { topic = "orders-snapshots" }
[topics.reducers]
OrderCreated = "{status: \"created\", total: $event.data.total}"
OrderShipped = ".status = \"shipped\" | .carrier = $event.data.carrier"
OrderShipmentReversed = ".status = \"created\" | del(.carrier)"
"#;

fn groups() -> Vec<kafka_rewind::model::group::Group> {
    use kafka_rewind::model::group::{Group, GroupOffset, GroupType, Member};
    let offset = |topic: &str, partition, committed, high| GroupOffset {
        topic: topic.into(),
        partition,
        committed: Some(committed),
        times: None,
        high,
    };
    vec![
        Group {
            name: "billing".into(),
            state: GroupState::named("Stable"),
            kind: GroupType::Consumer,
            protocol: Some("uniform".into()),
            members: vec![Member {
                id: "billing-1-5f2c".into(),
                client_id: "billing-1".into(),
                host: "/10.0.0.7".into(),
                assignment: vec![("payments".into(), vec![0, 1, 2])],
            }],
            offsets: vec![
                offset("payments", 0, 300, 340),
                offset("payments", 1, 322, 322),
            ],
        },
        Group {
            name: "projector".into(),
            state: GroupState::named("Empty"),
            kind: GroupType::Classic,
            protocol: None,
            members: vec![],
            offsets: vec![offset("orders", 0, 5, 7)],
        },
        Group {
            name: "audit".into(),
            state: GroupState::Unknown("the broker cannot list groups".into()),
            kind: GroupType::Unknown,
            protocol: None,
            members: vec![],
            offsets: vec![],
        },
        Group {
            name: "orders-queue".into(),
            state: GroupState::named("Stable"),
            kind: GroupType::Share,
            protocol: Some("simple".into()),
            members: vec![],
            offsets: vec![],
        },
    ]
}

/// The plan a worker would make for `projector` rewound to the first event.
fn plan_to_first_event(app: &App) -> kafka_rewind::model::plan::Plan {
    use kafka_rewind::model::plan::{impact, targets, GroupPartition, Plan, Scope};
    use kafka_rewind::model::Coord;
    let scope = Scope::Event(Coord {
        partition: 0,
        offset: 0,
    });
    let partitions = [GroupPartition {
        partition: 0,
        low: 0,
        high: 7,
        committed: Some(5),
    }];
    let mut partitions = targets("orders", &scope, &partitions, &Default::default()).unwrap();
    let first = (*app.topic.events.event(0).unwrap().clone()).clone();
    let all: Vec<_> = (0..app.topic.events.len())
        .map(|i| (**app.topic.events.event(i).unwrap()).clone())
        .collect();
    partitions[0].first_event = Some(first.clone());
    let impact = impact(&partitions, "order-1001", &all);
    Plan {
        group: "projector".into(),
        topic: "orders".into(),
        scope,
        time: first.timestamp,
        partitions,
        impact: Some(impact),
    }
}

#[test]
fn events_protobuf_detail_names_its_schema() {
    use base64::Engine;
    let schemas = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schemas");
    let config = Config::parse(
        &format!("[[topics]]\nname = \"orders\"\naggregate = \".order_id\"\ntype = \".kind\"\n[topics.schema]\nproto = {{ files = [\"{schemas}/shipment.proto\"], message = \"shop.ShipmentEvent\" }}\n"),
        std::path::Path::new("rewind.toml"),
    )
    .unwrap();
    let rules = config.rules_for("orders");
    let fixtures: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{schemas}/fixtures.json")).unwrap())
            .unwrap();
    // The reference encoder's frame, less magic byte, id and index list [1].
    let framed = base64::engine::general_purpose::STANDARD
        .decode(fixtures["records"][3]["value_b64"].as_str().unwrap())
        .unwrap();
    let mut app = App::new("127.0.0.1:9092".into(), config);
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![topic("orders", &[2])])));
    let _ = app.update(Action::Open);
    app.apply(Msg::TopicSize {
        generation: 1,
        total: 2,
    });
    let decoded = |offset: i64, value: &[u8]| {
        let raw = RawRecord {
            topic: "orders",
            partition: 0,
            offset,
            timestamp: Some(1_795_687_200_000 + offset * 61_000),
            key: Some(b"s-1"),
            headers: vec![],
            value: Some(value),
        };
        Event::decode(&raw, &rules)
    };
    let events = vec![decoded(0, &framed[7..]), decoded(1, &[0xff, 0xff, 0x01])];
    assert_eq!(
        events[0].aggregate, "order-7",
        "paths read the decoded value"
    );
    deliver(&mut app, events);
    insta::assert_snapshot!("protobuf_detail", screen_sized(&app, 110, 40));
    let _ = app.update(Action::MoveDown);
    insta::assert_snapshot!("protobuf_not_decoded", screen(&app));
}

/// The number of the plan the open Rewind dialog waits for.
fn asked(app: &App) -> kafka_rewind::app::PlanId {
    match &app.overlay {
        Some(kafka_rewind::app::Overlay::Rewind(d)) => match d.step {
            kafka_rewind::app::RewindStep::Planning { request, .. } => request,
            ref other => panic!("not planning: {other:?}"),
        },
        other => panic!("no rewind dialog: {other:?}"),
    }
}

/// The style of the cell where `needle` starts, searching the rows from `from_row` on
/// (the first match).
fn style_at(app: &App, needle: &str, from_row: u16) -> ratatui::style::Style {
    let mut terminal = Terminal::new(TestBackend::new(140, 30)).unwrap();
    terminal.draw(|f| kafka_rewind::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    for y in from_row..buffer.area.height {
        let row: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        if let Some(at) = row.find(needle) {
            let x = row[..at].chars().count() as u16;
            return buffer[(x, y)].style();
        }
    }
    panic!("{needle} is not on the screen")
}

const LEDGER: &str = r#"
[[topics]]
name = "orders"
type = ".type"
version = ".v"
[topics.upcasters]
"Deposited@1" = "{type, v: 2, amount: .amt}"
[topics.reducers]
Deposited = "(. // {}) | .balance = ((.balance // 0) + $event.amount)"
Withdrawn = "(. // {}) | .balance = ((.balance // 0) - $event.amount)"
[topics.invariants]
"balance never negative" = "(.balance // 0) >= 0"
"#;

/// `orders` records (key, value) at offsets 0, 1, … a minute apart, decoded with
/// `config`'s rules.
fn ledger_events(config: &str, values: &[(&[u8], &[u8])]) -> Vec<Event> {
    let rules = Config::parse(config, std::path::Path::new("rewind.toml"))
        .unwrap()
        .rules_for("orders");
    values
        .iter()
        .enumerate()
        .map(|(i, (key, value))| {
            let raw = RawRecord {
                topic: "orders",
                partition: 0,
                offset: i as i64,
                timestamp: Some(1_795_687_200_000 + i as i64 * 61_000),
                key: Some(key),
                headers: vec![],
                value: Some(value),
            };
            Event::decode(&raw, &rules)
        })
        .collect()
}

/// One account: an old v1 deposit, a withdrawal that overdraws, a deposit; and a
/// second account that overdraws at once.
fn ledger_app() -> App {
    let mut app = configured(LEDGER, &[5]);
    let _ = app.update(Action::Open);
    let values: [(&[u8], &[u8]); 5] = [
        (b"acct-1", br#"{"type":"Deposited","v":1,"amt":5}"#),
        (b"acct-1", br#"{"type":"Withdrawn","v":2,"amount":9}"#),
        (b"acct-1", br#"{"type":"Deposited","v":2,"amount":10}"#),
        (b"acct-2", br#"{"type":"Deposited","v":2,"amount":1}"#),
        (b"acct-2", br#"{"type":"Withdrawn","v":2,"amount":3}"#),
    ];
    let events = ledger_events(LEDGER, &values);
    deliver(&mut app, events);
    let _ = app.update(Action::Open); // acct-1, at its first event
    app
}

/// The opened topic's events arrive, all of them.
fn deliver(app: &mut App, events: Vec<Event>) {
    app.apply(Msg::Events {
        generation: 1,
        events,
    });
    app.apply(Msg::Loaded {
        generation: 1,
        result: Ok(()),
    });
}

/// Types `:LINE` and Enter.
fn command(app: &mut App, line: &str) -> Vec<Command> {
    let _ = app.update(Action::StartCommand);
    for c in line.chars() {
        let _ = app.update(Action::Type(c));
    }
    let commands = app.update(Action::Submit);
    serve_files(app, commands)
}

/// Answers the commands that read files (`:reload`, a candidate file) as the worker
/// does, with `worker::read_file`; returns the others, those the answers led to too.
fn serve_files(app: &mut App, commands: Vec<Command>) -> Vec<Command> {
    let mut rest = vec![];
    for c in commands {
        match kafka_rewind::app::worker::read_file(app.config(), &c) {
            Some(msg) => {
                let more = app.apply(msg);
                rest.extend(serve_files(app, more));
            }
            None => rest.push(c),
        }
    }
    rest
}

/// The plan arrives for the dialog's request; the commands it leads to.
fn plan_arrives(app: &mut App) -> Vec<kafka_rewind::app::Command> {
    app.apply(Msg::Plan {
        request: asked(app),
        result: Ok((plan_to_first_event(app), classic("Empty"))),
    })
}

/// An outcome as the engine makes it: two of three accounts left wrong.
fn ledger_outcome() -> kafka_rewind::model::outcome::Outcome {
    use kafka_rewind::model::outcome::{Cause, Outcome};
    let mut o = Outcome::new(Cause::AppliedTwice, true);
    o.redelivered = 4;
    o.aggregates = 2;
    o.add(
        "acct-1",
        serde_json::json!({"balance": 12, "ops": 4}),
        serde_json::json!({"balance": 6, "ops": 2}),
    );
    o.add(
        "acct-2",
        serde_json::json!({"balance": -2}),
        serde_json::json!({"balance": -2}),
    );
    o.add(
        "acct-3",
        serde_json::json!({"balance": 2, "status": "open"}),
        serde_json::json!({"balance": 1, "status": "open"}),
    );
    o
}

const STORY: &str = r#"
[[topics]]
name = "orders"
type = ".type"
[topics.reducers]
OrderCreated = "{status: \"created\", total: $event.total}"
OrderPaid = ".status = \"paid\""

[[topics]]
name = "payments"
type = ".kind"
[topics.reducers]
Authorized = "{amount: $event.data.amount, captured: 0}"
Captured = ".captured = (.captured + $event.data.amount)"
Refunded = ".captured = (.captured - $event.data.refund.amount)"

[[stories]]
name = "order"
[stories.topics]
orders = "key"
payments = ".data.orderId"
"#;

#[test]
fn the_topics_screen_shows_the_groups_reading_the_selected_topic_with_their_lag() {
    let mut app = app();
    app.apply(Msg::Groups(Ok(groups())));
    insta::assert_snapshot!("topics_readers_orders", screen(&app));
    let _ = app.update(Action::MoveDown);
    let _ = app.update(Action::MoveDown);
    let text = screen(&app);
    assert!(text.contains("Groups reading payments (1)"), "{text}");
    insta::assert_snapshot!("topics_readers_payments", text);
    let _ = app.update(Action::MoveDown);
    assert!(screen(&app).contains("No group has offsets on this topic."));
}

#[test]
fn a_mark_whose_event_is_gone_is_shown_as_gone() {
    let mut app = app();
    let mark = |topic: &str, partition, offset| kafka_rewind::model::mark::Mark {
        topic: topic.into(),
        partition,
        offset,
        timestamp: Some(1_795_687_200_000 + offset * 61_000),
        aggregate: "order-1001".into(),
        event_type: "OrderPaid".into(),
        topic_id: Some("3q2-796tvu_erb7v3q2-7w".into()),
    };
    app.marks = vec![
        mark("orders", 0, 5),
        mark("orders", 1, 40),
        mark("returns", 0, 3),
        kafka_rewind::model::mark::Mark {
            topic_id: Some("AAAAAAAAAAAAAAAAAAAAAA".into()),
            ..mark("orders", 1, 41)
        },
    ];
    // Retention has moved partition 0's log start past the first mark.
    let mut orders = topic("orders", &[921, 790]);
    orders.partitions[0].low = 10;
    app.apply(Msg::Topics(Ok(vec![orders])));
    // The last mark was made on an orders deleted since and made again.
    app.apply(Msg::TopicIds(
        [("orders".to_owned(), "3q2-796tvu_erb7v3q2-7w".to_owned())].into(),
    ));
    let _ = app.update(Action::ShowMarks);
    let text = screen(&app);
    insta::assert_snapshot!("marks_gone", text);
    let gone: Vec<bool> = app
        .marks
        .iter()
        .map(|m| app.mark_gone(m).is_some())
        .collect();
    assert_eq!(gone, [true, false, true, true]);
    assert_eq!(
        app.mark_gone(&app.marks[0]).unwrap(),
        "partition 0 now starts at offset 10 (retention or DeleteRecords)"
    );
    let made_again = "orders was deleted and made again since the mark (topic id \
        3q2-796tvu_erb7v3q2-7w, the mark's AAAAAAAAAAAAAAAAAAAAAA): 1/41 holds another record now";
    assert_eq!(app.mark_gone(&app.marks[3]).unwrap(), made_again);
    // Neither opened nor rewound to: its offset is another event's.
    let _ = app.update(Action::Last);
    assert_eq!(
        app.status,
        format!("this mark's event is gone: {made_again}")
    );
    assert!(app.update(Action::Rewind).is_empty());
    assert_eq!(app.status, format!("no rewind to this mark: {made_again}"));
    assert_eq!(app.status.severity, Severity::Warning);
    assert_eq!(status_colour(&app), Color::Yellow);
    let _ = app.update(Action::ShowMarks);
    let _ = app.update(Action::Last);
    assert!(app.update(Action::Open).is_empty());
    assert_eq!(app.status, format!("not opened: {made_again}"));
}
