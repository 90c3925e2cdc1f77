//! Positions in a stream: an index, a Kafka coordinate `P/O`, or a time.

use std::fmt;
use std::str::FromStr;

/// Where to look in a stream (SPEC.md, "position").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 0-based index into the stream.
    Index(usize),
    /// Partition and offset.
    Coordinate { partition: i32, offset: i64 },
    /// Milliseconds since the epoch (the last event at or before it).
    Time(i64),
}

/// Why a position was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a position: use an index (12), a partition/offset (0/1042) or an RFC 3339 time (2026-11-26T10:00:00Z)")]
pub struct PositionParseError(pub String);

impl FromStr for Position {
    type Err = PositionParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(index) = s.parse::<usize>() {
            return Ok(Position::Index(index));
        }
        if let Some((p, o)) = s.split_once('/') {
            if let (Ok(partition), Ok(offset)) = (p.parse::<i32>(), o.parse::<i64>()) {
                if partition >= 0 && offset >= 0 {
                    return Ok(Position::Coordinate { partition, offset });
                }
            }
            return Err(PositionParseError(s.to_owned()));
        }
        parse_time(s)
            .map(Position::Time)
            .ok_or_else(|| PositionParseError(s.to_owned()))
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Index(i) => write!(f, "{i}"),
            Position::Coordinate { partition, offset } => write!(f, "{partition}/{offset}"),
            Position::Time(ms) => f.write_str(&format_time(*ms)),
        }
    }
}

/// Parses an RFC 3339 time into milliseconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats milliseconds since the epoch as RFC 3339 UTC with milliseconds.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_position() {
        assert_eq!("12".parse(), Ok(Position::Index(12)));
        assert_eq!(
            "0/1042".parse(),
            Ok(Position::Coordinate {
                partition: 0,
                offset: 1042
            })
        );
        assert_eq!(
            "2026-11-26T10:00:00Z".parse(),
            Ok(Position::Time(1_795_687_200_000))
        );
        assert_eq!(
            "2026-11-26T11:00:00+01:00".parse(),
            Ok(Position::Time(1_795_687_200_000))
        );
        assert!("x/1".parse::<Position>().is_err());
        assert!("-1".parse::<Position>().is_err());
        assert!("yesterday".parse::<Position>().is_err());
    }

    #[test]
    fn formats_round_trip() {
        let p: Position = "2026-11-26T10:00:00.250Z".parse().unwrap();
        assert_eq!(p.to_string(), "2026-11-26T10:00:00.250Z");
        assert_eq!(p.to_string().parse(), Ok(p));
    }
}
