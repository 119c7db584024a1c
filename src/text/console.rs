//! Console links, so a reader can go from any record to the others in one click.

/// The GuardDuty console page of an investigation.
pub fn investigation_url(region: &str, detector_id: &str, investigation_id: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/guardduty/home?region={region}#/investigations/{investigation_id}?detectorId={detector_id}")
}

/// The Security Incident Response console page of a case.
pub fn case_url(region: &str, case_id: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/security-ir/home?region={region}#/cases/{case_id}")
}

/// The case id in a Security IR case console URL (as [`case_url`] makes them).
pub fn case_id_from_url(url: &str) -> Option<String> {
    let (base, id) = url.split_once("#/cases/")?;
    (base.contains("console.aws.amazon.com/security-ir/") && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.to_string())
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
    fn case_ids_are_read_back_from_case_links_only() {
        assert_eq!(case_id_from_url(&case_url("us-east-1", "1000000001")), Some("1000000001".into()));
        assert_eq!(case_id_from_url("https://example.com/runbooks#/cases/123"), None);
        assert_eq!(case_id_from_url("https://us-east-1.console.aws.amazon.com/security-ir/home#/cases/"), None);
        assert_eq!(case_id_from_url("https://us-east-1.console.aws.amazon.com/security-ir/home#/cases/12x"), None);
    }

    #[test]
    fn case_and_investigation_links_name_their_region_and_id() {
        assert!(case_url("eu-west-1", "1234567890").ends_with("region=eu-west-1#/cases/1234567890"));
        let inv = investigation_url("us-east-1", "d1", "i1");
        assert!(inv.starts_with("https://us-east-1.console.aws.amazon.com/guardduty/") && inv.contains("i1") && inv.contains("d1"));
    }
}
