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
        Ok(self.exchange(method, path)?.0)
    }

    /// A bare HTTP/1.1 request; returns the status and the (de-chunked) body.
    fn exchange(&self, method: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(response.len());
        let head = String::from_utf8_lossy(&response[..split]).to_string();
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut body = response.get(split + 4..).unwrap_or_default().to_vec();
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            let mut decoded = Vec::new();
            let mut rest = &body[..];
            while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16).unwrap_or(0);
                if size == 0 {
                    break;
                }
                decoded.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
                rest = &rest[line_end + 2 + size + 2..];
            }
            body = decoded;
        }
        Ok((status, body))
    }

    /// Every object of the bucket with its bytes (what a push or an `s3://` index uploaded).
    pub fn objects(&self) -> Vec<(String, Vec<u8>)> {
        let (status, listing) = self.exchange("GET", &format!("/{}?list-type=2&max-keys=1000", self.bucket)).unwrap();
        assert_eq!(status, 200, "listing the bucket: {}", String::from_utf8_lossy(&listing));
        let listing = String::from_utf8_lossy(&listing).to_string();
        assert!(!listing.contains("<IsTruncated>true"), "more than 1000 objects");
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|part| part.split("</Key>").next())
            .map(|key| {
                let key = key.replace("&amp;", "&");
                let encoded: String = key
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                let (status, bytes) = self.exchange("GET", &format!("/{}/{encoded}", self.bucket)).unwrap();
                assert_eq!(status, 200, "reading {key}");
                (key, bytes)
            })
            .collect()
    }

    /// The environment a `znt` process needs to reach this server with `s3://` URIs.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
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
