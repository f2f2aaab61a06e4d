//! The dependency tier (docs/dependencies.md): the public API of every package version the
//! workspace's lock files name, indexed once per machine and shared by every workspace.
//!
//! Layout of the machine-wide cache (`<cache>/deps`, or `ZENITH_DEPS_DIR`):
//! - `packages/{ecosystem}/{name}/{version}/symbols.lance` + `zenith-package.json`: one
//!   immutable table per package version (paths relative to the package root). It appears by
//!   one directory rename once complete, so a crash leaves either nothing or the whole table.
//!   Vectors are filled in later by one more commit (`embedded` in the manifest says so).
//! - `catalog/symbols.lance`: the search copy of every cached package version's rows, paths
//!   prefixed by the package's key, with one full-text and one vector index, so that a search
//!   over hundreds of packages is one query. Derived from the tables: `sync_catalog` brings it
//!   in line after a crash.
//! - `uses/<workspace hash>.json`: which package versions (and whose sources, where) a
//!   workspace used at its last `deps index`. A version no existing workspace uses is removed.
//!
//! One process writes the cache at a time (`zenith.lock`); readers never wait.

pub mod auto;
pub mod lock;
pub mod sources;

mod catalog;
mod names;

pub use catalog::{DepsScope, Fingerprint, PackageSource, sync as sync_catalog};
pub use lock::{Ecosystem, Locked, Package};
pub use names::{DepNameMatch, DepsNames};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::embed::Embedder;
use crate::store::{Store, StoreConfig};
use crate::team::Remote;

/// Overrides the cache's location (tests, or a shared disk).
pub const DEPS_DIR_ENV: &str = "ZENITH_DEPS_DIR";

/// Bumped when extraction changes what a package table holds: older tables are re-indexed.
const FORMAT: u32 = 1;

const MANIFEST: &str = "zenith-package.json";

/// What is known of one cached package version (its `zenith-package.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub package: Package,
    pub format: u32,
    /// Source files indexed, and their bytes.
    pub files: usize,
    pub source_bytes: u64,
    /// Public symbols, and how many have vectors.
    pub symbols: usize,
    pub embedded: usize,
    /// Too many symbols to embed ([`MAX_EMBEDDED_SYMBOLS`]): names and full text only.
    #[serde(default)]
    pub embeddings_skipped: bool,
    /// `local` (parsed here) or the remote it was copied from.
    pub origin: String,
    /// Seconds spent parsing and writing (0 for a copy).
    pub seconds: f64,
    pub indexed_at: i64,
}

impl Manifest {
    /// Nothing more will be added to it (vectors included).
    pub fn complete(&self) -> bool {
        self.embeddings_skipped || self.embedded >= self.symbols
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// The machine-wide cache of package tables.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// `ZENITH_DEPS_DIR`, else `<cache>/deps`.
    pub fn open() -> Cache {
        let root = std::env::var_os(DEPS_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::assets::cache_dir().join("deps"));
        Cache { root }
    }

    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one package version's table and manifest.
    pub fn table_dir(&self, package: &Package) -> PathBuf {
        self.root.join("packages").join(package.key())
    }

    pub fn catalog_uri(&self) -> String {
        self.root.join("catalog").to_string_lossy().into_owned()
    }

    pub fn manifest(&self, package: &Package) -> Option<Manifest> {
        let bytes = std::fs::read(self.table_dir(package).join(MANIFEST)).ok()?;
        serde_json::from_slice::<Manifest>(&bytes).ok().filter(|m| m.format == FORMAT && &m.package == package)
    }

    fn write_manifest(&self, dir: &Path, manifest: &Manifest) -> anyhow::Result<()> {
        let temporary = dir.join(format!(".{MANIFEST}.{}", std::process::id()));
        std::fs::write(&temporary, serde_json::to_vec_pretty(manifest)?)
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, dir.join(MANIFEST))
            .with_context(|| format!("writing the manifest in {}", dir.display()))
    }

    /// Every complete package version in the cache.
    pub fn manifests(&self) -> Vec<Manifest> {
        let mut found = Vec::new();
        let mut pending = vec![self.root.join("packages")];
        while let Some(dir) = pending.pop() {
            let manifest = dir.join(MANIFEST);
            if manifest.is_file() {
                if let Some(m) = std::fs::read(&manifest).ok().and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
                {
                    found.push(m);
                }
                continue;
            }
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir())
                    && !entry.file_name().to_string_lossy().ends_with(".lance")
                {
                    pending.push(entry.path());
                }
            }
        }
        found.sort_by(|a, b| a.package.cmp(&b.package));
        found
    }

    /// The one writer of the cache: waits (saying so once) while another process holds it.
    pub async fn lock(&self) -> anyhow::Result<crate::daemon::IndexLock> {
        std::fs::create_dir_all(&self.root).with_context(|| format!("creating {}", self.root.display()))?;
        let uri = self.root.to_string_lossy().into_owned();
        let mut said = false;
        loop {
            match crate::daemon::IndexLock::acquire(&uri) {
                Ok(lock) => return Ok(lock),
                Err(error) if error.to_string().contains("already writing") => {
                    if !said {
                        tracing::warn!("another Zenith process is indexing dependencies; waiting for it");
                        said = true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn uses_path(&self, workspace: &Path) -> PathBuf {
        let digest = crate::symbols::content_hash(workspace.to_string_lossy().as_bytes());
        self.root.join("uses").join(format!("{}.json", &digest[..16]))
    }

    /// What `workspace` used at its last `deps index`.
    pub fn uses(&self, workspace: &Path) -> Option<Uses> {
        let bytes = std::fs::read(self.uses_path(workspace)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn write_uses(&self, uses: &Uses) -> anyhow::Result<()> {
        let path = self.uses_path(&uses.workspace);
        let dir = path.parent().expect("uses/ has a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let temporary = path.with_extension(format!("json.{}", std::process::id()));
        std::fs::write(&temporary, serde_json::to_vec_pretty(uses)?)?;
        std::fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))
    }
}

/// The package versions one workspace uses, and where their sources are for it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Uses {
    pub workspace: PathBuf,
    /// Package key → its source root on disk for this workspace (`None`: only the table).
    pub packages: BTreeMap<String, Option<PathBuf>>,
    pub updated_at: i64,
}

/// A package version as the workspace's lock files name it.
#[derive(Debug, Clone)]
pub struct Required {
    pub locked: Locked,
    /// The lock file, relative to the workspace.
    pub lock_file: String,
    lock_dir: PathBuf,
}

/// Every package version named by the lock files under `workspace` (the walk's ignore rules
/// and deny-list apply: vendored trees such as `node_modules` are not searched for more lock
/// files), each once, plus the lock files that could not be read.
pub fn required(workspace: &Path, settings: &Settings) -> anyhow::Result<(Vec<Required>, Vec<String>)> {
    let scan = crate::watch::scan(workspace, &settings.index.walk)?;
    let excluded = exclusions(&settings.deps.exclude)?;
    let mut found: BTreeMap<Package, Required> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut lock_files: Vec<&crate::watch::WorkspaceFile> = scan
        .files
        .iter()
        .filter(|f| Path::new(&f.relative).file_name().is_some_and(|n| lock::is_lock_file(&n.to_string_lossy())))
        .collect();
    // Shallow lock files first: the workspace's own lock file names a package before a fixture's.
    lock_files.sort_by_key(|f| (f.relative.matches('/').count(), f.relative.clone()));
    for file in lock_files {
        let name = Path::new(&file.relative).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = match std::fs::read_to_string(&file.absolute) {
            Ok(text) => text,
            Err(error) => {
                errors.push(format!("{}: {error}", file.relative));
                continue;
            }
        };
        match lock::parse_lock(&name, &text) {
            Ok(packages) => {
                let lock_dir = file.absolute.parent().map(Path::to_path_buf).unwrap_or_default();
                for locked in packages {
                    if excluded.is_match(&locked.package.name) {
                        continue;
                    }
                    found.entry(locked.package.clone()).or_insert_with(|| Required {
                        locked,
                        lock_file: file.relative.clone(),
                        lock_dir: lock_dir.clone(),
                    });
                }
            }
            Err(error) => errors.push(format!("{}: {}", file.relative, error.message)),
        }
    }
    Ok((found.into_values().collect(), errors))
}

fn exclusions(patterns: &[String]) -> anyhow::Result<globset::GlobSet> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(globset::Glob::new(pattern).with_context(|| format!("deps.exclude: invalid pattern {pattern:?}"))?);
    }
    Ok(builder.build()?)
}

/// One package version's state for `znt deps status`.
#[derive(Debug, Clone, Serialize)]
pub struct PackageStatus {
    #[serde(flatten)]
    pub package: Package,
    pub lock_file: String,
    /// `indexed` (names and vectors), `names` (vectors pending), `missing`, `pending`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub symbols: usize,
    pub embedded: usize,
    pub files: usize,
    pub source_bytes: u64,
    pub table_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_root: Option<PathBuf>,
}

/// `znt deps status`: the workspace's lock files and the state of every package they name.
#[derive(Debug, Clone, Serialize)]
pub struct DepsStatus {
    pub workspace: PathBuf,
    pub cache: PathBuf,
    pub lock_files: Vec<String>,
    pub errors: Vec<String>,
    pub packages: Vec<PackageStatus>,
    pub indexed: usize,
    pub names_only: usize,
    pub missing: usize,
    pub pending: usize,
    pub symbols: usize,
    pub embedded: usize,
    pub table_bytes: u64,
}

/// The bytes of every file under `dir` (a table's size on disk).
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => pending.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The state of the workspace's dependencies, without changing anything.
pub fn status(workspace: &Path, settings: &Settings, cache: &Cache) -> anyhow::Result<DepsStatus> {
    let (required, errors) = required(workspace, settings)?;
    let dirs = sources::SourceDirs::discover(workspace);
    let mut lock_files: Vec<String> = required.iter().map(|r| r.lock_file.clone()).collect();
    lock_files.sort();
    lock_files.dedup();
    let mut packages = Vec::new();
    for item in &required {
        let package = &item.locked.package;
        let mut entry = PackageStatus {
            package: package.clone(),
            lock_file: item.lock_file.clone(),
            state: "pending",
            reason: None,
            symbols: 0,
            embedded: 0,
            files: 0,
            source_bytes: 0,
            table_bytes: 0,
            source_root: None,
        };
        if let Some(manifest) = cache.manifest(package) {
            entry.state = if manifest.complete() { "indexed" } else { "names" };
            entry.symbols = manifest.symbols;
            entry.embedded = manifest.embedded;
            entry.files = manifest.files;
            entry.source_bytes = manifest.source_bytes;
            entry.table_bytes = dir_bytes(&cache.table_dir(package));
        }
        match sources::locate(&item.locked, &item.lock_dir, &dirs, &settings.index.walk) {
            Ok(located) => entry.source_root = Some(located.root),
            Err(reason) if entry.state == "pending" => {
                entry.state = "missing";
                entry.reason = Some(reason);
            }
            Err(_) => {}
        }
        packages.push(entry);
    }
    let count = |state: &str| packages.iter().filter(|p| p.state == state).count();
    Ok(DepsStatus {
        workspace: workspace.to_path_buf(),
        cache: cache.root().to_path_buf(),
        lock_files,
        errors,
        indexed: count("indexed"),
        names_only: count("names"),
        missing: count("missing"),
        pending: count("pending"),
        symbols: packages.iter().map(|p| p.symbols).sum(),
        embedded: packages.iter().map(|p| p.embedded).sum(),
        table_bytes: packages.iter().map(|p| p.table_bytes).sum(),
        packages,
    })
}

/// Progress of `index` (the CLI draws bars; the LSP sends `$/progress`).
pub trait DepsProgress: Sync {
    fn packages(&self, _done: usize, _total: usize) {}
    fn embedded(&self, _done: usize, _total: usize) {}
}

/// No progress reporting.
pub struct Quiet;
impl DepsProgress for Quiet {}

/// What one `index` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DepsReport {
    pub packages: usize,
    /// Parsed here, copied from the team remote, already in the cache.
    pub indexed: usize,
    pub pulled: usize,
    pub reused: usize,
    pub missing: usize,
    pub pushed: usize,
    pub symbols_written: usize,
    pub source_bytes: u64,
    pub embedded: usize,
    /// Package versions no workspace uses any more, removed.
    pub collected: usize,
    /// From the start to every package's names being searchable.
    pub names_ready_secs: f64,
    pub total_secs: f64,
    pub warnings: Vec<String>,
}

/// How `index` runs.
pub struct IndexRun<'a> {
    pub embedder: Option<&'a Embedder>,
    /// The team remote, when `[deps] share` allows it.
    pub remote: Option<&'a Remote>,
    pub progress: &'a dyn DepsProgress,
}

/// Indexes every package version the workspace's lock files name that the cache lacks
/// (copied from the team remote when it has it, else parsed from the sources on disk), brings
/// the catalog in line (names searchable), then embeds what has no vectors yet, pushes
/// complete tables the remote lacks, and removes versions no workspace uses any more.
pub async fn index(
    workspace: &Path,
    settings: &Settings,
    cache: &Cache,
    run: IndexRun<'_>,
) -> anyhow::Result<DepsReport> {
    let started = Instant::now();
    let workspace = workspace.canonicalize().with_context(|| format!("resolving {}", workspace.display()))?;
    let _lock = cache.lock().await?;
    let (required, errors) = required(&workspace, settings)?;
    let dirs = sources::SourceDirs::discover(&workspace);
    let mut report = DepsReport { packages: required.len(), warnings: errors, ..Default::default() };
    let mut uses = Uses { workspace: workspace.clone(), packages: BTreeMap::new(), updated_at: now_micros() };
    // Rows of an interrupted run go first, so what is appended below is never doubled.
    let catalog = catalog::sync(cache).await?;
    let mut appender = catalog::Appender::new(cache, &catalog);
    let total = required.len();
    // A remote that fails once is not asked again in this run (each ask would wait for it).
    let mut remote = run.remote;
    for (done, item) in required.iter().enumerate() {
        run.progress.packages(done, total);
        let package = &item.locked.package;
        let located = sources::locate(&item.locked, &item.lock_dir, &dirs, &settings.index.walk);
        let root = located.as_ref().ok().map(|l| l.root.clone());
        if cache.manifest(package).is_some() {
            report.reused += 1;
            uses.packages.insert(package.key(), root);
            continue;
        }
        if let Some(shared) = remote {
            match pull_package(cache, &mut appender, shared, package).await {
                Ok(true) => {
                    report.pulled += 1;
                    uses.packages.insert(package.key(), root);
                    continue;
                }
                Ok(false) => {}
                Err(error) => {
                    report.warnings.push(format!("the team remote: {error:#}; indexing here instead"));
                    remote = None;
                }
            }
        }
        match located {
            Ok(located) => {
                let manifest = index_package(cache, &mut appender, package, &located, settings).await?;
                report.indexed += 1;
                report.symbols_written += manifest.symbols;
                report.source_bytes += manifest.source_bytes;
                uses.packages.insert(package.key(), root);
            }
            Err(reason) => {
                tracing::info!(package = %package, %reason, "dependency sources missing");
                report.missing += 1;
            }
        }
    }
    appender.flush().await?;
    run.progress.packages(total, total);
    cache.write_uses(&uses)?;
    report.collected = collect_garbage(cache)?;
    // Removes the rows of collected versions (and checks every other package's count).
    catalog::sync(cache).await?;
    report.names_ready_secs = started.elapsed().as_secs_f64();

    if let Some(embedder) = run.embedder {
        report.embedded = embed_packages(cache, &catalog, &uses, embedder, run.progress).await?;
    }
    if let Some(remote) = remote {
        for key in uses.packages.keys() {
            let Some(package) = Package::from_key(key) else { continue };
            match push_package(cache, remote, &package).await {
                Ok(true) => report.pushed += 1,
                Ok(false) => {}
                Err(error) => {
                    report.warnings.push(format!("pushing {package} to the team remote: {error:#}"));
                    break;
                }
            }
        }
    }
    catalog::maintain(&catalog).await?;
    crate::daemon::release_free_memory();
    report.total_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Files parsed per step while indexing a package (bounds memory on the largest packages:
/// `linux-raw-sys` has 370 000 public constants).
const FILES_PER_STEP: usize = 128;

/// Package versions with more public symbols than this get names and full text but no
/// vectors: their APIs are generated bindings (syscall numbers, C constants) that would cost
/// most of the embedding time for none of the semantic answers.
pub const MAX_EMBEDDED_SYMBOLS: usize = 20_000;

/// Parses one package version's files step by step, keeps the public symbols, writes them into
/// a staging table that becomes the package's directory by one rename, and appends them to
/// the catalog as they come.
async fn index_package(
    cache: &Cache,
    appender: &mut catalog::Appender<'_>,
    package: &Package,
    located: &sources::Located,
    settings: &Settings,
) -> anyhow::Result<Manifest> {
    let started = Instant::now();
    for skipped in &located.skipped {
        tracing::info!(package = %package, path = %skipped.relative, reason = %skipped.reason, "skipped");
    }
    let (staging, table) = staging_table(cache).await?;
    let mut symbols_written = 0;
    for group in located.files.chunks(FILES_PER_STEP) {
        let (files, limits) = (group.to_vec(), settings.index.parse);
        let (mut symbols, skipped, _partial) =
            tokio::task::spawn_blocking(move || crate::daemon::parse_files(&files, &limits)).await?;
        for file in skipped {
            tracing::info!(package = %package, path = %file.relative, reason = %file.reason, "skipped");
        }
        symbols.retain(is_api);
        if symbols.is_empty() {
            continue;
        }
        symbols_written += symbols.len();
        table.add(&symbols).await?;
        appender.add(catalog::prefixed(package, symbols)).await?;
    }
    drop(table);
    let manifest = Manifest {
        package: package.clone(),
        format: FORMAT,
        files: located.files.len(),
        source_bytes: located.files.iter().map(|f| f.size).sum(),
        symbols: symbols_written,
        embedded: 0,
        embeddings_skipped: symbols_written > MAX_EMBEDDED_SYMBOLS,
        origin: "local".into(),
        seconds: started.elapsed().as_secs_f64(),
        indexed_at: now_micros(),
    };
    publish(cache, &staging, &manifest)?;
    Ok(manifest)
}

/// A dependency is used through its public API only: public symbols outside the modules that
/// packages hide by convention (`private`, `__private`, `_internal`, any `__name` container:
/// serde's `__private`, macro support modules). The last segment may be a dunder method.
fn is_api(symbol: &crate::symbols::Symbol) -> bool {
    if symbol.visibility != "public" {
        return false;
    }
    let separators: &[char] = &[':', '.', '\\', '#', '/'];
    let mut segments: Vec<&str> = symbol.qualified_name.split(separators).filter(|s| !s.is_empty()).collect();
    segments.pop();
    !segments.iter().any(|segment| {
        matches!(*segment, "private" | "internal" | "_internal" | "_private")
            || (segment.starts_with("__") && *segment != "__init__")
    })
}

/// A new table in a staging directory of the cache (invisible to readers until published).
async fn staging_table(cache: &Cache) -> anyhow::Result<(PathBuf, Store)> {
    let staging = cache.root.join("tmp").join(format!("{}-{}", std::process::id(), now_micros()));
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let table = Store::open(&StoreConfig::new(staging.to_string_lossy())).await?;
    Ok((staging, table))
}

/// Writes the manifest into a complete staging table and moves it into place (one rename).
fn publish(cache: &Cache, staging: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    cache.write_manifest(staging, manifest)?;
    let target = cache.table_dir(&manifest.package);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    // A leftover of an older format is replaced; a concurrent writer's table would already be
    // complete (the cache lock makes that another machine sharing the disk): keep it.
    if target.exists() && cache.manifest(&manifest.package).is_none() {
        std::fs::remove_dir_all(&target).with_context(|| format!("removing the outdated {}", target.display()))?;
    }
    if std::fs::rename(staging, &target).is_err() {
        std::fs::remove_dir_all(staging).ok();
    }
    Ok(())
}

/// Removes package versions that no existing workspace uses (a workspace that was deleted
/// uses nothing). Returns how many were removed.
pub fn collect_garbage(cache: &Cache) -> anyhow::Result<usize> {
    let mut used: std::collections::HashSet<String> = Default::default();
    for entry in std::fs::read_dir(cache.root.join("uses")).into_iter().flatten().flatten() {
        let Some(uses) = std::fs::read(entry.path()).ok().and_then(|b| serde_json::from_slice::<Uses>(&b).ok()) else {
            continue;
        };
        if uses.workspace.is_dir() {
            used.extend(uses.packages.into_keys());
        } else {
            std::fs::remove_file(entry.path()).ok();
        }
    }
    let mut removed = 0;
    for manifest in cache.manifests() {
        if !used.contains(&manifest.package.key()) {
            let dir = cache.table_dir(&manifest.package);
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            tracing::info!(package = %manifest.package, "no workspace uses it any more: removed");
            removed += 1;
        }
    }
    std::fs::remove_dir_all(cache.root.join("tmp")).ok();
    Ok(removed)
}

/// Embeds the packages of `uses` that lack vectors, smallest first (so that most packages are
/// complete soonest), reusing vectors of identical texts from the catalog (another version of
/// the same package mostly). Each package: one commit to its table, then one to the catalog.
async fn embed_packages(
    cache: &Cache,
    catalog: &Store,
    uses: &Uses,
    embedder: &Embedder,
    progress: &dyn DepsProgress,
) -> anyhow::Result<usize> {
    let mut pending: Vec<Manifest> = uses
        .packages
        .keys()
        .filter_map(|key| Package::from_key(key).and_then(|p| cache.manifest(&p)))
        .filter(|m| !m.complete())
        .collect();
    pending.sort_by_key(|m| m.symbols);
    let total: usize = pending.iter().map(|m| m.symbols - m.embedded).sum();
    let mut done = 0;
    progress.embedded(0, total);
    for mut manifest in pending {
        let dir = cache.table_dir(&manifest.package);
        let store = Store::open(&StoreConfig::existing(dir.to_string_lossy())).await?;
        let mut symbols = store.all_symbols().await?;
        let wanted: Vec<String> =
            symbols.iter().filter(|s| s.embedding.is_none()).map(|s| s.text_hash.clone()).collect();
        let cached = catalog.cached_embeddings(&wanted).await?;
        let mut todo = Vec::new();
        for (index, symbol) in symbols.iter_mut().enumerate() {
            if symbol.embedding.is_none() {
                match cached.get(&symbol.text_hash) {
                    Some(vector) => symbol.embedding = Some(vector.clone()),
                    None => todo.push(index),
                }
            }
        }
        for chunk in todo.chunks(256) {
            let texts: Vec<String> = chunk.iter().map(|&i| crate::symbols::embedding_text(&symbols[i])).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = tokio::task::block_in_place(|| embedder.embed(&refs))?;
            for (&i, vector) in chunk.iter().zip(vectors) {
                symbols[i].embedding = Some(vector);
            }
            done += chunk.len();
            progress.embedded(done.min(total), total);
        }
        store.update_rows(&symbols).await?;
        manifest.embedded = symbols.len();
        cache.write_manifest(&dir, &manifest)?;
        catalog::replace_package(cache, catalog, &manifest.package, symbols).await?;
    }
    Ok(done)
}

/// The remote's table of one package version (`{remote}/deps/{key}/symbols.lance`).
fn remote_uri(remote: &Remote, package: &Package) -> String {
    format!("{}/deps/{}", remote.uri(), package.key())
}

async fn remote_table(remote: &Remote, package: &Package, create: bool) -> anyhow::Result<Option<Store>> {
    let config = StoreConfig {
        uri: remote_uri(remote, package),
        storage_options: remote.storage_options().to_vec(),
        model: Default::default(),
        create_if_missing: create,
        // Keyed like the team's tables, so two teammates pushing the same version at once
        // conflict and retry instead of storing it twice: the first writer wins.
        content_addressed: true,
    };
    match Store::open(&config).await {
        Ok(store) => Ok(Some(store)),
        Err(crate::store::StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(crate::team::remote_error(remote.uri(), &anyhow::Error::new(error))),
    }
}

/// Copies a package version's table from the remote when it is there complete. The remote
/// only ever holds complete tables (rows and vectors of one push).
async fn pull_package(
    cache: &Cache,
    appender: &mut catalog::Appender<'_>,
    remote: &Remote,
    package: &Package,
) -> anyhow::Result<bool> {
    let Some(table) = remote_table(remote, package, false).await? else { return Ok(false) };
    let symbols = table.all_symbols().await?;
    if symbols.is_empty() {
        return Ok(false);
    }
    let files: std::collections::HashSet<&str> = symbols.iter().map(|s| s.path.as_str()).collect();
    let manifest = Manifest {
        package: package.clone(),
        format: FORMAT,
        files: files.len(),
        source_bytes: 0,
        symbols: symbols.len(),
        embedded: symbols.iter().filter(|s| s.embedding.is_some()).count(),
        embeddings_skipped: symbols.len() > MAX_EMBEDDED_SYMBOLS,
        origin: remote.uri().to_string(),
        seconds: 0.0,
        indexed_at: now_micros(),
    };
    let (staging, local) = staging_table(cache).await?;
    local.add(&symbols).await?;
    drop(local);
    appender.add(catalog::prefixed(package, symbols)).await?;
    publish(cache, &staging, &manifest)?;
    Ok(true)
}

/// Sends a complete local package table the remote lacks. Returns whether it sent anything.
async fn push_package(cache: &Cache, remote: &Remote, package: &Package) -> anyhow::Result<bool> {
    let Some(manifest) = cache.manifest(package) else { return Ok(false) };
    if !manifest.complete() || manifest.symbols == 0 || manifest.origin != "local" {
        return Ok(false);
    }
    if let Some(existing) = remote_table(remote, package, false).await?
        && existing.count().await? > 0
    {
        return Ok(false);
    }
    let local = Store::open(&StoreConfig::existing(cache.table_dir(package).to_string_lossy())).await?;
    let symbols = local.all_symbols().await?;
    let table = remote_table(remote, package, true).await?.context("creating the remote table")?;
    let batch = table.to_batch(&symbols)?;
    table.upsert_versions(vec![batch]).await?;
    Ok(true)
}

/// Keys of the packages a workspace used at its last index, for the query side.
pub fn workspace_packages(cache: &Cache, workspace: &Path) -> HashMap<String, Option<PathBuf>> {
    let workspace = workspace.canonicalize().unwrap_or_else(|_| workspace.to_path_buf());
    cache.uses(&workspace).map(|u| u.packages.into_iter().collect()).unwrap_or_default()
}
