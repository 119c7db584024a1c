//! What a ledger item holds, read back as plain data: what an escalation left
//! ([`Escalation`]), the state a delivery finds ([`Entry`]), the operator's
//! view ([`Record`]) and a detector's [`SweepMark`]. An item that cannot be
//! read is never taken for an absent one.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::investigation::decision::SkipReason;

pub(super) const IN_PROGRESS: &str = "in_progress";
pub(super) const ESCALATED: &str = "escalated";
pub(super) const SKIPPED: &str = "skipped";
pub(super) const STARTED: &str = "started";
pub(super) const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

pub(super) type Item = HashMap<String, AttributeValue>;

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

/// What the ledger's case item says of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLinks {
    /// The incident records linked (or found, while the escalation is in progress).
    pub incidents: Vec<String>,
    /// Whether the investigation's escalation is finished.
    pub escalated: bool,
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
        /// Whether a holder was about to send `CreateCase` (then a case may exist
        /// that no one recorded, and the item is resumed, never skipped).
        create_sent: bool,
    },
    /// Escalated: final.
    Escalated(Escalation),
    /// Skipped, for this reason.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v)).collect())
}

pub(super) fn text(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn number(item: &Item, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

pub(super) fn list(item: &Item, key: &str) -> Vec<String> {
    item.get(key).and_then(|v| v.as_l().ok()).map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect()).unwrap_or_default()
}

/// Reads an investigation item. An item this build cannot read is treated as
/// held (not as absent), so a bad item never leads to a second escalation.
pub(super) fn entry(item: Option<&Item>) -> Entry {
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
            create_sent: item.contains_key("create_sent"),
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
    /// On a case item: the last case status mirrored to its incidents, and how many transitions were.
    pub mirrored_status: Option<String>,
    /// See `mirrored_status`.
    pub mirrored_transitions: Option<i64>,
    /// On a case item: the case comments mirrored to its incidents, by comment id.
    pub mirrored_comments: Vec<String>,
    /// On a case item: the incident resolutions told on the case (`{arn}@{resolved ms}`).
    pub mirrored_resolutions: Vec<String>,
    /// Last written, epoch seconds.
    pub updated_at: Option<i64>,
    /// When DynamoDB may delete it, epoch seconds (none: kept for ever).
    pub ttl: Option<i64>,
}

fn sorted_set(item: &Item, key: &str) -> Vec<String> {
    let mut values: Vec<String> = item.get(key).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default();
    values.sort();
    values
}

pub(super) fn record(key: &str, item: &Item) -> Record {
    let steps_done = sorted_set(item, "steps_done");
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
        mirrored_status: text(item, "mirrored_status"),
        mirrored_transitions: number(item, "mirrored_transitions"),
        mirrored_comments: sorted_set(item, "mirrored_comments"),
        mirrored_resolutions: sorted_set(item, "mirrored_resolutions"),
        updated_at: number(item, "updated_at"),
        ttl: number(item, "ttl"),
    }
}
