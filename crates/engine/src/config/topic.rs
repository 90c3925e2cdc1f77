//! A `[[topics]]` entry compiled: its reducers' logic, its snapshots' and its records'
//! reading rules, its local schema.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::TopicConfig;
use crate::model::{Extractor, TopicRules};

impl TopicConfig {
    /// How to read this topic's snapshots, if it has any (`.state` and `.version` by default).
    pub fn logic(&self) -> crate::model::reducer::Logic {
        crate::model::reducer::Logic {
            reducers: self.reducers.clone(),
            upcasters: self.upcasters.clone(),
            invariants: self.invariants.clone(),
            version: self.version.clone(),
        }
    }

    /// The snapshot topic's reading rules, if the snapshots are in a topic.
    pub fn snapshot_rules(&self) -> Result<Option<crate::model::snapshot::SnapshotRules>> {
        let Some(s) = &self.snapshots else {
            return Ok(None);
        };
        let Some(topic) = &s.topic else {
            anyhow::ensure!(
                s.database.is_some() && s.query.is_some(),
                "key `snapshots`: give `topic` (a snapshot topic) or `database` and `query`"
            );
            return Ok(None);
        };
        anyhow::ensure!(
            s.database.is_none() && s.query.is_none(),
            "key `snapshots`: give `topic` or `database` and `query`, not both"
        );
        let path = |key: &str, spec: &Option<String>, default: &str| {
            Extractor::parse(spec.as_deref().unwrap_or(default))
                .with_context(|| format!("key `snapshots.{key}`"))
        };
        Ok(Some(crate::model::snapshot::SnapshotRules {
            topic: topic.clone(),
            state: path("state", &s.state, ".state")?,
            version: path("version", &s.version, ".version")?,
        }))
    }

    /// This entry's extractors, formats and schema as reading rules, compiled the
    /// first time (a config's entries at load, which fails on an error).
    pub fn rules(&self) -> Result<TopicRules> {
        if let Some(rules) = self.compiled_rules.get() {
            return Ok(rules.clone());
        }
        let rules = self.compile_rules()?;
        Ok(self.compiled_rules.get_or_init(|| rules).clone())
    }

    fn compile_rules(&self) -> Result<TopicRules> {
        let mut rules = TopicRules::default();
        if let Some(spec) = &self.aggregate {
            rules.aggregate = Extractor::parse(spec).context("key `aggregate`")?;
        }
        if let Some(spec) = &self.event_type {
            rules.event_type = vec![Extractor::parse(spec).context("key `type`")?];
        }
        let optional = |key: &str, spec: &Option<String>| -> Result<Option<Extractor>> {
            spec.as_deref()
                .map(|s| Extractor::parse(s).with_context(|| format!("key `{key}`")))
                .transpose()
        };
        rules.event_id = optional("event_id", &self.event_id)?;
        rules.version = optional("version", &self.version)?;
        rules.compensation_ref = optional("compensation_ref", &self.compensation_ref)?;
        self.snapshot_rules()?;
        let format = |key: &str, spec: &Option<String>| -> Result<crate::model::schema::Format> {
            spec.as_deref()
                .map_or(Ok(Default::default()), str::parse)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("key `{key}`"))
        };
        rules.payloads.value.format = format("value_format", &self.value_format)?;
        rules.payloads.key.format = format("key_format", &self.key_format)?;
        rules.payloads.value.local = match self.compiled_schema.get() {
            Some(compiled) => compiled.clone(),
            None => {
                let compiled = self.local_schema()?.map(std::sync::Arc::new);
                self.compiled_schema.get_or_init(|| compiled).clone()
            }
        };
        Ok(rules)
    }

    /// The compiled `[topics.schema]`, paths relative to the config file.
    fn local_schema(&self) -> Result<Option<crate::model::schema::LocalSchema>> {
        use crate::model::schema::{avro::AvroSchema, protobuf::ProtoSchema, LocalSchema};
        let Some(schema) = &self.schema else {
            return Ok(None);
        };
        let base = self.base.clone().unwrap_or_else(|| PathBuf::from("."));
        match (&schema.avro, &schema.proto) {
            (Some(_), Some(_)) => bail!("key `schema`: give avro or proto, not both"),
            (None, None) => bail!(
                "key `schema`: give avro = \"FILE.avsc\" or proto = {{ files, includes, message }}"
            ),
            (Some(avsc), None) => {
                let path = base.join(avsc);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!("key `schema.avro`: cannot read {}", path.display())
                })?;
                let parsed = AvroSchema::parse(&text, &[])
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("key `schema.avro`: {}", path.display()))?;
                Ok(Some(LocalSchema::Avro(parsed)))
            }
            (None, Some(proto)) => {
                let files: Vec<PathBuf> = proto.files.iter().map(|f| base.join(f)).collect();
                let includes: Vec<PathBuf> = proto.includes.iter().map(|f| base.join(f)).collect();
                let compiled = ProtoSchema::compile_files(&files, &includes)
                    .map_err(anyhow::Error::msg)
                    .context("key `schema.proto`")?;
                let message = compiled
                    .message_named(&proto.message)
                    .map_err(anyhow::Error::msg)
                    .context("key `schema.proto.message`")?;
                Ok(Some(LocalSchema::Protobuf {
                    schema: compiled,
                    message,
                }))
            }
        }
    }
}
