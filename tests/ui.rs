//! Snapshot tests of every screen, drawn by the real `ui::draw` into ratatui's
//! `TestBackend` at a fixed size, from app states driven through `update`/`apply`.

use kafka_rewind::app::{Action, App, Msg};
use kafka_rewind::config::Config;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::{Event, PartitionInfo, TopicInfo, TopicRules};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(110, 28)).unwrap();
    terminal.draw(|f| kafka_rewind::ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
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
    }
}

fn app() -> App {
    let mut app = App::new("127.0.0.1:9092".into(), Config::default());
    app.start();
    app.apply(Msg::Topics(Ok(vec![
        topic("orders", &[921, 790, 723]),
        topic("orders-snapshots", &[351]),
        topic("payments", &[340, 322, 357]),
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
    app.update(Action::Open);
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
    app.start();
    insta::assert_snapshot!("topics_loading", screen(&app));
    app.apply(Msg::Topics(Err(
        "cannot reach the brokers at 10.0.0.1:9092 (timed out): check -b / REWIND_BROKERS".into(),
    )));
    insta::assert_snapshot!("topics_error", screen(&app));
}

#[test]
fn topics_filter_typing() {
    let mut app = app();
    app.update(Action::StartFilter);
    for c in "order".chars() {
        app.update(Action::Type(c));
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
    app.update(Action::MoveDown);
    app.update(Action::MoveDown);
    app.update(Action::MoveDown);
    insta::assert_snapshot!("malformed", screen(&app));
    app.update(Action::MoveDown);
    insta::assert_snapshot!("binary", screen(&app));
    app.update(Action::MoveDown);
    insta::assert_snapshot!("tombstone", screen(&app));
    app.update(Action::Last);
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
    app.update(Action::ToggleHelp);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn command_line() {
    let mut app = app();
    opened(&mut app);
    app.update(Action::StartCommand);
    for c in "topic payments".chars() {
        app.update(Action::Type(c));
    }
    insta::assert_snapshot!(screen(&app));
}

fn stream_app() -> App {
    let config = Config::parse(
        "[[topics]]\nname = \"orders\"\n[topics.reducers]\nOrderCreated = \"$event.data\"\nOrderPaid = \".status = \\\"paid\\\" | .paid = $event.data.amount\"\n",
        std::path::Path::new("rewind.toml"),
    )
    .unwrap();
    let mut app = App::new("127.0.0.1:9092".into(), config);
    app.start();
    app.apply(Msg::Topics(Ok(vec![topic("orders", &[7])])));
    opened(&mut app);
    app.update(Action::Open); // the first event's aggregate: order-1001
    app
}

#[test]
fn stream_screen_states() {
    let mut app = stream_app();
    insta::assert_snapshot!("stream_first", screen(&app));
    app.update(Action::StepForward);
    insta::assert_snapshot!("stream_changed_highlighted", screen(&app));
    app.update(Action::ToggleDiff);
    insta::assert_snapshot!("stream_diff", screen(&app));
    app.update(Action::ToggleDiff);
    app.update(Action::Last);
    insta::assert_snapshot!("stream_error_marker", screen(&app));
    app.update(Action::StepBack);
    app.update(Action::ToggleSkip);
    let view = app.stream.as_ref().unwrap();
    assert_eq!(view.state["total"], 89.9);
    assert!(
        view.state.get("status").is_none(),
        "skipping OrderPaid folds as if it were not there"
    );
    insta::assert_snapshot!("stream_skipped", screen(&app));
}
