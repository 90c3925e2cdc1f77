use super::*;

#[test]
fn only_empty_or_dead_groups_may_be_reset_and_unknown_only_when_allowed() {
    let known = |s: &str| GroupState::named(s);
    // The variant decides, in whatever case the coordinator wrote the name.
    assert_eq!(known("EMPTY"), GroupState::Inactive(Idle::Empty));
    assert_eq!(known("dead").name(), "Dead");
    assert!(known("Empty").may_commit(false) && known("Dead").may_commit(false));
    assert!(!known("Stable").may_commit(true) && known("Stable").is_active());
    let unknown = GroupState::Unknown("not authorized".into());
    assert!(!unknown.may_commit(false) && unknown.may_commit(true) && !unknown.is_active());
    assert!(known("Empty").check_inactive("g", false).is_ok());
    assert!(known("Dead").check_inactive("g", false).is_ok());
    for active in ["Stable", "PreparingRebalance", "CompletingRebalance"] {
        let err = known(active).check_inactive("g", true).unwrap_err();
        assert!(err.contains(&format!("group g is {active}")), "{err}");
    }
    let unknown = GroupState::Unknown("the broker cannot list groups".into());
    assert!(unknown
        .check_inactive("g", false)
        .unwrap_err()
        .contains("--allow-unknown-state"));
    assert!(unknown.check_inactive("g", true).is_ok());
    assert_eq!(unknown.name(), "unknown");
}

#[test]
fn a_state_comes_only_from_the_coordinator_and_not_found_is_dead() {
    let from = GroupState::from_answer;
    assert_eq!(
        from(CoordinatorAnswer::State(Some("Stable".into()))),
        GroupState::named("Stable")
    );
    assert!(from(CoordinatorAnswer::State(Some("Stable".into()))).is_active());
    assert!(from(CoordinatorAnswer::State(Some("CompletingRebalance".into()))).is_active());
    assert_eq!(from(CoordinatorAnswer::NotFound), GroupState::named("Dead"));
    assert!(!from(CoordinatorAnswer::NotFound).is_active());
    let unknown = from(CoordinatorAnswer::State(None));
    assert!(matches!(unknown, GroupState::Unknown(_)) && !unknown.is_active());
    // A question that failed is never an answer: unknown, refused without the allowance.
    let failed = from(CoordinatorAnswer::Failed("timed out".into()));
    assert_eq!(failed, GroupState::Unknown("timed out".into()));
    assert!(failed.check_inactive("g", false).is_err());
}

#[test]
fn a_description_and_the_typed_listing_settle_state_and_type() {
    let listed = |group_type, state| {
        Some(Listed {
            group_type,
            protocol_type: "",
            state,
        })
    };
    let settle_state = |answer, members, l, listing| {
        let (answer, kind) = settle(answer, false, members, l, listing);
        (GroupState::from_answer(answer), kind)
    };
    let unnamed = CoordinatorAnswer::State(None);
    let dead = CoordinatorAnswer::State(Some("Dead".into()));
    // KIP-848's states librdkafka does not name take the listing's name.
    let (state, kind) = settle_state(
        unnamed.clone(),
        1,
        listed("Consumer", "Reconciling"),
        Listing::Complete,
    );
    assert_eq!(
        (state.clone(), kind),
        (GroupState::named("Reconciling"), GroupType::Consumer)
    );
    assert!(state.is_active());
    // Members make it active whatever a stale listing says, and without one.
    for l in [listed("Consumer", "Empty"), None] {
        let (state, _) = settle_state(unnamed.clone(), 2, l, Listing::Complete);
        assert!(state.is_active(), "{state:?}");
        assert!(
            state.check_inactive("g", true).is_err(),
            "never allowed as unknown"
        );
    }
    assert!(matches!(
        settle_state(unnamed.clone(), 0, None, Listing::Complete).0,
        GroupState::Unknown(_)
    ));
    // A share group librdkafka calls Dead is a share group when listed…
    let (state, kind) = settle_state(
        dead.clone(),
        0,
        listed("Share", "Stable"),
        Listing::Incomplete("x"),
    );
    assert_eq!((state, kind), (GroupState::named("Dead"), GroupType::Share));
    // …absent when a complete listing leaves it out…
    let (state, kind) = settle_state(dead.clone(), 0, None, Listing::Complete);
    assert_eq!(
        (state, kind),
        (GroupState::named("Dead"), GroupType::Unknown)
    );
    // …and unknown, refused without the allowance, when the listing is incomplete.
    for answer in [dead, CoordinatorAnswer::NotFound] {
        let (state, kind) = settle_state(answer, 0, None, Listing::Incomplete("TLS listener"));
        assert_eq!(kind, GroupType::Unknown);
        let why = state.check_inactive("g", false).unwrap_err();
        assert!(
            why.contains("share or streams") && why.contains("TLS listener"),
            "{why}"
        );
    }
    // Described groups keep their protocol's type; a named state stays.
    let stable = CoordinatorAnswer::State(Some("Stable".into()));
    assert_eq!(
        settle(stable.clone(), true, 1, None, Listing::Complete),
        (stable.clone(), GroupType::Consumer)
    );
    assert_eq!(
        settle(
            stable.clone(),
            false,
            1,
            listed("Classic", "Empty"),
            Listing::Complete
        ),
        (stable, GroupType::Classic)
    );
}

#[test]
fn group_types_come_from_the_listing_and_only_classic_and_consumer_groups_are_reset() {
    assert_eq!(
        GroupType::from_listing("Classic", "consumer"),
        GroupType::Classic
    );
    assert_eq!(GroupType::from_listing("classic", ""), GroupType::Classic);
    assert_eq!(
        GroupType::from_listing("classic", "connect"),
        GroupType::Connect
    );
    assert_eq!(
        GroupType::from_listing("Consumer", "consumer"),
        GroupType::Consumer
    );
    assert_eq!(GroupType::from_listing("Share", "share"), GroupType::Share);
    assert_eq!(
        GroupType::from_listing("Streams", "streams"),
        GroupType::Streams
    );
    assert_eq!(GroupType::from_listing("", ""), GroupType::Unknown);
    assert_eq!(
        GroupType::from_listing("Mystery", "x"),
        GroupType::Unrecognized
    );
    let status = |kind, state: &str| GroupStatus {
        state: GroupState::named(state),
        kind,
    };
    for kind in [GroupType::Classic, GroupType::Consumer, GroupType::Unknown] {
        assert_eq!(status(kind, "Empty").check_resettable("g", false), Ok(()));
        assert_eq!(status(kind, "Empty").refused("g"), None);
        assert!(status(kind, "Stable")
            .refused("g")
            .unwrap()
            .contains("is Stable"));
    }
    for kind in [
        GroupType::Share,
        GroupType::Streams,
        GroupType::Connect,
        GroupType::Unrecognized,
    ] {
        let empty = status(kind, "Empty");
        let why = empty.check_resettable("q", true).unwrap_err();
        assert!(why.starts_with("group q is "), "{why}");
        assert_eq!(empty.refused("q"), Some(why), "refused even as a dry run");
    }
    assert!(GroupType::Share
        .reset_refusal("q")
        .unwrap()
        .contains("kafka-share-groups.sh"));
}

#[test]
fn the_groups_described_are_the_listing_and_the_configured_or_the_one_asked_for() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        groups_to_describe(&names(&["b", "a"]), &names(&["c", "a"]), None),
        names(&["a", "b", "c"])
    );
    // A group the listing left out is described all the same when asked for.
    assert_eq!(
        groups_to_describe(&names(&["b"]), &[], Some("live")),
        names(&["live"])
    );
    assert_eq!(groups_to_describe(&[], &[], None), Vec::<String>::new());
}

#[test]
fn consumer_protocol_assignments_decode_and_garbage_does_not() {
    let mut bytes = vec![0, 1, 0, 0, 0, 1, 0, 6];
    bytes.extend(b"orders");
    bytes.extend([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
    bytes.extend([0, 0, 0, 0]); // user data
    assert_eq!(
        parse_assignment(&bytes),
        Some(vec![("orders".into(), vec![0, 2])])
    );
    assert_eq!(parse_assignment(&bytes[..10]), None);
    assert_eq!(parse_assignment(&[]), None);
}

#[test]
fn a_group_is_as_far_behind_as_its_furthest_partition_when_all_are_known() {
    let offset = |partition, committed, times| GroupOffset {
        topic: "t".into(),
        partition,
        committed,
        high: 10,
        times,
    };
    let times = Some(LagTimes {
        committed: Some(1_000),
        newest: Some(61_000),
    });
    let group = |offsets| Group {
        name: "g".into(),
        state: GroupState::named("Empty"),
        kind: GroupType::Classic,
        protocol: None,
        members: vec![],
        offsets,
    };
    let caught_up = offset(1, Some(10), None);
    assert_eq!(
        group(vec![offset(0, Some(4), times), caught_up.clone()]).lag_ms(),
        Some(60_000)
    );
    assert_eq!(
        group(vec![offset(0, Some(4), None), caught_up.clone()]).lag_ms(),
        None,
        "a partition behind by an unknown time: not 0"
    );
    assert_eq!(
        group(vec![caught_up, offset(2, None, None)]).lag_ms(),
        Some(0)
    );
    assert_eq!(group(vec![offset(2, None, None)]).lag_ms(), None);
}

#[test]
fn a_lag_history_measures_the_rate_over_its_last_samples() {
    let t0 = std::time::Instant::now();
    let mut h = LagHistory::default();
    let at = |s: u64| t0 + std::time::Duration::from_secs(s);
    assert_eq!(h.rate(), None);
    h.push(LagSample {
        at: at(0),
        lag: 1000,
        consumed: 0,
    });
    assert_eq!(h.rate(), None, "one sample says nothing");
    h.push(LagSample {
        at: at(2),
        lag: 800,
        consumed: 200,
    });
    assert_eq!(h.rate(), Some((100.0, Some(8.0))));
    assert!(!h.growing());
    // Over the last five samples only.
    for (s, lag, consumed) in [(4, 700, 300), (6, 700, 300), (8, 700, 300), (10, 900, 300)] {
        h.push(LagSample {
            at: at(s),
            lag,
            consumed,
        });
    }
    assert_eq!(h.rate(), Some((100.0 / 8.0, Some(900.0 / 12.5))));
    assert!(h.growing(), "800 → 900");
    assert_eq!(h.lags(), vec![1000, 800, 700, 700, 700, 900]);
    for s in 0..200 {
        h.push(LagSample {
            at: at(20 + s),
            lag: 0,
            consumed: 300,
        });
    }
    assert_eq!(h.samples.len(), LagHistory::KEEP);
    assert_eq!(h.rate(), Some((0.0, None)));
}

#[test]
fn catching_up_is_a_rate_and_the_time_left_at_it() {
    assert_eq!(catch_up(100, 300, 2.0, 500), (100.0, Some(5.0)));
    assert_eq!(catch_up(300, 300, 2.0, 500), (0.0, None), "not moving");
    assert_eq!(catch_up(300, 100, 2.0, 500), (0.0, None), "moved back");
    assert_eq!(catch_up(0, 10, 0.0, 5), (0.0, None));
}

#[test]
fn lag_counts_what_the_group_has_not_consumed() {
    let offset = |committed| GroupOffset {
        topic: "t".into(),
        partition: 0,
        committed,
        high: 10,
        times: None,
    };
    assert_eq!(offset(Some(4)).lag(), Some(6));
    assert_eq!(offset(None).lag(), None);
    assert_eq!(offset(Some(12)).lag(), Some(0));
    // In time: newest minus the record at the commit; 0 caught up; unknown without.
    let at = |committed, times| GroupOffset {
        times,
        ..offset(committed)
    };
    let times = |c, n| {
        Some(LagTimes {
            committed: c,
            newest: n,
        })
    };
    assert_eq!(
        at(Some(4), times(Some(1_000), Some(61_000))).lag_ms(),
        Some(60_000)
    );
    assert_eq!(at(Some(10), None).lag_ms(), Some(0));
    assert_eq!(at(None, times(Some(1), Some(2))).lag_ms(), None);
    assert_eq!(at(Some(4), None).lag_ms(), None);
    assert_eq!(at(Some(4), times(None, Some(2))).lag_ms(), None);
    // Clocks out of order: never negative.
    assert_eq!(at(Some(4), times(Some(9), Some(2))).lag_ms(), Some(0));
}
