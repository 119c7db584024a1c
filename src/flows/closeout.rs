//! Close-out (docs/design.md §2): when a case this product opened is closed in
//! Security IR, resolve its linked open incident records, so both sides close
//! together. Each incident gets a timeline event, then `UpdateIncidentRecord`,
//! both with tokens; an incident already resolved is left alone.

use futures_util::future::join_all;
use tracing::{info, warn};

use crate::aws::AwsError;
use crate::incident::links;
use crate::investigation::decision::SkipReason;
use crate::ledger::token;
use crate::runtime::app::{App, Invocation};
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;
use crate::text::console;
use crate::trigger::ids;

/// The most other cases of one incident read to decide whether it stays open.
const MAX_OTHER_CASES: usize = 20;

/// Handles a `Case Closed` event (`event_time_ms`: the event's time, used when the
/// case carries no close date, so the timeline event's body is the same on every delivery).
pub(super) async fn close(app: &App, case_id: &str, event_time_ms: i64, invocation: &Invocation) -> Result<Outcome, Error> {
    let unknown = || Outcome::Skipped {
        reason: SkipReason::UnknownCase,
        investigation_id: None,
        finding_id: None,
        case_id: Some(case_id.to_string()),
        risk_level: None,
    };
    let case = match app.security_ir.get_case(case_id).await {
        Ok(case) => case,
        Err(e) if e.is_not_found() => return Ok(unknown()),
        Err(e) => return Err(e.into()),
    };
    let Some(incidents) = linked_incidents(app, case_id, &case.metadata, invocation.account.as_deref()).await? else {
        return Ok(unknown());
    };
    // A late or retried event for a case reopened since: leave its incidents open.
    if case.status.as_deref() != Some("Closed") {
        info!(case_id, status = ?case.status, "the case is not closed (any more): nothing to resolve");
        return Ok(Outcome::Resolved { case_id: case_id.to_string(), incident_record_arns: Vec::new() });
    }
    if app.config.dry_run {
        info!(case_id, incidents = ?incidents, "dry run: no incident resolved");
        return Ok(Outcome::Resolved { case_id: case_id.to_string(), incident_record_arns: incidents });
    }
    let closed_ms = case.closed_ms.unwrap_or(event_time_ms);
    let event = links::close_timeline_event(case_id, case.closure_code.as_deref(), closed_ms, &app.case_region);
    let results = join_all(incidents.iter().map(|arn| resolve(app, case_id, arn, &event, closed_ms))).await;
    let mut resolved = Vec::new();
    let mut failures: Vec<AwsError> = Vec::new();
    for (arn, result) in incidents.iter().zip(results) {
        match result {
            Ok(true) => resolved.push(arn.clone()),
            Ok(false) => {}
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        return Err(Error::Links { case_id: case_id.to_string(), failures });
    }
    Ok(Outcome::Resolved { case_id: case_id.to_string(), incident_record_arns: resolved })
}

/// The incidents a case links, or `None` when it is not this product's case.
///
/// With a ledger that knows the case, its case item decides: anyone who can edit a
/// case can edit its metadata, so the metadata alone is never trusted. A case the
/// ledger does not know (one another Region's stack opened), or any case without
/// a ledger, is judged by its metadata; only values that are incident record ARNs (of this
/// account, when it is known) count. Either way [`resolve`] then resolves only an
/// incident that still links back to this case.
async fn linked_incidents(
    app: &App,
    case_id: &str,
    metadata: &[(String, String)],
    account: Option<&str>,
) -> Result<Option<Vec<String>>, Error> {
    if let Some(ledger) = &app.ledger {
        match ledger.case_incidents(case_id).await? {
            Some(links) if links.escalated => return Ok(Some(links.incidents)),
            // Closed while its escalation is still linking: fail, so the close-out is
            // retried once every incident is linked (resolving fewer would be final).
            Some(_) => return Err(Error::EscalationInProgress { case_id: case_id.to_string() }),
            // Not a case this stack's ledger knows (another Region's stack opened it,
            // say): its metadata, held to the back-link check below, decides.
            None => {}
        }
    }
    let mut incidents = Vec::new();
    for value in links::linked_incidents(metadata) {
        match ids::incident_arn(&value) {
            Some(arn) if account.is_none_or(|a| ids::incident_account(&arn) == Some(a)) => incidents.push(arn),
            _ => {
                warn!(case_id, value = %ids::quote(&value), "case metadata names something that is not an incident record of this account; ignored")
            }
        }
    }
    Ok((!incidents.is_empty()).then_some(incidents))
}

/// Resolves one incident of a closed case, unless it is resolved already, gone,
/// or still linked to another of this product's cases that is open. `true` when
/// it is resolved now (or was resolved by an earlier delivery of this close-out).
async fn resolve(app: &App, case_id: &str, arn: &str, event: &links::TimelineEvent, closed_ms: i64) -> Result<bool, AwsError> {
    let region = app.region.as_str();
    let Some(record) = app.incidents.incident(arn).await? else {
        info!(incident = arn, "the linked incident record no longer exists");
        return Ok(false);
    };
    // The link this product wrote must still be there: a name in the case's metadata
    // (which anyone editing the case can change) resolves nothing on its own.
    if !links::has_case_item(&record.related_items, &links::case_item(&app.case_region, case_id)) {
        warn!(incident = arn, case_id, "the incident does not link back to this case: not resolved");
        return Ok(false);
    }
    if !record.open {
        info!(incident = arn, "already resolved");
        return Ok(true);
    }
    let others: Vec<(String, String)> =
        record.related_items.iter().filter_map(|i| console::case_from_url(&i.value)).filter(|(_, id)| id != case_id).collect();
    if others.len() > MAX_OTHER_CASES {
        warn!(incident = arn, cases = others.len(), "the incident links more cases than are checked; it stays open");
        return Ok(false);
    }
    for (other_region, other) in others {
        // A case of another Region cannot be read from the membership's: kept open, to be safe.
        if other_region != app.case_region {
            info!(incident = arn, other_case = other, other_region, "another Region's case links this incident: it stays open");
            return Ok(false);
        }
        let status = match app.security_ir.get_case(&other).await {
            Ok(case) => case.status,
            // A link to a case that does not exist holds nothing open.
            Err(e) if e.is_not_found() => {
                info!(incident = arn, other_case = other, "the incident links a case that does not exist; read as closed");
                continue;
            }
            Err(e) => return Err(e),
        };
        if status.as_deref() != Some("Closed") {
            info!(incident = arn, other_case = other, "another open case links this incident: it stays open");
            return Ok(false);
        }
    }
    app.incidents.add_timeline_event(arn, event, &token::close_timeline_event(region, case_id, arn, closed_ms)).await?;
    app.incidents.resolve_incident(arn, &token::resolve_incident(region, case_id, arn, closed_ms)).await?;
    info!(incident = arn, "resolved");
    Ok(true)
}
