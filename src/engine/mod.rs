//! What the commands and the TUI's worker both run against a cluster: fold a whole
//! topic, read an aggregate, read a story. Nothing here prints but progress on a
//! terminal's stderr; `commands/` prints what it returns, `app/` shows it.

pub mod aggregate;
pub mod drift;
pub mod fold;
pub mod outcome;
pub mod progress;
pub mod story;
