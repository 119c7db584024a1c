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

#[tokio::test]
async fn the_days_last_starts_are_kept_for_critical_findings() {
    // A burst of high findings must not spend the 10-a-day quota that the real
    // attack's critical finding needs.
    let env = start_with_ledger(
        demo_fixture(),
        &[("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", DETECTOR), ("RESERVED_INVESTIGATION_STARTS", "3")],
    )
    .await;
    let finding = |n: u32, severity: f64| {
        let mut e = event("guardduty-finding");
        e["detail"]["id"] = json!(format!("{n:032x}"));
        e["detail"]["severity"] = json!(severity);
        e
    };
    for n in 1..=7 {
        assert_eq!(env.outcome(&finding(n, 8.0)).await["outcome"], "pending", "high finding {n} starts");
    }
    let eighth = env.outcome(&finding(8, 8.9)).await;
    assert_eq!(eighth["outcome"], "skipped", "{eighth}");
    assert_eq!(eighth["reason"], "investigation_quota_reserved", "{eighth}");
    assert_eq!(env.calls("CreateInvestigation"), 7);
    for n in 9..=11 {
        assert_eq!(env.outcome(&finding(n, 9.0)).await["outcome"], "pending", "critical finding {n} uses the reserve");
    }
    // The day is full: GuardDuty would refuse an eleventh; the count refuses it first.
    assert_eq!(env.outcome(&finding(12, 10.0)).await["reason"], "investigation_quota");
    assert_eq!(env.calls("CreateInvestigation"), 10);
    // The refused high finding was released, not recorded as started: a later day may start it.
    assert_eq!(env.outcome(&finding(8, 8.9)).await["reason"], "investigation_quota_reserved");
}
