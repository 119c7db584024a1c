//! Which Incident Manager records belong to an investigation (docs/design.md §6):
//! a record matches when its title, summary, dedupe string, source resource ARN
//! or a related item mentions the investigation id or a finding id it names.
//! Resolved records never match.

use std::fmt;

use crate::investigation::Investigation;
use crate::trigger::ids::MAX_FINDING_IDS;

/// Length of a GuardDuty finding id (hexadecimal digits).
const FINDING_ID_LEN: usize = 32;

/// The ids a matching record mentions, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needles(Vec<String>);

impl Needles {
    /// The investigation id (lower-cased).
    pub fn investigation_id(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }

    /// The finding ids among them, in order (the scope's first).
    pub fn finding_ids(&self) -> &[String] {
        self.0.get(1..).unwrap_or_default()
    }
}

/// Collects the investigation id and the finding ids it names, in this order:
/// the scope's finding, every finding behind an attack, those in its trigger
/// prompt, and those the event gave; lower-cased, each once, at most
/// [`MAX_FINDING_IDS`]. The detector id is also 32 hex digits, so it is left
/// out: it would match every incident of the detector.
pub fn needles(inv: &Investigation, event_finding_ids: &[String]) -> Needles {
    let detector = inv.detector_id.to_ascii_lowercase();
    let attacks = inv.summary_data.iter().flat_map(|d| &d.threat_assessment).flat_map(|t| &t.attack_progression).flat_map(|p| &p.attacks);
    let named = inv
        .scope
        .finding_id
        .iter()
        .cloned()
        .chain(attacks.flat_map(|a| &a.findings).filter_map(|f| f.uid.clone()))
        .chain(finding_ids_in(&inv.trigger_prompt))
        .chain(event_finding_ids.iter().cloned());
    let mut findings: Vec<String> = Vec::new();
    for id in named.filter_map(|id| crate::trigger::ids::finding_id(id.trim())) {
        if findings.len() == MAX_FINDING_IDS {
            break;
        }
        if id != detector && !findings.contains(&id) {
            findings.push(id);
        }
    }
    Needles(std::iter::once(inv.id.to_ascii_lowercase()).chain(findings).collect())
}

/// GuardDuty finding ids (runs of exactly 32 hexadecimal digits) in a text, lower-cased.
pub fn finding_ids_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for run in text.split(|c: char| !c.is_ascii_hexdigit()) {
        if run.len() == FINDING_ID_LEN {
            let id = run.to_ascii_lowercase();
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
    found
}

/// An incident record, as far as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidate {
    /// The record's ARN.
    pub arn: String,
    /// Title.
    pub title: String,
    /// Summary (from `GetIncidentRecord`).
    pub summary: Option<String>,
    /// Dedupe string (from `GetIncidentRecord`).
    pub dedupe_string: Option<String>,
    /// `incidentRecordSource.resourceArn`.
    pub source_resource_arn: Option<String>,
    /// `OPEN` (true) or `RESOLVED`.
    pub open: bool,
    /// Related items: each one's title and value (URL, ARN or metric).
    pub related_items: Vec<RelatedItemView>,
}

/// A related item, as matching and linking need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedItemView {
    /// Its title.
    pub title: Option<String>,
    /// Its URL, ARN or metric definition.
    pub value: String,
}

/// Which rule made a record match (logged, never written into a token-protected body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchRule {
    /// Named by the event's `incidentRecordArn`.
    Explicit,
    /// The title mentions an id.
    Title,
    /// The summary mentions an id.
    Summary,
    /// The dedupe string mentions an id.
    DedupeString,
    /// The source resource ARN mentions an id.
    SourceResource,
    /// A related item mentions an id.
    RelatedItem,
    /// Started by this product from the response plan.
    Started,
}

impl fmt::Display for MatchRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchRule::Explicit => "explicit_arn",
            MatchRule::Title => "title",
            MatchRule::Summary => "summary",
            MatchRule::DedupeString => "dedupe_string",
            MatchRule::SourceResource => "source_resource_arn",
            MatchRule::RelatedItem => "related_item",
            MatchRule::Started => "started_from_response_plan",
        })
    }
}

/// Decides whether a record belongs to the investigation, and by which rule.
pub fn match_candidate(c: &Candidate, needles: &Needles) -> Option<MatchRule> {
    if !c.open {
        return None;
    }
    let mentions = |text: &str| {
        let text = text.to_ascii_lowercase();
        needles.0.iter().any(|n| text.contains(n.as_str()))
    };
    if mentions(&c.title) {
        return Some(MatchRule::Title);
    }
    if c.summary.as_deref().is_some_and(mentions) {
        return Some(MatchRule::Summary);
    }
    if c.dedupe_string.as_deref().is_some_and(mentions) {
        return Some(MatchRule::DedupeString);
    }
    if c.source_resource_arn.as_deref().is_some_and(mentions) {
        return Some(MatchRule::SourceResource);
    }
    if c.related_items.iter().any(|i| mentions(&i.value) || i.title.as_deref().is_some_and(mentions)) {
        return Some(MatchRule::RelatedItem);
    }
    None
}

/// The creation times of the records worth considering, as `(after, before)` in
/// milliseconds: from `lookback_hours` before the investigation started to
/// `lookback_hours` after it ended (its start, when it has no end). A record
/// opened from the same finding while the investigation ran belongs to it; one
/// opened a month later does not (a backfill of an old investigation must not
/// match today's incidents).
pub fn window_ms(start_ms: i64, end_ms: Option<i64>, lookback_hours: u32) -> (i64, i64) {
    // Saturating: an investigation's times come from outside and may be anything.
    let lookback = i64::from(lookback_hours) * 3_600_000;
    let end = end_ms.unwrap_or(start_ms).max(start_ms);
    (start_ms.saturating_sub(lookback), end.saturating_add(lookback))
}

impl MatchRule {
    /// How strongly the rule ties a record to the investigation: the sender's own
    /// choice first, then fields a person or an integration sets on purpose
    /// (title, dedupe string, source), then free text.
    fn strength(self) -> u8 {
        match self {
            MatchRule::Explicit | MatchRule::Started => 6,
            MatchRule::Title => 5,
            MatchRule::DedupeString => 4,
            MatchRule::SourceResource => 3,
            MatchRule::Summary => 2,
            MatchRule::RelatedItem => 1,
        }
    }
}

/// Whether any matching field of `c` names the investigation itself (not only
/// one of its findings): a stronger tie than a finding id that other
/// investigations may share.
pub fn names_investigation(c: &Candidate, needles: &Needles) -> bool {
    let Some(id) = needles.0.first() else { return false };
    let has = |text: &str| text.to_ascii_lowercase().contains(id.as_str());
    has(&c.title)
        || [&c.summary, &c.dedupe_string, &c.source_resource_arn].into_iter().flatten().any(|t| has(t))
        || c.related_items.iter().any(|i| has(&i.value) || i.title.as_deref().is_some_and(has))
}

/// The order in which matches are linked, strongest first: by whether the
/// record names the investigation, then by the rule, then by ARN (so the result
/// and the metadata keys never depend on answer order).
pub fn strongest_first(a: (&Candidate, MatchRule), b: (&Candidate, MatchRule), needles: &Needles) -> std::cmp::Ordering {
    let key = |(c, rule): (&Candidate, MatchRule)| (std::cmp::Reverse(names_investigation(c, needles)), std::cmp::Reverse(rule.strength()));
    key(a).cmp(&key(b)).then_with(|| a.0.arn.cmp(&b.0.arn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::tests::sample;

    const FINDING: &str = "5ab4c8d9e0f1a2b3c4d5e6f7a8b9c0d1";

    fn open(title: &str) -> Candidate {
        Candidate {
            arn: "arn:aws:ssm-incidents::123456789012:incident-record/P/1".into(),
            title: title.into(),
            open: true,
            ..Default::default()
        }
    }

    #[test]
    fn needles_are_the_investigation_and_its_findings_not_the_detector() {
        let mut inv = sample();
        inv.trigger_prompt = format!("Finding {} of detector {} and {FINDING} again", FINDING.to_uppercase(), inv.detector_id);
        let n = needles(&inv, &["7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2F".into(), FINDING.into()]);
        assert_eq!(&n.0, &[inv.id.clone(), FINDING.to_string(), "7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f".to_string()]);
    }

    #[test]
    fn finding_ids_are_exactly_32_hex_digits() {
        // Bounded by characters that are not hex digits: found.
        assert_eq!(finding_ids_in(&format!("x{FINDING}y")), vec![FINDING]);
        // Glued to another hex digit it is a 33-digit run: not a finding id.
        assert_eq!(finding_ids_in(&format!("id={FINDING}.")), vec![FINDING]);
        assert!(finding_ids_in(&format!("{FINDING}0")).is_empty());
        assert!(finding_ids_in("no ids here").is_empty());
    }

    #[test]
    fn each_field_can_match() {
        let n = needles(&sample(), &[]);
        assert_eq!(match_candidate(&open(&format!("Finding {FINDING}")), &n), Some(MatchRule::Title));
        let c = Candidate { summary: Some(format!("see {}", sample().id.to_uppercase())), ..open("x") };
        assert_eq!(match_candidate(&c, &n), Some(MatchRule::Summary));
        let c = Candidate { dedupe_string: Some(format!("guardduty-{FINDING}")), ..open("x") };
        assert_eq!(match_candidate(&c, &n), Some(MatchRule::DedupeString));
        let c = Candidate { source_resource_arn: Some(format!("arn:aws:guardduty:us-east-1:1:detector/d/finding/{FINDING}")), ..open("x") };
        assert_eq!(match_candidate(&c, &n), Some(MatchRule::SourceResource));
        let c = Candidate { related_items: vec![RelatedItemView { title: None, value: format!("https://x/{FINDING}") }], ..open("x") };
        assert_eq!(match_candidate(&c, &n), Some(MatchRule::RelatedItem));
    }

    #[test]
    fn matches_naming_the_investigation_and_by_stronger_rules_come_first() {
        let n = needles(&sample(), &[]);
        let inv = sample().id;
        let with = |arn: &str, title: String, summary: Option<String>| Candidate { arn: arn.into(), summary, ..open(&title) };
        let by_finding_title = with("arn:1", format!("Finding {FINDING}"), None);
        let by_inv_summary = with("arn:2", "x".into(), Some(format!("see {inv}")));
        let by_inv_title = with("arn:3", format!("Investigation {inv}"), None);
        let by_inv_title_too = with("arn:0", format!("Investigation {inv}"), None);
        let mut all: Vec<&Candidate> = vec![&by_finding_title, &by_inv_summary, &by_inv_title, &by_inv_title_too];
        all.sort_by(|a, b| {
            let rule = |c: &Candidate| match_candidate(c, &n).expect("matches");
            strongest_first((a, rule(a)), (b, rule(b)), &n)
        });
        let order: Vec<&str> = all.iter().map(|c| c.arn.as_str()).collect();
        assert_eq!(order, ["arn:0", "arn:3", "arn:2", "arn:1"], "naming the investigation, then the rule, then the ARN");
        assert!(!names_investigation(&by_finding_title, &n));
    }

    #[test]
    fn unrelated_open_incidents_never_match() {
        let n = needles(&sample(), &[]);
        let c = Candidate {
            summary: Some("Checkout returns 502s".into()),
            dedupe_string: Some("checkout-5xx".into()),
            source_resource_arn: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:5xx".into()),
            ..open("Elevated 5xx on checkout API")
        };
        assert_eq!(match_candidate(&c, &n), None);
    }

    #[test]
    fn resolved_incidents_never_match_even_with_the_same_finding() {
        let n = needles(&sample(), &[]);
        let c = Candidate { open: false, dedupe_string: Some(FINDING.into()), ..open(&format!("Finding {FINDING}")) };
        assert_eq!(match_candidate(&c, &n), None);
    }

    #[test]
    fn several_candidates_each_decide_alone() {
        let n = needles(&sample(), &[]);
        let candidates = [open(&format!("A {FINDING}")), open("unrelated"), open(&format!("B {}", sample().id))];
        let matched: Vec<bool> = candidates.iter().map(|c| match_candidate(c, &n).is_some()).collect();
        assert_eq!(matched, vec![true, false, true]);
    }

    #[test]
    fn the_window_reaches_back_the_lookback() {
        assert_eq!(window_ms(100_000_000, Some(200_000_000), 24), (100_000_000 - 86_400_000, 200_000_000 + 86_400_000));
        assert_eq!(window_ms(100_000_000, None, 1), (96_400_000, 103_600_000), "no end: around the start");
        assert_eq!(window_ms(100_000_000, Some(0), 1), (96_400_000, 103_600_000), "an end before the start is the start");
        assert_eq!(window_ms(i64::MAX, None, 8_760).1, i64::MAX);
    }

    #[test]
    fn the_window_cannot_overflow_whatever_the_times() {
        assert_eq!(window_ms(i64::MIN, None, 8_760).0, i64::MIN);
        assert_eq!(window_ms(7_200_000, None, 1).0, 3_600_000);
    }

    #[test]
    fn the_structured_answer_names_findings_first_and_only_a_hundred_count() {
        use crate::investigation::structured::{Attack, AttackPhase, FindingReference, SummaryData, ThreatAssessment};
        let mut inv = sample();
        inv.scope.finding_id = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
        let attack = |uid: String| Attack { findings: vec![FindingReference { uid: Some(uid), finding_type: None }], ..Attack::default() };
        let phases = vec![AttackPhase {
            attacks: (0..150).map(|i| attack(format!("{i:032x}"))).chain([attack("not-a-finding".into())]).collect(),
            ..AttackPhase::default()
        }];
        inv.summary_data = Some(SummaryData {
            threat_assessment: Some(ThreatAssessment { attack_progression: phases, threat_actor_profile: None }),
            ..SummaryData::default()
        });
        let n = needles(&inv, &[]);
        assert_eq!(n.0[1], "a".repeat(32), "the scope's finding first, lower-cased");
        assert_eq!(n.0[2], format!("{:032x}", 0));
        assert_eq!(n.0.len(), 1 + MAX_FINDING_IDS, "the investigation id and at most 100 findings");
        assert!(!n.0.iter().any(|id| id == "not-a-finding"));
    }
}
