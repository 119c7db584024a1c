//! The operations of each simulated service, as plain functions over [`State`]
//! and an input that the model layer has already validated.

pub mod guardduty;
pub mod incidents;
pub mod lambda;
pub mod security_ir;

use serde_json::Value;

use crate::error::SimError;
use crate::model::Service;
use crate::state::State;

/// Where a request came from: the SigV4 scope's region, and who signed it.
pub struct Ctx<'a> {
    /// Region of the request's credential scope.
    pub region: &'a str,
    /// Signed with the operator's key: a person (a responder), not the function.
    pub operator: bool,
}

impl Ctx<'_> {
    /// The caller's principal, as the services record it (`lastModifiedBy`, a comment's `creator`).
    pub fn principal(&self, account: &str) -> String {
        match self.operator {
            true => format!("arn:aws:iam::{account}:user/responder"),
            false => crate::iam::function_session("aws", account),
        }
    }
}

/// Runs one validated operation against the state.
pub fn dispatch(state: &mut State, ctx: &Ctx<'_>, service: Service, op: &str, input: &Value) -> Result<Value, SimError> {
    match service {
        Service::GuardDuty => guardduty::handle(state, ctx, op, input),
        Service::SecurityIr => security_ir::handle(state, ctx, op, input),
        Service::Incidents => incidents::handle(state, ctx, op, input),
        Service::Lambda => lambda::handle(state, op, input),
    }
}

/// A string member of a validated input ("" when absent).
pub(crate) fn s<'a>(input: &'a Value, key: &str) -> &'a str {
    input[key].as_str().unwrap_or_default()
}

/// A page size: the input's `maxResults`, else the service default.
pub(crate) fn page_size(input: &Value, default: usize) -> usize {
    input["maxResults"].as_u64().map_or(default, |n| n as usize)
}

/// A 32-digit upper-case hex id derived from a sequence number.
pub(crate) fn hex_id(seq: u64) -> String {
    format!("{:032X}", u128::from(seq).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835))
}
