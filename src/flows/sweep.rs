//! The scheduled sweep (docs/design.md §2): GuardDuty publishes no event when
//! an investigation finishes, so the sweep lists the detector's investigations
//! back to `SWEEP_LOOKBACK_HOURS` and puts each finished one through the same
//! path as an investigation event. The ledger (or, without one, the tokens)
//! keeps a revisited investigation from being escalated twice.
//!
//! Resuming: with a ledger, the detector's sweep mark says through which end
//! time everything is settled. A sweep visits only what ended after it, oldest
//! first, and raises it past what it settled: consecutive sweeps always reach
//! every finished investigation, whatever their budget, and a sweep that finds
//! nothing new costs the same however many investigations are settled.
//!
//! Work is bounded by the invocation's deadline: no new investigation is
//! started once less than a margin is left, and the result says
//! `complete: false`; the next scheduled run takes up what is left.

use std::cell::Cell;
use std::collections::HashSet;
use std::time::Duration;

use futures_util::{future, stream, StreamExt};
use tracing::{info, info_span, warn, Instrument};

use super::escalate::escalate;
use crate::investigation::decision::SkipReason;
use crate::investigation::Status;
use crate::ledger::item::SweepMark;
use crate::runtime::app::{App, Invocation};
use crate::runtime::config::Config;
use crate::runtime::error::Error;
use crate::runtime::metrics;
use crate::runtime::outcome::{Counts, Outcome, MAX_FAILURES_NAMED};
use crate::trigger::event::{InvestigationRef, Sender};

/// Investigations escalated at once.
const CONCURRENCY: usize = 4;
/// The most time kept back from the deadline (a quarter of the budget when that is less).
const MAX_MARGIN: Duration = Duration::from_secs(15);
/// How far behind now the mark stays: an investigation that ended a moment ago
/// may show in the listing only later, so the latest stretch is read every time.
const SETTLING_LAG_MS: i64 = 5 * 60 * 1000;

/// A finished investigation to visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Work {
    /// The investigation.
    pub id: String,
    /// When it ended (epoch ms).
    pub end_ms: Option<i64>,
}

/// The end times a listing keeps: after `after_ms` (the mark, or the start of
/// the window) and at or before `until_ms`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// The earliest end time listed at all (the lookback's cutoff).
    pub cutoff_ms: i64,
    /// Only what ended after this is visited (the sweep mark), if set.
    pub after_ms: Option<i64>,
    /// Nothing that ended after this is visited.
    pub until_ms: i64,
}

/// What a sweep did so far.
#[derive(Default)]
struct Tally {
    counts: Counts,
    /// Per investigation of the work list: settled (escalated or skipped) by this sweep.
    settled: Vec<bool>,
    visited: usize,
    failures: Vec<String>,
}

/// Sweeps the configured detector's recently finished investigations.
pub(super) async fn sweep(app: &App, invocation: &Invocation) -> Result<Outcome, Error> {
    let detector = app.config.detector_id.as_deref().ok_or(Error::NoDetector)?;
    let gates = gates_of(&app.config);
    let mark = match &app.ledger {
        // A mark left under other gates does not hold: their skips are decided again.
        Some(ledger) => ledger.sweep_mark(detector).await?.filter(|m| m.gates == gates).map(|m| m.settled_through_ms),
        None => None,
    };
    let now_ms = app.clock.now_ms();
    // The lookback, or further back to the mark when the mark is older: the mark
    // never passes an unsettled investigation, so one that stayed unsettled longer
    // than the lookback (a full case quota over a weekend) is still listed, and
    // still holds the mark, until it is settled.
    let lookback = now_ms.saturating_sub(i64::from(app.config.sweep_lookback_hours) * 3_600_000);
    let cutoff_ms = mark.map_or(lookback, |m| m.min(lookback));
    let window = Window { cutoff_ms, after_ms: mark, until_ms: i64::MAX };
    // Listing a large organization's window takes time: at most two thirds of the
    // budget, so the oldest that ended after the mark are still visited this run.
    let listing_floor = invocation.remaining() / 3;
    let (work, running, listed_whole) = to_visit(app, detector, window, || invocation.remaining() > listing_floor).await?;
    let mut tally =
        Tally { counts: Counts { pending: running, ..Counts::default() }, settled: vec![false; work.len()], ..Tally::default() };
    visit_all(app, detector, &work, invocation, &mut tally).await;

    // Only a listing read to its end proves nothing was left out before the new mark.
    let next = next_mark(&work, &tally.settled, mark, now_ms - SETTLING_LAG_MS).filter(|_| listed_whole && !app.config.dry_run);
    if let (Some(ledger), Some(settled_through_ms)) = (&app.ledger, next) {
        // An optimisation, never worth overrunning the deadline for: the next sweep raises it.
        let mark = SweepMark { settled_through_ms, gates };
        match app.clock.within(invocation.deadline_ms, ledger.raise_sweep_mark(detector, &mark)).await {
            Some(result) => result?,
            None => warn!("sweep: no time left to raise the mark; the next sweep does"),
        }
    }
    let complete = listed_whole && tally.visited == work.len();
    if !complete {
        warn!(left = work.len() - tally.visited, listed_whole, "sweep stopped early; the next run takes up the rest");
    }
    let Tally { counts, failures, .. } = tally;
    info!(?counts, complete, "sweep done");
    // Each failure was logged and counted as a delivery's would be (the failed-outcomes
    // alarm fires); the sweep itself succeeds, since a Lambda retry of it would only
    // repeat the settled work: the next scheduled sweep is the retry.
    Ok(Outcome::Swept { counts, complete, failures })
}

/// The gates a sweep mark holds for.
fn gates_of(config: &Config) -> String {
    format!("risk>={} confidence>={}", config.risk_threshold, config.min_confidence)
}

/// The finished investigations of the window, once each, oldest first (so
/// the mark can follow); how many started in it are still running; and
/// whether the listing was read to its end.
/// `keep_going` is checked before each page: a listing stopped by it is not whole.
pub(super) async fn to_visit(
    app: &App,
    detector: &str,
    window: Window,
    keep_going: impl Fn() -> bool,
) -> Result<(Vec<Work>, u32, bool), Error> {
    let Window { cutoff_ms, after_ms: mark, until_ms } = window;
    let listing = app.guardduty.investigations_ended_since(detector, cutoff_ms, keep_going).await?;
    let mut seen = HashSet::new();
    let mut work = Vec::new();
    let mut running = 0;
    for s in listing.investigations {
        if !matches!(s.status, Status::Completed | Status::Failed) {
            // Still running (or a status this build does not know): a later sweep finishes it.
            running += u32::from(s.start_ms.is_none_or(|start| start >= cutoff_ms && start <= until_ms));
            continue;
        }
        // Paging by offset can list an id twice while investigations finish: once is enough.
        let in_window = s.end_ms.is_none_or(|end| mark.is_none_or(|m| end > m) && end <= until_ms);
        if in_window && seen.insert(s.id.clone()) {
            work.push(Work { id: s.id, end_ms: s.end_ms });
        }
    }
    work.sort_by(|a, b| (a.end_ms, &a.id).cmp(&(b.end_ms, &b.id)));
    info!(detector, to_visit = work.len(), running, mark, "sweep listed investigations");
    Ok((work, running, listing.complete))
}

/// One investigation of a work list, as its escalation came out.
#[derive(Debug)]
pub struct Visited {
    /// The investigation.
    pub investigation_id: String,
    /// When it ended (epoch ms).
    pub end_ms: Option<i64>,
    /// Its outcome, exactly as a delivery's (a cut-off escalation is `Err(Deadline)`).
    pub result: Result<Outcome, Error>,
    /// Its place in the work list.
    pub(super) index: usize,
    /// How long it took.
    pub(super) took: Duration,
}

/// How a work list is visited.
pub(super) struct Visiting<'a> {
    /// The detector the work list is of.
    pub detector: &'a str,
    /// Investigations escalated at once (at least 1).
    pub concurrency: usize,
    /// Time the backstop adds to an escalation's own budget (see [`visit`]).
    pub grace: Duration,
}

/// Escalates `work` as deliveries would, `concurrency` at a time, each under
/// the invocation `invocation_for` gives it, starting each only while
/// `may_start` holds (the sweep's deadline, the backfill's stop); `done` hears
/// of each as it finishes. The one way the sweep and the backfill run their
/// investigations.
///
/// Under a lease the escalation stops itself in time and releases it, and it
/// is never cut between `CreateCase`'s answer and the ledger's record of the
/// case: no timeout may cut it there. Outside a lease (a dry run, or no
/// ledger) a backstop holds each to its budget plus `grace`; one cut off there
/// is like a crash, and the next run resumes it where it stopped.
pub(super) async fn visit(
    app: &App,
    how: Visiting<'_>,
    work: &[Work],
    invocation_for: impl Fn() -> Invocation,
    may_start: impl Fn() -> bool,
    mut done: impl FnMut(Visited),
) {
    let leased = app.ledger.is_some() && !app.config.dry_run;
    let runs = stream::iter(work.iter().enumerate())
        // Checked as each one is about to start: those under way finish.
        .take_while(|_| future::ready(may_start()))
        .map(|(index, w)| {
            let target = InvestigationRef {
                detector_id: how.detector.to_string(),
                investigation_id: w.id.clone(),
                incident_record_arn: None,
                finding_ids: Vec::new(),
                sender: Sender::Event,
            };
            let invocation = invocation_for();
            async move {
                let started_ms = app.clock.now_ms();
                let escalation = Box::pin(escalate(app, &target, &invocation));
                let result = if leased {
                    escalation.await
                } else {
                    let grace_ms = i64::try_from(how.grace.as_millis()).unwrap_or(i64::MAX);
                    match app.clock.within(invocation.deadline_ms.saturating_add(grace_ms), escalation).await {
                        Some(result) => result,
                        None => Err(Error::Deadline { investigation_id: w.id.clone() }),
                    }
                };
                let took = Duration::from_millis(u64::try_from(app.clock.now_ms().saturating_sub(started_ms)).unwrap_or(0));
                Visited { investigation_id: w.id.clone(), end_ms: w.end_ms, result, index, took }
            }
            .instrument(info_span!("investigation", investigationId = %w.id))
        })
        .buffer_unordered(how.concurrency.max(1));
    let mut runs = std::pin::pin!(runs);
    while let Some(visited) = runs.next().await {
        done(visited);
    }
}

/// Escalates the sweep's work list until it is done or the deadline nears.
async fn visit_all(app: &App, detector: &str, work: &[Work], invocation: &Invocation, tally: &mut Tally) {
    let margin = invocation.remaining().checked_div(4).unwrap_or_default().min(MAX_MARGIN);
    // Escalations stop (releasing their leases) this much before the deadline, leaving time to answer.
    let reserve = (margin / 2).min(Duration::from_secs(1));
    let soft = invocation.cut_short(reserve);
    // The longest escalation so far: one that cannot finish in the time left is
    // not started, since work cut off half-way is done again by the next sweep.
    let longest = Cell::new(Duration::ZERO);
    let how = Visiting { detector, concurrency: CONCURRENCY, grace: reserve / 2 };
    let may_start = || invocation.remaining() > margin + longest.get();
    visit(
        app,
        how,
        work,
        || soft.clone(),
        may_start,
        |v| {
            longest.set(longest.get().max(v.took));
            tally.add(app, v.index, &v.investigation_id, v.result);
        },
    )
    .await;
}

impl Tally {
    /// Counts one investigation's result and reports its metric, through the
    /// same path as a single delivery's.
    fn add(&mut self, app: &App, index: usize, id: &str, result: Result<Outcome, Error>) {
        if let Err(Error::Deadline { .. }) = result {
            // Cut off in time and released: not done, not failed; the next sweep resumes it.
            self.counts.pending += 1;
            return;
        }
        self.visited += 1;
        if app.emit_metrics {
            metrics::report(result.as_ref(), &app.clock);
        }
        match result {
            Ok(outcome) => {
                // Settled for good under these gates; an unknown risk level is decided
                // again by a build that knows it, so it holds the mark back.
                self.settled[index] = match &outcome {
                    Outcome::Escalated { dry_run, .. } => !dry_run,
                    Outcome::Skipped { reason, .. } => *reason != SkipReason::UnknownRisk,
                    _ => false,
                };
                self.counts.add(&outcome);
            }
            Err(e) => {
                warn!(investigation = id, error = %e, "sweep: this investigation failed; the others go on");
                self.counts.failed += 1;
                if self.failures.len() < MAX_FAILURES_NAMED {
                    self.failures.push(format!("{id}: {e}"));
                }
            }
        }
    }
}

/// The mark after a sweep: the end time through which every investigation of
/// `work` (oldest first) was settled, kept at or below `ceiling_ms`; `None`
/// when that is no further than `previous`. One with no end time neither
/// blocks nor moves it.
fn next_mark(work: &[Work], settled: &[bool], previous: Option<i64>, ceiling_ms: i64) -> Option<i64> {
    let mut mark = None;
    for (w, &done) in work.iter().zip(settled) {
        let Some(end) = w.end_ms else { continue };
        if !done {
            // Another one that ended in the same millisecond is not settled yet.
            mark = mark.map(|m: i64| m.min(end - 1));
            break;
        }
        mark = Some(end);
    }
    let mark = mark?.min(ceiling_ms);
    previous.is_none_or(|p| mark > p).then_some(mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(ends: &[Option<i64>]) -> Vec<Work> {
        ends.iter().enumerate().map(|(i, &end_ms)| Work { id: format!("i{i}"), end_ms }).collect()
    }

    #[test]
    fn the_mark_follows_the_settled_prefix() {
        let w = work(&[Some(10), Some(20), Some(30), Some(40)]);
        assert_eq!(next_mark(&w, &[true, true, true, true], None, 1_000), Some(40));
        assert_eq!(next_mark(&w, &[true, true, false, true], None, 1_000), Some(20), "a gap stops it");
        assert_eq!(next_mark(&w, &[false, true, true, true], None, 1_000), None, "nothing settled from the start");
    }

    #[test]
    fn the_mark_stays_behind_the_ceiling_and_never_goes_back() {
        let w = work(&[Some(10), Some(20), Some(30)]);
        assert_eq!(next_mark(&w, &[true, true, true], None, 25), Some(25), "recent ones are read again next time");
        assert_eq!(next_mark(&w, &[true, true, true], Some(30), 1_000), None, "no further than before: no write");
        assert_eq!(next_mark(&w, &[true, true, true], Some(29), 1_000), Some(30));
    }

    #[test]
    fn an_unsettled_investigation_that_ended_in_the_same_millisecond_holds_the_mark_before_it() {
        let w = work(&[Some(10), Some(20), Some(20)]);
        assert_eq!(next_mark(&w, &[true, true, false], None, 1_000), Some(19));
    }

    #[test]
    fn investigations_without_an_end_time_neither_block_nor_move_the_mark() {
        let w = work(&[None, Some(10), None, Some(20)]);
        assert_eq!(next_mark(&w, &[false, true, false, true], None, 1_000), Some(20));
        assert_eq!(next_mark(&work(&[None]), &[true], None, 1_000), None);
    }
}
