//! `rewind demo`: librdkafka's mock cluster in this process, seeded with the sample
//! order-fulfilment domain, then the TUI (or `--serve` for other clients).

pub mod domain;
pub mod services;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::cli::GlobalArgs;
use crate::config::{Config, Connection};
use crate::kafka::Cluster;

/// The demo's reading rules (also shipped as `assets/demo/rewind.toml`).
pub const DEMO_CONFIG: &str = include_str!("../../assets/demo/rewind.toml");

/// The schema of the demo's `shipments` topic, raw Protobuf (`assets/demo/shipments.proto`).
pub const DEMO_PROTO: &str = include_str!("../../assets/demo/shipments.proto");

/// The demo's config, with its `.proto` written beside it (in the state directory, else
/// a temporary one) so that the relative path in the config finds it.
pub fn demo_config() -> Result<Config> {
    let write = |dir: &Path| -> std::io::Result<std::path::PathBuf> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("shipments.proto"), DEMO_PROTO)?;
        std::fs::write(dir.join("rewind.toml"), DEMO_CONFIG)?;
        Ok(dir.join("rewind.toml"))
    };
    let path = write(&crate::logging::state_dir().join("demo"))
        .or_else(|_| {
            write(&std::env::temp_dir().join(format!("rewind-demo-{}", std::process::id())))
        })
        .context("cannot write the demo's config and schema")?;
    Config::parse(DEMO_CONFIG, &path)
}

/// Encodes the demo's shipment events (generated as JSON) as the shipping service
/// writes them: raw Protobuf.
fn encode_shipments(records: &mut [domain::SeedRecord]) -> Result<()> {
    use crate::model::schema::protobuf::{self, ProtoSchema};
    let schema =
        ProtoSchema::compile("shipments.proto", DEMO_PROTO, &[]).map_err(anyhow::Error::msg)?;
    let message = schema
        .message_named("demo.shipping.ShipmentEvent")
        .map_err(anyhow::Error::msg)?;
    for r in records.iter_mut().filter(|r| r.topic == "shipments") {
        let Some(json) = &r.value else { continue };
        let value: serde_json::Value = serde_json::from_slice(json)?;
        r.value = Some(protobuf::encode(&message, &value).map_err(anyhow::Error::msg)?);
        for (name, v) in r.headers.iter_mut() {
            if *name == "content-type" {
                *v = "application/x-protobuf".into();
            }
        }
    }
    Ok(())
}

/// A running, seeded demo broker. Dropping it stops the broker.
pub struct DemoCluster {
    cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    pub planted: domain::Planted,
}

impl DemoCluster {
    /// Starts the mock cluster and seeds it with the domain ending at `end_ms`.
    pub fn start(end_ms: i64) -> Result<DemoCluster> {
        let cluster = MockCluster::new(1).context("cannot start the embedded broker")?;
        for (topic, partitions) in domain::TOPICS {
            cluster
                .create_topic(topic, *partitions, 1)
                .with_context(|| format!("cannot create demo topic {topic}"))?;
        }
        let mut domain = domain::generate(end_ms);
        encode_shipments(&mut domain.records)?;
        produce(&cluster.bootstrap_servers(), &domain.records)?;
        let demo = DemoCluster {
            cluster,
            planted: domain.planted,
        };
        demo.commit_groups()?;
        Ok(demo)
    }

    /// Starts the stand-ins for the demo's services (see `services`): after a rewind,
    /// the group re-processes and catches up. They stop when the result is dropped.
    pub fn start_services(&self) -> services::Services {
        self.start_services_with(None)
    }

    /// `start_services`, the order projector writing `projector`'s read model.
    pub fn start_services_with(
        &self,
        projector: Option<services::Projector>,
    ) -> services::Services {
        let groups = domain::GROUPS
            .iter()
            .map(|(group, topic, _)| {
                let partitions = domain::TOPICS
                    .iter()
                    .find(|(t, _)| t == topic)
                    .map_or(1, |(_, p)| *p);
                (group.to_string(), topic.to_string(), partitions)
            })
            .collect();
        services::start(&self.connection(), groups, projector)
    }

    /// `HOST:PORT` of the embedded broker.
    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// A connection to the demo broker.
    pub fn connection(&self) -> Connection {
        Connection {
            brokers: self.bootstrap(),
            groups: domain::GROUPS.iter().map(|g| g.0.to_owned()).collect(),
            ..Connection::default()
        }
    }

    /// Commits the demo groups' offsets without joining them (the mock refuses commits
    /// from non-members once a group has been joined).
    fn commit_groups(&self) -> Result<()> {
        let conn = self.connection();
        let cluster = Cluster::connect(&conn)?;
        for (group, topic, fraction) in domain::GROUPS {
            let info = cluster.topic(topic)?;
            let mut offsets = TopicPartitionList::new();
            for p in &info.partitions {
                let at = p.low + ((p.high - p.low) as f64 * fraction).round() as i64;
                offsets.add_partition_offset(topic, p.partition, Offset::Offset(at))?;
            }
            let consumer: BaseConsumer = crate::kafka::client_config(&conn)
                .set("group.id", *group)
                .create()?;
            consumer
                .commit(&offsets, CommitMode::Sync)
                .with_context(|| format!("cannot commit demo offsets for group {group}"))?;
        }
        Ok(())
    }
}

fn produce(bootstrap: &str, records: &[domain::SeedRecord]) -> Result<()> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("log_level", "3")
        .create()
        .context("cannot create the demo producer")?;
    for r in records {
        let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
        for (name, value) in &r.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_str()),
            });
        }
        let mut record = BaseRecord::to(r.topic)
            .key(r.key.as_str())
            .timestamp(r.timestamp)
            .headers(headers);
        if let Some(value) = &r.value {
            record = record.payload(value.as_slice());
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, back)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                    producer.poll(Duration::from_millis(10));
                    record = back;
                }
                Err((e, _)) => return Err(e).context("cannot seed the demo broker"),
            }
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .context("the demo broker did not accept the seed events")?;
    Ok(())
}

/// Runs `rewind demo` (`--serve`: print the bootstrap and serve until interrupted).
pub fn run(global: &GlobalArgs, serve: bool) -> Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let demo = DemoCluster::start(now)?;
    let mut config = demo_config()?;
    // The read model, beside the config, of this process's own.
    let dir = config
        .path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    remove_stale_read_models(dir);
    let file = dir.join(format!("orders-read-model-{}.db", std::process::id()));
    let read_model = write_read_model(&demo.connection(), &config, &file)?;
    let url = format!("sqlite:{}", read_model.path.display());
    if let Some(db) = config.databases.get_mut("demo") {
        db.url = url.clone();
    }
    // `:reload` reads the config from its file: this process's own, naming its read
    // model (the shared rewind.toml names none, as `-c assets/demo/rewind.toml` does).
    let own = Removed(dir.join(format!("rewind-{}.toml", std::process::id())));
    const DEMO_URL: &str = "sqlite:${REWIND_DEMO_DB:-orders-read-model.db}";
    anyhow::ensure!(
        DEMO_CONFIG.contains(DEMO_URL),
        "the demo's config names no {DEMO_URL}"
    );
    std::fs::write(&own.0, DEMO_CONFIG.replace(DEMO_URL, &url))?;
    config.path = Some(own.0.clone());
    // rewind reads the file meanwhile: a write waits for a read rather than fail.
    let db = rusqlite::Connection::open(&read_model.path)?;
    db.busy_timeout(Duration::from_secs(5))?;
    let projector = services::Projector {
        group: "order-projector".into(),
        db,
        reducers: crate::model::reducer::Reducers::compile_logic(&config.logic_for("orders"))
            .map_err(|e| anyhow::anyhow!("the demo's reducers: {e}"))?,
        rules: config.rules_for("orders"),
    };
    let _services = demo.start_services_with(Some(projector));
    let mut conn = demo.connection();
    conn.read_only = global.read_only;
    conn.properties = global.properties.clone();
    if serve {
        let mut out = std::io::stdout().lock();
        writeln!(out, "bootstrap={}", demo.bootstrap())?;
        out.flush()?;
        drop(out);
        // On stderr, so that a reader that only wants the first line can close stdout.
        eprintln!(
            "serving the demo domain (topics orders, payments, shipments, orders-snapshots); Ctrl-C stops it"
        );
        eprintln!(
            "the order projector's read model: {} (REWIND_DEMO_DB={} rewind -b {} -c assets/demo/rewind.toml drift orders)",
            read_model.path.display(),
            read_model.path.display(),
            demo.bootstrap()
        );
        wait_for_interrupt()?;
        return Ok(());
    }
    crate::app::run(conn, config)
}

fn wait_for_interrupt() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })?;
    Ok(())
}

/// The order projector's read model, as the demo's order service wrote it while it
/// processed every event of `orders`: an SQLite file of the orders' states (folded by
/// the demo's reducers at `order-projector`'s committed offsets), in which two orders
/// drifted: one lost its last update, one missed its cancellation.
pub struct ReadModel {
    pub path: std::path::PathBuf,
    /// The order whose last update was lost (its row one status behind).
    pub lost_update: String,
    /// The cancelled order whose row still says it is paid.
    pub missed_cancel: String,
}

impl Drop for ReadModel {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A file this process wrote, removed when it ends.
struct Removed(std::path::PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Removes the read models and configs of demos that are gone (killed before they
/// could).
fn remove_stale_read_models(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = [("orders-read-model-", ".db"), ("rewind-", ".toml")]
            .iter()
            .find_map(|(prefix, suffix)| name.strip_prefix(prefix)?.strip_suffix(suffix))
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Writes the read model to `path` (replacing any).
pub fn write_read_model(conn: &Connection, config: &Config, path: &Path) -> Result<ReadModel> {
    use crate::engine::fold::{Scope, Select};
    let pool = crate::engine::pool::Pool::new(conn);
    let committed = crate::engine::outcome::committed(&pool, "order-projector", "orders")?;
    let scope = Scope {
        topic: "orders",
        ..Scope::default()
    };
    let (states, _) =
        crate::engine::outcome::states(&pool, config, &scope, Select::Below(committed.into()))?;
    let pick = |status: &str| {
        states
            .iter()
            .find(|s| s.state["status"] == status)
            .map(|s| s.aggregate.clone())
            .unwrap_or_default()
    };
    let (lost_update, missed_cancel) = (pick("delivered"), pick("cancelled"));
    let _ = std::fs::remove_file(path);
    let db = rusqlite::Connection::open(path)
        .with_context(|| format!("cannot write the demo's read model {}", path.display()))?;
    db.execute_batch(
        "create table orders (id text primary key, doc text not null, updated_at text not null);
         begin;",
    )?;
    for s in &states {
        let mut doc = s.state.clone();
        if s.aggregate == lost_update {
            // The projector crashed before it wrote the delivery.
            doc["status"] = "shipped".into();
        }
        if s.aggregate == missed_cancel {
            doc["status"] = "paid".into();
            if let Some(o) = doc.as_object_mut() {
                o.remove("cancelReason");
            }
        }
        let updated = chrono::Utc::now().to_rfc3339();
        db.execute(
            "insert into orders (id, doc, updated_at) values (?1, ?2, ?3)",
            (&s.aggregate, doc.to_string(), updated),
        )?;
    }
    db.execute_batch("commit;")?;
    Ok(ReadModel {
        path: path.to_path_buf(),
        lost_update,
        missed_cancel,
    })
}
