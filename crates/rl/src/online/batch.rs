//! The token tensors of a rollout batch and the completion log-probs computed on them.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use prefopt_models::CausalLm;

use crate::error::Result;
use crate::rollout::RolloutBatch;

/// Token tensors of a rollout batch, laid out `[left-padded prompt | right-padded completion]`.
pub(crate) struct TrainBatch {
    input_ids: Tensor<2, Int>,
    attention_mask: Tensor<2, Int>,
    completion_ids_mask: Tensor<2, Int>,
    /// `[B, C, 1]` completion token ids (pad → 0).
    targets: Tensor<3, Int>,
    /// `[B, C]` 1 on completion tokens.
    pub(crate) mask: Tensor<2>,
    prompt_len: usize,
    completion_len: usize,
}

impl TrainBatch {
    pub(crate) fn new(rollout: &RolloutBatch, pad: u32, device: &Device) -> Self {
        let b = rollout.len();
        let lp = rollout.prompts.iter().map(Vec::len).max().unwrap_or(1);
        let lc = rollout
            .completions
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .max(1);
        let t = lp + lc;
        let mut ids = Vec::with_capacity(b * t);
        let mut attn = Vec::with_capacity(b * t);
        let mut comp = Vec::with_capacity(b * t);
        let mut targets = Vec::with_capacity(b * lc);
        let mut mask = Vec::with_capacity(b * lc);
        for i in 0..b {
            let p = rollout.prompt_of(i);
            let c = &rollout.completions[i];
            let (pp, cp) = (lp - p.len(), lc - c.len());
            ids.extend(std::iter::repeat_n(i64::from(pad), pp));
            ids.extend(p.iter().map(|&x| i64::from(x)));
            ids.extend(c.iter().map(|&x| i64::from(x)));
            ids.extend(std::iter::repeat_n(i64::from(pad), cp));
            attn.extend(std::iter::repeat_n(0i64, pp));
            attn.extend(std::iter::repeat_n(1i64, p.len() + c.len()));
            attn.extend(std::iter::repeat_n(0i64, cp));
            comp.extend(std::iter::repeat_n(0i64, lp));
            comp.extend(std::iter::repeat_n(1i64, c.len()));
            comp.extend(std::iter::repeat_n(0i64, cp));
            targets.extend(c.iter().map(|&x| i64::from(x)));
            targets.extend(std::iter::repeat_n(0i64, cp));
            mask.extend(std::iter::repeat_n(1f32, c.len()));
            mask.extend(std::iter::repeat_n(0f32, cp));
        }
        let int2 = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [b, t]), device);
        Self {
            input_ids: int2(ids),
            attention_mask: int2(attn),
            completion_ids_mask: int2(comp),
            targets: Tensor::from_data(TensorData::new(targets, [b, lc, 1]), device),
            mask: Tensor::from_data(TensorData::new(mask, [b, lc]), device),
            prompt_len: lp,
            completion_len: lc,
        }
    }
}

/// Per-token log-probs of the completion tokens under `model`, with the logits divided by
/// `temperature` (TRL), 0 on padding.
///
/// Temperature 1 goes through `CausalLm::completion_logprobs` (only completion positions reach
/// the LM head); another temperature runs the full forward and scales the logits.
///
/// # Shapes
/// - output: `[B, C]`, `C` = longest completion
pub(crate) fn completion_token_logprobs(
    model: &CausalLm,
    batch: &TrainBatch,
    temperature: f64,
) -> Result<Tensor<2>> {
    let [b, _] = batch.input_ids.dims();
    let (lp, lc) = (batch.prompt_len, batch.completion_len);
    if temperature == 1.0 {
        let out = model.completion_logprobs(
            batch.input_ids.clone(),
            batch.attention_mask.clone(),
            batch.completion_ids_mask.clone(),
        )?;
        Ok(out.per_token.slice([0..b, lp - 1..lp - 1 + lc]))
    } else {
        let logits = model.forward(batch.input_ids.clone(), Some(batch.attention_mask.clone()))?;
        let [_, _, v] = logits.dims();
        let logits = logits.slice([0..b, lp - 1..lp - 1 + lc, 0..v]) / temperature;
        let logp = log_softmax(logits, 2)
            .gather(2, batch.targets.clone())
            .reshape([b, lc]);
        Ok(logp * batch.mask.clone())
    }
}

/// Moves a tensor computed without autodiff onto `device` (a host round trip; `[B, C]` only).
pub(crate) fn onto(t: Tensor<2>, device: &Device) -> Tensor<2> {
    Tensor::from_data(t.into_data(), device)
}
