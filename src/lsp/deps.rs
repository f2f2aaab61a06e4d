//! The dependency tier in the protocol: `workspace/symbol` over the dependencies' names (with
//! `lsp.symbol_scope = "deps"` or `"all"`) and `zenith/search` with scope `deps` / `all`.

use std::sync::Arc;

use tower_lsp_server::ls_types::Uri;

use super::Shared;
use crate::deps::{Cache, DepsScope};
use crate::query::names::NameMatch;

/// The dependencies' names of every open folder, in memory (millions of names: loaded once,
/// reloaded in the background when the catalog or a folder's package set changes).
#[derive(Default)]
pub(super) struct DepsNames {
    pub names: Option<Arc<crate::deps::DepsNames>>,
    checked_at: Option<std::time::Instant>,
    loading: bool,
}

/// The union of the open folders' dependency scopes, `None` before any `deps index`.
pub(super) fn folders_scope(shared: &Shared) -> Option<DepsScope> {
    let roots: Vec<std::path::PathBuf> =
        shared.folders.read().map(|f| f.iter().map(|f| f.root.clone()).collect()).unwrap_or_default();
    DepsScope::load_many(&Cache::open(), &roots)
}

/// Starts a background check (at most every 5 s) that reloads the names when they changed.
pub(super) fn refresh_names(shared: Arc<Shared>) {
    {
        let Ok(mut names) = shared.deps_names.write() else { return };
        let recent = names.checked_at.is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(5));
        if recent || names.loading {
            return;
        }
        names.loading = true;
        names.checked_at = Some(std::time::Instant::now());
    }
    tokio::spawn(async move {
        let current = shared.deps_names.read().ok().and_then(|n| n.names.as_ref().map(|n| n.fingerprint().clone()));
        let shared_for_load = shared.clone();
        let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<crate::deps::DepsNames>> {
            let Some(scope) = folders_scope(&shared_for_load) else { return Ok(None) };
            if current.as_ref() == Some(&scope.fingerprint()) {
                return Ok(None);
            }
            let engine = crate::query::Engine::shared()?;
            Ok(Some(crate::deps::DepsNames::load(scope, &engine)?))
        })
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))
        .and_then(|result| result);
        if let Ok(mut names) = shared.deps_names.write() {
            names.loading = false;
            match loaded {
                Ok(Some(fresh)) => names.names = Some(Arc::new(fresh)),
                Ok(None) => {}
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "reading the dependencies' names failed"),
            }
        }
    });
}

/// A dependency's name match, with its package label (`serde 1.0.219`) and where it is.
pub(super) struct DepMatch {
    pub found: NameMatch,
    pub label: String,
    pub uri: Uri,
}

/// The file of a dependency symbol: on disk when the sources are there, else a
/// `zenith-deps:` URI that names the package version.
pub(super) fn dependency_uri(scope: &DepsScope, key: &str, inner: &str) -> Option<Uri> {
    match scope.packages.get(key).and_then(|s| s.root.as_ref()) {
        Some(root) => Uri::from_file_path(root.join(inner)),
        None => format!("zenith-deps:///{key}/{inner}").parse().ok(),
    }
}

/// Name matches of the dependencies for `query` (`serde::Deserializer` restricts to `serde`).
pub(super) fn search_names(names: &DepsNames, query: &str, limit: usize) -> Vec<DepMatch> {
    let Some(names) = names.names.as_deref() else { return Vec::new() };
    let scope = names.scope();
    let mut found = Vec::new();
    for m in names.search(query, limit, &|_| true) {
        let Some(source) = scope.packages.get(&m.key) else { continue };
        let label = format!("{} {}", source.package.name, source.package.version);
        let Some(uri) = dependency_uri(scope, &m.key, &m.found.entry.path) else { continue };
        found.push(DepMatch { found: m.found, label, uri });
    }
    found
}
