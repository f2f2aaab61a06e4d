//! Opening the workspace's folders and telling the client about them: each folder's
//! `daemon::Folder`, the process's one model, `$/progress` for every busy period, messages for
//! failures, and the file-event registration when a writer has no watcher of its own.

use std::path::PathBuf;
use std::sync::Arc;

use tower_lsp_server::ls_types::*;

use super::{Shared, apply_symbol_limit, folder_settings};
use crate::daemon::{FolderConfig, Health, Role, Snapshot};
use crate::embed::Embedder;

/// Opens the folders of `initialize` (see `add_folders`).
pub(super) async fn start_folders(shared: Arc<Shared>) -> anyhow::Result<()> {
    let roots: Vec<PathBuf> = shared
        .roots
        .read()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .iter()
        .map(|root| root.canonicalize().unwrap_or_else(|_| root.clone()))
        .collect();
    let single = roots.len() == 1;
    add_folders(shared, roots, single).await
}

/// Opens each folder (`daemon::open_folder`: the writer when this server gets the index's lock,
/// else a follower) and reports its progress. `single`: the workspace has exactly this one
/// folder, so `--index-dir` applies to it.
pub(super) async fn add_folders(shared: Arc<Shared>, roots: Vec<PathBuf>, single: bool) -> anyhow::Result<()> {
    let options = shared.options.clone();
    // Each folder's settings, resolved as every other front-end resolves them. A folder whose
    // configuration is refused (or malformed) is reported and not indexed; the others are.
    let mut folders_settings = Vec::new();
    for root in &roots {
        match folder_settings(&shared, root) {
            Ok(settings) => folders_settings.push((root.clone(), settings)),
            Err(error) => {
                shared.client.show_message(MessageType::ERROR, format!("zenith: {error:#}")).await;
            }
        }
    }
    if let Some((_, first)) = folders_settings.first()
        && shared.opened.load(std::sync::atomic::Ordering::Relaxed) == 0
    {
        apply_symbol_limit(&shared, first);
    }
    // One model for the process, with the first folder's precision and threads; a folder with
    // `embed.enabled = false` (or ZENITH_EMBED=0) does not use it.
    if let Some(embed_config) = folders_settings.iter().find(|(_, s)| s.embed_enabled).map(|(_, s)| s.embed)
        && !shared.embedder_tried.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        load_embedder(&shared, embed_config).await?;
    }
    for (root, settings) in folders_settings {
        let uri = match (&options.index_dir, &settings.index_dir, single) {
            (Some(dir), _, true) => dir.clone(),
            (_, Some(dir), _) => dir.clone(),
            _ => crate::config::default_index_dir(&root)?.to_string_lossy().into_owned(),
        };
        let embedder = if settings.embed_enabled {
            shared.embedder.read().map_err(|e| anyhow::anyhow!("{e}"))?.clone()
        } else {
            None
        };
        // The folder's owner: the writer when this server gets the index's lock, else a
        // follower of the process that has it (another editor, `znt daemon`, `znt mcp`).
        let folder = crate::daemon::open_folder(FolderConfig::new(root, uri, settings, embedder)).await?;
        let number = shared.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let watch = FolderWatch {
            root: folder.root.clone(),
            embed_enabled: folder.embed_enabled,
            snapshots: folder.subscribe(),
        };
        shared.folders.write().map_err(|e| anyhow::anyhow!("{e}"))?.push(Arc::new(folder));
        tokio::spawn(report_progress(shared.clone(), watch, number));
    }
    Ok(())
}

/// Loads the model once for the process. Only a model already on disk is loaded (about half a
/// second): an editor start never waits for a download; `znt setup` fetches the model. Its
/// absence is said once, with what still works.
async fn load_embedder(shared: &Arc<Shared>, embed_config: crate::embed::EmbedConfig) -> anyhow::Result<()> {
    let slot = shared.clone();
    let loaded = tokio::task::spawn_blocking(move || match crate::assets::local_model_dir() {
        Ok(Some(dir)) => match Embedder::load(&dir, embed_config) {
            Ok(embedder) => {
                if let Ok(mut slot) = slot.embedder.write() {
                    *slot = Some(Arc::new(embedder));
                }
                Ok(())
            }
            Err(error) => Err(format!("the embedding model failed to load ({error})")),
        },
        Ok(None) => Err("the embedding model is not available".to_string()),
        Err(error) => Err(format!("the embedding model is not available ({error})")),
    })
    .await?;
    if let Err(reason) = loaded {
        tracing::warn!(%reason, "semantic search is off");
        let message = format!(
            "zenith: {reason}. Semantic search is off and hybrid search uses fulltext only; run `znt setup` and restart the server."
        );
        shared.client.show_message(MessageType::WARNING, message).await;
    }
    Ok(())
}

/// What `report_progress` follows of a folder. Not the `Folder` itself: a folder removed from
/// the workspace must be dropped (which stops its writer), ending the report.
struct FolderWatch {
    root: PathBuf,
    embed_enabled: bool,
    snapshots: tokio::sync::watch::Receiver<Arc<Snapshot>>,
}

/// Reports the folder's indexing to the client until the folder closes: one `$/progress` run
/// each time it is busy (the first index, every re-index, an embedding back-fill), a message
/// when its writer fails or when this server only follows another process's writer, and the
/// file-event registration when the writer has no watcher of its own.
async fn report_progress(shared: Arc<Shared>, mut folder: FolderWatch, number: usize) {
    let name = folder.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut runs = 0usize;
    let mut active: Option<(ProgressToken, bool)> = None;
    let mut told_follower = false;
    let mut told_error: Option<String> = None;
    let mut rechecks = 0;
    loop {
        let snapshot = folder.snapshots.borrow_and_update().clone();
        if snapshot.role == Role::Follower && !told_follower {
            told_follower = true;
            let message = format!(
                "zenith: another Zenith process writes the index of {}; following it (reads only)",
                folder.root.display()
            );
            shared.client.log_message(MessageType::WARNING, message).await;
        }
        match &snapshot.error {
            Some(error) if told_error.as_ref() != Some(error) => {
                told_error = Some(error.clone());
                let message = format!("zenith: indexing {} stopped: {error}. Retrying.", folder.root.display());
                shared.client.show_message(MessageType::ERROR, message).await;
            }
            Some(_) => {}
            None => told_error = None,
        }
        if snapshot.role == Role::Writer && !snapshot.status.watching {
            register_watched_files(&shared).await;
        }
        let embedder_loaded = shared.embedder.read().map(|e| e.is_some()).unwrap_or(false);
        let (health, message) = snapshot.health(folder.embed_enabled, embedder_loaded);
        let busy = matches!(health, Health::Indexing | Health::Embedding);
        // A re-check that began and ended between two wake-ups still gets its progress run.
        let missed = snapshot.status.rechecks > rechecks && !busy && active.is_none();
        rechecks = rechecks.max(snapshot.status.rechecks);
        let busy = busy || missed;
        let counts = format!("{} symbols, {} embedded", snapshot.status.symbols, snapshot.status.embedded);
        match (busy, &active) {
            (true, None) => {
                let token = if runs == 0 {
                    ProgressToken::String(format!("zenith/index/{number}"))
                } else {
                    ProgressToken::String(format!("zenith/index/{number}/{runs}"))
                };
                runs += 1;
                let supported = shared.client.create_work_done_progress(token.clone()).await.is_ok();
                let begin = WorkDoneProgress::Begin(WorkDoneProgressBegin {
                    title: format!("Indexing {name}"),
                    cancellable: Some(false),
                    message,
                    percentage: None,
                });
                send_progress(&shared, &token, supported, begin).await;
                if missed {
                    let end = WorkDoneProgress::End(WorkDoneProgressEnd { message: Some(counts) });
                    send_progress(&shared, &token, supported, end).await;
                } else {
                    active = Some((token, supported));
                }
            }
            (true, Some((token, supported))) => {
                let percentage = (health == Health::Embedding)
                    .then(|| (snapshot.status.embedded * 100).checked_div(snapshot.status.symbols).unwrap_or(0) as u32);
                let report = WorkDoneProgress::Report(WorkDoneProgressReport {
                    cancellable: Some(false),
                    message: Some(if health == Health::Embedding { counts } else { message.unwrap_or(counts) }),
                    percentage,
                });
                send_progress(&shared, token, *supported, report).await;
            }
            (false, Some((token, supported))) => {
                let end = WorkDoneProgress::End(WorkDoneProgressEnd { message: Some(counts) });
                send_progress(&shared, token, *supported, end).await;
                active = None;
            }
            (false, None) => {}
        }
        if folder.snapshots.changed().await.is_err() {
            // The folder was closed (removed from the workspace, or the server is exiting).
            if let Some((token, supported)) = active {
                let end = WorkDoneProgress::End(WorkDoneProgressEnd { message: Some("folder closed".into()) });
                send_progress(&shared, &token, supported, end).await;
            }
            return;
        }
    }
}

pub(super) async fn send_progress(shared: &Shared, token: &ProgressToken, supported: bool, value: WorkDoneProgress) {
    if supported {
        let params = ProgressParams { token: token.clone(), value: ProgressParamsValue::WorkDone(value) };
        shared.client.send_notification::<notification::Progress>(params).await;
    }
}

/// Asks the client for file events (once), when a writer has no file watcher of its own and
/// the client can register them.
async fn register_watched_files(shared: &Shared) {
    use std::sync::atomic::Ordering::Relaxed;
    if !shared.watched_files_dynamic.load(Relaxed) || shared.watched_files_registered.swap(true, Relaxed) {
        return;
    }
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: vec![FileSystemWatcher { glob_pattern: GlobPattern::String("**/*".into()), kind: None }],
    };
    let registration = Registration {
        id: "zenith/watched-files".into(),
        method: "workspace/didChangeWatchedFiles".into(),
        register_options: serde_json::to_value(options).ok(),
    };
    if let Err(error) = shared.client.register_capability(vec![registration]).await {
        tracing::warn!(%error, "the client refused file-event registration");
    }
}
