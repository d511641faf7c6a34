//! Frozen weights kept in their GGUF block format (issue 20): linear layers and token
//! embeddings that dequantize on the fly instead of holding an f32 copy.
//!
//! A model loaded with [`crate::LoadOptions::keep_quantized`] on the CPU backend keeps every
//! quantized `*.weight` of its GGUF file (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K–Q6_K) as a
//! [`QuantizedWeight`]; norms and any f32/f16 tensors stay dense. The products:
//!
//! - [`QuantizedPath::Exact`] (every full forward: training, scoring, reference log-probs,
//!   prefill): the weight dequantized exactly, a bounded chunk of rows at a time, into f32 and
//!   multiplied by flex's GEMM — the values of an f32 model loaded from the same file, up to
//!   GEMM summation order, so a policy and its frozen reference agree whatever their batch;
//! - [`QuantizedPath::Decode`] (the cached decoding steps of generation): up to
//!   [`INTEGER_KERNEL_MAX_ROWS`] input rows on the integer kernels of
//!   [`prefopt_gguf::QuantizedMatrix`] — each input row quantized to 8 bits per block and
//!   multiplied with the weight quants in integers, as llama.cpp decodes (about 0.5 % relative
//!   RMS from the exact product; the bound is in the `prefopt-gguf` README). Layers that read
//!   the same input (q/k/v, gate/up) run as one stacked product there.
//!
//! The weights are constants: the backward of a quantized linear layer gives the input's
//! gradient only (`dx = dy · W`, again chunk by chunk), which is what QLoRA-style training
//! needs — adapters (and norms) train in f32 on top of a frozen quantized base.

mod embedding;
mod linear;
mod matmul;
mod stacked;

use std::sync::Arc;

use prefopt_gguf::QuantizedMatrix;

pub use embedding::QuantizedEmbedding;
pub use linear::QuantizedLinear;
pub use matmul::{INTEGER_KERNEL_MAX_ROWS, quantized_matmul};
pub(crate) use stacked::decode_stacked;

/// Which kernels a product with a quantized weight runs (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuantizedPath {
    /// Exact dequantization and an f32 GEMM.
    #[default]
    Exact,
    /// Integer kernels for up to [`INTEGER_KERNEL_MAX_ROWS`] rows (more rows run
    /// [`QuantizedPath::Exact`]).
    Decode,
}

/// The path of a forward: [`QuantizedPath::Decode`] for cached (generation) steps, else
/// [`QuantizedPath::Exact`].
pub(crate) fn quantized_path(cached: bool) -> QuantizedPath {
    if cached {
        QuantizedPath::Decode
    } else {
        QuantizedPath::Exact
    }
}

/// A shared, immutable quantized `[out, in]` matrix (the `nn.Linear` layout): cheap to clone,
/// so a module holding one can be cloned, moved to `valid()` or to an autodiff device without
/// copying its bytes (a `#[module(skip)]` field: not a parameter, not in records).
#[derive(Clone, Debug)]
pub struct QuantizedWeight(Arc<QuantizedMatrix>);

impl QuantizedWeight {
    /// Wraps `matrix`.
    pub fn new(matrix: QuantizedMatrix) -> Self {
        Self(Arc::new(matrix))
    }

    /// The matrix.
    pub fn matrix(&self) -> &QuantizedMatrix {
        &self.0
    }

    /// Output features (rows).
    pub fn d_out(&self) -> usize {
        self.0.rows()
    }

    /// Input features (columns).
    pub fn d_in(&self) -> usize {
        self.0.cols()
    }
}
