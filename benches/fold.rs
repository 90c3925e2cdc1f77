//! Fold, jump and step on a 100,000-event aggregate stream with jq reducers.
//! Targets (issue 3): jump anywhere ≤ 2 ms, step ≤ 0.2 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::projection::Projection;
use kafka_rewind::model::reducer::Reducers;
use kafka_rewind::model::{Event, TopicRules};

const EVENTS: usize = 100_000;

fn stream() -> Vec<Event> {
    (0..EVENTS)
        .map(|i| {
            let value = match i {
                0 => r#"{"type":"AccountOpened","data":{"owner":"ada","balance":0,"history":[]}}"#.to_owned(),
                i if i % 10 == 0 => format!(r#"{{"type":"AddressChanged","data":{{"address":{{"city":"c{i}","zip":"{i}"}}}}}}"#),
                i => format!(r#"{{"type":"Deposited","data":{{"amount":{}}}}}"#, i % 97),
            };
            let raw = RawRecord { topic: "bench", offset: i as i64, timestamp: Some(i as i64), key: Some(b"acct-1"), value: Some(value.as_bytes()), ..Default::default() };
            Event::decode(&raw, &TopicRules::default())
        })
        .collect()
}

fn reducers() -> Reducers {
    Reducers::compile(
        &[
            ("AccountOpened".to_string(), "$event.data".to_string()),
            (
                "Deposited".to_string(),
                ".balance += $event.data.amount | .last = $meta.offset".to_string(),
            ),
        ]
        .into(),
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let events = stream();
    let reducers = std::rc::Rc::new(reducers());
    let mut group = c.benchmark_group("projection_100k");
    group.sample_size(10);
    group.bench_function("fold_all", |b| {
        b.iter(|| Projection::new(reducers.clone(), &events).state_after(EVENTS - 1))
    });
    let mut p = Projection::new(reducers.clone(), &events);
    p.state_after(EVENTS - 1);
    group.sample_size(100);
    let mut at = 12_345usize;
    group.bench_function("jump_anywhere", |b| {
        b.iter(|| {
            at = (at * 7919 + 104_729) % EVENTS;
            p.state_after(at)
        })
    });
    let mut i = 50_000usize;
    group.bench_function("step_forward", |b| {
        b.iter(|| {
            i = if i + 1 < EVENTS { i + 1 } else { 50_000 };
            p.state_after(i)
        })
    });
    let mut j = 90_000usize;
    group.bench_function("step_back", |b| {
        b.iter(|| {
            j = if j > 1 { j - 1 } else { 90_000 };
            p.state_after(j)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
