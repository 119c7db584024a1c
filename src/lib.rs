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
//! The Lambda glue and what every invocation shares:
//!
//! - `handler`: one span per invocation, the payload handed to its flow, the
//!   result logged, counted and returned.
//! - `app`: [`App`] (configuration, clients, clock: built once per cold start)
//!   and [`Invocation`] (request id and deadline).
//! - `clock`: the one [`Clock`] everything reads time from; tests move it.
//! - `config`: the environment variables, validated once at cold start.
//! - `error`: the errors an invocation ends with, and their Lambda error types.
//! - `metrics`: the Embedded Metric Format lines, one reporting path for all.
//! - `logging`: `tracing` set up for Lambda's log format and level.
//! - `init_error`: reports a cold-start failure to the Runtime API.
//!
//! The flows, one file per trigger's work (`flows/`):
//!
//! - `flows::escalate`: one investigation: fetch, decide, open, link, under a lease.
//! - `flows::sweep`: the scheduled sweep of recently finished investigations.
//! - `flows::findings`: starting an investigation for a severe GuardDuty finding.
//! - `flows::closeout`: resolving a closed case's incident records.
//! - `flows::incident_search` and `flows::cross_link`: the escalation's search
//!   for its incidents and the plan of its link writes, then the writes.
//! - `flows::explain` and `flows::backfill`: for the operator's command line
//!   (`ops/`): what an escalation would do and why (reads only), and the
//!   sweep's listing over a window of one's choosing, each investigation escalated as a delivery is.
//!
//! Pure parts, plain functions over plain data:
//!
//! - `event`: recognises the trigger in an invocation payload.
//! - `ids`: the shapes of outside ids, checked and lower-cased at every edge.
//! - `investigation`: the investigation as plain data.
//! - `structured`: what it found (scope, `summaryData`), read tolerantly from the wire.
//! - `decision`: the decision table: escalate, skip (and why) or pending.
//! - `case_builder`: the `CreateCase` request (title, accounts, services, tags), within the service's limits.
//! - `case_description`: the case description: facts first, then what was found.
//! - `incident_matcher`: which incident records belong to an investigation.
//! - `recommendations`: the case comment of recommended actions (CLI commands whole).
//! - `links`: the cross-link requests (related item, timeline event, comment,
//!   case metadata, incident start).
//! - `threat_actors`: the findings' public remote addresses, as the case names them.
//! - `token`: deterministic idempotency tokens (UUID v5) for every write.
//! - `text`: cutting text to a limit on a character boundary, visibly.
//! - `console`: console links to investigations, cases and incidents.
//! - `outcome`: the result JSON.
//!
//! The AWS edge, one file per service, SDK types never leaving it (`aws/`):
//!
//! - `aws::guardduty`, `aws::security_ir`, `aws::incidents`: the service calls.
//! - `aws::ledger`: the DynamoDB ledger and its [`Lease`]s.

mod app;
mod aws;
mod case_builder;
mod case_description;
mod clock;
mod config;
mod console;
mod decision;
mod error;
mod event;
mod flows;
mod handler;
mod ids;
mod incident_matcher;
mod init_error;
mod investigation;
mod links;
mod logging;
mod metrics;
mod outcome;
mod recommendations;
mod structured;
mod text;
mod threat_actors;
mod token;

pub use app::{App, Invocation};
pub use aws::ledger::{case_key, investigation_key, Claim, Entry, Escalation, Lease, Ledger, Record};
pub use aws::AwsError;
pub use clock::Clock;
pub use config::{Config, ConfigError};
pub use decision::{Check, Confidence, RiskLevel, SkipReason};
pub use error::Error;
pub use event::{EventError, InvestigationRef};
pub use flows::{
    backfill, explain, run, Backfill, BackfillOptions, CasePlan, Explanation, Facts, GatesInForce, IncidentMatch, PlannedWrite, Progress,
    ThreatActorView, Visited,
};
pub use handler::handle;
pub use ids::{case_id as parse_case_id, detector_id as parse_detector_id};
pub use init_error::report as report_init_error;
pub use logging::init as init_logging;
pub use metrics::NAMESPACE as METRICS_NAMESPACE;
pub use outcome::{Counts, Outcome};
pub use text::fit_title;
