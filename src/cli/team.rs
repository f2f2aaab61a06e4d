//! `znt team push|pull|status` and the team side of `--scope` for `symbols` and `search`.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::{IndexLocation, Outcome, index_uri, open_existing_store, open_store};
use crate::config::Settings;
use crate::query::federated::{Scope, ViewSource};
use crate::query::names::{NameIndex, NameMatch};
use crate::query::{Engine, Hit, SearchRequest};
use crate::team::{self, Remote};

/// The team remote of a command that needs one.
pub(super) fn require_remote(settings: &Settings) -> anyhow::Result<Remote> {
    Remote::from_settings(&settings.team)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no team remote is configured: set `[team] remote = \"s3://bucket/prefix\"` in {}, \
             ZENITH_TEAM_REMOTE, or pass --team-remote",
            crate::config::user_config_path().map(|p| p.display().to_string()).unwrap_or_else(|| "config.toml".into())
        )
    })
}

pub(super) async fn push(
    location: &IndexLocation,
    workspace: &Path,
    settings: &Settings,
    dry_run: bool,
    json: bool,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let remote = require_remote(settings)?;
    // Bring the index in line with the working tree first when no writer does it already (a
    // running server or daemon keeps it fresh; the plan leaves out files it is behind on).
    let store = match crate::daemon::IndexLock::acquire(&index_uri(location)?) {
        Ok(_lock) if !dry_run => {
            let store = open_store(location).await?;
            crate::daemon::reconcile(workspace, &store, &settings.index, &crate::daemon::Silent).await?;
            store
        }
        _ => open_existing_store(location).await?,
    };
    let plan = team::plan_push(workspace, &store, &remote, &settings.team, &settings.index).await?;
    let mut out = std::io::stdout().lock();
    if dry_run {
        if json {
            writeln!(out, "{}", serde_json::to_string(&plan)?)?;
        } else {
            for file in &plan.send {
                writeln!(out, "send  {}  {} symbols ({} embedded)", file.path, file.rows, file.embedded)?;
            }
            for path in &plan.uncommitted {
                writeln!(out, "keep  {path}  (uncommitted changes: the ref keeps its previous version)")?;
            }
            for path in &plan.stale {
                writeln!(out, "keep  {path}  (the index is behind the working tree)")?;
            }
            for path in &plan.excluded {
                writeln!(out, "skip  {path}  (team.exclude)")?;
            }
            writeln!(
                out,
                "would push {} files ({} symbols) to {} as {}@{} ({}); {} files already there",
                plan.send.len(),
                plan.rows_to_send,
                remote.uri(),
                plan.identity.git_ref,
                &plan.identity.commit[..plan.identity.commit.len().min(12)],
                plan.identity.repo,
                plan.already_there
            )?;
        }
        return Ok(Outcome::Done);
    }
    let identity = plan.identity.clone();
    let started = std::time::Instant::now();
    let report = team::push(plan, &store, &remote).await?;
    if json {
        writeln!(out, "{}", serde_json::json!({ "identity": identity, "report": report }))?;
    } else if !quiet {
        eprintln!(
            "pushed {} files ({} symbols) to {} as {}@{} ({}); the ref's view lists {} files{} in {:.1}s",
            report.files_sent,
            report.rows_sent,
            remote.uri(),
            identity.git_ref,
            &identity.commit[..identity.commit.len().min(12)],
            identity.repo,
            report.files_in_view,
            report.maintenance.as_deref().map(|m| format!("; {m}")).unwrap_or_default(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Outcome::Done)
}

/// Copies what the team table has of this workspace into the private index, brings the rest
/// of the index up to date (names) and fills vectors from the team's embedding cache.
pub(super) async fn pull(
    location: &IndexLocation,
    workspace: &Path,
    settings: &Settings,
    json: bool,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let remote = require_remote(settings)?;
    let _lock = crate::daemon::IndexLock::acquire(&index_uri(location)?)?;
    let store = open_store(location).await?;
    let started = std::time::Instant::now();
    let repo = team::repo_name(workspace, &settings.team)?;
    let report = team::pull(workspace, &store, &remote, &repo, &settings.index).await?;
    let reconciled = crate::daemon::reconcile(workspace, &store, &settings.index, &crate::daemon::Silent).await?;
    let filled = team::fill_embeddings(&store, &remote, &repo).await?;
    store.refresh_indexes().await?;
    // Local mirrors of the team's other repositories, for fast `--scope team|all` searches.
    let mut mirrored = 0;
    for source in remote.sources().await? {
        if source.repo != repo && team::sync_mirror(&remote, &source).await?.is_some() {
            mirrored += 1;
        }
    }
    let stats = store.stats().await?;
    if json {
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::json!({
                "repo": repo, "pull": report, "files_parsed": reconciled.files_parsed,
                "vectors_from_cache": filled, "symbols": stats.rows, "embedded": stats.embedded_rows,
                "mirrored_repositories": mirrored,
            })
        )?;
    } else if !quiet {
        eprintln!(
            "pulled {} files ({} symbols, {} with vectors) of {repo} from {}; parsed {} here, {} vectors from the \
             team cache → {} symbols, {} embedded; {mirrored} team repositories mirrored for search; in {:.1}s{}",
            report.files_copied,
            report.rows_copied,
            report.vectors_copied,
            remote.uri(),
            reconciled.files_parsed,
            filled,
            stats.rows,
            stats.embedded_rows,
            started.elapsed().as_secs_f64(),
            if stats.embedded_rows < stats.rows { " (run `znt index` to embed the rest)" } else { "" }
        );
    }
    Ok(Outcome::Done)
}

pub(super) async fn status(
    location: &IndexLocation,
    workspace: &Path,
    settings: &Settings,
    json: bool,
) -> anyhow::Result<Outcome> {
    let remote = require_remote(settings)?;
    let repo = team::repo_name(workspace, &settings.team).ok();
    let status = team::status(&remote, repo.as_deref()).await;
    // What a push would send, when there is a local index and the remote answers.
    let pending = match (status.reachable, open_existing_store(location).await) {
        (true, Ok(store)) => team::plan_push(workspace, &store, &remote, &settings.team, &settings.index).await.ok(),
        _ => None,
    };
    let mut out = std::io::stdout().lock();
    if json {
        let pending = pending.as_ref().map(|plan| {
            serde_json::json!({
                "git_ref": plan.identity.git_ref, "commit": plan.identity.commit,
                "files_to_send": plan.send.len(), "symbols_to_send": plan.rows_to_send,
                "uncommitted": plan.uncommitted.len(), "stale": plan.stale.len(), "excluded": plan.excluded.len(),
            })
        });
        writeln!(out, "{}", serde_json::json!({ "team": status, "pending": pending }))?;
        return Ok(Outcome::Done);
    }
    writeln!(out, "remote    {}", status.remote)?;
    writeln!(out, "repo      {}", status.repo.as_deref().unwrap_or("unknown (no origin; set `[team] repo`)"))?;
    match &status.error {
        Some(error) => writeln!(out, "reachable no: {error}")?,
        None => writeln!(out, "reachable yes ({} repositories)", status.repositories.len())?,
    }
    for git_ref in &status.refs {
        writeln!(
            out,
            "ref       {} @ {}: {} files, {} symbols ({} embedded)",
            git_ref.git_ref,
            &git_ref.commit[..git_ref.commit.len().min(12)],
            git_ref.files,
            git_ref.symbols,
            git_ref.embedded
        )?;
    }
    if let Some(plan) = &pending {
        writeln!(
            out,
            "pending   {} files ({} symbols) to push on {}; {} uncommitted, {} not indexed yet, {} excluded",
            plan.send.len(),
            plan.rows_to_send,
            plan.identity.git_ref,
            plan.uncommitted.len(),
            plan.stale.len(),
            plan.excluded.len()
        )?;
    }
    Ok(Outcome::Done)
}

/// The team side of a scoped command: the remote's sources, DuckDB able to read them, and
/// this workspace's repository name (whose team copy the private index overrides).
pub(super) struct TeamScope {
    pub sources: Vec<ViewSource>,
    pub own_repo: Option<String>,
}

pub(super) async fn team_scope(settings: &Settings, workspace: &Path, engine: &Engine) -> anyhow::Result<TeamScope> {
    let remote = require_remote(settings)?;
    engine.register_storage(remote.uri(), remote.storage_options())?;
    // A repository mirrored at its current view is read locally (`znt team pull` syncs the
    // mirrors); any other straight from the remote.
    let sources = remote
        .sources()
        .await?
        .into_iter()
        .map(|source| team::synced_mirror(&remote, &source).unwrap_or(source))
        .collect();
    Ok(TeamScope { sources, own_repo: team::repo_name(workspace, &settings.team).ok() })
}

/// Hits of a scoped search: each source searched, then fused by reciprocal rank.
pub(super) fn scoped_search(
    scope: Scope,
    engine: &Engine,
    private: Option<(Vec<Hit>, HashSet<String>)>,
    team: Option<&TeamScope>,
    request: &SearchRequest,
) -> anyhow::Result<Vec<Hit>> {
    let mut lists = Vec::new();
    let mut private_paths = HashSet::new();
    if let Some((hits, paths)) = private {
        lists.push(hits);
        private_paths = paths;
    }
    if let (true, Some(team)) = (scope.team(), team) {
        for source in &team.sources {
            lists.push(
                engine
                    .search_view(source, request)
                    .with_context(|| format!("searching {} on the team remote", source.repo))?,
            );
        }
    }
    if scope == Scope::Private {
        return Ok(lists.into_iter().next().unwrap_or_default());
    }
    Ok(crate::query::federated::fuse(lists, team.and_then(|t| t.own_repo.as_deref()), &private_paths, request.limit))
}

/// Name matches of the team's repositories, each with its repository, best first.
pub(super) fn team_names(
    engine: &Engine,
    team: &TeamScope,
    query: &str,
    limit: usize,
) -> anyhow::Result<Vec<(String, NameMatch)>> {
    let mut found = Vec::new();
    for source in &team.sources {
        let names = NameIndex::new(engine.name_entries_in_view(source)?);
        found.extend(names.search(query, limit).into_iter().map(|m| (source.repo.clone(), m)));
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.1.score));
    Ok(found)
}
