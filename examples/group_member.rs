//! A consumer that joins a group and stays in it until its standard input closes: to
//! see rewind refuse to move a group with live members, by hand or in the tests.
//!
//! `cargo run --example group_member -- BROKERS GROUP TOPIC [--commit] [--protocol consumer]`
//!
//! `--protocol consumer` joins with KIP-848's consumer protocol (`group.protocol`)
//! instead of the classic one.
//!
//! Prints `assigned P,P,…` once the group gave it partitions. With `--commit` it then
//! reads what is there, commits its position and prints `committed N` (N records read).
//! It keeps polling (staying a live member) until stdin closes, then leaves the group
//! and prints `left`.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::ClientConfig;

fn say(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, group, topic, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: group_member BROKERS GROUP TOPIC [--commit] [--protocol classic|consumer]"
        );
        std::process::exit(2);
    };
    let commit = rest.iter().any(|a| a == "--commit");
    let protocol = rest
        .iter()
        .position(|a| a == "--protocol")
        .and_then(|i| rest.get(i + 1))
        .map_or("classic", String::as_str);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("group.protocol", protocol)
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("client.id", format!("{group}-member"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("log_level", "3")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");

    let closed = Arc::new(AtomicBool::new(false));
    let flag = closed.clone();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        flag.store(true, Ordering::SeqCst);
    });

    let mut assigned = false;
    let mut read = 0usize;
    let mut at_end = std::collections::BTreeSet::new();
    let mut committed = !commit;
    while !closed.load(Ordering::SeqCst) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(_)) => read += 1,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            _ => {}
        }
        let assignment: Vec<i32> = consumer
            .assignment()
            .map(|a| a.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        if !assigned && !assignment.is_empty() {
            assigned = true;
            let partitions: Vec<String> = assignment.iter().map(i32::to_string).collect();
            say(&format!("assigned {}", partitions.join(",")));
        }
        if assigned && !committed && assignment.iter().all(|p| at_end.contains(p)) {
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => {
                    committed = true;
                    say(&format!("committed {read}"));
                }
                Err(e) => eprintln!("commit failed, retrying: {e}"),
            }
        }
    }
    consumer.unsubscribe();
    drop(consumer);
    say("left");
}
