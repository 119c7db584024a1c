//! Configuration from the environment (docs/design.md §3), validated once at
//! cold start: a bad value stops the start with a message naming the variable
//! and the values it accepts.

use std::ops::RangeInclusive;
use std::str::FromStr;

use thiserror::Error;

use crate::investigation::decision::{Confidence, Gates, RiskLevel};

/// A configuration value that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("configuration: {variable}={value:?} is not valid: expected {expected}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What it was set to.
    pub value: String,
    /// What it accepts.
    pub expected: String,
}

/// GuardDuty's investigation starts a day per account (the preview's quota).
pub const DAILY_INVESTIGATION_STARTS: u32 = 10;

/// One case watcher: an email and, optionally, a display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    /// Email address.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Lowest risk that escalates (`RISK_THRESHOLD`).
    pub risk_threshold: RiskLevel,
    /// Lowest confidence that escalates (`MIN_CONFIDENCE`).
    pub min_confidence: Confidence,
    /// `CASE_RESOLVER_TYPE`: `Self` or `AWS`.
    pub resolver_type: String,
    /// `CASE_ENGAGEMENT_TYPE`: `Security Incident` or `Investigation`.
    pub engagement_type: String,
    /// `CASE_WATCHERS`.
    pub watchers: Vec<Watcher>,
    /// `INCIDENT_LOOKBACK_HOURS`.
    pub incident_lookback_hours: u32,
    /// `INCIDENT_RESPONSE_PLAN_ARN`.
    pub response_plan_arn: Option<String>,
    /// `DRY_RUN`.
    pub dry_run: bool,
    /// `DETECTOR_ID` (the sweep's detector).
    pub detector_id: Option<String>,
    /// `SWEEP_LOOKBACK_HOURS`.
    pub sweep_lookback_hours: u32,
    /// `START_INVESTIGATIONS`.
    pub start_investigations: bool,
    /// `FINDING_MIN_SEVERITY`.
    pub finding_min_severity: f64,
    /// `RESERVED_INVESTIGATION_STARTS`: of GuardDuty's 10 investigation starts a
    /// day, how many only a critical finding (severity 9.0 or more) may use.
    pub reserved_investigation_starts: u32,
    /// `LEDGER_TABLE`.
    pub ledger_table: Option<String>,
    /// `LEDGER_LEASE_SECONDS`.
    pub ledger_lease_seconds: u32,
    /// `SECURITY_IR_REGION`: where the Security IR membership is (cases are
    /// created there); unset means the function's region.
    pub security_ir_region: Option<String>,
    /// `INCIDENT_MANAGER_REGION`: where the Incident Manager replication set is;
    /// unset means the function's region.
    pub incident_manager_region: Option<String>,
    /// `MIRROR_CASE_COMMENTS`: `all` (the default) mirrors responders' case
    /// comments to the linked incidents' timelines; `none` does not.
    pub mirror_case_comments: bool,
}

/// The most hours a lookback may span (a year): beyond it, time arithmetic
/// gains nothing and a typo (an extra zero or three) would scan for ever.
const MAX_HOURS: u32 = 8_760;
/// The longest lease (an hour): a crashed holder's lease never blocks longer.
const MAX_LEASE_SECONDS: u32 = 3_600;

impl Config {
    /// Whether the scheduled sweep lists `detector_id`'s investigations (the
    /// sweep lists only `DETECTOR_ID`'s), and so comes back to a running one.
    pub fn sweeps(&self, detector_id: &str) -> bool {
        self.detector_id.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(detector_id))
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`; an empty value counts as unset
    /// (SAM passes empty strings for parameters left at their default).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let config = Config {
            risk_threshold: parse_level(get("RISK_THRESHOLD"), "RISK_THRESHOLD", RiskLevel::High, &RiskLevel::ALL.map(|l| l.as_str()))?,
            min_confidence: parse_level(
                get("MIN_CONFIDENCE"),
                "MIN_CONFIDENCE",
                Confidence::Unknown,
                &Confidence::ALL.map(|l| l.as_str()),
            )?,
            resolver_type: one_of(get("CASE_RESOLVER_TYPE"), "CASE_RESOLVER_TYPE", &["Self", "AWS"])?,
            engagement_type: one_of(get("CASE_ENGAGEMENT_TYPE"), "CASE_ENGAGEMENT_TYPE", &["Security Incident", "Investigation"])?,
            watchers: parse_watchers(get("CASE_WATCHERS").as_deref().unwrap_or(""))?,
            incident_lookback_hours: whole(get("INCIDENT_LOOKBACK_HOURS"), "INCIDENT_LOOKBACK_HOURS", 24, 1..=MAX_HOURS)?,
            response_plan_arn: match get("INCIDENT_RESPONSE_PLAN_ARN") {
                Some(arn) if !is_response_plan_arn(&arn) => {
                    return Err(ConfigError {
                        variable: "INCIDENT_RESPONSE_PLAN_ARN",
                        value: arn,
                        expected: "an Incident Manager response plan ARN (arn:aws:ssm-incidents::ACCOUNT:response-plan/NAME)".into(),
                    })
                }
                other => other,
            },
            dry_run: boolean(get("DRY_RUN"), "DRY_RUN")?,
            // Validated and lower-cased with an event's rules, so that the sweep and the
            // finding flow derive the same ledger keys and tokens as an event naming it.
            detector_id: match get("DETECTOR_ID") {
                None => None,
                Some(raw) => Some(crate::trigger::ids::detector_id(&raw).ok_or(ConfigError {
                    variable: "DETECTOR_ID",
                    value: raw,
                    expected: "a GuardDuty detector id: 1 to 300 letters and digits".into(),
                })?),
            },
            sweep_lookback_hours: whole(get("SWEEP_LOOKBACK_HOURS"), "SWEEP_LOOKBACK_HOURS", 24, 1..=MAX_HOURS)?,
            start_investigations: boolean(get("START_INVESTIGATIONS"), "START_INVESTIGATIONS")?,
            finding_min_severity: match get("FINDING_MIN_SEVERITY") {
                None => 7.0,
                Some(v) => v.parse::<f64>().ok().filter(|s| (1.0..=10.0).contains(s)).ok_or(ConfigError {
                    variable: "FINDING_MIN_SEVERITY",
                    value: v,
                    expected: "a GuardDuty severity from 1.0 to 10.0".into(),
                })?,
            },
            reserved_investigation_starts: whole(
                get("RESERVED_INVESTIGATION_STARTS"),
                "RESERVED_INVESTIGATION_STARTS",
                3,
                0..=DAILY_INVESTIGATION_STARTS,
            )?,
            ledger_table: get("LEDGER_TABLE"),
            ledger_lease_seconds: whole(get("LEDGER_LEASE_SECONDS"), "LEDGER_LEASE_SECONDS", 120, 1..=MAX_LEASE_SECONDS)?,
            security_ir_region: region(get("SECURITY_IR_REGION"), "SECURITY_IR_REGION")?,
            incident_manager_region: region(get("INCIDENT_MANAGER_REGION"), "INCIDENT_MANAGER_REGION")?,
            mirror_case_comments: one_of(get("MIRROR_CASE_COMMENTS"), "MIRROR_CASE_COMMENTS", &["all", "none"])? == "all",
        };
        // An investigation the function starts is finished by nothing but the sweep:
        // without one, every start would end in a `pending` that nothing comes back to.
        if config.start_investigations && config.detector_id.is_none() {
            return Err(ConfigError {
                variable: "START_INVESTIGATIONS",
                value: "true".into(),
                expected: "false while DETECTOR_ID is unset (the sweep of that detector is what escalates the investigations it starts)"
                    .into(),
            });
        }
        Ok(config)
    }

    /// The decision gates.
    pub fn gates(&self) -> Gates {
        Gates { risk_threshold: self.risk_threshold, min_confidence: self.min_confidence }
    }
}

fn parse_level<T: FromStr>(value: Option<String>, variable: &'static str, default: T, accepted: &[&str]) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError { variable, value: v, expected: format!("one of {}", accepted.join(", ")) }),
    }
}

fn one_of(value: Option<String>, variable: &'static str, accepted: &[&str]) -> Result<String, ConfigError> {
    match value {
        None => Ok(accepted[0].to_string()),
        Some(v) if accepted.contains(&v.as_str()) => Ok(v),
        Some(v) => Err(ConfigError { variable, value: v, expected: format!("one of {}", accepted.join(", ")) }),
    }
}

fn boolean(value: Option<String>, variable: &'static str) -> Result<bool, ConfigError> {
    match value.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(ConfigError { variable, value: v.to_string(), expected: "true or false".into() }),
    }
}

fn whole(value: Option<String>, variable: &'static str, default: u32, range: RangeInclusive<u32>) -> Result<u32, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse::<u32>().ok().filter(|n| range.contains(n)).ok_or_else(|| ConfigError {
            variable,
            value: v,
            expected: format!("a whole number from {} to {}", range.start(), range.end()),
        }),
    }
}

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
fn region(value: Option<String>, variable: &'static str) -> Result<Option<String>, ConfigError> {
    let Some(v) = value else { return Ok(None) };
    let parts: Vec<&str> = v.split('-').collect();
    let ok = parts.len() >= 3
        && v.len() <= 25
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(Some(v))
    } else {
        Err(ConfigError { variable, value: v, expected: "an AWS region name such as us-east-1".into() })
    }
}

fn is_response_plan_arn(arn: &str) -> bool {
    arn.starts_with("arn:aws") && arn.contains(":ssm-incidents::") && arn.contains(":response-plan/")
}

/// Parses `CASE_WATCHERS`: comma-separated `email` or `Name <email>`, checked
/// against Security IR's limits (30 watchers, 6-254 character emails, 50-character names).
fn parse_watchers(raw: &str) -> Result<Vec<Watcher>, ConfigError> {
    // The value holds people's email addresses: the error (which reaches the logs)
    // says where the problem is, not what the addresses are.
    let bad = |value: &str, why: &str| ConfigError {
        variable: "CASE_WATCHERS",
        value: format!("({} characters, not shown)", value.chars().count()),
        expected: format!("comma-separated `email` or `Name <email>` entries ({why})"),
    };
    let mut watchers: Vec<Watcher> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, email) = match entry.split_once('<') {
            Some((name, rest)) => {
                let email = rest.strip_suffix('>').ok_or_else(|| bad(entry, "a `<` must close with `>` at the end"))?;
                (Some(name.trim().to_string()).filter(|n| !n.is_empty()), email.trim().to_string())
            }
            None => (None, entry.to_string()),
        };
        if !is_email(&email) {
            return Err(bad(entry, "each email must look like name@example.com and be 6 to 254 characters"));
        }
        if name.as_ref().is_some_and(|n| n.chars().count() > 50) {
            return Err(bad(entry, "a name is at most 50 characters"));
        }
        if !watchers.iter().any(|w| w.email.eq_ignore_ascii_case(&email)) {
            watchers.push(Watcher { email, name });
        }
    }
    if watchers.len() > 30 {
        return Err(bad(raw, "at most 30 watchers"));
    }
    Ok(watchers)
}

/// The shape Security IR's `EmailAddress` pattern accepts.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty() && local.chars().all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let domain_ok =
        !domain.is_empty() && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    (6..=254).contains(&s.chars().count()) && local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_detector_is_validated_and_lower_cased_as_an_event_s_detector_is() {
        // One spelling everywhere: the sweep's ledger keys and tokens must equal an event's.
        let c = with(&[("DETECTOR_ID", "12ABC34D567E8FA901BC2D34E56789F0")]).expect("valid");
        assert_eq!(c.detector_id.as_deref(), Some("12abc34d567e8fa901bc2d34e56789f0"));
        for bad in ["12abc-34d", "détecteur", &"a".repeat(301)] {
            let e = with(&[("DETECTOR_ID", bad)]).expect_err("refused at cold start");
            assert_eq!(e.variable, "DETECTOR_ID", "{e}");
        }
    }

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_design() {
        let c = with(&[]).expect("defaults are valid");
        assert_eq!(c.risk_threshold, RiskLevel::High);
        assert_eq!(c.min_confidence, Confidence::Unknown);
        assert_eq!(c.resolver_type, "Self");
        assert_eq!(c.engagement_type, "Security Incident");
        assert!(c.watchers.is_empty());
        assert_eq!(c.incident_lookback_hours, 24);
        assert_eq!(c.response_plan_arn, None);
        assert!(!c.dry_run);
        assert_eq!(c.detector_id, None);
        assert_eq!(c.sweep_lookback_hours, 24);
        assert!(!c.start_investigations);
        assert_eq!(c.finding_min_severity, 7.0);
        assert_eq!(c.reserved_investigation_starts, 3);
        assert_eq!(c.ledger_table, None);
        assert_eq!(c.ledger_lease_seconds, 120);
        assert_eq!((c.security_ir_region, c.incident_manager_region), (None, None));
    }

    #[test]
    fn numbers_and_regions_are_bounded() {
        assert_eq!(with(&[("SWEEP_LOOKBACK_HOURS", "8760")]).map(|c| c.sweep_lookback_hours), Ok(8_760));
        assert!(with(&[("RESERVED_INVESTIGATION_STARTS", "11")]).is_err_and(|e| e.variable == "RESERVED_INVESTIGATION_STARTS"));
        assert_eq!(with(&[("RESERVED_INVESTIGATION_STARTS", "0")]).map(|c| c.reserved_investigation_starts), Ok(0));
        // Starting investigations needs the sweep that finishes them.
        let e = with(&[("START_INVESTIGATIONS", "true")]).expect_err("no detector");
        assert_eq!(e.variable, "START_INVESTIGATIONS");
        assert!(e.to_string().contains("DETECTOR_ID"), "{e}");
        let both = [("START_INVESTIGATIONS", "true"), ("DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0")];
        assert!(with(&both).is_ok_and(|c| c.sweeps("12ABC34D567E8FA901BC2D34E56789F0") && !c.sweeps("other")));
        let e = with(&[("SWEEP_LOOKBACK_HOURS", "8761")]).unwrap_err();
        assert_eq!((e.variable, e.expected.as_str()), ("SWEEP_LOOKBACK_HOURS", "a whole number from 1 to 8760"));
        assert_eq!(with(&[("INCIDENT_LOOKBACK_HOURS", "4294967295")]).unwrap_err().variable, "INCIDENT_LOOKBACK_HOURS");
        assert_eq!(with(&[("LEDGER_LEASE_SECONDS", "3601")]).unwrap_err().variable, "LEDGER_LEASE_SECONDS");
        let c = with(&[("SECURITY_IR_REGION", "us-east-1"), ("INCIDENT_MANAGER_REGION", "us-gov-west-1")]).expect("valid");
        assert_eq!(c.security_ir_region.as_deref(), Some("us-east-1"));
        assert_eq!(c.incident_manager_region.as_deref(), Some("us-gov-west-1"));
        for bad in ["US-EAST-1", "us-east", "useast1", "us-east-1a", "us--1", "https://us-east-1"] {
            assert_eq!(with(&[("SECURITY_IR_REGION", bad)]).unwrap_err().variable, "SECURITY_IR_REGION", "{bad}");
        }
    }

    #[test]
    fn a_refused_watcher_list_is_not_echoed() {
        let e = with(&[("CASE_WATCHERS", "jane.doe@example.com, not-an-email")]).unwrap_err();
        assert!(!e.to_string().contains("jane.doe") && !e.to_string().contains("not-an-email"), "{e}");
    }

    #[test]
    fn empty_strings_count_as_unset() {
        let c = with(&[("RISK_THRESHOLD", ""), ("INCIDENT_RESPONSE_PLAN_ARN", " "), ("DETECTOR_ID", "")]).expect("valid");
        assert_eq!(c.risk_threshold, RiskLevel::High);
        assert_eq!(c.response_plan_arn, None);
        assert_eq!(c.detector_id, None);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_accepted_values() {
        let e = with(&[("RISK_THRESHOLD", "Severe")]).unwrap_err();
        assert_eq!(e.variable, "RISK_THRESHOLD");
        assert_eq!(
            e.to_string(),
            "configuration: RISK_THRESHOLD=\"Severe\" is not valid: expected one of Info, Low, Medium, High, Critical"
        );
        assert_eq!(with(&[("MIN_CONFIDENCE", "high")]).unwrap_err().variable, "MIN_CONFIDENCE");
        assert_eq!(with(&[("CASE_RESOLVER_TYPE", "Me")]).unwrap_err().variable, "CASE_RESOLVER_TYPE");
        assert_eq!(with(&[("CASE_ENGAGEMENT_TYPE", "Incident")]).unwrap_err().variable, "CASE_ENGAGEMENT_TYPE");
        assert_eq!(with(&[("INCIDENT_LOOKBACK_HOURS", "1.5")]).unwrap_err().variable, "INCIDENT_LOOKBACK_HOURS");
        assert_eq!(with(&[("INCIDENT_LOOKBACK_HOURS", "0")]).unwrap_err().variable, "INCIDENT_LOOKBACK_HOURS");
        assert_eq!(with(&[("DRY_RUN", "yes")]).unwrap_err().variable, "DRY_RUN");
        assert_eq!(with(&[("SWEEP_LOOKBACK_HOURS", "-1")]).unwrap_err().variable, "SWEEP_LOOKBACK_HOURS");
        assert_eq!(with(&[("FINDING_MIN_SEVERITY", "11")]).unwrap_err().variable, "FINDING_MIN_SEVERITY");
        assert_eq!(with(&[("LEDGER_LEASE_SECONDS", "0")]).unwrap_err().variable, "LEDGER_LEASE_SECONDS");
        assert_eq!(with(&[("INCIDENT_RESPONSE_PLAN_ARN", "plan")]).unwrap_err().variable, "INCIDENT_RESPONSE_PLAN_ARN");
    }

    #[test]
    fn every_level_is_accepted() {
        for l in RiskLevel::ALL {
            assert_eq!(with(&[("RISK_THRESHOLD", l.as_str())]).map(|c| c.risk_threshold), Ok(l));
        }
        for l in Confidence::ALL {
            assert_eq!(with(&[("MIN_CONFIDENCE", l.as_str())]).map(|c| c.min_confidence), Ok(l));
        }
    }

    #[test]
    fn watchers_parse_both_forms_and_drop_duplicates() {
        let c = with(&[("CASE_WATCHERS", "soc@example.com, Jane Doe <jane@example.com>,SOC@example.com")]).expect("valid");
        assert_eq!(
            c.watchers,
            vec![
                Watcher { email: "soc@example.com".into(), name: None },
                Watcher { email: "jane@example.com".into(), name: Some("Jane Doe".into()) },
            ]
        );
    }

    #[test]
    fn bad_watchers_are_refused() {
        for bad in ["not-an-email", "Jane <jane@example.com", "a@b", "x@y.c", &format!("{} <a@example.com>", "N".repeat(51))] {
            assert_eq!(with(&[("CASE_WATCHERS", bad)]).unwrap_err().variable, "CASE_WATCHERS", "{bad}");
        }
        let many: Vec<String> = (0..31).map(|i| format!("w{i}@example.com")).collect();
        assert!(with(&[("CASE_WATCHERS", &many.join(","))]).is_err());
    }
}
