//! `znt sql`: the user's SQL runs in a database that can name nothing but a copy of the index.
//!
//! Read-only by construction, not by lexing. The user's text never reaches the process's main
//! DuckDB database (the one with the lance extension, whose table functions read any dataset
//! by path and whose `__lance_*` maintenance functions commit, compact and clean up). Instead:
//!
//! 1. DuckDB's own parser (not ours) must find exactly one statement in the text, and exactly
//!    one again once the text is wrapped as a subquery, `SELECT * FROM (<text>)`: only a query
//!    can stand there, so `DELETE`, `COPY`, `ATTACH`, `SET`, `PRAGMA`, `INSTALL`, `LOAD`, `CALL`
//!    are syntax errors, and a `;` smuggled inside any quoting style cannot split it.
//! 2. The main database reads one pinned version of the table (a fixed statement, the path
//!    quoted by us) as Arrow batches.
//! 3. A fresh in-memory database receives those batches as a plain `symbols` table. It has no
//!    lance extension, external access off (no file or network reads, no ATTACH, COPY TO, or
//!    extension loading), extension autoload and autoinstall off, and its configuration locked
//!    before the user's statement is prepared. `symbols_fts(query, k)` is a macro over a table
//!    function of ours that runs BM25 on the same pinned version with bound parameters.
//!
//! Whatever the statement does, it can only see and touch that throwaway copy.

use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex};

use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, Inserter, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use duckdb::{Config, Connection};

use super::{QueryError, Result, duck, sql_string};
use crate::store::SEARCH_TEXT_COLUMN;

/// Most BM25 hits `symbols_fts` returns (one DuckDB vector holds 2048 rows).
const MAX_FTS_K: i64 = 1000;

/// Runs the user's `sql` over a copy of the table at `dataset`, read through `connection`
/// (a connection of the main database, so one pinned table version).
pub(super) fn run(connection: Connection, dataset: &str, sql: &str) -> Result<Vec<RecordBatch>> {
    let wrapped = check_query(sql)?;
    let quoted = sql_string(dataset);
    let columns: Vec<(String, String)> = {
        let mut statement = connection
            .prepare(&format!("DESCRIBE SELECT * EXCLUDE ({SEARCH_TEXT_COLUMN}) FROM '{quoted}'"))
            .map_err(duck("describing the table"))?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(duck("describing the table"))?;
        rows.collect::<std::result::Result<_, _>>().map_err(duck("describing the table"))?
    };
    let batches: Vec<RecordBatch> = connection
        .prepare(&format!("SELECT * EXCLUDE ({SEARCH_TEXT_COLUMN}) FROM '{quoted}'"))
        .map_err(duck("reading the table"))?
        .query_arrow([])
        .map_err(duck("reading the table"))?
        .collect();

    let sandbox = open_sandbox()?;
    let definition = columns
        .iter()
        .map(|(name, kind)| format!("\"{}\" {kind}", name.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    sandbox.execute_batch(&format!("CREATE TABLE symbols ({definition})")).map_err(duck("creating the copy"))?;
    {
        let mut appender = sandbox.appender("symbols").map_err(duck("copying the table"))?;
        for batch in batches {
            appender.append_record_batch(batch).map_err(duck("copying the table"))?;
        }
        appender.flush().map_err(duck("copying the table"))?;
    }
    let fulltext = FulltextSource { connection: Arc::new(Mutex::new(connection)), dataset: dataset.to_string() };
    sandbox
        .register_table_function_with_extra_info::<FulltextIds, _>("zenith_fts_ids", &fulltext)
        .map_err(duck("registering symbols_fts"))?;
    sandbox
        .execute_batch(
            "CREATE MACRO symbols_fts(q, k := 10) AS TABLE \
               SELECT s.*, f._score FROM zenith_fts_ids(q, k) AS f JOIN symbols AS s USING (id) \
               ORDER BY f._score DESC",
        )
        .map_err(duck("defining symbols_fts"))?;
    let mut statement = sandbox.prepare(&wrapped).map_err(duck("preparing your SQL"))?;
    let batches = statement.query_arrow([]).map_err(duck("running your SQL"))?.collect();
    Ok(batches)
}

/// A database that can read and write nothing outside itself. Every setting is fixed when it
/// opens and the configuration is locked, so no statement can turn any of them back on.
fn open_sandbox() -> Result<Connection> {
    let config = Config::default()
        .enable_autoload_extension(false)
        .and_then(|c| c.enable_external_access(false))
        .and_then(|c| c.with("autoinstall_known_extensions", "false"))
        .and_then(|c| c.with("allow_community_extensions", "false"))
        .and_then(|c| c.with("lock_configuration", "true"))
        .map_err(duck("configuring the SQL sandbox"))?;
    Connection::open_in_memory_with_flags(config).map_err(duck("opening the SQL sandbox"))
}

/// Checks with DuckDB's parser that `sql` is exactly one query; returns it wrapped as the
/// subquery that is actually run.
fn check_query(sql: &str) -> Result<String> {
    let refuse = |why: String| Err(QueryError::Invalid(format!("refused: {why} (znt sql is read-only)")));
    // A trailing `;` ends the one statement; it cannot stand inside the subquery.
    let body = sql.trim_end().trim_end_matches(';').trim_end();
    match count_statements(body) {
        Ok(1) => {}
        Ok(0) => return refuse("there is no statement".into()),
        Ok(n) => return refuse(format!("only one statement is allowed, found {n}")),
        Err(message) => return Err(QueryError::Invalid(message)),
    }
    // The newline keeps a trailing `--` comment from swallowing the closing parenthesis.
    let wrapped = format!("SELECT * FROM (\n{body}\n)");
    match count_statements(&wrapped) {
        Ok(1) => Ok(wrapped),
        _ => refuse(
            "only a query is allowed (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SUMMARIZE, SHOW), \
             not a statement that changes or reaches outside the index"
                .into(),
        ),
    }
}

/// How many statements DuckDB's parser finds in `sql` (its error message when it finds none).
/// Parsing only: nothing is bound or run, in a database of its own that holds nothing.
fn count_statements(sql: &str) -> std::result::Result<usize, String> {
    use duckdb::ffi;
    let text = CString::new(sql).map_err(|_| "the SQL text contains a NUL byte".to_string())?;
    // SAFETY: plain use of DuckDB's C API. Every handle is created here, checked before use and
    // released below in reverse order; `text` outlives the call that reads it; the error string
    // is copied before the extracted statements that own it are destroyed.
    unsafe {
        let mut database: ffi::duckdb_database = std::ptr::null_mut();
        if ffi::duckdb_open(std::ptr::null(), &mut database) != ffi::DuckDBSuccess {
            return Err("DuckDB could not open a parser instance".into());
        }
        let mut connection: ffi::duckdb_connection = std::ptr::null_mut();
        if ffi::duckdb_connect(database, &mut connection) != ffi::DuckDBSuccess {
            ffi::duckdb_close(&mut database);
            return Err("DuckDB could not open a parser connection".into());
        }
        let mut extracted: ffi::duckdb_extracted_statements = std::ptr::null_mut();
        let count = ffi::duckdb_extract_statements(connection, text.as_ptr(), &mut extracted);
        let result = if count == 0 {
            let error = ffi::duckdb_extract_statements_error(extracted);
            Err(if error.is_null() {
                "DuckDB could not parse the SQL".to_string()
            } else {
                CStr::from_ptr(error).to_string_lossy().into_owned()
            })
        } else {
            Ok(count as usize)
        };
        ffi::duckdb_destroy_extracted(&mut extracted);
        ffi::duckdb_disconnect(&mut connection);
        ffi::duckdb_close(&mut database);
        result
    }
}

/// Where `symbols_fts` reads BM25 hits: the main database's connection pinned at the version
/// the copy was made from. Only our fixed statement runs on it, with bound parameters.
#[derive(Clone)]
struct FulltextSource {
    connection: Arc<Mutex<Connection>>,
    dataset: String,
}

impl FulltextSource {
    fn search(&self, text: &str, k: i64) -> Result<Vec<(String, f32)>> {
        let k = k.clamp(1, MAX_FTS_K);
        let connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut statement = connection
            .prepare(&format!("SELECT id, _score FROM lance_fts(?, '{SEARCH_TEXT_COLUMN}', ?, k = {k})"))
            .map_err(duck("symbols_fts"))?;
        let rows = statement
            .query_map(duckdb::params![self.dataset, text], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(duck("symbols_fts"))?;
        rows.collect::<std::result::Result<_, _>>().map_err(duck("symbols_fts"))
    }
}

/// `zenith_fts_ids(query, k)`: the ids and BM25 scores of the best `k` symbols.
struct FulltextIds;

struct FulltextHits {
    hits: Vec<(String, f32)>,
}

struct Emitted {
    done: std::sync::atomic::AtomicBool,
}

impl VTab for FulltextIds {
    type InitData = Emitted;
    type BindData = FulltextHits;

    fn bind(bind: &BindInfo) -> std::result::Result<FulltextHits, Box<dyn std::error::Error>> {
        bind.add_result_column("id", LogicalTypeHandle::from(LogicalTypeId::Varchar));
        bind.add_result_column("_score", LogicalTypeHandle::from(LogicalTypeId::Float));
        let text = bind.get_parameter(0).to_string();
        let k = bind.get_parameter(1).to_int64();
        // SAFETY: the extra info was registered as a `FulltextSource` by `run` above, and DuckDB
        // keeps it alive in its catalog for as long as the function can be called.
        let source = unsafe { &*bind.get_extra_info::<FulltextSource>() };
        Ok(FulltextHits { hits: source.search(&text, k)? })
    }

    fn init(_: &InitInfo) -> std::result::Result<Emitted, Box<dyn std::error::Error>> {
        Ok(Emitted { done: std::sync::atomic::AtomicBool::new(false) })
    }

    fn func(
        function: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        if function.get_init_data().done.swap(true, std::sync::atomic::Ordering::Relaxed) {
            output.set_len(0);
            return Ok(());
        }
        let hits = &function.get_bind_data().hits;
        let ids = output.flat_vector(0);
        for (row, (id, _)) in hits.iter().enumerate() {
            ids.insert(row, id.as_str());
        }
        let mut scores = output.flat_vector(1);
        // SAFETY: column 1 was declared FLOAT in `bind`, and `hits` has at most MAX_FTS_K
        // (1000) rows, fewer than a DuckDB vector holds (2048).
        let slice = unsafe { scores.as_mut_slice_with_len::<f32>(hits.len()) };
        for (slot, (_, score)) in slice.iter_mut().zip(hits) {
            *slot = *score;
        }
        output.set_len(hits.len());
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::Varchar), LogicalTypeHandle::from(LogicalTypeId::Bigint)])
    }
}
