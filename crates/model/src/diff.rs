//! What changed between two states, as JSON Pointer paths with before and after.

use serde_json::{json, Value};

/// One change: `op` is `add`, `replace` or `remove`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub path: String,
    pub op: &'static str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    /// The SPEC.md shape: `{"path","op","before","after"}`.
    pub fn to_json(&self) -> Value {
        json!({"path": self.path, "op": self.op, "before": self.before, "after": self.after})
    }
}

/// The changes that turn `before` into `after` (RFC 6902 diff, by json-patch).
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    use json_patch::PatchOperation::*;
    json_patch::diff(before, after)
        .0
        .into_iter()
        .filter_map(|op| {
            let (op, path, value) = match op {
                Add(a) => ("add", a.path.to_string(), Some(a.value)),
                Replace(r) => ("replace", r.path.to_string(), Some(r.value)),
                Remove(r) => ("remove", r.path.to_string(), None),
                _ => return None,
            };
            let old = if op == "add" {
                None
            } else {
                before.pointer(&path).cloned()
            };
            Some(Change {
                path,
                op,
                before: old,
                after: value,
            })
        })
        .collect()
}

/// The changes as a JSON array.
pub fn to_json(changes: &[Change]) -> Value {
    Value::Array(changes.iter().map(Change::to_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_replace_remove_with_before_and_after() {
        let before = json!({"status": "paid", "items": [1], "gone": true, "nested": {"a": 1}});
        let after = json!({"status": "shipped", "items": [1, 2], "nested": {"a": 1, "b/c": 2}});
        let mut changes: Vec<Value> = diff(&before, &after).iter().map(Change::to_json).collect();
        changes.sort_by_key(|c| c["path"].as_str().unwrap().to_owned());
        assert_eq!(
            changes,
            vec![
                json!({"path": "/gone", "op": "remove", "before": true, "after": null}),
                json!({"path": "/items/1", "op": "add", "before": null, "after": 2}),
                json!({"path": "/nested/b~1c", "op": "add", "before": null, "after": 2}),
                json!({"path": "/status", "op": "replace", "before": "paid", "after": "shipped"}),
            ]
        );
        assert!(diff(&before, &before).is_empty());
        assert_eq!(diff(&Value::Null, &json!({"a": 1}))[0].path, "");
    }
}
