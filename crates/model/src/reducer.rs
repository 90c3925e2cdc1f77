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

/// A topic's logic as its programs' sources: what a fold needs, and what is sent to an
/// isolated worker to compile there.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Logic {
    /// `[topics.reducers]`: by event type, `*` the fallback.
    #[serde(default)]
    pub reducers: BTreeMap<String, String>,
    /// `[topics.upcasters]`: by `"Type@version"`, the event one version up.
    #[serde(default)]
    pub upcasters: BTreeMap<String, String>,
    /// `[topics.invariants]`: by name, predicates on the state after each event.
    #[serde(default)]
    pub invariants: BTreeMap<String, String>,
    /// The `version` path (jq path or `header:NAME`); without it every event is v1.
    #[serde(default)]
    pub version: Option<String>,
}

impl Logic {
    /// Whether any program reads `$meta` (a version read from a header does too); when
    /// none does, a fold may pass `null` for it.
    pub fn uses_meta(&self) -> bool {
        let programs = self
            .reducers
            .values()
            .chain(self.upcasters.values())
            .chain(self.invariants.values());
        let header_version = !self.upcasters.is_empty()
            && self
                .version
                .as_deref()
                .is_some_and(|v| v.starts_with("header:"));
        header_version || programs.into_iter().any(|p| p.contains("$meta"))
    }

    /// Reducers only.
    pub fn reducers(reducers: BTreeMap<String, String>) -> Logic {
        Logic {
            reducers,
            ..Logic::default()
        }
    }
}

/// `DEFAULT_REDUCER` without jq where the event is an object (nearly always): the same
/// result, several times faster. `None`: run the program.
pub fn default_merge(state: &Val, event: &Val) -> Option<Val> {
    let Val::Obj(fields) = event else {
        return None;
    };
    // `$event.data // $event`: `.data` unless it is missing, null or false.
    let data = match fields.get(&Val::from("data".to_owned())) {
        None | Some(Val::Null | Val::Bool(false)) => event,
        Some(data) => data,
    };
    match (state, data) {
        // `. * $d`: a recursive merge.
        (Val::Obj(_), Val::Obj(_)) => (state.clone() * data.clone()).ok(),
        _ => Some(data.clone()),
    }
}

/// Upcasters chained at most this many times per event (a cycle is caught by the
/// version check; this bounds a very long chain).
const MAX_UPCASTS: usize = 64;

/// The compiled logic of one topic: reducers by event type, the `*` fallback and the
/// default; upcasters by type and version; invariants by name.
pub struct Reducers {
    by_type: BTreeMap<String, Program>,
    fallback: Option<Program>,
    default: Program,
    upcasters: BTreeMap<(String, i64), (String, Program)>,
    invariants: Vec<(String, Program)>,
    /// Reads an event value's version (1 when missing).
    version: Option<Program>,
}

/// What one event did to the fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The state after the event (unchanged when `error`).
    pub state: Val,
    /// Why the event left the state unchanged: its upcaster or reducer failed.
    pub error: Option<String>,
    /// The invariants the state after it breaks.
    pub violations: Vec<String>,
    /// The event's value after its upcasters, when one applied.
    pub upcast: Option<Val>,
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
        Reducers::compile_logic(&Logic::reducers(programs.clone()))
    }

    /// Compiles a topic's logic; an error names the program (event type, `Type@version`
    /// or invariant).
    pub fn compile_logic(logic: &Logic) -> Result<Reducers, CompileError> {
        let programs = &logic.reducers;
        let mut upcasters = BTreeMap::new();
        for (name, code) in &logic.upcasters {
            let version = name
                .rsplit_once('@')
                .and_then(|(t, v)| Some((t.to_owned(), v.parse::<i64>().ok()?)))
                .filter(|(t, _)| !t.is_empty());
            let Some(at) = version else {
                return Err(CompileError {
                    what: "upcaster",
                    event_type: name.clone(),
                    message: "its name must be `Type@version`, e.g. `OrderCreated@1`".into(),
                });
            };
            upcasters.insert(at, (name.clone(), compile_program("upcaster", name, code)?));
        }
        let invariants = logic
            .invariants
            .iter()
            .map(|(name, code)| Ok((name.clone(), compile_program("invariant", name, code)?)))
            .collect::<Result<_, CompileError>>()?;
        let version = match logic.version.as_deref() {
            _ if logic.upcasters.is_empty() => None,
            None => None,
            Some(path) => {
                let read = match path.strip_prefix("header:") {
                    Some(name) => format!("$meta.headers[{}]", Value::from(name)),
                    None => path.to_owned(),
                };
                let code = format!(
                    "({read}) as $v | if $v == null then 1 elif ($v | type) == \"string\" then ($v | tonumber) else $v end"
                );
                Some(compile_program("version path", path, &code)?)
            }
        };
        let mut reducers = Reducers::compile_reducers(programs)?;
        reducers.upcasters = upcasters;
        reducers.invariants = invariants;
        reducers.version = version;
        Ok(reducers)
    }

    fn compile_reducers(programs: &BTreeMap<String, String>) -> Result<Reducers, CompileError> {
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
            upcasters: BTreeMap::new(),
            invariants: Vec::new(),
            version: None,
        })
    }

    /// The version of an event value (1 without a version path or value).
    fn version_of(&self, value: &Val, meta: &Val) -> Result<f64, String> {
        let Some(program) = &self.version else {
            return Ok(1.0);
        };
        let v = program.run("version path", value, value, meta)?;
        from_val(&v)
            .as_f64()
            .ok_or_else(|| format!("the version is `{v}`, not a number"))
    }

    /// The event's value after its upcasters (`None` when none applies), or why the
    /// chain failed.
    pub fn upcast(&self, event_type: &str, value: &Val, meta: &Val) -> Result<Option<Val>, String> {
        if self.upcasters.is_empty() {
            return Ok(None);
        }
        let mut version = self.version_of(value, meta)?;
        let mut current: Option<Val> = None;
        for _ in 0..MAX_UPCASTS {
            let key = (event_type.to_owned(), version as i64);
            let Some((name, program)) = self.upcasters.get(&key).filter(|_| version.fract() == 0.0)
            else {
                return Ok(current);
            };
            let input = current.as_ref().unwrap_or(value);
            let output = program
                .run("upcaster", input, input, meta)
                .map_err(|e| format!("upcaster `{name}`: {e}"))?;
            let next = self
                .version_of(&output, meta)
                .map_err(|e| format!("upcaster `{name}`: {e}"))?;
            if next <= version {
                return Err(format!(
                    "upcaster `{name}` gave version {next}, not greater than {version}: the chain stops there"
                ));
            }
            version = next;
            current = Some(output);
        }
        Err(format!(
            "more than {MAX_UPCASTS} upcasters in a row for `{event_type}`"
        ))
    }

    /// Folds one event: upcasters, then its reducer, then the invariants on the state
    /// after it. A failed upcaster or reducer leaves the state unchanged and marks the
    /// event; the invariants run either way.
    pub fn step(&self, state: &Val, event_type: &str, event: &Val, meta: &Val) -> Outcome {
        let (upcast, mut error) = match self.upcast(event_type, event, meta) {
            Ok(upcast) => (upcast, None),
            Err(e) => (None, Some(e)),
        };
        let value = upcast.as_ref().unwrap_or(event);
        let next = match error {
            Some(_) => state.clone(),
            None => match self.apply(event_type, state, value, meta) {
                Ok(next) => next,
                Err(e) => {
                    error = Some(e);
                    state.clone()
                }
            },
        };
        let violations = self
            .invariants
            .iter()
            .filter(|(_, p)| !matches!(p.run("invariant", &next, value, meta), Ok(Val::Bool(true))))
            .map(|(name, _)| name.clone())
            .collect();
        Outcome {
            state: next,
            error,
            violations,
            upcast,
        }
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
        let configured = self.by_type.get(event_type).or(self.fallback.as_ref());
        if configured.is_none() {
            if let Some(next) = default_merge(state, event) {
                return Ok(next);
            }
        }
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
    /// The event's value and `$meta` as JSON text, when the caller has it: an isolated
    /// fold sends it as it is (`event` and `meta` may then be placeholders, see
    /// `Fold::takes_text`).
    pub text: Option<(&'a str, &'a str)>,
    /// Why the payload could not be decoded: the step is marked with it and leaves the
    /// state as it was.
    pub undecodable: Option<&'a str>,
}

/// A run of events onto a state the fold keeps (`Fold::fold_resident`).
#[derive(Debug, Clone)]
pub struct ResidentRun<'a> {
    /// The state's key: the same for all runs of one aggregate.
    pub key: u64,
    pub steps: Vec<Step<'a>>,
    /// Whether to return the state after the first flagged event of the run ...
    pub flag_state: bool,
    /// ... at or after this event index.
    pub flag_from: usize,
    /// The state before this run as JSON text, as the caller kept it (`Folded::
    /// state_text` of the aggregate's last run; `null` at first): where the run starts
    /// when the fold lost what it kept (an isolated worker stopped for a runaway).
    pub saved: &'a str,
    /// Start from `saved` rather than what the fold keeps (the fold was restarted since
    /// this key's last run: see `Fold::restarts`).
    pub seed: bool,
    /// Also fold each event a second time onto the state it produced, and say where
    /// that changes the state (`Folded::twice`): the reducer is not idempotent there.
    pub twice: bool,
}

/// What folding a run of events gave: the state after them, and the events whose
/// reducer failed (they left the state unchanged).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Folded {
    pub state: Val,
    pub errors: Vec<(usize, String)>,
    /// By event index: the invariants the state after it breaks.
    pub violations: Vec<(usize, Vec<String>)>,
    /// By event index: the value after its upcasters, where one applied.
    pub upcasts: Vec<(usize, Val)>,
    /// The state after the run's first flagged event (error or violation), when asked.
    pub flag_state: Option<Val>,
    /// After a resident run: the state after it as JSON text, for the caller to keep
    /// (`ResidentRun::saved`).
    pub state_text: Option<String>,
    /// When asked (`ResidentRun::twice`), by event index: the events whose second
    /// application changes the state they produced; for the first of each event type
    /// in the run, the state after it once and after it twice.
    pub twice: Vec<(usize, Option<(Val, Val)>)>,
}

impl Folded {
    /// Records what one event did; with `flag_state`, keeps the state after the first
    /// flagged event.
    pub fn record(&mut self, index: usize, outcome: Outcome, flag_state: bool) {
        self.record_from(index, outcome, flag_state, 0)
    }

    /// `record`, keeping the flagged state only from event index `flag_from` on.
    pub fn record_from(
        &mut self,
        index: usize,
        outcome: Outcome,
        flag_state: bool,
        flag_from: usize,
    ) {
        let flag_state = flag_state && index >= flag_from;
        let flagged = outcome.error.is_some() || !outcome.violations.is_empty();
        if flag_state && flagged && self.flag_state.is_none() {
            self.flag_state = Some(outcome.state.clone());
        }
        self.state = outcome.state;
        if let Some(e) = outcome.error {
            self.errors.push((index, e));
        }
        if !outcome.violations.is_empty() {
            self.violations.push((index, outcome.violations));
        }
        if let Some(v) = outcome.upcast {
            self.upcasts.push((index, v));
        }
    }
}

/// Folds runs of events onto a state: the reducers in this process, or the same
/// reducers isolated in a worker process with a time budget (`crate::isolation`).
pub trait Fold {
    fn fold(&self, state: Val, steps: &[Step<'_>]) -> Folded;

    /// The stream is gone: anything kept for it can go.
    fn forget(&self, _stream: u64) {}

    /// Whether steps may carry only their text (`Step::text`, with placeholder values):
    /// an isolated fold sends text and never reads the values.
    fn takes_text(&self) -> bool {
        false
    }

    /// Folds runs onto states the fold keeps by key (starting at `null`), so a long
    /// fold in many runs does not send states in. The answers' `state` is `null`;
    /// `state_text` is the state after the run, for the caller to keep. Runs of one key
    /// in one call follow each other: the second starts where the first ended.
    fn fold_resident(&self, runs: Vec<ResidentRun<'_>>) -> Vec<Folded>;

    /// How many times what the fold keeps was lost (an isolated worker restarted): a
    /// key whose last run was before the latest loss is to be seeded again.
    fn restarts(&self) -> u64 {
        0
    }
}

/// A stream id no other stream in this process has.
pub fn new_stream_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Reducers {
    /// Folds a run of steps onto `state`; with `flag_state`, keeps the state after the
    /// first flagged event at or after `flag_from`; with `twice`, also says where an
    /// event applied a second time changes the state (`Folded::twice`).
    pub fn run_steps(
        &self,
        state: Val,
        steps: &[Step<'_>],
        flag_state: bool,
        flag_from: usize,
        twice: bool,
    ) -> Folded {
        let mut folded = Folded {
            state,
            ..Folded::default()
        };
        let mut exampled: Vec<&str> = Vec::new();
        for step in steps {
            let outcome = match step.undecodable {
                Some(why) => Outcome {
                    state: folded.state.clone(),
                    error: Some(format!("payload not decoded: {why}")),
                    violations: vec![],
                    upcast: None,
                },
                None => self.step(&folded.state, step.event_type, step.event, step.meta),
            };
            if twice && outcome.error.is_none() && step.undecodable.is_none() {
                let value = outcome.upcast.as_ref().unwrap_or(step.event);
                // A failing second application leaves the state, as a fold does.
                if let Ok(again) = self.apply(step.event_type, &outcome.state, value, step.meta) {
                    if again != outcome.state {
                        let first = !exampled.contains(&step.event_type);
                        if first {
                            exampled.push(step.event_type);
                        }
                        let example = first.then(|| (outcome.state.clone(), again));
                        folded.twice.push((step.index, example));
                    }
                }
            }
            folded.record_from(step.index, outcome, flag_state, flag_from);
        }
        folded
    }
}

impl Fold for Reducers {
    fn fold(&self, state: Val, steps: &[Step<'_>]) -> Folded {
        self.run_steps(state, steps, false, 0, false)
    }

    /// In process nothing is lost: each run starts from the state its caller kept, or
    /// where the run of its key before it in this call ended.
    fn fold_resident(&self, runs: Vec<ResidentRun<'_>>) -> Vec<Folded> {
        let mut ended: std::collections::HashMap<u64, String> = Default::default();
        runs.into_iter()
            .map(|run| {
                let saved = ended.get(&run.key).map_or(run.saved, String::as_str);
                let state = parse_val(saved).unwrap_or_default();
                let mut folded =
                    self.run_steps(state, &run.steps, run.flag_state, run.flag_from, run.twice);
                let text = std::mem::take(&mut folded.state).to_string();
                ended.insert(run.key, text.clone());
                folded.state_text = Some(text);
                folded
            })
            .collect()
    }
}

impl Program {
    /// Runs the program as a predicate: whether any output is truthy (neither `false`
    /// nor `null`), as jq's `select` reads it; an error before one is the error.
    pub fn any_truthy(&self, input: &Val, event: &Val, meta: &Val) -> Result<bool, String> {
        let ctx = Ctx::<data::JustLut<Val>>::new(
            &self.filter.lut,
            Vars::new([event.clone(), meta.clone()]),
        );
        for output in self
            .filter
            .id
            .run((ctx, input.clone()))
            .map(jaq_core::unwrap_valr)
        {
            match output {
                Ok(Val::Null | Val::Bool(false)) => {}
                Ok(_) => return Ok(true),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(false)
    }

    /// The program's source.
    pub fn source(&self) -> &str {
        &self.source
    }

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
mod tests;
