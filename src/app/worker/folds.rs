//! The whole-topic work the TUI asks for on threads of their own: a plan's outcome and
//! `:drift`, with progress and stopped when no longer wanted; and the database reads of
//! `v` and of snapshots kept in a database.

use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::{Msg, Shared, WorkerError, PROGRESS_EVERY};

/// Lets progress through at most every `PROGRESS_EVERY` (the first report at once).
struct Throttle(Mutex<Option<Instant>>);

impl Throttle {
    fn new() -> Throttle {
        Throttle(Mutex::new(None))
    }

    fn due(&self) -> bool {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

impl Shared {
    /// `v`: an aggregate's row in its topic's read model.
    pub(super) fn read_model_row(&self, generation: u64, topic: &str, aggregate: String) {
        let result = crate::engine::drift::read_model_of(&self.config(), topic)
            .and_then(|rm| {
                let mut db =
                    crate::engine::drift::open(&self.config(), self.pool.conn(), &rm.database)?;
                Ok(db.read_model(&rm.query, &aggregate)?)
            })
            .map_err(|e| WorkerError::of(&e.context(format!("the read model of {topic}"))));
        self.send(Msg::ReadModelRow {
            generation,
            aggregate,
            result,
        });
    }

    /// An aggregate's snapshots from its topic's database.
    pub(super) fn database_snapshots(&self, generation: u64, topic: &str, aggregate: String) {
        let result = crate::engine::drift::database_snapshots(
            &self.config(),
            self.pool.conn(),
            topic,
            &aggregate,
        )
        .map(Option::unwrap_or_default)
        .map_err(|e| WorkerError::of(&e));
        self.send(Msg::AggregateSnapshots {
            generation,
            aggregate,
            result,
        });
    }

    /// `:drift`: every aggregate's read model against its fold, while the topic is the
    /// one wanted; progress at most every tenth of a second.
    pub(super) fn drift(&self, generation: u64, topic: &str) {
        let wanted = || self.latest.load(Ordering::Relaxed) == generation;
        let cancel = || !wanted();
        let throttle = Throttle::new();
        // While folding: records read; then: aggregates compared with their rows.
        let folding = |done: i64, total: i64| {
            if throttle.due() {
                self.send(Msg::DriftProgress {
                    generation,
                    folding: true,
                    done: done as usize,
                    total: total as usize,
                });
            }
        };
        let tell = |done: usize, total: usize| {
            if throttle.due() {
                self.send(Msg::DriftProgress {
                    generation,
                    folding: false,
                    done,
                    total,
                });
            }
        };
        let scope = crate::engine::fold::Scope {
            topic,
            cancel: Some(&cancel),
            on_progress: Some(&folding),
            ..Default::default()
        };
        let mut ids = Vec::new();
        let result = crate::engine::drift::drift(
            &self.pool,
            &self.config(),
            &scope,
            None,
            &mut |d| ids.push(d.aggregate.clone()),
            Some(&tell),
        );
        if !wanted() {
            return;
        }
        let result = result.map(|_| ids).map_err(|e| WorkerError::of(&e));
        self.send(Msg::Drift { generation, result });
    }

    /// The outcome of a plan (`Command::FoldOutcome`), with progress at most every
    /// tenth of a second; it stops when another plan or none is wanted.
    pub(super) fn fold_outcome(
        &self,
        request: crate::app::PlanId,
        plan: &crate::model::plan::Plan,
        candidate: Option<crate::model::reducer::Logic>,
    ) {
        let wanted = || self.outcome.load(Ordering::Relaxed) == request.0;
        let cancel = || !wanted();
        let throttle = Throttle::new();
        let tell = |pass: usize, done: i64, total: i64| {
            if throttle.due() {
                self.send(Msg::OutcomeProgress {
                    request,
                    pass,
                    done,
                    total,
                });
            }
        };
        let asked = crate::engine::outcome::Asked {
            cancel: Some(&cancel),
            on_progress: Some(&tell),
            progress: false,
            ..crate::engine::outcome::Asked::of(plan, candidate)
        };
        let result = crate::engine::outcome::outcome(&self.pool, &self.config(), &asked);
        if !wanted() {
            return;
        }
        let result = result.map(Box::new).map_err(|e| WorkerError::of(&e));
        self.send(Msg::Outcome { request, result });
    }
}
