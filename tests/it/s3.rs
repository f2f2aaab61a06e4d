//! The same store on S3-compatible object storage: a real moto server on loopback.

use zenith::query::{SearchMode, SearchRequest};
use zenith::store::{Store, StoreConfig};

use crate::support::{S3Server, embedded_symbols, engine, runtime};

fn s3_store(rt: &tokio::runtime::Runtime, server: &S3Server, prefix: &str) -> (Store, StoreConfig) {
    let config = StoreConfig {
        uri: format!("s3://{}/{prefix}", server.bucket),
        storage_options: server.storage_options(),
        model: Default::default(),
        create_if_missing: true,
        content_addressed: false,
    };
    let store = rt.block_on(Store::open(&config)).unwrap();
    engine().register_storage(&config.uri, &config.storage_options).unwrap();
    (store, config)
}

#[test]
fn symbols_round_trip_on_s3_and_read_back_through_duckdb() {
    let server = S3Server::start("zenith-h3");
    let rt = runtime();
    let (store, config) = s3_store(&rt, &server, "team/repo1");
    let symbols = embedded_symbols(0, 300, 10, 20);
    rt.block_on(store.add(&symbols)).unwrap();
    rt.block_on(store.refresh_indexes()).unwrap();
    let mut read = rt.block_on(store.all_symbols()).unwrap();
    read.sort_by_key(|s| s.start_line);
    assert_eq!(read, symbols);

    let engine = engine();
    assert_eq!(engine.count(&store.dataset_uri()).unwrap(), 300);
    let request = SearchRequest::new(SearchMode::Fulltext, "marker123", None);
    assert_eq!(engine.search(&store.dataset_uri(), &request).unwrap()[0].name, "computeValue123");
    let request = SearchRequest::new(SearchMode::Semantic, "", symbols[77].embedding.clone());
    assert_eq!(engine.search(&store.dataset_uri(), &request).unwrap()[0].id, symbols[77].id);

    // Reopening the remote table (exist-ok) keeps its rows.
    let reopened = rt.block_on(Store::open(&config)).unwrap();
    assert_eq!(rt.block_on(reopened.count()).unwrap(), 300);
}

#[test]
fn duckdb_staging_to_lance_works_on_s3() {
    let server = S3Server::start("zenith-i2");
    let rt = runtime();
    let (store, _) = s3_store(&rt, &server, "staging");
    assert_eq!(crate::query::stage_into_lance(&rt, &store), 100);
    assert_eq!(engine().count(&store.dataset_uri()).unwrap(), 100);
}
