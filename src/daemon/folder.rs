//! One owner per workspace folder, whichever front-end opened it.
//!
//! [`open`] starts the folder: when this process gets the index's writer lock it becomes the
//! writer (the `LiveIndex` loop, the file watcher); when another process holds the lock it
//! becomes a read-only *follower* that polls the table's version and catches up with each new
//! commit, and takes over as the writer as soon as the lock is free (the other writer exited).
//! Either way readers get [`Snapshot`]s: one table version with the name index of exactly the
//! files of that version, swapped as a whole, so a reader never pairs names of one commit with
//! the version of another.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use super::{Event, IndexLock, LiveIndex, WriterStatus};
use crate::config::Settings;
use crate::embed::Embedder;
use crate::query::Engine;
use crate::query::names::{NameEntry, NameIndex};
use crate::store::{Store, StoreConfig, StoreError};

/// What this process is for the folder's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Not started yet (the first commit or the first read is under way).
    Starting,
    /// This process holds the writer lock and keeps the index equal to the workspace.
    Writer,
    /// Another process writes; this one reads each commit it makes.
    Follower,
}

/// One consistent point in time of a folder's index.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub role: Role,
    /// The Lance table version every read of this snapshot uses.
    pub version: u64,
    /// The names of exactly the rows of `version`.
    pub names: Arc<NameIndex>,
    /// Row counts and the writer's last errors (a follower sees counts only).
    pub status: WriterStatus,
    /// When this process first saw `version`.
    pub seen_at: SystemTime,
    /// Why the folder is not being indexed, when its writer failed (it retries).
    pub error: Option<String>,
}

impl Snapshot {
    fn starting() -> Snapshot {
        Snapshot {
            role: Role::Starting,
            version: 0,
            names: Arc::new(NameIndex::default()),
            status: WriterStatus::default(),
            seen_at: SystemTime::now(),
            error: None,
        }
    }

    /// True once the snapshot holds a committed version (names can be served).
    pub fn ready(&self) -> bool {
        self.status.ready
    }

    /// What a client shows: the worst state of the folder and why. `embed_enabled` is the
    /// folder's setting; `embedder_loaded` whether the process has the model.
    pub fn health(&self, embed_enabled: bool, embedder_loaded: bool) -> (Health, Option<String>) {
        if let Some(error) = &self.error {
            return (Health::Error, Some(format!("indexing stopped: {error} (retrying)")));
        }
        if self.role == Role::Starting || self.status.indexing || !self.ready() {
            return (Health::Indexing, Some("checking the workspace's files".into()));
        }
        if embed_enabled && !embedder_loaded {
            return (Health::Degraded, Some(MODEL_MISSING.into()));
        }
        if embed_enabled && self.role == Role::Writer && self.status.embedded < self.status.symbols {
            let message = format!("{} of {} symbols embedded", self.status.embedded, self.status.symbols);
            return (Health::Embedding, Some(message));
        }
        (Health::Ok, None)
    }
}

/// The message for a folder that wants embeddings when the process has no model.
pub const MODEL_MISSING: &str = "the embedding model is not available (run `znt setup`): semantic search is off \
     and hybrid search uses fulltext only";

/// A folder's state as a client shows it (`zenith/status` `health`, `index_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Names and (when enabled) embeddings are complete.
    Ok,
    /// A full check of the workspace is running; names may be behind.
    Indexing,
    /// Names are complete; embeddings are being computed.
    Embedding,
    /// Serving, with a feature off (no model).
    Degraded,
    /// The writer failed and is retrying.
    Error,
}

/// How to open one folder.
#[derive(Clone)]
pub struct FolderConfig {
    /// The workspace folder (canonical).
    pub root: PathBuf,
    /// The index location (directory or `s3://` URI).
    pub index_uri: String,
    pub settings: Settings,
    /// The process's model, shared by its folders; `None` indexes names only.
    pub embedder: Option<Arc<Embedder>>,
    /// How often a follower checks for a new commit (and for a free writer lock).
    pub follow_interval: Duration,
    /// The file watcher's debounce.
    pub debounce: Duration,
}

impl FolderConfig {
    pub fn new(root: PathBuf, index_uri: String, settings: Settings, embedder: Option<Arc<Embedder>>) -> Self {
        FolderConfig {
            root,
            index_uri,
            settings,
            embedder,
            follow_interval: Duration::from_millis(250),
            debounce: Duration::from_millis(50),
        }
    }
}

/// A started folder. Dropping it stops its writer or follower (and releases the lock).
pub struct Folder {
    pub root: PathBuf,
    pub index_uri: String,
    /// The folder's `embed.enabled` setting (whether it wants embeddings at all).
    pub embed_enabled: bool,
    /// The dataset readers query (`<index>/symbols.lance`).
    pub dataset: String,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    events: Arc<Mutex<Option<mpsc::UnboundedSender<Event>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Folder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Folder {
    /// The latest snapshot (cheap: an `Arc`).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A receiver that wakes at every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// Waits until the folder has a committed version (or `timeout` passes).
    pub async fn wait_ready(&self, timeout: Duration) -> Arc<Snapshot> {
        let mut snapshots = self.subscribe();
        let _ = tokio::time::timeout(timeout, snapshots.wait_for(|s| s.ready())).await;
        self.snapshot()
    }

    /// Hands an event to the writer; `false` when this process is not the writer.
    pub fn send(&self, event: Event) -> bool {
        let events = self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        events.as_ref().is_some_and(|events| events.send(event).is_ok())
    }
}

/// Starts the folder: writer if the lock is free, else follower (see the module docs).
pub async fn open(config: FolderConfig) -> anyhow::Result<Folder> {
    let dataset = crate::store::dataset_uri_for(&config.index_uri);
    if config.index_uri.contains("://") {
        Engine::shared()?.register_storage(&config.index_uri, &StoreConfig::new(&config.index_uri).storage_options)?;
    }
    let (publish, snapshots) = watch::channel(Arc::new(Snapshot::starting()));
    let events = Arc::new(Mutex::new(None));
    let task = tokio::spawn(own(config.clone(), dataset.clone(), publish, events.clone()));
    Ok(Folder {
        embed_enabled: config.settings.embed_enabled,
        root: config.root,
        index_uri: config.index_uri,
        dataset,
        snapshots,
        events,
        task,
    })
}

/// Writer or follower, for as long as the folder is open. A writer that fails releases the
/// lock, reports the error in the snapshot and starts over after a pause.
async fn own(
    config: FolderConfig,
    dataset: String,
    publish: watch::Sender<Arc<Snapshot>>,
    events: Arc<Mutex<Option<mpsc::UnboundedSender<Event>>>>,
) {
    let mut pause = Duration::from_millis(500);
    loop {
        let lock = match IndexLock::acquire(&config.index_uri) {
            Ok(lock) => lock,
            Err(_) => match follow(&config, &dataset, &publish).await {
                Ok(lock) => lock,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "following the index failed; retrying");
                    set_error(&publish, &error);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(30));
                    continue;
                }
            },
        };
        tracing::info!(root = %config.root.display(), "writing the index");
        let result = write(&config, &dataset, lock, &publish, &events).await;
        if let Ok(mut slot) = events.lock() {
            *slot = None;
        }
        match result {
            Ok(()) => return,
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "indexing stopped; retrying");
                set_error(&publish, &error);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}

fn set_error(publish: &watch::Sender<Arc<Snapshot>>, error: &anyhow::Error) {
    publish.send_modify(|snapshot| {
        let mut next = (**snapshot).clone();
        next.error = Some(format!("{error:#}"));
        *snapshot = Arc::new(next);
    });
}

/// The writer: the live loop and the watcher, with a snapshot published after every commit.
async fn write(
    config: &FolderConfig,
    dataset: &str,
    _lock: IndexLock,
    publish: &watch::Sender<Arc<Snapshot>>,
    events: &Mutex<Option<mpsc::UnboundedSender<Event>>>,
) -> anyhow::Result<()> {
    let store = Store::open(&StoreConfig::new(&config.index_uri))
        .await
        .with_context(|| format!("opening the index at {}", config.index_uri))?;
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    if let Ok(mut slot) = events.lock() {
        *slot = Some(events_tx.clone());
    }
    let sink = move |change: crate::watch::Change| {
        let _ = events_tx.send(match change {
            crate::watch::Change::Paths(paths) => Event::Paths(paths),
            crate::watch::Change::Rescan => Event::Rescan,
        });
    };
    let _watcher = match crate::watch::watch(std::slice::from_ref(&config.root), config.debounce, sink) {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            tracing::warn!(%error, "file watching unavailable; relying on the editor's notifications");
            None
        }
    };
    // An index left by an earlier run is served at once, while the startup reconcile checks
    // it against the workspace (a large workspace takes seconds to hash).
    let stats = store.stats().await?;
    if stats.rows > 0 && !publish.borrow().ready() {
        let dataset = dataset.to_string();
        let names = tokio::task::spawn_blocking(move || next_names(&NameIndex::default(), &dataset, None, None))
            .await
            .map_err(|error| anyhow::anyhow!("reading the names panicked: {error}"))??
            .unwrap_or_default();
        publish.send_replace(Arc::new(Snapshot {
            role: Role::Starting,
            version: stats.version,
            names: Arc::new(names),
            status: WriterStatus {
                ready: true,
                indexing: true,
                watching: _watcher.is_some(),
                version: stats.version,
                symbols: stats.rows,
                embedded: stats.embedded_rows,
                ..Default::default()
            },
            seen_at: SystemTime::now(),
            error: None,
        }));
    }
    // The team pusher runs beside the writer, as `team.push` says (manual: never).
    let _pusher = AbortOnDrop(tokio::spawn(crate::team::auto_push(
        config.root.clone(),
        store.clone(),
        config.settings.clone(),
        publish.subscribe(),
    )));
    // So does the dependency indexer, once the workspace is caught up (`[deps] auto`).
    let _dependencies = AbortOnDrop(tokio::spawn(crate::deps::auto::run(
        config.root.clone(),
        config.settings.clone(),
        config.embedder.clone(),
        publish.subscribe(),
    )));
    let live = LiveIndex {
        root: config.root.clone(),
        store,
        options: config.settings.index.clone(),
        embedder: if config.settings.embed_enabled { config.embedder.clone() } else { None },
        batch_window: config.settings.batch_window,
    };
    // Every status is applied in order: each carries the paths its commit changed.
    let (status_tx, mut statuses) = mpsc::unbounded_channel::<WriterStatus>();
    let names = async {
        while let Some(status) = statuses.recv().await {
            let current = publish.borrow().clone();
            let base = if current.role == Role::Writer { current.names.clone() } else { Arc::default() };
            // A first commit as the writer rebuilds: the follower's names may be behind.
            let (paths, entries) = if current.role == Role::Writer {
                (status.changed_paths.clone(), status.changed_names.clone())
            } else {
                (None, None)
            };
            let dataset = dataset.to_string();
            let next = tokio::task::spawn_blocking(move || next_names(&base, &dataset, paths, entries))
                .await
                .map_err(|error| anyhow::anyhow!("updating the name index panicked: {error}"))?;
            let names = match next {
                Ok(Some(names)) => Arc::new(names),
                Ok(None) => current.names.clone(),
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "updating the name index failed");
                    current.names.clone()
                }
            };
            let seen_at = if status.version == current.version { current.seen_at } else { SystemTime::now() };
            publish.send_replace(Arc::new(Snapshot {
                role: Role::Writer,
                version: status.version,
                names,
                status,
                seen_at,
                error: None,
            }));
        }
        anyhow::Ok(())
    };
    let watching = _watcher.is_some();
    let run = live.run(events_rx, move |mut status| {
        status.watching = watching;
        let _ = status_tx.send(status);
    });
    let (run, names) = tokio::join!(run, names);
    run.and(names)
}

/// Aborts a background task when the owner goes away (the writer stops, the folder closes).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The name index after a commit: rebuilt after a full reconcile (`paths` is `None`), patched
/// for a delta (with the writer's entries, or the paths' rows read back), unchanged (`None`)
/// when the commit only added embeddings.
pub fn next_names(
    current: &NameIndex,
    dataset: &str,
    paths: Option<Vec<String>>,
    entries: Option<Vec<NameEntry>>,
) -> anyhow::Result<Option<NameIndex>> {
    Ok(match (paths, entries) {
        (None, _) => Some(NameIndex::new(Engine::shared()?.name_entries(dataset)?)),
        (Some(paths), _) if paths.is_empty() => None,
        (Some(paths), Some(entries)) => Some(current.with_files_replaced(&paths, entries)),
        (Some(paths), None) => {
            Some(current.with_files_replaced(&paths, Engine::shared()?.name_entries_for(dataset, &paths)?))
        }
    })
}

/// The follower: polls the table version; at each new one, compares file hashes with the last
/// version's and patches the names of the files that changed. Returns the writer lock once
/// it is free (the writer exited), for this process to take over.
async fn follow(
    config: &FolderConfig,
    dataset: &str,
    publish: &watch::Sender<Arc<Snapshot>>,
) -> anyhow::Result<IndexLock> {
    let mut store: Option<Store> = None;
    let mut hashes: Option<HashMap<String, String>> = None;
    let mut names = Arc::new(NameIndex::default());
    let mut version: Option<u64> = None;
    loop {
        if let Ok(lock) = IndexLock::acquire(&config.index_uri) {
            tracing::info!(root = %config.root.display(), "the writer exited; taking over");
            return Ok(lock);
        }
        if store.is_none() {
            match Store::open(&StoreConfig::existing(&config.index_uri)).await {
                Ok(opened) => store = Some(opened),
                // The writer has not created the table yet.
                Err(StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error).context("opening the index to follow it"),
            }
        }
        if let Some(store) = &store {
            let current = store.version().await?;
            if version != Some(current) {
                let now = store.file_hashes().await?;
                let changed: Option<Vec<String>> = hashes.as_ref().map(|before| changed_files(before, &now));
                let base = names.clone();
                let dataset_owned = dataset.to_string();
                let next = tokio::task::spawn_blocking(move || next_names(&base, &dataset_owned, changed, None))
                    .await
                    .map_err(|error| anyhow::anyhow!("updating the name index panicked: {error}"))??;
                if let Some(next) = next {
                    names = Arc::new(next);
                }
                let stats = store.stats().await?;
                hashes = Some(now);
                version = Some(current);
                publish.send_replace(Arc::new(Snapshot {
                    role: Role::Follower,
                    version: current,
                    names: names.clone(),
                    status: WriterStatus {
                        ready: true,
                        version: current,
                        symbols: stats.rows,
                        embedded: stats.embedded_rows,
                        ..Default::default()
                    },
                    seen_at: SystemTime::now(),
                    error: None,
                }));
            }
        }
        tokio::time::sleep(config.follow_interval).await;
    }
}

/// Paths whose content hash differs between two versions (added, changed or removed).
fn changed_files(before: &HashMap<String, String>, now: &HashMap<String, String>) -> Vec<String> {
    let mut changed: Vec<String> =
        now.iter().filter(|(path, hash)| before.get(*path) != Some(hash)).map(|(path, _)| path.clone()).collect();
    changed.extend(before.keys().filter(|path| !now.contains_key(*path)).cloned());
    changed.sort();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_files_finds_added_changed_and_removed_paths() {
        let before: HashMap<String, String> =
            [("a", "1"), ("b", "2"), ("c", "3")].into_iter().map(|(p, h)| (p.into(), h.into())).collect();
        let now: HashMap<String, String> =
            [("a", "1"), ("b", "9"), ("d", "4")].into_iter().map(|(p, h)| (p.into(), h.into())).collect();
        assert_eq!(changed_files(&before, &now), vec!["b", "c", "d"]);
    }
}
