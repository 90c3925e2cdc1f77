//! The command line against Tansu 0.6.0, a Kafka-protocol broker in a separate process:
//! topics created through the admin API (CreateTopics), which the mock cluster lacks.

mod common;

use std::time::Duration;

use common::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use serde_json::{json, Value};

fn create_topics(bootstrap: &str, topics: &[(&str, i32)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "3")
        .create()
        .expect("admin client");
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for result in runtime
        .block_on(admin.create_topics(&new, &options))
        .expect("create topics")
    {
        result.expect("topic created");
    }
}

#[test]
fn topics_and_events_on_tansu() {
    let tansu = Tansu::start();
    create_topics(&tansu.bootstrap, &[("ledger", 3), ("ledger-dlq", 1)]);
    let mut records: Vec<Rec> = (0..30)
        .map(|i| {
            Rec::new(
                "ledger",
                i % 3,
                &format!("acct-{}", i % 4),
                &json!({"type": "Posted", "amount": i}).to_string(),
            )
            .at(1_790_000_000_000 + i as i64 * 1000)
        })
        .collect();
    let mut binary = Rec::new("ledger-dlq", 0, "acct-1", "");
    binary.value = Some(vec![0x80, 0x81]);
    let mut tombstone = Rec::new("ledger-dlq", 0, "acct-2", "");
    tombstone.value = None;
    records.extend([
        Rec::new("ledger-dlq", 0, "acct-0", "not json"),
        binary,
        tombstone,
    ]);
    // Tansu 0.6.0's memory storage gives a multi-record batch a single offset (its high
    // watermark counts batches), so each record goes in a batch of its own.
    produce_with(&tansu.bootstrap, &records, &[("batch.num.messages", "1")]);

    let topics: Value = serde_json::from_str(&stdout(&rewind(&[
        "-b",
        &tansu.bootstrap,
        "topics",
        "-o",
        "json",
    ])))
    .unwrap();
    let ledger = topic_entry(&topics, "ledger");
    assert_eq!(
        (ledger["partitions"].clone(), ledger["count"].clone()),
        (json!(3), json!(30))
    );
    let dlq = topic_entry(&topics, "ledger-dlq");
    assert_eq!(dlq["count"], 3);

    let lines = json_lines(&rewind(&[
        "-b",
        &tansu.bootstrap,
        "events",
        "ledger",
        "--aggregate",
        "acct-1",
    ]));
    let amounts: Vec<i64> = lines
        .iter()
        .map(|l| l["value"]["amount"].as_i64().unwrap())
        .collect();
    // acct-1 is i = 1, 5, 9, …; in partition then offset order.
    let mut expected: Vec<i64> = (0..30).filter(|i| i % 4 == 1).collect();
    expected.sort_by_key(|i| (i % 3, *i));
    assert_eq!(amounts, expected);
    assert!(lines
        .iter()
        .all(|l| l["type"] == "Posted" && l["timestamp"].as_i64().unwrap() >= 1_790_000_000_000));

    let dlq_lines = json_lines(&rewind(&[
        "-b",
        &tansu.bootstrap,
        "events",
        "ledger-dlq",
        "--limit",
        "3",
    ]));
    let values: Vec<Value> = dlq_lines.iter().map(|l| l["value"].clone()).collect();
    assert_eq!(
        values,
        [json!("not json"), json!({"base64": "gIE="}), Value::Null]
    );
}
