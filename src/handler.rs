//! The Lambda handler: one span per invocation, the trigger routed to its work,
//! the outcome logged, counted (EMF) and returned as JSON.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{field, info, info_span, warn, Instrument};

use crate::aws::Aws;
use crate::config::{Config, ConfigError};
use crate::decision::SkipReason;
use crate::error::Error;
use crate::escalate::escalate;
use crate::event::{self, Trigger};
use crate::ledger::Ledger;
use crate::metrics::emf_line;
use crate::outcome::Outcome;
use crate::{closeout, findings, sweep};

/// What every invocation shares: built once per cold start, outside the handler.
#[derive(Debug, Clone)]
pub struct App {
    /// The validated configuration.
    pub config: Config,
    /// The AWS clients.
    pub aws: Aws,
    /// The ledger, when `LEDGER_TABLE` is set.
    pub ledger: Option<Ledger>,
}

impl App {
    /// Builds the app from a configuration and an SDK configuration.
    pub fn new(config: Config, sdk: &SdkConfig) -> App {
        let ledger =
            config.ledger_table.as_deref().map(|table| Ledger::new(aws_sdk_dynamodb::Client::new(sdk), table, config.ledger_lease_seconds));
        App { aws: Aws::new(sdk), ledger, config }
    }

    /// Reads the configuration and the standard AWS chain (region, credentials,
    /// `AWS_ENDPOINT_URL*`) from the environment.
    pub async fn from_env() -> Result<App, ConfigError> {
        let config = Config::from_env()?;
        // Every AWS call goes through rustls on ring (HTTPS, and plain HTTP for local endpoints).
        let https = {
            use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
        };
        // Bounded calls: an answer that never comes must not eat the invocation's deadline.
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(25))
            .build();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https).timeout_config(timeouts).load().await;
        // Tokens and console links name the region: never guess it.
        if sdk.region().is_none() {
            return Err(ConfigError { variable: "AWS_REGION", value: String::new(), expected: "the AWS region (Lambda sets it)".into() });
        }
        Ok(App::new(config, &sdk))
    }
}

/// What the handler knows of the invocation it serves.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The request id: the owner of any ledger lease taken.
    pub request_id: String,
    /// When Lambda stops the invocation.
    pub deadline: SystemTime,
}

impl Invocation {
    /// An invocation with `budget` left (for local runs and tests).
    pub fn new(request_id: impl Into<String>, budget: Duration) -> Invocation {
        Invocation { request_id: request_id.into(), deadline: SystemTime::now() + budget }
    }

    /// The deadline, in epoch seconds (rounded up).
    pub fn deadline_secs(&self) -> i64 {
        self.deadline.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64 + 1)
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.duration_since(SystemTime::now()).unwrap_or_default()
    }
}

/// Handles one Lambda invocation.
pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    let invocation = Invocation { request_id: context.request_id.clone(), deadline: context.deadline() };
    let span = info_span!("escalation", requestId = %context.request_id, investigationId = field::Empty);
    async move {
        let result = run(app, &payload, &invocation).await;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        match &result {
            Ok(outcome) => {
                info!(outcome = outcome.name(), reason = outcome.reason(), result = %serde_json::to_string(outcome).unwrap_or_default(), "done");
                // A dry run's escalation opened nothing: counted apart, so dashboards stay true.
                let name = match outcome {
                    Outcome::Escalated { dry_run: true, .. } => "escalated_dry_run",
                    _ => outcome.name(),
                };
                println!("{}", emf_line(name, outcome.reason(), now_ms));
            }
            Err(e) => {
                warn!(error = %e, error_type = e.kind(), "failed");
                println!("{}", emf_line("failed", None, now_ms));
            }
        }
        result.map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
    }
    .instrument(span)
    .await
}

/// Recognises the trigger and does its work (everything but the Lambda plumbing).
pub async fn run(app: &App, payload: &Value, invocation: &Invocation) -> Result<Outcome, Error> {
    match event::parse(payload)? {
        Trigger::Investigation(target) => {
            tracing::Span::current().record("investigationId", target.investigation_id.as_str());
            escalate(app, &target, invocation).await
        }
        Trigger::FailedCreateInvestigation { error_code } => {
            info!(error_code, "a CreateInvestigation call failed: nothing to escalate");
            let reason = SkipReason::CreateInvestigationFailed;
            Ok(Outcome::Skipped { reason, investigation_id: None, finding_id: None, case_id: None, risk_level: None })
        }
        Trigger::Sweep => sweep::sweep(app, invocation).await,
        Trigger::Finding(finding) => findings::start_investigation(app, &finding, invocation).await,
        Trigger::CaseClosed { case_id, event_time_ms } => closeout::close(app, &case_id, event_time_ms).await,
    }
}
