//! Helpers shared by the integration tests: real brokers (librdkafka's mock cluster in
//! this process, Tansu as a separate process) and running the built `rewind` binary.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::ClientConfig;

mod servers;
// Each test binary uses some of them.
#[allow(unused_imports)]
pub use servers::{Kafka, Postgres, SchemaRegistry, Tansu};

pub type Mock = MockCluster<'static, DefaultProducerContext>;

/// A mock cluster with these topics and partition counts.
pub fn mock(topics: &[(&str, i32)]) -> Mock {
    let cluster = MockCluster::new(1).expect("mock cluster");
    for (name, partitions) in topics {
        cluster
            .create_topic(name, *partitions, 1)
            .expect("create topic");
    }
    cluster
}

/// One record to produce in a test.
#[derive(Debug, Clone, Default)]
pub struct Rec {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub timestamp: Option<i64>,
}

impl Rec {
    pub fn new(topic: &str, partition: i32, key: &str, value: &str) -> Rec {
        Rec {
            topic: topic.into(),
            partition: Some(partition),
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            ..Rec::default()
        }
    }
    pub fn at(mut self, timestamp: i64) -> Rec {
        self.timestamp = Some(timestamp);
        self
    }
}

/// Produces records and waits until the broker has them all.
pub fn produce(bootstrap: &str, records: &[Rec]) {
    produce_with(bootstrap, records, &[]);
}

/// Produces records with extra producer properties.
pub fn produce_with(bootstrap: &str, records: &[Rec], properties: &[(&str, &str)]) {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("log_level", "3");
    for (k, v) in properties {
        config.set(*k, *v);
    }
    let producer: BaseProducer<Delivered> = config
        .create_with_context(Delivered::default())
        .expect("producer");
    for r in records {
        let mut headers = OwnedHeaders::new();
        for (name, value) in &r.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value),
            });
        }
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&r.topic).headers(headers);
        if let Some(p) = r.partition {
            record = record.partition(p);
        }
        if let Some(k) = &r.key {
            record = record.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            record = record.payload(v.as_slice());
        }
        if let Some(t) = r.timestamp {
            record = record.timestamp(t);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(10));
                    record = back;
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
    let failed = producer.context().failed.lock().unwrap();
    assert!(
        failed.0 == 0,
        "{} of {} records were not delivered to {bootstrap}; the first: {}",
        failed.0,
        records.len(),
        failed.1
    );
}

/// A producer's context that counts the records the broker did not take.
#[derive(Default)]
pub struct Delivered {
    failed: std::sync::Mutex<(usize, String)>,
}

impl rdkafka::ClientContext for Delivered {}

impl rdkafka::producer::ProducerContext for Delivered {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            let mut failed = self.failed.lock().unwrap();
            if failed.0 == 0 {
                failed.1 = e.to_string();
            }
            failed.0 += 1;
        }
    }
}

/// Commits a group's offsets without joining it (as a tool does; the mock cluster
/// accepts this for a group that was never joined).
pub fn commit(bootstrap: &str, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("log_level", "3")
        .create()
        .expect("consumer");
    let mut list = rdkafka::TopicPartitionList::new();
    for (p, o) in offsets {
        list.add_partition_offset(topic, *p, rdkafka::Offset::Offset(*o))
            .expect("offset");
    }
    consumer.commit(&list, CommitMode::Sync).expect("commit");
}

/// A loopback port free when asked (nothing listens there).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scratch directory used as HOME, cwd and XDG dirs so the user's config and state
/// never leak into a test.
pub fn sandbox() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Runs the built `rewind` binary in a sandbox.
pub fn rewind(args: &[&str]) -> Output {
    let dir = sandbox();
    rewind_in(dir.path(), args)
}

/// Runs `rewind` with `dir` as cwd, HOME and XDG base.
pub fn rewind_in(dir: &std::path::Path, args: &[&str]) -> Output {
    rewind_command(dir).args(args).output().expect("run rewind")
}

/// The `rewind` command with a clean environment rooted at `dir`.
pub fn rewind_command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rewind"));
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("REWIND_BROKERS");
    cmd
}

pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "rewind failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The entry named `name` in `rewind topics -o json` output.
pub fn topic_entry<'a>(topics: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    topics
        .as_array()
        .expect("topics is an array")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing: {topics}"))
}

/// The path of the project's assets.
pub fn asset(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(path)
}

/// The TUI in process: the real `App` and worker against a broker, driven by actions,
/// with the worker's reports applied by the terminal loop's own pump
/// (`kafka_rewind::app::pump`).
pub struct Driver {
    pub app: kafka_rewind::app::App,
    pub worker: kafka_rewind::app::worker::Worker,
    rx: std::sync::mpsc::Receiver<kafka_rewind::app::Msg>,
    /// Every command handed to the worker, in order.
    pub sent: Vec<kafka_rewind::app::Command>,
}

impl Driver {
    /// Opens the TUI on `conn` and asks for the topics.
    pub fn start(
        conn: kafka_rewind::config::Connection,
        config: kafka_rewind::config::Config,
    ) -> Driver {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut driver = Driver {
            app: kafka_rewind::app::App::new(conn.brokers.clone(), config.clone()),
            worker: kafka_rewind::app::worker::Worker::new(conn, config, tx),
            rx,
            sent: vec![],
        };
        for command in driver.app.start() {
            driver.worker.submit(command);
        }
        driver
    }

    /// Opens the TUI on `brokers`, keeping its on-disk index in `index_dir` (none
    /// without), and waits for the topics.
    pub fn with_index(brokers: &str, index_dir: Option<&std::path::Path>) -> Driver {
        let config = kafka_rewind::config::Config {
            index_dir: index_dir.map(std::path::Path::to_path_buf),
            ..Default::default()
        };
        let conn = kafka_rewind::config::Connection {
            brokers: brokers.to_owned(),
            ..Default::default()
        };
        let mut d = Driver::start(conn, config);
        d.wait("the topics", |a| !a.topics.all.is_empty());
        d
    }

    /// Opens the TUI on a dump (`rewind --file`), offline and read-only.
    pub fn offline(
        dump: kafka_rewind::model::dump::Dump,
        config: kafka_rewind::config::Config,
        label: &str,
    ) -> Driver {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut app = kafka_rewind::app::App::new(
            format!("file {label} · offline, read-only"),
            config.clone(),
        );
        app.read_only = true;
        app.offline = Some(label.to_owned());
        let mut driver = Driver {
            app,
            worker: kafka_rewind::app::worker::Worker::offline(
                std::sync::Arc::new(dump),
                config,
                tx,
            ),
            rx,
            sent: vec![],
        };
        for command in driver.app.start() {
            driver.worker.submit(command);
        }
        driver
    }

    /// Types `:LINE` and Enter.
    pub fn command(&mut self, line: &str) {
        use kafka_rewind::app::Action;
        self.act(Action::StartCommand);
        for c in line.chars() {
            self.act(Action::Type(c));
        }
        self.act(Action::Submit);
    }

    /// The screen drawn at this size, as text.
    pub fn screen(&self, width: u16, height: u16) -> String {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|f| kafka_rewind::ui::draw(f, &self.app))
            .unwrap();
        terminal.backend().to_string()
    }

    pub fn act(&mut self, action: kafka_rewind::app::Action) {
        for command in self.app.update(action) {
            self.sent.push(command.clone());
            self.worker.submit(command);
        }
    }

    /// Applies the worker's reports (and runs what they lead to) until one satisfies
    /// `last`; returns them all, in order.
    pub fn messages_until(
        &mut self,
        what: &str,
        last: impl Fn(&kafka_rewind::app::Msg) -> bool,
    ) -> Vec<kafka_rewind::app::Msg> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let mut done = false;
        while !done {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let (worker, sent) = (&self.worker, &mut self.sent);
            kafka_rewind::app::pump(
                &mut self.app,
                &self.rx,
                Duration::from_millis(20),
                &mut |msg| {
                    seen.push(msg.clone());
                    done = last(msg);
                    match done {
                        true => std::ops::ControlFlow::Break(()),
                        false => std::ops::ControlFlow::Continue(()),
                    }
                },
                &mut |command| {
                    sent.push(command.clone());
                    worker.submit(command);
                },
            );
        }
        seen
    }

    /// Opens a topic (or, when it is open, reloads it) and waits until it is loaded:
    /// each event's partition, offset, aggregate, type and key.
    pub fn load(&mut self, topic: &str) -> Vec<(i32, i64, String, String, String)> {
        if self.app.topic.events.topic == topic {
            self.act(kafka_rewind::app::Action::Refresh);
        } else {
            self.command(&format!("topic {topic}"));
        }
        self.wait("the load", |a| {
            a.topic.events.done && a.topic.events.topic == topic
        });
        assert_eq!(self.app.topic.events.error, None);
        self.app
            .topic
            .events
            .index
            .iter()
            .map(|e| {
                (
                    e.coord().partition,
                    e.coord().offset,
                    e.aggregate().to_owned(),
                    e.event_type().to_owned(),
                    e.key().to_owned(),
                )
            })
            .collect()
    }

    /// Applies the worker's reports (and runs what they lead to) until `done`.
    pub fn wait(&mut self, what: &str, done: impl Fn(&kafka_rewind::app::App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(&self.app) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; status: {}",
                self.app.status
            );
            let (worker, sent) = (&self.worker, &mut self.sent);
            kafka_rewind::app::pump(
                &mut self.app,
                &self.rx,
                Duration::from_millis(20),
                &mut |_| std::ops::ControlFlow::Continue(()),
                &mut |command| {
                    sent.push(command.clone());
                    worker.submit(command);
                },
            );
        }
    }
}

/// A live member of a consumer group in a separate process (`examples/group_member.rs`),
/// until `leave` or drop.
pub struct GroupMember {
    child: Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl GroupMember {
    /// Joins `group` on `topic` and waits until it has partitions (and, with `commit`,
    /// until it has read what is there and committed it).
    pub fn join(bootstrap: &str, group: &str, topic: &str, commit: bool) -> GroupMember {
        GroupMember::join_with(bootstrap, group, topic, commit, "classic")
    }

    /// Joins with `protocol`: `classic`, or KIP-848's `consumer`.
    pub fn join_with(
        bootstrap: &str,
        group: &str,
        topic: &str,
        commit: bool,
        protocol: &str,
    ) -> GroupMember {
        use std::io::BufRead;
        // Built by `cargo build --examples` (scripts/test does it first): `cargo test
        // --all-targets` builds examples only as test harnesses.
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_rewind"))
            .parent()
            .unwrap()
            .join("examples/group_member");
        let mut cmd = Command::new(&exe);
        cmd.args([bootstrap, group, topic, "--protocol", protocol]);
        if commit {
            cmd.arg("--commit");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): build it with `cargo build --examples`",
                    exe.display()
                )
            });
        let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut member = GroupMember { child, lines };
        member.wait_for("assigned");
        if commit {
            member.wait_for("committed");
        }
        member
    }

    fn wait_for(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.next() {
                Some(Ok(line)) if line.starts_with(prefix) => return line,
                Some(Ok(_)) => {}
                other => panic!("the group member ended before `{prefix}`: {other:?}"),
            }
        }
    }

    /// Leaves the group (closes its stdin) and waits for the process to end.
    pub fn leave(mut self) {
        drop(self.child.stdin.take());
        self.wait_for("left");
        let _ = self.child.wait();
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The group's committed offsets on a topic's partitions, read by a client of the test's
/// own (not by rewind): `-1` where nothing is committed.
pub fn committed_by_client(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("log_level", "3")
        .create()
        .expect("consumer");
    let mut list = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let answer = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .expect("committed offsets");
    (0..partitions)
        .map(
            |p| match answer.find_partition(topic, p).map(|e| e.offset()) {
                Some(rdkafka::Offset::Offset(o)) => o,
                _ => -1,
            },
        )
        .collect()
}

/// An admin client and a runtime to wait on its answers.
fn admin(
    bootstrap: &str,
) -> (
    rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
    tokio::runtime::Runtime,
) {
    let admin = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "3")
        .create()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (admin, runtime)
}

/// Deletes a topic through the admin API (DeleteTopics).
pub fn delete_topic(bootstrap: &str, name: &str) {
    let (admin, runtime) = admin(bootstrap);
    let options = rdkafka::admin::AdminOptions::new();
    for r in runtime
        .block_on(admin.delete_topics(&[name], &options))
        .unwrap()
    {
        r.unwrap_or_else(|e| panic!("delete {name}: {e:?}"));
    }
}

/// Creates a topic through the admin API (CreateTopics, which the mock cluster lacks),
/// with `key=value` topic configs, and waits until its partitions' leaders answer.
pub fn create_topic(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
    let (admin, runtime) = admin(bootstrap);
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for r in runtime
        .block_on(admin.create_topics([&topic], &options))
        .unwrap()
    {
        r.unwrap_or_else(|e| panic!("create {name}: {e:?}"));
    }
    let consumer: rdkafka::consumer::BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "3")
        .create()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    for p in 0..partitions {
        use rdkafka::consumer::Consumer;
        while consumer
            .fetch_watermarks(name, p, Duration::from_secs(5))
            .is_err()
        {
            assert!(Instant::now() < deadline, "{name}/{p} has no leader");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `rewind groups -o json` (with `extra` arguments) against `bootstrap`.
pub fn groups_json(bootstrap: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["-b", bootstrap, "-o", "json", "groups"];
    args.extend_from_slice(extra);
    serde_json::from_str(&stdout(&rewind(&args))).unwrap()
}

/// The one group `rewind groups --group NAME -o json` describes.
pub fn group_json(bootstrap: &str, name: &str) -> serde_json::Value {
    let all = groups_json(bootstrap, &["--group", name]);
    assert_eq!(all.len(), 1, "{all:?}");
    all[0].clone()
}

/// A name no other test on a shared broker uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// `rewind -o json reset --group G --topic T SCOPE…` run in `dir`: the plan.
pub fn reset_json(
    dir: &std::path::Path,
    bootstrap: &str,
    group: &str,
    topic: &str,
    scope: &[&str],
) -> serde_json::Value {
    let mut args = vec![
        "-b", bootstrap, "-o", "json", "reset", "--group", group, "--topic", topic,
    ];
    args.extend_from_slice(scope);
    serde_json::from_str(&stdout(&rewind_in(dir, &args))).unwrap()
}

/// `aggregates -o json` run across a broker's restart: it gave exactly the counts of
/// `expected` (aggregate → events), with nothing on stderr, or failed with one line;
/// `gone_allowed` says whether that line may say the records are gone (a broker back
/// without its data), else it must not.
pub fn assert_exact_or_one_line(
    out: &Output,
    expected: &std::collections::BTreeMap<String, i64>,
    gone_allowed: bool,
) {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("aggregates across the restart: {} {err}", out.status);
    assert!(
        out.status.code().is_some(),
        "ended by a signal: {}",
        out.status
    );
    if out.status.success() {
        let counts: std::collections::BTreeMap<String, i64> =
            serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let key = a["aggregate"].as_str().unwrap().to_owned();
                    (key, a["count"].as_i64().unwrap())
                })
                .collect();
        assert_eq!(&counts, expected, "{err}");
        assert_eq!(err, "", "nothing on stderr but failures");
    } else {
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(
            gone_allowed || !err.contains("cannot go on"),
            "the broker kept its data: {err}"
        );
    }
}
