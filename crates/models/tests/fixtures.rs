//! Loading the committed fixtures and their transformers references.

use std::collections::HashMap;
use std::path::PathBuf;

use burn::prelude::*;
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;

/// The causal-LM fixture directories (one per architecture family).
pub const CAUSAL_FIXTURES: &[&str] = &["llama3", "qwen2", "qwen2-bf16", "mistral", "smollm"];

pub fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn device() -> Device {
    Device::flex()
}

/// A reference tensor: shape plus values as f64 (ints converted).
#[derive(Debug, Clone)]
pub struct RefTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl RefTensor {
    pub fn ints(&self) -> Vec<i64> {
        self.values.iter().map(|&v| v as i64).collect()
    }

    pub fn row_u32(&self, row: usize) -> Vec<u32> {
        let w = self.shape[1];
        self.values[row * w..(row + 1) * w]
            .iter()
            .map(|&v| v as u32)
            .collect()
    }

    pub fn int_tensor(&self) -> Tensor<2, Int> {
        let [b, t] = [self.shape[0], self.shape[1]];
        Tensor::from_data(TensorData::new(self.ints(), [b, t]), &device())
    }
}

pub fn reference(name: &str) -> HashMap<String, RefTensor> {
    let bytes = std::fs::read(dir(name).join("reference.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| {
            let values: Vec<f64> = match v.dtype() {
                Dtype::F32 => v
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
                Dtype::I64 => v
                    .data()
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
                d => panic!("unexpected dtype {d:?}"),
            };
            (
                k,
                RefTensor {
                    shape: v.shape().to_vec(),
                    values,
                },
            )
        })
        .collect()
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub fn int_tensor(data: Vec<i64>, b: usize, t: usize) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(data, [b, t]), &device())
}
