//! A Confluent-compatible Schema Registry, read over REST: schemas by id
//! (`GET /schemas/ids/{id}`), their references (`/subjects/{s}/versions/{v}`) and their
//! subject and version (`/schemas/ids/{id}/versions`). Thin I/O: compiling and decoding
//! are the model's (`model::schema`). Each schema is fetched once per run; a registry
//! that cannot be reached (or refuses us) is asked once, and every later look-up fails
//! at once with the same reason, so a registry that is down costs one bounded wait.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use crate::model::schema::avro::AvroSchema;
use crate::model::schema::protobuf::ProtoSchema;
use crate::model::schema::{Compiled, Registered, SchemaSource};

/// Where the registry is and how to authenticate.
#[derive(Clone, Default)]
pub struct RegistryConfig {
    pub url: String,
    pub username: Option<String>,
    /// A secret: never printed (registered with `model::secrets`).
    pub password: Option<String>,
    /// A bearer token; a secret too.
    pub token: Option<String>,
    /// A PEM file of CA certificates to trust.
    pub ca: Option<PathBuf>,
    pub timeout: Duration,
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("RegistryConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("token", &hidden(&self.token))
            .field("ca", &self.ca)
            .finish()
    }
}

/// The registry's answer for one schema.
#[derive(Debug, Deserialize)]
struct SchemaAnswer {
    schema: String,
    #[serde(rename = "schemaType", default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    name: String,
    subject: String,
    version: i64,
}

#[derive(Debug, Deserialize)]
struct SubjectVersion {
    subject: String,
    version: i64,
}

/// A registry client with the run's cache.
pub struct Registry {
    config: RegistryConfig,
    agent: ureq::Agent,
    cache: Mutex<HashMap<u32, Result<Arc<Registered>, String>>>,
    /// Set once the registry could not be reached or refused us: why.
    down: Mutex<Option<String>>,
    /// One fetch at a time: threads that need the same schema wait for the first.
    fetching: Mutex<()>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why one request failed, and whether the registry as a whole is unusable.
struct Failure {
    why: String,
    registry_down: bool,
}

impl Registry {
    /// A client; nothing is sent until a schema is needed. Credentials written into the
    /// URL (`https://user:pass@host`) are taken out of it and used as basic auth, so the
    /// URL can be shown in messages.
    pub fn new(mut config: RegistryConfig) -> Result<Registry, String> {
        if let Some((scheme, rest)) = config.url.split_once("://") {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if let Some((userinfo, host)) = authority.rsplit_once('@') {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                if config.username.is_none() && config.token.is_none() {
                    config.username = Some(user.to_owned());
                    config.password = Some(password.to_owned());
                }
                config.url = format!("{scheme}://{host}{path}");
            }
        }
        let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::NativeTls);
        if let Some(ca) = &config.ca {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read the registry CA file {}: {e}", ca.display()))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(format!(
                    "no certificate in the registry CA file {}",
                    ca.display()
                ));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Registry {
            config,
            agent,
            cache: Mutex::new(HashMap::new()),
            down: Mutex::new(None),
            fetching: Mutex::new(()),
        })
    }

    fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, Failure> {
        let url = format!("{}{path}", self.config.url.trim_end_matches('/'));
        let mut request = self.agent.get(&url).header(
            "Accept",
            "application/vnd.schemaregistry.v1+json, application/json",
        );
        if let Some(token) = &self.config.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        } else if let Some(user) = &self.config.username {
            use base64::Engine;
            let pair = format!("{user}:{}", self.config.password.as_deref().unwrap_or(""));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            request = request.header("Authorization", &format!("Basic {encoded}"));
        }
        let mut response = request.call().map_err(|e| Failure {
            why: format!(
                "the schema registry at {} cannot be reached: {e}",
                self.config.url
            ),
            registry_down: true,
        })?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| body.chars().take(200).collect());
            return Err(Failure {
                why: format!("the registry answered {status} for {path}: {message}"),
                // Refused credentials refuse every request alike.
                registry_down: status == 401 || status == 403,
            });
        }
        serde_json::from_str(&body).map_err(|e| Failure {
            why: format!(
                "the registry's answer for {path} is not what a Confluent registry says: {e}"
            ),
            registry_down: false,
        })
    }

    /// The texts of a schema's references, depth first (each after what it references),
    /// as `(name, text)`.
    fn references(
        &self,
        refs: &[Reference],
        out: &mut Vec<(String, String)>,
    ) -> Result<(), Failure> {
        for r in refs {
            if out.iter().any(|(name, _)| name == &r.name) {
                continue;
            }
            let answer: SchemaAnswer = self.get(&format!(
                "/subjects/{}/versions/{}",
                encode(&r.subject),
                r.version
            ))?;
            self.references(&answer.references, out)?;
            out.push((r.name.clone(), answer.schema));
        }
        Ok(())
    }

    fn fetch(&self, id: u32) -> Result<Registered, Failure> {
        let answer: SchemaAnswer = self.get(&format!("/schemas/ids/{id}"))?;
        let mut refs = Vec::new();
        self.references(&answer.references, &mut refs)?;
        // Subject and version are for showing only: their absence is no failure.
        let (subject, version) =
            match self.get::<Vec<SubjectVersion>>(&format!("/schemas/ids/{id}/versions")) {
                Ok(list) => list
                    .into_iter()
                    .next()
                    .map_or((None, None), |sv| (Some(sv.subject), Some(sv.version))),
                Err(_) => (None, None),
            };
        let invalid = |why: String| Failure {
            why: format!("the registry's schema does not compile: {why}"),
            registry_down: false,
        };
        let compiled = match answer.schema_type.as_deref().unwrap_or("AVRO") {
            "AVRO" => {
                let texts: Vec<String> = refs.into_iter().map(|(_, text)| text).collect();
                Compiled::Avro(AvroSchema::parse(&answer.schema, &texts).map_err(invalid)?)
            }
            "PROTOBUF" => Compiled::Protobuf(
                ProtoSchema::compile(
                    &format!("registry-schema-{id}.proto"),
                    &answer.schema,
                    &refs,
                )
                .map_err(invalid)?,
            ),
            "JSON" => Compiled::JsonSchema,
            other => {
                return Err(Failure {
                    why: format!(
                        "schema type {other} is not one rewind reads (AVRO, PROTOBUF, JSON)"
                    ),
                    registry_down: false,
                })
            }
        };
        Ok(Registered {
            id,
            subject,
            version,
            compiled,
        })
    }
}

impl SchemaSource for Registry {
    fn by_id(&self, id: u32) -> Result<Arc<Registered>, String> {
        if let Some(known) = self.cache.lock().unwrap().get(&id) {
            return known.clone();
        }
        let _one_at_a_time = self.fetching.lock().unwrap();
        if let Some(known) = self.cache.lock().unwrap().get(&id) {
            return known.clone();
        }
        if let Some(why) = self.down.lock().unwrap().clone() {
            return Err(why);
        }
        let result = match self.fetch(id) {
            Ok(r) => Ok(Arc::new(r)),
            Err(f) => {
                tracing::warn!(id, why = %f.why, "schema not fetched");
                if f.registry_down {
                    *self.down.lock().unwrap() = Some(f.why.clone());
                }
                Err(f.why)
            }
        };
        self.cache.lock().unwrap().insert(id, result.clone());
        result
    }

    fn holds(&self, id: u32) -> bool {
        self.cache.lock().unwrap().contains_key(&id) || self.down.lock().unwrap().is_some()
    }
}

/// Percent-encodes a subject for a URL path.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
