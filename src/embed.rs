//! Local embeddings: sentence-transformers/all-MiniLM-L6-v2 run on the CPU in pure Rust.
//!
//! This module owns the model (candle BERT + the `tokenizers` WordPiece tokenizer), batching
//! and the pooling that makes its vectors identical to the reference implementation: mean over
//! the attention mask, then L2 normalization. It must not know the store or the protocol; the
//! content-addressed cache (by `text_hash`) lives in the table and is consulted by the indexer.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig, DTYPE};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use crate::symbols::EMBEDDING_DIM;

mod bert;

/// Errors of the embedder; each names the file or stage it concerns.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file could not be read or parsed.
    #[error("loading {path}: {detail}")]
    Load { path: PathBuf, detail: String },
    /// Tokenization failed.
    #[error("tokenizing failed: {0}")]
    Tokenize(String),
    /// The forward pass failed.
    #[error("running the model failed: {0}")]
    Model(#[from] candle_core::Error),
    /// The model produced vectors of another size.
    #[error("the model produces {found}-d vectors, expected {EMBEDDING_DIM}")]
    Dimension { found: usize },
}

/// How the embedder runs.
#[derive(Debug, Clone, Copy)]
pub struct EmbedConfig {
    /// Worker threads for the matrix products (default: all cores).
    pub threads: usize,
    /// Texts per forward pass. Texts are sorted by length first, so batches pad little.
    pub batch_size: usize,
    /// Word pieces kept per text; all-MiniLM-L6-v2 was trained with 256 (its `max_seq_length`).
    pub max_tokens: usize,
    /// Arithmetic of the matrix products.
    pub precision: Precision,
}

/// Arithmetic of the model's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 throughout: the reference model's numbers (cosine ≥ 0.999 to sentence-transformers).
    #[default]
    Full,
    /// int8 linear layers (dynamic quantization, see `embed/bert.rs`): about three times
    /// faster than f32, cosine ≥ 0.99 to the reference.
    Int8,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        EmbedConfig {
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            batch_size: 32,
            max_tokens: 256,
            precision: Precision::Full,
        }
    }
}

/// The network: our packed-weight forward pass (f32 on AVX-512 CPUs, or int8), else candle's
/// BERT.
enum Model {
    Candle(BertModel),
    Packed(bert::Bert),
}

/// The loaded model.
pub struct Embedder {
    model: Model,
    tokenizer: Tokenizer,
    pad_id: u32,
    pool: rayon::ThreadPool,
    config: EmbedConfig,
}

impl Embedder {
    /// Loads the model from a directory holding `config.json`, `tokenizer.json` and
    /// `model.safetensors` (see [`crate::assets::model_dir`]).
    pub fn load(dir: &Path, config: EmbedConfig) -> Result<Embedder, EmbedError> {
        // f32 on a CPU without AVX-512: candle's kernels (AVX2) beat our portable loops.
        let packed = config.precision == Precision::Int8 || bert::avx512();
        Embedder::load_model(dir, config, packed)
    }

    /// [`Embedder::load`] with candle's BERT forced (f32 only): the fallback of CPUs without
    /// AVX-512, kept testable on CPUs with it.
    pub fn load_candle(dir: &Path, config: EmbedConfig) -> Result<Embedder, EmbedError> {
        Embedder::load_model(dir, EmbedConfig { precision: Precision::Full, ..config }, false)
    }

    fn load_model(dir: &Path, config: EmbedConfig, packed: bool) -> Result<Embedder, EmbedError> {
        let load_error = |file: &str, detail: String| EmbedError::Load { path: dir.join(file), detail };
        let config_text =
            std::fs::read_to_string(dir.join("config.json")).map_err(|e| load_error("config.json", e.to_string()))?;
        let bert_config: BertConfig =
            serde_json::from_str(&config_text).map_err(|e| load_error("config.json", e.to_string()))?;
        if bert_config.hidden_size != EMBEDDING_DIM {
            return Err(EmbedError::Dimension { found: bert_config.hidden_size });
        }
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| load_error("tokenizer.json", e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: config.max_tokens, ..Default::default() }))
            .map_err(|e| load_error("tokenizer.json", e.to_string()))?;
        // Padding is done per batch (see `forward`), after sorting by token count.
        tokenizer.with_padding(None);
        let pad_id = tokenizer.token_to_id(&PaddingParams::default().pad_token).unwrap_or(0);
        let weights =
            std::fs::read(dir.join("model.safetensors")).map_err(|e| load_error("model.safetensors", e.to_string()))?;
        let model = if packed {
            let tensors = candle_core::safetensors::load_buffer(&weights, &Device::Cpu)
                .map_err(|e| load_error("model.safetensors", e.to_string()))?;
            // The file's bytes are copied into the tensors; free them before packing (peak RSS).
            drop(weights);
            let int8 = config.precision == Precision::Int8;
            Model::Packed(
                bert::Bert::from_tensors(&tensors, int8).map_err(|detail| load_error("model.safetensors", detail))?,
            )
        } else {
            let vb = VarBuilder::from_buffered_safetensors(weights, DTYPE, &Device::Cpu)
                .map_err(|e| load_error("model.safetensors", e.to_string()))?;
            Model::Candle(
                BertModel::load(vb, &bert_config).map_err(|e| load_error("model.safetensors", e.to_string()))?,
            )
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads.max(1))
            .thread_name(|i| format!("znt-embed-{i}"))
            .build()
            .map_err(|e| load_error("thread pool", e.to_string()))?;
        Ok(Embedder { model, tokenizer, pad_id, pool, config })
    }

    /// Embeds texts; the result is in input order, one unit vector per text.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings =
            self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        // Sort by token count so each batch pads to almost nothing; restore order afterwards.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let batches: Vec<&[usize]> = order.chunks(self.config.batch_size.max(1)).collect();
        // Two batches in flight: the matrix products of one batch use every core, but the
        // parts between them (softmax, layer norm, small attention products) run on one; a
        // second batch fills the idle core. Outputs do not depend on batch composition.
        let embedded: Vec<Result<Vec<Vec<f32>>, EmbedError>> = self.pool.install(|| {
            use rayon::prelude::*;
            batches
                .par_iter()
                .with_max_len(1)
                .map(|batch| {
                    let encodings: Vec<&tokenizers::Encoding> = batch.iter().map(|&i| &encodings[i]).collect();
                    self.forward(&encodings)
                })
                .collect()
        });
        let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for (batch, result) in batches.iter().zip(embedded) {
            for (&index, vector) in batch.iter().zip(result?) {
                vectors[index] = vector;
            }
        }
        Ok(vectors)
    }

    /// Embeds one query text.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed(&[text])?.pop().unwrap_or_default())
    }

    /// One forward pass over encodings of similar length, padded here to the longest.
    fn forward(&self, encodings: &[&tokenizers::Encoding]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let batch = encodings.len();
        let length = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(batch * length);
        let mut mask = Vec::with_capacity(batch * length);
        for encoding in encodings {
            ids.extend_from_slice(encoding.get_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
            ids.resize(ids.len() + length - encoding.len(), self.pad_id);
            mask.resize(mask.len() + length - encoding.len(), 0);
        }
        let model = match &self.model {
            Model::Candle(model) => model,
            Model::Packed(model) => {
                return Ok(model.embed(bert::Batch { ids: &ids, mask: &mask, sequences: batch, length }));
            }
        };
        {
            let device = &model.device;
            let input_ids = Tensor::from_vec(ids, (batch, length), device)?;
            let token_type_ids = input_ids.zeros_like()?;
            let attention_mask = Tensor::from_vec(mask, (batch, length), device)?;
            let hidden = model.forward(&input_ids, &token_type_ids, Some(&attention_mask))?;
            // Mean pooling over real tokens, then L2 normalization (sentence-transformers' recipe).
            let mask = attention_mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
            let mean = summed.broadcast_div(&counts)?;
            let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            let vectors = mean.broadcast_div(&norms)?.to_vec2::<f32>()?;
            Ok::<_, EmbedError>(vectors)
        }
    }
}
