//! Windows on big topics: `--last N` on commands, `:topic NAME --since/--until/--last`
//! in the TUI, and a topic bigger than `[limits] open_events` opening on its newest
//! window with a note, through the real worker on librdkafka's mock cluster.

use crate::common::{json_lines, mock, produce, rewind, Driver, Rec};
use kafka_rewind::app::Action;

const T0: i64 = 1_795_687_200_000;

fn topic_of_30() -> crate::common::Mock {
    let cluster = mock(&[("t", 3)]);
    let recs: Vec<Rec> = (0..30)
        .map(|i: i64| {
            Rec::new(
                "t",
                (i % 3) as i32,
                &format!("k{}", i / 6),
                &format!(r#"{{"n":{i}}}"#),
            )
            .at(T0 + i * 1000)
        })
        .collect();
    produce(&cluster.bootstrap_servers(), &recs);
    cluster
}

/// The 30-event topic, and the TUI on it with this config, its topics listed.
fn opened_with(config: &str) -> (crate::common::Mock, Driver) {
    let cluster = topic_of_30();
    let config =
        kafka_rewind::config::Config::parse(config, std::path::Path::new("rewind.toml")).unwrap();
    let conn = kafka_rewind::config::Connection {
        brokers: cluster.bootstrap_servers(),
        ..Default::default()
    };
    let mut d = Driver::start(conn, config);
    d.wait("the topics", |a| !a.topics.all.is_empty());
    (cluster, d)
}

#[test]
fn last_n_reads_the_newest_events_of_each_partition() {
    let cluster = topic_of_30();
    let b = cluster.bootstrap_servers();
    let lines = json_lines(&rewind(&["-b", &b, "events", "t", "--last", "2"]));
    let got: Vec<(i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l["partition"].as_i64().unwrap(),
                l["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(0, 8), (0, 9), (1, 8), (1, 9), (2, 8), (2, 9)]);
    let counted: serde_json::Value = serde_json::from_str(&crate::common::stdout(&rewind(&[
        "-b",
        &b,
        "-o",
        "json",
        "aggregates",
        "t",
        "--last",
        "1",
    ])))
    .unwrap();
    let total: i64 = counted
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 3);
}

#[test]
fn a_big_topic_opens_on_its_newest_window_and_windows_can_be_asked_for() {
    let (_cluster, mut d) = opened_with("[limits]\nopen_events = 6\n");
    // 30 events, more than 6: the newest 2 of each partition, and a note saying so.
    d.act(Action::Open);
    d.wait("the window", |a| a.topic.events.done);
    assert_eq!(d.app.topic.events.len(), 6);
    let note = d.app.topic.events.note.clone().expect("a note");
    assert!(
        note.starts_with("t holds 30 events, more than [limits] open_events (6): showing the last 2 events of each partition. Widen with :topic t --last N or --since TIME"),
        "{note}"
    );
    assert!(
        d.screen(160, 20).contains("t holds 30 events"),
        "the note is on screen"
    );
    // R keeps the window.
    d.act(Action::Refresh);
    d.wait("the reload", |a| a.topic.events.done);
    assert_eq!(d.app.topic.events.len(), 6);
    // Asked for: the last 4 of each partition, since the 20th second.
    d.command(&format!(
        "topic t --last 4 --since {}",
        chrono::DateTime::from_timestamp_millis(T0 + 20_000)
            .unwrap()
            .to_rfc3339()
    ));
    d.wait("the asked window", |a| a.topic.events.done);
    let offsets: Vec<(i32, i64)> = d
        .app
        .topic
        .events
        .index
        .iter()
        .map(|e| (e.coord().partition, e.coord().offset))
        .collect();
    // Offsets 6..10 of each partition (event n is at offset n / 3 of partition n % 3);
    // of those, times 20 s and later (n >= 20): not n = 18 (0/6) nor 19 (1/6).
    assert_eq!(
        offsets,
        [
            (0, 7),
            (0, 8),
            (0, 9),
            (1, 7),
            (1, 8),
            (1, 9),
            (2, 6),
            (2, 7),
            (2, 8),
            (2, 9)
        ]
    );
    assert!(d
        .app
        .topic
        .events
        .note
        .as_deref()
        .unwrap()
        .starts_with("showing the last 4 events of each partition, since"));
    // A bad window: one line, nothing opened.
    d.command("topic t --last zero");
    assert!(
        d.app
            .status
            .contains(":topic t: --last zero: not a count of events"),
        "{}",
        d.app.status
    );
}

#[test]
fn agg_of_an_aggregate_outside_the_loaded_window_reads_it_from_the_topic() {
    use kafka_rewind::app::Screen;
    let (_cluster, mut d) = opened_with(
        "[limits]\nopen_events = 6\n[[topics]]\nname = \"t\"\npartitioner = \"scan\"\n",
    );
    d.act(Action::Open);
    d.wait("the window", |a| a.topic.events.done);
    // The window holds events 24..29, all of k4; k0 (events 0..5) is not loaded.
    assert!(d
        .app
        .topic
        .events
        .index
        .iter()
        .all(|e| e.aggregate() == "k4"));
    d.command("agg k0");
    d.wait(
        "k0 read from the topic",
        |a| matches!(&a.screen, Screen::Story(v) if v.answered()),
    );
    let Screen::Story(view) = &d.app.screen else {
        panic!()
    };
    assert!(view.lazy);
    let got: Vec<i64> = view.strands()[0]
        .events
        .iter()
        .map(|e| e.value.as_json().unwrap()["n"].as_i64().unwrap())
        .collect();
    assert_eq!(
        got,
        [0, 3, 1, 4, 2, 5],
        "partition then offset order, as `state` reads"
    );
    assert!(d
        .screen(140, 20)
        .contains("Topics › t › k0 (read from the topic"));
    // A mark from here is the cursor's event of t.
    d.act(Action::Mark);
    assert_eq!(d.app.marks.len(), 1);
    assert_eq!(
        (
            d.app.marks[0].topic.as_str(),
            d.app.marks[0].aggregate.as_str()
        ),
        ("t", "k0")
    );
    d.act(Action::Back);
    assert!(matches!(d.app.screen, Screen::Events));
    // An id with no events anywhere says so.
    d.command("agg nobody");
    d.wait(
        "the answer",
        |a| matches!(&a.screen, Screen::Story(v) if v.answered()),
    );
    assert!(d
        .screen(140, 20)
        .contains("aggregate `nobody` has no events in t"));
}
