//! Responders' case comments → incident timelines (docs/design.md §14): on a
//! Security IR `Case Comment Added` event (which names the case, not the
//! comment), every comment of the case that this product did not write and has
//! not mirrored yet becomes one timeline event on each linked open incident:
//! its author and its first 1,000 characters, cleaned and quoted. The ids
//! mirrored are kept on the case's ledger item, so each comment is mirrored once.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use tracing::{info, warn};

use crate::aws::AwsError;
use crate::incident::{linked, links};
use crate::investigation::decision::SkipReason;
use crate::ledger::mirror::{Kind, MAX_MIRRORED};
use crate::ledger::token;
use crate::runtime::app::App;
use crate::runtime::error::Error;
use crate::runtime::outcome::Outcome;

/// How many comments one batch mirrors at once (each to every linked incident).
const COMMENTS_AT_ONCE: usize = 10;

/// Handles a `Case Comment Added` event.
pub(super) async fn mirror_comments(app: &App, case_id: &str) -> Result<Outcome, Error> {
    let skip = |reason| Ok(super::case_skip(reason, case_id));
    if !app.config.mirror_case_comments {
        return skip(SkipReason::MirroringOff);
    }
    let (ledger, case, seen) = match linked::open_case(app, case_id).await? {
        Ok(open) => open,
        Err(reason) => return skip(reason),
    };
    let mut new: Vec<_> = app
        .security_ir
        .comments(case_id)
        .await?
        .into_iter()
        .filter(|c| !seen.comments.contains(&c.id) && !links::is_products_comment(&c.body))
        .collect();
    // Oldest first, and no more than the case item keeps.
    new.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    let room = MAX_MIRRORED.saturating_sub(seen.comments.len());
    if new.len() > room {
        warn!(case_id, comments = new.len(), room, "more comments than the case item keeps: the oldest are mirrored");
        new.truncate(room);
    }
    if new.is_empty() {
        return skip(SkipReason::NoNewComments);
    }
    let arns = match linked::open_incidents(app, case_id).await? {
        Ok(arns) => arns,
        Err(reason) => return skip(reason),
    };
    if app.config.dry_run {
        info!(case_id, comments = new.len(), incidents = ?arns, "dry run: no comment mirrored");
        return Ok(Outcome::Synced { case_id: case_id.to_string(), incident_record_arns: arns, timeline_events: 0, comments: 0 });
    }
    let region = app.region.as_str();
    let mut timeline_events = 0u32;
    let mut mirrored = 0usize;
    // A few comments at a time (at most COMMENTS_AT_ONCE × the incidents' writes in flight),
    // each batch recorded as it is done, so a cut-off invocation keeps what it mirrored.
    for batch in new.chunks(COMMENTS_AT_ONCE) {
        let mut writes = Vec::new();
        for comment in batch {
            let author = comment.creator.as_deref().unwrap_or_default();
            // The comment's own time: the same body on every delivery.
            let written_ms = comment.created_ms.or(case.updated_ms).unwrap_or(0);
            let event = links::comment_timeline_event(case_id, author, &comment.body, written_ms, &app.case_region);
            for arn in &arns {
                let token = token::comment_timeline_event(region, case_id, &comment.id, arn);
                let event = event.clone();
                writes.push(async move { (comment.id.as_str(), app.incidents.add_timeline_event(arn, &event, &token).await) });
            }
        }
        let mut failed = BTreeSet::new();
        let mut failures: Vec<AwsError> = Vec::new();
        for (id, result) in join_all(writes).await {
            match result {
                Ok(_) => timeline_events += 1,
                Err(e) => {
                    failed.insert(id);
                    failures.push(e);
                }
            }
        }
        // Only a comment mirrored to every incident counts as mirrored; the retry writes the rest.
        let done: Vec<String> = batch.iter().map(|c| c.id.clone()).filter(|id| !failed.contains(id.as_str())).collect();
        ledger.record_mirrored(case_id, Kind::Comments, &done).await?;
        mirrored += done.len();
        if !failures.is_empty() {
            return Err(Error::Links { case_id: case_id.to_string(), failures });
        }
    }
    info!(case_id, comments = mirrored, "case comments mirrored");
    Ok(Outcome::Synced { case_id: case_id.to_string(), incident_record_arns: arns, timeline_events, comments: 0 })
}
