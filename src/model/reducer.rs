//! Reducers: jq programs (run by the jaq crates, in process) that fold an event into
//! state. Everything jaq-specific stays behind `Reducers::apply`.

use std::collections::BTreeMap;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, Compiler, Ctx, Vars};
use jaq_json::Val;
use serde_json::Value;

/// SPEC.md's default reducer: a recursive merge of the event's data into the state.
pub const DEFAULT_REDUCER: &str = r#"($event.data // $event) as $d | if type == "object" and ($d|type) == "object" then . * $d else $d end"#;

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// A reducer program that does not compile.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{what} for `{event_type}` does not compile: {message}")]
pub struct CompileError {
    /// What kind of program: "reducer", "compensation template".
    pub what: &'static str,
    pub event_type: String,
    pub message: String,
}

/// One compiled jq program, with its source for messages.
pub struct Program {
    source: String,
    filter: Filter,
}

/// The reducers of one topic: by event type, the `*` fallback, and the default.
pub struct Reducers {
    by_type: BTreeMap<String, Program>,
    fallback: Option<Program>,
    default: Program,
}

impl std::fmt::Debug for Reducers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reducers")
            .field("types", &self.by_type.keys().collect::<Vec<_>>())
            .field("fallback", &self.fallback.as_ref().map(|p| &p.source))
            .finish()
    }
}

fn compile(event_type: &str, code: &str) -> Result<Program, CompileError> {
    compile_program("reducer", event_type, code)
}

/// Compiles a jq program that sees `$event` and `$meta`; errors name `what` and the type.
pub fn compile_program(
    what: &'static str,
    event_type: &str,
    code: &str,
) -> Result<Program, CompileError> {
    let fail = |message: String| CompileError {
        what,
        event_type: event_type.to_owned(),
        message,
    };
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errs| {
            fail(format!(
                "cannot parse `{code}` ({} error(s): {:?})",
                errs.len(),
                errs.first().map(|e| &e.1)
            ))
        })?;
    let filter = Compiler::default()
        .with_funs(funs)
        .with_global_vars(["$event", "$meta"])
        .compile(modules)
        .map_err(|errs| {
            fail(format!(
                "cannot compile `{code}` ({} error(s): {:?})",
                errs.len(),
                errs.first().map(|e| &e.1)
            ))
        })?;
    Ok(Program {
        source: code.to_owned(),
        filter,
    })
}

/// Converts serde JSON to a jaq value, through JSON text so that integers beyond 64
/// bits keep their digits (jaq's reader makes them big integers).
pub fn to_val(value: &Value) -> Val {
    parse_val(&value.to_string()).expect("serde JSON text is JSON")
}

/// Parses JSON text into a jaq value; `None` when it is not one JSON value.
pub fn parse_val(text: &str) -> Option<Val> {
    jaq_json::read::parse_single(text.as_bytes()).ok()
}

/// Converts a jaq value back to serde JSON (non-JSON values such as NaN become null).
pub fn from_val(val: &Val) -> Value {
    serde_json::from_str(&val.to_string()).unwrap_or(Value::Null)
}

impl Reducers {
    /// Compiles a topic's `[topics.reducers]` table; an error names the event type.
    pub fn compile(programs: &BTreeMap<String, String>) -> Result<Reducers, CompileError> {
        let mut by_type = BTreeMap::new();
        let mut fallback = None;
        for (event_type, code) in programs {
            let program = compile(event_type, code)?;
            if event_type == "*" {
                fallback = Some(program);
            } else {
                by_type.insert(event_type.clone(), program);
            }
        }
        Ok(Reducers {
            by_type,
            fallback,
            default: compile("(default)", DEFAULT_REDUCER)?,
        })
    }

    fn program_for(&self, event_type: &str) -> &Program {
        self.by_type
            .get(event_type)
            .or(self.fallback.as_ref())
            .unwrap_or(&self.default)
    }

    /// Folds one event: the state after it, or why the reducer failed (an error, no
    /// output, or more than one output).
    pub fn apply(
        &self,
        event_type: &str,
        state: &Val,
        event: &Val,
        meta: &Val,
    ) -> Result<Val, String> {
        self.program_for(event_type)
            .run("reducer", state, event, meta)
    }
}

/// One event as a fold sees it: its stream (unique in this process) and index in it,
/// type, value and `$meta`. The same stream and index always carry the same event, so
/// an isolated fold can keep events it has seen instead of sending them again.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub stream: u64,
    pub index: usize,
    pub event_type: &'a str,
    pub event: &'a Val,
    pub meta: &'a Val,
}

/// What folding a run of events gave: the state after them, and the events whose
/// reducer failed (they left the state unchanged).
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    pub state: Val,
    pub errors: Vec<(usize, String)>,
}

/// Folds runs of events onto a state: the reducers in this process, or the same
/// reducers isolated in a worker process with a time budget (`crate::isolation`).
pub trait Fold {
    fn fold(&self, state: Val, steps: &[Step<'_>]) -> Folded;

    /// The stream is gone: anything kept for it can go.
    fn forget(&self, _stream: u64) {}
}

/// A stream id no other stream in this process has.
pub fn new_stream_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Fold for Reducers {
    fn fold(&self, mut state: Val, steps: &[Step<'_>]) -> Folded {
        let mut errors = Vec::new();
        for step in steps {
            match self.apply(step.event_type, &state, step.event, step.meta) {
                Ok(next) => state = next,
                Err(e) => errors.push((step.index, e)),
            }
        }
        Folded { state, errors }
    }
}

impl Program {
    /// Runs the program on `input` with `$event` and `$meta`: its single output, or why
    /// there is none (an error, no output, or more than one; `what` names the program).
    pub fn run(&self, what: &str, input: &Val, event: &Val, meta: &Val) -> Result<Val, String> {
        let ctx = Ctx::<data::JustLut<Val>>::new(
            &self.filter.lut,
            Vars::new([event.clone(), meta.clone()]),
        );
        let mut outputs = self
            .filter
            .id
            .run((ctx, input.clone()))
            .map(jaq_core::unwrap_valr);
        match (outputs.next(), outputs.next()) {
            (None, _) => Err(format!("the {what} produced no output")),
            (Some(Err(e)), _) => Err(format!("the {what} failed: {e}")),
            (Some(Ok(_)), Some(_)) => Err(format!("the {what} produced more than one output")),
            (Some(Ok(next)), None) => Ok(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reducers(pairs: &[(&str, &str)]) -> Reducers {
        Reducers::compile(
            &pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
        .unwrap()
    }

    fn run(r: &Reducers, kind: &str, state: Value, event: Value) -> Result<Value, String> {
        let meta = json!({"type": kind, "offset": 7});
        r.apply(kind, &to_val(&state), &to_val(&event), &to_val(&meta))
            .map(|v| from_val(&v))
    }

    #[test]
    fn typed_fallback_and_default_reducers() {
        let r = reducers(&[
            ("Created", "$event.data"),
            ("Shipped", ".status = \"shipped\" | .at = $meta.offset"),
        ]);
        assert_eq!(
            run(&r, "Created", Value::Null, json!({"data": {"a": 1}})),
            Ok(json!({"a": 1}))
        );
        assert_eq!(
            run(&r, "Shipped", json!({"a": 1}), json!({})),
            Ok(json!({"a": 1, "status": "shipped", "at": 7}))
        );
        // The default: a recursive merge of .data (or the event) into the state.
        assert_eq!(
            run(
                &r,
                "Other",
                json!({"a": {"x": 1}}),
                json!({"data": {"a": {"y": 2}}})
            ),
            Ok(json!({"a": {"x": 1, "y": 2}}))
        );
        assert_eq!(
            run(&r, "Other", Value::Null, json!({"b": 1})),
            Ok(json!({"b": 1}))
        );
        let r = reducers(&[("*", ". + ($event.data // {})")]);
        assert_eq!(
            run(&r, "Any", Value::Null, json!({"data": {"n": 1}})),
            Ok(json!({"n": 1}))
        );
    }

    #[test]
    fn failures_are_reported_not_fatal() {
        let r = reducers(&[
            ("Err", "error(\"boom\")"),
            ("None", "empty"),
            ("Two", "1, 2"),
            ("Bad", "$event.data.x"),
        ]);
        assert!(run(&r, "Err", json!({}), json!({}))
            .unwrap_err()
            .contains("boom"));
        assert!(run(&r, "None", json!({}), json!({}))
            .unwrap_err()
            .contains("no output"));
        assert!(run(&r, "Two", json!({}), json!({}))
            .unwrap_err()
            .contains("more than one"));
        assert!(run(&r, "Bad", json!({}), json!("a string")).is_err());
    }

    #[test]
    fn compile_errors_name_the_event_type() {
        let err =
            Reducers::compile(&[("OrderShipped".to_string(), ".status = ".to_string())].into())
                .unwrap_err();
        assert_eq!(err.event_type, "OrderShipped");
        let err = Reducers::compile(&[("X".to_string(), "$nope".to_string())].into()).unwrap_err();
        assert_eq!(err.event_type, "X");
    }
}
