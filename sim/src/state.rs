//! The simulation's in-memory state: what the three services hold, the
//! idempotency records, and a log of every request. Seeded from a JSON fixture,
//! shown as JSON.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SimError;
use crate::model::Service;

/// A fixture: what the services hold before the first request.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    /// Account id the simulated services live in.
    #[serde(default)]
    pub account: Option<String>,
    /// GuardDuty investigations, each the wire `Investigation` structure plus `detectorId`.
    #[serde(default)]
    pub investigations: Vec<Value>,
    /// GuardDuty findings, each the wire `Finding` structure plus `detectorId`.
    #[serde(default)]
    pub findings: Vec<Value>,
    /// Incident records, each the wire `IncidentRecord` plus optional `relatedItems`.
    #[serde(default)]
    pub incident_records: Vec<Value>,
    /// Response plan ARNs that `StartIncident` accepts.
    #[serde(default)]
    pub response_plans: Vec<String>,
    /// How many investigations `CreateInvestigation` starts before answering with the quota error.
    #[serde(default)]
    pub investigation_quota: Option<usize>,
    /// Lambda functions (the deployed escalator, for the operator's `replay`),
    /// each `{"configuration": <FunctionConfiguration>, "policy": <resource policy document>}`.
    #[serde(default)]
    pub functions: Vec<Value>,
}

/// One received request, as the log shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Which service (none for a request refused before routing).
    pub service: Option<Service>,
    /// Operation name (`METHOD /path` for a request refused before routing).
    pub operation: String,
    /// The region the request was signed for (its SigV4 credential scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// HTTP status answered.
    pub status: u16,
    /// Error name, for an error answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The idempotency token the request carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// True when the answer was replayed from an earlier request with the same token.
    pub replayed: bool,
}

/// A remembered write: what its token was used with, and what it answered.
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub fingerprint: Value,
    pub answer: Value,
}

/// Everything the three simulated services hold.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The account id.
    pub account: String,
    /// Investigations by `detectorId/investigationId`.
    pub investigations: BTreeMap<String, Value>,
    /// Findings by `detectorId/findingId`.
    pub findings: BTreeMap<String, Value>,
    /// Cases by case id (the `GetCase` answer, without `caseId`).
    pub cases: BTreeMap<String, Value>,
    /// Comments by case id.
    pub comments: BTreeMap<String, Vec<Value>>,
    /// Incident records by ARN.
    pub incident_records: BTreeMap<String, Value>,
    /// Related items by incident record ARN.
    pub related_items: BTreeMap<String, Vec<Value>>,
    /// Timeline events by incident record ARN.
    pub timeline_events: BTreeMap<String, Vec<Value>>,
    /// Known response plans.
    pub response_plans: BTreeSet<String>,
    /// Investigations `CreateInvestigation` may still start.
    pub investigation_quota: usize,
    /// Lambda functions by name: `{"configuration": …, "policy": …}`.
    pub functions: BTreeMap<String, Value>,
    /// Every request received, in order.
    pub log: Vec<LogEntry>,
    #[serde(skip)]
    pub(crate) tokens: HashMap<(Service, String, String), TokenRecord>,
    #[serde(skip)]
    pub(crate) sequence: u64,
}

impl State {
    /// Builds the state a fixture describes, checking it names what it must.
    pub fn from_fixture(fixture: Fixture) -> Result<Self, String> {
        let mut state = State {
            account: fixture.account.unwrap_or_else(|| "123456789012".to_string()),
            investigations: BTreeMap::new(),
            findings: BTreeMap::new(),
            cases: BTreeMap::new(),
            comments: BTreeMap::new(),
            incident_records: BTreeMap::new(),
            related_items: BTreeMap::new(),
            timeline_events: BTreeMap::new(),
            response_plans: fixture.response_plans.into_iter().collect(),
            investigation_quota: fixture.investigation_quota.unwrap_or(10),
            functions: BTreeMap::new(),
            log: Vec::new(),
            tokens: HashMap::new(),
            sequence: 0,
        };
        for function in fixture.functions {
            let name =
                function["configuration"]["FunctionName"].as_str().ok_or("a function in the fixture has no configuration.FunctionName")?;
            state.functions.insert(name.to_string(), function.clone());
        }
        for mut inv in fixture.investigations {
            let detector = take_string(&mut inv, "detectorId").ok_or("an investigation in the fixture has no detectorId")?;
            let id = inv["investigationId"].as_str().ok_or("an investigation in the fixture has no investigationId")?;
            state.investigations.insert(format!("{detector}/{id}"), inv);
        }
        for mut finding in fixture.findings {
            let detector = take_string(&mut finding, "detectorId").ok_or("a finding in the fixture has no detectorId")?;
            let id = finding["id"].as_str().ok_or("a finding in the fixture has no id")?;
            state.findings.insert(format!("{detector}/{id}"), finding);
        }
        for mut record in fixture.incident_records {
            let related = record.as_object_mut().and_then(|o| o.remove("relatedItems"));
            let arn = record["arn"].as_str().ok_or("an incident record in the fixture has no arn")?.to_string();
            let related = match related {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            state.related_items.insert(arn.clone(), related);
            state.timeline_events.insert(arn.clone(), Vec::new());
            state.incident_records.insert(arn, record);
        }
        Ok(state)
    }

    /// A fresh number, unique within this simulation.
    pub(crate) fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// The state as JSON (without the idempotency records).
    pub fn snapshot(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// How many requests of an operation were received (replays included).
    pub fn calls(&self, operation: &str) -> usize {
        self.log.iter().filter(|e| e.operation == operation).count()
    }
}

/// Seconds since the epoch, as restJson1 timestamps carry them.
pub fn now() -> f64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_millis() as f64) / 1000.0
}

fn take_string(v: &mut Value, key: &str) -> Option<String> {
    match v.as_object_mut()?.remove(key)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Pages a list: the token is the offset of the next item.
pub(crate) fn paginate(
    service: Service,
    items: Vec<Value>,
    token: Option<&str>,
    max: usize,
) -> Result<(Vec<Value>, Option<String>), SimError> {
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .strip_prefix("page")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= items.len())
            .ok_or_else(|| SimError::invalid(service, format!("The nextToken '{t}' is not valid")))?,
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| format!("page{end}"));
    Ok((items[start..end].to_vec(), next))
}
