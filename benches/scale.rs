//! Scale benchmarks (issue 5): decoding and indexing records, and drawing one frame
//! of the Stream screen at 200×50.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_rewind::app::{Action, App, Msg};
use kafka_rewind::config::Config;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::index::aggregate_and_type;
use kafka_rewind::model::stream::AggregateIndex;
use kafka_rewind::model::{Coord, Event, PartitionInfo, TopicInfo, TopicRules};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const RECORDS: usize = 100_000;

/// (key, value) of records like the bench broker's: 10 events per account.
fn records() -> Vec<(String, String)> {
    let types = ["AccountOpened", "Deposited", "Withdrawn", "AddressChanged"];
    (0..RECORDS)
        .map(|i| {
            let key = format!("acct-{}", i % (RECORDS / 10));
            let kind = if i < RECORDS / 10 { types[0] } else { types[1 + i % 3] };
            let value = format!(
                r#"{{"type":"{kind}","eventId":"e-{i}","accountId":"{key}","amount":{},"currency":"EUR"}}"#,
                i % 997
            );
            (key, value)
        })
        .collect()
}

fn raw<'a>(i: usize, key: &'a str, value: &'a str) -> RawRecord<'a> {
    RawRecord {
        topic: "bench",
        partition: (i % 32) as i32,
        offset: (i / 32) as i64,
        timestamp: Some(1_795_000_000_000 + i as i64),
        key: Some(key.as_bytes()),
        headers: vec![],
        value: Some(value.as_bytes()),
    }
}

fn decode_and_index(c: &mut Criterion) {
    let records = records();
    let rules = TopicRules::default();
    let mut group = c.benchmark_group("records_100k");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.bench_function("full_decode", |b| {
        b.iter(|| {
            for (i, (k, v)) in records.iter().enumerate() {
                black_box(Event::decode(&raw(i, k, v), &rules));
            }
        })
    });
    group.bench_function("index_aggregates", |b| {
        b.iter(|| {
            let mut index = AggregateIndex::with_capacity(RECORDS / 10);
            for (i, (k, v)) in records.iter().enumerate() {
                let r = raw(i, k, v);
                let (aggregate, kind) = aggregate_and_type(&r, &rules);
                let coord = Coord {
                    partition: r.partition,
                    offset: r.offset,
                };
                index.add_parts(&aggregate, &kind, coord, r.timestamp);
            }
            black_box(index.summaries().len())
        })
    });
    group.finish();
}

/// The Stream screen on a topic of 20,000 events, at an aggregate with 40.
fn stream_app() -> App {
    let config = Config::parse(
        "[[topics]]\nname = \"bench\"\n[topics.reducers]\nDeposited = \"(. // {}) | .balance += $event.amount\"\n",
        std::path::Path::new("rewind.toml"),
    )
    .unwrap();
    let mut app = App::new("127.0.0.1:9092".into(), config);
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![TopicInfo {
        name: "bench".into(),
        partitions: vec![PartitionInfo {
            partition: 0,
            low: 0,
            high: 20_000,
        }],
        ..Default::default()
    }])));
    let _ = app.update(Action::Open);
    let events: Vec<Event> = (0..20_000usize)
        .map(|i| {
            let key = format!("acct-{}", i % 500);
            let value = format!(
                r#"{{"type":"Deposited","amount":{},"note":"payment {i} for invoice {}"}}"#,
                i % 97,
                i * 7
            );
            let mut r = raw(i, &key, &value);
            r.partition = 0;
            r.offset = i as i64;
            Event::decode(&r, &TopicRules::default())
        })
        .collect();
    app.apply(Msg::Events {
        generation: 1,
        events,
    });
    app.apply(Msg::Loaded {
        generation: 1,
        result: Ok(()),
    });
    let _ = app.update(Action::Open);
    for _ in 0..20 {
        let _ = app.update(Action::StepForward);
    }
    app
}

fn render(c: &mut Criterion) {
    let app = stream_app();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    c.bench_function("render_stream_200x50", |b| {
        b.iter(|| {
            terminal.draw(|f| kafka_rewind::ui::draw(f, &app)).unwrap();
        })
    });
}

criterion_group!(benches, decode_and_index, render);
criterion_main!(benches);
