//! `GuardDuty Finding` events (docs/design.md §2): when enabled and severe
//! enough, start a GuardDuty investigation of the finding, once.

use tracing::{info, warn};

use crate::aws::AwsError;
use crate::investigation::decision::SkipReason;
use crate::ledger::keys::finding_key;
use crate::ledger::lease::{FindingClaim, FindingLease};
use crate::ledger::token;
use crate::runtime::app::{App, Invocation};
use crate::runtime::config::DAILY_INVESTIGATION_STARTS;
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;
use crate::text::fit_body;
use crate::trigger::event::Finding;

/// The severity from which GuardDuty calls a finding critical (9.0-10.0).
pub const CRITICAL_SEVERITY: f64 = 9.0;

/// How many of the day's starts a finding of `severity` may count up to: all of
/// them for a critical one, all but the `reserved` otherwise. *Why:* each distinct
/// severe finding spends one of the 10, and a burst of high ones must not leave
/// the real attack's critical finding uninvestigated for the rest of the day.
pub fn start_limit(severity: f64, reserved: u32) -> u32 {
    if severity >= CRITICAL_SEVERITY {
        DAILY_INVESTIGATION_STARTS
    } else {
        DAILY_INVESTIGATION_STARTS.saturating_sub(reserved)
    }
}

/// `CreateInvestigation`'s trigger prompt limit, in characters.
const PROMPT_MAX: usize = 2048;

/// The trigger prompt: built only from what does not change between updates of
/// one finding (never its severity or counts), so one token keeps one body.
pub fn trigger_prompt(f: &Finding) -> String {
    let prompt = format!(
        "Investigate Amazon GuardDuty finding {} of type {} in account {}, region {}: establish what happened, \
         which resources and identities are involved, and the risk to the account.",
        f.id, f.finding_type, f.account, f.region
    );
    fit_body(&prompt, PROMPT_MAX)
}

/// True for GuardDuty's answer to the preview quota (10 a day per account).
/// Only an answer that says "quota" counts: other limits (lengths, say) are real errors.
pub fn is_quota_error(e: &AwsError) -> bool {
    e.code.contains("Quota") || (e.code == "BadRequestException" && e.message.to_ascii_lowercase().contains("quota"))
}

fn skipped(f: &Finding, reason: SkipReason) -> Outcome {
    Outcome::Skipped { reason, investigation_id: None, finding_id: Some(f.id.clone()), case_id: None, risk_level: None }
}

fn pending(f: &Finding, investigation_id: Option<String>, dry_run: bool) -> Outcome {
    Outcome::Pending { investigation_id, finding_id: Some(f.id.clone()), dry_run }
}

/// Handles one finding event.
pub(super) async fn start_investigation(app: &App, f: &Finding, invocation: &Invocation) -> Result<Outcome, Error> {
    // Facts of the event itself, decided before any AWS call: samples must not spend
    // the 10-a-day investigation quota, and the account has suppressed archived ones.
    if f.sample {
        return Ok(skipped(f, SkipReason::SampleFinding));
    }
    if f.archived {
        return Ok(skipped(f, SkipReason::ArchivedFinding));
    }
    if !app.config.start_investigations {
        return Ok(skipped(f, SkipReason::StartInvestigationsOff));
    }
    if f.severity < app.config.finding_min_severity {
        return Ok(skipped(f, SkipReason::BelowMinSeverity));
    }
    if app.config.dry_run {
        info!(finding = f.id, "dry run: no investigation started");
        return Ok(pending(f, None, true));
    }
    // The configured detector is the administrator's, where investigations start.
    let detector = app.config.detector_id.as_deref().unwrap_or(&f.detector_id);
    let key = finding_key(&app.region, detector, &f.id);
    let lease = match &app.ledger {
        None => None,
        Some(ledger) => match ledger.claim_finding(&key, &invocation.request_id, invocation.deadline_secs()).await? {
            FindingClaim::Won(lease) => Some(lease),
            FindingClaim::Started { investigation_id } => {
                info!(finding = f.id, investigation = investigation_id, "an investigation was started for this finding already");
                return Ok(pending(f, Some(investigation_id), false));
            }
            FindingClaim::Held => {
                // Another invocation is starting it; should that one have crashed, the
                // finding's next update (or a later delivery) starts it once the lease ends.
                warn!(finding = f.id, "another invocation holds this finding: not started now");
                return Ok(pending(f, None, false));
            }
        },
    };
    // With a ledger, the day's starts are counted, and the reserve kept for critical findings.
    let (ledger, lease) = match (&app.ledger, lease) {
        (Some(ledger), Some(lease)) => (ledger, lease),
        (_, lease) => return start(app, f, detector, lease).await,
    };
    let day = app.clock.now_secs().div_euclid(86_400);
    let limit = start_limit(f.severity, app.config.reserved_investigation_starts);
    if !ledger.count_start(detector, day, limit).await? {
        let reason = if limit < DAILY_INVESTIGATION_STARTS {
            warn!(finding = f.id, severity = f.severity, limit, "the day's investigation starts left are reserved for critical findings");
            SkipReason::InvestigationQuotaReserved
        } else {
            warn!(finding = f.id, severity = f.severity, "the day's investigation starts are used up");
            SkipReason::InvestigationQuota
        };
        if let Err(release) = lease.release().await {
            warn!(error = %release, "could not release the finding's claim; it expires with its lease");
        }
        return Ok(skipped(f, reason));
    }
    let outcome = start(app, f, detector, Some(lease)).await;
    // A start that failed gives its count back; GuardDuty's quota answer does not (that day is spent).
    if outcome.is_err() {
        if let Err(e) = ledger.uncount_start(detector, day).await {
            warn!(error = %e, "could not give back the day's counted start");
        }
    }
    outcome
}

/// `CreateInvestigation` for the finding (holding its lease, with a ledger).
async fn start(app: &App, f: &Finding, detector: &str, lease: Option<FindingLease<'_>>) -> Result<Outcome, Error> {
    let token = token::create_investigation(&app.region, detector, &f.id);
    match app.guardduty.create_investigation(detector, &trigger_prompt(f), &token).await {
        Ok(id) => {
            info!(finding = f.id, investigation = id, "investigation started");
            if let Some(lease) = lease {
                lease.started(&id).await?;
            }
            Ok(pending(f, Some(id), false))
        }
        Err(e) => {
            if let Some(lease) = lease {
                if let Err(release) = lease.release().await {
                    warn!(error = %release, "could not release the finding's claim; it expires with its lease");
                }
            }
            if is_quota_error(&e) {
                warn!(finding = f.id, error = %e, "GuardDuty's investigation quota is used up; not retried");
                Ok(skipped(f, SkipReason::InvestigationQuota))
            } else {
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: f64) -> Finding {
        Finding {
            id: "5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1".into(),
            finding_type: "UnauthorizedAccess:EC2/SSHBruteForce".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            detector_id: "12abc34d567e8fa901bc2d34e56789f0".into(),
            severity,
            sample: false,
            archived: false,
        }
    }

    #[test]
    fn the_prompt_names_the_finding_and_ignores_what_changes() {
        let p = trigger_prompt(&finding(8.0));
        for needle in ["5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1", "UnauthorizedAccess:EC2/SSHBruteForce", "123456789012", "us-east-1"] {
            assert!(p.contains(needle), "{p}");
        }
        assert_eq!(p, trigger_prompt(&finding(2.0)));
        assert!(p.chars().count() <= PROMPT_MAX);
        let mut long = finding(8.0);
        long.finding_type = "T".repeat(5000);
        assert_eq!(trigger_prompt(&long).chars().count(), PROMPT_MAX);
    }

    #[test]
    fn critical_findings_may_use_the_reserved_starts() {
        assert_eq!(start_limit(9.0, 3), 10);
        assert_eq!(start_limit(10.0, 3), 10);
        assert_eq!(start_limit(8.9, 3), 7);
        assert_eq!(start_limit(7.0, 0), 10);
        assert_eq!(start_limit(7.0, 10), 0, "every start reserved");
        assert_eq!(start_limit(9.5, 10), 10);
    }

    #[test]
    fn quota_errors_are_recognised() {
        let e = |code: &str, message: &str| AwsError { operation: "CreateInvestigation", code: code.into(), message: message.into() };
        assert!(is_quota_error(&e("BadRequestException", "The investigation quota for this account has been reached")));
        assert!(is_quota_error(&e("ServiceQuotaExceededException", "")));
        assert!(!is_quota_error(&e("BadRequestException", "The detector id is invalid")));
        assert!(!is_quota_error(&e("BadRequestException", "triggerPrompt is over the length limit")));
        assert!(!is_quota_error(&e("InternalServerErrorException", "quota")));
    }
}
