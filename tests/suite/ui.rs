//! Snapshot tests of every screen, drawn by the real `ui::draw` into ratatui's
//! `TestBackend` at a fixed size, from app states driven through `update`/`apply`.

use kafka_rewind::app::{Action, App, Command, Msg, Severity};
use kafka_rewind::config::Config;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::group::{GroupState, GroupStatus};
use ratatui::style::Color;

/// A classic group's status as its coordinator answers it.
fn classic(state: &str) -> GroupStatus {
    GroupStatus {
        state: GroupState::named(state),
        kind: kafka_rewind::model::group::GroupType::Classic,
    }
}
use kafka_rewind::model::{Event, PartitionInfo, TopicInfo, TopicRules};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

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

#[test]
fn stream_screen_states() {
    let mut app = stream_app();
    insta::assert_snapshot!("stream_first", wide(&app));
    let _ = app.update(Action::StepForward);
    insta::assert_snapshot!("stream_changed_highlighted", wide(&app));
    let _ = app.update(Action::ToggleDiff);
    insta::assert_snapshot!("stream_diff", wide(&app));
    let _ = app.update(Action::ToggleDiff);
    let _ = app.update(Action::Last);
    insta::assert_snapshot!("stream_error_marker", wide(&app));
    let _ = app.update(Action::StepBack);
    let _ = app.update(Action::ToggleSkip);
    let view = app.stream().unwrap();
    assert_eq!(view.state["total"], 89.9);
    assert!(
        view.state.get("status").is_none(),
        "skipping OrderPaid folds as if it were not there"
    );
    insta::assert_snapshot!("stream_skipped", wide(&app));
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

#[test]
fn stream_links_snapshots_and_aggregate_list() {
    use kafka_rewind::model::snapshot::StoredSnapshot;
    use kafka_rewind::model::Coord;
    use serde_json::json;
    let mut app = App::new(
        "127.0.0.1:9092".into(),
        Config::parse(LINKED, std::path::Path::new("r")).unwrap(),
    );
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![topic("orders", &[5])])));
    let _ = app.update(Action::Open);
    app.apply(Msg::Events {
        generation: 1,
        events: vec![
            order_event(0, "o-1", "OrderCreated", "e1", r#"{"total": 10}"#),
            order_event(1, "o-1", "OrderShipped", "e2", r#"{"carrier": "DHL"}"#),
            order_event(2, "o-2", "OrderCreated", "e3", r#"{"total": 7}"#),
            order_event(3, "o-1", "OrderShipped", "e2", r#"{"carrier": "DHL"}"#),
            order_event(
                4,
                "o-1",
                "OrderShipmentReversed",
                "e4",
                r#"{"reverses": "e2"}"#,
            ),
        ],
    });
    app.apply(Msg::Loaded {
        generation: 1,
        result: Ok(()),
    });
    let snapshot = |offset, version, state| StoredSnapshot {
        coord: Coord {
            partition: 0,
            offset,
        },
        version: Some(version),
        state,
    };
    app.apply(Msg::Snapshots {
        generation: 1,
        snapshots: vec![
            (
                "o-1".into(),
                snapshot(
                    0,
                    2,
                    json!({"status": "shipped", "total": 10, "carrier": "DHL"}),
                ),
            ),
            (
                "o-1".into(),
                snapshot(
                    1,
                    3,
                    json!({"status": "lost", "total": 10, "carrier": "DHL"}),
                ),
            ),
        ],
    });
    let _ = app.update(Action::StartCommand);
    for c in "agg o-1".chars() {
        let _ = app.update(Action::Type(c));
    }
    let _ = app.update(Action::Submit);
    let view = app.stream().unwrap();
    assert_eq!(view.state, json!({"status": "created", "total": 10}));
    assert_eq!(view.snapshot_checks.len(), 2);
    assert!(view.snapshot_checks[&2].is_empty() && !view.snapshot_checks[&3].is_empty());
    insta::assert_snapshot!("stream_links_and_snapshots", wide(&app));

    let _ = app.update(Action::ToggleSnapshotStart);
    let view = app.stream().unwrap();
    assert_eq!(view.basis.snapshot, Some(3));
    assert_eq!(
        view.state,
        json!({"status": "created", "total": 10}),
        "the reversal undoes the bad status too"
    );
    let _ = app.update(Action::StepBack);
    assert_eq!(
        app.stream().unwrap().state["status"],
        "lost",
        "the state after #2 is snapshot v3"
    );
    insta::assert_snapshot!("stream_from_snapshot", wide(&app));

    let _ = app.update(Action::NextPane);
    assert!(app.topic.aggregates.focused);
    let _ = app.update(Action::MoveDown);
    assert_eq!(
        app.stream().unwrap().aggregate,
        "o-2",
        "moving in the list opens the aggregate"
    );
    let _ = app.update(Action::StartFilter);
    let _ = app.update(Action::Type('1'));
    let _ = app.update(Action::Submit);
    assert_eq!(app.topic.aggregates.len(), 1);
    assert_eq!(
        app.stream().unwrap().aggregate,
        "o-1",
        "the filter opens its first match"
    );
    let _ = app.update(Action::Open);
    assert!(!app.topic.aggregates.focused);
    insta::assert_snapshot!("stream_aggregate_filter", wide(&app));
}

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

#[test]
fn groups_screen() {
    let mut app = app();
    let _ = app.update(Action::StartCommand);
    for c in "group billing".chars() {
        let _ = app.update(Action::Type(c));
    }
    let _ = app.update(Action::Submit);
    app.apply(Msg::Groups(Ok(groups())));
    insta::assert_snapshot!(screen(&app));
    let _ = app.update(Action::Back);
    assert!(matches!(app.screen, kafka_rewind::app::Screen::Topics));
}

#[test]
fn the_groups_screen_samples_lag_while_open_with_rate_and_time_to_catch_up() {
    use kafka_rewind::app::{Command, GROUP_SAMPLE};
    use kafka_rewind::model::group::{LagHistory, LagSample};
    use std::time::{Duration, Instant};
    let mut app = app();
    command(&mut app, "group billing");
    let commands = app.take_commands();
    assert!(commands.is_empty(), "{commands:?}");
    app.apply(Msg::Groups(Ok(groups())));
    // Looks again every GROUP_SAMPLE while open, one look at a time, naming the group
    // asked for by name each time.
    let now = Instant::now();
    app.sample_groups(now);
    assert!(app.take_commands().is_empty(), "not due yet");
    app.sample_groups(now + GROUP_SAMPLE);
    assert_eq!(
        app.take_commands(),
        vec![Command::LoadGroups {
            also: Some("billing".into())
        }]
    );
    app.sample_groups(now + GROUP_SAMPLE * 3);
    assert!(
        app.take_commands().is_empty(),
        "the last look is not answered yet"
    );
    app.apply(Msg::Groups(Ok(groups())));
    // A history of billing's lag: 100 → 40 over 12 s, 10 events/s consumed.
    let t0 = now;
    let mut history = LagHistory::default();
    for (s, lag) in [(0u64, 100i64), (3, 90), (6, 70), (9, 55), (12, 40)] {
        history.push(LagSample {
            at: t0 + Duration::from_secs(s),
            lag,
            consumed: 600 - lag,
        });
    }
    app.groups.history.insert("billing".into(), history);
    let text = screen(&app);
    assert!(
        text.contains("lag 40, consuming 5 events/s: caught up in about 8s"),
        "{text}"
    );
    insta::assert_snapshot!("groups_lag_trend", text);
    // Left: no more looks.
    let _ = app.update(Action::Back);
    app.sample_groups(now + GROUP_SAMPLE * 10);
    assert!(app.take_commands().is_empty());
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
fn rewind_dialog_from_a_mark() {
    use kafka_rewind::app::{Command, Rewound};
    let mut app = stream_app();
    let _ = app.update(Action::Mark);
    assert!(app.status.starts_with("marked 0/0 OrderCreated order-1001"));
    assert_eq!(
        app.update(Action::Rewind),
        vec![Command::LoadGroups { also: None }]
    );
    app.apply(Msg::Groups(Ok(groups())));
    insta::assert_snapshot!("rewind_pick_group", screen(&app));
    // projector is listed first: it has offsets on this topic.
    let commands = app.update(Action::Open);
    let [Command::PlanRewind {
        request: asked_for,
        ask: request,
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(*asked_for, asked(&app));
    // An answer to another request (a dialog since closed) is not shown here.
    app.apply(Msg::Plan {
        request: kafka_rewind::app::PlanId(asked(&app).0 + 1),
        result: Err("an older plan".into()),
    });
    assert!(matches!(
        &app.overlay,
        Some(kafka_rewind::app::Overlay::Rewind(d))
            if matches!(d.step, kafka_rewind::app::RewindStep::Planning { .. })
    ));
    assert_eq!(request.group, "projector");
    let known = request
        .known
        .as_ref()
        .expect("the loaded topic is rewind's index");
    assert_eq!(known.times.get(&0), Some(&Some(0)));
    let plan = plan_to_first_event(&app);
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan.clone(), classic("Empty"))),
    });
    for c in "projecto".chars() {
        let _ = app.update(Action::Type(c));
    }
    assert!(
        app.update(Action::Submit).is_empty(),
        "not the group's name yet"
    );
    let _ = app.update(Action::Type('r'));
    insta::assert_snapshot!("rewind_plan", screen(&app));
    let commands = app.update(Action::Submit);
    // The outcome's fold is no longer wanted once the plan is committed.
    assert!(
        matches!(
            commands.as_slice(),
            [
                Command::StopOutcome,
                Command::ExecuteRewind {
                    allow_unknown: false,
                    ..
                }
            ]
        ),
        "{commands:?}"
    );
    app.apply(Msg::Rewound(Ok(Rewound {
        group: "projector".into(),
        allow_unknown: false,
        topic: "orders".into(),
        undo_file: "/home/dev/.local/state/rewind/undo/projector-orders-20261126T101500.000Z.csv"
            .into(),
        mismatches: vec![],
        written_with: kafka_rewind::kafka::WritePath::AlterConsumerGroupOffsets,
    })));
    insta::assert_snapshot!("rewind_done", screen(&app));

    // The dialog follows the replay the commit started.
    let commands = app.take_commands();
    let [Command::WatchReplay { id, group, targets }] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert_eq!(
        (group.as_str(), targets.as_slice()),
        ("projector", &[("orders".to_owned(), 0, 0)][..])
    );
    let start = std::time::Instant::now();
    let sample = |secs: u64, done: i64| kafka_rewind::model::group::ReplaySample {
        at: start + std::time::Duration::from_secs(secs),
        done,
        total: 7,
        lag: 7 - done,
        lag_ms: Some((7 - done) * 61_000),
    };
    app.apply(Msg::ReplaySample {
        id: kafka_rewind::app::WatchId(id.0 + 1),
        sample: Ok(sample(0, 6)),
    });
    assert!(
        screen(&app).contains("Replay: reading the group"),
        "another watch's sample is not shown"
    );
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(0, 1)),
    });
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(1, 1)),
    });
    let text = screen(&app);
    assert!(text.contains("no progress since the last look"), "{text}");
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(3, 5)),
    });
    let text = screen(&app);
    assert!(
        text.contains(
            "Replay: 5 of 7 events re-processed (71%), 2 events/s, caught up in about 1 s."
        ),
        "{text}"
    );
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(3, 7)),
    });
    assert!(screen(&app).contains("Replay: 7 of 7 events re-processed (100%): caught up."));
    assert_eq!(app.update(Action::Back), vec![Command::StopWatch]);
}

#[test]
fn a_share_group_cannot_be_confirmed_and_the_dialog_shows_kafka_share_groups() {
    let mut app = stream_app();
    let _ = app.update(Action::Mark);
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    let _ = app.update(Action::Open);
    let share = GroupStatus {
        state: GroupState::named("Empty"),
        kind: kafka_rewind::model::group::GroupType::Share,
    };
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan_to_first_event(&app), share)),
    });
    let text = screen(&app).replace(['│', '\n', '"'], " ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("kafka-share-groups.sh --bootstrap-server"),
        "{text}"
    );
    assert!(!text.contains("kafka-consumer-groups.sh"), "{text}");
    assert!(text.contains("is a share group (KIP-932)"), "{text}");
    for c in "projector".chars() {
        let _ = app.update(Action::Type(c));
    }
    assert!(app.update(Action::Submit).is_empty(), "never committed");
    let _ = app.update(Action::NextPane);
    assert!(app.update(Action::Submit).is_empty(), "not even with Tab");
}

#[test]
fn an_active_group_cannot_be_confirmed_and_marks_are_listed() {
    let mut app = stream_app();
    let _ = app.update(Action::Mark);
    let _ = app.update(Action::Rewind);
    // The listing said Empty; when the plan was made its coordinator said Stable, and
    // that is what counts: no confirmation, not even with Tab.
    app.apply(Msg::Groups(Ok(groups())));
    let _ = app.update(Action::Open);
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan_to_first_event(&app), classic("Stable"))),
    });
    for c in "projector".chars() {
        let _ = app.update(Action::Type(c));
    }
    assert!(app.update(Action::Submit).is_empty());
    let _ = app.update(Action::NextPane);
    assert!(
        app.update(Action::Submit).is_empty(),
        "Tab allows only an unknown state"
    );
    assert!(
        app.status.contains("group projector is Stable"),
        "{}",
        app.status
    );
    let _ = app.update(Action::Cancel);
    let _ = app.update(Action::Back);
    assert!(app.overlay.is_none());
    let _ = app.update(Action::ShowMarks);
    insta::assert_snapshot!("marks_list", screen(&app));
}

#[test]
fn compensate_dialog() {
    let mut app = configured(
        "[[topics]]\nname = \"orders\"\n[topics.compensation_templates]\nOrderCreated = \"{type: \\\"OrderVoided\\\", orderId: $event.orderId, data: {voids: $event.eventId}}\"\n",
        &[7],
    );
    opened(&mut app);
    let _ = app.update(Action::Compensate);
    for c in "orders".chars() {
        let _ = app.update(Action::Type(c));
    }
    insta::assert_snapshot!(screen(&app));
    let commands = app.update(Action::Submit);
    assert_eq!(commands.len(), 1, "{commands:?}");
}

#[test]
fn the_rewind_dialog_shows_client_properties_with_secrets_redacted() {
    let mut app = stream_app();
    app.properties = vec![
        ("security.protocol".into(), "SASL_SSL".into()),
        ("sasl.password".into(), "hunter2-Zq9".into()),
    ];
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    let _ = app.update(Action::Open);
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan_to_first_event(&app), classic("Empty"))),
    });
    let text = screen_sized(&app, 200, 40);
    assert!(text.contains("sasl.password=***"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn a_long_stream_folds_a_slice_at_a_time_and_keys_work_meanwhile() {
    let mut app = configured(
        "[[topics]]\nname = \"orders\"\n[topics.reducers]\nTick = \"(. // {n: 0}) | .n += 1\"\n",
        &[5000],
    );
    let _ = app.update(Action::Open);
    let events: Vec<Event> = (0..5000)
        .map(|i| event(i, Some(b"a"), Some(br#"{"type":"Tick"}"#), vec![]))
        .collect();
    deliver(&mut app, events);
    let _ = app.update(Action::Last);
    let _ = app.update(Action::Open);
    let view = app.stream().unwrap();
    assert!(!view.ready, "5,000 events are not folded in one go");
    assert!(
        screen(&app).contains("folding 512 of 5000 events"),
        "{}",
        screen(&app)
    );
    // Keys work while it folds.
    let _ = app.update(Action::StepBack);
    assert_eq!(app.stream().unwrap().cursor, 4998);
    let mut slices = 0;
    while app.tick() {
        slices += 1;
        assert!(slices < 100, "the fold never finishes");
    }
    let view = app.stream().unwrap();
    assert!(view.ready && slices > 5, "{slices} slices");
    assert_eq!(view.state, serde_json::json!({"n": 4999}));
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

#[test]
fn json_is_drawn_in_syntax_colours_and_changed_fields_stand_out() {
    use ratatui::style::{Color, Modifier};
    let mut app = stream_app();
    let _ = app.update(Action::StepForward); // OrderPaid: status and paid change
    let key = style_at(&app, "\"status\"", 12);
    assert_eq!(key.fg, Some(Color::Blue));
    assert!(key.add_modifier.contains(Modifier::UNDERLINED), "{key:?}");
    let unchanged = style_at(&app, "\"total\"", 12);
    assert_eq!(unchanged.fg, Some(Color::Blue));
    assert!(!unchanged.add_modifier.contains(Modifier::UNDERLINED));
    assert_eq!(style_at(&app, "89.9,", 12).fg, Some(Color::Magenta));
    // The event pane too.
    assert_eq!(style_at(&app, "\"e-3\"", 0).fg, Some(Color::Green));
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
    let rules = kafka_rewind::config::Config::parse(LEDGER, std::path::Path::new("rewind.toml"))
        .unwrap()
        .rules_for("orders");
    let events = values
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
        .collect();
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
    app.update(Action::Submit)
}

#[test]
fn the_replay_lab_in_the_stream_screen() {
    let mut app = ledger_app();
    // The v1 deposit as upcast, the version lifted (v1↑) and the overdraft marked `!`.
    insta::assert_snapshot!("lab_upcast", wide(&app));
    let _ = app.update(Action::ToggleUpcast);
    insta::assert_snapshot!("lab_raw", wide(&app));
    let _ = app.update(Action::ToggleUpcast);
    // `]` lands on the first violation and names it.
    let commands = app.update(Action::NextFlag);
    assert!(commands.is_empty(), "{commands:?}");
    assert_eq!(app.stream().unwrap().cursor, 1);
    assert!(wide(&app).contains("breaks invariant: balance never negative"));
    // Past the last flag of the stream the topic is checked, then the next aggregate
    // with a flag opens at its first.
    let commands = app.update(Action::NextFlag);
    assert!(
        matches!(
            commands.as_slice(),
            [kafka_rewind::app::Command::CheckTopic { .. }]
        ),
        "{commands:?}"
    );
    app.apply(Msg::Checked {
        generation: 1,
        result: Ok(vec![("acct-1".into(), 1), ("acct-2".into(), 1)]),
    });
    let view = app.stream().unwrap();
    assert_eq!((view.aggregate.as_str(), view.cursor), ("acct-2", 1));
    let _ = app.update(Action::PrevFlag);
    let view = app.stream().unwrap();
    assert_eq!((view.aggregate.as_str(), view.cursor), ("acct-1", 1));
}

#[test]
fn compare_shows_current_and_candidate_at_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("fixed.toml");
    std::fs::write(
        &candidate,
        LEDGER.replace("- $event.amount)", "- $event.amount - 1)"),
    )
    .unwrap();
    let mut app = ledger_app();
    let _ = app.update(Action::StepForward); // the withdrawal
    command(&mut app, &format!("compare {}", candidate.display()));
    let view = app.stream().unwrap();
    let compare = view.compare.as_ref().expect("comparing");
    assert_eq!(compare.state["balance"], -5);
    assert_eq!(view.state["balance"], -4);
    let text = wide(&app);
    assert!(text.contains("replace /balance  -4 → -5"), "{text}");
    insta::assert_snapshot!("lab_compare", text);
    // A file that is not there: one clear line, nothing changes.
    command(&mut app, "compare missing.toml");
    assert!(app.status.contains("no such file"), "{}", app.status);
    assert_eq!(app.status.severity, Severity::Error);
    assert_eq!(status_colour(&app), Color::Red);
    assert!(app.stream().unwrap().compare.is_some());

    // The Rewind dialog, with the candidate on: the plan's outcome is folded with it.
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    let commands = app.update(Action::Open);
    assert!(
        matches!(commands.as_slice(), [Command::PlanRewind { .. }]),
        "{commands:?}"
    );
    let commands = plan_arrives(&mut app);
    let [Command::FoldOutcome {
        candidate: Some(candidate),
        plan,
        request,
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert!(candidate.file.ends_with("fixed.toml"), "{}", candidate.file);
    assert_ne!(candidate.current, candidate.with);
    assert_eq!(plan.group, "projector");
    let request = *request;
    let text = screen_sized(&app, 200, 40);
    assert!(
        text.contains("With fixed.toml: Outcome: folding orders to see what the read model will hold after the rewind…"),
        "{text}"
    );
    app.apply(Msg::OutcomeProgress {
        request,
        pass: 2,
        done: 4096,
        total: 5000,
    });
    assert!(screen_sized(&app, 200, 40).contains("(pass 2 of 2: 4096 of 5000 records)…"));
    // A stale answer (another plan's) changes nothing.
    app.apply(Msg::Outcome {
        request: kafka_rewind::app::PlanId(request.0 + 7),
        result: Err("stale".into()),
    });
    assert!(!screen_sized(&app, 200, 40).contains("stale"));
    app.apply(Msg::Outcome {
        request,
        result: Ok(Box::new(ledger_outcome())),
    });
    let text = screen_sized(&app, 200, 40);
    assert!(
        text.contains("With fixed.toml: After the rewind 2 of 3 aggregate(s) are wrong: re-delivered events are applied twice — acct-1 balance 12, correct 6"),
        "{text}"
    );
    // After ↔ correct, the read model's value red, the events' green.
    assert_eq!(
        style_at(&app, "12 ↔", 0).fg,
        Some(ratatui::style::Color::Red)
    );
    assert_eq!(
        style_at(&app, "6; /ops", 0).fg,
        Some(ratatui::style::Color::Green)
    );
    insta::assert_snapshot!("rewind_outcome", screen_sized(&app, 160, 34));
    // Leaving the plan stops the fold.
    let commands = app.update(Action::Cancel);
    assert!(
        commands.iter().any(|c| matches!(c, Command::StopOutcome)),
        "{commands:?}"
    );
}

/// The plan arrives for the dialog's request; the commands it leads to.
fn plan_arrives(app: &mut App) -> Vec<kafka_rewind::app::Command> {
    app.apply(Msg::Plan {
        request: asked(app),
        result: Ok((plan_to_first_event(app), classic("Empty"))),
    });
    app.take_commands()
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

#[test]
fn the_rewind_dialog_loads_a_candidate_of_its_own() {
    use kafka_rewind::app::{Overlay, RewindStep};
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("fixed.toml");
    std::fs::write(
        &candidate,
        LEDGER.replace("- $event.amount)", "- $event.amount - 1)"),
    )
    .unwrap();
    let mut app = ledger_app();
    let _ = app.update(Action::Mark);
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    // Tab asks for a file; one that is not there, or names no entry for the topic,
    // says why and stays.
    let _ = app.update(Action::NextPane);
    assert!(app.typing(), "the path is typed");
    for c in "missing.toml".chars() {
        let _ = app.update(Action::Type(c));
    }
    let _ = app.update(Action::Submit);
    let text = screen_sized(&app, 160, 30);
    assert!(
        text.contains("✗ --with missing.toml: no such file"),
        "{text}"
    );
    for _ in 0.."missing.toml".len() {
        let _ = app.update(Action::Erase);
    }
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        LEDGER.replace("name = \"orders\"", "name = \"payments\""),
    )
    .unwrap();
    for c in other.display().to_string().chars() {
        let _ = app.update(Action::Type(c));
    }
    let _ = app.update(Action::Submit);
    let text = screen_sized(&app, 160, 30);
    assert!(
        text.contains("it has no [[topics]] entry for orders"),
        "{text}"
    );
    // A good one: back to the groups, named there; the plan carries it.
    for _ in 0..other.display().to_string().chars().count() {
        let _ = app.update(Action::Erase);
    }
    for c in candidate.display().to_string().chars() {
        let _ = app.update(Action::Type(c));
    }
    let _ = app.update(Action::Submit);
    let text = screen_sized(&app, 160, 30);
    assert!(
        text.contains("the plan's outcome folds what comes again with it"),
        "{text}"
    );
    assert!(!app.typing());
    let _ = app.update(Action::Open);
    let commands = plan_arrives(&mut app);
    let [Command::FoldOutcome {
        candidate: Some(c), ..
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(c.file, candidate.display().to_string());
    assert_ne!(c.current, c.with);
    // Back at the groups, Tab and an empty line clear it: the next plan replays nothing.
    let _ = app.update(Action::Cancel);
    let _ = app.update(Action::NextPane);
    for _ in 0..candidate.display().to_string().chars().count() {
        let _ = app.update(Action::Erase);
    }
    let _ = app.update(Action::Submit);
    assert!(
        matches!(&app.overlay, Some(Overlay::Rewind(d)) if d.candidate.is_none() && matches!(d.step, RewindStep::PickGroup))
    );
    let _ = app.update(Action::Open);
    let commands = plan_arrives(&mut app);
    assert!(
        matches!(
            commands.as_slice(),
            [Command::FoldOutcome {
                candidate: None,
                ..
            }]
        ),
        "{commands:?}"
    );
}

#[test]
fn reload_refolds_the_open_stream_and_a_broken_config_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rewind.toml");
    let without_invariants = LEDGER
        .split("[topics.invariants]")
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(&path, &without_invariants).unwrap();
    let mut app = ledger_app();
    // ledger_app's config came from text: this one from the file, as rewind loads it.
    let config = Config::load(Some(&path)).unwrap();
    let mut reloaded = App::new("127.0.0.1:9092".into(), config);
    std::mem::swap(&mut app, &mut reloaded);
    // Same events, the file's config (no invariants): nothing flagged.
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![topic("orders", &[5])])));
    let _ = app.update(Action::Open);
    let events: Vec<Event> = (0..5)
        .filter_map(|i| reloaded.topic.events.event(i).map(|e| (**e).clone()))
        .collect();
    assert_eq!(events.len(), 5);
    deliver(&mut app, events);
    let _ = app.update(Action::Open);
    let _ = app.update(Action::StepForward);
    assert!(app.stream().unwrap().projection.violations_at(1).is_empty());

    std::fs::write(&path, LEDGER).unwrap();
    command(&mut app, "reload");
    assert!(app.status.starts_with("reloaded"), "{}", app.status);
    assert_eq!(app.status.severity, Severity::Info);
    assert_eq!(status_colour(&app), Color::Reset);
    let view = app.stream().unwrap();
    assert_eq!(
        (view.aggregate.as_str(), view.cursor),
        ("acct-1", 1),
        "same place"
    );
    assert_eq!(view.projection.violations_at(1), ["balance never negative"]);

    std::fs::write(
        &path,
        LEDGER.replace("(.balance // 0) >= 0", "(.balance // 0) >="),
    )
    .unwrap();
    command(&mut app, "reload");
    assert!(
        app.status.contains("balance never negative")
            && app.status.contains("the config in use stays"),
        "{}",
        app.status
    );
    assert_eq!(app.status.severity, Severity::Error);
    assert_eq!(
        app.stream().unwrap().projection.violations_at(1),
        ["balance never negative"]
    );
}

#[test]
fn a_bracket_on_a_long_stream_folds_a_slice_per_frame_then_lands() {
    let mut app = configured(
        "[[topics]]\nname = \"orders\"\n[topics.reducers]\nTick = \"(. // {n: 0}) | .n += 1\"\n[topics.invariants]\n\"under 4990\" = \".n < 4990\"\n",
        &[5000],
    );
    let _ = app.update(Action::Open);
    let events: Vec<Event> = (0..5000)
        .map(|i| event(i, Some(b"a"), Some(br#"{"type":"Tick"}"#), vec![]))
        .collect();
    deliver(&mut app, events);
    let _ = app.update(Action::Open);
    while app.tick() {}
    let _ = app.update(Action::First);
    // The key press does not fold 5,000 events: the frames do.
    assert!(app.update(Action::NextFlag).is_empty());
    assert!(
        app.status.contains("folding a to find its flags"),
        "{}",
        app.status
    );
    assert_eq!(app.stream().unwrap().cursor, 0);
    let mut frames = 0;
    while app.tick() {
        frames += 1;
    }
    assert!(frames > 1, "folded over several frames");
    let view = app.stream().unwrap();
    assert_eq!(view.cursor, 4989, "the first event after which n is 4990");
    assert_eq!(view.projection.violations_at(4989), ["under 4990"]);
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
fn a_story_steps_through_topics_with_a_state_per_topic() {
    use kafka_rewind::app::{Command, Screen};
    let mut app = configured(STORY, &[3]);
    let config = Config::parse(STORY, std::path::Path::new("rewind.toml")).unwrap();
    let decoded = |topic: &str, offset: i64, t: i64, key: &[u8], value: &str| {
        let raw = RawRecord {
            topic,
            partition: 0,
            offset,
            timestamp: Some(1_795_687_200_000 + t * 61_000),
            key: Some(key),
            headers: vec![],
            value: Some(value.as_bytes()),
        };
        Event::decode(&raw, &config.rules_for(topic))
    };
    let orders = vec![
        decoded(
            "orders",
            0,
            0,
            b"o-1",
            r#"{"type":"OrderCreated","total":30}"#,
        ),
        decoded("orders", 1, 3, b"o-1", r#"{"type":"OrderPaid"}"#),
    ];
    let payments = vec![
        decoded(
            "payments",
            4,
            1,
            b"pay-1",
            r#"{"kind":"Authorized","data":{"orderId":"o-1","amount":30}}"#,
        ),
        decoded(
            "payments",
            5,
            2,
            b"pay-1",
            r#"{"kind":"Captured","data":{"orderId":"o-1","amount":30}}"#,
        ),
        decoded(
            "payments",
            6,
            4,
            b"pay-1",
            r#"{"kind":"Refunded","data":{"orderId":"o-1"}}"#,
        ),
    ];
    command(&mut app, "story nope o-1");
    assert!(
        app.status.contains("no story `nope`: the config has order"),
        "{}",
        app.status
    );
    let _ = app.update(Action::StartCommand);
    for c in "story order o-1".chars() {
        let _ = app.update(Action::Type(c));
    }
    let commands = app.update(Action::Submit);
    let [Command::LoadStory { request, name, id }] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert_eq!((name.as_str(), id.as_str()), ("order", "o-1"));
    assert!(screen(&app).contains("Reading story order for o-1"));
    app.apply(Msg::Story {
        request: *request,
        result: Ok(vec![
            ("orders".into(), orders),
            ("payments".into(), payments),
        ]),
    });
    for _ in 0..2 {
        let _ = app.update(Action::StepForward);
    }
    // The capture: payments' state changed (highlighted), orders' as it was.
    insta::assert_snapshot!("story", screen_sized(&app, 140, 36));
    let _ = app.update(Action::ToggleDiff);
    assert!(screen_sized(&app, 140, 36).contains("replace /captured  0 → 30"));
    // `]` goes to the refund, whose reducer fails: marked, and the fold goes on.
    let _ = app.update(Action::NextFlag);
    let Screen::Story(view) = &app.screen else {
        panic!()
    };
    assert_eq!(view.cursor, 4);
    let text = screen_sized(&app, 140, 36);
    assert!(text.contains("reducer error:"), "{text}");
    assert_eq!(view.states[0].0["status"], "paid");
    assert_eq!(
        view.states[1].0["captured"], 30,
        "the state before the failed event"
    );
    let _ = app.update(Action::Back);
    assert!(matches!(app.screen, Screen::Topics));
}

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

/// Read with `--isolation uncommitted`: the timeline marks the records of aborted (✗)
/// and open (⋯) transactions; the stream shows them and folds neither.
#[test]
fn a_timeline_with_aborted_and_open_records() {
    use kafka_rewind::model::event::Transaction;
    let mut app = configured(
        "[[topics]]\nname = \"orders\"\n[topics.reducers]\nOrderCreated = \"$event.data\"\nOrderPaid = \".status = \\\"paid\\\" | .paid = $event.data.amount\"\n",
        &[7],
    );
    let _ = app.update(Action::Open);
    let mut events: Vec<Event> = events().into_iter().take(3).collect();
    let mut aborted = event(
        3,
        Some(b"order-1001"),
        Some(
            br#"{"eventId":"e-9","type":"OrderPaid","orderId":"order-1001","data":{"amount":999}}"#,
        ),
        vec![],
    );
    aborted.transaction = Some(Transaction::Aborted);
    let mut open = event(
        5,
        Some(b"order-1001"),
        Some(
            br#"{"eventId":"e-10","type":"OrderPaid","orderId":"order-1001","data":{"amount":5}}"#,
        ),
        vec![],
    );
    open.transaction = Some(Transaction::Open);
    events.extend([aborted, open]);
    deliver(&mut app, events);
    let _ = app.update(Action::Last);
    let _ = app.update(Action::MoveUp);
    insta::assert_snapshot!("timeline_transactions", screen(&app));
    let _ = app.update(Action::Open);
    let _ = app.update(Action::Last);
    let view = app.stream().unwrap();
    assert_eq!(view.indices.len(), 4, "shown: all four of order-1001");
    assert_eq!(
        view.state["paid"], 89.9,
        "the aborted 999 and the open 5 are not folded: {}",
        view.state
    );
    insta::assert_snapshot!("stream_transactions", wide(&app));
}

#[test]
fn v_shows_the_read_models_row_beside_the_fold_and_drift_filters_the_list() {
    let config = format!(
        "[databases.shop]\nurl = \"sqlite:shop.db\"\n{}",
        LEDGER.replace(
            "name = \"orders\"\n",
            "name = \"orders\"\nread_model = { database = \"shop\", query = \"select doc from accounts where id = $1\", ignore = [\"/seen_at\"] }\n"
        )
    );
    let mut app = configured(&config, &[5]);
    let _ = app.update(Action::Open);
    let values: [(&[u8], &[u8]); 3] = [
        (b"acct-1", br#"{"type":"Deposited","v":2,"amount":5}"#),
        (b"acct-1", br#"{"type":"Deposited","v":2,"amount":10}"#),
        (b"acct-2", br#"{"type":"Deposited","v":2,"amount":1}"#),
    ];
    let rules = Config::parse(&config, std::path::Path::new("rewind.toml"))
        .unwrap()
        .rules_for("orders");
    let events = values
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
        .collect();
    deliver(&mut app, events);
    let _ = app.update(Action::Open); // acct-1
    let _ = app.update(Action::Last);
    let commands = app.update(Action::ToggleReadModel);
    let [Command::ReadModelRow {
        aggregate,
        generation,
        ..
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(aggregate, "acct-1");
    let generation = *generation;
    assert!(wide(&app).contains("reading acct-1's row…"));
    // The consumer counted a deposit twice; its own timestamp is ignored.
    app.apply(Msg::ReadModelRow {
        generation,
        aggregate: "acct-1".into(),
        result: Ok(Some(
            serde_json::json!({"balance": 25, "seen_at": "2026-12-01"}),
        )),
    });
    let text = wide(&app);
    assert!(
        text.contains("1 difference(s), fold → read model (ignoring /seen_at):"),
        "{text}"
    );
    assert!(text.contains("replace /balance  15 → 25"), "{text}");
    insta::assert_snapshot!("read_model_view", text);
    // Back one event: the same row against an earlier state.
    let _ = app.update(Action::StepBack);
    assert!(wide(&app).contains("replace /balance  5 → 25"));
    // No row: said so.
    app.apply(Msg::ReadModelRow {
        generation,
        aggregate: "acct-1".into(),
        result: Ok(None),
    });
    assert!(wide(&app).contains("the read model has no row for acct-1"));
    // v again: the state.
    let _ = app.update(Action::ToggleReadModel);
    assert!(!wide(&app).contains("read model"));
    // :drift asks the worker, then lists only what differs.
    let commands = command(&mut app, "drift");
    assert!(
        matches!(commands.as_slice(), [Command::Drift { .. }]),
        "{commands:?}"
    );
    app.apply(Msg::Drift {
        generation,
        result: Ok(vec!["acct-2".into()]),
    });
    assert_eq!(app.topic.aggregates.len(), 1);
    assert!(
        app.status.contains("1 aggregate(s) differ"),
        "{}",
        app.status
    );
    let _ = command(&mut app, "drift");
    assert_eq!(app.topic.aggregates.len(), 2);
    // With v on, the next aggregate opened shows its row too.
    let _ = app.update(Action::ToggleReadModel);
    let mut commands = command(&mut app, "agg acct-2");
    commands.extend(app.take_commands());
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::ReadModelRow { aggregate, .. } if aggregate == "acct-2")),
        "{commands:?}"
    );
    assert!(wide(&app).contains("reading acct-2's row…"));
}

#[test]
fn snapshots_in_a_database_are_read_as_a_stream_opens_and_checked_like_a_topics() {
    use kafka_rewind::model::snapshot::StoredSnapshot;
    let config = format!(
        "[databases.shop]\nurl = \"sqlite:shop.db\"\n{}",
        LEDGER.replace(
            "name = \"orders\"\n",
            "name = \"orders\"\nsnapshots = { database = \"shop\", query = \"select state, version from snaps where id = $1\" }\n"
        )
    );
    let mut app = configured(&config, &[5]);
    let _ = app.update(Action::Open);
    let rules = Config::parse(&config, std::path::Path::new("rewind.toml"))
        .unwrap()
        .rules_for("orders");
    let values: [&[u8]; 2] = [
        br#"{"type":"Deposited","v":2,"amount":5}"#,
        br#"{"type":"Deposited","v":2,"amount":10}"#,
    ];
    let events = values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let raw = RawRecord {
                topic: "orders",
                partition: 0,
                offset: i as i64,
                timestamp: Some(1_795_687_200_000 + i as i64 * 61_000),
                key: Some(b"acct-1"),
                headers: vec![],
                value: Some(value),
            };
            Event::decode(&raw, &rules)
        })
        .collect();
    deliver(&mut app, events);
    let mut commands = app.update(Action::Open);
    commands.extend(app.take_commands());
    let asked = commands.iter().find_map(|c| match c {
        Command::LoadDatabaseSnapshots {
            aggregate,
            generation,
            ..
        } => Some((aggregate.clone(), *generation)),
        _ => None,
    });
    let (aggregate, generation) = asked.unwrap_or_else(|| panic!("{commands:?}"));
    assert_eq!(aggregate, "acct-1");
    let row = |version, balance| StoredSnapshot {
        coord: kafka_rewind::model::Coord {
            partition: -1,
            offset: version as i64,
        },
        version: Some(version),
        state: serde_json::json!({"balance": balance}),
    };
    // v1 is right, v2 is not.
    app.apply(Msg::AggregateSnapshots {
        generation,
        aggregate: "acct-1".into(),
        result: Ok(vec![row(1, 5), row(2, 99)]),
    });
    let view = app.stream().unwrap();
    assert!(view.projection.has_snapshots());
    assert_eq!(view.snapshot_checks.len(), 2, "{:?}", view.snapshot_checks);
    assert!(view.snapshot_checks[&1].is_empty());
    assert_eq!(view.snapshot_checks[&2][0].path, "/balance");
    // S rebuilds from the latest snapshot at or before the cursor: v1 at the first
    // event (which once panicked, with nothing before it), v2 at the last.
    let _ = app.update(Action::ToggleSnapshotStart);
    assert_eq!(app.stream().unwrap().basis.snapshot, Some(1));
    let _ = app.update(Action::Last);
    assert_eq!(app.stream().unwrap().basis.snapshot, Some(2));
}
