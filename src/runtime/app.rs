//! What every invocation shares, built once per cold start ([`App`]), and what
//! the handler knows of the one it serves ([`Invocation`]).

use std::time::Duration;

use aws_config::{Region, SdkConfig};

use crate::aws::{GuardDuty, Incidents, SecurityIr};
use crate::ledger::Ledger;
use crate::runtime::clock::Clock;
use crate::runtime::config::{Config, ConfigError};

/// The configuration, the AWS clients and the clock: built once per cold
/// start, outside the handler, and shared by every invocation.
#[derive(Debug, Clone)]
pub struct App {
    /// The validated configuration.
    pub(crate) config: Config,
    /// The function's region (the investigations'): it names tokens and ledger
    /// keys, so moving the other two regions never duplicates anything.
    pub(crate) region: String,
    /// Where cases are created (`SECURITY_IR_REGION`, else the function's region).
    pub(crate) case_region: String,
    /// Where incident records live (`INCIDENT_MANAGER_REGION`, else the function's region).
    pub(crate) incident_region: String,
    /// GuardDuty.
    pub(crate) guardduty: GuardDuty,
    /// Security Incident Response.
    pub(crate) security_ir: SecurityIr,
    /// Incident Manager.
    pub(crate) incidents: Incidents,
    /// The ledger, when `LEDGER_TABLE` is set.
    pub(crate) ledger: Option<Ledger>,
    /// Where every reading of the time comes from.
    pub(crate) clock: Clock,
    /// Whether flows that count several investigations (the sweep) write their
    /// metric lines to stdout, where Lambda's log agent reads them. The
    /// operator's command line turns it off: its stdout is its answer.
    pub(crate) emit_metrics: bool,
}

/// The SDK configuration every client of the app is built from: the standard
/// AWS chain (region, credentials, `AWS_ENDPOINT_URL*`), one HTTPS client and
/// bounded calls. The operator's command line builds its other clients from it.
pub async fn aws_sdk_config() -> Result<SdkConfig, ConfigError> {
    // Every AWS call goes through one HTTPS client (plain HTTP too, for local endpoints).
    let https = crate::aws::https::client();
    // Bounded calls: an answer that never comes must not eat the invocation's deadline.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(25))
        .build();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https).timeout_config(timeouts).load().await;
    // Tokens and console links name the region: never guess it.
    if sdk.region().is_none() {
        return Err(ConfigError { variable: "AWS_REGION", value: String::new(), expected: "the AWS region (Lambda sets it)".into() });
    }
    Ok(sdk)
}

impl App {
    /// Builds the app from a configuration, an SDK configuration (whose region
    /// must be set) and a clock.
    pub fn new(config: Config, sdk: &SdkConfig, clock: Clock) -> App {
        let region = sdk.region().map_or_else(String::new, |r| r.to_string());
        let case_region = config.security_ir_region.clone().unwrap_or_else(|| region.clone());
        let incident_region = config.incident_manager_region.clone().unwrap_or_else(|| region.clone());
        let ledger = ledger_of(&config, sdk, &region, &clock);
        // The same SDK configuration (credentials, endpoints, timeouts), in each service's home region.
        let security_ir = aws_sdk_securityir::config::Builder::from(sdk).region(Region::new(case_region.clone())).build();
        let incidents = aws_sdk_ssmincidents::config::Builder::from(sdk).region(Region::new(incident_region.clone())).build();
        App {
            guardduty: GuardDuty::new(aws_sdk_guardduty::Client::new(sdk)),
            security_ir: SecurityIr::new(aws_sdk_securityir::Client::from_conf(security_ir)),
            incidents: Incidents::new(aws_sdk_ssmincidents::Client::from_conf(incidents)),
            region,
            case_region,
            incident_region,
            ledger,
            config,
            clock,
            emit_metrics: true,
        }
    }

    /// Reads the configuration and the standard AWS chain (region, credentials,
    /// `AWS_ENDPOINT_URL*`) from the environment, with the system clock.
    pub async fn from_env() -> Result<App, ConfigError> {
        App::with_config(Config::from_env()?).await
    }

    /// As [`App::from_env`], with a configuration read elsewhere (the operator's
    /// command line adds its flags to the environment's).
    pub async fn with_config(config: Config) -> Result<App, ConfigError> {
        Ok(App::new(config, &aws_sdk_config().await?, Clock::system()))
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The function's region, which names every token and ledger key.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The clock every reading of the time comes from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The ledger, when `LEDGER_TABLE` is set.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
    }

    /// The same app with its ledger's DynamoDB calls sent where `ledger_sdk`
    /// points (an independent DynamoDB in tests, the operator's `--ledger-endpoint`);
    /// no ledger without `LEDGER_TABLE`.
    pub fn with_ledger_at(mut self, ledger_sdk: &SdkConfig) -> App {
        self.ledger = ledger_of(&self.config, ledger_sdk, &self.region, &self.clock);
        self
    }

    /// The same app without a ledger.
    pub fn without_ledger(mut self) -> App {
        self.ledger = None;
        self
    }

    /// The same app with another configuration; its clients, regions and ledger
    /// stay as they were built.
    pub fn reconfigured(mut self, config: Config) -> App {
        self.config = config;
        self
    }

    /// The same app writing no metric lines (the operator's command line: its
    /// stdout is its answer).
    pub fn without_metrics(mut self) -> App {
        self.emit_metrics = false;
        self
    }

    /// An invocation that ends `budget` from now on this app's clock (local runs and tests).
    pub fn invocation(&self, request_id: impl Into<String>, budget: Duration) -> Invocation {
        let budget_ms = i64::try_from(budget.as_millis()).unwrap_or(i64::MAX);
        Invocation::new(request_id, self.clock.now_ms().saturating_add(budget_ms), &self.clock)
    }
}

/// The ledger `config` names, reached through `sdk`.
fn ledger_of(config: &Config, sdk: &SdkConfig, region: &str, clock: &Clock) -> Option<Ledger> {
    let table = config.ledger_table.as_deref()?;
    Some(Ledger::new(aws_sdk_dynamodb::Client::new(sdk), table, region, config.ledger_lease_seconds, clock.clone()))
}

/// What the handler knows of the invocation it serves.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The request id: it names the owner of any ledger lease taken.
    pub request_id: String,
    /// When Lambda stops the invocation, in epoch milliseconds.
    pub deadline_ms: i64,
    /// The function's own account (from its ARN), when Lambda says.
    pub account: Option<String>,
    /// Whether its escalations look for an existing case before `CreateCase`
    /// (the operator's backfill: its investigations are past the token window).
    pub(crate) look_first: bool,
    clock: Clock,
}

impl Invocation {
    /// An invocation that ends at `deadline_ms`, measured on `clock`.
    pub fn new(request_id: impl Into<String>, deadline_ms: i64, clock: &Clock) -> Invocation {
        Invocation { request_id: request_id.into(), deadline_ms, account: None, look_first: false, clock: clock.clone() }
    }

    /// The same invocation, its escalations looking for an existing case of
    /// their investigation before opening one.
    pub(crate) fn looking_first(self) -> Invocation {
        Invocation { look_first: true, ..self }
    }

    /// The deadline, in epoch seconds (rounded up).
    pub fn deadline_secs(&self) -> i64 {
        self.deadline_ms.saturating_add(999).div_euclid(1000)
    }

    /// The same invocation, knowing the function's account from its ARN
    /// (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`; anything else is ignored).
    pub fn with_function_arn(self, arn: &str) -> Invocation {
        Invocation { account: arn.split(':').nth(4).and_then(crate::trigger::ids::account_id), ..self }
    }

    /// The same invocation with its deadline brought `by` earlier (work that
    /// must leave time to finish up after it).
    pub fn cut_short(&self, by: Duration) -> Invocation {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        Invocation { deadline_ms: self.deadline_ms.saturating_sub(by), ..self.clone() }
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.clock.until(self.deadline_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_read_on_the_invocations_clock() {
        let clock = Clock::frozen_at(10_000);
        let invocation = Invocation::new("r", 12_500, &clock);
        assert_eq!(invocation.remaining(), Duration::from_millis(2_500));
        assert_eq!(invocation.deadline_secs(), 13, "rounded up");
        clock.advance(Duration::from_secs(2));
        assert_eq!(invocation.remaining(), Duration::from_millis(500));
        clock.advance(Duration::from_secs(2));
        assert_eq!(invocation.remaining(), Duration::ZERO);
    }
}
