//! The team remote's `views` table: which file versions make up each pushed ref of each
//! repository. One row per (repository, ref, path); a push replaces its ref's rows in one
//! commit, after the symbol rows they point at are committed, so a reader following a view
//! never meets a file version that is not there yet.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, SchemaRef};
use lancedb::Table;
use serde::{Deserialize, Serialize};
use serde_arrow::schema::{SchemaLike, TracingOptions};

use super::{Result, StoreError, open_or_create};

/// Name of the views table under a team remote (`<remote>/views.lance`).
pub const VIEWS_TABLE: &str = "views";

/// One file of one pushed ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRow {
    /// The repository's name on the remote (`github.com/org/name`).
    pub repo: String,
    /// The branch (or other ref) this push represents.
    pub git_ref: String,
    /// The commit the pushed files belong to.
    pub commit: String,
    /// The repository's default branch as the pusher saw it (what team search reads).
    pub default_ref: String,
    /// Workspace-relative path, as in the symbol table.
    pub path: String,
    /// Content hash of the file: with `path`, the key of its rows in the repository's table.
    pub file_hash: String,
    /// Symbols of this file version, and how many of them carry an embedding.
    pub symbols: u32,
    pub embedded: u32,
    /// When the push was made (µs since the epoch).
    pub pushed_at: i64,
}

impl ViewRow {
    /// The header row of a ref (its `path` is empty, which no file's is): the commit, default
    /// branch and time of the ref's latest push, and its totals. File rows keep the commit of
    /// the push that last changed them.
    pub fn header(
        repo: &str,
        git_ref: &str,
        commit: &str,
        default_ref: &str,
        files: &[ViewRow],
        pushed_at: i64,
    ) -> ViewRow {
        ViewRow {
            repo: repo.to_string(),
            git_ref: git_ref.to_string(),
            commit: commit.to_string(),
            default_ref: default_ref.to_string(),
            path: String::new(),
            file_hash: String::new(),
            symbols: files.iter().map(|row| row.symbols).sum(),
            embedded: files.iter().map(|row| row.embedded).sum(),
            pushed_at,
        }
    }

    pub fn is_header(&self) -> bool {
        self.path.is_empty()
    }
}

/// What turns the file rows `previous` into `rows`: the rows to upsert (new, or another
/// version or vector count) and the paths to delete; `None` when there is nothing to do.
fn difference(previous: &[ViewRow], rows: &[ViewRow]) -> Option<(Vec<ViewRow>, Vec<String>)> {
    let before: std::collections::HashMap<&str, &ViewRow> =
        previous.iter().filter(|row| !row.is_header()).map(|row| (row.path.as_str(), row)).collect();
    let after: std::collections::HashSet<&str> = rows.iter().map(|row| row.path.as_str()).collect();
    let upserts: Vec<ViewRow> = rows
        .iter()
        .filter(|row| match before.get(row.path.as_str()) {
            Some(old) => (&old.file_hash, old.symbols, old.embedded) != (&row.file_hash, row.symbols, row.embedded),
            None => true,
        })
        .cloned()
        .collect();
    let mut vanished: Vec<String> =
        before.keys().filter(|path| !after.contains(**path)).map(|path| path.to_string()).collect();
    vanished.sort();
    (!upserts.is_empty() || !vanished.is_empty()).then_some((upserts, vanished))
}

/// The open views table.
#[derive(Clone)]
pub struct ViewTable {
    table: Table,
    uri: String,
    schema: SchemaRef,
}

impl ViewTable {
    /// Opens `<uri>/views.lance`; creates it when `create` (pushers), else a missing table is
    /// [`StoreError::NotFound`] (nobody pushed yet).
    pub async fn open(uri: &str, storage_options: &[(String, String)], create: bool) -> Result<ViewTable> {
        let uri = uri.trim_end_matches('/').to_string();
        let lance = |operation| {
            let uri = uri.clone();
            move |source| StoreError::Lance { operation, uri, source: Box::new(source) }
        };
        let connection = lancedb::connect(&uri)
            .read_consistency_interval(std::time::Duration::ZERO)
            .storage_options(storage_options.to_vec())
            .execute()
            .await
            .map_err(lance("connect"))?;
        let schema = view_schema()?;
        let table = open_or_create(&connection, VIEWS_TABLE, schema.clone(), create, &uri).await?;
        Ok(ViewTable { table, uri, schema })
    }

    /// The dataset path DuckDB reads (`<remote>/views.lance`).
    pub fn dataset_uri(&self) -> String {
        format!("{}/{VIEWS_TABLE}.lance", self.uri)
    }

    /// The current version of the table.
    pub async fn version(&self) -> Result<u64> {
        self.table.version().await.map_err(|source| self.error("version", source))
    }

    /// Every row, or the rows of one repository.
    pub async fn rows(&self, repo: Option<&str>) -> Result<Vec<ViewRow>> {
        use futures::TryStreamExt;
        use lancedb::query::{ExecutableQuery, QueryBase};
        let mut query = self.table.query();
        if let Some(repo) = repo {
            query = query.only_if(format!("repo = {}", literal(repo)));
        }
        let batches: Vec<RecordBatch> = query
            .execute()
            .await
            .map_err(|source| self.error("scan views", source))?
            .try_collect()
            .await
            .map_err(|source| self.error("scan views", source))?;
        let mut rows = Vec::new();
        for batch in &batches {
            rows.extend(serde_arrow::from_record_batch::<Vec<ViewRow>>(batch)?);
        }
        Ok(rows)
    }

    /// Makes `rows` the whole view of `repo` at `git_ref`, in one commit that carries only the
    /// difference from `previous` (the ref's file rows as the pusher read them): changed and
    /// new files are upserted, vanished ones deleted, and the ref's header row (the commit,
    /// the default branch, the time of the push) replaced. So a one-file push writes one file
    /// row, not one per file of the repository. A merge-insert keyed by (repo, ref, path): a
    /// pusher that commits in between conflicts on the header and Lance retries on the new
    /// version; if anyone committed after `read_at`, the ref is read again and the remaining
    /// difference committed, so the last pusher's view is the one that stays, whole.
    pub async fn replace_ref(
        &self,
        header: &ViewRow,
        previous: &[ViewRow],
        rows: &[ViewRow],
        read_at: u64,
    ) -> Result<u64> {
        let mut version = self.commit_difference(header, previous, rows).await?;
        if version > read_at + 1 {
            let current: Vec<ViewRow> = self
                .rows(Some(&header.repo))
                .await?
                .into_iter()
                .filter(|row| row.git_ref == header.git_ref && !row.is_header())
                .collect();
            if difference(&current, rows).is_some() {
                version = self.commit_difference(header, &current, rows).await?;
            }
        }
        Ok(version)
    }

    async fn commit_difference(&self, header: &ViewRow, previous: &[ViewRow], rows: &[ViewRow]) -> Result<u64> {
        let (mut upserts, vanished) = difference(previous, rows).unwrap_or_default();
        upserts.push(header.clone());
        let fields: Vec<FieldRef> = self.schema.fields().iter().cloned().collect();
        let batch = serde_arrow::to_record_batch(&fields, &upserts)?.with_schema(self.schema.clone())?;
        let reader: Box<dyn arrow_array::RecordBatchReader + Send> =
            Box::new(arrow_array::RecordBatchIterator::new(vec![Ok(batch)], self.schema.clone()));
        let mut merge = self.table.merge_insert(&["repo", "git_ref", "path"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all();
        if !vanished.is_empty() {
            let paths: Vec<String> = vanished.iter().map(|path| literal(path)).collect();
            merge.when_not_matched_by_source_delete(Some(format!(
                "repo = {} AND git_ref = {} AND path IN ({})",
                literal(&header.repo),
                literal(&header.git_ref),
                paths.join(", ")
            )));
        }
        let result = merge.execute(reader).await.map_err(|source| self.error("replace a view", source))?;
        Ok(result.version)
    }

    /// Folds the views' small per-push fragments together once they pile up (each push adds
    /// one, and every reader lists them all). Returns whether it compacted.
    pub async fn compact(&self, max_fragments: usize, keep_versions: std::time::Duration) -> Result<bool> {
        use lancedb::table::OptimizeAction;
        let stats = self.table.stats().await.map_err(|source| self.error("views stats", source))?;
        if stats.fragment_stats.num_fragments <= max_fragments {
            return Ok(false);
        }
        self.table
            .optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None })
            .await
            .map_err(|source| self.error("compact views", source))?;
        let older_than =
            lancedb::table::Duration::from_std(keep_versions).unwrap_or_else(|_| lancedb::table::Duration::zero());
        self.table
            .optimize(OptimizeAction::Prune {
                older_than: Some(older_than),
                delete_unverified: None,
                error_if_tagged_old_versions: None,
            })
            .await
            .map_err(|source| self.error("prune views", source))?;
        Ok(true)
    }

    fn error(&self, operation: &'static str, source: lancedb::Error) -> StoreError {
        StoreError::Lance { operation, uri: self.uri.clone(), source: Box::new(source) }
    }
}

fn view_schema() -> Result<SchemaRef> {
    let fields = Vec::<FieldRef>::from_type::<ViewRow>(TracingOptions::default().strings_as_large_utf8(false))?;
    let schema = Arc::new(arrow_schema::Schema::new(fields));
    // The key of a view row: concurrent pushes of the same ref conflict instead of both inserting.
    Ok(super::with_primary_key(&schema, &["repo", "git_ref", "path"]))
}

/// A Lance SQL string literal (quotes doubled). Lance filters have no bound parameters; the
/// values are repository and ref names, never query text.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }

    fn row(path: &str, hash: &str) -> ViewRow {
        ViewRow {
            repo: "r".into(),
            git_ref: "main".into(),
            commit: "c1".into(),
            default_ref: "main".into(),
            path: path.into(),
            file_hash: hash.into(),
            symbols: 3,
            embedded: 3,
            pushed_at: 1,
        }
    }

    #[test]
    fn a_difference_holds_only_what_changed() {
        let previous = vec![row("a.rs", "1"), row("b.rs", "2"), row("c.rs", "3")];
        // A later push: new commit and time on every row, but only b changed and c vanished.
        let mut rows = vec![row("a.rs", "1"), row("b.rs", "9"), row("d.rs", "4")];
        for row in &mut rows {
            row.commit = "c2".into();
            row.pushed_at = 2;
        }
        let (upserts, vanished) = difference(&previous, &rows).unwrap();
        let paths: Vec<&str> = upserts.iter().map(|row| row.path.as_str()).collect();
        assert_eq!(paths, ["b.rs", "d.rs"]);
        assert_eq!(vanished, ["c.rs"]);
        assert!(difference(&rows, &rows).is_none());
        let mut fewer_vectors = rows.clone();
        fewer_vectors[0].embedded = 1;
        assert_eq!(difference(&rows, &fewer_vectors).unwrap().0.len(), 1);
    }

    #[test]
    fn the_schema_has_every_field() {
        let schema = view_schema().unwrap();
        assert_eq!(schema.fields().len(), 9);
        assert!(schema.field_with_name("git_ref").is_ok());
    }
}
