//! Where events are read from: a cluster (a pool's client) or a dump (`rewind --file`,
//! offline). What reads an aggregate or a story is written once, against this.

use anyhow::Result;

use crate::config::Config;
use crate::model::dump::Dump;
use crate::model::Event;
use crate::pool::Client;

pub trait Source {
    /// One aggregate's events in a topic, in partition then offset order (none is an
    /// answer); `progress`: on stderr when it is a terminal.
    fn aggregate(
        &self,
        config: &Config,
        topic: &str,
        id: &str,
        progress: bool,
    ) -> Result<Vec<Event>>;
}

/// The cluster: only the key's partition where the id is the record key.
impl Source for Client {
    fn aggregate(
        &self,
        config: &Config,
        topic: &str,
        id: &str,
        progress: bool,
    ) -> Result<Vec<Event>> {
        Ok(crate::aggregate::read_aggregate(self, config, topic, id, progress)?.0)
    }
}

/// A dump: its records of the topic, decoded with the topic's rules.
impl Source for Dump {
    fn aggregate(&self, config: &Config, topic: &str, id: &str, _: bool) -> Result<Vec<Event>> {
        let rules = config.rules_for(topic);
        let mut events = self.events(topic, &rules, &|_| true);
        events.retain(|e| e.aggregate == id);
        Ok(events)
    }
}
