//! `znt symbols` and `znt search` over the scopes a user picks: the workspace's own index, the
//! team remote's repositories, the dependencies' package tables, or all of them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use super::output::Paint;
use super::{IndexLocation, Outcome, load_embedder, open_existing_store, query_engine, team};
use crate::config::Settings;
use crate::deps::DepsScope;
use crate::query::federated::Scope;
use crate::query::names::{NameIndex, NameMatch};
use crate::query::{Engine, Filters, Hit, SearchMode, SearchRequest, SymbolRow};

/// Where a result comes from.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    Private,
    Team(String),
    /// A package key (`{ecosystem}/{name}/{version}`).
    Dependency(String),
}

/// The dependency side of a command: the workspace's scope, narrowed to `--package` or to the
/// package a `name::rest` query names. Returns the scope and the query to search it with;
/// `None` for scope `all` (every tier there is) when the dependencies were never indexed.
fn dependency_scope<'q>(
    workspace: &Path,
    scope: Scope,
    package: Option<&str>,
    query: &'q str,
) -> anyhow::Result<Option<(DepsScope, &'q str)>> {
    let cache = crate::deps::Cache::open();
    let Some(deps) = DepsScope::load(&cache, workspace) else {
        if scope == Scope::All && package.is_none() {
            return Ok(None);
        }
        anyhow::bail!(
            "the dependencies of {} are not indexed yet: run `znt deps index` (or keep `znt serve` / `znt daemon` running)",
            workspace.display()
        )
    };
    if let Some(name) = package {
        let only = deps
            .only(name)
            .ok_or_else(|| anyhow::anyhow!("no indexed dependency is called {name:?} (see `znt deps status`)"))?;
        return Ok(Some((only, query)));
    }
    Ok(Some(match deps.split_query(query) {
        Some((only, rest)) => (only, rest),
        None => (deps, query),
    }))
}

/// `package` / `version` / `ecosystem` / `file` fields of a dependency result.
fn dependency_fields(deps: Option<&DepsScope>, key: &str, inner: &str) -> serde_json::Value {
    let source = deps.and_then(|d| d.packages.get(key));
    let package = crate::deps::Package::from_key(key);
    serde_json::json!({
        "ecosystem": package.as_ref().map(|p| p.ecosystem.as_str()),
        "name": package.as_ref().map(|p| &p.name),
        "version": package.as_ref().map(|p| &p.version),
        "file": source.and_then(|s| s.root.as_ref()).map(|root| root.join(inner).display().to_string()),
    })
}

fn origin_label(origin: &Origin) -> Option<String> {
    match origin {
        Origin::Private => None,
        Origin::Team(repo) => Some(repo.clone()),
        Origin::Dependency(key) => Some(
            crate::deps::Package::from_key(key).map(|p| format!("{} {}", p.name, p.version)).unwrap_or(key.clone()),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn symbols(
    runtime: &tokio::runtime::Runtime,
    location: &IndexLocation,
    settings: &Settings,
    workspace: &Path,
    paint: &Paint,
    query: String,
    limit: usize,
    scope: Scope,
    package: Option<String>,
    json: bool,
) -> anyhow::Result<Outcome> {
    let store = if scope.private() { Some(runtime.block_on(open_existing_store(location))?) } else { None };
    let engine = match &store {
        Some(store) => query_engine(store)?,
        None => Engine::shared()?,
    };
    // `all` is every tier there is: the team's only when a remote is configured.
    let with_team = scope == Scope::Team || (scope == Scope::All && settings.team.remote.is_some());
    let mut found: Vec<(Origin, NameMatch)> = Vec::new();
    if let Some(store) = &store {
        let names = NameIndex::new(engine.name_entries(&store.dataset_uri())?);
        found.extend(names.search(&query, limit).into_iter().map(|m| (Origin::Private, m)));
    }
    if with_team {
        let team = runtime.block_on(team::team_scope(settings, workspace, &engine))?;
        let private_paths: HashSet<String> = match &store {
            Some(store) => runtime.block_on(store.file_hashes())?.into_keys().collect(),
            None => Default::default(),
        };
        let own = team.own_repo.clone();
        found.extend(
            team::team_names(&engine, &team, &query, limit)?
                .into_iter()
                .filter(|(repo, m)| Some(repo) != own.as_ref() || !private_paths.contains(&m.entry.path))
                .map(|(repo, m)| (Origin::Team(repo), m)),
        );
    }
    let mut deps = None;
    let deps_side = if scope.deps() { dependency_scope(workspace, scope, package.as_deref(), &query)? } else { None };
    if let Some((scope, deps_query)) = deps_side {
        // Only the names that can match: a one-off search over millions of names.
        let names = NameIndex::new(scope.name_entries_matching(&engine, deps_query)?);
        for mut m in names.search_strict(deps_query, limit, &|_| true) {
            if let Some((source, inner)) = scope.locate(&m.entry.path) {
                let key = source.package.key();
                m.entry.path = inner.to_string();
                found.push((Origin::Dependency(key), m));
            }
        }
        deps = Some(scope);
    }
    // Stable: on equal scores the workspace comes first, then the team, then dependencies.
    found.sort_by_key(|b| std::cmp::Reverse(b.1.score));
    found.truncate(limit);
    // The signature and doc are not in the name index: read them for just these rows.
    // (A writer committing in between can only leave a deleted row's fields null.)
    let details: HashMap<String, SymbolRow> = match (&store, json) {
        (Some(store), true) => {
            let version = runtime.block_on(store.version())?;
            let ids: Vec<String> = found
                .iter()
                .filter(|(origin, _)| *origin == Origin::Private)
                .map(|(_, m)| m.entry.id.clone())
                .collect();
            engine
                .symbols_by_ids(&store.dataset_uri(), version, &ids)?
                .into_iter()
                .map(|row| (row.id.clone(), row))
                .collect()
        }
        _ => Default::default(),
    };
    // Dependencies' rows, matched by id and catalog path (ids repeat across versions).
    let dep_details: HashMap<(String, String), SymbolRow> = match (&deps, json) {
        (Some(deps), true) => {
            let ids: Vec<String> = found
                .iter()
                .filter(|(origin, _)| matches!(origin, Origin::Dependency(_)))
                .map(|(_, m)| m.entry.id.clone())
                .collect();
            engine
                .symbols_by_ids_latest(&deps.dataset, &ids)?
                .into_iter()
                .map(|row| ((row.id.clone(), row.path.clone()), row))
                .collect()
        }
        _ => Default::default(),
    };
    let mut out = std::io::stdout().lock();
    for (origin, found) in &found {
        let entry = &found.entry;
        if json {
            let row = match origin {
                Origin::Private => details.get(&entry.id),
                Origin::Dependency(key) => dep_details.get(&(entry.id.clone(), format!("{key}/{}", entry.path))),
                Origin::Team(_) => None,
            };
            let mut value = serde_json::json!({
                "name": entry.name, "qualified_name": entry.qualified_name, "kind": entry.kind,
                "language": entry.language, "path": entry.path, "start_line": entry.start_line + 1,
                "end_line": entry.end_line + 1, "signature": row.map(|r| &r.signature),
                "doc": row.and_then(|r| r.doc.as_ref()), "visibility": row.map(|r| &r.visibility),
                "score": found.score,
                "repo": if let Origin::Team(repo) = origin { Some(repo) } else { None },
            });
            if let Origin::Dependency(key) = origin {
                value["package"] = dependency_fields(deps.as_ref(), key, &entry.path);
            }
            writeln!(out, "{value}")?;
        } else {
            let label = origin_label(origin).map(|l| format!("{}  ", paint.dim(&format!("[{l}]")))).unwrap_or_default();
            writeln!(
                out,
                "{label}{}  {}  {}",
                paint.location(&entry.path, entry.start_line + 1),
                paint.kind(&entry.kind),
                paint.name(&entry.qualified_name)
            )?;
        }
    }
    Ok(if found.is_empty() { Outcome::NothingFound } else { Outcome::Done })
}

/// The search's arguments, as given on the command line.
pub(super) struct SearchArgs {
    pub query: String,
    pub mode: SearchMode,
    pub filters: Filters,
    pub limit: usize,
    pub scope: Scope,
    pub package: Option<String>,
    pub json: bool,
}

pub(super) fn search(
    runtime: &tokio::runtime::Runtime,
    location: &IndexLocation,
    settings: &Settings,
    workspace: &Path,
    paint: &Paint,
    args: SearchArgs,
) -> anyhow::Result<Outcome> {
    let SearchArgs { query, mode, filters, limit, scope, package, json } = args;
    let store = if scope.private() { Some(runtime.block_on(open_existing_store(location))?) } else { None };
    let engine = match &store {
        Some(store) => query_engine(store)?,
        None => Engine::shared()?,
    };
    let deps = if scope.deps() { dependency_scope(workspace, scope, package.as_deref(), &query)? } else { None };
    let vector = match mode {
        SearchMode::Fulltext => None,
        SearchMode::Semantic | SearchMode::Hybrid => {
            let embedder = load_embedder(settings)?;
            Some(embedder.embed_query(&query)?)
        }
    };
    let mut request = SearchRequest::new(mode, query.clone(), vector);
    request.filters = filters;
    request.limit = limit;
    let with_team = scope == Scope::Team || (scope == Scope::All && settings.team.remote.is_some());
    let private = match &store {
        Some(store) => {
            let hits = engine.search(&store.dataset_uri(), &request)?;
            let paths = if with_team {
                runtime.block_on(store.file_hashes())?.into_keys().collect()
            } else {
                Default::default()
            };
            Some((hits, paths))
        }
        None => None,
    };
    let team = if with_team { Some(runtime.block_on(team::team_scope(settings, workspace, &engine))?) } else { None };
    let mut hits = team::scoped_search(scope, &engine, private, team.as_ref(), &request)?;
    if let Some((deps, deps_query)) = &deps {
        let mut deps_request = request.clone();
        deps_request.text = deps_query.to_string();
        let deps_hits = deps.search(&engine, &deps_request)?;
        hits = if scope == Scope::Deps {
            deps_hits
        } else {
            crate::query::federated::fuse(vec![hits, deps_hits], None, &HashSet::new(), limit)
        };
    }
    let outcome = if hits.is_empty() { Outcome::NothingFound } else { Outcome::Done };
    let deps = deps.map(|(scope, _)| scope);
    let mut out = std::io::stdout().lock();
    for hit in hits {
        let origin = match (&hit.repo, &hit.package) {
            (Some(repo), _) => Origin::Team(repo.clone()),
            (None, Some(key)) => Origin::Dependency(key.clone()),
            (None, None) => Origin::Private,
        };
        if json {
            print_json(&mut out, &hit, deps.as_ref())?;
        } else {
            let label =
                origin_label(&origin).map(|l| format!("{}  ", paint.dim(&format!("[{l}]")))).unwrap_or_default();
            writeln!(
                out,
                "{label}{}  {}  {}  {}  {}",
                paint.location(&hit.path, hit.start_line + 1),
                paint.kind(&hit.kind),
                paint.name(&hit.qualified_name),
                hit.signature,
                paint.dim(&format!("({:.3})", hit.score))
            )?;
            if let Some(first_line) = hit.doc.as_deref().and_then(|d| d.lines().next()) {
                writeln!(out, "    {}", paint.dim(first_line))?;
            }
        }
    }
    Ok(outcome)
}

fn print_json(out: &mut impl Write, hit: &Hit, deps: Option<&DepsScope>) -> anyhow::Result<()> {
    let mut value = serde_json::json!({
        "name": hit.name, "qualified_name": hit.qualified_name, "kind": hit.kind,
        "language": hit.language, "path": hit.path, "start_line": hit.start_line + 1,
        "end_line": hit.end_line + 1, "signature": hit.signature, "doc": hit.doc, "score": hit.score,
        "repo": hit.repo,
    });
    if let Some(key) = &hit.package {
        value["package"] = dependency_fields(deps, key, &hit.path);
    }
    writeln!(out, "{value}")?;
    Ok(())
}
