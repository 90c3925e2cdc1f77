//! Drift between the events and the read model their consumer wrote to a database:
//! every aggregate folded (to the end, or at a group's committed offsets), then its row
//! read and compared. Also snapshots kept in a database.

use anyhow::{Context, Result};

use super::fold::{Scope, Select};
use crate::config::{Config, Connection, ReadModelConfig};
use crate::database::{Database, Url};
use crate::model::drift::{compare, DriftSummary, Drifted};
use crate::pool::Pool;

/// Opens `[databases.NAME]`, waiting for a server at most the connection's timeout.
pub fn open(config: &Config, conn: &Connection, name: &str) -> Result<Database> {
    let db = config
        .databases
        .get(name)
        .with_context(|| format!("no [databases.{name}] in {}", config.describe_path()))?;
    let base = config.path.as_deref().and_then(std::path::Path::parent);
    let url = Url::parse(&crate::config::expand_env(&db.url), base)
        .map_err(|e| anyhow::anyhow!("[databases.{name}] url: {e}"))?;
    Ok(Database::open(name, &url, conn.timeout())?)
}

/// The topic's `read_model`, or an error saying how to configure one.
pub fn read_model_of<'c>(config: &'c Config, topic: &str) -> Result<&'c ReadModelConfig> {
    config
        .topic(topic)
        .and_then(|t| t.read_model.as_ref())
        .with_context(|| {
            format!(
                "topic `{topic}` has no `read_model = {{ database = …, query = … }}` in {}",
                config.describe_path()
            )
        })
}

/// Folds every aggregate in `scope` (at `group`'s committed offsets when given), reads
/// each one's read model and hands those that differ to `each`, in aggregate order.
/// With `tell`, says (aggregates compared, aggregates to compare) as it reads the rows.
pub fn drift(
    pool: &Pool,
    config: &Config,
    scope: &Scope<'_>,
    group: Option<&str>,
    each: &mut dyn FnMut(&Drifted),
    tell: Option<&dyn Fn(usize, usize)>,
) -> Result<DriftSummary> {
    let read_model = read_model_of(config, scope.topic)?;
    // The database first: a wrong url or a server that is down fails before the fold.
    let mut db = open(config, pool.conn(), &read_model.database)
        .with_context(|| format!("the read model of {}", scope.topic))?;
    let select = match group {
        None => Select::All,
        Some(g) => Select::Below(std::sync::Arc::new(super::outcome::committed(
            pool,
            g,
            scope.topic,
        )?)),
    };
    let (states, _) = super::outcome::states(pool, config, scope, select)?;
    let mut summary = DriftSummary::default();
    let total = states.len();
    for (i, s) in states.into_iter().enumerate() {
        if scope.cancel.is_some_and(|c| c()) {
            return Err(super::fold::Cancelled.into());
        }
        if let Some(tell) = tell {
            tell(i, total);
        }
        let row = db
            .read_model(&read_model.query, &s.aggregate)
            .with_context(|| format!("the read model of {}", scope.topic))?;
        let drifted = compare(&s.aggregate, s.state, row, &read_model.ignore);
        summary.add(drifted.as_ref());
        if let Some(d) = &drifted {
            each(d);
        }
    }
    Ok(summary)
}

/// An aggregate's snapshots from the database its topic's `snapshots` names, in the
/// query's order; `None` when its snapshots are not in a database.
pub fn database_snapshots(
    config: &Config,
    conn: &Connection,
    topic: &str,
    aggregate: &str,
) -> Result<Option<Vec<crate::model::snapshot::StoredSnapshot>>> {
    let Some(s) = config.topic(topic).and_then(|t| t.snapshots.as_ref()) else {
        return Ok(None);
    };
    let (Some(database), Some(query)) = (&s.database, &s.query) else {
        return Ok(None);
    };
    let mut db =
        open(config, conn, database).with_context(|| format!("the snapshots of {topic}"))?;
    let rows = db
        .snapshots(query, aggregate)
        .with_context(|| format!("the snapshots of {topic}"))?;
    Ok(Some(
        rows.into_iter()
            .enumerate()
            .map(
                |(i, (state, version))| crate::model::snapshot::StoredSnapshot {
                    // A row's place in the query's answer.
                    coord: crate::model::Coord {
                        partition: -1,
                        offset: i as i64,
                    },
                    version,
                    state,
                },
            )
            .collect(),
    ))
}
