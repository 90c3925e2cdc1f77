//! Secrets from -X, profiles and the environment never appear in errors, logs or the
//! equivalent commands of rewind plans; a config file holding secrets that others can
//! read gets a warning.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

const SECRET: &str = "hunter2-Zq9";
const ENV_SECRET: &str = "from-env-Xk7";

fn everything(dir: &std::path::Path, out: &std::process::Output) -> String {
    let log = std::fs::read_to_string(dir.join("state/rewind/rewind.log")).unwrap_or_default();
    format!(
        "{}{}{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn secrets_never_appear_in_errors_logs_or_plans() {
    let dir = sandbox();
    let config = dir.path().join("rewind.toml");
    std::fs::write(
        &config,
        "[profiles.default]\n[profiles.default.properties]\n\"ssl.key.password\" = \"${REWIND_TEST_KEY_PW}\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = |args: &[&str]| {
        rewind_command(dir.path())
            .env("REWIND_TEST_KEY_PW", ENV_SECRET)
            .args(args)
            .output()
            .unwrap()
    };
    // Error paths: an unreachable broker, and a property librdkafka rejects.
    for extra in ["security.protocol=SASL_SSL", "security.protocol=bogus"] {
        let bad = run(&[
            "-b",
            "127.0.0.1:1",
            "--timeout",
            "1000",
            "-X",
            &format!("sasl.password={SECRET}"),
            "-X",
            extra,
            "topics",
        ]);
        assert!(!bad.status.success());
        let all = everything(dir.path(), &bad);
        assert!(!all.contains(SECRET) && !all.contains(ENV_SECRET), "{all}");
    }
    // A config error on the line that holds a password shows the line, not the password.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        format!("[profiles.x.properties]\n\"sasl.password\" = \"{SECRET}\" oops\n"),
    )
    .unwrap();
    let bad = run(&["-c", broken.to_str().unwrap(), "topics"]);
    let all = everything(dir.path(), &bad);
    assert!(all.contains("line 2 (`\"sasl.password\" = ***`)"), "{all}");
    assert!(!all.contains(SECRET), "{all}");

    // A plan's equivalent command against a real broker (PLAINTEXT ignores SASL).
    let cluster = mock(&[("t", 1)]);
    produce(&cluster.bootstrap_servers(), &[Rec::new("t", 0, "k", "{}")]);
    commit(&cluster.bootstrap_servers(), "g", "t", &[(0, 1)]);
    let plan = run(&[
        "-b",
        &cluster.bootstrap_servers(),
        "-X",
        &format!("sasl.password={SECRET}"),
        "-X",
        "sasl.username=alice",
        "-o",
        "json",
        "reset",
        "--group",
        "g",
        "--topic",
        "t",
        "--to-earliest",
    ]);
    let text = stdout(&plan);
    assert!(
        text.contains("sasl.password=***")
            && text.contains("sasl.username=alice")
            && text.contains("ssl.key.password=***"),
        "{text}"
    );
    let all = everything(dir.path(), &plan);
    assert!(!all.contains(SECRET) && !all.contains(ENV_SECRET), "{all}");
}

#[test]
fn a_config_with_secrets_that_others_can_read_gets_a_warning() {
    let dir = sandbox();
    let config = dir.path().join("rewind.toml");
    let cluster = mock(&[("t", 1)]);
    let b = cluster.bootstrap_servers();
    let warning = |text: &str, mode: u32| {
        std::fs::write(&config, text).unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = rewind_in(dir.path(), &["-b", &b, "topics"]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let literal = format!("[profiles.default.properties]\n\"sasl.password\" = \"{SECRET}\"\n");
    let err = warning(&literal, 0o644);
    assert!(
        err.contains("holds secrets (sasl.password)") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    assert_eq!(warning(&literal, 0o600), "");
    let from_env = "[profiles.default.properties]\n\"sasl.password\" = \"${PW}\"\n";
    assert_eq!(warning(from_env, 0o644), "");
}
