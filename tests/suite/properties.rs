//! Property tests over the pure model: decoding never panics and its JSON output is
//! clean, the TUI's text cleaning removes every control character, folds agree with a
//! plain fold whatever the checkpoints and skips, diffs turn one value into the other,
//! and rewind plans stay within the log and are undone by their undo file.

use std::collections::BTreeMap;
use std::rc::Rc;

use kafka_rewind::model::diff::diff;
use kafka_rewind::model::event::RawRecord;
use kafka_rewind::model::plan::{self, GroupPartition, Plan, Scope, TimeOffset, TimeSource};
use kafka_rewind::model::projection::Projection;
use kafka_rewind::model::reducer::{from_val, to_val, Reducers};
use kafka_rewind::model::{Event, Extractor, TopicRules};
use proptest::prelude::*;
use serde_json::{json, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z\\x00-\\x1f\u{7f}-\u{9f}é✓]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn rules() -> TopicRules {
    TopicRules {
        aggregate: Extractor::parse(".id").unwrap(),
        event_id: Some(Extractor::parse(".eid").unwrap()),
        version: Some(Extractor::parse("header:v").unwrap()),
        ..TopicRules::default()
    }
}

proptest! {
    #[test]
    fn decoding_any_bytes_never_panics_and_its_json_is_clean(
        key in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
        value in prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
        header in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        let raw = RawRecord {
            topic: "t",
            partition: 0,
            offset: 1,
            timestamp: Some(0),
            key: key.as_deref(),
            headers: vec![("v", Some(&header)), ("type", Some(&header))],
            value: value.as_deref(),
        };
        let event = Event::decode(&raw, &rules());
        let text = kafka_rewind::commands::json_text(&event.to_json(), false);
        prop_assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
        let back: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back["offset"].as_i64(), Some(1));
        let shown = kafka_rewind::ui::text::clean(&format!("{} {} {}", event.key.label(), event.value.pretty(), event.aggregate));
        prop_assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    }

    #[test]
    fn indexing_without_decoding_finds_what_decoding_finds(
        key in prop::option::of(prop::collection::vec(any::<u8>(), 0..12)),
        value in prop_oneof![
            json_value().prop_map(|v| v.to_string().into_bytes()),
            json_value().prop_map(|v| json!({"type": v, "id": v, "data": {"x": [v]}}).to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..40),
        ],
        header in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let raw = RawRecord {
            topic: "t",
            key: key.as_deref(),
            headers: vec![("type", Some(&header))],
            value: Some(&value),
            ..Default::default()
        };
        let deep = TopicRules {
            aggregate: Extractor::parse(".data.x[0]").unwrap(),
            ..TopicRules::default()
        };
        let ids = TopicRules {
            event_id: Some(Extractor::parse(".id").unwrap()),
            version: Some(Extractor::parse("header:type").unwrap()),
            ..rules()
        };
        let reference = Extractor::parse(".data.x[0]").unwrap();
        for rules in [TopicRules::default(), rules(), deep, ids] {
            let e = Event::decode(&raw, &rules);
            let (aggregate, kind) = kafka_rewind::model::index::aggregate_and_type(&raw, &rules);
            prop_assert_eq!((&e.aggregate, &e.event_type), (&aggregate.into_owned(), &kind.into_owned()));
            // The TUI's load indexes raw records: the same entry as the decoded event's.
            let mut decoded = kafka_rewind::model::index::EventIndex::default();
            decoded.push(&e, reference.extract(&e, None).as_deref());
            let mut part = kafka_rewind::model::index::IndexPart::default();
            part.push_raw(&raw, &rules, Some(&reference));
            let mut raw_index = kafka_rewind::model::index::EventIndex::default();
            raw_index.append(part);
            let (a, b) = (decoded.get(0), raw_index.get(0));
            prop_assert_eq!(
                (a.coord(), a.timestamp(), a.aggregate(), a.event_type(), a.key(), a.event_id(), a.version(), a.reference()),
                (b.coord(), b.timestamp(), b.aggregate(), b.event_type(), b.key(), b.event_id(), b.version(), b.reference())
            );
        }
    }

    #[test]
    fn decoded_json_values_survive_output_and_jaq(value in json_value()) {
        let bytes = value.to_string();
        let raw = RawRecord { topic: "t", value: Some(bytes.as_bytes()), ..Default::default() };
        let event = Event::decode(&raw, &TopicRules::default());
        prop_assert_eq!(&event.value.to_json(), &value);
        prop_assert_eq!(from_val(&to_val(&value)), value);
    }

    #[test]
    fn a_diff_turns_one_value_into_the_other(a in json_value(), b in json_value()) {
        let changes = diff(&a, &b);
        prop_assert_eq!(changes.is_empty(), a == b);
        let ops: Vec<json_patch::PatchOperation> = changes
            .iter()
            .map(|c| {
                serde_json::from_value(json!({"op": c.op, "path": c.path, "value": c.after}))
                    .unwrap()
            })
            .collect();
        let mut patched = a.clone();
        json_patch::patch(&mut patched, &ops).unwrap();
        prop_assert_eq!(patched, b);
    }
}

/// A stream of `Set`/`Add`/`Fail` events for one aggregate.
fn stream(kinds: &[(u8, i64)]) -> Vec<Event> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, (kind, n))| {
            let kind = ["Set", "Add", "Fail", "Other"][*kind as usize % 4];
            let value = json!({"id": "a", "type": kind, "data": {"n": n}}).to_string();
            let raw = RawRecord {
                topic: "t",
                offset: i as i64,
                value: Some(value.as_bytes()),
                ..Default::default()
            };
            Event::decode(&raw, &rules())
        })
        .collect()
}

/// The fold in plain Rust: Set sets n, Add adds it, Fail changes nothing, the default
/// merges `.data` (so sets n too), skipped events are left out.
fn plain(events: &[Event], upto: usize, skipped: &[usize]) -> Value {
    let mut n: Option<i64> = None;
    for (i, e) in events.iter().enumerate().take(upto + 1) {
        if skipped.contains(&i) {
            continue;
        }
        let v = e.value.as_json().unwrap()["data"]["n"].as_i64().unwrap();
        match e.event_type.as_str() {
            "Add" => n = Some(n.unwrap_or(0).wrapping_add(v)),
            "Fail" => {}
            _ => n = Some(v),
        }
    }
    n.map_or(Value::Null, |n| json!({"n": n}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_position_folds_like_a_plain_fold_whatever_the_skips(
        kinds in prop::collection::vec((0u8..4, -1000i64..1000), 1..120),
        probes in prop::collection::vec(any::<prop::sample::Index>(), 1..8),
        skips in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let reducers: Rc<Reducers> = Rc::new(Reducers::compile(&BTreeMap::from([
            ("Set".to_string(), "{n: $event.data.n}".to_string()),
            ("Add".to_string(), "(. // {n: 0}) | .n += $event.data.n".to_string()),
            ("Fail".to_string(), "error(\"no\")".to_string()),
        ])).unwrap());
        let events = stream(&kinds);
        let mut p = Projection::new(reducers, &events);
        let mut skipped: Vec<usize> = vec![];
        for s in &skips {
            let i = s.index(events.len());
            p.toggle_skip(i);
            match skipped.iter().position(|&x| x == i) {
                Some(at) => { skipped.remove(at); }
                None => skipped.push(i),
            }
        }
        for probe in probes {
            let i = probe.index(events.len());
            prop_assert_eq!(p.state_after(i), plain(&events, i, &skipped), "at {}", i);
            let errors = p.errors_through(i);
            let fails = (0..=i).filter(|j| kinds[*j].0 % 4 == 2 && !skipped.contains(j)).count();
            prop_assert_eq!(errors.len(), fails);
        }
    }

    #[test]
    fn plans_stay_within_the_log_and_their_undo_file_restores(
        parts in prop::collection::vec((0i64..1000, 0i64..1000, prop::option::of(any::<prop::sample::Index>())), 1..6),
        scope in 0u8..6,
        n in -2000i64..3000,
    ) {
        let partitions: Vec<GroupPartition> = parts
            .iter()
            .enumerate()
            .map(|(i, (a, b, c))| {
                let (low, high) = (*a.min(b), *a.max(b));
                GroupPartition {
                    partition: i as i32,
                    low,
                    high,
                    committed: c.map(|c| low + c.index((high - low + 1) as usize) as i64),
                }
            })
            .collect();
        let scope = match scope {
            0 => Scope::Earliest,
            1 => Scope::Latest,
            2 => Scope::Offset(n),
            3 => Scope::ShiftBy(n),
            4 => Scope::DateTime(n),
            _ => Scope::Event(kafka_rewind::model::Coord { partition: 0, offset: n }),
        };
        let times: BTreeMap<i32, TimeOffset> = partitions
            .iter()
            .map(|p| (p.partition, TimeOffset { offset: n.clamp(p.low, p.high), source: TimeSource::Index }))
            .collect();
        let Ok(targets) = plan::targets("t", &scope, &partitions, &times) else {
            // The only refusal: shifting a partition with nothing committed.
            prop_assert!(matches!(scope, Scope::ShiftBy(_)) && partitions.iter().any(|p| p.committed.is_none()));
            return Ok(());
        };
        for (t, p) in targets.iter().zip(&partitions) {
            prop_assert!(p.low <= t.target && t.target <= p.high, "{:?} outside {:?}", t, p);
            prop_assert_eq!(t.delta(), p.committed.map(|c| t.target - c));
        }
        let plan = Plan { group: "g".into(), topic: "t".into(), scope, time: None, partitions: targets, impact: None };
        let after: Vec<GroupPartition> = plan
            .partitions
            .iter()
            .zip(&partitions)
            .map(|(t, p)| GroupPartition { committed: Some(t.target), ..*p })
            .collect();
        let rows = plan::parse_reset_file(&plan.undo_csv()).unwrap();
        if rows.is_empty() {
            return Ok(());
        }
        let undo = plan::targets("t", &Scope::File { path: "undo".into(), rows }, &after, &BTreeMap::new()).unwrap();
        for u in undo {
            prop_assert_eq!(Some(u.target), partitions[u.partition as usize].committed);
        }
    }
}

/// Topic rules whose values are read with a local Avro or Protobuf schema (with arrays,
/// maps, strings and nested messages: length prefixes to lie about).
fn schema_rules() -> Vec<TopicRules> {
    use kafka_rewind::model::schema::avro::AvroSchema;
    use kafka_rewind::model::schema::protobuf::ProtoSchema;
    use kafka_rewind::model::schema::LocalSchema;
    let avro = AvroSchema::parse(
        r#"{"type":"record","name":"R","fields":[{"name":"id","type":"string"},
        {"name":"xs","type":{"type":"array","items":"long"}},{"name":"m","type":{"type":"map","values":"bytes"}},
        {"name":"u","type":["null","double",{"type":"fixed","name":"F","size":3}]},
        {"name":"d","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":3}}]}"#,
        &[],
    )
    .unwrap();
    let proto = ProtoSchema::compile(
        "p.proto",
        "syntax = \"proto3\"; message M { string id = 1; repeated int64 xs = 2; map<string, bytes> m = 3; M child = 4; double d = 5; }",
        &[],
    )
    .unwrap();
    let message = proto.message_named("M").unwrap();
    [
        LocalSchema::Avro(avro),
        LocalSchema::Protobuf {
            schema: proto,
            message,
        },
    ]
    .into_iter()
    .map(|local| {
        let mut r = rules();
        r.payloads.value.local = Some(std::sync::Arc::new(local));
        r
    })
    .collect()
}

proptest! {
    #[test]
    fn schema_decoding_any_bytes_never_panics_and_keeps_what_it_cannot_read(
        value in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        for (i, rules) in schema_rules().into_iter().enumerate() {
            let raw = RawRecord { topic: "t", value: Some(&value), ..RawRecord::default() };
            let event = Event::decode(&raw, &rules);
            if i == 0 {
                // The Avro index walk finds what a full decode finds, for any bytes.
                let (aggregate, kind) = kafka_rewind::model::index::aggregate_and_type(&raw, &rules);
                prop_assert_eq!((aggregate.as_ref(), kind.as_ref()), (event.aggregate.as_str(), event.event_type.as_str()));
            }
            match &event.decode_error {
                // Nothing is dropped: the bytes are kept, with the reason.
                Some(_) => prop_assert_eq!(&event.value, &kafka_rewind::model::Payload::Bytes(value.clone())),
                None => prop_assert!(event.value.as_json().is_some()),
            }
            let text = kafka_rewind::commands::json_text(&event.to_json(), false);
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
        }
    }
}

// The TUI draws every screen, whatever the records and wherever the keys took it.

/// A timestamp: the edges of i64 and of the calendar, or anything.
fn timestamp() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            i64::MIN,
            i64::MAX,
            -1,
            0,
            10_i64.pow(16),
            253_402_300_800_000,
            1 << 62,
            -(1 << 62),
        ])
        .prop_map(Some),
        any::<i64>().prop_map(Some),
        (1_700_000_000_000i64..1_800_000_000_000).prop_map(Some),
    ]
}

/// A value: JSON of the domain (sometimes the reducer's error), any JSON, any bytes,
/// nothing, empty, or huge.
fn payload() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        4 => ("[ab]", prop::option::of(any::<i32>()), json_value()).prop_map(|(id, n, data)| {
            let n = n.map_or(json!("not a number"), Value::from);
            Some(json!({"id": id, "type": "T", "n": n, "data": data}).to_string().into_bytes())
        }),
        1 => json_value().prop_map(|v| Some(v.to_string().into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        1 => Just(None),
        1 => Just(Some(vec![])),
        1 => (0usize..60_000).prop_map(|n| Some(json!({"id": "a", "type": "T", "blob": "ü\u{1b}".repeat(n / 2)}).to_string().into_bytes())),
    ]
}

type Record = (
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Vec<u8>)>,
);

fn record() -> impl Strategy<Value = Record> {
    (
        timestamp(),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..24)),
        payload(),
        prop::collection::vec(
            (
                "[a-z\\x00-\\x1f]{0,6}",
                prop::collection::vec(any::<u8>(), 0..12),
            ),
            0..3,
        ),
    )
}

fn action() -> impl Strategy<Value = kafka_rewind::app::Action> {
    use kafka_rewind::app::Action::*;
    prop::sample::select(vec![
        MoveDown,
        MoveUp,
        PageDown,
        PageUp,
        First,
        Last,
        Open,
        Open,
        Back,
        NextPane,
        StepForward,
        StepForward,
        StepBack,
        ToggleSkip,
        ToggleDiff,
        ToggleSnapshotStart,
        Mark,
        ShowMarks,
        Rewind,
        Compensate,
        ToggleHelp,
        Follow,
        StartFilter,
        Type('a'),
        Type('é'),
        Erase,
        Submit,
        Cancel,
        NextMatch,
        PrevMatch,
        StartCommand,
        Delete,
    ])
}

fn drawn(app: &kafka_rewind::app::App, width: u16, height: u16) -> String {
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal.draw(|f| kafka_rewind::ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn every_screen_draws_any_records_at_any_size_after_any_keys(
        records in prop::collection::vec(record(), 1..40),
        actions in prop::collection::vec(action(), 0..40),
        size in prop::sample::select(vec![(40u16, 12u16), (41, 13), (60, 20), (80, 24), (140, 30), (220, 60)]),
    ) {
        use kafka_rewind::app::{App, Msg};
        use kafka_rewind::config::Config;
        let config = Config::parse(
            "[[topics]]\nname = \"t\"\naggregate = \".id\"\n[topics.reducers]\nT = \"(. // {n: 0}) | .n += $event.n\"\n[topics.compensation_templates]\nT = \"{type: \\\"U\\\", id: $event.id}\"\n",
            std::path::Path::new("rewind.toml"),
        )
        .unwrap();
        let rules = config.rules_for("t");
        let mut app = App::new("127.0.0.1:9092".into(), config);
        let _ = app.start();
        app.apply(Msg::Topics(Ok(vec![kafka_rewind::model::TopicInfo {
            name: "t".into(),
            partitions: vec![kafka_rewind::model::PartitionInfo { partition: 0, low: 0, high: records.len() as i64 }],
            ..Default::default()
        }])));
        let _ = app.update(kafka_rewind::app::Action::Open);
        let events: Vec<Event> = records
            .iter()
            .enumerate()
            .map(|(i, (timestamp, key, value, headers))| {
                let raw = RawRecord {
                    topic: "t",
                    partition: 0,
                    offset: i as i64,
                    timestamp: *timestamp,
                    key: key.as_deref(),
                    headers: headers.iter().map(|(k, v)| (k.as_str(), Some(v.as_slice()))).collect(),
                    value: value.as_deref(),
                };
                Event::decode(&raw, &rules)
            })
            .collect();
        // Half the topic arrives, the screens are drawn while it loads, then the rest.
        let half = events.len() / 2;
        app.apply(Msg::Events { generation: 1, events: events[..half].to_vec() });
        drawn(&app, 40, 12);
        app.apply(Msg::Events { generation: 1, events: events[half..].to_vec() });
        app.apply(Msg::Loaded { generation: 1, result: Ok(()) });
        for action in actions {
            let _ = app.update(action);
            while app.tick().busy {}
            let (width, height) = size;
            let text = drawn(&app, width, height);
            prop_assert!(!text.contains('\u{1b}'), "an escape reached the screen");
            drawn(&app, 40, 12);
        }
    }
}

proptest! {
    #[test]
    fn the_native_default_reducer_is_the_jq_one(state in json_value(), event in json_value(), data in prop::option::of(json_value())) {
        let mut event = event;
        if let (Some(data), Some(object)) = (data, event.as_object_mut()) {
            object.insert("data".into(), data);
        }
        let jq = Reducers::compile(&BTreeMap::from([("*".to_owned(), kafka_rewind::model::reducer::DEFAULT_REDUCER.to_owned())])).unwrap();
        let meta = to_val(&json!({}));
        let (s, e) = (to_val(&state), to_val(&event));
        if let Some(native) = kafka_rewind::model::reducer::default_merge(&s, &e) {
            let program = jq.apply("T", &s, &e, &meta).map(|v| from_val(&v));
            prop_assert_eq!(Ok(from_val(&native)), program);
        }
    }
}
