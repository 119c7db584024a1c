//! The result JSON (docs/design.md §7), for Lambda destinations and for people
//! reading logs.

use serde::Serialize;

use crate::investigation::decision::SkipReason;

/// The most failures a sweep's result names.
pub const MAX_FAILURES_NAMED: usize = 50;

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase", rename_all_fields = "camelCase")]
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
        /// True when the ledger says an earlier invocation did it (nothing was done now).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        already_escalated: bool,
    },
    /// Not escalated (or, for a finding or a closed case, nothing to do).
    Skipped {
        /// Why.
        reason: SkipReason,
        /// The investigation, when there is one.
        #[serde(skip_serializing_if = "Option::is_none")]
        investigation_id: Option<String>,
        /// The finding, for a finding event.
        #[serde(skip_serializing_if = "Option::is_none")]
        finding_id: Option<String>,
        /// The case, for a closed case.
        #[serde(skip_serializing_if = "Option::is_none")]
        case_id: Option<String>,
        /// The investigation's risk level as sent, when it had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        risk_level: Option<String>,
    },
    /// Not finished yet (or started just now): a later delivery or sweep decides.
    Pending {
        /// The investigation, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        investigation_id: Option<String>,
        /// The finding that started it, for a finding event.
        #[serde(skip_serializing_if = "Option::is_none")]
        finding_id: Option<String>,
        /// True when a dry run left out the write that would have started it.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        dry_run: bool,
    },
    /// A scheduled sweep.
    Swept {
        /// Investigations by outcome.
        counts: Counts,
        /// False when the sweep stopped before the deadline with work left.
        complete: bool,
        /// `investigationId: error` for each investigation that failed (at most
        /// [`MAX_FAILURES_NAMED`]; `counts.failed` counts them all). The sweep still
        /// succeeds: the next scheduled sweep is the retry.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        failures: Vec<String>,
    },
    /// A closed case's incident records were resolved.
    Resolved {
        /// The closed case.
        case_id: String,
        /// The incident records it linked, now resolved.
        incident_record_arns: Vec<String>,
    },
    /// A case and its incidents kept in step (§14): what this delivery mirrored.
    Synced {
        /// The case.
        case_id: String,
        /// The incidents written to (timeline events), or told about (a resolution).
        incident_record_arns: Vec<String>,
        /// Timeline events added to incidents (case status changes, comments).
        timeline_events: u32,
        /// Comments added to the case (incident resolutions).
        comments: u32,
    },
}

/// How many investigations a sweep took to each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Escalated (now or before).
    pub escalated: u32,
    /// Skipped.
    pub skipped: u32,
    /// Still pending, or held by another invocation.
    pub pending: u32,
    /// Failed with an error.
    pub failed: u32,
}

impl Outcome {
    /// A skip of an investigation.
    pub fn skipped(reason: SkipReason, investigation_id: &str, risk_level: Option<String>) -> Outcome {
        Outcome::Skipped { reason, investigation_id: Some(investigation_id.to_string()), finding_id: None, case_id: None, risk_level }
    }

    /// A pending investigation.
    pub fn pending(investigation_id: &str) -> Outcome {
        Outcome::Pending { investigation_id: Some(investigation_id.to_string()), finding_id: None, dry_run: false }
    }

    /// The outcome's name, as the JSON and the metrics spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Escalated { .. } => "escalated",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Pending { .. } => "pending",
            Outcome::Swept { .. } => "swept",
            Outcome::Resolved { .. } => "resolved",
            Outcome::Synced { .. } => "synced",
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

impl Counts {
    /// Counts one investigation's outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Escalated { .. } => self.escalated += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            _ => self.pending += 1,
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
            already_escalated: false,
        };
        assert_eq!(
            serde_json::to_value(&escalated).ok(),
            Some(json!({"outcome":"escalated","investigationId":"i","riskLevel":"High","confidence":"Medium",
                "caseId":"1234567890","incidentRecordArns":["arn:aws:ssm-incidents::1:incident-record/P/1"],
                "incidentStarted":false,"dryRun":false}))
        );
        let skipped = Outcome::skipped(SkipReason::BelowThreshold, "i", Some("Low".into()));
        assert_eq!(
            serde_json::to_value(&skipped).ok(),
            Some(json!({"outcome":"skipped","reason":"below_threshold","investigationId":"i","riskLevel":"Low"}))
        );
        assert_eq!(serde_json::to_value(Outcome::pending("i")).ok(), Some(json!({"outcome":"pending","investigationId":"i"})));
        let swept =
            Outcome::Swept { counts: Counts { escalated: 40, skipped: 30, pending: 20, failed: 0 }, complete: true, failures: Vec::new() };
        assert_eq!(
            serde_json::to_value(&swept).ok(),
            Some(json!({"outcome":"swept","counts":{"escalated":40,"skipped":30,"pending":20,"failed":0},"complete":true}))
        );
        let resolved = Outcome::Resolved { case_id: "1234567890".into(), incident_record_arns: vec!["a".into()] };
        assert_eq!(
            serde_json::to_value(&resolved).ok(),
            Some(json!({"outcome":"resolved","caseId":"1234567890","incidentRecordArns":["a"]}))
        );
    }

    #[test]
    fn counts_follow_outcomes() {
        let mut c = Counts::default();
        c.add(&Outcome::pending("i"));
        c.add(&Outcome::skipped(SkipReason::BelowThreshold, "i", None));
        c.add(&Outcome::pending("j"));
        assert_eq!(c, Counts { escalated: 0, skipped: 1, pending: 2, failed: 0 });
    }
}
