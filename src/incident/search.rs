//! Finding the incident records that belong to an investigation, by the rules
//! of docs/design.md §6 in order: the record the event names, then a search of
//! recent open records. The matching itself is pure ([`crate::incident::matcher`]);
//! this file does the reading.

use futures_util::future::join_all;
use tracing::warn;

use crate::aws::incidents::MAX_CANDIDATES;
use crate::aws::AwsError;
use crate::incident::links::StartIncident;
use crate::incident::matcher::{match_candidate, strongest_first, Candidate, MatchRule, Needles, RelatedItemView};
use crate::runtime::app::App;

/// How many incident records are read at once while searching (keeps a busy
/// account's search from throttling itself).
const SEARCH_CONCURRENCY: usize = 8;

/// The most incident records one escalation links: anyone able to create records
/// that mention a finding id must not get an unbounded number of them linked (and
/// later resolved by the close-out). The explicit record, or the strongest matches.
pub const MAX_LINKED: usize = 5;

/// An incident record that belongs to the investigation, and why.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The record.
    pub record: Candidate,
    /// The rule that matched it (logged, never written into a token-protected body).
    pub rule: MatchRule,
}

/// The record an incident started from the response plan makes: it already
/// holds the case as a related item, so only the other links are written.
pub(crate) fn started(spec: StartIncident, arn: String) -> Found {
    let related_items = vec![RelatedItemView { title: Some(spec.case_item.title), value: spec.case_item.url }];
    Found { record: Candidate { arn, title: spec.title, open: true, related_items, ..Candidate::default() }, rule: MatchRule::Started }
}

/// The ARNs of what was found, in order.
pub(crate) fn arns(found: &[Found]) -> Vec<String> {
    found.iter().map(|f| f.record.arn.clone()).collect()
}

/// Finds the incident records of the investigation: `explicit` (the record the
/// sender names, and whether it is linked as named) when it can be used, else
/// the open records created within `window_ms` (after, before) that mention one
/// of `needles`, or created later with a title naming the investigation,
/// strongest first ([`strongest_first`]), at most [`MAX_LINKED`].
pub(crate) async fn find(
    app: &App,
    explicit: Option<(&str, bool)>,
    needles: &Needles,
    window_ms: (i64, i64),
) -> Result<Vec<Found>, AwsError> {
    if let Some((arn, as_named)) = explicit {
        // A direct invoke's caller was authorized by IAM: its record is linked whatever
        // its text says. An event's sender is anyone allowed on the bus: its record is
        // linked only when it mentions the investigation, so an event cannot make the
        // close-out resolve an unrelated incident. Unusable: the search runs instead.
        match app.incidents.incident(arn).await {
            Ok(Some(record)) if record.open && (as_named || match_candidate(&record, needles).is_some()) => {
                return Ok(vec![Found { record, rule: MatchRule::Explicit }]);
            }
            Ok(Some(record)) if record.open => {
                warn!(
                    incident = arn,
                    "the event names an incident record that does not mention the investigation; not linked, searching instead"
                )
            }
            Ok(Some(_)) => warn!(incident = arn, "the event names a resolved incident record; searching for an open one instead"),
            Ok(None) => warn!(incident = arn, "the event names an incident record that does not exist; searching instead"),
            Err(e) if e.is_unusable_reference() => {
                warn!(incident = arn, error = %e, "the event names an incident record that cannot be read; searching instead")
            }
            Err(e) => return Err(e),
        }
    }
    // The window bounds weak ties (a finding id other investigations may share); a
    // record created later counts only when its title names the investigation itself,
    // as the incidents this product starts do. Both listings at once.
    let (within, later) =
        tokio::try_join!(app.incidents.open_incidents(window_ms.0, Some(window_ms.1)), app.incidents.open_incidents(window_ms.1, None))?;
    let id = needles.investigation_id();
    let later = later.into_iter().filter(|(_, title)| title.to_ascii_lowercase().contains(id));
    let mut arns: Vec<String> = Vec::new();
    for (arn, _) in within.into_iter().chain(later) {
        if !arns.contains(&arn) && arns.len() < MAX_CANDIDATES {
            arns.push(arn);
        }
    }
    let mut found = Vec::new();
    for chunk in arns.chunks(SEARCH_CONCURRENCY) {
        for (arn, record) in chunk.iter().zip(join_all(chunk.iter().map(|arn| app.incidents.incident(arn))).await) {
            // One record that cannot be read (not ours to read, deleted meanwhile, or
            // throttled past the SDK's retries) must block neither the others nor every
            // later escalation: it is skipped, and a later search may find it.
            let record = match record {
                Ok(Some(record)) => record,
                Ok(None) => continue,
                Err(e) if e.is_unusable_reference() || e.is_throttling() => {
                    warn!(incident = arn, error = %e, "a listed incident record cannot be read; skipped");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(rule) = match_candidate(&record, needles) {
                found.push(Found { record, rule });
            }
        }
    }
    Ok(strongest(found, needles))
}

/// The matches to link: strongest first, at most [`MAX_LINKED`] (the rest logged).
fn strongest(mut found: Vec<Found>, needles: &Needles) -> Vec<Found> {
    found.sort_by(|a, b| strongest_first((&a.record, a.rule), (&b.record, b.rule), needles));
    if found.len() > MAX_LINKED {
        let left: Vec<&str> = found[MAX_LINKED..].iter().map(|f| f.record.arn.as_str()).collect();
        warn!(max = MAX_LINKED, left_out = ?left, "more incident records match than one escalation links; the strongest are linked");
        found.truncate(MAX_LINKED);
    }
    found
}
