//! kafka-rewind's engine: everything both front ends (the commands and the TUI) run
//! against a cluster, a registry, a database or the disk. The config compiled from
//! its file; Kafka I/O (`kafka`); the on-disk index (`store`); Schema Registry reads
//! (`registry`); read models in a database (`database`); reducers isolated in worker
//! processes (`isolation`); and the work made of them: fold a whole topic (`fold`),
//! read an aggregate, read a story, a rewind's outcome, drift. Nothing here prints but
//! progress on a terminal's stderr; the binary's `commands` print what it returns, its
//! `app` shows it. The logic it runs is the pure `rewind_model`.

pub use rewind_model as model;

pub mod config;
pub mod database;
pub mod isolation;
pub mod kafka;
pub mod logging;
pub mod pool;
pub mod registry;
pub mod source;
pub mod store;

pub mod aggregate;
pub mod drift;
pub mod fold;
pub mod outcome;
pub mod progress;
pub mod story;
