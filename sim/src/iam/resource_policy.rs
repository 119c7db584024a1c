//! A resource-based policy (the dead-letter queue's) evaluated for one caller
//! of the same account, as the IAM User Guide's "Policy evaluation logic"
//! decides it: an explicit `Deny` of either policy wins; else an `Allow` of the
//! resource's policy, or of the caller's own identity-based policy, allows.
//! Service principals have no identity-based policy.

use std::collections::BTreeMap;

use super::policy::{Decision, Effect, Request, Statement};
use super::template::Principals;

/// Who sends the request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An IAM role or user of the account.
    Principal {
        /// The role's or user's ARN (`aws:PrincipalArn`).
        arn: String,
        /// Whether its own identity-based policy allows the request.
        identity_allows: bool,
    },
    /// An AWS service acting for a resource (`aws:SourceArn`).
    Service {
        /// E.g. `events.amazonaws.com`.
        name: String,
        /// The resource the service acts for (an EventBridge rule).
        source_arn: String,
    },
}

impl Caller {
    fn named_by(&self, principals: &Principals) -> bool {
        match (principals, self) {
            (Principals::Everyone, _) => true,
            (Principals::Services(names), Caller::Service { name, .. }) => names.iter().any(|n| n == name),
            (Principals::Aws(names), Caller::Principal { arn, .. }) => {
                // A principal is named by its ARN, or by its account (id or root ARN).
                let account = arn.split(':').nth(4).unwrap_or_default();
                names.iter().any(|n| n == arn || n == account || *n == format!("arn:aws:iam::{account}:root"))
            }
            _ => false,
        }
    }

    fn context(&self) -> BTreeMap<String, Vec<String>> {
        match self {
            Caller::Principal { arn, .. } => BTreeMap::from([("aws:principalarn".to_string(), vec![arn.clone()])]),
            Caller::Service { name, source_arn } => BTreeMap::from([
                ("aws:sourcearn".to_string(), vec![source_arn.clone()]),
                ("aws:principalservicename".to_string(), vec![name.clone()]),
                ("aws:principalisawsservice".to_string(), vec!["true".to_string()]),
            ]),
        }
    }
}

/// The decision on `action` on `resource` for `caller`, under the resource's policy.
pub fn evaluate(policy: &[(Principals, Statement)], caller: &Caller, action: &str, resource: &str) -> Decision {
    let request = Request { action: action.to_string(), resource: resource.to_string(), context: caller.context() };
    let applying = |effect: Effect| policy.iter().find(|(p, s)| s.effect == effect && caller.named_by(p) && s.matches(&request));
    if let Some((_, deny)) = applying(Effect::Deny) {
        return Decision::ExplicitlyDenied(deny.sid.clone());
    }
    if let Some((_, allow)) = applying(Effect::Allow) {
        return Decision::Allowed(allow.sid.clone());
    }
    match caller {
        Caller::Principal { identity_allows: true, .. } => Decision::Allowed(None),
        _ => Decision::ImplicitlyDenied,
    }
}
