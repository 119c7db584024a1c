//! investigation-escalator: an AWS Lambda that turns a finished Amazon GuardDuty
//! investigation into an AWS Security Incident Response case when its risk is
//! high enough, exactly once, and cross-links the case with the matching AWS
//! Systems Manager Incident Manager incident record, both ways.
//!
//! The contracts the code follows (events, configuration, decision table, case
//! fields, matching, links, ledger, results, errors, bad input) are written down
//! in `docs/design.md`; module docs cite its sections as `§N`. The README says
//! how to run, test and deploy it.
//!
//! # Layout
//!
//! One folder per part of the product, named for it:
//!
//! - `trigger/`: what an invocation was sent: the event kinds and their parsing
//!   (`event`), and the shapes of outside ids (`ids`), checked and lower-cased.
//! - `investigation/`: the investigation as plain data, what it found
//!   (`structured`), and the decision table (`decision`).
//! - `case/`: the Security IR case: the `CreateCase` request (`builder`), its
//!   `description`, the `recommendations` comment and the `threat_actors`.
//! - `incident/`: the Incident Manager side: which records match (`matcher`),
//!   the link requests (`links`), reading the records (`search`), and the plan
//!   of the link writes and the writes (`cross_link`).
//! - `ledger/`: exactly once: the deterministic `token` of every write, and the
//!   DynamoDB ledger: its `keys`, what an `item` holds, `lease`s, the table
//!   itself (`store`), and the next-`step` decision a delivery follows.
//! - `flows/`: one file per trigger's work: `escalate`, `sweep`, `findings`,
//!   `closeout`; and, for the operator's command line, `explain` (reads only)
//!   and `backfill` (the sweep's path over a chosen window).
//! - `aws/`: the AWS edge, one file per service (`guardduty`, `security_ir`,
//!   `incidents`), the one bounded walk over a listing's `pages`, and the
//!   shared HTTPS client; SDK types never leave it.
//! - `runtime/`: the Lambda side: the `handler`, the `app` built once per cold
//!   start, the `clock`, `config`, `error`, `outcome`, `metrics`, `logging`,
//!   `init_error`.
//! - `text/`: text for people, cleaned and fitted to the services' limits, and
//!   the `console` links they follow.
//!
//! The crate root re-exports what the Lambda binary, the examples and the
//! tests need; [`operator`] holds what the operator's command line (`ops/`) uses.

mod aws;
mod case;
mod flows;
mod incident;
mod investigation;
mod ledger;
mod runtime;
mod text;
mod trigger;

pub use aws::AwsError;
pub use flows::run;
pub use investigation::decision::RiskLevel;
pub use ledger::Ledger;
pub use runtime::app::{App, Invocation};
pub use runtime::clock::Clock;
pub use runtime::config::{Config, ConfigError};
pub use runtime::error::Error;
pub use runtime::handler::handle;
pub use runtime::init_error::report as report_init_error;
pub use runtime::logging::init as init_logging;
pub use runtime::outcome::{Counts, Outcome};

/// What the operator's command line (`escalator-ops`) uses: the function's own
/// paths for explaining and backfilling, and the ledger's records and keys.
pub mod operator {
    pub use crate::flows::{
        backfill, explain, worst_case_calls, Backfill, BackfillOptions, CasePlan, Explanation, Facts, GatesInForce, IncidentMatch,
        PlannedWrite, Progress, ThreatActorView, Visited,
    };
    pub use crate::investigation::decision::{Check, Confidence, SkipReason};
    pub use crate::ledger::item::{Entry, Escalation, Record};
    pub use crate::ledger::keys::{case_key, investigation_key};
    pub use crate::ledger::lease::{Claim, Lease};
    pub use crate::runtime::app::aws_sdk_config;
    pub use crate::runtime::metrics::NAMESPACE as METRICS_NAMESPACE;
    pub use crate::text::fit_title;
    pub use crate::trigger::event::{EventError, InvestigationRef};
    pub use crate::trigger::ids::{case_id as parse_case_id, detector_id as parse_detector_id};
}
