//! The symbol store: a private Lance table named `symbols`, local or on S3-compatible storage.
//!
//! This is the only module that knows Lance (through `lancedb`) and the Arrow form of a
//! [`Symbol`]. It owns: the table's Arrow schema (built from the `Symbol` struct with
//! serde_arrow), opening or creating the table without ever losing data, writes (every write
//! is one Lance commit, so a reader sees a file's symbols either all old or all new),
//! maintenance (`optimize`) and the vector and full-text indexes. It must not know DuckDB
//! (reads go through `query`), tree-sitter or the LSP.
//!
//! Architecture Invariant: every public write method produces exactly one Lance commit.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use lancedb::database::CreateTableMode;
use lancedb::index::Index;
use lancedb::index::scalar::{BTreeIndexBuilder, FtsIndexBuilder};
use lancedb::index::vector::IvfPqIndexBuilder;
use lancedb::table::{OptimizeAction, OptimizeOptions};
use lancedb::{DistanceType, Table};
use serde_arrow::schema::{SchemaLike, TracingOptions};

use crate::symbols::{EMBEDDING_DIM, Symbol};

mod clone;
mod maintenance;
mod views;
pub use maintenance::{KEEP_VERSIONS, MAX_FRAGMENTS, MAX_UNINDEXED_ROWS, Maintenance};
pub use views::{VIEWS_TABLE, ViewRow, ViewTable};

/// Name of the Lance table inside an index directory.
pub const TABLE_NAME: &str = "symbols";
/// Column holding the embedding vectors.
pub const EMBEDDING_COLUMN: &str = "embedding";
/// Column holding the full-text search document.
pub const SEARCH_TEXT_COLUMN: &str = "search_text";
/// Version of the column layout; bump it when columns change (old indexes are then rebuilt).
pub const SCHEMA_VERSION: &str = "1";
/// IVF-PQ needs 256 vectors to train its codebooks; below this, searches are exact.
pub const MIN_ROWS_FOR_VECTOR_INDEX: usize = 256;

const META_MODEL: &str = "zenith.embedding_model";
const META_DIM: &str = "zenith.embedding_dim";
const META_SCHEMA_VERSION: &str = "zenith.schema_version";

/// The embedding model an index is built for; recorded in the table's schema metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingModel {
    pub name: String,
    pub dimension: usize,
}

impl Default for EmbeddingModel {
    fn default() -> Self {
        EmbeddingModel { name: "sentence-transformers/all-MiniLM-L6-v2".to_string(), dimension: EMBEDDING_DIM }
    }
}

/// Where the table lives and how to reach it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// A local directory or an `s3://bucket/prefix` URI; the table is `<uri>/symbols.lance`.
    pub uri: String,
    /// Object-store options (`aws_endpoint`, `aws_region`, keys, `allow_http`) for `s3://` URIs.
    pub storage_options: Vec<(String, String)>,
    pub model: EmbeddingModel,
    /// Create the table when there is none (writers); readers set this to `false`, so that a
    /// query against an index nobody built is an error instead of a new, empty index.
    pub create_if_missing: bool,
    /// A team table: every version of every file, keyed by `(id, file_hash)`, declared to
    /// Lance as the table's (unenforced) primary key so that concurrent merge-inserts of the
    /// same keys conflict instead of both inserting (see [`Store::upsert_versions`]).
    pub content_addressed: bool,
}

impl StoreConfig {
    /// A store at `uri`; for `s3://` URIs the storage options come from the standard AWS
    /// environment variables (the credential chain fills in whatever is not set here).
    pub fn new(uri: impl Into<String>) -> StoreConfig {
        let uri = uri.into();
        let storage_options = if uri.starts_with("s3://") { s3_options_from_env() } else { Vec::new() };
        StoreConfig {
            uri,
            storage_options,
            model: EmbeddingModel::default(),
            create_if_missing: true,
            content_addressed: false,
        }
    }

    /// The same store, for a reader: opening fails with [`StoreError::NotFound`] when no table
    /// exists yet.
    pub fn existing(uri: impl Into<String>) -> StoreConfig {
        StoreConfig { create_if_missing: false, ..StoreConfig::new(uri) }
    }
}

/// The dataset path of the index at `uri` (what [`Store::dataset_uri`] returns once it is open).
pub fn dataset_uri_for(uri: &str) -> String {
    format!("{}/{TABLE_NAME}.lance", uri.trim_end_matches('/'))
}

/// Reads S3 settings from the environment. Values are passed to the object store, never logged.
pub fn s3_options_from_env() -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", "aws_endpoint"),
        ("AWS_REGION", "aws_region"),
        ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
        ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
        ("AWS_SESSION_TOKEN", "aws_session_token"),
        ("AWS_ALLOW_HTTP", "allow_http"),
    ]
    .into_iter()
    .filter_map(|(variable, key)| {
        std::env::var(variable).ok().filter(|v| !v.is_empty()).map(|value| (key.to_string(), value))
    })
    .collect()
}

/// Errors of the store. Each names the table URI it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Lance (or the object store below it) failed.
    #[error("lance operation `{operation}` failed on {uri}: {source}")]
    Lance {
        operation: &'static str,
        uri: String,
        // Boxed: lancedb's error is large and every store call returns this type.
        #[source]
        source: Box<lancedb::Error>,
    },
    /// Symbols could not be converted to Arrow (or back).
    #[error("converting symbols to or from Arrow failed: {0}")]
    Arrow(#[from] serde_arrow::Error),
    /// A batch from elsewhere does not have the table's columns.
    #[error("batch does not fit the symbols table: {detail}")]
    BatchSchema { detail: String },
    /// Arrow rejected a batch (e.g. a null in a non-nullable column).
    #[error("invalid Arrow batch: {0}")]
    InvalidBatch(#[from] arrow_schema::ArrowError),
    /// The index was built with another embedding model or dimension.
    #[error(
        "the index at {uri} was built for embedding model {found_model} ({found_dim}-d), \
         but this Zenith uses {expected_model} ({expected_dim}-d); remove the index directory \
         (it is derived data) and re-index"
    )]
    ModelMismatch { uri: String, found_model: String, found_dim: String, expected_model: String, expected_dim: usize },
    /// The index was written by an incompatible version of Zenith.
    #[error(
        "the index at {uri} has schema version {found}, this Zenith writes {SCHEMA_VERSION}; \
         remove the index directory (it is derived data) and re-index"
    )]
    SchemaVersion { uri: String, found: String },
    /// A reader asked for an index that was never built.
    #[error("there is no index at {uri}")]
    NotFound { uri: String },
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What `optimize` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptimizeReport {
    pub fragments_removed: usize,
    pub fragments_added: usize,
    pub old_versions_removed: u64,
    pub bytes_removed: u64,
}

/// Which indexes exist after `refresh_indexes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorIndexState {
    /// Too few embedded rows to train IVF-PQ: vector search is exact (brute force).
    Exact,
    /// An IVF-PQ index covers the embedded rows.
    IvfPq,
}

/// Row counts and index coverage of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    pub version: u64,
    pub rows: usize,
    pub embedded_rows: usize,
    pub fragments: usize,
    pub vector_index: Option<IndexCoverage>,
    pub fulltext_index: Option<IndexCoverage>,
}

/// How many rows an index covers and how many were added since it was last updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexCoverage {
    pub indexed_rows: usize,
    pub unindexed_rows: usize,
}

/// The open symbol table.
#[derive(Clone)]
pub struct Store {
    table: Table,
    uri: String,
    storage_options: Vec<(String, String)>,
    schema: SchemaRef,
}

impl Store {
    /// Opens the `symbols` table at `config.uri`, creating it if it does not exist.
    ///
    /// Never overwrites: an existing table keeps its rows, and a concurrent creator is tolerated
    /// (exist-ok). An existing table built for another model is a [`StoreError::ModelMismatch`].
    pub async fn open(config: &StoreConfig) -> Result<Store> {
        let uri = config.uri.trim_end_matches('/').to_string();
        // A local reader checks before connecting: connecting would create the directory.
        if !config.create_if_missing
            && !uri.contains("://")
            && !Path::new(&uri).join(format!("{TABLE_NAME}.lance")).exists()
        {
            return Err(StoreError::NotFound { uri });
        }
        let uri_for_errors = &uri;
        let lance = |operation| {
            move |source| StoreError::Lance { operation, uri: uri_for_errors.clone(), source: Box::new(source) }
        };
        // Strong consistency: every read checks for commits made through other handles or
        // processes (cheap locally, one manifest check on object storage).
        // Bounded caches: Lance's defaults (6 GiB of index, 1 GiB of metadata) suit a database
        // server, not a daemon beside an editor. The indexes of a large workspace (PQ codes,
        // full-text postings, BTree pages) fit the index budget; metadata is manifests and
        // file footers.
        let session = lance::session::Session::new(
            INDEX_CACHE_BYTES,
            METADATA_CACHE_BYTES,
            Arc::new(lance::io::ObjectStoreRegistry::default()),
        );
        let connection = lancedb::connect(&uri)
            .session(Arc::new(session))
            .read_consistency_interval(std::time::Duration::ZERO)
            .storage_options(config.storage_options.clone())
            .execute()
            .await
            .map_err(lance("connect"))?;
        let schema = symbol_schema(&config.model)?;
        let schema = if config.content_addressed { with_primary_key(&schema, &["id", "file_hash"]) } else { schema };
        let table = open_or_create(&connection, TABLE_NAME, schema.clone(), config.create_if_missing, &uri).await?;
        let found = table.schema().await.map_err(lance("read schema"))?;
        check_metadata(&uri, found.metadata(), &config.model)?;
        Ok(Store { table, uri, storage_options: config.storage_options.clone(), schema })
    }

    /// The index location (directory or object-store URI).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The object-store options the table was opened with (for readers of the same table).
    pub fn storage_options(&self) -> &[(String, String)] {
        &self.storage_options
    }

    /// The dataset path readers (DuckDB's lance extension) use: `<uri>/symbols.lance`.
    pub fn dataset_uri(&self) -> String {
        dataset_uri_for(&self.uri)
    }

    /// The Arrow schema of the table.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Converts symbols to one Arrow batch in the table's schema.
    pub fn to_batch(&self, symbols: &[Symbol]) -> Result<RecordBatch> {
        let fields: Vec<FieldRef> = self.schema.fields().iter().cloned().collect();
        let batch = serde_arrow::to_record_batch(&fields, &symbols)?;
        // serde_arrow builds a schema without metadata; Lance compares schemas on append.
        Ok(batch.with_schema(self.schema.clone())?)
    }

    /// Re-labels a batch produced elsewhere (a DuckDB staging table's `query_arrow()`) with the
    /// table's schema without copying any buffer: DuckDB and Lance share arrow 58, so only the
    /// field metadata differs (nullability, the list item's field name). Column order and types
    /// must match; anything else is a [`StoreError::BatchSchema`].
    pub fn conform_batch(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let mut columns = Vec::with_capacity(self.schema.fields().len());
        for field in self.schema.fields() {
            let column = batch
                .column_by_name(field.name())
                .ok_or_else(|| StoreError::BatchSchema { detail: format!("missing column {}", field.name()) })?;
            let column = match (field.data_type(), column.data_type()) {
                (expected, found) if expected == found => column.clone(),
                (DataType::FixedSizeList(item, size), DataType::FixedSizeList(found_item, found_size))
                    if size == found_size && item.data_type() == found_item.data_type() =>
                {
                    let list = column
                        .as_any()
                        .downcast_ref::<arrow_array::FixedSizeListArray>()
                        .expect("a FixedSizeList column is a FixedSizeListArray");
                    // Same values and null buffers, new item field: an O(1) re-wrap.
                    Arc::new(arrow_array::FixedSizeListArray::try_new(
                        item.clone(),
                        *size,
                        list.values().clone(),
                        list.nulls().cloned(),
                    )?)
                }
                (expected, found) => {
                    return Err(StoreError::BatchSchema {
                        detail: format!("column {} is {found}, expected {expected}", field.name()),
                    });
                }
            };
            columns.push(column);
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    /// Appends symbols in one commit. Returns the new table version.
    pub async fn add(&self, symbols: &[Symbol]) -> Result<u64> {
        if symbols.is_empty() {
            return self.version().await;
        }
        let batch = self.to_batch(symbols)?;
        self.add_batches(vec![batch]).await
    }

    /// Appends Arrow batches (already in the table's schema, e.g. from a DuckDB staging table)
    /// in one commit, without copying their buffers. Returns the new table version.
    pub async fn add_batches(&self, batches: Vec<RecordBatch>) -> Result<u64> {
        if batches.is_empty() {
            return self.version().await;
        }
        let result = self.table.add(batches).execute().await.map_err(self.lance("add"))?;
        Ok(result.version)
    }

    /// Replaces every symbol of `paths` with `symbols` in a single commit: rows of those paths
    /// absent from `symbols` are deleted, the others inserted or updated. A path in `paths`
    /// with no symbols left simply loses its rows. Returns the new table version.
    pub async fn replace_files(&self, paths: &[String], symbols: &[Symbol]) -> Result<u64> {
        if paths.is_empty() && symbols.is_empty() {
            return self.version().await;
        }
        let mut all_paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        all_paths.extend(symbols.iter().map(|symbol| symbol.path.as_str()));
        all_paths.sort_unstable();
        all_paths.dedup();
        let filter = path_filter(&all_paths);
        if symbols.is_empty() {
            let result = self.table.delete(&filter).await.map_err(self.lance("delete"))?;
            return Ok(result.version);
        }
        let batch = self.to_batch(symbols)?;
        self.replace_matching(filter, vec![batch], "replace files").await
    }

    /// [`Store::replace_files`] with rows already in Arrow form (a pull from the team table):
    /// the rows of `paths` become exactly `batches`, in one commit.
    pub async fn replace_files_with_batches(&self, paths: &[String], batches: Vec<RecordBatch>) -> Result<u64> {
        if paths.is_empty() {
            return self.version().await;
        }
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let batches = batches.iter().map(|batch| self.conform_batch(batch)).collect::<Result<Vec<_>>>()?;
        self.replace_matching(path_filter(&refs), batches, "replace files").await
    }

    /// Writes rows into a content-addressed team table in one commit, keyed by `(id,
    /// file_hash)`: a row already there is replaced (a copy with a vector replaces one without),
    /// a new one inserted, so pushing a version twice leaves one copy. A merge-insert, because
    /// Lance then records the inserted keys: two pushers inserting the same rows at the same
    /// time conflict, and the second one retries on the first one's version instead of adding
    /// duplicates.
    pub async fn upsert_versions(&self, batches: Vec<RecordBatch>) -> Result<u64> {
        let batches = batches
            .iter()
            .filter(|batch| batch.num_rows() > 0)
            .map(|batch| self.conform_batch(batch))
            .collect::<Result<Vec<_>>>()?;
        if batches.is_empty() {
            return self.version().await;
        }
        let reader: Box<dyn RecordBatchReader + Send> =
            Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), self.schema.clone()));
        let mut merge = self.table.merge_insert(&["id", "file_hash"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all();
        let result = merge.execute(reader).await.map_err(self.lance("upsert versions"))?;
        Ok(result.version)
    }

    async fn replace_matching(
        &self,
        filter: String,
        batches: Vec<RecordBatch>,
        operation: &'static str,
    ) -> Result<u64> {
        replace_where(&self.table, &self.uri, filter, batches, operation).await
    }

    /// Every row of `paths`, as Arrow batches in the table's schema (what a push sends).
    pub async fn batches_of_paths(&self, paths: &[String]) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        for chunk in paths.chunks(1000) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            batches.extend(self.select_all(Some(path_filter(&refs))).await?);
        }
        Ok(batches)
    }

    /// Every row of these file versions (path and content hash): what a pull copies.
    pub async fn batches_of_file_versions(&self, versions: &[(String, String)]) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        for chunk in versions.chunks(2000) {
            batches.extend(self.select_all(Some(file_version_filter(chunk))).await?);
        }
        Ok(batches)
    }

    /// `(path, file_hash)` → (rows, embedded rows) of every file version in the table, read
    /// without the vectors (the embedded count comes from a second, filtered scan).
    pub async fn file_versions(&self) -> Result<HashMap<(String, String), (usize, usize)>> {
        let mut versions: HashMap<(String, String), (usize, usize)> = HashMap::new();
        for batch in &self.select(&["path", "file_hash"], None).await? {
            let paths = string_column(batch, "path")?;
            let hashes = string_column(batch, "file_hash")?;
            for row in 0..batch.num_rows() {
                versions.entry((paths.value(row).to_string(), hashes.value(row).to_string())).or_default().0 += 1;
            }
        }
        let embedded = self.select(&["path", "file_hash"], Some(format!("{EMBEDDING_COLUMN} IS NOT NULL"))).await?;
        for batch in &embedded {
            let paths = string_column(batch, "path")?;
            let hashes = string_column(batch, "file_hash")?;
            for row in 0..batch.num_rows() {
                if let Some(counts) = versions.get_mut(&(paths.value(row).to_string(), hashes.value(row).to_string())) {
                    counts.1 += 1;
                }
            }
        }
        Ok(versions)
    }

    /// Deletes every symbol of `paths` in one commit. Returns the new table version.
    pub async fn delete_files(&self, paths: &[String]) -> Result<u64> {
        self.replace_files(paths, &[]).await
    }

    /// Folds rows added since the indexes were built into them (full-text, vector, scalar),
    /// without a rebuild: cheap, one commit per index.
    pub async fn update_indexes(&self) -> Result<()> {
        // Append-only: new rows go into a delta segment, nothing already indexed is rewritten
        // (what a push uploads stays proportional to the change); compaction merges later.
        self.table
            .optimize(OptimizeAction::Index(OptimizeOptions::append()))
            .await
            .map_err(self.lance("optimize indexes"))?;
        Ok(())
    }

    /// [`Store::update_indexes`] for the full-text and vector indexes only (the scalar ones
    /// keep scanning their few new rows until the next compaction).
    pub async fn update_search_indexes(&self) -> Result<()> {
        let names: Vec<String> = self
            .table
            .list_indices()
            .await
            .map_err(self.lance("list indices"))?
            .into_iter()
            .filter(|index| index.columns.iter().any(|c| c == SEARCH_TEXT_COLUMN || c == EMBEDDING_COLUMN))
            .map(|index| index.name)
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        self.table
            .optimize(OptimizeAction::Index(OptimizeOptions::append().index_names(names)))
            .await
            .map_err(self.lance("optimize indexes"))?;
        Ok(())
    }

    /// Compacts small fragments, updates indexes with new rows and removes versions older
    /// than `keep_versions_for`. Lance never does any of this by itself.
    pub async fn optimize(&self, keep_versions_for: std::time::Duration) -> Result<OptimizeReport> {
        let compaction = self
            .table
            .optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None })
            .await
            .map_err(self.lance("compact"))?;
        self.table
            .optimize(OptimizeAction::Index(OptimizeOptions::default()))
            .await
            .map_err(self.lance("optimize indexes"))?;
        let older_than =
            lancedb::table::Duration::from_std(keep_versions_for).unwrap_or_else(|_| lancedb::table::Duration::zero());
        let prune = self
            .table
            .optimize(OptimizeAction::Prune {
                older_than: Some(older_than),
                delete_unverified: None,
                error_if_tagged_old_versions: None,
            })
            .await
            .map_err(self.lance("prune versions"))?;
        let mut report = OptimizeReport::default();
        if let Some(metrics) = compaction.compaction {
            report.fragments_removed = metrics.fragments_removed;
            report.fragments_added = metrics.fragments_added;
        }
        if let Some(removal) = prune.prune {
            report.old_versions_removed = removal.old_versions;
            report.bytes_removed = removal.bytes_removed;
        }
        Ok(report)
    }

    /// (Re)builds the full-text index over `search_text` and, once enough rows are embedded,
    /// the IVF-PQ vector index. Below [`MIN_ROWS_FOR_VECTOR_INDEX`] embedded rows there is no
    /// vector index and searches are exact, which is both correct and fast at that size.
    pub async fn refresh_indexes(&self) -> Result<VectorIndexState> {
        // The FTS document mixes code identifiers and prose: keep stemming and lower-casing,
        // but not stop-word removal ("is", "get", "set" are meaningful in code).
        let fulltext = FtsIndexBuilder::default().with_position(false).remove_stop_words(false);
        self.table
            .create_index(&[SEARCH_TEXT_COLUMN], Index::FTS(fulltext))
            .replace(true)
            .execute()
            .await
            .map_err(self.lance("create full-text index"))?;
        // Scalar indexes on the merge key and the file path keep per-file replacement and
        // reconcile lookups from scanning the whole table.
        for column in ["id", "path", "text_hash"] {
            self.table
                .create_index(&[column], Index::BTree(BTreeIndexBuilder::default()))
                .replace(true)
                .execute()
                .await
                .map_err(self.lance("create scalar index"))?;
        }
        let embedded = self.embedded_rows().await?;
        if embedded < MIN_ROWS_FOR_VECTOR_INDEX {
            return Ok(VectorIndexState::Exact);
        }
        // About 2k vectors per partition: with the default 20 probes a query scans a large
        // enough share of the table for recall@10 ≥ 0.95 after refinement, and PQ codes keep
        // that scan cheap. 48 sub-vectors of 8 dims keep PQ error low enough that a refine
        // factor of 10 restores exact ranking.
        let partitions = ((embedded / 2048) as u32).clamp(1, 1024);
        let vector = IvfPqIndexBuilder::default()
            .distance_type(DistanceType::Cosine)
            .num_partitions(partitions)
            .num_sub_vectors((EMBEDDING_DIM / 8) as u32);
        self.table
            .create_index(&[EMBEDDING_COLUMN], Index::IvfPq(vector))
            .replace(true)
            .execute()
            .await
            .map_err(self.lance("create vector index"))?;
        Ok(VectorIndexState::IvfPq)
    }

    /// The current table version (Lance manifest version).
    pub async fn version(&self) -> Result<u64> {
        self.table.version().await.map_err(self.lance("version"))
    }

    /// Number of rows, optionally filtered by a Lance SQL predicate built by this crate.
    pub async fn count(&self) -> Result<usize> {
        self.table.count_rows(None).await.map_err(self.lance("count rows"))
    }

    async fn embedded_rows(&self) -> Result<usize> {
        self.table
            .count_rows(Some(format!("{EMBEDDING_COLUMN} IS NOT NULL")))
            .await
            .map_err(self.lance("count embedded rows"))
    }

    /// Row counts, fragment count and index coverage.
    pub async fn stats(&self) -> Result<TableStats> {
        let version = self.version().await?;
        let rows = self.count().await?;
        let embedded_rows = self.embedded_rows().await?;
        let fragments = self.table.stats().await.map_err(self.lance("table stats"))?.fragment_stats.num_fragments;
        let mut vector_index = None;
        let mut fulltext_index = None;
        for index in self.table.list_indices().await.map_err(self.lance("list indices"))? {
            let Some(stats) = self.table.index_stats(&index.name).await.map_err(self.lance("index stats"))? else {
                continue;
            };
            let coverage =
                IndexCoverage { indexed_rows: stats.num_indexed_rows, unindexed_rows: stats.num_unindexed_rows };
            if index.columns.iter().any(|c| c == EMBEDDING_COLUMN) {
                vector_index = Some(coverage);
            } else if index.columns.iter().any(|c| c == SEARCH_TEXT_COLUMN) {
                fulltext_index = Some(coverage);
            }
        }
        Ok(TableStats { version, rows, embedded_rows, fragments, vector_index, fulltext_index })
    }

    /// `path → file_hash` of every indexed file (the reconcile key).
    pub async fn file_hashes(&self) -> Result<HashMap<String, String>> {
        self.file_hashes_where(None).await
    }

    /// `path → file_hash` of the indexed files equal to or under `prefixes` (workspace-relative;
    /// an empty prefix means everything). Uses the `path` index, so a delta does not scan the
    /// table.
    pub async fn file_hashes_under(&self, prefixes: &[String]) -> Result<HashMap<String, String>> {
        if prefixes.iter().any(String::is_empty) {
            return self.file_hashes().await;
        }
        if prefixes.is_empty() {
            return Ok(HashMap::new());
        }
        let clauses: Vec<String> = prefixes
            .iter()
            .map(|prefix| {
                let quoted = prefix.replace('\'', "''");
                let pattern = quoted.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                format!("path = '{quoted}' OR path LIKE '{pattern}/%' ESCAPE '\\'")
            })
            .collect();
        self.file_hashes_where(Some(clauses.join(" OR "))).await
    }

    async fn file_hashes_where(&self, filter: Option<String>) -> Result<HashMap<String, String>> {
        let batches = self.select(&["path", "file_hash"], filter).await?;
        let mut hashes = HashMap::new();
        for batch in &batches {
            let paths = string_column(batch, "path")?;
            let file_hashes = string_column(batch, "file_hash")?;
            for row in 0..batch.num_rows() {
                hashes.entry(paths.value(row).to_string()).or_insert_with(|| file_hashes.value(row).to_string());
            }
        }
        Ok(hashes)
    }

    /// `text_hash → embedding` for the given text hashes, from rows already embedded: the
    /// embedding cache. A symbol whose embedded text is unchanged is never embedded again,
    /// whatever file it moved to.
    pub async fn cached_embeddings(&self, text_hashes: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let mut wanted: Vec<&str> = text_hashes.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut cache = HashMap::new();
        // Hashes are hex digests (never user text); chunks keep the predicate small.
        for chunk in wanted.chunks(512) {
            let list: Vec<String> = chunk.iter().map(|hash| format!("'{hash}'")).collect();
            let filter = format!("{EMBEDDING_COLUMN} IS NOT NULL AND text_hash IN ({})", list.join(", "));
            for batch in &self.select(&["text_hash", EMBEDDING_COLUMN], Some(filter)).await? {
                let hashes = string_column(batch, "text_hash")?;
                let vectors = batch
                    .column_by_name(EMBEDDING_COLUMN)
                    .and_then(|c| c.as_any().downcast_ref::<arrow_array::FixedSizeListArray>())
                    .ok_or_else(|| StoreError::BatchSchema { detail: "embedding column".into() })?;
                for row in 0..batch.num_rows() {
                    if vectors.is_null(row) {
                        continue;
                    }
                    let values = vectors.value(row);
                    let Some(floats) = values.as_any().downcast_ref::<arrow_array::Float32Array>() else {
                        continue;
                    };
                    cache.entry(hashes.value(row).to_string()).or_insert_with(|| floats.values().to_vec());
                }
            }
        }
        Ok(cache)
    }

    /// Up to `limit` rows that have no embedding yet.
    pub async fn unembedded(&self, limit: usize) -> Result<Vec<Symbol>> {
        use futures::TryStreamExt;
        use lancedb::query::{ExecutableQuery, QueryBase};
        let batches: Vec<RecordBatch> = self
            .table
            .query()
            .only_if(format!("{EMBEDDING_COLUMN} IS NULL"))
            .limit(limit)
            .execute()
            .await
            .map_err(self.lance("scan unembedded"))?
            .try_collect()
            .await
            .map_err(self.lance("scan unembedded"))?;
        let mut symbols = Vec::new();
        for batch in &batches {
            symbols.extend(serde_arrow::from_record_batch::<Vec<Symbol>>(batch)?);
        }
        Ok(symbols)
    }

    /// Rewrites existing rows (matched by `id`) in one commit; ids no longer present are left
    /// alone, so a concurrent replacement of their file wins. Used to fill in embeddings.
    pub async fn update_rows(&self, symbols: &[Symbol]) -> Result<u64> {
        if symbols.is_empty() {
            return self.version().await;
        }
        let batch = self.to_batch(symbols)?;
        let reader: Box<dyn RecordBatchReader + Send> =
            Box::new(RecordBatchIterator::new(vec![Ok(batch)], self.schema.clone()));
        let mut merge = self.table.merge_insert(&["id"]);
        merge.when_matched_update_all(None);
        let result = merge.execute(reader).await.map_err(self.lance("update rows"))?;
        Ok(result.version)
    }

    async fn select(&self, columns: &[&str], filter: Option<String>) -> Result<Vec<RecordBatch>> {
        use futures::TryStreamExt;
        use lancedb::query::{ExecutableQuery, QueryBase, Select};
        let mut query = self.table.query().select(Select::columns(columns));
        if let Some(filter) = filter {
            query = query.only_if(filter);
        }
        query.execute().await.map_err(self.lance("scan"))?.try_collect().await.map_err(self.lance("scan"))
    }

    async fn select_all(&self, filter: Option<String>) -> Result<Vec<RecordBatch>> {
        use futures::TryStreamExt;
        use lancedb::query::{ExecutableQuery, QueryBase};
        let mut query = self.table.query();
        if let Some(filter) = filter {
            query = query.only_if(filter);
        }
        query.execute().await.map_err(self.lance("scan"))?.try_collect().await.map_err(self.lance("scan"))
    }

    /// Reads every row back as symbols (for tests and exports; not a query path).
    pub async fn all_symbols(&self) -> Result<Vec<Symbol>> {
        use futures::TryStreamExt;
        use lancedb::query::ExecutableQuery;
        let batches: Vec<RecordBatch> = self
            .table
            .query()
            .execute()
            .await
            .map_err(self.lance("scan"))?
            .try_collect()
            .await
            .map_err(self.lance("scan"))?;
        let mut symbols = Vec::new();
        for batch in &batches {
            symbols.extend(serde_arrow::from_record_batch::<Vec<Symbol>>(batch)?);
        }
        Ok(symbols)
    }

    /// The underlying lancedb table, for benchmarks that compare DuckDB reads with direct ones.
    pub fn lancedb_table(&self) -> &Table {
        &self.table
    }

    fn lance(&self, operation: &'static str) -> impl FnOnce(lancedb::Error) -> StoreError + '_ {
        move |source| StoreError::Lance { operation, uri: self.uri.clone(), source: Box::new(source) }
    }
}

/// The Arrow schema of the `symbols` table, derived from [`Symbol`] with serde_arrow, with the
/// two columns serde cannot describe set by hand: the fixed-size embedding vector and the
/// UTC timestamp. The model name and dimension go into the schema metadata.
pub fn symbol_schema(model: &EmbeddingModel) -> Result<SchemaRef> {
    // Utf8 (32-bit offsets), as DuckDB produces and as Lance's scalar indexes accept.
    let traced = Vec::<FieldRef>::from_type::<Symbol>(TracingOptions::default().strings_as_large_utf8(false))?;
    let fields: Vec<FieldRef> = traced
        .into_iter()
        .map(|field| match field.name().as_str() {
            EMBEDDING_COLUMN => Arc::new(Field::new(
                EMBEDDING_COLUMN,
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), model.dimension as i32),
                true,
            )),
            "indexed_at" => Arc::new(Field::new(
                "indexed_at",
                DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into())),
                false,
            )),
            _ => field,
        })
        .collect();
    let metadata = HashMap::from([
        (META_MODEL.to_string(), model.name.clone()),
        (META_DIM.to_string(), model.dimension.to_string()),
        (META_SCHEMA_VERSION.to_string(), SCHEMA_VERSION.to_string()),
    ]);
    Ok(Arc::new(Schema::new_with_metadata(fields, metadata)))
}

/// Opens the table `name` of `connection`, creating it (empty, with `schema`) when it does not
/// exist and `create` is set; a missing table otherwise is [`StoreError::NotFound`]. Never
/// overwrites: another process creating it between our open and our create is tolerated
/// (exist-ok), and then its table is opened.
async fn open_or_create(
    connection: &lancedb::Connection,
    name: &str,
    schema: SchemaRef,
    create: bool,
    uri: &str,
) -> Result<Table> {
    let lance =
        |operation| move |source| StoreError::Lance { operation, uri: uri.to_string(), source: Box::new(source) };
    match connection.open_table(name).execute().await {
        Ok(table) => Ok(table),
        Err(lancedb::Error::TableNotFound { .. }) if !create => Err(StoreError::NotFound { uri: uri.to_string() }),
        Err(lancedb::Error::TableNotFound { .. }) => connection
            .create_empty_table(name, schema)
            .mode(CreateTableMode::exist_ok(|request| request))
            .execute()
            .await
            .map_err(lance("create table")),
        Err(source) => Err(lance("open table")(source)),
    }
}

/// `schema` with `columns` marked, in this order, as Lance's unenforced primary key (Arrow
/// field metadata): Lance then records the keys a merge-insert inserts and treats two
/// concurrent inserts of the same key as a conflict.
pub fn with_primary_key(schema: &SchemaRef, columns: &[&str]) -> SchemaRef {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|field| match columns.iter().position(|c| c == field.name()) {
            Some(position) => {
                let mut metadata = field.metadata().clone();
                metadata.insert("lance-schema:unenforced-primary-key".to_string(), "true".to_string());
                metadata.insert("lance-schema:unenforced-primary-key:position".to_string(), (position + 1).to_string());
                Arc::new(field.as_ref().clone().with_metadata(metadata))
            }
            None => field.clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn check_metadata(uri: &str, metadata: &HashMap<String, String>, model: &EmbeddingModel) -> Result<()> {
    let found_version = metadata.get(META_SCHEMA_VERSION).cloned().unwrap_or_default();
    if found_version != SCHEMA_VERSION {
        return Err(StoreError::SchemaVersion { uri: uri.to_string(), found: found_version });
    }
    let found_model = metadata.get(META_MODEL).cloned().unwrap_or_default();
    let found_dim = metadata.get(META_DIM).cloned().unwrap_or_default();
    if found_model != model.name || found_dim != model.dimension.to_string() {
        return Err(StoreError::ModelMismatch {
            uri: uri.to_string(),
            found_model,
            found_dim,
            expected_model: model.name.clone(),
            expected_dim: model.dimension,
        });
    }
    Ok(())
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a arrow_array::StringArray> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<arrow_array::StringArray>())
        .ok_or_else(|| StoreError::BatchSchema { detail: format!("column {name} is not a string column") })
}

/// A Lance predicate selecting the rows of `paths`. Lance filters have no bound parameters,
/// so each path is a SQL string literal with its quotes doubled; paths are workspace-relative
/// file names, never query text typed by a user.
/// Byte budgets of the Lance caches of one store (see `Store::open`).
const INDEX_CACHE_BYTES: usize = 128 << 20;
const METADATA_CACHE_BYTES: usize = 32 << 20;

/// Deletes the rows matching `filter` and appends `batch` as one Lance commit (one
/// `Update` transaction): readers see either the old rows of those files or the new ones.
/// Much cheaper than a merge-insert, which joins the whole table against the input; here the
/// deleted rows are found through the BTree index on `path` and the new rows are just
/// written. Both halves are staged concurrently and nothing is visible until the commit.
async fn delete_and_append(
    base: Arc<lance::Dataset>,
    filter: String,
    batches: Vec<RecordBatch>,
) -> std::result::Result<lance::Dataset, lance::Error> {
    use lance::dataset::transaction::{Operation, Transaction, UpdateMode};
    use lance::dataset::{CommitBuilder, DeleteBuilder, InsertBuilder, WriteMode, WriteParams};
    let read_version = base.manifest().version;
    let params = WriteParams { mode: WriteMode::Append, ..Default::default() };
    let delete = DeleteBuilder::new(base.clone(), filter).execute_uncommitted();
    let inserter = InsertBuilder::new(base.clone());
    let inserter = inserter.with_params(&params);
    let (deleted, inserted) = futures::try_join!(delete, inserter.execute_uncommitted(batches))?;
    let Operation::Delete { updated_fragments, deleted_fragment_ids, .. } = deleted.transaction.operation else {
        return Err(lance::Error::internal("a staged delete that is not a Delete".to_string()));
    };
    let Operation::Append { fragments: new_fragments } = inserted.operation else {
        return Err(lance::Error::internal("a staged insert that is not an Append".to_string()));
    };
    let operation = Operation::Update {
        removed_fragment_ids: deleted_fragment_ids,
        updated_fragments,
        new_fragments,
        fields_modified: vec![],
        compacted_sstables: vec![],
        // Every field: the new fragments are never taken as covered by existing indexes.
        fields_for_preserving_frag_bitmap: base.schema().fields_pre_order().map(|f| f.id as u32).collect(),
        update_mode: Some(UpdateMode::RewriteRows),
        inserted_rows_filter: None,
        updated_fragment_offsets: None,
    };
    let mut commit = CommitBuilder::new(base);
    if let Some(rows) = deleted.affected_rows {
        commit = commit.with_affected_rows(rows);
    }
    commit.execute(Transaction::new(read_version, operation, None)).await
}

/// One commit that deletes the rows of `table` matching `filter` and appends `batches`,
/// retried on a fresh version when another process committed a conflicting change in between.
async fn replace_where(
    table: &Table,
    uri: &str,
    filter: String,
    batches: Vec<RecordBatch>,
    operation: &'static str,
) -> Result<u64> {
    let lance =
        |source: lancedb::Error| StoreError::Lance { operation, uri: uri.to_string(), source: Box::new(source) };
    let batches: Vec<RecordBatch> = batches.into_iter().filter(|batch| batch.num_rows() > 0).collect();
    if batches.is_empty() {
        let result = table.delete(&filter).await.map_err(lance)?;
        return Ok(result.version);
    }
    let dataset = table
        .dataset()
        .ok_or_else(|| lance(lancedb::Error::NotSupported { message: "not a native Lance table".into() }))?;
    dataset.ensure_mutable().map_err(lance)?;
    let mut attempt = 0;
    loop {
        let current = dataset.get().await.map_err(lance)?;
        match delete_and_append(current, filter.clone(), batches.clone()).await {
            Ok(updated) => {
                let version = updated.version().version;
                // Publish the new version to this handle without re-reading the manifest.
                dataset.update(updated);
                return Ok(version);
            }
            Err(error) if is_conflict(&error) && attempt < COMMIT_ATTEMPTS => {
                attempt += 1;
                tracing::debug!(operation, attempt, "commit conflict; retrying on the new version");
                dataset.reload().await.map_err(lance)?;
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(6))).await;
            }
            Err(error) => return Err(lance(lancedb::Error::from(error))),
        }
    }
}

/// `(path, file_hash)` → (rows, embedded rows) of the rows in `batches` (of the symbols schema).
pub fn count_versions(batches: &[RecordBatch]) -> Result<HashMap<(String, String), (usize, usize)>> {
    let mut versions: HashMap<(String, String), (usize, usize)> = HashMap::new();
    for batch in batches {
        let paths = string_column(batch, "path")?;
        let hashes = string_column(batch, "file_hash")?;
        let vectors = batch
            .column_by_name(EMBEDDING_COLUMN)
            .ok_or_else(|| StoreError::BatchSchema { detail: "no embedding column".into() })?;
        for row in 0..batch.num_rows() {
            let counts = versions.entry((paths.value(row).to_string(), hashes.value(row).to_string())).or_default();
            counts.0 += 1;
            counts.1 += usize::from(vectors.is_valid(row));
        }
    }
    Ok(versions)
}

/// How often a conflicting commit is retried on a fresh version before giving up.
const COMMIT_ATTEMPTS: u32 = 10;

/// A commit that lost a race with another writer (retrying on the new version may succeed).
fn is_conflict(error: &lance::Error) -> bool {
    matches!(
        error,
        lance::Error::CommitConflict { .. }
            | lance::Error::RetryableCommitConflict { .. }
            | lance::Error::IncompatibleTransaction { .. }
            | lance::Error::TooMuchWriteContention { .. }
    )
}

fn is_hex(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A predicate selecting the rows of these file versions. A content hash has a fixed length,
/// so `path || file_hash` identifies the pair without a separator.
fn file_version_filter(versions: &[(String, String)]) -> String {
    let list: Vec<String> = versions
        .iter()
        .filter(|(_, hash)| is_hex(hash))
        .map(|(path, hash)| format!("'{}{}'", path.replace('\'', "''"), hash))
        .collect();
    format!("concat(path, file_hash) IN ({})", list.join(", "))
}

fn path_filter(paths: &[&str]) -> String {
    let list: Vec<String> = paths.iter().map(|path| format!("'{}'", path.replace('\'', "''"))).collect();
    format!("path IN ({})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_filter_quotes_paths() {
        assert_eq!(path_filter(&["a.rs", "it's.py"]), "path IN ('a.rs', 'it''s.py')");
    }

    #[test]
    fn schema_has_fixed_size_embedding_and_model_metadata() {
        let schema = symbol_schema(&EmbeddingModel::default()).unwrap();
        let embedding = schema.field_with_name(EMBEDDING_COLUMN).unwrap();
        assert_eq!(
            embedding.data_type(),
            &DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), 384)
        );
        assert!(embedding.is_nullable());
        assert_eq!(schema.metadata()[META_DIM], "384");
    }
}
