//! Compensating events: history is never edited; a later event cancels an earlier one.
//! A topic's `compensation_templates` (jq, by event type) draft that event from the one
//! it compensates. Pure: producing the draft is the Kafka side's job.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::reducer::{compile_program, from_val, to_val, CompileError, Program};
use super::schema::{Part, PayloadRules};
use super::{Coord, Event, Payload};

/// The header linking a compensating event to the one it compensates.
pub const HEADER: &str = "rewind-compensates";

/// A topic's compiled compensation templates.
#[derive(Default)]
pub struct Templates {
    by_type: BTreeMap<String, Program>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_type.keys()).finish()
    }
}

/// The compensating event drafted for one event, not yet produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub topic: String,
    /// The compensated event's partition: its aggregate's events stay in order there.
    pub partition: i32,
    /// The compensated event's key (same aggregate, same partition for keyed producers).
    pub key: Payload,
    pub value: Value,
    /// The value as produced: compact JSON, or encoded with the compensated event's
    /// schema (same id, framing and message index).
    pub value_bytes: Vec<u8>,
    /// The key as produced: the compensated event's key (re-encoded with its schema).
    pub key_bytes: Option<Vec<u8>>,
    /// The schema the value is encoded with, if any.
    pub schema: Option<super::schema::SchemaInfo>,
    pub headers: Vec<(String, String)>,
    pub compensates: Coord,
    /// The compensated event's type.
    pub compensates_type: String,
}

impl Draft {
    /// The JSON printed by `rewind compensate`.
    pub fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut out = json!({
            "topic": self.topic,
            "partition": self.partition,
            "key": self.key.to_json(),
            "headers": headers,
            "value": self.value,
            "compensates": {
                "partition": self.compensates.partition,
                "offset": self.compensates.offset,
                "type": self.compensates_type,
            },
        });
        if let Some(s) = &self.schema {
            out["schema"] = s.to_json();
        }
        out
    }
}

impl Templates {
    /// Compiles `[topics.compensation_templates]`; an error names the event type.
    pub fn compile(programs: &BTreeMap<String, String>) -> Result<Templates, CompileError> {
        let by_type = programs
            .iter()
            .map(|(t, code)| {
                Ok((
                    t.clone(),
                    compile_program("compensation template", t, code)?,
                ))
            })
            .collect::<Result<_, CompileError>>()?;
        Ok(Templates { by_type })
    }

    /// Whether an event of this type can be compensated.
    pub fn covers(&self, event_type: &str) -> bool {
        self.by_type.contains_key(event_type)
    }

    /// Drafts the compensating event: the template runs with the event's value as `.`
    /// and `$event`, and its `$meta`; the result is encoded as the event was (`payloads`
    /// knows its schemas). A draft that does not fit the schema is refused.
    pub fn draft(&self, event: &Event, payloads: &PayloadRules) -> Result<Draft, String> {
        let Some(program) = self.by_type.get(&event.event_type) else {
            let known: Vec<&str> = self.by_type.keys().map(String::as_str).collect();
            return Err(format!(
                "no compensation template for `{}` events in {} (templates: {}); add one under [topics.compensation_templates]",
                event.event_type,
                event.topic,
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ));
        };
        let value = to_val(&event.value.to_json());
        let meta = to_val(&event.meta(0));
        let drafted = program
            .run("compensation template", &value, &value, &meta)
            .map_err(|e| format!("{e} (for `{}` at {})", event.event_type, event.coord()))?;
        let value = from_val(&drafted);
        let value_bytes = match event.schema.as_deref() {
            Some(info) => payloads
                .encode(Part::Value, info, &value)
                .map_err(|e| format!("the drafted event {e}; nothing was produced"))?,
            None => serde_json::to_vec(&value).expect("JSON values serialize"),
        };
        let key_bytes = match (event.key_schema.as_deref(), &event.key) {
            (Some(info), key) => Some(
                payloads
                    .encode(Part::Key, info, &key.to_json())
                    .map_err(|e| format!("the key {e}; nothing was produced"))?,
            ),
            (None, Payload::Null) => None,
            (None, Payload::Text(t)) => Some(t.as_bytes().to_vec()),
            (None, Payload::Bytes(b)) => Some(b.clone()),
            (None, Payload::Json(v)) => Some(v.to_string().into_bytes()),
        };
        Ok(Draft {
            topic: event.topic.clone(),
            partition: event.partition,
            key: event.key.clone(),
            value,
            value_bytes,
            key_bytes,
            schema: event.schema.as_deref().cloned(),
            headers: vec![(
                HEADER.to_owned(),
                format!("{}/{}/{}", event.topic, event.partition, event.offset),
            )],
            compensates: event.coord(),
            compensates_type: event.event_type.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawRecord;
    use crate::TopicRules;

    fn shipped() -> Event {
        let value = json!({"type": "OrderShipped", "eventId": "e-7", "orderId": "order-7", "data": {"carrier": "DHL"}}).to_string();
        Event::decode(
            &RawRecord {
                topic: "orders",
                partition: 2,
                offset: 41,
                timestamp: Some(1000),
                key: Some(b"order-7"),
                value: Some(value.as_bytes()),
                ..Default::default()
            },
            &TopicRules::default(),
        )
    }

    fn templates(pairs: &[(&str, &str)]) -> Result<Templates, CompileError> {
        Templates::compile(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_template_drafts_the_compensating_event_with_its_key_partition_and_link() {
        let t = templates(&[(
            "OrderShipped",
            r#"{type: "OrderShipmentReversed", eventId: ("rev-" + $event.eventId), orderId: .orderId, data: {reverses: $event.eventId, offset: $meta.offset}}"#,
        )])
        .unwrap();
        let draft = t.draft(&shipped(), &Default::default()).unwrap();
        assert_eq!(
            draft.value,
            json!({"type": "OrderShipmentReversed", "eventId": "rev-e-7", "orderId": "order-7", "data": {"reverses": "e-7", "offset": 41}})
        );
        assert_eq!(
            (draft.partition, draft.key.label()),
            (2, "order-7".to_owned())
        );
        assert_eq!(
            draft.headers,
            [(HEADER.to_owned(), "orders/2/41".to_owned())]
        );
        assert_eq!(draft.to_json()["compensates"]["type"], "OrderShipped");
    }

    #[test]
    fn missing_templates_failing_templates_and_bad_programs_say_what_is_wrong() {
        let t = templates(&[("OrderPaid", "error(\"no\")")]).unwrap();
        let err = t.draft(&shipped(), &Default::default()).unwrap_err();
        assert!(
            err.contains("no compensation template for `OrderShipped`")
                && err.contains("OrderPaid"),
            "{err}"
        );
        let t = templates(&[("OrderShipped", "error(\"boom\")")]).unwrap();
        assert!(t
            .draft(&shipped(), &Default::default())
            .unwrap_err()
            .contains("the compensation template failed"));
        let t = templates(&[("OrderShipped", "empty")]).unwrap();
        assert!(t
            .draft(&shipped(), &Default::default())
            .unwrap_err()
            .contains("no output"));
        let err = templates(&[("OrderShipped", "{type: ")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("compensation template for `OrderShipped` does not compile"),
            "{err}"
        );
    }
}
