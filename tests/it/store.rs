//! The Lance store: creation, writes as single commits, maintenance, model metadata.

use zenith::store::{EmbeddingModel, Store, StoreConfig, StoreError};
use zenith::symbols::Symbol;

use crate::support::{embedded_symbols, runtime, symbol};

fn local_config(dir: &tempfile::TempDir) -> StoreConfig {
    StoreConfig::new(dir.path().join("index").to_string_lossy().into_owned())
}

fn sorted(mut symbols: Vec<Symbol>) -> Vec<Symbol> {
    symbols.sort_by(|a, b| a.id.cmp(&b.id));
    symbols
}

#[test]
fn opening_an_existing_table_never_loses_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&local_config(&dir)).await.unwrap();
        store.add(&embedded_symbols(0, 10, 3, 1)).await.unwrap();
        let reopened = Store::open(&local_config(&dir)).await.unwrap();
        assert_eq!(reopened.count().await.unwrap(), 10);
        // The create path itself is exist-ok: a second handle opened before writes still works.
        reopened.add(&embedded_symbols(10, 5, 3, 2)).await.unwrap();
        assert_eq!(store.count().await.unwrap(), 15);
    });
}

#[test]
fn symbols_round_trip_through_lance_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&local_config(&dir)).await.unwrap();
        let mut symbols = embedded_symbols(0, 20, 4, 3);
        symbols[3].embedding = None;
        symbols[4].doc = None;
        symbols[5].parent = None;
        symbols[6].name = "naïve_émoji_😀".to_string();
        store.add(&symbols).await.unwrap();
        assert_eq!(sorted(store.all_symbols().await.unwrap()), sorted(symbols));
    });
}

#[test]
fn replacing_files_is_one_commit_that_touches_only_those_files() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&local_config(&dir)).await.unwrap();
        // 30 symbols over files 0, 1, 2.
        let original = embedded_symbols(0, 30, 3, 4);
        store.add(&original).await.unwrap();
        let file0 = original[0].path.clone();
        let file1 = original[1].path.clone();
        // New content of file 0: its first two symbols kept (one with a new signature), one new.
        let mut new_file0: Vec<Symbol> = original.iter().filter(|s| s.path == file0).take(2).cloned().collect();
        new_file0[1].signature = "pub fn changed()".to_string();
        let mut added = symbol(1000, 3, None);
        added.path = file0.clone();
        new_file0.push(added);
        let before = store.version().await.unwrap();
        // File 1 vanished from the delta's point of view: it is listed with no symbols.
        let version = store.replace_files(&[file0.clone(), file1.clone()], &new_file0).await.unwrap();
        assert_eq!(version, before + 1, "replace_files must be exactly one commit");
        let after = store.all_symbols().await.unwrap();
        let expected: Vec<Symbol> =
            original.iter().filter(|s| s.path != file0 && s.path != file1).cloned().chain(new_file0.clone()).collect();
        assert_eq!(sorted(after), sorted(expected));
    });
}

#[test]
fn deleting_files_removes_exactly_their_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&local_config(&dir)).await.unwrap();
        let original = embedded_symbols(0, 12, 4, 5);
        store.add(&original).await.unwrap();
        let gone = original[0].path.clone();
        store.delete_files(std::slice::from_ref(&gone)).await.unwrap();
        let left = store.all_symbols().await.unwrap();
        assert_eq!(left.len(), original.iter().filter(|s| s.path != gone).count());
        assert!(left.iter().all(|s| s.path != gone));
    });
}

#[test]
fn opening_an_index_built_for_another_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        Store::open(&local_config(&dir)).await.unwrap().add(&embedded_symbols(0, 3, 1, 6)).await.unwrap();
        let mut other = local_config(&dir);
        other.model = EmbeddingModel { name: "some/other-model".to_string(), dimension: 768 };
        let error = Store::open(&other).await.err().expect("must refuse another model");
        assert!(matches!(error, StoreError::ModelMismatch { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("all-MiniLM-L6-v2") && message.contains("some/other-model"), "{message}");
        // The refused open did not damage the index.
        assert_eq!(Store::open(&local_config(&dir)).await.unwrap().count().await.unwrap(), 3);
    });
}

#[test]
fn optimize_compacts_fragments_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&local_config(&dir)).await.unwrap();
        for batch in 0..6 {
            store.add(&embedded_symbols(batch * 10, 10, 5, batch as u64)).await.unwrap();
        }
        let before = sorted(store.all_symbols().await.unwrap());
        assert_eq!(store.stats().await.unwrap().fragments, 6);
        let report = store.optimize(std::time::Duration::ZERO).await.unwrap();
        assert_eq!(report.fragments_removed, 6);
        let stats = store.stats().await.unwrap();
        assert_eq!(stats.fragments, 1);
        assert!(report.old_versions_removed > 0, "{report:?}");
        assert_eq!(sorted(store.all_symbols().await.unwrap()), before);
    });
}
