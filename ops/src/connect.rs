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
//! the same way, with the flags below set on top. `replay` takes the deployed
//! function's own ([`connect_as_deployed`]): it runs what the function failed on.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use clap::Args;
use escalator_sim::{demo_fixture, operator_sdk_config_at, sdk_config, sdk_config_at, Authorization, Fixture, Moto, Sim, Stack};
use investigation_escalator::operator::aws_sdk_config;
use investigation_escalator::{App, Clock, Config};

use crate::function::{self, Deployed};
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

/// Refuses a command that would write without the ledger: past the services'
/// token windows (an old investigation, a dead letter of days ago) only the
/// ledger keeps a case from being opened twice. A dry run writes nothing.
pub fn require_ledger(app: &App, command: &str, how: &str) -> Result<(), Failure> {
    if app.ledger().is_none() && !app.config().dry_run {
        return Err(format!(
            "{command} writes only with the ledger ({how}): what it runs is old, and past the services' token windows \
             only the ledger keeps a case from being opened twice"
        )
        .into());
    }
    Ok(())
}

/// The configuration variables set here (a flag, else the shell) to another
/// value than the deployed function's, each named with both values. Every
/// variable the configuration reads is compared; unset here is no difference.
pub fn differences(here: impl Fn(&str) -> Option<String>, function: &BTreeMap<String, String>) -> Vec<String> {
    // The names are the ones Config reads: every default is valid, so it reads them all.
    let names = RefCell::new(Vec::new());
    let _ = Config::from_lookup(|name| {
        names.borrow_mut().push(name.to_string());
        None
    });
    let set = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    names
        .into_inner()
        .into_iter()
        .filter_map(|name| {
            let mine = set(here(&name))?;
            let theirs = set(function.get(&name).cloned());
            (theirs.as_deref() != Some(mine.as_str())).then(|| {
                format!("{name} is {mine:?} here but {} in the function", theirs.map_or("unset".to_string(), |t| format!("{t:?}")))
            })
        })
        .collect()
}

/// For `replay`: the app configured as the deployed `function` is (its
/// environment, read with `GetFunctionConfiguration`), and what the function
/// is (its ARN, the rules allowed to invoke it). Refused when a configuration
/// variable is set differently here, or when the app would have no ledger.
pub async fn connect_as_deployed(target: &Target, function: Option<&str>) -> Result<(Connection, Deployed), Failure> {
    let (sim, stack) = match target.simulate {
        true => {
            let (sim, stack) = start_simulation(target).await?;
            (Some(sim), Some(stack))
        }
        false => (None, None),
    };
    // The operator's credentials read the function (the function's role may not).
    let lambda_sdk = match (&sim, &target.endpoint) {
        (Some(sim), _) => operator_sdk_config_at(&sim.url()).await,
        (None, Some(url)) => operator_sdk_config_at(url).await,
        (None, None) => aws_sdk_config().await.map_err(|e| e.to_string())?,
    };
    let name = match (function, &stack) {
        (Some(name), _) => name.to_string(),
        (None, Some(stack)) => stack.function_arn(),
        (None, None) => {
            return Err("replay needs --function NAME|ARN (or ESCALATOR_FUNCTION): the deployed escalator, whose configuration it \
                        runs with and whose dead letters alone it runs"
                .into())
        }
    };
    let deployed = function::read(&aws_sdk_lambda::Client::new(&lambda_sdk), &name).await?;
    let overrides = target.overrides();
    let differ = differences(|v| overrides.get(v).cloned().or_else(|| std::env::var(v).ok()), &deployed.env);
    if !differ.is_empty() {
        return Err(format!(
            "replay runs with the deployed function's configuration: {}; unset them here, or make them the same",
            differ.join("; ")
        )
        .into());
    }
    let config =
        Config::from_lookup(|v| deployed.env.get(v).cloned()).map_err(|e| failed(format!("the function {}: its {e}", deployed.arn)))?;
    let connection = match (sim, &target.endpoint) {
        (Some(sim), _) => simulated_app(target, sim, config).await?,
        (None, Some(url)) => endpoint_app(target, url, config).await?,
        // AWS: the same standard chain the Lambda client was built from.
        (None, None) => Connection { app: App::new(config, &lambda_sdk, Clock::system()), _sim: None, _moto: None },
    };
    if let (Some(table), None, true) = (&connection.app.config().ledger_table, connection.app.ledger(), target.simulate) {
        return Err(format!("the function keeps its ledger in {table}: with --simulate, add --with-ledger").into());
    }
    require_ledger(&connection.app, "replay", "the function's LEDGER_TABLE, which this one has not")?;
    Ok((Connection { app: connection.app.without_metrics(), ..connection }, deployed))
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
        return endpoint_app(target, url, config(target, target.ledger_endpoint.is_some())?).await;
    }
    let app = App::with_config(config(target, false)?).await.map_err(|e| e.to_string())?;
    Ok(Connection { app, _sim: None, _moto: None })
}

/// The app for `--endpoint URL` (and `--ledger-endpoint`).
async fn endpoint_app(target: &Target, url: &str, config: Config) -> Result<Connection, Failure> {
    // The endpoint serves the services, not DynamoDB: a ledger must be given its own.
    if let (Some(table), None) = (&config.ledger_table, &target.ledger_endpoint) {
        return Err(format!("LEDGER_TABLE={table} is set, but with --endpoint the ledger needs --ledger-endpoint URL").into());
    }
    let app = App::new(config, &sdk_config_at(url).await, Clock::system());
    let app = match &target.ledger_endpoint {
        Some(ledger_url) => app.with_ledger_at(&sdk_config_at(ledger_url).await),
        None => app.without_ledger(),
    };
    Ok(Connection { app, _sim: None, _moto: None })
}

async fn simulate(target: &Target) -> Result<Connection, Failure> {
    let (sim, _) = start_simulation(target).await?;
    let config = config(target, target.with_ledger)?;
    simulated_app(target, sim, config).await
}

/// Starts the built-in simulation: the fixture's data, every call held to the
/// role of the stack this configuration deploys, and that stack's function.
async fn start_simulation(target: &Target) -> Result<(Sim, Stack), Failure> {
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
    let mut fixture = fixture;
    fixture.functions.push(stack.deployed_function().map_err(failed)?);
    let sim = Sim::start_with(fixture, Authorization::Stack(stack.clone())).await.map_err(failed)?;
    Ok((sim, stack))
}

/// The app on a simulation started here, with a moto ledger when asked for.
async fn simulated_app(target: &Target, sim: Sim, config: Config) -> Result<Connection, Failure> {
    // App::new pointed any ledger at the simulation, which has no DynamoDB: a moto server holds it.
    let mut app = App::new(config, &sdk_config(&sim).await, Clock::system()).without_ledger();
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
