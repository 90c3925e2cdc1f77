//! The terminal loop: draw, read keys, apply worker reports.

use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Result;
use crossterm::event::{self, Event as TermEvent};

use super::worker::Worker;
use super::{action_for, App, Status};
use crate::config::{Config, Connection};

/// Opens the TUI on a cluster and runs it until the user quits or a signal stops it.
/// The terminal is restored on every exit (`terminal::Session`), panics included.
pub fn run(conn: Connection, config: Config) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let worker = Worker::new(conn.clone(), config.clone(), tx);
    let mut app = App::new(conn.brokers.clone(), config);
    app.read_only = conn.read_only;
    app.properties = conn.properties.clone();
    app.status = app.config_warnings();
    session(app, &worker, &rx, &conn.brokers)
}

/// `rewind --file FILE`: the TUI on a dump (rewind's event lines or kcat -J lines),
/// offline and read-only.
pub fn run_file(file: &std::path::Path, config: Config) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("--file {}: cannot read it: {e}", file.display()))?;
    let dump = crate::model::dump::Dump::parse(&text);
    drop(text);
    anyhow::ensure!(
        !dump.topics.is_empty(),
        "--file {}: no events in it ({} line(s) could not be read); a dump is `rewind events TOPIC > dump.jsonl` or kcat -J output",
        file.display(),
        dump.bad.len()
    );
    let bad = dump.bad.clone();
    let (tx, rx) = mpsc::channel();
    let worker = Worker::offline(std::sync::Arc::new(dump), config.clone(), tx);
    let label = format!("file {}", file.display());
    let mut app = App::new(format!("{label} · offline, read-only"), config);
    app.read_only = true;
    app.offline = Some(file.display().to_string());
    app.status = match bad.first() {
        Some((line, why)) => Status::warning(format!(
            "{}: {} line(s) not read, the first line {line}: {why}",
            file.display(),
            bad.len()
        )),
        None => app.config_warnings(),
    };
    session(app, &worker, &rx, &label)
}

/// Runs the terminal loop on an app and its worker; marks are kept per `place` (the
/// brokers, or the file).
fn session(
    mut app: App,
    worker: &Worker,
    rx: &mpsc::Receiver<super::Msg>,
    place: &str,
) -> Result<()> {
    let marks_file = crate::logging::state_dir()
        .join("marks")
        .join(crate::model::mark::file_name(place));
    app.marks_file = Some(marks_file.clone());
    match std::fs::read_to_string(&marks_file) {
        Ok(text) => match crate::model::mark::parse(&text) {
            Ok(marks) => app.marks = marks,
            Err(e) => {
                // Not overwritten: marks made now are not saved.
                app.status = Status::error(format!(
                    "{}: {e}; marks made now will not be saved",
                    marks_file.display()
                ));
                app.marks_file = None;
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            app.status = Status::error(format!(
                "cannot read marks from {}: {e}",
                marks_file.display()
            ))
        }
    }

    let mut session = super::terminal::Session::start()?;
    // A test hook for the crash path (the panic must leave the terminal restored), only
    // in builds with the `test-hooks` feature, which scripts/test turns on.
    #[cfg(feature = "test-hooks")]
    let crash = std::env::var_os("REWIND_TEST_PANIC").is_some();
    #[cfg(not(feature = "test-hooks"))]
    let crash = false;
    let mut first_frame = crate::logging::STARTED.get().copied();
    let mut topics_shown: Option<()> = None;
    let result = (|| -> Result<()> {
        let commands = app.start();
        submit(worker, commands);
        let mut dirty = true;
        while !app.quit && !session.stopped() {
            if dirty {
                // A page is the list's height: the screen less title, status, borders, header.
                app.page = session.terminal.size()?.height.saturating_sub(6).max(1) as usize;
                session
                    .terminal
                    .draw(|frame| crate::ui::draw(frame, &app))?;
                dirty = false;
                if let Some(started) = first_frame.take() {
                    tracing::info!(
                        ms = started.elapsed().as_millis() as u64,
                        "first frame drawn"
                    );
                }
                if topics_shown.is_none() && !app.topics.all.is_empty() {
                    topics_shown = Some(());
                    let since = crate::logging::STARTED
                        .get()
                        .map(|s| s.elapsed().as_millis());
                    tracing::info!(ms = since.unwrap_or_default() as u64, "topics drawn");
                }
                if crash {
                    panic!("REWIND_TEST_PANIC is set");
                }
            }
            // A long stream folds a slice per turn; keys are read in between.
            let tick = app.tick();
            let busy = tick.busy;
            submit(worker, tick.commands);
            if busy {
                dirty = true;
            }
            let wait = if busy {
                Duration::ZERO
            } else {
                Duration::from_millis(30)
            };
            if event::poll(wait)? {
                match event::read()? {
                    TermEvent::Key(key) => {
                        if let Some(action) = action_for(key, app.typing()) {
                            let commands = app.update(action);
                            submit(worker, commands);
                        }
                    }
                    TermEvent::Resize(..) => {}
                    _ => continue,
                }
                dirty = true;
            }
            let mut submit = |c| worker.submit(c);
            if pump(
                &mut app,
                rx,
                Duration::ZERO,
                &mut |_| ControlFlow::Continue(()),
                &mut submit,
            ) {
                dirty = true;
            }
        }
        Ok(())
    })();
    drop(session);
    result
}

/// Hands the worker `commands`, in order.
pub fn submit(worker: &Worker, commands: Vec<super::Command>) {
    for command in commands {
        worker.submit(command);
    }
}

/// The event pump the terminal loop and the tests share: applies the worker's reports
/// that have arrived (waiting at most `wait` for the first), each shown to `each`
/// first, and hands `submit` (the worker) what each leads to; stops after one `each`
/// breaks on. Says whether any report was applied.
pub fn pump(
    app: &mut App,
    rx: &mpsc::Receiver<super::Msg>,
    wait: Duration,
    each: &mut dyn FnMut(&super::Msg) -> ControlFlow<()>,
    submit: &mut dyn FnMut(super::Command),
) -> bool {
    let mut next = match wait.is_zero() {
        true => rx.try_recv().ok(),
        false => rx.recv_timeout(wait).ok(),
    };
    let mut applied = false;
    while let Some(msg) = next {
        let flow = each(&msg);
        app.apply(msg).into_iter().for_each(&mut *submit);
        applied = true;
        if flow.is_break() {
            break;
        }
        next = rx.try_recv().ok();
    }
    applied
}
