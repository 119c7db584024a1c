//! Claims and leases: only the holder of a live lease records the case,
//! finishes or releases, and each of those writes is conditional on still
//! holding it, so two invocations can never both proceed.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{n, s, strings, Escalation, CONDITION_FAILED, ESCALATED, IN_PROGRESS, STARTED};
use super::store::{Ledger, Update};
use crate::aws::AwsError;

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

/// A live claim on one item: its key and holder. Every write through it is
/// conditional on the holder still holding it.
#[derive(Debug)]
pub(super) struct Held<'a> {
    pub(super) ledger: &'a Ledger,
    pub(super) key: String,
    pub(super) owner: String,
}

impl Held<'_> {
    /// An update made only while this claim holds; losing it is an error.
    pub(super) async fn update(&self, expression: &str, mut values: Vec<(&'static str, AttributeValue)>) -> Result<(), AwsError> {
        values.extend([(":in_progress", s(IN_PROGRESS)), (":owner", s(&self.owner))]);
        let update = Update { expression, condition: "#state = :in_progress AND lease_owner = :owner", values };
        match self.ledger.update(&self.key, update).await? {
            Some(_) => Ok(()),
            None => Err(AwsError::new("UpdateItem", CONDITION_FAILED, format!("{} no longer holds the lease on {}", self.owner, self.key))),
        }
    }

    /// Ends the claim early (after a failure), so a retry need not wait it out.
    /// A claim lost meanwhile is no error: there is nothing left to release.
    pub(super) async fn release(&self) -> Result<(), AwsError> {
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
    pub(super) held: Held<'a>,
    pub(super) case_id: Option<String>,
    pub(super) steps_done: BTreeSet<String>,
    pub(super) create_sent: bool,
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

    /// Records that `CreateCase` is about to be sent (once per item, never
    /// removed): from here on a case may exist that the ledger does not name yet,
    /// so the item is resumed by a takeover and never turned into a skip.
    pub async fn about_to_create(&mut self) -> Result<(), AwsError> {
        if !self.create_sent {
            let values = vec![(":true", AttributeValue::Bool(true)), (":now", n(self.held.ledger.clock.now_secs()))];
            self.held.update("SET create_sent = :true, updated_at = :now", values).await?;
            self.create_sent = true;
        }
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

    /// Records the incidents found for the case this holder opened, on the case
    /// item, before they are linked: a close-out (or the operator) sees them at once.
    pub async fn record_incidents(&self, incidents: &[String]) -> Result<(), AwsError> {
        match &self.case_id {
            Some(case_id) => self.held.ledger.put_case_item(&self.held.key, case_id, incidents).await,
            None => Ok(()),
        }
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
    pub(super) held: Held<'a>,
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
