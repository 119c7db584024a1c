//! The floor for the cold-start benchmark: a bare `lambda_runtime` function
//! that answers each event with itself, built with the same release profile
//! as the escalator, so `bench` can report the escalator's start as a ratio.

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move { Ok::<Value, lambda_runtime::Error>(event.payload) })).await
}
