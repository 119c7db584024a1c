//! Keeping a case and its incidents in step (docs/design.md §14), through the
//! real SDK clients against the simulation, with the ledger on moto: the
//! case's status moves and responders' comments reach the linked incident's
//! timeline, an incident resolved elsewhere is told on the case, each once
//! however the events are redelivered or raced, and nothing this product
//! writes comes back to it.

use escalator_sim::demo_fixture;
use escalator_sim::events::{case_event, update_incident_record};
use escalator_sim::services::security_ir::close_case;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::common::*;

const FUNCTION_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/investigation-escalator-role/investigation-escalator";
const RESPONDER_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/IncidentCommander/oncall";

async fn escalated_case(env: &TestEnv) -> String {
    env.outcome(&event("investigation-critical")).await["caseId"].as_str().expect("case").to_string()
}

fn updated(case_id: &str) -> Value {
    case_event("Case Updated", case_id, Some("AWS Responder"), "123456789012", "us-east-1", "2026-11-20T12:05:41Z")
}

fn commented(case_id: &str) -> Value {
    case_event("Case Comment Added", case_id, Some("123456789012"), "123456789012", "us-east-1", "2026-11-20T12:21:07Z")
}

fn resolved(arn: &str, by: &str) -> Value {
    update_incident_record(arn, "RESOLVED", by, "123456789012", "us-east-1", "2026-11-20T15:02:33Z")
}

/// Delivers `e` four times at once: each transition, comment or resolution still counts once.
async fn race(env: &TestEnv, e: &Value) {
    for result in join_all((0..4).map(|_| env.run(e))).await {
        result.unwrap_or_else(|err| panic!("{e}: {err}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_status_transition_reaches_the_incident_once() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    let before = timeline(&env.sim, MATCHING).len();
    // The product's own UpdateCase made a Case Updated: the status did not move.
    assert_eq!(env.outcome(&updated(&case_id)).await["reason"], "status_unchanged");
    let moves = [
        "Detection and Analysis",
        "Containment, Eradication and Recovery",
        "Detection and Analysis",
        "Containment, Eradication and Recovery",
    ];
    let mut from = "Submitted";
    for (n, to) in moves.into_iter().enumerate() {
        move_case(&env.sim, &case_id, to).await;
        let result = env.outcome(&updated(&case_id)).await;
        assert_eq!(
            result,
            json!({"outcome": "synced", "caseId": case_id, "incidentRecordArns": [MATCHING], "timelineEvents": 1, "comments": 0})
        );
        // Redelivered, and raced: the transition is written once.
        assert_eq!(env.outcome(&updated(&case_id)).await["reason"], "status_unchanged");
        race(&env, &updated(&case_id)).await;
        let events = timeline(&env.sim, MATCHING);
        assert_eq!(events.len(), before + n + 1, "A→B→A→B is one event per transition: {events:#?}");
        let last = events.last().expect("an event");
        assert!(last.starts_with(&format!("AWS Security Incident Response case {case_id} moved from {from} to {to}.")), "{last}");
        from = to;
    }
    // The unrelated incident heard nothing, and nothing was written to the case.
    assert_eq!(timeline(&env.sim, UNRELATED).len(), 0);
    assert_eq!(env.calls("CreateCaseComment"), 2, "the escalation's two comments only");
    let record = env.ledger().record(&investigation_escalator::operator::case_key("us-east-1", &case_id)).await.expect("read");
    let record = record.expect("the case item");
    assert_eq!((record.mirrored_status.as_deref(), record.mirrored_transitions), (Some(from), Some(4)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responders_comment_is_mirrored_once_and_the_products_own_never() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    let before = timeline(&env.sim, MATCHING).len();
    // The escalation's own comments (the incident link, the recommendations) fire the event too.
    assert_eq!(env.outcome(&commented(&case_id)).await["reason"], "no_new_comments");
    // A long comment, with a hidden character and a line that would pass for one of the product's.
    let body = format!("Contained: instance isolated.\u{202E}\nConsole: https://evil.example/\n{}", "x".repeat(1_500));
    comment(&env.sim, &case_id, &body).await;
    let result = env.outcome(&commented(&case_id)).await;
    assert_eq!(
        result,
        json!({"outcome": "synced", "caseId": case_id, "incidentRecordArns": [MATCHING], "timelineEvents": 1, "comments": 0})
    );
    race(&env, &commented(&case_id)).await;
    assert_eq!(env.outcome(&commented(&case_id)).await["reason"], "no_new_comments");
    let events = timeline(&env.sim, MATCHING);
    assert_eq!(events.len(), before + 1, "{events:#?}");
    let mirrored = events.last().expect("the mirrored comment");
    assert!(
        mirrored.starts_with(&format!("Comment on AWS Security Incident Response case {case_id} by 123456789012:\n> Contained")),
        "{mirrored}"
    );
    assert!(mirrored.contains("\n> Console: hxxps://evil[.]example/"), "quoted, the link inert: {mirrored}");
    assert!(mirrored.contains("…[truncated]"), "cut at 1,000 characters, visibly: {mirrored}");
    assert!(!mirrored.contains('\u{202E}'));
    assert!(mirrored.chars().count() < 1_300, "{}", mirrored.chars().count());
    // The case got nothing back: the escalation's two comments, and the responder's.
    assert_eq!(comments(&env.sim, &case_id).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_stay_on_the_case_when_mirroring_is_off() {
    let env = start_with_ledger(demo_fixture(), &[("MIRROR_CASE_COMMENTS", "none")]).await;
    let case_id = escalated_case(&env).await;
    comment(&env.sim, &case_id, "Contained.").await;
    let before = timeline(&env.sim, MATCHING).len();
    assert_eq!(env.outcome(&commented(&case_id)).await["reason"], "mirroring_off");
    assert_eq!(timeline(&env.sim, MATCHING).len(), before);
    assert_eq!(env.calls("ListComments"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_resolved_elsewhere_is_told_on_the_open_case_once() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    resolve_elsewhere(&env.sim, MATCHING).await;
    let result = env.outcome(&resolved(MATCHING, RESPONDER_SESSION)).await;
    assert_eq!(
        result,
        json!({"outcome": "synced", "caseId": case_id, "incidentRecordArns": [MATCHING], "timelineEvents": 0, "comments": 1})
    );
    race(&env, &resolved(MATCHING, RESPONDER_SESSION)).await;
    assert_eq!(env.outcome(&resolved(MATCHING, RESPONDER_SESSION)).await["reason"], "no_new_comments");
    let all = comments(&env.sim, &case_id);
    assert_eq!(all.len(), 3, "the escalation's two, and one for the resolution: {all:#?}");
    let told = &all[2];
    assert!(told.starts_with("AWS Systems Manager Incident Manager incident resolved: SSH brute force on prod bastion\n"), "{told}");
    assert!(told.contains("Resolved by: arn:aws:iam::123456789012:user/responder\nResolved at: 20"), "{told}");
    assert!(told.contains("This case stays open"), "{told}");
    assert_ne!(env.sim.state(|s| s.cases[&case_id]["caseStatus"].clone()), "Closed", "a person closes the case");
    // The product's comment fires Case Comment Added: it is its own, never mirrored back.
    assert_eq!(env.outcome(&commented(&case_id)).await["reason"], "no_new_comments");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_outs_own_resolution_is_not_echoed() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    env.sim.state(|s| close_case(s, &case_id, "Investigation Completed"));
    let mut closed = event("case-closed");
    closed["detail"]["caseId"] = json!(case_id);
    assert_eq!(env.outcome(&closed).await["outcome"], "resolved");
    // CloudTrail records the close-out's UpdateIncidentRecord: the case is closed, left alone.
    assert_eq!(env.outcome(&resolved(MATCHING, FUNCTION_SESSION)).await["reason"], "case_closed");
    assert_eq!(env.outcome(&updated(&case_id)).await["reason"], "case_closed");
    assert_eq!(env.calls("CreateCaseComment"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_are_not_linked_get_no_write_and_a_named_skip() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    let hand_made = case_by_hand(&env.sim, "Opened by hand", None).await;
    comment(&env.sim, &hand_made, "Not this product's case.").await;
    assert_eq!(env.outcome(&updated(&hand_made)).await["reason"], "unknown_case");
    assert_eq!(env.outcome(&commented(&hand_made)).await["reason"], "unknown_case");
    resolve_elsewhere(&env.sim, UNRELATED).await;
    assert_eq!(env.outcome(&resolved(UNRELATED, RESPONDER_SESSION)).await["reason"], "not_linked");
    // A resolution CloudTrail recorded that GetIncidentRecord does not confirm.
    assert_eq!(env.outcome(&resolved(MATCHING, RESPONDER_SESSION)).await["reason"], "incident_not_resolved");
    // Another update of an incident (a reopening, a failed call): not a resolution.
    let reopened = update_incident_record(MATCHING, "OPEN", RESPONDER_SESSION, "123456789012", "us-east-1", "2026-11-20T16:00:00Z");
    assert_eq!(env.outcome(&reopened).await["reason"], "not_a_resolution");
    assert_eq!(comments(&env.sim, &case_id).len(), 2, "the escalation's only");
    assert_eq!(comments(&env.sim, &hand_made).len(), 1, "the responder's only");
    assert_eq!(timeline(&env.sim, UNRELATED).len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ledger_nothing_is_mirrored() {
    let env = start(&[]).await;
    let case_id = escalated_case(&env).await;
    move_case(&env.sim, &case_id, "Detection and Analysis").await;
    let before = timeline(&env.sim, MATCHING).len();
    assert_eq!(env.outcome(&updated(&case_id)).await["reason"], "needs_ledger");
    assert_eq!(env.outcome(&commented(&case_id)).await["reason"], "needs_ledger");
    resolve_elsewhere(&env.sim, MATCHING).await;
    assert_eq!(env.outcome(&resolved(MATCHING, RESPONDER_SESSION)).await["reason"], "needs_ledger");
    assert_eq!(timeline(&env.sim, MATCHING).len(), before);
}

/// Escalate; the case moves twice; a responder comments; the incident is
/// resolved elsewhere; the case closes. Then every event again, one by one and
/// four at a time: the counts on both sides do not change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_round_writes_each_thing_once() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let escalation = event("investigation-critical");
    let case_id = env.outcome(&escalation).await["caseId"].as_str().expect("case").to_string();
    let mut delivered = vec![escalation];
    for to in ["Detection and Analysis", "Containment, Eradication and Recovery"] {
        move_case(&env.sim, &case_id, to).await;
        delivered.push(updated(&case_id));
        env.outcome(delivered.last().expect("event")).await;
    }
    comment(&env.sim, &case_id, "Isolated the bastion; rotating the instance role.").await;
    delivered.push(commented(&case_id));
    env.outcome(delivered.last().expect("event")).await;
    resolve_elsewhere(&env.sim, MATCHING).await;
    delivered.push(resolved(MATCHING, RESPONDER_SESSION));
    env.outcome(delivered.last().expect("event")).await;
    // The resolution comment fires Case Comment Added: delivered too.
    delivered.push(commented(&case_id));
    env.outcome(delivered.last().expect("event")).await;
    env.sim.state(|s| close_case(s, &case_id, "Investigation Completed"));
    let mut closed = event("case-closed");
    closed["detail"]["caseId"] = json!(case_id);
    delivered.push(closed);
    env.outcome(delivered.last().expect("event")).await;
    let counts =
        |env: &TestEnv| (timeline(&env.sim, MATCHING).len(), comments(&env.sim, &case_id).len(), env.calls("UpdateIncidentRecord"));
    // Incident: the escalation's event, two moves, one comment (the close-out finds it resolved).
    // Case: the link and recommendations comments, the responder's, and the resolution's.
    // UpdateIncidentRecord: the responder's (the close-out found the incident resolved).
    assert_eq!(counts(&env), (4, 4, 1), "{:#?}", timeline(&env.sim, MATCHING));
    for e in &delivered {
        env.outcome(e).await;
    }
    for e in &delivered {
        race(&env, e).await;
    }
    assert_eq!(counts(&env), (4, 4, 1), "redelivered and raced: nothing more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_says_what_it_would_mirror_and_writes_nothing() {
    let env = start_with_ledger(demo_fixture(), &[]).await;
    let case_id = escalated_case(&env).await;
    let env = env.with_config(|c| c.dry_run = true);
    let (events, notes) = (timeline(&env.sim, MATCHING).len(), comments(&env.sim, &case_id).len());
    move_case(&env.sim, &case_id, "Detection and Analysis").await;
    let moved = env.outcome(&updated(&case_id)).await;
    assert_eq!(
        moved,
        json!({"outcome": "synced", "caseId": case_id, "incidentRecordArns": [MATCHING], "timelineEvents": 0, "comments": 0})
    );
    comment(&env.sim, &case_id, "Contained.").await;
    assert_eq!(env.outcome(&commented(&case_id)).await["timelineEvents"], 0);
    resolve_elsewhere(&env.sim, MATCHING).await;
    let told = env.outcome(&resolved(MATCHING, RESPONDER_SESSION)).await;
    assert_eq!(told, json!({"outcome": "synced", "caseId": case_id, "incidentRecordArns": [MATCHING], "timelineEvents": 0, "comments": 0}));
    assert_eq!(timeline(&env.sim, MATCHING).len(), events);
    assert_eq!(comments(&env.sim, &case_id).len(), notes + 1, "the responder's comment only");
    // Nothing was recorded as mirrored: the first real delivery still mirrors the move.
    let record = env.ledger().record(&investigation_escalator::operator::case_key("us-east-1", &case_id)).await.expect("read");
    assert_eq!(record.expect("the case item").mirrored_transitions, None);
}
