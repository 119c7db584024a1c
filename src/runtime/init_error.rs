//! Reporting a cold-start failure to the Lambda Runtime API (`/init/error`), so
//! Lambda shows the reason (e.g. a bad configuration value) instead of a bare
//! exit code. lambda_runtime has no public call for this outside SnapStart.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Posts `{errorType, errorMessage}` to `/init/error` of `AWS_LAMBDA_RUNTIME_API`.
/// Best effort: the caller exits with an error either way.
pub fn report(error_type: &str, message: &str) -> std::io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| std::io::Error::other("AWS_LAMBDA_RUNTIME_API is not set"))?;
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message, "stackTrace": [] }).to_string();
    let mut stream = TcpStream::connect(&api)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
         Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(())
}
