//! The daemon's own dependency indexing: once the folder's writer has caught up with the
//! workspace (names and vectors), index what its lock files name, and again whenever a lock
//! file changes. Runs beside every writer (`daemon::Folder`), never beside a follower.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::{Cache, IndexRun, Quiet};
use crate::config::Settings;
use crate::daemon::Snapshot;
use crate::embed::Embedder;

/// How often lock files are checked for changes.
const POLL: Duration = Duration::from_secs(30);

/// The lock files of the workspace and when each last changed: a change re-runs the index.
fn lock_file_stamps(root: &Path, settings: &Settings) -> BTreeMap<PathBuf, Option<SystemTime>> {
    let Ok((required, _)) = super::required(root, settings) else { return BTreeMap::new() };
    let mut stamps: BTreeMap<PathBuf, Option<SystemTime>> = BTreeMap::new();
    for item in required {
        let path = root.join(&item.lock_file);
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        stamps.insert(path, modified);
    }
    stamps
}

/// Caught up: names complete, and vectors too when this writer embeds.
fn caught_up(snapshot: &Snapshot, embeds: bool) -> bool {
    let status = &snapshot.status;
    status.ready && !status.indexing && (!embeds || status.embedded >= status.symbols)
}

/// Runs for as long as the folder's writer does (the caller aborts it with the writer).
pub async fn run(
    root: PathBuf,
    settings: Settings,
    embedder: Option<Arc<Embedder>>,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
) {
    if !settings.deps.enabled || !settings.deps.auto {
        return;
    }
    let embeds = embedder.is_some() && settings.embed_enabled;
    let mut indexed: Option<BTreeMap<PathBuf, Option<SystemTime>>> = None;
    loop {
        // The workspace's own index comes first: dependencies never delay its answers.
        if snapshots.wait_for(|snapshot| caught_up(snapshot, embeds)).await.is_err() {
            return;
        }
        let (scan_root, scan_settings) = (root.clone(), settings.clone());
        let stamps =
            tokio::task::spawn_blocking(move || lock_file_stamps(&scan_root, &scan_settings)).await.unwrap_or_default();
        if indexed.as_ref() != Some(&stamps) {
            let remote = if settings.deps.share {
                crate::team::Remote::from_settings(&settings.team).ok().flatten()
            } else {
                None
            };
            let run = IndexRun {
                embedder: if embeds { embedder.as_deref() } else { None },
                remote: remote.as_ref(),
                progress: &Quiet,
            };
            match super::index(&root, &settings, &Cache::open(), run).await {
                Ok(report) => {
                    tracing::info!(
                        packages = report.packages,
                        indexed = report.indexed,
                        pulled = report.pulled,
                        missing = report.missing,
                        embedded = report.embedded,
                        seconds = report.total_secs,
                        "dependencies indexed"
                    );
                    indexed = Some(stamps);
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "indexing dependencies failed; retrying later")
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
