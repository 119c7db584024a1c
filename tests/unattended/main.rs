//! Unattended operation, by concern: the ledger against an independent DynamoDB
//! (moto's server on loopback), the sweep, the finding trigger, the close-out
//! and the operator's backfill.
//! One test binary (one link) with a module per concern.

#[path = "../common/mod.rs"]
mod common;

mod backfill;
mod closeout;
mod explain;
mod findings;
mod in_step;
mod ledger;
mod sweep;

/// The demo fixture's detector.
const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
/// The demo fixture's critical investigation.
const CRITICAL: &str = "c0ffee00-0000-4000-8000-000000000001";
/// The demo fixture's low-risk investigation.
const LOW: &str = "c0ffee00-0000-4000-8000-000000000003";
