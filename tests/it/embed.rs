//! The embedder against the reference implementation (sentence-transformers), and the
//! embedding back-fill with its content-addressed cache.

use zenith::daemon::{IndexOptions, Silent, embed_pending, reconcile};
use zenith::embed::{EmbedConfig, Embedder, Precision};
use zenith::store::{Store, StoreConfig};

use crate::support::runtime;

fn embedder() -> Embedder {
    let dir = zenith::assets::model_dir().expect("the model must be available (run `znt setup`)");
    Embedder::load(&dir, EmbedConfig::default()).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

/// The fixed texts and sentence-transformers' vectors for them.
fn reference_fixture() -> (Vec<String>, Vec<Vec<f32>>) {
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/reference_vectors.json"))
            .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    let texts: Vec<String> =
        fixture["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    let expected: Vec<Vec<f32>> = fixture["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
        .collect();
    assert!(texts.len() >= 50);
    (texts, expected)
}

/// Embeds the fixture's texts and returns the lowest cosine to the reference (and its text).
fn worst_agreement(embedder: &Embedder) -> (f32, String) {
    let (texts, expected) = reference_fixture();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let ours = embedder.embed(&texts).unwrap();
    let mut worst = (1.0f32, String::new());
    for ((vector, reference), text) in ours.iter().zip(&expected).zip(&texts) {
        assert_eq!(vector.len(), 384);
        let similarity = cosine(vector, reference);
        if similarity < worst.0 {
            worst = (similarity, text.to_string());
        }
    }
    // Batching and order do not change a text's vector.
    let single = embedder.embed_query(texts[7]).unwrap();
    assert!(cosine(&single, &ours[7]) > 0.9999);
    worst
}

#[test]
fn vectors_match_sentence_transformers_on_fixed_texts() {
    let (similarity, text) = worst_agreement(&embedder());
    assert!(similarity >= 0.999, "cosine {similarity} for {text:?}");
}

#[test]
fn candles_bert_the_fallback_without_avx512_matches_sentence_transformers_too() {
    let embedder = Embedder::load_candle(&zenith::assets::model_dir().unwrap(), EmbedConfig::default()).unwrap();
    let (similarity, text) = worst_agreement(&embedder);
    assert!(similarity >= 0.999, "cosine {similarity} for {text:?}");
}

#[test]
fn int8_vectors_stay_within_cosine_0_99_of_the_reference() {
    let config = EmbedConfig { precision: Precision::Int8, ..EmbedConfig::default() };
    let embedder = Embedder::load(&zenith::assets::model_dir().unwrap(), config).unwrap();
    let (similarity, text) = worst_agreement(&embedder);
    eprintln!("int8: lowest cosine to the reference {similarity:.4} ({text:?})");
    assert!(similarity >= 0.99, "cosine {similarity} for {text:?}");
}

#[test]
fn embeddings_are_filled_in_and_reused_across_renames_and_restarts() {
    let workspace = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    crate::index::fixture_workspace(workspace.path());
    let rt = runtime();
    let config = StoreConfig::new(index.path().to_string_lossy().into_owned());
    let store = rt.block_on(Store::open(&config)).unwrap();
    rt.block_on(reconcile(workspace.path(), &store, &IndexOptions::default(), &Silent)).unwrap();
    let stats = rt.block_on(store.stats()).unwrap();
    assert_eq!(stats.embedded_rows, 0, "names first, vectors later");
    let embedder = embedder();
    let embedded = rt.block_on(embed_pending(&store, &embedder, 4, &Silent)).unwrap();
    assert_eq!(embedded, stats.rows);
    assert_eq!(rt.block_on(store.stats()).unwrap().embedded_rows, stats.rows);

    // A renamed file keeps its vectors (same embedded texts): nothing to embed afterwards,
    // also for a store opened anew (a restart).
    std::fs::rename(workspace.path().join("src/lib.rs"), workspace.path().join("src/core.rs")).unwrap();
    let reopened = rt.block_on(Store::open(&config)).unwrap();
    let report = rt.block_on(reconcile(workspace.path(), &reopened, &IndexOptions::default(), &Silent)).unwrap();
    assert_eq!(report.files_parsed, 1);
    assert!(report.embeddings_reused >= 3, "{report:?}");
    assert_eq!(rt.block_on(embed_pending(&reopened, &embedder, 4, &Silent)).unwrap(), 0);
}
