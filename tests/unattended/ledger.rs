//! The ledger: one winner among concurrent claims, leases that expire and keep
//! progress, crash resumption, "once" beyond the token window, and skips.
//! Time is moved on the app's clock; no test waits for a lease to run out.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use escalator_sim::{demo_fixture, FailKind, Moto, OpFaults};
use investigation_escalator::operator::{investigation_key, Claim, Entry, Escalation, Lease};
use investigation_escalator::{AwsError, Clock, Ledger, RiskLevel};

use super::{CRITICAL, DETECTOR, LOW};
use crate::common::*;

/// A ledger on a fresh table whose clock stands at 1,000 s until moved.
/// (The moto server lives as long as the test holds it.)
async fn frozen_ledger(lease_seconds: u32) -> (Moto, Ledger, Clock) {
    let (moto, dynamo) = ledger_table().await;
    let clock = Clock::frozen_at(1_000_000);
    (moto, Ledger::new(dynamo, LEDGER_TABLE, "us-east-1", lease_seconds, clock.clone()), clock)
}

fn won(claim: Result<Claim<'_>, AwsError>) -> Lease<'_> {
    match claim {
        Ok(Claim::Won(lease)) => lease,
        other => panic!("expected to win the claim, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_have_exactly_one_winner() {
    let (_moto, ledger, _clock) = frozen_ledger(120).await;
    let key = investigation_key("us-east-1", DETECTOR, CRITICAL);
    let owners: Vec<String> = (0..16).map(|i| format!("request-{i}")).collect();
    let claims = futures_util::future::join_all(owners.iter().map(|o| ledger.claim(&key, o, 0))).await;
    let won = claims.iter().filter(|c| matches!(c, Ok(Claim::Won(_)))).count();
    let held = claims.iter().filter(|c| matches!(c, Ok(Claim::Held))).count();
    assert_eq!((won, held), (1, 15), "{claims:?}");
}

#[tokio::test]
async fn a_lease_expires_and_the_takeover_keeps_the_progress() {
    let (_moto, l, clock) = frozen_ledger(60).await;
    let key = investigation_key("us-east-1", DETECTOR, CRITICAL);
    let mut a = won(l.claim(&key, "a", 0).await);
    assert_eq!(a.case_id(), None);
    clock.advance(Duration::from_secs(1));
    a.record_case("1000000001").await.expect("recorded");
    clock.advance(Duration::from_secs(9));
    assert_eq!(won(l.claim(&key, "a", 0).await).case_id(), Some("1000000001"), "the holder may claim again");
    clock.advance(Duration::from_secs(49));
    assert!(matches!(l.claim(&key, "b", 0).await, Ok(Claim::Held)), "the lease is still live");
    clock.advance(Duration::from_secs(12));
    let b = won(l.claim(&key, "b", 0).await);
    assert_eq!(b.case_id(), Some("1000000001"), "taken over, progress kept");
    // The old holder has lost the lease: its writes are refused.
    let lost = a.record_case("1000000002").await.expect_err("not the holder");
    assert_eq!(lost.code, "ConditionalCheckFailedException");
    let done = Escalation {
        case_id: "1000000001".into(),
        incidents: vec!["arn:1".into()],
        risk_level: "Critical".into(),
        confidence: "High".into(),
    };
    b.finish(&done).await.expect("finished");
    assert_eq!(l.get(&key).await, Ok(Entry::Escalated(done.clone())));
    clock.advance(Duration::from_secs(9_000));
    assert!(matches!(l.claim(&key, "c", 0).await, Ok(Claim::Done(d)) if d == done));
    let links = l.case_incidents("1000000001").await.expect("read").expect("a case item");
    assert_eq!((links.incidents, links.escalated), (vec!["arn:1".to_string()], true));
}

#[tokio::test]
async fn no_lease_outlives_lambdas_longest_run_whatever_the_deadline() {
    let (_moto, l, clock) = frozen_ledger(60).await;
    let key = investigation_key("us-east-1", DETECTOR, CRITICAL);
    // A deadline a year out (a forged or broken header) must not hold the lease for a year.
    let _held = won(l.claim(&key, "a", 1_000 + 365 * 86_400).await);
    clock.advance(Duration::from_secs(900 + 59));
    assert!(matches!(l.claim(&key, "b", 0).await, Ok(Claim::Held)));
    clock.advance(Duration::from_secs(2));
    assert!(matches!(l.claim(&key, "b", 0).await, Ok(Claim::Won(_))), "15 minutes plus the lease, then it is free");
}

#[tokio::test]
async fn an_item_that_names_a_case_never_expires() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let (l, key) = (env.ledger(), investigation_key("us-east-1", DETECTOR, CRITICAL));
    let mut lease = won(l.claim(&key, "a", 0).await);
    assert!(ttl_of(&env, &key).await.is_some(), "a claim that opened nothing yet expires");
    lease.record_case("1000000001").await.expect("recorded");
    assert_eq!(ttl_of(&env, &key).await, None, "the case is recorded: the item must outlive any replay");
    assert_eq!(ttl_of(&env, "case/us-east-1/1000000001").await, None);
    // A takeover (the lease is released, then claimed by another) keeps it so.
    lease.release().await.expect("released");
    let taken = won(l.claim(&key, "b", 0).await);
    assert_eq!(taken.case_id(), Some("1000000001"));
    assert_eq!(ttl_of(&env, &key).await, None);
}

async fn ttl_of(env: &TestEnv, key: &str) -> Option<String> {
    let dynamo = env.dynamo.as_ref().expect("a ledger");
    let out = dynamo
        .get_item()
        .table_name(LEDGER_TABLE)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(key.into()))
        .send()
        .await
        .expect("GetItem");
    let item = out.item().unwrap_or_else(|| panic!("no item {key}"));
    item.get("ttl").and_then(|v| v.as_n().ok()).cloned()
}

/// Runs `payload` and kills it (drops it mid-way: no release, no cleanup, as a
/// crashed process) as soon as the ledger shows its case recorded under `key`;
/// returns that case. Waits on the ledger, not on the clock.
async fn crash_once_the_case_is_recorded(env: &TestEnv, payload: &serde_json::Value, key: &str) -> String {
    let recorded = async {
        for _ in 0..2_000 {
            if let Ok(Entry::InProgress { case_id: Some(case_id), .. }) = env.ledger().get(key).await {
                return case_id;
            }
            tokio::task::yield_now().await;
        }
        panic!("the case was never recorded");
    };
    tokio::select! {
        case_id = recorded => case_id,
        result = env.run(payload) => panic!("the escalation was meant to hang after CreateCase, but ended: {result:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_create_case_and_the_links_resumes_where_it_stopped() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    // The links hang; the process dies after the case was opened: a crash, no cleanup.
    env.sim.faults(|f| f.set("UpdateRelatedItems", OpFaults { latency_ms: 30_000, ..Default::default() }));
    let key = investigation_key("us-east-1", DETECTOR, CRITICAL);
    let case_id = crash_once_the_case_is_recorded(&env, &event("investigation-critical"), &key).await;
    assert_eq!(env.calls("CreateCase"), 1);

    // A redelivery while the lease is live waits; once it has expired, it takes over.
    env.sim.faults(|f| f.operations.clear());
    assert_eq!(env.outcome(&event("investigation-critical")).await["outcome"], "pending");
    env.advance_past_leases();
    let result = env.outcome(&event("investigation-critical")).await;
    assert_eq!(result["caseId"], case_id.as_str());
    assert_eq!(env.calls("CreateCase"), 1, "resumed with the recorded case, no second CreateCase");
    assert_eq!(writes(&env.sim), Writes::one_linked());
    assert!(matches!(env.ledger().get(&key).await, Ok(Entry::Escalated(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_mid_escalation_releases_the_lease_so_a_redelivery_resumes_at_once() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    env.sim.faults(|f| f.set("UpdateRelatedItems", OpFaults { latency_ms: 30_000, ..Default::default() }));
    // Time enough to open and record the case on a busy machine, not to finish the links.
    let short = env.invocation_with(Duration::from_secs(3));
    let err = investigation_escalator::run(&env.app, &event("investigation-critical"), &short).await.expect_err("cut off");
    assert_eq!(err.kind(), "DeadlineReached");
    assert!(err.to_string().contains(CRITICAL), "{err}");
    let key = investigation_key("us-east-1", DETECTOR, CRITICAL);
    assert!(matches!(env.ledger().get(&key).await, Ok(Entry::InProgress { case_id: Some(_), .. })), "progress kept");
    env.sim.faults(|f| f.operations.clear());
    // No waiting: the released lease is taken at once, with the case it recorded.
    let result = env.outcome(&event("investigation-critical")).await;
    assert_eq!(result["outcome"], "escalated");
    assert_eq!(env.calls("CreateCase"), 1);
    assert_eq!(writes(&env.sim).cases, 1);
}

#[tokio::test]
async fn a_resume_after_the_token_window_makes_only_the_link_writes_that_failed() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    // Both comments (the incident's and the recommended actions) fail through every SDK
    // retry; the related item and the timeline event succeed.
    env.sim.faults(|f| f.fail_next("CreateCaseComment", 6, FailKind::ServerError));
    let err = env.run(&event("investigation-critical")).await.expect_err("the comment fails");
    assert_eq!(err.kind(), "LinkFailed");
    // The redelivery comes after the services forgot every token: only the ledger knows what was done.
    env.sim.expire_tokens();
    let result = env.outcome(&event("investigation-critical")).await;
    assert_eq!(result["outcome"], "escalated");
    assert_eq!(writes(&env.sim), Writes::one_linked(), "no second timeline event, related item or case");
    assert_eq!(env.calls("CreateTimelineEvent"), 1, "the timeline event was not sent again");
    assert_eq!(env.calls("CreateCase"), 1);
}

#[tokio::test]
async fn the_ledger_keeps_once_after_the_token_window() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let first = env.outcome(&event("investigation-critical")).await;
    env.sim.expire_tokens();
    let reads = env.calls("GetInvestigation");
    let again = env.outcome(&event("investigation-critical")).await;
    assert_eq!(again["caseId"], first["caseId"], "the ledger answers with the first escalation");
    assert_eq!(again["incidentRecordArns"], first["incidentRecordArns"]);
    assert_eq!(again["alreadyEscalated"], true);
    assert_eq!(env.calls("GetInvestigation"), reads, "not even read again");
    assert_eq!(writes(&env.sim).cases, 1);
}

#[tokio::test]
async fn without_the_ledger_the_token_window_is_all_there_is() {
    // Why the ledger exists: once the tokens are forgotten, a redelivery opens a second case.
    let env = start(&[]).await;
    env.outcome(&event("investigation-critical")).await;
    env.sim.expire_tokens();
    env.outcome(&event("investigation-critical")).await;
    assert_eq!(writes(&env.sim).cases, 2);
}

#[tokio::test]
async fn skips_are_recorded_gate_skips_are_decided_again_and_failures_are_final() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    assert_eq!(env.outcome(&event("investigation-low")).await["reason"], "below_threshold");
    assert_eq!(env.outcome(&event("investigation-failed")).await["reason"], "investigation_failed");
    let items = ledger_items(&env).await;
    assert_eq!(items.len(), 2, "{items:?}");

    // The same table, a lowered threshold: the low investigation is escalated now.
    let lowered = env.with_threshold(RiskLevel::Low);
    assert_eq!(lowered.outcome(&event("investigation-low")).await["outcome"], "escalated");
    let reads = lowered.calls("GetInvestigation");
    assert_eq!(lowered.outcome(&event("investigation-failed")).await["reason"], "investigation_failed");
    assert_eq!(lowered.calls("GetInvestigation"), reads, "a failed investigation is not read again");
}

#[tokio::test]
async fn a_repeated_skip_writes_nothing() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    env.outcome(&event("investigation-low")).await;
    let before = ledger_items(&env).await;
    env.outcome(&event("investigation-low")).await;
    assert_eq!(ledger_items(&env).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_opened_before_the_gates_were_raised_is_finished_not_orphaned() {
    let env = start_with_ledger(demo_fixture(), &[("RISK_THRESHOLD", "Low")]).await;
    // The low investigation's escalation stops after CreateCase (its search hangs) and the process dies...
    env.sim.faults(|f| f.set("ListIncidentRecords", OpFaults { latency_ms: 30_000, ..Default::default() }));
    let key = investigation_key("us-east-1", DETECTOR, LOW);
    crash_once_the_case_is_recorded(&env, &event("investigation-low"), &key).await;
    assert_eq!(writes(&env.sim).cases, 1);
    env.sim.faults(|f| f.operations.clear());
    env.advance_past_leases();
    // ...then the threshold goes back to High: the open case is finished all the same.
    let raised = env.with_threshold(RiskLevel::High);
    let result = raised.outcome(&event("investigation-low")).await;
    assert_eq!(result["outcome"], "escalated");
    assert_eq!(raised.calls("CreateCase"), 1);
    assert!(matches!(raised.ledger().get(&key).await, Ok(Entry::Escalated(_))));
}

/// A holder that died after `CreateCase` opened the case but before the ledger
/// recorded it leaves a claim with no case. Its takeover, past the token window,
/// looks for the case before opening one: one case, never two.
#[tokio::test]
async fn a_takeover_past_the_token_window_finds_the_case_a_crashed_holder_opened() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    assert_eq!(env.outcome(&event("investigation-critical")).await["outcome"], "escalated");
    // As if the holder had crashed right after CreateCase: the item holds a claim,
    // the record that CreateCase was about to be sent, and no case.
    let key = investigation_key(env.app.region(), DETECTOR, CRITICAL);
    let now = env.app.clock().now_secs();
    env.ledger_client()
        .put_item()
        .table_name(LEDGER_TABLE)
        .item("pk", AttributeValue::S(key))
        .item("state", AttributeValue::S("in_progress".into()))
        .item("lease_owner", AttributeValue::S("crashed/holder".into()))
        .item("lease_expires", AttributeValue::N((now - 1).to_string()))
        .item("create_sent", AttributeValue::Bool(true))
        .send()
        .await
        .expect("the crashed claim");
    env.sim.expire_tokens();
    let again = env.outcome(&event("investigation-critical")).await;
    assert_eq!(again["outcome"], "escalated", "{again}");
    assert_eq!(writes(&env.sim).cases, 1, "the case the crashed holder opened, not a second one");
}

/// A claim that ended before its holder was about to send `CreateCase` (cut off by
/// its deadline, here) opened nothing: once the gates are raised, a skip takes the
/// item over instead of answering `pending` until the item's TTL.
#[tokio::test]
async fn a_skip_takes_over_a_claim_that_opened_nothing() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    // So little time that the escalation stops before CreateCase, releasing its lease.
    let short = env.invocation_with(Duration::from_millis(100));
    let cut = investigation_escalator::run(&env.app, &event("investigation-high"), &short).await;
    assert!(cut.is_err_and(|e| e.kind() == "DeadlineReached"));
    assert_eq!(env.calls("CreateCase"), 0);
    let env = env.with_threshold(RiskLevel::Critical);
    let skipped = env.outcome(&event("investigation-high")).await;
    assert_eq!((skipped["outcome"].as_str(), skipped["reason"].as_str()), (Some("skipped"), Some("below_threshold")), "{skipped}");
    assert_eq!(env.calls("CreateCase"), 0);
}

/// Deadlines are read on the app's one clock: moving it past an escalation's
/// deadline ends the escalation (its lease released), without waiting for the
/// wall clock to get there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_s_deadline_comes_when_the_clock_is_moved_past_it() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    // The incident search hangs for longer than the test would wait.
    env.sim.faults(|f| f.set("ListIncidentRecords", OpFaults { latency_ms: 600_000, ..Default::default() }));
    let (payload, invocation) = (event("investigation-critical"), env.invocation());
    let run = investigation_escalator::run(&env.app, &payload, &invocation);
    let mover = async {
        // Once the escalation is under way (its CreateCase sent), its 60 s pass at once.
        while env.calls("CreateCase") == 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        env.app.clock().advance(Duration::from_secs(61));
    };
    // Bounded far above what it takes, only so that a deadline read on another clock fails here instead of hanging.
    let both = tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(run, mover) }).await;
    let (result, ()) = both.expect("the deadline came with the clock, not 60 s of wall time later");
    assert!(result.is_err_and(|e| e.kind() == "DeadlineReached"));
    let key = investigation_key(env.app.region(), DETECTOR, CRITICAL);
    let entry = env.ledger().get(&key).await.expect("read");
    assert!(matches!(entry, Entry::InProgress { case_id: Some(_), .. }), "the case recorded, the lease released: {entry:?}");
}
