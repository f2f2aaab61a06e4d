//! Deterministic synthetic symbols for the tests and benchmarks: clustered unit vectors (a
//! fair stand-in for real embeddings, which cluster by topic) and symbols with a unique
//! `marker<n>` word in their docs so full-text queries can target one row. Not used by the
//! product itself.

use crate::symbols::{EMBEDDING_DIM, Symbol, content_hash, search_text, symbol_id};

/// A small deterministic PRNG (splitmix64), so fixtures are identical on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::EPSILON);
    vector.iter_mut().for_each(|v| *v /= norm);
}

/// Unit vectors drawn around `clusters` random centres: closer to real embeddings (which are
/// clustered by topic) than uniform noise, and a fair workload for IVF partitioning.
pub fn clustered_vectors(count: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| (0..EMBEDDING_DIM).map(|_| rng.next_f32()).collect()).collect();
    (0..count)
        .map(|i| {
            let centre = &centres[i % clusters];
            let mut vector: Vec<f32> = centre.iter().map(|c| c + 0.6 * rng.next_f32()).collect();
            normalize(&mut vector);
            vector
        })
        .collect()
}

const LANGUAGES: [&str; 3] = ["rust", "python", "go"];
const KINDS: [&str; 3] = ["function", "struct", "method"];

/// A synthetic symbol `n` in file `src/file{n % files}.rs`; its doc holds the unique word
/// `marker{n}` so full-text tests can target one row.
pub fn symbol(n: usize, files: usize, embedding: Option<Vec<f32>>) -> Symbol {
    let path = format!("src/dir{}/file{}.rs", n % 3, n % files);
    let name = format!("computeValue{n}");
    let qualified_name = format!("crate::module{}::{name}", n % 7);
    let kind = KINDS[n % KINDS.len()].to_string();
    let signature = format!("pub fn {name}(input: &str) -> u64");
    let doc = Some(format!("Computes the value number {n} for the input. marker{n}"));
    Symbol {
        id: symbol_id(&path, &qualified_name, &kind, 0),
        language: LANGUAGES[n % LANGUAGES.len()].to_string(),
        kind,
        parent: Some(format!("crate::module{}", n % 7)),
        search_text: search_text(&name, &qualified_name, &signature, doc.as_deref()),
        text_hash: content_hash(signature.as_bytes()),
        file_hash: content_hash(path.as_bytes()),
        signature,
        doc,
        visibility: if n.is_multiple_of(2) { "public" } else { "private" }.to_string(),
        start_line: n as u32,
        start_col: 4,
        end_line: n as u32 + 3,
        end_col: 1,
        start_col_utf16: 4,
        end_col_utf16: 1,
        partial: false,
        indexed_at: 1_700_000_000_000_000 + n as i64,
        embedding,
        name,
        qualified_name,
        path,
    }
}

/// `count` embedded symbols starting at `first`, with clustered vectors.
pub fn embedded_symbols(first: usize, count: usize, files: usize, seed: u64) -> Vec<Symbol> {
    clustered_vectors(count, 16, seed)
        .into_iter()
        .enumerate()
        .map(|(i, vector)| symbol(first + i, files, Some(vector)))
        .collect()
}

/// Exact top-k ids by cosine similarity (vectors are unit length, so by dot product).
pub fn brute_force_top_k(symbols: &[Symbol], query: &[f32], k: usize) -> Vec<String> {
    let mut scored: Vec<(f32, &str)> = symbols
        .iter()
        .filter_map(|s| s.embedding.as_ref().map(|e| (e.iter().zip(query).map(|(a, b)| a * b).sum(), s.id.as_str())))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, id)| id.to_string()).collect()
}

/// Queries near the data, as real queries are: `count` stored vectors picked at random, each
/// moved by noise of about the same size as the spread within a cluster, renormalized.
pub fn queries_near(symbols: &[Symbol], count: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    let embedded: Vec<&Vec<f32>> = symbols.iter().filter_map(|s| s.embedding.as_ref()).collect();
    (0..count)
        .map(|_| {
            let base = embedded[(rng.next_u64() % embedded.len() as u64) as usize];
            let scale = 1.0 / (EMBEDDING_DIM as f32).sqrt();
            let mut vector: Vec<f32> = base.iter().map(|v| v + scale * rng.next_f32()).collect();
            normalize(&mut vector);
            vector
        })
        .collect()
}
