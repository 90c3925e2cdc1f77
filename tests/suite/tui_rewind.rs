//! The TUI's rewind, driven in process against the mock cluster with the real worker:
//! open a topic, mark an event, `r`, pick the group, allow its unknown state, type its
//! name, and the group's committed offsets are where the plan said, with an undo file.

use crate::common::*;
use kafka_rewind::app::{Action, Overlay, RewindStep, Screen};
use kafka_rewind::config::{Config, Connection};
use kafka_rewind::kafka::Cluster;

/// The Rewind dialog's step.
fn step(d: &Driver) -> &RewindStep {
    match &d.app.overlay {
        Some(Overlay::Rewind(dialog)) => &dialog.step,
        other => panic!("no rewind dialog: {other:?}"),
    }
}

#[test]
fn mark_then_r_then_typed_confirmation_commits_the_planned_offsets() {
    let cluster = mock(&[("ledger", 2)]);
    let b = cluster.bootstrap_servers();
    let base = 1_795_000_000_000;
    let mut records = Vec::new();
    for i in 0..20i64 {
        let p = (i % 2) as i32;
        let value = serde_json::json!({"type": "Posted", "id": format!("e{i}")}).to_string();
        records.push(Rec::new("ledger", p, &format!("acct-{}", i % 3), &value).at(base + i * 1000));
    }
    produce(&b, &records);
    commit(&b, "projector", "ledger", &[(0, 10), (1, 10)]);
    let state = sandbox();
    // The default undo file goes to the state directory: one under the target's
    // temporary directory, never removed (the suite's other tests share the process).
    let state_home = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tui-rewind-state");
    std::fs::create_dir_all(&state_home).unwrap();
    std::env::set_var("XDG_STATE_HOME", &state_home);
    let conn = Connection {
        brokers: b.clone(),
        groups: vec!["projector".into()],
        ..Connection::default()
    };
    let config = Config::parse(
        "[[topics]]\nname = \"ledger\"\nevent_id = \".id\"\n",
        std::path::Path::new("rewind.toml"),
    )
    .unwrap();
    let mut d = Driver::start(conn.clone(), config);
    let marks_file = state.path().join("marks.json");
    d.app.marks_file = Some(marks_file.clone());
    d.wait("topics", |a| !a.topics.all.is_empty());
    d.act(Action::Open);
    d.wait("the topic", |a| a.topic.events.done);
    // Partition 1's 3rd event: offset 2, i = 5, at base + 5 s; aggregate acct-2.
    let at = d
        .app
        .topic
        .events
        .index
        .iter()
        .position(|e| {
            e.coord()
                == kafka_rewind::model::Coord {
                    partition: 1,
                    offset: 2,
                }
        })
        .unwrap();
    d.app.topic.events.selected = at;
    d.act(Action::Open);
    assert!(matches!(d.app.screen, Screen::Stream(_)));
    d.act(Action::Mark);
    d.wait("the marks file", |_| {
        std::fs::read_to_string(&marks_file).is_ok_and(|t| t.contains("\"offset\": 2"))
    });

    d.act(Action::Rewind);
    d.wait(
        "the groups",
        |a| matches!(&a.overlay, Some(Overlay::Rewind(r)) if r.groups.is_some()),
    );
    d.act(Action::Open);
    d.wait("the plan", |a| matches!(&a.overlay, Some(Overlay::Rewind(r)) if matches!(r.step, RewindStep::Plan { .. } | RewindStep::Failed(_))));
    let RewindStep::Plan { plan, .. } = step(&d) else {
        panic!("{:?}", step(&d))
    };
    // Partition 1 goes to the mark; partition 0 to its first event at or after the
    // mark's time (i = 6 at base + 6 s is offset 3), found in rewind's own index.
    let targets: Vec<(i32, i64)> = plan
        .partitions
        .iter()
        .map(|p| (p.partition, p.target))
        .collect();
    assert_eq!(targets, [(0, 3), (1, 2)]);

    // The mock cannot describe groups: refused until the unknown state is allowed.
    for c in "projector".chars() {
        d.act(Action::Type(c));
    }
    d.act(Action::Submit);
    assert!(d.app.status.contains("unknown"), "{}", d.app.status);
    d.act(Action::NextPane);
    d.act(Action::Submit);
    d.wait(
        "the rewind",
        |a| matches!(&a.overlay, Some(Overlay::Rewind(r)) if matches!(r.step, RewindStep::Done { .. } | RewindStep::Failed(_))),
    );
    let RewindStep::Done { rewound: done, .. } = step(&d) else {
        panic!("{:?}", step(&d))
    };
    assert!(done.mismatches.is_empty());
    assert!(done.undo_file.starts_with(&state_home));
    assert_eq!(
        std::fs::read_to_string(&done.undo_file).unwrap(),
        "ledger,0,10\nledger,1,10\n"
    );

    let cluster = Cluster::connect(&conn).unwrap();
    let info = cluster.topic("ledger").unwrap();
    let committed: Vec<Option<i64>> = cluster
        .committed("projector", &[info])
        .unwrap()
        .iter()
        .map(|o| o.committed)
        .collect();
    assert_eq!(committed, [Some(3), Some(2)]);

    // The dialog follows the replay: the worker reads the group, and nothing has been
    // re-processed yet of the 15 events from the targets (3 and 2) to the ends (10, 10).
    d.wait("a look at the replay", |a| {
        matches!(&a.overlay, Some(Overlay::Rewind(r)) if matches!(&r.step, RewindStep::Done { watch: (_, w), .. } if w.last().is_some()))
    });
    let RewindStep::Done {
        watch: (_, watch), ..
    } = step(&d)
    else {
        unreachable!()
    };
    let last = watch.last().unwrap().clone();
    assert_eq!((last.done, last.total, last.lag), (0, 15, 15));
}
