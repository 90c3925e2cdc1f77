//! Content search: a jq predicate over events' decoded values (`events --where`, the
//! TUI's `/?JQ`), with `$meta` bound to the event's coordinates, key and headers.

use jaq_json::Val;

use super::event::RawRecord;
use super::reducer::{compile_program, parse_val, to_val, Program};
use super::{Event, TopicRules};

/// A compiled `--where`.
pub struct Where {
    program: Program,
    /// Whether the program reads `$meta` (else it is not built per event).
    meta: bool,
}

impl Where {
    /// Compiles the predicate; the error is one line naming it.
    pub fn compile(code: &str) -> Result<Where, String> {
        let program = compile_program("--where", "", code).map_err(|e| e.message)?;
        Ok(Where {
            program,
            meta: code.contains("$meta"),
        })
    }

    pub fn source(&self) -> &str {
        self.program.source()
    }

    /// Whether the event matches: `.` (and `$event`) is its value as an event line
    /// shows it, `$meta` its coordinates, key and headers. An error is said (the event
    /// counts as no match).
    pub fn matches(&self, event: &Event) -> Result<bool, String> {
        let value = to_val(&event.value.to_json());
        self.run(&value, || event.meta(0))
    }

    /// `matches` from the raw record, without decoding it whole where the value is
    /// plain JSON; `None`: the record needs a full decode (schemas, text, bytes).
    pub fn matches_raw(
        &self,
        raw: &RawRecord<'_>,
        rules: &TopicRules,
    ) -> Option<Result<bool, String>> {
        if !rules.payloads.plain(raw.key, raw.value) || self.meta {
            return None;
        }
        let value = match raw.value {
            None => Val::Null,
            Some(bytes) => parse_val(std::str::from_utf8(bytes).ok()?)?,
        };
        Some(self.run(&value, || serde_json::Value::Null))
    }

    fn run(&self, value: &Val, meta: impl FnOnce() -> serde_json::Value) -> Result<bool, String> {
        let meta = match self.meta {
            true => {
                let mut meta = meta();
                if let Some(m) = meta.as_object_mut() {
                    m.remove("index");
                }
                to_val(&meta)
            }
            false => Val::Null,
        };
        self.program.any_truthy(value, value, &meta)
    }
}

/// Tests a raw record against the predicate `code`, compiled once per thread (jaq's
/// programs cannot move between threads, and searches test records on every core):
/// the verdict, and the record decoded whole when the test needed it. `None` when the
/// code does not compile.
pub fn test_raw(
    code: &str,
    raw: &RawRecord<'_>,
    rules: &TopicRules,
) -> Option<(Result<bool, String>, Option<Event>)> {
    thread_local! {
        static COMPILED: std::cell::RefCell<Option<Where>> = const { std::cell::RefCell::new(None) };
    }
    COMPILED.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|w| w.source() != code) {
            *cell = Where::compile(code).ok();
        }
        let search = cell.as_ref()?;
        Some(match search.matches_raw(raw, rules) {
            Some(verdict) => (verdict, None),
            None => {
                let event = Event::decode(raw, rules);
                (search.matches(&event), Some(event))
            }
        })
    })
}

/// What a search found: the matches' coordinates, and the events the predicate failed
/// on (counted as no match), with the first failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Found<T> {
    pub matches: Vec<(super::Coord, T)>,
    pub failed: usize,
    pub first_failure: Option<(super::Coord, String)>,
}

impl<T> Default for Found<T> {
    fn default() -> Found<T> {
        Found {
            matches: vec![],
            failed: 0,
            first_failure: None,
        }
    }
}

impl<T> Found<T> {
    /// Adds another part's findings (matches sorted by coordinate afterwards).
    pub fn merge(&mut self, other: Found<T>) {
        self.matches.extend(other.matches);
        let failed = self.failed + other.failed;
        if let Some((at, why)) = other.first_failure {
            self.fail(at, why);
        }
        self.failed = failed;
    }

    pub fn fail(&mut self, at: super::Coord, why: String) {
        self.failed += 1;
        if self.first_failure.as_ref().is_none_or(|(c, _)| at < *c) {
            self.first_failure = Some((at, why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawRecord;

    fn raw<'a>(value: Option<&'a [u8]>) -> RawRecord<'a> {
        RawRecord {
            topic: "t",
            partition: 1,
            offset: 7,
            timestamp: Some(1_700_000_000_000),
            key: Some(b"k-1"),
            headers: vec![("trace", Some(b"abc"))],
            value,
        }
    }

    #[test]
    fn a_predicate_over_values_with_meta_and_failures() {
        let rules = TopicRules::default();
        let w = Where::compile(".data.amount > 1000").unwrap();
        let yes = raw(Some(br#"{"data":{"amount":1500}}"#));
        let no = raw(Some(br#"{"data":{"amount":10}}"#));
        for (r, want) in [(&yes, true), (&no, false)] {
            assert_eq!(w.matches_raw(r, &rules), Some(Ok(want)));
            assert_eq!(w.matches(&Event::decode(r, &rules)), Ok(want));
        }
        // Text is a string: `.data` of it fails, and that is said.
        let text = raw(Some(b"plain"));
        assert_eq!(
            w.matches_raw(&text, &rules),
            None,
            "text needs the full decode"
        );
        let failed = w.matches(&Event::decode(&text, &rules)).unwrap_err();
        assert!(failed.contains("cannot index"), "{failed}");
        // Any truthy output matches; null and false do not.
        let any = Where::compile(".items[] | .price > 5").unwrap();
        let items = raw(Some(br#"{"items":[{"price":1},{"price":9}]}"#));
        assert_eq!(any.matches_raw(&items, &rules), Some(Ok(true)));
        let null = Where::compile(".nope").unwrap();
        assert_eq!(null.matches_raw(&items, &rules), Some(Ok(false)));
        // $meta: key, headers, coordinates.
        let meta = Where::compile(
            r#"$meta.key == "k-1" and $meta.headers.trace == "abc" and $meta.partition == 1"#,
        )
        .unwrap();
        assert_eq!(
            meta.matches_raw(&items, &rules),
            None,
            "$meta needs the event"
        );
        assert_eq!(meta.matches(&Event::decode(&items, &rules)), Ok(true));
        // A tombstone is null.
        let tomb = Where::compile(". == null").unwrap();
        assert_eq!(tomb.matches_raw(&raw(None), &rules), Some(Ok(true)));
        // Does not compile: one line.
        let bad = Where::compile(".a >").err().unwrap();
        assert!(bad.contains("cannot parse"), "{bad}");
    }
}
