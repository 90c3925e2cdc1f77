//! Schema'd payloads end to end: bytes made by Confluent's own serializers
//! (`tests/fixtures/schemas/fixtures.json`, from `scripts/make-schema-fixtures.py`),
//! schemas in a real registry (rivven-schema), records in librdkafka's mock cluster,
//! decoded by the `rewind` binary.

use crate::common::*;
use base64::Engine;
use serde_json::{json, Value};

fn fixtures() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/schemas/fixtures.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn unb64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

/// A registry holding the fixtures' schemas under the ids the reference encoders used.
fn registry(fixtures: &Value) -> SchemaRegistry {
    let registry = SchemaRegistry::start();
    for s in fixtures["registry"].as_array().unwrap() {
        let id = registry.register(
            s["subject"].as_str().unwrap(),
            s["schemaType"].as_str().unwrap(),
            s["schema"].as_str().unwrap(),
        );
        assert_eq!(
            id,
            s["id"].as_u64().unwrap(),
            "ids as when the fixtures were made"
        );
    }
    registry
}

/// The fixture records (and, on `payments`, an unknown schema id and bytes that do not
/// fit their schema) in a mock cluster.
fn cluster(fixtures: &Value) -> Mock {
    let mock = mock(&[("payments", 1), ("shipments", 1), ("refunds", 1)]);
    let mut records: Vec<Rec> = fixtures["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut rec = Rec::new(r["topic"].as_str().unwrap(), 0, "", "");
            rec.key = match &r["key_b64"] {
                Value::Null => Some(r["key"].as_str().unwrap().as_bytes().to_vec()),
                k => Some(unb64(k)),
            };
            rec.value = Some(unb64(&r["value_b64"]));
            rec
        })
        .collect();
    let mut unknown = Rec::new("payments", 0, "order-9", "");
    unknown.value = Some(vec![0, 0, 0, 3, 231, 1, 2, 3]);
    let mut truncated = Rec::new("payments", 0, "order-9", "");
    truncated.value = Some(unb64(&fixtures["records"][0]["value_b64"])[..12].to_vec());
    records.push(unknown);
    records.push(truncated);
    produce(&mock.bootstrap_servers(), &records);
    mock
}

/// The fixtures in a registry and a cluster, and a sandbox whose rewind.toml is `config`.
struct Setup {
    fixtures: Value,
    registry: SchemaRegistry,
    mock: Mock,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(config: &str) -> Setup {
        let fixtures = fixtures();
        let registry = registry(&fixtures);
        let mock = cluster(&fixtures);
        let dir = sandbox();
        std::fs::write(dir.path().join("rewind.toml"), config).unwrap();
        Setup {
            fixtures,
            registry,
            mock,
            dir,
        }
    }

    /// rewind against the cluster and the registry, in the sandbox.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let b = self.mock.bootstrap_servers();
        let mut all = vec![
            "-b",
            b.as_str(),
            "--schema-registry",
            self.registry.url.as_str(),
        ];
        all.extend_from_slice(args);
        rewind_in(self.dir.path(), &all)
    }
}

fn events(bootstrap: &str, registry: &str, topic: &str) -> Vec<Value> {
    json_lines(&rewind(&[
        "-b",
        bootstrap,
        "--schema-registry",
        registry,
        "events",
        topic,
    ]))
}

#[test]
fn avro_protobuf_and_json_schema_decode_to_the_spec_json() {
    let fixtures = fixtures();
    let registry = registry(&fixtures);
    let mock = cluster(&fixtures);
    let b = mock.bootstrap_servers();
    let expected = |topic: &str| -> Vec<Value> {
        fixtures["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["topic"] == topic)
            .cloned()
            .collect()
    };

    let payments = events(&b, &registry.url, "payments");
    assert_eq!(payments.len(), 5);
    for (line, want) in payments.iter().zip(expected("payments")) {
        // Field by field: unions, enums, nested records, arrays, maps, bytes, fixed,
        // decimals as exact digit strings, int64 past 2^53, logical time as integers.
        assert_eq!(line["value"], want["expected"], "{line}");
        assert_eq!(
            line["key"], want["expected_key"],
            "a framed key decodes too"
        );
        assert_eq!(
            line["schema"],
            json!({"format": "avro", "id": 2, "subject": "payments-value", "version": 1})
        );
        assert_eq!(line["key_schema"]["subject"], "payments-key");
        assert_eq!(line["type"], want["expected"]["type"]);
        assert!(line.get("decode_error").is_none(), "{line}");
    }
    // Exact digits: 2^53 + 1 and i64::MAX are not rounded through a float.
    let text = stdout(&rewind(&[
        "-b",
        &b,
        "--schema-registry",
        &registry.url,
        "events",
        "payments",
        "--limit",
        "3",
    ]));
    assert!(
        text.contains("9007199254740993") && text.contains("9223372036854775807"),
        "{text}"
    );
    // An unknown id and bytes that do not fit: kept as bytes, with the reason.
    assert!(
        payments[3]["decode_error"]
            .as_str()
            .unwrap()
            .contains("schema id 999"),
        "{}",
        payments[3]
    );
    assert_eq!(
        payments[3]["value"],
        json!({"base64": base64::engine::general_purpose::STANDARD.encode([0, 0, 0, 3, 231, 1, 2, 3])})
    );
    assert!(
        payments[4]["decode_error"]
            .as_str()
            .unwrap()
            .contains("schema id 2 (avro)"),
        "{}",
        payments[4]
    );
    assert!(payments[4]["value"]["base64"].is_string());

    let shipments = events(&b, &registry.url, "shipments");
    let messages: Vec<&str> = shipments
        .iter()
        .map(|l| l["schema"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "shop.ShipmentEvent",
            "shop.ShipmentEvent",
            "shop.ShipmentEvent.Parcel"
        ]
    );
    for (line, want) in shipments.iter().zip(expected("shipments")) {
        assert_eq!(line["value"], want["expected"], "{line}");
        assert_eq!(line["schema"]["format"], "protobuf");
        assert_eq!(line["schema"]["id"], 3);
    }
    assert_eq!(
        shipments[0]["value"]["route_hash"].to_string(),
        "18446744073709551615"
    );

    let refunds = events(&b, &registry.url, "refunds");
    assert_eq!(refunds[0]["value"], expected("refunds")[0]["expected"]);
    assert_eq!(refunds[0]["schema"]["format"], "json_schema");
    assert_eq!(refunds[0]["value"]["cents"].to_string(), "9007199254740993");
}

#[test]
fn folds_aggregates_and_state_work_on_decoded_values() {
    let setup = Setup::new(
        r#"[[topics]]
name = "payments"
aggregate = ".orderId"
partitioner = "scan"
[topics.reducers]
PaymentAuthorized = "{status: \"authorized\", amount: $event.amount, seq: $event.ledgerSeq}"
PaymentCaptured = ".status = \"captured\" | .seq2 = $event.ledgerSeq | .method = $event.method"
"#,
    );
    let run = |args: &[&str]| setup.run(args);
    let state: Value = serde_json::from_str(&stdout(&run(&[
        "-o",
        "json",
        "state",
        "payments",
        "--aggregate",
        "order-7",
    ])))
    .unwrap();
    assert_eq!(
        state["state"],
        json!({"status": "captured", "amount": "1234.50", "seq": 9007199254740993_i64,
               "seq2": -9007199254740993_i64, "method": "paypal"})
    );
    assert_eq!(state["errors"], json!([]));
    // The raw index finds aggregates in decoded values; undecodable events have none.
    let aggregates: Value =
        serde_json::from_str(&stdout(&run(&["-o", "json", "aggregates", "payments"]))).unwrap();
    let counts: Vec<(String, i64)> = aggregates
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["aggregate"].as_str().unwrap().to_owned(),
                a["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        counts.contains(&("order-7".into(), 2)) && counts.contains(&("order-8".into(), 1)),
        "{counts:?}"
    );
    assert!(counts.contains(&("-".into(), 2)), "{counts:?}");
}

#[test]
fn a_registry_that_is_down_leaves_every_event_as_bytes_with_the_reason() {
    let fixtures = fixtures();
    let mock = cluster(&fixtures);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let lines = events(&mock.bootstrap_servers(), &closed, "payments");
    assert_eq!(lines.len(), 5, "nothing is dropped");
    for line in &lines {
        let why = line["decode_error"].as_str().unwrap();
        assert!(why.contains("cannot be reached"), "{why}");
        assert!(line["value"]["base64"].is_string());
    }
}

#[test]
fn local_schemas_decode_unframed_payloads_and_registry_secrets_stay_hidden() {
    let fixtures = fixtures();
    let mock = mock(&[("shipments-raw", 1)]);
    let framed = unb64(&fixtures["records"][3]["value_b64"]);
    // Magic byte, id, then the index list [1] (two bytes): the rest is the raw message.
    let raw = framed[7..].to_vec();
    let mut rec = Rec::new("shipments-raw", 0, "s-1", "");
    rec.value = Some(raw);
    produce(&mock.bootstrap_servers(), &[rec]);
    let dir = sandbox();
    let schemas = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schemas");
    std::fs::write(
        dir.path().join("rewind.toml"),
        format!(
            "[profiles.default]\nbrokers = \"{}\"\n[profiles.default.schema_registry]\nurl = \"http://127.0.0.1:9\"\nusername = \"me\"\npassword = \"${{SR_PASSWORD}}\"\n\n[[topics]]\nname = \"shipments-raw\"\n[topics.schema]\nproto = {{ files = [\"{schemas}/shipment.proto\"], message = \"shop.ShipmentEvent\" }}\n",
            mock.bootstrap_servers()
        ),
    )
    .unwrap();
    let out = rewind_command(dir.path())
        .env("SR_PASSWORD", "s3cret-Registry-9")
        .args(["events", "shipments-raw"])
        .output()
        .unwrap();
    let line: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(line["value"], fixtures["records"][3]["expected"]);
    assert_eq!(
        line["schema"],
        json!({"format": "protobuf", "message": "shop.ShipmentEvent"})
    );
    // A framed payload on a profile whose registry is unreachable: the reason, no secret.
    let framed_mock = cluster(&fixtures);
    let out = rewind_command(dir.path())
        .env("SR_PASSWORD", "s3cret-Registry-9")
        .args([
            "-b",
            &framed_mock.bootstrap_servers(),
            "events",
            "payments",
            "--limit",
            "1",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("decode_error"), "{text}");
    assert!(!text.contains("s3cret-Registry-9"), "{text}");
    // Credentials in the URL are taken out of it: not in messages either.
    let out = rewind_command(dir.path())
        .env("SR_PASSWORD", "s3cret-Registry-9")
        .args([
            "-b",
            &framed_mock.bootstrap_servers(),
            "--schema-registry",
            "http://me:url-S3cret-7@127.0.0.1:9",
        ])
        .args(["events", "payments", "--limit", "1"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("http://127.0.0.1:9 cannot be reached"),
        "{text}"
    );
    assert!(!text.contains("url-S3cret-7"), "{text}");
    let log =
        std::fs::read_to_string(dir.path().join("state/rewind/rewind.log")).unwrap_or_default();
    assert!(
        !log.contains("s3cret-Registry-9") && !log.contains("url-S3cret-7"),
        "{log}"
    );
}

#[test]
fn compensating_events_are_encoded_with_the_original_schema() {
    let setup = Setup::new(
        r#"[[topics]]
name = "payments"
[topics.compensation_templates]
PaymentCaptured = ". + {type: \"PaymentRefunded\", amount: (.amount | ltrimstr(\"-\"))}"
PaymentAuthorized = "{type: 5}"

[[topics]]
name = "shipments"
type = ".kind"
[topics.compensation_templates]
SHIPMENT_CREATED = ". + {kind: \"SHIPMENT_DISPATCHED\", tracking_seq: (.tracking_seq + 1)}"
"#,
    );
    let fixtures = &setup.fixtures;
    let run = |args: &[&str]| setup.run(args);
    // Avro: produced framed with id 2, and it decodes back to the draft.
    stdout(&run(&[
        "compensate",
        "payments",
        "--event",
        "0/1",
        "--execute",
    ]));
    let lines = json_lines(&run(&["events", "payments", "--from", "0/5"]));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let produced = &lines[0];
    assert_eq!(produced["schema"]["id"], 2, "{produced}");
    assert_eq!(
        produced["key"], "order-7",
        "the key re-encoded with its schema"
    );
    assert_eq!(produced["key_schema"]["id"], 1);
    let mut want = fixtures["records"][1]["expected"].clone();
    want["type"] = json!("PaymentRefunded");
    want["amount"] = json!("0.05");
    assert_eq!(produced["value"], want);
    // A draft that does not fit the schema is refused with the encoder's reason.
    let refused = run(&["compensate", "payments", "--event", "0/0", "--execute"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("does not fit schema id 2 (avro)"), "{err}");

    // Protobuf: same id and message index [1]; 64-bit arithmetic in jq kept exact.
    stdout(&run(&[
        "compensate",
        "shipments",
        "--event",
        "0/0",
        "--execute",
    ]));
    let lines = json_lines(&run(&["events", "shipments", "--from", "0/3"]));
    assert_eq!(
        lines[0]["schema"]["message"], "shop.ShipmentEvent",
        "{:?}",
        lines
    );
    assert_eq!(lines[0]["value"]["kind"], "SHIPMENT_DISPATCHED");
    assert_eq!(
        lines[0]["value"]["tracking_seq"].to_string(),
        "4611686018427387908"
    );
    assert_eq!(
        lines[0]["value"]["parcels"],
        fixtures["records"][3]["expected"]["parcels"]
    );
}

#[test]
fn a_registry_stopped_mid_run_keeps_what_it_gave_and_is_not_asked_again() {
    use kafka_rewind::model::schema::SchemaSource;
    use kafka_rewind::registry::{Registry, RegistryConfig};
    let fixtures = fixtures();
    let server = registry(&fixtures);
    let client = Registry::new(RegistryConfig {
        url: server.url.clone(),
        timeout: std::time::Duration::from_secs(3),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        client.by_id(2).unwrap().subject.as_deref(),
        Some("payments-value")
    );
    // An unknown id is that id's problem only.
    let unknown = client.by_id(999).unwrap_err();
    assert!(unknown.contains("404"), "{unknown}");
    assert!(client.by_id(3).is_ok());
    drop(server);
    assert!(client.by_id(2).is_ok(), "schemas fetched stay for the run");
    let down = client.by_id(4).unwrap_err();
    assert!(down.contains("cannot be reached"), "{down}");
    // Asked once: later look-ups give the same reason without waiting again.
    assert_eq!(client.by_id(1).unwrap_err(), down);
}

/// A record's key and value as stored.
type Stored = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Keys and values of a topic as stored, read by the test's own consumer.
fn stored(bootstrap: &str, topic: &str) -> Vec<Stored> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "stored-reader")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .set("log_level", "3")
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&list).unwrap();
    let mut all = vec![];
    loop {
        match consumer.poll(std::time::Duration::from_secs(10)) {
            Some(Ok(m)) => all.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec))),
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => return all,
            Some(Err(e)) => panic!("{e}"),
            None => panic!("no end of {topic}"),
        }
    }
}

#[test]
fn a_dump_of_schemad_events_is_produced_back_byte_for_byte() {
    let setup = Setup::new("");
    let b = setup.mock.bootstrap_servers();
    setup.mock.create_topic("copy", 1, 1).unwrap();
    let mut dump = String::new();
    for topic in ["payments", "shipments"] {
        let out = stdout(&setup.run(&["events", topic]));
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            // Decoded lines carry the bytes as stored.
            if v.get("schema").is_some() {
                assert!(v.get("raw_value").is_some(), "{line}");
            }
        }
        dump.push_str(&out);
    }
    std::fs::write(setup.dir.path().join("dump.jsonl"), &dump).unwrap();
    stdout(&setup.run(&["produce", "copy", "--from-file", "dump.jsonl", "--execute"]));
    let mut want = stored(&b, "payments");
    want.extend(stored(&b, "shipments"));
    assert!(want.len() >= 4, "{}", want.len());
    assert_eq!(stored(&b, "copy"), want);
}

#[test]
fn in_the_tui_kept_schemad_records_are_shown_without_reading_the_topic_again() {
    use kafka_rewind::app::{Action, Command};
    let setup = Setup::new("");
    let mut config = kafka_rewind::config::Config::default();
    config
        .attach_registry(&kafka_rewind::config::Asked {
            schema_registry: Some(setup.registry.url.clone()),
            ..Default::default()
        })
        .unwrap();
    let conn = kafka_rewind::config::Connection {
        brokers: setup.mock.bootstrap_servers(),
        ..Default::default()
    };
    let mut d = Driver::start(conn, config);
    d.wait("topics", |a| !a.topics.all.is_empty());
    d.command("topic payments");
    d.wait("the load", |a| a.topic.events.done);
    d.wait("the first event", |a| a.topic.events.current().is_some());
    d.act(Action::MoveDown);
    d.wait("the second event", |a| a.topic.events.current().is_some());
    // The bytes kept from the load are decoded with the schemas the load's indexing
    // fetched (never from the UI thread: one not held yet goes to the worker as
    // `DecodeKept`); nothing is read from the topic again.
    assert!(
        !d.sent.iter().any(|c| matches!(c, Command::Fetch { .. })),
        "{:?}",
        d.sent
    );
    let second = d.app.topic.events.current().unwrap();
    let expected = &setup.fixtures["records"][1]["expected"];
    assert_eq!(second.value.to_json(), *expected);
}
