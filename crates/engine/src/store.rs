//! The on-disk index (SPEC.md, "Big topics"), per cluster and topic, under
//! `$XDG_CACHE_HOME/rewind/index/CLUSTER/TOPIC/`:
//! - `P.idx`: partition P's entries in offset order, `model::index::ENTRY_BYTES` each,
//!   appended to as the partition grows;
//! - `strings`: the table the entries' string ids refer to (a little-endian u32 length,
//!   then the bytes, per string), appended to;
//! - `meta.json`: the format, the fingerprint of what the entries were derived with,
//!   the table's size, and per partition which entries are live and what they cover.
//!
//! `meta.json` is written last, to a temporary file renamed over the old one: bytes
//! past what it counts are never read, so a load cut short leaves the index as it was.
//! Entries are read in place (memory-mapped), never copied into the heap. A file that
//! is rewritten (compaction, a partition read anew) is written aside and renamed, so a
//! mapping made earlier stays valid. One process writes a topic's index at a time (a
//! lock file); another one reads it and writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::index::{IndexPart, Mapped, ENTRY_BYTES};
use crate::model::reuse::Held;

/// The layout's version: an index of another is read anew.
pub const FORMAT: u32 = 1;

/// Where indexes live: `$XDG_CACHE_HOME/rewind/index`, else `~/.cache/rewind/index`.
pub fn root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("rewind").join("index"))
}

/// Where the index of `topic` on `cluster` lives.
fn topic_dir(root: &Path, cluster: &str, topic: &str) -> PathBuf {
    root.join(component(cluster)).join(component(topic))
}

/// A partition's file of entries in its topic's directory.
fn partition_file(dir: &Path, partition: i32) -> PathBuf {
    dir.join(format!("{partition}.idx"))
}

/// Maps the entries a partition's meta counts of its file (`None`: it counts none).
fn map_counted(file: &Path, m: &PartitionMeta) -> Result<Option<memmap2::Mmap>, String> {
    let file = File::open(file).map_err(|e| e.to_string())?;
    let need = (m.skip + m.count) as usize * ENTRY_BYTES;
    let len = file.metadata().map_err(|e| e.to_string())?.len() as usize;
    if len < need {
        return Err(format!("{len} bytes, fewer than the {need} counted"));
    }
    if need == 0 {
        return Ok(None);
    }
    // SAFETY: the file is only appended to, or replaced by renaming; the bytes mapped
    // here are never changed while mapped.
    let map =
        unsafe { memmap2::MmapOptions::new().len(need).map(&file) }.map_err(|e| e.to_string())?;
    Ok(Some(map))
}

/// A name safe as one path component.
fn component(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    match safe.as_str() {
        "" | "." | ".." => format!("_{safe}"),
        _ => safe,
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    format: u32,
    fingerprint: String,
    topic: String,
    /// The topic's id when the cluster gives one (KIP-516): a topic made again under
    /// the same name has another.
    #[serde(default)]
    topic_id: Option<String>,
    /// Strings in the table, and its bytes.
    strings: u64,
    strings_bytes: u64,
    partitions: BTreeMap<i32, PartitionMeta>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct PartitionMeta {
    /// Entries at the file's start that are no longer live (retention passed them).
    skip: u64,
    /// Live entries after those.
    count: u64,
    /// The entries cover every record in `start..end`.
    start: i64,
    end: i64,
    /// The last record's offset and check.
    last: Option<(i64, u32)>,
}

/// One topic's index, open for a load: what it holds, mapped, and (with the lock)
/// the means to extend it.
pub struct TopicIndex {
    dir: PathBuf,
    meta: Meta,
    /// The string table, new strings included.
    table: Vec<String>,
    /// How much of the table `new_strings` has handed out.
    sent: usize,
    /// Ids of every string in the table, new ones included.
    ids: rustc_hash::FxHashMap<String, u32>,
    /// Strings added since the table was last written.
    new_strings: Vec<u8>,
    added: u64,
    maps: HashMap<i32, Arc<memmap2::Mmap>>,
    /// Held while this process may write the index.
    lock: Option<File>,
    /// What went wrong while writing; nothing more is written after it.
    failed: Option<String>,
}

impl TopicIndex {
    /// Opens (or makes) the index of `topic` on `cluster`. An index that is corrupt, of
    /// another format, derived with other settings (`fingerprint`), or made for a topic
    /// of another id (`topic_id`, where the cluster gives one: the topic was made again)
    /// is discarded with a log line. Errors only when the directory cannot be made or
    /// written.
    pub fn open(
        root: &Path,
        cluster: &str,
        topic: &str,
        fingerprint: &str,
        topic_id: Option<&str>,
    ) -> std::io::Result<TopicIndex> {
        let dir = topic_dir(root, cluster, topic);
        fs::create_dir_all(&dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        // SAFETY: flock on a descriptor this function owns.
        let locked = unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&lock),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        } == 0;
        if !locked {
            tracing::info!(topic, "index: another rewind is writing it; reading only");
        }
        let mut index = TopicIndex {
            dir,
            meta: Meta::default(),
            table: Vec::new(),
            sent: 0,
            ids: Default::default(),
            new_strings: Vec::new(),
            added: 0,
            maps: HashMap::new(),
            lock: locked.then_some(lock),
            failed: None,
        };
        match index.read(topic, fingerprint, topic_id) {
            Ok(()) => {}
            Err(why) => {
                if index.dir.join("meta.json").exists() {
                    tracing::warn!(topic, "index discarded: {why}");
                }
                index.meta = Meta {
                    format: FORMAT,
                    fingerprint: fingerprint.to_owned(),
                    topic: topic.to_owned(),
                    ..Meta::default()
                };
                index.table.clear();
                index.ids.clear();
                index.maps.clear();
                if index.lock.is_some() {
                    index.clear_files()?;
                }
            }
        }
        if let Some(id) = topic_id {
            index.meta.topic_id = Some(id.to_owned());
        }
        Ok(index)
    }

    /// Reads meta, strings and the partitions' files; partitions that do not check out
    /// are dropped (logged); an error discards the whole index.
    fn read(
        &mut self,
        topic: &str,
        fingerprint: &str,
        topic_id: Option<&str>,
    ) -> Result<(), String> {
        let text = fs::read(self.dir.join("meta.json")).map_err(|e| e.to_string())?;
        let meta: Meta = serde_json::from_slice(&text).map_err(|e| format!("meta.json: {e}"))?;
        if meta.format != FORMAT {
            return Err(format!(
                "format {} (this rewind reads {FORMAT})",
                meta.format
            ));
        }
        if meta.fingerprint != fingerprint {
            return Err("the topic's settings (or rewind) changed since it was made".into());
        }
        if meta.topic != topic {
            return Err(format!("it is the index of {}", meta.topic));
        }
        if let (Some(held), Some(now)) = (meta.topic_id.as_deref(), topic_id) {
            if !crate::model::topic::same_topic_id(held, now) {
                return Err(format!(
                    "the topic was made again: its id is now {now}, the index's is {held}"
                ));
            }
        }
        let bytes = fs::read(self.dir.join("strings")).map_err(|e| format!("strings: {e}"))?;
        let strings = read_strings(&bytes, meta.strings, meta.strings_bytes)?;
        self.table = strings;
        self.meta = meta;
        let partitions: Vec<i32> = self.meta.partitions.keys().copied().collect();
        for p in partitions {
            if let Err(why) = self.map(p) {
                tracing::warn!(
                    topic,
                    partition = p,
                    "index of the partition discarded: {why}"
                );
                self.meta.partitions.remove(&p);
                self.maps.remove(&p);
            }
        }
        Ok(())
    }

    fn file(&self, partition: i32) -> PathBuf {
        partition_file(&self.dir, partition)
    }

    /// Maps a partition's file and checks its live entries.
    fn map(&mut self, partition: i32) -> Result<(), String> {
        self.remap(partition)?;
        let m = self.meta.partitions[&partition];
        let view = self.view(partition).expect("just mapped");
        view.check(partition, self.table.len())?;
        if let (Some(last), Some((offset, _))) = (view.len.checked_sub(1), m.last) {
            if view.entry(last).offset != offset {
                return Err("the last entry is not the record checked".into());
            }
        }
        Ok(())
    }

    /// Maps what the meta counts of a partition's file.
    fn remap(&mut self, partition: i32) -> Result<(), String> {
        match map_counted(&self.file(partition), &self.meta.partitions[&partition])? {
            Some(map) => self.maps.insert(partition, Arc::new(map)),
            None => self.maps.remove(&partition),
        };
        Ok(())
    }

    /// What the index holds of a partition.
    pub fn held(&self, partition: i32) -> Option<Held> {
        self.meta.partitions.get(&partition).map(|m| Held {
            start: m.start,
            end: m.end,
            last: m.last,
        })
    }

    /// The string table entries' ids refer to.
    pub fn table(&self) -> &[String] {
        &self.table
    }

    /// The strings the table gained since this was last asked (all of it the first
    /// time): what a reader of views needs before the entries that refer to them.
    pub fn new_strings(&mut self) -> Vec<String> {
        let new = self.table[self.sent..].to_vec();
        self.sent = self.table.len();
        new
    }

    /// A partition's live entries, read in place (as far as the file is mapped: all
    /// of them, after `append`).
    pub fn view(&self, partition: i32) -> Option<Mapped> {
        let m = self.meta.partitions.get(&partition)?;
        let bytes: crate::model::index::SharedBytes = match self.maps.get(&partition) {
            Some(map) => map.clone(),
            None => Arc::new(Vec::<u8>::new()),
        };
        Some(Mapped {
            bytes,
            from: m.skip as usize,
            len: m.count as usize,
        })
    }

    /// Whether this process may write the index.
    pub fn writable(&self) -> bool {
        self.lock.is_some() && self.failed.is_none()
    }

    /// Runs a write; the first failure stops all writing (logged once).
    fn write(&mut self, what: &str, f: impl FnOnce(&mut Self) -> std::io::Result<()>) {
        if !self.writable() {
            return;
        }
        if let Err(e) = f(self) {
            tracing::warn!(dir = %self.dir.display(), "index not written ({what}): {e}");
            self.failed = Some(format!("{what}: {e}"));
        }
    }

    /// The partition's index starts over, empty, at `start`.
    pub fn start_anew(&mut self, partition: i32, start: i64) {
        self.write("a partition anew", |x| {
            replace(&x.file(partition), &[])?;
            x.maps.remove(&partition);
            x.meta.partitions.insert(
                partition,
                PartitionMeta {
                    start,
                    end: start,
                    ..PartitionMeta::default()
                },
            );
            Ok(())
        });
    }

    /// Leaves out a partition's entries below `offset` (gone from the log); the file
    /// is rewritten once most of it is dead.
    pub fn drop_below(&mut self, partition: i32, offset: i64) {
        let Some(view) = self.view(partition) else {
            return;
        };
        let dead = view.len - view.within(offset..i64::MAX).len;
        if dead == 0 && self.meta.partitions[&partition].start >= offset {
            return;
        }
        self.write("a dropped prefix", |x| {
            let m = x.meta.partitions.get_mut(&partition).expect("held");
            m.skip += dead as u64;
            m.count -= dead as u64;
            m.start = m.start.max(offset);
            if m.skip > m.count {
                let live = view.within(offset..i64::MAX);
                let at = live.from * ENTRY_BYTES;
                let bytes = &(*live.bytes).as_ref()[at..at + live.len * ENTRY_BYTES];
                replace(&x.file(partition), bytes)?;
                let m = x.meta.partitions.get_mut(&partition).expect("held");
                m.skip = 0;
                x.map(partition).map_err(std::io::Error::other)?;
            }
            Ok(())
        });
    }

    /// Appends a part's entries to a partition's index, which now covers records up to
    /// `end` (exclusive); `last` is the check of the last record read. Returns where
    /// they are in the partition's `view`, unless they could not be written.
    pub fn append(
        &mut self,
        partition: i32,
        part: &IndexPart,
        end: i64,
        last: Option<(i64, u32)>,
    ) -> Option<std::ops::Range<usize>> {
        let before = self.meta.partitions.get(&partition).map_or(0, |m| m.count) as usize;
        self.write("entries", |x| {
            let mut bytes = Vec::with_capacity(part.len() * ENTRY_BYTES);
            // The ids of the table's strings, made on the first append (a reopen with
            // nothing new needs none).
            if x.ids.len() < x.table.len() {
                x.ids = x
                    .table
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.clone(), i as u32))
                    .collect();
            }
            let (ids, table, added) = (&mut x.ids, &mut x.new_strings, &mut x.added);
            let all = &mut x.table;
            part.encode(
                &mut |s| {
                    if let Some(&id) = ids.get(s) {
                        return id;
                    }
                    let id = ids.len() as u32;
                    ids.insert(s.to_owned(), id);
                    all.push(s.to_owned());
                    table.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    table.extend_from_slice(s.as_bytes());
                    *added += 1;
                    id
                },
                &mut bytes,
            );
            let m = x.meta.partitions.entry(partition).or_default();
            let path = x.dir.join(format!("{partition}.idx"));
            let mut file = OpenOptions::new().append(true).create(true).open(&path)?;
            // Bytes past what the meta counts (a write cut short) are cut off first.
            let counted = (m.skip + m.count) * ENTRY_BYTES as u64;
            if file.metadata()?.len() != counted {
                file.set_len(counted)?;
            }
            file.write_all(&bytes)?;
            m.count += part.len() as u64;
            m.end = m.end.max(end);
            if last.is_some() {
                m.last = last;
            }
            x.remap(partition).map_err(std::io::Error::other)
        });
        self.writable().then_some(before..before + part.len())
    }

    /// A partition's index covers records up to `end` (read to there).
    pub fn read_to(&mut self, partition: i32, end: i64) {
        if let Some(m) = self.meta.partitions.get_mut(&partition) {
            m.end = m.end.max(end);
        }
    }

    /// Forgets partitions the topic no longer has.
    pub fn keep_partitions(&mut self, partitions: &[i32]) {
        self.meta.partitions.retain(|p, _| partitions.contains(p));
    }

    /// Writes what was appended: the new strings, then the meta.
    pub fn commit(&mut self) {
        self.write("the table and meta", |x| {
            if !x.new_strings.is_empty() {
                let path = x.dir.join("strings");
                let mut file = OpenOptions::new().append(true).create(true).open(&path)?;
                if file.metadata()?.len() != x.meta.strings_bytes {
                    file.set_len(x.meta.strings_bytes)?;
                }
                file.write_all(&x.new_strings)?;
                x.meta.strings += x.added;
                x.meta.strings_bytes += x.new_strings.len() as u64;
                x.new_strings.clear();
                x.added = 0;
            }
            let text = serde_json::to_vec_pretty(&x.meta).map_err(std::io::Error::other)?;
            replace(&x.dir.join("meta.json"), &text)
        });
    }

    /// Removes the data files (an index discarded).
    fn clear_files(&self) -> std::io::Result<()> {
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n != "lock") {
                fs::remove_file(&path)?;
            }
        }
        File::create(self.dir.join("strings"))?;
        Ok(())
    }
}

impl Drop for TopicIndex {
    /// What was appended is kept, however the load ended.
    fn drop(&mut self) {
        self.commit();
    }
}

/// Writes a file aside and renames it over `path`: a reader sees the old file or the
/// new one, never half of one (and a mapping of the old file stays valid).
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let aside = path.with_extension("new");
    fs::write(&aside, bytes)?;
    fs::rename(&aside, path)
}

/// The string table: `count` strings in the first `len` bytes.
fn read_strings(bytes: &[u8], count: u64, len: u64) -> Result<Vec<String>, String> {
    let bytes = bytes
        .get(..len as usize)
        .ok_or_else(|| format!("strings: {} bytes, fewer than {len}", bytes.len()))?;
    let mut out = Vec::with_capacity(count as usize);
    let mut at = 0;
    while at < bytes.len() {
        let n = bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
            .ok_or("strings: a length cut short")?;
        let s = bytes
            .get(at + 4..at + 4 + n)
            .ok_or("strings: a string cut short")?;
        out.push(String::from_utf8(s.to_vec()).map_err(|_| "strings: not UTF-8")?);
        at += 4 + n;
    }
    if out.len() as u64 != count {
        return Err(format!("strings: {} strings, not {count}", out.len()));
    }
    Ok(out)
}

/// One topic's index on disk, for `rewind cache`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub cluster: String,
    pub topic: String,
    pub partitions: usize,
    pub entries: u64,
    pub bytes: u64,
}

/// Every topic's index under `root`, by cluster then topic.
pub fn list(root: &Path) -> std::io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let Ok(clusters) = fs::read_dir(root) else {
        return Ok(out);
    };
    for cluster in clusters {
        let cluster = cluster?;
        let Ok(topics) = fs::read_dir(cluster.path()) else {
            continue;
        };
        for topic in topics {
            let dir = topic?.path();
            let meta: Option<Meta> = fs::read(dir.join("meta.json"))
                .ok()
                .and_then(|t| serde_json::from_slice(&t).ok());
            let bytes = fs::read_dir(&dir)?
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum();
            out.push(Listed {
                cluster: cluster.file_name().to_string_lossy().into_owned(),
                topic: meta.as_ref().map_or_else(
                    || {
                        dir.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned()
                    },
                    |m| m.topic.clone(),
                ),
                partitions: meta.as_ref().map_or(0, |m| m.partitions.len()),
                entries: meta
                    .as_ref()
                    .map_or(0, |m| m.partitions.values().map(|p| p.count).sum()),
                bytes,
            });
        }
    }
    out.sort_by(|a, b| (&a.cluster, &a.topic).cmp(&(&b.cluster, &b.topic)));
    Ok(out)
}

/// What `records_held` needs to know of a topic: its partitions' watermarks now, and
/// its id where the cluster gave one.
pub struct Asked<'a> {
    pub cluster: &'a str,
    pub topic: &'a str,
    pub topic_id: Option<&'a str>,
    pub partitions: &'a [crate::model::PartitionInfo],
}

/// The topic id a topic's index was made for, where it holds one.
pub fn indexed_id(root: &Path, cluster: &str, topic: &str) -> Option<String> {
    read_meta(root, cluster, topic)?.topic_id
}

fn read_meta(root: &Path, cluster: &str, topic: &str) -> Option<Meta> {
    let dir = topic_dir(root, cluster, topic);
    let meta: Meta = serde_json::from_slice(&fs::read(dir.join("meta.json")).ok()?).ok()?;
    (meta.format == FORMAT && meta.topic == topic).then_some(meta)
}

/// How many records the topic holds, counted from its on-disk index: known only where
/// the index covers every partition from its low to its high watermark (an index is
/// made by read_committed loads, so it counts records, not offsets: no transaction
/// markers, no aborted records). `None` when any partition is not covered, or the
/// index is of a topic since made again. Entries are counted whatever settings they
/// were derived with: every record has one.
pub fn records_held(root: &Path, asked: &Asked<'_>) -> Option<u64> {
    let meta = read_meta(root, asked.cluster, asked.topic)?;
    let dir = topic_dir(root, asked.cluster, asked.topic);
    if let Some(held) = meta.topic_id.as_deref() {
        // An index of an id the cluster does not confirm may be of an earlier topic.
        if !asked
            .topic_id
            .is_some_and(|now| crate::model::topic::same_topic_id(held, now))
        {
            return None;
        }
    }
    let mut records = 0u64;
    for p in asked.partitions {
        if p.high <= p.low {
            continue;
        }
        let m = meta.partitions.get(&p.partition)?;
        if m.start > p.low || m.end != p.high {
            return None;
        }
        // No entry: every offset there is a marker or an aborted record.
        let Some(map) = map_counted(&partition_file(&dir, p.partition), m).ok()? else {
            continue;
        };
        let view = Mapped {
            bytes: Arc::new(map),
            from: m.skip as usize,
            len: m.count as usize,
        };
        records += view.within(p.low..p.high).len as u64;
    }
    Some(records)
}

/// Removes every topic's index (`topic` None) or one topic's on every cluster; returns
/// what was removed.
pub fn clear(root: &Path, topic: Option<&str>) -> std::io::Result<Vec<Listed>> {
    let listed: Vec<Listed> = list(root)?
        .into_iter()
        .filter(|l| topic.is_none_or(|t| l.topic == t))
        .collect();
    for l in &listed {
        let dir = root.join(&l.cluster).join(component(&l.topic));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
    }
    Ok(listed)
}

/// What a topic's index entries are derived with: the settings that find ids,
/// types, versions and references, the schemas of unframed values (their files'
/// contents), whether a registry decodes framed ones, and rewind's version. An
/// index made with another fingerprint is read anew.
pub fn fingerprint(config: &crate::config::Config, topic: &str) -> String {
    let mut text = format!(
        "{}|registry {}|",
        env!("CARGO_PKG_VERSION"),
        config.registry.is_some()
    );
    if let Some(t) = config.topic(topic) {
        text += &format!(
            "{:?}",
            (
                &t.aggregate,
                &t.event_type,
                &t.event_id,
                &t.version,
                &t.compensation_ref,
                &t.value_format,
                &t.key_format,
            )
        );
        if let Some(schema) = &t.schema {
            let base = t.base.clone().unwrap_or_default();
            let mut files: Vec<&PathBuf> = schema.avro.iter().collect();
            if let Some(proto) = &schema.proto {
                files.extend(&proto.files);
                files.extend(&proto.includes);
                text += &proto.message;
            }
            for f in files {
                let contents = std::fs::read(base.join(f)).unwrap_or_default();
                text += &format!("|{}:{:08x}", f.display(), crc32fast::hash(&contents));
            }
        }
    }
    format!("{:08x}", crc32fast::hash(text.as_bytes()))
}

#[cfg(test)]
mod tests;
