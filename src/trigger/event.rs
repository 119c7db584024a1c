//! Recognising what an invocation was sent (docs/design.md §2). A malformed
//! event is an error that names what is missing, before any AWS call.

use std::collections::HashSet;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;
use thiserror::Error;

use crate::trigger::ids::{self, MAX_FINDING_IDS};

/// What an invocation asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Escalate one named investigation (an investigation event, a direct invoke,
    /// or a CloudTrail record of a successful `CreateInvestigation`).
    Investigation(InvestigationRef),
    /// A CloudTrail record of a `CreateInvestigation` call that failed.
    FailedCreateInvestigation {
        /// The call's `errorCode`.
        error_code: String,
    },
    /// The scheduled sweep (an EventBridge `Scheduled Event`).
    Sweep,
    /// A `GuardDuty Finding` event.
    Finding(Finding),
    /// A Security IR `Case Closed` event.
    CaseClosed {
        /// The closed case.
        case_id: String,
        /// The event's `time`, in milliseconds since the epoch (stable across redeliveries).
        event_time_ms: i64,
    },
    /// A Security IR `Case Updated` event: the case's status may have moved (§14).
    CaseUpdated {
        /// The case (the event says nothing else that is read: `GetCase` tells the rest).
        case_id: String,
    },
    /// A Security IR `Case Comment Added` event (it names the case, not the comment).
    CaseCommentAdded {
        /// The case.
        case_id: String,
    },
    /// A CloudTrail record of a successful `UpdateIncidentRecord` that set `RESOLVED`.
    IncidentResolved {
        /// The incident record (`GetIncidentRecord` confirms it).
        arn: String,
    },
    /// A CloudTrail record of another `UpdateIncidentRecord` (a failed call, or one that resolved nothing).
    OtherIncidentUpdate,
}

/// The facts of a GuardDuty finding that do not change between its updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Finding id.
    pub id: String,
    /// Finding type, e.g. `UnauthorizedAccess:EC2/SSHBruteForce`.
    pub finding_type: String,
    /// Account of the finding.
    pub account: String,
    /// Region of the finding.
    pub region: String,
    /// The detector that made it.
    pub detector_id: String,
    /// Severity, 1.0-10.0 (it can change between updates; only the gate reads it).
    pub severity: f64,
    /// A sample finding (`CreateSampleFindings`): never worth an investigation.
    pub sample: bool,
    /// Archived (suppressed) by the account's own rules.
    pub archived: bool,
}

/// A named investigation, with what the event adds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestigationRef {
    /// The detector.
    pub detector_id: String,
    /// The investigation.
    pub investigation_id: String,
    /// An incident record the sender wants linked.
    pub incident_record_arn: Option<String>,
    /// GuardDuty finding ids the sender names (`findingId` / `findingIds`).
    pub finding_ids: Vec<String>,
    /// Who named it, which decides what the extras above may do.
    pub sender: Sender,
}

/// Who named an investigation (docs/design.md §2, "Who may trigger what").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// A direct invoke, or the operator's command line: IAM authorized the caller
    /// (`lambda:InvokeFunction`, or the operator's own credentials), so the record
    /// it names is linked as named and its finding ids widen the search.
    Invoker,
    /// An EventBridge event: anyone allowed to put events on its bus. The record
    /// it names is linked only when it matches the investigation by its own ids,
    /// and its finding ids are not used.
    Event,
}

impl InvestigationRef {
    /// The finding ids the sender may add to the investigation's own: a direct
    /// invoke's; none from an event, whose sender could name any finding and
    /// pull in unrelated incidents and threat actor addresses.
    pub fn vouched_finding_ids(&self) -> &[String] {
        match self.sender {
            Sender::Invoker => &self.finding_ids,
            Sender::Event => &[],
        }
    }

    /// The incident record the sender names, and whether it is linked as named
    /// (`true`) or only when it matches the investigation (`false`).
    pub fn named_incident(&self) -> Option<(&str, bool)> {
        self.incident_record_arn.as_deref().map(|arn| (arn, self.sender == Sender::Invoker))
    }

    /// An investigation named by its ids alone (the operator's command line),
    /// checked and normalised as an event's are.
    pub fn new(detector_id: &str, investigation_id: &str) -> Result<InvestigationRef, EventError> {
        investigation_ref(&serde_json::json!({"detectorId": detector_id, "investigationId": investigation_id}), "", Sender::Invoker)
    }

    /// The investigation an invocation payload names, with what the event adds
    /// (an incident record, finding ids); `None` for any other trigger.
    pub fn from_event(payload: &Value) -> Result<Option<InvestigationRef>, EventError> {
        match parse(payload)? {
            Trigger::Investigation(target) => Ok(Some(target)),
            _ => Ok(None),
        }
    }
}

/// An event this function cannot act on.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EventError {
    /// The payload is not a JSON object.
    #[error("malformed event: expected a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// An EventBridge envelope that does not parse as one.
    #[error("malformed event: not a valid EventBridge envelope: {0}")]
    Envelope(String),
    /// A required field is missing or empty.
    #[error("malformed event: {field} is missing (an investigation event needs detail.detectorId and detail.investigationId; a direct invoke needs detectorId and investigationId)")]
    Missing {
        /// The field, as a path.
        field: String,
    },
    /// A field that is present but unusable.
    #[error("malformed event: {field}={value:?} is not valid: {why}")]
    Invalid {
        /// The field, as a path.
        field: String,
        /// Its value.
        value: String,
        /// What it must be.
        why: &'static str,
    },
    /// An EventBridge event of a kind this function does not handle.
    #[error("unsupported event: detail-type {detail_type:?} from source {event_source:?} is not a trigger of this function (see events/ for the ones it handles)")]
    Unsupported {
        /// The envelope's `detail-type`.
        detail_type: String,
        /// The envelope's `source` (named so that thiserror does not take it for an error source).
        event_source: String,
    },
}

/// Recognises the trigger in an invocation payload.
pub fn parse(payload: &Value) -> Result<Trigger, EventError> {
    let obj = payload.as_object().ok_or(EventError::NotAnObject(json_kind(payload)))?;
    if obj.contains_key("detail-type") || obj.contains_key("source") {
        let envelope: EventBridgeEvent<Value> =
            serde_json::from_value(payload.clone()).map_err(|e| EventError::Envelope(ids::quote(&e.to_string())))?;
        let detail = &envelope.detail;
        match (envelope.source.as_str(), envelope.detail_type.as_str()) {
            // Only EventBridge's own schedule runs the sweep (EventBridge Scheduler sends its
            // target's input, never this envelope); anyone else's is judged by its detail.
            ("aws.events", "Scheduled Event") => return Ok(Trigger::Sweep),
            ("aws.guardduty", "AWS API Call via CloudTrail")
                if detail["eventSource"] == "guardduty.amazonaws.com" && detail["eventName"] == "CreateInvestigation" =>
            {
                return cloudtrail_create_investigation(detail);
            }
            ("aws.guardduty", "GuardDuty Finding") => return finding(detail).map(Trigger::Finding),
            ("aws.security-ir", "Case Closed") => {
                let case_id = case_of(detail)?;
                let event_time_ms =
                    envelope.time.map(|t| t.timestamp_millis()).ok_or_else(|| EventError::Missing { field: "time".into() })?;
                return Ok(Trigger::CaseClosed { case_id, event_time_ms });
            }
            ("aws.security-ir", "Case Updated") => return Ok(Trigger::CaseUpdated { case_id: case_of(detail)? }),
            ("aws.security-ir", "Case Comment Added") => return Ok(Trigger::CaseCommentAdded { case_id: case_of(detail)? }),
            ("aws.ssm-incidents", "AWS API Call via CloudTrail")
                if detail["eventSource"] == "ssm-incidents.amazonaws.com" && detail["eventName"] == "UpdateIncidentRecord" =>
            {
                return cloudtrail_update_incident(detail);
            }
            _ => {}
        }
        if detail.get("detectorId").is_some() || detail.get("investigationId").is_some() {
            return investigation_ref(detail, "detail.", Sender::Event).map(Trigger::Investigation);
        }
        return Err(EventError::Unsupported { detail_type: envelope.detail_type, event_source: envelope.source });
    }
    investigation_ref(payload, "", Sender::Invoker).map(Trigger::Investigation)
}

/// The case a Security IR event names (`detail.caseId`).
fn case_of(detail: &Value) -> Result<String, EventError> {
    let raw = required_text(detail, "caseId", "detail.")?;
    ids::case_id(&raw).ok_or_else(|| invalid("detail.caseId", &raw, "a case id is 10 to 32 digits"))
}

/// A CloudTrail record of `UpdateIncidentRecord`: a resolution, or another update.
fn cloudtrail_update_incident(detail: &Value) -> Result<Trigger, EventError> {
    let params = &detail["requestParameters"];
    if detail.get("errorCode").is_some_and(|c| !c.is_null()) || params["status"] != "RESOLVED" {
        return Ok(Trigger::OtherIncidentUpdate);
    }
    let raw = required_text(params, "arn", "detail.requestParameters.")?;
    let arn = ids::incident_arn(&raw).ok_or_else(|| invalid("detail.requestParameters.arn", &raw, "an incident record ARN"))?;
    Ok(Trigger::IncidentResolved { arn })
}

/// A CloudTrail record of `CreateInvestigation`: the new investigation, or the failure.
fn cloudtrail_create_investigation(detail: &Value) -> Result<Trigger, EventError> {
    if let Some(code) = detail["errorCode"].as_str() {
        return Ok(Trigger::FailedCreateInvestigation { error_code: code.to_string() });
    }
    let ids = serde_json::json!({
        "detectorId": detail["requestParameters"]["detectorId"],
        "investigationId": detail["responseElements"]["investigationId"],
    });
    investigation_ref(&ids, "detail.requestParameters|responseElements.", Sender::Event).map(Trigger::Investigation)
}

/// The stable facts of a `GuardDuty Finding` event.
fn finding(detail: &Value) -> Result<Finding, EventError> {
    let p = "detail.";
    let severity = match &detail["severity"] {
        Value::Number(n) => n.as_f64().unwrap_or_default(),
        Value::Null => return Err(EventError::Missing { field: format!("{p}severity") }),
        other => return Err(invalid(&format!("{p}severity"), &other.to_string(), "must be a number")),
    };
    let id = required_text(detail, "id", p)?;
    let account = required_text(detail, "accountId", p)?;
    let detector = required_text(&detail["service"], "detectorId", "detail.service.")?;
    let flag = |v: &Value| v.as_bool().unwrap_or(false);
    Ok(Finding {
        id: ids::finding_id(&id).ok_or_else(|| invalid("detail.id", &id, "a GuardDuty finding id is 32 hexadecimal digits"))?,
        finding_type: required_text(detail, "type", p)?,
        account: ids::account_id(&account).ok_or_else(|| invalid("detail.accountId", &account, "an account id is 12 digits"))?,
        region: required_text(detail, "region", p)?,
        detector_id: ids::detector_id(&detector)
            .ok_or_else(|| invalid("detail.service.detectorId", &detector, "a detector id is 1 to 300 letters and digits"))?,
        severity,
        sample: is_sample(&detail["service"]["additionalInfo"]),
        archived: flag(&detail["service"]["archived"]),
    })
}

/// Whether a finding's `service.additionalInfo` marks it as a sample. GuardDuty's
/// API documents `additionalInfo` as `{"value": "<JSON text>", "type": …}`, and sample
/// findings carry `{"sample":true}` in that text; the flat `sample` member some
/// deliveries show is read too.
fn is_sample(info: &Value) -> bool {
    if info["sample"].as_bool() == Some(true) {
        return true;
    }
    // Bounded: the text is GuardDuty's, but a huge one is not worth parsing for one flag.
    info["value"]
        .as_str()
        .filter(|t| t.len() <= 64 * 1024)
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .is_some_and(|v| v["sample"].as_bool() == Some(true))
}

/// A non-empty string field, or an error naming it.
fn required_text(fields: &Value, name: &str, prefix: &str) -> Result<String, EventError> {
    match fields.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        None | Some(Value::Null) | Some(Value::String(_)) => Err(EventError::Missing { field: format!("{prefix}{name}") }),
        Some(other) => Err(invalid(&format!("{prefix}{name}"), &other.to_string(), "must be a string")),
    }
}

/// A field that is present but unusable, quoting at most 200 characters of it.
fn invalid(field: &str, value: &str, why: &'static str) -> EventError {
    EventError::Invalid { field: field.to_string(), value: ids::quote(value), why }
}

fn investigation_ref(fields: &Value, prefix: &str, sender: Sender) -> Result<InvestigationRef, EventError> {
    let text = |name: &str| -> Result<Option<String>, EventError> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(invalid(&format!("{prefix}{name}"), &other.to_string(), "must be a string")),
        }
    };
    let required = |name: &str| text(name)?.ok_or_else(|| EventError::Missing { field: format!("{prefix}{name}") });
    let raw = required("detectorId")?;
    let detector_id = ids::detector_id(&raw)
        .ok_or_else(|| invalid(&format!("{prefix}detectorId"), &raw, "a detector id is 1 to 300 letters and digits"))?;
    let raw = required("investigationId")?;
    let investigation_id = ids::investigation_id(&raw).ok_or_else(|| {
        invalid(&format!("{prefix}investigationId"), &raw, "an investigation id is 1 to 64 hexadecimal digits and dashes")
    })?;
    let incident_record_arn = match text("incidentRecordArn")? {
        Some(arn) => Some(ids::incident_arn(&arn).ok_or_else(|| {
            invalid(
                &format!("{prefix}incidentRecordArn"),
                &arn,
                "must be an Incident Manager incident record ARN (arn:aws:ssm-incidents::ACCOUNT:incident-record/PLAN/ID)",
            )
        })?),
        None => None,
    };
    Ok(InvestigationRef { detector_id, investigation_id, incident_record_arn, finding_ids: finding_ids(fields, prefix)?, sender })
}

/// The event's `findingId` and `findingIds`: real finding ids only (a short id
/// such as `1` would match nearly any incident), at most [`MAX_FINDING_IDS`],
/// lower-cased, each once, in first-seen order.
fn finding_ids(fields: &Value, prefix: &str) -> Result<Vec<String>, EventError> {
    let one = |field: &str, value: &Value| -> Result<String, EventError> {
        let id = value.as_str().map(str::trim).unwrap_or_default();
        ids::finding_id(id)
            .ok_or_else(|| invalid(&format!("{prefix}{field}"), &value.to_string(), "a GuardDuty finding id is 32 hexadecimal digits"))
    };
    let mut named: Vec<(&str, &Value)> = Vec::new();
    if let Some(v) = fields.get("findingId").filter(|v| !v.is_null()) {
        named.push(("findingId", v));
    }
    match fields.get("findingIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() + named.len() > MAX_FINDING_IDS => {
            return Err(invalid(&format!("{prefix}findingIds"), &format!("{} ids", items.len()), "an event names at most 100 finding ids"))
        }
        Some(Value::Array(items)) => named.extend(items.iter().map(|v| ("findingIds", v))),
        Some(other) => return Err(invalid(&format!("{prefix}findingIds"), &other.to_string(), "must be a list of strings")),
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (field, value) in named {
        let id = one(field, value)?;
        if seen.insert(id.clone()) {
            out.push(id);
        }
    }
    Ok(out)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(detail: Value) -> Value {
        json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "GuardDuty Investigation Ready",
            "source": "custom.pipeline", "account": "123456789012", "time": "2026-11-20T09:00:00Z",
            "region": "us-east-1", "resources": [], "detail": detail
        })
    }

    const DET: &str = "12abc34d567e8fa901bc2d34e56789f0";
    const INV: &str = "c0ffee00-0000-4000-8000-000000000001";

    #[test]
    fn investigation_event_is_recognised_from_any_source() {
        let t = parse(&envelope(json!({"detectorId": DET, "investigationId": INV}))).expect("valid");
        assert_eq!(
            t,
            Trigger::Investigation(InvestigationRef {
                detector_id: DET.into(),
                investigation_id: INV.into(),
                incident_record_arn: None,
                finding_ids: vec![],
                sender: Sender::Event,
            })
        );
    }

    #[test]
    fn explicit_incident_and_findings_are_kept() {
        let arn = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/6a1b";
        let t = parse(&envelope(json!({"detectorId": DET, "investigationId": INV, "incidentRecordArn": arn,
                   "findingId": "5AB4C8D9E0F1A2B3C4D5E6F7A8B9C0D1", "findingIds": ["7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"]})));
        let Ok(Trigger::Investigation(r)) = t else { panic!("expected an investigation, got {t:?}") };
        assert_eq!(r.incident_record_arn.as_deref(), Some(arn));
        assert_eq!(r.finding_ids, vec!["5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1", "7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"]);
    }

    #[test]
    fn only_a_direct_invoke_vouches_for_its_incident_and_finding_ids() {
        let arn = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/6a1b";
        let fields = json!({"detectorId": DET, "investigationId": INV, "incidentRecordArn": arn,
                            "findingIds": ["7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"]});
        let Ok(Trigger::Investigation(event)) = parse(&envelope(fields.clone())) else { panic!("an investigation") };
        assert_eq!(event.sender, Sender::Event);
        assert_eq!(event.named_incident(), Some((arn, false)), "an event's record is linked only when it matches");
        assert!(event.vouched_finding_ids().is_empty(), "an event's finding ids are not used");
        let Ok(Trigger::Investigation(direct)) = parse(&fields) else { panic!("an investigation") };
        assert_eq!(direct.sender, Sender::Invoker);
        assert_eq!(direct.named_incident(), Some((arn, true)));
        assert_eq!(direct.vouched_finding_ids(), ["7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"]);
    }

    #[test]
    fn direct_invoke_takes_top_level_fields() {
        let t = parse(&json!({"detectorId": DET, "investigationId": INV})).expect("valid");
        assert!(matches!(t, Trigger::Investigation(r) if r.investigation_id == INV));
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(
            parse(&envelope(json!({"detectorId": DET}))).unwrap_err(),
            EventError::Missing { field: "detail.investigationId".into() }
        );
        assert_eq!(parse(&json!({"investigationId": INV})).unwrap_err(), EventError::Missing { field: "detectorId".into() });
        assert_eq!(
            parse(&json!({"detectorId": " ", "investigationId": INV})).unwrap_err(),
            EventError::Missing { field: "detectorId".into() }
        );
        let e = parse(&json!({})).unwrap_err().to_string();
        assert!(e.contains("detectorId is missing"), "{e}");
    }

    #[test]
    fn wrong_types_and_values_are_named() {
        assert!(matches!(parse(&json!([1])), Err(EventError::NotAnObject("an array"))));
        assert!(
            matches!(parse(&json!({"detectorId": 7, "investigationId": INV})), Err(EventError::Invalid { field, .. }) if field == "detectorId")
        );
        assert!(
            matches!(parse(&json!({"detectorId": DET, "investigationId": "../etc"})), Err(EventError::Invalid { field, .. }) if field == "investigationId")
        );
        assert!(matches!(
            parse(&json!({"detectorId": DET, "investigationId": INV, "incidentRecordArn": "incident-1"})),
            Err(EventError::Invalid { field, .. }) if field == "incidentRecordArn"
        ));
        assert!(matches!(parse(&json!({"detectorId": DET, "investigationId": INV, "findingIds": "f"})), Err(EventError::Invalid { .. })));
        // Anything but a real finding id would match incidents by accident.
        for bad in [json!(" "), json!("1"), json!(7), json!("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d"), json!("zab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1")] {
            let e = parse(&json!({"detectorId": DET, "investigationId": INV, "findingIds": [bad.clone()]}));
            assert!(matches!(e, Err(EventError::Invalid { ref field, .. }) if field == "findingIds"), "{bad}: {e:?}");
            let e = parse(&json!({"detectorId": DET, "investigationId": INV, "findingId": bad.clone()}));
            assert!(matches!(e, Err(EventError::Invalid { ref field, .. }) if field == "findingId"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn an_envelope_without_detail_type_is_malformed() {
        let mut e = envelope(json!({"detectorId": DET, "investigationId": INV}));
        e.as_object_mut().map(|o| o.remove("detail-type"));
        assert!(matches!(parse(&e), Err(EventError::Envelope(_))));
    }

    fn sample(name: &str) -> Value {
        let path = format!("{}/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("sample event")).expect("json")
    }

    #[test]
    fn the_unattended_triggers_are_recognised() {
        assert_eq!(parse(&sample("scheduled-sweep")), Ok(Trigger::Sweep));
        let Ok(Trigger::CaseClosed { case_id, event_time_ms }) = parse(&sample("case-closed")) else { panic!("case closed") };
        assert_eq!(case_id, "1234567890");
        assert!(event_time_ms > 1_700_000_000_000, "{event_time_ms}");
        let Ok(Trigger::Investigation(r)) = parse(&sample("cloudtrail-create-investigation")) else { panic!("cloudtrail") };
        assert_eq!((r.detector_id.as_str(), r.investigation_id.as_str()), (DET, "c0ffee00-0000-4000-8000-000000000004"));
        assert_eq!(
            parse(&sample("cloudtrail-create-investigation-failed")),
            Ok(Trigger::FailedCreateInvestigation { error_code: "AccessDeniedException".into() })
        );
        let Ok(Trigger::Finding(f)) = parse(&sample("guardduty-finding")) else { panic!("finding") };
        assert_eq!(f.id, "5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1");
        assert_eq!(f.finding_type, "UnauthorizedAccess:EC2/SSHBruteForce");
        assert_eq!((f.account.as_str(), f.region.as_str(), f.detector_id.as_str()), ("123456789012", "us-east-1", DET));
        assert_eq!(f.severity, 8.0);
    }

    #[test]
    fn incomplete_unattended_triggers_name_what_is_missing() {
        let mut f = sample("guardduty-finding");
        f["detail"].as_object_mut().map(|o| o.remove("severity"));
        assert_eq!(parse(&f), Err(EventError::Missing { field: "detail.severity".into() }));
        let mut f = sample("guardduty-finding");
        f["detail"]["service"] = json!({});
        assert_eq!(parse(&f), Err(EventError::Missing { field: "detail.service.detectorId".into() }));
        let mut c = sample("case-closed");
        c["detail"] = json!({});
        assert_eq!(parse(&c), Err(EventError::Missing { field: "detail.caseId".into() }));
        let mut t = sample("cloudtrail-create-investigation");
        t["detail"]["responseElements"] = Value::Null;
        assert!(matches!(parse(&t), Err(EventError::Missing { field }) if field.ends_with("investigationId")));
    }

    #[test]
    fn other_eventbridge_events_are_unsupported_by_name() {
        let mut e = envelope(json!({"caseId": "1234567890"}));
        e["detail-type"] = json!("Something Else");
        assert!(matches!(parse(&e), Err(EventError::Unsupported { detail_type, .. }) if detail_type == "Something Else"));
    }

    #[test]
    fn ids_are_lower_cased_so_one_investigation_has_one_spelling() {
        let upper = parse(&json!({"detectorId": DET.to_uppercase(), "investigationId": INV.to_uppercase()})).expect("valid");
        assert_eq!(upper, parse(&json!({"detectorId": DET, "investigationId": INV})).expect("valid"));
    }

    #[test]
    fn only_eventbridge_s_schedule_runs_the_sweep() {
        let mut forged = sample("scheduled-sweep");
        forged["source"] = json!("attacker.pipeline");
        assert!(matches!(parse(&forged), Err(EventError::Unsupported { .. })), "judged by its detail, never a sweep");
        forged["detail"] = json!({"detectorId": DET, "investigationId": INV});
        assert!(matches!(parse(&forged), Ok(Trigger::Investigation(_))));
        // EventBridge Scheduler delivers its target's input, not a Scheduled Event envelope
        // (its event reference lists only CloudTrail records): such an envelope is no sweep.
        let mut scheduler = sample("scheduled-sweep");
        scheduler["source"] = json!("aws.scheduler");
        assert!(matches!(parse(&scheduler), Err(EventError::Unsupported { .. })));
    }

    #[test]
    fn a_create_investigation_record_counts_only_from_guardduty_s_event_source() {
        let mut other = sample("cloudtrail-create-investigation");
        other["detail"]["eventSource"] = json!("securityir.amazonaws.com");
        assert!(
            !matches!(parse(&other), Ok(Trigger::Investigation(_)) | Ok(Trigger::FailedCreateInvestigation { .. })),
            "{:?}",
            parse(&other)
        );
    }

    #[test]
    fn a_sample_finding_is_known_by_either_spelling_of_its_flag() {
        let Ok(Trigger::Finding(f)) = parse(&sample("guardduty-finding-sample")) else { panic!("a finding") };
        assert!(f.sample, "additionalInfo.value holds {{\"sample\":true}} as GuardDuty's API documents it");
        let mut flat = sample("guardduty-finding");
        flat["detail"]["service"]["additionalInfo"] = json!({"sample": true});
        assert!(matches!(parse(&flat), Ok(Trigger::Finding(Finding { sample: true, .. }))));
        for not in [json!({"value": "{\"sample\":false}", "type": "default"}), json!({"value": "not json"}), json!({"sample": "true"})] {
            let mut real = sample("guardduty-finding");
            real["detail"]["service"]["additionalInfo"] = not.clone();
            assert!(matches!(parse(&real), Ok(Trigger::Finding(Finding { sample: false, .. }))), "{not}");
        }
    }

    #[test]
    fn sample_and_archived_findings_are_flagged_and_finding_ids_checked() {
        let mut f = sample("guardduty-finding");
        f["detail"]["service"]["additionalInfo"] = json!({"sample": true});
        assert!(matches!(parse(&f), Ok(Trigger::Finding(Finding { sample: true, archived: false, .. }))));
        let mut f = sample("guardduty-finding");
        f["detail"]["service"]["archived"] = json!(true);
        assert!(matches!(parse(&f), Ok(Trigger::Finding(Finding { archived: true, .. }))));
        let mut f = sample("guardduty-finding");
        f["detail"]["id"] = json!("not-a-finding");
        assert!(matches!(parse(&f), Err(EventError::Invalid { field, .. }) if field == "detail.id"));
        let mut f = sample("guardduty-finding");
        f["detail"]["accountId"] = json!("12345");
        assert!(matches!(parse(&f), Err(EventError::Invalid { field, .. }) if field == "detail.accountId"));
    }

    #[test]
    fn a_closed_case_needs_a_real_case_id() {
        let mut c = sample("case-closed");
        c["detail"]["caseId"] = json!("../../etc/passwd");
        assert!(matches!(parse(&c), Err(EventError::Invalid { field, .. }) if field == "detail.caseId"));
    }

    #[test]
    fn at_most_a_hundred_finding_ids_each_once() {
        let ids: Vec<String> = (0..101).map(|i| format!("{i:032x}")).collect();
        let e = parse(&json!({"detectorId": DET, "investigationId": INV, "findingIds": ids})).unwrap_err();
        assert!(e.to_string().contains("at most 100"), "{e}");
        let twice =
            json!({"detectorId": DET, "investigationId": INV, "findingId": format!("{:032X}", 7), "findingIds": [format!("{:032x}", 7)]});
        let Ok(Trigger::Investigation(r)) = parse(&twice) else { panic!("valid") };
        assert_eq!(r.finding_ids, vec![format!("{:032x}", 7)]);
    }

    #[test]
    fn a_huge_bad_value_is_quoted_short() {
        let e = parse(&json!({"detectorId": "x".repeat(1_000_000), "investigationId": INV})).unwrap_err().to_string();
        assert!(e.len() < 600, "{} characters", e.len());
        assert!(e.contains("detectorId") && e.contains("…[truncated]"), "{e}");
    }
}
