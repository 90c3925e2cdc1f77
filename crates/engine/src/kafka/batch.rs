//! Taking records from the consumer's queue many at a time
//! (`rd_kafka_consume_batch_queue`): one lock and no event object per record, which is
//! what `poll` costs for every record. The unsafe part of rewind, kept here and small.

use std::ptr::NonNull;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::model::event::RawRecord;

/// Records per call.
const BATCH: usize = 1024;

/// What the queue gave.
pub enum Item<'a> {
    Record(RawRecord<'a>),
    /// The end of a partition was reached: the partition, and the offset its log ends at.
    Eof(i32, i64),
    Error(KafkaError),
}

/// The consumer's queue, read in batches. It borrows the consumer: the queue belongs to
/// the consumer's client and must not outlive it.
pub struct BatchQueue<'c> {
    queue: NonNull<rd::rd_kafka_queue_t>,
    messages: Vec<*mut rd::rd_kafka_message_t>,
    _consumer: std::marker::PhantomData<&'c BaseConsumer>,
}

impl<'c> BatchQueue<'c> {
    pub fn new(consumer: &'c BaseConsumer) -> Option<BatchQueue<'c>> {
        // SAFETY: the client pointer is valid for the consumer's lifetime 'c, which
        // outlives this queue (the type borrows the consumer); the returned queue
        // reference is released in `drop`.
        let queue = unsafe { rd::rd_kafka_queue_get_consumer(consumer.client().native_ptr()) };
        Some(BatchQueue {
            queue: NonNull::new(queue)?,
            messages: vec![std::ptr::null_mut(); BATCH],
            _consumer: std::marker::PhantomData,
        })
    }

    /// Waits up to `timeout` for records, hands each to `f`, and says how many came.
    pub fn next(&mut self, topic: &str, timeout: Duration, f: &mut dyn FnMut(Item<'_>)) -> usize {
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: `messages` has room for `len` pointers; librdkafka fills `n` of them.
        let n = unsafe {
            rd::rd_kafka_consume_batch_queue(
                self.queue.as_ptr(),
                ms,
                self.messages.as_mut_ptr(),
                self.messages.len(),
            )
        };
        let n = n.max(0) as usize;
        for &message in &self.messages[..n] {
            // SAFETY: each returned message is valid until destroyed, below, after `f`
            // has used the borrowed record.
            unsafe {
                f(item(topic, &*message));
                rd::rd_kafka_message_destroy(message);
            }
        }
        n
    }
}

impl Drop for BatchQueue<'_> {
    fn drop(&mut self) {
        // SAFETY: releases the reference taken in `new`.
        unsafe { rd::rd_kafka_queue_destroy(self.queue.as_ptr()) }
    }
}

/// # Safety
/// `m` must be a valid message; the item borrows from it.
unsafe fn item<'a>(topic: &'a str, m: &'a rd::rd_kafka_message_t) -> Item<'a> {
    if m.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        let code = RDKafkaErrorCode::from(m.err);
        return match code {
            RDKafkaErrorCode::PartitionEOF => Item::Eof(m.partition, m.offset),
            code => Item::Error(KafkaError::MessageConsumption(code)),
        };
    }
    let bytes = |p: *mut std::ffi::c_void, len: usize| -> Option<&'a [u8]> {
        // SAFETY: librdkafka gives a pointer to `len` bytes owned by the message.
        (!p.is_null()).then(|| unsafe { std::slice::from_raw_parts(p as *const u8, len) })
    };
    let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    // SAFETY: `m` is a valid message (the caller's contract); `kind` is writable.
    let timestamp = unsafe { rd::rd_kafka_message_timestamp(m, &mut kind) };
    let mut headers = Vec::new();
    let mut hdrs: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
    // SAFETY: `m` is valid; the headers it gives are owned by the message.
    if unsafe { rd::rd_kafka_message_headers(m, &mut hdrs) }
        == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    {
        let mut idx = 0;
        loop {
            let (mut name, mut value, mut size) = (std::ptr::null(), std::ptr::null(), 0usize);
            // SAFETY: `hdrs` is the message's header list; the out-pointers are writable.
            if unsafe { rd::rd_kafka_header_get_all(hdrs, idx, &mut name, &mut value, &mut size) }
                != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                break;
            }
            // SAFETY: header names are NUL-terminated strings owned by the message.
            let name = unsafe { std::ffi::CStr::from_ptr(name) }
                .to_str()
                .unwrap_or("");
            let value = bytes(value as *mut _, size);
            headers.push((name, value));
            idx += 1;
        }
    }
    Item::Record(RawRecord {
        topic,
        partition: m.partition,
        offset: m.offset,
        timestamp: (kind != rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            && timestamp != -1)
            .then_some(timestamp),
        key: bytes(m.key, m.key_len),
        headers,
        value: bytes(m.payload, m.len),
    })
}

/// The high watermark of `partition` as the consumer's last fetch answer gave it (no
/// request is made), where known.
pub fn cached_high(consumer: &BaseConsumer, topic: &str, partition: i32) -> Option<i64> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client is the consumer's live client; the out-pointers are writable.
    let err = unsafe {
        rd::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}

/// A scan consumer's log, on a queue of its own. librdkafka puts its log lines (and the
/// errors no callback takes, as "ERROR" lines) on the client's main queue, which a
/// consumer forwards to the queue `BatchQueue` reads; served there, they would be
/// printed on stderr by librdkafka's default logger (over the TUI's screen). Here they
/// are taken and handed to the caller instead.
pub struct Logs {
    queue: NonNull<rd::rd_kafka_queue_t>,
}

// SAFETY: librdkafka's queues are thread-safe; the handle is used by one owner at a time.
unsafe impl Send for Logs {}

impl Logs {
    /// Redirects `consumer`'s log to a new queue. The owner must drop it before the
    /// consumer (the queue handle refers to the consumer's client).
    pub fn new(consumer: &BaseConsumer) -> Option<Logs> {
        let rk = consumer.client().native_ptr();
        // SAFETY: `rk` is the consumer's live client; the queue is released in `drop`,
        // and librdkafka keeps its own reference to the queue it forwards the log to.
        unsafe {
            let queue = NonNull::new(rd::rd_kafka_queue_new(rk))?;
            if rd::rd_kafka_set_log_queue(rk, queue.as_ptr())
                != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                rd::rd_kafka_queue_destroy(queue.as_ptr());
                return None;
            }
            Some(Logs { queue })
        }
    }

    /// Hands every log line waiting to `f` (its level, as syslog's, and text), without
    /// waiting.
    pub fn drain(&self, f: &mut dyn FnMut(i32, &str)) {
        loop {
            // SAFETY: the queue is live (owned here); each event is destroyed after its
            // strings, which it owns, have been used.
            unsafe {
                let event = rd::rd_kafka_queue_poll(self.queue.as_ptr(), 0);
                if event.is_null() {
                    return;
                }
                if rd::rd_kafka_event_type(event) == rd::RD_KAFKA_EVENT_LOG {
                    let (mut fac, mut text, mut level) = (std::ptr::null(), std::ptr::null(), 0);
                    if rd::rd_kafka_event_log(event, &mut fac, &mut text, &mut level) == 0
                        && !text.is_null()
                    {
                        f(level, &std::ffi::CStr::from_ptr(text).to_string_lossy());
                    }
                }
                rd::rd_kafka_event_destroy(event);
            }
        }
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        // SAFETY: releases the handle made in `new`.
        unsafe { rd::rd_kafka_queue_destroy(self.queue.as_ptr()) }
    }
}
