//! Close-out (DESIGN.md section 2): when a case this product opened is closed in
//! Security IR, resolve its linked open incident records, so both sides close
//! together. Each incident gets a timeline event, then `UpdateIncidentRecord`,
//! both with tokens; an incident already resolved is left alone.

use futures_util::future::join_all;
use tracing::info;

use crate::aws::AwsError;
use crate::decision::SkipReason;
use crate::error::Error;
use crate::handler::App;
use crate::ledger::now_secs;
use crate::links;
use crate::outcome::Outcome;
use crate::token;

/// Handles a `Case Closed` event.
pub async fn close(app: &App, case_id: &str) -> Result<Outcome, Error> {
    let region = app.aws.region();
    let unknown = || Outcome::Skipped {
        reason: SkipReason::UnknownCase,
        investigation_id: None,
        finding_id: None,
        case_id: Some(case_id.to_string()),
        risk_level: None,
    };
    let case = match app.aws.get_case(case_id).await {
        Ok(case) => case,
        Err(e) if e.is_not_found() => return Ok(unknown()),
        Err(e) => return Err(e.into()),
    };
    // Ours when the ledger has its case item; without a ledger, when it carries our metadata.
    let incidents = match &app.ledger {
        Some(ledger) => match ledger.case_incidents(region, case_id).await? {
            Some(incidents) => incidents,
            None => return Ok(unknown()),
        },
        None => match links::linked_incidents(&case.metadata) {
            incidents if incidents.is_empty() => return Ok(unknown()),
            incidents => incidents,
        },
    };
    if app.config.dry_run {
        info!(case_id, incidents = ?incidents, "dry run: no incident resolved");
        return Ok(Outcome::Resolved { case_id: case_id.to_string(), incident_record_arns: incidents });
    }
    // The case's own close time keeps the body stable between deliveries.
    let closed_ms = case.closed_ms.unwrap_or_else(|| now_secs() * 1000);
    let event = links::close_timeline_event(case_id, case.closure_code.as_deref(), closed_ms, region);
    let results = join_all(incidents.iter().map(|arn| resolve(app, case_id, arn, &event))).await;
    let failures: Vec<AwsError> = results.into_iter().filter_map(Result::err).collect();
    if !failures.is_empty() {
        return Err(Error::Links { case_id: case_id.to_string(), failures });
    }
    Ok(Outcome::Resolved { case_id: case_id.to_string(), incident_record_arns: incidents })
}

async fn resolve(app: &App, case_id: &str, arn: &str, event: &links::TimelineEvent) -> Result<(), AwsError> {
    let region = app.aws.region();
    match app.aws.incident(arn).await? {
        None => info!(incident = arn, "the linked incident record no longer exists"),
        Some(record) if !record.open => info!(incident = arn, "already resolved"),
        Some(_) => {
            app.aws.add_timeline_event(arn, event, &token::close_timeline_event(region, case_id, arn)).await?;
            app.aws.resolve_incident(arn, &token::resolve_incident(region, case_id, arn)).await?;
            info!(incident = arn, "resolved");
        }
    }
    Ok(())
}
