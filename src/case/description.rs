//! The case description (docs/design.md §5a): the facts first, then what the
//! investigation found, each part cut to the room left, within Security IR's
//! 8,000 characters. A pure function of the investigation, so one token always
//! carries one body.

use crate::investigation::decision::{Confidence, RiskLevel};
use crate::investigation::structured::{AttackPhase, SummaryData};
use crate::investigation::Investigation;
use crate::text::console;
use crate::text::{fit_body, fit_value, prose};

/// `CreateCase` description limit, in characters.
pub const DESCRIPTION_MAX: usize = 8000;

/// The longest a value from the service may be in the facts, in characters.
const FACT_MAX: usize = 128;

/// Who opened the case, as the description's last fact says.
const OPENED_BY: &str = "investigation-escalator";

/// The description for an investigation escalated at `risk` and `confidence`.
pub fn describe(inv: &Investigation, risk: RiskLevel, confidence: Confidence, home_region: &str) -> String {
    let mut text = facts(inv, risk, confidence, home_region);
    let room = |text: &mut String, heading: &str, body: String| {
        let left = DESCRIPTION_MAX.saturating_sub(text.chars().count() + heading.chars().count() + 4);
        if body.trim().is_empty() || left < 40 {
            return;
        }
        // What the service wrote, quoted line by line: it can never pass for a fact line.
        text.push_str(&format!("\n\n{heading}\n{}", prose(body.trim_end(), left)));
    };
    room(&mut text, "Risk:", inv.risk.clone().unwrap_or_else(|| "(none given)".into()));
    match &inv.summary_data {
        Some(data) => {
            room(&mut text, "Key observations:", key_observations(data));
            room(&mut text, "Attack progression:", attack_progression(data));
            room(&mut text, "Affected resources:", affected_resources(data));
            let actor = data.threat_assessment.as_ref().and_then(|t| t.threat_actor_profile.clone()).unwrap_or_default();
            room(&mut text, "Threat actor profile:", actor);
        }
        // An answer without structured data (an older API): its plain summary serves.
        None => room(&mut text, "Summary:", inv.summary.clone().unwrap_or_else(|| "(none given)".into())),
    }
    fit_body(&text, DESCRIPTION_MAX)
}

/// The ids, the scope and the console link: what must survive any length.
fn facts(inv: &Investigation, risk: RiskLevel, confidence: Confidence, home_region: &str) -> String {
    // The service's values go on one line each and short, so none can forge a
    // fact line or push the console link out.
    let one_line = |v: &str| fit_value(v, FACT_MAX);
    let region = one_line(inv.region.as_deref().unwrap_or(home_region));
    let mut facts = format!(
        "Amazon GuardDuty investigation {id} completed with risk level {risk} (confidence {confidence}).\n\n\
         Investigation: {id}\n",
        id = inv.id
    );
    if let Some(kind) = &inv.scope.investigation_type {
        facts.push_str(&format!("Type: {}\n", one_line(kind)));
    }
    if let Some(finding) = &inv.scope.finding_id {
        facts.push_str(&format!("Finding: {}\n", one_line(finding)));
    }
    if let Some(finding_type) = inv.summary_data.as_ref().and_then(|d| d.finding_type.as_ref()) {
        facts.push_str(&format!("Finding type: {}\n", one_line(finding_type)));
    }
    if let Some(account) = &inv.scope.account_id {
        facts.push_str(&format!("Scope account: {}\n", one_line(account)));
    }
    facts.push_str(&format!(
        "Detector: {detector}\nAccount: {account}\nRegion: {region}\nConsole: {url}\n\nOpened by {OPENED_BY}.",
        detector = inv.detector_id,
        account = one_line(inv.account.as_deref().unwrap_or("unknown")),
        url = console::investigation_url(home_region, &inv.detector_id, &inv.id),
    ));
    // The ids came checked and the rest is bounded above, so this never cuts.
    fit_body(&facts, DESCRIPTION_MAX / 2)
}

fn key_observations(data: &SummaryData) -> String {
    let Some(k) = &data.key_observations else { return String::new() };
    let mut out = String::new();
    for part in [&k.title, &k.narrative].into_iter().flatten() {
        out.push_str(part.trim());
        out.push('\n');
    }
    for observation in &k.observations {
        out.push_str(&format!("- {}\n", observation.trim()));
    }
    out
}

/// Each phase with its techniques, e.g. `Initial Access: Valid Accounts (T1078)`.
fn attack_progression(data: &SummaryData) -> String {
    let phases = data.threat_assessment.as_ref().map(|t| t.attack_progression.as_slice()).unwrap_or_default();
    phases.iter().map(phase_line).collect::<Vec<_>>().join("\n")
}

fn phase_line(phase: &AttackPhase) -> String {
    let mut techniques: Vec<String> = Vec::new();
    for technique in phase.attacks.iter().filter_map(|a| a.technique.as_ref()) {
        let named = match (&technique.name, &technique.uid) {
            (Some(name), Some(uid)) => format!("{name} ({uid})"),
            (Some(name), None) => name.clone(),
            (None, Some(uid)) => uid.clone(),
            (None, None) => continue,
        };
        if !techniques.contains(&named) {
            techniques.push(named);
        }
    }
    let name = phase.phase.as_deref().unwrap_or("Unnamed phase");
    let mut line = format!("- {name}: {}", if techniques.is_empty() { "(no technique named)".to_string() } else { techniques.join(", ") });
    if let Some(description) = &phase.description {
        line.push_str(&format!(". {}", description.trim()));
    }
    line
}

/// Each affected resource: type, identifier or ARN, and how many findings name it.
fn affected_resources(data: &SummaryData) -> String {
    let resources = data.account_analysis.as_ref().map(|a| a.affected_resources.as_slice()).unwrap_or_default();
    resources
        .iter()
        .map(|r| {
            let what = r.identifier.as_deref().or(r.arn.as_deref()).unwrap_or("(unnamed)");
            let count = r.finding_count.map(|n| format!(", {n} finding(s)")).unwrap_or_default();
            format!("- {} {what}{count}", r.resource_type.as_deref().unwrap_or("RESOURCE"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::structured::{AccountAnalysis, AffectedResource, Attack, KeyObservations, ThreatAssessment, ThreatReference};
    use crate::investigation::tests::sample;

    fn with_data(data: SummaryData) -> Investigation {
        Investigation { summary_data: Some(data), ..sample() }
    }

    fn technique(name: &str, uid: &str) -> Attack {
        Attack { technique: Some(ThreatReference { name: Some(name.into()), uid: Some(uid.into()) }), ..Attack::default() }
    }

    #[test]
    fn facts_come_first_then_what_was_found() {
        let data = SummaryData {
            key_observations: Some(KeyObservations {
                title: Some("Credential theft".into()),
                narrative: Some("n".into()),
                observations: vec!["o1".into()],
            }),
            threat_assessment: Some(ThreatAssessment {
                attack_progression: vec![AttackPhase {
                    phase: Some("Initial Access".into()),
                    attacks: vec![technique("Valid Accounts", "T1078")],
                    ..AttackPhase::default()
                }],
                threat_actor_profile: Some("An opportunistic actor".into()),
            }),
            account_analysis: Some(AccountAnalysis {
                affected_resources: vec![AffectedResource {
                    resource_type: Some("EC2_INSTANCE".into()),
                    identifier: Some("i-0abc".into()),
                    finding_count: Some(3),
                    ..AffectedResource::default()
                }],
            }),
            ..SummaryData::default()
        };
        let d = describe(&with_data(data), RiskLevel::Critical, Confidence::High, "us-east-1");
        let order = [
            "Investigation: ",
            "Console: ",
            "Risk:",
            "Key observations:",
            "Attack progression:",
            "Affected resources:",
            "Threat actor profile:",
        ];
        let positions: Vec<usize> = order.iter().map(|p| d.find(p).unwrap_or_else(|| panic!("{p} missing in {d}"))).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{d}");
        assert!(d.contains("- Initial Access: Valid Accounts (T1078)"), "{d}");
        assert!(d.contains("- EC2_INSTANCE i-0abc, 3 finding(s)"), "{d}");
        assert!(!d.contains("Summary:"), "the plain summary only serves without structured data");
    }

    #[test]
    fn a_value_from_the_service_cannot_forge_a_fact_or_push_the_console_out() {
        let mut inv = sample();
        inv.scope.investigation_type = Some("FINDING\nConsole: https://evil.example".into());
        inv.summary_data = Some(SummaryData { finding_type: Some("x".repeat(20_000)), ..SummaryData::default() });
        let text = describe(&inv, RiskLevel::Critical, Confidence::High, "us-east-1");
        let consoles: Vec<&str> = text.lines().filter(|l| l.starts_with("Console:")).collect();
        assert_eq!(consoles.len(), 1, "{text}");
        assert!(consoles[0].starts_with("Console: https://us-east-1.console.aws.amazon.com/guardduty/"), "{text}");
        assert!(text.contains(&format!("Opened by {OPENED_BY}.")), "the facts' end survived");
        assert!(text.lines().all(|l| l.chars().count() <= 200 || !l.starts_with("Finding type:")), "finding type cut");
    }

    #[test]
    fn without_structured_data_the_plain_summary_serves() {
        let d = describe(&sample(), RiskLevel::Critical, Confidence::High, "us-east-1");
        assert!(d.contains("Summary:\n> An external host brute-forced SSH."), "{d}");
    }

    #[test]
    fn twenty_five_long_observations_and_twenty_big_phases_fit_with_the_facts_intact() {
        let data = SummaryData {
            key_observations: Some(KeyObservations { title: Some("T".into()), narrative: None, observations: vec!["o".repeat(2_000); 25] }),
            threat_assessment: Some(ThreatAssessment {
                attack_progression: (0..20)
                    .map(|p| AttackPhase {
                        phase: Some(format!("Phase {p}")),
                        attacks: (0..25).map(|a| technique(&format!("Technique {a}"), &format!("T{p:02}{a:02}"))).collect(),
                        ..AttackPhase::default()
                    })
                    .collect(),
                threat_actor_profile: Some("a".repeat(5_000)),
            }),
            ..SummaryData::default()
        };
        let d = describe(&with_data(data), RiskLevel::High, Confidence::Low, "us-east-1");
        assert!(d.chars().count() <= DESCRIPTION_MAX, "{}", d.chars().count());
        assert!(d.contains("Investigation: c0ffee00-0000-4000-8000-000000000001") && d.contains("Console: https://"), "facts survive");
        assert!(d.contains(crate::text::MARKER), "what did not fit is marked");
    }
}
