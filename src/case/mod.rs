//! The Security IR case, as plain request data (docs/design.md §5, §5a, §5b):
//!
//! - [`builder`]: the `CreateCase` request (title, accounts, services, tags),
//!   within the service's limits.
//! - [`description`]: the description: facts first, then what was found.
//! - [`recommendations`]: the comment of recommended actions (CLI commands whole).
//! - [`threat_actors`]: the findings' public remote addresses, as the case names them.
//!
//! Each is a pure function of the investigation and the configuration, so one
//! token always carries one body.

pub mod builder;
pub mod description;
pub mod recommendations;
pub mod threat_actors;
