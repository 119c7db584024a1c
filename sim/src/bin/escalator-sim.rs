//! Serves the simulation on loopback until interrupted, for manual runs with
//! `cargo lambda watch` or the AWS CLI: `escalator-sim [fixture.json] [--port N]`.

use escalator_sim::{demo_fixture, Fixture, Sim};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut fixture = demo_fixture();
    let mut port = 4566;
    while let Some(arg) = args.next() {
        if arg == "--port" {
            port = args.next().and_then(|p| p.parse().ok()).ok_or("--port takes a number")?;
        } else {
            let text = std::fs::read_to_string(&arg).map_err(|e| format!("{arg}: {e}"))?;
            fixture = serde_json::from_str::<Fixture>(&text).map_err(|e| format!("{arg}: {e}"))?;
        }
    }
    let sim = Sim::start_on(fixture, port).await?;
    println!("simulating GuardDuty, Security IR and Incident Manager at {}", sim.url());
    println!("state: curl {}/_sim/state", sim.url());
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
