//! Exactly once (docs/design.md §5, §6a): the deterministic [`token`] every
//! write carries, and the ledger: a DynamoDB table that makes "once" hold
//! for ever, beyond the services' undocumented token windows.
//!
//! One item per investigation (`investigation/{region}/{detectorId}/{investigationId}`)
//! moves `in_progress` (under a lease) → `escalated`, or is `skipped`. Claiming
//! returns a [`Lease`]: only its holder can record the case, finish or release,
//! every such write is conditional on still holding it, and a takeover after a
//! crash keeps what the crashed holder recorded (the case id), so it resumes
//! instead of starting over. A case item (`case/{region}/{caseId}`) lets the
//! close-out find its incidents, and keeps what was mirrored between the two
//! sides ([`mirror`]); a finding item
//! (`finding/{region}/{detectorId}/{findingId}`) keeps a finding from starting a
//! second investigation.
//!
//! Only an `in_progress` claim that opened nothing yet and a re-decidable skip
//! carry a `ttl`: an item that holds a case id must never expire.
//!
//! - [`keys`]: the items' keys.
//! - [`item`]: what an item holds, read back as plain data.
//! - [`lease`]: claims, and the leases their holders write through.
//! - [`store`]: the table itself: reads and conditional writes.
//! - [`mirror`]: what was mirrored between a case and its incidents, on the case item.
//! - [`step`]: what a delivery does next, from the item and the decision (pure).

pub mod item;
pub mod keys;
pub mod lease;
pub mod mirror;
pub mod step;
pub mod store;
pub mod token;

pub use store::Ledger;
