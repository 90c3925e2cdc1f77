//! Logs go to `$XDG_STATE_HOME/rewind/rewind.log`, never to the terminal.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;

/// When the process started (set first thing in `main`), for timing the first frame.
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// `$VAR` if set and absolute, else `$HOME/<fallback>`.
pub fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_absolute() => Some(p),
        _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)),
    }
}

/// The state directory: logs, marks, undo files.
pub fn state_dir() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state")
        .unwrap_or_else(std::env::temp_dir)
        .join("rewind")
}

/// A writer that hides known secret values (`model::secrets`) in what it writes.
struct Scrubbed<W>(W);

impl<W: std::io::Write> std::io::Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(crate::model::secrets::scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Starts logging to the log file; `RUST_LOG` sets the level (default `info`). Returns
/// the guard that flushes the log on drop, or `None` when the file cannot be opened
/// (rewind then runs without a log rather than writing to the terminal).
pub fn init() -> Option<WorkerGuard> {
    let dir = state_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("rewind.log"))
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(Scrubbed(file));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
