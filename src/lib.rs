//! investigation-escalator: an AWS Lambda that turns a finished Amazon GuardDuty
//! investigation into an AWS Security Incident Response case when its risk is
//! high enough, exactly once, and cross-links the case with the matching AWS
//! Systems Manager Incident Manager incident record, both ways.
//!
//! The contracts (events, configuration, decision table, case fields, matching,
//! links, result JSON, errors) are in `DESIGN.md`; the README says how to run,
//! test and deploy it.
//!
//! # Layout
//!
//! Pure parts, plain functions over plain data:
//!
//! - [`config`]: the environment variables, validated once at cold start.
//! - [`event`]: recognises the trigger in an invocation payload.
//! - [`investigation`]: the investigation as plain data.
//! - [`decision`]: the decision table: escalate, skip (and why) or pending.
//! - [`case_builder`]: the `CreateCase` request, within the service's limits.
//! - [`incident_matcher`]: which incident records belong to an investigation.
//! - [`links`]: the cross-link requests (related item, timeline event, comment,
//!   case metadata, incident start).
//! - [`token`]: deterministic idempotency tokens (UUID v5) for every write.
//! - [`text`]: cutting text to a limit on a character boundary, visibly.
//! - [`console`]: console links to investigations, cases and incidents.
//! - [`outcome`]: the result JSON.
//! - [`metrics`]: CloudWatch Embedded Metric Format lines.
//!
//! The edge and the wiring:
//!
//! - [`aws`]: every AWS call, behind one type, SDK types in, plain data out.
//! - [`escalate`]: fetch, decide, open the case and link, concurrently where it can.
//! - [`sweep`]: the scheduled sweep of recently finished investigations.
//! - [`findings`]: starting an investigation for a severe GuardDuty finding.
//! - [`closeout`]: resolving a closed case's incident records.
//! - [`ledger`]: the DynamoDB ledger that makes "once" hold beyond token windows.
//! - [`handler`]: the Lambda handler: span, trigger routing, result, metrics.
//! - [`error`]: the errors an invocation ends with, and their Lambda error types.
//! - [`logging`]: `tracing` setup honouring Lambda's log format and level.
//! - [`init_error`]: reports a cold-start failure to the Runtime API.

pub mod aws;
pub mod case_builder;
pub mod closeout;
pub mod config;
pub mod console;
pub mod decision;
pub mod error;
pub mod escalate;
pub mod event;
pub mod findings;
pub mod handler;
pub mod incident_matcher;
pub mod init_error;
pub mod investigation;
pub mod ledger;
pub mod links;
pub mod logging;
pub mod metrics;
pub mod outcome;
pub mod sweep;
pub mod text;
pub mod token;

pub use error::Error;
pub use handler::App;
pub use outcome::Outcome;
