#![doc = include_str!("../README.md")]

mod cursor;
mod dequant;
mod error;
mod file;
mod ggml_type;
mod q8_activation;
#[cfg(target_arch = "x86_64")]
mod qdot_avx2;
mod qdot_scalar;
mod quantized_matrix;
mod value;

pub use dequant::dequantize;
pub use error::{GgufError, Result};
pub use file::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufFile, TensorInfo};
pub use ggml_type::GgmlType;
pub use quantized_matrix::{INTEGER_KERNEL_TYPES, Kernel, QuantizedMatrix};
pub use value::{Array, Value, ValueType};
