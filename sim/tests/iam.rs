//! The simulation authorizes the function's requests as IAM would: the real SDK
//! clients, signed as the function, against the template's role and against
//! that role with one grant changed, each change a fault IAM would refuse.

use aws_sdk_guardduty::error::ProvideErrorMetadata;
use aws_sdk_securityir::primitives::DateTime;
use aws_sdk_securityir::types::{EngagementType, ResolverType};
use escalator_sim::iam::Statement;
use escalator_sim::{demo_fixture, operator_sdk_config, sdk_config, Authorization, Sim, Stack};
use serde_json::{json, Value};

const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const CRITICAL: &str = "c0ffee00-0000-4000-8000-000000000001";
const MATCHING: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/1f2e3d4c5b6a79880796a5b4c3d2e1f0";

/// The template's role at its defaults, with `change` applied to its statements (as JSON).
fn changed_role(change: impl Fn(&mut Vec<Value>)) -> Authorization {
    let stack = Stack::default();
    let mut statements: Vec<Value> = stack.function_policy().expect("policy").iter().map(to_json).collect();
    change(&mut statements);
    Authorization::Policy(stack, statements.iter().map(|s| Statement::parse(s).expect("statement")).collect())
}

fn to_json(s: &Statement) -> Value {
    let mut v = json!({"Effect": format!("{:?}", s.effect)});
    v[if s.not_action { "NotAction" } else { "Action" }] = json!(s.actions);
    v[if s.not_resource { "NotResource" } else { "Resource" }] = json!(s.resources);
    if let Some(sid) = &s.sid {
        v["Sid"] = json!(sid);
    }
    let mut conditions = serde_json::Map::new();
    for c in &s.conditions {
        let block = conditions.entry(c.operator.clone()).or_insert_with(|| json!({}));
        block[&c.key] = json!(c.values);
    }
    if !conditions.is_empty() {
        v["Condition"] = Value::Object(conditions);
    }
    v
}

fn sid<'a>(statements: &'a mut [Value], sid: &str) -> &'a mut Value {
    statements.iter_mut().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("the template has a statement {sid}"))
}

/// The error code, HTTP status and message of a failed call.
fn denial<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, aws_sdk_guardduty::error::SdkError<E>>,
) -> (String, u16, String) {
    let e = r.expect_err("the call is denied");
    let status = e.raw_response().map_or(0, |r| r.status().as_u16());
    (e.code().unwrap_or_default().to_string(), status, e.message().unwrap_or_default().to_string())
}

#[tokio::test]
async fn guardduty_investigations_are_authorized_on_star_and_a_detector_scoped_grant_is_denied() {
    // The grant as the template had it before: the detector named as the resource.
    let scoped = changed_role(|s| {
        sid(s, "GuardDutyInvestigationsRead")["Resource"] = json!(format!("arn:aws:guardduty:us-east-1:123456789012:detector/{DETECTOR}"));
    });
    let sim = Sim::start_with(demo_fixture(), scoped).await.expect("sim");
    let gd = aws_sdk_guardduty::Client::new(&sdk_config(&sim).await);
    let (code, status, message) = denial(gd.get_investigation().detector_id(DETECTOR).investigation_id(CRITICAL).send().await);
    assert_eq!((code.as_str(), status), ("AccessDeniedException", 403));
    assert!(message.contains("guardduty:GetInvestigation on resource: *"), "{message}");
    let (code, ..) = denial(gd.list_investigations().detector_id(DETECTOR).send().await);
    assert_eq!(code, "AccessDeniedException");

    // The template's grant (on *) allows them.
    let sim = Sim::start(demo_fixture()).await.expect("sim");
    let gd = aws_sdk_guardduty::Client::new(&sdk_config(&sim).await);
    gd.get_investigation().detector_id(DETECTOR).investigation_id(CRITICAL).send().await.expect("allowed");
    gd.get_findings().detector_id(DETECTOR).finding_ids("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1").send().await.expect("allowed");
    // CreateInvestigation only on the branch that grants it.
    let (code, _, message) = denial(gd.create_investigation().detector_id(DETECTOR).trigger_prompt("x").client_token("t").send().await);
    assert_eq!(code, "AccessDeniedException", "{message}");
}

fn case(
    ir: &aws_sdk_securityir::Client,
    tag: Option<&str>,
) -> aws_sdk_securityir::operation::create_case::builders::CreateCaseFluentBuilder {
    let b = ir
        .create_case()
        .title("t")
        .description("d")
        .engagement_type(EngagementType::SecurityIncident)
        .resolver_type(ResolverType::SelfValue)
        .reported_incident_start_date(DateTime::from_secs(1_795_165_800))
        .impacted_accounts("123456789012")
        .set_watchers(Some(vec![]));
    match tag {
        Some(v) => b.tags("created-by", v),
        None => b,
    }
}

#[tokio::test]
async fn cases_are_opened_only_with_the_product_tag_and_written_only_when_they_carry_it() {
    let sim = Sim::start(demo_fixture()).await.expect("sim");
    let ir = aws_sdk_securityir::Client::new(&sdk_config(&sim).await);
    let ours = case(&ir, Some("investigation-escalator")).send().await.expect("a tagged case is allowed").case_id().to_string();
    for refused in [case(&ir, None), case(&ir, Some("someone-else"))] {
        let e = refused.send().await.expect_err("denied").into_service_error();
        assert!(e.is_access_denied_exception(), "{e:?}");
    }
    // A case a person opened (untagged): the function may read it, never write to it.
    let person = aws_sdk_securityir::Client::new(&operator_sdk_config(&sim).await);
    let theirs = case(&person, None).send().await.expect("the operator's own access").case_id().to_string();
    ir.get_case().case_id(&theirs).send().await.expect("reading is allowed");
    let e = ir.create_case_comment().case_id(&theirs).body("x").send().await.expect_err("denied").into_service_error();
    assert!(e.is_access_denied_exception(), "{e:?}");
    let e = ir.update_case().case_id(&theirs).description("x").send().await.expect_err("denied").into_service_error();
    assert!(e.is_access_denied_exception(), "{e:?}");
    ir.create_case_comment().case_id(&ours).body("x").send().await.expect("its own case");

    // Without security-ir:TagResource a tagged CreateCase is refused, naming that action.
    let untagging = changed_role(|s| s.retain(|statement| statement["Sid"] != "SecurityIncidentResponseTagOnCreate"));
    let sim = Sim::start_with(demo_fixture(), untagging).await.expect("sim");
    let ir = aws_sdk_securityir::Client::new(&sdk_config(&sim).await);
    let e = case(&ir, Some("investigation-escalator")).send().await.expect_err("denied").into_service_error();
    assert!(e.message().unwrap_or_default().contains("security-ir:TagResource"), "{e:?}");
}

#[tokio::test]
async fn the_role_tags_a_case_only_as_it_creates_it() {
    // The ownership tag is what lets the role write to a case: the role must not be
    // able to stamp it on a case someone else opened.
    let sim = Sim::start(demo_fixture()).await.expect("sim");
    let ir = aws_sdk_securityir::Client::new(&sdk_config(&sim).await);
    let person = aws_sdk_securityir::Client::new(&operator_sdk_config(&sim).await);
    let arn = |id: &str| format!("arn:aws:security-ir:us-east-1:123456789012:case/{id}");
    let stamp = |id: String| ir.tag_resource().resource_arn(arn(&id)).tags("created-by", "investigation-escalator").send();
    let ours = case(&ir, Some("investigation-escalator")).send().await.expect("tag on create").case_id().to_string();
    let other_owner = case(&person, Some("someone-else")).send().await.expect("the operator's own access").case_id().to_string();
    for id in [other_owner.clone(), ours] {
        let e = stamp(id).await.expect_err("denied").into_service_error();
        assert!(e.is_access_denied_exception(), "{e:?}");
    }
    let e = ir.update_case().case_id(&other_owner).description("x").send().await.expect_err("still not ours").into_service_error();
    assert!(e.is_access_denied_exception(), "{e:?}");
    // Only the product's own tag keys, even on create.
    let e = case(&ir, Some("investigation-escalator")).tags("team", "x").send().await.expect_err("denied").into_service_error();
    assert!(e.is_access_denied_exception() && e.message().unwrap_or_default().contains("security-ir:TagResource"), "{e:?}");
    // What IAM cannot tell apart: a case with no created-by tag at all looks like one being
    // created (Security IR has no CreateAction key). The code never calls TagResource on its
    // own; docs/design.md §12 says what this leaves.
    let untagged = case(&person, None).send().await.expect("the operator's own access").case_id().to_string();
    stamp(untagged).await.expect("indistinguishable from tag on create");
}

#[tokio::test]
async fn incident_records_are_authorized_against_the_record_and_its_response_plan() {
    let sim = Sim::start(demo_fixture()).await.expect("sim");
    let im = aws_sdk_ssmincidents::Client::new(&sdk_config(&sim).await);
    im.get_incident_record().arn(MATCHING).send().await.expect("allowed");

    // Only the records named: the response plan they belong to is not.
    let records_only = changed_role(|s| {
        sid(s, "IncidentManagerRecords")["Resource"] = json!(["arn:aws:ssm-incidents::123456789012:incident-record/*"]);
    });
    let sim = Sim::start_with(demo_fixture(), records_only).await.expect("sim");
    let im = aws_sdk_ssmincidents::Client::new(&sdk_config(&sim).await);
    let e = im.get_incident_record().arn(MATCHING).send().await.expect_err("denied").into_service_error();
    let message = e.message().unwrap_or_default().to_string();
    assert!(message.contains("on resource: arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse"), "{message}");

    // UpdateRelatedItems scoped to another account's records.
    let elsewhere = changed_role(|s| {
        s.push(json!({"Sid": "Elsewhere", "Effect": "Allow", "Action": "ssm-incidents:UpdateRelatedItems",
            "Resource": "arn:aws:ssm-incidents::210987654321:incident-record/*"}));
        let records = sid(s, "IncidentManagerRecords");
        let actions: Vec<Value> =
            records["Action"].as_array().into_iter().flatten().filter(|a| *a != "ssm-incidents:UpdateRelatedItems").cloned().collect();
        records["Action"] = json!(actions);
    });
    let sim = Sim::start_with(demo_fixture(), elsewhere).await.expect("sim");
    let im = aws_sdk_ssmincidents::Client::new(&sdk_config(&sim).await);
    use aws_sdk_ssmincidents::types::{ItemIdentifier, ItemType, ItemValue, RelatedItem, RelatedItemsUpdate};
    let item = RelatedItem::builder()
        .identifier(
            ItemIdentifier::builder().r#type(ItemType::Other).value(ItemValue::Url("https://example.com".into())).build().expect("id"),
        )
        .build();
    let e = im
        .update_related_items()
        .incident_record_arn(MATCHING)
        .related_items_update(RelatedItemsUpdate::ItemToAdd(item))
        .client_token("t")
        .send()
        .await
        .expect_err("denied")
        .into_service_error();
    assert!(e.message().unwrap_or_default().contains("ssm-incidents:UpdateRelatedItems"), "{e:?}");

    // StartIncident is granted only on the configured plan, and only on that branch.
    let plan = "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse";
    let start =
        |im: aws_sdk_ssmincidents::Client| async move { im.start_incident().response_plan_arn(plan).client_token("s").send().await };
    let sim = Sim::start(demo_fixture()).await.expect("sim");
    let e = start(aws_sdk_ssmincidents::Client::new(&sdk_config(&sim).await)).await.expect_err("denied").into_service_error();
    assert!(e.is_access_denied_exception(), "{e:?}");
    let sim =
        Sim::start_with(demo_fixture(), Authorization::Stack(Stack::default().with("IncidentResponsePlanArn", plan))).await.expect("sim");
    start(aws_sdk_ssmincidents::Client::new(&sdk_config(&sim).await)).await.expect("allowed on the plan's branch");
}

#[tokio::test]
async fn a_denied_call_is_logged_and_changes_nothing() {
    let sim = Sim::start(demo_fixture()).await.expect("sim");
    let ir = aws_sdk_securityir::Client::new(&sdk_config(&sim).await);
    let _ = case(&ir, None).send().await;
    assert!(sim.state(|s| s.cases.is_empty()));
    let last = sim.state(|s| s.log.last().cloned()).expect("logged");
    assert_eq!((last.operation.as_str(), last.status, last.error.as_deref()), ("CreateCase", 403, Some("AccessDeniedException")));
}

/// The dead-letter queue admits exactly what the stack sends it: the function's
/// failure records (Lambda sends them with the function's role) and the
/// dead letters of the stack's own rules (EventBridge, for each rule). Anyone
/// else of the account is refused, even with `sqs:SendMessage` in their own
/// policy: a message they could send would be replayed as a failed event.
#[test]
fn only_the_function_and_the_stacks_rules_may_send_dead_letters() {
    use escalator_sim::iam::resource_policy::{evaluate, Caller};
    use escalator_sim::iam::Decision;
    let stack = Stack::default();
    let policy = stack.dead_letter_queue_policy().expect("the queue policy resolves");
    let queue = "arn:aws:sqs:us-east-1:123456789012:investigation-escalator-DeadLetterQueue-SIM";
    let send = |caller: &Caller| evaluate(&policy, caller, "sqs:SendMessage", queue);
    let rules = stack.rule_arns().expect("rules");
    assert_eq!(rules.len(), 7, "{rules:?}");
    for rule in rules.values() {
        let caller = Caller::Service { name: "events.amazonaws.com".into(), source_arn: rule.clone() };
        assert!(matches!(send(&caller), Decision::Allowed(_)), "the stack's rule {rule}: {:?}", send(&caller));
    }
    let function = Caller::Principal { arn: stack.role_arn(), identity_allows: true };
    assert!(matches!(send(&function), Decision::Allowed(_)), "the function's failure records: {:?}", send(&function));
    let refused = [
        (
            "a user whose policy allows sqs:SendMessage",
            Caller::Principal { arn: "arn:aws:iam::123456789012:user/mallory".into(), identity_allows: true },
        ),
        (
            "another role of the account",
            Caller::Principal { arn: "arn:aws:iam::123456789012:role/ci-deployer".into(), identity_allows: true },
        ),
        ("another account's role", Caller::Principal { arn: "arn:aws:iam::210987654321:role/attacker".into(), identity_allows: true }),
        (
            "EventBridge for another rule",
            Caller::Service { name: "events.amazonaws.com".into(), source_arn: "arn:aws:events:us-east-1:123456789012:rule/forger".into() },
        ),
        ("SNS", Caller::Service { name: "sns.amazonaws.com".into(), source_arn: "arn:aws:sns:us-east-1:123456789012:topic".into() }),
    ];
    for (who, caller) in refused {
        assert!(matches!(send(&caller), Decision::ExplicitlyDenied(_)), "{who} must be refused explicitly: {:?}", send(&caller));
    }
}
