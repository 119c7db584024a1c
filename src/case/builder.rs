//! The Security IR case (docs/design.md §5): a pure function of the
//! investigation and the configuration, so one token always carries one body.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::case::description::describe;
use crate::investigation::decision::{Confidence, RiskLevel};
use crate::investigation::Investigation;
use crate::ledger::token::Scope;
use crate::runtime::config::{Config, Watcher};
use crate::text::{fit_title, fit_value, truncate};

/// `CreateCase` title limit, in characters.
pub const TITLE_MAX: usize = 300;
/// Tag naming the investigation on the case.
pub const TAG_INVESTIGATION: &str = "guardduty:investigation-id";
/// Tag naming the detector on the case.
pub const TAG_DETECTOR: &str = "guardduty:detector-id";
/// Tag marking cases this product opened.
pub const TAG_CREATED_BY: &str = "created-by";
/// The value of [`TAG_CREATED_BY`].
pub const CREATED_BY: &str = "investigation-escalator";

/// A `CreateCase` request as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRequest {
    /// The idempotency token.
    pub client_token: String,
    /// Case title.
    pub title: String,
    /// Case description.
    pub description: String,
    /// `Security Incident` or `Investigation`.
    pub engagement_type: String,
    /// `Self` or `AWS`.
    pub resolver_type: String,
    /// The investigation's start, in milliseconds since the epoch.
    pub reported_incident_start_ms: i64,
    /// 12-digit account ids.
    pub impacted_accounts: Vec<String>,
    /// Regions Security IR accepts.
    pub impacted_regions: Vec<String>,
    /// AWS services of the affected resources, as Security IR names them.
    pub impacted_services: Vec<String>,
    /// Watchers from the configuration.
    pub watchers: Vec<Watcher>,
    /// Tags; a sorted map so the body is the same on every delivery.
    pub tags: BTreeMap<String, String>,
}

/// Why a case cannot be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CaseError {
    /// A completed investigation with neither start nor end time.
    #[error("investigation {0} has no startTime or endTime, and a case needs the incident's start date")]
    NoStartTime(String),
}

/// What the case builder had to leave out (for the logs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Omissions {
    /// Account values that are not 1-12 digits.
    pub accounts: Vec<String>,
    /// A region Security IR does not accept.
    pub region: Option<String>,
    /// Resource types with no Security IR service to name.
    pub resource_types: Vec<String>,
}

/// Security IR allows at most this many impacted accounts.
const ACCOUNTS_MAX: usize = 200;

/// Builds the case for an investigation that passed the gates.
///
/// `accepted_regions` is the list Security IR's `AwsRegion` enum allows (from the SDK).
pub fn build_case(
    inv: &Investigation,
    risk: RiskLevel,
    confidence: Confidence,
    config: &Config,
    home_region: &str,
    accepted_regions: &[&str],
) -> Result<(CaseRequest, Omissions), CaseError> {
    let start = inv.reference_time_ms().ok_or_else(|| CaseError::NoStartTime(inv.id.clone()))?;
    let mut omissions = Omissions::default();
    let impacted_accounts = impacted_accounts(inv, &mut omissions.accounts);
    let impacted_services = impacted_services(inv, &mut omissions.resource_types);
    let impacted_regions = match inv.region.as_deref() {
        Some(r) if accepted_regions.contains(&r) => vec![r.to_string()],
        Some(r) => {
            omissions.region = Some(r.to_string());
            vec![]
        }
        None => vec![],
    };
    let scope = Scope { region: home_region, detector_id: &inv.detector_id, investigation_id: &inv.id };
    let mut tags = BTreeMap::new();
    tags.insert(TAG_INVESTIGATION.to_string(), inv.id.clone());
    tags.insert(TAG_DETECTOR.to_string(), truncate(&inv.detector_id, 256).into_owned());
    tags.insert(TAG_CREATED_BY.to_string(), CREATED_BY.to_string());
    let request = CaseRequest {
        client_token: scope.create_case(),
        title: fit_title(&format!("[{risk}] GuardDuty investigation {}: {}", inv.id, fit_value(headline(inv), TITLE_MAX)), TITLE_MAX),
        description: describe(inv, risk, confidence, home_region),
        engagement_type: config.engagement_type.clone(),
        resolver_type: config.resolver_type.clone(),
        reported_incident_start_ms: start,
        impacted_accounts,
        impacted_regions,
        impacted_services,
        watchers: config.watchers.clone(),
        tags,
    };
    Ok((request, omissions))
}

/// Whether a case title is the one this product gives `investigation_id`'s case:
/// `[risk] GuardDuty investigation {id}: …`. Only the fixed front counts, since
/// the headline after it is GuardDuty's text, which another investigation's
/// attacker can steer to name this id.
pub fn is_title_of(title: &str, investigation_id: &str) -> bool {
    let Some((risk, rest)) = title.strip_prefix('[').and_then(|t| t.split_once("] ")) else {
        return false;
    };
    let named = rest.strip_prefix("GuardDuty investigation ").and_then(|r| r.strip_prefix(investigation_id));
    !risk.contains(']') && named.is_some_and(|r| r.starts_with(':'))
}

/// The headline: the key observations' title, else the first line of the risk text.
fn headline(inv: &Investigation) -> &str {
    let observed = inv.summary_data.as_ref().and_then(|d| d.key_observations.as_ref()).and_then(|k| k.title.as_deref());
    [observed, inv.risk.as_deref().map(first_line)]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|h| !h.is_empty())
        .unwrap_or("GuardDuty investigation")
}

/// The union of the investigation's account, the scope's and the organization's
/// breakdown: each 1-12 digits padded to 12, others left out; ascending, at most 200.
fn impacted_accounts(inv: &Investigation, left_out: &mut Vec<String>) -> Vec<String> {
    let breakdown = inv.summary_data.as_ref().and_then(|d| d.organization_analysis.as_ref()).map(|o| o.account_breakdown.as_slice());
    let candidates = [inv.account.as_deref(), inv.scope.account_id.as_deref()]
        .into_iter()
        .flatten()
        .chain(breakdown.unwrap_or_default().iter().filter_map(|a| a.account_id.as_deref()));
    let mut accounts = BTreeSet::new();
    for raw in candidates {
        match pad_account(raw) {
            Some(account) => {
                accounts.insert(account);
            }
            None => left_out.push(raw.to_string()),
        }
    }
    accounts.into_iter().take(ACCOUNTS_MAX).collect()
}

/// The AWS services of the affected resources (the account analysis's and the
/// countermeasures'), named as Security IR names them; ascending, each once.
fn impacted_services(inv: &Investigation, unmapped: &mut Vec<String>) -> Vec<String> {
    let Some(data) = &inv.summary_data else { return Vec::new() };
    let analysed = data.account_analysis.iter().flat_map(|a| &a.affected_resources);
    let acted_on = data.countermeasures.iter().flat_map(|c| &c.actions).flat_map(|a| &a.affected_resources);
    let mut services = BTreeSet::new();
    for kind in analysed.chain(acted_on).filter_map(|r| r.resource_type.as_deref()) {
        match service_of(kind) {
            Some(service) => {
                services.insert(service.to_string());
            }
            None if !unmapped.iter().any(|u| u == kind) => unmapped.push(kind.to_string()),
            None => {}
        }
    }
    services.into_iter().collect()
}

/// The Security IR service name of a GuardDuty resource type.
pub fn service_of(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "EC2_INSTANCE" | "EC2_SECURITY_GROUP" => "Amazon EC2",
        "EBS_VOLUME" => "Amazon EBS",
        "S3_BUCKET" => "Amazon S3",
        "IAM_ROLE" | "IAM_USER" | "IAM_ACCESS_KEY" => "AWS IAM",
        "LAMBDA_FUNCTION" => "AWS Lambda",
        "EKS_CLUSTER" | "KUBERNETES_WORKLOAD" => "Amazon EKS",
        "ECS_CLUSTER" => "Amazon ECS",
        "RDS_INSTANCE" | "RDS_DB_USER" => "Amazon RDS",
        _ => return None,
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// Left-pads a numeric account id to 12 digits; `None` for anything else.
pub fn pad_account(account: &str) -> Option<String> {
    let a = account.trim();
    (!a.is_empty() && a.len() <= 12 && a.bytes().all(|b| b.is_ascii_digit())).then(|| format!("{a:0>12}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::description::DESCRIPTION_MAX;
    use crate::investigation::structured::{
        AccountAnalysis, AccountSummary, AffectedResource, Countermeasure, CountermeasureAction, KeyObservations, OrganizationAnalysis,
        SummaryData,
    };
    use crate::investigation::tests::sample;

    const REGIONS: &[&str] = &["us-east-1", "eu-west-1"];

    fn config() -> Config {
        Config::from_lookup(|k| (k == "CASE_WATCHERS").then(|| "Jane <jane@example.com>".to_string())).expect("valid")
    }

    fn build(inv: &Investigation) -> (CaseRequest, Omissions) {
        build_case(inv, RiskLevel::Critical, Confidence::High, &config(), "us-east-1", REGIONS).expect("buildable")
    }

    #[test]
    fn the_case_carries_the_investigation() {
        let (case, omissions) = build(&sample());
        assert_eq!(omissions, Omissions::default());
        assert_eq!(
            case.title,
            "[Critical] GuardDuty investigation c0ffee00-0000-4000-8000-000000000001: Credential theft from a production bastion."
        );
        assert_eq!(case.impacted_accounts, vec!["123456789012"]);
        assert_eq!(case.impacted_regions, vec!["us-east-1"]);
        assert_eq!(case.reported_incident_start_ms, 1_795_165_800_000);
        assert_eq!(case.engagement_type, "Security Incident");
        assert_eq!(case.resolver_type, "Self");
        assert_eq!(case.watchers.len(), 1);
        assert_eq!(case.tags[TAG_INVESTIGATION], "c0ffee00-0000-4000-8000-000000000001");
        assert_eq!(case.tags[TAG_DETECTOR], "12abc34d567e8fa901bc2d34e56789f0");
        for needle in
            ["Critical", "confidence High", "Credential theft", "brute-forced SSH", "12abc34d567e8fa901bc2d34e56789f0", "guardduty/home"]
        {
            assert!(case.description.contains(needle), "description lacks {needle}: {}", case.description);
        }
    }

    #[test]
    fn the_body_is_the_same_on_every_build() {
        let inv = sample();
        assert_eq!(build(&inv), build(&inv));
        let mut other = sample();
        other.id = "c0ffee00-0000-4000-8000-000000000002".into();
        assert_ne!(build(&inv).0.client_token, build(&other).0.client_token);
    }

    #[test]
    fn short_accounts_are_padded_and_non_digits_dropped() {
        let mut inv = sample();
        inv.account = Some("123456789".into());
        assert_eq!(build(&inv).0.impacted_accounts, vec!["000123456789"]);
        inv.account = Some("12345678901a".into());
        let (case, omissions) = build(&inv);
        assert!(case.impacted_accounts.is_empty());
        assert_eq!(omissions.accounts, vec!["12345678901a".to_string()]);
        inv.account = Some("1234567890123".into());
        assert!(build(&inv).0.impacted_accounts.is_empty());
        assert_eq!(pad_account(""), None);
        assert_eq!(pad_account("-12"), None);
        assert_eq!(pad_account("000000000001"), Some("000000000001".into()));
    }

    #[test]
    fn unknown_regions_are_dropped() {
        let mut inv = sample();
        inv.region = Some("mars-north-1".into());
        let (case, omissions) = build(&inv);
        assert!(case.impacted_regions.is_empty());
        assert_eq!(omissions.region.as_deref(), Some("mars-north-1"));
    }

    #[test]
    fn limits_are_kept_by_cutting_on_characters() {
        let mut inv = sample();
        inv.risk = Some("危".repeat(1024));
        inv.summary = Some("🔥".repeat(262_144));
        let (case, _) = build(&inv);
        assert_eq!(case.title.chars().count(), TITLE_MAX);
        assert!(case.title.ends_with(crate::text::MARKER));
        assert!(case.description.chars().count() <= DESCRIPTION_MAX);
        // The facts survive the cut: ids and the console link come first.
        assert!(case.description.contains("Detector: 12abc34d567e8fa901bc2d34e56789f0"));
        assert!(case.description.contains("Console: https://"));
        assert!(case.description.contains(crate::text::MARKER));
    }

    #[test]
    fn text_from_the_investigation_is_cleaned_before_anyone_reads_it() {
        let mut inv = sample();
        inv.risk = Some("Root\u{202E}txt.exe\u{200B} keys leaked\r\nsecond line".into());
        inv.summary = Some("Step 1\u{0007}\r\n\tStep 2\u{2066}\u{2028}done\u{001B}[2J".into());
        let (case, _) = build(&inv);
        assert!(case.title.ends_with(": Roottxt.exe keys leaked"), "{}", case.title);
        // Quoted line by line: the service's prose can never pass for the product's lines.
        assert!(case.description.contains("Risk:\n> Roottxt.exe keys leaked\n> second line"), "{}", case.description);
        assert!(case.description.contains("> Step 1\n> \tStep 2done[2J"), "{}", case.description);
        for hidden in ['\u{202E}', '\u{200B}', '\u{0007}', '\r', '\u{2066}', '\u{2028}', '\u{001B}'] {
            assert!(!case.title.contains(hidden) && !case.description.contains(hidden), "{hidden:?}");
        }
    }

    #[test]
    fn start_falls_back_to_end_and_neither_is_an_error() {
        let mut inv = sample();
        inv.start_ms = None;
        assert_eq!(build(&inv).0.reported_incident_start_ms, 1_795_166_220_000);
        inv.end_ms = None;
        assert_eq!(
            build_case(&inv, RiskLevel::High, Confidence::High, &config(), "us-east-1", REGIONS),
            Err(CaseError::NoStartTime(inv.id.clone()))
        );
    }

    #[test]
    fn missing_texts_still_make_a_case() {
        let mut inv = sample();
        inv.risk = None;
        inv.summary = None;
        inv.account = None;
        let (case, _) = build(&inv);
        assert!(case.title.ends_with(": GuardDuty investigation"));
        assert!(case.description.contains("(none given)"));
        assert!(case.impacted_accounts.is_empty());
    }

    fn resource(kind: &str) -> AffectedResource {
        AffectedResource { resource_type: Some(kind.into()), identifier: Some("r".into()), ..AffectedResource::default() }
    }

    #[test]
    fn only_the_titles_fixed_front_names_the_investigation() {
        let id = "c0ffee00-0000-4000-8000-000000000001";
        assert!(is_title_of(&format!("[Critical] GuardDuty investigation {id}: anything"), id));
        assert!(is_title_of(&format!("[Low] GuardDuty investigation {id}:"), id));
        // Named only in the headline, by a longer id, or by hand: not ours.
        assert!(!is_title_of(&format!("[High] GuardDuty investigation 1111: see GuardDuty investigation {id}: x"), id));
        assert!(!is_title_of(&format!("[High] GuardDuty investigation {id}0: x"), id));
        assert!(!is_title_of(&format!("GuardDuty investigation {id}: x"), id));
        assert!(!is_title_of(&format!("[a] b] GuardDuty investigation {id}: x"), id));
        assert!(!is_title_of("", id));
        // What the builder writes passes, whatever the headline holds.
        let mut inv = sample();
        inv.risk = Some(format!("] GuardDuty investigation {id}: spoof"));
        let title = build(&inv).0.title;
        assert!(is_title_of(&title, &inv.id) && !is_title_of(&title, "other"), "{title}");
    }

    #[test]
    fn the_headline_comes_from_the_key_observations_else_the_risk() {
        let mut inv = sample();
        assert!(build(&inv).0.title.ends_with(": Credential theft from a production bastion."));
        inv.summary_data = Some(SummaryData {
            key_observations: Some(KeyObservations {
                title: Some("Bastion credentials stolen\nover SSH".into()),
                ..KeyObservations::default()
            }),
            ..SummaryData::default()
        });
        assert_eq!(
            build(&inv).0.title,
            "[Critical] GuardDuty investigation c0ffee00-0000-4000-8000-000000000001: Bastion credentials stolen over SSH"
        );
    }

    #[test]
    fn an_organization_investigation_names_every_account_once_in_order() {
        let mut inv = sample();
        inv.scope.account_id = Some("210987654321".into());
        let mut breakdown: Vec<AccountSummary> =
            (0..20).map(|i| AccountSummary { account_id: Some(format!("{:012}", 900 - i)), finding_count: Some(1) }).collect();
        breakdown.push(AccountSummary { account_id: Some("not-an-account".into()), finding_count: None });
        breakdown.push(AccountSummary { account_id: Some("123456789012".into()), finding_count: None });
        inv.summary_data = Some(SummaryData {
            organization_analysis: Some(OrganizationAnalysis { account_breakdown: breakdown }),
            ..SummaryData::default()
        });
        let (case, omissions) = build(&inv);
        assert_eq!(case.impacted_accounts.len(), 22, "20 + the investigation's + the scope's, each once");
        assert!(case.impacted_accounts.windows(2).all(|w| w[0] < w[1]), "ascending");
        assert_eq!(case.impacted_accounts.first().map(String::as_str), Some("000000000881"));
        assert_eq!(omissions.accounts, vec!["not-an-account".to_string()]);
    }

    #[test]
    fn services_come_from_the_resource_types_mapped_and_each_once() {
        let mut inv = sample();
        let actions = vec![CountermeasureAction {
            affected_resources: vec![resource("IAM_ACCESS_KEY"), resource("S3_BUCKET")],
            ..CountermeasureAction::default()
        }];
        inv.summary_data = Some(SummaryData {
            account_analysis: Some(AccountAnalysis {
                affected_resources: vec![
                    resource("EC2_INSTANCE"),
                    resource("IAM_ROLE"),
                    resource("QUANTUM_COMPUTER"),
                    resource("KUBERNETES_WORKLOAD"),
                ],
            }),
            countermeasures: vec![Countermeasure { actions, ..Countermeasure::default() }],
            ..SummaryData::default()
        });
        let (case, omissions) = build(&inv);
        assert_eq!(case.impacted_services, vec!["AWS IAM", "Amazon EC2", "Amazon EKS", "Amazon S3"]);
        assert_eq!(omissions.resource_types, vec!["QUANTUM_COMPUTER".to_string()]);
        assert_eq!(build(&sample()).0.impacted_services, Vec::<String>::new(), "no structured data: no services");
    }

    #[test]
    fn every_mapped_service_fits_security_irs_pattern() {
        for kind in [
            "EC2_INSTANCE",
            "EC2_SECURITY_GROUP",
            "EBS_VOLUME",
            "S3_BUCKET",
            "IAM_ROLE",
            "IAM_USER",
            "IAM_ACCESS_KEY",
            "LAMBDA_FUNCTION",
            "EKS_CLUSTER",
            "KUBERNETES_WORKLOAD",
            "ECS_CLUSTER",
            "RDS_INSTANCE",
            "RDS_DB_USER",
        ] {
            let service = service_of(kind).unwrap_or_else(|| panic!("{kind} unmapped"));
            assert!(
                (2..=50).contains(&service.len()) && service.chars().all(|c| c.is_ascii_alphanumeric() || " -.():".contains(c)),
                "{service}"
            );
        }
    }
}
