//! Shared fixtures: deterministic synthetic symbols, the shared DuckDB engine and a real
//! S3-compatible server on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zenith::query::Engine;
use zenith::symbols::Symbol;
pub use zenith::synthetic::*;

/// The process-wide engine (lance extension loaded once, as in the product).
pub fn engine() -> Arc<Engine> {
    Engine::shared().expect("the lance extension must be available (run scripts/setup)")
}

/// Symbols in a form two indexes of the same tree agree on: write times and vectors cleared,
/// sorted by id (the differential check of the daemon compares these).
pub fn comparable(mut symbols: Vec<Symbol>) -> Vec<Symbol> {
    for symbol in &mut symbols {
        symbol.indexed_at = 0;
        symbol.embedding = None;
    }
    symbols.sort_by(|a, b| a.id.cmp(&b.id));
    symbols
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A real S3-compatible server (moto) on a free loopback port, with one bucket; killed on drop.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
}

impl S3Server {
    pub fn start(bucket: &str) -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let program = std::env::var("ZENITH_TEST_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_string());
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program} (pip install 'moto[server]'): {e}"));
        let server = S3Server { child, endpoint: format!("http://127.0.0.1:{port}"), bucket: bucket.to_string() };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if server.request("PUT", &format!("/{bucket}")).is_ok_and(|status| status == 200) {
                return server;
            }
            assert!(Instant::now() < deadline, "moto_server did not come up on port {port}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A bare HTTP/1.1 request (moto accepts unsigned bucket creation); returns the status.
    fn request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok(status)
    }

    /// Storage options for lancedb (the same keys `StoreConfig::new` derives from AWS_* vars).
    pub fn storage_options(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "testing"),
            ("aws_secret_access_key", "testing"),
            ("allow_http", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
