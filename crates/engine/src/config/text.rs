//! Config text: `${VAR}` expansion, globs, and what a message may show of it.

use std::path::Path;

use super::Config;

/// A config line as shown in an error: the value of a secret key is `***`.
pub(super) fn redact_line(line: &str) -> String {
    match line.split_once('=') {
        Some((key, _)) if crate::model::secrets::is_secret(key.trim().trim_matches('"')) => {
            format!("{} = {}", key.trim(), crate::model::secrets::REDACTED)
        }
        // A database url's password (the line of a TOML error may not even parse).
        _ if line.contains("://") => crate::database::Url::redacted(line),
        _ => line.to_owned(),
    }
}

/// `${VAR}` → the environment variable's value (empty when unset), `${VAR:-default}` the
/// default when unset or empty; other text as is.
pub fn expand_env(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        // `${VAR:-default}`: the default when VAR is unset or empty, as in a shell.
        let inner = &rest[start + 2..start + 2 + len];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => out.push_str(&v),
            _ => out.push_str(default),
        }
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    out
}

/// A warning when a config file that holds secret values itself (not `${VAR}`
/// references) can be read by other users.
pub(super) fn permission_warning(config: &Config, path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let literal: Vec<&str> = config
        .profiles
        .values()
        .flat_map(|p| p.properties.iter())
        .filter(|(k, v)| crate::model::secrets::is_secret(k) && !v.trim().starts_with("${"))
        .map(|(k, _)| k.as_str())
        .collect();
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (!literal.is_empty() && mode & 0o077 != 0).then(|| {
        format!(
            "warning: {} holds secrets ({}) that other users can read (mode {:o}): chmod 600 it, or write \"${{VAR}}\" to take them from the environment",
            path.display(),
            literal.join(", "),
            mode & 0o777
        )
    })
}

/// Matches `*` (any run) and `?` (one character) globs against a whole name.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
