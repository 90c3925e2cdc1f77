//! Apache Kafka 4, the reference broker (SPEC.md, "Brokers used by the tests"): every
//! promise about groups, offsets and times proven where users run them. One test binary,
//! one broker shared by its tests (or the one `scripts/test` started); tests that need
//! a broker of their own configuration start it.

mod common;

#[path = "kafka/compaction.rs"]
mod compaction;
#[path = "kafka/faults.rs"]
mod faults;
#[path = "kafka/groups.rs"]
mod groups;
#[path = "kafka/reset.rs"]
mod reset;
#[path = "kafka/retention.rs"]
mod retention;
#[path = "kafka/security.rs"]
mod security;
#[path = "kafka/tour.rs"]
mod tour;
#[path = "kafka/transactions.rs"]
mod transactions;
