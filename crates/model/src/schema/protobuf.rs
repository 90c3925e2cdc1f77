//! Protobuf payloads (prost-reflect, with `.proto` text compiled at run time by protox):
//! decoded into proto3's canonical JSON but with the `.proto` field names, enum names,
//! fields at their default value included, and 64-bit integers as JSON numbers with
//! every digit; well-known types mapped (Timestamp → RFC 3339, Struct/wrappers → JSON).

use std::path::PathBuf;

use prost_reflect::prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::Value;

/// Compiled `.proto` files and the one a registry schema (or a topic's config) names.
#[derive(Debug)]
pub struct ProtoSchema {
    pool: DescriptorPool,
    /// The file whose messages the message indexes count.
    file: String,
}

/// `.proto` sources held in memory (a registry schema and its references).
struct Sources(Vec<(String, String)>);

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((n, text)) => File::from_source(n, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl ProtoSchema {
    /// Compiles `main` (named `name`) with the files it imports (`(import path, text)`).
    pub fn compile(
        name: &str,
        main: &str,
        imports: &[(String, String)],
    ) -> Result<ProtoSchema, String> {
        let mut sources = vec![(name.to_owned(), main.to_owned())];
        sources.extend(imports.iter().cloned());
        let mut resolver = ChainFileResolver::new();
        resolver.add(Sources(sources));
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.open_file(name).map_err(|e| e.to_string())?;
        Ok(ProtoSchema {
            pool: compiler.descriptor_pool(),
            file: name.to_owned(),
        })
    }

    /// Compiles `.proto` files from disk, imports searched in `includes` (and the
    /// files' own directories).
    pub fn compile_files(files: &[PathBuf], includes: &[PathBuf]) -> Result<ProtoSchema, String> {
        let mut dirs: Vec<PathBuf> = includes.to_vec();
        for f in files {
            if let Some(dir) = f.parent() {
                dirs.push(if dir.as_os_str().is_empty() {
                    ".".into()
                } else {
                    dir.to_owned()
                });
            }
        }
        let mut compiler = protox::Compiler::new(&dirs).map_err(|e| e.to_string())?;
        compiler.open_files(files).map_err(|e| e.to_string())?;
        let file = compiler
            .files()
            .last()
            .map(|f| f.name().to_owned())
            .ok_or("no .proto file given")?;
        Ok(ProtoSchema {
            pool: compiler.descriptor_pool(),
            file,
        })
    }

    /// The message at Confluent's message-index path: the n-th message of the file,
    /// then the m-th message nested in it, and so on.
    pub fn message_at(&self, indexes: &[i32]) -> Result<MessageDescriptor, String> {
        let file = self
            .pool
            .get_file_by_name(&self.file)
            .ok_or_else(|| format!("{} is not in the compiled schema", self.file))?;
        let missing = || format!("the schema has no message at index path {indexes:?}");
        let (&first, rest) = indexes.split_first().ok_or_else(missing)?;
        let mut message = file
            .messages()
            .nth(first.max(0) as usize)
            .ok_or_else(missing)?;
        for &i in rest {
            let child = message.child_messages().nth(i.max(0) as usize);
            message = child.ok_or_else(missing)?;
        }
        Ok(message)
    }

    /// A message by its full name (`shop.Payment`).
    pub fn message_named(&self, name: &str) -> Result<MessageDescriptor, String> {
        self.pool
            .get_message_by_name(name.trim_start_matches('.'))
            .ok_or_else(|| {
                let known: Vec<String> = self
                    .pool
                    .all_messages()
                    .map(|m| m.full_name().to_owned())
                    .collect();
                format!(
                    "no message `{name}` in the schema (it has {})",
                    known.join(", ")
                )
            })
    }
}

/// Decodes one message to JSON.
pub fn decode(message: &MessageDescriptor, bytes: &[u8]) -> Result<Value, String> {
    let decoded = DynamicMessage::decode(message.clone(), bytes).map_err(|e| e.to_string())?;
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false)
        .stringify_64_bit_integers(false);
    decoded
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| e.to_string())
}

/// Encodes JSON (as `decode` produces it, or proto3 JSON) as one message.
pub fn encode(message: &MessageDescriptor, value: &Value) -> Result<Vec<u8>, String> {
    let text = value.to_string();
    let mut de = serde_json::Deserializer::from_str(&text);
    let decoded =
        DynamicMessage::deserialize(message.clone(), &mut de).map_err(|e| e.to_string())?;
    Ok(decoded.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHOP: &str = r#"syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Envelope { string note = 1; }
message Payment {
  enum Status { NEW = 0; PAID = 1; }
  message Line { string sku = 1; int64 cents = 2; }
  string id = 1;
  int64 big = 2;
  Status status = 3;
  repeated Line lines = 4;
  map<string, int32> tags = 5;
  bytes raw = 6;
  google.protobuf.Timestamp at = 7;
  uint64 counter = 8;
}"#;

    #[test]
    fn decodes_by_index_path_with_proto_names_defaults_and_exact_64_bit_numbers() {
        let schema = ProtoSchema::compile("shop.proto", SHOP, &[]).unwrap();
        let payment = schema.message_at(&[1]).unwrap();
        assert_eq!(payment.full_name(), "shop.Payment");
        assert_eq!(
            schema.message_at(&[1, 0]).unwrap().full_name(),
            "shop.Payment.Line"
        );
        assert!(schema.message_at(&[5]).is_err());
        let value = json!({"id": "p-1", "big": 9_007_199_254_740_993_i64, "status": "PAID",
            "lines": [{"sku": "a", "cents": 5}], "tags": {"x": 1}, "raw": "AAE=",
            "at": "2026-11-28T10:00:00Z", "counter": 18_446_744_073_709_551_615_u64});
        let bytes = encode(&payment, &value).unwrap();
        assert_eq!(decode(&payment, &bytes).unwrap(), value);
        // Defaults are shown.
        let empty = decode(&payment, &[]).unwrap();
        assert_eq!(empty["status"], "NEW");
        assert_eq!(empty["big"], 0);
        assert_eq!(empty["lines"], json!([]));
        assert!(decode(&payment, &[0xff, 0xff]).is_err());
        assert_eq!(
            schema.message_named("shop.Envelope").unwrap().full_name(),
            "shop.Envelope"
        );
        assert!(schema
            .message_named("shop.Nope")
            .unwrap_err()
            .contains("shop.Payment"));
    }
}
