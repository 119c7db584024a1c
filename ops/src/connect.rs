//! Where the AWS calls go, and with which configuration.
//!
//! - Default: AWS, through the standard chain (region, credentials,
//!   `AWS_ENDPOINT_URL*`), exactly as the function builds its clients.
//! - `--endpoint URL`: an AWS-compatible endpoint such as a running
//!   `escalator-sim`, with test credentials; `--ledger-endpoint URL` for the
//!   ledger's DynamoDB (moto).
//! - `--simulate`: the built-in simulation, started in this process (the demo
//!   fixture, `--fixture FILE` or `--backlog N`), and with `--with-ledger` a
//!   ledger table in a moto server of its own.
//!
//! The configuration is the function's: its environment variables, validated
//! the same way, with the flags below set on top.

use std::collections::HashMap;

use clap::Args;
use escalator_sim::{demo_fixture, sdk_config, sdk_config_at, Authorization, Fixture, Moto, Sim, Stack};
use investigation_escalator::{App, Clock, Config};

use crate::{failed, files, Failure};

/// The ledger table's name when the simulation provides one and `LEDGER_TABLE` is not set.
pub const SIMULATED_LEDGER_TABLE: &str = "investigation-escalator-ledger";

/// Where the calls go, and configuration flags on top of the environment.
#[derive(Debug, Args)]
pub struct Target {
    /// Run against the built-in simulation of AWS, started in this process.
    #[arg(long, global = true, conflicts_with = "endpoint")]
    simulate: bool,
    /// With --simulate: seed it from this fixture file instead of the demo.
    #[arg(long, global = true, value_name = "FILE", requires = "simulate")]
    fixture: Option<String>,
    /// With --simulate: seed it with N investigations that ended over the last N minutes.
    #[arg(long, global = true, value_name = "N", requires = "simulate", conflicts_with = "fixture")]
    backlog: Option<usize>,
    /// With --simulate: give it a ledger table (a moto server; needs Python 3).
    #[arg(long, global = true, requires = "simulate")]
    with_ledger: bool,
    /// Send the service calls to this endpoint (e.g. a running escalator-sim), with test credentials.
    #[arg(long, global = true, value_name = "URL")]
    endpoint: Option<String>,
    /// With --endpoint: the ledger's DynamoDB endpoint (e.g. moto).
    #[arg(long, global = true, value_name = "URL", requires = "endpoint")]
    ledger_endpoint: Option<String>,
    /// Overrides RISK_THRESHOLD (Info, Low, Medium, High, Critical).
    #[arg(long, global = true, value_name = "LEVEL")]
    risk_threshold: Option<String>,
    /// Overrides MIN_CONFIDENCE (Unknown, Low, Medium, High).
    #[arg(long, global = true, value_name = "LEVEL")]
    min_confidence: Option<String>,
    /// Overrides LEDGER_TABLE.
    #[arg(long, global = true, value_name = "NAME")]
    ledger_table: Option<String>,
    /// Overrides INCIDENT_RESPONSE_PLAN_ARN.
    #[arg(long, global = true, value_name = "ARN")]
    response_plan_arn: Option<String>,
}

impl Target {
    /// The flags that stand for configuration variables, by variable name.
    fn overrides(&self) -> HashMap<&'static str, String> {
        let mut vars = HashMap::new();
        let flags = [
            ("RISK_THRESHOLD", &self.risk_threshold),
            ("MIN_CONFIDENCE", &self.min_confidence),
            ("LEDGER_TABLE", &self.ledger_table),
            ("INCIDENT_RESPONSE_PLAN_ARN", &self.response_plan_arn),
        ];
        for (name, value) in flags {
            if let Some(value) = value {
                vars.insert(name, value.clone());
            }
        }
        vars
    }
}

/// The app the commands use, and what must live as long as it.
pub struct Connection {
    /// Clients, configuration and clock, as the function builds them.
    pub app: App,
    /// The simulation, when started here.
    _sim: Option<Sim>,
    /// The ledger's moto server, when started here.
    _moto: Option<Moto>,
}

/// The configuration: the environment's variables with the flags on top.
fn config(target: &Target, ledger_default: bool) -> Result<Config, String> {
    let mut vars = target.overrides();
    if ledger_default && std::env::var("LEDGER_TABLE").is_err() {
        vars.entry("LEDGER_TABLE").or_insert_with(|| SIMULATED_LEDGER_TABLE.to_string());
    }
    Config::from_lookup(|name| vars.get(name).cloned().or_else(|| std::env::var(name).ok())).map_err(|e| e.to_string())
}

/// Builds the app for `target`. Its flows write no metric lines: this
/// command's stdout is its answer.
pub async fn connect(target: &Target) -> Result<Connection, Failure> {
    let connection = reach(target).await?;
    Ok(Connection { app: connection.app.without_metrics(), ..connection })
}

async fn reach(target: &Target) -> Result<Connection, Failure> {
    if target.simulate {
        return simulate(target).await;
    }
    if let Some(url) = &target.endpoint {
        let config = config(target, target.ledger_endpoint.is_some())?;
        // The endpoint serves the services, not DynamoDB: a ledger must be given its own.
        if let (Some(table), None) = (&config.ledger_table, &target.ledger_endpoint) {
            return Err(format!("LEDGER_TABLE={table} is set, but with --endpoint the ledger needs --ledger-endpoint URL").into());
        }
        let app = App::new(config, &sdk_config_at(url).await, Clock::system());
        let app = match &target.ledger_endpoint {
            Some(ledger_url) => app.with_ledger_at(&sdk_config_at(ledger_url).await),
            None => app.without_ledger(),
        };
        return Ok(Connection { app, _sim: None, _moto: None });
    }
    let app = App::with_config(config(target, false)?).await.map_err(|e| e.to_string())?;
    Ok(Connection { app, _sim: None, _moto: None })
}

async fn simulate(target: &Target) -> Result<Connection, Failure> {
    let fixture = match (&target.fixture, target.backlog) {
        (Some(path), _) => {
            let text = files::read(path)?;
            serde_json::from_str::<Fixture>(&text).map_err(|e| format!("{path}: not a fixture: {e}"))?
        }
        (None, Some(n)) => escalator_sim::backlog_fixture(n).fixture,
        (None, None) => demo_fixture(),
    };
    // The simulation holds every call to the role the template gives a function
    // configured as this one is (the variables given, then the shell's).
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.extend(target.overrides().into_iter().map(|(k, v)| (k.to_string(), v)));
    let stack = Stack::for_function_env(vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(failed)?;
    let sim = Sim::start_with(fixture, Authorization::Stack(stack)).await.map_err(failed)?;
    // App::new pointed any ledger at the simulation, which has no DynamoDB: a moto server holds it.
    let mut app = App::new(config(target, target.with_ledger)?, &sdk_config(&sim).await, Clock::system()).without_ledger();
    let mut moto = None;
    if target.with_ledger {
        let server = Moto::start().map_err(failed)?;
        let table = app.config().ledger_table.clone().unwrap_or_else(|| SIMULATED_LEDGER_TABLE.to_string());
        server.create_ledger_table(&table).await.map_err(failed)?;
        app = app.with_ledger_at(&sdk_config_at(server.url()).await);
        moto = Some(server);
    }
    Ok(Connection { app, _sim: Some(sim), _moto: moto })
}
