//! Key/value cache for incremental decoding.

use burn::prelude::*;

/// Keys and values of one layer, after RoPE, `[b, kv_heads, len, head_dim]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerCache {
    pub k: Option<Tensor<4>>,
    pub v: Option<Tensor<4>>,
}

impl LayerCache {
    /// Appends new keys/values along the sequence axis and returns the full ones.
    pub fn append(&mut self, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let k = match self.k.take() {
            Some(past) => Tensor::cat(vec![past, k], 2),
            None => k,
        };
        let v = match self.v.take() {
            Some(past) => Tensor::cat(vec![past, v], 2),
            None => v,
        };
        self.k = Some(k.clone());
        self.v = Some(v.clone());
        (k, v)
    }
}

/// The state of an incremental decode: per-layer keys/values plus, per row, which cached
/// positions are real tokens and the next RoPE position.
///
/// Create it empty with [`KvCache::new`] and pass it to
/// [`CausalLm::forward_cached`](crate::CausalLm::forward_cached).
#[derive(Debug, Clone)]
pub struct KvCache {
    pub(crate) layers: Vec<LayerCache>,
    /// `[b][len]`: true where the cached key is a real (non-pad) token.
    pub(crate) key_valid: Vec<Vec<bool>>,
    /// Next position per row (number of real tokens seen).
    pub(crate) next_position: Vec<i64>,
}

impl KvCache {
    /// An empty cache for a model with `num_layers` decoder layers.
    pub fn new(num_layers: usize) -> Self {
        Self {
            layers: vec![LayerCache::default(); num_layers],
            key_valid: Vec::new(),
            next_position: Vec::new(),
        }
    }

    /// Number of cached positions (0 when empty).
    pub fn len(&self) -> usize {
        self.key_valid.first().map_or(0, Vec::len)
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
