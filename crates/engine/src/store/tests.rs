use super::*;
use crate::model::event::RawRecord;
use crate::model::TopicRules;

fn part(partition: i32, offsets: std::ops::Range<i64>) -> IndexPart {
    let mut part = IndexPart::default();
    for o in offsets {
        let value = format!(r#"{{"type":"T{}","n":{o}}}"#, o % 3);
        let key = format!("k{}", o % 5);
        part.push_raw(
            &RawRecord {
                topic: "t",
                partition,
                offset: o,
                timestamp: Some(1000 + o),
                key: Some(key.as_bytes()),
                value: Some(value.as_bytes()),
                ..Default::default()
            },
            &TopicRules::default(),
            None,
        );
    }
    part
}

/// Each entry's offset, aggregate and type, as an index of `part` reads them.
fn rows(part: IndexPart) -> Vec<(i64, String, String)> {
    let mut all = crate::model::index::EventIndex::default();
    all.append(part);
    all.rows()
}

fn entries(index: &TopicIndex, p: i32) -> Vec<(i64, String, String)> {
    rows(IndexPart::of_mapped(
        index.view(p).unwrap(),
        index.table().to_vec(),
    ))
}

fn expected(p: i32, offsets: std::ops::Range<i64>) -> Vec<(i64, String, String)> {
    rows(part(p, offsets))
}

#[test]
fn an_index_reads_back_what_was_appended_and_grows() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
    assert!(index.held(0).is_none());
    index.append(0, &part(0, 0..10), 10, Some((9, 1)));
    index.append(1, &part(1, 0..4), 4, Some((3, 2)));
    index.commit();
    drop(index);
    let mut index = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
    assert_eq!(
        index.held(0),
        Some(Held {
            start: 0,
            end: 10,
            last: Some((9, 1))
        })
    );
    assert_eq!(entries(&index, 0), expected(0, 0..10));
    index.append(0, &part(0, 10..15), 15, Some((14, 3)));
    index.commit();
    let index = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
    assert_eq!(entries(&index, 0), expected(0, 0..15));
    assert_eq!(entries(&index, 1), expected(1, 0..4));
    let listed = list(dir.path()).unwrap();
    assert_eq!((listed.len(), listed[0].entries), (1, 19));
}

#[test]
fn records_are_counted_where_the_index_covers_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = TopicIndex::open(dir.path(), "c1", "t", "f", Some("id-1")).unwrap();
    // Offsets 0-1 and 6 are records; 2-5 and 7 markers or aborted (never read).
    index.append(0, &part(0, 0..2), 2, Some((1, 1)));
    index.append(0, &part(0, 6..7), 8, Some((6, 2)));
    index.append(1, &part(1, 0..4), 4, Some((3, 3)));
    index.commit();
    let watermarks = |p0: (i64, i64), p1: (i64, i64)| {
        [(0, p0), (1, p1)].map(|(partition, (low, high))| crate::model::PartitionInfo {
            partition,
            low,
            high,
        })
    };
    let count = |id: Option<&str>, parts: &[crate::model::PartitionInfo]| {
        let asked = Asked {
            cluster: "c1",
            topic: "t",
            topic_id: id,
            partitions: parts,
        };
        records_held(dir.path(), &asked)
    };
    let id = Some("id-1");
    assert_eq!(count(id, &watermarks((0, 8), (0, 4))), Some(7));
    // Retention moved partition 1's start: its first record is gone.
    assert_eq!(count(id, &watermarks((0, 8), (1, 4))), Some(6));
    // Records past the index: not known.
    assert_eq!(count(id, &watermarks((0, 9), (0, 4))), None);
    // Of a topic made again, or one the cluster gives no id for: not known.
    assert_eq!(count(Some("id-2"), &watermarks((0, 8), (0, 4))), None);
    assert_eq!(count(None, &watermarks((0, 8), (0, 4))), None);
    assert_eq!(indexed_id(dir.path(), "c1", "t").as_deref(), id);
    assert_eq!(indexed_id(dir.path(), "c1", "other"), None);
}

#[test]
fn a_dropped_prefix_is_left_out_and_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
    index.append(0, &part(0, 0..10), 10, Some((9, 1)));
    index.drop_below(0, 3);
    assert_eq!(entries(&index, 0), expected(0, 3..10));
    index.drop_below(0, 8); // most of it dead: rewritten
    index.commit();
    let index = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
    assert_eq!(entries(&index, 0), expected(0, 8..10));
    assert_eq!(index.held(0).unwrap().start, 8);
    assert_eq!(
        fs::metadata(dir.path().join("c1/t/0.idx")).unwrap().len(),
        2 * ENTRY_BYTES as u64
    );
}

#[test]
fn a_corrupt_or_foreign_index_is_discarded_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let make = || {
        let mut index = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
        index.append(0, &part(0, 0..10), 10, Some((9, 1)));
        index.commit();
    };
    make();
    // Other settings: discarded.
    assert!(TopicIndex::open(dir.path(), "c1", "t", "g", None)
        .unwrap()
        .held(0)
        .is_none());
    for damage in [
        |d: &Path| fs::write(d.join("meta.json"), b"{not json").unwrap(),
        |d: &Path| fs::write(d.join("strings"), b"\xff\xff").unwrap(),
        |d: &Path| fs::write(d.join("0.idx"), [7u8; 100]).unwrap(),
        |d: &Path| fs::write(d.join("0.idx"), [0xffu8; 10 * ENTRY_BYTES]).unwrap(),
    ] {
        make();
        damage(&dir.path().join("c1/t"));
        let index = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
        assert!(index.held(0).is_none());
    }
}

#[test]
fn an_index_of_a_topic_with_another_id_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let open = |id: Option<&str>| TopicIndex::open(dir.path(), "c1", "t", "f", id).unwrap();
    let mut index = open(Some("id-1"));
    index.append(0, &part(0, 0..10), 10, Some((9, 1)));
    index.commit();
    drop(index);
    // The same id, or no id known: kept.
    assert_eq!(open(Some("id-1")).held(0).unwrap().end, 10);
    assert_eq!(open(None).held(0).unwrap().end, 10);
    // Another id: the topic was made again.
    let mut index = open(Some("id-2"));
    assert!(index.held(0).is_none());
    index.commit();
    drop(index);
    assert!(open(Some("id-1")).held(0).is_none());
    // An index made without an id takes the first one it is opened with.
    let mut index = open(None);
    index.append(0, &part(0, 0..10), 10, Some((9, 1)));
    index.commit();
    drop(index);
    open(Some("id-3")).commit();
    assert!(open(Some("id-4")).held(0).is_none());
}

#[test]
fn a_second_process_reads_but_does_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
    first.append(0, &part(0, 0..10), 10, Some((9, 1)));
    first.commit();
    // flock is per open file description: a second open in this process contends.
    let second = TopicIndex::open(dir.path(), "c1", "t", "f", None).unwrap();
    assert!(first.writable() && !second.writable());
    assert_eq!(entries(&second, 0), expected(0, 0..10));
}

#[test]
fn clear_removes_one_topic_or_all() {
    let dir = tempfile::tempdir().unwrap();
    for (c, t) in [("c1", "a"), ("c1", "b"), ("c2", "a")] {
        let mut index = TopicIndex::open(dir.path(), c, t, "f", None).unwrap();
        index.append(0, &part(0, 0..2), 2, Some((1, 1)));
        index.commit();
    }
    let gone = clear(dir.path(), Some("a")).unwrap();
    assert_eq!(gone.len(), 2);
    let left: Vec<String> = list(dir.path())
        .unwrap()
        .into_iter()
        .map(|l| l.topic)
        .collect();
    assert_eq!(left, ["b"]);
    clear(dir.path(), None).unwrap();
    assert!(list(dir.path()).unwrap().is_empty());
}
