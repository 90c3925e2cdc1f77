//! Hostile times and bytes: a topic with timestamps past every calendar (10^16 ms,
//! year 10000, -1, 0, 2^62, i64's ends) and 300 random records — random bytes, keys,
//! headers and times — opened, browsed, searched, streamed, stepped and diffed, and
//! every screen drawn at several sizes down to 40×12, without a panic.

use kafka_rewind::app::{Action, App, Msg};
use kafka_rewind::config::Config;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::{Event, PartitionInfo, TopicInfo, TopicRules};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() % (max as u64 + 1)) as usize;
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn events() -> Vec<Event> {
    let odd: [i64; 8] = [
        10_i64.pow(16),
        253_402_300_800_000,
        -1,
        0,
        1 << 62,
        i64::MIN,
        i64::MAX,
        -62_167_219_200_001,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for i in 0..(odd.len() + 300) {
        let (key, value, timestamp, header) = if i < odd.len() {
            (
                b"order-1".to_vec(),
                format!("{{\"type\":\"Odd\",\"data\":{{\"n\":{i}}}}}").into_bytes(),
                Some(odd[i]),
                vec![],
            )
        } else {
            let value = match rng.next() % 3 {
                0 => format!(
                    "{{\"type\":\"T{}\",\"data\":{{\"x\":{}}}}}",
                    rng.next() % 4,
                    rng.next() as i64
                )
                .into_bytes(),
                1 => rng.bytes(200),
                _ => rng.bytes(3),
            };
            let key = if rng.next().is_multiple_of(3) {
                b"order-1".to_vec()
            } else {
                rng.bytes(12)
            };
            (
                key,
                value,
                (!rng.next().is_multiple_of(4)).then(|| rng.next() as i64),
                rng.bytes(8),
            )
        };
        let raw = RawRecord {
            topic: "odd",
            partition: 0,
            offset: i as i64,
            timestamp,
            key: Some(&key),
            headers: vec![("h", Some(&header))],
            value: Some(&value),
        };
        out.push(Event::decode(&raw, &TopicRules::default()));
    }
    out
}

fn draw_all_sizes(app: &App) {
    for (w, h) in [(40, 12), (80, 24), (200, 50)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|f| kafka_rewind::ui::draw(f, app)).unwrap();
    }
}

#[test]
fn odd_timestamps_and_random_records_never_crash_the_tui() {
    let events = events();
    let total = events.len();
    let mut app = App::new("127.0.0.1:9092".into(), Config::default());
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![TopicInfo {
        name: "odd".into(),
        partitions: vec![PartitionInfo {
            partition: 0,
            low: 0,
            high: total as i64,
        }],
        ..Default::default()
    }])));
    draw_all_sizes(&app);
    let _ = app.update(Action::Open);
    app.apply(Msg::TopicSize {
        generation: 1,
        total: total as i64,
    });
    app.apply(Msg::Events {
        generation: 1,
        events,
    });
    app.apply(Msg::Loaded {
        generation: 1,
        result: Ok(()),
    });
    // Browse every event, in both panes.
    for i in 0..total {
        if i % 37 == 0 {
            let _ = app.update(Action::NextPane);
        }
        draw_all_sizes(&app);
        let _ = app.update(Action::MoveDown);
    }
    // Search.
    let _ = app.update(Action::StartFilter);
    for c in "order".chars() {
        let _ = app.update(Action::Type(c));
    }
    let _ = app.update(Action::Submit);
    draw_all_sizes(&app);
    let _ = app.update(Action::NextMatch);
    let _ = app.update(Action::PrevMatch);
    // The stream of order-1 (the odd times are its first events): step, diff, skip.
    let _ = app.update(Action::First);
    let _ = app.update(Action::Open);
    assert!(app.stream().is_some(), "{}", app.status);
    for _ in 0..5 {
        let _ = app.tick();
    }
    for action in [
        Action::First,
        Action::StepForward,
        Action::ToggleDiff,
        Action::StepForward,
        Action::ToggleSkip,
        Action::Last,
        Action::StepBack,
        Action::ToggleDiff,
        Action::NextPane,
        Action::MoveDown,
    ] {
        let _ = app.update(action);
        let _ = app.tick();
        draw_all_sizes(&app);
    }
    let _ = app.update(Action::Mark);
    let _ = app.update(Action::ShowMarks);
    draw_all_sizes(&app);
    let _ = app.update(Action::Back);
    let _ = app.update(Action::ToggleHelp);
    draw_all_sizes(&app);
}
