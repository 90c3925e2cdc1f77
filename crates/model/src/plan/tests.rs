use super::*;
use crate::event::RawRecord;
use crate::{Extractor, TopicRules};

fn parts(committed: &[Option<i64>]) -> Vec<GroupPartition> {
    committed
        .iter()
        .enumerate()
        .map(|(i, c)| GroupPartition {
            partition: i as i32,
            low: 10,
            high: 100,
            committed: *c,
        })
        .collect()
}

fn plan_targets(scope: Scope, committed: &[Option<i64>]) -> Vec<(i64, i64)> {
    targets("t", &scope, &parts(committed), &BTreeMap::new())
        .unwrap()
        .iter()
        .map(|p| (p.requested, p.target))
        .collect()
}

fn ev(partition: i32, offset: i64, ts: i64, agg: &str, id: &str) -> Event {
    let value = json!({"agg": agg, "id": id, "type": "T"}).to_string();
    let rules = TopicRules {
        aggregate: Extractor::parse(".agg").unwrap(),
        event_id: Some(Extractor::parse(".id").unwrap()),
        ..TopicRules::default()
    };
    Event::decode(
        &RawRecord {
            topic: "t",
            partition,
            offset,
            timestamp: Some(ts),
            value: Some(value.as_bytes()),
            ..Default::default()
        },
        &rules,
    )
}

#[test]
fn earliest_latest_and_offsets_clamp_to_the_log_like_kafka_consumer_groups() {
    let c = [Some(50), None];
    assert_eq!(plan_targets(Scope::Earliest, &c), [(10, 10), (10, 10)]);
    assert_eq!(plan_targets(Scope::Latest, &c), [(100, 100), (100, 100)]);
    assert_eq!(plan_targets(Scope::Offset(42), &c), [(42, 42), (42, 42)]);
    assert_eq!(plan_targets(Scope::Offset(5), &c), [(5, 10), (5, 10)]);
    assert_eq!(
        plan_targets(Scope::Offset(500), &c),
        [(500, 100), (500, 100)]
    );
}

#[test]
fn shift_by_moves_from_the_committed_offset_and_clamps() {
    let c = [Some(50), Some(95), Some(12)];
    assert_eq!(
        plan_targets(Scope::ShiftBy(-5), &c),
        [(45, 45), (90, 90), (7, 10)]
    );
    assert_eq!(
        plan_targets(Scope::ShiftBy(10), &c),
        [(60, 60), (105, 100), (22, 22)]
    );
    let err = targets(
        "t",
        &Scope::ShiftBy(1),
        &parts(&[Some(1), None]),
        &BTreeMap::new(),
    );
    assert_eq!(err, Err(PlanError::NothingToShift { partition: 1 }));
}

#[test]
fn effects_and_deltas_say_what_the_group_receives_again() {
    let plans = targets(
        "t",
        &Scope::Offset(40),
        &parts(&[Some(50), Some(30), Some(40), None]),
        &BTreeMap::new(),
    )
    .unwrap();
    let effects: Vec<String> = plans.iter().map(|p| p.effect().to_string()).collect();
    assert_eq!(
        effects,
        ["replays 10", "skips 10", "unchanged", "first commit"]
    );
    assert_eq!(plans[0].delta(), Some(-10));
    assert_eq!(plans[3].delta(), None);
}

#[test]
fn time_scopes_use_the_resolved_offsets_and_to_event_pins_its_partition() {
    let p = parts(&[Some(90), Some(90), Some(90)]);
    let time = |offset| TimeOffset {
        offset,
        source: TimeSource::Index,
    };
    let at = Coord {
        partition: 1,
        offset: 33,
    };
    assert_eq!(partitions_needing_time(&Scope::Event(at), &p), [0, 2]);
    let times = BTreeMap::from([(0, time(20)), (2, time(100))]);
    let plans = targets("t", &Scope::Event(at), &p, &times).unwrap();
    let got: Vec<i64> = plans.iter().map(|p| p.target).collect();
    assert_eq!(got, [20, 33, 100]);
    assert_eq!(plans[1].time, None);
    let missing = targets("t", &Scope::DateTime(5), &p, &times);
    assert_eq!(missing, Err(PlanError::MissingTime(1)));
    let bad = Coord {
        partition: 7,
        offset: 1,
    };
    assert!(matches!(
        targets("t", &Scope::Event(bad), &p, &times),
        Err(PlanError::NoSuchPartition { partition: 7, .. })
    ));
    assert_eq!(
        scope_time(
            &Scope::Duration {
                ms: 1000,
                text: "PT1S".into()
            },
            5000,
            None
        ),
        Some(4000)
    );
    assert_eq!(scope_time(&Scope::Event(at), 5000, Some(77)), Some(77));
    assert_eq!(scope_time(&Scope::Earliest, 5000, Some(77)), None);
}

#[test]
fn a_reset_file_sets_only_its_partitions_and_the_undo_file_restores_the_current_offsets() {
    let p = parts(&[Some(50), Some(60), None]);
    let plan = Plan {
        group: "g".into(),
        topic: "t".into(),
        scope: Scope::Earliest,
        time: None,
        partitions: targets("t", &Scope::Earliest, &p, &BTreeMap::new()).unwrap(),
        impact: None,
    };
    assert_eq!(plan.targets_csv(), "t,0,10\nt,1,10\nt,2,10\n");
    let undo = plan.undo_csv();
    assert_eq!(undo, "t,0,50\nt,1,60\n");
    // Applying the plan, then the undo file, gives the offsets back.
    let after: Vec<GroupPartition> = plan
        .partitions
        .iter()
        .map(|q| GroupPartition {
            committed: Some(q.target),
            ..p[q.partition as usize]
        })
        .collect();
    let rows = parse_reset_file(&undo).unwrap();
    let scope = Scope::File {
        path: "undo.csv".into(),
        rows,
    };
    let restored = targets("t", &scope, &after, &BTreeMap::new()).unwrap();
    let got: Vec<(i32, i64)> = restored.iter().map(|q| (q.partition, q.target)).collect();
    assert_eq!(got, [(0, 50), (1, 60)]);

    let other = parse_reset_file("u,0,1\n").unwrap();
    let scope = Scope::File {
        path: "f".into(),
        rows: other,
    };
    assert!(matches!(
        targets("t", &scope, &after, &BTreeMap::new()),
        Err(PlanError::OtherTopic { line: 1, .. })
    ));
}

#[test]
fn reset_files_are_parsed_strictly_with_line_numbers() {
    let rows = parse_reset_file(" t , 3 , 17 \n# a comment\nt,4,0\n").unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].partition, rows[0].offset), (3, 17));
    assert!(parse_reset_file("t,x,1\n")
        .unwrap_err()
        .contains("partition `x`"));
    assert!(parse_reset_file("t,1\n").unwrap_err().contains("line 1"));
    assert!(parse_reset_file("t,1,2\nt,2,y\n")
        .unwrap_err()
        .contains("line 2"));
}

#[test]
fn searching_the_records_finds_the_first_offset_at_or_after_a_time_across_gaps() {
    // Offsets 0..20 with a gap at 5..8 (compacted away); timestamps 1000 + 10 * offset.
    let records: Vec<(i64, i64)> = (0..20)
        .filter(|o| !(5..8).contains(o))
        .map(|o| (o, 1000 + 10 * o))
        .collect();
    let mut probes = 0;
    let mut probe = |o: i64| -> Result<Option<(i64, i64)>, ()> {
        probes += 1;
        Ok(records.iter().copied().find(|(off, _)| *off >= o))
    };
    assert_eq!(search_time(0, 20, 1000, &mut probe), Ok(0));
    assert_eq!(search_time(0, 20, 1055, &mut probe), Ok(8));
    assert_eq!(search_time(0, 20, 1050, &mut probe), Ok(8));
    assert_eq!(search_time(0, 20, 1040, &mut probe), Ok(4));
    assert_eq!(search_time(0, 20, 1041, &mut probe), Ok(8));
    assert_eq!(search_time(0, 20, 1190, &mut probe), Ok(19));
    assert_eq!(search_time(0, 20, 5000, &mut probe), Ok(20));
    assert_eq!(search_time(3, 3, 5000, &mut probe), Ok(3));
    assert!(probes < 7 * 6, "binary, not linear: {probes} probes");
}

#[test]
fn broker_answers_are_checked_against_the_records_around_them() {
    let p = GroupPartition {
        partition: 0,
        low: 0,
        high: 10,
        committed: None,
    };
    // Right: the record before is earlier, the one at the answer is at or after.
    assert!(answer_agrees(500, 4, &p, Some(400), Some(500)));
    // Tansu's answer 0 for a time in the middle: the record at 0 is too early.
    assert!(!answer_agrees(500, 0, &p, None, Some(100)));
    // The mock's answer "end" for a time in the middle: the record before is later.
    assert!(!answer_agrees(500, 10, &p, Some(900), None));
    // "End" is right when every record is earlier; 0 is right when none is.
    assert!(answer_agrees(5000, 10, &p, Some(900), None));
    assert!(answer_agrees(1, 0, &p, None, Some(100)));
    assert!(!answer_agrees(1, 11, &p, None, None));
}

#[test]
fn the_index_gives_the_first_event_at_or_after_a_time() {
    let events = [
        ev(0, 3, 100, "a", "1"),
        ev(0, 4, 200, "a", "2"),
        ev(0, 7, 300, "b", "3"),
    ];
    assert_eq!(offset_for_time(&events, 150, 9), 4);
    assert_eq!(offset_for_time(&events, 0, 9), 3);
    assert_eq!(offset_for_time(&events, 301, 9), 9);
}

#[test]
fn the_impact_lists_redelivered_events_of_the_aggregate_and_ids_seen_twice() {
    let events = [
        ev(0, 10, 1, "a", "e1"),
        ev(0, 11, 2, "b", "e2"),
        ev(0, 12, 3, "a", "e3"),
        ev(0, 13, 4, "a", "e3"), // a duplicate
        ev(0, 14, 5, "a", "e4"),
        ev(1, 10, 1, "a", "e5"),
    ];
    let partitions = [
        GroupPartition {
            partition: 0,
            low: 10,
            high: 15,
            committed: Some(14),
        },
        GroupPartition {
            partition: 1,
            low: 10,
            high: 11,
            committed: Some(11),
        },
    ];
    let plans = targets("t", &Scope::Offset(12), &partitions, &BTreeMap::new()).unwrap();
    let impact = impact(&plans, "a", &events);
    let redelivered: Vec<String> = impact
        .redelivered
        .iter()
        .map(|e| e.coord.to_string())
        .collect();
    assert_eq!(redelivered, ["0/12", "0/13"]);
    assert_eq!(impact.repeated.len(), 1);
    assert_eq!(impact.repeated[0].0, "e3");
    let plan = Plan {
        group: "g".into(),
        topic: "t".into(),
        scope: Scope::Offset(12),
        time: None,
        partitions: plans,
        impact: Some(impact),
    };
    let warnings = plan.warnings().join("\n");
    assert!(
        warnings.contains("partition 1: 12 is past the log end; clamped to 11"),
        "{warnings}"
    );
    assert!(
        warnings.contains("2 event(s) of a already processed"),
        "{warnings}"
    );
    assert!(
        warnings.contains("event id e3 occurs at 0/12, 0/13"),
        "{warnings}"
    );
}

#[test]
fn the_equivalent_command_redacts_secrets_and_uses_a_file_for_per_partition_targets() {
    let p = parts(&[Some(50)]);
    let mut plan = Plan {
        group: "billing".into(),
        topic: "t".into(),
        scope: Scope::ShiftBy(-5),
        time: None,
        partitions: targets("t", &Scope::ShiftBy(-5), &p, &BTreeMap::new()).unwrap(),
        impact: None,
    };
    let props = vec![
        ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
        ("sasl.password".to_owned(), "hunter2".to_owned()),
    ];
    let command = plan.equivalent_command("k:9092", &props);
    assert!(command.starts_with("kafka-consumer-groups.sh --bootstrap-server k:9092 --group billing --topic t --reset-offsets --shift-by -5 --execute"), "{command}");
    assert!(command.contains("sasl.password=***"), "{command}");
    assert!(!command.contains("hunter2"), "{command}");
    plan.scope = Scope::Event(Coord {
        partition: 0,
        offset: 3,
    });
    assert!(plan
        .equivalent_command("k:9092", &[])
        .contains("--from-file rewind-plan.csv"));
    plan.scope = Scope::DateTime(0);
    assert!(plan
        .equivalent_command("k:9092", &[])
        .contains("--to-datetime 1970-01-01T00:00:00.000Z"));
    plan.partitions[0].time = Some(TimeOffset {
        offset: 1,
        source: TimeSource::Search { broker: Some(0) },
    });
    assert!(plan
        .equivalent_command("k:9092", &[])
        .contains("--from-file rewind-plan.csv"));
}

#[test]
fn durations_parse_like_java_duration() {
    assert_eq!(parse_duration("PT15M"), Ok(15 * 60_000));
    assert_eq!(parse_duration("P1DT2H"), Ok(26 * 3_600_000));
    assert_eq!(parse_duration("PT0.5S"), Ok(500));
    assert_eq!(parse_duration("pt1h30m"), Ok(90 * 60_000));
    assert_eq!(parse_duration("-PT1M"), Ok(-60_000));
    assert_eq!(parse_duration("P2D"), Ok(2 * 86_400_000));
    for bad in ["", "P", "PT", "15M", "PT15", "PT1S2M", "P1Y", "PTXM"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn records_expiry_and_a_target_gone_are_said_per_partition() {
    let mut plans = targets(
        "t",
        &Scope::Offset(5),
        &parts(&[Some(50), Some(60)]),
        &BTreeMap::new(),
    )
    .unwrap();
    // Offset 5 is below the log start (10): gone, clamped.
    assert_eq!(plans[0].moved_range(), Some((10, 50)));
    plans[0].set_records(37);
    plans[1].set_records(50);
    assert_eq!((plans[0].records, plans[0].delta()), (Some(-37), Some(-40)));
    // The effect counts the records delivered again, not the offsets.
    assert_eq!(plans[0].effect().to_string(), "replays 37");
    // The record at partition 0's target is 6 days and 23 hours old; retention 7 days.
    let now = 1_000_000_000_000i64;
    plans[0].first_event = Some(ev(0, 10, now - 6 * 86_400_000 - 23 * 3_600_000, "a", "e1"));
    plans[1].first_event = Some(ev(1, 10, now - 3_600_000, "a", "e2"));
    let week = crate::topic::TopicSettings {
        cleanup_policy: Some("delete".into()),
        retention_ms: Some(7 * 86_400_000),
    };
    for p in plans.iter_mut() {
        p.set_expiry(&week, now, 3_600_000);
    }
    assert_eq!(
        (plans[0].expires_in_ms, plans[1].expires_in_ms),
        (Some(3_600_000), None)
    );
    // Compacted only, or kept forever: nothing expires.
    for settings in [
        crate::topic::TopicSettings {
            cleanup_policy: Some("compact".into()),
            retention_ms: Some(1),
        },
        crate::topic::TopicSettings {
            cleanup_policy: Some("delete".into()),
            retention_ms: Some(-1),
        },
    ] {
        plans[0].set_expiry(&settings, now, 3_600_000);
        assert_eq!(plans[0].expires_in_ms, None);
    }
    plans[0].set_expiry(&week, now, 3_600_000);
    let plan = Plan {
        group: "g".into(),
        topic: "t".into(),
        scope: Scope::Offset(5),
        time: None,
        partitions: plans,
        impact: None,
    };
    let warnings = plan.warnings().join("\n");
    assert!(
        warnings.contains("partition 0: offset 5 is gone (deleted by retention"),
        "{warnings}"
    );
    assert!(warnings.contains("partition 0: the event at the target, offset 10, may be deleted by retention as soon as 1h 0m from now"), "{warnings}");
    // Partition 0 counted over 10..50 (its log starts at 10), partition 1 over 10..60.
    assert!(
        warnings.contains("90 offsets, 87 records: the rest are transaction markers"),
        "{warnings}"
    );
    assert_eq!(grouped(1_204), "1,204");
    assert_eq!(grouped(-1_180_000), "-1,180,000");
    assert_eq!(grouped(999), "999");
    let json = plan.to_json(false, None, "cmd");
    assert_eq!(json["partitions"][0]["records"], -37);
    assert_eq!(json["partitions"][0]["expires_in_ms"], 3_600_000);
    assert_eq!(json["partitions"][1]["expires_in_ms"], Value::Null);
}
