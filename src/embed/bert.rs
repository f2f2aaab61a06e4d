//! all-MiniLM-L6-v2's forward pass on packed weights, with hand-written AVX-512 kernels: the
//! embedder's fast path on CPUs that have AVX-512 (candle's BERT is the fallback elsewhere).
//!
//! Two arithmetics for the linear layers (90 % of the work):
//! - **f32**: weights packed once into 16-column panels; an 8-row × 48-column FMA kernel keeps
//!   its 24 accumulators in registers (candle's gemm 0.19 has only an AVX2 kernel here).
//!   Numerically the reference model (cosine ≥ 0.999, tested).
//! - **int8**, dynamic quantization (the scheme of PyTorch's `quantize_dynamic` and
//!   onnxruntime's `MatMulInteger`): weights quantized once per output channel (symmetric,
//!   i8), activations per row on the fly (asymmetric, u8); the products use AVX-512 VNNI
//!   (`vpdpbusd`: 64 u8 × i8 multiply-adds per instruction, four times the f32 FMA rate)
//!   when the CPU has it, else a portable loop. Cosine ≥ 0.99 to the reference (tested).
//!
//! Everything else — embeddings, layer norms, attention, GELU, pooling — is f32, in loops
//! written to vectorize (see [`lane_sum`], [`fast_exp`]) and compiled for AVX-512 by
//! [`Bert::embed`]'s dispatch.

use std::collections::HashMap;

use candle_core::Tensor;

/// Model shape of all-MiniLM-L6-v2 (checked against the weights when loading).
const HIDDEN: usize = 384;
const HEADS: usize = 12;
const HEAD_DIM: usize = HIDDEN / HEADS;
const LAYER_NORM_EPS: f32 = 1e-12;
/// Rows (tokens) per kernel call: 8 rows × 48 columns of i32 accumulators fill 24 of the 32
/// vector registers.
const ROW_BLOCK: usize = 8;
/// Output channels per kernel call (3 vectors of 16).
const COLUMN_BLOCK: usize = 48;
/// Most tokens run through the layers together (see [`Bert::embed_portable`]).
const CHUNK_ROWS: usize = 512;

/// A linear layer with f32 weights packed for the FMA kernel.
struct PackedLinear {
    inputs: usize,
    outputs: usize,
    /// Weights as `[column block of 16][k][16 columns]`: one 64-byte load per k-step feeds
    /// sixteen output channels.
    packed: Vec<f32>,
    bias: Vec<f32>,
}

impl PackedLinear {
    fn new(weight: &[f32], bias: &[f32], outputs: usize, inputs: usize) -> PackedLinear {
        assert!(outputs.is_multiple_of(COLUMN_BLOCK), "unsupported layer shape");
        let mut packed = vec![0f32; outputs * inputs];
        for block in 0..outputs / 16 {
            for k in 0..inputs {
                for column in 0..16 {
                    packed[(block * inputs + k) * 16 + column] = weight[(block * 16 + column) * inputs + k];
                }
            }
        }
        PackedLinear { inputs, outputs, packed, bias: bias.to_vec() }
    }

    /// `output[m, outputs] = input[m, inputs] · Wᵀ + bias`.
    #[inline(always)]
    fn forward(&self, input: &[f32], rows: usize, output: &mut Vec<f32>) {
        assert!(input.len() >= rows * self.inputs);
        output.resize(rows * self.outputs, 0.0);
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            let full = rows / ROW_BLOCK * ROW_BLOCK;
            // SAFETY: AVX-512F and FMA are present (checked); every block reads rows
            // `first..first + R` of `input` and writes the same rows of `output`, all in bounds.
            unsafe {
                for first in (0..full).step_by(ROW_BLOCK) {
                    fma_block::<ROW_BLOCK>(self, input, first, output);
                }
                for first in full..rows {
                    fma_block::<1>(self, input, first, output);
                }
            }
            return;
        }
        for (row, out) in input.chunks_exact(self.inputs).take(rows).zip(output.chunks_exact_mut(self.outputs)) {
            for (column, out) in out.iter_mut().enumerate() {
                let (block, lane) = (column / 16, column % 16);
                let weights = &self.packed[block * self.inputs * 16..][..self.inputs * 16];
                *out = self.bias[column] + row.iter().enumerate().map(|(k, x)| x * weights[k * 16 + lane]).sum::<f32>();
            }
        }
    }
}

/// Whether the AVX-512 kernels and loops can run here.
pub(super) fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Rows `first..first + R` of `output` = those of `input` · Wᵀ + bias.
///
/// # Safety
/// The CPU must support AVX-512F and FMA; `input` and `output` must hold those rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn fma_block<const R: usize>(layer: &PackedLinear, input: &[f32], first: usize, output: &mut [f32]) {
    use std::arch::x86_64::*;
    let (inputs, outputs) = (layer.inputs, layer.outputs);
    assert!(input.len() >= (first + R) * inputs && output.len() >= (first + R) * outputs);
    let rows: [*const f32; R] = std::array::from_fn(|r| unsafe { input.as_ptr().add((first + r) * inputs) });
    for column_block in 0..outputs / COLUMN_BLOCK {
        let panels: [*const f32; 3] =
            std::array::from_fn(|c| unsafe { layer.packed.as_ptr().add((column_block * 3 + c) * inputs * 16) });
        let mut acc = [[_mm512_setzero_ps(); 3]; R];
        for k in 0..inputs {
            let weights: [__m512; 3] = std::array::from_fn(|c| unsafe { _mm512_loadu_ps(panels[c].add(k * 16)) });
            for r in 0..R {
                let a = _mm512_set1_ps(unsafe { *rows[r].add(k) });
                for c in 0..3 {
                    acc[r][c] = _mm512_fmadd_ps(a, weights[c], acc[r][c]);
                }
            }
        }
        let first_column = column_block * COLUMN_BLOCK;
        for (r, row) in acc.iter().enumerate() {
            let out = unsafe { output.as_mut_ptr().add((first + r) * outputs + first_column) };
            for (c, vector) in row.iter().enumerate() {
                let bias = unsafe { _mm512_loadu_ps(layer.bias.as_ptr().add(first_column + c * 16)) };
                unsafe { _mm512_storeu_ps(out.add(c * 16), _mm512_add_ps(*vector, bias)) };
            }
        }
    }
}

/// A linear layer at one of the two arithmetics.
enum Linear {
    Full(PackedLinear),
    Int8(QuantLinear),
}

impl Linear {
    #[inline(always)]
    fn forward(&self, input: &[f32], rows: usize, quantized: &mut Quantized, output: &mut Vec<f32>) {
        match self {
            Linear::Full(layer) => layer.forward(input, rows, output),
            Linear::Int8(layer) => layer.forward(input, rows, quantized, output),
        }
    }
}

/// A linear layer with int8 weights, packed for the kernel.
struct QuantLinear {
    inputs: usize,
    outputs: usize,
    /// Weights as `[column block of 16][k / 4][16 columns][4 k]` bytes: one 64-byte load feeds
    /// one `vpdpbusd` with four k-steps of sixteen output channels.
    packed: Vec<i8>,
    /// Per output channel: weight scale.
    scales: Vec<f32>,
    /// Per output channel: the sum of its quantized weights (activations are stored as u8 with
    /// a per-row zero point; zero point × this sum removes it from the products).
    sums: Vec<i32>,
    bias: Vec<f32>,
}

impl QuantLinear {
    /// From a `[outputs, inputs]` weight matrix (PyTorch's layout) and its bias.
    fn new(weight: &[f32], bias: &[f32], outputs: usize, inputs: usize) -> QuantLinear {
        assert!(inputs.is_multiple_of(4) && outputs.is_multiple_of(COLUMN_BLOCK), "unsupported layer shape");
        let mut quantized = vec![0i8; outputs * inputs];
        let mut scales = Vec::with_capacity(outputs);
        let mut sums = Vec::with_capacity(outputs);
        for (row, out) in weight.chunks_exact(inputs).zip(quantized.chunks_exact_mut(inputs)) {
            let max = row.iter().fold(0f32, |m, w| m.max(w.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            let mut sum = 0i32;
            for (w, q) in row.iter().zip(out.iter_mut()) {
                *q = (w / scale).round().clamp(-127.0, 127.0) as i8;
                sum += i32::from(*q);
            }
            scales.push(scale);
            sums.push(sum);
        }
        let mut packed = vec![0i8; outputs * inputs];
        let steps = inputs / 4;
        for block in 0..outputs / 16 {
            for step in 0..steps {
                for column in 0..16 {
                    for t in 0..4 {
                        packed[((block * steps + step) * 16 + column) * 4 + t] =
                            quantized[(block * 16 + column) * inputs + step * 4 + t];
                    }
                }
            }
        }
        QuantLinear { inputs, outputs, packed, scales, sums, bias: bias.to_vec() }
    }

    /// `output[m, outputs] = input[m, inputs] · Wᵀ + bias`. Inlined so that its loops are
    /// compiled for the caller's target features. `quantized` is scratch space, reused.
    #[inline(always)]
    fn forward(&self, input: &[f32], rows: usize, quantized: &mut Quantized, output: &mut Vec<f32>) {
        quantized.quantize(input, self.inputs, rows);
        // Every element of the padded rows is written by the products.
        output.resize(quantized.rows * self.outputs, 0.0);
        products(self, quantized, output);
        output.truncate(rows * self.outputs);
    }
}

/// Activations quantized per row: u8 levels over the row's own range [min(0, …), max(0, …)]
/// (asymmetric: after GELU most values are ≥ -0.17, so a symmetric range would waste half the
/// levels), with a scale and zero point per row. Rows are padded to the row block.
#[derive(Default)]
struct Quantized {
    levels: Vec<u8>,
    scales: Vec<f32>,
    zeros: Vec<i32>,
    /// Rows including the padding.
    rows: usize,
}

impl Quantized {
    #[inline(always)]
    fn quantize(&mut self, input: &[f32], width: usize, rows: usize) {
        self.rows = rows.div_ceil(ROW_BLOCK) * ROW_BLOCK;
        self.levels.clear();
        self.levels.resize(self.rows * width, 0);
        self.scales.clear();
        self.scales.resize(self.rows, 0.0);
        self.zeros.clear();
        self.zeros.resize(self.rows, 0);
        for (((row, out), scale), zero) in input
            .chunks_exact(width)
            .take(rows)
            .zip(self.levels.chunks_exact_mut(width))
            .zip(&mut self.scales)
            .zip(&mut self.zeros)
        {
            let (min, max) = min_max(row);
            *scale = if max > min { (max - min) / 255.0 } else { 1.0 };
            *zero = (-min / *scale).round() as i32;
            let inverse = 1.0 / *scale;
            let zero_level = *zero as f32;
            for (x, q) in row.iter().zip(out.iter_mut()) {
                // Clamped, then read from the low bits of x + 1.5·2²³ (plain bit operations:
                // even a NaN from a broken model only gives some level, never UB).
                let level = (round(x * inverse) + zero_level).clamp(0.0, 255.0);
                *q = (level + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits()) as u8;
            }
        }
    }
}

/// `output` (`quantized.rows × outputs`) = dequantized products of the activations and the
/// packed weights, plus the bias.
fn products(layer: &QuantLinear, quantized: &Quantized, output: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vnni") {
        // SAFETY: the CPU supports the features the function is compiled for (checked just
        // above); `Quantized` and `output` have the sizes `vnni_products` requires.
        unsafe { vnni_products(layer, quantized, output) };
        return;
    }
    let accumulators = portable_products(layer, &quantized.levels, quantized.rows);
    for (row, (outputs, accumulators)) in
        output.chunks_exact_mut(layer.outputs).zip(accumulators.chunks_exact(layer.outputs)).enumerate()
    {
        for (column, (out, &acc)) in outputs.iter_mut().zip(accumulators).enumerate() {
            *out = dequantize(layer, quantized, row, column, acc);
        }
    }
}

/// One output value from its i32 product (the kernel's epilogue does the same 16 at a time).
fn dequantize(layer: &QuantLinear, quantized: &Quantized, row: usize, column: usize, acc: i32) -> f32 {
    let corrected = acc - quantized.zeros[row] * layer.sums[column];
    (corrected as f32).mul_add(quantized.scales[row] * layer.scales[column], layer.bias[column])
}

/// The i32 products of u8 activations and the packed weights, one element at a time.
fn portable_products(layer: &QuantLinear, activations: &[u8], rows: usize) -> Vec<i32> {
    let steps = layer.inputs / 4;
    let mut accumulators = vec![0i32; rows * layer.outputs];
    for row in 0..rows {
        let input = &activations[row * layer.inputs..(row + 1) * layer.inputs];
        for output in 0..layer.outputs {
            let (block, column) = (output / 16, output % 16);
            let mut sum = 0i32;
            for step in 0..steps {
                let weights = &layer.packed[((block * steps + step) * 16 + column) * 4..][..4];
                for t in 0..4 {
                    sum += i32::from(input[step * 4 + t]) * i32::from(weights[t]);
                }
            }
            accumulators[row * layer.outputs + output] = sum;
        }
    }
    accumulators
}

/// # Safety
/// The CPU must support AVX-512F and AVX-512 VNNI. `quantized` holds `rows × inputs` levels
/// (`rows` a multiple of [`ROW_BLOCK`]) and `output` `rows × outputs` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn vnni_products(layer: &QuantLinear, quantized: &Quantized, output: &mut [f32]) {
    use std::arch::x86_64::*;
    let (rows, steps) = (quantized.rows, layer.inputs / 4);
    assert!(quantized.levels.len() >= rows * layer.inputs && output.len() >= rows * layer.outputs);
    assert!(quantized.scales.len() >= rows && quantized.zeros.len() >= rows);
    assert!(rows.is_multiple_of(ROW_BLOCK) && layer.packed.len() == layer.outputs * layer.inputs);
    let packed = layer.packed.as_ptr();
    for column_block in 0..layer.outputs / COLUMN_BLOCK {
        // The three 16-column weight panels of this block (each `steps × 64` bytes).
        let panels: [*const i8; 3] =
            std::array::from_fn(|c| unsafe { packed.add((column_block * 3 + c) * steps * 64) });
        let first_column = column_block * COLUMN_BLOCK;
        let sums: [__m512i; 3] = std::array::from_fn(|c| unsafe {
            _mm512_loadu_si512(layer.sums.as_ptr().add(first_column + c * 16).cast())
        });
        let scales: [__m512; 3] =
            std::array::from_fn(|c| unsafe { _mm512_loadu_ps(layer.scales.as_ptr().add(first_column + c * 16)) });
        let biases: [__m512; 3] =
            std::array::from_fn(|c| unsafe { _mm512_loadu_ps(layer.bias.as_ptr().add(first_column + c * 16)) });
        for row_block in 0..rows / ROW_BLOCK {
            let first_row = row_block * ROW_BLOCK;
            let inputs: [*const u8; ROW_BLOCK] =
                std::array::from_fn(|r| unsafe { quantized.levels.as_ptr().add((first_row + r) * layer.inputs) });
            let mut acc = [[_mm512_setzero_si512(); 3]; ROW_BLOCK];
            for step in 0..steps {
                let weights: [__m512i; 3] =
                    std::array::from_fn(|c| unsafe { _mm512_loadu_si512(panels[c].add(step * 64).cast()) });
                for r in 0..ROW_BLOCK {
                    // Four consecutive activation bytes of row r, broadcast to all 16 lanes.
                    let a = _mm512_set1_epi32(unsafe { inputs[r].add(step * 4).cast::<i32>().read_unaligned() });
                    for c in 0..3 {
                        acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], a, weights[c]);
                    }
                }
            }
            // Epilogue, as `dequantize`: (acc − zero·Σw) · (row scale · weight scale) + bias.
            for (r, row) in acc.iter().enumerate() {
                let row_index = first_row + r;
                let zero = _mm512_set1_epi32(quantized.zeros[row_index]);
                let row_scale = _mm512_set1_ps(quantized.scales[row_index]);
                let out = unsafe { output.as_mut_ptr().add(row_index * layer.outputs + first_column) };
                for (c, vector) in row.iter().enumerate() {
                    let corrected = _mm512_sub_epi32(*vector, _mm512_mullo_epi32(zero, sums[c]));
                    let value =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(corrected), _mm512_mul_ps(row_scale, scales[c]), biases[c]);
                    unsafe { _mm512_storeu_ps(out.add(c * 16), value) };
                }
            }
        }
    }
}

/// Lanes for the reductions below: sixteen independent partial results per step let them
/// vectorize (a single running sum or minimum is a serial dependency chain).
const LANES: usize = 16;

/// Σ f(x) over `values`.
#[inline(always)]
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut partial = [0f32; LANES];
    for chunk in values.chunks_exact(LANES) {
        for (p, &x) in partial.iter_mut().zip(chunk) {
            *p += f(x);
        }
    }
    partial.iter().sum::<f32>() + values.chunks_exact(LANES).remainder().iter().map(|&x| f(x)).sum::<f32>()
}

/// (min(0, values…), max(0, values…)).
#[inline(always)]
fn min_max(values: &[f32]) -> (f32, f32) {
    let (mut low, mut high) = ([0f32; LANES], [0f32; LANES]);
    for chunk in values.chunks_exact(LANES) {
        for ((l, h), &x) in low.iter_mut().zip(high.iter_mut()).zip(chunk) {
            *l = if x < *l { x } else { *l };
            *h = if x > *h { x } else { *h };
        }
    }
    let remainder = values.chunks_exact(LANES).remainder();
    let low = low.iter().chain(remainder).fold(0f32, |m, &x| m.min(x));
    let high = high.iter().chain(remainder).fold(0f32, |m, &x| m.max(x));
    (low, high)
}

/// max(values…), or -inf for none.
#[inline(always)]
fn lane_max(values: &[f32]) -> f32 {
    let mut partial = [f32::NEG_INFINITY; LANES];
    for chunk in values.chunks_exact(LANES) {
        for (p, &x) in partial.iter_mut().zip(chunk) {
            *p = if x > *p { x } else { *p };
        }
    }
    partial.iter().chain(values.chunks_exact(LANES).remainder()).fold(f32::NEG_INFINITY, |m, &x| m.max(x))
}

/// 1.5·2²³: floats in [2²³, 2²⁴) have no fraction bits (see [`round`]).
const MAGIC: f32 = 12_582_912.0;

/// Rounds to the nearest integer (ties to even) for |x| < 2²²: adding 1.5·2²³ leaves no
/// fraction bits. Unlike `f32::round`, this is plain arithmetic and never a library call.
#[inline(always)]
fn round(x: f32) -> f32 {
    (x + MAGIC) - MAGIC
}

/// eˣ to about 2 ulp, branch-free so that loops over it vectorize (libm's `expf` does not).
/// Cody–Waite: x = n·ln 2 + r, eʳ by a degree-6 polynomial, 2ⁿ by exponent bits.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = round(x * std::f32::consts::LOG2_E);
    let r = n.mul_add(-0.693_145_75, x);
    let r = n.mul_add(-1.428_606_8e-6, r);
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2ⁿ: n + 127 read from the low bits of (n + 127 + 1.5·2²³), shifted into the exponent
    // (integer operations only, no float-to-int conversion: the loop stays vectorized).
    let biased = (n + (127.0 + MAGIC)).to_bits().wrapping_sub(MAGIC.to_bits());
    p * f32::from_bits(biased << 23)
}

/// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5·10⁻⁷), branch-free.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / 0.327_591_1f32.mul_add(a, 1.0);
    let poly = t * (0.254_829_6 + t * (-0.284_496_72 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * fast_exp(-a * a);
    y.copysign(x)
}

/// `scores[j] = Σ_d query[d] · keys[d · padded + j]` for one head (keys transposed, `padded`
/// a multiple of [`LANES`]).
fn portable_head_scores(query: &[f32; HEAD_DIM], keys: &[f32], padded: usize, scores: &mut [f32]) {
    scores.fill(0.0);
    for (d, &q) in query.iter().enumerate() {
        for (score, &k) in scores.iter_mut().zip(&keys[d * padded..][..padded]) {
            *score += q * k;
        }
    }
}

/// [`portable_head_scores`] with four independent accumulator chains (64 keys) per step: a
/// single chain over d would wait on each FMA's latency.
///
/// # Safety
/// The CPU must support AVX-512F and FMA; `keys` holds `HEAD_DIM × padded` values and `scores`
/// `padded`, with `padded` a multiple of [`LANES`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn head_scores(query: &[f32; HEAD_DIM], keys: &[f32], padded: usize, scores: &mut [f32]) {
    use std::arch::x86_64::*;
    assert!(keys.len() >= HEAD_DIM * padded && scores.len() >= padded && padded.is_multiple_of(LANES));
    let mut start = 0;
    while start + 4 * LANES <= padded {
        let mut acc = [_mm512_setzero_ps(); 4];
        for (d, &q) in query.iter().enumerate() {
            let q = _mm512_set1_ps(q);
            let row = unsafe { keys.as_ptr().add(d * padded + start) };
            for (c, acc) in acc.iter_mut().enumerate() {
                *acc = _mm512_fmadd_ps(q, unsafe { _mm512_loadu_ps(row.add(c * LANES)) }, *acc);
            }
        }
        for (c, acc) in acc.iter().enumerate() {
            unsafe { _mm512_storeu_ps(scores.as_mut_ptr().add(start + c * LANES), *acc) };
        }
        start += 4 * LANES;
    }
    while start < padded {
        // Even and odd d in two chains.
        let (mut even, mut odd) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for d in (0..HEAD_DIM).step_by(2) {
            let row = unsafe { keys.as_ptr().add(d * padded + start) };
            even = _mm512_fmadd_ps(_mm512_set1_ps(query[d]), unsafe { _mm512_loadu_ps(row) }, even);
            odd = _mm512_fmadd_ps(_mm512_set1_ps(query[d + 1]), unsafe { _mm512_loadu_ps(row.add(padded)) }, odd);
        }
        unsafe { _mm512_storeu_ps(scores.as_mut_ptr().add(start), _mm512_add_ps(even, odd)) };
        start += LANES;
    }
}

/// `sum[t] = Σ_j weights[j] · values[j · HEAD_DIM + t]`, in four chains (even and odd j, two
/// halves of the head).
///
/// # Safety
/// The CPU must support AVX-512F and FMA; `values` holds `weights.len()` rows of HEAD_DIM.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn head_context(weights: &[f32], values: &[f32], sum: &mut [f32; HEAD_DIM]) {
    use std::arch::x86_64::*;
    assert!(values.len() >= weights.len() * HEAD_DIM && HEAD_DIM == 2 * LANES);
    let (mut low, mut high) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let (mut low_odd, mut high_odd) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let pairs = weights.len() / 2;
    for pair in 0..pairs {
        let j = 2 * pair;
        let (even, odd) = (_mm512_set1_ps(weights[j]), _mm512_set1_ps(weights[j + 1]));
        let row = unsafe { values.as_ptr().add(j * HEAD_DIM) };
        low = _mm512_fmadd_ps(even, unsafe { _mm512_loadu_ps(row) }, low);
        high = _mm512_fmadd_ps(even, unsafe { _mm512_loadu_ps(row.add(LANES)) }, high);
        low_odd = _mm512_fmadd_ps(odd, unsafe { _mm512_loadu_ps(row.add(HEAD_DIM)) }, low_odd);
        high_odd = _mm512_fmadd_ps(odd, unsafe { _mm512_loadu_ps(row.add(HEAD_DIM + LANES)) }, high_odd);
    }
    if weights.len() % 2 == 1 {
        let j = weights.len() - 1;
        let weight = _mm512_set1_ps(weights[j]);
        let row = unsafe { values.as_ptr().add(j * HEAD_DIM) };
        low = _mm512_fmadd_ps(weight, unsafe { _mm512_loadu_ps(row) }, low);
        high = _mm512_fmadd_ps(weight, unsafe { _mm512_loadu_ps(row.add(LANES)) }, high);
    }
    unsafe {
        _mm512_storeu_ps(sum.as_mut_ptr(), _mm512_add_ps(low, low_odd));
        _mm512_storeu_ps(sum.as_mut_ptr().add(LANES), _mm512_add_ps(high, high_odd));
    }
}

struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl LayerNorm {
    #[inline(always)]
    fn apply(&self, rows: &mut [f32]) {
        for row in rows.chunks_exact_mut(HIDDEN) {
            let mean = lane_sum(row, |x| x) / HIDDEN as f32;
            let variance = lane_sum(row, |x| (x - mean) * (x - mean)) / HIDDEN as f32;
            let inverse = 1.0 / (variance + LAYER_NORM_EPS).sqrt();
            for ((x, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *x = (*x - mean) * inverse * w + b;
            }
        }
    }
}

struct Layer {
    /// Query, key and value projections fused into one 384 → 1152 product.
    qkv: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A padded batch of token ids and attention masks, `sequences × length`, row-major.
#[derive(Clone, Copy)]
pub struct Batch<'a> {
    pub ids: &'a [u32],
    pub mask: &'a [u32],
    pub sequences: usize,
    pub length: usize,
}

/// The model, with its linear layers packed for the kernels.
pub struct Bert {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    max_positions: usize,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Bert {
    /// Builds the model from the f32 weights of `model.safetensors` (BERT's names).
    pub fn from_tensors(tensors: &HashMap<String, Tensor>, int8: bool) -> Result<Bert, String> {
        let get = |name: &str| -> Result<(Vec<f32>, Vec<usize>), String> {
            let tensor = tensors
                .get(name)
                .or_else(|| tensors.get(&format!("bert.{name}")))
                .ok_or_else(|| format!("tensor {name} missing"))?;
            let shape = tensor.dims().to_vec();
            let values = tensor
                .to_dtype(candle_core::DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| format!("tensor {name}: {e}"))?;
            Ok((values, shape))
        };
        let vector = |name: &str, len: usize| -> Result<Vec<f32>, String> {
            let (values, _) = get(name)?;
            if values.len() != len {
                return Err(format!("tensor {name} has {} values, expected {len}", values.len()));
            }
            Ok(values)
        };
        let norm = |prefix: &str| -> Result<LayerNorm, String> {
            Ok(LayerNorm {
                weight: vector(&format!("{prefix}.LayerNorm.weight"), HIDDEN)?,
                bias: vector(&format!("{prefix}.LayerNorm.bias"), HIDDEN)?,
            })
        };
        let linear = |names: &[&str], outputs: usize, inputs: usize| -> Result<Linear, String> {
            let mut weight = Vec::with_capacity(outputs * inputs);
            let mut bias = Vec::with_capacity(outputs);
            for name in names {
                weight.extend(vector(&format!("{name}.weight"), outputs / names.len() * inputs)?);
                bias.extend(vector(&format!("{name}.bias"), outputs / names.len())?);
            }
            Ok(if int8 {
                Linear::Int8(QuantLinear::new(&weight, &bias, outputs, inputs))
            } else {
                Linear::Full(PackedLinear::new(&weight, &bias, outputs, inputs))
            })
        };
        let (word, word_shape) = get("embeddings.word_embeddings.weight")?;
        let (position, position_shape) = get("embeddings.position_embeddings.weight")?;
        if word_shape.get(1) != Some(&HIDDEN) || position_shape.get(1) != Some(&HIDDEN) {
            return Err(format!("embeddings are not {HIDDEN}-wide"));
        }
        let token_type = vector("embeddings.token_type_embeddings.weight", 2 * HIDDEN)?;
        let mut layers = Vec::new();
        for index in 0.. {
            let prefix = format!("encoder.layer.{index}");
            if !tensors.contains_key(&format!("{prefix}.attention.self.query.weight"))
                && !tensors.contains_key(&format!("bert.{prefix}.attention.self.query.weight"))
            {
                break;
            }
            let attention = format!("{prefix}.attention.self");
            let intermediate_size = get(&format!("{prefix}.intermediate.dense.bias"))?.0.len();
            layers.push(Layer {
                qkv: linear(
                    &[&format!("{attention}.query"), &format!("{attention}.key"), &format!("{attention}.value")],
                    3 * HIDDEN,
                    HIDDEN,
                )?,
                attention_output: linear(&[&format!("{prefix}.attention.output.dense")], HIDDEN, HIDDEN)?,
                attention_norm: norm(&format!("{prefix}.attention.output"))?,
                intermediate: linear(&[&format!("{prefix}.intermediate.dense")], intermediate_size, HIDDEN)?,
                output: linear(&[&format!("{prefix}.output.dense")], HIDDEN, intermediate_size)?,
                output_norm: norm(&format!("{prefix}.output"))?,
            });
        }
        if layers.is_empty() {
            return Err("no encoder layers found".into());
        }
        Ok(Bert {
            word,
            max_positions: position_shape[0],
            position,
            token_type,
            embedding_norm: norm("embeddings")?,
            layers,
        })
    }

    /// Mean-pooled, L2-normalized vectors of a padded batch, one per sequence.
    pub fn embed(&self, batch: Batch) -> Vec<Vec<f32>> {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            // SAFETY: the CPU has the features `embed_avx512` is compiled for.
            return unsafe { self.embed_avx512(batch) };
        }
        self.embed_portable(batch, false)
    }

    /// [`Bert::embed_portable`] compiled for AVX-512: the element-wise loops (layer norm,
    /// GELU, softmax, quantization) vectorize 16 wide instead of SSE2's 4, and the attention
    /// kernels run.
    ///
    /// # Safety
    /// The CPU must support AVX-512F/BW/VL and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
    unsafe fn embed_avx512(&self, batch: Batch) -> Vec<Vec<f32>> {
        self.embed_portable(batch, true)
    }

    #[inline(always)]
    fn embed_portable(&self, batch: Batch, vector_kernels: bool) -> Vec<Vec<f32>> {
        // Sequences are independent: run them in groups of at most CHUNK_ROWS tokens, so the
        // working buffers stay a few MB whatever the batch (a 32 × 256 batch would otherwise
        // need 50 MB for the 1 536-wide intermediate alone, and the allocator keeps such peaks).
        let length = batch.length;
        let group = (CHUNK_ROWS / length.max(1)).max(1);
        let mut vectors = Vec::with_capacity(batch.sequences);
        for first in (0..batch.sequences).step_by(group) {
            let sequences = group.min(batch.sequences - first);
            let tokens = first * length..(first + sequences) * length;
            let part = Batch { ids: &batch.ids[tokens.clone()], mask: &batch.mask[tokens], sequences, length };
            vectors.extend(self.forward_group(part, vector_kernels));
        }
        vectors
    }

    #[inline(always)]
    fn forward_group(&self, group: Batch, vector_kernels: bool) -> Vec<Vec<f32>> {
        let Batch { ids, mask, sequences: batch, length } = group;
        let rows = batch * length;
        let vocabulary = self.word.len() / HIDDEN;
        let mut hidden = Vec::with_capacity(rows * HIDDEN);
        for (index, &id) in ids.iter().enumerate() {
            let id = (id as usize).min(vocabulary - 1);
            let position = (index % length).min(self.max_positions - 1);
            let word = &self.word[id * HIDDEN..][..HIDDEN];
            let position = &self.position[position * HIDDEN..][..HIDDEN];
            hidden.extend(word.iter().zip(position).zip(&self.token_type[..HIDDEN]).map(|((w, p), t)| w + p + t));
        }
        self.embedding_norm.apply(&mut hidden);
        let mut quantized = Quantized::default();
        let mut qkv = Vec::new();
        let mut context = vec![0f32; rows * HIDDEN];
        let mut projected = Vec::new();
        let mut intermediate = Vec::new();
        // One head's keys transposed (HEAD_DIM × padded length) and values (length × HEAD_DIM),
        // so the inner loops run along contiguous memory in whole vectors of LANES keys.
        let padded = length.div_ceil(LANES) * LANES;
        let mut scores = vec![0f32; padded];
        let mut keys = vec![0f32; HEAD_DIM * padded];
        let mut values = vec![0f32; length * HEAD_DIM];
        let mut kept = vec![false; padded];
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        for layer in &self.layers {
            layer.qkv.forward(&hidden, rows, &mut quantized, &mut qkv);
            for sequence in 0..batch {
                for (k, &m) in kept.iter_mut().zip(&mask[sequence * length..][..length]) {
                    *k = m != 0;
                }
                let token = |j: usize| &qkv[(sequence * length + j) * 3 * HIDDEN..][..3 * HIDDEN];
                for head in 0..HEADS {
                    let column = head * HEAD_DIM;
                    for j in 0..length {
                        let row = token(j);
                        for d in 0..HEAD_DIM {
                            keys[d * padded + j] = row[HIDDEN + column + d];
                        }
                        values[j * HEAD_DIM..][..HEAD_DIM].copy_from_slice(&row[2 * HIDDEN + column..][..HEAD_DIM]);
                    }
                    for i in 0..length {
                        let query: &[f32; HEAD_DIM] =
                            token(i)[column..][..HEAD_DIM].try_into().unwrap_or(&[0.0; HEAD_DIM]);
                        #[cfg(target_arch = "x86_64")]
                        if vector_kernels {
                            // SAFETY: `vector_kernels` is set only when AVX-512F and FMA are
                            // present; the slices have the sizes `head_scores` requires.
                            unsafe { head_scores(query, &keys, padded, &mut scores) };
                        }
                        if !vector_kernels {
                            portable_head_scores(query, &keys, padded, &mut scores);
                        }
                        for (score, &keep) in scores.iter_mut().zip(&kept) {
                            // Padding keys get a score that leaves them weight 0 below.
                            *score = if keep { *score * scale } else { -1e30 };
                        }
                        let max = lane_max(&scores);
                        for (score, &keep) in scores.iter_mut().zip(&kept) {
                            *score = if keep { fast_exp(*score - max) } else { 0.0 };
                        }
                        let inverse = 1.0 / lane_sum(&scores, |x| x).max(f32::MIN_POSITIVE);
                        let mut sum = [0f32; HEAD_DIM];
                        #[cfg(target_arch = "x86_64")]
                        if vector_kernels {
                            // SAFETY: as above; `values` holds `length` rows of HEAD_DIM.
                            unsafe { head_context(&scores[..length], &values, &mut sum) };
                        }
                        if !vector_kernels {
                            for (&weight, value) in scores.iter().zip(values.chunks_exact(HEAD_DIM)) {
                                for (o, &v) in sum.iter_mut().zip(value) {
                                    *o += weight * v;
                                }
                            }
                        }
                        let out = &mut context[(sequence * length + i) * HIDDEN + column..][..HEAD_DIM];
                        for (o, s) in out.iter_mut().zip(sum) {
                            *o = s * inverse;
                        }
                    }
                }
            }
            layer.attention_output.forward(&context, rows, &mut quantized, &mut projected);
            for (h, p) in hidden.iter_mut().zip(&projected) {
                *h += p;
            }
            layer.attention_norm.apply(&mut hidden);
            layer.intermediate.forward(&hidden, rows, &mut quantized, &mut intermediate);
            for x in intermediate.iter_mut() {
                // BERT's GELU: x · Φ(x), with the exact (erf) normal CDF.
                *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
            }
            layer.output.forward(&intermediate, rows, &mut quantized, &mut projected);
            for (h, p) in hidden.iter_mut().zip(&projected) {
                *h += p;
            }
            layer.output_norm.apply(&mut hidden);
        }
        // Mean pooling over real tokens, then L2 normalization (sentence-transformers' recipe).
        (0..batch)
            .map(|sequence| {
                let mut sum = vec![0f32; HIDDEN];
                let mut count = 0f32;
                for position in 0..length {
                    if mask[sequence * length + position] != 0 {
                        count += 1.0;
                        let row = &hidden[(sequence * length + position) * HIDDEN..][..HIDDEN];
                        for (s, x) in sum.iter_mut().zip(row) {
                            *s += x;
                        }
                    }
                }
                let count = count.max(1e-9);
                sum.iter_mut().for_each(|s| *s /= count);
                let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                sum.iter_mut().for_each(|s| *s /= norm);
                sum
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_exp_and_erf_match_libm() {
        for i in -2000..=2000 {
            let x = i as f32 / 100.0;
            let (exp, reference) = (fast_exp(x), libm::expf(x));
            assert!((exp - reference).abs() <= 4e-7 * reference, "exp({x}) = {exp}, libm {reference}");
            let (erf, reference) = (erf(x / 4.0), libm::erff(x / 4.0));
            assert!((erf - reference).abs() <= 5e-7, "erf({}) = {erf}, libm {reference}", x / 4.0);
        }
    }

    #[test]
    fn the_kernel_and_the_portable_loop_compute_the_same_outputs() {
        let (outputs, inputs, rows) = (96, 64, 13);
        let (weight, bias, input) = layer_case(outputs, inputs, rows);
        let layer = QuantLinear::new(&weight, &bias, outputs, inputs);
        let mut quantized = Quantized::default();
        quantized.quantize(&input, inputs, rows);
        let accumulators = portable_products(&layer, &quantized.levels, quantized.rows);
        let mut fast = vec![0f32; quantized.rows * outputs];
        products(&layer, &quantized, &mut fast);
        for row in 0..quantized.rows {
            for column in 0..outputs {
                let portable = dequantize(&layer, &quantized, row, column, accumulators[row * outputs + column]);
                assert_eq!(portable, fast[row * outputs + column], "row {row} column {column}");
            }
        }
        // And the portable loop is the plain product of the quantized matrices.
        let weight_level = |o: usize, k: usize| (weight[o * inputs + k] / layer.scales[o]).round() as i32;
        for (row, output) in [(0, 0), (3, 17), (12, 95)] {
            let expected: i32 =
                (0..inputs).map(|k| i32::from(quantized.levels[row * inputs + k]) * weight_level(output, k)).sum();
            assert_eq!(accumulators[row * outputs + output], expected);
        }
    }

    #[test]
    fn the_attention_kernels_match_the_portable_loops() {
        if !avx512() {
            return; // Nothing to compare: the portable loops are what runs.
        }
        for length in [1usize, 7, 16, 50, 64, 200] {
            let padded = length.div_ceil(LANES) * LANES;
            let keys: Vec<f32> = (0..HEAD_DIM * padded).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
            let values: Vec<f32> = (0..length * HEAD_DIM).map(|i| ((i * 104_729) % 97) as f32 / 48.0 - 1.0).collect();
            let query: [f32; HEAD_DIM] = std::array::from_fn(|d| (d as f32 - 15.0) / 16.0);
            let mut expected = vec![0f32; padded];
            portable_head_scores(&query, &keys, padded, &mut expected);
            let mut scores = vec![0f32; padded];
            // SAFETY: AVX-512 checked above; sizes as documented.
            unsafe { head_scores(&query, &keys, padded, &mut scores) };
            for (got, want) in scores.iter().zip(&expected) {
                assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "length {length}: {got} vs {want}");
            }
            let weights: Vec<f32> = (0..length).map(|j| j as f32 / length as f32).collect();
            let mut sum = [0f32; HEAD_DIM];
            // SAFETY: as above.
            unsafe { head_context(&weights, &values, &mut sum) };
            for (t, got) in sum.iter().enumerate() {
                let want: f32 = (0..length).map(|j| weights[j] * values[j * HEAD_DIM + t]).sum();
                assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "length {length}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn the_f32_kernel_computes_the_plain_product() {
        // 13 rows: one 8-row block and five single rows.
        let (outputs, inputs, rows) = (96, 40, 13);
        let (weight, bias, input) = layer_case(outputs, inputs, rows);
        let layer = PackedLinear::new(&weight, &bias, outputs, inputs);
        let mut output = Vec::new();
        layer.forward(&input, rows, &mut output);
        assert_close_to_product(&input, &weight, &bias, &output, 1e-4);
    }

    /// Deterministic weights in [-1, 1), biases and inputs in [-2.5, 3.9) for a layer test.
    fn layer_case(outputs: usize, inputs: usize, rows: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let weight = (0..outputs * inputs).map(|i| ((i * 7919) % 251) as f32 / 125.0 - 1.0).collect();
        let bias = (0..outputs).map(|o| o as f32 / 7.0).collect();
        let input = (0..rows * inputs).map(|i| ((i * 104_729) % 256) as f32 / 40.0 - 2.5).collect();
        (weight, bias, input)
    }

    /// Asserts `output ≈ input · weightᵀ + bias` element by element, within `tolerance`
    /// relative to 1 + |exact|.
    fn assert_close_to_product(input: &[f32], weight: &[f32], bias: &[f32], output: &[f32], tolerance: f32) {
        let outputs = bias.len();
        let inputs = weight.len() / outputs;
        let rows = input.len() / inputs;
        assert_eq!(output.len(), rows * outputs);
        for row in 0..rows {
            for o in 0..outputs {
                let exact: f32 =
                    (0..inputs).map(|k| input[row * inputs + k] * weight[o * inputs + k]).sum::<f32>() + bias[o];
                let got = output[row * outputs + o];
                assert!((got - exact).abs() <= tolerance * (1.0 + exact.abs()), "row {row} col {o}: {got} vs {exact}");
            }
        }
    }

    #[test]
    fn a_quantized_layer_approximates_the_f32_product() {
        let (outputs, inputs, rows) = (48, 32, 3);
        let (weight, bias, input) = layer_case(outputs, inputs, rows);
        let layer = QuantLinear::new(&weight, &bias, outputs, inputs);
        let mut output = Vec::new();
        layer.forward(&input, rows, &mut Quantized::default(), &mut output);
        assert_close_to_product(&input, &weight, &bias, &output, 0.05);
    }
}
