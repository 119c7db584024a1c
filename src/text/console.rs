//! Console links, so a reader can go from any record to the others in one click.

/// The GuardDuty console page of an investigation.
pub fn investigation_url(region: &str, detector_id: &str, investigation_id: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/guardduty/home?region={region}#/investigations/{investigation_id}?detectorId={detector_id}")
}

/// The Security Incident Response console page of a case.
pub fn case_url(region: &str, case_id: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/security-ir/home?region={region}#/cases/{case_id}")
}

/// The Region and case id of a Security IR case console URL, only when the URL
/// is exactly what [`case_url`] makes of them: the console's own host for a
/// Region of AWS's shape, and a case id of the service's shape (10-32 digits).
/// *Why exact:* anyone who can edit an incident's related items can add a link,
/// and a loose match would read a digit run on any host as another case.
pub fn case_from_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://")?;
    let (region, _) = rest.split_once(".console.aws.amazon.com/")?;
    let shaped = region.split('-').count() >= 3
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.rsplit('-').next().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let (_, id) = url.rsplit_once("#/cases/")?;
    let id = crate::trigger::ids::case_id(id)?;
    (shaped && case_url(region, &id) == url).then(|| (region.to_string(), id))
}

/// The Incident Manager console page of an incident record.
pub fn incident_url(region: &str, incident_arn: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/systems-manager/incidents/incident/{}/home?region={region}", encode(incident_arn))
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_arns_are_encoded_into_one_path_segment() {
        let url = incident_url("us-east-1", "arn:aws:ssm-incidents::123456789012:incident-record/Plan/abc");
        assert_eq!(
            url,
            "https://us-east-1.console.aws.amazon.com/systems-manager/incidents/incident/arn%3Aaws%3Assm-incidents%3A%3A123456789012%3Aincident-record%2FPlan%2Fabc/home?region=us-east-1"
        );
    }

    #[test]
    fn cases_are_read_back_from_exact_case_links_only() {
        let id = "1000000001";
        assert_eq!(case_from_url(&case_url("us-east-1", id)), Some(("us-east-1".into(), id.into())));
        assert_eq!(case_from_url(&case_url("ap-southeast-2", id)), Some(("ap-southeast-2".into(), id.into())));
        for not_a_case in [
            "https://example.com/runbooks#/cases/1234567890".to_string(),
            // The console's path on another host, or the console's host as a prefix of another.
            "https://evil.example/x/console.aws.amazon.com/security-ir/home?region=us-east-1#/cases/1234567890".into(),
            "https://us-east-1.console.aws.amazon.com.evil.example/security-ir/home?region=us-east-1#/cases/1234567890".into(),
            "http://us-east-1.console.aws.amazon.com/security-ir/home?region=us-east-1#/cases/1234567890".into(),
            // Not a case id's shape: too short, too long, not digits, nothing.
            case_url("us-east-1", "123"),
            case_url("us-east-1", &"1".repeat(33)),
            case_url("us-east-1", "12345678x0"),
            "https://us-east-1.console.aws.amazon.com/security-ir/home#/cases/".into(),
            // Another page of the console, or a region that disagrees with the host's.
            "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/cases/1234567890".into(),
            "https://us-east-1.console.aws.amazon.com/security-ir/home?region=eu-west-1#/cases/1234567890".into(),
            "https://US-EAST-1.console.aws.amazon.com/security-ir/home?region=US-EAST-1#/cases/1234567890".into(),
        ] {
            assert_eq!(case_from_url(&not_a_case), None, "{not_a_case}");
        }
    }

    #[test]
    fn case_and_investigation_links_name_their_region_and_id() {
        assert!(case_url("eu-west-1", "1234567890").ends_with("region=eu-west-1#/cases/1234567890"));
        let inv = investigation_url("us-east-1", "d1", "i1");
        assert!(inv.starts_with("https://us-east-1.console.aws.amazon.com/guardduty/") && inv.contains("i1") && inv.contains("d1"));
    }
}
