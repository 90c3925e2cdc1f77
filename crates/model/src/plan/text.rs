//! A plan's text forms: the reset file kafka-consumer-groups.sh reads and writes
//! (`topic,partition,offset` rows), its ISO 8601 durations, and the undo command.

use super::FileRow;

pub(super) fn csv_rows(topic: &str, rows: impl Iterator<Item = (i32, i64)>) -> String {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(vec![]);
    for (partition, offset) in rows {
        writer
            .write_record([topic, &partition.to_string(), &offset.to_string()])
            .expect("writing CSV to memory cannot fail");
    }
    String::from_utf8(writer.into_inner().expect("in-memory CSV")).expect("CSV of UTF-8 fields")
}

/// Parses a kafka-consumer-groups reset file: `topic,partition,offset` rows, no header.
pub fn parse_reset_file(text: &str) -> Result<Vec<FileRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("line {}: {e}", i + 1))?;
        let field = |n: usize| record.get(n).unwrap_or("");
        let line = record.position().map_or(i as u64 + 1, |p| p.line());
        if record.len() != 3 {
            return Err(format!(
                "line {line}: expected topic,partition,offset, found {} field(s)",
                record.len()
            ));
        }
        let partition = field(1)
            .parse()
            .map_err(|_| format!("line {line}: partition `{}` is not a number", field(1)))?;
        let offset = field(2)
            .parse()
            .map_err(|_| format!("line {line}: offset `{}` is not a number", field(2)))?;
        rows.push(FileRow {
            topic: field(0).to_owned(),
            partition,
            offset,
        });
    }
    Ok(rows)
}

/// Parses an ISO 8601 duration as `java.time.Duration.parse` does (`PT15M`, `P1DT2H`,
/// `PT0.5S`, a leading `-`), into milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let err = || format!("`{text}` is not an ISO 8601 duration (e.g. PT15M, PT1H30M, P2D)");
    let s = text.trim().to_ascii_uppercase();
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => (-1.0, rest.to_owned()),
        None => (1.0, s.strip_prefix('+').unwrap_or(&s).to_owned()),
    };
    let s = s.strip_prefix('P').ok_or_else(err)?;
    let (date, time) = match s.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, t),
        Some(_) => return Err(err()),
        None => (s, ""),
    };
    let mut ms = 0.0;
    let mut parse = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                number.push(c);
                continue;
            }
            let at = units[next_unit..]
                .iter()
                .position(|(u, _)| *u == c)
                .ok_or_else(err)?;
            let value: f64 = number.parse().map_err(|_| err())?;
            ms += value * units[next_unit + at].1;
            next_unit += at + 1;
            number.clear();
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(err())
        }
    };
    parse(date, &[('D', 86_400_000.0)])?;
    parse(time, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1_000.0)])?;
    if date.is_empty() && time.is_empty() {
        return Err(err());
    }
    Ok((sign * ms).round() as i64)
}

/// The command that puts a group's offsets back from an undo file.
pub fn undo_command(
    group: &str,
    topic: &str,
    undo_file: &std::path::Path,
    allow_unknown: bool,
) -> String {
    format!(
        "rewind reset --group {group} --topic {topic} --from-file {} --execute{}",
        undo_file.display(),
        if allow_unknown {
            " --allow-unknown-state"
        } else {
            ""
        }
    )
}
