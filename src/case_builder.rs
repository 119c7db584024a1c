//! The Security IR case (docs/design.md §5): a pure function of the
//! investigation and the configuration, so one token always carries one body.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::config::{Config, Watcher};
use crate::console;
use crate::decision::{Confidence, RiskLevel};
use crate::investigation::Investigation;
use crate::text::{fit_body, fit_title, truncate};
use crate::token::Scope;

/// `CreateCase` title limit, in characters.
pub const TITLE_MAX: usize = 300;
/// `CreateCase` description limit, in characters.
pub const DESCRIPTION_MAX: usize = 8000;
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

/// What the case builder reports about data it had to leave out (for the logs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Omissions {
    /// An account that is not 1-12 digits.
    pub account: Option<String>,
    /// A region Security IR does not accept.
    pub region: Option<String>,
}

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
    let impacted_accounts = match inv.account.as_deref().map(pad_account) {
        Some(Some(account)) => vec![account],
        Some(None) => {
            omissions.account = inv.account.clone();
            vec![]
        }
        None => vec![],
    };
    let impacted_regions = match inv.region.as_deref() {
        Some(r) if accepted_regions.contains(&r) => vec![r.to_string()],
        Some(r) => {
            omissions.region = Some(r.to_string());
            vec![]
        }
        None => vec![],
    };
    let scope = Scope { region: home_region, detector_id: &inv.detector_id, investigation_id: &inv.id };
    let headline = inv.risk.as_deref().map(first_line).filter(|s| !s.is_empty()).unwrap_or("GuardDuty investigation");
    let title = format!("[{risk}] GuardDuty investigation {}: {headline}", inv.id);
    let mut tags = BTreeMap::new();
    tags.insert(TAG_INVESTIGATION.to_string(), inv.id.clone());
    tags.insert(TAG_DETECTOR.to_string(), truncate(&inv.detector_id, 256).into_owned());
    tags.insert(TAG_CREATED_BY.to_string(), CREATED_BY.to_string());
    Ok((
        CaseRequest {
            client_token: scope.create_case(),
            title: fit_title(&title, TITLE_MAX),
            description: description(inv, risk, confidence, home_region),
            engagement_type: config.engagement_type.clone(),
            resolver_type: config.resolver_type.clone(),
            reported_incident_start_ms: start,
            impacted_accounts,
            impacted_regions,
            watchers: config.watchers.clone(),
            tags,
        },
        omissions,
    ))
}

/// The description: the facts first, then the free text in what room is left,
/// so the ids and the console link survive any summary length.
fn description(inv: &Investigation, risk: RiskLevel, confidence: Confidence, home_region: &str) -> String {
    let region = inv.region.as_deref().unwrap_or(home_region);
    let facts = format!(
        "Amazon GuardDuty investigation {id} completed with risk level {risk} (confidence {confidence}).\n\n\
         Investigation: {id}\nDetector: {detector}\nAccount: {account}\nRegion: {region}\n\
         Console: {url}\n\nOpened by {CREATED_BY}.",
        id = inv.id,
        detector = inv.detector_id,
        account = inv.account.as_deref().unwrap_or("unknown"),
        url = console::investigation_url(home_region, &inv.detector_id, &inv.id),
    );
    let risk_text = inv.risk.as_deref().unwrap_or("(none given)");
    let summary = inv.summary.as_deref().unwrap_or("(none given)");
    let room = DESCRIPTION_MAX.saturating_sub(facts.chars().count() + "\n\nRisk: \n\nSummary:\n".len());
    // Risk text is at most 1024 characters by the model; the summary takes the rest.
    let risk_text = fit_body(risk_text, room.min(1024));
    let summary = fit_body(summary, room.saturating_sub(risk_text.chars().count()));
    let text = format!("{facts}\n\nRisk: {risk_text}\n\nSummary:\n{summary}");
    fit_body(&text, DESCRIPTION_MAX)
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
        assert_eq!(omissions.account.as_deref(), Some("12345678901a"));
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
        assert!(case.description.contains("Risk: Roottxt.exe keys leaked\nsecond line"), "{}", case.description);
        assert!(case.description.contains("Step 1\n\tStep 2done[2J"), "{}", case.description);
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
}
