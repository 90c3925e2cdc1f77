//! The outcome of a rewind: what the consumer's read model holds once the re-delivered
//! events have come again, against what the events say it should hold. Pure: the folds
//! are the engine's; this is what is made of their states.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::diff::{self, diff, Change};

/// At most this many wrong aggregates are listed (all are counted).
pub const LISTED: usize = 100;

/// One aggregate the rewind leaves wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Wrong {
    pub aggregate: String,
    /// What the read model holds after the rewind and the catch-up.
    pub after: Value,
    /// What the events say: the candidate fold of all its events.
    pub correct: Value,
    /// `after` → `correct` (each change's `before` is after's, `after` correct's).
    pub changes: Vec<Change>,
}

/// Why aggregates come out wrong, from where the targets are against the commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Some target is below its committed offset: processed events come again.
    AppliedTwice,
    /// Some target is above its committed offset: events are never processed.
    Skipped,
    /// Neither: the read model keeps what the old reducers made of events that do not
    /// come again (`--with`).
    KeptOld,
}

impl Cause {
    /// The cause for a rewind from `committed` (by partition; none: nothing processed)
    /// to `targets`.
    pub fn of(committed: &HashMap<i32, i64>, targets: &HashMap<i32, i64>) -> Cause {
        let at = |p: &i32| committed.get(p).copied().unwrap_or(0);
        if targets.iter().any(|(p, t)| *t < at(p)) {
            Cause::AppliedTwice
        } else if targets.iter().any(|(p, t)| *t > at(p)) {
            Cause::Skipped
        } else {
            Cause::KeptOld
        }
    }

    fn says(self) -> &'static str {
        match self {
            Cause::AppliedTwice => "re-delivered events are applied twice",
            Cause::Skipped => "skipped events are never applied",
            Cause::KeptOld => "the read model keeps what the old reducers made",
        }
    }
}

/// The outcome of one rewind plan, built aggregate by aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Events that come again: processed before, delivered again from the targets.
    pub redelivered: usize,
    /// Aggregates those events belong to.
    pub aggregates: usize,
    /// Aggregates of the topic.
    pub total: usize,
    /// Aggregates left wrong.
    pub wrong: usize,
    /// The first `LISTED` wrong ones, by id.
    pub results: BTreeMap<String, Wrong>,
    pub cause: Cause,
    /// Whether a candidate logic (`--with`) models the consumer after the rewind.
    pub with_candidate: bool,
}

impl Outcome {
    pub fn new(cause: Cause, with_candidate: bool) -> Outcome {
        Outcome {
            redelivered: 0,
            aggregates: 0,
            total: 0,
            wrong: 0,
            results: BTreeMap::new(),
            cause,
            with_candidate,
        }
    }

    /// One aggregate of the topic: its read model after the rewind against the state
    /// its events make.
    pub fn add(&mut self, aggregate: &str, after: Value, correct: Value) {
        self.total += 1;
        if after == correct {
            return;
        }
        self.wrong += 1;
        let listed = self.results.len() >= LISTED;
        if listed
            && self
                .results
                .last_key_value()
                .is_some_and(|(k, _)| k.as_str() < aggregate)
        {
            return;
        }
        let changes = diff(&after, &correct);
        let wrong = Wrong {
            aggregate: aggregate.to_owned(),
            after,
            correct,
            changes,
        };
        self.results.insert(aggregate.to_owned(), wrong);
        if self.results.len() > LISTED {
            self.results.pop_last();
        }
    }

    /// `safe` when the rewind leaves every aggregate right, else `rebuild`.
    pub fn advice(&self) -> &'static str {
        match self.wrong {
            0 => "safe",
            _ => "rebuild",
        }
    }

    /// The plan's `outcome`.
    pub fn to_json(&self) -> Value {
        let results: Vec<Value> = self
            .results
            .values()
            .map(|w| {
                json!({"aggregate": w.aggregate, "after": w.after, "correct": w.correct,
                    "changes": diff::to_json(&w.changes)})
            })
            .collect();
        json!({"redelivered": self.redelivered, "aggregates": self.aggregates,
            "wrong": self.wrong, "results": results})
    }

    /// The one line the table output and the Rewind dialog show.
    pub fn line(&self) -> String {
        if self.wrong == 0 {
            return format!(
                "After the rewind all {} aggregate(s) are right: {} re-delivered event(s) leave them as their events say (safe)",
                self.total, self.redelivered
            );
        }
        let cause = match (self.cause, self.with_candidate) {
            (Cause::KeptOld, false) => "they differ from what their events say",
            (cause, _) => cause.says(),
        };
        let example = self
            .results
            .values()
            .next()
            .map(example)
            .unwrap_or_default();
        format!(
            "After the rewind {} of {} aggregate(s) are wrong: {cause}{example}",
            self.wrong, self.total
        )
    }
}

/// " — acc-3 balance 240, correct 120": the first change of a wrong aggregate.
fn example(wrong: &Wrong) -> String {
    let Some(change) = wrong.changes.first() else {
        return format!(" — {}", wrong.aggregate);
    };
    let path = change.path.trim_start_matches('/').replace('/', ".");
    let shown = |v: &Option<Value>| match v {
        None => "absent".to_owned(),
        Some(v) => short(v),
    };
    let field = match path.is_empty() {
        true => String::new(),
        false => format!(" {path}"),
    };
    format!(
        " — {}{field} {}, correct {}",
        wrong.aggregate,
        shown(&change.before),
        shown(&change.after)
    )
}

/// A value in at most 40 characters.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.chars().count() > 40 {
        true => format!("{}…", text.chars().take(39).collect::<String>()),
        false => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_aggregates_are_counted_all_and_listed_first_by_id() {
        let mut outcome = Outcome::new(Cause::AppliedTwice, false);
        for i in (0..150).rev() {
            outcome.add(
                &format!("acc-{i:03}"),
                json!({"balance": 240}),
                json!({"balance": 120}),
            );
        }
        outcome.add("acc-right", json!({"balance": 5}), json!({"balance": 5}));
        assert_eq!(
            (outcome.total, outcome.wrong, outcome.results.len()),
            (151, 150, LISTED)
        );
        assert_eq!(outcome.results.keys().next().unwrap(), "acc-000");
        assert_eq!(outcome.results.keys().last().unwrap(), "acc-099");
        assert_eq!(outcome.advice(), "rebuild");
        assert_eq!(
            outcome.line(),
            "After the rewind 150 of 151 aggregate(s) are wrong: re-delivered events are applied twice — acc-000 balance 240, correct 120"
        );
        let json = outcome.to_json();
        assert_eq!(json["results"][0]["changes"][0]["path"], "/balance");
        assert_eq!(json["results"][0]["changes"][0]["before"], 240);
    }

    #[test]
    fn the_cause_comes_from_the_targets_against_the_commits() {
        let map = |pairs: &[(i32, i64)]| pairs.iter().copied().collect::<HashMap<_, _>>();
        let committed = map(&[(0, 10), (1, 4)]);
        assert_eq!(
            Cause::of(&committed, &map(&[(0, 3), (1, 4)])),
            Cause::AppliedTwice
        );
        assert_eq!(
            Cause::of(&committed, &map(&[(0, 10), (1, 9)])),
            Cause::Skipped
        );
        assert_eq!(
            Cause::of(&committed, &map(&[(0, 10), (1, 4)])),
            Cause::KeptOld
        );
        // No commit: nothing processed, a target above 0 skips.
        assert_eq!(Cause::of(&HashMap::new(), &map(&[(0, 2)])), Cause::Skipped);
        let safe = Outcome::new(Cause::KeptOld, true);
        assert_eq!(safe.advice(), "safe");
    }
}
