//! The decision table (docs/design.md §4): what to do with an investigation.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::investigation::{Investigation, Status};

/// GuardDuty risk levels, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RiskLevel {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// GuardDuty confidence levels, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Confidence {
    /// No confidence given.
    Unknown,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl RiskLevel {
    /// Every level, lowest first.
    pub const ALL: [RiskLevel; 5] = [RiskLevel::Info, RiskLevel::Low, RiskLevel::Medium, RiskLevel::High, RiskLevel::Critical];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Info => "Info",
            RiskLevel::Low => "Low",
            RiskLevel::Medium => "Medium",
            RiskLevel::High => "High",
            RiskLevel::Critical => "Critical",
        }
    }

    /// Incident Manager impact for an incident started at this risk (1 is the most severe).
    pub fn impact(self) -> i32 {
        match self {
            RiskLevel::Critical => 1,
            RiskLevel::High => 2,
            RiskLevel::Medium => 3,
            RiskLevel::Low => 4,
            RiskLevel::Info => 5,
        }
    }
}

impl Confidence {
    /// Every level, lowest first.
    pub const ALL: [Confidence; 4] = [Confidence::Unknown, Confidence::Low, Confidence::Medium, Confidence::High];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Unknown => "Unknown",
            Confidence::Low => "Low",
            Confidence::Medium => "Medium",
            Confidence::High => "High",
        }
    }
}

impl FromStr for RiskLevel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        RiskLevel::ALL.into_iter().find(|l| l.as_str() == s).ok_or(())
    }
}

impl FromStr for Confidence {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Confidence::ALL.into_iter().find(|l| l.as_str() == s).ok_or(())
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level as GuardDuty sent it: one this build knows, or the text as sent
/// (kept for the logs and the operator, never guessed at). Parsed once, where
/// the answer is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rated<T> {
    /// A level this build knows.
    Known(T),
    /// Any other text.
    Other(String),
}

impl<T: FromStr + Copy> Rated<T> {
    /// Reads the wire spelling.
    pub fn parse(text: &str) -> Rated<T> {
        text.parse().map_or_else(|_| Rated::Other(text.to_string()), Rated::Known)
    }

    /// The level, when this build knows it.
    pub fn known(&self) -> Option<T> {
        match self {
            Rated::Known(level) => Some(*level),
            Rated::Other(_) => None,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Rated<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rated::Known(level) => level.fmt(f),
            Rated::Other(text) => f.write_str(text),
        }
    }
}

/// Why an investigation was not escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The investigation failed; its error text is logged.
    InvestigationFailed,
    /// Risk below `RISK_THRESHOLD`.
    BelowThreshold,
    /// Confidence below `MIN_CONFIDENCE`.
    LowConfidence,
    /// Risk level missing, or one this build does not know.
    UnknownRisk,
    /// A CloudTrail record of a `CreateInvestigation` call that failed.
    CreateInvestigationFailed,
    /// A finding arrived but `START_INVESTIGATIONS` is off.
    StartInvestigationsOff,
    /// A finding below `FINDING_MIN_SEVERITY`.
    BelowMinSeverity,
    /// GuardDuty refused to start another investigation (preview quota); not retried.
    InvestigationQuota,
    /// The day's investigation starts left are kept for critical findings
    /// (`RESERVED_INVESTIGATION_STARTS`); not retried.
    InvestigationQuotaReserved,
    /// A closed case this product did not open.
    UnknownCase,
    /// A sample finding (`CreateSampleFindings`): it must not spend the investigation quota.
    SampleFinding,
    /// An archived (suppressed) finding.
    ArchivedFinding,
    /// Completed with neither a start nor an end time: a case needs the incident's
    /// start, so it can never be escalated as it stands. Final, so it neither fails
    /// every sweep nor holds the sweep mark back.
    IncompleteInvestigation,
    /// A case's update left its status as last mirrored (§14).
    StatusUnchanged,
    /// A comment event found no comment left to mirror: all mirrored, or this product's own.
    NoNewComments,
    /// `MIRROR_CASE_COMMENTS=none`.
    MirroringOff,
    /// The case is closed: nothing is mirrored to or from it.
    CaseClosed,
    /// `GetIncidentRecord` does not show the incident resolved.
    IncidentNotResolved,
    /// The incident links no open case of this product's (or the case does not link it back).
    NotLinked,
    /// Every incident the case links is resolved, or none links back to it.
    NoOpenIncident,
    /// Keeping the case and its incidents in step needs the ledger (`LEDGER_TABLE`).
    NeedsLedger,
    /// A CloudTrail record of an `UpdateIncidentRecord` that resolved nothing (or failed).
    NotAResolution,
}

impl SkipReason {
    /// The reason as the result JSON and the metrics spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::InvestigationFailed => "investigation_failed",
            SkipReason::BelowThreshold => "below_threshold",
            SkipReason::LowConfidence => "low_confidence",
            SkipReason::UnknownRisk => "unknown_risk",
            SkipReason::CreateInvestigationFailed => "create_investigation_failed",
            SkipReason::StartInvestigationsOff => "start_investigations_off",
            SkipReason::BelowMinSeverity => "below_min_severity",
            SkipReason::InvestigationQuota => "investigation_quota",
            SkipReason::InvestigationQuotaReserved => "investigation_quota_reserved",
            SkipReason::UnknownCase => "unknown_case",
            SkipReason::SampleFinding => "sample_finding",
            SkipReason::ArchivedFinding => "archived_finding",
            SkipReason::IncompleteInvestigation => "incomplete_investigation",
            SkipReason::StatusUnchanged => "status_unchanged",
            SkipReason::NoNewComments => "no_new_comments",
            SkipReason::MirroringOff => "mirroring_off",
            SkipReason::CaseClosed => "case_closed",
            SkipReason::IncidentNotResolved => "incident_not_resolved",
            SkipReason::NotLinked => "not_linked",
            SkipReason::NoOpenIncident => "no_open_incident",
            SkipReason::NeedsLedger => "needs_ledger",
            SkipReason::NotAResolution => "not_a_resolution",
        }
    }

    /// Every reason.
    pub const ALL: [SkipReason; 22] = [
        SkipReason::InvestigationFailed,
        SkipReason::BelowThreshold,
        SkipReason::LowConfidence,
        SkipReason::UnknownRisk,
        SkipReason::CreateInvestigationFailed,
        SkipReason::StartInvestigationsOff,
        SkipReason::BelowMinSeverity,
        SkipReason::InvestigationQuota,
        SkipReason::InvestigationQuotaReserved,
        SkipReason::UnknownCase,
        SkipReason::SampleFinding,
        SkipReason::ArchivedFinding,
        SkipReason::IncompleteInvestigation,
        SkipReason::StatusUnchanged,
        SkipReason::NoNewComments,
        SkipReason::MirroringOff,
        SkipReason::CaseClosed,
        SkipReason::IncidentNotResolved,
        SkipReason::NotLinked,
        SkipReason::NoOpenIncident,
        SkipReason::NeedsLedger,
        SkipReason::NotAResolution,
    ];

    /// Parses the spelling of [`SkipReason::as_str`] (as the ledger stores it).
    pub fn parse(s: &str) -> Option<SkipReason> {
        SkipReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// True when a stored skip stands whatever the configuration: a failed
    /// investigation stays failed, while a threshold or confidence skip must be
    /// decided again (a lowered threshold must take effect).
    pub fn is_final(self) -> bool {
        !matches!(self, SkipReason::BelowThreshold | SkipReason::LowConfidence | SkipReason::UnknownRisk)
    }
}

/// The gates an investigation must pass to be escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gates {
    /// Lowest risk that escalates.
    pub risk_threshold: RiskLevel,
    /// Lowest confidence that escalates.
    pub min_confidence: Confidence,
}

/// What to do with one investigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Still running (or in a state this build does not know): a later delivery decides.
    Pending,
    /// Not escalated, for this reason.
    Skip(SkipReason),
    /// Escalate: open a case.
    Escalate {
        /// The investigation's risk.
        risk: RiskLevel,
        /// Its confidence (`Unknown` when missing).
        confidence: Confidence,
    },
}

/// Applies the decision table.
///
/// Risk is judged before confidence, so a low-risk, low-confidence investigation
/// reports `below_threshold`, the more useful of the two reasons.
pub fn decide(inv: &Investigation, gates: &Gates) -> Decision {
    match inv.status {
        Status::Running | Status::Other(_) => Decision::Pending,
        Status::Failed => Decision::Skip(SkipReason::InvestigationFailed),
        Status::Completed => {
            let Some(risk) = inv.known_risk() else {
                return Decision::Skip(SkipReason::UnknownRisk);
            };
            // A missing or unrecognised confidence is "Unknown": it passes only an ungated build.
            let confidence = inv.known_confidence();
            if risk < gates.risk_threshold {
                Decision::Skip(SkipReason::BelowThreshold)
            } else if inv.reference_time_ms().is_none() {
                Decision::Skip(SkipReason::IncompleteInvestigation)
            } else if confidence < gates.min_confidence {
                Decision::Skip(SkipReason::LowConfidence)
            } else {
                Decision::Escalate { risk, confidence }
            }
        }
    }
}

/// One gate of the decision table, as an operator reads it: what the
/// investigation has, what the gate asks for, and whether it passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// The gate: `status`, `risk level` or `confidence`.
    pub gate: &'static str,
    /// What the investigation has (`(none)` when it says nothing).
    pub value: String,
    /// What passes the gate, naming the setting behind it.
    pub needs: String,
    /// Whether the investigation passes it.
    pub passes: bool,
}

/// The gates [`decide`] applies, in its order, each with its verdict: the
/// investigation escalates exactly when every one passes.
pub fn checks(inv: &Investigation, gates: &Gates) -> Vec<Check> {
    let shown = |value: Option<String>| value.unwrap_or_else(|| "(none)".to_string());
    let risk = inv.known_risk();
    let confidence = inv.known_confidence();
    vec![
        Check {
            gate: "status",
            value: inv.status.as_str().to_string(),
            needs: "COMPLETED".into(),
            passes: inv.status == Status::Completed,
        },
        Check {
            gate: "risk level",
            value: shown(inv.risk_level.as_ref().map(ToString::to_string)),
            needs: format!("{} or above (RISK_THRESHOLD)", gates.risk_threshold),
            passes: risk.is_some_and(|r| r >= gates.risk_threshold),
        },
        Check {
            gate: "confidence",
            value: match &inv.confidence {
                Some(Rated::Known(c)) => c.to_string(),
                other => format!("{} (read as Unknown)", shown(other.as_ref().map(ToString::to_string))),
            },
            needs: format!("{} or above (MIN_CONFIDENCE)", gates.min_confidence),
            passes: confidence >= gates.min_confidence,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::tests::sample;

    const DEFAULT: Gates = Gates { risk_threshold: RiskLevel::High, min_confidence: Confidence::Unknown };

    fn completed(risk: Option<&str>, confidence: Option<&str>) -> Investigation {
        let mut inv = sample();
        inv.risk_level = risk.map(Rated::parse);
        inv.confidence = confidence.map(Rated::parse);
        inv
    }

    #[test]
    fn a_completed_investigation_with_no_times_is_a_final_skip_of_its_own() {
        let mut inv = completed(Some("Critical"), Some("High"));
        (inv.start_ms, inv.end_ms) = (None, None);
        assert_eq!(decide(&inv, &DEFAULT), Decision::Skip(SkipReason::IncompleteInvestigation));
        assert!(SkipReason::IncompleteInvestigation.is_final(), "never decided again, never failing a sweep");
        inv.end_ms = Some(1);
        assert!(matches!(decide(&inv, &DEFAULT), Decision::Escalate { .. }), "its end time serves as the incident's start");
        // Below the threshold it is skipped for that, whatever its times.
        let mut low = completed(Some("Low"), None);
        (low.start_ms, low.end_ms) = (None, None);
        assert_eq!(decide(&low, &DEFAULT), Decision::Skip(SkipReason::BelowThreshold));
    }

    #[test]
    fn running_is_pending() {
        let mut inv = sample();
        inv.status = Status::Running;
        assert_eq!(decide(&inv, &DEFAULT), Decision::Pending);
    }

    #[test]
    fn a_status_this_build_does_not_know_is_pending_not_final() {
        let mut inv = sample();
        inv.status = Status::Other("CANCELLED".into());
        assert_eq!(decide(&inv, &DEFAULT), Decision::Pending);
    }

    #[test]
    fn failed_is_skipped_whatever_its_risk() {
        let mut inv = completed(Some("Critical"), Some("High"));
        inv.status = Status::Failed;
        assert_eq!(decide(&inv, &DEFAULT), Decision::Skip(SkipReason::InvestigationFailed));
    }

    #[test]
    fn below_threshold_is_skipped_and_at_threshold_escalates() {
        assert_eq!(decide(&completed(Some("Medium"), Some("High")), &DEFAULT), Decision::Skip(SkipReason::BelowThreshold));
        assert_eq!(
            decide(&completed(Some("High"), Some("Low")), &DEFAULT),
            Decision::Escalate { risk: RiskLevel::High, confidence: Confidence::Low }
        );
        assert_eq!(
            decide(&completed(Some("Critical"), None), &DEFAULT),
            Decision::Escalate { risk: RiskLevel::Critical, confidence: Confidence::Unknown }
        );
    }

    #[test]
    fn every_threshold_splits_the_levels_where_it_should() {
        for threshold in RiskLevel::ALL {
            let gates = Gates { risk_threshold: threshold, min_confidence: Confidence::Unknown };
            for level in RiskLevel::ALL {
                let d = decide(&completed(Some(level.as_str()), Some("High")), &gates);
                assert_eq!(matches!(d, Decision::Escalate { .. }), level >= threshold, "{level} vs {threshold}");
            }
        }
    }

    #[test]
    fn low_confidence_is_skipped_only_when_risk_passes() {
        let gates = Gates { risk_threshold: RiskLevel::High, min_confidence: Confidence::Medium };
        assert_eq!(decide(&completed(Some("Critical"), Some("Low")), &gates), Decision::Skip(SkipReason::LowConfidence));
        assert_eq!(decide(&completed(Some("Critical"), None), &gates), Decision::Skip(SkipReason::LowConfidence));
        assert_eq!(decide(&completed(Some("Critical"), Some("Sure")), &gates), Decision::Skip(SkipReason::LowConfidence));
        assert_eq!(decide(&completed(Some("Low"), Some("Low")), &gates), Decision::Skip(SkipReason::BelowThreshold));
        assert_eq!(
            decide(&completed(Some("High"), Some("Medium")), &gates),
            Decision::Escalate { risk: RiskLevel::High, confidence: Confidence::Medium }
        );
    }

    #[test]
    fn missing_or_unknown_risk_is_skipped() {
        assert_eq!(decide(&completed(None, Some("High")), &DEFAULT), Decision::Skip(SkipReason::UnknownRisk));
        assert_eq!(decide(&completed(Some("Severe"), Some("High")), &DEFAULT), Decision::Skip(SkipReason::UnknownRisk));
        // Case matters on the wire: "critical" is not a level the service sends.
        assert_eq!(decide(&completed(Some("critical"), Some("High")), &DEFAULT), Decision::Skip(SkipReason::UnknownRisk));
    }

    #[test]
    fn skip_reasons_round_trip_and_only_gate_skips_are_redecided() {
        let spellings: std::collections::HashSet<&str> = SkipReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(spellings.len(), SkipReason::ALL.len(), "each reason has its own spelling");
        for r in SkipReason::ALL {
            assert_eq!(SkipReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(SkipReason::parse("nope"), None);
        assert!(SkipReason::InvestigationFailed.is_final());
        assert!(!SkipReason::BelowThreshold.is_final());
        assert!(!SkipReason::LowConfidence.is_final());
        assert!(!SkipReason::UnknownRisk.is_final());
    }

    #[test]
    fn impact_follows_risk() {
        let impacts: Vec<i32> = RiskLevel::ALL.iter().map(|r| r.impact()).collect();
        assert_eq!(impacts, vec![5, 4, 3, 2, 1]);
    }

    #[test]
    fn the_checks_pass_exactly_when_the_table_escalates() {
        let risks = [None, Some("Info"), Some("Low"), Some("Medium"), Some("High"), Some("Critical"), Some("Severe")];
        let confidences = [None, Some("Low"), Some("Medium"), Some("High"), Some("Certain")];
        let statuses = [Status::Running, Status::Completed, Status::Failed, Status::Other("CANCELLED".into())];
        for gates in RiskLevel::ALL.iter().flat_map(|&r| Confidence::ALL.map(|c| Gates { risk_threshold: r, min_confidence: c })) {
            for (risk, confidence, status) in risks
                .iter()
                .flat_map(|r| confidences.iter().map(move |c| (r, c)))
                .flat_map(|(r, c)| statuses.iter().map(move |s| (*r, *c, s)))
            {
                let mut inv = completed(risk, confidence);
                inv.status = status.clone();
                let checks = checks(&inv, &gates);
                let escalates = matches!(decide(&inv, &gates), Decision::Escalate { .. });
                assert_eq!(checks.iter().all(|c| c.passes), escalates, "{risk:?} {confidence:?} {status:?} {gates:?}: {checks:?}");
            }
        }
    }

    #[test]
    fn the_checks_name_the_setting_and_what_was_read() {
        let gates = Gates { risk_threshold: RiskLevel::High, min_confidence: Confidence::Medium };
        let c = checks(&completed(Some("Low"), Some("Certain")), &gates);
        assert_eq!((c[1].value.as_str(), c[1].needs.as_str(), c[1].passes), ("Low", "High or above (RISK_THRESHOLD)", false));
        assert_eq!(c[2].value, "Certain (read as Unknown)");
        assert_eq!(c[2].needs, "Medium or above (MIN_CONFIDENCE)");
        assert_eq!(checks(&completed(None, None), &gates)[1].value, "(none)");
    }
}
