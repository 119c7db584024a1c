//! `explain`: what the function would do with an investigation now, and why.

use std::fmt::Write as _;

use investigation_escalator::operator::{explain, Explanation, InvestigationRef};

use crate::status::describe_record;
use crate::{failed, files, when, Ended, Failure};

/// `explain --detector D --investigation I [--json]` or `explain --event FILE`
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("subject").required(true).args(["investigation", "event"]))]
pub struct Args {
    /// The GuardDuty detector (with --investigation).
    #[arg(long, env = "DETECTOR_ID", value_name = "ID")]
    detector: Option<String>,
    /// The investigation.
    #[arg(long, value_name = "ID", requires = "detector")]
    investigation: Option<String>,
    /// An investigation event (a file as the function would receive it, with any
    /// incident record or finding ids it names).
    #[arg(long, value_name = "FILE")]
    event: Option<String>,
    /// Print the explanation as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `explain`.
pub async fn run(app: &investigation_escalator::App, args: &Args) -> Result<Ended, Failure> {
    let target = target(args)?;
    let explanation = explain(app, &target).await.map_err(|e| failed(format!("explain {}: {e}", target.investigation_id)))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&explanation).map_err(failed)?);
    } else {
        print!("{}", render(&explanation, app.clock().now_secs()));
    }
    Ok(Ended::Done)
}

/// The investigation to explain, from the flags or the event file.
fn target(args: &Args) -> Result<InvestigationRef, String> {
    if let (Some(detector), Some(investigation)) = (&args.detector, &args.investigation) {
        return InvestigationRef::new(detector, investigation).map_err(|e| e.to_string());
    }
    let path = args.event.as_deref().ok_or("explain needs --investigation (with --detector) or --event")?;
    let text = files::read(path)?;
    let payload: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
    InvestigationRef::from_event(&payload)
        .map_err(|e| format!("{path}: {e}"))?
        .ok_or_else(|| format!("{path}: not an investigation event (explain takes the events that name an investigation)"))
}

/// The explanation, for people.
pub fn render(x: &Explanation, now_secs: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Investigation {} (detector {})", x.investigation_id, x.detector_id);
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    match &x.investigation {
        Some(inv) => {
            let ended = inv.end_ms.map_or_else(|| "not ended".into(), |ms| format!("ended {}", when::millis(ms)));
            let _ = writeln!(out, "  {}, risk {}, confidence {}, {ended}", inv.status, shown(&inv.risk_level), shown(&inv.confidence));
            if let Some(error) = &inv.error {
                let _ = writeln!(out, "  error: {error}");
            }
            let _ = writeln!(out, "  {}", inv.console_url);
        }
        None => out.push_str("  (GuardDuty did not answer: see the notes)\n"),
    }
    let _ = writeln!(out, "\nDecision: {}: {}", x.decision.to_uppercase().replace('_', " "), x.why);
    let gates = &x.gates;
    let _ = writeln!(
        out,
        "  gates: RISK_THRESHOLD={} MIN_CONFIDENCE={}{}",
        gates.risk_threshold,
        gates.min_confidence,
        if gates.dry_run { " DRY_RUN=true" } else { "" }
    );
    for c in &x.checks {
        let _ = writeln!(out, "  [{}] {}: {} (needs {})", if c.passes { "pass" } else { "FAIL" }, c.gate, c.value, c.needs);
    }
    let _ = writeln!(out, "\nLedger:");
    match (&x.ledger, x.ledger_configured) {
        (_, false) => out.push_str("  not configured (LEDGER_TABLE is not set): the services' tokens alone keep writes single\n"),
        (None, true) => out.push_str("  no item: the function has not decided this investigation yet\n"),
        (Some(record), true) => out.push_str(&describe_record(record, now_secs)),
    }
    if let Some(case) = &x.case {
        let heading = match &case.existing_case_id {
            Some(id) => format!("\nCase (open already: {id}):"),
            None => "\nCase that would be opened:".to_string(),
        };
        let _ = writeln!(out, "{heading}");
        let _ = writeln!(out, "  title: {}", case.title);
        let _ = writeln!(out, "  impactedAccounts: {}", list(&case.impacted_accounts));
        let _ = writeln!(out, "  impactedAwsRegions: {}", list(&case.impacted_regions));
        let _ = writeln!(out, "  impactedServices: {}", list(&case.impacted_services));
        let _ = writeln!(out, "  engagementType: {}, resolverType: {}", case.engagement_type, case.resolver_type);
        let _ = writeln!(out, "  watchers: {}", list(&case.watchers));
        let _ = writeln!(out, "  description: {} characters, beginning:", case.description.chars().count());
        for line in case.description.lines().take(8) {
            let _ = writeln!(out, "    | {line}");
        }
        for left_out in &case.left_out {
            let _ = writeln!(out, "  left out: {left_out}");
        }
        let _ = writeln!(out, "\nIncident records:");
        if x.incidents.is_empty() {
            out.push_str("  none matched\n");
        }
        for i in &x.incidents {
            let _ = writeln!(out, "  {} ({:?}), matched by rule {}", i.arn, i.title, i.rule);
        }
        let _ = writeln!(out, "\nThreat actors (public remote addresses the findings name):");
        if x.threat_actors.is_empty() {
            out.push_str("  none\n");
        }
        for a in &x.threat_actors {
            let _ = writeln!(out, "  {}{}", a.address, a.user_agent.as_ref().map(|ua| format!(" (user agent {ua:?})")).unwrap_or_default());
        }
    } else if x.decision == "already_escalated" && !x.incidents.is_empty() {
        let _ = writeln!(out, "\nIncident records linked:");
        for i in &x.incidents {
            let _ = writeln!(out, "  {}", i.arn);
        }
    }
    if !x.writes.is_empty() {
        let _ = writeln!(out, "\nWrites, in order, each with its idempotency token:");
        for (n, w) in x.writes.iter().enumerate() {
            let token = w.token.as_deref().or(w.token_note).unwrap_or("none");
            let _ = writeln!(out, "  {}. {} on {} [{}]\n     token {token}\n     {}", n + 1, w.operation, w.target, w.state, w.detail);
        }
    }
    if !x.notes.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for note in &x.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}
