//! Zenith's benchmarks, one binary (each binary links the whole dependency graph).
//!
//! `cargo bench --bench zenith -- <name> [args]`, where name is:
//! - `store [rows]`: vector / full-text / hybrid top-10 latency through DuckDB's lance extension
//!   vs the same queries made directly with lancedb, at 100k rows by default, and recall@10 of
//!   the DuckDB vector path against brute force.
//! - `symbols <dir> [rounds]`: the symbol stage alone on trees parsed beforehand (profiling).
//! - `extract <dir>…`: symbol extraction throughput (MB/s, files/s, symbols/s) beside bare
//!   tree-sitter parsing and universal-ctags on the same files.
//! - `embed [texts]`: symbols embedded per second and query-embedding latency.
//! - `names [symbols]`: workspace/symbol ranking latency over a synthetic name set.
//! - `daemon [files]`: save → visible latency, restart on an unchanged workspace, RSS, and name
//!   search latency while a large re-index runs.
//! - `rss [files] [seconds]`: resident memory of a real `znt serve` process (the language server,
//!   which holds the writer, the name index and the model) indexing a workspace.
//! - `fuzz [seconds]`: mutation fuzzing of parse → symbols over real files (no panics allowed).
//! - `secrets [dir]…`: false positives of the content redaction on real code: the share of
//!   symbols whose signature or doc had a value redacted (default: Python's standard library and
//!   the cargo registry's sources), with examples.
//! - `sql [rows]`: what the `znt sql` sandbox costs: a query through the sandbox (copy of the
//!   pinned table version into a database without the lance extension) beside the same query run
//!   directly on the main database, at 100k embedded rows by default.
//! - `mcp [symbols] [calls]`: the MCP server through a real `znt mcp` over stdio on crates of the
//!   cargo registry (100 000 symbols by default): latency p50 / p99 and tokens per answer of
//!   each tool.
//! - `team [symbols] [rounds] [--reuse DIR]`: the team tier against moto on loopback through
//!   `znt` on crates of the cargo registry (20 000 symbols by default): push, a fresh clone's
//!   reuse against a fresh index, bytes uploaded for a one-file edit, a `git checkout` of ~1 000
//!   files, hybrid search with scope `all` over three team repositories. `--reuse DIR` keeps
//!   the corpus and its fresh index in DIR for the next run (the peer's time is kept with them).
//! - `deps [rounds] [--embed]`: the dependency tier on this repository's own lock files through
//!   `znt deps index` and `znt serve`: names-ready time, reuse by a second workspace,
//!   `workspace/symbol` and hybrid `zenith/search` latency with every dependency in scope.
//! - `quality`: search quality on Python standard-library modules: success@10 and MRR@10 of
//!   semantic, full-text and hybrid search for the questions in `benches/data/search_quality.json`,
//!   and of alternative embedding texts.
//!
//! Every figure in docs/benchmarks.md comes from one of these commands.

use std::time::{Duration, Instant};

#[path = "zenith/deps.rs"]
mod deps;
#[path = "zenith/mcp.rs"]
mod mcp;
#[path = "zenith/team.rs"]
mod team;

fn main() {
    // cargo passes `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let name = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    match name {
        "store" => store::run(rest),
        "extract" => extract::run(rest),
        "symbols" => extract::symbol_stage(rest),
        "embed" => embed::run(rest),
        "names" => names::run(rest),
        "daemon" => daemon::run(rest),
        "fuzz" => fuzz::run(rest),
        "quality" => quality::run(rest),
        "delta" => daemon::breakdown(rest),
        "rss" => daemon::server_rss(rest),
        "secrets" => secrets::run(rest),
        "sql" => sql::run(rest),
        "mcp" => mcp::run(rest),
        "team" => team::run(rest),
        "deps" => deps::run(rest),
        _ => eprintln!("usage: cargo bench --bench zenith -- <store|extract|embed|names|daemon|fuzz> [args]"),
    }
}

/// p50 / p99 of a latency sample, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{} cores, {cpu}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

mod store {
    use super::*;
    use futures::TryStreamExt;
    use lancedb::index::scalar::FullTextSearchQuery;
    use lancedb::query::{ExecutableQuery, QueryBase, QueryExecutionOptions, Select};
    use zenith::query::{Engine, SearchMode, SearchRequest};
    use zenith::store::{Store, StoreConfig};
    use zenith::synthetic::{brute_force_top_k, embedded_symbols, queries_near};

    pub fn run(args: &[String]) {
        let rows: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
        let queries = 200;
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::new(dir.path().join("index").to_string_lossy().into_owned());
        let store = runtime.block_on(Store::open(&config)).unwrap();
        let started = Instant::now();
        let symbols = embedded_symbols(0, rows, rows / 10 + 1, 42);
        for chunk in symbols.chunks(10_000) {
            runtime.block_on(store.add(chunk)).unwrap();
        }
        let write = started.elapsed();
        let started = Instant::now();
        runtime.block_on(store.optimize(Duration::ZERO)).unwrap();
        runtime.block_on(store.refresh_indexes()).unwrap();
        let indexing = started.elapsed();
        println!("machine: {}", machine());
        println!(
            "rows: {rows}; write {:.1}s; optimize + IVF-PQ + FTS index {:.1}s",
            write.as_secs_f64(),
            indexing.as_secs_f64()
        );

        let engine = Engine::shared().unwrap();
        let dataset = store.dataset_uri();
        let query_vectors = queries_near(&symbols, queries, 7);
        let words: Vec<String> = (0..queries).map(|i| format!("marker{}", (i * 7919) % rows)).collect();
        // Warm both paths (first open of the dataset, index loading).
        let warm = SearchRequest::new(SearchMode::Hybrid, &words[0], Some(query_vectors[0].clone()));
        engine.search(&dataset, &warm).unwrap();

        let version = runtime.block_on(store.version()).unwrap();
        let mut pinned_vector = Vec::new();
        let mut pinned_hybrid = Vec::new();
        for (word, vector) in words.iter().zip(&query_vectors) {
            let request = SearchRequest::new(SearchMode::Semantic, "", Some(vector.clone()));
            let started = Instant::now();
            engine.search_at(&dataset, version, &request).unwrap();
            pinned_vector.push(started.elapsed());
            let request = SearchRequest::new(SearchMode::Hybrid, word, Some(vector.clone()));
            let started = Instant::now();
            engine.search_at(&dataset, version, &request).unwrap();
            pinned_hybrid.push(started.elapsed());
        }
        let mut recall_hits = 0;
        let mut duck_vector = Vec::new();
        for vector in &query_vectors {
            let request = SearchRequest::new(SearchMode::Semantic, "", Some(vector.clone()));
            let started = Instant::now();
            let hits = engine.search(&dataset, &request).unwrap();
            duck_vector.push(started.elapsed());
            let exact = brute_force_top_k(&symbols, vector, 10);
            recall_hits += hits.iter().filter(|h| exact.contains(&h.id)).count();
        }
        let recall = recall_hits as f64 / (queries * 10) as f64;
        let mut duck_fts = Vec::new();
        for word in &words {
            let request = SearchRequest::new(SearchMode::Fulltext, word, None);
            let started = Instant::now();
            engine.search(&dataset, &request).unwrap();
            duck_fts.push(started.elapsed());
        }
        let mut duck_hybrid = Vec::new();
        for (word, vector) in words.iter().zip(&query_vectors) {
            let request = SearchRequest::new(SearchMode::Hybrid, word, Some(vector.clone()));
            let started = Instant::now();
            engine.search(&dataset, &request).unwrap();
            duck_hybrid.push(started.elapsed());
        }

        let table = store.lancedb_table().clone();
        let columns = ["id", "path", "name", "qualified_name", "kind", "signature", "start_line"];
        let mut lance_vector = Vec::new();
        let mut lance_fts = Vec::new();
        let mut lance_hybrid = Vec::new();
        runtime.block_on(async {
            for vector in &query_vectors {
                let started = Instant::now();
                let _: Vec<arrow_array::RecordBatch> = table
                    .query()
                    .nearest_to(vector.as_slice())
                    .unwrap()
                    .distance_type(lancedb::DistanceType::Cosine)
                    .nprobes(20)
                    .unwrap()
                    .refine_factor(60)
                    .limit(10)
                    .select(Select::columns(&columns))
                    .execute()
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                lance_vector.push(started.elapsed());
            }
            for word in &words {
                let started = Instant::now();
                let _: Vec<arrow_array::RecordBatch> = table
                    .query()
                    .full_text_search(FullTextSearchQuery::new(word.clone()))
                    .limit(10)
                    .select(Select::columns(&columns))
                    .execute()
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                lance_fts.push(started.elapsed());
            }
            for (word, vector) in words.iter().zip(&query_vectors) {
                let started = Instant::now();
                let _: Vec<arrow_array::RecordBatch> = table
                    .query()
                    .full_text_search(FullTextSearchQuery::new(word.clone()))
                    .nearest_to(vector.as_slice())
                    .unwrap()
                    .distance_type(lancedb::DistanceType::Cosine)
                    .nprobes(20)
                    .unwrap()
                    .refine_factor(10)
                    .limit(10)
                    .select(Select::columns(&columns))
                    .execute_hybrid(QueryExecutionOptions::default())
                    .await
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                lance_hybrid.push(started.elapsed());
            }
        });
        println!(
            "| query (top 10, {rows} rows) | DuckDB + lance ext p50 / p99 ms | lancedb direct p50 / p99 ms | ratio p50 |"
        );
        println!("|---|---|---|---|");
        for (label, duck, lance) in [
            ("vector (IVF-PQ, nprobes 20, refine 60: the default)", &mut duck_vector, &mut lance_vector),
            ("full-text (BM25)", &mut duck_fts, &mut lance_fts),
            ("hybrid (refine 10: the default)", &mut duck_hybrid, &mut lance_hybrid),
        ] {
            let (d50, d99) = percentiles(duck);
            let (l50, l99) = percentiles(lance);
            println!("| {label} | {d50:.2} / {d99:.2} | {l50:.2} / {l99:.2} | {:.2}× |", d50 / l50);
        }
        for (label, duck, lance) in [
            ("vector, connection pinned to the table version", &mut pinned_vector, &mut lance_vector),
            ("hybrid, connection pinned to the table version", &mut pinned_hybrid, &mut lance_hybrid),
        ] {
            let (d50, d99) = percentiles(duck);
            let (l50, l99) = percentiles(lance);
            println!("| {label} | {d50:.2} / {d99:.2} | {l50:.2} / {l99:.2} | {:.2}× |", d50 / l50);
        }
        println!("recall@10 of the DuckDB vector path vs brute force (default effort): {recall:.3}");
        println!("| nprobes | refine factor | recall@10 | p50 ms (pinned) |");
        println!("|---|---|---|---|");
        for (nprobes, refine) in [(20, 10), (20, 30), (20, 60), (48, 60)] {
            let mut hits_found = 0;
            let mut samples = Vec::new();
            for vector in &query_vectors {
                let mut request = SearchRequest::new(SearchMode::Semantic, "", Some(vector.clone()));
                request.nprobes = nprobes;
                request.refine_factor = refine;
                let started = Instant::now();
                let hits = engine.search_at(&dataset, version, &request).unwrap();
                samples.push(started.elapsed());
                let exact = brute_force_top_k(&symbols, vector, 10);
                hits_found += hits.iter().filter(|h| exact.contains(&h.id)).count();
            }
            let (p50, _) = percentiles(&mut samples);
            println!("| {nprobes} | {refine} | {:.3} | {p50:.2} |", hits_found as f64 / (queries * 10) as f64);
        }
        // zenith/search in hybrid mode includes embedding the query text.
        if let Ok(model) = zenith::assets::model_dir() {
            let embedder = zenith::embed::Embedder::load(&model, zenith::embed::EmbedConfig::default()).unwrap();
            let mut end_to_end = Vec::new();
            for (i, word) in words.iter().enumerate() {
                let text = format!("compute the value {word} for input {i}");
                let started = Instant::now();
                let vector = embedder.embed_query(&text).unwrap();
                let request = SearchRequest::new(SearchMode::Hybrid, &text, Some(vector));
                engine.search_at(&dataset, version, &request).unwrap();
                end_to_end.push(started.elapsed());
            }
            let (e50, e99) = percentiles(&mut end_to_end);
            println!(
                "hybrid search including query embedding (zenith/search path), {rows} rows: p50 {e50:.2} ms, p99 {e99:.2} ms"
            );
        }
    }
}

mod sql {
    use super::*;
    use zenith::query::Engine;
    use zenith::store::{Store, StoreConfig};
    use zenith::synthetic::embedded_symbols;

    pub fn run(args: &[String]) {
        let rows: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::new(dir.path().join("index").to_string_lossy().into_owned());
        let store = runtime.block_on(Store::open(&config)).unwrap();
        for chunk in embedded_symbols(0, rows, rows / 10 + 1, 42).chunks(10_000) {
            runtime.block_on(store.add(chunk)).unwrap();
        }
        runtime.block_on(store.optimize(Duration::ZERO)).unwrap();
        runtime.block_on(store.refresh_indexes()).unwrap();
        let engine = Engine::shared().unwrap();
        let dataset = store.dataset_uri();
        println!("machine: {}", machine());
        println!("rows: {rows} (384-d vectors on every row)");
        let queries = [
            "SELECT count(*) FROM symbols",
            "SELECT language, count(*) FROM symbols WHERE doc IS NULL GROUP BY ALL",
            "SELECT name FROM symbols_fts('marker17', 10)",
        ];
        for query in queries {
            let direct = query
                .replace(
                    "FROM symbols_fts('marker17', 10)",
                    &format!("FROM lance_fts('{dataset}', 'search_text', 'marker17', k = 10)"),
                )
                .replace("FROM symbols", &format!("FROM '{dataset}'"));
            let mut sandboxed = Vec::new();
            let mut plain = Vec::new();
            for _ in 0..5 {
                let started = Instant::now();
                engine.read_only_sql(&dataset, query).unwrap();
                sandboxed.push(started.elapsed());
                let connection = engine.connect().unwrap();
                let started = Instant::now();
                let _: Vec<_> = connection.prepare(&direct).unwrap().query_arrow([]).unwrap().collect();
                plain.push(started.elapsed());
            }
            let (sandbox_p50, _) = percentiles(&mut sandboxed);
            let (plain_p50, _) = percentiles(&mut plain);
            println!("{query}: sandbox p50 {sandbox_p50:.0} ms, direct on the main database p50 {plain_p50:.1} ms");
        }
    }
}

mod secrets {
    use std::path::{Path, PathBuf};
    use zenith::parse::{ParseLimits, parse};
    use zenith::symbols::extract_symbols;

    /// Python's standard library (the interpreter's own `lib/pythonX.Y`, without site-packages).
    fn python_stdlib() -> Option<PathBuf> {
        let output = std::process::Command::new("python3")
            .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
            .output()
            .ok()?;
        Some(PathBuf::from(String::from_utf8(output.stdout).ok()?.trim()))
    }

    pub fn run(args: &[String]) {
        let corpora: Vec<Vec<String>> = if args.is_empty() {
            let stdlib = python_stdlib().expect("python3 for the standard library's path");
            let stdlib_dirs: Vec<String> = std::fs::read_dir(&stdlib)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n != "site-packages"))
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let home = std::env::var("CARGO_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
            vec![stdlib_dirs, vec![home.join("registry/src").to_string_lossy().into_owned()]]
        } else {
            args.iter().map(|a| vec![a.clone()]).collect()
        };
        println!("machine: {}", super::machine());
        for dirs in corpora {
            let files = super::extract::collect(&dirs);
            let (mut symbols, mut redacted) = (0usize, 0usize);
            let mut examples = Vec::new();
            for (path, bytes) in &files {
                let Ok(parsed) = parse(path, bytes, &ParseLimits::default()) else { continue };
                for symbol in extract_symbols(&path.to_string_lossy(), &parsed, "h", 0).symbols {
                    symbols += 1;
                    let marked = |text: &str| text.contains(zenith::redact::REDACTED);
                    if marked(&symbol.signature) || symbol.doc.as_deref().is_some_and(marked) {
                        redacted += 1;
                        if examples.len() < 12 {
                            let short: String = symbol.signature.chars().take(110).collect();
                            examples.push(format!("{}: {short}", Path::new(&symbol.path).display()));
                        }
                    }
                }
            }
            let root = if dirs.len() == 1 { dirs[0].clone() } else { format!("{} directories", dirs.len()) };
            println!(
                "{root}: {} files, {symbols} symbols, {redacted} with a redacted value ({:.4} %)",
                files.len(),
                100.0 * redacted as f64 / symbols.max(1) as f64
            );
            for example in examples {
                println!("  {example}");
            }
        }
    }
}

mod extract {
    use super::*;
    use std::path::{Path, PathBuf};
    use zenith::parse::{Language, ParseLimits, parse, parse_text};
    use zenith::symbols::extract_symbols;

    pub(super) fn collect(dirs: &[String]) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        for dir in dirs {
            for entry in ignore::WalkBuilder::new(dir).hidden(false).git_ignore(false).build().flatten() {
                let path = entry.path();
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                let Ok(bytes) = std::fs::read(path) else {
                    continue;
                };
                if Language::detect(path, &bytes).is_some()
                    && bytes.len() <= 1 << 20
                    && !bytes[..bytes.len().min(8192)].contains(&0)
                {
                    files.push((path.to_path_buf(), bytes));
                }
            }
        }
        files
    }

    pub fn run(args: &[String]) {
        let dirs: Vec<String> = if args.is_empty() {
            let registry = std::env::var("CARGO_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
            vec![registry.join("registry/src").to_string_lossy().into_owned()]
        } else {
            args.to_vec()
        };
        let files = collect(&dirs);
        let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
        let mb = bytes as f64 / 1e6;
        println!("machine: {}", machine());
        println!("corpus: {} files, {mb:.1} MB under {dirs:?}", files.len());
        let limits = ParseLimits { deadline: Duration::from_secs(10), ..ParseLimits::default() };

        // Compile every language's query first (once per process, ~0.1 s), as a running daemon has.
        let mut warmed = std::collections::HashSet::new();
        for (path, bytes) in &files {
            if let Ok(parsed) = parse(path, bytes, &limits)
                && warmed.insert(parsed.language)
            {
                let _ = extract_symbols(&path.to_string_lossy(), &parsed, "h", 0);
            }
        }
        // Bare parse (the bound) and full extraction alternate, `ROUNDS` times each, and the best
        // time of each counts: a slow phase of the machine then cannot favour either side.
        const ROUNDS: usize = 2;
        let mut bare = f64::INFINITY;
        let mut extract = f64::INFINITY;
        let mut symbols = 0usize;
        // Time per language split into the parse (`parse`: checks, decoding, tree-sitter) and
        // the symbol stage, to show where the difference to the bound goes (last round).
        let mut stages: std::collections::BTreeMap<String, (f64, f64, usize)> = Default::default();
        for _ in 0..ROUNDS {
            // Bare parse: tree-sitter only, one thread.
            let started = Instant::now();
            for (path, bytes) in &files {
                let language = Language::detect(path, bytes).unwrap();
                let text = String::from_utf8_lossy(bytes);
                let _ = parse_text(language, &text, limits.deadline);
            }
            bare = bare.min(started.elapsed().as_secs_f64());

            // Full extraction, one thread: parse + names, docs, signatures, hashes.
            stages.clear();
            symbols = 0;
            let started = Instant::now();
            for (path, bytes) in &files {
                let before_parse = Instant::now();
                if let Ok(parsed) = parse(path, bytes, &limits) {
                    let parse_seconds = before_parse.elapsed().as_secs_f64();
                    let before_symbols = Instant::now();
                    symbols += extract_symbols(&path.to_string_lossy(), &parsed, "h", 0).symbols.len();
                    let stage = stages.entry(format!("{:?}", parsed.language)).or_default();
                    stage.0 += parse_seconds;
                    stage.1 += before_symbols.elapsed().as_secs_f64();
                    stage.2 += bytes.len();
                }
            }
            extract = extract.min(started.elapsed().as_secs_f64());
        }
        println!("| language | MB | parse s | symbol stage s | symbol stage / parse |");
        println!("|---|---|---|---|---|");
        for (language, (parse_seconds, symbol_seconds, size)) in &stages {
            println!(
                "| {language} | {:.1} | {parse_seconds:.2} | {symbol_seconds:.2} | {:.0}% |",
                *size as f64 / 1e6,
                100.0 * symbol_seconds / parse_seconds
            );
        }

        // universal-ctags on the same files, one process, one thread.
        let list = std::env::temp_dir().join(format!("znt-bench-files-{}", std::process::id()));
        std::fs::write(&list, files.iter().map(|(p, _)| p.to_string_lossy().into_owned() + "\n").collect::<String>())
            .unwrap();
        let started = Instant::now();
        let ctags = std::process::Command::new("ctags")
            .args(["-f", "/dev/null", "--fields=+n", "-L"])
            .arg(&list)
            .stderr(std::process::Stdio::null())
            .status();
        let ctags_seconds = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&list);
        let n = files.len() as f64;
        println!("| one thread, best of {ROUNDS} alternating rounds | MB/s | files/s | symbols/s |");
        println!("|---|---|---|---|");
        println!("| tree-sitter parse only (bound) | {:.1} | {:.0} | – |", mb / bare, n / bare);
        println!(
            "| zenith extract (parse + symbols) | {:.1} | {:.0} | {:.0} |",
            mb / extract,
            n / extract,
            symbols as f64 / extract
        );
        match ctags {
            Ok(status) if status.success() => {
                println!("| universal-ctags | {:.1} | {:.0} | – |", mb / ctags_seconds, n / ctags_seconds)
            }
            _ => println!("| universal-ctags | (not run: ctags missing or failed) | | |"),
        }
        println!("extraction / bare parse = {:.0}%", 100.0 * bare / extract);
        let _ = Path::new("");
    }

    /// `symbols <dir> [rounds]`: the symbol stage alone, on trees parsed once (for profiling).
    pub fn symbol_stage(args: &[String]) {
        let files = collect(&args[..1]);
        let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
        let limits = ParseLimits { deadline: Duration::from_secs(10), ..ParseLimits::default() };
        let parsed: Vec<_> =
            files.iter().filter_map(|(path, bytes)| Some((path, parse(path, bytes, &limits).ok()?))).collect();
        let started = Instant::now();
        let mut symbols = 0;
        for _ in 0..rounds {
            for (path, parsed) in &parsed {
                symbols += extract_symbols(&path.to_string_lossy(), parsed, "h", 0).symbols.len();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "symbol stage: {symbols} symbols in {seconds:.2} s, {:.2} µs per symbol",
            1e6 * seconds / symbols as f64
        );
    }
}

mod embed {
    use super::*;
    use zenith::embed::{EmbedConfig, Embedder, Precision};

    /// Realistic symbol texts in the embedding-text format, deterministic.
    pub fn symbol_texts(count: usize) -> Vec<String> {
        let verbs = ["parse", "load", "write", "compute", "open", "render", "validate", "merge", "fetch", "encode"];
        let nouns = [
            "config file",
            "connection pool",
            "user record",
            "syntax tree",
            "http request",
            "index segment",
            "cache entry",
            "token stream",
        ];
        (0..count)
            .map(|i| {
                let verb = verbs[i % verbs.len()];
                let noun = nouns[(i / verbs.len()) % nouns.len()];
                let ident = format!("{verb}_{}", noun.replace(' ', "_"));
                format!(
                    "function crate {}. pub fn {ident}(input: &{}Options, limit: usize) -> Result<Vec<{}>, Error>. \
                     {} the {noun} from the given input and returns every item found, or an error when the input is malformed.",
                    ident.replace('_', " "),
                    noun.split(' ').next().unwrap_or("x"),
                    noun.split(' ').next_back().unwrap_or("x"),
                    verb[..1].to_uppercase() + &verb[1..] + "s"
                )
            })
            .collect()
    }

    pub fn run(args: &[String]) {
        let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(512);
        let dir = zenith::assets::model_dir().expect("model (run `znt setup`)");
        let texts = symbol_texts(count);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        println!("machine: {}", machine());
        println!("| configuration | texts/s |");
        println!("|---|---|");
        let int8 = EmbedConfig { precision: Precision::Int8, ..EmbedConfig::default() };
        let one_thread = EmbedConfig { threads: 1, ..EmbedConfig::default() };
        for (label, config, candle) in [
            ("fp32, candle 0.11 BERT (the fallback without AVX-512), all threads", EmbedConfig::default(), true),
            ("fp32, candle 0.11 BERT, 1 thread", one_thread, true),
            ("fp32, Zenith's AVX-512 forward (the default here), all threads", EmbedConfig::default(), false),
            ("fp32, Zenith's AVX-512 forward, 1 thread", one_thread, false),
            (
                "fp32, Zenith's AVX-512 forward, 128 tokens, all threads",
                EmbedConfig { max_tokens: 128, ..EmbedConfig::default() },
                false,
            ),
            ("int8 (VNNI), all threads", int8, false),
            ("int8 (VNNI), 1 thread", EmbedConfig { threads: 1, ..int8 }, false),
        ] {
            let embedder =
                if candle { Embedder::load_candle(&dir, config) } else { Embedder::load(&dir, config) }.unwrap();
            embedder.embed(&refs[..refs.len().min(32)]).unwrap();
            let started = Instant::now();
            embedder.embed(&refs).unwrap();
            println!("| {label} | {:.0} |", count as f64 / started.elapsed().as_secs_f64());
        }
        // How far int8 moves the vectors of these texts from the f32 ones.
        let full = Embedder::load(&dir, EmbedConfig::default()).unwrap().embed(&refs).unwrap();
        let int8 = Embedder::load(&dir, EmbedConfig { precision: Precision::Int8, ..EmbedConfig::default() })
            .unwrap()
            .embed(&refs)
            .unwrap();
        let cosines: Vec<f32> =
            full.iter().zip(&int8).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()).collect();
        println!(
            "int8 vs fp32 on these texts: min cosine {:.4}, mean {:.4}",
            cosines.iter().copied().fold(1.0, f32::min),
            cosines.iter().sum::<f32>() / cosines.len() as f32
        );
        for precision in [Precision::Full, Precision::Int8] {
            let embedder = Embedder::load(&dir, EmbedConfig { precision, ..EmbedConfig::default() }).unwrap();
            let mut samples = Vec::new();
            for i in 0..100 {
                let query =
                    ["parse config file", "open a tcp connection", "render the syntax tree", "cache entry eviction"]
                        [i % 4];
                let started = Instant::now();
                embedder.embed_query(query).unwrap();
                samples.push(started.elapsed());
            }
            let (p50, p99) = percentiles(&mut samples);
            println!("query embedding ({precision:?}): p50 {p50:.2} ms, p99 {p99:.2} ms");
        }
    }
}

mod names {
    use super::*;
    use zenith::query::names::{NameEntry, NameIndex};

    pub fn run(args: &[String]) {
        let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
        let parts = [
            "init", "book", "for", "official", "thread", "pool", "executor", "parse", "config", "file", "http",
            "server", "read", "write", "cache", "entry", "token", "stream", "user", "record",
        ];
        let mut rng = zenith::synthetic::Rng::new(5);
        let entries: Vec<NameEntry> = (0..count)
            .map(|i| {
                let words = 1 + (rng.next_u64() % 4) as usize;
                let mut name = String::new();
                for w in 0..words {
                    let part = parts[(rng.next_u64() % parts.len() as u64) as usize];
                    if w == 0 { name.push_str(part) } else { name.push_str(&(part[..1].to_uppercase() + &part[1..])) }
                }
                name.push_str(&(i % 97).to_string());
                NameEntry {
                    id: i.to_string(),
                    qualified_name: format!("mod{}::{name}", i % 100),
                    name,
                    kind: "function".into(),
                    language: "rust".into(),
                    path: format!("src/m{}.rs", i % 1000),
                    parent: None,
                    start_line: 0,
                    start_col: 0,
                    end_line: 0,
                    end_col: 0,
                    start_col_utf16: 0,
                    end_col_utf16: 0,
                }
            })
            .collect();
        let rss_before = rss_mb();
        let started = Instant::now();
        let index = NameIndex::new(entries);
        println!("machine: {}", machine());
        println!(
            "index of {count} names built in {:.2} s, {:.0} MB resident",
            started.elapsed().as_secs_f64(),
            rss_mb() - rss_before
        );
        println!("| query | p50 ms | p99 ms |");
        println!("|---|---|---|");
        for query in
            ["ibfo", "TPE", "parseConfig", "x", "e", "rdwr", "Thread", "poolexec", "cacheentrytoken", "ent7", "zzz", ""]
        {
            let mut samples = Vec::new();
            for _ in 0..30 {
                let started = Instant::now();
                std::hint::black_box(index.search(query, 200));
                samples.push(started.elapsed());
            }
            let (p50, p99) = percentiles(&mut samples);
            println!("| `{query}` over {count} names | {p50:.2} | {p99:.2} |");
        }
    }
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

mod daemon {
    use super::*;
    use std::path::Path;
    use zenith::daemon::{IndexOptions, Silent, reconcile, reconcile_paths};
    use zenith::query::names::NameIndex;
    use zenith::query::{Engine, SearchMode, SearchRequest};
    use zenith::store::{Store, StoreConfig};

    fn python_file(n: usize, extra: &str) -> String {
        let mut text = format!("\"\"\"Module {n}.\"\"\"\n\n");
        for k in 0..9 {
            text.push_str(&format!("def handler_{n}_{k}(request, limit=10):\n    \"\"\"Handle request kind {k} of module {n}.\"\"\"\n    return request\n\n"));
        }
        text.push_str(&format!("class Service{n}:\n    def run(self):\n        pass\n{extra}"));
        text
    }

    /// `files` Python modules of 11 symbols each, spread over 100 packages.
    fn python_workspace(files: usize) -> tempfile::TempDir {
        let workspace = tempfile::tempdir().unwrap();
        for n in 0..files {
            let path = workspace.path().join(format!("pkg{}/mod{n}.py", n % 100));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, python_file(n, "")).unwrap();
        }
        workspace
    }

    /// Resident memory of the real language server on the synthetic workspace: `znt serve` is
    /// started as an editor would, over stdio, and its /proc status sampled while it indexes
    /// the workspace and then embeds in the background.
    pub fn server_rss(args: &[String]) {
        use std::io::Write;
        let files: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
        let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60);
        let workspace = python_workspace(files);
        let index = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_znt"))
            .args(["serve", "--index-dir"])
            .arg(index.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawning znt serve");
        let mut stdin = child.stdin.take().unwrap();
        // Read (and drop) everything the server says, so it never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (initialized_tx, initialized_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::{BufRead, Read};
            let mut reader = std::io::BufReader::new(stdout);
            loop {
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                    if let Some(value) = line.trim().strip_prefix("Content-Length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                if length == 0 || reader.read_exact(&mut body).is_err() {
                    return;
                }
                if String::from_utf8_lossy(&body).contains("\"id\":1") {
                    let _ = initialized_tx.send(());
                }
            }
        });
        let mut send = |value: serde_json::Value| {
            let body = value.to_string();
            write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
            stdin.flush().unwrap();
        };
        let root = format!("file://{}", workspace.path().canonicalize().unwrap().display());
        send(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": null, "rootUri": root, "capabilities": {},
            "workspaceFolders": [{"uri": root, "name": "bench"}]}}));
        // `initialized` only after the initialize response, as clients do.
        initialized_rx.recv_timeout(Duration::from_secs(30)).expect("initialize response");
        send(serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
        let status = |field: &str| -> f64 {
            std::fs::read_to_string(format!("/proc/{}/status", child.id()))
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        let started = Instant::now();
        let (mut peak, mut samples) = (0.0f64, Vec::new());
        while started.elapsed() < Duration::from_secs(seconds) {
            std::thread::sleep(Duration::from_millis(500));
            let total = status("VmRSS:");
            peak = peak.max(total);
            samples.push((started.elapsed().as_secs_f64(), total, status("RssAnon:"), status("RssFile:")));
        }
        send(serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
        send(serde_json::json!({"jsonrpc": "2.0", "method": "exit"}));
        let _ = child.wait();
        println!("machine: {}", machine());
        println!("`znt serve` on {files} files (~{} symbols), model loaded, sampled every 0.5 s:", files * 11);
        println!("| after | RSS MB | anonymous MB | file-backed MB (code, shared) |");
        println!("|---|---|---|---|");
        for (at, total, anon, file) in samples.iter().filter(|s| ((s.0 * 2.0).round() as u64).is_multiple_of(10)) {
            println!("| {at:.0} s | {total:.0} | {anon:.0} | {file:.0} |");
        }
        println!("peak RSS {peak:.0} MB");
    }

    /// Where the time of one delta goes: each stage of `reconcile_paths` and the name patch.
    pub fn breakdown(args: &[String]) {
        let files: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let workspace = python_workspace(files);
        let index = tempfile::tempdir().unwrap();
        let store = rt.block_on(Store::open(&StoreConfig::new(index.path().to_string_lossy().into_owned()))).unwrap();
        rt.block_on(reconcile(workspace.path(), &store, &IndexOptions::default(), &Silent)).unwrap();
        rt.block_on(store.refresh_indexes()).unwrap();
        let engine = Engine::shared().unwrap();
        let root = workspace.path().canonicalize().unwrap();
        let mut totals = [Duration::ZERO; 6];
        let rounds = 20;
        for round in 0..rounds {
            let n = round * 37;
            let relative = format!("pkg{}/mod{n}.py", n % 100);
            let path = root.join(&relative);
            std::fs::write(&path, python_file(n, &format!("\ndef delta_{round}():\n    pass\n"))).unwrap();
            let mut mark = Instant::now();
            let mut lap = |i: usize| {
                totals[i] += mark.elapsed();
                mark = Instant::now();
            };
            let walk =
                zenith::watch::scan_paths(&root, std::slice::from_ref(&path), &zenith::watch::WalkConfig::default())
                    .unwrap();
            lap(0);
            let _hashes = rt.block_on(store.file_hashes_under(std::slice::from_ref(&relative))).unwrap();
            lap(1);
            let bytes = std::fs::read(&walk.files[0].absolute).unwrap();
            let parsed = zenith::parse::parse(std::path::Path::new(&relative), &bytes, &Default::default()).unwrap();
            let symbols = zenith::symbols::extract_symbols(&relative, &parsed, "h", 0).symbols;
            lap(2);
            let wanted: Vec<String> = symbols.iter().map(|s| s.text_hash.clone()).collect();
            let _cache = rt.block_on(store.cached_embeddings(&wanted)).unwrap();
            lap(3);
            rt.block_on(store.replace_files(std::slice::from_ref(&relative), &symbols)).unwrap();
            lap(4);
            let _names = engine.name_entries_for(&store.dataset_uri(), std::slice::from_ref(&relative)).unwrap();
            lap(5);
        }
        println!("machine: {}", machine());
        for (label, total) in [
            "walk the path",
            "indexed hashes of the path",
            "read + parse + extract",
            "embedding cache lookup",
            "replace_files commit",
            "name rows for the path (DuckDB)",
        ]
        .iter()
        .zip(totals)
        {
            println!("| {label} | {:.1} ms |", total.as_secs_f64() * 1000.0 / rounds as f64);
        }
    }

    pub fn run(args: &[String]) {
        let files: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let workspace = python_workspace(files);
        let index = tempfile::tempdir().unwrap();
        let config = StoreConfig::new(index.path().to_string_lossy().into_owned());
        let options = IndexOptions::default();
        let store = rt.block_on(Store::open(&config)).unwrap();
        let started = Instant::now();
        let report = rt.block_on(reconcile(workspace.path(), &store, &options, &Silent)).unwrap();
        let first = started.elapsed();
        rt.block_on(store.refresh_indexes()).unwrap();
        println!("machine: {}", machine());
        println!(
            "workspace: {files} files, {} symbols; first index (names) {:.1}s",
            report.symbols_written,
            first.as_secs_f64()
        );

        // Restart on the unchanged workspace: open the table anew and reconcile.
        let started = Instant::now();
        let reopened = rt.block_on(Store::open(&config)).unwrap();
        let again = rt.block_on(reconcile(workspace.path(), &reopened, &options, &Silent)).unwrap();
        let restart = started.elapsed();
        assert_eq!(again.files_parsed, 0);
        println!(
            "restart on the unchanged workspace: {:.2}s to ready ({} files hashed, none parsed)",
            restart.as_secs_f64(),
            again.files_seen
        );

        // Save → visible to name search: the writer's delta commit plus the name-index patch the
        // server applies after it (the debounce window is separate: 50 ms watcher + 100 ms batch).
        let engine = Engine::shared().unwrap();
        let dataset = store.dataset_uri();
        let mut names = NameIndex::new(engine.name_entries(&dataset).unwrap());
        let rss_names = rss_mb();
        let mut samples = Vec::new();
        for round in 0..60 {
            let n = (round * 37) % files;
            let relative = format!("pkg{}/mod{n}.py", n % 100);
            let path = workspace.path().join(&relative);
            let marker = format!("saved_function_{round}");
            std::fs::write(&path, python_file(n, &format!("\ndef {marker}():\n    pass\n"))).unwrap();
            let started = Instant::now();
            let delta = rt.block_on(reconcile_paths(workspace.path(), &[path], &store, &options)).unwrap();
            // What the server does: patch with the names of the rows the delta committed.
            let patched = delta.replaced_names.unwrap();
            names = names.with_files_replaced(&delta.replaced_paths, patched);
            let found = names.search(&marker, 1);
            samples.push(started.elapsed());
            assert_eq!(found[0].entry.name, marker);
        }
        let mut sorted = samples.clone();
        sorted.sort();
        let p95 = sorted[(sorted.len() as f64 * 0.95) as usize - 1].as_secs_f64() * 1000.0;
        let (p50, _) = percentiles(&mut samples);
        println!("save → visible to name search (excluding the 150 ms debounce): p50 {p50:.1} ms, p95 {p95:.1} ms");

        // Save → visible to semantic search for a typical file (11 symbols, all new texts), on a
        // fully embedded 200-file workspace (embedding all 110k symbols first would take long).
        let model = zenith::assets::model_dir().expect("model (znt setup)");
        let embedder = zenith::embed::Embedder::load(&model, zenith::embed::EmbedConfig::default()).unwrap();
        println!(
            "RSS with {} symbols in the name index: {rss_names:.0} MB; with the model loaded too: {:.0} MB",
            names.len(),
            rss_mb()
        );
        let small = tempfile::tempdir().unwrap();
        let small_index = tempfile::tempdir().unwrap();
        for n in 0..200 {
            std::fs::write(small.path().join(format!("mod{n}.py")), python_file(n, "")).unwrap();
        }
        let small_store =
            rt.block_on(Store::open(&StoreConfig::new(small_index.path().to_string_lossy().into_owned()))).unwrap();
        rt.block_on(reconcile(small.path(), &small_store, &options, &Silent)).unwrap();
        rt.block_on(zenith::daemon::embed_pending(&small_store, &embedder, 256, &Silent)).unwrap();
        rt.block_on(small_store.refresh_indexes()).unwrap();
        let small_dataset = small_store.dataset_uri();
        let mut semantic = Vec::new();
        for round in 0..5 {
            let n = round * 31 + 7;
            let path = small.path().join(format!("mod{n}.py"));
            let marker = format!("reticulate_splines_{round}");
            let body = format!("\ndef {marker}():\n    \"\"\"Reticulate the splines, round {round}.\"\"\"\n");
            std::fs::write(&path, python_file(n + 1000 * (round + 1), &body)).unwrap();
            let started = Instant::now();
            rt.block_on(reconcile_paths(small.path(), &[path], &small_store, &options)).unwrap();
            rt.block_on(zenith::daemon::embed_pending(&small_store, &embedder, 64, &Silent)).unwrap();
            let vector = embedder.embed_query("reticulate splines").unwrap();
            let mut request = SearchRequest::new(SearchMode::Semantic, "", Some(vector));
            request.limit = 10;
            let hits = engine.search(&small_dataset, &request).unwrap();
            semantic.push(started.elapsed());
            assert!(hits.iter().any(|h| h.name == marker), "{hits:?}");
        }
        let (s50, _) = percentiles(&mut semantic);
        println!("save → visible to semantic search (a file of 12 new symbols, embedded): p50 {s50:.0} ms");

        // Name search latency while a large re-index runs (every file changed).
        for n in 0..files {
            let path = workspace.path().join(format!("pkg{}/mod{n}.py", n % 100));
            std::fs::write(path, python_file(n, "\ndef touched():\n    pass\n")).unwrap();
        }
        let names = std::sync::Arc::new(names);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let searcher = {
            let names = names.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut samples = Vec::new();
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    for query in ["handler", "Svc", "hrq", "run"] {
                        let started = Instant::now();
                        std::hint::black_box(names.search(query, 100));
                        samples.push(started.elapsed());
                    }
                }
                samples
            })
        };
        let started = Instant::now();
        rt.block_on(reconcile(workspace.path(), &store, &options, &Silent)).unwrap();
        let reindex = started.elapsed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut during = searcher.join().unwrap();
        let (d50, d99) = percentiles(&mut during);
        println!(
            "name search ({} symbols) during a full re-index of {files} files ({:.1}s): p50 {d50:.2} ms, p99 {d99:.2} ms over {} queries",
            names.len(),
            reindex.as_secs_f64(),
            during.len()
        );
        let _ = Path::new("");
    }
}

mod fuzz {
    use super::*;
    use std::path::PathBuf;
    use zenith::parse::{Language, ParseLimits, parse};
    use zenith::symbols::extract_symbols;
    use zenith::synthetic::Rng;

    const EXTENSIONS: [&str; 12] = ["rs", "py", "js", "ts", "tsx", "go", "java", "c", "cpp", "cs", "rb", "php"];

    fn corpus() -> Vec<Vec<u8>> {
        let mut files = Vec::new();
        let roots = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"),
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/registry/src"),
            PathBuf::from("/usr/include"),
        ];
        for root in roots {
            for entry in ignore::WalkBuilder::new(root).build().flatten().step_by(23).take(400) {
                if let Ok(bytes) = std::fs::read(entry.path())
                    && entry.file_type().is_some_and(|t| t.is_file())
                    && bytes.len() < 200_000
                    && Language::detect(entry.path(), &bytes).is_some()
                {
                    files.push(bytes);
                }
            }
        }
        files
    }

    fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
        let mut data = input.to_vec();
        let noise: &[&[u8]] = &[
            b"{",
            b"}",
            b"(",
            b")",
            b"\"",
            b"'",
            b"/*",
            b"*/",
            b"#",
            b"\\",
            b"<",
            b">",
            b"\0",
            &[0xff, 0xfe],
            "😀".as_bytes(),
            b"\n",
            b"fn ",
            b"def ",
            b"class ",
            b"::",
        ];
        for _ in 0..(1 + rng.next_u64() % 8) {
            if data.is_empty() {
                data.extend_from_slice(b"x");
            }
            let at = (rng.next_u64() as usize) % data.len();
            match rng.next_u64() % 5 {
                0 => data[at] ^= 1 << (rng.next_u64() % 8),
                1 => {
                    let end = (at + (rng.next_u64() % 64) as usize).min(data.len());
                    data.drain(at..end);
                }
                2 => {
                    let piece = noise[(rng.next_u64() % noise.len() as u64) as usize];
                    data.splice(at..at, piece.iter().copied());
                }
                3 => {
                    let end = (at + (rng.next_u64() % 200) as usize).min(data.len());
                    let copy = data[at..end].to_vec();
                    data.splice(at..at, copy);
                }
                _ => data.truncate(at),
            }
        }
        data
    }

    pub fn run(args: &[String]) {
        let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(180);
        let corpus = corpus();
        let mut rng = Rng::new(seconds ^ 0x5eed);
        let limits = ParseLimits { deadline: Duration::from_secs(5), ..ParseLimits::default() };
        let started = Instant::now();
        let mut runs = 0u64;
        let mut symbols = 0u64;
        while started.elapsed() < Duration::from_secs(seconds) {
            let pick = (rng.next_u64() % corpus.len() as u64) as usize;
            let input = mutate(&mut rng, &corpus[pick]);
            // Any input in any language: grammars meet code that is not theirs.
            let extension = EXTENSIONS[(rng.next_u64() % EXTENSIONS.len() as u64) as usize];
            let path = PathBuf::from(format!("fuzz/input.{extension}"));
            let result = std::panic::catch_unwind(|| match parse(&path, &input, &limits) {
                Ok(parsed) => extract_symbols("fuzz/input", &parsed, "h", 0).symbols.len(),
                Err(_) => 0,
            });
            match result {
                Ok(found) => symbols += found as u64,
                Err(_) => {
                    let crash = std::env::temp_dir().join(format!("znt-fuzz-crash-{runs}.{extension}"));
                    std::fs::write(&crash, &input).unwrap();
                    panic!("parse → symbols panicked; input saved to {}", crash.display());
                }
            }
            runs += 1;
        }
        println!(
            "fuzz: {runs} mutated inputs from {} corpus files in {seconds}s, {symbols} symbols extracted, no panic",
            corpus.len()
        );
    }
}

mod quality {
    use super::*;
    use std::path::PathBuf;
    use zenith::daemon::{IndexOptions, Silent, embed_pending, reconcile};
    use zenith::embed::{EmbedConfig, Embedder};
    use zenith::query::{Engine, SearchMode, SearchRequest};
    use zenith::store::{Store, StoreConfig};
    use zenith::symbols::{Symbol, split_identifier};

    fn score(ranks: &[Option<usize>]) -> (f64, f64) {
        let success = ranks.iter().filter(|r| r.is_some()).count() as f64 / ranks.len() as f64;
        let mrr =
            ranks.iter().map(|r| r.map(|r| 1.0 / (r as f64 + 1.0)).unwrap_or(0.0)).sum::<f64>() / ranks.len() as f64;
        (success, mrr)
    }

    pub fn run(_args: &[String]) {
        let data: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/search_quality.json")).unwrap(),
        )
        .unwrap();
        let stdlib = std::process::Command::new("python3")
            .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
            .output()
            .unwrap();
        let stdlib = PathBuf::from(String::from_utf8(stdlib.stdout).unwrap().trim());
        let workspace = tempfile::tempdir().unwrap();
        for module in data["modules"].as_array().unwrap() {
            let relative = module.as_str().unwrap();
            let target = workspace.path().join(relative);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(stdlib.join(relative), target).unwrap();
        }
        let questions: Vec<(String, String)> = data["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (q["question"].as_str().unwrap().to_string(), q["answer"].as_str().unwrap().to_string()))
            .collect();
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let index = tempfile::tempdir().unwrap();
        let store = rt.block_on(Store::open(&StoreConfig::new(index.path().to_string_lossy().into_owned()))).unwrap();
        rt.block_on(reconcile(workspace.path(), &store, &IndexOptions::default(), &Silent)).unwrap();
        let embedder = Embedder::load(&zenith::assets::model_dir().unwrap(), EmbedConfig::default()).unwrap();
        let started = Instant::now();
        let embedded = rt.block_on(embed_pending(&store, &embedder, 256, &Silent)).unwrap();
        let embed_seconds = started.elapsed().as_secs_f64();
        rt.block_on(store.refresh_indexes()).unwrap();
        println!("machine: {}", machine());
        println!(
            "corpus: {} standard-library modules, {embedded} symbols (embedded in {embed_seconds:.0}s); {} questions",
            data["modules"].as_array().unwrap().len(),
            questions.len()
        );
        let engine = Engine::shared().unwrap();
        let dataset = store.dataset_uri();
        println!("| mode | success@10 | MRR@10 |");
        println!("|---|---|---|");
        for mode in [SearchMode::Semantic, SearchMode::Fulltext, SearchMode::Hybrid] {
            let mut ranks = Vec::new();
            for (question, answer) in &questions {
                let vector = (mode != SearchMode::Fulltext).then(|| embedder.embed_query(question).unwrap());
                let mut request = SearchRequest::new(mode, question, vector);
                request.limit = 10;
                let hits = engine.search(&dataset, &request).unwrap();
                ranks.push(hits.iter().position(|h| &h.qualified_name == answer));
            }
            let (success, mrr) = score(&ranks);
            println!("| {mode:?} | {success:.2} | {mrr:.2} |");
        }

        // Alternative embedding texts, ranked exactly in memory (same model, same questions).
        let symbols: Vec<Symbol> = rt.block_on(store.all_symbols()).unwrap();
        let question_vectors: Vec<Vec<f32>> = questions.iter().map(|(q, _)| embedder.embed_query(q).unwrap()).collect();
        type TextOf = fn(&Symbol) -> String;
        let variants: [(&str, TextOf); 4] = [
            ("kind + split qualified name + signature + doc summary (Zenith's)", zenith::symbols::embedding_text),
            ("signature + doc summary (no split names)", |s| {
                format!("{}. {}", s.signature, s.doc.as_deref().unwrap_or("").split("\n\n").next().unwrap_or(""))
            }),
            ("split name + signature (no doc)", |s| {
                format!("{} {}. {}", s.kind, split_identifier(&s.name), s.signature)
            }),
            ("raw qualified name only", |s| s.qualified_name.clone()),
        ];
        println!("| embedded text (semantic, exact ranking) | success@10 | MRR@10 |");
        println!("|---|---|---|");
        for (label, text_of) in variants {
            let texts: Vec<String> = symbols.iter().map(text_of).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = embedder.embed(&refs).unwrap();
            let mut ranks = Vec::new();
            for ((_, answer), query) in questions.iter().zip(&question_vectors) {
                let mut scored: Vec<(f32, &str)> = vectors
                    .iter()
                    .zip(&symbols)
                    .map(|(v, s)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), s.qualified_name.as_str()))
                    .collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                ranks.push(scored.iter().take(10).position(|(_, name)| name == answer));
            }
            let (success, mrr) = score(&ranks);
            println!("| {label} | {success:.2} | {mrr:.2} |");
        }

        // The same exact semantic ranking with int8 vectors (documents and questions).
        let int8 = Embedder::load(
            &zenith::assets::model_dir().unwrap(),
            EmbedConfig { precision: zenith::embed::Precision::Int8, ..EmbedConfig::default() },
        )
        .unwrap();
        let texts: Vec<String> = symbols.iter().map(zenith::symbols::embedding_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = int8.embed(&refs).unwrap();
        let mut ranks = Vec::new();
        for (question, answer) in &questions {
            let query = int8.embed_query(question).unwrap();
            let mut scored: Vec<(f32, &str)> = vectors
                .iter()
                .zip(&symbols)
                .map(|(v, s)| (v.iter().zip(&query).map(|(a, b)| a * b).sum(), s.qualified_name.as_str()))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            ranks.push(scored.iter().take(10).position(|(_, name)| name == answer));
        }
        let (success, mrr) = score(&ranks);
        println!("| Zenith's text, int8 model (semantic, exact ranking) | {success:.2} | {mrr:.2} |");
    }
}
