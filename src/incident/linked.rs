//! Which incidents count as a case's, when the two are kept in step
//! (docs/design.md §14): the case must be one this stack's ledger recorded as
//! escalated, and an incident counts only when the ledger's case item names it
//! *and* the incident still lists the case as a related item. Neither the
//! case's metadata nor an incident's related items alone decide: anyone who
//! can edit either could make this product write to records that are not its.

use futures_util::future::join_all;
use tracing::{info, warn};

use crate::aws::CaseView;
use crate::incident::links;
use crate::investigation::decision::SkipReason;
use crate::ledger::mirror::Mirrored;
use crate::ledger::Ledger;
use crate::runtime::app::App;
use crate::runtime::error::Error;

/// A case of this stack's that is not closed: the ledger, the case as read
/// now, and what was mirrored for it; or why an event of the case is skipped.
pub(crate) async fn open_case<'a>(app: &'a App, case_id: &str) -> Result<Result<(&'a Ledger, CaseView, Mirrored), SkipReason>, Error> {
    let Some(ledger) = &app.ledger else { return Ok(Err(SkipReason::NeedsLedger)) };
    let Some(mirrored) = ledger.mirrored(case_id).await? else { return Ok(Err(SkipReason::UnknownCase)) };
    let case = match app.security_ir.get_case(case_id).await {
        Ok(case) => case,
        Err(e) if e.is_not_found() => return Ok(Err(SkipReason::UnknownCase)),
        Err(e) => return Err(e.into()),
    };
    // A closed case is the close-out's (it resolves the incidents).
    if case.status.as_deref() == Some("Closed") {
        return Ok(Err(SkipReason::CaseClosed));
    }
    Ok(Ok((ledger, case, mirrored)))
}

/// The ARNs of the case's linked incidents that are open and list the case, or why there are none.
pub(crate) async fn open_incidents(app: &App, case_id: &str) -> Result<Result<Vec<String>, SkipReason>, Error> {
    let Some(ledger) = &app.ledger else { return Ok(Err(SkipReason::NeedsLedger)) };
    let links = match ledger.case_incidents(case_id).await? {
        None => return Ok(Err(SkipReason::UnknownCase)),
        // Its escalation is still linking: fail, so the delivery is retried once it is done.
        Some(links) if !links.escalated => return Err(Error::EscalationInProgress { case_id: case_id.to_string() }),
        Some(links) => links.incidents,
    };
    let item = links::case_item(&app.case_region, case_id);
    let mut open = Vec::new();
    for (arn, record) in links.iter().zip(join_all(links.iter().map(|arn| app.incidents.incident(arn))).await) {
        match record? {
            None => info!(incident = arn, "a linked incident record no longer exists"),
            Some(record) if !links::has_case_item(&record.related_items, &item) => {
                warn!(incident = arn, case_id, "the incident no longer lists this case: nothing is written to it")
            }
            Some(record) if !record.open => info!(incident = arn, "the linked incident is resolved: nothing is written to it"),
            Some(record) => open.push(record.arn),
        }
    }
    Ok(if open.is_empty() { Err(SkipReason::NoOpenIncident) } else { Ok(open) })
}
