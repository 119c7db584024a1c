//! The result JSON (DESIGN.md section 7), for Lambda destinations and for people
//! reading logs.

use serde::Serialize;

use crate::decision::SkipReason;

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "outcome",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum Outcome {
    /// A case was opened (or, in a dry run, would have been).
    Escalated {
        /// The investigation.
        investigation_id: String,
        /// Its risk level.
        risk_level: String,
        /// Its confidence.
        confidence: String,
        /// The case (absent in a dry run).
        #[serde(skip_serializing_if = "Option::is_none")]
        case_id: Option<String>,
        /// The incident records linked (or that would be).
        incident_record_arns: Vec<String>,
        /// True when the incident was started from the response plan.
        incident_started: bool,
        /// True when nothing was written.
        dry_run: bool,
    },
    /// Not escalated.
    Skipped {
        /// Why.
        reason: SkipReason,
        /// The investigation.
        investigation_id: String,
        /// Its risk level as sent, when it had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        risk_level: Option<String>,
    },
    /// Not finished yet: a later delivery decides.
    Pending {
        /// The investigation.
        investigation_id: String,
    },
}

impl Outcome {
    /// The outcome's name, as the JSON and the metrics spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Escalated { .. } => "escalated",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Pending { .. } => "pending",
        }
    }

    /// The skip reason, if skipped.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Outcome::Skipped { reason, .. } => Some(reason.as_str()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_json_has_the_designed_shape() {
        let escalated = Outcome::Escalated {
            investigation_id: "i".into(),
            risk_level: "High".into(),
            confidence: "Medium".into(),
            case_id: Some("1234567890".into()),
            incident_record_arns: vec!["arn:aws:ssm-incidents::1:incident-record/P/1".into()],
            incident_started: false,
            dry_run: false,
        };
        assert_eq!(
            serde_json::to_value(&escalated).ok(),
            Some(
                json!({"outcome":"escalated","investigationId":"i","riskLevel":"High","confidence":"Medium",
                "caseId":"1234567890","incidentRecordArns":["arn:aws:ssm-incidents::1:incident-record/P/1"],
                "incidentStarted":false,"dryRun":false})
            )
        );
        let skipped = Outcome::Skipped {
            reason: SkipReason::BelowThreshold,
            investigation_id: "i".into(),
            risk_level: Some("Low".into()),
        };
        assert_eq!(
            serde_json::to_value(&skipped).ok(),
            Some(
                json!({"outcome":"skipped","reason":"below_threshold","investigationId":"i","riskLevel":"Low"})
            )
        );
        assert_eq!(
            serde_json::to_value(Outcome::Pending {
                investigation_id: "i".into()
            })
            .ok(),
            Some(json!({"outcome":"pending","investigationId":"i"}))
        );
    }
}
