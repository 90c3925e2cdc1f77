//! Hostile payloads: every one is shown, nothing crashes, JSON output stays valid JSON
//! without raw control bytes, and the TUI never passes control characters to the
//! terminal.

use crate::common::*;
use kafka_rewind::app::{Action, App, Msg};
use kafka_rewind::config::Config;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::{Event, PartitionInfo, TopicInfo, TopicRules};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};

const BIG_INT: &str = "123456789012345678901234567890";
const NEG_BIG_INT: &str = "-98765432109876543210987654321";

/// (key, value, headers) of each hostile record, with what it is.
/// What a record is, its key, value and headers.
type Hostile = (
    &'static str,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Vec<u8>)>,
);

fn hostile() -> Vec<Hostile> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let big = json!({"type": "Big", "blob": "x".repeat(1_000_000)}).to_string();
    vec![
        (
            "deep nesting",
            Some(b"deep".to_vec()),
            Some(deep.into_bytes()),
            vec![],
        ),
        (
            "1 MB value",
            Some(b"big".to_vec()),
            Some(big.into_bytes()),
            vec![],
        ),
        (
            "escape sequences",
            Some(b"\x1b[31mkey\x07".to_vec()),
            Some(
                "\x1b[2J\x1b]0;pwned\x07 text\r\n\x08\x7f \u{9b}31m"
                    .as_bytes()
                    .to_vec(),
            ),
            vec![("h\x1b[1m".to_owned(), b"\x1b]0;title\x07".to_vec())],
        ),
        (
            "no key",
            None,
            Some(br#"{"type":"NoKey"}"#.to_vec()),
            vec![],
        ),
        ("empty value", Some(b"empty".to_vec()), Some(vec![]), vec![]),
        ("tombstone", Some(b"tomb".to_vec()), None, vec![]),
        (
            "big integers",
            Some(b"num".to_vec()),
            Some(format!(r#"{{"type":"Num","n":{BIG_INT},"neg":{NEG_BIG_INT}}}"#).into_bytes()),
            vec![],
        ),
        (
            "NUL",
            Some(b"nul\0".to_vec()),
            Some(b"a\0b {\"x\":\"\\u0000\"}".to_vec()),
            vec![],
        ),
        (
            "invalid UTF-8",
            Some(vec![0xff, 0xfe]),
            Some(vec![0xff, 0xfe, 0x00, 0x41]),
            vec![("bin".into(), vec![0xc3, 0x28])],
        ),
        (
            "truncated JSON",
            Some(b"trunc".to_vec()),
            Some(br#"{"type":"Trunc","data":{"a":"#.to_vec()),
            vec![],
        ),
    ]
}

#[test]
fn hostile_payloads_are_shown_and_json_output_stays_clean() {
    let cluster = mock(&[("h", 1)]);
    let b = cluster.bootstrap_servers();
    let records: Vec<Rec> = hostile()
        .into_iter()
        .map(|(_, key, value, headers)| Rec {
            topic: "h".into(),
            partition: Some(0),
            key,
            value,
            headers,
            timestamp: None,
        })
        .collect();
    produce_with(&b, &records, &[("message.max.bytes", "3000000")]);

    let out = rewind(&["-b", &b, "events", "h"]);
    let text = stdout(&out);
    assert!(
        !out.stdout
            .iter()
            .any(|&c| c < 0x20 && c != b'\n' || c == 0x7f),
        "a raw control byte in the JSON output"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON"))
        .collect();
    assert_eq!(lines.len(), hostile().len(), "every record is shown");
    let value = |i: usize| &lines[i]["value"];
    assert_eq!(
        value(0).as_str().map(str::len),
        Some(200_000),
        "deep nesting is text"
    );
    assert_eq!(value(1)["blob"].as_str().map(str::len), Some(1_000_000));
    assert_eq!(
        value(2),
        "\u{1b}[2J\u{1b}]0;pwned\u{7} text\r\n\u{8}\u{7f} \u{9b}31m"
    );
    assert!(
        !text.contains('\u{9b}'),
        "a raw C1 control (CSI) in the JSON output"
    );
    assert_eq!(lines[2]["key"], "\u{1b}[31mkey\u{7}");
    assert_eq!(lines[3]["key"], Value::Null);
    assert_eq!(value(4), "");
    assert_eq!(value(5), &Value::Null);
    // Integers beyond 64 bits keep every digit.
    assert!(
        text.contains(&format!("\"n\":{BIG_INT}"))
            && text.contains(&format!("\"neg\":{NEG_BIG_INT}")),
        "{}",
        lines[6]
    );
    assert_eq!(value(7), "a\0b {\"x\":\"\\u0000\"}");
    assert_eq!(value(8), &json!({"base64": "//4AQQ=="}));
    assert_eq!(lines[8]["key"], json!({"base64": "//4="}));
    assert_eq!(value(9), r#"{"type":"Trunc","data":{"a":"#);

    // The other commands go through them too; the fold keeps big integers' digits.
    stdout(&rewind(&["-b", &b, "aggregates", "h"]));
    let state = stdout(&rewind(&["-b", &b, "state", "h", "--aggregate", "num"]));
    assert!(
        state.contains(BIG_INT) && state.contains(NEG_BIG_INT),
        "{state}"
    );
    for key in ["deep", "big", "empty", "tomb", "trunc"] {
        stdout(&rewind(&["-b", &b, "state", "h", "--aggregate", key]));
    }
}

fn draw(app: &App) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(140, 40)).unwrap();
    terminal.draw(|f| kafka_rewind::ui::draw(f, app)).unwrap();
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol().to_owned())
        .collect()
}

#[test]
fn the_tui_never_passes_control_characters_to_the_terminal() {
    let events: Vec<Event> = hostile()
        .iter()
        .enumerate()
        .map(|(i, (_, key, value, headers))| {
            let raw = RawRecord {
                topic: "h",
                partition: 0,
                offset: i as i64,
                timestamp: Some(1_795_687_200_000 + i as i64),
                key: key.as_deref(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
                    .collect(),
                value: value.as_deref(),
            };
            Event::decode(&raw, &TopicRules::default())
        })
        .collect();
    let mut app = App::new("127.0.0.1:9092".into(), Config::default());
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![TopicInfo {
        name: "h".into(),
        partitions: vec![PartitionInfo {
            partition: 0,
            low: 0,
            high: events.len() as i64,
        }],
        ..Default::default()
    }])));
    let _ = app.update(Action::Open);
    let n = events.len();
    app.apply(Msg::Events {
        generation: 1,
        events,
    });
    app.apply(Msg::Loaded {
        generation: 1,
        result: Ok(()),
    });
    let check = |app: &App, what: &str| {
        for (at, cell) in draw(app).iter().enumerate() {
            assert!(
                !cell.chars().any(char::is_control),
                "{what}: control character {cell:?} at cell {at}"
            );
        }
    };
    for i in 0..n {
        app.topic.events.selected = i;
        check(&app, &format!("events, {}", hostile()[i].0));
        let _ = app.update(Action::NextPane); // the detail pane, scrolled
        let _ = app.update(Action::PageDown);
        check(&app, &format!("event pane, {}", hostile()[i].0));
        let _ = app.update(Action::NextPane);
        let _ = app.update(Action::Open);
        check(&app, &format!("stream, {}", hostile()[i].0));
        let _ = app.update(Action::ToggleDiff);
        check(&app, &format!("diff, {}", hostile()[i].0));
        let _ = app.update(Action::ToggleDiff);
        let _ = app.update(Action::Back);
    }
    // The state pane shows big integers whole.
    app.topic.events.selected = 6;
    let _ = app.update(Action::Open);
    let screen = draw(&app).concat();
    assert!(screen.contains(BIG_INT), "the state keeps the digits");
}
