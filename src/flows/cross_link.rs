//! The cross-link writes between an opened case and its incident records
//! (docs/design.md §6), all at once: on each incident the case as a related item
//! (unless already there) and a timeline event; on the case a comment per
//! incident and one metadata update. Every write but the metadata carries a
//! token derived from the investigation; the metadata is read first and only
//! what is missing is written.

use std::collections::BTreeSet;

use futures_util::future::{join_all, BoxFuture, FutureExt};
use tracing::{info, warn};

use super::incident_search::{arns, Found};
use crate::app::App;
use crate::aws::{AwsError, CaseView, Written};
use crate::decision::{Confidence, RiskLevel};
use crate::investigation::Investigation;
use crate::threat_actors::{not_on_case, ThreatActor};
use crate::token::Scope;
use crate::{links, recommendations};

/// The case the links are for, as opened (or found again by its token).
pub(super) struct OpenedCase<'a> {
    /// The investigation escalated.
    pub inv: &'a Investigation,
    /// Its risk level.
    pub risk: RiskLevel,
    /// Its confidence.
    pub confidence: Confidence,
    /// The case.
    pub case_id: &'a str,
    /// The case as read after opening it (metadata, addresses).
    pub view: &'a CaseView,
    /// The threat actor addresses the findings name.
    pub actors: &'a [ThreatActor],
}

/// A write and the name of its step (`related-item/ARN`, `timeline-event/ARN`, `comment/ARN`).
type Write<'a> = BoxFuture<'a, (String, Result<Written, AwsError>)>;

/// What the link writes came to.
#[derive(Debug, Default)]
pub(super) struct Linked {
    /// The steps made now (or found made), by name, for the ledger.
    pub done: Vec<String>,
    /// The writes that failed.
    pub failures: Vec<AwsError>,
}

/// Makes every cross-link write at once, but for the steps in `done_before`
/// (made by an earlier attempt, as the ledger recorded). All are attempted even
/// when one fails, so a retry has as little left to do as possible.
pub(super) async fn link(app: &App, case: &OpenedCase<'_>, found: &[Found], done_before: &BTreeSet<String>) -> Linked {
    let scope = Scope { region: &app.region, detector_id: &case.inv.detector_id, investigation_id: &case.inv.id };
    let case_id = case.case_id;
    let item = links::case_item(&app.case_region, case_id);
    let timeline = links::timeline_event(case.inv, case.risk, case.confidence, case_id, &app.case_region);
    let mut writes: Vec<Write<'_>> = Vec::new();
    for f in found {
        let arn = f.record.arn.as_str();
        let [item_step, timeline_step, comment_step] = ["related-item", "timeline-event", "comment"].map(|kind| format!("{kind}/{arn}"));
        if !links::has_case_item(&f.record.related_items, &item) && !done_before.contains(&item_step) {
            let (item, token) = (&item, scope.related_item(case_id, arn));
            writes.push(async move { (item_step, app.incidents.add_case_item(arn, item, &token).await) }.boxed());
        }
        if !done_before.contains(&timeline_step) {
            let (timeline, token) = (&timeline, scope.timeline_event(case_id, arn));
            writes.push(async move { (timeline_step, app.incidents.add_timeline_event(arn, timeline, &token).await) }.boxed());
        }
        if !done_before.contains(&comment_step) {
            let body = links::case_comment(&f.record.title, arn, &app.incident_region);
            let token = scope.comment(case_id, arn);
            writes.push(async move { (comment_step, app.security_ir.comment_on_case(case_id, &body, &token).await) }.boxed());
        }
    }
    // The case's own comment of the investigation's recommended actions, once per case.
    if let Some(body) = recommendations::comment(case.inv).filter(|_| !done_before.contains("recommendations")) {
        let token = scope.recommendations(case_id);
        writes.push(async move { ("recommendations".to_string(), app.security_ir.comment_on_case(case_id, &body, &token).await) }.boxed());
    }
    // The case's metadata and its threat actor addresses, in one UpdateCase (it takes no
    // token): read before, written only where something is missing, so no step to record.
    let (entries, left_out) = links::metadata_with(&case.view.metadata, &arns(found));
    if !left_out.is_empty() {
        warn!(incidents = ?left_out, "the case already holds 30 metadata entries; these incidents are linked by comment only");
    }
    let new_actors = not_on_case(case.actors, &case.view.threat_actor_addresses);
    if entries.is_some() || !new_actors.is_empty() {
        writes.push(
            async move {
                let result = app.security_ir.update_case(case_id, entries.as_deref(), &new_actors).await;
                (String::new(), result.map(|()| Written::Done))
            }
            .boxed(),
        );
    }
    let mut linked = Linked::default();
    for (step, result) in join_all(writes).await {
        match result {
            Ok(written) => {
                if written == Written::AlreadyThere {
                    info!(step, "already linked");
                }
                if !step.is_empty() {
                    linked.done.push(step);
                }
            }
            Err(e) => {
                warn!(error = %e, "link write failed");
                linked.failures.push(e);
            }
        }
    }
    linked
}
