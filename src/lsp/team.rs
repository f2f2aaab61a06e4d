//! `zenith/team/push`, `zenith/team/status` and the team side of `zenith/search` (scope
//! `team` / `all`). The work is `team`'s; this file maps it to the protocol.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::*;

use super::{Backend, Shared, folder_settings, folders::send_progress, internal, invalid_params};
use crate::daemon::Folder;
use crate::query::federated::ViewSource;
use crate::store::{Store, StoreConfig};
use crate::team::{self, Remote};

/// Parameters of the `zenith/team/*` requests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamParams {
    /// One workspace folder (a `file://` URI or a path); default: every folder.
    pub folder: Option<String>,
    /// `zenith/team/push` only: report what would be sent, send nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// One folder's answer to `zenith/team/push`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamPushResult {
    pub root: String,
    pub plan: Option<team::PushPlan>,
    pub report: Option<team::PushReport>,
    pub error: Option<String>,
}

/// One folder's answer to `zenith/team/status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamStatusResult {
    pub root: String,
    pub status: Option<team::TeamStatus>,
    pub error: Option<String>,
}

impl Backend {
    fn team_folders(&self, params: &TeamParams) -> jsonrpc::Result<Vec<Arc<Folder>>> {
        let folders = self.shared.folders.read().map_err(internal)?.clone();
        let Some(wanted) = &params.folder else {
            return Ok(folders);
        };
        let path = match wanted.parse::<Uri>().ok().and_then(|uri| uri.to_file_path().map(|p| p.into_owned())) {
            Some(path) => path,
            None => std::path::PathBuf::from(wanted),
        };
        let chosen: Vec<Arc<Folder>> = folders.into_iter().filter(|folder| folder.root == path).collect();
        if chosen.is_empty() {
            return Err(invalid_params(format!("{wanted} is not a workspace folder of this server")));
        }
        Ok(chosen)
    }

    pub(super) async fn team_push(&self, params: TeamParams) -> jsonrpc::Result<Vec<TeamPushResult>> {
        let folders = self.team_folders(&params)?;
        static PUSHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = PUSHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = ProgressToken::String(format!("zenith/team/push/{number}"));
        let supported = self.shared.client.create_work_done_progress(token.clone()).await.is_ok();
        let begin = WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: if params.dry_run { "Planning a team push".into() } else { "Pushing to the team remote".into() },
            cancellable: Some(false),
            message: None,
            percentage: None,
        });
        send_progress(&self.shared, &token, supported, begin).await;
        let mut results = Vec::new();
        for folder in folders {
            let root = folder.root.display().to_string();
            let report = WorkDoneProgress::Report(WorkDoneProgressReport {
                cancellable: Some(false),
                message: Some(root.clone()),
                percentage: None,
            });
            send_progress(&self.shared, &token, supported, report).await;
            let outcome = push_folder(&self.shared, &folder, params.dry_run).await;
            results.push(match outcome {
                Ok((plan, report)) => TeamPushResult { root, plan, report, error: None },
                Err(error) => TeamPushResult { root, plan: None, report: None, error: Some(format!("{error:#}")) },
            });
        }
        let sent: usize = results.iter().filter_map(|r| r.report.as_ref()).map(|r| r.files_sent).sum();
        let failed = results.iter().filter(|r| r.error.is_some()).count();
        let message = match (params.dry_run, failed) {
            (_, 0) if params.dry_run => "planned".to_string(),
            (_, 0) => format!("{sent} files sent"),
            _ => format!("{failed} folder(s) failed"),
        };
        send_progress(
            &self.shared,
            &token,
            supported,
            WorkDoneProgress::End(WorkDoneProgressEnd { message: Some(message) }),
        )
        .await;
        Ok(results)
    }

    pub(super) async fn team_status(&self, params: TeamParams) -> jsonrpc::Result<Vec<TeamStatusResult>> {
        let mut results = Vec::new();
        for folder in self.team_folders(&params)? {
            let root = folder.root.display().to_string();
            let result = async {
                let settings = folder_settings(&self.shared, &folder.root)?;
                let remote = Remote::from_settings(&settings.team)?.ok_or_else(no_remote)?;
                let repo = team::repo_name(&folder.root, &settings.team).ok();
                anyhow::Ok(team::status(&remote, repo.as_deref()).await)
            }
            .await;
            results.push(match result {
                Ok(status) => TeamStatusResult { root, status: Some(status), error: None },
                Err(error) => TeamStatusResult { root, status: None, error: Some(format!("{error:#}")) },
            });
        }
        Ok(results)
    }
}

fn no_remote() -> anyhow::Error {
    anyhow::anyhow!("no team remote is configured (`[team] remote` in your configuration, or ZENITH_TEAM_REMOTE)")
}

async fn push_folder(
    shared: &Shared,
    folder: &Folder,
    dry_run: bool,
) -> anyhow::Result<(Option<team::PushPlan>, Option<team::PushReport>)> {
    let settings = folder_settings(shared, &folder.root)?;
    let remote = Remote::from_settings(&settings.team)?.ok_or_else(no_remote)?;
    // The folder's writer (this process or another) keeps the index fresh; the plan leaves out
    // files it has not caught up with.
    let store = Store::open(&StoreConfig::existing(folder.index_uri.clone())).await?;
    let plan = team::plan_push(&folder.root, &store, &remote, &settings.team, &settings.index).await?;
    if dry_run {
        return Ok((Some(plan), None));
    }
    Ok((None, Some(team::push(plan, &store, &remote).await?)))
}

/// The team sources a scoped search of `folders` reads, DuckDB able to read them. The
/// repositories of the folders themselves are left out: their working copies are indexed
/// privately and win over the team's copy.
pub(super) async fn search_sources(shared: &Shared, folders: &[Arc<Folder>]) -> anyhow::Result<Vec<ViewSource>> {
    let mut sources: Vec<ViewSource> = Vec::new();
    let mut own = std::collections::HashSet::new();
    for folder in folders {
        let settings = folder_settings(shared, &folder.root)?;
        if let Ok(repo) = team::repo_name(&folder.root, &settings.team) {
            own.insert(repo);
        }
        let Some(remote) = Remote::from_settings(&settings.team)? else {
            continue;
        };
        crate::query::Engine::shared()?.register_storage(remote.uri(), remote.storage_options())?;
        for source in cached_sources(&remote).await? {
            // A mirror in sync is read locally; the others from the remote while a background
            // sync brings their mirror up to date.
            let source = match team::synced_mirror(&remote, &source) {
                Some(mirror) => mirror,
                None => {
                    sync_in_background(remote.clone(), source.clone());
                    source
                }
            };
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
    }
    if sources.is_empty()
        && folders.iter().all(|f| folder_settings(shared, &f.root).is_ok_and(|s| s.team.remote.is_none()))
    {
        return Err(no_remote());
    }
    sources.retain(|source| !own.contains(&source.repo));
    Ok(sources)
}

/// Syncs one repository's mirror in the background (at most one sync per repository at a time).
fn sync_in_background(remote: Remote, source: ViewSource) {
    static SYNCING: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{}\u{0}{}", remote.uri(), source.repo);
    {
        let Ok(mut syncing) = SYNCING.lock() else { return };
        if syncing.contains(&key) {
            return;
        }
        syncing.push(key.clone());
    }
    tokio::spawn(async move {
        if let Err(error) = team::sync_mirror(&remote, &source).await {
            tracing::warn!(repo = %source.repo, error = %format!("{error:#}"), "mirroring a team repository failed");
        }
        if let Ok(mut syncing) = SYNCING.lock() {
            syncing.retain(|k| *k != key);
        }
    });
}

/// The remote's sources, re-read at most every 30 s (reading the views costs a round trip).
async fn cached_sources(remote: &Remote) -> anyhow::Result<Vec<ViewSource>> {
    type Cache = std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Vec<ViewSource>)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some((at, sources)) = cache.lock().ok().and_then(|c| c.get(remote.uri()).cloned())
        && at.elapsed() < std::time::Duration::from_secs(30)
    {
        return Ok(sources);
    }
    let sources = remote.sources().await?;
    if let Ok(mut cache) = cache.lock() {
        cache.insert(remote.uri().to_string(), (std::time::Instant::now(), sources.clone()));
    }
    Ok(sources)
}

/// The team repositories' name indexes for `workspace/symbol` (scope `all`).
#[derive(Default)]
pub(super) struct TeamNames {
    pub indexes: Vec<(String, Arc<crate::query::names::NameIndex>)>,
    loaded_at: Option<std::time::Instant>,
    loading: bool,
}

/// Starts a background reload of the team's names when the copy in memory is missing or
/// older than 30 s (a request never waits for the remote).
pub(super) fn refresh_team_names(shared: Arc<Shared>) {
    {
        let Ok(mut names) = shared.team_names.write() else { return };
        let fresh = names.loaded_at.is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(30));
        if fresh || names.loading {
            return;
        }
        names.loading = true;
    }
    tokio::spawn(async move {
        let loaded = async {
            let folders = shared.folders.read().map_err(|e| anyhow::anyhow!("{e}"))?.clone();
            let sources = search_sources(&shared, &folders).await?;
            tokio::task::spawn_blocking(
                move || -> anyhow::Result<Vec<(String, Arc<crate::query::names::NameIndex>)>> {
                    let engine = crate::query::Engine::shared()?;
                    let mut indexes = Vec::new();
                    for source in &sources {
                        let entries = engine.name_entries_in_view(source)?;
                        indexes.push((source.repo.clone(), Arc::new(crate::query::names::NameIndex::new(entries))));
                    }
                    Ok(indexes)
                },
            )
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?
        }
        .await;
        if let Ok(mut names) = shared.team_names.write() {
            names.loading = false;
            names.loaded_at = Some(std::time::Instant::now());
            match loaded {
                Ok(indexes) => names.indexes = indexes,
                // Keep the last good copy; the remote being down never stops local answers.
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "reading the team's names failed"),
            }
        }
    });
}
