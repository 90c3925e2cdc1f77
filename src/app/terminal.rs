//! Terminal safety: the terminal is restored on normal exit, error, panic, SIGINT,
//! SIGTERM and SIGHUP; a panic leaves a report file (named in the log) and one line on
//! stderr after the terminal is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether the TUI owns the terminal (then a panic restores it first).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Takes the terminal for the TUI; `Drop` gives it back.
pub struct Session {
    pub terminal: ratatui::DefaultTerminal,
    /// Set by SIGINT, SIGTERM or SIGHUP: the loop quits and the terminal is restored.
    pub stop: Arc<AtomicBool>,
}

impl Session {
    pub fn start() -> anyhow::Result<Session> {
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGHUP,
        ] {
            signal_hook::flag::register(signal, stop.clone())?;
        }
        let terminal = ratatui::try_init()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // The loop checks `stop` between keys, but it can be stuck: in a read from a
        // terminal that is gone (crossterm spins on end of input), or a long fold. Then
        // the watchdog gives the terminal back and ends the process.
        let watched = stop.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if watched.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if ACTIVE.swap(false, Ordering::SeqCst) {
                    ratatui::restore();
                }
                tracing::warn!("stopped by a signal while busy");
                std::process::exit(1);
            }
        });
        Ok(Session { terminal, stop })
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if ACTIVE.swap(false, Ordering::SeqCst) {
            ratatui::restore();
        }
    }
}

/// Installs the panic hook for the whole process: restore the terminal if the TUI has
/// it, write a report to the state directory, log its path, print one line.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if ACTIVE.swap(false, Ordering::SeqCst) {
            ratatui::restore();
        }
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => (*s).to_owned(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "unknown panic".into()),
        };
        let location = info.location().map(|l| l.to_string()).unwrap_or_default();
        let report = write_report(&message, &location);
        tracing::error!(%message, %location, report = %report, "panic");
        eprintln!(
            "rewind crashed: {} at {location}; report: {report}",
            crate::model::secrets::scrub(&message)
        );
    }));
}

fn write_report(message: &str, location: &str) -> String {
    let dir = crate::logging::state_dir().join("crashes");
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let path = dir.join(format!("crash-{stamp}.txt"));
    let text = format!(
        "rewind {} crashed\nmessage: {}\nlocation: {location}\nthread: {}\n\n{}\n",
        env!("CARGO_PKG_VERSION"),
        crate::model::secrets::scrub(message),
        std::thread::current().name().unwrap_or("?"),
        std::backtrace::Backtrace::force_capture()
    );
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not written: {e})"),
    }
}
