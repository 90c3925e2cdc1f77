//! Drift: where a read model a consumer wrote disagrees with the state its aggregate's
//! events fold to. Pure: the fold and the database are elsewhere.

use serde_json::{json, Value};

use super::diff::{self, diff, Change};

/// One aggregate whose read model differs from its fold (or is missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Drifted {
    pub aggregate: String,
    pub folded: Value,
    /// `None`: the database has no row for it.
    pub read_model: Option<Value>,
    /// `folded` → `read_model` (each change's `before` is the fold's, `after` the read
    /// model's), ignored pointers left out.
    pub changes: Vec<Change>,
}

impl Drifted {
    /// `drift`'s JSON line.
    pub fn to_json(&self) -> Value {
        json!({"aggregate": self.aggregate, "folded": self.folded,
            "read_model": self.read_model, "changes": diff::to_json(&self.changes)})
    }
}

/// `value` without the parts `ignore` points at.
pub fn without(value: &Value, ignore: &[String]) -> Value {
    let mut value = value.clone();
    for pointer in ignore {
        remove(&mut value, pointer);
    }
    value
}

fn remove(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    let target = match parent {
        "" => Some(value),
        p => value.pointer_mut(p),
    };
    match target {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
        _ => {}
    }
}

/// Compares one aggregate's fold with its read model; `None` when they agree.
pub fn compare(
    aggregate: &str,
    folded: Value,
    read_model: Option<Value>,
    ignore: &[String],
) -> Option<Drifted> {
    let changes = match &read_model {
        Some(row) => diff(&without(&folded, ignore), &without(row, ignore)),
        None => vec![],
    };
    if read_model.is_some() && changes.is_empty() {
        return None;
    }
    Some(Drifted {
        aggregate: aggregate.to_owned(),
        folded,
        read_model,
        changes,
    })
}

/// The counts `drift` sums up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriftSummary {
    pub aggregates: usize,
    pub matching: usize,
    pub differing: usize,
    pub missing: usize,
}

impl DriftSummary {
    pub fn add(&mut self, drifted: Option<&Drifted>) {
        self.aggregates += 1;
        match drifted {
            None => self.matching += 1,
            Some(d) if d.read_model.is_none() => self.missing += 1,
            Some(_) => self.differing += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_pointers_are_left_out_and_a_missing_row_is_drift() {
        let folded = json!({"status": "shipped", "total": 10, "updated_at": 1});
        let row = json!({"status": "shipped", "total": 10, "updated_at": 99});
        let ignore = vec!["/updated_at".to_owned()];
        assert_eq!(
            compare("o-1", folded.clone(), Some(row.clone()), &ignore),
            None
        );
        let drifted = compare("o-1", folded.clone(), Some(row), &[]).unwrap();
        assert_eq!(drifted.changes.len(), 1);
        assert_eq!(drifted.changes[0].path, "/updated_at");
        let missing = compare("o-2", folded, None, &ignore).unwrap();
        assert_eq!(missing.to_json()["read_model"], Value::Null);
        let mut summary = DriftSummary::default();
        summary.add(None);
        summary.add(Some(&missing));
        summary.add(Some(&drifted));
        assert_eq!(
            (summary.matching, summary.missing, summary.differing),
            (1, 1, 1)
        );
        // Nested pointers and escapes.
        let nested = json!({"a": {"b/c": 1, "d": 2}, "l": [1, 2]});
        assert_eq!(
            without(&nested, &["/a/b~1c".into(), "/l/0".into()]),
            json!({"a": {"d": 2}, "l": [2]})
        );
    }
}
