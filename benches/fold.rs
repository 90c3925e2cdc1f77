//! Fold, jump and step on a 100,000-event aggregate stream with jq reducers.
//! Targets (issue 3): jump anywhere ≤ 2 ms, step ≤ 0.2 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use kafka_rewind::isolation::Isolated;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::projection::Projection;
use kafka_rewind::model::reducer::{Fold, Reducers};
use kafka_rewind::model::{Event, TopicRules};
use std::rc::Rc;
use std::time::Duration;

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

fn programs() -> std::collections::BTreeMap<String, String> {
    [
        ("AccountOpened".to_string(), "$event.data".to_string()),
        (
            "Deposited".to_string(),
            ".balance += $event.data.amount | .last = $meta.offset".to_string(),
        ),
    ]
    .into()
}

fn bench(c: &mut Criterion) {
    let events = stream();
    let in_process: Rc<dyn Fold> = Rc::new(Reducers::compile(&programs()).unwrap());
    project(c, "projection_100k", &events, in_process);
    // The same reducers in the isolated worker process (issue 6): the cost of isolation.
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_rewind"));
    let isolated: Rc<dyn Fold> = Rc::new(Isolated::new(
        exe,
        kafka_rewind::model::reducer::Logic::reducers(programs()),
        Duration::from_secs(2),
    ));
    project(c, "projection_100k_isolated", &events, isolated);
}

fn project(c: &mut Criterion, name: &str, events: &[Event], reducers: Rc<dyn Fold>) {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.bench_function("fold_all", |b| {
        b.iter(|| Projection::new(reducers.clone(), events).state_after(EVENTS - 1))
    });
    let mut p = Projection::new(reducers.clone(), events);
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
