//! kafka-rewind: a terminal time-travel debugger for event-driven systems on Kafka.
//!
//! `model` is pure logic (no I/O); `kafka` does the broker I/O; `app` is the TUI's
//! state machine and `ui` draws it; `demo` seeds an embedded broker.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod database;
pub mod demo;
pub mod engine;
pub mod isolation;
pub mod kafka;
pub mod logging;
pub use rewind_model as model;
pub mod registry;
pub mod store;
pub mod ui;
