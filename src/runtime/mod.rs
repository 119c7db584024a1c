//! The Lambda runtime's side of the product: what every invocation shares and
//! how it is served, logged, counted and answered.
//!
//! - [`handler`]: one span per invocation, the payload handed to its flow, the
//!   result logged, counted and returned.
//! - [`app`]: the [`App`](app::App) built once per cold start (configuration,
//!   clients, clock) and the [`Invocation`](app::Invocation) it serves.
//! - [`clock`]: the one clock everything reads time from; tests move it.
//! - [`config`]: the environment variables, validated once at cold start.
//! - [`error`]: the errors an invocation ends with, and their Lambda error types.
//! - [`outcome`]: the result JSON.
//! - [`metrics`]: the Embedded Metric Format lines, one reporting path for all.
//! - [`logging`]: `tracing` set up for Lambda's log format and level.
//! - [`init_error`]: reports a cold-start failure to the Runtime API.

pub mod app;
pub mod clock;
pub mod config;
pub mod error;
pub mod handler;
pub mod init_error;
pub mod logging;
pub mod metrics;
pub mod outcome;
