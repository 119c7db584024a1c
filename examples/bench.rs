//! The benchmark of docs/design.md §11: runs the compiled function under the
//! Runtime API emulator against the simulation, repeatedly, and prints medians
//! and ratios to the targets (figures, never pass/fail: machines are noisy).
//!
//! ```text
//! cargo build --release --bin investigation-escalator --example echo
//! cargo run --release --example bench -- [--binary target/release/investigation-escalator] [--echo target/release/examples/echo] [--runs 15]
//! ```
//!
//! The cold start is reported beside a bare `lambda_runtime` echo function
//! built with the same profile (`examples/echo.rs`), started in turn with the
//! escalator in the same run, as a ratio: absolute times drift on shared machines.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use escalator_sim::{backlog_fixture, demo_fixture, Invocation, Moto, OpFaults, RuntimeApi, Sim};
use serde_json::Value;
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_secs(60);
/// Round trips on the longest dependency chain of a critical escalation with a
/// matching incident (see `src/escalate.rs`): GetInvestigation → CreateCase →
/// GetCase → link writes, beside ListIncidentRecords → GetIncidentRecord.
const CHAIN: u32 = 4;
const LATENCY_MS: u64 = 50;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let mut binary = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/investigation-escalator"));
    let mut echo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/examples/echo"));
    let mut runs = 15usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--binary" => binary = args.next().ok_or("--binary takes a path")?.into(),
            "--echo" => echo = args.next().ok_or("--echo takes a path")?.into(),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).ok_or("--runs takes a number")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    for path in [&binary, &echo] {
        if !path.exists() {
            return Err(format!("{} not found: cargo build --release --bin investigation-escalator --example echo first", path.display()));
        }
    }
    let event = event("investigation-critical")?;
    println!("machine: {} cores, {}, load average {}", cores(), cpu_model(), load_average());
    println!("binary: {} ({} bytes)", binary.display(), std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0));
    for zip in ["target/lambda/investigation-escalator/bootstrap.zip"] {
        if let Ok(m) = std::fs::metadata(zip) {
            println!("deployment zip: {zip} ({} bytes, {:.2} MB; target ≤ 2.5 MB)", m.len(), m.len() as f64 / 1e6);
        }
    }
    println!("runs: {runs} (each a fresh process and a fresh simulation)\n");

    let (mut cold, mut first, mut slow, mut rss) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut echo_cold, mut ratios) = (Vec::new(), Vec::new());
    let mut calls = 0;
    for _ in 0..runs {
        let sim = Sim::start(demo_fixture()).await?;
        // The floor first, then the escalator, in turn: both see the same machine.
        let floor = echo_start(&echo, &sim).await?;
        echo_cold.push(floor);
        let run = cold_run(&binary, &sim, &event).await?;
        ratios.push(run.cold / floor);
        cold.push(run.cold);
        first.push(run.first);
        rss.push(run.peak_rss_kb);
        calls = sim.state(|s| s.log.len());

        let sim = Sim::start(demo_fixture()).await?;
        sim.faults(|f| f.all = OpFaults { latency_ms: LATENCY_MS, ..Default::default() });
        slow.push(cold_run(&binary, &sim, &event).await?.first);
    }
    let chain_ms = f64::from(CHAIN) * LATENCY_MS as f64;
    report("bare lambda_runtime echo function: process start to first /next", &echo_cold, f64::NAN);
    report("cold start: process start to first /next", &cold, 20.0);
    let ratio_of_medians = median(&cold) / median(&echo_cold);
    report("cold start ÷ echo, per interleaved pair", &ratios, 2.0);
    println!("    ratio of the medians: {ratio_of_medians:.2} (target ≤ 2)");
    report("first invocation end to end, no added latency", &first, 50.0);
    report(&format!("first invocation, {LATENCY_MS} ms added to each of its {calls} AWS calls"), &slow, (11.0 * chain_ms).round() / 10.0);
    println!(
        "    longest chain {CHAIN} × {LATENCY_MS} ms = {chain_ms:.0} ms; all {calls} calls in sequence would take {} ms",
        calls as u64 * LATENCY_MS
    );
    let worst = investigation_escalator::operator::worst_case_calls();
    let total: usize = worst.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = worst.iter().map(|(op, n)| format!("{op} {n}")).collect();
    println!("worst case of one escalation (the code's bounds): {total} AWS calls ({}); the sweep runs up to 4 at once", parts.join(", "));
    let kb: Vec<f64> = rss.iter().map(|k| *k as f64 / 1024.0).collect();
    report("peak resident memory (MB, VmHWM)", &kb, 32.0);

    for n in [10usize, 25] {
        let sim = Sim::start(demo_fixture()).await?;
        let counts = concurrent(&binary, &sim, &event, n).await?;
        println!("{n} concurrent deliveries of one investigation (separate processes): {counts}");
    }
    match Moto::start() {
        Ok(moto) => {
            sweep_figures(&binary, &moto).await?;
            idle_sweep_figures(&binary, &moto).await?;
            organization_figures(&binary, &moto).await?;
        }
        Err(e) => println!("\nsweep: not measured ({e})"),
    }
    Ok(())
}

/// The cost of a sweep that finds nothing new, with 10, 100 and 1,000
/// investigations already settled in the ledger: AWS calls by operation, and
/// time, measured on the compiled function.
async fn idle_sweep_figures(binary: &PathBuf, moto: &Moto) -> Result<(), String> {
    println!("\nidle sweep (everything already settled), ledger on moto:");
    let sweep = event("scheduled-sweep")?;
    for n in [10usize, 100, 1_000] {
        let backlog = backlog_fixture(n);
        let sim = Sim::start(backlog.fixture).await?;
        let (api, mut child) = launch_with_ledger(binary, &sim, moto, &format!("idle-{n}")).await?;
        // Settle everything first (one long sweep, a few at most).
        for _ in 0..10 {
            match api.invoke(sweep.clone(), TIMEOUT).await? {
                Invocation::Response(v) if v["complete"] == true && v["counts"]["pending"] == backlog.running => break,
                Invocation::Response(_) => {}
                other => return Err(format!("sweep failed: {other:?}")),
            }
        }
        let (log_before, moto_before) = (sim.state(|s| s.log.len()), moto.calls()?);
        let t = Instant::now();
        let answer = api.invoke(sweep.clone(), TIMEOUT).await?;
        let took = ms(t.elapsed());
        let _ = child.kill().await;
        let complete = matches!(&answer, Invocation::Response(v) if v["complete"] == true);
        let mut calls: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
        for e in sim.state(|s| s.log[log_before..].to_vec()) {
            *calls.entry(e.operation).or_default() += 1;
        }
        for (op, count) in moto.calls()? {
            let before = moto_before.get(&op).copied().unwrap_or(0);
            if count > before {
                calls.insert(format!("DynamoDB {op}"), count - before);
            }
        }
        let total: u64 = calls.values().sum();
        let ledger: u64 = calls.iter().filter(|(op, _)| op.starts_with("DynamoDB")).map(|(_, c)| c).sum();
        println!(
            "  {n:>5} settled: {total} AWS calls, {ledger} of them to the ledger ({}), {took:.0} ms; complete: {complete}",
            calls.iter().map(|(op, c)| format!("{op} {c}")).collect::<Vec<_>>().join(", ")
        );
    }
    println!("  (ListInvestigations pages follow the investigations in the window, 50 a page; GuardDuty keeps at most 100)");
    Ok(())
}

/// An organization-sized window: 5,000 investigations (a delegated administrator
/// lists every member's), drained from scratch in 60 s sweeps; then 50 new ones,
/// and how many sweeps settle them; then what an idle sweep costs over it.
async fn organization_figures(binary: &PathBuf, moto: &Moto) -> Result<(), String> {
    const N: usize = 5_000;
    const NEW: usize = 50;
    let sweep = event("scheduled-sweep")?;
    println!(
        "
organization-sized window: {N} investigations (one ending each minute over 83 hours), ledger on moto:"
    );
    let mut backlog = backlog_fixture(N);
    // The newest NEW arrive later.
    let new: Vec<serde_json::Value> = backlog.fixture.investigations.drain(..NEW).collect();
    let sim = Sim::start(backlog.fixture).await?;
    moto.create_ledger_table("organization").await?;
    let api = RuntimeApi::start().await?;
    let extra = [
        ("DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0".to_string()),
        ("LEDGER_TABLE", "organization".to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.url().to_string()),
        ("SWEEP_LOOKBACK_HOURS", "100".to_string()),
    ];
    let mut child = spawn_with(binary, &sim, &api, &extra)?;
    api.wait_first_poll(TIMEOUT).await.ok_or("the function never polled /next")?;
    // Sweeps until one is complete and opens no case: the sweeps before it did the work.
    let settle = |label: &'static str| {
        let (api, sweep, sim) = (&api, sweep.clone(), &sim);
        async move {
            let started = Instant::now();
            let mut cases = sim.state(|s| s.cases.len());
            for round in 1..=40 {
                let Invocation::Response(v) = api.invoke(sweep.clone(), TIMEOUT).await? else { return Err("sweep failed".to_string()) };
                let now = sim.state(|s| s.cases.len());
                if v["complete"] == true && now == cases {
                    println!("  {label}: settled in {} sweep(s) of up to 60 s, {:.1} s in all", round - 1, started.elapsed().as_secs_f64());
                    return Ok(());
                }
                cases = now;
            }
            Err(format!("{label}: not settled in 40 sweeps"))
        }
    };
    settle("the first 4,950").await?;
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    sim.state(|s| {
        for (i, mut inv) in new.into_iter().enumerate() {
            let id = inv["investigationId"].as_str().unwrap_or_default().replace("bac4106", "bac4107");
            inv["investigationId"] = serde_json::json!(id);
            // As the simulation keeps them: the detector is the key's, not a member.
            if let Some(o) = inv.as_object_mut() {
                o.remove("detectorId");
            }
            // Ended after the mark (it trails now by a few minutes), as new ones do.
            if inv.get("endTime").is_some() {
                inv["endTime"] = serde_json::json!(now_s - i as i64);
            }
            s.investigations.insert(format!("12abc34d567e8fa901bc2d34e56789f0/{id}"), inv);
        }
    });
    settle("then 50 new ones").await?;
    let log_before = sim.state(|s| s.log.len());
    let moto_before = moto.calls()?;
    let Invocation::Response(_) = api.invoke(sweep.clone(), TIMEOUT).await? else { return Err("idle sweep failed".into()) };
    let aws = sim.state(|s| s.log.len()) - log_before;
    let ledger: u64 = moto.calls()?.iter().map(|(op, c)| c - moto_before.get(op).copied().unwrap_or(0)).sum();
    println!(
        "  an idle sweep over the {N}: {aws} calls to the services (ListInvestigations pages and a few reads) and {ledger} to the ledger"
    );
    let _ = child.kill().await;
    Ok(())
}

/// Starts the bare echo function and returns its time from process start to first `/next`, in ms.
async fn echo_start(echo: &PathBuf, sim: &Sim) -> Result<f64, String> {
    let api = RuntimeApi::start().await?;
    let started = Instant::now();
    let mut child = spawn(echo, sim, &api)?;
    let polled = api.wait_first_poll(TIMEOUT).await.ok_or("the echo function never polled /next")?;
    let _ = child.kill().await;
    Ok(ms(polled - started))
}

fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Sweeps a 120-investigation backlog with the ledger on moto: in one-second
/// invocations (how a backlog drains), in one long invocation, and once more
/// when everything is done.
async fn sweep_figures(binary: &PathBuf, moto: &Moto) -> Result<(), String> {
    let sweep = event("scheduled-sweep")?;
    println!("\nsweep of a backlog of 120 investigations ({} finished), ledger on moto (Python, loopback):", backlog_fixture(120).finished);
    for (label, budget) in [("1 s invocations", Duration::from_secs(1)), ("one 60 s invocation", TIMEOUT)] {
        let backlog = backlog_fixture(120);
        let (worthy, sim) = (backlog.worthy, Sim::start(backlog.fixture).await?);
        let (api, mut child) = launch_with_ledger(binary, &sim, moto, &format!("ledger-{}", budget.as_secs())).await?;
        for round in 1.. {
            let t = Instant::now();
            let answer = api.invoke(sweep.clone(), budget).await?;
            let took = t.elapsed();
            let Invocation::Response(result) = answer else { return Err(format!("sweep failed: {answer:?}")) };
            // Each sweep counts what it visited: past the detector's mark, oldest first.
            let new = result["counts"]["escalated"].as_u64().unwrap_or(0) + result["counts"]["skipped"].as_u64().unwrap_or(0);
            println!(
                "  {label}, invocation {round}: {new} investigations settled in {:.0} ms = {:.0}/s (complete: {})",
                ms(took),
                new as f64 / took.as_secs_f64(),
                result["complete"]
            );
            if result["complete"] == true || round >= 40 {
                break;
            }
        }
        let t = Instant::now();
        let answer = api.invoke(sweep.clone(), TIMEOUT).await?;
        let cases = sim.state(|s| s.cases.len());
        let counts = match &answer {
            Invocation::Response(v) => v["counts"].to_string(),
            other => format!("{other:?}"),
        };
        println!(
            "  {label}: a further full sweep took {:.0} ms ({counts}); {cases} cases for {worthy} deserving investigations",
            ms(t.elapsed())
        );
        let _ = child.kill().await;
    }
    Ok(())
}

struct Run {
    cold: f64,
    first: f64,
    peak_rss_kb: u64,
}

async fn cold_run(binary: &PathBuf, sim: &Sim, event: &Value) -> Result<Run, String> {
    let api = RuntimeApi::start().await?;
    let started = Instant::now();
    let mut child = spawn(binary, sim, &api)?;
    let polled = api.wait_first_poll(TIMEOUT).await.ok_or("the function never polled /next")?;
    let cold = ms(polled - started);
    let t = Instant::now();
    let answer = api.invoke(event.clone(), TIMEOUT).await?;
    let first = ms(t.elapsed());
    if !matches!(&answer, Invocation::Response(v) if v["outcome"] == "escalated") {
        return Err(format!("unexpected answer: {answer:?}"));
    }
    let peak_rss_kb = child.id().and_then(peak_rss_kb).unwrap_or(0);
    let _ = child.kill().await;
    Ok(Run { cold, first, peak_rss_kb })
}

async fn concurrent(binary: &PathBuf, sim: &Sim, event: &Value, n: usize) -> Result<String, String> {
    let mut functions = Vec::new();
    for _ in 0..n {
        let api = RuntimeApi::start().await?;
        let child = spawn(binary, sim, &api)?;
        api.wait_first_poll(TIMEOUT).await.ok_or("the function never polled /next")?;
        functions.push((api, child));
    }
    let answers = futures_util::future::join_all(functions.iter().map(|(api, _)| api.invoke(event.clone(), TIMEOUT))).await;
    let ok = answers.iter().filter(|a| matches!(a, Ok(Invocation::Response(_)))).count();
    for (_, mut child) in functions {
        let _ = child.kill().await;
    }
    Ok(sim.state(|s| {
        let related = s.related_items.values().flatten().filter(|i| i.to_string().contains("security-ir")).count();
        format!(
            "{ok}/{n} answered; {} case(s), {} comment(s), {related} related item(s), {} timeline event(s)",
            s.cases.len(),
            s.comments.values().map(Vec::len).sum::<usize>(),
            s.timeline_events.values().map(Vec::len).sum::<usize>()
        )
    }))
}

fn spawn(binary: &PathBuf, sim: &Sim, api: &RuntimeApi) -> Result<Child, String> {
    spawn_with(binary, sim, api, &[])
}

/// Starts the function on the demo detector with a fresh ledger table on moto,
/// and waits for its first poll.
async fn launch_with_ledger(binary: &PathBuf, sim: &Sim, moto: &Moto, table: &str) -> Result<(RuntimeApi, Child), String> {
    moto.create_ledger_table(table).await?;
    let api = RuntimeApi::start().await?;
    let extra = [
        ("DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0".to_string()),
        ("LEDGER_TABLE", table.to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.url().to_string()),
    ];
    let child = spawn_with(binary, sim, &api, &extra)?;
    api.wait_first_poll(TIMEOUT).await.ok_or("the function never polled /next")?;
    Ok((api, child))
}

fn spawn_with(binary: &PathBuf, sim: &Sim, api: &RuntimeApi, extra: &[(&str, String)]) -> Result<Child, String> {
    Command::new(binary)
        .env_clear()
        .envs(api.function_env(&sim.url()))
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))
}

fn report(what: &str, samples: &[f64], target: f64) {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let median = median(&s);
    let (min, max) = (s.first().copied().unwrap_or(f64::NAN), s.last().copied().unwrap_or(f64::NAN));
    if target.is_nan() {
        println!("{what}: median {median:.2}, min {min:.2}, max {max:.2}");
    } else {
        println!("{what}: median {median:.2}, min {min:.2}, max {max:.2}; target ≤ {target}; median/target = {:.2}", median / target);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn event(name: &str) -> Result<Value, String> {
    let path = format!("{}/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| "unknown CPU".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}
