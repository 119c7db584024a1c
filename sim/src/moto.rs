//! An independent DynamoDB on loopback for the ledger's tests and benchmark:
//! moto's server (PyPI `moto[server]`), run as a child process. Independent on
//! purpose: the ledger's conditional writes are checked against someone else's
//! implementation of DynamoDB, not against one written to agree with them.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; stopped when dropped.
pub struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    /// Starts `python3 -m moto.server` (or `$MOTO_PYTHON`) on a port the OS picks
    /// and waits until it accepts connections. The port is read from the server's
    /// own start-up line: choosing a free port first and handing it over would race
    /// with other tests doing the same.
    pub fn start() -> Result<Moto, String> {
        let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let mut child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {python} -m moto.server: {e} (pip install 'moto[server]')"))?;
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
                return Err(format!("moto server did not start ({status:?}): is it installed? pip install 'moto[server]'"));
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
