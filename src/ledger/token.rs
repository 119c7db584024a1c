//! Idempotency tokens: a UUID v5 of a write's identity under a fixed namespace,
//! so every retry and every duplicate delivery sends the same token.

use uuid::Uuid;

/// The namespace of every token this product derives. Never change it: doing so
/// would let a redelivery after an upgrade write everything a second time.
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2b8e_93d4_4a57_b0e1_5c7d_2f49_a836);

/// Derives the token for a write named by `parts` (joined with `/`).
pub fn derive(parts: &[&str]) -> String {
    Uuid::new_v5(&NAMESPACE, parts.join("/").as_bytes()).to_string()
}

/// `CreateInvestigation` for a finding: `create-investigation/{region}/{detectorId}/{findingId}`.
pub fn create_investigation(region: &str, detector_id: &str, finding_id: &str) -> String {
    derive(&["create-investigation", region, detector_id, finding_id])
}

/// The close-out's `CreateTimelineEvent` on one incident of a case closed at
/// `closed_ms`: a case closed again after a reopening is another closure, with
/// writes of its own (the same tokens would replay the first closure's answers).
pub fn close_timeline_event(region: &str, case_id: &str, incident_arn: &str, closed_ms: i64) -> String {
    derive(&["close-timeline-event", region, case_id, incident_arn, &closed_ms.to_string()])
}

/// The close-out's `UpdateIncidentRecord` resolving one incident of a case closed at `closed_ms`.
pub fn resolve_incident(region: &str, case_id: &str, incident_arn: &str, closed_ms: i64) -> String {
    derive(&["resolve-incident", region, case_id, incident_arn, &closed_ms.to_string()])
}

/// The `CreateTimelineEvent` mirroring a case's `n`-th status transition
/// (`from` → `to`) to one incident: A→B→A→B is four transitions, four tokens.
pub fn status_timeline_event(region: &str, case_id: &str, n: u32, from: &str, to: &str, incident_arn: &str) -> String {
    derive(&["status-timeline-event", region, case_id, &n.to_string(), from, to, incident_arn])
}

/// The `CreateTimelineEvent` mirroring one case comment to one incident.
pub fn comment_timeline_event(region: &str, case_id: &str, comment_id: &str, incident_arn: &str) -> String {
    derive(&["comment-timeline-event", region, case_id, comment_id, incident_arn])
}

/// The `CreateCaseComment` telling a case that one of its incidents was
/// resolved at `resolved_ms` (resolved again after a reopening: another comment).
pub fn resolution_comment(region: &str, case_id: &str, incident_arn: &str, resolved_ms: i64) -> String {
    derive(&["resolution-comment", region, case_id, incident_arn, &resolved_ms.to_string()])
}

/// The identity of one investigation: every write for it derives its token from this.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Region of the detector.
    pub region: &'a str,
    /// The detector.
    pub detector_id: &'a str,
    /// The investigation.
    pub investigation_id: &'a str,
}

impl Scope<'_> {
    fn token(&self, kind: &str, rest: &[&str]) -> String {
        let mut parts = vec![kind, self.region, self.detector_id, self.investigation_id];
        parts.extend_from_slice(rest);
        derive(&parts)
    }

    /// `CreateCase`: `create-case/{region}/{detectorId}/{investigationId}`.
    pub fn create_case(&self) -> String {
        self.token("create-case", &[])
    }

    /// `CreateCaseComment` naming one incident on one case.
    pub fn comment(&self, case_id: &str, incident_arn: &str) -> String {
        self.token("comment", &[case_id, incident_arn])
    }

    /// `UpdateRelatedItems` adding one case to one incident (the case id is in
    /// the body, so it is in the token too).
    pub fn related_item(&self, case_id: &str, incident_arn: &str) -> String {
        self.token("related-item", &[case_id, incident_arn])
    }

    /// `CreateTimelineEvent` recording the escalation to one case on one incident.
    pub fn timeline_event(&self, case_id: &str, incident_arn: &str) -> String {
        self.token("timeline-event", &[case_id, incident_arn])
    }

    /// `CreateCaseComment` of the recommended actions on one case.
    pub fn recommendations(&self, case_id: &str) -> String {
        self.token("recommendations", &[case_id])
    }

    /// `StartIncident` from the response plan, for one case: its body names the
    /// case as a related item, so the token carries the case id too.
    pub fn start_incident(&self, case_id: &str) -> String {
        self.token("start-incident", &[case_id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: Scope<'static> = Scope {
        region: "us-east-1",
        detector_id: "12abc34d567e8fa901bc2d34e56789f0",
        investigation_id: "c0ffee00-0000-4000-8000-000000000001",
    };

    #[test]
    fn tokens_are_stable_across_runs_and_builds() {
        // Pinned (computed independently with Python's uuid.uuid5): a change here
        // means redeliveries after an upgrade would write everything again.
        assert_eq!(SCOPE.create_case(), "618de4a6-2925-5548-94da-279bac33786f");
        assert_eq!(
            SCOPE.comment("1000000001", "arn:aws:ssm-incidents::123456789012:incident-record/P/1"),
            "60722447-7b3a-5021-b554-868fdb3fda56"
        );
        assert_eq!(Uuid::parse_str(&SCOPE.create_case()).map(|u| u.get_version_num()), Ok(5));
    }

    #[test]
    fn tokens_differ_per_investigation_region_and_write() {
        let other = Scope { investigation_id: "c0ffee00-0000-4000-8000-000000000002", ..SCOPE };
        let elsewhere = Scope { region: "eu-west-1", ..SCOPE };
        let arn = "arn:aws:ssm-incidents::123456789012:incident-record/P/1";
        let all = [
            SCOPE.create_case(),
            other.create_case(),
            elsewhere.create_case(),
            SCOPE.comment("1000000001", arn),
            SCOPE.comment("1000000002", arn),
            SCOPE.comment("1000000001", "arn:aws:ssm-incidents::123456789012:incident-record/P/2"),
            SCOPE.related_item("1000000001", arn),
            SCOPE.related_item("1000000002", arn),
            SCOPE.timeline_event("1000000001", arn),
            SCOPE.timeline_event("1000000002", arn),
            SCOPE.start_incident("1000000001"),
            SCOPE.start_incident("1000000002"),
            other.start_incident("1000000001"),
            create_investigation("us-east-1", SCOPE.detector_id, "f1"),
            create_investigation("us-east-1", SCOPE.detector_id, "f2"),
            close_timeline_event("us-east-1", "1000000001", arn, 1),
            close_timeline_event("us-east-1", "1000000001", arn, 2),
            resolve_incident("us-east-1", "1000000001", arn, 1),
            resolve_incident("us-east-1", "1000000001", arn, 2),
        ];
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
    }

    #[test]
    fn tokens_are_uuids_whatever_the_length_of_their_parts() {
        // The tightest limit is GuardDuty's 64 characters; a UUID is 36, however long the parts.
        let long = "x".repeat(1000);
        let scope = Scope { detector_id: &long, ..SCOPE };
        for t in
            [scope.create_case(), scope.comment(&long, &long), scope.related_item(&long, &long), create_investigation(&long, &long, &long)]
        {
            assert_eq!(t.len(), 36);
            assert!(Uuid::parse_str(&t).is_ok(), "{t}");
        }
    }
}
