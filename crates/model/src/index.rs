//! The compact index of a topic's events: an entry per record (partition, offset, time,
//! and its aggregate, type, key, event id, version and reference interned), in memory
//! while a topic loads and read in place from the store's mapped file once saved.

use std::fmt;

use super::event::RawRecord;
use super::extract::{Extractor, TopicRules};

mod walk;
pub use walk::aggregate_and_type;
use walk::{extract, key_label};

/// Strings stored once and referred to by number.
#[derive(Debug, Default)]
pub struct Interner {
    ids: rustc_hash::FxHashMap<std::rc::Rc<str>, u32>,
    strings: Vec<std::rc::Rc<str>>,
}

impl Interner {
    /// The number of a string, adding it when new.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        let shared: std::rc::Rc<str> = s.into();
        self.strings.push(shared.clone());
        self.ids.insert(shared, id);
        id
    }

    pub fn get(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    /// Room for `more` new strings (a table of millions grows its map once).
    fn reserve(&mut self, more: usize) {
        self.ids.reserve(more);
        self.strings.reserve(more);
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// No string (an optional field that is absent).
const ABSENT: u32 = u32::MAX;

/// One event in the index: where it is, when, and its interned ids; 48 bytes at most
/// (`size_of` is checked in a test), 44 on disk (`ENTRY_BYTES`). The payload lives
/// elsewhere (`cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub offset: i64,
    /// `i64::MIN` when the record has none.
    timestamp: i64,
    pub partition: i32,
    aggregate: u32,
    event_type: u32,
    key: u32,
    event_id: u32,
    version: u32,
    reference: u32,
}

/// The size of an entry on disk: its fields little-endian, in order, no padding.
pub const ENTRY_BYTES: usize = 44;

impl Entry {
    /// The entry as it is stored on disk.
    pub fn to_bytes(&self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[0..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.timestamp.to_le_bytes());
        out[16..20].copy_from_slice(&self.partition.to_le_bytes());
        let ids = [
            self.aggregate,
            self.event_type,
            self.key,
            self.event_id,
            self.version,
            self.reference,
        ];
        for (i, id) in ids.iter().enumerate() {
            out[20 + 4 * i..24 + 4 * i].copy_from_slice(&id.to_le_bytes());
        }
        out
    }

    /// An entry read back from `to_bytes`'s form (`b` holds at least `ENTRY_BYTES`).
    pub fn from_bytes(b: &[u8]) -> Entry {
        let i64_at = |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        Entry {
            offset: i64_at(0),
            timestamp: i64_at(8),
            partition: u32_at(16) as i32,
            aggregate: u32_at(20),
            event_type: u32_at(24),
            key: u32_at(28),
            event_id: u32_at(32),
            version: u32_at(36),
            reference: u32_at(40),
        }
    }

    pub fn timestamp(&self) -> Option<i64> {
        (self.timestamp != i64::MIN).then_some(self.timestamp)
    }

    /// The entry with each string id passed through `map` (`ABSENT` stays absent).
    fn mapped(self, mut map: impl FnMut(u32) -> u32) -> Entry {
        let mut map = |id: u32| if id == ABSENT { ABSENT } else { map(id) };
        Entry {
            aggregate: map(self.aggregate),
            event_type: map(self.event_type),
            key: map(self.key),
            event_id: map(self.event_id),
            version: map(self.version),
            reference: map(self.reference),
            ..self
        }
    }
}

/// Bytes that can be shared between threads: a memory-mapped file of entries, or any
/// buffer.
pub type SharedBytes = std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Entries stored elsewhere (`to_bytes`'s form, one after the other; a memory-mapped
/// index file): read in place, never copied into the heap. Their string ids refer to
/// the on-disk index's table, which `IndexPart::table` hands over as it grows.
#[derive(Clone)]
pub struct Mapped {
    pub bytes: SharedBytes,
    /// Which entries of `bytes`: `from..from + len`.
    pub from: usize,
    pub len: usize,
}

impl fmt::Debug for Mapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mapped({}..{})", self.from, self.from + self.len)
    }
}

impl Mapped {
    /// The `i`th entry of the view, with the ids of `strings`.
    pub fn entry(&self, i: usize) -> Entry {
        let at = (self.from + i) * ENTRY_BYTES;
        Entry::from_bytes(&(*self.bytes).as_ref()[at..at + ENTRY_BYTES])
    }

    /// The entries' aggregate ids (in the table of the on-disk index), read alone.
    fn aggregates(&self) -> impl Iterator<Item = u32> + '_ {
        let bytes = (*self.bytes).as_ref();
        (self.from..self.from + self.len).map(move |i| {
            let at = i * ENTRY_BYTES + 20;
            u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
        })
    }

    /// The view narrowed to the entries whose offsets are in `offsets` (entries are in
    /// offset order).
    pub fn within(&self, offsets: std::ops::Range<i64>) -> Mapped {
        let first = partition_point(self.len, |i| self.entry(i).offset < offsets.start);
        let end = partition_point(self.len, |i| self.entry(i).offset < offsets.end);
        Mapped {
            from: self.from + first,
            len: end.max(first) - first,
            ..self.clone()
        }
    }

    /// The view narrowed to its entries `from..from + len`.
    pub fn slice(&self, from: usize, len: usize) -> Mapped {
        assert!(from + len <= self.len, "{from}+{len} of {}", self.len);
        Mapped {
            from: self.from + from,
            len,
            ..self.clone()
        }
    }

    /// Checks that the view's entries can be read: in `partition`, offsets rising, and
    /// every string id in a table of `strings`. Says what is wrong with the first that
    /// is not.
    pub fn check(&self, partition: i32, strings: usize) -> Result<(), String> {
        let n = strings as u32;
        let mut previous = i64::MIN;
        for i in 0..self.len {
            let e = self.entry(i);
            let ids_ok = [e.aggregate, e.event_type, e.key].iter().all(|&id| id < n)
                && [e.event_id, e.version, e.reference]
                    .iter()
                    .all(|&id| id < n || id == ABSENT);
            if e.partition != partition || e.offset <= previous || e.offset < 0 || !ids_ok {
                return Err(format!(
                    "entry {i} (partition {}, offset {}) does not fit",
                    e.partition, e.offset
                ));
            }
            previous = e.offset;
        }
        Ok(())
    }
}

/// The first of `0..len` for which `before` is false (`before` is true, then false).
fn partition_point(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// A run of the index's entries: in the heap, or read in place from a mapped file.
enum Segment {
    Heap(Vec<Entry>),
    Mapped(Mapped),
}

/// The events of a topic, compactly: coordinates, times, types, aggregate ids, keys,
/// event ids, versions and compensation references. Entries a load found in the
/// on-disk index stay there (mapped), the others are in the heap.
#[derive(Default)]
pub struct EventIndex {
    segments: Vec<Segment>,
    /// Where each segment starts.
    starts: Vec<usize>,
    len: usize,
    strings: Interner,
    /// Where each string of the on-disk index's table is in `strings` (mapped entries'
    /// ids go through it).
    disk_ids: Vec<u32>,
    /// Records read uncommitted that belong to aborted or open transactions (few):
    /// shown, never folded.
    transactions: rustc_hash::FxHashMap<super::Coord, super::event::Transaction>,
}

impl fmt::Debug for EventIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EventIndex({} entries in {} segments)",
            self.len,
            self.segments.len()
        )
    }
}

impl EventIndex {
    /// Adds an event; `reference` is what the topic's `compensation_ref` finds in it.
    pub fn push(&mut self, e: &super::Event, reference: Option<&str>) {
        let mut opt = |s: Option<&str>| s.map_or(ABSENT, |s| self.strings.id(s));
        let (event_id, version, reference) = (
            opt(e.event_id.as_deref()),
            opt(e.version.as_deref()),
            opt(reference),
        );
        let entry = Entry {
            offset: e.offset,
            timestamp: e.timestamp.unwrap_or(i64::MIN),
            partition: e.partition,
            aggregate: self.strings.id(&e.aggregate),
            event_type: self.strings.id(&e.event_type),
            key: self.strings.id(&e.key.label()),
            event_id,
            version,
            reference,
        };
        self.heap().push(entry);
        self.len += 1;
        if let Some(t) = e.transaction {
            self.transactions.insert(e.coord(), t);
        }
    }

    /// Whether the record at `at` is of an aborted or open transaction (read with
    /// `--isolation uncommitted`).
    pub fn transaction(&self, at: super::Coord) -> Option<super::event::Transaction> {
        self.transactions.get(&at).copied()
    }

    /// How many records of aborted and of open transactions it holds.
    pub fn transactions(&self) -> (usize, usize) {
        let aborted = self
            .transactions
            .values()
            .filter(|t| **t == super::event::Transaction::Aborted)
            .count();
        (aborted, self.transactions.len() - aborted)
    }

    /// The heap segment at the end, made when the last one is mapped.
    fn heap(&mut self) -> &mut Vec<Entry> {
        if !matches!(self.segments.last(), Some(Segment::Heap(_))) {
            self.segments.push(Segment::Heap(Vec::new()));
            self.starts.push(self.len);
        }
        match self.segments.last_mut() {
            Some(Segment::Heap(v)) => v,
            _ => unreachable!("a heap segment was just pushed"),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One event's view into the index.
    pub fn get(&self, i: usize) -> Indexed<'_> {
        assert!(i < self.len, "index {i} of {} entries", self.len);
        let s = self.starts.partition_point(|&start| start <= i) - 1;
        let at = i - self.starts[s];
        let entry = match &self.segments[s] {
            Segment::Heap(v) => v[at],
            Segment::Mapped(m) => m.entry(at).mapped(|id| self.disk_ids[id as usize]),
        };
        Indexed {
            entry,
            strings: &self.strings,
        }
    }

    /// Every entry in order, segment by segment (no search per entry).
    pub fn iter(&self) -> impl Iterator<Item = Indexed<'_>> + '_ {
        self.segments.iter().flat_map(move |s| {
            let len = match s {
                Segment::Heap(v) => v.len(),
                Segment::Mapped(m) => m.len,
            };
            (0..len).map(move |at| Indexed {
                entry: match s {
                    Segment::Heap(v) => v[at],
                    Segment::Mapped(m) => m.entry(at).mapped(|id| self.disk_ids[id as usize]),
                },
                strings: &self.strings,
            })
        })
    }

    /// Where an aggregate's events are, in order: compared by interned id, reading
    /// only the aggregate of mapped entries.
    pub fn of_aggregate(&self, aggregate: &str) -> Vec<usize> {
        let Some(&id) = self.strings.ids.get(aggregate) else {
            return vec![];
        };
        // The on-disk table holds each string once.
        let disk_id = self
            .disk_ids
            .iter()
            .position(|&x| x == id)
            .map(|x| x as u32);
        let mut found = Vec::new();
        for (s, &start) in self.segments.iter().zip(&self.starts) {
            match s {
                Segment::Heap(v) => found.extend(
                    v.iter()
                        .enumerate()
                        .filter(|(_, e)| e.aggregate == id)
                        .map(|(i, _)| start + i),
                ),
                Segment::Mapped(m) => {
                    let Some(disk_id) = disk_id else { continue };
                    let mine = m.aggregates().enumerate().filter(|&(_, a)| a == disk_id);
                    found.extend(mine.map(|(i, _)| start + i))
                }
            }
        }
        found
    }

    /// The entries from `from` on, each as its aggregate and type (interned ids: see
    /// `string`), coordinates and time. Of a mapped entry, only these two ids are
    /// looked up.
    pub fn each_aggregate_from(
        &self,
        from: usize,
        mut f: impl FnMut(u32, u32, super::Coord, Option<i64>),
    ) {
        let mut call = |e: Entry, aggregate: u32, kind: u32| {
            let at = super::Coord {
                partition: e.partition,
                offset: e.offset,
            };
            f(aggregate, kind, at, e.timestamp())
        };
        for (s, &start) in self.segments.iter().zip(&self.starts) {
            match s {
                Segment::Heap(v) => {
                    let skip = from.saturating_sub(start);
                    for e in v.iter().skip(skip) {
                        call(*e, e.aggregate, e.event_type);
                    }
                }
                Segment::Mapped(m) => {
                    for at in from.saturating_sub(start)..m.len {
                        let e = m.entry(at);
                        let disk = |id: u32| self.disk_ids[id as usize];
                        call(e, disk(e.aggregate), disk(e.event_type));
                    }
                }
            }
        }
    }

    /// An interned string (an id `each_aggregate_from` gave).
    pub fn string(&self, id: u32) -> &str {
        self.strings.get(id)
    }

    /// How many strings are interned: ids are below it.
    pub fn strings(&self) -> usize {
        self.strings.len()
    }

    /// Each entry's offset, aggregate and type (what tests compare).
    #[doc(hidden)]
    pub fn rows(&self) -> Vec<(i64, String, String)> {
        let row = |e: Indexed<'_>| {
            (
                e.coord().offset,
                e.aggregate().into(),
                e.event_type().into(),
            )
        };
        self.iter().map(row).collect()
    }

    /// Entries read in place from the on-disk index.
    pub fn mapped(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Mapped(m) => m.len,
                Segment::Heap(_) => 0,
            })
            .sum()
    }

    /// Bytes the index holds in the heap: entries, and the interned strings once each
    /// (mapped entries are not counted: the kernel pages them in and out).
    pub fn bytes(&self) -> usize {
        let heap: usize = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Heap(v) => v.capacity() * std::mem::size_of::<Entry>(),
                Segment::Mapped(_) => 0,
            })
            .sum::<usize>()
            + self.disk_ids.capacity() * 4;
        heap + self
            .strings
            .strings
            .iter()
            .map(|s| s.len() + 16 + 32)
            .sum::<usize>()
    }
}

/// Index entries made off the UI thread from raw records, with strings of their own:
/// sent to the UI, which appends them (`EventIndex::append`).
#[derive(Debug, Default, Clone)]
pub struct IndexPart {
    /// Some records' bytes, kept so that showing them needs no read (bounded by the
    /// loader).
    pub kept: Vec<super::dump::DumpRecord>,
    /// Entries from the on-disk index, which come before this part's own.
    pub mapped: Option<Mapped>,
    /// Strings the on-disk index's table gained since the last part sent (the whole
    /// table with the first), before `mapped` refers to them.
    pub table: Vec<String>,
    /// Its records that belong to aborted or open transactions (read uncommitted).
    pub transactions: Vec<(super::Coord, super::event::Transaction)>,
    entries: Vec<Entry>,
    strings: Vec<String>,
    ids: rustc_hash::FxHashMap<String, u32>,
}

impl IndexPart {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.ids.insert(s.to_owned(), id);
        id
    }

    fn opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(ABSENT, |s| self.id(s))
    }

    /// Indexes a raw record as `EventIndex::push` would its decoded event: where the
    /// key and value are plain, by walking the JSON along the configured paths only;
    /// else from a full decode. `reference` is the topic's `compensation_ref`.
    pub fn push_raw(
        &mut self,
        raw: &RawRecord<'_>,
        rules: &TopicRules,
        reference: Option<&Extractor>,
    ) {
        let entry = if rules.payloads.plain(raw.key, raw.value) {
            let (aggregate, event_type) = aggregate_and_type(raw, rules);
            let key = key_label(raw.key);
            let found = |x: Option<&Extractor>| x.and_then(|x| extract(x, raw));
            let (event_id, version, reference) = (
                found(rules.event_id.as_ref()),
                found(rules.version.as_ref()),
                found(reference),
            );
            Entry {
                offset: raw.offset,
                timestamp: raw.timestamp.unwrap_or(i64::MIN),
                partition: raw.partition,
                aggregate: self.id(&aggregate),
                event_type: self.id(&event_type),
                key: self.id(&key),
                event_id: self.opt(event_id.as_deref()),
                version: self.opt(version.as_deref()),
                reference: self.opt(reference.as_deref()),
            }
        } else {
            let e = super::Event::decode(raw, rules);
            let found = reference.and_then(|r| r.extract(&e, None));
            Entry {
                offset: e.offset,
                timestamp: e.timestamp.unwrap_or(i64::MIN),
                partition: e.partition,
                aggregate: self.id(&e.aggregate),
                event_type: self.id(&e.event_type),
                key: self.id(&e.key.label()),
                event_id: self.opt(e.event_id.as_deref()),
                version: self.opt(e.version.as_deref()),
                reference: self.opt(found.as_deref()),
            }
        };
        self.entries.push(entry);
    }

    /// Entries of its own (not counting `mapped`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.mapped.as_ref().is_none_or(|m| m.len == 0)
    }

    /// Its own entries as stored on disk, appended to `out`, with string ids from `id`
    /// (the on-disk index's string table).
    pub fn encode(&self, id: &mut dyn FnMut(&str) -> u32, out: &mut Vec<u8>) {
        let ids: Vec<u32> = self.strings.iter().map(|s| id(s)).collect();
        for e in &self.entries {
            out.extend_from_slice(&e.mapped(|i| ids[i as usize]).to_bytes());
        }
    }

    /// The aggregate id and type of the entry pushed last.
    pub fn last_aggregate_and_type(&self) -> Option<(&str, &str)> {
        let e = self.entries.last()?;
        Some((
            &self.strings[e.aggregate as usize],
            &self.strings[e.event_type as usize],
        ))
    }

    /// Takes another part's entries (after its own) and kept records.
    pub fn absorb(&mut self, other: IndexPart) {
        let ids: Vec<u32> = other.strings.iter().map(|s| self.id(s)).collect();
        self.entries.extend(
            other
                .entries
                .into_iter()
                .map(|e| e.mapped(|id| ids[id as usize])),
        );
        self.kept.extend(other.kept);
        self.transactions.extend(other.transactions);
    }

    /// Keeps only its own entries whose times `keep` admits.
    pub fn retain_times(&mut self, keep: impl Fn(Option<i64>) -> bool) {
        self.entries.retain(|e| keep(e.timestamp()));
    }

    /// A part of mapped entries only, with what the table gained.
    pub fn of_mapped(m: Mapped, table: Vec<String>) -> IndexPart {
        IndexPart {
            mapped: Some(m),
            table,
            ..IndexPart::default()
        }
    }

    /// The entries of `m` whose times `keep` admits, copied into a part of their own
    /// (`strings`: the table their ids refer to).
    pub fn from_mapped(
        m: &Mapped,
        strings: &[String],
        keep: impl Fn(Option<i64>) -> bool,
    ) -> IndexPart {
        let mut part = IndexPart::default();
        for i in 0..m.len {
            let e = m.entry(i);
            if keep(e.timestamp()) {
                let e = e.mapped(|id| part.id(&strings[id as usize]));
                part.entries.push(e);
            }
        }
        part
    }
}

/// Records indexed by partition, as a load or `aggregates` indexes a batch of them:
/// each partition's entries, and its last record with that record's check
/// (`reuse::record_check`), which the on-disk index keeps.
#[derive(Debug, Default)]
pub struct PartitionParts {
    pub parts: std::collections::HashMap<i32, IndexPart>,
    pub lasts: std::collections::HashMap<i32, (i64, u32)>,
}

impl PartitionParts {
    /// Indexes a record into its partition's part, and returns that part.
    pub fn push(
        &mut self,
        raw: &RawRecord<'_>,
        rules: &TopicRules,
        reference: Option<&Extractor>,
    ) -> &IndexPart {
        let check = super::reuse::record_check(raw.timestamp, raw.key, raw.value);
        self.lasts.insert(raw.partition, (raw.offset, check));
        let part = self.parts.entry(raw.partition).or_default();
        part.push_raw(raw, rules, reference);
        part
    }

    /// Marks the record just pushed as of an aborted or open transaction.
    pub fn mark(&mut self, raw: &RawRecord<'_>, transaction: super::event::Transaction) {
        let at = super::Coord {
            partition: raw.partition,
            offset: raw.offset,
        };
        let part = self.parts.entry(raw.partition).or_default();
        part.transactions.push((at, transaction));
    }
}

impl EventIndex {
    /// Appends entries made elsewhere: mapped ones stay where they are, the part's own
    /// have their strings interned here once each.
    pub fn append(&mut self, part: IndexPart) {
        self.strings.reserve(part.table.len());
        self.disk_ids.reserve(part.table.len());
        for s in &part.table {
            let id = self.strings.id(s);
            self.disk_ids.push(id);
        }
        if let Some(m) = part.mapped.filter(|m| m.len > 0) {
            self.starts.push(self.len);
            self.len += m.len;
            self.segments.push(Segment::Mapped(m));
        }
        self.transactions.extend(part.transactions);
        let ids: Vec<u32> = part.strings.iter().map(|s| self.strings.id(s)).collect();
        let added = part.entries.len();
        self.heap().extend(
            part.entries
                .into_iter()
                .map(|e| e.mapped(|id| ids[id as usize])),
        );
        self.len += added;
    }
}

/// One indexed event, with its strings.
#[derive(Debug, Clone, Copy)]
pub struct Indexed<'a> {
    entry: Entry,
    strings: &'a Interner,
}

impl<'a> Indexed<'a> {
    fn opt(&self, id: u32) -> Option<&'a str> {
        (id != ABSENT).then(|| self.strings.get(id))
    }

    pub fn coord(&self) -> super::Coord {
        super::Coord {
            partition: self.entry.partition,
            offset: self.entry.offset,
        }
    }

    pub fn timestamp(&self) -> Option<i64> {
        (self.entry.timestamp != i64::MIN).then_some(self.entry.timestamp)
    }

    pub fn aggregate(&self) -> &'a str {
        self.strings.get(self.entry.aggregate)
    }

    pub fn event_type(&self) -> &'a str {
        self.strings.get(self.entry.event_type)
    }

    /// The key as shown (text, or a label for bytes and tombstones).
    pub fn key(&self) -> &'a str {
        self.strings.get(self.entry.key)
    }

    pub fn event_id(&self) -> Option<&'a str> {
        self.opt(self.entry.event_id)
    }

    pub fn version(&self) -> Option<&'a str> {
        self.opt(self.entry.version)
    }

    /// In a reversing event: the id of the event it reverses.
    pub fn reference(&self) -> Option<&'a str> {
        self.opt(self.entry.reference)
    }
}

#[cfg(test)]
mod tests;
