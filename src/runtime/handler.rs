//! The Lambda glue: one span per invocation, the payload handed to its flow
//! ([`crate::flows::run`]), the outcome logged, counted (EMF) and returned as JSON.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{field, info, info_span, warn, Instrument};

use crate::flows;
use crate::runtime::app::{App, Invocation};
use crate::runtime::error::Error;
use crate::runtime::metrics;

/// Handles one Lambda invocation.
pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    // Lambda's deadline header is epoch milliseconds; a value past i64 is treated as "far away".
    let deadline_ms = i64::try_from(context.deadline).unwrap_or(i64::MAX);
    let invocation = Invocation::new(context.request_id.clone(), deadline_ms, &app.clock).with_function_arn(&context.invoked_function_arn);
    let span = info_span!("escalation", requestId = %context.request_id, investigationId = field::Empty);
    async move {
        let result = flows::run(app, &payload, &invocation).await;
        match &result {
            Ok(outcome) => {
                let json = serde_json::to_string(outcome).unwrap_or_default();
                info!(outcome = outcome.name(), reason = outcome.reason(), result = %json, "done");
            }
            Err(e) => warn!(error = %e, error_type = e.kind(), "failed"),
        }
        metrics::report(result.as_ref(), &app.clock);
        result.map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
    }
    .instrument(span)
    .await
}
