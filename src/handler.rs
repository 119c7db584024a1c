//! The Lambda handler: one span per invocation, the trigger routed to its work,
//! the outcome logged, counted (EMF) and returned as JSON.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{field, info, info_span, warn, Instrument};

use crate::aws::Aws;
use crate::config::{Config, ConfigError};
use crate::error::Error;
use crate::escalate::escalate;
use crate::event::{self, Trigger};
use crate::metrics::emf_line;
use crate::outcome::Outcome;

/// What every invocation shares: built once per cold start, outside the handler.
#[derive(Debug, Clone)]
pub struct App {
    /// The validated configuration.
    pub config: Config,
    /// The AWS clients.
    pub aws: Aws,
}

impl App {
    /// Builds the app from a configuration and an SDK configuration.
    pub fn new(config: Config, sdk: &SdkConfig) -> App {
        App {
            config,
            aws: Aws::new(sdk),
        }
    }

    /// Reads the configuration and the standard AWS chain (region, credentials,
    /// `AWS_ENDPOINT_URL*`) from the environment.
    pub async fn from_env() -> Result<App, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(App::new(config, &sdk))
    }
}

/// Handles one Lambda invocation.
pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    let span =
        info_span!("escalation", requestId = %context.request_id, investigationId = field::Empty);
    async move {
        let result = run(app, &payload).await;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        match &result {
            Ok(outcome) => {
                info!(outcome = outcome.name(), reason = outcome.reason(), result = %serde_json::to_string(outcome).unwrap_or_default(), "done");
                println!("{}", emf_line(outcome.name(), outcome.reason(), now_ms));
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
pub async fn run(app: &App, payload: &Value) -> Result<Outcome, Error> {
    match event::parse(payload)? {
        Trigger::Investigation(target) => {
            tracing::Span::current().record("investigationId", target.investigation_id.as_str());
            escalate(app, &target).await
        }
    }
}
