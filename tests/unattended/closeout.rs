//! Close-out: a closed case resolves the incidents it links, once; a case this
//! product did not open, a reopened case, and an incident another open case
//! still links are left alone.

use escalator_sim::demo_fixture;
use escalator_sim::services::security_ir::close_case;
use serde_json::{json, Value};

use crate::common::*;

/// A case someone opened by hand in the console: not one of ours.
async fn hand_made_case(env: &TestEnv) -> String {
    case_by_hand(&env.sim, "Opened by hand", None).await
}

fn closed(case_id: &str) -> Value {
    let mut e = event("case-closed");
    e["detail"]["caseId"] = json!(case_id);
    e
}

/// Escalates the critical investigation and returns its case.
async fn escalated_case(env: &TestEnv) -> String {
    env.outcome(&event("investigation-critical")).await["caseId"].as_str().expect("case").to_string()
}

fn status(env: &TestEnv, arn: &str) -> Value {
    env.sim.state(|s| s.incident_records[arn]["status"].clone())
}

async fn close_out_resolves_the_incident_once(env: TestEnv) {
    let case_id = escalated_case(&env).await;
    env.sim.state(|s| close_case(s, &case_id, "Investigation Completed"));
    let result = env.outcome(&closed(&case_id)).await;
    assert_eq!(result, json!({"outcome": "resolved", "caseId": case_id, "incidentRecordArns": [MATCHING]}));
    assert_eq!(status(&env, MATCHING), "RESOLVED");
    let events = || env.sim.state(|s| s.timeline_events[MATCHING].len());
    assert_eq!(events(), 2, "the escalation's event and the close-out's");
    // Again: already resolved, nothing written.
    env.outcome(&closed(&case_id)).await;
    assert_eq!(events(), 2);
    assert_eq!(env.calls("UpdateIncidentRecord"), 1);
    // The unrelated open incident was not touched.
    assert_eq!(status(&env, UNRELATED), "OPEN");
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
    assert_eq!(env.outcome(&closed("1234567890")).await, json!({"outcome": "skipped", "reason": "unknown_case", "caseId": "1234567890"}));
    // A case that exists but was opened by someone else: same answer, no write.
    let other = start(&[]).await;
    let id = hand_made_case(&other).await;
    assert_eq!(other.outcome(&closed(&id)).await["reason"], "unknown_case");
    assert_eq!(other.calls("UpdateIncidentRecord"), 0);
}

#[tokio::test]
async fn a_reopened_case_resolves_nothing() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    // The event arrives for a case that is not closed (reopened since, or a stray event).
    let result = env.outcome(&closed(&case_id)).await;
    assert_eq!(result["incidentRecordArns"], json!([]));
    assert_eq!(status(&env, MATCHING), "OPEN");
    assert_eq!(env.calls("UpdateIncidentRecord"), 0);
}

#[tokio::test]
async fn an_incident_another_open_case_links_stays_open_until_that_one_closes() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let first = escalated_case(&env).await;
    // A second investigation names the same incident explicitly (a direct invoke, whose
    // caller vouches for the record).
    let mut e = event("investigation-high")["detail"].clone();
    e["incidentRecordArn"] = json!(MATCHING);
    let second = env.outcome(&e).await["caseId"].as_str().expect("case").to_string();
    assert_ne!(first, second);
    env.sim.state(|s| close_case(s, &first, "Investigation Completed"));
    assert_eq!(env.outcome(&closed(&first)).await["incidentRecordArns"], json!([]));
    assert_eq!(status(&env, MATCHING), "OPEN");
    env.sim.state(|s| close_case(s, &second, "Investigation Completed"));
    assert_eq!(env.outcome(&closed(&second)).await["incidentRecordArns"], json!([MATCHING]));
    assert_eq!(status(&env, MATCHING), "RESOLVED");
}

#[tokio::test]
async fn a_hand_made_case_is_unknown_even_with_a_ledger() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let id = hand_made_case(&env).await;
    env.sim.state(|s| close_case(s, &id, "Duplicate"));
    assert_eq!(env.outcome(&closed(&id)).await["reason"], "unknown_case");
    assert_eq!(env.calls("GetIncidentRecord"), 0);
}

/// A case someone opened by hand and then gave metadata naming an open incident
/// that this product never linked to it: closing it must resolve nothing.
async fn forged_case(env: &TestEnv) -> String {
    let id = hand_made_case(env).await;
    // The person's own credentials: the function's role may not write to a case it did not open.
    let ir = aws_sdk_securityir::Client::new(&escalator_sim::operator_sdk_config(&env.sim).await);
    let entry = aws_sdk_securityir::types::CaseMetadataEntry::builder()
        .key("ssm-incidents:incident-record-arn")
        .value(MATCHING)
        .build()
        .expect("entry");
    ir.update_case().case_id(&id).case_metadata(entry).send().await.expect("metadata");
    env.sim.state(|s| close_case(s, &id, "Investigation Completed"));
    id
}

#[tokio::test]
async fn a_forged_close_out_resolves_nothing_with_the_ledger() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let id = forged_case(&env).await;
    // The ledger never recorded this case: its metadata is read (it may be another
    // Region's stack's case), and alone it is not trusted: the incident does not
    // link back to this case, so nothing is resolved.
    let result = env.outcome(&closed(&id)).await;
    assert_eq!(result, json!({"outcome": "resolved", "caseId": id, "incidentRecordArns": []}));
    assert_eq!(status(&env, MATCHING), "OPEN");
    assert_eq!(env.calls("UpdateIncidentRecord") + env.calls("CreateTimelineEvent"), 0);
}

#[tokio::test]
async fn a_forged_close_out_resolves_nothing_without_the_ledger() {
    let env = start(&[]).await;
    let id = forged_case(&env).await;
    // Metadata names the incident, but the incident does not link back to this case.
    let result = env.outcome(&closed(&id)).await;
    assert_eq!(result, json!({"outcome": "resolved", "caseId": id, "incidentRecordArns": []}));
    assert_eq!(status(&env, MATCHING), "OPEN");
    assert_eq!(env.calls("UpdateIncidentRecord") + env.calls("CreateTimelineEvent"), 0);
}

/// Closed, resolved, both reopened, closed again: the second closure is a closure
/// of its own, with tokens of its own, and resolves the incident again (with the
/// first closure's tokens the services would replay their first answers and
/// leave it open while the result said resolved).
#[tokio::test]
async fn a_case_closed_again_after_a_reopening_resolves_its_incident_again() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    env.sim.state(|s| close_case(s, &case_id, "Investigation Completed"));
    env.outcome(&closed(&case_id)).await;
    assert_eq!(status(&env, MATCHING), "RESOLVED");
    // Both reopened by people, then the case closed again later.
    env.sim.state(|s| {
        if let Some(r) = s.incident_records.get_mut(MATCHING) {
            r["status"] = json!("OPEN");
        }
        if let Some(c) = s.cases.get_mut(&case_id) {
            c["caseStatus"] = json!("Detection and Analysis");
        }
    });
    env.sim.state(|s| {
        close_case(s, &case_id, "Investigation Completed");
        if let Some(c) = s.cases.get_mut(&case_id) {
            c["closedDate"] = json!(c["closedDate"].as_f64().unwrap_or_default() + 3600.0);
        }
    });
    let mut again = closed(&case_id);
    again["time"] = json!("2026-11-21T16:45:10Z");
    let result = env.outcome(&again).await;
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]), "{result}");
    assert_eq!(status(&env, MATCHING), "RESOLVED", "resolved again, not a replayed answer");
    assert_eq!(env.calls("UpdateIncidentRecord"), 2);
    assert_eq!(env.sim.state(|s| s.timeline_events[MATCHING].len()), 3, "the escalation's event and one per closure");
}

/// A case the ledger does not know (opened by another Region's stack, whose case
/// items are keyed by its Region) is judged by its metadata, held to the same
/// back-link check: its incidents are resolved instead of `unknown_case`.
#[tokio::test]
async fn with_a_ledger_a_case_it_does_not_know_falls_back_to_the_case_metadata() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    let key = investigation_escalator::operator::case_key(env.app.region(), &case_id);
    env.ledger_client()
        .delete_item()
        .table_name(LEDGER_TABLE)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(key))
        .send()
        .await
        .expect("the other stack's ledger holds it");
    env.sim.state(|s| close_case(s, &case_id, "Investigation Completed"));
    let result = env.outcome(&closed(&case_id)).await;
    assert_eq!(result, json!({"outcome": "resolved", "caseId": case_id, "incidentRecordArns": [MATCHING]}));
    assert_eq!(status(&env, MATCHING), "RESOLVED");
}

/// A case closed while its escalation is still linking (the links failing for
/// now): the close-out fails, so it is retried, instead of answering `resolved []`
/// for good; once the escalation is finished the retry resolves the incident.
#[tokio::test]
async fn a_case_closed_before_its_links_are_made_is_closed_out_once_they_are() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    env.sim.faults(|f| f.fail_next("UpdateRelatedItems", 3, escalator_sim::FailKind::ServerError));
    let failed = env.run(&event("investigation-critical")).await.expect_err("a link failed");
    let case_id = env.sim.state(|s| s.cases.keys().next().cloned()).expect("the case was opened");
    assert!(failed.to_string().contains(&case_id), "{failed}");
    let found =
        ledger_items(&env).await.into_iter().filter(|i| i.contains(&format!("pk=S(\"case/us-east-1/{case_id}\")"))).collect::<Vec<_>>();
    assert!(found.iter().any(|i| i.contains(MATCHING)), "the incident found is recorded before it is linked: {found:?}");
    env.sim.state(|s| close_case(s, &case_id, "Investigation Completed"));
    let early = env.run(&closed(&case_id)).await.expect_err("retried later");
    assert_eq!(early.kind(), "EscalationInProgress", "{early}");
    assert_eq!(status(&env, MATCHING), "OPEN");
    // The escalation's redelivery finishes the links; the close-out's retry resolves.
    env.advance_past_leases();
    env.outcome(&event("investigation-critical")).await;
    let result = env.outcome(&closed(&case_id)).await;
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]), "{result}");
    assert_eq!(status(&env, MATCHING), "RESOLVED");
}

#[tokio::test]
async fn only_an_exact_link_to_an_open_case_keeps_the_incident_open() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    // A responder (or anyone able to edit related items) adds links that look like cases.
    let url = |id: &str| format!("https://us-east-1.console.aws.amazon.com/security-ir/home?region=us-east-1#/cases/{id}");
    let links = [
        // The console path on another host: not a case.
        "https://evil.example/console.aws.amazon.com/security-ir/home?region=us-east-1#/cases/5555555555".to_string(),
        // A case link of the right shape whose case does not exist: read as closed.
        url("9999999999"),
        // A digit run too short to be a case id.
        url("123"),
    ];
    env.sim.state(|s| {
        let items = s.related_items.get_mut(MATCHING).expect("linked");
        for (n, link) in links.iter().enumerate() {
            items.push(json!({"identifier": {"type": "OTHER", "value": {"url": link}}, "title": format!("link {n}")}));
        }
    });
    env.sim.state(|s| close_case(s, &case_id, "Investigation Completed"));
    let result = env.outcome(&closed(&case_id)).await;
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]), "{result}");
    assert_eq!(status(&env, MATCHING), "RESOLVED");
}
