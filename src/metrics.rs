//! CloudWatch Embedded Metric Format: one log line per result that CloudWatch
//! turns into counts of escalated, skipped (by reason), pending and failed
//! investigations, with no API call (docs/design.md §8).
//!
//! [`report`] is the one path every result is counted through: the handler's
//! for a single delivery, the sweep's for each investigation it settles. A dry
//! run is counted apart (`escalated_dry_run`, `pending_dry_run`), and an
//! escalation the ledger answered (already done earlier) is not counted again.

use serde_json::json;

use crate::clock::Clock;
use crate::error::Error;
use crate::outcome::Outcome;

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
        Err(_) => Some(("failed", None)),
        Ok(Outcome::Escalated { already_escalated: true, .. }) => None,
        Ok(Outcome::Escalated { dry_run: true, .. }) => Some(("escalated_dry_run", None)),
        Ok(Outcome::Pending { dry_run: true, .. }) => Some(("pending_dry_run", None)),
        Ok(outcome) => Some((outcome.name(), outcome.reason())),
    }
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
        use crate::decision::SkipReason;
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
        let skipped = Outcome::skipped(SkipReason::LowConfidence, "i", None);
        assert_eq!(counted_as(Ok(&skipped)), Some(("skipped", Some("low_confidence"))));
        assert_eq!(counted_as(Err(&Error::NoDetector)), Some(("failed", None)));
    }
}
