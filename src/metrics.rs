//! CloudWatch Embedded Metric Format: one log line per invocation that
//! CloudWatch turns into counts of escalated, skipped (by reason), pending and
//! failed investigations, with no API call.

use serde_json::json;

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
}
