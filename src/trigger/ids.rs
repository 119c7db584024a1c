//! The shapes of the ids that come from outside, checked and normalised at
//! every edge: the event parser, every AWS answer, the case's metadata
//! (docs/design.md §12). Ids are lower-cased before any key or token is derived
//! from them, so `12ABC…` and `12abc…` are one detector.

/// The most GuardDuty finding ids one investigation is matched by, and one event may name.
pub const MAX_FINDING_IDS: usize = 100;

/// The longest text an error quotes from a bad value.
pub const QUOTE_MAX: usize = 200;

/// A detector id: 1-300 letters and digits, lower-cased.
pub fn detector_id(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 300 && s.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| s.to_ascii_lowercase())
}

/// An investigation id: 1-64 hexadecimal digits and hyphens (the model's pattern), lower-cased.
pub fn investigation_id(s: &str) -> Option<String> {
    let shaped = !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    (shaped && s.bytes().any(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// A GuardDuty finding id: 32 hexadecimal digits, lower-cased.
pub fn finding_id(s: &str) -> Option<String> {
    (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// A Security IR case id: 10-32 digits.
pub fn case_id(s: &str) -> Option<String> {
    ((10..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_string())
}

/// An AWS account id: 12 digits.
pub fn account_id(s: &str) -> Option<String> {
    (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_string())
}

/// An Incident Manager incident record ARN:
/// `arn:PARTITION:ssm-incidents::ACCOUNT:incident-record/PLAN/ID` (no region: the service is global to its replication set).
pub fn incident_arn(s: &str) -> Option<String> {
    let mut parts = s.splitn(6, ':');
    let (arn, partition, service, region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let resource_ok = resource.strip_prefix("incident-record/").is_some_and(|rest| {
        let mut segments = rest.split('/');
        let (plan, id) = (segments.next().unwrap_or_default(), segments.next().unwrap_or_default());
        let name = |x: &str| !x.is_empty() && x.len() <= 200 && x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        name(plan) && name(id) && segments.next().is_none()
    });
    let ok = arn == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && service == "ssm-incidents"
        && region.is_empty()
        && account_id(account).is_some()
        && resource_ok
        && s.len() <= 1000;
    ok.then(|| s.to_string())
}

/// The account an incident record ARN belongs to.
pub fn incident_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// At most [`QUOTE_MAX`] characters of a bad value, for an error message.
pub fn quote(value: &str) -> String {
    crate::text::truncate(value, QUOTE_MAX).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_lower_cased() {
        assert_eq!(detector_id("12ABC34d"), Some("12abc34d".into()));
        for bad in ["", "12abc-34", "../x", "détecteur", &"a".repeat(301)] {
            assert_eq!(detector_id(bad), None, "{bad}");
        }
        assert_eq!(investigation_id("C0FFEE00-0000-4000-8000-000000000001"), Some("c0ffee00-0000-4000-8000-000000000001".into()));
        for bad in ["", "-", "----", "xyz", "c0ffee/..", &"a".repeat(65)] {
            assert_eq!(investigation_id(bad), None, "{bad}");
        }
        assert_eq!(finding_id("5AB4C8D9E0F1A2B3C4D5E6F7A8B9C0D1"), Some("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1".into()));
        assert_eq!(finding_id("5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d"), None);
        assert_eq!(case_id("1234567890"), Some("1234567890".into()));
        for bad in ["123456789", "12345678901234567890123456789012345", "12345abcde", "-123456789"] {
            assert_eq!(case_id(bad), None, "{bad}");
        }
        assert_eq!(account_id("123456789012"), Some("123456789012".into()));
        assert_eq!(account_id("12345678901"), None);
    }

    #[test]
    fn incident_arns_are_recognised_by_every_part() {
        let good = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/1f2e3d4c";
        assert_eq!(incident_arn(good), Some(good.into()));
        assert_eq!(incident_account(good), Some("123456789012"));
        for bad in [
            "incident-1",
            "arn:aws:ssm-incidents:us-east-1:123456789012:incident-record/P/1",
            "arn:aws:ssm-incidents::123456789012:response-plan/P",
            "arn:aws:ssm-incidents::12345:incident-record/P/1",
            "arn:aws:ssm-incidents::123456789012:incident-record/P/1/extra",
            "arn:aws:ssm-incidents::123456789012:incident-record/P/",
            "arn:aws:s3:::bucket",
            "arn:evil:ssm-incidents::123456789012:incident-record/P/1",
        ] {
            assert_eq!(incident_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn quotes_are_short() {
        assert_eq!(quote("short"), "short");
        assert_eq!(quote(&"x".repeat(1_000_000)).chars().count(), QUOTE_MAX);
    }
}
