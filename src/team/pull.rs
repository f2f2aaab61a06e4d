//! Pull: a clone's index filled from the team's table instead of parsed and embedded. A
//! fresh index whose files are mostly on the remote starts as a byte-for-byte clone of the
//! team's table ([`seed`]); otherwise the rows of each matching file version are copied
//! ([`pull`]); texts anyone embedded keep their vectors ([`fill_embeddings`]).

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::{Remote, hash_workspace, remote_error};
use crate::daemon::IndexOptions;
use crate::store::{Store, StoreConfig};

/// What seeding a fresh index from the team's table did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedReport {
    /// File versions of the working tree the clone brought (their rows and vectors).
    pub files_copied: usize,
    pub rows_copied: usize,
    pub vectors_copied: usize,
    /// Rows of other versions (older pushes, other branches) deleted from the clone.
    pub rows_dropped: usize,
}

/// Seeds an index that does not exist yet (`config.uri`, a fresh clone's) with a byte-for-byte
/// copy of the team's table, indexes included, then deletes the rows of file versions the
/// working tree does not have: at 100 000 symbols that is seconds, where copying rows and
/// training the indexes again is minutes. Only when the working tree's versions are at least
/// half of the team table's rows (a clone of a pushed branch); otherwise `None`, and
/// [`pull`] copies the matching rows one by one. Also `None` when there is an index already,
/// or nothing on the remote.
pub async fn seed(
    root: &Path,
    config: &StoreConfig,
    remote: &Remote,
    repo: &str,
    options: &IndexOptions,
) -> anyhow::Result<Option<SeedReport>> {
    let existing = StoreConfig { create_if_missing: false, ..config.clone() };
    match Store::open(&existing).await {
        Err(crate::store::StoreError::NotFound { .. }) => {}
        // There is an index (or it cannot be opened, which opening it for the index will say).
        _ => return Ok(None),
    }
    let Some(table) = remote.repo_table(repo, false).await? else {
        return Ok(None);
    };
    let on_disk = hash_workspace(root, options).await?;
    clone_matching(&table, remote, &on_disk, &existing).await
}

/// Clones `table` to `target` (where no table exists) and deletes the rows of every version
/// not in `wanted` (path → content hash), when the wanted versions are at least half of the
/// table's rows; `None` otherwise (then copying rows one by one moves less).
pub(super) async fn clone_matching(
    table: &Store,
    remote: &Remote,
    wanted: &HashMap<String, String>,
    target: &StoreConfig,
) -> anyhow::Result<Option<SeedReport>> {
    let versions = table.file_versions().await.map_err(|error| remote_error(remote.uri(), &error.into()))?;
    let total: usize = versions.values().map(|(rows, _)| rows).sum();
    let mut report = SeedReport::default();
    let mut unwanted = Vec::new();
    for ((path, hash), (rows, vectors)) in versions {
        if wanted.get(&path) == Some(&hash) {
            report.files_copied += 1;
            report.rows_copied += rows;
            report.vectors_copied += vectors;
        } else {
            report.rows_dropped += rows;
            unwanted.push((path, hash));
        }
    }
    if report.rows_copied == 0 || report.rows_copied < total / 2 {
        return Ok(None);
    }
    if let Err(error) = table.clone_into(&target.uri).await {
        // Lance commits a clone's manifest last: what a failed copy leaves is no table, only
        // files, and the next open would stumble on them.
        let dataset = crate::store::dataset_uri_for(&target.uri);
        if !dataset.contains("://") {
            let _ = std::fs::remove_dir_all(&dataset);
        }
        return Err(remote_error(remote.uri(), &error.into()));
    }
    let store = Store::open(&StoreConfig { create_if_missing: false, ..target.clone() }).await?;
    store.delete_versions(&unwanted).await?;
    Ok(Some(report))
}

/// What a pull did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullReport {
    /// Files whose rows (symbols and vectors) were copied from the team table.
    pub files_copied: usize,
    pub rows_copied: usize,
    pub vectors_copied: usize,
    /// Files that still need parsing here (not on the remote in this version).
    pub files_left: usize,
}

/// Copies from the team table the rows of every file whose exact version (path and content
/// hash) is there and not yet in the private index, in one commit of the private table.
pub async fn pull(
    root: &Path,
    store: &Store,
    remote: &Remote,
    repo: &str,
    options: &IndexOptions,
) -> anyhow::Result<PullReport> {
    let Some(table) = remote.repo_table(repo, false).await? else {
        return Ok(PullReport::default());
    };
    let on_disk = hash_workspace(root, options).await?;
    let indexed = store.file_hashes().await?;
    let wanted: Vec<(String, String)> =
        on_disk.into_iter().filter(|(path, hash)| indexed.get(path) != Some(hash)).collect();
    let mut report = PullReport { files_left: wanted.len(), ..Default::default() };
    if wanted.is_empty() {
        return Ok(report);
    }
    let batches =
        table.batches_of_file_versions(&wanted).await.map_err(|error| remote_error(remote.uri(), &error.into()))?;
    let found = crate::store::count_versions(&batches)?;
    let mut paths: Vec<String> = found.keys().map(|(path, _)| path.clone()).collect();
    paths.sort();
    paths.dedup();
    report.files_copied = paths.len();
    report.files_left -= paths.len().min(report.files_left);
    report.rows_copied = found.values().map(|(rows, _)| rows).sum();
    report.vectors_copied = found.values().map(|(_, vectors)| vectors).sum();
    store.replace_files_with_batches(&paths, batches).await?;
    Ok(report)
}

/// Fills in vectors of rows that have none from the team table, by embedded-text hash: a text
/// anyone on the team embedded is not embedded again. Returns how many rows got one.
pub async fn fill_embeddings(store: &Store, remote: &Remote, repo: &str) -> anyhow::Result<usize> {
    let Some(table) = remote.repo_table(repo, false).await? else {
        return Ok(0);
    };
    let mut rows = store.unembedded(50_000).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let hashes: Vec<String> = rows.iter().map(|row| row.text_hash.clone()).collect();
    let cache = table.cached_embeddings(&hashes).await.map_err(|error| remote_error(remote.uri(), &error.into()))?;
    rows.retain_mut(|row| match cache.get(&row.text_hash) {
        Some(vector) => {
            row.embedding = Some(vector.clone());
            true
        }
        None => false,
    });
    store.update_rows(&rows).await?;
    Ok(rows.len())
}
