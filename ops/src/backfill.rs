//! `backfill`: every finished investigation of a window, through the sweep's
//! path, with a progress bar on a terminal (plain lines otherwise), a summary
//! table, and Ctrl-C that lets the escalations under way finish.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use investigation_escalator::operator::{backfill, parse_detector_id, Backfill, BackfillOptions, Progress, Visited};
use investigation_escalator::{App, Config, Error, Outcome};
use serde_json::{json, Value};

use crate::{failed, logs, table, when, Ended, Failure};

/// `backfill --detector D --since WHEN [--until WHEN] [--dry-run]`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GuardDuty detector.
    #[arg(long, env = "DETECTOR_ID", value_name = "ID")]
    detector: String,
    /// Investigations that ended at or after this: RFC 3339, a date (UTC), or a span back from now (30d, 12h).
    #[arg(long, value_name = "WHEN")]
    since: String,
    /// ... and at or before this (default: now).
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// Decide and search, write nothing (DRY_RUN for this run).
    #[arg(long)]
    dry_run: bool,
    /// Investigations escalated at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    concurrency: u16,
    /// Each escalation's time budget, in seconds, as a Lambda invocation's.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=900))]
    budget_seconds: u64,
    /// Print the result as JSON (one object at the end) instead of lines and a table.
    #[arg(long)]
    json: bool,
}

/// Runs `backfill`.
pub async fn run(app: &App, args: &Args) -> Result<Ended, Failure> {
    let now_ms = app.clock().now_ms();
    let since_ms = when::parse(&args.since, now_ms).map_err(|e| format!("--since {e}"))?;
    let until_ms = match &args.until {
        Some(until) => when::parse(until, now_ms).map_err(|e| format!("--until {e}"))?,
        None => now_ms,
    };
    if since_ms > until_ms {
        return Err(format!("--since ({}) is after --until ({})", when::millis(since_ms), when::millis(until_ms)).into());
    }
    let detector_id = parse_detector_id(args.detector.trim())
        .ok_or_else(|| format!("--detector {:?}: a detector id is 1 to 300 letters and digits", args.detector))?;
    let config = Config { dry_run: app.config().dry_run || args.dry_run, ..app.config().clone() };
    let app = app.clone().reconfigured(config);
    // A backfill's investigations are old: only the ledger keeps a run (or a second one) from opening a second case.
    crate::connect::require_ledger(&app, "backfill", "LEDGER_TABLE, or --ledger-table; --dry-run needs none")?;
    let options = BackfillOptions {
        detector_id,
        since_ms,
        until_ms,
        concurrency: usize::from(args.concurrency),
        budget: Duration::from_secs(args.budget_seconds),
        run_id: format!("backfill-{}-{now_ms}", std::process::id()),
    };
    eprintln!(
        "backfill of detector {}: investigations that ended {} .. {}{}",
        options.detector_id,
        when::millis(since_ms),
        when::millis(until_ms),
        if app.config().dry_run { " (dry run: nothing is written)" } else { "" }
    );
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(stop_on_ctrl_c(stop.clone()));
    let mut view = View::new(args.json);
    let result = backfill(&app, &options, &stop, |p| view.show(p)).await;
    watcher.abort();
    view.finish();
    let report = result.map_err(failed)?;
    let stopped = stop.load(Ordering::SeqCst) && report.not_started > 0;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&as_json(&report, stopped)).map_err(failed)?);
    } else {
        println!("{}", summary(&report));
        println!("{}", closing(&report, stopped));
    }
    Ok(ended(&report, stopped))
}

/// How the run ends: stopped by the operator; complete; or with something
/// failed or left undone (pending, or a listing cut at its cap), which a
/// later run takes up.
fn ended(report: &Backfill, stopped: bool) -> Ended {
    if stopped {
        Ended::Stopped
    } else if report.complete() && report.counts.failed == 0 {
        Ended::Done
    } else {
        Ended::Failed
    }
}

/// The first Ctrl-C stops new escalations (those under way finish); a second quits at once.
async fn stop_on_ctrl_c(stop: Arc<AtomicBool>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    stop.store(true, Ordering::SeqCst);
    eprintln!(
        "stopping: the escalations under way finish, no new one starts (Ctrl-C again to quit now; their leases then run out on their own)"
    );
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}

/// Progress: a bar on a terminal, else one plain line per investigation.
struct View {
    bar: Option<ProgressBar>,
    lines: bool,
}

impl View {
    /// A bar when stderr is a terminal; a line per investigation unless the answer is JSON.
    fn new(json: bool) -> View {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} eta {eta}") {
                bar.set_style(style);
            }
            bar
        });
        logs::around(bar.clone());
        View { bar, lines: !json }
    }

    fn show(&mut self, progress: Progress<'_>) {
        match progress {
            Progress::Listed { to_visit, running, listed_whole } => {
                let note = format!(
                    "{to_visit} finished investigation(s) to visit, {running} still running{}",
                    if listed_whole {
                        ""
                    } else {
                        " (the listing stopped at its cap of 1,000 newest investigations: older ones are not reached)"
                    }
                );
                match &self.bar {
                    Some(bar) => {
                        bar.set_length(to_visit as u64);
                        bar.println(note);
                    }
                    None => eprintln!("{note}"),
                }
            }
            Progress::Visited(visited) => {
                let line = line(visited);
                match &self.bar {
                    Some(bar) => {
                        bar.inc(1);
                        if self.lines {
                            // On stdout, like the summary, with the bar out of the way meanwhile.
                            bar.suspend(|| println!("{line}"));
                        }
                    }
                    None if self.lines => println!("{line}"),
                    None => {}
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            logs::around(None);
            bar.finish_and_clear();
        }
    }
}

/// One investigation's line: `ID  OUTCOME  DETAIL`.
pub fn line(v: &Visited) -> String {
    let (outcome, detail) = outcome_of(&v.result);
    format!("{}  {outcome}  {detail}", v.investigation_id).trim_end().to_string()
}

/// The outcome's name (with the skip reason) and a detail for people.
fn outcome_of(result: &Result<Outcome, Error>) -> (String, String) {
    match result {
        Ok(o @ Outcome::Escalated { case_id, already_escalated, dry_run, incident_record_arns, .. }) => {
            let name = if *dry_run {
                "escalate (dry run)"
            } else if *already_escalated {
                "escalated before"
            } else {
                o.name()
            };
            let case = case_id.as_deref().map_or_else(|| "no case opened".to_string(), |c| format!("case {c}"));
            (name.to_string(), format!("{case}, {} incident(s) linked", incident_record_arns.len()))
        }
        Ok(o) => {
            let name = o.reason().map_or_else(|| o.name().to_string(), |r| format!("{}: {r}", o.name()));
            (name, String::new())
        }
        Err(Error::Deadline { .. }) => ("pending".into(), "cut off by its budget; the next run resumes it".into()),
        Err(e) => (format!("failed: {}", e.kind()), e.to_string()),
    }
}

/// The summary table: how many came to each outcome.
pub fn summary(report: &Backfill) -> String {
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for v in &report.visited {
        *by_outcome.entry(outcome_of(&v.result).0).or_default() += 1;
    }
    let mut rows: Vec<Vec<String>> = by_outcome.into_iter().map(|(o, n)| vec![o, n.to_string()]).collect();
    if report.not_started > 0 {
        rows.push(vec!["not started (stopped)".into(), report.not_started.to_string()]);
    }
    if report.running > 0 {
        rows.push(vec!["still running (not visited)".into(), report.running.to_string()]);
    }
    rows.push(vec!["total visited".into(), report.visited.len().to_string()]);
    format!("\n{}", table::render(&["outcome", "investigations"], &rows))
}

/// The closing line: complete, or what is left and how to finish it.
fn closing(report: &Backfill, stopped: bool) -> String {
    if stopped {
        format!("stopped with {} not started: run the same command again to finish (what is done is not done twice)", report.not_started)
    } else if report.counts.failed > 0 {
        format!("{} failed (named above); run again to retry them (nothing done is done twice)", report.counts.failed)
    } else if report.counts.pending > 0 {
        format!(
            "{} pending (another invocation held its lease, or the budget cut it off): run again once the leases end",
            report.counts.pending
        )
    } else if !report.listed_whole {
        "incomplete: GuardDuty's listing stopped at its cap of 1,000 newest investigations; older ones in the window were not reached"
            .into()
    } else {
        "complete".into()
    }
}

fn as_json(report: &Backfill, stopped: bool) -> Value {
    let visited: Vec<Value> = report
        .visited
        .iter()
        .map(|v| {
            let result = match &v.result {
                Ok(outcome) => serde_json::to_value(outcome).unwrap_or(Value::Null),
                Err(e) => json!({"error": e.kind(), "message": e.to_string()}),
            };
            json!({"investigationId": v.investigation_id, "endTime": v.end_ms.map(when::millis), "result": result})
        })
        .collect();
    json!({
        "counts": report.counts,
        "notStarted": report.not_started,
        "running": report.running,
        "complete": report.complete(),
        "stopped": stopped,
        "visited": visited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use investigation_escalator::Counts;

    fn report(counts: Counts, not_started: usize, listed_whole: bool) -> Backfill {
        Backfill { counts, not_started, listed_whole, ..Backfill::default() }
    }

    #[test]
    fn only_a_settled_window_ends_done() {
        let done = Counts { escalated: 2, skipped: 1, ..Counts::default() };
        assert_eq!(ended(&report(done, 0, true), false), Ended::Done);
        assert_eq!(closing(&report(done, 0, true), false), "complete");
        let pending = Counts { pending: 1, ..done };
        assert_eq!(ended(&report(pending, 0, true), false), Ended::Failed, "a held or cut-off one is left undone");
        assert!(closing(&report(pending, 0, true), false).starts_with("1 pending"));
        let failed = Counts { failed: 1, ..done };
        assert_eq!(ended(&report(failed, 0, true), false), Ended::Failed);
        assert_eq!(ended(&report(done, 0, false), false), Ended::Failed, "a listing cut at its cap");
        assert!(closing(&report(done, 0, false), false).contains("cap"));
        assert_eq!(ended(&report(done, 3, true), true), Ended::Stopped);
        assert!(closing(&report(done, 3, true), true).starts_with("stopped with 3 not started"));
    }
}
