//! Payloads behind schemas (SPEC.md, "Payload formats and schemas"): Confluent-framed
//! Avro, Protobuf and JSON Schema with schemas from a registry, and unframed payloads
//! with a topic's local schema. Pure: the registry is a `SchemaSource` given from
//! outside (`crate::registry`), so decoding is tested without I/O.

pub mod avro;
pub mod framing;
pub mod protobuf;
pub mod walk;

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Value};

use super::event::Payload;
use avro::AvroSchema;
use protobuf::ProtoSchema;

/// How a topic's keys or values are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A topic's local schema if it has one; else a framed payload by its registry
    /// schema; else JSON, text or bytes.
    #[default]
    Auto,
    Json,
    Avro,
    Protobuf,
    JsonSchema,
    Text,
    Bytes,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        Ok(match s {
            "auto" => Format::Auto,
            "json" => Format::Json,
            "avro" => Format::Avro,
            "protobuf" => Format::Protobuf,
            "json_schema" => Format::JsonSchema,
            "text" => Format::Text,
            "bytes" => Format::Bytes,
            other => {
                return Err(format!(
                "unknown format `{other}`: auto, json, avro, protobuf, json_schema, text or bytes"
            ))
            }
        })
    }
}

/// A compiled schema.
#[derive(Debug)]
pub enum Compiled {
    Avro(AvroSchema),
    Protobuf(ProtoSchema),
    /// JSON Schema: the payload is JSON; the schema itself is not needed to read it.
    JsonSchema,
}

impl Compiled {
    fn format(&self) -> &'static str {
        match self {
            Compiled::Avro(_) => "avro",
            Compiled::Protobuf(_) => "protobuf",
            Compiled::JsonSchema => "json_schema",
        }
    }
}

/// A registry schema, compiled, with what the registry says of it.
#[derive(Debug)]
pub struct Registered {
    pub id: u32,
    pub subject: Option<String>,
    pub version: Option<i64>,
    pub compiled: Compiled,
}

/// Where schemas are found by id (a Schema Registry, cached for the run).
pub trait SchemaSource: Send + Sync + fmt::Debug {
    /// The schema with this id, or why it cannot be had.
    fn by_id(&self, id: u32) -> Result<Arc<Registered>, String>;

    /// Whether `by_id(id)` answers at once, without asking over the network (its
    /// answer is held, or the registry is known to be down).
    fn holds(&self, id: u32) -> bool;
}

/// A topic's schema for unframed payloads (`[topics.schema]`).
#[derive(Debug)]
pub enum LocalSchema {
    Avro(AvroSchema),
    Protobuf {
        schema: ProtoSchema,
        message: prost_reflect::MessageDescriptor,
    },
}

/// What is known of the schema a payload was decoded with (the event line's `schema`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaInfo {
    pub format: &'static str,
    pub id: Option<u32>,
    pub subject: Option<String>,
    pub version: Option<i64>,
    /// The Protobuf message's full name.
    pub message: Option<String>,
    /// The Protobuf message-index path (to frame an encoded draft the same way).
    pub indexes: Option<Vec<i32>>,
}

impl SchemaInfo {
    /// `{"format","id","subject","version","message"}` (what is known).
    pub fn to_json(&self) -> Value {
        let mut out = json!({"format": self.format});
        if let Some(id) = self.id {
            out["id"] = json!(id);
        }
        if let Some(s) = &self.subject {
            out["subject"] = json!(s);
        }
        if let Some(v) = self.version {
            out["version"] = json!(v);
        }
        if let Some(m) = &self.message {
            out["message"] = json!(m);
        }
        out
    }

    /// A one-line label for the TUI.
    pub fn label(&self) -> String {
        let mut parts = vec![self.format.to_owned()];
        if let Some(m) = &self.message {
            parts.push(m.clone());
        }
        match (&self.subject, self.version) {
            (Some(s), Some(v)) => parts.push(format!("{s} v{v}")),
            (Some(s), None) => parts.push(s.clone()),
            _ => {}
        }
        if let Some(id) = self.id {
            parts.push(format!("id {id}"));
        }
        parts.join(" · ")
    }
}

/// A decoded key or value.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub payload: Payload,
    pub schema: Option<SchemaInfo>,
    /// Why the payload could not be decoded (it is then kept as bytes).
    pub error: Option<String>,
}

impl Decoded {
    fn plain(payload: Payload) -> Decoded {
        Decoded {
            payload,
            schema: None,
            error: None,
        }
    }

    /// A decoder's result: the JSON, or the bytes kept with `context: why`.
    fn of(
        decoded: Result<Value, String>,
        info: SchemaInfo,
        bytes: &[u8],
        context: impl FnOnce() -> String,
    ) -> Decoded {
        match decoded {
            Ok(value) => Decoded {
                payload: Payload::Json(value),
                schema: Some(info),
                error: None,
            },
            Err(why) => Decoded {
                payload: Payload::Bytes(bytes.to_vec()),
                schema: Some(info),
                error: Some(format!("{}: {why}", context())),
            },
        }
    }

    fn failed(bytes: &[u8], error: String) -> Decoded {
        Decoded {
            payload: Payload::Bytes(bytes.to_vec()),
            schema: None,
            error: Some(error),
        }
    }
}

/// How one side (key or value) of a topic's records is decoded.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub format: Format,
    pub local: Option<Arc<LocalSchema>>,
}

/// How a topic's keys and values are decoded, and the registry to ask.
#[derive(Debug, Clone, Default)]
pub struct PayloadRules {
    pub value: Side,
    pub key: Side,
    pub registry: Option<Arc<dyn SchemaSource>>,
}

impl PartialEq for PayloadRules {
    fn eq(&self, other: &PayloadRules) -> bool {
        let same_side = |a: &Side, b: &Side| {
            a.format == b.format
                && match (&a.local, &b.local) {
                    (None, None) => true,
                    (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                    _ => false,
                }
        };
        same_side(&self.value, &other.value)
            && same_side(&self.key, &other.key)
            && match (&self.registry, &other.registry) {
                (None, None) => true,
                (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                _ => false,
            }
    }
}

impl Eq for PayloadRules {}

impl PayloadRules {
    /// Whether this key and value are read as before schemas: JSON, else text, else
    /// bytes (no local schema, no forced format, and not framed for a configured
    /// registry). Without a registry a framed-looking payload is read that way too.
    pub fn plain(&self, key: Option<&[u8]>, value: Option<&[u8]>) -> bool {
        self.plain_side(&self.key, key) && self.plain_side(&self.value, value)
    }

    /// Whether decoding this key and value would ask the registry for a schema it does
    /// not hold yet: a request over the network, which the UI thread leaves to the
    /// worker.
    pub fn asks_registry(&self, key: Option<&[u8]>, value: Option<&[u8]>) -> bool {
        let Some(registry) = &self.registry else {
            return false;
        };
        [(&self.key, key), (&self.value, value)]
            .into_iter()
            .any(|(side, bytes)| {
                let Some((id, _)) = bytes.and_then(framing::split) else {
                    return false;
                };
                let by_registry = match side.format {
                    Format::Auto => side.local.is_none(),
                    Format::Avro | Format::Protobuf | Format::JsonSchema => true,
                    Format::Text | Format::Bytes | Format::Json => false,
                };
                by_registry && !registry.holds(id)
            })
    }

    fn plain_side(&self, side: &Side, bytes: Option<&[u8]>) -> bool {
        side.format == Format::Auto
            && side.local.is_none()
            && (self.registry.is_none() || bytes.is_none_or(|b| framing::split(b).is_none()))
    }

    /// Decodes a record's value.
    pub fn decode_value(&self, bytes: Option<&[u8]>) -> Decoded {
        self.decode(&self.value, bytes)
    }

    /// Decodes a record's key.
    pub fn decode_key(&self, bytes: Option<&[u8]>) -> Decoded {
        self.decode(&self.key, bytes)
    }

    fn decode(&self, side: &Side, bytes: Option<&[u8]>) -> Decoded {
        let Some(bytes) = bytes else {
            return Decoded::plain(Payload::Null);
        };
        match side.format {
            Format::Text => Decoded::plain(Payload::decode_text(bytes)),
            Format::Bytes => Decoded::plain(Payload::Bytes(bytes.to_vec())),
            Format::Json => match serde_json::from_slice::<Value>(bytes) {
                Ok(v) => Decoded::plain(Payload::Json(v)),
                Err(e) => Decoded::failed(bytes, format!("not JSON: {e}")),
            },
            Format::Auto => match (&side.local, framing::split(bytes)) {
                (Some(local), _) => decode_local(local, bytes),
                (None, Some((id, rest))) if self.registry.is_some() => {
                    self.decode_framed(id, rest, bytes, None)
                }
                _ => Decoded::plain(Payload::decode(Some(bytes))),
            },
            forced @ (Format::Avro | Format::Protobuf | Format::JsonSchema) => {
                match (framing::split(bytes), &side.local) {
                    (Some((id, rest)), _) => self.decode_framed(id, rest, bytes, Some(forced)),
                    (None, Some(local)) => decode_local(local, bytes),
                    (None, None) if forced == Format::JsonSchema => {
                        Decoded::failed(bytes, "not framed (no magic byte and schema id)".into())
                    }
                    (None, None) => Decoded::failed(
                        bytes,
                        "not framed (no magic byte and schema id), and the topic has no [topics.schema] for unframed payloads".into(),
                    ),
                }
            }
        }
    }

    fn decode_framed(&self, id: u32, rest: &[u8], all: &[u8], forced: Option<Format>) -> Decoded {
        let Some(registry) = &self.registry else {
            return Decoded::failed(
                all,
                format!("framed with schema id {id}, but no schema registry is configured (--schema-registry, REWIND_SCHEMA_REGISTRY or the profile's [schema_registry])"),
            );
        };
        let registered = match registry.by_id(id) {
            Ok(r) => r,
            Err(why) => return Decoded::failed(all, format!("schema id {id}: {why}")),
        };
        let expected = match forced {
            Some(Format::Avro) => Some("avro"),
            Some(Format::Protobuf) => Some("protobuf"),
            Some(Format::JsonSchema) => Some("json_schema"),
            _ => None,
        };
        if let Some(want) = expected.filter(|w| *w != registered.compiled.format()) {
            return Decoded::failed(
                all,
                format!(
                    "schema id {id} is {}, but the topic says {want}",
                    registered.compiled.format()
                ),
            );
        }
        let mut info = SchemaInfo {
            format: registered.compiled.format(),
            id: Some(id),
            subject: registered.subject.clone(),
            version: registered.version,
            message: None,
            indexes: None,
        };
        let decoded = match &registered.compiled {
            Compiled::Avro(schema) => schema.decode(rest),
            Compiled::JsonSchema => {
                serde_json::from_slice(rest).map_err(|e| format!("not JSON: {e}"))
            }
            Compiled::Protobuf(schema) => {
                framing::message_indexes(rest).and_then(|(indexes, body)| {
                    let message = schema.message_at(&indexes)?;
                    info.message = Some(message.full_name().to_owned());
                    info.indexes = Some(indexes);
                    protobuf::decode(&message, body)
                })
            }
        };
        let format = registered.compiled.format();
        Decoded::of(decoded, info, all, || format!("schema id {id} ({format})"))
    }
}

impl PayloadRules {
    /// The strings at these value paths, read without decoding the value whole (the
    /// index's fast path); `None`: decode it whole (`Event::decode`) instead.
    pub fn walk_value(
        &self,
        bytes: Option<&[u8]>,
        paths: &[&[super::extract::PathStep]],
    ) -> Option<Vec<Option<String>>> {
        let bytes = bytes?;
        let side = &self.value;
        let framed = framing::split(bytes).filter(|_| self.registry.is_some());
        let local = |local: &LocalSchema| match local {
            LocalSchema::Avro(schema) => walk::avro(schema, bytes, paths),
            LocalSchema::Protobuf { message, .. } => walk::protobuf(message, bytes, paths),
        };
        match (side.format, &side.local, framed) {
            (Format::Auto, Some(l), _) => local(l),
            (Format::Avro | Format::Protobuf, Some(l), None) => local(l),
            (Format::Auto | Format::Avro | Format::Protobuf, _, Some((id, rest))) => {
                let registered = self.registry.as_ref()?.by_id(id).ok()?;
                match (&registered.compiled, side.format) {
                    (Compiled::Avro(schema), Format::Auto | Format::Avro) => {
                        walk::avro(schema, rest, paths)
                    }
                    (Compiled::Protobuf(schema), Format::Auto | Format::Protobuf) => {
                        let (indexes, body) = framing::message_indexes(rest).ok()?;
                        walk::protobuf(&schema.message_at(&indexes).ok()?, body, paths)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether the key is read as plain text or JSON.
    pub fn plain_key(&self, bytes: Option<&[u8]>) -> bool {
        self.plain_side(&self.key, bytes)
    }
}

/// Which side of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Key,
    Value,
}

impl PayloadRules {
    /// Encodes `value` the way a payload described by `info` was written: with the same
    /// schema (the same id, framing and Protobuf message index) or the topic's local
    /// schema; `Err` with the encoder's reason when the value does not fit.
    pub fn encode(&self, part: Part, info: &SchemaInfo, value: &Value) -> Result<Vec<u8>, String> {
        let Some(id) = info.id else {
            let side = match part {
                Part::Key => &self.key,
                Part::Value => &self.value,
            };
            return match side.local.as_deref() {
                Some(LocalSchema::Avro(schema)) => schema.encode(value),
                Some(LocalSchema::Protobuf { message, .. }) => protobuf::encode(message, value),
                None => Err("the topic's local schema is no longer configured".into()),
            };
        };
        let registry = self
            .registry
            .as_ref()
            .ok_or("no schema registry is configured to encode with")?;
        let registered = registry.by_id(id)?;
        let fit = |why: String| {
            format!(
                "does not fit schema id {id} ({}): {why}",
                registered.compiled.format()
            )
        };
        match &registered.compiled {
            Compiled::Avro(schema) => Ok(framing::frame(
                id,
                None,
                &schema.encode(value).map_err(fit)?,
            )),
            Compiled::JsonSchema => Ok(framing::frame(id, None, value.to_string().as_bytes())),
            Compiled::Protobuf(schema) => {
                let indexes = info.indexes.clone().unwrap_or_else(|| vec![0]);
                let message = schema.message_at(&indexes)?;
                let body = protobuf::encode(&message, value).map_err(fit)?;
                Ok(framing::frame(id, Some(&indexes), &body))
            }
        }
    }
}

fn decode_local(local: &LocalSchema, bytes: &[u8]) -> Decoded {
    let (decoded, info) = match local {
        LocalSchema::Avro(schema) => (schema.decode(bytes), local_info("avro", None)),
        LocalSchema::Protobuf { message, .. } => (
            protobuf::decode(message, bytes),
            local_info("protobuf", Some(message.full_name().to_owned())),
        ),
    };
    Decoded::of(decoded, info, bytes, || {
        format!("the topic's local {} schema", local_kind(local))
    })
}

fn local_kind(local: &LocalSchema) -> &'static str {
    match local {
        LocalSchema::Avro(_) => "avro",
        LocalSchema::Protobuf { .. } => "protobuf",
    }
}

fn local_info(format: &'static str, message: Option<String>) -> SchemaInfo {
    SchemaInfo {
        format,
        id: None,
        subject: None,
        version: None,
        message,
        indexes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holds the schemas of the ids given; asks for no other (none is ever fetched).
    #[derive(Debug)]
    struct Holding(Vec<u32>);

    impl SchemaSource for Holding {
        fn by_id(&self, id: u32) -> Result<Arc<Registered>, String> {
            Err(format!("schema {id} is not held"))
        }

        fn holds(&self, id: u32) -> bool {
            self.0.contains(&id)
        }
    }

    #[test]
    fn only_a_framed_payload_whose_schema_is_not_held_asks_the_registry() {
        let framed = |id| framing::frame(id, None, b"body");
        let mut rules = PayloadRules::default();
        // No registry: nothing is asked.
        assert!(!rules.asks_registry(None, Some(&framed(7))));
        rules.registry = Some(Arc::new(Holding(vec![7])));
        assert!(!rules.asks_registry(None, Some(&framed(7))), "held");
        assert!(rules.asks_registry(None, Some(&framed(8))), "not held");
        assert!(
            rules.asks_registry(Some(&framed(9)), Some(b"{}")),
            "the key's"
        );
        assert!(!rules.asks_registry(Some(b"k"), Some(br#"{"plain":true}"#)));
        // Read as text or JSON, framed bytes are not the registry's.
        rules.value.format = Format::Json;
        assert!(!rules.asks_registry(None, Some(&framed(8))));
        rules.value.format = Format::Avro;
        assert!(rules.asks_registry(None, Some(&framed(8))));
    }
}
