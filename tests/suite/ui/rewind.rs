//! The Groups screen and the Rewind and Compensate dialogs.

use super::*;

#[test]
fn groups_screen() {
    let mut app = app();
    let _ = app.update(Action::StartCommand);
    for c in "group billing".chars() {
        let _ = app.update(Action::Type(c));
    }
    let _ = app.update(Action::Submit);
    app.apply(Msg::Groups(Ok(groups())));
    insta::assert_snapshot!(screen(&app));
    let _ = app.update(Action::Back);
    assert!(matches!(app.screen, kafka_rewind::app::Screen::Topics));
}

#[test]
fn the_groups_screen_samples_lag_while_open_with_rate_and_time_to_catch_up() {
    use kafka_rewind::app::{Command, GROUP_SAMPLE};
    use kafka_rewind::model::group::{LagHistory, LagSample};
    use std::time::{Duration, Instant};
    let mut app = app();
    let commands = command(&mut app, "group billing");
    assert_eq!(
        commands,
        vec![Command::LoadGroups {
            also: Some("billing".into())
        }]
    );
    assert!(app.apply(Msg::Groups(Ok(groups()))).is_empty());
    // Looks again every GROUP_SAMPLE while open, one look at a time, naming the group
    // asked for by name each time.
    let now = Instant::now();
    assert!(app.sample_groups(now).is_empty(), "not due yet");
    assert_eq!(
        app.sample_groups(now + GROUP_SAMPLE),
        vec![Command::LoadGroups {
            also: Some("billing".into())
        }]
    );
    assert!(
        app.sample_groups(now + GROUP_SAMPLE * 3).is_empty(),
        "the last look is not answered yet"
    );
    app.apply(Msg::Groups(Ok(groups())));
    // A history of billing's lag: 100 → 40 over 12 s, 10 events/s consumed.
    let t0 = now;
    let mut history = LagHistory::default();
    for (s, lag) in [(0u64, 100i64), (3, 90), (6, 70), (9, 55), (12, 40)] {
        history.push(LagSample {
            at: t0 + Duration::from_secs(s),
            lag,
            consumed: 600 - lag,
        });
    }
    app.groups.history.insert("billing".into(), history);
    let text = screen(&app);
    assert!(
        text.contains("lag 40, consuming 5 events/s: caught up in about 8s"),
        "{text}"
    );
    insta::assert_snapshot!("groups_lag_trend", text);
    // Left: no more looks.
    let _ = app.update(Action::Back);
    assert!(app.sample_groups(now + GROUP_SAMPLE * 10).is_empty());
}

#[test]
fn rewind_dialog_from_a_mark() {
    use kafka_rewind::app::{Command, Rewound};
    let mut app = stream_app();
    let _ = app.update(Action::Mark);
    assert!(app.status.starts_with("marked 0/0 OrderCreated order-1001"));
    assert_eq!(
        app.update(Action::Rewind),
        vec![Command::LoadGroups { also: None }]
    );
    app.apply(Msg::Groups(Ok(groups())));
    insta::assert_snapshot!("rewind_pick_group", screen(&app));
    // projector is listed first: it has offsets on this topic.
    let commands = app.update(Action::Open);
    let [Command::PlanRewind {
        request: asked_for,
        ask: request,
    }] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(*asked_for, asked(&app));
    // An answer to another request (a dialog since closed) is not shown here.
    app.apply(Msg::Plan {
        request: kafka_rewind::app::PlanId(asked(&app).0 + 1),
        result: Err("an older plan".into()),
    });
    assert!(matches!(
        &app.overlay,
        Some(kafka_rewind::app::Overlay::Rewind(d))
            if matches!(d.step, kafka_rewind::app::RewindStep::Planning { .. })
    ));
    assert_eq!(request.group, "projector");
    let known = request
        .known
        .as_ref()
        .expect("the loaded topic is rewind's index");
    assert_eq!(known.times.get(&0), Some(&Some(0)));
    let plan = plan_to_first_event(&app);
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan.clone(), classic("Empty"))),
    });
    for c in "projecto".chars() {
        let _ = app.update(Action::Type(c));
    }
    assert!(
        app.update(Action::Submit).is_empty(),
        "not the group's name yet"
    );
    let _ = app.update(Action::Type('r'));
    insta::assert_snapshot!("rewind_plan", screen(&app));
    let commands = app.update(Action::Submit);
    // The outcome's fold is no longer wanted once the plan is committed.
    assert!(
        matches!(
            commands.as_slice(),
            [
                Command::StopOutcome,
                Command::ExecuteRewind {
                    allow_unknown: false,
                    ..
                }
            ]
        ),
        "{commands:?}"
    );
    let commands = app.apply(Msg::Rewound(Ok(Rewound {
        group: "projector".into(),
        allow_unknown: false,
        topic: "orders".into(),
        undo_file: "/home/dev/.local/state/rewind/undo/projector-orders-20261126T101500.000Z.csv"
            .into(),
        mismatches: vec![],
        written_with: kafka_rewind::kafka::WritePath::AlterConsumerGroupOffsets,
    })));
    insta::assert_snapshot!("rewind_done", screen(&app));

    // The dialog follows the replay the commit started.
    let [Command::WatchReplay { id, group, targets }] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert_eq!(
        (group.as_str(), targets.as_slice()),
        ("projector", &[("orders".to_owned(), 0, 0)][..])
    );
    let start = std::time::Instant::now();
    let sample = |secs: u64, done: i64| kafka_rewind::model::group::ReplaySample {
        at: start + std::time::Duration::from_secs(secs),
        done,
        total: 7,
        lag: 7 - done,
        lag_ms: Some((7 - done) * 61_000),
    };
    app.apply(Msg::ReplaySample {
        id: kafka_rewind::app::WatchId(id.0 + 1),
        sample: Ok(sample(0, 6)),
    });
    assert!(
        screen(&app).contains("Replay: reading the group"),
        "another watch's sample is not shown"
    );
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(0, 1)),
    });
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(1, 1)),
    });
    let text = screen(&app);
    assert!(text.contains("no progress since the last look"), "{text}");
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(3, 5)),
    });
    let text = screen(&app);
    assert!(
        text.contains(
            "Replay: 5 of 7 events re-processed (71%), 2 events/s, caught up in about 1 s."
        ),
        "{text}"
    );
    app.apply(Msg::ReplaySample {
        id: *id,
        sample: Ok(sample(3, 7)),
    });
    assert!(screen(&app).contains("Replay: 7 of 7 events re-processed (100%): caught up."));
    assert_eq!(app.update(Action::Back), vec![Command::StopWatch]);
}

#[test]
fn a_share_group_cannot_be_confirmed_and_the_dialog_shows_kafka_share_groups() {
    let mut app = stream_app();
    let _ = app.update(Action::Mark);
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    let _ = app.update(Action::Open);
    let share = GroupStatus {
        state: GroupState::named("Empty"),
        kind: kafka_rewind::model::group::GroupType::Share,
    };
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan_to_first_event(&app), share)),
    });
    let text = screen(&app).replace(['│', '\n', '"'], " ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("kafka-share-groups.sh --bootstrap-server"),
        "{text}"
    );
    assert!(!text.contains("kafka-consumer-groups.sh"), "{text}");
    assert!(text.contains("is a share group (KIP-932)"), "{text}");
    for c in "projector".chars() {
        let _ = app.update(Action::Type(c));
    }
    assert!(app.update(Action::Submit).is_empty(), "never committed");
    let _ = app.update(Action::NextPane);
    assert!(app.update(Action::Submit).is_empty(), "not even with Tab");
}

#[test]
fn an_active_group_cannot_be_confirmed_and_marks_are_listed() {
    let mut app = stream_app();
    let _ = app.update(Action::Mark);
    let _ = app.update(Action::Rewind);
    // The listing said Empty; when the plan was made its coordinator said Stable, and
    // that is what counts: no confirmation, not even with Tab.
    app.apply(Msg::Groups(Ok(groups())));
    let _ = app.update(Action::Open);
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan_to_first_event(&app), classic("Stable"))),
    });
    for c in "projector".chars() {
        let _ = app.update(Action::Type(c));
    }
    assert!(app.update(Action::Submit).is_empty());
    let _ = app.update(Action::NextPane);
    assert!(
        app.update(Action::Submit).is_empty(),
        "Tab allows only an unknown state"
    );
    assert!(
        app.status.contains("group projector is Stable"),
        "{}",
        app.status
    );
    let _ = app.update(Action::Cancel);
    let _ = app.update(Action::Back);
    assert!(app.overlay.is_none());
    let _ = app.update(Action::ShowMarks);
    insta::assert_snapshot!("marks_list", screen(&app));
}

#[test]
fn compensate_dialog() {
    let mut app = configured(
        "[[topics]]\nname = \"orders\"\n[topics.compensation_templates]\nOrderCreated = \"{type: \\\"OrderVoided\\\", orderId: $event.orderId, data: {voids: $event.eventId}}\"\n",
        &[7],
    );
    opened(&mut app);
    let _ = app.update(Action::Compensate);
    for c in "orders".chars() {
        let _ = app.update(Action::Type(c));
    }
    insta::assert_snapshot!(screen(&app));
    let commands = app.update(Action::Submit);
    assert_eq!(commands.len(), 1, "{commands:?}");
}

#[test]
fn the_rewind_dialog_shows_client_properties_with_secrets_redacted() {
    let mut app = stream_app();
    app.properties = vec![
        ("security.protocol".into(), "SASL_SSL".into()),
        ("sasl.password".into(), "hunter2-Zq9".into()),
    ];
    let _ = app.update(Action::Rewind);
    app.apply(Msg::Groups(Ok(groups())));
    let _ = app.update(Action::Open);
    app.apply(Msg::Plan {
        request: asked(&app),
        result: Ok((plan_to_first_event(&app), classic("Empty"))),
    });
    let text = screen_sized(&app, 200, 40);
    assert!(text.contains("sasl.password=***"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
