//! Dump files: rewind's event lines (`rewind events … > dump.jsonl`) and kcat's `-J`
//! lines, read back into records to produce (`rewind produce --from-file`) or to open
//! offline (`rewind --file`).

use base64::Engine;
use serde_json::{json, Value};

use super::partitioner::Partitioner;
use super::Coord;

/// The header every replayed record carries: where it was read from, `TOPIC/P/O`.
pub const REPLAYED_FROM: &str = "rewind-replayed-from";

/// One record of a dump, as bytes again.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DumpRecord {
    /// Where it was read from, when the line says.
    pub topic: Option<String>,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Name and value in order; repeated names are kept.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The type, when a rewind line names it (for the dry run's first and last).
    pub event_type: Option<String>,
}

impl DumpRecord {
    /// A raw record's bytes, kept (the TUI keeps a bounded number from its load, to
    /// decode them when shown without reading them again).
    pub fn from_raw(raw: &super::event::RawRecord<'_>) -> DumpRecord {
        DumpRecord {
            topic: None,
            partition: Some(raw.partition),
            offset: Some(raw.offset),
            timestamp: raw.timestamp,
            key: raw.key.map(<[u8]>::to_vec),
            value: raw.value.map(<[u8]>::to_vec),
            headers: raw
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(<[u8]>::to_vec)))
                .collect(),
            event_type: None,
        }
    }

    /// The record as a raw record of `topic`, to decode.
    pub fn raw<'a>(&'a self, topic: &'a str) -> super::event::RawRecord<'a> {
        super::event::RawRecord {
            topic,
            partition: self.partition.unwrap_or(0),
            offset: self.offset.unwrap_or(0),
            timestamp: self.timestamp,
            key: self.key.as_deref(),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_deref()))
                .collect(),
            value: self.value.as_deref(),
        }
    }

    /// `TOPIC/P/O` of where it was read, when the line says.
    pub fn source(&self) -> Option<String> {
        Some(format!(
            "{}/{}/{}",
            self.topic.as_ref()?,
            self.partition?,
            self.offset?
        ))
    }

    /// The headers to produce: the dump's, without an earlier `rewind-replayed-from`,
    /// and a new one naming this record's source (when known).
    pub fn headers_to_produce(&self) -> Vec<(String, Option<Vec<u8>>)> {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(name, _)| name != REPLAYED_FROM)
            .cloned()
            .collect();
        if let Some(source) = self.source() {
            headers.push((REPLAYED_FROM.to_owned(), Some(source.into_bytes())));
        }
        headers
    }

    /// A one-line description for the dry run: source, time, type and key.
    pub fn label(&self) -> String {
        let mut parts = vec![self.source().unwrap_or_else(|| "(no source)".into())];
        if let Some(t) = self.timestamp {
            parts.push(super::position::format_time(t));
        }
        if let Some(t) = &self.event_type {
            parts.push(t.clone());
        }
        parts.push(match &self.key {
            Some(k) => format!("key {}", String::from_utf8_lossy(k)),
            None => "no key".into(),
        });
        parts.join("  ")
    }
}

/// Reads one line of a dump: a rewind event line (it has `value`) or a kcat `-J` line
/// (it has `payload`). An empty line is `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<DumpRecord>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let Value::Object(fields) = &value else {
        return Err("not a JSON object".into());
    };
    let int = |name: &str| -> Result<Option<i64>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("`{name}` is not an integer")),
        }
    };
    let partition = int("partition")?
        .map(|p| i32::try_from(p).map_err(|_| "`partition` is out of range".to_owned()))
        .transpose()?;
    let topic = match fields.get("topic") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err("`topic` is not a string".into()),
    };
    if fields.contains_key("value") {
        // rewind's event line.
        let raw = |name: &str| -> Result<Option<Vec<u8>>, String> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => base64_of(v)
                    .map(Some)
                    .ok_or_else(|| format!("`{name}` is not {{\"base64\": …}}")),
            }
        };
        let key = match raw("raw_key")? {
            Some(bytes) => Some(bytes),
            None => payload_bytes(fields.get("key").unwrap_or(&Value::Null), "key")?,
        };
        let value = match raw("raw_value")? {
            Some(bytes) => Some(bytes),
            None => payload_bytes(&fields["value"], "value")?,
        };
        let headers = match fields.get("headers") {
            None | Some(Value::Null) => vec![],
            Some(Value::Object(map)) => {
                let mut headers = vec![];
                for (name, v) in map {
                    let values = match v {
                        Value::Array(all) => all.iter().collect(),
                        one => vec![one],
                    };
                    for v in values {
                        let bytes = payload_bytes(v, &format!("header `{name}`"))?;
                        headers.push((name.clone(), bytes));
                    }
                }
                headers
            }
            Some(_) => return Err("`headers` is not an object".into()),
        };
        Ok(Some(DumpRecord {
            topic,
            partition,
            offset: int("offset")?,
            timestamp: int("timestamp")?,
            key,
            value,
            headers,
            event_type: fields
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }))
    } else if fields.contains_key("payload") {
        // kcat -J: key and payload are strings (or null), headers alternate names and
        // values.
        let text = |name: &str| -> Result<Option<Vec<u8>>, String> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_bytes().to_vec())),
                Some(_) => Err(format!("`{name}` is not a string")),
            }
        };
        let headers = match fields.get("headers") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(flat)) if flat.len() % 2 == 0 => flat
                .chunks(2)
                .map(|pair| match (&pair[0], &pair[1]) {
                    (Value::String(n), Value::String(v)) => {
                        Ok((n.clone(), Some(v.as_bytes().to_vec())))
                    }
                    (Value::String(n), Value::Null) => Ok((n.clone(), None)),
                    _ => Err("`headers` holds something other than names and values".to_owned()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("`headers` is not a list of names and values".into()),
        };
        Ok(Some(DumpRecord {
            topic,
            partition,
            offset: int("offset")?,
            timestamp: int("ts")?,
            key: text("key")?,
            value: text("payload")?,
            headers,
            event_type: None,
        }))
    } else {
        Err("neither a rewind event line (`value`) nor a kcat -J line (`payload`)".into())
    }
}

/// `{"base64": "…"}` as bytes.
fn base64_of(v: &Value) -> Option<Vec<u8>> {
    let Value::Object(map) = v else { return None };
    if map.len() != 1 {
        return None;
    }
    let text = map.get("base64")?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// A key, value or header of an event line as bytes again: `null` is none, a string
/// its UTF-8 text, `{"base64": …}` its bytes, any other JSON its compact text.
fn payload_bytes(v: &Value, what: &str) -> Result<Option<Vec<u8>>, String> {
    Ok(match v {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(map) if map.contains_key("base64") && map.len() == 1 => {
            Some(base64_of(v).ok_or_else(|| format!("{what}: `base64` is not base64 text"))?)
        }
        other => Some(other.to_string().into_bytes()),
    })
}

/// A dump held in memory for `rewind --file`: records by topic, each topic's in
/// partition and offset order.
#[derive(Debug, Default)]
pub struct Dump {
    pub topics: std::collections::BTreeMap<String, Vec<DumpRecord>>,
    /// (line number, why) of the lines that could not be read.
    pub bad: Vec<(usize, String)>,
}

impl Dump {
    /// Reads a dump's lines. A line without a topic goes to `dump`; without a partition
    /// to 0; without an offset after the partition's last.
    pub fn parse(text: &str) -> Dump {
        let mut dump = Dump::default();
        for (n, line) in text.lines().enumerate() {
            match parse_line(line) {
                Ok(None) => {}
                Ok(Some(mut r)) => {
                    let topic = r.topic.get_or_insert_with(|| "dump".into()).clone();
                    let records = dump.topics.entry(topic).or_default();
                    let partition = *r.partition.get_or_insert(0);
                    if r.offset.is_none() {
                        let last = records
                            .iter()
                            .filter(|x| x.partition == Some(partition))
                            .filter_map(|x| x.offset)
                            .max();
                        r.offset = Some(last.map_or(0, |o| o + 1));
                    }
                    records.push(r);
                }
                Err(why) => dump.bad.push((n + 1, why)),
            }
        }
        for records in dump.topics.values_mut() {
            records.sort_by_key(|r| (r.partition, r.offset));
        }
        dump
    }

    /// The topics with each partition's first offset and the one after its last.
    pub fn topic_infos(&self) -> Vec<super::TopicInfo> {
        self.topics
            .iter()
            .map(|(name, records)| {
                let mut partitions: Vec<super::PartitionInfo> = Vec::new();
                for r in records {
                    let (p, o) = (r.partition.unwrap_or(0), r.offset.unwrap_or(0));
                    match partitions.iter_mut().find(|x| x.partition == p) {
                        Some(x) => {
                            x.low = x.low.min(o);
                            x.high = x.high.max(o.saturating_add(1));
                        }
                        None => partitions.push(super::PartitionInfo {
                            partition: p,
                            low: o,
                            high: o.saturating_add(1),
                        }),
                    }
                }
                super::TopicInfo {
                    name: name.clone(),
                    partitions,
                    ..Default::default()
                }
            })
            .collect()
    }

    /// A topic's records decoded with its rules, in partition and offset order; those
    /// for which `keep` says so.
    pub fn events(
        &self,
        topic: &str,
        rules: &super::TopicRules,
        keep: &dyn Fn(&DumpRecord) -> bool,
    ) -> Vec<super::Event> {
        let Some(records) = self.topics.get(topic) else {
            return vec![];
        };
        records
            .iter()
            .filter(|r| keep(r))
            .map(|r| super::Event::decode(&r.raw(topic), rules))
            .collect()
    }
}

/// Where each record goes in the target topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub partitions: usize,
    /// The record's own partition (`--keep-partitions`).
    pub keep: bool,
    /// How keys are placed otherwise (the target topic's partitioner).
    pub partitioner: Partitioner,
}

impl Placement {
    /// The partition of the `n`th record: its own with `keep`, else by key; keyless
    /// records go round the partitions.
    pub fn partition(&self, record: &DumpRecord, n: usize) -> Result<i32, String> {
        if self.partitions == 0 {
            return Err("the topic has no partitions".into());
        }
        if self.keep {
            let p = record
                .partition
                .ok_or("the line names no partition (needed by --keep-partitions)")?;
            if p < 0 || p as usize >= self.partitions {
                return Err(format!(
                    "partition {p} does not exist in the target (it has {}); drop --keep-partitions to place records by key",
                    self.partitions
                ));
            }
            return Ok(p);
        }
        let by_key = record.key.as_deref().and_then(|k| {
            let partitioner = match self.partitioner {
                Partitioner::Scan => Partitioner::Murmur2,
                p => p,
            };
            partitioner.partition(k, self.partitions)
        });
        Ok(by_key.unwrap_or((n % self.partitions) as i32))
    }
}

/// What a dump would produce: events per partition, the first and the last.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DumpPlan {
    pub events: usize,
    /// Events per target partition, by partition.
    pub per_partition: Vec<usize>,
    /// (line number, why) of lines that could not be read.
    pub bad: Vec<(usize, String)>,
    pub first: Option<DumpRecord>,
    pub last: Option<DumpRecord>,
}

impl DumpPlan {
    pub fn new(partitions: usize) -> DumpPlan {
        DumpPlan {
            per_partition: vec![0; partitions],
            ..DumpPlan::default()
        }
    }

    /// Counts one record going to `partition`.
    pub fn add(&mut self, record: DumpRecord, partition: i32) {
        self.events += 1;
        if let Some(n) = self.per_partition.get_mut(partition as usize) {
            *n += 1;
        }
        if self.first.is_none() {
            self.first = Some(record);
        } else {
            self.last = Some(record);
        }
    }

    /// The last record (the first when there is one).
    pub fn last(&self) -> Option<&DumpRecord> {
        self.last.as_ref().or(self.first.as_ref())
    }

    /// The `-o json` form; `written` after an execute: (partition, first and last offset
    /// written there).
    pub fn to_json(&self, topic: &str, executed: bool, written: &[(i32, Coord, Coord)]) -> Value {
        let record = |r: &DumpRecord| {
            json!({
                "source": r.source(),
                "timestamp": r.timestamp,
                "type": r.event_type,
                "key": r.key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned()),
            })
        };
        json!({
            "topic": topic,
            "executed": executed,
            "events": self.events,
            "skipped": self.bad.len(),
            "partitions": self.per_partition.iter().enumerate().map(|(p, n)| {
                let offsets = written.iter().find(|(q, ..)| *q == p as i32);
                json!({
                    "partition": p,
                    "events": n,
                    "first_offset": offsets.map(|(_, f, _)| f.offset),
                    "last_offset": offsets.map(|(_, _, l)| l.offset),
                })
            }).collect::<Vec<_>>(),
            "first": self.first.as_ref().map(record),
            "last": self.last().map(record),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rewind_event_lines_back_into_bytes() {
        let line = r#"{"topic":"orders","partition":2,"offset":41,"timestamp":1700000000000,"key":"order-1","headers":{"trace":"abc","h":["1","2"],"nil":null,"bin":{"base64":"/wAB"}},"type":"OrderCreated","aggregate":"order-1","value":{"type":"OrderCreated","n":1}}"#;
        let r = parse_line(line).unwrap().unwrap();
        assert_eq!(r.source().as_deref(), Some("orders/2/41"));
        assert_eq!(r.key.as_deref(), Some(&b"order-1"[..]));
        assert_eq!(
            r.value.as_deref(),
            Some(&br#"{"type":"OrderCreated","n":1}"#[..])
        );
        assert_eq!(
            r.headers,
            vec![
                ("trace".into(), Some(b"abc".to_vec())),
                ("h".into(), Some(b"1".to_vec())),
                ("h".into(), Some(b"2".to_vec())),
                ("nil".into(), None),
                ("bin".into(), Some(vec![0xff, 0, 1])),
            ]
        );
        assert_eq!(r.event_type.as_deref(), Some("OrderCreated"));
        // Text, bytes and tombstones.
        let text = parse_line(r#"{"value":"hello","key":null}"#)
            .unwrap()
            .unwrap();
        assert_eq!((text.key, text.value), (None, Some(b"hello".to_vec())));
        let bytes = parse_line(r#"{"value":{"base64":"/wAB"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(bytes.value, Some(vec![0xff, 0, 1]));
        let tomb = parse_line(r#"{"value":null}"#).unwrap().unwrap();
        assert_eq!(tomb.value, None);
        // Big numbers keep their digits.
        let big = parse_line(r#"{"value":{"n":18446744073709551616}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            big.value.as_deref(),
            Some(&br#"{"n":18446744073709551616}"#[..])
        );
    }

    #[test]
    fn schemad_payloads_come_back_byte_for_byte_from_their_raw_bytes() {
        let line = r#"{"topic":"t","partition":0,"offset":1,"key":"k1","raw_key":{"base64":"AAAAAAECazE="},"value":{"id":1},"raw_value":{"base64":"AAAAAAIC"}}"#;
        let r = parse_line(line).unwrap().unwrap();
        assert_eq!(r.key, Some(vec![0, 0, 0, 0, 1, 2, b'k', b'1']));
        assert_eq!(r.value, Some(vec![0, 0, 0, 0, 2, 2]));
    }

    #[test]
    fn reads_kcat_json_lines() {
        let line = r#"{"topic":"orders","partition":0,"offset":3,"tstype":"create","ts":1700000000000,"broker":1,"headers":["trace","abc","nil",null],"key":"order-1","payload":"{\"a\":1}"}"#;
        let r = parse_line(line).unwrap().unwrap();
        assert_eq!(r.source().as_deref(), Some("orders/0/3"));
        assert_eq!(r.timestamp, Some(1_700_000_000_000));
        assert_eq!(r.value.as_deref(), Some(&br#"{"a":1}"#[..]));
        assert_eq!(
            r.headers,
            vec![
                ("trace".into(), Some(b"abc".to_vec())),
                ("nil".into(), None)
            ]
        );
        let tomb =
            parse_line(r#"{"topic":"t","partition":0,"offset":1,"key":null,"payload":null}"#)
                .unwrap()
                .unwrap();
        assert_eq!((tomb.key, tomb.value), (None, None));
    }

    #[test]
    fn malformed_lines_say_why() {
        assert_eq!(parse_line("   "), Ok(None));
        assert!(parse_line("{not json")
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(parse_line("[1]").unwrap_err().contains("not a JSON object"));
        assert!(parse_line(r#"{"a":1}"#).unwrap_err().contains("neither"));
        assert!(parse_line(r#"{"value":1,"partition":"x"}"#)
            .unwrap_err()
            .contains("`partition` is not an integer"));
        assert!(parse_line(r#"{"payload":"x","headers":["a"]}"#).is_err());
        assert!(parse_line(r#"{"value":{"base64":"!!"}}"#)
            .unwrap_err()
            .contains("not base64"));
    }

    #[test]
    fn a_dump_in_memory_lists_its_topics_and_decodes_their_records() {
        let text = [
            r#"{"topic":"orders","partition":1,"offset":7,"key":"o-2","value":{"type":"B"}}"#,
            r#"{"topic":"orders","partition":0,"offset":3,"key":"o-1","value":{"type":"A"}}"#,
            "not json",
            r#"{"topic":"orders","partition":1,"offset":5,"key":"o-2","value":{"type":"C"}}"#,
            r#"{"key":"k","payload":"x"}"#,
        ]
        .join("\n");
        let dump = Dump::parse(&text);
        assert_eq!(dump.bad.len(), 1);
        assert_eq!(dump.bad[0].0, 3);
        let infos = dump.topic_infos();
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[0].name, "dump", "a line without a topic");
        let orders = &infos[1];
        assert_eq!(
            orders
                .partitions
                .iter()
                .map(|p| (p.partition, p.low, p.high))
                .collect::<Vec<_>>(),
            vec![(0, 3, 4), (1, 5, 8)]
        );
        // Offsets a broker never gives still list and count (saturating, no overflow).
        let odd = Dump::parse(
            r#"{"topic":"t","partition":0,"offset":9223372036854775806,"value":null}
{"topic":"t","partition":1,"offset":9223372036854775807,"value":null}
{"topic":"t","partition":2,"offset":-3,"value":null}"#,
        );
        let t = &odd.topic_infos()[0];
        // (The record at i64::MAX has no offset after it: its partition counts 0.)
        assert_eq!((t.high(), t.count()), (i64::MAX - 2, 2));
        let rules = super::super::TopicRules {
            event_type: vec![super::super::Extractor::parse(".type").unwrap()],
            ..Default::default()
        };
        let events = dump.events("orders", &rules, &|_| true);
        let got: Vec<(i32, i64, &str)> = events
            .iter()
            .map(|e| (e.partition, e.offset, e.event_type.as_str()))
            .collect();
        assert_eq!(got, vec![(0, 3, "A"), (1, 5, "C"), (1, 7, "B")]);
    }

    #[test]
    fn the_replayed_from_header_replaces_an_earlier_one() {
        let r = DumpRecord {
            topic: Some("orders".into()),
            partition: Some(1),
            offset: Some(9),
            headers: vec![
                ("a".into(), Some(b"1".to_vec())),
                (REPLAYED_FROM.into(), Some(b"older/0/0".to_vec())),
            ],
            ..DumpRecord::default()
        };
        assert_eq!(
            r.headers_to_produce(),
            vec![
                ("a".into(), Some(b"1".to_vec())),
                (REPLAYED_FROM.into(), Some(b"orders/1/9".to_vec())),
            ]
        );
    }

    #[test]
    fn placement_keeps_partitions_or_places_keys_like_the_producers() {
        let keyed = DumpRecord {
            partition: Some(5),
            key: Some(b"order-1".to_vec()),
            ..DumpRecord::default()
        };
        let by_key = Placement {
            partitions: 3,
            keep: false,
            partitioner: Partitioner::Murmur2,
        };
        assert_eq!(
            by_key.partition(&keyed, 0),
            Ok(Partitioner::Murmur2.partition(b"order-1", 3).unwrap())
        );
        let keyless = DumpRecord::default();
        assert_eq!(by_key.partition(&keyless, 4), Ok(1));
        let keep = Placement {
            keep: true,
            ..by_key
        };
        assert!(keep
            .partition(&keyed, 0)
            .unwrap_err()
            .contains("partition 5 does not exist"));
        assert!(keep.partition(&keyless, 0).is_err());
        let wide = Placement {
            partitions: 8,
            ..keep
        };
        assert_eq!(wide.partition(&keyed, 0), Ok(5));
    }
}
