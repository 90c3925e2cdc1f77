//! Topic ids (KIP-516): Kafka gives a topic a new one when it is made again under the
//! same name. Asked with librdkafka's DescribeTopics, which rust-rdkafka 0.39 does not
//! wrap. A broker may never answer it (librdkafka's mock cluster does not): callers ask
//! off the path of a load, and use what has arrived.

use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};

use rdkafka::bindings as rd;
use rdkafka::consumer::Consumer;

use super::Cluster;

impl Cluster {
    /// The ids of these topics as the cluster describes them (base64, as Kafka's tools
    /// print them). A topic is left out when the cluster gives it none: an older
    /// broker, the zero id, an error, or no answer within the connection's timeout.
    pub fn topic_ids(&self, topics: &[String]) -> HashMap<String, String> {
        let names: Vec<CString> = topics
            .iter()
            .filter_map(|t| CString::new(t.as_str()).ok())
            .collect();
        if names.is_empty() {
            return HashMap::new();
        }
        let timeout_ms = self.conn.timeout().as_millis().min(i32::MAX as u128 / 2) as i32;
        let rk = self.consumer.client().native_ptr();
        // SAFETY: every object is made and destroyed here, in librdkafka's documented
        // pairs; the answer's strings are copied before its event is destroyed.
        unsafe {
            let mut pointers: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
            let collection =
                rd::rd_kafka_TopicCollection_of_topic_names(pointers.as_mut_ptr(), pointers.len());
            let options = rd::rd_kafka_AdminOptions_new(
                rk,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS,
            );
            let mut error = [0 as c_char; 256];
            rd::rd_kafka_AdminOptions_set_request_timeout(
                options,
                timeout_ms,
                error.as_mut_ptr(),
                error.len(),
            );
            let queue = rd::rd_kafka_queue_new(rk);
            rd::rd_kafka_DescribeTopics(rk, collection, options, queue);
            let event = rd::rd_kafka_queue_poll(queue, timeout_ms + 1_000);
            let ids = match event.is_null() {
                true => HashMap::new(),
                false => {
                    let ids = described_ids(event);
                    rd::rd_kafka_event_destroy(event);
                    ids
                }
            };
            rd::rd_kafka_queue_destroy(queue);
            rd::rd_kafka_AdminOptions_destroy(options);
            rd::rd_kafka_TopicCollection_destroy(collection);
            ids
        }
    }
}

/// The ids in a DescribeTopics result event, by topic name.
///
/// # Safety
/// `event` is a live event from the queue DescribeTopics answered on.
unsafe fn described_ids(event: *mut rd::rd_kafka_event_t) -> HashMap<String, String> {
    let mut ids = HashMap::new();
    let no_error = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
    if rd::rd_kafka_event_error(event) != no_error {
        return ids;
    }
    let result = rd::rd_kafka_event_DescribeTopics_result(event);
    if result.is_null() {
        return ids;
    }
    let mut count = 0usize;
    let described = rd::rd_kafka_DescribeTopics_result_topics(result, &mut count);
    if described.is_null() {
        return ids;
    }
    for &topic in std::slice::from_raw_parts(described, count) {
        let error = rd::rd_kafka_TopicDescription_error(topic);
        if !error.is_null() && rd::rd_kafka_error_code(error) != no_error {
            continue;
        }
        let name = rd::rd_kafka_TopicDescription_name(topic);
        let uuid = rd::rd_kafka_TopicDescription_topic_id(topic);
        if name.is_null()
            || uuid.is_null()
            || (rd::rd_kafka_Uuid_most_significant_bits(uuid) == 0
                && rd::rd_kafka_Uuid_least_significant_bits(uuid) == 0)
        {
            continue;
        }
        // Written as Kafka writes it (librdkafka's base64str uses the standard
        // alphabet, kafka-topics.sh the URL-safe one).
        ids.insert(
            CStr::from_ptr(name).to_string_lossy().into_owned(),
            crate::model::topic::topic_id_text(
                rd::rd_kafka_Uuid_most_significant_bits(uuid),
                rd::rd_kafka_Uuid_least_significant_bits(uuid),
            ),
        );
    }
    ids
}
