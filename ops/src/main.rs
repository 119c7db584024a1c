//! `escalator-ops`: the operator's command line for investigation-escalator.
//!
//! It answers what the Lambda alone cannot without digging through logs and
//! DynamoDB items, through the library's own code paths, so its answers are
//! the product's:
//!
//! - `explain`: what the function would do with an investigation now, and why
//!   (decision, incidents and their rules, the case, every write with its token).
//! - `status`: the ledger's items for an investigation or a case, and what they mean.
//! - `backfill`: escalate a window of finished investigations (the sweep's listing, the escalation every trigger uses).
//! - `replay`: run the function's dead letters through the handler's flow, as the deployed function is configured.
//!
//! # Layout
//!
//! - `connect`: where the AWS calls go (AWS, an endpoint, or the built-in
//!   simulation) and the configuration (environment plus flags).
//! - `explain`, `status`, `backfill`, `replay`: one file per command.
//! - `function`: the deployed function as Lambda describes it (ARN,
//!   environment, the rules allowed to invoke it), for `replay`.
//! - `files`: reading the files an operator names, bounded.
//! - `logs`: `tracing` on stderr, keeping clear of a progress bar.
//! - `when`: reading and writing times (RFC 3339, dates, `30d`).
//! - `table`: aligned columns for people.
//!
//! Exit codes: 0 done; 1 something failed or was left undone (named on stderr
//! or in the output); 2 a usage or configuration error; 130 a backfill stopped
//! by Ctrl-C.

mod backfill;
mod connect;
mod explain;
mod files;
mod function;
mod logs;
mod replay;
mod status;
mod table;
mod when;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use connect::Target;

/// The operator's command line for investigation-escalator.
#[derive(Debug, Parser)]
#[command(name = "escalator-ops", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    target: Target,
    /// Logs on stderr: -v for info, -vv for debug (warnings are always shown).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What the function would do with an investigation now, and why (reads only; writes nothing).
    Explain(explain::Args),
    /// The ledger's items for an investigation or a case, and what they mean.
    Status(status::Args),
    /// Escalate every finished investigation that ended in a window, as the sweep would.
    Backfill(backfill::Args),
    /// Run the deployed function's dead letters through the handler's flow, with its configuration.
    Replay(replay::Args),
}

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command line, a file it names (`--event`, `--fixture`) or the
    /// configuration is wrong (exit 2). (A replay file that cannot be read is
    /// named in the output and fails the command with 1: the others still run.)
    #[error("{0}")]
    Usage(String),
    /// The work failed: an AWS call, the simulation, the output (exit 1).
    #[error("{0}")]
    Failed(String),
}

/// A plain message is a usage error; failures of the work say so.
impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Usage(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::Usage(message.to_string())
    }
}

/// A failure of the work itself (exit 1), for `map_err`.
pub fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(e.to_string())
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Everything done.
    Done,
    /// Something failed; the output names it.
    Failed,
    /// Stopped by the operator (Ctrl-C); running it again continues.
    Stopped,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logs::init(cli.verbose);
    // One thread: the work is network-bound, and the Lambda runs the same way.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("escalator-ops: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Ended::Done) => ExitCode::SUCCESS,
        Ok(Ended::Failed) => ExitCode::from(1),
        Ok(Ended::Stopped) => ExitCode::from(130),
        Err(e) => {
            eprintln!("escalator-ops: {e}");
            ExitCode::from(match e {
                Failure::Usage(_) => 2,
                Failure::Failed(_) => 1,
            })
        }
    }
}

async fn run(cli: Cli) -> Result<Ended, Failure> {
    // Replay runs as the deployed function is configured: it connects with that configuration.
    if let Command::Replay(args) = &cli.command {
        let (connection, deployed) = connect::connect_as_deployed(&cli.target, args.function.as_deref()).await?;
        return replay::run(&connection.app, &deployed, args).await;
    }
    let connection = connect::connect(&cli.target).await?;
    let app = &connection.app;
    match cli.command {
        Command::Explain(args) => explain::run(app, &args).await,
        Command::Status(args) => status::run(app, &args).await,
        Command::Backfill(args) => backfill::run(app, &args).await,
        Command::Replay(_) => Err(Failure::Failed("replay connects as the deployed function (a defect: it got here)".into())),
    }
}
