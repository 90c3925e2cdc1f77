//! The protocol between a fold and its worker process: a JSON header a line (states
//! and events follow some, a line each). Both sides write and read these same types.

use serde::{Deserialize, Serialize};

use crate::model::reducer::Logic;

/// The first line to the worker: the logic it compiles.
#[derive(Serialize, Deserialize)]
pub(super) struct Hello<'a> {
    pub(super) logic: std::borrow::Cow<'a, Logic>,
}

impl Reply {
    /// A reply that says only why the request failed.
    pub(super) fn failed(why: String) -> Reply {
        Reply {
            err: Some(why),
            ..Reply::default()
        }
    }
}

impl std::fmt::Display for Reply {
    /// As written on the pipe: one line of JSON.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
    }
}

/// A request's header.
#[derive(Serialize, Deserialize)]
pub(super) struct Request<'a> {
    /// States the worker keeps that it may drop.
    #[serde(default, skip_serializing_if = "nothing_to_forget")]
    pub(super) forget: std::borrow::Cow<'a, [u64]>,
    /// How many events seen for the first time follow the states.
    pub(super) new: usize,
    /// The runs: stream and index of each event, in order; each given state follows
    /// the header, a line each.
    pub(super) runs: std::borrow::Cow<'a, [RunHead]>,
}

// serde hands `skip_serializing_if` a reference to the field as it is.
#[allow(clippy::ptr_arg)]
fn nothing_to_forget(keys: &std::borrow::Cow<'_, [u64]>) -> bool {
    keys.is_empty()
}

/// One run of a request.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct RunHead {
    pub(super) steps: Vec<(u64, usize)>,
    /// The key of the state the worker keeps; `None`: the state follows the header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) resident: Option<u64>,
    /// With `resident`: the state to start from follows the header (after a restart).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) seeded: bool,
    /// Send the state after the run's first flagged event at or after `flag_from`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) flag_state: bool,
    #[serde(default)]
    pub(super) flag_from: usize,
    /// Probe each event twice: the answer says where that changes the state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) twice: bool,
}

/// The header of a run's answer; empty fields are left out (`{}` for a clean run).
#[derive(Deserialize, Serialize, Default)]
pub(super) struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) err: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) errors: Vec<(usize, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) violations: Vec<(usize, Vec<String>)>,
    /// The positions whose upcast value follows the state, a line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) upcasts: Vec<usize>,
    /// The state after the first flagged event follows the state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) flag_state: bool,
    /// The positions whose second application changed the state (a `twice` run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) twice: Vec<usize>,
    /// Of those, the ones whose state once and twice follow the upcasts, two lines each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) examples: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ready: Option<bool>,
}

/// An event's header, sent the first time the worker sees it (its value follows).
#[derive(Serialize, Deserialize)]
pub(super) struct EventHead {
    pub(super) stream: u64,
    pub(super) index: usize,
    #[serde(rename = "type")]
    pub(super) event_type: String,
    /// Why the payload was not decoded: the event is marked and leaves the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) undecodable: Option<String>,
}
