//! The dependencies' names in memory, for the front-ends that answer many name searches (the
//! LSP server, the MCP server): one index over every package version of a scope, and small
//! per-package indexes cut from it when a query names a package, so that `tokio::select`
//! ranks tokio's names rather than a million names filtered down to tokio's.

use std::sync::{Arc, Mutex};

use super::{DepsScope, Fingerprint};
use crate::query::Engine;
use crate::query::names::{Keep, NameIndex, NameMatch};

/// Per-package indexes kept (most recently used first): a picker session names a few.
const PACKAGE_INDEXES: usize = 8;

/// A package with more than an eighth of all names (and more than `PACKAGE_MIN`) is searched
/// in the whole index with a filter: its own index would cost nearly as much memory, and the
/// filter passes often. The kept indexes hold at most a quarter as many names as the whole.
const PACKAGE_SHARE: usize = 8;
const PACKAGE_MIN: usize = 4096;

/// One package set's names, loaded once.
pub struct DepsNames {
    scope: Arc<DepsScope>,
    fingerprint: Fingerprint,
    index: NameIndex,
    /// Per-package indexes, the most recently used first.
    packages: Mutex<Vec<PackageIndex>>,
}

/// Sorted package keys → their own index (`None`: too large, filter the whole one).
type PackageIndex = (Vec<String>, Option<Arc<NameIndex>>);

/// A dependency's name match: `found.entry.path` is the path inside the package, `key` the
/// package version's key (`cargo/serde/1.0.219`).
pub struct DepNameMatch {
    pub found: NameMatch,
    pub key: String,
}

impl DepsNames {
    /// Reads the scope's names from the catalog and indexes them (seconds for millions).
    pub fn load(scope: DepsScope, engine: &Engine) -> anyhow::Result<DepsNames> {
        let fingerprint = scope.fingerprint();
        let index = NameIndex::new(scope.name_entries(engine)?);
        Ok(DepsNames { scope: Arc::new(scope), fingerprint, index, packages: Mutex::default() })
    }

    pub fn scope(&self) -> &Arc<DepsScope> {
        &self.scope
    }

    /// The fingerprint of the scope when it was loaded: a different one means reload.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The best `limit` names for `query` among the entries `keep` accepts, strictly matched
    /// ([`NameIndex::search_strict`]); `serde::Deserializer` searches `serde`'s names only.
    pub fn search(&self, query: &str, limit: usize, keep: Keep) -> Vec<DepNameMatch> {
        let matches = match self.scope.split_query(query) {
            Some((only, text)) => match self.package_index(&only) {
                Some(index) => index.search_strict(text, limit, keep),
                None => {
                    let keep = |entry: &crate::query::names::NameEntry| only.contains(&entry.path) && keep(entry);
                    self.index.search_strict(text, limit, &keep)
                }
            },
            None => self.index.search_strict(query, limit, keep),
        };
        matches
            .into_iter()
            .filter_map(|mut found| {
                let (source, inner) = self.scope.locate(&found.entry.path)?;
                let key = source.package.key();
                found.entry.path = inner.to_string();
                Some(DepNameMatch { found, key })
            })
            .collect()
    }

    /// The index of `only`'s packages, cut from the whole one on first use.
    fn package_index(&self, only: &DepsScope) -> Option<Arc<NameIndex>> {
        let mut keys: Vec<String> = only.packages.keys().cloned().collect();
        keys.sort();
        let Ok(mut cached) = self.packages.lock() else {
            return None;
        };
        if let Some(at) = cached.iter().position(|(seen, _)| *seen == keys) {
            let entry = cached.remove(at);
            let index = entry.1.clone();
            cached.insert(0, entry);
            return index;
        }
        let max = (self.index.len() / PACKAGE_SHARE).max(PACKAGE_MIN);
        let index = self.index.subset(&|path| only.contains(path), max).map(Arc::new);
        cached.insert(0, (keys, index.clone()));
        cached.truncate(PACKAGE_INDEXES);
        let held = |cached: &[PackageIndex]| {
            cached.iter().filter_map(|(_, index)| index.as_ref()).map(|index| index.len()).sum::<usize>()
        };
        while cached.len() > 1 && held(&cached) > (self.index.len() / 4).max(PACKAGE_MIN) {
            cached.pop();
        }
        index
    }
}
