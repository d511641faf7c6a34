//! A KV-cache decoder whose cache can be repeated along the batch: prefill a prompt once,
//! decode G samples from it.
//!
//! `prefopt-models` keeps its `KvCache` internals private, so its cache cannot be expanded from
//! outside. This module runs the same Llama forward over the model's public weights (the same
//! burn ops in the same order as `LlamaModel::forward_layout`: embedding, RMSNorm, q/k/v
//! projections, rotate-half RoPE, `module::attention` with the same mask, SwiGLU MLP, final
//! norm, the model's own LM head), with a cache it owns. The rollout tests check it against
//! `CausalLm::generate` token for token.

use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use prefopt_models::CausalLm;

/// Cached keys/values of every layer (after RoPE, `[b, kv_heads, len, head_dim]`) with, per row,
/// which cached keys are real tokens and the next RoPE position.
#[derive(Debug, Clone, Default)]
pub(crate) struct PrefixCache {
    keys: Vec<Tensor<4>>,
    values: Vec<Tensor<4>>,
    key_valid: Vec<Vec<bool>>,
    next_position: Vec<i64>,
}

impl PrefixCache {
    /// Each row repeated `g` times consecutively (`[b, …] → [b·g, …]`, row `r` becomes rows
    /// `r·g .. r·g + g`), as `torch.repeat_interleave(dim=0)`.
    pub fn repeat_interleave(&self, g: usize) -> Self {
        let rep = |t: &Tensor<4>| {
            let [b, kv, l, d] = t.dims();
            t.clone()
                .unsqueeze_dim::<5>(1)
                .expand([b, g, kv, l, d])
                .reshape([b * g, kv, l, d])
        };
        Self {
            keys: self.keys.iter().map(rep).collect(),
            values: self.values.iter().map(rep).collect(),
            key_valid: self
                .key_valid
                .iter()
                .flat_map(|r| std::iter::repeat_n(r.clone(), g))
                .collect(),
            next_position: self
                .next_position
                .iter()
                .flat_map(|&p| std::iter::repeat_n(p, g))
                .collect(),
        }
    }
}

/// The cached forward over a [`CausalLm`]'s public weights.
#[derive(Debug)]
pub(crate) struct PrefixDecoder<'a> {
    model: &'a CausalLm,
    inv_freq: Vec<f32>,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl<'a> PrefixDecoder<'a> {
    pub fn new(model: &'a CausalLm) -> Self {
        let c = model.config();
        Self {
            model,
            inv_freq: c.inv_freq().into_iter().map(|f| f as f32).collect(),
            heads: c.num_attention_heads,
            kv_heads: c.num_key_value_heads,
            head_dim: c.head_dim,
        }
    }

    /// Appends `t` new tokens per row to `cache` and returns their final hidden states.
    ///
    /// # Shapes
    /// - ids, real: `b · t` row-major (`real` false = padding, never attended to)
    /// - output: `[b, t, hidden]`
    pub fn forward(
        &self,
        ids: Vec<i64>,
        real: &[bool],
        b: usize,
        t: usize,
        cache: &mut PrefixCache,
    ) -> Tensor<3> {
        let device = self.model.model.embed_tokens.weight.val().device();
        if cache.key_valid.is_empty() {
            cache.key_valid = vec![Vec::new(); b];
            cache.next_position = vec![0; b];
        }
        let past = cache.key_valid[0].len();
        let mut positions = Vec::with_capacity(b * t);
        for row in 0..b {
            for i in 0..t {
                let is_real = real[row * t + i];
                let pos = cache.next_position[row];
                positions.push(if is_real { pos } else { (pos - 1).max(0) });
                if is_real {
                    cache.next_position[row] += 1;
                }
                cache.key_valid[row].push(is_real);
            }
        }
        let all_valid = cache.key_valid.iter().all(|r| r.iter().all(|&v| v));
        let mask = (!all_valid).then(|| self.attention_mask(&cache.key_valid, b, t, past, &device));
        let (cos, sin) = self.rope_tables(&positions, b, t, &device);

        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device);
        let mut x = self.model.model.embed_tokens.forward(input);
        let (h, kv, d) = (self.heads, self.kv_heads, self.head_dim);
        for (i, layer) in self.model.model.layers.iter().enumerate() {
            let attn = &layer.self_attn;
            let normed = layer.input_layernorm.forward(x.clone());
            let q = attn
                .q_proj
                .forward(normed.clone())
                .reshape([b, t, h, d])
                .swap_dims(1, 2);
            let k = attn
                .k_proj
                .forward(normed.clone())
                .reshape([b, t, kv, d])
                .swap_dims(1, 2);
            let v = attn
                .v_proj
                .forward(normed)
                .reshape([b, t, kv, d])
                .swap_dims(1, 2);
            let q = rotate(q, &cos, &sin);
            let k = rotate(k, &cos, &sin);
            let (k, v) = if cache.keys.len() > i {
                let k = Tensor::cat(vec![cache.keys[i].clone(), k], 2);
                let v = Tensor::cat(vec![cache.values[i].clone(), v], 2);
                cache.keys[i] = k.clone();
                cache.values[i] = v.clone();
                (k, v)
            } else {
                cache.keys.push(k.clone());
                cache.values.push(v.clone());
                (k, v)
            };
            let (k, v) = if kv != h && q.is_autodiff() {
                (repeat_kv(k, h / kv), repeat_kv(v, h / kv))
            } else {
                (k, v)
            };
            let is_causal = mask.is_none();
            let out = attention(
                q,
                k,
                v,
                mask.clone(),
                None,
                AttentionModuleOptions {
                    scale: None,
                    softcap: None,
                    is_causal,
                },
            );
            let out = attn
                .o_proj
                .forward(out.swap_dims(1, 2).reshape([b, t, h * d]));
            let hid = x + out;
            x = hid.clone()
                + layer
                    .mlp
                    .forward(layer.post_attention_layernorm.forward(hid));
        }
        self.model.model.norm.forward(x)
    }

    /// `[b, heads, t, past + t]`, true = masked (a padded query may see itself).
    fn attention_mask(
        &self,
        key_valid: &[Vec<bool>],
        b: usize,
        t: usize,
        past: usize,
        device: &Device,
    ) -> Tensor<4, Bool> {
        let l = past + t;
        let mut mask = vec![false; b * t * l];
        for (row, valid) in key_valid.iter().enumerate() {
            for q in 0..t {
                let q_abs = past + q;
                for k in 0..l {
                    mask[(row * t + q) * l + k] = k > q_abs || (!valid[k] && k != q_abs);
                }
            }
        }
        Tensor::<4, Bool>::from_data(TensorData::new(mask, [b, 1, t, l]), device)
            .expand([b, self.heads, t, l])
    }

    /// Rotate-half cos/sin tables `[b, 1, t, head_dim]`, in f32 as transformers computes them.
    fn rope_tables(
        &self,
        positions: &[i64],
        b: usize,
        t: usize,
        device: &Device,
    ) -> (Tensor<4>, Tensor<4>) {
        let half = self.inv_freq.len();
        let d = 2 * half;
        let mut cos = vec![0f32; b * t * d];
        let mut sin = vec![0f32; b * t * d];
        for (row, &p) in positions.iter().enumerate() {
            let base = row * d;
            for (j, &f) in self.inv_freq.iter().enumerate() {
                let angle = (p as f32) * f;
                let (s, c) = f64::from(angle).sin_cos();
                cos[base + j] = c as f32;
                cos[base + j + half] = c as f32;
                sin[base + j] = s as f32;
                sin[base + j + half] = s as f32;
            }
        }
        let shape = [b, 1, t, d];
        (
            Tensor::from_data(TensorData::new(cos, shape), device),
            Tensor::from_data(TensorData::new(sin, shape), device),
        )
    }
}

/// `x · cos + rotate_half(x) · sin`.
fn rotate(x: Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().slice([0..b, 0..h, 0..t, 0..half]);
    let x2 = x.clone().slice([0..b, 0..h, 0..t, half..d]);
    let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
    x * cos.clone() + rotated * sin.clone()
}

/// `[b, kv, l, d] → [b, kv · groups, l, d]`.
fn repeat_kv(x: Tensor<4>, groups: usize) -> Tensor<4> {
    let [b, kv, l, d] = x.dims();
    x.unsqueeze_dim::<5>(2)
        .expand([b, kv, groups, l, d])
        .reshape([b, kv * groups, l, d])
}
