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

    /// Number of rows (batch size) the cache holds (0 before the first forward).
    pub fn batch_size(&self) -> usize {
        self.key_valid.len()
    }

    /// A cache whose rows are this one's, each repeated `repeats` times consecutively (row order
    /// `r0, r0, …, r1, r1, …`, as `torch.repeat_interleave(repeats, dim=0)`): prefill P prompts
    /// once, then decode `repeats` continuations of each. The per-row padding mask and next
    /// RoPE position are repeated with the keys and values.
    ///
    /// # Shapes
    /// - self, per layer: keys/values `[b, kv_heads, len, head_dim]`
    /// - output, per layer: keys/values `[b · repeats, kv_heads, len, head_dim]`
    pub fn repeat_interleave(&self, repeats: usize) -> KvCache {
        let rep = |t: &Option<Tensor<4>>| {
            t.as_ref().map(|t| {
                let [b, kv, l, d] = t.dims();
                t.clone()
                    .unsqueeze_dim::<5>(1)
                    .expand([b, repeats, kv, l, d])
                    .reshape([b * repeats, kv, l, d])
            })
        };
        KvCache {
            layers: self
                .layers
                .iter()
                .map(|layer| LayerCache {
                    k: rep(&layer.k),
                    v: rep(&layer.v),
                })
                .collect(),
            key_valid: self
                .key_valid
                .iter()
                .flat_map(|row| std::iter::repeat_n(row.clone(), repeats))
                .collect(),
            next_position: self
                .next_position
                .iter()
                .flat_map(|&p| std::iter::repeat_n(p, repeats))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_interleave_repeats_rows_consecutively() {
        let device = Device::flex();
        // Two rows, one kv head, two positions, head_dim 1: row r holds [10r, 10r + 1].
        let k = Tensor::<4>::from_data(
            TensorData::new(vec![0f32, 1., 10., 11.], [2, 1, 2, 1]),
            &device,
        );
        let mut cache = KvCache::new(1);
        cache.layers[0].k = Some(k.clone());
        cache.layers[0].v = Some(k.neg());
        cache.key_valid = vec![vec![true, true], vec![false, true]];
        cache.next_position = vec![2, 1];
        let r = cache.repeat_interleave(3);
        assert_eq!(r.batch_size(), 6);
        assert_eq!(r.len(), 2);
        let keys = r.layers[0].k.clone().unwrap();
        assert_eq!(keys.dims(), [6, 1, 2, 1]);
        let keys = keys.try_into_vec_as::<f32>().unwrap();
        assert_eq!(
            keys,
            vec![0., 1., 0., 1., 0., 1., 10., 11., 10., 11., 10., 11.]
        );
        let values = r.layers[0]
            .v
            .clone()
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        assert_eq!(values, keys.iter().map(|x| -x).collect::<Vec<_>>());
        assert_eq!(r.next_position, vec![2, 2, 2, 1, 1, 1]);
        assert_eq!(r.key_valid[2], vec![true, true]);
        assert_eq!(r.key_valid[3], vec![false, true]);
        // An empty cache stays empty.
        assert!(KvCache::new(2).repeat_interleave(4).is_empty());
    }
}
