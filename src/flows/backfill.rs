//! The operator's backfill (docs/design.md §13): every finished investigation
//! of a detector that ended in a window (beyond the sweep's lookback), put
//! through the same path as the sweep's, a few at a time.
//!
//! Safe to stop and run again: each investigation is escalated under its own
//! short invocation budget, so a stopped run leaves no lease longer than one
//! escalation's; what it finished is settled in the ledger, so the next run
//! repeats none of it. (Without a ledger only the services' token windows keep
//! a second case from being opened, and a backfill's investigations are old:
//! the command line refuses that but for a dry run.) The sweep mark is not
//! moved: a backfill's window is not the sweep's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::sweep::{to_visit, visit, Visited, Visiting, Window};
use crate::runtime::app::App;
use crate::runtime::error::Error;
use crate::runtime::outcome::Counts;

/// What to backfill, and how.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// The detector.
    pub detector_id: String,
    /// The window's start: investigations that ended at or after it (epoch ms).
    pub since_ms: i64,
    /// The window's end: investigations that ended at or before it (epoch ms).
    pub until_ms: i64,
    /// Investigations escalated at once (at least 1).
    pub concurrency: usize,
    /// Each escalation's budget, as a Lambda invocation's: its lease outlives
    /// it by at most `LEDGER_LEASE_SECONDS` should the run be killed.
    pub budget: Duration,
    /// The lease owner's prefix, unique per run.
    pub run_id: String,
}

/// A backfill's progress, as it happens.
#[derive(Debug)]
pub enum Progress<'a> {
    /// The listing is read: this many to visit, oldest first.
    Listed {
        /// Finished investigations in the window.
        to_visit: usize,
        /// Still running (a later sweep or backfill takes them).
        running: u32,
        /// Whether the listing was read to its end.
        listed_whole: bool,
    },
    /// One investigation is done.
    Visited(&'a Visited),
}

/// What a backfill did.
#[derive(Debug, Default)]
pub struct Backfill {
    /// Outcomes, as a sweep counts them (a cut-off escalation counts as pending).
    pub counts: Counts,
    /// Each investigation visited, in the order they finished.
    pub visited: Vec<Visited>,
    /// Listed but not started, because the run was stopped.
    pub not_started: usize,
    /// Still running in the window.
    pub running: u32,
    /// Whether the listing was read to its end (GuardDuty's listing is capped).
    pub listed_whole: bool,
}

impl Backfill {
    /// True when every finished investigation of the window was listed, visited
    /// and settled (none left pending: held by another invocation, or cut off).
    pub fn complete(&self) -> bool {
        self.listed_whole && self.not_started == 0 && self.counts.pending == 0
    }
}

/// Backfills a window of one detector's finished investigations. Stops starting
/// new ones once `stop` is set (those under way finish); reports each as it
/// finishes through `progress`.
pub async fn backfill(
    app: &App,
    options: &BackfillOptions,
    stop: &AtomicBool,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Backfill, Error> {
    let window = Window { cutoff_ms: options.since_ms, after_ms: None, until_ms: options.until_ms };
    let (work, running, listed_whole) = to_visit(app, &options.detector_id, window, || !stop.load(Ordering::SeqCst)).await?;
    progress(Progress::Listed { to_visit: work.len(), running, listed_whole });
    let mut report = Backfill { running, listed_whole, not_started: work.len(), ..Backfill::default() };
    let how = Visiting { detector: &options.detector_id, concurrency: options.concurrency, grace: Duration::from_secs(1) };
    // Its investigations are old: past the services' token windows, a CreateCase
    // sent blind could open a second case, so each looks for its case first.
    let invocation_for = || app.invocation(&options.run_id, options.budget).looking_first();
    visit(
        app,
        how,
        &work,
        invocation_for,
        || !stop.load(Ordering::SeqCst),
        |visited| {
            report.not_started -= 1;
            match &visited.result {
                Ok(outcome) => report.counts.add(outcome),
                // Cut off in time and released: not done, not failed; the next run resumes it.
                Err(Error::Deadline { .. }) => report.counts.pending += 1,
                Err(_) => report.counts.failed += 1,
            }
            progress(Progress::Visited(&visited));
            report.visited.push(visited);
        },
    )
    .await;
    Ok(report)
}
