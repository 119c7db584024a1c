//! An independent DynamoDB on loopback for the ledger's tests and benchmark:
//! moto's server (PyPI `moto[server]`), run as a child process. Independent on
//! purpose: the ledger's conditional writes are checked against someone else's
//! implementation of DynamoDB, not against one written to agree with them.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server; stopped when dropped.
pub struct Moto {
    child: Child,
    url: String,
}

/// moto's DynamoDB behind one lock, so conditional writes are atomic as in DynamoDB.
const SERVER: &str = include_str!("moto_server.py");

/// The moto release the tests are written against.
pub const MOTO_REQUIREMENT: &str = "moto[server]==5.2.5";

/// The Python that runs moto: `$MOTO_PYTHON` when set, else a virtual
/// environment under the workspace's `target/`, made (once, then reused) with
/// `python3 -m venv` and `pip install` the first time a test needs it. So the
/// README's `cargo test` needs nothing installed by hand beyond Python 3.
pub fn moto_python() -> Result<PathBuf, String> {
    if let Ok(python) = std::env::var("MOTO_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(|| provision(&target_dir().join("moto-venv"))).clone()
}

/// The workspace's target directory (`CARGO_TARGET_DIR` when set).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"))
}

/// Makes the virtual environment at `venv` unless a complete one is there.
/// It is built beside its final place and renamed into it, so a process that
/// finds it finds it whole, and two processes racing to make it both succeed
/// (the second uses the first one's, which may already be serving a test).
fn provision(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin").join("python");
    let stamp = venv.join("requirement.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == MOTO_REQUIREMENT) {
        return Ok(python);
    }
    let parent = venv.parent().ok_or("moto venv: no parent directory")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let building = parent.join(format!("moto-venv.building-{}", std::process::id()));
    eprintln!("escalator-sim: creating {} with {MOTO_REQUIREMENT} for the ledger's tests (once; about 30 s)", venv.display());
    let run = |program: &Path, args: &[&str]| -> Result<(), String> {
        let out = Command::new(program).args(args).stdin(Stdio::null()).output().map_err(|e| format!("{}: {e}", program.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{} {} failed: {}", program.display(), args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    };
    let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let result = run(Path::new(&base), &["-m", "venv", &building.to_string_lossy()]).and_then(|()| {
        let pip = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", MOTO_REQUIREMENT];
        run(&building.join("bin").join("python"), &pip)
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&building);
        return Err(format!(
            "could not provision moto for the ledger's tests: {e} (or set MOTO_PYTHON to a Python that has {MOTO_REQUIREMENT})"
        ));
    }
    std::fs::write(building.join("requirement.txt"), MOTO_REQUIREMENT).map_err(|e| e.to_string())?;
    // A complete environment in place may be running another process's moto (another test
    // binary, an escalator-ops child): it is never removed, only a stale one is moved aside.
    let complete = || std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == MOTO_REQUIREMENT);
    if std::fs::rename(&building, venv).is_err() {
        if !complete() {
            let aside = parent.join(format!("moto-venv.stale-{}", std::process::id()));
            if std::fs::rename(venv, &aside).is_ok() {
                let _ = std::fs::remove_dir_all(&aside);
            }
            let _ = std::fs::rename(&building, venv);
        }
        // Ours is in place now, or another process's complete one is: use whichever.
        let _ = std::fs::remove_dir_all(&building);
        if !complete() {
            return Err(format!("could not put the moto environment in place at {}", venv.display()));
        }
    }
    Ok(python)
}

impl Moto {
    /// Starts moto's server (with [`moto_python`], one request at a time) on a port the OS picks and
    /// waits until it accepts connections. The port is read from the server's
    /// own start-up line: choosing a free port first and handing it over would race
    /// with other tests doing the same.
    pub fn start() -> Result<Moto, String> {
        Moto::start_with_latency(0)
    }

    /// As [`Moto::start`], with `latency_ms` added to every request (a slow ledger).
    pub fn start_with_latency(latency_ms: u64) -> Result<Moto, String> {
        let python = moto_python()?;
        let mut child = Command::new(&python)
            .args(["-c", SERVER, "127.0.0.1", "0", &latency_ms.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {} (moto server): {e}", python.display()))?;
        let stderr = child.stderr.take().ok_or("moto server: no stderr")?;
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        // Reads the start-up line, then keeps draining: a full pipe would block the server.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line.split("Running on http://127.0.0.1:").nth(1).and_then(|p| p.trim().parse::<u16>().ok()) {
                    let _ = port_tx.send(port);
                }
            }
        });
        let mut moto = Moto { child, url: String::new() };
        let port = match port_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => {
                let status = moto.child.try_wait().ok().flatten();
                return Err(format!("moto server ({}) did not start ({status:?})", python.display()));
            }
        };
        moto.url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                return Err("moto server did not listen within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(moto)
    }

    /// The requests served so far, by DynamoDB operation (`GetItem`, `UpdateItem`, …).
    pub fn calls(&self) -> Result<std::collections::BTreeMap<String, u64>, String> {
        use std::io::{Read, Write};
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).map_err(|e| format!("moto: {e}"))?;
        write!(stream, "GET /_calls HTTP/1.0\r\nHost: {address}\r\n\r\n").map_err(|e| format!("moto: {e}"))?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).map_err(|e| format!("moto: {e}"))?;
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).ok_or("moto: no body in the /_calls answer")?;
        serde_json::from_str(body).map_err(|e| format!("moto /_calls: {e}: {body}"))
    }

    /// Its endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates a ledger table as `template.yaml` does (partition key `pk`, TTL on
    /// `ttl`) and returns a client for it.
    pub async fn create_ledger_table(&self, name: &str) -> Result<aws_sdk_dynamodb::Client, String> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
        };
        let client = aws_sdk_dynamodb::Client::new(&crate::sdk_config_at(&self.url).await);
        let text = |e: &dyn std::fmt::Display| e.to_string();
        client
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().map_err(|e| text(&e))?,
            )
            .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().map_err(|e| text(&e))?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| format!("CreateTable: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().attribute_name("ttl").enabled(true).build().map_err(|e| text(&e))?,
            )
            .send()
            .await
            .map_err(|e| format!("UpdateTimeToLive: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        Ok(client)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
