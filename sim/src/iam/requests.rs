//! What IAM is asked for each request the simulation receives: which actions,
//! on which resources, with which condition keys in the context. The actions,
//! resource types, ARN formats and condition keys come from the facts
//! (`models/iam.json`); only how each operation names its resource in the
//! request is said here.

use std::collections::BTreeMap;

use serde_json::Value;

use super::facts::{read_arn, write_arn, ActionFacts, Facts, ServiceFacts};
use super::policy::Request;
use crate::model::Service;
use crate::services::s;
use crate::state::State;

/// The caller, as the function's execution role appears to the services.
pub struct Caller<'a> {
    /// `AWS::Partition`.
    pub partition: &'a str,
    /// The Region the request was signed for.
    pub region: &'a str,
    /// The account.
    pub account: &'a str,
    /// The assumed-role ARN.
    pub principal: &'a str,
}

/// The ARN of the resource an operation acts on, as its request names it
/// (`None`: it names none, as listings do).
fn named_resource(service: Service, op: &str, input: &Value, c: &Caller<'_>) -> Option<String> {
    let (p, r, a) = (c.partition, c.region, c.account);
    let nonempty = |key: &str| Some(s(input, key).to_string()).filter(|v| !v.is_empty());
    match service {
        // The case does not exist yet: authorized against the pattern of the ARN it will get.
        Service::SecurityIr if op == "CreateCase" => Some(format!("arn:{p}:security-ir:{r}:{a}:case/*")),
        Service::SecurityIr => {
            nonempty("caseId").map(|id| format!("arn:{p}:security-ir:{r}:{a}:case/{id}")).or_else(|| nonempty("resourceArn"))
        }
        Service::Incidents => match op {
            "GetIncidentRecord" | "UpdateIncidentRecord" => nonempty("arn"),
            "StartIncident" => nonempty("responsePlanArn"),
            _ => nonempty("incidentRecordArn"),
        },
        Service::GuardDuty => nonempty("detectorId").map(|id| format!("arn:{p}:guardduty:{r}:{a}:detector/{id}")),
        // A name, or an ARN (a qualifier, if any, is not part of the function's ARN).
        Service::Lambda => nonempty("FunctionName").map(|name| match name.strip_prefix("arn:") {
            Some(_) => name.split(':').take(7).collect::<Vec<_>>().join(":"),
            None => format!("arn:{p}:lambda:{r}:{a}:function:{name}"),
        }),
    }
}

/// The tags a stored resource carries (for `aws:ResourceTag/…`).
fn resource_tags(state: &State, service: Service, arn: &str) -> BTreeMap<String, String> {
    let tags = match service {
        Service::SecurityIr => arn.rsplit_once(":case/").and_then(|(_, id)| state.cases.get(id)).map(|c| &c["tags"]),
        _ => None,
    };
    tags.and_then(Value::as_object).into_iter().flatten().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect()
}

/// The authorization requests for one operation, or why the simulation cannot form them.
pub fn requests(
    facts: &Facts,
    state: &State,
    service: Service,
    op: &str,
    input: &Value,
    caller: &Caller<'_>,
) -> Result<Vec<Request>, String> {
    let own = format!("{}:{op}", service.signing_name());
    let mut actions = vec![own.clone()];
    if let Some(also) = facts.operation_actions.get(&own) {
        let present = match &input[&also.when_member] {
            Value::Null => false,
            Value::Object(o) => !o.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        };
        if present {
            actions.extend(also.also_authorized_as.iter().cloned());
        }
    }
    let named = named_resource(service, op, input, caller);
    let mut out = Vec::new();
    for action in actions {
        let (svc, facts) =
            facts.action(&action).ok_or_else(|| format!("the IAM facts have no action {action}: regenerate models/iam.json"))?;
        for resource in resources_of(svc, facts, named.as_deref(), caller).map_err(|e| format!("{action}: {e}"))? {
            let context = context(svc, facts, state, service, &resource, input, caller);
            out.push(Request { action: action.clone(), resource, context });
        }
    }
    Ok(out)
}

/// The resources one action is authorized against: each required resource type
/// (all of them, as IAM requires), the named resource where it is of an optional
/// type, or `*` for an action with no resource types.
fn resources_of(svc: &ServiceFacts, action: &ActionFacts, named: Option<&str>, c: &Caller<'_>) -> Result<Vec<String>, String> {
    if action.typed_rows().next().is_none() {
        return Ok(vec!["*".to_string()]);
    }
    // What the named ARN says (its account, response plan, id, …), by the first type it fits.
    let mut values = BTreeMap::from([
        ("Partition".to_string(), c.partition.to_string()),
        ("Region".to_string(), c.region.to_string()),
        ("Account".to_string(), c.account.to_string()),
    ]);
    let mut named_type = None;
    if let Some(arn) = named {
        for row in action.typed_rows() {
            let format = &svc.resources.get(&row.resource_type).ok_or_else(|| format!("no resource type {}", row.resource_type))?.arn;
            if let Some(read) = read_arn(format, arn) {
                values.extend(read);
                named_type = Some(row.resource_type.as_str());
                break;
            }
        }
    }
    let mut out = Vec::new();
    for row in action.typed_rows() {
        let format = &svc.resources[&row.resource_type].arn;
        if row.required {
            let arn = write_arn(format, &values)
                .ok_or_else(|| format!("the request names no {} (required): the simulation cannot tell its ARN", row.resource_type))?;
            out.push(arn);
        } else if named_type == Some(row.resource_type.as_str()) {
            out.extend(named.map(str::to_string));
        }
    }
    if out.is_empty() {
        out.push("*".to_string());
    }
    Ok(out)
}

fn context(
    svc: &ServiceFacts,
    action: &ActionFacts,
    state: &State,
    service: Service,
    resource: &str,
    input: &Value,
    c: &Caller<'_>,
) -> BTreeMap<String, Vec<String>> {
    // The keys this action supports: its rows', and those of the resource type `resource` is.
    let mut keys: Vec<String> = action.condition_keys().map(str::to_ascii_lowercase).collect();
    for row in action.typed_rows() {
        if let Some(rt) = svc.resources.get(&row.resource_type).filter(|rt| read_arn(&rt.arn, resource).is_some()) {
            keys.extend(rt.condition_keys.iter().map(|k| k.to_ascii_lowercase()));
        }
    }
    let supports = |key: &str| keys.iter().any(|k| k == key);
    let mut ctx = BTreeMap::from([
        ("aws:requestedregion".to_string(), vec![c.region.to_string()]),
        ("aws:principalaccount".to_string(), vec![c.account.to_string()]),
        ("aws:principalarn".to_string(), vec![c.principal.to_string()]),
    ]);
    let request_tags: Vec<(String, String)> =
        input["tags"].as_object().into_iter().flatten().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect();
    if supports("aws:requesttag/${tagkey}") {
        for (k, v) in &request_tags {
            ctx.insert(format!("aws:requesttag/{}", k.to_ascii_lowercase()), vec![v.clone()]);
        }
    }
    if supports("aws:tagkeys") && !request_tags.is_empty() {
        ctx.insert("aws:tagkeys".to_string(), request_tags.iter().map(|(k, _)| k.clone()).collect());
    }
    if supports("aws:resourcetag/${tagkey}") {
        for (k, v) in resource_tags(state, service, resource) {
            ctx.insert(format!("aws:resourcetag/{}", k.to_ascii_lowercase()), vec![v]);
        }
    }
    ctx
}
