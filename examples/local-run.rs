//! Runs the real handler on the built-in simulation of AWS:
//!
//! ```text
//! cargo run --example local-run -- events/investigation-critical.json [more events…] [--fixture FILE | --backlog N]
//! ```
//!
//! Configuration comes from the environment exactly as in Lambda
//! (`RISK_THRESHOLD=Low cargo run --example local-run -- …`). Prints, for each
//! event, the result JSON and what changed in the simulated services.

use std::process::ExitCode;
use std::time::Duration;

use escalator_sim::{demo_fixture, sdk_config, Authorization, Fixture, Sim, Stack};
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

async fn run() -> Result<bool, String> {
    init_logging();
    let mut events = Vec::new();
    let mut fixture = demo_fixture();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--fixture" {
            let path = args.next().ok_or("--fixture takes a file")?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            fixture = serde_json::from_str::<Fixture>(&text).map_err(|e| format!("{path}: {e}"))?;
        } else if arg == "--backlog" {
            // N investigations that ended in the last N minutes, for trying the sweep.
            let n = args.next().and_then(|n| n.parse().ok()).ok_or("--backlog takes a number")?;
            fixture = escalator_sim::backlog_fixture(n).fixture;
        } else {
            events.push(arg);
        }
    }
    if events.is_empty() {
        return Err("usage: cargo run --example local-run -- EVENT.json [EVENT.json…] [--fixture FILE | --backlog N]".into());
    }
    let config = Config::from_env().map_err(|e| e.to_string())?;
    // The simulation authorizes every call as IAM would for the function role
    // that template.yaml gives a stack configured as this environment is.
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let stack = Stack::for_function_env(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let sim = Sim::start_with(fixture, Authorization::Stack(stack)).await?;
    let app = App::new(config, &sdk_config(&sim).await, Clock::system());
    let mut all_ok = true;
    for (n, path) in events.into_iter().enumerate() {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let payload: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
        let before = sim.snapshot();
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
                _ => value.clone(),
            };
            let verb = if previous.is_some() { "added to" } else { "new" };
            println!("{verb} {label} {key}:\n{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
        }
    }
    if !any {
        println!("changes: none");
    }
}
