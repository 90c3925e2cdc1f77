//! Where a topic's aggregate id and event type come from: the key, a path into the
//! value (`.orderId`, `.data.customer.id`, `.items[0]`) or a header (`header:NAME`).

use serde_json::Value;

use super::event::{Event, Payload};

/// One place to read a string from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extractor {
    /// The record key, as text.
    Key,
    /// A path into the decoded JSON value.
    Path(Vec<PathStep>),
    /// A header's value, as text.
    Header(String),
}

/// One step of a value path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Field(String),
    Index(usize),
}

/// Why an extractor spec was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{spec}` is not a path like `.orderId` or `.data.items[0]`, nor `header:NAME`, nor `key`: {reason}")]
pub struct ExtractorError {
    pub spec: String,
    pub reason: String,
}

impl Extractor {
    /// Parses `key`, `header:NAME` or a jq-style path (`.a.b`, `.a["b c"]`, `.a[0]`).
    pub fn parse(spec: &str) -> Result<Extractor, ExtractorError> {
        let fail = |reason: &str| ExtractorError {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let spec_trim = spec.trim();
        if spec_trim == "key" {
            return Ok(Extractor::Key);
        }
        if let Some(name) = spec_trim.strip_prefix("header:") {
            if name.is_empty() {
                return Err(fail("the header name is empty"));
            }
            return Ok(Extractor::Header(name.to_owned()));
        }
        let mut rest = spec_trim
            .strip_prefix('.')
            .ok_or_else(|| fail("a path starts with `.`"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('[') {
                let end = inner.find(']').ok_or_else(|| fail("`[` without `]`"))?;
                let body = &inner[..end];
                rest = &inner[end + 1..];
                if let Some(quoted) = body.strip_prefix('"').and_then(|b| b.strip_suffix('"')) {
                    steps.push(PathStep::Field(quoted.to_owned()));
                } else {
                    let index = body
                        .parse()
                        .map_err(|_| fail("an index is a whole number"))?;
                    steps.push(PathStep::Index(index));
                }
            } else {
                let rest_field = rest.strip_prefix('.').unwrap_or(rest);
                let end = rest_field.find(['.', '[']).unwrap_or(rest_field.len());
                let field = &rest_field[..end];
                if field.is_empty() {
                    return Err(fail("a field name is empty"));
                }
                if !field
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(fail(
                        "use .[\"name\"] for field names with other characters",
                    ));
                }
                steps.push(PathStep::Field(field.to_owned()));
                rest = &rest_field[end..];
            }
        }
        if steps.is_empty() {
            return Err(fail("the path names no field"));
        }
        Ok(Extractor::Path(steps))
    }

    /// The JSON value a path finds in an event's value (paths only).
    pub fn value<'a>(&self, event: &'a Event) -> Option<&'a Value> {
        let Extractor::Path(steps) = self else {
            return None;
        };
        let mut at = event.value.as_json()?;
        for step in steps {
            at = match step {
                PathStep::Field(f) => at.get(f)?,
                PathStep::Index(i) => at.get(*i)?,
            };
        }
        Some(at)
    }

    /// The string this extractor finds in an event, if any. Numbers and other JSON
    /// scalars are rendered as JSON; objects and arrays are not ids.
    pub fn extract(&self, event: &Event, raw_key: Option<&[u8]>) -> Option<String> {
        match self {
            Extractor::Key => raw_key.map(|k| Payload::decode_text(k).label()),
            Extractor::Header(name) => event.header(name).and_then(|v| match v {
                Payload::Null => None,
                other => Some(other.label()),
            }),
            Extractor::Path(_) => match self.value(event)? {
                Value::String(s) => Some(s.clone()),
                Value::Null | Value::Object(_) | Value::Array(_) => None,
                other => Some(other.to_string()),
            },
        }
    }
}

/// How one topic's records become events: where the aggregate id, type, event id and
/// schema version come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRules {
    pub aggregate: Extractor,
    /// Tried in order; the first that yields a value wins.
    pub event_type: Vec<Extractor>,
    pub event_id: Option<Extractor>,
    pub version: Option<Extractor>,
    /// In a reversing event: the id of the event it reverses.
    pub compensation_ref: Option<Extractor>,
    /// How keys and values are decoded (schemas, forced formats).
    pub payloads: super::schema::PayloadRules,
}

impl Default for TopicRules {
    fn default() -> Self {
        TopicRules {
            aggregate: Extractor::Key,
            event_type: vec![
                Extractor::Path(vec![PathStep::Field("type".into())]),
                Extractor::Header("type".into()),
            ],
            event_id: None,
            version: None,
            compensation_ref: None,
            payloads: Default::default(),
        }
    }
}

/// Shown when no aggregate id or type can be found.
pub const NONE: &str = "-";

impl TopicRules {
    /// The event's type, or `-`.
    pub fn event_type(&self, event: &Event, raw_key: Option<&[u8]>) -> String {
        self.event_type
            .iter()
            .find_map(|x| x.extract(event, raw_key))
            .unwrap_or_else(|| NONE.to_owned())
    }

    /// The event's aggregate id, or `-`.
    pub fn aggregate(&self, event: &Event, raw_key: Option<&[u8]>) -> String {
        self.aggregate
            .extract(event, raw_key)
            .unwrap_or_else(|| NONE.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawRecord;
    use serde_json::json;

    fn field(f: &str) -> PathStep {
        PathStep::Field(f.into())
    }

    #[test]
    fn parses_paths_headers_and_key() {
        assert_eq!(Extractor::parse("key"), Ok(Extractor::Key));
        assert_eq!(
            Extractor::parse("header:tenant"),
            Ok(Extractor::Header("tenant".into()))
        );
        assert_eq!(
            Extractor::parse(".data.items[2].sku"),
            Ok(Extractor::Path(vec![
                field("data"),
                field("items"),
                PathStep::Index(2),
                field("sku")
            ]))
        );
        assert_eq!(
            Extractor::parse(".[\"order id\"]"),
            Ok(Extractor::Path(vec![field("order id")]))
        );
        assert!(Extractor::parse("orderId").is_err());
        assert!(Extractor::parse(".").is_err());
        assert!(Extractor::parse(".a[x]").is_err());
        assert!(Extractor::parse("header:").is_err());
    }

    #[test]
    fn extracts_from_value_header_and_key() {
        let raw = RawRecord {
            topic: "t",
            key: Some(b"k-1"),
            headers: vec![("type", Some(b"FromHeader"))],
            value: Some(br#"{"orderId": 42, "data": {"ids": ["a", "b"]}}"#),
            ..Default::default()
        };
        let rules = TopicRules {
            aggregate: Extractor::parse(".orderId").unwrap(),
            ..TopicRules::default()
        };
        let event = Event::decode(&raw, &rules);
        assert_eq!(event.aggregate, "42");
        assert_eq!(event.event_type, "FromHeader");
        let second = Extractor::parse(".data.ids[1]").unwrap();
        assert_eq!(second.extract(&event, raw.key), Some("b".into()));
        assert_eq!(Extractor::Key.extract(&event, raw.key), Some("k-1".into()));
        assert_eq!(event.value.as_json().unwrap()["orderId"], json!(42));
    }
}
