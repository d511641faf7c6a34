//! Where parameters come from on load (a checkpoint, or a seeded random init) and how they are
//! written back, in Hugging Face names and layouts.

use burn::module::Param;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::prelude::*;

use crate::base_linear::BaseLinear;
use crate::error::{ModelError, Result};
use crate::quantized::{QuantizedEmbedding, QuantizedLinear, QuantizedWeight};
use crate::token_embedding::TokenEmbedding;
use prefopt_core::SplitMix64;

/// A supplier of named f32 tensors in HF layout (`Linear` weights `[out, in]`).
pub(crate) trait WeightSource {
    /// The tensor `name`, checked to have `shape`, as row-major f32.
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>>;

    /// The 2-d tensor `name` (`shape = [out, in]`) kept in its quantized storage, when this
    /// source keeps weights quantized and the tensor is stored quantized; `None` to read it
    /// with [`WeightSource::take`] instead.
    fn take_quantized(&mut self, _name: &str, _shape: &[usize]) -> Result<Option<QuantizedWeight>> {
        Ok(None)
    }
}

/// Seeded random weights (normal, std 0.02; norms at 1), for benchmarks and tests.
#[derive(Debug)]
pub(crate) struct RandomWeights {
    rng: SplitMix64,
    std: f32,
}

impl RandomWeights {
    pub fn new(seed: u64, std: f32) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            std,
        }
    }
}

impl WeightSource for RandomWeights {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let n: usize = shape.iter().product();
        if name.ends_with("norm.weight") {
            return Ok(vec![1.0; n]);
        }
        if name.ends_with(".bias") {
            return Ok(vec![0.0; n]);
        }
        Ok((0..n).map(|_| self.rng.next_normal() * self.std).collect())
    }
}

/// One named tensor on its way to a file, HF layout, f32.
#[derive(Debug, Clone)]
pub(crate) struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// `[rows, cols]` → `[cols, rows]`, row-major.
pub(crate) fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

pub(crate) fn read_back<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_vec_as::<f32>()
        .map_err(|e| ModelError::TensorRead(format!("{e:?}")))
}

/// Loads an HF `nn.Linear` (`weight [out, in]`, optional `bias [out]`) as burn's `[in, out]`.
pub(crate) fn load_linear(
    src: &mut dyn WeightSource,
    prefix: &str,
    d_in: usize,
    d_out: usize,
    bias: bool,
    device: &Device,
) -> Result<Linear> {
    let w = src.take(&format!("{prefix}.weight"), &[d_out, d_in])?;
    let w = transpose(&w, d_out, d_in);
    let weight = Param::from_data(TensorData::new(w, [d_in, d_out]), device);
    let bias = load_bias(src, prefix, d_out, bias, device)?;
    Ok(Linear { weight, bias })
}

/// `{prefix}.bias` (`[d_out]`) when the layer has one.
fn load_bias(
    src: &mut dyn WeightSource,
    prefix: &str,
    d_out: usize,
    bias: bool,
    device: &Device,
) -> Result<Option<Param<Tensor<1>>>> {
    if !bias {
        return Ok(None);
    }
    let b = src.take(&format!("{prefix}.bias"), &[d_out])?;
    Ok(Some(Param::from_data(TensorData::new(b, [d_out]), device)))
}

/// Loads an HF `nn.Linear` kept quantized when the source keeps `{prefix}.weight` quantized,
/// else as [`load_linear`].
pub(crate) fn load_base_linear(
    src: &mut dyn WeightSource,
    prefix: &str,
    d_in: usize,
    d_out: usize,
    bias: bool,
    device: &Device,
) -> Result<BaseLinear> {
    let Some(weight) = src.take_quantized(&format!("{prefix}.weight"), &[d_out, d_in])? else {
        return load_linear(src, prefix, d_in, d_out, bias, device).map(BaseLinear::Dense);
    };
    let bias = load_bias(src, prefix, d_out, bias, device)?;
    Ok(BaseLinear::Quantized(QuantizedLinear::new(weight, bias)))
}

/// Loads a token embedding table kept quantized when the source keeps it so, else in f32.
pub(crate) fn load_token_embedding(
    src: &mut dyn WeightSource,
    name: &str,
    vocab: usize,
    d: usize,
    device: &Device,
) -> Result<TokenEmbedding> {
    match src.take_quantized(name, &[vocab, d])? {
        Some(weight) => Ok(TokenEmbedding::Quantized(QuantizedEmbedding::new(weight))),
        None => load_embedding(src, name, vocab, d, device).map(TokenEmbedding::Dense),
    }
}

pub(crate) fn export_linear(lin: &Linear, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
    let [d_in, d_out] = lin.weight.val().dims();
    let w = read_back(lin.weight.val())?;
    export_hf_linear(
        prefix,
        transpose(&w, d_in, d_out),
        [d_out, d_in],
        lin.bias.as_ref(),
        out,
    )
}

/// `{prefix}.weight` (`weight`, row-major `[out, in]`, HF's layout) and `{prefix}.bias`.
pub(crate) fn export_hf_linear(
    prefix: &str,
    weight: Vec<f32>,
    [d_out, d_in]: [usize; 2],
    bias: Option<&Param<Tensor<1>>>,
    out: &mut Vec<NamedTensor>,
) -> Result<()> {
    out.push(NamedTensor {
        name: format!("{prefix}.weight"),
        shape: vec![d_out, d_in],
        data: weight,
    });
    if let Some(b) = bias {
        out.push(NamedTensor {
            name: format!("{prefix}.bias"),
            shape: vec![d_out],
            data: read_back(b.val())?,
        });
    }
    Ok(())
}

pub(crate) fn load_rms_norm(
    src: &mut dyn WeightSource,
    name: &str,
    d: usize,
    eps: f64,
    device: &Device,
) -> Result<RmsNorm> {
    let g = src.take(name, &[d])?;
    Ok(RmsNorm {
        gamma: Param::from_data(TensorData::new(g, [d]), device),
        epsilon: eps,
    })
}

pub(crate) fn export_rms_norm(
    norm: &RmsNorm,
    name: &str,
    out: &mut Vec<NamedTensor>,
) -> Result<()> {
    let g = norm.gamma.val();
    let [d] = g.dims();
    out.push(NamedTensor {
        name: name.to_string(),
        shape: vec![d],
        data: read_back(g)?,
    });
    Ok(())
}

pub(crate) fn load_embedding(
    src: &mut dyn WeightSource,
    name: &str,
    vocab: usize,
    d: usize,
    device: &Device,
) -> Result<Embedding> {
    let w = src.take(name, &[vocab, d])?;
    Ok(Embedding {
        weight: Param::from_data(TensorData::new(w, [vocab, d]), device),
    })
}

pub(crate) fn export_embedding(
    emb: &Embedding,
    name: &str,
    out: &mut Vec<NamedTensor>,
) -> Result<()> {
    let w = emb.weight.val();
    let [v, d] = w.dims();
    out.push(NamedTensor {
        name: name.to_string(),
        shape: vec![v, d],
        data: read_back(w)?,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_round_trip() {
        let a: Vec<f32> = (0..6).map(|x| x as f32).collect();
        let t = transpose(&a, 2, 3);
        assert_eq!(t, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(transpose(&t, 3, 2), a);
    }
}
