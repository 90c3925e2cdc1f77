//! One cluster client and the scan consumers it lends, made when first needed and
//! counted: what every piece of work against a cluster takes its client from, so a
//! command or the TUI's worker connects once however many folds, reads and plans it
//! runs. A scan consumer goes back to the pool after a scan that did not fail (a
//! fresh one finds the partition leaders anew).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::config::{Connection, ReadIsolation};
use crate::kafka::{Cluster, ClusterError, Scanner};

/// Told when a scan loses every broker (`Some(why)`) and when records come again.
pub type OnLink = Arc<dyn Fn(Option<String>) + Send + Sync>;

/// The clients of one connection.
pub struct Pool {
    /// Reads committed records: everything that folds, counts, plans or follows.
    conn: Connection,
    /// `--isolation uncommitted`: the reads that show records (`scan_shown`) read
    /// every record.
    uncommitted: bool,
    client: Mutex<Option<Arc<Client>>>,
    made: Arc<AtomicUsize>,
    on_link: Option<OnLink>,
}

/// The cluster client and its idle scan consumers.
pub struct Client {
    pub cluster: Cluster,
    /// The cluster's id, asked once (it names the on-disk indexes).
    pub id: OnceLock<String>,
    /// The topics' ids, as they are learnt (`Cluster::topic_ids`).
    pub topic_ids: Mutex<HashMap<String, String>>,
    /// Idle scan consumers (read committed); each is unassigned when it comes back.
    scanners: Mutex<Vec<Scanner>>,
    /// Idle scan consumers that read uncommitted.
    shown: Mutex<Vec<Scanner>>,
    conn: Connection,
    uncommitted: bool,
    made: Arc<AtomicUsize>,
    on_link: Option<OnLink>,
}

impl Pool {
    /// A pool for `conn`; nothing connects until a client is asked for.
    pub fn new(conn: &Connection) -> Pool {
        Pool {
            conn: conn.committed(),
            uncommitted: conn.isolation == ReadIsolation::Uncommitted,
            client: Mutex::new(None),
            made: Arc::new(AtomicUsize::new(0)),
            on_link: None,
        }
    }

    /// Scan consumers made from now on tell `on_link` when the brokers are lost and
    /// when they are back.
    pub fn watching_link(mut self, on_link: OnLink) -> Pool {
        self.on_link = Some(on_link);
        self
    }

    /// The connection (committed reads).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Whether the reads that show records read uncommitted.
    pub fn uncommitted(&self) -> bool {
        self.uncommitted
    }

    /// librdkafka clients made so far (the cluster's and the scan consumers).
    pub fn made(&self) -> usize {
        self.made.load(Ordering::Relaxed)
    }

    /// The cluster client, made on first use.
    pub fn client(&self) -> Result<Arc<Client>, ClusterError> {
        let mut client = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = client.as_ref() {
            return Ok(c.clone());
        }
        self.made.fetch_add(1, Ordering::Relaxed);
        let made = Arc::new(Client {
            cluster: Cluster::connect(&self.conn)?,
            id: OnceLock::new(),
            topic_ids: Mutex::default(),
            scanners: Mutex::default(),
            shown: Mutex::default(),
            conn: self.conn.clone(),
            uncommitted: self.uncommitted,
            made: self.made.clone(),
            on_link: self.on_link.clone(),
        });
        *client = Some(made.clone());
        Ok(made)
    }

    /// The client if one was made (nothing connects).
    pub fn made_client(&self) -> Option<Arc<Client>> {
        self.client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Lends a committed-reading scan consumer to `f` (see `Client::scan`).
    pub fn scan<T>(
        &self,
        f: impl FnOnce(&Scanner) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        self.client()?.scan(f)
    }
}

impl Client {
    /// A topic's id, once learnt.
    pub fn topic_id(&self, topic: &str) -> Option<String> {
        let ids = self
            .topic_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ids.get(topic).cloned()
    }

    /// The cluster's id, asked once.
    pub fn cluster_id(&self) -> &str {
        self.id.get_or_init(|| self.cluster.id())
    }

    /// Lends a scan consumer to `f`; it goes back to the pool unless the scan failed.
    pub fn scan<T>(
        &self,
        f: impl FnOnce(&Scanner) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        self.lend_from(&self.scanners, None, kept_if_ok(f))?
    }

    /// `scan` for the reads that show records (a topic's load, its payloads): with
    /// `--isolation uncommitted` a consumer that reads every record.
    pub fn scan_shown<T>(
        &self,
        f: impl FnOnce(&Scanner) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        match self.uncommitted {
            true => {
                let conn = Connection {
                    isolation: ReadIsolation::Uncommitted,
                    ..self.conn.clone()
                };
                self.lend_from(&self.shown, Some(&conn), kept_if_ok(f))?
            }
            false => self.scan(f),
        }
    }

    /// Lends a scan consumer to `f`, which says what it made and whether the consumer
    /// may serve again (false after a Kafka error: a fresh one finds the partition
    /// leaders anew).
    pub fn lend<T>(&self, f: impl FnOnce(&Scanner) -> (T, bool)) -> Result<T, ClusterError> {
        self.lend_from(&self.scanners, None, f)
    }

    fn lend_from<T>(
        &self,
        pool: &Mutex<Vec<Scanner>>,
        conn: Option<&Connection>,
        f: impl FnOnce(&Scanner) -> (T, bool),
    ) -> Result<T, ClusterError> {
        let idle = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let scanner = match idle {
            Some(s) => s,
            None => {
                self.made.fetch_add(1, Ordering::Relaxed);
                let mut scanner = match conn {
                    Some(conn) => Scanner::new(conn)?,
                    None => self.cluster.scanner()?,
                };
                if let Some(on_link) = &self.on_link {
                    let on_link = on_link.clone();
                    scanner.watch_link(Box::new(move |trouble| on_link(trouble)));
                }
                scanner
            }
        };
        let (made, keep) = f(&scanner);
        if keep {
            pool.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(scanner);
        }
        Ok(made)
    }
}

/// A scan that keeps its consumer when it did not fail.
fn kept_if_ok<T>(
    f: impl FnOnce(&Scanner) -> Result<T, ClusterError>,
) -> impl FnOnce(&Scanner) -> (Result<T, ClusterError>, bool) {
    move |scanner| {
        let result = f(scanner);
        let ok = result.is_ok();
        (result, ok)
    }
}
