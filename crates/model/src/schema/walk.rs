//! The index's fast path for schema'd values: the strings at a few value paths, read by
//! walking the Avro or Protobuf bytes along the schema and skipping everything else,
//! as the JSON index walks raw JSON. Nothing is built but the strings found. `None`
//! means "decode it whole instead": bytes that do not fit, or a path through something
//! the walk does not follow (arrays, maps, decimals, floats, well-known types).
//! What it finds equals what a full decode then `Extractor::extract` finds.

use apache_avro::schema::Schema;
use base64::Engine;
use prost_reflect::{Kind, MessageDescriptor};

use super::avro::AvroSchema;
use crate::extract::PathStep;

/// A path being followed: which output slot it fills, and the steps left.
type Wanted<'p> = (usize, &'p [PathStep]);

/// The strings at `paths` in an Avro datum of `schema` (all of `bytes`).
pub fn avro(
    schema: &AvroSchema,
    bytes: &[u8],
    paths: &[&[PathStep]],
) -> Option<Vec<Option<String>>> {
    let mut out = vec![None; paths.len()];
    let wanted: Vec<Wanted<'_>> = paths.iter().copied().enumerate().collect();
    let mut input = bytes;
    avro_walk(schema, schema.root(), &mut input, &wanted, &mut out)?;
    input.is_empty().then_some(out)
}

fn varint(input: &mut &[u8]) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        raw |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    None
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Some(head)
}

fn avro_walk(
    all: &AvroSchema,
    schema: &Schema,
    input: &mut &[u8],
    wanted: &[Wanted<'_>],
    out: &mut [Option<String>],
) -> Option<()> {
    let schema = all.resolve(schema);
    // Paths that end here take this value; paths that go on need a record.
    let ends: Vec<usize> = wanted
        .iter()
        .filter(|(_, p)| p.is_empty())
        .map(|(i, _)| *i)
        .collect();
    let goes_on = wanted.iter().any(|(_, p)| !p.is_empty());
    let set = |out: &mut [Option<String>], text: Option<String>| {
        for &i in &ends {
            out[i] = text.clone();
        }
    };
    match schema {
        Schema::Null => set(out, None),
        Schema::Boolean => match take(input, 1)?[0] {
            b @ (0 | 1) => set(out, Some((b == 1).to_string())),
            _ => return None,
        },
        Schema::Int | Schema::Date | Schema::TimeMillis => {
            let n = i32::try_from(varint(input)?).ok()?;
            set(out, Some(n.to_string()))
        }
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => {
            let n = varint(input)?;
            set(out, Some(n.to_string()))
        }
        Schema::String | Schema::Uuid(_) => {
            let len = usize::try_from(varint(input)?).ok()?;
            let s = std::str::from_utf8(take(input, len)?).ok()?;
            if !ends.is_empty() {
                set(out, Some(s.to_owned()))
            }
        }
        Schema::Bytes => {
            let len = usize::try_from(varint(input)?).ok()?;
            let b = take(input, len)?;
            if !ends.is_empty() {
                set(
                    out,
                    Some(base64::engine::general_purpose::STANDARD.encode(b)),
                )
            }
        }
        Schema::Fixed(f) => {
            let b = take(input, f.size)?;
            if !ends.is_empty() {
                set(
                    out,
                    Some(base64::engine::general_purpose::STANDARD.encode(b)),
                )
            }
        }
        Schema::Enum(e) => {
            let i = usize::try_from(varint(input)?).ok()?;
            set(out, Some(e.symbols.get(i)?.clone()))
        }
        Schema::Union(u) => {
            let i = usize::try_from(varint(input)?).ok()?;
            return avro_walk(all, u.variants().get(i)?, input, wanted, out);
        }
        Schema::Record(r) => {
            set(out, None);
            for field in &r.fields {
                let inner: Vec<Wanted<'_>> = wanted
                    .iter()
                    .filter_map(|(i, p)| match p.split_first() {
                        Some((PathStep::Field(name), rest)) if *name == field.name => {
                            Some((*i, rest))
                        }
                        _ => None,
                    })
                    .collect();
                avro_walk(all, &field.schema, input, &inner, out)?;
            }
        }
        Schema::Array(a) if !goes_on => {
            set(out, None);
            blocks(input, |input| avro_walk(all, &a.items, input, &[], out))?;
        }
        Schema::Map(m) if !goes_on => {
            set(out, None);
            blocks(input, |input| {
                let len = usize::try_from(varint(input)?).ok()?;
                std::str::from_utf8(take(input, len)?).ok()?;
                avro_walk(all, &m.types, input, &[], out)
            })?;
        }
        // Skipped when no path ends or goes through them; else decoded whole.
        Schema::Float if wanted.is_empty() => {
            take(input, 4)?;
        }
        Schema::Double if wanted.is_empty() => {
            take(input, 8)?;
        }
        Schema::Decimal(d) if wanted.is_empty() => match &d.inner {
            apache_avro::schema::InnerDecimalSchema::Fixed(f) => {
                take(input, f.size)?;
            }
            _ => {
                let len = usize::try_from(varint(input)?).ok()?;
                take(input, len)?;
            }
        },
        Schema::BigDecimal if wanted.is_empty() => {
            let len = usize::try_from(varint(input)?).ok()?;
            take(input, len)?;
        }
        Schema::Duration(_) if wanted.is_empty() => {
            take(input, 12)?;
        }
        _ => return None,
    }
    Some(())
}

/// Avro's array and map blocks: a count (negative: then the block's byte size), items.
fn blocks(input: &mut &[u8], mut item: impl FnMut(&mut &[u8]) -> Option<()>) -> Option<()> {
    loop {
        let count = varint(input)?;
        if count == 0 {
            return Some(());
        }
        if count < 0 {
            varint(input)?;
        }
        for _ in 0..count.unsigned_abs() {
            item(input)?;
        }
    }
}

/// The strings at `paths` in a Protobuf message (all of `bytes`), with proto3's JSON
/// as rewind prints it: `.proto` names, defaults for absent fields, enum names.
pub fn protobuf(
    message: &MessageDescriptor,
    bytes: &[u8],
    paths: &[&[PathStep]],
) -> Option<Vec<Option<String>>> {
    let mut out = vec![None; paths.len()];
    let wanted: Vec<Wanted<'_>> = paths.iter().copied().enumerate().collect();
    proto_walk(message, bytes, &wanted, &mut out)?;
    Some(out)
}

/// The last occurrence of one field in a message's wire bytes.
enum Found<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Len(&'a [u8]),
}

fn uvarint(input: &mut &[u8]) -> Option<u64> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        raw |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(raw);
        }
    }
    None
}

fn proto_walk(
    message: &MessageDescriptor,
    bytes: &[u8],
    wanted: &[Wanted<'_>],
    out: &mut [Option<String>],
) -> Option<()> {
    // The fields the paths name, by number.
    let mut fields = Vec::new();
    for (slot, path) in wanted {
        let Some((PathStep::Field(name), rest)) = path.split_first() else {
            return None;
        };
        match message.get_field_by_name(name) {
            Some(f) if !f.is_list() && !f.is_map() => fields.push((*slot, rest, f)),
            Some(_) => return None,
            None => {} // not a field: absent from the JSON too
        }
    }
    let mut found: Vec<Option<Found<'_>>> = (0..fields.len()).map(|_| None).collect();
    let mut input = bytes;
    while !input.is_empty() {
        let tag = uvarint(&mut input)?;
        let number = u32::try_from(tag >> 3).ok()?;
        let value = match tag & 7 {
            0 => Found::Varint(uvarint(&mut input)?),
            1 => Found::Fixed64(u64::from_le_bytes(take(&mut input, 8)?.try_into().ok()?)),
            2 => {
                let len = usize::try_from(uvarint(&mut input)?).ok()?;
                Found::Len(take(&mut input, len)?)
            }
            5 => Found::Fixed32(u32::from_le_bytes(take(&mut input, 4)?.try_into().ok()?)),
            _ => return None,
        };
        for (k, (_, _, f)) in fields.iter().enumerate() {
            if f.number() == number {
                // A message field given twice is merged by a decoder: decode it whole.
                if matches!((&found[k], f.kind()), (Some(_), Kind::Message(_))) {
                    return None;
                }
                found[k] = Some(match &value {
                    Found::Varint(v) => Found::Varint(*v),
                    Found::Fixed32(v) => Found::Fixed32(*v),
                    Found::Fixed64(v) => Found::Fixed64(*v),
                    Found::Len(b) => Found::Len(b),
                });
            }
        }
    }
    for ((slot, rest, field), value) in fields.iter().zip(found) {
        if value.is_none() && field.supports_presence() {
            // Unset fields with presence (messages, `optional`, oneof) are left out.
            if matches!(field.kind(), Kind::Message(m) if m.full_name().starts_with("google.protobuf."))
            {
                return None;
            }
            out[*slot] = None;
            continue;
        }
        let text = match (field.kind(), value) {
            (Kind::Message(m), Some(Found::Len(b))) if !rest.is_empty() => {
                if m.full_name().starts_with("google.protobuf.") {
                    return None;
                }
                proto_walk(&m, b, &[(*slot, rest)], out)?;
                continue;
            }
            (Kind::Message(m), _) if m.full_name().starts_with("google.protobuf.") => return None,
            // An object, or absent (unset message fields are left out): no id either way.
            (Kind::Message(_), _) => None,
            _ if !rest.is_empty() => None,
            (Kind::String, Some(Found::Len(b))) => Some(std::str::from_utf8(b).ok()?.to_owned()),
            (Kind::String, None) => Some(String::new()),
            (Kind::Bytes, Some(Found::Len(b))) => {
                Some(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (Kind::Bytes, None) => Some(String::new()),
            (Kind::Bool, Some(Found::Varint(v))) => Some((v != 0).to_string()),
            (Kind::Bool, None) => Some("false".into()),
            (Kind::Enum(e), Some(Found::Varint(v))) => {
                let n = v as i64 as i32;
                Some(
                    e.get_value(n)
                        .map_or_else(|| n.to_string(), |x| x.name().to_owned()),
                )
            }
            (Kind::Enum(e), None) => Some(e.default_value().name().to_owned()),
            (Kind::Int32, Some(Found::Varint(v))) => Some((v as i64 as i32).to_string()),
            (Kind::Int64, Some(Found::Varint(v))) => Some((v as i64).to_string()),
            (Kind::Uint32, Some(Found::Varint(v))) => Some((v as u32).to_string()),
            (Kind::Uint64, Some(Found::Varint(v))) => Some(v.to_string()),
            (Kind::Sint32, Some(Found::Varint(v))) => {
                Some(((((v as u32) >> 1) as i32) ^ -((v & 1) as i32)).to_string())
            }
            (Kind::Sint64, Some(Found::Varint(v))) => {
                Some((((v >> 1) as i64) ^ -((v & 1) as i64)).to_string())
            }
            (Kind::Fixed32, Some(Found::Fixed32(v))) => Some(v.to_string()),
            (Kind::Sfixed32, Some(Found::Fixed32(v))) => Some((v as i32).to_string()),
            (Kind::Fixed64, Some(Found::Fixed64(v))) => Some(v.to_string()),
            (Kind::Sfixed64, Some(Found::Fixed64(v))) => Some((v as i64).to_string()),
            (
                Kind::Int32
                | Kind::Int64
                | Kind::Uint32
                | Kind::Uint64
                | Kind::Sint32
                | Kind::Sint64
                | Kind::Fixed32
                | Kind::Sfixed32
                | Kind::Fixed64
                | Kind::Sfixed64,
                None,
            ) => Some("0".into()),
            // Floats (NaN, exponents) and wire types that do not match: decode whole.
            _ => return None,
        };
        out[*slot] = text;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::super::protobuf::{self as pb, ProtoSchema};
    use super::*;
    use crate::extract::Extractor;
    use serde_json::{json, Value};

    fn paths(specs: &[&str]) -> Vec<Vec<PathStep>> {
        specs
            .iter()
            .map(|s| match Extractor::parse(s).unwrap() {
                Extractor::Path(p) => p,
                _ => unreachable!(),
            })
            .collect()
    }

    /// What a full decode then `Extractor::extract` finds.
    fn extracted(value: &Value, specs: &[&str]) -> Vec<Option<String>> {
        specs
            .iter()
            .map(|s| {
                let mut at = Some(value);
                for step in &paths(&[s])[0] {
                    at = at.and_then(|v| match step {
                        PathStep::Field(f) => v.get(f),
                        PathStep::Index(i) => v.get(*i),
                    });
                }
                match at? {
                    Value::String(s) => Some(s.clone()),
                    Value::Null | Value::Object(_) | Value::Array(_) => None,
                    other => Some(other.to_string()),
                }
            })
            .collect()
    }

    const SPECS: &[&str] = &[
        ".id",
        ".status",
        ".big",
        ".note",
        ".card.brand",
        ".card",
        ".nope",
        ".tags",
        ".ok",
        ".n",
    ];

    #[test]
    fn avro_walks_find_what_a_full_decode_finds() {
        let schema = AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"id","type":"string"},
            {"name":"xs","type":{"type":"array","items":"double"}},
            {"name":"status","type":{"type":"enum","name":"S","symbols":["NEW","PAID"]}},
            {"name":"big","type":"long"},{"name":"note","type":["null","string"]},
            {"name":"card","type":["null",{"type":"record","name":"C","fields":[{"name":"brand","type":"string"},{"name":"f","type":"float"}]}]},
            {"name":"tags","type":{"type":"map","values":"int"}},{"name":"ok","type":"boolean"},{"name":"n","type":"int"}]}"#,
            &[],
        )
        .unwrap();
        for value in [
            json!({"id": "a", "xs": [1.5, 2.0], "status": "PAID", "big": 9007199254740993_i64, "note": null,
                   "card": {"brand": "visa", "f": 1.5}, "tags": {"x": 1}, "ok": true, "n": -3}),
            json!({"id": "", "xs": [], "status": "NEW", "big": -1, "note": "hi", "card": null, "tags": {}, "ok": false, "n": 0}),
        ] {
            let bytes = schema.encode(&value).unwrap();
            let decoded = schema.decode(&bytes).unwrap();
            let ps = paths(SPECS);
            let refs: Vec<&[PathStep]> = ps.iter().map(Vec::as_slice).collect();
            assert_eq!(
                avro(&schema, &bytes, &refs),
                Some(extracted(&decoded, SPECS)),
                "{value}"
            );
            assert_eq!(
                avro(&schema, &bytes[..bytes.len() - 1], &refs),
                None,
                "truncated"
            );
        }
    }

    #[test]
    fn protobuf_walks_find_what_a_full_decode_finds() {
        let schema = ProtoSchema::compile(
            "w.proto",
            r#"syntax = "proto3"; import "google/protobuf/timestamp.proto";
            message Card { string brand = 1; }
            message M { enum S { NEW = 0; PAID = 1; } string id = 1; S status = 2; int64 big = 3;
              optional string note = 4; Card card = 5; map<string, int32> tags = 6; bool ok = 7; sint32 n = 8;
              repeated double xs = 9; google.protobuf.Timestamp at = 10; }"#,
            &[],
        )
        .unwrap();
        let m = schema.message_named("M").unwrap();
        for value in [
            json!({"id": "a", "status": "PAID", "big": 9007199254740993_i64, "note": "n", "card": {"brand": "visa"},
                   "tags": {"x": 1}, "ok": true, "n": -3}),
            json!({}),
        ] {
            let bytes = pb::encode(&m, &value).unwrap();
            let decoded = pb::decode(&m, &bytes).unwrap();
            let specs: Vec<&str> = SPECS.iter().copied().filter(|s| *s != ".tags").collect();
            let ps = paths(&specs);
            let refs: Vec<&[PathStep]> = ps.iter().map(Vec::as_slice).collect();
            assert_eq!(
                protobuf(&m, &bytes, &refs),
                Some(extracted(&decoded, &specs)),
                "{value}"
            );
        }
        // Through what it does not follow: decoded whole instead.
        let ps = paths(&[".tags", ".at"]);
        for p in &ps {
            assert_eq!(protobuf(&m, &[], &[p.as_slice()]), None);
        }
    }
}
