//! Which client properties are secrets, and their redacted form for anything shown.

/// What a secret is shown as.
pub const REDACTED: &str = "***";

/// Whether a librdkafka (or Java client) property holds a secret: passwords, key
/// material, JAAS configs (which embed passwords) and OAuth client secrets.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "jaas",
        "token",
        "ssl.key.pem",
        "private",
    ]
    .iter()
    .any(|word| key.contains(word))
        || key == "sasl.oauthbearer.config"
}

/// `key=value` with the value redacted when the key names a secret.
pub fn show_property(key: &str, value: &str) -> String {
    if is_secret(key) {
        format!("{key}={REDACTED}")
    } else {
        format!("{key}={value}")
    }
}

/// Properties as `key=value`, secrets redacted: what logs and screens show of them.
pub fn show_properties<'a>(
    properties: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<String> {
    properties
        .into_iter()
        .map(|(k, v)| show_property(k, v))
        .collect()
}

/// The secret values this process knows of (from -X, profiles and the environment
/// they reference), replaced by `***` in everything rewind shows or logs.
static KNOWN: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Remembers secret values so that `scrub` hides them. Values shorter than 3 characters
/// are not scrubbed (they would mangle every message) — such a password is no secret.
pub fn register<'a>(values: impl IntoIterator<Item = &'a str>) {
    let mut known = KNOWN.write().expect("secrets lock");
    for v in values {
        if v.len() >= 3 && !known.iter().any(|k| k == v) {
            known.push(v.to_owned());
        }
    }
    // Longest first, so a secret containing another is hidden whole.
    known.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// Registers the values of the secret properties among these.
pub fn register_properties<'a>(properties: impl IntoIterator<Item = (&'a str, &'a str)>) {
    register(
        properties
            .into_iter()
            .filter(|(k, _)| is_secret(k))
            .map(|(_, v)| v),
    );
}

/// `text` with every known secret value replaced by `***`.
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    let known = KNOWN.read().expect("secrets lock");
    if !known.iter().any(|k| text.contains(k.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for k in known.iter() {
        out = out.replace(k.as_str(), REDACTED);
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed_from_any_text() {
        register_properties([
            ("sasl.password", "s3cr3t-pw"),
            ("sasl.username", "alice"),
            ("ssl.key.password", "ab"),
        ]);
        assert_eq!(
            scrub("auth failed for alice with s3cr3t-pw"),
            "auth failed for alice with ***"
        );
        assert_eq!(scrub("nothing here: ab"), "nothing here: ab");
    }

    #[test]
    fn passwords_and_key_material_are_secrets_and_the_rest_is_not() {
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.keystore.password",
            "sasl.jaas.config",
            "sasl.oauthbearer.client.secret",
            "ssl.key.pem",
            "SASL.PASSWORD",
        ] {
            assert!(is_secret(key), "{key}");
            assert_eq!(show_property(key, "hunter2"), format!("{key}=***"));
        }
        for key in [
            "sasl.username",
            "security.protocol",
            "sasl.mechanism",
            "ssl.ca.location",
        ] {
            assert!(!is_secret(key), "{key}");
        }
        assert_eq!(
            show_property("sasl.username", "alice"),
            "sasl.username=alice"
        );
    }
}
