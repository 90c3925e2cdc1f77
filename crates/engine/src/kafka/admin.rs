//! librdkafka's admin API for consumer groups, which rdkafka 0.39 does not wrap:
//! DescribeConsumerGroups (a group's state, by name, from its coordinator),
//! ListConsumerGroups, and AlterConsumerGroupOffsets (how kafka-consumer-groups.sh writes
//! offsets: the coordinator itself refuses a group with members). The unsafe calls are
//! kept here behind `GroupAdmin`, which borrows the client it calls through.

use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use crate::model::group::{CoordinatorAnswer, Member};

/// A failed admin request: librdkafka's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub code: RDKafkaErrorCode,
    pub message: String,
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.code)
    }
}

impl AdminError {
    /// Whether the broker lacks the API (so another way may be tried).
    pub fn unsupported(&self) -> bool {
        matches!(
            self.code,
            RDKafkaErrorCode::UnsupportedFeature | RDKafkaErrorCode::UnsupportedVersion
        )
    }
}

/// One group as its coordinator described it.
#[derive(Debug, Clone)]
pub struct Description {
    pub group: String,
    pub answer: CoordinatorAnswer,
    pub members: Vec<Member>,
    /// Answered through ConsumerGroupDescribe (KIP-848's consumer protocol) rather than
    /// the classic DescribeGroups.
    pub consumer_protocol: bool,
    /// The assignor its members agreed on (`range`, `uniform`…), when it has one.
    pub protocol: Option<String>,
}

/// What a broker listing gave: group names, and the brokers that did not answer.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub groups: Vec<String>,
    pub errors: Vec<String>,
}

/// The admin calls, made through a client that must outlive this value.
pub struct GroupAdmin<'c> {
    rk: NonNull<rd::rd_kafka_t>,
    timeout: Duration,
    _client: PhantomData<&'c ()>,
}

/// Frees what one admin request allocated, whatever way it ends.
struct Request {
    options: *mut rd::rd_kafka_AdminOptions_t,
    queue: *mut rd::rd_kafka_queue_t,
    event: *mut rd::rd_kafka_event_t,
}

impl Drop for Request {
    fn drop(&mut self) {
        // SAFETY: each pointer is either null or was returned by its constructor in
        // `GroupAdmin::request` and is destroyed exactly once, here.
        unsafe {
            if !self.event.is_null() {
                rd::rd_kafka_event_destroy(self.event);
            }
            if !self.queue.is_null() {
                rd::rd_kafka_queue_destroy(self.queue);
            }
            if !self.options.is_null() {
                rd::rd_kafka_AdminOptions_destroy(self.options);
            }
        }
    }
}

impl<'c> GroupAdmin<'c> {
    /// Admin calls through this consumer's client, each bounded by `timeout`.
    pub fn new<C: rdkafka::consumer::ConsumerContext>(
        consumer: &'c BaseConsumer<C>,
        timeout: Duration,
    ) -> GroupAdmin<'c> {
        GroupAdmin {
            rk: NonNull::new(consumer.client().native_ptr()).expect("a live client"),
            timeout,
            _client: PhantomData,
        }
    }

    /// Starts one request with `start` and waits for its result event (checked to be of
    /// `expected` type and without a request-level error).
    fn request(
        &self,
        op: rd::rd_kafka_admin_op_t,
        expected: i32,
        start: impl FnOnce(
            *mut rd::rd_kafka_t,
            *const rd::rd_kafka_AdminOptions_t,
            *mut rd::rd_kafka_queue_t,
        ),
    ) -> Result<Request, AdminError> {
        let ms = self.timeout.as_millis().clamp(1, i32::MAX as u128 / 2) as i32;
        // SAFETY: `rk` is a live client for 'c (PhantomData); the options and queue are
        // owned by `Request`, which frees them after the event is read.
        let mut request = unsafe {
            Request {
                options: rd::rd_kafka_AdminOptions_new(self.rk.as_ptr(), op),
                queue: rd::rd_kafka_queue_new(self.rk.as_ptr()),
                event: std::ptr::null_mut(),
            }
        };
        if request.options.is_null() || request.queue.is_null() {
            return Err(AdminError {
                code: RDKafkaErrorCode::Fail,
                message: "librdkafka could not set up the admin request".into(),
            });
        }
        let mut errstr = [0 as c_char; 256];
        // SAFETY: `errstr` is a writable buffer of the size passed; options are live.
        unsafe {
            rd::rd_kafka_AdminOptions_set_request_timeout(
                request.options,
                ms,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
        }
        start(self.rk.as_ptr(), request.options, request.queue);
        // The request times out inside librdkafka after `ms`; the extra second lets that
        // timeout's own event arrive, which says more than a bare "no answer".
        // SAFETY: the queue is live until `request` drops.
        request.event = unsafe { rd::rd_kafka_queue_poll(request.queue, ms + 1000) };
        if request.event.is_null() {
            return Err(AdminError {
                code: RDKafkaErrorCode::OperationTimedOut,
                message: format!("no answer within {ms} ms"),
            });
        }
        // SAFETY: the event is live until `request` drops; the strings it returns are
        // borrowed from it and copied before then.
        unsafe {
            let err = rd::rd_kafka_event_error(request.event);
            if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(AdminError {
                    code: err.into(),
                    message: text(rd::rd_kafka_event_error_string(request.event)),
                });
            }
            let kind = rd::rd_kafka_event_type(request.event);
            if kind != expected {
                return Err(AdminError {
                    code: RDKafkaErrorCode::Fail,
                    message: format!("librdkafka answered with event type {kind}, not {expected}"),
                });
            }
        }
        Ok(request)
    }

    /// Asks each group's coordinator about the group, by name.
    pub fn describe(&self, groups: &[String]) -> Result<Vec<Description>, AdminError> {
        let names: Vec<CString> = groups
            .iter()
            .map(|g| CString::new(g.as_str()).unwrap_or_default())
            .collect();
        let mut pointers: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        let request = self.request(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
            rd::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT,
            // SAFETY: `pointers` and the strings they point to live through the call;
            // librdkafka copies the names.
            |rk, options, queue| unsafe {
                rd::rd_kafka_DescribeConsumerGroups(
                    rk,
                    pointers.as_mut_ptr(),
                    pointers.len(),
                    options,
                    queue,
                )
            },
        )?;
        let mut out = Vec::with_capacity(groups.len());
        // SAFETY: the result, its descriptions, members and assignments are owned by
        // the event, which `request` keeps alive until the end of this function; every
        // string is copied out.
        unsafe {
            let result = rd::rd_kafka_event_DescribeConsumerGroups_result(request.event);
            let mut count = 0usize;
            let descriptions =
                rd::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut count);
            for i in 0..count {
                let d = *descriptions.add(i);
                let group = text(rd::rd_kafka_ConsumerGroupDescription_group_id(d));
                let error = rd::rd_kafka_ConsumerGroupDescription_error(d);
                let answer = if !error.is_null() {
                    let code: RDKafkaErrorCode = rd::rd_kafka_error_code(error).into();
                    match code {
                        RDKafkaErrorCode::GroupIdNotFound => CoordinatorAnswer::NotFound,
                        RDKafkaErrorCode::GroupAuthorizationFailed => {
                            CoordinatorAnswer::Failed(format!(
                                "{} to describe the group: the principal lacks DESCRIBE on it ({})",
                                super::groups::NOT_AUTHORIZED,
                                text(rd::rd_kafka_error_string(error))
                            ))
                        }
                        RDKafkaErrorCode::UnsupportedFeature
                        | RDKafkaErrorCode::UnsupportedVersion => {
                            CoordinatorAnswer::Failed(format!(
                                "the broker cannot describe groups (no DescribeGroups: {})",
                                text(rd::rd_kafka_error_string(error))
                            ))
                        }
                        _ => CoordinatorAnswer::Failed(format!(
                            "its coordinator could not be asked: {} ({code:?})",
                            text(rd::rd_kafka_error_string(error))
                        )),
                    }
                } else {
                    CoordinatorAnswer::State(state_name(
                        rd::rd_kafka_ConsumerGroupDescription_state(d),
                    ))
                };
                let mut members = Vec::new();
                if error.is_null() {
                    for m in 0..rd::rd_kafka_ConsumerGroupDescription_member_count(d) {
                        let member = rd::rd_kafka_ConsumerGroupDescription_member(d, m);
                        if member.is_null() {
                            continue;
                        }
                        let assignment = rd::rd_kafka_MemberDescription_assignment(member);
                        let partitions = match assignment.is_null() {
                            true => std::ptr::null(),
                            false => rd::rd_kafka_MemberAssignment_partitions(assignment),
                        };
                        members.push(Member {
                            id: text(rd::rd_kafka_MemberDescription_consumer_id(member)),
                            client_id: text(rd::rd_kafka_MemberDescription_client_id(member)),
                            host: text(rd::rd_kafka_MemberDescription_host(member)),
                            assignment: by_topic(partitions),
                        });
                    }
                }
                let consumer_protocol = error.is_null()
                    && rd::rd_kafka_ConsumerGroupDescription_type(d)
                        == rd::rd_kafka_consumer_group_type_t::RD_KAFKA_CONSUMER_GROUP_TYPE_CONSUMER;
                let protocol = match error.is_null() {
                    true => Some(text(
                        rd::rd_kafka_ConsumerGroupDescription_partition_assignor(d),
                    ))
                    .filter(|p| !p.is_empty()),
                    false => None,
                };
                out.push(Description {
                    group,
                    answer,
                    members,
                    consumer_protocol,
                    protocol,
                });
            }
        }
        Ok(out)
    }

    /// The groups the brokers list (each broker lists those it coordinates); brokers that
    /// did not answer are named in `errors`.
    pub fn list(&self) -> Result<Listing, AdminError> {
        let request = self.request(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
            rd::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
            // SAFETY: the options and queue are live (owned by the request).
            |rk, options, queue| unsafe { rd::rd_kafka_ListConsumerGroups(rk, options, queue) },
        )?;
        let mut listing = Listing::default();
        // SAFETY: the listings and errors are owned by the event, alive until `request`
        // drops at the end of this function; strings are copied out.
        unsafe {
            let result = rd::rd_kafka_event_ListConsumerGroups_result(request.event);
            let mut count = 0usize;
            let valid = rd::rd_kafka_ListConsumerGroups_result_valid(result, &mut count);
            for i in 0..count {
                listing
                    .groups
                    .push(text(rd::rd_kafka_ConsumerGroupListing_group_id(
                        *valid.add(i),
                    )));
            }
            let mut count = 0usize;
            let errors = rd::rd_kafka_ListConsumerGroups_result_errors(result, &mut count);
            for i in 0..count {
                listing
                    .errors
                    .push(text(rd::rd_kafka_error_string(*errors.add(i))));
            }
        }
        Ok(listing)
    }

    /// Writes a group's offsets on one topic (OffsetCommit from outside the group, as
    /// kafka-consumer-groups.sh does). `Err` for the whole request; per partition, the
    /// broker's refusal where it refused.
    pub fn alter_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<Vec<(i32, Option<String>)>, AdminError> {
        let mut list = TopicPartitionList::with_capacity(offsets.len());
        for (partition, offset) in offsets {
            list.add_partition_offset(topic, *partition, rdkafka::Offset::Offset(*offset))
                .map_err(|e| AdminError {
                    code: RDKafkaErrorCode::InvalidArgument,
                    message: e.to_string(),
                })?;
        }
        let name = CString::new(group).unwrap_or_default();
        let request = self.request(
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
            rd::RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT,
            // SAFETY: `name` and `list` live through the call; librdkafka copies both
            // into the object, which copies them again into the request and is
            // destroyed right after.
            |rk, options, queue| unsafe {
                let mut alter =
                    rd::rd_kafka_AlterConsumerGroupOffsets_new(name.as_ptr(), list.ptr());
                rd::rd_kafka_AlterConsumerGroupOffsets(rk, &mut alter, 1, options, queue);
                rd::rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
            },
        )?;
        // SAFETY: the group results and their partition lists are owned by the event,
        // alive until `request` drops; strings are copied out.
        unsafe {
            let result = rd::rd_kafka_event_AlterConsumerGroupOffsets_result(request.event);
            let mut count = 0usize;
            let groups = rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &mut count);
            if count == 0 {
                return Err(AdminError {
                    code: RDKafkaErrorCode::Fail,
                    message: "the broker answered for no group".into(),
                });
            }
            let g = *groups;
            let error = rd::rd_kafka_group_result_error(g);
            if !error.is_null() {
                return Err(AdminError {
                    code: rd::rd_kafka_error_code(error).into(),
                    message: text(rd::rd_kafka_error_string(error)),
                });
            }
            Ok(partition_errors(rd::rd_kafka_group_result_partitions(g)))
        }
    }
}

/// The state names Kafka uses.
fn state_name(state: rd::rd_kafka_consumer_group_state_t) -> Option<String> {
    use rd::rd_kafka_consumer_group_state_t::*;
    let name = match state {
        RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE => "PreparingRebalance",
        RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE => "CompletingRebalance",
        RD_KAFKA_CONSUMER_GROUP_STATE_STABLE => "Stable",
        RD_KAFKA_CONSUMER_GROUP_STATE_DEAD => "Dead",
        RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY => "Empty",
        _ => return None,
    };
    Some(name.to_owned())
}

/// # Safety
/// `s` is null or a NUL-terminated string valid for the call.
unsafe fn text(s: *const c_char) -> String {
    match s.is_null() {
        true => String::new(),
        false => CStr::from_ptr(s).to_string_lossy().into_owned(),
    }
}

/// The elements of a partition list (empty for null).
///
/// # Safety
/// `list` is null or a valid list that outlives the returned slice.
unsafe fn elements<'a>(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> &'a [rd::rd_kafka_topic_partition_t] {
    if list.is_null() || (*list).elems.is_null() || (*list).cnt <= 0 {
        return &[];
    }
    std::slice::from_raw_parts((*list).elems, (*list).cnt as usize)
}

/// # Safety
/// As for `elements`.
unsafe fn by_topic(list: *const rd::rd_kafka_topic_partition_list_t) -> Vec<(String, Vec<i32>)> {
    let mut out: Vec<(String, Vec<i32>)> = Vec::new();
    for e in elements(list) {
        let topic = text(e.topic);
        match out.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, partitions)) => partitions.push(e.partition),
            None => out.push((topic, vec![e.partition])),
        }
    }
    out
}

/// # Safety
/// As for `elements`.
unsafe fn partition_errors(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> Vec<(i32, Option<String>)> {
    elements(list)
        .iter()
        .map(|e| {
            let error = (e.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                .then(|| RDKafkaErrorCode::from(e.err).to_string());
            (e.partition, error)
        })
        .collect()
}
