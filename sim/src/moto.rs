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
