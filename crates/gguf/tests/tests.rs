//! prefopt-gguf integration tests (one binary): the reader against fixtures written by gguf-py,
//! dequantization bit for bit against `gguf.quants.dequantize`, and malformed files.

mod common;
mod dequant;
mod format;
mod malformed;
