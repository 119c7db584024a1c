//! `GuardDuty Finding` events: one investigation per finding, when enabled and
//! severe enough; the quota is not retried and releases the finding.

use serde_json::json;

use escalator_sim::demo_fixture;

use super::DETECTOR;
use crate::common::*;

#[tokio::test]
async fn findings_start_one_investigation_when_enabled_and_severe() {
    let env = start_with_ledger(demo_fixture(), &[("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", DETECTOR)]).await;
    let before = env.sim.state(|s| s.investigations.len());
    let low = env.outcome(&event("guardduty-finding-low")).await;
    assert_eq!(low["reason"], "below_min_severity");
    assert_eq!(env.calls("CreateInvestigation"), 0);

    let first = env.outcome(&event("guardduty-finding")).await;
    assert_eq!(first["outcome"], "pending");
    let id = first["investigationId"].as_str().expect("an investigation id").to_string();
    // A second delivery, even after the token window, starts nothing new.
    env.sim.expire_tokens();
    let second = env.outcome(&event("guardduty-finding")).await;
    assert_eq!(second["investigationId"], id.as_str());
    assert_eq!(env.sim.state(|s| s.investigations.len()), before + 1);
    let prompt = env.sim.state(|s| s.investigations[&format!("{DETECTOR}/{id}")]["triggerPrompt"].clone());
    assert!(prompt.as_str().is_some_and(|p| p.contains("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1")), "{prompt}");
}

#[tokio::test]
async fn findings_without_a_ledger_rely_on_the_token() {
    let env = start(&[("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", DETECTOR)]).await;
    let before = env.sim.state(|s| s.investigations.len());
    let first = env.outcome(&event("guardduty-finding")).await;
    let second = env.outcome(&event("guardduty-finding")).await;
    assert_eq!(first["investigationId"], second["investigationId"]);
    assert_eq!(env.sim.state(|s| s.investigations.len()), before + 1);
}

#[tokio::test]
async fn findings_are_off_by_default_and_the_quota_is_not_retried() {
    let off = start(&[]).await;
    assert_eq!(off.outcome(&event("guardduty-finding")).await["reason"], "start_investigations_off");
    let env = start(&[("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", DETECTOR)]).await;
    env.sim.state(|s| s.investigation_quota = 0);
    assert_eq!(env.outcome(&event("guardduty-finding")).await["reason"], "investigation_quota");
    assert_eq!(env.calls("CreateInvestigation"), 1, "one call, no retry");
}

#[tokio::test]
async fn the_quota_releases_the_finding_so_a_later_delivery_can_start_it() {
    let env = start_with_ledger(demo_fixture(), &[("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", DETECTOR)]).await;
    env.sim.state(|s| s.investigation_quota = 0);
    assert_eq!(env.outcome(&event("guardduty-finding")).await["reason"], "investigation_quota");
    env.sim.state(|s| s.investigation_quota = 10);
    let started = env.outcome(&event("guardduty-finding")).await;
    assert_eq!(started["outcome"], "pending");
    assert!(started["investigationId"].is_string(), "{started}");
}

#[tokio::test]
async fn a_failed_create_investigation_record_is_skipped() {
    let env = start(&[("DETECTOR_ID", DETECTOR)]).await;
    assert_eq!(
        env.outcome(&event("cloudtrail-create-investigation-failed")).await,
        json!({"outcome": "skipped", "reason": "create_investigation_failed"})
    );
    assert_eq!(env.outcome(&event("cloudtrail-create-investigation")).await["outcome"], "pending");
}
