//! A progress line on stderr while a command reads a topic, only when stderr is a
//! terminal (never in pipes, files or tests).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redrawn at most this often.
const EVERY: Duration = Duration::from_millis(200);

pub struct Progress {
    verb: &'static str,
    /// Looks at the clock every this many records.
    every: i64,
    topic: String,
    total: i64,
    done: i64,
    shown: bool,
    last: Instant,
    on: bool,
}

impl Progress {
    /// Progress through `total` records of `topic`.
    pub fn new(topic: &str, total: i64) -> Progress {
        Progress {
            verb: "reading",
            every: 4096,
            topic: topic.to_owned(),
            total,
            done: 0,
            shown: false,
            last: Instant::now(),
            on: std::io::stderr().is_terminal(),
        }
    }

    /// Progress through `total` records produced to `topic`.
    pub fn producing(topic: &str, total: i64) -> Progress {
        let mut progress = Progress::new(topic, total);
        progress.verb = "producing to";
        progress.every = 1;
        progress
    }

    /// Never drawn (the TUI owns the terminal).
    pub fn off(mut self) -> Progress {
        self.on = false;
        self
    }

    /// One more record read; redraws now and then.
    pub fn tick(&mut self) {
        self.done += 1;
        if self.on && self.done % self.every == 0 && self.last.elapsed() >= EVERY {
            self.last = Instant::now();
            self.shown = true;
            let percent = (self.done * 100).checked_div(self.total).unwrap_or(100);
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[K{} {}: {} of {} events ({percent}%)",
                self.verb,
                self.topic,
                self.done,
                self.total
            );
        }
    }
}

impl Drop for Progress {
    /// Clears the line so that what follows starts clean.
    fn drop(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
