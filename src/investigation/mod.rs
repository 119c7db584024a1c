//! The investigation: what GuardDuty answered, as plain data independent of
//! the SDK's types (this file), what it found ([`structured`]: scope and
//! `summaryData`, read tolerantly from the wire), and the decision table
//! ([`decision`]: escalate, skip and why, or pending; docs/design.md §4).

pub mod decision;
pub mod structured;

use crate::investigation::decision::{Confidence, Rated, RiskLevel};
use crate::investigation::structured::{Scope, SummaryData};

/// Where an investigation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Still running.
    Running,
    /// Finished with a result.
    Completed,
    /// Finished without one.
    Failed,
    /// A status this build does not know, as sent.
    Other(String),
}

impl Status {
    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Status {
        match s {
            "RUNNING" => Status::Running,
            "COMPLETED" => Status::Completed,
            "FAILED" => Status::Failed,
            other => Status::Other(other.to_string()),
        }
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
            Status::Other(other) => other,
        }
    }
}

/// A GuardDuty investigation, as `GetInvestigation` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Investigation {
    /// The detector it belongs to.
    pub detector_id: String,
    /// Its id.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// Risk level (one this build may not know).
    pub risk_level: Option<Rated<RiskLevel>>,
    /// Confidence (one this build may not know).
    pub confidence: Option<Rated<Confidence>>,
    /// The risk explanation.
    pub risk: Option<String>,
    /// The summary text.
    pub summary: Option<String>,
    /// What started it (often names the finding).
    pub trigger_prompt: String,
    /// Account of the investigated resources.
    pub account: Option<String>,
    /// Region of the investigated resources.
    pub region: Option<String>,
    /// Start, in milliseconds since the epoch.
    pub start_ms: Option<i64>,
    /// End, in milliseconds since the epoch.
    pub end_ms: Option<i64>,
    /// Error text of a failed investigation.
    pub error: Option<String>,
    /// What it was about (empty when the answer says nothing).
    pub scope: Scope,
    /// What it found, when the answer carries the structured form.
    pub summary_data: Option<SummaryData>,
}

impl Investigation {
    /// The risk level, when it is one this build knows.
    pub fn known_risk(&self) -> Option<RiskLevel> {
        self.risk_level.as_ref().and_then(Rated::known)
    }

    /// The confidence; missing or unknown to this build, it reads as `Unknown`.
    pub fn known_confidence(&self) -> Confidence {
        self.confidence.as_ref().and_then(Rated::known).unwrap_or(Confidence::Unknown)
    }

    /// The risk level as sent, for results and logs.
    pub fn risk_text(&self) -> Option<String> {
        self.risk_level.as_ref().map(ToString::to_string)
    }

    /// The time the incident is taken to have started: the investigation's start,
    /// else its end. Both are fixed once set, so the case body stays stable.
    pub fn reference_time_ms(&self) -> Option<i64> {
        self.start_ms.or(self.end_ms)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A completed critical investigation, for tests to vary.
    pub(crate) fn sample() -> Investigation {
        Investigation {
            detector_id: "12abc34d567e8fa901bc2d34e56789f0".into(),
            id: "c0ffee00-0000-4000-8000-000000000001".into(),
            status: Status::Completed,
            risk_level: Some(Rated::Known(RiskLevel::Critical)),
            confidence: Some(Rated::Known(Confidence::High)),
            risk: Some("Credential theft from a production bastion.".into()),
            summary: Some("An external host brute-forced SSH.".into()),
            trigger_prompt: "Investigate GuardDuty finding 5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1 in account 123456789012".into(),
            account: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            start_ms: Some(1_795_165_800_000),
            end_ms: Some(1_795_166_220_000),
            error: None,
            scope: Scope::default(),
            summary_data: None,
        }
    }

    #[test]
    fn statuses_parse_and_keep_unknown_spellings() {
        assert_eq!(Status::parse("RUNNING"), Status::Running);
        assert_eq!(Status::parse("COMPLETED"), Status::Completed);
        assert_eq!(Status::parse("FAILED"), Status::Failed);
        assert_eq!(Status::parse("PAUSED"), Status::Other("PAUSED".into()));
    }

    #[test]
    fn reference_time_prefers_start() {
        let mut inv = sample();
        assert_eq!(inv.reference_time_ms(), Some(1_795_165_800_000));
        inv.start_ms = None;
        assert_eq!(inv.reference_time_ms(), Some(1_795_166_220_000));
        inv.end_ms = None;
        assert_eq!(inv.reference_time_ms(), None);
    }
}
