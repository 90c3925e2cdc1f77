//! Read models and snapshots that services keep in a database: PostgreSQL (over the
//! network, read-only sessions) or SQLite (a file, opened read-only). rewind only
//! reads them, one query per aggregate, to compare with what the events say.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// Why a database could not be read: one line naming the database and what to check.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DatabaseError(pub String);

type Result<T> = std::result::Result<T, DatabaseError>;

/// Where a database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Url {
    /// A `postgres://` or `postgresql://` url, as libpq takes it.
    Postgres(String),
    /// `sqlite:PATH` (relative to the config file's directory).
    Sqlite(PathBuf),
}

impl Url {
    /// Reads a url (after `${VAR}` expansion); `base` is where relative SQLite paths
    /// start.
    pub fn parse(url: &str, base: Option<&Path>) -> std::result::Result<Url, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let rest = url.split_once("://").map_or("", |(_, r)| r);
            let authority = rest.split(['/', '?']).next().unwrap_or(rest);
            if authority.matches('@').count() > 1 {
                return Err(
                    "the user or password holds an `@`: write it as %40 (the url would be read wrong, and the password shown)"
                        .into(),
                );
            }
            return Ok(Url::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("`sqlite:` needs a file: sqlite:path/to/file.db".into());
            }
            let path = PathBuf::from(path);
            let path = match (path.is_relative(), base) {
                (true, Some(base)) => base.join(path),
                _ => path,
            };
            return Ok(Url::Sqlite(path));
        }
        Err("a database url is postgres://USER:PASSWORD@HOST:PORT/DB or sqlite:PATH".into())
    }

    /// Every form a url's secrets take: the userinfo password as written and decoded,
    /// and a `password=` parameter's value.
    pub fn secrets(url: &str) -> Vec<String> {
        let mut found = Vec::new();
        if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
            let authority = rest.split(['/', '?']).next().unwrap_or(rest);
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                if let Some((_, raw)) = userinfo.split_once(':') {
                    found.push(raw.to_owned());
                    found.push(percent_decode(raw));
                }
            }
        }
        if let Some((_, query)) = url.split_once('?') {
            for pair in query.split('&') {
                if let Some(("password", v)) = pair.split_once('=') {
                    found.push(v.to_owned());
                    found.push(percent_decode(v));
                }
            }
        }
        found.retain(|s| !s.is_empty());
        found
    }

    /// A url with its secrets shown as `***`.
    pub fn redacted(url: &str) -> String {
        let mut out = url.to_owned();
        for secret in Url::secrets(url) {
            out = out.replace(&secret, crate::model::secrets::REDACTED);
        }
        out
    }
}

/// `%XX` escapes decoded, as a url's userinfo has them.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An open database.
pub struct Database {
    /// Its name in `[databases]`, for messages.
    name: String,
    kind: Kind,
}

enum Kind {
    /// With the statements prepared so far, by query.
    Postgres(
        Box<postgres::Client>,
        std::collections::HashMap<String, postgres::Statement>,
    ),
    Sqlite(rusqlite::Connection),
}

impl Database {
    /// Opens `[databases.NAME]`, waiting at most `timeout` for a server. PostgreSQL
    /// sessions are read-only, SQLite files are opened read-only: nothing is written.
    pub fn open(name: &str, url: &Url, timeout: Duration) -> Result<Database> {
        let kind = match url {
            Url::Postgres(text) => {
                let mut config: postgres::Config = text.parse().map_err(|e| {
                    DatabaseError(format!(
                        "database {name}: its url does not read as PostgreSQL's ({e})"
                    ))
                })?;
                if config.get_ssl_mode() == postgres::config::SslMode::Require {
                    return Err(DatabaseError(format!(
                        "database {name}: its url asks for TLS (sslmode=require), which rewind does not speak to PostgreSQL yet: use sslmode=disable on a trusted network, or a local socket"
                    )));
                }
                config.connect_timeout(timeout);
                let ms = timeout.as_millis().max(1);
                // Added to the url's own options. Each query also runs in a read-only
                // transaction of its own, which a query cannot make writable.
                let options = format!(
                    "{} -c default_transaction_read_only=on -c statement_timeout={ms}",
                    config.get_options().unwrap_or_default()
                );
                config.options(options.trim());
                let client = config.connect(postgres::NoTls).map_err(|e| {
                    DatabaseError(format!(
                        "database {name}: cannot connect to PostgreSQL at {} within {} ms: {} (check the url, that the server runs, and the user and password)",
                        where_of(&config),
                        timeout.as_millis(),
                        pg_error(&e)
                    ))
                })?;
                Kind::Postgres(Box::new(client), Default::default())
            }
            Url::Sqlite(path) => {
                if !path.exists() {
                    return Err(DatabaseError(format!(
                        "database {name}: no SQLite file at {}",
                        path.display()
                    )));
                }
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| {
                    DatabaseError(format!(
                        "database {name}: cannot open {}: {e}",
                        path.display()
                    ))
                })?;
                let _ = conn.busy_timeout(timeout);
                Kind::Sqlite(conn)
            }
        };
        Ok(Database {
            name: name.to_owned(),
            kind,
        })
    }

    /// The rows `query` gives for aggregate `id` (`$1`): each row's first `columns`
    /// columns, the first as JSON (json/jsonb, or text holding JSON), the others as
    /// they are (integers or text); a query with fewer columns is an error.
    pub fn rows(&mut self, query: &str, id: &str, columns: usize) -> Result<Vec<Vec<Value>>> {
        let name = self.name.clone();
        let fail =
            |why: String| DatabaseError(format!("database {name}: the query `{query}` {why}"));
        let too_few = |n: usize| {
            fail(format!(
                "gives {n} column(s): its first is the JSON{}",
                if columns > 1 {
                    ", its second the version"
                } else {
                    ""
                }
            ))
        };
        match &mut self.kind {
            Kind::Postgres(client, prepared) => {
                let statement = match prepared.get(query) {
                    Some(s) => s.clone(),
                    None => {
                        let s = client
                            .prepare(query)
                            .map_err(|e| fail(format!("does not run: {}", pg_error(&e))))?;
                        prepared.insert(query.to_owned(), s.clone());
                        s
                    }
                };
                if statement.columns().len() < columns {
                    return Err(too_few(statement.columns().len()));
                }
                // A read-only transaction of its own, rolled back: a query can neither
                // make it writable nor leave anything behind.
                let mut tx = client
                    .build_transaction()
                    .read_only(true)
                    .start()
                    .map_err(|e| fail(format!("does not run: {}", pg_error(&e))))?;
                let rows = match statement.params() {
                    [t] if is_text(t) => tx.query(&statement, &[&id]),
                    [t] if *t == postgres::types::Type::INT8 => {
                        tx.query(&statement, &[&parse_int::<i64>(id, &fail)?])
                    }
                    [t] if *t == postgres::types::Type::INT4 => {
                        tx.query(&statement, &[&parse_int::<i32>(id, &fail)?])
                    }
                    [t] => {
                        return Err(fail(format!(
                            "takes $1 as {t}; the aggregate id is text: compare as text (col::text = $1) or cast it ($1::text::{t})"
                        )))
                    }
                    params => {
                        return Err(fail(format!(
                            "takes {} parameters; it takes one, $1, the aggregate id",
                            params.len()
                        )))
                    }
                }
                .map_err(|e| fail(format!("does not run: {}", pg_error(&e))))?;
                let _ = tx.rollback();
                rows.iter()
                    .map(|row| {
                        (0..columns)
                            .map(|i| pg_value(row, i, i == 0).map_err(&fail))
                            .collect()
                    })
                    .collect()
            }
            Kind::Sqlite(conn) => {
                let mut statement = conn
                    .prepare_cached(query)
                    .map_err(|e| fail(format!("does not run: {e}")))?;
                if statement.parameter_count() != 1 {
                    return Err(fail(format!(
                        "takes {} parameters; it takes one, $1, the aggregate id",
                        statement.parameter_count()
                    )));
                }
                if statement.column_count() < columns {
                    return Err(too_few(statement.column_count()));
                }
                let mut rows = statement
                    .query([id])
                    .map_err(|e| fail(format!("does not run: {e}")))?;
                let mut all = Vec::new();
                while let Some(row) = rows
                    .next()
                    .map_err(|e| fail(format!("does not run: {e}")))?
                {
                    let values: Result<Vec<Value>> = (0..columns)
                        .map(|i| {
                            let cell = row.get_ref(i).map_err(|e| fail(e.to_string()))?;
                            sqlite_value(cell, i == 0).map_err(&fail)
                        })
                        .collect();
                    all.push(values?);
                }
                Ok(all)
            }
        }
    }

    /// The read model of aggregate `id`: the first column of the query's one row, or
    /// `None` when it gives none.
    pub fn read_model(&mut self, query: &str, id: &str) -> Result<Option<Value>> {
        let mut rows = self.rows(query, id, 1)?;
        if rows.len() > 1 {
            return Err(DatabaseError(format!(
                "database {}: the query `{query}` gives {} rows for {id}; a read model is at most one",
                self.name,
                rows.len()
            )));
        }
        Ok(rows.pop().map(|mut r| r.swap_remove(0)))
    }

    /// Aggregate `id`'s stored snapshots: (state, version) per row, the version being
    /// the second column (how many of its events the state includes).
    pub fn snapshots(&mut self, query: &str, id: &str) -> Result<Vec<(Value, Option<usize>)>> {
        let rows = self.rows(query, id, 2)?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let version = r.get(1).and_then(|v| match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                });
                (r.swap_remove(0), version.map(|v| v as usize))
            })
            .collect())
    }
}

fn parse_int<T: std::str::FromStr>(id: &str, fail: &dyn Fn(String) -> DatabaseError) -> Result<T> {
    id.parse().map_err(|_| {
        fail(format!(
            "takes $1 as an integer, and the aggregate id `{id}` is not one"
        ))
    })
}

fn is_text(t: &postgres::types::Type) -> bool {
    use postgres::types::Type;
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(t)
}

/// Host and port of a PostgreSQL config, for messages (never its password).
fn where_of(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// A PostgreSQL error as the server says it.
fn pg_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => first_line(&e.to_string()),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Column `i` of a PostgreSQL row as JSON; the first must be json, jsonb or text
/// holding JSON.
fn pg_value(row: &postgres::Row, i: usize, first: bool) -> std::result::Result<Value, String> {
    use postgres::types::Type;
    let t = row.columns()[i].type_().clone();
    let get_err = |e: postgres::Error| {
        format!(
            "gives a column {} that cannot be read: {e}",
            row.columns()[i].name()
        )
    };
    if t == Type::JSON || t == Type::JSONB {
        let v: Option<Value> = row.try_get(i).map_err(get_err)?;
        return Ok(v.unwrap_or(Value::Null));
    }
    if is_text(&t) {
        let v: Option<String> = row.try_get(i).map_err(get_err)?;
        return match (v, first) {
            (None, _) => Ok(Value::Null),
            (Some(text), true) => json_text(&text),
            (Some(text), false) => Ok(Value::String(text)),
        };
    }
    if first {
        return Err(format!(
            "gives a first column of type {t}, not JSON: select json or jsonb (to_jsonb(row)), or text holding JSON"
        ));
    }
    let number = |n: Option<i64>| n.map_or(Value::Null, Value::from);
    match t {
        Type::INT2 => Ok(number(
            row.try_get::<_, Option<i16>>(i)
                .map_err(get_err)?
                .map(i64::from),
        )),
        Type::INT4 => Ok(number(
            row.try_get::<_, Option<i32>>(i)
                .map_err(get_err)?
                .map(i64::from),
        )),
        Type::INT8 => Ok(number(row.try_get::<_, Option<i64>>(i).map_err(get_err)?)),
        _ => Err(format!(
            "gives a column of type {t}; the version column is an integer"
        )),
    }
}

/// Column `first` (or another) of a SQLite row as JSON.
fn sqlite_value(
    cell: rusqlite::types::ValueRef<'_>,
    first: bool,
) -> std::result::Result<Value, String> {
    use rusqlite::types::ValueRef;
    match (cell, first) {
        (ValueRef::Null, _) => Ok(Value::Null),
        (ValueRef::Text(bytes), true) => json_text(&String::from_utf8_lossy(bytes)),
        (ValueRef::Text(bytes), false) => Ok(Value::String(String::from_utf8_lossy(bytes).into_owned())),
        (ValueRef::Integer(n), false) => Ok(Value::from(n)),
        (ValueRef::Real(x), false) => Ok(Value::from(x)),
        (other, true) => Err(format!(
            "gives a first column of type {}, not JSON text (select json_object(…) or a TEXT column holding JSON)",
            other.data_type()
        )),
        (other, false) => Err(format!("gives a column of type {}", other.data_type())),
    }
}

fn json_text(text: &str) -> std::result::Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        let shown: String = text.chars().take(40).collect();
        format!("gives a first column that is not JSON (`{shown}`: {e})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_read_and_passwords_are_found() {
        let base = Path::new("/etc/rewind");
        assert_eq!(
            Url::parse("sqlite:shop.db", Some(base)),
            Ok(Url::Sqlite(PathBuf::from("/etc/rewind/shop.db")))
        );
        assert_eq!(
            Url::parse("sqlite:///var/shop.db", Some(base)),
            Ok(Url::Sqlite(PathBuf::from("/var/shop.db")))
        );
        assert!(Url::parse("mysql://x", None).is_err());
        assert!(Url::parse("postgres://rewind:hun@ter2@127.0.0.1:1/shop", None).is_err());
        assert!(Url::parse("postgres://rewind:hun%40ter2@127.0.0.1:1/shop", None).is_ok());
        assert_eq!(
            Url::secrets("postgres://rewind:p%40ss@127.0.0.1:5432/shop"),
            ["p%40ss", "p@ss"]
        );
        assert!(Url::secrets("postgres://rewind@127.0.0.1/shop").is_empty());
        // An unescaped @ in the password: the host is after the last one.
        assert_eq!(
            Url::secrets("postgres://rewind:hun@ter2@127.0.0.1:1/shop"),
            ["hun@ter2", "hun@ter2"]
        );
        assert_eq!(
            Url::redacted("postgres://rewind@127.0.0.1/shop?password=s3cret&sslmode=disable"),
            "postgres://rewind@127.0.0.1/shop?password=***&sslmode=disable"
        );
    }
}
