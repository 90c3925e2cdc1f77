//! The replay lab in the Stream screen: a candidate's fold beside the current one,
//! the config reloaded, `]`/`[` across flags, the read model (`v`, `:drift`) and
//! snapshots kept in a database.

use super::*;

#[test]
fn the_replay_lab_in_the_stream_screen() {
    let mut app = ledger_app();
    // The v1 deposit as upcast, the version lifted (v1↑) and the overdraft marked `!`.
    insta::assert_snapshot!("lab_upcast", wide(&app));
    let _ = app.update(Action::ToggleUpcast);
    insta::assert_snapshot!("lab_raw", wide(&app));
    let _ = app.update(Action::ToggleUpcast);
    // `]` lands on the first violation and names it.
    let commands = app.update(Action::NextFlag);
    assert!(commands.is_empty(), "{commands:?}");
    assert_eq!(app.stream().unwrap().cursor, 1);
    assert!(wide(&app).contains("breaks invariant: balance never negative"));
    // Past the last flag of the stream the topic is checked, then the next aggregate
    // with a flag opens at its first.
    let commands = app.update(Action::NextFlag);
    assert!(
        matches!(
            commands.as_slice(),
            [kafka_rewind::app::Command::CheckTopic { .. }]
        ),
        "{commands:?}"
    );
    app.apply(Msg::Checked {
        generation: 1,
        result: Ok(vec![("acct-1".into(), 1), ("acct-2".into(), 1)]),
    });
    let view = app.stream().unwrap();
    assert_eq!((view.aggregate.as_str(), view.cursor), ("acct-2", 1));
    let _ = app.update(Action::PrevFlag);
    let view = app.stream().unwrap();
    assert_eq!((view.aggregate.as_str(), view.cursor), ("acct-1", 1));
}

#[test]
fn compare_shows_current_and_candidate_at_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("fixed.toml");
    std::fs::write(
        &candidate,
        LEDGER.replace("- $event.amount)", "- $event.amount - 1)"),
    )
    .unwrap();
    let mut app = ledger_app();
    let _ = app.update(Action::StepForward); // the withdrawal
    command(&mut app, &format!("compare {}", candidate.display()));
    let view = app.stream().unwrap();
    let compare = view.compare.as_ref().expect("comparing");
    assert_eq!(compare.state["balance"], -5);
    assert_eq!(view.state["balance"], -4);
    let text = wide(&app);
    assert!(text.contains("replace /balance  -4 → -5"), "{text}");
    assert!(
        app.status
            .starts_with(&format!("comparing with {}", candidate.display())),
        "{}",
        app.status
    );
    // The status line names the temporary file, which differs from run to run.
    let (screen, _status) = text.trim_end().rsplit_once('\n').unwrap();
    insta::assert_snapshot!(
        "lab_compare",
        format!("{screen}\n[the status line, asserted above]")
    );
    // A file that is not there: one clear line, nothing changes.
    command(&mut app, "compare missing.toml");
    assert!(app.status.contains("no such file"), "{}", app.status);
    assert_eq!(app.status.severity, Severity::Error);
    assert_eq!(status_colour(&app), Color::Red);
    assert!(app.stream().unwrap().compare.is_some());

    // The Rewind dialog, with the candidate on: the plan's outcome is folded with it.
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    let commands = app.update(Action::Open);
    assert!(
        matches!(commands.as_slice(), [Command::PlanRewind { .. }]),
        "{commands:?}"
    );
    let commands = plan_arrives(&mut app);
    let [Command::FoldOutcome {
        candidate: Some(candidate),
        plan,
        request,
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert!(candidate.file.ends_with("fixed.toml"), "{}", candidate.file);
    assert_ne!(candidate.current, candidate.with);
    assert_eq!(plan.group, "projector");
    let request = *request;
    let text = screen_sized(&app, 200, 40);
    assert!(
        text.contains("With fixed.toml: Outcome: folding orders to see what the read model will hold after the rewind…"),
        "{text}"
    );
    app.apply(Msg::OutcomeProgress {
        request,
        pass: 2,
        done: 4096,
        total: 5000,
    });
    assert!(screen_sized(&app, 200, 40).contains("(pass 2 of 2: 4096 of 5000 records)…"));
    // A stale answer (another plan's) changes nothing.
    app.apply(Msg::Outcome {
        request: kafka_rewind::app::PlanId(request.0 + 7),
        result: Err("stale".into()),
    });
    assert!(!screen_sized(&app, 200, 40).contains("stale"));
    app.apply(Msg::Outcome {
        request,
        result: Ok(Box::new(ledger_outcome())),
    });
    let text = screen_sized(&app, 200, 40);
    assert!(
        text.contains("With fixed.toml: After the rewind 2 of 3 aggregate(s) are wrong: re-delivered events are applied twice — acct-1 balance 12, correct 6"),
        "{text}"
    );
    // After ↔ correct, the read model's value red, the events' green.
    assert_eq!(
        style_at(&app, "12 ↔", 0).fg,
        Some(ratatui::style::Color::Red)
    );
    assert_eq!(
        style_at(&app, "6; /ops", 0).fg,
        Some(ratatui::style::Color::Green)
    );
    insta::assert_snapshot!("rewind_outcome", screen_sized(&app, 160, 34));
    // Leaving the plan stops the fold.
    let commands = app.update(Action::Cancel);
    assert!(
        commands.iter().any(|c| matches!(c, Command::StopOutcome)),
        "{commands:?}"
    );
}

#[test]
fn the_rewind_dialog_loads_a_candidate_of_its_own() {
    use kafka_rewind::app::{Overlay, RewindStep};
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("fixed.toml");
    std::fs::write(
        &candidate,
        LEDGER.replace("- $event.amount)", "- $event.amount - 1)"),
    )
    .unwrap();
    let mut app = ledger_app();
    let _ = app.update(Action::Mark);
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    // Tab asks for a file; one that is not there, or names no entry for the topic,
    // says why and stays.
    let _ = app.update(Action::NextPane);
    assert!(app.typing(), "the path is typed");
    for c in "missing.toml".chars() {
        let _ = app.update(Action::Type(c));
    }
    // The worker reads the file.
    let commands = app.update(Action::Submit);
    assert!(
        matches!(
            commands.as_slice(),
            [Command::ReadCandidate { file, topic, .. }] if file == "missing.toml" && topic == "orders"
        ),
        "{commands:?}"
    );
    assert!(serve_files(&mut app, commands).is_empty());
    let text = screen_sized(&app, 160, 30);
    assert!(
        text.contains("✗ --with missing.toml: no such file"),
        "{text}"
    );
    for _ in 0.."missing.toml".len() {
        let _ = app.update(Action::Erase);
    }
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        LEDGER.replace("name = \"orders\"", "name = \"payments\""),
    )
    .unwrap();
    for c in other.display().to_string().chars() {
        let _ = app.update(Action::Type(c));
    }
    let commands = app.update(Action::Submit);
    let _ = serve_files(&mut app, commands);
    let text = screen_sized(&app, 160, 30);
    assert!(
        text.contains("it has no [[topics]] entry for orders"),
        "{text}"
    );
    // A good one: back to the groups, named there; the plan carries it.
    for _ in 0..other.display().to_string().chars().count() {
        let _ = app.update(Action::Erase);
    }
    for c in candidate.display().to_string().chars() {
        let _ = app.update(Action::Type(c));
    }
    let commands = app.update(Action::Submit);
    let _ = serve_files(&mut app, commands);
    let text = screen_sized(&app, 160, 30);
    assert!(
        text.contains("the plan's outcome folds what comes again with it"),
        "{text}"
    );
    assert!(!app.typing());
    let _ = app.update(Action::Open);
    let commands = plan_arrives(&mut app);
    let [Command::FoldOutcome {
        candidate: Some(c), ..
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(c.file, candidate.display().to_string());
    assert_ne!(c.current, c.with);
    // Back at the groups, Tab and an empty line clear it: the next plan replays nothing.
    let _ = app.update(Action::Cancel);
    let _ = app.update(Action::NextPane);
    for _ in 0..candidate.display().to_string().chars().count() {
        let _ = app.update(Action::Erase);
    }
    let _ = app.update(Action::Submit);
    assert!(
        matches!(&app.overlay, Some(Overlay::Rewind(d)) if d.candidate.is_none() && matches!(d.step, RewindStep::PickGroup))
    );
    let _ = app.update(Action::Open);
    let commands = plan_arrives(&mut app);
    assert!(
        matches!(
            commands.as_slice(),
            [Command::FoldOutcome {
                candidate: None,
                ..
            }]
        ),
        "{commands:?}"
    );
}

#[test]
fn reload_refolds_the_open_stream_and_a_broken_config_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rewind.toml");
    let without_invariants = LEDGER
        .split("[topics.invariants]")
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(&path, &without_invariants).unwrap();
    let mut app = ledger_app();
    // ledger_app's config came from text: this one from the file, as rewind loads it.
    let config = Config::load(Some(&path)).unwrap();
    let mut reloaded = App::new("127.0.0.1:9092".into(), config);
    std::mem::swap(&mut app, &mut reloaded);
    // Same events, the file's config (no invariants): nothing flagged.
    let _ = app.start();
    app.apply(Msg::Topics(Ok(vec![topic("orders", &[5])])));
    let _ = app.update(Action::Open);
    let events: Vec<Event> = (0..5)
        .filter_map(|i| reloaded.topic.events.event(i).map(|e| (**e).clone()))
        .collect();
    assert_eq!(events.len(), 5);
    deliver(&mut app, events);
    let _ = app.update(Action::Open);
    let _ = app.update(Action::StepForward);
    assert!(app.stream().unwrap().projection.violations_at(1).is_empty());

    std::fs::write(&path, LEDGER).unwrap();
    command(&mut app, "reload");
    assert!(app.status.starts_with("reloaded"), "{}", app.status);
    assert_eq!(app.status.severity, Severity::Info);
    assert_eq!(status_colour(&app), Color::Reset);
    let view = app.stream().unwrap();
    assert_eq!(
        (view.aggregate.as_str(), view.cursor),
        ("acct-1", 1),
        "same place"
    );
    assert_eq!(view.projection.violations_at(1), ["balance never negative"]);

    std::fs::write(
        &path,
        LEDGER.replace("(.balance // 0) >= 0", "(.balance // 0) >="),
    )
    .unwrap();
    command(&mut app, "reload");
    assert!(
        app.status.contains("balance never negative")
            && app.status.contains("the config in use stays"),
        "{}",
        app.status
    );
    assert_eq!(app.status.severity, Severity::Error);
    assert_eq!(
        app.stream().unwrap().projection.violations_at(1),
        ["balance never negative"]
    );
}

#[test]
fn a_bracket_on_a_long_stream_folds_a_slice_per_frame_then_lands() {
    let mut app = configured(
        "[[topics]]\nname = \"orders\"\n[topics.reducers]\nTick = \"(. // {n: 0}) | .n += 1\"\n[topics.invariants]\n\"under 4990\" = \".n < 4990\"\n",
        &[5000],
    );
    let _ = app.update(Action::Open);
    let events: Vec<Event> = (0..5000)
        .map(|i| event(i, Some(b"a"), Some(br#"{"type":"Tick"}"#), vec![]))
        .collect();
    deliver(&mut app, events);
    let _ = app.update(Action::Open);
    while app.tick().busy {}
    let _ = app.update(Action::First);
    // The key press does not fold 5,000 events: the frames do.
    assert!(app.update(Action::NextFlag).is_empty());
    assert!(
        app.status.contains("folding a to find its flags"),
        "{}",
        app.status
    );
    assert_eq!(app.stream().unwrap().cursor, 0);
    let mut frames = 0;
    while app.tick().busy {
        frames += 1;
    }
    assert!(frames > 1, "folded over several frames");
    let view = app.stream().unwrap();
    assert_eq!(view.cursor, 4989, "the first event after which n is 4990");
    assert_eq!(view.projection.violations_at(4989), ["under 4990"]);
}

#[test]
fn v_shows_the_read_models_row_beside_the_fold_and_drift_filters_the_list() {
    let config = format!(
        "[databases.shop]\nurl = \"sqlite:shop.db\"\n{}",
        LEDGER.replace(
            "name = \"orders\"\n",
            "name = \"orders\"\nread_model = { database = \"shop\", query = \"select doc from accounts where id = $1\", ignore = [\"/seen_at\"] }\n"
        )
    );
    let mut app = configured(&config, &[5]);
    let _ = app.update(Action::Open);
    let values: [(&[u8], &[u8]); 3] = [
        (b"acct-1", br#"{"type":"Deposited","v":2,"amount":5}"#),
        (b"acct-1", br#"{"type":"Deposited","v":2,"amount":10}"#),
        (b"acct-2", br#"{"type":"Deposited","v":2,"amount":1}"#),
    ];
    let events = ledger_events(&config, &values);
    deliver(&mut app, events);
    let _ = app.update(Action::Open); // acct-1
    let _ = app.update(Action::Last);
    let commands = app.update(Action::ToggleReadModel);
    let [Command::ReadModelRow {
        aggregate,
        generation,
        ..
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(aggregate, "acct-1");
    let generation = *generation;
    assert!(wide(&app).contains("reading acct-1's row…"));
    // The consumer counted a deposit twice; its own timestamp is ignored.
    app.apply(Msg::ReadModelRow {
        generation,
        aggregate: "acct-1".into(),
        result: Ok(Some(
            serde_json::json!({"balance": 25, "seen_at": "2026-12-01"}),
        )),
    });
    let text = wide(&app);
    assert!(
        text.contains("1 difference(s), fold → read model (ignoring /seen_at):"),
        "{text}"
    );
    assert!(text.contains("replace /balance  15 → 25"), "{text}");
    insta::assert_snapshot!("read_model_view", text);
    // Back one event: the same row against an earlier state.
    let _ = app.update(Action::StepBack);
    assert!(wide(&app).contains("replace /balance  5 → 25"));
    // No row: said so.
    app.apply(Msg::ReadModelRow {
        generation,
        aggregate: "acct-1".into(),
        result: Ok(None),
    });
    assert!(wide(&app).contains("the read model has no row for acct-1"));
    // v again: the state.
    let _ = app.update(Action::ToggleReadModel);
    assert!(!wide(&app).contains("read model"));
    // :drift asks the worker, then lists only what differs.
    let commands = command(&mut app, "drift");
    assert!(
        matches!(commands.as_slice(), [Command::Drift { .. }]),
        "{commands:?}"
    );
    app.apply(Msg::Drift {
        generation,
        result: Ok(vec!["acct-2".into()]),
    });
    assert_eq!(app.topic.aggregates.len(), 1);
    assert!(
        app.status.contains("1 aggregate(s) differ"),
        "{}",
        app.status
    );
    let _ = command(&mut app, "drift");
    assert_eq!(app.topic.aggregates.len(), 2);
    // With v on, the next aggregate opened shows its row too.
    let _ = app.update(Action::ToggleReadModel);
    let commands = command(&mut app, "agg acct-2");
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::ReadModelRow { aggregate, .. } if aggregate == "acct-2")),
        "{commands:?}"
    );
    assert!(wide(&app).contains("reading acct-2's row…"));
}

#[test]
fn snapshots_in_a_database_are_read_as_a_stream_opens_and_checked_like_a_topics() {
    use kafka_rewind::model::snapshot::StoredSnapshot;
    let config = format!(
        "[databases.shop]\nurl = \"sqlite:shop.db\"\n{}",
        LEDGER.replace(
            "name = \"orders\"\n",
            "name = \"orders\"\nsnapshots = { database = \"shop\", query = \"select state, version from snaps where id = $1\" }\n"
        )
    );
    let mut app = configured(&config, &[5]);
    let _ = app.update(Action::Open);
    let rules = Config::parse(&config, std::path::Path::new("rewind.toml"))
        .unwrap()
        .rules_for("orders");
    let values: [&[u8]; 2] = [
        br#"{"type":"Deposited","v":2,"amount":5}"#,
        br#"{"type":"Deposited","v":2,"amount":10}"#,
    ];
    let events = values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let raw = RawRecord {
                topic: "orders",
                partition: 0,
                offset: i as i64,
                timestamp: Some(1_795_687_200_000 + i as i64 * 61_000),
                key: Some(b"acct-1"),
                headers: vec![],
                value: Some(value),
            };
            Event::decode(&raw, &rules)
        })
        .collect();
    deliver(&mut app, events);
    let commands = app.update(Action::Open);
    let asked = commands.iter().find_map(|c| match c {
        Command::LoadDatabaseSnapshots {
            aggregate,
            generation,
            ..
        } => Some((aggregate.clone(), *generation)),
        _ => None,
    });
    let (aggregate, generation) = asked.unwrap_or_else(|| panic!("{commands:?}"));
    assert_eq!(aggregate, "acct-1");
    let row = |version, balance| StoredSnapshot {
        coord: kafka_rewind::model::Coord {
            partition: -1,
            offset: version as i64,
        },
        version: Some(version),
        state: serde_json::json!({"balance": balance}),
    };
    // v1 is right, v2 is not.
    app.apply(Msg::AggregateSnapshots {
        generation,
        aggregate: "acct-1".into(),
        result: Ok(vec![row(1, 5), row(2, 99)]),
    });
    let view = app.stream().unwrap();
    assert!(view.projection.has_snapshots());
    assert_eq!(view.snapshot_checks.len(), 2, "{:?}", view.snapshot_checks);
    assert!(view.snapshot_checks[&1].is_empty());
    assert_eq!(view.snapshot_checks[&2][0].path, "/balance");
    // S rebuilds from the latest snapshot at or before the cursor: v1 at the first
    // event (which once panicked, with nothing before it), v2 at the last.
    let _ = app.update(Action::ToggleSnapshotStart);
    assert_eq!(app.stream().unwrap().basis.snapshot, Some(1));
    let _ = app.update(Action::Last);
    assert_eq!(app.stream().unwrap().basis.snapshot, Some(2));
}

#[test]
fn a_compare_file_answered_after_compare_off_is_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("fixed.toml");
    std::fs::write(&candidate, LEDGER).unwrap();
    let mut app = ledger_app();
    let _ = app.update(Action::StartCommand);
    for c in format!("compare {}", candidate.display()).chars() {
        let _ = app.update(Action::Type(c));
    }
    let asked = app.update(Action::Submit);
    assert!(
        matches!(asked.as_slice(), [Command::ReadCandidate { .. }]),
        "{asked:?}"
    );
    // `:compare` alone before the worker answers: the answer comes to nothing.
    let _ = command(&mut app, "compare");
    assert_eq!(app.status, "compare off");
    for c in &asked {
        let msg = kafka_rewind::app::worker::read_file(app.config(), c).expect("a file read");
        assert!(app.apply(msg).is_empty());
    }
    assert!(app.stream().unwrap().compare.is_none());
    assert_eq!(app.status, "compare off");
}
