//! The incident side (docs/design.md §6): which Incident Manager records belong
//! to an investigation, and the writes that tie them to its case.
//!
//! - [`matcher`]: which records match (pure).
//! - [`links`]: the cross-link requests: related item, timeline event, comment,
//!   case metadata, incident start (pure).
//! - [`search`]: reading the records: the one an event names, then a search.
//! - [`cross_link`]: the plan of the link writes (plain data, which the
//!   operator's `explain` shows), then the writes.
//! - [`linked`]: which incidents count as a case's when the two are kept in step.

pub mod cross_link;
pub mod linked;
pub mod links;
pub mod matcher;
pub mod search;
