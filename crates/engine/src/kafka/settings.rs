//! Topic configurations, asked with DescribeConfigs: how long records stay (cleanup
//! policy and retention). A broker that refuses or lacks the request leaves them
//! unknown; nothing else depends on them.

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;

use super::{client_config, Cluster};
use crate::model::topic::TopicSettings;

impl Cluster {
    /// Each topic's settings, in order (all unknown when the request fails as a whole).
    pub fn settings<'a>(&self, names: impl Iterator<Item = &'a str>) -> Vec<TopicSettings> {
        let names: Vec<&str> = names.collect();
        match self.describe_configs(&names) {
            Ok(found) => found,
            Err(why) => {
                tracing::info!(why, "topic configurations unknown");
                vec![TopicSettings::default(); names.len()]
            }
        }
    }

    fn describe_configs(&self, names: &[&str]) -> Result<Vec<TopicSettings>, String> {
        if names.is_empty() {
            return Ok(vec![]);
        }
        // A broker without DescribeConfigs (librdkafka's mock cluster) lets the request
        // wait out the whole timeout: where the listener is plain, ask it first.
        if self.plaintext() {
            let first = self
                .conn
                .brokers
                .split(',')
                .next()
                .unwrap_or_default()
                .trim();
            let first = first.rsplit("://").next().unwrap_or(first);
            let served = super::wire::Broker::connect(first, self.conn.timeout())
                .and_then(|mut b| b.supports(super::wire::DESCRIBE_CONFIGS));
            if let Ok(false) = served {
                return Err(format!("the broker at {first} has no DescribeConfigs"));
            }
        }
        let admin: AdminClient<DefaultClientContext> = client_config(&self.conn)
            .create()
            .map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let specifiers: Vec<ResourceSpecifier<'_>> =
            names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
        let options = AdminOptions::new().request_timeout(Some(self.conn.timeout()));
        let results = runtime
            .block_on(admin.describe_configs(&specifiers, &options))
            .map_err(|e| e.to_string())?;
        // One result per topic asked, in order; a refused one is left unknown.
        Ok(results
            .into_iter()
            .map(|r| match r {
                Ok(resource) => {
                    let value = |key: &str| {
                        resource
                            .entries
                            .iter()
                            .find(|e| e.name == key)
                            .and_then(|e| e.value.clone())
                    };
                    TopicSettings {
                        cleanup_policy: value("cleanup.policy"),
                        retention_ms: value("retention.ms").and_then(|v| v.parse().ok()),
                    }
                }
                Err(code) => {
                    tracing::info!(?code, "DescribeConfigs refused for a topic");
                    TopicSettings::default()
                }
            })
            .collect())
    }
}
