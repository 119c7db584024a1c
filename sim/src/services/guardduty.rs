//! GuardDuty: `GetInvestigation`, `ListInvestigations`, `CreateInvestigation`.

use std::cmp::Ordering;

use serde_json::{json, Value};

use super::{page_size, s, Ctx};
use crate::error::SimError;
use crate::model::Service;
use crate::state::{now, paginate, State};

const SERVICE: Service = Service::GuardDuty;

pub(crate) fn handle(state: &mut State, ctx: &Ctx<'_>, op: &str, input: &Value) -> Result<Value, SimError> {
    let detector = s(input, "DetectorId");
    match op {
        "GetFindings" => {
            // The findings that exist, in the order asked; an unknown id is simply not there.
            let wanted = input["findingIds"].as_array().cloned().unwrap_or_default();
            let found: Vec<Value> = wanted
                .iter()
                .filter_map(|id| id.as_str())
                .filter_map(|id| state.findings.get(&format!("{detector}/{id}")))
                .cloned()
                .collect();
            Ok(json!({ "findings": found }))
        }
        "GetInvestigation" => {
            let key = format!("{detector}/{}", s(input, "InvestigationId"));
            let inv = state.investigations.get(&key).ok_or_else(|| {
                SimError::not_found(
                    SERVICE,
                    format!("The investigation {} was not found in detector {detector}", s(input, "InvestigationId")),
                )
            })?;
            // The structured results come only to a caller that asks for them.
            let mut inv = inv.clone();
            if input["summaryFormat"] != "STRUCTURED" {
                inv.as_object_mut().map(|o| o.remove("summaryData"));
            }
            Ok(json!({ "investigation": inv }))
        }
        "ListInvestigations" => {
            let prefix = format!("{detector}/");
            let mut items: Vec<&Value> = state.investigations.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, v)| v).collect();
            let field = input["sortCriteria"]["attributeName"].as_str().unwrap_or("START_TIME");
            let desc = input["sortCriteria"]["orderBy"].as_str() == Some("DESC");
            items.sort_by(|a, b| {
                let o = compare(a, b, field);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
            let summaries = items.into_iter().map(summary).collect();
            let (page, next) = paginate(SERVICE, summaries, input["nextToken"].as_str(), page_size(input, 50))?;
            let mut out = json!({ "investigations": page });
            if let Some(next) = next {
                out["nextToken"] = json!(next);
            }
            Ok(out)
        }
        "CreateInvestigation" => {
            if state.investigation_quota == 0 {
                return Err(SimError::invalid(
                    SERVICE,
                    "The request is rejected because the investigation quota for this account has been reached (10 per day)",
                ));
            }
            state.investigation_quota -= 1;
            let seq = state.next_sequence();
            let id = format!("5100{seq:04x}-0000-4000-8000-{:012x}", seq);
            let inv = json!({
                "investigationId": id,
                "status": "RUNNING",
                "triggerPrompt": s(input, "triggerPrompt"),
                "triggeredBy": format!("arn:aws:iam::{}:role/investigation-escalator", state.account),
                "startTime": now(),
                "cloud": { "account": state.account, "provider": "AWS", "region": ctx.region },
            });
            state.investigations.insert(format!("{detector}/{id}"), inv);
            Ok(json!({ "investigationId": id }))
        }
        other => Err(SimError::invalid(SERVICE, format!("operation {other} is not simulated"))),
    }
}

fn summary(inv: &Value) -> Value {
    let mut out = json!({});
    for key in ["investigationId", "status", "riskLevel", "confidence", "startTime", "endTime", "triggerPrompt"] {
        if !inv[key].is_null() {
            out[key] = inv[key].clone();
        }
    }
    if let Some(account) = inv["cloud"]["account"].as_str() {
        out["accountId"] = json!(account);
    }
    if let Some(finding) = inv["scope"]["findingId"].as_str() {
        out["findingId"] = json!(finding);
    }
    out
}

fn rank(field: &str, v: &str) -> usize {
    let order: &[&str] = match field {
        "RISK_LEVEL" => &["Info", "Low", "Medium", "High", "Critical"],
        "CONFIDENCE" => &["Unknown", "Low", "Medium", "High"],
        _ => &["RUNNING", "COMPLETED", "FAILED"],
    };
    order.iter().position(|o| *o == v).map_or(0, |p| p + 1)
}

fn compare(a: &Value, b: &Value, field: &str) -> Ordering {
    let time = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NEG_INFINITY);
    let text = |v: &Value, k: &str| rank(field, v[k].as_str().unwrap_or_default());
    match field {
        "END_TIME" => time(a, "endTime").total_cmp(&time(b, "endTime")),
        "RISK_LEVEL" => text(a, "riskLevel").cmp(&text(b, "riskLevel")),
        "CONFIDENCE" => text(a, "confidence").cmp(&text(b, "confidence")),
        "STATUS" => text(a, "status").cmp(&text(b, "status")),
        _ => time(a, "startTime").total_cmp(&time(b, "startTime")),
    }
}
