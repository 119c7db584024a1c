//! The work each trigger leads to, one file per flow, and the dispatch from a
//! parsed [`Trigger`] to its flow (docs/design.md §2).
//!
//! - [`escalate`]: one investigation: fetch, decide, open the case, link it.
//! - [`sweep`]: the scheduled sweep of a detector's recently finished investigations.
//! - [`findings`]: starting an investigation for a severe GuardDuty finding.
//! - [`closeout`]: resolving a closed case's incident records.
//! - [`case_status`], [`case_comments`], [`incident_resolved`]: keeping a case
//!   and its incidents in step: the case's status and responders' comments on
//!   the incidents' timelines, an incident's resolution on the case.
//!
//! The incident side of an escalation (the search and the link writes) lives in
//! `crate::incident`.
//!
//! Two more serve the operator's command line, on the same paths:
//! [`explain`] (what an escalation would do, and why; reads only) and
//! [`backfill`] (the sweep's listing over a window of one's choosing, each
//! investigation escalated as a delivery is).

mod backfill;
mod case_comments;
mod case_status;
mod closeout;
mod escalate;
mod explain;
mod findings;
mod incident_resolved;
mod sweep;

pub use backfill::{backfill, Backfill, BackfillOptions, Progress};
pub use escalate::worst_case_calls;
pub use explain::{explain, CasePlan, Explanation, Facts, GatesInForce, IncidentMatch, PlannedWrite, ThreatActorView};
pub use sweep::Visited;

use serde_json::Value;
use tracing::info;

use crate::investigation::decision::SkipReason;
use crate::runtime::app::{App, Invocation};
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;
use crate::trigger::event::{self, Trigger};

/// Recognises the trigger in an invocation payload and runs its flow
/// (everything but the Lambda plumbing, which stays in the handler).
pub async fn run(app: &App, payload: &Value, invocation: &Invocation) -> Result<Outcome, Error> {
    match event::parse(payload)? {
        Trigger::Investigation(target) => {
            tracing::Span::current().record("investigationId", target.investigation_id.as_str());
            // On the heap: the escalation's future is large (several calls joined), and a
            // future on the stack of a small thread (a test's, say) could overflow it.
            Box::pin(escalate::escalate(app, &target, invocation)).await
        }
        Trigger::FailedCreateInvestigation { error_code } => {
            info!(error_code, "a CreateInvestigation call failed: nothing to escalate");
            let reason = SkipReason::CreateInvestigationFailed;
            Ok(Outcome::Skipped { reason, investigation_id: None, finding_id: None, case_id: None, risk_level: None })
        }
        Trigger::Sweep => sweep::sweep(app, invocation).await,
        Trigger::Finding(finding) => findings::start_investigation(app, &finding, invocation).await,
        Trigger::CaseClosed { case_id, event_time_ms } => closeout::close(app, &case_id, event_time_ms, invocation).await,
        Trigger::CaseUpdated { case_id } => case_status::mirror_status(app, &case_id).await,
        Trigger::CaseCommentAdded { case_id } => case_comments::mirror_comments(app, &case_id).await,
        Trigger::IncidentResolved { arn } => incident_resolved::tell_cases(app, &arn).await,
        Trigger::OtherIncidentUpdate => Ok(Outcome::Skipped {
            reason: SkipReason::NotAResolution,
            investigation_id: None,
            finding_id: None,
            case_id: None,
            risk_level: None,
        }),
    }
}

/// A skip of a case's event, naming the case.
fn case_skip(reason: SkipReason, case_id: &str) -> Outcome {
    Outcome::Skipped { reason, investigation_id: None, finding_id: None, case_id: Some(case_id.to_string()), risk_level: None }
}
