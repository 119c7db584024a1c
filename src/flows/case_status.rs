//! Case status → incident timelines (docs/design.md §14): on a Security IR
//! `Case Updated` event, when the case's status differs from the last one
//! mirrored, one timeline event on each linked open incident. The event names
//! only the case; `GetCase` tells its status. Each transition is counted on the
//! case's ledger item, so A→B→A→B is four timeline events, and a redelivered or
//! concurrent event writes a transition once.

use futures_util::future::join_all;
use tracing::info;

use crate::aws::AwsError;
use crate::incident::{linked, links};
use crate::investigation::decision::SkipReason;
use crate::ledger::token;
use crate::runtime::app::App;
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;

/// Handles a `Case Updated` event.
pub(super) async fn mirror_status(app: &App, case_id: &str) -> Result<Outcome, Error> {
    let skip = |reason| Ok(super::case_skip(reason, case_id));
    let (ledger, case, seen) = match linked::open_case(app, case_id).await? {
        Ok(open) => open,
        Err(reason) => return skip(reason),
    };
    let status = case.status.clone().unwrap_or_default();
    let from = seen.last_status().to_string();
    if status.is_empty() || status == from {
        return skip(SkipReason::StatusUnchanged);
    }
    let arns = match linked::open_incidents(app, case_id).await? {
        Ok(arns) => arns,
        Err(reason) => return skip(reason),
    };
    if app.config.dry_run {
        info!(case_id, from, to = status, incidents = ?arns, "dry run: no timeline event written");
        return Ok(Outcome::Synced { case_id: case_id.to_string(), incident_record_arns: arns, timeline_events: 0, comments: 0 });
    }
    let n = seen.transitions + 1;
    // The case's own time of change: the same body on every delivery of this transition.
    let changed_ms = case.updated_ms.unwrap_or_else(|| app.clock.now_ms());
    let event = links::status_timeline_event(case_id, &from, &status, changed_ms, &app.case_region);
    let region = app.region.as_str();
    let event = &event;
    let writes = arns.iter().map(|arn| {
        let token = token::status_timeline_event(region, case_id, n, &from, &status, arn);
        async move { app.incidents.add_timeline_event(arn, event, &token).await }
    });
    let failures: Vec<AwsError> = join_all(writes).await.into_iter().filter_map(Result::err).collect();
    if !failures.is_empty() {
        // Not recorded: the retry writes the same transition, with the same tokens.
        return Err(Error::Links { case_id: case_id.to_string(), failures });
    }
    if !ledger.record_transition(case_id, &seen, &status).await? {
        info!(case_id, "another delivery recorded a transition meanwhile");
    }
    info!(case_id, from, to = status, transition = n, "case status mirrored");
    let timeline_events = u32::try_from(arns.len()).unwrap_or(u32::MAX);
    Ok(Outcome::Synced { case_id: case_id.to_string(), incident_record_arns: arns, timeline_events, comments: 0 })
}
