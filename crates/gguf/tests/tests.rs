//! prefopt-gguf integration tests (one binary): the reader against fixtures written by gguf-py,
//! dequantization bit for bit against `gguf.quants.dequantize`, malformed files, and quantized
//! matrix products against an f64 reference.

mod common;
mod dequant;
mod format;
mod malformed;
mod quantized_matrix;
