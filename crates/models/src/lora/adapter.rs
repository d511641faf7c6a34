//! One low-rank adapter pair and how it joins its base linear layer.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig};
use burn::prelude::*;
use burn::tensor::module::linear;
use prefopt_core::SplitMix64;

use super::config::LoraConfig;
use crate::base_linear::BaseLinear;
use crate::error::Result;
use crate::quantized::QuantizedPath;
use crate::weights::{read_back, transpose};

/// The adapter of one linear layer: `scaling · B (A (dropout(x)))`.
///
/// Stored in burn's `x · W` layout: `lora_a` is `[in, r]` and `lora_b` `[r, out]` (PEFT's
/// `lora_A.weight` is `[r, in]` and `lora_B.weight` `[out, r]`).
#[derive(Module, Debug)]
pub struct LoraAdapter {
    /// `A`, `[in, r]`.
    pub lora_a: Param<Tensor<2>>,
    /// `B`, `[r, out]`.
    pub lora_b: Param<Tensor<2>>,
    /// `lora_alpha / r` (or `/ sqrt(r)`).
    pub scaling: f64,
    dropout: Dropout,
}

impl LoraAdapter {
    /// A fresh adapter as PEFT initialises one: `A ~ U(-1/sqrt(in), 1/sqrt(in))` (Kaiming-uniform
    /// with `a = sqrt(5)`), `B = 0`.
    pub(crate) fn init(
        d_in: usize,
        d_out: usize,
        config: &LoraConfig,
        rng: &mut SplitMix64,
        device: &Device,
    ) -> Self {
        let r = config.r;
        let bound = 1.0 / (d_in as f64).sqrt();
        // Drawn in PEFT's `[r, in]` order so a seed gives the same A whatever the layout.
        let a: Vec<f32> = (0..r * d_in)
            .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
            .collect();
        Self::from_peft(a, vec![0.0; d_out * r], d_in, d_out, config, device)
    }

    /// An adapter from PEFT tensors: `a` is `lora_A.weight` `[r, in]`, `b` is `lora_B.weight`
    /// `[out, r]`, both row-major.
    pub(crate) fn from_peft(
        a: Vec<f32>,
        b: Vec<f32>,
        d_in: usize,
        d_out: usize,
        config: &LoraConfig,
        device: &Device,
    ) -> Self {
        let r = config.r;
        let a = transpose(&a, r, d_in);
        let b = transpose(&b, d_out, r);
        Self {
            lora_a: Param::from_data(TensorData::new(a, [d_in, r]), device),
            lora_b: Param::from_data(TensorData::new(b, [r, d_out]), device),
            scaling: config.scaling(),
            dropout: DropoutConfig::new(config.lora_dropout).init(),
        }
    }

    /// `(lora_A.weight [r, in], lora_B.weight [out, r])` as PEFT stores them, row-major.
    pub(crate) fn to_peft(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let [d_in, r] = self.lora_a.val().dims();
        let [_, d_out] = self.lora_b.val().dims();
        let a = transpose(&read_back(self.lora_a.val())?, d_in, r);
        let b = transpose(&read_back(self.lora_b.val())?, r, d_out);
        Ok((a, b))
    }

    /// The adapter's addition to the base layer's output.
    ///
    /// # Shapes
    /// - x: `[..., in]`
    /// - output: `[..., out]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let x = self.dropout.forward(x);
        linear(linear(x, self.lora_a.val(), None), self.lora_b.val(), None).mul_scalar(self.scaling)
    }

    /// `scaling · A B` in burn's `[in, out]` weight layout (PEFT's `scaling · B A`, transposed).
    pub fn delta_weight(&self) -> Tensor<2> {
        self.lora_a
            .val()
            .matmul(self.lora_b.val())
            .mul_scalar(self.scaling)
    }
}

/// [`project`] of each `(base, adapter)` on the same `x`: on [`QuantizedPath::Decode`] with
/// every base quantized, the base products run as one stacked product
/// ([`crate::quantized::decode_stacked`]: the input quantized once, one set of tasks), the
/// adapters' terms added after; otherwise [`project`] of each.
///
/// # Shapes
/// - x: `[..., in]`; output `i`: `[..., out_i]`
pub(crate) fn project_many<const D: usize, const N: usize>(
    layers: [(&BaseLinear, Option<&LoraAdapter>); N],
    x: Tensor<D>,
    path: QuantizedPath,
) -> [Tensor<D>; N] {
    let rows = crate::folded_rows::fold_rows(x);
    let stacked = match path {
        QuantizedPath::Decode => {
            crate::quantized::decode_stacked(layers.map(|(base, _)| base), &rows.values)
        }
        QuantizedPath::Exact => None,
    };
    let Some(bases) = stacked else {
        return layers
            .map(|(base, adapter)| project(base, adapter, rows.values.clone(), path))
            .map(|y| rows.unfold(y));
    };
    let mut bases = bases.into_iter();
    layers.map(|(_, adapter)| {
        let Some(y) = bases.next() else {
            unreachable!("one product per layer");
        };
        let y = match adapter {
            None => y,
            Some(adapter) => y + adapter.forward(rows.values.clone()),
        };
        rows.unfold(y)
    })
}

/// `base(x)`, plus the adapter's term when there is one (`path`: a quantized base's kernels).
///
/// # Shapes
/// - x: `[..., in]`; output: `[..., out]`
pub(crate) fn project<const D: usize>(
    base: &BaseLinear,
    adapter: Option<&LoraAdapter>,
    x: Tensor<D>,
    path: QuantizedPath,
) -> Tensor<D> {
    let rows = crate::folded_rows::fold_rows(x);
    let x = rows.values.clone();
    let y = match adapter {
        None => base.forward(x, path),
        Some(adapter) => base.forward(x.clone(), path) + adapter.forward(x),
    };
    rows.unfold(y)
}

/// One place an adapter can sit: the base layer and its adapter slot, with their names.
pub(crate) struct LoraSlot<'a> {
    /// HF path of the base layer (`model.layers.0.self_attn.q_proj`, `lm_head`).
    pub path: String,
    /// PEFT module name (`q_proj`, ..., `lm_head`).
    pub module: &'static str,
    /// The base layer.
    pub linear: &'a mut BaseLinear,
    /// Its adapter.
    pub adapter: &'a mut Option<LoraAdapter>,
}

impl<'a> LoraSlot<'a> {
    /// The slot of `prefix.module`.
    pub fn new(
        prefix: &str,
        module: &'static str,
        linear: &'a mut BaseLinear,
        adapter: &'a mut Option<LoraAdapter>,
    ) -> Self {
        Self {
            path: format!("{prefix}.{module}"),
            module,
            linear,
            adapter,
        }
    }

    /// `(in, out)` of the base layer.
    pub fn dims(&self) -> (usize, usize) {
        self.linear.dims()
    }
}
