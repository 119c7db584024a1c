//! The operator's backfill, on the library's side: its window, a stop that
//! lets the work under way finish (no lease left behind), and a run killed in
//! the middle of escalations that the next runs complete, once each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use escalator_sim::OpFaults;
use investigation_escalator::operator::{backfill, Backfill, BackfillOptions, Progress, Visited};
use investigation_escalator::Outcome;

use super::DETECTOR;
use crate::common::*;

/// A window from `since_s` to `until_s` seconds ago.
fn options(env: &TestEnv, since_s: i64, until_s: i64, run_id: &str) -> BackfillOptions {
    let now = env.app.clock().now_ms();
    BackfillOptions {
        detector_id: DETECTOR.into(),
        since_ms: now - since_s * 1_000,
        until_ms: now - until_s * 1_000,
        concurrency: 4,
        budget: Duration::from_secs(60),
        run_id: run_id.into(),
    }
}

async fn run_to_end(env: &TestEnv, options: &BackfillOptions) -> Backfill {
    backfill(&env.app, options, &AtomicBool::new(false), |_| {}).await.expect("backfill")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_investigations_that_ended_in_the_window_are_visited() {
    let backlog = backlog(30);
    let env = start_with_ledger(backlog.fixture, &[]).await;
    // The backlog's investigation i ended i minutes ago (every tenth is still running).
    // Half-minute edges: no investigation ends near them.
    let report = run_to_end(&env, &options(&env, 20 * 60 + 30, 10 * 60 + 30, "window")).await;
    let mut visited: Vec<usize> =
        report.visited.iter().map(|v| v.investigation_id.rsplit('-').next().and_then(|n| n.parse().ok()).expect("numbered")).collect();
    visited.sort_unstable();
    // 11 to 20 ended in the window, and 20 is running.
    assert_eq!(visited, (11..20).collect::<Vec<_>>(), "{report:?}");
    assert!(report.complete());
    assert_eq!(report.counts.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_lets_the_work_under_way_finish_and_leaves_no_lease_behind() {
    let backlog = backlog(30);
    let env = start_with_ledger(backlog.fixture, &[]).await;
    let options = options(&env, 3_600, 0, "stopped");
    let stop = AtomicBool::new(false);
    let report = backfill(&env.app, &options, &stop, |p| {
        if let Progress::Visited(_) = p {
            stop.store(true, Ordering::SeqCst);
        }
    })
    .await
    .expect("backfill");
    assert!(report.not_started > 0 && !report.complete(), "{report:?}");
    assert_eq!(report.visited.len() + report.not_started, backlog.finished);
    assert!(report.visited.iter().all(|v| v.result.is_ok()), "the ones under way finished: {report:?}");

    // At once, with no clock moved: nothing is held, everything left is done.
    let second = run_to_end(&env, &BackfillOptions { run_id: "second".into(), ..options }).await;
    assert_eq!(second.counts.pending, 0, "no lease left behind: {second:?}");
    assert!(second.complete());
    assert_eq!(writes(&env.sim).cases, backlog.worthy);
    assert_eq!(env.calls("CreateCase"), backlog.worthy, "no investigation's case was asked for twice");
    assert_eq!(settled_in(&env.ledger_client()).await, (backlog.worthy, backlog.finished - backlog.worthy));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_escalation_is_completed_once_after_its_leases_end() {
    let backlog = backlog(30);
    let env = start_with_ledger(backlog.fixture, &[]).await;
    // Slow case creation: when the first investigation is done, others are in the middle.
    env.sim.faults(|f| f.set("CreateCase", OpFaults { latency_ms: 300, ..OpFaults::default() }));
    let options = options(&env, 3_600, 0, "killed");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = AtomicBool::new(false);
    let run = backfill(&env.app, &options, &stop, |p| {
        // The first case opened: the runs started after it are in the middle of theirs.
        if let Progress::Visited(Visited { result: Ok(Outcome::Escalated { .. }), investigation_id, .. }) = p {
            let _ = tx.send(investigation_id.clone());
        }
    });
    // Killed: the run is dropped, mid-flight, as a process killed with SIGKILL would be.
    tokio::select! {
        report = run => panic!("the run finished before it could be killed: {report:?}"),
        first = rx.recv() => assert!(first.is_some()),
    }
    env.sim.faults(|f| f.set("CreateCase", OpFaults::default()));

    // While the killed run's leases last, its investigations are pending, never escalated twice.
    // (Each run is its own lease owner, as the command line's runs are.)
    let meanwhile = run_to_end(&env, &BackfillOptions { run_id: "meanwhile".into(), ..options.clone() }).await;
    assert!(meanwhile.counts.pending > 0, "the killed run held leases: {meanwhile:?}");
    assert_eq!(meanwhile.counts.failed, 0, "{meanwhile:?}");

    // Once they end (the clock is moved, not waited for), the next run resumes each one.
    env.advance_past_leases();
    let last = run_to_end(&env, &BackfillOptions { run_id: "last".into(), ..options }).await;
    assert_eq!((last.counts.pending, last.counts.failed), (0, 0), "{last:?}");
    assert_eq!(writes(&env.sim).cases, backlog.worthy, "one case per investigation worth one");
    assert_eq!(settled_in(&env.ledger_client()).await, (backlog.worthy, backlog.finished - backlog.worthy));
    env.sim.state(|s| {
        for (case, comments) in &s.comments {
            let bodies: std::collections::BTreeSet<String> = comments.iter().map(|c| c["body"].to_string()).collect();
            assert_eq!(bodies.len(), comments.len(), "case {case} has a comment twice");
        }
    });
}

/// A case opened before the ledger knew of it (a run without a ledger, say), and
/// the services past their token window: the backfill looks for each
/// investigation's case before `CreateCase`, and opens no second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_past_the_token_window_finds_cases_opened_before_the_ledger() {
    let backlog = backlog(20);
    let env = start_with_ledger(backlog.fixture, &[]).await;
    // The backlog's fifth, Critical and completed, escalated by a function with no ledger.
    let early = serde_json::json!({"detectorId": DETECTOR, "investigationId": "bac4106-0000-4000-8000-000000000004"});
    let no_ledger = env.app.clone().without_ledger();
    let done = investigation_escalator::run(&no_ledger, &early, &env.invocation()).await.expect("escalated");
    assert!(matches!(done, Outcome::Escalated { .. }), "{done:?}");
    env.sim.expire_tokens();
    let report = run_to_end(&env, &options(&env, 60 * 60, 0, "after-the-window")).await;
    assert_eq!(report.counts.failed, 0, "{:?}", report.counts);
    assert_eq!(writes(&env.sim).cases, backlog.worthy, "one case per worthy investigation, the early one's found, not opened again");
}
