//! GGUF tensors served by HF name: llama.cpp names, shape checks, the Q/K row un-permutation.

use std::collections::HashSet;

use prefopt_gguf::{GgmlType, GgufFile, QuantizedMatrix};

use crate::error::{ModelError, Result};
use crate::quantized::QuantizedWeight;
use crate::weights::WeightSource;

/// Tensors of a GGUF file that the model never reads but that are expected: the RoPE divisors
/// (read into the config instead).
const CONSUMED_ELSEWHERE: &[&str] = &["rope_freqs.weight"];

/// The llama.cpp name of an HF tensor name, and whether its rows are permuted per head
/// (`Some(true)` for queries, `Some(false)` for keys).
fn gguf_name(hf: &str) -> Option<(String, Option<bool>)> {
    let fixed = match hf {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Some((name.to_string(), None));
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, suffix) = rest.rsplit_once('.')?; // suffix: weight | bias
    let (name, permute) = match module {
        "input_layernorm" => ("attn_norm", None),
        "post_attention_layernorm" => ("ffn_norm", None),
        "self_attn.q_proj" => ("attn_q", Some(true)),
        "self_attn.k_proj" => ("attn_k", Some(false)),
        "self_attn.v_proj" => ("attn_v", None),
        "self_attn.o_proj" => ("attn_output", None),
        "mlp.gate_proj" => ("ffn_gate", None),
        "mlp.up_proj" => ("ffn_up", None),
        "mlp.down_proj" => ("ffn_down", None),
        _ => return None,
    };
    Some((format!("blk.{layer}.{name}.{suffix}"), permute))
}

/// Undoes llama.cpp's per-head row permutation of a query/key projection (weight
/// `[rows, cols]` row-major, or a bias with `cols = 1`): HF row `h·D + j·D/2 + i` is GGUF row
/// `h·D + 2i + j`, with `D = rows / n_heads` (transformers' `_reverse_permute_weights`).
///
/// `n_heads` is the query head count for `attn_q` and the **key/value** head count for
/// `attn_k`.
///
/// # Panics
/// If `rows` is not a multiple of `2 · n_heads` or `data.len() != rows · cols`.
pub fn unpermute_rows(data: &[f32], rows: usize, cols: usize, n_heads: usize) -> Vec<f32> {
    assert!(
        n_heads > 0 && rows.is_multiple_of(2 * n_heads) && data.len() == rows * cols,
        "unpermute_rows: {rows} rows x {cols} cols ({} values) with {n_heads} heads",
        data.len()
    );
    let mut out = Vec::with_capacity(data.len());
    for src in unpermuted_order(rows, n_heads) {
        out.extend_from_slice(&data[src * cols..(src + 1) * cols]);
    }
    out
}

/// For each HF row, the GGUF row it comes from (see [`unpermute_rows`]); `rows` is a multiple
/// of `2 · n_heads`.
fn unpermuted_order(rows: usize, n_heads: usize) -> Vec<usize> {
    let d = rows / n_heads;
    let half = d / 2;
    (0..rows)
        .map(|dst| {
            let (h, k) = (dst / d, dst % d);
            let (j, i) = (k / half, k % half);
            h * d + 2 * i + j
        })
        .collect()
}

/// The tensors of a Llama GGUF, served to the model loaders by HF name.
#[derive(Debug)]
pub(crate) struct GgufWeights<'a> {
    file: &'a GgufFile,
    n_heads: usize,
    n_kv_heads: usize,
    keep_quantized: bool,
    taken: HashSet<String>,
}

impl<'a> GgufWeights<'a> {
    /// Serves `file`'s tensors; with `keep_quantized`, quantized 2-d weights stay in their
    /// block format ([`WeightSource::take_quantized`]).
    pub fn new(
        file: &'a GgufFile,
        n_heads: usize,
        n_kv_heads: usize,
        keep_quantized: bool,
    ) -> Self {
        Self {
            file,
            n_heads,
            n_kv_heads,
            keep_quantized,
            taken: HashSet::new(),
        }
    }

    /// The GGUF name, its per-head row permutation (as a head count), after checking that
    /// the tensor exists with `shape`.
    fn locate(&self, name: &str, shape: &[usize]) -> Result<(String, Option<usize>)> {
        let path = self.file.path().to_path_buf();
        let (gguf, permute) = gguf_name(name).ok_or_else(|| ModelError::MissingTensor {
            path: path.clone(),
            tensor: format!("{name} (no llama.cpp name for it)"),
        })?;
        let info = self
            .file
            .tensor(&gguf)
            .ok_or_else(|| ModelError::MissingTensor {
                path: path.clone(),
                tensor: format!("{gguf} (HF `{name}`)"),
            })?;
        if info.shape() != shape {
            return Err(ModelError::ShapeMismatch {
                path,
                tensor: format!("{gguf} (HF `{name}`)"),
                expected: shape.to_vec(),
                found: info.shape(),
            });
        }
        let Some(is_query) = permute else {
            return Ok((gguf, None));
        };
        let heads = if is_query {
            self.n_heads
        } else {
            self.n_kv_heads
        };
        if !shape[0].is_multiple_of(2 * heads) {
            return Err(ModelError::ShapeMismatch {
                path,
                tensor: format!("{gguf} (HF `{name}`): rows not a multiple of 2 x {heads} heads"),
                expected: shape.to_vec(),
                found: info.shape(),
            });
        }
        Ok((gguf, Some(heads)))
    }

    /// Fails when the file holds tensors the model did not read (a layout this loader does
    /// not understand would otherwise load as a silently different model).
    pub fn check_all_used(&self) -> Result<()> {
        let unused: Vec<&str> = self
            .file
            .tensors()
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| !self.taken.contains(*n) && !CONSUMED_ELSEWHERE.contains(n))
            .collect();
        if unused.is_empty() {
            return Ok(());
        }
        Err(ModelError::InvalidConfig {
            path: self.file.path().to_path_buf(),
            message: format!(
                "{} tensor(s) this Llama loader does not know: {}",
                unused.len(),
                unused
                    .iter()
                    .take(8)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

impl WeightSource for GgufWeights<'_> {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (gguf, heads) = self.locate(name, shape)?;
        let mut data = self.file.tensor_f32(&gguf)?;
        if let Some(heads) = heads {
            let cols = shape.get(1).copied().unwrap_or(1);
            data = unpermute_rows(&data, shape[0], cols, heads);
        }
        self.taken.insert(gguf);
        Ok(data)
    }

    fn take_quantized(&mut self, name: &str, shape: &[usize]) -> Result<Option<QuantizedWeight>> {
        if !self.keep_quantized || shape.len() != 2 {
            return Ok(None);
        }
        let (gguf, heads) = self.locate(name, shape)?;
        let stored = self.file.tensor(&gguf).map(|t| t.ggml_type);
        if matches!(
            stored,
            Some(GgmlType::F32 | GgmlType::F16 | GgmlType::BF16) | None
        ) {
            return Ok(None);
        }
        let mut matrix = QuantizedMatrix::from_tensor(self.file, &gguf)?;
        if let Some(heads) = heads {
            matrix = matrix.reorder_rows(&unpermuted_order(shape[0], heads))?;
        }
        self.taken.insert(gguf);
        Ok(Some(QuantizedWeight::new(matrix)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// llama.cpp's converter permutation (`LlamaModel.permute`): rows reshaped
    /// `(n, 2, D/2)` with the last two axes swapped.
    fn permute(data: &[f32], rows: usize, cols: usize, n: usize) -> Vec<f32> {
        let d = rows / n;
        let half = d / 2;
        let mut out = vec![0f32; data.len()];
        for h in 0..n {
            for i in 0..half {
                for j in 0..2 {
                    let dst = h * d + 2 * i + j;
                    let src = h * d + j * half + i;
                    out[dst * cols..(dst + 1) * cols]
                        .copy_from_slice(&data[src * cols..(src + 1) * cols]);
                }
            }
        }
        out
    }

    #[test]
    fn unpermute_inverts_the_converter() {
        let (rows, cols, n) = (24, 3, 3);
        let w: Vec<f32> = (0..rows * cols).map(|x| x as f32).collect();
        assert_eq!(
            unpermute_rows(&permute(&w, rows, cols, n), rows, cols, n),
            w
        );
        // Within a head of 8 rows, HF row r comes from GGUF row 2 (r mod 4) + r div 4.
        let rows_only: Vec<f32> = (0..8).map(|x| x as f32).collect();
        assert_eq!(
            unpermute_rows(&rows_only, 8, 1, 1),
            [0.0, 2.0, 4.0, 6.0, 1.0, 3.0, 5.0, 7.0]
        );
    }

    #[test]
    fn names_map_both_ways() {
        assert_eq!(
            gguf_name("model.layers.12.self_attn.k_proj.weight"),
            Some(("blk.12.attn_k.weight".into(), Some(false)))
        );
        assert_eq!(
            gguf_name("model.layers.0.mlp.down_proj.weight"),
            Some(("blk.0.ffn_down.weight".into(), None))
        );
        assert_eq!(
            gguf_name("lm_head.weight"),
            Some(("output.weight".into(), None))
        );
        assert_eq!(gguf_name("score.weight"), None);
        assert_eq!(gguf_name("model.layers.x.mlp.up_proj.weight"), None);
    }
}
