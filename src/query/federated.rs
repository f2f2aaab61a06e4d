//! Reads across tiers: a team repository's table through one ref's view, and the fusion of
//! hits from several tables (the private index and every team repository) into one ranking.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Engine, Hit, Param, Result, SearchRequest, names, query_rows, search_sql_in, sql_string};

/// One team repository as team search reads it: its table, restricted to the file versions
/// that `views` lists for (`repo`, `git_ref`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSource {
    pub repo: String,
    pub git_ref: String,
    /// The repository's table (`…/repos/<slug>/symbols.lance`).
    pub dataset: String,
    /// The remote's views table (`…/views.lance`).
    pub views: String,
    /// The views table's version when this source was read: queries of one version share a
    /// connection (and its cached datasets).
    #[serde(default)]
    pub views_version: u64,
    /// The view itself, `path → file_hash`, when the reader holds it (then candidates are
    /// filtered here instead of joining the views table on the remote in every query).
    #[serde(skip)]
    pub files: Arc<HashMap<String, String>>,
    /// The dataset holds exactly the view (a local mirror): no filtering at all.
    #[serde(default)]
    pub exact: bool,
}

/// Which tiers a search reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The workspace's own index (the default).
    #[default]
    Private,
    /// Every repository on the team remote.
    Team,
    /// The package versions the workspace's lock files name (`znt deps index`).
    Deps,
    /// All of them, fused.
    All,
}

impl Scope {
    pub fn private(self) -> bool {
        matches!(self, Scope::Private | Scope::All)
    }
    pub fn team(self) -> bool {
        matches!(self, Scope::Team | Scope::All)
    }
    pub fn deps(self) -> bool {
        matches!(self, Scope::Deps | Scope::All)
    }
}

/// `EXISTS (…)`: the row `alias` is a file version of the view. Two bound parameters follow
/// (repository, ref); the views path is a location from the configuration, not query text.
pub(super) fn in_view_sql(view: &ViewSource, alias: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM '{}' AS pushed WHERE pushed.repo = ? AND pushed.git_ref = ? \
         AND pushed.path = {alias}.path AND pushed.file_hash = {alias}.file_hash)",
        sql_string(&view.views)
    )
}

impl Engine {
    /// A search over one team repository's view; every hit names the repository.
    pub fn search_view(&self, view: &ViewSource, request: &SearchRequest) -> Result<Vec<Hit>> {
        let (sql, params) = search_sql_in(&view.dataset, request, Some(view))?;
        let params: Vec<&dyn duckdb::ToSql> = params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        // One connection per views version: every push commits the views, so a new version of
        // the repository's table always comes with a new key.
        let mut hits: Vec<Hit> = self.with_pinned(&view.dataset, view.views_version, |connection| {
            query_rows(connection, &sql, &params, "searching a team repository")
        })?;
        if !view.exact && !view.files.is_empty() {
            hits.retain(|hit| hit.file_hash.as_ref().is_some_and(|hash| view.files.get(&hit.path) == Some(hash)));
            hits.truncate(request.limit.max(1));
        }
        for hit in &mut hits {
            hit.repo = Some(view.repo.clone());
        }
        Ok(hits)
    }

    /// The names of one team repository's view, for an in-memory name index.
    pub fn name_entries_in_view(&self, view: &ViewSource) -> Result<Vec<names::NameEntry>> {
        if view.exact {
            return self.name_entries(&view.dataset);
        }
        let connection = self.connect()?;
        let sql = format!(
            "SELECT id, name, qualified_name, kind, language, path, parent, start_line, start_col, end_line, \
             end_col, start_col_utf16, end_col_utf16 FROM '{}' AS entry WHERE {}",
            sql_string(&view.dataset),
            in_view_sql(view, "entry")
        );
        let params = [Param::Text(view.repo.clone()), Param::Text(view.git_ref.clone())];
        let params: Vec<&dyn duckdb::ToSql> = params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        query_rows(&connection, &sql, &params, "reading a team repository's names")
    }
}

/// Reciprocal-rank fusion of ranked lists (each already best first): a hit's fused score is
/// the sum of 1 / (60 + rank) over the lists it appears in, so lists whose raw scores are not
/// comparable (BM25 of different tables, cosine) still merge fairly. The same symbol (by
/// repository or package, and id) counts once; the first list's copy is kept. Team hits of
/// `own_repo` whose path the private index holds are dropped: the working tree beats the
/// team's copy. Equal scores (the same rank in two lists) put the workspace first, then the
/// team, then dependencies.
pub fn fuse(lists: Vec<Vec<Hit>>, own_repo: Option<&str>, private_paths: &HashSet<String>, limit: usize) -> Vec<Hit> {
    const K: f32 = 60.0;
    let mut fused: Vec<Hit> = Vec::new();
    let mut position: std::collections::HashMap<(Option<String>, String), usize> = Default::default();
    for list in lists {
        let mut rank = 0;
        for hit in list {
            if hit.repo.is_some() && hit.repo.as_deref() == own_repo && private_paths.contains(&hit.path) {
                continue;
            }
            rank += 1;
            let contribution = 1.0 / (K + rank as f32);
            let key = (hit.repo.clone().or_else(|| hit.package.clone()), hit.id.clone());
            match position.get(&key) {
                Some(&index) => fused[index].score += contribution,
                None => {
                    position.insert(key, fused.len());
                    fused.push(Hit { score: contribution, ..hit });
                }
            }
        }
    }
    let tier = |hit: &Hit| u8::from(hit.repo.is_some()) + 2 * u8::from(hit.package.is_some());
    fused.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| tier(a).cmp(&tier(b))).then_with(|| a.path.cmp(&b.path))
    });
    fused.truncate(limit.max(1));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, repo: Option<&str>, path: &str) -> Hit {
        Hit {
            id: id.into(),
            path: path.into(),
            language: "rust".into(),
            kind: "function".into(),
            name: id.into(),
            qualified_name: id.into(),
            signature: String::new(),
            doc: None,
            visibility: "public".into(),
            start_line: 0,
            start_col: 0,
            end_line: 0,
            end_col: 0,
            start_col_utf16: 0,
            end_col_utf16: 0,
            score: 1.0,
            repo: repo.map(str::to_string),
            file_hash: None,
            package: None,
        }
    }

    #[test]
    fn fusion_interleaves_lists_and_lets_the_working_tree_win() {
        let private = vec![hit("a", None, "src/a.rs"), hit("b", None, "src/b.rs")];
        let team = vec![
            hit("a", Some("me/app"), "src/a.rs"),
            hit("x", Some("team/lib"), "src/x.rs"),
            hit("y", Some("team/lib"), "src/y.rs"),
        ];
        let paths: HashSet<String> = ["src/a.rs".to_string(), "src/b.rs".to_string()].into();
        let fused = fuse(vec![private, team], Some("me/app"), &paths, 10);
        let ids: Vec<(&str, Option<&str>)> = fused.iter().map(|h| (h.id.as_str(), h.repo.as_deref())).collect();
        // The team's copy of the private `a` is dropped; ranks interleave.
        assert_eq!(ids, vec![("a", None), ("x", Some("team/lib")), ("b", None), ("y", Some("team/lib"))]);
    }

    #[test]
    fn the_view_condition_binds_repository_and_ref() {
        let view = ViewSource {
            repo: "x' OR 1=1".into(),
            git_ref: "main".into(),
            dataset: "s3://b/repos/x/symbols.lance".into(),
            views: "s3://b/views.lance".into(),
            views_version: 1,
            files: Default::default(),
            exact: false,
        };
        let sql = in_view_sql(&view, "hit");
        assert!(!sql.contains("OR 1=1") && sql.matches('?').count() == 2, "{sql}");
    }
}
