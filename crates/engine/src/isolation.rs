//! Reducers isolated in a worker process with a time budget per event.
//!
//! jaq has no evaluation budget: `def f: 1 + f; f` overflows the stack and aborts the
//! process (nothing can catch that), `def f: f; f` never returns. So folds run in a
//! child process (`rewind __reducers`) that the parent sends runs of events to, one
//! round trip per run. When a run overruns the budget or the child dies, the child is
//! replaced and the run is folded again one event at a time: the event that overruns
//! or kills it is marked with what happened, and the fold goes on from the state
//! before it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jaq_json::Val;

use crate::model::reducer::{parse_val, Fold, Folded, Logic, Reducers, ResidentRun, Step};

mod protocol;
mod worker;
use protocol::{EventHead, Hello, Reply, Request, RunHead};
pub use worker::serve;

/// The fold of a topic's reducers (the default reducer only, when none are
/// configured), as `fold_for` makes it.
pub fn reducers_for(
    config: &crate::config::Config,
    topic: &str,
) -> anyhow::Result<std::rc::Rc<dyn Fold>> {
    fold_for(config, &config.logic_for(topic))
}

/// The fold of some logic: in a worker process with the config's time budget per
/// event (`[limits] reducer_ms`) once isolation is enabled (`enable`), else in this
/// process.
pub fn fold_for(
    config: &crate::config::Config,
    logic: &Logic,
) -> anyhow::Result<std::rc::Rc<dyn Fold>> {
    let budget = config
        .limits
        .reducer_ms
        .map_or(DEFAULT_BUDGET, Duration::from_millis);
    folder(logic, budget).map_err(|e| anyhow::anyhow!("config {}: {e}", config.describe_path()))
}

/// The hidden argument that makes `rewind` a reducer worker.
pub const WORKER_ARG: &str = "__reducers";

/// How long one event's reducer may run unless configured.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// The worker's address space limit: a reducer that builds a huge value fails there
/// instead of taking the machine's memory.
const WORKER_MEMORY: u64 = 2 << 30;

static EXECUTABLE: OnceLock<PathBuf> = OnceLock::new();

/// Turns isolation on for this process: reducers then run in `exe __reducers`. The
/// `rewind` binary does this at start; a library user (tests) folds in process.
pub fn enable(exe: PathBuf) {
    let _ = EXECUTABLE.set(exe);
}

/// The fold for a topic's reducer programs: isolated when enabled (the worker compiles
/// them; the config already checked they compile), else compiled here, in process.
pub fn folder(logic: &Logic, budget: Duration) -> anyhow::Result<std::rc::Rc<dyn Fold>> {
    Ok(match EXECUTABLE.get() {
        Some(exe) => std::rc::Rc::new(Isolated::new(exe.clone(), logic.clone(), budget)),
        None => std::rc::Rc::new(Reducers::compile_logic(logic)?),
    })
}

/// Reducers running in a worker process.
pub struct Isolated {
    exe: PathBuf,
    logic: Logic,
    budget: Duration,
    worker: RefCell<Option<ReducerProcess>>,
    /// Workers started after the first: each lost what the one before kept.
    restarts: std::cell::Cell<u64>,
    started: std::cell::Cell<bool>,
    /// Streams dropped since the last request, for the worker to drop too.
    forgotten: RefCell<Vec<u64>>,
}

struct ReducerProcess {
    /// The events the worker holds, by stream: runs refer to them by index.
    known: HashMap<u64, HashSet<usize>>,
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: LineReader,
    stderr: Arc<Mutex<String>>,
}

/// Why no line came.
enum NoLine {
    Timeout,
    Closed,
}

/// Reads the worker's answer lines with a deadline, on the calling thread: `poll(2)` on
/// the pipe, so a round trip costs no thread hand-off.
struct LineReader {
    pipe: std::process::ChildStdout,
    buffer: Vec<u8>,
    /// Where the unread part of `buffer` starts (lines are not drained one by one: a
    /// long answer would be moved once per line).
    start: usize,
}

impl LineReader {
    fn line(&mut self, timeout: Duration) -> Result<String, NoLine> {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer[self.start..].iter().position(|&b| b == b'\n') {
                let line = &self.buffer[self.start..self.start + end];
                let line = String::from_utf8_lossy(line).into_owned();
                self.start += end + 1;
                return Ok(line);
            }
            // Everything before `start` is read: make room at the front.
            self.buffer.drain(..self.start);
            self.start = 0;
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let mut fd = libc::pollfd {
                fd: self.pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut fd, 1, ms) };
            if ready == 0 {
                return Err(NoLine::Timeout);
            }
            if ready < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(NoLine::Closed);
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.pipe.read(&mut chunk) {
                Ok(0) | Err(_) => return Err(NoLine::Closed),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

impl Drop for ReducerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a run's state comes from.
#[derive(Clone, Copy)]
enum RunState<'v> {
    Given(&'v Val),
    /// The worker's, by key; `seed`: start from this state text instead.
    Resident {
        key: u64,
        seed: Option<&'v str>,
    },
}

/// One run of a request.
struct Run<'v, 's> {
    steps: &'s [Step<'s>],
    state: RunState<'v>,
    flag_state: bool,
    flag_from: usize,
    /// Probe each event twice (`ResidentRun::twice`).
    twice: bool,
}

impl<'v, 's> Run<'v, 's> {
    fn given(state: &'v Val, steps: &'s [Step<'s>]) -> Run<'v, 's> {
        Run {
            steps,
            state: RunState::Given(state),
            flag_state: false,
            flag_from: 0,
            twice: false,
        }
    }
}

/// Why a run did not finish: it overran the budget or the worker died.
struct Broken {
    reason: String,
}

impl Isolated {
    pub fn new(exe: PathBuf, logic: Logic, budget: Duration) -> Isolated {
        Isolated {
            exe,
            logic,
            budget,
            worker: RefCell::new(None),
            restarts: std::cell::Cell::new(0),
            started: std::cell::Cell::new(false),
            forgotten: RefCell::new(Vec::new()),
        }
    }

    fn start(&self) -> Result<ReducerProcess, String> {
        let mut child = Command::new(&self.exe)
            .arg(WORKER_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the reducer worker {}: {e}",
                    self.exe.display()
                )
            })?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let stdin = BufWriter::new(child.stdin.take().expect("piped stdin"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.lock().expect("stderr buffer");
                if text.len() < 4096 {
                    text.push_str(line.trim());
                    text.push(' ');
                }
            }
        });
        let mut worker = ReducerProcess {
            known: HashMap::new(),
            child,
            stdin,
            stdout: LineReader {
                pipe: stdout,
                buffer: Vec::new(),
                start: 0,
            },
            stderr,
        };
        let hello = Hello {
            logic: std::borrow::Cow::Borrowed(&self.logic),
        };
        let hello = serde_json::to_string(&hello).expect("a logic serializes");
        writeln!(worker.stdin, "{hello}")
            .and_then(|()| worker.stdin.flush())
            .map_err(|e| format!("cannot talk to the reducer worker: {e}"))?;
        match worker.stdout.line(Duration::from_secs(10)) {
            Ok(line) => match serde_json::from_str::<Reply>(&line) {
                Ok(Reply {
                    ready: Some(true), ..
                }) => Ok(worker),
                Ok(Reply { err: Some(e), .. }) => Err(e),
                _ => Err(format!("the reducer worker answered `{line}`")),
            },
            Err(_) => Err(format!(
                "the reducer worker did not start: {}",
                worker.stderr.lock().expect("stderr").trim()
            )),
        }
    }

    /// Sends runs of steps (each onto its own state, given or kept by the worker) in one
    /// request and reads the answers within `budget`.
    fn run(&self, runs: &[Run<'_, '_>], budget: Duration) -> Result<Vec<Folded>, Broken> {
        let mut slot = self.worker.borrow_mut();
        if slot.is_none() {
            *slot = Some(self.start().map_err(|reason| Broken { reason })?);
            if self.started.replace(true) {
                self.restarts.set(self.restarts.get() + 1);
            }
        }
        let worker = slot.as_mut().expect("started");
        let forget: Vec<u64> = std::mem::take(&mut *self.forgotten.borrow_mut());
        for stream in &forget {
            worker.known.remove(stream);
        }
        // A request is lines: a header, each run's state, then for each event the
        // worker has not seen yet its header, value and `$meta`. Values are jaq's JSON
        // text (one line each; big integers keep their digits).
        let mut fresh = String::new();
        let mut new = 0;
        for s in runs.iter().flat_map(|r| r.steps.iter()) {
            if worker.known.entry(s.stream).or_default().insert(s.index) {
                new += 1;
                let head = EventHead {
                    stream: s.stream,
                    index: s.index,
                    event_type: s.event_type.to_owned(),
                    undecodable: s.undecodable.map(str::to_owned),
                };
                let head = serde_json::to_string(&head).expect("a header serializes");
                fresh.push_str(&head);
                fresh.push('\n');
                match s.text {
                    Some((event, meta)) => {
                        for part in [event, "\n", meta, "\n"] {
                            fresh.push_str(part);
                        }
                    }
                    None => fresh.push_str(&format!("{}\n{}\n", s.event, s.meta)),
                }
            }
        }
        let heads: Vec<RunHead> = runs
            .iter()
            .map(|r| RunHead {
                steps: r.steps.iter().map(|s| (s.stream, s.index)).collect(),
                resident: match r.state {
                    RunState::Given(_) => None,
                    RunState::Resident { key, .. } => Some(key),
                },
                seeded: matches!(r.state, RunState::Resident { seed: Some(_), .. }),
                flag_state: r.flag_state,
                flag_from: r.flag_from,
                twice: r.twice,
            })
            .collect();
        let head = Request {
            forget: std::borrow::Cow::Borrowed(&forget),
            new,
            runs: std::borrow::Cow::Borrowed(&heads),
        };
        let mut request = serde_json::to_string(&head).expect("a header serializes");
        request.push('\n');
        for run in runs {
            match run.state {
                RunState::Given(state) => request.push_str(&format!("{state}\n")),
                RunState::Resident {
                    seed: Some(text), ..
                } => {
                    request.push_str(text);
                    request.push('\n');
                }
                RunState::Resident { seed: None, .. } => {}
            }
        }
        request.push_str(&fresh);
        let sent = worker
            .stdin
            .write_all(request.as_bytes())
            .and_then(|()| worker.stdin.flush());
        let deadline = std::time::Instant::now() + budget;
        let line = |worker: &mut ReducerProcess| -> Result<String, String> {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match worker.stdout.line(left) {
                Ok(line) => Ok(line),
                Err(NoLine::Timeout) => Err(format!(
                    "the reducer ran longer than {} ms and was stopped",
                    self.budget.as_millis()
                )),
                Err(NoLine::Closed) => {
                    let _ = worker.child.wait();
                    std::thread::sleep(Duration::from_millis(20)); // let stderr drain
                    let said = worker.stderr.lock().expect("stderr").trim().to_owned();
                    Err(crash_reason(&said))
                }
            }
        };
        let mut answers = Vec::with_capacity(runs.len());
        let result = match sent {
            Err(e) => Err(format!("the reducer worker stopped listening ({e})")),
            Ok(()) => (|| {
                let value = |worker: &mut ReducerProcess| -> Result<Val, String> {
                    let text = line(worker)?;
                    parse_val(&text).ok_or_else(|| format!("the reducer worker answered `{text}`"))
                };
                for run in runs {
                    let steps = run.steps;
                    let head = line(worker)?;
                    let reply = match serde_json::from_str::<Reply>(&head) {
                        Ok(reply @ Reply { err: None, .. }) => reply,
                        _ => return Err(format!("the reducer worker answered `{head}`")),
                    };
                    let (state, state_text) = match run.state {
                        RunState::Given(_) => (value(worker)?, None),
                        RunState::Resident { .. } => (Val::Null, Some(line(worker)?)),
                    };
                    let flag_state = match reply.flag_state {
                        true => Some(value(worker)?),
                        false => None,
                    };
                    let at = |i: usize| steps.get(i).map(|s| s.index);
                    let mut upcasts = Vec::new();
                    for i in reply.upcasts {
                        let v = value(worker)?;
                        upcasts.extend(at(i).map(|index| (index, v)));
                    }
                    let mut twice = Vec::with_capacity(reply.twice.len());
                    for i in reply.twice {
                        let example = match reply.examples.contains(&i) {
                            true => Some((value(worker)?, value(worker)?)),
                            false => None,
                        };
                        twice.extend(at(i).map(|index| (index, example)));
                    }
                    answers.push(Folded {
                        state,
                        errors: reply
                            .errors
                            .into_iter()
                            .filter_map(|(i, e)| Some((at(i)?, e)))
                            .collect(),
                        violations: reply
                            .violations
                            .into_iter()
                            .filter_map(|(i, v)| Some((at(i)?, v)))
                            .collect(),
                        upcasts,
                        flag_state,
                        state_text,
                        twice,
                    });
                }
                Ok(())
            })(),
        };
        if result.is_err() {
            // The worker is no use any more: a fresh one starts for the next run.
            *slot = None;
        }
        result.map(|()| answers).map_err(|reason| Broken { reason })
    }

    /// One run in one round trip; when that overruns or kills the worker, the run is
    /// folded again one event at a time, each within the budget, so the culprit is
    /// found and marked and the fold goes on from the state before it. With
    /// `flag_from`, the answer keeps the state after the first flagged event at or
    /// after that index.
    fn fold_carefully(
        &self,
        state: Val,
        steps: &[Step<'_>],
        flag_from: Option<usize>,
        twice: bool,
    ) -> Folded {
        let whole = Run {
            flag_state: flag_from.is_some(),
            flag_from: flag_from.unwrap_or(0),
            twice,
            ..Run::given(&state, steps)
        };
        if let Ok(mut folded) = self.run(&[whole], self.budget) {
            return folded.pop().expect("one answer per run");
        }
        let mut folded = Folded {
            state,
            ..Folded::default()
        };
        let mut exampled: Vec<&str> = Vec::new();
        for step in steps {
            let state = folded.state.clone();
            let one = Run {
                twice,
                ..Run::given(&state, std::slice::from_ref(step))
            };
            let flagged = match self.run(&[one], self.budget) {
                Ok(mut one) => {
                    let one = one.pop().expect("one answer per run");
                    let flagged = !one.errors.is_empty() || !one.violations.is_empty();
                    folded.state = one.state;
                    folded.errors.extend(one.errors);
                    folded.violations.extend(one.violations);
                    folded.upcasts.extend(one.upcasts);
                    // The example is the first of its type in the whole run.
                    for (index, example) in one.twice {
                        let first = !exampled.contains(&step.event_type);
                        exampled.push(step.event_type);
                        folded.twice.push((index, example.filter(|_| first)));
                    }
                    flagged
                }
                Err(broken) => {
                    folded.errors.push((step.index, broken.reason));
                    true
                }
            };
            let counts = flag_from.is_some_and(|from| step.index >= from);
            if flagged && counts && folded.flag_state.is_none() {
                folded.flag_state = Some(folded.state.clone());
            }
        }
        folded
    }
}

impl Fold for Isolated {
    fn forget(&self, stream: u64) {
        self.forgotten.borrow_mut().push(stream);
    }

    fn takes_text(&self) -> bool {
        true
    }

    /// All runs in one round trip onto the states the worker keeps; each answer says
    /// the state after its run as text, for the caller to keep (and read at the end). When the round trip
    /// fails, the worker and what it kept are gone: each run is folded again from the
    /// state its caller kept, carefully (one event at a time if need be, so the culprit
    /// is marked), and the new worker is seeded with the results. Keys not in this call
    /// are seeded on their next run (`restarts` tells the caller).
    fn fold_resident(&self, runs: Vec<ResidentRun<'_>>) -> Vec<Folded> {
        let total: usize = runs.iter().map(|r| r.steps.len()).sum();
        let budget = self.budget * (1 + total / 256) as u32;
        let restarts = self.restarts.get();
        let refs: Vec<Run<'_, '_>> = runs
            .iter()
            .map(|r| Run {
                steps: &r.steps,
                state: RunState::Resident {
                    key: r.key,
                    seed: r.seed.then_some(r.saved),
                },
                flag_state: r.flag_state,
                flag_from: r.flag_from,
                twice: r.twice,
            })
            .collect();
        if let Ok(folded) = self.run(&refs, budget) {
            if self.restarts.get() == restarts {
                return folded;
            }
        }
        let mut answers = Vec::with_capacity(runs.len());
        // A key's second run in this call starts where its first ended.
        let mut ended: std::collections::HashMap<u64, String> = Default::default();
        for r in &runs {
            let saved = ended.get(&r.key).map_or(r.saved, String::as_str);
            let state = parse_val(saved).unwrap_or_default();
            let flag_from = r.flag_state.then_some(r.flag_from);
            let mut folded = self.fold_carefully(state, &r.steps, flag_from, r.twice);
            let text = folded.state.to_string();
            // The fresh worker keeps the result under the run's key.
            let seeded = Run {
                steps: &[],
                state: RunState::Resident {
                    key: r.key,
                    seed: Some(&text),
                },
                flag_state: false,
                flag_from: 0,
                twice: false,
            };
            let _ = self.run(&[seeded], self.budget);
            folded.state = Val::Null;
            ended.insert(r.key, text.clone());
            folded.state_text = Some(text);
            answers.push(folded);
        }
        answers
    }

    fn restarts(&self) -> u64 {
        self.restarts.get()
    }

    fn fold(&self, state: Val, steps: &[Step<'_>]) -> Folded {
        if steps.is_empty() {
            return Folded {
                state,
                ..Folded::default()
            };
        }
        self.fold_carefully(state, steps, None, false)
    }
}

/// Why the worker died, from what it printed.
fn crash_reason(stderr: &str) -> String {
    if stderr.contains("overflowed its stack") {
        "the reducer crashed its worker: stack overflow (runaway recursion?)".to_owned()
    } else if stderr.contains("memory allocation") {
        format!(
            "the reducer crashed its worker: out of memory (limit {} MiB)",
            WORKER_MEMORY >> 20
        )
    } else if stderr.is_empty() {
        "the reducer crashed its worker".to_owned()
    } else {
        format!("the reducer crashed its worker: {stderr}")
    }
}
