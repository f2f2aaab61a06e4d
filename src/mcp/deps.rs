//! The dependency tier in the MCP tools: `scope` = `deps` / `all` and `package` on
//! `search_symbols` and `search_code`, answered from the dependencies' package tables (the
//! exact versions of the workspace's lock files; `znt deps index` or a running daemon builds
//! them).

use std::sync::Arc;

use rmcp::schemars;

use crate::deps::{Cache, DepsScope};
use crate::query::{Engine, Filters, Hit, SearchRequest};

/// Which indexes a search tool reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum ToolScope {
    /// The workspace's own code (the default).
    #[default]
    Workspace,
    /// The public API of the dependencies, at the versions in the lock files.
    Deps,
    /// Both, workspace first on equal rank.
    All,
}

impl ToolScope {
    pub fn workspace(self) -> bool {
        matches!(self, ToolScope::Workspace | ToolScope::All)
    }
    pub fn deps(self) -> bool {
        matches!(self, ToolScope::Deps | ToolScope::All)
    }
}

/// The dependencies' names in memory, reloaded when the catalog or the package set changes.
#[derive(Default)]
pub(super) struct DepsNames {
    loaded: Option<Arc<crate::deps::DepsNames>>,
}

/// The workspace's dependency scope, narrowed to `package`; a tool error says what to run.
/// `None` for scope `all` (every tier there is) while the dependencies were never indexed.
pub(super) fn scope(
    workspace: &std::path::Path,
    tool_scope: ToolScope,
    package: Option<&str>,
) -> Result<Option<DepsScope>, String> {
    let Some(scope) = DepsScope::load(&Cache::open(), workspace) else {
        if tool_scope == ToolScope::All && package.is_none() {
            return Ok(None);
        }
        return Err("the dependencies are not indexed yet: run `znt deps index` in the workspace (a running \
                    `znt serve` or `znt daemon` does it by itself)"
            .to_string());
    };
    match package {
        Some(name) => scope.only(name.trim()).map(Some).ok_or_else(|| {
            format!("no indexed dependency is called `{name}` (`znt deps status` lists them and why some are missing)")
        }),
        None => Ok(Some(scope)),
    }
}

/// The full scope's names (cached), or one package's (small, read per call).
pub(super) fn names(
    cache: &std::sync::Mutex<DepsNames>,
    scope: &DepsScope,
    whole: bool,
) -> Result<Arc<crate::deps::DepsNames>, String> {
    let engine = Engine::shared().map_err(|e| e.to_string())?;
    let load = || crate::deps::DepsNames::load(scope.clone(), &engine).map(Arc::new).map_err(|e| format!("{e:#}"));
    if !whole {
        return load();
    }
    let fingerprint = scope.fingerprint();
    let mut cached = cache.lock().map_err(|e| e.to_string())?;
    if let Some(names) = &cached.loaded
        && *names.fingerprint() == fingerprint
    {
        return Ok(names.clone());
    }
    let names = load()?;
    cached.loaded = Some(names.clone());
    Ok(names)
}

/// A dependency hit as an answer line shows it: the file on disk when the sources are there.
pub(super) fn located(scope: &DepsScope, mut hit: Hit) -> Hit {
    if let Some(key) = &hit.package
        && let Some(root) = scope.packages.get(key).and_then(|s| s.root.as_ref())
    {
        hit.path = root.join(&hit.path).display().to_string();
    }
    hit
}

/// `search_symbols` over dependencies: ranked names, then their signatures and docs read from
/// the catalog. Lines carry the package and version.
pub(super) fn symbol_lines(
    scope: &DepsScope,
    names: &crate::deps::DepsNames,
    query: &str,
    filters: &Filters,
    limit: usize,
) -> Result<Vec<(i64, Hit)>, String> {
    let engine = Engine::shared().map_err(|e| e.to_string())?;
    let keep = |entry: &crate::query::names::NameEntry| {
        filters.kind.as_ref().is_none_or(|kind| entry.kind.eq_ignore_ascii_case(kind))
            && filters.language.as_ref().is_none_or(|language| entry.language.eq_ignore_ascii_case(language))
    };
    let matches = names.search(query, limit, &keep);
    let ids: Vec<String> = matches.iter().map(|m| m.found.entry.id.clone()).collect();
    // Ids repeat across versions of one package: a row is matched by id and catalog path.
    let rows = engine.symbols_by_ids_latest(&scope.dataset, &ids).map_err(|e| format!("{e:#}"))?;
    let details: std::collections::HashMap<(&str, &str), &crate::query::SymbolRow> =
        rows.iter().map(|row| ((row.id.as_str(), row.path.as_str()), row)).collect();
    let mut found = Vec::new();
    for crate::deps::DepNameMatch { found: m, key } in matches {
        let catalog_path = format!("{key}/{}", m.entry.path);
        let detail = details.get(&(m.entry.id.as_str(), catalog_path.as_str()));
        let hit = Hit {
            id: m.entry.id.clone(),
            path: m.entry.path.clone(),
            language: m.entry.language.clone(),
            kind: m.entry.kind.clone(),
            name: m.entry.name.clone(),
            qualified_name: m.entry.qualified_name.clone(),
            signature: detail.map(|d| d.signature.clone()).unwrap_or_default(),
            doc: detail.and_then(|d| d.doc.clone()),
            visibility: "public".into(),
            start_line: m.entry.start_line,
            start_col: m.entry.start_col,
            end_line: m.entry.end_line,
            end_col: m.entry.end_col,
            start_col_utf16: m.entry.start_col_utf16,
            end_col_utf16: m.entry.end_col_utf16,
            score: m.score as f32,
            repo: None,
            file_hash: None,
            package: Some(key),
        };
        found.push((m.score, located(scope, hit)));
    }
    Ok(found)
}

/// `search_code` over dependencies (`serde::…` restricts to serde).
pub(super) fn search(scope: &DepsScope, request: &SearchRequest) -> Result<Vec<Hit>, String> {
    let engine = Engine::shared().map_err(|e| e.to_string())?;
    let (only, text) = match scope.split_query(&request.text) {
        Some((only, rest)) => (Some(only), rest.to_string()),
        None => (None, request.text.clone()),
    };
    let mut request = request.clone();
    request.text = text;
    let scope = only.as_ref().unwrap_or(scope);
    let hits = scope.search(&engine, &request).map_err(|e| format!("{e:#}"))?;
    Ok(hits.into_iter().map(|hit| located(scope, hit)).collect())
}
