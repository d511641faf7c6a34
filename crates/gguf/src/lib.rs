#![doc = include_str!("../README.md")]

mod cursor;
mod dequant;
mod error;
mod file;
mod ggml_type;
mod value;

pub use dequant::dequantize;
pub use error::{GgufError, Result};
pub use file::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufFile, TensorInfo};
pub use ggml_type::GgmlType;
pub use value::{Array, Value, ValueType};
