//! The scheduled sweep: a backlog drains over short invocations, a second
//! sweep writes nothing, a failure is named without stopping the others.

use std::time::Duration;

use investigation_escalator::RiskLevel;

use super::DETECTOR;
use crate::common::*;

/// Sweeps in invocations of `budget` until a sweep visits everything left and
/// leaves nothing pending but the running investigations. One that a sweep
/// could not take (another holds its lease) counts as pending: the clock is
/// moved past the lease instead of waiting for it. Returns how many sweeps it took.
async fn sweep_until_settled(env: &TestEnv, budget: Duration, running: usize) -> usize {
    for n in 1..=80 {
        let result = investigation_escalator::run(&env.app, &event("scheduled-sweep"), &env.invocation_with(budget)).await;
        let result = serde_json::to_value(result.unwrap_or_else(|e| panic!("sweep {n}: {e}"))).expect("json");
        assert_eq!(result["counts"]["failed"], 0, "{result}");
        if result["complete"] == true && result["counts"]["pending"] == running {
            return n;
        }
        if result["complete"] == true {
            env.advance_past_leases();
        }
    }
    panic!("the sweep never settled every investigation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_drains_over_several_short_sweeps_and_a_second_sweep_writes_nothing() {
    let backlog = backlog(120);
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR)]).await;
    // Budgets this short stop each sweep early: the backlog must drain over several,
    // each taking up where the last one stopped.
    let invocations = sweep_until_settled(&env, Duration::from_millis(600), backlog.running).await;
    assert!(invocations > 1, "a 600 ms budget should not hold 120 investigations");
    assert_eq!(
        settled_in(&env.ledger_client()).await,
        (backlog.worthy, backlog.finished - backlog.worthy),
        "every finished investigation settled"
    );
    assert_eq!(writes(&env.sim).cases, backlog.worthy);
    // Not the tokens' doing: the ledger let each investigation call CreateCase once.
    assert_eq!(env.calls("CreateCase"), backlog.worthy);

    // Once settled, a sweep reads only the latest few minutes again, and writes nothing.
    let investigations_before: Vec<String> = ledger_items(&env).await.into_iter().filter(|i| !i.contains("sweep/")).collect();
    let log_before = env.sim.state(|s| s.log.len());
    let full = env.outcome(&event("scheduled-sweep")).await;
    assert_eq!(full["complete"], true);
    assert_eq!(full["counts"]["pending"], backlog.running);
    let ops: Vec<String> = env.sim.state(|s| s.log[log_before..].iter().map(|e| e.operation.clone()).collect());
    assert!(ops.iter().all(|op| op == "ListInvestigations" || op == "GetInvestigation"), "{ops:?}");
    let reads = ops.iter().filter(|op| *op == "GetInvestigation").count();
    assert!(reads <= 5, "only what ended in the last five minutes is read again, not all {}: {ops:?}", backlog.finished);
    let investigations_after: Vec<String> = ledger_items(&env).await.into_iter().filter(|i| !i.contains("sweep/")).collect();
    assert_eq!(investigations_after, investigations_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_ledger_still_drains_a_backlog_in_a_bounded_number_of_sweeps() {
    let backlog = backlog(60);
    // Every ledger call takes 25 ms more: each one-second sweep settles only a few, and
    // each must take up where the last stopped, or the tail is never reached.
    let env = start_with_slow_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR)], 25).await;
    let sweeps = sweep_until_settled(&env, Duration::from_secs(1), backlog.running).await;
    assert!(sweeps <= 30, "{sweeps} sweeps for {} investigations", backlog.finished);
    assert_eq!(settled_in(&env.ledger_client()).await, (backlog.worthy, backlog.finished - backlog.worthy));
    assert_eq!(writes(&env.sim).cases, backlog.worthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_threshold_makes_the_sweep_decide_old_skips_again() {
    let backlog = backlog(30);
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR)]).await;
    env.outcome(&event("scheduled-sweep")).await;
    assert_eq!(writes(&env.sim).cases, backlog.worthy);
    // The mark holds for the gates it was made under: a lower threshold visits everything again.
    let lowered = env.with_threshold(RiskLevel::Medium);
    let swept = lowered.outcome(&event("scheduled-sweep")).await;
    assert_eq!(swept["complete"], true);
    let medium =
        lowered.sim.state(|s| s.investigations.values().filter(|i| i["status"] == "COMPLETED" && i["riskLevel"] == "Medium").count());
    assert!(medium > 0);
    assert_eq!(writes(&lowered.sim).cases, backlog.worthy + medium);
}

#[tokio::test]
async fn the_sweep_needs_a_detector() {
    let env = start(&[]).await;
    let err = env.run(&event("scheduled-sweep")).await.expect_err("no detector");
    assert_eq!(err.kind(), "SweepNotConfigured");
    assert!(err.to_string().contains("DETECTOR_ID"));
}

#[tokio::test]
async fn a_sweep_with_a_failure_finishes_the_others_names_it_and_succeeds() {
    let backlog = backlog(30);
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR)]).await;
    // The GetInvestigation of one (worthy) investigation always fails: it fails, every time.
    let broken = "bac4106-0000-4000-8000-000000000003";
    env.sim.faults(|f| f.fail_when("GetInvestigation", broken, escalator_sim::FailKind::ServerError));
    let swept = env.outcome(&event("scheduled-sweep")).await;
    assert_eq!(swept["outcome"], "swept", "a failure does not fail the sweep: {swept}");
    assert_eq!(swept["counts"]["failed"], 1, "{swept}");
    let failures = swept["failures"].as_array().expect("named");
    assert_eq!(failures.len(), 1, "{swept}");
    assert!(failures[0].as_str().is_some_and(|f| f.contains("GetInvestigation") && f.contains(broken)), "{swept}");
    // Every other one was finished.
    assert_eq!(writes(&env.sim).cases, backlog.worthy - 1);
    // The next sweep tries it again, and succeeds as a sweep again: the failure is
    // counted (and alarmed) each time, never a failed invocation.
    let again = env.outcome(&event("scheduled-sweep")).await;
    assert_eq!((again["outcome"].as_str(), again["counts"]["failed"].as_u64()), (Some("swept"), Some(1)), "{again}");
    // A direct delivery of it still returns the error (Lambda retries it, the DLQ keeps it).
    let direct = env.run(&serde_json::json!({"detectorId": DETECTOR, "investigationId": broken})).await;
    assert!(direct.is_err_and(|e| e.to_string().contains("GetInvestigation")));
}

/// An investigation completed with no start or end time can never be escalated
/// as it stands: a final skip of its own, so it fails no sweep and holds no mark back.
#[tokio::test]
async fn an_investigation_that_can_never_be_escalated_is_a_final_skip_not_a_failing_sweep() {
    let mut backlog = backlog(30);
    let broken = "bac4106-0000-4000-8000-000000000003";
    for inv in &mut backlog.fixture.investigations {
        if inv["investigationId"] == broken {
            inv.as_object_mut().map(|o| (o.remove("startTime"), o.remove("endTime")));
        }
    }
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR)]).await;
    for n in 1..=2 {
        let swept = env.outcome(&event("scheduled-sweep")).await;
        assert_eq!((swept["outcome"].as_str(), swept["counts"]["failed"].as_u64()), (Some("swept"), Some(0)), "sweep {n}: {swept}");
    }
    let direct = env.outcome(&serde_json::json!({"detectorId": DETECTOR, "investigationId": broken})).await;
    assert_eq!((direct["outcome"].as_str(), direct["reason"].as_str()), (Some("skipped"), Some("incomplete_investigation")), "{direct}");
    assert_eq!(writes(&env.sim).cases, backlog.worthy - 1);
}

/// A detector configured in upper case is the same detector an event names in
/// lower case: the sweep finds the event's escalation in the ledger and opens
/// no second case for it (one investigation, two spellings, two tokens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detector_configured_in_upper_case_opens_no_second_case() {
    let backlog = backlog(20);
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", &DETECTOR.to_ascii_uppercase())]).await;
    // The backlog's fifth investigation is a completed Critical one.
    let critical = "bac4106-0000-4000-8000-000000000004";
    let delivered = env.outcome(&serde_json::json!({"detectorId": DETECTOR, "investigationId": critical})).await;
    assert_eq!(delivered["outcome"], "escalated", "{delivered}");
    let swept = env.outcome(&event("scheduled-sweep")).await;
    assert_eq!((swept["complete"].as_bool(), &swept["counts"]["failed"]), (Some(true), &serde_json::json!(0)), "{swept}");
    let titled = env.sim.state(|s| s.cases.values().filter(|c| c["title"].as_str().is_some_and(|t| t.contains(critical))).count());
    assert_eq!(titled, 1, "one case for it, whichever spelling reached it");
    assert_eq!(writes(&env.sim).cases, backlog.worthy, "one case per worthy investigation: {swept}");
    let keys = ledger_items(&env).await.into_iter().filter(|i| i.contains(critical) && i.contains("pk=S(\"investigation/")).count();
    assert_eq!(keys, 1, "one ledger item for it");
}

/// An investigation that stays unsettled for longer than the lookback is never
/// dropped: the mark stays before it, and the sweep lists back to the mark, so
/// it is escalated once it can be (before: it aged out of the window, the mark
/// moved past it, and nothing anywhere still knew of it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_investigation_unsettled_past_the_lookback_is_still_escalated() {
    let backlog = backlog(10);
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR), ("SWEEP_LOOKBACK_HOURS", "1")]).await;
    // The backlog's fourth (High, ended 3 minutes ago) fails for now.
    let stuck = "bac4106-0000-4000-8000-000000000003";
    env.sim.faults(|f| f.fail_when("GetInvestigation", stuck, escalator_sim::FailKind::ServerError));
    let first = env.outcome(&event("scheduled-sweep")).await;
    assert_eq!(first["counts"]["failed"], 1, "{first}");
    // Two hours later it is far outside the one-hour lookback, and can be escalated.
    env.app.clock().advance(Duration::from_secs(2 * 3600));
    env.sim.faults(|f| f.fail_matching.clear());
    let later = env.outcome(&event("scheduled-sweep")).await;
    assert_eq!(later["counts"]["failed"], 0, "{later}");
    let cased = env.sim.state(|s| s.cases.values().filter(|c| c["title"].as_str().is_some_and(|t| t.contains(stuck))).count());
    assert_eq!(cased, 1, "escalated once it could be: {later}");
}

/// The sweep never drops an escalation that may be between `CreateCase` and the
/// ledger's record of the case (before: a backstop cut every chunk off at the
/// deadline, leased or not). Here `CreateCase` answers after the sweep's budget:
/// each case is still recorded, so a later sweep past the token window resumes
/// with it instead of opening a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_never_cuts_an_escalation_between_create_case_and_its_record() {
    let backlog = backlog(10);
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR)]).await;
    env.sim.faults(|f| f.set("CreateCase", escalator_sim::OpFaults { latency_ms: 1_500, ..Default::default() }));
    let first = investigation_escalator::run(&env.app, &event("scheduled-sweep"), &env.invocation_with(Duration::from_millis(1_000))).await;
    let first = serde_json::to_value(first.expect("the sweep answers")).expect("json");
    assert_eq!(first["complete"], false, "{first}");
    // Let the simulation answer whatever a dropped future would have left in flight.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let opened = writes(&env.sim).cases;
    assert!(opened >= 1, "some CreateCase was answered: {first}");
    env.sim.faults(|f| f.set("CreateCase", escalator_sim::OpFaults::default()));
    env.sim.expire_tokens();
    env.advance_past_leases();
    let later = env.outcome(&event("scheduled-sweep")).await;
    assert_eq!(later["counts"]["failed"], 0, "{later}");
    assert_eq!(writes(&env.sim).cases, backlog.worthy, "one case per worthy investigation, none opened twice: {later}");
}

/// More finished investigations in the window than 1,000 (twenty pages, the old
/// cap; a delegated administrator lists every member's): the listing still
/// reaches the oldest, so the backlog drains and the mark rises (before: the
/// oldest were never listed, the listing was never whole, the mark never moved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_larger_than_twenty_pages_is_drained_to_its_oldest() {
    let backlog = backlog(1_060);
    let env = start_with_ledger(backlog.fixture, &[("DETECTOR_ID", DETECTOR)]).await;
    let sweeps = sweep_until_settled(&env, Duration::from_secs(60), backlog.running).await;
    assert!(sweeps <= 3, "{sweeps} sweeps");
    assert_eq!(writes(&env.sim).cases, backlog.worthy, "every worthy investigation, the oldest included");
    assert_eq!(settled_in(&env.ledger_client()).await, (backlog.worthy, backlog.finished - backlog.worthy));
}
