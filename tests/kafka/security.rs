//! Authentication and authorization on Apache Kafka: one node of these tests' own with
//! a SASL_PLAINTEXT listener (SCRAM-SHA-512, users made when the storage is formatted),
//! a TLS listener whose certificate a CA made here signed (openssl), and
//! StandardAuthorizer ACLs (the PLAINTEXT listener's ANONYMOUS and `admin` are super
//! users; `alice` may only do what the tests allow her).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;
use kafka_rewind::app::Action;
use serde_json::Value;

const ADMIN_SECRET: &str = "admin-secret-3f9c";
const ALICE_SECRET: &str = "alice-secret-81d2";

/// The secure node, its listeners and the certificates.
struct Secure {
    kafka: Kafka,
    sasl: String,
    tls: String,
    /// The CA that signed the broker's certificate, and one that did not.
    ca: PathBuf,
    other_ca: PathBuf,
    _certs: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (Debian's openssl package)");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA, the broker's key and certificate (for 127.0.0.1) signed by it, in one PEM
/// file as Kafka's PEM keystore takes them, and another CA.
fn certificates() -> tempfile::TempDir {
    let dir = sandbox();
    let d = dir.path();
    let subject = |cn: &str| format!("/CN={cn}");
    for (key, cert, cn) in [
        ("ca.key", "ca.pem", "rewind-test-ca"),
        ("other.key", "other-ca.pem", "another-ca"),
    ] {
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                key,
                "-out",
                cert,
                "-days",
                "2",
                "-subj",
                &subject(cn),
            ],
        );
    }
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            &subject("127.0.0.1"),
        ],
    );
    std::fs::write(
        d.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "server.key",
            "-out",
            "server.p8",
        ],
    );
    let keystore = [
        std::fs::read(d.join("server.p8")).unwrap(),
        std::fs::read(d.join("server.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(d.join("keystore.pem"), keystore).unwrap();
    dir
}

fn secure() -> &'static Secure {
    static SECURE: OnceLock<Secure> = OnceLock::new();
    SECURE.get_or_init(|| {
        let certs = certificates();
        let c = certs.path();
        let (sasl, tls) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
        let listeners = format!("SASL_PLAINTEXT://{sasl},SSL://{tls}");
        let users = format!(
            "--add-scram SCRAM-SHA-512=[name=admin,password={ADMIN_SECRET}] --add-scram SCRAM-SHA-512=[name=alice,password={ALICE_SECRET}]"
        );
        let keystore = format!("ssl.keystore.location={}", c.join("keystore.pem").display());
        let truststore = format!("ssl.truststore.location={}", c.join("ca.pem").display());
        let kafka = Kafka::start_with(
            &[
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "ssl.keystore.type=PEM",
                &keystore,
                "ssl.truststore.type=PEM",
                &truststore,
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "super.users=User:ANONYMOUS;User:admin",
            ],
            &[("REWIND_KAFKA_LISTENERS", &listeners), ("REWIND_KAFKA_FORMAT_ARGS", &users)],
        );
        Secure {
            kafka,
            sasl,
            tls,
            ca: c.join("ca.pem"),
            other_ca: c.join("other-ca.pem"),
            _certs: certs,
        }
    })
}

/// `-b` and `-X` for a user on the SASL listener.
fn as_user(s: &Secure, user: &str, password: &str) -> Vec<String> {
    [
        "-b",
        &s.sasl,
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-512",
        "-X",
        &format!("sasl.username={user}"),
        "-X",
        &format!("sasl.password={password}"),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs rewind in `dir`; returns the output and how long it took.
fn timed(dir: &Path, args: &[String]) -> (std::process::Output, Duration) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let out = rewind_in(dir, &args);
    (out, started.elapsed())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir` (rewind's log among them) but the config the test wrote, as
/// text.
fn files_text(dir: &Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "rewind.toml") {
                continue;
            } else if let Ok(bytes) = std::fs::read(&path) {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    text
}

#[test]
fn scram_and_tls_connect_and_a_wrong_password_or_ca_fails_at_once_in_one_line() {
    let s = secure();
    let topic = unique("sec");
    s.kafka.create_topic(&topic, 2, &[]);
    produce(
        &s.kafka.bootstrap,
        &[Rec::new(&topic, 0, "acct-1", r#"{"type":"Opened"}"#)],
    );
    let dir = sandbox();
    let listed = |out: &std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        stdout(out).lines().any(|l| l.starts_with(&topic))
    };

    // SCRAM through -X, and through a profile's properties.
    let mut args = as_user(s, "admin", ADMIN_SECRET);
    args.push("topics".into());
    assert!(listed(&timed(dir.path(), &args).0));
    std::fs::write(
        dir.path().join("rewind.toml"),
        format!(
            "[profiles.secure]\nbrokers = \"{}\"\n[profiles.secure.properties]\n\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanisms\" = \"SCRAM-SHA-512\"\n\"sasl.username\" = \"admin\"\n\"sasl.password\" = \"{ADMIN_SECRET}\"\n",
            s.sasl
        ),
    )
    .unwrap();
    // As a user keeps a config with a password (rewind warns otherwise).
    use std::os::unix::fs::PermissionsExt;
    let config = dir.path().join("rewind.toml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let args: Vec<String> = ["-p", "secure", "topics"].map(str::to_owned).to_vec();
    assert!(listed(&timed(dir.path(), &args).0));
    // A plan's equivalent command names the properties, never the password.
    let mut args = as_user(s, "admin", ADMIN_SECRET);
    args.extend(
        [
            "reset",
            "--group",
            "g-sec",
            "--topic",
            &topic,
            "--to-earliest",
        ]
        .map(str::to_owned),
    );
    let (plan, _) = timed(dir.path(), &args);
    assert!(plan.status.success(), "{plan:?}");
    assert!(
        stdout(&plan).contains("sasl.password=***"),
        "{}",
        stdout(&plan)
    );

    // A wrong password: one line, naming authentication and the broker, well within
    // the request timeout (10 s).
    let mut args = as_user(s, "admin", "not-the-password");
    args.push("topics".into());
    let (out, took) = timed(dir.path(), &args);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("authentication") && err.contains(&s.sasl),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");

    // TLS with the CA that signed the broker's certificate, then with another.
    let tls = |ca: &Path| -> Vec<String> {
        [
            "-b",
            &s.tls,
            "-X",
            "security.protocol=SSL",
            "-X",
            &format!("ssl.ca.location={}", ca.display()),
            "topics",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    assert!(listed(&timed(dir.path(), &tls(&s.ca)).0));
    let (out, took) = timed(dir.path(), &tls(&s.other_ca));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("certificate") && err.contains(&s.tls), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");

    // No password anywhere: not in what was printed, not in rewind's log.
    let printed = format!("{}{}{}", stdout(&plan), stderr(&plan), err);
    for secret in [ADMIN_SECRET, "not-the-password"] {
        assert!(!printed.contains(secret));
        assert!(
            !files_text(dir.path()).contains(secret),
            "{secret} written under {}",
            dir.path().display()
        );
    }
}

#[test]
fn acls_a_group_alice_may_not_describe_is_unknown_and_a_topic_she_may_not_read_says_so() {
    let s = secure();
    let (open, closed) = (unique("open"), unique("closed"));
    s.kafka.create_topic(&open, 2, &[]);
    s.kafka.create_topic(&closed, 1, &[]);
    let b = s.kafka.bootstrap.as_str();
    produce(
        b,
        &[
            Rec::new(&open, 0, "acct-1", r#"{"type":"Opened"}"#),
            Rec::new(&closed, 0, "s", r#"{"type":"Secret"}"#),
        ],
    );
    let acl = s.kafka.tool(
        "org.apache.kafka.tools.AclCommand",
        &[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--operation",
            "Describe",
            "--topic",
            &open,
        ],
    );
    assert!(acl.status.success(), "{acl:?}");
    // A group with a commit that alice may not describe.
    let group = unique("g-secret");
    commit(b, &group, &open, &[(0, 1)]);
    let dir = sandbox();
    let alice = |rest: &[&str]| {
        let mut args = as_user(s, "alice", ALICE_SECRET);
        args.extend(rest.iter().map(|a| a.to_string()));
        timed(dir.path(), &args)
    };

    // The ACLs take a moment to reach the authorizer: until alice sees her topic.
    let deadline = Instant::now() + Duration::from_secs(30);
    let topics = loop {
        let (out, _) = alice(&["-o", "json", "topics"]);
        let topics: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let names: Vec<String> = topics
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        if names.contains(&open) || Instant::now() > deadline {
            break names;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(topics.contains(&open), "{topics:?}");
    assert!(
        !topics.contains(&closed),
        "alice sees only what she may: {topics:?}"
    );

    let (out, took) = alice(&["events", &closed]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("not authorized") && err.contains(&closed),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");

    // Its state is unknown, not authorized: never Dead, never Empty.
    let (out, _) = alice(&["-o", "json", "groups", "--group", &group]);
    assert!(out.status.success(), "{out:?}");
    let described: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(described[0]["state"], "unknown", "{described}");
    let why = described[0]["state_reason"].as_str().unwrap_or_default();
    assert!(why.contains("not authorized"), "{described}");

    // Even with --allow-unknown-state, the broker's refusal stops the reset, which
    // says so; the offsets are as they were.
    let (out, took) = alice(&[
        "reset",
        "--group",
        &group,
        "--topic",
        &open,
        "--to-earliest",
        "--execute",
        "--allow-unknown-state",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("not authorized"), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let after = group_json(b, &group);
    assert_eq!(after["partitions"][0]["committed"], 1, "{after}");

    // The TUI: opening the topic she may not read says so in one line.
    let conn = kafka_rewind::config::Connection {
        brokers: s.sasl.clone(),
        properties: as_user(s, "alice", ALICE_SECRET)
            .chunks(2)
            .skip(1)
            .map(|kv| {
                let (k, v) = kv[1].split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        ..Default::default()
    };
    let mut d = Driver::start(conn, kafka_rewind::config::Config::default());
    d.wait("the topics", |a| !a.topics.all.is_empty());
    d.command(&format!("topic {closed}"));
    d.wait("the refusal", |a| a.topic.events.error.is_some());
    let error = d.app.topic.events.error.clone().unwrap();
    assert!(
        error.message.contains("not authorized") && !error.message.contains('\n'),
        "{error}"
    );
    // Reached and refused by an ACL: not a wrong password nor a broker that is down.
    assert_eq!(error.kind, kafka_rewind::app::ErrorKind::Refused);
    d.act(Action::Back);
}
