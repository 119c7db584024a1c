//! Authorization as IAM would decide it for the function's execution role.
//!
//! Every request the simulation serves is first authorized against the role's
//! policy as `template.yaml` defines it, resolved for one stack
//! ([`Stack`]: its parameters, Region and account). For each operation the
//! facts of the Service Authorization Reference ([`facts`], extracted into
//! `models/iam.json` by `models/extract_iam.py`) say which actions it is
//! authorized as, against which resources (every required resource type; `*`
//! for an action with none), and which condition keys the request context
//! holds (`aws:RequestTag/…` from the request's tags, `aws:ResourceTag/…` from
//! the stored resource's). [`policy`] evaluates each as IAM does. Anything not
//! explicitly allowed is answered with the service's `AccessDeniedException`.
//! [`resource_policy`] evaluates a resource-based policy (the dead-letter
//! queue's) for a caller, so the tests can hold the template's queue policy to
//! the senders it must admit and refuse.

pub mod facts;
pub mod policy;
mod requests;
pub mod resource_policy;
pub mod template;

use serde_json::Value;

use crate::error::SimError;
use crate::model::Service;
use crate::state::State;
pub use policy::{Decision, Request, Statement};
pub use template::{Principals, Stack};

/// The function's role session, as the services see its calls.
pub(crate) fn function_session(partition: &str, account: &str) -> String {
    format!("arn:{partition}:sts::{account}:assumed-role/investigation-escalator-role/investigation-escalator")
}

/// How the simulation authorizes requests.
#[derive(Debug, Clone)]
pub enum Authorization {
    /// As IAM would for the function role of this stack.
    Stack(Stack),
    /// As IAM would for a role of `stack` holding these statements instead of
    /// the template's (tests of the authorizer itself: a grant removed on purpose).
    Policy(Stack, Vec<Statement>),
}

impl Default for Authorization {
    /// The template's function role, every parameter at its default.
    fn default() -> Self {
        Authorization::Stack(Stack::default())
    }
}

/// The function role's policy and the facts to apply it with.
pub struct Authorizer {
    statements: Vec<Statement>,
    facts: facts::Facts,
    stack: Stack,
    principal: String,
}

impl Authorizer {
    /// The authorizer of `stack`'s function role.
    pub fn for_stack(stack: Stack) -> Result<Authorizer, String> {
        let statements = stack.function_policy()?;
        Self::for_statements(stack, statements)
    }

    /// The authorizer of a role of `stack` holding `statements`.
    pub fn for_statements(stack: Stack, statements: Vec<Statement>) -> Result<Authorizer, String> {
        let principal = function_session(&stack.partition, &stack.account);
        Ok(Authorizer { statements, facts: facts::Facts::load()?, stack, principal })
    }

    /// The stack it enforces.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// The authorization requests one operation makes, and the decision on each.
    pub fn decide(
        &self,
        state: &State,
        service: Service,
        op: &str,
        input: &Value,
        region: &str,
    ) -> Result<Vec<(Request, Decision)>, String> {
        let caller = requests::Caller { partition: &self.stack.partition, region, account: &state.account, principal: &self.principal };
        let requests = requests::requests(&self.facts, state, service, op, input, &caller)?;
        Ok(requests
            .into_iter()
            .map(|r| {
                let decision = policy::evaluate(&self.statements, &r);
                (r, decision)
            })
            .collect())
    }

    /// Authorizes one operation: the actions it was allowed as when every
    /// request it makes is allowed, else the service's `AccessDeniedException`
    /// for the first one that is not.
    pub fn authorize(&self, state: &State, service: Service, op: &str, input: &Value, region: &str) -> Result<Vec<String>, SimError> {
        let decided = self.decide(state, service, op, input, region).map_err(|e| SimError::internal_with(service, e))?;
        let mut allowed = Vec::new();
        for (request, decision) in decided {
            let because = match decision {
                Decision::Allowed(_) => {
                    allowed.push(request.action);
                    continue;
                }
                Decision::ExplicitlyDenied(_) => "with an explicit deny in an identity-based policy".to_string(),
                Decision::ImplicitlyDenied => format!("because no identity-based policy allows the {} action", request.action),
            };
            let message = format!(
                "User: {} is not authorized to perform: {} on resource: {} {because}",
                self.principal, request.action, request.resource
            );
            return Err(SimError::access_denied(service, message));
        }
        Ok(allowed)
    }
}
