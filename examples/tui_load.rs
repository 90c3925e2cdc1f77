//! Times the TUI's load of a topic, in process and headless: the real `App` and worker
//! against a broker, from `:topic NAME` until every event is indexed (the frame a user
//! would see then has every event), then a stream opened at the last event.
//!
//! `cargo run --release --example tui_load -- BOOTSTRAP TOPIC [INDEX_DIR [OPEN_EVENTS]]`
//! prints
//! `loaded N events in S s` and `stream of AGG opened in S s` (peak RSS: run it under
//! `/usr/bin/time -f %M`). With `INDEX_DIR`, the on-disk index is kept there (as the
//! binary keeps it under `$XDG_CACHE_HOME/rewind/index`): run it twice to time a
//! reopen.

use std::time::{Duration, Instant};

use kafka_rewind::app::{worker::Worker, Action, App, Screen};
use kafka_rewind::config::{Config, Connection};

// As the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let brokers = args.next().expect("BOOTSTRAP");
    let topic = args.next().expect("TOPIC");
    let conn = Connection {
        brokers: brokers.clone(),
        ..Connection::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let mut config = Config {
        index_dir: args.next().map(std::path::PathBuf::from),
        ..Config::default()
    };
    // `[limits] open_events`: past it, the topic opens on its newest window.
    config.limits.open_events = args.next().map(|n| n.parse().expect("OPEN_EVENTS"));
    let worker = Worker::new(conn, config.clone(), tx);
    let mut app = App::new(brokers, config);
    let pump = |app: &mut App, until: &dyn Fn(&App) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !until(app) {
            assert!(
                Instant::now() < deadline,
                "timed out; status: {}",
                app.status
            );
            let debug = std::env::var_os("TUI_LOAD_DEBUG").is_some();
            kafka_rewind::app::pump(
                app,
                &rx,
                Duration::from_millis(5),
                &mut |msg| {
                    if debug {
                        eprintln!("{:.200}", format!("{msg:?}"));
                    }
                    std::ops::ControlFlow::Continue(())
                },
                &mut |command| worker.submit(command),
            );
        }
    };
    for command in app.start() {
        worker.submit(command);
    }
    pump(&mut app, &|a| !a.topics.all.is_empty());
    let start = Instant::now();
    for command in app.update(Action::StartCommand) {
        worker.submit(command);
    }
    for c in format!("topic {topic}").chars() {
        let _ = app.update(Action::Type(c));
    }
    for command in app.update(Action::Submit) {
        worker.submit(command);
    }
    let mut first = None;
    pump(&mut app, &|a| {
        a.topic.events.done || (!a.topic.events.is_empty() && first.is_none())
    });
    if !app.topic.events.done {
        first = Some(start.elapsed());
        pump(&mut app, &|a| a.topic.events.done);
    }
    let loaded = start.elapsed();
    println!(
        "first events shown after {:.3} s",
        first.unwrap_or(loaded).as_secs_f64()
    );
    println!(
        "loaded {} events in {:.2} s ({} read in place from the on-disk index, {} records read from the cluster)",
        app.topic.events.len(),
        loaded.as_secs_f64(),
        app.topic.events.index.mapped(),
        worker.records_loaded()
    );
    print_memory();
    for command in app.update(Action::Last) {
        worker.submit(command);
    }
    let aggregate = app
        .topic
        .events
        .index
        .get(app.topic.events.len() - 1)
        .aggregate()
        .to_owned();
    let start = Instant::now();
    for command in app.update(Action::Open) {
        if std::env::var_os("TUI_LOAD_DEBUG").is_some() {
            eprintln!("{command:?}");
        }
        worker.submit(command);
    }
    pump(&mut app, &|a| matches!(a.screen, Screen::Stream(_)));
    println!(
        "stream of {aggregate} opened in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    print_memory();
}

/// The process's peak and current resident memory, anonymous and file-backed (the
/// mapped index).
fn print_memory() {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let rss: Vec<&str> = status
            .lines()
            .filter(|l| {
                ["VmHWM", "VmRSS", "RssAnon", "RssFile"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .collect();
        println!(
            "{}",
            rss.join(" · ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
