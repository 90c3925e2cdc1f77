//! Kafka records as rewind sees them: decoded key, headers and value.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::schema::SchemaInfo;

/// A decoded key, header or value. Nothing is dropped: what is not JSON is text, what
/// is not text is bytes, and a missing value (tombstone) is `Null`.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// No bytes at all (a tombstone value, a record without key).
    Null,
    /// Bytes that parse as JSON.
    Json(Value),
    /// UTF-8 text that is not JSON (including the empty string).
    Text(String),
    /// Anything else, kept verbatim.
    Bytes(Vec<u8>),
}

impl Payload {
    /// Decodes raw record bytes: JSON when they parse, else UTF-8 text, else bytes.
    pub fn decode(bytes: Option<&[u8]>) -> Payload {
        let Some(bytes) = bytes else {
            return Payload::Null;
        };
        if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            return Payload::Json(value);
        }
        Payload::decode_text(bytes)
    }

    /// Decodes bytes as text (never as JSON), else bytes: used for headers and keys of
    /// aggregate ids, where `"42"` is a name and not a number.
    pub fn decode_text(bytes: &[u8]) -> Payload {
        match std::str::from_utf8(bytes) {
            Ok(text) => Payload::Text(text.to_owned()),
            Err(_) => Payload::Bytes(bytes.to_vec()),
        }
    }

    /// The JSON form used in `rewind events` output.
    pub fn to_json(&self) -> Value {
        match self {
            Payload::Null => Value::Null,
            Payload::Json(v) => v.clone(),
            Payload::Text(s) => Value::String(s.clone()),
            Payload::Bytes(b) => {
                json!({ "base64": base64::engine::general_purpose::STANDARD.encode(b) })
            }
        }
    }

    /// The decoded JSON value, if this payload is JSON.
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Payload::Json(v) => Some(v),
            _ => None,
        }
    }

    /// A one-line label: strings without quotes, bytes as hex, `null` for nothing.
    pub fn label(&self) -> String {
        match self {
            Payload::Null => "null".into(),
            Payload::Json(Value::String(s)) | Payload::Text(s) => s.clone(),
            Payload::Json(v) => v.to_string(),
            Payload::Bytes(b) => hex(b),
        }
    }

    /// A multi-line rendering for the TUI: pretty JSON, text as is, bytes as a hex dump.
    pub fn pretty(&self) -> String {
        match self {
            Payload::Null => "null (tombstone)".into(),
            Payload::Json(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
            Payload::Text(s) if s.is_empty() => "(empty)".into(),
            Payload::Text(s) => s.clone(),
            Payload::Bytes(b) => hex_dump(b),
        }
    }

    /// What kind of payload this is, for the TUI's labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Null => "null",
            Payload::Json(_) => "json",
            Payload::Text(_) => "text",
            Payload::Bytes(_) => "binary",
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_dump(bytes: &[u8]) -> String {
    bytes
        .chunks(8)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {:<23}  {}", i * 8, hex.join(" "), ascii)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A partition and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Coord {
    pub partition: i32,
    pub offset: i64,
}

impl Coord {
    /// `{"partition","offset"}`.
    pub fn to_json(self) -> Value {
        json!({"partition": self.partition, "offset": self.offset})
    }
}

impl std::fmt::Display for Coord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.partition, self.offset)
    }
}

/// One Kafka record, decoded, with the type and aggregate id rewind derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch, when the record carries one.
    pub timestamp: Option<i64>,
    pub key: Payload,
    /// Header name and value, in record order; repeated names are kept.
    pub headers: Vec<(String, Payload)>,
    pub value: Payload,
    /// The event type (`-` when none can be found).
    pub event_type: String,
    /// The aggregate id (`-` when none can be found).
    pub aggregate: String,
    /// The event id, when the topic's rules name one (duplicate detection).
    pub event_id: Option<String>,
    /// The schema version, when the topic's rules name one.
    pub version: Option<String>,
    /// Bytes of the raw key, value and headers (what caching this event costs, roughly).
    pub size: usize,
    /// The schema the value was decoded with (`None` for plain JSON, text and bytes).
    pub schema: Option<Box<SchemaInfo>>,
    /// The schema the key was decoded with.
    pub key_schema: Option<Box<SchemaInfo>>,
    /// Why the key or value could not be decoded with its schema (it is kept as bytes).
    pub decode_error: Option<String>,
    /// The bytes of a value or key decoded with a schema, as stored (event lines carry
    /// them, so that a dump is produced back byte for byte).
    pub raw_value: Option<Vec<u8>>,
    pub raw_key: Option<Vec<u8>>,
    /// Read with `--isolation uncommitted`: the record belongs to a transaction that
    /// aborted, or that is still open (past the last stable offset). Shown, never folded.
    pub transaction: Option<Transaction>,
}

/// How a record read uncommitted stands: of an aborted transaction, or an open one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    Aborted,
    Open,
}

impl Transaction {
    pub fn name(self) -> &'static str {
        match self {
            Transaction::Aborted => "aborted",
            Transaction::Open => "open",
        }
    }
}

/// What a read_committed consumer returns of one partition: the offsets of its records
/// and the last stable offset. A record read uncommitted and missing here was aborted
/// when it lies below the last stable offset, and is in an open transaction at or past it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommittedView {
    pub offsets: std::collections::HashSet<i64>,
    pub last_stable: i64,
}

impl CommittedView {
    pub fn mark(&self, offset: i64) -> Option<Transaction> {
        match (self.offsets.contains(&offset), offset >= self.last_stable) {
            (true, _) => None,
            (false, true) => Some(Transaction::Open),
            (false, false) => Some(Transaction::Aborted),
        }
    }
}

/// The raw parts of a record, before decoding.
#[derive(Debug, Clone, Default)]
pub struct RawRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
    pub value: Option<&'a [u8]>,
}

impl RawRecord<'_> {
    /// Bytes of the key, value and headers.
    pub fn size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.map_or(0, <[u8]>::len))
            .sum();
        self.key.map_or(0, <[u8]>::len) + self.value.map_or(0, <[u8]>::len) + headers
    }
}

impl Event {
    /// Decodes a raw record, deriving type and aggregate id with the topic's rules.
    pub fn decode(raw: &RawRecord<'_>, rules: &crate::TopicRules) -> Event {
        let headers = raw
            .headers
            .iter()
            .map(|(name, value)| {
                let value = value.map_or(Payload::Null, Payload::decode_text);
                (name.to_string(), value)
            })
            .collect();
        let key = rules.payloads.decode_key(raw.key);
        let value = rules.payloads.decode_value(raw.value);
        let decode_error = match (&key.error, &value.error) {
            (None, None) => None,
            (Some(k), None) => Some(format!("key: {k}")),
            (None, Some(v)) => Some(v.clone()),
            (Some(k), Some(v)) => Some(format!("{v}; key: {k}")),
        };
        // A schema'd key is an id by its decoded form, not by its framed bytes.
        let key_label = key.schema.as_ref().map(|_| key.payload.label());
        let raw_key = key_label.as_deref().map(str::as_bytes).or(raw.key);
        let mut event = Event {
            topic: raw.topic.to_owned(),
            partition: raw.partition,
            offset: raw.offset,
            timestamp: raw.timestamp,
            key: key.payload,
            headers,
            value: value.payload,
            event_type: String::new(),
            aggregate: String::new(),
            event_id: None,
            version: None,
            size: raw.size(),
            raw_value: value.schema.as_ref().and(raw.value).map(<[u8]>::to_vec),
            raw_key: key.schema.as_ref().and(raw.key).map(<[u8]>::to_vec),
            schema: value.schema.map(Box::new),
            key_schema: key.schema.map(Box::new),
            decode_error,
            transaction: None,
        };
        event.event_type = rules.event_type(&event, raw_key);
        event.aggregate = rules.aggregate(&event, raw_key);
        event.event_id = rules
            .event_id
            .as_ref()
            .and_then(|x| x.extract(&event, raw_key));
        event.version = rules
            .version
            .as_ref()
            .and_then(|x| x.extract(&event, raw_key));
        event
    }

    /// An event known only by its index entry: coordinates, time, type, aggregate and
    /// event id, no payload (for plans, which need no more).
    pub fn skeleton(topic: &str, indexed: &crate::index::Indexed<'_>) -> Event {
        let at = indexed.coord();
        Event {
            topic: topic.to_owned(),
            partition: at.partition,
            offset: at.offset,
            timestamp: indexed.timestamp(),
            key: Payload::Text(indexed.key().to_owned()),
            headers: vec![],
            value: Payload::Null,
            event_type: indexed.event_type().to_owned(),
            aggregate: indexed.aggregate().to_owned(),
            event_id: indexed.event_id().map(str::to_owned),
            version: indexed.version().map(str::to_owned),
            size: 0,
            schema: None,
            key_schema: None,
            decode_error: None,
            raw_value: None,
            raw_key: None,
            transaction: None,
        }
    }

    /// The value of the first header with this name.
    pub fn header(&self, name: &str) -> Option<&Payload> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Headers as a JSON object; a name that repeats maps to an array of its values.
    pub fn headers_json(&self) -> Value {
        let mut map = Map::new();
        for (name, _) in &self.headers {
            if map.contains_key(name) {
                continue;
            }
            let mut values = self
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.to_json());
            let value = match (values.next(), values.next()) {
                (Some(only), None) => only,
                (first, second) => {
                    Value::Array(first.into_iter().chain(second).chain(values).collect())
                }
            };
            map.insert(name.clone(), value);
        }
        Value::Object(map)
    }

    /// The `{"partition","offset"}` of this event.
    pub fn coord(&self) -> Coord {
        Coord {
            partition: self.partition,
            offset: self.offset,
        }
    }

    /// `$meta` for reducers: coordinates, key, headers, type and the stream index.
    pub fn meta(&self, index: usize) -> Value {
        json!({
            "topic": self.topic, "partition": self.partition, "offset": self.offset,
            "timestamp": self.timestamp, "key": self.key.to_json(), "headers": self.headers_json(),
            "type": self.event_type, "index": index,
        })
    }

    /// The JSON line printed by `rewind events` (SPEC.md, "event line").
    pub fn to_json(&self) -> Value {
        let mut line = json!({
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": self.key.to_json(),
            "headers": self.headers_json(),
            "type": self.event_type,
            "aggregate": self.aggregate,
            "value": self.value.to_json(),
        });
        if let Some(id) = &self.event_id {
            line["event_id"] = json!(id);
        }
        if let Some(v) = &self.version {
            line["version"] = json!(v);
        }
        if let Some(s) = &self.schema {
            line["schema"] = s.to_json();
        }
        if let Some(s) = &self.key_schema {
            line["key_schema"] = s.to_json();
        }
        if let Some(e) = &self.decode_error {
            line["decode_error"] = json!(e);
        }
        if let Some(t) = self.transaction {
            line["transaction"] = json!(t.name());
        }
        for (name, raw) in [("raw_value", &self.raw_value), ("raw_key", &self.raw_key)] {
            if let Some(bytes) = raw {
                line[name] = Payload::Bytes(bytes.clone()).to_json();
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TopicRules;

    #[test]
    fn a_record_the_committed_read_lacks_is_aborted_below_the_lso_and_open_past_it() {
        // Offsets 0-1 committed, 2 a marker, 3-4 aborted, 5 a marker, 6 committed, 7 a
        // marker, 8 open (the LSO).
        let view = CommittedView {
            offsets: [0, 1, 6].into_iter().collect(),
            last_stable: 8,
        };
        let marks: Vec<Option<Transaction>> = [0, 1, 3, 4, 6, 8].map(|o| view.mark(o)).to_vec();
        use Transaction::*;
        assert_eq!(
            marks,
            [None, None, Some(Aborted), Some(Aborted), None, Some(Open)]
        );
        let mut e = Event::decode(&raw(Some(b"k"), Some(b"{}")), &TopicRules::default());
        e.transaction = Some(Open);
        assert_eq!(e.to_json()["transaction"], "open");
    }

    fn raw<'a>(key: Option<&'a [u8]>, value: Option<&'a [u8]>) -> RawRecord<'a> {
        RawRecord {
            topic: "t",
            partition: 1,
            offset: 7,
            timestamp: Some(1_700_000_000_000),
            key,
            headers: vec![],
            value,
        }
    }

    #[test]
    fn decodes_json_text_bytes_and_tombstones() {
        assert_eq!(
            Payload::decode(Some(br#"{"a":1}"#)),
            Payload::Json(json!({"a": 1}))
        );
        assert_eq!(
            Payload::decode(Some(b"hello")),
            Payload::Text("hello".into())
        );
        assert_eq!(Payload::decode(Some(b"")), Payload::Text(String::new()));
        assert_eq!(
            Payload::decode(Some(&[0xff, 0x00, 0x01])),
            Payload::Bytes(vec![0xff, 0, 1])
        );
        assert_eq!(Payload::decode(None), Payload::Null);
        assert_eq!(
            Payload::Bytes(vec![0xff, 0, 1]).to_json(),
            json!({"base64": "/wAB"})
        );
    }

    #[test]
    fn event_line_has_every_field() {
        let rules = TopicRules::default();
        let mut r = raw(Some(b"order-1"), Some(br#"{"type":"OrderCreated","n":1}"#));
        r.headers = vec![("trace", Some(b"abc")), ("x", None)];
        let line = Event::decode(&r, &rules).to_json();
        assert_eq!(
            line,
            json!({
                "topic": "t", "partition": 1, "offset": 7, "timestamp": 1_700_000_000_000i64,
                "key": "order-1", "headers": {"trace": "abc", "x": null},
                "type": "OrderCreated", "aggregate": "order-1",
                "value": {"type": "OrderCreated", "n": 1}
            })
        );
    }

    #[test]
    fn repeated_headers_are_all_kept() {
        let rules = TopicRules::default();
        let mut r = raw(None, None);
        r.headers = vec![("h", Some(b"1")), ("h", Some(b"2")), ("h", Some(b"3"))];
        let event = Event::decode(&r, &rules);
        assert_eq!(event.headers_json(), json!({"h": ["1", "2", "3"]}));
        assert_eq!(event.aggregate, "-");
        assert_eq!(event.event_type, "-");
    }

    #[test]
    fn hex_dump_shows_offsets_and_ascii() {
        let dump = Payload::Bytes(b"ab\x00".to_vec()).pretty();
        assert!(dump.starts_with("00000000  61 62 00"), "{dump}");
        assert!(dump.ends_with("ab."), "{dump}");
    }
}
