//! The Lambda entry point: configuration and clients once per cold start, then
//! the runtime loop.

use investigation_escalator::{handle, init_logging, report_init_error, App};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "cold start refused");
            if let Err(report) = report_init_error("Runtime.ConfigError", &e.to_string()) {
                tracing::warn!(error = %report, "could not report the init error to the Runtime API");
            }
            return Err(e.into());
        }
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(app, event))).await
}
