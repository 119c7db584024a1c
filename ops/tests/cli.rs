//! The compiled `escalator-ops` against the simulation (and moto for the
//! ledger), over real HTTP: each command's output, and for `backfill` and
//! `replay` the cases and links they leave (once, even when a backfill is
//! interrupted and run again).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use escalator_sim::{backlog_fixture, demo_fixture, sdk_config, Authorization, Fixture, Moto, OpFaults, Sim, Stack};
use investigation_escalator::{App, Clock, Config};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";
const CRITICAL: &str = "c0ffee00-0000-4000-8000-000000000001";
const HIGH: &str = "c0ffee00-0000-4000-8000-000000000002";
const LOW: &str = "c0ffee00-0000-4000-8000-000000000003";
const RUNNING: &str = "c0ffee00-0000-4000-8000-000000000004";
const MATCHING: &str = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/1f2e3d4c5b6a79880796a5b4c3d2e1f0";
const TABLE: &str = "ops-test-ledger";
/// The simulated stack's function (the name `replay --function` is given).
const FUNCTION: &str = "investigation-escalator";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:investigation-escalator";

/// The simulation, and with a ledger the moto server that holds it.
struct World {
    sim: Sim,
    moto: Option<Moto>,
}

impl World {
    async fn start(fixture: Fixture, ledger: bool) -> World {
        Self::start_for(fixture, ledger, &[]).await
    }

    /// A world whose simulation holds every call to the role of the stack that
    /// configuration `vars` deploys (the commands run the function's own code),
    /// and whose Lambda serves that stack's function (its ledger the test's table).
    async fn start_for(fixture: Fixture, ledger: bool, vars: &[(&str, &str)]) -> World {
        let mut vars = vars.to_vec();
        vars.push(("LEDGER_TABLE", TABLE));
        let stack = Stack::for_function_env(vars.iter().copied()).unwrap_or_else(|e| panic!("{e}"));
        let mut fixture = fixture;
        if fixture.functions.is_empty() {
            fixture.functions.push(stack.deployed_function().unwrap_or_else(|e| panic!("{e}")));
        }
        let sim = Sim::start_with(fixture, Authorization::Stack(stack)).await.expect("simulation starts");
        let moto = if ledger {
            let moto = Moto::start().unwrap_or_else(|e| panic!("{e}"));
            moto.create_ledger_table(TABLE).await.expect("ledger table");
            Some(moto)
        } else {
            None
        };
        World { sim, moto }
    }

    /// The binary, pointed at this world, with no configuration from the test's environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_escalator-ops"));
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).arg("--endpoint").arg(self.sim.url());
        if let Some(moto) = &self.moto {
            command.args(["--ledger-endpoint", moto.url(), "--ledger-table", TABLE]);
        }
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        command
    }

    /// Runs the binary to its end: exit code, stdout, stderr.
    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::time::timeout(Duration::from_secs(120), self.command(args).output())
            .await
            .expect("escalator-ops ends within two minutes")
            .expect("escalator-ops runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    }

    async fn json(&self, args: &[&str]) -> Value {
        let (code, out, err) = self.run(args).await;
        assert_eq!(code, 0, "{args:?}: {err}\n{out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// The client tokens the simulation received for `operation`, each once.
    fn tokens(&self, operation: &str) -> BTreeSet<String> {
        self.sim.state(|s| s.log.iter().filter(|e| e.operation == operation).filter_map(|e| e.client_token.clone()).collect())
    }

    fn cases(&self) -> BTreeMap<String, Value> {
        self.sim.state(|s| s.cases.clone())
    }

    /// Every case's comments are each made once.
    fn assert_no_comment_twice(&self) {
        self.sim.state(|s| {
            for (case, comments) in &s.comments {
                let bodies: BTreeSet<&str> = comments.iter().filter_map(|c| c["body"].as_str()).collect();
                assert_eq!(bodies.len(), comments.len(), "case {case} has a comment twice: {comments:?}");
            }
            for (incident, items) in &s.related_items {
                let values: BTreeSet<String> = items.iter().map(|i| i["identifier"]["value"].to_string()).collect();
                assert_eq!(values.len(), items.len(), "incident {incident} lists an item twice: {items:?}");
            }
        });
    }
}

fn explain_args(investigation: &str) -> Vec<&str> {
    vec!["explain", "--detector", DETECTOR, "--investigation", investigation]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_gives_the_reasons_for_an_escalation_a_skip_and_a_pending_one() {
    let world = World::start(demo_fixture(), false).await;
    let (code, out, err) = world.run(&explain_args(CRITICAL)).await;
    assert_eq!(code, 0, "{err}");
    for expected in [
        "Decision: ESCALATE: risk Critical and confidence High pass the gates",
        "[pass] risk level: Critical (needs High or above (RISK_THRESHOLD))",
        "Case that would be opened:",
        "impactedServices: AWS IAM, Amazon EC2",
        &format!("{MATCHING} (\"SSH brute force on prod bastion\"), matched by rule dedupe_string"),
        "198.51.100.23",
        "1. CreateCase on Security Incident Response [to do]",
        "UpdateRelatedItems on arn:aws:ssm-incidents",
        "the link writes' tokens derive from the case id",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let (_, out, _) = world.run(&explain_args(LOW)).await;
    assert!(
        out.contains("Decision: SKIP: risk level Low does not pass: it needs High or above (RISK_THRESHOLD) (below_threshold)"),
        "{out}"
    );
    assert!(out.contains("[FAIL] risk level: Low"), "{out}");
    assert!(out.contains("it would pass the risk gate with RISK_THRESHOLD=Low or lower"), "{out}");
    assert!(!out.contains("Writes"), "a skip writes nothing: {out}");
    let (_, out, _) = world.run(&explain_args(RUNNING)).await;
    assert!(out.contains("Decision: PENDING: the investigation is RUNNING: it is decided once it finishes"), "{out}");
    // A flag moves the gate, as the environment variable would.
    let (_, out, _) = world.run(&[explain_args(LOW), vec!["--risk-threshold", "Low"]].concat()).await;
    assert!(out.contains("Decision: ESCALATE"), "{out}");
    // Nothing was written by any of it.
    let writes = ["CreateCase", "UpdateRelatedItems", "CreateTimelineEvent", "CreateCaseComment", "UpdateCase", "StartIncident"];
    world.sim.state(|s| assert!(!s.log.iter().any(|e| writes.contains(&e.operation.as_str())), "explain wrote: {:?}", s.log));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_tokens_the_escalation_then_sends() {
    let world = World::start(demo_fixture(), false).await;
    let before = world.json(&[explain_args(CRITICAL), vec!["--json"]].concat()).await;
    assert_eq!(before["decision"], "escalate");
    let create_token = before["writes"][0]["token"].as_str().expect("CreateCase has a token").to_string();

    // The function's own flow escalates it, against the same simulation.
    let app = App::new(Config::from_lookup(|_| None).expect("defaults"), &sdk_config(&world.sim).await, Clock::system());
    let event = json!({"detectorId": DETECTOR, "investigationId": CRITICAL});
    investigation_escalator::run(&app, &event, &app.invocation("test", Duration::from_secs(60))).await.expect("escalated");
    assert_eq!(world.tokens("CreateCase"), BTreeSet::from([create_token]), "explain named the token CreateCase sent");

    // Now the case is open (found by its title: no ledger here), and every token is known.
    let after = world.json(&[explain_args(CRITICAL), vec!["--json"]].concat()).await;
    let case_id = world.cases().into_keys().next().expect("one case");
    assert_eq!(after["case"]["existingCaseId"], case_id.as_str());
    let state = after["writes"][0]["state"].as_str().unwrap_or_default();
    assert!(state.starts_with(&format!("to do: case {case_id} has this investigation's title")), "{state}");
    let planned = |operation: &str| -> BTreeSet<String> {
        let writes = after["writes"].as_array().expect("writes");
        writes.iter().filter(|w| w["operation"] == operation).filter_map(|w| w["token"].as_str().map(str::to_string)).collect()
    };
    for operation in ["CreateTimelineEvent", "CreateCaseComment"] {
        assert!(!planned(operation).is_empty(), "{operation} planned: {after}");
        assert_eq!(planned(operation), world.tokens(operation), "{operation}: explain's tokens are the ones sent");
    }
    let notes = after["notes"].to_string();
    assert!(notes.contains("the incident already lists the case"), "{notes}");
    assert_eq!(world.cases().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_interrupted_and_run_again_escalates_each_investigation_once_and_status_shows_it() {
    let backlog = backlog_fixture(24);
    let world = World::start(backlog.fixture, true).await;
    // Slow enough that the interruption lands with work left.
    world.sim.faults(|f| f.set("GetInvestigation", OpFaults { latency_ms: 150, ..OpFaults::default() }));
    let args = ["backfill", "--detector", DETECTOR, "--since", "2h", "--concurrency", "2"];
    let mut child = world.command(&args).spawn().expect("backfill starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.expect("a first line").expect("stdout");
    assert!(first.is_some(), "the backfill printed nothing");
    let pid = child.id().expect("running").to_string();
    let signal = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
    assert!(signal.success());
    let mut rest = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push(line);
    }
    let status = child.wait().await.expect("backfill ends");
    let text = rest.join("\n");
    assert_eq!(status.code(), Some(130), "stopped by Ctrl-C: {first:?}\n{text}");
    assert!(text.contains("not started (stopped)") && text.contains("run the same command again"), "{text}");
    let first_run = world.cases().len();
    assert!(first_run < backlog.worthy, "the interruption left work: {first_run} of {}", backlog.worthy);

    world.sim.faults(|f| f.set("GetInvestigation", OpFaults::default()));
    let (code, out, err) = world.run(&args).await;
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(out.ends_with("\ncomplete\n"), "{out}");
    let row = |name: &str| -> usize {
        let line = out.lines().find(|l| l.starts_with(name));
        line.and_then(|l| l.split_whitespace().last()).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    assert_eq!(row("escalated before"), first_run, "the first run's cases are known to the second: {out}");
    assert_eq!(row("escalated before") + row("escalated "), backlog.worthy, "{out}");
    assert_eq!(world.cases().len(), backlog.worthy, "one case per investigation worth one");
    assert_eq!(world.sim.state(|s| s.log.iter().filter(|e| e.operation == "CreateCase").count()), backlog.worthy, "no CreateCase twice");
    world.assert_no_comment_twice();

    // A third run settles nothing new and writes nothing.
    let calls_before = world.sim.state(|s| s.log.len());
    let report = world.json(&[&args[..], &["--json"]].concat()).await;
    assert_eq!(report["counts"]["escalated"], backlog.worthy, "{report}");
    assert_eq!(report["complete"], true);
    let writes_after: Vec<String> = world.sim.state(|s| {
        s.log[calls_before..].iter().map(|e| e.operation.clone()).filter(|o| !o.starts_with("Get") && !o.starts_with("List")).collect()
    });
    assert!(writes_after.is_empty(), "a settled window writes nothing: {writes_after:?}");

    // status: the investigation's item and the case's.
    let escalated = report["visited"]
        .as_array()
        .expect("visited")
        .iter()
        .find(|v| v["result"]["outcome"] == "escalated")
        .expect("one escalated")
        .clone();
    let investigation = escalated["investigationId"].as_str().expect("id");
    let case_id = escalated["result"]["caseId"].as_str().expect("case");
    let (code, out, err) = world.run(&["status", "--detector", DETECTOR, "--investigation", investigation]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("state: escalated") && out.contains(&format!("escalated for good: case {case_id}")), "{out}");
    assert!(out.contains("kept: for ever"), "{out}");
    let (_, out, _) = world.run(&["status", "--case", case_id]).await;
    assert!(out.starts_with(&format!("case/us-east-1/{case_id}\n  state: case")), "{out}");
    assert!(
        out.contains(&format!("investigation/us-east-1/{DETECTOR}/{investigation}\n  state: escalated")),
        "the case leads to its investigation: {out}"
    );
    let (_, out, _) = world.run(&["status", "--case", "9999999999"]).await;
    assert!(out.contains("no item: this product did not open that case"), "{out}");
    let skipped =
        report["visited"].as_array().expect("visited").iter().find(|v| v["result"]["reason"] == "below_threshold").expect("a skip").clone();
    let (_, out, _) =
        world.run(&["status", "--detector", DETECTOR, "--investigation", skipped["investigationId"].as_str().expect("id")]).await;
    assert!(out.contains("state: skipped") && out.contains("decided again on every delivery or sweep"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_backfill_decides_and_writes_nothing() {
    let world = World::start(demo_fixture(), false).await;
    let (code, out, err) = world.run(&["backfill", "--detector", DETECTOR, "--since", "2026-01-01", "--dry-run"]).await;
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(err.contains("dry run: nothing is written"), "{err}");
    assert!(out.contains(&format!("{CRITICAL}  escalate (dry run)  no case opened")), "{out}");
    assert!(out.contains("skipped: investigation_failed"), "{out}");
    assert!(world.cases().is_empty());
    assert!(world.tokens("CreateCase").is_empty());
}

/// A Lambda failure record (what the on-failure destination puts in the queue) of `function_arn`.
fn failure_record(function_arn: &str, payload: &Value) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-11-20T10:00:00.000Z",
        "requestContext": {"requestId": "r", "functionArn": function_arn, "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "AwsCallFailed", "errorMessage": "throttled"}
    })
    .to_string()
}

/// An EventBridge dead letter of `rule` (the event is the body; the attributes
/// as `aws sqs receive-message --message-attribute-names All` prints them).
fn rule_letter(id: &str, rule: &str, event: &Value) -> Value {
    let attribute = |v: &str| json!({"StringValue": v, "DataType": "String"});
    json!({"MessageId": id, "ReceiptHandle": "h", "Body": event.to_string(), "MessageAttributes": {
        "RULE_ARN": attribute(rule), "TARGET_ARN": attribute(FUNCTION_ARN),
        "ERROR_CODE": attribute("SDK_CLIENT_ERROR"), "RETRY_ATTEMPTS": attribute("10")}})
}

fn event_file(name: &str) -> Value {
    let text = std::fs::read_to_string(events_dir().join(name)).expect("event file");
    serde_json::from_str(&text).expect("event JSON")
}

/// The event of `name` with its investigation replaced by `investigation`.
fn event_for(name: &str, investigation: &str) -> Value {
    let mut event = event_file(name);
    event["detail"]["investigationId"] = json!(investigation);
    event
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("escalator-ops-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, value: &Value) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, value.to_string()).expect("write");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_runs_only_the_functions_dead_letters_and_each_once() {
    let world = World::start(demo_fixture(), true).await;
    let dir = TempDir::new("replay");
    let rules = Stack::default().rule_arns().expect("rules");
    let critical = event_file("investigation-critical.json");
    let high = event_for("investigation-critical.json", HIGH);
    // What `aws sqs receive-message` prints for the dead-letter queue: the function's
    // failure records (one of them a redelivery), a record of a malformed event, a
    // dead letter of the stack's investigation rule; then what anyone allowed
    // sqs:SendMessage could put there: a bare event, another function's record,
    // another rule's letter, this function's rule aimed at another target.
    let dlq = json!({"Messages": [
        {"MessageId": "m-1", "ReceiptHandle": "h", "Body": failure_record(FUNCTION_ARN, &critical)},
        {"MessageId": "m-2", "ReceiptHandle": "h", "Body": failure_record(&format!("{FUNCTION_ARN}:$LATEST"), &critical)},
        {"MessageId": "m-3", "ReceiptHandle": "h", "Body": failure_record(FUNCTION_ARN, &json!({"detail": {}}))},
        rule_letter("m-4", &rules["InvestigationEvent"], &critical),
        {"MessageId": "m-5", "ReceiptHandle": "h", "Body": high.to_string()},
        {"MessageId": "m-6", "ReceiptHandle": "h", "Body": failure_record(&FUNCTION_ARN.replace(FUNCTION, "someone-elses"), &high)},
        rule_letter("m-7", "arn:aws:events:us-east-1:123456789012:rule/forger", &high),
    ]});
    let mut aimed_elsewhere = rule_letter("m-8", &rules["InvestigationEvent"], &high);
    aimed_elsewhere["MessageAttributes"]["TARGET_ARN"]["StringValue"] = json!(FUNCTION_ARN.replace(FUNCTION, "other"));
    let dlq_file = dir.write("dlq.json", &dlq);
    let other_file = dir.write("other.json", &json!({"Messages": [aimed_elsewhere]}));
    let (code, out, err) = world.run(&["replay", "--function", FUNCTION, &dlq_file, &other_file, "--json"]).await;
    assert_eq!(code, 1, "some letters are refused, so the command fails: {err}\n{out}");
    let results: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(results.len(), 8, "{out}");
    assert_eq!(results[0]["event"], format!("{dlq_file}#1"));
    assert_eq!(results[0]["result"]["outcome"], "escalated", "{out}");
    let case = &results[0]["result"]["caseId"];
    assert_eq!(&results[1]["result"]["caseId"], case, "the redelivery finds the same case");
    assert_eq!(results[2]["result"]["error"], "MalformedEvent", "{out}");
    assert_eq!(&results[3]["result"]["caseId"], case, "the rule's dead letter runs, and finds the case");
    for (i, why) in [
        (4, "neither a Lambda failure record nor an EventBridge dead letter"),
        (5, "a failure record of \"arn:aws:lambda:us-east-1:123456789012:function:someone-elses\""),
        (6, "a dead letter of rule \"arn:aws:events:us-east-1:123456789012:rule/forger\""),
        (7, "not the function"),
    ] {
        assert_eq!(results[i]["result"]["error"], "NotThisFunctionsDeadLetter", "{out}");
        assert!(results[i]["result"]["message"].as_str().unwrap_or_default().contains(why), "{i}: {why}: {out}");
    }
    assert_eq!(world.cases().len(), 1, "nothing a forged letter names was escalated");
    world.assert_no_comment_twice();
    let (code, out, _) = world.run(&["replay", "--function", FUNCTION, "/nonexistent/events.json"]).await;
    assert_eq!(code, 1);
    assert!(out.contains("/nonexistent/events.json") && out.contains("UnreadableFile"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_runs_with_the_functions_configuration_and_its_ledger_or_not_at_all() {
    // The deployed function escalates only Critical; the shell knows nothing of it.
    let world = World::start_for(demo_fixture(), true, &[("RISK_THRESHOLD", "Critical")]).await;
    let dir = TempDir::new("replay-config");
    let high = dir.write(
        "high.json",
        &json!({"Messages": [
        {"MessageId": "m-1", "Body": failure_record(FUNCTION_ARN, &event_for("investigation-critical.json", HIGH))}]}),
    );
    let (code, out, err) = world.run(&["replay", "--function", FUNCTION, &high, "--json"]).await;
    assert_eq!(code, 0, "{err}{out}");
    let result: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(result["result"]["outcome"], "skipped", "the function's threshold, not the default High: {out}");
    assert_eq!(result["result"]["reason"], "below_threshold", "{out}");
    // A configuration variable set otherwise here stops the replay before anything runs.
    let mut shell = world.command(&["replay", "--function", FUNCTION, &high]);
    let other = shell.env("RISK_THRESHOLD", "High").output().await.expect("runs");
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("RISK_THRESHOLD is \"High\" here but \"Critical\" in the function"), "{stderr}");
    let (code, _, err) = world.run(&["--min-confidence", "High", "replay", "--function", FUNCTION, &high]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("MIN_CONFIDENCE is \"High\" here but \"Unknown\" in the function"), "{err}");
    // Which function: none named, or one Lambda does not know.
    let (code, _, err) = world.run(&["replay", &high]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("replay needs --function"), "{err}");
    let (code, _, err) = world.run(&["replay", "--function", "nope", &high]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("GetFunctionConfiguration of nope failed: ResourceNotFoundException"), "{err}");
    assert!(world.tokens("CreateCase").is_empty(), "nothing was written");
    assert_eq!(world.sim.state(|s| s.calls("GetInvestigation")), 1, "only the first replay ran");

    // Without the ledger, nothing runs: a dead letter may be days old, past the token windows.
    let unledgered = World::start(demo_fixture(), false).await;
    let (code, _, err) = unledgered.run(&["replay", "--function", FUNCTION, &high]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("with --endpoint the ledger needs --ledger-endpoint"), "{err}");
    let mut fixture = demo_fixture();
    let mut function = Stack::default().deployed_function().expect("function");
    function["configuration"]["Environment"]["Variables"].as_object_mut().expect("variables").remove("LEDGER_TABLE");
    fixture.functions.push(function);
    let no_table = World::start(fixture, false).await;
    let (code, _, err) = no_table.run(&["replay", "--function", FUNCTION, &high]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("replay writes only with the ledger"), "{err}");
    assert_eq!(unledgered.sim.state(|s| s.calls("GetInvestigation")) + no_table.sim.state(|s| s.calls("GetInvestigation")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_configuration_errors_are_named_with_exit_code_2() {
    let world = World::start(demo_fixture(), false).await;
    let cases: [(&[&str], &str); 7] = [
        (&["status", "--detector", DETECTOR, "--investigation", CRITICAL], "status reads the ledger: set LEDGER_TABLE"),
        (&["backfill", "--detector", DETECTOR, "--since", "last week"], "--since \"last week\": expected RFC 3339"),
        (&["backfill", "--detector", DETECTOR, "--since", "1d", "--until", "2d"], "is after --until"),
        (&["explain", "--detector", DETECTOR, "--investigation", "not-an-id!"], "investigationId=\"not-an-id!\" is not valid"),
        (
            &["explain", "--detector", DETECTOR, "--investigation", CRITICAL, "--risk-threshold", "Severe"],
            "RISK_THRESHOLD=\"Severe\" is not valid",
        ),
        (&["backfill", "--detector", DETECTOR, "--since", "30d"], "backfill writes only with the ledger"),
        (&["--ledger-table", "t", "status", "--case", "1234567890"], "with --endpoint the ledger needs --ledger-endpoint"),
    ];
    for (args, expected) in cases {
        let (code, out, err) = world.run(args).await;
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(expected), "{args:?}: expected {expected:?} in {err}");
    }
    assert!(world.tokens("CreateCase").is_empty(), "nothing was written");
    // A failure of the work itself is 1, not 2: here GuardDuty does not know the investigation.
    let (code, _, err) = world.run(&explain_args("c0ffee00-0000-4000-8000-0000000000ff")).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("explain c0ffee00-0000-4000-8000-0000000000ff: GetInvestigation"), "{err}");
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_runs_the_commands_on_a_simulation_of_their_own() {
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_escalator-ops"));
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).args(args).kill_on_drop(true);
        async move { command.output().await.expect("escalator-ops runs") }
    };
    let out = run(&["--simulate", "explain", "--detector", DETECTOR, "--investigation", CRITICAL]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("Decision: ESCALATE"), "{text}");
    let out = run(&["--simulate", "--with-ledger", "backfill", "--detector", DETECTOR, "--since", "2026-01-01"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("escalated                      3") && text.ends_with("complete\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_of_an_event_uses_what_the_event_names() {
    let world = World::start(demo_fixture(), false).await;
    let event = events_dir().join("investigation-explicit-incident.json");
    let (code, out, err) = world.run(&["explain", "--event", &event.to_string_lossy()]).await;
    assert_eq!(code, 0, "{err}");
    // An event may name a record only if it mentions the investigation: this one does not.
    assert!(out.contains("Incident records:\n  none matched"), "{out}");
    // The same fields as a direct invoke: the caller vouches for the record, as the function would.
    let explicit = "arn:aws:ssm-incidents::123456789012:incident-record/SecurityResponse/6a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let direct = std::env::temp_dir().join(format!("escalator-ops-direct-{}.json", std::process::id()));
    let payload: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&event).expect("event")).expect("json");
    std::fs::write(&direct, payload["detail"].to_string()).expect("write");
    let (code, out, err) = world.run(&["explain", "--event", &direct.to_string_lossy()]).await;
    let _ = std::fs::remove_file(&direct);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{explicit} (")) && out.contains("matched by rule explicit_arn"), "{out}");
    // Without either, nothing names that record: the search finds none.
    let (_, out, _) = world.run(&explain_args("c0ffee00-0000-4000-8000-000000000006")).await;
    assert!(out.contains("Incident records:\n  none matched"), "{out}");
    let sweep = events_dir().join("scheduled-sweep.json");
    let (code, _, err) = world.run(&["explain", "--event", &sweep.to_string_lossy()]).await;
    assert_eq!(code, 2);
    assert!(err.contains("not an investigation event"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_of_an_escalation_that_starts_an_incident_lists_its_writes_and_token() {
    const PLAN: &str = "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse";
    let world = World::start_for(demo_fixture(), false, &[("INCIDENT_RESPONSE_PLAN_ARN", PLAN)]).await;
    // The high-risk investigation matches no incident record: with a plan, one is started.
    const HIGH: &str = "c0ffee00-0000-4000-8000-000000000002";
    let x = world.json(&[explain_args(HIGH), vec!["--response-plan-arn", PLAN, "--json"]].concat()).await;
    let writes = x["writes"].as_array().expect("writes");
    let operations: Vec<&str> = writes.iter().filter_map(|w| w["operation"].as_str()).collect();
    assert_eq!(operations, ["CreateCase", "StartIncident", "CreateTimelineEvent", "CreateCaseComment", "UpdateCase"], "{x}");
    assert_eq!(writes[2]["target"], "{startedIncidentArn}");
    for w in &writes[2..4] {
        assert!(w["token"].is_null(), "the started incident's ARN is not known yet: {w}");
        assert_eq!(w["tokenNote"], "derives from the started incident's ARN, known once StartIncident answers");
    }
    assert!(x["notes"].to_string().contains("the incident already lists the case"), "the related item comes with the incident: {x}");
    // StartIncident's body names the case, so its token derives from the case id: not known yet.
    assert!(writes[1]["token"].is_null(), "{}", writes[1]);
    assert_eq!(writes[1]["tokenNote"], "derives from the case id, known once CreateCase answers");

    let vars = [("INCIDENT_RESPONSE_PLAN_ARN", PLAN)];
    let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).expect("config");
    let app = App::new(config, &sdk_config(&world.sim).await, Clock::system());
    let event = json!({"detectorId": DETECTOR, "investigationId": HIGH});
    let outcome = investigation_escalator::run(&app, &event, &app.invocation("test", Duration::from_secs(60))).await.expect("escalated");
    assert_eq!(serde_json::to_value(&outcome).expect("json")["incidentStarted"], true);
    assert_eq!(world.tokens("StartIncident").len(), 1, "one StartIncident, with one token");
    for operation in ["CreateTimelineEvent", "CreateCaseComment", "UpdateCase"] {
        let sent = world.sim.state(|s| s.log.iter().filter(|e| e.operation == operation).count());
        assert_eq!(sent, 1, "{operation}: explain listed it, the escalation sent it once");
    }
    assert_eq!(world.sim.state(|s| s.log.iter().filter(|e| e.operation == "UpdateRelatedItems").count()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_sweep_answers_on_stdout_without_metric_lines() {
    let world = World::start_for(demo_fixture(), true, &[("DETECTOR_ID", DETECTOR), ("SWEEP_LOOKBACK_HOURS", "8760")]).await;
    let dir = TempDir::new("replay-sweep");
    let rule = Stack::default().with("DetectorId", DETECTOR).rule_arns().expect("rules")["SweepSchedule"].clone();
    let sweep = dir.write("sweep.json", &json!({"Messages": [rule_letter("m-1", &rule, &event_file("scheduled-sweep.json"))]}));
    let out = world.command(&["replay", "--json", "--function", FUNCTION, &sweep]).output().await.expect("replay runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert_eq!(lines.len(), 1, "one answer, no EMF lines (the function writes one per investigation): {stdout}");
    assert_eq!(lines[0]["result"]["outcome"], "swept");
    assert_eq!(lines[0]["result"]["counts"]["escalated"], 3, "{stdout}");
}
