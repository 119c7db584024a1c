//! What the investigation found, as GuardDuty's structured answer holds it
//! (docs/design.md §5a): the scope and `summaryData`, as plain data.
//!
//! Parsed from the wire JSON, tolerantly: every member may be absent, unknown
//! members are ignored, and enum values this build does not know are kept as
//! text. A member of the wrong shape reads as absent and a list entry of the
//! wrong shape is skipped, so one odd value never costs the rest. Nothing here
//! can fail: an answer without structured data is one whose [`SummaryData`] is
//! `None`.

use serde::Deserialize;
use serde_with::{serde_as, DefaultOnError, VecSkipError};

/// The investigation's scope: what it was about.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Scope {
    /// `FINDING`, `ACCOUNT` or `ORGANIZATION` (or a type this build does not know).
    #[serde_as(as = "DefaultOnError")]
    pub investigation_type: Option<String>,
    /// The finding investigated.
    #[serde_as(as = "DefaultOnError")]
    pub finding_id: Option<String>,
    /// The account investigated.
    #[serde_as(as = "DefaultOnError")]
    pub account_id: Option<String>,
    /// The organization's administrator account.
    #[serde_as(as = "DefaultOnError")]
    pub admin_account_id: Option<String>,
}

/// `summaryData`: the investigation's results.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SummaryData {
    /// The finding type the investigation centres on.
    #[serde_as(as = "DefaultOnError")]
    pub finding_type: Option<String>,
    /// The headline and what was observed.
    #[serde_as(as = "DefaultOnError")]
    pub key_observations: Option<KeyObservations>,
    /// How the attack progressed.
    #[serde_as(as = "DefaultOnError")]
    pub threat_assessment: Option<ThreatAssessment>,
    /// The account's affected resources.
    #[serde_as(as = "DefaultOnError")]
    pub account_analysis: Option<AccountAnalysis>,
    /// The organization's accounts involved.
    #[serde_as(as = "DefaultOnError")]
    pub organization_analysis: Option<OrganizationAnalysis>,
    /// What to do against it.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub countermeasures: Vec<Countermeasure>,
    /// What else to do.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub recommendations: Vec<Recommendation>,
}

/// The headline, the narrative and each observation.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct KeyObservations {
    /// The headline.
    #[serde_as(as = "DefaultOnError")]
    pub title: Option<String>,
    /// The story.
    #[serde_as(as = "DefaultOnError")]
    pub narrative: Option<String>,
    /// Each observation.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub observations: Vec<String>,
}

/// The attack's progression and who seems to be behind it.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThreatAssessment {
    /// Each phase, in order.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub attack_progression: Vec<AttackPhase>,
    /// The threat actor profile.
    #[serde_as(as = "DefaultOnError")]
    pub threat_actor_profile: Option<String>,
}

/// One phase of the attack (a MITRE ATT&CK tactic).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AttackPhase {
    /// The phase, e.g. `Initial Access`.
    #[serde_as(as = "DefaultOnError")]
    pub phase: Option<String>,
    /// What happened in it.
    #[serde_as(as = "DefaultOnError")]
    pub description: Option<String>,
    /// The attacks seen.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub attacks: Vec<Attack>,
}

/// One attack: a technique, and the findings behind it.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Attack {
    /// The MITRE ATT&CK tactic.
    #[serde_as(as = "DefaultOnError")]
    pub tactic: Option<ThreatReference>,
    /// The MITRE ATT&CK technique.
    #[serde_as(as = "DefaultOnError")]
    pub technique: Option<ThreatReference>,
    /// The findings that show it.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub findings: Vec<FindingReference>,
}

/// A MITRE ATT&CK reference: its name and id.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThreatReference {
    /// E.g. `Valid Accounts`.
    #[serde_as(as = "DefaultOnError")]
    pub name: Option<String>,
    /// E.g. `T1078`.
    #[serde_as(as = "DefaultOnError")]
    pub uid: Option<String>,
}

/// A finding behind an attack.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FindingReference {
    /// The finding id.
    #[serde_as(as = "DefaultOnError")]
    pub uid: Option<String>,
    /// Its type.
    #[serde_as(as = "DefaultOnError")]
    pub finding_type: Option<String>,
}

/// The account's affected resources.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AccountAnalysis {
    /// Each affected resource.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub affected_resources: Vec<AffectedResource>,
}

/// A resource an investigation or a countermeasure names.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AffectedResource {
    /// E.g. `EC2_INSTANCE`.
    #[serde(rename = "type")]
    #[serde_as(as = "DefaultOnError")]
    pub resource_type: Option<String>,
    /// Its identifier.
    #[serde_as(as = "DefaultOnError")]
    pub identifier: Option<String>,
    /// Its ARN.
    #[serde_as(as = "DefaultOnError")]
    pub arn: Option<String>,
    /// How many findings name it.
    #[serde_as(as = "DefaultOnError")]
    pub finding_count: Option<i64>,
}

/// The organization's accounts involved.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrganizationAnalysis {
    /// Each account, with its finding count.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub account_breakdown: Vec<AccountSummary>,
}

/// One account of an organization investigation.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AccountSummary {
    /// The account id.
    #[serde_as(as = "DefaultOnError")]
    pub account_id: Option<String>,
    /// How many findings it has.
    #[serde_as(as = "DefaultOnError")]
    pub finding_count: Option<i64>,
}

/// A countermeasure: a defense tactic and its actions.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Countermeasure {
    /// E.g. `Isolate`.
    #[serde_as(as = "DefaultOnError")]
    pub defense_tactic: Option<String>,
    /// What it is for.
    #[serde_as(as = "DefaultOnError")]
    pub description: Option<String>,
    /// Each action.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub actions: Vec<CountermeasureAction>,
}

/// One action of a countermeasure.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CountermeasureAction {
    /// Its title.
    #[serde_as(as = "DefaultOnError")]
    pub title: Option<String>,
    /// `IMMEDIATE`, `SHORT_TERM` or `STRATEGIC`.
    #[serde_as(as = "DefaultOnError")]
    pub priority: Option<String>,
    /// What it does.
    #[serde_as(as = "DefaultOnError")]
    pub description: Option<String>,
    /// The resources it acts on.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub affected_resources: Vec<AffectedResource>,
    /// Ready-to-run AWS CLI commands.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub cli_commands: Vec<String>,
}

/// A recommendation.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Recommendation {
    /// Its title.
    #[serde_as(as = "DefaultOnError")]
    pub title: Option<String>,
    /// `IMMEDIATE`, `SHORT_TERM` or `STRATEGIC`.
    #[serde_as(as = "DefaultOnError")]
    pub priority: Option<String>,
    /// Why.
    #[serde_as(as = "DefaultOnError")]
    pub rationale: Option<String>,
    /// Ready-to-run AWS CLI commands.
    #[serde_as(as = "DefaultOnError<VecSkipError<_>>")]
    pub cli_commands: Vec<String>,
}

/// The structured parts of a `GetInvestigation` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Structured {
    /// The scope (empty when the answer has none).
    pub scope: Scope,
    /// The results, when the answer carries them.
    pub summary_data: Option<SummaryData>,
}

/// Reads the structured parts of a `GetInvestigation` answer body. A member of
/// the wrong shape is dropped on its own, never failing the rest.
pub fn parse_answer(body: &[u8]) -> Structured {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Structured::default();
    };
    let investigation = &answer["investigation"];
    Structured {
        scope: serde_json::from_value(investigation["scope"].clone()).unwrap_or_default(),
        summary_data: investigation.get("summaryData").and_then(|v| serde_json::from_value(v.clone()).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_answer_reads_back() {
        let body = serde_json::json!({"investigation": {
            "investigationId": "i",
            "scope": {"investigationType": "FINDING", "findingId": "5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1", "accountId": "123456789012"},
            "summaryData": {
                "keyObservations": {"title": "Credential theft", "narrative": "n", "observations": ["o1", "o2"]},
                "threatAssessment": {"attackProgression": [{"phase": "Initial Access", "attacks": [
                    {"technique": {"name": "Valid Accounts", "uid": "T1078"}, "findings": [{"uid": "7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"}]}
                ]}], "threatActorProfile": "opportunistic"},
                "accountAnalysis": {"affectedResources": [{"type": "EC2_INSTANCE", "identifier": "i-0abc", "findingCount": 3}]},
                "recommendations": [{"title": "Rotate", "priority": "IMMEDIATE", "cliCommands": ["aws iam update-access-key"]}]
            }
        }});
        let s = parse_answer(body.to_string().as_bytes());
        assert_eq!(s.scope.finding_id.as_deref(), Some("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1"));
        let data = s.summary_data.expect("summary data");
        assert_eq!(data.key_observations.and_then(|k| k.title).as_deref(), Some("Credential theft"));
        let phase = &data.threat_assessment.expect("assessment").attack_progression[0];
        assert_eq!(phase.attacks[0].technique.as_ref().and_then(|t| t.uid.as_deref()), Some("T1078"));
        assert_eq!(data.account_analysis.expect("analysis").affected_resources[0].resource_type.as_deref(), Some("EC2_INSTANCE"));
        assert_eq!(data.recommendations[0].cli_commands, vec!["aws iam update-access-key"]);
    }

    #[test]
    fn unknown_members_and_values_are_kept_or_ignored_never_an_error() {
        let body = br#"{"investigation": {"scope": {"investigationType": "GALAXY", "future": 1},
            "summaryData": {"keyObservations": {"title": "t", "mood": "grim"}, "recommendations": [{"priority": "WHENEVER"}]}}}"#;
        let s = parse_answer(body);
        assert_eq!(s.scope.investigation_type.as_deref(), Some("GALAXY"));
        let data = s.summary_data.expect("summary data");
        assert_eq!(data.recommendations[0].priority.as_deref(), Some("WHENEVER"));
    }

    #[test]
    fn absent_or_broken_structure_is_simply_absent() {
        assert_eq!(parse_answer(b"not json"), Structured::default());
        assert_eq!(parse_answer(br#"{"investigation": {"summary": "plain"}}"#), Structured::default());
        // A member of the wrong shape: that member is dropped, not the answer.
        let s = parse_answer(br#"{"investigation": {"scope": 7, "summaryData": "lots"}}"#);
        assert_eq!(s.scope, Scope::default());
        assert_eq!(s.summary_data, None, "summaryData of the wrong shape reads as absent");
    }

    #[test]
    fn a_member_or_entry_of_the_wrong_shape_costs_only_itself() {
        let body = br#"{"investigation": {"scope": {"findingId": 7, "accountId": "123456789012"},
            "summaryData": {"countermeasures": "lots", "keyObservations": {"title": "Kept", "observations": ["one", 2, "three"]},
                "accountAnalysis": {"affectedResources": [{"type": "EC2_INSTANCE", "findingCount": "many"}, 5]}}}}"#;
        let s = parse_answer(body);
        assert_eq!((s.scope.finding_id, s.scope.account_id.as_deref()), (None, Some("123456789012")));
        let data = s.summary_data.expect("the rest of summaryData is kept");
        assert!(data.countermeasures.is_empty());
        let key = data.key_observations.expect("key observations");
        assert_eq!((key.title.as_deref(), key.observations), (Some("Kept"), vec!["one".to_string(), "three".to_string()]));
        let resources = data.account_analysis.expect("analysis").affected_resources;
        assert_eq!(resources.len(), 1, "the entry that is not an object is skipped");
        assert_eq!((resources[0].resource_type.as_deref(), resources[0].finding_count), (Some("EC2_INSTANCE"), None));
    }
}
