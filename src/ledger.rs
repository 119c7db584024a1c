//! The ledger (DESIGN.md section 6a): a DynamoDB table that makes "once" hold
//! forever, beyond the services' undocumented token windows.
//!
//! One item per investigation (`investigation/{region}/{detectorId}/{investigationId}`)
//! moves `in_progress` (with a lease) → `escalated`, or is `skipped`. Every
//! write is conditional, so two invocations cannot both hold the lease, and a
//! takeover after a crash keeps what the crashed one recorded (the case id), so
//! it resumes instead of starting over. A case item (`case/{region}/{caseId}`)
//! lets the close-out find its incidents; a finding item
//! (`finding/{region}/{detectorId}/{findingId}`) keeps a finding from starting a
//! second investigation. Escalated and case items never expire; the rest carry
//! a `ttl` 31 days out.
//!
//! Table: partition key `pk` (String), no sort key, TTL attribute `ttl`.
//! Calls: `GetItem` (consistent), `PutItem`, `UpdateItem`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use crate::aws::{fail, AwsError};
use crate::decision::SkipReason;

/// How long items other than escalations and cases are kept, in seconds.
pub const TTL_SECONDS: i64 = 31 * 86_400;

const IN_PROGRESS: &str = "in_progress";
const ESCALATED: &str = "escalated";
const SKIPPED: &str = "skipped";
const STARTED: &str = "started";
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// The clock, in epoch seconds (leases and TTLs only: never in a request body
/// that a token protects).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The ledger key of an investigation.
pub fn investigation_key(region: &str, detector_id: &str, investigation_id: &str) -> String {
    format!("investigation/{region}/{detector_id}/{investigation_id}")
}

/// The ledger key of a case.
pub fn case_key(region: &str, case_id: &str) -> String {
    format!("case/{region}/{case_id}")
}

/// The ledger key of a finding.
pub fn finding_key(region: &str, detector_id: &str, finding_id: &str) -> String {
    format!("finding/{region}/{detector_id}/{finding_id}")
}

/// What the ledger holds for an investigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing yet.
    Absent,
    /// An invocation is working on it.
    InProgress {
        /// The invocation's request id.
        owner: String,
        /// When its lease ends, in epoch seconds.
        lease_expires: i64,
        /// The case, once opened.
        case_id: Option<String>,
    },
    /// Escalated: final.
    Escalated {
        /// The case.
        case_id: String,
        /// The linked incidents.
        incidents: Vec<String>,
        /// The risk level it was escalated at.
        risk_level: String,
        /// Its confidence.
        confidence: String,
    },
    /// Skipped, for this reason.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

/// The result of trying to take an investigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This invocation holds the lease; `case_id` is the case an earlier holder opened.
    Won {
        /// The case already opened, if any.
        case_id: Option<String>,
    },
    /// Another invocation holds a live lease.
    Held,
    /// Already escalated (the entry says by what).
    Done(Entry),
}

/// The result of trying to take a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingClaim {
    /// This invocation may start the investigation.
    Won,
    /// An investigation was started for it already.
    Started {
        /// Its id.
        investigation_id: String,
    },
    /// Another invocation is starting it now.
    Held,
}

/// The ledger table.
#[derive(Debug, Clone)]
pub struct Ledger {
    client: Client,
    table: String,
    lease_seconds: i64,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text(item: &HashMap<String, AttributeValue>, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

fn list(item: &HashMap<String, AttributeValue>, key: &str) -> Vec<String> {
    item.get(key).and_then(|v| v.as_l().ok()).map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect()).unwrap_or_default()
}

/// Reads an investigation item. An item this build cannot read is treated as
/// held (not as absent), so a bad item never leads to a second escalation.
fn entry(item: Option<&HashMap<String, AttributeValue>>) -> Entry {
    let Some(item) = item else { return Entry::Absent };
    match text(item, "state").as_deref() {
        Some(ESCALATED) => Entry::Escalated {
            case_id: text(item, "case_id").unwrap_or_default(),
            incidents: list(item, "incidents"),
            risk_level: text(item, "risk_level").unwrap_or_default(),
            confidence: text(item, "confidence").unwrap_or_default(),
        },
        Some(SKIPPED) => match text(item, "reason").as_deref().and_then(SkipReason::parse) {
            Some(reason) => Entry::Skipped { reason },
            None => Entry::Skipped { reason: SkipReason::UnknownRisk },
        },
        _ => Entry::InProgress {
            owner: text(item, "lease_owner").unwrap_or_default(),
            lease_expires: number(item, "lease_expires").unwrap_or(i64::MAX),
            case_id: text(item, "case_id"),
        },
    }
}

impl Ledger {
    /// A ledger on `table`, with leases of `lease_seconds`.
    pub fn new(client: Client, table: &str, lease_seconds: u32) -> Ledger {
        Ledger { client, table: table.to_string(), lease_seconds: i64::from(lease_seconds) }
    }

    /// Reads an item (strongly consistent).
    async fn item(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        let out =
            self.client.get_item().table_name(&self.table).key("pk", s(key)).consistent_read(true).send().await.map_err(fail("GetItem"))?;
        Ok(out.item().cloned())
    }

    /// Reads an investigation's entry.
    pub async fn get(&self, key: &str) -> Result<Entry, AwsError> {
        Ok(entry(self.item(key).await?.as_ref()))
    }

    /// Takes an item's lease for `owner` when `condition` holds (with `values`
    /// bound besides `:in_progress`, `:owner` and `:now`); `None` when it does not.
    /// Returns the item as it is after the write.
    async fn take_lease(
        &self,
        key: &str,
        owner: &str,
        now: i64,
        until: i64,
        condition: &str,
        values: &[(&str, &str)],
    ) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET #state = :in_progress, lease_owner = :owner, lease_expires = :expires, updated_at = :now, #ttl = :ttl")
            .condition_expression(condition)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":owner", s(owner))
            // Never shorter than the holder's own invocation (plus 2 s for clocks):
            // a lease that ended while its holder still worked would let a second in.
            .expression_attribute_values(":expires", n((now + self.lease_seconds).max(until + 2)))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":ttl", n(now + TTL_SECONDS))
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            request = request.expression_attribute_values(*name, s(value));
        }
        match request.send().await.map_err(fail("UpdateItem")) {
            Ok(out) => Ok(Some(out.attributes().cloned().unwrap_or_default())),
            Err(e) if e.code == CONDITION_FAILED => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes the lease on an investigation for `owner`, if nobody holds a live one
    /// (a skipped one may be taken: its skip is decided again). The lease lasts
    /// `LEDGER_LEASE_SECONDS`, and at least until `until` (the invocation's deadline,
    /// epoch seconds). A takeover keeps the item's progress (its case id).
    pub async fn claim(&self, key: &str, owner: &str, now: i64, until: i64) -> Result<Claim, AwsError> {
        let condition =
            "attribute_not_exists(pk) OR #state = :skipped OR (#state = :in_progress AND (lease_expires < :now OR lease_owner = :owner))";
        match self.take_lease(key, owner, now, until, condition, &[(":skipped", SKIPPED)]).await? {
            Some(item) => Ok(Claim::Won { case_id: text(&item, "case_id") }),
            None => match self.get(key).await? {
                done @ Entry::Escalated { .. } => Ok(Claim::Done(done)),
                _ => Ok(Claim::Held),
            },
        }
    }

    /// Records the case the lease holder opened, so a takeover resumes with it,
    /// and writes the case item at once, so a close-out knows the case as ours
    /// even before its links are done.
    pub async fn record_case(&self, key: &str, owner: &str, region: &str, case_id: &str, now: i64) -> Result<(), AwsError> {
        self.put_case_item(key, region, case_id, &[], now).await?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET case_id = :case, updated_at = :now")
            .condition_expression("#state = :in_progress AND lease_owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":case", s(case_id))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(fail("UpdateItem"))?;
        Ok(())
    }

    /// Marks the investigation escalated (final, never expires) and writes the case item.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        &self,
        key: &str,
        owner: &str,
        region: &str,
        case_id: &str,
        incidents: &[String],
        risk_level: &str,
        confidence: &str,
        now: i64,
    ) -> Result<(), AwsError> {
        let arns = AttributeValue::L(incidents.iter().map(|a| s(a)).collect());
        // The case item first: should the next write fail, a takeover writes both again.
        self.put_case_item(key, region, case_id, incidents, now).await?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(
                "SET #state = :escalated, case_id = :case, incidents = :incidents, risk_level = :risk, confidence = :confidence, updated_at = :now \
                 REMOVE lease_owner, lease_expires, #ttl",
            )
            .condition_expression("#state = :in_progress AND lease_owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":escalated", s(ESCALATED))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":case", s(case_id))
            .expression_attribute_values(":incidents", arns)
            .expression_attribute_values(":risk", s(risk_level))
            .expression_attribute_values(":confidence", s(confidence))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(fail("UpdateItem"))?;
        Ok(())
    }

    /// Writes the case item: the investigation it belongs to and the incidents it links.
    async fn put_case_item(&self, key: &str, region: &str, case_id: &str, incidents: &[String], now: i64) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&case_key(region, case_id)))
            .item("investigation", s(key))
            .item("incidents", AttributeValue::L(incidents.iter().map(|a| s(a)).collect()))
            .item("updated_at", n(now))
            .send()
            .await
            .map_err(fail("PutItem"))?;
        Ok(())
    }

    /// Ends `owner`'s lease early (after a failure), so a retry need not wait it out.
    pub async fn release(&self, key: &str, owner: &str, now: i64) -> Result<(), AwsError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET lease_expires = :now")
            .condition_expression("#state = :in_progress AND lease_owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":now", n(now - 1))
            .send()
            .await
            .map_err(fail("UpdateItem"));
        match result {
            Err(e) if e.code != CONDITION_FAILED => Err(e),
            _ => Ok(()),
        }
    }

    /// Records a skip, unless the investigation was escalated or is being escalated
    /// meanwhile (then the skip is simply not recorded).
    pub async fn record_skip(&self, key: &str, reason: SkipReason, now: i64) -> Result<(), AwsError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(key))
            .item("state", s(SKIPPED))
            .item("reason", s(reason.as_str()))
            .item("updated_at", n(now))
            .item("ttl", n(now + TTL_SECONDS))
            .condition_expression("attribute_not_exists(pk) OR #state = :skipped")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":skipped", s(SKIPPED))
            .send()
            .await
            .map_err(fail("PutItem"));
        match result {
            Err(e) if e.code != CONDITION_FAILED => Err(e),
            _ => Ok(()),
        }
    }

    /// The incidents a case links, if this product opened the case.
    pub async fn case_incidents(&self, region: &str, case_id: &str) -> Result<Option<Vec<String>>, AwsError> {
        Ok(self.item(&case_key(region, case_id)).await?.map(|item| list(&item, "incidents")))
    }

    /// Takes a finding for `owner`, unless an investigation was started for it.
    pub async fn claim_finding(&self, key: &str, owner: &str, now: i64, until: i64) -> Result<FindingClaim, AwsError> {
        let condition = "attribute_not_exists(pk) OR (#state = :in_progress AND (lease_expires < :now OR lease_owner = :owner))";
        if self.take_lease(key, owner, now, until, condition, &[]).await?.is_some() {
            return Ok(FindingClaim::Won);
        }
        match self.item(key).await?.and_then(|i| text(&i, "investigation_id")) {
            Some(investigation_id) => Ok(FindingClaim::Started { investigation_id }),
            None => Ok(FindingClaim::Held),
        }
    }

    /// Records the investigation started for a finding.
    pub async fn finding_started(&self, key: &str, owner: &str, investigation_id: &str, now: i64) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET #state = :started, investigation_id = :inv, updated_at = :now REMOVE lease_owner, lease_expires")
            .condition_expression("lease_owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":started", s(STARTED))
            .expression_attribute_values(":inv", s(investigation_id))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(fail("UpdateItem"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn keys_follow_the_design() {
        assert_eq!(investigation_key("us-east-1", "d", "i"), "investigation/us-east-1/d/i");
        assert_eq!(case_key("us-east-1", "1234567890"), "case/us-east-1/1234567890");
        assert_eq!(finding_key("us-east-1", "d", "f"), "finding/us-east-1/d/f");
    }

    #[test]
    fn items_read_back_as_entries() {
        assert_eq!(entry(None), Entry::Absent);
        let escalated = item(&[
            ("state", s("escalated")),
            ("case_id", s("1000000001")),
            ("incidents", AttributeValue::L(vec![s("arn:1")])),
            ("risk_level", s("High")),
            ("confidence", s("Low")),
        ]);
        assert_eq!(
            entry(Some(&escalated)),
            Entry::Escalated {
                case_id: "1000000001".into(),
                incidents: vec!["arn:1".into()],
                risk_level: "High".into(),
                confidence: "Low".into()
            }
        );
        let skipped = item(&[("state", s("skipped")), ("reason", s("investigation_failed"))]);
        assert_eq!(entry(Some(&skipped)), Entry::Skipped { reason: SkipReason::InvestigationFailed });
        let held = item(&[("state", s("in_progress")), ("lease_owner", s("req-1")), ("lease_expires", n(100)), ("case_id", s("1"))]);
        assert_eq!(entry(Some(&held)), Entry::InProgress { owner: "req-1".into(), lease_expires: 100, case_id: Some("1".into()) });
    }

    #[test]
    fn an_unreadable_item_counts_as_held_never_as_absent() {
        let odd = item(&[("state", s("something-new"))]);
        assert!(matches!(entry(Some(&odd)), Entry::InProgress { lease_expires: i64::MAX, .. }));
    }
}
