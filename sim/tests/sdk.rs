//! The real AWS SDK clients against the simulation: every operation, the
//! model's validation, idempotency tokens, injected faults and authentication.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_guardduty::primitives::DateTime;
use aws_sdk_guardduty::types::{InvestigationSortCriteria, InvestigationSortField, InvestigationStatus, OrderBy, RiskLevel};
use aws_sdk_securityir::types::{CaseMetadataEntry, EngagementType, ResolverType, Watcher};
use aws_sdk_ssmincidents::types::{
    AttributeValueList, Condition, Filter, IncidentRecordStatus, ItemIdentifier, ItemType, ItemValue, RelatedItem, RelatedItemsUpdate,
    TriggerDetails,
};
use escalator_sim::model::Service;
use escalator_sim::{demo_fixture, operator_sdk_config, FailKind, OpFaults, Sim};
use serde_json::Value;

const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const CRITICAL: &str = "c0ffee00-0000-4000-8000-000000000001";
const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse";
const MATCHING: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/1f2e3d4c5b6a79880796a5b4c3d2e1f0";

struct Clients {
    sim: Sim,
    gd: aws_sdk_guardduty::Client,
    ir: aws_sdk_securityir::Client,
    im: aws_sdk_ssmincidents::Client,
}

/// Clients signed as the operator: these tests check each operation's wire
/// contract (untagged cases, any response plan), which the function's role does
/// not and need not allow; `tests/iam.rs` holds the function's own requests to it.
async fn start() -> Clients {
    let sim = Sim::start(demo_fixture()).await.expect("simulation starts");
    let config = operator_sdk_config(&sim).await;
    Clients {
        gd: aws_sdk_guardduty::Client::new(&config),
        ir: aws_sdk_securityir::Client::new(&config),
        im: aws_sdk_ssmincidents::Client::new(&config),
        sim,
    }
}

fn create_case(
    ir: &aws_sdk_securityir::Client,
    token: &str,
    title: &str,
) -> aws_sdk_securityir::operation::create_case::builders::CreateCaseFluentBuilder {
    ir.create_case()
        .client_token(token)
        .title(title)
        .description("Escalated from GuardDuty")
        .engagement_type(EngagementType::SecurityIncident)
        .resolver_type(ResolverType::SelfValue)
        .reported_incident_start_date(DateTime::from_secs(1_795_165_800))
        .impacted_accounts("123456789012")
        .set_watchers(Some(vec![]))
}

/// The error code and message of a failed SDK call.
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> (String, String) {
    let e = r.expect_err("the call should fail");
    (e.code().unwrap_or("none").to_string(), e.message().unwrap_or("").to_string())
}

#[test]
fn the_demo_fixture_is_valid_against_the_models() {
    let fixture = demo_fixture();
    assert_eq!(fixture.investigations.len(), 6);
    let models = escalator_sim::model::Models::load().expect("models load");
    for inv in &fixture.investigations {
        let mut inv = inv.clone();
        inv.as_object_mut().map(|o| o.remove("detectorId"));
        let mut problems = Vec::new();
        models.get(Service::GuardDuty).validate("Investigation", &inv, "investigation", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }
    for rec in &fixture.incident_records {
        let mut rec = rec.clone();
        let related = rec.as_object_mut().and_then(|o| o.remove("relatedItems")).unwrap_or_default();
        let mut problems = Vec::new();
        models.get(Service::Incidents).validate("IncidentRecord", &rec, "incidentRecord", &mut problems);
        models.get(Service::Incidents).validate("RelatedItemList", &related, "relatedItems", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }
}

#[tokio::test]
async fn guardduty_get_investigation() {
    let c = start().await;
    let out = c.gd.get_investigation().detector_id(DETECTOR).investigation_id(CRITICAL).send().await.expect("found");
    let inv = out.investigation().expect("investigation");
    assert_eq!(inv.status(), Some(&InvestigationStatus::Completed));
    assert_eq!(inv.risk_level(), Some(&RiskLevel::Critical));
    assert_eq!(inv.start_time().map(|t| t.secs()), Some(1_795_165_800));
    assert_eq!(inv.cloud().and_then(|c| c.account()), Some("123456789012"));

    let missing = c.gd.get_investigation().detector_id(DETECTOR).investigation_id("0000").send().await;
    assert_eq!(code(missing).0, "ResourceNotFoundException");
    // The model's pattern for investigation ids is [a-fA-F0-9\-]+.
    let (code, message) = code(c.gd.get_investigation().detector_id(DETECTOR).investigation_id("zz").send().await);
    assert_eq!(code, "BadRequestException");
    assert!(message.contains("pattern"), "{message}");
}

#[tokio::test]
async fn guardduty_list_investigations_sorts_and_pages() {
    let c = start().await;
    let sort = InvestigationSortCriteria::builder().attribute_name(InvestigationSortField::StartTime).order_by(OrderBy::Desc).build();
    let first = c.gd.list_investigations().detector_id(DETECTOR).sort_criteria(sort.clone()).max_results(4).send().await.expect("page 1");
    let ids: Vec<&str> = first.investigations().iter().filter_map(|i| i.investigation_id()).collect();
    assert_eq!(
        ids,
        [
            "c0ffee00-0000-4000-8000-000000000006",
            "c0ffee00-0000-4000-8000-000000000005",
            "c0ffee00-0000-4000-8000-000000000004",
            "c0ffee00-0000-4000-8000-000000000003"
        ]
    );
    let token = first.next_token().expect("more pages").to_string();
    let second =
        c.gd.list_investigations().detector_id(DETECTOR).sort_criteria(sort).max_results(4).next_token(token).send().await.expect("page 2");
    assert_eq!(second.investigations().len(), 2);
    assert!(second.next_token().is_none());
    assert_eq!(code(c.gd.list_investigations().detector_id(DETECTOR).max_results(51).send().await).0, "BadRequestException");
}

#[tokio::test]
async fn guardduty_create_investigation_honours_tokens_and_quota() {
    let c = start().await;
    let create =
        |token: &str, prompt: &str| c.gd.create_investigation().detector_id(DETECTOR).client_token(token).trigger_prompt(prompt).send();
    let a = create("tok-1", "Investigate finding f1").await.expect("created");
    let again = create("tok-1", "Investigate finding f1").await.expect("replayed");
    assert_eq!(a.investigation_id(), again.investigation_id());
    assert_eq!(code(create("tok-1", "Investigate finding f2").await).0, "BadRequestException");
    assert_eq!(code(create("tok-2", "").await).0, "BadRequestException");
    let inv =
        c.gd.get_investigation()
            .detector_id(DETECTOR)
            .investigation_id(a.investigation_id().unwrap_or_default())
            .send()
            .await
            .expect("exists");
    assert_eq!(inv.investigation().and_then(|i| i.status()), Some(&InvestigationStatus::Running));
    for n in 0..9 {
        create(&format!("quota-{n}"), "Investigate").await.expect("within quota");
    }
    let (code, message) = code(create("quota-10", "Investigate").await);
    assert_eq!(code, "BadRequestException");
    assert!(message.contains("quota"), "{message}");
}

#[tokio::test]
async fn security_ir_create_get_update_list() {
    let c = start().await;
    let id = create_case(&c.ir, "case-token-1", "Case one")
        .tags("guardduty:investigation-id", CRITICAL)
        .watchers(Watcher::builder().email("soc@example.com").name("SOC").build().expect("watcher"))
        .send()
        .await
        .expect("created")
        .case_id()
        .to_string();
    assert!(id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    let case = c.ir.get_case().case_id(&id).send().await.expect("found");
    assert_eq!(case.title(), Some("Case one"));
    assert_eq!(case.case_status().map(|s| s.as_str()), Some("Submitted"));
    assert_eq!(case.impacted_accounts(), ["123456789012"]);
    assert_eq!(case.watchers().len(), 1);
    assert!(case.case_metadata().is_empty());

    let entry = CaseMetadataEntry::builder().key("incident").value(MATCHING).build().expect("entry");
    c.ir.update_case().case_id(&id).case_metadata(entry).send().await.expect("updated");
    let case = c.ir.get_case().case_id(&id).send().await.expect("found");
    assert_eq!(case.case_metadata().iter().map(|e| e.value()).collect::<Vec<_>>(), [MATCHING]);

    let listed = c.ir.list_cases().send().await.expect("listed");
    assert_eq!(listed.items().iter().map(|i| i.case_id()).collect::<Vec<_>>(), [id.as_str()]);
    assert_eq!(code(c.ir.get_case().case_id("9999999999").send().await).0, "ResourceNotFoundException");
    assert_eq!(code(c.ir.get_case().case_id("12").send().await).0, "ValidationException");
}

#[tokio::test]
async fn security_ir_rejects_what_the_model_rejects() {
    let c = start().await;
    let (code_, message) = code(create_case(&c.ir, "t-long", &"x".repeat(301)).send().await);
    assert_eq!(code_, "ValidationException");
    assert!(message.contains("title") && message.contains("300"), "{message}");
    let eleven_digits =
        c.ir.create_case()
            .title("t")
            .description("d")
            .engagement_type(EngagementType::Investigation)
            .resolver_type(ResolverType::Aws)
            .reported_incident_start_date(DateTime::from_secs(0))
            .impacted_accounts("12345678901")
            .set_watchers(Some(vec![]))
            .send()
            .await;
    let (code_, message) = code(eleven_digits);
    assert_eq!(code_, "ValidationException");
    assert!(message.contains("impactedAccounts"), "{message}");
    let unknown_enum = create_case(&c.ir, "t-enum", "t").engagement_type(EngagementType::from("Incident")).send().await;
    let (code_, message) = code(unknown_enum);
    assert_eq!(code_, "ValidationException");
    assert!(message.contains("enum"), "{message}");
    // Required members: watchers is required even when empty.
    let no_watchers = create_case(&c.ir, "t-w", "t").set_watchers(None).send().await;
    assert_eq!(code(no_watchers).0, "ValidationException");
    // 12-character multi-byte title: counted in characters, accepted.
    create_case(&c.ir, "t-mb", &"é".repeat(300)).send().await.expect("300 characters are allowed");
    // Nothing invalid was written.
    assert_eq!(c.sim.state(|s| s.cases.len()), 1);
}

#[tokio::test]
async fn security_ir_tokens_replay_or_conflict() {
    let c = start().await;
    let a = create_case(&c.ir, "same", "Title").send().await.expect("created");
    let b = create_case(&c.ir, "same", "Title").send().await.expect("replayed");
    assert_eq!(a.case_id(), b.case_id());
    let (code_, _) = code(create_case(&c.ir, "same", "Other title").send().await);
    assert_eq!(code_, "ConflictException");
    // No token: the SDK fills a random one, so two calls make two cases.
    create_case(&c.ir, "", "t").set_client_token(None).send().await.expect("created");
    create_case(&c.ir, "", "t").set_client_token(None).send().await.expect("created");
    assert_eq!(c.sim.state(|s| s.cases.len()), 3);

    let id = a.case_id();
    let comment = |token: &str, body: &str| c.ir.create_case_comment().case_id(id).client_token(token).body(body).send();
    let first = comment("c1", "hello").await.expect("commented");
    assert_eq!(first.comment_id(), "000001");
    assert_eq!(comment("c1", "hello").await.expect("replayed").comment_id(), "000001");
    assert_eq!(code(comment("c1", "changed").await).0, "ConflictException");
    assert_eq!(code(comment("c2", &"b".repeat(12_001)).await).0, "ValidationException");
    let listed = c.ir.list_comments().case_id(id).send().await.expect("listed");
    assert_eq!(listed.total(), Some(1));
    assert_eq!(listed.items()[0].body(), Some("hello"));
}

#[tokio::test]
async fn incidents_list_get_and_filter() {
    let c = start().await;
    let open = Filter::builder()
        .key("status")
        .condition(Condition::Equals(AttributeValueList::StringValues(vec!["OPEN".into()])))
        .build()
        .expect("filter");
    let mut pages = c.im.list_incident_records().filters(open.clone()).max_results(1).into_paginator().send();
    let mut arns = Vec::new();
    while let Some(page) = pages.next().await {
        arns.extend(page.expect("page").incident_record_summaries().iter().map(|s| s.arn().to_string()));
    }
    assert_eq!(arns.len(), 3, "three open records, one a page: {arns:?}");
    let recent = Filter::builder()
        .key("creationTime")
        .condition(Condition::After(DateTime::from_secs(1_795_165_200 - 2_000)))
        .build()
        .expect("filter");
    let out = c.im.list_incident_records().filters(open).filters(recent).send().await.expect("listed");
    assert_eq!(out.incident_record_summaries().len(), 2);
    let bad = Filter::builder()
        .key("colour")
        .condition(Condition::Equals(AttributeValueList::StringValues(vec!["x".into()])))
        .build()
        .expect("filter");
    assert_eq!(code(c.im.list_incident_records().filters(bad).send().await).0, "ValidationException");

    let rec = c.im.get_incident_record().arn(MATCHING).send().await.expect("found");
    let rec = rec.incident_record().expect("record");
    assert_eq!(rec.status(), &IncidentRecordStatus::Open);
    assert!(rec.dedupe_string().contains("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1"));
    let missing = c.im.get_incident_record().arn("arn:aws:ssm-incidents::123456789012:incident-record/X/0").send().await;
    assert_eq!(code(missing).0, "ResourceNotFoundException");
    assert_eq!(code(c.im.get_incident_record().arn("not-an-arn").send().await).0, "ValidationException");
}

fn url_item(url: &str) -> RelatedItem {
    RelatedItem::builder()
        .title("Case")
        .identifier(ItemIdentifier::builder().r#type(ItemType::Other).value(ItemValue::Url(url.into())).build().expect("identifier"))
        .build()
}

#[tokio::test]
async fn incidents_related_items_and_timeline() {
    let c = start().await;
    let add = |token: &str, url: &str| {
        c.im.update_related_items()
            .incident_record_arn(MATCHING)
            .client_token(token)
            .related_items_update(RelatedItemsUpdate::ItemToAdd(url_item(url)))
            .send()
    };
    add("r1", "https://console/case/1").await.expect("added");
    add("r1", "https://console/case/1").await.expect("replayed");
    assert_eq!(code(add("r2", "https://console/case/1").await).0, "ConflictException");
    let items = c.im.list_related_items().incident_record_arn(MATCHING).send().await.expect("listed");
    assert_eq!(items.related_items().len(), 1);

    let event = |token: &str, data: &str| {
        c.im.create_timeline_event()
            .incident_record_arn(MATCHING)
            .client_token(token)
            .event_type("Custom Event")
            .event_time(DateTime::from_secs(1_795_166_220))
            .event_data(data)
            .send()
    };
    let e1 = event("t1", "escalated").await.expect("created");
    assert_eq!(event("t1", "escalated").await.expect("replayed").event_id(), e1.event_id());
    assert_eq!(code(event("t1", "different").await).0, "ConflictException");
    let listed = c.im.list_timeline_events().incident_record_arn(MATCHING).send().await.expect("listed");
    assert_eq!(listed.event_summaries().len(), 1);
    assert_eq!(c.sim.state(|s| s.timeline_events[MATCHING][0]["eventData"].clone()), Value::from("escalated"));
}

#[tokio::test]
async fn incidents_start_and_resolve() {
    let c = start().await;
    let trigger =
        TriggerDetails::builder().source("investigation-escalator").timestamp(DateTime::from_secs(1_795_166_220)).build().expect("trigger");
    let start = |token: &str, plan: &str| {
        c.im.start_incident()
            .response_plan_arn(plan)
            .client_token(token)
            .title("Started")
            .impact(2)
            .trigger_details(trigger.clone())
            .related_items(url_item("https://console/case/7"))
            .send()
    };
    let arn = start("s1", PLAN).await.expect("started").incident_record_arn().to_string();
    assert_eq!(start("s1", PLAN).await.expect("replayed").incident_record_arn(), arn);
    assert_eq!(code(start("s2", "arn:aws:ssm-incidents::123456789012:response-plan/Nope").await).0, "ResourceNotFoundException");
    assert_eq!(code(c.im.start_incident().response_plan_arn(PLAN).impact(9).send().await).0, "ValidationException");
    let items = c.im.list_related_items().incident_record_arn(&arn).send().await.expect("listed");
    assert_eq!(items.related_items().len(), 1);

    c.im.update_incident_record().arn(&arn).status(IncidentRecordStatus::Resolved).client_token("u1").send().await.expect("resolved");
    let rec = c.im.get_incident_record().arn(&arn).send().await.expect("found");
    let rec = rec.incident_record().expect("record");
    assert_eq!(rec.status(), &IncidentRecordStatus::Resolved);
    assert!(rec.resolved_time().is_some());
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let c = start().await;
    c.sim.faults(|f| f.fail_next("GetCase", 2, FailKind::Throttle));
    let id = create_case(&c.ir, "t", "t").send().await.expect("created").case_id().to_string();
    c.ir.get_case().case_id(&id).send().await.expect("the third attempt succeeds");
    let log = c.sim.state(|s| s.log.iter().filter(|e| e.operation == "GetCase").map(|e| (e.status, e.error.clone())).collect::<Vec<_>>());
    assert_eq!(log, vec![(429, Some("ThrottlingException".into())), (429, Some("ThrottlingException".into())), (200, None)]);

    // Always throttled: the SDK gives up after its attempts and surfaces the throttle.
    c.sim.faults(|f| f.set("GetCase", OpFaults { throttle_share: 1.0, ..Default::default() }));
    assert_eq!(code(c.ir.get_case().case_id(&id).send().await).0, "ThrottlingException");
}

#[tokio::test]
async fn server_errors_are_retried_and_surface_when_they_persist() {
    let c = start().await;
    c.sim.faults(|f| f.fail_next("GetIncidentRecord", 3, FailKind::ServerError));
    assert_eq!(code(c.im.get_incident_record().arn(MATCHING).send().await).0, "InternalServerException");
    assert_eq!(c.sim.state(|s| s.calls("GetIncidentRecord")), 3);
    c.im.get_incident_record().arn(MATCHING).send().await.expect("faults used up");
}

#[tokio::test]
async fn a_lost_answer_is_made_safe_by_the_token() {
    let c = start().await;
    // The first CreateCase writes, then its answer is lost as a 500; the SDK
    // retries with the same token and gets the same case.
    c.sim.faults(|f| f.fail_next("CreateCase", 1, FailKind::ServerErrorAfterWrite));
    let id = create_case(&c.ir, "lost", "t").send().await.expect("the retry succeeds").case_id().to_string();
    assert_eq!(c.sim.state(|s| s.cases.keys().cloned().collect::<Vec<_>>()), vec![id]);
    let replayed = c.sim.state(|s| s.log.iter().filter(|e| e.operation == "CreateCase").map(|e| e.replayed).collect::<Vec<_>>());
    assert_eq!(replayed, vec![false, true]);
}

#[tokio::test]
async fn latency_is_added_before_the_answer() {
    let c = start().await;
    c.sim.faults(|f| f.set("ListRelatedItems", OpFaults { latency_ms: 60, ..Default::default() }));
    let t = Instant::now();
    c.im.list_related_items().incident_record_arn(MATCHING).send().await.expect("listed");
    assert!(t.elapsed() >= Duration::from_millis(60), "{:?}", t.elapsed());
}

/// One raw HTTP/1.1 exchange (no SDK, no signature).
fn raw(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn unsigned_requests_are_refused_and_state_is_inspectable() {
    let c = start().await;
    let url = c.sim.url();
    let (status, body) = tokio::task::spawn_blocking(move || raw(&url, "POST", "/v1/list-cases", "{}")).await.expect("joined");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Authentication"), "{body}");
    let url = c.sim.url();
    let (status, body) = tokio::task::spawn_blocking(move || raw(&url, "GET", "/_sim/state", "")).await.expect("joined");
    assert_eq!(status, 200);
    let state: Value = serde_json::from_str(&body).expect("json state");
    assert_eq!(state["investigations"].as_object().map(|o| o.len()), Some(6));
    assert_eq!(state["log"].as_array().map(Vec::len), Some(1));
    let url = c.sim.url();
    let faults = r#"{"operations":{"ListCases":{"throttleShare":1.0}}}"#;
    let (status, _) = tokio::task::spawn_blocking(move || raw(&url, "POST", "/_sim/faults", faults)).await.expect("joined");
    assert_eq!(status, 200);
    assert_eq!(code(c.ir.list_cases().send().await).0, "ThrottlingException");
}

#[test]
fn every_error_body_matches_its_error_shape_in_the_model() {
    use escalator_sim::SimError;
    let models = escalator_sim::model::Models::load().expect("models load");
    let mut checked = 0;
    for service in Service::ALL {
        let model = models.get(service);
        let errors = [
            SimError::validation(service, vec![("title".into(), "too long".into())]),
            SimError::invalid(service, "bad"),
            SimError::not_found(service, "gone"),
            SimError::conflict(service, "taken", "token-1", "INCIDENT_RECORD"),
            SimError::conflict(service, "taken", "token-1", "ClientToken"),
            SimError::throttling(service),
            SimError::internal(service),
        ];
        for e in errors {
            // Only errors the model declares have a shape to meet (GuardDuty declares no throttling).
            let Some(status) = model.error_status(&e.code) else { continue };
            assert_eq!(status, e.status, "{service:?} {}", e.code);
            let mut problems = Vec::new();
            model.validate(&e.code, &e.body(), "", &mut problems);
            assert!(problems.is_empty(), "{service:?} {}: {problems:?}", e.code);
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} error bodies were checked");
}
