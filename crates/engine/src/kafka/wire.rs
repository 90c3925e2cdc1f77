//! The two Kafka requests rewind needs that librdkafka 2.12 cannot send: ListGroups v5
//! (every group with its type; librdkafka's ListConsumerGroups drops share, streams and
//! Connect groups) and ShareGroupDescribe (a share group's state and members; librdkafka
//! describes a share group as a `Dead` classic group). Spoken over a plain TCP
//! connection to each broker, so only where the listener is PLAINTEXT: on TLS or SASL
//! listeners the caller goes without, and says so.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const API_VERSIONS: i16 = 18;
const LIST_GROUPS: i16 = 16;
const SHARE_GROUP_DESCRIBE: i16 = 77;
/// DescribeConfigs' API key.
pub const DESCRIBE_CONFIGS: i16 = 32;
/// Larger answers are refused rather than allocated.
const MAX_RESPONSE: usize = 64 << 20;

/// Why a request did not get an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(String),
    #[error("the broker at {broker} does not support {api} v{version}")]
    Unsupported {
        broker: String,
        api: &'static str,
        version: i16,
    },
    #[error("the broker's answer could not be read: {0}")]
    Malformed(&'static str),
    #[error("the broker answered error {0}")]
    Broker(i16),
}

/// One group as a broker (its coordinator) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group: String,
    /// `consumer`, `connect`, `share`, `streams`, or empty for commits-only groups.
    pub protocol_type: String,
    pub state: String,
    /// `classic`, `consumer`, `share` or `streams`.
    pub group_type: String,
    /// The broker that listed it: its coordinator.
    pub broker: String,
}

/// A share group as its coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareGroup {
    pub group: String,
    /// Non-zero when the coordinator could not describe it (e.g. GROUP_ID_NOT_FOUND, 69).
    pub error: i16,
    pub state: String,
    pub assignor: String,
    pub members: Vec<ShareMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareMember {
    pub id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<(String, Vec<i32>)>,
}

/// A connection to one broker.
pub struct Broker {
    address: String,
    stream: TcpStream,
    correlation: i32,
}

impl Broker {
    pub fn connect(address: &str, timeout: Duration) -> Result<Broker, WireError> {
        let io = |e: std::io::Error| WireError::Io(format!("{address}: {e}"));
        let socket = address
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| WireError::Io(format!("{address}: no address")))?;
        let stream = TcpStream::connect_timeout(&socket, timeout).map_err(io)?;
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        Ok(Broker {
            address: address.to_owned(),
            stream,
            correlation: 0,
        })
    }

    /// Sends one request and returns the answer's body (after its header).
    fn call(
        &mut self,
        api: i16,
        version: i16,
        flexible: bool,
        body: &[u8],
    ) -> Result<Vec<u8>, WireError> {
        self.correlation += 1;
        let mut frame = Encoder::default();
        frame.i16(api);
        frame.i16(version);
        frame.i32(self.correlation);
        frame.i16("rewind".len() as i16);
        frame.bytes(b"rewind");
        if flexible {
            frame.varint(0);
        }
        frame.bytes(body);
        let mut message = (frame.0.len() as i32).to_be_bytes().to_vec();
        message.extend(frame.0);
        let io = |e: std::io::Error| WireError::Io(e.to_string());
        self.stream.write_all(&message).map_err(io)?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).map_err(io)?;
        let size = i32::from_be_bytes(size);
        if size < 4 || size as usize > MAX_RESPONSE {
            return Err(WireError::Malformed("response size"));
        }
        let mut answer = vec![0u8; size as usize];
        self.stream.read_exact(&mut answer).map_err(io)?;
        let mut d = Decoder::new(&answer);
        if d.i32()? != self.correlation {
            return Err(WireError::Malformed("correlation id"));
        }
        // ApiVersions answers with header v0 whatever its version.
        if flexible && api != API_VERSIONS {
            d.tags()?;
        }
        Ok(d.rest().to_vec())
    }

    /// The APIs the broker serves: (key, min version, max version).
    fn api_versions(&mut self) -> Result<Vec<(i16, i16, i16)>, WireError> {
        let body = self.call(API_VERSIONS, 0, false, &[])?;
        let mut d = Decoder::new(&body);
        let error = d.i16()?;
        if error != 0 {
            return Err(WireError::Broker(error));
        }
        (0..d.i32()?.max(0))
            .map(|_| Ok((d.i16()?, d.i16()?, d.i16()?)))
            .collect()
    }

    /// Whether the broker serves `api` at all.
    pub fn supports(&mut self, api: i16) -> Result<bool, WireError> {
        Ok(self.api_versions()?.iter().any(|(key, _, _)| *key == api))
    }

    /// Fails with `Unsupported` unless the broker speaks `api` at `version`.
    fn require(&mut self, api: i16, name: &'static str, version: i16) -> Result<(), WireError> {
        let served = self
            .api_versions()?
            .into_iter()
            .any(|(key, min, max)| key == api && (min..=max).contains(&version));
        match served {
            true => Ok(()),
            false => Err(WireError::Unsupported {
                broker: self.address.clone(),
                api: name,
                version,
            }),
        }
    }

    /// Every group this broker coordinates, with its type and state.
    pub fn list_groups(&mut self) -> Result<Vec<ListedGroup>, WireError> {
        self.require(LIST_GROUPS, "ListGroups", 5)?;
        let mut body = Encoder::default();
        body.varint(1); // no states filter
        body.varint(1); // no types filter
        body.varint(0);
        let answer = self.call(LIST_GROUPS, 5, true, &body.0)?;
        let mut d = Decoder::new(&answer);
        let _throttle = d.i32()?;
        let error = d.i16()?;
        if error != 0 {
            return Err(WireError::Broker(error));
        }
        let mut groups = Vec::new();
        for _ in 0..d.compact_len()? {
            let group = d.compact_string()?;
            let protocol_type = d.compact_string()?;
            let state = d.compact_string()?;
            let group_type = d.compact_string()?;
            d.tags()?;
            groups.push(ListedGroup {
                group,
                protocol_type,
                state,
                group_type,
                broker: self.address.clone(),
            });
        }
        Ok(groups)
    }

    /// Share groups as this broker, their coordinator, describes them.
    pub fn describe_share_groups(
        &mut self,
        groups: &[String],
    ) -> Result<Vec<ShareGroup>, WireError> {
        self.require(SHARE_GROUP_DESCRIBE, "ShareGroupDescribe", 1)?;
        let mut body = Encoder::default();
        body.varint(groups.len() as u64 + 1);
        for g in groups {
            body.compact_string(g);
        }
        body.0.push(0); // no authorized operations
        body.varint(0);
        let answer = self.call(SHARE_GROUP_DESCRIBE, 1, true, &body.0)?;
        let mut d = Decoder::new(&answer);
        let _throttle = d.i32()?;
        let mut out = Vec::new();
        for _ in 0..d.compact_len()? {
            let error = d.i16()?;
            let _message = d.compact_nullable_string()?;
            let group = d.compact_string()?;
            let state = d.compact_string()?;
            let _group_epoch = d.i32()?;
            let _assignment_epoch = d.i32()?;
            let assignor = d.compact_string()?;
            let mut members = Vec::new();
            for _ in 0..d.compact_len()? {
                let id = d.compact_string()?;
                let _rack = d.compact_nullable_string()?;
                let _epoch = d.i32()?;
                let client_id = d.compact_string()?;
                let host = d.compact_string()?;
                for _ in 0..d.compact_len()? {
                    d.compact_string()?; // subscribed topic
                }
                let mut assignment = Vec::new();
                for _ in 0..d.compact_len()? {
                    d.take(16)?; // topic id
                    let topic = d.compact_string()?;
                    let mut partitions = Vec::new();
                    for _ in 0..d.compact_len()? {
                        partitions.push(d.i32()?);
                    }
                    d.tags()?;
                    assignment.push((topic, partitions));
                }
                d.tags()?; // the assignment's
                d.tags()?; // the member's
                members.push(ShareMember {
                    id,
                    client_id,
                    host,
                    assignment,
                });
            }
            let _operations = d.i32()?;
            d.tags()?;
            out.push(ShareGroup {
                group,
                error,
                state,
                assignor,
                members,
            });
        }
        Ok(out)
    }
}

#[derive(Default)]
struct Encoder(Vec<u8>);

impl Encoder {
    fn i16(&mut self, v: i16) {
        self.0.extend(v.to_be_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend(v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend(b);
    }
    fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }
    fn compact_string(&mut self, s: &str) {
        self.varint(s.len() as u64 + 1);
        self.bytes(s.as_bytes());
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(WireError::Malformed("truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
    fn i16(&mut self) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn varint(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WireError::Malformed("varint"))
    }
    /// A compact array's or string's length (stored plus one; 0 is null, read as empty).
    fn compact_len(&mut self) -> Result<usize, WireError> {
        let n = self.varint()?;
        let n = usize::try_from(n.saturating_sub(1)).map_err(|_| WireError::Malformed("length"))?;
        if n > self.bytes.len() - self.at {
            return Err(WireError::Malformed("length"));
        }
        Ok(n)
    }
    fn compact_string(&mut self) -> Result<String, WireError> {
        let n = self.compact_len()?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    fn compact_nullable_string(&mut self) -> Result<Option<String>, WireError> {
        match self.bytes.get(self.at) {
            Some(0) => {
                self.at += 1;
                Ok(None)
            }
            _ => self.compact_string().map(Some),
        }
    }
    /// Skips a tagged-fields section.
    fn tags(&mut self) -> Result<(), WireError> {
        for _ in 0..self.varint()? {
            let _tag = self.varint()?;
            let size = usize::try_from(self.varint()?).map_err(|_| WireError::Malformed("tag"))?;
            self.take(size)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_compact_strings_read_back_and_truncation_is_an_error() {
        let mut e = Encoder::default();
        e.varint(300);
        e.compact_string("héllo");
        e.varint(0);
        let mut d = Decoder::new(&e.0);
        assert_eq!(d.varint(), Ok(300));
        assert_eq!(d.compact_string().as_deref(), Ok("héllo"));
        assert_eq!(d.tags(), Ok(()));
        assert_eq!(d.rest(), b"");
        let mut short = Decoder::new(&e.0[..4]);
        short.varint().unwrap();
        assert_eq!(short.compact_string(), Err(WireError::Malformed("length")));
        assert_eq!(
            Decoder::new(&[0xff; 11]).varint(),
            Err(WireError::Malformed("varint"))
        );
    }
}
