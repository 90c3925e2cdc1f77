use super::*;
use crate::model::event::RawRecord;
use crate::model::{PartitionInfo, TopicRules};

fn topic(name: &str, counts: &[i64]) -> TopicInfo {
    TopicInfo {
        name: name.into(),
        partitions: counts
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

fn event(offset: i64, key: &str, kind: &str) -> Event {
    let value = format!(r#"{{"type":"{kind}"}}"#);
    let raw = RawRecord {
        topic: "orders",
        offset,
        timestamp: Some(1_795_687_200_000 + offset * 1000),
        key: Some(key.as_bytes()),
        value: Some(value.as_bytes()),
        ..Default::default()
    };
    Event::decode(&raw, &TopicRules::default())
}

fn app_with_topics() -> App {
    let mut app = App::new("127.0.0.1:9092".into(), Config::default());
    assert_eq!(app.start(), vec![Command::LoadTopics]);
    app.apply(Msg::Topics(Ok(vec![
        topic("orders", &[3, 2]),
        topic("payments", &[4]),
        topic("shipments", &[1]),
    ])));
    app
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let _ = app.update(Action::Type(c));
    }
}

#[test]
fn filter_narrows_topics_as_you_type() {
    let mut app = app_with_topics();
    let _ = app.update(Action::StartFilter);
    type_text(&mut app, "pay");
    assert_eq!(app.topics.visible().len(), 1);
    let _ = app.update(Action::Submit);
    assert_eq!(app.input, None);
    assert_eq!(app.topics.filter, "pay");
    let commands = app.update(Action::Open);
    assert_eq!(
        commands,
        vec![Command::LoadTopic {
            topic: "payments".into(),
            generation: 1,
            window: Default::default(),
        }]
    );
    assert_eq!(app.topic.events.total, Some(4));
}

#[test]
fn open_load_move_and_back() {
    let mut app = app_with_topics();
    let _ = app.update(Action::MoveDown);
    let _ = app.update(Action::MoveUp);
    let commands = app.update(Action::Open);
    assert_eq!(
        commands,
        vec![Command::LoadTopic {
            topic: "orders".into(),
            generation: 1,
            window: Default::default(),
        }]
    );
    assert!(matches!(app.screen, Screen::Events));
    app.apply(Msg::Events {
        generation: 1,
        events: vec![event(0, "a", "Created"), event(1, "b", "Created")],
    });
    app.apply(Msg::Events {
        generation: 1,
        events: vec![event(2, "a", "Shipped")],
    });
    app.apply(Msg::Loaded {
        generation: 1,
        result: Ok(()),
    });
    assert!(app.topic.events.done);
    let _ = app.update(Action::Last);
    assert_eq!(app.topic.events.current().unwrap().offset, 2);
    let _ = app.update(Action::First);
    let _ = app.update(Action::MoveDown);
    assert_eq!(app.topic.events.selected, 1);
    let _ = app.update(Action::Back);
    assert!(matches!(app.screen, Screen::Topics));
    // A late report from the topic that was left is dropped.
    app.apply(Msg::Events {
        generation: 1,
        events: vec![event(3, "c", "X")],
    });
    assert_eq!(app.topic.events.len(), 3);
}

#[test]
fn search_jumps_between_matches() {
    let mut app = app_with_topics();
    let _ = app.update(Action::Open);
    app.apply(Msg::Events {
        generation: 1,
        events: vec![
            event(0, "a", "Created"),
            event(1, "b", "Shipped"),
            event(2, "c", "Shipped"),
        ],
    });
    let _ = app.update(Action::StartFilter);
    type_text(&mut app, "shipped");
    let _ = app.update(Action::Submit);
    assert_eq!(app.topic.events.selected, 1);
    let _ = app.update(Action::NextMatch);
    assert_eq!(app.topic.events.selected, 2);
    let _ = app.update(Action::NextMatch);
    assert_eq!(app.topic.events.selected, 1);
    let _ = app.update(Action::PrevMatch);
    assert_eq!(app.topic.events.selected, 2);
}

#[test]
fn command_line_opens_topics_and_reports_mistakes() {
    let mut app = app_with_topics();
    let _ = app.update(Action::StartCommand);
    type_text(&mut app, "topic shipments");
    let commands = app.update(Action::Submit);
    assert_eq!(
        commands,
        vec![Command::LoadTopic {
            topic: "shipments".into(),
            generation: 1,
            window: Default::default(),
        }]
    );
    let _ = app.update(Action::StartCommand);
    // Not listed: asked all the same (ACLs hide topics from listings); the load says
    // what the broker answered.
    type_text(&mut app, "topic nope");
    assert!(matches!(
        app.update(Action::Submit).as_slice(),
        [Command::LoadTopic { topic, .. }] if topic == "nope"
    ));
    let _ = app.update(Action::StartCommand);
    type_text(&mut app, "frobnicate");
    let _ = app.update(Action::Submit);
    assert!(app.status.contains("unknown command"), "{}", app.status);
    let _ = app.update(Action::StartCommand);
    let _ = app.update(Action::Cancel);
    assert_eq!(app.input, None);
}

#[test]
fn help_and_quit() {
    let mut app = app_with_topics();
    let _ = app.update(Action::ToggleHelp);
    assert!(matches!(app.overlay, Some(Overlay::Help)));
    let _ = app.update(Action::Quit);
    assert!(
        app.overlay.is_none() && !app.quit,
        "q closes the help first"
    );
    let _ = app.update(Action::Quit);
    assert!(app.quit);
}

#[test]
fn load_errors_are_kept_for_display() {
    let mut app = App::new("x:1".into(), Config::default());
    let _ = app.start();
    app.apply(Msg::Topics(Err("cannot reach the brokers".into())));
    assert!(!app.topics.loading);
    assert_eq!(
        app.topics.error.as_ref().map(|e| e.message.as_str()),
        Some("cannot reach the brokers")
    );
    assert_eq!(app.update(Action::Refresh), vec![Command::LoadTopics]);
}

#[test]
fn streams_open_from_events_and_by_id_and_step_in_time() {
    let config = Config::parse(
        "[[topics]]\nname = \"orders\"\n[topics.reducers]\n\"*\" = \"(. // []) + [$meta.type]\"\n",
        std::path::Path::new("rewind.toml"),
    )
    .unwrap();
    let mut app = App::new("b:1".into(), config);
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![topic("orders", &[4])])));
    let _ = app.update(Action::Open);
    app.apply(Msg::Events {
        generation: 1,
        events: vec![
            event(0, "a", "Created"),
            event(1, "b", "Created"),
            event(2, "a", "Paid"),
            event(3, "b", "Cancelled"),
        ],
    });
    let _ = app.update(Action::Open); // the cursor's event: aggregate a, at its first event
    let view = app.stream().unwrap();
    assert!(matches!(app.screen, Screen::Stream(_)));
    assert_eq!(view.cursor, 0);
    assert_eq!(view.state, serde_json::json!(["Created"]));
    let _ = app.update(Action::StepForward);
    assert_eq!(
        app.stream().unwrap().state,
        serde_json::json!(["Created", "Paid"])
    );
    let _ = app.update(Action::StartCommand);
    type_text(&mut app, "agg b");
    let _ = app.update(Action::Submit);
    let view = app.stream().unwrap();
    assert_eq!(
        (view.aggregate.as_str(), view.cursor),
        ("b", 1),
        "opens at the last event"
    );
    assert_eq!(view.state, serde_json::json!(["Created", "Cancelled"]));
    let _ = app.update(Action::StepBack);
    assert_eq!(app.stream().unwrap().state, serde_json::json!(["Created"]));
    let _ = app.update(Action::Back);
    assert!(matches!(app.screen, Screen::Events));
    assert_eq!(app.topic.events.selected, 1);
}

#[test]
fn a_followed_event_does_not_reopen_a_stream_that_was_left() {
    let mut app = App::new("127.0.0.1:9092".into(), Config::default());
    app.apply(Msg::Topics(Ok(vec![topic("orders", &[2])])));
    let _ = app.update(Action::Open);
    app.apply(Msg::Events {
        generation: 1,
        events: vec![event(0, "a", "Created"), event(1, "a", "Paid")],
    });
    app.apply(Msg::Loaded {
        generation: 1,
        result: Ok(()),
    });
    let _ = app.update(Action::Open); // a's stream
    assert!(app.stream().is_some());
    let _ = app.update(Action::Back);
    assert!(app.stream().is_none(), "the stream closes with its screen");
    let _ = app.update(Action::Follow);
    app.apply(Msg::Events {
        generation: 1,
        events: vec![event(2, "a", "Shipped")],
    });
    assert!(
        matches!(app.screen, Screen::Events),
        "still on Events: {:?}",
        app.screen
    );
    assert_eq!(app.topic.events.len(), 3);
}

#[test]
fn records_counted_later_reach_only_topics_listed_with_the_same_watermarks() {
    let mut app = app_with_topics();
    let mut orders = topic("orders", &[3, 2]);
    orders.records = Some(4);
    // Counted against watermarks since moved on: not taken.
    let mut payments = topic("payments", &[3]);
    payments.records = Some(3);
    app.apply(Msg::TopicRecords(vec![orders, payments]));
    let records: Vec<Option<u64>> = app.topics.all.iter().map(|t| t.records).collect();
    assert_eq!(records, [Some(4), None, None]);
}

#[test]
fn a_broker_lost_and_back_is_said_and_a_load_end_without_a_loss_says_nothing() {
    let mut app = app_with_topics();
    let _ = app.update(Action::Open);
    app.apply(Msg::Connection(None));
    assert_eq!(app.status, "");
    app.apply(Msg::Connection(Some(
        "1/1 brokers are down at 127.0.0.1:9092".into(),
    )));
    // A stall said later does not replace the loss.
    app.apply(Msg::Connection(Some("reading orders stalled".into())));
    assert!(app
        .disconnected
        .as_deref()
        .unwrap()
        .starts_with("1/1 brokers"));
    app.apply(Msg::Connection(None));
    assert_eq!(app.disconnected, None);
    assert_eq!(
        app.status,
        "the broker was lost and is back (1/1 brokers are down at 127.0.0.1:9092); the load goes on where it was"
    );
    // A load that fails after all does not go on.
    let generation = app.generation;
    app.apply(Msg::Loaded {
        generation,
        result: Err("reading orders cannot go on".into()),
    });
    assert_eq!(
        app.status,
        "the broker was lost and is back (1/1 brokers are down at 127.0.0.1:9092)"
    );
}

#[test]
fn worker_errors_are_sorted_by_the_first_kafka_error_among_their_causes() {
    use super::{ErrorKind, Severity, WorkerError};
    use crate::kafka::ClusterError;
    let kinds = [
        (
            ClusterError::Authentication {
                brokers: "b:9092".into(),
                reason: "SASL authentication error".into(),
            },
            ErrorKind::Authentication,
            Severity::Error,
        ),
        (
            ClusterError::NotAuthorized {
                brokers: "b:9092".into(),
                reason: "Topic authorization failed".into(),
            },
            ErrorKind::Refused,
            Severity::Warning,
        ),
        (
            ClusterError::TopicNotFound("nope".into()),
            ErrorKind::Other,
            Severity::Error,
        ),
    ];
    for (cluster, kind, severity) in kinds {
        let said = cluster.to_string();
        let e = anyhow::Error::from(cluster).context("loading orders");
        let worker = WorkerError::of(&e);
        assert_eq!(worker.kind, kind, "{said}");
        assert_eq!(worker.message, format!("loading orders: {said}"));
        assert_eq!(worker.status().severity, severity);
    }
    // A read the broker turns down as it goes.
    let read = |code| ClusterError::Read {
        topic: "orders".into(),
        cause: rdkafka::error::KafkaError::MessageConsumption(code),
    };
    use rdkafka::types::RDKafkaErrorCode as Code;
    assert_eq!(
        WorkerError::cluster(&read(Code::TopicAuthorizationFailed)).kind,
        ErrorKind::Refused
    );
    assert_eq!(
        WorkerError::cluster(&read(Code::SaslAuthenticationFailed)).kind,
        ErrorKind::Authentication
    );
    assert_eq!(
        WorkerError::cluster(&read(Code::BrokerTransportFailure)).kind,
        ErrorKind::Other
    );
    assert_eq!(WorkerError::from("no such story").kind, ErrorKind::Other);
    assert_eq!(WorkerError::refused("offline").kind, ErrorKind::Refused);
}
