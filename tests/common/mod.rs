//! Shared test setup: the simulation, an app pointed at it, and the sample events.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use escalator_sim::{demo_fixture, sdk_config, Authorization, Fixture, Moto, Sim, Stack};
use investigation_escalator::{run, App, Clock, Config, Invocation, Ledger, Outcome, RiskLevel};
use serde_json::Value;

pub const MATCHING: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/1f2e3d4c5b6a79880796a5b4c3d2e1f0";
pub const UNRELATED: &str = "arn:aws:ssm-incidents::123456789012:incident-record/Checkout/2a3b4c5d6e7f80911a2b3c4d5e6f7081";
pub const RESOLVED: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/3b4c5d6e7f8091a2b3c4d5e6f7081920";
pub const EXPLICIT: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/6a1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse";

/// The stack whose function runs with configuration `vars` (the template's
/// environment mapping read backwards), for a simulation that enforces its role.
pub fn stack_for(vars: &[(&str, &str)]) -> Stack {
    Stack::for_function_env(vars.iter().copied()).unwrap_or_else(|e| panic!("the template cannot deploy this configuration: {e}"))
}

/// A simulation of `fixture` that authorizes every request as IAM would for
/// the function role of the stack configured by `vars`.
pub async fn sim_for(fixture: Fixture, vars: &[(&str, &str)]) -> Sim {
    Sim::start_with(fixture, Authorization::Stack(stack_for(vars))).await.expect("simulation starts")
}

/// A simulation seeded with a fixture, the app pointed at it and, with a
/// ledger, the moto server that holds the ledger table. The app's clock is
/// the system's, and tests move it forward instead of sleeping.
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
    let sim = sim_for(fixture, vars).await;
    let app = App::new(config(vars), &sdk_config(&sim).await, Clock::system());
    TestEnv { sim, app, moto: None, dynamo: None }
}

/// A moto server (an independent DynamoDB) holding a fresh ledger table.
pub async fn ledger_table() -> (Moto, aws_sdk_dynamodb::Client) {
    slow_ledger_table(0).await
}

/// As [`ledger_table`], with `latency_ms` added to every ledger call.
pub async fn slow_ledger_table(latency_ms: u64) -> (Moto, aws_sdk_dynamodb::Client) {
    let moto = Moto::start_with_latency(latency_ms).unwrap_or_else(|e| panic!("{e}"));
    let dynamo = moto.create_ledger_table(LEDGER_TABLE).await.expect("ledger table created");
    (moto, dynamo)
}

/// As [`start_with`], plus a ledger table in a fresh moto server.
pub async fn start_with_ledger(fixture: Fixture, vars: &[(&str, &str)]) -> TestEnv {
    start_with_slow_ledger(fixture, vars, 0).await
}

/// As [`start_with_ledger`], with `latency_ms` added to every ledger call.
pub async fn start_with_slow_ledger(fixture: Fixture, vars: &[(&str, &str)], latency_ms: u64) -> TestEnv {
    let (moto, dynamo) = slow_ledger_table(latency_ms).await;
    let mut vars = vars.to_vec();
    vars.push(("LEDGER_TABLE", LEDGER_TABLE));
    let sim = sim_for(fixture, &vars).await;
    // The ledger's client goes to moto, the services' to the simulation.
    let app =
        App::new(config(&vars), &sdk_config(&sim).await, Clock::system()).with_ledger_at(&escalator_sim::sdk_config_at(moto.url()).await);
    TestEnv { sim, app, moto: Some(moto), dynamo: Some(dynamo) }
}

impl TestEnv {
    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        self.app.ledger().expect("a ledger")
    }

    /// A fresh invocation (its own request id) with `budget` left on the app's clock.
    pub fn invocation_with(&self, budget: Duration) -> Invocation {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        self.app.invocation(format!("test-request-{}", NEXT.fetch_add(1, Ordering::Relaxed)), budget)
    }

    /// A fresh invocation with Lambda's 60-second budget of this template.
    pub fn invocation(&self) -> Invocation {
        self.invocation_with(Duration::from_secs(60))
    }

    /// Runs the handler's flow on `payload` as a fresh invocation.
    pub async fn run(&self, payload: &Value) -> Result<Outcome, investigation_escalator::Error> {
        run(&self.app, payload, &self.invocation()).await
    }

    /// Runs `payload` and returns the result JSON; any error fails the test, naming the event.
    pub async fn outcome(&self, payload: &Value) -> Value {
        let o = self.run(payload).await.unwrap_or_else(|e| panic!("{payload}: {e}"));
        serde_json::to_value(o).expect("json")
    }

    /// Moves the clock past any lease an invocation of this environment could
    /// hold (its 60-second budget plus the lease), instead of waiting for it.
    pub fn advance_past_leases(&self) {
        self.app.clock().advance(Duration::from_secs(60 + u64::from(self.app.config().ledger_lease_seconds) + 3));
    }

    /// A DynamoDB client for the ledger table (to look at it as a test, not through the ledger).
    pub fn ledger_client(&self) -> aws_sdk_dynamodb::Client {
        self.dynamo.clone().expect("a ledger")
    }

    /// How many calls of `op` the simulation received.
    pub fn calls(&self, op: &str) -> usize {
        self.sim.state(|s| s.calls(op))
    }

    /// The same environment (simulation, ledger, clock), with another risk threshold.
    pub fn with_threshold(self, risk_threshold: RiskLevel) -> TestEnv {
        self.with_config(|c| c.risk_threshold = risk_threshold)
    }

    /// The same environment (simulation, ledger, clock), with the configuration changed.
    pub fn with_config(self, change: impl FnOnce(&mut Config)) -> TestEnv {
        let mut config = self.app.config().clone();
        change(&mut config);
        TestEnv { app: self.app.clone().reconfigured(config), ..self }
    }
}

/// Every item of the ledger table, as JSON-ish strings sorted by key (for before/after comparisons).
pub async fn ledger_items(env: &TestEnv) -> Vec<String> {
    items_of(&env.ledger_client()).await
}

/// Every item of the ledger table behind `dynamo`, as sorted strings.
pub async fn items_of(dynamo: &aws_sdk_dynamodb::Client) -> Vec<String> {
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

/// How many investigation items of the ledger behind `dynamo` are escalated, and how many skipped.
pub async fn settled_in(dynamo: &aws_sdk_dynamodb::Client) -> (usize, usize) {
    let items = items_of(dynamo).await;
    let count =
        |state: &str| items.iter().filter(|i| i.contains(&format!("state=S(\"{state}\")")) && i.contains("pk=S(\"investigation/")).count();
    (count("escalated"), count("skipped"))
}

/// The sim's generated backlog of `n` investigations, with its counts.
pub fn backlog(n: usize) -> escalator_sim::Backlog {
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
    /// Comments naming an incident.
    pub comments: usize,
    /// Comments of recommended actions.
    pub recommendations: usize,
    pub related_items_added: usize,
    pub timeline_events: usize,
    pub incidents: usize,
}

impl Writes {
    /// The demo fixture before any write: its incident records, nothing else.
    pub fn none() -> Writes {
        Writes {
            cases: 0,
            comments: 0,
            recommendations: 0,
            related_items_added: 0,
            timeline_events: 0,
            incidents: demo_fixture().incident_records.len(),
        }
    }

    /// The demo's critical investigation escalated and linked to its incident: one
    /// of each write, its recommended actions included.
    pub fn one_linked() -> Writes {
        Writes { cases: 1, comments: 1, recommendations: 1, related_items_added: 1, timeline_events: 1, ..Writes::none() }
    }
}

fn is_recommendations(comment: &Value) -> bool {
    comment["body"].as_str().is_some_and(|b| b.starts_with("Recommended actions from GuardDuty investigation"))
}

/// Counts what was written, against the demo fixture's starting point.
pub fn writes(sim: &Sim) -> Writes {
    sim.state(|s| Writes {
        cases: s.cases.len(),
        comments: s.comments.values().flatten().filter(|c| !is_recommendations(c)).count(),
        recommendations: s.comments.values().flatten().filter(|c| is_recommendations(c)).count(),
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

/// Opens a case as a person would, outside the escalator (with `token` when
/// given), and returns its id.
pub async fn case_by_hand(sim: &Sim, title: &str, token: Option<&str>) -> String {
    use aws_sdk_securityir::types::{EngagementType, ResolverType};
    let ir = aws_sdk_securityir::Client::new(&escalator_sim::operator_sdk_config(sim).await);
    ir.create_case()
        .set_client_token(token.map(str::to_string))
        .title(title)
        .description("d")
        .engagement_type(EngagementType::Investigation)
        .resolver_type(ResolverType::SelfValue)
        .reported_incident_start_date(aws_sdk_securityir::primitives::DateTime::from_secs(0))
        .set_impacted_accounts(Some(vec![]))
        .set_watchers(Some(vec![]))
        .send()
        .await
        .expect("case")
        .case_id()
        .to_string()
}

// A responder's moves, outside the function (the operator's key: not held to its role).

/// A responder's Security IR client (not held to the function's role).
pub async fn responder_ir(sim: &Sim) -> aws_sdk_securityir::Client {
    aws_sdk_securityir::Client::new(&escalator_sim::operator_sdk_config(sim).await)
}

/// A responder moves the case to `status` (`UpdateCaseStatus`).
pub async fn move_case(sim: &Sim, case_id: &str, status: &str) {
    let status = aws_sdk_securityir::types::SelfManagedCaseStatus::from(status);
    responder_ir(sim).await.update_case_status().case_id(case_id).case_status(status).send().await.expect("status moved");
}

/// A responder comments on the case.
pub async fn comment(sim: &Sim, case_id: &str, body: &str) {
    responder_ir(sim).await.create_case_comment().case_id(case_id).body(body).send().await.expect("commented");
}

/// Someone resolves the incident in Incident Manager.
pub async fn resolve_elsewhere(sim: &Sim, arn: &str) {
    let incidents = aws_sdk_ssmincidents::Client::new(&escalator_sim::operator_sdk_config(sim).await);
    incidents
        .update_incident_record()
        .arn(arn)
        .status(aws_sdk_ssmincidents::types::IncidentRecordStatus::Resolved)
        .send()
        .await
        .expect("resolved");
}

/// The incident's timeline events' texts.
pub fn timeline(sim: &Sim, arn: &str) -> Vec<String> {
    sim.state(|s| s.timeline_events[arn].iter().map(|e| e["eventData"].as_str().unwrap_or_default().to_string()).collect())
}

/// The case's comments' bodies.
pub fn comments(sim: &Sim, case_id: &str) -> Vec<String> {
    sim.state(|s| s.comments[case_id].iter().map(|c| c["body"].as_str().unwrap_or_default().to_string()).collect())
}
