//! The EventBridge events of keeping a case and its incidents in step, as AWS
//! documents them: Security IR's `Case Updated` and `Case Comment Added` (their
//! detail is the case id and the actor: the account id, `AWS Responder` or
//! `security-ir.amazonaws.com`, Security IR user guide, "Case events" and
//! "Case comment events"), and CloudTrail's record of Incident Manager's
//! `UpdateIncidentRecord` (`source` `aws.ssm-incidents`, `detail-type`
//! `AWS API Call via CloudTrail`; the record's fields as the Incident Manager
//! user guide's CloudTrail sample shows them for `StartIncident`). The tests,
//! the benchmark and the local run deliver them; `events/` holds one of each.

use serde_json::{json, Value};

/// A Security IR case event (`Case Updated`, `Case Comment Added`, `Case Closed`)
/// of `case_id`, by `actor` (`None` for `Case Closed`, which names none).
pub fn case_event(detail_type: &str, case_id: &str, actor: Option<&str>, account: &str, region: &str, time: &str) -> Value {
    let mut detail = json!({ "caseId": case_id });
    match detail_type {
        "Case Updated" | "Case Comment Updated" => detail["updatedBy"] = json!(actor),
        "Case Created" | "Case Comment Added" => detail["createdBy"] = json!(actor),
        _ => {}
    }
    json!({
        "version": "0",
        "id": uuid_like(&format!("{detail_type}/{case_id}/{time}")),
        "detail-type": detail_type,
        "source": "aws.security-ir",
        "account": account,
        "time": time,
        "region": region,
        "resources": [format!("arn:aws:security-ir:{region}:{account}:case/{case_id}")],
        "detail": detail,
    })
}

/// CloudTrail's record of an `UpdateIncidentRecord` setting `status` on `arn`,
/// made by the role session `session_arn` (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
pub fn update_incident_record(arn: &str, status: &str, session_arn: &str, account: &str, region: &str, time: &str) -> Value {
    let role = session_arn
        .strip_prefix(&format!("arn:aws:sts::{account}:assumed-role/"))
        .and_then(|rest| rest.split('/').next())
        .map(|name| format!("arn:aws:iam::{account}:role/{name}"))
        .unwrap_or_default();
    json!({
        "version": "0",
        "id": uuid_like(&format!("UpdateIncidentRecord/{arn}/{status}/{time}")),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ssm-incidents",
        "account": account,
        "time": time,
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLEROLEID:session",
                "arn": session_arn,
                "accountId": account,
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID", "arn": role, "accountId": account}},
            },
            "eventTime": time,
            "eventSource": "ssm-incidents.amazonaws.com",
            "eventName": "UpdateIncidentRecord",
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.10",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"arn": arn, "status": status},
            "responseElements": null,
            "requestID": uuid_like(&format!("request/{arn}/{time}")),
            "eventID": uuid_like(&format!("event/{arn}/{time}")),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "eventCategory": "Management",
            "recipientAccountId": account,
        },
    })
}

/// A UUID-shaped id derived from `seed` (stable, so a redelivery is the same event).
fn uuid_like(seed: &str) -> String {
    // FNV-1a, twice with different offsets: no cryptography needed for an event id.
    let hash = |offset: u64| seed.bytes().fold(offset, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let (a, b) = (hash(0xcbf2_9ce4_8422_2325), hash(0x8422_2325_cbf2_9ce4));
    format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 52, b & 0xffff_ffff_ffff)
}
