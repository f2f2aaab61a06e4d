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

use super::{Result, StoreError, open_or_create, replace_where};

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

    /// Makes `rows` the whole view of `repo` at `git_ref`, in one commit: a merge-insert keyed
    /// by (repo, ref, path) that also deletes the ref's rows `rows` does not have. Lance
    /// retries it on the new version when another pusher commits in between; nothing of another
    /// ref or repository is touched.
    pub async fn replace_ref(&self, repo: &str, git_ref: &str, rows: &[ViewRow]) -> Result<u64> {
        let filter = format!("repo = {} AND git_ref = {}", literal(repo), literal(git_ref));
        if rows.is_empty() {
            return replace_where(&self.table, &self.uri, filter, Vec::new(), "replace a view").await;
        }
        let fields: Vec<FieldRef> = self.schema.fields().iter().cloned().collect();
        let batch = serde_arrow::to_record_batch(&fields, &rows)?.with_schema(self.schema.clone())?;
        let reader: Box<dyn arrow_array::RecordBatchReader + Send> =
            Box::new(arrow_array::RecordBatchIterator::new(vec![Ok(batch)], self.schema.clone()));
        let mut merge = self.table.merge_insert(&["repo", "git_ref", "path"]);
        merge
            .when_matched_update_all(None)
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(Some(filter));
        let result = merge.execute(reader).await.map_err(|source| self.error("replace a view", source))?;
        Ok(result.version)
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

    #[test]
    fn the_schema_has_every_field() {
        let schema = view_schema().unwrap();
        assert_eq!(schema.fields().len(), 9);
        assert!(schema.field_with_name("git_ref").is_ok());
    }
}
