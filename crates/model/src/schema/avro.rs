//! Avro payloads (apache-avro): decoded with the writer's schema into the JSON SPEC.md
//! describes — records → objects, unions → their branch's plain value, enums → strings,
//! maps → objects, bytes/fixed → base64, decimals → strings with their exact digits,
//! logical dates and times → their integers — and encoded back from such JSON.

use std::collections::HashMap;

use apache_avro::schema::{Name, Schema};
use apache_avro::types::Value as Avro;
use base64::Engine;
use serde_json::{Number, Value};

/// A parsed Avro schema with the named types of the schemas it references.
#[derive(Debug)]
pub struct AvroSchema {
    schema: Schema,
    /// The referenced schemas (registry references), in the order they were given.
    references: Vec<Schema>,
    /// Every named type, for `Schema::Ref`.
    names: HashMap<Name, Schema>,
}

impl AvroSchema {
    /// Parses `text` after the schemas it references (each one's text).
    pub fn parse(text: &str, references: &[String]) -> Result<AvroSchema, String> {
        let (schema, references) = match references.is_empty() {
            true => (Schema::parse_str(text).map_err(|e| e.to_string())?, vec![]),
            false => {
                let refs: Vec<&str> = references.iter().map(String::as_str).collect();
                let (schema, references) =
                    Schema::parse_str_with_list(text, refs).map_err(|e| e.to_string())?;
                (schema, references)
            }
        };
        let mut all: Vec<&Schema> = references.iter().collect();
        all.push(&schema);
        let names = apache_avro::schema::ResolvedSchema::try_from(all)
            .map_err(|e| e.to_string())?
            .get_names()
            .iter()
            .map(|(name, schema)| (name.clone(), (*schema).clone()))
            .collect();
        Ok(AvroSchema {
            schema,
            references,
            names,
        })
    }

    /// Decodes one datum (all of `bytes`) to JSON.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        let mut reader = bytes;
        let datum = apache_avro::reader::datum::GenericDatumReader::builder(&self.schema)
            .writer_schemata(self.all())
            .map_err(|e| e.to_string())?
            .build()
            .map_err(|e| e.to_string())?
            .read_value(&mut reader)
            .map_err(|e| e.to_string())?;
        if !reader.is_empty() {
            return Err(format!(
                "{} byte(s) left after the datum: not written with this schema",
                reader.len()
            ));
        }
        Ok(self.to_json(&datum, &self.schema))
    }

    /// Encodes JSON (as `decode` produces it) as one datum of this schema.
    pub fn encode(&self, value: &Value) -> Result<Vec<u8>, String> {
        let datum = self.datum(value, &self.schema)?;
        let datum = datum
            .resolve_schemata(&self.schema, self.references.iter().collect())
            .map_err(|e| e.to_string())?;
        apache_avro::writer::datum::GenericDatumWriter::builder(&self.schema)
            .schemata(self.all())
            .map_err(|e| e.to_string())?
            .build()
            .map_err(|e| e.to_string())?
            .write_value_to_vec(datum)
            .map_err(|e| e.to_string())
    }

    /// The references and the schema itself, for resolving names.
    fn all(&self) -> Vec<&Schema> {
        self.references.iter().chain([&self.schema]).collect()
    }

    /// The schema itself.
    pub(crate) fn root(&self) -> &Schema {
        &self.schema
    }

    /// A schema with a named reference resolved.
    pub(crate) fn resolve<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        self.named(schema)
    }

    fn named<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self.names.get(name).unwrap_or(schema),
            other => other,
        }
    }

    fn to_json(&self, value: &Avro, schema: &Schema) -> Value {
        let schema = self.named(schema);
        let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
        match (value, schema) {
            (Avro::Null, _) => Value::Null,
            (Avro::Boolean(b), _) => Value::Bool(*b),
            (Avro::Int(n) | Avro::Date(n) | Avro::TimeMillis(n), _) => Value::from(*n),
            (
                Avro::Long(n)
                | Avro::TimeMicros(n)
                | Avro::TimestampMillis(n)
                | Avro::TimestampMicros(n)
                | Avro::TimestampNanos(n)
                | Avro::LocalTimestampMillis(n)
                | Avro::LocalTimestampMicros(n)
                | Avro::LocalTimestampNanos(n),
                _,
            ) => Value::from(*n),
            (Avro::Float(f), _) => float(*f as f64),
            (Avro::Double(f), _) => float(*f),
            (Avro::Bytes(b) | Avro::Fixed(_, b), _) => b64(b),
            (Avro::String(s), _) => Value::String(s.clone()),
            (Avro::Uuid(u), _) => Value::String(u.to_string()),
            (Avro::Enum(_, symbol), _) => Value::String(symbol.clone()),
            (Avro::Union(i, inner), Schema::Union(u)) => match u.variants().get(*i as usize) {
                Some(branch) => self.to_json(inner, branch),
                None => self.to_json(inner, &Schema::Null),
            },
            (Avro::Union(_, inner), _) => self.to_json(inner, &Schema::Null),
            (Avro::Array(items), Schema::Array(a)) => {
                Value::Array(items.iter().map(|v| self.to_json(v, &a.items)).collect())
            }
            (Avro::Map(entries), Schema::Map(m)) => {
                // HashMap order is arbitrary: sorted keys keep output stable.
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), self.to_json(&entries[k], &m.types)))
                        .collect(),
                )
            }
            (Avro::Record(fields), Schema::Record(r)) => Value::Object(
                fields
                    .iter()
                    .map(|(name, v)| {
                        let field = r.fields.iter().find(|f| &f.name == name);
                        let json = match field {
                            Some(f) => self.to_json(v, &f.schema),
                            None => self.to_json(v, &Schema::Null),
                        };
                        (name.clone(), json)
                    })
                    .collect(),
            ),
            (Avro::Decimal(d), Schema::Decimal(s)) => {
                Value::String(scaled(&num_digits(d), s.scale))
            }
            (Avro::Decimal(d), _) => Value::String(num_digits(d)),
            (Avro::BigDecimal(d), _) => Value::String(d.to_string()),
            (Avro::Duration(d), _) => {
                let (months, days, millis): (u32, u32, u32) =
                    (d.months().into(), d.days().into(), d.millis().into());
                serde_json::json!({"months": months, "days": days, "millis": millis})
            }
            // A value whose shape the schema does not explain: converted without it.
            (Avro::Array(items), _) => Value::Array(
                items
                    .iter()
                    .map(|v| self.to_json(v, &Schema::Null))
                    .collect(),
            ),
            (Avro::Map(entries), _) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), self.to_json(v, &Schema::Null)))
                    .collect(),
            ),
            (Avro::Record(fields), _) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.to_json(v, &Schema::Null)))
                    .collect(),
            ),
        }
    }

    /// JSON → an Avro value shaped by the schema (unions by the first branch that takes
    /// the value, decimals from their digit strings).
    fn datum(&self, value: &Value, schema: &Schema) -> Result<Avro, String> {
        let schema = self.named(schema);
        let mismatch = || {
            format!(
                "{value} does not fit the schema's {:?}",
                SchemaKindName(schema)
            )
        };
        Ok(match (schema, value) {
            (Schema::Null, Value::Null) => Avro::Null,
            (Schema::Boolean, Value::Bool(b)) => Avro::Boolean(*b),
            (Schema::Int, Value::Number(n)) => Avro::Int(
                n.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(mismatch)?,
            ),
            (Schema::Date, Value::Number(n)) => Avro::Date(
                n.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(mismatch)?,
            ),
            (Schema::TimeMillis, Value::Number(n)) => Avro::TimeMillis(
                n.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(mismatch)?,
            ),
            (Schema::Long, Value::Number(n)) => Avro::Long(n.as_i64().ok_or_else(mismatch)?),
            (Schema::TimeMicros, Value::Number(n)) => {
                Avro::TimeMicros(n.as_i64().ok_or_else(mismatch)?)
            }
            (Schema::TimestampMillis, Value::Number(n)) => {
                Avro::TimestampMillis(n.as_i64().ok_or_else(mismatch)?)
            }
            (Schema::TimestampMicros, Value::Number(n)) => {
                Avro::TimestampMicros(n.as_i64().ok_or_else(mismatch)?)
            }
            (Schema::TimestampNanos, Value::Number(n)) => {
                Avro::TimestampNanos(n.as_i64().ok_or_else(mismatch)?)
            }
            (Schema::LocalTimestampMillis, Value::Number(n)) => {
                Avro::LocalTimestampMillis(n.as_i64().ok_or_else(mismatch)?)
            }
            (Schema::LocalTimestampMicros, Value::Number(n)) => {
                Avro::LocalTimestampMicros(n.as_i64().ok_or_else(mismatch)?)
            }
            (Schema::LocalTimestampNanos, Value::Number(n)) => {
                Avro::LocalTimestampNanos(n.as_i64().ok_or_else(mismatch)?)
            }
            (Schema::Float, Value::Number(n)) => {
                Avro::Float(n.as_f64().ok_or_else(mismatch)? as f32)
            }
            (Schema::Double, Value::Number(n)) => Avro::Double(n.as_f64().ok_or_else(mismatch)?),
            (Schema::String, Value::String(s)) => Avro::String(s.clone()),
            (Schema::Uuid(_), Value::String(s)) => {
                Avro::Uuid(s.parse().map_err(|e| format!("{s}: {e}"))?)
            }
            (Schema::Bytes, Value::String(s)) => Avro::Bytes(unbase64(s)?),
            (Schema::Fixed(f), Value::String(s)) => Avro::Fixed(f.size, unbase64(s)?),
            (Schema::Enum(e), Value::String(s)) => {
                let i = e.symbols.iter().position(|x| x == s).ok_or_else(mismatch)?;
                Avro::Enum(i as u32, s.clone())
            }
            (Schema::Decimal(d), Value::String(s)) => {
                let digits = unscaled(s, d.scale).ok_or_else(mismatch)?;
                Avro::Decimal(apache_avro::Decimal::from(sign_extended(
                    digits.to_signed_bytes_be(),
                    d.precision,
                )))
            }
            (Schema::BigDecimal, Value::String(s)) => {
                Avro::BigDecimal(s.parse().map_err(|e| format!("{s}: {e}"))?)
            }
            (Schema::Array(a), Value::Array(items)) => Avro::Array(
                items
                    .iter()
                    .map(|v| self.datum(v, &a.items))
                    .collect::<Result<_, _>>()?,
            ),
            (Schema::Map(m), Value::Object(o)) => Avro::Map(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), self.datum(v, &m.types)?)))
                    .collect::<Result<_, String>>()?,
            ),
            (Schema::Record(r), Value::Object(o)) => Avro::Record(
                r.fields
                    .iter()
                    .map(|f| {
                        let v = o.get(&f.name).unwrap_or(&Value::Null);
                        let v = match (v, &f.default) {
                            (Value::Null, Some(default)) if !o.contains_key(&f.name) => default,
                            _ => v,
                        };
                        Ok((
                            f.name.clone(),
                            self.datum(v, &f.schema)
                                .map_err(|e| format!("field `{}`: {e}", f.name))?,
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            (Schema::Union(u), v) => {
                let (i, datum) = u
                    .variants()
                    .iter()
                    .enumerate()
                    .find_map(|(i, branch)| Some((i, self.datum(v, branch).ok()?)))
                    .ok_or_else(mismatch)?;
                Avro::Union(i as u32, Box::new(datum))
            }
            _ => return Err(mismatch()),
        })
    }
}

/// For messages: a schema's kind without its whole body.
struct SchemaKindName<'a>(&'a Schema);

impl std::fmt::Debug for SchemaKindName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind: apache_avro::schema::SchemaKind = self.0.into();
        write!(f, "{kind:?}")
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn unbase64(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("`{s}` is not base64: {e}"))
}

/// Two's-complement bytes widened to hold `precision` digits (apache-avro refuses
/// fewer bytes than the precision needs, though Avro allows them).
fn sign_extended(bytes: Vec<u8>, precision: usize) -> Vec<u8> {
    let needed = (1..)
        .find(|n: &usize| {
            ((8 * n - 1) as f64 * std::f64::consts::LOG10_2).floor() as usize >= precision
        })
        .unwrap_or(bytes.len());
    if bytes.len() >= needed {
        return bytes;
    }
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let mut out = vec![fill; needed - bytes.len()];
    out.extend(bytes);
    out
}

fn num_digits(d: &apache_avro::Decimal) -> String {
    num_bigint::BigInt::from(d.clone()).to_string()
}

/// `-12345` with scale 2 → `-123.45`.
fn scaled(digits: &str, scale: usize) -> String {
    if scale == 0 {
        return digits.to_owned();
    }
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits),
    };
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// `-123.45` with scale 2 → -12345; `None` when it has more decimals than the scale.
fn unscaled(text: &str, scale: usize) -> Option<num_bigint::BigInt> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > scale || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    format!("{int}{frac:0<scale$}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAYMENT: &str = r#"{"type":"record","name":"Payment","namespace":"shop","fields":[
        {"name":"id","type":"string"},
        {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":2}},
        {"name":"big","type":"long"},
        {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
        {"name":"note","type":["null","string"],"default":null},
        {"name":"tags","type":{"type":"map","values":"int"}},
        {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"raw","type":"bytes"}]}"#;

    #[test]
    fn round_trips_the_json_mapping() {
        let schema = AvroSchema::parse(PAYMENT, &[]).unwrap();
        let value = json!({"id": "p-1", "amount": "-1234.05", "big": 9_007_199_254_740_993_i64,
            "status": "PAID", "note": "hi", "tags": {"a": 1, "b": 2}, "at": 1_700_000_000_000_i64, "raw": "AAE="});
        let bytes = schema.encode(&value).unwrap();
        assert_eq!(schema.decode(&bytes).unwrap(), value);
        let none = json!({"id": "p-2", "amount": "0.07", "big": -1, "status": "NEW", "note": null,
            "tags": {}, "at": 0, "raw": ""});
        assert_eq!(schema.decode(&schema.encode(&none).unwrap()).unwrap(), none);
        assert!(schema.encode(&json!({"id": 5})).unwrap_err().contains("id"));
        assert!(schema.decode(&bytes[..4]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(schema.decode(&longer).unwrap_err().contains("left after"));
    }

    #[test]
    fn lying_lengths_are_errors_not_allocations() {
        let schema = AvroSchema::parse(PAYMENT, &[]).unwrap();
        // A string claiming about 1 GiB, then an array claiming 2^60 items.
        for bytes in [
            &[0xfe, 0xff, 0xff, 0xff, 0x07][..],
            &[
                0x02, 0x61, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20,
            ],
        ] {
            assert!(schema.decode(bytes).is_err());
        }
    }

    #[test]
    fn decimals_keep_their_digits() {
        assert_eq!(scaled("-12345", 2), "-123.45");
        assert_eq!(scaled("5", 3), "0.005");
        assert_eq!(unscaled("-123.4", 2).unwrap().to_string(), "-12340");
        assert_eq!(unscaled("1.234", 2), None);
    }
}
