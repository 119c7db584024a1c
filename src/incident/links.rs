//! The cross-links between a case and its incident records (docs/design.md §6),
//! as plain request data. Every body here is a pure function of the
//! investigation, the case id and the incident, so its token always carries it.

use crate::incident::matcher::RelatedItemView;
use crate::investigation::decision::{Confidence, RiskLevel};
use crate::investigation::Investigation;
use crate::text::console;
use crate::text::{fit_body, fit_title, fit_value};

/// `CreateCaseComment` body limit, in characters.
pub const COMMENT_MAX: usize = 12_000;
/// Timeline event type for events this product records.
pub const TIMELINE_EVENT_TYPE: &str = "Custom Event";
/// Case metadata key of the first linked incident; later ones add `-2`, `-3`, ….
pub const METADATA_KEY: &str = "ssm-incidents:incident-record-arn";
/// Security IR keeps at most this many metadata entries on a case.
pub const METADATA_MAX: usize = 30;
/// `source` of an incident this product starts (at most 50 characters).
pub const INCIDENT_SOURCE: &str = "investigation-escalator";

/// A related item pointing at the case, for an incident record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseItem {
    /// Its title (at most 200 characters).
    pub title: String,
    /// The case's console URL.
    pub url: String,
}

/// The related item that links an incident to a case.
pub fn case_item(region: &str, case_id: &str) -> CaseItem {
    CaseItem { title: format!("Security Incident Response case {case_id}"), url: console::case_url(region, case_id) }
}

/// True when the incident already links the case.
pub fn has_case_item(items: &[RelatedItemView], item: &CaseItem) -> bool {
    items.iter().any(|i| i.value == item.url)
}

/// A timeline event recording the escalation on an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEvent {
    /// `Custom Event`.
    pub event_type: &'static str,
    /// When the investigation finished (fixed, unlike the time of this delivery).
    pub event_time_ms: i64,
    /// What happened, for the incident's timeline.
    pub event_data: String,
}

/// The timeline event for an escalation.
pub fn timeline_event(inv: &Investigation, risk: RiskLevel, confidence: Confidence, case_id: &str, region: &str) -> TimelineEvent {
    let data = format!(
        "GuardDuty investigation {} ({risk} risk, confidence {confidence}) was escalated to AWS Security Incident Response case {case_id}: {}",
        inv.id,
        console::case_url(region, case_id)
    );
    TimelineEvent {
        event_type: TIMELINE_EVENT_TYPE,
        event_time_ms: inv.end_ms.or(inv.start_ms).unwrap_or_default(),
        event_data: fit_body(&data, COMMENT_MAX),
    }
}

/// The timeline event recording that the case was closed, on an incident the close-out resolves.
pub fn close_timeline_event(case_id: &str, closure_code: Option<&str>, closed_ms: i64, region: &str) -> TimelineEvent {
    let data = format!(
        "AWS Security Incident Response case {case_id} was closed ({}): resolving this incident. {}",
        closure_code.unwrap_or("no closure code"),
        console::case_url(region, case_id)
    );
    TimelineEvent { event_type: TIMELINE_EVENT_TYPE, event_time_ms: closed_ms, event_data: fit_body(&data, COMMENT_MAX) }
}

/// The most characters of a responder's comment a timeline event mirrors.
pub const MIRRORED_COMMENT_MAX: usize = 1_000;

/// The first line of every case comment this product writes: comments that
/// begin so are never mirrored back to the incidents (§14).
pub const COMMENT_HEADERS: [&str; 3] = [LINK_HEADER, crate::case::recommendations::HEADER, RESOLUTION_HEADER];
const LINK_HEADER: &str = "Linked AWS Systems Manager Incident Manager incident: ";
const RESOLUTION_HEADER: &str = "AWS Systems Manager Incident Manager incident resolved: ";

/// Whether a case comment is one this product wrote (by its first line).
pub fn is_products_comment(body: &str) -> bool {
    COMMENT_HEADERS.iter().any(|h| body.starts_with(h))
}

/// The timeline event telling an incident that its case moved from one status to another.
pub fn status_timeline_event(case_id: &str, from: &str, to: &str, changed_ms: i64, region: &str) -> TimelineEvent {
    let data = format!(
        "AWS Security Incident Response case {case_id} moved from {} to {}. {}",
        fit_value(from, 100),
        fit_value(to, 100),
        console::case_url(region, case_id)
    );
    TimelineEvent { event_type: TIMELINE_EVENT_TYPE, event_time_ms: changed_ms, event_data: fit_body(&data, COMMENT_MAX) }
}

/// The timeline event mirroring a responder's case comment: its author, and its
/// first [`MIRRORED_COMMENT_MAX`] characters quoted (cleaned, links inert, marked when cut).
pub fn comment_timeline_event(case_id: &str, author: &str, body: &str, written_ms: i64, region: &str) -> TimelineEvent {
    let author = fit_value(author, 200);
    let quoted = crate::text::prose(body, MIRRORED_COMMENT_MAX);
    let data = format!(
        "Comment on AWS Security Incident Response case {case_id} by {}:\n{}\n{}",
        if author.is_empty() { "(unknown)" } else { &author },
        if quoted.trim().is_empty() { "> (no text)" } else { &quoted },
        console::case_url(region, case_id)
    );
    TimelineEvent { event_type: TIMELINE_EVENT_TYPE, event_time_ms: written_ms, event_data: fit_body(&data, COMMENT_MAX) }
}

/// The case comment telling a case that a linked incident was resolved, by
/// whom and when. The case stays open: closing it is a responder's decision.
pub fn resolution_comment(incident_title: &str, incident_arn: &str, resolved_by: &str, resolved_ms: Option<i64>, region: &str) -> String {
    let title = fit_value(incident_title, 200);
    let by = fit_value(resolved_by, 300);
    let body = format!(
        "{RESOLUTION_HEADER}{}\nARN: {incident_arn}\nResolved by: {}\nResolved at: {}\nConsole: {}\nThis case stays open: closing it is a responder's decision.",
        if title.is_empty() { "(untitled)" } else { &title },
        if by.is_empty() { "(unknown)" } else { &by },
        resolved_ms.map_or_else(|| "(not told)".to_string(), crate::text::rfc3339),
        console::incident_url(region, incident_arn)
    );
    fit_body(&body, COMMENT_MAX)
}

/// The case comment naming an incident.
pub fn case_comment(incident_title: &str, incident_arn: &str, region: &str) -> String {
    // The title is whatever the incident's author wrote: one clean line of it.
    let title = fit_value(incident_title, 200);
    let body = format!(
        "{LINK_HEADER}{}\nARN: {incident_arn}\nConsole: {}",
        if title.is_empty() { "(untitled)" } else { &title },
        console::incident_url(region, incident_arn)
    );
    fit_body(&body, COMMENT_MAX)
}

/// The case's metadata with every incident ARN present, or `None` when nothing
/// is missing (so `UpdateCase`, which takes no token, writes only when it must).
/// Entries that would pass the service's limit of 30 are left out; the second
/// value of the tuple names them.
pub fn metadata_with(existing: &[(String, String)], incident_arns: &[String]) -> (Option<Vec<(String, String)>>, Vec<String>) {
    let mut entries = existing.to_vec();
    let mut left_out = Vec::new();
    for arn in incident_arns {
        if entries.iter().any(|(_, v)| v == arn) {
            continue;
        }
        if entries.len() >= METADATA_MAX {
            left_out.push(arn.clone());
            continue;
        }
        let key = (1..)
            .map(|n| if n == 1 { METADATA_KEY.to_string() } else { format!("{METADATA_KEY}-{n}") })
            .find(|k| !entries.iter().any(|(ek, _)| ek == k))
            .unwrap_or_else(|| METADATA_KEY.to_string());
        entries.push((key, arn.clone()));
    }
    let changed = entries.len() != existing.len();
    (changed.then_some(entries), left_out)
}

/// The incident ARNs a case's metadata links.
pub fn linked_incidents(metadata: &[(String, String)]) -> Vec<String> {
    metadata.iter().filter(|(k, _)| k.starts_with(METADATA_KEY)).map(|(_, v)| v.clone()).collect()
}

/// A `StartIncident` request as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartIncident {
    /// Incident title (at most 200 characters); names the investigation so that a
    /// later search finds this incident again.
    pub title: String,
    /// Impact from risk.
    pub impact: i32,
    /// When the investigation finished.
    pub trigger_time_ms: i64,
    /// The investigation's ids, as JSON.
    pub raw_data: String,
    /// The case, as the incident's first related item.
    pub case_item: CaseItem,
}

/// The incident to start from the response plan when none matched.
pub fn start_incident(inv: &Investigation, risk: RiskLevel, case_id: &str, region: &str) -> StartIncident {
    StartIncident {
        title: fit_title(&format!("[{risk}] GuardDuty investigation {}", inv.id), 200),
        impact: risk.impact(),
        trigger_time_ms: inv.end_ms.or(inv.start_ms).unwrap_or_default(),
        raw_data: serde_json::json!({
            "detectorId": inv.detector_id,
            "investigationId": inv.id,
            "riskLevel": risk.as_str(),
            "caseId": case_id,
        })
        .to_string(),
        case_item: case_item(region, case_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::tests::sample;

    const ARN1: &str = "arn:aws:ssm-incidents::123456789012:incident-record/P/1";
    const ARN2: &str = "arn:aws:ssm-incidents::123456789012:incident-record/P/2";

    #[test]
    fn the_case_item_is_recognised_by_url() {
        let item = case_item("us-east-1", "1000000001");
        assert_eq!(item.title, "Security Incident Response case 1000000001");
        let present = vec![RelatedItemView { title: Some("anything".into()), value: item.url.clone() }];
        assert!(has_case_item(&present, &item));
        assert!(!has_case_item(&present, &case_item("us-east-1", "1000000002")));
        assert!(!has_case_item(&[], &item));
    }

    #[test]
    fn the_timeline_event_is_fixed_in_time_and_names_the_case() {
        let e = timeline_event(&sample(), RiskLevel::Critical, Confidence::High, "1000000001", "us-east-1");
        assert_eq!(e.event_time_ms, 1_795_166_220_000);
        assert_eq!(e.event_type, "Custom Event");
        assert!(e.event_data.contains("1000000001") && e.event_data.contains("Critical") && e.event_data.contains(&sample().id));
        assert_eq!(e, timeline_event(&sample(), RiskLevel::Critical, Confidence::High, "1000000001", "us-east-1"));
    }

    #[test]
    fn the_close_event_names_the_case_and_its_closure() {
        let e = close_timeline_event("1000000001", Some("False Positive"), 1_795_200_000_000, "us-east-1");
        assert_eq!(e.event_time_ms, 1_795_200_000_000);
        assert!(e.event_data.contains("1000000001") && e.event_data.contains("False Positive"));
        assert!(close_timeline_event("1", None, 0, "us-east-1").event_data.contains("no closure code"));
    }

    #[test]
    fn the_comment_names_the_incident_and_fits() {
        let c = case_comment("SSH brute force", ARN1, "us-east-1");
        assert!(c.contains("SSH brute force") && c.contains(ARN1) && c.contains("systems-manager/incidents"));
        // A title is at most 200 characters in Incident Manager: one cut to that, on one line.
        let long = case_comment(&"ü".repeat(20_000), ARN1, "us-east-1");
        assert!(long.chars().count() <= COMMENT_MAX && long.contains(crate::text::MARKER), "{long}");
        assert!(long.lines().next().is_some_and(|l| l.chars().filter(|c| *c == 'ü').count() < 200));
        assert!(case_comment("", ARN1, "us-east-1").contains("(untitled)"));
        // Whatever the incident's author wrote cannot add lines or reorder the comment.
        let forged = case_comment("Benign\nARN: arn:aws:ssm-incidents::999999999999:incident-record/X/1\u{202E}", ARN1, "us-east-1");
        assert_eq!(forged.lines().count(), 3, "{forged}");
        assert!(!forged.contains('\u{202E}'));
    }

    #[test]
    fn metadata_adds_only_what_is_missing() {
        let (none, _) = metadata_with(&[(METADATA_KEY.into(), ARN1.into())], &[ARN1.into()]);
        assert_eq!(none, None);
        let existing = vec![("owner".to_string(), "soc".to_string()), (METADATA_KEY.to_string(), ARN1.to_string())];
        let (updated, left_out) = metadata_with(&existing, &[ARN1.into(), ARN2.into()]);
        assert!(left_out.is_empty());
        assert_eq!(
            updated,
            Some(vec![("owner".into(), "soc".into()), (METADATA_KEY.into(), ARN1.into()), (format!("{METADATA_KEY}-2"), ARN2.into())])
        );
        assert_eq!(linked_incidents(&updated.unwrap_or_default()), vec![ARN1.to_string(), ARN2.to_string()]);
    }

    #[test]
    fn metadata_never_passes_the_limit() {
        let full: Vec<(String, String)> = (0..METADATA_MAX).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
        let (updated, left_out) = metadata_with(&full, &[ARN1.into()]);
        assert_eq!(updated, None);
        assert_eq!(left_out, vec![ARN1.to_string()]);
    }

    #[test]
    fn a_started_incident_is_findable_and_sized_by_risk() {
        let s = start_incident(&sample(), RiskLevel::High, "1000000001", "us-east-1");
        assert!(s.title.contains(&sample().id));
        assert_eq!(s.impact, 2);
        assert!(s.raw_data.contains("1000000001"));
        assert_eq!(s.case_item, case_item("us-east-1", "1000000001"));
    }

    #[test]
    fn the_in_step_texts_say_what_moved_and_who_wrote_or_resolved() {
        let moved = status_timeline_event("1000000001", "Submitted", "Detection and Analysis", 5, "us-east-1");
        assert!(moved
            .event_data
            .starts_with("AWS Security Incident Response case 1000000001 moved from Submitted to Detection and Analysis. https://"));
        assert_eq!(moved.event_time_ms, 5);
        let long = "x".repeat(MIRRORED_COMMENT_MAX + 10);
        let mirrored = comment_timeline_event("1000000001", "AWS Responder", &long, 7, "us-east-1");
        let lines: Vec<&str> = mirrored.event_data.lines().collect();
        assert_eq!(lines[0], "Comment on AWS Security Incident Response case 1000000001 by AWS Responder:");
        assert!(lines[1].starts_with("> xxx") && lines[1].ends_with(crate::text::MARKER), "{}", lines[1]);
        assert_eq!(lines[1].chars().count(), MIRRORED_COMMENT_MAX);
        let told = resolution_comment("SSH brute force", ARN1, "arn:aws:iam::123456789012:user/oncall", Some(0), "us-east-1");
        assert!(told.starts_with("AWS Systems Manager Incident Manager incident resolved: SSH brute force\nARN: "), "{told}");
        assert!(told.contains("\nResolved by: arn:aws:iam::123456789012:user/oncall\nResolved at: 1970-01-01T00:00:00Z\n"), "{told}");
        assert!(is_products_comment(&told));
        assert!(resolution_comment("", ARN1, "", None, "us-east-1").contains("(untitled)\nARN: "));
        assert!(!is_products_comment("Contained the instance."));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Whatever a responder, an incident's title or its resolver's name
        /// holds, the texts kept in step carry no format (Cf) character and no
        /// line of the product's own but the ones it writes.
        #[test]
        fn in_step_texts_can_neither_hide_nor_forge_lines(text in "(\\PC|[\u{200B}-\u{200F}\u{202A}-\u{202E}\u{2060}-\u{2064}\u{E0001}\u{E0041}\u{00AD}\n]|\nARN: |\nConsole: https://evil.example/|\nResolved by: x){0,60}") {
            use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
            let no_cf = |t: &str| t.chars().all(|c| c.general_category() != GeneralCategory::Format);
            let lines = |t: &str, p: &str| t.lines().filter(|l| l.starts_with(p)).count();
            let moved = status_timeline_event("1000000001", &text, &text, 0, "us-east-1").event_data;
            proptest::prop_assert!(no_cf(&moved));
            proptest::prop_assert_eq!(moved.lines().count(), 1, "{}", moved);
            let mirrored = comment_timeline_event("1000000001", &text, &text, 0, "us-east-1").event_data;
            proptest::prop_assert!(no_cf(&mirrored));
            let body: Vec<&str> = mirrored.lines().collect();
            proptest::prop_assert!(body[0].starts_with("Comment on AWS Security Incident Response case 1000000001 by "));
            // Between the header and the case's URL, every line is quoted.
            for line in &body[1..body.len() - 1] {
                proptest::prop_assert!(line.starts_with(crate::text::QUOTE.trim_end()), "{:?} in {}", line, mirrored);
            }
            proptest::prop_assert!(body[body.len() - 1].starts_with("https://us-east-1.console.aws.amazon.com/"));
            let told = resolution_comment(&text, ARN2, &text, Some(0), "us-east-1");
            proptest::prop_assert!(no_cf(&told));
            for p in ["ARN:", "Resolved by:", "Resolved at:", "Console:"] {
                proptest::prop_assert_eq!(lines(&told, p), 1, "{} in {}", p, told);
            }
            proptest::prop_assert_eq!(told.lines().count(), 6, "{}", told);
        }
    }
}
