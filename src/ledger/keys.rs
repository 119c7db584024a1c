//! The ledger's keys: one item per investigation, case, finding and detector
//! sweep, each named by the function's Region and ids lower-cased at every edge.

/// The ledger key of an investigation.
pub fn investigation_key(region: &str, detector_id: &str, investigation_id: &str) -> String {
    format!("investigation/{region}/{detector_id}/{investigation_id}")
}

/// The ledger key of a case.
pub fn case_key(region: &str, case_id: &str) -> String {
    format!("case/{region}/{case_id}")
}

/// The ledger key of a finding.
pub fn finding_key(region: &str, detector_id: &str, finding_id: &str) -> String {
    format!("finding/{region}/{detector_id}/{finding_id}")
}

/// The ledger key of a detector's investigation starts on one UTC day (days since the epoch).
pub fn starts_key(region: &str, detector_id: &str, day: i64) -> String {
    format!("starts/{region}/{detector_id}/{day}")
}

/// The ledger key of a detector's sweep progress.
pub fn sweep_key(region: &str, detector_id: &str) -> String {
    format!("sweep/{region}/{detector_id}")
}
