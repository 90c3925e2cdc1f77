//! The worker process's side (`rewind __reducers`): compiles the logic it is sent, then
//! folds each request's runs and answers, until its stdin closes. Its address space is
//! limited, so a program that allocates without end dies alone.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};

use jaq_json::Val;

use super::protocol::{EventHead, Hello, Reply, Request};
use super::WORKER_MEMORY;
use crate::model::reducer::{parse_val, Folded, Reducers, Step};

/// An event the worker holds.
struct Held {
    event_type: String,
    event: Val,
    meta: Val,
    undecodable: Option<String>,
}

/// The worker's side: compile the programs, then fold each request's steps, answering
/// one line per step and the end state. Runs until stdin closes.
pub fn serve() -> std::process::ExitCode {
    limit_memory();
    let stdin = std::io::stdin();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut lines = stdin.lock().lines();
    let reducers = match lines
        .next()
        .map(|l| l.map(|l| serde_json::from_str::<Hello>(&l)))
    {
        Some(Ok(Ok(hello))) => match Reducers::compile_logic(&hello.logic) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(out, "{}", Reply::failed(e.to_string()));
                return std::process::ExitCode::FAILURE;
            }
        },
        _ => return std::process::ExitCode::FAILURE,
    };
    let ready = Reply {
        ready: Some(true),
        ..Reply::default()
    };
    if writeln!(out, "{ready}").and_then(|()| out.flush()).is_err() {
        return std::process::ExitCode::FAILURE;
    }
    let mut events: HashMap<u64, HashMap<usize, Held>> = HashMap::new();
    // States kept between requests (`fold_resident`), by key.
    let mut resident: HashMap<u64, Val> = HashMap::new();
    let mut next = || lines.next().and_then(Result::ok);
    while let Some(line) = next() {
        let Ok(head) = serde_json::from_str::<Request>(&line) else {
            let _ = writeln!(out, "{}", Reply::failed("bad request".into()));
            break;
        };
        let given = head
            .runs
            .iter()
            .filter(|r| r.resident.is_none() || r.seeded)
            .count();
        let states: Option<Vec<Val>> = (0..given)
            .map(|_| next().as_deref().and_then(parse_val))
            .collect();
        let Some(states) = states else {
            let _ = writeln!(out, "{}", Reply::failed("bad state".into()));
            break;
        };
        let mut states = states.into_iter();
        for stream in head.forget.iter() {
            events.remove(stream);
        }
        for _ in 0..head.new {
            let fresh = (next(), next(), next());
            let (Some(h), Some(event), Some(meta)) = fresh else {
                break;
            };
            let (Ok(h), Some(event), Some(meta)) = (
                serde_json::from_str::<EventHead>(&h),
                parse_val(&event),
                parse_val(&meta),
            ) else {
                continue;
            };
            events.entry(h.stream).or_default().insert(
                h.index,
                Held {
                    event_type: h.event_type,
                    event,
                    meta,
                    undecodable: h.undecodable,
                },
            );
        }
        let mut answer = String::new();
        for run in head.runs.iter() {
            let state = match run.resident {
                Some(key) if !run.seeded => resident.remove(&key).unwrap_or_default(),
                _ => states.next().unwrap_or_default(),
            };
            let mut folded = Folded {
                state,
                ..Folded::default()
            };
            let mut examples_of: Vec<String> = Vec::new();
            for (i, (stream, index)) in run.steps.iter().enumerate() {
                match events.get(stream).and_then(|s| s.get(index)) {
                    Some(held) => {
                        let step = Step {
                            stream: *stream,
                            index: *index,
                            event_type: &held.event_type,
                            event: &held.event,
                            meta: &held.meta,
                            text: None,
                            undecodable: held.undecodable.as_deref(),
                        };
                        // Positions in the run; flag_from is an event index.
                        let one = reducers.run_steps(
                            std::mem::take(&mut folded.state),
                            std::slice::from_ref(&step),
                            run.flag_state && folded.flag_state.is_none(),
                            run.flag_from,
                            run.twice,
                        );
                        folded.state = one.state;
                        folded
                            .errors
                            .extend(one.errors.into_iter().map(|(_, e)| (i, e)));
                        folded
                            .violations
                            .extend(one.violations.into_iter().map(|(_, v)| (i, v)));
                        folded
                            .upcasts
                            .extend(one.upcasts.into_iter().map(|(_, v)| (i, v)));
                        for (_, example) in one.twice {
                            // One example per event type in the run.
                            let example =
                                example.filter(|_| !examples_of.contains(&held.event_type));
                            if example.is_some() {
                                examples_of.push(held.event_type.clone());
                            }
                            folded.twice.push((i, example));
                        }
                        if folded.flag_state.is_none() {
                            folded.flag_state = one.flag_state;
                        }
                    }
                    None => folded
                        .errors
                        .push((i, "the reducer worker lost this event".to_owned())),
                }
            }
            let (at, values): (Vec<usize>, Vec<Val>) = folded.upcasts.into_iter().unzip();
            let examples: Vec<(usize, (Val, Val))> = folded
                .twice
                .iter_mut()
                .filter_map(|(i, e)| Some((*i, e.take()?)))
                .collect();
            let head = Reply {
                errors: folded.errors,
                violations: folded.violations,
                upcasts: at,
                flag_state: folded.flag_state.is_some(),
                twice: folded.twice.iter().map(|(i, _)| *i).collect(),
                examples: examples.iter().map(|(i, _)| *i).collect(),
                ..Reply::default()
            };
            answer.push_str(&serde_json::to_string(&head).expect("a reply serializes"));
            answer.push('\n');
            // Resident states are kept, and said too (the caller keeps the text).
            answer.push_str(&format!("{}\n", folded.state));
            if let Some(key) = run.resident {
                resident.insert(key, folded.state);
            }
            if let Some(state) = folded.flag_state {
                answer.push_str(&format!("{state}\n"));
            }
            for v in values {
                answer.push_str(&format!("{v}\n"));
            }
            for (_, (once, twice)) in examples {
                answer.push_str(&format!("{once}\n{twice}\n"));
            }
        }
        if out
            .write_all(answer.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}

fn limit_memory() {
    let limit = libc::rlimit {
        rlim_cur: WORKER_MEMORY,
        rlim_max: WORKER_MEMORY,
    };
    // SAFETY: setrlimit only reads the struct passed by reference.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}
