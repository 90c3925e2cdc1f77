//! Which partition a key lands in, as the producers compute it, so that looking up an
//! aggregate keyed by its id reads one partition instead of the whole topic.

/// A topic's partitioner (`partitioner` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Partitioner {
    /// The Java client's default (and librdkafka's `murmur2`, `murmur2_random`).
    #[default]
    Murmur2,
    /// librdkafka's default `consistent_random` (and `consistent`, `crc32`): CRC-32 of the key.
    Crc32,
    /// Keys do not say where events are: read every partition.
    Scan,
}

impl std::str::FromStr for Partitioner {
    type Err = String;

    fn from_str(s: &str) -> Result<Partitioner, String> {
        match s {
            "murmur2" | "murmur2_random" => Ok(Partitioner::Murmur2),
            "consistent_random" | "consistent" | "crc32" => Ok(Partitioner::Crc32),
            "scan" => Ok(Partitioner::Scan),
            other => Err(format!(
                "unknown partitioner `{other}`: murmur2 (Java clients' default), consistent_random (librdkafka's), crc32 or scan"
            )),
        }
    }
}

impl Partitioner {
    /// The partition of a record with this key among `count` partitions; `None` when
    /// the partitioner cannot tell (scan).
    pub fn partition(self, key: &[u8], count: usize) -> Option<i32> {
        if count == 0 {
            return None;
        }
        let hash = match self {
            Partitioner::Murmur2 => (murmur2(key) & 0x7fff_ffff) as u32,
            Partitioner::Crc32 => crc32fast::hash(key),
            Partitioner::Scan => return None,
        };
        Some((hash % count as u32) as i32)
    }
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as a signed 32-bit int.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= u32::from(tail[2]) << 16;
        }
        if tail.len() >= 2 {
            h ^= u32::from(tail[1]) << 8;
        }
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apache Kafka's `UtilsTest.testMurmur2` vectors.
    #[test]
    fn murmur2_matches_kafka() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, hash) in cases {
            assert_eq!(murmur2(key), hash, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn partitions_are_positive_hashes_modulo_the_count() {
        // "21" hashes negative: the sign bit is dropped first, as the Java client does.
        assert_eq!(
            Partitioner::Murmur2.partition(b"21", 7),
            Some((-973_932_308i32 & 0x7fff_ffff) % 7)
        );
        // The CRC-32 check value.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            Partitioner::Crc32.partition(b"123456789", 10),
            Some((0xCBF4_3926u32 % 10) as i32)
        );
        assert_eq!(Partitioner::Scan.partition(b"k", 3), None);
        assert_eq!("consistent_random".parse(), Ok(Partitioner::Crc32));
        assert!("round_robin"
            .parse::<Partitioner>()
            .unwrap_err()
            .contains("unknown partitioner"));
    }
}
