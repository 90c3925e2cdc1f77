use super::*;

#[test]
fn a_database_password_is_never_in_a_config_error() {
    // A url whose quote is not closed: the error quotes the line.
    let text = "[databases.shop]\nurl = \"postgres://rewind:hunter2xyz@127.0.0.1:5432/shop\n";
    let err = Config::parse(text, Path::new("rewind.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(!err.contains("hunter2xyz"), "{err}");
    // Read, it is registered as a secret.
    let text = "[databases.shop]\nurl = \"postgres://rewind:hunter2xyz@127.0.0.1:5432/shop\"\n";
    let config = Config::parse(text, Path::new("rewind.toml")).unwrap();
    config.register_secrets();
    assert_eq!(crate::model::secrets::scrub("say hunter2xyz"), "say ***");
    assert_eq!(
        expand_env("${REWIND_SURELY_UNSET_VAR:-fallback}/x"),
        "fallback/x"
    );
}

fn args() -> Asked {
    Asked::default()
}

#[test]
fn isolation_comes_from_the_flag_else_the_limits_and_folds_read_committed() {
    let config = Config::parse(
        "[profiles.default]\nbrokers = \"b:9092\"\n[limits]\nisolation = \"uncommitted\"\n",
        Path::new("rewind.toml"),
    )
    .unwrap();
    let conn = config.connection(&args()).unwrap();
    assert_eq!(conn.isolation, ReadIsolation::Uncommitted);
    assert_eq!(conn.committed().isolation, ReadIsolation::Committed);
    let flag = Asked {
        isolation: Some(ReadIsolation::Committed),
        ..args()
    };
    assert_eq!(
        config.connection(&flag).unwrap().isolation,
        ReadIsolation::Committed
    );
    assert!(Config::parse("[limits]\nretention_warn = \"soon\"\n", Path::new("r.toml")).is_err());
}

#[test]
fn globs() {
    assert!(glob_match("orders", "orders"));
    assert!(glob_match("orders-*", "orders-snapshots"));
    assert!(glob_match("*", "x"));
    assert!(glob_match("o?ders*", "orders.v2"));
    assert!(!glob_match("orders", "orders-snapshots"));
    assert!(!glob_match("*-snapshots", "orders"));
}

#[test]
fn profiles_flags_and_topics() {
    let text = r#"
        [profiles.local]
        brokers = "127.0.0.1:9092"
        read_only = true
        groups = ["billing"]
        [profiles.local.properties]
        "client.id" = "rewind"

        [[topics]]
        name = "orders*"
        aggregate = ".orderId"
        type = "header:kind"
    "#;
    let config = Config::parse(text, Path::new("rewind.toml")).unwrap();
    let mut a = args();
    a.profile = Some("local".into());
    a.properties = vec![("client.id".into(), "mine".into())];
    let conn = config.connection(&a).unwrap();
    assert_eq!(conn.brokers, "127.0.0.1:9092");
    assert!(conn.read_only);
    assert_eq!(conn.groups, vec!["billing"]);
    assert_eq!(conn.properties.last().unwrap().1, "mine");
    let rules = config.rules_for("orders-v2");
    assert_eq!(rules.aggregate, Extractor::parse(".orderId").unwrap());
    assert_eq!(config.rules_for("payments"), TopicRules::default());

    a.profile = Some("prod".into());
    let err = config.connection(&a).unwrap_err().to_string();
    assert!(
        err.contains("no profile `prod`") && err.contains("local"),
        "{err}"
    );
}

#[test]
fn bad_config_names_file_key_and_problem() {
    let err = Config::parse(
        "[[topics]]\nname = \"o\"\naggregate = \"orderId\"\n",
        Path::new("x.toml"),
    )
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("x.toml") && msg.contains("aggregate") && msg.contains("orderId"),
        "{msg}"
    );
    let err = Config::parse("[profiles.a]\nbrokrs = 1\n", Path::new("x.toml")).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("brokrs"), "{msg}");
}

#[test]
fn no_brokers_says_what_to_do() {
    let err = Config::default()
        .connection(&args())
        .unwrap_err()
        .to_string();
    assert!(err.contains("-b HOST:PORT"), "{err}");
}
