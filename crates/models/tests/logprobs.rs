//! Completion log-probs: concatenated batch vs per-sequence loop, padding side, gradients.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use prefopt_models::CausalLm;

use crate::fixtures::{device, dir, int_tensor, to_vec};

/// (prompt, completion) pairs of different lengths; rows 0-1 "chosen", 2-3 "rejected".
fn rows() -> Vec<(Vec<i64>, Vec<i64>)> {
    vec![
        (vec![4, 5, 6], vec![7, 8, 9, 10]),
        (vec![11, 12], vec![13]),
        (vec![4, 5, 6], vec![20, 21]),
        (vec![11, 12], vec![30, 31, 32, 33, 34]),
    ]
}

/// Builds a padded batch; returns (ids, attention, completion, b, t).
fn batch(left: bool) -> (Vec<i64>, Vec<i64>, Vec<i64>, usize, usize) {
    let rows = rows();
    let t = rows.iter().map(|(p, c)| p.len() + c.len()).max().unwrap() + 1;
    let (mut ids, mut attn, mut comp) = (Vec::new(), Vec::new(), Vec::new());
    for (p, c) in &rows {
        let pad = t - p.len() - c.len();
        let tok: Vec<i64> = p.iter().chain(c).copied().collect();
        let cm: Vec<i64> = p.iter().map(|_| 0).chain(c.iter().map(|_| 1)).collect();
        if left {
            ids.extend(std::iter::repeat_n(0, pad));
            attn.extend(std::iter::repeat_n(0, pad));
            comp.extend(std::iter::repeat_n(0, pad));
        }
        ids.extend(&tok);
        attn.extend(std::iter::repeat_n(1, tok.len()));
        comp.extend(&cm);
        if !left {
            ids.extend(std::iter::repeat_n(0, pad));
            attn.extend(std::iter::repeat_n(0, pad));
            comp.extend(std::iter::repeat_n(0, pad));
        }
    }
    (ids, attn, comp, rows.len(), t)
}

fn summed(model: &CausalLm, left: bool) -> Vec<f32> {
    let (ids, attn, comp, b, t) = batch(left);
    let out = model
        .completion_logprobs(
            int_tensor(ids, b, t),
            int_tensor(attn, b, t),
            int_tensor(comp, b, t),
        )
        .unwrap();
    assert_eq!(out.per_token.dims(), [b, t - 1]);
    assert_eq!(out.num_tokens, vec![4, 1, 2, 5]);
    to_vec(out.summed)
}

/// Reference: full-vocabulary log-softmax of an unpadded single-row forward, summed on host.
fn loop_reference(model: &CausalLm) -> Vec<f32> {
    let vocab = model.config().vocab_size;
    rows()
        .iter()
        .map(|(p, c)| {
            let tok: Vec<i64> = p.iter().chain(c).copied().collect();
            let n = tok.len();
            let logits = model.forward(int_tensor(tok.clone(), 1, n), None).unwrap();
            let lp = to_vec(log_softmax(logits, 2));
            (p.len()..n)
                .map(|j| lp[(j - 1) * vocab + tok[j] as usize])
                .sum()
        })
        .collect()
}

#[test]
fn concatenated_batch_equals_per_sequence_loop_and_padding_side_is_irrelevant() {
    for name in ["llama3", "qwen2", "smollm"] {
        let model = CausalLm::load_hf(dir(name), &device()).unwrap();
        let right = summed(&model, false);
        let left = summed(&model, true);
        let reference = loop_reference(&model);
        for i in 0..4 {
            assert!(
                (right[i] - reference[i]).abs() <= 1e-5,
                "{name} row {i}: {} vs {}",
                right[i],
                reference[i]
            );
            assert!(
                (left[i] - right[i]).abs() <= 1e-5,
                "{name} row {i}: left {} right {}",
                left[i],
                right[i]
            );
            assert!(right[i] < 0.0);
        }
    }
}

#[test]
fn chosen_rejected_split_and_lists() {
    let model = CausalLm::load_hf(dir("qwen2"), &device()).unwrap();
    let (ids, attn, comp, b, t) = batch(false);
    let out = model
        .completion_logprobs(
            int_tensor(ids, b, t),
            int_tensor(attn, b, t),
            int_tensor(comp, b, t),
        )
        .unwrap();
    let all = to_vec(out.summed.clone());
    let (c, r) = out.split_chosen_rejected();
    assert_eq!(to_vec(c), all[..2].to_vec());
    assert_eq!(to_vec(r), all[2..].to_vec());
    let lists = out.per_prompt(2).unwrap();
    assert_eq!(lists.dims(), [2, 2]);
    assert_eq!(to_vec(lists), all);
    assert!(out.per_prompt(3).is_err());
}

#[test]
fn gradients_reach_every_parameter_kind() {
    let device = device().autodiff();
    let model = CausalLm::load_hf(dir("qwen2"), &device).unwrap();
    let (ids, attn, comp, b, t) = batch(false);
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device);
    let attn = Tensor::<2, Int>::from_data(TensorData::new(attn, [b, t]), &device);
    let comp = Tensor::<2, Int>::from_data(TensorData::new(comp, [b, t]), &device);
    let out = model.completion_logprobs(ids, attn, comp).unwrap();
    let grads = out.summed.sum().backward();
    let head = model
        .lm_head
        .as_ref()
        .and_then(|h| h.dense())
        .unwrap()
        .weight
        .val()
        .grad(&grads)
        .expect("lm_head grad");
    let q_bias = model.model.layers[0]
        .self_attn
        .q_proj
        .dense()
        .unwrap()
        .bias
        .as_ref()
        .unwrap()
        .val()
        .grad(&grads)
        .expect("bias grad");
    let emb = model
        .model
        .embed_tokens
        .dense()
        .unwrap()
        .weight
        .val()
        .grad(&grads)
        .expect("embedding grad");
    for g in [to_vec(head), to_vec(emb)] {
        assert!(g.iter().any(|v| v.abs() > 0.0));
    }
    assert!(to_vec(q_bias).iter().any(|v| v.abs() > 0.0));
}

#[test]
fn rejects_out_of_vocabulary_targets() {
    let model = CausalLm::load_hf(dir("qwen2"), &device()).unwrap();
    let err = model
        .completion_logprobs(
            int_tensor(vec![1, 500], 1, 2),
            int_tensor(vec![1, 1], 1, 2),
            int_tensor(vec![0, 1], 1, 2),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("500"), "{err}");
}
