//! The Service Authorization Reference's facts about each action, as
//! `models/extract_iam.py` extracted them into `models/iam.json`: the resource
//! types an action is authorized against, their ARN formats, and the condition
//! keys each adds to the request context. Never written by hand here.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Every fact the simulation authorizes by.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Where the facts came from.
    pub source: String,
    /// By service prefix (`guardduty`, `security-ir`, …).
    pub services: BTreeMap<String, ServiceFacts>,
    /// Operations that IAM authorizes as more than their own action, by `prefix:Action`.
    #[serde(default)]
    pub operation_actions: BTreeMap<String, AlsoAuthorized>,
}

/// One service's actions and resource types.
#[derive(Debug, Deserialize)]
pub struct ServiceFacts {
    /// The reference page.
    pub reference: String,
    /// Resource types by name (`case`, `incident-record`, …).
    pub resources: BTreeMap<String, ResourceFacts>,
    /// Actions by name (`CreateCase`, …).
    pub actions: BTreeMap<String, ActionFacts>,
}

/// A resource type: its ARN format and the condition keys it adds.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFacts {
    /// E.g. `arn:${Partition}:security-ir:${Region}:${Account}:case/${CaseId}`.
    pub arn: String,
    /// E.g. `aws:ResourceTag/${TagKey}`.
    pub condition_keys: Vec<String>,
}

/// One action's row of the reference.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionFacts {
    /// Read, Write, List, Tagging, Permissions management.
    pub access_level: String,
    /// The rows of the action: a resource type (empty: none), whether it is
    /// required (`*` in the reference), and the condition keys of the row.
    pub resource_types: Vec<ResourceTypeRow>,
}

/// One resource-type row of an action.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTypeRow {
    /// The resource type, or "" for the row of action-wide condition keys.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Marked `*` in the reference.
    pub required: bool,
    /// Condition keys the row adds.
    pub condition_keys: Vec<String>,
    /// Further actions IAM checks.
    pub dependent_actions: Vec<String>,
}

/// An operation that IAM also authorizes as other actions when a member is present.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlsoAuthorized {
    /// The request member that brings the other actions in (e.g. `tags`).
    pub when_member: String,
    /// The other actions, as `prefix:Action`.
    pub also_authorized_as: Vec<String>,
}

impl Facts {
    /// The committed facts. Fails only if the committed file is broken.
    pub fn load() -> Result<Facts, String> {
        serde_json::from_str(include_str!("../../models/iam.json")).map_err(|e| format!("models/iam.json: {e}"))
    }

    /// The row of `prefix:Action`, if the reference has that action.
    pub fn action(&self, action: &str) -> Option<(&ServiceFacts, &ActionFacts)> {
        let (prefix, name) = action.split_once(':')?;
        let service = self.services.get(prefix)?;
        // Action names are case-insensitive in IAM.
        let facts = service.actions.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, a)| a)?;
        Some((service, facts))
    }
}

impl ActionFacts {
    /// The resource types the action is authorized against (the rows with a type).
    pub fn typed_rows(&self) -> impl Iterator<Item = &ResourceTypeRow> {
        self.resource_types.iter().filter(|r| !r.resource_type.is_empty())
    }

    /// Every condition key of the action's rows.
    pub fn condition_keys(&self) -> impl Iterator<Item = &str> {
        self.resource_types.iter().flat_map(|r| r.condition_keys.iter().map(String::as_str))
    }
}

/// Splits an ARN format into its literal text and `${Placeholder}` names, and
/// reads an ARN against it: the placeholder values, or `None` when it does not fit.
pub fn read_arn(format: &str, arn: &str) -> Option<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    let mut rest = arn;
    let mut fmt = format;
    while !fmt.is_empty() {
        match fmt.find("${") {
            Some(0) => {
                let end = fmt.find('}')?;
                let name = &fmt[2..end];
                fmt = &fmt[end + 1..];
                // A placeholder runs to the next literal text of the format (or the end).
                let next_literal = fmt.find("${").map_or(fmt, |i| &fmt[..i]);
                let len = if next_literal.is_empty() {
                    rest.len()
                } else if fmt.len() == next_literal.len() {
                    // The last literal: it ends the ARN.
                    rest.len().checked_sub(next_literal.len()).filter(|&i| rest[i..] == *next_literal)?
                } else {
                    rest.find(next_literal)?
                };
                values.insert(name.to_string(), rest[..len].to_string());
                rest = &rest[len..];
            }
            Some(i) => {
                rest = rest.strip_prefix(&fmt[..i])?;
                fmt = &fmt[i..];
            }
            None => {
                rest = rest.strip_prefix(fmt)?;
                fmt = "";
            }
        }
    }
    rest.is_empty().then_some(values)
}

/// Writes an ARN from a format and placeholder values; `None` when one is unknown.
pub fn write_arn(format: &str, values: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut fmt = format;
    while let Some(i) = fmt.find("${") {
        out.push_str(&fmt[..i]);
        let end = fmt[i..].find('}')? + i;
        out.push_str(values.get(&fmt[i + 2..end])?);
        fmt = &fmt[end + 1..];
    }
    out.push_str(fmt);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = "arn:${Partition}:ssm-incidents::${Account}:incident-record/${ResponsePlan}/${IncidentRecord}";

    #[test]
    fn an_arn_is_read_against_its_format_and_written_back() {
        let arn = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/1f2e";
        let values = read_arn(RECORD, arn).expect("fits");
        assert_eq!(values["Partition"], "aws");
        assert_eq!(values["Account"], "123456789012");
        assert_eq!(values["ResponsePlan"], "SecurityResponse");
        assert_eq!(values["IncidentRecord"], "1f2e");
        assert_eq!(write_arn(RECORD, &values).as_deref(), Some(arn));
        let plan = write_arn("arn:${Partition}:ssm-incidents::${Account}:response-plan/${ResponsePlan}", &values);
        assert_eq!(plan.as_deref(), Some("arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse"));
    }

    #[test]
    fn an_arn_of_another_shape_does_not_fit() {
        assert!(read_arn(RECORD, "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse").is_none());
        assert!(read_arn(RECORD, "arn:aws:ssm-incidents:us-east-1:123456789012:incident-record/a/b").is_none());
        assert!(write_arn(RECORD, &BTreeMap::new()).is_none());
    }

    #[test]
    fn the_committed_facts_load_and_name_the_product_s_actions() {
        let facts = Facts::load().expect("models/iam.json loads");
        for action in ["guardduty:GetInvestigation", "security-ir:CreateCase", "ssm-incidents:UpdateRelatedItems", "dynamodb:UpdateItem"] {
            assert!(facts.action(action).is_some(), "{action}");
        }
        assert!(facts.action("guardduty:GetInvestigations").is_none());
        let (_, get) = facts.action("guardduty:getinvestigation").expect("case-insensitive");
        assert_eq!(get.typed_rows().count(), 0, "GetInvestigation has no resource types");
    }
}
