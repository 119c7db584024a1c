//! What an invocation was sent: the event kinds and their parsing
//! ([`event`], docs/design.md §2), and the shapes of the ids that come from
//! outside, checked and lower-cased at every edge ([`ids`], §12).

pub mod event;
pub mod ids;
