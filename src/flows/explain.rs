//! The operator's account of one investigation's escalation (docs/design.md
//! §13): what the function would do with it now, and why, built from the
//! escalation's own parts (the decision table, the case builder, the incident
//! search, the link plan, the tokens) with read calls only. Nothing is
//! written: not a case, not a link, not a ledger item.

use std::collections::BTreeSet;

use serde::Serialize;

use super::escalate::decide_resuming;
use crate::aws::{CaseView, SecurityIr};
use crate::case::builder::{build_case, CaseRequest, Omissions};
use crate::case::threat_actors::{threat_actors, ThreatActor};
use crate::incident::cross_link::{self, Body, OpenedCase, Plan};
use crate::incident::links;
use crate::incident::matcher::{needles, window_ms};
use crate::incident::search::{self, Found};
use crate::investigation::decision::{checks, Check, Confidence, Decision, RiskLevel, SkipReason};
use crate::investigation::Investigation;
use crate::ledger::item::{Entry, Record};
use crate::ledger::keys::investigation_key;
use crate::ledger::step::{next_step, settled, Step, Wait};
use crate::ledger::token::Scope;
use crate::runtime::app::App;
use crate::runtime::error::Error;
use crate::text::console;
use crate::text::fit_title;
use crate::trigger::event::InvestigationRef;

/// What the function would do with one investigation, and why.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The investigation explained.
    pub investigation_id: String,
    /// Its detector.
    pub detector_id: String,
    /// The investigation as GuardDuty answers now (none when it did not answer
    /// and the ledger had settled it: the function would not ask).
    pub investigation: Option<Facts>,
    /// The gates in force (`RISK_THRESHOLD`, `MIN_CONFIDENCE`).
    pub gates: GatesInForce,
    /// Each gate of the decision table, with its verdict.
    pub checks: Vec<Check>,
    /// `escalate`, `skip`, `pending` or `already_escalated`.
    pub decision: &'static str,
    /// Why, in a sentence.
    pub why: String,
    /// The skip reason, as the result JSON spells it.
    pub reason: Option<&'static str>,
    /// Whether a ledger is configured (`LEDGER_TABLE`).
    pub ledger_configured: bool,
    /// The investigation's ledger item, if there is one.
    pub ledger: Option<Record>,
    /// The case: the one that would be opened, or the one already open.
    pub case: Option<CasePlan>,
    /// The incident records that belong to the investigation, and by which rule.
    pub incidents: Vec<IncidentMatch>,
    /// The public addresses the findings name, as the case would carry them.
    pub threat_actors: Vec<ThreatActorView>,
    /// Every write an escalation would make now, each with its token.
    pub writes: Vec<PlannedWrite>,
    /// Anything else a person deciding on this should know.
    pub notes: Vec<String>,
}

/// The investigation's facts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// Its id.
    pub id: String,
    /// Its detector.
    pub detector_id: String,
    /// `RUNNING`, `COMPLETED`, `FAILED` or what the service sent.
    pub status: String,
    /// As sent.
    pub risk_level: Option<String>,
    /// As sent.
    pub confidence: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Its end (epoch ms), when it has one.
    pub end_ms: Option<i64>,
    /// The GuardDuty console page.
    pub console_url: String,
}

/// The decision's gates.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatesInForce {
    /// `RISK_THRESHOLD`.
    pub risk_threshold: RiskLevel,
    /// `MIN_CONFIDENCE`.
    pub min_confidence: Confidence,
    /// `DRY_RUN`.
    pub dry_run: bool,
}

/// The case, as `CreateCase` would send it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CasePlan {
    /// The case already opened for this investigation (ledger, or found by its title).
    pub existing_case_id: Option<String>,
    /// `CreateCase`'s `clientToken`.
    pub client_token: String,
    /// The title.
    pub title: String,
    /// `Security Incident` or `Investigation`.
    pub engagement_type: String,
    /// `Self` or `AWS`.
    pub resolver_type: String,
    /// `impactedAccounts`.
    pub impacted_accounts: Vec<String>,
    /// `impactedAwsRegions`.
    pub impacted_regions: Vec<String>,
    /// `impactedServices`.
    pub impacted_services: Vec<String>,
    /// The watchers' addresses.
    pub watchers: Vec<String>,
    /// The description, whole.
    pub description: String,
    /// What the service would refuse and is left out, one line each.
    pub left_out: Vec<String>,
}

/// An incident record that belongs to the investigation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentMatch {
    /// Its ARN.
    pub arn: String,
    /// Its title.
    pub title: String,
    /// The matching rule (`explicit_arn`, `title`, `summary`, …).
    pub rule: String,
}

/// A threat actor address.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreatActorView {
    /// The address.
    pub address: String,
    /// The user agent seen with it.
    pub user_agent: Option<String>,
}

/// One write of the escalation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedWrite {
    /// The API operation.
    pub operation: &'static str,
    /// What it writes to (the case, or an incident record's ARN).
    pub target: String,
    /// Its idempotency token; `None` when it has none (`UpdateCase`) or when it
    /// derives from something not known yet (then `token_note` says what).
    pub token: Option<String>,
    /// Why the token is not shown, when it is not.
    pub token_note: Option<&'static str>,
    /// `to do`, or why it is not needed.
    pub state: String,
    /// What it sends, in a line.
    pub detail: String,
}

/// Explains what an escalation of `target` would do now. Read calls only.
pub async fn explain(app: &App, target: &InvestigationRef) -> Result<Explanation, Error> {
    let key = investigation_key(&app.region, &target.detector_id, &target.investigation_id);
    let (record, prior) = match &app.ledger {
        Some(ledger) => ledger.read(&key).await?,
        None => (None, Entry::Absent),
    };
    let got = app.guardduty.get_investigation(&target.detector_id, &target.investigation_id).await;
    // As the function does: what the ledger settled for good is answered from the
    // ledger, without GuardDuty; the investigation is read only to show its facts.
    if let Some(step) = settled(&prior) {
        let mut x = explanation(app, target, got.as_ref().ok(), record);
        match &step {
            Step::Escalated(done) => {
                (x.decision, x.reason) = ("already_escalated", None);
                x.why = format!(
                    "the ledger says it was escalated to case {}: every later delivery answers with that case",
                    clean(&done.case_id)
                );
                let recorded = |arn: &String| IncidentMatch { arn: clean(arn), title: String::new(), rule: "recorded".into() };
                x.incidents = done.incidents.iter().map(recorded).collect();
            }
            Step::Skip { reason, .. } => {
                (x.decision, x.reason) = ("skip", Some(reason.as_str()));
                x.why = format!("the ledger recorded it as skipped for good ({}): it is never decided again", reason.as_str());
            }
            Step::Pending(_) | Step::Escalate { .. } => {}
        }
        if let Err(e) = got {
            x.notes.push(format!("GuardDuty did not answer for it ({e}); the function answers from the ledger without asking"));
        }
        return Ok(x);
    }
    let inv = got?;
    let mut x = explanation(app, target, Some(&inv), record);
    let writes_ledger = app.ledger.is_some() && !app.config.dry_run;
    // No invocation's own lease: any live one is another's.
    let decision = decide_resuming(&inv, app, &prior);
    match next_step(&prior, decision, app.clock.now_secs(), writes_ledger, "") {
        Step::Escalated(_) => {}
        Step::Pending(Wait::Unfinished) => {
            x.why =
                format!("the investigation is {}: it is decided once it finishes (a later sweep or delivery)", clean(inv.status.as_str()));
        }
        Step::Skip { reason, .. } => {
            (x.decision, x.reason) = ("skip", Some(reason.as_str()));
            x.why = skip_why(&x.checks, reason.as_str());
            x.notes.extend(would_escalate(&inv, reason));
        }
        Step::Pending(Wait::InProgressOverSkip) => {
            // The step follows a skip decision; nothing else leads here.
            let Decision::Skip(reason) = decision else { return Ok(x) };
            (x.decision, x.reason) = ("pending", Some(reason.as_str()));
            x.notes.extend(would_escalate(&inv, reason));
            x.notes.push(format!(
                "the ledger holds an escalation in progress (or one that stopped), so the skip is not recorded and a delivery answers pending: {}",
                skip_why(&x.checks, reason.as_str())
            ));
            x.why = "an escalation in progress (or one that stopped) holds the ledger item; the gates would skip it now".into();
        }
        step @ (Step::Escalate { .. } | Step::Pending(Wait::LeaseHeld { .. })) => {
            // Both steps follow an escalate decision; nothing else leads here.
            let Decision::Escalate { risk, confidence } = decision else { return Ok(x) };
            x.decision = "escalate";
            x.why = if x.checks.iter().all(|c| c.passes) {
                format!("risk {risk} and confidence {confidence} pass the gates")
            } else {
                "a case was opened already under gates that passed then: the escalation finishes it whatever the gates say now".into()
            };
            if let Step::Pending(Wait::LeaseHeld { owner, seconds_left }) = step {
                x.decision = "pending";
                x.why = format!(
                    "{} holds its lease for {seconds_left} s more: a delivery now answers pending; the writes below are what the holder \
                     (or, once the lease ends, a takeover) makes",
                    clean(&owner)
                );
            }
            plan_escalation(app, target, &inv, (risk, confidence), &prior, &mut x).await?;
        }
    }
    Ok(x)
}

/// The explanation's facts and gates; the decision is filled in by the caller.
fn explanation(app: &App, target: &InvestigationRef, inv: Option<&Investigation>, ledger: Option<Record>) -> Explanation {
    let gates = app.config.gates();
    Explanation {
        investigation_id: target.investigation_id.clone(),
        detector_id: target.detector_id.clone(),
        investigation: inv.map(|inv| Facts {
            id: inv.id.clone(),
            detector_id: inv.detector_id.clone(),
            status: clean(inv.status.as_str()),
            risk_level: inv.risk_text().map(|r| clean(&r)),
            confidence: inv.confidence.as_ref().map(|c| clean(&c.to_string())),
            error: inv.error.as_deref().map(|e| fit_title(e, 1_000)),
            end_ms: inv.end_ms,
            console_url: console::investigation_url(&app.region, &inv.detector_id, &inv.id),
        }),
        gates: GatesInForce { risk_threshold: gates.risk_threshold, min_confidence: gates.min_confidence, dry_run: app.config.dry_run },
        checks: inv.map_or_else(Vec::new, |inv| checks(inv, &gates).into_iter().map(|c| Check { value: clean(&c.value), ..c }).collect()),
        decision: "pending",
        why: String::new(),
        reason: None,
        ledger_configured: app.ledger.is_some(),
        ledger,
        case: None,
        incidents: Vec::new(),
        threat_actors: Vec::new(),
        writes: Vec::new(),
        notes: Vec::new(),
    }
}

/// For a skip by a gate, the setting at which it would escalate (for tuning).
fn would_escalate(inv: &Investigation, reason: SkipReason) -> Option<String> {
    let confidence = inv.known_confidence();
    match reason {
        SkipReason::BelowThreshold => {
            let risk = inv.known_risk()?;
            Some(format!("it would pass the risk gate with RISK_THRESHOLD={risk} or lower"))
        }
        SkipReason::LowConfidence => Some(format!("it would escalate with MIN_CONFIDENCE={confidence} or lower")),
        _ => None,
    }
}

/// Text from a service, on one short line for a terminal (no control characters).
fn clean(text: &str) -> String {
    fit_title(text, 200)
}

/// The sentence for a skip: the first gate that failed, else the reason.
fn skip_why(checks: &[Check], reason: &str) -> String {
    match checks.iter().find(|c| !c.passes) {
        Some(c) => format!("{} {} does not pass: it needs {} ({reason})", c.gate, c.value, c.needs),
        None => format!("skipped: {reason}"),
    }
}

/// Fills in the case, incidents, threat actors and writes of an escalation.
async fn plan_escalation(
    app: &App,
    target: &InvestigationRef,
    inv: &Investigation,
    (risk, confidence): (RiskLevel, Confidence),
    prior: &Entry,
    x: &mut Explanation,
) -> Result<(), Error> {
    let (case, omissions) = build_case(inv, risk, confidence, &app.config, &app.region, SecurityIr::case_regions())?;
    let needles = needles(inv, target.vouched_finding_ids());
    let window = window_ms(case.reported_incident_start_ms, inv.end_ms, app.config.incident_lookback_hours);
    let found = search::find(app, target.named_incident(), &needles, window).await?;
    let actors = threat_actors(&app.guardduty.sightings(&inv.detector_id, needles.finding_ids()).await?);
    // The case opened already: the ledger's (the escalation resumes with it and sends no
    // CreateCase), else one whose title names the investigation (CreateCase's token leads to it).
    let recorded = match prior {
        Entry::InProgress { case_id: Some(case_id), .. } => Some(case_id.clone()),
        _ => None,
    };
    let titled = match &recorded {
        Some(_) => None,
        None => app.security_ir.case_of_investigation(&inv.id).await?,
    };
    let existing = recorded.clone().or_else(|| titled.clone());
    let view = match &existing {
        Some(case_id) => app.security_ir.get_case(case_id).await?,
        None => CaseView::default(),
    };
    let done_before: BTreeSet<String> = x.ledger.iter().flat_map(|r| r.steps_done.iter().cloned()).collect();
    x.writes.push(create_case_write(&case, recorded.as_deref(), titled.as_deref()));
    // A stand-in for a case not opened yet: the plan is the same, its tokens are not.
    let case_id = existing.as_deref().unwrap_or("{caseId}");
    let mut found = found;
    if found.is_empty() {
        if let Some(start) = start_incident_write(app, inv, existing.as_deref()) {
            x.writes.push(start);
            // The escalation links the incident it starts as it links a found one.
            found.push(search::started(links::start_incident(inv, risk, case_id, &app.case_region), STARTED.into()));
        }
    }
    let opened = OpenedCase { inv, risk, confidence, case_id, view: Some(&view), read_ms: None, actors: &actors };
    let plan = cross_link::plan(app, &opened, &found, &done_before);
    for w in &plan.writes {
        let token_note = if w.token.is_none() {
            Some("none: UpdateCase takes no token; it reads the case first and writes only what is missing")
        } else if w.incident.as_deref() == Some(STARTED) {
            Some("derives from the started incident's ARN, known once StartIncident answers")
        } else if existing.is_none() {
            Some("derives from the case id, known once CreateCase answers")
        } else {
            None
        };
        let token = w.token.clone().filter(|_| token_note.is_none());
        let target = match (&w.body, &w.incident) {
            (Body::RelatedItem | Body::TimelineEvent, Some(arn)) => arn.clone(),
            (_, Some(arn)) => format!("case {case_id} (naming {arn})"),
            (_, None) => format!("case {case_id}"),
        };
        let detail = detail(&plan, &w.body);
        x.writes.push(PlannedWrite { operation: w.operation(), target, token, token_note, state: "to do".into(), detail });
    }
    for (step, why) in &plan.not_needed {
        x.notes.push(format!("{step}: not needed, {why}"));
    }
    for arn in &plan.metadata_left_out {
        x.notes.push(format!("{arn}: the case's metadata is full ({} entries); linked by comment only", links::METADATA_MAX));
    }
    if existing.is_none() {
        x.notes.push("the link writes' tokens derive from the case id, known once CreateCase answers".into());
    }
    if found.iter().any(|f| f.record.arn == STARTED) {
        x.notes.push("the started incident's link tokens derive from its ARN, known once StartIncident answers".into());
    }
    if titled.is_some() {
        x.notes.push(
            "the ledger holds no record of that case: only Security IR's memory of the token leads CreateCase to it; once it forgets, a second case could be opened"
                .into(),
        );
    }
    x.incidents = found.iter().map(incident_match).collect();
    x.threat_actors =
        actors.iter().map(|a: &ThreatActor| ThreatActorView { address: a.address.clone(), user_agent: a.user_agent.clone() }).collect();
    x.case = Some(case_plan(case, existing, &omissions));
    if app.config.dry_run {
        x.notes.push("DRY_RUN is set: the function would decide and search, and write none of this".into());
    }
    Ok(())
}

/// The stand-in for the ARN of an incident not started yet.
const STARTED: &str = "{startedIncidentArn}";

fn create_case_write(case: &CaseRequest, recorded: Option<&str>, titled: Option<&str>) -> PlannedWrite {
    let state = match (recorded, titled) {
        (Some(id), _) => format!("done: the ledger records case {}, and the escalation resumes with it", clean(id)),
        (None, Some(id)) => format!("to do: case {id} has this investigation's title; the token's answer (or its conflict) leads to it"),
        (None, None) => "to do".into(),
    };
    PlannedWrite {
        operation: "CreateCase",
        target: "Security Incident Response".into(),
        token: Some(case.client_token.clone()),
        token_note: None,
        state,
        detail: case.title.clone(),
    }
}

/// `StartIncident`, when nothing matched and a response plan is set; its token
/// derives from the case id (`None` while the case is not opened yet).
fn start_incident_write(app: &App, inv: &Investigation, case_id: Option<&str>) -> Option<PlannedWrite> {
    let plan = app.config.response_plan_arn.as_ref()?;
    let scope = Scope { region: &app.region, detector_id: &inv.detector_id, investigation_id: &inv.id };
    Some(PlannedWrite {
        operation: "StartIncident",
        target: plan.clone(),
        token: case_id.map(|id| scope.start_incident(id)),
        token_note: case_id.is_none().then_some("derives from the case id, known once CreateCase answers"),
        state: "to do".into(),
        detail: "no incident record matched: one is started from the response plan, listing the case".into(),
    })
}

fn detail(plan: &Plan, body: &Body) -> String {
    match body {
        Body::RelatedItem => format!("related item {:?} -> {}", plan.case_item.title, plan.case_item.url),
        Body::TimelineEvent => plan.timeline_event.event_data.clone(),
        Body::Comment(text) => text.lines().next().unwrap_or_default().to_string(),
        Body::UpdateCase { metadata, actors, .. } => {
            let linked = metadata.as_deref().map(links::linked_incidents).unwrap_or_default();
            let addresses: Vec<&str> = actors.iter().map(|a| a.address.as_str()).collect();
            let metadata = match linked.len() {
                0 => "caseMetadata unchanged".to_string(),
                n => format!("caseMetadata set to name {n} incident(s)"),
            };
            format!("{metadata}; threat actor addresses to add: {}", list_or_none(&addresses))
        }
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn incident_match(f: &Found) -> IncidentMatch {
    IncidentMatch { arn: f.record.arn.clone(), title: clean(&f.record.title), rule: f.rule.to_string() }
}

fn case_plan(case: CaseRequest, existing_case_id: Option<String>, omissions: &Omissions) -> CasePlan {
    let mut left_out: Vec<String> = omissions.accounts.iter().map(|a| format!("account {a:?}: not an account id")).collect();
    left_out.extend(omissions.resource_types.iter().map(|t| format!("resource type {t:?}: no Security IR service to name")));
    left_out.extend(omissions.region.iter().map(|r| format!("region {r:?}: Security IR does not accept it")));
    CasePlan {
        existing_case_id,
        client_token: case.client_token,
        title: case.title,
        engagement_type: case.engagement_type,
        resolver_type: case.resolver_type,
        impacted_accounts: case.impacted_accounts,
        impacted_regions: case.impacted_regions,
        impacted_services: case.impacted_services,
        watchers: case.watchers.into_iter().map(|w| w.email).collect(),
        description: case.description,
        left_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investigation::decision::Rated;

    fn check(gate: &'static str, value: &str, passes: bool) -> Check {
        Check { gate, value: value.into(), needs: "High or above (RISK_THRESHOLD)".into(), passes }
    }

    #[test]
    fn a_skip_is_explained_by_the_first_gate_that_failed() {
        let checks = [check("status", "COMPLETED", true), check("risk level", "Low", false), check("confidence", "Low", false)];
        assert_eq!(
            skip_why(&checks, "below_threshold"),
            "risk level Low does not pass: it needs High or above (RISK_THRESHOLD) (below_threshold)"
        );
        assert_eq!(skip_why(&checks[..1], "unknown_risk"), "skipped: unknown_risk");
    }

    #[test]
    fn a_gated_skip_says_which_setting_would_pass_it() {
        let mut inv = crate::investigation::tests::sample();
        inv.risk_level = Some(Rated::parse("Medium"));
        inv.confidence = Some(Rated::parse("Low"));
        let below = would_escalate(&inv, SkipReason::BelowThreshold);
        assert_eq!(below.as_deref(), Some("it would pass the risk gate with RISK_THRESHOLD=Medium or lower"));
        let low = would_escalate(&inv, SkipReason::LowConfidence);
        assert_eq!(low.as_deref(), Some("it would escalate with MIN_CONFIDENCE=Low or lower"));
        assert_eq!(would_escalate(&inv, SkipReason::InvestigationFailed), None);
        inv.risk_level = Some(Rated::parse("Severe"));
        assert_eq!(would_escalate(&inv, SkipReason::BelowThreshold), None, "an unknown level names no setting");
    }

    #[test]
    fn service_text_is_one_clean_line() {
        assert_eq!(clean("High\u{1b}[2J\nforged line"), "High[2J forged line");
    }

    #[test]
    fn an_update_case_detail_names_the_addresses() {
        let actors = vec![ThreatActor { address: "198.51.100.7".into(), user_agent: None }];
        let plan = Plan {
            case_item: links::case_item("us-east-1", "1234567890"),
            timeline_event: links::TimelineEvent { event_type: "Custom Event", event_time_ms: 0, event_data: "escalated".into() },
            writes: Vec::new(),
            not_needed: Vec::new(),
            metadata_left_out: Vec::new(),
        };
        let body = Body::UpdateCase { metadata: None, actors, incidents: Vec::new(), read_ms: None };
        assert_eq!(detail(&plan, &body), "caseMetadata unchanged; threat actor addresses to add: 198.51.100.7");
        assert_eq!(detail(&plan, &Body::TimelineEvent), "escalated");
        assert!(detail(&plan, &Body::RelatedItem).starts_with("related item \"Security Incident Response case 1234567890\" -> https://"));
        assert_eq!(list_or_none(&[]), "none");
    }
}
