//! Unattended operation: the ledger against an independent DynamoDB (moto's
//! server on loopback), the sweep, the finding trigger and the close-out.

mod common;

use std::time::Duration;

use common::*;
use escalator_sim::{demo_fixture, OpFaults};
use investigation_escalator::handler::{run, Invocation};
use investigation_escalator::ledger::{investigation_key, Claim, Entry, Ledger};
use serde_json::{json, Value};

const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const CRITICAL: &str = "c0ffee00-0000-4000-8000-000000000001";

fn ledger(env: &TestEnv) -> &Ledger {
    env.app.ledger.as_ref().expect("a ledger")
}

async fn outcome(env: &TestEnv, event: &Value) -> Value {
    let o = run(&env.app, event, &invocation()).await.unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(o).expect("json")
}

fn calls(env: &TestEnv, op: &str) -> usize {
    env.sim.state(|s| s.calls(op))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_have_exactly_one_winner() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let key = investigation_key("us-east-1", DETECTOR, CRITICAL);
    let owners: Vec<String> = (0..16).map(|i| format!("request-{i}")).collect();
    let claims = futures_util::future::join_all(owners.iter().map(|o| ledger(&env).claim(&key, o, 1_000, 0))).await;
    let won = claims.iter().filter(|c| matches!(c, Ok(Claim::Won { .. }))).count();
    let held = claims.iter().filter(|c| matches!(c, Ok(Claim::Held))).count();
    assert_eq!((won, held), (1, 15), "{claims:?}");
}

#[tokio::test]
async fn a_lease_expires_and_the_takeover_keeps_the_progress() {
    let env = start_with_ledger(demo_fixture(), &[("LEDGER_LEASE_SECONDS", "60")]).await;
    let (l, key) = (ledger(&env), investigation_key("us-east-1", DETECTOR, CRITICAL));
    assert_eq!(l.claim(&key, "a", 1_000, 0).await, Ok(Claim::Won { case_id: None }));
    l.record_case(&key, "a", "us-east-1", "1000000001", 1_001).await.expect("recorded");
    assert_eq!(l.claim(&key, "a", 1_010, 0).await, Ok(Claim::Won { case_id: Some("1000000001".into()) }), "the holder may claim again");
    assert_eq!(l.claim(&key, "b", 1_059, 0).await, Ok(Claim::Held), "the lease is still live");
    assert_eq!(l.claim(&key, "b", 1_071, 0).await, Ok(Claim::Won { case_id: Some("1000000001".into()) }), "taken over, progress kept");
    // The old holder has lost the lease: its writes are refused.
    let lost = l.record_case(&key, "a", "us-east-1", "1000000002", 1_072).await.expect_err("not the holder");
    assert_eq!(lost.code, "ConditionalCheckFailedException");
    l.finish(&key, "b", "us-east-1", "1000000001", &["arn:1".into()], "Critical", "High", 1_073).await.expect("finished");
    let done = l.get(&key).await.expect("read");
    assert!(matches!(&done, Entry::Escalated { case_id, .. } if case_id == "1000000001"), "{done:?}");
    assert_eq!(l.claim(&key, "c", 9_999, 0).await, Ok(Claim::Done(done)));
    assert_eq!(l.case_incidents("us-east-1", "1000000001").await, Ok(Some(vec!["arn:1".to_string()])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_create_case_and_the_links_resumes_where_it_stopped() {
    let env = start_with_ledger(demo_fixture(), &[("LEDGER_LEASE_SECONDS", "1")]).await;
    // The links hang; the invocation is cut off after the case was opened: a crash, no cleanup.
    env.sim.faults(|f| f.set("UpdateRelatedItems", OpFaults { latency_ms: 5_000, ..Default::default() }));
    // The crashed invocation's own deadline is its budget: its lease cannot outlast it by much.
    let short = Invocation::new("crashed", Duration::from_millis(800));
    let crashed = tokio::time::timeout(Duration::from_millis(800), run(&env.app, &event("investigation-critical"), &short)).await;
    assert!(crashed.is_err(), "the first invocation should have been cut off");
    assert_eq!(calls(&env, "CreateCase"), 1);
    let key = investigation_key("us-east-1", DETECTOR, CRITICAL);
    let Entry::InProgress { case_id: Some(case_id), .. } = ledger(&env).get(&key).await.expect("read") else {
        panic!("the case should be recorded")
    };

    // A redelivery while the lease is live waits; after it expires, it takes over.
    env.sim.faults(|f| f.operations.clear());
    assert_eq!(outcome(&env, &event("investigation-critical")).await["outcome"], "pending");
    // Lease: max(now + 1 s, deadline + 2 s), in whole seconds: over within 4 s.
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    let result = outcome(&env, &event("investigation-critical")).await;
    assert_eq!(result["caseId"], case_id.as_str());
    assert_eq!(calls(&env, "CreateCase"), 1, "resumed with the recorded case, no second CreateCase");
    assert_eq!(writes(&env.sim), Writes { cases: 1, comments: 1, related_items_added: 1, timeline_events: 1, incidents: 4 });
    assert!(matches!(ledger(&env).get(&key).await, Ok(Entry::Escalated { .. })));
}

#[tokio::test]
async fn the_ledger_keeps_once_after_the_token_window() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let first = outcome(&env, &event("investigation-critical")).await;
    env.sim.expire_tokens();
    let reads = calls(&env, "GetInvestigation");
    let again = outcome(&env, &event("investigation-critical")).await;
    assert_eq!(again["caseId"], first["caseId"], "the ledger answers with the first escalation");
    assert_eq!(again["incidentRecordArns"], first["incidentRecordArns"]);
    assert_eq!(again["alreadyEscalated"], true);
    assert_eq!(calls(&env, "GetInvestigation"), reads, "not even read again");
    assert_eq!(writes(&env.sim).cases, 1);
}

#[tokio::test]
async fn without_the_ledger_the_token_window_is_all_there_is() {
    // Why the ledger exists: once the tokens are forgotten, a redelivery opens a second case.
    let env = start(&[]).await;
    outcome(&env, &event("investigation-critical")).await;
    env.sim.expire_tokens();
    outcome(&env, &event("investigation-critical")).await;
    assert_eq!(writes(&env.sim).cases, 2);
}

#[tokio::test]
async fn skips_are_recorded_gate_skips_are_decided_again_and_failures_are_final() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    assert_eq!(outcome(&env, &event("investigation-low")).await["reason"], "below_threshold");
    assert_eq!(outcome(&env, &event("investigation-failed")).await["reason"], "investigation_failed");
    let items = ledger_items(&env).await;
    assert_eq!(items.len(), 2, "{items:?}");

    // The same table, a lowered threshold: the low investigation is escalated now.
    let lowered = with_threshold(env, investigation_escalator::decision::RiskLevel::Low);
    assert_eq!(outcome(&lowered, &event("investigation-low")).await["outcome"], "escalated");
    let reads = calls(&lowered, "GetInvestigation");
    assert_eq!(outcome(&lowered, &event("investigation-failed")).await["reason"], "investigation_failed");
    assert_eq!(calls(&lowered, "GetInvestigation"), reads, "a failed investigation is not read again");
}

#[tokio::test]
async fn a_repeated_skip_writes_nothing() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    outcome(&env, &event("investigation-low")).await;
    let before = ledger_items(&env).await;
    outcome(&env, &event("investigation-low")).await;
    assert_eq!(ledger_items(&env).await, before);
}

/// Sweeps until every one of `finished` investigations is settled (escalated or
/// skipped): one cut off mid-escalation by a deadline keeps its lease a few
/// seconds and counts as pending until a later sweep takes it over.
async fn sweep_until_settled(env: &TestEnv, budget: Duration, finished: u64) -> (usize, Value) {
    for n in 1..=80 {
        let started = std::time::Instant::now();
        let result = outcome_with(env, &event("scheduled-sweep"), Invocation::new(format!("sweep-{n}"), budget)).await;
        assert!(started.elapsed() <= budget, "sweep {n} overran its budget: {:?}", started.elapsed());
        let settled = result["counts"]["escalated"].as_u64().unwrap_or(0) + result["counts"]["skipped"].as_u64().unwrap_or(0);
        if result["complete"] == true && settled == finished {
            return (n, result);
        }
        if result["complete"] == true {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    panic!("the sweep never settled every investigation");
}

async fn outcome_with(env: &TestEnv, event: &Value, invocation: Invocation) -> Value {
    serde_json::to_value(run(&env.app, event, &invocation).await.unwrap_or_else(|e| panic!("{e}"))).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_drains_over_several_short_sweeps_and_a_second_sweep_writes_nothing() {
    let (fixture, worthy) = backlog(120);
    // Short leases: an investigation cut off by a deadline is taken up again within seconds.
    let env = start_with_ledger(fixture, &[("DETECTOR_ID", DETECTOR), ("LEDGER_LEASE_SECONDS", "1")]).await;
    // Budgets this short stop each sweep early: the backlog must drain over several.
    let (invocations, last) = sweep_until_settled(&env, Duration::from_millis(600), 108).await;
    assert!(invocations > 1, "a 600 ms budget should not hold 120 investigations");
    assert_eq!(writes(&env.sim).cases, worthy);
    // Not the tokens' doing: the ledger let each investigation call CreateCase once.
    assert_eq!(calls(&env, "CreateCase"), worthy);
    assert_eq!(last["counts"]["failed"], 0);

    let ledger_before = ledger_items(&env).await;
    let log_before = env.sim.state(|s| s.log.len());
    let full = outcome_with(&env, &event("scheduled-sweep"), Invocation::new("sweep-full", Duration::from_secs(60))).await;
    assert_eq!(full["complete"], true);
    assert_eq!(full["counts"], json!({"escalated": worthy, "skipped": 108 - worthy, "pending": 12, "failed": 0}));
    let writes_after: Vec<String> = env.sim.state(|s| {
        s.log[log_before..]
            .iter()
            .filter(|e| !e.operation.starts_with("Get") && !e.operation.starts_with("List"))
            .map(|e| e.operation.clone())
            .collect()
    });
    assert!(writes_after.is_empty(), "{writes_after:?}");
    assert_eq!(ledger_items(&env).await, ledger_before);
}

#[tokio::test]
async fn the_sweep_needs_a_detector() {
    let env = start(&[]).await;
    let err = run(&env.app, &event("scheduled-sweep"), &invocation()).await.expect_err("no detector");
    assert_eq!(err.kind(), "SweepNotConfigured");
    assert!(err.to_string().contains("DETECTOR_ID"));
}

#[tokio::test]
async fn findings_start_one_investigation_when_enabled_and_severe() {
    let env = start_with_ledger(demo_fixture(), &[("START_INVESTIGATIONS", "true")]).await;
    let before = env.sim.state(|s| s.investigations.len());
    let low = outcome(&env, &event("guardduty-finding-low")).await;
    assert_eq!(low["reason"], "below_min_severity");
    assert_eq!(calls(&env, "CreateInvestigation"), 0);

    let first = outcome(&env, &event("guardduty-finding")).await;
    assert_eq!(first["outcome"], "pending");
    let id = first["investigationId"].as_str().expect("an investigation id").to_string();
    // A second delivery, even after the token window, starts nothing new.
    env.sim.expire_tokens();
    let second = outcome(&env, &event("guardduty-finding")).await;
    assert_eq!(second["investigationId"], id.as_str());
    assert_eq!(env.sim.state(|s| s.investigations.len()), before + 1);
    let prompt = env.sim.state(|s| s.investigations[&format!("{DETECTOR}/{id}")]["triggerPrompt"].clone());
    assert!(prompt.as_str().is_some_and(|p| p.contains("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1")), "{prompt}");
}

#[tokio::test]
async fn findings_without_a_ledger_rely_on_the_token() {
    let env = start(&[("START_INVESTIGATIONS", "true")]).await;
    let first = outcome(&env, &event("guardduty-finding")).await;
    let second = outcome(&env, &event("guardduty-finding")).await;
    assert_eq!(first["investigationId"], second["investigationId"]);
    assert_eq!(env.sim.state(|s| s.investigations.len()), 7);
}

#[tokio::test]
async fn findings_are_off_by_default_and_the_quota_is_not_retried() {
    let off = start(&[]).await;
    assert_eq!(outcome(&off, &event("guardduty-finding")).await["reason"], "start_investigations_off");
    let env = start(&[("START_INVESTIGATIONS", "true")]).await;
    env.sim.state(|s| s.investigation_quota = 0);
    assert_eq!(outcome(&env, &event("guardduty-finding")).await["reason"], "investigation_quota");
    assert_eq!(calls(&env, "CreateInvestigation"), 1, "one call, no retry");
}

#[tokio::test]
async fn a_failed_create_investigation_record_is_skipped() {
    let env = start(&[]).await;
    assert_eq!(
        outcome(&env, &event("cloudtrail-create-investigation-failed")).await,
        json!({"outcome": "skipped", "reason": "create_investigation_failed"})
    );
    assert_eq!(outcome(&env, &event("cloudtrail-create-investigation")).await["outcome"], "pending");
}

/// A case someone opened by hand in the console: not one of ours.
async fn hand_made_case(env: &TestEnv) -> String {
    let ir = aws_sdk_securityir::Client::new(&escalator_sim::sdk_config(&env.sim).await);
    let id = ir
        .create_case()
        .title("Opened by hand")
        .description("d")
        .engagement_type(aws_sdk_securityir::types::EngagementType::Investigation)
        .resolver_type(aws_sdk_securityir::types::ResolverType::SelfValue)
        .reported_incident_start_date(aws_sdk_securityir::primitives::DateTime::from_secs(0))
        .set_impacted_accounts(Some(vec![]))
        .set_watchers(Some(vec![]))
        .send()
        .await
        .expect("case")
        .case_id()
        .to_string();
    id
}

/// The same environment (simulation, ledger), with another risk threshold.
fn with_threshold(env: TestEnv, risk_threshold: investigation_escalator::decision::RiskLevel) -> TestEnv {
    let config = investigation_escalator::config::Config { risk_threshold, ..env.app.config.clone() };
    TestEnv { app: investigation_escalator::App { config, ..env.app.clone() }, ..env }
}

fn closed(case_id: &str) -> Value {
    let mut e = event("case-closed");
    e["detail"]["caseId"] = json!(case_id);
    e
}

async fn close_out_resolves_the_incident_once(env: TestEnv) {
    let case_id = outcome(&env, &event("investigation-critical")).await["caseId"].as_str().expect("case").to_string();
    env.sim.state(|s| escalator_sim::services::security_ir::close_case(s, &case_id, "Investigation Completed"));
    let result = outcome(&env, &closed(&case_id)).await;
    assert_eq!(result, json!({"outcome": "resolved", "caseId": case_id, "incidentRecordArns": [MATCHING]}));
    assert_eq!(env.sim.state(|s| s.incident_records[MATCHING]["status"].clone()), "RESOLVED");
    let events = || env.sim.state(|s| s.timeline_events[MATCHING].len());
    assert_eq!(events(), 2, "the escalation's event and the close-out's");
    // Again: already resolved, nothing written.
    outcome(&env, &closed(&case_id)).await;
    assert_eq!(events(), 2);
    assert_eq!(calls(&env, "UpdateIncidentRecord"), 1);
    // The unrelated open incident was not touched.
    assert_eq!(env.sim.state(|s| s.incident_records[UNRELATED]["status"].clone()), "OPEN");
}

#[tokio::test]
async fn close_out_with_the_ledger() {
    close_out_resolves_the_incident_once(start_with_ledger(demo_fixture(), &[]).await).await;
}

#[tokio::test]
async fn close_out_without_the_ledger_reads_the_case_metadata() {
    close_out_resolves_the_incident_once(start(&[]).await).await;
}

#[tokio::test]
async fn a_case_this_product_did_not_open_is_ignored() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    assert_eq!(outcome(&env, &closed("1234567890")).await, json!({"outcome": "skipped", "reason": "unknown_case", "caseId": "1234567890"}));
    // A case that exists but was opened by someone else: same answer, no write.
    let other = start(&[]).await;
    let id = hand_made_case(&other).await;
    assert_eq!(outcome(&other, &closed(&id)).await["reason"], "unknown_case");
    assert_eq!(calls(&other, "UpdateIncidentRecord"), 0);
}

#[tokio::test]
async fn a_sweep_with_a_failure_finishes_the_others_and_names_it() {
    let (mut fixture, worthy) = backlog(30);
    // Investigation 3 (completed, High) lacks the times a case needs: it fails on its own.
    let broken = "bac4106-0000-4000-8000-000000000003";
    for inv in &mut fixture.investigations {
        if inv["investigationId"] == broken {
            inv.as_object_mut().map(|o| (o.remove("startTime"), o.remove("endTime")));
        }
    }
    let env = start_with_ledger(fixture, &[("DETECTOR_ID", DETECTOR)]).await;
    let err = run(&env.app, &event("scheduled-sweep"), &invocation()).await.expect_err("one investigation fails");
    assert_eq!(err.kind(), "SweepPartlyFailed");
    let text = err.to_string();
    assert!(text.contains("1 investigation(s) failed") && text.contains(broken) && text.contains("startTime"), "{text}");
    // Every other one was finished.
    assert_eq!(writes(&env.sim).cases, worthy - 1);
    // Its lease was released: the next sweep tries it again at once (and names it again).
    let again = run(&env.app, &event("scheduled-sweep"), &invocation()).await.expect_err("still broken");
    assert!(again.to_string().contains(broken));
}

#[tokio::test]
async fn a_case_opened_before_the_gates_were_raised_is_finished_not_orphaned() {
    let env = start_with_ledger(demo_fixture(), &[("RISK_THRESHOLD", "Low"), ("LEDGER_LEASE_SECONDS", "1")]).await;
    // The low investigation's escalation stops after CreateCase (its links hang)...
    env.sim.faults(|f| f.set("ListIncidentRecords", OpFaults { latency_ms: 5_000, ..Default::default() }));
    let short = Invocation::new("crashed", Duration::from_millis(800));
    let _ = tokio::time::timeout(Duration::from_millis(800), run(&env.app, &event("investigation-low"), &short)).await;
    assert_eq!(writes(&env.sim).cases, 1);
    env.sim.faults(|f| f.operations.clear());
    tokio::time::sleep(Duration::from_millis(4_100)).await;
    // ...then the threshold goes back to High: the open case is finished all the same.
    let raised = with_threshold(env, investigation_escalator::decision::RiskLevel::High);
    let result = outcome(&raised, &event("investigation-low")).await;
    assert_eq!(result["outcome"], "escalated");
    assert_eq!(calls(&raised, "CreateCase"), 1);
    let key = investigation_key("us-east-1", DETECTOR, "c0ffee00-0000-4000-8000-000000000003");
    assert!(matches!(ledger(&raised).get(&key).await, Ok(Entry::Escalated { .. })));
}

#[tokio::test]
async fn the_quota_releases_the_finding_so_a_later_delivery_can_start_it() {
    let env = start_with_ledger(demo_fixture(), &[("START_INVESTIGATIONS", "true")]).await;
    env.sim.state(|s| s.investigation_quota = 0);
    assert_eq!(outcome(&env, &event("guardduty-finding")).await["reason"], "investigation_quota");
    env.sim.state(|s| s.investigation_quota = 10);
    let started = outcome(&env, &event("guardduty-finding")).await;
    assert_eq!(started["outcome"], "pending");
    assert!(started["investigationId"].is_string(), "{started}");
}

#[tokio::test]
async fn a_reopened_case_resolves_nothing() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = outcome(&env, &event("investigation-critical")).await["caseId"].as_str().expect("case").to_string();
    // The event arrives for a case that is not closed (reopened since, or a stray event).
    let result = outcome(&env, &closed(&case_id)).await;
    assert_eq!(result["incidentRecordArns"], json!([]));
    assert_eq!(env.sim.state(|s| s.incident_records[MATCHING]["status"].clone()), "OPEN");
    assert_eq!(calls(&env, "UpdateIncidentRecord"), 0);
}

#[tokio::test]
async fn an_incident_another_open_case_links_stays_open_until_that_one_closes() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let first = outcome(&env, &event("investigation-critical")).await["caseId"].as_str().expect("case").to_string();
    // A second investigation names the same incident explicitly.
    let mut e = event("investigation-high");
    e["detail"]["incidentRecordArn"] = json!(MATCHING);
    let second = outcome(&env, &e).await["caseId"].as_str().expect("case").to_string();
    assert_ne!(first, second);
    env.sim.state(|s| escalator_sim::services::security_ir::close_case(s, &first, "Investigation Completed"));
    assert_eq!(outcome(&env, &closed(&first)).await["incidentRecordArns"], json!([]));
    assert_eq!(env.sim.state(|s| s.incident_records[MATCHING]["status"].clone()), "OPEN");
    env.sim.state(|s| escalator_sim::services::security_ir::close_case(s, &second, "Investigation Completed"));
    assert_eq!(outcome(&env, &closed(&second)).await["incidentRecordArns"], json!([MATCHING]));
    assert_eq!(env.sim.state(|s| s.incident_records[MATCHING]["status"].clone()), "RESOLVED");
}

#[tokio::test]
async fn a_hand_made_case_is_unknown_even_with_a_ledger() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let id = hand_made_case(&env).await;
    env.sim.state(|s| escalator_sim::services::security_ir::close_case(s, &id, "Duplicate"));
    assert_eq!(outcome(&env, &closed(&id)).await["reason"], "unknown_case");
    assert_eq!(calls(&env, "GetIncidentRecord"), 0);
}
