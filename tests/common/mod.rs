//! Shared test setup: the simulation, an app pointed at it, and the sample events.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use escalator_sim::{demo_fixture, sdk_config, Fixture, Moto, Sim};
use investigation_escalator::aws::Aws;
use investigation_escalator::config::Config;
use investigation_escalator::handler::Invocation;
use investigation_escalator::ledger::Ledger;
use investigation_escalator::App;
use serde_json::Value;

pub const MATCHING: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/1f2e3d4c5b6a79880796a5b4c3d2e1f0";
pub const UNRELATED: &str = "arn:aws:ssm-incidents::123456789012:incident-record/Checkout/2a3b4c5d6e7f80911a2b3c4d5e6f7081";
pub const RESOLVED: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/3b4c5d6e7f8091a2b3c4d5e6f7081920";
pub const EXPLICIT: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/6a1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse";

/// A simulation seeded with a fixture, the app pointed at it and, with a
/// ledger, the moto server that holds the ledger table.
pub struct TestEnv {
    pub sim: Sim,
    pub app: App,
    pub moto: Option<Moto>,
    pub dynamo: Option<aws_sdk_dynamodb::Client>,
}

/// The ledger table's name in tests.
pub const LEDGER_TABLE: &str = "investigation-escalator-ledger";

fn config(vars: &[(&str, &str)]) -> Config {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test configuration")
}

/// Starts a simulation of the demo fixture and builds the app with configuration `vars`.
pub async fn start(vars: &[(&str, &str)]) -> TestEnv {
    start_with(demo_fixture(), vars).await
}

/// Starts a simulation of `fixture` and builds the app with configuration `vars`.
pub async fn start_with(fixture: Fixture, vars: &[(&str, &str)]) -> TestEnv {
    let sim = Sim::start(fixture).await.expect("simulation starts");
    let app = App::new(config(vars), &sdk_config(&sim).await);
    TestEnv { sim, app, moto: None, dynamo: None }
}

/// As [`start_with`], plus a ledger table in a fresh moto server.
pub async fn start_with_ledger(fixture: Fixture, vars: &[(&str, &str)]) -> TestEnv {
    let sim = Sim::start(fixture).await.expect("simulation starts");
    let moto = Moto::start().expect("moto server (pip install 'moto[server]')");
    let dynamo = moto.create_ledger_table(LEDGER_TABLE).await.expect("ledger table created");
    let mut vars = vars.to_vec();
    vars.push(("LEDGER_TABLE", LEDGER_TABLE));
    let config = config(&vars);
    let ledger = Ledger::new(dynamo.clone(), LEDGER_TABLE, config.ledger_lease_seconds);
    let app = App { config, aws: Aws::new(&sdk_config(&sim).await), ledger: Some(ledger) };
    TestEnv { sim, app, moto: Some(moto), dynamo: Some(dynamo) }
}

/// Every item of the ledger table, as JSON-ish strings sorted by key (for before/after comparisons).
pub async fn ledger_items(env: &TestEnv) -> Vec<String> {
    let dynamo = env.dynamo.as_ref().expect("a ledger");
    let out = dynamo.scan().table_name(LEDGER_TABLE).send().await.expect("scan");
    let mut items: Vec<String> = out
        .items()
        .iter()
        .map(|i| {
            let mut fields: Vec<String> = i.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            fields.sort();
            fields.join(", ")
        })
        .collect();
    items.sort();
    items
}

/// The sim's generated backlog (see [`escalator_sim::backlog_fixture`]).
pub fn backlog(n: usize) -> (Fixture, usize) {
    escalator_sim::backlog_fixture(n)
}

/// A sample event from `events/`.
pub fn event(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the services hold that the escalation writes, for exactly-once checks.
#[derive(Debug, PartialEq, Eq)]
pub struct Writes {
    pub cases: usize,
    pub comments: usize,
    pub related_items_added: usize,
    pub timeline_events: usize,
    pub incidents: usize,
}

/// Counts what was written, against the demo fixture's starting point.
pub fn writes(sim: &Sim) -> Writes {
    sim.state(|s| Writes {
        cases: s.cases.len(),
        comments: s.comments.values().map(Vec::len).sum(),
        related_items_added: s
            .related_items
            .values()
            .flatten()
            .filter(|i| i["identifier"]["value"]["url"].as_str().is_some_and(|u| u.contains("security-ir")))
            .count(),
        timeline_events: s.timeline_events.values().map(Vec::len).sum(),
        incidents: s.incident_records.len(),
    })
}

/// Operations the simulation received, in order.
pub fn operations(sim: &Sim) -> Vec<String> {
    sim.state(|s| s.log.iter().map(|e| e.operation.clone()).collect())
}

/// A fresh invocation (its own request id, a 60-second budget), as Lambda would give.
pub fn invocation() -> Invocation {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    Invocation::new(format!("test-request-{}", NEXT.fetch_add(1, Ordering::Relaxed)), Duration::from_secs(60))
}
