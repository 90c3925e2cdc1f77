//! The Stream screen (timeline, state, changes, links, snapshots, transactions) and a
//! story across topics.

use super::*;

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
    while app.tick().busy {
        slices += 1;
        assert!(slices < 100, "the fold never finishes");
    }
    let view = app.stream().unwrap();
    assert!(view.ready && slices > 5, "{slices} slices");
    assert_eq!(view.state, serde_json::json!({"n": 4999}));
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
    let Screen::Story(story) = &app.screen else {
        panic!()
    };
    let view = story.timeline().expect("read");
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
