//! The open topic: its events, its aggregates and all the app has learnt of it, in one
//! value. Opening another topic replaces it whole, so nothing of the last one lingers.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::{AggregatesView, Direction, EventsView};
use crate::model::reducer::{Fold, Logic};
use crate::model::snapshot::StoredSnapshot;
use crate::model::stream::Linker;
use crate::model::{Coord, Event};

#[derive(Default)]
pub struct OpenTopic {
    pub events: EventsView,
    pub aggregates: AggregatesView,
    /// Whether its new events are followed (`f`).
    pub following: bool,
    /// Duplicates and compensations, once it is fully loaded.
    pub(super) linker: Option<Linker>,
    /// How many of its events the linker has seen.
    pub(super) linked: usize,
    /// Stored snapshots, by aggregate, as its streams open.
    pub(super) snapshots: HashMap<String, Vec<StoredSnapshot>>,
    /// Its compiled reducers, compiled when its first stream opens.
    pub(super) reducers: Option<Rc<dyn Fold>>,
    /// Payloads asked of the worker and not arrived yet.
    pub(super) requested: HashSet<Coord>,
    /// Payloads that just arrived, kept until the stream waiting for them is open.
    pub(super) arrived: HashMap<Coord, Rc<Event>>,
    /// A stream to open once its payloads arrive: aggregate and position.
    pub(super) pending_stream: Option<(String, Option<usize>)>,
    /// The running `/?JQ` search's cursor: where it was when the search started, and
    /// where the search moved it (matches come in any order: once done, a cursor the
    /// user left there goes to the first match in order).
    pub(super) content_cursor: Option<(usize, Option<usize>)>,
    /// `:compare FILE`: the file, and the fold of its logic for this topic.
    pub(super) compare: Option<(String, Rc<dyn Fold>, Logic)>,
    /// Its flagged aggregates with their first flag, once checked.
    pub(super) flags: Option<Vec<(String, usize)>>,
    /// A `]` (forward) or `[` (back) waiting for its check.
    pub(super) pending_flag: Option<Direction>,
}
