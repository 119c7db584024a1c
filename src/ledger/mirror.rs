//! What has been mirrored between a case and its incidents (docs/design.md
//! §14), kept on the case's own item (`case/{region}/{caseId}`): the last case
//! status mirrored and how many transitions were, and the case comments and
//! incident resolutions mirrored. DynamoDB's consistent reads and conditional
//! writes make each transition, comment and resolution count once, however
//! many deliveries race.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{n, number, s, text, Item};
use super::keys::case_key;
use super::store::{Ledger, Update};
use crate::aws::AwsError;

/// The status a case this product opened starts in (Security IR opens every case `Submitted`).
pub const FIRST_STATUS: &str = "Submitted";

/// The most comment ids and resolutions a case item keeps (a bound on the item's size:
/// 1,000 six-digit ids are 7 KB, far under DynamoDB's 400 KB).
pub const MAX_MIRRORED: usize = 1_000;

/// What a case item says was mirrored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrored {
    /// The last status mirrored (`None`: none yet, the case's first status).
    pub status: Option<String>,
    /// How many status transitions were mirrored.
    pub transitions: u32,
    /// The ids of the case comments mirrored.
    pub comments: BTreeSet<String>,
    /// The incident resolutions mirrored to the case (`{arn}@{resolved ms}`).
    pub resolutions: BTreeSet<String>,
}

impl Mirrored {
    /// The status the next transition starts from.
    pub fn last_status(&self) -> &str {
        self.status.as_deref().unwrap_or(FIRST_STATUS)
    }
}

pub(super) fn mirrored(item: &Item) -> Mirrored {
    let set = |key: &str| -> BTreeSet<String> { item.get(key).and_then(|v| v.as_ss().ok()).into_iter().flatten().cloned().collect() };
    Mirrored {
        status: text(item, "mirrored_status"),
        transitions: number(item, "mirrored_transitions").and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
        comments: set("mirrored_comments"),
        resolutions: set("mirrored_resolutions"),
    }
}

impl Ledger {
    /// What was mirrored for `case_id`; `None` when the ledger has no item of the case.
    pub async fn mirrored(&self, case_id: &str) -> Result<Option<Mirrored>, AwsError> {
        Ok(self.item(&case_key(self.region(), case_id)).await?.as_ref().map(mirrored))
    }

    /// Records the transition from what `seen` says to `status`, only if no other
    /// delivery recorded one since `seen` was read; `false` when one did.
    pub async fn record_transition(&self, case_id: &str, seen: &Mirrored, status: &str) -> Result<bool, AwsError> {
        let condition = match seen.transitions {
            0 => "attribute_exists(pk) AND attribute_not_exists(mirrored_transitions)",
            _ => "attribute_exists(pk) AND mirrored_transitions = :seen",
        };
        let mut values = vec![(":status", s(status)), (":next", n(i64::from(seen.transitions) + 1)), (":now", n(self.clock.now_secs()))];
        if seen.transitions > 0 {
            values.push((":seen", n(i64::from(seen.transitions))));
        }
        let update =
            Update { expression: "SET mirrored_status = :status, mirrored_transitions = :next, updated_at = :now", condition, values };
        Ok(self.update(&case_key(self.region(), case_id), update).await?.is_some())
    }

    /// Adds comment ids (`Kind::Comments`) or resolutions (`Kind::Resolutions`) to what was mirrored.
    pub async fn record_mirrored(&self, case_id: &str, kind: Kind, values: &[String]) -> Result<(), AwsError> {
        if values.is_empty() {
            return Ok(());
        }
        let expression = match kind {
            Kind::Comments => "ADD mirrored_comments :values SET updated_at = :now",
            Kind::Resolutions => "ADD mirrored_resolutions :values SET updated_at = :now",
        };
        let update = Update {
            expression,
            condition: "attribute_exists(pk)",
            values: vec![(":values", AttributeValue::Ss(values.to_vec())), (":now", n(self.clock.now_secs()))],
        };
        self.update(&case_key(self.region(), case_id), update).await?;
        Ok(())
    }
}

/// Which set [`Ledger::record_mirrored`] adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `mirrored_comments`.
    Comments,
    /// `mirrored_resolutions`.
    Resolutions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_item_reads_back_what_was_mirrored() {
        let item: Item = [
            ("mirrored_status".to_string(), s("Containment, Eradication and Recovery")),
            ("mirrored_transitions".to_string(), n(3)),
            ("mirrored_comments".to_string(), AttributeValue::Ss(vec!["000002".into(), "000001".into()])),
        ]
        .into_iter()
        .collect();
        let m = mirrored(&item);
        assert_eq!(m.last_status(), "Containment, Eradication and Recovery");
        assert_eq!(m.transitions, 3);
        assert_eq!(m.comments.iter().map(String::as_str).collect::<Vec<_>>(), ["000001", "000002"]);
        assert!(m.resolutions.is_empty());
        let fresh = mirrored(&Item::new());
        assert_eq!((fresh.last_status(), fresh.transitions), (FIRST_STATUS, 0), "nothing mirrored: the first status");
        let odd: Item = [("mirrored_transitions".to_string(), s("three"))].into_iter().collect();
        assert_eq!(mirrored(&odd).transitions, 0);
    }
}
