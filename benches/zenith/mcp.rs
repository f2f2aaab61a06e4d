//! `mcp [symbols]`: the MCP server as an agent meets it. A workspace of real code (crates of the
//! cargo registry, copied until their symbols reach the target, 100 000 by default) is indexed
//! with `znt index` (names and embeddings), then a real `znt mcp` process is driven over stdio
//! with JSON-RPC: latency p50 / p99 of each tool (the client's round trip, query embedding
//! included) and the size of its answers in tokens (characters / 4).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Copies whole crates of the registry into `workspace` until their symbols reach `target`.
pub fn registry_workspace(workspace: &Path, target: usize) -> (usize, usize) {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    let mut crates: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .expect("the cargo registry's sources (~/.cargo/registry/src)")
        .flatten()
        .flat_map(|index| std::fs::read_dir(index.path()).into_iter().flatten().flatten().map(|e| e.path()))
        .collect();
    crates.sort();
    let limits = zenith::parse::ParseLimits::default();
    let (mut symbols, mut copied) = (0, 0);
    for krate in crates {
        if symbols >= target {
            break;
        }
        let name = krate.file_name().unwrap().to_string_lossy().into_owned();
        for entry in walk(&krate) {
            // Stop at the target, inside the last crate if need be (one large crate would
            // otherwise overshoot it by tens of thousands of symbols).
            if symbols >= target {
                break;
            }
            let relative = entry.strip_prefix(&krate).unwrap();
            let Ok(bytes) = std::fs::read(&entry) else { continue };
            let Ok(parsed) = zenith::parse::parse(relative, &bytes, &limits) else { continue };
            let path = format!("{name}/{}", relative.display());
            symbols += zenith::symbols::extract_symbols(&path, &parsed, "", 0).symbols.len();
            let destination = workspace.join(&path);
            std::fs::create_dir_all(destination.parent().unwrap()).unwrap();
            std::fs::write(destination, &bytes).unwrap();
        }
        copied += 1;
    }
    (copied, symbols)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() && !entry.file_name().to_string_lossy().starts_with('.') {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

/// A `znt mcp` process spoken to in newline-delimited JSON-RPC, one request at a time.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Server {
    fn start(workspace: &Path, index: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_znt"))
            .arg("--index-dir")
            .arg(index)
            .arg("--workspace")
            .arg(workspace)
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning znt mcp");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut server = Server { child, stdin, stdout, next_id: 1 };
        server.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}),
        );
        server.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        server
    }

    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "znt mcp closed its output");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// Calls a tool; returns its text and whether it was an error.
    fn call(&mut self, tool: &str, arguments: Value) -> (String, bool) {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        let result = &response["result"];
        let text = result["content"].as_array().map_or(String::new(), |content| {
            content.iter().filter_map(|c| c["text"].as_str()).collect::<Vec<_>>().join("")
        });
        (text, result["isError"].as_bool().unwrap_or(false))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NAME_QUERIES: &[&str] = &[
    "new",
    "parse",
    "from_str",
    "HashMap",
    "serialize",
    "Error",
    "read_to_end",
    "spawn",
    "tok",
    "ser_str",
    "BTreeMap",
    "into_iter",
    "fmt",
    "decode",
    "Builder",
    "poll_next",
    "as_bytes",
    "utf8",
    "Visitor",
    "deserialize_any",
];

const CODE_QUERIES: &[&str] = &[
    "parse a number from a string",
    "serialize a map to json",
    "read all bytes from a file",
    "spawn a thread and wait for it",
    "encode bytes as base64",
    "compare two strings ignoring case",
    "format a value for display",
    "hash a slice of bytes",
    "iterate over the entries of a directory",
    "convert utf-8 bytes to a string",
    "sort a vector with a key",
    "retry a failed operation",
    "allocate a buffer with capacity",
    "escape special characters",
    "error when the input ends early",
    "build a request with headers",
    "lock a mutex and update a counter",
    "check whether a path exists",
    "split a string on whitespace",
    "write a number in hexadecimal",
];

pub fn run(args: &[String]) {
    let target: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let calls: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (crates, extracted) = registry_workspace(workspace.path(), target);
    println!("machine: {}", super::machine());
    println!(
        "workspace: {crates} crates of the cargo registry, {extracted} symbols by extraction (copied in {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_znt"))
        .arg("--index-dir")
        .arg(index.path())
        .arg("index")
        .arg(workspace.path())
        .stderr(Stdio::inherit())
        .status()
        .expect("znt index");
    assert!(status.success());
    println!("`znt index` (names + embeddings): {:.0} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut server = Server::start(workspace.path(), index.path());
    // Until the startup reconcile is done (it checks the whole workspace against the index).
    loop {
        let (text, _) = server.call("index_status", json!({}));
        if text.contains("role: writer (") {
            println!(
                "{}",
                text.lines()
                    .filter(|l| l.starts_with("files") || l.starts_with("symbols"))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("`znt mcp` ready as the writer after {:.1} s", started.elapsed().as_secs_f64());
    // Warm: the first search loads the model's query path and the dataset.
    server.call("search_code", json!({"query": "warm up"}));
    server.call("search_symbols", json!({"query": "warm"}));

    let (mut ids, mut paths) = (Vec::new(), Vec::new());
    let mut rows: Vec<(&str, Samples)> = Vec::new();
    let names = |i: usize| json!({"query": NAME_QUERIES[i % NAME_QUERIES.len()]});
    rows.push(("search_symbols", measure(&mut server, "search_symbols", calls, names, &mut ids, &mut paths)));
    let code = |i: usize| json!({"query": CODE_QUERIES[i % CODE_QUERIES.len()]});
    rows.push(("search_code (hybrid)", measure(&mut server, "search_code", calls, code, &mut ids, &mut paths)));
    let words = |i: usize| json!({"query": CODE_QUERIES[i % CODE_QUERIES.len()], "mode": "fulltext"});
    rows.push(("search_code (fulltext)", measure(&mut server, "search_code", calls, words, &mut ids, &mut paths)));
    ids.sort();
    ids.dedup();
    paths.sort();
    paths.dedup();
    let symbol = |i: usize| json!({"symbol": format!("#{}", ids[(i * 7) % ids.len()])});
    rows.push(("get_symbol", measure(&mut server, "get_symbol", calls, symbol, &mut Vec::new(), &mut Vec::new())));
    let outline = |i: usize| json!({"path": paths[(i * 7) % paths.len()]});
    rows.push(("file_outline", measure(&mut server, "file_outline", calls, outline, &mut Vec::new(), &mut Vec::new())));
    let status = |_: usize| json!({});
    rows.push(("index_status", measure(&mut server, "index_status", calls, status, &mut Vec::new(), &mut Vec::new())));
    println!("\n{calls} calls per tool through `znt mcp` over stdio (client round trip):");
    println!("| tool | p50 ms | p99 ms | tokens per answer: median / p90 / max |");
    println!("|---|---|---|---|");
    for (tool, (mut latencies, mut tokens)) in rows {
        let (p50, p99) = super::percentiles(&mut latencies);
        tokens.sort();
        let at = |q: f64| tokens[((tokens.len() - 1) as f64 * q).round() as usize];
        println!("| {tool} | {p50:.1} | {p99:.1} | {} / {} / {} |", at(0.5), at(0.9), tokens[tokens.len() - 1]);
    }
}

/// Round-trip times and answer sizes (tokens) of one tool's calls.
type Samples = (Vec<Duration>, Vec<usize>);

/// `calls` calls of `tool`; collects the `#id`s and paths of the results it lists.
fn measure(
    server: &mut Server,
    tool: &str,
    calls: usize,
    arguments: impl Fn(usize) -> Value,
    ids: &mut Vec<String>,
    paths: &mut Vec<String>,
) -> Samples {
    let (mut latencies, mut tokens) = (Vec::new(), Vec::new());
    for i in 0..calls {
        let arguments = arguments(i);
        let started = Instant::now();
        let (text, is_error) = server.call(tool, arguments.clone());
        latencies.push(started.elapsed());
        assert!(!is_error, "{tool} {arguments}: {text}");
        tokens.push(text.chars().count().div_ceil(4));
        // Result lines: `path:line  kind  qualified  #id`.
        for line in text.lines() {
            if let Some((location, rest)) = line.split_once("  ")
                && let Some((_, id)) = rest.rsplit_once('#')
                && let Some((path, _)) = location.rsplit_once(':')
            {
                ids.push(id.trim().to_string());
                paths.push(path.to_string());
            }
        }
    }
    (latencies, tokens)
}
