//! The edge: every AWS call this product makes, behind one narrow type. Each
//! method takes and returns plain data; the SDK types stay in this file. Tests
//! point the same clients at the local simulation through the standard
//! endpoint configuration (`AWS_ENDPOINT_URL*`), so nothing here is test-only.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_guardduty::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_guardduty::primitives::DateTime;
use aws_sdk_securityir::types::{AwsRegion, CaseMetadataEntry, EngagementType, ImpactedAwsRegion, ResolverType};
use aws_sdk_ssmincidents::types::{
    AttributeValueList, Condition, Filter, ItemIdentifier, ItemType, ItemValue, RelatedItem, RelatedItemsUpdate, TriggerDetails,
};
use thiserror::Error;

use crate::case_builder::CaseRequest;
use crate::incident_matcher::{Candidate, RelatedItemView};
use crate::investigation::{Investigation, Status};
use crate::links::{CaseItem, StartIncident, TimelineEvent, INCIDENT_SOURCE};

/// An AWS call that failed after the SDK's own retries.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{operation} failed: {code}: {message}")]
pub struct AwsError {
    /// The operation, e.g. `CreateCase`.
    pub operation: &'static str,
    /// The service's error code, or the kind of transport failure.
    pub code: String,
    /// The service's message.
    pub message: String,
}

impl AwsError {
    fn new(operation: &'static str, code: &str, message: impl Into<String>) -> Self {
        AwsError { operation, code: code.to_string(), message: message.into() }
    }

    /// The service refused a reused token with another body, or a duplicate.
    pub fn is_conflict(&self) -> bool {
        self.code == "ConflictException"
    }

    /// The named resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code == "ResourceNotFoundException"
    }

    /// The request named something this function cannot use (not found, not
    /// allowed, or not valid): retrying will not change the answer.
    pub fn is_unusable_reference(&self) -> bool {
        self.is_not_found() || matches!(self.code.as_str(), "AccessDeniedException" | "ValidationException")
    }
}

/// Turns an SDK error into an [`AwsError`] naming the operation.
pub(crate) fn fail<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |err| {
        let code = match &err {
            SdkError::ServiceError(_) => err.code().unwrap_or("ServiceError"),
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            _ => "Unknown",
        }
        .to_string();
        let message = err.message().map_or_else(|| DisplayErrorContext(&err).to_string(), str::to_string);
        AwsError { operation, code, message }
    }
}

fn build_error(operation: &'static str) -> impl FnOnce(aws_sdk_guardduty::error::BuildError) -> AwsError {
    move |e| AwsError::new(operation, "ConstructionFailure", e.to_string())
}

/// Whether a write was made now or had been made before (a token replay
/// answered with `ConflictException` means the same write already exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Made by this call (or replayed by the service from the same token).
    Done,
    /// Already there.
    AlreadyThere,
}

fn written<T>(result: Result<T, AwsError>) -> Result<Written, AwsError> {
    match result {
        Ok(_) => Ok(Written::Done),
        Err(e) if e.is_conflict() => Ok(Written::AlreadyThere),
        Err(e) => Err(e),
    }
}

/// What the case holds that the links and the close-out need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseView {
    /// Its metadata entries, in order.
    pub metadata: Vec<(String, String)>,
    /// Its status, e.g. `Closed`.
    pub status: Option<String>,
    /// Its closure code, once closed.
    pub closure_code: Option<String>,
    /// When it was closed, in milliseconds since the epoch.
    pub closed_ms: Option<i64>,
}

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

/// The three service clients, built once per cold start.
#[derive(Debug, Clone)]
pub struct Aws {
    guardduty: aws_sdk_guardduty::Client,
    security_ir: aws_sdk_securityir::Client,
    incidents: aws_sdk_ssmincidents::Client,
    region: String,
}

impl Aws {
    /// Builds the clients from one shared SDK configuration.
    pub fn new(config: &SdkConfig) -> Aws {
        Aws {
            guardduty: aws_sdk_guardduty::Client::new(config),
            security_ir: aws_sdk_securityir::Client::new(config),
            incidents: aws_sdk_ssmincidents::Client::new(config),
            region: config.region().map_or_else(|| "us-east-1".to_string(), |r| r.to_string()),
        }
    }

    /// The region the clients call.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The regions Security IR accepts for `impactedAwsRegions` (its model's enum).
    pub fn case_regions() -> &'static [&'static str] {
        AwsRegion::values()
    }

    /// `GetInvestigation`.
    pub async fn get_investigation(&self, detector_id: &str, investigation_id: &str) -> Result<Investigation, AwsError> {
        const OP: &str = "GetInvestigation";
        let out = self
            .guardduty
            .get_investigation()
            .detector_id(detector_id)
            .investigation_id(investigation_id)
            .send()
            .await
            .map_err(fail(OP))?;
        let inv = out.investigation().ok_or_else(|| AwsError::new(OP, "EmptyAnswer", "the answer holds no investigation"))?;
        let millis = |t: Option<&DateTime>| t.and_then(|t| t.to_millis().ok());
        Ok(Investigation {
            detector_id: detector_id.to_string(),
            id: inv.investigation_id().unwrap_or(investigation_id).to_string(),
            status: Status::parse(inv.status().map_or("", |s| s.as_str())),
            risk_level: inv.risk_level().map(|r| r.as_str().to_string()),
            confidence: inv.confidence().map(|c| c.as_str().to_string()),
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

    /// `ListInvestigations` of a detector, newest end time first, every page until
    /// one ends before `ended_after_ms` (older ones are left out).
    pub async fn investigations_ended_since(&self, detector_id: &str, ended_after_ms: i64) -> Result<Vec<InvestigationSummary>, AwsError> {
        const OP: &str = "ListInvestigations";
        let sort = aws_sdk_guardduty::types::InvestigationSortCriteria::builder()
            .attribute_name(aws_sdk_guardduty::types::InvestigationSortField::EndTime)
            .order_by(aws_sdk_guardduty::types::OrderBy::Desc)
            .build();
        let mut found = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .guardduty
                .list_investigations()
                .detector_id(detector_id)
                .sort_criteria(sort.clone())
                .max_results(50)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(fail(OP))?;
            let mut older = false;
            for i in out.investigations() {
                let millis = |t: Option<&DateTime>| t.and_then(|t| t.to_millis().ok());
                let summary = InvestigationSummary {
                    id: i.investigation_id().unwrap_or_default().to_string(),
                    status: Status::parse(i.status().map_or("", |s| s.as_str())),
                    start_ms: millis(i.start_time()),
                    end_ms: millis(i.end_time()),
                };
                if summary.end_ms.is_some_and(|end| end < ended_after_ms) {
                    older = true;
                    continue;
                }
                if !summary.id.is_empty() {
                    found.push(summary);
                }
            }
            match out.next_token() {
                Some(t) if !older && !t.is_empty() => next_token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// `CreateInvestigation` with a deterministic token. Returns the investigation id.
    pub async fn create_investigation(&self, detector_id: &str, trigger_prompt: &str, token: &str) -> Result<String, AwsError> {
        let out = self
            .guardduty
            .create_investigation()
            .detector_id(detector_id)
            .trigger_prompt(trigger_prompt)
            .client_token(token)
            .send()
            .await
            .map_err(fail("CreateInvestigation"))?;
        out.investigation_id()
            .map(str::to_string)
            .ok_or_else(|| AwsError::new("CreateInvestigation", "EmptyAnswer", "the answer holds no investigation id"))
    }

    /// `UpdateIncidentRecord` setting the record `RESOLVED`, with a deterministic token.
    pub async fn resolve_incident(&self, arn: &str, token: &str) -> Result<(), AwsError> {
        self.incidents
            .update_incident_record()
            .arn(arn)
            .status(aws_sdk_ssmincidents::types::IncidentRecordStatus::Resolved)
            .client_token(token)
            .send()
            .await
            .map_err(fail("UpdateIncidentRecord"))?;
        Ok(())
    }

    /// `CreateCase`, with the request's deterministic token. Returns the case id.
    pub async fn create_case(&self, req: &CaseRequest) -> Result<String, AwsError> {
        const OP: &str = "CreateCase";
        let watchers = req
            .watchers
            .iter()
            .map(|w| aws_sdk_securityir::types::Watcher::builder().email(&w.email).set_name(w.name.clone()).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(build_error(OP))?;
        let regions = req
            .impacted_regions
            .iter()
            .map(|r| ImpactedAwsRegion::builder().region(AwsRegion::from(r.as_str())).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(build_error(OP))?;
        let tags: HashMap<String, String> = req.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let out = self
            .security_ir
            .create_case()
            .client_token(&req.client_token)
            .title(&req.title)
            .description(&req.description)
            .engagement_type(EngagementType::from(req.engagement_type.as_str()))
            .resolver_type(ResolverType::from(req.resolver_type.as_str()))
            .reported_incident_start_date(DateTime::from_millis(req.reported_incident_start_ms))
            .set_impacted_accounts(Some(req.impacted_accounts.clone()))
            .set_watchers(Some(watchers))
            .set_impacted_aws_regions((!regions.is_empty()).then_some(regions))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(fail(OP))?;
        Ok(out.case_id().to_string())
    }

    /// `GetCase`: what the links need to know of a case.
    pub async fn get_case(&self, case_id: &str) -> Result<CaseView, AwsError> {
        let out = self.security_ir.get_case().case_id(case_id).send().await.map_err(fail("GetCase"))?;
        Ok(CaseView {
            metadata: out.case_metadata().iter().map(|e| (e.key().to_string(), e.value().to_string())).collect(),
            status: out.case_status().map(|s| s.as_str().to_string()),
            closure_code: out.closure_code().map(|c| c.as_str().to_string()),
            closed_ms: out.closed_date().and_then(|t| t.to_millis().ok()),
        })
    }

    /// `UpdateCase` setting the case's metadata to `entries`.
    pub async fn set_case_metadata(&self, case_id: &str, entries: &[(String, String)]) -> Result<(), AwsError> {
        const OP: &str = "UpdateCase";
        let entries = entries
            .iter()
            .map(|(k, v)| CaseMetadataEntry::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(build_error(OP))?;
        self.security_ir.update_case().case_id(case_id).set_case_metadata(Some(entries)).send().await.map_err(fail(OP))?;
        Ok(())
    }

    /// `CreateCaseComment` with a deterministic token.
    pub async fn comment_on_case(&self, case_id: &str, body: &str, token: &str) -> Result<Written, AwsError> {
        written(
            self.security_ir
                .create_case_comment()
                .case_id(case_id)
                .body(body)
                .client_token(token)
                .send()
                .await
                .map_err(fail("CreateCaseComment")),
        )
    }

    /// `GetIncidentRecord` + `ListRelatedItems`, concurrently: the record as
    /// matching sees it, or `None` when there is no such record.
    pub async fn incident(&self, arn: &str) -> Result<Option<Candidate>, AwsError> {
        let record = async { self.incidents.get_incident_record().arn(arn).send().await.map_err(fail("GetIncidentRecord")) };
        let (record, related) = tokio::join!(record, self.related_items(arn));
        let record = match record {
            Ok(out) => out,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(r) = record.incident_record() else {
            return Ok(None);
        };
        Ok(Some(Candidate {
            arn: r.arn().to_string(),
            title: r.title().to_string(),
            summary: r.summary().map(str::to_string),
            dedupe_string: Some(r.dedupe_string().to_string()).filter(|s| !s.is_empty()),
            source_resource_arn: r.incident_record_source().and_then(|s| s.resource_arn()).map(str::to_string),
            open: r.status().as_str() == "OPEN",
            related_items: related?,
        }))
    }

    /// `ListIncidentRecords` of open records created after `after_ms`, every page: their ARNs.
    pub async fn open_incidents_since(&self, after_ms: i64) -> Result<Vec<String>, AwsError> {
        const OP: &str = "ListIncidentRecords";
        let status = Filter::builder()
            .key("status")
            .condition(Condition::Equals(AttributeValueList::StringValues(vec!["OPEN".to_string()])))
            .build()
            .map_err(build_error(OP))?;
        let created = Filter::builder()
            .key("creationTime")
            .condition(Condition::After(DateTime::from_millis(after_ms)))
            .build()
            .map_err(build_error(OP))?;
        let mut pages = self.incidents.list_incident_records().filters(status).filters(created).max_results(100).into_paginator().send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(fail(OP))?;
            found.extend(page.incident_record_summaries().iter().map(|s| s.arn().to_string()));
        }
        Ok(found)
    }

    /// `ListRelatedItems`, every page.
    pub async fn related_items(&self, arn: &str) -> Result<Vec<RelatedItemView>, AwsError> {
        let mut pages = self.incidents.list_related_items().incident_record_arn(arn).max_results(100).into_paginator().send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(fail("ListRelatedItems"))?;
            for item in page.related_items() {
                let value = match item.identifier().and_then(|i| i.value()) {
                    Some(ItemValue::Url(v) | ItemValue::Arn(v) | ItemValue::MetricDefinition(v)) => v.clone(),
                    _ => String::new(),
                };
                items.push(RelatedItemView { title: item.title().map(str::to_string), value });
            }
        }
        Ok(items)
    }

    /// `UpdateRelatedItems` adding the case to an incident, with a deterministic token.
    pub async fn add_case_item(&self, incident_arn: &str, item: &CaseItem, token: &str) -> Result<Written, AwsError> {
        const OP: &str = "UpdateRelatedItems";
        let related = related_item(item).map_err(build_error(OP))?;
        let result = self
            .incidents
            .update_related_items()
            .incident_record_arn(incident_arn)
            .related_items_update(RelatedItemsUpdate::ItemToAdd(related))
            .client_token(token)
            .send()
            .await
            .map_err(fail(OP));
        match result {
            Ok(_) => Ok(Written::Done),
            // A conflict may mean "already there" or a concurrent change to the
            // record: only the item's presence says which.
            Err(e) if e.is_conflict() => {
                if self.related_items(incident_arn).await?.iter().any(|i| i.value == item.url) {
                    Ok(Written::AlreadyThere)
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `CreateTimelineEvent` with a deterministic token.
    pub async fn add_timeline_event(&self, incident_arn: &str, event: &TimelineEvent, token: &str) -> Result<Written, AwsError> {
        written(
            self.incidents
                .create_timeline_event()
                .incident_record_arn(incident_arn)
                .event_type(event.event_type)
                .event_time(DateTime::from_millis(event.event_time_ms))
                .event_data(&event.event_data)
                .client_token(token)
                .send()
                .await
                .map_err(fail("CreateTimelineEvent")),
        )
    }

    /// `StartIncident` from a response plan, with a deterministic token. Returns its ARN.
    pub async fn start_incident(&self, plan_arn: &str, spec: &StartIncident, token: &str) -> Result<String, AwsError> {
        const OP: &str = "StartIncident";
        let trigger = TriggerDetails::builder()
            .source(INCIDENT_SOURCE)
            .timestamp(DateTime::from_millis(spec.trigger_time_ms))
            .raw_data(&spec.raw_data)
            .build()
            .map_err(build_error(OP))?;
        let out = self
            .incidents
            .start_incident()
            .response_plan_arn(plan_arn)
            .title(&spec.title)
            .impact(spec.impact)
            .trigger_details(trigger)
            .related_items(related_item(&spec.case_item).map_err(build_error(OP))?)
            .client_token(token)
            .send()
            .await
            .map_err(fail(OP))?;
        Ok(out.incident_record_arn().to_string())
    }
}

fn related_item(item: &CaseItem) -> Result<RelatedItem, aws_sdk_guardduty::error::BuildError> {
    let identifier = ItemIdentifier::builder().r#type(ItemType::Other).value(ItemValue::Url(item.url.clone())).build()?;
    Ok(RelatedItem::builder().title(&item.title).identifier(identifier).build())
}
