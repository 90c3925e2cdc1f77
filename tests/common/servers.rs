//! The servers tests run against as separate processes: Tansu, rivven-schema (a Schema
//! Registry), Apache Kafka (`scripts/kafka`, shared by a test process) and PostgreSQL
//! (`scripts/postgres`, or the one `scripts/test` started).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use super::*;
use std::time::{Duration, Instant};

const TANSU_INSTALL: &str = "cargo install tansu@0.6.0 --locked --features dynostore";

/// Tansu 0.6.0 running as a separate broker process on a free loopback port.
pub struct Tansu {
    child: Child,
    pub bootstrap: String,
}

fn tansu_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("TANSU") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")))
        .map(|dir| dir.join("tansu"))
        .find(|p| p.is_file());
    on_path.unwrap_or_else(|| {
        panic!("Tansu is needed for this test and was not found on PATH or in ~/.cargo/bin; install it with: {TANSU_INSTALL}")
    })
}

impl Tansu {
    /// Starts Tansu with in-memory storage and waits until it accepts connections.
    pub fn start() -> Tansu {
        Tansu::start_on(free_port())
    }

    /// Kills it with SIGKILL and starts it again on its port: empty, as its memory
    /// store comes back.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_secs(1));
        let port = self.bootstrap.rsplit(':').next().unwrap().parse().unwrap();
        self.child = Tansu::spawn(port);
    }

    fn start_on(port: u16) -> Tansu {
        Tansu {
            child: Tansu::spawn(port),
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }

    /// Runs Tansu on `port` until it accepts connections.
    fn spawn(port: u16) -> Child {
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start tansu ({e}); install it with: {TANSU_INSTALL}")
            });
        let bootstrap = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&bootstrap).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {bootstrap} within 30s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const RIVVEN_INSTALL: &str =
    "cargo install rivven-schema@0.0.22 --locked (scripts/test does it once)";

/// rivven-schema, a Confluent-compatible Schema Registry (in memory), as a separate
/// process on a free loopback port.
pub struct SchemaRegistry {
    child: Child,
    pub url: String,
}

impl SchemaRegistry {
    pub fn start() -> SchemaRegistry {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let binary = std::env::var_os("RIVVEN_SCHEMA")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/rivven-schema"))
            })
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("rivven-schema"));
        let child = Command::new(&binary)
            .args([
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--log-level",
                "warn",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); install it with: {RIVVEN_INSTALL}",
                    binary.display()
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rivven-schema did not listen on {url} within 30s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SchemaRegistry { child, url }
    }

    /// Registers a schema under a subject; its id.
    pub fn register(&self, subject: &str, schema_type: &str, schema: &str) -> u64 {
        let body = serde_json::json!({"schema": schema, "schemaType": schema_type});
        let mut response = ureq::post(&format!("{}/subjects/{subject}/versions", self.url))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .send(body.to_string().as_bytes())
            .expect("register a schema");
        let answer: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        answer["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no id in {answer}"))
    }
}

impl Drop for SchemaRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Apache Kafka 4, the reference broker: one KRaft node started by `scripts/kafka`
/// (which fetches the jars from Maven Central once) on free loopback ports. It runs
/// while `scripts/kafka start` has its standard input open: a test process that ends,
/// however it ends, stops its brokers.
pub struct Kafka {
    child: Option<Child>,
    /// `scripts/kafka restart`s of this node, each watching its own stdin.
    restarts: Vec<Child>,
    pub bootstrap: String,
    /// The node's directory: server.properties, broker.log, data/.
    pub dir: PathBuf,
}

static SHARED_KAFKA: std::sync::OnceLock<Kafka> = std::sync::OnceLock::new();

fn kafka_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka")
}

impl Kafka {
    /// A node of this test's own, with extra `server.properties` lines (`key=value`).
    pub fn start(extra: &[&str]) -> Kafka {
        Kafka::start_with(extra, &[])
    }

    /// `start` with `scripts/kafka`'s variables set (`REWIND_KAFKA_LISTENERS`,
    /// `REWIND_KAFKA_FORMAT_ARGS`).
    pub fn start_with(extra: &[&str], env: &[(&str, &str)]) -> Kafka {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "kafka-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let mut child = Command::new(kafka_script())
            .arg("start")
            .arg(&dir)
            .args(extra)
            .envs(env.iter().copied())
            .env("REWIND_KAFKA_CLEAN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run scripts/kafka (it needs java and mvn)");
        let bootstrap = {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
            loop {
                match lines.next() {
                    Some(Ok(line)) => {
                        if let Some(b) = line.strip_prefix("bootstrap=") {
                            break b.to_owned();
                        }
                    }
                    other => panic!(
                        "Apache Kafka did not start ({other:?}); see {}/broker.log",
                        dir.display()
                    ),
                }
            }
        };
        Kafka {
            child: Some(child),
            restarts: vec![],
            bootstrap,
            dir,
        }
    }

    /// The broker shared by the tests: the one `scripts/test` started
    /// (`REWIND_TEST_KAFKA=HOST:PORT`), else one started for this test process.
    pub fn shared() -> &'static Kafka {
        SHARED_KAFKA.get_or_init(|| match std::env::var("REWIND_TEST_KAFKA") {
            Ok(bootstrap) if !bootstrap.is_empty() => Kafka {
                child: None,
                restarts: vec![],
                bootstrap,
                dir: PathBuf::from(std::env::var("REWIND_TEST_KAFKA_DIR").unwrap_or_default()),
            },
            _ => Kafka::start(&[]),
        })
    }

    /// Runs one of Kafka's own tools (a class of the kafka-tools jar) against this
    /// broker: `--bootstrap-server` is added first.
    pub fn tool(&self, class: &str, args: &[&str]) -> Output {
        Command::new(kafka_script())
            .args(["tool", class, "--bootstrap-server", &self.bootstrap])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/kafka tool")
    }

    /// Creates a topic (with `key=value` topic configs) and waits until its leaders
    /// answer.
    pub fn create_topic(&self, name: &str, partitions: i32, configs: &[(&str, &str)]) {
        create_topic(&self.bootstrap, name, partitions, configs);
    }
}

impl Kafka {
    /// Kills the node's JVM with SIGKILL, as a crash would: no clean shutdown.
    pub fn kill(&self) {
        let pid = std::fs::read_to_string(self.dir.join("pid")).expect("the node's pid");
        let killed = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
        assert!(killed.success(), "kill -9 {pid}");
    }

    /// Starts the node again on its ports and data (`scripts/kafka restart`) and waits
    /// until it serves.
    pub fn restart(&mut self) {
        use std::io::BufRead;
        let mut child = Command::new(kafka_script())
            .arg("restart")
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run scripts/kafka restart");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let started = lines.any(|l| l.is_ok_and(|l| l.starts_with("bootstrap=")));
        assert!(
            started,
            "Apache Kafka did not start again; see {}/broker.log",
            self.dir.display()
        );
        self.restarts.push(child);
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        // The latest start stops the node; the first removes its directory.
        for mut child in self.restarts.drain(..).rev() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
        if let Some(mut child) = self.child.take() {
            // Closing its stdin stops the node and removes its directory.
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

/// A PostgreSQL server: the one `scripts/test` started (`REWIND_TEST_POSTGRES`, a url),
/// else one of this test process's own (`scripts/postgres`, Debian's postgresql).
pub struct Postgres {
    /// `scripts/postgres start`, which serves while its stdin is open.
    _child: Option<Child>,
    pub url: String,
}

static SHARED_POSTGRES: std::sync::OnceLock<Postgres> = std::sync::OnceLock::new();

impl Postgres {
    pub fn shared() -> &'static Postgres {
        SHARED_POSTGRES.get_or_init(|| match std::env::var("REWIND_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => Postgres { _child: None, url },
            _ => {
                let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("postgres-{}", std::process::id()));
                let mut child = Command::new(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres"),
                )
                .arg("start")
                .arg(&dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("run scripts/postgres (it needs Debian's postgresql)");
                use std::io::BufRead;
                let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
                let url = loop {
                    match lines.next() {
                        Some(Ok(line)) => {
                            if let Some(url) = line.strip_prefix("url=") {
                                break url.to_owned();
                            }
                        }
                        other => panic!("PostgreSQL did not start ({other:?})"),
                    }
                };
                Postgres {
                    _child: Some(child),
                    url,
                }
            }
        })
    }

    /// A client of the test's own, to fill tables.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to PostgreSQL")
    }
}
