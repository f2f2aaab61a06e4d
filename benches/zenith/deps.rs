//! `deps [rounds] [--embed] [--cache DIR]`: the dependency tier on this repository's own lock files (its
//! `Cargo.lock`, hundreds of crates from the local registry sources, and the VS Code
//! extension's `package-lock.json`), through the real `znt`:
//! 1. `znt deps index` into an empty cache: names ready, total, symbols, MiB of source, time per
//!    MiB, table sizes, peak RSS (with `--embed`: embeddings too, time to fully embedded);
//! 2. a second workspace with the same lock file: what it re-indexes (nothing) and its time;
//! 3. the name ranking alone in-process, and one-off `znt symbols --scope deps` processes;
//! 4. a real `znt serve` on the repository with `lsp.symbol_scope = "all"`: `workspace/symbol`
//!    p50 / p99 at the default limit over the workspace's and every dependency's names, beside
//!    the same queries with the workspace's names only (a second server, scope private), and
//!    `zenith/search` hybrid with scope `all` (query embedding included) beside scope private.
//!    The servers' own dependency indexer is off (`deps.auto = false`): step 1 did that work.
//!
//! `--cache DIR` uses (and keeps) an existing cache instead of an empty one, e.g. one that
//! `znt deps index` has fully embedded, so that hybrid search reads real vectors.
//! `--rank-loop SECS` stops after step 3's loading and only ranks for SECS (to profile).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const NAME_QUERIES: &[&str] = &[
    "Deserializer",
    "from_str",
    "serde_json::from_str",
    "Client",
    "spawn",
    "RecordBatch",
    "tokio::select",
    "HashMap",
    "DataFrame",
    "read_to_string",
    "Uri",
    "connect",
    "ObjectStore",
    "Tokenizer",
    "parse",
    "Schema",
    "ctx",
    "BufReader",
    "ws",
    "into_iter",
];

/// The dependencies' share of a `workspace/symbol` list at the server's default limit.
const SERVER_SHARE: usize = 1000 / zenith::lsp::DEPS_SHARE;

const SEARCH_QUERIES: &[&str] = &[
    "build an HTTP client with a request timeout",
    "parse a JSON string into a typed value",
    "spawn a task on the async runtime",
    "wait for the first of several futures to complete",
    "read a parquet file into record batches",
    "compute a sha256 digest of bytes",
    "walk a directory tree respecting gitignore",
    "serialize a struct to TOML",
    "retry a request with exponential backoff",
    "split text into word pieces for a tokenizer",
];

fn znt(deps: &Path, workspace: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_znt"));
    command.env("ZENITH_DEPS_DIR", deps).env_remove("ZENITH_TEAM_REMOTE").arg("--workspace").arg(workspace);
    command
}

/// Runs `znt deps index --json`; returns its report, wall time and the child's peak RSS (MB).
fn index(deps: &Path, workspace: &Path, embed: bool) -> (Value, f64, f64) {
    let started = Instant::now();
    let mut command = znt(deps, workspace);
    command.args(["deps", "index", "--json"]);
    if !embed {
        command.arg("--no-embed");
    }
    let output = command.stderr(Stdio::inherit()).output().expect("znt deps index");
    assert!(output.status.success(), "znt deps index failed");
    let seconds = started.elapsed().as_secs_f64();
    // SAFETY: getrusage only writes the struct it is given.
    let peak = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss as f64 / 1024.0
    };
    (serde_json::from_slice(&output.stdout).expect("a JSON report"), seconds, peak)
}

fn dir_mib(dir: &Path) -> f64 {
    zenith::deps::dir_bytes(dir) as f64 / (1024.0 * 1024.0)
}

/// A `znt serve` process with one workspace folder, spoken to over stdio.
struct Lsp {
    child: Child,
    stdin: ChildStdin,
    responses: mpsc::Receiver<Value>,
    next_id: u64,
}

impl Lsp {
    fn start(deps: &Path, workspace: &Path, index: &Path, scope: &str) -> Lsp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_znt"))
            .env("ZENITH_DEPS_DIR", deps)
            .env_remove("ZENITH_TEAM_REMOTE")
            .arg("--index-dir")
            .arg(index)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning znt serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, responses) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let (mut length, mut line) = (0, String::new());
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && !line.trim().is_empty() {
                    if let Some(value) = line.trim().strip_prefix("Content-Length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                if length == 0 || reader.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(message) = serde_json::from_slice::<Value>(&body) else { continue };
                // Responses only (server requests such as window/workDoneProgress/create get none).
                if message.get("id").is_some() && message.get("method").is_none() && tx.send(message).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        let mut lsp = Lsp { child, stdin, responses, next_id: 1 };
        let root = format!("file://{}", workspace.display());
        lsp.request(
            "initialize",
            json!({"processId": null, "rootUri": root, "capabilities": {},
                   "workspaceFolders": [{"uri": root, "name": "bench"}],
                   "initializationOptions": {"lsp": {"symbol_scope": scope}, "deps": {"auto": false}}}),
        );
        lsp.notify("initialized", json!({}));
        lsp
    }

    fn send(&mut self, value: Value) {
        let body = value.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let response = self.responses.recv_timeout(Duration::from_secs(120)).expect("a response");
            if response["id"] == id {
                return response["result"].clone();
            }
        }
    }

    fn wait(&mut self, what: &str, timeout: Duration, mut ready: impl FnMut(&mut Lsp) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ready(self) {
            assert!(Instant::now() < deadline, "{what} did not happen in {timeout:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn latencies(lsp: &mut Lsp, rounds: usize, mut call: impl FnMut(&mut Lsp, usize) -> Value) -> (f64, f64, usize) {
    let mut samples = Vec::new();
    let mut results = 0;
    for round in 0..rounds {
        let started = Instant::now();
        let answer = call(lsp, round);
        samples.push(started.elapsed());
        results += answer.as_array().map_or(0, Vec::len);
    }
    let (p50, p99) = super::percentiles(&mut samples);
    (p50, p99, results / rounds.max(1))
}

fn ready(lsp: &mut Lsp) -> bool {
    let status = lsp.request("zenith/status", Value::Null);
    status.as_array().is_some_and(|folders| {
        !folders.is_empty()
            && folders.iter().all(|f| f["ready"] == true && !f["indexing"].as_bool().unwrap_or(true))
            && folders.iter().all(|f| f["embedded"] == f["symbols"])
    })
}

pub fn run(args: &[String]) {
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(200);
    let embed = args.iter().any(|a| a == "--embed");
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let kept = args.iter().position(|a| a == "--cache").and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let deps = kept.clone().unwrap_or_else(|| scratch.path().join("deps"));
    println!("machine: {}", super::machine());
    println!(
        "corpus: the lock files of {} (Cargo.lock, editors/vscode/package-lock.json, fixtures)",
        repository.display()
    );

    // 1. An empty cache.
    let (report, seconds, peak) = index(&deps, &repository, embed);
    let source_mib = report["source_bytes"].as_f64().unwrap_or(0.0) / (1024.0 * 1024.0);
    let names_ready = report["names_ready_secs"].as_f64().unwrap_or(0.0);
    println!(
        "\n## `znt deps index` into an empty cache{}",
        if embed { " (names, then embeddings)" } else { " (names)" }
    );
    println!(
        "| package versions | indexed | missing | symbols | source MiB | names ready | s / MiB | total | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {source_mib:.1} | {names_ready:.1} s | {} | {seconds:.1} s | {peak:.0} MB |",
        report["packages"],
        report["indexed"],
        report["missing"],
        report["symbols_written"],
        if source_mib > 0.0 { format!("{:.3}", names_ready / source_mib) } else { "— (nothing new)".into() },
    );
    if embed {
        println!("embedded {} symbols; total (names + vectors) {seconds:.1} s", report["embedded"]);
    }
    println!(
        "tables: packages {:.1} MiB, search catalog {:.1} MiB",
        dir_mib(&deps.join("packages")),
        dir_mib(&deps.join("catalog"))
    );

    // 2. A second workspace with an overlapping (here: the same) lock file.
    let second = scratch.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::copy(repository.join("Cargo.lock"), second.join("Cargo.lock")).unwrap();
    let (report, seconds, _) = index(&deps, &second, false);
    println!("\n## A second workspace with the same Cargo.lock");
    println!(
        "{} package versions: {} indexed again, {} reused, {} missing; {seconds:.1} s (names ready {:.1} s)",
        report["packages"],
        report["indexed"],
        report["reused"],
        report["missing"],
        report["names_ready_secs"].as_f64().unwrap_or(0.0)
    );

    // 3. The name ranking alone, in-process, on exactly the names the server holds.
    let scope = zenith::deps::DepsScope::load(&zenith::deps::Cache::at(&deps), &repository).expect("a scope");
    let engine = zenith::query::Engine::shared().unwrap();
    let started = Instant::now();
    let names = zenith::deps::DepsNames::load(scope, &engine).unwrap();
    let built = started.elapsed().as_secs_f64();
    if let Some(seconds) = args.iter().position(|a| a == "--rank-loop").and_then(|i| args.get(i + 1)?.parse().ok()) {
        // For a profiler (`perf record -p`): rank the queries at the server's share, nothing else.
        let until = Instant::now() + Duration::from_secs(seconds);
        eprintln!("ranking for {seconds} s (pid {})", std::process::id());
        for query in NAME_QUERIES.iter().cycle() {
            std::hint::black_box(names.search(query, SERVER_SHARE, &|_| true));
            if Instant::now() > until {
                return;
            }
        }
    }
    // A package's own index is cut on the first query that names it, as in the server.
    let started = Instant::now();
    std::hint::black_box(names.search("tokio::select", 1000, &|_| true));
    let first_package = started.elapsed().as_secs_f64() * 1000.0;
    let mut samples = Vec::new();
    for round in 0..rounds {
        let started = Instant::now();
        std::hint::black_box(names.search(NAME_QUERIES[round % NAME_QUERIES.len()], 1000, &|_| true));
        samples.push(started.elapsed());
    }
    let (rank_p50, rank_p99) = super::percentiles(&mut samples);
    println!(
        "\n## The name ranking alone (in-process, strict as the server ranks dependencies, limit 1000)\n{} dependency names loaded and indexed in {built:.1} s; \
         p50 {rank_p50:.2} ms, p99 {rank_p99:.2} ms; the first `tokio::` query (cuts tokio's own index) {first_package:.1} ms",
        names.len()
    );
    // Per query, at the server's share for dependencies (a tenth of the default limit).
    let mut slowest: Vec<(f64, &str)> = NAME_QUERIES
        .iter()
        .map(|query| {
            let mut times: Vec<Duration> = (0..9)
                .map(|_| {
                    let started = Instant::now();
                    std::hint::black_box(names.search(query, SERVER_SHARE, &|_| true));
                    started.elapsed()
                })
                .collect();
            (super::percentiles(&mut times).0, *query)
        })
        .collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let shown: Vec<String> = slowest.iter().take(6).map(|(ms, q)| format!("{q:?} {ms:.2} ms")).collect();
    println!("slowest queries at limit {SERVER_SHARE} (median of 9): {}", shown.join(", "));
    drop(names);

    // 4. One-off `znt symbols --scope deps` (the CLI reads only the names that can match).
    let mut cli = Vec::new();
    for query in NAME_QUERIES.iter().take(8) {
        let started = Instant::now();
        let output = znt(&deps, &repository)
            .args(["symbols", query, "--scope", "deps", "--json", "--limit", "50"])
            .output()
            .expect("znt symbols");
        assert!(matches!(output.status.code(), Some(0 | 1)), "znt symbols {query}");
        cli.push(started.elapsed());
    }
    let (cli_p50, cli_max) = super::percentiles(&mut cli);
    println!(
        "\n## `znt symbols QUERY --scope deps --json` (one process per query, 8 queries)\np50 {cli_p50:.0} ms, max {cli_max:.0} ms"
    );

    // 5. Through the real server.
    let index_dir = scratch.path().join("index");
    let mut all = Lsp::start(&deps, &repository, &index_dir, "all");
    all.wait("the workspace index", Duration::from_secs(1800), ready);
    all.wait("the dependencies' names", Duration::from_secs(600), |lsp| {
        let found = lsp.request("workspace/symbol", json!({"query": "serde_json::from_str"}));
        found.as_array().is_some_and(|f| !f.is_empty())
    });
    let rss_all = all.rss_mb();
    let symbol = |lsp: &mut Lsp, round: usize| {
        lsp.request("workspace/symbol", json!({"query": NAME_QUERIES[round % NAME_QUERIES.len()]}))
    };
    let (all_p50, all_p99, all_results) = latencies(&mut all, rounds, symbol);
    let search = |scope: &'static str| {
        move |lsp: &mut Lsp, round: usize| {
            let query = SEARCH_QUERIES[round % SEARCH_QUERIES.len()];
            lsp.request("zenith/search", json!({"query": query, "mode": "hybrid", "scope": scope, "limit": 10}))
        }
    };
    let hybrid_rounds = (rounds / 4).max(SEARCH_QUERIES.len());
    let (hybrid_all_p50, hybrid_all_p99, _) = latencies(&mut all, hybrid_rounds, search("all"));
    let (hybrid_private_p50, hybrid_private_p99, _) = latencies(&mut all, hybrid_rounds, search("private"));
    let examples: Vec<String> = SEARCH_QUERIES[..3]
        .iter()
        .map(|query| {
            let hits =
                all.request("zenith/search", json!({"query": query, "mode": "hybrid", "scope": "all", "limit": 3}));
            let shown: Vec<String> = hits
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| {
                    let origin = h["package"]["name"].as_str().map(|p| format!("[{p}] ")).unwrap_or_default();
                    format!("{origin}{}", h["qualifiedName"].as_str().unwrap_or(""))
                })
                .collect();
            format!("  {query:?} → {}", shown.join(" · "))
        })
        .collect();
    drop(all);
    let mut private = Lsp::start(&deps, &repository, &index_dir, "private");
    private.wait("the workspace index", Duration::from_secs(600), ready);
    let (private_p50, private_p99, private_results) = latencies(&mut private, rounds, symbol);
    drop(private);

    println!("\n## Through `znt serve` ({rounds} workspace/symbol queries, {hybrid_rounds} searches each)");
    println!("| request | scope | p50 ms | p99 ms | results |");
    println!("|---|---|---|---|---|");
    println!(
        "| workspace/symbol (limit 1000) | all (workspace + dependencies) | {all_p50:.2} | {all_p99:.2} | {all_results} |"
    );
    println!(
        "| workspace/symbol (limit 1000) | private (peer) | {private_p50:.2} | {private_p99:.2} | {private_results} |"
    );
    println!(
        "| zenith/search hybrid, query embedding included | all | {hybrid_all_p50:.1} | {hybrid_all_p99:.1} | 10 |"
    );
    println!(
        "| zenith/search hybrid, query embedding included | private (peer) | {hybrid_private_p50:.1} | {hybrid_private_p99:.1} | 10 |"
    );
    println!("server RSS with every dependency name in memory: {rss_all:.0} MB");
    println!("examples (scope all):\n{}", examples.join("\n"));
}
