//! End to end: the compiled binary under the Lambda Runtime API emulator,
//! against the simulation, driven exactly as Lambda drives it.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use escalator_sim::{demo_fixture, Invocation, RuntimeApi, Sim};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The function binary, running under its own Runtime API emulator.
struct Function {
    api: RuntimeApi,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
}

fn launch(api: RuntimeApi, sim: &Sim, env: &[(&str, &str)]) -> Function {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_investigation-escalator"));
    cmd.env_clear().envs(api.function_env(&sim.url())).stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the function binary starts");
    let stdout = Arc::new(Mutex::new(Vec::new()));
    if let Some(out) = child.stdout.take() {
        let lines = stdout.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(out).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
    }
    Function { api, child, stdout }
}

impl Function {
    async fn invoke(&self, event: Value) -> Invocation {
        self.api.invoke(event, TIMEOUT).await.expect("the function answers")
    }

    fn logs(&self) -> Vec<Value> {
        self.stdout.lock().unwrap_or_else(|e| e.into_inner()).iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// The logs, once `ready` holds for them: the function answers before its
    /// last lines reach the pipe, so wait on what is expected, not on the clock.
    async fn logs_when(&self, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..600 {
            let logs = self.logs();
            if ready(&logs) {
                return logs;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the expected log lines never came: {:?}", self.logs());
    }
}

/// The EMF lines in `logs`: (outcome, reason) of each.
fn emf(logs: &[Value]) -> Vec<(String, Option<String>)> {
    logs.iter()
        .filter(|l| l.get("_aws").is_some())
        .map(|l| (l["Outcome"].as_str().unwrap_or_default().to_string(), l["Reason"].as_str().map(str::to_string)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_handles_each_kind_of_event() {
    let sim = sim_for(demo_fixture(), &[]).await;
    let f = launch(RuntimeApi::start().await.expect("runtime api"), &sim, &[]);
    assert!(f.api.wait_first_poll(TIMEOUT).await.is_some(), "the function never polled /next");

    let Invocation::Response(critical) = f.invoke(event("investigation-critical")).await else { panic!("critical failed") };
    assert_eq!(critical["outcome"], "escalated");
    assert_eq!(critical["incidentRecordArns"], json!([MATCHING]));

    assert_eq!(
        f.invoke(event("investigation-low")).await,
        Invocation::Response(
            json!({"outcome": "skipped", "reason": "below_threshold", "investigationId": "c0ffee00-0000-4000-8000-000000000003", "riskLevel": "Low"})
        )
    );
    // No DETECTOR_ID, so no sweep comes back to a running investigation: a loud error, not a `pending`.
    let Invocation::Error { error_type, .. } = f.invoke(event("investigation-running")).await else { panic!("running answered") };
    assert_eq!(error_type, "NoSweepToFinish");
    assert_eq!(
        f.invoke(event("investigation-running")["detail"].clone()).await,
        Invocation::Response(json!({"outcome": "pending", "investigationId": "c0ffee00-0000-4000-8000-000000000004"}))
    );
    let Invocation::Error { error_type, error_message } = f.invoke(event("malformed")).await else { panic!("malformed succeeded") };
    assert_eq!(error_type, "MalformedEvent");
    assert!(error_message.contains("detail.investigationId"), "{error_message}");

    // The same critical event again: the same case, nothing new.
    let Invocation::Response(again) = f.invoke(event("investigation-critical")).await else { panic!("redelivery failed") };
    assert_eq!(again["caseId"], critical["caseId"]);
    assert_eq!(writes(&sim), Writes::one_linked());
    // The compiled binary read the structured answer and the findings too.
    let case_id = critical["caseId"].as_str().unwrap_or_default().to_string();
    let case = sim.state(|s| s.cases.get(&case_id).cloned()).expect("the case");
    assert_eq!(case["impactedServices"], json!(["AWS IAM", "Amazon EC2"]), "{case}");
    assert_eq!(case["threatActorIpAddresses"].as_array().map(Vec::len), Some(2), "{case}");
    assert!(case["description"].as_str().is_some_and(|d| d.contains("(T1110)")), "{case}");

    // JSON logs carry the request and investigation ids; EMF lines count the outcomes.
    let logs = f.logs_when(|logs| emf(logs).len() >= 6).await;
    let decided = logs.iter().find(|l| l["message"] == "decided").expect("a decision log line");
    let span = &decided["spans"].as_array().and_then(|s| s.last()).cloned().unwrap_or_default();
    assert_eq!(span["investigationId"], "c0ffee00-0000-4000-8000-000000000001", "{decided}");
    assert!(span["requestId"].as_str().is_some_and(|r| !r.is_empty()), "{decided}");
    assert_eq!(
        emf(&logs),
        vec![
            ("escalated".to_string(), None),
            ("skipped".to_string(), Some("below_threshold".to_string())),
            ("failed".to_string(), Some("no_sweep_to_finish".to_string())),
            ("pending".to_string(), None),
            ("failed".to_string(), Some("malformed_event".to_string())),
            ("escalated".to_string(), None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_configuration_stops_the_cold_start_naming_the_variable() {
    let sim = Sim::start(demo_fixture()).await.expect("simulation");
    let mut f = launch(RuntimeApi::start().await.expect("runtime api"), &sim, &[("RISK_THRESHOLD", "Severe")]);
    let status = tokio::time::timeout(TIMEOUT, f.child.wait()).await.expect("exits").expect("status");
    assert!(!status.success());
    let reported = f.api.init_error().expect("reported to /init/error");
    assert_eq!(reported["errorType"], "Runtime.ConfigError");
    let message = reported["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("RISK_THRESHOLD") && message.contains("Critical"), "{message}");
    assert!(f.api.first_poll().is_none(), "a function that failed its init must not poll for events");
    assert!(operations(&sim).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_sweeps_a_backlog_to_the_end_with_the_ledger() {
    let backlog = backlog(120);
    let (worthy, finished, running) = (backlog.worthy, backlog.finished, backlog.running);
    let (moto, dynamo) = ledger_table().await;
    let sim = sim_for(backlog.fixture, &[("DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0"), ("LEDGER_TABLE", LEDGER_TABLE)]).await;
    let f = launch(
        RuntimeApi::start().await.expect("runtime api"),
        &sim,
        &[
            ("DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0"),
            ("LEDGER_TABLE", LEDGER_TABLE),
            // Short leases: should the backstop ever cut a chunk off (a crash, in effect), the
            // binary's own clock frees it within seconds; the test cannot move that clock.
            ("LEDGER_LEASE_SECONDS", "1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", moto.url()),
        ],
    );
    assert!(f.api.wait_first_poll(TIMEOUT).await.is_some());

    // Each invocation gets one second: the backlog drains over several, each taking up where the
    // last stopped and saying whether it finished. One cut off by its deadline releases its lease.
    let mut rounds = Vec::new();
    loop {
        let started = std::time::Instant::now();
        let Invocation::Response(result) = f.api.invoke(event("scheduled-sweep"), Duration::from_secs(1)).await.expect("answered") else {
            panic!("the sweep failed")
        };
        let settled = result["counts"]["escalated"].as_u64().unwrap_or(0) + result["counts"]["skipped"].as_u64().unwrap_or(0);
        rounds.push((started.elapsed(), settled, result["complete"] == true));
        assert_eq!(result["counts"]["failed"], 0, "{result}");
        if result["complete"] == true && result["counts"]["pending"] == running {
            break;
        }
        assert!(rounds.len() < 60, "the backlog never drained: {rounds:?}");
    }
    for (n, (took, settled, complete)) in rounds.iter().enumerate() {
        eprintln!("sweep invocation {}: {settled} investigations settled in {took:?} (complete: {complete})", n + 1);
    }
    assert_eq!(settled_in(&dynamo).await, (worthy, finished - worthy), "every finished investigation settled: {rounds:?}");
    assert_eq!(writes(&sim).cases, worthy);
    assert_eq!(sim.state(|s| s.calls("CreateCase")), worthy, "the ledger, not the tokens, kept it to one call each");

    // A further sweep reads only the last few minutes again and writes nothing anywhere.
    let log_before = sim.state(|s| s.log.len());
    let Invocation::Response(full) = f.api.invoke(event("scheduled-sweep"), TIMEOUT).await.expect("answered") else {
        panic!("sweep failed")
    };
    assert_eq!((full["complete"].as_bool(), full["counts"]["pending"].as_u64()), (Some(true), Some(running as u64)), "{full}");
    let ops: Vec<String> = sim.state(|s| s.log[log_before..].iter().map(|e| e.operation.clone()).collect());
    assert!(ops.iter().all(|op| op == "ListInvestigations" || op == "GetInvestigation"), "{ops:?}");
    assert!(ops.iter().filter(|op| *op == "GetInvestigation").count() <= 5, "{ops:?}");
    assert_eq!(writes(&sim).cases, worthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_is_counted_apart_by_the_handler_and_by_the_sweep() {
    let backlog = backlog(20);
    let detector = "12abc34d567e8fa901bc2d34e56789f0";
    let vars = [("DRY_RUN", "true"), ("DETECTOR_ID", detector)];
    let sim = sim_for(backlog.fixture, &vars).await;
    let f = launch(RuntimeApi::start().await.expect("runtime api"), &sim, &vars);
    assert!(f.api.wait_first_poll(TIMEOUT).await.is_some());
    // One delivery of a critical investigation (the handler's path)...
    let critical = json!({"detectorId": detector, "investigationId": "bac4106-0000-4000-8000-000000000004"});
    let Invocation::Response(single) = f.invoke(critical).await else { panic!("the delivery failed") };
    assert_eq!((single["outcome"].as_str(), single["dryRun"].as_bool()), (Some("escalated"), Some(true)), "{single}");
    // ...then a sweep of the whole backlog (the sweep's path, one line per investigation).
    let Invocation::Response(swept) = f.invoke(event("scheduled-sweep")).await else { panic!("the sweep failed") };
    assert_eq!(swept["counts"]["escalated"], backlog.worthy, "{swept}");
    let logs = f.logs_when(|logs| emf(logs).iter().any(|(o, _)| o == "swept")).await;
    let lines = emf(&logs);
    let dry = lines.iter().filter(|(o, _)| o == "escalated_dry_run").count();
    assert_eq!(dry, 1 + backlog.worthy, "the delivery's and each swept escalation, all counted apart: {lines:?}");
    assert!(!lines.iter().any(|(o, _)| o == "escalated"), "a dry run never counts as a real escalation: {lines:?}");
    assert!(operations(&sim).iter().all(|op| op.starts_with("Get") || op.starts_with("List")), "a dry run writes nothing");
}

/// The template's defaults and each of its conditional branches: the compiled
/// binary escalates an investigation end to end while the simulation authorizes
/// every call as IAM would for that stack's function role. A grant IAM would
/// refuse (a GuardDuty action scoped to a detector, an incident record without
/// its response plan, a case in the wrong Region) fails here with AccessDenied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_escalates_under_the_role_of_each_branch_of_the_template() {
    let detector = "12abc34d567e8fa901bc2d34e56789f0";
    let (moto, _) = ledger_table().await;
    // (the branch, its configuration, the event that makes the branch's own call)
    type Branch<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let branches: [Branch; 6] = [
        ("the template's defaults", &[], "investigation-critical"),
        ("a detector (the sweep)", &[("DETECTOR_ID", detector)], "scheduled-sweep"),
        ("StartInvestigations=true", &[("DETECTOR_ID", detector), ("START_INVESTIGATIONS", "true")], "guardduty-finding"),
        ("a response plan", &[("INCIDENT_RESPONSE_PLAN_ARN", PLAN)], "investigation-high"),
        ("SecurityIrRegion in another Region", &[("SECURITY_IR_REGION", "us-west-2")], "investigation-critical"),
        ("IncidentManagerRegion in another Region", &[("INCIDENT_MANAGER_REGION", "eu-west-1")], "investigation-critical"),
    ];
    for (n, (branch, vars, extra)) in branches.into_iter().enumerate() {
        // Each stack with its own ledger table, as the template always creates one.
        let table = format!("ledger-{n}");
        moto.create_ledger_table(&table).await.expect("ledger table");
        let mut env: Vec<(&str, &str)> = vars.to_vec();
        env.extend([("LEDGER_TABLE", table.as_str()), ("AWS_ENDPOINT_URL_DYNAMODB", moto.url())]);
        let sim = sim_for(demo_fixture(), &env).await;
        let f = launch(RuntimeApi::start().await.expect("runtime api"), &sim, &env);
        let Invocation::Response(critical) = f.invoke(event("investigation-critical")).await else {
            panic!("{branch}: the escalation failed: {:?}", denied(&sim))
        };
        assert_eq!(critical["outcome"], "escalated", "{branch}: {critical}");
        assert!(critical["caseId"].is_string(), "{branch}: {critical}");
        let Invocation::Response(result) = f.invoke(event(extra)).await else { panic!("{branch}: {extra} failed: {:?}", denied(&sim)) };
        match extra {
            "scheduled-sweep" => {
                assert_eq!((result["outcome"].as_str(), &result["counts"]["failed"]), (Some("swept"), &json!(0)), "{branch}: {result}")
            }
            "guardduty-finding" => assert_eq!(result["outcome"], "pending", "{branch}: {result}"),
            "investigation-high" => assert_eq!(result["incidentStarted"], true, "{branch}: {result}"),
            _ => assert_eq!(result["outcome"], "escalated", "{branch}: {result}"),
        }
        assert_eq!(denied(&sim), Vec::<String>::new(), "{branch}: no call is denied");
        let called: std::collections::BTreeSet<String> = operations(&sim).into_iter().collect();
        let expected = match extra {
            "scheduled-sweep" => "ListInvestigations",
            "guardduty-finding" => "CreateInvestigation",
            "investigation-high" => "StartIncident",
            _ => "CreateCase",
        };
        assert!(called.contains(expected), "{branch}: the branch's own call {expected} was made: {called:?}");
    }
}

/// The calls the simulation refused with AccessDenied, as `Operation (status)`.
fn denied(sim: &Sim) -> Vec<String> {
    sim.state(|s| {
        s.log
            .iter()
            .filter(|e| e.error.as_deref() == Some("AccessDeniedException"))
            .map(|e| format!("{} ({})", e.operation, e.status))
            .collect()
    })
}

/// The full round of keeping a case and its incidents in step, through the
/// binary: escalate; the case moves twice; a responder comments; the incident
/// is resolved elsewhere; the case closes. Then every event again, one by one,
/// and four at a time to four processes: the writes on each side stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_keeps_a_case_and_its_incident_in_step_once() {
    use escalator_sim::events::{case_event, update_incident_record};
    let (moto, _) = ledger_table().await;
    let sim = sim_for(demo_fixture(), &[("LEDGER_TABLE", LEDGER_TABLE)]).await;
    let env = [("LEDGER_TABLE", LEDGER_TABLE), ("AWS_ENDPOINT_URL_DYNAMODB", moto.url())];
    let mut functions = Vec::new();
    for _ in 0..4 {
        let f = launch(RuntimeApi::start().await.expect("runtime api"), &sim, &env);
        assert!(f.api.wait_first_poll(TIMEOUT).await.is_some());
        functions.push(f);
    }
    let answer = |invocation: Invocation| match invocation {
        Invocation::Response(result) => result,
        other => panic!("the function failed: {other:?}"),
    };
    let f = &functions[0];
    let escalation = event("investigation-critical");
    let case_id = answer(f.invoke(escalation.clone()).await)["caseId"].as_str().expect("case").to_string();
    let updated = case_event("Case Updated", &case_id, Some("AWS Responder"), "123456789012", "us-east-1", "2026-11-20T12:05:41Z");
    let commented = case_event("Case Comment Added", &case_id, Some("123456789012"), "123456789012", "us-east-1", "2026-11-20T12:21:07Z");
    let session = "arn:aws:sts::123456789012:assumed-role/IncidentCommander/oncall";
    let resolved = update_incident_record(MATCHING, "RESOLVED", session, "123456789012", "us-east-1", "2026-11-20T15:02:33Z");
    let mut closed = event("case-closed");
    closed["detail"]["caseId"] = json!(case_id);
    let mut outcomes = Vec::new();
    for to in ["Detection and Analysis", "Containment, Eradication and Recovery"] {
        move_case(&sim, &case_id, to).await;
        outcomes.push(answer(f.invoke(updated.clone()).await));
    }
    comment(&sim, &case_id, "Isolated the bastion; rotating the instance role.").await;
    outcomes.push(answer(f.invoke(commented.clone()).await));
    resolve_elsewhere(&sim, MATCHING).await;
    outcomes.push(answer(f.invoke(resolved.clone()).await));
    outcomes.push(answer(f.invoke(commented.clone()).await));
    sim.state(|s| escalator_sim::services::security_ir::close_case(s, &case_id, "Investigation Completed"));
    outcomes.push(answer(f.invoke(closed.clone()).await));
    let said: Vec<(String, String)> = outcomes
        .iter()
        .map(|o| (o["outcome"].as_str().unwrap_or_default().to_string(), o["reason"].as_str().unwrap_or_default().to_string()))
        .collect();
    let expected = [("synced", ""), ("synced", ""), ("synced", ""), ("synced", ""), ("skipped", "no_new_comments"), ("resolved", "")];
    assert_eq!(said, expected.map(|(o, r)| (o.to_string(), r.to_string())), "{outcomes:#?}");
    let counts = || (timeline(&sim, MATCHING).len(), comments(&sim, &case_id).len(), sim.state(|s| s.calls("UpdateIncidentRecord")));
    assert_eq!(counts(), (4, 4, 1), "incident: escalation, two moves, the comment; case: two, the responder's, the resolution's");
    let logs = f.logs_when(|logs| emf(logs).iter().filter(|(o, _)| o == "synced").count() == 4).await;
    assert!(emf(&logs).contains(&("skipped".to_string(), Some("no_new_comments".to_string()))), "{:?}", emf(&logs));

    let all = [escalation, updated, commented, resolved, closed];
    for e in &all {
        answer(f.invoke(e.clone()).await);
    }
    for e in &all {
        let raced = futures_util::future::join_all(functions.iter().map(|f| f.invoke(e.clone()))).await;
        for invocation in raced {
            answer(invocation);
        }
    }
    assert_eq!(counts(), (4, 4, 1), "redelivered, and raced four at a time: nothing more");
}
