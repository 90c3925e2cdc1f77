use super::*;
use crate::Event;

#[test]
fn an_index_entry_is_small_and_gives_back_what_it_was_given() {
    assert!(
        std::mem::size_of::<Entry>() <= 48,
        "{}",
        std::mem::size_of::<Entry>()
    );
    let rules = TopicRules {
        event_id: Some(Extractor::parse(".id").unwrap()),
        ..TopicRules::default()
    };
    let raw = RawRecord {
        topic: "t",
        partition: 2,
        offset: 7,
        timestamp: Some(99),
        key: Some(b"acct-1"),
        value: Some(br#"{"type":"Paid","id":"e-1"}"#),
        ..Default::default()
    };
    let e = Event::decode(&raw, &rules);
    let mut index = EventIndex::default();
    index.push(&e, Some("e-0"));
    index.push(&e, None);
    let got = index.get(0);
    assert_eq!((got.coord(), got.timestamp()), (e.coord(), Some(99)));
    assert_eq!(
        (got.aggregate(), got.event_type(), got.key()),
        ("acct-1", "Paid", "acct-1")
    );
    assert_eq!(
        (got.event_id(), got.version(), got.reference()),
        (Some("e-1"), None, Some("e-0"))
    );
    assert_eq!(index.get(1).reference(), None);
    // "acct-1" (key and aggregate), "Paid", "e-1", "e-0": four strings, once each.
    assert_eq!(index.strings.len(), 4);
}

/// A part of `n` records from offset `from`, aggregates `a0`..`a4`.
fn part(from: i64, n: i64) -> IndexPart {
    let mut part = IndexPart::default();
    for o in from..from + n {
        let (key, value) = (format!("a{}", o % 5), format!(r#"{{"type":"T{}"}}"#, o % 2));
        let raw = RawRecord {
            topic: "t",
            offset: o,
            key: Some(key.as_bytes()),
            value: Some(value.as_bytes()),
            ..Default::default()
        };
        part.push_raw(&raw, &TopicRules::default(), None);
    }
    part
}

/// Entries 0..10 in the heap, 12..27 mapped (as on disk: a table of their own, in
/// another order), 27..32 in the heap.
fn mixed() -> EventIndex {
    let mut table: Vec<String> = vec!["unused".into()];
    let mut bytes = Vec::new();
    part(10, 20).encode(
        &mut |s| match table.iter().position(|t| t == s) {
            Some(i) => i as u32,
            None => {
                table.push(s.to_owned());
                table.len() as u32 - 1
            }
        },
        &mut bytes,
    );
    let mapped = Mapped {
        bytes: std::sync::Arc::new(bytes),
        from: 2,
        len: 15,
    };
    let mut index = EventIndex::default();
    index.append(part(0, 10));
    index.append(IndexPart::of_mapped(mapped, table));
    index.append(part(27, 5));
    index
}

#[test]
fn heap_and_mapped_segments_read_as_one_index() {
    let index = mixed();
    let mut plain = EventIndex::default();
    plain.append(part(0, 10));
    plain.append(part(12, 15));
    plain.append(part(27, 5));
    assert_eq!(index.rows(), plain.rows());
    assert_eq!((index.len(), index.mapped()), (30, 15));
    for i in 0..index.len() {
        assert_eq!(index.get(i).coord(), plain.get(i).coord());
    }
    for a in ["a0", "a3", "nobody"] {
        let expected: Vec<usize> = (0..plain.len())
            .filter(|&i| plain.get(i).aggregate() == a)
            .collect();
        assert_eq!(index.of_aggregate(a), expected, "{a}");
    }
}

#[test]
fn the_aggregate_list_counts_as_the_command_does_and_merges_new_ones_in_order() {
    use crate::stream::{AggregateIndex, AggregateList};
    let mut index = mixed();
    let mut list = AggregateList::default();
    assert!(list.refresh(&index));
    assert!(!list.refresh(&index), "nothing new");
    assert_eq!(list.len(), 5);
    // Later events, timed: aggregates before, between and after those listed, and
    // one already listed whose last event is now of another type.
    let mut later = IndexPart::default();
    for (o, key, kind) in [
        (32, "0-first", "Opened"),
        (33, "a25", "Opened"),
        (34, "a2", "Closed"),
        (35, "zz", "Opened"),
        (36, "a25", "Paid"),
        // Ids alike in their first 16 bytes.
        (37, "aggregate-with-a-long-id-2", "Opened"),
        (38, "aggregate-with-a-long-id-10", "Opened"),
    ] {
        let value = format!(r#"{{"type":"{kind}"}}"#);
        let raw = RawRecord {
            topic: "t",
            offset: o,
            timestamp: Some(1_000 + o),
            key: Some(key.as_bytes()),
            value: Some(value.as_bytes()),
            ..Default::default()
        };
        later.push_raw(&raw, &TopicRules::default(), None);
    }
    index.append(later);
    assert!(list.refresh(&index));
    let mut counts = AggregateIndex::default();
    for e in index.iter() {
        counts.add_parts(e.aggregate(), e.event_type(), e.coord(), e.timestamp());
    }
    let expected: Vec<(String, usize, String)> = counts
        .summaries()
        .into_iter()
        .map(|s| (s.aggregate, s.count, s.last_type))
        .collect();
    let rows: Vec<(String, usize, String)> = (0..list.len())
        .map(|i| list.row(i, &index))
        .map(|r| (r.aggregate.into(), r.count, r.last_type.into()))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(rows[0].0, "0-first");
    assert_eq!(rows[3], ("a2".into(), 7, "Closed".into()));
    assert_eq!(rows[4], ("a25".into(), 2, "Paid".into()));
    assert_eq!(rows[7].0, "aggregate-with-a-long-id-10");
    assert_eq!(list.find("a25", &index), Some(4));
    assert_eq!(
        (list.find("a", &index), list.find("zzz", &index)),
        (None, None)
    );
    assert_eq!(list.matching("A2", &index), vec![3, 4]);
    // An index that starts again (the topic opened anew) is counted anew.
    assert!(list.refresh(&mixed()));
    assert_eq!(list.len(), 5);
}

fn both(value: &[u8], rules: &TopicRules) -> ((String, String), (String, String)) {
    let raw = RawRecord {
        topic: "t",
        key: Some(b"k-1"),
        headers: vec![("type", Some(b"FromHeader"))],
        value: Some(value),
        ..Default::default()
    };
    let e = Event::decode(&raw, rules);
    let (a, t) = aggregate_and_type(&raw, rules);
    (
        (e.aggregate, e.event_type),
        (a.into_owned(), t.into_owned()),
    )
}

#[test]
fn paths_find_what_a_full_decode_finds() {
    let nested = TopicRules {
        aggregate: Extractor::parse(".data.items[1].id").unwrap(),
        ..TopicRules::default()
    };
    for (value, rules) in [
        (
            &br#"{"type":"A","x":[1,{"y":2}],"type":"B"}"#[..],
            TopicRules::default(),
        ),
        (br#"{"x":1}"#, TopicRules::default()),
        (br#"{"type":7}"#, TopicRules::default()),
        (br#"{"type":"A"} trailing"#, TopicRules::default()),
        (br#"{"type":"A""#, TopicRules::default()),
        (br#"[1,2]"#, TopicRules::default()),
        (br#"{"type":"\u00e9sc\"aped"}"#, TopicRules::default()),
        (
            br#"{"data":{"items":[{"id":1},{"id":"two"}]}}"#,
            nested.clone(),
        ),
        (br#"{"data":{"items":[{"id":1}]}}"#, nested.clone()),
        (
            br#"{"data":{"items":[{"id":1},{"id":{"deep":1}}]}}"#,
            nested,
        ),
    ] {
        let (decoded, indexed) = both(value, &rules);
        assert_eq!(decoded, indexed, "{}", String::from_utf8_lossy(value));
    }
}
