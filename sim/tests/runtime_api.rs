//! The Runtime API emulator speaks the protocol a custom runtime expects.

use std::io::{Read, Write};
use std::time::Duration;

use escalator_sim::{Invocation, RuntimeApi};
use serde_json::{json, Value};

/// One raw HTTP/1.1 exchange: (status, lower-cased headers, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
        .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_polls_answers_and_fails() {
    let api = RuntimeApi::start().await.expect("starts");
    let addr = api.address();
    assert!(api.first_poll().is_none());

    // A minimal runtime: answer the first event, fail the second.
    let runtime = tokio::task::spawn_blocking(move || {
        let (status, headers, body) = http(&addr, "GET", "/2018-06-01/runtime/invocation/next", "");
        assert_eq!(status, 200);
        let id = header(&headers, "lambda-runtime-aws-request-id").expect("request id").to_string();
        let deadline: u64 = header(&headers, "lambda-runtime-deadline-ms").and_then(|d| d.parse().ok()).expect("deadline");
        assert!(deadline > 1_700_000_000_000);
        assert!(header(&headers, "lambda-runtime-invoked-function-arn").is_some_and(|a| a.starts_with("arn:aws:lambda:")));
        assert!(header(&headers, "lambda-runtime-trace-id").is_some_and(|t| t.starts_with("Root=1-")));
        let event: Value = serde_json::from_str(&body).expect("event json");
        let answer = json!({"echo": event["n"]}).to_string();
        assert_eq!(http(&addr, "POST", &format!("/2018-06-01/runtime/invocation/{id}/response"), &answer).0, 202);

        let (_, headers, _) = http(&addr, "GET", "/2018-06-01/runtime/invocation/next", "");
        let id = header(&headers, "lambda-runtime-aws-request-id").expect("request id").to_string();
        let error = r#"{"errorType":"MalformedEvent","errorMessage":"no detectorId"}"#;
        assert_eq!(http(&addr, "POST", &format!("/2018-06-01/runtime/invocation/{id}/error"), error).0, 202);
        assert_eq!(http(&addr, "POST", "/2018-06-01/runtime/invocation/unknown/response", "{}").0, 400);
    });

    let first = api.invoke(json!({"n": 1}), Duration::from_secs(10)).await.expect("answered");
    assert_eq!(first, Invocation::Response(json!({"echo": 1})));
    let second = api.invoke(json!({"n": 2}), Duration::from_secs(10)).await.expect("answered");
    assert_eq!(second, Invocation::Error { error_type: "MalformedEvent".into(), error_message: "no detectorId".into() });
    runtime.await.expect("runtime ran");
    assert!(api.first_poll().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_errors_are_kept() {
    let api = RuntimeApi::start().await.expect("starts");
    let addr = api.address();
    let status = tokio::task::spawn_blocking(move || {
        http(&addr, "POST", "/2018-06-01/runtime/init/error", r#"{"errorType":"Runtime.ConfigError","errorMessage":"bad"}"#).0
    })
    .await
    .expect("joined");
    assert_eq!(status, 202);
    assert_eq!(api.init_error().map(|e| e["errorType"].clone()), Some(json!("Runtime.ConfigError")));
}

#[tokio::test]
async fn an_unanswered_invocation_times_out() {
    let api = RuntimeApi::start().await.expect("starts");
    let err = api.invoke(json!({}), Duration::from_millis(50)).await.expect_err("nobody polls");
    assert!(err.contains("no answer"), "{err}");
}
