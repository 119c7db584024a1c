//! Security Incident Response: `CreateCase`, `GetCase`, `UpdateCase`,
//! `CreateCaseComment`, `ListComments`, `ListCases`, `ListTagsForResource`,
//! `TagResource`; and a responder's `UpdateCaseStatus` and `CloseCase`.

use serde_json::{json, Map, Value};

use super::{page_size, s, Ctx};
use crate::error::SimError;
use crate::model::Service;
use crate::state::{now, paginate, State};

const SERVICE: Service = Service::SecurityIr;

/// Members of `CreateCase` that a case keeps as they were given.
const CASE_FIELDS: [&str; 10] = [
    "title",
    "description",
    "engagementType",
    "resolverType",
    "reportedIncidentStartDate",
    "impactedAccounts",
    "impactedAwsRegions",
    "impactedServices",
    "threatActorIpAddresses",
    "watchers",
];

pub(crate) fn handle(state: &mut State, ctx: &Ctx<'_>, op: &str, input: &Value) -> Result<Value, SimError> {
    match op {
        "CreateCase" => {
            let id = format!("{}", 1_000_000_000 + state.next_sequence());
            let t = now();
            let mut case = Map::new();
            for key in CASE_FIELDS {
                if !input[key].is_null() {
                    case.insert(key.to_string(), input[key].clone());
                }
            }
            case.insert("caseArn".into(), json!(format!("arn:aws:security-ir:{}:{}:case/{id}", ctx.region, state.account)));
            case.insert("caseStatus".into(), json!("Submitted"));
            case.insert("pendingAction".into(), json!("None"));
            case.insert("createdDate".into(), json!(t));
            case.insert("lastUpdatedDate".into(), json!(t));
            case.insert("tags".into(), input.get("tags").cloned().unwrap_or(json!({})));
            state.cases.insert(id.clone(), Value::Object(case));
            state.comments.insert(id.clone(), Vec::new());
            Ok(json!({ "caseId": id }))
        }
        "GetCase" => {
            let mut case = case(state, input)?.clone();
            // Tags are kept but not part of GetCase's answer (ListTagsForResource shows them).
            if let Some(o) = case.as_object_mut() {
                o.remove("tags");
            }
            Ok(case)
        }
        "UpdateCase" => {
            let case = case_mut(state, input)?;
            let o = case.as_object_mut().ok_or_else(|| SimError::internal(SERVICE))?;
            for key in ["title", "description", "engagementType", "reportedIncidentStartDate", "actualIncidentStartDate", "caseMetadata"] {
                if !input[key].is_null() {
                    o.insert(key.to_string(), input[key].clone());
                }
            }
            for (list, member) in [
                ("impactedAccounts", None),
                ("impactedAwsRegions", Some("region")),
                ("impactedServices", None),
                ("threatActorIpAddresses", Some("ipAddress")),
                ("watchers", Some("email")),
            ] {
                apply_list_change(o, list, member, &input[format!("{list}ToAdd")], &input[format!("{list}ToDelete")]);
            }
            o.insert("lastUpdatedDate".into(), json!(now()));
            Ok(json!({}))
        }
        // A responder's moves (the function makes neither).
        "UpdateCaseStatus" | "CloseCase" => {
            let closing = op == "CloseCase";
            let case = case_mut(state, input)?;
            let t = now();
            let status = if closing { json!("Closed") } else { input["caseStatus"].clone() };
            case["caseStatus"] = status.clone();
            case["lastUpdatedDate"] = json!(t);
            if closing {
                case["closedDate"] = json!(t);
                return Ok(json!({"caseStatus": "Closed", "closedDate": t}));
            }
            Ok(json!({"caseStatus": status}))
        }
        "CreateCaseComment" => {
            let id = s(input, "caseId").to_string();
            case(state, input)?;
            let comments = state.comments.entry(id).or_default();
            let comment_id = format!("{:06}", comments.len() + 1);
            let t = now();
            comments.push(json!({
                "commentId": comment_id,
                "body": input["body"],
                "createdDate": t,
                "lastUpdatedDate": t,
                // Security IR's events name only the account; its comments may name the
                // principal (the model allows both): the simulation names the account.
                "creator": state.account,
                "lastUpdatedBy": state.account,
            }));
            Ok(json!({ "commentId": comment_id }))
        }
        "ListTagsForResource" => {
            let case = tagged_case(state, ctx, input)?;
            Ok(json!({ "tags": case.get("tags").cloned().unwrap_or(json!({})) }))
        }
        "TagResource" => {
            let case = tagged_case(state, ctx, input)?;
            let tags = case.as_object_mut().map(|c| c.entry("tags").or_insert_with(|| json!({})));
            if let (Some(Value::Object(tags)), Some(new)) = (tags, input["tags"].as_object()) {
                tags.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Ok(json!({}))
        }
        "ListComments" => {
            case(state, input)?;
            let all = state.comments.get(s(input, "caseId")).cloned().unwrap_or_default();
            let total = all.len();
            let (items, next) = paginate(SERVICE, all, input["nextToken"].as_str(), page_size(input, 25))?;
            let mut out = json!({ "items": items, "total": total });
            if let Some(next) = next {
                out["nextToken"] = json!(next);
            }
            Ok(out)
        }
        "ListCases" => {
            let items = state
                .cases
                .iter()
                .rev()
                .map(|(id, c)| {
                    let mut item = json!({ "caseId": id });
                    for key in [
                        "caseArn",
                        "title",
                        "caseStatus",
                        "createdDate",
                        "lastUpdatedDate",
                        "closedDate",
                        "engagementType",
                        "resolverType",
                        "pendingAction",
                    ] {
                        if !c[key].is_null() {
                            item[key] = c[key].clone();
                        }
                    }
                    item
                })
                .collect();
            let (items, next) = paginate(SERVICE, items, input["nextToken"].as_str(), page_size(input, 25))?;
            let mut out = json!({ "items": items });
            if let Some(next) = next {
                out["nextToken"] = json!(next);
            }
            Ok(out)
        }
        other => Err(SimError::invalid(SERVICE, format!("operation {other} is not simulated"))),
    }
}

fn case<'a>(state: &'a State, input: &Value) -> Result<&'a Value, SimError> {
    let id = s(input, "caseId");
    state.cases.get(id).ok_or_else(|| SimError::not_found(SERVICE, format!("Case {id} was not found")))
}

fn case_mut<'a>(state: &'a mut State, input: &Value) -> Result<&'a mut Value, SimError> {
    let id = s(input, "caseId");
    state.cases.get_mut(id).ok_or_else(|| SimError::not_found(SERVICE, format!("Case {id} was not found")))
}

/// Adds and removes list entries, matching structures on their key member.
fn apply_list_change(case: &mut Map<String, Value>, list: &str, key: Option<&str>, add: &Value, delete: &Value) {
    let same = |a: &Value, b: &Value| match key {
        Some(k) => a[k] == b[k],
        None => a == b,
    };
    let entry = case.entry(list.to_string()).or_insert_with(|| json!([]));
    let Some(items) = entry.as_array_mut() else {
        return;
    };
    for d in delete.as_array().into_iter().flatten() {
        items.retain(|i| !same(i, d));
    }
    for a in add.as_array().into_iter().flatten() {
        if !items.iter().any(|i| same(i, a)) {
            items.push(a.clone());
        }
    }
}

/// Closes a case, as an analyst would in the console (for tests of the close-out).
pub fn close_case(state: &mut State, case_id: &str, closure_code: &str) -> bool {
    let Some(case) = state.cases.get_mut(case_id).and_then(Value::as_object_mut) else {
        return false;
    };
    let t = now();
    case.insert("caseStatus".into(), json!("Closed"));
    case.insert("closureCode".into(), json!(closure_code));
    case.insert("closedDate".into(), json!(t));
    case.insert("lastUpdatedDate".into(), json!(t));
    true
}

/// The case a tagging request's `resourceArn` names (of this Region and account).
fn tagged_case<'a>(state: &'a mut State, ctx: &Ctx<'_>, input: &Value) -> Result<&'a mut Value, SimError> {
    let arn = s(input, "resourceArn");
    let prefix = format!("arn:aws:security-ir:{}:{}:case/", ctx.region, state.account);
    let case = arn.strip_prefix(&prefix).and_then(|id| state.cases.get_mut(id));
    case.ok_or_else(|| SimError::not_found(SERVICE, format!("Resource {arn} was not found")))
}
