//! Indexing records without decoding them whole: the aggregate id and type of a raw
//! record, found by walking its JSON only along the configured paths (everything else
//! is skipped, never built). Equal to what `Event::decode` derives, for any bytes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::event::{Payload, RawRecord};
use crate::extract::{Extractor, PathStep, TopicRules, NONE};

/// The aggregate id and type of a raw record, as `Event::decode` would derive them.
pub fn aggregate_and_type<'a>(
    raw: &RawRecord<'a>,
    rules: &TopicRules,
) -> (Cow<'a, str>, Cow<'a, str>) {
    if !rules.payloads.plain(raw.key, raw.value) {
        if let Some(found) = walked(raw, rules) {
            return found;
        }
        // Decoded once, and the ids read from the decoded value.
        let e = crate::event::Event::decode(raw, rules);
        return (Cow::Owned(e.aggregate), Cow::Owned(e.event_type));
    }
    let aggregate = extract(&rules.aggregate, raw).unwrap_or(Cow::Borrowed(NONE));
    let event_type = rules
        .event_type
        .iter()
        .find_map(|x| extract(x, raw))
        .unwrap_or(Cow::Borrowed(NONE));
    (aggregate, event_type)
}

/// A plain key as the index shows it (`Payload::decode(key).label()`), without trying
/// to parse text that cannot be JSON.
pub(super) fn key_label(key: Option<&[u8]>) -> Cow<'_, str> {
    let Some(bytes) = key else {
        return Cow::Borrowed("null");
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let json_like = first.is_some_and(|b| b"{[\"-0123456789tfn".contains(b));
    match (json_like, std::str::from_utf8(bytes)) {
        (false, Ok(text)) if first.is_some() => Cow::Borrowed(text),
        _ => Cow::Owned(Payload::decode(Some(bytes)).label()),
    }
}

/// A schema'd value's aggregate id and type read by walking its bytes along the paths
/// (`schema::walk`); `None` when it must be decoded whole.
fn walked<'a>(raw: &RawRecord<'a>, rules: &TopicRules) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    if !rules.payloads.plain_key(raw.key) {
        return None;
    }
    let all: Vec<&Extractor> = std::iter::once(&rules.aggregate)
        .chain(&rules.event_type)
        .collect();
    let paths: Vec<&[PathStep]> = all
        .iter()
        .filter_map(|x| match x {
            Extractor::Path(steps) => Some(steps.as_slice()),
            _ => None,
        })
        .collect();
    let mut found = rules.payloads.walk_value(raw.value, &paths)?.into_iter();
    let mut values: Vec<Option<Cow<'a, str>>> = all
        .iter()
        .map(|x| match x {
            Extractor::Path(_) => found.next().flatten().map(Cow::Owned),
            other => extract(other, raw),
        })
        .collect();
    let aggregate = values.remove(0).unwrap_or(Cow::Borrowed(NONE));
    let event_type = values
        .into_iter()
        .flatten()
        .next()
        .unwrap_or(Cow::Borrowed(NONE));
    Some((aggregate, event_type))
}

fn text<'a>(bytes: &'a [u8]) -> Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(Payload::Bytes(bytes.to_vec()).label()),
    }
}

pub(super) fn extract<'a>(x: &Extractor, raw: &RawRecord<'a>) -> Option<Cow<'a, str>> {
    match x {
        Extractor::Key => raw.key.map(text),
        Extractor::Header(name) => raw
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.map(text)),
        Extractor::Path(steps) => {
            let bytes = raw.value?;
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let found = AtPath(steps).deserialize(&mut de).ok()?;
            de.end().ok()?;
            match found? {
                Found::Str(s) => Some(s),
                Found::Other(Value::String(s)) => Some(Cow::Owned(s)),
                Found::Other(Value::Null | Value::Object(_) | Value::Array(_)) => None,
                Found::Other(other) => Some(Cow::Owned(other.to_string())),
            }
        }
    }
}

/// Finds the value at a path, skipping everything else.
struct AtPath<'p>(&'p [PathStep]);

/// What a path found: a string (borrowed from the input when it has no escapes) or
/// another value.
enum Found<'de> {
    Str(Cow<'de, str>),
    Other(Value),
}

impl<'de> Deserialize<'de> for Found<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Found<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Found<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Found<'de>, E> {
                Ok(Found::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Found<'de>, E> {
                Ok(Found::Str(Cow::Owned(s.to_owned())))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Found<'de>, E> {
                Ok(Found::Other(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Found<'de>, E> {
                Ok(Found::Other(Value::from(n)))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Found<'de>, E> {
                Ok(Found::Other(Value::from(n)))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Found<'de>, E> {
                Ok(Found::Other(Value::from(n)))
            }
            fn visit_unit<E>(self) -> Result<Found<'de>, E> {
                Ok(Found::Other(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Found<'de>, A::Error> {
                let v = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Found::Other(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Found<'de>, A::Error> {
                // Objects, and numbers beyond 64 bits (serde_json's arbitrary precision
                // hands those over as a one-entry map).
                let v = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Found::Other(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> DeserializeSeed<'de> for AtPath<'_> {
    type Value = Option<Found<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Found<'de>>, D::Error> {
        match self.0.split_first() {
            None => Found::deserialize(d).map(Some),
            Some((step, rest)) => d.deserialize_any(Step { step, rest }),
        }
    }
}

struct Step<'p> {
    step: &'p PathStep,
    rest: &'p [PathStep],
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

macro_rules! not_here {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E>(self, _: $t) -> Result<Option<Found<'de>>, E> { Ok(None) })*
    };
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<Found<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    not_here!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E>(self) -> Result<Option<Found<'de>>, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Found<'de>>, A::Error> {
        let mut found = None;
        while let Some(Key(key)) = map.next_key()? {
            match self.step {
                // The last of repeated keys wins, as in a parsed value.
                PathStep::Field(f) if *f == key => {
                    found = map.next_value_seed(AtPath(self.rest))?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Found<'de>>, A::Error> {
        let mut found = None;
        let mut i = 0;
        loop {
            let done = match self.step {
                PathStep::Index(n) if *n == i => match seq.next_element_seed(AtPath(self.rest))? {
                    Some(v) => {
                        found = v;
                        false
                    }
                    None => true,
                },
                _ => seq.next_element::<IgnoredAny>()?.is_none(),
            };
            if done {
                return Ok(found);
            }
            i += 1;
        }
    }
}
