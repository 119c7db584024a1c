//! An independent DynamoDB on loopback for the ledger's tests and benchmark:
//! moto's server (PyPI `moto[server]`), run as a child process. Independent on
//! purpose: the ledger's conditional writes are checked against someone else's
//! implementation of DynamoDB, not against one written to agree with them.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; stopped when dropped.
pub struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    /// Starts `python3 -m moto.server` (or `$MOTO_PYTHON`) on a free loopback port
    /// and waits until it accepts connections.
    pub fn start() -> Result<Moto, String> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| format!("no free port: {e}"))?.port();
        let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {python} -m moto.server: {e} (pip install 'moto[server]')"))?;
        let mut moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("moto server exited ({status}): is it installed? pip install 'moto[server]'"));
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("moto server did not listen within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(moto)
    }

    /// Its endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
