//! Incident Manager: `ListIncidentRecords`, `GetIncidentRecord`, `ListRelatedItems`,
//! `UpdateRelatedItems`, `CreateTimelineEvent`, `ListTimelineEvents`,
//! `StartIncident`, `UpdateIncidentRecord`.

use serde_json::{json, Value};

use super::{hex_id, page_size, s, Ctx};
use crate::error::SimError;
use crate::model::Service;
use crate::state::{now, paginate, State};

const SERVICE: Service = Service::Incidents;

pub(crate) fn handle(state: &mut State, ctx: &Ctx<'_>, op: &str, input: &Value) -> Result<Value, SimError> {
    match op {
        "ListIncidentRecords" => {
            let mut records: Vec<&Value> = Vec::new();
            for r in state.incident_records.values() {
                if filters_match(r, &input["filters"])? {
                    records.push(r);
                }
            }
            records.sort_by(|a, b| b["creationTime"].as_f64().unwrap_or(0.0).total_cmp(&a["creationTime"].as_f64().unwrap_or(0.0)));
            let summaries = records
                .into_iter()
                .map(|r| {
                    let mut out = json!({});
                    for key in ["arn", "creationTime", "impact", "incidentRecordSource", "resolvedTime", "status", "title"] {
                        if !r[key].is_null() {
                            out[key] = r[key].clone();
                        }
                    }
                    out
                })
                .collect();
            let (page, next) = paginate(SERVICE, summaries, input["nextToken"].as_str(), page_size(input, 10))?;
            Ok(with_next(json!({ "incidentRecordSummaries": page }), next))
        }
        "GetIncidentRecord" => Ok(json!({ "incidentRecord": record(state, s(input, "arn"))? })),
        "ListRelatedItems" => {
            let items = state.related_items.get(s(input, "incidentRecordArn")).cloned().unwrap_or_default();
            let (page, next) = paginate(SERVICE, items, input["nextToken"].as_str(), page_size(input, 20))?;
            Ok(with_next(json!({ "relatedItems": page }), next))
        }
        "UpdateRelatedItems" => {
            let arn = s(input, "incidentRecordArn");
            record(state, arn)?;
            let items = state.related_items.entry(arn.to_string()).or_default();
            let update = &input["relatedItemsUpdate"];
            if let Some(add) = update.get("itemToAdd") {
                if items.iter().any(|i| i["identifier"] == add["identifier"]) {
                    return Err(SimError::conflict(SERVICE, "The related item is already on this incident", arn, "INCIDENT_RECORD"));
                }
                items.push(add.clone());
            } else if let Some(remove) = update.get("itemToRemove") {
                let before = items.len();
                items.retain(|i| i["identifier"] != *remove);
                if items.len() == before {
                    return Err(SimError::not_found(SERVICE, "The related item to remove is not on this incident"));
                }
            }
            Ok(json!({}))
        }
        "CreateTimelineEvent" => {
            let arn = s(input, "incidentRecordArn").to_string();
            record(state, &arn)?;
            let seq = state.next_sequence();
            let id = uuid_like(seq);
            let mut event = json!({
                "eventId": id,
                "incidentRecordArn": arn,
                "eventTime": input["eventTime"],
                "eventType": input["eventType"],
                "eventData": input["eventData"],
                "eventUpdatedTime": now(),
            });
            if !input["eventReferences"].is_null() {
                event["eventReferences"] = input["eventReferences"].clone();
            }
            state.timeline_events.entry(arn.clone()).or_default().push(event);
            Ok(json!({ "eventId": id, "incidentRecordArn": arn }))
        }
        "ListTimelineEvents" => {
            let mut events = state.timeline_events.get(s(input, "incidentRecordArn")).cloned().unwrap_or_default();
            events.sort_by(|a, b| a["eventTime"].as_f64().unwrap_or(0.0).total_cmp(&b["eventTime"].as_f64().unwrap_or(0.0)));
            if input["sortOrder"].as_str() == Some("DESCENDING") {
                events.reverse();
            }
            let summaries = events
                .into_iter()
                .map(|mut e| {
                    if let Some(o) = e.as_object_mut() {
                        o.remove("eventData");
                    }
                    e
                })
                .collect();
            let (page, next) = paginate(SERVICE, summaries, input["nextToken"].as_str(), page_size(input, 20))?;
            Ok(with_next(json!({ "eventSummaries": page }), next))
        }
        "StartIncident" => {
            let plan = s(input, "responsePlanArn");
            if !state.response_plans.contains(plan) {
                return Err(SimError::not_found(SERVICE, format!("Response plan {plan} was not found")));
            }
            let plan_name = plan.rsplit('/').next().unwrap_or("plan").to_string();
            let id = hex_id(state.next_sequence());
            let arn = format!("arn:aws:ssm-incidents::{}:incident-record/{plan_name}/{id}", state.account);
            let t = now();
            let creator = format!("arn:aws:iam::{}:role/investigation-escalator", state.account);
            let mut source = json!({
                "createdBy": creator,
                "source": input["triggerDetails"]["source"].as_str().unwrap_or("aws.ssm-incidents.custom"),
            });
            if let Some(trigger) = input["triggerDetails"]["triggerArn"].as_str() {
                source["resourceArn"] = json!(trigger);
            }
            let record = json!({
                "arn": arn,
                "title": input["title"].as_str().unwrap_or(&plan_name),
                "summary": "",
                "status": "OPEN",
                "impact": input["impact"].as_i64().unwrap_or(3),
                "creationTime": t,
                "lastModifiedTime": t,
                "lastModifiedBy": creator,
                "dedupeString": "",
                "incidentRecordSource": source,
                "notificationTargets": [],
                "automationExecutions": [],
            });
            state.incident_records.insert(arn.clone(), record);
            state.related_items.insert(arn.clone(), input["relatedItems"].as_array().cloned().unwrap_or_default());
            state.timeline_events.insert(arn.clone(), Vec::new());
            Ok(json!({ "incidentRecordArn": arn }))
        }
        "UpdateIncidentRecord" => {
            let arn = s(input, "arn").to_string();
            let account = state.account.clone();
            let record = state
                .incident_records
                .get_mut(&arn)
                .ok_or_else(|| SimError::not_found(SERVICE, format!("Incident record {arn} was not found")))?;
            let was_open = record["status"] != "RESOLVED";
            for key in ["title", "summary", "impact", "status"] {
                if !input[key].is_null() {
                    record[key] = input[key].clone();
                }
            }
            let t = now();
            // Resolved anew after a reopening: a new resolution time.
            match input["status"].as_str() {
                Some("RESOLVED") if was_open => record["resolvedTime"] = json!(t),
                Some("OPEN") => {
                    record.as_object_mut().map(|o| o.remove("resolvedTime"));
                }
                _ => {}
            }
            record["lastModifiedTime"] = json!(t);
            record["lastModifiedBy"] = json!(ctx.principal(&account));
            Ok(json!({}))
        }
        other => Err(SimError::invalid(SERVICE, format!("operation {other} is not simulated"))),
    }
}

fn record<'a>(state: &'a State, arn: &str) -> Result<&'a Value, SimError> {
    state.incident_records.get(arn).ok_or_else(|| SimError::not_found(SERVICE, format!("Incident record {arn} was not found")))
}

fn with_next(mut out: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    out
}

fn uuid_like(seq: u64) -> String {
    let h = hex_id(seq).to_ascii_lowercase();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Applies `ListIncidentRecords` filters: `creationTime`/`resolvedTime` with
/// before/after, `status`/`createdBy` with string values, `impact` with integers.
fn filters_match(record: &Value, filters: &Value) -> Result<bool, SimError> {
    for f in filters.as_array().into_iter().flatten() {
        let key = f["key"].as_str().unwrap_or_default();
        let cond = &f["condition"];
        let ok = match key {
            "creationTime" | "resolvedTime" => {
                let Some(t) = record[key].as_f64() else { return Ok(false) };
                cond["before"].as_f64().is_none_or(|b| t < b) && cond["after"].as_f64().is_none_or(|a| t > a)
            }
            "status" | "createdBy" => {
                let actual = if key == "status" { &record["status"] } else { &record["incidentRecordSource"]["createdBy"] };
                let values = cond["equals"]["stringValues"]
                    .as_array()
                    .ok_or_else(|| SimError::invalid(SERVICE, format!("Filter {key} takes stringValues")))?;
                values.iter().any(|v| v == actual)
            }
            "impact" => {
                let values = cond["equals"]["integerValues"]
                    .as_array()
                    .ok_or_else(|| SimError::invalid(SERVICE, "Filter impact takes integerValues"))?;
                values.iter().any(|v| *v == record["impact"])
            }
            other => {
                return Err(SimError::invalid(
                    SERVICE,
                    format!("Filter key {other} is not supported; use one of creationTime, resolvedTime, status, createdBy, impact"),
                ))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
