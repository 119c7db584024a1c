//! The loopback HTTP server that the real SDK clients talk to.
//!
//! Order of work for each request, as the real services do it: authentication
//! (a SigV4 `Authorization` header naming the service), routing, validation
//! against the model, authorization as IAM would decide it for the function's
//! role (`crate::iam`), injected faults, then the idempotency check and the
//! operation itself under one lock, so concurrent requests with one token see
//! one write.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::SimError;
use crate::faults::{FailKind, Faults};
use crate::http::{self, lock};
use crate::iam::{Authorization, Authorizer, Stack};
use crate::model::{http_headers::Headers, percent_decode, Models, Service};
use crate::services::{dispatch, Ctx};
use crate::state::{Fixture, LogEntry, State, TokenRecord};

struct Inner {
    models: Models,
    /// The function role's authorizer.
    authorizer: Authorizer,
    /// The actions the function was allowed, for the template check (see `Drop`).
    called: Mutex<BTreeSet<String>>,
    state: Mutex<State>,
    faults: Mutex<Faults>,
}

/// A running simulation of the three services on 127.0.0.1.
pub struct Sim {
    inner: Arc<Inner>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Sim {
    /// Starts a simulation seeded from `fixture`, on a port the OS picks, that
    /// authorizes every request as IAM would for the template's function role
    /// at the template's default parameters.
    pub async fn start(fixture: Fixture) -> Result<Sim, String> {
        Self::start_on(fixture, 0, Authorization::default()).await
    }

    /// Starts a simulation that authorizes requests as `authorization` says.
    pub async fn start_with(fixture: Fixture, authorization: Authorization) -> Result<Sim, String> {
        Self::start_on(fixture, 0, authorization).await
    }

    /// Starts a simulation on a given loopback port (0: the OS picks).
    pub async fn start_on(fixture: Fixture, port: u16, authorization: Authorization) -> Result<Sim, String> {
        let authorizer = match authorization {
            Authorization::Stack(stack) => Authorizer::for_stack(stack)?,
            Authorization::Policy(stack, statements) => Authorizer::for_statements(stack, statements)?,
        };
        let inner = Arc::new(Inner {
            models: Models::load()?,
            authorizer,
            called: Mutex::default(),
            state: Mutex::new(State::from_fixture(fixture)?),
            faults: Mutex::new(Faults::default()),
        });
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| format!("cannot bind 127.0.0.1:{port}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let served = inner.clone();
        let task = http::serve(listener, move |req| serve(served.clone(), req));
        Ok(Sim { inner, addr, task })
    }

    /// The endpoint URL to give the SDK clients (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Reads or changes the state.
    pub fn state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.inner.state))
    }

    /// Reads or changes the fault settings.
    pub fn faults<R>(&self, f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut lock(&self.inner.faults))
    }

    /// Forgets every idempotency token, as if the services' (undocumented)
    /// token window had passed: a repeated request is then a new one.
    pub fn expire_tokens(&self) {
        lock(&self.inner.state).tokens.clear();
    }

    /// Forgets one service's idempotency tokens (its token window passed, the others' not yet).
    pub fn expire_tokens_of(&self, service: Service) {
        lock(&self.inner.state).tokens.retain(|(s, _, _), _| *s != service);
    }

    /// The state as JSON.
    pub fn snapshot(&self) -> Value {
        lock(&self.inner.state).snapshot()
    }

    /// The stack whose function role the simulation enforces.
    pub fn stack(&self) -> &Stack {
        self.inner.authorizer.stack()
    }

    /// The models, for tests that check answers against output shapes.
    pub fn models(&self) -> &Models {
        &self.inner.models
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.task.abort();
        record_called(&lock(&self.inner.called));
    }
}

/// Appends the actions the function was allowed to `target/iam-actions/PID.txt`,
/// where `.ci/check_template.py --called` reads them: every action the template
/// grants must be one some test made the function call. Best effort: a test
/// run on a read-only tree loses only this record.
fn record_called(actions: &BTreeSet<String>) {
    use std::io::Write;
    if actions.is_empty() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/iam-actions");
    let text: String = actions.iter().map(|a| format!("{a}\n")).collect();
    let _ = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}.txt", std::process::id())))?
            .write_all(text.as_bytes())
    });
}

async fn serve(inner: Arc<Inner>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect();
    let headers = Headers(
        req.headers().iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect(),
    );
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(json_response(400, &json!({"message": format!("unreadable body: {e}")}), &[])),
    };
    if let Some(control) = path.strip_prefix("/_sim/") {
        return Ok(serve_control(&inner, &method, control, &body));
    }
    Ok(match serve_aws(&inner, &method, &path, &query, &headers, &body).await {
        Ok((status, body)) => json_response(status, &body, &[]),
        Err(e) => {
            let mut extra: Vec<(String, String)> = e.headers.clone();
            extra.push(("x-amzn-errortype".into(), e.code.clone()));
            json_response(e.status, &e.body(), &extra)
        }
    })
}

/// Parses the SigV4 `Authorization` header: `(access key, region, service)` of its credential scope.
fn credential_scope(headers: &Headers) -> Result<(String, String, String), SimError> {
    let auth = headers.get("authorization").ok_or_else(|| SimError::unauthenticated("Missing Authentication Token"))?;
    let scope = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .and_then(|rest| rest.split(',').find_map(|p| p.trim().strip_prefix("Credential=")))
        .ok_or_else(|| SimError::unauthenticated("Authorization header is not AWS4-HMAC-SHA256 with a Credential"))?;
    // AKID/date/region/service/aws4_request
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || headers.get("x-amz-date").is_none() {
        return Err(SimError::unauthenticated(format!("malformed SigV4 credential scope: {scope}")));
    }
    Ok((parts[0].to_string(), parts[2].to_string(), parts[3].to_string()))
}

async fn serve_aws(
    inner: &Inner,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &Headers,
    body: &[u8],
) -> Result<(u16, Value), SimError> {
    let refused = |e: SimError| {
        lock(&inner.state).log.push(LogEntry {
            service: None,
            operation: format!("{method} {path}"),
            region: None,
            status: e.status,
            error: Some(e.code.clone()),
            client_token: None,
            replayed: false,
        });
        e
    };
    let (access_key, region, signing_name) = credential_scope(headers).map_err(refused)?;
    let service = Service::ALL.into_iter().find(|s| s.signing_name() == signing_name);
    let routed = inner.models.route(service, method, path).ok_or_else(|| refused(SimError::unknown_operation(method, path)))?;
    let op = routed.operation;
    let svc = op.service;
    let mut entry = LogEntry {
        service: Some(svc),
        operation: op.name.clone(),
        region: Some(region.clone()),
        status: op.response_code,
        error: None,
        client_token: None,
        replayed: false,
    };
    let result = async {
        let input = routed.model.parse_input(&routed, query, headers, body)?;
        // IAM decides before the service does anything with the request. The
        // operator's key stands for a person with their own, broader access
        // (tests that act outside the function); every other caller is the function.
        let operator = access_key == crate::OPERATOR_ACCESS_KEY;
        if !operator {
            let allowed = inner.authorizer.authorize(&lock(&inner.state), svc, &op.name, &input, &region)?;
            lock(&inner.called).extend(allowed);
        }
        let token_member = routed.model.token_member(op);
        let token = token_member.as_deref().and_then(|m| input[m].as_str()).map(str::to_string);
        entry.client_token = token.clone();

        let (latency, drawn) = lock(&inner.faults).draw(&op.name);
        let fail = lock(&inner.faults).matching(&op.name, path, body).or(drawn);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match fail {
            Some(FailKind::Throttle) => return Err(SimError::throttling(svc)),
            Some(FailKind::ServerError) => return Err(SimError::internal(svc)),
            Some(FailKind::QuotaExceeded) => return Err(SimError::quota_exceeded(svc)),
            _ => {}
        }
        if let Some(answer) = lock(&inner.faults).answers.get(&op.name).cloned() {
            return Ok((op.response_code, answer));
        }

        let mut state = lock(&inner.state);
        let answer = match token {
            Some(token) => {
                let mut fingerprint = input.clone();
                if let (Some(o), Some(m)) = (fingerprint.as_object_mut(), token_member.as_deref()) {
                    o.remove(m);
                }
                let key = (svc, op.name.clone(), token.clone());
                match state.tokens.get(&key) {
                    Some(rec) if rec.fingerprint == fingerprint => {
                        entry.replayed = true;
                        rec.answer.clone()
                    }
                    Some(_) => return Err(token_reused(svc, &token)),
                    None => {
                        let answer = dispatch(&mut state, &Ctx { region: &region, operator }, svc, &op.name, &input)?;
                        state.tokens.insert(key, TokenRecord { fingerprint, answer: answer.clone() });
                        answer
                    }
                }
            }
            None => dispatch(&mut state, &Ctx { region: &region, operator }, svc, &op.name, &input)?,
        };
        if fail == Some(FailKind::ServerErrorAfterWrite) {
            return Err(SimError::internal(svc));
        }
        Ok((op.response_code, answer))
    }
    .await;
    if let Err(e) = &result {
        entry.status = e.status;
        entry.error = Some(e.code.clone());
    }
    lock(&inner.state).log.push(entry);
    result
}

fn token_reused(service: Service, token: &str) -> SimError {
    let message = format!("The client token {token} was already used with a different request");
    SimError::conflict(service, message, token, "ClientToken")
}

fn serve_control(inner: &Inner, method: &str, path: &str, body: &[u8]) -> Response<Full<Bytes>> {
    match (method, path) {
        ("GET", "state") => json_response(200, &lock(&inner.state).snapshot(), &[]),
        ("GET", "faults") => json_response(200, &serde_json::to_value(&*lock(&inner.faults)).unwrap_or(Value::Null), &[]),
        ("POST", "faults") => match serde_json::from_slice::<Faults>(body) {
            Ok(f) => {
                *lock(&inner.faults) = f;
                json_response(200, &json!({"ok": true}), &[])
            }
            Err(e) => json_response(400, &json!({"message": format!("faults: {e}")}), &[]),
        },
        _ => json_response(
            404,
            &json!({"message": format!("no control endpoint {method} /_sim/{path}; try GET state, GET/POST faults")}),
            &[],
        ),
    }
}

/// A service answer: JSON, with the request id header the SDK reads.
fn json_response(status: u16, body: &Value, headers: &[(String, String)]) -> Response<Full<Bytes>> {
    let mut all = vec![("x-amzn-requestid".to_string(), "00000000-0000-4000-8000-000000000000".to_string())];
    all.extend_from_slice(headers);
    http::json(status, body, &all)
}
