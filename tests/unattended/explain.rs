//! The operator's explain against a ledger: it answers as the function would
//! from what the ledger holds (a live lease, a case recorded by a failed
//! attempt, an escalation settled for good), and writes nothing.

use escalator_sim::{demo_fixture, FailKind};
use investigation_escalator::operator::{explain, investigation_key, Claim, InvestigationRef};
use serde_json::Value;

use super::{CRITICAL, DETECTOR, LOW};
use crate::common::*;

fn target() -> InvestigationRef {
    InvestigationRef::new(DETECTOR, CRITICAL).expect("demo ids")
}

async fn explained(env: &TestEnv) -> Value {
    let x = explain(&env.app, &target()).await.unwrap_or_else(|e| panic!("explain: {e}"));
    serde_json::to_value(x).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lease_makes_it_pending_as_a_delivery_would_be() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let key = investigation_key(env.app.region(), DETECTOR, CRITICAL);
    let deadline = env.app.clock().now_secs() + 60;
    let Claim::Won(_lease) = env.ledger().claim(&key, "another-request/inv", deadline).await.expect("claim") else {
        panic!("the first claim wins");
    };
    let x = explained(&env).await;
    assert_eq!(x["decision"], "pending", "{x}");
    assert!(x["why"].as_str().unwrap_or_default().starts_with("another-request/inv holds its lease for"), "{x}");
    assert_eq!(x["ledger"]["lease_owner"], "another-request/inv");
    assert_eq!(writes(&env.sim), Writes::none());
    // A dry run takes no lease, so the lease does not hold it back.
    let dry = env.with_config(|c| c.dry_run = true);
    assert_eq!(explained(&dry).await["decision"], "escalate");
    // Once the lease ends, the same investigation is one to escalate.
    dry.advance_past_leases();
    let env = dry.with_config(|c| c.dry_run = false);
    assert_eq!(explained(&env).await["decision"], "escalate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_over_an_escalation_in_progress_is_pending_as_a_delivery_would_be() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    // The low-risk investigation, held by an escalation (say, one started under lower gates).
    let key = investigation_key(env.app.region(), DETECTOR, LOW);
    let Claim::Won(_lease) = env.ledger().claim(&key, "another-request/inv", env.app.clock().now_secs()).await.expect("claim") else {
        panic!("the first claim wins");
    };
    let low = InvestigationRef::new(DETECTOR, LOW).expect("demo ids");
    let x = serde_json::to_value(explain(&env.app, &low).await.expect("explain")).expect("json");
    assert_eq!(x["decision"], "pending", "{x}");
    assert_eq!(x["reason"], "below_threshold");
    assert!(x["notes"].to_string().contains("the skip is not recorded and a delivery answers pending"), "{x}");
    // And so the function answers.
    let delivered = env.outcome(&event("investigation-low")).await;
    assert_eq!(delivered["outcome"], "pending", "{delivered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_recorded_by_a_failed_attempt_is_resumed_with_only_the_missing_links() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    env.sim.faults(|f| f.fail_next("CreateTimelineEvent", 10, FailKind::ServerError));
    assert!(env.run(&event("investigation-critical")).await.is_err(), "the timeline event fails");
    let case_id = env.sim.state(|s| s.cases.keys().next().cloned()).expect("the case was opened");
    let log_before = env.sim.state(|s| s.log.len());

    let x = explained(&env).await;
    assert_eq!(x["decision"], "escalate", "the failed attempt released its lease: {x}");
    assert_eq!(x["ledger"]["state"], "in_progress");
    let writes_planned = x["writes"].as_array().expect("writes");
    assert_eq!(writes_planned[0]["state"], format!("done: the ledger records case {case_id}, and the escalation resumes with it"));
    let operations: Vec<&str> = writes_planned.iter().filter_map(|w| w["operation"].as_str()).collect();
    assert_eq!(operations, ["CreateCase", "CreateTimelineEvent"], "only what is missing: {x}");
    assert!(writes_planned[1]["token"].is_string(), "the case is known, so is the token");
    let notes = x["notes"].to_string();
    assert!(notes.contains("made by an earlier attempt (the ledger says)"), "{notes}");
    let sent: Vec<String> = env.sim.state(|s| s.log[log_before..].iter().map(|e| e.operation.clone()).collect());
    assert!(sent.iter().all(|op| op.starts_with("Get") || op.starts_with("List")), "explain only reads: {sent:?}");

    // The retry makes exactly the write explain named, with its token.
    let token = writes_planned[1]["token"].as_str().expect("token").to_string();
    env.sim.faults(|f| f.fail_next.clear());
    env.outcome(&event("investigation-critical")).await;
    let retried: Vec<(String, Option<String>)> = env.sim.state(|s| {
        s.log[log_before..]
            .iter()
            .filter(|e| e.status < 300 && !e.operation.starts_with("Get") && !e.operation.starts_with("List"))
            .map(|e| (e.operation.clone(), e.client_token.clone()))
            .collect()
    });
    assert_eq!(retried, [("CreateTimelineEvent".to_string(), Some(token))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalated_investigation_is_explained_from_the_ledger_even_when_guardduty_does_not_answer() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    env.outcome(&event("investigation-critical")).await;
    env.sim.faults(|f| f.fail_next("GetInvestigation", 10, FailKind::ServerError));
    let x = explained(&env).await;
    assert_eq!(x["decision"], "already_escalated", "{x}");
    assert!(x["investigation"].is_null());
    assert!(x["notes"].to_string().contains("GuardDuty did not answer for it"), "{x}");
    assert_eq!(x["incidents"][0]["arn"], MATCHING);
    assert!(x["writes"].as_array().is_some_and(Vec::is_empty));
}
