//! The deployed function, as Lambda describes it: its ARN, its environment
//! (`GetFunctionConfiguration`), and the EventBridge rules its resource policy
//! lets invoke it (`GetPolicy`). `replay` runs as this function is configured,
//! and only what this function failed on or its rules could not deliver.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_lambda::error::ProvideErrorMetadata;
use serde_json::Value;

use crate::{failed, Failure};

/// The most environment variables read from the answer (Lambda's whole
/// environment is at most 4 KB, so a real one has far fewer).
const MAX_VARIABLES: usize = 200;
/// The most rules read from the resource policy (Lambda's policy is at most 20 KB).
const MAX_RULES: usize = 200;

/// What replay needs of the deployed function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The function's ARN, without a version or alias qualifier.
    pub arn: String,
    /// Its environment variables: the configuration it runs with.
    pub env: BTreeMap<String, String>,
    /// The EventBridge rules allowed to invoke it (the stack's rules).
    pub rules: BTreeSet<String>,
}

/// Reads `function` (a name or an ARN) through `client`.
pub async fn read(client: &aws_sdk_lambda::Client, function: &str) -> Result<Deployed, Failure> {
    let configuration = client
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| failed(format!("GetFunctionConfiguration of {function} failed: {}", describe(&e))))?;
    let arn = configuration
        .function_arn()
        .and_then(unqualified)
        .ok_or_else(|| failed(format!("GetFunctionConfiguration of {function}: the answer names no function ARN")))?
        .to_string();
    let variables = configuration.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
    if variables.len() > MAX_VARIABLES {
        return Err(failed(format!("{arn}: {} environment variables, more than Lambda allows", variables.len())));
    }
    let env = variables.into_iter().collect();
    let rules = match client.get_policy().function_name(&arn).send().await {
        Ok(answer) => rules_in(answer.policy().unwrap_or_default()).map_err(|e| failed(format!("{arn}: its resource policy: {e}")))?,
        // No resource policy: no rule may invoke it.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => BTreeSet::new(),
        Err(e) => return Err(failed(format!("GetPolicy of {arn} failed: {}", describe(&e)))),
    };
    Ok(Deployed { arn, env, rules })
}

fn describe<E: ProvideErrorMetadata + std::fmt::Display>(e: &E) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// A Lambda function ARN without its qualifier
/// (`arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`);
/// `None` for anything else.
pub fn unqualified(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    let well_formed = (7..=8).contains(&parts.len())
        && parts[0] == "arn"
        && parts[2] == "lambda"
        && parts[5] == "function"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && !parts[6].is_empty();
    let end = parts[..7.min(parts.len())].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
    well_formed.then(|| &arn[..end])
}

/// The EventBridge rules a function's resource policy lets invoke it: each
/// `Allow` of `lambda:InvokeFunction` to `events.amazonaws.com` with an
/// `ArnLike` or `ArnEquals` condition on `AWS:SourceArn` (how a permission that
/// names a rule reads back). A wildcard source is no rule.
pub fn rules_in(policy: &str) -> Result<BTreeSet<String>, String> {
    let doc: Value = serde_json::from_str(policy).map_err(|e| format!("not JSON: {e}"))?;
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => return Err("no Statement".into()),
    };
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let mut rules = BTreeSet::new();
    for s in statements {
        let invokes = strings(&s["Action"]).iter().any(|a| a.eq_ignore_ascii_case("lambda:InvokeFunction"));
        let from_events = strings(&s["Principal"]["Service"]).iter().any(|p| p == "events.amazonaws.com");
        if s["Effect"] != "Allow" || !invokes || !from_events {
            continue;
        }
        for operator in ["ArnLike", "ArnEquals"] {
            let Some(keys) = s["Condition"][operator].as_object() else { continue };
            for (key, values) in keys {
                if key.eq_ignore_ascii_case("aws:SourceArn") {
                    rules.extend(strings(values).into_iter().filter(|r| r.starts_with("arn:") && !r.contains(['*', '?'])));
                }
            }
        }
        if rules.len() > MAX_RULES {
            return Err(format!("more than {MAX_RULES} rules"));
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_function_arn_loses_its_qualifier_and_anything_else_is_refused() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:investigation-escalator";
        assert_eq!(unqualified(arn), Some(arn));
        assert_eq!(unqualified(&format!("{arn}:$LATEST")), Some(arn));
        assert_eq!(unqualified(&format!("{arn}:live")), Some(arn));
        for bad in [
            "",
            "investigation-escalator",
            "arn:aws:lambda:us-east-1:123456789012:layer:x",
            "arn:aws:sqs:us-east-1:123456789012:function:x",
            "arn:aws:lambda:us-east-1:12345:function:x",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda:us-east-1:123456789012:function:x:1:2",
        ] {
            assert_eq!(unqualified(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_rules_are_the_event_permissions_of_the_policy() {
        let rule = |n: &str| format!("arn:aws:events:us-east-1:123456789012:rule/{n}");
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction",
             "Resource": "f", "Condition": {"ArnLike": {"AWS:SourceArn": rule("a")}}},
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": ["lambda:InvokeFunction"],
             "Resource": "f", "Condition": {"ArnEquals": {"aws:sourcearn": [rule("bus/b")]}}},
            // Not a rule's permission: another service, another action, a Deny, a wildcard.
            {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "lambda:InvokeFunction",
             "Resource": "f", "Condition": {"ArnLike": {"AWS:SourceArn": rule("c")}}},
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:GetFunction",
             "Resource": "f", "Condition": {"ArnLike": {"AWS:SourceArn": rule("d")}}},
            {"Effect": "Deny", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction",
             "Resource": "f", "Condition": {"ArnLike": {"AWS:SourceArn": rule("e")}}},
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction",
             "Resource": "f", "Condition": {"ArnLike": {"AWS:SourceArn": rule("*")}}}
        ]});
        assert_eq!(rules_in(&policy.to_string()), Ok(BTreeSet::from([rule("a"), rule("bus/b")])));
        assert_eq!(rules_in(r#"{"Statement": {"Effect": "Allow"}}"#), Ok(BTreeSet::new()));
        assert!(rules_in("{").unwrap_err().starts_with("not JSON"));
        assert_eq!(rules_in("{}"), Err("no Statement".into()));
    }
}
