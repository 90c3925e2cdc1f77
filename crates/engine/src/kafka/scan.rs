//! Reading ranges of offsets and decoding them into events.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::{client_config, ClusterError};
use crate::config::Connection;
use crate::model::event::RawRecord;
use crate::model::select::PartitionRange as OffsetRange;
use crate::model::{Event, TopicRules};

/// Where each partition a read still reads is: the next offset it takes, and the end.
type Remaining = HashMap<i32, Span>;

#[derive(Debug, Clone, Copy)]
struct Span {
    next: i64,
    end: i64,
}

impl Span {
    fn of(range: &OffsetRange) -> Span {
        Span {
            next: range.start,
            end: range.end,
        }
    }
}

/// Told when a scan's brokers are lost (`Some(why)`) and when records come again (`None`).
pub type LinkWatch = Box<dyn Fn(Option<String>) + Send>;

/// Reads ranges of a topic with one consumer (no group, nothing committed).
pub struct Scanner {
    /// The consumer's log (dropped before the consumer, whose client it refers to).
    logs: Option<super::batch::Logs>,
    /// Why the brokers were lost, while they are; whom to tell.
    lost: std::cell::RefCell<Option<String>>,
    link_watch: Option<LinkWatch>,
    consumer: BaseConsumer,
    /// Records and bytes (keys, values, headers) read so far.
    read: std::cell::Cell<(u64, u64)>,
    brokers: String,
    /// How long a scan waits without any record before it reports a stall: the request
    /// timeout and 5 s more (15 s by default).
    stall: Duration,
    /// Reading uncommitted: the same connection reading committed, to tell aborted and
    /// open records apart (a second read of every range, only when asked).
    committed: Option<Connection>,
}

impl Scanner {
    /// Creates the consumer for scans.
    pub fn new(conn: &Connection) -> Result<Scanner, ClusterError> {
        let consumer = client_config(conn)
            .set("fetch.wait.max.ms", "50")
            // Reading as fast as the broker serves: a full local queue delays the next
            // fetch by this much (librdkafka's default is a whole second).
            .set("fetch.queue.backoff.ms", "5")
            // Prefetched records held locally: librdkafka's 64 MB default is what a
            // topic-wide read of many partitions fills; a quarter reads as fast here.
            .set("queued.max.messages.kbytes", "16384")
            // An offset out of range goes to the log's start, not its end (librdkafka's
            // default): records deleted under a read (retention) leave what is left to
            // read; a log that went back under the read (a broker back without its data)
            // is told by the offsets it gives again (`Scanner::admit`).
            .set("auto.offset.reset", "earliest")
            // librdkafka wants a group for assign(); it is never joined nor committed to.
            .set("group.id", "rewind-scanner")
            .create()
            .map_err(ClusterError::Client)?;
        Ok(Scanner {
            logs: super::batch::Logs::new(&consumer),
            lost: Default::default(),
            link_watch: None,
            consumer,
            read: std::cell::Cell::new((0, 0)),
            brokers: conn.brokers.clone(),
            stall: conn.timeout() + Duration::from_secs(5),
            committed: (conn.isolation == crate::config::ReadIsolation::Uncommitted)
                .then(|| conn.committed()),
        })
    }

    /// What a record of `partition` at `offset` means for the read: to be handed over
    /// (`Ok(true)`), or past its range (`Ok(false)`). An offset below one already read
    /// (or below the range's start) means the log went back under the read: a broker
    /// back without its data gives the log's new start again.
    fn admit(
        &self,
        topic: &str,
        remaining: &mut Remaining,
        partition: i32,
        offset: i64,
    ) -> Result<bool, ClusterError> {
        let Some(span) = remaining.get_mut(&partition) else {
            return Ok(false);
        };
        if offset >= span.end {
            remaining.remove(&partition);
            return Ok(false);
        }
        self.in_order(topic, &mut span.next, partition, offset)?;
        if span.next >= span.end {
            remaining.remove(&partition);
        }
        Ok(true)
    }

    /// Takes `offset` as the next record of `partition`, whose next offset is `next`: an
    /// offset below it means the log went back under the read.
    fn in_order(
        &self,
        topic: &str,
        next: &mut i64,
        partition: i32,
        offset: i64,
    ) -> Result<(), ClusterError> {
        if offset < *next {
            let detail = format!(
                "partition {partition} went back to offset {offset}, before {next} already read"
            );
            return Err(self.gone(topic, detail));
        }
        *next = offset + 1;
        Ok(())
    }

    /// Where `partition`'s log ends now, when that is before `end`: what a read to `end`
    /// can no longer get.
    fn ends_before(
        &self,
        topic: &str,
        partition: i32,
        end: i64,
    ) -> Result<Option<String>, KafkaError> {
        let (_, high) = self
            .consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(2))?;
        Ok((high < end)
            .then(|| format!("partition {partition} now ends at offset {high}, not {end}")))
    }

    /// A partition's end reached at offset `at`: done with it, unless its log ends
    /// before the range it was read for. That is checked with the brokers first (a new
    /// leader's high watermark may lag a moment); if the log still reaches the range's
    /// end, the partition is read on.
    fn ended(
        &self,
        topic: &str,
        remaining: &mut Remaining,
        partition: i32,
        at: i64,
    ) -> Result<(), ClusterError> {
        let Some(span) = remaining.remove(&partition) else {
            return Ok(());
        };
        self.answered();
        if at < 0 || at >= span.end {
            return Ok(());
        }
        match self.ends_before(topic, partition, span.end) {
            Ok(None) => {
                remaining.insert(partition, span);
                Ok(())
            }
            Ok(Some(short)) => Err(self.gone(topic, short)),
            Err(_) => Err(self.gone(
                topic,
                format!(
                    "partition {partition} ended at offset {at}, not {}",
                    span.end
                ),
            )),
        }
    }

    /// Brokers that answer are back, whatever they hold.
    fn answered(&self) {
        if self.lost.borrow_mut().take().is_some() {
            tracing::info!(brokers = %self.brokers, "scan: the brokers are back");
            if let Some(watch) = &self.link_watch {
                watch(None);
            }
        }
    }

    /// The records being read are gone: `detail` says where.
    fn gone(&self, topic: &str, detail: String) -> ClusterError {
        self.answered();
        ClusterError::RecordsGone {
            brokers: self.brokers.clone(),
            topic: topic.to_owned(),
            detail,
        }
    }

    /// A read that got no record for `stall`, as the error to report once the brokers
    /// were asked where the partitions it still reads end now: brokers that answer but
    /// no longer hold the records being read (a broker back without its data, as Tansu's
    /// memory store comes back; a topic deleted or truncated) are said to be so, since
    /// waiting longer would not bring them.
    fn stalled(&self, topic: &str, remaining: &Remaining, detail: String) -> ClusterError {
        let mut short = Vec::new();
        let mut answered = false;
        let mut partitions: Vec<(i32, i64)> = remaining.iter().map(|(&p, s)| (p, s.end)).collect();
        partitions.sort();
        for (partition, end) in partitions {
            match self.ends_before(topic, partition, end) {
                Ok(Some(ended)) => short.push(ended),
                Ok(None) => {}
                Err(KafkaError::MetadataFetch(
                    RDKafkaErrorCode::UnknownTopicOrPartition
                    | RDKafkaErrorCode::UnknownTopic
                    | RDKafkaErrorCode::UnknownPartition,
                )) => {
                    short = vec![format!("{topic} no longer exists")];
                    answered = true;
                    break;
                }
                // Not answered: the brokers are still away.
                Err(e) => {
                    tracing::info!(topic, partition, error = %e, "stalled: watermarks not given");
                    break;
                }
            }
            answered = true;
        }
        if answered {
            self.answered();
        }
        if short.is_empty() {
            return ClusterError::Stalled {
                brokers: self.brokers.clone(),
                topic: topic.to_owned(),
                seconds: self.stall.as_secs(),
                missing: remaining.len(),
                detail: match answered {
                    true => "the brokers answer, but sent no record".into(),
                    false => detail,
                },
            };
        }
        if short.len() > 3 {
            let more = short.len() - 3;
            short.truncate(3);
            short.push(format!("{more} more partition(s) too"));
        }
        self.gone(topic, short.join("; "))
    }

    /// Tells `watch` when the brokers are lost during a scan and when records come
    /// again.
    pub fn watch_link(&mut self, watch: LinkWatch) {
        self.link_watch = Some(watch);
    }

    /// Takes the client's log lines: into rewind's log, and the loss of every broker
    /// (librdkafka's "N/N brokers are down") to the link's watcher. `arrived`: records
    /// came since the last call, so the brokers are back.
    fn serve_log(&self, arrived: bool) {
        if arrived {
            self.answered();
        }
        let mut lost = self.lost.borrow_mut();
        let Some(logs) = &self.logs else { return };
        logs.drain(&mut |level, text| {
            tracing::debug!(level, text, "librdkafka");
            if lost.is_none() && every_broker_down(text) {
                // "rewind#consumer-2: 1/1 brokers are down": the client's name is not news.
                let why = text.rsplit(": ").next().unwrap_or(text).to_owned();
                tracing::warn!(%why, "scan: the brokers are lost");
                if let Some(watch) = &self.link_watch {
                    watch(Some(format!("{why} at {}", self.brokers)));
                }
                *lost = Some(why);
            }
        });
    }

    /// Takes the log lines left from an earlier read into rewind's log only: a loss
    /// they tell of is over or will be seen again.
    fn forget_log(&self) {
        if let Some(logs) = &self.logs {
            logs.drain(&mut |level, text| tracing::debug!(level, text, "librdkafka"));
        }
    }

    /// Reads every record in `ranges`, one range after the other (so in partition then
    /// offset order when the ranges are sorted), decodes each with `rules` and hands it
    /// to `sink`. Says whether `sink` broke off before the end.
    pub fn scan(
        &self,
        topic: &str,
        ranges: &[OffsetRange],
        rules: &TopicRules,
        sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ClusterError> {
        self.scan_watching(topic, ranges, rules, sink, &mut |_| {})
    }

    /// Reads every record in `ranges` from all partitions at once, so their fetches
    /// overlap: offset order within each partition, partitions interleaved; records are
    /// handed over raw, for readers that index without decoding (aggregate counts).
    pub fn scan_unordered(
        &self,
        topic: &str,
        ranges: &[OffsetRange],
        on_record: &mut dyn FnMut(&RawRecord<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ClusterError> {
        let ranges: Vec<&OffsetRange> = ranges.iter().filter(|r| r.end > r.start).collect();
        if ranges.is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        let mut assignment = TopicPartitionList::new();
        for range in &ranges {
            assignment
                .add_partition_offset(topic, range.partition, Offset::Offset(range.start))
                .map_err(ClusterError::Client)?;
        }
        self.consumer
            .assign(&assignment)
            .map_err(ClusterError::Client)?;
        self.forget_log();
        let mut remaining: Remaining = ranges.iter().map(|r| (r.partition, Span::of(r))).collect();
        let flow = match super::batch::BatchQueue::new(&self.consumer) {
            Some(mut queue) => self.drain_batched(&mut queue, topic, &mut remaining, on_record),
            None => self.drain(topic, &mut remaining, on_record, &mut |_| {}),
        };
        let _ = self.consumer.unassign();
        flow
    }

    /// `drain`, taking records from the queue in batches.
    fn drain_batched(
        &self,
        queue: &mut super::batch::BatchQueue,
        topic: &str,
        remaining: &mut Remaining,
        on_record: &mut dyn FnMut(&RawRecord<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ClusterError> {
        use super::batch::Item;
        let mut last_progress = Instant::now();
        let mut last_error = String::from("no error reported");
        let mut outcome: Option<Result<ControlFlow<()>, ClusterError>> = None;
        while !remaining.is_empty() && outcome.is_none() {
            let mut progressed = false;
            queue.next(topic, Duration::from_millis(100), &mut |item| {
                if outcome.is_some() {
                    return;
                }
                match item {
                    Item::Eof(partition, at) => {
                        progressed = true;
                        if let Err(gone) = self.ended(topic, remaining, partition, at) {
                            outcome = Some(Err(gone));
                        }
                    }
                    Item::Error(e @ KafkaError::MessageConsumption(code))
                        if is_fatal_for_scan(code) =>
                    {
                        outcome = Some(Err(ClusterError::Read {
                            topic: topic.to_owned(),
                            cause: e,
                        }));
                    }
                    Item::Error(e) => {
                        tracing::warn!(topic, error = %e, "scan: transient error");
                        last_error = e.to_string();
                    }
                    Item::Record(raw) => {
                        progressed = true;
                        match self.admit(topic, remaining, raw.partition, raw.offset) {
                            Ok(true) => {}
                            Ok(false) => return,
                            Err(gone) => {
                                outcome = Some(Err(gone));
                                return;
                            }
                        }
                        self.count(&raw);
                        if on_record(&raw).is_break() {
                            outcome = Some(Ok(ControlFlow::Break(())));
                        }
                    }
                }
            });
            self.serve_log(progressed);
            if progressed {
                last_progress = Instant::now();
            } else if last_progress.elapsed() > self.stall {
                let detail = self.lost.borrow().clone().unwrap_or(last_error);
                return Err(self.stalled(topic, remaining, detail));
            }
        }
        outcome.unwrap_or(Ok(ControlFlow::Continue(())))
    }

    /// Reads new records from `starts` (partition, offset) on, as they arrive, until
    /// `sink` breaks off or `wanted` says to stop (asked when no record came for a
    /// while, and every 1,024 records).
    pub fn follow(
        &self,
        topic: &str,
        starts: &[(i32, i64)],
        rules: &TopicRules,
        sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
        wanted: &dyn Fn() -> bool,
    ) -> Result<(), ClusterError> {
        let mut assignment = TopicPartitionList::new();
        for (partition, offset) in starts {
            assignment
                .add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(ClusterError::Client)?;
        }
        self.consumer
            .assign(&assignment)
            .map_err(ClusterError::Client)?;
        self.forget_log();
        // The next offset of each partition: a log that goes back under a follow (a
        // broker back without its data) would give offsets again.
        let mut next: HashMap<i32, i64> = starts.iter().copied().collect();
        // `wanted` is asked when the stream is quiet, and every 1,024 records.
        let mut quiet = true;
        let mut since_asked = 0u32;
        let result = loop {
            if quiet || since_asked >= 1024 {
                since_asked = 0;
                self.serve_log(false);
                if !wanted() {
                    break Ok(());
                }
            }
            since_asked += 1;
            let polled = self.consumer.poll(Duration::from_millis(200));
            quiet = polled.is_none();
            match polled {
                None | Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e @ KafkaError::MessageConsumption(code))) if is_fatal_for_scan(code) => {
                    break Err(ClusterError::Read {
                        topic: topic.to_owned(),
                        cause: e,
                    });
                }
                Some(Err(e)) => tracing::warn!(topic, error = %e, "follow: transient error"),
                Some(Ok(message)) => {
                    self.answered();
                    let (partition, offset) = (message.partition(), message.offset());
                    let expected = next.entry(partition).or_insert(offset);
                    if let Err(gone) = self.in_order(topic, expected, partition, offset) {
                        break Err(gone);
                    }
                    if sink(Event::decode(&raw_record(topic, &message), rules)).is_break() {
                        break Ok(());
                    }
                }
            }
        };
        let _ = self.consumer.unassign();
        result
    }

    /// The partitions' high watermarks as this consumer sees them: reading uncommitted
    /// the log's end, reading committed its last stable offset (records past it are
    /// in open transactions).
    pub fn high_watermarks(
        &self,
        topic: &str,
        partitions: &mut [crate::model::PartitionInfo],
    ) -> Result<(), ClusterError> {
        for p in partitions {
            let (_, high) = self
                .consumer
                .fetch_watermarks(topic, p.partition, self.stall)
                .map_err(|cause| ClusterError::Read {
                    topic: topic.to_owned(),
                    cause,
                })?;
            p.high = high;
        }
        Ok(())
    }

    /// Reading uncommitted: what a read_committed consumer returns of each range, so
    /// that the records of aborted and open transactions can be marked (a second read
    /// of the ranges, committed, up to their last stable offsets). `None` reading
    /// committed.
    pub fn committed_views(
        &self,
        topic: &str,
        ranges: &[OffsetRange],
    ) -> Result<Option<HashMap<i32, crate::model::event::CommittedView>>, ClusterError> {
        match &self.committed {
            Some(conn) => committed_views(conn, topic, ranges).map(Some),
            None => Ok(None),
        }
    }

    /// `scan`, telling `watch` when the client reports trouble (`Some(what)`: the broker
    /// is unreachable, a request failed) and when records flow again (`None`).
    pub fn scan_watching(
        &self,
        topic: &str,
        ranges: &[OffsetRange],
        rules: &TopicRules,
        sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
        watch: &mut dyn FnMut(Option<String>),
    ) -> Result<ControlFlow<()>, ClusterError> {
        let views = self.committed_views(topic, ranges)?;
        self.scan_watching_raw(
            topic,
            ranges,
            &mut |raw| {
                let mut event = Event::decode(raw, rules);
                if let Some(view) = views.as_ref().and_then(|v| v.get(&raw.partition)) {
                    event.transaction = view.mark(raw.offset);
                }
                sink(event)
            },
            watch,
        )
    }

    /// `scan_watching`, handing records over raw (the TUI's load indexes them without
    /// decoding them whole).
    pub fn scan_watching_raw(
        &self,
        topic: &str,
        ranges: &[OffsetRange],
        sink: &mut dyn FnMut(&RawRecord<'_>) -> ControlFlow<()>,
        watch: &mut dyn FnMut(Option<String>),
    ) -> Result<ControlFlow<()>, ClusterError> {
        self.forget_log();
        for range in ranges.iter().filter(|r| r.end > r.start) {
            let mut assignment = TopicPartitionList::new();
            assignment
                .add_partition_offset(topic, range.partition, Offset::Offset(range.start))
                .map_err(ClusterError::Client)?;
            self.consumer
                .assign(&assignment)
                .map_err(ClusterError::Client)?;
            let mut remaining = Remaining::from([(range.partition, Span::of(range))]);
            let flow = self.drain(topic, &mut remaining, sink, watch);
            let _ = self.consumer.unassign();
            if flow?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Counts a record read.
    fn count(&self, raw: &RawRecord<'_>) {
        let (records, bytes) = self.read.get();
        self.read.set((records + 1, bytes + raw.size() as u64));
    }

    /// How many records, and bytes of keys, values and headers, this scanner has read.
    pub fn read(&self) -> (u64, u64) {
        self.read.get()
    }

    /// The first record at or after `offset` (and before `end`), decoded.
    pub fn first_at(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        end: i64,
        rules: &TopicRules,
    ) -> Result<Option<Event>, ClusterError> {
        let range = OffsetRange {
            partition,
            start: offset,
            end,
        };
        let mut found = None;
        let _ = self.scan(topic, &[range], rules, &mut |e| {
            found = Some(e);
            ControlFlow::Break(())
        })?;
        Ok(found)
    }

    fn drain(
        &self,
        topic: &str,
        remaining: &mut Remaining,
        on_record: &mut dyn FnMut(&RawRecord<'_>) -> ControlFlow<()>,
        watch: &mut dyn FnMut(Option<String>),
    ) -> Result<ControlFlow<()>, ClusterError> {
        let mut troubled = false;
        let mut last_progress = Instant::now();
        // Set by each record; the clock is read only when the queue runs dry.
        let mut progressed = false;
        let mut last_error = String::from("no error reported");
        while !remaining.is_empty() {
            // Take what is queued without a deadline (no clock read per record); wait
            // only when the queue is empty.
            let polled = match self.consumer.poll(Duration::ZERO) {
                None => {
                    let arrived = std::mem::take(&mut progressed);
                    if arrived {
                        last_progress = Instant::now();
                    }
                    self.serve_log(arrived);
                    self.consumer.poll(Duration::from_millis(100))
                }
                some => some,
            };
            match polled {
                None => {}
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    progressed = true;
                    // Where the log ended: the high watermark of the last fetch.
                    let at = super::batch::cached_high(&self.consumer, topic, partition);
                    self.ended(topic, remaining, partition, at.unwrap_or(-1))?;
                }
                Some(Err(e @ KafkaError::MessageConsumption(code))) if is_fatal_for_scan(code) => {
                    return Err(ClusterError::Read {
                        topic: topic.to_owned(),
                        cause: e,
                    });
                }
                Some(Err(e)) => {
                    tracing::warn!(topic, error = %e, "scan: transient error");
                    last_error = e.to_string();
                    troubled = true;
                    watch(Some(last_error.clone()));
                }
                Some(Ok(message)) => {
                    progressed = true;
                    if std::mem::take(&mut troubled) {
                        watch(None);
                    }
                    if !self.admit(topic, remaining, message.partition(), message.offset())? {
                        continue;
                    }
                    let raw = raw_record(topic, &message);
                    self.count(&raw);
                    if on_record(&raw).is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                }
            }
            if !progressed && last_progress.elapsed() > self.stall {
                let detail = self.lost.borrow().clone().unwrap_or(last_error);
                return Err(self.stalled(topic, remaining, detail));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// A record as rewind decodes it, borrowed from the client's message.
fn raw_record<'a>(topic: &'a str, message: &'a BorrowedMessage<'_>) -> RawRecord<'a> {
    RawRecord {
        topic,
        partition: message.partition(),
        offset: message.offset(),
        timestamp: message.timestamp().to_millis(),
        key: message.key(),
        headers: message
            .headers()
            .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
            .unwrap_or_default(),
        value: message.payload(),
    }
}

/// Whether a librdkafka log line says every broker is down ("2/2 brokers are down"; it
/// also logs "0/2 brokers are down" as they come back).
fn every_broker_down(text: &str) -> bool {
    let Some(head) = text.strip_suffix(" brokers are down") else {
        return false;
    };
    let counts = head.rsplit(' ').next().unwrap_or(head);
    match counts.split_once('/') {
        Some((down, all)) => down == all && down != "0",
        None => false,
    }
}

fn is_fatal_for_scan(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::Authentication
    )
}

/// What a read_committed consumer returns of each range: which offsets, and where the
/// partition's last stable offset is.
fn committed_views(
    conn: &Connection,
    topic: &str,
    ranges: &[OffsetRange],
) -> Result<HashMap<i32, crate::model::event::CommittedView>, ClusterError> {
    let scanner = Scanner::new(conn)?;
    let mut views: HashMap<i32, crate::model::event::CommittedView> = HashMap::new();
    let mut below_stable = Vec::new();
    for range in ranges {
        let (_, last_stable) = scanner
            .consumer
            .fetch_watermarks(topic, range.partition, conn.timeout())
            .map_err(|cause| ClusterError::Read {
                topic: topic.to_owned(),
                cause,
            })?;
        views.entry(range.partition).or_default().last_stable = last_stable;
        // Past the last stable offset every record is open: a committed read there would
        // wait for records that do not come.
        below_stable.push(OffsetRange {
            end: range.end.min(last_stable),
            ..*range
        });
    }
    let _ = scanner.scan_unordered(topic, &below_stable, &mut |raw| {
        views
            .entry(raw.partition)
            .or_default()
            .offsets
            .insert(raw.offset);
        ControlFlow::Continue(())
    })?;
    Ok(views)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_broker_down_is_told_from_some_down_and_from_back() {
        assert!(super::every_broker_down(
            "[thrd:app]: rewind#consumer-2: 1/1 brokers are down"
        ));
        assert!(super::every_broker_down("3/3 brokers are down"));
        assert!(!super::every_broker_down(
            "rewind#consumer-2: 0/2 brokers are down"
        ));
        assert!(!super::every_broker_down("1/3 brokers are down"));
        assert!(!super::every_broker_down(
            "Connect to ipv4#127.0.0.1:9092 failed"
        ));
    }
}
