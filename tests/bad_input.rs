//! The bad-input corpus: hostile or malformed events and AWS answers, each with
//! the outcome it must get, the words its error must say, and what must not be
//! written. The process surviving is part of every case: a panic fails the test.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const DET: &str = "12abc34d567e8fa901bc2d34e56789f0";
const INV: &str = "c0ffee00-0000-4000-8000-000000000001";

/// What a case must come to.
enum Expect {
    /// An error of this Lambda error type whose message says all of these.
    Error(&'static str, &'static [&'static str]),
    /// A result whose JSON holds these fields.
    Outcome(Value),
}

/// What the simulation may have received.
#[derive(PartialEq, Debug)]
enum Calls {
    /// Nothing at all: refused before any AWS call.
    None,
    /// Reads only.
    NoWrites,
    /// Anything (the case checks what matters itself).
    Any,
}

fn writes_in(ops: &[String]) -> Vec<&String> {
    ops.iter().filter(|op| !op.starts_with("Get") && !op.starts_with("List")).collect()
}

/// Runs one case on `env` and checks it; returns the result JSON (or `Null` for an error).
async fn check(name: &str, env: &TestEnv, payload: Value, expect: Expect, calls: Calls) -> Value {
    let before = operations(&env.sim).len();
    let result = env.run(&payload).await;
    let ops: Vec<String> = operations(&env.sim)[before..].to_vec();
    match calls {
        Calls::None => assert!(ops.is_empty(), "{name}: no AWS call expected, got {ops:?}"),
        Calls::NoWrites => assert!(writes_in(&ops).is_empty(), "{name}: no write expected, got {ops:?}"),
        Calls::Any => {}
    }
    match (expect, result) {
        (Expect::Error(kind, words), Err(e)) => {
            let text = e.to_string();
            assert_eq!(e.kind(), kind, "{name}: {text}");
            for word in words {
                assert!(text.contains(word), "{name}: {word:?} not in {text:?}");
            }
            assert!(text.chars().count() <= 1_000, "{name}: an error message of {} characters", text.chars().count());
            Value::Null
        }
        (Expect::Outcome(want), Ok(outcome)) => {
            let got = serde_json::to_value(&outcome).expect("json");
            for (key, value) in want.as_object().expect("an object") {
                assert_eq!(&got[key], value, "{name}: {key} in {got}");
            }
            got
        }
        (Expect::Error(kind, _), Ok(outcome)) => panic!("{name}: expected {kind}, got {outcome:?}"),
        (Expect::Outcome(want), Err(e)) => panic!("{name}: expected {want}, got {}: {e}", e.kind()),
    }
}

fn malformed(words: &'static [&'static str]) -> Expect {
    Expect::Error("MalformedEvent", words)
}

fn direct(detector: Value, investigation: Value) -> Value {
    json!({"detectorId": detector, "investigationId": investigation})
}

#[tokio::test]
async fn malformed_events_are_refused_by_name_before_any_aws_call() {
    let env = start(&[("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", DET)]).await;
    let ids_101: Vec<String> = (0..101).map(|i| format!("{i:032x}")).collect();
    let cases: Vec<(&str, Value, Expect)> = vec![
        ("a string", json!("escalate everything"), malformed(&["JSON object", "a string"])),
        ("null", Value::Null, malformed(&["null"])),
        ("an array", json!([{"detectorId": DET}]), malformed(&["an array"])),
        ("an empty object", json!({}), malformed(&["detectorId is missing"])),
        ("a numeric detector id", direct(json!(42), json!(INV)), malformed(&["detectorId", "must be a string"])),
        ("a path as investigation id", direct(json!(DET), json!("../../etc/passwd")), malformed(&["investigationId", "hexadecimal"])),
        ("a 65-character investigation id", direct(json!(DET), json!("a".repeat(65))), malformed(&["investigationId"])),
        ("an investigation id of dashes only", direct(json!(DET), json!("----")), malformed(&["investigationId"])),
        ("a detector id with a dash", direct(json!("12abc-34"), json!(INV)), malformed(&["detectorId", "letters and digits"])),
        ("a megabyte detector id", direct(json!("x".repeat(1_000_000)), json!(INV)), malformed(&["detectorId", "…[truncated]"])),
        ("a control character in an id", direct(json!("12abc\u{0000}34"), json!(INV)), malformed(&["detectorId"])),
        ("a bidi override in an id", direct(json!(DET), json!("c0ffee\u{202E}00")), malformed(&["investigationId"])),
        (
            "an incident ARN that is not one",
            json!({"detectorId": DET, "investigationId": INV, "incidentRecordArn": "incident-1"}),
            malformed(&["incidentRecordArn", "incident record ARN"]),
        ),
        (
            "an incident ARN with a region",
            json!({"detectorId": DET, "investigationId": INV,
                   "incidentRecordArn": "arn:aws:ssm-incidents:us-east-1:123456789012:incident-record/P/1"}),
            malformed(&["incidentRecordArn"]),
        ),
        (
            "finding ids that are not a list",
            json!({"detectorId": DET, "investigationId": INV, "findingIds": "f"}),
            malformed(&["findingIds"]),
        ),
        ("101 finding ids", json!({"detectorId": DET, "investigationId": INV, "findingIds": ids_101}), malformed(&["at most 100"])),
        ("a numeric finding id", json!({"detectorId": DET, "investigationId": INV, "findingIds": [7]}), malformed(&["findingIds", "32"])),
        ("a short finding id", json!({"detectorId": DET, "investigationId": INV, "findingId": "5ab4"}), malformed(&["findingId", "32"])),
        ("an envelope without detail-type", json!({"source": "x", "detail": {}}), malformed(&["EventBridge envelope"])),
        (
            "an unknown GuardDuty event",
            {
                let mut e = event("guardduty-finding");
                e["detail-type"] = json!("GuardDuty Runtime Protection Unhealthy");
                e
            },
            Expect::Error("MalformedEvent", &["GuardDuty Runtime Protection Unhealthy", "not a trigger"]),
        ),
        (
            "a closed case id that is a path",
            {
                let mut e = event("case-closed");
                e["detail"]["caseId"] = json!("../1234567890");
                e
            },
            malformed(&["detail.caseId", "10 to 32 digits"]),
        ),
        (
            "a closed case without a time",
            {
                let mut e = event("case-closed");
                e.as_object_mut().map(|o| o.remove("time"));
                e
            },
            malformed(&["time is missing"]),
        ),
        (
            "a finding whose severity is text",
            {
                let mut e = event("guardduty-finding");
                e["detail"]["severity"] = json!("high");
                e
            },
            malformed(&["detail.severity", "must be a number"]),
        ),
        (
            "a finding whose id is not one",
            {
                let mut e = event("guardduty-finding");
                e["detail"]["id"] = json!("' OR 1=1 --");
                e
            },
            malformed(&["detail.id", "32 hexadecimal"]),
        ),
        (
            "a CloudTrail record without the new id",
            {
                let mut e = event("cloudtrail-create-investigation");
                e["detail"]["responseElements"] = Value::Null;
                e
            },
            malformed(&["investigationId is missing"]),
        ),
        (
            "a Scheduled Event from someone else",
            {
                let mut e = event("scheduled-sweep");
                e["source"] = json!("attacker.events");
                e
            },
            Expect::Error("MalformedEvent", &["Scheduled Event", "attacker.events", "not a trigger"]),
        ),
    ];
    let count = cases.len();
    for (name, payload, expect) in cases {
        check(name, &env, payload, expect, Calls::None).await;
    }
    assert!(count >= 26, "{count}");
}

#[tokio::test]
async fn events_that_must_not_cost_anything_are_skipped_before_any_aws_call() {
    let env = start(&[("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", DET)]).await;
    let mut sample = event("guardduty-finding");
    sample["detail"]["service"]["additionalInfo"] = json!({"sample": true, "type": "default"});
    check("a sample finding", &env, sample, Expect::Outcome(json!({"outcome": "skipped", "reason": "sample_finding"})), Calls::None).await;
    let mut archived = event("guardduty-finding");
    archived["detail"]["service"]["archived"] = json!(true);
    check("an archived finding", &env, archived, Expect::Outcome(json!({"reason": "archived_finding"})), Calls::None).await;
    let failed = event("cloudtrail-create-investigation-failed");
    check(
        "a failed CreateInvestigation record",
        &env,
        failed,
        Expect::Outcome(json!({"reason": "create_investigation_failed"})),
        Calls::None,
    )
    .await;
    assert_eq!(env.calls("CreateInvestigation"), 0, "the 10-a-day quota is untouched");
}

#[tokio::test]
async fn hostile_investigation_answers_write_nothing() {
    let critical = || event("investigation-critical");
    let env = start(&[]).await;
    env.sim.faults(|f| f.answer_with("GetInvestigation", json!({"investigation": {"investigationId": "c0ffee00-0000-4000-8000-00000000beef", "status": "COMPLETED", "riskLevel": "Critical"}})));
    check(
        "an answer about another investigation",
        &env,
        critical(),
        Expect::Error("AwsCallFailed", &["GetInvestigation", "InvalidAnswer", INV]),
        Calls::NoWrites,
    )
    .await;

    let env = start(&[]).await;
    env.sim.faults(|f| f.answer_with("GetInvestigation", json!({"investigation": {"investigationId": INV, "riskLevel": "Critical"}})));
    check("an answer with no status", &env, critical(), Expect::Error("AwsCallFailed", &["no status"]), Calls::NoWrites).await;

    let env = start(&[]).await;
    env.sim.faults(|f| f.answer_with("GetInvestigation", json!({"investigation": {}})));
    check("an empty investigation", &env, critical(), Expect::Error("AwsCallFailed", &["InvalidAnswer"]), Calls::NoWrites).await;

    let env = start(&[]).await;
    env.sim.faults(|f| f.answer_with("GetInvestigation", json!({})));
    check("no investigation at all", &env, critical(), Expect::Error("AwsCallFailed", &["InvalidAnswer"]), Calls::NoWrites).await;

    let env = start(&[]).await;
    env.sim.faults(|f| {
        f.answer_with(
            "GetInvestigation",
            json!({"investigation": {"investigationId": INV, "status": "COMPLETED", "riskLevel": "Apocalyptic"}}),
        )
    });
    check(
        "a risk level this build does not know",
        &env,
        critical(),
        Expect::Outcome(json!({"outcome": "skipped", "reason": "unknown_risk"})),
        Calls::NoWrites,
    )
    .await;

    let env = start(&[]).await;
    env.sim.faults(|f| {
        f.answer_with(
            "GetInvestigation",
            json!({"investigation": {"investigationId": INV, "status": "COMPLETED", "riskLevel": "Critical"}}),
        )
    });
    check(
        "a completed investigation with no times",
        &env,
        critical(),
        // It can never be escalated as it stands: a final skip of its own, not an error
        // that would fail every retry and every sweep.
        Expect::Outcome(json!({"outcome": "skipped", "reason": "incomplete_investigation"})),
        Calls::NoWrites,
    )
    .await;
}

#[tokio::test]
async fn hostile_text_reaches_the_case_cleaned() {
    let env = start(&[]).await;
    env.sim.state(|s| {
        let inv = s.investigations.values_mut().find(|i| i["investigationId"] == INV).expect("the critical investigation");
        inv["risk"] = json!("Keys \u{202E}txt.exe\u{200B} stolen\r\nIgnore previous instructions\u{0007}");
        inv["summaryData"]["keyObservations"]["title"] =
            json!("Keys \u{202E}txt.exe\u{200B} stolen\r\nIgnore previous instructions\u{0007}");
        inv["summary"] = json!("line one\u{2028}line two\u{001B}[2J\u{FEFF}");
    });
    let result = check(
        "bidi, zero-width and control characters",
        &env,
        event("investigation-critical"),
        Expect::Outcome(json!({"outcome": "escalated"})),
        Calls::Any,
    )
    .await;
    let case_id = result["caseId"].as_str().expect("a case").to_string();
    let (title, description) = env.sim.state(|s| (s.cases[&case_id]["title"].clone(), s.cases[&case_id]["description"].clone()));
    let (title, description) = (title.as_str().unwrap_or_default().to_string(), description.as_str().unwrap_or_default().to_string());
    assert!(title.ends_with(": Keys txt.exe stolen Ignore previous instructions"), "the headline on one clean line: {title}");
    assert!(description.contains("> Keys txt.exe stolen\n> Ignore previous instructions"), "quoted: {description}");
    for hidden in ['\u{202E}', '\u{200B}', '\u{0007}', '\u{2028}', '\u{001B}', '\u{FEFF}', '\r'] {
        assert!(!title.contains(hidden) && !description.contains(hidden), "{hidden:?} reached the case");
    }
}

#[tokio::test]
async fn hostile_case_and_incident_answers_link_nothing_wrong() {
    let env = start(&[]).await;
    env.sim.faults(|f| f.answer_with("CreateCase", json!({"caseId": "../../cases/1"})));
    check(
        "a case id that is not one",
        &env,
        event("investigation-critical"),
        Expect::Error("AwsCallFailed", &["CreateCase", "InvalidAnswer", "10 to 32 digits"]),
        Calls::Any,
    )
    .await;
    let linked = operations(&env.sim)
        .iter()
        .filter(|op| matches!(op.as_str(), "CreateCaseComment" | "UpdateRelatedItems" | "CreateTimelineEvent" | "UpdateCase"))
        .count();
    assert_eq!(linked, 0, "nothing is linked with a case id that is not one");

    // A search that lists junk and a record that is gone: both left out, the real match still linked.
    let env = start(&[]).await;
    env.sim.faults(|f| {
        f.answer_with("ListIncidentRecords", json!({"incidentRecordSummaries": [
            {"arn": "not-an-arn", "title": "x", "status": "OPEN", "impact": 1, "creationTime": 1795166000, "incidentRecordSource": {"createdBy": "x", "source": "x"}},
            {"arn": "arn:aws:ssm-incidents::123456789012:incident-record/Gone/00000000", "title": "gone", "status": "OPEN", "impact": 1, "creationTime": 1795166000, "incidentRecordSource": {"createdBy": "x", "source": "x"}},
            {"arn": MATCHING, "title": "SSH brute force", "status": "OPEN", "impact": 1, "creationTime": 1795166000, "incidentRecordSource": {"createdBy": "x", "source": "x"}}
        ]}))
    });
    check(
        "a listing with junk and a record that is gone",
        &env,
        event("investigation-critical"),
        Expect::Outcome(json!({"outcome": "escalated", "incidentRecordArns": [MATCHING]})),
        Calls::Any,
    )
    .await;

    // A listing that hands back the same page token for ever: bounded, and the escalation completes.
    let env = start(&[]).await;
    env.sim.faults(|f| f.answer_with("ListIncidentRecords", json!({"incidentRecordSummaries": [], "nextToken": "again"})));
    check(
        "a never-ending incident listing",
        &env,
        event("investigation-critical"),
        Expect::Outcome(json!({"outcome": "escalated"})),
        Calls::Any,
    )
    .await;
    // Two listings (the window, and later records titled with the investigation), each stopped by the repeat.
    assert!(env.calls("ListIncidentRecords") <= 4, "a repeated token stops the listing: {}", env.calls("ListIncidentRecords"));

    // An incident title written to mislead whoever reads the case's comment.
    let env = start(&[]).await;
    env.sim.state(|s| {
        s.incident_records
            .get_mut(MATCHING)
            .map(|r| r["title"] = json!("Resolved\nARN: arn:aws:ssm-incidents::999999999999:incident-record/X/1\u{202E}"))
    });
    check(
        "a misleading incident title",
        &env,
        event("investigation-critical"),
        Expect::Outcome(json!({"outcome": "escalated"})),
        Calls::Any,
    )
    .await;
    let comment = env
        .sim
        .state(|s| {
            let bodies = s.comments.values().flatten().filter_map(|c| c["body"].as_str());
            bodies.filter(|b| b.starts_with("Linked AWS Systems Manager")).map(str::to_string).next()
        })
        .unwrap_or_default();
    assert_eq!(comment.lines().count(), 3, "{comment}");
    assert!(!comment.contains('\u{202E}'), "{comment}");
}

#[tokio::test]
async fn hostile_listings_end_the_sweep_honestly() {
    let env = start_with(backlog(10).fixture, &[("DETECTOR_ID", DET)]).await;
    env.sim.faults(|f| f.answer_with("ListInvestigations", json!({"investigations": [], "nextToken": "again-and-again"})));
    let result = check(
        "a never-ending investigation listing",
        &env,
        event("scheduled-sweep"),
        Expect::Outcome(json!({"outcome": "swept", "complete": false})),
        Calls::NoWrites,
    )
    .await;
    assert_eq!(result["counts"]["escalated"], 0);
    assert!(env.calls("ListInvestigations") <= 2, "{}", env.calls("ListInvestigations"));

    let env = start(&[("DETECTOR_ID", DET)]).await;
    let junk = json!({"investigations": [
        {"investigationId": "", "status": "COMPLETED", "endTime": 1_900_000_000},
        {"investigationId": "../../x", "status": "COMPLETED", "endTime": 1_900_000_000}
    ]});
    env.sim.faults(|f| f.answer_with("ListInvestigations", junk));
    check(
        "a listing of ids that are not ids",
        &env,
        event("scheduled-sweep"),
        Expect::Outcome(json!({"outcome": "swept", "complete": true, "counts": {"escalated": 0, "skipped": 0, "pending": 0, "failed": 0}})),
        Calls::NoWrites,
    )
    .await;
    assert_eq!(env.calls("GetInvestigation"), 0, "nothing is fetched by an id that is not one");

    // A deadline already past: nothing is started, and the sweep says it is not complete.
    let env = start_with(backlog(10).fixture, &[("DETECTOR_ID", DET)]).await;
    let gone = env.invocation_with(Duration::ZERO);
    let result = investigation_escalator::run(&env.app, &event("scheduled-sweep"), &gone).await.expect("answered");
    let result = serde_json::to_value(result).expect("json");
    assert_eq!(result["complete"], false, "{result}");
    assert_eq!(env.calls("GetInvestigation"), 0);
}
