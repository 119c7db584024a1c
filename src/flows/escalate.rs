//! The escalation of one investigation (docs/design.md §1, §4-§6): fetch,
//! decide, open the case while finding the incidents, then cross-link.
//!
//! The calls form this dependency chain (round trips in brackets), each step
//! running its independent calls concurrently:
//!
//! 1. `GetInvestigation` [1]
//! 2. `CreateCase` → `GetCase`  ∥  incident search: `ListIncidentRecords` →
//!    (`GetIncidentRecord` ∥ `ListRelatedItems`) per candidate [2]
//! 3. (`StartIncident`, only when nothing matched and a plan is set) [+1]
//! 4. per incident `UpdateRelatedItems` ∥ `CreateTimelineEvent` ∥
//!    `CreateCaseComment`, and one `UpdateCase` [1] (preceded by a second
//!    `GetCase` only when the search outlasted the first read by more than
//!    `cross_link::FRESH_READ_MS`: a long search, whose chain is longer anyway)
//!
//! Every write carries a token derived from the investigation (see [`crate::ledger::token`]),
//! so a retry or a duplicate delivery repeats the same requests and changes nothing.
//! With a ledger, an escalated investigation is never taken up again, only the
//! holder of its [`Lease`] works on it, and a takeover after a crash resumes with
//! the case already opened.

use std::future::Future;
use std::time::Duration;

use tracing::{info, warn};

use crate::aws::{AwsError, CaseView, SecurityIr};
use crate::case::builder::{build_case, CaseRequest};
use crate::case::threat_actors::threat_actors;
use crate::incident::cross_link::{self, OpenedCase};
use crate::incident::links;
use crate::incident::matcher::{needles, window_ms};
use crate::incident::search::{self, arns, Found};
use crate::investigation::decision::{decide, Confidence, Decision, RiskLevel, SkipReason};
use crate::investigation::Investigation;
use crate::ledger::item::{Entry, Escalation};
use crate::ledger::keys::investigation_key;
use crate::ledger::lease::{Claim, Lease};
use crate::ledger::step::{next_step, settled, Step, Wait};
use crate::ledger::token::Scope;
use crate::ledger::Ledger;
use crate::runtime::app::{App, Invocation};
use crate::runtime::clock::Clock;
use crate::runtime::error::Error;
use crate::runtime::metrics;
use crate::runtime::outcome::Outcome;
use crate::trigger::event::{InvestigationRef, Sender};
use crate::trigger::ids;

/// Time kept back from the deadline to release a lease whose work was cut off.
const RELEASE_RESERVE: Duration = Duration::from_millis(250);

/// An investigation that passed the gates, with what the event adds to it.
struct Escalating<'a> {
    target: &'a InvestigationRef,
    inv: Investigation,
    risk: RiskLevel,
    confidence: Confidence,
    /// Under a lease: when to stop (epoch ms on the app's clock), leaving time to release it.
    deadline_ms: Option<i64>,
    /// The app's clock, which the deadline is read on.
    clock: Clock,
    /// Whether a case may exist that no one recorded (a crashed holder's, or, in
    /// a backfill, one opened before the ledger): looked for before `CreateCase`,
    /// which past the services' token window would open a second one.
    look_first: bool,
}

/// Fetches, decides and, when the gates pass, escalates one investigation.
pub(super) async fn escalate(app: &App, target: &InvestigationRef, invocation: &Invocation) -> Result<Outcome, Error> {
    // The id is carried once: the target's until the answer is read (the edge checks
    // that it names the same investigation), the answer's after.
    let key = investigation_key(&app.region, &target.detector_id, &target.investigation_id);
    let prior = match &app.ledger {
        Some(ledger) => ledger.get(&key).await?,
        None => Entry::Absent,
    };
    if let Some(step) = settled(&prior) {
        info!(step = ?step, "the ledger settled it: nothing to do");
        return Ok(answer(step, &target.investigation_id));
    }
    let inv = app.guardduty.get_investigation(&target.detector_id, &target.investigation_id).await?;
    let decision = decide_resuming(&inv, app, &prior);
    info!(status = ?inv.status, risk_level = ?inv.risk_level, confidence = ?inv.confidence, decision = ?decision, "decided");
    let ledger = app.ledger.as_ref().filter(|_| !app.config.dry_run);
    let owner = lease_owner(invocation, &inv.id);
    match next_step(&prior, decision, app.clock.now_secs(), ledger.is_some(), &owner) {
        Step::Skip { reason, record } => skip(app, &key, &inv, reason, record).await,
        Step::Escalate { risk, confidence, under_lease } => {
            // A holder cut off by Lambda would keep its lease until it expires, and every
            // redelivery until then would answer `pending`: stop in time to release it.
            let reserve_ms = i64::try_from(RELEASE_RESERVE.as_millis()).unwrap_or(i64::MAX);
            let deadline_ms = under_lease.then(|| invocation.deadline_ms.saturating_sub(reserve_ms));
            // A holder that was about to send CreateCase and recorded no case may have opened one.
            let crashed_holder = matches!(prior, Entry::InProgress { case_id: None, create_sent: true, .. });
            let look_first = crashed_holder || invocation.look_first;
            let escalating = Escalating { target, inv, risk, confidence, deadline_ms, clock: app.clock.clone(), look_first };
            match ledger.filter(|_| under_lease) {
                Some(ledger) => Box::pin(under_lease_of(app, ledger, &key, &owner, &escalating, invocation)).await,
                None => Box::pin(open_and_link(app, &escalating, None)).await,
            }
        }
        Step::Pending(Wait::Unfinished) if target.sender == Sender::Event && !app.config.sweeps(&inv.detector_id) => {
            // Only the sweep comes back to a running investigation an event named: without
            // one for its detector, `pending` would be the last word. Failing makes the
            // delivery retry, then reach the dead-letter queue and its alarm.
            Err(Error::NoSweepToFinish {
                investigation_id: inv.id.clone(),
                detector_id: inv.detector_id.clone(),
                configured: app.config.detector_id.clone().unwrap_or_else(|| "unset".into()),
            })
        }
        step => {
            info!(step = ?step, "pending");
            Ok(answer(step, &inv.id))
        }
    }
}

/// The answer of a step that writes nothing.
fn answer(step: Step, investigation_id: &str) -> Outcome {
    match step {
        Step::Escalated(done) => already_escalated(investigation_id, done),
        Step::Skip { reason, .. } => Outcome::skipped(reason, investigation_id, None),
        _ => Outcome::pending(investigation_id),
    }
}

/// Who claims an investigation's lease: one owner per investigation, since a
/// sweep escalates many under one request id.
fn lease_owner(invocation: &Invocation, investigation_id: &str) -> String {
    format!("{}/{investigation_id}", invocation.request_id)
}

/// The decision, except that a case an earlier attempt opened is finished
/// whatever the gates say now (they may have been raised since): an open case
/// with no links is worse than either.
pub(super) fn decide_resuming(inv: &Investigation, app: &App, prior: &Entry) -> Decision {
    let decision = decide(inv, &app.config.gates());
    let resuming = matches!(prior, Entry::InProgress { case_id: Some(_), .. });
    match (decision, inv.known_risk()) {
        (Decision::Skip(SkipReason::BelowThreshold | SkipReason::LowConfidence), Some(risk)) if resuming => {
            warn!("the gates no longer pass, but a case was opened already: finishing it");
            Decision::Escalate { risk, confidence: inv.known_confidence() }
        }
        (decision, _) => decision,
    }
}

/// Logs a skip and, when `record`, writes it to the ledger.
async fn skip(app: &App, key: &str, inv: &Investigation, reason: SkipReason, record: bool) -> Result<Outcome, Error> {
    match reason {
        SkipReason::InvestigationFailed => warn!(error = inv.error.as_deref().unwrap_or("(no error text)"), "the investigation failed"),
        SkipReason::UnknownRisk => warn!(raw_risk_level = ?inv.risk_level, "risk level missing or unknown to this build"),
        _ => {}
    }
    if let Some(ledger) = app.ledger.as_ref().filter(|_| record) {
        if !ledger.record_skip(key, reason).await? {
            // Another invocation escalated it, or is escalating it, meanwhile (under other gates).
            return Ok(match ledger.get(key).await? {
                Entry::Escalated(done) => already_escalated(&inv.id, done),
                _ => Outcome::pending(&inv.id),
            });
        }
    }
    Ok(Outcome::skipped(reason, &inv.id, inv.risk_text()))
}

/// Escalates under the ledger's lease: only one invocation at a time, and the
/// investigation marked escalated for ever once every link is made.
async fn under_lease_of(
    app: &App,
    ledger: &Ledger,
    key: &str,
    owner: &str,
    e: &Escalating<'_>,
    invocation: &Invocation,
) -> Result<Outcome, Error> {
    let mut lease = match ledger.claim(key, owner, invocation.deadline_secs()).await? {
        Claim::Won(lease) => lease,
        Claim::Held => {
            info!("another invocation holds this investigation's lease: pending");
            return Ok(Outcome::pending(&e.inv.id));
        }
        Claim::Done(done) => return Ok(already_escalated(&e.inv.id, done)),
    };
    match open_and_link(app, e, Some(&mut lease)).await {
        Ok(outcome) => {
            if let Some(done) = escalation_of(&outcome) {
                lease.finish(&done).await?;
            }
            Ok(outcome)
        }
        Err(err) => {
            if let Err(release) = lease.release().await {
                warn!(error = %release, "could not release the lease; it expires on its own");
            }
            Err(err)
        }
    }
}

/// Opens the case (or resumes with the one the lease recorded) while searching
/// for the incidents, starts an incident when none matched and a plan is set,
/// then makes every link.
async fn open_and_link(app: &App, e: &Escalating<'_>, mut lease: Option<&mut Lease<'_>>) -> Result<Outcome, Error> {
    let case = case_request(app, e)?;
    let needles = needles(&e.inv, e.target.vouched_finding_ids());
    let window = window_ms(case.reported_incident_start_ms, e.inv.end_ms, app.config.incident_lookback_hours);
    let explicit = e.target.named_incident();
    if app.config.dry_run {
        let found = search::find(app, explicit, &needles, window).await?;
        info!(incidents = ?arns(&found), "dry run: no case opened, nothing written");
        return Ok(escalated(e, None, arns(&found), false, true));
    }
    // A CreateCase that starts after the deadline could be cut off between its
    // answer and the ledger's record of the case: it does not start at all.
    if e.deadline_ms.is_some_and(|deadline| e.clock.now_ms() >= deadline) {
        return Err(Error::Deadline { investigation_id: e.inv.id.clone() });
    }
    let search = in_time(e, search::find(app, explicit, &needles, window));
    // The findings' remote addresses, read alongside: no extra round trip on the chain.
    let sightings = in_time(e, app.guardduty.sightings(&e.inv.detector_id, needles.finding_ids()));
    // All three run to the end (join, not try_join), and the deadline never cuts
    // CreateCase off between its answer and the ledger's record of the case.
    let (opened, found, sightings) = tokio::join!(open_case(&app.security_ir, e, &case, lease.as_deref_mut()), search, sightings);
    let (case_id, view) = opened.map_err(|err| {
        if err.is_quota() {
            Error::CaseQuota { investigation_id: e.inv.id.clone(), message: err.message }
        } else {
            Error::Aws(err)
        }
    })?;
    let mut found = found?.map_err(|err| links_failed(&case_id, vec![err]))?;
    info!(case_id, "case opened (or found by its token)");
    let started = found.is_empty() && in_time(e, start_incident(app, e, &case_id, &mut found)).await??;
    for f in &found {
        info!(incident = f.record.arn, rule = %f.rule, "linking incident");
    }
    // A failed GetFindings fails the invocation after the other writes, like a link:
    // the retry completes it.
    let (actors, sightings_failed) = match sightings? {
        Ok(sightings) => (threat_actors(&sightings), None),
        // Denied (or gone) for good: retrying cannot change it, and the case is complete
        // without its threat actors' addresses; a warning and a metric say so.
        Err(err) if err.code == "AccessDeniedException" || err.is_not_found() => {
            warn!(error = %err, "GetFindings refused: the case goes without threat actor addresses");
            if app.emit_metrics {
                metrics::report_degraded(metrics::Degraded::ThreatActorsUnavailable, &app.clock);
            }
            (Vec::new(), None)
        }
        Err(err) => (Vec::new(), Some(err)),
    };
    let (view, read_ms) = view.map_or((None, None), |(view, at)| (Some(view), Some(at)));
    let opened = OpenedCase {
        inv: &e.inv,
        risk: e.risk,
        confidence: e.confidence,
        case_id: &case_id,
        view: view.as_ref(),
        read_ms,
        actors: &actors,
    };
    let done_before = lease.as_ref().map(|l| l.steps_done().clone()).unwrap_or_default();
    // The incidents found are on the case item before (or while) they are linked.
    let recorded = async {
        match lease.as_deref() {
            Some(lease) => lease.record_incidents(&arns(&found)).await,
            None => Ok(()),
        }
    };
    let (recorded, linked) = tokio::join!(recorded, in_time(e, cross_link::link(app, &opened, &found, &done_before)));
    recorded?;
    let mut linked = linked?;
    linked.failures.extend(sightings_failed);
    // What was written is recorded even when something failed, so the retry repeats none of it.
    if let Some(lease) = lease {
        lease.record_steps(&linked.done).await?;
    }
    if !linked.failures.is_empty() {
        return Err(links_failed(&case_id, linked.failures));
    }
    Ok(escalated(e, Some(case_id), arns(&found), started, false))
}

/// Runs `work` unless the escalation's deadline (on the app's clock) comes first.
async fn in_time<T>(e: &Escalating<'_>, work: impl Future<Output = T>) -> Result<T, Error> {
    match e.deadline_ms {
        None => Ok(work.await),
        Some(deadline) => e.clock.within(deadline, work).await.ok_or_else(|| Error::Deadline { investigation_id: e.inv.id.clone() }),
    }
}

/// The `CreateCase` request, with what it had to leave out logged.
fn case_request(app: &App, e: &Escalating<'_>) -> Result<CaseRequest, Error> {
    let (case, omissions) = build_case(&e.inv, e.risk, e.confidence, &app.config, &app.region, SecurityIr::case_regions())?;
    if !omissions.accounts.is_empty() {
        warn!(accounts = ?omissions.accounts, "account values that are not account ids; left out of impactedAccounts");
    }
    if !omissions.resource_types.is_empty() {
        warn!(types = ?omissions.resource_types, "resource types with no Security IR service to name; left out of impactedServices");
    }
    if let Some(region) = &omissions.region {
        warn!(region, "Security IR does not accept this region; left out of impactedAwsRegions");
    }
    Ok(case)
}

/// Opens the case (recording it under the lease at once), or resumes with the
/// case the lease already names, then reads it (alongside the search, so on no
/// extra round trip): the case and when it was read. A failed read is no
/// failure: the `UpdateCase` reads it again (`cross_link::send`), as it does when
/// the search outlasted this read.
async fn open_case(
    security_ir: &SecurityIr,
    e: &Escalating<'_>,
    case: &CaseRequest,
    lease: Option<&mut Lease<'_>>,
) -> Result<(String, Option<(CaseView, i64)>), AwsError> {
    let investigation_id = e.inv.id.as_str();
    let mut lease = lease;
    let case_id = match lease.as_ref().and_then(|l| l.case_id()) {
        Some(case_id) => {
            info!(case_id, "resuming with the case an earlier invocation opened");
            case_id.to_string()
        }
        None => {
            // Past the token window a CreateCase sent blind could open a second case.
            let earlier = match e.look_first {
                true => security_ir.case_of_investigation(investigation_id).await?,
                false => None,
            };
            let case_id = match earlier {
                Some(case_id) => {
                    warn!(case_id, "a case of this investigation exists that no one recorded: continuing with it");
                    case_id
                }
                None => match create_case(security_ir, case, lease.as_deref_mut()).await {
                    Ok(case_id) => case_id,
                    Err(err) if err.is_conflict() => earlier_case(security_ir, investigation_id, case, err).await?,
                    Err(err) => return Err(err),
                },
            };
            if let Some(lease) = lease {
                lease.record_case(&case_id).await?;
            }
            case_id
        }
    };
    let view = match security_ir.get_case(&case_id).await {
        Ok(view) => Some((view, e.clock.now_ms())),
        Err(err) => {
            warn!(case_id, error = %err, "the case cannot be read now; its UpdateCase reads it again");
            None
        }
    };
    Ok((case_id, view))
}

/// `CreateCase`, with the ledger told first that it is about to be sent: a holder
/// that dies before the answer is recorded leaves an item that is resumed, never
/// skipped.
async fn create_case(security_ir: &SecurityIr, case: &CaseRequest, lease: Option<&mut Lease<'_>>) -> Result<String, AwsError> {
    if let Some(lease) = lease {
        lease.about_to_create().await?;
    }
    security_ir.create_case(case).await
}

/// The case an earlier `CreateCase` of this investigation opened with another body
/// (a configuration change, an upgrade of this product, a resumed crash): the
/// service refused the token's reuse. Found by its title, which names the
/// investigation; found nowhere, the conflict stands, naming the investigation
/// and the token.
async fn earlier_case(
    security_ir: &SecurityIr,
    investigation_id: &str,
    case: &CaseRequest,
    conflict: AwsError,
) -> Result<String, AwsError> {
    match security_ir.case_of_investigation(investigation_id).await? {
        Some(case_id) => {
            warn!(case_id, "CreateCase refused the token (used with another body): continuing with the case opened earlier");
            Ok(case_id)
        }
        None => Err(AwsError {
            message: format!(
                "token {} was used with another body, and no case of investigation {investigation_id} was found: {}",
                case.client_token, conflict.message
            ),
            ..conflict
        }),
    }
}

/// The ARN `StartIncident` answered, when it is an incident record of the plan's
/// account started from that plan (`incident-record/{plan}/{id}`).
fn started_incident(plan_arn: &str, answered: &str) -> Option<String> {
    let arn = ids::incident_arn(answered)?;
    let plan_name = plan_arn.rsplit_once(":response-plan/")?.1;
    let same_account = ids::incident_account(&arn) == ids::incident_account(plan_arn);
    let same_plan = arn.split_once(":incident-record/").and_then(|(_, rest)| rest.split('/').next()) == Some(plan_name);
    (same_account && same_plan).then_some(arn)
}

/// With no incident matched: starts one from the response plan when one is
/// set (`true`), else the case stands alone (`false`).
async fn start_incident(app: &App, e: &Escalating<'_>, case_id: &str, found: &mut Vec<Found>) -> Result<bool, Error> {
    let Some(plan) = &app.config.response_plan_arn else {
        info!("no incident matched and no response plan is set: the case stands alone");
        return Ok(false);
    };
    let spec = links::start_incident(&e.inv, e.risk, case_id, &app.case_region);
    let token = Scope { region: &app.region, detector_id: &e.inv.detector_id, investigation_id: &e.inv.id }.start_incident(case_id);
    let answered = app.incidents.start_incident(plan, &spec, &token).await.map_err(|err| links_failed(case_id, vec![err]))?;
    // Checked as every answer is, before anything links, records or later resolves it.
    let arn = started_incident(plan, &answered).ok_or_else(|| {
        let message = format!("StartIncident answered {}, which is not an incident record of the plan {plan}", ids::quote(&answered));
        links_failed(case_id, vec![AwsError::new("StartIncident", "InvalidAnswer", message)])
    })?;
    info!(incident = arn, "no incident matched; started one from the response plan");
    found.push(search::started(spec, arn));
    Ok(true)
}

fn links_failed(case_id: &str, failures: Vec<AwsError>) -> Error {
    Error::Links { case_id: case_id.to_string(), failures }
}

fn escalated(
    e: &Escalating<'_>,
    case_id: Option<String>,
    incident_record_arns: Vec<String>,
    incident_started: bool,
    dry_run: bool,
) -> Outcome {
    Outcome::Escalated {
        investigation_id: e.inv.id.clone(),
        risk_level: e.risk.to_string(),
        confidence: e.confidence.to_string(),
        case_id,
        incident_record_arns,
        incident_started,
        dry_run,
        already_escalated: false,
    }
}

/// What the ledger keeps of an escalation that opened a case.
fn escalation_of(outcome: &Outcome) -> Option<Escalation> {
    match outcome {
        Outcome::Escalated { case_id: Some(case_id), incident_record_arns, risk_level, confidence, .. } => Some(Escalation {
            case_id: case_id.clone(),
            incidents: incident_record_arns.clone(),
            risk_level: risk_level.clone(),
            confidence: confidence.clone(),
        }),
        _ => None,
    }
}

/// The outcome of an investigation the ledger says was escalated.
fn already_escalated(investigation_id: &str, done: Escalation) -> Outcome {
    Outcome::Escalated {
        investigation_id: investigation_id.to_string(),
        risk_level: done.risk_level,
        confidence: done.confidence,
        case_id: Some(done.case_id),
        incident_record_arns: done.incidents,
        incident_started: false,
        dry_run: false,
        already_escalated: true,
    }
}

/// The most AWS calls one escalation can make, per operation, from the bounds
/// the code enforces (each call may be retried by the SDK, up to 3 attempts):
/// what one delivery can cost an account at worst, times the reserved
/// concurrency. The incident search dominates it.
pub fn worst_case_calls() -> Vec<(&'static str, usize)> {
    use crate::aws::incidents::{MAX_CANDIDATES, MAX_RELATED_PAGES};
    use crate::aws::security_ir::{MAX_CASE_PAGES, MAX_TAG_READS};
    use crate::incident::search::MAX_LINKED;
    let listing_pages = MAX_CANDIDATES.div_ceil(100);
    // The explicit record, then every candidate listed.
    let records = 1 + MAX_CANDIDATES;
    vec![
        ("GetInvestigation", 1),
        // A case that may exist unrecorded, or a CreateCase conflict: by title, then tags.
        ("ListCases", MAX_CASE_PAGES),
        ("ListTagsForResource", MAX_TAG_READS),
        ("CreateCase", 1),
        ("GetFindings", 1),
        // Two listings: the window, and later records titled with the investigation.
        ("ListIncidentRecords", 2 * listing_pages),
        ("GetIncidentRecord", records),
        ("ListRelatedItems", records * MAX_RELATED_PAGES),
        ("StartIncident", 1),
        ("UpdateRelatedItems", MAX_LINKED),
        ("CreateTimelineEvent", MAX_LINKED),
        // One per incident, and the recommended actions.
        ("CreateCaseComment", MAX_LINKED + 1),
        // Read alongside the search, and again before UpdateCase after a long search.
        ("GetCase", 2),
        ("UpdateCase", 1),
        // The ledger: read, claim, the case, the incidents, the steps, the finish.
        ("DynamoDB", 8),
    ]
}
