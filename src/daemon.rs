//! The single writer: brings the Lance table in line with the workspace.
//!
//! This module owns the reconcile (walk → compare content hashes with the table → parse only
//! what changed → replace those files' symbols in one commit per batch → delete vanished files),
//! the embedding back-fill (names are searchable first; vectors follow in later commits, reused
//! from the table whenever the embedded text is unchanged) and index maintenance. Every write
//! to the table goes through here or through `store` calls made from here.
//! Architecture Invariant: one `Indexer` writes one index at a time.

mod folder;

pub use folder::{Folder, FolderConfig, Health, MODEL_MISSING, Role, Snapshot, next_names, open as open_folder};

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rayon::prelude::*;

use crate::embed::Embedder;
use crate::parse::{ParseLimits, SkipReason, parse};
use crate::store::{MAX_FRAGMENTS, MAX_UNINDEXED_ROWS, Store};
use crate::symbols::{Symbol, content_hash, extract_symbols};
use crate::watch::{Skipped, WalkConfig, WorkspaceFile, scan, scan_paths};

/// How a workspace is indexed.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    pub walk: WalkConfig,
    pub parse: ParseLimits,
    /// Files parsed and committed together; each group is one Lance commit.
    pub files_per_commit: usize,
    /// Symbols embedded per back-fill commit.
    pub embed_batch: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            walk: WalkConfig::default(),
            parse: ParseLimits::default(),
            files_per_commit: 1000,
            embed_batch: 256,
        }
    }
}

/// Progress callbacks (the CLI draws bars; the LSP sends `$/progress`).
pub trait IndexProgress: Sync {
    fn files(&self, _done: usize, _total: usize) {}
    fn embedded(&self, _done: usize, _total: usize) {}
}

/// No progress reporting.
pub struct Silent;
impl IndexProgress for Silent {}

/// What one reconcile did.
#[derive(Debug, Default, Clone)]
pub struct IndexReport {
    pub files_seen: usize,
    pub files_parsed: usize,
    pub files_unchanged: usize,
    pub files_deleted: usize,
    pub files_partial: usize,
    pub symbols_written: usize,
    pub embeddings_reused: usize,
    pub skipped: Vec<Skipped>,
    /// Paths whose symbols were replaced or deleted (what readers must refresh).
    pub replaced_paths: Vec<String>,
    /// For a delta (`reconcile_paths`): the name entries of exactly the rows committed for
    /// `replaced_paths`, so readers patch their name index without reading the table back.
    pub replaced_names: Option<Vec<crate::query::names::NameEntry>>,
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

enum FileOutcome {
    Symbols { relative: String, symbols: Vec<Symbol>, partial: bool },
    Skipped(Skipped),
}

/// Reads, parses and extracts one file. A failure skips the file with its reason.
/// The threads that hash and parse files: one per core, at a lower CPU priority, so that a
/// large re-index never delays a query (name search, a request's own work) that runs at normal
/// priority on the same cores.
fn background_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("znt-index-{i}"))
            .start_handler(|_| lower_thread_priority())
            .build()
            .expect("creating the indexing threads")
    })
}

/// Nice 10 for the calling thread only (on Linux `setpriority` with id 0 is per thread).
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority has no memory-safety preconditions; failure only leaves the priority as is.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

fn process_file(file: &WorkspaceFile, limits: &ParseLimits, indexed_at: i64) -> FileOutcome {
    let skipped = |reason: String| FileOutcome::Skipped(Skipped { relative: file.relative.clone(), reason });
    let bytes = match std::fs::read(&file.absolute) {
        Ok(bytes) => bytes,
        Err(error) => return skipped(format!("unreadable: {error}")),
    };
    let file_hash = content_hash(&bytes);
    match parse(Path::new(&file.relative), &bytes, limits) {
        Ok(parsed) => {
            if parsed.lossy_utf8 {
                tracing::info!(path = %file.relative, "invalid UTF-8 decoded lossily");
            }
            let extraction = extract_symbols(&file.relative, &parsed, &file_hash, indexed_at);
            FileOutcome::Symbols {
                relative: file.relative.clone(),
                symbols: extraction.symbols,
                partial: extraction.partial,
            }
        }
        // Unsupported, binary, huge and timed-out files still get a row-less entry: nothing to
        // index, but a reason to report.
        Err(SkipReason::UnsupportedLanguage) => {
            FileOutcome::Skipped(Skipped { relative: file.relative.clone(), reason: String::new() })
        }
        Err(reason) => skipped(reason.to_string()),
    }
}

/// Parses and extracts `files` on the indexing threads (nice 10, one per core): their symbols,
/// the files skipped with a reason, and how many had syntax errors. What dependency indexing
/// uses; the workspace's own reconcile interleaves the same steps with its commits.
pub fn parse_files(files: &[WorkspaceFile], limits: &ParseLimits) -> (Vec<Symbol>, Vec<Skipped>, usize) {
    let indexed_at = now_micros();
    let outcomes: Vec<FileOutcome> =
        background_pool().install(|| files.par_iter().map(|file| process_file(file, limits, indexed_at)).collect());
    let (mut symbols, mut skipped, mut partial) = (Vec::new(), Vec::new(), 0);
    for outcome in outcomes {
        match outcome {
            FileOutcome::Symbols { symbols: file_symbols, partial: is_partial, .. } => {
                symbols.extend(file_symbols);
                partial += usize::from(is_partial);
            }
            FileOutcome::Skipped(file) if !file.reason.is_empty() => skipped.push(file),
            FileOutcome::Skipped(_) => {}
        }
    }
    (symbols, skipped, partial)
}

/// True when the file's language is supported (by extension, or shebang for scripts).
fn is_source_file(file: &WorkspaceFile) -> bool {
    let path = Path::new(&file.relative);
    if path.extension().is_some() {
        return crate::parse::Language::detect(path, b"").is_some();
    }
    let mut head = [0u8; 256];
    let read =
        std::fs::File::open(&file.absolute).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    crate::parse::Language::detect(path, &head[..read]).is_some()
}

/// Hashes a file's content, or `None` when it cannot be read.
fn file_hash(file: &WorkspaceFile) -> Option<String> {
    std::fs::read(&file.absolute).ok().map(|bytes| content_hash(&bytes))
}

/// `path → content hash` of every source file the index would accept under `root` (the same
/// walk, deny-list and limits as [`reconcile`]): what a team pull matches against the remote.
pub fn source_file_hashes(root: &Path, options: &IndexOptions) -> anyhow::Result<HashMap<String, String>> {
    let root = root.canonicalize().with_context(|| format!("resolving {}", root.display()))?;
    let mut walk = scan(&root, &options.walk)?;
    walk.files.retain(is_source_file);
    Ok(background_pool().install(|| {
        walk.files.par_iter().filter_map(|file| file_hash(file).map(|hash| (file.relative.clone(), hash))).collect()
    }))
}

/// Brings the table in line with the workspace at `root`: new and changed files are parsed
/// and replaced (one commit per `files_per_commit` files), vanished files deleted, unchanged
/// files not even parsed. Embeddings of unchanged texts are carried over from the table.
pub async fn reconcile(
    root: &Path,
    store: &Store,
    options: &IndexOptions,
    progress: &dyn IndexProgress,
) -> anyhow::Result<IndexReport> {
    let root = root.canonicalize().with_context(|| format!("resolving {}", root.display()))?;
    let walk = scan(&root, &options.walk)?;
    let indexed = store.file_hashes().await?;
    apply(store, walk, indexed, |_| true, options, progress, false).await
}

/// Re-checks only `targets` (absolute files or directories that changed on disk): the delta
/// path of the daemon. Paths under a target that are indexed but no longer accepted (deleted,
/// renamed away, now ignored) lose their symbols in the same commit as the rest of the delta.
pub async fn reconcile_paths(
    root: &Path,
    targets: &[std::path::PathBuf],
    store: &Store,
    options: &IndexOptions,
) -> anyhow::Result<IndexReport> {
    let root = root.canonicalize().with_context(|| format!("resolving {}", root.display()))?;
    let relative_targets: Vec<String> = targets.iter().map(|t| crate::watch::relative_path(&root, t)).collect();
    let walk = scan_paths(&root, targets, &options.walk)?;
    let indexed = store.file_hashes_under(&relative_targets).await?;
    let under_target = |path: &str| {
        relative_targets.iter().any(|target| {
            target.is_empty()
                || path == target
                || path.strip_prefix(target.as_str()).is_some_and(|rest| rest.starts_with('/'))
        })
    };
    apply(store, walk, indexed, under_target, options, &Silent, true).await
}

/// The common tail of both reconciles. `in_scope` says which indexed paths the walk was
/// responsible for (all of them for a full walk, those under the targets for a delta), so an
/// indexed path in scope but not walked has vanished.
async fn apply(
    store: &Store,
    mut walk: crate::watch::Scan,
    indexed: HashMap<String, String>,
    in_scope: impl Fn(&str) -> bool,
    options: &IndexOptions,
    progress: &dyn IndexProgress,
    collect_names: bool,
) -> anyhow::Result<IndexReport> {
    // Only files of a supported language are candidates; the rest are not read further.
    walk.files.retain(is_source_file);
    let mut report = IndexReport {
        files_seen: walk.files.len(),
        skipped: walk.skipped,
        replaced_names: collect_names.then(Vec::new),
        ..Default::default()
    };
    for skipped in &report.skipped {
        tracing::info!(path = %skipped.relative, reason = %skipped.reason, "skipped");
    }
    let on_disk: HashSet<&str> = walk.files.iter().map(|f| f.relative.as_str()).collect();
    let vanished: Vec<String> =
        indexed.keys().filter(|path| in_scope(path) && !on_disk.contains(path.as_str())).cloned().collect();

    // Which files changed: hash them in parallel (reading is cheap next to parsing).
    let started = std::time::Instant::now();
    let changed: Vec<&WorkspaceFile> = background_pool().install(|| {
        walk.files
            .par_iter()
            .filter(|file| match indexed.get(&file.relative) {
                Some(hash) => file_hash(file).as_deref() != Some(hash.as_str()),
                None => true,
            })
            .collect()
    });
    report.files_unchanged = walk.files.len() - changed.len();
    tracing::debug!(ms = started.elapsed().as_millis() as u64, changed = changed.len(), "hashed the workspace");
    let indexed_at = now_micros();
    let total = changed.len();
    let mut done = 0;
    progress.files(done, total);
    let mut pending_deletes = vanished;
    report.files_deleted = pending_deletes.len();
    for group in changed.chunks(options.files_per_commit.max(1)) {
        let started = std::time::Instant::now();
        let outcomes: Vec<FileOutcome> = background_pool()
            .install(|| group.par_iter().map(|file| process_file(file, &options.parse, indexed_at)).collect());
        tracing::debug!(ms = started.elapsed().as_millis() as u64, files = group.len(), "parsed");
        // Every file of the group is replaced, including files that now yield no symbols.
        let mut paths: Vec<String> = std::mem::take(&mut pending_deletes);
        let mut symbols = Vec::new();
        for outcome in outcomes {
            match outcome {
                FileOutcome::Symbols { relative, symbols: file_symbols, partial } => {
                    report.files_parsed += 1;
                    report.files_partial += usize::from(partial);
                    // A file that yields nothing and never did needs no commit.
                    if !file_symbols.is_empty() || indexed.contains_key(&relative) {
                        paths.push(relative);
                    }
                    symbols.extend(file_symbols);
                }
                FileOutcome::Skipped(skipped) => {
                    if !skipped.reason.is_empty() {
                        tracing::info!(path = %skipped.relative, reason = %skipped.reason, "skipped");
                        report.skipped.push(skipped.clone());
                    }
                    if indexed.contains_key(&skipped.relative) {
                        paths.push(skipped.relative);
                    }
                }
            }
        }
        // Vectors of texts that are already embedded somewhere in the table are reused.
        let wanted: Vec<String> = symbols.iter().map(|s| s.text_hash.clone()).collect();
        let started = std::time::Instant::now();
        let cache = store.cached_embeddings(&wanted).await?;
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            texts = wanted.len(),
            "looked up the embedding cache"
        );
        for symbol in &mut symbols {
            if let Some(vector) = cache.get(&symbol.text_hash) {
                symbol.embedding = Some(vector.clone());
                report.embeddings_reused += 1;
            }
        }
        report.symbols_written += symbols.len();
        let started = std::time::Instant::now();
        store.replace_files(&paths, &symbols).await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, rows = symbols.len(), "committed");
        if let Some(names) = &mut report.replaced_names {
            names.extend(symbols.iter().map(crate::query::names::NameEntry::from));
        }
        report.replaced_paths.extend(paths);
        done += group.len();
        progress.files(done, total);
    }
    if !pending_deletes.is_empty() {
        store.delete_files(&pending_deletes).await?;
        report.replaced_paths.extend(pending_deletes);
    }
    if report.files_parsed > 100 {
        release_free_memory();
    }
    Ok(report)
}

/// Gives memory freed by a large batch of work (source texts, trees, Arrow batches) back to
/// the operating system. glibc keeps freed blocks in per-thread arenas, so a long-running
/// daemon would otherwise stay at the peak of its largest re-index.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Embeds every row that has no vector yet, `batch` rows per commit. Returns how many rows
/// were embedded. Reused vectors were already filled in by `reconcile`.
pub async fn embed_pending(
    store: &Store,
    embedder: &Embedder,
    batch: usize,
    progress: &dyn IndexProgress,
) -> anyhow::Result<usize> {
    let stats = store.stats().await?;
    let total = stats.rows - stats.embedded_rows;
    let mut done = 0;
    progress.embedded(done, total);
    loop {
        let mut rows = store.unembedded(batch.max(1)).await?;
        if rows.is_empty() {
            break;
        }
        let texts: Vec<String> = rows.iter().map(crate::symbols::embedding_text).collect();
        let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        // The forward pass is CPU-bound: keep it off the async workers.
        let vectors = tokio::task::block_in_place(|| embedder.embed(&text_refs))?;
        for (row, vector) in rows.iter_mut().zip(vectors) {
            row.embedding = Some(vector);
        }
        store.update_rows(&rows).await?;
        done += rows.len();
        progress.embedded(done.min(total), total);
    }
    if done > 1000 {
        release_free_memory();
    }
    Ok(done)
}

/// What the live daemon is asked to do.
#[derive(Debug, Clone)]
pub enum Event {
    /// These absolute paths changed on disk (from the watcher or the editor's notifications).
    Paths(Vec<std::path::PathBuf>),
    /// Re-check the whole workspace (lost events, ignore rules changed, `zenith/reindex`).
    Rescan,
    /// The settings changed (`workspace/didChangeConfiguration`): index with these options
    /// from now on, and re-check the whole workspace under them.
    Configure(Box<IndexOptions>),
}

/// The writer's state, published after every commit for readers (`zenith/status`).
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriterStatus {
    pub ready: bool,
    /// A full re-check of the workspace is running (the startup reconcile, a re-index or a
    /// settings change); clients show progress for it.
    pub indexing: bool,
    /// The writer watches the folder itself; when false it relies on the editor's file events.
    pub watching: bool,
    /// How many full re-checks this writer has started (readers that missed a short one
    /// between two snapshots still see that it happened).
    #[serde(skip)]
    pub rechecks: u64,
    pub version: u64,
    pub symbols: usize,
    pub embedded: usize,
    pub pending_changes: usize,
    pub last_errors: Vec<Skipped>,
    pub last_commit_ms: f64,
    /// What the last commit changed: `None` after a full reconcile (readers rebuild), else the
    /// replaced paths (readers patch just those; empty when only embeddings were added).
    #[serde(skip)]
    pub changed_paths: Option<Vec<String>>,
    /// With `changed_paths`, the name entries of the rows that commit wrote for those paths,
    /// when the writer has them (deltas); readers otherwise read the paths' rows back.
    #[serde(skip)]
    pub changed_names: Option<Vec<crate::query::names::NameEntry>>,
}

/// Keeps one workspace's index equal to the workspace, as the only writer of that index.
pub struct LiveIndex {
    pub root: std::path::PathBuf,
    pub store: Store,
    pub options: IndexOptions,
    pub embedder: Option<std::sync::Arc<Embedder>>,
    /// Changes arriving within this window after the first become one commit.
    pub batch_window: std::time::Duration,
}

/// Rows embedded per background step; small, so deltas never wait long behind embedding.
const EMBED_STEP: usize = 64;
/// How often a running back-fill publishes its progress (each publish reads the table's stats).
const EMBED_PUBLISH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

impl LiveIndex {
    /// Runs until `events` closes: a startup reconcile, then deltas as they come, embeddings in
    /// the background between them, and maintenance when fragments or unindexed rows pile up.
    /// `publish` is called after every commit.
    pub async fn run(
        mut self,
        mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
        publish: impl Fn(WriterStatus) + Send + Sync,
    ) -> anyhow::Result<()> {
        let mut status = WriterStatus::default();
        let report = reconcile(&self.root, &self.store, &self.options, &Silent).await?;
        status.last_errors = report.skipped;
        status.changed_paths = None;
        status.changed_names = None;
        self.refresh(&mut status, &publish, 0.0).await?;
        self.maintain_without_embedder(&mut status, &publish).await?;
        let mut embedding_pending = self.embedder.is_some();
        let mut published = std::time::Instant::now();
        loop {
            let event = if embedding_pending {
                match events.try_recv() {
                    Ok(event) => Some(event),
                    Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                        embedding_pending = self.embed_step().await?;
                        if !embedding_pending {
                            self.maintain().await?;
                        }
                        // Embedding commits are published too (at most once a second while a
                        // back-fill runs), so readers' semantic search and progress move with them.
                        if !embedding_pending || published.elapsed() >= EMBED_PUBLISH_INTERVAL {
                            let last_commit_ms = status.last_commit_ms;
                            status.changed_paths = Some(Vec::new());
                            status.changed_names = Some(Vec::new());
                            self.refresh(&mut status, &publish, last_commit_ms).await?;
                            published = std::time::Instant::now();
                        }
                        continue;
                    }
                    Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => None,
                }
            } else {
                events.recv().await
            };
            let Some(first) = event else { return Ok(()) };
            // Collect what else arrives within the batch window into the same commit.
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + self.batch_window;
            while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
                batch.push(event);
            }
            status.pending_changes = batch.len();
            let started = std::time::Instant::now();
            if let Some(options) = batch.iter().rev().find_map(|event| match event {
                Event::Configure(options) => Some(options.clone()),
                _ => None,
            }) {
                self.options = *options;
            }
            let full = batch.iter().any(|event| matches!(event, Event::Rescan | Event::Configure(_)));
            let report = if full {
                // Said before the re-check starts, so clients can show progress for it.
                status.indexing = true;
                status.rechecks += 1;
                status.changed_paths = Some(Vec::new());
                status.changed_names = Some(Vec::new());
                publish(status.clone());
                let report = reconcile(&self.root, &self.store, &self.options, &Silent).await;
                status.indexing = false;
                report?
            } else {
                let mut targets: Vec<std::path::PathBuf> = batch
                    .into_iter()
                    .flat_map(|event| match event {
                        Event::Paths(paths) => paths,
                        Event::Rescan | Event::Configure(_) => Vec::new(),
                    })
                    .collect();
                targets.sort();
                targets.dedup();
                // A changed ignore file changes what is indexed anywhere below it.
                if targets
                    .iter()
                    .any(|t| t.file_name().is_some_and(|n| n == ".gitignore" || n == ".ignore" || n == ".zenithignore"))
                {
                    status.changed_paths = None;
                    status.changed_names = None;
                    reconcile(&self.root, &self.store, &self.options, &Silent).await?
                } else {
                    let mut report = reconcile_paths(&self.root, &targets, &self.store, &self.options).await?;
                    status.changed_paths = Some(report.replaced_paths.clone());
                    status.changed_names = report.replaced_names.take();
                    report
                }
            };
            if full {
                status.changed_paths = None;
                status.changed_names = None;
            }
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            status.pending_changes = 0;
            if !report.skipped.is_empty() {
                status.last_errors = report.skipped;
            }
            embedding_pending = self.embedder.is_some();
            self.refresh(&mut status, &publish, elapsed).await?;
            self.maintain_without_embedder(&mut status, &publish).await?;
        }
    }

    /// Without a model there is no embedding step to run maintenance after, so it runs after
    /// each commit instead (the full-text index would otherwise never be built). A maintenance
    /// commit is published too: readers must move to the version that has the index.
    async fn maintain_without_embedder(
        &self,
        status: &mut WriterStatus,
        publish: &(impl Fn(WriterStatus) + Send + Sync),
    ) -> anyhow::Result<()> {
        if self.embedder.is_none() && self.maintain().await? {
            let last_commit_ms = status.last_commit_ms;
            status.changed_paths = Some(Vec::new());
            status.changed_names = Some(Vec::new());
            self.refresh(status, publish, last_commit_ms).await?;
        }
        Ok(())
    }

    async fn refresh(
        &self,
        status: &mut WriterStatus,
        publish: &(impl Fn(WriterStatus) + Send + Sync),
        commit_ms: f64,
    ) -> anyhow::Result<()> {
        let stats = self.store.stats().await?;
        status.ready = true;
        status.version = stats.version;
        status.symbols = stats.rows;
        status.embedded = stats.embedded_rows;
        status.last_commit_ms = commit_ms;
        publish(status.clone());
        Ok(())
    }

    /// Embeds one small batch; returns whether more rows are waiting.
    async fn embed_step(&self) -> anyhow::Result<bool> {
        let Some(embedder) = &self.embedder else {
            return Ok(false);
        };
        let mut rows = self.store.unembedded(EMBED_STEP).await?;
        if rows.is_empty() {
            return Ok(false);
        }
        let texts: Vec<String> = rows.iter().map(crate::symbols::embedding_text).collect();
        let embedder = embedder.clone();
        let vectors = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.embed(&refs)
        })
        .await??;
        for (row, vector) in rows.iter_mut().zip(vectors) {
            row.embedding = Some(vector);
        }
        self.store.update_rows(&rows).await?;
        Ok(rows.len() == EMBED_STEP)
    }

    /// Compacts and refreshes indexes when fragments or unindexed rows pass their thresholds;
    /// returns whether it did (a new table version).
    async fn maintain(&self) -> anyhow::Result<bool> {
        let stats = self.store.stats().await?;
        let unindexed = stats.vector_index.map(|c| c.unindexed_rows).unwrap_or(stats.embedded_rows)
            + stats.fulltext_index.map(|c| c.unindexed_rows).unwrap_or(stats.rows);
        let needs_index = stats.fulltext_index.is_none()
            || (stats.vector_index.is_none() && stats.embedded_rows >= crate::store::MIN_ROWS_FOR_VECTOR_INDEX);
        if stats.fragments > MAX_FRAGMENTS || unindexed > MAX_UNINDEXED_ROWS || needs_index {
            tracing::info!(fragments = stats.fragments, unindexed, "maintenance: optimize and refresh indexes");
            self.store.optimize(crate::store::KEEP_VERSIONS).await?;
            self.store.refresh_indexes().await?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// An exclusive lock on an index: two writers on one index would interleave commits of
/// different views of the workspace. Released when dropped (or when the process dies).
pub struct IndexLock {
    _file: std::fs::File,
    pub path: std::path::PathBuf,
}

impl IndexLock {
    /// Takes the lock of the index at `uri` (a directory, or for `s3://` a file in the cache).
    pub fn acquire(uri: &str) -> anyhow::Result<IndexLock> {
        let path = if uri.contains("://") {
            crate::assets::cache_dir().join("locks").join(format!("{}.lock", &content_hash(uri.as_bytes())[..16]))
        } else {
            Path::new(uri).join("zenith.lock")
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(IndexLock { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another Zenith daemon is already writing the index at {uri} (lock {}); \
                 this one will not write to it",
                path.display()
            ),
            Err(std::fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}
