//! `status`: the ledger's items for an investigation or a case, and what they mean.

use std::fmt::Write as _;

use investigation_escalator::operator::{case_key, fit_title, investigation_key, parse_case_id, InvestigationRef, Record, SkipReason};
use investigation_escalator::App;
use serde::Serialize;

use crate::{failed, when, Ended, Failure};

/// `status --detector D --investigation I` or `status --case C`
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("subject").required(true).args(["investigation", "case"]))]
pub struct Args {
    /// The GuardDuty detector (with --investigation).
    #[arg(long, env = "DETECTOR_ID", value_name = "ID")]
    detector: Option<String>,
    /// The investigation.
    #[arg(long, value_name = "ID", requires = "detector")]
    investigation: Option<String>,
    /// A Security Incident Response case: its item, then its investigation's.
    #[arg(long, value_name = "ID")]
    case: Option<String>,
    /// Print the items as JSON.
    #[arg(long)]
    json: bool,
}

/// What `status` found.
#[derive(Debug, Serialize)]
struct Status {
    /// The items read, in order (the case's first, with --case).
    items: Vec<Record>,
    /// The keys read that hold nothing.
    absent: Vec<String>,
}

/// Runs `status`.
pub async fn run(app: &App, args: &Args) -> Result<Ended, Failure> {
    let ledger = app.ledger().ok_or("status reads the ledger: set LEDGER_TABLE (or --ledger-table), or use --simulate --with-ledger")?;
    let mut keys = Vec::new();
    if let (Some(detector), Some(investigation)) = (&args.detector, &args.investigation) {
        let target = InvestigationRef::new(detector, investigation).map_err(|e| e.to_string())?;
        keys.push(investigation_key(ledger.region(), &target.detector_id, &target.investigation_id));
    }
    if let Some(case) = &args.case {
        let case_id = parse_case_id(case.trim()).ok_or_else(|| format!("--case {case:?}: a case id is 10 to 32 digits"))?;
        keys.push(case_key(ledger.region(), &case_id));
    }
    let mut status = Status { items: Vec::new(), absent: Vec::new() };
    while let Some(key) = keys.first().cloned() {
        keys.remove(0);
        match ledger.record(&key).await.map_err(failed)? {
            Some(record) => {
                // A case item names its investigation's item: read that one too. Only from a
                // case item, and only an investigation key: at most one more read.
                let next = record.investigation.clone().filter(|k| key.starts_with("case/") && k.starts_with("investigation/"));
                if let Some(investigation) = next {
                    if !status.items.iter().any(|r| r.key == investigation) && !keys.contains(&investigation) {
                        keys.push(investigation);
                    }
                }
                status.items.push(record);
            }
            None => status.absent.push(key),
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status).map_err(failed)?);
        return Ok(Ended::Done);
    }
    let now = app.clock().now_secs();
    for record in &status.items {
        println!("{}\n{}", shown(&record.key), describe_record(record, now));
    }
    for key in &status.absent {
        println!("{key}\n{}", absent(key));
    }
    Ok(Ended::Done)
}

/// What a missing key means.
fn absent(key: &str) -> String {
    if key.starts_with("case/") {
        "  no item: this product did not open that case (or opened it without a ledger, or in another region)\n".into()
    } else {
        "  no item: the function has not decided this investigation yet (or skipped it under gates that may change, and the item expired)\n"
            .into()
    }
}

/// A stored value on one clean line (the items hold ids and ARNs from the services).
fn shown(value: &str) -> String {
    fit_title(value, 1_000)
}

/// One ledger item, for people: its state, what the state means, and when
/// its lease or the item itself ends.
pub fn describe_record(r: &Record, now_secs: i64) -> String {
    let mut out = String::new();
    let state = r.state.as_deref().unwrap_or(if r.key.starts_with("case/") { "case" } else { "(none)" });
    let _ = writeln!(out, "  state: {}", shown(state));
    let _ = writeln!(out, "  means: {}", shown(&meaning(r, now_secs)));
    let mirrored = r.mirrored_status.as_ref().map(|status| {
        let n = r.mirrored_transitions.unwrap_or(0);
        format!("{status} ({n} transition{} mirrored to the incidents)", if n == 1 { "" } else { "s" })
    });
    let rows: [(&str, Option<String>); 10] = [
        ("case", r.case_id.clone()),
        ("investigation", r.investigation.clone().or_else(|| r.investigation_id.clone())),
        ("risk level", r.risk_level.clone()),
        ("confidence", r.confidence.clone()),
        ("skip reason", r.reason.clone()),
        ("lease holder", r.lease_owner.clone()),
        ("lease ends", r.lease_expires.map(|t| format!("{} ({})", when::secs(t), relative(t, now_secs)))),
        ("settled through", r.settled_through.map(when::millis).map(|t| format!("{t} (gates {})", r.gates.as_deref().unwrap_or("?")))),
        ("last status mirrored", mirrored),
        ("updated", r.updated_at.map(when::secs)),
    ];
    for (name, value) in rows {
        if let Some(value) = value {
            let _ = writeln!(out, "  {name}: {}", shown(&value));
        }
    }
    for (name, values) in [
        ("incidents", &r.incidents),
        ("steps done", &r.steps_done),
        ("comments mirrored to the incidents", &r.mirrored_comments),
        ("incident resolutions told on the case", &r.mirrored_resolutions),
    ] {
        if !values.is_empty() {
            let _ = writeln!(out, "  {name}:");
            for v in values {
                let _ = writeln!(out, "    {}", shown(v));
            }
        }
    }
    let kept = match r.ttl {
        Some(ttl) => format!("until {} (DynamoDB's TTL may delete it after that)", when::secs(ttl)),
        None => "for ever (no TTL)".into(),
    };
    let _ = writeln!(out, "  kept: {kept}");
    out
}

/// `in 5 min` or `5 min ago`.
fn relative(at_secs: i64, now_secs: i64) -> String {
    if at_secs >= now_secs {
        format!("in {}", when::span(at_secs - now_secs))
    } else {
        format!("{} ago", when::span(now_secs - at_secs))
    }
}

/// What an item's state means for the next delivery or sweep.
fn meaning(r: &Record, now_secs: i64) -> String {
    match r.state.as_deref() {
        Some("escalated") => format!(
            "escalated for good: case {} is open and linked; every later delivery or sweep answers with it and writes nothing",
            r.case_id.as_deref().unwrap_or("?")
        ),
        Some("in_progress") => {
            let resume = match &r.case_id {
                Some(case) => format!("resumes with case {case} (opened already) and makes only the links not done"),
                None => "starts it from the beginning (no case was opened yet)".into(),
            };
            match r.lease_expires {
                Some(t) if t >= now_secs => format!(
                    "an invocation holds the lease for {}: deliveries meanwhile answer pending; if it dies, the first delivery or sweep after the lease ends {resume}",
                    when::span(t - now_secs)
                ),
                _ => format!("the lease has ended (the holder finished with an error or died): the next delivery or sweep {resume}"),
            }
        }
        Some("skipped") => match r.reason.as_deref().and_then(SkipReason::parse) {
            Some(reason) if reason.is_final() => format!("skipped for good ({}): never decided again", reason.as_str()),
            Some(reason) => {
                format!("skipped ({}): decided again on every delivery or sweep, so a change of the gates applies to it", reason.as_str())
            }
            None => "skipped for a reason this build does not know".into(),
        },
        Some("started") => format!(
            "a finding item: investigation {} was started for this finding; the finding never starts another",
            r.investigation_id.as_deref().unwrap_or("?")
        ),
        None if r.key.starts_with("case/") => {
            "a case this product opened: its status and responders' comments are mirrored to these incidents, their \
             resolutions told on the case, and the close-out resolves them when the case closes"
                .into()
        }
        None if r.key.starts_with("sweep/") => "the sweep's mark: every investigation that ended before it is settled".into(),
        Some(other) => format!("a state this build does not know ({other:?}): the function treats it as held, never as absent"),
        None => "an item with no state: the function treats it as held, never as absent".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: &str) -> Record {
        Record { key: "investigation/us-east-1/d/i".into(), state: Some(state.into()), ..Record::default() }
    }

    #[test]
    fn a_live_lease_says_how_long_and_what_a_takeover_does() {
        let r = Record {
            lease_owner: Some("req/i".into()),
            lease_expires: Some(1_300),
            case_id: Some("1234567890".into()),
            ..record("in_progress")
        };
        let text = describe_record(&r, 1_000);
        assert!(text.contains("holds the lease for 5 min"), "{text}");
        assert!(text.contains("resumes with case 1234567890"), "{text}");
        assert!(text.contains("lease ends: 1970-01-01T00:21:40Z (in 5 min)"), "{text}");
        assert!(text.contains("kept: for ever"), "{text}");
        let ended = describe_record(&r, 2_000);
        assert!(ended.contains("the lease has ended") && ended.contains("(11 min ago)"), "{ended}");
    }

    #[test]
    fn stored_text_is_shown_on_one_clean_line() {
        let odd = Record { case_id: Some("1234567890\u{1b}[2J\nstate: forged".into()), ..record("escalated") };
        let text = describe_record(&odd, 0);
        assert!(!text.contains('\u{1b}') && !text.contains("\nstate: forged"), "{text}");
        assert!(text.contains("case: 1234567890[2J state: forged"), "{text}");
    }

    #[test]
    fn skips_say_whether_they_are_final() {
        let final_skip = Record { reason: Some("investigation_failed".into()), ttl: Some(0), ..record("skipped") };
        assert!(meaning(&final_skip, 0).contains("for good"));
        assert!(describe_record(&final_skip, 0).contains("kept: until 1970-01-01T00:00:00Z"));
        let gated = Record { reason: Some("below_threshold".into()), ..record("skipped") };
        assert!(meaning(&gated, 0).contains("decided again"));
    }

    #[test]
    fn escalated_case_and_unknown_items_are_explained() {
        let done = Record { case_id: Some("1234567890".into()), incidents: vec!["arn:1".into()], ..record("escalated") };
        let text = describe_record(&done, 0);
        assert!(text.contains("escalated for good: case 1234567890") && text.contains("incidents:\n    arn:1"), "{text}");
        let case = Record {
            key: "case/us-east-1/1234567890".into(),
            investigation: Some("investigation/us-east-1/d/i".into()),
            ..Record::default()
        };
        assert!(describe_record(&case, 0).contains("state: case"));
        assert!(meaning(&case, 0).contains("close-out"));
        assert!(meaning(&record("something-new"), 0).contains("never as absent"));
        assert!(absent("case/us-east-1/1").contains("did not open"));
    }

    #[test]
    fn a_case_item_shows_what_was_mirrored() {
        let case = Record {
            key: "case/us-east-1/1234567890".into(),
            mirrored_status: Some("Containment, Eradication and Recovery".into()),
            mirrored_transitions: Some(2),
            mirrored_comments: vec!["000003".into()],
            mirrored_resolutions: vec!["arn:1@1763650953000".into()],
            ..Record::default()
        };
        let text = describe_record(&case, 0);
        assert!(
            text.contains("last status mirrored: Containment, Eradication and Recovery (2 transitions mirrored to the incidents)"),
            "{text}"
        );
        assert!(text.contains("comments mirrored to the incidents:\n    000003"), "{text}");
        assert!(text.contains("incident resolutions told on the case:\n    arn:1@1763650953000"), "{text}");
        assert!(!describe_record(&Record { key: "case/us-east-1/1".into(), ..Record::default() }, 0).contains("last status mirrored"));
    }
}
