//! A broker for benchmarks: librdkafka's mock cluster with one topic of N JSON events
//! over P partitions (keys `acct-K`, 10 events per key unless KEYS says how many keys),
//! served until stdin closes.
//!
//! `cargo run --release --example bench_broker -- [EVENTS] [PARTITIONS] [KEYS]` prints
//! `bootstrap=HOST:PORT`, seeds the topic `bench`, then prints `ready N`.
//! The mock keeps about 37,500 small events per partition: use enough partitions.
//! With `BENCH_BROKERS=HOST:PORT` the topic is made and seeded on that cluster (Apache
//! Kafka, say) instead of a mock.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let partitions: i32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let keys: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or((events / 10).max(1));
    let (_cluster, bootstrap) = match std::env::var("BENCH_BROKERS") {
        Ok(brokers) => {
            create_topic(&brokers, partitions);
            (None, brokers)
        }
        Err(_) => {
            let cluster = MockCluster::new(1).expect("mock cluster");
            cluster.create_topic("bench", partitions, 1).expect("topic");
            let bootstrap = cluster.bootstrap_servers();
            (Some(cluster), bootstrap)
        }
    };
    println!("bootstrap={bootstrap}");
    std::io::stdout().flush().unwrap();
    let started = Instant::now();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("log_level", "3")
        .create()
        .expect("producer");
    let types = ["AccountOpened", "Deposited", "Withdrawn", "AddressChanged"];
    let base = 1_795_000_000_000i64;
    for i in 0..events {
        let account = i % keys;
        let key = format!("acct-{account}");
        let kind = if i < keys { types[0] } else { types[1 + i % 3] };
        let value = format!(
            r#"{{"type":"{kind}","eventId":"e-{i}","accountId":"{key}","amount":{},"currency":"EUR"}}"#,
            i % 997
        );
        let mut record = BaseRecord::to("bench")
            .key(key.as_str())
            .payload(value.as_str())
            .timestamp(base + i as i64);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    eprintln!("seeded {events} events in {:?}", started.elapsed());
    println!("ready {events}");
    std::io::stdout().flush().unwrap();
    // Serve until whoever started us closes our stdin.
    for _ in std::io::stdin().lock().lines() {}
}

/// The `bench` topic on a real cluster, through the admin API.
fn create_topic(brokers: &str, partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("log_level", "3")
        .create()
        .expect("admin client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let topic = NewTopic::new("bench", partitions, TopicReplication::Fixed(1));
    for result in runtime
        .block_on(admin.create_topics([&topic], &AdminOptions::new()))
        .expect("CreateTopics")
    {
        result.expect("the bench topic");
    }
}
