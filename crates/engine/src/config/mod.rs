//! `rewind.toml`: cluster profiles and per-topic reading rules (SPEC.md, "Configuration").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::model::{Extractor, TopicRules};

mod text;
mod topic;

pub use text::{expand_env, glob_match};
use text::{permission_warning, redact_line};

/// What the command line asked of the connection (`-b`, `-X`, `-p`, `--read-only`,
/// `--timeout`, `--schema-registry`, `--isolation`): the config resolves it with the
/// profiles and limits. The command line makes it (`GlobalArgs::asked`); the config
/// does not know the command line.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub brokers: Option<String>,
    pub properties: Vec<(String, String)>,
    pub profile: Option<String>,
    pub read_only: bool,
    pub timeout: Option<u64>,
    pub schema_registry: Option<String>,
    pub isolation: Option<ReadIsolation>,
}

/// Which records a read returns (librdkafka's `isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadIsolation {
    /// read_committed: records of aborted and open transactions are skipped.
    #[default]
    Committed,
    /// read_uncommitted: every data record (control records never).
    Uncommitted,
}

impl ReadIsolation {
    /// librdkafka's name for it.
    pub fn level(self) -> &'static str {
        match self {
            ReadIsolation::Committed => "read_committed",
            ReadIsolation::Uncommitted => "read_uncommitted",
        }
    }
}

/// The whole config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
    /// One business id across several topics.
    #[serde(default)]
    pub stories: Vec<StoryConfig>,
    #[serde(default)]
    pub limits: Limits,
    /// Databases that hold read models and snapshots, by name.
    #[serde(default)]
    pub databases: BTreeMap<String, DatabaseConfig>,
    /// Problems worth a warning that do not stop rewind (a world-readable file with secrets).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// Where it was read from, for messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The Schema Registry of the chosen profile (or `--schema-registry`), once attached.
    #[serde(skip)]
    pub registry: Option<std::sync::Arc<dyn crate::model::schema::SchemaSource>>,
    /// Where topics' indexes are kept on disk (`store::root()`); `None`: nowhere
    /// (`--no-cache`, the demo, tests that do not ask for it).
    #[serde(skip)]
    pub index_dir: Option<PathBuf>,
}

/// Bounds on how long things may take.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// How long one event's reducer may run before it is stopped (default 2000).
    pub reducer_ms: Option<u64>,
    /// How long a broker request may take before the broker counts as unreachable
    /// (default 10000; also `--timeout`).
    pub request_ms: Option<u64>,
    /// How many MB of decoded events the TUI keeps in memory (default 64); the rest
    /// are read again when shown.
    pub payload_cache_mb: Option<usize>,
    /// How many events a topic may hold before the TUI opens it on its newest window
    /// (default 5,000,000).
    pub open_events: Option<u64>,
    /// A plan whose target is due to be deleted by retention within this ISO 8601
    /// duration says so (default PT1H).
    pub retention_warn: Option<String>,
    /// `committed` (default) or `uncommitted`: what `rewind events` reads (`--isolation`).
    pub isolation: Option<ReadIsolation>,
}

/// A named cluster. Property values may be `${VAR}`, read from the environment (keep
/// passwords out of the file).
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub brokers: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    /// Groups shown even where the broker cannot list groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// librdkafka properties, like -X.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// The Schema Registry for this cluster's framed payloads.
    pub schema_registry: Option<RegistryProfile>,
}

/// A profile's `[schema_registry]`. Values may be `${VAR}`; password and token are secrets.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryProfile {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A PEM file of CA certificates (relative to the config file).
    pub ca: Option<PathBuf>,
}

impl std::fmt::Debug for Profile {
    /// Secret properties are shown as `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let properties = crate::model::secrets::show_properties(&self.properties);
        f.debug_struct("Profile")
            .field("brokers", &self.brokers)
            .field("read_only", &self.read_only)
            .field("groups", &self.groups)
            .field("properties", &properties)
            .field(
                "schema_registry",
                &self.schema_registry.as_ref().map(|r| r.url.as_str()),
            )
            .finish()
    }
}

/// `[[stories]]`: a name, and per topic where the story's id is (`key`, `header:NAME`
/// or a jq path).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoryConfig {
    pub name: String,
    pub topics: BTreeMap<String, String>,
}

/// How to read one topic (by name or glob).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    pub name: String,
    pub aggregate: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub version: Option<String>,
    pub snapshots: Option<SnapshotConfig>,
    /// Where the topic's consumer keeps its read model.
    pub read_model: Option<ReadModelConfig>,
    #[serde(default)]
    pub compensations: BTreeMap<String, String>,
    pub compensation_ref: Option<String>,
    pub partitioner: Option<String>,
    #[serde(default)]
    pub compensation_templates: BTreeMap<String, String>,
    #[serde(default)]
    pub reducers: BTreeMap<String, String>,
    /// jq per `"Type@version"`: the event one version up.
    #[serde(default)]
    pub upcasters: BTreeMap<String, String>,
    /// Named jq predicates on the state after each event.
    #[serde(default)]
    pub invariants: BTreeMap<String, String>,
    /// auto (default) | json | avro | protobuf | json_schema | text | bytes
    pub value_format: Option<String>,
    pub key_format: Option<String>,
    /// Schemas for payloads without the registry framing.
    pub schema: Option<LocalSchemaConfig>,
    /// Set at load: the directory relative paths are read from.
    #[serde(skip)]
    pub base: Option<PathBuf>,
    /// `schema`, compiled once (the first time the rules are made).
    #[serde(skip)]
    compiled_schema: std::sync::OnceLock<Option<std::sync::Arc<crate::model::schema::LocalSchema>>>,
    /// The reading rules, compiled once: at load (where an error fails the load), or
    /// the first time an entry made in code is asked.
    #[serde(skip)]
    compiled_rules: std::sync::OnceLock<TopicRules>,
}

/// `[topics.schema]`: the schema of unframed values.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSchemaConfig {
    /// An `.avsc` file: values are raw Avro binary with this schema.
    pub avro: Option<PathBuf>,
    /// `.proto` files: values are raw Protobuf of `message`.
    pub proto: Option<ProtoConfig>,
}

/// `proto = { files, includes, message }`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtoConfig {
    pub files: Vec<PathBuf>,
    #[serde(default)]
    pub includes: Vec<PathBuf>,
    pub message: String,
}

/// Where an aggregate's snapshots live: a snapshot topic (`topic`, with `state` and
/// `version` paths), or a database (`database` and `query`: its rows are (state,
/// version) for `$1`, the aggregate id).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    pub topic: Option<String>,
    pub state: Option<String>,
    pub version: Option<String>,
    pub database: Option<String>,
    pub query: Option<String>,
}

/// `[databases.NAME]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` or `sqlite:PATH`; `${VAR}` is expanded.
    pub url: String,
}

/// A topic's read model in a database: `query` gives the row of `$1`, the aggregate
/// id, whose first column is its JSON; `ignore` lists JSON Pointers left out of
/// comparisons.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadModelConfig {
    pub database: String,
    pub query: String,
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// The cluster to talk to, resolved from flags, environment and profile.
#[derive(Clone, Default)]
pub struct Connection {
    pub brokers: String,
    pub properties: Vec<(String, String)>,
    pub read_only: bool,
    pub groups: Vec<String>,
    /// How long a broker request may take (`--timeout`, `[limits] request_ms`).
    pub timeout: Option<std::time::Duration>,
    /// Which records reads return (`--isolation`, `[limits] isolation`).
    pub isolation: ReadIsolation,
}

impl std::fmt::Debug for Connection {
    /// Secret properties are shown as `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let properties =
            crate::model::secrets::show_properties(self.properties.iter().map(|(k, v)| (k, v)));
        f.debug_struct("Connection")
            .field("brokers", &self.brokers)
            .field("properties", &properties)
            .field("read_only", &self.read_only)
            .field("groups", &self.groups)
            .field("timeout", &self.timeout)
            .field("isolation", &self.isolation)
            .finish()
    }
}

impl Connection {
    /// This connection reading committed records only: what every fold reads.
    pub fn committed(&self) -> Connection {
        Connection {
            isolation: ReadIsolation::Committed,
            ..self.clone()
        }
    }

    /// The request timeout (default 10 s).
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout.unwrap_or(std::time::Duration::from_secs(10))
    }
}

impl Config {
    /// Loads the config named by `-c`, else `./rewind.toml`, else the XDG one; no file is
    /// an empty config unless `-c` named it.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => default_path(),
        };
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config = Config::parse(&text, &path)?;
        config.warnings.extend(permission_warning(&config, &path));
        Ok(config)
    }

    /// How near its deletion by retention a plan's target is said to be (`[limits]
    /// retention_warn`, checked when the config is read; default an hour).
    pub fn retention_warn_ms(&self) -> i64 {
        self.limits
            .retention_warn
            .as_deref()
            .and_then(|t| crate::model::plan::parse_duration(t).ok())
            .unwrap_or(3_600_000)
    }

    /// The story named so, or an error listing the configured ones.
    pub fn story(&self, name: &str) -> Result<&StoryConfig> {
        self.stories.iter().find(|s| s.name == name).with_context(|| {
            let names: Vec<&str> = self.stories.iter().map(|s| s.name.as_str()).collect();
            match names.is_empty() {
                true => format!("no story `{name}`: the config has no [[stories]] (name = \"{name}\" and [stories.topics] with each topic's id path)"),
                false => format!("no story `{name}`: the config has {}", names.join(", ")),
            }
        })
    }

    /// This config with `topic` read by `id` (a story's path) as its aggregate id: its
    /// entry (or the defaults) comes first, with that aggregate path.
    pub fn with_aggregate(&self, topic: &str, id: &str) -> Config {
        let mut config = self.clone();
        let mut entry = self.topic(topic).cloned().unwrap_or_else(|| TopicConfig {
            base: self
                .path
                .as_ref()
                .and_then(|p| p.parent())
                .map(Path::to_path_buf),
            ..TopicConfig::default()
        });
        entry.name = topic.to_owned();
        entry.aggregate = match id.trim() {
            "key" => None,
            path => Some(path.to_owned()),
        };
        // Its rules are compiled anew, with this aggregate.
        entry.compiled_rules = Default::default();
        config.topics.insert(0, entry);
        config
    }

    /// Remembers every secret property value of every profile (after `${VAR}`
    /// expansion) so that nothing rewind shows or logs contains it.
    pub fn register_secrets(&self) {
        for db in self.databases.values() {
            let secrets = crate::database::Url::secrets(&expand_env(&db.url));
            crate::model::secrets::register(secrets.iter().map(String::as_str));
        }
        for profile in self.profiles.values() {
            if let Some(r) = &profile.schema_registry {
                for secret in [&r.password, &r.token].into_iter().flatten() {
                    crate::model::secrets::register([expand_env(secret).as_str()]);
                }
            }
            for (k, v) in &profile.properties {
                if crate::model::secrets::is_secret(k) {
                    crate::model::secrets::register([expand_env(v).as_str()]);
                }
            }
        }
    }

    /// Parses and validates config text; errors name the file, the key and the problem.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| {
                    let number = text[..s.start].matches('\n').count() + 1;
                    let source =
                        redact_line(text.lines().nth(number - 1).unwrap_or_default().trim());
                    format!(" line {number} (`{source}`)")
                })
                .unwrap_or_default();
            anyhow::anyhow!("config {}{line}: {}", path.display(), e.message().trim())
        })?;
        config.path = Some(path.to_path_buf());
        if let Some(text) = &config.limits.retention_warn {
            crate::model::plan::parse_duration(text).map_err(|e| {
                anyhow::anyhow!("config {}: [limits] retention_warn: {e}", path.display())
            })?;
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for topic in config.topics.iter_mut() {
            topic.base = Some(base.clone());
        }
        for (i, topic) in config.topics.iter().enumerate() {
            crate::model::reducer::Reducers::compile_logic(&topic.logic()).map_err(|e| {
                anyhow::anyhow!(
                    "config {}: topics[{i}] ({}): {e}",
                    path.display(),
                    topic.name
                )
            })?;
            crate::model::compensate::Templates::compile(&topic.compensation_templates).map_err(
                |e| {
                    anyhow::anyhow!(
                        "config {}: topics[{i}] ({}): {e}",
                        path.display(),
                        topic.name
                    )
                },
            )?;
            if let Some(p) = &topic.partitioner {
                p.parse::<crate::model::partitioner::Partitioner>()
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "config {}: topics[{i}] ({}): {e}",
                            path.display(),
                            topic.name
                        )
                    })?;
            }
            // Compiled here, once: `rules_for` hands out these.
            topic.rules().map_err(|e| {
                anyhow::anyhow!(
                    "config {}: topics[{i}] ({}): {e:#}",
                    path.display(),
                    topic.name
                )
            })?;
        }
        for (i, topic) in config.topics.iter().enumerate() {
            let named = [
                topic
                    .read_model
                    .as_ref()
                    .map(|r| ("read_model", &r.database)),
                topic
                    .snapshots
                    .as_ref()
                    .and_then(|s| Some(("snapshots", s.database.as_ref()?))),
            ];
            for (key, database) in named.into_iter().flatten() {
                anyhow::ensure!(
                    config.databases.contains_key(database),
                    "config {}: topics[{i}] ({}): `{key}.database = \"{database}\"` names no [databases.{database}]",
                    path.display(),
                    topic.name
                );
            }
            for pointer in topic.read_model.iter().flat_map(|r| &r.ignore) {
                anyhow::ensure!(
                    pointer.is_empty() || pointer.starts_with('/'),
                    "config {}: topics[{i}] ({}): `read_model.ignore` takes JSON Pointers (\"/updated_at\"), not `{pointer}`",
                    path.display(),
                    topic.name
                );
            }
        }
        for (name, db) in &config.databases {
            crate::database::Url::parse(&expand_env(&db.url), Some(&base)).map_err(|e| {
                anyhow::anyhow!("config {}: [databases.{name}] url: {e}", path.display())
            })?;
        }
        for (i, story) in config.stories.iter().enumerate() {
            anyhow::ensure!(
                !story.topics.is_empty(),
                "config {}: stories[{i}] ({}): [stories.topics] names no topic",
                path.display(),
                story.name
            );
            for (topic, spec) in &story.topics {
                Extractor::parse(spec).map_err(|e| {
                    anyhow::anyhow!(
                        "config {}: stories[{i}] ({}): topic {topic}: {e}",
                        path.display(),
                        story.name
                    )
                })?;
            }
        }
        Ok(config)
    }

    /// The first `[[topics]]` entry whose name or glob matches this topic.
    pub fn topic(&self, name: &str) -> Option<&TopicConfig> {
        self.topics.iter().find(|t| glob_match(&t.name, name))
    }

    /// The rules for reading a topic: from its config entry, else the defaults.
    pub fn rules_for(&self, topic: &str) -> TopicRules {
        let mut rules = self
            .topic(topic)
            .and_then(|t| t.rules().ok())
            .unwrap_or_default();
        rules.payloads.registry = self.registry.clone();
        rules
    }

    /// The registry settings in force: `--schema-registry` / `REWIND_SCHEMA_REGISTRY`
    /// (with the profile's credentials, if any), else the profile's `[schema_registry]`.
    pub fn registry_config(&self, args: &Asked) -> Result<Option<crate::registry::RegistryConfig>> {
        // An unknown profile is `connection`'s error to report, for the commands that
        // connect.
        let profile = self.profile(args).ok().and_then(|p| p.schema_registry);
        let url = match (&args.schema_registry, &profile) {
            (Some(url), _) => url.clone(),
            (None, Some(p)) => expand_env(&p.url),
            (None, None) => return Ok(None),
        };
        // A password in the URL itself (https://user:pass@host) is a secret too.
        if let Some((_, rest)) = url.split_once("://") {
            let authority = rest.split('/').next().unwrap_or_default();
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                if let Some((_, password)) = userinfo.split_once(':') {
                    crate::model::secrets::register([password]);
                }
            }
        }
        let p = profile.unwrap_or_default();
        let secret = |v: &Option<String>| {
            v.as_deref()
                .map(expand_env)
                .inspect(|s| crate::model::secrets::register([s.as_str()]))
        };
        let base = self
            .path
            .as_ref()
            .and_then(|p| p.parent())
            .unwrap_or(Path::new("."));
        Ok(Some(crate::registry::RegistryConfig {
            url,
            username: p.username.as_deref().map(expand_env),
            password: secret(&p.password),
            token: secret(&p.token),
            ca: p.ca.map(|ca| base.join(ca)),
            timeout: args.timeout.or(self.limits.request_ms).map_or(
                std::time::Duration::from_secs(10),
                std::time::Duration::from_millis,
            ),
        }))
    }

    /// Connects the chosen registry (if any) so topics' framed payloads are decoded.
    pub fn attach_registry(&mut self, args: &Asked) -> Result<()> {
        if let Some(settings) = self.registry_config(args)? {
            let registry = crate::registry::Registry::new(settings).map_err(anyhow::Error::msg)?;
            self.registry = Some(std::sync::Arc::new(registry));
        }
        Ok(())
    }

    /// A topic's reducers, upcasters, invariants and version path (none configured: the
    /// default reducer only).
    pub fn logic_for(&self, topic: &str) -> crate::model::reducer::Logic {
        self.topic(topic)
            .map(TopicConfig::logic)
            .unwrap_or_default()
    }

    /// The compiled compensation templates for a topic (none when it has none).
    pub fn templates_for(&self, topic: &str) -> Result<crate::model::compensate::Templates> {
        let programs = self
            .topic(topic)
            .map(|t| t.compensation_templates.clone())
            .unwrap_or_default();
        crate::model::compensate::Templates::compile(&programs)
            .map_err(|e| anyhow::anyhow!("config {}: topic `{topic}`: {e}", self.describe_path()))
    }

    /// The topic's partitioner (default: murmur2, the Java clients').
    pub fn partitioner_for(&self, topic: &str) -> crate::model::partitioner::Partitioner {
        self.topic(topic)
            .and_then(|t| t.partitioner.as_deref())
            .and_then(|p| p.parse().ok())
            .unwrap_or_default()
    }

    /// The one partition an aggregate lives in when its id is the record key, as the
    /// topic's partitioner places keys; `None` when the whole topic must be read.
    pub fn key_partition(&self, topic: &str, aggregate: &str, partitions: usize) -> Option<i32> {
        match self.rules_for(topic).aggregate {
            crate::model::Extractor::Key => self
                .partitioner_for(topic)
                .partition(aggregate.as_bytes(), partitions),
            _ => None,
        }
    }

    /// How compensating events pair up on a topic.
    pub fn compensations_for(&self, topic: &str) -> crate::model::stream::CompensationRules {
        let Some(t) = self.topic(topic) else {
            return Default::default();
        };
        crate::model::stream::CompensationRules {
            compensations: t.compensations.clone(),
            reference: t
                .compensation_ref
                .as_deref()
                .and_then(|s| Extractor::parse(s).ok()),
        }
    }

    /// The profile `-p` names (an error naming the known ones when there is none of that
    /// name), else the one named `default`, else an empty one.
    fn profile(&self, args: &Asked) -> Result<Profile> {
        Ok(match &args.profile {
            Some(name) => self.profiles.get(name).cloned().with_context(|| {
                let known: Vec<_> = self.profiles.keys().cloned().collect();
                format!(
                    "no profile `{name}` in {} (profiles: {})",
                    self.describe_path(),
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                )
            })?,
            None => self.profiles.get("default").cloned().unwrap_or_default(),
        })
    }

    /// Resolves the cluster from `-b`/`REWIND_BROKERS`, `-X`, `-p` and `--read-only`.
    pub fn connection(&self, args: &Asked) -> Result<Connection> {
        let profile = self.profile(args)?;
        let brokers = match args.brokers.clone().or(profile.brokers.clone()) {
            Some(b) if !b.trim().is_empty() => b,
            _ => bail!(
                "no brokers given: pass -b HOST:PORT, set REWIND_BROKERS, or pick a profile with -p (or try `rewind demo`)"
            ),
        };
        let mut properties: Vec<(String, String)> = profile
            .properties
            .into_iter()
            .map(|(k, v)| (k, expand_env(&v)))
            .collect();
        properties.extend(args.properties.iter().cloned());
        crate::model::secrets::register_properties(
            properties.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let timeout = args
            .timeout
            .or(self.limits.request_ms)
            .map(std::time::Duration::from_millis);
        Ok(Connection {
            brokers,
            properties,
            read_only: args.read_only || profile.read_only,
            groups: profile.groups,
            timeout,
            isolation: args.isolation.or(self.limits.isolation).unwrap_or_default(),
        })
    }

    pub fn describe_path(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the config (no config file found)".into())
    }
}

fn default_path() -> Option<PathBuf> {
    let local = PathBuf::from("rewind.toml");
    if local.is_file() {
        return Some(local);
    }
    let xdg = crate::logging::xdg_dir("XDG_CONFIG_HOME", ".config")?
        .join("rewind")
        .join("config.toml");
    xdg.is_file().then_some(xdg)
}

#[cfg(test)]
mod tests;
