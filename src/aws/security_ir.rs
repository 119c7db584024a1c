//! AWS Security Incident Response: opening a case, reading it, and writing its
//! comments and metadata. SDK types stay in this file.

use std::collections::HashMap;

use aws_sdk_securityir::primitives::DateTime;
use aws_sdk_securityir::types::{AwsRegion, CaseMetadataEntry, EngagementType, ImpactedAwsRegion, ResolverType, ThreatActorIp, Watcher};

use super::pages::Pages;
use super::{build_error, fail, written, AwsError, Written};
use crate::case::builder::{is_title_of, CaseRequest, CREATED_BY, TAG_CREATED_BY, TAG_INVESTIGATION};
use crate::case::threat_actors::ThreatActor;
use crate::trigger::ids;

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
    /// The threat actor addresses it shows.
    pub threat_actor_addresses: Vec<String>,
    /// When it was last changed, in milliseconds since the epoch.
    pub updated_ms: Option<i64>,
}

/// One comment of a case, as the mirror to the incidents needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentView {
    /// Its id (six digits).
    pub id: String,
    /// Its text.
    pub body: String,
    /// Who wrote it (an ARN, an account id, or `AWS Responder`).
    pub creator: Option<String>,
    /// When, in milliseconds since the epoch.
    pub created_ms: Option<i64>,
}

/// The most `ListComments` pages read for a case (25 comments each).
pub const MAX_COMMENT_PAGES: usize = 8;

/// The most `ListCases` pages a search for an earlier case reads (25 cases each).
pub const MAX_CASE_PAGES: usize = 40;
/// The most candidate cases whose tags a search for an earlier case reads.
pub const MAX_TAG_READS: usize = 5;

/// The Security IR client, built once per cold start.
#[derive(Debug, Clone)]
pub struct SecurityIr {
    client: aws_sdk_securityir::Client,
}

impl SecurityIr {
    /// Wraps a client.
    pub fn new(client: aws_sdk_securityir::Client) -> SecurityIr {
        SecurityIr { client }
    }

    /// The regions Security IR accepts for `impactedAwsRegions` (its model's enum).
    pub fn case_regions() -> &'static [&'static str] {
        AwsRegion::values()
    }

    /// `CreateCase`, with the request's deterministic token. Returns the case id.
    pub async fn create_case(&self, req: &CaseRequest) -> Result<String, AwsError> {
        const OP: &str = "CreateCase";
        let watchers = req
            .watchers
            .iter()
            .map(|w| Watcher::builder().email(&w.email).set_name(w.name.clone()).build())
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
            .client
            .create_case()
            .client_token(&req.client_token)
            .title(&req.title)
            .description(&req.description)
            .engagement_type(EngagementType::from(req.engagement_type.as_str()))
            .resolver_type(ResolverType::from(req.resolver_type.as_str()))
            .reported_incident_start_date(DateTime::from_millis(req.reported_incident_start_ms))
            .set_impacted_accounts(Some(req.impacted_accounts.clone()))
            .set_impacted_services((!req.impacted_services.is_empty()).then(|| req.impacted_services.clone()))
            .set_watchers(Some(watchers))
            .set_impacted_aws_regions((!regions.is_empty()).then_some(regions))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(fail(OP))?;
        // Nothing is recorded or linked with a case id that is not one.
        ids::case_id(out.case_id()).ok_or_else(|| {
            AwsError::new(OP, "InvalidAnswer", format!("the answer's caseId {:?} is not 10 to 32 digits", ids::quote(out.case_id())))
        })
    }

    /// The case this product opened for `investigation_id`, found by `ListCases`
    /// (it has no filter; at most [`MAX_CASE_PAGES`] pages of 25): among the cases
    /// titled as this product titles that investigation's case, earliest created
    /// first, the first whose tags (`ListTagsForResource`, at most
    /// [`MAX_TAG_READS`]) say this product opened it for that investigation. A
    /// title alone is anyone's to write.
    pub async fn case_of_investigation(&self, investigation_id: &str) -> Result<Option<String>, AwsError> {
        const OP: &str = "ListCases";
        let mut pages = Pages::new(OP, MAX_CASE_PAGES);
        // (created, id, arn): the earliest first, whatever order the pages come in.
        let mut candidates: Vec<((i64, u32), String, String)> = Vec::new();
        while let Some(token) = pages.next() {
            let page = self.client.list_cases().max_results(25).set_next_token(token).send().await.map_err(fail(OP))?;
            for item in page.items() {
                let ours = item.title().is_some_and(|t| is_title_of(t, investigation_id));
                let Some(id) = ids::case_id(item.case_id()).filter(|_| ours) else { continue };
                // The listed ARN must name the listed case: its tags are read through it.
                let Some(arn) = item.case_arn().filter(|a| a.starts_with("arn:") && a.ends_with(&format!(":case/{id}"))) else {
                    continue;
                };
                let created = item.created_date().map_or((i64::MAX, 0), |d| (d.secs(), d.subsec_nanos()));
                candidates.push((created, id, arn.to_string()));
            }
            pages.after(page.next_token());
        }
        candidates.sort();
        for (_, id, arn) in candidates.iter().take(MAX_TAG_READS) {
            let tags = self.case_tags(arn).await?;
            let opened_by_us = tags.get(TAG_CREATED_BY).map(String::as_str) == Some(CREATED_BY);
            if opened_by_us && tags.get(TAG_INVESTIGATION).map(String::as_str) == Some(investigation_id) {
                return Ok(Some(id.clone()));
            }
            tracing::warn!(case_id = %id, "a case titled as this investigation's lacks this product's tags for it: not adopted");
        }
        Ok(None)
    }

    /// `ListTagsForResource` of a case (`GetCase` does not show its tags).
    async fn case_tags(&self, case_arn: &str) -> Result<HashMap<String, String>, AwsError> {
        let out = self.client.list_tags_for_resource().resource_arn(case_arn).send().await.map_err(fail("ListTagsForResource"))?;
        Ok(out.tags().clone())
    }

    /// `GetCase`: what the links and the close-out need to know of a case.
    pub async fn get_case(&self, case_id: &str) -> Result<CaseView, AwsError> {
        let out = self.client.get_case().case_id(case_id).send().await.map_err(fail("GetCase"))?;
        Ok(CaseView {
            metadata: out.case_metadata().iter().map(|e| (e.key().to_string(), e.value().to_string())).collect(),
            status: out.case_status().map(|s| s.as_str().to_string()),
            closure_code: out.closure_code().map(|c| c.as_str().to_string()),
            closed_ms: out.closed_date().and_then(|t| t.to_millis().ok()),
            threat_actor_addresses: out.threat_actor_ip_addresses().iter().map(|a| a.ip_address().to_string()).collect(),
            updated_ms: out.last_updated_date().and_then(|t| t.to_millis().ok()),
        })
    }

    /// `ListComments` of a case: at most [`MAX_COMMENT_PAGES`] pages (a repeated
    /// page token stops it too). A comment whose id is not a plain run of digits is left out.
    pub async fn comments(&self, case_id: &str) -> Result<Vec<CommentView>, AwsError> {
        const OP: &str = "ListComments";
        let mut pages = Pages::new(OP, MAX_COMMENT_PAGES);
        let mut comments = Vec::new();
        while let Some(token) = pages.next() {
            let page = self.client.list_comments().case_id(case_id).max_results(25).set_next_token(token).send().await.map_err(fail(OP))?;
            for item in page.items() {
                let id = item.comment_id();
                if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
                    tracing::warn!(case_id, comment = %ids::quote(id), "ListComments listed a comment id that is not digits; left out");
                    continue;
                }
                comments.push(CommentView {
                    id: id.to_string(),
                    body: item.body().unwrap_or_default().to_string(),
                    creator: item.creator().map(str::to_string),
                    created_ms: item.created_date().and_then(|t| t.to_millis().ok()),
                });
            }
            pages.after(page.next_token());
        }
        Ok(comments)
    }

    /// One `UpdateCase` (it takes no token: the caller reads the case first and
    /// writes only what is missing): the metadata set to `entries` when given,
    /// and `actors` added to its threat actor addresses.
    pub async fn update_case(&self, case_id: &str, entries: Option<&[(String, String)]>, actors: &[ThreatActor]) -> Result<(), AwsError> {
        const OP: &str = "UpdateCase";
        let entries = match entries {
            Some(entries) => Some(
                entries
                    .iter()
                    .map(|(k, v)| CaseMetadataEntry::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(build_error(OP))?,
            ),
            None => None,
        };
        let actors = actors
            .iter()
            .map(|a| ThreatActorIp::builder().ip_address(&a.address).set_user_agent(a.user_agent.clone()).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(build_error(OP))?;
        let request = self.client.update_case().case_id(case_id).set_case_metadata(entries);
        request.set_threat_actor_ip_addresses_to_add((!actors.is_empty()).then_some(actors)).send().await.map_err(fail(OP))?;
        Ok(())
    }

    /// `CreateCaseComment` with a deterministic token.
    pub async fn comment_on_case(&self, case_id: &str, body: &str, token: &str) -> Result<Written, AwsError> {
        let sent = self.client.create_case_comment().case_id(case_id).body(body).client_token(token).send().await;
        written(sent.map_err(fail("CreateCaseComment")))
    }
}
