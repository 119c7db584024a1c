//! Exactly once (docs/design.md §5, §6a): the deterministic token every write
//! carries ([`token`]), and the DynamoDB ledger that makes "once" hold beyond
//! the services' token windows ([`store`]: keys, items, leases, the sweep mark).

pub mod store;
pub mod token;

pub use store::Ledger;
