//! The cross-link writes between an opened case and its incident records
//! (docs/design.md §6), all at once: on each incident the case as a related item
//! (unless already there) and a timeline event; on the case a comment per
//! incident and one metadata update. Every write but the metadata carries a
//! token derived from the investigation; the metadata is read first and only
//! what is missing is written.

use std::collections::BTreeSet;

use futures_util::future::{join_all, BoxFuture, FutureExt};
use tracing::{info, warn};

use super::search::{arns, Found};
use crate::aws::{AwsError, CaseView, Written};
use crate::case::recommendations;
use crate::case::threat_actors::{not_on_case, ThreatActor};
use crate::incident::links;
use crate::investigation::decision::{Confidence, RiskLevel};
use crate::investigation::Investigation;
use crate::ledger::token::Scope;
use crate::runtime::app::App;

/// The case the links are for, as opened (or found again by its token).
pub(crate) struct OpenedCase<'a> {
    /// The investigation escalated.
    pub inv: &'a Investigation,
    /// Its risk level.
    pub risk: RiskLevel,
    /// Its confidence.
    pub confidence: Confidence,
    /// The case.
    pub case_id: &'a str,
    /// The case as read (metadata, addresses) before planning: by the
    /// escalation just after opening it (alongside the search), by the
    /// operator's explain before it plans. A plan without it names the write,
    /// and [`send`]'s read decides what it holds.
    pub view: Option<&'a CaseView>,
    /// When [`OpenedCase::view`] was read (ms since the epoch, the app's
    /// clock); `None`: not by this escalation, so [`send`] reads it again.
    pub read_ms: Option<i64>,
    /// The threat actor addresses the findings name.
    pub actors: &'a [ThreatActor],
}

/// What one link write sends.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// `UpdateRelatedItems`: the case as a related item of the incident ([`Plan::case_item`]).
    RelatedItem,
    /// `CreateTimelineEvent` on the incident.
    TimelineEvent,
    /// `CreateCaseComment` on the case.
    Comment(String),
    /// `UpdateCase`: the metadata entries and threat actor addresses missing (it takes no token).
    UpdateCase {
        /// The whole metadata list to write, when an entry is missing (as planned
        /// from the case read after opening it; [`send`] reads it again first).
        metadata: Option<Vec<(String, String)>>,
        /// The addresses the case lacks.
        actors: Vec<ThreatActor>,
        /// The incidents the metadata is to name.
        incidents: Vec<String>,
        /// When the case this was planned from was read (see [`FRESH_READ_MS`]).
        read_ms: Option<i64>,
    },
}

/// One link write, ready to send: what `link` sends and what the operator's
/// `explain` shows, from the same plan.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The step's name as the ledger records it (`related-item/ARN`,
    /// `timeline-event/ARN`, `comment/ARN`, `recommendations`); `None` for
    /// `UpdateCase`, which is read before it is written and never recorded.
    pub step: Option<String>,
    /// The incident record written to; `None` for a write on the case.
    pub incident: Option<String>,
    /// The idempotency token (none for `UpdateCase`).
    pub token: Option<String>,
    /// What it sends.
    pub body: Body,
}

impl Planned {
    /// The API operation.
    pub fn operation(&self) -> &'static str {
        match self.body {
            Body::RelatedItem => "UpdateRelatedItems",
            Body::TimelineEvent => "CreateTimelineEvent",
            Body::Comment(_) => "CreateCaseComment",
            Body::UpdateCase { .. } => "UpdateCase",
        }
    }
}

/// The link writes one escalation needs, and those it does not (with why).
#[derive(Debug)]
pub(crate) struct Plan {
    /// What every `UpdateRelatedItems` adds: the case as a related item.
    pub case_item: links::CaseItem,
    /// What every `CreateTimelineEvent` records.
    pub timeline_event: links::TimelineEvent,
    /// To send, all at once.
    pub writes: Vec<Planned>,
    /// Steps not needed: the step name and why.
    pub not_needed: Vec<(String, &'static str)>,
    /// Incidents the case's metadata has no room for (linked by comment only).
    pub metadata_left_out: Vec<String>,
}

/// Plans every cross-link write, but for the steps in `done_before` (made by an
/// earlier attempt, as the ledger recorded) and what the incidents and the case
/// already hold. Pure: the same plan whoever asks.
pub(crate) fn plan(app: &App, case: &OpenedCase<'_>, found: &[Found], done_before: &BTreeSet<String>) -> Plan {
    const DONE_BEFORE: &str = "made by an earlier attempt (the ledger says)";
    let scope = Scope { region: &app.region, detector_id: &case.inv.detector_id, investigation_id: &case.inv.id };
    let case_id = case.case_id;
    let item = links::case_item(&app.case_region, case_id);
    let timeline = links::timeline_event(case.inv, case.risk, case.confidence, case_id, &app.case_region);
    let (mut writes, mut not_needed) = (Vec::new(), Vec::new());
    let mut add = |step: String, incident: Option<&str>, token: Option<String>, body: Body, already: Option<&'static str>| match already
        .or_else(|| done_before.contains(&step).then_some(DONE_BEFORE))
    {
        Some(why) => not_needed.push((step, why)),
        None => writes.push(Planned { step: Some(step), incident: incident.map(str::to_string), token, body }),
    };
    for f in found {
        let arn = f.record.arn.as_str();
        let on_incident = links::has_case_item(&f.record.related_items, &item).then_some("the incident already lists the case");
        let body = Body::RelatedItem;
        add(format!("related-item/{arn}"), Some(arn), Some(scope.related_item(case_id, arn)), body, on_incident);
        let body = Body::TimelineEvent;
        add(format!("timeline-event/{arn}"), Some(arn), Some(scope.timeline_event(case_id, arn)), body, None);
        let body = Body::Comment(links::case_comment(&f.record.title, arn, &app.incident_region));
        add(format!("comment/{arn}"), Some(arn), Some(scope.comment(case_id, arn)), body, None);
    }
    // The case's own comment of the investigation's recommended actions, once per case.
    if let Some(body) = recommendations::comment(case.inv) {
        add("recommendations".into(), None, Some(scope.recommendations(case_id)), Body::Comment(body), None);
    }
    // The case's metadata and its threat actor addresses, in one UpdateCase (it takes no
    // token): read before, written only where something is missing, so no step to record.
    let empty = CaseView::default();
    let view = case.view.unwrap_or(&empty);
    let (metadata, metadata_left_out) = links::metadata_with(&view.metadata, &arns(found));
    let actors = not_on_case(case.actors, &view.threat_actor_addresses);
    if metadata.is_some() || !actors.is_empty() {
        let body = Body::UpdateCase { metadata, actors, incidents: arns(found), read_ms: case.read_ms };
        writes.push(Planned { step: None, incident: None, token: None, body });
    }
    Plan { writes, not_needed, metadata_left_out, case_item: item, timeline_event: timeline }
}

/// How old (ms) the case's read may be when its `UpdateCase` is sent without
/// reading it again. The read ends with the search when the search takes its
/// usual two round trips; a search that runs longer (many candidates, a slow
/// answer) makes the write read the case again. A responder's metadata edit can
/// so be lost only in the last quarter second plus one round trip.
pub(crate) const FRESH_READ_MS: i64 = 250;

/// What the link writes came to.
#[derive(Debug, Default)]
pub(crate) struct Linked {
    /// The steps made now (or found made), by name, for the ledger.
    pub done: Vec<String>,
    /// The writes that failed.
    pub failures: Vec<AwsError>,
}

/// Makes every cross-link write of the [`plan`] at once. All are attempted
/// even when one fails, so a retry has as little left to do as possible.
pub(crate) async fn link(app: &App, case: &OpenedCase<'_>, found: &[Found], done_before: &BTreeSet<String>) -> Linked {
    let plan = plan(app, case, found, done_before);
    if !plan.metadata_left_out.is_empty() {
        warn!(incidents = ?plan.metadata_left_out, max = links::METADATA_MAX, "the case's metadata is full; these incidents are linked by comment only");
    }
    let writes = plan.writes.iter().map(|w| send(app, &plan, case.case_id, w).map(move |result| (w, result)));
    let mut linked = Linked::default();
    for (w, result) in join_all(writes).await {
        match result {
            Ok(written) => {
                if written == Written::AlreadyThere {
                    info!(step = w.step.as_deref().unwrap_or(w.operation()), "already linked");
                }
                linked.done.extend(w.step.clone());
            }
            Err(e) => {
                warn!(error = %e, "link write failed");
                linked.failures.push(e);
            }
        }
    }
    linked
}

/// Sends one planned write (each call boxed on its own, as a small future).
fn send<'a>(app: &'a App, plan: &'a Plan, case_id: &'a str, w: &'a Planned) -> BoxFuture<'a, Result<Written, AwsError>> {
    let token = w.token.as_deref().unwrap_or_default();
    let incident = w.incident.as_deref().unwrap_or_default();
    match &w.body {
        Body::RelatedItem => app.incidents.add_case_item(incident, &plan.case_item, token).boxed(),
        Body::TimelineEvent => app.incidents.add_timeline_event(incident, &plan.timeline_event, token).boxed(),
        Body::Comment(body) => app.security_ir.comment_on_case(case_id, body, token).boxed(),
        Body::UpdateCase { metadata, actors, incidents, read_ms } => async move {
            // UpdateCase replaces the whole metadata list and takes no condition. The case
            // was read alongside the search; when the search outlasted that read (a long
            // one, with a responder at work meanwhile), it is read again just before the
            // write, so their edits are kept and only what is still missing is written.
            // A read as young as the write costs no round trip on the chain.
            let fresh_enough = read_ms.is_some_and(|at| app.clock.now_ms().saturating_sub(at) <= FRESH_READ_MS);
            if fresh_enough {
                return app.security_ir.update_case(case_id, metadata.as_deref(), actors).await.map(|()| Written::Done);
            }
            let fresh = app.security_ir.get_case(case_id).await?;
            let (metadata, _) = links::metadata_with(&fresh.metadata, incidents);
            let actors = not_on_case(actors, &fresh.threat_actor_addresses);
            if metadata.is_none() && actors.is_empty() {
                return Ok(Written::AlreadyThere);
            }
            app.security_ir.update_case(case_id, metadata.as_deref(), &actors).await.map(|()| Written::Done)
        }
        .boxed(),
    }
}
