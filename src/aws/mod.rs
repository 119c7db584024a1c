//! The AWS edge: every call this product makes, split by service. Each client
//! type takes and returns plain data; SDK types never leave this folder. Tests
//! point the same clients at the local simulation through the standard
//! endpoint configuration (`AWS_ENDPOINT_URL*`), so nothing here is test-only.
//!
//! - [`guardduty`]: investigations (read, list, start).
//! - [`security_ir`]: cases (open, read, comment, metadata).
//! - [`incidents`]: Incident Manager records, related items, timeline events.
//! - [`pages`]: the one bounded walk over a listing's pages, for every listing.
//! - [`https`]: the HTTPS client they all share (compiled-in roots, lazy connectors).

pub mod guardduty;
pub mod https;
pub mod incidents;
pub mod pages;
pub mod security_ir;

use aws_sdk_guardduty::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use thiserror::Error;

pub use guardduty::GuardDuty;
pub use incidents::Incidents;
pub use security_ir::{CaseView, SecurityIr};

/// An AWS call that failed after the SDK's own retries.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{operation} failed: {code}: {message}")]
pub struct AwsError {
    /// The operation, e.g. `CreateCase`.
    pub operation: &'static str,
    /// The service's error code, or the kind of transport failure.
    pub code: String,
    /// The service's message.
    pub message: String,
}

impl AwsError {
    pub(crate) fn new(operation: &'static str, code: &str, message: impl Into<String>) -> Self {
        AwsError { operation, code: code.to_string(), message: message.into() }
    }

    /// The service refused a reused token with another body, or a duplicate.
    pub fn is_conflict(&self) -> bool {
        self.code == "ConflictException"
    }

    /// The service refused for one of its quotas.
    pub fn is_quota(&self) -> bool {
        self.code == "ServiceQuotaExceededException"
    }

    /// The named resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code == "ResourceNotFoundException"
    }

    /// The service throttled the call (after the SDK's own retries).
    pub fn is_throttling(&self) -> bool {
        matches!(self.code.as_str(), "ThrottlingException" | "TooManyRequestsException" | "Throttling" | "RequestLimitExceeded")
    }

    /// The request named something this function cannot use (not found, not
    /// allowed, or not valid): retrying will not change the answer.
    pub fn is_unusable_reference(&self) -> bool {
        self.is_not_found() || matches!(self.code.as_str(), "AccessDeniedException" | "ValidationException")
    }
}

/// Turns an SDK error into an [`AwsError`] naming the operation.
pub(crate) fn fail<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |err| {
        let code = match &err {
            SdkError::ServiceError(_) => err.code().unwrap_or("ServiceError"),
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            _ => "Unknown",
        }
        .to_string();
        let message = err.message().map_or_else(|| DisplayErrorContext(&err).to_string(), str::to_string);
        AwsError { operation, code, message }
    }
}

pub(crate) fn build_error(operation: &'static str) -> impl FnOnce(aws_sdk_guardduty::error::BuildError) -> AwsError {
    move |e| AwsError::new(operation, "ConstructionFailure", e.to_string())
}

/// Whether a write was made now or had been made before (a token replay
/// answered with `ConflictException` means the same write already exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Made by this call (or replayed by the service from the same token).
    Done,
    /// Already there.
    AlreadyThere,
}

pub(crate) fn written<T>(result: Result<T, AwsError>) -> Result<Written, AwsError> {
    match result {
        Ok(_) => Ok(Written::Done),
        Err(e) if e.is_conflict() => Ok(Written::AlreadyThere),
        Err(e) => Err(e),
    }
}
