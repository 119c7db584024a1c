//! AWS Lambda: `GetFunctionConfiguration` and `GetPolicy`, for the functions
//! the fixture holds. The operator's `replay` reads the deployed function with
//! them; the function itself calls neither.

use serde_json::{json, Value};

use super::s;
use crate::error::SimError;
use crate::model::Service;
use crate::state::State;

const SERVICE: Service = Service::Lambda;

pub(crate) fn handle(state: &mut State, op: &str, input: &Value) -> Result<Value, SimError> {
    let function = function(state, s(input, "FunctionName"))?;
    match op {
        "GetFunctionConfiguration" => Ok(function["configuration"].clone()),
        "GetPolicy" => match &function["policy"] {
            // Lambda answers not found for a function without a resource policy.
            Value::Null => Err(SimError::not_found(SERVICE, "The resource you requested does not exist.")),
            policy => Ok(json!({"Policy": policy.to_string(), "RevisionId": "00000000-0000-4000-8000-000000000001"})),
        },
        other => Err(SimError::invalid(SERVICE, format!("{other} is not simulated"))),
    }
}

/// A function by name, or by its ARN (a version or alias qualifier is ignored).
fn function<'a>(state: &'a State, name: &str) -> Result<&'a Value, SimError> {
    let name = match name.strip_prefix("arn:") {
        // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        Some(_) => name.split(':').nth(6).unwrap_or_default(),
        None => name,
    };
    state.functions.get(name).ok_or_else(|| SimError::not_found(SERVICE, format!("Function not found: {name}")))
}
