//! The catalog: one searchable copy of every cached package version's rows (paths prefixed by
//! the package's key), and the read side of the dependency tier (`DepsScope`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{Cache, Package};
use crate::query::names::NameEntry;
use crate::query::{Engine, Hit, SearchMode, SearchRequest};
use crate::store::{Store, StoreConfig};
use crate::symbols::Symbol;

/// Rows per catalog commit while copying package tables in.
const ROWS_PER_COMMIT: usize = 50_000;

pub(super) async fn open(cache: &Cache) -> anyhow::Result<Store> {
    Ok(Store::open(&StoreConfig::new(cache.catalog_uri())).await?)
}

/// The key of the package a catalog path belongs to (the longest `a/b/c` prefix in `keys`).
fn key_of<'k>(path: &str, keys: &'k HashSet<String>) -> Option<&'k String> {
    path.match_indices('/').rev().find_map(|(at, _)| keys.get(&path[..at]))
}

pub(super) fn prefixed(package: &Package, mut symbols: Vec<Symbol>) -> Vec<Symbol> {
    let key = package.key();
    for symbol in &mut symbols {
        symbol.path = format!("{key}/{}", symbol.path);
    }
    symbols
}

/// Brings the catalog in line with the cache: package versions whose rows or vectors differ
/// from their table are copied in again, rows of removed versions deleted. Returns it open.
pub async fn sync(cache: &Cache) -> anyhow::Result<Store> {
    let catalog = open(cache).await?;
    let manifests = cache.manifests();
    let keys: HashSet<String> = manifests.iter().map(|m| m.package.key()).collect();
    let mut held: HashMap<String, (usize, usize)> = HashMap::new();
    let mut paths_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut orphans = Vec::new();
    for ((path, _), (rows, embedded)) in catalog.file_versions().await? {
        match key_of(&path, &keys) {
            Some(key) => {
                let counts = held.entry(key.clone()).or_default();
                counts.0 += rows;
                counts.1 += embedded;
                paths_of.entry(key.clone()).or_default().push(path);
            }
            None => orphans.push(path),
        }
    }
    let mut names_changed = !orphans.is_empty();
    let mut paths: Vec<String> = orphans;
    let mut rows: Vec<Symbol> = Vec::new();
    for manifest in &manifests {
        let key = manifest.package.key();
        if held.get(&key) == Some(&(manifest.symbols, manifest.embedded)) {
            continue;
        }
        names_changed |= held.get(&key).map(|counts| counts.0) != Some(manifest.symbols);
        let table = Store::open(&StoreConfig::existing(cache.table_dir(&manifest.package).to_string_lossy())).await?;
        let symbols = prefixed(&manifest.package, table.all_symbols().await?);
        paths.extend(paths_of.remove(&key).unwrap_or_default());
        paths.extend(symbols.iter().map(|s| s.path.clone()));
        rows.extend(symbols);
        if rows.len() >= ROWS_PER_COMMIT {
            commit(&catalog, &mut paths, &mut rows).await?;
        }
    }
    commit(&catalog, &mut paths, &mut rows).await?;
    mark_vectors(cache, manifests.iter().any(|m| m.embedded > 0))?;
    if names_changed {
        touch_names(&names_marker(Path::new(&cache.catalog_uri())))?;
    }
    Ok(catalog)
}

/// The marker rewritten whenever the catalog's names change (rows added or removed, not
/// vectors filled in): in-memory name indexes reload on it, not on every embedding commit.
fn names_marker(catalog_dir: &Path) -> PathBuf {
    catalog_dir.join("names-changed")
}

fn touch_names(marker: &Path) -> std::io::Result<()> {
    std::fs::write(marker, crate::deps::now_micros().to_string())
}

/// The marker beside the catalog's table that says some of its rows have vectors: until then
/// a semantic search of the dependencies has nothing to find, and hybrid is full-text.
fn vectors_marker(catalog_dir: &Path) -> PathBuf {
    catalog_dir.join("has-vectors")
}

fn mark_vectors(cache: &Cache, present: bool) -> std::io::Result<()> {
    let marker = vectors_marker(Path::new(&cache.catalog_uri()));
    match (present, marker.exists()) {
        (true, false) => std::fs::write(marker, b""),
        (false, true) => std::fs::remove_file(marker),
        _ => Ok(()),
    }
}

async fn commit(catalog: &Store, paths: &mut Vec<String>, rows: &mut Vec<Symbol>) -> anyhow::Result<()> {
    if paths.is_empty() && rows.is_empty() {
        return Ok(());
    }
    paths.sort();
    paths.dedup();
    catalog.replace_files(paths, rows).await?;
    paths.clear();
    rows.clear();
    Ok(())
}

/// Appends rows to the catalog in commits of [`ROWS_PER_COMMIT`] (hundreds of small packages
/// would otherwise leave hundreds of fragments). Rows still buffered when the process dies
/// are found missing by the next [`sync`], which copies their packages in again.
pub(super) struct Appender<'c> {
    catalog: &'c Store,
    rows: Vec<Symbol>,
    names_marker: PathBuf,
}

impl<'c> Appender<'c> {
    pub fn new(cache: &Cache, catalog: &'c Store) -> Self {
        Appender { catalog, rows: Vec::new(), names_marker: names_marker(Path::new(&cache.catalog_uri())) }
    }

    pub async fn add(&mut self, rows: Vec<Symbol>) -> anyhow::Result<()> {
        self.rows.extend(rows);
        if self.rows.len() >= ROWS_PER_COMMIT {
            self.flush().await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self) -> anyhow::Result<()> {
        if !self.rows.is_empty() {
            self.catalog.add(&std::mem::take(&mut self.rows)).await?;
            touch_names(&self.names_marker)?;
        }
        Ok(())
    }
}

/// Keeps the catalog fast to search: compaction once fragments pile up (it also folds new
/// rows into the indexes), the full-text and vector indexes built when missing, and new rows
/// appended to them.
pub(super) async fn maintain(catalog: &Store) -> anyhow::Result<()> {
    let stats = catalog.stats().await?;
    if stats.fragments > 16 {
        catalog.optimize(std::time::Duration::from_secs(3600)).await?;
    }
    crate::team::maintain(catalog).await?;
    Ok(())
}

/// Replaces one package version's rows in the catalog (after its vectors were filled in).
pub(super) async fn replace_package(
    cache: &Cache,
    catalog: &Store,
    package: &Package,
    symbols: Vec<Symbol>,
) -> anyhow::Result<()> {
    let embedded = symbols.iter().any(|s| s.embedding.is_some());
    let mut rows = prefixed(package, symbols);
    let mut paths: Vec<String> = rows.iter().map(|s| s.path.clone()).collect();
    commit(catalog, &mut paths, &mut rows).await?;
    if embedded {
        mark_vectors(cache, true)?;
    }
    Ok(())
}

/// A package version as a workspace sees it: the package and its sources on disk (when there).
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSource {
    pub package: Package,
    pub root: Option<PathBuf>,
}

/// A scope's package keys and the catalog's last change of names: equal fingerprints, equal
/// name answers.
pub type Fingerprint = (Vec<String>, Option<String>);

/// What dependency search reads for one workspace: the catalog, restricted to the package
/// versions the workspace used at its last `deps index`.
#[derive(Debug, Clone)]
pub struct DepsScope {
    /// The catalog's dataset (`…/catalog/symbols.lance`).
    pub dataset: String,
    pub packages: HashMap<String, PackageSource>,
    keys: HashSet<String>,
    /// Changes with every catalog commit: searches at one stamp share a DuckDB connection
    /// (and its opened dataset and indexes) instead of opening the catalog each time.
    stamp: u64,
    /// Whether any catalog row has a vector yet (names come first, vectors later).
    vectors: bool,
}

/// The catalog's commit stamp: its manifests' count and their directory's modification time.
fn catalog_stamp(dataset: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let versions = Path::new(dataset).join("_versions");
    let modified = std::fs::metadata(&versions).and_then(|m| m.modified()).ok();
    let count = std::fs::read_dir(&versions).map(|entries| entries.count()).unwrap_or(0);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (modified, count).hash(&mut hasher);
    hasher.finish()
}

impl DepsScope {
    /// The workspace's scope, or `None` when its dependencies were never indexed.
    pub fn load(cache: &Cache, workspace: &std::path::Path) -> Option<DepsScope> {
        let uses = super::workspace_packages(cache, workspace);
        let dataset = crate::store::dataset_uri_for(&cache.catalog_uri());
        if uses.is_empty() || !std::path::Path::new(&dataset).exists() {
            return None;
        }
        let packages: HashMap<String, PackageSource> = uses
            .into_iter()
            .filter_map(|(key, root)| Some((key.clone(), PackageSource { package: Package::from_key(&key)?, root })))
            .collect();
        let keys = packages.keys().cloned().collect();
        let stamp = catalog_stamp(&dataset);
        let vectors = vectors_marker(Path::new(&cache.catalog_uri())).exists();
        Some(DepsScope { dataset, packages, keys, stamp, vectors })
    }

    /// The union of several workspaces' scopes (an editor with several folders).
    pub fn load_many(cache: &Cache, workspaces: &[std::path::PathBuf]) -> Option<DepsScope> {
        let mut scopes = workspaces.iter().filter_map(|w| DepsScope::load(cache, w));
        let mut union = scopes.next()?;
        for scope in scopes {
            for (key, source) in scope.packages {
                union.packages.entry(key).or_insert(source);
            }
        }
        union.keys = union.packages.keys().cloned().collect();
        Some(union)
    }

    /// What changes when the scope's names can: its package versions and the catalog's last
    /// change of names (vectors filled in by the embedding that follows do not count).
    pub fn fingerprint(&self) -> Fingerprint {
        let mut keys: Vec<String> = self.keys.iter().cloned().collect();
        keys.sort();
        let dataset = Path::new(&self.dataset);
        let marker = dataset.parent().map(names_marker);
        let changed = marker.and_then(|m| std::fs::read_to_string(m).ok());
        // A catalog from before the marker: its newest commit.
        let changed = changed.or_else(|| {
            let modified = std::fs::metadata(dataset.join("_versions")).and_then(|m| m.modified()).ok()?;
            Some(format!("{modified:?}"))
        });
        (keys, changed)
    }

    /// Whether a catalog path belongs to this scope.
    pub fn contains(&self, path: &str) -> bool {
        key_of(path, &self.keys).is_some()
    }

    /// Only the versions of the package called `name` (any ecosystem); `None` if there is none.
    pub fn only(&self, name: &str) -> Option<DepsScope> {
        let packages: HashMap<String, PackageSource> = self
            .packages
            .iter()
            .filter(|(_, source)| source.package.name == name || source.package.name.replace('-', "_") == name)
            .map(|(key, source)| (key.clone(), source.clone()))
            .collect();
        if packages.is_empty() {
            return None;
        }
        let keys = packages.keys().cloned().collect();
        Some(DepsScope { dataset: self.dataset.clone(), packages, keys, stamp: self.stamp, vectors: self.vectors })
    }

    /// `serde::Deserializer` → (the scope of `serde`, `Deserializer`) when `serde` is a
    /// dependency; otherwise `None` (the query is searched as written).
    pub fn split_query<'q>(&self, query: &'q str) -> Option<(DepsScope, &'q str)> {
        let (head, rest) = query.split_once("::")?;
        let rest = rest.trim();
        if rest.is_empty() {
            return None;
        }
        Some((self.only(head.trim())?, rest))
    }

    /// Splits a catalog path into its package and the path inside the package.
    pub fn locate<'p>(&self, path: &'p str) -> Option<(&PackageSource, &'p str)> {
        let key = key_of(path, &self.keys)?;
        Some((&self.packages[key], &path[key.len() + 1..]))
    }

    /// Hits of the workspace's package versions: the catalog is searched for more than
    /// `limit` (it also holds other workspaces' versions), then cut to this scope. Each hit's
    /// `path` is inside its package, and `package` names it.
    pub fn search(&self, engine: &Engine, request: &SearchRequest) -> anyhow::Result<Vec<Hit>> {
        let mut wide = request.clone();
        if !self.vectors {
            // Names only so far: the vector side would scan a million empty rows for nothing.
            match wide.mode {
                SearchMode::Semantic => return Ok(Vec::new()),
                SearchMode::Hybrid => wide.mode = SearchMode::Fulltext,
                SearchMode::Fulltext => {}
            }
        }
        // A single-package scope is a path prefix; the catalog's own filters do the work.
        if self.packages.len() == 1 {
            let key = self.packages.keys().next().expect("one package");
            wide.filters.path_prefix = Some(format!("{key}/{}", request.filters.path_prefix.as_deref().unwrap_or("")));
        } else {
            wide.limit = request.limit.max(1) * 4;
        }
        let mut hits = engine.search_at(&self.dataset, self.stamp, &wide)?;
        hits.retain_mut(|hit| {
            let Some(key) = key_of(&hit.path, &self.keys) else { return false };
            let inner = hit.path[key.len() + 1..].to_string();
            if let Some(prefix) = &request.filters.path_prefix
                && self.packages.len() > 1
                && !inner.starts_with(prefix.as_str())
            {
                return false;
            }
            hit.path = inner;
            hit.package = Some(key.clone());
            true
        });
        hits.truncate(request.limit.max(1));
        Ok(hits)
    }

    /// The names of the workspace's package versions that can match `query` (see
    /// [`Engine::name_entries_matching`]): one search without loading millions of names.
    pub fn name_entries_matching(&self, engine: &Engine, query: &str) -> anyhow::Result<Vec<NameEntry>> {
        if self.keys.len() <= 16 {
            let prefixes: Vec<String> = self.keys.iter().map(|key| format!("{key}/")).collect();
            return Ok(engine.name_entries_matching(&self.dataset, Some(&prefixes), query)?);
        }
        let mut entries = engine.name_entries_matching(&self.dataset, None, query)?;
        entries.retain(|entry| key_of(&entry.path, &self.keys).is_some());
        Ok(entries)
    }

    /// The names of the workspace's package versions (catalog paths), for a name index.
    pub fn name_entries(&self, engine: &Engine) -> anyhow::Result<Vec<NameEntry>> {
        // A few packages: read just theirs (the catalog holds millions of names).
        if self.keys.len() <= 16 {
            let prefixes: Vec<String> = self.keys.iter().map(|key| format!("{key}/")).collect();
            return Ok(engine.name_entries_under(&self.dataset, &prefixes)?);
        }
        let mut entries = engine.name_entries(&self.dataset)?;
        entries.retain(|entry| key_of(&entry.path, &self.keys).is_some());
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_paths_split_at_the_longest_known_key() {
        let keys: HashSet<String> =
            ["go/github.com/pkg/errors/v0.9.1".to_string(), "cargo/serde/1.0.0".to_string()].into();
        assert_eq!(
            key_of("go/github.com/pkg/errors/v0.9.1/errors.go", &keys).unwrap(),
            "go/github.com/pkg/errors/v0.9.1"
        );
        assert_eq!(key_of("cargo/serde/1.0.0/src/de/mod.rs", &keys).unwrap(), "cargo/serde/1.0.0");
        assert!(key_of("cargo/serde/1.0.1/src/lib.rs", &keys).is_none());
    }
}
