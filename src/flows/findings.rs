//! `GuardDuty Finding` events (docs/design.md §2): when enabled and severe
//! enough, start a GuardDuty investigation of the finding, once.

use tracing::{info, warn};

use crate::aws::AwsError;
use crate::investigation::decision::SkipReason;
use crate::ledger::keys::finding_key;
use crate::ledger::lease::{FindingClaim, FindingLease};
use crate::ledger::token;
use crate::runtime::app::{App, Invocation};
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;
use crate::text::fit_body;
use crate::trigger::event::Finding;

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
    start(app, f, detector, lease).await
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
    fn quota_errors_are_recognised() {
        let e = |code: &str, message: &str| AwsError { operation: "CreateInvestigation", code: code.into(), message: message.into() };
        assert!(is_quota_error(&e("BadRequestException", "The investigation quota for this account has been reached")));
        assert!(is_quota_error(&e("ServiceQuotaExceededException", "")));
        assert!(!is_quota_error(&e("BadRequestException", "The detector id is invalid")));
        assert!(!is_quota_error(&e("BadRequestException", "triggerPrompt is over the length limit")));
        assert!(!is_quota_error(&e("InternalServerErrorException", "quota")));
    }
}
