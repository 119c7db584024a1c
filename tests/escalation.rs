//! The handler against the simulation through the real SDK clients: every
//! outcome, exactly-once under redelivery and concurrency, and recovery from
//! faults.

mod common;

use common::*;
use escalator_sim::{FailKind, OpFaults};
use investigation_escalator::Outcome;
use serde_json::{json, Value};

async fn outcome(env: &TestEnv, name: &str) -> Value {
    env.outcome(&event(name)).await
}

#[tokio::test]
async fn critical_escalates_and_links_the_matching_incident_both_ways() {
    let env = start(&[]).await;
    let result = outcome(&env, "investigation-critical").await;
    let case_id = result["caseId"].as_str().expect("a case id").to_string();
    assert_eq!(
        result,
        json!({"outcome": "escalated", "investigationId": "c0ffee00-0000-4000-8000-000000000001", "riskLevel": "Critical",
               "confidence": "High", "caseId": case_id, "incidentRecordArns": [MATCHING], "incidentStarted": false, "dryRun": false})
    );
    let state = env.sim.snapshot();
    let case = &state["cases"][&case_id];
    assert!(case["title"]
        .as_str()
        .is_some_and(|t| t.starts_with("[Critical] GuardDuty investigation c0ffee00-0000-4000-8000-000000000001")));
    assert_eq!(case["impactedAccounts"], json!(["123456789012"]));
    assert_eq!(case["impactedAwsRegions"], json!([{"region": "us-east-1"}]));
    assert_eq!(case["tags"]["guardduty:investigation-id"], "c0ffee00-0000-4000-8000-000000000001");
    assert_eq!(case["tags"]["guardduty:detector-id"], "12abc34d567e8fa901bc2d34e56789f0");
    assert_eq!(case["reportedIncidentStartDate"], json!(1_795_165_800));
    assert_eq!(case["caseMetadata"], json!([{"key": "ssm-incidents:incident-record-arn", "value": MATCHING}]));
    // Case → incident: a comment naming it (beside the one of recommended actions).
    let comments = state["comments"][&case_id].as_array().expect("comments");
    assert_eq!(comments.len(), 2);
    let naming: Vec<&str> = comments.iter().filter_map(|c| c["body"].as_str()).filter(|b| b.contains(MATCHING)).collect();
    assert!(naming.len() == 1 && naming[0].contains("SSH brute force on prod bastion"), "{naming:?}");
    // Incident → case: a related item and a timeline event.
    let items = state["relatedItems"][MATCHING].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["identifier"]["type"], "OTHER");
    assert!(items[0]["identifier"]["value"]["url"].as_str().is_some_and(|u| u.ends_with(&format!("#/cases/{case_id}"))));
    assert_eq!(state["timelineEvents"][MATCHING].as_array().map(Vec::len), Some(1));
    // The unrelated and the resolved incident were left alone.
    for other in [UNRELATED, RESOLVED] {
        assert_eq!(state["relatedItems"][other], json!([]), "{other}");
        assert_eq!(state["timelineEvents"][other], json!([]), "{other}");
    }
}

#[tokio::test]
async fn high_without_a_matching_incident_opens_a_case_that_stands_alone() {
    let env = start(&[]).await;
    let result = outcome(&env, "investigation-high").await;
    assert_eq!(result["outcome"], "escalated");
    assert_eq!(result["incidentRecordArns"], json!([]));
    assert_eq!(writes(&env.sim), Writes { cases: 1, ..Writes::none() });
}

#[tokio::test]
async fn low_running_and_failed_write_nothing() {
    // The sweep lists the detector, so a running investigation is an honest `pending`.
    let env = start(&[("DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0")]).await;
    assert_eq!(
        outcome(&env, "investigation-low").await,
        json!({"outcome": "skipped", "reason": "below_threshold", "investigationId": "c0ffee00-0000-4000-8000-000000000003", "riskLevel": "Low"})
    );
    assert_eq!(
        outcome(&env, "investigation-running").await,
        json!({"outcome": "pending", "investigationId": "c0ffee00-0000-4000-8000-000000000004"})
    );
    assert_eq!(
        outcome(&env, "investigation-failed").await,
        json!({"outcome": "skipped", "reason": "investigation_failed", "investigationId": "c0ffee00-0000-4000-8000-000000000005"})
    );
    assert_eq!(operations(&env.sim), vec!["GetInvestigation"; 3]);
}

#[tokio::test]
async fn a_direct_invoke_links_the_incident_it_names_even_if_nothing_mentions_the_investigation() {
    let env = start(&[]).await;
    // A direct invoke: the caller was authorized by IAM (lambda:InvokeFunction).
    let direct = event("investigation-explicit-incident")["detail"].clone();
    let result = env.outcome(&direct).await;
    assert_eq!(result["incidentRecordArns"], json!([EXPLICIT]));
    let case_id = result["caseId"].as_str().expect("case").to_string();
    let state = env.sim.snapshot();
    // The runbook item it already had stays; the case is added beside it.
    let items = state["relatedItems"][EXPLICIT].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert!(items[1]["identifier"]["value"]["url"].as_str().is_some_and(|u| u.ends_with(&format!("#/cases/{case_id}"))));
    assert_eq!(state["timelineEvents"][EXPLICIT].as_array().map(Vec::len), Some(1));
    assert!(state["comments"][&case_id][0]["body"].as_str().is_some_and(|b| b.contains(EXPLICIT)));
    assert_eq!(state["cases"][&case_id]["caseMetadata"], json!([{"key": "ssm-incidents:incident-record-arn", "value": EXPLICIT}]));
}

#[tokio::test]
async fn an_event_cannot_link_an_incident_that_does_not_mention_the_investigation() {
    // Anyone allowed to put events on the bus could name a production incident: the
    // close-out would later resolve it, because it would link back to the case.
    let env = start(&[]).await;
    let result = outcome(&env, "investigation-explicit-incident").await;
    assert_eq!(result["outcome"], "escalated", "{result}");
    assert_eq!(result["incidentRecordArns"], json!([]), "{result}");
    assert_eq!(env.sim.state(|s| s.related_items[EXPLICIT].len()), 1, "only the runbook item it had");
    assert_eq!(env.sim.state(|s| s.timeline_events.get(EXPLICIT).map_or(0, Vec::len)), 0);
}

#[tokio::test]
async fn an_events_finding_ids_pull_in_no_incident_and_no_threat_actor() {
    // MATCHING mentions finding 5ab4…; investigation …06 does not. An event naming
    // that finding must not link MATCHING, nor read that finding's addresses.
    let env = start(&[]).await;
    let mut e = event("investigation-explicit-incident");
    e["detail"].as_object_mut().expect("detail").remove("incidentRecordArn");
    e["detail"]["findingIds"] = json!(["5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1"]);
    let actors = |env: &TestEnv, result: &Value| {
        let case_id = result["caseId"].as_str().expect("a case").to_string();
        env.sim.state(|s| s.cases[&case_id]["threatActorIpAddresses"].clone())
    };
    let result = env.outcome(&e).await;
    assert_eq!(result["incidentRecordArns"], json!([]), "{result}");
    let from_event = actors(&env, &result);
    // The same ids from a direct invoke are the caller's to vouch for: MATCHING, and
    // the finding's remote address on the case.
    let env = start(&[]).await;
    let result = env.outcome(&e["detail"]).await;
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]), "{result}");
    assert_ne!(actors(&env, &result), from_event, "the event's finding added no address");
}

#[tokio::test]
async fn a_resolved_explicit_incident_falls_back_to_the_search_and_a_malformed_one_is_refused() {
    let env = start(&[]).await;
    let mut e = event("investigation-critical");
    e["detail"]["incidentRecordArn"] = json!(RESOLVED);
    let result = serde_json::to_value(env.run(&e).await.expect("escalated")).expect("json");
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]));
    assert_eq!(env.sim.state(|s| s.related_items[RESOLVED].len()), 0);
    // An ARN that is not an incident record's (a short account): refused before any AWS call.
    let calls = operations(&env.sim).len();
    let mut e = event("investigation-explicit-incident");
    e["detail"]["incidentRecordArn"] = json!("arn:aws:ssm-incidents::12345:incident-record/SecurityResponse/short-account");
    let err = env.run(&e).await.expect_err("malformed");
    assert_eq!(err.kind(), "MalformedEvent");
    assert!(err.to_string().contains("detail.incidentRecordArn"), "{err}");
    assert_eq!(operations(&env.sim).len(), calls);
}

#[tokio::test]
async fn a_missing_explicit_incident_falls_back_to_the_search() {
    let env = start(&[]).await;
    let mut e = event("investigation-critical");
    e["detail"]["incidentRecordArn"] =
        json!("arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/00000000000000000000000000000000");
    let result = serde_json::to_value(env.run(&e).await.expect("escalated")).expect("json");
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]));
}

#[tokio::test]
async fn direct_invoke_works_like_the_event() {
    let env = start(&[]).await;
    let result = outcome(&env, "direct-invoke").await;
    assert_eq!(result["outcome"], "escalated");
    assert_eq!(result["investigationId"], "c0ffee00-0000-4000-8000-000000000002");
}

#[tokio::test]
async fn a_malformed_event_fails_at_once_without_any_aws_call() {
    let env = start(&[]).await;
    let err = env.run(&event("malformed")).await.expect_err("malformed");
    assert_eq!(err.kind(), "MalformedEvent");
    assert!(err.to_string().contains("detail.investigationId"), "{err}");
    assert!(operations(&env.sim).is_empty());
}

#[tokio::test]
async fn an_unknown_investigation_fails_naming_the_call() {
    let env = start(&[]).await;
    let err = env.run(&json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "investigationId": "dead"})).await.expect_err("not found");
    assert_eq!(err.kind(), "AwsCallFailed");
    let text = err.to_string();
    assert!(text.contains("GetInvestigation") && text.contains("ResourceNotFoundException"), "{text}");
}

#[tokio::test]
async fn three_deliveries_make_one_case_one_comment_one_related_item() {
    let env = start(&[]).await;
    let mut case_ids = Vec::new();
    for _ in 0..3 {
        case_ids.push(outcome(&env, "investigation-critical").await["caseId"].clone());
    }
    assert!(case_ids.windows(2).all(|w| w[0] == w[1]), "{case_ids:?}");
    assert_eq!(writes(&env.sim), Writes::one_linked());
    // The second and third delivery found the related item there and did not add it again.
    let adds = operations(&env.sim).iter().filter(|o| *o == "UpdateRelatedItems").count();
    assert_eq!(adds, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_make_exactly_one_of_everything() {
    let env = start(&[]).await;
    let e = event("investigation-critical");
    let invocations: Vec<_> = (0..8).map(|_| env.invocation()).collect();
    let runs = invocations.iter().map(|i| investigation_escalator::run(&env.app, &e, i));
    let results = futures_util::future::join_all(runs).await;
    let ids: Vec<Option<String>> = results
        .into_iter()
        .map(|r| match r {
            Ok(Outcome::Escalated { case_id, .. }) => case_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(writes(&env.sim), Writes::one_linked());
    // Beyond what the services hold: every repeated write was a replay of one token.
    let fresh_writes = env.sim.state(|s| {
        let mut counts = std::collections::BTreeMap::new();
        for e in s.log.iter().filter(|e| e.error.is_none() && !e.replayed && e.client_token.is_some()) {
            *counts.entry(e.operation.clone()).or_insert(0) += 1;
        }
        counts
    });
    let expected: std::collections::BTreeMap<String, i32> =
        [("CreateCase", 1), ("CreateCaseComment", 2), ("CreateTimelineEvent", 1), ("UpdateRelatedItems", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    assert_eq!(fresh_writes, expected);
    // UpdateCase has no token: every writer wrote the same one entry.
    let case_id = ids[0].clone().unwrap_or_default();
    assert_eq!(
        env.sim.state(|s| s.cases[&case_id]["caseMetadata"].clone()),
        json!([{"key": "ssm-incidents:incident-record-arn", "value": MATCHING}])
    );
    let addresses = env.sim.state(|s| s.cases[&case_id]["threatActorIpAddresses"].clone());
    let listed: Vec<&str> = addresses.as_array().into_iter().flatten().filter_map(|a| a["ipAddress"].as_str()).collect();
    assert_eq!(listed, ["198.51.100.23", "2001:0DB8:85A3:0000:0000:8A2E:0370:7334"], "no address twice");
}

#[tokio::test]
async fn throttled_create_case_is_retried_into_one_case() {
    let env = start(&[]).await;
    env.sim.faults(|f| f.fail_next("CreateCase", 2, FailKind::Throttle));
    assert_eq!(outcome(&env, "investigation-critical").await["outcome"], "escalated");
    assert_eq!(writes(&env.sim).cases, 1);
    assert_eq!(operations(&env.sim).iter().filter(|o| *o == "CreateCase").count(), 3);
}

#[tokio::test]
async fn lost_answers_are_retried_with_the_same_tokens() {
    let env = start(&[]).await;
    for op in ["CreateCase", "CreateCaseComment", "UpdateRelatedItems", "CreateTimelineEvent"] {
        env.sim.faults(|f| f.fail_next(op, 1, FailKind::ServerErrorAfterWrite));
    }
    assert_eq!(outcome(&env, "investigation-critical").await["outcome"], "escalated");
    assert_eq!(writes(&env.sim), Writes::one_linked());
}

#[tokio::test]
async fn a_failed_link_is_an_error_and_the_redelivery_completes_it() {
    let env = start(&[]).await;
    env.sim.faults(|f| f.set("UpdateRelatedItems", OpFaults { error_share: 1.0, ..Default::default() }));
    let err = env.run(&event("investigation-critical")).await.expect_err("the link fails");
    assert_eq!(err.kind(), "LinkFailed");
    assert!(err.to_string().contains("UpdateRelatedItems"), "{err}");
    // Everything else was written; only the related item is missing.
    assert_eq!(writes(&env.sim), Writes { related_items_added: 0, ..Writes::one_linked() });

    env.sim.faults(|f| f.operations.clear());
    assert_eq!(outcome(&env, "investigation-critical").await["outcome"], "escalated");
    assert_eq!(writes(&env.sim), Writes::one_linked());
}

#[tokio::test]
async fn dry_run_decides_and_reports_but_writes_nothing() {
    let env = start(&[("DRY_RUN", "true")]).await;
    let result = outcome(&env, "investigation-critical").await;
    assert_eq!(
        result,
        json!({"outcome": "escalated", "investigationId": "c0ffee00-0000-4000-8000-000000000001", "riskLevel": "Critical",
               "confidence": "High", "incidentRecordArns": [MATCHING], "incidentStarted": false, "dryRun": true})
    );
    assert_eq!(writes(&env.sim), Writes::none());
    let reads_only = operations(&env.sim).iter().all(|o| o.starts_with("Get") || o.starts_with("List"));
    assert!(reads_only, "{:?}", operations(&env.sim));
}

#[tokio::test]
async fn with_a_response_plan_an_incident_is_started_once() {
    let env = start(&[("INCIDENT_RESPONSE_PLAN_ARN", PLAN)]).await;
    let first = outcome(&env, "investigation-high").await;
    assert_eq!(first["incidentStarted"], true);
    let started = first["incidentRecordArns"][0].as_str().expect("an incident").to_string();
    let state = env.sim.snapshot();
    assert_eq!(state["incidentRecords"][&started]["impact"], 2);
    assert_eq!(state["incidentRecords"][&started]["status"], "OPEN");
    assert_eq!(state["relatedItems"][&started].as_array().map(Vec::len), Some(1));
    // A redelivery finds the started incident by its title and starts none.
    let adds = operations(&env.sim).iter().filter(|o| *o == "UpdateRelatedItems").count();
    let again = outcome(&env, "investigation-high").await;
    assert_eq!(again["incidentRecordArns"], json!([started]));
    assert_eq!(again["incidentStarted"], false);
    // The high investigation has no structured results: no comment of recommended actions.
    assert_eq!(writes(&env.sim), Writes { incidents: Writes::none().incidents + 1, recommendations: 0, ..Writes::one_linked() });
    assert_eq!(operations(&env.sim).iter().filter(|o| *o == "UpdateRelatedItems").count(), adds, "the case was already on it");
}

#[tokio::test]
async fn a_lost_start_incident_answer_starts_one_incident() {
    let env = start(&[("INCIDENT_RESPONSE_PLAN_ARN", PLAN)]).await;
    env.sim.faults(|f| f.fail_next("StartIncident", 1, FailKind::ServerErrorAfterWrite));
    let result = outcome(&env, "investigation-high").await;
    assert_eq!(result["incidentStarted"], true);
    assert_eq!(writes(&env.sim).incidents, 5, "one incident started, though the first answer was lost");
}

#[tokio::test]
async fn thresholds_come_from_the_configuration() {
    let env = start(&[("RISK_THRESHOLD", "Low"), ("MIN_CONFIDENCE", "High")]).await;
    assert_eq!(outcome(&env, "investigation-low").await["outcome"], "escalated");
    let high_medium_confidence = outcome(&env, "investigation-high").await;
    assert_eq!(high_medium_confidence["reason"], "low_confidence");
}

#[tokio::test]
async fn a_missing_risk_level_is_skipped_as_unknown() {
    let env = start(&[]).await;
    env.sim.state(|s| {
        if let Some(inv) = s.investigations.get_mut("12abc34d567e8fa901bc2d34e56789f0/c0ffee00-0000-4000-8000-000000000001") {
            inv.as_object_mut().map(|o| o.remove("riskLevel"));
        }
    });
    assert_eq!(outcome(&env, "investigation-critical").await["reason"], "unknown_risk");
}

#[tokio::test]
async fn a_case_quota_refusal_writes_nothing_and_a_later_delivery_escalates() {
    let env = start(&[]).await;
    env.sim.faults(|f| f.fail_next("CreateCase", 1, FailKind::QuotaExceeded));
    let err = env.run(&event("investigation-critical")).await.expect_err("the quota refuses the case");
    assert_eq!(err.kind(), "CaseQuotaExceeded");
    let text = err.to_string();
    assert!(text.contains("c0ffee00-0000-4000-8000-000000000001") && text.contains("quota"), "{text}");
    assert_eq!(writes(&env.sim), Writes::none(), "no other write");
    assert_eq!(env.calls("CreateCase"), 1, "a quota refusal is not retried by the SDK");
    // Once the quota allows (a case was closed), the next delivery escalates.
    assert_eq!(outcome(&env, "investigation-critical").await["outcome"], "escalated");
    assert_eq!(writes(&env.sim), Writes::one_linked());
}

#[tokio::test]
async fn cases_and_incidents_go_to_their_home_regions_while_tokens_keep_the_functions() {
    // A function in eu-west-1 (its investigations' region) whose Security IR membership is in
    // us-east-1 and whose Incident Manager replication set is in us-west-2.
    let homes = [("SECURITY_IR_REGION", "us-east-1"), ("INCIDENT_MANAGER_REGION", "us-west-2")];
    let stack = escalator_sim::Stack { region: "eu-west-1".into(), ..stack_for(&homes) };
    let sim = escalator_sim::Sim::start_with(escalator_sim::demo_fixture(), escalator_sim::Authorization::Stack(stack))
        .await
        .expect("simulation");
    let sdk = escalator_sim::sdk_config(&sim).await.to_builder().region(aws_config::Region::new("eu-west-1")).build();
    let vars: std::collections::HashMap<&str, &str> = homes.into_iter().collect();
    let config = investigation_escalator::Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).expect("config");
    let app = investigation_escalator::App::new(config, &sdk, investigation_escalator::Clock::system());
    let invocation = app.invocation("regions", std::time::Duration::from_secs(60));
    let result = investigation_escalator::run(&app, &event("investigation-critical"), &invocation).await.expect("escalated");
    assert!(matches!(result, investigation_escalator::Outcome::Escalated { case_id: Some(_), .. }), "{result:?}");

    let log = sim.state(|s| s.log.clone());
    let region_of = |service: &str| -> Vec<Option<String>> {
        log.iter().filter(|e| e.service.is_some_and(|s| format!("{s:?}") == service)).map(|e| e.region.clone()).collect()
    };
    let only = |service: &str, region: &str| {
        let regions = region_of(service);
        assert!(!regions.is_empty() && regions.iter().all(|r| r.as_deref() == Some(region)), "{service}: {regions:?}");
    };
    only("GuardDuty", "eu-west-1");
    only("SecurityIr", "us-east-1");
    only("Incidents", "us-west-2");
    // Tokens name the investigation's region, so moving the settings never duplicates a case.
    let token = log.iter().find(|e| e.operation == "CreateCase").and_then(|e| e.client_token.clone());
    let expected = uuid::Uuid::new_v5(
        &uuid::Uuid::from_u128(0x6f1c_2b8e_93d4_4a57_b0e1_5c7d_2f49_a836),
        b"create-case/eu-west-1/12abc34d567e8fa901bc2d34e56789f0/c0ffee00-0000-4000-8000-000000000001",
    );
    assert_eq!(token, Some(expected.to_string()));
    // The links point at the consoles of the regions the records live in.
    let item_url =
        sim.state(|s| s.related_items[MATCHING].iter().find_map(|i| i["identifier"]["value"]["url"].as_str().map(str::to_string)));
    assert!(item_url.is_some_and(|u| u.starts_with("https://us-east-1.console.aws.amazon.com/security-ir/")), "the case's console region");
}

/// The token `CreateCase` carries for an investigation of the demo detector.
fn create_case_token(region: &str, investigation: &str) -> String {
    let name = format!("create-case/{region}/12abc34d567e8fa901bc2d34e56789f0/{investigation}");
    uuid::Uuid::new_v5(&uuid::Uuid::from_u128(0x6f1c_2b8e_93d4_4a57_b0e1_5c7d_2f49_a836), name.as_bytes()).to_string()
}

#[tokio::test]
async fn a_create_case_conflict_continues_with_the_case_opened_earlier() {
    let env = start(&[]).await;
    let first = outcome(&env, "investigation-critical").await;
    // An upgrade or a configuration change alters the body under the same token:
    // the service refuses the reuse, and the product finds the case it opened before.
    let changed = env.with_config(|c| c.engagement_type = "Investigation".into());
    let again = changed.outcome(&event("investigation-critical")).await;
    assert_eq!(again["outcome"], "escalated", "{again}");
    assert_eq!(again["caseId"], first["caseId"]);
    assert_eq!(writes(&changed.sim), Writes::one_linked(), "no second case, comment or link");
    assert_eq!(
        changed.sim.state(|s| s
            .log
            .iter()
            .filter(|e| e.operation == "CreateCase" && e.error.as_deref() == Some("ConflictException"))
            .count()),
        1
    );
}

#[tokio::test]
async fn a_conflict_with_no_case_to_continue_with_names_the_investigation_and_the_token() {
    let env = start(&[]).await;
    let token = create_case_token("us-east-1", "c0ffee00-0000-4000-8000-000000000001");
    // Someone used the token for a case that does not name the investigation.
    case_by_hand(&env.sim, "Unrelated", Some(&token)).await;
    // A case whose headline names the investigation is not its case either.
    let spoof = "[High] GuardDuty investigation c0ffee00-0000-4000-8000-000000000009: see GuardDuty investigation c0ffee00-0000-4000-8000-000000000001: here";
    case_by_hand(&env.sim, spoof, None).await;
    let err = env.run(&event("investigation-critical")).await.expect_err("nothing to continue with");
    let text = err.to_string();
    assert_eq!(err.kind(), "AwsCallFailed");
    assert!(text.contains("ConflictException") && text.contains(&token) && text.contains("c0ffee00-0000-4000-8000-000000000001"), "{text}");
    assert_eq!(writes(&env.sim).cases, 2, "no case but the two made by hand");
}

#[tokio::test]
async fn the_case_carries_what_the_structured_answer_holds() {
    let env = start(&[]).await;
    let result = outcome(&env, "investigation-critical").await;
    let case_id = result["caseId"].as_str().expect("a case").to_string();
    let case = env.sim.state(|s| s.cases[&case_id].clone());
    assert_eq!(
        case["title"],
        "[Critical] GuardDuty investigation c0ffee00-0000-4000-8000-000000000001: SSH brute force on a production bastion led to instance credential use"
    );
    assert_eq!(case["impactedServices"], json!(["AWS IAM", "Amazon EC2"]));
    let description = case["description"].as_str().unwrap_or_default();
    for expected in [
        "Finding: 5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1",
        "Brute Force (T1110)",
        "Valid Accounts (T1078)",
        "EC2_INSTANCE i-0abc1234def567890, 2 finding(s)",
        "Threat actor profile:",
    ] {
        assert!(description.contains(expected), "{expected} missing from {description}");
    }
    // The findings' public remote addresses, IPv6 in full upper-case groups, the private one left out.
    assert_eq!(
        case["threatActorIpAddresses"],
        json!([
            {"ipAddress": "198.51.100.23"},
            {"ipAddress": "2001:0DB8:85A3:0000:0000:8A2E:0370:7334", "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1"}
        ])
    );
    // One comment of recommended actions, its CLI command whole.
    let comments = env.sim.state(|s| s.comments[&case_id].clone());
    let recommended: Vec<&str> =
        comments.iter().filter_map(|c| c["body"].as_str()).filter(|b| b.starts_with("Recommended actions")).collect();
    assert_eq!(recommended.len(), 1);
    let command = "  $ aws ec2 revoke-security-group-ingress --group-id sg-0123456789abcdef0 --protocol tcp --port 22 --cidr 0.0.0.0/0";
    assert!(recommended[0].contains(command), "{}", recommended[0]);
}

#[tokio::test]
async fn redeliveries_add_no_address_twice() {
    let env = start(&[]).await;
    let first = outcome(&env, "investigation-critical").await;
    outcome(&env, "investigation-critical").await;
    outcome(&env, "investigation-critical").await;
    let case_id = first["caseId"].as_str().expect("a case").to_string();
    let addresses = env.sim.state(|s| s.cases[&case_id]["threatActorIpAddresses"].as_array().map(Vec::len));
    assert_eq!(addresses, Some(2), "each address once");
    let updates = env.sim.state(|s| s.log.iter().filter(|e| e.operation == "UpdateCase").count());
    assert_eq!(updates, 1, "the case showed them: nothing written again");
}

#[tokio::test]
async fn a_failing_get_findings_fails_after_the_other_writes_and_the_retry_completes_it() {
    let env = start(&[]).await;
    env.sim.faults(|f| f.fail_next("GetFindings", 3, escalator_sim::FailKind::ServerError));
    let err = env.run(&event("investigation-critical")).await.expect_err("GetFindings fails");
    assert_eq!(err.kind(), "LinkFailed");
    assert!(err.to_string().contains("GetFindings"), "{err}");
    assert_eq!(writes(&env.sim), Writes::one_linked(), "every other write was made");
    let result = outcome(&env, "investigation-critical").await;
    assert_eq!(result["outcome"], "escalated");
    let case_id = result["caseId"].as_str().expect("a case").to_string();
    assert_eq!(env.sim.state(|s| s.cases[&case_id]["threatActorIpAddresses"].as_array().map(Vec::len)), Some(2));
}

#[tokio::test]
async fn an_incident_opened_from_a_finding_named_only_in_the_attack_progression_is_linked() {
    let env = start(&[]).await;
    // The high investigation's prompt names another finding; only its attack progression
    // names the one the matching incident was opened from.
    env.sim.state(|s| {
        let inv = s.investigations.values_mut().find(|i| i["investigationId"] == "c0ffee00-0000-4000-8000-000000000002").expect("high");
        inv["summaryData"] = json!({"threatAssessment": {"attackProgression": [{"phase": "Initial Access", "attacks": [
            {"technique": {"name": "Valid Accounts", "uid": "T1078"}, "findings": [{"uid": "5AB4C8D9E0F1A2B3C4D5E6F7A8B9C0D1"}]}
        ]}]}});
    });
    let result = outcome(&env, "investigation-high").await;
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]), "{result}");
}

/// `StartIncident`'s answer is checked as every other answer is: an ARN that is
/// not an incident record of the plan (another account's, another plan's, not
/// an ARN at all) fails the escalation before anything links or records it.
#[tokio::test]
async fn a_start_incident_answer_that_is_no_incident_of_the_plan_is_refused_before_any_write() {
    for answered in [
        "arn:aws:ssm-incidents::999999999999:incident-record/SecurityResponse/0a1b2c3d",
        "arn:aws:ssm-incidents::123456789012:incident-record/Checkout/0a1b2c3d",
        "",
        "not-an-arn",
    ] {
        let env = start(&[("INCIDENT_RESPONSE_PLAN_ARN", PLAN)]).await;
        env.sim.faults(|f| {
            f.answers.insert("StartIncident".into(), json!({ "incidentRecordArn": answered }));
        });
        let err = env.run(&event("investigation-high")).await.expect_err("refused");
        assert!(err.to_string().contains("StartIncident answered"), "{answered}: {err}");
        for op in ["UpdateRelatedItems", "CreateTimelineEvent", "CreateCaseComment"] {
            let named = env.sim.state(|s| s.log.iter().filter(|e| e.operation == op).count());
            assert_eq!(named, 0, "{answered}: no {op} for an incident that is not one");
        }
        let metadata = env.sim.state(|s| s.cases.values().map(|c| c["caseMetadata"].to_string()).collect::<String>());
        assert!(answered.is_empty() || !metadata.contains(answered), "{answered}: not in the case's metadata");
    }
}

/// `StartIncident`'s body names the case, so its token carries the case id: the
/// incident of another case (a case opened again, after a conflict, say) is
/// started under a token of its own instead of meeting the first one's and
/// failing with a conflict on every retry.
#[tokio::test]
async fn start_incident_tokens_carry_the_case_they_name() {
    let env = start(&[("INCIDENT_RESPONSE_PLAN_ARN", PLAN)]).await;
    assert_eq!(outcome(&env, "investigation-high").await["incidentStarted"], true);
    // The started incident resolved, and Security IR past its token window with
    // the case gone: a new case opens and needs its own incident, while Incident
    // Manager still remembers the first StartIncident's token.
    env.sim.state(|s| {
        for r in s.incident_records.values_mut() {
            if r["title"].as_str().is_some_and(|t| t.contains("c0ffee00-0000-4000-8000-000000000002")) {
                r["status"] = json!("RESOLVED");
            }
        }
    });
    env.sim.expire_tokens_of(escalator_sim::model::Service::SecurityIr);
    env.sim.state(|s| s.cases.clear());
    let second = outcome(&env, "investigation-high").await;
    assert_eq!(second["incidentStarted"], true, "{second}");
    let tokens: std::collections::BTreeSet<String> =
        env.sim.state(|s| s.log.iter().filter(|e| e.operation == "StartIncident").filter_map(|e| e.client_token.clone()).collect());
    assert_eq!(tokens.len(), 2, "one token per case the incident names");
}

/// A `GetFindings` that IAM denies never blocks the case or its links: the case
/// is complete without threat actor addresses, and the escalation succeeds (a
/// warning and a `degraded` metric say why), instead of failing every retry.
#[tokio::test]
async fn a_denied_get_findings_leaves_the_addresses_out_and_the_case_complete() {
    let stack = stack_for(&[]);
    let mut statements = stack.function_policy().expect("policy");
    for s in &mut statements {
        s.actions.retain(|a| a != "guardduty:GetFindings");
    }
    let sim = escalator_sim::Sim::start_with(escalator_sim::demo_fixture(), escalator_sim::Authorization::Policy(stack, statements))
        .await
        .expect("simulation");
    let config = investigation_escalator::Config::from_lookup(|_| None).expect("config");
    let app = investigation_escalator::App::new(config, &escalator_sim::sdk_config(&sim).await, investigation_escalator::Clock::system());
    let invocation = app.invocation("denied-findings", std::time::Duration::from_secs(60));
    let result = investigation_escalator::run(&app, &event("investigation-critical"), &invocation).await;
    let result = result.unwrap_or_else(|e| panic!("the case is complete without the addresses: {e}"));
    assert!(matches!(result, Outcome::Escalated { case_id: Some(_), .. }), "{result:?}");
    let denied = sim.state(|s| s.log.iter().filter(|e| e.operation == "GetFindings" && e.status == 403).count());
    assert!(denied >= 1, "GetFindings was asked, and denied");
    assert_eq!(writes(&sim), Writes::one_linked(), "every link made");
    let actors = sim.state(|s| s.cases.values().map(|c| c["threatActorIpAddresses"].clone()).collect::<Vec<_>>());
    assert!(actors.iter().all(|a| a.as_array().is_none_or(Vec::is_empty)), "{actors:?}");
}

/// After a `CreateCase` conflict, a case is adopted only when its tags say this
/// product opened it for this investigation: an older case retitled as the
/// investigation's (anyone who can edit cases can do that) is not, and its
/// incidents and close-out stay out of it.
#[tokio::test]
async fn a_retitled_case_is_never_adopted_after_a_conflict() {
    let env = start(&[]).await;
    let forged = case_by_hand(&env.sim, "[Critical] GuardDuty investigation c0ffee00-0000-4000-8000-000000000001: retitled", None).await;
    let first = outcome(&env, "investigation-critical").await;
    assert_ne!(first["caseId"], json!(forged));
    let changed = env.with_config(|c| c.engagement_type = "Investigation".into());
    let again = changed.outcome(&event("investigation-critical")).await;
    assert_eq!(again["caseId"], first["caseId"], "the product's own case, not the older retitled one: {again}");
    let on_forged = changed.sim.state(|s| s.comments.get(&forged).map_or(0, Vec::len));
    assert_eq!(on_forged, 0, "nothing written to the retitled case");
}

/// `UpdateCase` takes no token, and nothing documents `threatActorIpAddressesToAdd`
/// as a set. The window that leaves, measured: with the ledger one delivery of
/// eight concurrent ones writes the addresses; without it every delivery that
/// read the case before the first `UpdateCase` landed sends them too (the
/// simulation, like a set, keeps one copy; docs/design.md §5b states the window).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_threat_actor_window_without_a_ledger_is_the_deliveries_that_read_the_case_first() {
    async fn update_cases(env: &TestEnv) -> usize {
        let e = event("investigation-critical");
        let invocations: Vec<_> = (0..8).map(|_| env.invocation()).collect();
        let runs = invocations.iter().map(|i| investigation_escalator::run(&env.app, &e, i));
        let results = futures_util::future::join_all(runs).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        env.calls("UpdateCase")
    }
    let with_ledger = start_with_ledger(escalator_sim::demo_fixture(), &[]).await;
    assert_eq!(update_cases(&with_ledger).await, 1, "under the lease only its holder writes");
    let without = start(&[]).await;
    // A slow UpdateCase, as a busy service's: every delivery reads the case before the first lands.
    without.sim.faults(|f| f.set("UpdateCase", OpFaults { latency_ms: 300, ..Default::default() }));
    let window = update_cases(&without).await;
    eprintln!("without a ledger, {window} of 8 concurrent deliveries sent UpdateCase with the addresses");
    assert!(window > 1, "the window exists without the ledger ({window}), which is why the template deploys one");
    let listed: Vec<String> = without.sim.state(|s| {
        s.cases
            .values()
            .flat_map(|c| c["threatActorIpAddresses"].as_array().cloned().unwrap_or_default())
            .map(|a| a["ipAddress"].to_string())
            .collect()
    });
    let distinct: std::collections::BTreeSet<&String> = listed.iter().collect();
    assert_eq!(listed.len(), distinct.len(), "a set-like service keeps one copy of each: {listed:?}");
}

#[tokio::test]
async fn a_running_investigation_an_event_names_fails_loudly_when_no_sweep_comes_back_to_it() {
    // DETECTOR_ID unset (the template's default): nothing would ever come back to a `pending`.
    let env = start(&[]).await;
    let err = env.run(&event("investigation-running")).await.expect_err("no sweep");
    assert_eq!(err.kind(), "NoSweepToFinish");
    assert!(err.to_string().contains("DETECTOR_ID is unset") && err.to_string().contains("DetectorId"), "{err}");
    // A CloudTrail record of the start is an event too.
    let err = env.run(&event("cloudtrail-create-investigation")).await.expect_err("no sweep");
    assert_eq!(err.kind(), "NoSweepToFinish", "{err}");
    // A direct invoke's caller reads the answer: pending, as before.
    assert_eq!(env.outcome(&event("investigation-running")["detail"]).await["outcome"], "pending");
    // With the sweep listing its detector, pending is an honest answer.
    let swept = start(&[("DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0")]).await;
    assert_eq!(swept.outcome(&event("investigation-running")).await["outcome"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responders_metadata_edit_during_the_search_is_kept() {
    // UpdateCase replaces the whole metadata list: written from the case as read
    // before a long search, it would undo what a responder added meanwhile.
    let env = start(&[]).await;
    env.sim.faults(|f| f.set("ListIncidentRecords", OpFaults { latency_ms: 400, ..Default::default() }));
    let e = event("investigation-critical");
    let invocation = env.invocation();
    let escalation = investigation_escalator::run(&env.app, &e, &invocation);
    let responder = async {
        // Once the case is open (the search still running), a responder adds an entry.
        while env.sim.state(|s| s.cases.is_empty()) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        env.sim.state(|s| {
            let case = s.cases.values_mut().next().expect("the case");
            case["caseMetadata"] = json!([{"key": "runbook", "value": "https://wiki.example/ssh"}]);
        });
    };
    let (result, ()) = tokio::join!(escalation, responder);
    let result = serde_json::to_value(result.expect("escalated")).expect("json");
    let case_id = result["caseId"].as_str().expect("case").to_string();
    assert_eq!(
        env.sim.state(|s| s.cases[&case_id]["caseMetadata"].clone()),
        json!([{"key": "runbook", "value": "https://wiki.example/ssh"}, {"key": "ssm-incidents:incident-record-arn", "value": MATCHING}])
    );
    assert_eq!(env.sim.state(|s| s.calls("GetCase")), 2, "the search outlasted the first read: read again before the write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_search_costs_no_second_read_of_the_case() {
    // The case is read alongside the search; when both end together, that read is
    // fresh enough for the UpdateCase, which so adds no round trip to the chain.
    let env = start(&[]).await;
    let result = investigation_escalator::run(&env.app, &event("investigation-critical"), &env.invocation()).await.expect("escalated");
    let case_id = serde_json::to_value(result).expect("json")["caseId"].as_str().expect("case").to_string();
    assert_eq!(env.sim.state(|s| s.calls("GetCase")), 1);
    assert_eq!(env.sim.state(|s| s.calls("UpdateCase")), 1);
    assert_eq!(
        env.sim.state(|s| s.cases[&case_id]["caseMetadata"].clone()),
        json!([{"key": "ssm-incidents:incident-record-arn", "value": MATCHING}])
    );
}

/// The demo fixture with more open incident records, each titled `title(n)` and
/// created `created` (epoch seconds).
fn with_incidents(
    n: usize,
    title: impl Fn(usize) -> String,
    summary: impl Fn(usize) -> Option<String>,
    created: f64,
) -> escalator_sim::Fixture {
    let mut fixture = escalator_sim::demo_fixture();
    for i in 0..n {
        let mut record = json!({
            "arn": format!("arn:aws:ssm-incidents::123456789012:incident-record/Extra/{i:032x}"),
            "title": title(i), "status": "OPEN", "impact": 3, "creationTime": created, "lastModifiedTime": created,
            "lastModifiedBy": "arn:aws:iam::123456789012:role/someone", "dedupeString": "",
            "incidentRecordSource": {"createdBy": "arn:aws:iam::123456789012:role/someone", "source": "custom"},
            "notificationTargets": [], "automationExecutions": [], "relatedItems": []
        });
        if let Some(summary) = summary(i) {
            record["summary"] = json!(summary);
        }
        fixture.incident_records.push(record);
    }
    fixture
}

#[tokio::test]
async fn at_most_five_incidents_are_linked_the_strongest_first() {
    // Anyone able to create incident records can mention a known finding id: eight of them.
    let finding = "5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1";
    let named = 7;
    let fixture = with_incidents(
        8,
        |i| format!("Noise {i} about {finding}"),
        |i| (i == named).then(|| "Tracking investigation c0ffee00-0000-4000-8000-000000000001".to_string()),
        1_795_161_600.0,
    );
    let env = start_with(fixture, &[]).await;
    let result = outcome(&env, "investigation-critical").await;
    let linked = result["incidentRecordArns"].as_array().cloned().unwrap_or_default();
    assert_eq!(linked.len(), 5, "{result}");
    assert_eq!(
        linked[0],
        json!(format!("arn:aws:ssm-incidents::123456789012:incident-record/Extra/{named:032x}")),
        "the one naming the investigation first"
    );
    assert_eq!(env.calls("UpdateRelatedItems"), 5);
}

#[tokio::test]
async fn a_throttled_read_of_one_record_does_not_fail_the_search() {
    // An unrelated record, created in the window, whose every read is throttled.
    let fixture = with_incidents(1, |_| "Disk full on build agent".into(), |_| None, 1_795_161_600.0);
    let env = start_with(fixture, &[]).await;
    // The ARN travels URL-encoded in the query: match on its id alone.
    let throttled = format!("{:032x}", 0);
    env.sim.faults(|f| f.fail_when("GetIncidentRecord", &throttled, FailKind::Throttle));
    let result = outcome(&env, "investigation-critical").await;
    assert_eq!(result["outcome"], "escalated", "{result}");
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]), "{result}");
    // Before, that one throttled read failed the whole search (LinkFailed on every sweep).
}

#[tokio::test]
async fn an_incident_opened_long_after_the_investigation_does_not_match() {
    // A backfill of an old investigation must not link today's incidents: one opened a month
    // after the investigation ended, naming its finding.
    let month_later = 1_795_166_220.0 + 30.0 * 86_400.0;
    let fixture = with_incidents(1, |_| "SSH again: 5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1".into(), |_| None, month_later);
    let env = start_with(fixture, &[]).await;
    let result = outcome(&env, "investigation-critical").await;
    assert_eq!(result["incidentRecordArns"], json!([MATCHING]), "{result}");
}
