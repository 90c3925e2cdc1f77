//! The suite that needs no broker of its own beyond librdkafka's mock cluster (and, for
//! the database tests, PostgreSQL and SQLite): one test binary, so that librdkafka is
//! linked once. Apache Kafka's tests are `tests/kafka.rs`, Tansu's `tests/tansu.rs`.

#[path = "../common/mod.rs"]
mod common;

mod cache;
mod cli;
mod compensate;
mod faults;
mod follow;
mod group_safety;
mod hostile;
mod lab;
mod lifecycle;
mod lookup;
mod odd_times;
mod offline;
mod produce;
mod properties;
mod reducers;
mod reset;
mod schemas;
mod search;
mod secrets;
mod state;
mod story;
mod terminal;
mod tui_memory;
mod tui_rewind;
mod ui;
mod windows;
