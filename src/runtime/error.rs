//! The errors an invocation can end with. Each one makes the invocation fail,
//! so Lambda retries it and, at last, the dead-letter queue keeps the event.

use lambda_runtime::Diagnostic;
use thiserror::Error;

use crate::aws::AwsError;
use crate::case::builder::CaseError;
use crate::trigger::event::EventError;

/// Why an invocation failed.
#[derive(Debug, Error)]
pub enum Error {
    /// The event is not one this function can act on (no AWS call was made).
    #[error(transparent)]
    Event(#[from] EventError),
    /// An AWS call failed after the SDK's retries.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The investigation lacks what a case needs.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// The case exists but some writes to link it (or, at close-out, to resolve its
    /// incidents) failed; a retry completes them without a second case.
    #[error("case {case_id}: {} write(s) to link it with its incident records failed (a retry completes them): {}", failures.len(), join(failures))]
    Links {
        /// The case.
        case_id: String,
        /// Each failed write.
        failures: Vec<AwsError>,
    },
    /// The invocation's deadline came before an escalation under the ledger
    /// finished; its lease was released, so the next delivery resumes at once.
    #[error("investigation {investigation_id}: the invocation's deadline came before its escalation finished; the lease was released and a later delivery or sweep resumes where it stopped")]
    Deadline {
        /// The investigation.
        investigation_id: String,
    },
    /// A case this product opened was closed while its escalation was still
    /// linking it: the close-out fails (so it is retried) until the escalation
    /// is finished and the incidents it links are known for good.
    #[error("case {case_id} was closed while its escalation is still in progress; the close-out is retried once the links are made")]
    EscalationInProgress {
        /// The closed case.
        case_id: String,
    },
    /// Security IR refused `CreateCase` for its quota (50 active self-managed
    /// cases, 10 AWS-managed cases a day per Region). Nothing else was written;
    /// not final: a later delivery or sweep escalates once the quota allows.
    #[error("investigation {investigation_id}: Security Incident Response refused the case for its quota (close finished cases or ask for a quota increase; a later delivery or sweep escalates it): {message}")]
    CaseQuota {
        /// The investigation.
        investigation_id: String,
        /// The service's message.
        message: String,
    },
    /// A scheduled sweep arrived but `DETECTOR_ID` is not set.
    #[error("the scheduled sweep needs DETECTOR_ID (the GuardDuty detector whose investigations it lists); it is not set")]
    NoDetector,
    /// An event named an investigation that is still running, and no sweep lists
    /// its detector: answering `pending` would leave it for ever.
    #[error("investigation {investigation_id} is still running and no sweep comes back to it: DETECTOR_ID is {configured}, not its detector {detector_id}; set the stack's DetectorId (and EnableSweep) so the sweep escalates it when it finishes, or send the event again once it has")]
    NoSweepToFinish {
        /// The running investigation.
        investigation_id: String,
        /// Its detector.
        detector_id: String,
        /// What `DETECTOR_ID` is (`unset`, or the other detector).
        configured: String,
    },
}

fn join(failures: &[AwsError]) -> String {
    failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// The error type Lambda reports (`errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Event(_) => "MalformedEvent",
            Error::Aws(_) => "AwsCallFailed",
            Error::Case(_) => "InvestigationIncomplete",
            Error::Links { .. } => "LinkFailed",
            Error::Deadline { .. } => "DeadlineReached",
            Error::CaseQuota { .. } => "CaseQuotaExceeded",
            Error::NoDetector => "SweepNotConfigured",
            Error::EscalationInProgress { .. } => "EscalationInProgress",
            Error::NoSweepToFinish { .. } => "NoSweepToFinish",
        }
    }
}

impl Error {
    /// Every `Reason` a failure can be counted under.
    pub const METRIC_REASONS: [&'static str; 9] = [
        "malformed_event",
        "aws_call_failed",
        "investigation_incomplete",
        "link_failed",
        "deadline_reached",
        "case_quota",
        "sweep_not_configured",
        "escalation_in_progress",
        "no_sweep_to_finish",
    ];

    /// The `Reason` a failure is counted under (docs/design.md §8): its kind, in snake case.
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Error::Event(_) => "malformed_event",
            Error::Aws(_) => "aws_call_failed",
            Error::Case(_) => "investigation_incomplete",
            Error::Links { .. } => "link_failed",
            Error::Deadline { .. } => "deadline_reached",
            Error::CaseQuota { .. } => "case_quota",
            Error::NoDetector => "sweep_not_configured",
            Error::EscalationInProgress { .. } => "escalation_in_progress",
            Error::NoSweepToFinish { .. } => "no_sweep_to_finish",
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Diagnostic {
        Diagnostic { error_type: e.kind().to_string(), error_message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Error> {
        let aws = AwsError { operation: "CreateCase", code: "InternalServerException".into(), message: "m".into() };
        vec![
            Error::Event(EventError::NotAnObject("a string")),
            Error::Aws(aws.clone()),
            Error::Case(CaseError::NoStartTime("i".into())),
            Error::Links { case_id: "1234567890".into(), failures: vec![aws] },
            Error::Deadline { investigation_id: "i".into() },
            Error::CaseQuota { investigation_id: "i".into(), message: "m".into() },
            Error::NoDetector,
            Error::EscalationInProgress { case_id: "1234567890".into() },
            Error::NoSweepToFinish { investigation_id: "i".into(), detector_id: "d".into(), configured: "unset".into() },
        ]
    }

    #[test]
    fn every_kind_has_its_own_type_and_a_listed_metric_reason() {
        let kinds = every_kind();
        let reasons: Vec<&str> = kinds.iter().map(Error::metric_reason).collect();
        assert_eq!(reasons, Error::METRIC_REASONS, "one reason per kind, in the listed order");
        let types: std::collections::HashSet<&str> = kinds.iter().map(Error::kind).collect();
        assert_eq!(types.len(), kinds.len(), "each kind has its own errorType");
        let diagnostic = Diagnostic::from(Error::NoDetector);
        assert_eq!(diagnostic.error_type, "SweepNotConfigured");
        assert!(diagnostic.error_message.contains("DETECTOR_ID"));
    }
}
