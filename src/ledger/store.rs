//! The ledger (docs/design.md §6a): a DynamoDB table that makes "once" hold
//! for ever, beyond the services' undocumented token windows.
//!
//! One item per investigation (`investigation/{region}/{detectorId}/{investigationId}`)
//! moves `in_progress` (under a lease) → `escalated`, or is `skipped`. Claiming
//! returns a [`Lease`]: only its holder can record the case, finish or release,
//! every such write is conditional on still holding it, and a takeover after a
//! crash keeps what the crashed holder recorded (the case id), so it resumes
//! instead of starting over. A case item (`case/{region}/{caseId}`) lets the
//! close-out find its incidents; a finding item
//! (`finding/{region}/{detectorId}/{findingId}`) keeps a finding from starting a
//! second investigation.
//!
//! Only an `in_progress` claim that opened nothing yet and a re-decidable skip
//! carry a `ttl`: an item that holds a case id must never expire.
//!
//! Table: partition key `pk` (String), no sort key, TTL attribute `ttl`.
//! Calls: `GetItem` (consistent), `UpdateItem`.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use serde::Serialize;

use crate::aws::{fail, AwsError};
use crate::investigation::decision::SkipReason;
use crate::runtime::clock::Clock;

/// How long an expiring item is kept, in seconds.
pub const TTL_SECONDS: i64 = 31 * 86_400;
/// Lambda's longest invocation, in seconds: no lease outlives it by more than
/// `LEDGER_LEASE_SECONDS`, whatever deadline a caller passes.
const LAMBDA_MAX_SECONDS: i64 = 900;

const IN_PROGRESS: &str = "in_progress";
const ESCALATED: &str = "escalated";
const SKIPPED: &str = "skipped";
const STARTED: &str = "started";
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

type Item = HashMap<String, AttributeValue>;

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

/// The ledger key of a detector's sweep progress.
pub fn sweep_key(region: &str, detector_id: &str) -> String {
    format!("sweep/{region}/{detector_id}")
}

/// How far a detector's sweeps have settled every finished investigation:
/// each that ended at or before `settled_through_ms` is escalated or skipped,
/// as decided under `gates`. A sweep starts after it, so a settled backlog is
/// not read again investigation by investigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepMark {
    /// Epoch milliseconds.
    pub settled_through_ms: i64,
    /// The decision gates it holds for (another threshold decides skips again).
    pub gates: String,
}

/// What an escalation left behind: the answer to every later delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The case.
    pub case_id: String,
    /// The linked incident records.
    pub incidents: Vec<String>,
    /// The risk level it was escalated at.
    pub risk_level: String,
    /// Its confidence.
    pub confidence: String,
}

/// What the ledger holds for an investigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing yet.
    Absent,
    /// An invocation is working on it.
    InProgress {
        /// The lease holder.
        owner: String,
        /// When its lease ends, in epoch seconds.
        lease_expires: i64,
        /// The case, once opened.
        case_id: Option<String>,
    },
    /// Escalated: final.
    Escalated(Escalation),
    /// Skipped, for this reason.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

/// The result of trying to take an investigation.
#[derive(Debug)]
pub enum Claim<'a> {
    /// This invocation holds the lease.
    Won(Lease<'a>),
    /// Another invocation holds a live lease.
    Held,
    /// Already escalated.
    Done(Escalation),
}

/// The result of trying to take a finding.
#[derive(Debug)]
pub enum FindingClaim<'a> {
    /// This invocation may start the investigation.
    Won(FindingLease<'a>),
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
    region: String,
    lease_seconds: i64,
    clock: Clock,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v)).collect())
}

fn text(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Item, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

fn list(item: &Item, key: &str) -> Vec<String> {
    item.get(key).and_then(|v| v.as_l().ok()).map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect()).unwrap_or_default()
}

/// Reads an investigation item. An item this build cannot read is treated as
/// held (not as absent), so a bad item never leads to a second escalation.
fn entry(item: Option<&Item>) -> Entry {
    let Some(item) = item else { return Entry::Absent };
    match text(item, "state").as_deref() {
        Some(ESCALATED) => Entry::Escalated(Escalation {
            case_id: text(item, "case_id").unwrap_or_default(),
            incidents: list(item, "incidents"),
            risk_level: text(item, "risk_level").unwrap_or_default(),
            confidence: text(item, "confidence").unwrap_or_default(),
        }),
        Some(SKIPPED) => {
            Entry::Skipped { reason: text(item, "reason").as_deref().and_then(SkipReason::parse).unwrap_or(SkipReason::UnknownRisk) }
        }
        _ => Entry::InProgress {
            owner: text(item, "lease_owner").unwrap_or_default(),
            lease_expires: number(item, "lease_expires").unwrap_or(i64::MAX),
            case_id: text(item, "case_id"),
        },
    }
}

/// A ledger item as stored, every attribute this product writes, for people
/// to read (the operator's `status`); the flows read [`Entry`] instead.
/// Serialized with the attribute names as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Its key.
    pub key: String,
    /// `in_progress`, `escalated`, `skipped` or `started` (none on case and sweep items).
    pub state: Option<String>,
    /// The lease holder (`{requestId}/{investigationId}`), while in progress.
    pub lease_owner: Option<String>,
    /// When the lease ends, epoch seconds.
    pub lease_expires: Option<i64>,
    /// The case opened.
    pub case_id: Option<String>,
    /// The link writes made, by step name.
    pub steps_done: Vec<String>,
    /// The incident records linked.
    pub incidents: Vec<String>,
    /// Risk level and confidence it was escalated at.
    pub risk_level: Option<String>,
    /// See `risk_level`.
    pub confidence: Option<String>,
    /// Why it was skipped.
    pub reason: Option<String>,
    /// On a case item: the key of its investigation's item.
    pub investigation: Option<String>,
    /// On a finding item: the investigation started for it.
    pub investigation_id: Option<String>,
    /// On a sweep item: through which end time (epoch ms) every investigation is settled, and under which gates.
    pub settled_through: Option<i64>,
    /// See `settled_through`.
    pub gates: Option<String>,
    /// Last written, epoch seconds.
    pub updated_at: Option<i64>,
    /// When DynamoDB may delete it, epoch seconds (none: kept for ever).
    pub ttl: Option<i64>,
}

fn record(key: &str, item: &Item) -> Record {
    let mut steps_done: Vec<String> = item.get("steps_done").and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default();
    steps_done.sort();
    Record {
        key: key.to_string(),
        state: text(item, "state"),
        lease_owner: text(item, "lease_owner"),
        lease_expires: number(item, "lease_expires"),
        case_id: text(item, "case_id"),
        steps_done,
        incidents: list(item, "incidents"),
        risk_level: text(item, "risk_level"),
        confidence: text(item, "confidence"),
        reason: text(item, "reason"),
        investigation: text(item, "investigation"),
        investigation_id: text(item, "investigation_id"),
        settled_through: number(item, "settled_through"),
        gates: text(item, "gates"),
        updated_at: number(item, "updated_at"),
        ttl: number(item, "ttl"),
    }
}

/// One conditional `UpdateItem`: an update expression, the condition it needs,
/// and the values both name. `#state` and `#ttl` (reserved words) are bound when used.
struct Update<'e> {
    expression: &'e str,
    condition: &'e str,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Ledger {
    /// A ledger on `table` for the function's `region`, with leases of
    /// `lease_seconds`, reading time from `clock`.
    pub fn new(client: Client, table: &str, region: &str, lease_seconds: u32, clock: Clock) -> Ledger {
        Ledger { client, table: table.to_string(), region: region.to_string(), lease_seconds: i64::from(lease_seconds), clock }
    }

    /// Reads an item (strongly consistent).
    async fn item(&self, key: &str) -> Result<Option<Item>, AwsError> {
        let out =
            self.client.get_item().table_name(&self.table).key("pk", s(key)).consistent_read(true).send().await.map_err(fail("GetItem"))?;
        Ok(out.item().cloned())
    }

    /// Makes a conditional update; `None` when the condition did not hold.
    /// Returns the item as it is after the write.
    async fn update(&self, key: &str, update: Update<'_>) -> Result<Option<Item>, AwsError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression(update.expression)
            .condition_expression(update.condition)
            .return_values(ReturnValue::AllNew);
        for name in ["state", "ttl"] {
            let placeholder = format!("#{name}");
            if update.expression.contains(&placeholder) || update.condition.contains(&placeholder) {
                request = request.expression_attribute_names(placeholder, name);
            }
        }
        for (name, value) in update.values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await.map_err(fail("UpdateItem")) {
            Ok(out) => Ok(Some(out.attributes().cloned().unwrap_or_default())),
            Err(e) if e.code == CONDITION_FAILED => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes `key`'s lease for `owner` when `condition` holds (it may name
    /// `:in_progress`, `:owner`, `:now` and `extra`). The lease lasts
    /// `LEDGER_LEASE_SECONDS`, and at least until `until` (the holder's deadline,
    /// epoch seconds) plus 2 s for clocks, but never past Lambda's longest run.
    ///
    /// The take is two conditional updates, so that "an item that names a case
    /// never carries a `ttl`" holds at every instant: one for items without a
    /// case id (they get a `ttl`: a claim that opened nothing may expire), one
    /// for items with one (their `ttl` goes in the same write).
    async fn take(
        &self,
        key: &str,
        owner: &str,
        until: i64,
        condition: &str,
        extra: Vec<(&'static str, AttributeValue)>,
    ) -> Result<Option<Item>, AwsError> {
        let now = self.clock.now_secs();
        let expires =
            now.saturating_add(self.lease_seconds).max(until.saturating_add(2)).min(now + LAMBDA_MAX_SECONDS + self.lease_seconds);
        let mut values = vec![(":in_progress", s(IN_PROGRESS)), (":owner", s(owner)), (":expires", n(expires)), (":now", n(now))];
        values.extend(extra);
        let lease = "SET #state = :in_progress, lease_owner = :owner, lease_expires = :expires, updated_at = :now";
        let (with_ttl, fresh_only) = (format!("{lease}, #ttl = :ttl"), format!("({condition}) AND attribute_not_exists(case_id)"));
        let ttl = [(":ttl", n(now + TTL_SECONDS))];
        let fresh = Update { expression: &with_ttl, condition: &fresh_only, values: values.iter().cloned().chain(ttl).collect() };
        if let Some(item) = self.update(key, fresh).await? {
            return Ok(Some(item));
        }
        let (without_ttl, resumed_only) = (format!("{lease} REMOVE #ttl"), format!("({condition}) AND attribute_exists(case_id)"));
        self.update(key, Update { expression: &without_ttl, condition: &resumed_only, values }).await
    }

    /// The function's region, which every key names.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Reads an item as stored, for people to read.
    pub async fn record(&self, key: &str) -> Result<Option<Record>, AwsError> {
        Ok(self.item(key).await?.map(|item| record(key, &item)))
    }

    /// Reads an investigation's item once: as stored, and as the flows read it.
    pub async fn read(&self, key: &str) -> Result<(Option<Record>, Entry), AwsError> {
        let item = self.item(key).await?;
        Ok((item.as_ref().map(|item| record(key, item)), entry(item.as_ref())))
    }

    /// Reads an investigation's entry.
    pub async fn get(&self, key: &str) -> Result<Entry, AwsError> {
        Ok(entry(self.item(key).await?.as_ref()))
    }

    /// Takes the lease on an investigation for `owner`, if nobody holds a live one
    /// (a skipped one may be taken: its skip is decided again). A takeover keeps
    /// the item's progress (its case id).
    pub async fn claim(&self, key: &str, owner: &str, until: i64) -> Result<Claim<'_>, AwsError> {
        let condition =
            "attribute_not_exists(pk) OR #state = :skipped OR (#state = :in_progress AND (lease_expires < :now OR lease_owner = :owner))";
        let Some(item) = self.take(key, owner, until, condition, vec![(":skipped", s(SKIPPED))]).await? else {
            return Ok(match self.get(key).await? {
                Entry::Escalated(done) => Claim::Done(done),
                _ => Claim::Held,
            });
        };
        let held = Held { ledger: self, key: key.to_string(), owner: owner.to_string() };
        let steps_done = item.get("steps_done").and_then(|v| v.as_ss().ok()).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        Ok(Claim::Won(Lease { held, case_id: text(&item, "case_id"), steps_done }))
    }

    /// Records a skip, unless the investigation was escalated or is being escalated
    /// meanwhile: `false` then, and the caller reads what the ledger holds instead.
    pub async fn record_skip(&self, key: &str, reason: SkipReason) -> Result<bool, AwsError> {
        let now = self.clock.now_secs();
        let update = Update {
            expression: "SET #state = :skipped, reason = :reason, updated_at = :now, #ttl = :ttl",
            condition: "attribute_not_exists(pk) OR #state = :skipped",
            values: vec![(":skipped", s(SKIPPED)), (":reason", s(reason.as_str())), (":now", n(now)), (":ttl", n(now + TTL_SECONDS))],
        };
        Ok(self.update(key, update).await?.is_some())
    }

    /// The incidents a case links, if this product opened the case.
    pub async fn case_incidents(&self, case_id: &str) -> Result<Option<Vec<String>>, AwsError> {
        Ok(self.item(&case_key(&self.region, case_id)).await?.map(|item| list(&item, "incidents")))
    }

    /// Takes a finding for `owner`, unless an investigation was started for it.
    pub async fn claim_finding(&self, key: &str, owner: &str, until: i64) -> Result<FindingClaim<'_>, AwsError> {
        let condition = "attribute_not_exists(pk) OR (#state = :in_progress AND (lease_expires < :now OR lease_owner = :owner))";
        if self.take(key, owner, until, condition, Vec::new()).await?.is_some() {
            return Ok(FindingClaim::Won(FindingLease { held: Held { ledger: self, key: key.to_string(), owner: owner.to_string() } }));
        }
        Ok(match self.item(key).await?.and_then(|i| text(&i, "investigation_id")) {
            Some(investigation_id) => FindingClaim::Started { investigation_id },
            None => FindingClaim::Held,
        })
    }

    /// A detector's sweep mark, if a sweep has left one.
    pub async fn sweep_mark(&self, detector_id: &str) -> Result<Option<SweepMark>, AwsError> {
        let item = self.item(&sweep_key(&self.region, detector_id)).await?;
        Ok(item.and_then(|i| Some(SweepMark { settled_through_ms: number(&i, "settled_through")?, gates: text(&i, "gates")? })))
    }

    /// Raises a detector's sweep mark. Never lowers it under the same gates: a
    /// slower concurrent sweep must not undo a faster one's progress. The item
    /// never expires (it is one per detector).
    pub async fn raise_sweep_mark(&self, detector_id: &str, mark: &SweepMark) -> Result<(), AwsError> {
        let update = Update {
            expression: "SET settled_through = :mark, gates = :gates, updated_at = :now",
            condition: "attribute_not_exists(pk) OR settled_through < :mark OR gates <> :gates",
            values: vec![(":mark", n(mark.settled_through_ms)), (":gates", s(&mark.gates)), (":now", n(self.clock.now_secs()))],
        };
        // A refusal means another sweep got at least as far: nothing to do.
        self.update(&sweep_key(&self.region, detector_id), update).await?;
        Ok(())
    }

    /// Writes the case item (the investigation it belongs to and the incidents it
    /// links). It never expires, and never changes hands to another investigation.
    async fn put_case_item(&self, investigation: &str, case_id: &str, incidents: &[String]) -> Result<(), AwsError> {
        let update = Update {
            expression: "SET investigation = :investigation, incidents = :incidents, updated_at = :now",
            condition: "attribute_not_exists(pk) OR investigation = :investigation",
            values: vec![(":investigation", s(investigation)), (":incidents", strings(incidents)), (":now", n(self.clock.now_secs()))],
        };
        match self.update(&case_key(&self.region, case_id), update).await? {
            Some(_) => Ok(()),
            None => Err(AwsError::new(
                "UpdateItem",
                CONDITION_FAILED,
                format!("the ledger's case item {case_id} names another investigation than {investigation}"),
            )),
        }
    }
}

/// A live claim on one item: its key and holder. Every write through it is
/// conditional on the holder still holding it.
#[derive(Debug)]
struct Held<'a> {
    ledger: &'a Ledger,
    key: String,
    owner: String,
}

impl Held<'_> {
    /// An update made only while this claim holds; losing it is an error.
    async fn update(&self, expression: &str, mut values: Vec<(&'static str, AttributeValue)>) -> Result<(), AwsError> {
        values.extend([(":in_progress", s(IN_PROGRESS)), (":owner", s(&self.owner))]);
        let update = Update { expression, condition: "#state = :in_progress AND lease_owner = :owner", values };
        match self.ledger.update(&self.key, update).await? {
            Some(_) => Ok(()),
            None => Err(AwsError::new("UpdateItem", CONDITION_FAILED, format!("{} no longer holds the lease on {}", self.owner, self.key))),
        }
    }

    /// Ends the claim early (after a failure), so a retry need not wait it out.
    /// A claim lost meanwhile is no error: there is nothing left to release.
    async fn release(&self) -> Result<(), AwsError> {
        match self.update("SET lease_expires = :past", vec![(":past", n(self.ledger.clock.now_secs() - 1))]).await {
            Err(e) if e.code == CONDITION_FAILED => Ok(()),
            other => other,
        }
    }
}

/// The lease on one investigation: only its holder records the case, finishes
/// or releases, and each of those writes checks that it still holds the lease.
#[derive(Debug)]
pub struct Lease<'a> {
    held: Held<'a>,
    case_id: Option<String>,
    steps_done: BTreeSet<String>,
}

impl Lease<'_> {
    /// The case an earlier holder (or this one) opened, if any.
    pub fn case_id(&self) -> Option<&str> {
        self.case_id.as_deref()
    }

    /// The link writes an earlier holder (or this one) made, by step name: a
    /// resume does only what is missing, even after the services' token window.
    pub fn steps_done(&self) -> &BTreeSet<String> {
        &self.steps_done
    }

    /// Records link writes as made (added to the item's `steps_done` set).
    pub async fn record_steps(&mut self, steps: &[String]) -> Result<(), AwsError> {
        let new: Vec<String> = steps.iter().filter(|s| !self.steps_done.contains(*s)).cloned().collect();
        if new.is_empty() {
            return Ok(());
        }
        let values = vec![(":steps", AttributeValue::Ss(new.clone())), (":now", n(self.held.ledger.clock.now_secs()))];
        self.held.update("SET updated_at = :now ADD steps_done :steps", values).await?;
        self.steps_done.extend(new);
        Ok(())
    }

    /// Records the case this holder opened, so a takeover resumes with it, and
    /// writes the case item at once, so a close-out knows the case as ours even
    /// before its links are done. From here on the item never expires.
    pub async fn record_case(&mut self, case_id: &str) -> Result<(), AwsError> {
        self.held.ledger.put_case_item(&self.held.key, case_id, &[]).await?;
        let values = vec![(":case", s(case_id)), (":now", n(self.held.ledger.clock.now_secs()))];
        self.held.update("SET case_id = :case, updated_at = :now REMOVE #ttl", values).await?;
        self.case_id = Some(case_id.to_string());
        Ok(())
    }

    /// Marks the investigation escalated (final, never expires), with the case
    /// item naming its incidents first: should the second write fail, a takeover
    /// writes both again.
    pub async fn finish(self, done: &Escalation) -> Result<(), AwsError> {
        self.held.ledger.put_case_item(&self.held.key, &done.case_id, &done.incidents).await?;
        let values = vec![
            (":escalated", s(ESCALATED)),
            (":case", s(&done.case_id)),
            (":incidents", strings(&done.incidents)),
            (":risk", s(&done.risk_level)),
            (":confidence", s(&done.confidence)),
            (":now", n(self.held.ledger.clock.now_secs())),
        ];
        let expression = "SET #state = :escalated, case_id = :case, incidents = :incidents, risk_level = :risk, confidence = :confidence, \
                          updated_at = :now REMOVE lease_owner, lease_expires, #ttl";
        self.held.update(expression, values).await
    }

    /// Ends the lease early (after a failure), keeping the progress recorded.
    pub async fn release(self) -> Result<(), AwsError> {
        self.held.release().await
    }
}

/// The claim on one finding, while its investigation is being started.
#[derive(Debug)]
pub struct FindingLease<'a> {
    held: Held<'a>,
}

impl FindingLease<'_> {
    /// Records the investigation started for the finding: final, and never
    /// expires (it is what keeps the finding from starting a second one).
    pub async fn started(self, investigation_id: &str) -> Result<(), AwsError> {
        let values = vec![(":started", s(STARTED)), (":inv", s(investigation_id)), (":now", n(self.held.ledger.clock.now_secs()))];
        self.held
            .update("SET #state = :started, investigation_id = :inv, updated_at = :now REMOVE lease_owner, lease_expires, #ttl", values)
            .await
    }

    /// Ends the claim early (the start failed), so a later delivery may try again.
    pub async fn release(self) -> Result<(), AwsError> {
        self.held.release().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn keys_name_the_region_and_the_ids() {
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
            Entry::Escalated(Escalation {
                case_id: "1000000001".into(),
                incidents: vec!["arn:1".into()],
                risk_level: "High".into(),
                confidence: "Low".into()
            })
        );
        let skipped = item(&[("state", s("skipped")), ("reason", s("investigation_failed"))]);
        assert_eq!(entry(Some(&skipped)), Entry::Skipped { reason: SkipReason::InvestigationFailed });
        let held = item(&[("state", s("in_progress")), ("lease_owner", s("req-1")), ("lease_expires", n(100)), ("case_id", s("1"))]);
        assert_eq!(entry(Some(&held)), Entry::InProgress { owner: "req-1".into(), lease_expires: 100, case_id: Some("1".into()) });
    }

    #[test]
    fn records_show_every_attribute_and_sorted_steps() {
        let stored = item(&[
            ("state", s("in_progress")),
            ("lease_owner", s("req-1/inv")),
            ("lease_expires", n(100)),
            ("case_id", s("1000000001")),
            ("steps_done", AttributeValue::Ss(vec!["timeline-event/arn:1".into(), "comment/arn:1".into()])),
            ("updated_at", n(40)),
            ("ttl", AttributeValue::S("not a number".into())),
        ]);
        let r = record("investigation/us-east-1/d/i", &stored);
        assert_eq!(r.key, "investigation/us-east-1/d/i");
        assert_eq!((r.state.as_deref(), r.lease_owner.as_deref(), r.lease_expires), (Some("in_progress"), Some("req-1/inv"), Some(100)));
        assert_eq!(r.steps_done, ["comment/arn:1", "timeline-event/arn:1"]);
        assert_eq!((r.updated_at, r.ttl), (Some(40), None), "a malformed attribute reads as absent");
    }

    #[test]
    fn an_unreadable_item_counts_as_held_never_as_absent() {
        let odd = item(&[("state", s("something-new"))]);
        assert!(matches!(entry(Some(&odd)), Entry::InProgress { lease_expires: i64::MAX, .. }));
        let no_reason = item(&[("state", s("skipped"))]);
        assert_eq!(entry(Some(&no_reason)), Entry::Skipped { reason: SkipReason::UnknownRisk }, "re-decided, never final");
    }
}
