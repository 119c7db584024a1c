//! The ledger table: strongly consistent reads and conditional writes.
//!
//! Table: partition key `pk` (String), no sort key, TTL attribute `ttl`.
//! Calls: `GetItem` (consistent), `UpdateItem`.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use super::item::*;
use super::keys::{case_key, starts_key, sweep_key};
use super::lease::{Claim, FindingClaim, FindingLease, Held, Lease};
use crate::aws::{fail, AwsError};
use crate::investigation::decision::SkipReason;
use crate::runtime::clock::Clock;

/// How long an expiring item is kept, in seconds.
pub const TTL_SECONDS: i64 = 31 * 86_400;
/// Lambda's longest invocation, in seconds: no lease outlives it by more than
/// `LEDGER_LEASE_SECONDS`, whatever deadline a caller passes.
const LAMBDA_MAX_SECONDS: i64 = 900;

/// The ledger table.
#[derive(Debug, Clone)]
pub struct Ledger {
    client: Client,
    table: String,
    region: String,
    lease_seconds: i64,
    pub(super) clock: Clock,
}

/// One conditional `UpdateItem`: an update expression, the condition it needs,
/// and the values both name. `#state` and `#ttl` (reserved words) are bound when used.
pub(super) struct Update<'e> {
    pub(super) expression: &'e str,
    pub(super) condition: &'e str,
    pub(super) values: Vec<(&'static str, AttributeValue)>,
}

impl Ledger {
    /// A ledger on `table` for the function's `region`, with leases of
    /// `lease_seconds`, reading time from `clock`.
    pub fn new(client: Client, table: &str, region: &str, lease_seconds: u32, clock: Clock) -> Ledger {
        Ledger { client, table: table.to_string(), region: region.to_string(), lease_seconds: i64::from(lease_seconds), clock }
    }

    /// Reads an item (strongly consistent).
    pub(super) async fn item(&self, key: &str) -> Result<Option<Item>, AwsError> {
        let out =
            self.client.get_item().table_name(&self.table).key("pk", s(key)).consistent_read(true).send().await.map_err(fail("GetItem"))?;
        Ok(out.item().cloned())
    }

    /// Makes a conditional update; `None` when the condition did not hold.
    /// Returns the item as it is after the write.
    pub(super) async fn update(&self, key: &str, update: Update<'_>) -> Result<Option<Item>, AwsError> {
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
    pub(super) async fn take(
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
        Ok(Claim::Won(Lease { held, case_id: text(&item, "case_id"), steps_done, create_sent: item.contains_key("create_sent") }))
    }

    /// Records a skip, unless the investigation was escalated or is being escalated
    /// meanwhile, or a holder may have opened a case for it: `false` then, and the
    /// caller reads what the ledger holds instead.
    pub async fn record_skip(&self, key: &str, reason: SkipReason) -> Result<bool, AwsError> {
        let now = self.clock.now_secs();
        let update = Update {
            expression: "SET #state = :skipped, reason = :reason, updated_at = :now, #ttl = :ttl",
            // Over an expired claim too, when no holder ever was about to send CreateCase:
            // it opened nothing, and nothing can be lost by skipping it.
            condition: "attribute_not_exists(pk) OR #state = :skipped OR (#state = :in_progress AND lease_expires < :now \
                        AND attribute_not_exists(case_id) AND attribute_not_exists(create_sent))",
            values: vec![
                (":skipped", s(SKIPPED)),
                (":in_progress", s(IN_PROGRESS)),
                (":reason", s(reason.as_str())),
                (":now", n(now)),
                (":ttl", n(now + TTL_SECONDS)),
            ],
        };
        Ok(self.update(key, update).await?.is_some())
    }

    /// The incidents a case links, and whether its escalation is finished, if this
    /// stack's ledger knows the case.
    pub async fn case_incidents(&self, case_id: &str) -> Result<Option<CaseLinks>, AwsError> {
        let Some(case) = self.item(&case_key(&self.region, case_id)).await? else { return Ok(None) };
        // Escalated only when the investigation's own item says so: until then the
        // incidents are those found so far, and more links may be on their way.
        let escalated = match text(&case, "investigation") {
            Some(key) => matches!(self.get(&key).await?, Entry::Escalated(_)),
            None => false,
        };
        Ok(Some(CaseLinks { incidents: list(&case, "incidents"), escalated }))
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

    /// Counts one investigation start of `detector_id` on `day` (UTC days since the
    /// epoch) when fewer than `limit` were counted that day; `false`, counting
    /// nothing, otherwise. The item expires with the ledger's other short-lived ones.
    pub async fn count_start(&self, detector_id: &str, day: i64, limit: u32) -> Result<bool, AwsError> {
        let now = self.clock.now_secs();
        let update = Update {
            expression: "ADD starts :one SET updated_at = :now, #ttl = :ttl",
            condition: "attribute_not_exists(starts) OR starts < :limit",
            values: vec![(":one", n(1)), (":limit", n(i64::from(limit))), (":now", n(now)), (":ttl", n(now + TTL_SECONDS))],
        };
        Ok(self.update(&starts_key(&self.region, detector_id, day), update).await?.is_some())
    }

    /// Gives back a start counted for a `CreateInvestigation` that then failed
    /// (not for GuardDuty's own quota answer: that day's starts are spent).
    pub async fn uncount_start(&self, detector_id: &str, day: i64) -> Result<(), AwsError> {
        let update = Update {
            expression: "ADD starts :minus_one SET updated_at = :now",
            condition: "starts > :zero",
            values: vec![(":minus_one", n(-1)), (":zero", n(0)), (":now", n(self.clock.now_secs()))],
        };
        self.update(&starts_key(&self.region, detector_id, day), update).await?;
        Ok(())
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
    pub(super) async fn put_case_item(&self, investigation: &str, case_id: &str, incidents: &[String]) -> Result<(), AwsError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::keys::{case_key, finding_key, investigation_key};

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
        assert_eq!(
            entry(Some(&held)),
            Entry::InProgress { owner: "req-1".into(), lease_expires: 100, case_id: Some("1".into()), create_sent: false }
        );
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
