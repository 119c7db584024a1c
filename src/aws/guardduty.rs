//! Amazon GuardDuty: reading investigations, listing a detector's recent ones,
//! and starting one for a finding. SDK types stay in this file.

use aws_sdk_guardduty::primitives::DateTime;
use aws_sdk_guardduty::types::{InvestigationSortCriteria, InvestigationSortField, OrderBy};

use std::sync::{Arc, Mutex};

use aws_sdk_guardduty::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_guardduty::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_guardduty::types::RemoteIpDetails;

use super::pages::Pages;
use super::{fail, AwsError};
use crate::case::threat_actors::Sighting;
use crate::investigation::decision::Rated;
use crate::investigation::structured;
use crate::investigation::{Investigation, Status};
use crate::trigger::ids;

/// The most findings one `GetFindings` reads.
pub const MAX_FINDINGS: usize = 50;

/// One investigation as `ListInvestigations` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestigationSummary {
    /// Its id.
    pub id: String,
    /// Its status.
    pub status: Status,
    /// Its start, in milliseconds since the epoch.
    pub start_ms: Option<i64>,
    /// Its end, in milliseconds since the epoch.
    pub end_ms: Option<i64>,
}

/// The most `ListInvestigations` pages one listing reads, 50 each: 10,000
/// investigations, a 100-account organization at GuardDuty's preview limit of
/// 100 per account, so that the cap never hides the oldest of a delegated
/// administrator's window (the listing has no filter; the caller's deadline
/// stops it sooner).
pub const MAX_PAGES: usize = 200;

/// Keeps the raw body of one answer, read after the SDK has read it.
#[derive(Debug, Clone, Default)]
struct RawAnswer(Arc<Mutex<Option<Vec<u8>>>>);

impl RawAnswer {
    fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

impl Intercept for RawAnswer {
    fn name(&self) -> &'static str {
        "RawAnswer"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_guardduty::error::BoxError> {
        if let (Some(bytes), Ok(mut slot)) = (context.response().body().bytes(), self.0.lock()) {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// What the SDK puts in a required enum member the answer left out.
const SDK_MISSING: &str = "no value was set";

/// What one listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The investigations in the window, in the order listed.
    pub investigations: Vec<InvestigationSummary>,
    /// False when the listing was stopped before its last page.
    pub complete: bool,
}

/// The GuardDuty client, built once per cold start.
#[derive(Debug, Clone)]
pub struct GuardDuty {
    client: aws_sdk_guardduty::Client,
}

fn millis(t: Option<&DateTime>) -> Option<i64> {
    t.and_then(|t| t.to_millis().ok())
}

impl GuardDuty {
    /// Wraps a client.
    pub fn new(client: aws_sdk_guardduty::Client) -> GuardDuty {
        GuardDuty { client }
    }

    /// `GetInvestigation`.
    pub async fn get_investigation(&self, detector_id: &str, investigation_id: &str) -> Result<Investigation, AwsError> {
        const OP: &str = "GetInvestigation";
        // The published SDK does not model `summaryFormat`, `scope` or `summaryData` yet, but
        // the service sends them: ask for the structured form and keep the raw answer body,
        // both through the SDK's own customisation of this one operation (before signing,
        // after the body is read). Moving to typed fields later touches only this function.
        let body = RawAnswer::default();
        let out = self
            .client
            .get_investigation()
            .detector_id(detector_id)
            .investigation_id(investigation_id)
            .customize()
            .mutate_request(|request| {
                let uri = request.uri().to_string();
                let joined = if uri.contains('?') { '&' } else { '?' };
                // A URI the SDK built plus a fixed query parameter is always valid: nothing to handle.
                let _ = request.set_uri(format!("{uri}{joined}summaryFormat=STRUCTURED"));
            })
            .interceptor(body.clone())
            .send()
            .await
            .map_err(fail(OP))?;
        let inv = out.investigation().ok_or_else(|| AwsError::new(OP, "EmptyAnswer", "the answer holds no investigation"))?;
        // An answer about another investigation (or none) must not be escalated as this one:
        // its tokens and its incident search would be another's. (The SDK fills a missing
        // required member in: an empty id, or the status `SDK_MISSING`.)
        let answered = inv.investigation_id().unwrap_or_default();
        if !answered.eq_ignore_ascii_case(investigation_id) {
            let message = format!("asked for investigation {investigation_id}, the answer is about {:?}", ids::quote(answered));
            return Err(AwsError::new(OP, "InvalidAnswer", message));
        }
        let status = inv
            .status()
            .filter(|s| !s.as_str().is_empty() && s.as_str() != SDK_MISSING)
            .ok_or_else(|| AwsError::new(OP, "InvalidAnswer", format!("investigation {investigation_id} has no status")))?;
        let structured = body.take().map(|bytes| structured::parse_answer(&bytes)).unwrap_or_default();
        Ok(Investigation {
            scope: structured.scope,
            summary_data: structured.summary_data,
            detector_id: detector_id.to_string(),
            id: investigation_id.to_string(),
            status: Status::parse(status.as_str()),
            risk_level: inv.risk_level().map(|r| Rated::parse(r.as_str())),
            confidence: inv.confidence().map(|c| Rated::parse(c.as_str())),
            risk: inv.risk().map(str::to_string),
            summary: inv.summary().map(str::to_string),
            trigger_prompt: inv.trigger_prompt().unwrap_or_default().to_string(),
            account: inv.cloud().and_then(|c| c.account()).map(str::to_string),
            region: inv.cloud().and_then(|c| c.region()).map(str::to_string),
            start_ms: millis(inv.start_time()),
            end_ms: millis(inv.end_time()),
            error: inv.error().map(str::to_string),
        })
    }

    /// `ListInvestigations` of a detector, every page up to [`MAX_PAGES`] while
    /// `keep_going` holds (checked before each page): the
    /// investigations that ended at or after `ended_after_ms`, or have not ended.
    /// The window is applied here, whatever order the service answers in. The
    /// listing is `complete: false` when the page cap or a repeated page token
    /// stopped it early.
    pub async fn investigations_ended_since(
        &self,
        detector_id: &str,
        ended_after_ms: i64,
        keep_going: impl Fn() -> bool,
    ) -> Result<Listing, AwsError> {
        const OP: &str = "ListInvestigations";
        let sort = InvestigationSortCriteria::builder().attribute_name(InvestigationSortField::EndTime).order_by(OrderBy::Desc).build();
        let mut listing = Listing { investigations: Vec::new(), complete: false };
        let mut pages = Pages::new(OP, MAX_PAGES);
        while let Some(token) = pages.next().filter(|_| keep_going()) {
            let out = self
                .client
                .list_investigations()
                .detector_id(detector_id)
                .sort_criteria(sort.clone())
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(fail(OP))?;
            for i in out.investigations() {
                let summary = InvestigationSummary {
                    id: i.investigation_id().unwrap_or_default().to_string(),
                    status: Status::parse(i.status().map_or("", |s| s.as_str())),
                    start_ms: millis(i.start_time()),
                    end_ms: millis(i.end_time()),
                };
                // An id that is not one (empty, or another shape) is left out: nothing can be done with it.
                let Some(id) = ids::investigation_id(&summary.id) else {
                    tracing::warn!(id = %ids::quote(&summary.id), "ListInvestigations listed an id that is not an investigation id; left out");
                    continue;
                };
                if summary.end_ms.is_none_or(|end| end >= ended_after_ms) {
                    listing.investigations.push(InvestigationSummary { id, ..summary });
                }
            }
            pages.after(out.next_token());
        }
        listing.complete = pages.complete();
        Ok(listing)
    }

    /// `GetFindings` (one call, at most [`MAX_FINDINGS`] ids): the remote addresses
    /// their actions name, with the user agent of an API call. A finding that no
    /// longer exists is simply not answered.
    pub async fn sightings(&self, detector_id: &str, finding_ids: &[String]) -> Result<Vec<Sighting>, AwsError> {
        let ids: Vec<String> = finding_ids.iter().take(MAX_FINDINGS).cloned().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let out =
            self.client.get_findings().detector_id(detector_id).set_finding_ids(Some(ids)).send().await.map_err(fail("GetFindings"))?;
        let mut sightings = Vec::new();
        for action in out.findings().iter().filter_map(|f| f.service().and_then(|s| s.action())) {
            let mut seen = |ip: Option<&RemoteIpDetails>, user_agent: Option<&str>| {
                let Some(ip) = ip else { return };
                for address in [ip.ip_address_v4(), ip.ip_address_v6()].into_iter().flatten() {
                    sightings.push(Sighting { address: address.to_string(), user_agent: user_agent.map(str::to_string) });
                }
            };
            if let Some(a) = action.aws_api_call_action() {
                seen(a.remote_ip_details(), a.user_agent());
            }
            if let Some(a) = action.kubernetes_api_call_action() {
                seen(a.remote_ip_details(), a.user_agent());
            }
            if let Some(a) = action.network_connection_action() {
                seen(a.remote_ip_details(), None);
            }
            if let Some(a) = action.rds_login_attempt_action() {
                seen(a.remote_ip_details(), None);
            }
            for probe in action.port_probe_action().map(|p| p.port_probe_details()).unwrap_or_default() {
                seen(probe.remote_ip_details(), None);
            }
        }
        Ok(sightings)
    }

    /// `CreateInvestigation` with a deterministic token. Returns the investigation id.
    pub async fn create_investigation(&self, detector_id: &str, trigger_prompt: &str, token: &str) -> Result<String, AwsError> {
        const OP: &str = "CreateInvestigation";
        let out = self
            .client
            .create_investigation()
            .detector_id(detector_id)
            .trigger_prompt(trigger_prompt)
            .client_token(token)
            .send()
            .await
            .map_err(fail(OP))?;
        let id = out.investigation_id().unwrap_or_default();
        ids::investigation_id(id)
            .ok_or_else(|| AwsError::new(OP, "InvalidAnswer", format!("the answer's investigation id {:?} is not one", ids::quote(id))))
    }
}
