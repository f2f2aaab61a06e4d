//! The DuckDB read path over Lance: staging without copies, indexes, search quality,
//! commit visibility, filters, and a fresh process reading another's indexes.

use arrow_array::{Array, FixedSizeListArray, Float32Array, StringArray};
use zenith::query::{Filters, SearchMode, SearchRequest, filtered_scan};
use zenith::store::{Store, StoreConfig, VectorIndexState};

use crate::support::{brute_force_top_k, embedded_symbols, engine, runtime};

fn open_store(rt: &tokio::runtime::Runtime, dir: &tempfile::TempDir) -> Store {
    let config = StoreConfig::new(dir.path().join("index").to_string_lossy().into_owned());
    rt.block_on(Store::open(&config)).unwrap()
}

/// SQL that builds a staging table shaped like the symbols table, entirely inside DuckDB.
pub const STAGING_SQL: &str = "CREATE TEMP TABLE staging AS SELECT
        'id' || i AS id, 'staged/file' || (i % 4) || '.py' AS path, 'python' AS language,
        'function' AS kind, 'staged_fn_' || i AS name, 'staged.staged_fn_' || i AS qualified_name,
        NULL::VARCHAR AS parent, 'def staged_fn_' || i || '()' AS signature,
        'staged doc ' || i AS doc, 'public' AS visibility,
        i::UINTEGER AS start_line, 0::UINTEGER AS start_col, (i + 1)::UINTEGER AS end_line,
        0::UINTEGER AS end_col, 0::UINTEGER AS start_col_utf16, 0::UINTEGER AS end_col_utf16,
        false AS partial, 'fh' AS file_hash, 'th' || i AS text_hash,
        'staged fn ' || i AS search_text, TIMESTAMPTZ '2026-01-01 00:00:00+00' AS indexed_at,
        list_transform(range(384), x -> ((x * 7 + i * 13) % 101)::FLOAT / 101)::FLOAT[384] AS embedding
    FROM range(100) t(i)";

/// Stages rows in DuckDB, hands the `query_arrow()` batches to Lance and returns how many rows
/// went in. Asserts that the batches handed over share DuckDB's buffers.
pub fn stage_into_lance(rt: &tokio::runtime::Runtime, store: &Store) -> usize {
    let connection = engine().connect().unwrap();
    connection.execute_batch(STAGING_SQL).unwrap();
    let mut statement = connection.prepare("SELECT * FROM staging ORDER BY start_line").unwrap();
    let batches: Vec<arrow_array::RecordBatch> = statement.query_arrow([]).unwrap().collect();
    let mut conformed = Vec::new();
    for batch in &batches {
        let ready = store.conform_batch(batch).unwrap();
        let names = |b: &arrow_array::RecordBatch| {
            b.column_by_name("name").unwrap().as_any().downcast_ref::<StringArray>().unwrap().values().as_ptr()
        };
        let vectors = |b: &arrow_array::RecordBatch| {
            let list = b.column_by_name("embedding").unwrap().as_any().downcast_ref::<FixedSizeListArray>().unwrap();
            list.values().as_any().downcast_ref::<Float32Array>().unwrap().values().as_ptr()
        };
        assert_eq!(names(batch), names(&ready), "string buffers must be shared, not copied");
        assert_eq!(vectors(batch), vectors(&ready), "vector buffers must be shared, not copied");
        conformed.push(ready);
    }
    let rows = conformed.iter().map(|b| b.num_rows()).sum();
    rt.block_on(store.add_batches(conformed)).unwrap();
    rows
}

#[test]
fn duckdb_staging_batches_go_into_lance_without_copy() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    assert_eq!(stage_into_lance(&rt, &store), 100);
    assert_eq!(engine().count(&store.dataset_uri()).unwrap(), 100);
    let symbols = rt.block_on(store.all_symbols()).unwrap();
    let row = symbols.iter().find(|s| s.name == "staged_fn_42").unwrap();
    assert_eq!(row.start_line, 42);
    assert_eq!(row.parent, None);
    assert_eq!(row.embedding.as_ref().unwrap().len(), 384);
}

#[test]
fn every_column_reads_back_through_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    let mut symbols = embedded_symbols(0, 40, 5, 7);
    symbols[1].embedding = None;
    rt.block_on(store.add(&symbols)).unwrap();
    let connection = engine().connect().unwrap();
    let sql = format!("SELECT * FROM '{}' ORDER BY start_line", store.dataset_uri());
    let batches: Vec<arrow_array::RecordBatch> = connection.prepare(&sql).unwrap().query_arrow([]).unwrap().collect();
    let mut read: Vec<zenith::symbols::Symbol> = Vec::new();
    for batch in &batches {
        read.extend(serde_arrow::from_record_batch::<Vec<zenith::symbols::Symbol>>(batch).unwrap());
    }
    assert_eq!(read, symbols, "DuckDB must return every column, 384-d vectors included, unchanged");
}

#[test]
fn indexes_answer_vector_fulltext_and_hybrid_queries_through_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    let symbols = embedded_symbols(0, 1000, 50, 8);
    rt.block_on(store.add(&symbols)).unwrap();
    assert_eq!(rt.block_on(store.refresh_indexes()).unwrap(), VectorIndexState::IvfPq);
    let stats = rt.block_on(store.stats()).unwrap();
    assert_eq!(stats.vector_index.unwrap().indexed_rows, 1000);
    assert_eq!(stats.fulltext_index.unwrap().indexed_rows, 1000);
    let engine = engine();
    let dataset = store.dataset_uri();

    let target = &symbols[123];
    let request = SearchRequest::new(SearchMode::Semantic, "", target.embedding.clone());
    let hits = engine.search(&dataset, &request).unwrap();
    assert_eq!(hits.len(), 10);
    assert_eq!(hits[0].id, target.id, "a row's own vector finds that row first");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score), "scores descend");

    let request = SearchRequest::new(SearchMode::Fulltext, "marker777", None);
    let hits = engine.search(&dataset, &request).unwrap();
    assert_eq!(hits[0].name, "computeValue777");

    // Hybrid: the text names row 500, the vector is row 500's; it must come first.
    let request = SearchRequest::new(SearchMode::Hybrid, "marker500", symbols[500].embedding.clone());
    let hits = engine.search(&dataset, &request).unwrap();
    assert_eq!(hits[0].name, "computeValue500");
}

#[test]
fn vector_index_results_agree_with_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    let symbols = embedded_symbols(0, 3000, 100, 9);
    rt.block_on(store.add(&symbols)).unwrap();
    assert_eq!(rt.block_on(store.refresh_indexes()).unwrap(), VectorIndexState::IvfPq);
    let engine = engine();
    let queries = crate::support::queries_near(&symbols, 30, 99);
    let mut found = 0;
    for query in &queries {
        let exact = brute_force_top_k(&symbols, query, 10);
        let request = SearchRequest::new(SearchMode::Semantic, "", Some(query.clone()));
        let hits = engine.search(&store.dataset_uri(), &request).unwrap();
        found += hits.iter().filter(|hit| exact.contains(&hit.id)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "recall@10 with refine = {recall}");
}

#[test]
fn incremental_add_is_searchable_across_both_batches() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    let first = embedded_symbols(0, 100, 10, 10);
    let second = embedded_symbols(100, 50, 10, 11);
    rt.block_on(store.add(&first)).unwrap();
    rt.block_on(store.refresh_indexes()).unwrap();
    rt.block_on(store.add(&second)).unwrap();
    let engine = engine();
    assert_eq!(engine.count(&store.dataset_uri()).unwrap(), 150);
    for target in [&first[17], &second[33]] {
        let request = SearchRequest::new(SearchMode::Semantic, "", target.embedding.clone());
        assert_eq!(engine.search(&store.dataset_uri(), &request).unwrap()[0].id, target.id);
        let request = SearchRequest::new(SearchMode::Fulltext, format!("marker{}", target.start_line), None);
        assert_eq!(engine.search(&store.dataset_uri(), &request).unwrap()[0].id, target.id);
    }
}

#[test]
fn a_commit_is_visible_to_the_very_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    let engine = engine();
    rt.block_on(store.add(&embedded_symbols(0, 10, 2, 12))).unwrap();
    assert_eq!(engine.count(&store.dataset_uri()).unwrap(), 10);
    rt.block_on(store.add(&embedded_symbols(10, 7, 2, 13))).unwrap();
    assert_eq!(engine.count(&store.dataset_uri()).unwrap(), 17);
    let doomed = embedded_symbols(0, 1, 2, 12)[0].path.clone();
    rt.block_on(store.delete_files(&[doomed])).unwrap();
    let left = rt.block_on(store.count()).unwrap() as u64;
    assert_eq!(engine.count(&store.dataset_uri()).unwrap(), left);
}

#[test]
fn filters_restrict_every_search_mode() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    let symbols = embedded_symbols(0, 300, 10, 14);
    rt.block_on(store.add(&symbols)).unwrap();
    rt.block_on(store.refresh_indexes()).unwrap();
    let engine = engine();
    let filters = Filters {
        language: Some("python".to_string()),
        kind: Some("struct".to_string()),
        path_prefix: Some("src/dir1/".to_string()),
        visibility: Some("public".to_string()),
    };
    let expected: Vec<&zenith::symbols::Symbol> = symbols
        .iter()
        .filter(|s| {
            s.language == "python" && s.kind == "struct" && s.path.starts_with("src/dir1/") && s.visibility == "public"
        })
        .collect();
    assert!(!expected.is_empty());
    for mode in [SearchMode::Semantic, SearchMode::Fulltext, SearchMode::Hybrid] {
        let mut request = SearchRequest::new(mode, "computes value", expected[0].embedding.clone());
        request.filters = filters.clone();
        request.limit = 5;
        let hits = engine.search(&store.dataset_uri(), &request).unwrap();
        assert!(!hits.is_empty(), "{mode:?}");
        for hit in &hits {
            assert!(
                hit.language == "python"
                    && hit.kind == "struct"
                    && hit.path.starts_with("src/dir1/")
                    && hit.visibility == "public",
                "{mode:?}: {hit:?}"
            );
        }
    }
    let scanned = filtered_scan(&engine, &store.dataset_uri(), &filters, 1000).unwrap();
    assert_eq!(scanned.len(), expected.len());
}

#[test]
fn hostile_query_text_is_data_not_sql() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    rt.block_on(store.add(&embedded_symbols(0, 20, 2, 15))).unwrap();
    rt.block_on(store.refresh_indexes()).unwrap();
    let engine = engine();
    let mut request = SearchRequest::new(SearchMode::Fulltext, "x'); DROP TABLE symbols; --", None);
    request.filters.language = Some("rust' OR '1'='1".to_string());
    let hits = engine.search(&store.dataset_uri(), &request).unwrap();
    assert!(hits.is_empty(), "{hits:?}");
    assert_eq!(engine.count(&store.dataset_uri()).unwrap(), 20);
}

#[test]
fn a_fresh_process_reads_indexes_written_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let store = open_store(&rt, &dir);
    rt.block_on(store.add(&embedded_symbols(0, 400, 20, 16))).unwrap();
    rt.block_on(store.refresh_indexes()).unwrap();
    // `znt` is a separate process with its own DuckDB database and lance session.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_znt"))
        .args(["search", "marker42", "--mode", "fulltext", "--json", "--limit", "3", "--index-dir"])
        .arg(dir.path().join("index"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["name"], "computeValue42");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_znt"))
        .args(["status", "--json", "--index-dir"])
        .arg(dir.path().join("index"))
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["symbols"], 400);
    assert_eq!(status["embedded"], 400);
}
