//! A Lambda Runtime API emulator: the `/2018-06-01/runtime/...` endpoints that a
//! custom runtime polls, with the headers Lambda sends, so that the real compiled
//! function can be driven exactly as Lambda drives it.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

use crate::http::{self, lock};

const PREFIX: &str = "/2018-06-01/runtime";

/// What an invocation came back with.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function's response, posted to `/response`.
    Response(Value),
    /// The function's error, posted to `/error`.
    Error {
        /// `errorType` of the error body.
        error_type: String,
        /// `errorMessage` of the error body.
        error_message: String,
    },
}

struct Pending {
    request_id: String,
    sequence: u64,
    event: Value,
    deadline_ms: u64,
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Pending>,
    waiting: HashMap<String, oneshot::Sender<Invocation>>,
    first_poll: Option<Instant>,
    init_error: Option<Value>,
    sequence: u64,
}

struct Inner {
    shared: Mutex<Shared>,
    queued: Notify,
    polled: Notify,
    function_arn: String,
}

/// A running Runtime API emulator on 127.0.0.1.
pub struct RuntimeApi {
    inner: Arc<Inner>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts the emulator on a port the OS picks.
    pub async fn start() -> Result<RuntimeApi, String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("cannot bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let inner = Arc::new(Inner {
            shared: Mutex::new(Shared::default()),
            queued: Notify::new(),
            polled: Notify::new(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:investigation-escalator".to_string(),
        });
        let served = inner.clone();
        let task = http::serve(listener, move |req| serve(served.clone(), req));
        Ok(RuntimeApi { inner, addr, task })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API` (`127.0.0.1:PORT`).
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The environment Lambda gives a function on this runtime (`provided.al2023`,
    /// JSON logs), with a region, static credentials, and every AWS client pointed
    /// at `endpoint_url`. Start the function with only this, so nothing of the
    /// developer's own AWS setup leaks in.
    pub fn function_env(&self, endpoint_url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", "investigation-escalator".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]emulated".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/investigation-escalator".into()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "AKIDSIMULATION".into()),
            ("AWS_SECRET_ACCESS_KEY", "simulation-secret".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_ENDPOINT_URL", endpoint_url.into()),
        ]
    }

    /// Queues an event and waits for the function's answer, up to `timeout`
    /// (also the deadline the function is told).
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Invocation, String> {
        let (tx, rx) = oneshot::channel();
        let request_id = {
            let mut s = lock(&self.inner.shared);
            s.sequence += 1;
            let request_id = format!("00000000-0000-4000-8000-{:012}", s.sequence);
            let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
            s.waiting.insert(request_id.clone(), tx);
            let sequence = s.sequence;
            s.queue.push_back(Pending {
                request_id: request_id.clone(),
                sequence,
                event,
                deadline_ms: now_ms + timeout.as_millis() as u64,
            });
            request_id
        };
        self.inner.queued.notify_one();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(format!("invocation {request_id}: the emulator dropped it")),
            Err(_) => {
                lock(&self.inner.shared).waiting.remove(&request_id);
                Err(format!("invocation {request_id}: no answer within {timeout:?}"))
            }
        }
    }

    /// When the function first polled `/next`: the end of its cold start.
    pub fn first_poll(&self) -> Option<Instant> {
        lock(&self.inner.shared).first_poll
    }

    /// Waits until the function first polls `/next`, up to `timeout`.
    pub async fn wait_first_poll(&self, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.polled.notified();
            if let Some(t) = self.first_poll() {
                return Some(t);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// The body the function posted to `/init/error`, if it did.
    pub fn init_error(&self) -> Option<Value> {
        lock(&self.inner.shared).init_error.clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(inner: Arc<Inner>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let error_type_header = req.headers().get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(reply(404, json!({"errorMessage": format!("unknown path {path}")}), &[]));
    };
    if method == hyper::Method::GET && route == "/invocation/next" {
        return Ok(next(&inner).await);
    }
    if method != hyper::Method::POST {
        return Ok(reply(405, json!({"errorMessage": "method not allowed"}), &[]));
    }
    if route == "/init/error" {
        lock(&inner.shared).init_error =
            Some(serde_json::from_slice(&body).unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body)})));
        return Ok(reply(202, json!({"status": "OK"}), &[]));
    }
    let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    let outcome = match parts.as_slice() {
        ["invocation", id, "response"] => {
            (id.to_string(), Invocation::Response(serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)))))
        }
        ["invocation", id, "error"] => {
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            let error_type = v["errorType"].as_str().map(str::to_string).or(error_type_header).unwrap_or_default();
            let error_message = v["errorMessage"].as_str().unwrap_or_default().to_string();
            (id.to_string(), Invocation::Error { error_type, error_message })
        }
        _ => return Ok(reply(404, json!({"errorMessage": format!("unknown path {path}")}), &[])),
    };
    let sender = lock(&inner.shared).waiting.remove(&outcome.0);
    match sender {
        Some(tx) => {
            let _ = tx.send(outcome.1);
            Ok(reply(202, json!({"status": "OK"}), &[]))
        }
        None => {
            Ok(reply(400, json!({"errorType": "InvalidRequestID", "errorMessage": format!("no invocation {} is waiting", outcome.0)}), &[]))
        }
    }
}

async fn next(inner: &Inner) -> Response<Full<Bytes>> {
    {
        let mut s = lock(&inner.shared);
        if s.first_poll.is_none() {
            s.first_poll = Some(Instant::now());
            inner.polled.notify_waiters();
        }
    }
    loop {
        let notified = inner.queued.notified();
        if let Some(p) = lock(&inner.shared).queue.pop_front() {
            let headers = [
                ("lambda-runtime-aws-request-id", p.request_id.clone()),
                ("lambda-runtime-deadline-ms", p.deadline_ms.to_string()),
                ("lambda-runtime-invoked-function-arn", inner.function_arn.clone()),
                ("lambda-runtime-trace-id", format!("Root=1-00000000-{:024x};Sampled=0", p.sequence)),
            ];
            return reply(200, p.event, &headers);
        }
        notified.await;
        // Wake the next poller too if more than one event is queued.
        if lock(&inner.shared).queue.len() > 1 {
            inner.queued.notify_one();
        }
    }
}

fn reply(status: u16, body: Value, headers: &[(&'static str, String)]) -> Response<Full<Bytes>> {
    http::json(status, &body, headers)
}
