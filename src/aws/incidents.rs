//! AWS Systems Manager Incident Manager: reading and listing incident records,
//! their related items and timeline, starting and resolving records. SDK types
//! stay in this file.

use aws_sdk_ssmincidents::primitives::DateTime;
use aws_sdk_ssmincidents::types::{
    AttributeValueList, Condition, Filter, IncidentRecordStatus, ItemIdentifier, ItemType, ItemValue, RelatedItem, RelatedItemsUpdate,
    TriggerDetails,
};

use super::pages::Pages;
use super::{build_error, fail, written, AwsError, Written};
use crate::incident::links::{CaseItem, StartIncident, TimelineEvent, INCIDENT_SOURCE};
use crate::incident::matcher::{Candidate, RelatedItemView};
use crate::trigger::ids;

/// The most incident records one search lists, and so reads (2 pages of 100).
pub const MAX_CANDIDATES: usize = 200;

/// The most `ListRelatedItems` pages read of one record (100 items each).
pub const MAX_RELATED_PAGES: usize = 5;

/// The Incident Manager client, built once per cold start.
#[derive(Debug, Clone)]
pub struct Incidents {
    client: aws_sdk_ssmincidents::Client,
}

impl Incidents {
    /// Wraps a client.
    pub fn new(client: aws_sdk_ssmincidents::Client) -> Incidents {
        Incidents { client }
    }

    /// `GetIncidentRecord` + `ListRelatedItems`, concurrently: the record as
    /// matching sees it, or `None` when there is no such record.
    pub async fn incident(&self, arn: &str) -> Result<Option<Candidate>, AwsError> {
        let record = async { self.client.get_incident_record().arn(arn).send().await.map_err(fail("GetIncidentRecord")) };
        let (record, related) = tokio::join!(record, self.related_items(arn));
        let record = match record {
            Ok(out) => out,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(r) = record.incident_record() else {
            return Ok(None);
        };
        if r.arn() != arn {
            let message = format!("asked for incident record {arn}, the answer is about {:?}", ids::quote(r.arn()));
            return Err(AwsError::new("GetIncidentRecord", "InvalidAnswer", message));
        }
        Ok(Some(Candidate {
            arn: arn.to_string(),
            title: r.title().to_string(),
            summary: r.summary().map(str::to_string),
            dedupe_string: Some(r.dedupe_string().to_string()).filter(|s| !s.is_empty()),
            source_resource_arn: r.incident_record_source().and_then(|s| s.resource_arn()).map(str::to_string),
            open: r.status().as_str() == "OPEN",
            related_items: related?,
        }))
    }

    /// `ListIncidentRecords` of open records created after `after_ms` (and before
    /// `before_ms`, when given): their ARNs and titles, at most [`MAX_CANDIDATES`]
    /// (a repeated page token stops it too). An entry that is not an incident
    /// record ARN is left out.
    pub async fn open_incidents(&self, after_ms: i64, before_ms: Option<i64>) -> Result<Vec<(String, String)>, AwsError> {
        const OP: &str = "ListIncidentRecords";
        let status = Filter::builder()
            .key("status")
            .condition(Condition::Equals(AttributeValueList::StringValues(vec!["OPEN".to_string()])))
            .build()
            .map_err(build_error(OP))?;
        // Several filters must all hold (ListIncidentRecords' reference), so two on
        // creationTime bound it on both sides.
        let time = |condition| Filter::builder().key("creationTime").condition(condition).build().map_err(build_error(OP));
        let mut filters = vec![status, time(Condition::After(DateTime::from_millis(after_ms)))?];
        if let Some(before_ms) = before_ms {
            filters.push(time(Condition::Before(DateTime::from_millis(before_ms)))?);
        }
        let mut found = Vec::new();
        let mut pages = Pages::new(OP, MAX_CANDIDATES.div_ceil(100));
        while let Some(token) = pages.next() {
            let request = self.client.list_incident_records().set_filters(Some(filters.clone())).max_results(100);
            let page = request.set_next_token(token).send().await.map_err(fail(OP))?;
            for summary in page.incident_record_summaries() {
                match ids::incident_arn(summary.arn()) {
                    Some(arn) if found.len() < MAX_CANDIDATES => found.push((arn, summary.title().to_string())),
                    Some(_) => {}
                    None => tracing::warn!(
                        arn = %ids::quote(summary.arn()),
                        "ListIncidentRecords listed something that is not an incident record ARN; left out"
                    ),
                }
            }
            pages.after(page.next_token());
        }
        Ok(found)
    }

    /// `ListRelatedItems`, at most [`MAX_RELATED_PAGES`] pages.
    pub async fn related_items(&self, arn: &str) -> Result<Vec<RelatedItemView>, AwsError> {
        const OP: &str = "ListRelatedItems";
        let mut items = Vec::new();
        let mut pages = Pages::new(OP, MAX_RELATED_PAGES);
        while let Some(token) = pages.next() {
            let request = self.client.list_related_items().incident_record_arn(arn).max_results(100);
            let page = request.set_next_token(token).send().await.map_err(fail(OP))?;
            for item in page.related_items() {
                let value = match item.identifier().and_then(|i| i.value()) {
                    Some(ItemValue::Url(v) | ItemValue::Arn(v) | ItemValue::MetricDefinition(v)) => v.clone(),
                    _ => String::new(),
                };
                items.push(RelatedItemView { title: item.title().map(str::to_string), value });
            }
            pages.after(page.next_token());
        }
        Ok(items)
    }

    /// `UpdateRelatedItems` adding the case to an incident, with a deterministic token.
    pub async fn add_case_item(&self, incident_arn: &str, item: &CaseItem, token: &str) -> Result<Written, AwsError> {
        const OP: &str = "UpdateRelatedItems";
        let related = related_item(item).map_err(build_error(OP))?;
        let result = self
            .client
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
        let sent = self
            .client
            .create_timeline_event()
            .incident_record_arn(incident_arn)
            .event_type(event.event_type)
            .event_time(DateTime::from_millis(event.event_time_ms))
            .event_data(&event.event_data)
            .client_token(token)
            .send()
            .await;
        written(sent.map_err(fail("CreateTimelineEvent")))
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
            .client
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

    /// `GetIncidentRecord` alone: whether the record is resolved, when and by
    /// whom (its `lastModifiedBy`), and its title; `None` when there is no such record.
    pub async fn resolution(&self, arn: &str) -> Result<Option<Resolution>, AwsError> {
        const OP: &str = "GetIncidentRecord";
        let out = match self.client.get_incident_record().arn(arn).send().await.map_err(fail(OP)) {
            Ok(out) => out,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(r) = out.incident_record() else { return Ok(None) };
        if r.arn() != arn {
            let message = format!("asked for incident record {arn}, the answer is about {:?}", ids::quote(r.arn()));
            return Err(AwsError::new(OP, "InvalidAnswer", message));
        }
        Ok(Some(Resolution {
            resolved: r.status().as_str() == "RESOLVED",
            resolved_ms: r.resolved_time().and_then(|t| t.to_millis().ok()),
            resolved_by: r.last_modified_by().to_string(),
            title: r.title().to_string(),
        }))
    }

    /// `UpdateIncidentRecord` setting the record `RESOLVED`, with a deterministic token.
    pub async fn resolve_incident(&self, arn: &str, token: &str) -> Result<(), AwsError> {
        let sent = self.client.update_incident_record().arn(arn).status(IncidentRecordStatus::Resolved).client_token(token).send().await;
        sent.map_err(fail("UpdateIncidentRecord"))?;
        Ok(())
    }
}

/// An incident record's resolution, as `GetIncidentRecord` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// `RESOLVED`.
    pub resolved: bool,
    /// When it was resolved, in milliseconds since the epoch.
    pub resolved_ms: Option<i64>,
    /// Who changed it last (the resolver, for a record just resolved).
    pub resolved_by: String,
    /// Its title.
    pub title: String,
}

fn related_item(item: &CaseItem) -> Result<RelatedItem, aws_sdk_ssmincidents::error::BuildError> {
    let identifier = ItemIdentifier::builder().r#type(ItemType::Other).value(ItemValue::Url(item.url.clone())).build()?;
    Ok(RelatedItem::builder().title(&item.title).identifier(identifier).build())
}
