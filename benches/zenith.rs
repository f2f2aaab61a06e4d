//! Zenith's benchmarks, one binary (each binary links the whole dependency graph).
//!
//! `cargo bench --bench zenith -- <name> [args]`, where name is:
//! - `store [rows]`: vector / full-text / hybrid top-10 latency through DuckDB's lance extension
//!   vs the same queries made directly with lancedb, at 100k rows by default, and recall@10 of
//!   the DuckDB vector path against brute force.
//! - `extract <dir>…`: symbol extraction throughput (MB/s, files/s, symbols/s) beside bare
//!   tree-sitter parsing and universal-ctags on the same files.
//! - `embed [texts]`: symbols embedded per second and query-embedding latency.
//! - `names [symbols]`: workspace/symbol ranking latency over a synthetic name set.
//!
//! Every figure in docs/benchmarks.md comes from one of these commands.

use std::time::{Duration, Instant};

fn main() {
    // cargo passes `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let name = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    match name {
        "store" => store::run(rest),
        "extract" => extract::run(rest),
        "embed" => embed::run(rest),
        "names" => names::run(rest),
        _ => eprintln!("usage: cargo bench --bench zenith -- <store|extract|embed|names> [args]"),
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
                    .refine_factor(10)
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
            ("vector (IVF-PQ, nprobes 20, refine 10)", &mut duck_vector, &mut lance_vector),
            ("full-text (BM25)", &mut duck_fts, &mut lance_fts),
            ("hybrid", &mut duck_hybrid, &mut lance_hybrid),
        ] {
            let (d50, d99) = percentiles(duck);
            let (l50, l99) = percentiles(lance);
            println!("| {label} | {d50:.2} / {d99:.2} | {l50:.2} / {l99:.2} | {:.2}× |", d50 / l50);
        }
        println!("recall@10 of the DuckDB vector path vs brute force: {recall:.3}");
    }
}

mod extract {
    use super::*;
    use std::path::{Path, PathBuf};
    use zenith::parse::{Language, ParseLimits, parse, parse_text};
    use zenith::symbols::extract_symbols;

    fn collect(dirs: &[String]) -> Vec<(PathBuf, Vec<u8>)> {
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

        // Bare parse (the bound): tree-sitter only, one thread.
        let started = Instant::now();
        for (path, bytes) in &files {
            let language = Language::detect(path, bytes).unwrap();
            let text = String::from_utf8_lossy(bytes);
            let _ = parse_text(language, &text, limits.deadline);
        }
        let bare = started.elapsed().as_secs_f64();

        // Full extraction, one thread: parse + query + names, docs, signatures.
        let started = Instant::now();
        let mut symbols = 0usize;
        for (path, bytes) in &files {
            if let Ok(parsed) = parse(path, bytes, &limits) {
                symbols += extract_symbols(&path.to_string_lossy(), &parsed, "h", 0).symbols.len();
            }
        }
        let extract = started.elapsed().as_secs_f64();

        // universal-ctags on the same files, one process, one thread.
        let list = std::env::temp_dir().join(format!("znt-bench-files-{}", std::process::id()));
        std::fs::write(&list, files.iter().map(|(p, _)| p.to_string_lossy().into_owned() + "\n").collect::<String>())
            .unwrap();
        let started = Instant::now();
        let ctags =
            std::process::Command::new("ctags").args(["-f", "/dev/null", "--fields=+n", "-L"]).arg(&list).status();
        let ctags_seconds = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&list);
        let n = files.len() as f64;
        println!("| one thread | MB/s | files/s | symbols/s |");
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
}

mod embed {
    use super::*;
    use zenith::embed::{EmbedConfig, Embedder};

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
                    noun.split(' ').last().unwrap_or("x"),
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
        for (label, config) in [
            ("fp32, 256 tokens, batch 32, all threads", EmbedConfig::default()),
            ("fp32, 128 tokens, batch 32, all threads", EmbedConfig { max_tokens: 128, ..EmbedConfig::default() }),
            ("fp32, 256 tokens, batch 32, 1 thread", EmbedConfig { threads: 1, ..EmbedConfig::default() }),
        ] {
            let embedder = Embedder::load(&dir, config).unwrap();
            embedder.embed(&refs[..refs.len().min(32)]).unwrap();
            let started = Instant::now();
            embedder.embed(&refs).unwrap();
            println!("| {label} | {:.0} |", count as f64 / started.elapsed().as_secs_f64());
        }
        let embedder = Embedder::load(&dir, EmbedConfig::default()).unwrap();
        let mut samples = Vec::new();
        for i in 0..100 {
            let query =
                ["parse config file", "open a tcp connection", "render the syntax tree", "cache entry eviction"][i % 4];
            let started = Instant::now();
            embedder.embed_query(query).unwrap();
            samples.push(started.elapsed());
        }
        let (p50, p99) = percentiles(&mut samples);
        println!("query embedding: p50 {p50:.2} ms, p99 {p99:.2} ms");
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
        let index = NameIndex::new(entries);
        println!("machine: {}", machine());
        println!("| query | p50 ms | p99 ms |");
        println!("|---|---|---|");
        for query in ["ibfo", "TPE", "parseConfig", "x", "cacheentrytoken", "zzz"] {
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
