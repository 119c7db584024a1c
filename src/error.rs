//! The errors an invocation can end with. Each one makes the invocation fail,
//! so Lambda retries it and, at last, the dead-letter queue keeps the event.

use lambda_runtime::Diagnostic;
use thiserror::Error;

use crate::aws::AwsError;
use crate::case_builder::CaseError;
use crate::event::EventError;

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
    /// A scheduled sweep arrived but `DETECTOR_ID` is not set.
    #[error("the scheduled sweep needs DETECTOR_ID (the GuardDuty detector whose investigations it lists); it is not set")]
    NoDetector,
    /// A sweep in which some investigations failed (the others were finished).
    #[error("sweep: {} investigation(s) failed ({counts:?}, complete: {complete}): {}", failures.len(), failures.join("; "))]
    Sweep {
        /// What the sweep did.
        counts: crate::outcome::Counts,
        /// Whether it reached the end of its list.
        complete: bool,
        /// `investigationId: error` for each failure.
        failures: Vec<String>,
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
            Error::NoDetector => "SweepNotConfigured",
            Error::Sweep { .. } => "SweepPartlyFailed",
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Diagnostic {
        Diagnostic { error_type: e.kind().to_string(), error_message: e.to_string() }
    }
}
