//! Serving HTTP/1.1 on a loopback listener, shared by the AWS simulation and the
//! Runtime API emulator.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Serves every connection of `listener` with `handler`, until the task is aborted.
pub(crate) fn serve<F, Fut>(listener: TcpListener, handler: F) -> JoinHandle<()>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            // Without nodelay, a response written in two parts waits ~40 ms for a delayed ACK.
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(handler);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    })
}

/// A JSON answer (no body for 204) with extra headers.
pub(crate) fn json<K: AsRef<str>, V: AsRef<str>>(status: u16, body: &Value, headers: &[(K, V)]) -> Response<Full<Bytes>> {
    let bytes = if status == 204 { Bytes::new() } else { Bytes::from(body.to_string()) };
    let mut resp = Response::new(Full::new(bytes));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (hyper::header::HeaderName::try_from(k.as_ref()), hyper::header::HeaderValue::from_str(v.as_ref())) {
            h.insert(k, v);
        }
    }
    resp
}

/// Locks shared state. A poisoned lock means a handler panicked mid-write; the
/// state is still the best record of what happened, so keep serving it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
