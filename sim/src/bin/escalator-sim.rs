//! Serves the simulation on loopback until interrupted, for manual runs with
//! `cargo lambda watch`, the AWS CLI or `escalator-ops --endpoint`:
//! `escalator-sim [fixture.json] [--port N] [--ledger] [--param Name=Value]…`.
//! With `--ledger`, a moto server holds a ledger table too (its endpoint is
//! printed). Requests are authorized as IAM would for the template's function
//! role; `--param` sets the stack parameters that role is resolved for, and
//! the stack's function (served by the simulated Lambda, for
//! `escalator-ops replay --function investigation-escalator`) is configured
//! as that stack would configure it.

use escalator_sim::{demo_fixture, Authorization, Fixture, Moto, Sim, Stack};

/// The ledger table `--ledger` creates.
const LEDGER_TABLE: &str = "investigation-escalator-ledger";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut fixture = demo_fixture();
    let mut port = 4566;
    let mut ledger = false;
    let mut stack = Stack::default();
    while let Some(arg) = args.next() {
        if arg == "--port" {
            port = args.next().and_then(|p| p.parse().ok()).ok_or("--port takes a number")?;
        } else if arg == "--param" {
            let param = args.next().ok_or("--param takes Name=Value")?;
            let (name, value) = param.split_once('=').ok_or_else(|| format!("--param {param}: not Name=Value"))?;
            stack = stack.with(name, value);
        } else if arg == "--ledger" {
            ledger = true;
        } else {
            let text = std::fs::read_to_string(&arg).map_err(|e| format!("{arg}: {e}"))?;
            fixture = serde_json::from_str::<Fixture>(&text).map_err(|e| format!("{arg}: {e}"))?;
        }
    }
    let parameters = format!("{:?}", stack.parameters);
    if fixture.functions.is_empty() {
        fixture.functions.push(stack.deployed_function()?);
    }
    let function = stack.function_arn();
    let sim = Sim::start_on(fixture, port, Authorization::Stack(stack)).await?;
    println!("simulating GuardDuty, Security IR and Incident Manager at {}", sim.url());
    println!("authorizing as the template's function role, parameters {parameters} (the rest at their defaults)");
    println!("state: curl {}/_sim/state", sim.url());
    println!("the stack's function: {function}");
    // Kept until the end: dropping it stops moto.
    let _moto = if ledger {
        let moto = Moto::start()?;
        moto.create_ledger_table(LEDGER_TABLE).await?;
        println!("ledger: table {LEDGER_TABLE} in the DynamoDB at {}", moto.url());
        println!("  escalator-ops --endpoint {} --ledger-endpoint {} …", sim.url(), moto.url());
        Some(moto)
    } else {
        None
    };
    // Ctrl-C or SIGTERM: either way moto is stopped on the way out (dropped), not orphaned.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        stopped = tokio::signal::ctrl_c() => stopped.map_err(|e| e.to_string())?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
