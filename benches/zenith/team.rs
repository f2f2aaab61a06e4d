//! `team [symbols] [queries]`: the team tier against a real S3-compatible server (moto) on
//! loopback, through the real `znt` binary. A workspace of real code (crates of the cargo
//! registry, 20 000 symbols by default) is committed to git and indexed from scratch (the
//! peer: what a fresh clone costs without the team); pushed; cloned and indexed again with the
//! team remote (the reuse: time to semantic-ready, same answers); one file is edited, committed
//! and pushed (bytes uploaded against the table's size); then hybrid search with scope `all`
//! over the private index and three team repositories of the same size, in-process through the
//! library, query embedding included.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const BUCKET: &str = "zenith-bench";

fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (pip install 'moto[server]'; scripts/setup installs it)");
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(60);
    while python(&moto, "s3.create_bucket(Bucket=bucket)").is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(300));
    }
    moto
}

/// Runs a boto3 snippet with `s3` and `bucket` bound; returns its stdout.
fn python(moto: &Moto, body: &str) -> Result<String, String> {
    let script = format!(
        "import boto3, sys\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\nbucket = '{BUCKET}'\n{body}\n",
        moto.endpoint
    );
    let output = Command::new("python3").args(["-c", &script]).output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Every object of the bucket under `prefix` with its size.
fn objects(moto: &Moto, prefix: &str) -> HashMap<String, u64> {
    let listing = python(
        moto,
        &format!(
            "for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix='{prefix}'):\n    \
             for item in page.get('Contents', []):\n        print(item['Key'], item['Size'], item['ETag'])"
        ),
    )
    .unwrap();
    listing
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let key = parts.next()?;
            let size = parts.next()?.parse().ok()?;
            let etag = parts.next()?;
            Some((format!("{key} {etag}"), size))
        })
        .collect()
}

/// Bytes of the objects that appeared (or changed) between two listings.
fn uploaded(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after.iter().filter(|(key, _)| !before.contains_key(*key)).map(|(_, size)| size).sum()
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=bench", "-c", "user.email=bench@zenith.invalid", "-c", "init.defaultBranch=main"])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

struct Znt<'a> {
    moto: &'a Moto,
    home: PathBuf,
}

impl Znt<'_> {
    fn command(&self, workspace: &Path, index: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_znt"));
        command
            .current_dir(workspace)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("ZENITH_TEAM_REMOTE", format!("s3://{BUCKET}/team"))
            .env("AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ALLOW_HTTP", "true")
            .arg("--index-dir")
            .arg(index)
            .stderr(Stdio::inherit());
        command
    }

    fn run(&self, workspace: &Path, index: &Path, args: &[&str]) -> (Duration, String) {
        let started = Instant::now();
        let output = self.command(workspace, index).args(args).output().unwrap();
        assert!(output.status.success(), "znt {args:?} failed");
        (started.elapsed(), String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

const QUERIES: &[&str] = &[
    "parse a string into a number",
    "serialize a value to json",
    "iterator over the entries of a map",
    "read bytes from a file",
    "format an error message",
    "compare two versions",
    "spawn a thread",
    "encode base64",
];

/// Copies a directory tree (the kept workspace and index of `--reuse`).
fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success(), "cp -a {} {}", from.display(), to.display());
}

pub fn run(args: &[String]) {
    let reuse = args.iter().position(|a| a == "--reuse").map(|i| PathBuf::from(&args[i + 1]));
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let target: usize = numbers.first().copied().unwrap_or(20_000);
    let rounds: usize = numbers.get(1).copied().unwrap_or(50);
    let base = tempfile::tempdir().unwrap();
    let (alice, bob) = (base.path().join("alice"), base.path().join("bob"));
    let moto = start_moto();
    let znt = Znt { moto: &moto, home: base.path().join("home") };
    let (alice_index, bob_index) = (base.path().join("alice-index"), base.path().join("bob-index"));
    // `--reuse DIR` keeps the corpus, its fresh index and the peer's time in DIR: later runs
    // start from copies of them instead of embedding the whole corpus again.
    let kept = reuse.as_ref().filter(|dir| dir.join("peer-seconds").exists());
    let (crates, symbols, local) = if let Some(dir) = kept {
        copy_tree(&dir.join("alice"), &alice);
        copy_tree(&dir.join("alice-index"), &alice_index);
        let kept: Vec<f64> = std::fs::read_to_string(dir.join("peer-seconds"))
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        (kept[1] as usize, kept[2] as usize, Duration::from_secs_f64(kept[0]))
    } else {
        std::fs::create_dir_all(&alice).unwrap();
        let (crates, symbols) = crate::mcp::registry_workspace(&alice, target);
        git(&alice, &["init", "-q"]);
        git(&alice, &["remote", "add", "origin", "https://example.test/bench/app.git"]);
        git(&alice, &["add", "-A"]);
        git(&alice, &["commit", "-q", "-m", "corpus"]);
        let (local, _) = znt.run(&alice, &alice_index, &["index", "--no-team"]);
        if let Some(dir) = &reuse {
            std::fs::create_dir_all(dir).unwrap();
            copy_tree(&alice, &dir.join("alice"));
            copy_tree(&alice_index, &dir.join("alice-index"));
            let kept = format!("{} {crates} {symbols}\n", local.as_secs_f64());
            std::fs::write(dir.join("peer-seconds"), kept).unwrap();
        }
        (crates, symbols, local)
    };
    println!("team: {} — {crates} crates of the cargo registry, {symbols} symbols; moto on loopback", crate::machine());
    println!(
        "fresh index without the team (parse + embed): {:.1} s{}",
        local.as_secs_f64(),
        if kept.is_some() { " (kept by --reuse)" } else { "" }
    );
    let before = objects(&moto, "");
    let (push, _) = znt.run(&alice, &alice_index, &["team", "push"]);
    let after = objects(&moto, "");
    let table_bytes: u64 = after.values().sum();
    println!("first push: {:.1} s, {:.1} MB uploaded", push.as_secs_f64(), uploaded(&before, &after) as f64 / 1e6);

    let status = Command::new("git").arg("clone").arg("-q").arg(&alice).arg(&bob).status().unwrap();
    assert!(status.success());
    git(&bob, &["remote", "set-url", "origin", "https://example.test/bench/app.git"]);
    let (reuse, _) = znt.run(&bob, &bob_index, &["index"]);
    let (_, status) = znt.run(&bob, &bob_index, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    println!(
        "fresh clone with the team remote → semantic-ready: {:.1} s ({} of {} symbols embedded), {:.1}x faster than without",
        reuse.as_secs_f64(),
        status["embedded"],
        status["symbols"],
        local.as_secs_f64() / reuse.as_secs_f64()
    );
    let (mut same, mut shared) = (0, 0);
    for query in QUERIES {
        let args = ["search", query, "--json", "--limit", "10"];
        let (_, a) = znt.run(&alice, &alice_index, &args);
        let (_, b) = znt.run(&bob, &bob_index, &args);
        let key = |text: &str| -> Vec<String> {
            text.lines()
                .map(|line| {
                    let hit: serde_json::Value = serde_json::from_str(line).unwrap();
                    format!("{}:{}", hit["path"], hit["qualified_name"])
                })
                .collect()
        };
        let (a, b) = (key(&a), key(&b));
        same += usize::from(a == b);
        shared += a.iter().filter(|hit| b.contains(hit)).count();
    }
    // The rows (vectors included) are identical; each side trains its own IVF-PQ index, so an
    // approximate search may differ in a few places.
    println!(
        "same top-10 as alice's locally built index: {same} of {} queries identical, {:.1} of 10 hits shared on average",
        QUERIES.len(),
        shared as f64 / QUERIES.len() as f64
    );

    // One typical file (the median size) edited and committed: what the next push uploads.
    let edited = median_rust_file(&alice);
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{text}\n/// Added by the benchmark.\npub fn zenith_bench_added() {{}}\n"))
        .unwrap();
    git(&alice, &["commit", "-q", "-am", "edit"]);
    znt.run(&alice, &alice_index, &["index"]);
    let before = objects(&moto, "");
    let (push, _) = znt.run(&alice, &alice_index, &["team", "push"]);
    let after = objects(&moto, "");
    let bytes = uploaded(&before, &after);
    println!(
        "one-file edit pushed: {:.2} s, {:.1} kB uploaded = {:.3} % of the bucket ({:.1} MB)",
        push.as_secs_f64(),
        bytes as f64 / 1e3,
        bytes as f64 * 100.0 / table_bytes as f64,
        table_bytes as f64 / 1e6
    );
    // Where those bytes went: the table's data, indexes and manifests, and the views.
    let mut parts: std::collections::BTreeMap<String, u64> = Default::default();
    for (key, size) in after.iter().filter(|(key, _)| !before.contains_key(*key)) {
        let path = key.split(' ').next().unwrap_or_default();
        let table = if path.contains("views.lance") { "views" } else { "symbols" };
        let part = ["data/", "_indices/", "_versions/", "_transactions/", "_deletions/"]
            .into_iter()
            .find(|part| path.contains(part))
            .unwrap_or("other");
        *parts.entry(format!("{table} {}", part.trim_end_matches('/'))).or_default() += size;
    }
    let parts: Vec<String> = parts.iter().map(|(part, size)| format!("{part} {:.1} kB", *size as f64 / 1e3)).collect();
    println!("  of which: {}", parts.join(", "));

    checkout(&znt, &alice, &alice_index);

    // Three team repositories of the same size (the same index pushed under three names).
    for repo in ["bench/lib1", "bench/lib2", "bench/lib3"] {
        let config = base.path().join("home/config/zenith");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.toml"), format!("[team]\nrepo = \"{repo}\"\n")).unwrap();
        znt.run(&alice, &alice_index, &["team", "push"]);
    }
    std::fs::remove_file(base.path().join("home/config/zenith/config.toml")).unwrap();
    federated(&moto, &bob_index, rounds);
}

/// `git checkout` of a branch that differs in 1 000 files (a function appended to each): how
/// long until the private index holds the branch's names, and how many vectors are reused.
fn checkout(znt: &Znt, workspace: &Path, index: &Path) {
    git(workspace, &["checkout", "-q", "-B", "wide-change"]);
    let mut changed = 0;
    for path in rust_files(workspace).into_iter().take(1000) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if std::fs::write(
            &path,
            format!("{text}\n/// Appended on the branch.\npub fn zenith_branch_fn_{changed}() {{}}\n"),
        )
        .is_ok()
        {
            changed += 1;
        }
    }
    git(workspace, &["commit", "-q", "-am", "wide change"]);
    git(workspace, &["checkout", "-q", "main"]);
    git(workspace, &["checkout", "-q", "wide-change"]);
    let started = Instant::now();
    let output = znt.command(workspace, index).args(["index", "--no-team", "--no-embed"]).output().unwrap();
    assert!(output.status.success());
    let names = started.elapsed();
    let output = znt.command(workspace, index).args(["index", "--no-team"]).stderr(Stdio::piped()).output().unwrap();
    let total = started.elapsed();
    let summary =
        String::from_utf8_lossy(&output.stderr).lines().find(|l| l.starts_with("indexed")).unwrap_or("").to_string();
    println!(
        "git checkout of a branch that differs in {changed} files: names fresh in {:.2} s (znt index --no-embed), \
         fully embedded in {:.1} s; {summary}",
        names.as_secs_f64(),
        total.as_secs_f64()
    );
    git(workspace, &["checkout", "-q", "main"]);
    znt.run(workspace, index, &["index", "--no-team"]);
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for path in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()) {
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn median_rust_file(root: &Path) -> PathBuf {
    let mut files: Vec<(u64, PathBuf)> =
        rust_files(root).into_iter().map(|path| (std::fs::metadata(&path).map_or(0, |m| m.len()), path)).collect();
    assert!(!files.is_empty(), "no Rust file in the corpus");
    files.sort();
    files.swap_remove(files.len() / 2).1
}

/// Hybrid search with scope `all` in-process: the query's embedding, the private index and
/// each team repository's view through DuckDB's lance extension on `s3://`, fused.
fn federated(moto: &Moto, private_index: &Path, rounds: usize) {
    for (key, value) in [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ALLOW_HTTP", "true"),
    ] {
        // SAFETY: the benchmark is single-threaded here; nothing else reads the environment.
        unsafe { std::env::set_var(key, value) };
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let remote = zenith::team::Remote::new(&format!("s3://{BUCKET}/team")).unwrap();
    let engine = zenith::query::Engine::shared().unwrap();
    engine.register_storage(remote.uri(), remote.storage_options()).unwrap();
    let sources: Vec<_> =
        rt.block_on(remote.sources()).unwrap().into_iter().filter(|s| s.repo.starts_with("bench/lib")).collect();
    let private = zenith::store::dataset_uri_for(&private_index.to_string_lossy());
    let embedder = zenith::embed::Embedder::load(&zenith::assets::model_dir().unwrap(), Default::default()).unwrap();
    let started = Instant::now();
    let mirrors: Vec<_> = sources
        .iter()
        .map(|source| rt.block_on(zenith::team::sync_mirror(&remote, source)).unwrap().expect("the mirror is free"))
        .collect();
    println!(
        "local mirrors of the {} team repositories synced in {:.1} s",
        mirrors.len(),
        started.elapsed().as_secs_f64()
    );
    for (label, sources) in [("straight from the remote", &sources), ("from the local mirrors", &mirrors)] {
        search_rounds(label, &engine, &embedder, &private, sources, rounds);
    }
    names(&engine, &private, &mirrors);
}

const NAME_QUERIES: &[&str] = &["new", "parse", "Deserializer", "fmt", "from_str", "itr", "Err", "to_string"];

/// `workspace/symbol` with scope `all` as the server answers it: the private name index and
/// one per team repository, all in memory, searched and merged by score (limit 1 000).
fn names(engine: &zenith::query::Engine, private: &str, mirrors: &[zenith::query::federated::ViewSource]) {
    let started = Instant::now();
    let mut indexes = vec![zenith::query::names::NameIndex::new(engine.name_entries(private).unwrap())];
    for mirror in mirrors {
        indexes.push(zenith::query::names::NameIndex::new(engine.name_entries_in_view(mirror).unwrap()));
    }
    let total: usize = indexes.iter().map(|index| index.len()).sum();
    println!(
        "name indexes of the private index and {} mirrors: {total} names, built in {:.1} s",
        mirrors.len(),
        started.elapsed().as_secs_f64()
    );
    let mut samples = Vec::new();
    for round in 0..30 {
        for query in NAME_QUERIES {
            let started = Instant::now();
            let mut found: Vec<_> = indexes.iter().flat_map(|index| index.search(query, 1000)).collect();
            found.sort_by_key(|m| std::cmp::Reverse(m.score));
            found.truncate(1000);
            if round > 0 {
                samples.push(started.elapsed());
            }
        }
    }
    let (p50, p99) = crate::percentiles(&mut samples);
    println!(
        "workspace/symbol, scope all ({total} names, limit 1 000, {} queries): p50 {p50:.2} ms, p99 {p99:.2} ms",
        NAME_QUERIES.len()
    );
}

fn search_rounds(
    label: &str,
    engine: &zenith::query::Engine,
    embedder: &zenith::embed::Embedder,
    private: &str,
    sources: &[zenith::query::federated::ViewSource],
    rounds: usize,
) {
    let mut all = Vec::new();
    let mut private_only = Vec::new();
    for round in 0..rounds + 3 {
        let query = QUERIES[round % QUERIES.len()];
        let started = Instant::now();
        let vector = embedder.embed_query(query).unwrap();
        let mut request = zenith::query::SearchRequest::new(zenith::query::SearchMode::Hybrid, query, Some(vector));
        request.limit = 10;
        let own = engine.search(private, &request).unwrap();
        let private_time = started.elapsed();
        let mut lists = vec![own];
        for source in sources {
            lists.push(engine.search_view(source, &request).unwrap());
        }
        let fused = zenith::query::federated::fuse(lists, None, &Default::default(), 10);
        assert!(!fused.is_empty());
        if round >= 3 {
            all.push(started.elapsed());
            private_only.push(private_time);
        }
    }
    let (p50, p99) = crate::percentiles(&mut all);
    let (private_p50, private_p99) = crate::percentiles(&mut private_only);
    println!(
        "hybrid search, scope all ({} team repositories {label} + private), query embedding included: \
         p50 {p50:.1} ms, p99 {p99:.1} ms (private alone p50 {private_p50:.1} ms, p99 {private_p99:.1} ms)",
        sources.len()
    );
}
