//! The scheduled sweep (DESIGN.md section 2): GuardDuty publishes no event when
//! an investigation finishes, so the sweep lists the detector's investigations,
//! newest end time first, back to `SWEEP_LOOKBACK_HOURS`, and puts each finished
//! one through the same path as an investigation event. The ledger (or, without
//! one, the tokens) keeps a revisited investigation from being escalated twice.
//!
//! Work is bounded by the invocation's deadline: no new investigation is
//! started once less than a margin is left, and the result says
//! `complete: false`; the next scheduled run takes up what is left.

use std::time::{Duration, SystemTime};

use futures_util::future::join_all;
use tracing::{info, info_span, warn, Instrument};

use crate::error::Error;
use crate::escalate::escalate;
use crate::event::InvestigationRef;
use crate::handler::{App, Invocation};
use crate::investigation::Status;
use crate::metrics::emf_line;
use crate::outcome::{Counts, Outcome};

/// Investigations escalated at once.
const CONCURRENCY: usize = 4;
/// The most time kept back from the deadline (a quarter of the budget when that is less).
const MAX_MARGIN: Duration = Duration::from_secs(15);

/// Sweeps the configured detector's recently finished investigations.
pub async fn sweep(app: &App, invocation: &Invocation) -> Result<Outcome, Error> {
    let detector = app.config.detector_id.as_deref().ok_or(Error::NoDetector)?;
    let margin = invocation.remaining().checked_div(4).unwrap_or_default().min(MAX_MARGIN);
    let now_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let cutoff_ms = now_ms - i64::from(app.config.sweep_lookback_hours) * 3_600_000;
    let listed = app.aws.investigations_ended_since(detector, cutoff_ms).await?;

    let mut counts = Counts::default();
    let mut work: Vec<String> = Vec::new();
    for summary in listed {
        match summary.status {
            // Paging by offset can list an id twice while investigations finish: once is enough.
            Status::Completed | Status::Failed if !work.contains(&summary.id) => work.push(summary.id),
            Status::Completed | Status::Failed => {}
            // Still running (or a status this build does not know): a later sweep finishes it.
            _ if summary.start_ms.is_none_or(|start| start >= cutoff_ms) => counts.pending += 1,
            _ => {}
        }
    }
    info!(detector, finished = work.len(), running = counts.pending, "sweep listed investigations");

    let mut failures = Vec::new();
    let mut done = 0;
    // Time kept back to send the answer when a chunk has to be cut off.
    let reserve = (margin / 2).min(Duration::from_secs(1));
    for chunk in work.chunks(CONCURRENCY) {
        if invocation.remaining() <= margin {
            break;
        }
        let left = invocation.remaining().saturating_sub(reserve);
        let runs = chunk.iter().map(|id| {
            let target = InvestigationRef {
                detector_id: detector.to_string(),
                investigation_id: id.clone(),
                incident_record_arn: None,
                finding_ids: Vec::new(),
            };
            async move { (id, escalate(app, &target, invocation).await) }.instrument(info_span!("investigation", investigationId = %id))
        });
        // A chunk cut off by the deadline is like a crash: its leases run out and
        // the next sweep resumes each investigation where it stopped.
        let Ok(results) = tokio::time::timeout(left, join_all(runs)).await else {
            warn!("sweep: the deadline came during a chunk; its investigations are resumed by the next sweep");
            break;
        };
        for (id, result) in results {
            done += 1;
            let now_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
            match result {
                Ok(outcome) => {
                    counts.add(&outcome);
                    // Each investigation's own metric, but not for one the ledger had already done.
                    if !matches!(outcome, Outcome::Escalated { already_escalated: true, .. }) {
                        println!("{}", emf_line(outcome.name(), outcome.reason(), now_ms));
                    }
                }
                Err(e) => {
                    warn!(investigation = id, error = %e, "sweep: this investigation failed; the others go on");
                    println!("{}", emf_line("failed", None, now_ms));
                    counts.failed += 1;
                    failures.push(format!("{id}: {e}"));
                }
            }
        }
    }
    let complete = done == work.len();
    if !complete {
        warn!(left = work.len() - done, "sweep stopped before the deadline; the next run takes up the rest");
    }
    info!(?counts, complete, "sweep done");
    if failures.is_empty() {
        Ok(Outcome::Swept { counts, complete })
    } else {
        Err(Error::Sweep { counts, complete, failures })
    }
}
