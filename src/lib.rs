//! kafka-rewind: a terminal time-travel debugger for event-driven systems on Kafka.
//!
//! `model` is pure logic (no I/O); `kafka` does the broker I/O; `app` is the TUI's
//! state machine and `ui` draws it; `demo` seeds an embedded broker.

pub mod app;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod ui;

pub use rewind_engine as engine;
pub use rewind_engine::{config, database, isolation, kafka, logging, registry, store};
pub use rewind_model as model;
