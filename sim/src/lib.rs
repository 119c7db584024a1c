//! A wire-faithful loopback simulation of the three AWS services that
//! investigation-escalator calls (and of the two Lambda reads its operator's
//! `replay` makes of the deployed function), and a Lambda Runtime API emulator.
//!
//! Used by the tests, the benchmark and the local run; never part of the
//! deployed Lambda (this crate is only a dev-dependency of the escalator).
//!
//! The real `aws-sdk-*` clients talk to it unchanged over HTTP with SigV4
//! headers: point them at [`Sim::url`] with `AWS_ENDPOINT_URL` (or the
//! per-service variables) and any static credentials.
//!
//! # Layout
//!
//! - [`model`]: loads the botocore service models committed in `models/`, routes
//!   a method and path to its operation, assembles the input from URI, query,
//!   headers and body, and validates it against the model's constraints.
//! - [`error`]: the services' error answers (`x-amzn-errortype` + JSON body).
//! - [`events`]: the EventBridge events of keeping a case and its incidents in
//!   step (Security IR's case events, CloudTrail's `UpdateIncidentRecord`).
//! - [`iam`]: authorization as IAM would decide it for the function role of
//!   `template.yaml` (resolved for a [`Stack`]), from the Service Authorization
//!   Reference's facts in `models/iam.json`.
//! - [`state`]: the in-memory state, its JSON fixture and snapshot, the request log.
//! - [`faults`]: injected throttling, server errors, latency, "fail the next N".
//! - [`services`]: each operation of GuardDuty, Security IR and Incident Manager
//!   (and Lambda's `GetFunctionConfiguration` and `GetPolicy`, for the operator's `replay`).
//! - `http`: serving HTTP/1.1 on a loopback listener (both servers use it).
//! - [`server`]: the HTTP server ([`Sim`]): auth, routing, validation, faults,
//!   idempotency tokens, control endpoints (`/_sim/state`, `/_sim/faults`).
//! - [`runtime_api`]: the Lambda Runtime API emulator ([`RuntimeApi`]).
//! - [`moto`]: starts moto's server, an independent DynamoDB, for the ledger's tests.

pub mod error;
pub mod events;
pub mod faults;
mod http;
pub mod iam;
pub mod model;
pub mod moto;
pub mod runtime_api;
pub mod server;
pub mod services;
pub mod state;

pub use error::SimError;
pub use faults::{FailKind, Faults, OpFaults};
pub use iam::{Authorization, Stack};
pub use moto::Moto;
pub use runtime_api::{Invocation, RuntimeApi};
pub use server::Sim;
pub use state::{Fixture, State};

/// The fixture behind the README's local run and most tests: six investigations
/// (critical, high, low, running, failed, and one with an explicit incident) and
/// four incident records (one matching, one unrelated, one resolved, one named explicitly).
pub fn demo_fixture() -> Fixture {
    // The committed file is checked by this crate's tests; a parse failure here is a build defect.
    serde_json::from_str(include_str!("../fixtures/demo.json")).unwrap_or_default()
}

/// An SDK configuration for clients that talk to `sim`: region `us-east-1`,
/// static credentials, and the standard retry policy with a short initial
/// backoff so that tests of injected throttling run fast.
pub async fn sdk_config(sim: &Sim) -> aws_config::SdkConfig {
    sdk_config_at(&sim.url()).await
}

/// The same as [`sdk_config`], for any loopback endpoint (e.g. a [`Moto`] server).
pub async fn sdk_config_at(url: &str) -> aws_config::SdkConfig {
    use aws_config::{retry::RetryConfig, BehaviorVersion, Region};
    aws_config::defaults(BehaviorVersion::latest())
        // Plain HTTP on loopback: no TLS stack needed.
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_credential_types::Credentials::new(FUNCTION_ACCESS_KEY, "simulation-secret", None, None, "escalator-sim"))
        .retry_config(RetryConfig::standard().with_initial_backoff(std::time::Duration::from_millis(10)))
        .load()
        .await
}

/// The access key of the function's execution role in the simulation: its
/// requests are authorized against the role's policy.
pub const FUNCTION_ACCESS_KEY: &str = "AKIDSIMULATION";

/// The access key of a person acting outside the function (a responder opening
/// a case by hand, a test arranging state): not held to the function's role.
pub const OPERATOR_ACCESS_KEY: &str = "AKIDOPERATOR";

/// An SDK configuration that signs as [`OPERATOR_ACCESS_KEY`], for work done
/// outside the function, which the function role's policy does not govern.
pub async fn operator_sdk_config(sim: &Sim) -> aws_config::SdkConfig {
    operator_sdk_config_at(&sim.url()).await
}

/// The same as [`operator_sdk_config`], for a simulation at `url` (one the
/// operator's command line did not start).
pub async fn operator_sdk_config_at(url: &str) -> aws_config::SdkConfig {
    let creds = aws_credential_types::Credentials::new(OPERATOR_ACCESS_KEY, "operator-secret", None, None, "escalator-sim-operator");
    sdk_config_at(url)
        .await
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .build()
}

/// A generated backlog and what it holds, so tests need no magic numbers.
#[derive(Debug, Clone)]
pub struct Backlog {
    /// The fixture: the backlog's investigations, with the demo's incidents and plan.
    pub fixture: Fixture,
    /// Finished (completed or failed): what a sweep settles.
    pub finished: usize,
    /// Still running: what a sweep reports as pending.
    pub running: usize,
    /// Completed at High or Critical: what deserves a case at the default threshold.
    pub worthy: usize,
}

/// A backlog of `n` investigations in the demo detector, ended one a minute over
/// the last `n` minutes (so inside a sweep's default lookback): every tenth
/// running, every tenth (offset 1) failed, the rest completed with risk levels
/// cycling Info to Critical.
pub fn backlog_fixture(n: usize) -> Backlog {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let risks = ["Info", "Low", "Medium", "High", "Critical"];
    let (mut worthy, mut running) = (0, 0);
    let investigations = (0..n)
        .map(|i| {
            let status = match i % 10 {
                0 => "RUNNING",
                1 => "FAILED",
                _ => "COMPLETED",
            };
            let risk = risks[i % risks.len()];
            if status == "COMPLETED" && (risk == "High" || risk == "Critical") {
                worthy += 1;
            }
            let end = now - 60 * i as i64;
            let mut inv = serde_json::json!({
                "detectorId": "12abc34d567e8fa901bc2d34e56789f0",
                "investigationId": format!("bac4106-0000-4000-8000-{i:012}"),
                "status": status,
                "triggerPrompt": format!("Investigate finding {i:032x}"),
                "triggeredBy": "arn:aws:iam::123456789012:role/SecurityAnalyst",
                "startTime": end - 300,
                "cloud": {"account": "123456789012", "provider": "AWS", "region": "us-east-1"},
                "riskLevel": risk,
                "confidence": "High",
                "summary": format!("Backlog investigation {i}"),
            });
            if status == "RUNNING" {
                running += 1;
            } else {
                inv["endTime"] = serde_json::json!(end);
            }
            inv
        })
        .collect();
    Backlog { fixture: Fixture { investigations, ..demo_fixture() }, finished: n - running, running, worthy }
}
