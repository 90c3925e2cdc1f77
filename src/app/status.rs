//! The status line: one message and how much it matters, so the bar can tell "reloaded
//! the config" from "cannot read the marks file" without reading the words.

use std::fmt;
use std::ops::Deref;

/// How much a status message matters; the bar draws each in its own style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    /// What happened or is happening: "reloaded …", "folding …", a search's count.
    #[default]
    Info,
    /// What the user asked cannot be done here, and why: a usage hint, nothing to mark.
    Warning,
    /// Something failed: a read, a fold, a connection, a config.
    Error,
}

/// The status line's message. Empty: the bar shows the key hints instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub severity: Severity,
    text: String,
}

impl Status {
    pub fn new(severity: Severity, text: impl Into<String>) -> Self {
        Status {
            severity,
            text: text.into(),
        }
    }

    pub fn info(text: impl Into<String>) -> Self {
        Self::new(Severity::Info, text)
    }

    pub fn warning(text: impl Into<String>) -> Self {
        Self::new(Severity::Warning, text)
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self::new(Severity::Error, text)
    }

    pub fn clear(&mut self) {
        *self = Status::default();
    }

    /// Adds to the message, keeping its severity.
    pub fn push_str(&mut self, more: &str) {
        self.text.push_str(more);
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Deref for Status {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<str> for Status {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for Status {
    fn eq(&self, other: &String) -> bool {
        &self.text == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleared_status_is_empty_info_and_push_keeps_the_severity() {
        let mut s = Status::error("cannot read marks");
        s.push_str("; the load goes on");
        assert_eq!(s, "cannot read marks; the load goes on");
        assert_eq!(s.severity, Severity::Error);
        s.clear();
        assert!(s.is_empty());
        assert_eq!(s.severity, Severity::Info);
    }
}
