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

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
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

    /// Every object of the bucket with its bytes (what a push or an `s3://` index uploaded),
    /// read with boto3 (a real S3 client; moto depends on it), signed like any client.
    pub fn objects(&self) -> Vec<(String, Vec<u8>)> {
        let dump = tempfile::tempdir().unwrap();
        let script = r#"
import os, sys, boto3
endpoint, bucket, out = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    for item in page.get("Contents", []):
        target = os.path.join(out, item["Key"])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        s3.download_file(bucket, item["Key"], target)
"#;
        let output = Command::new("python3")
            .args(["-c", script, &self.endpoint, &self.bucket])
            .arg(dump.path())
            .output()
            .expect("python3 with boto3 (installed with moto by scripts/setup)");
        assert!(output.status.success(), "reading the bucket: {}", String::from_utf8_lossy(&output.stderr));
        files_under(dump.path())
            .into_iter()
            .map(|path| {
                let key = path.strip_prefix(dump.path()).unwrap().to_string_lossy().into_owned();
                (key, std::fs::read(&path).unwrap())
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
