//! CloudWatch Embedded Metric Format: one log line per result that CloudWatch
//! turns into counts of escalated, skipped (by reason), pending and failed
//! investigations, with no API call (docs/design.md §8).
//!
//! [`report`] is the one path every result is counted through: the handler's
//! for a single delivery, the sweep's for each investigation it settles. A dry
//! run is counted apart (`escalated_dry_run`, `pending_dry_run`), and an
//! escalation the ledger answered (already done earlier) is not counted again.
//! `Reason` says why for a skip (its reason), a failure (its kind) and a sweep
//! (`complete` or `incomplete`).

use serde_json::json;

use crate::runtime::clock::Clock;
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;

/// The metrics namespace.
pub const NAMESPACE: &str = "InvestigationEscalator";

/// The EMF line for one invocation's outcome (`escalated`, `skipped`, `pending`
/// or `failed`), with the skip reason as a second dimension when there is one.
pub fn emf_line(outcome: &str, reason: Option<&str>, timestamp_ms: i64) -> String {
    let mut dimensions = vec![vec!["Outcome"]];
    if reason.is_some() {
        dimensions.push(vec!["Outcome", "Reason"]);
    }
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{"Name": "Investigations", "Unit": "Count"}],
            }],
        },
        "Outcome": outcome,
        "Investigations": 1,
    });
    if let Some(reason) = reason {
        line["Reason"] = json!(reason);
    }
    line.to_string()
}

/// The outcome name and reason a result is counted under, or `None` when it
/// must not be counted (the ledger answered: it was counted when it was done).
pub fn counted_as(result: Result<&Outcome, &Error>) -> Option<(&'static str, Option<&'static str>)> {
    match result {
        Err(e) => Some(("failed", Some(e.metric_reason()))),
        // A sweep that stopped early is counted apart, so an alarm can watch completeness.
        Ok(Outcome::Swept { complete, .. }) => Some(("swept", Some(if *complete { "complete" } else { "incomplete" }))),
        Ok(Outcome::Escalated { already_escalated: true, .. }) => None,
        Ok(Outcome::Escalated { dry_run: true, .. }) => Some(("escalated_dry_run", None)),
        Ok(Outcome::Pending { dry_run: true, .. }) => Some(("pending_dry_run", None)),
        Ok(outcome) => Some((outcome.name(), outcome.reason())),
    }
}

/// Every (outcome, reason) pair this build can count: what dashboards and
/// alarms may name (a test checks `template.yaml` against it).
#[cfg(test)]
fn catalogue() -> Vec<(&'static str, Option<&'static str>)> {
    let mut pairs: Vec<(&'static str, Option<&'static str>)> =
        ["escalated", "escalated_dry_run", "skipped", "pending", "pending_dry_run", "swept", "resolved", "synced", "failed", "degraded"]
            .into_iter()
            .map(|outcome| (outcome, None))
            .collect();
    pairs.extend(crate::investigation::decision::SkipReason::ALL.iter().map(|r| ("skipped", Some(r.as_str()))));
    pairs.extend(Error::METRIC_REASONS.iter().map(|r| ("failed", Some(*r))));
    pairs.extend([("swept", Some("complete")), ("swept", Some("incomplete"))]);
    pairs.extend(Degraded::ALL.iter().map(|r| ("degraded", Some(r.as_str()))));
    pairs
}

/// Why an escalation that succeeded left something out (counted as `degraded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Degraded {
    /// `GetFindings` was denied: the case has no threat actor addresses.
    ThreatActorsUnavailable,
}

impl Degraded {
    /// Every reason (what dashboards and alarms may name).
    #[cfg(test)]
    pub const ALL: [Degraded; 1] = [Degraded::ThreatActorsUnavailable];

    /// The `Reason` dimension.
    pub fn as_str(self) -> &'static str {
        match self {
            Degraded::ThreatActorsUnavailable => "threat_actors_unavailable",
        }
    }
}

/// Writes the EMF line of an escalation that succeeded without part of what it
/// carries: the case is complete, and an alarm or the dashboard can still see
/// that something was missing.
pub fn report_degraded(reason: Degraded, clock: &Clock) {
    println!("{}", emf_line("degraded", Some(reason.as_str()), clock.now_ms()));
}

/// Writes the EMF line for one result to stdout (where Lambda's log agent reads it).
pub fn report(result: Result<&Outcome, &Error>, clock: &Clock) {
    if let Some((name, reason)) = counted_as(result) {
        println!("{}", emf_line(name, reason, clock.now_ms()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn a_skip_is_counted_by_outcome_and_reason() {
        let v: Value = serde_json::from_str(&emf_line("skipped", Some("below_threshold"), 1_700_000_000_000)).expect("json");
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Outcome"], ["Outcome", "Reason"]]));
        assert_eq!(v["Outcome"], "skipped");
        assert_eq!(v["Reason"], "below_threshold");
        assert_eq!(v["Investigations"], 1);
    }

    #[test]
    fn other_outcomes_have_one_dimension() {
        let v: Value = serde_json::from_str(&emf_line("failed", None, 1)).expect("json");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Outcome"]]));
        assert!(v.get("Reason").is_none());
    }

    #[test]
    fn dry_runs_are_counted_apart_and_ledger_answers_not_at_all() {
        let escalated = |dry_run, already_escalated| Outcome::Escalated {
            investigation_id: "i".into(),
            risk_level: "High".into(),
            confidence: "High".into(),
            case_id: None,
            incident_record_arns: Vec::new(),
            incident_started: false,
            dry_run,
            already_escalated,
        };
        assert_eq!(counted_as(Ok(&escalated(false, false))), Some(("escalated", None)));
        assert_eq!(counted_as(Ok(&escalated(true, false))), Some(("escalated_dry_run", None)));
        assert_eq!(counted_as(Ok(&escalated(false, true))), None);
        let dry_pending = Outcome::Pending { investigation_id: None, finding_id: Some("f".into()), dry_run: true };
        assert_eq!(counted_as(Ok(&dry_pending)), Some(("pending_dry_run", None)));
        assert_eq!(counted_as(Ok(&Outcome::pending("i"))), Some(("pending", None)));
        let skipped = Outcome::skipped(crate::investigation::decision::SkipReason::LowConfidence, "i", None);
        assert_eq!(counted_as(Ok(&skipped)), Some(("skipped", Some("low_confidence"))));
        assert_eq!(counted_as(Err(&Error::NoDetector)), Some(("failed", Some("sweep_not_configured"))));
        let swept = |complete| Outcome::Swept { counts: crate::runtime::outcome::Counts::default(), complete, failures: Vec::new() };
        assert_eq!(counted_as(Ok(&swept(true))), Some(("swept", Some("complete"))));
        assert_eq!(counted_as(Ok(&swept(false))), Some(("swept", Some("incomplete"))));
    }

    /// The template's dashboard and alarms name only metrics this code emits
    /// (namespace, metric, dimensions and values), so the two cannot drift apart.
    #[test]
    fn the_templates_dashboard_and_alarms_name_only_metrics_the_code_emits() {
        let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"));
        let template: serde_yaml::Value = serde_yaml::from_str(text).expect("template.yaml parses");
        let emitted = catalogue();
        let check = |pairs: &[(String, String)], place: &str| {
            let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
            assert!(names == ["Outcome"] || names == ["Outcome", "Reason"], "{place}: dimensions {names:?} are not a set the code emits");
            let pair = (pairs[0].1.as_str(), pairs.get(1).map(|(_, v)| v.as_str()));
            assert!(emitted.contains(&pair), "{place}: {pair:?} is not a metric the code emits");
        };
        let mut alarms = 0;
        let mut rows = 0;
        let resources = template["Resources"].as_mapping().expect("Resources");
        for (name, resource) in resources {
            let place = name.as_str().unwrap_or_default();
            let props = &resource["Properties"];
            if resource["Type"] == "AWS::CloudWatch::Alarm" && props["Namespace"] == NAMESPACE {
                assert_eq!(props["MetricName"], "Investigations", "{place}");
                let dims = props["Dimensions"].as_sequence().expect("dimensions");
                let pairs: Vec<(String, String)> = dims
                    .iter()
                    .map(|d| (d["Name"].as_str().unwrap_or_default().to_string(), d["Value"].as_str().unwrap_or_default().to_string()))
                    .collect();
                check(&pairs, place);
                alarms += 1;
            }
            if resource["Type"] == "AWS::CloudWatch::Dashboard" {
                let serde_yaml::Value::Tagged(body) = &props["DashboardBody"] else { panic!("{place}: DashboardBody is a !Sub string") };
                // `${...}` substitutions stand for names and regions; any string will do to parse the JSON.
                let body = regex_free_substitute(body.value.as_str().expect("a string"));
                let body: Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
                for widget in body["widgets"].as_array().expect("widgets") {
                    for row in widget["properties"]["metrics"].as_array().into_iter().flatten() {
                        let row = row.as_array().expect("a metric row");
                        assert!(!row.iter().any(|v| v == "..."), "{place}: use the full form in every row: {row:?}");
                        if row[0] != NAMESPACE {
                            continue;
                        }
                        assert_eq!(row[1], "Investigations", "{place}: {row:?}");
                        let strings: Vec<String> = row[2..].iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
                        let pairs: Vec<(String, String)> =
                            strings.chunks(2).map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default())).collect();
                        check(&pairs, place);
                        rows += 1;
                    }
                }
            }
        }
        assert!(alarms >= 3, "the template's outcome alarms were not found ({alarms})");
        assert!(rows >= 20, "the dashboard's outcome rows were not found ({rows})");
    }

    /// Replaces each `${...}` of a `!Sub` string with a plain word.
    fn regex_free_substitute(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else { break };
            out.push_str("substituted");
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }
}
