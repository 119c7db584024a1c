//! Incident resolved → case comment (docs/design.md §14): when CloudTrail
//! records an `UpdateIncidentRecord` that set a record `RESOLVED`, each open
//! case of this product's that the incident is linked with gets one comment
//! naming the incident, who resolved it and when. The case stays open: a person
//! decides that. `GetIncidentRecord` confirms the resolution (the event is only
//! a hint); the close-out's own resolutions come after the case closed, so a
//! closed case is left alone and nothing is echoed back.

use tracing::info;

use crate::incident::links;
use crate::investigation::decision::SkipReason;
use crate::ledger::mirror::Kind;
use crate::ledger::token;
use crate::runtime::app::App;
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;
use crate::text::console;

/// The most cases of one incident considered.
const MAX_CASES: usize = 20;

/// Handles a CloudTrail record of an incident's resolution.
pub(super) async fn tell_cases(app: &App, arn: &str) -> Result<Outcome, Error> {
    let skip = |reason| Ok(Outcome::Skipped { reason, investigation_id: None, finding_id: None, case_id: None, risk_level: None });
    let Some(ledger) = &app.ledger else { return skip(SkipReason::NeedsLedger) };
    let resolution = match app.incidents.resolution(arn).await? {
        Some(r) if r.resolved => r,
        _ => return skip(SkipReason::IncidentNotResolved),
    };
    // The cases the incident lists (this Region's console links), held to the ledger below.
    let mut cases: Vec<String> = app
        .incidents
        .related_items(arn)
        .await?
        .iter()
        .filter_map(|i| console::case_from_url(&i.value))
        .filter(|(region, _)| *region == app.case_region)
        .map(|(_, id)| id)
        .collect();
    cases.sort();
    cases.dedup();
    cases.truncate(MAX_CASES);
    let key = format!("{arn}@{}", resolution.resolved_ms.unwrap_or(0));
    let (mut told, mut linked, mut open) = (Vec::new(), false, false);
    for case_id in cases {
        // Linked only when the ledger's case item names the incident too.
        let Some(links) = ledger.case_incidents(&case_id).await? else { continue };
        if !links.escalated || !links.incidents.iter().any(|i| i == arn) {
            continue;
        }
        linked = true;
        let case = match app.security_ir.get_case(&case_id).await {
            Ok(case) => case,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        if case.status.as_deref() == Some("Closed") {
            info!(case_id, incident = arn, "the case is closed: left alone");
            continue;
        }
        open = true;
        let seen = ledger.mirrored(&case_id).await?.unwrap_or_default();
        if seen.resolutions.contains(&key) {
            info!(case_id, incident = arn, "this resolution was told on the case already");
            continue;
        }
        if app.config.dry_run {
            info!(case_id, incident = arn, "dry run: no comment written");
            told.push(case_id);
            continue;
        }
        let body = links::resolution_comment(&resolution.title, arn, &resolution.resolved_by, resolution.resolved_ms, &app.incident_region);
        let token = token::resolution_comment(&app.region, &case_id, arn, resolution.resolved_ms.unwrap_or(0));
        app.security_ir
            .comment_on_case(&case_id, &body, &token)
            .await
            .map_err(|e| Error::Links { case_id: case_id.clone(), failures: vec![e] })?;
        ledger.record_mirrored(&case_id, Kind::Resolutions, std::slice::from_ref(&key)).await?;
        told.push(case_id);
    }
    match (linked, open, told.first().cloned()) {
        (false, _, _) => skip(SkipReason::NotLinked),
        (true, false, _) => skip(SkipReason::CaseClosed),
        (true, true, Some(case_id)) => {
            info!(incident = arn, cases = ?told, "incident resolution told on its cases");
            let comments = if app.config.dry_run { 0 } else { u32::try_from(told.len()).unwrap_or(u32::MAX) };
            Ok(Outcome::Synced { case_id, incident_record_arns: vec![arn.to_string()], timeline_events: 0, comments })
        }
        // Told before (a redelivery): nothing new.
        (true, true, None) => skip(SkipReason::NoNewComments),
    }
}
