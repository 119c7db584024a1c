//! The escalation of one investigation (DESIGN.md sections 1, 4-6): fetch,
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
//!    `CreateCaseComment`, and one `UpdateCase` [1]
//!
//! Every write carries a token derived from the investigation (see [`crate::token`]),
//! so a retry or a duplicate delivery repeats the same requests and changes nothing.
//! With a ledger ([`crate::ledger`]), an escalated investigation is never taken up
//! again, only one invocation at a time works on one, and a takeover after a
//! crash resumes with the case already opened.

use futures_util::future::{join_all, BoxFuture, FutureExt};
use tracing::{info, warn};

use crate::aws::{AwsError, Written};
use crate::case_builder::build_case;
use crate::decision::{decide, Confidence, Decision, RiskLevel, SkipReason};
use crate::error::Error;
use crate::event::InvestigationRef;
use crate::handler::{App, Invocation};
use crate::incident_matcher::{match_candidate, needles, window_start_ms, Candidate, MatchRule, Needles};
use crate::investigation::Investigation;
use crate::ledger::{investigation_key, now_secs, Claim, Entry, Ledger};
use crate::links;
use crate::outcome::Outcome;
use crate::token::Scope;

/// How many incident records are read at once while searching (keeps a busy
/// account's search from throttling itself).
const SEARCH_CONCURRENCY: usize = 8;

/// An incident record that belongs to the investigation.
#[derive(Debug, Clone)]
struct Found {
    record: Candidate,
    rule: MatchRule,
}

/// Where an escalation under the ledger records its progress.
struct Progress<'a> {
    ledger: &'a Ledger,
    key: &'a str,
    owner: &'a str,
    /// The case an earlier lease holder opened.
    case_id: Option<String>,
}

/// Fetches, decides and, when the gates pass, escalates one investigation.
pub async fn escalate(app: &App, target: &InvestigationRef, invocation: &Invocation) -> Result<Outcome, Error> {
    let key = investigation_key(app.aws.region(), &target.detector_id, &target.investigation_id);
    let prior = match &app.ledger {
        Some(ledger) => ledger.get(&key).await?,
        None => Entry::Absent,
    };
    match &prior {
        Entry::Escalated { .. } => {
            info!("the ledger says escalated: nothing to do");
            return Ok(from_ledger(&target.investigation_id, &prior));
        }
        Entry::Skipped { reason } if reason.is_final() => return Ok(Outcome::skipped(*reason, &target.investigation_id, None)),
        _ => {}
    }
    let inv = app.aws.get_investigation(&target.detector_id, &target.investigation_id).await?;
    let mut decision = decide(&inv, &app.config.gates());
    // A case an earlier attempt opened is finished, whatever the gates say now (they
    // may have been raised since): an open case with no links is worse than either.
    if let (Decision::Skip(SkipReason::BelowThreshold | SkipReason::LowConfidence), Entry::InProgress { case_id: Some(case_id), .. }) =
        (&decision, &prior)
    {
        if let Some(risk) = inv.risk_level.as_deref().and_then(|r| r.parse().ok()) {
            warn!(case_id, "the gates no longer pass, but a case was opened already: finishing it");
            let confidence = inv.confidence.as_deref().and_then(|c| c.parse().ok()).unwrap_or(Confidence::Unknown);
            decision = Decision::Escalate { risk, confidence };
        }
    }
    info!(status = ?inv.status, risk_level = ?inv.risk_level, confidence = ?inv.confidence, decision = ?decision, "decided");
    let writes_allowed = !app.config.dry_run;
    match decision {
        Decision::Pending => Ok(Outcome::pending(&inv.id)),
        Decision::Skip(reason) => {
            match reason {
                SkipReason::InvestigationFailed => {
                    warn!(error = inv.error.as_deref().unwrap_or("(no error text)"), "the investigation failed")
                }
                SkipReason::UnknownRisk => warn!(raw_risk_level = ?inv.risk_level, "risk level missing or unknown to this build"),
                _ => {}
            }
            if let Some(ledger) = app.ledger.as_ref().filter(|_| writes_allowed) {
                if prior != (Entry::Skipped { reason }) {
                    ledger.record_skip(&key, reason, now_secs()).await?;
                }
            }
            Ok(Outcome::skipped(reason, &inv.id, inv.risk_level))
        }
        Decision::Escalate { risk, confidence } => {
            let Some(ledger) = app.ledger.as_ref().filter(|_| writes_allowed) else {
                return open_and_link(app, target, &inv, risk, confidence, None).await;
            };
            // One owner per investigation: a sweep escalates many under one request id.
            let owner = format!("{}/{}", invocation.request_id, inv.id);
            let owner = owner.as_str();
            let case_id = match ledger.claim(&key, owner, now_secs(), invocation.deadline_secs()).await? {
                Claim::Won { case_id } => case_id,
                Claim::Held => {
                    info!("another invocation holds this investigation's lease: pending");
                    return Ok(Outcome::pending(&inv.id));
                }
                Claim::Done(entry) => return Ok(from_ledger(&inv.id, &entry)),
            };
            let progress = Progress { ledger, key: &key, owner, case_id };
            match open_and_link(app, target, &inv, risk, confidence, Some(&progress)).await {
                Ok(outcome) => {
                    if let Outcome::Escalated { case_id: Some(case_id), incident_record_arns, .. } = &outcome {
                        ledger
                            .finish(
                                &key,
                                owner,
                                app.aws.region(),
                                case_id,
                                incident_record_arns,
                                risk.as_str(),
                                confidence.as_str(),
                                now_secs(),
                            )
                            .await?;
                    }
                    Ok(outcome)
                }
                Err(e) => {
                    if let Err(release) = ledger.release(&key, owner, now_secs()).await {
                        warn!(error = %release, "could not release the lease; it expires on its own");
                    }
                    Err(e)
                }
            }
        }
    }
}

/// The outcome of an investigation the ledger says was escalated.
fn from_ledger(investigation_id: &str, entry: &Entry) -> Outcome {
    let Entry::Escalated { case_id, incidents, risk_level, confidence } = entry else {
        return Outcome::pending(investigation_id);
    };
    Outcome::Escalated {
        investigation_id: investigation_id.to_string(),
        risk_level: risk_level.clone(),
        confidence: confidence.clone(),
        case_id: Some(case_id.clone()),
        incident_record_arns: incidents.clone(),
        incident_started: false,
        dry_run: false,
        already_escalated: true,
    }
}

async fn open_and_link(
    app: &App,
    target: &InvestigationRef,
    inv: &Investigation,
    risk: RiskLevel,
    confidence: Confidence,
    progress: Option<&Progress<'_>>,
) -> Result<Outcome, Error> {
    let region = app.aws.region();
    let (case, omissions) = build_case(inv, risk, confidence, &app.config, region, crate::aws::Aws::case_regions())?;
    if let Some(account) = &omissions.account {
        warn!(account, "the investigation's account is not a 12-digit id; left out of impactedAccounts");
    }
    if let Some(r) = &omissions.region {
        warn!(region = r, "Security IR does not accept this region; left out of impactedAwsRegions");
    }
    let needles = needles(inv, &target.finding_ids);
    let window_start = window_start_ms(case.reported_incident_start_ms, app.config.incident_lookback_hours);

    if app.config.dry_run {
        let found = find_incidents(app, target, &needles, window_start).await?;
        info!(incidents = ?arns(&found), "dry run: no case opened, nothing written");
        return Ok(escalated(inv, risk, confidence, None, arns(&found), false, true));
    }

    let open_case = async {
        let case_id = match progress.and_then(|p| p.case_id.clone()) {
            Some(case_id) => {
                info!(case_id, "resuming with the case an earlier invocation opened");
                case_id
            }
            None => {
                let case_id = app.aws.create_case(&case).await?;
                if let Some(p) = progress {
                    p.ledger.record_case(p.key, p.owner, region, &case_id, now_secs()).await?;
                }
                case_id
            }
        };
        let view = app.aws.get_case(&case_id).await?;
        Ok::<_, AwsError>((case_id, view))
    };
    // Both run to the end (no try_join): a failed search must not cancel CreateCase
    // between its answer and the ledger's record of the case.
    let (opened, found) = tokio::join!(open_case, find_incidents(app, target, &needles, window_start));
    let (case_id, case_view) = opened?;
    let mut found = found.map_err(|e| links_failed(&case_id, vec![e]))?;
    info!(case_id, "case opened (or found by its token)");

    let scope = Scope { region, detector_id: &inv.detector_id, investigation_id: &inv.id };
    let mut started = false;
    if found.is_empty() {
        if let Some(plan) = &app.config.response_plan_arn {
            let spec = links::start_incident(inv, risk, &case_id, region);
            let arn = app.aws.start_incident(plan, &spec, &scope.start_incident()).await.map_err(|e| links_failed(&case_id, vec![e]))?;
            info!(incident = arn, "no incident matched; started one from the response plan");
            found.push(Found {
                record: Candidate {
                    arn,
                    title: spec.title.clone(),
                    open: true,
                    related_items: vec![crate::incident_matcher::RelatedItemView {
                        title: Some(spec.case_item.title),
                        value: spec.case_item.url,
                    }],
                    ..Candidate::default()
                },
                rule: MatchRule::Started,
            });
            started = true;
        } else {
            info!("no incident matched and no response plan is set: the case stands alone");
        }
    }
    for f in &found {
        info!(incident = f.record.arn, rule = %f.rule, "linking incident");
    }

    let failures = link(app, inv, risk, confidence, &case_id, &case_view.metadata, &found, scope).await;
    if !failures.is_empty() {
        return Err(links_failed(&case_id, failures));
    }
    Ok(escalated(inv, risk, confidence, Some(case_id), arns(&found), started, false))
}

fn links_failed(case_id: &str, failures: Vec<AwsError>) -> Error {
    Error::Links { case_id: case_id.to_string(), failures }
}

/// Makes every cross-link write at once; returns the ones that failed. All are
/// attempted even when one fails, so a retry has as little left to do as possible.
#[allow(clippy::too_many_arguments)]
async fn link(
    app: &App,
    inv: &Investigation,
    risk: RiskLevel,
    confidence: Confidence,
    case_id: &str,
    metadata: &[(String, String)],
    found: &[Found],
    scope: Scope<'_>,
) -> Vec<AwsError> {
    let region = app.aws.region();
    let item = links::case_item(region, case_id);
    let timeline = links::timeline_event(inv, risk, confidence, case_id, region);
    let mut writes: Vec<BoxFuture<'_, Result<(&'static str, Written), AwsError>>> = Vec::new();
    for f in found {
        let arn = f.record.arn.as_str();
        if !links::has_case_item(&f.record.related_items, &item) {
            let (item, token) = (&item, scope.related_item(case_id, arn));
            writes.push(async move { app.aws.add_case_item(arn, item, &token).await.map(|w| ("related item", w)) }.boxed());
        }
        let (timeline, token) = (&timeline, scope.timeline_event(case_id, arn));
        writes.push(async move { app.aws.add_timeline_event(arn, timeline, &token).await.map(|w| ("timeline event", w)) }.boxed());
        let body = links::case_comment(&f.record.title, arn, region);
        let token = scope.comment(case_id, arn);
        writes.push(async move { app.aws.comment_on_case(case_id, &body, &token).await.map(|w| ("case comment", w)) }.boxed());
    }
    let (entries, left_out) = links::metadata_with(metadata, &arns(found));
    if !left_out.is_empty() {
        warn!(incidents = ?left_out, "the case already holds 30 metadata entries; these incidents are linked by comment only");
    }
    if let Some(entries) = entries {
        writes.push(async move { app.aws.set_case_metadata(case_id, &entries).await.map(|()| ("case metadata", Written::Done)) }.boxed());
    }
    let mut failures = Vec::new();
    for result in join_all(writes).await {
        match result {
            Ok((what, Written::AlreadyThere)) => info!(what, "already linked"),
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, "link write failed");
                failures.push(e);
            }
        }
    }
    failures
}

/// Finds the incident records of the investigation, by the rules in order.
async fn find_incidents(app: &App, target: &InvestigationRef, needles: &Needles, window_start_ms: i64) -> Result<Vec<Found>, AwsError> {
    if let Some(arn) = &target.incident_record_arn {
        // The sender named it: link it whatever its text says, unless it cannot be
        // used (gone, not ours to read, resolved); then the search runs instead.
        match app.aws.incident(arn).await {
            Ok(Some(record)) if record.open => return Ok(vec![Found { record, rule: MatchRule::Explicit }]),
            Ok(Some(_)) => warn!(incident = arn, "the event names a resolved incident record; searching for an open one instead"),
            Ok(None) => warn!(incident = arn, "the event names an incident record that does not exist; searching instead"),
            Err(e) if e.is_unusable_reference() => {
                warn!(incident = arn, error = %e, "the event names an incident record that cannot be read; searching instead")
            }
            Err(e) => return Err(e),
        }
    }
    let arns = app.aws.open_incidents_since(window_start_ms).await?;
    let mut found = Vec::new();
    for chunk in arns.chunks(SEARCH_CONCURRENCY) {
        let records = join_all(chunk.iter().map(|arn| app.aws.incident(arn))).await;
        for record in records {
            let Some(record) = record? else { continue };
            if let Some(rule) = match_candidate(&record, needles) {
                found.push(Found { record, rule });
            }
        }
    }
    // Sorted, so the result and the metadata keys do not depend on answer order.
    found.sort_by(|a, b| a.record.arn.cmp(&b.record.arn));
    Ok(found)
}

fn arns(found: &[Found]) -> Vec<String> {
    found.iter().map(|f| f.record.arn.clone()).collect()
}

fn escalated(
    inv: &Investigation,
    risk: RiskLevel,
    confidence: Confidence,
    case_id: Option<String>,
    incident_record_arns: Vec<String>,
    incident_started: bool,
    dry_run: bool,
) -> Outcome {
    Outcome::Escalated {
        investigation_id: inv.id.clone(),
        risk_level: risk.to_string(),
        confidence: confidence.to_string(),
        case_id,
        incident_record_arns,
        incident_started,
        dry_run,
        already_escalated: false,
    }
}
