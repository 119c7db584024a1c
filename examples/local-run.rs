//! Runs the real handler on the built-in simulation of AWS:
//!
//! ```text
//! cargo run --example local-run -- events/investigation-critical.json [more events…] [--fixture FILE | --backlog N]
//! cargo run --example local-run -- --with-ledger events/investigation-critical.json \
//!     --move-case "Detection and Analysis" --move-case "Containment, Eradication and Recovery" \
//!     --comment "Isolated the bastion." --resolve-incident --close-case
//! ```
//!
//! Configuration comes from the environment exactly as in Lambda
//! (`RISK_THRESHOLD=Low cargo run --example local-run -- …`). Prints, for each
//! event, the result JSON and what changed in the simulated services.
//!
//! A responder's steps act on the case the run opened last, as a person
//! would (not as the function), then deliver the event AWS would send:
//! `--move-case STATUS` (`UpdateCaseStatus`, then `Case Updated`), `--comment
//! TEXT` (then `Case Comment Added`), `--resolve-incident` (its first linked
//! incident, then CloudTrail's `UpdateIncidentRecord`), `--close-case` (then
//! `Case Closed`). Keeping the two in step needs the ledger: `--with-ledger`
//! keeps one in a moto server (Python 3).

use std::process::ExitCode;
use std::time::Duration;

use escalator_sim::events::{case_event, update_incident_record};
use escalator_sim::{demo_fixture, operator_sdk_config, sdk_config, sdk_config_at, Authorization, Fixture, Moto, Sim, Stack};
use investigation_escalator::{init_logging, App, Clock, Config};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("local-run: {e}");
            ExitCode::from(2)
        }
    }
}

/// One step of the run.
enum Step {
    /// An event file, delivered as it is.
    Event(String),
    /// A responder moves the case to this status.
    MoveCase(String),
    /// A responder comments on the case.
    Comment(String),
    /// Someone resolves the case's first linked incident in Incident Manager.
    ResolveIncident,
    /// A responder closes the case.
    CloseCase,
}

async fn run() -> Result<bool, String> {
    init_logging();
    let mut events = Vec::new();
    let mut fixture = demo_fixture();
    let mut with_ledger = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--with-ledger" => with_ledger = true,
            "--move-case" => events.push(Step::MoveCase(args.next().ok_or("--move-case takes a status")?)),
            "--comment" => events.push(Step::Comment(args.next().ok_or("--comment takes a text")?)),
            "--resolve-incident" => events.push(Step::ResolveIncident),
            "--close-case" => events.push(Step::CloseCase),
            _ => {}
        }
        if arg.starts_with("--") && !matches!(arg.as_str(), "--fixture" | "--backlog") {
            continue;
        }
        if arg == "--fixture" {
            let path = args.next().ok_or("--fixture takes a file")?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            fixture = serde_json::from_str::<Fixture>(&text).map_err(|e| format!("{path}: {e}"))?;
        } else if arg == "--backlog" {
            // N investigations that ended in the last N minutes, for trying the sweep.
            let n = args.next().and_then(|n| n.parse().ok()).ok_or("--backlog takes a number")?;
            fixture = escalator_sim::backlog_fixture(n).fixture;
        } else {
            events.push(Step::Event(arg));
        }
    }
    if events.is_empty() {
        return Err("usage: cargo run --example local-run -- EVENT.json [EVENT.json…] [--fixture FILE | --backlog N]".into());
    }
    let mut config = Config::from_env().map_err(|e| e.to_string())?;
    if with_ledger && config.ledger_table.is_none() {
        config.ledger_table = Some(LEDGER_TABLE.to_string());
    }
    // The simulation authorizes every call as IAM would for the function role
    // that template.yaml gives a stack configured as this environment is.
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let stack = Stack::for_function_env(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let sim = Sim::start_with(fixture, Authorization::Stack(stack)).await?;
    let mut app = App::new(config, &sdk_config(&sim).await, Clock::system()).without_ledger();
    // Kept to the end: dropping it stops moto.
    let _moto = match &app.config().ledger_table {
        Some(table) if with_ledger => {
            let moto = Moto::start()?;
            moto.create_ledger_table(table).await?;
            app = app.with_ledger_at(&sdk_config_at(moto.url()).await);
            Some(moto)
        }
        Some(table) => return Err(format!("LEDGER_TABLE={table}: the local run keeps a ledger only with --with-ledger")),
        None => None,
    };
    let mut all_ok = true;
    let mut case_id: Option<String> = None;
    for (n, step) in events.into_iter().enumerate() {
        let before = sim.snapshot();
        let (path, payload) = match step {
            Step::Event(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                let payload: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
                (path, payload)
            }
            step => {
                let case = case_id.clone().ok_or("a responder's step needs a case: deliver an investigation event first")?;
                responder(&sim, &case, step).await?
            }
        };
        let calls_before = sim.state(|s| s.log.len());
        println!("\n=== {path}");
        // Each event is its own invocation, with Lambda's default 60 s budget of this template.
        let invocation = app.invocation(format!("local-run-{}", n + 1), Duration::from_secs(60));
        let result = match investigation_escalator::run(&app, &payload, &invocation).await {
            Ok(outcome) => serde_json::to_value(&outcome).unwrap_or(Value::Null),
            Err(e) => {
                all_ok = false;
                json!({"error": e.kind(), "message": e.to_string()})
            }
        };
        println!("result: {}", serde_json::to_string_pretty(&result).unwrap_or_default());
        if let Some(id) = result["caseId"].as_str() {
            case_id = Some(id.to_string());
        }
        let calls: Vec<String> = sim.state(|s| {
            s.log[calls_before..]
                .iter()
                .map(|e| {
                    format!(
                        "{}{}{}",
                        e.operation,
                        e.error.as_ref().map(|c| format!(" → {c}")).unwrap_or_default(),
                        if e.replayed { " (replayed from its token)" } else { "" }
                    )
                })
                .collect()
        });
        println!("AWS calls: {}", if calls.is_empty() { "none".to_string() } else { calls.join(", ") });
        print_changes(&before, &sim.snapshot());
    }
    Ok(all_ok)
}

/// The ledger table's name when `--with-ledger` is given and `LEDGER_TABLE` is not set.
const LEDGER_TABLE: &str = "investigation-escalator-ledger";

/// Does a responder's step on `case_id` (as a person, not as the function) and
/// returns the event AWS then sends, with a name for it.
async fn responder(sim: &Sim, case_id: &str, step: Step) -> Result<(String, Value), String> {
    let config = operator_sdk_config(sim).await;
    let ir = aws_sdk_securityir::Client::new(&config);
    let now = aws_sdk_securityir::primitives::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_sdk_securityir::primitives::DateTimeFormat::DateTime)
        .map_err(|e| e.to_string())?;
    let (account, region) = ("123456789012", "us-east-1");
    let case_event = |detail_type: &str, actor| case_event(detail_type, case_id, actor, account, region, &now);
    Ok(match step {
        Step::MoveCase(status) => {
            let to = aws_sdk_securityir::types::SelfManagedCaseStatus::from(status.as_str());
            ir.update_case_status().case_id(case_id).case_status(to).send().await.map_err(|e| format!("UpdateCaseStatus: {e:?}"))?;
            (format!("a responder moves case {case_id} to {status}: Case Updated"), case_event("Case Updated", Some("AWS Responder")))
        }
        Step::Comment(text) => {
            ir.create_case_comment().case_id(case_id).body(&text).send().await.map_err(|e| format!("CreateCaseComment: {e:?}"))?;
            (format!("a responder comments on case {case_id}: Case Comment Added"), case_event("Case Comment Added", Some(account)))
        }
        Step::CloseCase => {
            ir.close_case().case_id(case_id).send().await.map_err(|e| format!("CloseCase: {e:?}"))?;
            (format!("a responder closes case {case_id}: Case Closed"), case_event("Case Closed", None))
        }
        Step::ResolveIncident => {
            let arn = sim
                .state(|s| s.cases.get(case_id).and_then(|c| c["caseMetadata"].as_array().and_then(|m| m.first()).cloned()))
                .and_then(|entry| entry["value"].as_str().map(str::to_string))
                .ok_or_else(|| format!("case {case_id} links no incident"))?;
            let incidents = aws_sdk_ssmincidents::Client::new(&config);
            let resolved = aws_sdk_ssmincidents::types::IncidentRecordStatus::Resolved;
            incidents
                .update_incident_record()
                .arn(&arn)
                .status(resolved)
                .send()
                .await
                .map_err(|e| format!("UpdateIncidentRecord: {e:?}"))?;
            let session = format!("arn:aws:sts::{account}:assumed-role/IncidentCommander/oncall");
            (
                format!("someone resolves {arn} in Incident Manager: CloudTrail's UpdateIncidentRecord"),
                update_incident_record(&arn, "RESOLVED", &session, account, region, &now),
            )
        }
        Step::Event(path) => return Err(format!("{path}: not a responder's step")),
    })
}

/// Prints what an invocation added or changed in the simulated services.
fn print_changes(before: &Value, after: &Value) {
    let mut any = false;
    for (section, label) in [
        ("cases", "Security IR case"),
        ("comments", "Security IR comments of case"),
        ("incidentRecords", "Incident Manager record"),
        ("relatedItems", "related items of incident"),
        ("timelineEvents", "timeline events of incident"),
    ] {
        let (Some(old), Some(new)) = (before[section].as_object(), after[section].as_object()) else {
            continue;
        };
        for (key, value) in new {
            let previous = old.get(key);
            if previous == Some(value) {
                continue;
            }
            any = true;
            let shown = match (previous, value) {
                (Some(Value::Array(p)), Value::Array(v)) => Value::Array(v[p.len().min(v.len())..].to_vec()),
                // A changed record: only the members that changed.
                (Some(Value::Object(p)), Value::Object(v)) => {
                    Value::Object(v.iter().filter(|(k, x)| p.get(*k) != Some(*x)).map(|(k, x)| (k.clone(), x.clone())).collect())
                }
                _ => value.clone(),
            };
            let verb = match (previous, value) {
                (Some(Value::Object(_)), Value::Object(_)) => "changed in",
                (Some(_), _) => "added to",
                (None, _) => "new",
            };
            println!("{verb} {label} {key}:\n{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
        }
    }
    if !any {
        println!("changes: none");
    }
}
