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

#[cfg(test)]
mod tests {
    use super::*;

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
