//! What a delivery does next with an investigation, from what the ledger holds
//! and what the gates decided (docs/design.md §6a): one pure function that the
//! escalation follows and the operator's `explain` reports, so the two can
//! never disagree.

use super::item::{Entry, Escalation};
use crate::investigation::decision::{Confidence, Decision, RiskLevel, SkipReason};

/// The next step for one investigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Escalated earlier: every later delivery answers with that case.
    Escalated(Escalation),
    /// Skipped; `record` when the ledger is to store the skip (a repeated one is not written again).
    Skip {
        /// Why.
        reason: SkipReason,
        /// Whether the skip is written to the ledger.
        record: bool,
    },
    /// Nothing is done now; a later delivery or sweep comes back to it.
    Pending(Wait),
    /// Open the case and link it: under a lease when there is a ledger (and not a dry run).
    Escalate {
        /// The investigation's risk.
        risk: RiskLevel,
        /// Its confidence.
        confidence: Confidence,
        /// Whether the ledger's lease is claimed first.
        under_lease: bool,
    },
}

/// Why a delivery answers `pending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// The investigation has not finished.
    Unfinished,
    /// Another invocation holds a live lease on it.
    LeaseHeld {
        /// The holder.
        owner: String,
        /// Seconds the lease has left (0: it ends this second).
        seconds_left: i64,
    },
    /// The gates would skip it, but an escalation in progress (or one that
    /// stopped) holds the ledger item: the skip is not recorded over it.
    InProgressOverSkip,
}

/// What the ledger settled for good, before anything is read from GuardDuty.
pub fn settled(prior: &Entry) -> Option<Step> {
    match prior {
        Entry::Escalated(done) => Some(Step::Escalated(done.clone())),
        Entry::Skipped { reason } if reason.is_final() => Some(Step::Skip { reason: *reason, record: false }),
        _ => None,
    }
}

/// The step after the decision. `ledger` is false without a ledger or in a dry
/// run (nothing is written to it then); `owner` is who would claim the lease.
pub fn next_step(prior: &Entry, decision: Decision, now_secs: i64, ledger: bool, owner: &str) -> Step {
    if let Some(step) = settled(prior) {
        return step;
    }
    match decision {
        Decision::Pending => Step::Pending(Wait::Unfinished),
        // An expired claim that opened nothing and never was about to: the skip takes it over.
        Decision::Skip(reason)
            if ledger
                && matches!(prior, Entry::InProgress { case_id: None, create_sent: false, lease_expires, .. } if *lease_expires < now_secs) =>
        {
            Step::Skip { reason, record: true }
        }
        Decision::Skip(_) if ledger && matches!(prior, Entry::InProgress { .. }) => Step::Pending(Wait::InProgressOverSkip),
        Decision::Skip(reason) => Step::Skip { reason, record: ledger && *prior != (Entry::Skipped { reason }) },
        Decision::Escalate { risk, confidence } if !ledger => Step::Escalate { risk, confidence, under_lease: false },
        Decision::Escalate { risk, confidence } => match prior {
            // The claim's condition: a lease is taken over once `lease_expires < now`.
            Entry::InProgress { owner: holder, lease_expires, .. } if *lease_expires >= now_secs && holder != owner => {
                Step::Pending(Wait::LeaseHeld { owner: holder.clone(), seconds_left: lease_expires - now_secs })
            }
            _ => Step::Escalate { risk, confidence, under_lease: true },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESCALATE: Decision = Decision::Escalate { risk: RiskLevel::High, confidence: Confidence::High };

    fn in_progress(owner: &str, lease_expires: i64, case_id: Option<&str>) -> Entry {
        Entry::InProgress { owner: owner.into(), lease_expires, case_id: case_id.map(str::to_string), create_sent: true }
    }

    fn done() -> Escalation {
        Escalation { case_id: "1234567890".into(), incidents: vec![], risk_level: "High".into(), confidence: "High".into() }
    }

    #[test]
    fn what_the_ledger_settled_is_answered_whatever_the_decision() {
        for decision in [Decision::Pending, Decision::Skip(SkipReason::BelowThreshold), ESCALATE] {
            assert_eq!(next_step(&Entry::Escalated(done()), decision, 0, true, "me"), Step::Escalated(done()));
            let failed = Entry::Skipped { reason: SkipReason::InvestigationFailed };
            assert_eq!(next_step(&failed, decision, 0, true, "me"), Step::Skip { reason: SkipReason::InvestigationFailed, record: false });
        }
        assert_eq!(settled(&Entry::Skipped { reason: SkipReason::BelowThreshold }), None, "a gated skip is decided again");
        assert_eq!(settled(&Entry::Absent), None);
    }

    #[test]
    fn a_skip_is_recorded_once_and_never_over_an_escalation_in_progress() {
        let low = Decision::Skip(SkipReason::BelowThreshold);
        assert_eq!(next_step(&Entry::Absent, low, 0, true, "me"), Step::Skip { reason: SkipReason::BelowThreshold, record: true });
        let again = Entry::Skipped { reason: SkipReason::BelowThreshold };
        assert_eq!(next_step(&again, low, 0, true, "me"), Step::Skip { reason: SkipReason::BelowThreshold, record: false });
        let other = Entry::Skipped { reason: SkipReason::LowConfidence };
        assert_eq!(next_step(&other, low, 0, true, "me"), Step::Skip { reason: SkipReason::BelowThreshold, record: true });
        for prior in [in_progress("other", 100, None), in_progress("other", 1, Some("1234567890"))] {
            assert_eq!(next_step(&prior, low, 50, true, "me"), Step::Pending(Wait::InProgressOverSkip));
        }
        assert_eq!(next_step(&Entry::Absent, low, 0, false, "me"), Step::Skip { reason: SkipReason::BelowThreshold, record: false });
    }

    #[test]
    fn a_skip_takes_over_an_ended_claim_only_when_no_holder_was_about_to_create() {
        let low = Decision::Skip(SkipReason::BelowThreshold);
        let opened_nothing = Entry::InProgress { owner: "other".into(), lease_expires: 10, case_id: None, create_sent: false };
        assert_eq!(next_step(&opened_nothing, low, 50, true, "me"), Step::Skip { reason: SkipReason::BelowThreshold, record: true });
        assert_eq!(next_step(&opened_nothing, low, 5, true, "me"), Step::Pending(Wait::InProgressOverSkip), "its lease still holds");
        let may_have_opened = in_progress("other", 10, None);
        assert_eq!(next_step(&may_have_opened, low, 50, true, "me"), Step::Pending(Wait::InProgressOverSkip));
    }

    #[test]
    fn an_escalation_waits_for_a_live_lease_of_another_and_takes_over_an_ended_one() {
        let held = in_progress("other", 100, None);
        assert_eq!(next_step(&held, ESCALATE, 60, true, "me"), Step::Pending(Wait::LeaseHeld { owner: "other".into(), seconds_left: 40 }));
        assert_eq!(next_step(&held, ESCALATE, 100, true, "me"), Step::Pending(Wait::LeaseHeld { owner: "other".into(), seconds_left: 0 }));
        assert_eq!(
            next_step(&held, ESCALATE, 101, true, "me"),
            Step::Escalate { risk: RiskLevel::High, confidence: Confidence::High, under_lease: true }
        );
        assert_eq!(
            next_step(&in_progress("me", 100, None), ESCALATE, 60, true, "me"),
            Step::Escalate { risk: RiskLevel::High, confidence: Confidence::High, under_lease: true }
        );
        assert_eq!(
            next_step(&Entry::Absent, ESCALATE, 0, true, "me"),
            Step::Escalate { risk: RiskLevel::High, confidence: Confidence::High, under_lease: true }
        );
    }

    #[test]
    fn without_a_ledger_or_in_a_dry_run_nothing_waits_and_nothing_is_recorded() {
        let held = in_progress("other", 100, None);
        assert_eq!(
            next_step(&held, ESCALATE, 60, false, "me"),
            Step::Escalate { risk: RiskLevel::High, confidence: Confidence::High, under_lease: false }
        );
        assert_eq!(next_step(&Entry::Absent, Decision::Pending, 0, false, "me"), Step::Pending(Wait::Unfinished));
        let low = Decision::Skip(SkipReason::LowConfidence);
        assert_eq!(next_step(&held, low, 60, false, "me"), Step::Skip { reason: SkipReason::LowConfidence, record: false });
    }
}
