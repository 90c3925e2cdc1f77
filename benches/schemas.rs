//! Schema'd payloads (issue 11): decoding and indexing 100k Avro and 100k Protobuf
//! records against the same 100k as JSON. Schemas are the topic's local ones (the
//! registry path adds one cached look-up per record).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::index::aggregate_and_type;
use kafka_rewind::model::schema::avro::AvroSchema;
use kafka_rewind::model::schema::protobuf::{self, ProtoSchema};
use kafka_rewind::model::schema::LocalSchema;
use kafka_rewind::model::{Event, Extractor, TopicRules};
use serde_json::{json, Value};

const RECORDS: usize = 100_000;

const AVRO: &str = r#"{"type":"record","name":"Txn","fields":[{"name":"type","type":"string"},
{"name":"eventId","type":"string"},{"name":"accountId","type":"string"},
{"name":"amount","type":"long"},{"name":"currency","type":"string"}]}"#;

const PROTO: &str = r#"syntax = "proto3"; package bench;
message Txn { string type = 1; string eventId = 2; string accountId = 3; int64 amount = 4; string currency = 5; }"#;

fn values() -> Vec<(String, Value)> {
    let types = ["AccountOpened", "Deposited", "Withdrawn", "AddressChanged"];
    (0..RECORDS)
        .map(|i| {
            let key = format!("acct-{}", i % (RECORDS / 10));
            let kind = if i < RECORDS / 10 {
                types[0]
            } else {
                types[1 + i % 3]
            };
            let value = json!({"type": kind, "eventId": format!("e-{i}"), "accountId": key,
                "amount": (i % 997) as i64, "currency": "EUR"});
            (key, value)
        })
        .collect()
}

fn rules(local: Option<LocalSchema>) -> TopicRules {
    let mut rules = TopicRules {
        aggregate: Extractor::parse(".accountId").unwrap(),
        ..TopicRules::default()
    };
    rules.payloads.value.local = local.map(Arc::new);
    rules
}

fn raw<'a>(i: usize, key: &'a str, value: &'a [u8]) -> RawRecord<'a> {
    RawRecord {
        topic: "bench",
        partition: (i % 32) as i32,
        offset: (i / 32) as i64,
        timestamp: Some(1_795_000_000_000 + i as i64),
        key: Some(key.as_bytes()),
        headers: vec![],
        value: Some(value),
    }
}

fn formats(c: &mut Criterion) {
    let values = values();
    let avro = AvroSchema::parse(AVRO, &[]).unwrap();
    let proto = ProtoSchema::compile("bench.proto", PROTO, &[]).unwrap();
    let message = proto.message_named("bench.Txn").unwrap();
    let encoded = |f: &dyn Fn(&Value) -> Vec<u8>| -> Vec<(String, Vec<u8>)> {
        values.iter().map(|(k, v)| (k.clone(), f(v))).collect()
    };
    let cases = [
        (
            "json",
            encoded(&|v| serde_json::to_vec(v).unwrap()),
            rules(None),
        ),
        ("avro", encoded(&|v| avro.encode(v).unwrap()), {
            rules(Some(LocalSchema::Avro(
                AvroSchema::parse(AVRO, &[]).unwrap(),
            )))
        }),
        (
            "protobuf",
            encoded(&|v| protobuf::encode(&message, v).unwrap()),
            {
                let schema = ProtoSchema::compile("bench.proto", PROTO, &[]).unwrap();
                let message = schema.message_named("bench.Txn").unwrap();
                rules(Some(LocalSchema::Protobuf { schema, message }))
            },
        ),
    ];
    let mut group = c.benchmark_group("formats_100k");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    for (name, records, rules) in &cases {
        // Every case decodes to the same events.
        let first = Event::decode(&raw(7, &records[7].0, &records[7].1), rules);
        assert_eq!(first.value.to_json(), values[7].1, "{name}");
        assert_eq!(first.aggregate, "acct-7");
        group.bench_function(format!("{name}/full_decode"), |b| {
            b.iter(|| {
                for (i, (k, v)) in records.iter().enumerate() {
                    black_box(Event::decode(&raw(i, k, v), rules));
                }
            })
        });
        group.bench_function(format!("{name}/index"), |b| {
            b.iter(|| {
                for (i, (k, v)) in records.iter().enumerate() {
                    black_box(aggregate_and_type(&raw(i, k, v), rules));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, formats);
criterion_main!(benches);
